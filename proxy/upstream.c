/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/upstream.c — asking the view's upstream group: server selection,
 * one socket with a fresh random source port and ID per attempt, answer
 * validation, retries across servers, TCP after a truncated UDP answer, TLS
 * connections to tls:// servers, and the health of each server
 * (upstream.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/frame.h"
#include "dns/msg.h"
#include "obs/dnstap.h"
#include "obs/fdlimit.h"
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

/*
 * An attempt could not start (err: errno of the call that failed): ours
 * (descriptors, memory) or the network's. Running out of descriptors is
 * counted and logged (obs/fdlimit.h).
 */
static enum up_failure
start_failure(struct query *qr, int err)
{
	fdlimit_hit(qr->w->log, &qr->w->stats.fd_exhausted[FD_UPSTREAM],
	            FD_UPSTREAM, err);
	return local_error(err) ? UP_FAIL_LOCAL : UP_FAIL_NETWORK;
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

/* ---- attempts in flight, by ID (struct upstream_ids) ---- */

static void
ids_add(struct query *qr)
{
	struct query **head =
	    &qr->w->up_ids.bucket[qr->ua.id % UPSTREAM_ID_BUCKETS];

	qr->ua.id_next = *head;
	if (*head != NULL)
		(*head)->ua.id_pprev = &qr->ua.id_next;
	qr->ua.id_pprev = head;
	*head = qr;
	qr->ua.local_port = 0;
}

static void
ids_del(struct query *qr)
{
	if (qr->ua.id_pprev == NULL)
		return;
	*qr->ua.id_pprev = qr->ua.id_next;
	if (qr->ua.id_next != NULL)
		qr->ua.id_next->ua.id_pprev = qr->ua.id_pprev;
	qr->ua.id_pprev = NULL;
	qr->ua.id_next = NULL;
}

/* The current attempt goes over a connection (TCP or TLS). */
static bool
attempt_stream(const struct query *qr)
{
	return qr->ua.tcp || qr->ua.tls;
}

/* The socket of the current attempt, or -1. */
static int
attempt_fd(const struct query *qr)
{
	if (qr->ua.tcp)
		return qr->ua.fd;
	if (qr->ua.tls)
		return dotpool_fd(&qr->ua.dot);
	if (qr->ua.usock != NULL)
		return qr->ua.usock->fd;
	return uppool_fd(&qr->ua.pooled);
}

/*
 * The local port qr's attempt sends from: looked up once (getsockname),
 * only when a query with its ID comes from this host, so the datapath
 * pays nothing for it otherwise. 0 when it has none.
 */
static uint16_t
attempt_port(struct query *qr)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ip_addr a;
	int fd = attempt_fd(qr);

	if (qr->ua.local_port != 0 || fd < 0)
		return qr->ua.local_port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    ip_addr_from_sockaddr((struct sockaddr *)&ss, &a,
	                          &qr->ua.local_port) < 0)
		qr->ua.local_port = 0;
	return qr->ua.local_port;
}

/*
 * The query came from this host: a loopback address, the address it was
 * sent to, or (UDP) in on the loopback interface, which is how a
 * datagram from this host to any of its addresses arrives.
 */
static bool
from_this_host(const struct query *qr)
{
	const struct qctx *c = &qr->c;

	if (ip_addr_is_loopback(&c->client) ||
	    (c->have_dest && ip_addr_equal(&c->client, &c->dest)))
		return true;
	return !c->tcp && qr->w->lo_ifindex > 0 &&
	       qr->ifindex == qr->w->lo_ifindex;
}

/*
 * A forwarding loop: qr, just received, is one of this worker's own
 * attempts come back, which the attempt's ID finds. It is ours when it
 * came from the attempt's own socket (the same port, from this host: a
 * server address that leads back to us through NAT, or one of our
 * addresses the configuration could not know), or when it carries the
 * attempt's client cookie (RFC 7873: 64 random bits no one else has seen:
 * a relay or forwarder passed our query on unchanged). The attempt, or
 * NULL; *how says which.
 */
