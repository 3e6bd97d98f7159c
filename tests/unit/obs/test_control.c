/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/obs/test_control.c — metrics and the control socket
 * (obs/control.h) on a daemon struct with two idle workers and no worker
 * threads: the metrics text is Prometheus text format 0.0.4 (checked line
 * by line below), the control commands answer, and the listeners answer a
 * client over a real control socket and a real HTTP connection.
 *
 * Left to tests/system/test_control.py: `dnsgate ctl` itself
 * (control_client), reloads that swap a real configuration, and counters
 * moved by real queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "obs/control.h"
#include "obs/stats.h"

#define NWORKERS 2

/* -- a daemon without threads -------------------------------------------- */

struct fixture {
	struct daemon d;
	char dir[64];
	char sock[128];
	int port; /* metrics-listen */
};

/* A port nobody listens on right now, for metrics-listen. */
static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* The lists setup writes in fx->dir, in the order teardown removes them. */
static const char *const list_files[] = {"ads.txt", "sub/ads.txt", "allow.txt",
                                         "sub"};

/* dir/name with text in it; 0 / -1. */
static int
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char text[1024], sub[200], err[256];
	struct config *conf;

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/dnsgate-ctl-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->sock, sizeof(fx->sock), "%s/ctl.sock", fx->dir);
	fx->port = free_port();
	/* Two lists named ads.txt (one series), one bad and one
	 * unsupported rule in the first. */
	snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
	if (mkdir(sub, 0700) != 0 ||
	    write_file(fx->dir, "ads.txt",
	               "||a.example^\n||b.example^\nbad!name\n"
	               "||c.example^$third-party\n") != 0 ||
	    write_file(sub, "ads.txt", "d.example\n") != 0 ||
	    write_file(fx->dir, "allow.txt", "ok.a.example\n") != 0)
		return -1;
	snprintf(text, sizeof(text),
	         "[server]\n"
	         "listen = 127.0.0.1:5300\n"
	         "control-socket = %s\n"
	         "metrics-listen = 127.0.0.1:%d\n"
	         "[upstream up]\n"
	         "server = 192.0.2.53\n"
	         "[view main]\n"
	         "upstream = up\n"
	         "blocklist = %s/ads.txt\n"
	         "blocklist = %s/ads.txt\n"
	         "allowlist = %s/allow.txt\n",
	         fx->sock, fx->port, fx->dir, sub, fx->dir);
	conf = config_load_string("t.conf", text, NULL);
	if (conf == NULL)
		return -1;
	fx->d.rs = runstate_new(conf, NULL, err, sizeof(err));
	config_unref(conf); /* the runstate holds it */
	if (fx->d.rs == NULL)
		return -1;
	pthread_mutex_init(&fx->d.conf_lock, NULL);
	fx->d.nworkers = NWORKERS;
	fx->d.workers = calloc(NWORKERS, sizeof(*fx->d.workers));
	if (fx->d.workers == NULL)
		return -1;
	for (unsigned i = 0; i < NWORKERS; i++) {
		fx->d.workers[i].top = calloc(1, sizeof(struct top));
		if (fx->d.workers[i].top == NULL)
			return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	for (unsigned i = 0; i < NWORKERS; i++)
		free(fx->d.workers[i].top);
	free(fx->d.workers);
	runstate_unref(fx->d.rs);
	pthread_mutex_destroy(&fx->d.conf_lock);
	unlink(fx->sock);
	for (size_t i = 0; i < sizeof(list_files) / sizeof(list_files[0]);
	     i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", fx->dir, list_files[i]);
		(void)remove(path);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Some of every kind of counter, so the text has values to show. */
static void
count_some(struct daemon *d)
{
	const struct runstate *rs = d->rs;
	const struct config *c = rs->conf;
	struct server_stats *st =
	    &runstate_server(rs, c->upstreams[0], 0)->stats;

	for (unsigned i = 0; i < NWORKERS; i++) {
		struct worker_stats *s = &d->workers[i].stats;

		STAT_INC(s->queries[TRANSPORT_UDP]);
		STAT_INC(s->queries[TRANSPORT_TCP]);
		STAT_INC(s->responses[0]);
		STAT_INC(s->rl_drop);
		STAT_INC(s->cookies[COOKIE_VALID]);
		STAT_INC(s->upstream_mismatch);
		STAT_ADD(s->udp_rcv_drops, 3);
		STAT_INC(s->tcp_prefix_full);
		STAT_INC(s->fd_exhausted[FD_UPSTREAM]);
	}
	STAT_SHARED_INC(
	    runstate_view_stats(rs, c->views[0])->actions[ACTION_FORWARD]);
	STAT_SHARED_INC(runstate_view_stats(rs, NULL)->actions[ACTION_REFUSE]);
	STAT_SHARED_INC(st->queries);
	STAT_SHARED_INC(st->errors[UPERR_TIMEOUT]);
	server_stats_latency(st, 0.003);
	server_stats_latency(st, 2.0);
	atomic_store(&d->tcp_clients, 4);
}

/* Not inlined: gcc 12 then takes the returned buffer for the address of
 * the local it was stored in (-Wdangling-pointer). */
static __attribute__((noinline)) char *
render(void (*fn)(struct daemon *, FILE *), struct daemon *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(d, f);
	fclose(f);
	return buf;
}

/* -- a checker for the Prometheus text format 0.0.4 ---------------------- */

struct family {
	char name[80];
	char type[16];
	bool help, sampled, done;
	double inf_bucket, last_bucket; /* histograms, one series */
};

struct expo {
	struct family fam[64];
	size_t nfam;
	struct family *cur; /* whose samples came last */
};

/* [a-zA-Z_:][a-zA-Z0-9_:]*, for metric names; labels take no ':'. */
static size_t
name_len(const char *p, bool colon)
{
	size_t n = 0;

	while (isalpha((unsigned char)p[n]) || p[n] == '_' ||
	       (colon && p[n] == ':') ||
	       (n > 0 && isdigit((unsigned char)p[n])))
		n++;
	return n;
}

static struct family *
family_find(struct expo *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->nfam; i++)
		if (strlen(e->fam[i].name) == len &&
		    memcmp(e->fam[i].name, name, len) == 0)
			return &e->fam[i];
	return NULL;
}

static struct family *
family_get(struct expo *e, const char *name, size_t len)
{
	struct family *f = family_find(e, name, len);

	assert_true(len > 0 && len < sizeof(e->fam[0].name));
	if (f != NULL)
		return f;
	assert_true(e->nfam < sizeof(e->fam) / sizeof(e->fam[0]));
	f = &e->fam[e->nfam++];
	memcpy(f->name, name, len);
	return f;
}

/* A histogram's _bucket, _sum and _count samples belong to its family. */
static struct family *
sample_family(struct expo *e, const char *name, size_t len, bool *bucket)
{
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};

	*bucket = false;
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(sfx[i]);
		struct family *f;

		if (len <= k || memcmp(name + len - k, sfx[i], k) != 0)
			continue;
		f = family_find(e, name, len - k);
		if (f != NULL && strcmp(f->type, "histogram") == 0) {
			*bucket = i == 0;
			return f;
		}
	}
	return family_get(e, name, len);
}

