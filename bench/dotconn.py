#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
# bench/dotconn.py — one DNS-over-TLS query per new TLS 1.3 connection, for a
# fixed time, from a few threads: what a stub that does not keep its
# connection open costs a server, with a full handshake each time or with
# the session resumed from the ticket the server sent last (RFC 8446 §2.2).
# Used by bench/encrypted.sh. openssl s_time cannot resume TLS 1.3: it keeps
# the session before the server's NewSessionTicket has arrived. Here the
# ticket is read with the answer, as a real client reads it.
#
#   dotconn.py --port P --seconds S [--resume] [--threads N] [--names N]
#
# Each connection asks for the next of hostN.bench.test A (N = 1..--names),
# the threads starting apart, so that no two identical queries are in flight
# at once (Unbound would answer both with one upstream query). Prints
# key=value lines: connections, reused (handshakes that resumed),
# noerror (answers with RCODE NOERROR and the query's ID), errors, seconds.
# Uses only the standard library (ssl: OpenSSL); no certificate check, the
# server's certificate is the benchmark's own self-signed one.
import argparse
import socket
import ssl
import struct
import threading
import time


def dns_query(qname, qid):
    """A DNS query for QNAME A, RD set, with a 2-byte length (RFC 7766 §8)."""
    wire = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode("ascii")
    wire += b"\x00" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(wire)) + wire


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed by the server")
        buf += chunk
    return buf


class Worker(threading.Thread):
    def __init__(self, args, ctx, deadline, first):
        super().__init__(daemon=True)
        self.args, self.ctx, self.deadline = args, ctx, deadline
        self.next_name = first
        self.connections = self.reused = self.noerror = self.errors = 0

    def one(self, session, qid):
        qname = f"host{self.next_name + 1}.bench.test"
        self.next_name = (self.next_name + 1) % self.args.names
        raw = socket.create_connection(("127.0.0.1", self.args.port), timeout=5)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.ctx.wrap_socket(raw, session=session) as tls:
            tls.sendall(dns_query(qname, qid))
            (length,) = struct.unpack(">H", read_exact(tls, 2))
            answer = read_exact(tls, length)
            if tls.session_reused:
                self.reused += 1
            # ID, then flags: QR set and RCODE 0 (the low 4 bits).
            rid, flags = struct.unpack(">HH", answer[:4])
            if rid == qid and flags & 0x8000 and flags & 0x000F == 0:
                self.noerror += 1
            # The newest ticket arrived before the answer (TLS 1.3 sends it
            # right after the handshake); it is what the next connection offers.
            return tls.session

    def run(self):
        session, qid = None, 0
        while time.monotonic() < self.deadline:
            qid = (qid + 1) & 0xFFFF
            try:
                last = self.one(session if self.args.resume else None, qid)
                self.connections += 1
                session = last
            except (OSError, ConnectionError, ssl.SSLError, struct.error):
                self.errors += 1
                session = None
                if self.errors > 100 and self.errors > self.connections:
                    return


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--names", type=int, default=300)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    t0 = time.monotonic()
    workers = [
        Worker(args, ctx, t0 + args.seconds, i * args.names // args.threads)
        for i in range(args.threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - t0
    for key in ("connections", "reused", "noerror", "errors"):
        print(f"{key}={sum(getattr(w, key) for w in workers)}")
    print(f"seconds={elapsed:.3f}")


if __name__ == "__main__":
    main()