static struct query *
loop_origin(struct query *qr, enum loop_kind *how)
{
	const struct dns_query *q = &qr->c.q;
	struct query *o = qr->w->up_ids.bucket[q->hdr.id % UPSTREAM_ID_BUCKETS];

	for (; o != NULL; o = o->ua.id_next) {
		/* (A transfer under way was answered: no loop there.) */
		if (o->ua.id != q->hdr.id || o == qr ||
		    (o->c.transfer && o->ua.xfr.messages > 0))
			continue;
		if (o->ua.cookie_sent && q->edns.has_cookie &&
		    memcmp(q->edns.cookie, o->ua.cookie, COOKIE_CLIENT_LEN) ==
		        0) {
			*how = LOOP_OWN_QUERY;
			return o;
		}
		if (attempt_stream(o) == qr->c.tcp && from_this_host(qr) &&
		    attempt_port(o) == qr->c.client_port) {
			*how = LOOP_OWN_SOCKET;
			return o;
		}
	}
	return NULL;
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

	ids_del(qr);
	ev_timer_stop(w->loop, &qr->ua.timer);
	uppool_forget(&qr->ua.pooled);
	dotpool_forget(&qr->ua.dot);
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
	/* A loop is the network's failure, as retry-on counts them. */
	unsigned need = why == UP_FAIL_SERVFAIL  ? RETRY_SERVFAIL
	                : why == UP_FAIL_REFUSED ? RETRY_REFUSED
	                                         : RETRY_TIMEOUT;

	static const enum up_error_kind kind[] = {
	    [UP_FAIL_TIMEOUT] = UPERR_TIMEOUT,
	    [UP_FAIL_NETWORK] = UPERR_NETWORK,
	    [UP_FAIL_SERVFAIL] = UPERR_SERVFAIL,
	    [UP_FAIL_REFUSED] = UPERR_REFUSED,
	    [UP_FAIL_LOCAL] = UPERR_NETWORK,
	    [UP_FAIL_LOOP] = UPERR_LOOP,
	};

	STAT_SHARED_INC(server_stats(qr)->errors[kind[why]]);
	/* Timeouts and SERVFAILs take a server down; so does an
	 * unreachable one, and one whose queries come back to us. Running
	 * out of our own fds says nothing of it. A retried REFUSED only goes
	 * into the record of why (ctl upstreams). */
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
	/* The socket closes with the attempt: a late answer is never read.
	 * (A TLS connection stays, and learns it went unanswered.) */
	if (qr->ua.tls)
		dotpool_timed_out(&qr->ua.dot);
	attempt_failed(qr, UP_FAIL_TIMEOUT);
}

static int
tcp_start(struct query *qr)
{
	struct worker *w = qr->w;
	const struct endpoint *ep = &qr->ua.up->servers[qr->ua.server];
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&ep->addr, ep->port, &ss);
	int one = 1;

	upstream_cancel(qr);
	qr->ua.tls = false;
	qr->ua.fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (qr->ua.fd < 0)
		return -1;
	/* The query leaves in one write; a transfer's messages come back.
	 * Nothing should wait for an ACK (as on client connections). */
	setsockopt(qr->ua.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
	ids_add(qr);
	return 0;
}

/*
 * Our end of the attempt's socket, as bound: an unconnected UDP socket (one
 * per attempt) has the wildcard address, the kernel picks the source per
 * packet. With io_uring, the send of such a fresh socket is still queued:
 * bind it to port 0 now, as that send would (the kernel picks a random
 * port and, having picked it, unbinds it again at usock_release's
 * disconnect), so the port told is the one the query leaves from.
 */
static int
attempt_source(const struct query *qr, struct ip_addr *a, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = attempt_fd(qr);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    ip_addr_from_sockaddr((struct sockaddr *)&ss, a, port) < 0)
		return -1;
	if (*port == 0 && !attempt_stream(qr)) {
		struct sockaddr_storage any = {.ss_family = ss.ss_family};

		(void)bind(fd, (struct sockaddr *)&any, sl);
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    ip_addr_from_sockaddr((struct sockaddr *)&ss, a, port) < 0)
			return -1;
	}
	return 0;
}

