# SPDX-License-Identifier: BSD-2-Clause
"""The Debian package `make deb` builds (build/deb/dnsgate_*.deb; README,
Debian package).

- Its contents, extracted with dpkg-deb -x into a temporary root: nothing
  on the machine changes.
- As root, when no dnsgate package is installed already: dpkg -i, then the
  packaged binary on the packaged configuration (its listen addresses
  moved to a free test port, the original passing -t), queried with dig;
  under systemd (PID 1), also the service the package started, when port
  53 was free for it on 127.0.0.1 and ::1. dpkg --purge at the end, and the system user the
  package made is removed again when it was not there before, so the
  machine is left as it was. DNSGATE_TEST_INSTALL_DEB=no skips this.

Skipped when no .deb has been built."""

import glob
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

import sysutil
from conftest import DNSGATE_BIN, STOP_GRACE, _spawn

DEB_DIR = os.environ.get(
    "DNSGATE_DEB_DIR",
    os.path.join(os.path.dirname(os.path.abspath(DNSGATE_BIN)), "deb"))

CONFFILES = ["/etc/dnsgate/dnsgate.conf", "/etc/logrotate.d/dnsgate"]
FILES = ["usr/sbin/dnsgate", "lib/systemd/system/dnsgate.service",
         "usr/share/man/man8/dnsgate.8.gz",
         "usr/share/man/man5/dnsgate.conf.5.gz",
         "usr/share/doc/dnsgate/copyright",
         "usr/share/doc/dnsgate/examples/firewall.conf",
         "usr/share/doc/dnsgate/examples/lists/ads.txt",
         "etc/dnsgate/dnsgate.conf", "etc/logrotate.d/dnsgate"]


@pytest.fixture(scope="module")
def deb():
    debs = [d for d in glob.glob(os.path.join(DEB_DIR, "dnsgate_*.deb"))]
    if not debs:
        pytest.skip("no .deb in %s: `make deb` builds one (make check does)"
                    % DEB_DIR)
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    return max(debs, key=os.path.getmtime)


def run(argv, **kw):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=kw.pop("timeout", 120), **kw)
    return p.returncode, p.stdout.decode(errors="replace") + \
        p.stderr.decode(errors="replace")


def conf_values(text, key):
    """The values of key in an INI text, comments stripped."""
    out = []
    for ln in text.splitlines():
        ln = ln.split(";", 1)[0].strip()
        if "=" in ln and ln.split("=", 1)[0].strip() == key:
            out.append(ln.split("=", 1)[1].strip())
    return out


def test_deb_contents(deb, tmp_path):
    root = tmp_path / "root"
    rc, out = run(["dpkg-deb", "-x", deb, str(root)])
    assert rc == 0, out
    for f in FILES:
        assert (root / f).is_file(), f
    rc, out = run(["dpkg-deb", "-e", deb, str(tmp_path / "DEBIAN")])
    assert rc == 0, out
    assert (tmp_path / "DEBIAN/conffiles").read_text().split() == CONFFILES
    for script in ("postinst", "postrm"):
        assert (tmp_path / "DEBIAN" / script).exists(), script
    assert "adduser --system" in (tmp_path / "DEBIAN/postinst").read_text()

    rc, version = run(["dpkg-deb", "-f", deb, "Version"])
    assert rc == 0, version
    dnsgate = str(root / "usr/sbin/dnsgate")
    rc, out = run([dnsgate, "--version"])
    assert rc == 0 and out.strip() == "dnsgate %s" % version.strip(), out

    unit = (root / "lib/systemd/system/dnsgate.service").read_text()
    assert "ExecStart=/usr/sbin/dnsgate -c /etc/dnsgate/dnsgate.conf" \
        in unit.splitlines()
    assert "Type=notify" in unit.splitlines()

    # The packaged configuration: loopback only, port 53, the package's
    # user, the control socket in the unit's RuntimeDirectory; valid.
    conf = root / "etc/dnsgate/dnsgate.conf"
    text = conf.read_text()
    assert sorted(conf_values(text, "listen")) == ["127.0.0.1:53",
                                                    "[::1]:53"]
    assert conf_values(text, "user") == ["dnsgate"]
    assert conf_values(text, "control-socket")[0].startswith("/run/dnsgate/")
    rc, out = run([dnsgate, "-t", "-c", str(conf)])
    assert rc == 0, out

    # The logrotate snippet signals the reopen, nothing else.
    rotate = (root / "etc/logrotate.d/dnsgate").read_text()
    assert "/var/log/dnsgate/*.log" in rotate
    assert re.search(r"systemctl kill .*--signal=USR1 dnsgate\.service",
                     rotate), rotate
    copyright_ = (root / "usr/share/doc/dnsgate/copyright").read_text()
    assert copyright_.startswith("Format: https://www.debian.org/doc/"
                                 "packaging-manuals/copyright-format/1.0/")
    assert "License: BSD-2-Clause" in copyright_


# -- installed for real -------------------------------------------------------


def package_state(name="dnsgate"):
    rc, out = run(["dpkg-query", "-W", "-f=${Status}", name])
    return out.strip() if rc == 0 else ""


def systemd_is_pid1():
    rc, out = run(["ps", "-p", "1", "-o", "comm="])
    return rc == 0 and out.strip() == "systemd" and \
        os.path.isdir("/run/systemd/system")


