# SPDX-License-Identifier: BSD-2-Clause
"""Zone transfers through dnsgate: AXFR/IXFR over UDP is FORMERR, over TCP
REFUSED + EDE 18 unless the client is in the view's allow-transfer, in
which case the upstream's whole answer stream is relayed."""


import dns.message
import dns.query
import dns.rdatatype
import dns.zone

import sysutil


def gate_for(dnsgate_conf, nsd, allow=None):
    body = """
[upstream up]
server = %s

[view all]
upstream = up
%s
""" % (nsd.addr, "allow-transfer = %s" % allow if allow else "")
    return dnsgate_conf(body)


def axfr_records(host, port, rdtype="AXFR"):
    """The records of a transfer with dnspython, or the exception."""
    names = []
    for msg in dns.query.xfr(host, "example.test.", rdtype=rdtype, port=port,
                             timeout=5, lifetime=10, serial=0):
        for rrset in msg.answer:
            names.append((rrset.name.to_text(), rrset.rdtype))
    return names


def test_axfr_relayed_when_allowed(dnsgate_conf, nsd):
    gate = gate_for(dnsgate_conf, nsd, allow="127.0.0.1")
    via_gate = axfr_records(gate.host, gate.port)
    host, port = nsd.addr.split(":")
    direct = axfr_records(host, int(port))
    assert via_gate == direct
    assert via_gate[0][1] == dns.rdatatype.SOA
    assert via_gate[-1][1] == dns.rdatatype.SOA
    assert len(via_gate) > 50
    assert sysutil.wait_for(lambda: [
        d for d in gate.decisions(qname="example.test.")
        if d.get("qtype") == "AXFR"], 3)
    line = [d for d in gate.decisions(qname="example.test.")
            if d.get("qtype") == "AXFR"][0]
    assert line["action"] == "forward"
    assert line["rule"] == "allow-transfer:all"
    # The connection is usable afterwards: an ordinary query on it.
    r, _ = gate.tcp(sysutil.make_query("www.example.test.", "A"))
    assert sysutil.answer_addresses(r) == ["192.0.2.10"]


def test_ixfr_relayed_when_allowed(dnsgate_conf, nsd):
    gate = gate_for(dnsgate_conf, nsd, allow="127.0.0.0/8")
    names = axfr_records(gate.host, gate.port, rdtype="IXFR")
    assert names[0][1] == dns.rdatatype.SOA
    assert names[-1][1] == dns.rdatatype.SOA


def test_axfr_refused_by_default(dnsgate_conf, nsd):
    gate = gate_for(dnsgate_conf, nsd)
    q = sysutil.make_query("example.test.", "AXFR", edns=0)
    r, _ = gate.tcp(q)
    assert r.rcode() == 5
    assert sysutil.ede_codes(r) == [18]


def test_axfr_refused_for_clients_not_listed(dnsgate_conf, nsd):
    gate = gate_for(dnsgate_conf, nsd, allow="!127.0.0.1, 127.0.0.0/8")
    q = sysutil.make_query("example.test.", "AXFR", edns=0)
    r, _ = gate.tcp(q)
    assert r.rcode() == 5
    assert sysutil.ede_codes(r) == [18]


def test_axfr_over_udp_formerr_even_when_allowed(dnsgate_conf, nsd):
    gate = gate_for(dnsgate_conf, nsd, allow="any")
    r, _ = gate.udp(sysutil.make_query("example.test.", "AXFR", edns=0))
    assert r.rcode() == 1
