#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Amplification under a spoofing-style flood, RRL off then on. See bench/README.md
# ("Amplification: bench/amplify.sh").
#
#   bench/amplify.sh                          local-data answer, 20k qps, 10 s per run, 1 source
#   BENCH_AMP_SOURCES=4 bench/amplify.sh      4 dnsperf processes from 4 different /24s
#   BENCH_AMP_MODE=forward bench/amplify.sh   the answer comes from nsd through dnsgate
#
# dnsgate answers one name with a ~1 KB TXT RRset. dnsperf floods it with
# EDNS queries for that name at a fixed rate, from one or more source addresses
# in 127/8 (dnsperf cannot spoof, but -a binds any loopback address, and each
# address in its own /24 is one RRL account, as each victim of a reflection
# attack would be). Counted for each run, RRL off and RRL on:
#   - bytes and packets into and out of dnsgate's port, by nftables counters in
#     a table of our own (out split on the TC bit: slips vs full answers);
#     without nft, dnsperf's counts x its average packet sizes;
#   - dnsgate's /metrics before and after (responses, ratelimit drop/slip);
#   - dnsperf's summary for each source.
# Prints a table and writes bench/results/amplify-latest.txt.
# "A && B || die" means: die when either test fails.
# The metrics request is a bash -c script: its $1 expands there.
# shellcheck disable=SC2015,SC2016
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ---- settings (environment) ------------------------------------------------
MODE=${BENCH_AMP_MODE:-local}             # local (local-data, upstream = none) | forward (to nsd)
QPS=${BENCH_AMP_QPS:-20000}               # offered flood, queries/s, all sources together
SECONDS_RUN=${BENCH_AMP_SECONDS:-10}      # per run
SOURCES=${BENCH_AMP_SOURCES:-1}           # dnsperf processes, source 127.0.N.1 (one /24 each)
RATE=${BENCH_AMP_RATE:-20}                # [ratelimit] responses-per-second when on
SLIP=${BENCH_AMP_SLIP:-2}                 # [ratelimit] slip
WINDOW=${BENCH_AMP_WINDOW:-5}             # [ratelimit] window, seconds
TXT_RECORDS=${BENCH_AMP_TXT_RECORDS:-6}   # 150-byte TXT records in the answer (6: 1015-byte answer)
RUNS=${BENCH_AMP_RUNS:-off on}            # the runs, in this order
SERVER_CPU=${BENCH_SERVER_CPU:-0}         # dnsgate (and nsd in forward mode)
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}         # every dnsperf
DNSGATE=${DNSGATE:-$ROOT/build/dnsgate}
NSD=${NSD:-/usr/sbin/nsd}
DNSPERF=${DNSPERF:-dnsperf}
NFT=${NFT:-nft}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench/results}
KEEP=${BENCH_KEEP:-0}

die() { echo "amplify: error: $*" >&2; exit 1; }
note() { echo "amplify: $*" >&2; }
# need, bench_begin, stop_pid, cleanup, free_port, probe, wait_ready, cpu_ticks,
# cpu_stat, cpu_busy_pct, CLK_TCK
. "$ROOT/bench/lib.sh"

