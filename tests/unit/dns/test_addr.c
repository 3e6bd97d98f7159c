/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_addr.c — addresses, endpoints, prefixes and BIND-style
 * address match lists (dns/addr.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "dns/addr.h"

#define N_ELEMS(x) (sizeof(x) / sizeof((x)[0]))

static struct ip_addr
addr(const char *text)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	return a;
}

static struct ip_prefix
prefix(const char *text)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(text, &p), 0);
	return p;
}

static bool
contains(const char *pfx, const char *ip)
{
	struct ip_prefix p = prefix(pfx);
	struct ip_addr a = addr(ip);

	return ip_prefix_contains(&p, &a);
}

static void
acl_from(struct acl *list, const char *text)
{
	const char *bad = NULL;

	memset(list, 0, sizeof *list);
	assert_int_equal(acl_parse_append(list, text, &bad), 0);
}

static enum acl_match
match(const struct acl *list, const char *ip)
{
	struct ip_addr a = addr(ip);

	return acl_match(list, &a);
}

static int
match_index(const struct acl *list, const char *ip)
{
	struct ip_addr a = addr(ip);

	return acl_match_index(list, &a);
}

static void
test_addr_v4_round_trip(void **state)
{
	static const char *const texts[] = {
	    "0.0.0.0", "192.0.2.1", "10.66.1.1", "255.255.255.255", "127.0.0.1",
	};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	char buf[IP_ADDR_TEXT_MAX];
	struct ip_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(texts); i++) {
		a = addr(texts[i]);
		assert_true(a.v4);
		assert_memory_equal(a.b, mapped, sizeof mapped);
		assert_string_equal(ip_addr_format(&a, buf, sizeof buf),
		                    texts[i]);
	}
	a = addr("192.0.2.1");
	assert_int_equal(a.b[12], 192);
	assert_int_equal(a.b[13], 0);
	assert_int_equal(a.b[14], 2);
	assert_int_equal(a.b[15], 1);
}

static void
test_addr_v6_round_trip(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"2001:db8::1", "2001:db8::1"},
	    {"2001:DB8:0:0::1", "2001:db8::1"},
	    {"::", "::"},
	    {"::1", "::1"},
	    {"fe80::1:2", "fe80::1:2"},
	    {"2001:db8:0:1:2:3:4:5", "2001:db8:0:1:2:3:4:5"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};
	char buf[IP_ADDR_TEXT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(t); i++) {
		struct ip_addr a = addr(t[i].in);

		assert_false(a.v4);
		assert_string_equal(ip_addr_format(&a, buf, sizeof buf),
		                    t[i].out);
	}
}

/* Written as IPv6 text, a mapped address stays IPv6: only sockets map. */
static void
test_addr_v4_mapped_text_is_v6(void **state)
{
	struct ip_addr m = addr("::ffff:192.0.2.1");
	struct ip_addr v4 = addr("192.0.2.1");
	char buf[IP_ADDR_TEXT_MAX];

	(void)state;
	assert_false(m.v4);
	assert_memory_equal(m.b, v4.b, 16);
	assert_false(ip_addr_equal(&m, &v4));
	assert_string_equal(ip_addr_format(&m, buf, sizeof buf),
	                    "::ffff:192.0.2.1");
}

static void
test_addr_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "1.2.3",
	    "1.2.3.4.5",
	    "256.1.1.1",
	    " 1.2.3.4",
	    "1.2.3.4 ",
	    "01.2.3.4",
	    "1.2.3.4/8",
	    "::1::2",
	    "gggg::",
	    "fe80::1%eth0",
	    "[::1]",
	    "1:2:3:4:5:6:7:8:9",
	    "localhost",
	    "any",
	};
	struct ip_addr a, before;
	size_t i;

	(void)state;
	memset(&a, 0xa5, sizeof a);
	before = a;
	for (i = 0; i < N_ELEMS(bad); i++) {
		assert_int_equal(ip_addr_parse(bad[i], &a), -1);
		assert_memory_equal(&a, &before, sizeof a);
	}
}

