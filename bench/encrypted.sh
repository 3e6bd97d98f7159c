#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# DNS over TLS (RFC 7858) and DNS over HTTPS (RFC 8484) through dnsgate,
# dnsdist and Unbound side by side, loopback only. See bench/README.md
# ("Encrypted transports: bench/encrypted.sh").
#
#   bench/encrypted.sh                           every test, every proxy
#   bench/encrypted.sh --rounds 2 --seconds 10   two interleaved rounds, 10 s runs
#   bench/encrypted.sh --only dot                dot, doh or handshake (or a comma list)
#   bench/encrypted.sh --proxy unbound           one proxy (as BENCH_ONLY=unbound)
#
# Options (each also an environment variable, see the README): --rounds N,
# --seconds S, --warmup S, --only LIST, --proxy NAME, --handshake-seconds S,
# --clients N, --outstanding N, --doh-client h2load|dnsperf,
# --doh-method GET|POST, --keep, --help.
#
# One nsd (authoritative for bench.test., as in bench/run.sh) on 127.0.0.1.
# Each proxy forwards to it with no cache and listens for plain DNS (the
# readiness probe), DoT and DoH, with one self-signed EC P-256 certificate.
# Per round, every proxy is started afresh and each test runs against each
# proxy in turn, the order alternating between rounds:
#   dot        dnsperf -m dot: queries/s, latency, proxy CPU per query
#   doh        h2load (or dnsperf -m doh): the same over HTTP/2
#   handshake  new TLS connections to the DoT port: openssl s_time, full
#              (TLS 1.3, TLS 1.2) and resumed (TLS 1.2) handshakes, and
#              bench/dotconn.py, one query per new TLS 1.3 connection, full
#              and resumed: connections/s and proxy CPU per handshake
# dnsgate is skipped, with a note, while `dnsgate -t` rejects its DoT/DoH
# configuration. Prints tables and writes bench/results/tls-latest.txt.
# "A && B || die" means: die when either test fails. The zone file wants a literal $ORIGIN.
# shellcheck disable=SC2015,SC2016
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

die() { echo "bench-tls: error: $*" >&2; exit 1; }
note() { echo "bench-tls: $*" >&2; }
usage() { awk 'NR > 2 && /^# "A && B/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; }

# ---- settings (environment, then options) -------------------------------------
SECONDS_RUN=${BENCH_SECONDS:-20}          # measured dot/doh run, per proxy
WARMUP=${BENCH_WARMUP:-2}                 # unmeasured dot/doh run before it (0 = none)
ROUNDS=${BENCH_ROUNDS:-1}                 # rounds; each runs every test on every proxy once
ONLY=${BENCH_ONLY:-}                      # "", dnsgate, dnsdist or unbound
TESTS=${BENCH_TLS_ONLY:-dot,doh,handshake}  # which tests
HS_SECONDS=${BENCH_TLS_HANDSHAKE_SECONDS:-} # each handshake run (default: 10, at most --seconds)
CLIENTS=${BENCH_CLIENTS:-10}              # connections (dnsperf -c, h2load -c)
OUTSTANDING=${BENCH_OUTSTANDING:-100}     # queries in flight, all connections together
DOH_CLIENT=${BENCH_DOH_CLIENT:-h2load}    # h2load | dnsperf (see the README: dnsperf and dnsdist)
DOH_METHOD=${BENCH_DOH_METHOD:-GET}       # GET (the whole query mix) | POST (one query)
CONN_THREADS=${BENCH_TLS_CONN_THREADS:-4} # dotconn.py threads (a connection each at a time)
NAMES=${BENCH_NAMES:-300}                 # names in the zone
NX_PERCENT=${BENCH_NX_PERCENT:-10}        # share of NXDOMAIN queries
SERVER_CPU=${BENCH_SERVER_CPU:-0}         # the proxies
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}         # the load generators
NSD_CPU=${BENCH_NSD_CPU:-0}               # nsd
DNSGATE=${DNSGATE:-$ROOT/build/dnsgate}
NSD=${NSD:-/usr/sbin/nsd}
NSD_CONTROL=${NSD_CONTROL:-/usr/sbin/nsd-control}
DNSDIST=${DNSDIST:-/usr/bin/dnsdist}
UNBOUND=${UNBOUND:-/usr/sbin/unbound}
DNSPERF=${DNSPERF:-dnsperf}
H2LOAD=${H2LOAD:-h2load}
OPENSSL=${OPENSSL:-openssl}
PYTHON=${PYTHON:-/usr/bin/python3}
DIG=${DIG:-dig}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench/results}
DNSGATE_SERVER_EXTRA=${BENCH_DNSGATE_SERVER:-}      # extra [server] lines
DNSGATE_UPSTREAM_EXTRA=${BENCH_DNSGATE_UPSTREAM:-}  # extra [upstream main] lines
KEEP=${BENCH_KEEP:-0}                     # 1: keep the temp dir (configs, logs)

while [ $# -gt 0 ]; do
	opt=$1 val=""
	case $opt in
	--*=*) val=${opt#*=} opt=${opt%%=*} ;;
	--rounds | --seconds | --warmup | --only | --proxy | --handshake-seconds | --clients | \
		--outstanding | --doh-client | --doh-method)
		[ $# -ge 2 ] || die "$opt needs a value (see --help)"
		val=$2
		shift
		;;
	esac
	shift
	case $opt in
	--rounds) ROUNDS=$val ;;
	--seconds) SECONDS_RUN=$val ;;
	--warmup) WARMUP=$val ;;
	--only) TESTS=$val ;;
	--proxy) ONLY=$val ;;
	--handshake-seconds) HS_SECONDS=$val ;;
	--clients) CLIENTS=$val ;;
	--outstanding) OUTSTANDING=$val ;;
	--doh-client) DOH_CLIENT=$val ;;
	--doh-method) DOH_METHOD=$val ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown option '$opt' (see --help)" ;;
	esac
done

# need, bench_begin, stop_pid, cleanup, free_port, probe, wait_ready, wait_child,
# cpu_ticks, cpu_stat, cpu_busy_pct, vm_field, CLK_TCK, median, ratio
. "$ROOT/bench/lib.sh"

