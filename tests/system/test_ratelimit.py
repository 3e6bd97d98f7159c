# SPDX-License-Identifier: BSD-2-Clause
"""Response rate limiting and the per-client query limit (dnsgate.conf(5)
[ratelimit]; dnsgate(8) WHAT THE WIRE SEES, DECISION LOG, METRICS; BIND 9
RRL semantics).

Every flood is bounded: a few hundred queries sent as fast as one socket
can, replies read as they come, then a short quiet period. Counts are
checked against the token bucket with tolerance, never timings: an account
starts with a full bucket of ``rate`` credits (one second's worth), earns
``rate`` per second, and every response costs one whether it is sent or
not, so a flood of N queries taking ``span`` seconds gets between ``rate``
and ``rate + rate * span + 1`` answers. (Because limited responses are
debited too, a sustained flood above the rate gets little more than the
burst: ``rate * span`` is an upper bound, as in BIND.) dnsgate's own
counters (dnsgate_queries_total, dnsgate_ratelimit_total) give what it
received, dropped and slipped, so the kernel losing a datagram cannot make
a count wrong.

Local data (upstream = none) gives fast deterministic answers; NSD stands
in where NXDOMAIN comes from a real upstream.
"""

import os
import re
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import sysutil
from sysutil import cookie_of, cookie_option, make_query, server_cookie

WWW = "www.rl.test."
WWW2 = "www2.rl.test."
ADDR = "192.0.2.1"
SECRET = "000102030405060708090a0b0c0d0e0f"
RULE_RPS = "ratelimit:responses-per-second"


def body(rl, cookies=None, upstream=None):
    lines = []
    if upstream is not None:
        lines += ["[upstream up]", "server = %s" % upstream,
                  "timeout = 1s", ""]
    lines += [
        "[view v]",
        "upstream = %s" % ("up" if upstream is not None else "none"),
        "local-zone = rl.test static",
        "local-data = %s 300 IN A %s" % (WWW, ADDR),
        "local-data = %s 300 IN A 192.0.2.2" % WWW2,
        "local-zone = other.test static",
        "local-data = www.other.test. 300 IN A 192.0.2.3",
        "",
        "[ratelimit]",
    ]
    lines += ["%s = %s" % kv for kv in rl.items()]
    if cookies is not None:
        lines += ["", "[cookies]"] + ["%s = %s" % kv for kv in cookies.items()]
    return "\n".join(lines) + "\n"


def metrics_addr():
    return "127.0.0.1:%d" % sysutil.free_port()


def rl_gate(dnsgate_conf, rl, cookies=None, upstream=None, log=None):
    gate = dnsgate_conf(body(rl, cookies, upstream),
                        server={"metrics-listen": metrics_addr}, log=log)
    gate.metrics = gate.options["metrics-listen"]
    return gate


def counters(gate):
    m = sysutil.scrape_metrics(gate.metrics)
    return {
        "udp": sysutil.metric(m, "dnsgate_queries_total", proto="udp"),
        "tcp": sysutil.metric(m, "dnsgate_queries_total", proto="tcp"),
        "drop": sysutil.metric(m, "dnsgate_ratelimit_total", result="drop"),
        "slip": sysutil.metric(m, "dnsgate_ratelimit_total", result="slip"),
    }


class Flood:
    """One UDP flood and what came of it."""

    def __init__(self, gate, queries, source=None, quiet=0.4, limit=5.0):
        self.queries = {q.id: q for q in queries}
        assert len(self.queries) == len(queries), "IDs must be distinct"
        before = counters(gate)
        raw, self.span = sysutil.udp_flood(
            gate.host, gate.port, [q.to_wire() for q in queries],
            source=source, quiet=quiet, limit=limit)
        after = counters(gate)
        self.delta = {k: after[k] - before[k] for k in after}
        self.received = self.delta["udp"]  # what dnsgate read
        self.replies = []
        for data in raw:
            r = dns.message.from_wire(data)
            q = self.queries.get(r.id)
            assert q is not None, "reply to a query never sent: %s" % r
            assert r.question == q.question, r
            self.replies.append(r)
        ids = [r.id for r in self.replies]
        assert len(ids) == len(set(ids)), "a query answered twice"

    def tc(self):
        return [r for r in self.replies if r.flags & dns.flags.TC]

    def full(self):
        return [r for r in self.replies if not r.flags & dns.flags.TC]

    def max_answered(self, rate):
        """The token bucket's upper bound for one account."""
        return rate + int(rate * self.span) + 1

    def __repr__(self):
        return ("Flood(sent=%d received=%d replies=%d tc=%d span=%.3fs "
                "delta=%s)" % (len(self.queries), self.received,
                               len(self.replies), len(self.tc()), self.span,
                               self.delta))


