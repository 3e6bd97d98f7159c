# SPDX-License-Identifier: BSD-2-Clause
"""Local zones and local data in views, through the real daemon
(dnsgate.conf(5) [view NAME]; dnsgate(8) WHAT THE WIRE SEES; Unbound
semantics as views/local.h describes them), and split horizon: views
chosen by match-client, view ACLs, and no view at all.

Clients on other loopback addresses (127.0.0.2, ...) are ordinary sockets
bound to those addresses: Linux answers for the whole of 127/8.
"""

import socket

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

import sysutil
from conftest import WWW
from sysutil import make_query

SOA_TEXT = "ns.corp.test. hostmaster.corp.test. 7 3600 600 86400 120"
# Six TXT records of 140 octets: about 1 KB of answer, over 512 and under
# 1232 (one local-data line must stay under 199 characters).
BIG_STRINGS = ["big%d-" % i + "q" * 135 for i in range(6)]
NO_SOA_SYNTH = "localhost. nobody.invalid. 1 3600 1200 604800 10800"


def corp_body(nsd_addr):
    lines = [
        "[upstream up]",
        "server = %s" % nsd_addr,
        "timeout = 1s",
        "",
        "[view corp]",
        "upstream = up",
        "local-zone = corp.test static",
        "local-data = corp.test. 300 IN SOA %s" % SOA_TEXT,
        "local-data = corp.test. 300 IN NS ns.corp.test.",
        "local-data = corp.test. 300 IN MX 10 mail.corp.test.",
        "local-data = ns.corp.test. 300 IN A 10.0.0.53",
        "local-data = mail.corp.test. 300 IN A 10.0.0.25",
        "local-data = www.corp.test. 300 IN A 10.0.0.10",
        "local-data = www.corp.test. 300 IN A 10.0.0.11",
        "local-data = www.corp.test. 300 IN AAAA 2001:db8::10",
        'local-data = www.corp.test. 300 IN TXT "hello" "world"',
        "local-data = alias.corp.test. 300 IN CNAME www.corp.test.",
        "local-data = ttl.corp.test. 300 IN A 10.0.0.31",
        "local-data = ttl.corp.test. 60 IN A 10.0.0.32",
        "local-data = nottl.corp.test. IN A 10.0.0.33",
        "local-data = _ldap._tcp.corp.test. 300 IN SRV 0 5 389 "
        "www.corp.test.",
        # a.b.corp.test and b.corp.test exist only as empty non-terminals.
        "local-data = host.a.b.corp.test. 300 IN A 10.0.0.99",
        # No local zone: an implicit transparent zone at the owner.
        "local-data = 10.0.0.10.in-addr.arpa. 300 IN PTR www.corp.test.",
        # NSD's zone, transparent: local names here, the rest forwarded.
        "local-zone = example.test transparent",
        "local-data = local.example.test. 300 IN A 10.0.0.77",
        "local-zone = refuse.test refuse",
        "local-data = keep.refuse.test. 300 IN A 10.0.0.1",
        "local-zone = drop.test drop",
        "local-data = keep.drop.test. 300 IN A 10.0.0.2",
        "local-zone = nxdomain.test nxdomain",
        "local-data = keep.nxdomain.test. 300 IN A 10.0.0.3",
        "local-zone = nodata.test nodata",
        "local-data = keep.nodata.test. 300 IN A 10.0.0.4",
    ]
    lines += ['local-data = big.corp.test. 300 IN TXT "%s"' % s
              for s in BIG_STRINGS]
    return "\n".join(lines) + "\n"


@pytest.fixture
def corp(dnsgate_conf, nsd):
    return dnsgate_conf(corp_body(nsd.addr))


def ask(gate, name, rdtype="A", edns=0, tcp=False, timeout=3.0):
    q = make_query(name, rdtype, edns=edns)
    if tcp:
        r, _ = gate.tcp(q, timeout=timeout)
    else:
        r, _ = gate.udp(q, timeout=timeout)
    assert r.id == q.id and r.question == q.question
    return q, r


def rdatas(section, rdtype=None):
    """The rdata texts of a section, optionally of one type, sorted."""
    out = []
    for rrset in section:
        if rdtype is None or rrset.rdtype == dns.rdatatype.from_text(rdtype):
            out.extend(rd.to_text() for rd in rrset)
    return sorted(out)


