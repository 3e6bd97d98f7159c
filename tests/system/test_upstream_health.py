# SPDX-License-Identifier: BSD-2-Clause
"""Upstream health as the operator sees it (dnsgate.conf(5), "Upstream
semantics": a server is down after 3 consecutive timeouts or SERVFAILs,
skipped while down, probed every `health-check`, up again when a probe is
answered) through `dnsgate ctl upstreams`, /metrics and the log; and
`selection = fastest`.

Fault servers change behaviour at run time through their ``mode``
attribute (faultserver.py reads it for every query). Preferences are
asserted by counts of queries each server received, never by timings.
"""

import datetime
import re
import time

import dns.rcode

import faultserver
import sysutil
from conftest import ctl
from sysutil import make_query

GOOD_B = "192.0.2.2"  # what the second server answers


def group_body(servers, **opts):
    lines = ["[upstream up]"]
    lines += ["server = %s" % s.addr for s in servers]
    for k, v in opts.items():
        lines.append("%s = %s" % (k.replace("_", "-"), v))
    lines += ["", "[view main]", "upstream = up"]
    return "\n".join(lines) + "\n"


def start(dnsgate_conf, sockdir, servers, **opts):
    return dnsgate_conf(
        group_body(servers, **opts),
        server={"metrics-listen":
                lambda: "127.0.0.1:%d" % sysutil.free_port(),
                "control-socket": sockdir + "/ctl.sock"})


def ask(gate, name, timeout=5.0):
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q, timeout=timeout)
    assert r.id == q.id
    return q, r


def name_of(tok, what):
    return "ok.%s-%s.fault.test." % (tok, what)


def upstream_states(gate):
    """{server ip:port: "up" | "down"} from `dnsgate ctl upstreams`."""
    rc, text, err = ctl("-s", gate.options["control-socket"], "upstreams")
    assert rc == 0, err
    out = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] == "up":
            out[words[1]] = words[2]
    return out


def metric_up(gate, server):
    body = sysutil.http_get(gate.options["metrics-listen"], "/metrics")[2]
    pat = re.compile(r'^dnsgate_upstream_up\{upstream="up",server="%s"\} '
                     r'(\d+)$' % re.escape(server), re.M)
    m = pat.search(body)
    assert m, "no dnsgate_upstream_up sample for %s" % server
    return int(m.group(1))


def probes(srv, after=0.0):
    """Health probes a fault server received: ". NS" queries."""
    return [x for x in srv.queries(".") if x.qtype == "NS" and x.time > after]


def client_queries(srv, tok):
    """The queries of one test (its names carry its token)."""
    return [x for x in srv.queries_under("fault.test") if tok in x.name]


def log_has(gate, *words):
    def found():
        for obj in gate.log_lines():
            msg = obj.get("msg", "")
            if all(w in msg for w in words):
                return msg
        return None
    return sysutil.wait_for(found, 3)


def mark_down_by_timeouts(gate, flaky, good, tok):
    """Three queries whose first attempt times out on ``flaky``."""
    for i in range(3):
        name = name_of(tok, "down%d" % i)
        _, r = ask(gate, name)
        assert sysutil.answer_addresses(r) == [GOOD_B]
        assert [len(flaky.queries(name)), len(good.queries(name))] == [1, 1]


