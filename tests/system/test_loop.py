# SPDX-License-Identifier: BSD-2-Clause
"""Forwarding loops that `dnsgate -t` cannot see (dnsgate(8), "Forwarding
loops"): a query of dnsgate's own that comes back to a listener is refused
(REFUSED, EDE 18, rule loop:own-socket or loop:own-query) and never
forwarded again; the attempt it came from fails, and after `attempts` of
them the client gets SERVFAIL with EDE 23. The loop stops: the number of
queries around it is bounded by `attempts`.

Two loops are built here. A relay written below, which forwards every
datagram it gets to dnsgate's listener from a socket of its own and
carries the replies back: dnsgate knows its own query by the ID and the
client cookie it sent. And a NAT rule in a network namespace made for the
test, which sends dnsgate's upstream queries straight back to its
listener: dnsgate knows the query by the socket it came from (cookies off,
so nothing else could tell).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import dns.edns
import dns.message
import dns.rcode
import pytest

import sysutil
from conftest import DNSGATE_BIN, _spawn, ctl
from sysutil import make_query

LOOP_TEXT = "forwarding loop: the upstream query came back to dnsgate"


class Relay:
    """A UDP relay on 127.0.0.1: each datagram goes on to ``target`` from a
    socket opened for it, and what comes back on that socket goes to the
    sender. It keeps every query it relays (name, type, ID), parsed with
    dnspython."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.target = None
        self.seen = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self, target):
        self.target = target
        self._spawn(self._loop)
        return self

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _loop(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                m = dns.message.from_wire(data)
                q = m.question[0]
                rec = (q.name.to_text().lower(), q.rdtype, m.id)
            except Exception:
                rec = (None, None, None)
            with self._lock:
                self.seen.append(rec)
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            out.settimeout(0.2)
            try:
                out.sendto(data, self.target)
            except OSError:
                out.close()
                continue
            self._spawn(self._back, out, peer)

    def _back(self, out, peer):
        deadline = time.monotonic() + 5
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    data = out.recv(65535)
                except socket.timeout:
                    continue
                self.sock.sendto(data, peer)
        except OSError:
            pass
        finally:
            out.close()

    def relayed(self, name=None):
        with self._lock:
            return [r for r in self.seen
                    if name is None or sysutil.same_name(r[0], name)]

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(1)
        self.sock.close()


@pytest.fixture
def relay():
    r = Relay()
    yield r
    r.stop()


def ede_text(msg):
    return [(int(o.code), o.text) for o in msg.options
            if o.otype == dns.edns.EDE]


def loop_decisions(gate, name):
    return [d for d in gate.decisions(qname=name)
            if d.get("rule", "").startswith("loop")]


def test_loop_through_a_relay_stops(dnsgate_conf, relay):
    """dnsgate forwards to a relay that forwards to dnsgate: each copy of
    the query that comes back carries dnsgate's ID and client cookie, is
    refused, and the attempt fails; the client gets SERVFAIL at once, and
    the relay saw `attempts` queries, no more."""
    gate = dnsgate_conf(
        lambda: "[upstream up]\nserver = %s\ntimeout = 2s\nattempts = 3\n"
                "health-check = 1h\n\n[view main]\nupstream = up\n"
                % relay.addr)
    relay.start((gate.host, gate.port))
    name = "www.%s.loop.test." % sysutil.token()
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q, timeout=5.0)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert ede_text(r) == [(23, LOOP_TEXT)]
    d = gate.wait_decision(qname=name, qid=q.id)
    assert d["action"] == "servfail" and d["rule"] == "loop"
    assert d["attempts"] == 3
    # Each attempt went around once, and its copy was refused there.
    refused = sysutil.wait_for(
        lambda: len([x for x in loop_decisions(gate, name)
                     if x["action"] == "refuse"]) == 3 and
        loop_decisions(gate, name), 5.0)
    assert refused, gate.stderr_text()[-3000:]
    for x in refused:
        if x["action"] != "refuse":
            continue
        assert x["rule"] == "loop:own-query"
        assert x["rcode"] == "REFUSED" and x["ede"] == 18
        assert "upstream" not in x  # never forwarded
    assert len(relay.relayed(name)) == 3
    # And the loop stays stopped. (The server, down after 3 failures, is
    # probed once: that probe goes around the loop like a query.)
    total = len(relay.relayed())
    assert total <= 2 * (1 + 3), relay.relayed()
    time.sleep(1.0)
    assert len(relay.relayed(name)) == 3
    assert len(relay.relayed()) <= 2 * (1 + 3), relay.relayed()


# -- a NAT rule that sends our upstream queries back to us -------------------

NETNS_CLIENT = r"""
import json, sys
import dns.message, dns.query, dns.edns
q = dns.message.make_query(sys.argv[1], "A", use_edns=0)
r = dns.query.udp(q, "127.0.0.1", port=int(sys.argv[2]), timeout=5)
print(json.dumps({"rcode": r.rcode(), "id_ok": r.id == q.id,
                  "ede": [[int(o.code), o.text] for o in r.options
                          if o.otype == dns.edns.EDE]}))
"""


