/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/usock.h — the UDP sockets of per-attempt upstream queries
 * ([upstream] udp-sockets = 0, the default).
 *
 * Every attempt gets a fresh random source port, but not a fresh socket:
 * socket(), epoll registration and close() cost more than the query itself.
 * The socket is never bound by hand, so the first sendto() binds it to a
 * random ephemeral port chosen by the kernel; when the attempt has ended
 * cleanly, connect(AF_UNSPEC) unbinds that port again (Linux unhashes a
 * socket whose port it chose itself), and the next attempt's send gets a
 * new random one, exactly as a new socket would. The socket stays
 * registered with the event loop meanwhile.
 *
 * The socket is not connected (connect() would cost one more system call
 * per attempt): the reader checks each datagram's source, and IP_RECVERR
 * reports ICMP errors, of which "destination unreachable" for the server
 * ends the attempt, as on a connected socket (usock_icmp_error). An
 * attempt that ended any other way than by its answer (timeout, network
 * error, cancelled while waiting) closes its socket: something could still
 * be queued on it.
 *
 * Reading: the sockets are not watched one by one but through an epoll of
 * their own, whose ready list the loop hands over in the order the
 * answers arrived. (libev runs the callbacks of one wake-up last-in
 * first-out: of a batch of upstream answers the oldest, whose queries
 * have waited longest, were answered last.)
 *
 * Sending: with io_uring ([server] io-uring = yes, and a kernel that allows
 * it), the queries of one loop iteration go out in one system call just
 * before the loop waits (usock_flush). Besides the calls saved, the
 * upstream then sees a batch at once rather than being woken per query.
 * Without it, each query is sent at once with sendto().
 */
#ifndef PROXY_USOCK_H
#define PROXY_USOCK_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dns/addr.h"
#include "dns/name.h"

struct worker;
struct io_uring;

/* A worker's per-attempt sockets and its io_uring; only usock.c uses it. */
struct usock_set {
	/* Spare sockets, IPv4 and IPv6, and how many in all. */
	struct usock *spare[2];
	unsigned nspare;
	struct usock *orphans; /* closed, a send still in io_uring */
	/* Every socket sits in one epoll of its own, read in arrival order;
	 * its descriptor is watched by the loop. */
	int ep;
	bool ep_open;
	ev_io ep_io;
	bool dispatching;      /* ep's ready list is being handled */
	struct usock *dead;    /* closed meanwhile: freed afterwards */
	struct io_uring *ring; /* NULL: sendto() */
	ev_io ring_io;         /* completions */
	unsigned ring_queued;  /* sends not submitted yet */
	bool ring_on;          /* [server] io-uring */
	bool ring_failed;      /* the kernel refused: don't ask again */
};

/* The largest query usock_send() takes. */
#define USOCK_MSG_MAX (DNS_NAME_MAX + 128)

struct usock {
	struct worker *w;
	void *owner;        /* the attempt waiting on it; NULL when spare */
	struct usock *next; /* spare or orphan list */
	int fd;
	int family;
	bool answered;    /* the attempt read its answer: the socket is clean */
	bool orphan;      /* closed, but a send is still in io_uring */
	bool dead;        /* closed: a ready list being handled skips it */
	uint16_t gen;     /* attempt number, to match send completions */
	unsigned sending; /* io_uring sends not completed yet */
	void (*on_read)(struct usock *); /* readable, while owner is set */
	void (*on_send_error)(struct usock *); /* a queued send failed */
	/* What an io_uring send reads, kept until it has completed. */
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_storage peer;
	uint8_t buf[USOCK_MSG_MAX];
};

/* Spare sockets kept per worker; beyond this they are closed. */
#define USOCK_SPARE_MAX 512

/*
 * A socket for owner (an attempt) with no port yet: usock_send() binds a random
 * one. It is watched for reading: on_read(s) runs when it is readable, and
 * on_send_error(s) when a send queued for io_uring failed (with errno
 * set). NULL with errno set on failure.
 */
struct usock *usock_open(struct worker *w, void *owner, int family,
                         void (*on_read)(struct usock *),
                         void (*on_send_error)(struct usock *));
/* Send msg to sa: at once, or queued until usock_flush(). 0 or -1. */
int usock_send(struct usock *s, const uint8_t *msg, size_t len,
               const struct sockaddr *sa, socklen_t salen);
/*
 * After a failed read: drain the ICMP errors queued on s and tell whether
 * one says the server (server, port) is unreachable.
 */
bool usock_icmp_error(struct usock *s, const struct ip_addr *server,
                      uint16_t port);
/* The attempt on s is over: keep s as a spare (answered) or close it. */
void usock_release(struct usock *s);

/* Set up or drop w's io_uring as its configuration says (worker thread). */
void usock_ring_update(struct worker *w, bool want);
/* Send everything queued (before the loop waits). */
void usock_flush(struct worker *w);
/* Close every spare socket of w and its io_uring (worker exit). */
void usock_free_all(struct worker *w);

#endif
