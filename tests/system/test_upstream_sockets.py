# SPDX-License-Identifier: BSD-2-Clause
"""The per-attempt upstream UDP sockets (the default, udp-sockets = 0):
every upstream query leaves from a fresh random source port, although
dnsgate reuses the socket itself (proxy/usock.c); answers are taken only
from the server's address and port; ICMP errors still fail an attempt at
once; duplicates and late answers never reach a client."""

import os
import socket

import dns.message
import dns.rcode
import pytest

import faultserver
import sysutil
from sysutil import fault_name, make_query

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DNSGATE_TEST_UDP_SOCKETS")),
    reason="pooled sockets (udp-sockets = N) share ports by design")


def ask(gate, name, host=None):
    r, _ = gate.udp(make_query(name, "A", edns=0), host=host)
    return r


def open_fds(gate):
    return len(os.listdir("/proc/%d/fd" % gate.proc.pid))


def fresh_ports(gate, fault, n, host=None):
    tok = sysutil.token()
    for i in range(n):
        r = ask(gate, fault_name("ok", tok, i), host=host)
        assert r.rcode() == dns.rcode.NOERROR
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    return [fault.queries(fault_name("ok", tok, i))[0].source[1]
            for i in range(n)]


def test_each_query_leaves_from_a_new_port(dnsgate, fault):
    gate = dnsgate([fault.addr])
    n = 40
    ports = fresh_ports(gate, fault, n)
    # Random ephemeral ports (about 28,000 of them): 40 draws collide
    # with probability ~3 %, twice almost never. A reused port would
    # show up 39 times.
    assert len(set(ports)) >= n - 1, ports


def socket_inodes(gate):
    fd_dir = "/proc/%d/fd" % gate.proc.pid
    out = set()
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:"):
            out.add(target)
    return out


def test_one_socket_reused_for_sequential_queries(dnsgate, fault):
    gate = dnsgate([fault.addr])
    idle = socket_inodes(gate)
    fresh_ports(gate, fault, 5)
    after_five = socket_inodes(gate)
    # One query at a time needs one upstream socket, kept as a spare.
    assert len(after_five - idle) == 1, (idle, after_five)
    ports = fresh_ports(gate, fault, 200)
    # That same socket served 200 more queries: nothing new was opened
    # (and nothing leaked), yet every query had a port of its own.
    assert socket_inodes(gate) == after_five
    assert len(set(ports)) >= 190


@pytest.mark.skipif(not sysutil.have_ipv6_loopback(),
                    reason="no IPv6 loopback")
def test_ipv6_upstream_new_port_each_query(dnsgate, fault_server):
    fault6 = fault_server(host=sysutil.LOOPBACK6)
    gate = dnsgate([fault6.addr])
    n = 20
    ports = fresh_ports(gate, fault6, n)
    assert len(set(ports)) >= n - 1, ports
    assert all(q.source[0] == sysutil.LOOPBACK6 for q in fault6.queries())


def test_duplicate_answer_never_reaches_the_next_query(dnsgate, fault):
    """The server answers twice; the socket is reused for the next query.
    Each client gets exactly one answer, to its own question."""
    gate = dnsgate([fault.addr])
    tok = sysutil.token()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((gate.host, gate.port))
        for i in range(20):
            kind = "dup" if i % 2 == 0 else "ok"
            q = make_query(fault_name(kind, tok, i), "A", edns=0)
            s.send(q.to_wire())
            r = dns.message.from_wire(s.recv(65535))
            assert r.id == q.id and r.question == q.question
            assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(65535)
    finally:
        s.close()


def test_port_unreachable_fails_the_attempt_at_once(dnsgate, fault_server):
    """Nothing listens on the first server's port: the ICMP port
    unreachable ends that attempt (a network error, EDE 23 when it is the
    last), long before the 30 s attempt timeout."""
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    dead_addr = "127.0.0.1:%d" % dead.getsockname()[1]
    dead.close()
    ok = fault_server("ok")
    gate = dnsgate([dead_addr, ok.addr],
                   upstream={"timeout": "30s", "health-check": "60s"})
    name = fault_name("ok", sysutil.token())
    r, _ = gate.udp(make_query(name, "A", edns=0), timeout=10)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    # Alone, the dead server gives SERVFAIL with EDE 23 (network error),
    # still without waiting for the timeout.
    only_dead = dnsgate([dead_addr], upstream={"timeout": "30s",
                                               "attempts": "1"})
    r, _ = only_dead.udp(make_query(name, "A", edns=0), timeout=10)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [23]


def io_uring_fds(gate):
    fd_dir = "/proc/%d/fd" % gate.proc.pid
    n = 0
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) == "anon_inode:[io_uring]":
                n += 1
        except OSError:
            pass
    return n


def io_uring_allowed():
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            return f.read().strip() == "0"
    except OSError:
        return True  # kernels before 6.6 have no such switch


@pytest.mark.skipif(os.environ.get("DNSGATE_TEST_IO_URING") == "no",
                    reason="this run turns io_uring off")
@pytest.mark.skipif(not io_uring_allowed(), reason="io_uring disabled")
def test_io_uring_on_by_default_and_off_on_request(dnsgate, fault):
    on = dnsgate([fault.addr])
    fresh_ports(on, fault, 3)
    assert io_uring_fds(on) == 1
    off = dnsgate([fault.addr], server={"io-uring": "no"})
    ports = fresh_ports(off, fault, 10)
    assert io_uring_fds(off) == 0
    assert len(set(ports)) >= 9


def test_ipv4_mapped_upstream_answers_accepted(dnsgate, fault):
    """An upstream written [::ffff:127.0.0.1]:PORT is asked over IPv6
    sockets; its answers come from the mapped address and are its own."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.close()
    except OSError:
        pytest.skip("no IPv6 sockets")
    gate = dnsgate(["[::ffff:127.0.0.1]:%d" % fault.port],
                   upstream={"timeout": "5s"})
    name = fault_name("ok", sysutil.token())
    r, _ = gate.udp(make_query(name, "A", edns=0), timeout=4)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]


def test_send_error_answers_at_once(dnsgate):
    """A send the kernel refuses (a broadcast address, EACCES) fails each
    attempt at once: twelve attempts end in SERVFAIL + EDE 23 within the
    loop round that sent them (about a millisecond), not after the 30 s
    timeout, and not one timer tick per attempt (the health and
    rate-limit timers wake the loop every 0.1-1 s: a retry left queued
    until then takes a second or more for twelve attempts)."""
    gate = dnsgate(["255.255.255.255:53"],
                   upstream={"timeout": "30s", "attempts": "12",
                             "health-check": "60s"})
    for _ in range(3):
        name = fault_name("ok", sysutil.token())
        r, _ = gate.udp(make_query(name, "A", edns=0), timeout=1.0)
        assert r.rcode() == dns.rcode.SERVFAIL
        assert sysutil.ede_codes(r) == [23]
