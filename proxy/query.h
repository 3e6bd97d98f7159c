/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/query.h — the life of one query, from a complete client message
 * to the answer sent (or not), logged and counted.
 *
 * A query lives in one struct query from its worker's pool: query_new()
 * when the message is complete, query_received() runs the pipeline's
 * query half (proxy/pipeline.h); a forward parks it on the upstream path
 * (proxy/upstream.h), which later calls query_finish(); otherwise
 * query_received() finishes it at once. query_finish() runs the answer
 * half (pipeline_finish), has the worker send the answer, writes the
 * decision line, bumps the counters and frees the query: the one place a
 * query ends.
 */
#ifndef PROXY_QUERY_H
#define PROXY_QUERY_H

#include <ev.h>
#include <sys/socket.h>
#include <time.h>

#include "proxy/pipeline.h"
#include "proxy/runstate.h"
#include "proxy/upstream.h"

struct worker;
struct listener;
struct tcp_conn;

/* One query in flight. */
struct query {
	struct worker *w;
	struct query *next_free;
	struct query *next_alloc;  /* every query the pool allocated */
	struct runstate *rs;       /* reference held for the query's life */
	const struct config *conf; /* rs->conf */
	struct qctx c;
	ev_tstamp start;
	struct timespec qtime; /* arrival, for dnstap */
	/* the client side: a UDP listener, or a TCP connection */
	struct listener *lst;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	/* UDP arrival interface: for IPv6 link-local replies, and to know a
	 * datagram from this host (upstream.c's loop check) */
	int ifindex;
	struct tcp_conn *conn;
	int32_t stream; /* DNS over HTTPS: the HTTP/2 stream to answer on */
	/* No client waits (a prefetch, or the client got a stale answer):
	 * the upstream's answer only refreshes the cache. */
	bool background;
	ev_timer stale_timer; /* stale-answer-client-timeout (RFC 8767 5) */
	/* Last: the upstream exchange, owned by proxy/upstream.c. */
	struct upstream_attempt ua;
};

/* A worker's queries: a free list, and every allocation for its exit. */
struct query_pool {
	struct query *free;
	struct query *all;
	unsigned inflight;
};

/*
 * A cleared query of w holding a reference to w's runstate, its client
 * side still to be filled in; NULL (counted) when out of memory or when w
 * has [server] max-queries-in-flight queries in flight already.
 */
struct query *query_new(struct worker *w);
/* Its message (pkt, len: valid only during the call) is complete. */
void query_received(struct query *qr, const uint8_t *pkt, size_t len);
/* End a query: v as the pipeline's query half or the upstream left it. */
void query_finish(struct query *qr, enum pipe_verdict v);
/* Free every query of pool, in flight or not (worker exit). */
void query_pool_free(struct query_pool *pool);

#endif
