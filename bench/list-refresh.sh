#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A blocklist refreshed under load: dnsgate downloads a big list from a
# local HTTP server at every [lists] refresh, a changed one each time, while
# dnsperf sends a fixed rate of queries through it. Did any query get lost,
# and what did the swaps do to latency? See bench/README.md ("List refresh
# under load: bench/list-refresh.sh").
#
#   bench/list-refresh.sh                          200,000 names, 10,000 q/s for 20 s, refresh 3 s
#   BENCH_LR_ENTRIES=1000000 bench/list-refresh.sh a bigger list
#   BENCH_LR_QPS=20000 bench/list-refresh.sh       another fixed rate
#
# One nsd (bench.test., RRL off) on 127.0.0.1; python's http.server serving
# the list (plain domains: block-N.bench.test); dnsgate forwarding to nsd,
# its one view with `blocklist = http://127.0.0.1:PORT/big.txt` and
# `[lists] refresh = BENCH_LR_REFRESH`. The list on the server is replaced
# (rename) by a changed one every refresh, so every download is a new list
# that dnsgate parses, indexes and swaps in. dnsperf -Q sends QPS queries a
# second, 5 % of them for listed names, -v so that each answer's latency is
# known. Counted: sent, completed, lost (dnsperf: no answer within 2 s);
# swaps during the run (dnsgate's log); latency percentiles over the run,
# inside the windows around the swaps and outside them.
# Prints a table and writes bench/results/list-refresh-latest.txt.
# "A && B || die" means: die when either test fails.
# shellcheck disable=SC2015,SC2016
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ---- settings (environment) ------------------------------------------------
SECONDS_RUN=${BENCH_LR_SECONDS:-20}      # dnsperf -l: the measured run
QPS=${BENCH_LR_QPS:-10000}               # dnsperf -Q: the fixed rate
ENTRIES=${BENCH_LR_ENTRIES:-200000}      # names on the list
REFRESH=${BENCH_LR_REFRESH:-3}           # [lists] refresh, seconds
WINDOW_MS=${BENCH_LR_WINDOW_MS:-500}     # a swap's window: this long before its download ends, and after it is in use
WORKERS=${BENCH_LR_WORKERS:-1}           # dnsgate [server] workers
NAMES=300                                # names in the zone
SERVER_CPU=${BENCH_SERVER_CPU:-0}        # dnsgate (all its threads)
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}        # dnsperf, and the HTTP server
NSD_CPU=${BENCH_NSD_CPU:-0}              # nsd
DNSGATE=${DNSGATE:-$ROOT/build/dnsgate}
NSD=${NSD:-/usr/sbin/nsd}
DNSPERF=${DNSPERF:-dnsperf}
PYTHON=${PYTHON:-/usr/bin/python3}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench/results}
KEEP=${BENCH_KEEP:-0}

die() { echo "list-refresh: error: $*" >&2; exit 1; }
note() { echo "list-refresh: $*" >&2; }
# need, bench_begin, stop_pid, cleanup, free_port, probe, wait_ready
. "$ROOT/bench/lib.sh"

