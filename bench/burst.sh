#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A burst of outstanding queries through dnsgate and through dnsdist: what
# each loses, and where. See bench/README.md ("Bursts: bench/burst.sh").
#
#   bench/burst.sh                             10,000 outstanding from 20 sockets, 100,000 queries
#   BENCH_BURST_BUFFER=0 bench/burst.sh        both listeners on the system's default buffer
#   BENCH_BURST_ROUNDS=3 bench/burst.sh        three rounds, the order alternating
#   BENCH_ONLY=dnsgate bench/burst.sh          one proxy only
#
# One nsd (bench.test., RRL off) on 127.0.0.1; dnsgate on its default
# configuration and dnsdist with one listener, both forwarding to that nsd,
# both listeners given the same UDP receive buffer. For each, dnsperf sends
# a fixed number of queries with -q outstanding (the first -q of them in one
# burst), each query waiting up to -t seconds. Counted for each run: dnsperf's
# sent, answered and lost; the kernel's drops on the proxy's listening socket
# and on nsd's (ss(8) skmem d, before and after); for dnsgate, its own count
# of those drops (dnsgate_udp_receive_drops_total) and the queries it dropped
# for max-queries-in-flight (inflight_full, dnsgate ctl stats).
# Prints a table and writes bench/results/burst-latest.txt.
# "A && B || die" means: die when either test fails. The zone file wants a literal $ORIGIN.
# shellcheck disable=SC2015,SC2016
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ---- settings (environment) ------------------------------------------------
CLIENTS=${BENCH_BURST_CLIENTS:-20}            # dnsperf -c: client sockets
OUTSTANDING=${BENCH_BURST_OUTSTANDING:-10000} # dnsperf -q: queries in flight
QUERIES=${BENCH_BURST_QUERIES:-100000}        # queries sent per run (the query file, once)
BUFFER=${BENCH_BURST_BUFFER:-8MB}             # both listeners' receive buffer (0 = system default)
CLIENT_BUFFER=${BENCH_BURST_CLIENT_BUFFER:-4096} # dnsperf -b, KB: its own sockets must not drop answers
QTIMEOUT=${BENCH_BURST_TIMEOUT:-5}            # dnsperf -t: seconds a query may take
LIMIT=${BENCH_BURST_SECONDS:-60}              # dnsperf -l: at most this long per run
ROUNDS=${BENCH_BURST_ROUNDS:-1}               # each round runs both proxies, order alternating
ONLY=${BENCH_ONLY:-}                          # "", dnsgate or dnsdist
NAMES=300                                     # names in the zone (A records)
SERVER_CPU=${BENCH_SERVER_CPU:-0}             # dnsgate / dnsdist
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}             # dnsperf
NSD_CPU=${BENCH_NSD_CPU:-0}                   # nsd
DNSGATE=${DNSGATE:-$ROOT/build/dnsgate}
NSD=${NSD:-/usr/sbin/nsd}
DNSDIST=${DNSDIST:-/usr/bin/dnsdist}
DNSPERF=${DNSPERF:-dnsperf}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench/results}
KEEP=${BENCH_KEEP:-0}

die() { echo "burst: error: $*" >&2; exit 1; }
note() { echo "burst: $*" >&2; }
# need, bench_begin, stop_pid, cleanup, free_port, probe, wait_ready
. "$ROOT/bench/lib.sh"

