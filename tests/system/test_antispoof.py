# SPDX-License-Identifier: BSD-2-Clause
"""Anti-spoofing on the upstream side: answers whose ID, question or source
do not match are ignored and the query waits for the real one; the upstream
query ID is dnsgate's own, never the client's."""

import socket

import dns.message
import dns.rcode
import pytest

import faultserver
import sysutil
from sysutil import fault_name, make_query


@pytest.fixture
def gate(dnsgate, fault):
    # Bogus answers come first, the real one DELAY (100 ms) later: the
    # attempt timeout is long enough that only anti-spoofing is tested.
    return dnsgate([fault.addr], upstream={"timeout": "2s"})


@pytest.mark.parametrize("kind", ["wrongid", "wrongq", "garbage", "spoof",
                                  "spoofaddr"])
def test_mismatched_answer_ignored(gate, fault, kind):
    name = fault_name(kind, sysutil.token())
    q = make_query(name, "A", edns=0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.connect((gate.host, gate.port))
        s.send(q.to_wire())
        data = s.recv(65535)
        r = dns.message.from_wire(data)
        assert r.id == q.id
        assert r.question == q.question
        assert r.rcode() == dns.rcode.NOERROR
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
        # Nothing else follows: no bogus answer relayed before or after.
        s.settimeout(0.5)
        try:
            extra = s.recv(65535)
        except socket.timeout:
            extra = None
        assert extra is None, "second response relayed: %r" % extra
    finally:
        s.close()
    # The proxy waited for the real answer instead of retrying.
    assert len(fault.queries(name)) == 1


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_upstream_id_is_not_the_client_id(gate, fault, transport):
    client_id = 0x1234
    tok = sysutil.token()
    n = 30
    for i in range(n):
        q = make_query(fault_name("ok", tok, i), "A", edns=0, qid=client_id)
        if transport == "udp":
            r, _ = gate.udp(q)
        else:
            r, _ = gate.tcp(q)
        assert r.id == client_id
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    ids = [fault.queries(fault_name("ok", tok, i))[0].id for i in range(n)]
    # A random ID equals the client's with probability 1/65536 per query:
    # one coincidence is tolerated, a copied ID is not.
    assert sum(1 for x in ids if x == client_id) <= 1, ids
    # And they vary from query to query (random 16-bit IDs: 30 draws
    # collide more than twice with negligible probability).
    assert len(set(ids)) >= n - 2, ids


def test_same_id_from_many_clients(gate, fault):
    """Ten clients ask the same question with the same ID at once: each
    gets its own answer (the in-flight table is not keyed on the ID)."""
    name = fault_name("slow-300", sysutil.token())
    socks = []
    try:
        for _ in range(10):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.connect((gate.host, gate.port))
            socks.append(s)
        q = make_query(name, "A", edns=0, qid=0x4242)
        for s in socks:
            s.send(q.to_wire())
        for s in socks:
            r = dns.message.from_wire(s.recv(65535))
            assert r.id == 0x4242 and r.question == q.question
            assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    finally:
        for s in socks:
            s.close()
