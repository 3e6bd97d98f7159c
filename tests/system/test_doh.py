# SPDX-License-Identifier: BSD-2-Clause
"""DNS over HTTPS listeners ([server] listen-https; RFC 8484 on HTTP/2):
answers to independent clients (kdig and dig, POST and GET; dnspython
through httpx on HTTP/2; curl for HTTP statuses and headers; the h2
library for several streams on one connection), ALPN h2, the HTTP errors
(400, 404, 405, 413, 415, 431), Cache-Control max-age (RFC 8484 5.1),
https-path and https-max-streams, timeouts and resumption, EDNS padding
(RFC 8467), zone transfers refused, views by transport, the decision log,
explain and the metrics.

Certificates come from certs.py (the ``pki`` fixture); every client
trusts only its CA.
"""

import base64
import socket
import ssl
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import h2.config
import h2.connection
import h2.events
import httpx
import pytest

import certs
import encrypted
import sysutil
from conftest import BIG
from encrypted import (LOCAL_A, PADDING, RESPONSE_BLOCK, explained_view,
                       free_addr, run, scrape, view_body, wait_metric)
from sysutil import fault_name, make_query

LOCAL = "local.doh.test."
PATH = "/dns-query"
MEDIA = "application/dns-message"


def body(upstream, extra=""):
    return view_body(upstream, LOCAL, extra)


def connections(m):
    return sysutil.metric(m, "dnsgate_client_connections", proto="https")


def handshakes(m, result):
    return encrypted.handshakes(m, result, "https")


def doh_gate(dnsgate_conf, pki, text, server=None):
    """dnsgate with a listen-https (gate.https, gate.url) and metrics
    (gate.metrics) on fresh ports."""
    opts = [("listen-https", free_addr),
            ("tls-certificate", str(pki.cert)),
            ("tls-key", str(pki.key)),
            ("metrics-listen", free_addr)]
    opts += list((server or {}).items())
    gate = dnsgate_conf(text, server=opts)
    host, port = gate.options["listen-https"].rsplit(":", 1)
    gate.https = (host, int(port))
    gate.url = "https://%s:%s%s" % (host, port, PATH)
    gate.metrics = gate.options["metrics-listen"]

    def up():
        try:
            socket.create_connection(gate.https, timeout=0.5).close()
            return True
        except OSError:
            return False
    assert sysutil.wait_for(up, 3), "listen-https is not listening"
    # That probe is a failed handshake: count from after it.
    wait_metric(gate, lambda m: handshakes(m, "failed") == 1 and
                connections(m) == 0)
    return gate


@pytest.fixture
def gate(dnsgate_conf, pki, fault):
    return doh_gate(dnsgate_conf, pki, body(fault.addr))


def kdig(gate, pki, name, *opts):
    return run(["kdig", "@%s" % gate.https[0], "-p", str(gate.https[1]),
                "+tls-ca=%s" % pki.ca, "+tls-hostname=%s" % certs.HOSTNAME,
                "+timeout=3", "+retry=0"] + list(opts) + [name, "A"])


def b64url(wire):
    return base64.urlsafe_b64encode(wire).rstrip(b"=").decode()


class Curl:
    """One curl --http2 request: status, HTTP version, headers, body."""

    def __init__(self, gate, pki, tmp_path, path=PATH, method=None,
                 data=None, headers=()):
        out, hdr = tmp_path / "curl.body", tmp_path / "curl.headers"
        argv = ["curl", "-sS", "--http2", "--cacert", str(pki.ca),
                "--max-time", "5", "-o", str(out), "-D", str(hdr),
                "-w", "%{http_code} %{http_version}"]
        if method == "HEAD":
            argv.append("-I")  # -X HEAD would wait for a body
        elif method:
            argv += ["-X", method]
        for h in headers:
            argv += ["-H", h]
        if data is not None:
            blob = tmp_path / "curl.data"
            blob.write_bytes(data)
            argv += ["--data-binary", "@%s" % blob]
        argv.append("https://%s:%d%s" % (gate.https + (path,)))
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, p.stderr
        code, version = p.stdout.split()
        self.status, self.version = int(code), version
        self.headers = {}
        for line in hdr.read_text().splitlines()[1:]:
            k, _, v = line.partition(":")
            if v:
                self.headers[k.strip().lower()] = v.strip()
        self.body = out.read_bytes()

    def message(self):
        assert self.status == 200, (self.status, self.body)
        assert self.headers.get("content-type") == MEDIA, self.headers
        return dns.message.from_wire(self.body)