/* "# HELP name text" or "# TYPE name type"; other comments pass. */
static void
check_comment(struct expo *e, const char *line)
{
	bool help = strncmp(line, "# HELP ", 7) == 0;
	const char *p = line + 7;
	struct family *f;
	size_t n;

	if (!help && strncmp(line, "# TYPE ", 7) != 0)
		return;
	n = name_len(p, true);
	assert_true(p[n] == ' ' && p[n + 1] != '\0');
	f = family_get(e, p, n);
	assert_false(f->done);
	if (help) {
		assert_false(f->help);
		f->help = true;
		return;
	}
	/* One TYPE, before the family's first sample. */
	assert_string_equal(f->type, "");
	assert_false(f->sampled);
	p += n + 1;
	assert_true(strcmp(p, "counter") == 0 || strcmp(p, "gauge") == 0 ||
	            strcmp(p, "histogram") == 0 || strcmp(p, "summary") == 0 ||
	            strcmp(p, "untyped") == 0);
	snprintf(f->type, sizeof(f->type), "%s", p);
}

/* {name="value",...}: the value of le into le (or "" without one). */
static const char *
check_labels(const char *p, char *le, size_t lecap)
{
	le[0] = '\0';
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		size_t n = name_len(p, false), v = 0;
		bool is_le = n == 2 && memcmp(p, "le", 2) == 0;

		assert_true(n > 0);
		p += n;
		assert_true(p[0] == '=' && p[1] == '"');
		for (p += 2; *p != '"'; p++) {
			assert_true(*p != '\0' && *p != '\n');
			if (*p == '\\') {
				p++;
				assert_true(*p == '\\' || *p == '"' ||
				            *p == 'n');
			}
			if (is_le && v + 1 < lecap)
				le[v++] = *p;
		}
		if (is_le)
			le[v] = '\0';
		p++;
		if (*p == ',')
			p++;
		else
			assert_true(*p == '}');
	}
	return p + 1;
}

