/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/obs/test_ring.c — the single-producer, single-consumer ring of
 * records and the ring set (obs/ring.h): records come out whole and in
 * order across wrap-arounds, a full ring drops and counts, a record larger
 * than the ring is refused, and a producer and a consumer thread racing
 * over many records lose none uncounted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "obs/ring.h"

#define CAP 256

/* A record's bytes: its sequence number, then bytes that depend on it. */
static void
fill(uint8_t *p, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i);
	if (len >= sizeof(seq))
		memcpy(p, &seq, sizeof(seq));
}

static void
push_seq(struct ring *r, size_t len, uint32_t seq)
{
	uint8_t buf[CAP];

	fill(buf, len, seq);
	assert_true(ring_push(r, buf, len));
}

/* The next record is seq, len bytes long, whole and inside the buffer. */
static void
take_seq(struct ring *r, size_t len, uint32_t seq)
{
	uint8_t want[CAP];
	const uint8_t *p;
	size_t n;

	p = ring_peek(r, &n);
	assert_non_null(p);
	assert_int_equal(n, len);
	assert_true(p >= r->buf && p + n <= r->buf + r->cap);
	fill(want, len, seq);
	assert_memory_equal(p, want, len);
	ring_release(r);
}

static void
test_ring_init_rejects_bad_sizes(void **state)
{
	struct ring r;

	(void)state;
	errno = 0;
	assert_int_equal(ring_init(&r, 100), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ring_init(&r, RING_MIN_BYTES / 2), -1);
	assert_int_equal(ring_init(&r, (size_t)RING_MAX_BYTES * 2), -1);
	assert_int_equal(ring_init(&r, RING_MIN_BYTES), 0);
	ring_fini(&r);
}

static void
test_ring_fifo_and_peek_again(void **state)
{
	struct ring r;
	const void *p, *again;
	size_t n;

	(void)state;
	assert_int_equal(ring_init(&r, CAP), 0);
	assert_null(ring_peek(&r, &n));
	assert_false(ring_pending(&r));
	push_seq(&r, 10, 1);
	push_seq(&r, 0, 2); /* an empty record is a record */
	push_seq(&r, 17, 3);
	assert_true(ring_pending(&r));
	/* Peeking again without a release gives the same record. */
	p = ring_peek(&r, &n);
	again = ring_peek(&r, &n);
	assert_ptr_equal(p, again);
	take_seq(&r, 10, 1);
	take_seq(&r, 0, 2);
	take_seq(&r, 17, 3);
	assert_null(ring_peek(&r, &n));
	assert_false(ring_pending(&r));
	assert_int_equal(ring_dropped(&r), 0);
	ring_fini(&r);
}

/* Records of many sizes, many times round: each one whole, in order, and
 * never split across the end of the buffer. */
static void
test_ring_wraps_around_whole(void **state)
{
	struct ring r;
	uint32_t seq = 0;

	(void)state;
	assert_int_equal(ring_init(&r, CAP), 0);
	for (unsigned round = 0; round < 200; round++) {
		/* At most 48 + 56 + 16 bytes, and a gap before one of them:
		 * the three always fit. */
		size_t len[3] = {round % 41, (round * 7) % 53, 5};

		for (int i = 0; i < 3; i++)
			push_seq(&r, len[i], seq + (uint32_t)i);
		for (int i = 0; i < 3; i++)
			take_seq(&r, len[i], seq + (uint32_t)i);
		seq += 3;
	}
	assert_true(atomic_load(&r.head) > 20 * CAP);
	assert_int_equal(atomic_load(&r.head), atomic_load(&r.tail));
	assert_int_equal(ring_dropped(&r), 0);
	ring_fini(&r);
}

static void
test_ring_full_drops_and_counts(void **state)
{
	struct ring r;
	uint8_t buf[20] = {0};
	unsigned accepted = 0;
	size_t n;

	(void)state;
	assert_int_equal(ring_init(&r, CAP), 0);
	/* 20 bytes and a 4-byte length take 24: 10 fit, 16 bytes are left. */
	while (ring_push(&r, buf, sizeof(buf)))
		accepted++;
	assert_int_equal(accepted, CAP / 24);
	assert_int_equal(ring_dropped(&r), 1);
	assert_null(ring_reserve(&r, 13));
	assert_int_equal(ring_dropped(&r), 2);
	/* A shorter record still takes what is left. */
	push_seq(&r, 12, 99);
	assert_false(ring_push(&r, buf, 0));
	assert_int_equal(ring_dropped(&r), 3);
	/* What was taken stays, whole; room again once some is given back. */
	assert_non_null(ring_peek(&r, &n));
	ring_release(&r);
	assert_true(ring_push(&r, buf, sizeof(buf)));
	for (unsigned i = 1; i < accepted; i++) {
		assert_non_null(ring_peek(&r, &n));
		assert_int_equal(n, sizeof(buf));
		ring_release(&r);
	}
	take_seq(&r, 12, 99);
	assert_non_null(ring_peek(&r, &n));
	assert_int_equal(n, sizeof(buf));
	ring_release(&r);
	assert_null(ring_peek(&r, &n));
	assert_int_equal(ring_dropped(&r), 3);
	ring_fini(&r);
}

