/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/control.c — metrics (HTTP GET /metrics) and the control socket.
 *
 * Each client gets one request and one reply, then the connection closes:
 * simple enough that a bounded read buffer and a write queue of one
 * malloc'd reply suffice.
 */
#include "obs/control.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dns/msg.h"
#include "obs/dnstap.h"
#include "obs/process.h"
#include "obs/version.h"
#include "policy/blocklist.h"
#include "proxy/listfetch.h"

#define REQ_MAX     4096
#define CLIENT_IDLE 5.0 /* seconds a client may take to send its request */

struct ctl_client {
	ev_io io;
	ev_timer timer;
	bool http;
	int fd;
	char req[REQ_MAX];
	size_t reqlen;
	char *reply;
	size_t replylen, replyoff;
};

static struct {
	struct daemon *d;
	control_reload_fn reload;
	ev_io metrics_io, ctl_io;
	int metrics_fd, ctl_fd;
	char *ctl_path;
} cs = {.metrics_fd = -1, .ctl_fd = -1};

/* ---- metrics ---- */

/*
 * Worker counters that are one number for the whole process: summed over
 * the workers, exported as a counter family each and listed under their
 * short name in `ctl stats`.
 */
static const struct {
	const char *name; /* ctl stats */
	const char *family;
	const char *help;
	size_t off; /* of the atomic_ulong in struct worker_stats */
} worker_counters[] = {
    {"upstream_mismatch", "dnsgate_upstream_mismatch_total",
     "Upstream answers ignored: ID, question, source or cookie did not "
     "match the query.",
     offsetof(struct worker_stats, upstream_mismatch)},
    {"upstream_garbage", "dnsgate_upstream_garbage_total",
     "Upstream answers ignored because they could not be parsed.",
     offsetof(struct worker_stats, upstream_garbage)},
    {"nomem", "dnsgate_nomem_total",
     "Queries lost because memory could not be allocated.",
     offsetof(struct worker_stats, nomem)},
    {"send_errors", "dnsgate_send_errors_total",
     "Answers the kernel refused to send to the client.",
     offsetof(struct worker_stats, send_errors)},
    {"udp_oversize", "dnsgate_udp_oversize_total",
     "Client datagrams larger than the largest DNS message dnsgate reads, "
     "dropped.",
     offsetof(struct worker_stats, udp_oversize)},
    {"local_upstream_yields", "dnsgate_local_upstream_yields_total",
     "Queries a worker handed to the worker that owns a local upstream.",
     offsetof(struct worker_stats, local_yields)},
    {"inflight_full", "dnsgate_inflight_full_total",
     "Queries dropped because max-queries-in-flight were waiting.",
     offsetof(struct worker_stats, inflight_full)},
};

#define N_WORKER_COUNTERS (sizeof(worker_counters) / sizeof(worker_counters[0]))

static unsigned long
worker_counter_sum(struct daemon *d, size_t k)
{
	unsigned long n = 0;

	for (unsigned i = 0; i < d->nworkers; i++) {
		const char *base = (const char *)&d->workers[i].stats;

		n += atomic_load_explicit(
		    (const atomic_ulong *)(base + worker_counters[k].off),
		    memory_order_relaxed);
	}
	return n;
}

static void
render_worker_counters(struct daemon *d, FILE *f)
{
	for (size_t k = 0; k < N_WORKER_COUNTERS; k++)
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n",
		        worker_counters[k].family, worker_counters[k].help,
		        worker_counters[k].family, worker_counters[k].family,
		        worker_counter_sum(d, k));
}

/* What the kernel and the connection limits kept from the workers. */
static void
render_refusals(struct daemon *d, FILE *f)
{
	unsigned long drops = 0, refused = 0, prefix = 0;

	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = &d->workers[i].stats;

		drops += STAT_GET(s->udp_rcv_drops);
		refused += STAT_GET(s->tcp_refused);
		prefix += STAT_GET(s->tcp_prefix_full);
	}
	fprintf(f,
	        "# HELP dnsgate_udp_receive_drops_total Client datagrams the "
	        "kernel dropped before dnsgate read them.\n"
	        "# TYPE dnsgate_udp_receive_drops_total counter\n"
	        "dnsgate_udp_receive_drops_total %lu\n"
	        "# HELP dnsgate_tcp_refused_total Client TCP connections "
	        "closed at once, by the limit they met.\n"
	        "# TYPE dnsgate_tcp_refused_total counter\n"
	        "dnsgate_tcp_refused_total{limit=\"tcp-max-clients\"} %lu\n"
	        "dnsgate_tcp_refused_total{limit=\"tcp-max-clients-per-"
	        "prefix\"} %lu\n",
	        drops, refused, prefix);
}