/*
 * dnstap FORWARDER_QUERY (resp NULL) or FORWARDER_RESPONSE of the current
 * attempt: from our socket to the server. Zone transfers are left out.
 */
static void
tap_forwarder(struct query *qr, const uint8_t *resp, size_t len)
{
	const struct endpoint *ep = &qr->ua.up->servers[qr->ua.server];
	struct ip_addr src;
	struct timespec now;
	struct dnstap_msg m = {
	    .proto = !attempt_stream(qr) ? TRANSPORT_UDP
	             : qr->ua.tls        ? TRANSPORT_TLS
	                                 : TRANSPORT_TCP,
	    .response_addr = &ep->addr,
	    .response_port = ep->port,
	};

	if (qr->w->tap == NULL || qr->c.transfer ||
	    !(qr->conf->log.dnstap_messages & DNSTAP_MSGS_FORWARDER))
		return;
	if (attempt_source(qr, &src, &m.query_port) == 0)
		m.query_addr = &src;
	clock_gettime(CLOCK_REALTIME, &now);
	if (resp == NULL) {
		qr->ua.tap_sent = now;
		m.type = DNSTAP_FORWARDER_QUERY;
		m.query = qr->ua.q;
		m.query_len = qr->ua.qlen;
	} else {
		m.type = DNSTAP_FORWARDER_RESPONSE;
		m.response_time = &now;
		m.response = resp;
		m.response_len = len;
	}
	/* Unset when dnstap-messages changed in between (a reload). */
	if (qr->ua.tap_sent.tv_sec != 0)
		m.query_time = &qr->ua.tap_sent;
	dnstap_message(qr->w->tap, &m);
}

