# SPDX-License-Identifier: BSD-2-Clause
"""EDNS (RFC 6891) at the client side, and what dnsgate sends upstream."""

import os

import dns.edns
import dns.rcode
import pytest

import faultserver
import sysutil
from conftest import WWW
from sysutil import COOKIE_OPTION, UNKNOWN_OPTION, fault_name, make_query


@pytest.fixture
def gate(dnsgate, fault):
    return dnsgate([fault.addr])


def test_edns_version_1_gets_badvers(gate, fault):
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=1)
    r, _ = gate.udp(q)
    assert r.id == q.id
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0  # our highest version
    assert not r.answer
    # Nothing to forward: BADVERS is decided at the edge.
    assert fault.queries(name) == []


def test_unknown_option_not_echoed(gate):
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0, options=[
        dns.edns.GenericOption(UNKNOWN_OPTION, b"\x01\x02\x03")])
    r, _ = gate.udp(q)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert r.edns == 0
    assert UNKNOWN_OPTION not in sysutil.option_codes(r)


def test_no_edns_query_gets_no_opt(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    q = make_query(WWW, "A")
    r, data = gate.udp(q)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.edns == -1
    assert len(data) <= 512
    assert sysutil.header(data)["arcount"] == len(r.additional)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_client_cookie_not_forwarded(gate, fault, transport):
    client_cookie = os.urandom(8)
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0, options=[
        dns.edns.GenericOption(COOKIE_OPTION, client_cookie)])
    r, _ = gate.tcp(q) if transport == "tcp" else gate.udp(q)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    seen = fault.queries(name)
    assert len(seen) == 1
    for code, data in seen[0].options:
        assert not (code == COOKIE_OPTION and data[:8] == client_cookie), (
            "client cookie forwarded upstream: %r" % seen[0].options)


def test_udp_payload_size_advertised_both_ways(dnsgate, fault):
    gate = dnsgate([fault.addr], server={"udp-payload-size": "1400"})
    name = fault_name("ok", sysutil.token())
    q = make_query(name, "A", edns=0, payload=4096)
    r, _ = gate.udp(q)
    assert r.edns == 0
    assert r.payload == 1400
    seen = fault.queries(name)
    assert len(seen) == 1
    assert seen[0].edns == 0 and seen[0].payload == 1400


def test_default_payload_size_is_1232(dnsgate, fault):
    gate = dnsgate([fault.addr])
    name = fault_name("ok", sysutil.token())
    r, _ = gate.udp(make_query(name, "A", edns=0, payload=4096))
    assert r.payload == 1232
    assert fault.queries(name)[0].payload == 1232


def test_upstream_query_uses_edns_for_no_edns_client(gate, fault):
    """dnsgate is an intelligent forwarder (RFC 6891 §6.2.6): both sides
    are separate transactions, so it advertises its own size upstream even
    when the client sent no OPT."""
    name = fault_name("ok", sysutil.token())
    r, _ = gate.udp(make_query(name, "A"))
    assert r.edns == -1
    seen = fault.queries(name)
    assert len(seen) == 1 and seen[0].edns == 0 and seen[0].payload == 1232
