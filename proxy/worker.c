/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/worker.c — listeners, client TCP connections (RFC 7766 / 9210), and
 * the life of a query: received -> pipeline -> (forward) -> finish.
 */
#include "proxy/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dns/frame.h"
#include "dns/msg.h"
#include "dns/ttl.h"
#include "obs/dnstap.h"
#include "obs/fdlimit.h"
#include "proxy/conn.h"
#include "proxy/secure.h"
#include "proxy/uppool.h"
#include "proxy/usock.h"

/* Queries taken from one connection per wake-up (fairness). */
#define TCP_READ_BATCH 32
/* SIGTERM: in-flight queries get this long to finish (dnsgate(8)). */
#define STOP_GRACE 2.0

/* ---- sockets ---- */

int
socket_listen(const struct endpoint *ep, bool tcp, bool reuseport)
{
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&ep->addr, ep->port, &ss);
	int type =
	    (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int fd = socket(ss.ss_family, type, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (!tcp && ss.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else if (!tcp)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
		           sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	if (tcp) {
		/* RFC 9210 4.1: TCP Fast Open SHOULD be enabled. */
		int qlen = 64;

		setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen));
		if (listen(fd, 1024) < 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * A UDP listener's receive buffer holds a burst of queries while the
 * worker is busy; what does not fit is lost before dnsgate sees it.
 * SO_RCVBUFFORCE (CAP_NET_ADMIN: root, before privileges are dropped) may
 * go past net.core.rmem_max; SO_RCVBUF is capped there silently, so read
 * back what the kernel granted (socket(7): it reports twice the value,
 * the other half being its bookkeeping) and warn, once, when it is less.
 * SO_RXQ_OVFL makes the kernel report its drops (udp_count_drops).
 */
static void
udp_listener_setup(int fd, unsigned want)
{
	static bool warned; /* worker_init runs on the main thread only */
	int one = 1, v = (int)want, got = 0;
	socklen_t len = sizeof(got);

	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (want == 0)
		return; /* the system's default */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0 ||
	    got / 2 >= v || warned)
		return;
	warned = true;
	log_msg(LOG_WARNING,
	        "udp-receive-buffer: wanted %u bytes, the kernel granted %d "
	        "(net.core.rmem_max, without CAP_NET_ADMIN): queries beyond "
	        "it in a burst are dropped (dnsgate_udp_receive_drops_total)",
	        want, got / 2);
}

/* ---- queries ---- */

uint64_t
worker_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void tcp_send(struct tcp_conn *tc, const uint8_t *msg, size_t len);

void
worker_tcp_send(struct tcp_conn *tc, const uint8_t *msg, size_t len)
{
	tcp_send(tc, msg, len);
}

void
worker_tcp_abort(struct tcp_conn *tc)
{
	tc->paused = NULL;
	conn_close(tc);
}

bool
worker_tcp_pause(struct tcp_conn *tc, struct query *qr)
{
	if (tc->closed || tc->wq_bytes < CONN_MAX_QUEUED)
		return false;
	tc->paused = qr;
	return true;
}

uint16_t
worker_random16(struct worker *w)
{
	struct worker_rng *r = &w->rng;
	uint16_t v;

	if (r->pos == 0 || r->pos + 2 > sizeof(r->buf)) {
		if (getrandom(r->buf, sizeof(r->buf), 0) !=
		    (ssize_t)sizeof(r->buf))
			abort(); /* no entropy: never send guessable IDs */
		r->pos = 0;
	}
	memcpy(&v, r->buf + r->pos, 2);
	r->pos += 2;
	return v;
}

/*
 * A wildcard listener must answer from the address the query was sent to,
 * or the client drops the answer: name it in IP_PKTINFO / IPV6_PKTINFO.
 */
static size_t
pktinfo_build(const struct query *qr, void *buf)
{
	struct msghdr mh = {.msg_control = buf, .msg_controllen = 64};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	if (!qr->lst->wildcard || !qr->c.have_dest)
		return 0;
	if (qr->c.dest.v4) {
		struct in_pktinfo pi = {0};

		memcpy(&pi.ipi_spec_dst, qr->c.dest.b + 12, 4);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = {0};

		memcpy(&pi.ipi6_addr, qr->c.dest.b, 16);
		pi.ipi6_ifindex = qr->ifindex;
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

/* Send every queued answer of l with as few sendmmsg calls as it takes. */
static void
udp_flush(struct listener *l)
{
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	unsigned sent = 0;

	for (unsigned i = 0; i < l->nout; i++) {
		struct udp_out *o = &l->out[i];

		iov[i].iov_base = o->msg;
		iov[i].iov_len = o->len;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &o->peer;
		mm[i].msg_hdr.msg_namelen = o->peerlen;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = o->ctllen > 0 ? o->ctl.buf : NULL;
		mm[i].msg_hdr.msg_controllen = o->ctllen;
	}
	while (sent < l->nout) {
		int n = sendmmsg(l->fd, mm + sent, l->nout - sent, 0);

		if (n <= 0) {
			/* Skip the answer the kernel refused (a full buffer
			 * loses it as a network would; the client retries). */
			STAT_INC(l->w->stats.send_errors);
			n = 1;
		}
		sent += (unsigned)n;
	}
	l->nout = 0;
}

static void
udp_send(struct query *qr, const uint8_t *msg, size_t len)
{
	struct listener *l = qr->lst;
	struct udp_out *o;

	if (len > UDP_SLOT_MAX) {
		/* Cannot happen: UDP answers fit udp-payload-size <= 4096. */
		STAT_INC(qr->w->stats.send_errors);
		return;
	}
	o = &l->out[l->nout++];
	memcpy(&o->peer, &qr->peer, qr->peerlen);
	o->peerlen = qr->peerlen;
	o->ctllen = pktinfo_build(qr, o->ctl.buf);
	memcpy(o->msg, msg, len);
	o->len = len;
	if (l->nout == UDP_BATCH)
		udp_flush(l);
}

static void
udp_flush_all(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i].nout > 0)
			udp_flush(&w->listeners[i]);
}

/*
 * The queries just sent woke a server that runs on this host, and it may
 * need this CPU to answer them (proxy/yield.h): yield, always ("yes") or
 * while the gauge finds that it pays ("auto").
 */
static void
local_yield(struct worker *w)
{
	int mode = w->conf->server.yield_local;
	struct timespec a, b;

	if (mode == YIELD_NO ||
	    (mode == YIELD_AUTO && !yield_gauge_wanted(&w->yield_gauge)))
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &b);
	STAT_INC(w->stats.local_yields);
	if (mode == YIELD_AUTO)
		yield_gauge_took(&w->yield_gauge,
		                 (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 +
		                     (b.tv_nsec - a.tv_nsec));
}

/* Before the loop blocks: everything answered in this iteration leaves. */
static void
flush_cb(struct ev_loop *loop, ev_prepare *c, int revents)
{
	struct worker *w = c->data;

	/* The answers first: handing the upstream queries over in one batch
	 * wakes the upstream, and one on the same machine (an authoritative
	 * server behind us) takes the CPU for its whole turn; the answers
	 * would wait for it. Then the answers of sends that failed in the
	 * batch (SERVFAIL) leave too. */
	udp_flush_all(w);
	secure_flush_all(w);
	usock_flush(w);
	udp_flush_all(w);
	if (w->local_sent) {
		w->local_sent = false;
		local_yield(w);
	}
}

/* RFC 8484 5.1: an HTTP cache keeps the answer no longer than its TTLs. */
static uint32_t
doh_max_age(const uint8_t *msg, size_t len)
{
	uint32_t ttl;

	return dns_response_max_age(msg, len, &ttl) ? ttl : 0;
}

void
worker_drop_answer(struct query *qr)
{
	if (qr->conn != NULL && qr->conn->transport == TRANSPORT_HTTPS)
		secure_drop(qr->conn, qr->stream);
}

void
worker_send_answer(struct query *qr)
{
	struct qctx *c = &qr->c;

	if (qr->conn != NULL && qr->conn->transport == TRANSPORT_HTTPS)
		secure_send(qr->conn, c->out, c->outlen, qr->stream,
		            doh_max_age(c->out, c->outlen));
	else if (qr->conn != NULL)
		tcp_send(qr->conn, c->out, c->outlen);
	else
		udp_send(qr, c->out, c->outlen);
}

/* ---- UDP ---- */

/* The local address a datagram arrived on (IP_PKTINFO / RFC 3542). */
static void
udp_dest(struct query *qr, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in sin = {.sin_family = AF_INET};

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin.sin_addr = pi.ipi_addr;
			ip_addr_from_sockaddr((struct sockaddr *)&sin,
			                      &qr->c.dest, NULL);
			qr->ifindex = pi.ipi_ifindex;
			qr->c.have_dest = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		           cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin6.sin6_addr = pi.ipi6_addr;
			ip_addr_from_sockaddr((struct sockaddr *)&sin6,
			                      &qr->c.dest, NULL);
			qr->ifindex = pi.ipi6_ifindex;
			qr->c.have_dest = true;
		}
	}
}