static void
test_addr_format_small_buffer(void **state)
{
	struct ip_addr a = addr("192.0.2.123");
	struct ip_addr b = addr("2001:db8::1");
	char buf[8] = "xxxxxxx";

	(void)state;
	assert_string_equal(ip_addr_format(&a, buf, 5), "");
	assert_string_equal(ip_addr_format(&b, buf, sizeof buf), "");
	buf[0] = 'x';
	ip_addr_format(&a, buf, 0);
	assert_int_equal(buf[0], 'x');
	assert_string_equal(ip_endpoint_format(&a, 53, buf, sizeof buf), "");
}

static void
test_addr_equal(void **state)
{
	struct ip_addr a = addr("192.0.2.1"), b = addr("192.0.2.1");
	struct ip_addr c = addr("192.0.2.2"), d = addr("2001:db8::1");
	struct ip_addr e = addr("2001:db8::1");

	(void)state;
	assert_true(ip_addr_equal(&a, &b));
	assert_false(ip_addr_equal(&a, &c));
	assert_false(ip_addr_equal(&a, &d));
	assert_true(ip_addr_equal(&d, &e));
}

struct endpoint_case {
	const char *text;
	const char *ip; /* NULL: must be rejected */
	uint16_t port;
};

/* Loopback: what yield-to-local-upstream treats as "on this host"
 * without asking the interfaces. */
static void
test_addr_is_loopback(void **state)
{
	static const struct {
		const char *ip;
		bool loopback;
	} t[] = {
	    {"127.0.0.1", true},
	    {"127.255.255.254", true},
	    {"127.0.5.1", true},
	    {"::1", true},
	    {"::ffff:127.0.0.1", true},
	    {"126.255.255.255", false},
	    {"128.0.0.0", false},
	    {"0.0.0.0", false},
	    {"::", false},
	    {"::2", false},
	    {"::ffff:128.0.0.1", false},
	    {"1::", false},
	    {"::127.0.0.1", false},
	    {"192.0.2.1", false},
	    {"fe80::1", false},
	    {"2001:db8::1", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ip_addr a = addr(t[i].ip);

		if (ip_addr_is_loopback(&a) != t[i].loopback)
			fail_msg("%s: expected %s", t[i].ip,
			         t[i].loopback ? "loopback" : "not loopback");
	}
}

static void
test_addr_endpoint_parse_good(void **state)
{
	static const struct endpoint_case t[] = {
	    {"192.0.2.1", "192.0.2.1", 53},
	    {"192.0.2.1:5300", "192.0.2.1", 5300},
	    {"1.2.3.4:53", "1.2.3.4", 53},
	    {"1.2.3.4:1", "1.2.3.4", 1},
	    {"1.2.3.4:65535", "1.2.3.4", 65535},
	    {"[2001:db8::1]:53", "2001:db8::1", 53},
	    {"[::1]:5300", "::1", 5300},
	    {"[::1]", "::1", 53},
	    {"::1", "::1", 53},
	    {"2001:db8::53", "2001:db8::53", 53}, /* bare: all address */
	    {"[::ffff:192.0.2.1]:54", "::ffff:192.0.2.1", 54},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(t); i++) {
		struct ip_addr a, want = addr(t[i].ip);
		uint16_t port = 0;

		assert_int_equal(ip_endpoint_parse(t[i].text, 53, &a, &port),
		                 0);
		assert_true(ip_addr_equal(&a, &want));
		assert_int_equal(port, t[i].port);
	}
}

static void
test_addr_endpoint_parse_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "1.2.3.4:",
	    "1.2.3.4:0",
	    "1.2.3.4:00",
	    "1.2.3.4:65536",
	    "1.2.3.4:99999",
	    "1.2.3.4:123456",
	    "1.2.3.4:-1",
	    "1.2.3.4:+53",
	    "1.2.3.4:53x",
	    "1.2.3.4: 53",
	    "1.2.3.4 :53",
	    "1.2.3.4:53:53",
	    "[::1]:",
	    "[::1]:0",
	    "[::1]:65536",
	    "[::1",
	    "[::1]53",
	    "[::1]:53:",
	    "[::1]]:53",
	    "[1.2.3.4]:53",
	    "[]:53",
	    "[]",
	    ":53",
	    "host:53",
	    "localhost",
	    "1.2.3:53",
	    "::1]:53",
	    " 1.2.3.4",
	    "1.2.3.4/8",
	};
	struct ip_addr a, before;
	uint16_t port = 4242;
	size_t i;

	(void)state;
	memset(&a, 0x5a, sizeof a);
	before = a;
	for (i = 0; i < N_ELEMS(bad); i++) {
		if (ip_endpoint_parse(bad[i], 53, &a, &port) != -1)
			fail_msg("accepted endpoint \"%s\"", bad[i]);
		assert_memory_equal(&a, &before, sizeof a);
		assert_int_equal(port, 4242);
	}
}

