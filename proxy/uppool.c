/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/uppool.c — pooled upstream UDP sockets (see uppool.h).
 */
#include "proxy/uppool.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/msg.h"
#include "proxy/idtab.h"
#include "proxy/worker.h"

#define POOL_MAX 64

struct pool_sock {
	struct pool *pool;
	int fd;
	ev_io io;
	struct idtab inflight; /* struct uppool_wait, by ID */
};

struct pool {
	struct pool *next;
	struct worker *w;
	struct ip_addr addr;
	uint16_t port;
	unsigned nsocks;
	struct pool_sock *socks[POOL_MAX];
};

/*
 * Connected UDP is unreachable for ICMP-refused ports: every query in
 * flight on the socket fails over to its next attempt.
 */
static void
sock_fail_all(struct pool_sock *s)
{
	void *failed[IDTAB_MAX];
	size_t n = idtab_drain(&s->inflight, failed, IDTAB_MAX);

	for (size_t i = 0; i < n; i++)
		((struct uppool_wait *)failed[i])->psock = NULL;
	for (size_t i = 0; i < n; i++) {
		struct uppool_wait *wt = failed[i];

		wt->on_error(wt);
	}
}

static void
sock_answer(struct pool_sock *s, const uint8_t *buf, size_t len)
{
	struct worker *w = s->pool->w;
	struct uppool_wait *wt;

	if (len < DNS_HEADER_LEN) {
		STAT_INC(w->stats.upstream_garbage);
		return;
	}
	wt = idtab_find(&s->inflight, dns_hdr_id(buf, len));
	if (wt == NULL) {
		/* Late (timed out) or forged: nobody waits for it. */
		STAT_INC(w->stats.upstream_mismatch);
		return;
	}
	wt->on_answer(wt, buf, len);
}

static void
sock_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct pool_sock *s = io->data;
	struct worker *w = s->pool->w;
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	int n;

	/* A batch per wake-up, into the worker's receive slots (free here:
	 * client batches are fully handled before any other callback). */
	for (int i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = w->rbatch[i];
		iov[i].iov_len = UDP_SLOT_MAX;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(s->fd, mm, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			sock_fail_all(s);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
			/* Larger than we advertise: not a real answer. */
			STAT_INC(w->stats.upstream_garbage);
			continue;
		}
		sock_answer(s, w->rbatch[i], mm[i].msg_len);
	}
}

static struct pool_sock *
sock_new(struct pool *p)
{
	struct pool_sock *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&p->addr, p->port, &ss);

	if (s == NULL)
		return NULL;
	s->pool = p;
	idtab_init(&s->inflight);
	/* connect() binds a random ephemeral port and filters sources. */
	s->fd =
	    socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&ss, sl) < 0) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	ev_io_init(&s->io, sock_read_cb, s->fd, EV_READ);
	s->io.data = s;
	ev_io_start(p->w->loop, &s->io);
	return s;
}

static struct pool *
pool_get(struct worker *w, const struct endpoint *ep)
{
	struct pool *p;

	for (p = w->pools; p != NULL; p = p->next)
		if (p->port == ep->port && ip_addr_equal(&p->addr, &ep->addr))
			return p;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->w = w;
	p->addr = ep->addr;
	p->port = ep->port;
	p->next = w->pools;
	w->pools = p;
	return p;
}

int
uppool_send(struct worker *w, struct uppool_wait *wt, const struct endpoint *ep,
            unsigned nsocks, uint8_t *msg, size_t len)
{
	struct pool *p = pool_get(w, ep);
	unsigned k;
	struct pool_sock *s;

	if (p == NULL)
		return -1;
	if (nsocks > POOL_MAX)
		nsocks = POOL_MAX;
	k = worker_random16(w) % nsocks;
	if (k >= p->nsocks) {
		/* Grow lazily up to the configured count. */
		k = p->nsocks;
		p->socks[k] = sock_new(p);
		if (p->socks[k] == NULL)
			return -1;
		p->nsocks++;
	}
	s = p->socks[k];
	if (s->inflight.n >= IDTAB_MAX) {
		errno = EBUSY;
		return -1;
	}
	/* The ID must be unique among this socket's queries in flight. */
	while (idtab_add(&s->inflight, wt->id, wt) < 0)
		wt->id = worker_random16(w);
	dns_hdr_set_id(msg, len, wt->id);
	wt->psock = s;
	if (send(s->fd, msg, len, 0) < 0) {
		uppool_forget(wt);
		return -1;
	}
	return 0;
}

int
uppool_fd(const struct uppool_wait *wt)
{
	return wt->psock != NULL ? wt->psock->fd : -1;
}

void
uppool_forget(struct uppool_wait *wt)
{
	struct pool_sock *s = wt->psock;

	if (s == NULL)
		return;
	wt->psock = NULL;
	idtab_remove(&s->inflight, wt->id, wt);
}

void
uppool_free_all(struct worker *w)
{
	while (w->pools != NULL) {
		struct pool *p = w->pools;

		w->pools = p->next;
		for (unsigned i = 0; i < p->nsocks; i++) {
			ev_io_stop(w->loop, &p->socks[i]->io);
			close(p->socks[i]->fd);
			free(p->socks[i]);
		}
		free(p);
	}
}