def test_timeouts_mark_down_and_probes_bring_it_back(dnsgate_conf, sockdir,
                                                     fault_server):
    flaky = fault_server("timeout")
    good = fault_server("ok", address=GOOD_B)
    gate = start(dnsgate_conf, sockdir, [flaky, good], timeout="200ms",
                 health_check="300ms")
    tok = sysutil.token()
    assert upstream_states(gate) == {flaky.addr: "up", good.addr: "up"}
    assert metric_up(gate, flaky.addr) == 1

    mark_down_by_timeouts(gate, flaky, good, tok)
    assert upstream_states(gate) == {flaky.addr: "down", good.addr: "up"}
    assert metric_up(gate, flaky.addr) == 0
    assert metric_up(gate, good.addr) == 1
    assert log_has(gate, flaky.addr, "down"), gate.stderr_text()[-2000:]

    # Skipped while down: queries go straight to the good server, in one
    # attempt.
    for i in range(5):
        name = name_of(tok, "skip%d" % i)
        q, r = ask(gate, name)
        assert sysutil.answer_addresses(r) == [GOOD_B]
        assert [len(flaky.queries(name)), len(good.queries(name))] == [0, 1]
        line = gate.wait_decision(name, q.id)
        assert line["attempts"] == 1
        assert line["upstream"] == good.addr

    # It is probed meanwhile (". NS"), and the probes are all it gets.
    assert sysutil.wait_for(lambda: len(probes(flaky)) >= 2, 5), \
        "fewer than 2 probes within 5 s at health-check = 300ms"
    assert len(client_queries(flaky, tok)) == 3
    # dnsgate.conf(5): ". NS", class IN, with EDNS.
    assert all(p.edns == 0 for p in probes(flaky))
    assert not probes(good), "an up server is not probed"
    assert upstream_states(gate)[flaky.addr] == "down"

    # It recovers: the next probe is answered and it is up again.
    flaky.mode = None
    assert sysutil.wait_for(
        lambda: upstream_states(gate)[flaky.addr] == "up", 5), \
        "still down 5 s after the server started answering probes"
    assert metric_up(gate, flaky.addr) == 1
    assert log_has(gate, flaky.addr, "up again"), gate.stderr_text()[-2000:]

    # Preferred again (ordered): the next query goes to it first.
    name = name_of(tok, "back")
    _, r = ask(gate, name)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert [len(flaky.queries(name)), len(good.queries(name))] == [1, 0]


def queries_total(gate, server):
    samples = sysutil.scrape_metrics(gate.options["metrics-listen"])
    return sysutil.metric(samples, "dnsgate_upstream_queries_total",
                          upstream="up", server=server)


def reload(gate):
    rc, out, err = ctl("-s", gate.options["control-socket"], "reload")
    assert rc == 0, out + err


def test_reload_keeps_server_state(dnsgate_conf, sockdir, fault_server):
    """dnsgate.conf(5): a reload keeps the state and counters of every
    server still configured in its group: a server known to be down stays
    down, so the next query does not wait out its timeout."""
    flaky = fault_server("timeout")
    good = fault_server("ok", address=GOOD_B)
    # A probe interval longer than the test: only a query could bring
    # flaky back, and none may reach it.
    gate = start(dnsgate_conf, sockdir, [flaky, good], timeout="300ms",
                 health_check="1h")
    tok = sysutil.token()
    mark_down_by_timeouts(gate, flaky, good, tok)
    assert upstream_states(gate)[flaky.addr] == "down"
    sent = queries_total(gate, good.addr)
    assert sent >= 3

    reload(gate)
    assert upstream_states(gate) == {flaky.addr: "down", good.addr: "up"}
    assert metric_up(gate, flaky.addr) == 0
    assert queries_total(gate, good.addr) == sent, "counters were reset"
    name = name_of(tok, "after-reload")
    q, r = ask(gate, name)
    assert sysutil.answer_addresses(r) == [GOOD_B]
    assert [len(flaky.queries(name)), len(good.queries(name))] == [0, 1]
    line = gate.wait_decision(name, q.id)
    assert line["attempts"] == 1 and line["upstream"] == good.addr


def test_reload_matches_servers_by_address(dnsgate_conf, sockdir,
                                           fault_server):
    """A changed group keeps the records of the servers it still lists
    (matched by address and port); a new server starts up."""
    flaky = fault_server("timeout")
    good = fault_server("ok", address=GOOD_B)
    extra = fault_server("ok")
    gate = start(dnsgate_conf, sockdir, [flaky, good], timeout="300ms",
                 health_check="1h")
    tok = sysutil.token()
    mark_down_by_timeouts(gate, flaky, good, tok)

    # The servers in another order, one more, another timeout.
    with open(gate.config_path) as f:
        text = f.read()
    old = "server = %s\nserver = %s\n" % (flaky.addr, good.addr)
    assert old in text
    text = text.replace(old, "server = %s\nserver = %s\nserver = %s\n"
                        % (extra.addr, flaky.addr, good.addr))
    text = text.replace("timeout = 300ms", "timeout = 400ms")
    with open(gate.config_path, "w") as f:
        f.write(text)
    reload(gate)
    assert upstream_states(gate) == {extra.addr: "up", flaky.addr: "down",
                                     good.addr: "up"}

    # Removed, then listed again: a server that left the group starts
    # afresh when it comes back.
    with open(gate.config_path, "w") as f:
        f.write(text.replace("server = %s\n" % flaky.addr, ""))
    reload(gate)
    assert flaky.addr not in upstream_states(gate)
    with open(gate.config_path, "w") as f:
        f.write(text)
    reload(gate)
    assert upstream_states(gate)[flaky.addr] == "up"


