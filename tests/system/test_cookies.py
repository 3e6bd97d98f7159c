# SPDX-License-Identifier: BSD-2-Clause
"""DNS cookies (dnsgate.conf(5) [cookies]; dnsgate(8) WHAT THE WIRE SEES):
RFC 7873 with RFC 9018 interoperable server cookies, terminated at dnsgate.

Every server cookie dnsgate hands out is verified here independently: the
test computes the RFC 9018 cookie for 127.0.0.1 from the configured secret
with its own SipHash-2-4 (sysutil.siphash24, checked first against the
reference vector and the RFC 9018 Appendix A vectors). Cookies the test
sends are minted the same way, so "valid", "minted with the previous
secret", "a bit flipped" and "too old" are all known exactly.

Local data (upstream = none) gives fast deterministic answers; the fault
server stands in where forwarding matters (it records the options it got).
"""

import os
import shutil
import struct
import subprocess
import time

import dns.message
import dns.rcode
import pytest

import faultserver
import sysutil
from sysutil import cookie_of, cookie_option, make_query, server_cookie

SECRET = "000102030405060708090a0b0c0d0e0f"
OLD_SECRET = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
OTHER_SECRET = "5555aaaa5555aaaa5555aaaa5555aaaa"
CLIENT = "127.0.0.1"
WWW = "www.ck.test."
ADDR = "192.0.2.1"


def body(cookies=None, upstream=None):
    """One view answering ck.test from local data (or forwarding to
    ``upstream``), and a [cookies] section with ``cookies`` keys (None:
    no section at all)."""
    lines = []
    if upstream is not None:
        lines += ["[upstream up]", "server = %s" % upstream,
                  "timeout = 1s", ""]
    lines += [
        "[view v]",
        "upstream = %s" % ("up" if upstream is not None else "none"),
        "local-zone = ck.test static",
        "local-data = %s 300 IN A %s" % (WWW, ADDR),
        'local-data = txt.ck.test. 300 IN TXT "cookie test"',
        "",
    ]
    if cookies is not None:
        lines.append("[cookies]")
        lines += ["%s = %s" % kv for kv in cookies.items()]
    return "\n".join(lines) + "\n"


def cookie_gate(dnsgate_conf, require=False, **extra):
    keys = {"enabled": "yes", "secret": SECRET,
            "require": "yes" if require else "no"}
    keys.update(extra)
    return dnsgate_conf(body(keys))


def client_cookie():
    return os.urandom(8)


def now():
    return int(time.time())


def query(name=WWW, rdtype="A", cookie=None, qid=None):
    opts = [cookie_option(cookie)] if cookie is not None else []
    return make_query(name, rdtype, edns=0, options=opts, qid=qid)


def ask(gate, q, tcp=False):
    r, _ = gate.tcp(q) if tcp else gate.udp(q)
    assert r.id == q.id and r.question == q.question
    return r


def assert_fresh_cookie(r, cc, secret=SECRET, not_before=None):
    """The response carries cc and a version-1 server cookie minted now
    for 127.0.0.1 under ``secret`` (RFC 9018 4); returns the whole 24
    bytes."""
    got = cookie_of(r)
    assert got is not None, "no COOKIE option in %s" % r
    assert len(got) == 24, got.hex()
    assert got[:8] == cc, "client cookie not echoed: %s" % got.hex()
    assert got[8] == 1, "server cookie version %d" % got[8]
    assert got[9:12] == b"\0\0\0", "reserved bytes %s" % got[9:12].hex()
    ts = int.from_bytes(got[12:16], "big")
    t = now()
    lo = t - 5 if not_before is None else max(t - 5, not_before)
    assert lo <= ts <= t + 5, "cookie timestamp %d, now %d" % (ts, t)
    want = server_cookie(secret, cc, CLIENT, ts)
    assert got[8:] == want, ("server cookie %s is not RFC 9018's %s for "
                             "%s" % (got[8:].hex(), want.hex(), CLIENT))
    return got


