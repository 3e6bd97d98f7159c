# SPDX-License-Identifier: BSD-2-Clause
"""The control plane: Prometheus metrics on `[server] metrics-listen`
(dnsgate(8) METRICS), `dnsgate ctl` over `[server] control-socket`
(dnsgate(8) COMMANDS), and reloads by `ctl reload` and SIGHUP (a broken file is
rejected and the running configuration stays).

Metric values are checked as counts, never as timings.
"""

import os
import re
import signal
import subprocess
import time

import dns.rcode
import pytest

import faultserver
import sysutil
from conftest import DNSGATE_BIN, ctl
from sysutil import fault_name, make_query

SERIES = [
    "dnsgate_queries_total",
    "dnsgate_responses_total",
    "dnsgate_decisions_total",
    "dnsgate_upstream_queries_total",
    "dnsgate_upstream_errors_total",
    "dnsgate_upstream_up",
    "dnsgate_upstream_latency_seconds_bucket",
    "dnsgate_upstream_latency_seconds_sum",
    "dnsgate_upstream_latency_seconds_count",
    "dnsgate_tcp_connections",
    "dnsgate_tcp_refused_total",
    "dnsgate_udp_receive_drops_total",
    "dnsgate_log_dropped_total",
]

SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def control_body(upstream_addr, extra_view_lines=()):
    lines = [
        "[upstream up]",
        "server = %s" % upstream_addr,
        "timeout = 500ms",
        "attempts = 1",
        "",
        "[view main]",
        "upstream = up",
        "local-zone = corp.test static",
        "local-data = www.corp.test. 300 IN A 10.0.0.10",
    ]
    lines += list(extra_view_lines)
    return "\n".join(lines) + "\n"


def metrics_port():
    return "127.0.0.1:%d" % sysutil.free_port()


@pytest.fixture
def gate(dnsgate_conf, fault_server, sockdir):
    """dnsgate with metrics, a control socket, one upstream (a fault
    server answering by name) and a view with local data."""
    up = fault_server()
    g = dnsgate_conf(control_body(up.addr),
                     server={"metrics-listen": metrics_port,
                             "control-socket": sockdir + "/ctl.sock"})
    g.up = up
    return g