def test_servfails_mark_down(dnsgate_conf, sockdir, fault_server):
    flaky = fault_server("servfail")
    good = fault_server("ok", address=GOOD_B)
    gate = start(dnsgate_conf, sockdir, [flaky, good], health_check="300ms")
    tok = sysutil.token()
    for i in range(3):
        name = name_of(tok, "sf%d" % i)
        _, r = ask(gate, name)
        assert sysutil.answer_addresses(r) == [GOOD_B]
    # Probes must not bring it back before the checks below.
    flaky.mode = "timeout"
    assert upstream_states(gate)[flaky.addr] == "down"
    assert metric_up(gate, flaky.addr) == 0
    name = name_of(tok, "after")
    _, r = ask(gate, name)
    assert sysutil.answer_addresses(r) == [GOOD_B]
    assert [len(flaky.queries(name)), len(good.queries(name))] == [0, 1]
    flaky.mode = None
    assert sysutil.wait_for(
        lambda: upstream_states(gate)[flaky.addr] == "up", 5)


def upstream_fields(gate):
    """{server ip:port: {field: value}} from `dnsgate ctl upstreams`:
    the state under "state", then the key=value words."""
    rc, text, err = ctl("-s", gate.options["control-socket"], "upstreams")
    assert rc == 0, err
    out = {}
    for line in text.splitlines():
        words = line.split()
        fields = {"state": words[2]}
        fields.update(w.split("=", 1) for w in words[3:])
        out[words[1]] = fields
    return out


