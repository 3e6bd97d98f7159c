/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/wire.h — bounds-checked reading and writing of wire-format bytes.
 *
 * The reader is a cursor with a sticky error (as Knot's wire_ctx): after the
 * first out-of-bounds read every later read returns zero and moves nothing, so
 * a parser checks `w->err` once at the end of a block instead of after every
 * field. The writer works the same way for a fixed-size output buffer.
 */
#ifndef DNS_WIRE_H
#define DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wire {
	const uint8_t *buf; /* whole message: compression pointers need it */
	size_t len;
	size_t pos;
	int err; /* sticky: non-zero after the first bad read */
};

struct wbuf {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err; /* sticky: non-zero after the first write past cap */
};

/* Start reading buf[0..len) at offset 0. */
void wire_init(struct wire *w, const uint8_t *buf, size_t len);
/* Bytes left after pos; 0 once err is set. */
size_t wire_left(const struct wire *w);
/* Read big-endian integers; 0 and err set when short. */
uint8_t wire_u8(struct wire *w);
uint16_t wire_u16(struct wire *w);
uint32_t wire_u32(struct wire *w);
/* Copy n bytes to dst (zero-filled and err set when short). */
void wire_read(struct wire *w, void *dst, size_t n);
/* Advance n bytes; err set when fewer are left. */
void wire_skip(struct wire *w, size_t n);
/* Move to absolute offset off (err when off > len). */
void wire_seek(struct wire *w, size_t off);

void wbuf_init(struct wbuf *b, uint8_t *buf, size_t cap);
void wbuf_u8(struct wbuf *b, uint8_t v);
void wbuf_u16(struct wbuf *b, uint16_t v);
void wbuf_u32(struct wbuf *b, uint32_t v);
void wbuf_bytes(struct wbuf *b, const void *src, size_t n);
/* Overwrite a big-endian u16 at off < len (err when out of range). */
void wbuf_put_u16_at(struct wbuf *b, size_t off, uint16_t v);

#endif
