# SPDX-License-Identifier: BSD-2-Clause
"""[view] rebind-protection: private, loopback, link-local and unique-local
addresses are removed from upstream answers for names outside the view's
local zones; the client gets NOERROR without them and EDE 17 Filtered."""

import dns.rdatatype

import sysutil
from sysutil import make_query


def rebind_gate(dnsgate_conf, nsd, protect="yes", local=""):
    body = """
[upstream up]
server = %s
timeout = 1s

[view all]
upstream = up
rebind-protection = %s
%s
""" % (nsd.addr, protect, local)
    return dnsgate_conf(body)


def ede_codes(r):
    return sysutil.ede_codes(r)


def rrs(r, rdtype):
    return sorted(rd.to_text() for rrset in r.answer
                  if rrset.rdtype == rdtype for rd in rrset)


def test_private_a_and_aaaa_removed(dnsgate_conf, nsd):
    gate = rebind_gate(dnsgate_conf, nsd)
    r, _ = gate.udp(make_query("mixed.example.test.", "A", edns=0))
    assert r.rcode() == 0
    assert rrs(r, dns.rdatatype.A) == ["192.0.2.20"]
    assert ede_codes(r) == [17]
    r, _ = gate.tcp(make_query("mixed.example.test.", "AAAA", edns=0))
    assert rrs(r, dns.rdatatype.AAAA) == ["2001:db8::20"]
    assert ede_codes(r) == [17]
    line = gate.wait_decision(qname="mixed.example.test.")
    assert line["ede"] == 17
    assert line["rule"].startswith("rebind:all:")


def test_all_private_leaves_noerror_without_answer(dnsgate_conf, nsd):
    gate = rebind_gate(dnsgate_conf, nsd)
    r, _ = gate.udp(make_query("private.example.test.", "A", edns=0))
    assert r.rcode() == 0
    assert rrs(r, dns.rdatatype.A) == []
    # Through a CNAME: the CNAME stays, the private target addresses go.
    r, _ = gate.udp(make_query("toprivate.example.test.", "A", edns=0))
    assert rrs(r, dns.rdatatype.CNAME) == ["private.example.test."]
    assert rrs(r, dns.rdatatype.A) == []
    # IPv4-mapped IPv6 forms of private ranges go too.
    r, _ = gate.udp(make_query("mapped.example.test.", "AAAA", edns=0))
    assert rrs(r, dns.rdatatype.AAAA) == []


def additional_addresses(r):
    return sorted(rd.to_text() for rrset in r.additional
                  if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                  for rd in rrset)


def test_public_answer_kept_private_glue_removed(dnsgate_conf, nsd):
    # nsd adds the glue "ns.example.test. A 127.0.0.1" to every answer:
    # loopback, so it goes too (as Unbound's private-address does).
    gate = rebind_gate(dnsgate_conf, nsd)
    r, _ = gate.udp(make_query("www.example.test.", "A", edns=0))
    assert rrs(r, dns.rdatatype.A) == ["192.0.2.10"]
    assert "127.0.0.1" not in additional_addresses(r)
    assert ede_codes(r) == [17]
    plain = rebind_gate(dnsgate_conf, nsd, protect="no")
    r, _ = plain.udp(make_query("www.example.test.", "A", edns=0))
    assert "127.0.0.1" in additional_addresses(r)
    assert ede_codes(r) == []


def test_without_edns_no_ede_but_filtered(dnsgate_conf, nsd):
    gate = rebind_gate(dnsgate_conf, nsd)
    r, _ = gate.udp(make_query("mixed.example.test.", "A", edns=None))
    assert r.edns < 0
    assert rrs(r, dns.rdatatype.A) == ["192.0.2.20"]


def test_off_by_default(dnsgate_conf, nsd):
    gate = rebind_gate(dnsgate_conf, nsd, protect="no")
    r, _ = gate.udp(make_query("mixed.example.test.", "A", edns=0))
    assert rrs(r, dns.rdatatype.A) == ["10.1.2.3", "192.0.2.20"]
    assert ede_codes(r) == []


def test_local_zone_names_not_filtered(dnsgate_conf, nsd):
    # A transparent local zone over example.test: names without local
    # data are still forwarded, but they are "ours", so not filtered.
    gate = rebind_gate(dnsgate_conf, nsd,
                       local="local-zone = example.test transparent")
    r, _ = gate.udp(make_query("mixed.example.test.", "A", edns=0))
    assert rrs(r, dns.rdatatype.A) == ["10.1.2.3", "192.0.2.20"]
    assert ede_codes(r) == []
