#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A bounded soak of dnsgate under everything that goes wrong at once.

Not part of `make check`: `make soak` (or `make SANITIZE=address,undefined
soak`) runs it. For SOAK_SECONDS (default 300, at most 3600) it keeps up,
all at the same time:

- dnsperf at a fixed rate (SOAK_QPS, default 20000) from 127.0.0.1 through
  dnsgate to two nsd upstreams, one of which is killed (SIGKILL) and
  restarted on the same port every 20 s, alternately;
- a second, slower dnsperf (SOAK_FAULT_QPS, default 500) from 127.0.0.2,
  a client the configuration puts in a view whose upstream is the
  fault-injecting server (tests/system/faultserver.py): SERVFAIL, timeout,
  TC=1, wrong ID, garbage, an error reply without a question;
- malformed senders: random bytes and mutated queries over UDP, and TCP
  connections that send junk frames;
- stalled TCP clients: connections that send half a length prefix and wait;
- SIGHUP every 10 s, alternating between two configurations.

It prints queries sent / answered / lost and SERVFAILs for both loads,
and dnsgate's RSS and open descriptors at the start, the middle and the
end. It fails (exit 1) when dnsgate dies, stops answering, reports a
sanitizer error, or a reload is rejected. Lost queries are reported, not
judged: a query in flight to an nsd at the moment it is killed is lost
only if every attempt fails within dnsperf's timeout.

