# SPDX-License-Identifier: BSD-2-Clause
"""DNS over TLS listeners ([server] listen-tls; RFC 7858, RFC 7766
framing inside TLS): answers to independent clients (kdig, dig,
dnspython, Python's ssl module), the certificate chain, pipelining and
out-of-order answers, half-close, session resumption (RFC 8446 2.2, RFC
5077; across workers and reloads), the handshake and idle timeouts,
tls-min-version, tls-ciphers, ALPN "dot", EDNS padding (RFC 8467), views
by transport, the decision log and metrics, the TCP connection limits,
RRL, reloading the certificate, and `dnsgate -t` on the TLS keys.

Certificates come from certs.py (the ``pki`` fixture); clients trust only
its CA and check the name dns.test, so a test also fails when dnsgate
serves the wrong certificate or an incomplete chain.
"""

import datetime
import shutil
import signal
import socket
import ssl
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

import certs
import encrypted
import sysutil
from conftest import BIG
from encrypted import (LOCAL_A, PADDING, RESPONSE_BLOCK, explained_view,
                       free_addr, run, scrape, view_body, wait_metric)
from sysutil import fault_name, frame, make_query, recv_frame
from test_config_check import error_lines, run_check

LOCAL = "local.dot.test."


def body(upstream, extra=""):
    return view_body(upstream, LOCAL, extra)


def parse_addr(text):
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def wait_listening(addr, timeout=3.0):
    def up():
        try:
            socket.create_connection(addr, timeout=0.5).close()
            return True
        except OSError:
            return False
    assert sysutil.wait_for(up, timeout), "nothing listens on %s:%d" % addr


def tls_gate(dnsgate_conf, pki, text, server=None, cert=None, key=None):
    """dnsgate with a listen-tls (gate.tls) and metrics (gate.metrics)
    on fresh ports, serving ``cert``/``key`` (default the pki's)."""
    opts = [("listen-tls", free_addr),
            ("tls-certificate", str(cert or pki.cert)),
            ("tls-key", str(key or pki.key)),
            ("metrics-listen", free_addr)]
    opts += list((server or {}).items())
    gate = dnsgate_conf(text, server=opts)
    gate.tls = parse_addr(gate.options["listen-tls"])
    gate.metrics = gate.options["metrics-listen"]
    wait_listening(gate.tls)
    # That probe (connected, closed, no ClientHello) is a failed
    # handshake: wait until it is counted, so tests count from there.
    wait_metric(gate, lambda m: handshakes(m, "failed") == 1 and
                sysutil.metric(m, "dnsgate_client_connections",
                               proto="tls") == 0)
    return gate


@pytest.fixture
def gate(dnsgate_conf, pki, fault):
    return tls_gate(dnsgate_conf, pki, body(fault.addr))


def tls_connect(gate, ctx, session=None, timeout=3.0):
    raw = socket.create_connection(gate.tls, timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname=certs.HOSTNAME,
                            session=session)
    except BaseException:
        raw.close()
        raise
    s.settimeout(timeout)
    return s


def exchange(s, q):
    s.sendall(frame(q.to_wire()))
    return dns.message.from_wire(recv_frame(s))


def handshakes(m, result, proto="tls"):
    return encrypted.handshakes(m, result, proto)


# -- independent clients -------------------------------------------------


def test_kdig_over_tls(gate, pki, fault):
    name = fault_name("ok", sysutil.token())
    rc, out = run(["kdig", "@%s" % gate.tls[0], "-p", str(gate.tls[1]),
                   "+tls-ca=%s" % pki.ca, "+tls-hostname=%s" % certs.HOSTNAME,
                   "+timeout=3", "+retry=0", name, "A"])
    assert rc == 0, out
    assert ";; TLS session" in out, out
    assert "status: NOERROR" in out, out
    assert "\tA\t192.0.2.1" in out, out
    assert len(fault.queries(name)) == 1


def test_dig_over_tls(gate, pki):
    rc, out = run(["dig", "@%s" % gate.tls[0], "-p", str(gate.tls[1]),
                   "+tls", "+tls-ca=%s" % pki.ca,
                   "+tls-hostname=%s" % certs.HOSTNAME, "+time=3",
                   "+tries=1", LOCAL, "A"])
    assert rc == 0, out
    assert "(TLS)" in out, out
    assert "status: NOERROR" in out, out
    assert "IN\tA\t%s" % LOCAL_A in out, out


