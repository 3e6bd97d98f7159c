/*
 * proxy/upstream.c — asking the view's upstream group: server selection,
 * one socket with a fresh random source port and ID per attempt, answer
 * validation, retries across servers, TCP after a truncated UDP answer, and
 * the health of each server (upstream.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/frame.h"
#include "dns/msg.h"
#include "proxy/upstream.h"
#include "proxy/usock.h"
#include "proxy/worker.h"

/* A server is down after this many timeouts/SERVFAILs in a row
 * (dnsgate.conf(5), [upstream]). */
#define DOWN_AFTER 3
/* Worker 0's health tick (s): while a server is down, and otherwise. */
#define HEALTH_TICK_DOWN 0.1
#define HEALTH_TICK_UP   1.0
/* Cap on servers considered per group; config.c enforces it. */
#define MAX_SERVERS UPSTREAM_MAX_SERVERS
_Static_assert(MAX_SERVERS <= 32, "upstream_attempt.asked is 32 bits");

static void attempt_next(struct query *qr);

/* The counters of the server qr's attempt is asking. */
static struct server_stats *
server_stats(const struct query *qr)
{
	return &runstate_server(qr->rs, qr->ua.up, (size_t)qr->ua.server)
	            ->stats;
}

/* A failure of our own resources, not of the server. */
static bool
local_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM ||
	       err == ENOBUFS;
}
static void tcp_io_cb(struct ev_loop *loop, ev_io *io, int revents);

static void
health_answered(struct worker *w, const struct runstate *rs,
                const struct upstream_conf *u, int server, double rtt)
{
	struct server_health *h =
	    &runstate_server(rs, u, (size_t)server)->health;
	unsigned us = (unsigned)(rtt * 1e6);
	unsigned old = atomic_load(&h->srtt_us);

	atomic_store(&h->fails, 0);
	server_health_answered(h);
	/* Smoothed like TCP's SRTT (RFC 6298): 7/8 old + 1/8 new. Probes
	 * (rtt < 0) say nothing about speed. */
	if (rtt >= 0)
		atomic_store(&h->srtt_us, old == 0 ? us : (old * 7 + us) / 8);
	if (atomic_exchange(&h->down, false)) {
		server_health_changed(h);
		log_ring_msg(w->log, LOG_NOTICE,
		             "upstream %s server %s is up again", u->name,
		             u->servers[server].text);
	}
}

/* A failed attempt of kind timeout, network or SERVFAIL. */
static void
health_failed(struct worker *w, const struct runstate *rs,
              const struct upstream_conf *u, int server,
              enum up_error_kind kind)
{
	struct server_health *h =
	    &runstate_server(rs, u, (size_t)server)->health;

	server_health_failed(h, kind);
	if (kind == UPERR_TIMEOUT) {
		unsigned old = atomic_load(&h->srtt_us);
		unsigned pen = u->timeout_ms * 1000;

		atomic_store(&h->srtt_us, old == 0 ? pen : (old * 7 + pen) / 8);
	}
	if (atomic_fetch_add(&h->fails, 1) + 1 >= DOWN_AFTER &&
	    !atomic_exchange(&h->down, true)) {
		server_health_changed(h);
		log_msg(LOG_WARNING,
		        "upstream %s server %s is down after %d failures "
		        "(timeouts %u, network errors %u, SERVFAIL %u)",
		        u->name, u->servers[server].text, DOWN_AFTER,
		        server_health_streak(h, UPERR_TIMEOUT),
		        server_health_streak(h, UPERR_NETWORK),
		        server_health_streak(h, UPERR_SERVFAIL));
	}
}

/*
 * The server for the next attempt: among servers that are up (all of them
 * when every one is down), in the group's selection order, the first this
 * query has not asked yet; once it has asked them all, the order starts
 * over (attempts may outnumber servers). The order is made anew for every
 * attempt, since a failure may take a server down or change its RTT: the
 * retry still goes to a server not yet asked, never back to the one that
 * just failed while another is left.
 */
