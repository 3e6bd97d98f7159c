# SPDX-License-Identifier: BSD-2-Clause
"""ISC's EDNS compliance tests, as genreport (ISC DNS-Compliance-Testing)
runs them with -f: 31 queries, each answer judged by genreport's own
rules, against dnsgate in front of NSD.

The probes are written here from genreport's table of tests and its
process() checks, not taken from its code: the same header bits, EDNS
version, flags and options on the wire, the same verdicts ("tags") on the
answer. NSD is authoritative, so genreport's non-recursive expectations
hold (AA on a NOERROR answer to a QUERY; RD echoed, not added). dnsgate
answers some probes itself (NOTIMP for opcode 15, BADVERS for EDNS
version 1) and rewrites the header and the OPT of every forwarded answer,
so every probe is a test of dnsgate's own answers. Target: no tag on any
of the 31, with cookies off and on.

genreport's dotest() never sets AA in the query although its table asks
for it in "aa" and "opcodeflg" (the dig lines say +aaflag); the probes
here set it, which only makes the checks stricter.
"""

import collections
import struct

import dns.message
import dns.name
import dns.rdatatype
import pytest

import sysutil
from conftest import ZONE, DnsGate, _ini_section

SOA, DNSKEY = 6, 48
NOERROR, NOTIMP, BADVERS, BADCOOKIE = 0, 4, 16, 23
DO = 0x8000

# Header flag bits (RFC 1035 4.1.1; Z, AD and CD: RFC 4035 and RFC 6895).
AA, TC, RD, RA, Z, AD, CD = 0x0400, 0x0200, 0x0100, 0x0080, 0x0040, \
    0x0020, 0x0010

CLIENT_COOKIE = bytes(range(1, 9))


def option(code, data=b""):
    return struct.pack("!HH", code, len(data)) + data


NSID = option(3)
ECS = option(8, b"\x00\x01\x00\x00")  # IPv4, source and scope /0
EXPIRE = option(9)
COOKIE = option(10, CLIENT_COOKIE)
ECHO = option(100)  # unassigned: must not come back

Probe = collections.namedtuple(
    "Probe", "udp eflags version tcp cookie ignore flags opcode qtype opts")


def probe(udp=0, eflags=0, version=0, tcp=False, cookie=False, ignore=False,
          flags=0, opcode=0, qtype=SOA, opts=b""):
    return Probe(udp, eflags, version, tcp, cookie, ignore, flags, opcode,
                 qtype, opts)


ALL = AA | TC | RD | RA | Z | AD | CD

# genreport -f, in its order: the "FULL" and "EDNS" groups.
PROBES = {
    "dns": probe(),
    "aa": probe(flags=AA),
    "ad": probe(flags=AD),
    "cd": probe(flags=CD),
    "ra": probe(flags=RA),
    "rd": probe(flags=RD),
    "tc": probe(flags=TC),
    "zflag": probe(flags=Z),
    "opcode": probe(opcode=15, qtype=0),
    "opcodeflg": probe(opcode=15, qtype=0, flags=ALL),
    "type666": probe(qtype=666),
    "tcp": probe(tcp=True),
    "edns": probe(udp=4096),
    "edns1": probe(udp=4096, version=1),
    "edns@512": probe(udp=512, ignore=True, qtype=DNSKEY),
    "ednsopt": probe(udp=4096, opts=ECHO),
    "edns1opt": probe(udp=4096, version=1, opts=ECHO),
    "do": probe(udp=4096, eflags=DO),
    "docd": probe(udp=4096, eflags=DO, flags=CD),
    "edns1do": probe(udp=4096, eflags=DO, version=1),
    "ednsflags": probe(udp=4096, eflags=0x0080),
    "optlist": probe(udp=4096, cookie=True, opts=NSID + ECS + EXPIRE + COOKIE),
    "ednsnsid": probe(udp=4096, opts=NSID),
    "ednscookie": probe(udp=4096, cookie=True, opts=COOKIE),
    "ednsexpire": probe(udp=4096, opts=EXPIRE),
    "ednssubnet": probe(udp=4096, opts=ECS),
    "edns1nsid": probe(udp=4096, version=1, opts=NSID),
    "edns1cookie": probe(udp=4096, version=1, cookie=True, opts=COOKIE),
    "edns1expire": probe(udp=4096, version=1, opts=EXPIRE),
    "edns1subnet": probe(udp=4096, version=1, opts=ECS),
    "ednstcp": probe(udp=512, eflags=DO, tcp=True, qtype=DNSKEY),
}


def query_wire(p, qid):
    """The probe as genreport sends it: a QUERY for ZONE (RD clear unless
    asked), or for another opcode a bare header; then the OPT."""
    if p.opcode:
        question, qdcount = b"", 0
    else:
        question = (dns.name.from_text(ZONE).to_wire() +
                    struct.pack("!HH", p.qtype, 1))
        qdcount = 1
    opt = b""
    if p.udp:
        ttl = (p.version << 16) | p.eflags
        opt = b"\x00" + struct.pack("!HHIH", 41, p.udp, ttl,
                                    len(p.opts)) + p.opts
    flags = (p.opcode << 11) | p.flags
    return struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0,
                       1 if opt else 0) + question + opt


def tcp_exchange(host, port, wire):
    s = sysutil.tcp_connect(host, port)
    try:
        s.sendall(sysutil.frame(wire))
        return sysutil.recv_frame(s)
    finally:
        s.close()