def port_free(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(family, kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def dig(server, port, name, rdtype):
    rc, out = run(["dig", "@" + server, "-p", str(port), name, rdtype,
                   "+short", "+time=3", "+tries=1"], timeout=30)
    assert rc == 0, out
    return out.split()


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def installed(deb):
    """dpkg -i the package; dpkg --purge it at the end, and remove the
    user and group it made."""
    if os.environ.get("DNSGATE_TEST_INSTALL_DEB") == "no":
        pytest.skip("DNSGATE_TEST_INSTALL_DEB=no")
    if os.geteuid() != 0:
        pytest.skip("installing the package needs root")
    if package_state():
        pytest.skip("a dnsgate package is on this machine already (%s): "
                    "not touching it" % package_state())
    if shutil.which("dig") is None:
        pytest.skip("dig is not installed (bind9-dnsutils)")
    had_user, had_group = user_exists("dnsgate"), group_exists("dnsgate")
    # The packaged configuration listens on 127.0.0.1:53 and [::1]:53.
    port53_free = port_free("127.0.0.1", 53) and \
        sysutil.have_ipv6_loopback() and port_free("::1", 53)
    rc, out = run(["dpkg", "-i", deb], timeout=300)
    try:
        assert rc == 0, out
        yield port53_free
    finally:
        rc, out = run(["dpkg", "--purge", "dnsgate"], timeout=300)
        if not had_user and user_exists("dnsgate"):
            run(["userdel", "dnsgate"])
        if not had_group and group_exists("dnsgate"):
            run(["groupdel", "dnsgate"])
        assert rc == 0, out
    assert package_state() == ""
    for path in ["/usr/sbin/dnsgate", "/etc/dnsgate",
                 "/lib/systemd/system/dnsgate.service",
                 "/etc/logrotate.d/dnsgate", "/usr/share/doc/dnsgate",
                 "/etc/systemd/system/multi-user.target.wants/"
                 "dnsgate.service"]:
        assert not os.path.lexists(path), path
    assert user_exists("dnsgate") == had_user
    assert group_exists("dnsgate") == had_group


def test_deb_installed_runs_on_packaged_config(installed, tmp_path):
    port53_free = installed
    u = pwd.getpwnam("dnsgate")
    assert u.pw_dir == "/nonexistent" and u.pw_uid < 1000, u
    assert grp.getgrgid(u.pw_gid).gr_name == "dnsgate"
    rc, out = run(["/usr/sbin/dnsgate", "-t", "-c",
                   "/etc/dnsgate/dnsgate.conf"])
    assert rc == 0, out
    assert os.path.isfile("/usr/share/doc/dnsgate/examples/firewall.conf")

    if systemd_is_pid1() and port53_free:
        # The package enabled and started the unit: Type=notify, so
        # "active" means dnsgate said READY=1.
        rc, out = run(["systemctl", "is-active", "dnsgate.service"])
        assert out.strip() == "active", run(
            ["systemctl", "status", "--no-pager", "dnsgate.service"])[1]
        assert dig("127.0.0.1", 53, "localhost.", "A") == ["127.0.0.1"]
        rc, out = run(["systemctl", "reload", "dnsgate.service"])
        assert rc == 0, out
        assert dig("127.0.0.1", 53, "localhost.", "A") == ["127.0.0.1"]

    # The packaged binary on the packaged configuration, without systemd:
    # a copy with the listen addresses on a free port and the control
    # socket in a directory of the test's.
    work = Path(tempfile.mkdtemp(prefix="dgdeb", dir="/tmp"))
    try:
        start_direct(work, u)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def start_direct(work, user):
    os.chmod(work, 0o755)
    six = sysutil.have_ipv6_loopback()
    for _ in range(3):
        port = sysutil.free_port()
        if not six or port_free("::1", port):
            break
    lines = []
    for ln in Path("/etc/dnsgate/dnsgate.conf").read_text().splitlines():
        key = ln.split(";", 1)[0].split("=", 1)[0].strip()
        if key == "listen":
            if "[::1]" in ln and not six:
                continue
            ln = re.sub(r":53\b", ":%d" % port, ln)
        elif key == "control-socket":
            ln = "control-socket = %s/control.sock" % work
        lines.append(ln)
    conf = work / "dnsgate.conf"
    conf.write_text("\n".join(lines) + "\n")
    os.chmod(conf, 0o644)
    errpath = work / "stderr"
    with open(errpath, "wb") as err:
        proc = _spawn(["/usr/sbin/dnsgate", "-c", str(conf)],
                      stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        assert sysutil.wait_for(
            lambda: proc.poll() is not None or "started" in
            errpath.read_text(errors="replace"), 10)
        assert proc.poll() is None, errpath.read_text()
        assert dig("127.0.0.1", port, "localhost.", "A") == ["127.0.0.1"]
        if six:
            assert dig("::1", port, "localhost.", "AAAA") == ["::1"]
        # Started as root, it dropped to the package's user.
        status = Path("/proc/%d/status" % proc.pid).read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        assert set(map(int, uids)) == {user.pw_uid}, status
        rc, out = run(["/usr/sbin/dnsgate", "ctl", "-s",
                       str(work / "control.sock"), "stats"])
        assert rc == 0 and "dnsgate_queries_total" in out, out
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(STOP_GRACE)
    assert rc == 0, errpath.read_text()
