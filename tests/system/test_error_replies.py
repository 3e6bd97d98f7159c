# SPDX-License-Identifier: BSD-2-Clause
"""Upstream errors without a question, and queries of other classes than IN
(dnsgate.conf(5), "Upstream semantics"; dnsgate(8), "WHAT THE WIRE SEES").

nsd answers a class it does not serve (``dig -c HS``, class NONE, class 0)
with REFUSED and QDCOUNT 0. Such an error, from the server's address and
port with the attempt's ID, is the server's answer: the client gets it at
once with its own question, and the server stays up. The fault server's
``noq-RCODE`` names give such errors for class IN queries (dnsgate answers
the other classes itself and never forwards them: see the second half).
"""

import os
import re
import resource
import socket

import dns.edns
import dns.message
import dns.rcode
import dns.rdataclass
import pytest

import faultserver
import sysutil
from conftest import ctl
from sysutil import make_query


def noq_name(rcode, tok, n=0):
    return "noq-%s.%s-%d.fault.test." % (rcode, tok, n)


def upstreams(gate):
    """[(server, state, {counter: value})] from `dnsgate ctl upstreams`."""
    rc, text, err = ctl("-s", gate.options["control-socket"], "upstreams")
    assert rc == 0, err
    out = []
    for line in text.splitlines():
        words = line.split()
        counters = dict(w.split("=", 1) for w in words[3:] if "=" in w)
        out.append((words[1], words[2], counters))
    return out


def start(dnsgate_conf, sockdir, servers, **opts):
    lines = ["[upstream up]"] + ["server = %s" % s.addr for s in servers]
    lines += ["%s = %s" % (k.replace("_", "-"), v) for k, v in opts.items()]
    lines += ["", "[view main]", "upstream = up"]
    return dnsgate_conf("\n".join(lines) + "\n",
                        server={"control-socket": sockdir + "/ctl.sock"})


@pytest.mark.parametrize("rcode", ["refused", "formerr", "notimp"])
def test_error_without_question_reaches_client(dnsgate_conf, sockdir,
                                               fault_server, rcode):
    srv = fault_server()
    # A timeout far above what the answer takes: a reply ignored as
    # garbage would end in SERVFAIL (EDE 23) after the attempts.
    gate = start(dnsgate_conf, sockdir, [srv], timeout="1s")
    tok = sysutil.token()
    # More queries than the 3 failures that take a server down.
    for n in range(5):
        name = noq_name(rcode, tok, n)
        q = make_query(name, "A", edns=0)
        r, _ = gate.udp(q, timeout=5.0)
        assert r.id == q.id
        assert r.rcode() == dns.rcode.from_text(rcode), r
        assert r.rcode() != dns.rcode.SERVFAIL
        # The client's own question, although the upstream sent none.
        assert r.question == q.question
        assert sysutil.ede_codes(r) == []
        assert len(srv.queries(name)) == 1  # answered: no retry
        d = gate.wait_decision(qname=name)
        assert d["action"] == "forward"
        assert d["rcode"] == rcode.upper()
        assert d["attempts"] == 1
    [(server, state, counters)] = upstreams(gate)
    assert server == srv.addr
    assert state == "up"
    assert counters["fails"] == "0"
    assert counters["timeouts"] == "0"


def test_servfail_without_question_is_retried(dnsgate_conf, sockdir,
                                              fault_server):
    bad, good = fault_server("noq-servfail"), fault_server("ok")
    gate = start(dnsgate_conf, sockdir, [bad, good], timeout="1s")
    name = "ok.%s.fault.test." % sysutil.token()
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q, timeout=5.0)
    assert r.rcode() == dns.rcode.NOERROR
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]
    assert [len(bad.queries(name)), len(good.queries(name))] == [1, 1]
    states = {s: (st, c) for s, st, c in upstreams(gate)}
    assert states[bad.addr][1]["servfails"] == "1"
    assert states[bad.addr][1]["timeouts"] == "0"


def test_error_without_question_over_tcp(dnsgate_conf, sockdir,
                                         fault_server):
    srv = fault_server()
    gate = start(dnsgate_conf, sockdir, [srv], timeout="1s")
    name = noq_name("refused", sysutil.token())
    q = make_query(name, "A", edns=0)
    r, _ = gate.tcp(q, timeout=5.0)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.question == q.question
    assert [x.transport for x in srv.queries(name)] == ["udp"]


# -- classes other than IN ---------------------------------------------------