static double
check_value(const char *p)
{
	char *end;
	double v;

	if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 ||
	    strcmp(p, "NaN") == 0)
		return 0;
	errno = 0;
	v = strtod(p, &end);
	assert_true(end != p && *end == '\0' && errno == 0);
	return v;
}

static void
check_sample(struct expo *e, const char *line)
{
	size_t n = name_len(line, true);
	struct family *f;
	const char *p;
	char le[32];
	bool bucket;
	double v;

	f = sample_family(e, line, n, &bucket);
	/* A family's lines form one group: nothing of it after another's. */
	if (f != e->cur) {
		assert_false(f->done);
		if (e->cur != NULL)
			e->cur->done = true;
		e->cur = f;
	}
	assert_string_not_equal(f->type, "");
	f->sampled = true;
	p = check_labels(line + n, le, sizeof(le));
	assert_true(*p == ' ');
	v = check_value(p + 1);
	if (bucket) {
		/* Cumulative, up to le="+Inf". */
		assert_string_not_equal(le, "");
		assert_true(v >= f->last_bucket);
		f->last_bucket = v;
		if (strcmp(le, "+Inf") == 0)
			f->inf_bucket = v;
	} else if (strcmp(f->type, "histogram") == 0 &&
	           strstr(line, "_count") != NULL) {
		assert_true(v == f->inf_bucket);
	}
}

/* Every line of text; the families it declared in e. */
static void
expo_check(struct expo *e, char *text)
{
	char *line = text, *nl;

	memset(e, 0, sizeof(*e));
	assert_true(text[0] != '\0' && text[strlen(text) - 1] == '\n');
	for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (line[0] == '#')
			check_comment(e, line);
		else if (line[0] != '\0')
			check_sample(e, line);
		*nl = '\n';
	}
}

/* -- the tests ------------------------------------------------------------ */