def assert_authoritative(r, rcode=dns.rcode.NOERROR):
    assert r.rcode() == rcode, dns.rcode.to_text(r.rcode())
    assert r.flags & dns.flags.QR
    assert r.flags & dns.flags.AA, "local answers are authoritative"


def assert_negative(r, zone, soa_text, ttl):
    """NXDOMAIN/NODATA shape: no answer, the zone's SOA in authority
    with TTL min(SOA TTL, MINIMUM) (RFC 2308 3)."""
    assert r.answer == []
    assert len(r.authority) == 1, r.authority
    soa = r.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert sysutil.same_name(soa.name.to_text(), zone)
    assert [rd.to_text() for rd in soa] == [soa_text]
    assert soa.ttl == ttl


def decision_for(gate, q, name):
    return gate.wait_decision(name, q.id)


# -- local data: positive answers ------------------------------------------


@pytest.mark.parametrize("name,rdtype,expected", [
    ("www.corp.test.", "A", ["10.0.0.10", "10.0.0.11"]),
    ("www.corp.test.", "AAAA", ["2001:db8::10"]),
    ("www.corp.test.", "TXT", ['"hello" "world"']),
    ("corp.test.", "MX", ["10 mail.corp.test."]),
    ("_ldap._tcp.corp.test.", "SRV", ["0 5 389 www.corp.test."]),
    ("corp.test.", "SOA", [SOA_TEXT]),
    ("corp.test.", "NS", ["ns.corp.test."]),
    ("alias.corp.test.", "CNAME", ["www.corp.test."]),
    ("10.0.0.10.in-addr.arpa.", "PTR", ["www.corp.test."]),
])
def test_local_data_answer(corp, name, rdtype, expected):
    q, r = ask(corp, name, rdtype)
    assert_authoritative(r)
    assert len(r.answer) == 1, r.answer
    rrset = r.answer[0]
    assert sysutil.same_name(rrset.name.to_text(), name)
    assert rrset.rdtype == dns.rdatatype.from_text(rdtype)
    assert rrset.ttl == 300
    assert sorted(rd.to_text() for rd in rrset) == expected
    assert r.authority == []
    assert r.flags & dns.flags.RD  # copied from the query
    assert r.edns == 0  # the query had EDNS: so has the answer


def test_local_answer_over_tcp_and_without_edns(corp):
    _, r = ask(corp, "www.corp.test.", "A", edns=None, tcp=True)
    assert_authoritative(r)
    assert sysutil.answer_addresses(r) == ["10.0.0.10", "10.0.0.11"]
    assert r.edns < 0, "no OPT in the answer to a query without one"


def test_rrset_gets_its_smallest_ttl(corp):
    """RFC 2181 5.2: one TTL per RRset; local data that differs gets the
    smallest, as a client would use."""
    _, r = ask(corp, "ttl.corp.test.", "A")
    assert sysutil.answer_addresses(r) == ["10.0.0.31", "10.0.0.32"]
    assert [rs.ttl for rs in r.answer] == [60]


def test_local_data_without_ttl_gets_3600(corp):
    _, r = ask(corp, "nottl.corp.test.", "A")
    assert sysutil.answer_addresses(r) == ["10.0.0.33"]
    assert [rs.ttl for rs in r.answer] == [3600]


def test_cname_followed_within_local_data(corp):
    _, r = ask(corp, "alias.corp.test.", "A")
    assert_authoritative(r)
    types = [(rs.name.to_text().lower(), dns.rdatatype.to_text(rs.rdtype))
             for rs in r.answer]
    assert types == [("alias.corp.test.", "CNAME"), ("www.corp.test.", "A")]
    assert sysutil.answer_addresses(r) == ["10.0.0.10", "10.0.0.11"]


def test_any_returns_every_local_rrset(corp):
    _, r = ask(corp, "www.corp.test.", "ANY")
    assert_authoritative(r)
    got = sorted(dns.rdatatype.to_text(rs.rdtype) for rs in r.answer)
    assert got == ["A", "AAAA", "TXT"]