for v in "$SECONDS_RUN" "$WARMUP" "$ROUNDS" "$CLIENTS" "$OUTSTANDING" "$NAMES" "$NX_PERCENT" "$CONN_THREADS" "${HS_SECONDS:-1}"; do
	[[ "$v" =~ ^[0-9]+$ ]] || die "--seconds, --warmup, --rounds, --clients, --outstanding, --handshake-seconds, BENCH_NAMES, BENCH_NX_PERCENT, BENCH_TLS_CONN_THREADS must be integers"
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || die "--rounds must be 1..20"
[ "$SECONDS_RUN" -ge 1 ] && [ "$SECONDS_RUN" -le 600 ] || die "--seconds must be 1..600"
[ -n "$HS_SECONDS" ] || HS_SECONDS=$((SECONDS_RUN < 10 ? SECONDS_RUN : 10))
[ "$HS_SECONDS" -ge 1 ] && [ "$HS_SECONDS" -le 600 ] || die "--handshake-seconds must be 1..600"
[ "$CLIENTS" -ge 1 ] && [ "$OUTSTANDING" -ge "$CLIENTS" ] || die "--clients must be >= 1 and --outstanding >= --clients"
[ "$NAMES" -ge 1 ] && [ "$NX_PERCENT" -lt 100 ] || die "BENCH_NAMES must be >= 1 and BENCH_NX_PERCENT < 100"
[ "$CONN_THREADS" -ge 1 ] && [ "$CONN_THREADS" -le 64 ] || die "BENCH_TLS_CONN_THREADS must be 1..64"
case "$DOH_CLIENT" in h2load | dnsperf) ;; *) die "--doh-client must be h2load or dnsperf (got '$DOH_CLIENT')" ;; esac
case "$DOH_METHOD" in GET | POST) ;; *) die "--doh-method must be GET or POST (got '$DOH_METHOD')" ;; esac
# h2load posts one body for every request: Unbound would answer the identical
# queries in flight with one upstream query, so POST takes dnsperf.
[ "$DOH_METHOD" = GET ] || [ "$DOH_CLIENT" = dnsperf ] ||
	die "--doh-method POST needs --doh-client dnsperf (h2load sends the same body every time: see the README)"
# Streams per HTTP/2 connection for h2load: the same queries in flight as dnsperf.
STREAMS=$(((OUTSTANDING + CLIENTS - 1) / CLIENTS))

DO_DOT=0 DO_DOH=0 DO_HS=0
for t in ${TESTS//,/ }; do
	case $t in
	dot) DO_DOT=1 ;;
	doh) DO_DOH=1 ;;
	handshake) DO_HS=1 ;;
	*) die "--only takes dot, doh, handshake or a comma list of them (got '$TESTS')" ;;
	esac
done
[ $((DO_DOT + DO_DOH + DO_HS)) -gt 0 ] || die "--only names no test"
# The measured runs, in order. Handshake modes: see hs_run below.
RUNS=""
[ "$DO_DOT" = 1 ] && RUNS="$RUNS dot"
[ "$DO_DOH" = 1 ] && RUNS="$RUNS doh"
[ "$DO_HS" = 1 ] && RUNS="$RUNS tls13-new tls12-new tls12-reuse conn13-full conn13-resumed"
RUNS=${RUNS# }

case "$ONLY" in
"") SERVERS="dnsgate dnsdist unbound" ;;
dnsgate | dnsdist | unbound) SERVERS=$ONLY ;;
*) die "--proxy / BENCH_ONLY must be empty, dnsgate, dnsdist or unbound (got '$ONLY')" ;;
esac
COLUMNS_SHOWN=$SERVERS  # the table keeps a skipped dnsgate's column

has() { [[ " $SERVERS " == *" $1 "* ]]; }

# ---- tools ---------------------------------------------------------------------
need "$NSD" nsd
need "$NSD_CONTROL" nsd
need taskset util-linux
need ss iproute2
need awk mawk
need shuf coreutils
need timeout coreutils
need "$OPENSSL" openssl
need "$DIG" bind9-dnsutils
need "$DNSPERF" dnsperf # the readiness probe, and dot
if [ "$DO_DOH" = 1 ] && [ "$DOH_CLIENT" = h2load ]; then need "$H2LOAD" nghttp2-client; fi
if [ "$DO_HS" = 1 ] || [ "$DO_DOH" = 1 ]; then need "$PYTHON" python3; fi
if has dnsdist; then
	need "$DNSDIST" dnsdist
	feat=$("$DNSDIST" --version 2>&1 || true)
	[[ "$feat" == *dns-over-tls* ]] && [[ "$feat" == *dns-over-https* ]] ||
		die "$DNSDIST is built without DNS over TLS or HTTPS ('dnsdist --version' lists: $(echo "$feat" | sed -n 's/^Enabled features: //p'))"
fi
if has unbound; then
	need "$UNBOUND" unbound
	need "$UNBOUND"-checkconf unbound
	need "$UNBOUND"-control unbound
	if [ "$DO_DOH" = 1 ]; then
		"$UNBOUND" -V 2>&1 | grep -q nghttp2 ||
			die "$UNBOUND is built without libnghttp2: no DNS over HTTPS ('unbound -V')"
	fi
fi
if has dnsgate; then
	[ -x "$DNSGATE" ] ||
		die "$DNSGATE not built: run 'make' first (or --proxy dnsdist / unbound to bench a peer alone)"
fi

bench_pin_cpus "load generators, nsd and proxies"

# Two benchmarks at once would measure each other: the same lock as run.sh.
bench_begin tls

# ---- certificate, zone, query files ---------------------------------------------
# One self-signed certificate for every proxy: EC P-256 (prime256v1), ECDSA
# with SHA-256, for bench.test and 127.0.0.1. No client checks it.
CERT=$TMP/cert.pem
KEY=$TMP/key.pem
"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$KEY" -out "$CERT" -days 7 -subj /CN=bench.test \
	-addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" >"$TMP/openssl-req.log" 2>&1 || {
	cat "$TMP/openssl-req.log" >&2
	die "openssl could not make the test certificate (above)"
}

ZONE=$TMP/bench.test.zone
QUERIES=$TMP/queries.txt
{
	bench_zone_hosts "$NAMES"
} >"$ZONE"
# The query mix of run.sh's default mode: every name with A, AAAA and TXT,
# plus NX_PERCENT % names that do not exist, shuffled with a fixed seed.
bench_query_mix "$NAMES" "$NX_PERCENT" >"$QUERIES.base"
shuf --random-source=<(yes dnsgate-bench) "$QUERIES.base" >"$QUERIES"
rm -f "$QUERIES.base"
NQ=$(wc -l <"$QUERIES")
NNX=$(grep -c '^nx' "$QUERIES" || true)
# For h2load: the same mix as DoH GET paths (RFC 8484 §4.1: the message,
# ID 0, base64url without padding, in "dns"). h2load sends a file's paths in
# the same order on every connection, and Unbound would answer identical
# queries in flight with one upstream query: so one h2load per connection,
# each with its own share of the lines (every CLIENTS-th), so that no query
# is ever in flight twice, as with dnsperf's single sequence.
DOH_PATHS=()
if [ "$DO_DOH" = 1 ] && [ "$DOH_CLIENT" = h2load ]; then
	"$PYTHON" - "$QUERIES" "$TMP/doh-paths.txt" <<'EOF' || die "could not write the DoH query paths"
import base64, struct, sys
def wire(name, qtype):
    msg = struct.pack(">HHHHHH", 0, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        msg += bytes([len(label)]) + label.encode("ascii")
    return msg + b"\0" + struct.pack(">HH", {"A": 1, "AAAA": 28, "TXT": 16}[qtype], 1)
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        name, qtype = line.split()
        out.write("/dns-query?dns=" + base64.urlsafe_b64encode(wire(name, qtype)).rstrip(b"=").decode() + "\n")
EOF
	[ "$NQ" -ge $((CLIENTS * STREAMS)) ] ||
		die "the query file ($NQ lines) must have at least --outstanding lines for h2load (raise BENCH_NAMES)"
	for i in $(seq 0 $((CLIENTS - 1))); do
		awk -v c="$CLIENTS" -v i="$i" 'NR % c == i' "$TMP/doh-paths.txt" >"$TMP/doh-paths.$i.txt"
		DOH_PATHS+=("$TMP/doh-paths.$i.txt")
	done
fi

# ---- ports and the three proxies ---------------------------------------------------
declare -A PORT PID R
newport=""
for s in $SERVERS; do
	for k in udp dot doh; do
		free_port newport
		PORT[$s.$k]=$newport
	done
done
free_port NSD_PORT

dnsgate_conf() {
	cat <<EOF
; generated by bench/encrypted.sh
[server]
listen = 127.0.0.1:${PORT[dnsgate.udp]}
listen-tls = 127.0.0.1:${PORT[dnsgate.dot]}
listen-https = 127.0.0.1:${PORT[dnsgate.doh]}
https-path = /dns-query
tls-certificate = $CERT
tls-key = $KEY
workers = 1
$DNSGATE_SERVER_EXTRA

[log]
target = $TMP/dnsgate/dnsgate.log
decisions = none

[upstream main]
server = 127.0.0.1:$NSD_PORT
$DNSGATE_UPSTREAM_EXTRA

; No [cache]: its size defaults to 0, every query is forwarded.
[view all]
upstream = main
EOF
}
start_dnsgate() {
	"${PIN_SERVER[@]}" "$DNSGATE" -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/stderr.log" 2>&1 </dev/null 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/dnsgate/stderr.log
}

dnsdist_conf() {
	# No newPacketCache/setCache: nothing is cached. One TCP worker thread
	# (it serves DoT) as in run.sh; DoH has its own frontend thread. dnsdist
	# sends what came over DoT on to nsd over TCP, what came over DoH over UDP.
	cat <<EOF
-- generated by bench/encrypted.sh
setLocal('127.0.0.1:${PORT[dnsdist.udp]}')
addTLSLocal('127.0.0.1:${PORT[dnsdist.dot]}', '$CERT', '$KEY')
addDOHLocal('127.0.0.1:${PORT[dnsdist.doh]}', '$CERT', '$KEY', '/dns-query')
newServer({address='127.0.0.1:$NSD_PORT', checkName='bench.test.', checkType='SOA'})
setSecurityPollSuffix('')
setMaxTCPClientThreads(1)
EOF
}
start_dnsdist() {
	"${PIN_SERVER[@]}" "$DNSDIST" --supervised --disable-syslog -C "$TMP/dnsdist/dnsdist.conf" \
		>"$TMP/dnsdist/stderr.log" 2>&1 </dev/null 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/dnsdist/stderr.log
}

unbound_conf() {
	# A forwarder to nsd with one thread and no answer cache: Unbound cannot
	# turn its caches off, so both are as small as it takes (0) and nothing
	# stays in them (TTLs capped at 0: a message with TTL 0 is not stored,
	# and clients see TTL 0). Its control socket reports the cache hits.
	cat <<EOF
# generated by bench/encrypted.sh
server:
	interface: 127.0.0.1@${PORT[unbound.udp]}
	interface: 127.0.0.1@${PORT[unbound.dot]}
	interface: 127.0.0.1@${PORT[unbound.doh]}
	tls-port: ${PORT[unbound.dot]}
	https-port: ${PORT[unbound.doh]}
	http-endpoint: "/dns-query"
	tls-service-key: "$KEY"
	tls-service-pem: "$CERT"
	# The default, 10 TCP/TLS/HTTPS connections per thread, is fewer than
	# the load generators open.
	incoming-num-tcp: 256
EOF
	unbound_server_common
	cat <<EOF
	msg-cache-size: 0
	rrset-cache-size: 0
	cache-max-ttl: 0
	cache-max-negative-ttl: 0
	so-reuseport: no
	do-ip6: no
	# As run.sh: nsd serves bench.test. only, and nothing may leave 127.0.0.1.
	qname-minimisation: no
	outgoing-interface: 127.0.0.1
	local-zone: "test." nodefault
remote-control:
	control-enable: yes
	control-interface: "$TMP/unbound/control.sock"
	control-use-cert: no
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@$NSD_PORT
EOF
}
start_unbound() {
	"${PIN_SERVER[@]}" "$UNBOUND" -d -c "$TMP/unbound/unbound.conf" \
		>"$TMP/unbound/stderr.log" 2>&1 </dev/null 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/unbound/stderr.log
}
unbound_cachehits() {
	"$UNBOUND"-control -c "$TMP/unbound/unbound.conf" stats_noreset 2>/dev/null |
		awk -F= '$1 == "total.num.cachehits" { print $2 }'
}

# Write and check every configuration before anything starts.
SKIP_NOTE=""
for s in $SERVERS; do
	mkdir -p "$TMP/$s"
	"${s}_conf" >"$TMP/$s/$s.conf"
	case $s in
	dnsgate)
		if ! "$DNSGATE" -t -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/check.log" 2>&1; then
			sed 's/^/  /' "$TMP/dnsgate/check.log" >&2
			[ "$ONLY" != dnsgate ] || die "$DNSGATE -t rejects the DoT/DoH configuration (above)"
			SKIP_NOTE="dnsgate skipped: $DNSGATE -t rejects its DoT/DoH configuration: $(grep -m1 -v '^$' "$TMP/dnsgate/check.log")"
			note "$SKIP_NOTE"
			SERVERS=$(echo "$SERVERS" | tr ' ' '\n' | grep -vx dnsgate | paste -sd' ')
		fi
		;;
	dnsdist)
		"$DNSDIST" --check-config -C "$TMP/dnsdist/dnsdist.conf" >"$TMP/dnsdist/check.log" 2>&1 || {
			cat "$TMP/dnsdist/check.log" >&2
			die "dnsdist rejects the benchmark configuration (above)"
		}
		;;
	unbound)
		"$UNBOUND"-checkconf "$TMP/unbound/unbound.conf" >"$TMP/unbound/check.log" 2>&1 || {
			cat "$TMP/unbound/check.log" >&2
			die "unbound rejects the benchmark configuration (above)"
		}
		;;
	esac
done
[ -n "$SERVERS" ] || die "nothing left to bench"

# ---- nsd -----------------------------------------------------------------------
mkdir -p "$TMP/nsd"
{
	nsd_server_conf
	cat <<EOF
remote-control:
	# A local socket (no keys): its query counter shows that every query
	# reached nsd, none was answered from a cache on the way.
	control-enable: yes
	control-interface: "$TMP/nsd/control.sock"
zone:
	name: bench.test.
	zonefile: "$ZONE"
EOF
} >"$TMP/nsd/nsd.conf"
"${PIN_NSD[@]}" "$NSD" -d -c "$TMP/nsd/nsd.conf" >"$TMP/nsd/stderr.log" 2>&1 9>&- &
NSD_PID=$!
PIDS+=("$NSD_PID")
wait_ready nsd "$NSD_PID" "$NSD_PORT" "$TMP/nsd/nsd.log"
nsd_queries() {
	"$NSD_CONTROL" -c "$TMP/nsd/nsd.conf" stats_noreset 2>/dev/null | awk -F= '$1 == "num.queries" { print $2 }'
}
[ -n "$(nsd_queries)" ] || die "nsd-control gives no num.queries (statistics off in this nsd?)"

# ---- helpers -------------------------------------------------------------------------
forget_pid() { # pid: drop it from PIDS once it is gone (its number may be reused)
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
# The load generator runs as "${CLIENT[@]}" CMD... &: on its CPU, bounded in time
# (timeout also passes a TERM on to it), its CPU time (user + system) written
# to $TMP/times by the bash in between. An array, not a function: $! must name
# the process that cleanup can stop.
TIMES_SH='f=$1; shift; "$@"; rc=$?; times >"$f"; exit $rc'
# One h2load per connection (see DOH_PATHS), all at once: OUT.N and OUT.N.log each.
H2LOAD_EACH_SH='out=$1 h2load=$2 base=$3 secs=$4 streams=$5; shift 5; i=0 pids=() rc=0
	for paths in "$@"; do
		"$h2load" -c 1 -m "$streams" -t 1 -D "$secs" -H "accept: application/dns-message" \
			-B "$base" -i "$paths" --log-file="$out.$i.log" >"$out.$i" 2>&1 &
		pids+=($!) i=$((i + 1))
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	exit $rc'
client_cpu_s() { # from $TMP/times: the second line, "XmY.YYYs XmY.YYYs" (children)
	awk 'function s(t) { split(t, a, "m"); return a[1] * 60 + substr(a[2], 1, length(a[2]) - 1) }
		NR == 2 { printf "%.2f", s($1) + s($2) }' "$TMP/times" 2>/dev/null || echo n/a
}

# dig_rcode PROTO PORT QNAME: "RCODE first-A-record" of one query over DoT
# (+tls), DoH POST (+https) or DoH GET (+https-get); "none" without an answer.
dig_rcode() {
	timeout 15 "$DIG" "+$1" +tries=1 +time=5 -p "$2" @127.0.0.1 "$3" A 2>/dev/null |
		awk '/status:/ { sub(/,.*/, "", $6); r = $6 } $4 == "A" && a == "" { a = $5 }
			END { print (r == "" ? "none" : r), (a == "" ? "-" : a) }' || echo "none -"
}
# check_answers NAME: host1 A (10.0.0.1) and nx1 (NXDOMAIN) over DoT, DoH POST
# and DoH GET, through the same listeners that are measured.
check_answers() {
	local s=$1 proto port got
	for proto in tls https https-get; do
		port=${PORT[$s.dot]}
		[ "$proto" = tls ] || port=${PORT[$s.doh]}
		got=$(dig_rcode "$proto" "$port" host1.bench.test)
		[ "$got" = "NOERROR 10.0.0.1" ] ||
			die "$s: 'host1.bench.test A' over +$proto (127.0.0.1:$port) got '$got', expected 'NOERROR 10.0.0.1'"
		got=$(dig_rcode "$proto" "$port" nx1.bench.test)
		[ "${got%% *}" = NXDOMAIN ] ||
			die "$s: 'nx1.bench.test A' over +$proto (127.0.0.1:$port) got '$got', expected NXDOMAIN"
	done
}
# check_resumption NAME: does TLS resumption work at all (unmeasured, round 1)?
# TLS 1.3: s_client keeps the session after reading the server's tickets
# (stdin open for a second), then offers it; TLS 1.2: -reconnect (5 more).
# And what s_time -reuse gets with TLS 1.3, for the record.
check_resumption() {
	local s=$1 port=${PORT[$1.dot]} out
	rm -f "$TMP/sess.pem"
	out=$(sleep 1 | timeout 10 "$OPENSSL" s_client -connect "127.0.0.1:$port" -tls1_3 \
		-sess_out "$TMP/sess.pem" 2>/dev/null || true)
	R[$s.cipher13]=$(echo "$out" | awk '/^New, TLSv1.3, Cipher is/ { print $NF; exit }')
	out=$(timeout 10 "$OPENSSL" s_client -connect "127.0.0.1:$port" -tls1_3 \
		-sess_in "$TMP/sess.pem" </dev/null 2>/dev/null || true)
	R[$s.resume13]=$(echo "$out" | awk '/^(New|Reused), TLSv1.3/ { sub(/,$/, "", $1); print $1; exit }')
	out=$(timeout 20 "$OPENSSL" s_client -connect "127.0.0.1:$port" -tls1_2 -reconnect </dev/null 2>/dev/null || true)
	R[$s.cipher12]=$(echo "$out" | awk '/^New, TLSv1.2, Cipher is/ { print $NF; exit }')
	R[$s.resume12]="$(echo "$out" | grep -c '^Reused, TLSv1.2' || true) of 5"
	out=$(timeout 20 "$OPENSSL" s_time -connect "127.0.0.1:$port" -reuse -time 1 2>/dev/null || true)
	R[$s.stime_reuse13]=$(echo "$out" | awk '/^[*rt3]+$/ { n += length($0); r += gsub(/r/, "") } END { printf "%d of %d", r, n }')
	[ "${R[$s.resume13]}" = Reused ] || WARNINGS+=("$s did not resume a TLS 1.3 session offered by s_client -sess_in")
	[ "${R[$s.resume12]}" = "5 of 5" ] || WARNINGS+=("$s resumed ${R[$s.resume12]} TLS 1.2 reconnections (s_client -reconnect)")
}

# ---- the load runs ---------------------------------------------------------------------
# load NAME RUN SECONDS OUT ERR: one run of RUN against NAME, in the background.
load() {
	local s=$1 run=$2 secs=$3 out=$4 err=$5 dot=${PORT[$1.dot]} doh=${PORT[$1.doh]}
	local CLIENT=("${PIN_CLIENT[@]}" timeout $((secs + 60)) bash -c "$TIMES_SH" _ "$TMP/times")
	rm -f "$TMP/times"
	case $run in
	dot)
		"${CLIENT[@]}" "$DNSPERF" -m dot -s 127.0.0.1 -p "$dot" -d "$QUERIES" -c "$CLIENTS" -T 1 \
			-q "$OUTSTANDING" -t 2 -O suppress=timeouts,sockready,unexpected -l "$secs" -v >"$out" 2>"$err" &
		;;
	doh)
		if [ "$DOH_CLIENT" = dnsperf ]; then
			"${CLIENT[@]}" "$DNSPERF" -m doh -O "doh-uri=https://127.0.0.1:$doh/dns-query" \
				-O "doh-method=$DOH_METHOD" -s 127.0.0.1 -p "$doh" -d "$QUERIES" -c "$CLIENTS" -T 1 \
				-q "$OUTSTANDING" -t 2 -O suppress=timeouts,sockready,unexpected -l "$secs" -v >"$out" 2>"$err" &
		else
			rm -f "$out".*
			"${CLIENT[@]}" bash -c "$H2LOAD_EACH_SH" _ "$out" "$H2LOAD" "https://127.0.0.1:$doh" \
				"$secs" "$STREAMS" "${DOH_PATHS[@]}" >/dev/null 2>"$err" &
		fi
		;;
	tls13-new) "${CLIENT[@]}" "$OPENSSL" s_time -connect "127.0.0.1:$dot" -new -time "$secs" >"$out" 2>"$err" & ;;
	tls12-new) "${CLIENT[@]}" "$OPENSSL" s_time -connect "127.0.0.1:$dot" -new -tls1_2 -time "$secs" >"$out" 2>"$err" & ;;
	tls12-reuse) "${CLIENT[@]}" "$OPENSSL" s_time -connect "127.0.0.1:$dot" -reuse -tls1_2 -time "$secs" >"$out" 2>"$err" & ;;
	conn13-full)
		"${CLIENT[@]}" "$PYTHON" "$ROOT/bench/dotconn.py" --port "$dot" --seconds "$secs" \
			--threads "$CONN_THREADS" --names "$NAMES" >"$out" 2>"$err" &
		;;
	conn13-resumed)
		"${CLIENT[@]}" "$PYTHON" "$ROOT/bench/dotconn.py" --port "$dot" --seconds "$secs" \
			--threads "$CONN_THREADS" --names "$NAMES" --resume >"$out" 2>"$err" &
		;;
	esac
}

# parse_dnsperf KEY FILE: summary and the latency distribution of the -v lines.
parse_dnsperf() {
	local k=$1 key v
	while IFS='=' read -r key v; do
		[ -n "$key" ] && R[$k.$key]=$v
	done < <(awk '
		/^> / {
			# "> RCODE qname qtype latency", or "> T qname qtype" for a timeout
			if ($2 == "T" || $2 == "I" || NF < 5) next
			us = int($NF * 1000000 + 0.5); h[us]++; n++; sum += us
			want = (tolower($3) ~ /^nx[0-9]+\./) ? "NXDOMAIN" : "NOERROR"
			if ($2 != want) wrong++
			if (us > max) max = us
			next
		}
		/Queries sent:/       { sent = $3 }
		/Queries completed:/  { completed = $3 }
		/Queries lost:/       { lost = $3 }
		/Queries per second:/ { qps = $4 }
		/Response codes:/     { sub(/^ *Response codes: */, ""); gsub(/ \([0-9.]+%\)/, ""); gsub(/, /, ","); gsub(/ /, ":"); rcodes = $0 }
		END {
			if (sent == "" || qps == "") { print "parse_error=1"; exit }
			printf "ops=%s\nsent=%s\nlost=%s\nrate=%.0f\nrcodes=%s\nwrong_rcode=%d\n", completed, sent, lost, qps, rcodes, wrong
			if (n == 0) exit
			split("50 99", ps, " ")
			for (i = 1; i <= 2; i++) need[i] = n * ps[i] / 100
			c = 0; j = 1
			for (us = 0; us <= max && j <= 2; us++) {
				if (!(us in h)) continue
				c += h[us]
				while (j <= 2 && c >= need[j]) { pct[j] = us; j++ }
			}
			printf "mean_ms=%.3f\np50_ms=%.3f\np99_ms=%.3f\n", sum / n / 1000, pct[1] / 1000, pct[2] / 1000
		}' "$2")
}
# parse_h2load KEY OUT: the summaries of the h2loads (OUT.N), added up, and
# the latencies from their --log-file (OUT.N.log). The summaries are joined
# into OUT, which is kept as the run's record.
parse_h2load() {
	local k=$1 key v
	cat "$2".[0-9] "$2".[0-9][0-9] >"$2" 2>/dev/null || true
	while IFS='=' read -r key v; do
		[ -n "$key" ] && R[$k.$key]=$v
	done < <(awk '
		/^finished in/ { rate += $4; runs++ }
		/^requests:/   { total += $2; ok += $8; lost += $10 + $12 + $14 }
		/^status codes:/ { c2 += $3; c3 += $5; c4 += $7; c5 += $9 }
		END {
			if (runs == 0) { print "parse_error=1"; exit }
			printf "ops=%d\nsent=%d\nlost=%d\nrate=%.0f\n", ok, total, lost, rate
			printf "rcodes=2xx:%d,3xx:%d,4xx:%d,5xx:%d\nwrong_rcode=0\n", c2, c3, c4, c5
		}' "$2")
	# Column 3: microseconds to the end of the response; -1 in column 2: a failed stream.
	while IFS='=' read -r key v; do
		[ -n "$key" ] && R[$k.$key]=$v
	done < <(cat "$2".*.log 2>/dev/null | awk -F'\t' '$2 >= 200 && $2 < 300 { print $3 }' | sort -n | awk '
		{ v[NR] = $1; sum += $1 }
		END { if (NR) printf "mean_ms=%.3f\np50_ms=%.3f\np99_ms=%.3f\n", sum / NR / 1000,
			v[int(NR * 0.50 + 0.999999)] / 1000, v[int(NR * 0.99 + 0.999999)] / 1000 }')
	rm -f "$2".[0-9]*
}
# parse_stime KEY FILE WALL: s_time's count, and how many of them resumed
# (it prints a character per connection: r resumed, * or t new).
parse_stime() {
	local k=$1
	R[$k.ops]=$(awk '/ connections in [0-9.]+s;/ { print $1; exit }' "$2")
	[ -n "${R[$k.ops]}" ] || { R[$k.parse_error]=1; return 0; }
	R[$k.resumed_pct]=$(awk '/^[*rt3]+$/ { n += length($0); r += gsub(/r/, "") }
		END { if (n) printf "%.0f", 100 * r / n; else print "n/a" }' "$2")
	R[$k.rate]=$(awk -v n="${R[$k.ops]}" -v w="$3" 'BEGIN { printf "%.0f", n / w }')
}
parse_dotconn() { # KEY FILE
	local k=$1 key v
	while IFS='=' read -r key v; do
		[ -n "$key" ] && R[$k.conn_$key]=$v
	done <"$2"
	[ -n "${R[$k.conn_connections]:-}" ] || { R[$k.parse_error]=1; return 0; }
	R[$k.ops]=${R[$k.conn_connections]}
	R[$k.rate]=$(awk -v n="${R[$k.ops]}" -v w="${R[$k.conn_seconds]}" 'BEGIN { printf "%.0f", (w > 0 ? n / w : 0) }')
	R[$k.resumed_pct]=$(awk -v r="${R[$k.conn_reused]}" -v n="${R[$k.ops]}" 'BEGIN { if (n) printf "%.0f", 100 * r / n; else print "n/a" }')
	R[$k.lost]=${R[$k.conn_errors]}
	[ "${R[$k.conn_noerror]}" = "${R[$k.ops]}" ] ||
		WARNINGS+=("${k%.*}: ${R[$k.conn_noerror]} of ${R[$k.ops]} answers on new connections were NOERROR with the query's ID")
}

# measure NAME RUN ROUND: warm up (dot, doh), measure, parse. R[NAME.RUN.ROUND.metric].
measure() {
	local s=$1 run=$2 k=$1.$2.$3 pid=${PID[$1]} secs=$SECONDS_RUN out err
	local ticks0 ticks1 t0 t1 stat0 stat1 up0 up1 hits0="" hits1="" rc=0
	case $run in dot | doh) ;; *) secs=$HS_SECONDS ;; esac
	out=$TMP/$s/$run.out
	err=$TMP/$s/$run.err
	if [ "$WARMUP" -gt 0 ] && { [ "$run" = dot ] || [ "$run" = doh ]; }; then
		load "$s" "$run" "$WARMUP" "$out" "$err"
		wait_child $! || true
	fi
	note "$s (round $3/$ROUNDS): $run for ${secs}s, load on CPU $CLIENT_CPU"
	if [ "$s" = unbound ]; then hits0=$(unbound_cachehits); fi
	up0=$(nsd_queries)
	ticks0=$(cpu_ticks "$pid")
	stat0=$(cpu_stat)
	t0=$(date +%s.%N)
	load "$s" "$run" "$secs" "$out" "$err"
	wait_child $! || rc=$?
	if [ "$rc" != 0 ]; then
		tail -n 3 "$err" "$out" >&2
		case $run in dot | doh) die "$run against $s failed (above)" ;; esac
		# A handshake run that fails (a proxy without TLS 1.2, say) is a
		# gap in the table, not the end of the benchmark.
		WARNINGS+=("$run against $s failed (exit $rc, round $3): $(grep -h -i -m1 'alert\|:error:' "$err" "$out" 2>/dev/null | sed 's/.*routines://' | cut -c1-120)")
		rm -f "$out"
		return 0
	fi
	t1=$(date +%s.%N)
	stat1=$(cpu_stat)
	ticks1=$(cpu_ticks "$pid")
	up1=$(nsd_queries)
	if [ "$s" = unbound ]; then hits1=$(unbound_cachehits); fi
	kill -0 "$pid" 2>/dev/null || { tail -20 "$TMP/$s/stderr.log" >&2; die "$s died during $run"; }
	R[$k.wall_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	R[$k.cpu_s]=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
	R[$k.client_cpu_s]=$(client_cpu_s)
	R[$k.server_busy_pct]=$(cpu_busy_pct "$stat0" "$stat1" "$SERVER_CPU")
	R[$k.client_busy_pct]=$(cpu_busy_pct "$stat0" "$stat1" "$CLIENT_CPU")
	case $run in
	dot) parse_dnsperf "$k" "$out" ;;
	doh) if [ "$DOH_CLIENT" = dnsperf ]; then parse_dnsperf "$k" "$out"; else parse_h2load "$k" "$out"; fi ;;
	tls*) parse_stime "$k" "$out" "${R[$k.wall_s]}" ;;
	conn*) parse_dotconn "$k" "$out" ;;
	esac
	[ -z "${R[$k.parse_error]:-}" ] || { tail -n 5 "$out" >&2; die "could not read the output of $run against $s (above)"; }
	grep -v '^> ' "$out" >"$RESULTS_DIR/tls-$run-$s.txt" || true
	rm -f "$out"
	local ops=${R[$k.ops]}
	[ "${ops:-0}" -gt 0 ] || WARNINGS+=("$run against $s (round $3): nothing answered or connected")
	R[$k.cpu_pct]=$(awk -v c="${R[$k.cpu_s]}" -v w="${R[$k.wall_s]}" 'BEGIN { printf "%.0f", 100 * c / w }')
	R[$k.us_per_op]=$(awk -v c="${R[$k.cpu_s]}" -v n="$ops" 'BEGIN { if (n > 0) printf "%.1f", 1e6 * c / n; else print "n/a" }')
	R[$k.client_us_per_op]=$(awk -v c="${R[$k.client_cpu_s]}" -v n="$ops" 'BEGIN { if (n > 0 && c ~ /^[0-9.]+$/) printf "%.1f", 1e6 * c / n; else print "n/a" }')
	# Upstream queries per answer: 1.00 when every query was forwarded (dnsdist's
	# health check adds one a second, whoever is being measured).
	case $run in
	dot | doh | conn*)
		R[$k.upstream_per_answer]=$(awk -v u=$((up1 - up0)) -v n="$ops" 'BEGIN { if (n > 0) printf "%.2f", u / n; else print "n/a" }')
		;;
	esac
	if [ -n "$hits0" ] && [ -n "$hits1" ]; then
		R[$k.cache_hits]=$((hits1 - hits0))
		[ "${R[$k.cache_hits]}" = 0 ] || WARNINGS+=("unbound answered ${R[$k.cache_hits]} queries from its cache during $run (round $3)")
	fi
	case $run in
	dot | doh)
		# dnsperf: RCODEs; h2load: HTTP status classes (no RCODEs: check_answers
		# and the upstream count stand in for them).
		if [[ "${R[$k.rcodes]}" =~ SERVFAIL|REFUSED|FORMERR|NOTIMP|[345]xx:[1-9] ]]; then
			WARNINGS+=("$s: unexpected answers during $run (round $3): ${R[$k.rcodes]}")
		fi
		[ "${R[$k.wrong_rcode]:-0}" = 0 ] ||
			WARNINGS+=("$s: ${R[$k.wrong_rcode]} answers during $run (round $3) with an RCODE other than the zone's (nx*: NXDOMAIN, else NOERROR)")
		if [ "${R[$k.lost]}" -gt $((R[$k.sent] / 1000)) ]; then
			local why=""
			[ "$run" = doh ] && [ "$DOH_CLIENT" = dnsperf ] && [ "$s" = dnsdist ] &&
				why=": dnsperf's DoH client handles one answer per TLS read, and dnsdist packs several into one (README)"
			WARNINGS+=("$s lost ${R[$k.lost]} of ${R[$k.sent]} queries during $run (round $3, > 0.1 %)$why")
		fi
		;;
	esac
}

WARNINGS=()
if has dnsgate && grep -q __asan_init "$DNSGATE" 2>/dev/null; then
	WARNINGS+=("$DNSGATE is built with sanitizers: its figures mean nothing (make clean && make)")
fi
# Is the machine quiet? Other load on the benchmark CPUs distorts everything.
s0=$(cpu_stat); sleep 1; s1=$(cpu_stat)
for c in $(printf '%s\n' "$SERVER_CPU" "$CLIENT_CPU" "$NSD_CPU" | sort -u); do
	b=$(cpu_busy_pct "$s0" "$s1" "$c")
	IDLE_BUSY="${IDLE_BUSY:-}cpu$c=$b% "
	[ "$b" != n/a ] && [ "$b" -gt 10 ] && WARNINGS+=("CPU $c was $b% busy before the benchmark started: other load distorts the figures")
done

# ---- the rounds -------------------------------------------------------------------------
ORDER=$SERVERS
for r in $(seq "$ROUNDS"); do
	for s in $SERVERS; do
		note "$s (round $r/$ROUNDS): starting (plain 127.0.0.1:${PORT[$s.udp]}, DoT :${PORT[$s.dot]}, DoH :${PORT[$s.doh]}), CPU $SERVER_CPU"
		"start_$s"
		PID[$s]=$SERVER_PID
		PIDS+=("$SERVER_PID")
		wait_ready "$s" "$SERVER_PID" "${PORT[$s.udp]}" "$SERVER_LOG"
		check_answers "$s"
		if [ "$r" = 1 ] && [ "$DO_HS" = 1 ]; then check_resumption "$s"; fi
	done
	for run in $RUNS; do
		for s in $ORDER; do measure "$s" "$run" "$r"; done
	done
	for s in $SERVERS; do
		R[$s.$r.rss_kb]=$(vm_field "${PID[$s]}" VmHWM 2>/dev/null || echo n/a)
		R[$s.$r.threads]=$(vm_field "${PID[$s]}" Threads 2>/dev/null || echo n/a)
		stop_pid "${PID[$s]}"
		forget_pid "${PID[$s]}"
	done
	ORDER=$(echo "$ORDER" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "\n") }')
done

# Per metric, the median over the rounds.
METRICS="rate ops lost mean_ms p50_ms p99_ms cpu_s cpu_pct us_per_op client_cpu_s client_us_per_op server_busy_pct client_busy_pct upstream_per_answer cache_hits resumed_pct wall_s"
for s in $SERVERS; do
	for run in $RUNS; do
		for m in $METRICS; do
			vals=()
			for r in $(seq "$ROUNDS"); do vals+=("${R[$s.$run.$r.$m]:-n/a}"); done
			R[$s.$run.$m]=$(median "${vals[@]}")
			R[$s.$run.rounds.$m]=$(IFS=,; echo "${vals[*]}")
		done
		R[$s.$run.rcodes]=$(for r in $(seq "$ROUNDS"); do echo "${R[$s.$run.$r.rcodes]:-}"; done | paste -sd';')
	done
	for m in rss_kb threads; do
		vals=()
		for r in $(seq "$ROUNDS"); do vals+=("${R[$s.$r.$m]:-n/a}"); done
		R[$s.$m]=$(median "${vals[@]}")
	done
done

# ---- report ----------------------------------------------------------------------------
OTHERS=""
[[ " $COLUMNS_SHOWN " == *" dnsgate "* ]] &&
	OTHERS=$(echo "$COLUMNS_SHOWN" | tr ' ' '\n' | { grep -vx dnsgate || true; } | paste -sd' ')
