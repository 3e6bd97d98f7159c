/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/log.c — the logger thread and its rings.
 */
#include "obs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "obs/doorbell.h"
#include "obs/ring.h"
#include "policy/decision.h"

/* Idle, the logger sleeps on its doorbell (doorbell_idle), waking at least
 * every IDLE_WAIT_MS: an idle daemon makes no wake-ups to poll, and a busy
 * one no futex calls. */
#define IDLE_WAIT_MS 1000
/* Lines taken from one ring per pass, at most: a busy worker cannot keep
 * the logger, and lg.lock with it, to itself. The fixed-slot ring before
 * obs/ring.h held as many. */
#define DRAIN_MAX 4096

/* A type of its own: the datapath's API (obs/log.h) need not show the
 * ring's. */
struct log_ring {
	struct ring ring;
};

static struct {
	pthread_mutex_t lock;  /* target, log_msg */
	int target;            /* enum log_target */
	int fd;                /* stderr or the file */
	int format;            /* enum decision_format */
	atomic_int format_now; /* the same, for threads without the lock */
	atomic_int target_now; /* target, for threads without the lock */
	char *path;            /* of a file target, for log_reopen */
	struct ring_set rings; /* its doorbell: rung by the rings, log_stop */
	pthread_t thread;
	atomic_bool running;
	bool started;
	unsigned long reported_drops;
} lg = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .rings = RING_SET_INITIALIZER,
    .target = LOGT_STDERR,
    .fd = 2,
    .format = DECISION_JSON,
    .format_now = DECISION_JSON,
    .target_now = LOGT_STDERR,
};

static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere to report a broken log target */
		buf += n;
		len -= (size_t)n;
	}
}

/* Caller holds lg.lock. */
static void
emit(int prio, const char *line, size_t len)
{
	if (lg.target == LOGT_SYSLOG) {
		/* syslog adds its own newline. */
		if (len > 0 && line[len - 1] == '\n')
			len--;
		syslog(prio, "%.*s", (int)len, line);
		return;
	}
	write_all(lg.fd, line, len);
}

/* Caller holds lg.lock. */
static bool
drain_ring(struct ring *r)
{
	const char *line;
	size_t len, n = 0;

	while (n < DRAIN_MAX && (line = ring_peek(r, &len)) != NULL) {
		emit(LOG_INFO, line, len);
		ring_release(r);
		n++;
	}
	return n > 0;
}

static void
report_drops(void)
{
	unsigned long total = log_dropped_total();
	char ts[LOG_STAMP_MAX], line[128 + LOG_STAMP_MAX];
	int n;

	if (total == lg.reported_drops)
		return;
	log_stamp(lg.format, ts, sizeof(ts));
	if (lg.format == DECISION_JSON)
		n = snprintf(line, sizeof(line),
		             "%s\"msg\":\"log overflow\",\"dropped\":%lu}\n",
		             ts, total - lg.reported_drops);
	else
		n = snprintf(line, sizeof(line),
		             "%slog: dropped %lu lines (ring full)\n", ts,
		             total - lg.reported_drops);
	lg.reported_drops = total;
	emit(LOG_WARNING, line, (size_t)n);
}

static bool
drain_all(void)
{
	size_t n = ring_set_count(&lg.rings);
	bool any = false;

	pthread_mutex_lock(&lg.lock);
	for (size_t i = 0; i < n; i++)
		any |= drain_ring(ring_set_ring(&lg.rings, i));
	report_drops();
	pthread_mutex_unlock(&lg.lock);
	return any;
}

/* A stop, lines to write or drops to report (the logger thread's view). */
static bool
work_pending(void)
{
	return !atomic_load(&lg.running) ||
	       log_dropped_total() != lg.reported_drops ||
	       ring_set_pending(&lg.rings);
}

static void *
logger_main(void *arg)
{
	unsigned empty = 0;

	(void)arg;
	while (atomic_load(&lg.running)) {
		if (drain_all())
			empty = 0;
		else
			doorbell_idle(&lg.rings.bell, &empty, DOORBELL_WORK,
			              work_pending, IDLE_WAIT_MS);
	}
	/* The producers have stopped (log_stop's contract): this ends. */
	while (drain_all())
		continue;
	return NULL;
}