/* A matching answer arrived (over UDP or TCP). */
static void
handle_answer(struct query *qr, const uint8_t *resp, size_t len,
              const struct dns_response *r)
{
	unsigned retry = qr->ua.up->retry_on;

	tap_forwarder(qr, resp, len);
	if (!attempt_stream(qr) && (r->hdr.flags & DNS_FLAG_TC)) {
		/* Truncated: ask the same server over TCP (RFC 7766 5). */
		if (tcp_start(qr) < 0)
			attempt_failed(qr, start_failure(qr, errno));
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

/* What answer_valid() made of a message from the server. */
enum answer_kind {
	ANSWER_NOT_OURS = 0, /* ignored (and counted) */
	ANSWER_OK,           /* ours, parsed into r */
	ANSWER_BARE_TC,      /* our ID and TC=1, the rest unreadable */
	ANSWER_NO_QUESTION,  /* our ID, an error RCODE and no question */
};

/* Parse and check an answer: is it ours? */
static enum answer_kind
answer_valid(struct query *qr, const uint8_t *buf, size_t len,
             struct dns_response *r)
{
	enum answer_kind kind = ANSWER_OK;

	if (dns_response_parse(buf, len, r) < 0) {
		/* Some servers truncate without fixing the counts: a TC=1
		 * answer with our ID is enough to go to TCP (RFC 7766 5). */
		uint16_t flags = dns_hdr_flags(buf, len);

		if (!attempt_stream(qr) && len >= DNS_HEADER_LEN &&
		    dns_hdr_id(buf, len) == qr->ua.id &&
		    (flags & DNS_FLAG_QR) && (flags & DNS_FLAG_TC)) {
			memset(r, 0, sizeof(*r));
			r->hdr.flags = DNS_FLAG_QR | DNS_FLAG_TC;
			return ANSWER_BARE_TC;
		}
		/* An error without a question (REFUSED, FORMERR...): the
		 * source, the ID and the cookie are all there is to match. */
		if (dns_response_parse_bare(buf, len, r) < 0) {
			STAT_INC(qr->w->stats.upstream_garbage);
			STAT_SHARED_INC(
			    server_stats(qr)->errors[UPERR_MISMATCH]);
			return ANSWER_NOT_OURS;
		}
		kind = ANSWER_NO_QUESTION;
	}
	if (kind == ANSWER_NO_QUESTION
	        ? r->hdr.id != qr->ua.id
	        : !dns_response_matches(r, qr->ua.id, &qr->c.q)) {
		STAT_INC(qr->w->stats.upstream_mismatch);
		STAT_SHARED_INC(server_stats(qr)->errors[UPERR_MISMATCH]);
		return ANSWER_NOT_OURS;
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
			return ANSWER_NOT_OURS;
		}
	}
	return kind;
}

/*
 * A message from the server's address and port (or its TCP connection):
 * act on it when it answers the attempt; false when it was ignored. An
 * error without a question is handled as the same error with one: the
 * client gets its own question back, and retry-on, pass-through and the
 * server's health treat it like any answer with that RCODE.
 */
static bool
answer_take(struct query *qr, const uint8_t *buf, size_t len)
{
	/* Header, question and an OPT without options. */
	uint8_t whole[DNS_HEADER_LEN + DNS_NAME_MAX + 4 + 11];
	struct dns_response r;

	switch (answer_valid(qr, buf, len, &r)) {
	case ANSWER_NOT_OURS:
		return false;
	case ANSWER_NO_QUESTION:
		len = dns_response_add_question(whole, sizeof(whole), &r,
		                                &qr->c.q);
		if (len == 0 || dns_response_parse(whole, len, &r) < 0) {
			STAT_INC(qr->w->stats.upstream_garbage);
			return false;
		}
		buf = whole;
		break;
	case ANSWER_OK:
	case ANSWER_BARE_TC:
		break;
	}
	handle_answer(qr, buf, len, &r);
	return true;
}

/* An answer with our ID on a pooled socket (proxy/uppool.h). */
static void
pooled_answer(struct uppool_wait *wt, const uint8_t *buf, size_t len)
{
	(void)answer_take(wt->owner, buf, len);
}

static void
pooled_error(struct uppool_wait *wt)
{
	attempt_failed(wt->owner, UP_FAIL_NETWORK);
}

/* An answer with our ID on a TLS connection (proxy/dotpool.h). */
static void
dot_answer(struct dotpool_wait *wt, const uint8_t *buf, size_t len)
{
	(void)answer_take(wt->owner, buf, len);
}

/* The connection failed, or its handshake or verification did. */
static void
dot_error(struct dotpool_wait *wt)
{
	attempt_failed(wt->owner, UP_FAIL_NETWORK);
}

static void
udp_read(struct usock *s)
{
	struct query *qr = s->owner;
	struct worker *w = qr->w;
	const struct endpoint *ep = &qr->ua.up->servers[qr->ua.server];

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
		/* Nothing else is expected on it once answered: it may be
		 * reused (set first: the answer may end the attempt). */
		s->answered = true;
		if (answer_take(qr, w->rbuf, (size_t)n))
			return;
		s->answered = false;
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
		tap_forwarder(qr, NULL, 0);
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
		if (answer_take(qr, qr->ua.buf + DNS_FRAME_PREFIX,
		                qr->ua.bufoff - DNS_FRAME_PREFIX))
			return;
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
	qr->ua.tls = false;
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
			ids_add(qr);
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
	ids_add(qr);
	return 0;
}

/* The pool's view of server i of group u, under runstate rs. */
static struct dotpool_server
dot_server(const struct runstate *rs, const struct upstream_conf *u, int i)
{
	return (struct dotpool_server){
	    .group = u->name,
	    .ep = &u->servers[i],
	    .ctx = runstate_group(rs, u)->tls,
	    .rec = runstate_server(rs, u, (size_t)i),
	};
}

/*
 * The attempt over TLS: on one of the worker's connections to the server,
 * matched by ID; the attempt's timer covers a connection still being set
 * up. No TCP retry: it is a stream already.
 */
static int
dot_start(struct query *qr)
{
	struct worker *w = qr->w;
	struct dotpool_server s = dot_server(qr->rs, qr->ua.up, qr->ua.server);

	qr->ua.tcp = false;
	qr->ua.tls = true;
	qr->ua.dot.owner = qr;
	qr->ua.dot.id = qr->ua.id;
	qr->ua.dot.on_answer = dot_answer;
	qr->ua.dot.on_error = dot_error;
	if (dotpool_send(w, &qr->ua.dot, &s, qr->ua.q, qr->ua.qlen) < 0)
		return -1;
	qr->ua.id = qr->ua.dot.id;
	ev_timer_init(&qr->ua.timer, timeout_cb, qr->ua.up->timeout_ms / 1000.0,
	              0);
	qr->ua.timer.data = qr;
	ev_timer_start(w->loop, &qr->ua.timer);
	w->local_sent |= s.ep->on_host;
	ids_add(qr);
	return 0;
}

/*
 * RFC 8467 4.1: a query over TLS is padded (RFC 7830) to a multiple of
 * DOT_PAD_BLOCK, so its length tells little of the name. msg ends with
 * the OPT dns_build_upstream_query() wrote, without options: its RDLENGTH
 * is the last two bytes. The new length; len when it does not fit.
 */
static size_t
query_pad(uint8_t *msg, size_t len, size_t cap)
{
	uint8_t padded[UPSTREAM_QUERY_MAX];
	struct wbuf b;

	if (len > sizeof(padded) || cap < len)
		return len;
	wbuf_init(&b, padded, cap < sizeof(padded) ? cap : sizeof(padded));
	wbuf_bytes(&b, msg, len);
	dns_opt_padding_write(&b, DOT_PAD_BLOCK);
	wbuf_put_u16_at(&b, len - 2, (uint16_t)(b.len - len));
	if (b.err)
		return len;
	memcpy(msg, padded, b.len);
	return b.len;
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
	/* RFC 7873 guards UDP against off-path forgers; a TLS connection
	 * does that better, and a cookie would only tie our queries
	 * together: none over TLS. */
	qr->ua.cookie_sent = false;
	if (qr->ua.qlen > 0 && ep->tls)
		qr->ua.qlen =
		    query_pad(qr->ua.q, qr->ua.qlen, sizeof(qr->ua.q));
	else if (qr->ua.qlen > 0 && qr->ua.up->cookies)
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
		/* Zone transfers are TCP only (RFC 5936 4.2), and not relayed
		 * over TLS (RFC 9103 is a protocol of its own): a tls://
		 * server is skipped, as our shortcoming, not its failure. */
		STAT_SHARED_INC(server_stats(qr)->queries);
		if (ep->tls)
			attempt_failed(qr, UP_FAIL_LOCAL);
		else if (tcp_start(qr) < 0)
			attempt_failed(qr, start_failure(qr, errno));
		return;
	}
	STAT_SHARED_INC(server_stats(qr)->queries);
	if ((ep->tls ? dot_start(qr) : udp_start(qr)) < 0)
		attempt_failed(qr, start_failure(qr, errno));
	else
		tap_forwarder(qr, NULL, 0);
}

