# SPDX-License-Identifier: BSD-2-Clause
"""`dnsgate -t -c FILE`: 0 for a valid file; otherwise 1 and one
`FILE:LINE: message` line on stderr per error, every error reported."""

import os
import re
import subprocess
import textwrap

import pytest

from conftest import DNSGATE_BIN, build_config


def run_check(path):
    if not os.access(DNSGATE_BIN, os.X_OK):
        pytest.fail("dnsgate binary not found: %s (run make)" % DNSGATE_BIN)
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(path)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    return p.returncode, p.stderr.decode(errors="replace")


def error_lines(path, stderr):
    """{line number: message} for every `FILE:LINE: message` line that is
    an error (not a `FILE:LINE: warning: ...`)."""
    pat = re.compile(r"^%s:(\d+): (.+)$" % re.escape(str(path)))
    found = []
    for line in stderr.splitlines():
        m = pat.match(line)
        if m and not m.group(2).startswith("warning: "):
            found.append((int(m.group(1)), m.group(2)))
    return found


def write(tmp_path, text, name="dnsgate.conf"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def line_of(path, needle):
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in %s" % (needle, path))


GOOD = """
[server]
listen = 127.0.0.1:5300
workers = 1
udp-payload-size = 1232
tcp-idle-timeout = 10s
tcp-max-clients = 1024

[log]
target = stderr
format = json
decisions = all

[upstream up]
server = 127.0.0.1:5353
server = 127.0.0.2
selection = ordered
timeout = 1500ms
attempts = 3
retry-on = servfail, timeout

[view all]
upstream = up
"""


def test_good_file_passes(tmp_path):
    path = write(tmp_path, GOOD)
    rc, err = run_check(path)
    assert rc == 0, err
    assert error_lines(path, err) == []


def test_generated_test_config_passes(tmp_path):
    """The config the other tests start dnsgate with is itself valid."""
    path = write(tmp_path, build_config([("127.0.0.1", 5300)],
                                        ["127.0.0.1:5353"]))
    rc, err = run_check(path)
    assert rc == 0, err


@pytest.mark.parametrize("key,value", [
    ("tcp-idle-timeout", "10"),  # a bare number is seconds
    ("tcp-idle-timeout", "2m"),
    ("tcp-idle-timeout", "500ms"),
    ("tcp-idle-timeout", "1h"),
])
def test_duration_units(tmp_path, key, value):
    path = write(tmp_path, GOOD.replace("tcp-idle-timeout = 10s",
                                        "%s = %s" % (key, value)))
    rc, err = run_check(path)
    assert rc == 0, err


def test_three_errors_all_reported_with_lines(tmp_path):
    path = write(tmp_path, """
        [server]
        listen = 127.0.0.1:5300
        workers = 1
        no-such-key = 1

        [log]
        target = stderr

        [upstream up]
        server = 127.0.0.1:5353
        timeout = soon

        [view all]
        upstream = up

        [no-such-section]
        foo = bar
        """)
    rc, err = run_check(path)
    assert rc == 1, err
    found = error_lines(path, err)
    lines = sorted(n for n, _ in found)
    assert len(found) == 3, err
    unknown_key = line_of(path, "no-such-key")
    bad_value = line_of(path, "timeout = soon")
    section = line_of(path, "[no-such-section]")
    # The unknown section is reported at its header or at its first key.
    assert lines[:2] == [unknown_key, bad_value], err
    assert lines[2] in (section, section + 1), err


def test_unknown_key_rejected(tmp_path):
    path = write(tmp_path, GOOD.replace("workers = 1",
                                        "workers = 1\nfrobnicate = yes"))
    rc, err = run_check(path)
    assert rc == 1
    assert [n for n, _ in error_lines(path, err)] == [
        line_of(path, "frobnicate")], err


def test_empty_unknown_section_rejected(tmp_path):
    path = write(tmp_path, GOOD + "\n[frobnicate]\n")
    rc, err = run_check(path)
    assert rc == 1
    assert [n for n, _ in error_lines(path, err)] == [
        line_of(path, "[frobnicate]")], err


@pytest.mark.parametrize("old,new", [
    ("workers = 1", "workers = many"),
    ("udp-payload-size = 1232", "udp-payload-size = big"),
    ("tcp-idle-timeout = 10s", "tcp-idle-timeout = 10 parsecs"),
    ("tcp-max-clients = 1024", "tcp-max-clients = -1"),
    ("listen = 127.0.0.1:5300", "listen = 127.0.0.1:99999"),
    ("listen = 127.0.0.1:5300", "listen = not-an-address"),
    ("server = 127.0.0.2", "server = ns1.example.net"),
    ("selection = ordered", "selection = random"),
    ("timeout = 1500ms", "timeout = -5"),
    ("attempts = 3", "attempts = three"),
    ("retry-on = servfail, timeout", "retry-on = servfail, sometimes"),
    ("format = json", "format = xml"),
    ("decisions = all", "decisions = some"),
])
def test_bad_value_rejected_at_its_line(tmp_path, old, new):
    path = write(tmp_path, GOOD.replace(old, new))
    rc, err = run_check(path)
    assert rc == 1, err
    assert [n for n, _ in error_lines(path, err)] == [line_of(path, new)], err


def test_view_naming_an_unknown_upstream_rejected(tmp_path):
    path = write(tmp_path, GOOD.replace("upstream = up", "upstream = nosuch"))
    rc, err = run_check(path)
    assert rc == 1
    found = error_lines(path, err)
    assert len(found) == 1, err
    assert found[0][0] in (line_of(path, "upstream = nosuch"),
                           line_of(path, "[view all]")), err


def test_missing_file(tmp_path):
    path = tmp_path / "absent.conf"
    rc, err = run_check(path)
    assert rc == 1
    assert str(path) in err


KEYS_OF_EVERY_SECTION = """
[server]
listen = 127.0.0.1:5300
listen = [::1]:5300
workers = 1
user = nobody
control-socket = {tmp}/control.sock
metrics-listen = 127.0.0.1:9153
udp-payload-size = 1232
tcp-idle-timeout = 10s
tcp-max-clients = 1024
ede-text = yes

[log]
target = stderr
format = json
decisions = non-default

[upstream up]
server = 192.0.2.53
server = 127.0.0.1:5353
selection = round-robin
timeout = 1500ms
attempts = 3
retry-on = servfail, timeout, refused
health-check = 5s

[view corp]
match-client = !10.66.0.0/16, 10.0.0.0/8, 192.168.0.0/16
match-destination = 10.0.0.1
upstream = up
allow = 10.0.0.0/8
refuse = any
local-data = intranet.corp.example. 300 IN A 10.1.2.3
local-zone = corp.example static
blocklist = {tmp}/ads.txt
allowlist = {tmp}/allow.txt
block-action = nxdomain
rebind-protection = yes
allow-transfer = none

[view all]
upstream = up

[ratelimit]
responses-per-second = 20
nxdomains-per-second = 10
nodata-per-second = 10
errors-per-second = 10
all-per-second = 0
window = 15s
slip = 2
ipv4-prefix-length = 24
ipv6-prefix-length = 56
exempt-clients = 127.0.0.0/8
max-table-size = 100000
log-only = no
queries-per-second = 0
queries-action = refuse

[cookies]
enabled = yes
secret = 000102030405060708090a0b0c0d0e0f
previous-secret =
require = no

[cache]
size = 64MB
min-ttl = 0
max-ttl = 86400
serve-stale = yes
stale-ttl = 30s
max-stale = 1d
"""


def test_keys_accepted_or_not_supported_yet(tmp_path):
    """Keys of every section, each with a valid value: accepted, or
    rejected only as "not supported yet" (the [cache] keys,
    dnsgate.conf(5)), at its own line, in FILE:LINE: form."""
    (tmp_path / "ads.txt").write_text("ads.example\n")
    (tmp_path / "allow.txt").write_text("ok.ads.example\n")
    path = write(tmp_path, KEYS_OF_EVERY_SECTION.format(tmp=tmp_path))
    rc, err = run_check(path)
    found = error_lines(path, err)
    if rc == 0:
        assert found == [], err
        return
    assert rc == 1, err
    assert found, "exit 1 without any FILE:LINE: line:\n" + err
    text = path.read_text().splitlines()
    for n, message in found:
        assert 1 <= n <= len(text), (n, message)
        assert "=" in text[n - 1], "error not at a key line: %d %s" % (
            n, message)
        assert "not supported yet" in message, (n, text[n - 1], message)
    # Every stderr line that names the file is in the FILE:LINE: form.
    for line in err.splitlines():
        if line.startswith(str(path)):
            assert re.match(r"^%s:\d+: .+" % re.escape(str(path)), line), line


def test_bad_config_refuses_to_start(tmp_path):
    path = write(tmp_path, GOOD.replace("workers = 1", "workers = many"))
    if not os.access(DNSGATE_BIN, os.X_OK):
        pytest.fail("dnsgate binary not found: %s" % DNSGATE_BIN)
    p = subprocess.run([DNSGATE_BIN, "-c", str(path)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    assert p.returncode != 0
    err = p.stderr.decode(errors="replace")
    assert [n for n, _ in error_lines(path, err)] == [
        line_of(path, "workers = many")], err


@pytest.mark.parametrize("listen,server,own", [
    # The listen address itself.
    ("127.0.0.1:5300", "127.0.0.1:5300", True),
    # Behind a wildcard listen address: any address of this host on that
    # port, every 127/8 alias included.
    ("0.0.0.0:5300", "127.0.0.2:5300", True),
    ("0.0.0.0:5300", "127.0.0.1:5300", True),
    ("[::]:5300", "[::1]:5300", True),
    # Other sockets: another port, another 127/8 address than a specific
    # listen address, another family ([::] is IPv6 only).
    ("127.0.0.1:5300", "127.0.0.1:5301", False),
    ("127.0.0.1:5300", "127.0.0.2:5300", False),
    ("[::]:5300", "127.0.0.1:5300", False),
])
def test_server_on_own_listen_address_rejected(tmp_path, listen, server, own):
    """A server that is dnsgate's own listen address would have every
    forwarded query come back and be forwarded again: -t rejects it at
    the server's line, as resolv-conf's own addresses are left out."""
    path = write(tmp_path, GOOD.replace("listen = 127.0.0.1:5300",
                                        "listen = %s" % listen)
                 .replace("server = 127.0.0.1:5353",
                          "server = %s" % server))
    rc, err = run_check(path)
    if not own:
        assert rc == 0, err
        return
    assert rc == 1, err
    found = error_lines(path, err)
    assert [n for n, _ in found] == [line_of(path, "server = %s" % server)]
    assert "[upstream up]: server %s" % server in found[0][1]
    assert "forwarded to dnsgate itself, in a loop" in found[0][1]
    if listen.startswith(("0.0.0.0", "[::]")):
        assert "listen = %s (line %d)" % (
            listen, line_of(path, "listen = ")) in found[0][1]


NO_IFADDRS_SHIM = r"""
#include <errno.h>
#include <ifaddrs.h>
int getifaddrs(struct ifaddrs **ifap)
{
	*ifap = 0;
	errno = EAFNOSUPPORT; /* as under RestrictAddressFamilies= without AF_NETLINK */
	return -1;
}
"""


def test_resolv_conf_refused_when_host_addresses_unreadable(tmp_path):
    """getifaddrs() failing (a sandbox without AF_NETLINK) must not let a
    resolv.conf nameserver that may be this host through behind a wildcard
    listen: -t refuses it and says why; the real binary, with getifaddrs
    replaced by an LD_PRELOAD shim."""
    if os.environ.get("DNSGATE_BIN_SANITIZED") or "address" in DNSGATE_BIN:
        pytest.skip("LD_PRELOAD beside ASan's runtime is not supported")
    src = tmp_path / "noifaddrs.c"
    src.write_text(NO_IFADDRS_SHIM)
    so = tmp_path / "noifaddrs.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src)],
                   check=True, timeout=60)
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.1\n")
    path = write(tmp_path, """
        [server]
        listen = 0.0.0.0:53
        [upstream sys]
        resolv-conf = %s
        [view v]
        allow = any
        """ % resolv)
    env = dict(os.environ, LD_PRELOAD=str(so))
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(path)], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 1, err
    found = error_lines(path, err)
    assert [n for n, _ in found] == [line_of(path, "[upstream sys]")], err
    assert "nameserver 192.0.2.1" in found[0][1]
    assert "cannot be read (getifaddrs:" in found[0][1]
    # Without the shim the host's addresses are known: valid.
    rc, err = run_check(path)
    assert rc == 0, err