def assert_answer(r):
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
    assert sysutil.answer_addresses(r) == [ADDR]


def assert_badcookie(r, cc):
    """BADCOOKIE (extended RCODE 23: header 7, OPT extended 1) with no
    answer and a fresh server cookie."""
    assert r.rcode() == dns.rcode.BADCOOKIE, dns.rcode.to_text(r.rcode())
    assert r.edns == 0
    assert not r.answer
    return assert_fresh_cookie(r, cc)


# -- the test's own SipHash and RFC 9018 code ---------------------------------


def test_siphash_reference_vector():
    # SipHash paper, Appendix A: key 00..0f, message 00..0e.
    out = sysutil.siphash24(bytes(range(16)), bytes(range(15)))
    assert int.from_bytes(out, "little") == 0xA129CA6149BE45E5


@pytest.mark.parametrize("secret,cc,ip,ts,reserved,cookie", [
    # RFC 9018 A.1, A.2, A.3 (Reserved abcdef), A.4 (IPv6, old secret)
    ("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
     "198.51.100.100", 1559731985, "000000",
     "010000005cf79f111f8130c3eee29480"),
    ("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
     "198.51.100.100", 1559734385, "000000",
     "010000005cf7a871d4a564a1442aca77"),
    ("e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86",
     "203.0.113.203", 1559727985, "abcdef",
     "01abcdef5cf78f71a314227b6679ebf5"),
    ("dd3bdf9344b678b185a6f5cb60fca715", "22681ab97d52c298",
     "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741817, "000000",
     "010000005cf7c57926556bd0934c72f8"),
    ("445536bcd2513298075a5d379663c962", "22681ab97d52c298",
     "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961, "000000",
     "010000005cf7c609a6bb79d16625507a"),
    # BIND 9.18's reply to 127.0.0.1 with this cookie-secret and client
    # cookie, observed on loopback
    ("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
     "127.0.0.1", 0x6B0820A8, "000000",
     "010000006b0820a8a7e46bd3251244be"),
])
def test_rfc9018_vectors(secret, cc, ip, ts, reserved, cookie):
    assert server_cookie(secret, bytes.fromhex(cc), ip, ts,
                         reserved=bytes.fromhex(reserved)).hex() == cookie


# -- cookies off ------------------------------------------------------------


@pytest.mark.parametrize("section", [None, {"enabled": "no"}],
                         ids=["no-section", "enabled-no"])
def test_disabled_no_cookie_back(dnsgate_conf, section):
    gate = dnsgate_conf(body(section))
    cc = client_cookie()
    for tcp in (False, True):
        r = ask(gate, query(cookie=cc), tcp=tcp)
        assert_answer(r)
        assert r.edns == 0
        assert cookie_of(r) is None, cookie_of(r).hex()
    # A cookie that would be valid changes nothing either.
    full = cc + server_cookie(SECRET, cc, CLIENT, now())
    r = ask(gate, query(cookie=full))
    assert_answer(r)
    assert cookie_of(r) is None


# -- cookies on -------------------------------------------------------------


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_client_cookie_gets_rfc9018_server_cookie(dnsgate_conf, tcp):
    gate = cookie_gate(dnsgate_conf)
    cc = client_cookie()
    r = ask(gate, query(cookie=cc), tcp=tcp)
    assert_answer(r)
    assert_fresh_cookie(r, cc)


def test_no_cookie_in_query_no_cookie_back(dnsgate_conf):
    gate = cookie_gate(dnsgate_conf)
    r = ask(gate, query())
    assert_answer(r)
    assert cookie_of(r) is None
    # Without EDNS there is nowhere to put one.
    q = make_query(WWW, "A")
    r = ask(gate, q)
    assert_answer(r)
    assert r.edns < 0