static void
udp_query(struct listener *l, struct mmsghdr *m, uint8_t *buf)
{
	struct worker *w = l->w;
	struct query *qr;

	STAT_INC(w->stats.queries[TRANSPORT_UDP]);
	if (m->msg_hdr.msg_flags & MSG_TRUNC) {
		/* Longer than any real query: not worth a buffer. */
		STAT_INC(w->stats.udp_oversize);
		return;
	}
	qr = query_new(w); /* counted when NULL */
	if (qr == NULL)
		return;
	qr->lst = l;
	memcpy(&qr->peer, m->msg_hdr.msg_name, m->msg_hdr.msg_namelen);
	qr->peerlen = m->msg_hdr.msg_namelen;
	ip_addr_from_sockaddr((struct sockaddr *)&qr->peer, &qr->c.client,
	                      &qr->c.client_port);
	udp_dest(qr, &m->msg_hdr);
	qr->c.dest_port = l->ep.port;
	if (!qr->c.have_dest)
		qr->c.dest = l->ep.addr;
	qr->c.tcp = false;
	qr->c.transport = TRANSPORT_UDP;
	query_received(qr, buf, m->msg_len);
}

/*
 * With SO_RXQ_OVFL (socket(7)), a datagram carries the socket's count of
 * datagrams the kernel dropped before queueing it (a full receive buffer,
 * mostly) once that count is not zero. The count only grows, so the last
 * datagram of a batch holds the newest value; drops after it show with the
 * next datagram to arrive.
 */
