# SPDX-License-Identifier: BSD-2-Clause
"""dnsgate as a DNS cookie client toward its upstreams ([upstream]
cookies = yes, the default; RFC 7873 5.1, RFC 9018 3): one random client
cookie per server, never the client's; a server that answers without a
cookie is not sent one again for a while."""

import dns.edns

import faultserver
import sysutil
from sysutil import COOKIE_OPTION, fault_name, make_query


def cookies_of(query):
    return [data for code, data in query.options if code == COOKIE_OPTION]


def test_client_cookie_sent_then_backoff(dnsgate, fault_server):
    up = fault_server("ok")
    gate = dnsgate([up.addr])
    first = fault_name("ok", sysutil.token())
    r, _ = gate.udp(make_query(first, "A", edns=0))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    sent = cookies_of(up.queries(first)[0])
    assert len(sent) == 1 and len(sent[0]) == 8
    # The fault server does not do cookies (no COOKIE in its answer):
    # RFC 9018 3, don't send it the same client cookie again.
    second = fault_name("ok", sysutil.token())
    gate.udp(make_query(second, "A", edns=0))
    assert cookies_of(up.queries(second)[0]) == []


def test_one_cookie_per_server_never_the_clients(dnsgate, fault_server):
    a = fault_server("ok")
    b = fault_server("ok")
    gate = dnsgate([a.addr, b.addr], upstream={"selection": "round-robin"})
    client = b"\x11" * 8
    names = [fault_name("ok", sysutil.token()) for _ in range(2)]
    for n in names:
        q = make_query(n, "A", edns=0, options=[
            dns.edns.GenericOption(COOKIE_OPTION, client)])
        gate.udp(q)
    seen = [q for s in (a, b) for n in names for q in s.queries(n)]
    cookies = [c for q in seen for c in cookies_of(q)]
    assert len(cookies) == 2
    assert client not in cookies
    assert cookies[0] != cookies[1]


def test_cookies_off(dnsgate, fault_server):
    up = fault_server("ok")
    gate = dnsgate([up.addr], upstream={"cookies": "no"})
    name = fault_name("ok", sysutil.token())
    gate.udp(make_query(name, "A", edns=0))
    assert cookies_of(up.queries(name)[0]) == []


def test_learns_and_returns_the_server_cookie(dnsgate_conf):
    # A cookie-speaking upstream: another dnsgate with [cookies] on,
    # whose server side is proven against RFC 9018's vectors.
    import urllib.request
    mport = sysutil.free_port()
    inner = dnsgate_conf("""
[cookies]
enabled = yes

[view v]
upstream = none
local-data = a.cookie.test. A 192.0.2.1
local-data = b.cookie.test. A 192.0.2.2
""", server={"metrics-listen": "127.0.0.1:%d" % mport})
    front = dnsgate_conf("""
[upstream up]
server = %s:%d

[view all]
upstream = up
""" % (inner.host, inner.port))
    for name in ("a.cookie.test.", "b.cookie.test."):
        r, _ = front.udp(make_query(name, "A", edns=0))
        assert r.rcode() == 0
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                  timeout=3).read().decode()
    counts = {line.split('"')[1]: int(line.split()[-1])
              for line in text.splitlines()
              if line.startswith("dnsgate_cookies_total{")}
    # First query: our client cookie alone; second: with the server
    # cookie the inner gate gave us, which it finds valid.
    assert counts["client-only"] == 1
    assert counts["valid"] == 1
