/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_yield.c — the gauge behind
 * yield-to-local-upstream = auto (proxy/yield.h), driven with the numbers
 * a worker would feed it:
 *
 *  - the first tick only takes a baseline, and the switch count is a rate
 *    over the time since the last tick;
 *  - a server on the worker's CPU (brief yields) keeps it yielding;
 *  - yields to nobody (the server on another CPU) stop it at the next tick;
 *  - a CPU-bound task (slow yields) stops it at once, not at the tick, and
 *    a few slow yields among many useful ones do not;
 *  - after a stop it holds off 2, 4, ... 64 seconds, and the hold is back
 *    to 2 after a second in which yielding paid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/yield.h"

#define BRIEF  200000  /* ns: nsd answering a batch */
#define NOBODY 600     /* ns: a yield with no other task waiting */
#define SLICE  3000000 /* ns: a CPU-bound task's time slice */

/* A second passes with switches involuntary switches; the tick. Returns
 * whether the gauge then wants yields. */
static bool
second(struct yield_gauge *g, unsigned long *n, double *t,
       unsigned long switches)
{
	*n += switches;
	*t += 1.0;
	yield_gauge_tick(g, *t, *n);
	return yield_gauge_wanted(g);
}

/* A gauge that took its baseline and a second later saw enough
 * involuntary switches to start yielding. */
static void
start_yielding(struct yield_gauge *g, unsigned long *n, double *t)
{
	yield_gauge_reset(g);
	*n = 1000;
	*t = 100.0;
	yield_gauge_tick(g, *t, *n);
	assert_true(second(g, n, t, 2 * YIELD_CONTENDED));
}

static void
took(struct yield_gauge *g, int times, int64_t ns)
{
	for (int i = 0; i < times; i++)
		yield_gauge_took(g, ns);
}

static void
test_first_tick_is_a_baseline(void **state)
{
	struct yield_gauge g;

	(void)state;
	yield_gauge_reset(&g);
	/* However many switches the thread had before: not a rate. */
	yield_gauge_tick(&g, 50.0, 1000000);
	assert_false(yield_gauge_wanted(&g));
	yield_gauge_tick(&g, 51.0, 1000000 + YIELD_CONTENDED);
	assert_true(yield_gauge_wanted(&g));
}

static void
test_contention_is_a_rate(void **state)
{
	struct yield_gauge g;

	(void)state;
	yield_gauge_reset(&g);
	yield_gauge_tick(&g, 10.0, 0);
	yield_gauge_tick(&g, 11.0, YIELD_CONTENDED - 1);
	assert_false(yield_gauge_wanted(&g));
	/* The same count over two seconds is half the rate. */
	yield_gauge_tick(&g, 13.0, 2 * YIELD_CONTENDED - 1);
	assert_false(yield_gauge_wanted(&g));
	/* Over half a second (a late tick before), half the count will do. */
	yield_gauge_tick(&g, 13.5,
	                 2 * YIELD_CONTENDED - 1 + YIELD_CONTENDED / 2);
	assert_true(yield_gauge_wanted(&g));
}

static void
test_clock_that_did_not_move_gives_no_rate(void **state)
{
	struct yield_gauge g;

	(void)state;
	yield_gauge_reset(&g);
	yield_gauge_tick(&g, 7.0, 0);
	yield_gauge_tick(&g, 7.0, 100000);
	assert_false(yield_gauge_wanted(&g));
	yield_gauge_tick(&g, 6.0, 200000);
	assert_false(yield_gauge_wanted(&g));
}

static void
test_counter_wrap(void **state)
{
	struct yield_gauge g;

	(void)state;
	yield_gauge_reset(&g);
	yield_gauge_tick(&g, 1.0, (unsigned long)-100);
	yield_gauge_tick(&g, 2.0, YIELD_CONTENDED);
	assert_true(yield_gauge_wanted(&g));
}

/* The benchmark's case: about half the yields find the server done. */
static void
test_server_on_the_cpu_keeps_it_going(void **state)
{
	struct yield_gauge g;
	unsigned long n;
	double t;

	(void)state;
	start_yielding(&g, &n, &t);
	for (int s = 0; s < 10; s++) {
		took(&g, 700, BRIEF);
		took(&g, 700, NOBODY);
		took(&g, 2, 2 * YIELD_SLOW_NS); /* a long turn, now and then */
		assert_true(second(&g, &n, &t, 1500));
	}
}