def test_dnspython_over_tls(gate, pki):
    q = make_query(LOCAL, "A", edns=0)
    r = dns.query.tls(q, gate.tls[0], port=gate.tls[1], timeout=3,
                      ssl_context=pki.client_context(),
                      server_hostname=certs.HOSTNAME)
    assert r.id == q.id
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [LOCAL_A]


def test_serves_the_whole_chain(dnsgate_conf, pki, fault):
    """tls-certificate is a chain: a client that trusts only the root CA
    verifies a server certificate signed by an intermediate CA, which
    dnsgate must send along."""
    cert, key = pki.server("via-ica", intermediate=True)
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr), cert=cert, key=key)
    with tls_connect(gate, pki.client_context()) as s:
        assert peer_fingerprint(s) == certs.file_fingerprint(cert)
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
    rc, out = run(["kdig", "@%s" % gate.tls[0], "-p", str(gate.tls[1]),
                   "+tls-ca=%s" % pki.ca, "+tls-hostname=%s" % certs.HOSTNAME,
                   "+timeout=3", "+retry=0", LOCAL, "A"])
    assert rc == 0 and "\tA\t%s" % LOCAL_A in out, out


def test_plain_dns_on_the_tls_port(gate):
    """A client speaking DNS over TCP to the TLS port: a failed handshake,
    closed at once rather than at the handshake timeout."""
    before = scrape(gate)
    start = time.monotonic()
    with socket.create_connection(gate.tls, timeout=3) as s:
        s.sendall(frame(make_query(LOCAL, "A").to_wire()))
        assert sysutil.connection_closed(s, 3)
    assert time.monotonic() - start < 2
    after = wait_metric(gate, lambda m: handshakes(m, "failed") >
                        handshakes(before, "failed"))
    assert handshakes(after, "failed") - handshakes(before, "failed") == 1


# -- pipelining ------------------------------------------------------------


def test_twenty_pipelined_queries_in_one_write(gate, pki):
    tok = sysutil.token()
    qs = [make_query(fault_name("ok", tok, i), "A") for i in range(19)]
    qs.append(make_query(LOCAL, "A"))
    for i, q in enumerate(qs):
        q.id = 1000 + i
    with tls_connect(gate, pki.client_context()) as s:
        s.sendall(b"".join(frame(q.to_wire()) for q in qs))
        answers = [dns.message.from_wire(recv_frame(s)) for _ in qs]
    by_id = {r.id: r for r in answers}
    assert sorted(by_id) == sorted(q.id for q in qs)
    for q in qs:
        r = by_id[q.id]
        assert r.question == q.question, (q.id, r.question)
        assert r.rcode() == dns.rcode.NOERROR
        assert sysutil.answer_addresses(r) == (
            [LOCAL_A] if q is qs[-1] else ["192.0.2.1"])


def test_local_answer_overtakes_slow_forward(gate, pki, fault):
    """RFC 7766 6.2.1.1: answers go out as they are ready, not in the
    order the queries came."""
    slow = make_query(fault_name("slow-800", sysutil.token()), "A", qid=1)
    local = make_query(LOCAL, "A", qid=2)
    with tls_connect(gate, pki.client_context()) as s:
        s.sendall(frame(slow.to_wire()) + frame(local.to_wire()))
        first = dns.message.from_wire(recv_frame(s))
        second = dns.message.from_wire(recv_frame(s))
    assert (first.id, second.id) == (2, 1)
    assert sysutil.answer_addresses(first) == [LOCAL_A]
    assert sysutil.answer_addresses(second) == ["192.0.2.1"]


def test_query_split_across_writes(gate, pki):
    """The length prefix and the message's two halves in three TLS
    records: dnsgate reassembles the frame (RFC 7766 8)."""
    q = make_query(LOCAL, "A", qid=99)
    data = frame(q.to_wire())
    with tls_connect(gate, pki.client_context()) as s:
        for part in (data[:2], data[2:9], data[9:]):
            s.sendall(part)
            time.sleep(0.05)
        r = dns.message.from_wire(recv_frame(s))
    assert r.id == 99 and sysutil.answer_addresses(r) == [LOCAL_A]


