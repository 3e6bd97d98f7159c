# SPDX-License-Identifier: BSD-2-Clause
"""[geoip] and [view] match-country / match-asn, with MaxMind DB files
built for the test by tests/tools/make_mmdb.pl (Debian's
libmaxmind-db-writer-perl): 127.0.0.2 is DE in AS64500, 127.0.0.3 is FR,
127.0.1.0/24 is US in AS64501."""

import os
import subprocess

import dns.message
import pytest

import sysutil

TOOL = os.path.join(os.path.dirname(__file__), "..", "tools", "make_mmdb.pl")


@pytest.fixture(scope="module")
def mmdb(tmp_path_factory):
    out = tmp_path_factory.mktemp("mmdb")
    p = subprocess.run(["perl", TOOL, str(out)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out


BODY = """
[geoip]
database = {db}/country.mmdb
asn-database = {db}/asn.mmdb

[view germany-france]
match-country = DE, fr
upstream = none
local-data = who.test. 300 IN A 192.0.2.49

[view as64501]
match-asn = AS64501
upstream = none
local-data = who.test. 300 IN A 192.0.2.64

[view rest]
upstream = none
local-data = who.test. 300 IN A 192.0.2.99
"""


def who(gate, source):
    q = dns.message.make_query("who.test.", "A")
    data = sysutil.udp_exchange_from(source, gate.host, gate.port,
                                     q.to_wire())
    assert data is not None, "no answer for a client at %s" % source
    return sysutil.answer_addresses(dns.message.from_wire(data))


def test_views_by_country_and_asn(dnsgate_conf, mmdb):
    gate = dnsgate_conf(BODY.format(db=mmdb))
    assert who(gate, "127.0.0.2") == ["192.0.2.49"]   # DE
    assert who(gate, "127.0.0.3") == ["192.0.2.49"]   # FR
    assert who(gate, "127.0.1.9") == ["192.0.2.64"]   # US, AS64501
    assert who(gate, "127.0.0.1") == ["192.0.2.99"]   # not in the DBs
    line = gate.wait_decision(qname="who.test.")
    assert line["view"] in ("germany-france", "as64501", "rest")


def test_check_rejects_bad_databases(tmp_path, mmdb):
    bin_ = os.environ.get("DNSGATE_BIN", os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "dnsgate"))
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a maxmind database" * 10)
    conf = tmp_path / "bad.conf"
    conf.write_text("[geoip]\ndatabase = %s\n[view v]\nupstream = none\n"
                    "match-country = XX1\n" % garbage)
    p = subprocess.run([bin_, "-t", "-c", str(conf)], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 1
    assert "%s:2: [geoip]:" % conf in p.stderr
    assert "%s:5: match-country: 'XX1'" % conf in p.stderr
    conf.write_text("[view v]\nupstream = none\nmatch-asn = 64500\n")
    p = subprocess.run([bin_, "-t", "-c", str(conf)], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 1
    assert "match-asn needs [geoip] asn-database" in p.stderr


def test_reload_reopens_databases(dnsgate_conf, mmdb, tmp_path):
    # The databases are opened by each load: a reload after the files
    # were replaced (by rename, as MaxMind's updater does) sees the new
    # data; here the view list changes with it.
    gate = dnsgate_conf(BODY.format(db=mmdb))
    assert who(gate, "127.0.0.2") == ["192.0.2.49"]
    text = gate.config_path.read_text().replace("match-country = DE, fr",
                                                "match-country = FR")
    gate.config_path.write_text(text)
    gate.signal(__import__("signal").SIGHUP)
    assert sysutil.wait_for(lambda: who(gate, "127.0.0.2") == ["192.0.2.99"],
                            5)