for v in "$QPS" "$SECONDS_RUN" "$SOURCES" "$RATE" "$SLIP" "$WINDOW" "$TXT_RECORDS"; do
	[[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_AMP_QPS, _SECONDS, _SOURCES, _RATE, _SLIP, _WINDOW, _TXT_RECORDS must be integers"
done
case "$MODE" in local | forward) ;; *) die "BENCH_AMP_MODE must be local or forward (got '$MODE')" ;; esac
[ "$SECONDS_RUN" -ge 1 ] && [ "$SECONDS_RUN" -le 120 ] || die "BENCH_AMP_SECONDS must be 1..120"
[ "$SOURCES" -ge 1 ] && [ "$SOURCES" -le 50 ] || die "BENCH_AMP_SOURCES must be 1..50"
[ "$QPS" -ge "$SOURCES" ] && [ "$QPS" -le 200000 ] || die "BENCH_AMP_QPS must be BENCH_AMP_SOURCES..200000"
[ "$RATE" -ge 1 ] && [ "$RATE" -le 1000 ] || die "BENCH_AMP_RATE must be 1..1000"
[ "$SLIP" -le 10 ] || die "BENCH_AMP_SLIP must be 0..10"
[ "$WINDOW" -ge 1 ] && [ "$WINDOW" -le 3600 ] || die "BENCH_AMP_WINDOW must be 1..3600"
[ "$TXT_RECORDS" -ge 1 ] && [ "$TXT_RECORDS" -le 7 ] || die "BENCH_AMP_TXT_RECORDS must be 1..7 (the answer must fit 1232 bytes)"
for r in $RUNS; do case "$r" in off | on) ;; *) die "BENCH_AMP_RUNS: 'off' and/or 'on' (got '$r')" ;; esac; done
[ -n "$RUNS" ] || die "BENCH_AMP_RUNS is empty"

# ---- tools -------------------------------------------------------------------
need "$DNSPERF" dnsperf
need taskset util-linux
need ss iproute2
need awk mawk
[ "$MODE" = forward ] && need "$NSD" nsd
[ -x "$DNSGATE" ] || die "$DNSGATE not built: run 'make' first"

bench_pin_cpus "dnsperf and dnsgate"

# The same lock as bench/run.sh: two benchmarks at once would measure each other.
bench_begin amplify

# ---- the nft table counting what goes through (removed at exit) ----------
NFT_TABLE=dnsgate_amplify_$$
NFT_ON=0
nft_drop() { [ "$NFT_ON" = 1 ] && "$NFT" delete table inet "$NFT_TABLE" 2>/dev/null || true; }
bench_exit_hook() { nft_drop; }

# metrics PORT: dnsgate's /metrics (bash's /dev/tcp: no curl needed), bounded to 5 s.
metrics() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' _ "$1" 2>/dev/null || true
}
# metric_sum TEXT NAME [LABEL-FILTER]: the sum of the samples of NAME (whose labels contain FILTER).
metric_sum() {
	awk -v n="$2" -v f="${3:-}" '
		/^#/ { next } { k = $1; sub(/[{].*/, "", k) }
		k == n && index($1, f) { s += $NF } END { printf "%.0f\n", s }' <<<"$1"
}

# ---- the answer: TXT_RECORDS records of 150 bytes each ----------------------
QNAME=amp.bench.test
txt_records() { # prefix for each line ("local-data = " or "")
	awk -v n="$TXT_RECORDS" -v p="$1" -v q="$QNAME" 'BEGIN {
		for (i = 0; i < n; i++) {
			s = ""; for (j = 0; j < 150; j++) s = s sprintf("%c", 97 + (i + j) % 26)
			printf "%s%s. 300 IN TXT \"%s\"\n", p, q, s
		}
	}'
}
echo "$QNAME TXT" >"$TMP/queries.txt"

# ---- nsd (forward mode only) -----------------------------------------------
NSD_PORT=""
if [ "$MODE" = forward ]; then
	free_port NSD_PORT
	mkdir -p "$TMP/nsd"
	{
		bench_zone_head
		txt_records ""
	} >"$TMP/bench.test.zone"
	{
		nsd_server_conf
		cat <<EOF
remote-control:
	control-enable: no
zone:
	name: bench.test.
	zonefile: "$TMP/bench.test.zone"
EOF
	} >"$TMP/nsd/nsd.conf"
	"${PIN_SERVER[@]}" "$NSD" -d -c "$TMP/nsd/nsd.conf" >"$TMP/nsd/stderr.log" 2>&1 9>&- &
	NSD_PID=$!
	PIDS+=("$NSD_PID")
fi

[ "$MODE" = forward ] && wait_ready nsd "$NSD_PID" "$NSD_PORT" "$TMP/nsd/nsd.log" "$QNAME" TXT

