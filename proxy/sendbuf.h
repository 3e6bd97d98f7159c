/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/sendbuf.h — bytes queued for a TLS connection, client or upstream
 * (proxy/secure.c, proxy/dotpool.c): one contiguous buffer, so that what
 * is queued in one loop turn leaves in one SSL_write.
 *
 * The unwritten bytes are data[off .. len). Appending compacts first
 * (written bytes make room), then grows. The bytes may move between two
 * SSL_write calls: the contexts set SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
 * (tls/tls.c), and only ever more bytes follow, as OpenSSL requires of a
 * retried write.
 */
#ifndef PROXY_SENDBUF_H
#define PROXY_SENDBUF_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

struct sendbuf {
	uint8_t *data;
	size_t off, len, cap;
};

/* How a write ended. */
enum sendbuf_io {
	SENDBUF_DONE = 1,   /* all written; the buffer is empty */
	SENDBUF_WANT_WRITE, /* the socket is full: wait until writable */
	SENDBUF_WANT_READ,  /* TLS must read first */
	SENDBUF_ERROR,      /* the connection is broken (errors cleared) */
};

/* Bytes queued and not yet written. */
static inline size_t
sendbuf_pending(const struct sendbuf *b)
{
	return b->len - b->off;
}

/* Room for n more bytes at data + len, the whole at most max: 0, or -1
 * (past max, out of memory). */
int sendbuf_reserve(struct sendbuf *b, size_t n, size_t max);
/* Append msg with its RFC 7766 8 length prefix; room was reserved. */
void sendbuf_frame(struct sendbuf *b, const uint8_t *msg, size_t len);
/* SSL_write what is queued, as far as the socket takes it. */
enum sendbuf_io sendbuf_ssl_write(struct sendbuf *b, SSL *ssl);
/* Give the memory back (b stays usable, empty). */
void sendbuf_free(struct sendbuf *b);

#endif
