/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_rrtext.c — RRs from master-file text (every type, TTL
 * and class in both orders, every error message) and RDATA back to text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/msg.h"
#include "dns/rrtext.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TYPE_CAA     257 /* RFC 8659 */

/* "x." and "example." in wire form. */
static const uint8_t name_x[] = {1, 'x', 0};
static const uint8_t origin_example[] = {7,   'e', 'x', 'a', 'm',
                                         'p', 'l', 'e', 0};

/* One 64 KiB RR for every test (too big for cmocka's stack). */
static int
setup(void **state)
{
	*state = malloc(sizeof(struct dns_rr_text));
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/* Parse text that must be valid, with no origin and default TTL 3600. */
static struct dns_rr_text *
ok_origin(void **state, const char *text, const uint8_t *origin)
{
	struct dns_rr_text *rr = *state;
	char err[256];
	int r = dns_rr_from_text(text, origin, 3600, rr, err, sizeof(err));

	if (r != 0)
		print_error("'%s': %s\n", text, err);
	assert_int_equal(r, 0);
	assert_string_equal(err, "");
	return rr;
}

static struct dns_rr_text *
ok(void **state, const char *text)
{
	return ok_origin(state, text, NULL);
}

/* Parse text that must fail with exactly the message want. */
static void
fails(void **state, const char *text, const char *want)
{
	char err[256];

	assert_int_equal(
	    dns_rr_from_text(text, NULL, 3600, *state, err, sizeof(err)), -1);
	if (strcmp(err, want) != 0)
		print_error("'%s'\n", text);
	assert_string_equal(err, want);
}

static void
assert_rdata(const struct dns_rr_text *rr, uint16_t type, const uint8_t *want,
             size_t len)
{
	assert_int_equal(rr->type, type);
	assert_int_equal(rr->rdlength, len);
	assert_memory_equal(rr->rdata, want, len);
}

static void
test_rrtext_a_full_line(void **state)
{
	static const uint8_t owner[] = {3,   'w', 'w', 'w', 7,   'E',
	                                'x', 'a', 'm', 'p', 'l', 'e',
	                                3,   'c', 'o', 'm', 0};
	static const uint8_t rdata[] = {192, 0, 2, 1};
	struct dns_rr_text *rr =
	    ok(state, "www.Example.com. 300 IN A 192.0.2.1");

	/* Owner case is kept as written. */
	assert_int_equal(rr->owner_len, sizeof(owner));
	assert_memory_equal(rr->owner, owner, sizeof(owner));
	assert_int_equal(rr->ttl, 300);
	assert_int_equal(rr->rclass, DNS_CLASS_IN);
	assert_rdata(rr, DNS_TYPE_A, rdata, sizeof(rdata));
}

static void
test_rrtext_ttl_and_class_in_any_order(void **state)
{
	static const struct {
		const char *text;
		uint32_t ttl;
	} cases[] = {
	    {"x. 300 IN A 10.0.0.1", 300}, {"x. IN 300 A 10.0.0.1", 300},
	    {"x. 300 A 10.0.0.1", 300},    {"x. IN A 10.0.0.1", 3600},
	    {"x. A 10.0.0.1", 3600},       {"x. in a 10.0.0.1", 3600},
	    {"x. CLASS1 0 A 10.0.0.1", 0}, {"x.\t60\tIN\tA\t10.0.0.1", 60},
	    {"  x. 60 A 10.0.0.1  ", 60},
	};
	struct dns_rr_text *rr;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		rr = ok(state, cases[i].text);
		assert_int_equal(rr->ttl, cases[i].ttl);
		assert_int_equal(rr->rclass, DNS_CLASS_IN);
		assert_int_equal(rr->type, DNS_TYPE_A);
		assert_memory_equal(rr->owner, name_x, sizeof(name_x));
	}
}

static void
test_rrtext_default_ttl_is_the_callers(void **state)
{
	char err[64];

	assert_int_equal(dns_rr_from_text("x. A 10.0.0.1", NULL, 42, *state,
	                                  err, sizeof(err)),
	                 0);
	assert_int_equal(((struct dns_rr_text *)*state)->ttl, 42);
}

static void
test_rrtext_ttl_units(void **state)
{
	static const struct {
		const char *text;
		uint32_t ttl;
	} cases[] = {
	    {"x. 1h30m A 10.0.0.1", 5400},
	    {"x. 1W A 10.0.0.1", 604800},
	    {"x. 2d IN A 10.0.0.1", 172800},
	    {"x. 1w2d3h4m5s A 10.0.0.1", 788645},
	    {"x. 90s A 10.0.0.1", 90},
	    {"x. 2147483647 A 10.0.0.1", 2147483647},
	    {"x. 24855d A 10.0.0.1", 2147472000},
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++)
		assert_int_equal(ok(state, cases[i].text)->ttl, cases[i].ttl);
}