static int
pick_server(const struct query *qr)
{
	const struct upstream_conf *u = qr->ua.up;
	struct server_state *const *st = runstate_group(qr->rs, u)->servers;
	int cand[MAX_SERVERS];
	size_t n = 0, first;

	for (size_t i = 0; i < u->nservers && i < MAX_SERVERS; i++)
		if (!atomic_load(&st[i]->health.down))
			cand[n++] = (int)i;
	if (n == 0)
		for (size_t i = 0; i < u->nservers && i < MAX_SERVERS; i++)
			cand[n++] = (int)i;
	/* Round-robin: this query's order starts at its position. */
	first = u->selection == SEL_ROUND_ROBIN ? qr->ua.rr_start % n : 0;
	if (u->selection == SEL_FASTEST) {
		/* Unmeasured servers (0) sort first, so they get measured. */
		for (size_t i = 1; i < n; i++) {
			int c = cand[i];
			unsigned rc = atomic_load(&st[c]->health.srtt_us);
			size_t j = i;

			while (j > 0 &&
			       atomic_load(&st[cand[j - 1]]->health.srtt_us) >
			           rc) {
				cand[j] = cand[j - 1];
				j--;
			}
			cand[j] = c;
		}
	}
	for (size_t k = 0; k < n; k++) {
		int c = cand[(first + k) % n];

		if (!(qr->ua.asked & (UINT32_C(1) << c)))
			return c;
	}
	return cand[(first + qr->ua.attempts) % n];
}

void
upstream_init(struct query *qr)
{
	memset(&qr->ua, 0, offsetof(struct upstream_attempt, q));
	qr->ua.fd = -1;
	qr->ua.server = -1;
}

/* The current attempt is over: its socket, timer and buffer go. */
static void
upstream_cancel(struct query *qr)
{
	struct worker *w = qr->w;

	ev_timer_stop(w->loop, &qr->ua.timer);
	uppool_forget(&qr->ua.pooled);
	if (qr->ua.usock != NULL) {
		usock_release(qr->ua.usock);
		qr->ua.usock = NULL;
	}
	if (qr->ua.fd < 0)
		return;
	ev_io_stop(w->loop, &qr->ua.io);
	close(qr->ua.fd);
	qr->ua.fd = -1;
	free(qr->ua.buf);
	qr->ua.buf = NULL;
}

void
upstream_free(struct query *qr)
{
	upstream_cancel(qr);
	free(qr->ua.xq);
	qr->ua.xq = NULL;
}

/* The query ends; query_finish() releases the exchange (upstream_free). */
static void
finish(struct query *qr, enum pipe_verdict v)
{
	query_finish(qr, v);
}

/* Every attempt failed: the pipeline makes the answer (pipeline_finish). */
static void
finish_failed(struct query *qr, enum up_failure why)
{
	qr->c.upstream.msg = NULL;
	qr->c.upstream.failure = why;
	finish(qr, PIPE_UPSTREAM);
}

/* An attempt failed: retry on the next server if retry-on allows. */
static void
attempt_failed(struct query *qr, enum up_failure why)
{
	unsigned need = why == UP_FAIL_SERVFAIL  ? RETRY_SERVFAIL
	                : why == UP_FAIL_REFUSED ? RETRY_REFUSED
	                                         : RETRY_TIMEOUT;

	static const enum up_error_kind kind[] = {
	    [UP_FAIL_TIMEOUT] = UPERR_TIMEOUT,
	    [UP_FAIL_NETWORK] = UPERR_NETWORK,
	    [UP_FAIL_SERVFAIL] = UPERR_SERVFAIL,
	    [UP_FAIL_REFUSED] = UPERR_REFUSED,
	    [UP_FAIL_LOCAL] = UPERR_NETWORK,
	};

	STAT_SHARED_INC(server_stats(qr)->errors[kind[why]]);
	/* Timeouts and SERVFAILs take a server down; so does an
	 * unreachable one. Running out of our own fds says nothing of it.
	 * A retried REFUSED only goes into the record of why (ctl
	 * upstreams). */
	if (why == UP_FAIL_REFUSED)
		server_health_failed(
		    &runstate_server(qr->rs, qr->ua.up, (size_t)qr->ua.server)
		         ->health,
		    UPERR_REFUSED);
	else if (why != UP_FAIL_LOCAL)
		health_failed(qr->w, qr->rs, qr->ua.up, qr->ua.server,
		              kind[why]);
	upstream_cancel(qr);
	if (!(qr->ua.up->retry_on & need) ||
	    qr->ua.attempts >= qr->ua.up->attempts) {
		finish_failed(qr, why);
		return;
	}
	attempt_next(qr);
}