static void
test_yields_to_nobody_stop_at_the_tick(void **state)
{
	struct yield_gauge g;
	unsigned long n;
	double t;

	(void)state;
	start_yielding(&g, &n, &t);
	took(&g, 8 * 5 + 1, NOBODY);
	took(&g, 5, BRIEF); /* 5 useful against 41 to nobody: not enough */
	assert_true(yield_gauge_wanted(&g));
	assert_false(second(&g, &n, &t, 40));

	/* At 1 in 8 it pays. */
	start_yielding(&g, &n, &t);
	took(&g, 8 * 5, NOBODY);
	took(&g, 5, BRIEF);
	assert_true(second(&g, &n, &t, 40));
}

static void
test_cpu_hog_stops_it_at_once(void **state)
{
	struct yield_gauge g;
	unsigned long n;
	double t;

	(void)state;
	start_yielding(&g, &n, &t);
	took(&g, YIELD_SLOW_MAX - 1, SLICE);
	assert_true(yield_gauge_wanted(&g));
	took(&g, 1, SLICE);
	assert_false(yield_gauge_wanted(&g));
	/* Yields made meanwhile (none should be) change nothing. */
	took(&g, 100, BRIEF);
	assert_false(yield_gauge_wanted(&g));

	/* Among many useful yields, a few slow ones are tolerated... */
	start_yielding(&g, &n, &t);
	took(&g, YIELD_SLOW_MAX * YIELD_IDLE_RATIO, BRIEF);
	took(&g, YIELD_SLOW_MAX, SLICE);
	assert_true(yield_gauge_wanted(&g));
	/* ...but not more than one in YIELD_IDLE_RATIO + 1. */
	took(&g, 1, SLICE);
	assert_false(yield_gauge_wanted(&g));
}

static void
test_hold_doubles_and_resets(void **state)
{
	struct yield_gauge g;
	unsigned long n;
	double t;
	const unsigned want[] = {2, 4, 8, 16, 32, 64, 64};

	(void)state;
	start_yielding(&g, &n, &t);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		took(&g, YIELD_SLOW_MAX, SLICE);
		assert_false(yield_gauge_wanted(&g));
		/* Contended all along, yet held off for want[k] ticks. */
		for (unsigned s = 0; s < want[k]; s++)
			assert_false(second(&g, &n, &t, 1000));
		assert_true(second(&g, &n, &t, 1000));
	}
	/* A second in which yielding paid: the next hold is 2 again. */
	took(&g, 100, BRIEF);
	assert_true(second(&g, &n, &t, 1000));
	took(&g, YIELD_SLOW_MAX, SLICE);
	assert_false(yield_gauge_wanted(&g));
	assert_false(second(&g, &n, &t, 1000));
	assert_false(second(&g, &n, &t, 1000));
	assert_true(second(&g, &n, &t, 1000));
}

static void
test_uncontended_never_starts(void **state)
{
	struct yield_gauge g;
	unsigned long n = 0;
	double t = 0;

	(void)state;
	yield_gauge_reset(&g);
	for (int s = 0; s < 100; s++) /* the upstream on another CPU */
		assert_false(second(&g, &n, &t, 40));
}

static void
test_reset_forgets(void **state)
{
	struct yield_gauge g;
	unsigned long n;
	double t;

	(void)state;
	start_yielding(&g, &n, &t);
	yield_gauge_reset(&g);
	assert_false(yield_gauge_wanted(&g));
	/* The next tick is a baseline again, whatever the count. */
	assert_false(second(&g, &n, &t, 100000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_tick_is_a_baseline),
	    cmocka_unit_test(test_contention_is_a_rate),
	    cmocka_unit_test(test_clock_that_did_not_move_gives_no_rate),
	    cmocka_unit_test(test_counter_wrap),
	    cmocka_unit_test(test_server_on_the_cpu_keeps_it_going),
	    cmocka_unit_test(test_yields_to_nobody_stop_at_the_tick),
	    cmocka_unit_test(test_cpu_hog_stops_it_at_once),
	    cmocka_unit_test(test_hold_doubles_and_resets),
	    cmocka_unit_test(test_uncontended_never_starts),
	    cmocka_unit_test(test_reset_forgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