def test_qname_case_does_not_matter(corp):
    q, r = ask(corp, "WwW.CoRp.TeSt.", "A")
    assert_authoritative(r)
    assert sysutil.answer_addresses(r) == ["10.0.0.10", "10.0.0.11"]
    # The question comes back exactly as asked (0x20 clients check it).
    assert r.question[0].name.to_text() == "WwW.CoRp.TeSt."


def test_local_answer_decision_line(corp):
    q, r = ask(corp, "www.corp.test.", "A")
    line = decision_for(corp, q, "www.corp.test.")
    assert line["view"] == "corp"
    assert line["action"] == "local"
    assert line["rule"] == "local-zone:corp.test"
    assert line["rcode"] == "NOERROR"
    assert "upstream" not in line


def test_implicit_zone_decision_line(corp):
    q, r = ask(corp, "10.0.0.10.in-addr.arpa.", "PTR")
    line = decision_for(corp, q, "10.0.0.10.in-addr.arpa.")
    assert line["action"] == "local"
    assert line["rule"] == "local-data:10.0.0.10.in-addr.arpa"


def test_local_data_does_not_answer_another_class(corp):
    """Local data is class IN: a CHAOS question for a local name is not
    answered from it (an answer must match QCLASS, RFC 1034 4.3.2; Unbound's
    local zones are per class)."""
    q = dns.message.make_query("www.corp.test.", "A", "CH", use_edns=0)
    r, _ = corp.udp(q)
    assert r.id == q.id
    wrong = [rs.to_text() for rs in r.answer + r.authority
             if rs.rdclass != dns.rdataclass.CH]
    assert not wrong, "class IN records for a CH question: %s" % wrong
    line = corp.wait_decision("www.corp.test.", q.id)
    assert line["action"] not in ("local", "nxdomain", "nodata"), line


# -- negative answers ------------------------------------------------------


def test_static_zone_nxdomain_with_soa(corp):
    q, r = ask(corp, "nope.corp.test.", "A")
    assert_authoritative(r, dns.rcode.NXDOMAIN)
    assert_negative(r, "corp.test.", SOA_TEXT, 120)
    line = decision_for(corp, q, "nope.corp.test.")
    assert line["action"] == "nxdomain"
    assert line["rule"] == "local-zone:corp.test"
    assert line["rcode"] == "NXDOMAIN"


def test_static_zone_nodata_for_other_type(corp):
    q, r = ask(corp, "www.corp.test.", "MX")
    assert_authoritative(r, dns.rcode.NOERROR)
    assert_negative(r, "corp.test.", SOA_TEXT, 120)
    line = decision_for(corp, q, "www.corp.test.")
    assert line["action"] == "nodata"
    assert line["rule"] == "local-zone:corp.test"
    assert line["rcode"] == "NOERROR"


@pytest.mark.parametrize("name", ["b.corp.test.", "a.b.corp.test."])
def test_empty_non_terminal_is_nodata(corp, name):
    q, r = ask(corp, name, "A")
    assert_authoritative(r, dns.rcode.NOERROR)
    assert_negative(r, "corp.test.", SOA_TEXT, 120)
    assert decision_for(corp, q, name)["action"] == "nodata"


def test_below_an_empty_non_terminal_is_nxdomain(corp):
    _, r = ask(corp, "x.a.b.corp.test.", "A")
    assert_authoritative(r, dns.rcode.NXDOMAIN)
    assert_negative(r, "corp.test.", SOA_TEXT, 120)


def test_nxdomain_zone_synthesizes_an_soa(corp):
    """A zone without an SOA in local data gets the synthesized one."""
    q, r = ask(corp, "x.nxdomain.test.", "A")
    assert_authoritative(r, dns.rcode.NXDOMAIN)
    assert_negative(r, "nxdomain.test.", NO_SOA_SYNTH, 3600)
    line = decision_for(corp, q, "x.nxdomain.test.")
    assert line["action"] == "nxdomain"
    assert line["rule"] == "local-zone:nxdomain.test"


