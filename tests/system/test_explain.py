# SPDX-License-Identifier: BSD-2-Clause
"""`dnsgate explain`: the pipeline run dry, one line per stage consulted,
ending with view / action / rcode / ede (dnsgate(8) COMMANDS, explain)."""

import os
import subprocess

import pytest

BIN = os.environ.get("DNSGATE_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "dnsgate"))

CONF = """
[server]
listen = 127.0.0.1:5399

[upstream main]
server = 192.0.2.53

[view corp]
match-client = !10.66.0.0/16, 10.0.0.0/8
upstream = main
allow = 10.1.0.0/16
drop = 10.2.0.0/16
refuse = any
local-zone = corp.example static
local-data = www.corp.example. 300 IN A 10.1.2.3

[view lab]
match-client = 192.168.0.0/16
upstream = none
local-data = lab.example. A 192.168.1.1
"""


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "dnsgate.conf"
    path.write_text(CONF)
    return str(path)


def explain(conf, *args):
    p = subprocess.run([BIN, "explain", "-c", conf] + list(args),
                       capture_output=True, text=True, timeout=10)
    lines = p.stdout.splitlines()
    fields = {}
    for line in lines:
        key, _, value = line.partition(": ")
        fields.setdefault(key, value)
    return p.returncode, lines, fields


def test_forwarded(conf):
    rc, lines, f = explain(conf, "--client", "10.1.2.3", "www.example.org",
                           "AAAA")
    assert rc == 0
    assert f["view"] == "corp"
    assert f["action"] == "forward"
    assert f["acl"].startswith("allowed by acl:corp:1")
    assert f["local"] == "no local zone or data decides: go on"
    assert f["forward"].startswith("to [upstream main]")
    assert "ede" not in f
    # The verdict comes last: view, action, (rule,) rcode, (ede).
    keys = [line.partition(": ")[0] for line in lines]
    assert keys[-3:] == ["view", "action", "rcode"]


def test_refused_by_acl(conf):
    rc, _, f = explain(conf, "--client", "10.9.9.9", "www.example.org")
    assert rc == 0
    assert f["action"] == "refuse"
    assert f["rule"] == "acl:corp:3"
    assert f["rcode"] == "REFUSED"
    assert f["ede"].startswith("18 Prohibited")


def test_dropped_by_acl(conf):
    rc, _, f = explain(conf, "--client", "10.2.0.1", "www.example.org")
    assert f["action"] == "drop"
    assert f["rcode"].startswith("none")


def test_no_view(conf):
    # 10.66/16 is excluded from "corp" by the negated element.
    rc, _, f = explain(conf, "--client", "10.66.1.1", "www.example.org")
    assert f["views"] == "none of 2 views matches"
    assert f["view"] == "(none)"
    assert f["rcode"] == "REFUSED"
    assert f["ede"].startswith("18 Prohibited")


def test_local_answer_and_nxdomain(conf):
    _, _, f = explain(conf, "--client", "10.1.0.1", "www.corp.example")
    assert f["action"] == "local"
    assert f["rule"] == "local-zone:corp.example"
    assert f["rcode"] == "NOERROR"
    _, _, f = explain(conf, "--client", "10.1.0.1", "nope.corp.example")
    assert f["action"] == "nxdomain"
    assert f["rcode"] == "NXDOMAIN"


def test_local_only_view(conf):
    _, _, f = explain(conf, "--client", "192.168.3.4", "www.example.org")
    assert f["view"] == "lab"
    assert f["rcode"] == "REFUSED"
    assert f["ede"].startswith("20 Not Authoritative")


def test_transfer_refused_over_tcp(conf):
    _, _, f = explain(conf, "--client", "10.1.0.1", "--tcp", "corp.example",
                      "AXFR")
    assert f["rule"] == "allow-transfer:corp"
    assert f["rcode"] == "REFUSED"
    _, _, f = explain(conf, "--client", "10.1.0.1", "corp.example", "AXFR")
    assert f["rcode"] == "FORMERR"


def test_other_class_refused(conf):
    """dnsgate serves class IN only: explain shows the class stage."""
    rc, lines, f = explain(conf, "--client", "10.1.2.3", "--class", "HS",
                           "www.corp.example", "A")
    assert rc == 0
    assert lines[0].startswith("query: www.corp.example HS A from")
    assert f["class"] == "HS is not served (class IN only): REFUSED"
    assert "local" not in f  # refused before the local zones
    assert f["action"] == "refuse"
    assert f["rule"] == "class:HS"
    assert f["rcode"] == "REFUSED"
    assert f["ede"] == "21 Not Supported (class HS is not served)"
    _, _, f = explain(conf, "--client", "10.1.2.3", "--class", "ANY",
                      "www.corp.example")
    assert f["rule"] == "class:ANY"
    _, _, f = explain(conf, "--client", "10.1.2.3", "www.corp.example")
    assert f["class"] == "IN: served"
    assert f["action"] == "local"
    rc, _, _ = explain(conf, "--client", "10.1.2.3", "--class", "XY",
                       "www.corp.example")
    assert rc == 2


def test_usage_errors(conf):
    rc, _, _ = explain(conf, "www.example.org")
    assert rc == 2
    rc, _, _ = explain(conf, "--client", "not-an-ip", "www.example.org")
    assert rc == 2
    p = subprocess.run([BIN, "explain", "-c", "/nonexistent.conf",
                        "--client", "10.1.0.1", "x.example"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert "/nonexistent.conf:0:" in p.stderr


def test_cookie_cases(tmp_path):
    conf = tmp_path / "ck.conf"
    conf.write_text("[cookies]\nenabled = yes\nrequire = yes\n"
                    "[view v]\nupstream = none\n"
                    "local-data = www.test. A 192.0.2.1\n")
    _, _, f = explain(str(conf), "--client", "127.0.0.1", "--cookie",
                      "valid", "www.test")
    assert f["cookies"] == "valid"
    assert f["rcode"] == "NOERROR"
    _, _, f = explain(str(conf), "--client", "127.0.0.1", "--cookie",
                      "invalid", "www.test")
    assert f["cookies"] == "invalid"
    assert f["rcode"] == "BADCOOKIE"
    assert f["rule"] == "cookies:require"
    # require never applies over TCP (RFC 7873 5.2.3; dnsgate.conf(5)).
    _, _, f = explain(str(conf), "--client", "127.0.0.1", "--tcp",
                      "--cookie", "invalid", "www.test")
    assert f["rcode"] == "NOERROR"
    _, _, f = explain(str(conf), "--client", "127.0.0.1", "--cookie",
                      "none", "www.test")
    assert "cookies" not in f
    assert f["rcode"] == "NOERROR"
