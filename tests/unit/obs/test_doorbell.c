/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/obs/test_doorbell.c — the doorbell of the log thread: a ring
 * while the consumer is awake makes no wake-up; an armed consumer is woken
 * by a ring, a timer sleep only by a stop; and a producer and a consumer
 * racing over many items lose no wake-up (a lost one would
 * show as a sleep that ended by its timeout). What this race cannot show
 * is a missing fence: on x86 the reordering it allows is too rare to hit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "obs/doorbell.h"

static void
test_ring_while_awake_is_free(void **state)
{
	struct doorbell d = {0};

	(void)state;
	for (int i = 0; i < 1000; i++)
		doorbell_ring(&d);
	assert_int_equal(atomic_load(&d.wakes), 0);
	assert_int_equal(atomic_load(&d.state), DOORBELL_AWAKE);
}

static void
test_armed_consumer_is_rung(void **state)
{
	struct doorbell d = {0};

	(void)state;
	doorbell_arm(&d, DOORBELL_WORK);
	doorbell_ring(&d);
	doorbell_ring(&d); /* the second finds it awake */
	assert_int_equal(atomic_load(&d.wakes), 1);
	/* Rung before it slept: the wait returns at once, as rung. */
	assert_true(doorbell_wait(&d, 10000));
	assert_int_equal(atomic_load(&d.state), DOORBELL_AWAKE);
}

static void
test_timeout_without_ring(void **state)
{
	struct doorbell d = {0};

	(void)state;
	doorbell_arm(&d, DOORBELL_WORK);
	assert_false(doorbell_wait(&d, 1));
	assert_int_equal(atomic_load(&d.state), DOORBELL_AWAKE);
}

static void
test_disarm(void **state)
{
	struct doorbell d = {0};

	(void)state;
	doorbell_arm(&d, DOORBELL_WORK);
	doorbell_disarm(&d);
	doorbell_ring(&d);
	assert_int_equal(atomic_load(&d.wakes), 0);
}

static void
test_timer_sleep_ignores_rings_not_stop(void **state)
{
	struct doorbell d = {0};

	(void)state;
	doorbell_arm(&d, DOORBELL_TIMER);
	doorbell_ring(&d);
	assert_int_equal(atomic_load(&d.wakes), 0);
	assert_int_equal(atomic_load(&d.state), DOORBELL_TIMER);
	doorbell_wake(&d);
	assert_int_equal(atomic_load(&d.wakes), 1);
	assert_true(doorbell_wait(&d, 10000));
	doorbell_wake(&d); /* awake: nothing to do */
	assert_int_equal(atomic_load(&d.wakes), 1);
}

static bool
yes(void)
{
	return true;
}

static bool
no(void)
{
	return false;
}

static void
test_idle_naps_then_sleeps(void **state)
{
	struct doorbell d = {0};
	unsigned empty = 0;

	(void)state;
	/* The first empty looks only nap and count. */
	for (unsigned i = 0; i < DOORBELL_POLLS; i++)
		doorbell_idle(&d, &empty, DOORBELL_WORK, no, 10000);
	assert_int_equal(empty, DOORBELL_POLLS);
	/* Then work found on the last look keeps it awake at once... */
	doorbell_idle(&d, &empty, DOORBELL_WORK, yes, 10000);
	assert_int_equal(atomic_load(&d.state), DOORBELL_AWAKE);
	/* ...and none sleeps until the timeout (rung: see the race test). */
	doorbell_idle(&d, &empty, DOORBELL_WORK, no, 1);
	assert_int_equal(atomic_load(&d.state), DOORBELL_AWAKE);
	assert_int_equal(empty, DOORBELL_POLLS);
}

/* A futex wake meant for an earlier sleep (its producer was slow) ends a
 * later one: that is no timeout, and the consumer just looks again. */
struct stale {
	struct doorbell *d;
	atomic_bool done;
};

static void *
stale_waker(void *arg)
{
	struct stale *st = arg;

	while (!atomic_load(&st->done)) {
		struct timespec ms = {0, 1000000};

		syscall(SYS_futex, &st->d->state, FUTEX_WAKE_PRIVATE, 1, NULL,
		        NULL, 0);
		nanosleep(&ms, NULL);
	}
	return NULL;
}

static void
test_stale_wake_is_not_a_timeout(void **state)
{
	struct doorbell d = {0};
	struct stale st = {.d = &d};
	pthread_t t;
	bool rung;

	(void)state;
	doorbell_arm(&d, DOORBELL_WORK);
	assert_int_equal(pthread_create(&t, NULL, stale_waker, &st), 0);
	rung = doorbell_wait(&d, 30000);
	atomic_store(&st.done, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(rung);
	assert_int_equal(atomic_load(&d.state), DOORBELL_AWAKE);
}

/* A producer publishes ITEMS items one by one, ringing after each; the
 * consumer takes what is published and sleeps when nothing is. Before
 * every FORCE-th item the producer waits until the consumer has gone to
 * sleep, so that path is taken thousands of times, not only by chance. */
#define ITEMS 200000
#define FORCE 64

struct race {
	struct doorbell d;
	atomic_ulong published;
	atomic_bool failed; /* stops the producer */
	unsigned long taken;
	unsigned long sleeps, timeouts;
};

static void *
producer(void *arg)
{
	struct race *r = arg;

	for (unsigned long i = 1; i <= ITEMS && !atomic_load(&r->failed); i++) {
		for (long spin = 0; i % FORCE == 0 && spin < 10000000 &&
		                    atomic_load(&r->d.state) == DOORBELL_AWAKE;
		     spin++)
			sched_yield();
		atomic_store_explicit(&r->published, i, memory_order_release);
		doorbell_ring(&r->d);
	}
	return NULL;
}

static void
test_no_lost_wakeup(void **state)
{
	static struct race r;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
	while (r.taken < ITEMS) {
		unsigned long p =
		    atomic_load_explicit(&r.published, memory_order_acquire);

		if (p > r.taken) {
			r.taken = p;
			continue;
		}
		doorbell_arm(&r.d, DOORBELL_WORK);
		if (atomic_load(&r.published) > r.taken) {
			doorbell_disarm(&r.d);
			continue;
		}
		r.sleeps++;
		/* A lost wake-up would end this sleep by its timeout. */
		if (!doorbell_wait(&r.d, 2000)) {
			r.timeouts++;
			atomic_store(&r.failed, true);
			break;
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.timeouts, 0);
	assert_int_equal(r.taken, ITEMS);
	assert_true(r.sleeps >= ITEMS / FORCE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_while_awake_is_free),
	    cmocka_unit_test(test_armed_consumer_is_rung),
	    cmocka_unit_test(test_timeout_without_ring),
	    cmocka_unit_test(test_disarm),
	    cmocka_unit_test(test_timer_sleep_ignores_rings_not_stop),
	    cmocka_unit_test(test_stale_wake_is_not_a_timeout),
	    cmocka_unit_test(test_idle_naps_then_sleeps),
	    cmocka_unit_test(test_no_lost_wakeup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