static void
udp_count_drops(struct listener *l, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR(mh, cm)) {
		uint32_t v;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&v, CMSG_DATA(cm), sizeof(v));
		/* Modulo 2^32, as the kernel counts. */
		STAT_ADD(l->w->stats.udp_rcv_drops,
		         (uint32_t)(v - l->rxq_drops));
		l->rxq_drops = v;
	}
}

static void
udp_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = io->data;
	struct worker *w = l->w;
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage peer[UDP_BATCH];
	union {
		/* IP_PKTINFO or IPV6_PKTINFO, and SO_RXQ_OVFL */
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		         CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl[UDP_BATCH];
	int n;

	/* One batch per wake-up keeps TCP and upstreams served. */
	for (int i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = w->rbatch[i];
		iov[i].iov_len = UDP_SLOT_MAX;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &peer[i];
		mm[i].msg_hdr.msg_namelen = sizeof(peer[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = ctl[i].buf;
		mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	n = recvmmsg(l->fd, mm, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n > 0)
		udp_count_drops(l, &mm[n - 1].msg_hdr);
	for (int i = 0; i < n; i++)
		udp_query(l, &mm[i], w->rbatch[i]);
}

/* ---- TCP ---- */

void
worker_query_ended(struct worker *w, struct tcp_conn *tc)
{
	if (tc != NULL) {
		tc->inflight--;
		conn_maybe_free(tc);
	}
	if (w->stopping && w->queries.inflight == 0)
		ev_break(w->loop, EVBREAK_ONE);
}

static void
tcp_update_reading(struct tcp_conn *tc)
{
	struct worker *w = tc->w;
	bool want = !tc->closed && !tc->read_done &&
	            tc->inflight < CONN_MAX_INFLIGHT &&
	            tc->wq_bytes < CONN_MAX_QUEUED;

	if (want && !ev_is_active(&tc->rio)) {
		ev_io_start(w->loop, &tc->rio);
		/* TLS may hold bytes it read already: the socket won't say. */
		if (tc->ssl != NULL && SSL_has_pending(tc->ssl))
			ev_feed_event(w->loop, &tc->rio, EV_READ);
	} else if (!want && ev_is_active(&tc->rio))
		ev_io_stop(w->loop, &tc->rio);
}

static void
tcp_conn_free(struct tcp_conn *tc)
{
	struct worker *w = tc->w;

	while (tc->wq != NULL) {
		struct outbuf *o = tc->wq;

		tc->wq = o->next;
		free(o);
	}
	tc->wq_bytes = 0;
	if (tc->prev != NULL)
		tc->prev->next = tc->next;
	else
		w->conns = tc->next;
	if (tc->next != NULL)
		tc->next->prev = tc->prev;
	secure_free(tc);
	free(tc->rbuf);
	free(tc);
}

void
conn_close(struct tcp_conn *tc)
{
	struct worker *w = tc->w;

	if (tc->closed)
		return;
	ev_io_stop(w->loop, &tc->rio);
	ev_io_stop(w->loop, &tc->wio);
	ev_timer_stop(w->loop, &tc->idle);
	if (tc->ssl != NULL)
		secure_close(tc);
	close(tc->fd);
	tc->closed = true;
	atomic_fetch_sub(&w->d->tcp_clients, 1);
	STAT_ADD(w->stats.conns_open[tc->transport], -1);
	tcp_prefixes_release(&w->d->tcp_prefixes, &tc->prefix);
	conn_maybe_free(tc);
}

/*
 * Close once nothing more will be read and nothing is left to send; free
 * once no query refers to the connection.
 */
void
conn_maybe_free(struct tcp_conn *tc)
{
	if (!tc->closed && tc->read_done && tc->inflight == 0 &&
	    tc->wq == NULL && !secure_has_output(tc)) {
		conn_close(tc);
		return;
	}
	if (tc->closed && tc->inflight == 0) {
		tcp_conn_free(tc);
		return;
	}
	tcp_update_reading(tc);
}

static int
tcp_flush(struct tcp_conn *tc)
{
	while (tc->wq != NULL) {
		struct outbuf *o = tc->wq;
		ssize_t n = send(tc->fd, o->data + o->off, o->len - o->off,
		                 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		o->off += (size_t)n;
		tc->wq_bytes -= (size_t)n;
		tc->wq_progress = true;
		if (o->off < o->len)
			return 0;
		tc->wq = o->next;
		if (tc->wq == NULL)
			tc->wq_tail = NULL;
		free(o);
	}
	return 0;
}

static void
tcp_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct tcp_conn *tc = io->data;

	if (tcp_flush(tc) < 0) {
		conn_close(tc);
		return;
	}
	if (tc->paused != NULL && tc->wq_bytes < CONN_MAX_QUEUED / 2) {
		struct query *qr = tc->paused;

		tc->paused = NULL;
		upstream_xfr_resume(qr);
	}
	if (tc->wq == NULL) {
		ev_io_stop(loop, &tc->wio);
		conn_maybe_free(tc);
	} else {
		tcp_update_reading(tc);
	}
}

/* RFC 7766 8: length and message in one write; queue what doesn't fit. */
static void
tcp_send(struct tcp_conn *tc, const uint8_t *msg, size_t len)
{
	struct outbuf *o;

	if (tc->closed)
		return; /* RFC 7766 6.2.4: the client went away */
	if (tc->ssl != NULL) {
		secure_send(tc, msg, len, 0, 0);
		return;
	}
	o = malloc(sizeof(*o) + DNS_FRAME_PREFIX + len);
	if (o == NULL) {
		STAT_INC(tc->w->stats.nomem);
		return;
	}
	o->next = NULL;
	o->len = DNS_FRAME_PREFIX + len;
	o->off = 0;
	dns_frame_prefix(o->data, len);
	memcpy(o->data + DNS_FRAME_PREFIX, msg, len);
	tc->wq_bytes += o->len;
	if (tc->wq_tail != NULL)
		tc->wq_tail->next = o;
	else
		tc->wq = o;
	tc->wq_tail = o;
	if (ev_is_active(&tc->wio))
		return;
	if (tcp_flush(tc) < 0) {
		conn_close(tc);
		return;
	}
	if (tc->wq != NULL)
		ev_io_start(tc->w->loop, &tc->wio);
}

/*
 * The idle timeout of a connection, taken each time its timer is armed.
 * While more than half of tcp-max-clients are open, idle connections must
 * make room for new clients: a hundredth of tcp-idle-timeout, but not less
 * than 200 ms (nor more than tcp-idle-timeout), as Unbound does (its
 * setup_tcp_handler, which goes further down in steps past 65 % and 80 %,
 * to the same 200 ms floor). dnsgate.conf(5) says the same.
 */
double
conn_idle_timeout(const struct worker *w)
{
	const struct server_conf *s = &w->conf->server;
	double idle = s->tcp_idle_ms / 1000.0;

	if (atomic_load(&w->d->tcp_clients) * 2ull > s->tcp_max_clients) {
		double busy = idle / 100 > 0.2 ? idle / 100 : 0.2;

		idle = busy < idle ? busy : idle;
	}
	/* RFC 7766 6.2.3: an idle timeout of 0 closes at once. */
	return idle > 0 ? idle : 0.001;
}

void
conn_frame_take(struct tcp_conn *tc)
{
	size_t msglen;

	if (!dns_frame_ready(tc->rbuf, tc->rlen))
		return;
	msglen = dns_frame_msglen(tc->rbuf, tc->rlen);
	tc->rlen = 0;
	/* A zero-length message can't be a query: ignore it. */
	if (msglen > 0)
		conn_dispatch(tc, tc->rbuf + DNS_FRAME_PREFIX, msglen, 0);
}

void
conn_dispatch(struct tcp_conn *tc, const uint8_t *msg, size_t len,
              int32_t stream)
{
	struct worker *w = tc->w;
	struct query *qr;

	STAT_INC(w->stats.queries[tc->transport]);
	tc->nqueries++;
	/* RFC 7766 6.2.3: the idle timer restarts on a full message. */
	tc->idle.repeat = conn_idle_timeout(w);
	ev_timer_again(w->loop, &tc->idle);
	if (w->conf->server.tcp_max_queries > 0 &&
	    tc->nqueries >= w->conf->server.tcp_max_queries)
		tc->read_done = true;
	qr = query_new(w); /* counted when NULL */
	if (qr == NULL)
		return;
	qr->conn = tc;
	qr->stream = stream;
	tc->inflight++;
	qr->c.client = tc->ip;
	qr->c.client_port = tc->port;
	qr->c.dest = tc->local;
	qr->c.dest_port = tc->local_port;
	qr->c.have_dest = true;
	qr->c.tcp = true;
	qr->c.transport = tc->transport;
	query_received(qr, msg, len);
}

static void
tcp_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct tcp_conn *tc = io->data;

	/* Queries answered synchronously may close the connection; this
	 * pseudo-reference keeps tc alive until the loop is done. */
	tc->inflight++;
	for (int batch = 0;
	     batch < TCP_READ_BATCH && !tc->closed && !tc->read_done &&
	     tc->inflight <= CONN_MAX_INFLIGHT &&
	     tc->wq_bytes < CONN_MAX_QUEUED;
	     batch++) {
		size_t want = dns_frame_want(tc->rbuf, tc->rlen);
		ssize_t n = recv(tc->fd, tc->rbuf + tc->rlen, want, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			/* EOF or error: answer what is in flight, then close
			 * (a half-closed client still reads). */
			tc->read_done = true;
			if (n < 0)
				conn_close(tc);
			break;
		}
		tc->rlen += (size_t)n;
		conn_frame_take(tc);
	}
	tc->inflight--;
	conn_maybe_free(tc);
}

static void
tcp_idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct tcp_conn *tc = t->data;

	if (tc->handshaking) {
		/* RFC 7858 3.4 / RFC 7766 6.2.3: a client that never finishes
		 * its handshake holds a connection for nothing. */
		secure_count_handshake(tc, TLS_HS_TIMEOUT);
		conn_close(tc);
		return;
	}
	/* Idle means nothing in flight and nothing to send; a client that
	 * reads nothing of what we queued for a whole period is gone too
	 * (RFC 7766 6.2.3: slow-read clients must not hold resources). */
	if (tc->inflight > 0 ||
	    ((tc->wq != NULL || secure_has_output(tc)) && tc->wq_progress)) {
		tc->wq_progress = false;
		t->repeat = conn_idle_timeout(tc->w);
		ev_timer_again(loop, t);
		return;
	}
	conn_close(tc);
}

static void
accept_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct listener *l = t->data;

	if (l->fd >= 0 && !l->w->stopping)
		ev_io_start(loop, &l->io);
}

