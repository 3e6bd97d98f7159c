/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/usock.c — per-attempt upstream UDP sockets, reused with a fresh
 * port, and their sends batched through io_uring (see usock.h).
 */
#include "proxy/usock.h"

#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>

#include <errno.h>
#include <liburing.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "proxy/worker.h"

/* Entries in the submission queue: a loop iteration rarely queues more
 * (one client batch); a full queue is submitted at once. */
#define RING_ENTRIES 256
/* Ready sockets taken per wake-up (more wait for the next round). */
#define EP_BATCH 256

/*
 * A send's user_data is its socket's address with the attempt number in
 * the low bits (allocations are aligned far beyond that), so that the
 * completion of an earlier attempt's send is never blamed on a later one.
 */
#define GEN_BITS 4
#define GEN_MASK ((1u << GEN_BITS) - 1)
_Static_assert(_Alignof(max_align_t) >= (1u << GEN_BITS),
               "usock tags need aligned allocations");

static struct usock **
spare_list(struct worker *w, int family)
{
	return &w->usock.spare[family == AF_INET6];
}

/* Take s off a list (spares or orphans); false when it was not on it. */
static bool
unlink_from(struct usock **head, struct usock *s)
{
	for (struct usock **pp = head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			return true;
		}
	}
	return false;
}

/*
 * Close s. While io_uring has a send of it not completed yet, s becomes an
 * orphan: its memory and its descriptor stay until the last completion
 * (ring_reap), so the number can never be given to another socket while a
 * send still names it.
 */
static void
usock_close(struct usock *s)
{
	struct worker *w = s->w;

	epoll_ctl(w->usock.ep, EPOLL_CTL_DEL, s->fd, NULL);
	/* A ready list being handled may still name s: it is skipped. */
	s->dead = true;
	if (s->sending > 0) {
		s->orphan = true;
		s->next = w->usock.orphans;
		w->usock.orphans = s;
		return;
	}
	close(s->fd);
	if (w->usock.dispatching) {
		s->next = w->usock.dead;
		w->usock.dead = s;
		return;
	}
	free(s);
}

static void
dispatch(struct usock *s)
{
	if (s->owner != NULL) {
		s->on_read(s);
		return;
	}
	/* A spare is unbound and gets nothing new: only a duplicate queued
	 * before the disconnect, or an ICMP error that came in between the
	 * answer and the disconnect, can wake it. Either would stay (an
	 * error queue entry keeps the socket readable for good): close it. */
	if (unlink_from(spare_list(s->w, s->family), s))
		s->w->usock.nspare--;
	usock_close(s);
}

/* The sockets that became readable, in the order they did. */
static void
ep_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;
	struct epoll_event ev[EP_BATCH];
	int n;

	(void)loop;
	(void)revents;
	n = epoll_wait(w->usock.ep, ev, EP_BATCH, 0);
	w->usock.dispatching = true;
	for (int i = 0; i < n; i++) {
		struct usock *s = ev[i].data.ptr;

		if (!s->dead)
			dispatch(s);
	}
	w->usock.dispatching = false;
	while (w->usock.dead != NULL) {
		struct usock *s = w->usock.dead;

		w->usock.dead = s->next;
		free(s);
	}
}

static int
ep_open(struct worker *w)
{
	if (w->usock.ep_open)
		return 0;
	w->usock.ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->usock.ep < 0)
		return -1;
	w->usock.ep_open = true;
	ev_io_init(&w->usock.ep_io, ep_cb, w->usock.ep, EV_READ);
	w->usock.ep_io.data = w;
	ev_io_start(w->loop, &w->usock.ep_io);
	return 0;
}