for v in "$CLIENTS" "$OUTSTANDING" "$QUERIES" "$CLIENT_BUFFER" "$QTIMEOUT" "$LIMIT" "$ROUNDS"; do
	[[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_BURST_CLIENTS, _OUTSTANDING, _QUERIES, _CLIENT_BUFFER, _TIMEOUT, _SECONDS, _ROUNDS must be integers"
done
[ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le 256 ] || die "BENCH_BURST_CLIENTS must be 1..256"
[ "$OUTSTANDING" -ge 1 ] && [ "$OUTSTANDING" -le 65535 ] || die "BENCH_BURST_OUTSTANDING must be 1..65535"
[ "$QUERIES" -ge 1 ] && [ "$QUERIES" -le 10000000 ] || die "BENCH_BURST_QUERIES must be 1..10000000"
[ "$QTIMEOUT" -ge 1 ] && [ "$QTIMEOUT" -le 30 ] || die "BENCH_BURST_TIMEOUT must be 1..30"
[ "$LIMIT" -ge 1 ] && [ "$LIMIT" -le 600 ] || die "BENCH_BURST_SECONDS must be 1..600"
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || die "BENCH_BURST_ROUNDS must be 1..20"
# The buffer in bytes, for dnsdist and the table (dnsgate takes the text as is).
case "$BUFFER" in
*[kK][bB]) BUFFER_BYTES=$((${BUFFER%??} * 1024)) ;;
*[mM][bB]) BUFFER_BYTES=$((${BUFFER%??} * 1024 * 1024)) ;;
*[0-9]) BUFFER_BYTES=$BUFFER ;;
*) die "BENCH_BURST_BUFFER must be bytes, NKB or NMB (got '$BUFFER')" ;;
esac
[[ "$BUFFER_BYTES" =~ ^[0-9]+$ ]] || die "BENCH_BURST_BUFFER must be bytes, NKB or NMB (got '$BUFFER')"
case "$ONLY" in
"") SERVERS="dnsgate dnsdist" ;;
dnsgate | dnsdist) SERVERS=$ONLY ;;
*) die "BENCH_ONLY must be empty, dnsgate or dnsdist (got '$ONLY')" ;;
esac

# ---- tools -------------------------------------------------------------------
need "$DNSPERF" dnsperf
need "$NSD" nsd
need taskset util-linux
need ss iproute2
need awk mawk
case " $SERVERS " in *" dnsdist "*) need "$DNSDIST" dnsdist ;; esac
case " $SERVERS " in *" dnsgate "*) [ -x "$DNSGATE" ] || die "$DNSGATE not built: run 'make' first" ;; esac

bench_pin_cpus "dnsperf, nsd and the proxy"

# The same lock as the other benchmarks: two at once would measure each other.
bench_begin burst

# udp_mem PORT: "rb drops" of the UDP socket(s) bound to 127.0.0.1:PORT (ss skmem;
# rb is what the kernel keeps, twice the SO_RCVBUF asked). Summed over sockets.
udp_mem() {
	ss -Huamn "sport = :$1" 2>/dev/null | awk '
		match($0, /rb[0-9]+/) { rb += substr($0, RSTART + 2, RLENGTH - 2) }
		match($0, /,d[0-9]+\)/) { d += substr($0, RSTART + 2, RLENGTH - 3) }
		END { printf "%d %d\n", rb, d }'
}
# other_drops PID PORT: the drops (ss skmem d) summed over the UDP sockets of
# process PID other than its listener on PORT: its sockets toward nsd.
other_drops() {
	ss -Huamnp 2>/dev/null | awk -v pid="pid=$1," -v port=":$2" '
		/^[^ \t]/ { mine = index($0, pid) > 0 && $4 !~ port "$" }
		mine && match($0, /,d[0-9]+\)/) { d += substr($0, RSTART + 2, RLENGTH - 3) }
		END { printf "%d\n", d }'
}
# metrics PORT: dnsgate's /metrics (bash's /dev/tcp), bounded to 5 s.
metrics() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' _ "$1" 2>/dev/null || true
}
metric() { # TEXT NAME: the value of an unlabelled sample
	awk -v n="$2" '$1 == n { v = $2 } END { printf "%d\n", v }' <<<"$1"
}
internal() { # SOCKET NAME: a "# internal" counter of dnsgate ctl stats
	timeout 5 "$DNSGATE" ctl -s "$1" stats 2>/dev/null | awk -v n="$2" '$1 == n { v = $2 } END { printf "%d\n", v }'
}

