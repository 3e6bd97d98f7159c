# SPDX-License-Identifier: BSD-2-Clause
"""Truncation both ways: answers larger than the client's UDP size are
truncated (TC=1) and complete over TCP; an upstream's TC=1 is retried over
TCP to the same upstream."""

import dns.flags
import dns.rcode
import pytest

import faultserver
import sysutil
from conftest import BIG, HALF, MANY, MEDIUM
from sysutil import fault_name, make_query


def assert_truncated(r, data, q, limit):
    assert r.id == q.id
    assert r.flags & dns.flags.TC, "answer of %d bytes not truncated" % len(
        data)
    assert len(data) <= limit
    # RFC 6891 §7: at least header and question (and OPT when asked).
    assert r.question == q.question
    if q.edns >= 0:
        assert r.edns == 0


@pytest.mark.parametrize("name,rdtype", [(MEDIUM, "TXT"), (MANY, "A")])
def test_no_edns_client_gets_tc_then_full_answer_over_tcp(dnsgate, nsd, name,
                                                          rdtype):
    gate = dnsgate([nsd.addr])
    q = make_query(name, rdtype)
    r, data = gate.udp(q)
    assert_truncated(r, data, q, 512)
    assert r.edns == -1
    q = make_query(name, rdtype)
    r, _ = gate.tcp(q)
    ref = nsd.query(make_query(name, rdtype), tcp=True)
    assert not r.flags & dns.flags.TC
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.section_text(r.answer) == sysutil.section_text(ref.answer)


def test_edns_1232_client_gets_medium_answer_in_full(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    q = make_query(MEDIUM, "TXT", edns=0, payload=1232)
    r, data = gate.udp(q)
    ref = nsd.query(make_query(MEDIUM, "TXT", edns=0, payload=1232))
    assert not r.flags & dns.flags.TC
    assert 512 < len(data) <= 1232
    assert sysutil.section_text(r.answer) == sysutil.section_text(ref.answer)


def test_payload_below_512_is_treated_as_512(dnsgate, nsd):
    """RFC 6891 §6.2.5: an advertised size under 512 counts as 512."""
    gate = dnsgate([nsd.addr])
    q = make_query(HALF, "TXT", edns=0, payload=256)
    r, data = gate.udp(q)
    assert not r.flags & dns.flags.TC
    assert 256 < len(data) <= 512
    assert sum(len(rrset) for rrset in r.answer) == 2


def test_client_4096_capped_by_udp_payload_size(dnsgate, nsd):
    gate = dnsgate([nsd.addr], server={"udp-payload-size": "1232"})
    q = make_query(BIG, "TXT", edns=0, payload=4096)
    r, data = gate.udp(q)
    assert_truncated(r, data, q, 1232)
    # And the same question over TCP gets all twelve strings.
    q = make_query(BIG, "TXT", edns=0, payload=4096)
    r, data = gate.tcp(q)
    ref = nsd.query(make_query(BIG, "TXT", edns=0), tcp=True)
    assert not r.flags & dns.flags.TC
    assert len(data) > 1232
    assert sysutil.section_text(r.answer) == sysutil.section_text(ref.answer)


def test_large_udp_payload_size_allows_big_udp_answer(dnsgate, nsd):
    gate = dnsgate([nsd.addr], server={"udp-payload-size": "4096"})
    q = make_query(BIG, "TXT", edns=0, payload=4096)
    r, data = gate.udp(q)
    ref = nsd.query(make_query(BIG, "TXT", edns=0), tcp=True)
    assert not r.flags & dns.flags.TC
    assert 1232 < len(data) <= 4096
    assert sysutil.section_text(r.answer) == sysutil.section_text(ref.answer)


def test_big_answer_for_1232_client_is_truncated(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    q = make_query(BIG, "TXT", edns=0, payload=1232)
    r, data = gate.udp(q)
    assert_truncated(r, data, q, 1232)


@pytest.mark.parametrize("edns", [None, 0])
def test_upstream_tc_retried_over_tcp_same_server(dnsgate, fault,
                                                  fault_server, edns):
    other = fault_server()
    gate = dnsgate([fault.addr, other.addr])
    name = fault_name("tc", sysutil.token())
    q = make_query(name, "A", edns=edns)
    r, data = gate.udp(q)
    # The full (small) answer reaches the client over UDP.
    assert r.id == q.id and r.question == q.question
    assert not r.flags & dns.flags.TC
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    seen = [(x.transport) for x in fault.queries(name)]
    assert seen == ["udp", "tcp"], seen
    assert other.queries(name) == []


def test_upstream_tc_retry_is_not_an_attempt(dnsgate, fault):
    gate = dnsgate([fault.addr])
    name = fault_name("tc", sysutil.token())
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    line = gate.wait_decision(name, q.id)
    assert line["attempts"] == 1
    assert line["upstream"] == fault.addr
