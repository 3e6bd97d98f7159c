/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/query.c — the life of one query (query.h).
 */
#include "proxy/query.h"

#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "obs/dnstap.h"
#include "obs/log.h"
#include "proxy/worker.h"

struct query *
query_new(struct worker *w)
{
	struct query_pool *pool = &w->queries;
	struct query *qr = pool->free;

	/* A flood toward a slow upstream must not take all memory (and
	 * sockets): past the cap, new queries are dropped, as Unbound's
	 * num-queries-per-thread does. */
	if (pool->inflight >= w->conf->server.max_inflight) {
		STAT_INC(w->stats.inflight_full);
		return NULL;
	}
	if (qr != NULL) {
		pool->free = qr->next_free;
	} else {
		qr = malloc(sizeof(*qr));
		if (qr == NULL) {
			STAT_INC(w->stats.nomem);
			return NULL;
		}
		qr->next_alloc = pool->all;
		pool->all = qr;
	}
	memset(qr, 0, offsetof(struct query, next_alloc));
	memset(&qr->c, 0,
	       offsetof(struct query, ua) - offsetof(struct query, c));
	qr->w = w;
	upstream_init(qr);
	qr->rs = runstate_ref(w->rs);
	qr->conf = qr->rs->conf;
	qr->c.out = w->out;
	qr->c.outcap = DNS_MAX_MSG;
	pool->inflight++;
	return qr;
}

static void
query_free(struct query *qr)
{
	struct worker *w = qr->w;
	struct query_pool *pool = &w->queries;

	ev_timer_stop(w->loop, &qr->stale_timer);
	upstream_free(qr);
	runstate_unref(qr->rs);
	qr->rs = NULL;
	qr->conf = NULL;
	qr->next_free = pool->free;
	pool->free = qr;
	pool->inflight--;
	worker_query_ended(w, qr->conn);
}

static void
query_log(struct query *qr)
{
	struct worker *w = qr->w;
	const struct log_conf *lc = &qr->conf->log;
	char line[LOG_SLOT_SIZE];
	size_t n;

	if (lc->decisions == DECISIONS_NONE || qr->c.quiet ||
	    (lc->decisions == DECISIONS_NON_DEFAULT &&
	     decision_is_default(&qr->c.dec)))
		return;
	n = decision_format(&qr->c.dec, lc->format, line, sizeof(line));
	/* A line that cannot be formatted counts as dropped, like a full
	 * ring: never silently lost. */
	log_ring_push(w->log, line, n > 0 ? n : LOG_SLOT_SIZE + 1);
}

/* dnstap CLIENT_QUERY / CLIENT_RESPONSE for qr (response: c->out). */
static void
tap_client(struct query *qr, enum dnstap_msg_type type)
{
	struct timespec now;
	struct dnstap_msg m = {
	    .type = type,
	    .proto = qr->c.transport,
	    .query_addr = &qr->c.client,
	    .query_port = qr->c.client_port,
	    .response_addr = &qr->c.dest,
	    .response_port = qr->c.dest_port,
	    .query_time = &qr->qtime,
	};

	if (!(qr->conf->log.dnstap_messages & DNSTAP_MSGS_CLIENT))
		return;
	if (type == DNSTAP_CLIENT_QUERY) {
		m.query = qr->c.pkt;
		m.query_len = qr->c.pktlen;
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		m.response_time = &now;
		m.response = qr->c.out;
		m.response_len = qr->c.outlen;
	}
	dnstap_message(qr->w->tap, &m);
}

/* The view's counters: its decision, what its cache found. */
static void
query_count(struct query *qr)
{
	static const int cache_counter[] = {
	    [CACHE_MISS] = CACHE_COUNT_MISS,
	    [CACHE_HIT] = CACHE_COUNT_HIT,
	    [CACHE_STALE] = CACHE_COUNT_STALE,
	};
	struct view_stats *vs = runstate_view_stats(qr->rs, qr->c.view);

	STAT_SHARED_INC(vs->actions[qr->c.dec.action]);
	if (qr->c.cache_count >= 0)
		STAT_SHARED_INC(vs->cache[cache_counter[qr->c.cache_count]]);
}

/*
 * Prefetch (Unbound's): parent's answer came from the cache late in its
 * entry's life; ask the upstream again now, with no client waiting, so
 * the entry is refreshed before it expires. The question is parent's, so
 * the answer lands under the same key.
 */
static void
query_prefetch(struct query *parent)
{
	struct worker *w = parent->w;
	struct query *qr = query_new(w); /* counted when NULL */

	if (qr == NULL)
		return;
	qr->background = true;
	/* The parent's view and cache belong to the parent's runstate. */
	if (qr->rs != parent->rs) {
		runstate_unref(qr->rs);
		qr->rs = runstate_ref(parent->rs);
		qr->conf = qr->rs->conf;
	}
	qr->start = ev_time();
	qctx_init(&qr->c, qr->conf, worker_wall_ms());
	qr->c.client = parent->c.client;
	qr->c.client_port = parent->c.client_port;
	qr->c.tcp = true; /* nothing to fit to a datagram, nothing to limit */
	qr->c.transport = parent->c.transport;
	qr->c.q = parent->c.q;
	qr->c.view = parent->c.view;
	/* The same forward-zone, so the same group, refreshes it. */
	qr->c.group = parent->c.group;
	qr->c.fwd = parent->c.fwd;
	qr->c.caches = parent->c.caches;
	qr->c.blocks = parent->c.blocks;
	qr->c.cache = parent->c.cache;
	qr->c.cbuf = w->cbuf;
	qr->c.dec.action = ACTION_FORWARD;
	STAT_SHARED_INC(runstate_view_stats(qr->rs, qr->c.view)
	                    ->cache[CACHE_COUNT_PREFETCH]);
	upstream_forward(qr);
}

