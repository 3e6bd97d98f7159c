/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/secure.h — client connections over TLS: DNS over TLS (RFC 7858:
 * RFC 7766 framing inside TLS) and DNS over HTTPS (RFC 8484 on HTTP/2,
 * proxy/doh.h).
 *
 * proxy/worker.c accepts the connection, admits it (tcp-max-clients and
 * the per-prefix limit count TLS and HTTPS connections too), and hands it
 * here: the handshake runs under tls-handshake-timeout, then queries go
 * to conn_dispatch() and answers come back through secure_send(). Answers
 * are not written at once: a connection with output joins the worker's
 * flush list, and secure_flush_all() (before the loop blocks) writes each
 * one's answers of the iteration in one SSL_write, so pipelined answers
 * share TLS records and system calls.
 */
#ifndef PROXY_SECURE_H
#define PROXY_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obs/stats.h"
#include "proxy/conn.h"

/* Plaintext one SSL_read may return: a whole TLS record (RFC 8446 5.1). */
#define SECURE_READ_MAX 16384

/*
 * Make tc (accepted, not yet watched) a TLS server connection of ctx; its
 * watchers now run the handshake, then the transport's reading. -1 (and
 * the caller closes tc) when ctx is NULL or out of memory.
 */
int secure_conn_start(struct tcp_conn *tc, SSL_CTX *ctx);
/*
 * Queue an answer on tc: a DNS over TLS message (stream and max_age
 * unused), or the 200 for HTTP/2 stream with cache-control max-age.
 */
void secure_send(struct tcp_conn *tc, const uint8_t *msg, size_t len,
                 int32_t stream, uint32_t max_age);
/* A DNS over HTTPS query got no answer (dropped): reset its stream. */
void secure_drop(struct tcp_conn *tc, int32_t stream);
/* Write what every connection on w's flush list has queued. */
void secure_flush_all(struct worker *w);
/* tc has something to send still (tc may be a plain TCP connection). */
bool secure_has_output(const struct tcp_conn *tc);
/* The worker stops: an HTTP/2 connection says GOAWAY. */
void secure_stop(struct tcp_conn *tc);
/* Before tc's descriptor closes: a close_notify alert, if it can go. */
void secure_close(struct tcp_conn *tc);
/* Free what tc holds for TLS and HTTP/2 (nothing for plain TCP). */
void secure_free(struct tcp_conn *tc);
/* Count one handshake of tc's listener's kind. */
void secure_count_handshake(struct tcp_conn *tc, enum tls_hs_result r);

#endif
