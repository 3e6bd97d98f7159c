# SPDX-License-Identifier: BSD-2-Clause
"""Lists named by URL (dnsgate.conf(5), "Lists from URLs"): downloaded at
start and every [lists] refresh from an HTTP server on 127.0.0.1 that the
tests control (python's http.server in a thread; nothing reaches the
Internet), conditional requests, the last good copy kept in cache-dir
through every kind of bad download (slow, huge, truncated, 404, HTML,
binary, redirect to file://, an untrusted certificate), queries answered
while a download hangs, restarts without the server, -t and explain
reading the copy without downloading, the log lines and the metrics.
"""

import glob
import os
import pwd
import shutil
import signal
import ssl
import stat
import subprocess
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dns.rcode
import pytest

import sysutil
from conftest import DNSGATE_BIN
from sysutil import make_query

GOOD = b"# ads\nads.example.com\ntracker.example.net\n"
GOOD2 = b"# ads, version 2\nnew.example.org\n"


class ListHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        srv = self.server.owner
        route = srv.routes.get(self.path.split("?")[0])
        srv.requests.append({
            "path": self.path,
            "if-none-match": self.headers.get("If-None-Match"),
            "if-modified-since": self.headers.get("If-Modified-Since"),
        })
        if route is None:
            self.send_error(404)
            return
        getattr(self, "serve_" + route["mode"].replace("-", "_"))(route)

    def send_body(self, code, body, length=True, headers=()):
        self.send_response(code)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def serve_ok(self, route):
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        etag, lm = route["etag"], route["last-modified"]
        # RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only
        # without it.
        if (etag is not None and inm == etag) or \
                (inm is None and lm is not None and ims == lm):
            self.send_response(304)
            self.end_headers()
            return
        headers = [("Content-Type", "text/plain")]
        if etag is not None:
            headers.append(("ETag", etag))
        if lm is not None:
            headers.append(("Last-Modified", lm))
        self.send_body(200, route["body"], headers=headers)

    def serve_slow(self, route):
        # Holds the request until the test releases it (or long enough
        # for any [lists] timeout of these tests to pass first).
        self.server.owner.hanging.set()
        self.server.owner.release.wait(30)

    def serve_huge(self, route):
        # Close-delimited, no Content-Length: only the count of the bytes
        # received can stop it.
        self.send_response(200)
        self.end_headers()
        line = b"x%08d.huge.example\n"
        try:
            for i in range(200000):
                self.wfile.write(line % i)
        except OSError:
            pass

    def serve_huge_declared(self, route):
        body = b"".join(b"y%08d.huge.example\n" % i for i in range(20000))
        self.send_body(200, body)

    def serve_truncated(self, route):
        # The length of the whole list, the first half of its bytes.
        body = b"".join(b"t%06d.cut.example\n" % i for i in range(2000))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])

    def serve_status(self, route):
        self.send_body(route["status"], b"not here\n")

    def serve_html(self, route):
        self.send_body(200, b"<!DOCTYPE html>\n<html><body>Oops, the list "
                       b"moved</body></html>\n",
                       headers=(("Content-Type", "text/html"),))

    def serve_binary(self, route):
        self.send_body(200, bytes(range(256)) * 8)

    def serve_empty(self, route):
        self.send_body(200, b"# nothing listed today\n")

    def serve_redirect(self, route):
        self.send_body(302, b"", headers=(("Location", route["location"]),))


