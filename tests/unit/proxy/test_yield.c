/*
 * tests/unit/proxy/test_yield.c — the gauge behind
 * yield-to-local-upstream = auto: the first look only takes a baseline,
 * a verdict is a rate of involuntary switches over the time since the last
 * look (not a count), it holds until the next look, and it goes back to
 * "not contended" as soon as the switches stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/worker.h"

static void
test_first_look_is_a_baseline(void **state)
{
	struct cpu_gauge g = {0};

	(void)state;
	/* However many switches the thread had before: not a rate. */
	assert_false(cpu_gauge_update(&g, 100.0, 1000000));
	assert_false(g.contended);
	assert_true(g.started);
	assert_true(cpu_gauge_update(&g, 101.0, 1000000 + YIELD_CONTENDED));
}

static void
test_rate_not_count(void **state)
{
	struct cpu_gauge g = {0};

	(void)state;
	cpu_gauge_update(&g, 10.0, 0);
	/* Just under and at the threshold, over one second. */
	assert_false(cpu_gauge_update(&g, 11.0, YIELD_CONTENDED - 1));
	assert_true(cpu_gauge_update(&g, 12.0, 2 * YIELD_CONTENDED - 1));
	/* The same count over two seconds is half the rate. */
	assert_false(cpu_gauge_update(&g, 14.0, 3 * YIELD_CONTENDED - 1));
	/* Over half a second, half the count is enough. */
	assert_true(cpu_gauge_update(
	    &g, 14.5, 3 * YIELD_CONTENDED - 1 + YIELD_CONTENDED / 2));
}

static void
test_contention_ends(void **state)
{
	struct cpu_gauge g = {0};
	long n = 5000;

	(void)state;
	cpu_gauge_update(&g, 1.0, n);
	n += 1500; /* the upstream server shares the CPU */
	assert_true(cpu_gauge_update(&g, 2.0, n));
	n += 40; /* it moved to another CPU: a few preemptions remain */
	assert_false(cpu_gauge_update(&g, 3.0, n));
	assert_false(g.contended);
	n += 900;
	assert_true(cpu_gauge_update(&g, 4.0, n));
}

static void
test_no_time_passed(void **state)
{
	struct cpu_gauge g = {0};

	(void)state;
	cpu_gauge_update(&g, 7.0, 0);
	/* A clock that did not move gives no rate: not contended. */
	assert_false(cpu_gauge_update(&g, 7.0, 100000));
	assert_false(cpu_gauge_update(&g, 6.0, 200000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_look_is_a_baseline),
	    cmocka_unit_test(test_rate_not_count),
	    cmocka_unit_test(test_contention_ends),
	    cmocka_unit_test(test_no_time_passed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