static void
test_addr_endpoint_format_round_trip(void **state)
{
	static const struct {
		const char *ip;
		uint16_t port;
		const char *text;
	} t[] = {
	    {"192.0.2.1", 53, "192.0.2.1:53"},
	    {"2001:db8::1", 5300, "[2001:db8::1]:5300"},
	    {"::", 65535, "[::]:65535"},
	    {"255.255.255.255", 65535, "255.255.255.255:65535"},
	};
	char buf[IP_ENDPOINT_TEXT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(t); i++) {
		struct ip_addr a = addr(t[i].ip), back;
		uint16_t port;

		assert_string_equal(
		    ip_endpoint_format(&a, t[i].port, buf, sizeof buf),
		    t[i].text);
		assert_int_equal(ip_endpoint_parse(buf, 1, &back, &port), 0);
		assert_true(ip_addr_equal(&a, &back));
		assert_int_equal(port, t[i].port);
	}
}

/* The longest forms must fit the advertised buffer sizes. */
static void
test_addr_text_max_fits(void **state)
{
	struct ip_addr a = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	struct ip_addr m = addr("::ffff:255.255.255.255");
	char buf[IP_ENDPOINT_TEXT_MAX];

	(void)state;
	assert_int_not_equal(ip_addr_format(&a, buf, IP_ADDR_TEXT_MAX)[0],
	                     '\0');
	assert_int_not_equal(ip_endpoint_format(&a, 65535, buf, sizeof buf)[0],
	                     '\0');
	assert_int_not_equal(ip_endpoint_format(&m, 65535, buf, sizeof buf)[0],
	                     '\0');
}

static void
test_addr_sockaddr_v4(void **state)
{
	struct ip_addr a = addr("192.0.2.1"), back;
	struct sockaddr_storage ss;
	const struct sockaddr_in *in = (const void *)&ss;
	uint16_t port = 0;
	socklen_t len;

	(void)state;
	len = ip_addr_to_sockaddr(&a, 5300, &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 5300);
	assert_int_equal(ntohl(in->sin_addr.s_addr), 0xc0000201);
	assert_int_equal(
	    ip_addr_from_sockaddr((const struct sockaddr *)&ss, &back, &port),
	    0);
	assert_true(back.v4);
	assert_true(ip_addr_equal(&a, &back));
	assert_int_equal(port, 5300);
}

static void
test_addr_sockaddr_v6(void **state)
{
	struct ip_addr a = addr("2001:db8::53"), back;
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *in6 = (const void *)&ss;
	socklen_t len;

	(void)state;
	len = ip_addr_to_sockaddr(&a, 53, &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 53);
	assert_memory_equal(&in6->sin6_addr, a.b, 16);
	/* port may be NULL when the caller does not want it */
	assert_int_equal(
	    ip_addr_from_sockaddr((const struct sockaddr *)&ss, &back, NULL),
	    0);
	assert_false(back.v4);
	assert_true(ip_addr_equal(&a, &back));
}

