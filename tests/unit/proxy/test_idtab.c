/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_idtab.c — queries in flight by ID
 * (proxy/idtab.h), as a TLS connection to an upstream uses them
 * (proxy/dotpool.c): answers found by ID in any order, an ID taken
 * refused, removal that keeps every other entry findable (runs of IDs
 * with the same home slot, wrapping around the end), the half-full cap,
 * and draining on a connection's failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "proxy/idtab.h"

static struct idtab *
tab_new(void)
{
	struct idtab *t = malloc(sizeof(*t));

	assert_non_null(t);
	idtab_init(t);
	return t;
}

/* A distinct non-NULL pointer per ID (never dereferenced). */
static void *
val(unsigned i)
{
	return (void *)(uintptr_t)(0x1000 + i);
}

static void
test_idtab_answers_in_any_order(void **state)
{
	struct idtab *t = tab_new();
	const uint16_t ids[] = {7, 0xbeef, 1030, 7 + 1024, 0xffff, 0};

	(void)state;
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(idtab_add(t, ids[i], val(i)), 0);
	assert_int_equal(t->n, 6);
	/* Answers come back reversed: each finds its own query. */
	for (unsigned i = 6; i-- > 0;) {
		assert_ptr_equal(idtab_find(t, ids[i]), val(i));
		assert_true(idtab_remove(t, ids[i], val(i)));
		assert_null(idtab_find(t, ids[i]));
	}
	assert_int_equal(t->n, 0);
	free(t);
}

static void
test_idtab_id_in_flight_is_refused(void **state)
{
	struct idtab *t = tab_new();

	(void)state;
	assert_int_equal(idtab_add(t, 42, val(1)), 0);
	/* RFC 7766 6.2.1.1: never two queries with one ID in flight. */
	assert_int_equal(idtab_add(t, 42, val(2)), -1);
	assert_ptr_equal(idtab_find(t, 42), val(1));
	/* Only the owner's removal counts (a forgotten query's late
	 * removal must not take a newer one's place). */
	assert_false(idtab_remove(t, 42, val(2)));
	assert_false(idtab_remove(t, 43, val(1)));
	assert_ptr_equal(idtab_find(t, 42), val(1));
	assert_int_equal(idtab_add(t, 0, NULL), -1);
	free(t);
}

static void
test_idtab_removal_keeps_runs_findable(void **state)
{
	struct idtab *t = tab_new();
	/* Five IDs with home slot 1022, and two with home 0 and 1: a run
	 * that wraps past the last slot and mixes homes. */
	const uint16_t ids[] = {1022, 1022 + 1024, 1022 + 2048, 0,
	                        1,    1022 + 3072, 1022 + 4096};
	const unsigned n = sizeof(ids) / sizeof(ids[0]);

	(void)state;
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(idtab_add(t, ids[i], val(i)), 0);
	/* Remove each in turn from a full run: the others stay found. */
	for (unsigned gone = 0; gone < n; gone++) {
		assert_true(idtab_remove(t, ids[gone], val(gone)));
		for (unsigned i = 0; i < n; i++)
			if (i <= gone)
				assert_null(idtab_find(t, ids[i]));
			else
				assert_ptr_equal(idtab_find(t, ids[i]), val(i));
	}
	assert_int_equal(t->n, 0);
	/* And from the middle of the run, then adding again. */
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(idtab_add(t, ids[i], val(i)), 0);
	assert_true(idtab_remove(t, ids[3], val(3)));
	assert_int_equal(idtab_add(t, ids[3], val(9)), 0);
	for (unsigned i = 0; i < n; i++)
		assert_ptr_equal(idtab_find(t, ids[i]), val(i == 3 ? 9 : i));
	free(t);
}

static void
test_idtab_half_full_at_most(void **state)
{
	struct idtab *t = tab_new();

	(void)state;
	for (unsigned i = 0; i < IDTAB_MAX; i++)
		assert_int_equal(idtab_add(t, (uint16_t)(i * 7), val(i)), 0);
	assert_int_equal(idtab_add(t, 65000, val(0)), -1);
	assert_true(idtab_remove(t, 7, val(1)));
	assert_int_equal(idtab_add(t, 65000, val(0)), 0);
	free(t);
}

static void
test_idtab_drain_takes_everything(void **state)
{
	struct idtab *t = tab_new();
	void *out[IDTAB_MAX];
	unsigned seen = 0;

	(void)state;
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(idtab_add(t, (uint16_t)(i * 1024), val(i)), 0);
	assert_int_equal(idtab_drain(t, out, IDTAB_MAX), 10);
	for (unsigned i = 0; i < 10; i++)
		seen |= 1u << ((uintptr_t)out[i] - 0x1000);
	assert_int_equal(seen, 0x3ff);
	assert_int_equal(t->n, 0);
	assert_null(idtab_find(t, 0));
	assert_int_equal(idtab_drain(t, out, IDTAB_MAX), 0);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idtab_answers_in_any_order),
	    cmocka_unit_test(test_idtab_id_in_flight_is_refused),
	    cmocka_unit_test(test_idtab_removal_keeps_runs_findable),
	    cmocka_unit_test(test_idtab_half_full_at_most),
	    cmocka_unit_test(test_idtab_drain_takes_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