# ---- nsd ---------------------------------------------------------------------
free_port NSD_PORT
mkdir -p "$TMP/nsd"
{
	bench_zone_head
	awk -v n="$NAMES" 'BEGIN { for (i = 1; i <= n; i++) printf "host%d IN A 10.0.%d.%d\n", i, int(i / 256), i % 256 }'
} >"$TMP/bench.test.zone"
awk -v n="$NAMES" -v q="$QUERIES" 'BEGIN { for (i = 0; i < q; i++) printf "host%d.bench.test A\n", i % n + 1 }' \
	>"$TMP/queries.txt"
{
	nsd_server_conf
	cat <<EOF
	receive-buffer-size: 16777216
remote-control:
	control-enable: no
zone:
	name: bench.test.
	zonefile: "$TMP/bench.test.zone"
EOF
} >"$TMP/nsd/nsd.conf"
"${PIN_NSD[@]}" "$NSD" -d -c "$TMP/nsd/nsd.conf" >"$TMP/nsd/stderr.log" 2>&1 9>&- &
NSD_PID=$!
PIDS+=("$NSD_PID")

wait_ready nsd "$NSD_PID" "$NSD_PORT" "$TMP/nsd/stderr.log"

# ---- the proxies ---------------------------------------------------------------
start_dnsgate() { # port: SERVER_PID, METRICS_PORT, CTL
	mkdir -p "$TMP/dnsgate"
	free_port METRICS_PORT
	CTL=$TMP/dnsgate/ctl.sock
	# The defaults, but for the buffer (the same as dnsdist's) and the log.
	cat >"$TMP/dnsgate/dnsgate.conf" <<EOF
; generated by bench/burst.sh
[server]
listen = 127.0.0.1:$1
udp-receive-buffer = $BUFFER
metrics-listen = 127.0.0.1:$METRICS_PORT
control-socket = $CTL

[log]
target = $TMP/dnsgate/dnsgate.log
decisions = none

[upstream main]
server = 127.0.0.1:$NSD_PORT

[view all]
upstream = main
EOF
	"$DNSGATE" -t -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/check.log" 2>&1 || {
		cat "$TMP/dnsgate/check.log" >&2
		die "dnsgate rejects the configuration (above)"
	}
	"${PIN_SERVER[@]}" "$DNSGATE" -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/stderr.log" 2>&1 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/dnsgate/stderr.log
}
start_dnsdist() { # port: SERVER_PID
	mkdir -p "$TMP/dnsdist"
	# One listener (one socket), no cache, no console; the same buffer
	# (setUDPSocketBufferSizes: SO_RCVBUF, capped at net.core.rmem_max).
	cat >"$TMP/dnsdist/dnsdist.conf" <<EOF
-- generated by bench/burst.sh
setLocal('127.0.0.1:$1')
newServer({address='127.0.0.1:$NSD_PORT', checkName='bench.test.', checkType='SOA'})
setSecurityPollSuffix('')
setMaxTCPClientThreads(1)
EOF
	[ "$BUFFER_BYTES" = 0 ] || echo "setUDPSocketBufferSizes($BUFFER_BYTES, 0)" >>"$TMP/dnsdist/dnsdist.conf"
	"$DNSDIST" --check-config -C "$TMP/dnsdist/dnsdist.conf" >"$TMP/dnsdist/check.log" 2>&1 || {
		cat "$TMP/dnsdist/check.log" >&2
		die "dnsdist rejects the configuration (above)"
	}
	"${PIN_SERVER[@]}" "$DNSDIST" --supervised --disable-syslog -C "$TMP/dnsdist/dnsdist.conf" \
		>"$TMP/dnsdist/stderr.log" 2>&1 </dev/null 9>&- &
	SERVER_PID=$!
	SERVER_LOG=$TMP/dnsdist/stderr.log
}

