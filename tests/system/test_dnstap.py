# SPDX-License-Identifier: BSD-2-Clause
"""dnstap: with ``[log] dnstap`` dnsgate writes a Frame Streams stream of
dnstap messages, through Debian's libfstrm, to a UNIX socket (``PATH`` or
``unix:PATH``), a TCP collector (``tcp:IP:PORT``) or a file
(``file:PATH``). The collector here is Debian's ``fstrm_capture`` (package
fstrm-bin) and the decoder ``dnstap-read`` (bind9-dnsutils): neither shares
any code with dnsgate.

With ``dnstap-messages = client`` (the default) each query appears as a
CLIENT_QUERY and a CLIENT_RESPONSE with the client's address and port, the
transport and the question, and nothing else; with ``forwarder`` each
attempt upstream appears as a FORWARDER_QUERY and a FORWARDER_RESPONSE from
dnsgate's socket to the server. The stream must survive a collector that
starts after dnsgate, and dnsgate must run normally with no collector.
"""

import os
import re
import shutil
import signal
import socket
import subprocess

import dns.message
import pytest

import faultserver
import sysutil
from conftest import DNSGATE_BIN, build_config
from sysutil import fault_name, make_query

FSTRM_CAPTURE = shutil.which("fstrm_capture") or "/usr/bin/fstrm_capture"
DNSTAP_READ = shutil.which("dnstap-read") or "/usr/bin/dnstap-read"
CONTENT_TYPE = "protobuf:dnstap.Dnstap"
CLIENT_TYPES = ("CLIENT_QUERY", "CLIENT_RESPONSE")
FORWARDER_TYPES = ("FORWARDER_QUERY", "FORWARDER_RESPONSE")


def check_config(text, tmp_path):
    """`dnsgate -t` on text: (exit status, stderr, config path)."""
    conf = tmp_path / "check.conf"
    conf.write_text(text)
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(conf)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    return p.returncode, p.stderr.decode(errors="replace"), conf


@pytest.fixture(scope="module")
def dnstap_supported(tmp_path_factory):
    """Fail, never skip, when a tool is missing or `dnsgate -t` rejects the
    [log] dnstap keys: dnstap is supported, and fstrm-bin and
    bind9-dnsutils are test dependencies (DEPS_TEST in the Makefile)."""
    for tool, pkg in ((FSTRM_CAPTURE, "fstrm-bin"),
                      (DNSTAP_READ, "bind9-dnsutils")):
        if not os.access(tool, os.X_OK):
            pytest.fail("%s is not installed (Debian package %s; make deps)"
                        % (tool, pkg))
    if not os.access(DNSGATE_BIN, os.X_OK):
        pytest.fail("dnsgate binary not found: %s (run make)" % DNSGATE_BIN)
    d = tmp_path_factory.mktemp("dnstap-check")
    rc, err, _ = check_config(
        build_config([(sysutil.LOOPBACK4, 5300)], ["127.0.0.1:53"],
                     log={"dnstap": str(d / "tap.sock"),
                          "dnstap-messages": "client, forwarder"}), d)
    assert rc == 0, "dnsgate -t rejects [log] dnstap: %s" % err.strip()