def test_large_pipelined_answers(dnsgate_conf, pki, nsd):
    """Twenty answers of about 3 kB each: more than one TLS record (16 kB)
    holds, so the writes go out in parts; every byte arrives in order."""
    gate = tls_gate(dnsgate_conf, pki, body(nsd.addr))
    ref = nsd.query(make_query(BIG, "TXT", edns=0, payload=4096),
                    tcp=True)
    qs = [make_query(BIG, "TXT", edns=0, qid=i)
          for i in range(20)]
    with tls_connect(gate, pki.client_context()) as s:
        s.sendall(b"".join(frame(q.to_wire()) for q in qs))
        answers = [dns.message.from_wire(recv_frame(s)) for _ in qs]
    assert sorted(r.id for r in answers) == list(range(20))
    for r in answers:
        assert not r.flags & dns.flags.TC
        assert sysutil.section_text(r.answer) == sysutil.section_text(
            ref.answer)


def test_axfr_relayed_over_tls(dnsgate_conf, pki, nsd):
    """A zone transfer over DNS over TLS (RFC 9103) with allow-transfer:
    kdig gets the whole zone, the same records as from nsd itself."""
    gate = tls_gate(dnsgate_conf, pki,
                    body(nsd.addr, "allow-transfer = 127.0.0.1"))
    host, port = nsd.addr.split(":")

    def records(argv):
        rc, out = run(["kdig", "+timeout=5", "+retry=0", "+noall",
                       "+answer"] + argv + ["example.test.", "AXFR"])
        assert rc == 0, out
        return sorted(line.split()[0] + " " + line.split()[3]
                      for line in out.splitlines()
                      if line and not line.startswith(";"))

    direct = records(["@%s" % host, "-p", port])
    via_tls = records(["@%s" % gate.tls[0], "-p", str(gate.tls[1]),
                       "+tls-ca=%s" % pki.ca,
                       "+tls-hostname=%s" % certs.HOSTNAME])
    assert len(direct) > 50
    assert via_tls == direct


def test_many_pipelined_queries_span_tls_records(gate, pki):
    """600 queries in one write: more than one TLS record's worth (16 kB),
    so some arrive in bytes TLS has decrypted but not handed over yet."""
    qs = [make_query(LOCAL, "A", qid=i) for i in range(600)]
    with tls_connect(gate, pki.client_context(), timeout=10) as s:
        s.sendall(b"".join(frame(q.to_wire()) for q in qs))
        answers = [dns.message.from_wire(recv_frame(s)) for _ in qs]
    assert sorted(r.id for r in answers) == list(range(600))
    assert all(sysutil.answer_addresses(r) == [LOCAL_A] for r in answers)


def test_slow_reader_gets_every_byte(dnsgate_conf, pki, nsd):
    """A client with a small receive buffer that reads late: dnsgate's
    writes stop half-way and resume, and every answer arrives whole."""
    gate = tls_gate(dnsgate_conf, pki, body(nsd.addr))
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(gate.tls)
    n = 60
    with pki.client_context().wrap_socket(
            raw, server_hostname=certs.HOSTNAME) as s:
        s.sendall(b"".join(frame(make_query(BIG, "TXT", edns=0,
                                            qid=i).to_wire())
                           for i in range(n)))
        time.sleep(0.5)
        answers = [dns.message.from_wire(recv_frame(s)) for _ in range(n)]
    assert sorted(r.id for r in answers) == list(range(n))
    assert all(len(r.answer) == 1 and len(r.answer[0]) == 12
               for r in answers)


def test_tcp_max_queries_closes_connection(dnsgate_conf, pki, fault):
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"tcp-max-queries": "3"})
    with tls_connect(gate, pki.client_context()) as s:
        for i in range(3):
            r = exchange(s, make_query(LOCAL, "A", qid=i))
            assert r.id == i and sysutil.answer_addresses(r) == [LOCAL_A]
        assert sysutil.connection_closed(s, 3)


def test_listen_tls_on_ipv6(dnsgate_conf, pki, fault):
    if not sysutil.have_ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr), server={
        "listen-tls": lambda: "[::1]:%d" % sysutil.free_port("::1")})
    assert gate.tls[0] == "::1"
    rc, out = run(["kdig", "@::1", "-p", str(gate.tls[1]),
                   "+tls-ca=%s" % pki.ca, "+timeout=3", "+retry=0",
                   LOCAL, "A"])
    assert rc == 0, out
    assert ";; TLS session" in out, out
    assert "\tA\t%s" % LOCAL_A in out, out