/*
 * A connection over tcp-max-clients-per-prefix: a line at most once a
 * second per worker, the others counted into the next one (or into
 * tick_cb's, when no refusal follows), so a flood of connections cannot
 * flood the log.
 */
static void
prefix_refused_log(struct worker *w, const struct ip_addr *ip,
                   const struct tcp_prefix *p, unsigned open)
{
	char a[IP_ADDR_TEXT_MAX], pfx[IP_ADDR_TEXT_MAX + 4], more[64] = "";

	if (ev_now(w->loop) - w->prefix_logged < 1.0) {
		w->prefix_unlogged++;
		return;
	}
	if (w->prefix_unlogged > 0)
		snprintf(more, sizeof(more),
		         " (and %lu more since the last message)",
		         w->prefix_unlogged);
	log_ring_msg(w->log, LOG_WARNING,
	             "tcp-max-clients-per-prefix: closed a connection from "
	             "%s, %s has %u open%s",
	             ip_addr_format(ip, a, sizeof(a)),
	             tcp_prefix_format(p, pfx, sizeof(pfx)), open, more);
	w->prefix_logged = ev_now(w->loop);
	w->prefix_unlogged = 0;
}

/*
 * Whether a new connection from ip may stay: tcp-max-clients across all
 * workers, then tcp-max-clients-per-prefix (its prefix, by the [ratelimit]
 * prefix lengths, goes in *p). True: counted in d->tcp_prefixes, which
 * conn_close() undoes.
 */
