/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/upstream.h — the upstream path of a query: asking the view's
 * upstream group, one attempt after another.
 *
 * Server selection (ordered, round-robin, fastest, skipping servers that
 * are down), one attempt per server with a fresh random ID (and, by
 * default, a fresh random source port: proxy/usock.h; or a pooled socket:
 * proxy/uppool.h), answer validation (source, ID, question, our cookie),
 * retries across servers as retry-on says, TCP to the same server after a
 * truncated UDP answer, DNS over TLS to tls:// servers (proxy/dotpool.h),
 * relayed zone transfers (proxy/xfr.h), and the
 * health of each server with the probes that bring it back
 * (dnsgate.conf(5), [upstream]).
 *
 * The state of the exchange is one struct upstream_attempt inside the
 * query; only upstream.c reads or writes it. When the exchange ends,
 * upstream.c hands the answer or the failure to the pipeline
 * (pipeline_upstream_answer / pipeline_upstream_failed) and finishes the
 * query (query_finish).
 */
#ifndef PROXY_UPSTREAM_H
#define PROXY_UPSTREAM_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "dns/name.h"
#include "proxy/dotpool.h"
#include "proxy/uppool.h"
#include "proxy/xfr.h"
#include "ratelimit/cookie.h"

struct query;
struct worker;
struct usock;
struct upstream_conf;

/* The largest query we send upstream: a question and an OPT with a
 * COOKIE (326 bytes), or padded to a multiple of 128 (DOT_PAD_BLOCK). */
#define UPSTREAM_QUERY_MAX 384

/*
 * A worker's attempts in flight, by the ID they carry: a query that comes
 * back to a listener carries the ID we sent it with, which finds the
 * attempt it came from (upstream_forward's loop check). Chained through
 * upstream_attempt.id_next; the bucket is the ID's low bits.
 */
#define UPSTREAM_ID_BUCKETS 1024
struct upstream_ids {
	struct query *bucket[UPSTREAM_ID_BUCKETS];
};

struct upstream_attempt {
	const struct upstream_conf *up; /* the view's group */
	unsigned attempts;              /* attempts made */
	unsigned rr_start;              /* round-robin start position */
	int server;                     /* index of the server being asked */
	uint32_t asked;  /* bit i: server i was asked (UPSTREAM_MAX_SERVERS) */
	uint16_t id;     /* our ID on the current attempt */
	ev_tstamp start; /* of the current attempt */
	/* In the worker's upstream_ids while the attempt is in flight
	 * (id_pprev NULL: not). */
	struct query *id_next, **id_pprev;
	/* The attempt's local port, once looked up (0: not yet). */
	uint16_t local_port;
	ev_timer timer;
	/* UDP: a socket of its own, or a place on a pooled one. */
	struct usock *usock;
	struct uppool_wait pooled;
	/* DNS over TLS (a tls:// server): a place on one of the worker's
	 * connections to it. */
	bool tls;
	struct dotpool_wait dot;
	/* TCP: the connection, the length-prefixed query going out, then
	 * the answer coming in. */
	bool tcp;
	bool connected;
	int fd;
	ev_io io;
	uint8_t *buf;
	size_t buflen, bufoff;
	/* A zone transfer: the client's query as it came (IXFR carries an
	 * SOA in its authority section, a TSIG survives an ID change), and
	 * the stream's progress. */
	uint8_t *xq;
	size_t xqlen;
	struct xfr_state xfr;
	/* The client cookie our query carried (RFC 7873 as a client). */
	uint8_t cookie[COOKIE_CLIENT_LEN];
	bool cookie_sent;
	struct timespec tap_sent; /* FORWARDER_QUERY's time (dnstap) */
	/* The query we send; last, so clearing an attempt skips it. */
	size_t qlen;
	uint8_t q[UPSTREAM_QUERY_MAX];
};

/* Ready a query's attempt state (it holds no resources yet). */
void upstream_init(struct query *qr);
/*
 * Start forwarding a query that pipeline_query() parked; unless it is one
 * of our own attempts come back (a forwarding loop: it came from the
 * attempt's socket, or carries its ID and client cookie): then it is
 * refused (pipeline_loop), the attempt fails, and nothing is sent.
 */
void upstream_forward(struct query *qr);
/* The query ends: release everything its exchange holds, if anything. */
void upstream_free(struct query *qr);
/* A paused transfer's client caught up: read the upstream again. */
void upstream_xfr_resume(struct query *qr);

/* Worker 0 probes servers that are down, at each group's health-check. */
void upstream_health_start(struct worker *w);
/* Abandon the probes in flight (worker exit). */
void upstream_probes_free(struct worker *w);

#endif
