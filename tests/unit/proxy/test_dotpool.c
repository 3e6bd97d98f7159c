/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_dotpool.c — TLS connections to tls:// upstream
 * servers (proxy/dotpool.h): the backoff schedule after failed
 * connection attempts (250 ms, doubling, at most 10 s; none after a
 * success).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/dotpool.h"

static void
test_dotpool_backoff_doubles_to_ten_seconds(void **state)
{
	static const double want[] = {0, 0.25, 0.5, 1, 2, 4, 8, 10, 10, 10};

	(void)state;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_float_equal(dotpool_backoff(i), want[i], 1e-9);
	assert_float_equal(dotpool_backoff(1000), 10, 1e-9);
	assert_float_equal(dotpool_backoff(~0u), 10, 1e-9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dotpool_backoff_doubles_to_ten_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