def queries_for(names, rdtype="A", cookie=None, first_id=1):
    opts = [cookie_option(cookie)] if cookie is not None else []
    return [make_query(n, rdtype, edns=0, options=opts, qid=first_id + i)
            for i, n in enumerate(names)]


def same(name, n, **kw):
    return queries_for([name] * n, **kw)


def assert_answers(replies, addr=ADDR):
    for r in replies:
        assert r.rcode() == dns.rcode.NOERROR, r
        assert sysutil.answer_addresses(r) == [addr], r


def assert_slipped(r, rcode=dns.rcode.NOERROR):
    """A slip without a cookie (as BIND 9 slips): TC=1, no records, the
    RCODE the response had."""
    assert r.flags & dns.flags.TC, r
    assert r.rcode() == rcode, r
    assert not r.answer and not r.authority, r


def rl_lines(gate, rule=None):
    out = []
    for line in gate.decisions():
        if not str(line.get("rule", "")).startswith("ratelimit:"):
            continue
        if rule is None or line["rule"] == rule:
            out.append(line)
    return out


def summaries(gate):
    return [o for o in gate.log_lines()
            if "stop limiting" in str(o.get("msg", ""))]


# -- responses-per-second --------------------------------------------------


def test_udp_flood_limited_with_slip_ratio(dnsgate_conf):
    rate = 20
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 2})
    f = Flood(gate, same(WWW, 300))
    assert f.received >= 3 * rate, f
    answered = f.full()
    assert_answers(answered)
    assert rate <= len(answered) <= f.max_answered(rate), f
    for r in f.tc():
        assert_slipped(r)
    # Everything dnsgate read was answered, slipped or dropped, and the
    # counters agree with what this client saw.
    slipped = len(f.tc())
    dropped = f.received - len(answered) - slipped
    assert f.delta["slip"] == slipped, f
    assert f.delta["drop"] == dropped, f
    # slip = 2: slip, drop, slip, drop... (the first limited one slips).
    assert 0 <= slipped - dropped <= 1, f
    assert slipped > 0


def test_tcp_flood_all_answered(dnsgate_conf):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate})
    n = 100
    qs = same(WWW, n)
    before = counters(gate)
    s = gate.connect(timeout=5)
    try:
        s.sendall(b"".join(sysutil.frame(q.to_wire()) for q in qs))
        answers = [dns.message.from_wire(sysutil.recv_frame(s))
                   for _ in range(n)]
    finally:
        s.close()
    assert sorted(r.id for r in answers) == sorted(q.id for q in qs)
    assert not [r for r in answers if r.flags & dns.flags.TC]
    assert_answers(answers)
    after = counters(gate)
    assert after["drop"] == before["drop"]
    assert after["slip"] == before["slip"]
    # The same name over UDP right after is limited: the limit is on.
    f = Flood(gate, same(WWW, 50, first_id=1000))
    assert len(f.full()) <= f.max_answered(rate), f


def test_accounts_per_name(dnsgate_conf):
    rate = 10
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 0})
    names = [WWW, WWW2, "www.other.test."] * 80
    f = Flood(gate, queries_for(names))
    by_name = {}
    for r in f.full():
        by_name.setdefault(r.question[0].name.to_text(), []).append(r)
    for name in (WWW, WWW2, "www.other.test."):
        got = len(by_name.get(name, []))
        assert rate <= got <= f.max_answered(rate), (name, got, f)


def test_valid_cookie_exempt(dnsgate_conf):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate},
                   cookies={"enabled": "yes", "secret": SECRET})
    cc = os.urandom(8)
    r, _ = gate.udp(make_query(WWW, "A", edns=0,
                               options=[cookie_option(cc)]))
    cookie = cookie_of(r)
    assert cookie is not None and len(cookie) == 24
    f = Flood(gate, same(WWW, 150, cookie=cookie))
    assert f.received >= 100, f
    assert len(f.replies) == f.received, f
    assert not f.tc(), f
    assert_answers(f.replies)
    assert f.delta["drop"] == 0 and f.delta["slip"] == 0, f
    # A cookie minted by the test (RFC 9018, for 127.0.0.1) is as good.
    minted = cc + server_cookie(SECRET, cc, "127.0.0.1", int(time.time()))
    f = Flood(gate, same(WWW, 100, cookie=minted, first_id=1000))
    assert len(f.full()) == f.received >= 60, f