static void
render_workers(struct daemon *d, FILE *f)
{
	unsigned long proto[TRANSPORT_COUNT_] = {0}, rc[STATS_RCODES] = {0};
	unsigned long fds[FD_WHERE_N_] = {0};

	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = &d->workers[i].stats;

		for (int t = 0; t < TRANSPORT_COUNT_; t++)
			proto[t] += STAT_GET(s->queries[t]);
		for (int r = 0; r < STATS_RCODES; r++)
			rc[r] += STAT_GET(s->responses[r]);
		for (int k = 0; k < FD_WHERE_N_; k++)
			fds[k] += STAT_GET(s->fd_exhausted[k]);
	}
	fprintf(f, "# HELP dnsgate_queries_total Queries received.\n"
	           "# TYPE dnsgate_queries_total counter\n");
	for (int t = 0; t < TRANSPORT_COUNT_; t++)
		fprintf(f, "dnsgate_queries_total{proto=\"%s\"} %lu\n",
		        transport_name((enum transport)t), proto[t]);
	fprintf(f, "# HELP dnsgate_responses_total Responses sent, by RCODE.\n"
	           "# TYPE dnsgate_responses_total counter\n");
	for (int r = 0; r < STATS_RCODES; r++)
		if (rc[r] > 0 || r <= DNS_RCODE_REFUSED)
			fprintf(f,
			        "dnsgate_responses_total{rcode=\"%s\"} %lu\n",
			        dns_rcode_name((unsigned)r), rc[r]);
	fprintf(f,
	        "# HELP dnsgate_tcp_connections Open client TCP "
	        "connections.\n"
	        "# TYPE dnsgate_tcp_connections gauge\n"
	        "dnsgate_tcp_connections %u\n",
	        atomic_load(&d->tcp_clients));
	fprintf(f,
	        "# HELP dnsgate_log_dropped_total Log lines dropped "
	        "because the log ring was full.\n"
	        "# TYPE dnsgate_log_dropped_total counter\n"
	        "dnsgate_log_dropped_total %lu\n"
	        "# HELP dnsgate_dnstap_dropped_total dnstap messages "
	        "dropped.\n"
	        "# TYPE dnsgate_dnstap_dropped_total counter\n"
	        "dnsgate_dnstap_dropped_total %lu\n",
	        log_dropped_total(), dnstap_dropped_total());
	fprintf(f,
	        "# HELP dnsgate_fd_exhausted_total Upstream sockets not opened "
	        "and TCP accepts failed for want of file descriptors (EMFILE, "
	        "ENFILE).\n"
	        "# TYPE dnsgate_fd_exhausted_total counter\n"
	        "dnsgate_fd_exhausted_total{where=\"upstream\"} %lu\n"
	        "dnsgate_fd_exhausted_total{where=\"accept\"} %lu\n",
	        fds[FD_UPSTREAM], fds[FD_ACCEPT]);
}

/* The encrypted listeners: connections, handshakes, HTTP outcomes. */
static void
render_encrypted(struct daemon *d, FILE *f)
{
	long open[TRANSPORT_COUNT_] = {0};
	unsigned long hs[2][TLS_HS_N_] = {{0}};
	uint64_t get = 0, post = 0, errs[DOH_ERR_COUNT] = {0};

	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = &d->workers[i].stats;
		const struct doh_stats *ds = &d->workers[i].doh_stats;

		for (int t = TRANSPORT_TCP; t < TRANSPORT_COUNT_; t++)
			open[t] += STAT_GET(s->conns_open[t]);
		for (int k = 0; k < 2; k++)
			for (int r = 0; r < TLS_HS_N_; r++)
				hs[k][r] += STAT_GET(s->tls_handshake[k][r]);
		get += ds->get;
		post += ds->post;
		for (int e = 0; e < DOH_ERR_COUNT; e++)
			errs[e] += ds->errors[e];
	}
	fprintf(f, "# HELP dnsgate_client_connections Open client "
	           "connections, by transport.\n"
	           "# TYPE dnsgate_client_connections gauge\n");
	for (int t = TRANSPORT_TCP; t < TRANSPORT_COUNT_; t++)
		fprintf(f, "dnsgate_client_connections{proto=\"%s\"} %ld\n",
		        transport_name((enum transport)t),
		        open[t] > 0 ? open[t] : 0);
	fprintf(f, "# HELP dnsgate_tls_handshakes_total TLS handshakes on "
	           "the DNS over TLS and HTTPS listeners, by result.\n"
	           "# TYPE dnsgate_tls_handshakes_total counter\n");
	for (int k = 0; k < 2; k++)
		for (int r = 0; r < TLS_HS_N_; r++)
			fprintf(f,
			        "dnsgate_tls_handshakes_total{proto=\"%s\","
			        "result=\"%s\"} %lu\n",
			        k == 0 ? "tls" : "https",
			        tls_handshake_name((enum tls_hs_result)r),
			        hs[k][r]);
	fprintf(f,
	        "# HELP dnsgate_https_requests_total DNS over HTTPS requests "
	        "taken as queries, by method.\n"
	        "# TYPE dnsgate_https_requests_total counter\n"
	        "dnsgate_https_requests_total{method=\"GET\"} %llu\n"
	        "dnsgate_https_requests_total{method=\"POST\"} %llu\n",
	        (unsigned long long)get, (unsigned long long)post);
	fprintf(f, "# HELP dnsgate_https_errors_total DNS over HTTPS "
	           "requests answered with an HTTP error, by status.\n"
	           "# TYPE dnsgate_https_errors_total counter\n");
	for (int e = 0; e < DOH_ERR_COUNT; e++)
		fprintf(f, "dnsgate_https_errors_total{status=\"%u\"} %llu\n",
		        doh_error_status((enum doh_error)e),
		        (unsigned long long)errs[e]);
}

