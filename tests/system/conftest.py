# SPDX-License-Identifier: BSD-2-Clause
"""Fixtures for dnsgate's system tests: real processes on loopback.

- ``nsd``: a real authoritative upstream (NSD) serving ``example.test.``,
  one per session.
- ``fault``: the name-driven fault server (faultserver.py), one per session;
  ``fault_server(mode)``: extra fault servers for upstream groups, one set
  per test.
- ``pki``: a test CA and a server certificate it signed (certs.py), for
  the DNS over TLS and over HTTPS listeners, one per session.
- ``dnsgate(...)``: starts build/dnsgate (or $DNSGATE_BIN) on a generated
  config, waits until it answers, and stops it with SIGTERM at teardown,
  checking that it exits 0 within 3 s.

Every test runs under an alarm, so nothing here can hang the suite.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import certs  # noqa: E402
import sysutil  # noqa: E402
from faultserver import FaultServer  # noqa: E402
from sysutil import LOOPBACK4  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DNSGATE_BIN = os.environ.get("DNSGATE_BIN", str(REPO / "build" / "dnsgate"))
NSD_BIN = os.environ.get("NSD_BIN", "/usr/sbin/nsd")

TEST_TIME_LIMIT = 60  # seconds; any single test beyond this is a hang
STOP_GRACE = 3.0  # SIGTERM to exit; in-flight queries get 2 s (dnsgate(8))

# Every process we start, so a crash in a fixture still leaves nothing behind.
_PROCS = []


def _spawn(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    _PROCS.append(p)
    return p


def _kill_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def pytest_sessionfinish(session, exitstatus):
    for p in _PROCS:
        if p.poll() is None:
            _kill_group(p, signal.SIGKILL)
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture(autouse=True)
def _time_limit():
    """Bound every test in time, even one stuck in a blocking call."""

    def expired(signum, frame):
        raise TimeoutError("test exceeded %d s" % TEST_TIME_LIMIT)

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIME_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# -- NSD: the real upstream ------------------------------------------------

ZONE = "example.test."
WWW = "www.example.test."
ALIAS = "alias.example.test."
HALF = "half.example.test."  # TXT, answer > 256 and <= 512 bytes
MEDIUM = "medium.example.test."  # TXT, answer > 512 and <= 1232 bytes
BIG = "big.example.test."  # TXT, answer > 1232 and < 4000 bytes
MANY = "many.example.test."  # 60 A records, > 512 and <= 1232 bytes
MISSING = "missing.example.test."  # NXDOMAIN


def _zone_text():
    lines = [
        "$ORIGIN example.test.",
        "$TTL 300",
        "@ IN SOA ns.example.test. hostmaster.example.test. "
        "2024010101 3600 900 604800 60",
        "@ IN NS ns",
        "ns IN A 127.0.0.1",
        "www IN A 192.0.2.10",
        "www IN AAAA 2001:db8::10",
        "www IN TXT \"hello from nsd\"",
        "alias IN CNAME www",
        # rebind protection (test_rebind.py)
        "mixed IN A 10.1.2.3",
        "mixed IN A 192.0.2.20",
        "mixed IN AAAA fd00::1",
        "mixed IN AAAA 2001:db8::20",
        "private IN A 192.168.1.1",
        "private IN A 172.16.5.5",
        "toprivate IN CNAME private",
        "mapped IN AAAA ::ffff:10.0.0.1",
    ]
    # 2 strings of 150 octets: about 400 bytes of answer.
    for i in range(2):
        lines.append('half IN TXT "%s"' % (("h%d-" % i) + "z" * 147))
    # 4 strings of 200 octets: about 900 bytes of answer.
    for i in range(4):
        lines.append('medium IN TXT "%s"' % (("m%d-" % i) + "x" * 196))
    # 12 strings of 250 octets: about 3200 bytes of answer.
    for i in range(12):
        lines.append('big IN TXT "%s"' % (("b%02d-" % i) + "y" * 246))
    for i in range(60):
        lines.append("many IN A 198.51.100.%d" % (i + 1))
    return "\n".join(lines) + "\n"


class Nsd:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.host = LOOPBACK4
        self.port = None
        self.proc = None

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)

    def _config(self):
        d = self.workdir
        return "\n".join([
            "server:",
            "    ip-address: %s@%d" % (self.host, self.port),
            "    do-ip6: no",
            '    username: ""',
            '    chroot: ""',
            '    zonesdir: "%s"' % d,
            '    pidfile: "%s"' % (d / "nsd.pid"),
            '    xfrdfile: "%s"' % (d / "xfrd.state"),
            '    zonelistfile: "%s"' % (d / "zone.list"),
            '    database: ""',
            '    logfile: "%s"' % (d / "nsd.log"),
            "    verbosity: 2",
            "    server-count: 1",
            "    tcp-count: 200",
            "    hide-version: yes",
            # dnsgate's queries all come from 127.0.0.1, one /24 to nsd's
            # own response rate limiting: floods must not be limited.
            "    rrl-ratelimit: 0",
            "remote-control:",
            "    control-enable: no",
            "zone:",
            '    name: "example.test"',
            '    zonefile: "example.test.zone"',
            "    provide-xfr: 127.0.0.0/8 NOKEY",
            "",
        ])

    def start(self):
        (self.workdir / "example.test.zone").write_text(_zone_text())
        for _ in range(5):
            self.port = sysutil.free_port()
            conf = self.workdir / "nsd.conf"
            conf.write_text(self._config())
            out = open(self.workdir / "nsd.stderr", "wb")
            self.proc = _spawn([NSD_BIN, "-d", "-c", str(conf)],
                               stdout=out, stderr=subprocess.STDOUT)
            if self._wait_ready(15):
                return self
            self.stop()
        raise RuntimeError("nsd did not start:\n%s\n%s" % (
            self._read("nsd.stderr"), self._read("nsd.log")))

    def _read(self, name):
        try:
            return (self.workdir / name).read_text(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        q = dns.message.make_query(ZONE, "SOA")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = dns.query.udp(q, self.host, port=self.port, timeout=0.3)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    return True
            except Exception:
                time.sleep(0.1)
        return False

    def query(self, msg, tcp=False, timeout=3.0):
        """Ask NSD directly: the reference the proxy's answers match."""
        if tcp:
            return sysutil.tcp_query(self.host, self.port, msg, timeout)[0]
        return sysutil.udp_query(self.host, self.port, msg, timeout)[0]

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        _kill_group(self.proc, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(5)


@pytest.fixture(scope="session")
def nsd(tmp_path_factory):
    if not os.access(NSD_BIN, os.X_OK):
        pytest.skip("nsd is not installed (%s)" % NSD_BIN)
    server = Nsd(tmp_path_factory.mktemp("nsd"))
    server.start()
    yield server
    server.stop()


# -- fault servers ---------------------------------------------------------


@pytest.fixture(scope="session")
def fault():
    """The shared name-driven fault server; tests use unique names."""
    srv = FaultServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def fault_server():
    """Factory: fault_server(mode=None, address=GOOD_A) -> a started
    FaultServer."""
    made = []

    def make(mode=None, **kw):
        srv = FaultServer(mode=mode, **kw).start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()


# -- certificates ----------------------------------------------------------


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """certs.Pki with ``cert`` and ``key``: a valid server certificate
    (chain) for 127.0.0.1, ::1 and dns.test, and its key. Tests that
    change files make their own with pki.server()."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    p = certs.Pki(tmp_path_factory.mktemp("pki"))
    p.cert, p.key = p.server("server")
    return p


# -- dnsgate ---------------------------------------------------------------


@pytest.fixture
def sockdir():
    """A short directory for unix sockets (sun_path is 108 bytes)."""
    d = tempfile.mkdtemp(prefix="dg", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def ctl(*args, timeout=10):
    """`dnsgate ctl ARGS...`: (exit status, stdout, stderr), as text."""
    p = subprocess.run([DNSGATE_BIN, "ctl"] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def _ini_section(header, options):
    lines = ["[%s]" % header]
    for key, value in options:
        lines.append("%s = %s" % (key, value))
    return "\n".join(lines) + "\n"


def _items(d):
    """dict or list of pairs -> list of pairs (lists allow repeated keys)."""
    if d is None:
        return []
    if isinstance(d, dict):
        return list(d.items())
    return list(d)


class DnsGate:
    """One running dnsgate process and the ways to talk to it."""

    def __init__(self, workdir, config_text, listen):
        self.workdir = Path(workdir)
        self.config_path = self.workdir / "dnsgate.conf"
        self.config_path.write_text(config_text)
        self.stderr_path = self.workdir / "dnsgate.stderr"
        self.listen = listen  # [(host, port)]
        self.host, self.port = listen[0]
        self.proc = None
        self.stopped = False

    # -- life cycle --

    def start(self, timeout=10.0):
        if not os.access(DNSGATE_BIN, os.X_OK):
            pytest.fail("dnsgate binary not found: %s (run make)"
                        % DNSGATE_BIN)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = _spawn([DNSGATE_BIN, "-c", str(self.config_path)],
                           stdin=subprocess.DEVNULL,
                           stdout=self._stderr, stderr=self._stderr)
        deadline = time.monotonic() + timeout
        for host, port in self.listen:
            if not self._wait_answering(host, port, deadline):
                return False
        return True

    def _probe(self, host, port):
        """Any answer to an opcode STATUS query: dnsgate answers it itself
        (NOTIMP), so readiness does not depend on any upstream."""
        q = dns.message.make_query(ZONE, "SOA")
        q.set_opcode(dns.opcode.STATUS)
        data, _ = sysutil.udp_exchange(host, port, q.to_wire(), timeout=0.2)
        return data is not None and data[:2] == q.to_wire()[:2]

    def _wait_answering(self, host, port, deadline):
        while True:
            if self.proc.poll() is not None:
                self.stop()
                if "in use" in self.stderr_text().lower():
                    return False
                pytest.fail("dnsgate exited with %s before answering:\n%s"
                            % (self.proc.returncode, self.stderr_text()))
            if self._probe(host, port):
                return True
            if time.monotonic() > deadline:
                pytest.fail("dnsgate did not answer on %s within the start "
                            "timeout:\n%s" % (sysutil.addr_text(host, port),
                                              self.stderr_text()))
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=STOP_GRACE):
        """SIGTERM, then the exit status (None = it had to be killed)."""
        if self.proc is None:
            return None
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc, signal.SIGKILL)
                self.proc.wait(5)
                self._stderr.close()
                return None
        self._stderr.close()
        return self.proc.returncode

    # -- talking to it --

    def udp(self, msg, timeout=3.0, host=None, port=None):
        """(response, raw bytes) for a dnspython query over UDP."""
        return sysutil.udp_query(host or self.host, port or self.port, msg,
                                 timeout)

    def tcp(self, msg, timeout=3.0, host=None, port=None):
        return sysutil.tcp_query(host or self.host, port or self.port, msg,
                                 timeout)

    def raw_udp(self, data, timeout=1.0):
        """Raw bytes in, (raw reply or None, our source port) out."""
        return sysutil.udp_exchange(self.host, self.port, data, timeout)

    def connect(self, timeout=3.0):
        return sysutil.tcp_connect(self.host, self.port, timeout)

    # -- the decision log (JSON lines on stderr) --

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_lines(self):
        """Every stderr line that is a JSON object, parsed."""
        out = []
        for line in self.stderr_text().splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def decisions(self, qname=None, qid=None):
        """Decision lines, optionally for one name and/or message ID."""
        out = []
        for obj in self.log_lines():
            if "action" not in obj:
                continue
            if qname is not None and not sysutil.same_name(
                    obj.get("qname"), qname):
                continue
            if qid is not None and obj.get("id") != qid:
                continue
            out.append(obj)
        return out

    def wait_decision(self, qname=None, qid=None, timeout=3.0):
        """The first decision line for a query, waiting for the log to
        catch up (logging is asynchronous by contract)."""
        found = sysutil.wait_for(lambda: self.decisions(qname, qid), timeout)
        assert found, ("no decision line for qname=%s id=%s within %.1fs; "
                       "stderr:\n%s" % (qname, qid, timeout,
                                        self.stderr_text()[-4000:]))
        return found[0]


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def sanitizer_report(text):
    """The first line of an ASan/LSan/UBSan report in text, or None."""
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_MARKS):
            return line.strip()
    return None


def build_config(listen, servers, upstream=None, server=None, log=None):
    """A dnsgate INI config: one upstream group "up", one catch-all view."""
    srv = [("listen", sysutil.addr_text(h, p)) for h, p in listen]
    opts = {"workers": "1"}
    # make check runs the upstream suites once more without io_uring.
    if os.environ.get("DNSGATE_TEST_IO_URING"):
        opts["io-uring"] = os.environ["DNSGATE_TEST_IO_URING"]
    opts.update(dict(_items(server)))
    text = _ini_section("server", srv + list(opts.items()))
    lg = {"target": "stderr", "format": "json", "decisions": "all"}
    lg.update(dict(_items(log)))
    text += "\n" + _ini_section("log", lg.items())
    up = [("server", s) for s in servers]
    # Long enough that a loaded machine never turns a good answer into a
    # timeout; tests about timeouts set "300ms" themselves.
    opts = {"timeout": "1s"}
    # make check runs the upstream suites twice: with a fresh socket per
    # attempt (the default) and with pooled sockets (udp-sockets = N).
    if os.environ.get("DNSGATE_TEST_UDP_SOCKETS"):
        opts["udp-sockets"] = os.environ["DNSGATE_TEST_UDP_SOCKETS"]
    opts.update(dict(_items(upstream)))
    up += list(opts.items())
    text += "\n" + _ini_section("upstream up", up)
    text += "\n" + _ini_section("view all", [("upstream", "up")])
    return text


@pytest.fixture
def dnsgate(tmp_path):
    """Factory: dnsgate(servers, upstream=, server=, log=, listen6=).

    ``servers`` are ip:port texts for the upstream group "up"; ``upstream``,
    ``server`` and ``log`` are keys for [upstream up] / [server] / [log]
    (overriding the defaults build_config writes); ``listen6`` adds an
    [::1] listener. Returns a started DnsGate.
    """
    started = []

    def start(servers=(), upstream=None, server=None, log=None,
              listen6=False):
        # A free port can be taken by someone else before dnsgate binds it:
        # try again with another one when that is why it exited.
        for _ in range(3):
            workdir = tmp_path / ("dnsgate%d" % len(started))
            workdir.mkdir()
            listen = [(LOOPBACK4, sysutil.free_port(LOOPBACK4))]
            if listen6:
                listen.append((sysutil.LOOPBACK6,
                               sysutil.free_port(sysutil.LOOPBACK6)))
            text = build_config(listen, list(servers), upstream, server, log)
            gate = DnsGate(workdir, text, listen)
            started.append(gate)
            if gate.start():
                return gate
        pytest.fail("dnsgate could not bind a free port three times:\n%s"
                    % gate.stderr_text())

    yield start
    problems = []
    for gate in started:
        if gate.proc is None:
            continue  # never ran
        if gate.stopped:
            # The test stopped it and checked its status; a sanitizer
            # build may still have reported something on the way.
            report = sanitizer_report(gate.stderr_text())
            if report:
                problems.append("dnsgate %s: %s" % (gate.config_path,
                                                    report))
            continue
        rc = gate.stop()
        if rc != 0:
            problems.append("dnsgate %s: exit status %s (None = still "
                            "running %.0fs after SIGTERM)\n%s"
                            % (gate.config_path, rc, STOP_GRACE,
                               gate.stderr_text()[-3000:]))
    assert not problems, "\n".join(problems)


def pytest_report_header(config):
    return "dnsgate: %s" % DNSGATE_BIN


# -- dnsgate on a hand-written config ----------------------------------------


def _resolve(value):
    """A config value, or a callable giving one (called once per start
    attempt, so ports are fresh when a start is retried)."""
    return value() if callable(value) else value


@pytest.fixture
def dnsgate_conf(tmp_path):
    """Factory: dnsgate_conf(body, server=, log=, listen=) for tests that
    need their own [upstream ...] and [view ...] sections.

    ``body`` is INI text (or a callable returning it) written after the
    [server] and [log] sections; ``server`` and ``log`` are extra keys for
    those (values may be callables, see _resolve); ``listen`` is a list of
    (address to bind, address to probe) pairs, default one on 127.0.0.1,
    each given a fresh port. Returns a started DnsGate whose ``options``
    holds the [server] keys as written and whose ``listen`` holds the
    probe addresses with their ports. Stopped at teardown like
    ``dnsgate``: SIGTERM, exit status 0.
    """
    started = []

    def start(body, server=None, log=None, listen=None):
        pairs = listen or [(LOOPBACK4, LOOPBACK4)]
        for _ in range(3):
            workdir = tmp_path / ("dnsgate%d" % len(started))
            workdir.mkdir()
            probes, srv = [], []
            for bind, probe in pairs:
                port = sysutil.free_port(probe)
                probes.append((probe, port))
                srv.append(("listen", sysutil.addr_text(bind, port)))
            opts = {"workers": "1"}
            opts.update({k: _resolve(v) for k, v in _items(server)})
            text = _ini_section("server", srv + list(opts.items()))
            lg = {"target": "stderr", "format": "json", "decisions": "all"}
            lg.update({k: _resolve(v) for k, v in _items(log)})
            text += "\n" + _ini_section("log", lg.items())
            text += "\n" + _resolve(body)
            gate = DnsGate(workdir, text, probes)
            gate.options = opts
            started.append(gate)
            if gate.start():
                return gate
        pytest.fail("dnsgate could not bind a free port three times:\n%s"
                    % gate.stderr_text())

    yield start
    problems = []
    for gate in started:
        if gate.proc is None or gate.stopped:
            continue
        rc = gate.stop()
        if rc != 0:
            problems.append("dnsgate %s: exit status %s (None = still "
                            "running %.0fs after SIGTERM)\n%s"
                            % (gate.config_path, rc, STOP_GRACE,
                               gate.stderr_text()[-3000:]))
    assert not problems, "\n".join(problems)
