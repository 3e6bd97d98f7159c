# SPDX-License-Identifier: BSD-2-Clause
"""A view without allow/refuse/drop lines whose match-client takes every
client (or is not set) answers anyone: on a listen address outside
loopback, an open resolver. The semantics stay; `dnsgate -t` warns (exit
status 0), and so does the log at start-up and at every reload, naming
the view and the listen address (dnsgate.conf(5), View access control)."""

import signal
import subprocess

import pytest

import sysutil
from conftest import DNSGATE_BIN

UPSTREAM = "[upstream up]\nserver = 192.0.2.53\n"


def check(tmp_path, listens, views):
    text = "[server]\n" + "".join("listen = %s\n" % a for a in listens)
    text += UPSTREAM + views
    path = tmp_path / "dnsgate.conf"
    path.write_text(text)
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(path)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=10)
    warnings = [ln for ln in p.stderr.splitlines() if "answers anyone" in ln]
    return p.returncode, path, text, warnings, p.stderr


def header_line(text, header):
    return text.splitlines().index(header) + 1


OPEN = "[view all]\nupstream = up\n"


@pytest.mark.parametrize("listen", ["0.0.0.0:5399", "[::]:5399",
                                    "192.0.2.1:53", "[2001:db8::1]:53"])
def test_open_view_outside_loopback_warns(tmp_path, listen):
    rc, path, text, warnings, err = check(
        tmp_path, ["127.0.0.1:5399", listen], OPEN)
    assert rc == 0, "a warning is not an error: %s" % err
    assert len(warnings) == 1, err
    want = "%s:%d: warning: [view all] answers anyone who reaches listen " \
        "%s:" % (path, header_line(text, "[view all]"), listen)
    assert warnings[0].startswith(want), warnings[0]
    assert "match-client is not set" in warnings[0]


@pytest.mark.parametrize("match", ["any", "0.0.0.0/0, ::/0",
                                   "!10.0.0.0/8, any"])
def test_match_client_taking_everyone_warns(tmp_path, match):
    rc, _, _, warnings, err = check(
        tmp_path, ["0.0.0.0:5399"],
        "[view world]\nmatch-client = %s\nupstream = up\n" % match)
    assert rc == 0, err
    assert len(warnings) == 1, err
    assert "[view world]" in warnings[0]
    assert "match-client takes every address" in warnings[0]


def test_destination_outside_loopback_on_wildcard_warns(tmp_path):
    # A wildcard listen takes queries to every address of the host.
    rc, _, _, warnings, err = check(
        tmp_path, ["0.0.0.0:5399", "192.0.2.1:53"],
        OPEN + "match-destination = 127.0.0.0/8, 10.9.9.9\n")
    assert rc == 0, err
    assert len(warnings) == 1, err
    assert "listen 0.0.0.0:5399:" in warnings[0]


def test_every_open_listen_named(tmp_path):
    rc, _, _, warnings, err = check(
        tmp_path, ["0.0.0.0:5399", "[::]:5399", "127.0.0.1:5300"], OPEN)
    assert rc == 0, err
    assert len(warnings) == 2, err
    assert "listen 0.0.0.0:5399:" in warnings[0]
    assert "listen [::]:5399:" in warnings[1]


@pytest.mark.parametrize("listens,views", [
    # Loopback only: nobody else can reach it.
    (["127.0.0.1:5399", "127.0.0.53:5399", "[::1]:5399"], OPEN),
    # ACL lines, whatever they say (allow = any means it).
    (["0.0.0.0:5399"], OPEN + "allow = any\n"),
    (["0.0.0.0:5399"], OPEN + "allow = 10.0.0.0/8\nrefuse = any\n"),
    (["0.0.0.0:5399"], OPEN + "drop = any\n"),
    # A match-client that does not take everyone.
    (["0.0.0.0:5399"], "[view lan]\nmatch-client = 10.0.0.0/8\n"
                       "upstream = up\n"),
    (["0.0.0.0:5399"], "[view lan]\nmatch-client = !any, any\n"
                       "upstream = up\n"),
    # Only queries to a loopback address reach it.
    (["0.0.0.0:5399"], OPEN + "match-destination = 127.0.0.1\n"),
    (["192.0.2.1:53"], OPEN + "match-destination = 127.0.0.0/8, 10.9.9.9\n"),
    # Behind a view that takes every query: never reached.
    (["0.0.0.0:5399"], "[view first]\nupstream = up\nrefuse = any\n"
                       "[view later]\nupstream = up\n"),
])
def test_closed_or_loopback_view_does_not_warn(tmp_path, listens, views):
    rc, _, _, warnings, err = check(tmp_path, listens, views)
    assert rc == 0, err
    assert warnings == [], err
    assert "warning" not in err, err


def test_start_and_reload_log_the_warning(dnsgate_conf):
    gate = dnsgate_conf("[view open]\nupstream = none\n"
                        "local-data = www.open.test. A 192.0.2.1\n",
                        listen=[("0.0.0.0", "127.0.0.1")])
    listen = "0.0.0.0:%d" % gate.port

    def warned():
        return [o for o in gate.log_lines()
                if o.get("level") == "warning" and
                "[view open] answers anyone who reaches listen %s:" % listen
                in o.get("msg", "")]

    at_start = sysutil.wait_for(warned, 3)
    assert at_start and len(at_start) == 1, gate.stderr_text()
    assert at_start[0]["msg"].startswith("%s:" % gate.config_path)
    gate.signal(signal.SIGHUP)
    again = sysutil.wait_for(lambda: len(warned()) == 2 and warned(), 5)
    assert again, gate.stderr_text()
    assert again[1]["msg"].startswith("reload: ")
