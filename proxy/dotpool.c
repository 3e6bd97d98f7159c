/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/dotpool.c — TLS connections to tls:// upstream servers
 * (dotpool.h).
 *
 * Who may close a connection: only the connection's own watchers (its
 * socket, its timer), called by the loop. dotpool_send() and
 * dotpool_forget(), which the callbacks of a connection's queries may
 * call while that connection is reading, only mark it (broken, retiring)
 * and arm its timer to close it at once; so a connection never goes away
 * under its own read loop, and a pool only when it has no connection
 * (pool_get()).
 */
#include "proxy/dotpool.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/frame.h"
#include "dns/msg.h"
#include "proxy/idtab.h"
#include "proxy/sendbuf.h"
#include "proxy/worker.h"
#include "tls/tls.h"

#define BACKOFF_FIRST 0.25 /* s */
#define BACKOFF_MAX   10.0 /* s */
/* A pool (its session, its backoff) without connections is freed after
 * this long unused, or at once when a newer one replaced it. */
#define POOL_UNUSED 3600.0
/* Bytes of queries waiting to be written on one connection. */
#define OUT_MAX (64 * 1024)

enum conn_state {
	CONN_CONNECTING = 1, /* TCP */
	CONN_HANDSHAKE,
	CONN_READY,
};

struct dot_conn {
	struct dot_pool *pool;
	struct dot_conn *next;
	enum conn_state state;
	bool retiring;   /* takes no new query; closed once empty */
	bool broken;     /* a write failed: closed by the timer */
	bool want_write; /* OpenSSL waits for the socket to take more */
	int hs_events;   /* what the handshake waits for */
	int fd;
	SSL *ssl;
	ev_io io;
	ev_timer timer; /* the handshake's deadline, then idleness */
	ev_tstamp last_used;
	unsigned stalls;         /* timeouts since the last answer */
	const SSL_SESSION *seen; /* compared only: the last session kept */
	struct sendbuf out;      /* frames not yet written */
	uint8_t *rbuf;           /* the message being read (DNS_FRAME_MAX) */
	size_t rlen;
	struct idtab ids; /* struct dotpool_wait by ID */
};

/* One server of one group context, in one worker. */
struct dot_pool {
	struct dot_pool *next;
	struct worker *w;
	struct server_state *rec; /* a reference */
	SSL_CTX *ctx;             /* a reference */
	struct endpoint ep;
	char *group;
	struct dot_conn *conns;
	unsigned nconns;      /* not retiring */
	bool superseded;      /* a pool with a newer context took over */
	SSL_SESSION *session; /* to resume; NULL: none yet */
	unsigned fails;       /* failed connection attempts in a row */
	ev_tstamp retry_at;   /* no new connection before */
	ev_tstamp last_used;
};

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);

double
dotpool_backoff(unsigned failures)
{
	double d = BACKOFF_FIRST;

	if (failures == 0)
		return 0;
	for (unsigned i = 1; i < failures && d < BACKOFF_MAX; i++)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

/* ---- connections ---- */

/* Run the timer now: it closes or fails the connection. */
static void
conn_soon(struct dot_conn *c)
{
	struct ev_loop *loop = c->pool->w->loop;

	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, 0, 0);
	ev_timer_start(loop, &c->timer);
}

static void
conn_retire(struct dot_conn *c)
{
	if (c->retiring)
		return;
	c->retiring = true;
	c->pool->nconns--;
	if (c->ids.n == 0)
		conn_soon(c);
}

/* The watcher follows what the connection waits for. */
static void
conn_watch(struct dot_conn *c)
{
	struct ev_loop *loop = c->pool->w->loop;
	int ev;

	switch (c->state) {
	case CONN_CONNECTING:
		ev = EV_WRITE;
		break;
	case CONN_HANDSHAKE:
		ev = c->hs_events;
		break;
	default:
		ev = EV_READ | (c->want_write ? EV_WRITE : 0);
		break;
	}
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == ev)
		return;
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	ev_io_start(loop, &c->io);
}

/* Unlink and close c (close_notify first when graceful); nothing waiting
 * on it is told. */
