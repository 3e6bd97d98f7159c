/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/obs/test_top.c — heavy hitters in time slots (obs/top.h):
 * counts merged over workers and slots, windows made of whole slots,
 * recycled slots forgotten, names counted case-insensitively, and the
 * approximation's bound with many rare keys around a heavy one. The clock
 * is passed in, so windows are tested without waiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/top.h"

/* A time well past the first slots, at the start of a slot. */
#define T0 (1000u * TOP_SLOT_MS)

struct fixture {
	struct top *t[2];
	struct top_row rows[TOP_REPORT_MAX];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	for (int i = 0; i < 2; i++)
		if ((fx->t[i] = calloc(1, sizeof(struct top))) == NULL)
			return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->t[0]);
	free(fx->t[1]);
	free(fx);
	return 0;
}

static struct ip_addr
addr(const char *text)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	return a;
}

static int
report(struct fixture *fx, enum top_kind kind, uint32_t window_ms,
       uint64_t now_ms, uint64_t *span_ms)
{
	uint64_t span;

	return top_report(fx->t, 2, kind, window_ms, now_ms, fx->rows,
	                  TOP_REPORT_MAX, span_ms != NULL ? span_ms : &span);
}

static const char *
row_addr(const struct fixture *fx, int i)
{
	static char buf[IP_ADDR_TEXT_MAX];

	return ip_addr_format(&fx->rows[i].addr, buf, sizeof(buf));
}

static void
test_top_clients_merged_over_workers(void **state)
{
	struct fixture *fx = *state;
	struct ip_addr a = addr("192.0.2.7"), b = addr("2001:db8::1"),
	               c = addr("192.0.2.9");

	for (int i = 0; i < 3; i++)
		top_count_client(fx->t[0], &a, T0 + 100);
	top_count_client(fx->t[1], &a, T0 + 200);
	top_count_client(fx->t[1], &b, T0 + 300);
	top_count_client(fx->t[1], &c, T0 + 400);
	top_count_client(fx->t[0], &c, T0 + 400);
	assert_int_equal(report(fx, TOP_CLIENTS, 60000, T0 + 500, NULL), 3);
	assert_string_equal(row_addr(fx, 0), "192.0.2.7");
	assert_int_equal(fx->rows[0].count, 4);
	assert_string_equal(row_addr(fx, 1), "192.0.2.9");
	assert_int_equal(fx->rows[1].count, 2);
	assert_string_equal(row_addr(fx, 2), "2001:db8::1");
	assert_int_equal(fx->rows[2].count, 1);
}

static void
test_top_report_keeps_the_best(void **state)
{
	struct fixture *fx = *state;
	char text[32];

	/* 30 clients, client i asking i + 1 times: the 20 busiest, in
	 * order. */
	for (int i = 0; i < 30; i++) {
		struct ip_addr a;

		snprintf(text, sizeof(text), "10.0.0.%d", i);
		a = addr(text);
		for (int k = 0; k <= i; k++)
			top_count_client(fx->t[i % 2], &a, T0);
	}
	assert_int_equal(report(fx, TOP_CLIENTS, 10000, T0, NULL),
	                 TOP_REPORT_MAX);
	for (int i = 0; i < TOP_REPORT_MAX; i++) {
		snprintf(text, sizeof(text), "10.0.0.%d", 29 - i);
		assert_string_equal(row_addr(fx, i), text);
		assert_int_equal(fx->rows[i].count, 30 - i);
	}
}

static void
test_top_window_is_whole_slots(void **state)
{
	struct fixture *fx = *state;
	struct ip_addr old = addr("192.0.2.1"), recent = addr("192.0.2.2");
	uint64_t now = T0 + 3 * TOP_SLOT_MS + 3000, span;

	top_count_client(fx->t[0], &old, T0 + 9000);
	top_count_client(fx->t[0], &recent, T0 + 2 * TOP_SLOT_MS + 9500);
	/* 2s: only the current slot (3s of it have passed). */
	assert_int_equal(report(fx, TOP_CLIENTS, 2000, now, &span), 0);
	assert_int_equal(span, 3000);
	/* 4s: the slot before as well. */
	assert_int_equal(report(fx, TOP_CLIENTS, 4000, now, &span), 1);
	assert_string_equal(row_addr(fx, 0), "192.0.2.2");
	assert_int_equal(span, 3000 + TOP_SLOT_MS);
	/* 23s reaches back into the slot of T0 + 9s. */
	assert_int_equal(report(fx, TOP_CLIENTS, 22000, now, &span), 1);
	assert_int_equal(report(fx, TOP_CLIENTS, 24000, now, &span), 2);
	assert_int_equal(span, 3000 + 3 * TOP_SLOT_MS);
	/* Never longer than the longest window. */
	assert_int_equal(
	    report(fx, TOP_CLIENTS, 10 * TOP_WINDOW_MAX_MS, now, &span), 2);
	assert_true(span < TOP_WINDOW_MAX_MS + TOP_SLOT_MS);
}