def flipped(cookie):
    b = bytearray(cookie)
    b[-1] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("kind", ["client-only", "invalid-server-cookie"])
def test_slip_with_cookie_is_badcookie(dnsgate_conf, kind):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 1},
                   cookies={"enabled": "yes", "secret": SECRET})
    cc = os.urandom(8)
    sent = cc
    if kind != "client-only":
        sent = cc + flipped(server_cookie(SECRET, cc, "127.0.0.1",
                                          int(time.time())))
    f = Flood(gate, same(WWW, 60, cookie=sent))
    good = [r for r in f.replies if r.rcode() == dns.rcode.NOERROR]
    bad = [r for r in f.replies if r.rcode() == dns.rcode.BADCOOKIE]
    assert len(good) + len(bad) == len(f.replies), f
    assert_answers(good)
    assert rate <= len(good) <= f.max_answered(rate), f
    # slip = 1: every limited response slips, as BADCOOKIE (as BIND 9
    # slips for a query with a COOKIE option) with the client cookie and a
    # fresh, valid server cookie.
    assert len(bad) == f.received - len(good) == f.delta["slip"], f
    assert f.delta["drop"] == 0, f
    lines = sysutil.wait_for(lambda: rl_lines(gate, RULE_RPS), 3)
    assert lines and lines[0]["action"] == "ratelimit-slip", lines
    assert lines[0]["rcode"] == "BADCOOKIE", lines
    fresh = None
    for r in bad:
        assert not r.answer, r
        assert not r.flags & dns.flags.AA, r
        c = cookie_of(r)
        assert c is not None and len(c) == 24 and c[:8] == cc, r
        ts = int.from_bytes(c[12:16], "big")
        assert abs(ts - time.time()) < 10
        assert c[8:] == server_cookie(SECRET, cc, "127.0.0.1", ts), c.hex()
        fresh = c
    # The client that learned the cookie is answered at once, however
    # deep in debt its account is.
    r, _ = gate.udp(make_query(WWW, "A", edns=0,
                               options=[cookie_option(fresh)]))
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [ADDR]


@pytest.mark.parametrize("exempt,limited_src,exempt_src", [
    ("127.0.0.1", "127.0.0.2", "127.0.0.1"),
    ("!127.0.0.3, 127.0.0.0/8", "127.0.0.3", "127.0.0.2"),
])
def test_exempt_clients(dnsgate_conf, exempt, limited_src, exempt_src):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate,
                                  "exempt-clients": exempt})
    f = Flood(gate, same(WWW, 100), source=exempt_src)
    assert len(f.full()) == f.received, f
    assert_answers(f.replies)
    assert f.delta["drop"] == f.delta["slip"] == 0, f
    f = Flood(gate, same(WWW, 100, first_id=1000), source=limited_src)
    assert rate <= len(f.full()) <= f.max_answered(rate), f
    assert f.delta["drop"] + f.delta["slip"] > 0, f


@pytest.mark.parametrize("prefix,shared", [(24, True), (32, False)])
def test_ipv4_prefix_length(dnsgate_conf, prefix, shared):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 0,
                                  "ipv4-prefix-length": prefix})
    f1 = Flood(gate, same(WWW, 60), source="127.0.0.2", quiet=0.2)
    assert rate <= len(f1.full()) <= f1.max_answered(rate), f1
    f2 = Flood(gate, same(WWW, 60, first_id=1000), source="127.0.0.3")
    if shared:
        # Same /24: the account is still in debt.
        assert len(f2.full()) <= rate * (f1.span + f2.span + 1) + 1, f2
        assert len(f2.full()) < rate, f2
    else:
        assert rate <= len(f2.full()) <= f2.max_answered(rate), f2


def test_slip_zero_drops_all(dnsgate_conf):
    rate = 10
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 0})
    f = Flood(gate, same(WWW, 200))
    assert not f.tc(), f
    assert_answers(f.replies)
    assert rate <= len(f.replies) <= f.max_answered(rate), f
    assert f.delta["slip"] == 0, f
    assert f.delta["drop"] == f.received - len(f.replies), f


