# SPDX-License-Identifier: BSD-2-Clause
"""A small DNS over TLS server (RFC 7858) for dnsgate's system tests, on
Python's ``ssl`` and threads: dnsgate's tls:// upstream.

Each connection is read by a thread of its own, message after message (RFC
7766 framing); each query is answered NOERROR with an A record: for a first
label ``qN`` (N a number), 198.51.100.N % 256, so each client can tell its
own answer; for any other name, ``address``. What the server does besides
is set by attributes a test may change while it runs:

- ``reverse_batch`` = K: hold the queries of a connection until K have
  come (or ``batch_wait`` seconds have passed), then answer them in the
  reverse order: answers out of order (RFC 7766 7).
- ``close_after`` = K: close a connection once K queries on it were
  answered.

It records the connections it accepted, the handshakes that resumed a
session, and every query (name, ID, message length, EDNS options).

dnspython builds and parses the messages, never dnsgate's own codec.
"""

import socket
import ssl
import struct
import threading
import time

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

GOOD_A = "192.0.2.1"


def make_pki(tmp_path, names=("DNS:dns.test", "IP:127.0.0.1")):
    """A CA and a server certificate it signed, with these SANs, made by
    the openssl command in tmp_path: (ca.pem, server.pem, server.key)."""
    import subprocess

    d = tmp_path
    ca_key, ca = d / "ca.key", d / "ca.pem"
    key, csr, crt = d / "server.key", d / "server.csr", d / "server.pem"
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=%s\n" % ",".join(names))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    run = lambda *a: subprocess.run(  # noqa: E731
        ["openssl"] + list(a), check=True, capture_output=True, timeout=30)
    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=dnsgate test CA")
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj",
        "/CN=dns.test")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey",
        str(ca_key), "-CAcreateserial", "-out", str(crt), "-days", "2",
        "-extfile", str(ext))
    return ca, crt, key


class Query:
    """One query as the server saw it."""

    def __init__(self, name, msg_id, length, options, conn):
        self.name = name        # lower-case text with the final dot
        self.id = msg_id
        self.length = length    # of the message, without the prefix
        self.options = options  # [(code, data bytes)]
        self.conn = conn        # the connection's number, from 1


class DotServer:
    """A threaded DNS over TLS server on 127.0.0.1."""

    def __init__(self, cert, key, host="127.0.0.1", address=GOOD_A, port=0):
        self.address = address
        self.host = host
        self.reverse_batch = 0
        self.batch_wait = 2.0
        self.close_after = 0
        self.connections = 0
        self.resumed = 0
        self.queries = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._conns = set()
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)

    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(2)
        self.sock.close()

    def names(self):
        with self._lock:
            return [q.name for q in self.queries]

    # -- serving ------------------------------------------------------------

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(raw,),
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, raw):
        raw.settimeout(5)
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()  # a client that did not verify us, say
            return
        with self._lock:
            self.connections += 1
            number = self.connections
            self.resumed += 1 if conn.session_reused else 0
            self._conns.add(conn)
        pending, answered = [], 0
        conn.settimeout(0.1)
        try:
            while not self._stop.is_set():
                msg = self._read_message(conn, pending)
                if msg is None:
                    return
                if msg is not False:
                    pending.append(self._answer(msg, number))
                if not pending or (
                        self.reverse_batch
                        and len(pending) < self.reverse_batch
                        and time.monotonic() - pending[0][0]
                        < self.batch_wait):
                    continue
                order = reversed(pending) if self.reverse_batch else pending
                for _, wire in list(order):
                    conn.sendall(struct.pack("!H", len(wire)) + wire)
                    answered += 1
                pending = []
                if self.close_after and answered >= self.close_after:
                    return  # closed, without close_notify
        except (OSError, ssl.SSLError):
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _read_message(self, conn, pending):
        """The next message; False when none came yet; None at EOF."""
        try:
            head = conn.recv(2)
        except socket.timeout:
            return False
        if not head:
            return None
        if len(head) == 1:
            head += self._recv_exact(conn, 1)
        (n,) = struct.unpack("!H", head)
        return self._recv_exact(conn, n)

    @staticmethod
    def _recv_exact(conn, n):
        out = b""
        conn.settimeout(5)
        try:
            while len(out) < n:
                chunk = conn.recv(n - len(out))
                if not chunk:
                    raise OSError("closed mid-message")
                out += chunk
        finally:
            conn.settimeout(0.1)
        return out

    def _answer(self, wire, number):
        q = dns.message.from_wire(wire)
        name = q.question[0].name
        opts = [(int(o.otype), bytes(o.to_wire() or b""))
                for o in (q.options or [])]
        with self._lock:
            self.queries.append(Query(name.to_text().lower(), q.id,
                                      len(wire), opts, number))
        r = dns.message.make_response(q)
        first = name.labels[0].decode("ascii", "replace").lower() if len(
            name.labels) > 1 else ""
        addr = self.address
        if first.startswith("q") and first[1:].isdigit():
            addr = "198.51.100.%d" % (int(first[1:]) % 256)
        if q.question[0].rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text(name, 300, "IN", "A", addr))
        return time.monotonic(), r.to_wire()
