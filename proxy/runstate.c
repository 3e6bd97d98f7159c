/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/runstate.c — runtime records that survive a reload (runstate.h).
 */
#include "proxy/runstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dns/name.h"
#include "ratelimit/siphash.h"
#include "tls/tls.h"

static bool
same_name(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

struct server_state *
server_state_ref(struct server_state *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
server_state_unref(struct server_state *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s);
}

static void
group_unref(struct group_state *g)
{
	if (g == NULL || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	for (size_t i = 0; i < g->nservers; i++)
		server_state_unref(g->servers[i]);
	free(g->servers);
	free(g->name);
	SSL_CTX_free(g->tls);
	free(g);
}

static void
view_unref(struct view_state *v)
{
	if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	free(v->name);
	free(v);
}

/* A server record of group g (old or being built) for ep, or NULL. */
static struct server_state *
server_find(struct server_state *const *servers, size_t n,
            const struct endpoint *ep)
{
	for (size_t i = 0; i < n; i++)
		if (servers[i] != NULL && servers[i]->port == ep->port &&
		    ip_addr_equal(&servers[i]->addr, &ep->addr))
			return servers[i];
	return NULL;
}

static struct server_state *
server_get(const struct upstream_conf *u, size_t i, const struct group_state *g,
           const struct group_state *old)
{
	const struct endpoint *ep = &u->servers[i];
	/* A server listed twice in one group is one server: one record. */
	struct server_state *s = server_find(g->servers, i, ep);

	if (s == NULL && old != NULL)
		s = server_find(old->servers, old->nservers, ep);
	if (s != NULL) {
		atomic_fetch_add(&s->refs, 1);
		return s;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->addr = ep->addr;
	s->port = ep->port;
	server_health_changed(&s->health); /* up since now */
	return s;
}

_Static_assert(UPERR_TIMEOUT == 0 && UPERR_NETWORK == 1 &&
                   UPERR_SERVFAIL == 2 && UPERR_REFUSED == 3 &&
                   HEALTH_STREAK_KINDS * HEALTH_STREAK_BITS <= 64,
               "the streak holds timeouts, network errors, SERVFAILs and "
               "REFUSEDs");

void
server_health_failed(struct server_health *h, enum up_error_kind k)
{
	const uint64_t max = ((uint64_t)1 << HEALTH_STREAK_BITS) - 1;
	unsigned shift = HEALTH_STREAK_BITS * (unsigned)k;
	uint64_t old;

	if ((unsigned)k >= HEALTH_STREAK_KINDS)
		return;
	old = atomic_load_explicit(&h->streak, memory_order_relaxed);
	/* Failures only: a compare-and-swap loop costs nothing that matters
	 * here, and keeps a count from carrying into the next kind's. */
	while (((old >> shift) & max) != max &&
	       !atomic_compare_exchange_weak_explicit(
	           &h->streak, &old, old + ((uint64_t)1 << shift),
	           memory_order_relaxed, memory_order_relaxed))
		;
	atomic_store_explicit(&h->last_failure, (unsigned)k + 1,
	                      memory_order_relaxed);
}

void
server_health_changed(struct server_health *h)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store_explicit(&h->since_ms,
	                      (uint64_t)ts.tv_sec * 1000 +
	                          (uint64_t)ts.tv_nsec / 1000000,
	                      memory_order_relaxed);
}

unsigned
server_health_streak(const struct server_health *h, enum up_error_kind k)
{
	uint64_t s = atomic_load_explicit(&h->streak, memory_order_relaxed);

	if ((unsigned)k >= HEALTH_STREAK_KINDS)
		return 0;
	return (unsigned)(s >> (HEALTH_STREAK_BITS * (unsigned)k)) &
	       ((1u << HEALTH_STREAK_BITS) - 1);
}

static const struct group_state *
old_group(const struct runstate *prev, const char *name)
{
	if (prev == NULL)
		return NULL;
	for (size_t i = 0; i < prev->conf->nupstreams; i++)
		if (same_name(prev->groups[i]->name, name))
			return prev->groups[i];
	return NULL;
}

/*
 * The TLS client context of group u (tls-ca, or the system store): old's
 * when the configuration is the same one (a runstate made for downloaded
 * lists), a new one otherwise. 0, or -1 with the reason in err.
 */
static int
group_tls(struct group_state *g, const struct upstream_conf *u,
          const struct group_state *old, bool same_conf, char *err, size_t cap)
{
	char why[512];

	if (!u->has_tls)
		return 0;
	if (same_conf && old != NULL && old->tls != NULL) {
		SSL_CTX_up_ref(old->tls);
		g->tls = old->tls;
		return 0;
	}
	g->tls = tls_client_ctx_new(u->tls_ca, why, sizeof(why));
	if (g->tls == NULL) {
		snprintf(err, cap, "[upstream %s] %s", u->name, why);
		return -1;
	}
	return 0;
}

static struct group_state *
group_get(const struct upstream_conf *u, const struct runstate *prev,
          bool same_conf, char *err, size_t cap)
{
	const struct group_state *old = old_group(prev, u->name);
	struct group_state *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->name = strdup(u->name);
	g->servers = calloc(u->nservers + 1, sizeof(*g->servers));
	if (g->name == NULL || g->servers == NULL)
		goto fail;
	if (old != NULL)
		atomic_store(&g->rr_next, atomic_load(&old->rr_next));
	for (size_t i = 0; i < u->nservers; i++) {
		g->servers[i] = server_get(u, i, g, old);
		if (g->servers[i] == NULL)
			goto fail;
		g->nservers++;
	}
	if (group_tls(g, u, old, same_conf, err, cap) < 0) {
		group_unref(g);
		return NULL;
	}
	return g;
fail:
	snprintf(err, cap, "out of memory");
	group_unref(g);
	return NULL;
}

static struct view_state *
view_get(const char *name, const struct runstate *prev)
{
	struct view_state *v;

	if (prev != NULL) {
		for (size_t i = 0; i <= prev->conf->nviews; i++) {
			v = prev->views[i];
			if (same_name(v->name, name)) {
				atomic_fetch_add(&v->refs, 1);
				return v;
			}
		}
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	atomic_init(&v->refs, 1);
	if (name != NULL && (v->name = strdup(name)) == NULL) {
		free(v);
		return NULL;
	}
	return v;
}

static void
view_cache_unref(struct view_cache *vc)
{
	if (vc == NULL || atomic_fetch_sub(&vc->refs, 1) != 1)
		return;
	cache_free(vc->cache);
	free(vc->sig);
	free(vc);
}

/* The same cache: the parameters the cache itself uses agree. */
static bool
same_params(const struct cache_params *a, const struct cache_params *b)
{
	return a->size == b->size && a->min_ttl == b->min_ttl &&
	       a->max_ttl == b->max_ttl && a->serve_stale == b->serve_stale &&
	       a->stale_ttl == b->stale_ttl && a->max_stale == b->max_stale &&
	       a->prefetch == b->prefetch &&
	       a->servfail_ttl == b->servfail_ttl && a->shards == b->shards;
}

/*
 * What the stored answers depend on besides the servers: whether rebind
 * protection filtered them, and which names it spared (the view's local
 * zones), as a hash.
 */
static uint64_t
filter_print(const struct view_conf *v)
{
	static const uint8_t key[SIPHASH_KEY_LEN] = {'r', 'e', 'b',
	                                             'i', 'n', 'd'};
	uint64_t h = v->rebind_protection;

	for (size_t i = 0; v->rebind_protection && i < v->local.nzones; i++) {
		const uint8_t *n = v->local.zones[i].name;
		uint8_t out[SIPHASH_OUT_LEN];
		uint64_t x;

		siphash24(key, n, dns_name_len(n), out);
		memcpy(&x, out, sizeof(x));
		h ^= x; /* zones come in any order */
	}
	return h;
}

/* Room for "|NAME|server,server,..." of group u (NULL: "|-|"). */
static size_t
group_sig_len(const struct upstream_conf *u)
{
	return u == NULL ? 4
	                 : strlen(u->name) + 3 +
	                       u->nservers * (IP_ENDPOINT_TEXT_MAX + 1);
}

/* "|NAME|server,server,..." at sig + n; the new length. */
static size_t
group_sig(char *sig, size_t n, size_t cap, const struct upstream_conf *u)
{
	if (n < cap)
		n += (size_t)snprintf(sig + n, cap - n, "|%s|",
		                      u != NULL ? u->name : "-");
	for (size_t i = 0; u != NULL && i < u->nservers && n < cap; i++)
		n += (size_t)snprintf(sig + n, cap - n, "%s,",
		                      u->servers[i].text);
	return n;
}

/*
 * "view|filter|group|server,...|>suffix|group|server,..." for a
 * forwarding view: its upstream and each forward-zone with its group, so
 * a change of any group the view forwards to, or of its forward-zones,
 * makes another cache.
 */
static char *
cache_sig(const struct view_conf *v)
{
	const struct forward_zones *fz = &v->forward;
	size_t cap = strlen(v->name) + 24 + group_sig_len(v->upstream);
	char *sig;
	size_t n;

	for (size_t i = 0; i < fz->n; i++)
		cap += strlen(fz->zones[i].text) + 2 +
		       group_sig_len(fz->zones[i].group);
	if ((sig = malloc(cap)) == NULL)
		return NULL;
	n = (size_t)snprintf(sig, cap, "%s|%016llx", v->name,
	                     (unsigned long long)filter_print(v));
	n = group_sig(sig, n, cap, v->upstream);
	for (size_t i = 0; i < fz->n && n < cap; i++) {
		n += (size_t)snprintf(sig + n, cap - n, "|>%s",
		                      fz->zones[i].text);
		n = group_sig(sig, n, cap, fz->zones[i].group);
	}
	return sig;
}

static struct view_cache *
view_cache_get(const struct config *conf, const struct view_conf *v,
               const struct runstate *prev)
{
	struct view_cache *vc;
	uint8_t key[CACHE_HASH_KEY_LEN];
	char *sig = cache_sig(v);

	if (sig == NULL)
		return NULL;
	for (size_t i = 0; prev != NULL && i < prev->conf->nviews; i++) {
		vc = prev->caches[i];
		if (vc != NULL && strcmp(vc->sig, sig) == 0 &&
		    same_params(&vc->params, &conf->cache)) {
			free(sig);
			atomic_fetch_add(&vc->refs, 1);
			return vc;
		}
	}
	vc = calloc(1, sizeof(*vc));
	/* A secret hash key: clients cannot aim names at one bucket. */
	if (vc == NULL || getrandom(key, sizeof(key), 0) != sizeof(key)) {
		free(vc);
		free(sig);
		return NULL;
	}
	atomic_init(&vc->refs, 1);
	vc->sig = sig;
	vc->params = conf->cache;
	vc->cache = cache_new(&conf->cache, key);
	if (vc->cache == NULL) {
		view_cache_unref(vc);
		return NULL;
	}
	return vc;
}

static void
view_blocks_unref(struct view_blocks *vb)
{
	if (vb == NULL || atomic_fetch_sub(&vb->refs, 1) != 1)
		return;
	blockset_free(vb->set);
	free(vb);
}

/* The configuration's indexes, or prev's under the same configuration
 * (indexes rebuilt after downloads carry over until the next reload). */
static int
blocks_bind(struct runstate *rs, const struct runstate *prev)
{
	const struct config *conf = rs->conf;
	bool same = prev != NULL && prev->conf == conf;

	rs->blocks = calloc(conf->nviews + 1, sizeof(*rs->blocks));
	rs->blocks_of = calloc(conf->nviews + 1, sizeof(*rs->blocks_of));
	if (rs->blocks == NULL || rs->blocks_of == NULL)
		return -1;
	for (size_t i = 0; i < conf->nviews; i++) {
		rs->blocks_of[i] = conf->views[i]->blocks;
		if (!same || prev->blocks[i] == NULL)
			continue;
		rs->blocks[i] = prev->blocks[i];
		atomic_fetch_add(&rs->blocks[i]->refs, 1);
		rs->blocks_of[i] = rs->blocks[i]->set;
	}
	return 0;
}

int
runstate_set_blocks(struct runstate *rs, size_t i, struct blockset *set)
{
	struct view_blocks *vb = calloc(1, sizeof(*vb));

	if (vb == NULL) {
		blockset_free(set);
		return -1;
	}
	atomic_init(&vb->refs, 1);
	vb->set = set;
	view_blocks_unref(rs->blocks[i]);
	rs->blocks[i] = vb;
	rs->blocks_of[i] = set;
	return 0;
}

static int
caches_bind(struct runstate *rs, const struct runstate *prev)
{
	const struct config *conf = rs->conf;

	rs->caches = calloc(conf->nviews + 1, sizeof(*rs->caches));
	rs->cache_of = calloc(conf->nviews + 1, sizeof(*rs->cache_of));
	if (rs->caches == NULL || rs->cache_of == NULL)
		return -1;
	for (size_t i = 0; i < conf->nviews; i++) {
		const struct view_conf *v = conf->views[i];

		if (conf->cache.size == 0 || !view_forwards(v))
			continue;
		rs->caches[i] = view_cache_get(conf, v, prev);
		if (rs->caches[i] == NULL)
			return -1;
		rs->cache_of[i] = rs->caches[i]->cache;
	}
	return 0;
}

/*
 * The listeners' TLS contexts: prev's when it has the same configuration
 * (a list download rebinding it), else made from the files, which a
 * reload may have renewed.
 */
static int
tls_bind(struct runstate *rs, const struct runstate *prev, char *err,
         size_t cap)
{
	const struct server_conf *s = &rs->conf->server;
	struct tls_server_params p = {
	    .cert = s->tls_cert,
	    .key = s->tls_key,
	    .min_version = s->tls_min_version,
	    .ciphers = s->tls_ciphers,
	    .ticket_lifetime_s = s->tls_ticket_rotation_ms / 1000,
	};

	if (prev != NULL && prev->conf == rs->conf) {
		if ((rs->tls_dot = prev->tls_dot) != NULL)
			SSL_CTX_up_ref(rs->tls_dot);
		if ((rs->tls_doh = prev->tls_doh) != NULL)
			SSL_CTX_up_ref(rs->tls_doh);
		return 0;
	}
	tls_tickets_configure(s->tls_ticket_rotation_ms / 1000);
	if (s->tls_listens.n > 0 && (rs->tls_dot = tls_server_ctx_new(
	                                 &p, TLS_ALPN_DOT, err, cap)) == NULL)
		return -1;
	if (s->https_listens.n > 0 && (rs->tls_doh = tls_server_ctx_new(
	                                   &p, TLS_ALPN_H2, err, cap)) == NULL)
		return -1;
	return 0;
}

struct runstate *
runstate_new(struct config *conf, const struct runstate *prev, char *err,
             size_t cap)
{
	struct runstate *rs = calloc(1, sizeof(*rs));
	bool same_conf = prev != NULL && prev->conf == conf;

	/* Until a group says otherwise (its tls-ca). */
	snprintf(err, cap, "out of memory");
	if (rs == NULL)
		return NULL;
	atomic_init(&rs->refs, 1);
	rs->conf = config_ref(conf);
	rs->groups = calloc(conf->nupstreams + 1, sizeof(*rs->groups));
	rs->views = calloc(conf->nviews + 1, sizeof(*rs->views));
	if (rs->groups == NULL || rs->views == NULL)
		goto fail;
	for (size_t i = 0; i < conf->nupstreams; i++)
		if ((rs->groups[i] = group_get(conf->upstreams[i], prev,
		                               same_conf, err, cap)) == NULL)
			goto fail;
	for (size_t i = 0; i <= conf->nviews; i++)
		if ((rs->views[i] = view_get(
		         i < conf->nviews ? conf->views[i]->name : NULL,
		         prev)) == NULL)
			goto fail;
	if (caches_bind(rs, prev) < 0 || blocks_bind(rs, prev) < 0 ||
	    tls_bind(rs, prev, err, cap) < 0)
		goto fail;
	return rs;
fail:
	runstate_unref(rs);
	return NULL;
}

struct runstate *
runstate_ref(struct runstate *rs)
{
	atomic_fetch_add(&rs->refs, 1);
	return rs;
}

void
runstate_unref(struct runstate *rs)
{
	if (rs == NULL || atomic_fetch_sub(&rs->refs, 1) != 1)
		return;
	if (rs->groups != NULL)
		for (size_t i = 0; i < rs->conf->nupstreams; i++)
			group_unref(rs->groups[i]);
	if (rs->views != NULL)
		for (size_t i = 0; i <= rs->conf->nviews; i++)
			view_unref(rs->views[i]);
	if (rs->caches != NULL)
		for (size_t i = 0; i < rs->conf->nviews; i++)
			view_cache_unref(rs->caches[i]);
	free(rs->caches);
	free(rs->cache_of);
	if (rs->blocks != NULL)
		for (size_t i = 0; i < rs->conf->nviews; i++)
			view_blocks_unref(rs->blocks[i]);
	free(rs->blocks);
	free(rs->blocks_of);
	free(rs->groups);
	free(rs->views);
	SSL_CTX_free(rs->tls_dot);
	SSL_CTX_free(rs->tls_doh);
	config_unref(rs->conf);
	free(rs);
}