def test_slip_one_slips_all(dnsgate_conf):
    rate = 10
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 1})
    f = Flood(gate, same(WWW, 200))
    answered = f.full()
    assert_answers(answered)
    assert rate <= len(answered) <= f.max_answered(rate), f
    for r in f.tc():
        assert_slipped(r)
    assert len(f.replies) == f.received, f  # nothing dropped
    assert f.delta["drop"] == 0, f
    assert f.delta["slip"] == len(f.tc()) == f.received - len(answered), f


def test_slip_three(dnsgate_conf):
    rate = 10
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 3})
    f = Flood(gate, same(WWW, 200))
    limited = f.received - len(f.full())
    slipped = len(f.tc())
    # slip, drop, drop, slip, drop, drop...
    assert slipped == (limited + 2) // 3, f
    assert f.delta["slip"] == slipped, f
    assert f.delta["drop"] == limited - slipped, f


# -- other accounts ----------------------------------------------------------


@pytest.mark.parametrize("source", ["local-zone", "nsd"])
def test_nxdomain_names_share_zone_account(dnsgate_conf, request, source):
    """NXDOMAIN is counted per zone (BIND: the zone origin), not per name:
    different names in one zone share an account; another zone has its
    own."""
    rate = 5
    rl = {"nxdomains-per-second": rate, "slip": 1}
    if source == "nsd":
        nsd = request.getfixturevalue("nsd")
        gate = rl_gate(dnsgate_conf, rl, upstream=nsd.addr)
        zones = ["example.test."]
    else:
        gate = rl_gate(dnsgate_conf, rl)
        zones = ["rl.test.", "other.test."]
    tok = sysutil.token()
    names = []
    for i in range(60):
        for z in zones:
            # Names at several depths: the account is the zone, not the
            # qname's parent.
            names.append(("n%d.%s.%s" if i % 2 else "n%d-%s.%s")
                         % (i, tok, z))
    f = Flood(gate, queries_for(names), quiet=0.6)
    for z in zones:
        mine = [r for r in f.replies
                if r.question[0].name.to_text().endswith(z)]
        nx = [r for r in mine if not r.flags & dns.flags.TC]
        for r in nx:
            assert r.rcode() == dns.rcode.NXDOMAIN, r
            assert r.authority, "NXDOMAIN without its SOA: %s" % r
        assert rate <= len(nx) <= f.max_answered(rate), (z, len(nx), f)
        for r in mine:
            if r.flags & dns.flags.TC:
                assert_slipped(r, dns.rcode.NXDOMAIN)
    lines = sysutil.wait_for(
        lambda: rl_lines(gate, "ratelimit:nxdomains-per-second"), 3)
    assert lines, gate.stderr_text()[-2000:]
    # slip = 1: the episode (one per zone) has slips only.
    assert [ln["action"] for ln in lines] == ["ratelimit-slip"] * len(zones), \
        lines


def test_errors_per_second(dnsgate_conf):
    """Errors (here REFUSED: names outside the view's local data, no
    upstream) share one account per client prefix, whatever the name."""
    rate = 5
    gate = rl_gate(dnsgate_conf, {"errors-per-second": rate})
    tok = sysutil.token()
    names = ["e%d.%s.nowhere.test." % (i, tok) for i in range(100)]
    f = Flood(gate, queries_for(names))
    refused = [r for r in f.full() if r.rcode() == dns.rcode.REFUSED]
    assert len(refused) == len(f.full()), f
    assert rate <= len(refused) <= f.max_answered(rate), f
    # A limited error is dropped or slipped, never sent in full.
    for r in f.tc():
        assert not r.answer, r
    assert f.delta["drop"] + f.delta["slip"] == \
        f.received - len(refused), f
    lines = rl_lines(gate, "ratelimit:errors-per-second")
    assert lines and lines[0]["action"] in ("ratelimit-drop",
                                            "ratelimit-slip"), lines
    # Answers to other names are not held back by the error account.
    r, _ = gate.udp(make_query(WWW, "A", edns=0))
    assert sysutil.answer_addresses(r) == [ADDR]


def test_all_per_second(dnsgate_conf):
    rate = 10
    gate = rl_gate(dnsgate_conf, {"all-per-second": rate, "slip": 1})
    names = [WWW, WWW2, "nx.rl.test.", "www.other.test."] * 40
    f = Flood(gate, queries_for(names))
    assert rate <= len(f.full()) <= f.max_answered(rate), f
    # all-per-second is never slipped (BIND), whatever slip says.
    assert not f.tc(), f
    assert f.delta["drop"] == f.received - len(f.full()), f