@pytest.mark.parametrize("name,rdtype,rcode,ede", [
    (WWW, "A", dns.rcode.NOERROR, None),                   # local answer
    ("txt.ck.test.", "TXT", dns.rcode.NOERROR, None),
    (WWW, "AAAA", dns.rcode.NOERROR, None),                # NODATA
    ("nothere.ck.test.", "A", dns.rcode.NXDOMAIN, None),   # NXDOMAIN
    ("elsewhere.test.", "A", dns.rcode.REFUSED, 20),       # no upstream
], ids=["answer", "txt", "nodata", "nxdomain", "refused"])
def test_every_answer_carries_cookie(dnsgate_conf, name, rdtype, rcode, ede):
    gate = cookie_gate(dnsgate_conf)
    cc = client_cookie()
    r = ask(gate, query(name, rdtype, cookie=cc))
    assert r.rcode() == rcode, dns.rcode.to_text(r.rcode())
    if ede is not None:
        assert sysutil.ede_codes(r) == [ede]
    assert_fresh_cookie(r, cc)


def test_valid_server_cookie_accepted_and_renewed(dnsgate_conf):
    gate = cookie_gate(dnsgate_conf, require=True)
    cc = client_cookie()
    # Learn a cookie the ordinary way, then present it.
    first = assert_badcookie(ask(gate, query(cookie=cc)), cc)
    r = ask(gate, query(cookie=first))
    assert_answer(r)
    assert_fresh_cookie(r, cc)
    # A cookie minted by the test 10 minutes ago is valid too, and the
    # reply carries a new one, minted now (RFC 9018 4.3: BIND renews on
    # every reply).
    old_ts = now() - 600
    minted = cc + server_cookie(SECRET, cc, CLIENT, old_ts)
    r = ask(gate, query(cookie=minted))
    assert_answer(r)
    got = assert_fresh_cookie(r, cc, not_before=old_ts + 590)
    assert got != minted


def mutations(cc):
    """Server cookies that are not valid for 127.0.0.1 now, by name."""
    t = now()
    good = server_cookie(SECRET, cc, CLIENT, t)
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    ts_flipped = bytearray(good)
    ts_flipped[7] ^= 0x01  # timestamp changed, hash kept
    return {
        "hash-bit-flipped": bytes(flipped),
        "timestamp-bit-flipped": bytes(ts_flipped),
        "other-secret": server_cookie(OTHER_SECRET, cc, CLIENT, t),
        "other-client-ip": server_cookie(SECRET, cc, "127.0.0.2", t),
        "too-old": server_cookie(SECRET, cc, CLIENT, t - 3700),
        "too-far-ahead": server_cookie(SECRET, cc, CLIENT, t + 400),
        "version-2": server_cookie(SECRET, cc, CLIENT, t, version=2),
        # RFC 9018 4.4: only a 24-byte option is verified as version 1.
        "36-bytes": good + bytes(12),
        "8-byte-server-cookie": good[:8],
    }


BAD_KINDS = sorted(mutations(b"\0" * 8))


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_invalid_server_cookie_is_client_only(dnsgate_conf, kind):
    gate = cookie_gate(dnsgate_conf)
    cc = client_cookie()
    r = ask(gate, query(cookie=cc + mutations(cc)[kind]))
    assert_answer(r)
    got = assert_fresh_cookie(r, cc)
    assert got[8:] != mutations(cc)[kind]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_invalid_server_cookie_with_require(dnsgate_conf, kind):
    gate = cookie_gate(dnsgate_conf, require=True)
    cc = client_cookie()
    bad = cc + mutations(cc)[kind]
    # UDP: BADCOOKIE with a fresh cookie, which then works.
    fresh = assert_badcookie(ask(gate, query(cookie=bad)), cc)
    assert_answer(ask(gate, query(cookie=fresh)))
    # TCP: never BADCOOKIE (RFC 7873 5.2.3), a normal answer + fresh cookie.
    r = ask(gate, query(cookie=bad), tcp=True)
    assert_answer(r)
    assert_fresh_cookie(r, cc)