static void
test_control_metrics_are_prometheus_text(void **state)
{
	static const char *const families[] = {
	    "dnsgate_queries_total",
	    "dnsgate_responses_total",
	    "dnsgate_tcp_connections",
	    "dnsgate_udp_receive_drops_total",
	    "dnsgate_tcp_refused_total",
	    "dnsgate_log_dropped_total",
	    "dnsgate_dnstap_dropped_total",
	    "dnsgate_fd_exhausted_total",
	    "dnsgate_ratelimit_total",
	    "dnsgate_cookies_total",
	    "dnsgate_decisions_total",
	    "dnsgate_cache_total",
	    "dnsgate_cache_entries",
	    "dnsgate_cache_bytes",
	    "dnsgate_cache_evictions_total",
	    "dnsgate_list_entries",
	    "dnsgate_list_skipped",
	    "dnsgate_upstream_queries_total",
	    "dnsgate_upstream_errors_total",
	    "dnsgate_upstream_up",
	    "dnsgate_upstream_latency_seconds",
	    "dnsgate_upstream_tls_connections",
	    "dnsgate_upstream_tls_handshakes_total",
	    "dnsgate_upstream_mismatch_total",
	    "dnsgate_upstream_garbage_total",
	    "dnsgate_nomem_total",
	    "dnsgate_send_errors_total",
	    "dnsgate_udp_oversize_total",
	    "dnsgate_local_upstream_yields_total",
	    "dnsgate_inflight_full_total",
	    "dnsgate_build_info",
	    "dnsgate_client_connections",
	    "dnsgate_tls_handshakes_total",
	    "dnsgate_https_requests_total",
	    "dnsgate_https_errors_total",
	    "process_cpu_seconds_total",
	    "process_virtual_memory_bytes",
	    "process_resident_memory_bytes",
	    "process_open_fds",
	    "process_max_fds",
	    "process_start_time_seconds",
	};
	struct fixture *fx = *state;
	struct expo e;
	char *text;

	count_some(&fx->d);
	text = render(metrics_render, &fx->d);
	expo_check(&e, text);
	assert_int_equal(e.nfam, sizeof(families) / sizeof(families[0]));
	for (size_t i = 0; i < e.nfam; i++) {
		struct family *f =
		    family_find(&e, families[i], strlen(families[i]));

		assert_non_null(f);
		assert_string_not_equal(f->type, "");
		assert_true(f->help);
	}
	assert_non_null(
	    strstr(text, "dnsgate_queries_total{proto=\"udp\"} 2\n"));
	assert_non_null(
	    strstr(text, "dnsgate_responses_total{rcode=\"NOERROR\"} 2\n"));
	assert_non_null(strstr(text, "dnsgate_tcp_connections 4\n"));
	/* Summed over the NWORKERS (2) workers. */
	assert_non_null(strstr(text, "dnsgate_udp_receive_drops_total 6\n"));
	assert_non_null(strstr(text, "dnsgate_tcp_refused_total{limit=\"tcp-"
	                             "max-clients\"} 0\n"));
	assert_non_null(strstr(text, "dnsgate_tcp_refused_total{limit=\"tcp-"
	                             "max-clients-per-prefix\"} 2\n"));
	assert_non_null(
	    strstr(text, "dnsgate_fd_exhausted_total{where=\"upstream\"} 2\n"));
	assert_non_null(
	    strstr(text, "dnsgate_fd_exhausted_total{where=\"accept\"} 0\n"));
	assert_non_null(strstr(text, "dnsgate_decisions_total{view=\"main\","
	                             "action=\"forward\"} 1\n"));
	assert_non_null(strstr(text, "dnsgate_decisions_total{view=\"\","
	                             "action=\"refuse\"} 1\n"));
	assert_non_null(strstr(
	    text, "dnsgate_upstream_latency_seconds_bucket{"
	          "upstream=\"up\",server=\"192.0.2.53:53\",le=\"0.005\"} "
	          "1\n"));
	assert_non_null(
	    strstr(text, "dnsgate_upstream_latency_seconds_count{"
	                 "upstream=\"up\",server=\"192.0.2.53:53\"} 2\n"));
	/* Per list: the two ads.txt as one series (2 + 1 entries). */
	assert_non_null(strstr(text, "dnsgate_list_entries{view=\"main\","
	                             "kind=\"blocklist\",list=\"ads.txt\"} "
	                             "3\n"));
	assert_non_null(strstr(text, "dnsgate_list_entries{view=\"main\","
	                             "kind=\"allowlist\",list=\"allow.txt\"} "
	                             "1\n"));
	assert_non_null(strstr(text, "dnsgate_list_skipped{view=\"main\","
	                             "kind=\"blocklist\",list=\"ads.txt\","
	                             "reason=\"bad\"} 1\n"));
	assert_non_null(strstr(text, "dnsgate_list_skipped{view=\"main\","
	                             "kind=\"blocklist\",list=\"ads.txt\","
	                             "reason=\"unsupported\"} 1\n"));
	free(text);
}