static void
conn_free(struct dot_conn *c, bool graceful)
{
	struct dot_pool *p = c->pool;
	struct dot_conn **pp;

	for (pp = &p->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (!c->retiring)
		p->nconns--;
	if (c->state == CONN_READY)
		atomic_fetch_sub(&p->rec->stats.tls_connections, 1);
	ev_io_stop(p->w->loop, &c->io);
	ev_timer_stop(p->w->loop, &c->timer);
	if (c->ssl != NULL) {
		if (graceful && c->state == CONN_READY)
			(void)SSL_shutdown(c->ssl); /* best effort */
		SSL_free(c->ssl);
	}
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	sendbuf_free(&c->out);
	free(c->rbuf);
	free(c);
}

/*
 * c failed or was closed by the server: every query on it fails (the
 * retry logic takes over). Neither c nor its pool is touched once the
 * callbacks run: they may send again to the same server.
 */
static void
conn_fail(struct dot_conn *c)
{
	void *waits[IDTAB_MAX];
	size_t n = idtab_drain(&c->ids, waits, IDTAB_MAX);

	for (size_t i = 0; i < n; i++)
		((struct dotpool_wait *)waits[i])->conn = NULL;
	conn_free(c, false);
	for (size_t i = 0; i < n; i++) {
		struct dotpool_wait *wt = waits[i];

		wt->on_error(wt);
	}
}

/*
 * A connection attempt failed (stage: what failed, why: OpenSSL's or the
 * system's reason): count it, back the server off, log it, fail c. A TLS
 * failure (a certificate that does not verify, most often) is logged every
 * time, at most once per attempt; a connect failure only when it is the
 * first in a row (the server's health and the metrics tell the rest).
 */
static void
conn_attempt_failed(struct dot_conn *c, bool tls, const char *why)
{
	struct dot_pool *p = c->pool;
	double wait;

	STAT_SHARED_INC(p->rec->stats.tls_handshakes[TLS_HS_FAILED]);
	p->fails++;
	wait = dotpool_backoff(p->fails);
	p->retry_at = ev_now(p->w->loop) + wait;
	if (tls)
		log_ring_msg(p->w->log, LOG_WARNING,
		             "upstream %s server %s: TLS handshake failed: %s "
		             "(expected %s)",
		             p->group, p->ep.text, why, p->ep.tls_name);
	else if (p->fails == 1)
		log_ring_msg(p->w->log, LOG_WARNING,
		             "upstream %s server %s: cannot connect: %s",
		             p->group, p->ep.text, why);
	conn_fail(c);
}

/* Why the handshake failed (e: SSL_get_error's), from OpenSSL's
 * verification result and error queue, or errno. */
static void
handshake_reason(const struct dot_conn *c, int e, int err, char *why,
                 size_t cap)
{
	long v = SSL_get_verify_result(c->ssl);
	unsigned long last = ERR_peek_last_error();
	const char *r = last != 0 ? ERR_reason_error_string(last) : NULL;

	if (v != X509_V_OK)
		snprintf(why, cap, "%s: %s",
		         r != NULL ? r : "certificate verify failed",
		         X509_verify_cert_error_string(v));
	else if (r != NULL)
		snprintf(why, cap, "%s", r);
	else if (e == SSL_ERROR_SYSCALL && err != 0)
		snprintf(why, cap, "%s", strerror(err));
	else
		snprintf(why, cap, "the server closed the connection");
	ERR_clear_error();
}

/*
 * Keep a copy of c's session for the next connection, when it is new and
 * can be resumed (TLS 1.3 tickets come after the handshake). A copy: a
 * connection freed without close_notify, or after a fatal error, marks
 * its own session as not resumable (SSL_free(3), ssl_clear_bad_session),
 * and the pool's must outlive it.
 */
static void
session_keep(struct dot_conn *c)
{
	struct dot_pool *p = c->pool;
	SSL_SESSION *s = SSL_get0_session(c->ssl), *copy;

	if (s == NULL || s == c->seen || !SSL_SESSION_is_resumable(s))
		return;
	c->seen = s;
	if ((copy = SSL_SESSION_dup(s)) == NULL)
		return;
	SSL_SESSION_free(p->session);
	p->session = copy;
}

/* Resume p's session on ssl, with a copy of its own (as above). */
static void
session_resume(const struct dot_pool *p, SSL *ssl)
{
	SSL_SESSION *copy;

	if (p->session == NULL || (copy = SSL_SESSION_dup(p->session)) == NULL)
		return;
	(void)SSL_set_session(ssl, copy);
	SSL_SESSION_free(copy);
}

static void
conn_ready(struct dot_conn *c)
{
	struct dot_pool *p = c->pool;
	struct ev_loop *loop = p->w->loop;

	c->state = CONN_READY;
	p->fails = 0;
	p->retry_at = 0;
	STAT_SHARED_INC(p->rec->stats.tls_handshakes[SSL_session_reused(c->ssl)
	                                                 ? TLS_HS_RESUMED
	                                                 : TLS_HS_FULL]);
	atomic_fetch_add(&p->rec->stats.tls_connections, 1);
	session_keep(c);
	c->last_used = ev_now(loop);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, DOT_IDLE, 0);
	ev_timer_start(loop, &c->timer);
}