def test_cookie_window_edges_accepted(dnsgate_conf):
    # RFC 9018 4.3: 1 h in the past and 5 min in the future are accepted;
    # the test keeps well inside, as the two clocks tick separately.
    gate = cookie_gate(dnsgate_conf, require=True)
    cc = client_cookie()
    for delta in (-3500, -60, 0, 200):
        c = cc + server_cookie(SECRET, cc, CLIENT, now() + delta)
        r = ask(gate, query(cookie=c))
        assert r.rcode() == dns.rcode.NOERROR, (delta, r)
        assert_fresh_cookie(r, cc)


def test_require_badcookie_round_trip(dnsgate_conf):
    """The round trip of [cookies] require = yes, as a dnspython client does
    it: client cookie => BADCOOKIE with a server cookie => resend with it
    => the answer."""
    gate = cookie_gate(dnsgate_conf, require=True)
    cc = client_cookie()
    q = query(cookie=cc)
    r, raw = gate.udp(q)
    assert r.id == q.id and r.question == q.question
    # On the wire: header RCODE 7, OPT extended RCODE 1 (RFC 6891 6.1.3).
    assert sysutil.header(raw)["rcode"] == 7
    assert (r.ednsflags >> 24) & 0xFF == 1
    learned = assert_badcookie(r, cc)
    line = gate.wait_decision(WWW, q.id)
    assert line["action"] == "badcookie", line
    assert line["rcode"] == "BADCOOKIE", line
    assert line["rule"] == "cookies:require", line

    q2 = query(cookie=learned)
    r2 = ask(gate, q2)
    assert_answer(r2)
    assert_fresh_cookie(r2, cc)
    assert gate.wait_decision(WWW, q2.id)["action"] == "local"


def test_require_only_for_cookie_clients_and_udp(dnsgate_conf):
    gate = cookie_gate(dnsgate_conf, require=True)
    # No COOKIE option (or no EDNS at all): answered as without cookies.
    assert_answer(ask(gate, query()))
    assert_answer(ask(gate, make_query(WWW, "A")))
    # A client cookie alone over TCP: a normal answer with a fresh cookie.
    cc = client_cookie()
    r = ask(gate, query(cookie=cc), tcp=True)
    assert_answer(r)
    assert_fresh_cookie(r, cc)


@pytest.mark.parametrize("length", [0, 1, 7, 9, 15, 41, 48])
@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
def test_malformed_cookie_formerr(dnsgate_conf, length, enabled):
    """RFC 7873 5.2.2: a COOKIE option of length 0..7, 9..15 or over 40 is
    FORMERR, whether or not cookies are enabled (dnsgate.conf(5),
    "What a query's cookie gets")."""
    if enabled:
        gate = cookie_gate(dnsgate_conf)
    else:
        gate = dnsgate_conf(body())
    q = query(cookie=os.urandom(length))
    for tcp in (False, True):
        r = ask(gate, q, tcp=tcp)
        assert r.rcode() == dns.rcode.FORMERR, dns.rcode.to_text(r.rcode())
        assert not r.answer
        assert cookie_of(r) is None or len(cookie_of(r)) in (8, 24)


@pytest.mark.parametrize("length", [8, 16, 24, 40])
def test_legal_cookie_lengths_answered(dnsgate_conf, length):
    gate = cookie_gate(dnsgate_conf)
    data = os.urandom(length)
    r = ask(gate, query(cookie=data))
    assert_answer(r)
    assert_fresh_cookie(r, data[:8])


def test_only_first_cookie_option_counts(dnsgate_conf):
    gate = cookie_gate(dnsgate_conf, require=True)
    cc = client_cookie()
    valid = cc + server_cookie(SECRET, cc, CLIENT, now())
    # A valid first cookie; a later malformed one is ignored (RFC 7873 5.2).
    q = make_query(WWW, "A", edns=0,
                   options=[cookie_option(valid), cookie_option(b"\1\2\3")])
    r = ask(gate, q)
    assert_answer(r)
    assert_fresh_cookie(r, cc)


