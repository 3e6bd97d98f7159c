# SPDX-License-Identifier: BSD-2-Clause
"""Listening: wildcard addresses answer from the address the query was sent
to; `tcp-max-queries` (an extension, dnsgate.conf(5)) closes a client
connection after N queries; `resolv-conf` reads an upstream group from a
resolv.conf(5) file, leaving out dnsgate's own listen addresses.

Nothing here binds port 53: resolv.conf files have no port, so the
resolv-conf checks that concern port 53 go through `dnsgate -t` only.
"""

import socket
import subprocess
import textwrap

import dns.flags
import dns.message
import dns.rcode
import pytest

import sysutil
from conftest import DNSGATE_BIN
from sysutil import make_query

LOCAL_VIEW = """
[view main]
local-data = www.corp.test. 300 IN A 10.0.0.10
local-data = www.corp.test. 300 IN AAAA 2001:db8::10
"""


def reply_from(dest, port, q, bind, timeout=3.0):
    """Send ``q`` from an unconnected socket bound to ``bind``; return
    (response, the address the reply came from)."""
    fam = sysutil.family_of(dest)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.bind((bind, 0))
        s.sendto(q.to_wire(), (dest, port))
        data, src = s.recvfrom(65535)
    finally:
        s.close()
    return dns.message.from_wire(data), src


# -- wildcard listen -------------------------------------------------------


@pytest.mark.parametrize("dest", ["127.0.0.1", "127.0.0.5", "127.3.4.5"])
def test_wildcard_ipv4_answers_from_the_queried_address(dnsgate_conf, dest):
    gate = dnsgate_conf(LOCAL_VIEW, listen=[("0.0.0.0", "127.0.0.1")])
    q = make_query("www.corp.test.", "A", edns=0)
    r, src = reply_from(dest, gate.port, q, "127.0.0.1")
    assert r.id == q.id
    assert sysutil.answer_addresses(r) == ["10.0.0.10"]
    assert src == (dest, gate.port), "reply came from %s:%d" % src


def test_wildcard_ipv4_connected_client(dnsgate_conf):
    """A connected UDP socket (what stub resolvers use) only accepts a
    reply from the address it sent to; it gets one."""
    gate = dnsgate_conf(LOCAL_VIEW, listen=[("0.0.0.0", "127.0.0.1")])
    q = make_query("www.corp.test.", "A", edns=0)
    data, _ = sysutil.udp_exchange("127.0.0.5", gate.port, q.to_wire(),
                                   timeout=3.0)
    assert data is not None, "no reply accepted from 127.0.0.5"
    r = dns.message.from_wire(data)
    assert r.id == q.id
    assert sysutil.answer_addresses(r) == ["10.0.0.10"]


def test_wildcard_ipv4_forwarded_and_local_answers(dnsgate_conf, nsd):
    """Several queries in a row to two addresses, forwarded ones too: each
    reply leaves from the address its query arrived on."""
    body = "[upstream up]\nserver = %s\n" % nsd.addr + LOCAL_VIEW + \
        "upstream = up\n"
    gate = dnsgate_conf(body, listen=[("0.0.0.0", "127.0.0.1")])
    for i in range(6):
        dest = "127.0.0.5" if i % 2 else "127.0.0.6"
        name = "www.example.test." if i % 3 else "www.corp.test."
        q = make_query(name, "A", edns=0)
        r, src = reply_from(dest, gate.port, q, "127.0.0.1")
        assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
        assert r.answer
        assert src == (dest, gate.port)


def test_wildcard_ipv4_tcp(dnsgate_conf):
    gate = dnsgate_conf(LOCAL_VIEW, listen=[("0.0.0.0", "127.0.0.1")])
    q = make_query("www.corp.test.", "A", edns=0)
    r, _ = sysutil.tcp_query("127.0.0.5", gate.port, q)
    assert sysutil.answer_addresses(r) == ["10.0.0.10"]


@pytest.mark.skipif(not sysutil.have_ipv6_loopback(),
                    reason="no IPv6 loopback")
def test_wildcard_ipv6_answers_from_the_queried_address(dnsgate_conf):
    gate = dnsgate_conf(LOCAL_VIEW, listen=[("::", "::1")])
    q = make_query("www.corp.test.", "AAAA", edns=0)
    r, src = reply_from("::1", gate.port, q, "::1")
    assert r.id == q.id
    assert sysutil.answer_addresses(r) == ["2001:db8::10"]
    assert src[:2] == ("::1", gate.port)
    data, _ = sysutil.udp_exchange("::1", gate.port, q.to_wire(), 3.0)
    assert data is not None, "connected client got no reply from ::1"
    r, _ = sysutil.tcp_query("::1", gate.port, q)
    assert sysutil.answer_addresses(r) == ["2001:db8::10"]


# -- tcp-max-queries -------------------------------------------------------


