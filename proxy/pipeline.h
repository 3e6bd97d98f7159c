/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/pipeline.h — the query pipeline, without any I/O.
 *
 * The worker hands a received message to pipeline_query(); it runs the
 * stages in order (parse, cookies, view, ACL, query limit, class,
 * transfers, local data, blocklists; see pipeline_query) and returns a
 * verdict: answer (the response is in c->out), drop, or forward. A forward
 * parks the query; when the upstream exchange ends, pipeline_upstream_answer()
 * or pipeline_upstream_failed() resumes it and produces the final response.
 * The same functions serve the daemon, `dnsgate explain` and the fuzzer.
 */
#ifndef PROXY_PIPELINE_H
#define PROXY_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "conf/config.h"
#include "dns/addr.h"
#include "dns/msg.h"
#include "policy/decision.h"
#include "ratelimit/cookie.h"
#include "ratelimit/rrl.h"

struct block_match;

enum pipe_verdict {
	PIPE_ANSWER = 1, /* send c->out[0..c->outlen) */
	PIPE_DROP,       /* send nothing */
	PIPE_FORWARD,    /* ask c->group, then resume */
	PIPE_SENT,       /* the answer already left (a relayed transfer) */
	PIPE_UPSTREAM,   /* the exchange ended: c->upstream says how */
};

/* Why an upstream exchange failed (the last failure decides the EDE). */
enum up_failure {
	UP_FAIL_TIMEOUT = 1,
	UP_FAIL_NETWORK,  /* refused connection, reset, unreachable */
	UP_FAIL_SERVFAIL, /* an answer that counts as failure */
	UP_FAIL_REFUSED,
	UP_FAIL_LOCAL, /* our own resources (fds, memory): not the server's */
	UP_FAIL_LOOP,  /* the query came back to us (a forwarding loop) */
};

/* How a forwarded query's upstream exchange ended (PIPE_UPSTREAM). */
struct pipe_upstream {
	/* An answer matched to the query; NULL when every attempt failed. */
	const uint8_t *msg;
	size_t len;
	const struct dns_response *r; /* msg, parsed */
	enum up_failure failure;      /* msg NULL: the last attempt's */
};

struct qctx {
	const struct config *conf;
	/* where the query came from */
	struct ip_addr client;
	uint16_t client_port;
	bool have_dest;
	struct ip_addr dest;
	uint16_t dest_port;
	/* Not UDP: no truncation, no RRL, cookies as over TCP (RFC 7766,
	 * RFC 7858, RFC 8484 all carry whole messages over a connection). */
	bool tcp;
	enum transport transport;
	bool transfer; /* an allowed AXFR/IXFR: relayed over TCP */
	const uint8_t *pkt;
	size_t pktlen;
	/* what the stages found */
	struct dns_query q;
	const struct view_conf *view;
	/* Where a forward goes (view_route): the group, and the view's
	 * forward-zone that chose it (NULL: the view's upstream). */
	const struct upstream_conf *group;
	const struct forward_zone *fwd;
	struct decision dec;
	char ede_buf[DECISION_RULE_MAX]; /* an EDE text made for this query */
	/* The worker's RRL table (NULL: no rate limiting, as in explain). */
	struct rrl_table *rrl;
	/* DNS cookies (stage 2): what the client's option was, and the
	 * COOKIE option to put in our answer (length 0: none). */
	enum cookie_status cookie;
	uint8_t cookie_out[COOKIE_V1_LEN];
	size_t cookie_out_len;
	/* Log only the first limited response of an RRL episode. */
	bool quiet;
	/* What rate limiting did or (log-only) would have done, for the
	 * metrics: 0 nothing, else RRL_DROP or RRL_SLIP. */
	int limited;
	/* `dnsgate explain`: told what each stage found (NULL: silent) */
	void (*trace)(void *arg, const char *stage, const char *text);
	/* and, when a blocklist entry decided, asked where it was written
	 * ("ads.txt:4711 (entry ...)" into buf; NULL: the list's name) */
	void (*trace_entry)(void *arg, const struct block_match *m, char *buf,
	                    size_t cap);
	void *trace_arg;
	/*
	 * The answer cache (stages 6 and 8): each view's, parallel to
	 * conf->views (NULL: no cache, as in explain); the one this query
	 * uses; a buffer for what it hands out (CACHE_MSG_MAX bytes); the
	 * monotonic clock in ms (0: read it). cache_count is what the lookup
	 * found (enum cache_result; -1: no lookup), for the counters.
	 */
	struct cache *const *caches;
	struct cache *cache;
	/* Each view's blocklist index, parallel to conf->views (NULL: the
	 * configuration's, view_conf.blocks, as in explain): the runstate's,
	 * which a list download may have rebuilt (proxy/runstate.h). */
	const struct blockset *const *blocks;
	uint8_t *cbuf;
	uint64_t mono_ms;
	int cache_count;
	/* The hit was in the last 10 % of its entry's life, with prefetch
	 * on: the worker refreshes it in the background (once). */
	bool prefetch;
	/* Records stage 8's rebind protection removed (stored with the
	 * answer, so a hit repeats EDE 17). */
	unsigned rebind_removed;
	/* the end of a forward (set by the upstream path) */
	struct pipe_upstream upstream;
	/* the response */
	uint8_t *out;
	size_t outcap; /* at least DNS_MAX_MSG for answers from upstream */
	size_t outlen;
};