def test_previous_secret_still_valid(dnsgate_conf):
    gate = cookie_gate(dnsgate_conf, require=True,
                       **{"previous-secret": OLD_SECRET})
    cc = client_cookie()
    old = cc + server_cookie(OLD_SECRET, cc, CLIENT, now() - 30)
    r = ask(gate, query(cookie=old))
    assert_answer(r)
    # Replies are signed with the new secret (RFC 9018 5, step 2).
    assert_fresh_cookie(r, cc, secret=SECRET)
    # The current secret is accepted as well.
    cur = cc + server_cookie(SECRET, cc, CLIENT, now())
    assert_answer(ask(gate, query(cookie=cur)))
    # A cookie from neither secret is not.
    other = cc + server_cookie(OTHER_SECRET, cc, CLIENT, now())
    assert_badcookie(ask(gate, query(cookie=other)), cc)


def test_old_secret_without_previous_secret_rejected(dnsgate_conf):
    gate = cookie_gate(dnsgate_conf, require=True)
    cc = client_cookie()
    old = cc + server_cookie(OLD_SECRET, cc, CLIENT, now() - 30)
    assert_badcookie(ask(gate, query(cookie=old)), cc)


def test_random_secret_when_none_configured(dnsgate_conf):
    """No secret: a random one (BIND's default); the cookie it hands out
    still round-trips."""
    gate = dnsgate_conf(body({"enabled": "yes", "require": "yes"}))
    cc = client_cookie()
    r = ask(gate, query(cookie=cc))
    assert r.rcode() == dns.rcode.BADCOOKIE
    got = cookie_of(r)
    assert got is not None and len(got) == 24 and got[:8] == cc
    assert got[8:] != server_cookie(SECRET, cc, CLIENT,
                                    int.from_bytes(got[12:16], "big"))
    assert_answer(ask(gate, query(cookie=got)))


@pytest.mark.skipif(not sysutil.have_ipv6_loopback(),
                    reason="no IPv6 loopback")
def test_ipv6_client_cookie(dnsgate_conf):
    """Over IPv6 the hash covers the client's 16-byte address (RFC 9018
    4.4: 32 bytes of input)."""
    gate = dnsgate_conf(body({"enabled": "yes", "secret": SECRET,
                              "require": "yes"}),
                        listen=[("::1", "::1")])
    cc = client_cookie()
    r, _ = gate.udp(query(cookie=cc))
    assert r.rcode() == dns.rcode.BADCOOKIE
    got = cookie_of(r)
    assert got is not None and len(got) == 24 and got[:8] == cc
    ts = int.from_bytes(got[12:16], "big")
    assert got[8:] == server_cookie(SECRET, cc, "::1", ts), got.hex()
    r, _ = gate.udp(query(cookie=got))
    assert_answer(r)
    # A cookie made for 127.0.0.1 does not pass for ::1.
    v4 = cc + server_cookie(SECRET, cc, CLIENT, now())
    r, _ = gate.udp(query(cookie=v4))
    assert r.rcode() == dns.rcode.BADCOOKIE


def test_qdcount_zero_gets_server_cookie(dnsgate_conf):
    gate = cookie_gate(dnsgate_conf)
    cc = client_cookie()
    opt = (b"\0" + struct.pack("!HHIH", 41, 1232, 0, 12)
           + struct.pack("!HH", sysutil.COOKIE_OPTION, 8) + cc)
    data, _ = gate.raw_udp(struct.pack("!HHHHHH", 0x5A5A, 0x0100, 0, 0, 0, 1)
                           + opt, timeout=2)
    assert data is not None
    r = dns.message.from_wire(data)
    assert r.id == 0x5A5A
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
    assert_fresh_cookie(r, cc)


# -- forwarding: cookies end at dnsgate ------------------------------------