def test_tls_ciphers(dnsgate_conf, pki, fault):
    """tls-ciphers limits TLS 1.2's cipher suites (TLS 1.3's are
    separate, ciphers(1))."""
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr), server={
        "tls-ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256"})
    ctx = pki.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    with tls_connect(gate, ctx) as s:
        assert s.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
    ctx = pki.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls_connect(gate, ctx).close()
    with tls_connect(gate, pki.client_context()) as s:
        assert s.version() == "TLSv1.3"


def test_answer_after_client_close_notify(gate, pki):
    """RFC 8446 6.1: in TLS 1.3 a close_notify closes only the sender's
    side; a client that sends one right after its query, having nothing
    more to ask, still gets the answer (forwarded, so not yet queued)."""
    ctx = pki.client_context(minimum=ssl.TLSVersion.TLSv1_3)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=certs.HOSTNAME)
    name = fault_name("slow-300", sysutil.token())

    with socket.create_connection(gate.tls, timeout=3) as sock:
        def send():
            sock.sendall(outgoing.read())

        def receive():
            data = sock.recv(65536)
            if data:
                incoming.write(data)
            else:
                incoming.write_eof()
            return data

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                send()
                receive()
        tls.write(frame(make_query(name, "A", qid=9).to_wire()))
        with pytest.raises(ssl.SSLWantReadError):
            tls.unwrap()  # our close_notify; theirs is not here yet
        send()
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
            try:
                buf += tls.read(65536)
            except ssl.SSLWantReadError:
                assert receive(), "closed after %d bytes" % len(buf)
    r = dns.message.from_wire(buf[2:])
    assert r.id == 9 and sysutil.answer_addresses(r) == ["192.0.2.1"]


# -- session resumption ------------------------------------------------------


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3,
                                     ssl.TLSVersion.TLSv1_2],
                         ids=["tls1.3", "tls1.2"])
def test_session_resumed(gate, pki, version):
    ctx = pki.client_context(minimum=version, maximum=version)
    before = scrape(gate)
    with tls_connect(gate, ctx) as s:
        assert s.version() == {ssl.TLSVersion.TLSv1_3: "TLSv1.3",
                               ssl.TLSVersion.TLSv1_2: "TLSv1.2"}[version]
        # TLS 1.3 tickets come after the handshake: an exchange reads them.
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
        assert not s.session_reused
        session = s.session
    assert session is not None and session.has_ticket
    with tls_connect(gate, ctx, session=session) as s:
        assert s.session_reused
        assert sysutil.answer_addresses(
            exchange(s, make_query(LOCAL, "A"))) == [LOCAL_A]
    after = wait_metric(gate, lambda m: handshakes(m, "resumed") >
                        handshakes(before, "resumed"))
    assert handshakes(after, "full") - handshakes(before, "full") == 1
    assert handshakes(after, "resumed") - handshakes(before, "resumed") == 1


def test_session_resumed_on_every_worker(dnsgate_conf, pki, fault):
    """Ticket keys are shared by the workers: connections the kernel
    spreads over two workers all resume one session."""
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"workers": "2"})
    ctx = pki.client_context()
    with tls_connect(gate, ctx) as s:
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
        session = s.session
    reused = []
    for i in range(8):
        with tls_connect(gate, ctx, session=session) as s:
            assert exchange(s, make_query(LOCAL, "A", qid=i)).id == i
            reused.append(s.session_reused)
    assert reused == [True] * 8


def test_session_resumed_after_reload(dnsgate_conf, pki, fault):
    """A reload makes new TLS contexts; tickets issued before it still
    resume (the ticket keys outlive the contexts)."""
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr))
    ctx = pki.client_context()
    with tls_connect(gate, ctx) as s:
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
        session = s.session
    reloads = gate.stderr_text().count("reloaded")
    gate.signal(signal.SIGHUP)
    assert sysutil.wait_for(
        lambda: gate.stderr_text().count("reloaded") > reloads, 5)
    with tls_connect(gate, ctx, session=session) as s:
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
        assert s.session_reused


# -- timeouts -----------------------------------------------------------------