# ---- one run -------------------------------------------------------------------
declare -A R
WARNINGS=()
run() { # name round
	local name=$1 k=$1.$2 port m0="" m1="" d0 d1 n0 n1 o0 o1 rb f0=0 f1=0
	free_port port
	"start_$name" "$port"
	PIDS+=("$SERVER_PID")
	wait_ready "$name" "$SERVER_PID" "$port" "$SERVER_LOG"
	read -r rb d0 < <(udp_mem "$port")
	read -r _ n0 < <(udp_mem "$NSD_PORT")
	o0=$(other_drops "$SERVER_PID" "$port")
	if [ "$name" = dnsgate ]; then
		m0=$(metrics "$METRICS_PORT")
		f0=$(internal "$CTL" inflight_full)
	fi
	note "round $2, $name on 127.0.0.1:$port (CPU $SERVER_CPU, buffer rb=$rb): $QUERIES queries, $OUTSTANDING outstanding from $CLIENTS sockets"
	"${PIN_CLIENT[@]}" timeout $((LIMIT + QTIMEOUT + 30)) "$DNSPERF" -s 127.0.0.1 -p "$port" \
		-d "$TMP/queries.txt" -n 1 -c "$CLIENTS" -q "$OUTSTANDING" -t "$QTIMEOUT" -l "$LIMIT" \
		-b "$CLIENT_BUFFER" >"$TMP/dnsperf-$k.txt" 2>"$TMP/dnsperf-$k.err" &
	PIDS+=("$!")
	wait "$!" || { tail -5 "$TMP/dnsperf-$k.err" >&2; die "dnsperf failed against $name"; }
	kill -0 "$SERVER_PID" 2>/dev/null || die "$name died during the run"
	read -r _ d1 < <(udp_mem "$port")
	read -r _ n1 < <(udp_mem "$NSD_PORT")
	o1=$(other_drops "$SERVER_PID" "$port")
	if [ "$name" = dnsgate ]; then
		m1=$(metrics "$METRICS_PORT")
		f1=$(internal "$CTL" inflight_full)
		R[$k.counted]=$(($(metric "$m1" dnsgate_udp_receive_drops_total) - $(metric "$m0" dnsgate_udp_receive_drops_total)))
		R[$k.inflight_full]=$((f1 - f0))
	fi
	stop_pid "$SERVER_PID"
	cp "$TMP/dnsperf-$k.txt" "$RESULTS_DIR/burst-dnsperf-$name.txt"
	while read -r f v; do R[$k.$f]=$v; done < <(awk '
		/Queries sent:/ { print "sent", $3 } /Queries completed:/ { print "completed", $3 }
		/Queries lost:/ { print "lost", $3 } /Run time \(s\):/ { print "run_s", $4 }
		/Queries per second:/ { print "qps", $4 }' "$TMP/dnsperf-$k.txt")
	R[$k.rb]=$rb
	R[$k.listener_drops]=$((d1 - d0))
	R[$k.nsd_drops]=$((n1 - n0))
	R[$k.other_drops]=$((o1 - o0))
	R[$k.lost_pct]=$(awk -v l="${R[$k.lost]:-0}" -v s="${R[$k.sent]:-0}" 'BEGIN { printf "%.2f", (s > 0 ? 100 * l / s : 0) }')
	[ "${R[$k.sent]:-0}" = "$QUERIES" ] ||
		WARNINGS+=("$name round $2: dnsperf sent ${R[$k.sent]:-0} of $QUERIES queries (BENCH_BURST_SECONDS=$LIMIT too short?)")
	if [ "$name" = dnsgate ] && [ "${R[$k.counted]}" != "${R[$k.listener_drops]}" ]; then
		WARNINGS+=("dnsgate round $2: it counted ${R[$k.counted]} receive drops, the kernel ${R[$k.listener_drops]}")
	fi
}

if grep -q __asan_init "$DNSGATE" 2>/dev/null; then
	WARNINGS+=("$DNSGATE is built with sanitizers: it is slower than a release build")
fi
for r in $(seq "$ROUNDS"); do
	order=$SERVERS
	[ $((r % 2)) = 0 ] && order=$(echo "$SERVERS" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	for s in $order; do run "$s" "$r"; done
done

# ---- report ------------------------------------------------------------------
declare -A LABEL=(
	[rb]="listener buffer (ss rb, bytes)" [sent]="queries sent" [completed]="queries answered"
	[lost]="queries lost (dnsperf)" [lost_pct]="  lost (%)"
	[listener_drops]="dropped by the kernel, listener (ss)"
	[counted]="  as counted by dnsgate (metrics)" [inflight_full]="dropped: max-queries-in-flight"
	[nsd_drops]="dropped by the kernel, nsd (ss)"
	[other_drops]="dropped by the kernel, proxy->nsd (ss)" [qps]="queries/s (dnsperf)" [run_s]="run time (s)"
)
ROWS="rb sent completed lost lost_pct listener_drops counted inflight_full nsd_drops other_drops qps run_s"
{
	printf '\nburst: %s queries, %s outstanding from %s sockets (dnsperf -c %s -q %s -t %s, -b %s KB); listener buffer %s\n' \
		"$QUERIES" "$OUTSTANDING" "$CLIENTS" "$CLIENTS" "$OUTSTANDING" "$QTIMEOUT" "$CLIENT_BUFFER" "$BUFFER"
	printf 'both forward to nsd 127.0.0.1:%s; CPUs: proxy %s, nsd %s, dnsperf %s (of %s); net.core.rmem_max %s\n\n' \
		"$NSD_PORT" "$SERVER_CPU" "$NSD_CPU" "$CLIENT_CPU" "$NCPU" "$(cat /proc/sys/net/core/rmem_max)"
	printf '%-40s' metric
	for r in $(seq "$ROUNDS"); do for s in $SERVERS; do
		h=$s
		[ "$ROUNDS" = 1 ] || h="$s $r"
		printf '%14s' "$h"
	done; done
	printf '\n'
	for m in $ROWS; do
		printf '%-40s' "${LABEL[$m]}"
		for r in $(seq "$ROUNDS"); do for s in $SERVERS; do printf '%14s' "${R[$s.$r.$m]:--}"; done; done
		printf '\n'
	done
	for w in "${WARNINGS[@]}"; do printf 'WARNING: %s\n' "$w"; done
	printf '\n'
} | tee "$TMP/table.txt"

{
	echo "# dnsgate burst bench; key=value; generated by bench/burst.sh; see bench/README.md"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel=$(uname -r)"
	echo "ncpu=$NCPU"
	echo "rmem_max=$(cat /proc/sys/net/core/rmem_max)"
	echo "queries=$QUERIES"
	echo "outstanding=$OUTSTANDING"
	echo "clients=$CLIENTS"
	echo "buffer=$BUFFER"
	echo "client_buffer_kb=$CLIENT_BUFFER"
	echo "timeout=$QTIMEOUT"
	echo "rounds=$ROUNDS"
	echo "dnsperf_version=$("$DNSPERF" -h 2>&1 | awk '/^Version/ { print $2; exit }')"
	case " $SERVERS " in *" dnsgate "*) echo "dnsgate_version=$("$DNSGATE" --version 2>&1 | head -1 | awk '{ print $NF }')" ;; esac
	case " $SERVERS " in *" dnsdist "*) echo "dnsdist_version=$("$DNSDIST" --version 2>&1 | awk 'NR == 1 { print $2 }')" ;; esac
	for s in $SERVERS; do
		for m in $ROWS; do
			v=""
			for r in $(seq "$ROUNDS"); do v="$v${v:+;}${R[$s.$r.$m]:-n/a}"; done
			echo "$s.$m=$v"
		done
	done
	echo "warnings=${#WARNINGS[@]}"
	for i in "${!WARNINGS[@]}"; do echo "warning.$((i + 1))=${WARNINGS[$i]}"; done
} >"$RESULTS_DIR/burst-latest.txt"
cp "$TMP/table.txt" "$RESULTS_DIR/burst-latest-table.txt"
note "results: $RESULTS_DIR/burst-latest.txt (table: burst-latest-table.txt)"
