# SPDX-License-Identifier: BSD-2-Clause
"""Blocklists in three formats, RPZ actions, allowlists and block-action,
through the real daemon (dnsgate.conf(5), "Blocklists and allowlists";
dnsgate(8) WHAT THE WIRE SEES: a name on a blocklist gets the view's
block-action with EDE 15 Blocked, EXTRA-TEXT naming the list)."""

import os
import subprocess

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import sysutil
from sysutil import make_query

DATA = os.path.join(os.path.dirname(__file__), "data")
BIN = os.environ.get("DNSGATE_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "dnsgate"))


def body(nsd, action="nxdomain", extra=""):
    return """
[upstream up]
server = {up}

[view all]
upstream = up
blocklist = {d}/ads.txt
blocklist = rpz:{d}/policy.rpz
blocklist = {d}/hosts.txt
allowlist = {d}/allow.txt
block-action = {action}
{extra}
""".format(up=nsd.addr, d=DATA, action=action, extra=extra)


@pytest.fixture
def gate(dnsgate_conf, nsd):
    return dnsgate_conf(body(nsd))


def ask(gate, name, rdtype="A", tcp=False, edns=0):
    q = make_query(name, rdtype, edns=edns)
    r, _ = (gate.tcp if tcp else gate.udp)(q)
    assert r.id == q.id
    return r


def ede(r):
    return [(int(o.code), o.text) for o in r.options
            if int(o.otype) == 15]


def rdata(r, rdtype):
    return sorted(rd.to_text() for rrset in r.answer
                  if rrset.rdtype == rdtype for rd in rrset)


def test_domains_list_blocks_name_and_subtree(gate):
    for name in ("ads.example.com.", "deep.sub.ads.example.com.",
                 "MIXED.case.example.ORG."):
        r = ask(gate, name)
        assert r.rcode() == dns.rcode.NXDOMAIN, name
        assert ede(r) == [(15, "blocked by ads.txt")]
        # A negative answer carries an SOA (RFC 2308).
        assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]


def test_hosts_list(gate):
    for name in ("ads.hosts.example.", "two.hosts.example.",
                 "x.telemetry.hosts.example."):
        r = ask(gate, name)
        assert r.rcode() == dns.rcode.NXDOMAIN, name
        assert ede(r) == [(15, "blocked by hosts.txt")]
    # "localhost" lines of a hosts file are not blocks.
    r = ask(gate, "www.example.test.")
    assert r.rcode() == dns.rcode.NOERROR
    assert ede(r) == []


def test_allowlist_exempts(gate):
    r = ask(gate, "good.ads.example.com.")
    assert ede(r) == []
    # Forwarded: nsd is not authoritative for example.com and refuses.
    assert r.rcode() != dns.rcode.NXDOMAIN


def test_rpz_actions(gate):
    r = ask(gate, "nxdomain.rpz-test.example.")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert ede(r) == [(15, "blocked by policy.rpz")]
    r = ask(gate, "x.nxdomain.rpz-test.example.")          # *. trigger
    assert r.rcode() == dns.rcode.NXDOMAIN
    r = ask(gate, "nodata.rpz-test.example.")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == [] and ede(r)[0][0] == 15
    r = ask(gate, "pass.nxdomain.rpz-test.example.")      # PASSTHRU
    assert ede(r) == []
    r = ask(gate, "local.rpz-test.example.", "A")         # local data
    assert rdata(r, dns.rdatatype.A) == ["192.0.2.10", "192.0.2.11"]
    assert ede(r)[0][0] == 15
    r = ask(gate, "local.rpz-test.example.", "TXT")
    assert rdata(r, dns.rdatatype.TXT) == ['"blocked by policy"']
    r = ask(gate, "cname.rpz-test.example.")
    assert rdata(r, dns.rdatatype.CNAME) == ["walled.garden.example."]


def test_rpz_drop(gate):
    q = make_query("drop.rpz-test.example.", "A", edns=0)
    assert sysutil.udp_exchange(gate.host, gate.port, q.to_wire(),
                                timeout=1.0)[0] is None
    line = gate.wait_decision(qname="drop.rpz-test.example.")
    assert line["action"] == "drop"
    assert line["rule"] == "blocklist:policy.rpz"


def test_rpz_tcp_only(gate):
    r = ask(gate, "tcp.rpz-test.example.")
    assert r.flags & dns.flags.TC
    assert r.answer == []
    # Over TCP the name is not blocked: forwarded (nsd refuses it).
    r = ask(gate, "tcp.rpz-test.example.", tcp=True)
    assert not r.flags & dns.flags.TC
    assert ede(r) == []


def test_decision_log_line(gate):
    ask(gate, "ads.example.com.")
    line = gate.wait_decision(qname="ads.example.com.")
    assert line["action"] == "block"
    assert line["rule"] == "blocklist:ads.txt"
    assert line["rcode"] == "NXDOMAIN"
    assert line["ede"] == 15


@pytest.mark.parametrize("action,rcode,answers", [
    ("nodata", dns.rcode.NOERROR, []),
    ("refuse", dns.rcode.REFUSED, []),
    ("redirect 192.0.2.66", dns.rcode.NOERROR, ["192.0.2.66"]),
])
def test_block_actions(dnsgate_conf, nsd, action, rcode, answers):
    gate = dnsgate_conf(body(nsd, action=action))
    r = ask(gate, "ads.example.com.")
    assert r.rcode() == rcode
    assert rdata(r, dns.rdatatype.A) == answers
    assert ede(r)[0][0] == 15