def test_handshake_timeout(dnsgate_conf, pki, fault):
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"tls-handshake-timeout": "1s",
                            "tcp-idle-timeout": "30s"})
    before = scrape(gate)
    start = time.monotonic()
    with socket.create_connection(gate.tls, timeout=3) as s:
        # No ClientHello: the connection is closed after the handshake
        # timeout, well before the idle timeout.
        assert sysutil.connection_closed(s, 4)
    took = time.monotonic() - start
    assert 0.8 <= took <= 3.5, took
    after = wait_metric(gate, lambda m: handshakes(m, "timeout") >
                        handshakes(before, "timeout"))
    assert handshakes(after, "timeout") - handshakes(before, "timeout") == 1
    assert handshakes(after, "full") == handshakes(before, "full")


def test_idle_timeout_after_handshake(dnsgate_conf, pki, fault):
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"tcp-idle-timeout": "1s",
                            "tls-handshake-timeout": "10s"})
    with tls_connect(gate, pki.client_context()) as s:
        start = time.monotonic()
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
        assert sysutil.connection_closed(s, 4)
        took = time.monotonic() - start
    assert 0.8 <= took <= 3.5, took


# -- versions and ALPN -----------------------------------------------------


def test_min_version_13_refuses_tls12_client(dnsgate_conf, pki, fault):
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"tls-min-version": "1.3"})
    before = scrape(gate)
    old = pki.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls_connect(gate, old).close()
    with tls_connect(gate, pki.client_context()) as s:
        assert s.version() == "TLSv1.3"
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
    after = wait_metric(gate, lambda m: handshakes(m, "failed") >
                        handshakes(before, "failed"))
    assert handshakes(after, "failed") - handshakes(before, "failed") == 1


def test_default_min_version_accepts_tls12(gate, pki):
    ctx = pki.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    with tls_connect(gate, ctx) as s:
        assert s.version() == "TLSv1.2"
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0


@pytest.mark.parametrize("offer,selected", [
    (["dot"], "dot"),
    (None, None),
    # RFC 7858 predates "dot": a client naming another protocol is
    # served anyway, without ALPN.
    (["h2", "http/1.1"], None),
])
def test_alpn(gate, pki, offer, selected):
    with tls_connect(gate, pki.client_context(alpn=offer)) as s:
        assert s.selected_alpn_protocol() == selected
        assert sysutil.answer_addresses(
            exchange(s, make_query(LOCAL, "A"))) == [LOCAL_A]


# -- padding ---------------------------------------------------------------


def received_size(out):
    for line in out.splitlines():
        if line.startswith(";; Received "):
            return int(line.split()[2])
    raise AssertionError("no ';; Received' line:\n" + out)


def test_padding_over_tls(gate, pki, fault):
    name = fault_name("ok", sysutil.token())
    rc, out = run(["kdig", "@%s" % gate.tls[0], "-p", str(gate.tls[1]),
                   "+tls-ca=%s" % pki.ca, "+tls-hostname=%s" % certs.HOSTNAME,
                   "+padding", "+timeout=3", "+retry=0", name, "A"])
    assert rc == 0, out
    assert "PADDING:" in out, out
    assert "\tA\t192.0.2.1" in out, out
    size = received_size(out)
    assert size % RESPONSE_BLOCK == 0, out


def padded_query(name):
    return make_query(name, "A", edns=0,
                      options=[dns.edns.GenericOption(PADDING, bytes(100))])


def test_dnspython_padding_over_tls(gate, pki):
    q = padded_query(LOCAL)
    with tls_connect(gate, pki.client_context()) as s:
        s.sendall(frame(q.to_wire()))
        data = recv_frame(s)
    r = dns.message.from_wire(data)
    assert sysutil.answer_addresses(r) == [LOCAL_A]
    assert PADDING in sysutil.option_codes(r)
    assert len(data) % RESPONSE_BLOCK == 0, len(data)


def test_no_padding_over_udp_or_tcp(gate):
    """RFC 8467 4.1 / RFC 7830 7: only encrypted answers are padded."""
    r, data = gate.udp(padded_query(LOCAL))
    assert sysutil.answer_addresses(r) == [LOCAL_A]
    assert PADDING not in sysutil.option_codes(r), r
    assert len(data) < RESPONSE_BLOCK
    r, data = gate.tcp(padded_query(LOCAL))
    assert PADDING not in sysutil.option_codes(r), r


# -- views, decisions, limits ------------------------------------------------

