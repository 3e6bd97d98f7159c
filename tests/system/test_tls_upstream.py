# SPDX-License-Identifier: BSD-2-Clause
"""DNS over TLS to upstream servers (dnsgate.conf(5), [upstream NAME],
``server = tls://ADDRESS[:PORT][#NAME]`` and ``tls-ca``): RFC 7858 as a
client, under RFC 8310's strict profile.

The upstream is dotserver.py, a DoT server on Python's ssl, with a CA and a
certificate made here by the openssl command (SANs DNS:dns.test and
IP:127.0.0.1). Clients are dnspython and dig, never dnsgate's own codec.
"""

import socket
import subprocess
import time

import dns.message
import dns.rcode
import pytest

import sysutil
from conftest import DNSGATE_BIN
from dotserver import GOOD_A, DotServer, make_pki
from sysutil import make_query

PADDING = 12  # EDNS option code (RFC 7830)
COOKIE = 10


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """(CA, server certificate, server key), made once per module."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dot_server(pki):
    """Factory: dot_server() -> a started DotServer with the test
    certificate."""
    made = []

    def make(**kw):
        srv = DotServer(pki[1], pki[2], **kw).start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()


def tls(srv, name="dns.test"):
    """The server's tls:// text, with #NAME unless name is None."""
    text = "tls://%s" % srv.addr
    return text if name is None else text + "#" + name


def start(dnsgate, pki, servers, metrics=False, **upstream):
    opts = {"tls-ca": str(pki[0])}
    opts.update({k.replace("_", "-"): v for k, v in upstream.items()})
    opts = {k: v for k, v in opts.items() if v is not None}
    server = None
    if metrics:
        server = {"metrics-listen": "127.0.0.1:%d" % sysutil.free_port()}
    gate = dnsgate(servers, upstream=opts, server=server)
    gate.metrics_addr = server["metrics-listen"] if metrics else None
    return gate


def ask(gate, name, timeout=5.0):
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q, timeout=timeout)
    assert r.id == q.id
    return r


def ask_together(gate, names, timeout=5.0):
    """Send one query per name, each from its own socket, all before any
    answer is read: {name: response}."""
    socks = []
    try:
        for name in names:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(timeout)
            q = make_query(name, "A", edns=0)
            s.sendto(q.to_wire(), (gate.host, gate.port))
            socks.append((name, q, s))
        out = {}
        for name, q, s in socks:
            data, _ = s.recvfrom(65535)
            r = dns.message.from_wire(data)
            assert r.id == q.id
            out[name] = r
        return out
    finally:
        for _, _, s in socks:
            s.close()


def log_lines_with(gate, text):
    return [ln for ln in gate.stderr_text().splitlines() if text in ln]


def test_answer_over_tls_with_host_name(dnsgate, dot_server, pki):
    srv = dot_server()
    gate = start(dnsgate, pki, [tls(srv)])
    r = ask(gate, "www.tls.test.")
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [GOOD_A]
    # dig, as an operator would ask.
    out = subprocess.run(
        ["dig", "+short", "+time=3", "+tries=1", "-p", str(gate.port),
         "@" + gate.host, "q9.tls.test.", "A"],
        capture_output=True, text=True, timeout=10).stdout.split()
    assert out == ["198.51.100.9"]
    q = srv.queries[0]
    # RFC 8467 4.1: padded to a multiple of 128; no cookie over TLS.
    assert q.length % 128 == 0, q.length
    codes = [c for c, _ in q.options]
    assert PADDING in codes and COOKIE not in codes, codes


def test_answer_over_tls_with_ip_address_san(dnsgate, dot_server, pki):
    """Without #NAME the certificate must carry the address (IP SAN)."""
    srv = dot_server()
    gate = start(dnsgate, pki, [tls(srv, None)])
    r = ask(gate, "www.ipsan.test.")
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [GOOD_A]