static void
render_protection(struct daemon *d, FILE *f)
{
	unsigned long drop = 0, slip = 0, ck[6] = {0};

	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = &d->workers[i].stats;

		drop += STAT_GET(s->rl_drop);
		slip += STAT_GET(s->rl_slip);
		for (int k = 0; k < 6; k++)
			ck[k] += STAT_GET(s->cookies[k]);
	}
	fprintf(f,
	        "# HELP dnsgate_ratelimit_total Responses dropped or slipped "
	        "by rate limiting.\n"
	        "# TYPE dnsgate_ratelimit_total counter\n"
	        "dnsgate_ratelimit_total{result=\"drop\"} %lu\n"
	        "dnsgate_ratelimit_total{result=\"slip\"} %lu\n",
	        drop, slip);
	fprintf(f, "# HELP dnsgate_cookies_total Queries with a COOKIE "
	           "option, by what it proved.\n"
	           "# TYPE dnsgate_cookies_total counter\n");
	for (int k = COOKIE_MALFORMED; k <= COOKIE_VALID; k++)
		fprintf(f, "dnsgate_cookies_total{result=\"%s\"} %lu\n",
		        cookie_status_name(k), ck[k]);
}

static void
render_views(const struct runstate *rs, FILE *f)
{
	const struct config *c = rs->conf;

	fprintf(f, "# HELP dnsgate_decisions_total Decisions, by view and "
	           "action.\n"
	           "# TYPE dnsgate_decisions_total counter\n");
	/* views[nviews] counts queries that never reached a view. */
	for (size_t v = 0; v <= c->nviews; v++)
		for (int a = 1; a < ACTION_COUNT_; a++) {
			unsigned long n =
			    STAT_GET(rs->views[v]->stats.actions[a]);

			if (n > 0)
				fprintf(f,
				        "dnsgate_decisions_total{view=\"%s\","
				        "action=\"%s\"} %lu\n",
				        v < c->nviews ? c->views[v]->name : "",
				        decision_action_name(a), n);
		}
}

/* One family of cache_stats (the field at off), per view with a cache. */
static void
cache_family(const struct runstate *rs, FILE *f, const char *name,
             const char *help, const char *type, size_t off)
{
	const struct config *c = rs->conf;

	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t v = 0; v < c->nviews; v++) {
		struct cache_stats st;
		uint64_t n;

		if (rs->cache_of[v] == NULL)
			continue;
		st = cache_stats(rs->cache_of[v]);
		memcpy(&n, (const char *)&st + off, sizeof(n));
		fprintf(f, "%s{view=\"%s\"} %llu\n", name, c->views[v]->name,
		        (unsigned long long)n);
	}
}

/* The cache families, for the views that have a cache. */
static void
render_caches(const struct runstate *rs, FILE *f)
{
	static const char *const results[CACHE_COUNT_N_] = {
	    [CACHE_COUNT_HIT] = "hit",
	    [CACHE_COUNT_MISS] = "miss",
	    [CACHE_COUNT_STALE] = "stale",
	    [CACHE_COUNT_PREFETCH] = "prefetch",
	};
	const struct config *c = rs->conf;

	fprintf(f, "# HELP dnsgate_cache_total Cache lookups, by view and "
	           "result.\n"
	           "# TYPE dnsgate_cache_total counter\n");
	for (size_t v = 0; v < c->nviews; v++) {
		if (rs->cache_of[v] == NULL)
			continue;
		for (int k = 0; k < CACHE_COUNT_N_; k++)
			fprintf(
			    f,
			    "dnsgate_cache_total{view=\"%s\",result=\"%s\"} "
			    "%lu\n",
			    c->views[v]->name, results[k],
			    STAT_GET(rs->views[v]->stats.cache[k]));
	}
	cache_family(rs, f, "dnsgate_cache_entries", "Entries in the cache.",
	             "gauge", offsetof(struct cache_stats, entries));
	cache_family(rs, f, "dnsgate_cache_bytes",
	             "Memory the cache counts against its size.", "gauge",
	             offsetof(struct cache_stats, bytes));
	cache_family(rs, f, "dnsgate_cache_evictions_total",
	             "Entries evicted to stay within the size.", "counter",
	             offsetof(struct cache_stats, evictions));
}