def read_until_closed(sock, timeout):
    """Everything the peer sends until it closes: (bytes, closed?)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65535)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True


def split_frames(data):
    out = []
    while len(data) >= 2:
        n = int.from_bytes(data[:2], "big")
        if len(data) < 2 + n:
            break
        out.append(data[2:2 + n])
        data = data[2 + n:]
    return out


@pytest.fixture
def max2(dnsgate_conf):
    return dnsgate_conf(LOCAL_VIEW, server={"tcp-max-queries": "2",
                                            "tcp-idle-timeout": "30s"})


def test_tcp_max_queries_one_at_a_time(max2):
    s = max2.connect()
    try:
        for i in range(2):
            q = make_query("www.corp.test.", "A", edns=0)
            s.sendall(sysutil.frame(q.to_wire()))
            r = dns.message.from_wire(sysutil.recv_frame(s))
            assert r.id == q.id
            assert sysutil.answer_addresses(r) == ["10.0.0.10"]
        # The idle timeout is 30 s: the close comes from the limit.
        data, closed = read_until_closed(s, 3.0)
    finally:
        s.close()
    assert closed, "connection still open after 2 queries"
    assert data == b""


def test_tcp_max_queries_third_pipelined_query_unanswered(max2):
    qs = [make_query("www.corp.test.", "A", edns=0) for _ in range(3)]
    s = max2.connect()
    try:
        s.sendall(b"".join(sysutil.frame(q.to_wire()) for q in qs))
        data, closed = read_until_closed(s, 3.0)
    finally:
        s.close()
    assert closed, "connection still open after 2 queries"
    ids = [dns.message.from_wire(f).id for f in split_frames(data)]
    assert sorted(ids) == sorted([qs[0].id, qs[1].id]), (
        "answered %s; sent %s" % (ids, [q.id for q in qs]))
    decided = [q.id for q in qs
               if max2.decisions("www.corp.test.", q.id)]
    assert qs[2].id not in decided, "the third query was processed"


def test_tcp_max_queries_other_connections_unaffected(max2):
    for _ in range(3):
        q = make_query("www.corp.test.", "A", edns=0)
        r, _ = max2.tcp(q)
        assert r.id == q.id


def test_tcp_max_queries_does_not_limit_udp(max2):
    for _ in range(4):
        q = make_query("www.corp.test.", "A", edns=0)
        r, _ = max2.udp(q)
        assert r.id == q.id


# -- resolv-conf -----------------------------------------------------------


def run_check(path):
    p = subprocess.run([DNSGATE_BIN, "-t", "-c", str(path)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def resolv_config(tmp_path, listen, resolv_text, resolv_name="resolv.conf"):
    """(config path, resolv.conf path, line of the [upstream] header)."""
    resolv = tmp_path / resolv_name
    if resolv_text is not None:
        resolv.write_text(textwrap.dedent(resolv_text).lstrip("\n"))
    conf = tmp_path / "dnsgate.conf"
    lines = ["[server]"]
    lines += ["listen = %s" % a for a in listen]
    lines += ["", "[upstream sys]", "resolv-conf = %s" % resolv, "",
              "[view all]", "upstream = sys", ""]
    conf.write_text("\n".join(lines))
    header = lines.index("[upstream sys]") + 1
    return conf, resolv, header


def test_resolv_conf_accepted(tmp_path):
    conf, _, _ = resolv_config(tmp_path, ["127.0.0.1:5399"], """
        # a typical file
        search example.org
        nameserver 127.0.0.1
        nameserver 192.0.2.53
        nameserver 2001:db8::53
        options ndots:2 timeout:1
        """)
    rc, out, err = run_check(conf)
    assert rc == 0, err
    assert "warning" not in err, err
    assert "ok" in out


@pytest.mark.parametrize("listen,nameservers", [
    (["127.0.0.1:53"], ["127.0.0.1"]),
    # A wildcard listen covers every local address, 127/8 included.
    (["0.0.0.0:53"], ["127.0.0.1", "127.0.0.53"]),
    (["[::]:53"], ["::1"]),
    (["127.0.0.1:5399", "[::1]:53"], ["::1"]),
])
def test_resolv_conf_naming_only_ourselves_warns(tmp_path, listen,
                                                 nameservers):
    conf, resolv, header = resolv_config(
        tmp_path, listen,
        "".join("nameserver %s\n" % a for a in nameservers))
    rc, out, err = run_check(conf)
    assert rc == 0, "a warning is not an error: %s" % err
    want = "%s:%d: warning:" % (conf, header)
    lines = [ln for ln in err.splitlines() if "no usable nameserver" in ln]
    assert len(lines) == 1, err
    assert lines[0].startswith(want), lines[0]
    assert str(resolv) in lines[0]


def test_resolv_conf_own_address_left_out_others_kept(tmp_path):
    conf, _, _ = resolv_config(tmp_path, ["127.0.0.1:53"],
                               "nameserver 127.0.0.1\n"
                               "nameserver 192.0.2.53\n")
    rc, out, err = run_check(conf)
    assert rc == 0, err
    assert "no usable nameserver" not in err, err


def test_resolv_conf_same_address_other_port_is_usable(tmp_path):
    """Listening on 127.0.0.1:5399 is not 127.0.0.1:53."""
    conf, _, _ = resolv_config(tmp_path, ["127.0.0.1:5399"],
                               "nameserver 127.0.0.1\n")
    rc, out, err = run_check(conf)
    assert rc == 0, err
    assert "no usable nameserver" not in err, err


def test_resolv_conf_missing_file_is_an_error(tmp_path):
    conf, resolv, header = resolv_config(tmp_path, ["127.0.0.1:5399"], None,
                                         resolv_name="absent.conf")
    rc, out, err = run_check(conf)
    assert rc == 1
    assert err.startswith("%s:%d: " % (conf, header)), err
    assert str(resolv) in err


def test_resolv_conf_without_nameserver_runs_and_fails_queries(
        dnsgate_conf, tmp_path):
    """A group left without servers answers SERVFAIL with EDE 23
    (dnsgate.conf(5), resolv-conf)."""
    resolv = tmp_path / "empty-resolv.conf"
    resolv.write_text("search example.org\n")
    gate = dnsgate_conf("[upstream sys]\nresolv-conf = %s\n\n"
                        "[view all]\nupstream = sys\n" % resolv)
    assert "no usable nameserver" in gate.stderr_text()
    q = make_query("www.example.test.", "A", edns=0)
    r, _ = gate.udp(q)
    assert r.id == q.id
    assert r.rcode() == dns.rcode.SERVFAIL
    assert sysutil.ede_codes(r) == [23]
    assert not r.flags & dns.flags.AA
