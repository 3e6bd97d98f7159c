# SPDX-License-Identifier: BSD-2-Clause
"""Retries across the servers of an upstream group (dnsgate.conf(5),
"Upstream semantics"): what is retried, how many attempts, which EDE when
everything failed, and how servers are chosen."""

import socket
import time

import dns.edns
import dns.message
import dns.rcode
import pytest

import faultserver
import sysutil
from sysutil import make_query

NAME_OK = "ok.%s.fault.test."


def ask(gate, name, timeout=5.0, edns=0):
    q = make_query(name, "A", edns=edns)
    r, _ = gate.udp(q, timeout=timeout)
    assert r.id == q.id and r.question == q.question
    return r


def counts(servers, name):
    return [len(s.queries(name)) for s in servers]


def test_servfail_then_next_server(dnsgate, fault_server):
    servers = [fault_server("servfail"), fault_server("ok")]
    gate = dnsgate([s.addr for s in servers])
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert counts(servers, name) == [1, 1]


def test_timeout_then_next_server(dnsgate, fault_server):
    servers = [fault_server("timeout"), fault_server("ok")]
    gate = dnsgate([s.addr for s in servers], upstream={"timeout": "300ms"})
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert counts(servers, name) == [1, 1]


def test_late_answer_after_timeout_is_ignored(dnsgate, fault_server):
    servers = [fault_server("slow-900"),
               fault_server("ok", address="192.0.2.2")]
    gate = dnsgate([s.addr for s in servers], upstream={"timeout": "300ms"})
    name = NAME_OK % sysutil.token()
    q = make_query(name, "A", edns=0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.connect((gate.host, gate.port))
        s.send(q.to_wire())
        r = dns.message.from_wire(s.recv(65535))
        assert r.id == q.id
        assert sysutil.answer_addresses(r) == ["192.0.2.2"]
        # The first server's late answer (at 900 ms) must not become a
        # second response to the client.
        s.settimeout(1.5)
        try:
            extra = s.recv(65535)
        except socket.timeout:
            extra = None
        assert extra is None, "a second response was relayed: %r" % extra
    finally:
        s.close()
    assert counts(servers, name) == [1, 1]


def test_refused_passed_through_by_default(dnsgate, fault_server):
    servers = [fault_server("refused"), fault_server("ok")]
    gate = dnsgate([s.addr for s in servers])
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.REFUSED
    assert counts(servers, name) == [1, 0]


def test_refused_retried_when_in_retry_on(dnsgate, fault_server):
    servers = [fault_server("refused"), fault_server("ok")]
    gate = dnsgate([s.addr for s in servers],
                   upstream={"retry-on": "servfail, timeout, refused"})
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert counts(servers, name) == [1, 1]


def test_servfail_not_retried_when_not_in_retry_on(dnsgate, fault_server):
    servers = [fault_server("servfail"), fault_server("ok")]
    gate = dnsgate([s.addr for s in servers],
                   upstream={"retry-on": "timeout"})
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert counts(servers, name) == [1, 0]


def test_attempts_limit_total_queries(dnsgate, fault_server):
    servers = [fault_server("servfail") for _ in range(3)]
    gate = dnsgate([s.addr for s in servers], upstream={"attempts": "2"})
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sum(counts(servers, name)) == 2
    assert counts(servers, name) == [1, 1, 0]  # ordered: first two


def test_all_servfail_gives_servfail_ede_22(dnsgate, fault_server):
    servers = [fault_server("servfail") for _ in range(3)]
    gate = dnsgate([s.addr for s in servers])
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [22]
    assert counts(servers, name) == [1, 1, 1]  # default attempts = 3


def test_all_timeout_gives_servfail_ede_23(dnsgate, fault_server):
    servers = [fault_server("timeout") for _ in range(3)]
    gate = dnsgate([s.addr for s in servers], upstream={"timeout": "300ms"})
    name = NAME_OK % sysutil.token()
    r = ask(gate, name, timeout=8)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [23]
    assert counts(servers, name) == [1, 1, 1]


@pytest.mark.parametrize("modes,ede", [(("timeout", "servfail"), 22),
                                       (("servfail", "timeout"), 23)])
def test_ede_follows_the_last_failure(dnsgate, fault_server, modes, ede):
    servers = [fault_server(m) for m in modes]
    gate = dnsgate([s.addr for s in servers],
                   upstream={"attempts": "2", "timeout": "300ms"})
    name = NAME_OK % sysutil.token()
    r = ask(gate, name, timeout=8)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [ede]


def test_failure_without_edns_has_no_opt(dnsgate, fault_server):
    """A client that sent no OPT cannot receive EDE (RFC 6891 §7)."""
    servers = [fault_server("servfail")]
    gate = dnsgate([s.addr for s in servers], upstream={"attempts": "1"})
    r = ask(gate, NAME_OK % sysutil.token(), edns=None)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert r.edns == -1


def test_ordered_prefers_first(dnsgate, fault_server):
    servers = [fault_server("ok") for _ in range(3)]
    gate = dnsgate([s.addr for s in servers],
                   upstream={"selection": "ordered"})
    tok = sysutil.token()
    for i in range(6):
        r = ask(gate, "ok.%s-%d.fault.test." % (tok, i))
        assert r.rcode() == dns.rcode.NOERROR
    per_server = [sum(len(s.queries_under("%s-%d.fault.test" % (tok, i)))
                      for i in range(6)) for s in servers]
    assert per_server == [6, 0, 0]


def test_round_robin_spreads(dnsgate, fault_server):
    servers = [fault_server("ok") for _ in range(3)]
    gate = dnsgate([s.addr for s in servers],
                   upstream={"selection": "round-robin"})
    tok = sysutil.token()
    for i in range(9):
        r = ask(gate, "ok.%s-%d.fault.test." % (tok, i))
        assert r.rcode() == dns.rcode.NOERROR
    per_server = [sum(len(s.queries_under("%s-%d.fault.test" % (tok, i)))
                      for i in range(9)) for s in servers]
    assert sum(per_server) == 9  # no retries: every server answers
    assert all(n >= 1 for n in per_server), per_server


def test_down_server_is_skipped(dnsgate, fault_server):
    """Three consecutive timeouts mark a server down; the next query goes
    straight to the next server (a down server is skipped while another
    is up: dnsgate.conf(5), "Upstream semantics")."""
    servers = [fault_server("timeout"), fault_server("ok")]
    gate = dnsgate([s.addr for s in servers], upstream={"timeout": "300ms"})
    tok = sysutil.token()
    for i in range(3):
        r = ask(gate, "ok.%s-%d.fault.test." % (tok, i))
        assert r.rcode() == dns.rcode.NOERROR
        assert counts(servers, "ok.%s-%d.fault.test." % (tok, i)) == [1, 1]
    name = "ok.%s-3.fault.test." % tok
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q, timeout=5)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert counts(servers, name) == [0, 1]
    assert gate.wait_decision(name, q.id)["attempts"] == 1