static void
test_rrtext_ttl_from_text(void **state)
{
	uint32_t v = 7;

	(void)state;
	assert_int_equal(dns_ttl_from_text("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dns_ttl_from_text("10", 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(dns_ttl_from_text("11", 10, &v), -1);
	assert_int_equal(dns_ttl_from_text("1m1m", 1000, &v), 0);
	assert_int_equal(v, 120);
	assert_int_equal(dns_ttl_from_text("4294967295", UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(dns_ttl_from_text("4294967296", UINT32_MAX, &v), -1);
	assert_int_equal(
	    dns_ttl_from_text("99999999999999999999", UINT32_MAX, &v), -1);
	/* A bare number after units, unknown units, no digits. */
	assert_int_equal(dns_ttl_from_text("1h30", 100000, &v), -1);
	assert_int_equal(dns_ttl_from_text("1y", 100000, &v), -1);
	assert_int_equal(dns_ttl_from_text("h", 100000, &v), -1);
	assert_int_equal(dns_ttl_from_text("", 100000, &v), -1);
	assert_int_equal(dns_ttl_from_text("-1", 100000, &v), -1);
	assert_int_equal(dns_ttl_from_text("1 h", 100000, &v), -1);
}

static void
test_rrtext_ttl_errors(void **state)
{
	fails(state, "x. 2147483648 A 10.0.0.1",
	      "bad TTL '2147483648' (0..2147483647 seconds, or units as in "
	      "1h30m)");
	fails(state, "x. 24856d A 10.0.0.1",
	      "bad TTL '24856d' (0..2147483647 seconds, or units as in "
	      "1h30m)");
	fails(state, "x. 1h30 A 10.0.0.1",
	      "bad TTL '1h30' (0..2147483647 seconds, or units as in 1h30m)");
	fails(state, "x. 5x A 10.0.0.1",
	      "bad TTL '5x' (0..2147483647 seconds, or units as in 1h30m)");
	fails(state, "x. 300 IN 300 A 10.0.0.1", "TTL given twice");
	fails(state, "x. IN 300 IN A 10.0.0.1", "class given twice");
}

static void
test_rrtext_class_other_than_in_rejected(void **state)
{
	fails(state, "x. CH TXT hello", "class 'CH' not supported (only IN)");
	fails(state, "x. 0 hs A 10.0.0.1",
	      "class 'hs' not supported (only IN)");
	fails(state, "x. CS A 10.0.0.1", "class 'CS' not supported (only IN)");
	fails(state, "x. CLASS3 A 10.0.0.1",
	      "class 'CLASS3' not supported (only IN)");
	/* Not a class number: taken as a type, which is unknown. */
	fails(state, "x. CLASSX A 10.0.0.1", "unknown type 'CLASSX'");
}

static void
test_rrtext_owner_relative_and_origin(void **state)
{
	static const uint8_t www_example[] = {3,   'w', 'w', 'w', 7,   'e', 'x',
	                                      'a', 'm', 'p', 'l', 'e', 0};
	static const uint8_t www_root[] = {3, 'w', 'w', 'w', 0};
	struct dns_rr_text *rr;

	rr = ok_origin(state, "www A 10.0.0.1", origin_example);
	assert_memory_equal(rr->owner, www_example, sizeof(www_example));
	rr = ok_origin(state, "www.example. A 10.0.0.1", origin_example);
	assert_memory_equal(rr->owner, www_example, sizeof(www_example));
	rr = ok_origin(state, "@ A 10.0.0.1", origin_example);
	assert_int_equal(rr->owner_len, sizeof(origin_example));
	assert_memory_equal(rr->owner, origin_example, sizeof(origin_example));
	/* No origin: a relative name is taken as absolute. */
	rr = ok(state, "www A 10.0.0.1");
	assert_int_equal(rr->owner_len, sizeof(www_root));
	assert_memory_equal(rr->owner, www_root, sizeof(www_root));
	rr = ok(state, ". A 10.0.0.1");
	assert_int_equal(rr->owner_len, 1);
	/* Escapes in names: "a\.b" is one label. */
	rr = ok(state, "a\\.b. A 10.0.0.1");
	assert_int_equal(rr->owner_len, 5);
	assert_int_equal(rr->owner[0], 3);
}

static void
test_rrtext_aaaa(void **state)
{
	static const uint8_t rdata[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	                                0,    0,    0,    0,    0, 0, 0, 1};
	static const uint8_t mapped[] = {0, 0, 0,    0,    0,  0, 0, 0,
	                                 0, 0, 0xff, 0xff, 10, 1, 2, 3};

	assert_rdata(ok(state, "x. AAAA 2001:db8::1"), DNS_TYPE_AAAA, rdata,
	             sizeof(rdata));
	assert_rdata(ok(state, "x. aaaa ::ffff:10.1.2.3"), DNS_TYPE_AAAA,
	             mapped, sizeof(mapped));
}

static void
test_rrtext_bad_addresses(void **state)
{
	fails(state, "x. A 10.1.2", "bad IPv4 address '10.1.2' in A RDATA");
	fails(state, "x. A 256.1.1.1",
	      "bad IPv4 address '256.1.1.1' in A RDATA");
	fails(state, "x. A 2001:db8::1",
	      "bad IPv4 address '2001:db8::1' in A RDATA");
	fails(state, "x. A 10.0.0.1x",
	      "bad IPv4 address '10.0.0.1x' in A RDATA");
	fails(state, "x. AAAA 10.1.2.3",
	      "bad IPv6 address '10.1.2.3' in AAAA RDATA");
	fails(state, "x. AAAA 2001:db8:::1",
	      "bad IPv6 address '2001:db8:::1' in AAAA RDATA");
	fails(state, "x. A \"10.0.0.1\"",
	      "address '10.0.0.1' must not be quoted");
}

static void
test_rrtext_name_types(void **state)
{
	/* "mail.example." */
	static const uint8_t target[] = {4,   'm', 'a', 'i', 'l', 7,   'e',
	                                 'x', 'a', 'm', 'p', 'l', 'e', 0};
	static const uint16_t types[] = {DNS_TYPE_CNAME, DNS_TYPE_NS,
	                                 DNS_TYPE_PTR};
	static const char *const lines[] = {
	    "x. CNAME mail", "x. NS mail.example.", "x. PTR mail"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(lines); i++)
		assert_rdata(ok_origin(state, lines[i], origin_example),
		             types[i], target, sizeof(target));
	/* "@" in RDATA is the origin too. */
	assert_rdata(ok_origin(state, "x. CNAME @", origin_example),
	             DNS_TYPE_CNAME, origin_example, sizeof(origin_example));
}

static void
test_rrtext_mx(void **state)
{
	static const uint8_t rdata[] = {
	    0x00, 0x0a, /* PREFERENCE 10 */
	    4,    'm',  'a', 'i', 'l', 7,   'e',
	    'x',  'a',  'm', 'p', 'l', 'e', 0, /* EXCHANGE mail.example. */
	};

	assert_rdata(ok_origin(state, "@ MX 10 mail", origin_example),
	             DNS_TYPE_MX, rdata, sizeof(rdata));
	fails(state, "x. MX 65536 mail.",
	      "bad preference '65536' in MX RDATA (0..65535)");
	fails(state, "x. MX mail.",
	      "bad preference 'mail.' in MX RDATA (0..65535)");
	fails(state, "x. MX -1 mail.",
	      "bad preference '-1' in MX RDATA (0..65535)");
	fails(state, "x. MX 10", "missing exchange in MX RDATA");
	fails(state, "x. MX", "missing preference in MX RDATA");
}

static void
test_rrtext_srv(void **state)
{
	static const uint8_t rdata[] = {
	    0x00, 0x0a,                      /* PRIORITY 10 */
	    0x00, 0x14,                      /* WEIGHT 20 */
	    0x13, 0xc4,                      /* PORT 5060 */
	    3,    's',  'i', 'p', 1, 'x', 0, /* TARGET sip.x. */
	};

	assert_rdata(ok(state, "_sip._tcp.x. 60 IN SRV 10 20 5060 sip.x."),
	             DNS_TYPE_SRV, rdata, sizeof(rdata));
	fails(state, "x. SRV 10 20 70000 sip.x.",
	      "bad port '70000' in SRV RDATA (0..65535)");
	fails(state, "x. SRV 10 20 5060", "missing target in SRV RDATA");
	fails(state, "x. SRV 10", "missing weight in SRV RDATA");
}

/* ns.x. host.x. 2024010101 3600 900 604800 86400 */
static const uint8_t soa_rdata[] = {
    2,    'n',  's',  1,    'x', 0,         /* MNAME ns.x. */
    4,    'h',  'o',  's',  't', 1, 'x', 0, /* RNAME host.x. */
    0x78, 0xa3, 0xf1, 0x75,                 /* SERIAL 2024010101 */
    0x00, 0x00, 0x0e, 0x10,                 /* REFRESH 3600 */
    0x00, 0x00, 0x03, 0x84,                 /* RETRY 900 */
    0x00, 0x09, 0x3a, 0x80,                 /* EXPIRE 604800 */
    0x00, 0x01, 0x51, 0x80,                 /* MINIMUM 86400 */
};

static void
test_rrtext_soa_numbers_and_units(void **state)
{
	assert_rdata(ok(state, "x. SOA ns.x. host.x. 2024010101 3600 900 "
	                       "604800 86400"),
	             DNS_TYPE_SOA, soa_rdata, sizeof(soa_rdata));
	assert_rdata(ok(state, "x. 1d IN SOA ns.x. host.x. 2024010101 1h 15m "
	                       "1w 1d"),
	             DNS_TYPE_SOA, soa_rdata, sizeof(soa_rdata));
	/* RFC 1035 5.1 parentheses, here within one line. */
	assert_rdata(ok(state, "x. SOA ns.x. host.x. ( 2024010101 1h 15m 1w "
	                       "1d ) ; comment"),
	             DNS_TYPE_SOA, soa_rdata, sizeof(soa_rdata));
	assert_int_equal(
	    ok(state, "x. SOA ns host 4294967295 0 0 0 0")->rdlength,
	    4 + 6 + 20); /* "ns." "host." and 5 x 32 bits */
}

static void
test_rrtext_soa_errors(void **state)
{
	fails(state, "x. SOA ns.x. host.x. 1 2 3 4",
	      "missing minimum in SOA RDATA");
	fails(state, "x. SOA ns.x.", "missing RNAME in SOA RDATA");
	fails(state, "x. SOA ns.x. host.x. 1h 2 3 4 5",
	      "bad serial '1h' in SOA RDATA (0..4294967295)");
	fails(state, "x. SOA ns.x. host.x. 4294967296 2 3 4 5",
	      "bad serial '4294967296' in SOA RDATA (0..4294967295)");
	fails(state, "x. SOA ns.x. host.x. 1 2 3x 4 5",
	      "bad retry '3x' in SOA RDATA");
	fails(state, "x. SOA ns..x. host.x. 1 2 3 4 5",
	      "bad MNAME 'ns..x.' in SOA RDATA");
	fails(state, "x. SOA ns.x. host.x. 1 2 3 4 5 6",
	      "trailing junk '6' after SOA RDATA");
}

static void
test_rrtext_txt_strings_and_escapes(void **state)
{
	static const uint8_t two[] = {5, 'h', 'e', 'l', 'l', 'o', /* "hello" */
	                              5, 'w', 'o', 'r', 'l', 'd'};
	static const uint8_t quoted[] = {11,  'a',  ' ', '"', 'b', '"',
	                                 ' ', '\\', 'A', ';', '(', 'c'};
	static const uint8_t empty[] = {0};
	static const uint8_t bytes[] = {3, 0, 255, 'z'};

	assert_rdata(ok(state, "x. TXT hello world"), DNS_TYPE_TXT, two,
	             sizeof(two));
	assert_rdata(ok(state, "x. TXT \"hello\" \"world\""), DNS_TYPE_TXT, two,
	             sizeof(two));
	assert_rdata(ok(state, "x. TXT \"hello\"world"), DNS_TYPE_TXT, two,
	             sizeof(two));
	/* \" \\ \065 inside quotes; ';' and '(' are plain text there. */
	assert_rdata(ok(state, "x. TXT \"a \\\"b\\\" \\\\\\065;(c\""),
	             DNS_TYPE_TXT, quoted, sizeof(quoted));
	assert_rdata(ok(state, "x. TXT \"\""), DNS_TYPE_TXT, empty,
	             sizeof(empty));
	assert_rdata(ok(state, "x. TXT \\000\\255z"), DNS_TYPE_TXT, bytes,
	             sizeof(bytes));
}

static void
test_rrtext_txt_length_limits(void **state)
{
	char line[400], *big;
	size_t i, n;

	/* 255 bytes fit in one <character-string>; 256 do not. */
	n = (size_t)snprintf(line, sizeof(line), "x. TXT \"");
	memset(line + n, 'a', 255);
	memcpy(line + n + 255, "\"", 2);
	assert_int_equal(ok(state, line)->rdlength, 256);
	memcpy(line + n + 255, "a\"", 3);
	fails(state, line,
	      "TXT string longer than 255 bytes: "
	      "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
	/* Escapes count as the byte they stand for. */
	n = (size_t)snprintf(line, sizeof(line), "x. TXT ");
	for (i = 0; i < 64; i++)
		memcpy(line + n + 4 * i, "\\065", 4);
	line[n + 4 * 64] = '\0';
	assert_int_equal(ok(state, line)->rdlength, 65);

	/* 258 strings of 255 bytes: 66048 bytes of RDATA, over 65535. */
	big = malloc(258 * 256 + 16);
	assert_non_null(big);
	n = (size_t)sprintf(big, "x. TXT");
	for (i = 0; i < 258; i++) {
		big[n++] = ' ';
		memset(big + n, 'b', 255);
		n += 255;
	}
	big[n] = '\0';
	fails(state, big, "TXT RDATA longer than 65535 bytes");
	free(big);
}

static void
test_rrtext_txt_errors(void **state)
{
	fails(state, "x. TXT", "missing text in TXT RDATA");
	fails(state, "x. TXT ; only a comment", "missing text in TXT RDATA");
	fails(state, "x. TXT \"abc", "unterminated quoted string");
	fails(state, "x. TXT \"abc\\\"", "unterminated quoted string");
	fails(state, "x. TXT \\25", "bad escape in '\\25'");
	fails(state, "x. TXT \\256", "bad escape in '\\256'");
	fails(state, "x. TXT \"a\\2b\"", "bad escape in 'a\\2b'");
	fails(state, "x. TXT abc\\", "bad escape in 'abc\\'");
}

static void
test_rrtext_caa(void **state)
{
	static const uint8_t rdata[] = {
	    0,                                                /* flags */
	    5,   'i', 's', 's', 'u', 'e',                     /* tag "issue" */
	    'c', 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', /* value */
	};
	static const uint8_t crit[] = {128, 3,   't', 'a', 'g',
	                               'a', ' ', 'b', '"'};

	assert_rdata(ok(state, "x. CAA 0 issue \"ca.example\""), TYPE_CAA,
	             rdata, sizeof(rdata));
	assert_rdata(ok(state, "x. CAA 0 issue ca.example"), TYPE_CAA, rdata,
	             sizeof(rdata));
	assert_rdata(ok(state, "x. CAA 128 tag \"a b\\\"\""), TYPE_CAA, crit,
	             sizeof(crit));
	fails(state, "x. CAA 0 is-sue \"ca.example\"",
	      "bad CAA tag 'is-sue' (letters and digits, RFC 8659 4.1.1)");
	fails(state, "x. CAA 256 issue \"ca.example\"",
	      "bad flags '256' in CAA RDATA (0..255)");
	fails(state, "x. CAA 0 issue", "missing value in CAA RDATA");
	fails(state, "x. CAA 0 \"issue\" x", "tag 'issue' must not be quoted");
	fails(state, "x. CAA 0 issue a b", "trailing junk 'b' after CAA RDATA");
}

static void
test_rrtext_generic_rfc3597(void **state)
{
	static const uint8_t three[] = {0xab, 0xcd, 0xef};
	static const uint8_t a[] = {10, 0, 0, 1};
	struct dns_rr_text *rr;

	assert_rdata(ok(state, "x. TYPE65280 \\# 3 abcdef"), 65280, three,
	             sizeof(three));
	assert_rdata(ok(state, "x. TYPE65280 \\# 3 AB cD eF"), 65280, three,
	             sizeof(three));
	rr = ok(state, "x. TYPE65280 \\# 0");
	assert_int_equal(rr->type, 65280);
	assert_int_equal(rr->rdlength, 0);
	/* A known type in generic form is checked like its text form. */
	assert_rdata(ok(state, "x. A \\# 4 0a000001"), DNS_TYPE_A, a,
	             sizeof(a));
	assert_rdata(ok(state, "x. TYPE1 \\# 4 0a00 0001"), DNS_TYPE_A, a,
	             sizeof(a));
	/* A mnemonic without a text parser here. */
	assert_int_equal(ok(state, "x. HINFO \\# 4 01610162")->type, 13);
}

static void
test_rrtext_generic_errors(void **state)
{
	fails(state, "x. TYPE65280 \\# 3 abcd",
	      "\\# RDATA length 3 but 2 bytes of hex");
	fails(state, "x. TYPE65280 \\# 1 abcd",
	      "\\# RDATA length 1 but 2 bytes of hex");
	fails(state, "x. TYPE65280 \\# 2 abc",
	      "odd number of hex digits in \\# RDATA");
	fails(state, "x. TYPE65280 \\# 1 zz", "bad hex 'zz' in \\# RDATA");
	fails(state, "x. TYPE65280 \\# 1 \"ab\"",
	      "bad hex \"ab\" in \\# RDATA");
	fails(state, "x. TYPE65280 \\# 65536",
	      "bad \\# length '65536' in TYPE65280 RDATA (0..65535)");
	fails(state, "x. TYPE65280 \\#",
	      "missing \\# length in TYPE65280 RDATA");
	fails(state, "x. A \\# 3 0a0000", "\\# RDATA is not valid A RDATA");
	/* A compression pointer in CNAME RDATA (RFC 3597 4). */
	fails(state, "x. CNAME \\# 4 0178c000",
	      "\\# RDATA is not valid CNAME RDATA");
	fails(state, "x. HINFO cpu os",
	      "type HINFO has no text form here; write it as \\# LEN HEX "
	      "(RFC 3597 5)");
	fails(state, "x. TYPE65280 abcdef",
	      "type TYPE65280 has no text form here; write it as \\# LEN HEX "
	      "(RFC 3597 5)");
}

static void
test_rrtext_unknown_and_meta_types(void **state)
{
	fails(state, "x. AAA 10.0.0.1", "unknown type 'AAA'");
	fails(state, "x. 300 IN FOO bar", "unknown type 'FOO'");
	fails(state, "x. TYPE65536 \\# 0", "unknown type 'TYPE65536'");
	fails(state, "x. averyveryverylongtypename 1",
	      "unknown type 'averyveryverylongtypename'");
	fails(state, "x. ANY 10.0.0.1",
	      "type ANY is not a data type (RFC 6895 3.1)");
	fails(state, "x. AXFR", "type AXFR is not a data type (RFC 6895 3.1)");
	fails(state, "x. OPT \\# 0",
	      "type OPT is not a data type (RFC 6895 3.1)");
	fails(state, "x. TYPE0 \\# 0",
	      "type TYPE0 is not a data type (RFC 6895 3.1)");
	fails(state, "x. TYPE128 \\# 0",
	      "type TYPE128 is not a data type (RFC 6895 3.1)");
}

static void
test_rrtext_bad_names(void **state)
{
	char line[600];

	fails(state, "a..b. A 10.0.0.1", "bad owner name 'a..b.'");
	fails(state, "\"x.\" A 10.0.0.1", "bad owner name 'x.'");
	fails(state, "x. CNAME a..b.",
	      "bad domain name 'a..b.' in CNAME RDATA");
	fails(state, "x. NS \\999.", "bad domain name '\\999.' in NS RDATA");
	/* A 64-byte label. */
	(void)snprintf(line, sizeof(line), "%064d. A 10.0.0.1", 0);
	fails(state, line,
	      "bad owner name '0000000000000000000000000000000000000000...'");
	/* 5 x 63-byte labels: over 255 bytes. */
	(void)snprintf(line, sizeof(line),
	               "x. PTR %063d.%063d.%063d.%063d.%063d.", 1, 2, 3, 4, 5);
	fails(state, line,
	      "bad domain name '0000000000000000000000000000000000000000...' "
	      "in PTR RDATA");
}

static void
test_rrtext_missing_fields_and_junk(void **state)
{
	fails(state, "",
	      "empty record: expected OWNER [TTL] [CLASS] TYPE RDATA");
	fails(state, "   ; comment",
	      "empty record: expected OWNER [TTL] [CLASS] TYPE RDATA");
	fails(state, "x.", "missing type");
	fails(state, "x. 300 IN", "missing type");
	fails(state, "x. A", "missing address in A RDATA");
	fails(state, "x. CNAME", "missing domain name in CNAME RDATA");
	fails(state, "x. A 10.0.0.1 10.0.0.2",
	      "trailing junk '10.0.0.2' after A RDATA");
	fails(state, "x. A 10.0.0.1 \"junk\"",
	      "trailing junk 'junk' after A RDATA");
	fails(state, "x. \"300\" A 10.0.0.1",
	      "unexpected quoted string '300' before the type");
	/* A comment ends the line. */
	assert_int_equal(ok(state, "x. A 10.0.0.1 ; a comment")->rdlength, 4);
	assert_int_equal(ok(state, "x. A 10.0.0.1;comment")->rdlength, 4);
}

static void
test_rrtext_parentheses_must_balance(void **state)
{
	fails(state, "x. A ( 10.0.0.1", "unbalanced '('");
	fails(state, "x. A 10.0.0.1 )", "unbalanced ')'");
	fails(state, "x. ) A 10.0.0.1", "unbalanced ')'");
	fails(state, "x. MX ( 10 mail. ; )", "unbalanced '('");
	assert_int_equal(ok(state, "x. MX ( 10 ( mail. ) )")->rdlength, 8);
}

static void
test_rrtext_err_buffer_is_optional_and_truncated(void **state)
{
	char err[8];

	assert_int_equal(dns_rr_from_text("x. AAA", NULL, 0, *state, NULL, 0),
	                 -1);
	assert_int_equal(dns_rr_from_text("x. AAA", NULL, 0, *state, err, 0),
	                 -1);
	assert_int_equal(
	    dns_rr_from_text("x. AAA", NULL, 0, *state, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown");
}

static void
test_rrtext_rdata_check(void **state)
{
	static const uint8_t name_ok[] = {1, 'a', 0};
	static const uint8_t name_ptr[] = {1, 'a', 0xc0, 0x00};
	static const uint8_t name_short[] = {3, 'a', 'b'};
	static const uint8_t name_extra[] = {1, 'a', 0, 0};
	static const uint8_t label64[] = {64};
	static const uint8_t mx_ok[] = {0, 1, 1, 'a', 0};
	static const uint8_t txt_ok[] = {1, 'a', 0};
	static const uint8_t txt_short[] = {2, 'a'};
	static const uint8_t caa_ok[] = {0, 1, 'a', 'v'};
	static const uint8_t caa_notag[] = {0, 0, 'v'};
	static const uint8_t caa_badtag[] = {0, 1, '-'};

	(void)state;
	assert_int_equal(dns_rdata_check(DNS_TYPE_A, soa_rdata, 4), 0);
	assert_int_equal(dns_rdata_check(DNS_TYPE_A, soa_rdata, 5), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_AAAA, soa_rdata, 16), 0);
	assert_int_equal(dns_rdata_check(DNS_TYPE_AAAA, soa_rdata, 4), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_CNAME, name_ok, 3), 0);
	assert_int_equal(dns_rdata_check(DNS_TYPE_NS, name_ptr, 4), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_PTR, name_short, 3), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_PTR, name_extra, 4), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_PTR, label64, 1), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_PTR, NULL, 0), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_MX, mx_ok, 5), 0);
	assert_int_equal(dns_rdata_check(DNS_TYPE_MX, mx_ok, 4), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_SRV, mx_ok, 5), -1);
	assert_int_equal(
	    dns_rdata_check(DNS_TYPE_SOA, soa_rdata, sizeof(soa_rdata)), 0);
	assert_int_equal(
	    dns_rdata_check(DNS_TYPE_SOA, soa_rdata, sizeof(soa_rdata) - 1),
	    -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_TXT, txt_ok, 3), 0);
	assert_int_equal(dns_rdata_check(DNS_TYPE_TXT, txt_short, 2), -1);
	assert_int_equal(dns_rdata_check(DNS_TYPE_TXT, NULL, 0), -1);
	assert_int_equal(dns_rdata_check(TYPE_CAA, caa_ok, 4), 0);
	assert_int_equal(dns_rdata_check(TYPE_CAA, caa_notag, 3), -1);
	assert_int_equal(dns_rdata_check(TYPE_CAA, caa_badtag, 3), -1);
	/* Types without a format here: anything goes. */
	assert_int_equal(dns_rdata_check(65280, NULL, 0), 0);
}