for v in "$SECONDS_RUN" "$QPS" "$ENTRIES" "$REFRESH" "$WINDOW_MS" "$WORKERS"; do
	[[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_LR_SECONDS, _QPS, _ENTRIES, _REFRESH, _WINDOW_MS, _WORKERS must be integers"
done
[ "$SECONDS_RUN" -ge 5 ] && [ "$SECONDS_RUN" -le 300 ] || die "BENCH_LR_SECONDS must be 5..300"
[ "$QPS" -ge 100 ] && [ "$QPS" -le 200000 ] || die "BENCH_LR_QPS must be 100..200000"
[ "$ENTRIES" -ge 1000 ] && [ "$ENTRIES" -le 2000000 ] || die "BENCH_LR_ENTRIES must be 1000..2000000"
[ "$REFRESH" -ge 2 ] && [ "$REFRESH" -le 60 ] || die "BENCH_LR_REFRESH must be 2..60 (2 s is [lists] refresh's minimum)"
[ "$WINDOW_MS" -ge 1 ] && [ "$WINDOW_MS" -le 10000 ] || die "BENCH_LR_WINDOW_MS must be 1..10000"
[ "$WORKERS" -ge 1 ] && [ "$WORKERS" -le 64 ] || die "BENCH_LR_WORKERS must be 1..64"

need "$DNSPERF" dnsperf
need "$NSD" nsd
need "$PYTHON" python3
need taskset util-linux
need ss iproute2
need awk mawk
[ -x "$DNSGATE" ] || die "$DNSGATE not built: run 'make' first"

bench_pin_cpus "dnsperf, nsd and dnsgate"

# The same lock as the other benchmarks: two at once would measure each other.
bench_begin list-refresh

# in_use: how many times dnsgate has swapped a downloaded list in.
in_use() { grep -c 'lists downloaded are in use' "$TMP/dnsgate/dnsgate.log" 2>/dev/null || true; }
# epoch_ms "2026-12-07T18:36:13.840Z": milliseconds since the epoch.
epoch_ms() { date -u -d "$1" +%s%3N; }

# ---- nsd ---------------------------------------------------------------------
free_port NSD_PORT
mkdir -p "$TMP/nsd"
{
	bench_zone_head
	awk -v n="$NAMES" 'BEGIN { for (i = 1; i <= n; i++) printf "host%d IN A 10.0.%d.%d\n", i, int(i / 256), i % 256 }'
} >"$TMP/bench.test.zone"
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

# ---- the list and its HTTP server -----------------------------------------------
mkdir -p "$TMP/www"
awk -v n="$ENTRIES" 'BEGIN { print "# bench/list-refresh.sh"; for (i = 1; i <= n; i++) printf "block-%d.bench.test\n", i }' \
	>"$TMP/list.base"
LIST_BYTES=$(wc -c <"$TMP/list.base")
# publish K: the list on the server becomes the base plus one marker line
# (a changed list), replaced in one rename as a mirror would.
publish() {
	{ cat "$TMP/list.base"; echo "marker-$1.bench.test"; } >"$TMP/www/.big.txt.new"
	mv "$TMP/www/.big.txt.new" "$TMP/www/big.txt"
}
publish 0
free_port HTTP_PORT
"${PIN_CLIENT[@]}" "$PYTHON" -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$TMP/www" \
	>"$TMP/http.log" 2>&1 9>&- &
PIDS+=("$!")
for _ in $(seq 50); do
	[ -n "$(ss -Htln "sport = :$HTTP_PORT" 2>/dev/null)" ] && break
	sleep 0.1
done

# ---- dnsgate -------------------------------------------------------------------
free_port DNSGATE_PORT
free_port METRICS_PORT
mkdir -p "$TMP/dnsgate"
cat >"$TMP/dnsgate/dnsgate.conf" <<EOF
; generated by bench/list-refresh.sh
[server]
listen = 127.0.0.1:$DNSGATE_PORT
workers = $WORKERS
metrics-listen = 127.0.0.1:$METRICS_PORT

[log]
target = $TMP/dnsgate/dnsgate.log
decisions = none

[lists]
cache-dir = $TMP/dnsgate/lists
refresh = ${REFRESH}s

[upstream main]
server = 127.0.0.1:$NSD_PORT

[view all]
upstream = main
blocklist = http://127.0.0.1:$HTTP_PORT/big.txt
EOF
"$DNSGATE" -t -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/check.log" 2>&1 || {
	cat "$TMP/dnsgate/check.log" >&2
	die "dnsgate rejects the benchmark configuration (above)"
}
"${PIN_SERVER[@]}" "$DNSGATE" -c "$TMP/dnsgate/dnsgate.conf" >"$TMP/dnsgate/stderr.log" 2>&1 9>&- &
DNSGATE_PID=$!
PIDS+=("$DNSGATE_PID")
wait_ready dnsgate "$DNSGATE_PID" "$DNSGATE_PORT" "$TMP/dnsgate/stderr.log"
for _ in $(seq 300); do
	[ "$(in_use)" -ge 1 ] && break
	kill -0 "$DNSGATE_PID" 2>/dev/null || die "dnsgate exited (see $TMP/dnsgate)"
	sleep 0.1
done
[ "$(in_use)" -ge 1 ] || { tail -5 "$TMP/dnsgate/dnsgate.log" >&2; die "the first download of the list was not in use after 30 s"; }
got=$(echo "block-1.bench.test A" | timeout 5 "$DNSPERF" -s 127.0.0.1 -p "$DNSGATE_PORT" -n 1 -t 1 2>/dev/null |
	awk '/NXDOMAIN/ { print "NXDOMAIN" }')
[ "$got" = NXDOMAIN ] || die "block-1.bench.test is not blocked after the first download"
note "list of $ENTRIES names ($LIST_BYTES bytes) in use; dnsgate on CPU $SERVER_CPU, nsd on CPU $NSD_CPU, dnsperf on CPU $CLIENT_CPU"

# ---- the run ---------------------------------------------------------------------
# Queries: host1..300 A (forwarded to nsd) and, one in 20, a listed name
# (answered NXDOMAIN by dnsgate), spread over the list.
awk -v n="$NAMES" -v e="$ENTRIES" 'BEGIN {
	for (i = 0; i < 20000; i++)
		if (i % 20 == 19) printf "block-%d.bench.test A\n", (i * 7919) % e + 1
		else printf "host%d.bench.test A\n", i % n + 1
}' >"$TMP/queries.txt"
SWAPS0=$(in_use)
# Change the list once per refresh while dnsperf runs, so that every
# download during the run is a new list.
(
	k=1
	while :; do
		sleep "$REFRESH"
		publish "$k"
		k=$((k + 1))
	done
) 9>&- &
PUBLISHER=$!
PIDS+=("$PUBLISHER")
START_MS=$(date +%s%3N)
"${PIN_CLIENT[@]}" "$DNSPERF" -s 127.0.0.1 -p "$DNSGATE_PORT" -d "$TMP/queries.txt" -c 4 -q 1000 \
	-Q "$QPS" -l "$SECONDS_RUN" -t 2 -v >"$TMP/dnsperf.txt" 2>"$TMP/dnsperf.err" 9>&- ||
	{ cat "$TMP/dnsperf.err" >&2; die "dnsperf failed"; }