def curl_get(gate, pki, tmp_path, q, path=PATH):
    return Curl(gate, pki, tmp_path,
                path="%s?dns=%s" % (path, b64url(q.to_wire())))


def curl_post(gate, pki, tmp_path, wire, ctype=MEDIA):
    return Curl(gate, pki, tmp_path, data=wire,
                headers=["content-type: %s" % ctype])


class Http2Recorder:
    """An httpx client on HTTP/2 only, recording each response's HTTP
    version (httpx falls back to HTTP/1.1 silently otherwise)."""

    def __init__(self, pki):
        self.versions = []
        self.client = httpx.Client(
            http1=False, http2=True, verify=str(pki.ca),
            event_hooks={"response": [self._record]})

    def _record(self, response):
        self.versions.append(response.http_version)

    def close(self):
        self.client.close()


@pytest.fixture
def http2(pki):
    rec = Http2Recorder(pki)
    yield rec
    rec.close()


# -- independent clients ---------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_kdig(gate, pki, fault, method):
    name = fault_name("ok", sysutil.token())
    opt = "+https" if method == "POST" else "+https-get"
    rc, out = kdig(gate, pki, name, opt)
    assert rc == 0, out
    assert "HTTP/2-%s" % method in out, out
    assert "status: NOERROR" in out, out
    assert "\tA\t192.0.2.1" in out, out
    assert len(fault.queries(name)) == 1


@pytest.mark.parametrize("opt", ["+https", "+https-get"])
def test_dig(gate, pki, opt):
    rc, out = run(["dig", "@%s" % gate.https[0], "-p", str(gate.https[1]),
                   opt, "+tls-ca=%s" % pki.ca,
                   "+tls-hostname=%s" % certs.HOSTNAME, "+time=3",
                   "+tries=1", LOCAL, "A"])
    assert rc == 0, out
    assert "(HTTPS" in out, out
    assert "status: NOERROR" in out, out
    assert "IN\tA\t%s" % LOCAL_A in out, out


@pytest.mark.parametrize("post", [True, False], ids=["POST", "GET"])
def test_dnspython_on_http2(gate, http2, post):
    q = make_query(LOCAL, "A", edns=0)
    r = dns.query.https(q, gate.https[0], port=gate.https[1], timeout=3,
                        session=http2.client, post=post)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [LOCAL_A]
    assert http2.versions == ["HTTP/2"]


def test_id_zero_is_answered_as_zero(gate, http2):
    """RFC 8484 4.1: clients use ID 0; the answer keeps it."""
    q = make_query(LOCAL, "A", qid=0)
    r = dns.query.https(q, gate.https[0], port=gate.https[1], timeout=3,
                        session=http2.client, post=False)
    assert r.id == 0 and sysutil.answer_addresses(r) == [LOCAL_A]


# -- HTTP/2 streams ----------------------------------------------------------


