# SPDX-License-Identifier: BSD-2-Clause
"""forward-zone (dnsgate.conf(5), [view NAME]): names under a suffix go to
another upstream group, the longest suffix winning, the view's upstream
taking the rest. Three real NSD upstreams serve different zones, so where
a name went shows in its answer:

    inet  example.net, xcorp.example     the view's upstream
    dc    corp.example, 10.in-addr.arpa  forward-zone corp.example dc,
                                         forward-zone 10.in-addr.arpa dc
    lab   sub.corp.example               forward-zone sub.corp.example lab

A server that does not serve a zone answers REFUSED, so a name sent to
the wrong group cannot pass for a right one. Also: the decision log's
rule, `dnsgate explain`, the forward-zone group failing and coming back
on its own (EDE 23, `ctl upstreams`, health probes), the cache across
reloads, prefetch and serve-stale through the same group (fault servers,
which count the queries they get), and rebind protection with a
transparent local zone at the suffix.
"""

import os
import subprocess
import time

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import conftest
import sysutil
from conftest import Nsd, ctl
from sysutil import make_query

INET_ZONES = {
    "example.net": ["www IN A 198.51.100.1"],
    "xcorp.example": ["www IN A 198.51.100.2"],
}
DC_ZONES = {
    "corp.example": ["www IN A 10.1.0.10", "dc IN TXT \"dc\""],
    "10.in-addr.arpa": ["5.0.0 IN PTR host.corp.example."],
}
LAB_ZONES = {
    "sub.corp.example": ["www IN A 10.2.0.20"],
}


class ZoneNsd(Nsd):
    """NSD serving the zones given ({apex: [records]}), not example.test;
    restartable on the same port."""

    def __init__(self, workdir, zones):
        super().__init__(workdir)
        self.zones = zones

    def _config(self):
        base = super()._config()
        head = base[:base.index("zone:")]
        parts = [head]
        for apex in self.zones:
            parts.append('zone:\n    name: "%s"\n    zonefile: "%s.zone"\n'
                         % (apex, apex))
        return "".join(parts)

    def _write_zones(self):
        for apex, records in self.zones.items():
            lines = ["$ORIGIN %s." % apex, "$TTL 300",
                     "@ IN SOA ns.%s. hostmaster.%s. 1 3600 900 604800 60"
                     % (apex, apex),
                     "@ IN NS ns.%s." % apex]
            (self.workdir / ("%s.zone" % apex)).write_text(
                "\n".join(lines + records) + "\n")

    def start(self, port=None):
        self._write_zones()
        for _ in range(5):
            self.port = port or sysutil.free_port()
            (self.workdir / "nsd.conf").write_text(self._config())
            out = open(self.workdir / "nsd.stderr", "wb")
            self.proc = conftest._spawn(
                [conftest.NSD_BIN, "-d", "-c",
                 str(self.workdir / "nsd.conf")],
                stdout=out, stderr=subprocess.STDOUT)
            if self._wait_ready(15):
                return self
            self.stop()
        raise RuntimeError("nsd did not start:\n%s\n%s" % (
            self._read("nsd.stderr"), self._read("nsd.log")))

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        q = make_query(next(iter(self.zones)) + ".", "SOA")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r, _ = sysutil.udp_query(self.host, self.port, q, 0.3)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    return True
            except Exception:
                time.sleep(0.1)
        return False


def _nsd(factory, name, zones):
    if not os.access(conftest.NSD_BIN, os.X_OK):
        pytest.skip("nsd is not installed (%s)" % conftest.NSD_BIN)
    return ZoneNsd(factory.mktemp(name), zones).start()


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory):
    made = {}
    try:
        for name, zones in (("inet", INET_ZONES), ("dc", DC_ZONES),
                            ("lab", LAB_ZONES)):
            made[name] = _nsd(tmp_path_factory, name, zones)
        yield made
    finally:
        for srv in made.values():
            srv.stop()


def body(inet, dc, lab, view_extra="", cache="size = 0", dc_extra=""):
    return "\n".join([
        "[upstream inet]", "server = %s" % inet, "timeout = 1s", "",
        "[upstream dc]", "server = %s" % dc, "timeout = 300ms",
        "health-check = 200ms", dc_extra, "",
        "[upstream lab]", "server = %s" % lab, "timeout = 1s", "",
        "[cache]", cache, "",
        "[view main]",
        "upstream = inet",
        "forward-zone = corp.example dc",
        "forward-zone = sub.corp.example lab",
        "forward-zone = 10.in-addr.arpa dc",
        view_extra, ""])


def start(dnsgate_conf, sockdir, text):
    return dnsgate_conf(
        text,
        server={"metrics-listen":
                lambda: "127.0.0.1:%d" % sysutil.free_port(),
                "control-socket": sockdir + "/ctl.sock"})


def ask(gate, name, rdtype="A", timeout=5.0):
    q = make_query(name, rdtype, edns=0)
    r, _ = gate.udp(q, timeout=timeout)
    assert r.id == q.id
    return q, r


def rdata(r, rdtype):
    return sorted(rd.to_text() for rrset in r.answer
                  if rrset.rdtype == rdtype for rd in rrset)


def upstream_state(gate, group, server):
    """"up" or "down" for one server, from `dnsgate ctl upstreams`."""
    rc, text, err = ctl("-s", gate.options["control-socket"], "upstreams")
    assert rc == 0, err
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and words[:2] == [group, server]:
            return words[2].split("=")[-1]
    raise AssertionError("no %s %s line in:\n%s" % (group, server, text))


def test_names_go_to_their_forward_zone(dnsgate_conf, sockdir, upstreams):
    inet, dc, lab = (upstreams[n].addr for n in ("inet", "dc", "lab"))
    gate = start(dnsgate_conf, sockdir, body(inet, dc, lab))
    cases = [
        # name, type, answer, rule, server
        ("www.corp.example.", "A", ["10.1.0.10"],
         "forward-zone:corp.example", dc),
        ("dc.CORP.Example.", "TXT", ['"dc"'], "forward-zone:corp.example",
         dc),
        # the longest suffix wins, whatever the case
        ("WWW.Sub.Corp.Example.", "A", ["10.2.0.20"],
         "forward-zone:sub.corp.example", lab),
        # reverse zones are suffixes like any other
        ("5.0.0.10.in-addr.arpa.", "PTR", ["host.corp.example."],
         "forward-zone:10.in-addr.arpa", dc),
        # label boundaries: xcorp.example is not under corp.example
        ("www.xcorp.example.", "A", ["198.51.100.2"], None, inet),
        ("www.example.net.", "A", ["198.51.100.1"], None, inet),
    ]
    for name, rdtype, want, rule, server in cases:
        q, r = ask(gate, name, rdtype)
        assert r.rcode() == dns.rcode.NOERROR, (name, r)
        assert rdata(r, dns.rdatatype.from_text(rdtype)) == want, name
        d = gate.wait_decision(name, q.id)
        assert d["action"] == "forward"
        assert d.get("rule") == rule, d
        assert d["upstream"] == server, d
    # Every group counts its own queries, whoever routed them there.
    m = sysutil.scrape_metrics(gate.options["metrics-listen"])
    for group, server, n in (("dc", dc, 3), ("lab", lab, 1),
                             ("inet", inet, 2)):
        assert sysutil.metric(m, "dnsgate_upstream_queries_total",
                              upstream=group, server=server) == n, group