/* Part of a zone already went out: only closing tells the client. */
static void
xfr_interrupted(struct query *qr)
{
	decision_rule(&qr->c.dec, "transfer:interrupted");
	qr->c.dec.action = ACTION_SERVFAIL;
	worker_tcp_abort(qr->conn);
	finish(qr, PIPE_SENT);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct query *qr = t->data;

	if (qr->c.transfer && qr->ua.xfr.messages > 0) {
		xfr_interrupted(qr);
		return;
	}
	/* The socket closes with the attempt: a late answer is never read. */
	attempt_failed(qr, UP_FAIL_TIMEOUT);
}

static int
tcp_start(struct query *qr)
{
	struct worker *w = qr->w;
	const struct endpoint *ep = &qr->ua.up->servers[qr->ua.server];
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&ep->addr, ep->port, &ss);

	upstream_cancel(qr);
	qr->ua.fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (qr->ua.fd < 0)
		return -1;
	if (connect(qr->ua.fd, (struct sockaddr *)&ss, sl) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	qr->ua.buf = malloc(DNS_FRAME_MAX);
	if (qr->ua.buf == NULL)
		return -1;
	if (qr->ua.xq != NULL) {
		/* The client's own transfer query, under our ID. */
		dns_hdr_set_id(qr->ua.xq, qr->ua.xqlen, qr->ua.id);
		xfr_begin(&qr->ua.xfr, qr->c.q.qtype, qr->ua.id,
		          qr->c.q.hdr.id);
		memcpy(qr->ua.buf + DNS_FRAME_PREFIX, qr->ua.xq, qr->ua.xqlen);
		qr->ua.buflen = DNS_FRAME_PREFIX + qr->ua.xqlen;
	} else {
		memcpy(qr->ua.buf + DNS_FRAME_PREFIX, qr->ua.q, qr->ua.qlen);
		qr->ua.buflen = DNS_FRAME_PREFIX + qr->ua.qlen;
	}
	dns_frame_prefix(qr->ua.buf, qr->ua.buflen - DNS_FRAME_PREFIX);
	qr->ua.bufoff = 0;
	qr->ua.tcp = true;
	qr->ua.connected = false;
	ev_io_init(&qr->ua.io, tcp_io_cb, qr->ua.fd, EV_WRITE);
	qr->ua.io.data = qr;
	ev_io_start(w->loop, &qr->ua.io);
	/* The TCP retry is not an attempt, but it gets a full timeout; a
	 * transfer gets one per message (ev_timer_again needs the repeat). */
	ev_timer_init(&qr->ua.timer, timeout_cb, qr->ua.up->timeout_ms / 1000.0,
	              qr->c.transfer ? qr->ua.up->timeout_ms / 1000.0 : 0);
	qr->ua.timer.data = qr;
	ev_timer_start(w->loop, &qr->ua.timer);
	return 0;
}