/* A prefetch ends: its answer is in the cache (pipeline_finish). */
static void
query_finish_background(struct query *qr, enum pipe_verdict v)
{
	(void)pipeline_finish(&qr->c, v);
	query_free(qr);
}

/* The client's answer: the answer half, then send, count and log. */
static void
query_answer(struct query *qr, enum pipe_verdict v)
{
	struct worker *w = qr->w;
	struct decision *d = &qr->c.dec;

	v = pipeline_finish(&qr->c, v);
	if (qr->c.limited == RRL_DROP)
		STAT_INC(w->stats.rl_drop);
	else if (qr->c.limited == RRL_SLIP)
		STAT_INC(w->stats.rl_slip);
	if (qr->c.cookie != COOKIE_NONE && qr->c.cookie < 6)
		STAT_INC(w->stats.cookies[qr->c.cookie]);
	/* PIPE_SENT: a relayed transfer already went out message by message. */
	if (v == PIPE_ANSWER && qr->c.outlen > 0) {
		worker_send_answer(qr);
		if (w->tap != NULL)
			tap_client(qr, DNSTAP_CLIENT_RESPONSE);
		if (d->rcode >= 0 && d->rcode < STATS_RCODES)
			STAT_INC(w->stats.responses[d->rcode]);
	} else if (v != PIPE_SENT) {
		worker_drop_answer(qr);
	}
	d->ms = (ev_time() - qr->start) * 1000.0;
	if (d->ms < 0)
		d->ms = 0;
	query_count(qr);
	query_log(qr);
}

void
query_finish(struct query *qr, enum pipe_verdict v)
{
	if (qr->background) {
		query_finish_background(qr, v);
		return;
	}
	query_answer(qr, v);
	if (qr->c.prefetch)
		query_prefetch(qr);
	query_free(qr);
}

/*
 * RFC 8767 5: the upstream is taking longer than
 * stale-answer-client-timeout. With a stale answer at hand the client gets
 * it now, and the exchange goes on in the background to refresh the cache.
 */
static void
stale_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct query *qr = t->data;
	enum pipe_verdict v = pipeline_stale(&qr->c);

	if (v == PIPE_DROP)
		return; /* nothing stale: the client waits for the upstream */
	query_answer(qr, v);
	qr->background = true;
	qr->c.rrl = NULL; /* what the client got was rate-limited already */
	/* The client is done with: a TCP connection need not wait for the
	 * refresh (its in-flight count, its idle timer). */
	worker_query_ended(qr->w, qr->conn);
	qr->conn = NULL;
}

static void
stale_timer_start(struct query *qr)
{
	const struct cache_params *p = &qr->conf->cache;

	if (qr->c.cache == NULL || !p->serve_stale || p->client_timeout_ms == 0)
		return;
	ev_timer_init(&qr->stale_timer, stale_timer_cb,
	              p->client_timeout_ms / 1000.0, 0);
	qr->stale_timer.data = qr;
	ev_timer_start(qr->w->loop, &qr->stale_timer);
}

void
query_received(struct query *qr, const uint8_t *pkt, size_t len)
{
	struct worker *w = qr->w;
	uint64_t mono = top_now_ms();
	enum pipe_verdict v;

	top_count_client(w->top, &qr->c.client, mono);
	qr->start = ev_time();
	qctx_init(&qr->c, qr->conf, worker_wall_ms());
	qr->c.rrl = w->rrl;
	qr->c.caches = qr->rs->cache_of;
	qr->c.blocks = qr->rs->blocks_of;
	qr->c.cbuf = w->cbuf;
	qr->c.pkt = pkt;
	qr->c.pktlen = len;
	if (w->tap != NULL) {
		clock_gettime(CLOCK_REALTIME, &qr->qtime);
		tap_client(qr, DNSTAP_CLIENT_QUERY);
	}
	v = pipeline_query(&qr->c);
	if (qr->c.q.qname_len > 0)
		top_count_name(w->top, qr->c.q.qname, mono);
	if (v == PIPE_FORWARD) {
		/* Before forwarding, which may end the query at once. */
		stale_timer_start(qr);
		upstream_forward(qr);
		return;
	}
	query_finish(qr, v);
}

void
query_pool_free(struct query_pool *pool)
{
	while (pool->all != NULL) {
		struct query *qr = pool->all;

		pool->all = qr->next_alloc;
		if (qr->rs != NULL) {
			upstream_free(qr);
			runstate_unref(qr->rs);
		}
		free(qr);
	}
	pool->free = NULL;
	pool->inflight = 0;
}
