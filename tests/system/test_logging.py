# SPDX-License-Identifier: BSD-2-Clause
"""dnsgate's own log lines and log files (dnsgate(8) SIGNALS, DECISION LOG):
SIGUSR1 reopens a file target, as logrotate's postrotate needs, and never
stops the daemon; every daemon line carries a time stamp."""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

import sysutil
from conftest import REPO, WWW
from sysutil import make_query

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
RFC3339_MS = re.compile("^%s$" % TS)
TEXT_DAEMON_LINE = re.compile(r"^(%s) dnsgate: (.*)$" % TS)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def json_lines(text):
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def decided(path, qname):
    """The decision lines for qname in the JSON log file at path."""
    return [o for o in json_lines(read(path))
            if sysutil.same_name(o.get("qname"), qname)]


def ask(gate, name):
    r, _ = gate.udp(make_query(name, "A", edns=0))
    return r


def test_sigusr1_reopens_moved_log_file(dnsgate, nsd, tmp_path):
    """logrotate: move the file away, SIGUSR1; new lines land in a new file
    at the original path, the process lives on, the moved file gets
    nothing more."""
    log = str(tmp_path / "dnsgate.log")
    rotated = log + ".1"
    gate = dnsgate([nsd.addr], log={"target": log})
    assert sysutil.answer_addresses(ask(gate, WWW)) == ["192.0.2.10"]
    assert sysutil.wait_for(lambda: decided(log, WWW), 5), read(log)

    os.rename(log, rotated)
    before = read(rotated)
    gate.signal(signal.SIGUSR1)
    reopened = sysutil.wait_for(
        lambda: [o for o in json_lines(read(log))
                 if o.get("msg") == "log reopened (SIGUSR1)"], 5)
    assert reopened, (read(log), gate.stderr_text())
    assert reopened[0]["level"] == "info"

    alias = "alias.example.test."
    assert sysutil.answer_addresses(ask(gate, alias)) == ["192.0.2.10"]
    assert sysutil.wait_for(lambda: decided(log, alias), 5), read(log)
    assert gate.proc.poll() is None
    assert read(rotated) == before
    assert not decided(rotated, alias)
    # Nothing of this went to stderr: the file is the target.
    assert "reopen" not in gate.stderr_text()


def test_sigusr1_with_stderr_target_changes_nothing(dnsgate, nsd):
    """Before, SIGUSR1's default action killed dnsgate (exit 138)."""
    gate = dnsgate([nsd.addr])

    def reopens():
        return len([o for o in gate.log_lines()
                    if o.get("msg") == "log reopened (SIGUSR1)"])

    # One at a time: pending signals of a kind coalesce into one.
    for n in range(1, 4):
        gate.signal(signal.SIGUSR1)
        assert sysutil.wait_for(lambda: reopens() == n, 5), \
            gate.stderr_text()
    assert sysutil.answer_addresses(ask(gate, WWW)) == ["192.0.2.10"]
    assert gate.proc.poll() is None


