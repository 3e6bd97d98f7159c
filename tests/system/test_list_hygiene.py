# SPDX-License-Identifier: BSD-2-Clause
"""Blocklists as they come from the wild (dnsgate.conf(5), "Blocklists and
allowlists", [lists]): bad entries skipped, counted and reported as
FILE:LINE; [lists] strict = yes rejecting them; a file that is not a list
refused; names written in UTF-8 blocked as their A-labels, and served as
local data; adblock-style lists with exceptions; `dnsgate explain` with a
UTF-8 name. Clients are dig and dnspython; the upstream is nsd."""

import os
import re
import shutil
import signal
import subprocess

import dns.rcode
import pytest

import sysutil
from conftest import REPO, WWW
from sysutil import make_query

BIN = os.environ.get("DNSGATE_BIN", str(REPO / "build" / "dnsgate"))
GEN = REPO / "tests" / "tools" / "gen_blocklist.py"

IDN_U = "\u00fcnicode.example"       # ünicode.example
IDN_A = "xn--nicode-2ya.example"
NAMES = 100000
# (line text, reason dnsgate gives), placed at fixed lines of the list.
BAD = {
    2000: ("0.0.0.0 bad..name.example", "bad domain name 'bad..name.example'"),
    30000: ("0.0.0.0 ex!ample.com", "bad domain name 'ex!ample.com'"),
    51234: ("not-an-address tracker.example",
            "expected 'ADDRESS NAME...', got 'not-an-address'"),
    77777: ("0.0.0.0 \u2764.example",
            "bad internationalised name '\\xe2\\x9d\\xa4.example': string "
            "contains a disallowed character"),
    99999: ("0.0.0.0", "no name after '0.0.0.0'"),
}


def stevenblack(path):
    """A StevenBlack-style hosts list: the usual header, comments, NAMES
    names (one of them ünicode.example), and the BAD lines. Returns
    ({line number: reason} for the bad lines, the line of ünicode)."""
    lines = [
        "# Title: StevenBlack/hosts (a test copy)",
        "#",
        "127.0.0.1 localhost",
        "127.0.0.1 localhost.localdomain",
        "127.0.0.1 local",
        "255.255.255.255 broadcasthost",
        "::1 localhost ip6-localhost ip6-loopback",
        "fe80::1%lo0 localhost",
        "ff00::0 ip6-localnet",
        "0.0.0.0 0.0.0.0",
        "",
        "# Custom host records are listed here.",
        "",
    ]
    where = {}
    names = 0
    while names < NAMES:
        n = len(lines) + 1
        if n in BAD:
            text, why = BAD[n]
            lines.append(text)
            where[n] = why
            continue
        if names == 4242:
            lines.append("0.0.0.0 " + IDN_U)
            idn_line = n
        else:
            lines.append("0.0.0.0 ads%d.tracker%d.example"
                         % (names, names % 97))
        names += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where, idn_line


@pytest.fixture(scope="module")
def hosts_list(tmp_path_factory):
    """(path, {bad line: reason}, line of ünicode.example)"""
    path = tmp_path_factory.mktemp("lists") / "hosts.txt"
    return (path,) + stevenblack(path)


def check(conf, *extra):
    return subprocess.run([BIN, "-t", "-c", str(conf)] + list(extra),
                          capture_output=True, text=True, timeout=60)


def body(nsd, lists, extra=""):
    return ("[upstream up]\nserver = %s\n[view all]\nupstream = up\n"
            % nsd.addr + "".join("blocklist = %s\n" % p for p in lists)
            + extra)


def test_check_reports_bad_lines_and_counts(tmp_path, nsd, hosts_list):
    path, bad, _ = hosts_list
    conf = tmp_path / "c.conf"
    conf.write_text(body(nsd, [path]))
    p = check(conf)
    # Only skipped entries are wrong: the file is valid.
    assert p.returncode == 0, p.stderr
    want = ["%s:5: warning: blocklist: %s:%d: %s" % (conf, path, n, why)
            for n, why in sorted(bad.items())]
    want.append("%s:5: warning: blocklist: %s: 5 bad entries skipped (5 "
                "shown), %d entries loaded" % (conf, path, NAMES))
    assert p.stderr.splitlines() == want
    assert ("[view all] blocklist hosts.txt: %d entries, 5 skipped (5 bad, "
            "0 unsupported), read as hosts\n" % NAMES) in p.stdout
    assert p.stdout.endswith("%s: ok\n" % conf)


def test_strict_rejects_with_every_bad_line(tmp_path, nsd, hosts_list):
    path, bad, _ = hosts_list
    conf = tmp_path / "c.conf"
    conf.write_text(body(nsd, [path], "[lists]\nstrict = yes\n"))
    p = check(conf)
    assert p.returncode == 1
    want = ["%s:5: blocklist: %s:%d: %s" % (conf, path, n, why)
            for n, why in sorted(bad.items())]
    want.append("%s:5: blocklist: %s: rejected for its bad entries ([lists] "
                "strict = yes; with no, they are skipped)" % (conf, path))
    assert p.stderr.splitlines() == want
    assert "ok" not in p.stdout