def test_wrong_name_is_servfail_ede_23_and_logged(dnsgate, dot_server, pki):
    srv = dot_server()
    gate = start(dnsgate, pki, [tls(srv, "wrong.test")])
    r = ask(gate, "www.wrong.test.")
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [23]
    assert srv.queries == []
    found = sysutil.wait_for(
        lambda: log_lines_with(gate, "TLS handshake failed"), 3.0)
    assert found, gate.stderr_text()
    assert "hostname mismatch" in found[0], found
    assert "(expected wrong.test)" in found[0], found
    assert srv.addr in found[0], found
    # Once per connection attempt, not per attempt of the query: the
    # failure backs the server off, the later attempts fail at once.
    time.sleep(0.3)
    assert len(log_lines_with(gate, "TLS handshake failed")) == 1


def test_untrusted_certificate_is_servfail_ede_23(dnsgate, dot_server, pki):
    """No tls-ca: the system store, which knows nothing of the test CA."""
    srv = dot_server()
    gate = start(dnsgate, pki, [tls(srv)], tls_ca=None)
    r = ask(gate, "www.untrusted.test.")
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [23]
    found = sysutil.wait_for(
        lambda: log_lines_with(gate, "TLS handshake failed"), 3.0)
    assert found and "certificate verify failed" in found[0], found


def test_one_connection_reused_and_pipelined(dnsgate, dot_server, pki):
    srv = dot_server()
    gate = start(dnsgate, pki, [tls(srv)], metrics=True)
    for i in range(20):
        r = ask(gate, "q%d.seq.test." % i)
        assert sysutil.answer_addresses(r) == ["198.51.100.%d" % i]
    names = ["q%d.par.test." % i for i in range(100, 140)]
    got = ask_together(gate, names)
    for name, r in got.items():
        n = int(name.split(".")[0][1:])
        assert sysutil.answer_addresses(r) == ["198.51.100.%d" % n], name
    assert srv.connections == 1
    m = sysutil.scrape_metrics(gate.metrics_addr)
    labels = {"upstream": "up", "server": srv.addr}
    assert sysutil.metric(m, "dnsgate_upstream_tls_connections",
                          **labels) == 1
    assert sysutil.metric(m, "dnsgate_upstream_tls_handshakes_total",
                          result="full", **labels) == 1


def test_answers_out_of_order_reach_their_clients(dnsgate, dot_server, pki):
    """RFC 7766 7: the server answers a batch of pipelined queries in
    the reverse order; each client still gets its own answer."""
    srv = dot_server()
    gate = start(dnsgate, pki, [tls(srv)], timeout="4s")
    assert ask(gate, "warm.ooo.test.").rcode() == dns.rcode.NOERROR
    srv.reverse_batch = 8
    names = ["q%d.ooo.test." % i for i in range(1, 9)]
    got = ask_together(gate, names)
    for name, r in got.items():
        n = int(name.split(".")[0][1:])
        assert sysutil.answer_addresses(r) == ["198.51.100.%d" % n], name
    assert srv.connections == 1
    # They did come back reversed: the batch was answered as one.
    seen = [q.name for q in srv.queries[1:]]
    assert sorted(seen) == sorted(names)


def test_server_closing_means_reconnect_and_resume(dnsgate, dot_server,
                                                   pki):
    srv = dot_server()
    srv.close_after = 1
    gate = start(dnsgate, pki, [tls(srv)], metrics=True)
    for i in range(3):
        r = ask(gate, "q%d.close.test." % i)
        assert r.rcode() == dns.rcode.NOERROR
        assert sysutil.answer_addresses(r) == ["198.51.100.%d" % i]
        time.sleep(0.2)  # the close reaches dnsgate before the next
    assert srv.connections == 3
    labels = {"upstream": "up", "server": srv.addr}
    m = sysutil.scrape_metrics(gate.metrics_addr)
    # Each reconnect resumed the session (a ticket) of the connection
    # before, closed without close_notify.
    assert sysutil.metric(m, "dnsgate_upstream_tls_handshakes_total",
                          result="resumed", **labels) == 2
    assert sysutil.metric(m, "dnsgate_upstream_tls_handshakes_total",
                          result="full", **labels) == 1
    assert srv.resumed == 2
    assert sysutil.metric(m, "dnsgate_upstream_errors_total",
                          kind="network", **labels) == 0