bool
usock_icmp_error(struct usock *s, const struct ip_addr *server, uint16_t port)
{
	bool hit = false;

	/* IP_RECVERR queues each ICMP error with the packet's original
	 * destination. Drained here (a non-empty queue keeps the socket
	 * readable); only "destination unreachable" for the server itself
	 * counts, as on a connected socket. */
	for (int i = 0; i < 8; i++) {
		struct sockaddr_storage dst;
		union {
			char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
			                    sizeof(struct sockaddr_in6))];
			size_t align;
		} ctl;
		char junk[1];
		struct iovec iov = {.iov_base = junk, .iov_len = sizeof(junk)};
		struct msghdr m = {.msg_name = &dst,
		                   .msg_namelen = sizeof(dst),
		                   .msg_iov = &iov,
		                   .msg_iovlen = 1,
		                   .msg_control = ctl.buf,
		                   .msg_controllen = sizeof(ctl.buf)};

		if (recvmsg(s->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		if (!ip_sockaddr_is((struct sockaddr *)&dst, server, port))
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL;
		     c = CMSG_NXTHDR(&m, c)) {
			const struct sock_extended_err *ee =
			    (const struct sock_extended_err *)CMSG_DATA(c);

			if (!((c->cmsg_level == IPPROTO_IP &&
			       c->cmsg_type == IP_RECVERR) ||
			      (c->cmsg_level == IPPROTO_IPV6 &&
			       c->cmsg_type == IPV6_RECVERR)))
				continue;
			if ((ee->ee_origin == SO_EE_ORIGIN_ICMP &&
			     ee->ee_type == ICMP_DEST_UNREACH &&
			     ee->ee_code != ICMP_FRAG_NEEDED) ||
			    (ee->ee_origin == SO_EE_ORIGIN_ICMP6 &&
			     ee->ee_type == ICMP6_DST_UNREACH))
				hit = true;
		}
	}
	return hit;
}

