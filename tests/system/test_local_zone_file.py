# SPDX-License-Identifier: BSD-2-Clause
"""local-zone-file = ZONE PATH (dnsgate.conf(5) [view NAME]): an RFC 1035
master file served as a static local zone, through the real daemon, asked
with dnspython and dig: a 2048-bit DKIM TXT record byte for byte, CNAME,
MX, SRV, an RFC 3597 type, NXDOMAIN and NODATA with the file's SOA; the
file's errors from `dnsgate -t` as CONF:LINE: local-zone-file: PATH:LINE;
SIGHUP rereading the file, and a broken file leaving the old data in
place.
"""

import base64
import hashlib
import signal
import subprocess

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

import sysutil
from conftest import DNSGATE_BIN, WWW
from sysutil import make_query

ZONE = "corp.test."
SOA_TEXT = "ns.corp.test. hostmaster.corp.test. 2024010101 3600 600 86400 120"

# A 2048-bit RSA public key as DKIM publishes it: 392 characters of base64
# (a SubjectPublicKeyInfo is 294 bytes), more than one TXT string can hold
# (255), so the record is two strings; deterministic bytes stand in for a
# real key.
KEY = base64.b64encode(
    b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(10))[:294]
).decode()
DKIM = "v=DKIM1; k=rsa; p=" + KEY
DKIM_STRINGS = [DKIM[:255], DKIM[255:]]


def zone_text(serial=2024010101, www="10.0.0.10"):
    return "\n".join([
        "; corp.test as a master file",
        "$ORIGIN corp.test.",
        "$TTL 1h",
        "@\tIN\tSOA\tns hostmaster ( %d ; serial" % serial,
        "\t\t\t3600 600 86400 ; refresh retry expire",
        "\t\t\t120 )          ; minimum",
        "\tIN\tNS\tns",
        "\tIN\tMX\t10 mail",
        "ns\t300 IN A\t10.0.0.53",
        "mail\tIN 300 A\t10.0.0.25",
        "www\tA\t%s" % www,
        "\tAAAA\t2001:db8::10",
        "alias\tCNAME\twww",
        "outside\tCNAME\t%s" % WWW,
        "_ldap._tcp SRV 0 5 389 www",
        "sel._domainkey IN TXT ( \"%s\"" % DKIM_STRINGS[0],
        "\t\"%s\" )" % DKIM_STRINGS[1],
        "gen\tTYPE65534 \\# 4 0a000001",
        "cls\tCLASS1 A 10.0.0.77",
        "host.a.b A 10.0.0.99   ; a.b and b exist, empty",
        "",
    ])


def body(zone_path, nsd, extra=()):
    return "\n".join([
        "[upstream up]",
        "server = %s" % nsd.addr,
        "timeout = 1s",
        "",
        "[view corp]",
        "upstream = up",
        "local-zone-file = corp.test %s" % zone_path,
    ] + list(extra)) + "\n"


@pytest.fixture
def zone_file(tmp_path):
    path = tmp_path / "corp.test.zone"
    path.write_text(zone_text())
    return path


@pytest.fixture
def gate(dnsgate_conf, nsd, zone_file):
    # Relative to the directory of the configuration file (dnsgate0/).
    return dnsgate_conf(body("../" + zone_file.name, nsd))


def ask(gate, name, rdtype="A", tcp=False, edns=0):
    q = make_query(name, rdtype, edns=edns)
    r, _ = (gate.tcp if tcp else gate.udp)(q)
    assert r.id == q.id and r.question == q.question
    return r


def answer_texts(r, rdtype):
    return sorted(rd.to_text() for rs in r.answer
                  if rs.rdtype == dns.rdatatype.from_text(rdtype)
                  for rd in rs)


def assert_aa(r, rcode=dns.rcode.NOERROR):
    assert r.rcode() == rcode, dns.rcode.to_text(r.rcode())
    assert r.flags & dns.flags.AA, "local-zone-file answers are ours"