Traffic stays on 127.0.0.0/8. Everything started here is stopped on exit.
"""

import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "system"))

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

import sysutil  # noqa: E402
from conftest import Nsd, _kill_group  # noqa: E402
from faultserver import FaultServer  # noqa: E402

BIN = os.environ.get("DNSGATE_BIN", str(REPO / "build" / "dnsgate"))
DNSPERF = os.environ.get("DNSPERF", "dnsperf")
SECONDS = int(os.environ.get("SOAK_SECONDS", "300"))
QPS = int(os.environ.get("SOAK_QPS", "20000"))
FAULT_QPS = int(os.environ.get("SOAK_FAULT_QPS", "500"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "2"))
STALLED = 50  # TCP clients holding half a frame
KILL_EVERY = 20  # seconds between nsd kills
RELOAD_EVERY = 10  # seconds between SIGHUPs
ZONE = "example.test."
CLIENT = "127.0.0.1"
FAULT_CLIENT = "127.0.0.2"

# Names the fault server reacts to (first label); "noq-RCODE" is an
# error reply without a question (QDCOUNT=0).
FAULT_LABELS = ("servfail", "timeout", "tc", "wrongid", "garbage", "ok",
                "noq-refused", "slow-200", "dup", "refused", "noq-formerr")


def die(msg):
    print("soak: " + msg, file=sys.stderr)
    sys.exit(2)


class Soak:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.stop_event = threading.Event()
        self.errors = []
        self.reloads = 0
        self.kills = 0
        self.malformed = 0
        self.stalled_conns = 0
        self.samples = []
        self.procs = []

    # -- upstreams --------------------------------------------------------

    def start_upstreams(self):
        self.nsd = []
        for i in range(2):
            d = self.dir / ("nsd%d" % i)
            d.mkdir()
            self.nsd.append(Nsd(d).start())
        self.fault = FaultServer()
        self.fault.start()

    def restart_nsd(self, n):
        """Start n again on its own port (its config file is still there)."""
        conf = n.workdir / "nsd.conf"
        out = open(n.workdir / "nsd.stderr", "ab")
        for _ in range(50):
            n.proc = subprocess.Popen(["/usr/sbin/nsd", "-d", "-c", str(conf)],
                                      stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
            if n._wait_ready(5):
                return
            n.stop()
            time.sleep(0.2)  # the port may still be held for a moment
        self.errors.append("nsd on %s did not come back" % n.addr)

    # -- dnsgate ----------------------------------------------------------

    def config(self, variant):
        listen = "%s:%d" % (CLIENT, self.port)
        blocked = "blocked%d.%s" % (variant, ZONE.rstrip("."))
        (self.dir / "block.txt").write_text(blocked + "\n")
        return "\n".join([
            "[server]",
            "listen = " + listen,
            "workers = %d" % WORKERS,
            "control-socket = %s" % (self.dir / "control.sock"),
            "tcp-idle-timeout = 5s",
            "",
            "[log]",
            "target = %s" % (self.dir / "dnsgate.log"),
            "format = json",
            "decisions = non-default",
            "",
            "[cache]",
            "size = %s" % ("2MB" if variant == 0 else "4MB"),
            "serve-stale = yes",
            "",
            "[upstream auth]",
            "server = " + self.nsd[0].addr,
            "server = " + self.nsd[1].addr,
            "selection = %s" % ("ordered" if variant == 0 else "round-robin"),
            "timeout = 400ms",
            "attempts = 3",
            "health-check = 1s",
            "",
            "[upstream faulty]",
            "server = " + self.fault.addr,
            "timeout = 300ms",
            "attempts = 2",
            "retry-on = servfail, timeout, refused",
            "",
            "[view faults]",
            "match-client = " + FAULT_CLIENT,
            "upstream = faulty",
            "",
            "[view main]",
            "match-client = 127.0.0.0/8",
            "upstream = auth",
            "blocklist = %s" % (self.dir / "block.txt"),
            "",
        ])

    def start_dnsgate(self):
        self.port = sysutil.free_port()
        self.conf = self.dir / "dnsgate.conf"
        self.conf.write_text(self.config(0))
        self.stderr = open(self.dir / "dnsgate.stderr", "wb")
        self.gate = subprocess.Popen([BIN, "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr,
                                     start_new_session=True)
        deadline = time.monotonic() + 15
        q = dns.message.make_query("www." + ZONE, "A")
        while time.monotonic() < deadline:
            if self.gate.poll() is not None:
                die("dnsgate exited at start:\n" + self.stderr_text())
            try:
                r, _ = sysutil.udp_query(CLIENT, self.port, q, 0.3)
                if r is not None:
                    return
            except Exception:
                pass
            time.sleep(0.1)
        die("dnsgate did not answer within 15 s:\n" + self.stderr_text())

    def stderr_text(self):
        try:
            return (self.dir / "dnsgate.stderr").read_text(errors="replace")
        except OSError:
            return ""

    def sample(self, when):
        pid = self.gate.pid
        try:
            status = Path("/proc/%d/status" % pid).read_text()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
            fds = len(os.listdir("/proc/%d/fd" % pid))
        except (OSError, AttributeError):
            self.errors.append("dnsgate is gone at the %s sample" % when)
            return
        self.samples.append((when, rss, hwm, fds))

    # -- the loads --------------------------------------------------------

    def query_files(self):
        rnd = random.Random(1)
        main = self.dir / "main.txt"
        lines = []
        names = [("www", "A"), ("www", "AAAA"), ("www", "TXT"),
                 ("alias", "A"), ("many", "A"), ("half", "TXT"),
                 ("medium", "TXT"), ("big", "TXT"), ("missing", "A")]
        for i in range(200000):
            if i % 4 == 0:
                # unique names: NXDOMAIN from nsd, churning the cache
                lines.append("r%d-%d.%s A" % (i, rnd.randrange(1 << 30), ZONE))
            elif i % 97 == 0:
                lines.append("blocked%d.%s A" % (i % 2, ZONE))
            else:
                label, qtype = names[rnd.randrange(len(names))]
                lines.append("%s.%s %s" % (label, ZONE, qtype))
        main.write_text("\n".join(lines) + "\n")
        fault = self.dir / "fault.txt"
        flines = []
        for i in range(20000):
            label = FAULT_LABELS[i % len(FAULT_LABELS)]
            flines.append("%s.q%d.%s A" % (label, i, ZONE))
        fault.write_text("\n".join(flines) + "\n")
        return main, fault

    def dnsperf(self, source, datafile, qps, out):
        argv = [DNSPERF, "-s", CLIENT, "-p", str(self.port), "-a", source,
                "-d", str(datafile), "-Q", str(qps), "-l", str(SECONDS),
                "-c", "10", "-q", "2000", "-t", "3"]
        p = subprocess.Popen(argv, stdout=open(out, "wb"),
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def killer(self):
        i = 0
        while not self.stop_event.wait(KILL_EVERY):
            n = self.nsd[i % 2]
            i += 1
            _kill_group(n.proc, signal.SIGKILL)
            n.proc.wait(5)
            self.kills += 1
            if self.stop_event.wait(5):
                break
            self.restart_nsd(n)

    def reloader(self):
        variant = 0
        while not self.stop_event.wait(RELOAD_EVERY):
            variant ^= 1
            self.conf.write_text(self.config(variant))
            self.gate.send_signal(signal.SIGHUP)
            self.reloads += 1

    def malformed_sender(self):
        rnd = random.Random(2)
        base = dns.message.make_query("www." + ZONE, "A").to_wire()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((CLIENT, 0))
        u.setblocking(False)
        while not self.stop_event.wait(0.01):
            for _ in range(5):
                if rnd.random() < 0.5:
                    data = bytes(rnd.randrange(256)
                                 for _ in range(rnd.randrange(0, 64)))
                else:
                    b = bytearray(base)
                    for _ in range(rnd.randrange(1, 6)):
                        b[rnd.randrange(len(b))] = rnd.randrange(256)
                    data = bytes(b[:rnd.randrange(1, len(b) + 1)])
                try:
                    u.sendto(data, (CLIENT, self.port))
                    self.malformed += 1
                except OSError:
                    pass
            try:
                while True:
                    u.recv(4096)  # drain the FORMERRs
            except OSError:
                pass
            if rnd.random() < 0.05:
                try:
                    t = socket.create_connection((CLIENT, self.port), 1)
                    junk = bytes(rnd.randrange(256) for _ in range(40))
                    t.sendall(struct.pack("!H", len(junk)) + junk)
                    t.close()
                    self.malformed += 1
                except OSError:
                    pass
        u.close()

    def staller(self):
        conns = []
        while not self.stop_event.wait(0.5):
            conns = [c for c in conns if c.fileno() >= 0]
            while len(conns) < STALLED:
                try:
                    c = socket.create_connection((CLIENT, self.port), 1)
                    c.sendall(b"\x00")  # half a length prefix, then nothing
                    conns.append(c)
                    self.stalled_conns += 1
                except OSError:
                    break
            # Connections dnsgate closed (idle timeout) are replaced.
            alive = []
            for c in conns:
                c.setblocking(False)
                try:
                    if c.recv(1) == b"":
                        c.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    c.close()
                    continue
                alive.append(c)
            conns = alive
        for c in conns:
            c.close()

    # -- the run ----------------------------------------------------------

    def run(self):
        self.start_upstreams()
        self.start_dnsgate()
        main, fault = self.query_files()
        self.sample("start")
        p_main = self.dnsperf(CLIENT, main, QPS, self.dir / "dnsperf-main.txt")
        p_fault = self.dnsperf(FAULT_CLIENT, fault, FAULT_QPS,
                               self.dir / "dnsperf-fault.txt")
        threads = [threading.Thread(target=f, daemon=True)
                   for f in (self.killer, self.reloader,
                             self.malformed_sender, self.staller)]
        for t in threads:
            t.start()
        self.stop_event.wait(SECONDS / 2)
        self.sample("middle")
        for p in (p_main, p_fault):
            try:
                p.wait(SECONDS + 30)
            except subprocess.TimeoutExpired:
                _kill_group(p, signal.SIGKILL)
                self.errors.append("dnsperf did not finish")
        self.stop_event.set()
        for t in threads:
            t.join(10)
        for n in self.nsd:
            if n.proc.poll() is not None:
                self.restart_nsd(n)
        time.sleep(1)
        self.sample("end")
        self.check_alive()
        self.report()

    def check_alive(self):
        if self.gate.poll() is not None:
            self.errors.append("dnsgate exited with %s" % self.gate.returncode)
            return
        q = dns.message.make_query("www." + ZONE, "A")
        for _ in range(10):
            try:
                r, _ = sysutil.udp_query(CLIENT, self.port, q, 1.0)
                if r is not None and r.rcode() == dns.rcode.NOERROR:
                    break
            except Exception:
                pass
            time.sleep(0.5)
        else:
            self.errors.append("dnsgate no longer answers www.%s" % ZONE)
        self.gate.send_signal(signal.SIGTERM)
        try:
            rc = self.gate.wait(10)
        except subprocess.TimeoutExpired:
            _kill_group(self.gate, signal.SIGKILL)
            rc = "killed"
        if rc != 0:
            self.errors.append("dnsgate exit status %s after SIGTERM" % rc)
        err = self.stderr_text()
        if re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|"
                     r"runtime error:", err):
            self.errors.append("sanitizer report in dnsgate's stderr")
        log = (self.dir / "dnsgate.log").read_text(errors="replace")
        rejected = len(re.findall(r"reload of \S+ failed", log))
        if rejected:
            self.errors.append("%d reloads rejected" % rejected)
        self.reloaded = log.count('"reloaded ')

    @staticmethod
    def perf_counts(path):
        text = Path(path).read_text(errors="replace")

        def num(pattern):
            m = re.search(pattern, text)
            return int(m.group(1)) if m else None

        sent = num(r"Queries sent:\s+(\d+)")
        done = num(r"Queries completed:\s+(\d+)")
        lost = num(r"Queries lost:\s+(\d+)")
        servfail = num(r"SERVFAIL (\d+)") or 0
        return sent, done, lost, servfail, text

    def report(self):
        print("soak: %d s, dnsgate workers=%d, %d q/s main + %d q/s faults"
              % (SECONDS, WORKERS, QPS, FAULT_QPS))
        print("%-8s %10s %10s %8s %9s" % ("load", "sent", "answered", "lost",
                                           "SERVFAIL"))
        for name in ("main", "fault"):
            sent, done, lost, sf, text = self.perf_counts(
                self.dir / ("dnsperf-%s.txt" % name))
            if sent is None:
                self.errors.append("no dnsperf summary for %s:\n%s"
                                   % (name, text[-2000:]))
                continue
            print("%-8s %10d %10d %8d %9d" % (name, sent, done, lost, sf))
        print("nsd kills %d, SIGHUPs %d (reloads logged %d), malformed "
              "messages %d, stalled TCP connections opened %d"
              % (self.kills, self.reloads, getattr(self, "reloaded", 0),
                                             self.malformed,
                                             self.stalled_conns))
        print("%-8s %10s %10s %6s" % ("sample", "RSS KiB", "peak KiB", "fds"))
        for when, rss, hwm, fds in self.samples:
            print("%-8s %10d %10d %6d" % (when, rss, hwm, fds))
        for e in self.errors:
            print("soak: FAIL: " + e)
        print("soak: %s" % ("FAILED" if self.errors else "passed"))

    def cleanup(self):
        self.stop_event.set()
        for p in self.procs:
            if p.poll() is None:
                _kill_group(p, signal.SIGKILL)
        if getattr(self, "gate", None) is not None and self.gate.poll() is None:
            _kill_group(self.gate, signal.SIGKILL)
        for n in getattr(self, "nsd", []):
            if n.proc is not None and n.proc.poll() is None:
                _kill_group(n.proc, signal.SIGKILL)
        if getattr(self, "fault", None) is not None:
            self.fault.stop()


def main():
    if not 10 <= SECONDS <= 3600:
        die("SOAK_SECONDS must be within 10..3600 (got %d)" % SECONDS)
    if not os.access(BIN, os.X_OK):
        die("no dnsgate binary at %s (run make)" % BIN)
    with tempfile.TemporaryDirectory(prefix="dnsgate-soak.") as d:
        soak = Soak(d)
        try:
            soak.run()
        finally:
            soak.cleanup()
            if os.environ.get("SOAK_KEEP"):
                keep = Path(tempfile.mkdtemp(prefix="dnsgate-soak-kept."))
                subprocess.run(["cp", "-a", d + "/.", str(keep)])
                print("soak: files kept in %s" % keep)
        sys.exit(1 if soak.errors else 0)


if __name__ == "__main__":
    main()