def test_nodata_zone(corp):
    q, r = ask(corp, "anything.nodata.test.", "A")
    assert_authoritative(r, dns.rcode.NOERROR)
    assert_negative(r, "nodata.test.", NO_SOA_SYNTH, 3600)
    line = decision_for(corp, q, "anything.nodata.test.")
    assert line["action"] == "nodata"
    assert line["rule"] == "local-zone:nodata.test"


@pytest.mark.parametrize("zone,address", [
    ("refuse.test", "10.0.0.1"), ("drop.test", "10.0.0.2"),
    ("nxdomain.test", "10.0.0.3"), ("nodata.test", "10.0.0.4")])
def test_local_data_wins_over_the_zone_type(corp, zone, address):
    _, r = ask(corp, "keep.%s." % zone, "A")
    assert_authoritative(r)
    assert sysutil.answer_addresses(r) == [address]


# -- refuse and drop -------------------------------------------------------


def test_refuse_zone_with_edns_gets_ede_18(corp):
    q, r = ask(corp, "x.refuse.test.", "A", edns=0)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.answer == [] and r.authority == []
    assert sysutil.ede_codes(r) == [18]
    line = decision_for(corp, q, "x.refuse.test.")
    assert line["action"] == "refuse"
    assert line["rule"] == "local-zone:refuse.test"
    assert line["rcode"] == "REFUSED"
    assert line["ede"] == 18


def test_refuse_zone_without_edns_has_no_opt(corp):
    q, r = ask(corp, "y.refuse.test.", "A", edns=None)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.edns < 0
    line = decision_for(corp, q, "y.refuse.test.")
    assert line["action"] == "refuse"
    assert "ede" not in line  # no OPT, so no EDE was sent


def test_drop_zone_sends_nothing(corp):
    name = "x.drop.test."
    q = make_query(name, "A", edns=0)
    reply, _ = corp.raw_udp(q.to_wire(), timeout=1.0)
    assert reply is None, "a drop zone answered: %r" % reply
    line = decision_for(corp, q, name)
    assert line["action"] == "drop"
    assert line["rule"] == "local-zone:drop.test"
    assert "rcode" not in line or line["rcode"] in (None, "")
    # Still alive and answering.
    _, r = ask(corp, "www.corp.test.", "A")
    assert sysutil.answer_addresses(r) == ["10.0.0.10", "10.0.0.11"]


def test_drop_zone_over_tcp_sends_nothing(corp):
    q = make_query("z.drop.test.", "A", edns=0)
    s = corp.connect()
    try:
        s.sendall(sysutil.frame(q.to_wire()))
        s.settimeout(1.0)
        try:
            data = s.recv(65535)
        except socket.timeout:
            data = None
        assert not data, "a drop zone answered over TCP: %r" % data
    finally:
        s.close()
    assert decision_for(corp, q, "z.drop.test.")["action"] == "drop"


# -- transparent zones -----------------------------------------------------


