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

#include "proxy/worker.h"

/*
 * Register qr (its server, its uid) on one of the pool's sockets and send
 * qr->uq. May change qr->uid (and the ID in qr->uq) to one not in flight on
 * that socket. Returns 0, or -1 (the caller treats it as a network error).
 */
int uppool_send(struct query *qr);
/* Forget qr's registration, if any (its answer will be ignored). */
void uppool_forget(struct query *qr);
/* Close every pooled socket of w (at worker exit). */
void uppool_free_all(struct worker *w);

/* Provided by proxy/upstream.c for answers read from a pooled socket. */
void upstream_udp_answer(struct query *qr, const uint8_t *buf, size_t len);
void upstream_udp_error(struct query *qr);

#endif