/* A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: IPv4. */
static void
test_addr_sockaddr_is(void **state)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct ip_addr v4 = addr("10.1.2.3"), mapped, other = addr("10.1.2.4");

	(void)state;
	memset(&in, 0, sizeof in);
	in.sin_family = AF_INET;
	in.sin_port = htons(53);
	assert_int_equal(inet_pton(AF_INET, "10.1.2.3", &in.sin_addr), 1);
	assert_true(ip_sockaddr_is((const struct sockaddr *)&in, &v4, 53));
	assert_false(ip_sockaddr_is((const struct sockaddr *)&in, &v4, 54));
	assert_false(ip_sockaddr_is((const struct sockaddr *)&in, &other, 53));
	/* Written [::ffff:10.1.2.3] (v4 flag unset), answered from the
	 * mapped source of a dual-stack socket, or from plain IPv4. */
	assert_int_equal(ip_addr_parse("::ffff:10.1.2.3", &mapped), 0);
	memset(&in6, 0, sizeof in6);
	in6.sin6_family = AF_INET6;
	in6.sin6_port = htons(53);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr),
	                 1);
	assert_true(ip_sockaddr_is((const struct sockaddr *)&in6, &mapped, 53));
	assert_true(ip_sockaddr_is((const struct sockaddr *)&in, &mapped, 53));
	assert_true(ip_sockaddr_is((const struct sockaddr *)&in6, &v4, 53));
	in6.sin6_family = AF_UNIX;
	assert_false(ip_sockaddr_is((const struct sockaddr *)&in6, &v4, 53));
}

static void
test_addr_sockaddr_v4_mapped(void **state)
{
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
	struct ip_addr a, want = addr("10.1.2.3");
	struct acl v4, v6;
	uint16_t port = 0;

	(void)state;
	memset(&in6, 0, sizeof in6);
	in6.sin6_family = AF_INET6;
	in6.sin6_port = htons(4053);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr),
	                 1);
	assert_int_equal(
	    ip_addr_from_sockaddr((const struct sockaddr *)&in6, &a, &port), 0);
	assert_true(a.v4);
	assert_true(ip_addr_equal(&a, &want));
	assert_int_equal(port, 4053);

	acl_from(&v4, "10.0.0.0/8");
	acl_from(&v6, "::/0");
	assert_int_equal(acl_match(&v4, &a), ACL_ACCEPT);
	assert_int_equal(acl_match(&v6, &a), ACL_NOMATCH);
	acl_free(&v4);
	acl_free(&v6);

	/* and it goes back out as a plain AF_INET sockaddr */
	assert_int_equal(ip_addr_to_sockaddr(&a, 53, &ss),
	                 sizeof(struct sockaddr_in));
	assert_int_equal(ss.ss_family, AF_INET);
}

static void
test_addr_sockaddr_bad_family(void **state)
{
	struct sockaddr_un un;
	struct ip_addr a, before;
	uint16_t port = 7;

	(void)state;
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	memset(&a, 0x11, sizeof a);
	before = a;
	assert_int_equal(
	    ip_addr_from_sockaddr((const struct sockaddr *)&un, &a, &port), -1);
	assert_memory_equal(&a, &before, sizeof a);
	assert_int_equal(port, 7);
}

static void
test_addr_prefix_parse(void **state)
{
	static const struct {
		const char *in, *addr;
		unsigned len;
	} t[] = {
	    {"10.0.0.0/8", "10.0.0.0", 8},
	    {"10.1.2.3/8", "10.0.0.0", 8}, /* host bits cleared, as BIND */
	    {"192.0.2.1", "192.0.2.1", 32},
	    {"192.0.2.255/25", "192.0.2.128", 25},
	    {"0.0.0.0/0", "0.0.0.0", 0},
	    {"255.255.255.255/0", "0.0.0.0", 0},
	    {"2001:db8::1/32", "2001:db8::", 32},
	    {"2001:db8::1", "2001:db8::1", 128},
	    {"fdff:1::/7", "fc00::", 7},
	    {"febf::/10", "fe80::", 10},
	    {"::/0", "::", 0},
	    {"::ffff:10.1.2.3/104", "::ffff:10.0.0.0", 104},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(t); i++) {
		struct ip_prefix p = prefix(t[i].in);
		struct ip_addr want = addr(t[i].addr);

		assert_true(ip_addr_equal(&p.addr, &want));
		assert_memory_equal(p.addr.b, want.b, 16);
		assert_int_equal(p.len, t[i].len);
	}
}

