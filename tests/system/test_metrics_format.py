# SPDX-License-Identifier: BSD-2-Clause
"""/metrics is valid Prometheus text format 0.0.4, read by real parsers.

Two upstream groups of two servers each, so that a family printed server by
server instead of family by family shows. The exposition is checked three
ways: Debian's promtool (`promtool check metrics`, fetched by
tests/tools/get-promtool.sh; skipped when it could not be fetched),
python3-prometheus-client's parser (which types a family it cannot place as
"unknown"), and the grouping rules of the format written out here: each
family once, HELP and TYPE before its samples. Then the families the
product promises (dnsgate(8) METRICS) must all be there.
"""

import json
import os
import re
import shutil
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import sysutil
from conftest import REPO
from sysutil import fault_name, make_query

DATA = REPO / "tests" / "system" / "data"

PROMISED = {
    "dnsgate_queries_total": "counter",
    "dnsgate_responses_total": "counter",
    "dnsgate_decisions_total": "counter",
    "dnsgate_upstream_queries_total": "counter",
    "dnsgate_upstream_errors_total": "counter",
    "dnsgate_upstream_up": "gauge",
    "dnsgate_upstream_latency_seconds": "histogram",
    "dnsgate_ratelimit_total": "counter",
    "dnsgate_cookies_total": "counter",
    "dnsgate_cache_total": "counter",
    "dnsgate_cache_entries": "gauge",
    "dnsgate_cache_bytes": "gauge",
    "dnsgate_cache_evictions_total": "counter",
    "dnsgate_list_entries": "gauge",
    "dnsgate_list_skipped": "gauge",
    "dnsgate_tcp_connections": "gauge",
    "dnsgate_log_dropped_total": "counter",
    "dnsgate_build_info": "gauge",
    "dnsgate_send_errors_total": "counter",
    "dnsgate_udp_oversize_total": "counter",
    "dnsgate_nomem_total": "counter",
    "dnsgate_inflight_full_total": "counter",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
}


def promtool():
    local = REPO / "build" / "tools" / "promtool"
    if os.access(local, os.X_OK):
        return str(local)
    return shutil.which("promtool")


@pytest.fixture
def scrape(dnsgate_conf, fault_server):
    ups = [fault_server() for _ in range(4)]
    body = "\n".join([
        "[cache]",
        "size = 1MB",
        "[upstream a]",
        "server = %s" % ups[0].addr,
        "server = %s" % ups[1].addr,
        "[upstream b]",
        "server = %s" % ups[2].addr,
        "server = %s" % ups[3].addr,
        "[view inside]",
        "match-client = 127.0.0.1",
        "upstream = a",
        "blocklist = %s/ads.txt" % DATA,
        "allowlist = %s/allow.txt" % DATA,
        "[view other]",
        "upstream = b",
        "blocklist = %s/ads.txt" % DATA,
        "",
    ])
    port = sysutil.free_port()
    gate = dnsgate_conf(body,
                        server={"metrics-listen": "127.0.0.1:%d" % port})
    for i in range(3):
        r, _ = gate.udp(make_query(fault_name("ok", sysutil.token(), i), "A"))
        assert r is not None
    status, head, text = sysutil.http_get("127.0.0.1:%d" % port, "/metrics")
    assert status == 200, head
    return text


def test_promtool_check_metrics(scrape):
    tool = promtool()
    if tool is None:
        pytest.skip("promtool unavailable (tests/tools/get-promtool.sh "
                    "could not fetch Debian's prometheus package)")
    p = subprocess.run([tool, "check", "metrics"], input=scrape.encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_client_parser_types_every_family(scrape):
    families = {f.name: f for f in text_string_to_metric_families(scrape)}
    untyped = sorted(n for n, f in families.items() if f.type == "unknown")
    assert not untyped, "families without a usable TYPE: %s" % untyped
    nohelp = sorted(n for n, f in families.items() if not f.documentation)
    assert not nohelp, "families without HELP: %s" % nohelp
    # The parser strips _total from counters' family names.
    for name, kind in PROMISED.items():
        key = name[:-len("_total")] if kind == "counter" else name
        assert key in families, "%s missing from /metrics" % name
        assert families[key].type == kind, (name, families[key].type)
    info = families["dnsgate_build_info"].samples
    assert len(info) == 1 and info[0].value == 1
    assert info[0].labels.get("version")


def family_of(sample, typed):
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample[:-len(suffix)]
        if sample.endswith(suffix) and typed.get(base) == "histogram":
            return base
    return sample


def test_each_family_once_help_and_type_first(scrape):
    seen_done = set()  # families whose block has ended
    current = None
    typed, helped = {}, set()
    for line in scrape.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, kw, name = line.split(None, 3)[:3]
            assert name not in seen_done, "%s comes back: %r" % (name, line)
            if current is not None and current != name:
                seen_done.add(current)
            current = name
            if kw == "TYPE":
                typed[name] = line.split()[3]
            else:
                helped.add(name)
            continue
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split()[0]
        fam = family_of(name, typed)
        assert fam == current, "sample %r outside its family's block" % line
        assert fam in typed and fam in helped, \
            "sample before its HELP/TYPE: %r" % line
    # Each upstream server's histogram is complete: 4 servers.
    counts = [ln for ln in scrape.splitlines()
              if ln.startswith("dnsgate_upstream_latency_seconds_count{")]
    assert len(counts) == 4, counts


def test_process_metrics_describe_this_process(scrape):
    families = {f.name: f for f in text_string_to_metric_families(scrape)}
    fds = families["process_open_fds"].samples[0].value
    maxfds = families["process_max_fds"].samples[0].value
    assert 3 < fds < maxfds
    rss = families["process_resident_memory_bytes"].samples[0].value
    assert 1 << 20 < rss < 1 << 32
    start = families["process_start_time_seconds"].samples[0].value
    assert time.time() - 600 < start <= time.time() + 1


# -- what packaging/ ships for Prometheus and Grafana ----------------------

PACKAGING = REPO / "packaging"
METRIC_NAME = re.compile(r"\b((?:dnsgate|process)_[a-z_]+)\b")


def test_dashboard_uses_only_metrics_dnsgate_exports(scrape):
    exported = set()
    for line in scrape.splitlines():
        if line and not line.startswith("#"):
            exported.add(line.split("{", 1)[0].split()[0])
    dash = json.loads((PACKAGING / "grafana" / "dnsgate-dashboard.json")
                      .read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    used = {m for e in exprs for m in METRIC_NAME.findall(e)}
    unknown = sorted(used - exported)
    assert not unknown, "dashboard queries metrics dnsgate does not " \
                        "export: %s" % unknown


def test_alert_rules_check_and_unit_tests():
    tool = promtool()
    if tool is None:
        pytest.skip("promtool unavailable")
    d = PACKAGING / "prometheus"
    for argv in ([tool, "check", "rules", "dnsgate-alerts.yml"],
                 [tool, "test", "rules", "dnsgate-alerts.test.yml"]):
        p = subprocess.run(argv, cwd=d, capture_output=True, timeout=60)
        assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_alert_rules_use_only_exported_metrics(scrape):
    exported = {line.split("{", 1)[0].split()[0]
                for line in scrape.splitlines()
                if line and not line.startswith("#")}
    text = (PACKAGING / "prometheus" / "dnsgate-alerts.yml").read_text()
    exprs = re.findall(r"expr: \|?\n?((?:.*\n)+?)\s+for:", text)
    used = {m for e in exprs for m in METRIC_NAME.findall(e)}
    assert used, "no expressions found"
    unknown = sorted(used - exported)
    assert not unknown, unknown
