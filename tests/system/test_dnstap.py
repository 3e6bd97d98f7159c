"""dnstap: with ``[log] dnstap = SOCKET`` dnsgate writes a Frame Streams
stream of dnstap messages to a UNIX socket. The collector here is Debian's
``fstrm_capture`` (package fstrm-bin) and the decoder ``dnstap-read``
(bind9-dnsutils): neither shares any code with dnsgate.

Each query must appear as a CLIENT_QUERY and a CLIENT_RESPONSE with the
client's address and port, the transport, and the question; the stream must
survive a collector that starts after dnsgate, and dnsgate must run normally
with no collector at all.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import dns.message
import pytest

import faultserver
import sysutil
from conftest import DNSGATE_BIN, build_config
from sysutil import fault_name, make_query

FSTRM_CAPTURE = shutil.which("fstrm_capture") or "/usr/bin/fstrm_capture"
DNSTAP_READ = shutil.which("dnstap-read") or "/usr/bin/dnstap-read"
CONTENT_TYPE = "protobuf:dnstap.Dnstap"


@pytest.fixture(scope="module")
def dnstap_supported(tmp_path_factory):
    """Fail, never skip, when a tool is missing or `dnsgate -t` rejects the
    [log] dnstap key: dnstap is supported, and fstrm-bin and bind9-dnsutils
    are test dependencies (DEPS_TEST in the Makefile)."""
    for tool, pkg in ((FSTRM_CAPTURE, "fstrm-bin"),
                      (DNSTAP_READ, "bind9-dnsutils")):
        if not os.access(tool, os.X_OK):
            pytest.fail("%s is not installed (Debian package %s; make deps)"
                        % (tool, pkg))
    if not os.access(DNSGATE_BIN, os.X_OK):
        pytest.fail("dnsgate binary not found: %s (run make)" % DNSGATE_BIN)
    d = tmp_path_factory.mktemp("dnstap-check")
    conf = d / "dnsgate.conf"
    conf.write_text(build_config([(sysutil.LOOPBACK4, 5300)],
                                 ["127.0.0.1:53"],
                                 log={"dnstap": str(d / "tap.sock")}))
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(conf)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    assert p.returncode == 0, (
        "dnsgate -t rejects [log] dnstap: %s"
        % p.stderr.decode(errors="replace").strip())


class Capture:
    """fstrm_capture listening on a UNIX socket, writing a file."""

    def __init__(self, workdir):
        self.sock = str(workdir / "tap.sock")
        self.out = str(workdir / "tap.fstrm")
        self.log = workdir / "fstrm_capture.log"
        self.proc = None

    def start(self):
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [FSTRM_CAPTURE, "-t", CONTENT_TYPE, "-u", self.sock,
             "-w", self.out],
            stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        ok = sysutil.wait_for(lambda: os.path.exists(self.sock)
                              or self.proc.poll() is not None, 5.0)
        assert ok and self.proc.poll() is None, (
            "fstrm_capture did not start:\n%s" % self.log_text())
        return self

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

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
        """Stop, then decode the file with dnstap-read -y."""
        self.stop()
        assert os.path.exists(self.out), (
            "fstrm_capture wrote no file:\n%s" % self.log_text())
        p = subprocess.run([DNSTAP_READ, "-y", self.out],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=10)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        return parse_dnstap_yaml(p.stdout.decode(errors="replace"))


@pytest.fixture
def capture(tmp_path):
    """Factory: capture(start=True) -> a Capture (started unless False)."""
    made = []

    def make(start=True):
        d = tmp_path / ("capture%d" % len(made))
        d.mkdir()
        c = Capture(d)
        made.append(c)
        return c.start() if start else c

    yield make
    for c in made:
        c.stop()


# -- reading dnstap-read -y ------------------------------------------------

_KEY = re.compile(r"^(\s*)([A-Za-z_]+):\s*(.*)$")
_ITEM = re.compile(r"^\s+- '?(.*?)'?$")


def parse_dnstap_yaml(text):
    """The documents of `dnstap-read -y` as dicts, without a YAML library.

    Each dict holds the top-level keys (identity, version, type), the
    ``message`` keys (type, socket_protocol, query_address, ...) prefixed
    ``m.``, and for query_message_data / response_message_data their keys
    prefixed ``q.`` / ``r.``, with sections (QUESTION_SECTION, ...) as lists.
    Literal blocks (query_message: |) are skipped.
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
            elif block is not None:
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


def test_client_query_and_response(dnstap_supported, dnsgate, fault_server,
                                   capture):
    up = fault_server("ok")
    cap = capture()
    gate = dnsgate([up.addr], log={"dnstap": cap.sock})
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
    # FORWARDER_* are optional; when present, they name the upstream.
    for d in find(docs, "FORWARDER_QUERY", names["UDP"][0]):
        assert d["m.response_address"] == up.host
        assert int(d["m.response_port"]) == up.port


def test_runs_without_collector(dnstap_supported, dnsgate, fault_server,
                                tmp_path):
    """No socket: queries are answered as usual and SIGTERM still exits
    0 within the grace period (the writer never blocks anything)."""
    up = fault_server("ok")
    gate = dnsgate([up.addr], log={"dnstap": str(tmp_path / "none.sock")})
    for _ in range(20):
        name = fault_name("ok", sysutil.token())
        r, _ = gate.udp(make_query(name, "A"))
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    t0 = time.monotonic()
    assert gate.stop() == 0, gate.stderr_text()
    assert time.monotonic() - t0 < 3.0


def test_collector_started_later(dnstap_supported, dnsgate, fault_server,
                                 capture):
    """The writer retries every second; what was queued meanwhile (far
    below the ring's size) is delivered once the collector is up."""
    up = fault_server("ok")
    cap = capture(start=False)
    gate = dnsgate([up.addr], log={"dnstap": cap.sock})
    early = fault_name("ok", sysutil.token())
    _, early_port = udp_from_known_port(gate, make_query(early, "A"))
    cap.start()
    connected = sysutil.wait_for(
        lambda: "dnstap: connected" in gate.stderr_text(), 5.0)
    assert connected, gate.stderr_text()
    late = fault_name("ok", sysutil.token())
    _, late_port = udp_from_known_port(gate, make_query(late, "A"))
    assert gate.stop() == 0, gate.stderr_text()
    docs = cap.messages()
    assert_client_pair(docs, gate, early, "UDP", early_port)
    assert_client_pair(docs, gate, late, "UDP", late_port)