/* A matching answer arrived (over UDP or TCP). */
static void
handle_answer(struct query *qr, const uint8_t *resp, size_t len,
              const struct dns_response *r)
{
	unsigned retry = qr->ua.up->retry_on;

	if (!qr->ua.tcp && (r->hdr.flags & DNS_FLAG_TC)) {
		/* Truncated: ask the same server over TCP (RFC 7766 5). */
		if (tcp_start(qr) < 0)
			attempt_failed(qr, local_error(errno)
			                       ? UP_FAIL_LOCAL
			                       : UP_FAIL_NETWORK);
		return;
	}
	if (r->rcode == DNS_RCODE_BADCOOKIE && qr->ua.cookie_sent &&
	    qr->ua.attempts < qr->ua.up->attempts) {
		/* The jar just learned the server's cookie: ask again. */
		upstream_cancel(qr);
		attempt_next(qr);
		return;
	}
	if (r->rcode == DNS_RCODE_SERVFAIL && (retry & RETRY_SERVFAIL)) {
		attempt_failed(qr, UP_FAIL_SERVFAIL);
		return;
	}
	if (r->rcode == DNS_RCODE_REFUSED && (retry & RETRY_REFUSED)) {
		attempt_failed(qr, UP_FAIL_REFUSED);
		return;
	}
	server_stats_latency(server_stats(qr), ev_time() - qr->ua.start);
	if (r->rcode == DNS_RCODE_SERVFAIL) {
		STAT_SHARED_INC(server_stats(qr)->errors[UPERR_SERVFAIL]);
		health_failed(qr->w, qr->rs, qr->ua.up, qr->ua.server,
		              UPERR_SERVFAIL);
	} else {
		health_answered(qr->w, qr->rs, qr->ua.up, qr->ua.server,
		                ev_time() - qr->ua.start);
	}
	/* resp lives until finish() returns: the pipeline copies it. */
	qr->c.upstream.msg = resp;
	qr->c.upstream.len = len;
	qr->c.upstream.r = r;
	finish(qr, PIPE_UPSTREAM);
}

/* Parse and check an answer; false (and counted) when it is not ours. */
static bool
answer_valid(struct query *qr, const uint8_t *buf, size_t len,
             struct dns_response *r)
{
	if (dns_response_parse(buf, len, r) < 0) {
		/* Some servers truncate without fixing the counts: a TC=1
		 * answer with our ID is enough to go to TCP (RFC 7766 5). */
		uint16_t flags = dns_hdr_flags(buf, len);

		if (!qr->ua.tcp && len >= DNS_HEADER_LEN &&
		    dns_hdr_id(buf, len) == qr->ua.id &&
		    (flags & DNS_FLAG_QR) && (flags & DNS_FLAG_TC)) {
			memset(r, 0, sizeof(*r));
			r->hdr.flags = DNS_FLAG_QR | DNS_FLAG_TC;
			return true;
		}
		STAT_INC(qr->w->stats.upstream_garbage);
		STAT_SHARED_INC(server_stats(qr)->errors[UPERR_MISMATCH]);
		return false;
	}
	if (!dns_response_matches(r, qr->ua.id, &qr->c.q)) {
		STAT_INC(qr->w->stats.upstream_mismatch);
		STAT_SHARED_INC(server_stats(qr)->errors[UPERR_MISMATCH]);
		return false;
	}
	/* RFC 7873 5.3: a cookie that is not ours means an answer from
	 * someone who never saw the query: ignore it, like a wrong ID. */
	if (qr->ua.cookie_sent) {
		const struct endpoint *ep = &qr->ua.up->servers[qr->ua.server];

		if (cookie_jar_response(
		        &qr->w->jar, &ep->addr, ep->port, qr->ua.cookie,
		        r->edns.has_cookie ? r->edns.cookie : NULL,
		        r->edns.cookie_len,
		        (uint32_t)ev_now(qr->w->loop)) == COOKIE_JAR_DISCARD) {
			STAT_INC(qr->w->stats.upstream_mismatch);
			STAT_SHARED_INC(
			    server_stats(qr)->errors[UPERR_MISMATCH]);
			return false;
		}
	}
	return true;
}

/* An answer with our ID on a pooled socket (proxy/uppool.h). */
static void
pooled_answer(struct uppool_wait *wt, const uint8_t *buf, size_t len)
{
	struct query *qr = wt->owner;
	struct dns_response r;

	if (answer_valid(qr, buf, len, &r))
		handle_answer(qr, buf, len, &r);
}