/* 1: done; 0: under way; -1: failed, with the reason in why. */
static int
conn_handshake(struct dot_conn *c, char *why, size_t cap)
{
	int r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(c->ssl);
	if (r == 1)
		return 1;
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->hs_events = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		return 0;
	}
	handshake_reason(c, e, errno, why, cap);
	return -1;
}

/* Write what is queued, as far as the socket takes it: 0, or -1 when
 * the connection is broken. */
static int
conn_flush(struct dot_conn *c)
{
	c->want_write = false;
	switch (sendbuf_ssl_write(&c->out, c->ssl)) {
	case SENDBUF_WANT_WRITE:
		c->want_write = true;
		return 0;
	case SENDBUF_ERROR:
		return -1;
	case SENDBUF_WANT_READ: /* reading goes on anyway */
	case SENDBUF_DONE:
		break;
	}
	return 0;
}

/* A whole message came: to the query waiting for its ID, if any. */
static void
conn_deliver(struct dot_conn *c, const uint8_t *msg, size_t len)
{
	struct worker *w = c->pool->w;
	struct dotpool_wait *wt;

	if (len < DNS_HEADER_LEN) {
		STAT_INC(w->stats.upstream_garbage);
		return;
	}
	wt = idtab_find(&c->ids, dns_hdr_id(msg, len));
	if (wt == NULL) {
		/* Late (timed out, forgotten) or never asked. */
		STAT_INC(w->stats.upstream_mismatch);
		return;
	}
	c->stalls = 0;
	c->last_used = ev_now(w->loop);
	/* The owner checks the question, and forgets wt if it takes it. */
	wt->on_answer(wt, msg, len);
}

/* Read every whole message there is (RFC 7766 8 framing): 0, or -1 when
 * the server closed the connection or it broke. */
static int
conn_read(struct dot_conn *c)
{
	for (;;) {
		size_t want = dns_frame_want(c->rbuf, c->rlen);
		int n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)want);

		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);

			if (e == SSL_ERROR_WANT_READ)
				break;
			if (e == SSL_ERROR_WANT_WRITE) {
				c->want_write = true;
				break;
			}
			/* close_notify, EOF, a reset, a TLS error. (The
			 * tickets that came first are still good.) */
			ERR_clear_error();
			session_keep(c);
			return -1;
		}
		c->rlen += (size_t)n;
		if (!dns_frame_ready(c->rbuf, c->rlen))
			continue;
		conn_deliver(c, c->rbuf + DNS_FRAME_PREFIX,
		             c->rlen - DNS_FRAME_PREFIX);
		c->rlen = 0;
	}
	session_keep(c);
	return 0;
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct dot_conn *c = io->data;
	char why[256];

	if (c->state == CONN_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err != 0) {
			conn_attempt_failed(c, false, strerror(err));
			return;
		}
		c->state = CONN_HANDSHAKE;
	}
	if (c->state == CONN_HANDSHAKE) {
		int r = conn_handshake(c, why, sizeof(why));

		if (r < 0) {
			conn_attempt_failed(c, true, why);
			return;
		}
		if (r == 0) {
			conn_watch(c);
			return;
		}
		conn_ready(c);
	}
	/* Answers first: their callbacks may queue more to write. */
	if (c->broken || conn_read(c) < 0 || conn_flush(c) < 0) {
		conn_fail(c);
		return;
	}
	conn_watch(c);
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct dot_conn *c = t->data;
	ev_tstamp now = ev_now(loop), idle;

	if (c->broken) {
		conn_fail(c);
		return;
	}
	if (c->retiring && c->ids.n == 0) {
		conn_free(c, true);
		return;
	}
	if (c->state != CONN_READY) {
		conn_attempt_failed(c, c->state == CONN_HANDSHAKE, "timed out");
		return;
	}
	idle = now - c->last_used;
	if (c->ids.n == 0 && idle >= DOT_IDLE - 0.01) {
		conn_free(c, true);
		return;
	}
	/* Queries in flight have timers of their own; look again later. */
	ev_timer_set(t, c->ids.n == 0 ? DOT_IDLE - idle : DOT_IDLE, 0);
	ev_timer_start(loop, t);
}