static bool
tcp_admit(struct worker *w, const struct ip_addr *ip, struct tcp_prefix *p)
{
	const struct server_conf *s = &w->conf->server;
	const struct rrl_config *rl = &w->conf->ratelimit.rrl;
	unsigned open;

	if (atomic_load(&w->d->tcp_clients) >= s->tcp_max_clients) {
		STAT_INC(w->stats.tcp_refused);
		return false;
	}
	tcp_prefix_of(ip, rl->v4_prefix, rl->v6_prefix, p);
	switch (tcp_prefixes_take(&w->d->tcp_prefixes, p, s->tcp_per_prefix,
	                          &open)) {
	case TCP_PREFIX_TAKEN:
		return true;
	case TCP_PREFIX_FULL:
		STAT_INC(w->stats.tcp_prefix_full);
		prefix_refused_log(w, ip, p, open);
		return false;
	case TCP_PREFIX_NOMEM:
		break;
	}
	STAT_INC(w->stats.nomem);
	return false;
}

/* A connection accepted on fd from peer by l: admitted, set up, watched. */
static void
tcp_conn_start(struct listener *l, int fd, const struct sockaddr *peer)
{
	struct worker *w = l->w;
	struct sockaddr_storage local;
	socklen_t locallen = sizeof(local);
	struct tcp_prefix p;
	struct tcp_conn *tc;
	struct ip_addr ip;
	uint16_t port;
	double idle;
	int one = 1;

	ip_addr_from_sockaddr(peer, &ip, &port);
	if (!tcp_admit(w, &ip, &p)) {
		close(fd);
		return;
	}
	tc = calloc(1, sizeof(*tc));
	if (tc != NULL)
		tc->rbuf = malloc(DNS_FRAME_MAX);
	if (tc == NULL || tc->rbuf == NULL) {
		free(tc);
		tcp_prefixes_release(&w->d->tcp_prefixes, &p);
		close(fd);
		STAT_INC(w->stats.nomem);
		return;
	}
	/* Every answer is one write (tcp_send); Nagle's algorithm would hold
	 * a pipelined connection's next answer until the client acknowledged
	 * the previous one, which its delayed ACK puts off by up to 40 ms. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	atomic_fetch_add(&w->d->tcp_clients, 1);
	STAT_INC(w->stats.conns_open[l->transport]);
	tc->w = w;
	tc->fd = fd;
	tc->ip = ip;
	tc->port = port;
	tc->prefix = p;
	if (getsockname(fd, (struct sockaddr *)&local, &locallen) == 0)
		ip_addr_from_sockaddr((struct sockaddr *)&local, &tc->local,
		                      &tc->local_port);
	tc->transport = l->transport;
	ev_io_init(&tc->rio, tcp_read_cb, fd, EV_READ);
	ev_io_init(&tc->wio, tcp_write_cb, fd, EV_WRITE);
	tc->rio.data = tc->wio.data = tc;
	idle = conn_idle_timeout(w);
	ev_timer_init(&tc->idle, tcp_idle_cb, idle, idle);
	tc->idle.data = tc;
	tc->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = tc;
	w->conns = tc;
	if (l->transport != TRANSPORT_TCP) {
		SSL_CTX *ctx = l->transport == TRANSPORT_TLS ? w->rs->tls_dot
		                                             : w->rs->tls_doh;

		/* The handshake has its own, shorter, clock. */
		tc->idle.repeat = w->conf->server.tls_handshake_ms / 1000.0;
		if (secure_conn_start(tc, ctx) < 0) {
			conn_close(tc);
			return;
		}
	}
	ev_timer_again(w->loop, &tc->idle);
	ev_io_start(w->loop, &tc->rio);
}