/* text -> RR -> text gives want, and want parses to the same RDATA. */
static void
round_trip(void **state, const char *text, const char *want)
{
	struct dns_rr_text *rr = ok(state, text);
	uint8_t rdata[512];
	uint16_t len = rr->rdlength, type = rr->type;
	char out[1024];

	assert_true(len <= sizeof(rdata));
	memcpy(rdata, rr->rdata, len);
	assert_int_equal(dns_rr_to_text(rr->owner, rr->type, rr->ttl, rr->rdata,
	                                rr->rdlength, out, sizeof(out)),
	                 (int)strlen(want));
	assert_string_equal(out, want);
	rr = ok(state, out);
	assert_rdata(rr, type, rdata, len);
}

static void
test_rrtext_to_text_round_trips(void **state)
{
	round_trip(state, "www.x 300 IN A 192.0.2.1",
	           "www.x. 300 IN A 192.0.2.1");
	round_trip(state, "x. AAAA 2001:DB8:0::1",
	           "x. 3600 IN AAAA 2001:db8::1");
	round_trip(state, "x. CNAME Target.x.", "x. 3600 IN CNAME Target.x.");
	round_trip(state, "x. NS ns.x.", "x. 3600 IN NS ns.x.");
	round_trip(state, "x. PTR a\\.b.x.", "x. 3600 IN PTR a\\.b.x.");
	round_trip(state, "x. MX 10 mail.x.", "x. 3600 IN MX 10 mail.x.");
	round_trip(state, "x. SRV 1 2 3 t.x.", "x. 3600 IN SRV 1 2 3 t.x.");
	round_trip(state, "x. SOA ns.x. host.x. 1 1h 15m 1w 1d",
	           "x. 3600 IN SOA ns.x. host.x. 1 3600 900 604800 86400");
	round_trip(state, "x. TXT a \"b c\" \"\\\"\\\\\" \\009\\200",
	           "x. 3600 IN TXT \"a\" \"b c\" \"\\\"\\\\\" \"\\009\\200\"");
	round_trip(state, "x. CAA 0 issue \"ca.x\"",
	           "x. 3600 IN CAA 0 issue \"ca.x\"");
	round_trip(state, "x. TYPE65280 \\# 2 abcd",
	           "x. 3600 IN TYPE65280 \\# 2 ABCD");
	round_trip(state, "x. TYPE65280 \\# 0", "x. 3600 IN TYPE65280 \\# 0");
	round_trip(state, "x. HINFO \\# 4 01610162",
	           "x. 3600 IN HINFO \\# 4 01610162");
}