class Capture:
    """fstrm_capture listening on a UNIX socket or on TCP, writing a
    file. ``target`` is what [log] dnstap names it by."""

    def __init__(self, workdir, transport="unix"):
        self.transport = transport
        self.sock = str(workdir / "tap.sock")
        self.port = None
        self.out = str(workdir / "tap.fstrm")
        self.log = workdir / "fstrm_capture.log"
        self.proc = None

    @property
    def target(self):
        if self.transport == "tcp":
            return "tcp:%s:%d" % (sysutil.LOOPBACK4, self.port)
        return self.sock

    def start(self):
        if self.transport == "tcp":
            self.port = self.port or sysutil.free_port(sysutil.LOOPBACK4)
            where = ["-a", sysutil.LOOPBACK4, "-p", str(self.port)]
        else:
            where = ["-u", self.sock]
        self._log = open(self.log, "wb")
        # -dddd: it logs each control frame, so the tests see the
        # handshake end (connected()).
        self.proc = subprocess.Popen(
            [FSTRM_CAPTURE, "-dddd", "-t", CONTENT_TYPE] + where
            + ["-w", self.out],
            stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        # It opens the file once it listens.
        ok = sysutil.wait_for(lambda: "opened output file" in self.log_text()
                              or self.proc.poll() is not None, 5.0)
        assert ok and self.proc.poll() is None, (
            "fstrm_capture did not start:\n%s" % self.log_text())
        return self

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def connected(self):
        """A writer finished the handshake (its START came)."""
        return "received FSTRM_CONTROL_START" in self.log_text()

    def stop(self):
        """SIGINT: fstrm_capture closes the file and exits."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._log.close()

    def messages(self):
        """Stop, then decode the file."""
        self.stop()
        assert os.path.exists(self.out), (
            "fstrm_capture wrote no file:\n%s" % self.log_text())
        return read_dnstap(self.out)


def read_dnstap(path):
    """The messages of a Frame Streams file, decoded by dnstap-read -y."""
    p = subprocess.run([DNSTAP_READ, "-y", path],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return parse_dnstap_yaml(p.stdout.decode(errors="replace"))


@pytest.fixture
def capture(tmp_path):
    """Factory: capture(start=True, transport="unix") -> a Capture."""
    made = []

    def make(start=True, transport="unix"):
        d = tmp_path / ("capture%d" % len(made))
        d.mkdir()
        c = Capture(d, transport)
        made.append(c)
        return c.start() if start else c

    yield make
    for c in made:
        c.stop()


def started_gate(dnsgate, up, log, cap=None, **kw):
    """dnsgate with these [log] keys; with cap, once its writer is
    connected (fstrm discards what comes before)."""
    gate = dnsgate([up.addr], log=log, **kw)
    if cap is not None:
        ok = sysutil.wait_for(cap.connected, 10.0)
        assert ok, "dnsgate never connected:\n%s\n%s" % (
            cap.log_text(), gate.stderr_text())
    return gate


# -- reading dnstap-read -y ------------------------------------------------

_KEY = re.compile(r"^(\s*)([A-Za-z_]+):\s*(.*)$")
_ITEM = re.compile(r"^\s+- '?(.*?)'?$")


def parse_dnstap_yaml(text):
    """The documents of `dnstap-read -y` as dicts, without a YAML library.

    Each dict holds the top-level keys (identity, version, type), the
    ``message`` keys (type, socket_protocol, query_address, ...) prefixed
    ``m.``, and for query_message_data / response_message_data their header
    keys (id, status, flags, ...) prefixed ``q.`` / ``r.``, with sections
    (QUESTION_SECTION, ...) as lists; what lies deeper (the EDNS details)
    and literal blocks (query_message: |) are skipped.
    """
    docs = []
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        doc, block, literal, section = {}, None, None, None
        for line in chunk.splitlines():
            indent = len(line) - len(line.lstrip())
            if literal is not None:
                if indent > literal or not line.strip():
                    continue
                literal = None
            item = _ITEM.match(line)
            if item and section is not None:
                doc[section].append(item.group(1))
                continue
            m = _KEY.match(line)
            if not m:
                continue
            key, value = m.group(2), m.group(3).strip().strip('"')
            section = None
            if value == "|":
                literal = indent
                continue
            if indent == 0:
                doc[key] = value
            elif indent == 2:
                block = {"query_message_data": "q.",
                         "response_message_data": "r."}.get(key)
                if block is None:
                    doc["m." + key] = value
            elif block is not None and indent == 4:
                if value == "":
                    section = block + key
                    doc[section] = []
                else:
                    doc[block + key] = value
        if doc:
            docs.append(doc)
    return docs


def question(doc, prefix):
    qs = doc.get(prefix + "QUESTION_SECTION") or []
    return qs[0].split()[0] if qs else None


def find(docs, mtype, qname, proto=None):
    """Messages of type mtype whose question (in the query, or else in the
    response) is qname."""
    out = []
    for d in docs:
        if d.get("m.type") != mtype:
            continue
        name = question(d, "q.") or question(d, "r.")
        if not sysutil.same_name(name, qname):
            continue
        if proto is not None and d.get("m.socket_protocol") != proto:
            continue
        out.append(d)
    return out


def the_one(docs, mtype, qname, proto):
    found = find(docs, mtype, qname, proto)
    assert len(found) == 1, ("want one %s %s for %s, got %d of %d:\n%s"
                             % (mtype, proto, qname, len(found), len(docs),
                                docs))
    return found[0]


# -- talking to dnsgate ----------------------------------------------------


def udp_from_known_port(gate, q, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.bind((sysutil.LOOPBACK4, 0))
        s.sendto(q.to_wire(), (gate.host, gate.port))
        return dns.message.from_wire(s.recv(65535)), s.getsockname()[1]
    finally:
        s.close()


def tcp_from_known_port(gate, q):
    s = gate.connect()
    try:
        s.sendall(sysutil.frame(q.to_wire()))
        r = dns.message.from_wire(sysutil.recv_frame(s))
        return r, s.getsockname()[1]
    finally:
        s.close()


def assert_client_pair(docs, gate, name, proto, port):
    """One CLIENT_QUERY and one CLIENT_RESPONSE for name, as dnstap.proto
    recommends filling them in."""
    cq = the_one(docs, "CLIENT_QUERY", name, proto)
    cr = the_one(docs, "CLIENT_RESPONSE", name, proto)
    for d in (cq, cr):
        assert d["type"] == "MESSAGE"
        assert d.get("version", "").startswith("dnsgate"), d
        assert d["m.socket_family"] == "INET"
        assert d["m.query_address"] == "127.0.0.1"
        assert int(d["m.query_port"]) == port
        assert d["m.response_address"] == gate.host
        assert int(d["m.response_port"]) == gate.port
    # dnstap-read shows a query's query_time and a response's response_time.
    assert "m.query_time" in cq, cq
    assert "q.QUESTION_SECTION" in cq, cq  # query_message
    assert "m.response_time" in cr, cr
    assert cr["r.status"] == "NOERROR"  # response_message
    assert any(faultserver.GOOD_A in rr
               for rr in cr.get("r.ANSWER_SECTION", [])), cr


def of_types(docs, types):
    return [d for d in docs if d.get("m.type") in types]


def test_client_query_and_response(dnstap_supported, dnsgate, fault_server,
                                   capture):
    """The default (dnstap-messages = client): the client pair of each
    query over UDP and TCP, and no forwarder messages."""
    up = fault_server("ok")
    cap = capture()
    gate = started_gate(dnsgate, up, {"dnstap": cap.target}, cap)
    names = {}
    for proto in ("UDP", "TCP"):
        name = fault_name("ok", sysutil.token())
        q = make_query(name, "A", edns=0)
        if proto == "UDP":
            r, port = udp_from_known_port(gate, q)
        else:
            r, port = tcp_from_known_port(gate, q)
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
        names[proto] = (name, port)
    # dnsgate flushes dnstap on SIGTERM: STOP, FINISH, then exit.
    assert gate.stop() == 0, gate.stderr_text()
    docs = cap.messages()
    for proto, (name, port) in names.items():
        assert_client_pair(docs, gate, name, proto, port)
    assert len(up.queries()) == 2  # both went upstream
    assert of_types(docs, FORWARDER_TYPES) == []


def the_upstream_query(up, name, transport):
    got = up.queries(name, transport)
    assert len(got) == 1, got
    return got[0]


def assert_forwarder_pair(docs, up, name, proto, rec, src_address):
    """One FORWARDER_QUERY and one FORWARDER_RESPONSE for name over proto,
    from the socket the upstream saw the query come from (rec) to the
    upstream, with the query it got; the query first."""
    fq = the_one(docs, "FORWARDER_QUERY", name, proto)
    fr = the_one(docs, "FORWARDER_RESPONSE", name, proto)
    for d in (fq, fr):
        assert d["m.socket_family"] == "INET", d
        assert d["m.query_address"] == src_address, d
        assert int(d["m.query_port"]) == rec.source[1], d
        assert d["m.response_address"] == up.host, d
        assert int(d["m.response_port"]) == up.port, d
    assert docs.index(fq) < docs.index(fr)
    assert "m.query_time" in fq, fq
    assert int(fq["q.id"]) == rec.id, fq  # what dnsgate sent, its ID
    assert "m.response_time" in fr, fr
    assert int(fr["r.id"]) == rec.id, fr
    return fq, fr


# The three ways a UDP attempt leaves: a fresh socket per attempt, its
# send batched through io_uring (the default) or sent with sendto(); or a
# pooled, connected socket. An unconnected socket is bound to the wildcard
# address, and dnstap says so.
UDP_PATHS = {
    "fresh-io-uring": ({"udp-sockets": "0"}, {"io-uring": "yes"}, "0.0.0.0"),
    "fresh-sendto": ({"udp-sockets": "0"}, {"io-uring": "no"}, "0.0.0.0"),
    "pooled": ({"udp-sockets": "4"}, {}, sysutil.LOOPBACK4),
}


@pytest.mark.parametrize("path", sorted(UDP_PATHS))
def test_forwarder_messages(dnstap_supported, dnsgate, fault_server,
                            capture, path):
    """dnstap-messages = client, forwarder: a forwarded query gives the
    client pair and, per attempt, the forwarder pair; a truncated UDP
    answer gives a UDP pair, then a TCP pair for the retry."""
    upstream, server, udp_src = UDP_PATHS[path]
    up = fault_server()  # behaviour by name
    cap = capture()
    gate = started_gate(dnsgate, up,
                        {"dnstap": "unix:" + cap.sock,
                         "dnstap-messages": "client, forwarder"}, cap,
                        upstream=upstream, server=server)
    ok = fault_name("ok", sysutil.token())
    r, ok_port = udp_from_known_port(gate, make_query(ok, "A", edns=0))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    tc = fault_name("tc", sysutil.token())
    r, tc_port = tcp_from_known_port(gate, make_query(tc, "A", edns=0))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert gate.stop() == 0, gate.stderr_text()
    docs = cap.messages()

    assert_client_pair(docs, gate, ok, "UDP", ok_port)
    assert_client_pair(docs, gate, tc, "TCP", tc_port)
    _, fr = assert_forwarder_pair(docs, up, ok, "UDP",
                                  the_upstream_query(up, ok, "udp"), udp_src)
    assert fr["r.status"] == "NOERROR"
    assert any(faultserver.GOOD_A in rr
               for rr in fr.get("r.ANSWER_SECTION", [])), fr
    # The attempt over UDP was truncated; the same server over TCP.
    _, fr = assert_forwarder_pair(docs, up, tc, "UDP",
                                  the_upstream_query(up, tc, "udp"), udp_src)
    assert "tc" in fr["r.flags"].split(), fr
    fq, fr = assert_forwarder_pair(docs, up, tc, "TCP",
                                   the_upstream_query(up, tc, "tcp"),
                                   sysutil.LOOPBACK4)
    assert any(faultserver.GOOD_A in rr
               for rr in fr.get("r.ANSWER_SECTION", [])), fr
    assert docs.index(find(docs, "FORWARDER_RESPONSE", tc, "UDP")[0]) < \
        docs.index(fq)
    # Each forwarder pair sits between its client query and response.
    for name, proto in ((ok, "UDP"), (tc, "TCP")):
        cq = docs.index(the_one(docs, "CLIENT_QUERY", name, proto))
        cr = docs.index(the_one(docs, "CLIENT_RESPONSE", name, proto))
        for d in find(docs, "FORWARDER_QUERY", name) + \
                find(docs, "FORWARDER_RESPONSE", name):
            assert cq < docs.index(d) < cr


def test_tcp_output_client_only(dnstap_supported, dnsgate, fault_server,
                                capture):
    """tcp:IP:PORT to fstrm_capture -a/-p; dnstap-messages = client sends
    no forwarder message."""
    up = fault_server("ok")
    cap = capture(transport="tcp")
    gate = started_gate(dnsgate, up, {"dnstap": cap.target,
                                      "dnstap-messages": "client"}, cap)
    name = fault_name("ok", sysutil.token())
    r, port = udp_from_known_port(gate, make_query(name, "A", edns=0))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert gate.stop() == 0, gate.stderr_text()
    docs = cap.messages()
    assert_client_pair(docs, gate, name, "UDP", port)
    assert len(up.queries(name)) == 1
    assert of_types(docs, FORWARDER_TYPES) == []


def test_file_output_forwarder_only(dnstap_supported, dnsgate, fault_server,
                                    tmp_path):
    """file:PATH, written by dnsgate itself; dnstap-messages = forwarder
    sends no client message."""
    up = fault_server("ok")
    out = tmp_path / "tap.fstrm"
    gate = started_gate(dnsgate, up, {"dnstap": "file:%s" % out,
                                      "dnstap-messages": "forwarder"},
                        upstream={"udp-sockets": "0"})
    # fstrm opens the file as its thread starts.
    assert sysutil.wait_for(out.exists, 5.0), gate.stderr_text()
    name = fault_name("ok", sysutil.token())
    r, _ = udp_from_known_port(gate, make_query(name, "A", edns=0))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert gate.stop() == 0, gate.stderr_text()
    docs = read_dnstap(str(out))
    assert_forwarder_pair(docs, up, name, "UDP",
                          the_upstream_query(up, name, "udp"), "0.0.0.0")
    assert of_types(docs, CLIENT_TYPES) == []


def test_runs_without_collector(dnstap_supported, dnsgate, fault_server,
                                tmp_path):
    """No socket: queries are answered as usual and SIGTERM still exits
    0 (fstrm's writer never holds anything up)."""
    up = fault_server("ok")
    gate = dnsgate([up.addr], log={"dnstap": str(tmp_path / "none.sock"),
                                   "dnstap-messages": "client, forwarder"})
    for _ in range(20):
        name = fault_name("ok", sysutil.token())
        r, _ = gate.udp(make_query(name, "A"))
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert gate.stop() == 0, gate.stderr_text()


def test_collector_started_later(dnstap_supported, dnsgate, fault_server,
                                 capture):
    """fstrm tries to connect every second: a collector that starts after
    dnsgate gets the messages from then on (what came before, with no
    collector, fstrm may have discarded)."""
    up = fault_server("ok")
    cap = capture(start=False)
    gate = dnsgate([up.addr], log={"dnstap": cap.target})
    early = fault_name("ok", sysutil.token())
    udp_from_known_port(gate, make_query(early, "A"))
    cap.start()
    assert sysutil.wait_for(cap.connected, 10.0), cap.log_text()
    late = fault_name("ok", sysutil.token())
    _, late_port = udp_from_known_port(gate, make_query(late, "A"))
    assert gate.stop() == 0, gate.stderr_text()
    docs = cap.messages()
    assert_client_pair(docs, gate, late, "UDP", late_port)


@pytest.mark.parametrize("key,value,message", [
    ("dnstap", "tap.sock",
     "dnstap: 'tap.sock' is not an absolute path, unix:PATH, tcp:IP:PORT "
     "or file:PATH"),
    ("dnstap", "tcp:127.0.0.1",
     "dnstap: '127.0.0.1' is not IP:PORT or [IPv6]:PORT"),
    ("dnstap", "file:tap.fstrm", "dnstap: expected an absolute path"),
    ("dnstap-messages", "client, auth",
     "dnstap-messages: 'auth' is not one of client, forwarder"),
])
def test_check_rejects_bad_values(dnstap_supported, tmp_path, key, value,
                                  message):
    """`dnsgate -t` checks the syntax: FILE:LINE: message, exit 1."""
    log = {"dnstap": "/run/dnsgate/dnstap.sock", key: value}
    rc, err, conf = check_config(
        build_config([(sysutil.LOOPBACK4, 5300)], ["127.0.0.1:53"],
                     log=log), tmp_path)
    lines = conf.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1)
                if text.replace(" ", "").startswith(key + "="))
    assert rc == 1, err
    assert "%s:%d: %s" % (conf, line, message) in err.splitlines(), err