# -- log-only ----------------------------------------------------------------


def test_log_only_sends_everything(dnsgate_conf):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 2,
                                  "log-only": "yes", "window": "1s"})
    f = Flood(gate, same(WWW, 100))
    assert len(f.replies) == f.received, f
    assert not f.tc(), f
    assert_answers(f.replies)
    # Logged as if limiting: the first drop and first slip of the episode,
    # and a summary when it ends.
    lines = sysutil.wait_for(lambda: len(rl_lines(gate, RULE_RPS)) >= 2, 3)
    lines = rl_lines(gate, RULE_RPS)
    assert len(lines) == 2, lines
    summary = sysutil.wait_for(lambda: summaries(gate), 8)
    assert summary, gate.stderr_text()[-2000:]
    s = summary[0]
    assert "stop limiting responses to 127.0.0.0/24 for www.rl.test. A" \
        in s["msg"], s
    limited = f.received - rate
    assert 0 <= limited - (s["dropped"] + s["slipped"]) \
        <= int(rate * f.span) + 1, (s, f)


def test_log_only_counts_as_if_limiting(dnsgate_conf):
    """log-only logs and counts exactly as if limiting (dnsgate.conf(5),
    "Logging and counting"), and sends everything."""
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 2,
                                  "log-only": "yes"})
    f = Flood(gate, same(WWW, 100))
    assert len(f.replies) == f.received, f
    limited = f.delta["drop"] + f.delta["slip"]
    assert f.received - f.max_answered(rate) <= limited \
        <= f.received - rate, f
    assert 0 <= f.delta["slip"] - f.delta["drop"] <= 1, f


def test_log_only_decision_lines_say_ratelimit(dnsgate_conf):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 2,
                                  "log-only": "yes"})
    Flood(gate, same(WWW, 50))
    sysutil.wait_for(lambda: len(rl_lines(gate, RULE_RPS)) >= 2, 3)
    actions = sorted(ln["action"] for ln in rl_lines(gate, RULE_RPS))
    assert actions == ["ratelimit-drop", "ratelimit-slip"], \
        rl_lines(gate, RULE_RPS)


# -- queries-per-second ----------------------------------------------------


def test_queries_per_second_refuse(dnsgate_conf):
    rate = 10
    gate = rl_gate(dnsgate_conf, {"queries-per-second": rate,
                                  "queries-action": "refuse"})
    f = Flood(gate, same(WWW, 150))
    assert len(f.replies) == f.received, f  # every query gets a reply
    ok = [r for r in f.replies if r.rcode() == dns.rcode.NOERROR]
    refused = [r for r in f.replies if r.rcode() == dns.rcode.REFUSED]
    assert len(ok) + len(refused) == len(f.replies), f
    assert_answers(ok)
    assert rate <= len(ok) <= f.max_answered(rate), f
    for r in refused:
        assert not r.answer and not r.flags & dns.flags.TC, r
        assert sysutil.ede_codes(r) == [18], r
    lines = sysutil.wait_for(
        lambda: rl_lines(gate, "ratelimit:queries-per-second"), 3)
    assert lines, gate.stderr_text()[-2000:]
    assert lines[0]["action"] == "refuse", lines
    assert lines[0]["rcode"] == "REFUSED" and lines[0]["ede"] == 18, lines
    # Aggregated like RRL: one line for the episode, not one per query.
    time.sleep(0.3)
    assert len(rl_lines(gate, "ratelimit:queries-per-second")) == 1


def test_queries_per_second_drop(dnsgate_conf):
    rate = 10
    gate = rl_gate(dnsgate_conf, {"queries-per-second": rate,
                                  "queries-action": "drop"})
    # Different names: the limit is per client, before any lookup.
    names = [WWW, WWW2, "nx.rl.test.", "www.other.test."] * 40
    f = Flood(gate, queries_for(names))
    assert not f.tc(), f
    assert rate <= len(f.replies) <= f.max_answered(rate), f
    for r in f.replies:
        assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), r
    lines = sysutil.wait_for(
        lambda: rl_lines(gate, "ratelimit:queries-per-second"), 3)
    assert lines and lines[0]["action"] == "drop", lines
    assert "rcode" not in lines[0], lines