static void
pooled_error(struct uppool_wait *wt)
{
	attempt_failed(wt->owner, UP_FAIL_NETWORK);
}

static void
udp_read(struct usock *s)
{
	struct query *qr = s->owner;
	struct worker *w = qr->w;
	const struct endpoint *ep = &qr->ua.up->servers[qr->ua.server];
	struct dns_response r;

	/* Only the server's address and port may answer; ID and question
	 * are checked too. Anything else is ignored and counted, and the
	 * attempt keeps waiting (anti-spoofing). */
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(s->fd, w->rbuf, DNS_MAX_MSG, 0,
		                     (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno == EINTR)
				return;
			/* An ICMP error, or nothing (EAGAIN). Either way its
			 * queue is drained; only "unreachable" for the server
			 * itself ends the attempt. */
			if (usock_icmp_error(s, &ep->addr, ep->port))
				attempt_failed(qr, UP_FAIL_NETWORK);
			return;
		}
		if (!ip_sockaddr_is((struct sockaddr *)&from, &ep->addr,
		                    ep->port)) {
			STAT_INC(w->stats.upstream_mismatch);
			STAT_SHARED_INC(
			    server_stats(qr)->errors[UPERR_MISMATCH]);
			continue;
		}
		if (answer_valid(qr, w->rbuf, (size_t)n, &r)) {
			/* Nothing else is expected on it: it may be reused. */
			s->answered = true;
			handle_answer(qr, w->rbuf, (size_t)n, &r);
			return;
		}
	}
}

/* A send queued for io_uring failed, as sendto() would have. */
static void
udp_send_failed(struct usock *s)
{
	struct query *qr = s->owner;

	attempt_failed(qr,
	               local_error(errno) ? UP_FAIL_LOCAL : UP_FAIL_NETWORK);
}

/*
 * One complete message of a transfer sits in ubuf: relay it. Returns true
 * when the caller should read on, false when the query has finished.
 */
static bool
xfr_relay(struct query *qr)
{
	uint8_t *msg = qr->ua.buf + DNS_FRAME_PREFIX;
	size_t len = qr->ua.bufoff - DNS_FRAME_PREFIX;
	enum xfr_step s = xfr_message(&qr->ua.xfr, msg, len);

	qr->ua.bufoff = 0;
	if (s != XFR_BROKEN) {
		if (qr->ua.xfr.messages == 1)
			qr->c.dec.rcode = qr->ua.xfr.rcode;
		worker_tcp_send(qr->conn, msg, len);
	}
	if (s == XFR_MORE) {
		/* Each message restarts the clock, like an idle timeout. */
		ev_timer_again(qr->w->loop, &qr->ua.timer);
		if (worker_tcp_pause(qr->conn, qr)) {
			/* The client reads slower than the upstream sends. */
			ev_io_stop(qr->w->loop, &qr->ua.io);
			return false;
		}
		return true;
	}
	if (s == XFR_DONE) {
		health_answered(qr->w, qr->rs, qr->ua.up, qr->ua.server,
		                ev_time() - qr->ua.start);
		qr->c.dec.action = ACTION_FORWARD;
		finish(qr, PIPE_SENT);
		return false;
	}
	if (qr->ua.xfr.messages == 0) {
		attempt_failed(qr, UP_FAIL_SERVFAIL);
		return false;
	}
	xfr_interrupted(qr);
	return false;
}

void
upstream_xfr_resume(struct query *qr)
{
	ev_timer_again(qr->w->loop, &qr->ua.timer);
	ev_io_start(qr->w->loop, &qr->ua.io);
}

