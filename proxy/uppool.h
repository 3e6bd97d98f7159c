/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/uppool.h — shared UDP sockets to upstream servers ([upstream]
 * udp-sockets = N), the dnsdist way: each worker keeps N long-lived sockets
 * per server, each bound by the kernel to its own random port, and matches
 * answers to queries by ID (plus question and source, as always).
 *
 * The default (udp-sockets = 0) is a fresh random source port per attempt
 * (proxy/usock.c): 16 bits of ID and ~15 bits of port for a spoofer to
 * guess, at the price of a port change per query. The pool
 * trades the per-query port for speed: ID + a choice among N ports.
 */
#ifndef PROXY_UPPOOL_H
#define PROXY_UPPOOL_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct endpoint;
struct pool_sock;

/* One attempt waiting for its answer on a pooled socket. */
struct uppool_wait {
	void *owner;             /* the attempt's query */
	struct pool_sock *psock; /* NULL: not registered */
	uint16_t id;             /* the query's ID on that socket */
	/* An answer with our ID arrived (source checked by connect()). */
	void (*on_answer)(struct uppool_wait *wt, const uint8_t *msg,
	                  size_t len);
	/* The socket failed (an ICMP error): the attempt failed. */
	void (*on_error)(struct uppool_wait *wt);
};

/*
 * Register wt on one of w's up to nsocks sockets for server ep, and send
 * msg (len bytes, a query with ID wt->id). May change wt->id and the ID
 * in msg to one not in flight on that socket. Returns 0; or -1 with errno
 * EBUSY when the chosen socket is full (the caller may use a socket of its
 * own), any other errno as a network error.
 */
int uppool_send(struct worker *w, struct uppool_wait *wt,
                const struct endpoint *ep, unsigned nsocks, uint8_t *msg,
                size_t len);
/* The socket wt is registered on, or -1 (dnstap reads its address). */
int uppool_fd(const struct uppool_wait *wt);
/* Forget wt's registration, if any (its answer will be ignored). */
void uppool_forget(struct uppool_wait *wt);
/* Close every pooled socket of w (at worker exit). */
void uppool_free_all(struct worker *w);

#endif