def dig(gate, name, *opts):
    p = subprocess.run(["dig", "-p", str(gate.port), "@" + gate.host, name,
                        "A", "+tries=1", "+time=3"] + list(opts),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=15)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.mark.skipif(shutil.which("dig") is None,
                    reason="dig (bind9-dnsutils) is not installed")
def test_dirty_list_serves_and_says_so(dnsgate_conf, nsd, hosts_list):
    path, bad, _ = hosts_list
    metrics = "127.0.0.1:%d" % sysutil.free_port()
    gate = dnsgate_conf(body(nsd, [path]), server={"metrics-listen": metrics})
    # The UTF-8 entry blocks its A-label, as clients ask it.
    out = dig(gate, IDN_A)
    assert "status: NXDOMAIN" in out, out
    assert "EDE: 15 (Blocked): (blocked by hosts.txt)" in out, out
    out = dig(gate, "www.ads4243.tracker72.example")
    assert "status: NXDOMAIN" in out and "blocked by hosts.txt" in out, out
    # Names of the bad lines are not listed; the rest goes on to nsd.
    r, _ = gate.udp(make_query("tracker.example.", "A", edns=0))
    assert sysutil.ede_codes(r) == []
    r, _ = gate.udp(make_query(WWW, "A", edns=0))
    assert r.rcode() == dns.rcode.NOERROR
    # The start logged every bad line with its FILE:LINE, and the count.
    msgs = [o.get("msg", "") for o in gate.log_lines()]
    for n, why in bad.items():
        assert any("blocklist: %s:%d: %s" % (path, n, why) in m
                   for m in msgs), (n, msgs[:20])
    assert any("5 bad entries skipped" in m for m in msgs), msgs[:20]
    m = sysutil.scrape_metrics(metrics)
    labels = {"view": "all", "kind": "blocklist", "list": "hosts.txt"}
    assert sysutil.metric(m, "dnsgate_list_entries", **labels) == NAMES
    assert sysutil.metric(m, "dnsgate_list_skipped", reason="bad",
                          **labels) == 5
    assert sysutil.metric(m, "dnsgate_list_skipped", reason="unsupported",
                          **labels) == 0


def test_not_a_list_keeps_the_running_one(dnsgate_conf, nsd, tmp_path):
    """A reload logs the bad lines of a list it takes. A download gone
    wrong (an HTML error page where the list was) is not loaded empty,
    which would unblock everything: -t says why, and a reload keeps the
    lists it runs with."""
    lists = tmp_path / "l"
    lists.mkdir()
    path = lists / "ads.txt"
    path.write_text("ads.example\n")
    gate = dnsgate_conf(body(nsd, [path]))
    r, _ = gate.udp(make_query("x.ads.example.", "A", edns=0))
    assert r.rcode() == dns.rcode.NXDOMAIN
    # A reload with a bad line: taken, and the bad line logged.
    path.write_text("ads.example\nbad!line\nmore.example\n")
    gate.signal(signal.SIGHUP)

    def warned():
        return any(o.get("msg", "").startswith("reload:") and
                   "%s:2: bad domain name 'bad!line'" % path in o["msg"]
                   for o in gate.log_lines())

    assert sysutil.wait_for(warned, 5), gate.stderr_text()[-2000:]
    r, _ = gate.udp(make_query("more.example.", "A", edns=0))
    assert r.rcode() == dns.rcode.NXDOMAIN
    path.write_text("<html>\n<head><title>502 Bad Gateway</title></head>\n"
                    "<body>\n<center><h1>502 Bad Gateway</h1></center>\n"
                    "</body>\n</html>\n")
    p = check(gate.config_path)
    assert p.returncode == 1
    assert ("blocklist: %s:1: not a list: 6 of its 6 lines are bad (read as "
            "domains; line 1: bad domain name '<html>')" % path) in p.stderr
    gate.signal(signal.SIGHUP)

    def failed():
        return any(o.get("msg", "").startswith("reload of") and
                   "not a list" in o["msg"] for o in gate.log_lines())

    assert sysutil.wait_for(failed, 5), gate.stderr_text()[-2000:]
    r, _ = gate.udp(make_query("x.ads.example.", "A", edns=0))
    assert r.rcode() == dns.rcode.NXDOMAIN


ADBLOCK = """[Adblock Plus 2.0]
! Title: a test filter
! Expires: 4 days
||ads.example.test^
@@||ok.ads.example.test^
||tracker.example^$important
||third.example^$third-party
example.test##.banner
/^ad[0-9]+\\./
|https://url.example/ad.js
||\u00fcnicode-ad.example^
"""


