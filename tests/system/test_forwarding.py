# SPDX-License-Identifier: BSD-2-Clause
"""Forwarding through dnsgate to a real NSD: the client gets NSD's answer,
over UDP and TCP, on IPv4 and IPv6 listeners."""

import socket

import dns.flags
import dns.message
import dns.rcode
import pytest

import sysutil
from conftest import ALIAS, MANY, MISSING, WWW, ZONE
from sysutil import make_query

QUESTIONS = [
    (WWW, "A"),
    (WWW, "AAAA"),
    (WWW, "TXT"),
    (WWW, "MX"),  # NODATA
    (ALIAS, "A"),  # CNAME chain inside the zone
    (MISSING, "A"),  # NXDOMAIN with the SOA
    (ZONE, "SOA"),
    (ZONE, "NS"),
]


@pytest.fixture
def gate(dnsgate, nsd):
    return dnsgate([nsd.addr])


def assert_same_answer(got, ref, query):
    """The proxy's response carries NSD's answer for the client's query."""
    assert got.id == query.id
    assert got.flags & dns.flags.QR
    assert got.question == query.question
    assert got.rcode() == ref.rcode()
    assert sysutil.section_text(got.answer) == sysutil.section_text(
        ref.answer)
    assert sysutil.section_text(got.authority) == sysutil.section_text(
        ref.authority)


@pytest.mark.parametrize("name,rdtype", QUESTIONS)
def test_udp_answer_matches_nsd(gate, nsd, name, rdtype):
    q = make_query(name, rdtype, edns=0, payload=1232)
    got, _ = gate.udp(q)
    ref = nsd.query(make_query(name, rdtype, edns=0, payload=1232))
    assert_same_answer(got, ref, q)
    assert not got.flags & dns.flags.TC


@pytest.mark.parametrize("name,rdtype", QUESTIONS)
def test_tcp_answer_matches_nsd(gate, nsd, name, rdtype):
    q = make_query(name, rdtype, edns=0, payload=1232)
    got, _ = gate.tcp(q)
    ref = nsd.query(make_query(name, rdtype, edns=0, payload=1232), tcp=True)
    assert_same_answer(got, ref, q)


def test_udp_without_edns_matches_nsd(gate, nsd):
    q = make_query(WWW, "A")
    got, data = gate.udp(q)
    ref = nsd.query(make_query(WWW, "A", edns=0))
    assert_same_answer(got, ref, q)
    assert got.edns == -1
    assert len(data) <= 512


def test_many_records_over_udp_with_edns(gate, nsd):
    q = make_query(MANY, "A", edns=0, payload=1232)
    got, data = gate.udp(q)
    ref = nsd.query(make_query(MANY, "A", edns=0, payload=1232))
    assert not got.flags & dns.flags.TC
    assert len(sysutil.answer_addresses(got)) == 60
    assert sysutil.section_text(got.answer) == sysutil.section_text(
        ref.answer)


def test_rd_flag_echoed(gate):
    for rd in (True, False):
        q = make_query(WWW, "A", edns=0, rd=rd)
        got, _ = gate.udp(q)
        assert bool(got.flags & dns.flags.RD) == rd


def test_consecutive_queries_on_one_udp_socket(gate, nsd):
    """Several queries from the same source port are each answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((gate.host, gate.port))
        for i in range(5):
            q = make_query(WWW, "A", edns=0, qid=1000 + i)
            s.send(q.to_wire())
            r = dns.message.from_wire(s.recv(65535))
            assert r.id == 1000 + i
            assert sysutil.answer_addresses(r) == ["192.0.2.10"]
    finally:
        s.close()


@pytest.fixture
def gate6(dnsgate, nsd):
    if not sysutil.have_ipv6_loopback():
        pytest.skip("::1 is not configured")
    return dnsgate([nsd.addr], listen6=True)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_ipv6_listener(gate6, nsd, transport):
    host, port = gate6.listen[1]
    assert host == "::1"
    q = make_query(WWW, "AAAA", edns=0)
    if transport == "udp":
        got, _ = gate6.udp(q, host=host, port=port)
    else:
        got, _ = gate6.tcp(q, host=host, port=port)
    ref = nsd.query(make_query(WWW, "AAAA", edns=0), tcp=transport == "tcp")
    assert_same_answer(got, ref, q)
    assert sysutil.answer_addresses(got) == ["2001:db8::10"]


def test_ipv6_client_in_decision_log(gate6):
    host, port = gate6.listen[1]
    q = make_query(WWW, "A", edns=0)
    got, _ = gate6.udp(q, host=host, port=port)
    assert got.rcode() == dns.rcode.NOERROR
    line = gate6.wait_decision(WWW, q.id)
    assert line["client"] == "::1"
    assert line["proto"] == "udp"