/* Prepare c for a new query (clears the decision; keeps out/outcap). */
void qctx_init(struct qctx *c, const struct config *conf, uint64_t now_ms);
/* Run the stages up to forwarding. */
enum pipe_verdict pipeline_query(struct qctx *c);
/*
 * Largest response the client may receive: 65535 over TCP; 512 without
 * EDNS; else min(max(512, client's size), udp-payload-size).
 */
size_t pipeline_client_limit(const struct qctx *c);
/*
 * The upstream answered (r parsed from resp and matched to the query):
 * rewrite it for the client and fit it to its size.
 */
enum pipe_verdict pipeline_upstream_answer(struct qctx *c, const uint8_t *resp,
                                           size_t len,
                                           const struct dns_response *r);
/*
 * The answer half, once per query whatever produced the answer: a
 * forward's outcome (PIPE_UPSTREAM) becomes the response through stages
 * 8 and 10 (response filters, then fit to the client's size with our
 * cookie and EDE, in one pass over the upstream's message); then stage 9,
 * response rate limiting, looks at the response exactly as it would
 * leave, and may turn it into a slip (TC=1 or BADCOOKIE) or a drop.
 * Returns what the worker sends: PIPE_ANSWER (c->out), PIPE_DROP or
 * PIPE_SENT.
 */
enum pipe_verdict pipeline_finish(struct qctx *c, enum pipe_verdict v);
/*
 * RFC 8767 5, the client-response timer fired: the view's cache's stale
 * answer (EDE 3, or 19 for NXDOMAIN), or a fresh one stored meanwhile;
 * PIPE_DROP when it has neither (the client waits on).
 */
enum pipe_verdict pipeline_stale(struct qctx *c);
/*
 * Every attempt failed: SERVFAIL with one EDE, 22 (No Reachable Authority)
 * when the last failure was an answer, 23 (Network Error) when it was a
 * timeout, a network error or a forwarding loop (dnsgate.conf(5),
 * [upstream]).
 */
enum pipe_verdict pipeline_upstream_failed(struct qctx *c,
                                           enum up_failure last);

/* How a query was recognised as one of dnsgate's own (a forwarding loop). */
enum loop_kind {
	LOOP_OWN_SOCKET = 1, /* it came from one of our upstream sockets */
	LOOP_OWN_QUERY,      /* it carries our upstream ID and client cookie */
};

/*
 * The query is one of dnsgate's own upstream queries, come back to a
 * listener: REFUSED with EDE 18 (rule loop:own-socket or loop:own-query),
 * so that it goes no further.
 */
enum pipe_verdict pipeline_loop(struct qctx *c, enum loop_kind how);

#endif