static void
test_control_stats_is_metrics_and_internals(void **state)
{
	struct fixture *fx = *state;
	char *text, *internal, *metrics;
	const char *head;
	FILE *f;
	size_t len = 0;

	count_some(&fx->d);
	metrics = render(metrics_render, &fx->d);
	text = NULL;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(control_command(&fx->d, "stats", NULL, f), 0);
	fclose(f);
	/* The metrics text, then the internal counters. The process_*
	 * families at its end move between two renders (CPU time). */
	head = strstr(metrics, "# HELP process_");
	assert_non_null(head);
	assert_memory_equal(text, metrics, (size_t)(head - metrics));
	internal = strstr(text, "# internal\n");
	assert_non_null(internal);
	assert_true(
	    strncmp(internal, "# internal\nupstream_mismatch 2\n", 31) == 0);
	assert_non_null(strstr(internal, "\nlocal_upstream_yields 0\n"));
	assert_non_null(strstr(internal, "\ntcp_refused_per_prefix 2\n"));
	free(metrics);
	free(text);
}

static int
reload_fails(FILE *errs)
{
	fprintf(errs, "t.conf:3: boom\n");
	return -1;
}

static int
reload_works(FILE *errs)
{
	return 0;
}

static char *
command(struct daemon *d, const char *cmd, control_reload_fn rl, int rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(control_command(d, cmd, rl, f), rc);
	fclose(f);
	return buf;
}

static void
test_control_commands_answer(void **state)
{
	struct fixture *fx = *state;
	static const char head[] =
	    "up 192.0.2.53:53 up srtt=0.0ms fails=0 queries=1 timeouts=1 "
	    "servfails=0 failures=none last-failure=none since=";
	struct ip_addr a, b;
	uint64_t now;
	char *s, *t;

	count_some(&fx->d);
	s = command(&fx->d, "upstreams", NULL, 0);
	/* The old fields first (scripts split on blanks), then why and
	 * since when: "since=2026-11-26T10:15:03.120Z for=0s". */
	assert_true(strncmp(s, head, strlen(head)) == 0);
	t = s + strlen(head);
	assert_true(strlen(t) > 24);
	assert_true(isdigit((unsigned char)t[0]) && t[10] == 'T' &&
	            t[19] == '.' && t[23] == 'Z');
	assert_true(strncmp(t + 24, " for=", 5) == 0);
	free(s);
	server_health_failed(
	    &runstate_server(fx->d.rs, fx->d.rs->conf->upstreams[0], 0)->health,
	    UPERR_TIMEOUT);
	server_health_failed(
	    &runstate_server(fx->d.rs, fx->d.rs->conf->upstreams[0], 0)->health,
	    UPERR_REFUSED);
	s = command(&fx->d, "upstreams", NULL, 0);
	assert_non_null(
	    strstr(s, " failures=timeout:1,refused:1 last-failure=refused "));
	free(s);
	assert_int_equal(ip_addr_parse("192.0.2.7", &a), 0);
	assert_int_equal(ip_addr_parse("2001:db8::1", &b), 0);
	now = top_now_ms();
	top_count_client(fx->d.workers[0].top, &a, now);
	top_count_client(fx->d.workers[1].top, &a, now);
	top_count_client(fx->d.workers[1].top, &b, now);
	top_count_name(fx->d.workers[1].top, (const uint8_t *)"\1a\4test", now);
	/* The two workers' counts merged, the highest first. */
	s = command(&fx->d, "top-clients", NULL, 0);
	assert_true(
	    strncmp(s, "# approximate query counts in the last 1m ", 42) == 0);
	assert_non_null(strstr(s, ")\n192.0.2.7 2\n2001:db8::1 1\n"));
	free(s);
	s = command(&fx->d, "top-names --window 30s", NULL, 0);
	assert_true(
	    strncmp(s, "# approximate query counts in the last 30s ", 43) == 0);
	assert_non_null(strstr(s, ")\na.test. 1\n"));
	free(s);
	s = command(&fx->d, "top-names --window=5m", NULL, 0);
	assert_non_null(strstr(s, "a.test. 1\n"));
	free(s);
	s = command(&fx->d, "top-clients --window 6m", NULL, -1);
	assert_true(strncmp(s, "error: --window 6m: ", 20) == 0);
	free(s);
	s = command(&fx->d, "top-clients --since 5s", NULL, -1);
	assert_true(strncmp(s, "error: expected [--window D]", 28) == 0);
	free(s);
	/* The verdict is the first line: `dnsgate ctl` reads it there. */
	s = command(&fx->d, "reload", reload_fails, -1);
	assert_string_equal(s, "error: reload failed; the running "
	                       "configuration stays\nt.conf:3: boom\n");
	free(s);
	s = command(&fx->d, "reload", reload_works, 0);
	assert_string_equal(s, "ok: reloaded\n");
	free(s);
	s = command(&fx->d, "flush-cache", NULL, 0);
	assert_true(strncmp(s, "ok: ", 4) == 0);
	free(s);
	s = command(&fx->d, "bogus", NULL, -1);
	assert_true(strncmp(s, "error: unknown command 'bogus'", 30) == 0);
	free(s);
}