def test_sigusr1_unwritable_new_file_keeps_old(dnsgate, nsd, tmp_path):
    """When the path cannot be opened again, the error is logged to the file
    in use, and writing goes on there."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = str(logdir / "dnsgate.log")
    gate = dnsgate([nsd.addr], log={"target": log})
    os.rename(log, str(tmp_path / "moved.log"))
    # A directory where the file was: open() fails, even for root.
    os.mkdir(log)
    gate.signal(signal.SIGUSR1)
    moved = str(tmp_path / "moved.log")
    err = sysutil.wait_for(
        lambda: [o for o in json_lines(read(moved))
                 if "cannot reopen the log file" in o.get("msg", "")], 5)
    assert err and err[0]["level"] == "error", read(moved)
    assert sysutil.answer_addresses(ask(gate, WWW)) == ["192.0.2.10"]
    assert sysutil.wait_for(lambda: decided(moved, WWW), 5)
    assert gate.proc.poll() is None


@pytest.mark.parametrize("target", ["stderr", "file"])
def test_daemon_lines_carry_ts_json(dnsgate, nsd, tmp_path, target):
    log = str(tmp_path / "dnsgate.log")
    gate = dnsgate([nsd.addr],
                   log={"target": log if target == "file" else "stderr"})
    gate.signal(signal.SIGUSR1)  # one more daemon line, at run time
    text = (lambda: read(log)) if target == "file" else gate.stderr_text

    def daemon_lines():
        return [o for o in json_lines(text()) if "level" in o]

    lines = sysutil.wait_for(
        lambda: [o for o in daemon_lines() if "reopened" in o["msg"]]
        and daemon_lines(), 5)
    assert lines and any("started" in o["msg"] for o in lines), text()
    for o in lines:
        assert RFC3339_MS.match(str(o.get("ts"))), o
        # "ts" first, as in decision lines.
        assert list(o)[:3] == ["ts", "level", "msg"], o


@pytest.mark.parametrize("target", ["stderr", "file"])
def test_daemon_lines_carry_ts_text(dnsgate, nsd, tmp_path, target):
    log = str(tmp_path / "dnsgate.log")
    gate = dnsgate([nsd.addr],
                   log={"format": "text",
                        "target": log if target == "file" else "stderr"})
    gate.signal(signal.SIGUSR1)
    text = (lambda: read(log)) if target == "file" else gate.stderr_text
    assert sysutil.wait_for(lambda: "log reopened" in text(), 5), text()
    daemon = [ln for ln in text().splitlines() if " dnsgate: " in ln]
    assert any("started" in ln for ln in daemon), text()
    assert any("log reopened" in ln for ln in daemon), text()
    for ln in daemon:
        assert TEXT_DAEMON_LINE.match(ln), ln


def test_packaged_logrotate_snippet_rotates(dnsgate, nsd, tmp_path):
    """packaging/dnsgate.logrotate run by logrotate itself: its paths moved
    to a test directory and its postrotate's `systemctl kill` replaced by
    `kill -USR1 PID` (no systemd here), everything else as shipped."""
    logrotate = shutil.which("logrotate") or (
        "/usr/sbin/logrotate" if os.access("/usr/sbin/logrotate", os.X_OK)
        else None)
    if logrotate is None:
        pytest.skip("logrotate is not installed")
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = str(logdir / "dnsgate.log")
    gate = dnsgate([nsd.addr], log={"target": log})
    assert sysutil.answer_addresses(ask(gate, WWW)) == ["192.0.2.10"]
    assert sysutil.wait_for(lambda: decided(log, WWW), 5), read(log)

    snippet = (REPO / "packaging/dnsgate.logrotate").read_text()
    assert "/var/log/dnsgate/*.log {" in snippet
    snippet = snippet.replace("/var/log/dnsgate/", str(logdir) + "/")
    snippet, n = re.subn(r"systemctl kill [^\n]*",
                         "kill -USR1 %d" % gate.proc.pid, snippet)
    assert n == 1, snippet
    conf = tmp_path / "logrotate.conf"
    conf.write_text(snippet)
    p = subprocess.run([logrotate, "-f", "-s", str(tmp_path / "state"),
                        str(conf)], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode()

    # delaycompress: the first rotation stays plain text.
    rotated = log + ".1"
    assert decided(rotated, WWW)
    reopened = sysutil.wait_for(
        lambda: "log reopened (SIGUSR1)" in read(log), 5)
    assert reopened, (read(log), gate.stderr_text())
    alias = "alias.example.test."
    assert sysutil.answer_addresses(ask(gate, alias)) == ["192.0.2.10"]
    assert sysutil.wait_for(lambda: decided(log, alias), 5), read(log)
    assert not decided(rotated, alias)
    assert gate.proc.poll() is None