VIEWS = """
[view encrypted]
match-transport = tls
upstream = none
local-data = who.test. 300 IN A 192.0.2.1

[view plain]
match-transport = udp
upstream = none
local-data = who.test. 300 IN A 192.0.2.2

[view rest]
upstream = none
local-data = who.test. 300 IN A 192.0.2.99
"""


def test_match_transport_picks_view(dnsgate_conf, pki):
    gate = tls_gate(dnsgate_conf, pki, VIEWS)
    q = make_query("who.test.", "A")
    with tls_connect(gate, pki.client_context()) as s:
        assert sysutil.answer_addresses(exchange(s, q)) == ["192.0.2.1"]
    assert sysutil.answer_addresses(gate.udp(q)[0]) == ["192.0.2.2"]
    assert sysutil.answer_addresses(gate.tcp(q)[0]) == ["192.0.2.99"]


def test_explain_transport_tls(tmp_path, pki):
    conf = tmp_path / "dnsgate.conf"
    conf.write_text("\n".join([
        "[server]",
        "listen = 127.0.0.1:5399",
        "listen-tls = 127.0.0.1:8853",
        "tls-certificate = %s" % pki.cert,
        "tls-key = %s" % pki.key,
        VIEWS]))
    view, out = explained_view(conf, "tls")
    assert view == "encrypted", out
    assert explained_view(conf, "udp")[0] == "plain"
    assert explained_view(conf, "tcp")[0] == "rest"


def test_decision_log_proto(gate, pki):
    q = make_query(LOCAL, "A", qid=4242)
    with tls_connect(gate, pki.client_context()) as s:
        exchange(s, q)
    assert gate.wait_decision(LOCAL, qid=4242)["proto"] == "tls"
    gate.udp(make_query(LOCAL, "A", qid=4343))
    assert gate.wait_decision(LOCAL, qid=4343)["proto"] == "udp"


def test_metrics_count_tls(gate, pki):
    before = scrape(gate)
    with tls_connect(gate, pki.client_context()) as s:
        for i in range(3):
            assert exchange(s, make_query(LOCAL, "A", qid=i)).rcode() == 0
        during = scrape(gate)
        assert sysutil.metric(during, "dnsgate_client_connections",
                              proto="tls") == 1
    m = wait_metric(gate, lambda m: sysutil.metric(
        m, "dnsgate_client_connections", proto="tls") == 0)
    assert sysutil.metric(m, "dnsgate_client_connections", proto="tls") == 0

    def count(m, proto):
        return sysutil.metric(m, "dnsgate_queries_total", proto=proto)
    assert count(m, "tls") - count(before, "tls") == 3
    assert count(m, "tcp") == count(before, "tcp")
    assert handshakes(m, "full") - handshakes(before, "full") == 1


@pytest.mark.parametrize("limit", ["tcp-max-clients",
                                   "tcp-max-clients-per-prefix"])
def test_tcp_max_clients_counts_tls(dnsgate_conf, pki, fault, limit):
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr),
                    server={limit: "2"})
    ctx = pki.client_context()
    tok = sysutil.token()
    held = []
    try:
        # Two connections kept busy (a query in flight each: not idle).
        for i in range(2):
            s = tls_connect(gate, ctx)
            held.append(s)
            s.sendall(frame(make_query(fault_name("slow-1500", tok, i), "A",
                                       qid=i).to_wire()))
        refused = False
        try:
            with tls_connect(gate, ctx) as third:
                third.sendall(frame(make_query(LOCAL, "A").to_wire()))
                recv_frame(third)
        except (ssl.SSLError, ConnectionError, socket.timeout):
            refused = True
        assert refused, "a third connection was served"
        for i, s in enumerate(held):
            r = dns.message.from_wire(recv_frame(s))
            assert r.id == i and sysutil.answer_addresses(r) == [
                "192.0.2.1"]
    finally:
        for s in held:
            s.close()


def test_rrl_does_not_limit_tls(dnsgate_conf, pki, fault):
    gate = tls_gate(dnsgate_conf, pki,
                    body(fault.addr, "\n[ratelimit]\n"
                         "responses-per-second = 1\nslip = 0\n"))
    qs = [make_query(LOCAL, "A", qid=i) for i in range(10)]
    with tls_connect(gate, pki.client_context()) as s:
        s.sendall(b"".join(frame(q.to_wire()) for q in qs))
        answers = [dns.message.from_wire(recv_frame(s)) for _ in qs]
    assert sorted(r.id for r in answers) == list(range(10))
    assert all(sysutil.answer_addresses(r) == [LOCAL_A] for r in answers)
    # The same name over UDP is limited: the limit is on.
    replies, _ = sysutil.udp_flood(gate.host, gate.port,
                                   [q.to_wire() for q in qs])
    assert len(replies) < 10


