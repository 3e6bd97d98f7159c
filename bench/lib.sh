# SPDX-License-Identifier: BSD-2-Clause
# bench/lib.sh — the set-up every benchmark script shares, sourced by
# run.sh, amplify.sh, burst.sh, list-refresh.sh and encrypted.sh once they
# have set RESULTS_DIR, KEEP, DNSPERF and their own die() and note().
#
#   bench_begin NAME   take the benchmarks' lock (two at once would measure
#                      each other), make TMP (/tmp/dnsgate-NAME.XXXXXX) and
#                      the EXIT/INT/TERM traps; PIDS lists what to stop
#   bench_exit_hook    when the script defines it, cleanup calls it first
#   stop_pid PID       TERM, up to 3 s grace, then KILL
#   free_port VAR      a free loopback port (UDP and TCP) into VAR
#   probe PORT [QNAME [QTYPE]]      one query with dnsperf (default
#                      "bench.test SOA"); true when answered NOERROR
#   wait_ready NAME PID PORT LOG [QNAME QTYPE]   until probe answers
#   nsd_server_conf    the server: block of nsd.conf they all share
#   unbound_server_common  the server: lines of unbound.conf that run.sh
#                      and encrypted.sh share (one thread, files in TMP)
#   bench_zone_head    the bench.test. zone's apex: SOA, NS, ns A
#   bench_zone_hosts N that and hostI (1..N) with A, AAAA and TXT
#   bench_query_mix N NX   every hostI with A, AAAA and TXT, plus NX % of
#                      names that do not exist (nxJ), unshuffled
#   bench_pin_cpus WHO NCPU; check SERVER_CPU, CLIENT_CPU, NSD_CPU (all 0
#                      on one CPU, WHO then named in the warning) and make
#                      the PIN_SERVER, PIN_CLIENT, PIN_NSD command prefixes
#   wait_child PID     wait for a background child (INT/TERM act at once)
#   cpu_ticks PID      utime+stime of a process, all threads (clock ticks)
#   cpu_stat           per-CPU "cpuN busy idle" snapshot from /proc/stat
#   cpu_busy_pct BEFORE AFTER N   busy % of CPU N between two snapshots
#   vm_field PID FIELD a /proc/PID/status field (VmHWM, Threads...)
#   median V...        the median of the numeric values (lower middle one)
#   ratio A B          A/B with 2 decimals, n/a when not computable
# shellcheck shell=bash

need() { # command package
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found (package: $2). Run 'make bench', or: sh tests/install-deps.sh $2"
}

stop_pid() { # pid: TERM, up to 3 s grace, then KILL
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? p kids=""
	trap - EXIT INT TERM
	if declare -F bench_exit_hook >/dev/null; then bench_exit_hook; fi
	# nsd forks its server and xfrd children; they exit with the parent, but be sure.
	[ -n "${NSD_PID:-}" ] && kids=$(pgrep -P "$NSD_PID" 2>/dev/null || true)
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	for p in $kids; do kill -KILL "$p" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ]; then note "kept $TMP"; else rm -rf "$TMP"; fi
	exit "$rc"
}

bench_begin() { # name
	need flock util-linux
	mkdir -p "$RESULTS_DIR" || die "cannot create $RESULTS_DIR"
	exec 9>"$RESULTS_DIR/.lock"
	flock -n 9 || die "another benchmark holds $RESULTS_DIR/.lock"
	TMP=$(mktemp -d "/tmp/dnsgate-$1.XXXXXX")
	PIDS=()
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Not $(free_port): the subshell would lose USED_PORTS.
USED_PORTS=" "
free_port() { # VAR: a port below the ephemeral range that nothing uses
	local p i
	for i in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		case "$USED_PORTS" in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htuan "sport = :$p" 2>/dev/null)" ]; then
			USED_PORTS="$USED_PORTS$p "
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	die "no free port found"
}

probe() { # port [qname [qtype]]
	echo "${2:-bench.test} ${3:-SOA}" | timeout 5 "$DNSPERF" -s 127.0.0.1 -p "$1" -n 1 -t 1 2>/dev/null |
		grep -q 'NOERROR 1 '
}

wait_ready() { # name pid port log [qname qtype]
	local i
	for i in $(seq 100); do
		kill -0 "$2" 2>/dev/null || { tail -20 "$4" >&2; die "$1 exited during start-up (log above)"; }
		probe "$3" "${5:-}" "${6:-}" && return 0
		sleep 0.1
	done
	tail -20 "$4" >&2
	die "$1 does not answer on 127.0.0.1:$3 after 10 s (log above)"
}