def exchange(gate, p, wire):
    """Over TCP when the probe says so; over UDP otherwise, again over
    TCP when the answer is truncated and the probe does not ignore TC."""
    if p.tcp:
        return tcp_exchange(gate.host, gate.port, wire)
    data, _ = sysutil.udp_exchange(gate.host, gate.port, wire, timeout=3)
    assert data is not None, "no answer over UDP"
    if struct.unpack("!H", data[2:4])[0] & TC and not p.ignore:
        return tcp_exchange(gate.host, gate.port, wire)
    return data


def judge(p, data):
    """genreport's verdicts on one answer (non-recursive mode): the list
    of tags other than "ok"; empty when it would say ok."""
    tags = []
    flags, qd, an, ns, ar = struct.unpack("!HHHHH", data[2:12])
    opcode = (flags >> 11) & 0xF
    seenopt, ednsttl, options = False, 0, []
    seensoa = seenrrsig = False
    if p.opcode:
        # A bare header asks for a bare header back.
        for section, count in (("question", qd), ("answer", an),
                               ("authority", ns), ("additional", ar)):
            if count:
                tags.append("non-empty-%s-section" % section)
    else:
        r = dns.message.from_wire(data)
        q = r.question[0] if len(r.question) == 1 else None
        if q is None or q.name != dns.name.from_text(ZONE) or \
                q.rdtype != p.qtype:
            tags.append("mismatch")
        zone = dns.name.from_text(ZONE)
        seensoa = any(s.rdtype == SOA and s.name == zone for s in r.answer)
        seenrrsig = any(s.rdtype == dns.rdatatype.RRSIG for s in r.answer)
        if r.opt is not None:
            seenopt, ednsttl = True, r.opt.ttl
            options = [(int(o.otype), o.to_wire()) for o in r.options]
    rcode = (flags & 0xF) | ((ednsttl >> 24) << 4)
    seencookie = False
    for code, value in options:
        if code == 100:
            tags.append("echoed")
        if code == 10 and 16 <= len(value) <= 40:
            seencookie = True
            if p.cookie and value[:8] != CLIENT_COOKIE:
                tags.append("cookie-mismatch")
    if opcode != p.opcode:
        tags.append("opcode%d" % opcode)
    if p.version == 0:
        if p.opcode == 0 and rcode != NOERROR and not (
                p.cookie and rcode == BADCOOKIE and seencookie):
            tags.append("rcode%d" % rcode)
        if p.opcode != 0 and rcode != NOTIMP:
            tags.append("rcode%d" % rcode)
    elif rcode != BADVERS:
        tags.append("rcode%d" % rcode)
    version = (ednsttl >> 16) & 0xFF
    if seenopt and version != 0:
        tags.append("version-not-zero")
    if seenopt and ((version < p.version and rcode != BADVERS) or
                    (version >= p.version and rcode == BADVERS)):
        tags.append("badversion")
    if not seenopt and p.udp:
        tags.append("noopt")
    if seenopt and not p.udp:
        tags.append("opt")
    if p.qtype == SOA:
        if p.version == 0 and not p.ignore and not seensoa and \
                rcode == NOERROR:
            tags.append("nosoa")
        if seensoa and (p.version != 0 or rcode != NOERROR):
            tags.append("soa")
    if seenopt and p.eflags & DO and not ednsttl & DO and seenrrsig:
        tags.append("nodo")
    if seenopt and p.eflags & DO and p.flags & CD and ednsttl & DO and \
            not flags & CD and seenrrsig:
        tags.append("nocd")
    # AA, RA, RD, AD and CD are defined for QUERY only.
    if not flags & AA and p.version == 0 and rcode == NOERROR and \
            p.opcode == 0:
        tags.append("noaa")
    if flags & AA and p.opcode:
        tags.append("aa")
    if flags & RA and p.opcode:
        tags.append("ra")
    if flags & RD and (p.opcode or not p.flags & RD):
        tags.append("rd")
    if not flags & RD and p.flags & RD and p.opcode == 0:
        tags.append("nord")
    if flags & AD and (p.opcode or (not p.flags & AD and
                                    not p.eflags & DO)):
        tags.append("ad")
    if flags & CD and (p.opcode or not p.flags & CD):
        tags.append("cd")
    if flags & Z:
        tags.append("z")
    if ednsttl & 0x7FFF:
        tags.append("mbz")
    if p.ignore and len(data) > (p.udp or 512):
        tags.append("toobig")
    return tags


@pytest.fixture(scope="module", params=["cookies-off", "cookies-on"])
def gate(request, nsd, tmp_path_factory):
    # One dnsgate per cookie setting for all 31 probes; started and
    # stopped here (a module-scoped fixture cannot use dnsgate_conf).
    listen = [(sysutil.LOOPBACK4, sysutil.free_port())]
    text = _ini_section("server", [("listen", sysutil.addr_text(*listen[0])),
                                   ("workers", "1")])
    text += _ini_section("log", [("target", "stderr"),
                                 ("decisions", "none")])
    text += _ini_section("upstream up", [("server", nsd.addr)])
    text += _ini_section("view all", [("upstream", "up")])
    if request.param == "cookies-on":
        text += _ini_section("cookies", [("enabled", "yes")])
    g = DnsGate(tmp_path_factory.mktemp(request.param), text, listen)
    assert g.start(), g.stderr_text()
    yield g
    assert g.stop() == 0, g.stderr_text()[-3000:]


@pytest.mark.parametrize("name", list(PROBES))
def test_genreport_probe(gate, name):
    p = PROBES[name]
    qid = 0x4000 + list(PROBES).index(name)
    data = exchange(gate, p, query_wire(p, qid))
    assert struct.unpack("!H", data[:2])[0] == qid
    assert data[2] & 0x80, "QR not set"
    assert judge(p, data) == [], "genreport would tag %s" % name

