# SPDX-License-Identifier: BSD-2-Clause
"""`[server] user` when dnsgate is not started as root (dnsgate(8),
Start-up): started as that user already, as the systemd unit starts the
packaged configuration's `user = dnsgate`, there is nothing to say; started
as another user, the key is ignored with a warning."""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile

import pytest

import sysutil
from conftest import DNSGATE_BIN, STOP_GRACE, _spawn, build_config
from sysutil import LOOPBACK4


@pytest.fixture
def world_readable_dir():
    """pytest's tmp_path is root's alone: another user reads nothing."""
    d = tempfile.mkdtemp(prefix="dguser", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run_as(run_user, conf_user, workdir):
    """Start dnsgate as run_user with `user = conf_user`; its stderr once it
    answered and stopped."""
    port = sysutil.free_port()
    conf = os.path.join(workdir, "dnsgate.conf")
    with open(conf, "w") as f:
        f.write(build_config([(LOOPBACK4, port)], ["127.0.0.1:9"],
                             server={"user": conf_user}))
    os.chmod(conf, 0o644)
    errpath = os.path.join(workdir, "stderr")
    with open(errpath, "wb") as err:
        proc = _spawn([DNSGATE_BIN, "-c", conf], user=run_user,
                      stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        try:
            started = sysutil.wait_for(
                lambda: proc.poll() is not None or "started" in
                open(errpath, errors="replace").read(), 10)
            assert started and proc.poll() is None, \
                open(errpath, errors="replace").read()
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(STOP_GRACE)
    text = open(errpath, errors="replace").read()
    assert rc == 0, text
    return text


def test_user_key_when_not_root(world_readable_dir):
    if os.geteuid() != 0:
        pytest.skip("needs root to start dnsgate as another user")
    try:
        pwd.getpwnam("nobody")
        pwd.getpwnam("daemon")
    except KeyError:
        pytest.skip("no users nobody and daemon")
    same = run_as("nobody", "nobody", world_readable_dir)
    assert "ignoring user" not in same, same
    other = run_as("nobody", "daemon", world_readable_dir)
    assert "not root: ignoring user = daemon" in other, other