static void
tcp_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = io->data;

	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &peerlen,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int err = errno;

			fdlimit_hit(l->w->log,
			            &l->w->stats.fd_exhausted[FD_ACCEPT],
			            FD_ACCEPT, err);
			/* Out of descriptors: the listener stays readable, so
			 * stop watching it for a moment instead of spinning. */
			if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
			    err == ENOMEM) {
				ev_io_stop(loop, io);
				ev_timer_start(loop, &l->retry);
			}
			return;
		}
		tcp_conn_start(l, fd, (struct sockaddr *)&peer);
	}
}

/*
 * With several workers, the kernel spreads UDP by 4-tuple, so one client's
 * queries would meet every worker's rate-limit table. A classic BPF
 * program on the reuseport group picks the worker from the client's
 * rate-limit prefix instead (ipv4-/ipv6-prefix-length: the 32-bit word
 * holding the prefix's last bits, shifted down to them, modulo the
 * workers): each prefix is counted by exactly one table. Applied to worker
 * 0's socket, it serves the whole group; on failure the kernel's default
 * spreading stays.
 */
int
worker_steer_by_source(struct worker *workers, unsigned n,
                       const struct rrl_config *rl)
{
	if (n < 2)
		return 0;
	for (size_t i = 0; i < workers[0].nlisteners; i++) {
		const struct listener *l = &workers[0].listeners[i];
		/* IPv4 source at 12; IPv6 source at 8, a /N<=32 in its first
		 * word, a longer one in its second. */
		unsigned pfx = l->ep.addr.v4 ? rl->v4_prefix : rl->v6_prefix;
		uint32_t off = l->ep.addr.v4 ? 12 : pfx <= 32 ? 8 : 12;
		uint32_t shift = pfx <= 32 ? 32 - pfx : 64 - pfx;
		struct sock_filter code[] = {
		    {BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_NET_OFF + off},
		    {BPF_ALU | BPF_RSH | BPF_K, 0, 0, shift},
		    {BPF_ALU | BPF_MOD | BPF_K, 0, 0, n},
		    {BPF_RET | BPF_A, 0, 0, 0},
		};
		struct sock_fprog prog = {.len = 4, .filter = code};

		if (l->tcp)
			continue;
		if (setsockopt(l->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF,
		               &prog, sizeof(prog)) < 0)
			return -1;
	}
	return 0;
}

/* ---- worker lifecycle ---- */

static void
jar_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	if (getrandom(buf, len, 0) != (ssize_t)len)
		abort(); /* never a guessable client cookie */
}

/* The next listener of w: ep, for transport t. 0, or -1 (logged). */
static int
listener_open(struct worker *w, const struct endpoint *ep, enum transport t,
              bool reuse)
{
	const struct server_conf *s = &w->conf->server;
	struct listener *l = &w->listeners[w->nlisteners];

	l->w = w;
	l->ep = *ep;
	l->transport = t;
	l->tcp = t != TRANSPORT_UDP;
	l->wildcard = ip_addr_is_unspecified(&l->ep.addr);
	l->fd = socket_listen(&l->ep, l->tcp, reuse);
	if (l->fd < 0) {
		log_msg(LOG_ERR, "cannot listen on %s/%s: %s", l->ep.text,
		        transport_name(t), strerror(errno));
		return -1;
	}
	w->nlisteners++;
	ev_io_init(&l->io, l->tcp ? tcp_accept_cb : udp_read_cb, l->fd,
	           EV_READ);
	l->io.data = l;
	ev_timer_init(&l->retry, accept_retry_cb, 0.1, 0);
	l->retry.data = l;
	if (!l->tcp) {
		udp_listener_setup(l->fd, s->udp_rcvbuf);
		l->out = malloc(UDP_BATCH * sizeof(*l->out));
		if (l->out == NULL)
			return -1;
	}
	return 0;
}