END_MS=$(date +%s%3N)
stop_pid "$PUBLISHER"

# ---- what happened ---------------------------------------------------------------
sent=$(awk '/Queries sent:/ { print $3 }' "$TMP/dnsperf.txt")
completed=$(awk '/Queries completed:/ { print $3 }' "$TMP/dnsperf.txt")
lost=$(awk '/Queries lost:/ { print $3 }' "$TMP/dnsperf.txt")
[ -n "$sent" ] && [ -n "$lost" ] || die "no dnsperf summary in $TMP/dnsperf.txt"
# The swaps during the run: each window runs from WINDOW_MS before the
# download was logged (the fetcher thread parsed it just before) to
# WINDOW_MS after the rebuilt index was in use.
: >"$TMP/windows.txt"
grep -E 'list http://[^ ]*: downloaded|lists downloaded are in use' "$TMP/dnsgate/dnsgate.log" |
	sed -E 's/^\{"ts":"([^"]*)".*"msg":"(list|view) .*$/\1 \2/' >"$TMP/swap-lines.txt" || true
down=""
while read -r ts kind; do
	ms=$(epoch_ms "$ts")
	if [ "$kind" = list ]; then
		down=$ms
	elif [ -n "$down" ] && [ "$ms" -ge "$START_MS" ] && [ "$down" -le "$END_MS" ]; then
		echo "$((down - WINDOW_MS - START_MS)) $((ms + WINDOW_MS - START_MS)) $((ms - down))" >>"$TMP/windows.txt"
		down=""
	fi
