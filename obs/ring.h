/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/ring.h — the ring the log producers write and the log thread reads:
 * one producer thread, one consumer thread, variable-length records of
 * bytes, no lock on either side. The only system call is the
 * doorbell's, when a producer finds its consumer asleep.
 *
 * A ring is a power-of-two buffer of bytes. Each record is a native u32
 * length, then the bytes, padded to 8; a record never wraps: when it does
 * not fit before the end of the buffer, the producer leaves a wrap marker
 * and starts over at the beginning. head (the producer's) and tail (the
 * consumer's) only grow; their difference is the bytes in use. A record
 * that does not fit is dropped and counted: the producer never waits.
 *
 * Memory ordering: the producer writes a record, then publishes it by a
 * release store of head; the consumer reads head with acquire before the
 * record. The consumer frees space by a release store of tail after it is
 * done with a record; the producer reads tail with acquire before writing
 * over it.
 *
 * A ring set is the list of rings one consumer thread drains, and the
 * doorbell (obs/doorbell.h) it sleeps on: a ring in a set rings that
 * doorbell after each commit and each drop.
 */
#ifndef OBS_RING_H
#define OBS_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obs/doorbell.h"

#define RING_MIN_BYTES 64
#define RING_MAX_BYTES (1u << 30)

/*
 * Producer and consumer fields sit on cache lines of their own, so neither
 * side's writes invalidate the line the other one reads all the time.
 * Allocate a struct ring (or a struct that holds one) with alignment 64.
 */
struct ring {
	/* The producer's. */
	_Alignas(64) atomic_size_t head; /* bytes published, ever */
	size_t next;           /* where the reserved record starts (>= head) */
	size_t tail_seen;      /* tail at the producer's last look */
	atomic_ulong dropped;  /* read by anyone (metrics) */
	struct doorbell *bell; /* the ring set's; NULL outside a set */
	/* The consumer's. */
	_Alignas(64) atomic_size_t tail; /* bytes consumed, ever */
	size_t head_seen;                /* head at the consumer's last look */
	size_t peeked; /* record size of the peeked record; 0: none */
	/* Fixed by ring_init. */
	_Alignas(64) size_t cap; /* power of two */
	uint8_t *buf;
};

/*
 * Set up r with a buffer of cap bytes (a power of two, RING_MIN_BYTES to
 * RING_MAX_BYTES); 0, or -1 (errno EINVAL or ENOMEM). ring_fini frees the
 * buffer; nobody may use r meanwhile.
 */
int ring_init(struct ring *r, size_t cap);
void ring_fini(struct ring *r);

/*
 * The longest record r takes: cap - 4 bytes (with its length, the whole
 * buffer). One of at most cap / 2 - 4 bytes always fits an empty ring; a
 * longer one only when the free space does not straddle the buffer's end.
 */
size_t ring_record_max(const struct ring *r);

/* -- the producer (one thread) -- */

/*
 * Room for a record of len bytes: where to write them, or NULL when it
 * does not fit (the ring is full, or len > ring_record_max()): the record
 * is then dropped and counted. Nothing is visible to the consumer until
 * ring_commit(); a reservation that is never committed is forgotten by the
 * next one.
 */
void *ring_reserve(struct ring *r, size_t len);
/* Publish the reserved record, its length cut to len (<= the reserved). */
void ring_commit(struct ring *r, size_t len);
/* Reserve, copy, commit: false when the record was dropped. */
bool ring_push(struct ring *r, const void *p, size_t len);
/* Count a record the producer gave up on (invalid, unformattable). */
void ring_drop(struct ring *r);

/* -- the consumer (one thread) -- */

/*
 * The oldest record, *len its length, or NULL when r is empty. It stays
 * valid, and the same one, until ring_release(); peeking again without a
 * release returns it again.
 */
const void *ring_peek(struct ring *r, size_t *len);
/* Done with the peeked record: its space goes back to the producer. */
void ring_release(struct ring *r);
/* Whether r holds a record (the consumer's view; cheap). */
bool ring_pending(struct ring *r);

/* -- any thread -- */

/* Records dropped since ring_init. */
unsigned long ring_dropped(const struct ring *r);

/* -- the ring set -- */

#define RING_SET_MAX 128

struct ring_set {
	struct doorbell bell; /* the consumer sleeps on it */
	pthread_mutex_t lock; /* ring_set_add, ring_set_clear */
	atomic_size_t nrings; /* rings[0..nrings) are in use */
	struct ring *rings[RING_SET_MAX];
};

#define RING_SET_INITIALIZER                      \
	{                                         \
		.lock = PTHREAD_MUTEX_INITIALIZER \
	}

/*
 * Register r (its producer may push from then on; the consumer sees it at
 * its next look): 0, or -1 when the set holds RING_SET_MAX rings already.
 * A ring belongs to one set.
 */
int ring_set_add(struct ring_set *s, struct ring *r);
/*
 * A new ring of cap bytes, in storage of size bytes (a wrapper type whose
 * first member is the ring, or sizeof(struct ring)) aligned to a cache
 * line so the ring's producer and consumer lines are its own, registered
 * with s. NULL when out of memory or s is full.
 */
struct ring *ring_set_new(struct ring_set *s, size_t size, size_t cap);
/* The rings registered so far; rings are never reordered. Any thread. */
size_t ring_set_count(struct ring_set *s);
struct ring *ring_set_ring(struct ring_set *s, size_t i);
/* Whether any ring holds a record (the consumer's view). */
bool ring_set_pending(struct ring_set *s);
/* Records dropped, across the set's rings. Any thread. */
unsigned long ring_set_dropped(struct ring_set *s);
/*
 * Unregister every ring, handing each to done (to count what it still
 * holds, to free it). No producer, consumer or ring_set_dropped() may use
 * the rings meanwhile.
 */
void ring_set_clear(struct ring_set *s, void (*done)(struct ring *r));

#endif