/* A new connection to p's server, connecting; NULL with errno. */
static struct dot_conn *
conn_open(struct dot_pool *p)
{
	struct ev_loop *loop = p->w->loop;
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&p->ep.addr, p->ep.port, &ss);
	struct dot_conn *c = calloc(1, sizeof(*c)), **tail;
	int one = 1, e;

	if (c == NULL)
		return NULL;
	c->pool = p;
	c->fd = -1;
	c->rbuf = malloc(DNS_FRAME_MAX);
	if (c->rbuf == NULL)
		goto fail;
	c->fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	/* Queries leave as they come: nothing should wait for an ACK. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	errno = ENOMEM;
	c->ssl = SSL_new(p->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		goto fail;
	errno = EINVAL;
	if (tls_client_expect(c->ssl, p->ep.tls_name) < 0)
		goto fail;
	/* Many servers close idle connections without close_notify. That
	 * is no truncation attack on DNS, whose messages carry their length
	 * (RFC 7766 8), and it must not make OpenSSL forget the session
	 * (an unexpected EOF is fatal, and a fatal error does). */
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	session_resume(p, c->ssl);
	SSL_set_connect_state(c->ssl);
	idtab_init(&c->ids);
	c->state = CONN_CONNECTING;
	c->last_used = ev_now(loop);
	ev_io_init(&c->io, conn_io_cb, c->fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timer, conn_timer_cb, DOT_CONNECT_TIMEOUT, 0);
	c->timer.data = c;
	ev_timer_start(loop, &c->timer);
	/* At the tail: the older connections are preferred. */
	for (tail = &p->conns; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = c;
	p->nconns++;
	return c;
fail:
	e = errno;
	SSL_free(c->ssl);
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c);
	errno = e;
	return NULL;
}

static int
conn_send(struct dot_conn *c, struct dotpool_wait *wt, uint8_t *msg, size_t len)
{
	struct worker *w = c->pool->w;

	if (len > UINT16_MAX ||
	    sendbuf_reserve(&c->out, DNS_FRAME_PREFIX + len, OUT_MAX) < 0) {
		errno = ENOBUFS;
		return -1;
	}
	/* RFC 7766 6.2.1.1: no ID twice in flight on one connection. */
	while (idtab_find(&c->ids, wt->id) != NULL)
		wt->id = worker_random16(w);
	if (idtab_add(&c->ids, wt->id, wt) < 0) {
		errno = ENOBUFS;
		return -1;
	}
	dns_hdr_set_id(msg, len, wt->id);
	sendbuf_frame(&c->out, msg, len);
	wt->conn = c;
	c->last_used = ev_now(w->loop);
	if (c->state != CONN_READY || c->broken)
		return 0; /* sent when the handshake is done */
	if (conn_flush(c) < 0) {
		c->broken = true;
		conn_soon(c);
	} else {
		conn_watch(c);
	}
	return 0;
}

/* ---- pools ---- */