def test_queries_per_second_exempt(dnsgate_conf):
    gate = rl_gate(dnsgate_conf, {"queries-per-second": 5,
                                  "exempt-clients": "127.0.0.1"})
    f = Flood(gate, same(WWW, 60))
    assert len(f.full()) == f.received, f
    assert_answers(f.replies)


# -- the decision log: one episode, two lines and a summary -------------------


def test_episode_decision_lines_and_summary(dnsgate_conf):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 2,
                                  "window": "1s"})
    f = Flood(gate, same(WWW, 100))
    answered = len(f.full())
    assert rate <= answered <= f.max_answered(rate), f
    slipped = len(f.tc())
    dropped = f.received - answered - slipped

    def ready():
        return len(rl_lines(gate)) >= 2 and len(
            gate.decisions(WWW)) >= answered + 2

    sysutil.wait_for(ready, 3)
    lines = rl_lines(gate)
    assert sorted(ln["action"] for ln in lines) == [
        "ratelimit-drop", "ratelimit-slip"], lines
    for ln in lines:
        assert ln["rule"] == RULE_RPS, ln
        assert ln["client"] == "127.0.0.1" and ln["proto"] == "udp", ln
        assert sysutil.same_name(ln["qname"], WWW) and ln["qtype"] == "A"
        assert ln["view"] == "v", ln
        assert ln["id"] in f.queries, ln
    drop = [ln for ln in lines if ln["action"] == "ratelimit-drop"][0]
    slip = [ln for ln in lines if ln["action"] == "ratelimit-slip"][0]
    assert "rcode" not in drop, drop
    assert slip["rcode"] == "NOERROR", slip
    # The first limited response slips (slip = 2), so it comes first.
    assert slip["id"] < drop["id"], lines
    # Every sent answer has its line; the limited ones only these two.
    assert len(gate.decisions(WWW)) == answered + 2

    # The episode ends once the bucket is full again (window 1 s).
    found = sysutil.wait_for(lambda: summaries(gate), 8)
    assert found, gate.stderr_text()[-2000:]
    assert len(found) == 1, found
    s = found[0]
    assert s["msg"] == ("stop limiting responses to 127.0.0.0/24 for "
                        "www.rl.test. A"), s
    assert s["dropped"] == dropped == f.delta["drop"], (s, f)
    assert s["slipped"] == slipped == f.delta["slip"], (s, f)
    # A daemon line: "ts" first, as every log line (dnsgate(8)).
    assert list(s)[0] == "ts" and re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", s["ts"]), s

    # The account was idle for longer than the window: a full bucket,
    # and a new episode with its own first drop and first slip.
    f2 = Flood(gate, same(WWW, 100, first_id=1000))
    assert rate <= len(f2.full()) <= f2.max_answered(rate), f2
    sysutil.wait_for(lambda: len(rl_lines(gate)) >= 4, 3)
    actions = sorted(ln["action"] for ln in rl_lines(gate))
    assert actions == ["ratelimit-drop"] * 2 + ["ratelimit-slip"] * 2, \
        rl_lines(gate)


def test_episode_summary_text_format(dnsgate_conf):
    rate = 5
    gate = rl_gate(dnsgate_conf, {"responses-per-second": rate, "slip": 2,
                                  "window": "1s"}, log={"format": "text"})
    f = Flood(gate, same(WWW, 80))
    pat = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]{12}Z "
                     r"stop limiting responses to 127\.0\.0\.0/24 for "
                     r"www\.rl\.test\. A \(dropped (\d+), slipped (\d+)\)",
                     re.M)
    m = sysutil.wait_for(lambda: pat.search(gate.stderr_text()), 8)
    assert m, gate.stderr_text()[-2000:]
    assert int(m.group(1)) == f.delta["drop"], (m.group(0), f)
    assert int(m.group(2)) == f.delta["slip"] == len(f.tc()), (m.group(0), f)


def test_ratelimit_metrics_series(dnsgate_conf):
    gate = rl_gate(dnsgate_conf, {"responses-per-second": 5})
    m = sysutil.scrape_metrics(gate.metrics)
    for result in ("drop", "slip"):
        assert ("dnsgate_ratelimit_total",
                frozenset({("result", result)})) in m, sorted(m)
    f = Flood(gate, same(WWW, 60))
    assert f.delta["drop"] > 0 and f.delta["slip"] > 0, f