class H2Client:
    """A raw HTTP/2 connection (the h2 library over Python's ssl)."""

    def __init__(self, gate, pki, ctx=None, session=None):
        ctx = ctx or pki.client_context(alpn=["h2"])
        raw = socket.create_connection(gate.https, timeout=3)
        self.sock = ctx.wrap_socket(raw, server_hostname=certs.HOSTNAME,
                                    session=session)
        self.sock.settimeout(3)
        assert self.sock.selected_alpn_protocol() == "h2"
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.headers, self.data, self.ended = {}, {}, []

    def flush(self):
        self.sock.sendall(self.conn.data_to_send())

    def post(self, wire, split=False):
        """A POST on a new stream; ``split``: the body in two DATA
        frames."""
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [
            (":method", "POST"), (":scheme", "https"),
            (":authority", certs.HOSTNAME), (":path", PATH),
            ("content-type", MEDIA), ("content-length", str(len(wire)))])
        if split:
            self.conn.send_data(sid, wire[:5])
            self.conn.send_data(sid, wire[5:], end_stream=True)
        else:
            self.conn.send_data(sid, wire, end_stream=True)
        return sid

    def wait(self, n, resets=None):
        """Read until n streams have ended; their ids in that order.
        Resets go to the list ``resets`` when given (and count as an
        end), else fail the test."""
        while len(self.ended) < n:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            for ev in self.conn.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived):
                    self.headers[ev.stream_id] = dict(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    self.data[ev.stream_id] = self.data.get(
                        ev.stream_id, b"") + ev.data
                    self.conn.acknowledge_received_data(
                        ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    self.ended.append(ev.stream_id)
                elif isinstance(ev, h2.events.RemoteSettingsChanged):
                    self.settings = ev.changed_settings
                elif isinstance(ev, h2.events.StreamReset):
                    if resets is None:
                        raise AssertionError("stream %d reset"
                                             % ev.stream_id)
                    resets.append(ev.stream_id)
                    self.ended.append(ev.stream_id)
            self.flush()
        return self.ended

    def close(self):
        self.sock.close()


def test_streams_answered_as_ready(gate, pki):
    """Two queries with ID 0 on one connection (RFC 8484 4.1: the server
    must not rely on the ID): the local answer comes back before the slow
    forwarded one, each on its own stream."""
    c = H2Client(gate, pki)
    try:
        slow = make_query(fault_name("slow-800", sysutil.token()), "A",
                          qid=0)
        local = make_query(LOCAL, "A", qid=0)
        s1 = c.post(slow.to_wire())
        s2 = c.post(local.to_wire())
        c.flush()
        assert c.wait(2) == [s2, s1]
        for sid, q, addr in ((s1, slow, "192.0.2.1"), (s2, local, LOCAL_A)):
            assert c.headers[sid][":status"] == "200"
            r = dns.message.from_wire(c.data[sid])
            assert r.id == 0 and r.question == q.question
            assert sysutil.answer_addresses(r) == [addr]
    finally:
        c.close()


def test_many_streams_on_one_connection(gate, pki):
    """Fifty POSTs in one write (under https-max-streams, 100), half of
    them with the body in two DATA frames: fifty 200s, each with its own
    question."""
    c = H2Client(gate, pki)
    try:
        sent = {}
        for i in range(50):
            q = make_query("n%d.%s" % (i, LOCAL), "A", qid=0)
            sent[c.post(q.to_wire(), split=i % 2 == 1)] = q
        c.flush()
        assert sorted(c.wait(50)) == sorted(sent)
        for sid, q in sent.items():
            assert c.headers[sid][":status"] == "200"
            r = dns.message.from_wire(c.data[sid])
            assert r.question == q.question
    finally:
        c.close()


def test_dropped_query_resets_its_stream(gate, pki):
    """A message the pipeline drops (QR=1: a response, not a query) gets
    RST_STREAM at once, and the connection goes on."""
    c = H2Client(gate, pki)
    try:
        bogus = make_query(LOCAL, "A", qid=0)
        bogus.flags |= dns.flags.QR
        s1 = c.post(bogus.to_wire())
        c.flush()
        resets = []
        assert c.wait(1, resets) == [s1] and resets == [s1]
        s2 = c.post(make_query(LOCAL, "A", qid=0).to_wire())
        c.flush()
        assert c.wait(2) == [s1, s2]
        r = dns.message.from_wire(c.data[s2])
        assert sysutil.answer_addresses(r) == [LOCAL_A]
    finally:
        c.close()


def test_https_max_streams_announced(dnsgate_conf, pki, fault):
    gate = doh_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"https-max-streams": "7"})
    c = H2Client(gate, pki)
    try:
        c.post(make_query(LOCAL, "A").to_wire())
        c.flush()
        c.wait(1)
        assert c.conn.remote_settings.max_concurrent_streams == 7
    finally:
        c.close()


def test_large_answer(dnsgate_conf, pki, nsd, http2):
    gate = doh_gate(dnsgate_conf, pki, body(nsd.addr))
    ref = nsd.query(make_query(BIG, "TXT", edns=0, payload=4096), tcp=True)
    r = dns.query.https(make_query(BIG, "TXT", edns=0), gate.https[0],
                        port=gate.https[1], timeout=3, session=http2.client)
    assert not r.flags & dns.flags.TC
    assert sysutil.section_text(r.answer) == sysutil.section_text(ref.answer)


# -- ALPN --------------------------------------------------------------------


def test_alpn_offers_h2(gate, pki):
    ctx = pki.client_context(alpn=["h2", "http/1.1"])
    with socket.create_connection(gate.https, timeout=3) as raw:
        with ctx.wrap_socket(raw, server_hostname=certs.HOSTNAME) as s:
            assert s.selected_alpn_protocol() == "h2"


