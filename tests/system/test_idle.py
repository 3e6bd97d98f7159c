# SPDX-License-Identifier: BSD-2-Clause
"""An idle dnsgate stays asleep: its threads wake a few times a second (the
log thread's and the health check's 1 s ticks, the RRL timer), not every
5 ms as a polling log thread did (about 200 wake-ups a second, 400 with
dnstap). Counted from the kernel's context-switch counters of every thread,
so a machine's speed does not enter into it; the bound leaves 3x room over
what a healthy instance does (about 3 a second) and is 20x below the old
polling."""

import time
from pathlib import Path

from conftest import WWW
from sysutil import make_query

WINDOW = 3.0
BOUND = 30  # wake-ups in WINDOW seconds, all threads together


def wakeups(pid):
    """Voluntary + involuntary context switches of all threads of pid."""
    total = 0
    for status in Path("/proc/%d/task" % pid).glob("*/status"):
        for line in status.read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches",
                                "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def idle_wakeups(gate):
    # The log thread polls for 100 ms after the last line, then sleeps.
    time.sleep(1.0)
    before = wakeups(gate.proc.pid)
    time.sleep(WINDOW)
    return wakeups(gate.proc.pid) - before


def test_idle_instance_does_not_poll(dnsgate, nsd):
    gate = dnsgate([nsd.addr])
    r, _ = gate.udp(make_query(WWW, "A", edns=0))
    assert r.answer
    n = idle_wakeups(gate)
    assert n < BOUND, "%d wake-ups in %.0f s while idle" % (n, WINDOW)
    # Asleep, the log thread still writes the next decision at once: the
    # worker rings it (within the helper's wait, well before its own 1 s).
    q = make_query(WWW, "AAAA", edns=0)
    gate.udp(q)
    assert gate.wait_decision(qid=q.id), "no decision line after idle"


def test_idle_with_dnstap_unreachable(dnsgate, nsd, tmp_path):
    """dnstap configured but no collector: the writer sleeps until its
    next connection attempt (once a second) instead of polling."""
    gate = dnsgate([nsd.addr], log={"dnstap": str(tmp_path / "none.sock")})
    n = idle_wakeups(gate)
    assert n < BOUND, "%d wake-ups in %.0f s while idle" % (n, WINDOW)
