# SPDX-License-Identifier: BSD-2-Clause
"""Usage of the command line (dnsgate(8) SYNOPSIS, OPTIONS, COMMANDS):
`--help` and `-h` print the usage on standard output and exit 0, for
dnsgate itself and for every subcommand; a bad usage prints it on standard
error and exits 2. Nothing here needs a running daemon: a command line that
would reach one names a socket nobody listens on, so it fails with 1, not 2.
"""

import subprocess

import pytest

from conftest import DNSGATE_BIN

CTL_COMMANDS = ["reload", "stats", "upstreams", "top-clients", "top-names",
                "flush-cache"]
NOBODY = ["-s", "/nonexistent/dnsgate-test.sock"]


def run(*args):
    p = subprocess.run([DNSGATE_BIN] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=10)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_dnsgate_help(flag):
    rc, out, err = run(flag)
    assert (rc, err) == (0, "")
    assert out.startswith("usage: dnsgate ")
    assert "dnsgate ctl" in out and "dnsgate explain" in out


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_ctl_help_lists_every_command(flag):
    rc, out, err = run("ctl", flag)
    assert (rc, err) == (0, "")
    assert out.startswith("usage: dnsgate ctl ")
    for cmd in CTL_COMMANDS:
        assert "\n  %s" % cmd in out, cmd
    # After the socket option, too.
    assert run("ctl", *NOBODY, flag)[:2] == (0, out)


@pytest.mark.parametrize("cmd", CTL_COMMANDS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_ctl_command_help(cmd, flag):
    rc, out, err = run("ctl", *NOBODY, cmd, flag)
    assert (rc, err) == (0, ""), err
    assert out.startswith("usage: dnsgate ctl [-s SOCKET | -c FILE] %s"
                          % cmd)


def test_ctl_top_help_documents_the_window():
    _, out, _ = run("ctl", "top-names", "--help")
    assert "[--window D]" in out
    assert "default 60s" in out and "to 5m" in out


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_explain_help(flag):
    rc, out, err = run("explain", flag)
    assert (rc, err) == (0, "")
    assert out.startswith("usage: dnsgate explain ")
    assert "--client IP" in out
    # --help wins over the rest of the line, missing --client included.
    assert run("explain", "-c", "/nonexistent.conf", "www.example",
               flag)[:2] == (0, out)


@pytest.mark.parametrize("args", [
    ["ctl"],
    ["ctl", "--bogus"],
    ["ctl", *NOBODY, "reload", "now"],
    ["ctl", *NOBODY, "upstreams", "x"],
    ["ctl", *NOBODY, "flush-cache", "view", "name", "third"],
    ["ctl", *NOBODY, "top-clients", "--window"],
    ["ctl", *NOBODY, "top-clients", "--window", "soon"],
    ["ctl", *NOBODY, "top-clients", "--window", "0"],
    ["ctl", *NOBODY, "top-names", "--window", "1h"],
    ["ctl", *NOBODY, "top-names", "--since", "5s"],
    ["explain"],
    ["explain", "www.example"],
    ["explain", "--client", "10.0.0.1", "--cookie", "maybe", "www.example"],
    ["--bogus"],
])
def test_bad_usage_exits_2_with_usage_on_stderr(args):
    rc, out, err = run(*args)
    assert rc == 2, (out, err)
    assert out == ""
    assert "usage: dnsgate" in err


@pytest.mark.parametrize("args", [
    ["top-clients"],
    ["top-clients", "--window", "30s"],
    ["top-names", "--window=5m"],
    ["flush-cache", "view", "name.example"],
    ["upstreams"],
])
def test_good_usage_reaches_for_the_socket(args):
    rc, out, err = run("ctl", *NOBODY, *args)
    assert rc == 1, (out, err)
    assert "dnsgate-test.sock" in err
    assert "usage" not in err