@pytest.mark.parametrize("rdclass,text", [
    (dns.rdataclass.CH, "CH"),
    (dns.rdataclass.HS, "HS"),
    (dns.rdataclass.NONE, "NONE"),
    (dns.rdataclass.ANY, "ANY"),
    (0, "CLASS0"),
])
def test_other_class_refused_without_forwarding(dnsgate_conf, sockdir,
                                                fault_server, rdclass, text):
    srv = fault_server()
    gate = start(dnsgate_conf, sockdir, [srv])
    name = "ok.%s.fault.test." % sysutil.token()
    q = dns.message.make_query(name, "A", rdclass=rdclass, use_edns=False)
    q.use_edns(0, payload=1232)
    r, _ = gate.udp(q, timeout=5.0)
    assert r.id == q.id
    assert r.rcode() == dns.rcode.REFUSED
    assert r.question == q.question  # the class too
    assert not r.answer and not r.authority
    [ede] = [o for o in r.options if o.otype == dns.edns.EDE]
    assert ede.code == 21  # Not Supported
    assert ede.text == "class %s is not served" % text
    d = gate.wait_decision(qname=name)
    assert d["action"] == "refuse"
    assert d["rule"] == "class:%s" % text
    assert d["rcode"] == "REFUSED"
    assert d["ede"] == 21
    assert "upstream" not in d
    # Class IN still goes through; the other never reached the upstream.
    r, _ = gate.udp(make_query(name, "A", edns=0), timeout=5.0)
    assert r.rcode() == dns.rcode.NOERROR
    assert len(srv.queries(name)) == 1


# -- running out of file descriptors ----------------------------------------


def fd_reports(gate):
    return [o["msg"] for o in gate.log_lines()
            if "out of file descriptors" in str(o.get("msg", ""))]


REPORT = re.compile(r"out of file descriptors \(EMFILE, the process's "
                    r"limit\): (\d+) upstream sockets? not opened and (\d+) "
                    r"TCP accepts? failed (so far|since the last report);")


def test_out_of_descriptors_is_logged_and_counted(dnsgate_conf, sockdir,
                                                  fault_server):
    """With every descriptor taken (RLIMIT_NOFILE lowered on the running
    process, attempts held by an upstream that never answers), a new
    upstream socket or TCP client fails with EMFILE: the query gets
    SERVFAIL at once, every failure is counted in /metrics, and the log
    says so, at most once per 10 s with the count since the last line."""
    srv = fault_server("timeout")
    metrics = "127.0.0.1:%d" % sysutil.free_port()
    gate = dnsgate_conf(
        "[upstream up]\nserver = %s\ntimeout = 20s\nattempts = 2\n\n"
        "[view main]\nupstream = up\n"
        "local-data = local.fd.test. 60 IN A 192.0.2.99\n" % srv.addr,
        server={"control-socket": sockdir + "/ctl.sock",
                "metrics-listen": metrics})
    pid = gate.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    fds = [int(x) for x in os.listdir("/proc/%d/fd" % pid)]
    # New descriptors take the lowest free numbers: the holes below the
    # highest one in use, then 3 more (the upstream sockets' epoll among
    # them). Every query beyond those (and whatever else takes one
    # meanwhile) finds none.
    free = max(fds) + 1 - len(fds) + 3
    held = free + 12
    tok = sysutil.token()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (max(fds) + 4, hard))
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5.0)
        ids = {}
        for n in range(held):
            q = make_query("n%d.%s.fault.test." % (n, tok), "A", edns=0)
            ids[q.id] = q
            s.sendto(q.to_wire(), (gate.host, gate.port))
        failed = []
        while len(failed) < held - free:
            r = dns.message.from_wire(s.recv(4096))
            assert r.id in ids
            assert r.rcode() == dns.rcode.SERVFAIL
            assert sysutil.ede_codes(r) == [23]  # Network Error
            failed.append(r.id)
        s.close()
        first = sysutil.wait_for(lambda: fd_reports(gate), 5.0)
        assert first, gate.stderr_text()[-3000:]
        m = REPORT.search(first[0])
        assert m and m.group(3) == "so far", first[0]
        # A TCP client now: its connection cannot be accepted.
        c = gate.connect()
        c.sendall(sysutil.frame(make_query("local.fd.test.", "A",
                                           edns=0).to_wire()))
        # The next report: at the end of the interval, all the failures
        # since the first in one line (the workers' tick writes it).
        both = sysutil.wait_for(lambda: len(fd_reports(gate)) >= 2 and
                                fd_reports(gate), 30.0)
        assert both, gate.stderr_text()[-3000:]
        m2 = REPORT.search(both[1])
        assert m2 and m2.group(3) == "since the last report", both[1]
        assert int(m2.group(2)) >= 1  # accept() failed
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    # With descriptors again, the waiting client is accepted and answered.
    r = dns.message.from_wire(sysutil.recv_frame(c))
    c.close()
    assert r.rcode() == dns.rcode.NOERROR
    samples = sysutil.scrape_metrics(metrics)
    upstream = sysutil.metric(samples, "dnsgate_fd_exhausted_total",
                              where="upstream")
    accept = sysutil.metric(samples, "dnsgate_fd_exhausted_total",
                            where="accept")
    # Each failed query tried both its attempts (some of the queries not
    # read may have failed too); the two lines told of every upstream
    # failure, and of the accept failures up to the second.
    assert upstream >= 2 * len(failed)
    assert int(m.group(1)) + int(m2.group(1)) == upstream
    assert accept >= int(m2.group(2))
    # Many failures, and no more lines than the interval lets through.
    assert len(fd_reports(gate)) == 2