static void
tcp_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct query *qr = io->data;
	struct dns_response r;
	ssize_t n;

	if (qr->ua.bufoff < qr->ua.buflen && qr->ua.buflen > 0 &&
	    !qr->ua.connected) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(qr->ua.fd, SOL_SOCKET, SO_ERROR, &err, &el) <
		        0 ||
		    err != 0) {
			attempt_failed(qr, UP_FAIL_NETWORK);
			return;
		}
		qr->ua.connected = true;
	}
	if (qr->ua.buflen > 0) {
		/* Sending the length-prefixed query. */
		n = send(qr->ua.fd, qr->ua.buf + qr->ua.bufoff,
		         qr->ua.buflen - qr->ua.bufoff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				attempt_failed(qr, UP_FAIL_NETWORK);
			return;
		}
		qr->ua.bufoff += (size_t)n;
		if (qr->ua.bufoff < qr->ua.buflen)
			return;
		qr->ua.buflen = 0; /* now reading into ubuf */
		qr->ua.bufoff = 0;
		ev_io_stop(loop, io);
		ev_io_set(io, qr->ua.fd, EV_READ);
		ev_io_start(loop, io);
		return;
	}
	for (;;) {
		size_t want = dns_frame_want(qr->ua.buf, qr->ua.bufoff);

		n = recv(qr->ua.fd, qr->ua.buf + qr->ua.bufoff, want, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (qr->c.transfer && qr->ua.xfr.messages > 0)
				xfr_interrupted(qr);
			else
				attempt_failed(qr, UP_FAIL_NETWORK);
			return;
		}
		qr->ua.bufoff += (size_t)n;
		if (!dns_frame_ready(qr->ua.buf, qr->ua.bufoff))
			continue;
		if (qr->c.transfer) {
			if (!xfr_relay(qr))
				return;
			continue;
		}
		if (answer_valid(qr, qr->ua.buf + DNS_FRAME_PREFIX,
		                 qr->ua.bufoff - DNS_FRAME_PREFIX, &r)) {
			handle_answer(qr, qr->ua.buf + DNS_FRAME_PREFIX,
			              qr->ua.bufoff - DNS_FRAME_PREFIX, &r);
			return;
		}
		qr->ua.bufoff = 0; /* not ours: wait for the next message */
	}
}

static int
udp_start(struct query *qr)
{
	struct worker *w = qr->w;
	const struct endpoint *ep = &qr->ua.up->servers[qr->ua.server];
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&ep->addr, ep->port, &ss);

	qr->ua.tcp = false;
	ev_timer_init(&qr->ua.timer, timeout_cb, qr->ua.up->timeout_ms / 1000.0,
	              0);
	qr->ua.timer.data = qr;
	if (qr->ua.up->udp_sockets > 0) {
		qr->ua.pooled.owner = qr;
		qr->ua.pooled.id = qr->ua.id;
		qr->ua.pooled.on_answer = pooled_answer;
		qr->ua.pooled.on_error = pooled_error;
		if (uppool_send(w, &qr->ua.pooled, ep, qr->ua.up->udp_sockets,
		                qr->ua.q, qr->ua.qlen) == 0) {
			qr->ua.id = qr->ua.pooled.id;
			ev_timer_start(w->loop, &qr->ua.timer);
			w->local_sent |= ep->on_host;
			return 0;
		}
		/* A full pool socket: this one attempt gets its own. */
		if (errno != EBUSY)
			return -1;
	}
	/* A socket of its own, hence a fresh random source port. */
	qr->ua.usock =
	    usock_open(w, qr, ss.ss_family, udp_read, udp_send_failed);
	if (qr->ua.usock == NULL ||
	    usock_send(qr->ua.usock, qr->ua.q, qr->ua.qlen,
	               (struct sockaddr *)&ss, sl) < 0)
		return -1;
	ev_timer_start(w->loop, &qr->ua.timer);
	/* A server on this host may wait for our CPU (local_yield). */
	w->local_sent |= ep->on_host;
	return 0;
}

/*
 * As a cookie client (RFC 7873 5.1, RFC 9018 3): append our COOKIE option
 * for this server to the OPT that ends qr->ua.q, and remember what we sent.
 */
