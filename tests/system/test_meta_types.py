# SPDX-License-Identifier: BSD-2-Clause
"""Meta-types asked as plain queries: OPT, TSIG, TKEY, MAILA, MAILB and the
rest of 128-255 (RFC 6895 section 3.1) get FORMERR from dnsgate itself,
over UDP and TCP, and are never forwarded; AXFR/IXFR keep their own path
and ANY is forwarded (dnsgate(8), WHAT THE WIRE SEES)."""

import os
import subprocess

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import sysutil
from conftest import DNSGATE_BIN, ZONE
from sysutil import make_query

META = ["OPT", "TKEY", "TSIG", "MAILB", "MAILA", "TYPE128", "TYPE200",
        "TYPE248"]


@pytest.fixture
def gate(dnsgate, fault):
    # The fault server records what reaches it: nothing of these may.
    return dnsgate([fault.addr])


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("qtype", META)
def test_meta_type_gets_formerr(gate, fault, qtype, transport):
    name = sysutil.fault_name("ok", sysutil.token())
    q = make_query(name, qtype, edns=0)
    r, _ = (gate.udp if transport == "udp" else gate.tcp)(q)
    assert r.id == q.id
    assert r.rcode() == dns.rcode.FORMERR
    # The question comes back as asked, with our OPT (the query had one).
    assert len(r.question) == 1
    assert r.question[0].rdtype == dns.rdatatype.from_text(qtype)
    assert r.edns == 0
    assert not r.answer and not r.authority
    d = gate.wait_decision(name)
    assert d["action"] == "formerr"
    assert d["rule"] == "parse:meta-type"
    assert d["rcode"] == "FORMERR"
    assert "view" not in d and "upstream" not in d
    assert fault.queries(name) == []


def test_meta_type_without_edns(gate, fault):
    name = sysutil.fault_name("ok", sysutil.token())
    q = make_query(name, "TSIG")
    r, _ = gate.udp(q)
    assert r.rcode() == dns.rcode.FORMERR
    assert r.edns == -1
    assert fault.queries(name) == []


def test_any_is_still_forwarded(gate, fault):
    name = sysutil.fault_name("ok", sysutil.token())
    r, _ = gate.udp(make_query(name, "ANY", edns=0))
    assert r.rcode() == dns.rcode.NOERROR
    assert fault.queries(name)
    assert gate.wait_decision(name)["action"] == "forward"


def test_explain_shows_formerr(tmp_path):
    conf = tmp_path / "dnsgate.conf"
    conf.write_text("[server]\nlisten = 127.0.0.1:5399\n"
                    "[upstream up]\nserver = 192.0.2.53\n"
                    "[view all]\nupstream = up\n")
    assert os.access(DNSGATE_BIN, os.X_OK), DNSGATE_BIN
    p = subprocess.run([DNSGATE_BIN, "explain", "-c", str(conf), "--client",
                        "127.0.0.1", ZONE, "TSIG"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    f = dict(line.partition(": ")[::2] for line in p.stdout.splitlines())
    assert f["qtype"] == "TSIG is a meta-type, not a question: FORMERR"
    assert f["view"] == "(none)"
    assert f["action"] == "formerr"
    assert f["rule"] == "parse:meta-type"
    assert f["rcode"] == "FORMERR"