def test_alpn_http11_only_refused(gate, pki):
    ctx = pki.client_context(alpn=["http/1.1"])
    with socket.create_connection(gate.https, timeout=3) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname=certs.HOSTNAME).close()


def test_curl_uses_http2(gate, pki, tmp_path):
    c = curl_get(gate, pki, tmp_path, make_query(LOCAL, "A"))
    assert c.version == "2"
    assert sysutil.answer_addresses(c.message()) == [LOCAL_A]


# -- HTTP errors and headers -----------------------------------------------


def errors(m, status):
    return sysutil.metric(m, "dnsgate_https_errors_total", status=str(status))


@pytest.mark.parametrize("case,status", [
    ("other path", 404),
    ("PUT", 405),
    ("DELETE", 405),
    ("POST text/plain", 415),
    ("GET without dns=", 400),
    ("GET dns= not base64url", 400),
    ("GET dns= too short", 400),
    ("POST empty body", 400),
    ("POST too large", 413),
    ("GET dns= too large", 431),
])
def test_http_errors(gate, pki, tmp_path, case, status):
    wire = make_query(LOCAL, "A").to_wire()
    before = scrape(gate)
    if case == "other path":
        c = curl_get(gate, pki, tmp_path, make_query(LOCAL, "A"),
                     path="/other")
    elif case in ("PUT", "DELETE"):
        c = Curl(gate, pki, tmp_path, method=case, data=wire,
                 headers=["content-type: %s" % MEDIA])
    elif case == "POST text/plain":
        c = curl_post(gate, pki, tmp_path, wire, ctype="text/plain")
    elif case == "GET without dns=":
        c = Curl(gate, pki, tmp_path, path=PATH)
    elif case == "GET dns= not base64url":
        c = Curl(gate, pki, tmp_path, path=PATH + "?dns=%21%21%21%21")
    elif case == "GET dns= too short":
        c = Curl(gate, pki, tmp_path, path=PATH + "?dns=" + b64url(wire[:6]))
    elif case == "GET dns= too large":
        c = Curl(gate, pki, tmp_path, path=PATH + "?dns=" + "A" * 20000)
    elif case == "POST empty body":
        c = curl_post(gate, pki, tmp_path, b"")
    else:
        c = curl_post(gate, pki, tmp_path, wire + bytes(70000))
    assert c.version == "2"
    assert c.status == status, (c.status, c.body)
    after = wait_metric(gate, lambda m: errors(m, status) > errors(
        before, status))
    assert errors(after, status) - errors(before, status) == 1


def test_405_names_the_methods_allowed(gate, pki, tmp_path):
    """RFC 9110 15.5.6: a 405 says which methods are allowed."""
    c = Curl(gate, pki, tmp_path, method="OPTIONS")
    assert c.status == 405
    allowed = {m.strip() for m in c.headers.get("allow", "").split(",")}
    assert allowed == {"GET", "POST"}, c.headers


def test_head_gets_405_without_content(gate, pki, tmp_path):
    wire = make_query(LOCAL, "A").to_wire()
    c = Curl(gate, pki, tmp_path, method="HEAD",
             path="%s?dns=%s" % (PATH, b64url(wire)))
    assert c.status == 405


def test_custom_https_path(dnsgate_conf, pki, fault, tmp_path):
    gate = doh_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"https-path": "/resolve"})
    q = make_query(LOCAL, "A")
    c = curl_get(gate, pki, tmp_path, q, path="/resolve")
    assert sysutil.answer_addresses(c.message()) == [LOCAL_A]
    assert curl_get(gate, pki, tmp_path, q).status == 404


def test_get_with_other_parameters(gate, pki, tmp_path):
    """RFC 8484 4.1.1: dns is one variable of the query string."""
    wire = make_query(LOCAL, "A").to_wire()
    c = Curl(gate, pki, tmp_path,
             path="%s?ct=x&dns=%s&z=1" % (PATH, b64url(wire)))
    assert sysutil.answer_addresses(c.message()) == [LOCAL_A]


def test_post_media_type_with_parameter(gate, pki, tmp_path):
    c = curl_post(gate, pki, tmp_path, make_query(LOCAL, "A").to_wire(),
                  ctype="Application/DNS-Message; charset=binary")
    assert sysutil.answer_addresses(c.message()) == [LOCAL_A]