class ListServer:
    """An HTTP server on 127.0.0.1 whose answer, path by path, the test
    sets: set_list(path, body) serves a list with an ETag and a
    Last-Modified (304 to a request that names them), set_mode(path, mode)
    misbehaves."""

    def __init__(self, tls_context=None, port=0):
        self.routes = {}
        self.requests = []
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), ListHandler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(
                self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls_context else "http"
        self.version = 0
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def set_list(self, path, body):
        self.version += 1
        self.routes[path] = {
            "mode": "ok", "body": body,
            "etag": '"v%d"' % self.version,
            "last-modified": formatdate(time.time() - 3600 + self.version,
                                        usegmt=True),
        }

    def set_mode(self, path, mode, **kw):
        route = dict(self.routes.get(path, {}))
        route.update(kw, mode=mode)
        self.routes[path] = route

    def gets(self, path):
        return [r for r in self.requests if r["path"] == path]

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def lists():
    srv = ListServer()
    yield srv
    srv.stop()


def list_name(url):
    """A list's name in metrics, EDE and rules: its URL's last segment."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def list_entries(m, url):
    """dnsgate_list_entries of the blocklist named by url, in any view
    (the family is labelled view, kind and list name: obs/control.c)."""
    return sum(v for (name, labels), v in m.items()
               if name == "dnsgate_list_entries"
               and ("list", list_name(url)) in labels)


def list_skipped(m, url):
    """dnsgate_list_skipped of that list, bad and unsupported together."""
    return sum(v for (name, labels), v in m.items()
               if name == "dnsgate_list_skipped"
               and ("list", list_name(url)) in labels)


def conf_body(nsd, cache, blocklists=(), allowlists=(), refresh="1h",
              timeout="5s", max_size="1MB", extra=""):
    lines = ["[lists]",
             "cache-dir = %s" % cache,
             "refresh = %s" % refresh,
             "timeout = %s" % timeout,
             "max-size = %s" % max_size,
             "[upstream up]",
             "server = %s" % nsd.addr,
             "[view all]",
             "upstream = up"]
    lines += ["blocklist = %s" % b for b in blocklists]
    lines += ["allowlist = %s" % a for a in allowlists]
    return "\n".join(lines) + "\n" + extra


def messages(gate, part):
    return [o["msg"] for o in gate.log_lines()
            if "msg" in o and part in o["msg"]]


def wait_log(gate, part, count=1, timeout=20.0):
    got = sysutil.wait_for(lambda: len(messages(gate, part)) >= count,
                           timeout)
    assert got, "no %d log line(s) with %r within %.0fs:\n%s" % (
        count, part, timeout, gate.stderr_text()[-4000:])
    return messages(gate, part)


IN_USE = "lists downloaded are in use"


def ask(gate, name, rdtype="A"):
    r, _ = gate.udp(make_query(name, rdtype, edns=0))
    assert r is not None, name
    return r


def blocked_by(r):
    if r.rcode() != dns.rcode.NXDOMAIN:
        return None
    texts = [o.text for o in r.options if int(o.otype) == 15]
    return texts[0] if texts else ""


def metrics_port():
    return sysutil.free_port()


def scrape(gate):
    return sysutil.scrape_metrics(gate.metrics)


def start(dnsgate_conf, body, **server):
    port = metrics_port()
    server["metrics-listen"] = "127.0.0.1:%d" % port
    gate = dnsgate_conf(body, server=server)
    gate.metrics = "127.0.0.1:%d" % port
    return gate


def result_count(gate, url, result):
    return sysutil.metric(scrape(gate), "dnsgate_list_refresh_total",
                          list=url, result=result)


# -- downloads that work -----------------------------------------------------


def test_first_download_blocks_and_is_logged(dnsgate_conf, nsd, lists,
                                             tmp_path):
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url]))
    # No copy yet: the server comes up, warns, and fills the list later.
    assert messages(gate, "no copy downloaded yet")
    line = wait_log(gate, "list %s: downloaded" % url)[0]
    assert "2 entries, 0 skipped, %d bytes (HTTP 200" % len(GOOD) in line
    wait_log(gate, IN_USE)
    for name in ("ads.example.com.", "deep.tracker.example.net."):
        assert blocked_by(ask(gate, name)) == "blocked by ads.txt", name
    assert ask(gate, "www.example.test.").rcode() == dns.rcode.NOERROR
    d = gate.wait_decision("ads.example.com.")
    assert d["rule"] == "blocklist:ads.txt"
    m = scrape(gate)
    assert sysutil.metric(m, "dnsgate_list_refresh_total", list=url,
                          result="updated") == 1
    assert list_entries(m, url) == 2
    assert sysutil.metric(m, "dnsgate_list_bytes", list=url) == len(GOOD)
    assert list_skipped(m, url) == 0
    assert ("dnsgate_list_age_seconds", frozenset({("list", url)})) in m
    # The copy: in cache-dir, under a directory named by host and hash.
    copies = list((tmp_path / "cache").glob("127.0.0.1-*/ads.txt"))
    assert len(copies) == 1 and copies[0].read_bytes() == GOOD


def test_refresh_conditional_304_then_changed_list(dnsgate_conf, nsd, lists,
                                                   tmp_path):
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url],
                                         refresh="2s"))
    wait_log(gate, IN_USE)
    first = lists.routes["/ads.txt"]
    # The next download names the copy's validators and gets a 304:
    # nothing is rebuilt, the list stays.
    wait_log(gate, "list %s: unchanged (HTTP 304" % url)
    again = lists.gets("/ads.txt")[1]
    assert again["if-none-match"] == first["etag"]
    assert again["if-modified-since"] == first["last-modified"]
    assert len(messages(gate, IN_USE)) == 1
    assert blocked_by(ask(gate, "ads.example.com.")) == "blocked by ads.txt"
    assert result_count(gate, url, "unchanged") >= 1
    # A new version: swapped in at the next refresh.
    lists.set_list("/ads.txt", GOOD2)
    wait_log(gate, IN_USE, count=2)
    assert blocked_by(ask(gate, "new.example.org.")) == "blocked by ads.txt"
    assert blocked_by(ask(gate, "ads.example.com.")) is None
    assert result_count(gate, url, "updated") == 2
    assert list_entries(scrape(gate), url) == 1


def test_same_bytes_without_validators_change_nothing(dnsgate_conf, nsd,
                                                      lists, tmp_path):
    """A server that sends neither ETag nor Last-Modified: the same body
    again counts as unchanged and rebuilds nothing."""
    lists.set_list("/plain.txt", GOOD)
    lists.routes["/plain.txt"].update({"etag": None, "last-modified": None})
    lists.set_mode("/plain.txt", "ok")
    url = lists.url("/plain.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url],
                                         refresh="2s"))
    wait_log(gate, IN_USE)
    wait_log(gate, "list %s: unchanged (the same %d bytes)"
             % (url, len(GOOD)))
    assert len(messages(gate, IN_USE)) == 1


def test_rpz_and_allowlist_by_url(dnsgate_conf, nsd, lists, tmp_path):
    zone = (b"$TTL 60\n@ SOA localhost. root.localhost. 1 1h 15m 1w 60\n"
            b"  NS localhost.\n"
            b"ads.example.com CNAME .\n"
            b"*.ads.example.com CNAME .\n"
            b"portal.example.com A 192.0.2.77\n")
    lists.set_list("/policy.rpz", zone)
    lists.set_list("/allow.txt", b"ok.ads.example.com\n")
    rpz, allow = lists.url("/policy.rpz"), lists.url("/allow.txt")
    gate = start(dnsgate_conf, conf_body(
        nsd, tmp_path / "cache", ["rpz:" + rpz], [allow]))
    wait_log(gate, "list rpz:%s: downloaded" % rpz)
    wait_log(gate, "list %s: downloaded" % allow)
    assert sysutil.wait_for(
        lambda: blocked_by(ask(gate, "x.ads.example.com.")) is not None and
        ask(gate, "ok.ads.example.com.").rcode() != dns.rcode.NXDOMAIN
        and ask(gate, "portal.example.com.").answer, 10)
    r = ask(gate, "portal.example.com.")
    assert [rd.to_text() for rrset in r.answer for rd in rrset] == \
        ["192.0.2.77"]
    assert blocked_by(ask(gate, "x.ads.example.com.")) == \
        "blocked by policy.rpz"


def test_a_list_swap_keeps_the_cache(dnsgate_conf, nsd, lists, tmp_path):
    """A download swaps in the rebuilt index and nothing else: the answer
    cache of the view (and every other run-time record) stays."""
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url],
                                         refresh="2s",
                                         extra="[cache]\nsize = 1MB\n"))
    wait_log(gate, IN_USE)
    q = make_query("www.example.test.", "A", edns=0)
    gate.udp(q)
    lists.set_list("/ads.txt", GOOD2)
    wait_log(gate, IN_USE, count=2)
    q2 = make_query("www.example.test.", "A", edns=0)
    r, _ = gate.udp(q2)
    assert r.rcode() == dns.rcode.NOERROR
    assert gate.wait_decision(qid=q2.id)["action"] == "cache"
    assert blocked_by(ask(gate, "new.example.org.")) == "blocked by ads.txt"


def test_reload_reads_the_copies_and_downloads_new_lists(dnsgate_conf, nsd,
                                                       lists, tmp_path):
    """A reload reads the copies (no download for the lists it keeps, whose
    names stay blocked) and downloads a list it adds at once."""
    lists.set_list("/a.txt", GOOD)
    lists.set_list("/b.txt", GOOD2)
    a, b = lists.url("/a.txt"), lists.url("/b.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [a]))
    wait_log(gate, IN_USE)
    text = gate.config_path.read_text()
    gate.config_path.write_text(text.replace(
        "blocklist = %s\n" % a, "blocklist = %s\nblocklist = %s\n" % (a, b)))
    missing = "blocklist %s: no copy downloaded yet"
    assert len(messages(gate, missing % a)) == 1  # at start
    gate.signal(signal.SIGHUP)
    wait_log(gate, "reloaded")
    assert len(messages(gate, missing % a)) == 1  # the reload read it
    assert len(messages(gate, missing % b)) == 1
    assert blocked_by(ask(gate, "ads.example.com.")) == "blocked by a.txt"
    wait_log(gate, "list %s: downloaded" % b)
    wait_log(gate, IN_USE, count=2)
    assert blocked_by(ask(gate, "new.example.org.")) == "blocked by b.txt"
    assert blocked_by(ask(gate, "ads.example.com.")) == "blocked by a.txt"
    assert len(lists.gets("/a.txt")) == 1  # refresh is 1h
    m = scrape(gate)
    assert list_entries(m, a) == 2
    assert list_entries(m, b) == 1
    # A list the file drops: no longer used, downloaded or counted.
    gate.config_path.write_text(text.replace("blocklist = %s\n" % a,
                                             "blocklist = %s\n" % b))
    gate.signal(signal.SIGHUP)
    wait_log(gate, "reloaded", count=2)
    assert blocked_by(ask(gate, "ads.example.com.")) is None
    assert blocked_by(ask(gate, "new.example.org.")) == "blocked by b.txt"
    m = scrape(gate)
    assert not [k for k in m if k[0] == "dnsgate_list_entries"
                and ("list", list_name(a)) in k[1]]
    assert list_entries(m, b) == 1
    assert len(lists.gets("/b.txt")) == 1


# -- bad downloads keep the last good copy ---------------------------------

HOSTILE = [
    # mode, route options, result label, a part of the log line
    ("huge", {}, "too-large", "larger than max-size"),
    ("huge-declared", {}, "too-large", "larger than max-size"),
    ("truncated", {}, "truncated", "truncated after"),
    ("status", {"status": 404}, "http-error", "HTTP status 404"),
    ("status", {"status": 500}, "http-error", "HTTP status 500"),
    ("html", {}, "invalid", "HTML or XML, not a list"),
    ("binary", {}, "invalid", "binary data"),
    ("empty", {}, "invalid", "a list without any entry"),
    ("redirect", {"location": "file:///etc/passwd"}, "network", "file"),
]


@pytest.mark.parametrize("mode,opts,result,why", HOSTILE,
                         ids=[h[0] + str(h[1].get("status", ""))
                              for h in HOSTILE])
def test_bad_download_keeps_last_good_copy(dnsgate_conf, nsd, lists,
                                           tmp_path, mode, opts, result,
                                           why):
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url],
                                         refresh="2s", max_size="64KB"))
    wait_log(gate, IN_USE)
    copy = list((tmp_path / "cache").glob("*/ads.txt"))[0]
    lists.set_mode("/ads.txt", mode, **opts)
    line = wait_log(gate, "list %s: download failed (%s: " % (url, result))[0]
    assert why in line, line
    assert "keeping the last good copy (2 entries" in line
    assert blocked_by(ask(gate, "ads.example.com.")) == "blocked by ads.txt"
    assert ask(gate, "www.example.test.").rcode() == dns.rcode.NOERROR
    assert copy.read_bytes() == GOOD
    assert not list((tmp_path / "cache").glob("*/.download/*"))
    m = scrape(gate)
    assert sysutil.metric(m, "dnsgate_list_refresh_total", list=url,
                          result=result) >= 1
    assert list_entries(m, url) == 2
    assert len(messages(gate, IN_USE)) == 1


def test_slow_server_times_out_and_keeps_copy(dnsgate_conf, nsd, lists,
                                              tmp_path):
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url],
                                         refresh="2s", timeout="1s"))
    wait_log(gate, IN_USE)
    lists.set_mode("/ads.txt", "slow")
    line = wait_log(gate, "list %s: download failed (timeout: " % url)[0]
    assert "keeping the last good copy" in line
    assert blocked_by(ask(gate, "ads.example.com.")) == "blocked by ads.txt"
    assert result_count(gate, url, "timeout") >= 1


def test_queries_answered_while_a_download_hangs(dnsgate_conf, nsd, lists,
                                                 tmp_path):
    """The download hangs (the server holds it, far below the timeout):
    queries are answered all the same, and SIGTERM does not wait for
    it."""
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url],
                                         refresh="2s", timeout="10m"))
    wait_log(gate, IN_USE)
    lists.set_mode("/ads.txt", "slow")
    assert lists.hanging.wait(20), "no download started"
    for i in range(20):
        assert blocked_by(ask(gate, "ads.example.com.")) == \
            "blocked by ads.txt"
        r = ask(gate, "www.example.test.")
        assert r.rcode() == dns.rcode.NOERROR and r.answer
    r, _ = gate.tcp(make_query("www.example.test.", "A"))
    assert r.rcode() == dns.rcode.NOERROR
    assert not lists.release.is_set()  # still hanging
    assert gate.stop() == 0


def test_untrusted_certificate_is_refused(dnsgate_conf, nsd, lists,
                                          tmp_path):
    """https checks the certificate against the system store: a
    self-signed one is a failed download, never a list."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    srv = ListServer(tls_context=ctx)
    try:
        srv.set_list("/ads.txt", GOOD)
        url = srv.url("/ads.txt")
        gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url]))
        line = wait_log(gate, "list %s: download failed (network: " % url)[0]
        assert "certificate" in line.lower(), line
        assert "the list is EMPTY" in line
        assert blocked_by(ask(gate, "ads.example.com.")) is None
        assert not list((tmp_path / "cache").glob("*/ads.txt"))
    finally:
        srv.stop()


