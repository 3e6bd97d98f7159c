# SPDX-License-Identifier: BSD-2-Clause
"""`make install` and `make uninstall` (README, Install): PREFIX, DESTDIR
and the other directories are honoured everywhere, the unit included (made
from packaging/dnsgate.service.in), and uninstall removes exactly what
install put. The unit passes `systemd-analyze verify`."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DNSGATE_BIN, REPO

BUILD = os.path.dirname(os.path.abspath(DNSGATE_BIN))

EXAMPLES = ["demo.conf", "active-directory.conf", "enterprise-gateway.conf",
            "firewall.conf", "split-horizon.conf", "zone-file.conf",
            "lists/ads.txt", "lists/allow.txt", "lists/policy.rpz",
            "zones/corp.example.zone", "encrypted.conf",
            "tls/example-cert.pem", "tls/example-key.pem"]
DOCS = ["troubleshooting.md", "dnsgate-alerts.yml", "dnsgate-dashboard.json"]


def installed_files(prefix, sysconfdir="/etc", unitdir=None):
    """Every file `make install` puts, relative to DESTDIR."""
    unitdir = unitdir or prefix + "/lib/systemd/system"
    files = [prefix + "/sbin/dnsgate",
             prefix + "/share/man/man8/dnsgate.8",
             prefix + "/share/man/man5/dnsgate.conf.5",
             unitdir + "/dnsgate.service",
             sysconfdir + "/dnsgate/dnsgate.conf",
             sysconfdir + "/logrotate.d/dnsgate"]
    files += [prefix + "/share/doc/dnsgate/examples/" + e for e in EXAMPLES]
    files += [prefix + "/share/doc/dnsgate/" + d for d in DOCS]
    return sorted(f.lstrip("/") for f in files)


def make(target, **variables):
    """Run a make target of the repository on the binary under test
    (BUILD; -o: never rebuilt here). Returns make's output."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    argv = ["make", "-C", str(REPO), "--no-print-directory", target,
            "BUILD=" + BUILD, "-o", os.path.join(BUILD, "dnsgate")]
    argv += ["%s=%s" % kv for kv in variables.items()]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    out = p.stdout.decode() + p.stderr.decode()
    assert p.returncode == 0, out
    return out


def tree(root):
    """(files and links, directories) under root, relative, sorted."""
    files, dirs = [], []
    for d, subdirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in subdirs:
            dirs.append(os.path.normpath(os.path.join(rel, n)))
        for n in names:
            files.append(os.path.normpath(os.path.join(rel, n)))
    return sorted(files), sorted(dirs)


def unit_lines(path, key):
    return [ln.split("=", 1)[1] for ln in Path(path).read_text().splitlines()
            if ln.startswith(key + "=")]


def test_install_prefix_usr_destdir_then_uninstall(tmp_path):
    dest = tmp_path / "dest"
    make("install", DESTDIR=dest, PREFIX="/usr")
    files, _ = tree(dest)
    assert files == installed_files("/usr")

    unit = dest / "usr/lib/systemd/system/dnsgate.service"
    assert unit_lines(unit, "ExecStart") == [
        "/usr/sbin/dnsgate -c /etc/dnsgate/dnsgate.conf"]
    assert unit_lines(unit, "ExecStartPre") == [
        "/usr/sbin/dnsgate -t -c /etc/dnsgate/dnsgate.conf"]
    assert unit_lines(unit, "ExecReload") == [
        "/usr/sbin/dnsgate -t -c /etc/dnsgate/dnsgate.conf",
        "/bin/kill -HUP $MAINPID"]
    assert unit_lines(unit, "Type") == ["notify"]
    assert "AF_NETLINK" in unit_lines(unit, "RestrictAddressFamilies")[0]
    assert not re.search(r"@[A-Z]+@", unit.read_text()), \
        "a template variable was left in the unit"
    assert os.access(dest / "usr/sbin/dnsgate", os.X_OK)
    assert (dest / "usr/share/man/man8/dnsgate.8").read_bytes() == \
        (REPO / "packaging/dnsgate.8").read_bytes()

    # The installed configuration and every example pass the check, the
    # examples' lists found next to them.
    confs = [dest / "etc/dnsgate/dnsgate.conf"] + [
        dest / "usr/share/doc/dnsgate/examples" / e
        for e in EXAMPLES if e.endswith(".conf")]
    for conf in confs:
        p = subprocess.run([str(dest / "usr/sbin/dnsgate"), "-t", "-c",
                            str(conf)], capture_output=True, timeout=30)
        assert p.returncode == 0, (conf, p.stderr.decode())

    make("uninstall", DESTDIR=dest, PREFIX="/usr")
    files, dirs = tree(dest)
    assert files == []
    # Shared directories (usr/sbin, man8...) stay; dnsgate's own do not.
    assert not [d for d in dirs if "dnsgate" in d], dirs