def test_answers_carry_max_age(gate, pki, fault, tmp_path):
    """RFC 8484 5.1: max-age is the smallest TTL of the answer, or the
    negative TTL (RFC 2308 5: min of SOA TTL and MINIMUM)."""
    name = fault_name("ttl-42", sysutil.token())
    c = curl_get(gate, pki, tmp_path, make_query(name, "A"))
    r = c.message()
    assert sysutil.answer_addresses(r) == ["192.0.2.1"]
    assert c.headers.get("cache-control") == "max-age=42", c.headers
    c = curl_post(gate, pki, tmp_path, make_query(LOCAL, "A").to_wire())
    assert sysutil.answer_addresses(c.message()) == [LOCAL_A]
    assert c.headers.get("cache-control") == "max-age=300", c.headers
    name = fault_name("nxdomain-30", sysutil.token())
    c = curl_get(gate, pki, tmp_path, make_query(name, "A"))
    assert c.message().rcode() == dns.rcode.NXDOMAIN
    assert c.headers.get("cache-control") == "max-age=30", c.headers


def test_cached_answer_max_age_follows_ttl(dnsgate_conf, pki, fault,
                                           tmp_path):
    """From the cache, max-age is the TTL left, as in the answer."""
    gate = doh_gate(dnsgate_conf, pki,
                    body(fault.addr) + "\n[cache]\nsize = 1MB\n")
    name = fault_name("ttl-42", sysutil.token())
    q = make_query(name, "A")
    assert curl_get(gate, pki, tmp_path, q).headers.get(
        "cache-control") == "max-age=42"
    time.sleep(1.1)
    c = curl_get(gate, pki, tmp_path, q)
    ttl = c.message().answer[0].ttl
    assert len(fault.queries(name)) == 1  # the second came from the cache
    assert ttl < 42
    assert c.headers.get("cache-control") == "max-age=%d" % ttl, c.headers


def test_dns_error_is_http_200(gate, pki, fault, tmp_path):
    """RFC 8484 4.2.1: a DNS error is a 200 carrying that RCODE; nothing
    to keep, so max-age=0."""
    name = fault_name("servfail", sysutil.token())
    c = curl_get(gate, pki, tmp_path, make_query(name, "A"))
    assert c.status == 200
    assert c.message().rcode() == dns.rcode.SERVFAIL
    assert c.headers.get("cache-control") == "max-age=0", c.headers


# -- connections --------------------------------------------------------------


def test_handshake_timeout(dnsgate_conf, pki, fault):
    gate = doh_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"tls-handshake-timeout": "1s"})
    before = scrape(gate)
    with socket.create_connection(gate.https, timeout=3) as s:
        assert sysutil.connection_closed(s, 4)
    after = wait_metric(gate, lambda m: handshakes(m, "timeout") >
                        handshakes(before, "timeout"))
    assert handshakes(after, "timeout") - handshakes(before, "timeout") == 1


def test_idle_timeout(dnsgate_conf, pki, fault):
    """tcp-idle-timeout closes an idle HTTP/2 connection too."""
    gate = doh_gate(dnsgate_conf, pki, body(fault.addr),
                    server={"tcp-idle-timeout": "1s"})
    c = H2Client(gate, pki)
    try:
        c.post(make_query(LOCAL, "A").to_wire())
        c.flush()
        c.wait(1)
        start = time.monotonic()
        closed = False
        while time.monotonic() - start < 4:
            try:
                chunk = c.sock.recv(65536)
            except socket.timeout:
                break
            except (ssl.SSLError, ConnectionError):
                closed = True
                break
            if not chunk:
                closed = True
                break
            c.conn.receive_data(chunk)  # a GOAWAY may come first
        assert closed
        assert time.monotonic() - start < 3.5
    finally:
        c.close()


def test_session_resumed(gate, pki):
    before = scrape(gate)
    # Python resumes a session only with the SSLContext that made it.
    ctx = pki.client_context(alpn=["h2"])
    session = None
    for resumed in (False, True):
        c = H2Client(gate, pki, ctx=ctx, session=session)
        try:
            assert c.sock.session_reused == resumed
            sid = c.post(make_query(LOCAL, "A", qid=0).to_wire())
            c.flush()
            c.wait(1)
            r = dns.message.from_wire(c.data[sid])
            assert sysutil.answer_addresses(r) == [LOCAL_A]
            session = c.sock.session
        finally:
            c.close()
    after = wait_metric(gate, lambda m: handshakes(m, "resumed") >
                        handshakes(before, "resumed"))
    assert handshakes(after, "full") - handshakes(before, "full") == 1
    assert handshakes(after, "resumed") - handshakes(before, "resumed") == 1