/* -- over the sockets ----------------------------------------------------- */

/* Send req on fd, run loop until the reply is complete (the server
 * closes): the reply. */
static char *
exchange(struct ev_loop *loop, int fd, const char *req)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (int i = 0; i < 5000; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char chunk[4096];
		ssize_t n;

		ev_run(loop, EVRUN_NOWAIT);
		if (poll(&p, 1, 1) <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		assert_true(n >= 0);
		buf = realloc(buf, len + (size_t)n + 1);
		assert_non_null(buf);
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
		if (n == 0)
			break;
	}
	assert_non_null(buf);
	close(fd);
	return buf;
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int
connect_tcp(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
test_control_socket_and_http_answer(void **state)
{
	struct fixture *fx = *state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct stat st;
	char *s, *body;

	assert_non_null(loop);
	assert_int_equal(control_start(loop, &fx->d, reload_works), 0);
	assert_int_equal(stat(fx->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	s = exchange(loop, connect_unix(fx->sock), "reload\n");
	assert_string_equal(s, "ok: reloaded\n");
	free(s);
	s = exchange(loop, connect_tcp(fx->port),
	             "GET /metrics HTTP/1.0\r\n\r\n");
	assert_true(strncmp(s, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(s, "Content-Type: text/plain; version=0.0.4"));
	body = strstr(s, "\r\n\r\n");
	assert_non_null(body);
	assert_non_null(
	    strstr(body, "\n# TYPE dnsgate_queries_total counter\n"));
	free(s);
	s = exchange(loop, connect_tcp(fx->port), "GET / HTTP/1.0\r\n\r\n");
	assert_true(strncmp(s, "HTTP/1.0 404 Not Found\r\n", 24) == 0);
	free(s);
	control_stop(loop);
	/* The control socket goes with it. */
	assert_int_equal(access(fx->sock, F_OK), -1);
	ev_loop_destroy(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_control_metrics_are_prometheus_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_control_stats_is_metrics_and_internals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_commands_answer, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_control_socket_and_http_answer,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
