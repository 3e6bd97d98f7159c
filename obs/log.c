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

/* One daemon message as a log line in the target's format. */
static size_t
format_msg(int prio, const char *msg, char *line, size_t cap)
{
	int format = atomic_load(&lg.format_now);
	char ts[LOG_STAMP_MAX];
	int n;

	log_stamp(format, ts, sizeof(ts));
	if (format == DECISION_JSON) {
		/* \u00XX is the worst case: six bytes per byte. */
		char esc[900 * 6 + 1];
		size_t j = 0;

		for (const char *p = msg; *p != '\0' && j < sizeof(esc) - 7;
		     p++) {
			if (*p == '"' || *p == '\\')
				esc[j++] = '\\';
			if ((unsigned char)*p < 0x20) {
				j += (size_t)snprintf(esc + j, 7, "\\u%04x",
				                      (unsigned char)*p);
				continue;
			}
			esc[j++] = *p;
		}
		esc[j] = '\0';
		n = snprintf(line, cap, "%s\"level\":\"%s\",\"msg\":\"%s\"}\n",
		             ts,
		             prio <= LOG_ERR       ? "error"
		             : prio == LOG_WARNING ? "warning"
		                                   : "info",
		             esc);
	} else {
		n = snprintf(line, cap, "%sdnsgate: %s\n", ts, msg);
	}
	if (n < 0)
		return 0;
	return (size_t)n > cap - 1 ? cap - 1 : (size_t)n;
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
