/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/ring.c — single-producer, single-consumer rings of records, and the
 * ring sets their consumer threads drain.
 */
#include "obs/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HDR_BYTES 4
#define WRAP_MARK UINT32_MAX /* the rest of the buffer is unused */

/* Records start 8-aligned: the space left before the end of the buffer is
 * then 0 or at least 8 bytes, always room for a wrap marker. */
static size_t
record_size(size_t len)
{
	return (HDR_BYTES + len + 7) & ~(size_t)7;
}

int
ring_init(struct ring *r, size_t cap)
{
	if (cap < RING_MIN_BYTES || cap > RING_MAX_BYTES ||
	    (cap & (cap - 1)) != 0) {
		errno = EINVAL;
		return -1;
	}
	r->buf = malloc(cap);
	if (r->buf == NULL)
		return -1;
	r->cap = cap;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->dropped, 0);
	r->next = 0;
	r->tail_seen = 0;
	r->head_seen = 0;
	r->peeked = 0;
	r->bell = NULL;
	return 0;
}

void
ring_fini(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

size_t
ring_record_max(const struct ring *r)
{
	return r->cap - HDR_BYTES;
}

/* -- the producer -- */

void
ring_drop(struct ring *r)
{
	atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
	/* A consumer that reports drops learns of this one. */
	if (r->bell != NULL)
		doorbell_ring(r->bell);
}

void *
ring_reserve(struct ring *r, size_t len)
{
	size_t head, pos, gap, rec;

	if (len > ring_record_max(r)) {
		ring_drop(r);
		return NULL;
	}
	rec = record_size(len);
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	pos = head & (r->cap - 1);
	gap = r->cap - pos < rec ? r->cap - pos : 0;
	/* Look at the consumer's tail only when the last look is not enough:
	 * its cache line then stays put while the ring has room. */
	if (head + gap + rec - r->tail_seen > r->cap) {
		r->tail_seen =
		    atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + gap + rec - r->tail_seen > r->cap) {
			ring_drop(r);
			return NULL;
		}
	}
	if (gap > 0) {
		uint32_t mark = WRAP_MARK;

		memcpy(r->buf + pos, &mark, HDR_BYTES);
	}
	r->next = head + gap;
	return r->buf + (r->next & (r->cap - 1)) + HDR_BYTES;
}

void
ring_commit(struct ring *r, size_t len)
{
	uint32_t n = (uint32_t)len;

	memcpy(r->buf + (r->next & (r->cap - 1)), &n, HDR_BYTES);
	atomic_store_explicit(&r->head, r->next + record_size(len),
	                      memory_order_release);
	/* After the release store: obs/doorbell.h's ordering argument. */
	if (r->bell != NULL)
		doorbell_ring(r->bell);
}

bool
ring_push(struct ring *r, const void *p, size_t len)
{
	void *dst = ring_reserve(r, len);

	if (dst == NULL)
		return false;
	memcpy(dst, p, len);
	ring_commit(r, len);
	return true;
}

/* -- the consumer -- */

const void *
ring_peek(struct ring *r, size_t *len)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t pos;
	uint32_t n;

	for (;;) {
		if (tail == r->head_seen) {
			r->head_seen = atomic_load_explicit(
			    &r->head, memory_order_acquire);
			if (tail == r->head_seen)
				return NULL;
		}
		pos = tail & (r->cap - 1);
		memcpy(&n, r->buf + pos, HDR_BYTES);
		if (n != WRAP_MARK)
			break;
		/* Skip the unused end: the producer may have it back now. */
		tail += r->cap - pos;
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
	*len = n;
	r->peeked = record_size(n);
	return r->buf + pos + HDR_BYTES;
}

void
ring_release(struct ring *r)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, tail + r->peeked, memory_order_release);
	r->peeked = 0;
}

bool
ring_pending(struct ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) !=
	       atomic_load_explicit(&r->tail, memory_order_relaxed);
}

unsigned long
ring_dropped(const struct ring *r)
{
	return atomic_load_explicit(&r->dropped, memory_order_relaxed);
}

/* -- the ring set -- */

int
ring_set_add(struct ring_set *s, struct ring *r)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = atomic_load_explicit(&s->nrings, memory_order_relaxed);
	if (n == RING_SET_MAX) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	r->bell = &s->bell;
	s->rings[n] = r;
	/* Release: whoever sees the count sees the ring. */
	atomic_store_explicit(&s->nrings, n + 1, memory_order_release);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

struct ring *
ring_set_new(struct ring_set *s, size_t size, size_t cap)
{
	/* aligned_alloc wants a multiple of the alignment. */
	struct ring *r = aligned_alloc(64, (size + 63) / 64 * 64);

	if (r == NULL)
		return NULL;
	if (ring_init(r, cap) < 0) {
		free(r);
		return NULL;
	}
	if (ring_set_add(s, r) < 0) {
		ring_fini(r);
		free(r);
		return NULL;
	}
	return r;
}

size_t
ring_set_count(struct ring_set *s)
{
	return atomic_load_explicit(&s->nrings, memory_order_acquire);
}

struct ring *
ring_set_ring(struct ring_set *s, size_t i)
{
	return s->rings[i];
}

bool
ring_set_pending(struct ring_set *s)
{
	size_t n = ring_set_count(s);

	for (size_t i = 0; i < n; i++)
		if (ring_pending(s->rings[i]))
			return true;
	return false;
}

unsigned long
ring_set_dropped(struct ring_set *s)
{
	size_t n = ring_set_count(s);
	unsigned long total = 0;

	for (size_t i = 0; i < n; i++)
		total += ring_dropped(s->rings[i]);
	return total;
}

void
ring_set_clear(struct ring_set *s, void (*done)(struct ring *r))
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = atomic_load_explicit(&s->nrings, memory_order_relaxed);
	for (size_t i = 0; i < n; i++) {
		done(s->rings[i]);
		s->rings[i] = NULL;
	}
	atomic_store_explicit(&s->nrings, 0, memory_order_release);
	pthread_mutex_unlock(&s->lock);
}
