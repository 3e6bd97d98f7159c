/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/sendbuf.c — bytes queued for a TLS connection (sendbuf.h).
 */
#include "proxy/sendbuf.h"

#include <limits.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "dns/frame.h"

int
sendbuf_reserve(struct sendbuf *b, size_t n, size_t max)
{
	size_t cap;
	uint8_t *p;

	if (b->len + n <= b->cap)
		return 0;
	/* Written bytes first make room, then the buffer grows. */
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + n <= b->cap)
			return 0;
	}
	if (b->len + n > max)
		return -1;
	for (cap = b->cap > 0 ? b->cap : 4096; cap < b->len + n;)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

void
sendbuf_frame(struct sendbuf *b, const uint8_t *msg, size_t len)
{
	dns_frame_prefix(b->data + b->len, len);
	memcpy(b->data + b->len + DNS_FRAME_PREFIX, msg, len);
	b->len += DNS_FRAME_PREFIX + len;
}

enum sendbuf_io
sendbuf_ssl_write(struct sendbuf *b, SSL *ssl)
{
	while (b->off < b->len) {
		size_t left = b->len - b->off;
		int r = SSL_write(ssl, b->data + b->off,
		                  left > INT_MAX ? INT_MAX : (int)left);

		if (r > 0) {
			b->off += (size_t)r;
			continue;
		}
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_WRITE:
			return SENDBUF_WANT_WRITE;
		case SSL_ERROR_WANT_READ:
			return SENDBUF_WANT_READ;
		default:
			ERR_clear_error();
			return SENDBUF_ERROR;
		}
	}
	b->off = b->len = 0;
	return SENDBUF_DONE;
}

void
sendbuf_free(struct sendbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
