/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_ttl.c — the freshness lifetime of a response
 * (dns_response_max_age): positive, negative (RFC 2308 5) and mixed
 * answers, the responses that have none, and malformed ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/ttl.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Packets are laid out one field per line. */
/* clang-format off */

/* Header with ID 0 (RFC 1035 4.1.1): ID, flags, QD, AN, NS, AR. */
#define HDR(flags, qd, an, ns, ar) \
	0x00, 0x00, flags, 0, qd, 0, an, 0, ns, 0, ar

/* Flags, two bytes; then QR, RD, RA with an RCODE. */
#define FL(hi, lo) hi, lo
#define NOERROR    FL(0x81, 0x80)
#define NXDOMAIN   FL(0x81, 0x83)
#define SERVFAIL   FL(0x81, 0x82)
#define REFUSED    FL(0x81, 0x85)

/* QNAME "example.com", QTYPE A, QCLASS IN: offsets 12..28. */
#define QUESTION                                                   \
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, \
	    0x00, 0x01, /* QTYPE A */                              \
	    0x00, 0x01  /* QCLASS IN */

/* 32-bit TTL, big-endian. */
#define TTL(t) \
	(uint8_t)((t) >> 24), (uint8_t)((t) >> 16), (uint8_t)((t) >> 8), \
	    (uint8_t)(t)

/* An A RR for the QNAME (pointer to offset 12) with TTL t: 16 bytes. */
#define RR_A(t)                                            \
	0xc0, 0x0c,     /* owner: pointer to the QNAME */  \
	    0x00, 0x01, /* TYPE A */                       \
	    0x00, 0x01, /* CLASS IN */                     \
	    TTL(t),                                        \
	    0x00, 0x04, /* RDLENGTH 4 */                   \
	    192, 0, 2, 1

/* A CNAME from the QNAME to "a.example.com" (compressed): 16 bytes. */
#define RR_CNAME(t)                                        \
	0xc0, 0x0c,     /* owner: pointer to the QNAME */  \
	    0x00, 0x05, /* TYPE CNAME */                   \
	    0x00, 0x01, /* CLASS IN */                     \
	    TTL(t),                                        \
	    0x00, 0x04, /* RDLENGTH 4 */                   \
	    1, 'a', 0xc0, 0x0c /* a + pointer to QNAME */

/*
 * The zone's SOA, owner the QNAME, MNAME "ns" + QNAME, RNAME
 * "h" + QNAME (both compressed), then SERIAL, REFRESH, RETRY, EXPIRE,
 * MINIMUM: 41 bytes.
 */
#define RR_SOA(t, minimum)                                      \
	0xc0, 0x0c,     /* owner: pointer to the QNAME */       \
	    0x00, 0x06, /* TYPE SOA */                          \
	    0x00, 0x01, /* CLASS IN */                          \
	    TTL(t),                                             \
	    0x00, 0x1d, /* RDLENGTH 29 */                       \
	    2, 'n', 's', 0xc0, 0x0c, /* MNAME ns.example.com */ \
	    1, 'h', 0xc0, 0x0c,      /* RNAME h.example.com */  \
	    TTL(2024010101),         /* SERIAL */               \
	    TTL(7200),               /* REFRESH */              \
	    TTL(3600),               /* RETRY */                \
	    TTL(1209600),            /* EXPIRE */               \
	    TTL(minimum)             /* MINIMUM */

/* An NS RR for the QNAME to "ns" + QNAME: 17 bytes. */
#define RR_NS(t)                                           \
	0xc0, 0x0c,     /* owner: pointer to the QNAME */  \
	    0x00, 0x02, /* TYPE NS */                      \
	    0x00, 0x01, /* CLASS IN */                     \
	    TTL(t),                                        \
	    0x00, 0x05, /* RDLENGTH 5 */                   \
	    2, 'n', 's', 0xc0, 0x0c

/* OPT RR, UDP 1232, DO set: its "TTL" field is 0x00008000. */
#define RR_OPT                            \
	0x00,           /* owner: root */ \
	    0x00, 0x29, /* TYPE OPT */    \
	    0x04, 0xd0, /* UDP 1232 */    \
	    0x00, 0x00, 0x80, 0x00,       \
	    0x00, 0x00 /* RDLENGTH 0 */

static const uint8_t positive[] = {
	HDR(NOERROR, 1, 3, 0, 1),
	QUESTION,
	RR_A(300),
	RR_A(30), /* the smallest */
	RR_A(600),
	RR_OPT,   /* not a record with a TTL */
};

static const uint8_t positive_with_ns[] = {
	HDR(NOERROR, 1, 1, 1, 0),
	QUESTION,
	RR_A(3600),
	RR_NS(5), /* authority records other than SOA do not count */
};