int
worker_init(struct worker *w, struct daemon *d, unsigned id,
            struct runstate *rs)
{
	const struct config *conf = rs->conf;
	const struct server_conf *s = &conf->server;
	bool reuse = d->nworkers > 1;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->d = d;
	w->rs = runstate_ref(rs);
	w->conf = conf;
	/* Datagrams this host sends itself come in on it (loop checks). */
	w->lo_ifindex = (int)if_nametoindex("lo");
	cookie_jar_init(&w->jar, jar_random, NULL);
	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	w->out = malloc(DNS_MAX_MSG);
	w->rbuf = malloc(DNS_MAX_MSG);
	w->cbuf = malloc(CACHE_MSG_MAX);
	w->listeners =
	    calloc(s->nlistens * 2 + s->tls_listens.n + s->https_listens.n,
	           sizeof(*w->listeners));
	w->log = log_ring_new();
	if (conf->log.dnstap != NULL) {
		w->tap = dnstap_ring_new();
		if (w->tap == NULL)
			return -1;
	}
	w->top = calloc(1, sizeof(*w->top));
	w->rbatch = malloc(UDP_BATCH * sizeof(*w->rbatch));
	if (s->tls_listens.n + s->https_listens.n > 0 &&
	    (w->tlsbuf = malloc(SECURE_READ_MAX)) == NULL)
		return -1;
	if (w->top == NULL || w->rbatch == NULL || w->loop == NULL ||
	    w->out == NULL || w->rbuf == NULL || w->cbuf == NULL ||
	    w->listeners == NULL || w->log == NULL)
		return -1;
	for (size_t i = 0; i < s->nlistens * 2; i++)
		if (listener_open(w, &s->listens[i / 2],
		                  i % 2 == 1 ? TRANSPORT_TCP : TRANSPORT_UDP,
		                  reuse) < 0)
			return -1;
	for (size_t i = 0; i < s->tls_listens.n; i++)
		if (listener_open(w, &s->tls_listens.v[i], TRANSPORT_TLS,
		                  reuse) < 0)
			return -1;
	for (size_t i = 0; i < s->https_listens.n; i++)
		if (listener_open(w, &s->https_listens.v[i], TRANSPORT_HTTPS,
		                  reuse) < 0)
			return -1;
	return 0;
}

/* An RRL episode ended: BIND's "stop limiting" summary line. */
static void
rrl_episode_end(void *arg, const struct rrl_episode *e)
{
	struct worker *w = arg;
	char text[400], ts[LOG_STAMP_MAX], line[600 + LOG_STAMP_MAX];
	int n;

	if (rrl_episode_text(e, text, sizeof(text)) < 0)
		return;
	log_stamp(w->conf->log.format, ts, sizeof(ts));
	if (w->conf->log.format == DECISION_JSON)
		n = snprintf(
		    line, sizeof(line),
		    "%s\"msg\":\"%sstop limiting %s\",\"dropped\":%llu,"
		    "\"slipped\":%llu}\n",
		    ts, e->log_only ? "would " : "", text,
		    (unsigned long long)e->dropped,
		    (unsigned long long)e->slipped);
	else
		n = snprintf(
		    line, sizeof(line),
		    "%s%sstop limiting %s (dropped %llu, slipped %llu)\n", ts,
		    e->log_only ? "would " : "", text,
		    (unsigned long long)e->dropped,
		    (unsigned long long)e->slipped);
	if (n > 0 && (size_t)n < sizeof(line))
		log_ring_push(w->log, line, (size_t)n);
}

/* Once a second: RRL episodes end; refusals held back are logged; the
 * yield gauge takes its look; a pending report of descriptor failures
 * goes out. */
static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	if (w->rrl != NULL)
		rrl_expire(w->rrl, worker_wall_ms(), rrl_episode_end, w);
	if (w->prefix_unlogged > 0 && ev_now(loop) - w->prefix_logged >= 1.0) {
		log_ring_msg(w->log, LOG_WARNING,
		             "tcp-max-clients-per-prefix: closed %lu more "
		             "connections",
		             w->prefix_unlogged);
		w->prefix_logged = ev_now(loop);
		w->prefix_unlogged = 0;
	}
	/* Descriptor failures not yet reported, once the interval is over. */
	fdlimit_tick(w->log);
	if (w->conf->server.yield_local == YIELD_AUTO) {
		struct rusage ru;
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (getrusage(RUSAGE_THREAD, &ru) == 0)
			yield_gauge_tick(&w->yield_gauge,
			                 (double)now.tv_sec + now.tv_nsec / 1e9,
			                 (unsigned long)ru.ru_nivcsw);
	} else {
		yield_gauge_reset(&w->yield_gauge);
	}
}