# -- reload ------------------------------------------------------------------


def peer_fingerprint(s):
    return certs.fingerprint(s.getpeercert(binary_form=True))


def test_sighup_renews_certificate(dnsgate_conf, pki, fault, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "cert.pem", live / "key.pem"
    shutil.copy(pki.cert, cert)
    shutil.copy(pki.key, key)
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr), cert=cert, key=key)
    ctx = pki.client_context()
    old = tls_connect(gate, ctx)
    try:
        assert peer_fingerprint(old) == certs.file_fingerprint(pki.cert)
        assert exchange(old, make_query(LOCAL, "A")).rcode() == 0
        new_cert, new_key = pki.server("renewed")
        shutil.copy(new_cert, cert)
        shutil.copy(new_key, key)
        reloads = gate.stderr_text().count("reloaded")
        gate.signal(signal.SIGHUP)
        assert sysutil.wait_for(
            lambda: gate.stderr_text().count("reloaded") > reloads, 5), \
            gate.stderr_text()[-2000:]
        # The connection open before the reload goes on.
        r = exchange(old, make_query(LOCAL, "A", qid=77))
        assert r.id == 77 and sysutil.answer_addresses(r) == [LOCAL_A]
        with tls_connect(gate, ctx) as s:
            assert peer_fingerprint(s) == certs.file_fingerprint(new_cert)
            assert peer_fingerprint(s) != certs.file_fingerprint(pki.cert)
            assert exchange(s, make_query(LOCAL, "A")).rcode() == 0
    finally:
        old.close()


def test_sighup_with_broken_certificate_keeps_serving(dnsgate_conf, pki,
                                                     fault, tmp_path):
    """A reload whose certificate can't be loaded fails as a whole: the
    running certificate goes on serving new connections."""
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "cert.pem", live / "key.pem"
    shutil.copy(pki.cert, cert)
    shutil.copy(pki.key, key)
    gate = tls_gate(dnsgate_conf, pki, body(fault.addr), cert=cert, key=key)
    cert.write_text("not a certificate\n")
    gate.signal(signal.SIGHUP)

    def failed():
        return [o.get("msg") for o in gate.log_lines()
                if "reload" in o.get("msg", "") and
                "fail" in o.get("msg", "")]
    msgs = sysutil.wait_for(failed, 5)
    assert msgs, gate.stderr_text()[-2000:]
    assert str(cert) in msgs[0], msgs
    with tls_connect(gate, pki.client_context()) as s:
        assert peer_fingerprint(s) == certs.file_fingerprint(pki.cert)
        assert exchange(s, make_query(LOCAL, "A")).rcode() == 0


# -- dnsgate -t on the certificate and key ------------------------------------


def check_conf(tmp_path, tls_lines, listen_tls="127.0.0.1:8853"):
    lines = ["[server]", "listen = 127.0.0.1:5300"]
    if listen_tls:
        lines.append("listen-tls = %s" % listen_tls)
    lines += tls_lines
    lines += ["", "[view all]", "upstream = none", ""]
    path = tmp_path / "dnsgate.conf"
    path.write_text("\n".join(lines))
    rc, err = run_check(path)
    return path, rc, err


def line_no(path, needle):
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith(needle):
            return i
    raise AssertionError(needle)


def test_check_good_certificate(tmp_path, pki):
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % pki.cert,
                                          "tls-key = %s" % pki.key])
    assert rc == 0, err
    assert "warning" not in err, err


def test_check_missing_certificate(tmp_path, pki):
    missing = tmp_path / "nope.pem"
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % missing,
                                          "tls-key = %s" % pki.key])
    assert rc != 0
    errs = error_lines(path, err)
    assert [n for n, _ in errs] == [line_no(path, "tls-certificate")], err
    assert str(missing) in errs[0][1], err


