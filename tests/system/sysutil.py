# SPDX-License-Identifier: BSD-2-Clause
"""Helpers shared by dnsgate's system tests: ports, raw sockets, framing.

Everything here talks DNS through dnspython or raw bytes written by hand,
never through dnsgate's own codec.
"""

import socket
import ssl
import struct
import time
import uuid

import dns.edns
import dns.flags
import dns.message
import dns.rdatatype

LOOPBACK4 = "127.0.0.1"
LOOPBACK6 = "::1"

# Option code from the experimental range (RFC 6891 §9): nobody implements it.
UNKNOWN_OPTION = 65001
COOKIE_OPTION = 10


def free_port(host=LOOPBACK4):
    """A port free for both UDP and TCP on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        t = socket.socket(family, socket.SOCK_STREAM)
        u = socket.socket(family, socket.SOCK_DGRAM)
        try:
            t.bind((host, 0))
            port = t.getsockname()[1]
            u.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port on %s" % host)


def have_ipv6_loopback():
    """True when ::1 is configured and bindable."""
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:
        return False
    try:
        s.bind((LOOPBACK6, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def token():
    """A label unique to one test, so recorded queries never mix."""
    return "t" + uuid.uuid4().hex[:12]


def fault_name(kind, tok, n=None):
    """A query name for the fault server: behaviour label, test token."""
    if n is None:
        return "%s.%s.fault.test." % (kind, tok)
    return "%s.%s-%d.fault.test." % (kind, tok, n)


def addr_text(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# -- raw UDP ---------------------------------------------------------------


def udp_exchange(host, port, data, timeout=2.0):
    """Send raw bytes, return (reply bytes or None, our source port).

    None also when nothing listens (ICMP port unreachable): callers that
    expect silence check afterwards that the server is still alive."""
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(data)
        try:
            return s.recv(65535), s.getsockname()[1]
        except (socket.timeout, ConnectionRefusedError):
            return None, s.getsockname()[1]
    finally:
        s.close()


def udp_query(host, port, msg, timeout=3.0):
    """Send a dnspython message over UDP; return (response, raw bytes).

    The response is parsed without dnspython's own matching, so a test sees
    exactly what came back and checks ID and question itself.
    """
    wire = msg.to_wire()
    data, _ = udp_exchange(host, port, wire, timeout)
    assert data is not None, "no UDP answer within %.1fs for %s" % (
        timeout, msg.question)
    return dns.message.from_wire(data), data


# -- TCP framing -----------------------------------------------------------


def frame(wire):
    return struct.pack("!H", len(wire)) + wire


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes"
                                  % (len(buf), n))
        buf += chunk
    return buf


def recv_frame(sock):
    n = struct.unpack("!H", recv_exact(sock, 2))[0]
    return recv_exact(sock, n)


def tcp_connect(host, port, timeout=3.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def tcp_query(host, port, msg, timeout=3.0):
    """One query over a fresh TCP connection; (response, raw bytes)."""
    s = tcp_connect(host, port, timeout)
    try:
        s.sendall(frame(msg.to_wire()))
        data = recv_frame(s)
        return dns.message.from_wire(data), data
    finally:
        s.close()


def connection_closed(sock, timeout):
    """Wait up to ``timeout`` s for the peer to close; True when it did.

    Data arriving instead is read and ignored (the caller asked nothing).
    On a TLS socket, close_notify, EOF or a TLS error count as closed.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        if not chunk:
            return True


# -- reading messages ------------------------------------------------------


def header(data):
    """The fields of a raw DNS header as a dict."""
    mid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    return {
        "id": mid,
        "qr": bool(flags & 0x8000),
        "opcode": (flags >> 11) & 0xF,
        "tc": bool(flags & 0x0200),
        "rcode": flags & 0xF,
        "qdcount": qd,
        "ancount": an,
        "nscount": ns,
        "arcount": ar,
    }


def ede_codes(msg):
    """The INFO-CODEs of every EDE option in a response."""
    return [int(o.code) for o in msg.options
            if int(o.otype) == dns.edns.EDE]


def option_codes(msg):
    return [int(o.otype) for o in msg.options]


def answer_addresses(msg):
    out = []
    for rrset in msg.answer:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            out.extend(r.address for r in rrset)
    return sorted(out)


def section_text(section):
    """A section as a sorted list of (name, ttl, class, type, rdata) tuples,
    so two messages compare regardless of record order."""
    out = []
    for rrset in section:
        for rd in rrset:
            out.append((rrset.name.to_text().lower(), rrset.ttl,
                        rrset.rdclass, rrset.rdtype, rd.to_text()))
    return sorted(out)


def make_query(name, rdtype="A", edns=None, payload=1232, options=None,
               qid=None, rd=True):
    """A dnspython query; ``edns`` None = no OPT, else the EDNS version."""
    q = dns.message.make_query(name, rdtype, use_edns=False)
    if edns is not None:
        # Set after make_query: its want_dnssec(False) step clears the
        # whole EDNS flags word in dnspython 2.3, version included.
        q.use_edns(edns, payload=payload, options=options or [])
    if not rd:
        q.flags &= ~dns.flags.RD
    if qid is not None:
        q.id = qid
    return q


