# SPDX-License-Identifier: BSD-2-Clause
"""sd_notify(3) without systemd: the test binds the unix datagram socket a
service manager would, names it in NOTIFY_SOCKET, and reads what dnsgate
says there (dnsgate(8) SYSTEMD): READY=1 once it answers, RELOADING=1 with
MONOTONIC_USEC= then READY=1 around a reload (failed or not), STOPPING=1
at SIGTERM."""

import os
import signal
import socket
import subprocess
import time

import pytest

import sysutil
from conftest import DNSGATE_BIN, WWW, _spawn, build_config
from sysutil import LOOPBACK4, make_query


class Notify:
    """The service manager's end of NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def next(self, timeout=10.0):
        """The next message as a dict of its KEY=VALUE lines."""
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096).decode()
        return dict(ln.split("=", 1) for ln in data.split("\n") if ln)

    def pending(self):
        self.sock.settimeout(0)
        try:
            return self.sock.recv(4096)
        except BlockingIOError:
            return None

    def close(self):
        self.sock.close()


@pytest.fixture
def notified(tmp_path, sockdir, nsd):
    """dnsgate started with NOTIFY_SOCKET, not waited for: (proc, notify,
    port, config path)."""
    notify = Notify(os.path.join(sockdir, "notify"))
    port = sysutil.free_port()
    conf = tmp_path / "dnsgate.conf"
    conf.write_text(build_config([(LOOPBACK4, port)], [nsd.addr]))
    err = open(tmp_path / "stderr", "wb")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    proc = _spawn([DNSGATE_BIN, "-c", str(conf)], env=env,
                  stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    yield proc, notify, port, conf
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)
    err.close()
    notify.close()


def test_ready_reload_stopping(notified, tmp_path):
    proc, notify, port, conf = notified
    m = notify.next()
    assert m.get("READY") == "1", m
    assert str(conf) in m.get("STATUS", ""), m
    # READY=1 means the listeners are bound: one query, no retries.
    r, _ = sysutil.udp_query(LOOPBACK4, port, make_query(WWW, "A", edns=0))
    assert sysutil.answer_addresses(r) == ["192.0.2.10"]

    for text in (conf.read_text(), "[server]\nlisten = nonsense\n"):
        conf.write_text(text)
        before = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        m = notify.next()
        after = time.monotonic()
        assert m.get("RELOADING") == "1", m
        # The same clock as systemd's: CLOCK_MONOTONIC, in microseconds.
        usec = int(m["MONOTONIC_USEC"])
        assert before * 1e6 - 1 <= usec <= after * 1e6 + 1, (before, m)
        m = notify.next()
        assert m.get("READY") == "1", m
        if "nonsense" in text:
            assert "reload failed" in m["STATUS"], m
        else:
            assert m["STATUS"].startswith("running on"), m
        r, _ = sysutil.udp_query(LOOPBACK4, port,
                                 make_query(WWW, "A", edns=0))
        assert sysutil.answer_addresses(r) == ["192.0.2.10"]

    # SIGUSR1 only reopens the log: nothing to tell the manager.
    proc.send_signal(signal.SIGUSR1)
    proc.send_signal(signal.SIGTERM)
    m = notify.next()
    assert m.get("STOPPING") == "1", m
    assert proc.wait(5) == 0
    assert notify.pending() is None

