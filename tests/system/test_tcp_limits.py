# SPDX-License-Identifier: BSD-2-Clause
"""Client TCP connections: the per-prefix limit (tcp-max-clients-per-prefix),
the idle timeout cut short while more than half of tcp-max-clients are open,
and TCP_NODELAY on the sockets dnsgate talks TCP on (dnsgate.conf(5)).

Linux routes all of 127.0.0.0/8 to the loopback interface, so a client bound
to 127.0.1.1 is another /24 than one on 127.0.0.1.

TCP_NODELAY cannot be seen from the client's end of a connection, and ss(8)
does not show it; a test that timed pipelined answers would be a timing
test. So the option is read from dnsgate's own socket: pidfd_getfd(2)
copies the descriptor out of the running process (the test started it, so
it may), and getsockopt(2) on the copy reads the very socket dnsgate
accepted. Without the setsockopt it reads 0 and the test fails.
"""

import ctypes
import os
import re
import socket
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import sysutil
from conftest import DNSGATE_BIN, WWW
from sysutil import frame, make_query, recv_frame

PREFIX_KEY = "tcp-max-clients-per-prefix"


def refused(samples, limit):
    return sysutil.metric(samples, "dnsgate_tcp_refused_total", limit=limit)


def open_answered(host, port, qid, source=None):
    """A connection (from ``source``) that got its answer, left open."""
    s = socket.socket(sysutil.family_of(host), socket.SOCK_STREAM)
    s.settimeout(3)
    if source is not None:
        s.bind((source, 0))
    s.connect((host, port))
    q = make_query(WWW, "A", edns=0, qid=qid)
    s.sendall(frame(q.to_wire()))
    r = dns.message.from_wire(recv_frame(s))
    assert r.id == qid and r.rcode() == dns.rcode.NOERROR
    return s


def closed_unanswered(host, port, qid):
    """Connect, ask, and find the connection closed with no answer."""
    s = sysutil.tcp_connect(host, port)
    try:
        try:
            s.sendall(frame(make_query(WWW, "A", edns=0,
                                       qid=qid).to_wire()))
        except (BrokenPipeError, ConnectionResetError):
            return True
        return sysutil.connection_closed(s, timeout=5)
    finally:
        s.close()


def limit_lines(gate):
    return [line for line in gate.stderr_text().splitlines()
            if PREFIX_KEY + ":" in line]


def test_per_prefix_limit(dnsgate, nsd):
    """Limit 4: from 127.0.0.1 the 5th and 6th connections are closed at
    once; 127.0.1.1 (another /24) is still served; a slot freed is a slot
    available again."""
    mport = sysutil.free_port()
    gate = dnsgate([nsd.addr], server={
        PREFIX_KEY: "4", "metrics-listen": "127.0.0.1:%d" % mport})
    metrics = "127.0.0.1:%d" % mport
    held = []
    try:
        for i in range(4):
            held.append(open_answered(gate.host, gate.port, 800 + i))
        assert closed_unanswered(gate.host, gate.port, 804)
        assert closed_unanswered(gate.host, gate.port, 805)
        held.append(open_answered(gate.host, gate.port, 806,
                                  source="127.0.1.1"))
        # The four held connections still work.
        for i, s in enumerate(held[:4]):
            q = make_query(WWW, "A", edns=0, qid=810 + i)
            s.sendall(frame(q.to_wire()))
            assert dns.message.from_wire(recv_frame(s)).id == 810 + i
        m = sysutil.scrape_metrics(metrics)
        assert refused(m, PREFIX_KEY) == 2
        assert refused(m, "tcp-max-clients") == 0
        assert sysutil.wait_for(lambda: limit_lines(gate), 3), (
            gate.stderr_text()[-2000:])
        assert "127.0.0.0/24" in limit_lines(gate)[0]
        held.pop(0).close()
        r = None
        deadline = time.monotonic() + 5
        while r is None and time.monotonic() < deadline:
            try:
                held.append(open_answered(gate.host, gate.port, 820))
                r = held[-1]
            except (OSError, ConnectionError):
                time.sleep(0.1)
        assert r is not None, "no slot after a connection closed"
    finally:
        for s in held:
            s.close()


def test_per_prefix_refusals_logged_at_most_once_a_second(dnsgate, nsd):
    """30 refusals in a row: every one is counted, in the metric and in the
    log, but the log holds at most about a line a second (plus the line
    that sums up the rest)."""
    mport = sysutil.free_port()
    gate = dnsgate([nsd.addr], server={
        PREFIX_KEY: "1", "metrics-listen": "127.0.0.1:%d" % mport})
    held = open_answered(gate.host, gate.port, 900)
    try:
        start = time.monotonic()
        for i in range(30):
            assert closed_unanswered(gate.host, gate.port, 901 + i)

        def counted():
            """The refusals the log accounts for: one per "closed a
            connection" line, plus the "N more" each line adds."""
            total = 0
            for line in limit_lines(gate):
                one = re.search(r"closed a connection from", line)
                more = re.search(r"(\d+) more", line)
                total += (1 if one else 0) + (int(more.group(1))
                                              if more else 0)
            return total == 30

        # The last refusals are summed up by the next 1 s tick.
        assert sysutil.wait_for(counted, 5), "\n".join(limit_lines(gate))
        elapsed = time.monotonic() - start
        lines = limit_lines(gate)
        assert len(lines) <= int(elapsed) + 2, (
            "%d lines in %.1f s:\n%s" % (len(lines), elapsed,
                                         "\n".join(lines)))
        m = sysutil.scrape_metrics("127.0.0.1:%d" % mport)
        assert refused(m, PREFIX_KEY) == 30
    finally:
        held.close()