/* The worker's table follows the config: made, kept or rebuilt. */
static void
worker_rrl_apply(struct worker *w)
{
	const struct ratelimit_conf *rc = &w->conf->ratelimit;
	uint8_t key[16];

	if (w->rrl != NULL && rc->enabled &&
	    rrl_reconfigure(w->rrl, &rc->rrl) == 0)
		return;
	if (w->rrl != NULL) {
		rrl_expire_all(w->rrl, worker_wall_ms(), rrl_episode_end, w);
		rrl_free(w->rrl);
		w->rrl = NULL;
	}
	if (!rc->enabled)
		return;
	/* A secret hash key: spoofed floods cannot aim at one bucket. */
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return;
	w->rrl = rrl_new(&rc->rrl, key);
	if (w->rrl == NULL)
		log_msg(LOG_ERR, "ratelimit: no memory for %u entries",
		        rc->rrl.max_table);
}

static void
worker_take_conf(struct worker *w)
{
	struct runstate *rs;
	const struct config *c;

	pthread_mutex_lock(&w->d->conf_lock);
	rs = runstate_ref(w->d->rs);
	pthread_mutex_unlock(&w->d->conf_lock);
	/* Queries in flight keep the config they started with. */
	runstate_unref(w->rs);
	w->rs = rs;
	w->conf = c = rs->conf;
	worker_rrl_apply(w);
	usock_ring_update(w, c->server.io_uring);
	if (w->id == 0)
		upstream_health_start(w);
}

static void
stop_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

static void
worker_begin_stop(struct worker *w)
{
	w->stopping = true;
	for (size_t i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];

		ev_io_stop(w->loop, &l->io);
		ev_timer_stop(w->loop, &l->retry);
		/* UDP sockets stay open: in-flight answers leave through them.
		 */
		if (l->tcp) {
			close(l->fd);
			l->fd = -1;
		}
	}
	/* No new queries on open connections either. */
	for (struct tcp_conn *tc = w->conns, *next; tc != NULL; tc = next) {
		next = tc->next;
		tc->read_done = true;
		secure_stop(tc);
		conn_maybe_free(tc);
	}
	ev_timer_stop(w->loop, &w->health_timer);
	ev_timer_stop(w->loop, &w->tick);
	if (w->queries.inflight == 0) {
		ev_break(w->loop, EVBREAK_ONE);
		return;
	}
	ev_timer_init(&w->stop_timer, stop_timer_cb, STOP_GRACE, 0);
	ev_timer_start(w->loop, &w->stop_timer);
}

static void
wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = a->data;

	if (atomic_exchange(&w->want_reload, false))
		worker_take_conf(w);
	if (atomic_load(&w->want_stop) && !w->stopping)
		worker_begin_stop(w);
}

void *
worker_main(void *arg)
{
	struct worker *w = arg;

	ev_async_init(&w->wake, wake_cb);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	worker_rrl_apply(w);
	ev_timer_init(&w->tick, tick_cb, 1.0, 1.0);
	w->tick.data = w;
	ev_timer_start(w->loop, &w->tick);
	usock_ring_update(w, w->conf->server.io_uring);
	ev_prepare_init(&w->flush, flush_cb);
	w->flush.data = w;
	ev_prepare_start(w->loop, &w->flush);
	for (size_t i = 0; i < w->nlisteners; i++)
		ev_io_start(w->loop, &w->listeners[i].io);
	if (w->id == 0)
		upstream_health_start(w);
	if (!atomic_load(&w->want_stop))
		ev_run(w->loop, 0);
	/* Answers of the last iteration (ev_break skips the prepare). */
	flush_cb(w->loop, &w->flush, 0);
	if (w->rrl != NULL)
		rrl_expire_all(w->rrl, worker_wall_ms(), rrl_episode_end, w);
	return NULL;
}

void
worker_reload(struct worker *w)
{
	atomic_store(&w->want_reload, true);
	ev_async_send(w->loop, &w->wake);
}

void
worker_stop(struct worker *w)
{
	atomic_store(&w->want_stop, true);
	ev_async_send(w->loop, &w->wake);
}

void
worker_free(struct worker *w)
{
	/* Queries still in flight after the grace period are abandoned. */
	while (w->conns != NULL) {
		struct tcp_conn *tc = w->conns;

		if (!tc->closed)
			conn_close(tc);
		if (w->conns == tc) /* still referenced by a query */
			tcp_conn_free(tc);
	}
	upstream_probes_free(w);
	/* Queries still in flight after the grace period are abandoned:
	 * their sockets close, their answers are never sent. (Before the
	 * pooled sockets go: a query forgets its registration there.) */
	query_pool_free(&w->queries);
	uppool_free_all(w);
	dotpool_free_all(w);
	usock_free_all(w);
	for (size_t i = 0; i < w->nlisteners; i++) {
		if (w->listeners[i].fd >= 0)
			close(w->listeners[i].fd);
		free(w->listeners[i].out);
	}
	free(w->listeners);
	rrl_free(w->rrl);
	free(w->rbatch);
	free(w->tlsbuf);
	free(w->top);
	free(w->out);
	free(w->rbuf);
	free(w->cbuf);
	runstate_unref(w->rs);
	if (w->loop != NULL)
		ev_loop_destroy(w->loop);
}
