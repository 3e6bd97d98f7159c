# SPDX-License-Identifier: BSD-2-Clause
"""The decision log: one JSON object per line on stderr, one line per
decision, with the fields dnsgate(8) DECISION LOG names."""

import re
import socket
import time

import dns.message
import dns.opcode
import pytest

import faultserver
import sysutil
from sysutil import fault_name, make_query

RFC3339_MS = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


def ask_from_known_port(gate, q, timeout=5.0):
    """Send over UDP from a socket whose port we know; (response, port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.bind(("127.0.0.1", 0))
        s.sendto(q.to_wire(), (gate.host, gate.port))
        data = s.recv(65535)
        return dns.message.from_wire(data), s.getsockname()[1]
    finally:
        s.close()


def assert_common_fields(line, qid, port, proto):
    assert RFC3339_MS.match(str(line.get("ts"))), line
    assert line["client"] == "127.0.0.1"
    assert int(line["port"]) == port
    assert line["proto"] == proto
    assert line["id"] == qid


def only_line(gate, name, qid):
    """The decision line for a query, and a check that it is the only one."""
    line = gate.wait_decision(name, qid)
    time.sleep(0.3)  # let any duplicate reach the log too
    lines = gate.decisions(name, qid)
    assert len(lines) == 1, lines
    return line


def test_forward_line(dnsgate, fault_server):
    up = fault_server("ok")
    gate = dnsgate([up.addr])
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0)
    r, port = ask_from_known_port(gate, q)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    line = only_line(gate, name, q.id)
    assert_common_fields(line, q.id, port, "udp")
    assert sysutil.same_name(line["qname"], name)
    assert line["qtype"] == "A"
    assert line["view"] == "all"
    assert line["action"] == "forward"
    assert line["rcode"] == "NOERROR"
    assert line["upstream"] == up.addr
    assert line["attempts"] == 1
    assert isinstance(line["ms"], (int, float)) and line["ms"] >= 0
    assert "ede" not in line


def test_forward_line_tcp(dnsgate, fault_server):
    up = fault_server("ok")
    gate = dnsgate([up.addr])
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0)
    s = gate.connect()
    try:
        s.sendall(sysutil.frame(q.to_wire()))
        r = dns.message.from_wire(sysutil.recv_frame(s))
        port = s.getsockname()[1]
    finally:
        s.close()
    assert r.id == q.id
    line = only_line(gate, name, q.id)
    assert_common_fields(line, q.id, port, "tcp")
    assert line["action"] == "forward"


def test_retry_counted_in_attempts(dnsgate, fault_server):
    bad, good = fault_server("servfail"), fault_server("ok")
    gate = dnsgate([bad.addr, good.addr])
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0)
    ask_from_known_port(gate, q)
    line = only_line(gate, name, q.id)
    assert line["action"] == "forward"
    assert line["attempts"] == 2
    assert line["upstream"] == good.addr


def test_formerr_line(dnsgate, fault):
    gate = dnsgate([fault.addr])
    # Header readable, question a compression loop.
    data = bytes.fromhex("abcd 0100 0001 0000 0000 0000".replace(" ", "")) + \
        b"\xc0\x0c\x00\x01\x00\x01"
    reply, port = gate.raw_udp(data, timeout=2)
    assert reply is not None and sysutil.header(reply)["rcode"] == 1
    found = sysutil.wait_for(
        lambda: [x for x in gate.decisions(qid=0xABCD)
                 if x.get("action") == "formerr"], 3)
    assert found, gate.stderr_text()[-3000:]
    line = found[0]
    assert line["client"] == "127.0.0.1"
    assert int(line["port"]) == port
    assert line["proto"] == "udp"
    assert line["rcode"] == "FORMERR"


@pytest.mark.parametrize("mode,ede", [("servfail", 22), ("timeout", 23)])
def test_servfail_line_after_retries(dnsgate, fault_server, mode, ede):
    servers = [fault_server(mode) for _ in range(3)]
    gate = dnsgate([s.addr for s in servers], upstream={"timeout": "300ms"})
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0)
    r, port = ask_from_known_port(gate, q, timeout=8)
    assert sysutil.ede_codes(r) == [ede]
    line = only_line(gate, name, q.id)
    assert_common_fields(line, q.id, port, "udp")
    assert line["action"] == "servfail"
    assert line["rcode"] == "SERVFAIL"
    assert line["ede"] == ede
    assert line["attempts"] == 3


def test_notimp_and_badvers_lines(dnsgate, fault):
    gate = dnsgate([fault.addr])
    q = make_query("ok.example.", "A", qid=0x5151)
    q.set_opcode(dns.opcode.NOTIFY)
    gate.raw_udp(q.to_wire(), timeout=2)
    name = fault_name("ok", sysutil.token())
    q2 = make_query(name, "A", edns=1, qid=0x5252)
    gate.udp(q2)
    notimp = sysutil.wait_for(
        lambda: [x for x in gate.decisions(qid=0x5151)
                 if x.get("action") == "notimp"], 3)
    assert notimp, gate.stderr_text()[-3000:]
    assert notimp[0]["rcode"] == "NOTIMP"
    badvers = gate.wait_decision(name, 0x5252)
    assert badvers["action"] == "badvers"
    assert badvers["rcode"] == "BADVERS"


def test_decisions_none_logs_no_decision(dnsgate, fault):
    gate = dnsgate([fault.addr], log={"decisions": "none"})
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    time.sleep(0.5)
    assert gate.decisions(name) == []


def test_decisions_non_default_skips_plain_forwards(dnsgate, fault):
    gate = dnsgate([fault.addr], log={"decisions": "non-default"})
    tok = sysutil.token()
    ok_name = fault_name("ok", tok)
    bad_name = fault_name("servfail", tok)
    gate.udp(make_query(ok_name, "A", edns=0))
    q = make_query(bad_name, "A", edns=0)
    r, _ = gate.udp(q, timeout=5)
    assert gate.wait_decision(bad_name, q.id)["action"] == "servfail"
    assert gate.decisions(ok_name) == []