def rfc3339(text):
    """Seconds since the epoch of "2026-11-26T10:15:03.120Z"."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), text
    return datetime.datetime.strptime(
        text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()


def seconds(text):
    """Seconds of "1h2m3s"."""
    assert re.fullmatch(r"(\d+d)?(\d+h)?(\d+m)?(\d+s)?", text) and text, text
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])",
                                                      text))


def test_ctl_upstreams_says_why_and_since_when(dnsgate_conf, sockdir,
                                               fault_server):
    """dnsgate(8), ctl upstreams: the failed attempts since the last
    answer by kind (REFUSED included, though it never takes a server
    down), the last failure's kind, and the time of the last change
    between up and down. Times are checked for order only."""
    flaky = fault_server("refused")
    good = fault_server("ok", address=GOOD_B)
    started = time.time()
    gate = start(dnsgate_conf, sockdir, [flaky, good], timeout="200ms",
                 retry_on="servfail, timeout, refused", health_check="300ms")
    tok = sysutil.token()
    f = upstream_fields(gate)[flaky.addr]
    assert (f["state"], f["failures"], f["last-failure"]) == \
        ("up", "none", "none")
    # Up since its record was made, at start-up.
    up_since = rfc3339(f["since"])
    assert started - 0.001 <= up_since <= time.time() + 0.001
    assert seconds(f["for"]) <= time.time() - started + 1
    assert f["srtt"].endswith("ms") and f["queries"] == "0"

    before = time.time()
    # One REFUSED, one SERVFAIL, two timeouts: only the last three count
    # toward down; each query is answered by the good server.
    for i, mode in enumerate(["refused", "servfail", "timeout", "timeout"]):
        flaky.mode = mode
        _, r = ask(gate, name_of(tok, "why%d" % i))
        assert sysutil.answer_addresses(r) == [GOOD_B]
    # It stays in "timeout": the probes cannot bring it back yet.
    after = time.time()
    f = upstream_fields(gate)[flaky.addr]
    assert f["state"] == "down"
    assert f["fails"] == "3"
    assert f["failures"] == "timeout:2,servfail:1,refused:1"
    assert f["last-failure"] == "timeout"
    down_since = rfc3339(f["since"])
    assert before - 0.001 <= down_since <= after + 0.001
    assert f["queries"] == "4" and f["timeouts"] == "2"
    g = upstream_fields(gate)[good.addr]
    assert (g["state"], g["failures"]) == ("up", "none")
    assert rfc3339(g["since"]) <= before + 0.001  # up since start-up

    # A probe answered: up again, the streak over, the last kind kept.
    flaky.mode = None
    assert sysutil.wait_for(
        lambda: upstream_states(gate)[flaky.addr] == "up", 5), \
        "still down 5 s after the server started answering probes"
    f = upstream_fields(gate)[flaky.addr]
    assert (f["failures"], f["last-failure"]) == ("none", "timeout")
    assert rfc3339(f["since"]) >= down_since


def test_two_failures_then_an_answer_do_not_mark_down(dnsgate_conf, sockdir,
                                                      fault_server):
    """'3 consecutive': an answer in between resets the count."""
    flaky = fault_server("timeout")
    good = fault_server("ok", address=GOOD_B)
    gate = start(dnsgate_conf, sockdir, [flaky, good], timeout="200ms")
    tok = sysutil.token()
    for i in range(2):
        ask(gate, name_of(tok, "f%d" % i))
    flaky.mode = None
    _, r = ask(gate, name_of(tok, "ok"))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    flaky.mode = "timeout"
    for i in range(2):
        ask(gate, name_of(tok, "g%d" % i))
    assert upstream_states(gate)[flaky.addr] == "up"
    name = name_of(tok, "still")
    ask(gate, name)
    assert len(flaky.queries(name)) == 1, "skipped though never down"


def test_only_server_down_is_still_asked(dnsgate_conf, sockdir,
                                         fault_server):
    """Every server down: the group uses them anyway (dnsgate.conf(5),
    "Upstream semantics"), and an answer to such a query brings the
    server back."""
    only = fault_server("timeout")
    gate = start(dnsgate_conf, sockdir, [only], timeout="200ms",
                 attempts="1", health_check="1h")
    tok = sysutil.token()
    for i in range(3):
        _, r = ask(gate, name_of(tok, "f%d" % i))
        assert r.rcode() == dns.rcode.SERVFAIL
        assert sysutil.ede_codes(r) == [23]
    assert upstream_states(gate) == {only.addr: "down"}
    only.mode = None
    name = name_of(tok, "asked")
    _, r = ask(gate, name)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert len(only.queries(name)) == 1
    # Up again (dnsgate.conf(5): by the answer; a probe sent right when
    # it went down may have been answered too, so which one did it is not
    # asserted).
    assert upstream_states(gate) == {only.addr: "up"}


def test_fastest_prefers_the_faster_server(dnsgate_conf, sockdir,
                                           fault_server):
    slow = fault_server("slow-300")
    fast = fault_server("ok", address=GOOD_B)
    gate = start(dnsgate_conf, sockdir, [slow, fast], selection="fastest",
                 timeout="2s")
    tok = sysutil.token()
    names = [name_of(tok, "q%d" % i) for i in range(10)]
    for name in names:
        _, r = ask(gate, name)
        assert r.rcode() == dns.rcode.NOERROR
    to_slow = [n for n in names if slow.queries(n)]
    to_fast = [n for n in names if fast.queries(n)]
    assert len(to_slow) + len(to_fast) == 10, "no retries expected"
    # Each server is measured once at most early on; then the fast one
    # gets everything.
    assert len(to_slow) <= 2, to_slow
    assert all(fast.queries(n) for n in names[-5:])


def test_fastest_moves_away_from_a_server_that_slows_down(
        dnsgate_conf, sockdir, fault_server):
    a = fault_server("ok")
    b = fault_server("ok", address=GOOD_B)
    gate = start(dnsgate_conf, sockdir, [a, b], selection="fastest",
                 timeout="2s")
    tok = sysutil.token()
    # Both measured, both fast.
    for i in range(4):
        ask(gate, name_of(tok, "warm%d" % i))
    # a becomes slow: one slow answer puts its smoothed RTT (7/8 old +
    # 1/8 new) far above b's (~150 ms against well under 1 ms, a margin a
    # loaded machine's jitter does not cross), so b gets the queries. (a
    # may be tried again now and then, when b's own RTT drifts above a's
    # stale figure: that is how a server that recovers gets measured.)
    a.mode = "slow-1200"
    names = [name_of(tok, "q%d" % i) for i in range(12)]
    for name in names:
        ask(gate, name)
    assert all(len(a.queries(n)) + len(b.queries(n)) == 1 for n in names)
    order = ["a" if a.queries(n) else "b" for n in names]
    assert order.count("a") <= 2, order


def test_probe_answered_with_servfail_keeps_server_down(
        dnsgate_conf, sockdir, fault_server):
    """dnsgate.conf(5): up again when a probe gets a reply with any RCODE
    other than SERVFAIL (a SERVFAIL is what takes a server down)."""
    flaky = fault_server("timeout")
    good = fault_server("ok", address=GOOD_B)
    gate = start(dnsgate_conf, sockdir, [flaky, good], timeout="200ms",
                 health_check="300ms")
    tok = sysutil.token()
    mark_down_by_timeouts(gate, flaky, good, tok)
    assert upstream_states(gate)[flaky.addr] == "down"
    flaky.mode = "servfail"  # answers every probe, with SERVFAIL
    switched = max([x.time for x in flaky.queries()] + [0.0])
    # Two probes answered with SERVFAIL: the second was sent after the
    # first answer was handled.
    assert sysutil.wait_for(lambda: len(probes(flaky, after=switched)) >= 2,
                            5), "fewer than 2 probes within 5 s"
    assert upstream_states(gate)[flaky.addr] == "down"
    name = name_of(tok, "still-skipped")
    _, r = ask(gate, name)
    assert [len(flaky.queries(name)), len(good.queries(name))] == [0, 1]
    # A REFUSED probe answer is an answer: up again.
    flaky.mode = "refused"
    assert sysutil.wait_for(
        lambda: upstream_states(gate)[flaky.addr] == "up", 5), \
        "probes answered REFUSED but the server stays down"


def internal_stat(gate, key):
    rc, text, err = ctl("-s", gate.options["control-socket"], "stats")
    assert rc == 0, err
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == key:
            return int(words[1])
    raise AssertionError("no %s in ctl stats" % key)


def test_queries_in_flight_are_capped(dnsgate_conf, sockdir, fault_server):
    """[server] max-queries-in-flight: a flood toward an upstream that never
    answers holds at most that many queries (and their sockets and
    memory); the rest are dropped and counted, and dnsgate answers again
    once the waiting ones time out."""
    dead = fault_server("timeout")
    gate = dnsgate_conf(group_body([dead], timeout="500ms", attempts=1),
                        server={"metrics-listen":
                                lambda: "127.0.0.1:%d" % sysutil.free_port(),
                                "control-socket": sockdir + "/ctl.sock",
                                "max-queries-in-flight": "16"})
    tok = sysutil.token()
    wires = [make_query(name_of(tok, "q%d" % i), "A").to_wire()
             for i in range(40)]
    sysutil.udp_flood(gate.host, gate.port, wires, quiet=0.2, limit=3)
    assert internal_stat(gate, "inflight_full") >= 40 - 16
    assert len(client_queries(dead, tok)) <= 16
    # The waiting ones have timed out: room again, and a local answer
    # (REFUSED: no view for ...) shows the worker is fine.
    dead.mode = None

    def answered():
        q = make_query(name_of(tok, "after"), "A", edns=0)
        try:
            r, _ = gate.udp(q, timeout=0.5)
        except AssertionError:
            return None  # still full: dropped
        return r
    r = sysutil.wait_for(answered, 5)
    assert r is not None, "no room again after the timeouts"
    assert r.rcode() == dns.rcode.NOERROR