static void
test_top_recycled_slot_forgets(void **state)
{
	struct fixture *fx = *state;
	struct ip_addr a = addr("192.0.2.1"), b = addr("192.0.2.2");
	uint64_t later = T0 + TOP_SLOTS * TOP_SLOT_MS;

	top_count_client(fx->t[0], &a, T0);
	top_count_name(fx->t[0], (const uint8_t *)"\1a\4test", T0);
	/* The same ring position, TOP_SLOTS slots later. */
	top_count_client(fx->t[0], &b, later);
	assert_int_equal(
	    report(fx, TOP_CLIENTS, TOP_WINDOW_MAX_MS, later, NULL), 1);
	assert_string_equal(row_addr(fx, 0), "192.0.2.2");
	assert_int_equal(report(fx, TOP_NAMES, TOP_WINDOW_MAX_MS, later, NULL),
	                 0);
	/* A slot a worker has not reached yet is not read either. */
	assert_int_equal(
	    report(fx, TOP_CLIENTS, TOP_WINDOW_MAX_MS, T0 - 1, NULL), 0);
}

static void
test_top_names_case_insensitive(void **state)
{
	struct fixture *fx = *state;
	char text[DNS_NAME_TEXT_MAX];

	top_count_name(fx->t[0], (const uint8_t *)"\3WWW\7Example\3org", T0);
	top_count_name(fx->t[1], (const uint8_t *)"\3www\7example\3ORG", T0);
	top_count_name(fx->t[1], (const uint8_t *)"\3www\7example\3org", T0);
	top_count_name(fx->t[0], (const uint8_t *)"", T0); /* the root */
	assert_int_equal(report(fx, TOP_NAMES, 60000, T0 + 1, NULL), 2);
	dns_name_to_text(fx->rows[0].name, text, sizeof(text));
	assert_string_equal(text, "www.example.org.");
	assert_int_equal(fx->rows[0].count, 3);
	dns_name_to_text(fx->rows[1].name, text, sizeof(text));
	assert_string_equal(text, ".");
	assert_int_equal(fx->rows[1].count, 1);
}

static void
test_top_long_name_kept_whole(void **state)
{
	struct fixture *fx = *state;
	uint8_t name[DNS_NAME_MAX];
	size_t n = 0;

	/* 255 bytes: three labels of 63, one of 61, the root. */
	for (int i = 0; i < 4; i++) {
		uint8_t len = i < 3 ? 63 : 61;

		name[n++] = len;
		memset(name + n, 'a' + i, len);
		n += len;
	}
	name[n++] = 0;
	assert_int_equal(n, DNS_NAME_MAX);
	top_count_name(fx->t[0], name, T0);
	top_count_name(fx->t[0], name, T0);
	assert_int_equal(report(fx, TOP_NAMES, 60000, T0, NULL), 1);
	assert_memory_equal(fx->rows[0].name, name, DNS_NAME_MAX);
	assert_int_equal(fx->rows[0].count, 2);
}

/*
 * A client with a fifth of the queries among 50000 others asking once:
 * it holds its cell, low by at most the others that hashed to its cell
 * (about 50000 / TOP_CLIENT_CELLS).
 */
static void
test_top_heavy_hitter_among_many(void **state)
{
	struct fixture *fx = *state;
	struct ip_addr heavy = addr("198.51.100.1"), a;
	unsigned long asked = 0;

	for (unsigned i = 0; i < 50000; i++) {
		a = addr("10.0.0.0");
		a.b[13] = (uint8_t)(i >> 16);
		a.b[14] = (uint8_t)(i >> 8);
		a.b[15] = (uint8_t)i;
		top_count_client(fx->t[0], &a, T0);
		if (i % 4 == 0) {
			top_count_client(fx->t[0], &heavy, T0);
			asked++;
		}
	}
	assert_true(report(fx, TOP_CLIENTS, 10000, T0, NULL) >= 1);
	assert_string_equal(row_addr(fx, 0), "198.51.100.1");
	assert_true(fx->rows[0].count <= asked);
	assert_true(fx->rows[0].count >= asked - 4 * 50000 / TOP_CLIENT_CELLS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_top_clients_merged_over_workers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_report_keeps_the_best,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_window_is_whole_slots,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_recycled_slot_forgets,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_names_case_insensitive,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_long_name_kept_whole,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_heavy_hitter_among_many,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests_name("top", tests, NULL, NULL);
}