def test_block_action_drop(dnsgate_conf, nsd):
    gate = dnsgate_conf(body(nsd, action="drop"))
    q = make_query("ads.example.com.", "A", edns=0)
    assert sysutil.udp_exchange(gate.host, gate.port, q.to_wire(),
                                timeout=1.0)[0] is None


def test_ede_text_off(dnsgate_conf, nsd):
    gate = dnsgate_conf(body(nsd), server={"ede-text": "no"})
    r = ask(gate, "ads.example.com.")
    assert [c for c, _ in ede(r)] == [15]
    assert all(not t for _, t in ede(r))


def test_no_edns_no_ede(gate):
    r = ask(gate, "ads.example.com.", edns=None)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.edns < 0


@pytest.mark.parametrize("strict", [False, True])
def test_bad_list_entry(tmp_path, strict):
    """A bad record is skipped with a warning naming both places; with
    [lists] strict = yes it is an error (test_list_hygiene.py has more)."""
    bad = tmp_path / "bad.rpz"
    bad.write_text("$ORIGIN rpz.\n@ SOA a. b. 1 1 1 1 1\n"
                   "x CNAME .\nthis is not a record\n")
    conf = tmp_path / "c.conf"
    conf.write_text("[view v]\nupstream = none\nblocklist = rpz:%s\n%s"
                    % (bad, "[lists]\nstrict = yes\n" if strict else ""))
    p = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == (1 if strict else 0)
    assert p.stderr.startswith("%s:3: %sblocklist: %s:4:" % (
        conf, "" if strict else "warning: ", bad))


def explain(conf, name, *opts):
    p = subprocess.run([BIN, "explain", "-c", str(conf), "--client",
                        "127.0.0.1"] + list(opts) + [name],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def blocklist_line(out):
    lines = [ln for ln in out.splitlines() if ln.startswith("blocklist: ")]
    assert len(lines) == 1, out
    return lines[0]


def test_explain_blocked(tmp_path, nsd):
    conf = tmp_path / "c.conf"
    conf.write_text("[server]\nlisten = 127.0.0.1:5399\n" + body(nsd))
    out = explain(conf, "sub.ads.example.com")
    # The entry and its line, not only the list (ads.txt line 3).
    assert ("blocklist: listed by ads.txt:3 (entry 'ads.example.com', "
            "a parent of the name): blocked\n") in out
    assert "action: block\n" in out
    # The rule stays the list's (the decision log's rule).
    assert "rule: blocklist:ads.txt\n" in out
    assert "rcode: NXDOMAIN\n" in out
    assert "ede: 15 Blocked (blocked by ads.txt)\n" in out


@pytest.mark.parametrize("name, want", [
    # domains: the name itself; "*." entries cover only names below.
    ("MIXED.case.example.ORG", "listed by ads.txt:5 (entry "
     "'mixed.case.example.org', the name itself): blocked"),
    ("a.b.wildcard.example", "listed by ads.txt:6 (entry "
     "'*.wildcard.example', a parent of the name): blocked"),
    # hosts: the line with the name among others.
    ("two.hosts.example", "listed by hosts.txt:9 (entry "
     "'two.hosts.example', the name itself): blocked"),
    # RPZ: the record's line, the trigger as written (relative to the
    # zone's origin).
    ("x.nxdomain.rpz-test.example", "nxdomain by policy.rpz:10 (entry "
     "'*.nxdomain.rpz-test.example', a parent of the name): blocked"),
    ("local.rpz-test.example", "local-data by policy.rpz:15 (entry "
     "'local.rpz-test.example', the name itself): blocked"),
    ("pass.nxdomain.rpz-test.example", "passthru by policy.rpz:12 (entry "
     "'pass.nxdomain.rpz-test.example', the name itself): go on"),
    # An allowlist names its entry too.
    ("www.good.ads.example.com", "allowed by allow.txt:2 (entry "
     "'good.ads.example.com', a parent of the name): go on"),
])
def test_explain_names_entry_and_line(tmp_path, nsd, name, want):
    conf = tmp_path / "c.conf"
    conf.write_text(body(nsd))
    assert blocklist_line(explain(conf, name)) == "blocklist: " + want


def test_explain_finds_the_parent_in_a_big_list(tmp_path, nsd):
    """The on-call case: a parent domain somewhere in 100k lines, with a
    relative path (taken relative to the configuration file)."""
    lists = tmp_path / "lists"
    lists.mkdir()
    names = ["n%d.filler.example" % i for i in range(100000)]
    names[47110] = "tracker.example"  # line 47111
    (lists / "big.txt").write_text("\n".join(names) + "\n")
    conf = tmp_path / "c.conf"
    conf.write_text("[upstream up]\nserver = %s\n[view all]\nupstream = up\n"
                    "blocklist = domains:lists/big.txt\n" % nsd.addr)
    out = explain(conf, "cdn.eu.tracker.example")
    assert blocklist_line(out) == (
        "blocklist: listed by big.txt:47111 (entry 'tracker.example', a "
        "parent of the name): blocked")
    assert "rule: blocklist:big.txt\n" in out