static int
file_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* Caller holds lg.lock. */
static int
target_open(const struct log_conf *lc)
{
	char *path = NULL;
	int fd = 2;

	if (lc->target == LOGT_FILE) {
		path = strdup(lc->path);
		if (path == NULL)
			return -1;
		fd = file_open(path);
		if (fd < 0) {
			free(path);
			return -1;
		}
	}
	if (lg.fd > 2)
		close(lg.fd);
	free(lg.path);
	lg.path = path;
	if (lg.target == LOGT_SYSLOG && lc->target != LOGT_SYSLOG)
		closelog();
	if (lc->target == LOGT_SYSLOG)
		openlog("dnsgate", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	lg.fd = fd;
	lg.target = lc->target;
	lg.format = lc->format;
	atomic_store(&lg.format_now, lc->format);
	atomic_store(&lg.target_now, lc->target);
	return 0;
}

int
log_reconfigure(const struct log_conf *lc)
{
	int rc;

	pthread_mutex_lock(&lg.lock);
	rc = target_open(lc);
	pthread_mutex_unlock(&lg.lock);
	return rc;
}

int
log_chown(const struct log_conf *lc, uid_t uid, gid_t gid)
{
	struct stat fst, pst;
	int rc = 0;

	if (lc->target != LOGT_FILE)
		return 0;
	pthread_mutex_lock(&lg.lock);
	/*
	 * Root gives a file away: only the one it writes to, reached by
	 * its name without a symbolic link, and with no other name (a
	 * link planted in a directory the user can write must not make
	 * root chown another file).
	 */
	if (fstat(lg.fd, &fst) < 0) {
		rc = -1;
	} else if (!S_ISREG(fst.st_mode)) {
		rc = 0; /* a device such as /dev/stderr: left as it is */
	} else if (lstat(lc->path, &pst) < 0) {
		rc = -1;
	} else if (S_ISLNK(pst.st_mode)) {
		errno = ELOOP;
		rc = -1;
	} else if (pst.st_dev != fst.st_dev || pst.st_ino != fst.st_ino) {
		errno = ESTALE;
		rc = -1;
	} else if (fst.st_nlink != 1) {
		errno = EMLINK;
		rc = -1;
	} else {
		rc = fchown(lg.fd, uid, gid);
	}
	pthread_mutex_unlock(&lg.lock);
	return rc;
}

int
log_reopen(void)
{
	int fd, rc = 0;

	/* Under the lock, between two lines: the logger thread writes every
	 * line either to the old file or to the new one, none is lost. */
	pthread_mutex_lock(&lg.lock);
	if (lg.target == LOGT_FILE) {
		fd = file_open(lg.path);
		if (fd < 0) {
			rc = -1;
		} else {
			close(lg.fd);
			lg.fd = fd;
		}
	}
	pthread_mutex_unlock(&lg.lock);
	return rc;
}

size_t
log_stamp(int format, char *buf, size_t cap)
{
	struct timespec now;
	char ts[40];
	int n;

	if (format != DECISION_JSON &&
	    atomic_load(&lg.target_now) == LOGT_SYSLOG) {
		buf[0] = '\0';
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	decision_ts_format((uint64_t)now.tv_sec * 1000 +
	                       (uint64_t)now.tv_nsec / 1000000,
	                   ts, sizeof(ts));
	n = snprintf(buf, cap,
	             format == DECISION_JSON ? "{\"ts\":\"%s\"," : "%s ", ts);
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

int
log_start(const struct log_conf *lc)
{
	if (log_reconfigure(lc) < 0)
		return -1;
	atomic_store(&lg.running, true);
	if (pthread_create(&lg.thread, NULL, logger_main, NULL) != 0) {
		atomic_store(&lg.running, false);
		return -1;
	}
	lg.started = true;
	return 0;
}

void
log_stop(void)
{
	if (!lg.started)
		return;
	atomic_store(&lg.running, false);
	doorbell_wake(&lg.rings.bell);
	pthread_join(lg.thread, NULL);
	lg.started = false;
}

/* Log rings live as long as the process: workers never give them back. */
struct log_ring *
log_ring_new(void)
{
	/* The ring is the wrapper's first member. */
	return (struct log_ring *)ring_set_new(
	    &lg.rings, sizeof(struct log_ring), LOG_RING_BYTES);
}

void
log_ring_push(struct log_ring *r, const char *line, size_t len)
{
	/* The ring rings the logger's doorbell, for a drop too: the drop
	 * gets reported. */
	if (len > LOG_SLOT_SIZE)
		ring_drop(&r->ring);
	else
		ring_push(&r->ring, line, len);
}

unsigned long
log_dropped_total(void)
{
	return ring_set_dropped(&lg.rings);
}

/*
 * Length of the well-formed UTF-8 sequence at p, of at most n bytes
 * (RFC 3629 4: no overlong forms, no surrogates, nothing past U+10FFFF);
 * 0 when there is none there.
 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Appends to a fixed buffer; stops, NUL-terminated, when the next piece
 * would not fit. */
struct text {
	char *buf;
	size_t cap;
	size_t len;
};

static void
text_put(struct text *t, const char *s, size_t n)
{
	if (t->len + n >= t->cap) {
		t->cap = t->len + 1; /* full: nothing more fits */
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void
text_puts(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

/*
 * A message as it may stand in a log line, whatever bytes it quotes (a
 * blocklist that is a binary file, say): printable ASCII and well-formed
 * UTF-8 as they are; every other byte -- a control character, DEL, the
 * bytes of a C1 control or of ill-formed UTF-8 -- as the four characters
 * \xNN. Tab and newline are kept: in JSON as \t and \n (with '"' and
 * '\' escaped, RFC 8259 7; so \xNN is written \\xNN there), in text
 * as themselves, a newline starting a continuation line indented by a tab
 * so that no message can forge a line of its own. Trailing newlines are
 * dropped.
 */
static void
msg_escape(struct text *t, const char *msg, bool json)
{
	const unsigned char *p = (const unsigned char *)msg;
	size_t n = strlen(msg);

	while (n > 0 && p[n - 1] == '\n')
		n--;
	while (n > 0) {
		size_t len = utf8_len(p, n);
		char hex[8];

		/* C1 controls: U+0080-U+009F, C2 80-C2 9F. */
		if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			len = 0;
		if (*p == '\n' || *p == '\t') {
			if (json)
				text_put(t, *p == '\n' ? "\\n" : "\\t", 2);
			else
				text_put(t, *p == '\n' ? "\n\t" : "\t",
				         *p == '\n' ? 2 : 1);
			len = 1;
		} else if (len == 0 || *p < 0x20 || *p == 0x7f) {
			snprintf(hex, sizeof(hex), "%s\\x%02x",
			         json ? "\\" : "", *p);
			text_put(t, hex, strlen(hex));
			len = 1;
		} else if (json && (*p == '"' || *p == '\\')) {
			char esc[2] = {'\\', (char)*p};

			text_put(t, esc, 2);
		} else {
			text_put(t, (const char *)p, len);
		}
		p += len;
		n -= len;
	}
}

/* One daemon message as a log line in the target's format. */
static size_t
format_msg(int prio, const char *msg, char *line, size_t cap)
{
	/* What ends a line: '"}' (JSON) and the newline. */
	const size_t tail = 3;
	struct text t = {.buf = line, .cap = cap};
	int format = atomic_load(&lg.format_now);
	bool json = format == DECISION_JSON;
	char ts[LOG_STAMP_MAX];

	if (cap == 0)
		return 0;
	line[0] = '\0';
	/* '{"ts":"...",' (JSON) or 'TIME ' (text; nothing for syslog). */
	log_stamp(format, ts, sizeof(ts));
	text_puts(&t, ts);
	if (json) {
		text_puts(&t, "\"level\":\"");
		text_puts(&t, prio <= LOG_ERR       ? "error"
		              : prio == LOG_WARNING ? "warning"
		                                    : "info");
		text_puts(&t, "\",\"msg\":\"");
	} else {
		text_puts(&t, "dnsgate: ");
	}
	if (t.cap < t.len + tail + 1)
		return 0;
	/* A message too long for the line is cut, the line still whole. */
	t.cap -= tail;
	msg_escape(&t, msg, json);
	t.cap += tail;
	if (json)
		text_puts(&t, "\"}");
	text_puts(&t, "\n");
	return t.len;
}

void
log_msg(int prio, const char *fmt, ...)
{
	char msg[900], line[900 * 6 + 64 + LOG_STAMP_MAX];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = format_msg(prio, msg, line, sizeof(line));
	pthread_mutex_lock(&lg.lock);
	emit(prio, line, n);
	pthread_mutex_unlock(&lg.lock);
}

void
log_ring_msg(struct log_ring *r, int prio, const char *fmt, ...)
{
	char msg[300], line[LOG_SLOT_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_ring_push(r, line, format_msg(prio, msg, line, sizeof(line)));
}