# -- helpers ---------------------------------------------------------------


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} and {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in samples, "duplicate sample: %r" % line
        samples[key] = float(m.group(4))
    return samples, types


def metrics(gate):
    status, head, body = sysutil.http_get(gate.options["metrics-listen"],
                                          "/metrics")
    assert status == 200, head
    return parse_metrics(body)[0]


def value(samples, name, **labels):
    """One sample's value; 0 when absent (Prometheus counters that have
    not moved may be left out)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def ctl_sock(gate, *args):
    return ctl("-s", gate.options["control-socket"], *args)


def ask(gate, name, rdtype="A", tcp=False, timeout=3.0):
    q = make_query(name, rdtype, edns=0)
    if tcp:
        r, _ = gate.tcp(q, timeout=timeout)
    else:
        r, _ = gate.udp(q, timeout=timeout)
    assert r.id == q.id
    return r


def wait_metrics(gate, check, timeout=3.0):
    """Counters move after the answer is sent: poll until ``check`` holds
    on a scrape, and return the last scrape."""
    last = {}

    def ok():
        last["m"] = metrics(gate)
        return check(last["m"])

    sysutil.wait_for(ok, timeout, interval=0.05)
    return last["m"]


# -- metrics ---------------------------------------------------------------


def test_metrics_has_every_series(gate):
    ask(gate, fault_name("ok", sysutil.token()))
    ask(gate, "www.corp.test.")
    m = wait_metrics(gate, lambda m: value(
        m, "dnsgate_decisions_total", view="main", action="local") >= 1)
    names = {name for name, _ in m}
    missing = [s for s in SERIES if s not in names]
    assert not missing, "series missing from /metrics: %s" % missing


def test_metrics_http_shape(gate):
    status, head, body = sysutil.http_get(gate.options["metrics-listen"],
                                          "/metrics")
    assert status == 200
    assert re.search(r"(?im)^content-type:\s*text/plain", head), head
    samples, types = parse_metrics(body)
    assert types.get("dnsgate_queries_total") == "counter"
    assert types.get("dnsgate_responses_total") == "counter"
    assert types.get("dnsgate_upstream_up") == "gauge"
    assert types.get("dnsgate_tcp_connections") == "gauge"
    assert types.get("dnsgate_tcp_refused_total") == "counter"
    assert types.get("dnsgate_udp_receive_drops_total") == "counter"
    assert types.get("dnsgate_upstream_latency_seconds") == "histogram"
    assert body.endswith("\n")


def test_metrics_labels(gate):
    ask(gate, fault_name("ok", sysutil.token()))
    m = wait_metrics(gate, lambda m: value(
        m, "dnsgate_upstream_latency_seconds_count", upstream="up",
        server=gate.up.addr) >= 1)
    for proto in ("udp", "tcp"):
        assert ("dnsgate_queries_total",
                frozenset({("proto", proto)})) in m
    assert value(m, "dnsgate_responses_total", rcode="NOERROR") >= 1
    srv = {"upstream": "up", "server": gate.up.addr}
    assert value(m, "dnsgate_upstream_queries_total", **srv) == 1
    assert value(m, "dnsgate_upstream_up", **srv) == 1
    kinds = {dict(labels).get("kind") for name, labels in m
             if name == "dnsgate_upstream_errors_total"}
    assert {"timeout", "servfail"} <= kinds, kinds


def test_latency_histogram_is_cumulative(gate):
    for _ in range(3):
        ask(gate, fault_name("ok", sysutil.token()))
    srv = {"upstream": "up", "server": gate.up.addr}
    m = wait_metrics(gate, lambda m: value(
        m, "dnsgate_upstream_latency_seconds_count", **srv) >= 3)
    buckets = []
    for (name, labels), v in m.items():
        d = dict(labels)
        if name == "dnsgate_upstream_latency_seconds_bucket" and \
                d.get("server") == gate.up.addr:
            le = d["le"]
            buckets.append((float("inf") if le == "+Inf" else float(le), v))
    buckets.sort()
    assert len(buckets) >= 2 and buckets[-1][0] == float("inf")
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets must be cumulative: %s" % (
        buckets,)
    assert counts[-1] == value(m, "dnsgate_upstream_latency_seconds_count",
                               **srv) == 3
    assert value(m, "dnsgate_upstream_latency_seconds_sum", **srv) >= 0


def test_metrics_counts_move(gate):
    """Exact deltas after a known mix of queries."""
    before = metrics(gate)
    tok = sysutil.token()
    srv = {"upstream": "up", "server": gate.up.addr}
    r = ask(gate, fault_name("ok", tok, 1))
    assert r.rcode() == dns.rcode.NOERROR
    r = ask(gate, fault_name("servfail", tok))  # attempts = 1
    assert r.rcode() == dns.rcode.SERVFAIL
    r = ask(gate, fault_name("ok", tok, 2))
    r = ask(gate, fault_name("timeout", tok))
    assert r.rcode() == dns.rcode.SERVFAIL
    r = ask(gate, fault_name("ok", tok, 3))
    r = ask(gate, "www.corp.test.", tcp=True)
    r = ask(gate, "www.corp.test.", tcp=True)
    r = ask(gate, "nope.corp.test.")
    assert r.rcode() == dns.rcode.NXDOMAIN

    expected = [
        (("dnsgate_queries_total", {"proto": "udp"}), 6),
        (("dnsgate_queries_total", {"proto": "tcp"}), 2),
        (("dnsgate_responses_total", {"rcode": "NOERROR"}), 5),
        (("dnsgate_responses_total", {"rcode": "SERVFAIL"}), 2),
        (("dnsgate_responses_total", {"rcode": "NXDOMAIN"}), 1),
        (("dnsgate_decisions_total", {"view": "main",
                                      "action": "forward"}), 3),
        (("dnsgate_decisions_total", {"view": "main",
                                      "action": "servfail"}), 2),
        (("dnsgate_decisions_total", {"view": "main", "action": "local"}),
         2),
        (("dnsgate_decisions_total", {"view": "main",
                                      "action": "nxdomain"}), 1),
        (("dnsgate_upstream_queries_total", srv), 5),
        (("dnsgate_upstream_errors_total", dict(srv, kind="servfail")), 1),
        (("dnsgate_upstream_errors_total", dict(srv, kind="timeout")), 1),
        (("dnsgate_upstream_errors_total", dict(srv, kind="refused")), 0),
    ]

    def key(k):
        return (k[0], tuple(sorted(k[1].items())))

    def deltas(m):
        return {key(k): value(m, k[0], **k[1]) - value(before, k[0], **k[1])
                for k, _ in expected}

    want = {key(k): v for k, v in expected}
    after = wait_metrics(gate, lambda m: deltas(m) == want)
    got = deltas(after)
    assert got == want
    # The three good answers are timed; whether the SERVFAIL answer is
    # (it is an answer, and a failure) is the implementation's choice.
    n = (value(after, "dnsgate_upstream_latency_seconds_count", **srv) -
         value(before, "dnsgate_upstream_latency_seconds_count", **srv))
    assert n in (3, 4), n
    # Three answers in a row since the last failure: the server is up.
    assert value(after, "dnsgate_upstream_up", **srv) == 1
    assert value(after, "dnsgate_log_dropped_total") == 0


def test_tcp_connections_gauge(gate):
    m = metrics(gate)
    assert value(m, "dnsgate_tcp_connections") == 0
    s = gate.connect()
    try:
        q = make_query("www.corp.test.", "A", edns=0)
        s.sendall(sysutil.frame(q.to_wire()))
        sysutil.recv_frame(s)  # accepted and served: it is open now
        m = metrics(gate)
        assert value(m, "dnsgate_tcp_connections") == 1
    finally:
        s.close()
    m = wait_metrics(gate, lambda m: value(
        m, "dnsgate_tcp_connections") == 0)
    assert value(m, "dnsgate_tcp_connections") == 0


def test_decisions_without_a_view_are_counted(dnsgate_conf, fault_server):
    up = fault_server()
    gate = dnsgate_conf(control_body(up.addr).replace(
        "[view main]", "[view main]\nmatch-client = 127.0.0.1"),
        server={"metrics-listen": metrics_port})
    before = metrics(gate)
    data = sysutil.udp_exchange_from(
        "127.0.0.2", gate.host, gate.port,
        make_query("www.corp.test.", "A", edns=0).to_wire(), 3.0)
    assert data is not None
    m = wait_metrics(gate, lambda m: value(
        m, "dnsgate_decisions_total", view="", action="refuse") -
        value(before, "dnsgate_decisions_total", view="",
              action="refuse") == 1)
    assert value(m, "dnsgate_decisions_total", view="", action="refuse") - \
        value(before, "dnsgate_decisions_total", view="",
              action="refuse") == 1


@pytest.mark.parametrize("path", ["/other", "/", "/metricsx"])
def test_other_paths_are_404(gate, path):
    status, _, _ = sysutil.http_get(gate.options["metrics-listen"], path)
    assert status == 404


# -- dnsgate ctl -----------------------------------------------------------


def test_ctl_stats(gate):
    ask(gate, "www.corp.test.")
    rc, out, err = ctl_sock(gate, "stats")
    assert rc == 0, err
    assert "dnsgate_queries_total" in out
    assert "dnsgate_decisions_total" in out


def test_ctl_upstreams(gate):
    for i in range(2):
        ask(gate, fault_name("ok", sysutil.token(), i))
    rc, out, err = ctl_sock(gate, "upstreams")
    assert rc == 0, err
    lines = [ln for ln in out.splitlines() if gate.up.addr in ln]
    assert len(lines) == 1, out
    words = lines[0].split()
    assert words[:3] == ["up", gate.up.addr, "up"], lines[0]
    assert "queries=2" in words, lines[0]


def top_counts(gate, *args):
    """`ctl top-clients|top-names ...` as an ordered {key: count}."""
    rc, out, err = ctl_sock(gate, *args)
    assert rc == 0, (out, err)
    assert out.startswith("# approximate query counts in the last "), out
    counts = {}
    for line in out.splitlines()[1:]:
        key, n = line.split()
        counts[key] = int(n)
    return counts


def ask_from(gate, source, name):
    sysutil.udp_exchange_from(source, gate.host, gate.port,
                              make_query(name, "A").to_wire(), 3.0)


def test_ctl_top_clients(gate):
    for _ in range(3):
        ask(gate, "www.corp.test.")
    ask_from(gate, "127.0.0.2", "www.corp.test.")
    counts = top_counts(gate, "top-clients")
    # The start-up readiness probes came from 127.0.0.1 too: at least.
    assert counts.get("127.0.0.1", 0) >= 3, counts
    assert counts.get("127.0.0.2") == 1, counts
    assert list(counts)[0] == "127.0.0.1", "sorted by count: %s" % counts


def test_ctl_top_names(gate):
    """dnsdist's topQueries: the names asked most, most first, counted
    case-insensitively, whatever became of the query (local, forwarded,
    refused)."""
    tok = sysutil.token()
    busy, rare = "busy-%s.corp.test." % tok, "rare-%s.corp.test." % tok
    for i in range(4):
        ask(gate, busy.upper() if i % 2 else busy)
    ask(gate, fault_name("ok", tok))
    ask(gate, rare)
    counts = top_counts(gate, "top-names", "--window", "5m")
    assert counts.get(busy) == 4, counts
    assert counts.get(rare) == 1, counts
    assert counts.get(fault_name("ok", tok)) == 1, counts
    keys = list(counts)
    assert keys.index(busy) < keys.index(rare), counts


def test_ctl_top_clients_window_forgets_old_clients(gate):
    """A client that stopped asking drops out of a short window once the
    window and a slot (10 s, dnsgate(8)) have passed, and stays in a long
    one. Content only: nothing here depends on how fast dnsgate is."""
    ask_from(gate, "127.0.0.3", "www.corp.test.")
    ask_from(gate, "127.0.0.3", "www.corp.test.")
    assert top_counts(gate, "top-clients", "--window", "2s").get(
        "127.0.0.3") == 2
    time.sleep(2 + 10 + 0.5)
    ask_from(gate, "127.0.0.4", "www.corp.test.")
    short = top_counts(gate, "top-clients", "--window=2s")
    assert "127.0.0.3" not in short, short
    assert short.get("127.0.0.4") == 1, short
    assert top_counts(gate, "top-clients", "--window", "1m").get(
        "127.0.0.3") == 2
    # top-names forgets in the same way: 127.0.0.4's query only.
    assert top_counts(gate, "top-names", "--window", "2s") == {
        "www.corp.test.": 1}
    assert top_counts(gate, "top-names", "--window", "1m").get(
        "www.corp.test.", 0) >= 3


def test_ctl_flush_cache(gate):
    rc, out, err = ctl_sock(gate, "flush-cache")
    assert rc == 0, (out, err)


def test_ctl_unknown_command_exits_1(gate):
    rc, out, err = ctl_sock(gate, "bogus")
    assert rc == 1
    assert "bogus" in out + err
    # The daemon is unharmed.
    assert ask(gate, "www.corp.test.").rcode() == dns.rcode.NOERROR


def test_ctl_with_config_file_finds_the_socket(gate):
    rc, out, err = ctl("-c", str(gate.config_path), "upstreams")
    assert rc == 0, err
    assert gate.up.addr in out


def test_control_socket_removed_at_exit(gate):
    path = gate.options["control-socket"]
    assert os.path.exists(path)
    assert gate.stop() == 0
    assert not os.path.exists(path), "stale control socket left behind"


def test_control_socket_path_taken_by_a_file(tmp_path, sockdir):
    """Anything but a stale socket at the path is not dnsgate's to delete:
    it refuses to start and leaves the file alone."""
    path = sockdir + "/ctl.sock"
    with open(path, "w") as f:
        f.write("precious\n")
    conf = tmp_path / "dnsgate.conf"
    conf.write_text("[server]\nlisten = 127.0.0.1:%d\ncontrol-socket = %s\n"
                    "\n[view all]\nlocal-data = a.test. A 10.0.0.1\n"
                    % (sysutil.free_port(), path))
    p = subprocess.Popen([DNSGATE_BIN, "-c", str(conf)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(5)
        pytest.fail("dnsgate started over a regular file at control-socket")
    assert p.returncode != 0
    assert b"control-socket" in out, out
    with open(path) as f:
        assert f.read() == "precious\n"


def test_ctl_without_a_daemon_exits_1(sockdir):
    rc, out, err = ctl("-s", sockdir + "/nobody.sock", "stats")
    assert rc == 1
    assert "nobody.sock" in err


# -- reload ----------------------------------------------------------------


def add_lines(gate, *lines):
    """Append lines to the config (the last section is the view)."""
    text = gate.config_path.read_text()
    gate.config_path.write_text(text.rstrip("\n") + "\n" +
                                "\n".join(lines) + "\n")


def error_lines(path, text):
    pat = re.compile(r"^%s:(\d+): (.+)$" % re.escape(str(path)), re.M)
    return [(int(n), msg) for n, msg in pat.findall(text)]


def test_ctl_reload_makes_new_data_visible(gate):
    r = ask(gate, "new.corp.test.")
    assert r.rcode() == dns.rcode.NXDOMAIN
    add_lines(gate, "local-data = new.corp.test. 60 IN A 10.0.0.99")
    rc, out, err = ctl_sock(gate, "reload")
    assert rc == 0, (out, err)
    assert out.startswith("ok"), out
    r = ask(gate, "new.corp.test.")
    assert sysutil.answer_addresses(r) == ["10.0.0.99"]
    # The old data is still there, and forwarding still works.
    assert sysutil.answer_addresses(ask(gate, "www.corp.test.")) == [
        "10.0.0.10"]
    r = ask(gate, fault_name("ok", sysutil.token()))
    assert sysutil.answer_addresses(r) == [faultserver.GOOD_A]


def test_ctl_reload_broken_config_keeps_running_one(gate):
    good = gate.config_path.read_text()
    add_lines(gate, "local-data = new.corp.test. 60 IN A 10.0.0.99",
              "no-such-key = 1",
              "local-data = bad.corp.test. 60 IN A 999.1.1.1")
    nlines = len(gate.config_path.read_text().splitlines())
    rc, out, err = ctl_sock(gate, "reload")
    assert rc == 1, (out, err)
    errs = error_lines(gate.config_path, out + err)
    assert [n for n, _ in errs] == [nlines - 1, nlines], out + err
    # The running configuration stays: neither the new line nor anything
    # else of the rejected file is in effect.
    r = ask(gate, "new.corp.test.")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert sysutil.answer_addresses(ask(gate, "www.corp.test.")) == [
        "10.0.0.10"]
    # Fixed, it loads.
    gate.config_path.write_text(good)
    add_lines(gate, "local-data = new.corp.test. 60 IN A 10.0.0.99")
    rc, out, err = ctl_sock(gate, "reload")
    assert rc == 0, (out, err)
    assert sysutil.answer_addresses(ask(gate, "new.corp.test.")) == [
        "10.0.0.99"]


def test_ctl_reload_missing_file_keeps_running_one(gate):
    good = gate.config_path.read_text()
    gate.config_path.unlink()
    try:
        rc, out, err = ctl_sock(gate, "reload")
    finally:
        gate.config_path.write_text(good)
    assert rc == 1, (out, err)
    assert str(gate.config_path) in out + err
    assert sysutil.answer_addresses(ask(gate, "www.corp.test.")) == [
        "10.0.0.10"]


def test_ctl_reload_can_change_data(gate):
    text = gate.config_path.read_text()
    gate.config_path.write_text(text.replace(
        "www.corp.test. 300 IN A 10.0.0.10",
        "www.corp.test. 300 IN A 10.0.0.20"))
    rc, out, err = ctl_sock(gate, "reload")
    assert rc == 0, (out, err)
    assert sysutil.answer_addresses(ask(gate, "www.corp.test.")) == [
        "10.0.0.20"]


def test_ctl_reload_reports_warnings(gate, tmp_path):
    empty = tmp_path / "empty-resolv.conf"
    empty.write_text("search example.org\n")
    add_lines(gate, "", "[upstream spare]", "resolv-conf = %s" % empty)
    rc, out, err = ctl_sock(gate, "reload")
    assert rc == 0, (out, err)
    assert out.startswith("ok"), out
    assert "no usable nameserver" in out, out


def test_reload_of_restart_only_settings_warns(gate):
    old = gate.options["metrics-listen"]
    text = gate.config_path.read_text()
    gate.config_path.write_text(text.replace(
        "metrics-listen = %s" % old, "metrics-listen = %s" % metrics_port()))
    add_lines(gate, "local-data = moved.corp.test. 60 IN A 10.0.0.97")
    rc, out, err = ctl_sock(gate, "reload")
    assert rc == 0, (out, err)
    assert log_has(gate, "reload", "restart"), gate.stderr_text()[-2000:]
    # The rest of the file is in effect; metrics stay where they were.
    assert sysutil.answer_addresses(ask(gate, "moved.corp.test.")) == [
        "10.0.0.97"]
    status, _, _ = sysutil.http_get(old, "/metrics")
    assert status == 200


def log_has(gate, *words):
    def found():
        for obj in gate.log_lines():
            msg = obj.get("msg", "")
            if all(w in msg for w in words):
                return msg
        return None
    return sysutil.wait_for(found, 3)


def test_sighup_reload(gate):
    add_lines(gate, "local-data = hup.corp.test. 60 IN A 10.0.0.98")
    gate.signal(signal.SIGHUP)

    def visible():
        r = ask(gate, "hup.corp.test.")
        return sysutil.answer_addresses(r) == ["10.0.0.98"]

    assert sysutil.wait_for(visible, 5, interval=0.1), \
        gate.stderr_text()[-2000:]
    assert "reloaded" in gate.stderr_text()


def test_sighup_broken_config_keeps_running_one(gate):
    add_lines(gate, "local-data = hup.corp.test. 60 IN A 10.0.0.98",
              "local-zone = corp.test bogus-type")
    nlines = len(gate.config_path.read_text().splitlines())
    gate.signal(signal.SIGHUP)

    def failed_msg():
        for obj in gate.log_lines():
            msg = obj.get("msg", "")
            if "reload" in msg and "fail" in msg:
                return msg
        return None

    msg = sysutil.wait_for(failed_msg, 5)
    assert msg, "no log line about the failed reload:\n%s" % (
        gate.stderr_text()[-2000:])
    assert "%s:%d:" % (gate.config_path, nlines) in msg, msg
    r = ask(gate, "hup.corp.test.")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert sysutil.answer_addresses(ask(gate, "www.corp.test.")) == [
        "10.0.0.10"]
    # And the process is still healthy enough to stop cleanly (teardown).