static void
test_rrtext_rdata_to_text_malformed_is_generic(void **state)
{
	static const uint8_t three[] = {10, 0, 0};
	static const uint8_t ptr[] = {1, 'a', 0xc0, 0x00};
	char out[64];

	(void)state;
	assert_int_equal(dns_rdata_to_text(DNS_TYPE_A, three, sizeof(three),
	                                   out, sizeof(out)),
	                 11);
	assert_string_equal(out, "\\# 3 0A0000");
	assert_int_equal(dns_rdata_to_text(DNS_TYPE_CNAME, ptr, sizeof(ptr),
	                                   out, sizeof(out)),
	                 13);
	assert_string_equal(out, "\\# 4 0161C000");
}

static void
test_rrtext_to_text_cap_too_small(void **state)
{
	static const uint8_t mx[] = {0, 10, 4, 'm', 'a', 'i', 'l', 1, 'x', 0};
	char out[8];

	(void)state;
	assert_int_equal(dns_rdata_to_text(DNS_TYPE_MX, mx, sizeof(mx), out, 0),
	                 -1);
	/* "10 mail.x." needs 11 bytes with the NUL. */
	assert_int_equal(
	    dns_rdata_to_text(DNS_TYPE_MX, mx, sizeof(mx), out, sizeof(out)),
	    -1);
	assert_true(strlen(out) < sizeof(out));
	assert_int_equal(dns_rr_to_text(name_x, DNS_TYPE_MX, 1, mx, sizeof(mx),
	                                out, sizeof(out)),
	                 -1);
	assert_true(strlen(out) < sizeof(out));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rrtext_a_full_line),
	    cmocka_unit_test(test_rrtext_ttl_and_class_in_any_order),
	    cmocka_unit_test(test_rrtext_default_ttl_is_the_callers),
	    cmocka_unit_test(test_rrtext_ttl_units),
	    cmocka_unit_test(test_rrtext_ttl_from_text),
	    cmocka_unit_test(test_rrtext_ttl_errors),
	    cmocka_unit_test(test_rrtext_class_other_than_in_rejected),
	    cmocka_unit_test(test_rrtext_owner_relative_and_origin),
	    cmocka_unit_test(test_rrtext_aaaa),
	    cmocka_unit_test(test_rrtext_bad_addresses),
	    cmocka_unit_test(test_rrtext_name_types),
	    cmocka_unit_test(test_rrtext_mx),
	    cmocka_unit_test(test_rrtext_srv),
	    cmocka_unit_test(test_rrtext_soa_numbers_and_units),
	    cmocka_unit_test(test_rrtext_soa_errors),
	    cmocka_unit_test(test_rrtext_txt_strings_and_escapes),
	    cmocka_unit_test(test_rrtext_txt_length_limits),
	    cmocka_unit_test(test_rrtext_txt_errors),
	    cmocka_unit_test(test_rrtext_caa),
	    cmocka_unit_test(test_rrtext_generic_rfc3597),
	    cmocka_unit_test(test_rrtext_generic_errors),
	    cmocka_unit_test(test_rrtext_unknown_and_meta_types),
	    cmocka_unit_test(test_rrtext_bad_names),
	    cmocka_unit_test(test_rrtext_missing_fields_and_junk),
	    cmocka_unit_test(test_rrtext_parentheses_must_balance),
	    cmocka_unit_test(test_rrtext_err_buffer_is_optional_and_truncated),
	    cmocka_unit_test(test_rrtext_rdata_check),
	    cmocka_unit_test(test_rrtext_to_text_round_trips),
	    cmocka_unit_test(test_rrtext_rdata_to_text_malformed_is_generic),
	    cmocka_unit_test(test_rrtext_to_text_cap_too_small),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
