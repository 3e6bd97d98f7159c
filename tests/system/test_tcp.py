# SPDX-License-Identifier: BSD-2-Clause
"""TCP behaviour (RFC 7766): pipelining with out-of-order answers, partial
messages, the idle timeout and the connection limit."""

import socket
import time

import dns.message
import dns.rcode

import faultserver
import sysutil
from conftest import WWW
from sysutil import fault_name, frame, make_query, recv_frame


def read_answers(sock, count):
    """``count`` framed responses, parsed, in arrival order."""
    return [dns.message.from_wire(recv_frame(sock)) for _ in range(count)]


def test_pipelined_queries_answered_out_of_order(dnsgate, fault):
    # The slow answer takes 600 ms upstream; the attempt timeout must let it.
    gate = dnsgate([fault.addr], upstream={"timeout": "3s"})
    tok = sysutil.token()
    slow = make_query(fault_name("slow-600", tok), edns=0, qid=101)
    fast = [make_query(fault_name("ok", tok, i), edns=0, qid=102 + i)
            for i in range(3)]
    queries = [slow] + fast
    s = gate.connect(timeout=5)
    try:
        # One write carrying all four messages.
        s.sendall(b"".join(frame(q.to_wire()) for q in queries))
        answers = read_answers(s, len(queries))
        by_id = {r.id: r for r in answers}
        assert sorted(by_id) == sorted(q.id for q in queries)
        for q in queries:
            r = by_id[q.id]
            assert r.question == q.question
            assert r.rcode() == dns.rcode.NOERROR
            assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
        # Fast answers are not held behind the slow one.
        assert [r.id for r in answers][-1] == slow.id, [
            r.id for r in answers]
        # The connection is still usable afterwards.
        again = make_query(fault_name("ok", tok, 99), edns=0, qid=200)
        s.sendall(frame(again.to_wire()))
        r = dns.message.from_wire(recv_frame(s))
        assert r.id == 200 and r.question == again.question
    finally:
        s.close()


def test_pipelined_queries_through_nsd(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    queries = [make_query(WWW, t, edns=0, qid=300 + i)
               for i, t in enumerate(["A", "AAAA", "TXT", "MX", "NS"])]
    s = gate.connect()
    try:
        s.sendall(b"".join(frame(q.to_wire()) for q in queries))
        answers = {r.id: r for r in read_answers(s, len(queries))}
        assert sorted(answers) == [q.id for q in queries]
        for q in queries:
            assert answers[q.id].question == q.question
            assert answers[q.id].rcode() == dns.rcode.NOERROR
    finally:
        s.close()


def test_partial_message_completed_later_is_answered(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    q = make_query(WWW, "A", edns=0, qid=4242)
    data = frame(q.to_wire())
    s = gate.connect()
    try:
        s.sendall(data[:2 + (len(data) - 2) // 2])
        time.sleep(0.3)
        s.sendall(data[2 + (len(data) - 2) // 2:])
        r = dns.message.from_wire(recv_frame(s))
        assert r.id == 4242 and r.question == q.question
        assert sysutil.answer_addresses(r) == ["192.0.2.10"]
    finally:
        s.close()


def test_length_prefix_split_across_writes(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    q = make_query(WWW, "A", edns=0, qid=4343)
    data = frame(q.to_wire())
    s = gate.connect()
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(data[:1])
        time.sleep(0.2)
        s.sendall(data[1:])
        r = dns.message.from_wire(recv_frame(s))
        assert r.id == 4343 and r.question == q.question
    finally:
        s.close()


def test_idle_connection_is_closed(dnsgate, nsd):
    gate = dnsgate([nsd.addr], server={"tcp-idle-timeout": "1s"})
    s = gate.connect()
    try:
        # A query first: the timer runs from the last full message too.
        q = make_query(WWW, "A", edns=0)
        s.sendall(frame(q.to_wire()))
        assert dns.message.from_wire(recv_frame(s)).id == q.id
        assert sysutil.connection_closed(s, timeout=8), (
            "connection still open long after tcp-idle-timeout = 1s")
    finally:
        s.close()


def test_silent_connection_is_closed(dnsgate, nsd):
    gate = dnsgate([nsd.addr], server={"tcp-idle-timeout": "1s"})
    s = gate.connect()
    try:
        assert sysutil.connection_closed(s, timeout=8)
    finally:
        s.close()


def try_query(host, port, qid, timeout):
    """Connect and ask; the response, or None when the connection is
    refused, closed, or silent for ``timeout`` seconds."""
    try:
        s = sysutil.tcp_connect(host, port, timeout)
    except OSError:
        return None
    try:
        q = make_query(WWW, "A", edns=0, qid=qid)
        try:
            s.sendall(frame(q.to_wire()))
            return dns.message.from_wire(recv_frame(s))
        except (OSError, ConnectionError):
            return None
    finally:
        s.close()


def test_tcp_max_clients(dnsgate, nsd):
    # Both slots in use is more than half: idle connections then get
    # tcp-idle-timeout / 100 (test_tcp_limits.py); 1h keeps the two held
    # ones open for the 36 s that makes.
    gate = dnsgate([nsd.addr], server={"tcp-max-clients": "2",
                                       "tcp-idle-timeout": "1h"})
    held = []
    try:
        for i in range(2):
            s = gate.connect()
            held.append(s)
            q = make_query(WWW, "A", edns=0, qid=500 + i)
            s.sendall(frame(q.to_wire()))
            assert dns.message.from_wire(recv_frame(s)).id == 500 + i
        # A third client, while two are open, gets nothing: refused,
        # closed, or left waiting unserved.
        assert try_query(gate.host, gate.port, 502, timeout=1.5) is None
        # The two held connections still work.
        for i, s in enumerate(held):
            q = make_query(WWW, "A", edns=0, qid=510 + i)
            s.sendall(frame(q.to_wire()))
            assert dns.message.from_wire(recv_frame(s)).id == 510 + i
        # A slot freed is a slot available.
        held.pop(0).close()
        r = None
        deadline = time.monotonic() + 5
        while r is None and time.monotonic() < deadline:
            r = try_query(gate.host, gate.port, 520, timeout=1.0)
        assert r is not None and r.id == 520
    finally:
        for s in held:
            s.close()


def test_client_closing_before_the_answer(dnsgate, fault):
    """RFC 7766 §6.2.4: the client may go away first; dnsgate drops the
    answer and carries on (the fixture checks it still exits 0)."""
    gate = dnsgate([fault.addr], upstream={"timeout": "3s"})
    name = fault_name("slow-300", sysutil.token())
    s = gate.connect()
    s.sendall(frame(make_query(name, "A", edns=0).to_wire()))
    assert sysutil.wait_for(lambda: fault.queries(name), 3)
    s.close()
    time.sleep(0.6)  # the upstream answer arrives after the client left
    r, _ = gate.tcp(make_query(fault_name("ok", sysutil.token()), "A",
                               edns=0))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]


def test_several_workers(dnsgate, nsd):
    gate = dnsgate([nsd.addr], server={"workers": "2"})
    for i in range(10):
        q = make_query(WWW, "A", edns=0, qid=700 + i)
        r, _ = gate.udp(q)
        assert r.id == q.id
        r, _ = gate.tcp(q)
        assert r.id == q.id
        assert sysutil.answer_addresses(r) == ["192.0.2.10"]