static const uint8_t nxdomain[] = {
	HDR(NXDOMAIN, 1, 0, 1, 1),
	QUESTION,
	RR_SOA(3600, 900), /* negative TTL: MINIMUM 900 */
	RR_OPT,
};

static const uint8_t nxdomain_low_soa_ttl[] = {
	HDR(NXDOMAIN, 1, 0, 1, 0),
	QUESTION,
	RR_SOA(60, 900), /* negative TTL: the SOA's own TTL 60 */
};

static const uint8_t nodata[] = {
	HDR(NOERROR, 1, 0, 2, 0),
	QUESTION,
	RR_NS(10),        /* not an SOA: skipped */
	RR_SOA(300, 120), /* 120 */
};

static const uint8_t cname_to_nxdomain[] = {
	HDR(NXDOMAIN, 1, 1, 1, 0),
	QUESTION,
	RR_CNAME(1800),
	RR_SOA(3600, 600), /* the negative part: 600 */
};

static const uint8_t cname_short_to_nodata[] = {
	HDR(NOERROR, 1, 1, 1, 0),
	QUESTION,
	RR_CNAME(20), /* shorter than the negative TTL */
	RR_SOA(3600, 600),
};

static const uint8_t top_bit_ttl[] = {
	HDR(NOERROR, 1, 2, 0, 0),
	QUESTION,
	RR_A(300),
	RR_A(0x80000001u), /* RFC 2181 8: taken as 0 */
};

static const uint8_t max_ttl[] = {
	HDR(NOERROR, 1, 1, 0, 0),
	QUESTION,
	RR_A(0x7fffffffu),
};

static const uint8_t no_question[] = {
	HDR(NOERROR, 0, 1, 0, 0), /* QDCOUNT 0: still has a lifetime */
	0x00,                     /* owner: root */
	0x00, 0x01, 0x00, 0x01,   /* A IN */
	TTL(42),
	0x00, 0x04, 192, 0, 2, 1,
};

/* ---- responses without a lifetime ---- */

static const uint8_t nodata_without_soa[] = {
	HDR(NOERROR, 1, 0, 0, 0),
	QUESTION,
};

static const uint8_t nxdomain_without_soa[] = {
	HDR(NXDOMAIN, 1, 0, 1, 0),
	QUESTION,
	RR_NS(300),
};

static const uint8_t servfail[] = {
	HDR(SERVFAIL, 1, 0, 1, 0),
	QUESTION,
	RR_SOA(300, 300),
};

static const uint8_t refused_with_answer[] = {
	HDR(REFUSED, 1, 1, 0, 0),
	QUESTION,
	RR_A(300),
};

static const uint8_t truncated_tc[] = {
	HDR(FL(0x83, 0x80), 1, 1, 0, 0), /* QR, TC, RD, RA */
	QUESTION,
	RR_A(300),
};

static const uint8_t query_not_response[] = {
	HDR(FL(0x01, 0x00), 1, 1, 0, 0), /* QR=0 */
	QUESTION,
	RR_A(300),
};

/* ---- malformed ---- */

static const uint8_t m_short_header[] = {
	0x00, 0x00, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
};

static const uint8_t m_ancount_too_big[] = {
	HDR(NOERROR, 1, 2, 0, 0), /* two answers announced */
	QUESTION,
	RR_A(300), /* one present */
};

static const uint8_t m_rdata_short[] = {
	HDR(NOERROR, 1, 1, 0, 0),
	QUESTION,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, TTL(300),
	0x00, 0x04, /* RDLENGTH 4 */
	192, 0,     /* two bytes only */
};

static const uint8_t m_pointer_loop[] = {
	HDR(NOERROR, 1, 1, 0, 0),
	QUESTION,
	0xc0, 29, /* 29: owner pointing at itself */
	0x00, 0x01, 0x00, 0x01, TTL(300),
	0x00, 0x04, 192, 0, 2, 1,
};

static const uint8_t m_pointer_forward[] = {
	HDR(NOERROR, 1, 1, 0, 0),
	QUESTION,
	0xc0, 45, /* 29: owner pointing past itself */
	0x00, 0x01, 0x00, 0x01, TTL(300),
	0x00, 0x04, 192, 0, 2, 1,
	0x00, /* 45: the root */
};

static const uint8_t m_label64[] = {
	HDR(NOERROR, 1, 0, 0, 0),
	64, 'x', 'x', 'x', 'x', 'x', 'x', 'x', /* label type 01 */
	0, 0x00, 0x01, 0x00, 0x01,
};

static const uint8_t m_question_short[] = {
	HDR(NOERROR, 1, 0, 0, 0),
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x01, /* QTYPE, then no QCLASS */
};

