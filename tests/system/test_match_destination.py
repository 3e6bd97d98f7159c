# SPDX-License-Identifier: BSD-2-Clause
"""[view] match-destination: the view is chosen by the local address the
query arrived on (IP_PKTINFO for UDP, the accepted socket for TCP), and
answers leave from that address."""

import socket

import dns.message
import dns.query

import sysutil

BODY = """
[view five]
match-destination = 127.0.0.5
upstream = none
local-data = who.test. 300 IN A 192.0.2.5

[view not-six]
match-destination = !127.0.0.6, 127.0.0.0/8
upstream = none
local-data = who.test. 300 IN A 192.0.2.7

[view rest]
upstream = none
local-data = who.test. 300 IN A 192.0.2.99
"""


def ask(host, port, tcp=False):
    q = dns.message.make_query("who.test.", "A")
    if tcp:
        r = dns.query.tcp(q, host, port=port, timeout=3)
    else:
        # A socket connected to host accepts replies from host only: the
        # answer must come from the address the query was sent to.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        try:
            s.connect((host, port))
            s.send(q.to_wire())
            r = dns.message.from_wire(s.recv(65535))
        finally:
            s.close()
    assert r.id == q.id
    return sysutil.answer_addresses(r)


def test_view_by_destination_udp_and_tcp(dnsgate_conf):
    gate = dnsgate_conf(BODY, listen=[("0.0.0.0", "127.0.0.5")])
    port = gate.port
    for tcp in (False, True):
        assert ask("127.0.0.5", port, tcp) == ["192.0.2.5"]
        # !127.0.0.6 rejects .6 in "not-six"; it falls to "rest".
        assert ask("127.0.0.6", port, tcp) == ["192.0.2.99"]
        assert ask("127.0.0.7", port, tcp) == ["192.0.2.7"]


def test_destination_view_in_decision_log(dnsgate_conf):
    gate = dnsgate_conf(BODY, listen=[("0.0.0.0", "127.0.0.5")])
    ask("127.0.0.6", gate.port)
    line = gate.wait_decision(qname="who.test.")
    assert line["view"] == "rest"
    assert line["action"] == "local"