done <"$TMP/swap-lines.txt"
SWAPS=$(wc -l <"$TMP/windows.txt")
# Each answer's latency, in completion order ("> RCODE NAME TYPE SECONDS"); the
# i-th answer of n completed at about START + i * (END - START) / n (a fixed
# rate: at 10,000 q/s, within a few ms).
awk -v wins="$TMP/windows.txt" -v span="$((END_MS - START_MS))" '
	BEGIN { while ((getline line < wins) > 0) { split(line, f, " "); nw++; ws[nw] = f[1]; we[nw] = f[2] } }
	/^> / && $2 != "T" && NF >= 5 { n++; lat[n] = $NF * 1000 }
	END {
		for (i = 1; i <= n; i++) {
			t = i * span / n; inside = 0
			for (k = 1; k <= nw; k++) if (t >= ws[k] && t <= we[k]) { inside = 1; break }
			print lat[i], inside
		}
	}' "$TMP/dnsperf.txt" >"$TMP/latencies.txt"
pct() { # P FILTER(all|in|out): the P-th percentile (ms) of the latencies
	awk -v f="$2" '(f == "all") || (f == "in" && $2 == 1) || (f == "out" && $2 == 0) { print $1 }' "$TMP/latencies.txt" |
		sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.3f\n", v[i] }'
}
count() { awk -v f="$1" '(f == "in" && $2 == 1) || (f == "out" && $2 == 0)' "$TMP/latencies.txt" | wc -l; }
BUILD_MS=$(awk '{ s += $3 } END { if (NR) printf "%.0f", s / NR; else print "n/a" }' "$TMP/windows.txt")
SWAPS_ALL=$(($(in_use) - SWAPS0))

{
	printf 'list-refresh: %s names (%s bytes), refresh %ss, %s q/s for %ss, %s worker(s), %s\n' \
		"$ENTRIES" "$LIST_BYTES" "$REFRESH" "$QPS" "$SECONDS_RUN" "$WORKERS" "$(date -u +%Y-%m-%dT%H:%MZ)"
	printf '%-34s %s\n' "queries sent / completed / lost" "$sent / $completed / $lost"
	printf '%-34s %s (windows of %s ms around each; %s swaps in all)\n' "swaps during the run" "$SWAPS" "$WINDOW_MS" "$SWAPS_ALL"
	printf '%-34s %s ms\n' "download logged to in use (mean)" "$BUILD_MS"
	printf '%-34s %s\n' "answers inside / outside windows" "$(count in) / $(count out)"
	printf '%-34s %s / %s / %s ms\n' "p50 / p99 / max, whole run" "$(pct 50 all)" "$(pct 99 all)" "$(pct 100 all)"
	printf '%-34s %s / %s / %s ms\n' "p50 / p99 / max, during swaps" "$(pct 50 in)" "$(pct 99 in)" "$(pct 100 in)"
	printf '%-34s %s / %s / %s ms\n' "p50 / p99 / max, between swaps" "$(pct 50 out)" "$(pct 99 out)" "$(pct 100 out)"
} | tee "$RESULTS_DIR/list-refresh-latest-table.txt"
{
	echo "entries=$ENTRIES"
	echo "qps=$QPS"
	echo "seconds=$SECONDS_RUN"
	echo "refresh=$REFRESH"
	echo "sent=$sent"
	echo "completed=$completed"
	echo "lost=$lost"
	echo "swaps=$SWAPS"
	echo "p99_all_ms=$(pct 99 all)"
	echo "p99_swap_ms=$(pct 99 in)"
	echo "p99_between_ms=$(pct 99 out)"
} >"$RESULTS_DIR/list-refresh-latest.txt"
[ "$SWAPS" -ge 1 ] || die "no list was swapped in during the run (see $TMP/dnsgate/dnsgate.log; BENCH_KEEP=1 keeps it)"
[ "$lost" = 0 ] || die "$lost queries lost during the run"
note "0 queries lost across $SWAPS swaps"