static void
test_ring_reserve_larger_than_capacity_refused(void **state)
{
	struct ring r;
	size_t n;

	(void)state;
	assert_int_equal(ring_init(&r, CAP), 0);
	assert_int_equal(ring_record_max(&r), CAP - 4);
	assert_null(ring_reserve(&r, CAP - 3));
	assert_null(ring_reserve(&r, CAP));
	assert_null(ring_reserve(&r, SIZE_MAX));
	assert_int_equal(ring_dropped(&r), 3);
	assert_false(ring_pending(&r));
	/* The longest record takes the whole of an empty ring at 0. */
	assert_non_null(ring_reserve(&r, CAP - 4));
	ring_commit(&r, CAP - 4);
	assert_non_null(ring_peek(&r, &n));
	assert_int_equal(n, CAP - 4);
	ring_release(&r);
	ring_fini(&r);
}

/* Wherever an empty ring stands, it takes a record of cap / 2 - 4. */
static void
test_ring_half_capacity_fits_empty_ring(void **state)
{
	(void)state;
	for (unsigned pos = 0; pos < CAP; pos += 8) {
		struct ring r;

		assert_int_equal(ring_init(&r, CAP), 0);
		for (unsigned i = 0; i < pos / 8; i++) {
			push_seq(&r, 0, i); /* 8 bytes: its length, padded */
			take_seq(&r, 0, i);
		}
		push_seq(&r, CAP / 2 - 4, pos);
		take_seq(&r, CAP / 2 - 4, pos);
		assert_int_equal(ring_dropped(&r), 0);
		ring_fini(&r);
	}
}

static void
test_ring_commit_shorter_and_abandon(void **state)
{
	struct ring r;
	uint8_t *p;
	size_t n;

	(void)state;
	assert_int_equal(ring_init(&r, CAP), 0);
	/* A reservation never committed is not seen, and not a drop. */
	p = ring_reserve(&r, 100);
	assert_non_null(p);
	memset(p, 'x', 100);
	assert_false(ring_pending(&r));
	/* The next one takes its place and publishes only what it says. */
	p = ring_reserve(&r, 100);
	assert_non_null(p);
	fill(p, 10, 7);
	ring_commit(&r, 10);
	take_seq(&r, 10, 7);
	assert_null(ring_peek(&r, &n));
	assert_int_equal(ring_dropped(&r), 0);
	ring_fini(&r);
}

static void
test_ring_set_registers_counts_clears(void **state)
{
	static struct ring_set s = RING_SET_INITIALIZER;
	static struct ring r[RING_SET_MAX + 1];

	(void)state;
	for (size_t i = 0; i < RING_SET_MAX + 1; i++)
		assert_int_equal(ring_init(&r[i], RING_MIN_BYTES), 0);
	for (size_t i = 0; i < RING_SET_MAX; i++)
		assert_int_equal(ring_set_add(&s, &r[i]), 0);
	assert_int_equal(ring_set_add(&s, &r[RING_SET_MAX]), -1);
	assert_int_equal(ring_set_count(&s), RING_SET_MAX);
	assert_ptr_equal(ring_set_ring(&s, 5), &r[5]);
	assert_false(ring_set_pending(&s));
	push_seq(&r[7], 3, 1);
	assert_true(ring_set_pending(&s));
	ring_drop(&r[1]);
	ring_drop(&r[100]);
	ring_drop(&r[RING_SET_MAX]); /* not in the set */
	assert_int_equal(ring_set_dropped(&s), 2);
	ring_set_clear(&s, ring_fini);
	assert_int_equal(ring_set_count(&s), 0);
	assert_int_equal(ring_set_dropped(&s), 0);
	for (size_t i = 0; i < RING_SET_MAX; i++)
		assert_null(r[i].buf);
	ring_fini(&r[RING_SET_MAX]);
}

