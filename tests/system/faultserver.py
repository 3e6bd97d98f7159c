# SPDX-License-Identifier: BSD-2-Clause
"""A fault-injecting upstream DNS server for dnsgate's system tests.

One server answers on UDP and TCP on the same loopback port. What it does
with a query is chosen by the query name's first label, so one instance can
serve every test; a server-wide ``mode`` overrides the name, so a test can
build an upstream group out of a bad server and a good one.

First label (or ``mode``)    behaviour
---------------------------  -----------------------------------------------
ok                           NOERROR, A 192.0.2.1 (AAAA 2001:db8::1); the A
                             address can be changed per server (a comma-
                             separated list gives several A records)
servfail / refused           that RCODE, no records
timeout                      never answers
tc                           UDP: TC=1 and no records; TCP: the full answer
wrongid                      an answer with another ID first (A 192.0.2.66),
                             the right one DELAY later
wrongq                       an answer for another name first, then the right
garbage                      random bytes and a header-only junk packet
                             carrying the right ID, then the right answer
                             (UDP only; over TCP just the right answer)
spoof                        the right ID and question, A 192.0.2.66, sent
                             from another socket (another source port) first,
                             then the right answer from the right socket
spoofaddr                    like spoof, but the bogus answer comes from the
                             server's port on another address (127.0.0.2;
                             IPv4 servers on 127.0.0.1 only, else plain ok)
slow-MS                      the ok answer after MS milliseconds
dup                          the ok answer twice, back to back
ttl-N                        the ok answer with TTL N (default 300)
nxdomain-N                   NXDOMAIN with the SOA of the name's parent in
                             the authority section: SOA TTL 3600, MINIMUM N
                             (default 60)
nodata-N                     NOERROR, no answer, the same SOA
big                          the ok answer with 40 A records (over 512
                             bytes)
noq-RCODE                    that RCODE (refused, formerr, notimp,
                             servfail...) with no question (QDCOUNT 0), as
                             nsd refuses a class it does not serve; an OPT
                             when the query had one

Anything else is answered as ``ok``. Every received message is recorded
(name, type, transport, ID, EDNS options) so tests can check what the proxy
sent upstream. The good address is GOOD_A; a bogus answer that must never
reach a client carries BAD_A.

The server uses dnspython only to build and parse messages, never dnsgate's
own codec.
"""

import os
import socket
import struct
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

GOOD_A = "192.0.2.1"
GOOD_AAAA = "2001:db8::1"
BAD_A = "192.0.2.66"
DELAY = 0.1  # seconds between a bogus answer and the real one

BEHAVIOURS = ("ok", "servfail", "refused", "timeout", "tc", "wrongid",
              "wrongq", "garbage", "spoof", "spoofaddr", "slow", "dup",
              "ttl", "nxdomain", "nodata", "big", "noq")


class Received:
    """One message as the fault server saw it."""

    def __init__(self, name, qtype, transport, msg_id, edns, payload, options,
                 source):
        self.name = name            # lower-case text with the final dot
        self.qtype = qtype          # mnemonic, e.g. "A"
        self.transport = transport  # "udp" or "tcp"
        self.id = msg_id
        self.edns = edns            # EDNS version, -1 without OPT
        self.payload = payload      # advertised UDP size, 0 without OPT
        self.options = options      # [(code, data bytes)]
        self.source = source        # (ip, port)
        self.time = time.monotonic()

    def __repr__(self):
        return ("Received(%s %s %s id=%d edns=%d opts=%r)"
                % (self.name, self.qtype, self.transport, self.id, self.edns,
                   [c for c, _ in self.options]))


def behaviour_of(qname, mode):
    """(kind, delay seconds) for a query name under a server mode."""
    label = mode
    if label is None:
        labels = qname.labels
        label = labels[0].decode("ascii", "replace").lower() if len(
            labels) > 1 else "ok"
    kind, _, arg = label.partition("-")
    if kind == "slow":
        return "slow", int(arg or "500") / 1000.0
    if kind not in BEHAVIOURS:
        return "ok", 0.0
    if kind in ("ttl", "nxdomain", "nodata"):
        return kind, int(arg) if arg.isdigit() else None
    if kind == "noq":  # the RCODE's name rather than a number
        return kind, arg or "refused"
    return kind, 0.0


def option_bytes(opt):
    """(code, data) of a dnspython EDNS option, whatever its class."""
    data = opt.to_wire()
    if data is None:
        data = b""
    return int(opt.otype), bytes(data)