void
metrics_label_value(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/*
 * The sum of field (an offset into struct blocklist_info) over the lists
 * of set with the kind and name of list i, or false when one of them came
 * before i: two lists with one name (a/ads.txt, b/ads.txt) are one series,
 * as they are one name in EXTRA-TEXT.
 */
static bool
list_sum(const struct blockset *set, size_t i, size_t field, size_t *sum)
{
	const struct blockset_list *a = blockset_list_get(set, i), *b;
	size_t n;

	*sum = 0;
	for (size_t j = 0; j < blockset_list_count(set); j++) {
		b = blockset_list_get(set, j);
		if (b->allowlist != a->allowlist ||
		    strcmp(b->name, a->name) != 0)
			continue;
		if (j < i)
			return false;
		memcpy(&n, (const char *)&b->info + field, sizeof(n));
		*sum += n;
	}
	return true;
}

/* One sample per list of every view: field of its blocklist_info. */
static void
list_samples(const struct runstate *rs, FILE *f, const char *name,
             const char *reason, size_t field)
{
	const struct config *c = rs->conf;
	const struct blockset *set;
	size_t sum;

	for (size_t v = 0; v < c->nviews; v++) {
		/* The index in use: a list named by URL may have been
		 * downloaded since the configuration was loaded. */
		set = rs->blocks_of[v];
		for (size_t i = 0; i < blockset_list_count(set); i++) {
			const struct blockset_list *bl =
			    blockset_list_get(set, i);

			if (!list_sum(set, i, field, &sum))
				continue;
			fprintf(f, "%s{view=\"%s\",kind=\"%s\",list=\"", name,
			        c->views[v]->name,
			        bl->allowlist ? "allowlist" : "blocklist");
			metrics_label_value(f, bl->name);
			if (reason != NULL)
				fprintf(f, "\",reason=\"%s", reason);
			fprintf(f, "\"} %zu\n", sum);
		}
	}
}

/* What the lists of each view hold: as loaded, or as downloaded since. */
static void
render_lists(const struct runstate *rs, FILE *f)
{
	fputs("# HELP dnsgate_list_entries Entries a blocklist or allowlist "
	      "held when loaded (names or RPZ triggers).\n"
	      "# TYPE dnsgate_list_entries gauge\n",
	      f);
	list_samples(rs, f, "dnsgate_list_entries", NULL,
	             offsetof(struct blocklist_info, entries));
	fputs("# HELP dnsgate_list_skipped Entries of a list skipped when "
	      "loaded: bad (could not be read) or unsupported (a rule dnsgate "
	      "does not apply).\n"
	      "# TYPE dnsgate_list_skipped gauge\n",
	      f);
	list_samples(rs, f, "dnsgate_list_skipped", "bad",
	             offsetof(struct blocklist_info, bad));
	list_samples(rs, f, "dnsgate_list_skipped", "unsupported",
	             offsetof(struct blocklist_info, unsupported));
}

static void
render_histogram(const struct runstate *rs, const struct upstream_conf *u,
                 size_t s, FILE *f)
{
	const struct server_stats *st = &runstate_server(rs, u, s)->stats;
	unsigned long cum = 0;

	for (int b = 0; b < LATENCY_BUCKETS; b++) {
		char le[32];

		cum += STAT_GET(st->latency[b]);
		if (latency_bounds[b] < 0)
			snprintf(le, sizeof(le), "+Inf");
		else
			snprintf(le, sizeof(le), "%g", latency_bounds[b]);
		fprintf(
		    f,
		    "dnsgate_upstream_latency_seconds_bucket{upstream=\"%s\","
		    "server=\"%s\",le=\"%s\"} %lu\n",
		    u->name, u->servers[s].text, le, cum);
	}
	fprintf(f,
	        "dnsgate_upstream_latency_seconds_sum{upstream=\"%s\","
	        "server=\"%s\"} %.6f\n"
	        "dnsgate_upstream_latency_seconds_count{upstream=\"%s\","
	        "server=\"%s\"} %lu\n",
	        u->name, u->servers[s].text, STAT_GET(st->latency_sum_us) / 1e6,
	        u->name, u->servers[s].text, cum);
}

/* The upstream families, in text-format order: one family at a time. */
enum up_family {
	UPF_QUERIES,
	UPF_ERRORS,
	UPF_UP,
	UPF_LATENCY,
	UPF_TLS_CONNS, /* tls:// servers only */
	UPF_TLS_HANDSHAKES,
	UPF_N_
};

static void
render_upstream_sample(const struct runstate *rs, const struct upstream_conf *u,
                       size_t s, enum up_family fam, FILE *f)
{
	const char *srv = u->servers[s].text;
	const struct server_state *ss = runstate_server(rs, u, s);

	switch (fam) {
	case UPF_QUERIES:
		fprintf(f,
		        "dnsgate_upstream_queries_total{upstream=\"%s\","
		        "server=\"%s\"} %lu\n",
		        u->name, srv, STAT_GET(ss->stats.queries));
		break;
	case UPF_ERRORS:
		for (int k = 0; k < UPERR_COUNT_; k++)
			fprintf(f,
			        "dnsgate_upstream_errors_total{upstream=\"%s\","
			        "server=\"%s\",kind=\"%s\"} %lu\n",
			        u->name, srv, up_error_name(k),
			        STAT_GET(ss->stats.errors[k]));
		break;
	case UPF_UP:
		fprintf(f,
		        "dnsgate_upstream_up{upstream=\"%s\",server=\"%s\"} "
		        "%d\n",
		        u->name, srv, atomic_load(&ss->health.down) ? 0 : 1);
		break;
	case UPF_LATENCY:
		render_histogram(rs, u, s, f);
		break;
	case UPF_TLS_CONNS:
		if (u->servers[s].tls)
			fprintf(
			    f,
			    "dnsgate_upstream_tls_connections{upstream=\"%s\","
			    "server=\"%s\"} %ld\n",
			    u->name, srv, STAT_GET(ss->stats.tls_connections));
		break;
	case UPF_TLS_HANDSHAKES:
		for (int k = 0; u->servers[s].tls && k <= TLS_HS_FAILED; k++)
			fprintf(
			    f,
			    "dnsgate_upstream_tls_handshakes_total{upstream="
			    "\"%s\",server=\"%s\",result=\"%s\"} %lu\n",
			    u->name, srv, tls_handshake_name(k),
			    STAT_GET(ss->stats.tls_handshakes[k]));
		break;
	case UPF_N_:
		break;
	}
}

static void
render_upstreams(const struct runstate *rs, FILE *f)
{
	static const char *const head[UPF_N_] = {
	    "# HELP dnsgate_upstream_queries_total Queries sent to each "
	    "upstream server (attempts, TCP retries included).\n"
	    "# TYPE dnsgate_upstream_queries_total counter\n",
	    "# HELP dnsgate_upstream_errors_total Failed attempts, by upstream "
	    "server and kind.\n"
	    "# TYPE dnsgate_upstream_errors_total counter\n",
	    "# HELP dnsgate_upstream_up 1 while the server is up, 0 while it "
	    "is down and skipped.\n"
	    "# TYPE dnsgate_upstream_up gauge\n",
	    "# HELP dnsgate_upstream_latency_seconds Time from sending a "
	    "query to an upstream server to its answer.\n"
	    "# TYPE dnsgate_upstream_latency_seconds histogram\n",
	    "# HELP dnsgate_upstream_tls_connections TLS connections open to "
	    "each tls:// server, all workers together.\n"
	    "# TYPE dnsgate_upstream_tls_connections gauge\n",
	    "# HELP dnsgate_upstream_tls_handshakes_total Connection attempts "
	    "to each tls:// server, by result: a full handshake, a resumed "
	    "session, or failed (connect, handshake or certificate).\n"
	    "# TYPE dnsgate_upstream_tls_handshakes_total counter\n",
	};
	const struct config *c = rs->conf;

	for (int fam = 0; fam < UPF_N_; fam++) {
		fputs(head[fam], f);
		for (size_t i = 0; i < c->nupstreams; i++)
			for (size_t s = 0; s < c->upstreams[i]->nservers; s++)
				render_upstream_sample(rs, c->upstreams[i], s,
				                       (enum up_family)fam, f);
	}
}

void
metrics_render(struct daemon *d, FILE *f)
{
	struct runstate *rs;

	pthread_mutex_lock(&d->conf_lock);
	rs = runstate_ref(d->rs);
	pthread_mutex_unlock(&d->conf_lock);
	render_workers(d, f);
	render_refusals(d, f);
	render_protection(d, f);
	render_encrypted(d, f);
	render_views(rs, f);
	render_caches(rs, f);
	render_lists(rs, f);
	render_upstreams(rs, f);
	runstate_unref(rs);
	render_worker_counters(d, f);
	listfetch_metrics(d->lists, f);
	fprintf(f,
	        "# HELP dnsgate_build_info The running version; always 1.\n"
	        "# TYPE dnsgate_build_info gauge\n"
	        "dnsgate_build_info{version=\"%s\"} 1\n",
	        DNSGATE_VERSION);
	process_metrics_render(f);
}

/* ---- control commands ---- */

static void
cmd_stats(struct daemon *d, FILE *f)
{
	unsigned long refused = 0, prefix = 0;

	for (unsigned i = 0; i < d->nworkers; i++) {
		refused += STAT_GET(d->workers[i].stats.tcp_refused);
		prefix += STAT_GET(d->workers[i].stats.tcp_prefix_full);
	}
	metrics_render(d, f);
	fputs("# internal\n", f);
	for (size_t k = 0; k < N_WORKER_COUNTERS; k++)
		fprintf(f, "%s %lu\n", worker_counters[k].name,
		        worker_counter_sum(d, k));
	/* dnsgate_tcp_refused_total{limit} */
	fprintf(f, "tcp_refused %lu\ntcp_refused_per_prefix %lu\n", refused,
	        prefix);
}

/* "42s", "5m", "1h2m3s", "3d4h": a duration in whole seconds. */
static const char *
duration_text(uint64_t ms, char *buf, size_t cap)
{
	static const struct {
		char unit;
		uint64_t s;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	uint64_t left = ms / 1000;
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 4 && n < cap; i++)
		if (left >= units[i].s || (i == 3 && n == 0)) {
			n += (size_t)snprintf(
			    buf + n, cap - n, "%llu%c",
			    (unsigned long long)(left / units[i].s),
			    units[i].unit);
			left %= units[i].s;
		}
	return buf;
}

/* RFC 3339 in UTC with milliseconds, as the decision log writes it. */
static const char *
rfc3339_text(uint64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char sec[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(sec, sizeof(sec), "1970-01-01T00:00:00");
	snprintf(buf, cap, "%s.%03uZ", sec, (unsigned)(ms % 1000));
	return buf;
}

/* "timeout:2,servfail:1": the streak of failed attempts, or "none". */
static const char *
streak_text(const struct server_health *h, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int k = 0; k < HEALTH_STREAK_KINDS && n < cap; k++) {
		unsigned c = server_health_streak(h, (enum up_error_kind)k);

		if (c > 0)
			n += (size_t)snprintf(buf + n, cap - n, "%s%s:%u",
			                      n > 0 ? "," : "",
			                      up_error_name(k), c);
	}
	return n > 0 ? buf : "none";
}

/*
 * One line per server: the fields up to servfails= as they always were
 * (scripts split on blanks), then why and since when (dnsgate(8)).
 */
static void
upstream_line(const struct upstream_conf *u, size_t s,
              const struct server_state *ss, uint64_t now_ms, FILE *f)
{
	const struct server_health *h = &ss->health;
	uint64_t since = atomic_load(&h->since_ms);
	unsigned last = atomic_load(&h->last_failure);
	char streak[96], at[40], dur[32];

	fprintf(
	    f,
	    "%s %s %s srtt=%.1fms fails=%u queries=%lu timeouts=%lu "
	    "servfails=%lu failures=%s last-failure=%s since=%s for=%s\n",
	    u->name, u->servers[s].text, atomic_load(&h->down) ? "down" : "up",
	    atomic_load(&h->srtt_us) / 1000.0, atomic_load(&h->fails),
	    STAT_GET(ss->stats.queries),
	    STAT_GET(ss->stats.errors[UPERR_TIMEOUT]),
	    STAT_GET(ss->stats.errors[UPERR_SERVFAIL]),
	    streak_text(h, streak, sizeof(streak)),
	    last > 0 ? up_error_name((enum up_error_kind)(last - 1)) : "none",
	    rfc3339_text(since, at, sizeof(at)),
	    duration_text(now_ms > since ? now_ms - since : 0, dur,
	                  sizeof(dur)));
}

static void
cmd_upstreams(struct daemon *d, FILE *f)
{
	struct runstate *rs;
	const struct config *c;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	pthread_mutex_lock(&d->conf_lock);
	rs = runstate_ref(d->rs);
	pthread_mutex_unlock(&d->conf_lock);
	c = rs->conf;
	for (size_t i = 0; i < c->nupstreams; i++) {
		const struct upstream_conf *u = c->upstreams[i];

		for (size_t s = 0; s < u->nservers; s++)
			upstream_line(u, s, runstate_server(rs, u, s), now, f);
	}
	runstate_unref(rs);
}

/*
 * The arguments of top-clients and top-names: nothing, "--window D" or
 * "--window=D" (D as in dnsgate.conf(5), at most TOP_WINDOW_MAX_MS).
 * 0 / -1 with the error written to f.
 */
static int
top_window(const char *args, uint32_t *window_ms, FILE *f)
{
	char opt[16] = "", val[64] = "", extra[2] = "";
	int n = sscanf(args, " %15[^ =]%*[ =]%63s %1s", opt, val, extra);

	*window_ms = TOP_WINDOW_DEFAULT_MS;
	if (n <= 0)
		return 0;
	if (n != 2 || strcmp(opt, "--window") != 0) {
		fprintf(f, "error: expected [--window D], got '%s'\n", args);
		return -1;
	}
	if (config_parse_duration(val, window_ms) < 0 || *window_ms == 0 ||
	    *window_ms > TOP_WINDOW_MAX_MS) {
		fprintf(f,
		        "error: --window %s: a duration from 1s to %um "
		        "(such as 30s or 5m)\n",
		        val, TOP_WINDOW_MAX_MS / 60000);
		return -1;
	}
	return 0;
}

/* top-clients, top-names [--window D]: heavy hitters (obs/top.h). */
static int
cmd_top(struct daemon *d, enum top_kind kind, const char *args, FILE *f)
{
	struct top **tables = calloc(d->nworkers + 1, sizeof(*tables));
	struct top_row *rows = calloc(TOP_REPORT_MAX, sizeof(*rows));
	char win[32], span[32];
	uint32_t window_ms;
	uint64_t span_ms;
	int n = -1;

	if (top_window(args, &window_ms, f) < 0)
		goto out;
	if (tables == NULL || rows == NULL) {
		fprintf(f, "error: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < d->nworkers; i++)
		tables[i] = d->workers[i].top;
	n = top_report(tables, d->nworkers, kind, window_ms, top_now_ms(), rows,
	               TOP_REPORT_MAX, &span_ms);
	if (n < 0) {
		fprintf(f, "error: out of memory\n");
		goto out;
	}
	fprintf(f,
	        "# approximate query counts in the last %s (slots of %us "
	        "covering %s)\n",
	        duration_text(window_ms, win, sizeof(win)), TOP_SLOT_MS / 1000,
	        duration_text(span_ms, span, sizeof(span)));
	for (int i = 0; i < n; i++) {
		char txt[DNS_NAME_TEXT_MAX];

		if (kind == TOP_CLIENTS)
			ip_addr_format(&rows[i].addr, txt, sizeof(txt));
		else
			dns_name_to_text(rows[i].name, txt, sizeof(txt));
		fprintf(f, "%s %lu\n", txt, rows[i].count);
	}
out:
	free(tables);
	free(rows);
	return n < 0 ? -1 : 0;
}

/*
 * flush-cache [VIEW [NAME]]: every view's cache, one view's, or NAME and
 * everything under it in one view (as rndc flushtree).
 */
static int
cmd_flush_cache(struct daemon *d, const char *args, FILE *f)
{
	char view[128] = "", text[1024] = "";
	uint8_t name[DNS_NAME_MAX];
	struct runstate *rs;
	const struct config *c;
	size_t flushed = 0, caches = 0;
	bool found = false;

	if (sscanf(args, "%127s %1023s", view, text) < 0)
		view[0] = '\0';
	if (text[0] != '\0' && dns_name_from_text(text, NULL, name) == 0) {
		fprintf(f, "error: '%s' is not a domain name\n", text);
		return -1;
	}
	pthread_mutex_lock(&d->conf_lock);
	rs = runstate_ref(d->rs);
	pthread_mutex_unlock(&d->conf_lock);
	c = rs->conf;
	for (size_t v = 0; v < c->nviews; v++) {
		if (view[0] != '\0' && strcmp(view, c->views[v]->name) != 0)
			continue;
		found = true;
		if (rs->cache_of[v] == NULL)
			continue;
		caches++;
		flushed +=
		    cache_flush(rs->cache_of[v], text[0] != '\0' ? name : NULL);
	}
	runstate_unref(rs);
	if (view[0] != '\0' && !found) {
		fprintf(f, "error: no view '%s'\n", view);
		return -1;
	}
	if (caches == 0)
		fprintf(f, "ok: no cache to flush (the cache is off: [cache] "
		           "size = 0, or the view has no upstream)\n");
	else
		fprintf(f, "ok: flushed %zu entries from %zu caches\n", flushed,
		        caches);
	return 0;
}

/* cmd is name, alone or followed by a blank and its arguments. */
static bool
command_is(const char *cmd, const char *name)
{
	size_t n = strlen(name);

	return strncmp(cmd, name, n) == 0 && (cmd[n] == '\0' || cmd[n] == ' ');
}

int
control_command(struct daemon *d, const char *cmd, control_reload_fn rl,
                FILE *f)
{
	if (strcmp(cmd, "reload") == 0) {
		char *errs = NULL;
		size_t errlen = 0;
		FILE *ef = open_memstream(&errs, &errlen);
		int rc = ef != NULL ? rl(ef) : -1;

		if (ef != NULL)
			fclose(ef);
		/* The verdict comes first: the client reads it from line 1. */
		if (rc < 0)
			fprintf(f,
			        "error: reload failed; the running "
			        "configuration stays\n%s",
			        errs != NULL ? errs : "");
		else
			fprintf(f, "ok: reloaded\n%s",
			        errs != NULL ? errs : "");
		free(errs);
		return rc;
	}
	if (strcmp(cmd, "stats") == 0) {
		cmd_stats(d, f);
	} else if (strcmp(cmd, "upstreams") == 0) {
		cmd_upstreams(d, f);
	} else if (command_is(cmd, "top-clients")) {
		return cmd_top(d, TOP_CLIENTS, cmd + 11, f);
	} else if (command_is(cmd, "top-names")) {
		return cmd_top(d, TOP_NAMES, cmd + 9, f);
	} else if (command_is(cmd, "flush-cache")) {
		return cmd_flush_cache(d, cmd + 11, f);
	} else {
		fprintf(f,
		        "error: unknown command '%s' (reload, stats, "
		        "upstreams, top-clients, top-names, flush-cache)\n",
		        cmd);
		return -1;
	}
	return 0;
}

/* ---- connections ---- */

static void
client_free(struct ev_loop *loop, struct ctl_client *cl)
{
	ev_io_stop(loop, &cl->io);
	ev_timer_stop(loop, &cl->timer);
	close(cl->fd);
	free(cl->reply);
	free(cl);
}

static void
client_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct ctl_client *cl = io->data;

	while (cl->replyoff < cl->replylen) {
		ssize_t n = write(cl->fd, cl->reply + cl->replyoff,
		                  cl->replylen - cl->replyoff);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		cl->replyoff += (size_t)n;
	}
	client_free(loop, cl);
}

static void
build_http_reply(struct ctl_client *cl, FILE *f)
{
	char *body = NULL;
	size_t bodylen = 0;
	FILE *bf = open_memstream(&body, &bodylen);
	bool ok = strncmp(cl->req, "GET /metrics ", 13) == 0 ||
	          strncmp(cl->req, "GET /metrics?", 13) == 0;

	if (bf == NULL)
		return;
	if (ok)
		metrics_render(cs.d, bf);
	else
		fprintf(bf, "not found: try GET /metrics\n");
	fclose(bf);
	fprintf(f,
	        "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; "
	        "charset=utf-8\r\nContent-Length: %zu\r\nConnection: "
	        "close\r\n\r\n",
	        ok ? "200 OK" : "404 Not Found", bodylen);
	fwrite(body, 1, bodylen, f);
	free(body);
}

/* The request is complete: build the whole reply, then send it. */
static void
client_respond(struct ev_loop *loop, struct ctl_client *cl)
{
	FILE *f = open_memstream(&cl->reply, &cl->replylen);

	if (f == NULL) {
		client_free(loop, cl);
		return;
	}
	if (cl->http) {
		build_http_reply(cl, f);
	} else {
		cl->req[strcspn(cl->req, "\r\n")] = '\0';
		control_command(cs.d, cl->req, cs.reload, f);
	}
	fclose(f);
	ev_io_stop(loop, &cl->io);
	ev_io_init(&cl->io, client_write_cb, cl->fd, EV_WRITE);
	cl->io.data = cl;
	ev_io_start(loop, &cl->io);
}

static void
client_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct ctl_client *cl = io->data;
	ssize_t n = read(cl->fd, cl->req + cl->reqlen,
	                 sizeof(cl->req) - 1 - cl->reqlen);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(loop, cl);
		return;
	}
	cl->reqlen += (size_t)n;
	cl->req[cl->reqlen] = '\0';
	if ((cl->http && strstr(cl->req, "\r\n\r\n") == NULL &&
	     strstr(cl->req, "\n\n") == NULL) ||
	    (!cl->http && strchr(cl->req, '\n') == NULL)) {
		if (cl->reqlen == sizeof(cl->req) - 1)
			client_free(loop, cl); /* too long: give up */
		return;
	}
	client_respond(loop, cl);
}

