# SPDX-License-Identifier: BSD-2-Clause
"""The premises the other tests build on: NSD's zone has the sizes they
need, and the fault server does what its name labels say. No dnsgate here."""

import socket

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

import faultserver
import sysutil
from conftest import BIG, HALF, MANY, MEDIUM, WWW
from sysutil import make_query


def test_nsd_answers_www(nsd):
    r = nsd.query(make_query(WWW, "A", edns=0))
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == ["192.0.2.10"]


def test_nsd_half_between_256_and_512(nsd):
    r, data = sysutil.udp_query(nsd.host, nsd.port,
                                make_query(HALF, "TXT", edns=0, payload=512))
    assert not r.flags & dns.flags.TC
    assert 256 < len(data) <= 512


def test_nsd_medium_exceeds_512_fits_1232(nsd):
    r, data = sysutil.udp_query(nsd.host, nsd.port,
                                make_query(MEDIUM, "TXT", edns=0,
                                           payload=1232))
    assert not r.flags & dns.flags.TC
    assert 512 < len(data) <= 1232
    # Without EDNS NSD itself must truncate: the answer cannot fit 512.
    r, data = sysutil.udp_query(nsd.host, nsd.port,
                                make_query(MEDIUM, "TXT"))
    assert r.flags & dns.flags.TC and len(data) <= 512


def test_nsd_big_needs_tcp(nsd):
    r, data = sysutil.udp_query(nsd.host, nsd.port,
                                make_query(BIG, "TXT", edns=0, payload=1232))
    assert r.flags & dns.flags.TC
    r, data = sysutil.tcp_query(nsd.host, nsd.port,
                                make_query(BIG, "TXT", edns=0, payload=1232))
    assert not r.flags & dns.flags.TC
    assert 1232 < len(data) < 4000
    assert sum(len(rrset) for rrset in r.answer) == 12


def test_nsd_many_a(nsd):
    r, data = sysutil.udp_query(nsd.host, nsd.port,
                                make_query(MANY, "A", edns=0, payload=1232))
    assert not r.flags & dns.flags.TC
    assert len(sysutil.answer_addresses(r)) == 60
    assert 512 < len(data) <= 1232


def test_fault_ok_and_record(fault):
    tok = sysutil.token()
    name = sysutil.fault_name("ok", tok)
    q = make_query(name, "A", edns=0,
                   options=[dns.edns.GenericOption(65001, b"x")])
    r, _ = sysutil.udp_query(fault.host, fault.port, q)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    rec = fault.queries(name)
    assert len(rec) == 1
    assert rec[0].id == q.id and rec[0].transport == "udp"
    assert (65001, b"x") in rec[0].options


def test_fault_tc_then_tcp(fault):
    name = sysutil.fault_name("tc", sysutil.token())
    r, _ = sysutil.udp_query(fault.host, fault.port, make_query(name))
    assert r.flags & dns.flags.TC and not r.answer
    r, _ = sysutil.tcp_query(fault.host, fault.port, make_query(name))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]


def test_fault_modes(fault_server):
    bad = fault_server("servfail")
    r, _ = sysutil.udp_query(bad.host, bad.port,
                             make_query(sysutil.fault_name("ok", "x")))
    assert r.rcode() == dns.rcode.SERVFAIL
    silent = fault_server("timeout")
    data, _ = sysutil.udp_exchange(silent.host, silent.port,
                                   make_query("ok.x.test.").to_wire(), 0.3)
    assert data is None


def test_fault_spoof_comes_from_another_port(fault):
    name = sysutil.fault_name("spoof", sysutil.token())
    q = make_query(name)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(q.to_wire(), (fault.host, fault.port))
        seen = []
        for _ in range(2):
            data, peer = s.recvfrom(65535)
            seen.append((peer[1], sysutil.answer_addresses(
                dns.message.from_wire(data))))
    finally:
        s.close()
    assert seen[0][0] != fault.port and seen[0][1] == [faultserver.BAD_A]
    assert seen[1] == (fault.port, [faultserver.GOOD_A])


def test_fault_slow_label(fault):
    name = sysutil.fault_name("slow-200", sysutil.token())
    kind, delay = faultserver.behaviour_of(
        dns.name.from_text(name), None)
    assert (kind, delay) == ("slow", 0.2)
    r, _ = sysutil.udp_query(fault.host, fault.port, make_query(name))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert dns.rdatatype.A == r.question[0].rdtype