class FaultServer:
    """A threaded UDP+TCP DNS server on 127.0.0.1 (or ``host``)."""

    def __init__(self, mode=None, host="127.0.0.1", address=GOOD_A):
        self.mode = mode
        self.address = address  # what a good A answer carries
        self.host = host
        self.received = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._tcp_conns = set()
        self._bind()

    # -- life cycle ---------------------------------------------------------

    def _bind(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _ in range(50):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            udp.bind((self.host, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, port))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(64)
            self.udp, self.tcp, self.port = udp, tcp, port
            # The spoofer: same address, another source port.
            self.spoofer = socket.socket(family, socket.SOCK_DGRAM)
            self.spoofer.bind((self.host, 0))
            # The address spoofer: the same port, another address.
            self.spoofer_addr = None
            if self.host == "127.0.0.1":
                other = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    other.bind(("127.0.0.2", port))
                    self.spoofer_addr = other
                except OSError:
                    other.close()
            return
        raise RuntimeError("no free port for the fault server")

    @property
    def addr(self):
        """The ip:port text dnsgate's config wants."""
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def start(self):
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        for target in (self._udp_loop, self._tcp_loop):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(2)
        with self._lock:
            conns = list(self._tcp_conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for s in (self.udp, self.tcp, self.spoofer, self.spoofer_addr):
            if s is not None:
                s.close()

    # -- what tests read ----------------------------------------------------

    def queries(self, name=None, transport=None):
        """Messages received, optionally only for one name / transport."""
        if name is not None:
            name = name.lower()
            if not name.endswith("."):
                name += "."
        with self._lock:
            return [r for r in self.received
                    if (name is None or r.name == name)
                    and (transport is None or r.transport == transport)]

    def queries_under(self, suffix):
        """Messages whose name ends in ``suffix`` (a test's unique token)."""
        suffix = suffix.lower().rstrip(".") + "."
        with self._lock:
            return [r for r in self.received
                    if r.name and r.name.endswith(suffix)]

    def clear(self):
        with self._lock:
            self.received.clear()

    # -- message building ---------------------------------------------------

    def _reply(self, query, rcode=dns.rcode.NOERROR, records=True, tc=False,
               address=None, ttl=300):
        if address is None:
            address = self.address
        r = dns.message.make_response(query)
        r.flags |= dns.flags.AA
        if tc:
            r.flags |= dns.flags.TC
        r.set_rcode(rcode)
        if query.edns >= 0:
            r.use_edns(0, payload=1232)
        if records and rcode == dns.rcode.NOERROR and query.question:
            q = query.question[0]
            owner = q.name
            if q.rdtype == dns.rdatatype.A:
                r.answer.append(dns.rrset.from_text_list(
                    owner, ttl, "IN", "A", address.split(",")))
            elif q.rdtype == dns.rdatatype.AAAA:
                r.answer.append(dns.rrset.from_text(
                    owner, ttl, "IN", "AAAA", GOOD_AAAA))
        return r

    def _negative(self, query, rcode, minimum):
        """A negative answer (RFC 2308): the zone's SOA in authority."""
        r = self._reply(query, rcode, records=False)
        zone = query.question[0].name.parent()
        r.authority.append(dns.rrset.from_text(
            zone, 3600, "IN", "SOA",
            "ns.%s hostmaster.%s 1 3600 600 86400 %d"
            % (zone, zone, 60 if minimum is None else minimum)))
        return r

    def _plan(self, query, transport):
        """[(delay, wire, via_spoofer)] to send for one query."""
        q = query.question[0]
        kind, delay = behaviour_of(q.name, self.mode)
        good = self._reply(query).to_wire()
        if kind == "ok":
            return [(0, good, False)]
        if kind == "dup":  # the answer twice, as a duplicating path would
            return [(0, good, False), (0, good, False)]
        if kind == "big":
            r = self._reply(query)
            if r.answer:
                r.answer[0] = dns.rrset.from_text_list(
                    q.name, 300, "IN", "A",
                    ["192.0.2.%d" % i for i in range(1, 41)])
            return [(0, r.to_wire(), False)]
        if kind == "ttl":
            ttl = 300 if delay is None else delay
            return [(0, self._reply(query, ttl=ttl).to_wire(), False)]
        if kind in ("nxdomain", "nodata"):
            rcode = dns.rcode.NXDOMAIN if kind == "nxdomain" \
                else dns.rcode.NOERROR
            return [(0, self._negative(query, rcode, delay).to_wire(),
                     False)]
        if kind == "slow":
            return [(delay, good, False)]
        if kind == "servfail":
            return [(0, self._reply(query, dns.rcode.SERVFAIL).to_wire(),
                     False)]
        if kind == "refused":
            return [(0, self._reply(query, dns.rcode.REFUSED).to_wire(),
                     False)]
        if kind == "timeout":
            return []
        if kind == "noq":
            r = dns.message.Message(id=query.id)
            r.flags = dns.flags.QR | (query.flags & dns.flags.RD)
            r.set_rcode(dns.rcode.from_text(delay))
            if query.edns >= 0:
                r.use_edns(0, payload=1232)
            return [(0, r.to_wire(), False)]
        if kind == "tc":
            if transport == "udp":
                return [(0, self._reply(query, records=False,
                                        tc=True).to_wire(), False)]
            return [(0, good, False)]
        if kind == "wrongid":
            bad = self._reply(query, address=BAD_A)
            bad.id = query.id ^ 0x5A5A
            return [(0, bad.to_wire(), False), (DELAY, good, False)]
        if kind == "wrongq":
            other = dns.name.from_text("other", q.name)
            bad = dns.message.make_query(other, q.rdtype)
            bad.id = query.id
            bad_r = self._reply(bad, address=BAD_A)
            return [(0, bad_r.to_wire(), False), (DELAY, good, False)]
        if kind == "garbage":
            if transport == "tcp":  # junk would desynchronise the framing
                return [(0, good, False)]
            rnd = os.urandom(48)
            # Right ID, QR=1, counts promising records that are not there.
            junk = struct.pack("!HHHHHH", query.id, 0x8180, 1, 3, 0, 0) + \
                os.urandom(7)
            return [(0, rnd, False), (0, junk, False), (DELAY, good, False)]
        if kind == "spoofaddr":
            bad = self._reply(query, address=BAD_A).to_wire()
            if transport == "udp" and self.spoofer_addr is not None:
                return [(0, bad, "addr"), (DELAY, good, False)]
            return [(0, good, False)]
        if kind == "spoof":
            bad = self._reply(query, address=BAD_A).to_wire()
            if transport == "udp":
                return [(0, bad, True), (DELAY, good, False)]
            return [(0, good, False)]
        return [(0, good, False)]

    # -- UDP ------------------------------------------------------------------

    def _record(self, msg, transport, source):
        if msg.question:
            q = msg.question[0]
            name = q.name.to_text().lower()
            qtype = dns.rdatatype.to_text(q.rdtype)
        else:
            name, qtype = None, None
        options = [option_bytes(o) for o in msg.options]
        rec = Received(name, qtype, transport, msg.id, msg.edns,
                       msg.payload if msg.edns >= 0 else 0, options, source)
        with self._lock:
            self.received.append(rec)

    def _udp_loop(self):
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                msg = dns.message.from_wire(data)
            except Exception:
                continue
            if msg.flags & dns.flags.QR:
                continue
            self._record(msg, "udp", peer)
            if not msg.question:
                continue
            plan = self._plan(msg, "udp")
            threading.Thread(target=self._udp_send, args=(plan, peer),
                             daemon=True).start()

    def _udp_send(self, plan, peer):
        for delay, wire, spoofed in plan:
            if delay and self._stop.wait(delay):
                return
            if spoofed == "addr":
                sock = self.spoofer_addr
            else:
                sock = self.spoofer if spoofed else self.udp
            try:
                sock.sendto(wire, peer)
            except OSError:
                return

    # -- TCP ------------------------------------------------------------------

    def _tcp_loop(self):
        while not self._stop.is_set():
            try:
                conn, peer = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._tcp_conns.add(conn)
            threading.Thread(target=self._tcp_conn, args=(conn, peer),
                             daemon=True).start()

    def _tcp_conn(self, conn, peer):
        wlock = threading.Lock()
        conn.settimeout(0.5)
        buf = b""
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65535)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= 2:
                    n = struct.unpack("!H", buf[:2])[0]
                    if len(buf) < 2 + n:
                        break
                    data, buf = buf[2:2 + n], buf[2 + n:]
                    try:
                        msg = dns.message.from_wire(data)
                    except Exception:
                        continue
                    self._record(msg, "tcp", peer)
                    if not msg.question:
                        continue
                    plan = self._plan(msg, "tcp")
                    threading.Thread(target=self._tcp_send,
                                     args=(plan, conn, wlock),
                                     daemon=True).start()
        except OSError:
            return
        finally:
            with self._lock:
                self._tcp_conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _tcp_send(self, plan, conn, wlock):
        for delay, wire, _ in plan:
            if delay and self._stop.wait(delay):
                return
            with wlock:
                try:
                    conn.sendall(struct.pack("!H", len(wire)) + wire)
                except OSError:
                    return


if __name__ == "__main__":
    import sys
    srv = FaultServer(mode=sys.argv[1] if len(sys.argv) > 1 else None)
    srv.start()
    print("fault server on", srv.addr, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        srv.stop()
