/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_tcpprefix.c — client TCP connections counted per
 * prefix (proxy/tcpprefix.h, tcp-max-clients-per-prefix):
 *
 *  - the prefix of an address is its ipv4/ipv6 prefix length, host bits
 *    cleared, and prints as CIDR;
 *  - up to the limit a prefix's connections are taken, the next one is
 *    refused, and a release makes room again;
 *  - prefixes, address families and prefix lengths never share a count;
 *  - limit 0 takes every connection but still counts it;
 *  - an entry goes when its last connection does, and many prefixes at
 *    once (more than there are buckets) keep their own counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/tcpprefix.h"

static struct tcp_prefix
prefix(const char *text, unsigned v4len, unsigned v6len)
{
	struct ip_addr a;
	struct tcp_prefix p;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	tcp_prefix_of(&a, v4len, v6len, &p);
	return p;
}

static void
test_prefix_of_clears_host_bits(void **state)
{
	struct tcp_prefix a = prefix("192.0.2.77", 24, 56);
	struct tcp_prefix b = prefix("2001:db8:1:2345::1", 24, 56);
	char out[IP_ADDR_TEXT_MAX + 4];

	(void)state;
	assert_string_equal(tcp_prefix_format(&a, out, sizeof(out)),
	                    "192.0.2.0/24");
	assert_string_equal(tcp_prefix_format(&b, out, sizeof(out)),
	                    "2001:db8:1:2300::/56");
}

static void
test_limit_refuses_the_next_and_release_makes_room(void **state)
{
	struct tcp_prefixes t = TCP_PREFIXES_INIT;
	struct tcp_prefix p = prefix("127.0.0.1", 24, 56);
	struct tcp_prefix same = prefix("127.0.0.200", 24, 56);
	unsigned open = 0;

	(void)state;
	for (unsigned i = 1; i <= 4; i++) {
		assert_int_equal(tcp_prefixes_take(&t, &p, 4, &open),
		                 TCP_PREFIX_TAKEN);
		assert_int_equal(open, i);
	}
	/* 127.0.0.200 is in the same /24. */
	assert_int_equal(tcp_prefixes_take(&t, &same, 4, &open),
	                 TCP_PREFIX_FULL);
	assert_int_equal(open, 4);
	assert_int_equal(tcp_prefixes_take(&t, &p, 4, NULL), TCP_PREFIX_FULL);
	tcp_prefixes_release(&t, &p);
	assert_int_equal(tcp_prefixes_open(&t, &p), 3);
	assert_int_equal(tcp_prefixes_take(&t, &same, 4, &open),
	                 TCP_PREFIX_TAKEN);
	assert_int_equal(open, 4);
	for (int i = 0; i < 4; i++)
		tcp_prefixes_release(&t, &p);
	assert_int_equal(tcp_prefixes_open(&t, &p), 0);
}

static void
test_prefixes_families_and_lengths_are_separate(void **state)
{
	struct tcp_prefixes t = TCP_PREFIXES_INIT;
	struct tcp_prefix lo = prefix("127.0.0.1", 24, 56);
	struct tcp_prefix other = prefix("127.0.1.1", 24, 56);
	struct tcp_prefix wide = prefix("127.0.0.1", 16, 56);
	struct tcp_prefix v6 = prefix("::1", 24, 56);

	(void)state;
	assert_int_equal(tcp_prefixes_take(&t, &lo, 1, NULL), TCP_PREFIX_TAKEN);
	assert_int_equal(tcp_prefixes_take(&t, &lo, 1, NULL), TCP_PREFIX_FULL);
	assert_int_equal(tcp_prefixes_take(&t, &other, 1, NULL),
	                 TCP_PREFIX_TAKEN);
	/* 127.0.0.0/16 after a reload changed the length: its own count. */
	assert_int_equal(tcp_prefixes_take(&t, &wide, 1, NULL),
	                 TCP_PREFIX_TAKEN);
	assert_int_equal(tcp_prefixes_take(&t, &v6, 1, NULL), TCP_PREFIX_TAKEN);
	assert_int_equal(tcp_prefixes_open(&t, &lo), 1);
	assert_int_equal(tcp_prefixes_open(&t, &wide), 1);
	tcp_prefixes_release(&t, &lo);
	tcp_prefixes_release(&t, &other);
	tcp_prefixes_release(&t, &wide);
	tcp_prefixes_release(&t, &v6);
	assert_int_equal(tcp_prefixes_open(&t, &v6), 0);
}

static void
test_limit_zero_counts_without_refusing(void **state)
{
	struct tcp_prefixes t = TCP_PREFIXES_INIT;
	struct tcp_prefix p = prefix("198.51.100.9", 24, 56);
	unsigned open = 0;

	(void)state;
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(tcp_prefixes_take(&t, &p, 0, &open),
		                 TCP_PREFIX_TAKEN);
	assert_int_equal(open, 100);
	/* A limit set later (a reload) sees the connections already open. */
	assert_int_equal(tcp_prefixes_take(&t, &p, 64, &open), TCP_PREFIX_FULL);
	assert_int_equal(open, 100);
	for (unsigned i = 0; i < 100; i++)
		tcp_prefixes_release(&t, &p);
	assert_int_equal(tcp_prefixes_open(&t, &p), 0);
}

/* More prefixes than buckets: chains hold them all apart; each entry is
 * freed with its last connection (run under ASan, a leak would show). */
static void
test_many_prefixes_keep_their_own_counts(void **state)
{
	struct tcp_prefixes t = TCP_PREFIXES_INIT;
	enum { N = 3 * TCP_PREFIX_BUCKETS };
	char text[32];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		struct tcp_prefix p;

		(void)snprintf(text, sizeof(text), "10.%u.%u.1", i / 256,
		               i % 256);
		p = prefix(text, 24, 56);
		assert_int_equal(tcp_prefixes_take(&t, &p, 2, NULL),
		                 TCP_PREFIX_TAKEN);
		if (i % 2 == 0)
			assert_int_equal(tcp_prefixes_take(&t, &p, 2, NULL),
			                 TCP_PREFIX_TAKEN);
	}
	for (unsigned i = 0; i < N; i++) {
		struct tcp_prefix p;

		(void)snprintf(text, sizeof(text), "10.%u.%u.7", i / 256,
		               i % 256);
		p = prefix(text, 24, 56);
		assert_int_equal(tcp_prefixes_open(&t, &p), i % 2 == 0 ? 2 : 1);
		tcp_prefixes_release(&t, &p);
		if (i % 2 == 0)
			tcp_prefixes_release(&t, &p);
		assert_int_equal(tcp_prefixes_open(&t, &p), 0);
	}
	for (size_t b = 0; b < TCP_PREFIX_BUCKETS; b++)
		assert_null(t.bucket[b]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_of_clears_host_bits),
	    cmocka_unit_test(
	        test_limit_refuses_the_next_and_release_makes_room),
	    cmocka_unit_test(test_prefixes_families_and_lengths_are_separate),
	    cmocka_unit_test(test_limit_zero_counts_without_refusing),
	    cmocka_unit_test(test_many_prefixes_keep_their_own_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
