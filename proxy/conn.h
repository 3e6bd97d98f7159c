/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/conn.h — a client connection: DNS over TCP (RFC 7766), over TLS
 * (RFC 7858) or over HTTPS (RFC 8484), as proxy/worker.c (TCP, the
 * life of every connection) and proxy/secure.c (TLS and HTTP/2) share
 * it. Nothing else reaches inside.
 *
 * A connection is closed (its descriptor) once nothing more will be read
 * and nothing is left to send, and freed once no query refers to it.
 */
#ifndef PROXY_CONN_H
#define PROXY_CONN_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"
#include "policy/decision.h"
#include "proxy/sendbuf.h"
#include "proxy/tcpprefix.h"

struct worker;
struct query;
struct doh_session;

/*
 * Pipelined queries one connection may have in flight before we stop
 * reading from it (RFC 7766 6.2.1: process concurrently, within reason).
 */
#define CONN_MAX_INFLIGHT 100
/*
 * Answers queued for a client that does not read: past this we stop
 * reading its queries (and pause a transfer), so a client cannot make us
 * buffer without bound.
 */
#define CONN_MAX_QUEUED (256 * 1024)

/* Answers queued on a plain TCP connection, one write each. */
struct outbuf {
	struct outbuf *next;
	size_t len, off;
	uint8_t data[];
};

struct tcp_conn {
	struct worker *w;
	struct tcp_conn *prev, *next;
	int fd;
	enum transport transport; /* TCP, TLS or HTTPS */
	ev_io rio, wio;
	ev_timer idle;
	struct ip_addr ip; /* the client */
	uint16_t port;
	/* Its prefix, counted in d->tcp_prefixes while it is open. */
	struct tcp_prefix prefix;
	struct ip_addr local; /* the address it connected to */
	uint16_t local_port;
	uint8_t *rbuf; /* 2-byte length + message */
	size_t rlen;
	struct outbuf *wq, *wq_tail;
	size_t wq_bytes;      /* queued, not yet written */
	bool wq_progress;     /* something was written since the last tick */
	struct query *paused; /* a transfer waiting for wq to drain */
	unsigned inflight;
	unsigned nqueries;
	bool reading;   /* read watcher wanted */
	bool read_done; /* EOF, error, query limit or stopping */
	bool closed;    /* fd closed; freed when inflight reaches 0 */
	/* TLS and HTTPS (proxy/secure.c) */
	SSL *ssl;
	bool handshaking;
	bool want_write; /* OpenSSL waits for the socket to take data */
	bool in_flush;   /* on the worker's list of connections to flush */
	struct tcp_conn *flush_next;
	struct sendbuf out;      /* TLS: plaintext to send */
	struct doh_session *doh; /* HTTPS */
};

/* Close tc's descriptor (once); it is freed when no query refers to it. */
void conn_close(struct tcp_conn *tc);
/* Close when done, free when unreferenced, else (re)arm reading. */
void conn_maybe_free(struct tcp_conn *tc);
/*
 * A whole query (msg, len: valid during the call) arrived on tc: a new
 * query for it, answered on tc (stream: its HTTP/2 stream, else 0).
 */
void conn_dispatch(struct tcp_conn *tc, const uint8_t *msg, size_t len,
                   int32_t stream);
/* When rbuf holds a whole message: hand it over, start the next one. */
void conn_frame_take(struct tcp_conn *tc);
/* The idle timeout to arm now (seconds), as busy as the server is. */
double conn_idle_timeout(const struct worker *w);

#endif
