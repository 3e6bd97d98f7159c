# SPDX-License-Identifier: BSD-2-Clause
"""The "What the wire sees" table for malformed and unusual queries, with
packets written byte by byte (no DNS library on the sending side)."""

import struct

import dns.message
import dns.rcode
import pytest

import sysutil
from conftest import WWW
from sysutil import frame, make_query, recv_frame

QID = 0xBEEF
RD = 0x0100
QR = 0x8000
FORMERR, NOTIMP = 1, 4


def hdr(qd=1, an=0, ns=0, ar=0, flags=RD, qid=QID):
    """ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT."""
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


# www.example.test as uncompressed labels.
NAME = b"\x03www" b"\x07example" b"\x04test" b"\x00"
A_IN = struct.pack("!HH", 1, 1)  # QTYPE A, QCLASS IN
QUESTION = NAME + A_IN
# OPT RR: root owner, TYPE 41, CLASS = payload 1232, TTL 0, RDLEN 0.
OPT = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)

FORMERR_CASES = {
    # Label length 65 (> 63): the top bits 01 are the extended label type.
    "label-over-63": hdr() + b"\x41" + b"a" * 65 + b"\x00" + A_IN,
    # Top bits 10: a reserved label type.
    "reserved-label-type": hdr() + b"\x80\x00" + A_IN,
    # A pointer to itself at offset 12.
    "compression-loop": hdr() + b"\xc0\x0c" + A_IN,
    # A pointer forward, to a name placed after the question.
    "forward-pointer": hdr() + b"\xc0\x12" + A_IN + b"\x03www\x00",
    # Five labels of 63: 321 octets, more than 255.
    "name-over-255": hdr() + (b"\x3f" + b"n" * 63) * 5 + b"\x00" + A_IN,
    # The question stops in the middle of a label.
    "question-cut-in-label": hdr() + b"\x03www\x07exa",
    # The name is complete but QTYPE/QCLASS are missing.
    "question-without-type": hdr() + NAME,
    # A whole valid query followed by bytes no count accounts for.
    "trailing-junk": hdr() + QUESTION + b"JUNK",
    # Two questions (RFC 9619: QDCOUNT must be 1).
    "qdcount-2": hdr(qd=2) + QUESTION + QUESTION,
    # No question at all.
    "qdcount-0": hdr(qd=0),
    # ANCOUNT promises records that are not there.
    "ancount-beyond-data": hdr(an=3) + QUESTION,
    # Two OPT records (RFC 6891 §6.1.1).
    "two-opt": hdr(ar=2) + QUESTION + OPT + OPT,
}

DROP_CASES = {
    "empty": b"",
    "five-bytes": b"\xbe\xef\x01\x00\x00",
    "eleven-bytes": hdr()[:11],
    # A response (QR=1) arriving at the listener: never answered.
    "qr-set": hdr(flags=QR | RD, an=1) + QUESTION +
    b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + b"\xc0\x00\x02\x01",
}


@pytest.fixture
def gate(dnsgate, nsd):
    return dnsgate([nsd.addr])


def assert_alive(gate):
    r, _ = gate.udp(make_query(WWW, "A", edns=0))
    assert r.rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("case", sorted(FORMERR_CASES))
def test_malformed_query_gets_formerr(gate, case):
    data, _ = gate.raw_udp(FORMERR_CASES[case], timeout=2)
    assert data is not None, "no answer to %s" % case
    h = sysutil.header(data)
    assert h["id"] == QID
    assert h["qr"]
    assert h["opcode"] == 0
    assert h["rcode"] == FORMERR, h
    assert_alive(gate)


@pytest.mark.parametrize("case", sorted(DROP_CASES))
def test_unreadable_or_response_packet_dropped(gate, case):
    data, _ = gate.raw_udp(DROP_CASES[case], timeout=1)
    assert data is None, "answered %s with %r" % (case, data)
    assert_alive(gate)


@pytest.mark.parametrize("opcode", [1, 2, 4, 5])  # IQUERY STATUS NOTIFY UPDATE
def test_other_opcodes_get_notimp(gate, opcode):
    data, _ = gate.raw_udp(hdr(flags=(opcode << 11)) + QUESTION, timeout=2)
    assert data is not None
    h = sysutil.header(data)
    assert h["id"] == QID and h["qr"]
    assert h["opcode"] == opcode
    assert h["rcode"] == NOTIMP


@pytest.mark.parametrize("qtype", ["AXFR", "IXFR"])
def test_zone_transfer_over_udp_gets_formerr(gate, qtype):
    q = make_query("example.test.", qtype, edns=0)
    data, _ = gate.raw_udp(q.to_wire(), timeout=2)
    assert data is not None
    r = dns.message.from_wire(data)
    assert r.id == q.id
    assert r.rcode() == dns.rcode.FORMERR


def test_malformed_query_over_tcp_gets_formerr(gate):
    s = gate.connect()
    try:
        s.sendall(frame(FORMERR_CASES["compression-loop"]))
        data = recv_frame(s)
    finally:
        s.close()
    h = sysutil.header(data)
    assert h["id"] == QID and h["qr"] and h["rcode"] == FORMERR


def test_malformed_opt_gets_formerr_with_opt(gate):
    """RFC 6891 §7: a malformed OPT gets FORMERR, and the reply has an OPT.
    Here the one option claims 10 octets where RDLEN leaves 0."""
    bad_opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 4) + \
        struct.pack("!HH", sysutil.UNKNOWN_OPTION, 10)
    data, _ = gate.raw_udp(hdr(ar=1) + QUESTION + bad_opt, timeout=2)
    assert data is not None
    h = sysutil.header(data)
    assert h["id"] == QID and h["rcode"] == FORMERR
    r = dns.message.from_wire(data)
    assert r.edns == 0
