# SPDX-License-Identifier: BSD-2-Clause
"""What the DNS over TLS and DNS over HTTPS listener tests share
(test_tls_listen.py, test_doh.py): the configuration body, free
addresses, metric scrapes and commands."""

import subprocess

import sysutil
from conftest import DNSGATE_BIN

LOCAL_A = "192.0.2.7"
PADDING = 12  # EDNS option code (RFC 7830)
RESPONSE_BLOCK = 468  # RFC 8467 4.1


def view_body(upstream, local, extra=""):
    """One view forwarding to ``upstream`` with one local-data name."""
    return "\n".join([
        "[upstream up]",
        "server = %s" % upstream,
        "timeout = 4s",
        "",
        "[view all]",
        "upstream = up",
        "local-data = %s 300 IN A %s" % (local, LOCAL_A),
        extra,
        "",
    ])


def free_addr():
    return "127.0.0.1:%d" % sysutil.free_port()


def scrape(gate):
    return sysutil.scrape_metrics(gate.metrics)


def handshakes(m, result, proto):
    return sysutil.metric(m, "dnsgate_tls_handshakes_total", proto=proto,
                          result=result)


def wait_metric(gate, pred, timeout=3.0):
    """The first scrape for which pred(scrape) holds, or the last one."""
    last = [None]

    def check():
        last[0] = scrape(gate)
        return pred(last[0])
    sysutil.wait_for(check, timeout, interval=0.1)
    return last[0]


def explained_view(conf_path, transport, qname="who.test."):
    """The view `dnsgate explain --transport` chooses, and its output."""
    rc, out = run([DNSGATE_BIN, "explain", "-c", str(conf_path),
                   "--client", "127.0.0.1", "--transport", transport,
                   qname, "A"])
    assert rc == 0, out
    fields = dict(line.partition(": ")[::2] for line in out.splitlines())
    return fields.get("view"), out


def run(argv, timeout=10):
    """Exit status and output (stdout, then stderr) of a command."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr
