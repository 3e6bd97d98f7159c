#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# dnsgate vs dnsdist forwarding benchmark, loopback only. See bench/README.md.
#
#   bench/run.sh                     both proxies, 20 s each
#   BENCH_SECONDS=5 bench/run.sh     shorter runs
#   BENCH_ONLY=dnsdist bench/run.sh  only one of them (dnsgate | dnsdist)
#   BENCH_POLICY=1 bench/run.sh      a view, an ACL and a 1,000-name blocklist on both
#   BENCH_PROTECT=1 bench/run.sh     dnsgate with cookies and RRL, dnsdist with MaxQPSIPRule
#   BENCH_CACHE=1 bench/run.sh       caches on: dnsgate [cache], dnsdist's packet cache, and
#                                    Unbound as a caching forwarder (a third contender)
#
# One nsd (authoritative for bench.test.) on 127.0.0.1, dnsgate and dnsdist
# both forwarding to it with no cache, dnsperf run against each in turn with
# identical settings. Prints a table and writes bench/results/latest.txt.
# "A && B || die" means: die when either test fails. The zone file wants a literal $ORIGIN.
# shellcheck disable=SC2015,SC2016
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ---- settings (environment) ------------------------------------------------
SECONDS_RUN=${BENCH_SECONDS:-20}          # measured dnsperf run, per server
WARMUP=${BENCH_WARMUP:-2}                 # unmeasured run before it (0 = none)
ROUNDS=${BENCH_ROUNDS:-1}                 # rounds; each runs every server once, order alternating
ONLY=${BENCH_ONLY:-}                      # "", dnsgate or dnsdist
CLIENTS=${BENCH_CLIENTS:-10}              # dnsperf -c: client sockets
OUTSTANDING=${BENCH_OUTSTANDING:-100}     # dnsperf -q: queries in flight
MAXQPS=${BENCH_QPS:-}                     # dnsperf -Q: empty = unbounded
NAMES=${BENCH_NAMES:-300}                 # names in the zone
NX_PERCENT=${BENCH_NX_PERCENT:-10}        # share of NXDOMAIN queries
SERVER_CPU=${BENCH_SERVER_CPU:-0}         # dnsgate / dnsdist
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}         # dnsperf
NSD_CPU=${BENCH_NSD_CPU:-0}               # nsd (see README: shares the server CPU)
DNSGATE=${DNSGATE:-$ROOT/build/dnsgate}
NSD=${NSD:-/usr/sbin/nsd}
DNSDIST=${DNSDIST:-/usr/bin/dnsdist}
DNSPERF=${DNSPERF:-dnsperf}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench/results}
DNSGATE_UPSTREAM_EXTRA=${BENCH_DNSGATE_UPSTREAM:-}  # extra [upstream] lines, e.g. "udp-sockets = 8"
DNSGATE_SERVER_EXTRA=${BENCH_DNSGATE_SERVER:-}      # extra [server] lines, e.g. "io-uring = no"
KEEP=${BENCH_KEEP:-0}                     # 1: keep the temp dir (configs, logs)
POLICY=${BENCH_POLICY:-0}                 # 1: a view, an ACL and a blocklist active on both proxies
BLOCK_NAMES=${BENCH_BLOCKLIST_NAMES:-1000}  # policy mode: names on the blocklist
BLOCKED_PERCENT=${BENCH_BLOCKED_PERCENT:-5} # policy mode: share of queries for blocked names
PROTECT=${BENCH_PROTECT:-0}               # 1: cookies + RRL on dnsgate, MaxQPSIPRule on dnsdist
CACHE=${BENCH_CACHE:-0}                   # 1: answer caches on, Unbound benched too
UNBOUND=${UNBOUND:-unbound}
PROTECT_COOKIE=${BENCH_PROTECT_COOKIE:-client} # protect mode, what dnsperf sends: client | valid | none
COOKIE_SECRET=000102030405060708090a0b0c0d0e0f  # protect mode: dnsgate's [cookies] secret
CLIENT_COOKIE=0123456789abcdef                  # protect mode: the client cookie dnsperf sends

die() { echo "bench: error: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }
# need, bench_begin, stop_pid, cleanup, free_port, probe, wait_ready, wait_child,
# cpu_ticks, cpu_stat, cpu_busy_pct, vm_field, CLK_TCK, median, ratio
. "$ROOT/bench/lib.sh"

for v in "$SECONDS_RUN" "$WARMUP" "$ROUNDS" "$CLIENTS" "$OUTSTANDING" "$NAMES" "$NX_PERCENT"; do
	[[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_SECONDS, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CLIENTS, BENCH_OUTSTANDING, BENCH_NAMES, BENCH_NX_PERCENT must be integers"
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || die "BENCH_ROUNDS must be 1..20"
[ "$NAMES" -ge 1 ] && [ "$NX_PERCENT" -lt 100 ] || die "BENCH_NAMES must be >= 1 and BENCH_NX_PERCENT < 100"
[ "$CLIENTS" -ge 1 ] && [ "$OUTSTANDING" -ge 1 ] || die "BENCH_CLIENTS and BENCH_OUTSTANDING must be >= 1"
[ "$SECONDS_RUN" -ge 1 ] && [ "$SECONDS_RUN" -le 600 ] || die "BENCH_SECONDS must be 1..600"
[ -z "$MAXQPS" ] || [[ "$MAXQPS" =~ ^[0-9]+$ ]] || die "BENCH_QPS must be an integer"
case "$POLICY" in 0 | 1) ;; *) die "BENCH_POLICY must be 0 or 1 (got '$POLICY')" ;; esac
case "$PROTECT" in 0 | 1) ;; *) die "BENCH_PROTECT must be 0 or 1 (got '$PROTECT')" ;; esac
case "$CACHE" in 0 | 1) ;; *) die "BENCH_CACHE must be 0 or 1 (got '$CACHE')" ;; esac
case "$PROTECT_COOKIE" in client | valid | none) ;; *) die "BENCH_PROTECT_COOKIE must be client, valid or none (got '$PROTECT_COOKIE')" ;; esac
if [ "$POLICY" = 1 ]; then
	[[ "$BLOCK_NAMES" =~ ^[0-9]+$ ]] && [[ "$BLOCKED_PERCENT" =~ ^[0-9]+$ ]] ||
		die "BENCH_BLOCKLIST_NAMES and BENCH_BLOCKED_PERCENT must be integers"
	[ "$BLOCK_NAMES" -ge 10 ] && [ "$BLOCK_NAMES" -le 1000000 ] || die "BENCH_BLOCKLIST_NAMES must be 10..1000000"
	[ "$BLOCKED_PERCENT" -ge 1 ] && [ "$BLOCKED_PERCENT" -le 50 ] || die "BENCH_BLOCKED_PERCENT must be 1..50"
fi

case "$ONLY" in
"") SERVERS="dnsgate dnsdist"
	[ "$CACHE" = 1 ] && SERVERS="dnsgate dnsdist unbound" ;;
dnsgate | dnsdist | unbound) SERVERS=$ONLY ;;
*) die "BENCH_ONLY must be empty, dnsgate, dnsdist or unbound (got '$ONLY')" ;;
esac
[ "$CACHE" = 1 ] || [ "$ONLY" != unbound ] || die "BENCH_ONLY=unbound needs BENCH_CACHE=1"

# ---- tools -------------------------------------------------------------------
need "$DNSPERF" dnsperf
need "$NSD" nsd
need taskset util-linux
need ss iproute2
need awk mawk
need shuf coreutils
case " $SERVERS " in *" dnsdist "*) need "$DNSDIST" dnsdist ;; esac
case " $SERVERS " in *" unbound "*) need "$UNBOUND" unbound ;; esac
if [ "$PROTECT" = 1 ] && [[ " $SERVERS " == *" dnsgate "* ]]; then
	need timeout coreutils
	if [ "$PROTECT_COOKIE" = valid ]; then need dig bind9-dnsutils; fi
fi
case " $SERVERS " in *" dnsgate "*)
	[ -x "$DNSGATE" ] ||
		die "$DNSGATE not built: run 'make' first (or BENCH_ONLY=dnsdist to bench dnsdist alone)"
	;;
esac

bench_pin_cpus "load generator, nsd and servers"

# Two benchmarks at once would measure each other.
bench_begin bench

# ---- zone and query file ------------------------------------------------------
ZONE=$TMP/bench.test.zone
QUERIES=$TMP/queries.txt
{
	bench_zone_hosts "$NAMES"
	# Policy mode: the blocked names under bench.test. exist in the zone, with
	# everything under them, so a query that slips past a blocklist gets NOERROR
	# from nsd instead of an NXDOMAIN that would look like a block.
	if [ "$POLICY" = 1 ]; then
		awk -v n="$BLOCK_NAMES" 'BEGIN {
			for (i = 1; i <= n - int(n / 10); i++) {
				printf "blocked-%d   IN A 198.51.100.%d\n", i, i % 256
				printf "*.blocked-%d IN A 198.51.100.%d\n", i, i % 256
			}
		}'
	fi
} >"$ZONE"
# Policy mode: the blocklist, plain domains one per line. The first 90 % are
# blocked-N.bench.test, the rest blocked-N under three suffixes nsd does not
# serve (it would answer REFUSED for them if a query got through).
BLOCKLIST=$TMP/blocklist.txt
if [ "$POLICY" = 1 ]; then
	awk -v n="$BLOCK_NAMES" 'BEGIN {
		split("ads.example tracker.example.net malware.example.org", sfx, " ")
		for (i = 1; i <= n; i++)
			if (i <= n - int(n / 10)) printf "blocked-%d.bench.test\n", i
			else printf "blocked-%d.%s\n", i, sfx[i % 3 + 1]
	}' >"$BLOCKLIST"
fi
# Every name with A, AAAA and TXT once, plus NX_PERCENT% names that do not exist;
# shuffled with a fixed seed so every run sends the same sequence.
bench_query_mix "$NAMES" "$NX_PERCENT" >"$QUERIES.base"
# Policy mode adds BLOCKED_PERCENT % of the final file as queries for blocked
# names, spread evenly over the list: every other one for a name under a listed
# domain (www.blocked-N...), which blocks too; A and AAAA alternate.
if [ "$POLICY" = 1 ]; then
	nbase=$(wc -l <"$QUERIES.base")
	awk -v pct="$BLOCKED_PERCENT" -v base="$nbase" '
		{ name[NR] = $1 }
		END {
			b = int(base * pct / (100 - pct) + 0.5)
			for (j = 1; j <= b; j++)
				printf "%s%s %s\n", (j % 2 == 0 ? "www." : ""), name[1 + int((j - 1) * NR / b)],
					(int((j - 1) / 2) % 2 == 0 ? "A" : "AAAA")
		}' "$BLOCKLIST" >>"$QUERIES.base"
fi
shuf --random-source=<(yes dnsgate-bench) "$QUERIES.base" >"$QUERIES"
rm -f "$QUERIES.base"
NQ=$(wc -l <"$QUERIES")
NNX=$(grep -c '^nx' "$QUERIES" || true)
NBLOCKED=$(grep -c 'blocked-' "$QUERIES" || true)

# ---- helpers -----------------------------------------------------------------
# rcode_of PORT QNAME QTYPE [SOURCE]: the RCODE of one UDP query, "none" without an answer in 1 s.
rcode_of() {
	local src=()
	[ -z "${4:-}" ] || src=(-a "$4")
	echo "$2 $3" | timeout 5 "$DNSPERF" -s 127.0.0.1 -p "$1" "${src[@]}" -n 1 -t 1 -v 2>/dev/null |
		awk '/^> / && $2 != "T" && NF >= 5 { r = $2 } END { print (r == "" ? "none" : r) }' || true
}
# policy_check NAME PORT: the policy does what it should before it is measured.
policy_check() {
	local name=$1 port=$2 first last got q qname qtype want src
	first=$(head -1 "$BLOCKLIST")
	last=$(tail -1 "$BLOCKLIST")
	for q in "$first A NXDOMAIN" "www.$first AAAA NXDOMAIN" "www.$last A NXDOMAIN" \
		"host1.bench.test A NOERROR" "nx1.bench.test A NXDOMAIN" "host1.bench.test A none 127.0.0.250"; do
		read -r qname qtype want src <<<"$q"
		got=$(rcode_of "$port" "$qname" "$qtype" "$src")
		[ "$got" = "$want" ] ||
			die "policy check: $name answers '$qname $qtype'${src:+ from $src} with $got, expected $want (none = no answer)"
	done
	note "$name: policy check passed (blocked names NXDOMAIN, others as the zone says, 127.0.0.250 dropped)"
}

# ---- the two proxies ---------------------------------------------------------
dnsgate_conf() { # port [metrics-port]: the configuration on stdout
	cat <<EOF
; generated by bench/run.sh
[server]
listen = 127.0.0.1:$1
workers = 1
${2:+metrics-listen = 127.0.0.1:$2}
$DNSGATE_SERVER_EXTRA

[log]
target = $TMP/dnsgate/dnsgate.log
decisions = none

[upstream main]
server = 127.0.0.1:$NSD_PORT
$DNSGATE_UPSTREAM_EXTRA

EOF
	if [ "$POLICY" = 1 ]; then
		# The first view matches dnsperf (127.0.0.1); its ACL is evaluated for
		# every query (127.0.0.250 never asks, so the drop line never fires);
		# the catch-all view after it refuses everyone else.
		cat <<EOF
[view local]
match-client = 127.0.0.0/8
upstream = main
drop = 127.0.0.250/32
allow = 127.0.0.0/8
refuse = any
blocklist = $BLOCKLIST
block-action = nxdomain

[view others]
match-client = any
upstream = main
refuse = any
EOF
	else
		cat <<EOF
[view all]
upstream = main
EOF
	fi
	if [ "$CACHE" = 1 ]; then
		cat <<EOF

[cache]
size = 64MB
EOF
	fi
	if [ "$PROTECT" = 1 ]; then
		# Every query goes through the cookie stage and the query limit, and
		# every answer through RRL accounting: the rates are the highest
		# dnsgate takes. The NXDOMAIN account (one per zone and /24) still
		# sees about 10 % of the load, over 1000/s, so log-only = yes: it
		# counts what it would limit and sends everything.
		cat <<EOF

[cookies]
enabled = yes
secret = $COOKIE_SECRET

[ratelimit]
responses-per-second = 1000
nxdomains-per-second = 1000
nodata-per-second = 1000
errors-per-second = 1000
queries-per-second = 1000000
log-only = yes
EOF
	fi
}
start_dnsgate() { # port
	mkdir -p "$TMP/dnsgate"
	METRICS_PORT=""
	[ "$PROTECT" = 1 ] && free_port METRICS_PORT
	dnsgate_conf "$1" "$METRICS_PORT" >"$TMP/dnsgate/dnsgate.conf"
	"$DNSGATE" -t -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/check.log" 2>&1 || {
		cat "$TMP/dnsgate/check.log" >&2
		die "dnsgate rejects the benchmark configuration (above)"
	}
	"${PIN_SERVER[@]}" "$DNSGATE" -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/stderr.log" 2>&1 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/dnsgate/stderr.log
}
start_dnsdist() { # port
	mkdir -p "$TMP/dnsdist"
	# No setKey()/controlSocket(): no console, nothing needs a key.
	# No setCache()/newPacketCache(): dnsdist has no packet cache unless one is
	# attached to a pool, so every query is forwarded, as with dnsgate.
	# One setLocal() = one UDP listener thread (plus its responder thread).
	cat >"$TMP/dnsdist/dnsdist.conf" <<EOF
-- generated by bench/run.sh
setLocal('127.0.0.1:$1')
newServer({address='127.0.0.1:$NSD_PORT', checkName='bench.test.', checkType='SOA'})
setSecurityPollSuffix('')
setMaxTCPClientThreads(1)
EOF
	if [ "$POLICY" = 1 ]; then
		# The same policy as dnsgate's view: the ACL (checked before any rule),
		# a drop rule for 127.0.0.250, then the blocklist as a suffix match
		# (a listed name and everything under it) answered NXDOMAIN.
		cat >>"$TMP/dnsdist/dnsdist.conf" <<EOF
setACL({'127.0.0.0/8'})
local dropped = newNMG()
dropped:addMask('127.0.0.250/32')
addAction(NetmaskGroupRule(dropped), DropAction())
local blocked = newSuffixMatchNode()
for name in io.lines('$BLOCKLIST') do blocked:add(name) end
addAction(SuffixMatchNodeRule(blocked, true), RCodeAction(DNSRCode.NXDOMAIN))
EOF
	fi
	if [ "$CACHE" = 1 ]; then
		# Its packet cache on the default pool, about as large as dnsgate's.
		cat >>"$TMP/dnsdist/dnsdist.conf" <<EOF
getPool(''):setCache(newPacketCache(300000, {maxTTL=86400}))
EOF
	fi
	if [ "$PROTECT" = 1 ]; then
		# dnsdist has neither cookies nor RRL. Its nearest equivalent: a per-/24
		# query rate limit, which matches (and drops) a prefix's queries over
		# the rate. At 1,000,000 qps it never fires, but counts every query.
		cat >>"$TMP/dnsdist/dnsdist.conf" <<EOF
addAction(MaxQPSIPRule(1000000, 24, 56), DropAction())
EOF
	fi
	"$DNSDIST" --check-config -C "$TMP/dnsdist/dnsdist.conf" >"$TMP/dnsdist/check.log" 2>&1 || {
		cat "$TMP/dnsdist/check.log" >&2
		die "dnsdist rejects the benchmark configuration (above)"
	}
	"${PIN_SERVER[@]}" "$DNSDIST" --supervised --disable-syslog -C "$TMP/dnsdist/dnsdist.conf" \
		>"$TMP/dnsdist/stderr.log" 2>&1 </dev/null 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/dnsdist/stderr.log
}

start_unbound() { # port: a caching forwarder to nsd, one thread, no DNSSEC
	mkdir -p "$TMP/unbound"
	{
		cat <<EOF
# generated by bench/run.sh
server:
	interface: 127.0.0.1@$1
	port: $1
EOF
		unbound_server_common
		cat <<EOF
	msg-cache-size: 32m
	rrset-cache-size: 32m
	so-reuseport: no
	do-ip6: no
	# Everything goes to nsd, which serves bench.test. only: no minimised
	# queries for test. (it refuses them). Loopback only, as every test
	# here: queries leave from 127.0.0.1, which reaches nothing else.
	qname-minimisation: no
	outgoing-interface: 127.0.0.1
	# test. is one of Unbound's default local zones (RFC 6761): lift it.
	local-zone: "test." nodefault
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@$NSD_PORT
EOF
	} >"$TMP/unbound/unbound.conf"
	"$UNBOUND"-checkconf "$TMP/unbound/unbound.conf" >"$TMP/unbound/check.log" 2>&1 || {
		cat "$TMP/unbound/check.log" >&2
		die "unbound rejects the benchmark configuration (above)"
	}
	"${PIN_SERVER[@]}" "$UNBOUND" -d -c "$TMP/unbound/unbound.conf" \
		>"$TMP/unbound/stderr.log" 2>&1 </dev/null 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/unbound/stderr.log
}

free_port NSD_PORT
# Policy mode needs [view] blocklist and block-action: check that this dnsgate
# takes the policy configuration before starting anything.
if [ "$POLICY" = 1 ] && [[ " $SERVERS " == *" dnsgate "* ]]; then
	mkdir -p "$TMP/dnsgate"
	dnsgate_conf 53 >"$TMP/dnsgate/policy-check.conf"
	if ! "$DNSGATE" -t -c "$TMP/dnsgate/policy-check.conf" >"$TMP/dnsgate/policy-check.log" 2>&1; then
		sed 's/^/  /' "$TMP/dnsgate/policy-check.log" >&2
		if grep -Eqi 'blocklist|block-action' "$TMP/dnsgate/policy-check.log"; then
			die "BENCH_POLICY=1: $DNSGATE does not accept [view] blocklist / block-action yet (dnsgate -t, above). Rebuild it once they are supported, or run BENCH_ONLY=dnsdist to bench dnsdist's side alone"
		fi
		die "BENCH_POLICY=1: $DNSGATE -t rejects the policy configuration (above)"
	fi
fi

# ---- nsd -------------------------------------------------------------------
mkdir -p "$TMP/nsd"
{
	nsd_server_conf
	cat <<EOF
	# Protect mode: dnsdist passes the queries' COOKIE option on to nsd; nsd
	# ignores it, so that nsd does the same work behind both proxies.
	answer-cookie: no
remote-control:
	control-enable: no
zone:
	name: bench.test.
	zonefile: "$ZONE"
EOF
} >"$TMP/nsd/nsd.conf"
"${PIN_NSD[@]}" "$NSD" -d -c "$TMP/nsd/nsd.conf" >"$TMP/nsd/stderr.log" 2>&1 9>&- &
NSD_PID=$!
PIDS+=("$NSD_PID")
wait_ready nsd "$NSD_PID" "$NSD_PORT" "$TMP/nsd/nsd.log"

DNSPERF_ARGS=(-s 127.0.0.1 -d "$QUERIES" -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2)
[ -n "$MAXQPS" ] && DNSPERF_ARGS+=(-Q "$MAXQPS")

# metrics PORT: dnsgate's /metrics (bash's /dev/tcp, no curl), bounded to 5 s.
metrics() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' _ "$1" 2>/dev/null || true
}
# metric_sum TEXT NAME [LABEL-FILTER]: the sum of NAME's samples whose labels contain FILTER.
metric_sum() {
	awk -v n="$2" -v f="${3:-}" '
		/^#/ { next } { k = $1; sub(/[{].*/, "", k) }
		k == n && index($1, f) { s += $NF } END { printf "%.0f\n", s }' <<<"$1"
}
# Protect mode: what dnsperf sends. "client": a client cookie only, so that
# dnsgate checks it, makes a server cookie for every answer, and (no valid
# server cookie: not exempt) accounts every answer in RRL. "valid": client
# cookie + a server cookie dnsgate made for 127.0.0.1 (RFC 9018, valid for an
# hour): checked, renewed, and exempt from RRL. "none": no COOKIE option: RRL
# for every answer, the cookie stage returns at once.
if [ "$PROTECT" = 1 ] && [ "$PROTECT_COOKIE" != none ]; then
	COOKIE_OPT=$CLIENT_COOKIE
	if [ "$PROTECT_COOKIE" = valid ]; then
		if [[ " $SERVERS " == *" dnsgate "* ]]; then
			# A dnsgate with the benchmark's secret makes the server cookie.
			cport=""
			free_port cport
			mkdir -p "$TMP/dnsgate"
			dnsgate_conf "$cport" >"$TMP/dnsgate/cookie.conf"
			"$DNSGATE" -c "$TMP/dnsgate/cookie.conf" >"$TMP/dnsgate/cookie.log" 2>&1 9>&- &
			cpid=$!
			PIDS+=("$cpid")
			wait_ready dnsgate "$cpid" "$cport" "$TMP/dnsgate/cookie.log"
			COOKIE_OPT=$(dig +cookie="$CLIENT_COOKIE" +tries=1 +time=2 -p "$cport" @127.0.0.1 bench.test SOA |
				awk '/^; COOKIE: / && /good/ { print $3; exit }')
			stop_pid "$cpid"
			[ "${#COOKIE_OPT}" = 48 ] || die "BENCH_PROTECT_COOKIE=valid: no server cookie from dnsgate (got '$COOKIE_OPT')"
		else
			COOKIE_OPT=${CLIENT_COOKIE}0100000000000000${CLIENT_COOKIE} # dnsdist alone: same size
		fi
	fi
	DNSPERF_ARGS+=(-E "10:$COOKIE_OPT")
fi

declare -A R

# bench NAME ROUND: start it, warm up, measure, read its memory, stop it.
# Results go to R[NAME.ROUND.metric].
bench() {
	local name=$1 k=$1.$2 port out ticks0 ticks1 t0 t1 stat0 stat1
	free_port port
	note "$name (round $2/$ROUNDS): starting on 127.0.0.1:$port, CPU $SERVER_CPU"
	"start_$name" "$port"
	PIDS+=("$SERVER_PID")
	wait_ready "$name" "$SERVER_PID" "$port" "$SERVER_LOG"
	if [ "$POLICY" = 1 ] && [ "$2" = 1 ]; then policy_check "$name" "$port"; fi
	if [ "$WARMUP" -gt 0 ]; then
		"${PIN_CLIENT[@]}" timeout $((WARMUP + 30)) \
			"$DNSPERF" "${DNSPERF_ARGS[@]}" -p "$port" -l "$WARMUP" >/dev/null 2>&1 &
		wait_child $! || true
	fi
	out=$TMP/$name/dnsperf.out
	local m0="" m1=""
	if [ "$PROTECT" = 1 ] && [ "$name" = dnsgate ]; then
		m0=$(metrics "$METRICS_PORT")
		[ -n "$m0" ] || die "no /metrics from dnsgate on 127.0.0.1:$METRICS_PORT"
	fi
	note "$name (round $2/$ROUNDS): dnsperf for ${SECONDS_RUN}s, CPU $CLIENT_CPU"
	ticks0=$(cpu_ticks "$SERVER_PID")
	stat0=$(cpu_stat)
	t0=$(date +%s.%N)
	# -v: one line per query with its RCODE and latency, for the percentiles.
	"${PIN_CLIENT[@]}" timeout $((SECONDS_RUN + 60)) \
		"$DNSPERF" "${DNSPERF_ARGS[@]}" -p "$port" -l "$SECONDS_RUN" -v >"$out" 2>"$TMP/$name/dnsperf.err" &
	wait_child $! || { tail -20 "$TMP/$name/dnsperf.err" >&2; die "dnsperf against $name failed"; }
	t1=$(date +%s.%N)
	stat1=$(cpu_stat)
	ticks1=$(cpu_ticks "$SERVER_PID")
	kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$SERVER_LOG" >&2; die "$name died during the run"; }
	if [ -n "$m0" ]; then
		# What the protection did during the measured run (deltas).
		m1=$(metrics "$METRICS_PORT")
		local f key mname label
		for f in 'ck_valid dnsgate_cookies_total "valid"' 'ck_client dnsgate_cookies_total "client-only"' \
			'ck_invalid dnsgate_cookies_total "invalid"' 'rl_drop dnsgate_ratelimit_total "drop"' \
			'rl_slip dnsgate_ratelimit_total "slip"' 'm_responses dnsgate_responses_total'; do
			read -r key mname label <<<"$f"
			R[$k.$key]=$(($(metric_sum "$m1" "$mname" "$label") - $(metric_sum "$m0" "$mname" "$label")))
		done
	fi
	R[$k.rss_kb]=$(vm_field "$SERVER_PID" VmHWM)
	R[$k.threads]=$(vm_field "$SERVER_PID" Threads)
	stop_pid "$SERVER_PID"
	R[$k.server_cpu_busy_pct]=$(cpu_busy_pct "$stat0" "$stat1" "$SERVER_CPU")
	R[$k.client_cpu_busy_pct]=$(cpu_busy_pct "$stat0" "$stat1" "$CLIENT_CPU")
	R[$k.cpu_s]=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
	R[$k.wall_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	grep -v '^> ' "$out" >"$RESULTS_DIR/dnsperf-$name.txt" || true
	parse "$k" "$out"
	rm -f "$out"
	if [ -n "$m0" ]; then
		R[$k.protect]="cookies valid/client-only/invalid ${R[$k.ck_valid]}/${R[$k.ck_client]}/${R[$k.ck_invalid]}, dnsgate_ratelimit_total drop/slip ${R[$k.rl_drop]}/${R[$k.rl_slip]} (log-only: counted, none withheld), ${R[$k.m_responses]} responses"
		local want=""
		case "$PROTECT_COOKIE" in client) want=${R[$k.ck_client]} ;; valid) want=${R[$k.ck_valid]} ;; esac
		if [ -n "$want" ] && [ "$want" -lt "${R[$k.completed]}" ]; then
			WARNINGS+=("$name: only $want queries with a $PROTECT_COOKIE cookie counted, ${R[$k.completed]} answered: the cookie stage did not see every query")
		fi
	fi
}

# parse KEY FILE: dnsperf's summary plus the latency distribution of the -v lines.
parse() {
	local k=$1 f=$2 key v
	while IFS='=' read -r key v; do
		[ -n "$key" ] && R[$k.$key]=$v
	done < <(awk '
		/^> / {
			# "> RCODE qname qtype latency", or "> T qname qtype" for a timeout
			if ($2 == "T" || $2 == "I" || NF < 5) { next }
			us = int($NF * 1000000 + 0.5); h[us]++; n++; sum += us
			# The RCODE each query must get: blocked-N (policy mode) and nxN are
			# NXDOMAIN, everything else NOERROR.
			q = tolower($3)
			if (q ~ /(^|\.)blocked-[0-9]+\./) { blocked++; if ($2 == "NXDOMAIN") blocked_nx++; want = "NXDOMAIN" }
			else want = (q ~ /^nx[0-9]+\./) ? "NXDOMAIN" : "NOERROR"
			if ($2 != want) wrong++
			if (us > max) max = us
			next
		}
		/Queries sent:/      { sent = $3 }
		/Queries completed:/ { completed = $3 }
		/Queries lost:/      { lost = $3 }
		/Queries per second:/ { qps = $4 }
		/Average Latency \(s\):/ { avg = $4 }
		/Response codes:/    { sub(/^ *Response codes: */, ""); gsub(/ \([0-9.]+%\)/, ""); gsub(/, /, ","); gsub(/ /, ":"); rcodes = $0 }
		END {
			if (sent == "" || qps == "" || avg == "" || n == 0) { print "parse_error=1"; exit }
			# percentiles from the exact per-query latencies (microsecond resolution)
			split("50 90 99 99.9", ps, " ")
			for (i = 1; i <= 4; i++) need[i] = n * ps[i] / 100
			c = 0; j = 1
			for (us = 0; us <= max && j <= 4; us++) {
				if (!(us in h)) continue
				c += h[us]
				while (j <= 4 && c >= need[j]) { pct[j] = us; j++ }
			}
			printf "sent=%s\ncompleted=%s\nlost=%s\nqps=%.0f\n", sent, completed, lost, qps
			printf "mean_ms=%.3f\n", avg * 1000
			printf "measured_mean_ms=%.3f\n", sum / n / 1000
			printf "p50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\nmax_ms=%.3f\n", \
				pct[1] / 1000, pct[2] / 1000, pct[3] / 1000, pct[4] / 1000, max / 1000
			printf "latency_samples=%d\nrcodes=%s\n", n, rcodes
			printf "blocked_answers=%d\nblocked_nxdomain=%d\nwrong_rcode=%d\n", blocked, blocked_nx, wrong
		}' "$f")
	[ -z "${R[$k.parse_error]:-}" ] || die "could not parse dnsperf output for ${k%.*} (summary in $RESULTS_DIR/dnsperf-${k%.*}.txt)"
	# Every query must get the answer the zone gives: NOERROR, or NXDOMAIN for nx*.
	case "${R[$k.rcodes]}" in
	*SERVFAIL* | *REFUSED* | *FORMERR* | *NOTIMP* | *BADVERS*)
		WARNINGS+=("${k%.*} answered with unexpected RCODEs: ${R[$k.rcodes]}") ;;
	esac
	if [ "$POLICY" = 1 ]; then
		[ "${R[$k.blocked_answers]}" -gt 0 ] && [ "${R[$k.blocked_nxdomain]}" = "${R[$k.blocked_answers]}" ] ||
			WARNINGS+=("${k%.*} answered ${R[$k.blocked_nxdomain]} of ${R[$k.blocked_answers]} queries for blocked names with NXDOMAIN")
		[ "${R[$k.wrong_rcode]}" = 0 ] ||
			WARNINGS+=("${k%.*} gave ${R[$k.wrong_rcode]} answers an RCODE other than the expected one (blocked/nx: NXDOMAIN, else NOERROR)")
	fi
	if [ "${R[$k.lost]}" -gt $((R[$k.sent] / 1000)) ]; then
		WARNINGS+=("${k%.*} lost ${R[$k.lost]} of ${R[$k.sent]} queries (> 0.1%)")
	fi
	R[$k.cpu_pct]=$(awk -v c="${R[$k.cpu_s]}" -v w="${R[$k.wall_s]}" 'BEGIN { printf "%.0f", 100 * c / w }')
	R[$k.q_per_cpu_s]=$(awk -v q="${R[$k.completed]}" -v c="${R[$k.cpu_s]}" \
		'BEGIN { if (c > 0) printf "%.0f", q / c; else print "n/a" }')
	# Little's law: the queries dnsperf had in flight on average. Of its -q
	# slots, the rest sat in dnsperf between an answer and the next query.
	R[$k.inflight]=$(awk -v q="${R[$k.qps]}" -v m="${R[$k.measured_mean_ms]}" 'BEGIN { printf "%.1f", q * m / 1000 }')
}

WARNINGS=()
if grep -q __asan_init "$DNSGATE" 2>/dev/null && [[ " $SERVERS " == *" dnsgate "* ]]; then
	WARNINGS+=("$DNSGATE is built with sanitizers: its figures mean nothing (make clean && make)")
fi
# Is the machine quiet? Other load on the benchmark CPUs distorts everything.
s0=$(cpu_stat); sleep 1; s1=$(cpu_stat)
for c in $(printf '%s\n' "$SERVER_CPU" "$CLIENT_CPU" "$NSD_CPU" | sort -u); do
	b=$(cpu_busy_pct "$s0" "$s1" "$c")
	IDLE_BUSY="${IDLE_BUSY:-}cpu$c=$b% "
	[ "$b" != n/a ] && [ "$b" -gt 10 ] && WARNINGS+=("CPU $c was $b% busy before the benchmark started: other load distorts the figures")
done

METRICS="qps mean_ms p50_ms p99_ms p999_ms max_ms inflight sent completed lost rss_kb cpu_s cpu_pct q_per_cpu_s threads server_cpu_busy_pct client_cpu_busy_pct"
EXTRA="measured_mean_ms p90_ms latency_samples wall_s"
ORDER=$SERVERS
for r in $(seq "$ROUNDS"); do
	for s in $ORDER; do bench "$s" "$r"; done
	ORDER=$(echo "$ORDER" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "\n") }')
done

# Per metric, the median over the rounds (median: lib.sh).
for s in $SERVERS; do
	for m in $METRICS $EXTRA; do
		vals=()
		for r in $(seq "$ROUNDS"); do vals+=("${R[$s.$r.$m]:-n/a}"); done
		R[$s.$m]=$(median "${vals[@]}")
		R[$s.rounds.$m]=$(IFS=,; echo "${vals[*]}")
	done
	R[$s.rcodes]=$(for r in $(seq "$ROUNDS"); do echo "${R[$s.$r.rcodes]}"; done | paste -sd';')
	for m in blocked_answers blocked_nxdomain wrong_rcode; do
		R[$s.$m]=$(for r in $(seq "$ROUNDS"); do echo "${R[$s.$r.$m]}"; done | paste -sd';')
	done
	if [ "$PROTECT" = 1 ] && [ "$s" = dnsgate ]; then
		R[$s.protect]=$(for r in $(seq "$ROUNDS"); do echo "${R[$s.$r.protect]:-n/a}"; done | paste -sd';')
	fi
done

# ---- report ------------------------------------------------------------------
declare -A LABEL=(
	[qps]="queries/s" [mean_ms]="mean latency (ms)" [p50_ms]="p50 latency (ms)"
	[p99_ms]="p99 latency (ms)" [p999_ms]="p99.9 latency (ms)" [max_ms]="max latency (ms)"
	[inflight]="queries in flight (mean)"
	[sent]="queries sent" [completed]="queries completed" [lost]="queries lost"
	[rss_kb]="peak RSS (KiB, VmHWM)" [cpu_s]="server CPU time (s)" [cpu_pct]="server CPU (% of a core)"
	[q_per_cpu_s]="queries per server CPU-s" [threads]="server threads"
	[server_cpu_busy_pct]="CPU $SERVER_CPU busy (%)" [client_cpu_busy_pct]="CPU $CLIENT_CPU busy (%)"
)
# A ratio column dnsgate/X for every other server benched with dnsgate.
OTHERS=""
[[ " $SERVERS " == *" dnsgate "* ]] && OTHERS=$(echo "$SERVERS" | tr ' ' '\n' | { grep -vx dnsgate || true; } | paste -sd' ')

