/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/dotpool.h — DNS over TLS to upstream servers (RFC 7858 as a
 * client, RFC 8310 strict profile): each worker keeps long-lived TLS
 * connections to each tls:// server, on its own loop, and pipelines the
 * attempts to that server on them, matching answers by ID (RFC 7766
 * 6.2.1.1: they may come back in any order; proxy/idtab.h).
 *
 * Connections, per server and worker: one, and a second one while the
 * first has DOT_BUSY queries in flight (at most DOT_CONNS, each with at
 * most IDTAB_MAX in flight). A query for a connection still connecting
 * waits on it, its message queued, and goes out when the handshake ends.
 * The server's certificate must name the server's tls_name (a DNS SAN and
 * SNI, or an IP SAN; tls/tls.h) under the group's CA store.
 *
 * Reconnects resume the last TLS session of the server (its ticket). A
 * connection that fails to connect or to complete the handshake (or to
 * verify the certificate: logged, with the reason and the name expected,
 * once per connection attempt) fails every query waiting on it, and the
 * server is backed off: no new connection for 250 ms, doubling with each
 * failure in a row up to 10 s, and back to none after a handshake that
 * succeeds. Meanwhile an attempt to it fails at once (a network error),
 * so retries move on to the next server.
 *
 * A connection the server closes or resets fails the queries in flight on
 * it (network errors: retry-on decides); the next query opens a new one.
 * A connection without queries in flight for DOT_IDLE seconds is closed
 * (close_notify). A connection whose last DOT_STALLS queries all timed out
 * without any answer takes no new queries and closes once the ones left
 * are gone. A new group context (a reload), or a new name to verify,
 * retires the connections opened under the old one the same way.
 *
 * Counters go to the server's record (struct server_stats): connections
 * open, and connection attempts by outcome (full handshake, resumed,
 * failed).
 */
#ifndef PROXY_DOTPOOL_H
#define PROXY_DOTPOOL_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct endpoint;
struct server_state;
struct dot_conn;

#define DOT_CONNS 2    /* connections per server and worker */
#define DOT_BUSY  100  /* in flight on each before another opens */
#define DOT_IDLE  30.0 /* s without a query in flight: closed */
/* s to connect and complete the handshake */
#define DOT_CONNECT_TIMEOUT 5.0
/* Timeouts in a row, with no answer, that retire a connection. */
#define DOT_STALLS 3
/* Queries (and health probes) to tls:// servers are padded to a
 * multiple of this (RFC 7830, RFC 8467 4.1). */
#define DOT_PAD_BLOCK 128

/* One query waiting for its answer on a connection. */
struct dotpool_wait {
	void *owner;           /* the attempt's query, or a probe */
	struct dot_conn *conn; /* NULL: not registered */
	uint16_t id;           /* the query's ID on that connection */
	/* An answer with our ID arrived: the owner checks the rest. */
	void (*on_answer)(struct dotpool_wait *wt, const uint8_t *msg,
	                  size_t len);
	/* The connection failed or closed first: the attempt failed. The
	 * wait is no longer registered. */
	void (*on_error)(struct dotpool_wait *wt);
};

/* Where a query goes. */
struct dotpool_server {
	const char *group;         /* its [upstream] name (log lines) */
	const struct endpoint *ep; /* address, port, text and tls_name */
	SSL_CTX *ctx;              /* the group's (proxy/runstate.h) */
	struct server_state *rec;  /* its record: the pool's key */
};

/*
 * Register wt on a connection of w to server s and send msg (len bytes,
 * a query with ID wt->id; queued while the connection is set up). May
 * change wt->id and the ID in msg to one not in flight there. 0; or -1
 * with errno: ECONNREFUSED while the server is backed off, ENOBUFS when
 * every connection is full, another errno when a socket cannot be made.
 * Never calls wt's callbacks before it returns.
 */
int dotpool_send(struct worker *w, struct dotpool_wait *wt,
                 const struct dotpool_server *s, uint8_t *msg, size_t len);
/* The socket wt's connection uses, or -1 (dnstap, loop checks). */
int dotpool_fd(const struct dotpool_wait *wt);
/* Forget wt's registration, if any (an answer to it is then ignored). */
void dotpool_forget(struct dotpool_wait *wt);
/* wt's attempt timed out: forget it, and count it towards DOT_STALLS. */
void dotpool_timed_out(struct dotpool_wait *wt);
/* Close every connection of w, abandoning what waits (worker exit). */
void dotpool_free_all(struct worker *w);

/* How long a server is backed off after `failures` failed connection
 * attempts in a row (seconds; 0 for none). */
double dotpool_backoff(unsigned failures);

#endif