void
upstream_forward(struct query *qr)
{
	enum loop_kind how;
	/* A prefetch is ours already: it never came through a listener. */
	struct query *o = qr->background ? NULL : loop_origin(qr, &how);

	if (o != NULL) {
		/* Its attempt failed (another may follow, within attempts);
		 * this copy goes no further: no query is ever forwarded
		 * twice around a loop this worker can see. */
		attempt_failed(o, UP_FAIL_LOOP);
		finish(qr, pipeline_loop(&qr->c, how));
		return;
	}
	/* The view's upstream, or the forward-zone's group (stage_route). */
	qr->ua.up = qr->c.group;
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
	int fd; /* UDP; -1 over TLS */
	uint16_t id;
	ev_io io;
	ev_timer timer;
	struct dotpool_wait dot; /* a tls:// server's probe */
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
	dotpool_forget(&p->dot);
	if (p->fd >= 0)
		close(p->fd);
	runstate_unref(p->rs);
	free(p);
}

/* The probe's answer, or what came instead (n: its length, or -1). */
static void
probe_answer(struct probe *p, const uint8_t *buf, ssize_t n)
{
	struct dns_response r;

	/* A well-formed answer with our ID shows the server is back, unless
	 * it is a SERVFAIL: that is what took it down. (An error without a
	 * question is an answer too.) */
	if (n > 0 &&
	    (dns_response_parse(buf, (size_t)n, &r) == 0 ||
	     dns_response_parse_bare(buf, (size_t)n, &r) == 0) &&
	    r.hdr.id == p->id && r.rcode != DNS_RCODE_SERVFAIL)
		health_answered(p->w, p->rs, p->up, p->server, -1.0);
	probe_free(p);
}

