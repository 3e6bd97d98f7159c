/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/wire.c — bounds-checked cursor over wire-format bytes.
 *
 * Every read checks the bytes left before touching the buffer; the first
 * failure sets err, after which reads return zero and the position stays
 * put. Callers check err once per block (see wire.h).
 */
#include <string.h>

#include "dns/wire.h"

void
wire_init(struct wire *w, const uint8_t *buf, size_t len)
{
	w->buf = buf;
	w->len = len;
	w->pos = 0;
	w->err = 0;
}

size_t
wire_left(const struct wire *w)
{
	if (w->err || w->pos > w->len)
		return 0;
	return w->len - w->pos;
}

/* Claim n bytes at pos: a pointer to them, or NULL with err set. */
static const uint8_t *
wire_take(struct wire *w, size_t n)
{
	const uint8_t *p;

	if (wire_left(w) < n) {
		w->err = 1;
		return NULL;
	}
	p = w->buf + w->pos;
	w->pos += n;
	return p;
}

uint8_t
wire_u8(struct wire *w)
{
	const uint8_t *p = wire_take(w, 1);

	return p == NULL ? 0 : p[0];
}

uint16_t
wire_u16(struct wire *w)
{
	const uint8_t *p = wire_take(w, 2);

	if (p == NULL)
		return 0;
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t
wire_u32(struct wire *w)
{
	const uint8_t *p = wire_take(w, 4);

	if (p == NULL)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
wire_read(struct wire *w, void *dst, size_t n)
{
	const uint8_t *p;

	/* Nothing to take: do not even form buf + pos (buf may be NULL). */
	if (n == 0)
		return;
	p = wire_take(w, n);
	if (p == NULL)
		memset(dst, 0, n);
	else
		memcpy(dst, p, n);
}

void
wire_skip(struct wire *w, size_t n)
{
	if (n > 0)
		(void)wire_take(w, n);
}

void
wire_seek(struct wire *w, size_t off)
{
	/* Sticky: a cursor that failed stays failed, even across seeks. */
	if (w->err)
		return;
	if (off > w->len) {
		w->err = 1;
		return;
	}
	w->pos = off;
}

void
wbuf_init(struct wbuf *b, uint8_t *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->err = 0;
}

/* Claim n bytes at len: a pointer to them, or NULL with err set. */
static uint8_t *
wbuf_take(struct wbuf *b, size_t n)
{
	uint8_t *p;

	if (b->err || b->cap - b->len < n) {
		b->err = 1;
		return NULL;
	}
	p = b->buf + b->len;
	b->len += n;
	return p;
}

void
wbuf_u8(struct wbuf *b, uint8_t v)
{
	uint8_t *p = wbuf_take(b, 1);

	if (p != NULL)
		p[0] = v;
}

void
wbuf_u16(struct wbuf *b, uint16_t v)
{
	uint8_t *p = wbuf_take(b, 2);

	if (p == NULL)
		return;
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
wbuf_u32(struct wbuf *b, uint32_t v)
{
	uint8_t *p = wbuf_take(b, 4);

	if (p == NULL)
		return;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
wbuf_bytes(struct wbuf *b, const void *src, size_t n)
{
	uint8_t *p;

	if (n == 0)
		return;
	p = wbuf_take(b, n);
	/*
	 * memmove, not memcpy: callers may rebuild a message in the buffer
	 * it came from (truncating in place), where src and p coincide.
	 */
	if (p != NULL)
		memmove(p, src, n);
}

void
wbuf_put_u16_at(struct wbuf *b, size_t off, uint16_t v)
{
	if (b->err || off > b->len || b->len - off < 2) {
		b->err = 1;
		return;
	}
	b->buf[off] = (uint8_t)(v >> 8);
	b->buf[off + 1] = (uint8_t)v;
}