static void
test_addr_prefix_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "10.0.0.0/33",  "::/129",
	    "10.0.0.0/",    "/8",
	    "10.0.0.0/-1",  "10.0.0.0/+8",
	    "10.0.0.0/8/8", "10.0.0.0/ 8",
	    "10.0.0.0/8 ",  "10.0.0.0 /8",
	    "10.0.0.0/x",   "10/8",
	    "::/1000",      "",
	    "any",          "1.2.3.4/100000",
	};
	struct ip_prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(bad); i++) {
		if (ip_prefix_parse(bad[i], &p) != -1)
			fail_msg("accepted prefix \"%s\"", bad[i]);
	}
}

static void
test_addr_prefix_v4_boundaries(void **state)
{
	(void)state;
	assert_true(contains("0.0.0.0/0", "0.0.0.0"));
	assert_true(contains("0.0.0.0/0", "255.255.255.255"));
	assert_false(contains("0.0.0.0/0", "::"));
	assert_false(contains("0.0.0.0/0", "::ffff:1.2.3.4"));
	assert_true(contains("192.0.2.1/32", "192.0.2.1"));
	assert_false(contains("192.0.2.1/32", "192.0.2.0"));
	assert_false(contains("192.0.2.1/32", "192.0.2.2"));
	/* 172.16/12: the odd length cuts the second octet */
	assert_true(contains("172.16.0.0/12", "172.16.0.0"));
	assert_true(contains("172.16.0.0/12", "172.31.255.255"));
	assert_false(contains("172.16.0.0/12", "172.15.255.255"));
	assert_false(contains("172.16.0.0/12", "172.32.0.0"));
	/* 100.64/10 */
	assert_true(contains("100.64.0.0/10", "100.64.0.0"));
	assert_true(contains("100.64.0.0/10", "100.127.255.255"));
	assert_false(contains("100.64.0.0/10", "100.63.255.255"));
	assert_false(contains("100.64.0.0/10", "100.128.0.0"));
	/* /1 and /31 */
	assert_true(contains("128.0.0.0/1", "255.0.0.1"));
	assert_false(contains("128.0.0.0/1", "127.255.255.255"));
	assert_true(contains("192.0.2.2/31", "192.0.2.3"));
	assert_false(contains("192.0.2.2/31", "192.0.2.4"));
}

