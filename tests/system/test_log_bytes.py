# SPDX-License-Identifier: BSD-2-Clause
"""Whatever bytes a message quotes, the log stays safe to read: a reload
that fails on a binary blocklist (whose file name holds an escape sequence
too) leaves valid UTF-8 and, in JSON, one valid object per line; in text,
no control byte but newline and the tab that indents a continuation line
(dnsgate(8), LOGGING)."""

import json
import signal

import dns.rcode
import pytest

import sysutil
from sysutil import make_query

BLOCKED = "ads.example."
# An ELF header, bytes that are not UTF-8, a terminal escape, a C1 control
# and NULs: what a binary file named by mistake brings in. The loader
# quotes the first word.
BINARY = (b"\x7fELF\x02\x01\x01\xff\xfe\x80\x1b[2J\xc2\x9b\xe9t\xe9"
          b" \x00\x00\x00\x03\x00>\x00\n") * 3


def body(nsd, path):
    return """
[upstream up]
server = {up}

[view all]
upstream = up
blocklist = {path}
""".format(up=nsd.addr, path=path)


def reload_with_binary_list(dnsgate_conf, nsd, tmp_path, fmt):
    # The name is written raw into the config: it reaches the log as is.
    path = tmp_path / "list\x1b[31m.txt"
    path.write_text(BLOCKED + "\n")
    gate = dnsgate_conf(body(nsd, path), log={"format": fmt})
    assert ask(gate).rcode() == dns.rcode.NXDOMAIN
    path.write_bytes(BINARY)
    gate.signal(signal.SIGHUP)
    assert sysutil.wait_for(lambda: "failed" in gate.stderr_text(), 5), \
        gate.stderr_text()
    # The running configuration stays, list included.
    assert ask(gate).rcode() == dns.rcode.NXDOMAIN
    return gate, gate.stderr_path.read_bytes()


def ask(gate):
    r, _ = gate.udp(make_query(BLOCKED, "A", edns=0))
    return r


def assert_no_raw_bytes(raw, allowed):
    text = raw.decode("utf-8")  # strict: ill-formed UTF-8 raises
    bad = [c for c in text if (ord(c) < 0x20 and c not in allowed) or
           0x7F <= ord(c) <= 0x9F]
    assert not bad, "raw control characters %r in:\n%r" % (bad, raw)
    return text


def test_json_log_stays_json(dnsgate_conf, nsd, tmp_path):
    _, raw = reload_with_binary_list(dnsgate_conf, nsd, tmp_path, "json")
    text = assert_no_raw_bytes(raw, "\n")
    errors = []
    for line in text.splitlines():
        obj = json.loads(line)  # every line, not only decisions
        if obj.get("level") == "error":
            errors.append(obj["msg"])
    assert len(errors) == 1, text
    msg = errors[0]
    assert "reload of" in msg and "bad domain name" in msg
    # The bytes are named, not copied: \xNN, as four characters.
    assert "list\\x1b[31m.txt" in msg
    assert "\\x7fELF\\x02\\x01\\x01\\xff\\xfe\\x80\\x1b[2J" in msg
    assert "\x1b" not in msg and "\x7f" not in msg


def test_text_log_has_no_raw_control_bytes(dnsgate_conf, nsd, tmp_path):
    _, raw = reload_with_binary_list(dnsgate_conf, nsd, tmp_path, "text")
    text = assert_no_raw_bytes(raw, "\n\t")
    lines = text.splitlines()
    # Each daemon line starts with its time stamp (dnsgate(8) LOGGING).
    first = [i for i, ln in enumerate(lines)
             if ln.split(" ", 1)[-1].startswith("dnsgate: reload of")]
    assert len(first) == 1, text
    # The message goes on in an indented line, never one of its own.
    cont = lines[first[0] + 1]
    assert cont.startswith("\t") and "bad domain name" in cont, text
    assert "list\\x1b[31m.txt" in cont
    assert "\\x7fELF\\x02\\x01\\x01\\xff\\xfe\\x80\\x1b[2J" in cont
    assert not any(ln.startswith("dnsgate: ") and "bad domain" in ln
                   for ln in lines)
