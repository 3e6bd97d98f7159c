/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/listfetch.c — lists named by URL: the fetcher thread, and the
 * rebuild of the views' indexes in the main loop (see listfetch.h).
 *
 * Threads: the fetcher thread owns the downloads and writes the cache
 * directory; the main thread configures, applies and renders metrics. They
 * share the list_source records under f->lock: schedule, counters, and
 * `fresh`, a parsed list handed from the one to the other. `current` is
 * the main thread's alone. Records are never freed before the fetcher:
 * a list the configuration drops is only marked inactive.
 */
#include "proxy/listfetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "obs/control.h"
#include "obs/log.h"
#include "obs/version.h"
#include "policy/blocklist.h"
#include "policy/listurl.h"
#include "views/view.h"

/* A failed download is tried again after this, doubling each time. */
#define RETRY_FIRST_MS 30000u
/* Bytes of a download looked at to refuse markup and binary data. */
#define HEAD_BYTES   512
#define DOWNLOAD_DIR ".download"
/* The fetcher thread's nice value: below the workers. */
#define FETCH_NICE 10

/* How a download ended: the result label of dnsgate_list_refresh_total. */
enum list_result {
	LR_UPDATED = 0, /* a new copy, in use */
	LR_UNCHANGED,   /* HTTP 304, or the same bytes again */
	LR_TIMEOUT,     /* [lists] timeout passed */
	LR_NETWORK,     /* name resolution, connection, TLS, redirect */
	LR_HTTP,        /* a status other than 200 and 304 */
	LR_TOO_LARGE,   /* over [lists] max-size */
	LR_TRUNCATED,   /* the connection ended before the body did */
	LR_INVALID,     /* not a list: markup, binary, bad entry, empty */
	LR_CACHE,       /* the copy could not be written */
	LR_N,
	LR_STOPPED, /* abandoned at exit: not counted */
};

static const char *const result_names[LR_N] = {
    "updated",   "unchanged", "timeout", "network",     "http-error",
    "too-large", "truncated", "invalid", "cache-error",
};

struct list_source {
	char *value; /* as written; immutable, like url */
	struct list_url url;
	/* under f->lock */
	bool active; /* named by the configuration in use */
	bool named;  /* by the configuration being followed */
	uint64_t due_ms;
	unsigned failures; /* consecutive */
	unsigned long results[LR_N];
	bool have_copy;
	size_t entries, skipped;
	uint64_t bytes;
	int64_t checked; /* wall clock (s) the copy was last confirmed */
	struct blocklist *fresh; /* downloaded, not yet applied */
	/* main thread only */
	struct blocklist *current; /* applied since the last configure */
	bool changed;              /* in this listfetch_apply */
};

struct list_fetcher {
	struct ev_loop *loop;
	ev_async async;
	void (*changed)(void *arg);
	void *arg;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CURLM *multi; /* the fetcher thread's; woken by listfetch_stop */
	atomic_bool stop;
	/* under lock */
	struct list_source **src;
	size_t nsrc;
	char *cache_dir;
	uint32_t refresh_ms, timeout_ms;
	uint64_t max_size;
};

/* One download, the fetcher thread's. */
struct fetch_job {
	struct list_fetcher *f;
	const struct list_source *s;
	char dir[4096], copy[4096], tmp[4096]; /* copy, tmp: prefixed */
	uint64_t max_size;
	uint32_t timeout_ms;
	struct list_meta old;
	bool have_old;
	/* the transfer */
	CURL *h;
	FILE *out;
	uint64_t bytes, hash;
	uint8_t head[HEAD_BYTES];
	size_t headlen;
	bool too_large, write_failed;
	int write_errno;
	char etag[256], last_modified[64];
	long status;
	char errbuf[CURL_ERROR_SIZE];
	/* the outcome */
	enum list_result result;
	char why[400];
	struct blocklist *bl; /* LR_UPDATED */
	double seconds;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t
wall_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- one download (fetcher thread) ---- */

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_job *j = arg;
	size_t len = size * n;
	long status = 0;

