# SPDX-License-Identifier: BSD-2-Clause
"""A log file with `[server] user =`: root creates it before dropping
privileges, then gives it to the user (as it does the control socket), so
that every reload reopens it and rotation keeps working (dnsgate.conf(5),
[log] target and [server] user)."""

import json
import os
import pwd
import shutil
import signal
import tempfile
from pathlib import Path

import dns.rcode
import pytest

import sysutil
from conftest import DnsGate
from sysutil import LOOPBACK4, make_query

USER = "nobody"
NAME = "www.local.test."


def needs_root_and_user():
    if os.geteuid() != 0:
        pytest.skip("needs root: the test drops privileges")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pytest.skip("no user %s" % USER)


@pytest.fixture
def userdir():
    """A directory outside pytest's (root-only) tree that the user owns,
    so it can read the config and create a log file after a rotation."""
    pw = needs_root_and_user()
    d = tempfile.mkdtemp(prefix="dglog", dir="/tmp")
    os.chmod(d, 0o755)
    os.chown(d, pw.pw_uid, pw.pw_gid)
    yield Path(d), pw
    shutil.rmtree(d, ignore_errors=True)


def config(port, log):
    return "\n".join([
        "[server]",
        "listen = %s:%d" % (LOOPBACK4, port),
        "workers = 1",
        "user = %s" % USER,
        "[log]",
        "target = %s" % log,
        "format = json",
        "decisions = all",
        "[view all]",
        "upstream = none",
        "local-data = %s 300 IN A 192.0.2.1" % NAME,
        "",
    ])


def lines(path):
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(ln) for ln in text.splitlines()]


def wait_line(path, pred, what):
    found = sysutil.wait_for(lambda: [o for o in lines(path) if pred(o)], 5)
    assert found, "no %s in %s:\n%s" % (what, path, lines(path))
    return found


def ask_and_wait_decision(gate, log):
    q = make_query(NAME, "A", edns=0)
    r, _ = gate.udp(q)
    assert r.rcode() == dns.rcode.NOERROR
    wait_line(log, lambda o: o.get("id") == q.id and
              o.get("action") == "local", "decision for id %d" % q.id)


def is_reload(o):
    return str(o.get("msg", "")).startswith("reloaded")


def test_log_file_follows_reloads_and_rotation_as_user(userdir):
    d, pw = userdir
    log = d / "dnsgate.log"
    port = sysutil.free_port()
    gate = DnsGate(d, config(port, log), [(LOOPBACK4, port)])
    assert gate.start(), gate.stderr_text()
    try:
        assert os.stat(log).st_uid == pw.pw_uid, "the log is still root's"
        ask_and_wait_decision(gate, log)

        # A reload reopens the file: as the user now.
        gate.signal(signal.SIGHUP)
        wait_line(log, is_reload, "reload")
        assert not [o for o in lines(log)
                    if "cannot open" in str(o.get("msg", ""))], lines(log)
        ask_and_wait_decision(gate, log)

        # logrotate: rename, then SIGHUP; a new file, the user's, gets
        # the lines from then on.
        rotated = d / "dnsgate.log.1"
        log.rename(rotated)
        gate.signal(signal.SIGHUP)
        wait_line(log, is_reload, "reload in the new file")
        assert os.stat(log).st_uid == pw.pw_uid
        ask_and_wait_decision(gate, log)
        assert len([o for o in lines(rotated) if is_reload(o)]) == 1
    finally:
        rc = gate.stop()
    assert rc == 0, gate.stderr_text()