{
	printf '\ndnsgate bench: %s s per server%s, dnsperf -c %s -q %s%s, %s-line query file (%s NXDOMAIN%s)\n' \
		"$SECONDS_RUN" "$([ "$ROUNDS" -gt 1 ] && echo ", median of $ROUNDS rounds")" \
		"$CLIENTS" "$OUTSTANDING" "${MAXQPS:+ -Q $MAXQPS}" "$NQ" "$NNX" \
		"$([ "$POLICY" = 1 ] && echo ", $NBLOCKED for blocked names")"
	if [ "$POLICY" = 1 ]; then
		printf 'policy: a view matching 127.0.0.0/8 with an ACL (drop/allow/refuse) and a %s-name\n' "$BLOCK_NAMES"
		printf '        blocklist answered NXDOMAIN, then a catch-all view that refuses (dnsdist: setACL,\n'
		printf '        a NetmaskGroupRule drop, a SuffixMatchNodeRule with RCodeAction NXDOMAIN)\n'
	fi
	if [ "$PROTECT" = 1 ]; then
		printf 'protect: dnsgate [cookies] enabled, [ratelimit] 1000/s per account (log-only), 1000000 queries/s\n'
		printf '         per /24; dnsdist addAction(MaxQPSIPRule(1000000, 24, 56), DropAction()); dnsperf\n'
		printf '         sends %s\n' "$(case "$PROTECT_COOKIE" in
			client) echo "a client cookie (-E 10:$CLIENT_COOKIE): every dnsgate answer is RRL-accounted" ;;
			valid) echo "a valid server cookie: dnsgate checks it and exempts the answer from RRL" ;;
			none) echo "no cookie: every dnsgate answer is RRL-accounted" ;; esac)"
	fi
	printf 'CPUs: dnsgate/dnsdist on %s, nsd on %s, dnsperf on %s (of %s)\n\n' \
		"$SERVER_CPU" "$NSD_CPU" "$CLIENT_CPU" "$NCPU"
	[ "$CACHE" = 1 ] && printf 'cache: dnsgate [cache] size = 64MB; dnsdist newPacketCache(300000); unbound\n       as a caching forwarder to nsd (iterator only, 32m+32m caches, one thread)\n'
	printf '%-27s' metric
	for s in $SERVERS; do printf '%12s' "$s"; done
	for o in $OTHERS; do printf '%17s' "dnsgate/$o"; done
	printf '\n'
	for m in $METRICS; do
		printf '%-27s' "${LABEL[$m]}"
		for s in $SERVERS; do printf '%12s' "${R[$s.$m]:-n/a}"; done
		for o in $OTHERS; do printf '%17s' "$(ratio "${R[dnsgate.$m]:-}" "${R[$o.$m]:-}")"; done
		printf '\n'
	done
	for s in $SERVERS; do printf 'rcodes %-9s %s\n' "$s:" "${R[$s.rcodes]}"; done
	if [ "$POLICY" = 1 ]; then
		for s in $SERVERS; do
			printf 'blocked %-9s NXDOMAIN for %s of %s answers to blocked names; other answers with a wrong RCODE: %s\n' \
				"$s:" "${R[$s.blocked_nxdomain]}" "${R[$s.blocked_answers]}" "${R[$s.wrong_rcode]}"
		done
	fi
	if [ "$PROTECT" = 1 ]; then
		for s in $SERVERS; do
			case $s in
			dnsgate)
				for r in $(seq "$ROUNDS"); do
					printf 'protect dnsgate%s: %s\n' "$([ "$ROUNDS" -gt 1 ] && echo " (round $r)")" "${R[dnsgate.$r.protect]:-n/a}"
				done
				;;
			dnsdist) printf 'protect dnsdist: MaxQPSIPRule evaluated for every query (dnsdist keeps no counter for it here)\n' ;;
			esac
		done
	fi
	for w in "${WARNINGS[@]}"; do printf 'WARNING: %s\n' "$w"; done
	printf '\n'
} | tee "$TMP/table.txt"

{
	echo "# dnsgate bench results; key=value; generated by bench/run.sh; see bench/README.md"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel=$(uname -r)"
	echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "ncpu=$NCPU"
	echo "busy_before_start=${IDLE_BUSY% }"
	echo "servers=$SERVERS"
	echo "rounds=$ROUNDS"
	echo "seconds=$SECONDS_RUN"
	echo "warmup_seconds=$WARMUP"
	echo "dnsperf_clients=$CLIENTS"
	echo "dnsperf_outstanding=$OUTSTANDING"
	echo "dnsperf_max_qps=${MAXQPS:-unbounded}"
	echo "dnsperf_version=$("$DNSPERF" -h 2>&1 | awk '/^Version/ { print $2; exit }')"
	echo "query_file_lines=$NQ"
	echo "query_file_nxdomain=$NNX"
	echo "policy=$POLICY"
	echo "protect=$PROTECT"
	[ "$PROTECT" = 1 ] && echo "protect_cookie=$PROTECT_COOKIE"
	if [ "$POLICY" = 1 ]; then
		echo "blocklist_names=$BLOCK_NAMES"
		echo "query_file_blocked=$NBLOCKED"
	fi
	echo "zone_names=$NAMES"
	echo "cpu_server=$SERVER_CPU"
	echo "cpu_dnsperf=$CLIENT_CPU"
	echo "cpu_nsd=$NSD_CPU"
	echo "nsd_version=$("$NSD" -v 2>&1 | awk '/^NSD version/ { print $3; exit }')"
	case " $SERVERS " in *" dnsdist "*) echo "dnsdist_version=$("$DNSDIST" --version 2>&1 | awk 'NR == 1 { print $2 }')" ;; esac
	case " $SERVERS " in *" dnsgate "*) echo "dnsgate_version=$("$DNSGATE" --version 2>&1 | head -1 | awk '{ print $NF }')" ;; esac
	for s in $SERVERS; do
		for m in $METRICS $EXTRA; do echo "$s.$m=${R[$s.$m]:-n/a}"; done
		echo "$s.rcodes=${R[$s.rcodes]}"
		if [ "$POLICY" = 1 ]; then
			for m in blocked_answers blocked_nxdomain wrong_rcode; do echo "$s.$m=${R[$s.$m]}"; done
		fi
		if [ "$PROTECT" = 1 ] && [ "$s" = dnsgate ]; then echo "$s.protect=${R[$s.protect]}"; fi
		if [ "$ROUNDS" -gt 1 ]; then
			for m in $METRICS $EXTRA; do echo "$s.rounds.$m=${R[$s.rounds.$m]}"; done
		fi
	done
	for o in $OTHERS; do
		# ratio.M: against dnsdist, as before; ratio.O.M for any other.
		pre=ratio.; [ "$o" = dnsdist ] || pre=ratio.$o.
		for m in qps mean_ms p50_ms p99_ms p999_ms lost rss_kb cpu_s q_per_cpu_s; do
			echo "$pre$m=$(ratio "${R[dnsgate.$m]:-}" "${R[$o.$m]:-}")"
		done
	done
	echo "warnings=${#WARNINGS[@]}"
	for i in "${!WARNINGS[@]}"; do echo "warning.$((i + 1))=${WARNINGS[$i]}"; done
} >"$RESULTS_DIR/latest.txt"
cp "$TMP/table.txt" "$RESULTS_DIR/latest-table.txt"
note "results: $RESULTS_DIR/latest.txt (table: latest-table.txt, last dnsperf summaries: dnsperf-*.txt)"