def test_explain_names_the_forward_zone(tmp_path, upstreams):
    inet, dc, lab = (upstreams[n].addr for n in ("inet", "dc", "lab"))
    text = ("[server]\nlisten = 127.0.0.1:5399\n"
            + body(inet, dc, lab))
    path = tmp_path / "dnsgate.conf"
    path.write_text(text)
    line = text.splitlines().index("forward-zone = sub.corp.example lab") + 1

    def explain(name):
        p = subprocess.run([conftest.DNSGATE_BIN, "explain", "-c", str(path),
                            "--client", "127.0.0.1", name],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, p.stderr
        return dict(x.partition(": ")[::2] for x in p.stdout.splitlines())

    f = explain("a.sub.corp.example")
    assert f["forward"] == (
        "forward-zone sub.corp.example (line %d): to [upstream lab]: "
        "1 servers, 3 attempts, timeout 1000ms" % line)
    assert f["rule"] == "forward-zone:sub.corp.example"
    assert f["action"] == "forward"
    f = explain("www.example.net")
    assert f["forward"] == (
        "no forward-zone takes the name: to [upstream inet]: 1 servers, "
        "3 attempts, timeout 1000ms")
    assert "rule" not in f


def test_forward_zone_group_fails_and_recovers_alone(
        dnsgate_conf, sockdir, upstreams, tmp_path_factory):
    """Its own dc: stopped, the names under corp.example fail (SERVFAIL,
    EDE 23 after three failed attempts) while the others are still answered, and
    `ctl upstreams` shows the dc server down; started again on its port,
    the health probes bring it back."""
    dc = _nsd(tmp_path_factory, "dc-down", DC_ZONES)
    try:
        gate = start(dnsgate_conf, sockdir,
                     body(upstreams["inet"].addr, dc.addr,
                          upstreams["lab"].addr))
        _, r = ask(gate, "www.corp.example.")
        assert rdata(r, dns.rdatatype.A) == ["10.1.0.10"]
        port = dc.port
        dc.stop()
        q, r = ask(gate, "www.corp.example.")
        assert r.rcode() == dns.rcode.SERVFAIL
        assert sysutil.ede_codes(r) == [23]
        d = gate.wait_decision("www.corp.example.", q.id)
        assert d["action"] == "servfail"
        assert d["rule"] == "forward-zone:corp.example"
        assert d["attempts"] == 3
        assert upstream_state(gate, "dc", dc.addr) == "down"
        assert upstream_state(gate, "inet", upstreams["inet"].addr) == "up"
        # The other groups answer as before.
        _, r = ask(gate, "www.example.net.")
        assert rdata(r, dns.rdatatype.A) == ["198.51.100.1"]
        _, r = ask(gate, "www.sub.corp.example.")
        assert rdata(r, dns.rdatatype.A) == ["10.2.0.20"]
        m = sysutil.scrape_metrics(gate.options["metrics-listen"])
        assert sysutil.metric(m, "dnsgate_upstream_up", upstream="dc",
                              server=dc.addr) == 0
        # A closed port answers with ICMP (network) or not at all.
        assert sum(sysutil.metric(m, "dnsgate_upstream_errors_total",
                                  upstream="dc", server=dc.addr, kind=k)
                   for k in ("timeout", "network")) == 3
        # Back on the same port: a probe finds it, the names work again.
        dc.start(port=port)
        assert sysutil.wait_for(
            lambda: upstream_state(gate, "dc", dc.addr) == "up", 10), \
            "the health probes did not bring dc back"
        _, r = ask(gate, "www.corp.example.")
        assert rdata(r, dns.rdatatype.A) == ["10.1.0.10"]
    finally:
        dc.stop()


def cache_action(gate, name):
    q, r = ask(gate, name)
    assert rdata(r, dns.rdatatype.A) == ["10.1.0.10"]
    return gate.wait_decision(name, q.id)["action"]


def test_reload_keeps_or_drops_the_cache(dnsgate_conf, sockdir, upstreams):
    """The view's cache holds forward-zone answers; a reload that changes
    nothing keeps it, one that changes the view's forward-zones drops it
    (and one that changes a group the view does not use keeps it)."""
    inet, dc, lab = (upstreams[n].addr for n in ("inet", "dc", "lab"))
    text = body(inet, dc, lab, cache="size = 1MB")
    gate = start(dnsgate_conf, sockdir, text)
    sock = gate.options["control-socket"]
    head = gate.config_path.read_text()
    head = head[:head.index("[upstream inet]")]
    name = "www.corp.example."
    assert cache_action(gate, name) == "forward"
    assert cache_action(gate, name) == "cache"

    def reload(new_body):
        gate.config_path.write_text(head + new_body)
        rc, out, err = ctl("-s", sock, "reload")
        assert rc == 0, out + err

    reload(text)
    assert cache_action(gate, name) == "cache", "an unchanged reload"
    # [lab] gets another timeout: not a group the cached name went to,
    # but one the view forwards to; its servers are the same.
    reload(body(inet, dc, lab, cache="size = 1MB").replace(
        "[upstream lab]\nserver = %s\ntimeout = 1s" % lab,
        "[upstream lab]\nserver = %s\ntimeout = 2s" % lab))
    assert cache_action(gate, name) == "cache"
    # One more forward-zone: another cache.
    reload(body(inet, dc, lab, cache="size = 1MB",
                view_extra="forward-zone = 168.192.in-addr.arpa dc"))
    assert cache_action(gate, name) == "forward", "the cache was kept"
    assert cache_action(gate, name) == "cache"
    m = sysutil.scrape_metrics(gate.options["metrics-listen"])
    assert sysutil.metric(m, "dnsgate_cache_total", view="main",
                          result="hit") == 4


def test_prefetch_refreshes_through_the_forward_zone(dnsgate_conf, sockdir,
                                                     fault_server):
    """prefetch = yes: an entry of a forward-zone name is refreshed by the
    forward-zone's group, not the view's upstream; and when that group
    fails, serve-stale answers from the same cache (EDE 3)."""
    inet = fault_server(address="192.0.2.1")
    dc = fault_server(address="10.9.9.9")
    gate = start(dnsgate_conf, sockdir, "\n".join([
        "[upstream inet]", "server = %s" % inet.addr, "timeout = 300ms", "",
        "[upstream dc]", "server = %s" % dc.addr, "timeout = 300ms", "",
        "[cache]", "size = 1MB", "prefetch = yes", "serve-stale = yes", "",
        "[view main]", "upstream = inet",
        "forward-zone = corp.example dc", ""]))
    tok = sysutil.token()
    name = "ttl-10.p%s.corp.example." % tok
    t0 = time.monotonic()
    _, r = ask(gate, name)
    assert sysutil.answer_addresses(r) == ["10.9.9.9"]
    time.sleep(max(0.0, 9.3 - (time.monotonic() - t0)))
    q, r = ask(gate, name)  # the last second: a hit, refreshed behind
    assert gate.wait_decision(name, q.id)["action"] == "cache"
    assert sysutil.wait_for(lambda: len(dc.queries(name)) == 2, 3), \
        "no refresh reached the forward-zone's group"
    assert inet.queries(name) == []
    # Stale: the group fails once the entry has expired.
    stale = "ttl-1.s%s.corp.example." % tok
    ask(gate, stale)
    dc.mode = "timeout"
    time.sleep(1.2)
    q, r = ask(gate, stale)
    assert sysutil.answer_addresses(r) == ["10.9.9.9"]
    assert sysutil.ede_codes(r) == [3]
    d = gate.wait_decision(stale, q.id)
    assert d["action"] == "stale"
    assert d["rule"] == "forward-zone:corp.example"
    assert inet.queries(stale) == []


def test_rebind_protection_and_a_transparent_zone(dnsgate_conf, sockdir,
                                                  upstreams):
    """rebind-protection filters a forward-zone's answers like any other
    (the DC's 10.1.0.10 removed, EDE 17); a transparent local zone at the
    suffix exempts its names and still lets them through to the
    forward-zone's group."""
    inet, dc, lab = (upstreams[n].addr for n in ("inet", "dc", "lab"))
    text = body(inet, dc, lab).replace("[view main]", "\n".join([
        "[view bare]", "match-client = 127.0.0.2", "upstream = inet",
        "forward-zone = corp.example dc", "rebind-protection = yes", "",
        "[view main]", "rebind-protection = yes",
        "local-zone = corp.example transparent"]))
    gate = start(dnsgate_conf, sockdir, text)
    name = "www.corp.example."
    raw = sysutil.udp_exchange_from("127.0.0.2", gate.host, gate.port,
                                    make_query(name, "A", edns=0).to_wire())
    r = dns.message.from_wire(raw)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == []
    assert sysutil.ede_codes(r) == [17]
    q, r = ask(gate, name)
    assert sysutil.answer_addresses(r) == ["10.1.0.10"]
    assert sysutil.ede_codes(r) == []
    d = gate.wait_decision(name, q.id)
    assert d["view"] == "main"
    assert d["rule"] == "forward-zone:corp.example"
    assert d["upstream"] == dc