# -- DNS over HTTPS specifics -------------------------------------------------


def received_size(out):
    for line in out.splitlines():
        if line.startswith(";; Received "):
            return int(line.split()[2])
    raise AssertionError("no ';; Received' line:\n" + out)


def test_padding(gate, pki, fault):
    rc, out = kdig(gate, pki, fault_name("ok", sysutil.token()), "+https",
                   "+padding")
    assert rc == 0, out
    assert "PADDING:" in out, out
    assert received_size(out) % RESPONSE_BLOCK == 0, out


def test_padding_dnspython(gate, http2):
    q = make_query(LOCAL, "A", edns=0,
                   options=[dns.edns.GenericOption(PADDING, bytes(100))])
    resp = http2.client.post(gate.url, content=q.to_wire(),
                             headers={"content-type": MEDIA})
    assert resp.status_code == 200
    assert len(resp.content) % RESPONSE_BLOCK == 0, len(resp.content)
    r = dns.message.from_wire(resp.content)
    assert PADDING in sysutil.option_codes(r)
    assert sysutil.answer_addresses(r) == [LOCAL_A]


@pytest.mark.parametrize("rdtype", ["AXFR", "IXFR"])
def test_zone_transfer_formerr(gate, http2, fault, rdtype):
    name = "zone.%s.fault.test." % sysutil.token()
    q = make_query(name, rdtype)
    r = dns.query.https(q, gate.https[0], port=gate.https[1], timeout=3,
                        session=http2.client)
    assert r.rcode() == dns.rcode.FORMERR
    assert fault.queries_under(name) == []


VIEWS = """
[view doh]
match-transport = https
upstream = none
local-data = who.test. 300 IN A 192.0.2.3

[view plain]
match-transport = udp, tcp
upstream = none
local-data = who.test. 300 IN A 192.0.2.2
"""


def test_match_transport_picks_view(dnsgate_conf, pki, http2):
    gate = doh_gate(dnsgate_conf, pki, VIEWS)
    q = make_query("who.test.", "A")
    r = dns.query.https(q, gate.https[0], port=gate.https[1], timeout=3,
                        session=http2.client)
    assert sysutil.answer_addresses(r) == ["192.0.2.3"]
    assert sysutil.answer_addresses(gate.udp(q)[0]) == ["192.0.2.2"]
    assert sysutil.answer_addresses(gate.tcp(q)[0]) == ["192.0.2.2"]


def test_explain_transport_https(tmp_path, pki):
    conf = tmp_path / "dnsgate.conf"
    conf.write_text("\n".join([
        "[server]",
        "listen = 127.0.0.1:5399",
        "listen-https = 127.0.0.1:8443",
        "tls-certificate = %s" % pki.cert,
        "tls-key = %s" % pki.key,
        VIEWS]))
    assert explained_view(conf, "https")[0] == "doh"
    assert explained_view(conf, "udp")[0] == "plain"


def test_decision_log_proto(gate, http2):
    q = make_query(LOCAL, "A", qid=4242)
    dns.query.https(q, gate.https[0], port=gate.https[1], timeout=3,
                    session=http2.client)
    assert gate.wait_decision(LOCAL, qid=4242)["proto"] == "https"


def test_metrics(gate, http2):
    before = scrape(gate)
    for post in (True, True, False):
        q = make_query(LOCAL, "A")
        r = dns.query.https(q, gate.https[0], port=gate.https[1],
                            timeout=3, session=http2.client, post=post)
        assert sysutil.answer_addresses(r) == [LOCAL_A]
    during = scrape(gate)
    assert connections(during) == 1  # one HTTP/2 connection for all three
    http2.close()
    m = wait_metric(gate, lambda m: connections(m) == 0)
    assert connections(m) == 0

    def delta(name, **labels):
        return (sysutil.metric(m, name, **labels) -
                sysutil.metric(before, name, **labels))
    assert delta("dnsgate_queries_total", proto="https") == 3
    assert delta("dnsgate_queries_total", proto="tls") == 0
    assert delta("dnsgate_https_requests_total", method="POST") == 2
    assert delta("dnsgate_https_requests_total", method="GET") == 1
    assert delta("dnsgate_tls_handshakes_total", proto="https",
                 result="full") == 1
