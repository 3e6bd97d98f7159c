/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/stats.h — counters behind /metrics and `dnsgate ctl stats`.
 *
 * Worker counters have one writer (their worker) and are read by the main
 * thread, so they are relaxed atomics bumped with a plain load+store — no
 * locked instruction on the datapath. Counters shared by workers (per view,
 * per upstream server) use fetch_add.
 */
#ifndef OBS_STATS_H
#define OBS_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "dns/addr.h"
#include "policy/decision.h"

#define STAT_INC(x)                                                     \
	atomic_store_explicit(                                          \
	    &(x), atomic_load_explicit(&(x), memory_order_relaxed) + 1, \
	    memory_order_relaxed)
#define STAT_ADD(x, n)                                                    \
	atomic_store_explicit(                                            \
	    &(x), atomic_load_explicit(&(x), memory_order_relaxed) + (n), \
	    memory_order_relaxed)
#define STAT_SHARED_INC(x) \
	atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
#define STAT_GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

#define STATS_RCODES 24 /* 0..23: up to BADCOOKIE */

/* Where a worker ran out of file descriptors (obs/fdlimit.h). */
enum fd_where {
	FD_UPSTREAM = 0, /* a socket toward an upstream server */
	FD_ACCEPT,       /* accepting a client's TCP connection */
	FD_WHERE_N_,
};

/*
 * TLS handshakes by outcome: on the encrypted listeners
 * (dnsgate_tls_handshakes_total{proto,result}) and toward tls:// servers
 * (dnsgate_upstream_tls_handshakes_total{result}, where a connection
 * attempt ends in one of the first three: a timeout there is a failure).
 */
enum tls_hs_result {
	TLS_HS_FULL = 0,
	TLS_HS_RESUMED, /* a session resumed (RFC 8446 2.2, RFC 5077) */
	TLS_HS_FAILED,  /* connect, handshake or verification failed */
	TLS_HS_TIMEOUT, /* tls-handshake-timeout (listeners) */
	TLS_HS_N_,
};

/* "full", "resumed", "failed", "timeout". */
const char *tls_handshake_name(enum tls_hs_result h);

/* DNS over HTTPS responses, by HTTP status. */
enum https_status {
	HTTPS_200 = 0,
	HTTPS_400, /* malformed request: no dns=, bad base64url, empty */
	HTTPS_404, /* another path than https-path */
	HTTPS_405, /* neither GET nor POST */
	HTTPS_413, /* a body over 65535 bytes */
	HTTPS_415, /* a POST that is not application/dns-message */
	HTTPS_STATUS_N_,
};

struct worker_stats {
	atomic_ulong queries[TRANSPORT_COUNT_]; /* by enum transport */
	atomic_ulong responses[STATS_RCODES];
	atomic_ulong upstream_mismatch; /* ignored answers: ID/question */
	atomic_ulong upstream_garbage;  /* unparseable answers */
	atomic_ulong tcp_refused;       /* over tcp-max-clients */
	atomic_ulong tcp_prefix_full;   /* over tcp-max-clients-per-prefix */
	atomic_ulong udp_rcv_drops;     /* lost in the kernel (SO_RXQ_OVFL) */
	atomic_ulong nomem;             /* queries lost to allocation */
	atomic_ulong inflight_full;     /* dropped: max-queries-in-flight */
	atomic_ulong udp_oversize;      /* datagrams over UDP_SLOT_MAX */
	atomic_ulong send_errors;       /* answers the socket refused */
	atomic_ulong local_yields;      /* yield-to-local-upstream */
	atomic_ulong rl_drop, rl_slip;  /* RRL and query-limit outcomes */
	atomic_ulong cookies[6];        /* by enum cookie_status */
	atomic_ulong fd_exhausted[FD_WHERE_N_]; /* EMFILE/ENFILE, by where */
	/* Encrypted listeners: [0] DNS over TLS, [1] DNS over HTTPS. */
	atomic_ulong tls_handshake[2][TLS_HS_N_];
	atomic_ulong https_status[HTTPS_STATUS_N_];
	/* Client connections open, by enum transport (a gauge, moved by
	 * its worker only). */
	atomic_long conns_open[TRANSPORT_COUNT_];
};

/* Per view (parallel to config->views), shared by workers. */
/* Cache lookups, by outcome (dnsgate_cache_total{result}). */
enum cache_count {
	CACHE_COUNT_HIT = 0,
	CACHE_COUNT_MISS,
	CACHE_COUNT_STALE,
	CACHE_COUNT_PREFETCH,
	CACHE_COUNT_N_,
};

struct view_stats {
	atomic_ulong actions[ACTION_COUNT_];
	atomic_ulong cache[CACHE_COUNT_N_];
};

enum up_error_kind {
	UPERR_TIMEOUT = 0,
	UPERR_NETWORK,
	UPERR_SERVFAIL,
	UPERR_REFUSED,
	UPERR_MISMATCH,
	UPERR_LOOP, /* the query came back to us (proxy/upstream.c) */
	UPERR_COUNT_,
};

#define LATENCY_BUCKETS 11
extern const double latency_bounds[LATENCY_BUCKETS]; /* seconds; last +Inf */

/* Per upstream server, shared by workers. */
struct server_stats {
	atomic_ulong queries;
	atomic_ulong errors[UPERR_COUNT_];
	atomic_ulong latency[LATENCY_BUCKETS]; /* non-cumulative */
	atomic_ulong latency_sum_us;
	/* tls:// servers: connections open now (all workers), handshakes. */
	atomic_long tls_connections;
	atomic_ulong tls_handshakes[TLS_HS_N_];
};

const char *up_error_name(enum up_error_kind k);
void server_stats_latency(struct server_stats *s, double seconds);

#endif