static void
test_addr_prefix_v6_boundaries(void **state)
{
	(void)state;
	assert_true(contains("::/0", "::"));
	assert_true(
	    contains("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(contains("::/0", "0.0.0.0"));
	assert_true(contains("2001:db8::1/128", "2001:db8::1"));
	assert_false(contains("2001:db8::1/128", "2001:db8::"));
	assert_false(contains("2001:db8::1/128", "2001:db8::2"));
	/* fc00::/7 */
	assert_true(contains("fc00::/7", "fc00::"));
	assert_true(contains("fc00::/7", "fd12:3456::1"));
	assert_true(
	    contains("fc00::/7", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(
	    contains("fc00::/7", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(contains("fc00::/7", "fe00::"));
	/* fe80::/10 */
	assert_true(contains("fe80::/10", "fe80::1"));
	assert_true(
	    contains("fe80::/10", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(contains("fe80::/10", "fec0::"));
	assert_false(
	    contains("fe80::/10", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	/* /127 and /64 */
	assert_true(contains("2001:db8::/127", "2001:db8::1"));
	assert_false(contains("2001:db8::/127", "2001:db8::2"));
	assert_true(contains("2001:db8:1:2::/64", "2001:db8:1:2:ffff::1"));
	assert_false(contains("2001:db8:1:2::/64", "2001:db8:1:3::"));
}

static void
test_addr_mask(void **state)
{
	struct ip_addr a = addr("10.255.255.255");
	struct ip_addr b = addr("2001:db8:ffff:ffff::1");
	struct ip_addr c = addr("192.0.2.77");
	char buf[IP_ADDR_TEXT_MAX];

	(void)state;
	ip_addr_mask(&a, 12);
	assert_string_equal(ip_addr_format(&a, buf, sizeof buf), "10.240.0.0");
	assert_true(a.v4);
	ip_addr_mask(&b, 36);
	assert_string_equal(ip_addr_format(&b, buf, sizeof buf),
	                    "2001:db8:f000::");
	ip_addr_mask(&c, 40); /* beyond 32: the whole address is kept */
	assert_string_equal(ip_addr_format(&c, buf, sizeof buf), "192.0.2.77");
	ip_addr_mask(&c, 0);
	assert_string_equal(ip_addr_format(&c, buf, sizeof buf), "0.0.0.0");
	assert_int_equal(c.b[10], 0xff); /* the ::ffff: part survives */
}

static void
test_addr_acl_negation_before_wider(void **state)
{
	struct acl l;

	(void)state;
	acl_from(&l, "!10.66.0.0/16, 10.0.0.0/8");
	assert_int_equal(l.n, 2);
	assert_int_equal(match(&l, "10.66.1.1"), ACL_REJECT);
	assert_int_equal(match(&l, "10.1.1.1"), ACL_ACCEPT);
	assert_int_equal(match(&l, "192.168.1.1"), ACL_NOMATCH);
	acl_free(&l);
}

/* The first match decides: a wider positive element shadows a later "!". */
static void
test_addr_acl_first_match_wins(void **state)
{
	struct acl l;

	(void)state;
	acl_from(&l, "10.0.0.0/8, !10.66.0.0/16");
	assert_int_equal(match(&l, "10.66.1.1"), ACL_ACCEPT);
	assert_int_equal(match_index(&l, "10.66.1.1"), 0);
	acl_free(&l);

	acl_from(&l, "!192.0.2.1, 192.0.2.0/24, !any");
	assert_int_equal(match(&l, "192.0.2.1"), ACL_REJECT);
	assert_int_equal(match(&l, "192.0.2.2"), ACL_ACCEPT);
	assert_int_equal(match(&l, "198.51.100.1"), ACL_REJECT);
	acl_free(&l);
}

static void
test_addr_acl_any_none(void **state)
{
	struct acl l;

	(void)state;
	acl_from(&l, "any");
	assert_int_equal(match(&l, "192.0.2.1"), ACL_ACCEPT);
	assert_int_equal(match(&l, "2001:db8::1"), ACL_ACCEPT);
	acl_free(&l);

	acl_from(&l, "none");
	assert_int_equal(match(&l, "192.0.2.1"), ACL_NOMATCH);
	assert_int_equal(match(&l, "::1"), ACL_NOMATCH);
	acl_free(&l);

	acl_from(&l, "!any");
	assert_int_equal(match(&l, "192.0.2.1"), ACL_REJECT);
	assert_int_equal(match(&l, "::1"), ACL_REJECT);
	acl_free(&l);

	/* "none" matches nothing, so "!none" matches nothing either */
	acl_from(&l, "!none, 10.0.0.0/8");
	assert_int_equal(match(&l, "10.1.1.1"), ACL_ACCEPT);
	assert_int_equal(match_index(&l, "10.1.1.1"), 1);
	assert_int_equal(match(&l, "192.0.2.1"), ACL_NOMATCH);
	acl_free(&l);

	acl_from(&l, "none, any");
	assert_int_equal(match(&l, "192.0.2.1"), ACL_ACCEPT);
	acl_free(&l);

	acl_from(&l, "ANY");
	assert_int_equal(l.elems[0].kind, ACL_ELEM_ANY);
	acl_free(&l);
}

static void
test_addr_acl_allows(void **state)
{
	struct acl l;
	struct ip_addr in = addr("10.1.1.1"), out = addr("10.66.1.1");
	struct ip_addr none = addr("192.168.1.1");

	(void)state;
	acl_from(&l, "!10.66.0.0/16, 10.0.0.0/8");
	assert_true(acl_allows(&l, &in));
	assert_false(acl_allows(&l, &out));
	assert_false(acl_allows(&l, &none));
	acl_free(&l);
}

static void
test_addr_acl_mixed_families(void **state)
{
	struct acl l;

	(void)state;
	acl_from(&l, "2001:db8::/32, !192.0.2.128/25, 192.0.2.0/24, ::/0");
	assert_int_equal(match(&l, "2001:db8::1"), ACL_ACCEPT);
	assert_int_equal(match_index(&l, "2001:db8::1"), 0);
	assert_int_equal(match(&l, "192.0.2.200"), ACL_REJECT);
	assert_int_equal(match(&l, "192.0.2.1"), ACL_ACCEPT);
	assert_int_equal(match_index(&l, "192.0.2.1"), 2);
	assert_int_equal(match_index(&l, "fe80::1"), 3);
	/* ::/0 is IPv6 only: an IPv4 client falls through */
	assert_int_equal(match(&l, "198.51.100.1"), ACL_NOMATCH);
	acl_free(&l);

	acl_from(&l, "0.0.0.0/0");
	assert_int_equal(match(&l, "::"), ACL_NOMATCH);
	assert_int_equal(match(&l, "::ffff:10.0.0.1"), ACL_NOMATCH);
	assert_int_equal(match(&l, "10.0.0.1"), ACL_ACCEPT);
	acl_free(&l);
}

static void
test_addr_acl_whitespace(void **state)
{
	struct acl l;

	(void)state;
	acl_from(&l, "  !  10.66.0.0/16 ,\t10.0.0.0/8  ,\n any ");
	assert_int_equal(l.n, 3);
	assert_true(l.elems[0].negated);
	assert_int_equal(l.elems[0].kind, ACL_ELEM_PREFIX);
	assert_int_equal(l.elems[0].prefix.len, 16);
	assert_false(l.elems[1].negated);
	assert_int_equal(l.elems[2].kind, ACL_ELEM_ANY);
	assert_int_equal(match(&l, "10.66.0.1"), ACL_REJECT);
	assert_int_equal(match(&l, "10.0.0.1"), ACL_ACCEPT);
	acl_free(&l);

	acl_from(&l, "   ");
	assert_int_equal(l.n, 0);
	assert_int_equal(match(&l, "10.0.0.1"), ACL_NOMATCH);
	acl_free(&l);
}

static void
test_addr_acl_bad_element(void **state)
{
	static const struct {
		const char *text;
		size_t bad; /* offset of the offending element */
	} t[] = {
	    {"10.0.0.0/8, 10.0.0.0/33, any", 12},
	    {"any, bogus", 5},
	    {"any,,none", 4},
	    {"any,", 4},
	    {" ,any", 1},
	    {"!", 0},
	    {"!!10.0.0.0/8", 0},
	    {"10.0.0.0 /8", 0},
	    {"any none", 0},
	    {"10.0.0.0/8, localhost", 12},
	    {"::/0,   ::/129", 8},
	    {"1.2.3.4:53", 0},
	};
	struct acl l;
	size_t i;

	(void)state;
	acl_from(&l, "192.168.0.0/16, !any");
	for (i = 0; i < N_ELEMS(t); i++) {
		struct acl before = l;
		struct acl_elem saved[2];
		const char *bad = NULL;

		memcpy(saved, l.elems, sizeof saved);
		errno = 0;
		assert_int_equal(acl_parse_append(&l, t[i].text, &bad), -1);
		assert_int_equal(errno, EINVAL);
		assert_ptr_equal(bad, t[i].text + t[i].bad);
		/* list untouched: same count, storage and elements */
		assert_int_equal(l.n, before.n);
		assert_int_equal(l.cap, before.cap);
		assert_ptr_equal(l.elems, before.elems);
		assert_memory_equal(l.elems, saved, sizeof saved);
		/* a NULL bad pointer is allowed */
		assert_int_equal(acl_parse_append(&l, t[i].text, NULL), -1);
	}
	assert_int_equal(match(&l, "192.168.1.1"), ACL_ACCEPT);
	assert_int_equal(match(&l, "10.0.0.1"), ACL_REJECT);
	acl_free(&l);
}

static void
test_addr_acl_append_grows(void **state)
{
	struct acl l;
	char text[32];
	int i;

	(void)state;
	acl_from(&l, "!10.66.0.0/16");
	assert_int_equal(acl_parse_append(&l, "10.0.0.0/8", NULL), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(match(&l, "10.66.1.1"), ACL_REJECT);
	assert_int_equal(match(&l, "10.1.1.1"), ACL_ACCEPT);
	for (i = 0; i < 200; i++) {
		snprintf(text, sizeof text, "192.0.%d.0/24", i);
		assert_int_equal(acl_parse_append(&l, text, NULL), 0);
	}
	assert_int_equal(l.n, 202);
	assert_true(l.cap >= l.n);
	assert_int_equal(match_index(&l, "192.0.199.7"), 201);
	assert_int_equal(match_index(&l, "192.0.200.7"), -1);
	acl_free(&l);
	assert_null(l.elems);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 0);
	/* a freed list is an empty list, ready for reuse */
	assert_int_equal(acl_parse_append(&l, "any", NULL), 0);
	assert_int_equal(match(&l, "::1"), ACL_ACCEPT);
	acl_free(&l);
}

static void
test_addr_acl_match_index(void **state)
{
	struct acl l, empty;

	(void)state;
	acl_from(&l, "!10.66.0.0/16, 10.0.0.0/8, 2001:db8::/32, any");
	assert_int_equal(match_index(&l, "10.66.1.1"), 0);
	assert_int_equal(match_index(&l, "10.1.1.1"), 1);
	assert_int_equal(match_index(&l, "2001:db8::5"), 2);
	assert_int_equal(match_index(&l, "192.168.1.1"), 3);
	assert_int_equal(match_index(&l, "::1"), 3);
	acl_free(&l);

	acl_from(&l, "!10.66.0.0/16, 10.0.0.0/8");
	assert_int_equal(match_index(&l, "192.168.1.1"), -1);
	acl_free(&l);

	memset(&empty, 0, sizeof empty);
	assert_int_equal(match_index(&empty, "10.0.0.1"), -1);
	assert_int_equal(match(&empty, "10.0.0.1"), ACL_NOMATCH);
	assert_int_equal(match_index(NULL, "10.0.0.1"), -1);
	assert_int_equal(match(NULL, "10.0.0.1"), ACL_NOMATCH);
	acl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_v4_round_trip),
	    cmocka_unit_test(test_addr_v6_round_trip),
	    cmocka_unit_test(test_addr_v4_mapped_text_is_v6),
	    cmocka_unit_test(test_addr_parse_rejects),
	    cmocka_unit_test(test_addr_format_small_buffer),
	    cmocka_unit_test(test_addr_equal),
	    cmocka_unit_test(test_addr_is_loopback),
	    cmocka_unit_test(test_addr_endpoint_parse_good),
	    cmocka_unit_test(test_addr_endpoint_parse_bad),
	    cmocka_unit_test(test_addr_endpoint_format_round_trip),
	    cmocka_unit_test(test_addr_text_max_fits),
	    cmocka_unit_test(test_addr_sockaddr_v4),
	    cmocka_unit_test(test_addr_sockaddr_v6),
	    cmocka_unit_test(test_addr_sockaddr_v4_mapped),
	    cmocka_unit_test(test_addr_sockaddr_is),
	    cmocka_unit_test(test_addr_sockaddr_bad_family),
	    cmocka_unit_test(test_addr_prefix_parse),
	    cmocka_unit_test(test_addr_prefix_parse_rejects),
	    cmocka_unit_test(test_addr_prefix_v4_boundaries),
	    cmocka_unit_test(test_addr_prefix_v6_boundaries),
	    cmocka_unit_test(test_addr_mask),
	    cmocka_unit_test(test_addr_acl_negation_before_wider),
	    cmocka_unit_test(test_addr_acl_first_match_wins),
	    cmocka_unit_test(test_addr_acl_any_none),
	    cmocka_unit_test(test_addr_acl_allows),
	    cmocka_unit_test(test_addr_acl_mixed_families),
	    cmocka_unit_test(test_addr_acl_whitespace),
	    cmocka_unit_test(test_addr_acl_bad_element),
	    cmocka_unit_test(test_addr_acl_append_grows),
	    cmocka_unit_test(test_addr_acl_match_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
