/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/runstate.h — what changes while dnsgate runs, kept outside the
 * immutable configuration: the health and counters of each upstream
 * server, each group's round-robin position, each view's decision
 * counters.
 *
 * A struct runstate binds one loaded struct config to these records. A
 * reload builds a new runstate for the new configuration from the old
 * one: a server still configured in a group of the same name (matched by
 * address and port) keeps its record, so a server known to be down stays
 * down and its counters go on; so do a group's position and a view's
 * counters (matched by name). Records are shared, not copied: queries
 * still in flight under the old configuration update the same record as
 * the new ones.
 *
 * The runstate holds a reference to its config; workers and queries hold
 * a reference to the runstate.
 */
#ifndef PROXY_RUNSTATE_H
#define PROXY_RUNSTATE_H

#include <openssl/types.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "conf/config.h"
#include "dns/addr.h"
#include "obs/stats.h"
#include "policy/blocklist.h"

/* Kinds of failure a streak counts (enum up_error_kind, below MISMATCH). */
#define HEALTH_STREAK_KINDS 4
#define HEALTH_STREAK_BITS  16

/* Health of one upstream server, shared by all workers (proxy/upstream.c). */
struct server_health {
	atomic_uint fails; /* consecutive timeouts/SERVFAILs */
	atomic_bool down;
	atomic_uint srtt_us; /* smoothed RTT; 0 = not measured yet */
	/*
	 * Why: the failed attempts since the last answer, by kind, 16 bits
	 * each (kind k at bit 16 * k, saturating), REFUSED included though it
	 * never takes a server down; and the kind of the last failure ever
	 * (enum up_error_kind + 1; 0: none). Written on failures only; an
	 * answer reads streak and writes it only when it is not 0.
	 */
	atomic_uint_least64_t streak;
	atomic_uint last_failure;
	/* Since when: the wall clock (ms) of the last change between up and
	 * down, or of the record's making (start, or the reload that added
	 * the server) before the first. */
	atomic_uint_least64_t since_ms;
	double last_probe; /* ev_now() of the last probe (worker 0 only) */
	bool probing;      /* a probe is in flight (worker 0 only) */
};

/* One server of one [upstream] group. */
struct server_state {
	atomic_int refs;
	struct ip_addr addr; /* the key, within its group */
	uint16_t port;
	struct server_health health;
	struct server_stats stats;
};

/* One [upstream] group. */
struct group_state {
	atomic_int refs;
	char *name;
	atomic_uint rr_next;           /* round-robin position */
	struct server_state **servers; /* parallel to upstream_conf.servers */
	size_t nservers;
	/* The client context of its tls:// servers (tls-ca, or the system
	 * store), NULL when it has none: made anew by each reload, so a
	 * changed CA bundle is read again (tls/tls.h). */
	SSL_CTX *tls;
};

/* One [view]; the extra one at the end counts queries before a view. */
struct view_state {
	atomic_int refs;
	char *name; /* NULL: the "no view" record */
	struct view_stats stats;
};

/*
 * One view's answer cache ([cache] size > 0, views that forward: an
 * upstream or a forward-zone). A reload keeps it for a view of the same
 * name whose upstream group and forward-zones are the same (suffixes, and
 * each group's name and servers), with the same rebind protection and
 * local zones
 * (they decided what was filtered before storing), under the same [cache]
 * parameters (stale-answer-client-timeout aside: the cache does not use
 * it); otherwise the view starts with an empty one.
 */
struct view_cache {
	atomic_int refs;
	char *sig; /* view, groups and servers: what must match to keep it */
	struct cache_params params;
	struct cache *cache;
};

/*
 * A view's blocklist index rebuilt after a list download
 * (proxy/listfetch.c), in place of the configuration's (view_conf.blocks).
 * The runstates of one configuration share it; a reload starts again from
 * the new configuration's, which was read from the same copies.
 */
struct view_blocks {
	atomic_int refs;
	struct blockset *set;
};

struct runstate {
	atomic_int refs;
	struct config *conf; /* one reference, for the runstate's life */
	struct group_state **groups; /* parallel to conf->upstreams */
	struct view_state **views;   /* parallel to conf->views, + 1 */
	struct view_cache **caches;  /* parallel to conf->views; NULL: none */
	/* The views' caches as the pipeline takes them (qctx.caches). */
	struct cache **cache_of;     /* parallel to conf->views */
	struct view_blocks **blocks; /* parallel to conf->views; NULL: none */
	/* Each view's blocklist index as the pipeline takes it (qctx.blocks):
	 * blocks[i]'s, else the configuration's. */
	const struct blockset **blocks_of; /* parallel to conf->views */
	/* The encrypted listeners' TLS contexts, made from [server]
	 * tls-certificate and tls-key at each load, so a reload takes a
	 * renewed certificate; connections open keep the context they began
	 * with. NULL without listen-tls / listen-https. */
	SSL_CTX *tls_dot;
	SSL_CTX *tls_doh;
};

/*
 * Bind conf (a reference is taken) to runtime records: prev's where they
 * match (see above), fresh ones otherwise. prev may be NULL (start) and is
 * not changed. A group with tls:// servers gets a TLS client context
 * (prev's when prev binds the same conf: lists downloaded, nothing read
 * again), and so do the encrypted listeners. NULL with the reason in
 * err: out of memory, a tls-ca that cannot be loaded, a certificate that
 * went away since the check.
 */
struct runstate *runstate_new(struct config *conf, const struct runstate *prev,
                              char *err, size_t cap);
struct runstate *runstate_ref(struct runstate *rs);
/*
 * Give view i of rs the index set (taken over) in place of the one it had:
 * for a runstate not yet handed to the workers. 0, or -1 when out of
 * memory (set is freed).
 */
int runstate_set_blocks(struct runstate *rs, size_t i, struct blockset *set);
/* Drop one reference; frees on the last. NULL is ignored. */
void runstate_unref(struct runstate *rs);

/* The record of server i of group u (u is one of rs->conf's groups). */
static inline struct server_state *
runstate_server(const struct runstate *rs, const struct upstream_conf *u,
                size_t i)
{
	return rs->groups[u->index]->servers[i];
}

/* One more holder of server record s, and its release (a worker's TLS
 * connections outlive the runstate they were opened under). */
struct server_state *server_state_ref(struct server_state *s);
void server_state_unref(struct server_state *s);

/* A failed attempt of kind k, for the streak and last_failure. */
void server_health_failed(struct server_health *h, enum up_error_kind k);
/* The server went up or down just now. */
void server_health_changed(struct server_health *h);
/* Failed attempts of kind k in the current streak. */
unsigned server_health_streak(const struct server_health *h,
                              enum up_error_kind k);

/* An answer ends the streak (on the query path: a load when it is 0). */
static inline void
server_health_answered(struct server_health *h)
{
	if (atomic_load_explicit(&h->streak, memory_order_relaxed) != 0)
		atomic_store_explicit(&h->streak, 0, memory_order_relaxed);
}

static inline struct group_state *
runstate_group(const struct runstate *rs, const struct upstream_conf *u)
{
	return rs->groups[u->index];
}

/* The cache of view v, or NULL. */
static inline struct cache *
runstate_cache(const struct runstate *rs, const struct view_conf *v)
{
	return rs->cache_of[v->index];
}

/* The counters of view v; NULL v: queries that never reached a view. */
static inline struct view_stats *
runstate_view_stats(const struct runstate *rs, const struct view_conf *v)
{
	return &rs->views[v != NULL ? v->index : rs->conf->nviews]->stats;
}

#endif