static void
client_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	client_free(loop, t->data);
}

static void
accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ctl_client *cl;

	if (fd < 0)
		return;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		close(fd);
		return;
	}
	cl->fd = fd;
	cl->http = io == &cs.metrics_io;
	ev_io_init(&cl->io, client_read_cb, fd, EV_READ);
	cl->io.data = cl;
	ev_timer_init(&cl->timer, client_timeout_cb, CLIENT_IDLE, 0);
	cl->timer.data = cl;
	ev_io_start(loop, &cl->io);
	ev_timer_start(loop, &cl->timer);
}

static int
unix_listen(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A stale socket from an earlier run would make bind fail; anything
	 * else at that path is not ours to delete. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			errno = EEXIST;
			return -1;
		}
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
control_start(struct ev_loop *loop, struct daemon *d, control_reload_fn rl)
{
	const struct server_conf *s = &d->rs->conf->server;

	cs.d = d;
	cs.reload = rl;
	if (s->has_metrics) {
		cs.metrics_fd = socket_listen(&s->metrics, true, false);
		if (cs.metrics_fd < 0) {
			log_msg(LOG_ERR, "metrics-listen %s: %s",
			        s->metrics.text, strerror(errno));
			return -1;
		}
		ev_io_init(&cs.metrics_io, accept_cb, cs.metrics_fd, EV_READ);
		ev_io_start(loop, &cs.metrics_io);
	}
	if (s->control_socket != NULL) {
		cs.ctl_fd = unix_listen(s->control_socket);
		if (cs.ctl_fd < 0) {
			log_msg(LOG_ERR, "control-socket %s: %s",
			        s->control_socket, strerror(errno));
			return -1;
		}
		cs.ctl_path = strdup(s->control_socket);
		ev_io_init(&cs.ctl_io, accept_cb, cs.ctl_fd, EV_READ);
		ev_io_start(loop, &cs.ctl_io);
	}
	return 0;
}

void
control_stop(struct ev_loop *loop)
{
	if (cs.metrics_fd >= 0) {
		ev_io_stop(loop, &cs.metrics_io);
		close(cs.metrics_fd);
		cs.metrics_fd = -1;
	}
	if (cs.ctl_fd >= 0) {
		ev_io_stop(loop, &cs.ctl_io);
		close(cs.ctl_fd);
		cs.ctl_fd = -1;
		unlink(cs.ctl_path);
		free(cs.ctl_path);
		cs.ctl_path = NULL;
	}
}

int
control_client(const char *path, const char *cmd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[4096];
	ssize_t n;
	int fd, rc = 0;
	bool first = true;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "dnsgate ctl: socket path too long\n");
		return 1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "dnsgate ctl: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (dprintf(fd, "%s\n", cmd) < 0) {
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && strncmp(buf, "error:", 6) == 0)
			rc = 1;
		first = false;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return rc;
}