def assert_negative(r):
    """The file's SOA in authority, TTL min(SOA TTL, MINIMUM) (RFC 2308)."""
    assert r.answer == []
    assert len(r.authority) == 1, r.authority
    soa = r.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert sysutil.same_name(soa.name.to_text(), ZONE)
    assert [rd.to_text() for rd in soa] == [SOA_TEXT]
    assert soa.ttl == 120


@pytest.mark.parametrize("tcp", [False, True])
def test_dkim_txt_byte_exact(gate, tcp):
    r = ask(gate, "sel._domainkey.corp.test.", "TXT", tcp=tcp)
    assert_aa(r)
    assert len(r.answer) == 1
    rrset = r.answer[0]
    assert rrset.ttl == 3600
    assert [rd.strings for rd in rrset] == [
        tuple(s.encode() for s in DKIM_STRINGS)]
    # What a DKIM verifier does: join the strings.
    assert b"".join(rrset[0].strings).decode() == DKIM


def test_dkim_txt_with_dig(gate):
    p = subprocess.run(
        ["dig", "+short", "+norec", "-p", str(gate.port), "@" + gate.host,
         "sel._domainkey.corp.test.", "TXT"],
        capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == " ".join('"%s"' % s for s in DKIM_STRINGS)


@pytest.mark.parametrize("name,rdtype,expected", [
    ("www.corp.test.", "A", ["10.0.0.10"]),
    ("www.corp.test.", "AAAA", ["2001:db8::10"]),
    ("corp.test.", "MX", ["10 mail.corp.test."]),
    ("corp.test.", "NS", ["ns.corp.test."]),
    ("corp.test.", "SOA", [SOA_TEXT]),
    ("_ldap._tcp.corp.test.", "SRV", ["0 5 389 www.corp.test."]),
    ("gen.corp.test.", "TYPE65534", ["\\# 4 0a000001"]),
    ("cls.corp.test.", "A", ["10.0.0.77"]),
    ("mail.corp.test.", "A", ["10.0.0.25"]),
])
def test_records_served(gate, name, rdtype, expected):
    r = ask(gate, name, rdtype)
    assert_aa(r)
    assert answer_texts(r, rdtype) == expected
    assert r.authority == []


def test_ttls_from_the_file(gate):
    assert [rs.ttl for rs in ask(gate, "ns.corp.test.").answer] == [300]
    assert [rs.ttl for rs in ask(gate, "mail.corp.test.").answer] == [300]
    assert [rs.ttl for rs in ask(gate, "www.corp.test.").answer] == [3600]


def test_cname_followed_in_the_zone(gate):
    r = ask(gate, "alias.corp.test.", "A")
    assert_aa(r)
    got = [(rs.name.to_text().lower(), dns.rdatatype.to_text(rs.rdtype))
           for rs in r.answer]
    assert got == [("alias.corp.test.", "CNAME"), ("www.corp.test.", "A")]
    assert sysutil.answer_addresses(r) == ["10.0.0.10"]


def test_cname_out_of_the_zone_is_not_chased(gate):
    """As local-data: the CNAME alone; the client follows it."""
    r = ask(gate, "outside.corp.test.", "A")
    assert_aa(r)
    assert [rs.rdtype for rs in r.answer] == [dns.rdatatype.CNAME]
    assert answer_texts(r, "CNAME") == [WWW]


def test_nxdomain_with_the_files_soa(gate):
    r = ask(gate, "nope.corp.test.", "A")
    assert_aa(r, dns.rcode.NXDOMAIN)
    assert_negative(r)


@pytest.mark.parametrize("name,rdtype", [
    ("www.corp.test.", "TXT"),   # a name with other types
    ("b.corp.test.", "A"),       # an empty non-terminal (RFC 8020)
])
def test_nodata_with_the_files_soa(gate, name, rdtype):
    r = ask(gate, name, rdtype)
    assert_aa(r)
    assert_negative(r)


def test_names_outside_the_zone_are_forwarded(gate):
    q = make_query(WWW, "A", edns=0)
    r, _ = gate.udp(q)
    assert sysutil.answer_addresses(r) == ["192.0.2.10"]
    assert gate.wait_decision(WWW, q.id)["action"] == "forward"


def test_decision_line_names_the_zone(gate):
    q = make_query("www.corp.test.", "A", edns=0)
    gate.udp(q)
    line = gate.wait_decision("www.corp.test.", q.id)
    assert line["action"] == "local"
    assert line["rule"] == "local-zone:corp.test"
    assert line["rcode"] == "NOERROR"


def test_local_data_adds_to_the_file(dnsgate_conf, nsd, zone_file):
    gate = dnsgate_conf(body(str(zone_file), nsd, [
        "local-data = extra.corp.test. 60 IN A 10.0.0.7",
        "local-data = www.corp.test. 60 IN TXT \"from local-data\""]))
    assert sysutil.answer_addresses(ask(gate, "extra.corp.test.")) == [
        "10.0.0.7"]
    assert answer_texts(ask(gate, "www.corp.test.", "TXT"), "TXT") == [
        '"from local-data"']
    assert sysutil.answer_addresses(ask(gate, "www.corp.test.")) == [
        "10.0.0.10"]


# -- reloads -----------------------------------------------------------------


def log_msg(gate, *words):
    def found():
        for obj in gate.log_lines():
            msg = obj.get("msg", "")
            if all(w in msg for w in words):
                return msg
        return None
    return sysutil.wait_for(found, 5)


def test_sighup_rereads_the_file(gate, zone_file):
    zone_file.write_text(zone_text(serial=2024010102, www="10.0.0.11"))
    gate.signal(signal.SIGHUP)

    def visible():
        return sysutil.answer_addresses(
            ask(gate, "www.corp.test.")) == ["10.0.0.11"]

    assert sysutil.wait_for(visible, 5, interval=0.1), \
        gate.stderr_text()[-2000:]
    soa = ask(gate, "corp.test.", "SOA").answer[0][0]
    assert soa.serial == 2024010102


def test_sighup_with_a_broken_file_keeps_the_old_data(gate, zone_file):
    text = zone_text(www="10.0.0.12").replace(
        "mail\tIN 300 A\t10.0.0.25", "mail\tIN 300 A\t10.0.0.256")
    zone_file.write_text(text)
    bad_line = text.splitlines().index("mail\tIN 300 A\t10.0.0.256") + 1
    gate.signal(signal.SIGHUP)
    msg = log_msg(gate, "reload", "fail")
    assert msg, gate.stderr_text()[-2000:]
    err = log_msg(gate, "%s:%d:" % (zone_file.name, bad_line))
    assert err and "bad IPv4 address '10.0.0.256'" in err, \
        gate.stderr_text()[-2000:]
    # The running configuration, and so the old file's data, stays.
    assert sysutil.answer_addresses(ask(gate, "www.corp.test.")) == [
        "10.0.0.10"]
    assert sysutil.answer_addresses(ask(gate, "mail.corp.test.")) == [
        "10.0.0.25"]
    # Fixed, the next reload takes it.
    zone_file.write_text(zone_text(www="10.0.0.12"))
    gate.signal(signal.SIGHUP)
    assert sysutil.wait_for(
        lambda: sysutil.answer_addresses(ask(gate, "www.corp.test."))
        == ["10.0.0.12"], 5, interval=0.1), gate.stderr_text()[-2000:]


# -- dnsgate -t ----------------------------------------------------------------


def run_check(conf):
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(conf)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    return p.returncode, p.stderr.decode(errors="replace")


def write_conf(tmp_path, lines):
    conf = tmp_path / "dnsgate.conf"
    conf.write_text("\n".join(["[view corp]", "upstream = none"] + lines)
                    + "\n")
    return conf


BROKEN = "\n".join([
    "$TTL 300",                                   # 1
    "@ SOA ns hostmaster 1 3600 600 86400 120",   # 2
    "www A 10.0.0.1",                             # 3
    "$INCLUDE other.zone",                        # 4
    "www.elsewhere.test. A 10.0.0.2",             # 5
    "bad AAA 10.0.0.3",                           # 6
    "*.wild A 10.0.0.4",                          # 7
    "txt TXT ( \"a\"",                            # 8
    "  \"b\" )",                                  # 9
    "www CNAME other",                            # 10
    "two SOA ns hostmaster 1 2 3 4 5",            # 11
    "",
])


def test_check_reports_every_error_with_path_and_line(tmp_path):
    zone = tmp_path / "corp.zone"
    zone.write_text(BROKEN)
    conf = write_conf(tmp_path, ["local-zone-file = corp.test corp.zone"])
    rc, err = run_check(conf)
    assert rc == 1
    prefix = "%s:3: local-zone-file: %s:" % (conf, zone)
    got = [line[len(prefix):] for line in err.splitlines()
           if line.startswith(prefix)]
    assert got == [
        "4: $INCLUDE is not allowed: dnsgate reads only the files its "
        "configuration names (put the records here)",
        "5: 'www.elsewhere.test.' is outside the zone corp.test.",
        "6: unknown type 'AAA'",
        "7: wildcard owner '*.wild.corp.test.': not supported (records "
        "are served as they are, without wildcard synthesis)",
        "10: CNAME and other data at 'www.corp.test.' (RFC 1034 3.6.2)",
        "11: SOA at 'two.corp.test.', not at the zone apex corp.test. "
        "(RFC 1035 5.2)",
    ], err


def test_check_caps_the_errors_of_one_file(tmp_path):
    zone = tmp_path / "corp.zone"
    zone.write_text("$TTL 300\n@ SOA ns hm 1 3600 600 86400 120\n" +
                    "".join("h%d A 10.0.0.x\n" % i for i in range(60)))
    conf = write_conf(tmp_path, ["local-zone-file = corp.test corp.zone"])
    rc, err = run_check(conf)
    assert rc == 1
    lines = err.splitlines()
    assert sum("bad IPv4 address" in line for line in lines) == 50, err
    assert lines[-1] == ("%s:3: local-zone-file: %s: 10 more errors not "
                         "shown" % (conf, zone))


@pytest.mark.parametrize("lines,line,msg", [
    (["local-zone-file = corp.test corp.zone",
      "local-zone = corp.test static"], 4,
     "local-zone: 'corp.test.' is already a local-zone-file of this view"),
    (["local-zone = corp.test transparent",
      "local-zone-file = corp.test corp.zone"], 4,
     "local-zone-file: 'corp.test.' is already a local-zone of this view "
     "(a local-zone-file is a static zone of its own)"),
    (["local-zone-file = corp.test corp.zone",
      "local-zone-file = corp.test corp.zone"], 4,
     "local-zone-file: 'corp.test.' is already a local-zone-file of this "
     "view"),
    (["local-zone-file = corp.test"], 3,
     "local-zone-file: expected 'ZONE PATH'"),
    (["local-zone-file = corp..test corp.zone"], 3,
     "local-zone-file: bad zone name 'corp..test'"),
])
def test_check_one_line_per_zone(tmp_path, lines, line, msg):
    (tmp_path / "corp.zone").write_text(zone_text())
    conf = write_conf(tmp_path, lines)
    rc, err = run_check(conf)
    assert rc == 1
    assert err.splitlines() == ["%s:%d: %s" % (conf, line, msg)], err


def test_check_missing_file(tmp_path):
    conf = write_conf(tmp_path, ["local-zone-file = corp.test nothere.zone"])
    rc, err = run_check(conf)
    assert rc == 1
    assert err.splitlines() == [
        "%s:3: local-zone-file: %s: No such file or directory"
        % (conf, tmp_path / "nothere.zone")], err


def test_check_two_files_in_one_view(tmp_path):
    (tmp_path / "corp.zone").write_text(zone_text())
    (tmp_path / "lab.zone").write_text(
        "$TTL 60\n@ SOA ns.lab.test. hm.lab.test. 1 3600 600 86400 60\n"
        "www A 10.9.0.1\n")
    conf = write_conf(tmp_path, ["local-zone-file = corp.test corp.zone",
                                 "local-zone-file = lab.test lab.zone"])
    rc, err = run_check(conf)
    assert rc == 0, err