def same_name(a, b):
    """Compare names as text, ignoring case and the final dot."""
    if a is None or b is None:
        return False
    return a.lower().rstrip(".") == b.lower().rstrip(".")


def wait_for(pred, timeout, interval=0.05):
    """Poll ``pred`` until it returns something truthy; return that or None."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def udp_exchange_from(source, host, port, data, timeout=2.0):
    """Like udp_exchange, from a socket bound to ``source`` (another
    loopback address, for tests of views and ACLs): reply bytes or None."""
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((host, port))
        s.send(data)
        try:
            return s.recv(65535)
        except (socket.timeout, ConnectionRefusedError):
            return None
    finally:
        s.close()


# -- DNS cookies (RFC 7873, RFC 9018) ----------------------------------------

_M64 = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & _M64


def siphash24(key, data):
    """Reference SipHash-2-4 of ``data`` under the 16-byte ``key``: the 8
    output bytes, little-endian (as RFC 9018 puts them in the cookie)."""
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rounds(n):
        for _ in range(n):
            v[0] = (v[0] + v[1]) & _M64
            v[1] = _rotl(v[1], 13) ^ v[0]
            v[0] = _rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & _M64
            v[3] = _rotl(v[3], 16) ^ v[2]
            v[0] = (v[0] + v[3]) & _M64
            v[3] = _rotl(v[3], 21) ^ v[0]
            v[2] = (v[2] + v[1]) & _M64
            v[1] = _rotl(v[1], 17) ^ v[2]
            v[2] = _rotl(v[2], 32)

    end = len(data) - len(data) % 8
    last = ((len(data) & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    words = [struct.unpack_from("<Q", data, i)[0] for i in range(0, end, 8)]
    for m in words + [last]:
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    v[2] ^= 0xFF
    rounds(4)
    return struct.pack("<Q", v[0] ^ v[1] ^ v[2] ^ v[3])


def server_cookie(secret, client_cookie, client_ip, ts, reserved=b"\0\0\0",
                  version=1):
    """The RFC 9018 version-1 server cookie (16 bytes) for a client: Version
    | Reserved | Timestamp | SipHash-2-4(ClientCookie | Version | Reserved |
    Timestamp | Client-IP, secret). ``secret`` is 16 bytes or 32 hex."""
    if isinstance(secret, str):
        secret = bytes.fromhex(secret)
    head = bytes([version]) + reserved + struct.pack("!I", ts & 0xFFFFFFFF)
    ip = socket.inet_pton(family_of(client_ip), client_ip)
    return head + siphash24(secret, client_cookie + head + ip)


def cookie_option(data):
    """A COOKIE EDNS option carrying ``data`` verbatim (any length)."""
    return dns.edns.GenericOption(COOKIE_OPTION, data)


def cookie_of(msg):
    """The data of the first COOKIE option of a message, or None."""
    for o in msg.options:
        if int(o.otype) == COOKIE_OPTION:
            data = o.to_wire()
            return bytes(data) if data is not None else b""
    return None


# -- floods ------------------------------------------------------------------


def udp_flood(host, port, wires, source=None, quiet=0.4, limit=5.0):
    """Send every message in ``wires`` as fast as one socket can, reading
    replies as they come, then keep reading until ``quiet`` s pass with
    nothing (at most ``limit`` s in all).

    Returns (replies, span): the raw replies in arrival order, and the
    seconds from the first send to the last send or reply, whichever is
    later (an upper bound on the time the server spent accounting)."""
    import select
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    replies = []
    try:
        # Big enough that our own buffer never loses a reply (4 MB is
        # the usual rmem_max; the kernel caps it quietly).
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        if source is not None:
            s.bind((source, 0))
        s.connect((host, port))
        s.setblocking(False)

        def drain():
            while True:
                try:
                    replies.append(s.recv(65535))
                except (BlockingIOError, ConnectionRefusedError):
                    return
                last[0] = time.monotonic()

        start = time.monotonic()
        last = [start]
        for w in wires:
            while True:
                try:
                    s.send(w)
                    break
                except BlockingIOError:
                    select.select([s], [s], [], 0.01)
                    drain()
            drain()
        last[0] = max(last[0], time.monotonic())
        deadline = start + limit
        while True:
            now = time.monotonic()
            wait = min(quiet, deadline - now)
            if wait <= 0:
                break
            r, _, _ = select.select([s], [], [], wait)
            if not r:
                break
            drain()
        return replies, last[0] - start
    finally:
        s.close()


def http_get(addr, path, timeout=3.0):
    """(status code, headers text, body text) of a plain HTTP/1.0 GET of
    ``path`` from ``addr`` (ip:port)."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.settimeout(timeout)
    try:
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n"
                   % (path, addr)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode()
    status = int(status_line.split()[1])
    return status, head.decode(errors="replace"), body.decode()


def scrape_metrics(addr, timeout=3.0):
    """GET /metrics from ``addr`` (ip:port): {(name, frozenset of label
    pairs): value}."""
    import re
    body = http_get(addr, "/metrics", timeout)[2]
    out = {}
    for line in body.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$',
                     line)
        if m is None or line.startswith("#"):
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_]\w*)="([^"]*)"',
                                      m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metric(samples, name, **labels):
    """One sample of a scrape; 0 when absent."""
    return samples.get((name, frozenset(labels.items())), 0.0)