static void
probe_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct probe *p = io->data;
	uint8_t buf[4096];
	ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	probe_answer(p, buf, n);
}

static void
probe_dot_answer(struct dotpool_wait *wt, const uint8_t *buf, size_t len)
{
	probe_answer(wt->owner, buf, (ssize_t)len);
}

static void
probe_dot_error(struct dotpool_wait *wt)
{
	probe_free(wt->owner);
}

static void
probe_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct probe *p = t->data;

	dotpool_timed_out(&p->dot);
	probe_free(p);
}

/*
 * A tls:// server's probe goes over TLS, on the worker's connections to
 * it, padded like any query to it. 0, or -1.
 */
static int
probe_send_dot(struct worker *w, struct probe *p, uint8_t *msg, size_t len,
               size_t cap)
{
	struct dotpool_server s = dot_server(w->rs, p->up, p->server);

	len = query_pad(msg, len, cap);
	p->dot.owner = p;
	p->dot.id = p->id;
	p->dot.on_answer = probe_dot_answer;
	p->dot.on_error = probe_dot_error;
	if (dotpool_send(w, &p->dot, &s, msg, len) < 0)
		return -1;
	p->id = p->dot.id;
	return 0;
}

/* A probe over UDP, from a socket of its own. 0, or -1. */
static int
probe_send_udp(struct worker *w, struct probe *p, const struct endpoint *ep,
               const uint8_t *msg, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&ep->addr, ep->port, &ss);

	p->fd =
	    socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		fdlimit_hit(w->log, &w->stats.fd_exhausted[FD_UPSTREAM],
		            FD_UPSTREAM, errno);
		return -1;
	}
	if (connect(p->fd, (struct sockaddr *)&ss, sl) < 0 ||
	    send(p->fd, msg, len, 0) < 0) {
		close(p->fd);
		p->fd = -1;
		return -1;
	}
	return 0;
}

static void
probe_send(struct worker *w, const struct upstream_conf *u, int server)
{
	const struct endpoint *ep = &u->servers[server];
	struct dns_query q = {
	    .qname_len = 1, .qtype = DNS_TYPE_NS, .qclass = DNS_CLASS_IN};
	uint8_t msg[DOT_PAD_BLOCK];
	size_t len;
	struct probe *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return;
	p->id = worker_random16(w);
	p->up = u;
	p->server = server;
	p->fd = -1;
	len = dns_build_upstream_query(
	    msg, sizeof(msg), &q, p->id,
	    (uint16_t)w->conf->server.udp_payload_size);
	if (len == 0 || (ep->tls ? probe_send_dot(w, p, msg, len, sizeof(msg))
	                         : probe_send_udp(w, p, ep, msg, len)) < 0) {
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
	ev_io_init(&p->io, probe_read_cb, p->fd, EV_READ);
	p->io.data = p;
	ev_timer_init(&p->timer, probe_timeout_cb, u->timeout_ms / 1000.0, 0);
	p->timer.data = p;
	if (p->fd >= 0)
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