def test_timeout_not_retried_when_not_in_retry_on(dnsgate, fault_server):
    servers = [fault_server("timeout"), fault_server("ok")]
    gate = dnsgate([s.addr for s in servers],
                   upstream={"retry-on": "servfail", "timeout": "300ms"})
    name = NAME_OK % sysutil.token()
    r = ask(gate, name)
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [23]
    assert counts(servers, name) == [1, 0]


def mark_down(gate, tok):
    """Three queries whose first attempt times out on the first server,
    answered by the second: three consecutive timeouts, so it is down."""
    for i in range(3):
        r = ask(gate, "ok.%s-down%d.fault.test." % (tok, i))
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]


def test_down_server_up_again_after_probe(dnsgate, fault_server):
    flaky, good = fault_server("timeout"), fault_server("ok")
    gate = dnsgate([flaky.addr, good.addr],
                   upstream={"timeout": "300ms", "health-check": "1s"})
    tok = sysutil.token()
    mark_down(gate, tok)
    flaky.mode = None  # from now on it answers (names say "ok")
    switched = time.monotonic()
    # A probe (any query that is not one of ours) reaches it and is answered.
    probe = sysutil.wait_for(
        lambda: [x for x in flaky.queries()
                 if x.time > switched and tok not in (x.name or "")], 8)
    assert probe, "no health probe reached the server within 8 s"
    # Then it is preferred again (ordered): queries reach it.
    back = None
    deadline = time.monotonic() + 3
    i = 0
    while back is None and time.monotonic() < deadline:
        name = "ok.%s-up%d.fault.test." % (tok, i)
        r = ask(gate, name)
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
        if flaky.queries(name):
            back = name
        i += 1
        time.sleep(0.1)
    assert back, "the server answered a probe but is still skipped"


def test_every_server_down_is_still_tried(dnsgate, fault_server):
    only = fault_server("timeout")
    gate = dnsgate([only.addr], upstream={"timeout": "300ms",
                                          "attempts": "1"})
    tok = sysutil.token()
    for i in range(3):
        r = ask(gate, "ok.%s-%d.fault.test." % (tok, i))
        assert r.rcode() == dns.rcode.SERVFAIL
    only.mode = None
    name = "ok.%s-last.fault.test." % tok
    r = ask(gate, name)
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert len(only.queries(name)) == 1


def ede_options(msg):
    return [o for o in msg.options if int(o.otype) == dns.edns.EDE]


def test_ede_text_carries_a_reason_by_default(dnsgate, fault_server):
    gate = dnsgate([fault_server("servfail").addr],
                   upstream={"attempts": "1"})
    r = ask(gate, NAME_OK % sysutil.token())
    ede = ede_options(r)
    assert [int(o.code) for o in ede] == [22]
    assert ede[0].text, "ede-text = yes (default) but no EXTRA-TEXT"


def test_ede_text_no_sends_codes_only(dnsgate, fault_server):
    gate = dnsgate([fault_server("servfail").addr],
                   upstream={"attempts": "1"}, server={"ede-text": "no"})
    r = ask(gate, NAME_OK % sysutil.token())
    ede = ede_options(r)
    assert [int(o.code) for o in ede] == [22]
    assert not ede[0].text