@pytest.mark.parametrize("second", ["plain", "tls"])
def test_retry_on_next_server_after_verification_failure(
        dnsgate, dot_server, fault_server, pki, second):
    bad = dot_server()
    if second == "plain":
        good = fault_server()
        servers = [tls(bad, "wrong.test"), good.addr]
    else:
        good = dot_server()
        servers = [tls(bad, "wrong.test"), tls(good)]
    gate = start(dnsgate, pki, servers)
    r = ask(gate, "www.retry.test.")
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [GOOD_A]
    assert bad.queries == []
    d = gate.wait_decision("www.retry.test.")
    assert d["attempts"] == 2, d


def test_health_probe_over_tls_brings_server_back(dnsgate, dot_server,
                                                  pki):
    """A tls:// server that is down is probed over TLS ('. NS', padded),
    and is up again once a probe is answered."""
    srv = dot_server()
    port = srv.port
    gate = start(dnsgate, pki, [tls(srv)], metrics=True,
                 health_check="200ms", timeout="500ms")
    labels = {"upstream": "up", "server": srv.addr}
    srv.stop()
    r = ask(gate, "www.down.test.")
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [23]

    def up():
        m = sysutil.scrape_metrics(gate.metrics_addr)
        return sysutil.metric(m, "dnsgate_upstream_up", **labels)

    assert sysutil.wait_for(lambda: up() == 0, 3.0)
    again = dot_server(port=port)
    assert sysutil.wait_for(lambda: up() == 1, 15.0), gate.stderr_text()
    probes = [q for q in again.queries if q.name == "."]
    assert probes and probes[0].length % 128 == 0
    r = ask(gate, "www.up-again.test.")
    assert sysutil.answer_addresses(r) == [GOOD_A]


def test_zone_transfer_skips_tls_server(dnsgate_conf, dot_server, nsd,
                                       pki):
    """Transfers are not relayed over TLS: the tls:// server is passed
    over, the next server of the group relays it."""
    import dns.query
    import dns.rdatatype

    srv = dot_server()
    gate = dnsgate_conf("""
[upstream up]
server = %s
server = %s
tls-ca = %s

[view all]
upstream = up
allow-transfer = 127.0.0.1
""" % (tls(srv), nsd.addr, pki[0]))
    types = []
    for msg in dns.query.xfr(gate.host, "example.test.", port=gate.port,
                             timeout=5, lifetime=10):
        types += [rrset.rdtype for rrset in msg.answer]
    assert types[0] == types[-1] == dns.rdatatype.SOA and len(types) > 50
    assert srv.connections == 0


def run_check(tmp_path, body):
    path = tmp_path / "check.conf"
    path.write_text("[server]\nlisten = 127.0.0.1:%d\n%s"
                    % (sysutil.free_port(), body))
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(path)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    return p.returncode, p.stderr.decode(errors="replace"), path


def test_check_accepts_tls_servers(tmp_path, pki):
    rc, err, _ = run_check(tmp_path, (
        "[upstream up]\n"
        "server = tls://127.0.0.1:853#dns.test\n"
        "server = tls://[::1]\n"
        "tls-ca = %s\n"
        "[view all]\nupstream = up\n") % pki[0])
    assert rc == 0, err
    assert "not supported" not in err


def test_check_rejects_unreadable_tls_ca(tmp_path):
    rc, err, path = run_check(tmp_path, (
        "[upstream up]\n"
        "server = tls://127.0.0.1#dns.test\n"
        "tls-ca = %s/missing.pem\n"
        "[view all]\nupstream = up\n") % tmp_path)
    assert rc == 1
    assert "%s:5: tls-ca %s/missing.pem" % (path, tmp_path) in err, err


def test_start_refused_with_a_ca_file_that_is_not_pem(tmp_path):
    """-t and start-up both read the bundle: no certificate in it is an
    error, not a daemon that fails every query."""
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    rc, err, path = run_check(tmp_path, (
        "[upstream up]\n"
        "server = tls://127.0.0.1#dns.test\n"
        "tls-ca = %s\n"
        "[view all]\nupstream = up\n") % bad)
    assert rc == 1 and "no PEM certificate" in err, err