static void
pool_free(struct dot_pool *p)
{
	while (p->conns != NULL)
		conn_free(p->conns, false);
	SSL_SESSION_free(p->session);
	SSL_CTX_free(p->ctx);
	server_state_unref(p->rec);
	free(p->group);
	free(p);
}

/* A newer context took over p's server: its connections finish what
 * they carry and close. */
static void
pool_supersede(struct dot_pool *p)
{
	p->superseded = true;
	for (struct dot_conn *c = p->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_retire(c);
	}
}

/*
 * The pool of server s in w: found by record and context, or made (and
 * then it supersedes the server's older ones). Pools left without a
 * connection that are superseded or long unused are freed on the way.
 */
static struct dot_pool *
pool_get(struct worker *w, const struct dotpool_server *s)
{
	ev_tstamp now = ev_now(w->loop);
	struct dot_pool *p, **pp, *found = NULL;

	for (pp = &w->dots; (p = *pp) != NULL;) {
		if (p->rec == s->rec && p->ctx == s->ctx) {
			found = p;
		} else if (p->conns == NULL &&
		           (p->superseded ||
		            now - p->last_used > POOL_UNUSED)) {
			*pp = p->next;
			pool_free(p);
			continue;
		}
		pp = &p->next;
	}
	if (found != NULL)
		return found;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->group = strdup(s->group)) == NULL) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	for (struct dot_pool *o = w->dots; o != NULL; o = o->next)
		if (o->rec == s->rec)
			pool_supersede(o);
	p->w = w;
	p->rec = server_state_ref(s->rec);
	SSL_CTX_up_ref(s->ctx);
	p->ctx = s->ctx;
	p->ep = *s->ep;
	p->next = w->dots;
	w->dots = p;
	return p;
}

/*
 * The connection for one more query: the first with fewer than DOT_BUSY
 * in flight; else a new one, unless DOT_CONNS are open or the server is
 * backed off; else the least busy that has room. NULL with errno.
 */
static struct dot_conn *
conn_pick(struct dot_pool *p)
{
	struct dot_conn *best = NULL, *c;

	for (c = p->conns; c != NULL; c = c->next) {
		if (c->retiring || c->broken)
			continue;
		if (c->ids.n < DOT_BUSY)
			return c;
		if (c->ids.n < IDTAB_MAX &&
		    (best == NULL || c->ids.n < best->ids.n))
			best = c;
	}
	if (p->nconns < DOT_CONNS) {
		if (ev_now(p->w->loop) < p->retry_at)
			errno = ECONNREFUSED; /* backed off */
		else if ((c = conn_open(p)) != NULL)
			return c;
	} else if (best == NULL) {
		errno = ENOBUFS;
	}
	return best;
}

int
dotpool_send(struct worker *w, struct dotpool_wait *wt,
             const struct dotpool_server *s, uint8_t *msg, size_t len)
{
	struct dot_pool *p = pool_get(w, s);
	struct dot_conn *c;

	wt->conn = NULL;
	if (p == NULL)
		return -1;
	p->last_used = ev_now(w->loop);
	c = conn_pick(p);
	if (c == NULL)
		return -1;
	return conn_send(c, wt, msg, len);
}

int
dotpool_fd(const struct dotpool_wait *wt)
{
	return wt->conn != NULL ? wt->conn->fd : -1;
}

void
dotpool_forget(struct dotpool_wait *wt)
{
	struct dot_conn *c = wt->conn;

	if (c == NULL)
		return;
	wt->conn = NULL;
	(void)idtab_remove(&c->ids, wt->id, wt);
	if (c->retiring && c->ids.n == 0)
		conn_soon(c);
}

void
dotpool_timed_out(struct dotpool_wait *wt)
{
	struct dot_conn *c = wt->conn;

	/* A connection that answers nothing any more (a server that
	 * hangs) is not worth more queries: a new one may do better. */
	if (c != NULL && ++c->stalls >= DOT_STALLS)
		conn_retire(c);
	dotpool_forget(wt);
}

void
dotpool_free_all(struct worker *w)
{
	while (w->dots != NULL) {
		struct dot_pool *p = w->dots;

		w->dots = p->next;
		pool_free(p);
	}
}