@pytest.fixture
def adblock_gate(dnsgate_conf, nsd, tmp_path):
    path = tmp_path / "filter.txt"
    path.write_text(ADBLOCK, encoding="utf-8")
    return dnsgate_conf(body(nsd, [path])), path


def test_adblock_blocks_name_and_below(adblock_gate):
    gate, _ = adblock_gate
    for name in ("ads.example.test.", "a.b.ads.example.test.",
                 "tracker.example.", "xn--nicode-ad-p9a.example."):
        r, _ = gate.udp(make_query(name, "A", edns=0))
        assert r.rcode() == dns.rcode.NXDOMAIN, name
        assert [(int(o.code), o.text) for o in r.options
                if int(o.otype) == 15] == [(15, "blocked by filter.txt")]
    line = gate.wait_decision(qname="a.b.ads.example.test.")
    assert line["rule"] == "blocklist:filter.txt"


def test_adblock_exception_is_forwarded(adblock_gate):
    gate, _ = adblock_gate
    # @@||ok.ads.example.test^: forwarded to nsd, which has no such name.
    for name in ("ok.ads.example.test.", "www.ok.ads.example.test."):
        r, _ = gate.udp(make_query(name, "A", edns=0))
        assert r.rcode() == dns.rcode.NXDOMAIN, name
        assert sysutil.ede_codes(r) == []
        assert gate.wait_decision(qname=name)["action"] == "forward"
    # Unsupported rules block nothing.
    r, _ = gate.udp(make_query("third.example.", "A", edns=0))
    assert sysutil.ede_codes(r) == []


def test_adblock_check_counts_unsupported(adblock_gate):
    gate, path = adblock_gate
    p = check(gate.config_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert ("[view all] blocklist filter.txt: 4 entries, 4 skipped (0 bad, "
            "4 unsupported), read as adblock\n") in p.stdout


def explain(conf, name):
    p = subprocess.run([BIN, "explain", "-c", str(conf), "--client",
                        "127.0.0.1", name], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_explain_utf8_name(tmp_path, nsd, hosts_list):
    path, _, idn_line = hosts_list
    conf = tmp_path / "c.conf"
    conf.write_text(body(nsd, [path]))
    out = explain(conf, "www." + IDN_U)
    assert out.startswith("query: www.%s (www.%s) A from 127.0.0.1 over "
                          "UDP\n" % (IDN_A, IDN_U)), out
    assert ("blocklist: listed by hosts.txt:%d (entry '%s', a parent of "
            "the name): blocked\n" % (idn_line, IDN_A)) in out, out
    assert "ede: 15 Blocked (blocked by hosts.txt)\n" in out
    p = subprocess.run([BIN, "explain", "-c", str(conf), "--client",
                        "127.0.0.1", "\u2764.example"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2
    assert "bad internationalised name" in p.stderr


def test_explain_adblock_exception(adblock_gate):
    gate, _ = adblock_gate
    out = explain(gate.config_path, "www.ok.ads.example.test")
    assert ("blocklist: allowed by filter.txt:5 (entry 'ok.ads.example.test',"
            " a parent of the name): go on\n") in out, out


def test_one_million_lines_one_percent_bad(tmp_path, nsd):
    """The count only: how fast it loads is bench/README.md's business."""
    path = tmp_path / "big.txt"
    p = subprocess.run(["/usr/bin/python3", str(GEN), "--count", "1000000",
                        "--format", "hosts", "--bad-ratio", "0.01", "--out",
                        str(path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    nbad = int(re.match(r"(\d+) bad lines", p.stderr).group(1))
    assert 9000 < nbad < 11000
    conf = tmp_path / "c.conf"
    conf.write_text(body(nsd, [path]))
    p = check(conf)
    assert p.returncode == 0, p.stderr[-2000:]
    assert ("[view all] blocklist big.txt: %d entries, %d skipped (%d bad, 0 "
            "unsupported), read as hosts\n" % (1000000 - nbad, nbad, nbad)
            ) in p.stdout
    assert len(p.stderr.splitlines()) == 11


@pytest.mark.skipif(shutil.which("dig") is None,
                    reason="dig (bind9-dnsutils) is not installed")
def test_local_data_utf8_names(dnsgate_conf):
    """local-zone and local-data names in UTF-8 answer their A-labels."""
    gate = dnsgate_conf("[view all]\nupstream = none\n"
                        "local-zone = B\u00fccher.example static\n"
                        "local-data = www.b\u00fccher.example. 300 IN A "
                        "10.1.2.4\n")
    out = dig(gate, "www.xn--bcher-kva.example")
    assert "status: NOERROR" in out and "10.1.2.4" in out, out
    # The zone is static: another name in it does not exist.
    out = dig(gate, "ftp.xn--bcher-kva.example")
    assert "status: NXDOMAIN" in out, out