@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
def test_client_cookie_not_forwarded(dnsgate_conf, fault_server, enabled):
    up = fault_server("ok")
    keys = {"enabled": "yes", "secret": SECRET} if enabled else None
    gate = dnsgate_conf(body(keys, upstream=up.addr))
    tok = sysutil.token()
    cc = client_cookie()
    sent = {
        "client-only": cc,
        "full": cc + server_cookie(SECRET, cc, CLIENT, now()),
    }
    for kind, data in sent.items():
        name = sysutil.fault_name("ok", tok + kind)
        for tcp in (False, True):
            r = ask(gate, query(name, cookie=data), tcp=tcp)
            assert r.rcode() == dns.rcode.NOERROR
            assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
            if enabled:
                assert_fresh_cookie(r, cc)
            else:
                assert cookie_of(r) is None
        seen = up.queries(name)
        assert seen, "nothing reached the upstream for %s" % name
        for rec in seen:
            for code, data_up in rec.options:
                if code == sysutil.COOKIE_OPTION:
                    assert cc not in data_up, (
                        "the client's cookie went upstream: %s" % rec)
                    assert data_up[:8] != cc


# -- interoperability ------------------------------------------------------


@pytest.mark.skipif(shutil.which("dig") is None,
                    reason="dig (bind9-dnsutils) is not installed")
@pytest.mark.parametrize("require", [False, True], ids=["plain", "require"])
def test_dig_reports_cookie_good(dnsgate_conf, require):
    gate = cookie_gate(dnsgate_conf, require=require)
    for extra in ([], ["+tcp"]):
        p = subprocess.run(
            ["dig", "-p", str(gate.port), "@" + gate.host, WWW, "A",
             "+cookie", "+tries=1", "+time=3"] + extra,
            stdin=subprocess.DEVNULL, capture_output=True, timeout=15)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, out + p.stderr.decode(errors="replace")
        assert "status: NOERROR" in out, out
        assert ADDR in out, out
        cookie_lines = [ln for ln in out.splitlines() if "COOKIE:" in ln]
        assert cookie_lines, out
        assert all("(good)" in ln for ln in cookie_lines), out
        if require and not extra:
            # dig saw BADCOOKIE first and retried with the server cookie.
            assert "BADCOOKIE" in out, out


# -- metrics ---------------------------------------------------------------


def metrics_gate(dnsgate_conf):
    addr = "127.0.0.1:%d" % sysutil.free_port()
    gate = dnsgate_conf(body({"enabled": "yes", "secret": SECRET}),
                        server={"metrics-listen": addr})
    return gate, addr


def assert_cookie_counts(gate, addr, sends):
    """Send each cookie in ``sends`` ({result: [cookie data]}) and check
    that dnsgate_cookies_total{result} moved by exactly that many."""
    before = sysutil.scrape_metrics(addr)
    for cookies in sends.values():
        for c in cookies:
            ask(gate, query(cookie=c))
    ask(gate, query())  # no cookie: counted under none of these
    last = {}

    def moved():
        m = sysutil.scrape_metrics(addr)
        last.update({k: sysutil.metric(m, "dnsgate_cookies_total", result=k)
                     - sysutil.metric(before, "dnsgate_cookies_total",
                                      result=k) for k in sends})
        return all(last[k] == len(v) for k, v in sends.items())

    assert sysutil.wait_for(moved, 3.0), (
        "dnsgate_cookies_total moved by %s, sent %s"
        % (last, {k: len(v) for k, v in sends.items()}))


def test_cookie_metrics(dnsgate_conf):
    gate, addr = metrics_gate(dnsgate_conf)
    cc = client_cookie()
    valid = cc + server_cookie(SECRET, cc, CLIENT, now())
    bad = bytearray(valid)
    bad[-1] ^= 0x80
    assert_cookie_counts(gate, addr, {"client-only": [cc] * 3,
                                      "valid": [valid] * 2,
                                      "invalid": [bytes(bad)] * 4})


def test_cookie_metrics_malformed(dnsgate_conf):
    gate, addr = metrics_gate(dnsgate_conf)
    assert_cookie_counts(gate, addr, {"malformed": [b"\0" * 5, b"\1" * 12]})