def test_cache_dir_made_for_the_user_dropped_to(dnsgate_conf, nsd, lists):
    """Started as root with [server] user: cache-dir is made 0750 and given
    to that user, who then writes the copies there."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    top = tempfile.mkdtemp(prefix="dglists", dir="/tmp")
    try:
        os.chmod(top, 0o755)  # pytest's tmp_path is root's alone
        cache = os.path.join(top, "lib", "lists")
        lists.set_list("/ads.txt", GOOD)
        url = lists.url("/ads.txt")
        gate = start(dnsgate_conf, conf_body(nsd, cache, [url]),
                     user="nobody")
        wait_log(gate, IN_USE)
        st = os.stat(cache)
        assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid)
        assert stat.S_IMODE(st.st_mode) == 0o750
        assert stat.S_IMODE(os.stat(os.path.dirname(cache)).st_mode) == \
            0o755
        copy = glob.glob(os.path.join(cache, "*", "ads.txt"))
        assert len(copy) == 1
        assert os.stat(copy[0]).st_uid == nobody.pw_uid
        assert blocked_by(ask(gate, "ads.example.com.")) == \
            "blocked by ads.txt"
    finally:
        shutil.rmtree(top, ignore_errors=True)


# -- start-up without the server -------------------------------------------


def test_restart_without_server_uses_the_copy(dnsgate_conf, nsd, lists,
                                              tmp_path):
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    body = conf_body(nsd, tmp_path / "cache", [url])
    gate = start(dnsgate_conf, body)
    wait_log(gate, IN_USE)
    assert gate.stop() == 0
    lists.stop()  # nothing listens on that port any more
    gate = start(dnsgate_conf, body)
    # Blocked from the first query: the copy was read at start.
    assert blocked_by(ask(gate, "ads.example.com.")) == "blocked by ads.txt"
    assert not messages(gate, "no copy downloaded yet")
    line = wait_log(gate, "list %s: download failed (network: " % url)[0]
    assert "keeping the last good copy (2 entries" in line
    assert list_entries(scrape(gate), url) == 2


def test_first_start_without_server_comes_up_empty(dnsgate_conf, nsd,
                                                   tmp_path):
    """No copy and no server: dnsgate comes up with the list empty and
    says so loudly; the list fills once the server answers."""
    port = sysutil.free_port()
    url = "http://127.0.0.1:%d/ads.txt" % port
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url],
                                         refresh="2s"))
    assert messages(gate, "no copy downloaded yet")
    line = wait_log(gate, "list %s: download failed (network: " % url)[0]
    assert "there is no copy: the list is EMPTY" in line
    assert blocked_by(ask(gate, "ads.example.com.")) is None
    levels = [o["level"] for o in gate.log_lines()
              if "the list is EMPTY" in o.get("msg", "")]
    assert levels[0] == "error"
    # The server comes: the next try fills the list.
    srv = ListServer(port=port)
    try:
        srv.set_list("/ads.txt", GOOD)
        wait_log(gate, IN_USE)
        assert blocked_by(ask(gate, "ads.example.com.")) == \
            "blocked by ads.txt"
    finally:
        srv.stop()


# -- tools: -t and explain ----------------------------------------------------


def run_tool(*args):
    p = subprocess.run([DNSGATE_BIN] + list(args), capture_output=True,
                       text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def test_check_reads_nothing_from_the_network(lists, nsd, tmp_path):
    lists.set_list("/ads.txt", GOOD)
    conf = tmp_path / "dnsgate.conf"
    conf.write_text("[server]\nlisten = 127.0.0.1:%d\n" % sysutil.free_port()
                    + conf_body(nsd, tmp_path / "cache",
                                [lists.url("/ads.txt")]))
    rc, out, err = run_tool("-t", "-c", str(conf))
    assert rc == 0, err
    assert "1 list named by URL: syntax checked" in out
    assert "-t downloads nothing" in out
    assert "no copy downloaded yet" in err
    assert lists.requests == []
    conf.write_text(conf.read_text().replace(
        "http://127.0.0.1", "gopher://127.0.0.1"))
    rc, out, err = run_tool("-t", "-c", str(conf))
    assert rc == 1
    assert ": only http:// and https:// URLs are fetched" in err
    assert "%s:" % conf in err


def test_explain_finds_the_entry_in_the_copy(dnsgate_conf, nsd, lists,
                                             tmp_path):
    lists.set_list("/ads.txt", GOOD)
    url = lists.url("/ads.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [url]))
    wait_log(gate, IN_USE)
    requests = len(lists.requests)
    rc, out, err = run_tool("explain", "-c", str(gate.config_path),
                            "--client", "127.0.0.1",
                            "x.tracker.example.net")
    assert rc == 0, err
    assert ("blocklist: listed by ads.txt:3 (entry 'tracker.example.net', "
            "a parent of the name): blocked") in out
    assert "ede: 15 Blocked (blocked by ads.txt)" in out
    assert len(lists.requests) == requests


# -- metrics ---------------------------------------------------------------


def test_list_metric_families_once_with_help_and_type(dnsgate_conf, nsd,
                                                      lists, tmp_path):
    lists.set_list("/a.txt", GOOD)
    lists.set_list("/b.txt", GOOD2)
    a, b = lists.url("/a.txt"), lists.url("/b.txt")
    gate = start(dnsgate_conf, conf_body(nsd, tmp_path / "cache", [a, b]))
    wait_log(gate, "list %s: downloaded" % a)
    wait_log(gate, "list %s: downloaded" % b)
    text = sysutil.http_get(gate.metrics, "/metrics")[2]
    for fam, kind in (("dnsgate_list_refresh_total", "counter"),
                      ("dnsgate_list_entries", "gauge"),
                      ("dnsgate_list_skipped", "gauge"),
                      ("dnsgate_list_bytes", "gauge"),
                      ("dnsgate_list_age_seconds", "gauge")):
        assert text.count("# TYPE %s %s\n" % (fam, kind)) == 1, fam
        assert text.count("# HELP %s " % fam) == 1, fam
    results = [ln for ln in text.splitlines()
               if ln.startswith('dnsgate_list_refresh_total{list="%s"' % a)]
    assert len(results) == 9  # every result, zeros included
    from prometheus_client.parser import text_string_to_metric_families
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    assert fams["dnsgate_list_entries"].type == "gauge"
    assert {s.labels["list"]: s.value
            for s in fams["dnsgate_list_entries"].samples} == \
        {"a.txt": 2, "b.txt": 1}
    tool = shutil.which("promtool") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "tools", "promtool")
    if os.access(tool, os.X_OK):
        p = subprocess.run([tool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        assert p.returncode == 0, (p.stdout + p.stderr).decode()