def test_transparent_zone_forwards_names_without_data(corp, nsd):
    q, r = ask(corp, WWW, "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == ["192.0.2.10"]
    line = decision_for(corp, q, WWW)
    assert line["action"] == "forward"
    assert line["upstream"] == nsd.addr


def test_transparent_zone_forwards_nxdomain_from_upstream(corp):
    q, r = ask(corp, "missing.example.test.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    # NSD's SOA, not a local one.
    assert rdatas(r.authority, "SOA") == [
        "ns.example.test. hostmaster.example.test. 2024010101 3600 900 "
        "604800 60"]
    assert decision_for(corp, q, "missing.example.test.")["action"] == \
        "forward"


def test_transparent_zone_answers_local_names(corp):
    q, r = ask(corp, "local.example.test.", "A")
    assert_authoritative(r)
    assert sysutil.answer_addresses(r) == ["10.0.0.77"]
    line = decision_for(corp, q, "local.example.test.")
    assert line["action"] == "local"
    assert line["rule"] == "local-zone:example.test"


def test_transparent_zone_local_name_other_type_is_nodata(corp):
    q, r = ask(corp, "local.example.test.", "TXT")
    assert_authoritative(r, dns.rcode.NOERROR)
    assert r.answer == []
    assert [rs.rdtype for rs in r.authority] == [dns.rdatatype.SOA]
    assert decision_for(corp, q, "local.example.test.")["action"] == "nodata"


# -- size ------------------------------------------------------------------


def test_big_local_rrset_truncated_for_udp_without_edns(corp):
    name = "big.corp.test."
    q = make_query(name, "TXT", edns=None)
    r, raw = corp.udp(q)
    assert len(raw) <= 512
    assert r.flags & dns.flags.TC
    assert r.id == q.id and r.question == q.question
    assert r.answer == []
    line = decision_for(corp, q, name)
    assert line["action"] == "truncate"
    assert line["rule"] == "size:512"


def test_big_local_rrset_whole_over_tcp(corp):
    _, r = ask(corp, "big.corp.test.", "TXT", edns=None, tcp=True)
    assert_authoritative(r)
    assert not r.flags & dns.flags.TC
    assert rdatas(r.answer, "TXT") == sorted('"%s"' % s for s in BIG_STRINGS)


def test_big_local_rrset_whole_with_edns_1232(corp):
    q = make_query("big.corp.test.", "TXT", edns=0, payload=1232)
    r, raw = corp.udp(q)
    assert 512 < len(raw) <= 1232
    assert not r.flags & dns.flags.TC
    assert len(rdatas(r.answer, "TXT")) == len(BIG_STRINGS)


# -- a view with no upstream -----------------------------------------------

LOCAL_ONLY = """
[view island]
local-zone = island.test static
local-data = www.island.test. 300 IN A 10.5.5.5
local-data = note.other.test. 300 IN TXT "only this"
"""


def test_view_without_upstream_answers_local_data(dnsgate_conf):
    gate = dnsgate_conf(LOCAL_ONLY)
    _, r = ask(gate, "www.island.test.", "A")
    assert_authoritative(r)
    assert sysutil.answer_addresses(r) == ["10.5.5.5"]
    _, r = ask(gate, "nope.island.test.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    _, r = ask(gate, "note.other.test.", "TXT")
    assert rdatas(r.answer) == ['"only this"']


def test_view_without_upstream_refuses_other_names(dnsgate_conf):
    gate = dnsgate_conf(LOCAL_ONLY)
    name = "www.elsewhere.test."
    q, r = ask(gate, name, "A", edns=0)
    assert r.rcode() == dns.rcode.REFUSED
    assert sysutil.ede_codes(r) == [20]
    line = decision_for(gate, q, name)
    assert line["view"] == "island"
    assert line["action"] == "refuse"
    assert line["rule"] == "view:island:no-upstream"
    assert line["ede"] == 20
    # A name below an implicit (transparent) zone without data: not ours
    # either.
    q, r = ask(gate, "sub.note.other.test.", "A", edns=0)
    assert r.rcode() == dns.rcode.REFUSED
    assert sysutil.ede_codes(r) == [20]


def test_upstream_none_serves_local_data_only(dnsgate_conf, nsd):
    """'upstream = none': a local-only view even when upstreams exist."""
    gate = dnsgate_conf("[upstream up]\nserver = %s\n" % nsd.addr +
                        LOCAL_ONLY + "upstream = none\n")
    _, r = ask(gate, "www.island.test.", "A")
    assert sysutil.answer_addresses(r) == ["10.5.5.5"]
    q, r = ask(gate, WWW, "A", edns=0)
    assert r.rcode() == dns.rcode.REFUSED
    assert sysutil.ede_codes(r) == [20]
    line = decision_for(gate, q, WWW)
    assert line["rule"] == "view:island:no-upstream"
    assert "upstream" not in line


# -- split horizon ---------------------------------------------------------

SPLIT = """
[view inside]
match-client = 127.0.0.1
local-zone = split.test static
local-data = www.split.test. 300 IN A 10.1.1.1
local-data = inside.split.test. 300 IN A 10.1.1.2

[view outside]
match-client = !127.0.0.7, 127.0.0.0/28
drop = 127.0.0.9
refuse = 127.0.0.8
allow = 127.0.0.0/29
local-zone = split.test static
local-data = www.split.test. 300 IN A 192.0.2.1
"""


@pytest.fixture
def split(dnsgate_conf):
    return dnsgate_conf(SPLIT)


def ask_from(gate, source, name, rdtype="A", edns=0, timeout=3.0):
    """(query, response or None) for a UDP query sent from ``source``."""
    q = make_query(name, rdtype, edns=edns)
    data = sysutil.udp_exchange_from(source, gate.host, gate.port,
                                     q.to_wire(), timeout)
    if data is None:
        return q, None
    r = dns.message.from_wire(data)
    assert r.id == q.id and r.question == q.question
    return q, r


def test_split_horizon_same_name_two_answers(split):
    q1, r1 = ask_from(split, "127.0.0.1", "www.split.test.")
    q2, r2 = ask_from(split, "127.0.0.2", "www.split.test.")
    assert sysutil.answer_addresses(r1) == ["10.1.1.1"]
    assert sysutil.answer_addresses(r2) == ["192.0.2.1"]
    l1 = split.wait_decision("www.split.test.", q1.id)
    l2 = split.wait_decision("www.split.test.", q2.id)
    assert (l1["view"], l1["client"]) == ("inside", "127.0.0.1")
    assert (l2["view"], l2["client"]) == ("outside", "127.0.0.2")


def test_split_horizon_name_only_inside(split):
    _, r = ask_from(split, "127.0.0.1", "inside.split.test.")
    assert sysutil.answer_addresses(r) == ["10.1.1.2"]
    _, r = ask_from(split, "127.0.0.3", "inside.split.test.")
    assert r.rcode() == dns.rcode.NXDOMAIN


def test_split_horizon_over_tcp(split):
    q = make_query("www.split.test.", "A", edns=0)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.bind(("127.0.0.4", 0))
        s.connect((split.host, split.port))
        s.sendall(sysutil.frame(q.to_wire()))
        r = dns.message.from_wire(sysutil.recv_frame(s))
    finally:
        s.close()
    assert sysutil.answer_addresses(r) == ["192.0.2.1"]
    line = split.wait_decision("www.split.test.", q.id)
    assert (line["view"], line["proto"]) == ("outside", "tcp")


def test_view_acl_drop_line(split):
    q, r = ask_from(split, "127.0.0.9", "www.split.test.", timeout=1.0)
    assert r is None, "a drop ACL line answered"
    line = split.wait_decision("www.split.test.", q.id)
    assert line["view"] == "outside"
    assert line["action"] == "drop"
    assert line["rule"] == "acl:outside:1"


def test_view_acl_refuse_line(split):
    q, r = ask_from(split, "127.0.0.8", "www.split.test.", edns=0)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.answer == []
    assert sysutil.ede_codes(r) == [18]
    line = split.wait_decision("www.split.test.", q.id)
    assert line["action"] == "refuse"
    assert line["rule"] == "acl:outside:2"
    assert line["ede"] == 18


def test_view_acl_refuse_without_edns(split):
    _, r = ask_from(split, "127.0.0.8", "www.split.test.", edns=None)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.edns < 0


def test_view_acl_allow_line(split):
    q, r = ask_from(split, "127.0.0.6", "www.split.test.")
    assert sysutil.answer_addresses(r) == ["192.0.2.1"]
    assert split.wait_decision("www.split.test.", q.id)["action"] == "local"


def test_view_acl_no_line_applies_is_refused(split):
    """127.0.0.10 is in the view (127.0.0.0/28) but in no ACL line."""
    q, r = ask_from(split, "127.0.0.10", "www.split.test.", edns=0)
    assert r.rcode() == dns.rcode.REFUSED
    assert sysutil.ede_codes(r) == [18]
    line = split.wait_decision("www.split.test.", q.id)
    assert line["view"] == "outside"
    assert line["rule"] == "acl:outside:0"


@pytest.mark.parametrize("source", ["127.0.0.20", "127.0.0.7"])
def test_no_view_matches_is_refused_with_ede_18(split, source):
    """127.0.0.20 is outside every match-client; 127.0.0.7 is negated."""
    q, r = ask_from(split, source, "www.split.test.", edns=0)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.answer == []
    assert sysutil.ede_codes(r) == [18]
    line = split.wait_decision("www.split.test.", q.id)
    assert line["action"] == "refuse"
    assert line["rule"] == "view:none"
    assert line["client"] == source
    assert "view" not in line or not line["view"]