def test_per_prefix_limit_off(dnsgate, nsd):
    gate = dnsgate([nsd.addr], server={PREFIX_KEY: "0",
                                       "tcp-max-clients": "100"})
    held = []
    try:
        for i in range(8):
            held.append(open_answered(gate.host, gate.port, 950 + i))
    finally:
        for s in held:
            s.close()
    assert not limit_lines(gate)


def test_idle_timeout_shortened_past_half_the_slots(dnsgate, nsd):
    """tcp-max-clients = 4, tcp-idle-timeout = 20s: the 3rd connection (3
    of 4, more than half) gets 20s / 100, at least 200 ms, and is closed
    long before 20 s; the first two (armed while at most half were open)
    keep the full timeout."""
    gate = dnsgate([nsd.addr], server={"tcp-max-clients": "4",
                                       "tcp-idle-timeout": "20s"})
    a = open_answered(gate.host, gate.port, 1000)
    b = open_answered(gate.host, gate.port, 1001)
    c = open_answered(gate.host, gate.port, 1002)
    try:
        assert sysutil.connection_closed(c, timeout=10), (
            "3 of 4 slots in use, yet the idle connection was not closed "
            "within 10 s (tcp-idle-timeout = 20s)")
        # a and b were idle at least as long as c: still open.
        for i, s in enumerate((a, b)):
            q = make_query(WWW, "A", edns=0, qid=1010 + i)
            s.sendall(frame(q.to_wire()))
            assert dns.message.from_wire(recv_frame(s)).id == 1010 + i
    finally:
        for s in (a, b, c):
            s.close()


# -- TCP_NODELAY, read from dnsgate's own sockets ------------------------------

SYS_PIDFD_GETFD = 438  # the same on every architecture (asm-generic)
_libc = ctypes.CDLL(None, use_errno=True)


def steal_fd(pid, fd):
    """A copy of descriptor ``fd`` of process ``pid`` (pidfd_getfd(2))."""
    pidfd = os.pidfd_open(pid)
    try:
        new = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if new < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return new
    finally:
        os.close(pidfd)


def daemon_tcp_socket(pid, peer):
    """dnsgate's TCP socket whose remote end is ``peer`` (ip, port), as a
    socket object on a copied descriptor, or None."""
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith(
                    "socket:"):
                continue
            fd = steal_fd(pid, int(name))
        except FileNotFoundError:
            continue  # closed meanwhile
        except PermissionError:
            pytest.skip("pidfd_getfd(2) not permitted here")
        s = socket.socket(fileno=fd)
        try:
            if s.type == socket.SOCK_STREAM and s.getpeername()[:2] == peer:
                return s
        except OSError:
            pass  # a listener: no peer
        s.close()
    return None


def nodelay(s):
    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_client_connections_have_nodelay(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    c = open_answered(gate.host, gate.port, 1100)
    try:
        s = daemon_tcp_socket(gate.proc.pid, c.getsockname())
        assert s is not None, "dnsgate's end of the connection not found"
        try:
            assert nodelay(s) != 0, "TCP_NODELAY is off on a client socket"
        finally:
            s.close()
    finally:
        c.close()


class TcUpstream:
    """Answers every UDP query with TC=1 and accepts TCP connections that
    it never answers: dnsgate's TCP retry stays connected to it."""

    def __init__(self):
        self.port = sysutil.free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(4)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                data, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            r = dns.message.make_response(dns.message.from_wire(data))
            r.flags |= dns.flags.TC
            self.udp.sendto(r.to_wire(), peer)

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.udp.close()
        self.tcp.close()


def test_upstream_tcp_connections_have_nodelay(dnsgate):
    up = TcUpstream()
    try:
        gate = dnsgate(["127.0.0.1:%d" % up.port],
                       upstream={"timeout": "5s", "attempts": "1"})
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.sendto(make_query(WWW, "A", edns=0).to_wire(),
                      (gate.host, gate.port))
        up.tcp.settimeout(5)
        conn, peer = up.tcp.accept()  # dnsgate's TCP retry
        try:
            s = daemon_tcp_socket(gate.proc.pid, ("127.0.0.1", up.port))
            assert s is not None, "dnsgate's upstream TCP socket not found"
            try:
                assert nodelay(s) != 0, (
                    "TCP_NODELAY is off on an upstream socket")
            finally:
                s.close()
        finally:
            conn.close()
            client.close()
    finally:
        up.close()


def test_check_rejects_bad_per_prefix_limit(tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("[server]\n"
                    "listen = 127.0.0.1:5300\n"
                    "tcp-max-clients-per-prefix = -1\n"
                    "tcp-max-clients-per-prefix = 5\n"
                    "[view v]\n"
                    "upstream = none\n")
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(path)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert ("%s:3: tcp-max-clients-per-prefix: expected a number from 0 "
            "to 1000000" % path) in err.splitlines()
    assert ("%s:4: tcp-max-clients-per-prefix: already set on line 3"
            % path) in err.splitlines()
