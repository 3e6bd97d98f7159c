/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/obs/test_fdlimit.c — the report of descriptor failures
 * (obs/fdlimit.h): the first failure is told at once, later ones at most
 * once per FDLIMIT_INTERVAL_MS with the number since the last report,
 * nothing when nothing failed, and only EMFILE and ENFILE count. The
 * clock is the test's: fdlimit_due() takes it as an argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "obs/fdlimit.h"

#define T0 1000000u /* ms: any monotonic start */

static void
test_fdlimit_reports_at_most_once_per_interval(void **state)
{
	char msg[300];

	(void)state;
	/* Nothing failed: nothing to report. */
	assert_int_equal(fdlimit_due(T0, msg, sizeof(msg)), 0);
	/* Not a descriptor shortage: not counted. */
	fdlimit_count(FD_UPSTREAM, ECONNREFUSED);
	fdlimit_count(FD_UPSTREAM, ENOMEM);
	assert_int_equal(fdlimit_due(T0, msg, sizeof(msg)), 0);

	/* The first one is told at once. */
	fdlimit_count(FD_UPSTREAM, EMFILE);
	assert_int_not_equal(fdlimit_due(T0, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "out of file descriptors (EMFILE"));
	assert_non_null(strstr(msg, ": 1 upstream socket not opened and 0 "
	                            "TCP accepts failed so far;"));

	/* More within the interval: counted, not told. */
	for (int i = 0; i < 41; i++)
		fdlimit_count(FD_UPSTREAM, EMFILE);
	fdlimit_count(FD_ACCEPT, ENFILE);
	assert_int_equal(fdlimit_due(T0 + 1, msg, sizeof(msg)), 0);
	assert_int_equal(
	    fdlimit_due(T0 + FDLIMIT_INTERVAL_MS - 1, msg, sizeof(msg)), 0);
	/* Once it is over: all of them, in one line. */
	assert_int_not_equal(
	    fdlimit_due(T0 + FDLIMIT_INTERVAL_MS, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "(ENFILE, the system's limit): 41 "
	                            "upstream sockets not opened and 1 TCP "
	                            "accept failed since the last report;"));
	/* Taken: nothing more to say, even much later. */
	assert_int_equal(
	    fdlimit_due(T0 + 10 * FDLIMIT_INTERVAL_MS, msg, sizeof(msg)), 0);
	/* A new failure long after: told at once again. */
	fdlimit_count(FD_ACCEPT, EMFILE);
	assert_int_not_equal(
	    fdlimit_due(T0 + 10 * FDLIMIT_INTERVAL_MS, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, ": 0 upstream sockets not opened and 1 "
	                            "TCP accept failed since the last report"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fdlimit_reports_at_most_once_per_interval),
	};

	return cmocka_run_group_tests_name("obs fdlimit", tests, NULL, NULL);
}