static void
add_client_cookie(struct query *qr, const struct endpoint *ep)
{
	uint8_t opt[COOKIE_MAX_LEN];
	size_t n = cookie_jar_request(&qr->w->jar, &ep->addr, ep->port,
	                              (uint32_t)ev_now(qr->w->loop), opt);
	struct wbuf b;

	qr->ua.cookie_sent = false;
	if (n == 0 || qr->ua.qlen + 4 + n > sizeof(qr->ua.q))
		return;
	wbuf_init(&b, qr->ua.q, sizeof(qr->ua.q));
	b.len = qr->ua.qlen;
	dns_opt_cookie_write(&b, opt, n);
	/* The OPT's RDLENGTH: the last two bytes before its options. */
	wbuf_put_u16_at(&b, qr->ua.qlen - 2, (uint16_t)(4 + n));
	if (b.err)
		return;
	qr->ua.qlen = b.len;
	memcpy(qr->ua.cookie, opt, COOKIE_CLIENT_LEN);
	qr->ua.cookie_sent = true;
}

static void
attempt_next(struct query *qr)
{
	const struct endpoint *ep;

	qr->ua.server = pick_server(qr);
	qr->ua.asked |= UINT32_C(1) << qr->ua.server;
	qr->ua.attempts++;
	/* Never the client's ID: a fresh random one per attempt. */
	qr->ua.id = worker_random16(qr->w);
	qr->ua.qlen = dns_build_upstream_query(
	    qr->ua.q, sizeof(qr->ua.q), &qr->c.q, qr->ua.id,
	    (uint16_t)qr->conf->server.udp_payload_size);
	ep = &qr->ua.up->servers[qr->ua.server];
	if (qr->ua.qlen > 0 && qr->ua.up->cookies)
		add_client_cookie(qr, ep);
	qr->c.dec.have_upstream = true;
	qr->c.dec.upstream = ep->addr;
	qr->c.dec.upstream_port = ep->port;
	qr->c.dec.attempts = qr->ua.attempts;
	qr->ua.start = ev_time();
	if (qr->ua.qlen == 0) {
		finish_failed(qr, UP_FAIL_NETWORK);
		return;
	}
	if (qr->c.transfer) {
		/* Zone transfers are TCP only (RFC 5936 4.2). */
		STAT_SHARED_INC(server_stats(qr)->queries);
		if (tcp_start(qr) < 0)
			attempt_failed(qr, local_error(errno)
			                       ? UP_FAIL_LOCAL
			                       : UP_FAIL_NETWORK);
		return;
	}
	STAT_SHARED_INC(server_stats(qr)->queries);
	if (udp_start(qr) < 0)
		attempt_failed(qr, local_error(errno) ? UP_FAIL_LOCAL
		                                      : UP_FAIL_NETWORK);
}

void
upstream_forward(struct query *qr)
{
	qr->ua.up = qr->c.view->upstream;
	if (qr->c.transfer) {
		/* c->pkt lives only until we return: keep a copy. */
		qr->ua.xq = malloc(qr->c.pktlen);
		if (qr->ua.xq == NULL) {
			finish_failed(qr, UP_FAIL_NETWORK);
			return;
		}
		memcpy(qr->ua.xq, qr->c.pkt, qr->c.pktlen);
		qr->ua.xqlen = qr->c.pktlen;
	}
	if (qr->ua.up->nservers == 0) {
		/* resolv-conf listed no usable nameserver. */
		finish_failed(qr, UP_FAIL_NETWORK);
		return;
	}
	qr->ua.attempts = 0;
	qr->ua.rr_start =
	    atomic_fetch_add(&runstate_group(qr->rs, qr->ua.up)->rr_next, 1);
	attempt_next(qr);
}

/* ---- health probes ---- */

struct probe {
	struct probe *prev, *next; /* the worker's probes in flight */
	struct worker *w;
	struct runstate *rs; /* a reference: up and its records stay */
	const struct upstream_conf *up;
	int server;
	int fd;
	uint16_t id;
	ev_io io;
	ev_timer timer;
};