def test_check_key_not_matching(tmp_path, pki):
    other = certs.new_key(tmp_path / "other.key")
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % pki.cert,
                                          "tls-key = %s" % other])
    assert rc != 0
    errs = error_lines(path, err)
    assert len(errs) == 1, err
    assert "match" in errs[0][1], err


def test_check_expired_certificate(tmp_path, pki):
    now = datetime.datetime.now(datetime.timezone.utc)
    cert, key = pki.server("expired",
                           not_before=now - datetime.timedelta(days=60),
                           not_after=now - datetime.timedelta(days=1))
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % cert,
                                          "tls-key = %s" % key])
    assert rc != 0
    errs = error_lines(path, err)
    assert [n for n, _ in errs] == [line_no(path, "tls-certificate")], err
    assert "expired" in errs[0][1], err


def test_check_warns_certificate_expiring_soon(tmp_path, pki):
    cert, key = pki.server("soon", days=10)
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % cert,
                                          "tls-key = %s" % key])
    assert rc == 0, err
    assert error_lines(path, err) == [], err
    warn = "%s:%d: warning: " % (path, line_no(path, "tls-certificate"))
    assert any(line.startswith(warn) for line in err.splitlines()), err


def test_check_listen_tls_needs_certificate_and_key(tmp_path, pki):
    path, rc, err = check_conf(tmp_path, [])
    assert rc != 0
    assert [n for n, _ in error_lines(path, err)] == [
        line_no(path, "listen-tls")], err
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % pki.cert])
    assert rc != 0
    assert error_lines(path, err), err


def test_check_listen_tls_on_a_listen_address(tmp_path, pki):
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % pki.cert,
                                          "tls-key = %s" % pki.key],
                               listen_tls="127.0.0.1:5300")
    assert rc != 0
    assert [n for n, _ in error_lines(path, err)] == [
        line_no(path, "listen-tls")], err


def test_check_listen_https_on_a_listen_tls_address(tmp_path, pki):
    path, rc, err = check_conf(tmp_path, ["listen-https = 127.0.0.1:8853",
                                          "tls-certificate = %s" % pki.cert,
                                          "tls-key = %s" % pki.key])
    assert rc != 0
    assert [n for n, _ in error_lines(path, err)] == [
        line_no(path, "listen-https")], err


@pytest.mark.parametrize("key,value", [
    ("tls-min-version", "1.1"),
    ("tls-min-version", "1.4"),
    ("tls-handshake-timeout", "50ms"),
    ("tls-ticket-key-rotation", "500ms"),
    ("https-max-streams", "0"),
])
def test_check_bad_values(tmp_path, pki, key, value):
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % pki.cert,
                                          "tls-key = %s" % pki.key,
                                          "%s = %s" % (key, value)])
    assert rc != 0
    assert [n for n, _ in error_lines(path, err)] == [
        line_no(path, key)], err


def test_check_unknown_ciphers_at_their_line(tmp_path, pki):
    path, rc, err = check_conf(tmp_path, ["tls-certificate = %s" % pki.cert,
                                          "tls-key = %s" % pki.key,
                                          "tls-ciphers = NO-SUCH-CIPHER"])
    assert rc != 0
    errs = error_lines(path, err)
    assert len(errs) == 1 and "NO-SUCH-CIPHER" in errs[0][1], err
    assert errs[0][0] == line_no(path, "tls-ciphers"), err


def test_check_relative_paths_from_the_config(tmp_path, pki):
    """tls-certificate and tls-key name files relative to the
    configuration's directory, whatever the working directory."""
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    shutil.copy(pki.cert, conf_dir / "cert.pem")
    shutil.copy(pki.key, conf_dir / "key.pem")
    path, rc, err = check_conf(conf_dir, ["tls-certificate = cert.pem",
                                          "tls-key = key.pem"])
    assert rc == 0, err


def test_check_match_transport_tls_without_listener(tmp_path):
    path = tmp_path / "dnsgate.conf"
    path.write_text("\n".join([
        "[server]", "listen = 127.0.0.1:5300", "",
        "[view enc]", "match-transport = tls", "upstream = none", ""]))
    rc, err = run_check(path)
    assert rc == 0, err
    # At the view's line or the key's: the message names both.
    lines = (line_no(path, "[view enc]"), line_no(path, "match-transport"))
    assert any(line.startswith("%s:%d: warning: " % (path, n)) and
               "match-transport" in line and "listen-tls" in line
               for line in err.splitlines() for n in lines), err