def run(*argv, check=True, stdin=None):
    p = subprocess.run(list(argv), input=stdin if stdin is not None else "",
                       capture_output=True, text=True, timeout=20)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), p.stderr.strip()))
    return p


@pytest.fixture
def netns():
    """A network namespace with lo up, and a NAT rule that sends UDP and
    TCP to 127.0.0.2:53 to 127.0.0.1:5300; skipped where that cannot be
    made (not root, no ip or nft, no nf_nat in the kernel)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            pytest.skip("needs %s (iproute2, nftables)" % tool)
    name = "dgloop%d" % os.getpid()
    p = run("ip", "netns", "add", name, check=False)
    if p.returncode != 0:
        pytest.skip("cannot create a network namespace: %s"
                    % p.stderr.strip())
    try:
        run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        rules = "\n".join([
            "table ip dgloop {",
            "  chain out {",
            "    type nat hook output priority -100; policy accept;",
            "    ip daddr 127.0.0.2 udp dport 53 dnat to 127.0.0.1:5300",
            "    ip daddr 127.0.0.2 tcp dport 53 dnat to 127.0.0.1:5300",
            "  }",
            "}", ""])
        p = run("ip", "netns", "exec", name, "nft", "-f", "-",
                stdin=rules, check=False)
        if p.returncode != 0:
            pytest.skip("cannot add a DNAT rule (nf_nat): %s"
                        % p.stderr.strip())
        yield name
    finally:
        run("ip", "netns", "del", name, check=False)


def ask_in(ns, name):
    p = run("ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
            NETNS_CLIENT, name, "5300")
    return json.loads(p.stdout)


@pytest.mark.parametrize("cookies,sockets,rule", [
    ("no", 0, "loop:own-socket"),
    ("no", 4, "loop:own-socket"),  # a pooled socket (udp-sockets)
    ("yes", 0, "loop:own-query"),
])
def test_loop_through_nat_stops(netns, sockdir, tmp_path, cookies, sockets,
                                rule):
    """The upstream server 127.0.0.2:53 passes -t, but NAT sends it back
    to dnsgate's own listener: the copy comes from dnsgate's own socket
    (and, with cookies, carries its cookie); it is refused, the attempt
    fails, the client gets SERVFAIL, and no query goes around twice."""
    conf = tmp_path / "dnsgate.conf"
    ctl_sock = os.path.join(sockdir, "ctl.sock")
    conf.write_text(
        "[server]\nlisten = 127.0.0.1:5300\nworkers = 1\n"
        "control-socket = %s\n\n"
        "[log]\ntarget = stderr\nformat = json\n\n"
        "[upstream up]\nserver = 127.0.0.2\ncookies = %s\ntimeout = 2s\n"
        "attempts = 3\nhealth-check = 1h\nudp-sockets = %d\n\n"
        "[view main]\nupstream = up\n" % (ctl_sock, cookies, sockets))
    assert run(DNSGATE_BIN, "-t", "-c", str(conf)).returncode == 0
    err_path = tmp_path / "dnsgate.stderr"
    err = open(err_path, "wb")
    proc = _spawn(["ip", "netns", "exec", netns, DNSGATE_BIN, "-c",
                   str(conf)], stdin=subprocess.DEVNULL, stdout=err,
                  stderr=err)
    try:
        up = sysutil.wait_for(
            lambda: proc.poll() is None and
            ctl("-s", ctl_sock, "stats")[0] == 0, 10.0)
        assert up, err_path.read_text()
        name = "www.%s.loop.test." % sysutil.token()
        r = ask_in(netns, name)
        assert r["id_ok"]
        assert r["rcode"] == dns.rcode.SERVFAIL
        assert r["ede"] == [[23, LOOP_TEXT]]

        def decisions():
            out = []
            for line in err_path.read_text().splitlines():
                if line.startswith("{") and '"action"' in line:
                    d = json.loads(line)
                    if sysutil.same_name(d.get("qname"), name):
                        out.append(d)
            return out

        got = sysutil.wait_for(lambda: len(decisions()) >= 4 and
                               decisions(), 5.0)
        assert got, err_path.read_text()[-3000:]
        copies = [d for d in got if d["action"] == "refuse"]
        [client] = [d for d in got if d["action"] == "servfail"]
        assert client["rule"] == "loop" and client["attempts"] == 3
        assert len(copies) == 3
        for d in copies:
            assert d["rule"] == rule
            assert d["rcode"] == "REFUSED" and d["ede"] == 18
            assert "upstream" not in d
        # The loop is over: nothing more about that name comes in.
        time.sleep(1.0)
        assert len(decisions()) == 4
        rc, text, _ = ctl("-s", ctl_sock, "stats")
        assert rc == 0
        assert ('dnsgate_upstream_errors_total{upstream="up",'
                'server="127.0.0.2:53",kind="loop"}') in text
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        err.close()