def test_default_prefix_and_other_directories(tmp_path):
    dest = tmp_path / "dest"
    make("install", DESTDIR=dest)
    files, _ = tree(dest)
    assert files == installed_files("/usr/local")
    unit = dest / "usr/local/lib/systemd/system/dnsgate.service"
    assert unit_lines(unit, "ExecStart") == [
        "/usr/local/sbin/dnsgate -c /etc/dnsgate/dnsgate.conf"]
    make("uninstall", DESTDIR=dest)
    assert tree(dest)[0] == []

    # Debian's layout: the unit in /lib/systemd/system; another SYSCONFDIR.
    dirs = {"PREFIX": "/opt/dg", "UNITDIR": "/lib/systemd/system",
            "SYSCONFDIR": "/opt/dg/etc"}
    make("install", DESTDIR=dest, **dirs)
    assert tree(dest)[0] == installed_files(
        "/opt/dg", sysconfdir="/opt/dg/etc", unitdir="/lib/systemd/system")
    unit = dest / "lib/systemd/system/dnsgate.service"
    assert unit_lines(unit, "ExecStart") == [
        "/opt/dg/sbin/dnsgate -c /opt/dg/etc/dnsgate/dnsgate.conf"]
    make("uninstall", DESTDIR=dest, **dirs)
    assert tree(dest)[0] == []


def test_configuration_kept_when_changed_or_there_before(tmp_path):
    dest = tmp_path / "dest"
    conf = dest / "etc/dnsgate/dnsgate.conf"
    logrotate = dest / "etc/logrotate.d/dnsgate"
    # An operator's own configuration, there before the install.
    conf.parent.mkdir(parents=True)
    mine = "[server]\nlisten = 127.0.0.1:5353\n"
    conf.write_text(mine)
    out = make("install", DESTDIR=dest, PREFIX="/usr")
    assert "keeping %s" % conf in out
    assert conf.read_text() == mine
    # The logrotate snippet was installed, then changed by the operator.
    logrotate.write_text(logrotate.read_text() + "# mine\n")
    out = make("uninstall", DESTDIR=dest, PREFIX="/usr")
    assert "keeping %s: changed" % conf in out
    assert tree(dest)[0] == ["etc/dnsgate/dnsgate.conf",
                             "etc/logrotate.d/dnsgate"]
    assert conf.read_text() == mine


def test_unit_passes_systemd_analyze_verify(tmp_path):
    """The unit as installed, its binary and man pages where it says:
    installed under a temporary PREFIX (no DESTDIR), since verify checks
    that ExecStart= exists and that man: pages are there."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    prefix = tmp_path / "usr"
    make("install", PREFIX=prefix, SYSCONFDIR=tmp_path / "etc")
    unit = prefix / "lib/systemd/system/dnsgate.service"
    env = dict(os.environ, MANPATH=str(prefix / "share/man"))
    p = subprocess.run([analyze, "verify", str(unit)], env=env,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    # The sandbox: exposure 2.0 or less ("OK"; 1.9 with this unit), so
    # that a sandboxing line lost on the way fails here.
    p = subprocess.run([analyze, "security", "--offline=true",
                        "--threshold=20", str(unit)], env=env,
                       capture_output=True, timeout=60)
    out = p.stdout.decode() + p.stderr.decode()
    m = re.search(r"Overall exposure level for dnsgate.service: ([\d.]+)",
                  out)
    assert m, out
    print("systemd-analyze security: exposure %s" % m.group(1))
    assert p.returncode == 0, out