/* A ring in a set rings the set's doorbell on a commit and on a drop. */
static void
test_ring_set_rings_its_doorbell(void **state)
{
	static struct ring_set s = RING_SET_INITIALIZER;
	struct ring r;
	uint8_t b[8] = {0};

	(void)state;
	assert_int_equal(ring_init(&r, RING_MIN_BYTES), 0);
	assert_int_equal(ring_set_add(&s, &r), 0);
	doorbell_arm(&s.bell, DOORBELL_WORK);
	assert_true(ring_push(&r, b, sizeof(b)));
	assert_int_equal(atomic_load(&s.bell.wakes), 1);
	assert_int_equal(atomic_load(&s.bell.state), DOORBELL_AWAKE);
	doorbell_arm(&s.bell, DOORBELL_WORK);
	assert_null(ring_reserve(&r, RING_MIN_BYTES));
	assert_int_equal(atomic_load(&s.bell.wakes), 2);
	ring_set_clear(&s, ring_fini);
}

/*
 * A producer thread pushes STRESS_N records of varying length into a small
 * ring while this thread takes them: every record arrives whole and in
 * order, or the producer saw it dropped and the ring counted it.
 */
#define STRESS_N   300000
#define STRESS_CAP 4096

struct stress {
	struct ring r;
	uint8_t dropped[STRESS_N]; /* the producer's; read after the join */
	atomic_bool done;
};

static size_t
stress_len(uint32_t seq)
{
	return sizeof(seq) + (seq * 7919u) % 293;
}

static void *
stress_producer(void *arg)
{
	struct stress *st = arg;

	for (uint32_t seq = 0; seq < STRESS_N; seq++) {
		size_t len = stress_len(seq);
		uint8_t *p = ring_reserve(&st->r, len);

		if (p == NULL) {
			st->dropped[seq] = 1;
			sched_yield(); /* full: let the consumer run */
			continue;
		}
		fill(p, len, seq);
		ring_commit(&st->r, len);
	}
	atomic_store(&st->done, true);
	return NULL;
}

/* The next record, checked: its sequence number, or -1 when none came. */
static long
stress_take(struct stress *st, long last)
{
	uint8_t want[sizeof(uint32_t) + 293];
	const uint8_t *p;
	uint32_t seq;
	size_t n;

	p = ring_peek(&st->r, &n);
	if (p == NULL)
		return -1;
	assert_true(n >= sizeof(seq));
	memcpy(&seq, p, sizeof(seq));
	assert_true((long)seq > last);
	assert_true(seq < STRESS_N);
	assert_int_equal(n, stress_len(seq));
	fill(want, n, seq);
	assert_memory_equal(p, want, n);
	ring_release(&st->r);
	return seq;
}

static void
test_ring_two_threads_in_order_or_dropped(void **state)
{
	struct stress *st = calloc(1, sizeof(*st));
	uint8_t *got = calloc(STRESS_N, 1);
	unsigned long received = 0, dropped = 0;
	long last = -1, seq;
	pthread_t t;

	(void)state;
	assert_non_null(st);
	assert_non_null(got);
	assert_int_equal(ring_init(&st->r, STRESS_CAP), 0);
	assert_int_equal(pthread_create(&t, NULL, stress_producer, st), 0);
	for (;;) {
		bool done = atomic_load(&st->done);

		if ((seq = stress_take(st, last)) >= 0) {
			got[seq] = 1;
			last = seq;
			received++;
		} else if (done) {
			break; /* done was set before this look: all is in */
		} else {
			sched_yield();
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	for (size_t i = 0; i < STRESS_N; i++) {
		assert_true(got[i] + st->dropped[i] == 1);
		dropped += st->dropped[i];
	}
	assert_int_equal(received + dropped, STRESS_N);
	assert_int_equal(ring_dropped(&st->r), dropped);
	assert_true(received > 0);
	ring_fini(&st->r);
	free(got);
	free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_init_rejects_bad_sizes),
	    cmocka_unit_test(test_ring_fifo_and_peek_again),
	    cmocka_unit_test(test_ring_wraps_around_whole),
	    cmocka_unit_test(test_ring_full_drops_and_counts),
	    cmocka_unit_test(test_ring_reserve_larger_than_capacity_refused),
	    cmocka_unit_test(test_ring_half_capacity_fits_empty_ring),
	    cmocka_unit_test(test_ring_commit_shorter_and_abandon),
	    cmocka_unit_test(test_ring_set_registers_counts_clears),
	    cmocka_unit_test(test_ring_set_rings_its_doorbell),
	    cmocka_unit_test(test_ring_two_threads_in_order_or_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
