# SPDX-License-Identifier: BSD-2-Clause
"""Signals: SIGTERM and SIGINT stop dnsgate with exit status 0, finishing
in-flight queries first (dnsgate(8) SIGNALS)."""

import signal
import socket
import subprocess

import dns.message
import pytest

import faultserver
import sysutil
from conftest import STOP_GRACE, WWW
from sysutil import fault_name, make_query


def assert_exits_zero(gate):
    """After a stop signal: exit status 0 within the grace time."""
    try:
        rc = gate.proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        rc = "still running after %.0fs" % STOP_GRACE
    assert rc == 0, gate.stderr_text()[-3000:]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero(dnsgate, nsd, sig):
    gate = dnsgate([nsd.addr])
    r, _ = gate.udp(make_query(WWW, "A", edns=0))
    assert sysutil.answer_addresses(r) == ["192.0.2.10"]
    gate.signal(sig)
    assert_exits_zero(gate)
    gate.stop()


def test_in_flight_query_finished_on_sigterm(dnsgate, fault):
    gate = dnsgate([fault.addr], upstream={"timeout": "3s"})
    name = fault_name("slow-700", sysutil.token())
    q = make_query(name, "A", edns=0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.connect((gate.host, gate.port))
        s.send(q.to_wire())
        # Once the query is upstream, it is in flight: now stop.
        assert sysutil.wait_for(lambda: fault.queries(name), 3)
        gate.signal(signal.SIGTERM)
        r = dns.message.from_wire(s.recv(65535))
    finally:
        s.close()
    assert r.id == q.id
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert_exits_zero(gate)
    gate.stop()


def test_sigterm_with_idle_tcp_client(dnsgate, nsd):
    """An open, idle TCP connection does not hold up the exit."""
    gate = dnsgate([nsd.addr])
    s = gate.connect()
    try:
        s.sendall(sysutil.frame(make_query(WWW, "A", edns=0).to_wire()))
        sysutil.recv_frame(s)
        gate.signal(signal.SIGTERM)
        assert_exits_zero(gate)
    finally:
        s.close()
        gate.stop()
