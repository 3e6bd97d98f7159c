# SPDX-License-Identifier: BSD-2-Clause
"""`[server] yield-to-local-upstream` (an extension, dnsgate.conf(5)): a
worker that has handed UDP queries to an upstream server on this host
(here the fault server on 127.0.0.1) yields its CPU afterwards, so that
the server answers at once when it waits for the same CPU.

What the wire sees does not change, so the yields are counted through
`dnsgate ctl stats` (local_upstream_yields): one per loop round that sent
to a local server with `yes`, none with `no`, none for queries answered
without an upstream, and a reload switches the mode. When `auto` yields
(while another task competes for the worker's CPU, and only as long as
its yields hand the CPU over briefly) is the unit test
tests/unit/proxy/test_yield.c: no test here can make the scheduler
preempt a worker on demand. Whether yielding makes anything faster is the
benchmark's question (bench/README.md), never a test's.
"""

import re

import pytest

import faultserver
import sysutil
from conftest import ctl
from sysutil import fault_name, make_query

QUERIES = 20

BODY = """[upstream up]
server = %s
attempts = 1
%s

[view main]
upstream = up
local-zone = corp.test static
local-data = www.corp.test. 300 IN A 10.0.0.10
"""


def ctl_gate(gate, *args):
    rc, out, err = ctl("-s", gate.options["control-socket"], *args)
    return rc, out, err


def yields(gate):
    rc, out, err = ctl_gate(gate, "stats")
    assert rc == 0, (out, err)
    m = re.search(r"^local_upstream_yields (\d+)$", out, re.M)
    assert m, out
    return int(m.group(1))


def start(dnsgate_conf, fault_server, sockdir, mode, sockets="",
          server=None):
    up = fault_server()
    opts = {"control-socket": sockdir + "/ctl.sock",
            "yield-to-local-upstream": mode}
    opts.update(server or {})
    return dnsgate_conf(BODY % (up.addr, sockets), server=opts)


def ask(gate, name):
    q = make_query(name, "A", edns=0)
    r, _ = gate.udp(q, timeout=3.0)
    assert r.id == q.id
    return r


def forward(gate, n=QUERIES):
    """n queries one after the other: each is forwarded in a loop round
    of its own."""
    tok = sysutil.token()
    for i in range(n):
        r = ask(gate, fault_name("ok", tok, i))
        assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]


# Each way of sending upstream: a socket per attempt through io_uring, the
# same with sendto(), and pooled sockets.
@pytest.mark.parametrize("sockets,server", [
    ("", {}),
    ("", {"io-uring": "no"}),
    ("udp-sockets = 4", {}),
], ids=["io_uring", "sendto", "pooled"])
def test_yes_yields_after_each_round_that_forwarded(
        dnsgate_conf, fault_server, sockdir, sockets, server):
    gate = start(dnsgate_conf, fault_server, sockdir, "yes", sockets, server)
    before = yields(gate)
    forward(gate)
    assert yields(gate) - before >= QUERIES


def test_no_never_yields(dnsgate_conf, fault_server, sockdir):
    gate = start(dnsgate_conf, fault_server, sockdir, "no")
    forward(gate)
    assert yields(gate) == 0


def test_local_answers_do_not_yield(dnsgate_conf, fault_server, sockdir):
    gate = start(dnsgate_conf, fault_server, sockdir, "yes")
    before = yields(gate)
    for _ in range(QUERIES):
        r = ask(gate, "www.corp.test.")
        assert sysutil.answer_addresses(r) == ["10.0.0.10"]
    assert yields(gate) == before


def test_reload_switches_the_mode(dnsgate_conf, fault_server, sockdir):
    gate = start(dnsgate_conf, fault_server, sockdir, "yes")
    forward(gate)
    text = gate.config_path.read_text()
    assert "yield-to-local-upstream = yes" in text
    gate.config_path.write_text(
        text.replace("yield-to-local-upstream = yes",
                     "yield-to-local-upstream = no"))
    rc, out, err = ctl_gate(gate, "reload")
    assert rc == 0 and out.startswith("ok"), (out, err)
    after_reload = yields(gate)
    assert after_reload >= QUERIES
    forward(gate)
    assert yields(gate) == after_reload


def test_bad_value_is_rejected(dnsgate_conf, fault_server, sockdir):
    gate = start(dnsgate_conf, fault_server, sockdir, "auto")
    good = gate.config_path.read_text()
    gate.config_path.write_text(
        good.replace("yield-to-local-upstream = auto",
                     "yield-to-local-upstream = sometimes"))
    rc, out, err = ctl_gate(gate, "reload")
    assert rc != 0 or not out.startswith("ok"), (out, err)
    assert "yield-to-local-upstream" in out + err, (out, err)
    # The running configuration stays, and so does forwarding.
    forward(gate, 2)