# ---- dnsgate -----------------------------------------------------------------
dnsgate_conf() { # port metrics-port rrl(off|on)
	cat <<EOF
; generated by bench/amplify.sh
[server]
listen = 127.0.0.1:$1
metrics-listen = 127.0.0.1:$2
workers = 1

[log]
target = $TMP/dnsgate/dnsgate.log
decisions = none

EOF
	if [ "$MODE" = forward ]; then
		printf '[upstream main]\nserver = 127.0.0.1:%s\n\n[view all]\nupstream = main\n' "$NSD_PORT"
	else
		printf '[view all]\nupstream = none\n'
		txt_records "local-data = "
	fi
	if [ "$3" = on ]; then
		printf '\n[ratelimit]\nresponses-per-second = %s\nslip = %s\nwindow = %ss\n' "$RATE" "$SLIP" "$WINDOW"
	fi
}

# ---- nftables counters --------------------------------------------------------
# nft_setup PORT: a table of our own with named counters on dnsgate's port.
# Input hook, dport = PORT: queries reaching dnsgate. Output hook, sport = PORT:
# what dnsgate sends, split on the TC bit (bit 86 from the UDP header: flags
# byte 2 of the DNS header, mask 0x02). nft counts IP bytes (20 + 8 + DNS).
nft_setup() {
	local p=$1
	NFT_ON=0
	command -v "$NFT" >/dev/null 2>&1 || return 1
	"$NFT" -f - 2>"$TMP/nft.err" <<EOF || { nft_drop; return 1; }
table inet $NFT_TABLE {
	counter q_in { }
	counter r_out { }
	counter r_tc { }
	counter r_full { }
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport $p counter name q_in
	}
	chain out {
		type filter hook output priority 0; policy accept;
		udp sport $p counter name r_out
		udp sport $p @th,80,8 & 0x2 == 0x2 counter name r_tc
		udp sport $p @th,80,8 & 0x2 == 0x0 counter name r_full
	}
}
EOF
	NFT_ON=1
}
nft_read() { # counter: "packets bytes"
	"$NFT" list counter inet "$NFT_TABLE" "$1" | awk '$1 == "packets" { print $2, $4 }'
}