static const uint8_t m_soa_rdata_short[] = {
	HDR(NXDOMAIN, 1, 0, 1, 0),
	QUESTION,
	0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, TTL(300),
	0x00, 0x10, /* RDLENGTH 16: two names and three numbers */
	0xc0, 0x0c, /* MNAME */
	0xc0, 0x0c, /* RNAME */
	TTL(1), TTL(2), TTL(3), /* ... there should be five */
};

static const uint8_t m_soa_rdata_long[] = {
	HDR(NXDOMAIN, 1, 0, 1, 0),
	QUESTION,
	0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, TTL(300),
	0x00, 0x19, /* RDLENGTH 25: one byte too many */
	0xc0, 0x0c, /* MNAME */
	0xc0, 0x0c, /* RNAME */
	TTL(1), TTL(2), TTL(3), TTL(4), TTL(5),
	0x00,
};

/* clang-format on */

struct case_ {
	const char *name;
	const uint8_t *msg;
	size_t len;
	bool ok;
	uint32_t ttl;
};

/* One row: the message's name, the message, the expected result. */
#define CASE(m, ok, ttl) #m, m, sizeof(m), ok, ttl

static void
run_cases(const struct case_ *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t ttl = 0xdeadbeef;
		bool ok = dns_response_max_age(c[i].msg, c[i].len, &ttl);

		if (ok != c[i].ok || (ok && ttl != c[i].ttl))
			fail_msg("%s: got %d/%u, want %d/%u", c[i].name, ok,
			         ttl, c[i].ok, c[i].ttl);
		if (!ok && ttl != 0xdeadbeef)
			fail_msg("%s: ttl written on failure", c[i].name);
	}
}

static void
test_ttl_positive_smallest_answer(void **state)
{
	const struct case_ c[] = {
	    {CASE(positive, true, 30)},    {CASE(positive_with_ns, true, 3600)},
	    {CASE(top_bit_ttl, true, 0)},  {CASE(max_ttl, true, 0x7fffffffu)},
	    {CASE(no_question, true, 42)},
	};

	run_cases(c, ARRAY_LEN(c));
}

static void
test_ttl_negative_soa(void **state)
{
	const struct case_ c[] = {
	    {CASE(nxdomain, true, 900)},
	    {CASE(nxdomain_low_soa_ttl, true, 60)},
	    {CASE(nodata, true, 120)},
	};

	run_cases(c, ARRAY_LEN(c));
}

static void
test_ttl_cname_chain_to_negative(void **state)
{
	const struct case_ c[] = {
	    {CASE(cname_to_nxdomain, true, 600)},
	    {CASE(cname_short_to_nodata, true, 20)},
	};

	run_cases(c, ARRAY_LEN(c));
}

static void
test_ttl_none(void **state)
{
	const struct case_ c[] = {
	    {CASE(nodata_without_soa, false, 0)},
	    {CASE(nxdomain_without_soa, false, 0)},
	    {CASE(servfail, false, 0)},
	    {CASE(refused_with_answer, false, 0)},
	    {CASE(truncated_tc, false, 0)},
	    {CASE(query_not_response, false, 0)},
	};

	run_cases(c, ARRAY_LEN(c));
}

static void
test_ttl_malformed_table(void **state)
{
	const struct case_ c[] = {
	    {CASE(m_short_header, false, 0)},
	    {CASE(m_ancount_too_big, false, 0)},
	    {CASE(m_rdata_short, false, 0)},
	    {CASE(m_pointer_loop, false, 0)},
	    {CASE(m_pointer_forward, false, 0)},
	    {CASE(m_label64, false, 0)},
	    {CASE(m_question_short, false, 0)},
	    {CASE(m_soa_rdata_short, false, 0)},
	    {CASE(m_soa_rdata_long, false, 0)},
	};

	run_cases(c, ARRAY_LEN(c));
}

/* Every prefix of a good answer fails or gives the same lifetime: no
 * read goes past the length given. */
static void
test_ttl_every_truncation(void **state)
{
	const uint8_t *msgs[] = {positive, nxdomain, cname_to_nxdomain};
	const size_t lens[] = {sizeof(positive), sizeof(nxdomain),
	                       sizeof(cname_to_nxdomain)};

	for (size_t m = 0; m < ARRAY_LEN(msgs); m++) {
		uint32_t full, ttl;

		assert_true(dns_response_max_age(msgs[m], lens[m], &full));
		for (size_t n = 0; n < lens[m]; n++) {
			uint8_t copy[256];

			memcpy(copy, msgs[m], n);
			if (dns_response_max_age(copy, n, &ttl))
				assert_int_equal(ttl, full);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ttl_positive_smallest_answer),
	    cmocka_unit_test(test_ttl_negative_soa),
	    cmocka_unit_test(test_ttl_cname_chain_to_negative),
	    cmocka_unit_test(test_ttl_none),
	    cmocka_unit_test(test_ttl_malformed_table),
	    cmocka_unit_test(test_ttl_every_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
