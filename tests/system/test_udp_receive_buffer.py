# SPDX-License-Identifier: BSD-2-Clause
"""[server] udp-receive-buffer (dnsgate.conf(5)): the receive buffer of the
UDP listeners, and the count of the client datagrams the kernel dropped
because it was full (dnsgate_udp_receive_drops_total, dnsgate(8) METRICS).

The buffer and the kernel's own drop count of a socket are read with
ss(8) (skmem rb and d): the figures dnsgate reports are checked against
the kernel's, never against dnsgate's idea of them.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

import sysutil
from conftest import DNSGATE_BIN, ctl
from sysutil import make_query

BODY = ("[view all]\n"
        "upstream = none\n"
        "local-data = a.test. 300 IN A 192.0.2.1\n")


def skmem(port):
    """(rb, d, r) of the UDP socket bound to 127.0.0.1:port: its buffer
    size as the kernel keeps it (twice the SO_RCVBUF asked, socket(7)),
    its drop count and the bytes queued in it."""
    out = subprocess.run(["ss", "-Huamn", "sport = :%d" % port],
                         capture_output=True, text=True, timeout=5).stdout
    m = re.search(r"skmem:\(r(\d+),rb(\d+),.*,d(\d+)\)", out)
    assert m, "no UDP socket on port %d in ss output:\n%s" % (port, out)
    return int(m.group(2)), int(m.group(3)), int(m.group(1))


def rmem_max():
    return int(Path("/proc/sys/net/core/rmem_max").read_text())


def can_force_rcvbuf():
    """SO_RCVBUFFORCE needs CAP_NET_ADMIN."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 1 << 20)  # SO_RCVBUFFORCE
        return True
    except PermissionError:
        return False
    finally:
        s.close()


def test_default_is_8mb(dnsgate_conf):
    gate = dnsgate_conf(BODY)
    rb, _, _ = skmem(gate.port)
    if rb < 2 * (8 << 20):
        assert not can_force_rcvbuf(), "got %d with CAP_NET_ADMIN" % rb
        assert "udp-receive-buffer: wanted 8388608 bytes" in \
            gate.stderr_text()
    else:
        assert rb == 2 * (8 << 20)


def test_zero_keeps_the_system_default(dnsgate_conf):
    gate = dnsgate_conf(BODY, server={"udp-receive-buffer": "0"})
    rb, _, _ = skmem(gate.port)
    default = int(Path("/proc/sys/net/core/rmem_default").read_text())
    assert rb == default


def test_past_rmem_max_with_cap_net_admin(dnsgate_conf):
    if not can_force_rcvbuf():
        pytest.skip("no CAP_NET_ADMIN: SO_RCVBUFFORCE is refused")
    want = 2 * rmem_max()
    if want > 1 << 30:
        pytest.skip("net.core.rmem_max is over 512MB")
    gate = dnsgate_conf(BODY, server={"udp-receive-buffer": str(want)})
    rb, _, _ = skmem(gate.port)
    assert rb == 2 * want
    assert "udp-receive-buffer" not in gate.stderr_text()


def test_capped_without_privileges_warns_once(tmp_path):
    """Started as nobody, dnsgate cannot go past net.core.rmem_max: it
    warns, once, naming the size it wanted and the size it got."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start dnsgate as another user")
    want = 2 * rmem_max()
    if want > 1 << 30:
        pytest.skip("net.core.rmem_max is over 512MB")
    # nobody must read the file: a directory of our own under /tmp.
    d = tempfile.mkdtemp(prefix="dg", dir="/tmp")
    try:
        os.chmod(d, 0o755)
        port = sysutil.free_port()
        conf = Path(d) / "dnsgate.conf"
        conf.write_text("[server]\n"
                        "listen = 127.0.0.1:%d\n"
                        "listen = 127.0.0.1:%d\n"
                        "workers = 2\n"
                        "udp-receive-buffer = %d\n"
                        "[log]\nformat = text\n" % (
                            port, sysutil.free_port(), want) + BODY)
        conf.chmod(0o644)
        p = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=nogroup",
             "--clear-groups", "--inh-caps=-all", DNSGATE_BIN, "-c",
             str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(Path(d) / "stderr", "wb"), start_new_session=True)
        try:
            def started():
                return "started" in (Path(d) / "stderr").read_text() or \
                    p.poll() is not None
            assert sysutil.wait_for(started, 10)
            err = (Path(d) / "stderr").read_text()
            assert p.poll() is None, err
            rb, _, _ = skmem(port)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(5)
    finally:
        for f in Path(d).iterdir():
            f.unlink()
        os.rmdir(d)
    granted = rmem_max()
    assert rb == 2 * granted
    warnings = [line for line in err.splitlines()
                if "udp-receive-buffer" in line]
    # Four UDP sockets (2 listeners x 2 workers), one warning.
    assert len(warnings) == 1, err
    assert "wanted %d bytes" % want in warnings[0]
    assert "granted %d" % granted in warnings[0]


def test_burst_over_a_tiny_buffer_is_counted(dnsgate_conf, sockdir):
    """With udp-receive-buffer = 4KB and dnsgate stopped (SIGSTOP), a
    burst overflows the socket; once it runs again, the next query brings
    the kernel's drop count, and the metric equals what ss reports."""
    mport = sysutil.free_port()
    gate = dnsgate_conf(BODY, server={
        "udp-receive-buffer": "4KB",
        "metrics-listen": "127.0.0.1:%d" % mport,
        "control-socket": sockdir + "/ctl.sock"})
    metrics = "127.0.0.1:%d" % mport
    rb, d0, _ = skmem(gate.port)
    assert rb == 2 * 4096
    assert d0 == 0
    wire = make_query("a.test.", "A").to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gate.signal(signal.SIGSTOP)
    try:
        for _ in range(300):
            s.sendto(wire, (gate.host, gate.port))
        _, dropped, _ = skmem(gate.port)
    finally:
        gate.signal(signal.SIGCONT)
        s.close()
    assert dropped > 0, "300 datagrams fit in a 4KB buffer?"
    # The queue drains; a query after that carries the drop count.
    assert sysutil.wait_for(lambda: skmem(gate.port)[2] == 0, 5)
    r = None
    for _ in range(3):
        data, _ = sysutil.udp_exchange(gate.host, gate.port,
                                       make_query("a.test.").to_wire(), 2)
        if data is not None:
            r = data
            break
    assert r is not None, "no answer after the burst"
    _, kernel, _ = skmem(gate.port)

    def counted():
        m = sysutil.scrape_metrics(metrics)
        return sysutil.metric(m, "dnsgate_udp_receive_drops_total")

    assert sysutil.wait_for(lambda: counted() == kernel, 3), (
        "dnsgate counted %d drops, the kernel %d" % (counted(), kernel))
    rc, out, err = ctl("-s", sockdir + "/ctl.sock", "stats")
    assert rc == 0, err
    assert "dnsgate_udp_receive_drops_total %d" % kernel in out.splitlines()


def test_check_rejects_bad_sizes(tmp_path):
    path = tmp_path / "bad.conf"
    for value in ("2GB", "1KB", "4095", "lots", "-1", "4 MB"):
        path.write_text("[server]\n"
                        "listen = 127.0.0.1:5300\n"
                        "udp-receive-buffer = %s\n"
                        "[view v]\n"
                        "upstream = none\n" % value)
        p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(path)],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=10)
        err = p.stderr.decode()
        assert p.returncode == 1, (value, err)
        assert err.splitlines() == [
            "%s:3: udp-receive-buffer: expected 0 (the system default) or "
            "a size from 4KB to 1GB" % path], (value, err)