# wait_child PID: wait for a background child, so that INT/TERM traps run at once
# (bash defers them while a foreground command runs); cleanup kills it then.
# The PID leaves PIDS once waited for: its number may be given to another process.
wait_child() {
	local rc=0
	PIDS+=("$1")
	wait "$1" || rc=$?
	unset 'PIDS[-1]'
	return "$rc"
}
cpu_ticks() { # utime+stime of the process (all its threads), in clock ticks
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
cpu_stat() { # "cpuN busy idle" lines (jiffies) from /proc/stat
	awk '/^cpu[0-9]/ { print $1, $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat
}
cpu_busy_pct() { # before after cpu-number: busy % of that CPU between the snapshots
	awk -v k="cpu$3" -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, "\n"); for (i = 1; i <= n; i++) { split(x[i], f, " "); if (f[1] == k) { b0 = f[2]; i0 = f[3] } }
		n = split(b, x, "\n"); for (i = 1; i <= n; i++) { split(x[i], f, " "); if (f[1] == k) { b1 = f[2]; i1 = f[3] } }
		t = (b1 - b0) + (i1 - i0); if (t > 0) printf "%.0f", 100 * (b1 - b0) / t; else print "n/a"
	}'
}
vm_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# shellcheck disable=SC2034 # used by the scripts that source this file
CLK_TCK=$(getconf CLK_TCK)
median() { # values: the median of the numeric ones (the lower middle one for an even count)
	printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'
}
ratio() { # a b: a/b with 2 decimals, n/a when not computable
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# The server: block every benchmark gives nsd (the bench.test upstream):
# loopback port $NSD_PORT, one process, files under $TMP, no RRL (it
# would drop most of the answers; what is measured is the proxies). Each
# script adds its own lines (cookies, buffers, control) and the zone.
nsd_server_conf() {
	cat <<EOF
server:
	ip-address: 127.0.0.1
	port: $NSD_PORT
	do-ip4: yes
	do-ip6: no
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "$TMP"
	database: ""
	zonelistfile: "$TMP/nsd/zone.list"
	xfrdfile: "$TMP/nsd/xfrd.state"
	xfrdir: "$TMP/nsd"
	pidfile: "$TMP/nsd/nsd.pid"
	logfile: "$TMP/nsd/nsd.log"
	verbosity: 0
	hide-version: yes
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
EOF
}

bench_pin_cpus() { # who shares the CPU when there is only one
	local c
	NCPU=$(getconf _NPROCESSORS_ONLN)
	NSD_CPU=${NSD_CPU:-$SERVER_CPU}
	if [ "$NCPU" -lt 2 ]; then
		note "warning: only $NCPU CPU: $1 all share CPU 0"
		SERVER_CPU=0 CLIENT_CPU=0 NSD_CPU=0
	fi
	for c in "$SERVER_CPU" "$CLIENT_CPU" "$NSD_CPU"; do
		[[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -lt "$NCPU" ] || die "CPU '$c' does not exist (0..$((NCPU - 1)))"
	done
	# Command prefixes (not functions: a backgrounded function would
	# leave $! naming a subshell).
	PIN_SERVER=(taskset -c "$SERVER_CPU")
	PIN_CLIENT=(taskset -c "$CLIENT_CPU")
	PIN_NSD=(taskset -c "$NSD_CPU")
}

bench_zone_head() {
	echo '$ORIGIN bench.test.'
	echo '$TTL 300'
	echo '@   IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 60'
	echo '@   IN NS  ns.bench.test.'
	echo 'ns  IN A   127.0.0.1'
}

bench_zone_hosts() { # names
	bench_zone_head
	awk -v n="$1" 'BEGIN {
		for (i = 1; i <= n; i++) {
			printf "host%d IN A    10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
			printf "host%d IN AAAA 2001:db8::%x\n", i, i
			printf "host%d IN TXT  \"bench host %d\" \"v=1\"\n", i, i
		}
	}'
}

bench_query_mix() { # names nx-percent
	awk -v n="$1" -v nx="$2" 'BEGIN {
		for (i = 1; i <= n; i++) {
			printf "host%d.bench.test A\n", i
			printf "host%d.bench.test AAAA\n", i
			printf "host%d.bench.test TXT\n", i
		}
		m = int(3 * n * nx / (100 - nx) + 0.5)
		for (i = 1; i <= m; i++) printf "nx%d.bench.test A\n", i
	}'
}

unbound_server_common() {
	cat <<EOF
	num-threads: 1
	do-daemonize: no
	use-syslog: no
	logfile: "$TMP/unbound/unbound.log"
	verbosity: 0
	username: ""
	chroot: ""
	directory: "$TMP/unbound"
	pidfile: ""
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	module-config: "iterator"
EOF
}