cell() { # server key: the value, or "skipped" for a proxy that was not run
	if has "$1"; then printf '%s' "${R[$1.$2]:-n/a}"; else printf skipped; fi
}
header() {
	printf '%-40s' "$1"
	for s in $COLUMNS_SHOWN; do printf '%11s' "$s"; done
	for o in $OTHERS; do printf '%17s' "dnsgate/$o"; done
	printf '\n'
}
row() { # label key
	printf '%-40s' "$1"
	for s in $COLUMNS_SHOWN; do printf '%11s' "$(cell "$s" "$2")"; done
	for o in $OTHERS; do printf '%17s' "$(ratio "${R[dnsgate.$2]:-}" "${R[$o.$2]:-}")"; done
	printf '\n'
}
in_runs() { [[ " $RUNS " == *" $1 "* ]]; }
median_of=$([ "$ROUNDS" -gt 1 ] && echo ", median of $ROUNDS rounds" || true)
DOH_DESC="$CLIENTS x h2load -c 1 -m $STREAMS, GET"
[ "$DOH_CLIENT" = dnsperf ] && DOH_DESC="dnsperf -m doh -c $CLIENTS -q $OUTSTANDING, $DOH_METHOD"
{
	printf '\ndnsgate encrypted-transport bench%s; proxies on CPU %s, nsd on %s, load on %s (of %s)\n' \
		"$median_of" "$SERVER_CPU" "$NSD_CPU" "$CLIENT_CPU" "$NCPU"
	printf 'certificate: self-signed EC P-256 (prime256v1), ECDSA-SHA256; no cache anywhere\n'
	[ -z "$SKIP_NOTE" ] || printf '%s\n' "$SKIP_NOTE"
	for run in dot doh; do
		in_runs "$run" || continue
		if [ "$run" = dot ]; then
			printf '\nDNS over TLS: dnsperf -m dot -c %s -q %s, %s s, %s-line query file (%s NXDOMAIN)\n' \
				"$CLIENTS" "$OUTSTANDING" "$SECONDS_RUN" "$NQ" "$NNX"
		else
			printf '\nDNS over HTTPS: %s, %s s\n' "$DOH_DESC" "$SECONDS_RUN"
		fi
		header metric
		row "queries/s" "$run.rate"
		row "mean latency (ms)" "$run.mean_ms"
		row "p50 latency (ms)" "$run.p50_ms"
		row "p99 latency (ms)" "$run.p99_ms"
		row "queries lost" "$run.lost"
		row "proxy CPU (% of a core)" "$run.cpu_pct"
		row "proxy CPU per query (us)" "$run.us_per_op"
		row "upstream queries per answer" "$run.upstream_per_answer"
		row "load generator CPU (s)" "$run.client_cpu_s"
		row "load generator CPU per query (us)" "$run.client_us_per_op"
		row "CPU $CLIENT_CPU busy (%)" "$run.client_busy_pct"
		row "CPU $SERVER_CPU busy (%)" "$run.server_busy_pct"
		for s in $SERVERS; do printf 'answers %-9s %s\n' "$s:" "${R[$s.$run.rcodes]}"; done
	done
	if [ "$DO_HS" = 1 ]; then
		printf '\nNew TLS connections to the DoT port, %s s per run, one client at a time (s_time) or %s threads (dotconn.py)\n' \
			"$HS_SECONDS" "$CONN_THREADS"
		header "handshake"
		for run in tls13-new tls12-new tls12-reuse conn13-full conn13-resumed; do
			case $run in
			tls13-new) row "TLS 1.3 full (s_time -new) /s" "$run.rate" ;;
			tls12-new) row "TLS 1.2 full (s_time -new -tls1_2) /s" "$run.rate" ;;
			tls12-reuse) row "TLS 1.2 resumed (s_time -reuse) /s" "$run.rate" ;;
			conn13-full) row "TLS 1.3 full + 1 query (dotconn) /s" "$run.rate" ;;
			conn13-resumed) row "TLS 1.3 resumed + 1 query /s" "$run.rate" ;;
			esac
			row "  proxy CPU per connection (us)" "$run.us_per_op"
			row "  load generator CPU per conn. (us)" "$run.client_us_per_op"
			case $run in tls12-reuse | conn13-resumed) row "  resumed (%)" "$run.resumed_pct" ;; esac
			case $run in conn13*) row "  upstream queries per answer" "$run.upstream_per_answer" ;; esac
		done
		for s in $SERVERS; do
			printf 'tls %-9s ciphers %s (TLS 1.3) / %s (TLS 1.2); s_client resumes TLS 1.3: %s, TLS 1.2: %s; s_time -reuse (TLS 1.3) resumed %s\n' \
				"$s:" "${R[$s.cipher13]:-?}" "${R[$s.cipher12]:-?}" "${R[$s.resume13]:-?}" "${R[$s.resume12]:-?}" "${R[$s.stime_reuse13]:-?}"
		done
	fi
	printf '\n'
	header "process"
	row "peak RSS (KiB, VmHWM)" rss_kb
	row "threads" threads
	for w in "${WARNINGS[@]}"; do printf 'WARNING: %s\n' "$w"; done
	printf '\n'
} | tee "$TMP/table.txt"

{
	echo "# dnsgate encrypted-transport bench results; key=value; generated by bench/encrypted.sh; see bench/README.md"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel=$(uname -r)"
	echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "ncpu=$NCPU"
	echo "busy_before_start=${IDLE_BUSY% }"
	echo "servers=$SERVERS"
	echo "skipped=${SKIP_NOTE:-}"
	echo "runs=$RUNS"
	echo "rounds=$ROUNDS"
	echo "seconds=$SECONDS_RUN"
	echo "handshake_seconds=$HS_SECONDS"
	echo "warmup_seconds=$WARMUP"
	echo "clients=$CLIENTS"
	echo "outstanding=$OUTSTANDING"
	echo "doh_client=$DOH_CLIENT"
	echo "doh_method=$DOH_METHOD"
	echo "conn_threads=$CONN_THREADS"
	echo "query_file_lines=$NQ"
	echo "query_file_nxdomain=$NNX"
	echo "certificate=EC P-256 self-signed"
	echo "cpu_server=$SERVER_CPU"
	echo "cpu_client=$CLIENT_CPU"
	echo "cpu_nsd=$NSD_CPU"
	echo "openssl_version=$("$OPENSSL" version)"
	echo "dnsperf_version=$("$DNSPERF" -h 2>&1 | awk '/^Version/ { print $2; exit }')"
	[ "$DO_DOH" = 1 ] && [ "$DOH_CLIENT" = h2load ] && echo "h2load_version=$("$H2LOAD" --version 2>&1 | awk '{ print $2; exit }')"
	has dnsdist && echo "dnsdist_version=$("$DNSDIST" --version 2>&1 | awk 'NR == 1 { print $2 }')"
	has unbound && echo "unbound_version=$("$UNBOUND" -V 2>&1 | awk '/^Version/ { print $2; exit }')"
	has dnsgate && echo "dnsgate_version=$("$DNSGATE" --version 2>&1 | head -1 | awk '{ print $NF }')"
	for s in $SERVERS; do
		for run in $RUNS; do
			for m in $METRICS; do echo "$s.$run.$m=${R[$s.$run.$m]:-n/a}"; done
			echo "$s.$run.rcodes=${R[$s.$run.rcodes]:-}"
			if [ "$ROUNDS" -gt 1 ]; then
				for m in $METRICS; do echo "$s.$run.rounds.$m=${R[$s.$run.rounds.$m]}"; done
			fi
		done
		echo "$s.rss_kb=${R[$s.rss_kb]}"
		echo "$s.threads=${R[$s.threads]}"
		if [ "$DO_HS" = 1 ]; then
			for m in cipher13 cipher12 resume13 resume12 stime_reuse13; do echo "$s.$m=${R[$s.$m]:-}"; done
		fi
	done
	for o in $OTHERS; do
		has dnsgate || break
		for run in $RUNS; do
			for m in rate p50_ms p99_ms us_per_op; do
				echo "ratio.$o.$run.$m=$(ratio "${R[dnsgate.$run.$m]:-}" "${R[$o.$run.$m]:-}")"
			done
		done
	done
	echo "warnings=${#WARNINGS[@]}"
	for i in "${!WARNINGS[@]}"; do echo "warning.$((i + 1))=${WARNINGS[$i]}"; done
} >"$RESULTS_DIR/tls-latest.txt"
cp "$TMP/table.txt" "$RESULTS_DIR/tls-latest-table.txt"
note "results: $RESULTS_DIR/tls-latest.txt (table: tls-latest-table.txt, load generator summaries: tls-RUN-PROXY.txt)"