struct usock *
usock_open(struct worker *w, void *owner, int family,
           void (*on_read)(struct usock *),
           void (*on_send_error)(struct usock *))
{
	struct usock **spare = spare_list(w, family);
	struct usock *s = *spare;
	int on = 1;

	if (s != NULL) {
		*spare = s->next;
		w->usock.nspare--;
	} else {
		struct epoll_event ev = {.events = EPOLLIN};

		if (ep_open(w) < 0)
			return NULL;
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
		ev.data.ptr = s;
		s->fd = socket(family,
		               SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		/* ICMP errors (port unreachable) fail the attempt at once,
		 * as on a connected socket. */
		if (s->fd < 0 ||
		    setsockopt(s->fd,
		               family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		               family == AF_INET6 ? IPV6_RECVERR : IP_RECVERR,
		               &on, sizeof(on)) < 0 ||
		    epoll_ctl(w->usock.ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
			int err = errno;

			if (s->fd >= 0)
				close(s->fd);
			free(s);
			errno = err;
			return NULL;
		}
		s->w = w;
		s->family = family;
	}
	s->owner = owner;
	s->on_read = on_read;
	s->on_send_error = on_send_error;
	s->answered = false;
	s->gen++;
	s->next = NULL;
	return s;
}

/* Submit what is queued; what the kernel did not take stays counted. */
static void
ring_submit(struct worker *w)
{
	io_uring_submit(w->usock.ring);
	w->usock.ring_queued = io_uring_sq_ready(w->usock.ring);
}

int
usock_send(struct usock *s, const uint8_t *msg, size_t len,
           const struct sockaddr *sa, socklen_t salen)
{
	struct worker *w = s->w;
	struct io_uring_sqe *sqe;

	if (w->usock.ring == NULL || !w->usock.ring_on ||
	    len > sizeof(s->buf) || salen > sizeof(s->peer))
		return sendto(s->fd, msg, len, 0, sa, salen) < 0 ? -1 : 0;
	sqe = io_uring_get_sqe(w->usock.ring);
	if (sqe == NULL) {
		ring_submit(w);
		sqe = io_uring_get_sqe(w->usock.ring);
		if (sqe == NULL)
			return sendto(s->fd, msg, len, 0, sa, salen) < 0 ? -1
			                                                 : 0;
	}
	/* Copies: the query may be gone before the send completes. */
	memcpy(s->buf, msg, len);
	memcpy(&s->peer, sa, salen);
	s->iov.iov_base = s->buf;
	s->iov.iov_len = len;
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.msg_name = &s->peer;
	s->msg.msg_namelen = salen;
	s->msg.msg_iov = &s->iov;
	s->msg.msg_iovlen = 1;
	io_uring_prep_sendmsg(sqe, s->fd, &s->msg, 0);
	io_uring_sqe_set_data64(sqe,
	                        (uint64_t)(uintptr_t)s | (s->gen & GEN_MASK));
	s->sending++;
	w->usock.ring_queued++;
	return 0;
}

void
usock_release(struct usock *s)
{
	struct worker *w = s->w;
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	struct usock **spare = spare_list(w, s->family);

	s->owner = NULL;
	/* Disconnecting unbinds the kernel-chosen port: nothing more can
	 * arrive, and the next send binds a new one. */
	if (!s->answered || w->usock.nspare >= USOCK_SPARE_MAX || w->stopping ||
	    connect(s->fd, &unspec, sizeof(unspec)) < 0) {
		usock_close(s);
		return;
	}
	s->next = *spare;
	*spare = s;
	w->usock.nspare++;
}

/* Take the completions in: free orphans, report failed sends. */
static void
ring_reap(struct worker *w)
{
	struct io_uring_cqe *cqe;

	/* One at a time: an error callback may queue or close sockets. */
	while (io_uring_peek_cqe(w->usock.ring, &cqe) == 0) {
		uint64_t tag = cqe->user_data;
		int res = cqe->res;
		struct usock *s =
		    (struct usock *)(uintptr_t)(tag & ~(uint64_t)GEN_MASK);

		io_uring_cqe_seen(w->usock.ring, cqe);
		s->sending--;
		if (s->orphan) {
			if (s->sending == 0) {
				unlink_from(&w->usock.orphans, s);
				close(s->fd);
				free(s);
			}
			continue;
		}
		if (res < 0 && s->owner != NULL &&
		    (s->gen & GEN_MASK) == (tag & GEN_MASK)) {
			errno = -res;
			s->on_send_error(s);
		}
	}
}

static void
ring_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	ring_reap(io->data);
}

void
usock_flush(struct worker *w)
{
	if (w->usock.ring == NULL)
		return;
	/* A failed send may start the next attempt, which queues again:
	 * round after round until nothing is left (each failure uses up an
	 * attempt, so this ends). A kernel that takes nothing stops it. */
	for (;;) {
		unsigned before = w->usock.ring_queued;
		bool stuck = false;

		if (before > 0) {
			ring_submit(w);
			stuck = w->usock.ring_queued >= before;
		}
		ring_reap(w);
		if (w->usock.ring_queued == 0 || stuck)
			break;
	}
}

void
usock_ring_update(struct worker *w, bool want)
{
	struct io_uring_params p;
	int err;

	w->usock.ring_on = want;
	if (!want || w->usock.ring != NULL || w->usock.ring_failed)
		return;
	w->usock.ring = calloc(1, sizeof(*w->usock.ring));
	if (w->usock.ring == NULL)
		return;
	/* The worker thread alone submits. (Not COOP_TASKRUN: a send the
	 * kernel finishes later must wake a worker waiting in epoll.)
	 * Kernels before 6.0 know SINGLE_ISSUER not: try again without. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER;
	err = io_uring_queue_init_params(RING_ENTRIES, w->usock.ring, &p);
	if (err == -EINVAL) {
		memset(&p, 0, sizeof(p));
		err =
		    io_uring_queue_init_params(RING_ENTRIES, w->usock.ring, &p);
	}
	if (err < 0) {
		/* Not built in, disabled (kernel.io_uring_disabled), or
		 * refused by a seccomp filter: plain sendto() it is. */
		free(w->usock.ring);
		w->usock.ring = NULL;
		w->usock.ring_failed = true;
		if (w->id == 0)
			log_ring_msg(w->log, LOG_NOTICE,
			             "io_uring unavailable (%s): upstream "
			             "queries are sent one by one",
			             strerror(-err));
		return;
	}
	ev_io_init(&w->usock.ring_io, ring_cb, w->usock.ring->ring_fd, EV_READ);
	w->usock.ring_io.data = w;
	ev_io_start(w->loop, &w->usock.ring_io);
}

void
usock_free_all(struct worker *w)
{
	/* Called after the worker thread has ended: its exit made the kernel
	 * finish or cancel every request of the ring, so orphans can go. */
	if (w->usock.ring != NULL) {
		ev_io_stop(w->loop, &w->usock.ring_io);
		io_uring_queue_exit(w->usock.ring);
		free(w->usock.ring);
		w->usock.ring = NULL;
	}
	while (w->usock.orphans != NULL) {
		struct usock *s = w->usock.orphans;

		w->usock.orphans = s->next;
		close(s->fd);
		free(s);
	}
	for (int f = 0; f < 2; f++) {
		while (w->usock.spare[f] != NULL) {
			struct usock *s = w->usock.spare[f];

			w->usock.spare[f] = s->next;
			s->sending = 0;
			usock_close(s);
		}
	}
	w->usock.nspare = 0;
	if (w->usock.ep_open) {
		ev_io_stop(w->loop, &w->usock.ep_io);
		close(w->usock.ep);
		w->usock.ep_open = false;
	}
}
