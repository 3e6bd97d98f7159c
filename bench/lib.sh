# SPDX-License-Identifier: BSD-2-Clause
# bench/lib.sh — the set-up every benchmark script shares, sourced by
# run.sh, amplify.sh, burst.sh and list-refresh.sh once they have set
# RESULTS_DIR, KEEP, DNSPERF and their own die() and note().
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