	/* Only a 200's body is a list; an error page is not kept. */
	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return len;
	/* Decoded bytes count: a small gzip bomb is as large as it
	 * expands. */
	if (j->bytes + len > j->max_size) {
		j->too_large = true;
		return 0;
	}
	if (j->headlen < HEAD_BYTES) {
		size_t k = HEAD_BYTES - j->headlen < len
		               ? HEAD_BYTES - j->headlen
		               : len;

		memcpy(j->head + j->headlen, data, k);
		j->headlen += k;
	}
	if (fwrite(data, 1, len, j->out) != len) {
		j->write_failed = true;
		j->write_errno = errno;
		return 0;
	}
	j->hash = list_hash(j->hash, data, len);
	j->bytes += len;
	return len;
}

/* A header's value, blanks and CR LF trimmed, into dst. */
static void
header_value(char *dst, size_t cap, const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n", v[len - 1]) != NULL)
		len--;
	if (len >= cap)
		len = 0; /* too long to send back: do without */
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_job *j = arg;
	size_t len = size * n;

	/* Each response of a redirect chain starts with its status line:
	 * only the last one's validators count. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		j->etag[0] = '\0';
		j->last_modified[0] = '\0';
	} else if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
		header_value(j->etag, sizeof(j->etag), data + 5, len - 5);
	} else if (len > 14 && strncasecmp(data, "last-modified:", 14) == 0) {
		header_value(j->last_modified, sizeof(j->last_modified),
		             data + 14, len - 14);
	}
	return len;
}

static void job_fail(struct fetch_job *j, enum list_result r, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));

static void
job_fail(struct fetch_job *j, enum list_result r, const char *fmt, ...)
{
	va_list ap;

	j->result = r;
	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
}

/* Only http and https, before and after redirects (no file://, no
 * downgrade from https to http); certificates checked against the system
 * store. */
static struct curl_slist *
job_setup(struct fetch_job *j)
{
	CURL *h = j->h;
	struct curl_slist *hdrs = NULL, *n;
	char line[400];

	curl_easy_setopt(h, CURLOPT_URL, list_url_of(j->s->value));
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
	                 j->s->url.https ? "https" : "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)j->max_size);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "dnsgate/" DNSGATE_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
	/* RFC 9110 13.1.1, 13.1.3: validators of the copy we hold. */
	if (j->have_old && j->old.etag[0] != '\0') {
		snprintf(line, sizeof(line), "If-None-Match: %s", j->old.etag);
		if ((n = curl_slist_append(hdrs, line)) != NULL)
			hdrs = n;
	}
	if (j->have_old && j->old.last_modified[0] != '\0') {
		snprintf(line, sizeof(line), "If-Modified-Since: %s",
		         j->old.last_modified);
		if ((n = curl_slist_append(hdrs, line)) != NULL)
			hdrs = n;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

/* Run the transfer on f->multi, so that listfetch_stop can wake it. */
static CURLcode
job_perform(struct fetch_job *j)
{
	CURLM *m = j->f->multi;
	CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
	int running = 1;

	if (curl_multi_add_handle(m, j->h) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (running > 0 && !atomic_load(&j->f->stop)) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running > 0 &&
		    curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	if (!atomic_load(&j->f->stop)) {
		CURLMsg *msg;
		int left;

		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				rc = msg->data.result;
	}
	curl_multi_remove_handle(m, j->h);
	return rc;
}

/* A 200's body in j->tmp: is it a list, and a new one? */
static void
job_check_body(struct fetch_job *j)
{
	const char *why;
	char err[256];
	int line = 0;
	const struct blocklist_info *info;
	struct list_meta meta;

	if (fflush(j->out) != 0 || fsync(fileno(j->out)) != 0) {
		job_fail(j, LR_CACHE, "cannot write %s: %s",
		         list_url_of(j->tmp), strerror(errno));
		return;
	}
	if (j->bytes == 0) {
		job_fail(j, LR_INVALID, "an empty body, not a list");
		return;
	}
	if ((why = list_content_refused(j->head, j->headlen)) != NULL) {
		job_fail(j, LR_INVALID, "%s", why);
		return;
	}
	if (j->have_old && j->old.bytes == j->bytes && j->old.hash == j->hash &&
	    access(list_url_of(j->copy), R_OK) == 0) {
		j->result = LR_UNCHANGED;
		snprintf(j->why, sizeof(j->why), "the same %" PRIu64 " bytes",
		         j->bytes);
	} else {
		j->bl = blocklist_load(j->tmp, err, sizeof(err), &line);
		if (j->bl == NULL) {
			job_fail(j, LR_INVALID, "not a valid list: line %d: %s",
			         line, err);
			return;
		}
		info = blocklist_get_info(j->bl);
		if (info->entries == 0) {
			job_fail(j, LR_INVALID,
			         "a list without any entry (%zu skipped)",
			         info->bad + info->unsupported);
			blocklist_free(j->bl);
			j->bl = NULL;
			return;
		}
		if (rename(list_url_of(j->tmp), list_url_of(j->copy)) < 0) {
			job_fail(j, LR_CACHE, "cannot rename to %s: %s",
			         list_url_of(j->copy), strerror(errno));
			blocklist_free(j->bl);
			j->bl = NULL;
			return;
		}
		j->result = LR_UPDATED;
	}
	/* After the copy: a crash in between leaves old validators, which
	 * only cost a full download next time. */
	memset(&meta, 0, sizeof(meta));
	snprintf(meta.value, sizeof(meta.value), "%s", j->s->value);
	snprintf(meta.etag, sizeof(meta.etag), "%s", j->etag);
	snprintf(meta.last_modified, sizeof(meta.last_modified), "%s",
	         j->last_modified);
	meta.checked = wall_s();
	meta.changed = j->result == LR_UPDATED ? meta.checked : j->old.changed;
	meta.bytes = j->bytes;
	meta.hash = j->hash;
	if (list_meta_write(j->dir, &meta) < 0)
		log_msg(LOG_WARNING, "list %s: cannot write %s/.meta: %s",
		        j->s->value, j->dir, strerror(errno));
}

/* 304: the copy is current; keep its validators unless new ones came. */
static void
job_not_modified(struct fetch_job *j)
{
	struct list_meta meta = j->old;

	j->result = LR_UNCHANGED;
	snprintf(j->why, sizeof(j->why), "HTTP 304 Not Modified");
	if (j->etag[0] != '\0')
		snprintf(meta.etag, sizeof(meta.etag), "%s", j->etag);
	if (j->last_modified[0] != '\0')
		snprintf(meta.last_modified, sizeof(meta.last_modified), "%s",
		         j->last_modified);
	meta.checked = wall_s();
	if (list_meta_write(j->dir, &meta) < 0)
		log_msg(LOG_WARNING, "list %s: cannot write %s/.meta: %s",
		        j->s->value, j->dir, strerror(errno));
}

static void
job_outcome(struct fetch_job *j, CURLcode rc)
{
	const char *err =
	    j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(rc);

	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &j->status);
	curl_easy_getinfo(j->h, CURLINFO_TOTAL_TIME, &j->seconds);
	if (atomic_load(&j->f->stop))
		j->result = LR_STOPPED;
	else if (j->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		job_fail(j, LR_TOO_LARGE,
		         "larger than max-size (%" PRIu64 " bytes)",
		         j->max_size);
	else if (j->write_failed)
		job_fail(j, LR_CACHE, "cannot write %s: %s",
		         list_url_of(j->tmp), strerror(j->write_errno));
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		job_fail(j, LR_TIMEOUT,
		         "not complete within timeout (%ums): %s",
		         j->timeout_ms, err);
	else if (rc == CURLE_PARTIAL_FILE ||
	         (rc == CURLE_RECV_ERROR && j->bytes > 0))
		job_fail(j, LR_TRUNCATED,
		         "truncated after %" PRIu64 " bytes: %s", j->bytes,
		         err);
	else if (rc != CURLE_OK)
		job_fail(j, LR_NETWORK, "%s", err);
	else if (j->status == 304 && j->have_old)
		job_not_modified(j);
	else if (j->status != 200)
		job_fail(j, LR_HTTP, "HTTP status %ld", j->status);
	else
		job_check_body(j);
}

/* mkdir -p path: parents 0755, path itself mode. 0 / -1 errno. */
static int
mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Make DIR and DIR/.download; open the download file. */
static int
job_open(struct fetch_job *j)
{
	char dl[4096];
	int fd;

	if (snprintf(dl, sizeof(dl), "%s/" DOWNLOAD_DIR, j->dir) >=
	        (int)sizeof(dl) ||
	    mkdir_p(j->dir, 0750) < 0 ||
	    (mkdir(dl, 0750) < 0 && errno != EEXIST))
		return -1;
	fd = open(list_url_of(j->tmp),
	          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -1;
	if ((j->out = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	return 0;
}

/* Paths of s in cache_dir; -1 when they do not fit. */
static int
job_paths(struct fetch_job *j, const char *cache_dir)
{
	const struct list_source *s = j->s;
	size_t plen = (size_t)(list_url_of(s->value) - s->value);
	char dir[4096];

	if (list_url_dir(cache_dir, s->value, &s->url, j->dir, sizeof(j->dir)) <
	        0 ||
	    list_url_copy_path(cache_dir, s->value, &s->url, j->copy,
	                       sizeof(j->copy)) < 0 ||
	    snprintf(dir, sizeof(dir), "%s/" DOWNLOAD_DIR, j->dir) >=
	        (int)sizeof(dir) ||
	    snprintf(j->tmp, sizeof(j->tmp), "%.*s%s/%s", (int)plen, s->value,
	             dir, s->url.name) >= (int)sizeof(j->tmp))
		return -1;
	return 0;
}

static void
job_run(struct fetch_job *j, const char *cache_dir)
{
	struct curl_slist *hdrs;
	CURLcode rc;

	j->hash = LIST_HASH_INIT;
	if (job_paths(j, cache_dir) < 0) {
		job_fail(j, LR_CACHE, "[lists] cache-dir is too long");
		return;
	}
	j->have_old = list_meta_read(j->dir, &j->old) == 0 &&
	              strcmp(j->old.value, j->s->value) == 0 &&
	              access(list_url_of(j->copy), R_OK) == 0;
	if (job_open(j) < 0) {
		job_fail(j, LR_CACHE, "cannot write in %s: %s", j->dir,
		         strerror(errno));
		return;
	}
	if ((j->h = curl_easy_init()) == NULL) {
		job_fail(j, LR_NETWORK, "out of memory");
	} else {
		hdrs = job_setup(j);
		rc = job_perform(j);
		job_outcome(j, rc);
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(j->h);
	}
	fclose(j->out);
	/* What did not become the copy goes. */
	if (j->result != LR_UPDATED)
		unlink(list_url_of(j->tmp));
}

/* ---- the fetcher thread ---- */

static uint32_t
retry_ms(uint32_t refresh_ms, unsigned failures)
{
	unsigned shift = failures > 1 ? failures - 1 : 0;
	uint64_t ms = (uint64_t)RETRY_FIRST_MS << (shift < 16 ? shift : 16);

	return ms < refresh_ms ? (uint32_t)ms : refresh_ms;
}

static void
log_outcome(const struct fetch_job *j, const struct list_source *s,
            uint64_t next_ms)
{
	const char *v = s->value;
	double next = (double)next_ms / 1000;

	switch (j->result) {
	case LR_UPDATED:
		log_msg(
		    LOG_NOTICE,
		    "list %s: downloaded: %zu entries, %zu skipped, %" PRIu64
		    " bytes (HTTP %ld, %.2fs); next in %.0fs",
		    v, s->entries, s->skipped, s->bytes, j->status, j->seconds,
		    next);
		break;
	case LR_UNCHANGED:
		log_msg(LOG_INFO,
		        "list %s: unchanged (%s): %zu entries, %" PRIu64
		        " bytes; next in %.0fs",
		        v, j->why, s->entries, s->bytes, next);
		break;
	default:
		if (s->have_copy)
			log_msg(LOG_WARNING,
			        "list %s: download failed (%s: %s); keeping "
			        "the last good copy (%zu entries, age %" PRId64
			        "s); next try in %.0fs",
			        v, result_names[j->result], j->why, s->entries,
			        s->checked > 0 ? wall_s() - s->checked : 0,
			        next);
		else
			log_msg(
			    LOG_ERR,
			    "list %s: download failed (%s: %s); there is no "
			    "copy: the list is EMPTY; next try in %.0fs",
			    v, result_names[j->result], j->why, next);
		break;
	}
}

/* Count j's outcome in s and schedule s's next download (under lock). */
static uint64_t
record(struct list_fetcher *f, struct list_source *s, struct fetch_job *j)
{
	uint64_t wait;

	s->results[j->result]++;
	if (j->result == LR_UPDATED || j->result == LR_UNCHANGED) {
		s->failures = 0;
		s->checked = wall_s();
		wait = f->refresh_ms;
	} else {
		s->failures++;
		wait = retry_ms(f->refresh_ms, s->failures);
	}
	s->due_ms = mono_ms() + wait;
	if (j->result == LR_UPDATED) {
		const struct blocklist_info *info = blocklist_get_info(j->bl);

		s->have_copy = true;
		s->entries = info->entries;
		s->skipped = info->bad + info->unsupported;
		s->bytes = j->bytes;
		blocklist_free(s->fresh); /* never applied: superseded */
		s->fresh = j->bl;
		j->bl = NULL;
	}
	return wait;
}

static struct list_source *
next_due(struct list_fetcher *f)
{
	struct list_source *best = NULL;

	for (size_t i = 0; i < f->nsrc; i++) {
		struct list_source *s = f->src[i];

		if (s->active && (best == NULL || s->due_ms < best->due_ms))
			best = s;
	}
	return best;
}

static void
wait_until(struct list_fetcher *f, uint64_t due_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(due_ms / 1000),
	                      .tv_nsec = (long)(due_ms % 1000) * 1000000};

	pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

static void *
fetch_main(void *arg)
{
	struct list_fetcher *f = arg;

	/* Parsing a big list takes CPU the workers may share: let them go
	 * first (setpriority(2) on a thread id is Linux's per-thread nice). */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), FETCH_NICE);
	pthread_mutex_lock(&f->lock);
	while (!atomic_load(&f->stop)) {
		struct list_source *s = next_due(f);
		struct fetch_job *j;
		char *cache_dir;
		uint64_t wait;

		if (s == NULL) {
			pthread_cond_wait(&f->cond, &f->lock);
			continue;
		}
		if (s->due_ms > mono_ms()) {
			wait_until(f, s->due_ms);
			continue;
		}
		j = calloc(1, sizeof(*j));
		cache_dir = strdup(f->cache_dir);
		if (j == NULL || cache_dir == NULL) {
			free(j);
			free(cache_dir);
			s->due_ms = mono_ms() + RETRY_FIRST_MS;
			continue;
		}
		j->f = f;
		j->s = s;
		j->max_size = f->max_size;
		j->timeout_ms = f->timeout_ms;
		pthread_mutex_unlock(&f->lock);
		job_run(j, cache_dir);
		free(cache_dir);
		pthread_mutex_lock(&f->lock);
		if (j->result != LR_STOPPED) {
			wait = record(f, s, j);
			pthread_mutex_unlock(&f->lock);
			log_outcome(j, s, wait);
			if (j->result == LR_UPDATED)
				ev_async_send(f->loop, &f->async);
			pthread_mutex_lock(&f->lock);
		}
		blocklist_free(j->bl);
		free(j);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* ---- the main thread ---- */

static void
async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct list_fetcher *f = a->data;

	f->changed(f->arg);
}

struct list_fetcher *
listfetch_new(struct ev_loop *loop, void (*changed)(void *arg), void *arg)
{
	struct list_fetcher *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;

	if (f == NULL)
		return NULL;
	f->loop = loop;
	f->changed = changed;
	f->arg = arg;
	atomic_init(&f->stop, false);
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	ev_async_init(&f->async, async_cb);
	f->async.data = f;
	ev_async_start(loop, &f->async);
	return f;
}

static struct list_source *
source_find(const struct list_fetcher *f, const char *value)
{
	for (size_t i = 0; i < f->nsrc; i++)
		if (strcmp(f->src[i]->value, value) == 0)
			return f->src[i];
	return NULL;
}

/* What the copy the configuration read holds, for the metrics. */
static void
source_from_copy(struct list_source *s, const char *cache_dir,
                 const struct blocklist *bl)
{
	char dir[4096];
	struct list_meta m;

	if (bl != NULL) {
		s->entries = blocklist_get_info(bl)->entries;
		s->skipped = blocklist_get_info(bl)->bad +
		             blocklist_get_info(bl)->unsupported;
	}
	/* Only a copy that passed is ever written, with at least one
	 * entry: an empty list stands in for a missing copy. */
	s->have_copy = s->entries > 0;
	if (s->have_copy &&
	    list_url_dir(cache_dir, s->value, &s->url, dir, sizeof(dir)) == 0 &&
	    list_meta_read(dir, &m) == 0 && strcmp(m.value, s->value) == 0) {
		s->bytes = m.bytes;
		s->checked = m.checked;
	}
}

/* The record of value, made or woken (under lock); NULL out of memory. */
static struct list_source *
source_get(struct list_fetcher *f, const char *value,
           const struct blocklist *bl)
{
	struct list_source *s = source_find(f, value), **n;
	const char *why;

	if (s != NULL) {
		if (!s->active)
			s->due_ms = mono_ms(); /* named again: fetch now */
		s->active = true;
		s->named = true;
		return s;
	}
	n = realloc(f->src, (f->nsrc + 1) * sizeof(*n));
	if (n == NULL)
		return NULL;
	f->src = n;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->value = strdup(value)) == NULL ||
	    list_url_parse(value, &s->url, &why) < 0) {
		if (s != NULL)
			free(s->value);
		free(s);
		return NULL;
	}
	s->active = true;
	s->named = true;
	s->due_ms = mono_ms();
	source_from_copy(s, f->cache_dir, bl);
	f->src[f->nsrc++] = s;
	return s;
}

/* Every URL value of conf's views into the records (under lock). */
static size_t
sources_follow(struct list_fetcher *f, const struct config *conf)
{
	size_t n = 0;

	for (size_t i = 0; i < conf->nviews; i++) {
		const struct view_conf *v = conf->views[i];
		size_t nb = v->nblocklists, na = v->nallowlists;

		for (size_t k = 0; k < nb + na; k++) {
			const char *value =
			    k < nb ? v->blocklists[k] : v->allowlists[k - nb];

			if (!list_url_is(value))
				continue;
			if (source_get(f, value,
			               v->lists != NULL ? v->lists[k] : NULL) ==
			    NULL)
				log_msg(LOG_ERR, "list %s: out of memory",
				        value);
			else
				n++;
		}
	}
	return n;
}

int
listfetch_configure(struct list_fetcher *f, struct config *conf)
{
	size_t n;
	char *dir = strdup(conf->lists.cache_dir);

	if (dir == NULL)
		return -1;
	pthread_mutex_lock(&f->lock);
	free(f->cache_dir);
	f->cache_dir = dir;
	f->refresh_ms = conf->lists.refresh_ms;
	f->timeout_ms = conf->lists.timeout_ms;
	f->max_size = conf->lists.max_size;
	for (size_t i = 0; i < f->nsrc; i++) {
		/* conf read the copies: earlier downloads are in them. */
		blocklist_free(f->src[i]->current);
		f->src[i]->current = NULL;
		f->src[i]->named = false;
	}
	n = sources_follow(f, conf);
	/* Lists conf dropped: no more downloads, no metrics; kept, should a
	 * later reload name them again. */
	for (size_t i = 0; i < f->nsrc; i++)
		f->src[i]->active = f->src[i]->named;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (n == 0 || f->started)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (f->multi = curl_multi_init()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((errno = pthread_create(&f->thread, NULL, fetch_main, f)) != 0)
		return -1;
	f->started = true;
	return 0;
}

/* A list of v (blocklists, then allowlists) downloaded since the last
 * configure: its latest download. */
static const struct blocklist *
view_list(const struct list_fetcher *f, const struct view_conf *v, size_t k,
          bool *changed)
{
	size_t nb = v->nblocklists;
	const char *value = k < nb ? v->blocklists[k] : v->allowlists[k - nb];
	const struct list_source *s =
	    list_url_is(value) ? source_find(f, value) : NULL;

	if (s == NULL || s->current == NULL)
		return v->lists[k];
	*changed |= s->changed;
	return s->current;
}

/* v's index again from its lists, the downloaded ones new; NULL when
 * none of them changed (or out of memory, logged). */
static struct blockset *
view_rebuild(const struct list_fetcher *f, const struct view_conf *v)
{
	size_t nb = v->nblocklists, na = v->nallowlists;
	const struct blocklist **arr = calloc(nb + na + 1, sizeof(*arr));
	struct blockset *set = NULL;
	bool changed = false;

	if (arr == NULL) {
		log_msg(LOG_ERR, "view %s: out of memory for its lists",
		        v->name);
		return NULL;
	}
	for (size_t k = 0; k < nb + na; k++)
		arr[k] = view_list(f, v, k, &changed);
	if (changed) {
		set = blockset_create((const struct blocklist *const *)arr, nb,
		                      (const struct blocklist *const *)arr + nb,
		                      na);
		if (set == NULL)
			log_msg(LOG_ERR,
			        "view %s: out of memory rebuilding its "
			        "blocklists; keeping the ones in use",
			        v->name);
	}
	free(arr);
	return set;
}

struct runstate *
listfetch_apply(struct list_fetcher *f, const struct runstate *rs)
{
	const struct config *conf = rs->conf;
	struct runstate *nrs = NULL;
	bool any = false;
	char err[600];

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nsrc; i++) {
		struct list_source *s = f->src[i];

		s->changed = s->fresh != NULL;
		if (s->fresh == NULL)
			continue;
		blocklist_free(s->current);
		s->current = s->fresh;
		s->fresh = NULL;
		any = true;
	}
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; any && i < conf->nviews; i++) {
		const struct view_conf *v = conf->views[i];
		struct blockset *set;

		if (v->lists == NULL || (set = view_rebuild(f, v)) == NULL)
			continue;
		if (nrs == NULL && (nrs = runstate_new(rs->conf, rs, err,
		                                       sizeof(err))) == NULL) {
			blockset_free(set);
			log_msg(LOG_ERR, "applying new lists: %s", err);
			return NULL;
		}
		if (runstate_set_blocks(nrs, i, set) < 0) {
			log_msg(LOG_ERR, "view %s: out of memory", v->name);
			continue;
		}
		log_msg(LOG_NOTICE,
		        "view %s: lists downloaded are in use (%zu names in "
		        "its index)",
		        v->name, blockset_size(nrs->blocks_of[i]));
	}
	return nrs;
}

/* dnsgate_list_entries and dnsgate_list_skipped of every list, named by
 * URL or not, come from the views' indexes (obs/control.c); these two are
 * of the copies of lists named by URL. */
enum gauge {
	G_BYTES = 0,
	G_AGE,
	G_N,
};

static const char *const gauge_head[G_N] = {
    "# HELP dnsgate_list_bytes Size of the copy in use, in bytes.\n"
    "# TYPE dnsgate_list_bytes gauge\n",
    "# HELP dnsgate_list_age_seconds Seconds since the copy in use was last "
    "confirmed current (downloaded, or HTTP 304).\n"
    "# TYPE dnsgate_list_age_seconds gauge\n",
};

static void
put_gauge(FILE *out, const struct list_source *s, enum gauge g, int64_t now)
{
	if (!s->have_copy)
		return;
	if (g == G_AGE && s->checked <= 0)
		return;
	fputs(g == G_BYTES ? "dnsgate_list_bytes{list=\""
	                   : "dnsgate_list_age_seconds{list=\"",
	      out);
	metrics_label_value(out, s->value);
	if (g == G_BYTES)
		fprintf(out, "\"} %" PRIu64 "\n", s->bytes);
	else
		fprintf(out, "\"} %" PRId64 "\n",
		        now > s->checked ? now - s->checked : 0);
}

void
listfetch_metrics(struct list_fetcher *f, FILE *out)
{
	int64_t now = wall_s();
	bool any = false;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nsrc; i++)
		any |= f->src[i]->active;
	if (!any) {
		pthread_mutex_unlock(&f->lock);
		return;
	}
	fputs("# HELP dnsgate_list_refresh_total Downloads of lists named by "
	      "URL, by outcome.\n"
	      "# TYPE dnsgate_list_refresh_total counter\n",
	      out);
	for (size_t i = 0; i < f->nsrc; i++) {
		const struct list_source *s = f->src[i];

		for (int r = 0; s->active && r < LR_N; r++) {
			fputs("dnsgate_list_refresh_total{list=\"", out);
			metrics_label_value(out, s->value);
			fprintf(out, "\",result=\"%s\"} %lu\n", result_names[r],
			        s->results[r]);
		}
	}
	for (int g = 0; g < G_N; g++) {
		fputs(gauge_head[g], out);
		for (size_t i = 0; i < f->nsrc; i++)
			if (f->src[i]->active)
				put_gauge(out, f->src[i], (enum gauge)g, now);
	}
	pthread_mutex_unlock(&f->lock);
}

static bool
has_url_list(const struct config *conf)
{
	for (size_t i = 0; i < conf->nviews; i++)
		if (conf->views[i]->lists != NULL)
			return true;
	return false;
}

void
listfetch_cache_dir(const struct config *conf, const char *user)
{
	const char *dir = conf->lists.cache_dir;
	struct passwd *pw;

	if (!has_url_list(conf))
		return;
	if (mkdir_p(dir, 0750) < 0) {
		log_msg(
		    LOG_ERR,
		    "[lists] cache-dir %s: %s: lists named by URL cannot be "
		    "downloaded",
		    dir, strerror(errno));
		return;
	}
	if (geteuid() != 0 || user == NULL)
		return;
	if ((pw = getpwnam(user)) == NULL)
		return; /* drop_privileges says so */
	if (chown(dir, pw->pw_uid, pw->pw_gid) < 0 || chmod(dir, 0750) < 0)
		log_msg(LOG_WARNING, "[lists] cache-dir %s: %s", dir,
		        strerror(errno));
}

void
listfetch_stop(struct list_fetcher *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	atomic_store(&f->stop, true);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->multi != NULL)
		curl_multi_wakeup(f->multi);
}

void
listfetch_free(struct list_fetcher *f)
{
	if (f == NULL)
		return;
	listfetch_stop(f);
	if (f->started)
		pthread_join(f->thread, NULL);
	ev_async_stop(f->loop, &f->async);
	for (size_t i = 0; i < f->nsrc; i++) {
		blocklist_free(f->src[i]->fresh);
		blocklist_free(f->src[i]->current);
		free(f->src[i]->value);
		free(f->src[i]);
	}
	free(f->src);
	free(f->cache_dir);
	if (f->multi != NULL) {
		curl_multi_cleanup(f->multi);
		curl_global_cleanup();
	}
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