static void
probe_free(struct probe *p)
{
	runstate_server(p->rs, p->up, (size_t)p->server)->health.probing =
	    false;
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->w->probes = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	ev_io_stop(p->w->loop, &p->io);
	ev_timer_stop(p->w->loop, &p->timer);
	close(p->fd);
	runstate_unref(p->rs);
	free(p);
}

static void
probe_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct probe *p = io->data;
	uint8_t buf[4096];
	struct dns_response r;
	ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* A well-formed answer with our ID shows the server is back, unless
	 * it is a SERVFAIL: that is what took it down. */
	if (n > 0 && dns_response_parse(buf, (size_t)n, &r) == 0 &&
	    r.hdr.id == p->id && r.rcode != DNS_RCODE_SERVFAIL)
		health_answered(p->w, p->rs, p->up, p->server, -1.0);
	probe_free(p);
}

static void
probe_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	probe_free(t->data);
}

static void
probe_send(struct worker *w, const struct upstream_conf *u, int server)
{
	const struct endpoint *ep = &u->servers[server];
	struct dns_query q = {
	    .qname_len = 1, .qtype = DNS_TYPE_NS, .qclass = DNS_CLASS_IN};
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&ep->addr, ep->port, &ss);
	uint8_t msg[64];
	size_t len;
	struct probe *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return;
	p->id = worker_random16(w);
	len = dns_build_upstream_query(
	    msg, sizeof(msg), &q, p->id,
	    (uint16_t)w->conf->server.udp_payload_size);
	p->fd =
	    socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || len == 0 ||
	    connect(p->fd, (struct sockaddr *)&ss, sl) < 0 ||
	    send(p->fd, msg, len, 0) < 0) {
		if (p->fd >= 0)
			close(p->fd);
		free(p);
		return;
	}
	p->w = w;
	runstate_server(w->rs, u, (size_t)server)->health.probing = true;
	p->next = w->probes;
	if (w->probes != NULL)
		w->probes->prev = p;
	w->probes = p;
	p->rs = runstate_ref(w->rs);
	p->up = u;
	p->server = server;
	ev_io_init(&p->io, probe_read_cb, p->fd, EV_READ);
	p->io.data = p;
	ev_timer_init(&p->timer, probe_timeout_cb, u->timeout_ms / 1000.0, 0);
	p->timer.data = p;
	ev_io_start(w->loop, &p->io);
	ev_timer_start(w->loop, &p->timer);
}

static void
health_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	const struct config *c = w->conf;
	double now = ev_now(loop);
	bool any_down = false;

	for (size_t i = 0; i < c->nupstreams; i++) {
		const struct upstream_conf *u = c->upstreams[i];

		for (size_t s = 0; s < u->nservers; s++) {
			struct server_health *h =
			    &runstate_server(w->rs, u, s)->health;

			if (!atomic_load(&h->down))
				continue;
			any_down = true;
			if (h->probing ||
			    now - h->last_probe < u->health_ms / 1000.0)
				continue;
			h->last_probe = now;
			probe_send(w, u, (int)s);
		}
	}
	/* Fine-grained only while a server is down: an idle daemon with
	 * healthy upstreams wakes for this once a second, not ten times. */
	t->repeat = any_down ? HEALTH_TICK_DOWN : HEALTH_TICK_UP;
	ev_timer_again(loop, t);
}

void
upstream_probes_free(struct worker *w)
{
	while (w->probes != NULL)
		probe_free(w->probes);
}

void
upstream_health_start(struct worker *w)
{
	ev_timer_stop(w->loop, &w->health_timer);
	/* A coarse tick; each server is probed at its group's interval. */
	ev_timer_init(&w->health_timer, health_cb, HEALTH_TICK_DOWN,
	              HEALTH_TICK_DOWN);
	w->health_timer.data = w;
	ev_timer_start(w->loop, &w->health_timer);
}