# ---- one run -------------------------------------------------------------------
declare -A R
WARNINGS=()
run() { # off|on
	local rrl=$1 port mport i src per m0 m1 t0 t1 ticks0 ticks1 stat0 stat1 pids=() f k n l p b
	free_port port
	free_port mport
	mkdir -p "$TMP/dnsgate"
	dnsgate_conf "$port" "$mport" "$rrl" >"$TMP/dnsgate/$rrl.conf"
	"$DNSGATE" -t -c "$TMP/dnsgate/$rrl.conf" >"$TMP/dnsgate/check.log" 2>&1 || {
		cat "$TMP/dnsgate/check.log" >&2
		die "dnsgate rejects the configuration (above)"
	}
	note "RRL $rrl: dnsgate on 127.0.0.1:$port (CPU $SERVER_CPU), $MODE answer"
	"${PIN_SERVER[@]}" "$DNSGATE" -c "$TMP/dnsgate/$rrl.conf" >"$TMP/dnsgate/stderr-$rrl.log" 2>&1 9>&- &
	local pid=$!
	PIDS+=("$pid")
	wait_ready dnsgate "$pid" "$port" "$TMP/dnsgate/stderr-$rrl.log" "$QNAME" TXT
	R[$rrl.bytes_answer]=$(echo "$QNAME TXT" | "$DNSPERF" -s 127.0.0.1 -p "$port" -e -n 1 -t 1 2>/dev/null |
		awk '/Average packet size/ { sub(/,/, "", $5); print $7 }')
	if nft_setup "$port"; then R[$rrl.counted_by]=nftables; else
		R[$rrl.counted_by]=dnsperf
		[ "$rrl" = "${RUNS%% *}" ] && note "nft unavailable ($(head -1 "$TMP/nft.err" 2>/dev/null || echo "not installed: package nftables")): bytes from dnsperf's counts x average sizes"
	fi
	m0=$(metrics "$mport")
	[ -n "$m0" ] || die "no /metrics from dnsgate on 127.0.0.1:$mport"

	per=$((QPS / SOURCES))
	note "RRL $rrl: ${SECONDS_RUN}s flood, $SOURCES source(s) x $per qps (CPU $CLIENT_CPU)"
	ticks0=$(cpu_ticks "$pid")
	stat0=$(cpu_stat)
	t0=$(date +%s.%N)
	for i in $(seq "$SOURCES"); do
		src=127.0.$i.1
		# -e: EDNS (4 KB buffer), as an attacker would ask, or the answer would be
		# truncated at 512 bytes. -q: a second's worth in flight, so that dropped
		# queries (timed out after 1 s) never hold the rate back.
		"${PIN_CLIENT[@]}" timeout $((SECONDS_RUN + 30)) "$DNSPERF" -s 127.0.0.1 -p "$port" -a "$src" \
			-d "$TMP/queries.txt" -e -Q "$per" -l "$SECONDS_RUN" -c 10 -q $((per + 100)) -t 1 \
			>"$TMP/dnsperf-$rrl-$i.txt" 2>"$TMP/dnsperf-$rrl-$i.err" &
		pids+=("$!")
		PIDS+=("$!")
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { tail -5 "$TMP/dnsperf-$rrl-$((i + 1)).err" >&2; die "dnsperf (source $((i + 1))) failed"; }
	done
	t1=$(date +%s.%N)
	stat1=$(cpu_stat)
	ticks1=$(cpu_ticks "$pid")
	sleep 0.2 # the last answers leave
	m1=$(metrics "$mport")
	kill -0 "$pid" 2>/dev/null || die "dnsgate died during the run"
	if [ "$NFT_ON" = 1 ]; then
		for f in "in q_in" "out r_out" "tc r_tc" "full r_full"; do
			read -r k n <<<"$f"
			read -r p b < <(nft_read "$n")
			R[$rrl.pkts_$k]=$p
			R[$rrl.ipbytes_$k]=$b
		done
		nft_drop
		NFT_ON=0
	fi
	stop_pid "$pid"
	cp "$TMP/dnsperf-$rrl-1.txt" "$RESULTS_DIR/amplify-dnsperf-$rrl.txt"

	# dnsperf: sums over the sources; bytes = count x average size (rounded by dnsperf).
	for f in sent completed lost bytes_q bytes_r; do R[$rrl.dp_$f]=0; done
	R[$rrl.flood_s]=0
	for i in $(seq "$SOURCES"); do
		while read -r k v; do
			if [ "$k" = run_ms ]; then
				[ "$v" -le "${R[$rrl.flood_s]}" ] || R[$rrl.flood_s]=$v
			else R[$rrl.dp_$k]=$((${R[$rrl.dp_$k]} + v)); fi
		done < <(awk '
			/Queries sent:/ { s = $3 } /Queries completed:/ { c = $3 } /Queries lost:/ { l = $3 }
			/Average packet size:/ { gsub(/,/, ""); rq = $5; rs = $7 }
			/Run time \(s\):/ { t = $4 }
			END { printf "sent %d\ncompleted %d\nlost %d\n", s, c, l
			      printf "bytes_q %d\nbytes_r %d\nrun_ms %d\n", s * rq, c * rs, t * 1000 }' "$TMP/dnsperf-$rrl-$i.txt")
	done
	R[$rrl.wall_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	# The flood's duration: dnsperf's run time (the longest source), without the
	# 1 s it then waits for the last answers. Rates are per second of flood.
	R[$rrl.flood_s]=$(awk -v ms="${R[$rrl.flood_s]}" -v d="$SECONDS_RUN" 'BEGIN { printf "%.2f", (ms > 0 ? ms / 1000 : d) }')
	R[$rrl.cpu_pct]=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$CLK_TCK" -v w="${R[$rrl.flood_s]}" \
		'BEGIN { printf "%.0f", 100 * (b - a) / hz / w }')
	R[$rrl.server_cpu_busy_pct]=$(cpu_busy_pct "$stat0" "$stat1" "$SERVER_CPU")
	R[$rrl.client_cpu_busy_pct]=$(cpu_busy_pct "$stat0" "$stat1" "$CLIENT_CPU")
	# dnsgate's own counters, deltas over the run.
	for f in "queries dnsgate_queries_total proto=\"udp\"" "responses dnsgate_responses_total" \
		"rl_drop dnsgate_ratelimit_total drop" "rl_slip dnsgate_ratelimit_total slip" \
		"upstream dnsgate_upstream_queries_total"; do
		read -r k n l <<<"$f"
		R[$rrl.m_$k]=$(($(metric_sum "$m1" "$n" "${l:-}") - $(metric_sum "$m0" "$n" "${l:-}")))
	done
	R[$rrl.m_full]=$((R[$rrl.m_responses] - R[$rrl.m_rl_slip]))

	# The figures: nft's when there, else dnsperf's (in) and dnsgate's (out split).
	if [ "${R[$rrl.counted_by]}" = nftables ]; then
		R[$rrl.q_in]=${R[$rrl.pkts_in]}
		R[$rrl.r_out]=${R[$rrl.pkts_out]}
		R[$rrl.r_full]=${R[$rrl.pkts_full]}
		R[$rrl.r_tc]=${R[$rrl.pkts_tc]}
		R[$rrl.bytes_in]=$((R[$rrl.ipbytes_in] - 28 * R[$rrl.pkts_in]))
		R[$rrl.bytes_out]=$((R[$rrl.ipbytes_out] - 28 * R[$rrl.pkts_out]))
	else
		R[$rrl.q_in]=${R[$rrl.dp_sent]}
		R[$rrl.r_out]=${R[$rrl.dp_completed]}
		R[$rrl.r_full]=${R[$rrl.m_full]}
		R[$rrl.r_tc]=${R[$rrl.m_rl_slip]}
		R[$rrl.bytes_in]=${R[$rrl.dp_bytes_q]}
		R[$rrl.bytes_out]=${R[$rrl.dp_bytes_r]}
		R[$rrl.ipbytes_in]=$((R[$rrl.bytes_in] + 28 * R[$rrl.q_in]))
		R[$rrl.ipbytes_out]=$((R[$rrl.bytes_out] + 28 * R[$rrl.r_out]))
	fi
	R[$rrl.dropped]=$((R[$rrl.q_in] - R[$rrl.r_out]))
	# Queries the kernel delivered to the IP layer but dnsgate never read
	# (its socket buffer was full: dnsgate fell behind). Only nft sees them.
	[ "${R[$rrl.counted_by]}" = nftables ] && R[$rrl.not_read]=$((R[$rrl.q_in] - R[$rrl.m_queries]))
	R[$rrl.amp]=$(awk -v o="${R[$rrl.bytes_out]}" -v i="${R[$rrl.bytes_in]}" 'BEGIN { printf "%.2f", (i > 0 ? o / i : 0) }')
	R[$rrl.amp_ip]=$(awk -v o="${R[$rrl.ipbytes_out]}" -v i="${R[$rrl.ipbytes_in]}" 'BEGIN { printf "%.2f", (i > 0 ? o / i : 0) }')
	R[$rrl.qps_in]=$(awk -v q="${R[$rrl.q_in]}" -v w="${R[$rrl.flood_s]}" 'BEGIN { printf "%.0f", q / w }')
	R[$rrl.full_ps]=$(awk -v q="${R[$rrl.r_full]}" -v w="${R[$rrl.flood_s]}" 'BEGIN { printf "%.1f", q / w }')
	R[$rrl.full_ps_account]=$(awk -v q="${R[$rrl.r_full]}" -v w="${R[$rrl.flood_s]}" -v n="$SOURCES" \
		'BEGIN { printf "%.1f", q / w / n }')
	R[$rrl.mbit_out]=$(awk -v b="${R[$rrl.ipbytes_out]}" -v w="${R[$rrl.flood_s]}" 'BEGIN { printf "%.1f", 8 * b / w / 1e6 }')

	# Checks.
	if [ "$rrl" = on ]; then
		# An account holds at most RATE credits and earns RATE a second: over
		# the run it can send at most RATE x (1 + seconds) full answers.
		R[$rrl.full_max]=$(awk -v r="$RATE" -v w="${R[$rrl.flood_s]}" -v n="$SOURCES" \
			'BEGIN { printf "%d", n * r * (1 + w) }')
		if [ "${R[$rrl.r_full]}" -le "${R[$rrl.full_max]}" ]; then R[$rrl.cap_ok]=yes; else
			R[$rrl.cap_ok]=NO
			WARNINGS+=("RRL on: ${R[$rrl.r_full]} full answers, more than the cap of ${R[$rrl.full_max]} ($SOURCES account(s) x $RATE/s x (1 + ${R[$rrl.flood_s]} s))")
		fi
	else
		[ "${R[$rrl.dropped]}" -le $((R[$rrl.q_in] / 1000)) ] ||
			WARNINGS+=("RRL off: ${R[$rrl.dropped]} of ${R[$rrl.q_in]} queries got no answer (> 0.1 %): dnsgate (CPU $SERVER_CPU) did not keep up")
		[ "${R[$rrl.r_tc]}" = 0 ] || WARNINGS+=("RRL off: ${R[$rrl.r_tc]} answers had TC=1")
	fi
	local sent_rate
	sent_rate=$(awk -v s="${R[$rrl.dp_sent]}" -v w="$SECONDS_RUN" 'BEGIN { printf "%d", s / w }')
	[ "$sent_rate" -ge $((QPS * 9 / 10)) ] ||
		WARNINGS+=("RRL $rrl: dnsperf sent only $sent_rate queries/s of the $QPS asked (CPU $CLIENT_CPU busy?)")
	if [ "${R[$rrl.counted_by]}" = nftables ] && [ "${R[$rrl.m_full]}" != "${R[$rrl.r_full]}" ]; then
		WARNINGS+=("RRL $rrl: nftables counted ${R[$rrl.r_full]} full answers, dnsgate's metrics ${R[$rrl.m_full]}")
	fi
}

if grep -q __asan_init "$DNSGATE" 2>/dev/null; then
	WARNINGS+=("$DNSGATE is built with sanitizers: its CPU figures mean nothing (make clean && make)")
fi
s0=$(cpu_stat); sleep 1; s1=$(cpu_stat)
for c in $(printf '%s\n' "$SERVER_CPU" "$CLIENT_CPU" | sort -u); do
	b=$(cpu_busy_pct "$s0" "$s1" "$c")
	IDLE_BUSY="${IDLE_BUSY:-}cpu$c=$b% "
	[ "$b" != n/a ] && [ "$b" -gt 10 ] && WARNINGS+=("CPU $c was $b% busy before the benchmark started: other load distorts the figures")
done

for r in $RUNS; do run "$r"; done

# ---- report ------------------------------------------------------------------
declare -A LABEL=(
	[bytes_answer]="full answer size (bytes, DNS)"
	[q_in]="queries in (packets)" [qps_in]="queries in per second" [r_out]="responses out (packets)"
	[r_full]="  full answers" [r_tc]="  TC=1 slips" [dropped]="queries dropped (no response)"
	[bytes_in]="bytes in (DNS payload)" [bytes_out]="bytes out (DNS payload)"
	[amp]="bytes out / bytes in (DNS)" [amp_ip]="bytes out / bytes in (IP)"
	[mbit_out]="Mbit/s out (IP)"
	[full_ps]="full answers per second" [full_ps_account]="  per account (per source /24)"
	[full_max]="  cap: rate x (1 + s) x accts" [cap_ok]="  within the cap"
	[m_rl_drop]="metrics: ratelimit drop" [m_rl_slip]="metrics: ratelimit slip" [m_full]="metrics: full answers"
	[m_upstream]="metrics: upstream queries" [m_queries]="metrics: queries read"
	[not_read]="  lost unread (socket buffer)"
	[cpu_pct]="dnsgate CPU (% of a core, flood)"
	[server_cpu_busy_pct]="CPU $SERVER_CPU busy (%)" [client_cpu_busy_pct]="CPU $CLIENT_CPU busy (%)"
	[dp_sent]="dnsperf: sent" [dp_completed]="dnsperf: answered" [dp_lost]="dnsperf: lost"
	[wall_s]="run time incl. 1 s tail (s)" [flood_s]="flood duration (s)"
)
ROWS="bytes_answer q_in qps_in r_out r_full r_tc dropped bytes_in bytes_out amp amp_ip mbit_out full_ps full_ps_account full_max cap_ok m_queries not_read m_full m_rl_slip m_rl_drop"
[ "$MODE" = forward ] && ROWS="$ROWS m_upstream"
ROWS="$ROWS dp_sent dp_completed dp_lost cpu_pct server_cpu_busy_pct client_cpu_busy_pct flood_s wall_s"
{
	printf '\ndnsgate amplification: %s qps of "%s TXT" (EDNS) for %s s, from %s source(s) (127.0.1.1%s, one /24 each)\n' \
		"$QPS" "$QNAME" "$SECONDS_RUN" "$SOURCES" "$([ "$SOURCES" -gt 1 ] && echo "..127.0.$SOURCES.1")"
	printf 'answer: %s x 150-byte TXT, %s; RRL on = responses-per-second %s, slip %s, window %ss (per /24)\n' \
		"$TXT_RECORDS" "$([ "$MODE" = forward ] && echo "forwarded from nsd" || echo "local-data, upstream = none")" \
		"$RATE" "$SLIP" "$WINDOW"
	printf 'counted by: %s; CPUs: dnsgate%s on %s, dnsperf on %s (of %s); idle check: %s\n\n' \
		"${R[${RUNS%% *}.counted_by]}" "$([ "$MODE" = forward ] && echo " + nsd")" "$SERVER_CPU" "$CLIENT_CPU" "$NCPU" "${IDLE_BUSY% }"
	printf '%-34s' metric
	for r in $RUNS; do printf '%14s' "RRL $r"; done
	printf '\n'
	for m in $ROWS; do
		printf '%-34s' "${LABEL[$m]}"
		for r in $RUNS; do printf '%14s' "${R[$r.$m]:--}"; done
		printf '\n'
	done
	for w in "${WARNINGS[@]}"; do printf 'WARNING: %s\n' "$w"; done
	printf '\n'
} | tee "$TMP/table.txt"

{
	echo "# dnsgate amplification bench; key=value; generated by bench/amplify.sh; see bench/README.md"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel=$(uname -r)"
	echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "ncpu=$NCPU"
	echo "busy_before_start=${IDLE_BUSY% }"
	echo "mode=$MODE"
	echo "qps=$QPS"
	echo "seconds=$SECONDS_RUN"
	echo "sources=$SOURCES"
	echo "rate=$RATE"
	echo "slip=$SLIP"
	echo "window=$WINDOW"
	echo "txt_records=$TXT_RECORDS"
	echo "runs=$RUNS"
	echo "dnsperf_version=$("$DNSPERF" -h 2>&1 | awk '/^Version/ { print $2; exit }')"
	echo "dnsgate_version=$("$DNSGATE" --version 2>&1 | head -1 | awk '{ print $NF }')"
	for r in $RUNS; do
		for m in counted_by $ROWS ipbytes_in ipbytes_out dp_bytes_q dp_bytes_r m_responses; do
			echo "rrl_$r.$m=${R[$r.$m]:-n/a}"
		done
	done
	echo "warnings=${#WARNINGS[@]}"
	for i in "${!WARNINGS[@]}"; do echo "warning.$((i + 1))=${WARNINGS[$i]}"; done
} >"$RESULTS_DIR/amplify-latest.txt"
cp "$TMP/table.txt" "$RESULTS_DIR/amplify-latest-table.txt"
note "results: $RESULTS_DIR/amplify-latest.txt (table: amplify-latest-table.txt)"
