/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_msg.c — query and response parsing, EDNS, and the
 * messages the proxy builds (errors, upstream queries, finished answers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/msg.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* clang-format off: packets are laid out one field per line. */

/* Header with ID 0x1234 (RFC 1035 4.1.1): ID, flags, QD, AN, NS, AR. */
#define HDR(flags_hi, flags_lo, qd, an, ns, ar) \
	0x12, 0x34, flags_hi, flags_lo, 0, qd, 0, an, 0, ns, 0, ar

/* QNAME "www.Example.com" (mixed case), QTYPE A, QCLASS IN: 21 bytes. */
#define QUESTION                                                             \
	3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', \
	    'm', 0,     /* QNAME */                                          \
	    0x00, 0x01, /* QTYPE A */                                        \
	    0x00, 0x01  /* QCLASS IN */

/*
 * OPT RR (RFC 6891 6.1.2): owner root, TYPE 41, CLASS = UDP size 4096,
 * TTL = EXTENDED-RCODE 0, VERSION ver, DO/Z, then RDLENGTH.
 */
#define OPT(ver, do_hi, rdlen)                          \
	0x00,            /* owner: root */              \
	    0x00, 0x29,  /* TYPE OPT */                 \
	    0x10, 0x00,  /* CLASS: UDP payload 4096 */  \
	    0x00, ver,   /* EXTENDED-RCODE, VERSION */  \
	    do_hi, 0x00, /* DO bit in the top bit, Z */ \
	    0x00, rdlen  /* RDLENGTH */

/* An A RR whose owner points at the QNAME (offset 12): 16 bytes. */
#define RR_A                                                      \
	0xc0, 0x0c,                 /* owner: pointer to QNAME */ \
	    0x00, 0x01,             /* TYPE A */                  \
	    0x00, 0x01,             /* CLASS IN */                \
	    0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */                \
	    0x00, 0x04,             /* RDLENGTH 4 */              \
	    192, 0, 2, 1            /* 192.0.2.1 */

/* 16 bytes of label data, and a whole 63-byte label. */
#define X16                                                                   \
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', \
	    'x', 'x'
#define L63                                                                  \
	63, X16, X16, X16, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', \
	    'x', 'x', 'x', 'x', 'x'

static const uint8_t qname_wire[] = {
    3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
};
#define QUESTION_END 33

/* A plain query: RD, www.Example.com A IN, no EDNS. */
static const uint8_t q_plain[] = {
    0x12,     0x34, /* ID */
    0x01,     0x00, /* QR=0, opcode QUERY, RD */
    0x00,     0x01, /* QDCOUNT 1 */
    0x00,     0x00, /* ANCOUNT 0 */
    0x00,     0x00, /* NSCOUNT 0 */
    0x00,     0x00, /* ARCOUNT 0 */
    QUESTION,
};

/* An EDNS query: RD, AD and CD, DO, a client cookie and an unknown option. */
static const uint8_t q_edns[] = {
    0x12,     0x34,                   /* ID */
    0x01,     0x30,                   /* RD, AD, CD */
    0x00,     0x01,                   /* QDCOUNT 1 */
    0x00,     0x00,                   /* ANCOUNT 0 */
    0x00,     0x00,                   /* NSCOUNT 0 */
    0x00,     0x01,                   /* ARCOUNT 1 */
    QUESTION,                         /* offsets 12..32 */
    0x00,                             /* 33: OPT owner root */
    0x00,     0x29,                   /* TYPE OPT */
    0x04,     0xd0,                   /* UDP payload 1232 */
    0x00,     0x00,                   /* EXTENDED-RCODE 0, VERSION 0 */
    0x80,     0x00,                   /* DO */
    0x00,     0x12,                   /* RDLENGTH 18 */
    0x00,     0x64,                   /* option 100 (unknown) */
    0x00,     0x02,                   /* length 2 */
    0xab,     0xcd,                   /* data */
    0x00,     0x0a,                   /* COOKIE */
    0x00,     0x08,                   /* length 8: client cookie only */
    1,        2,    3, 4, 5, 6, 7, 8, /* client cookie */
};

/* ---- malformed queries ------------------------------------------------ */

static const uint8_t m_short_header[] = {
    0x12, 0x34, /* ID */
    0x01, 0x00, /* flags */
    0x00, 0x01, /* QDCOUNT */
    0x00, 0x00, /* ANCOUNT */
    0x00, 0x00, /* NSCOUNT */
    0x00,       /* half an ARCOUNT */
};

static const uint8_t m_qr_set[] = {
    HDR(0x81, 0x00, 1, 0, 0, 0), /* QR=1: a response */
    QUESTION,
};

static const uint8_t m_opcode_status[] = {
    HDR(0x11, 0x00, 1, 0, 0, 0), /* opcode 2 (STATUS), RD */
    QUESTION,
};

static const uint8_t m_opcode_garbage[] = {
    HDR(0x28, 0x00, 1, 0, 0, 0), /* opcode 5 (UPDATE) */
    0x07, 0x01, 0x02,            /* a label running off the end */
};

static const uint8_t m_qdcount0[] = {
    HDR(0x01, 0x00, 0, 0, 0, 0), /* QDCOUNT 0 */
};

static const uint8_t m_qdcount2[] = {
    HDR(0x01, 0x00, 2, 0, 0, 0), /* QDCOUNT 2 */
    QUESTION,
    QUESTION,
};

static const uint8_t m_pointer_loop[] = {
    HDR(0x01, 0x00, 1, 0, 0, 0),
    0xc0,
    0x0c, /* QNAME: pointer to itself (offset 12) */
    0x00,
    0x01, /* QTYPE A */
    0x00,
    0x01, /* QCLASS IN */
};

static const uint8_t m_pointer_forward[] = {
    HDR(0x01, 0x00, 1, 1, 0, 0),
    0xc0,
    0x12, /* QNAME: pointer forward to 18 */
    0x00,
    0x01, /* QTYPE A */
    0x00,
    0x01, /* QCLASS IN */
    0x00, /* 18: answer owner, root */
    0x00,
    0x01, /* TYPE A */
    0x00,
    0x01, /* CLASS IN */
    0x00,
    0x00,
    0x00,
    0x00, /* TTL */
    0x00,
    0x04, /* RDLENGTH 4 */
    192,
    0,
    2,
    1, /* RDATA */
};

static const uint8_t m_label64[] = {
    HDR(0x01, 0x00, 1, 0, 0, 0),
    64,
    X16,
    X16,
    X16,
    X16, /* a 64-byte label: type bits 01 */
    0,   /* root */
    0x00,
    0x01, /* QTYPE A */
    0x00,
    0x01, /* QCLASS IN */
};

static const uint8_t m_name256[] = {
    HDR(0x01, 0x00, 1, 0, 0, 0),
    L63,
    L63,
    L63,
    L63, /* four 63-byte labels ... */
    0,   /* ... and the root: 257 bytes */
    0x00,
    0x01, /* QTYPE A */
    0x00,
    0x01, /* QCLASS IN */
};

static const uint8_t m_question_short[] = {
    HDR(0x01, 0x00, 1, 0, 0, 0),
    1,
    'a',
    0, /* QNAME a. */
    0x00,
    0x01, /* QTYPE A */
    0x00, /* half a QCLASS */
};

static const uint8_t m_answer_loop[] = {
    HDR(0x01, 0x00, 1, 1, 0, 0),
    QUESTION,
    0xc0,
    0x21, /* 33: answer owner: pointer to itself */
    0x00,
    0x01, /* TYPE A */
    0x00,
    0x01, /* CLASS IN */
    0x00,
    0x00,
    0x00,
    0x00, /* TTL */
    0x00,
    0x00, /* RDLENGTH 0 */
};

static const uint8_t m_two_opts[] = {
    HDR(0x01, 0x00, 1, 0, 0, 2), /* ARCOUNT 2 */
    QUESTION, OPT(0, 0x00, 0),   /* first OPT: valid */
    OPT(0, 0x00, 0),             /* second OPT: RFC 6891 6.1.1 FORMERR */
};

static const uint8_t m_opt_in_answer[] = {
    HDR(0x01, 0x00, 1, 1, 0, 0), /* ANCOUNT 1 */
    QUESTION, OPT(0, 0x00, 0),   /* OPT in the answer section */
};

static const uint8_t m_opt_in_authority[] = {
    HDR(0x01, 0x00, 1, 0, 1, 0), /* NSCOUNT 1 */
    QUESTION, OPT(0, 0x00, 0),   /* OPT in the authority section */
};

static const uint8_t m_opt_owner[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1),
    QUESTION,
    1,
    'a',
    0, /* owner "a.", not the root */
    0x00,
    0x29, /* TYPE OPT */
    0x10,
    0x00, /* UDP payload 4096 */
    0x00,
    0x00,
    0x00,
    0x00, /* TTL */
    0x00,
    0x00, /* RDLENGTH 0 */
};

static const uint8_t m_trailing[] = {
    HDR(0x01, 0x00, 1, 0, 0, 0), QUESTION,
    0x00, /* one byte no section accounts for */
};

/* RFC 7873 5.4: no question, a client cookie: a cookie query, not FORMERR. */
static const uint8_t m_qdcount0_cookie[] = {
    HDR(0x01, 0x00, 0, 0, 0, 1), /* QDCOUNT 0, ARCOUNT 1 */
    OPT(0, 0x00, 12),
    0x00,
    0x0a, /* COOKIE */
    0x00,
    0x08, /* length 8: client cookie only */
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, /* client cookie */
};

static const uint8_t m_cookie7[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1),
    QUESTION,
    OPT(0, 0x00, 11),
    0x00,
    0x0a, /* COOKIE */
    0x00,
    0x07, /* length 7 */
    1,
    2,
    3,
    4,
    5,
    6,
    7, /* a short client cookie */
};

static const uint8_t m_cookie9[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1),
    QUESTION,
    OPT(0, 0x00, 13),
    0x00,
    0x0a, /* COOKIE */
    0x00,
    0x09, /* length 9 */
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, /* client cookie */
    9, /* a 1-byte server cookie */
};

static const uint8_t m_cookie41[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1),
    QUESTION,
    OPT(0, 0x00, 45),
    0x00,
    0x0a, /* COOKIE */
    0x00,
    0x29, /* length 41 */
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, /* client cookie */
    X16,
    X16,
    9, /* a 33-byte server cookie */
};

static const uint8_t m_option_overrun[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1),
    QUESTION,
    OPT(0, 0x00, 6),
    0x00,
    0x64, /* option 100 */
    0x00,
    0x04, /* length 4, but 2 bytes of RDATA are left */
    0xaa,
    0xbb,
};

static const uint8_t m_option_header_short[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1),
    QUESTION,
    OPT(0, 0x00, 3),
    0x00,
    0x64, /* option 100 */
    0x00, /* half a length */
};

static const uint8_t m_rdlength_overrun[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1),
    QUESTION,
    OPT(0, 0x00, 10), /* RDLENGTH 10 ... */
    0x00,
    0x64, /* ... but the message ends after 2 */
};

static const uint8_t m_arcount_lies[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1), /* ARCOUNT 1, but no RR follows */
    QUESTION,
};

static const uint8_t m_badvers[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1), QUESTION, OPT(1, 0x80, 0), /* VERSION 1, DO */
};

static const uint8_t m_badvers_trailing[] = {
    HDR(0x01, 0x00, 1, 0, 0, 1), QUESTION, OPT(1, 0x00, 0), /* VERSION 1 ... */
    0xff, /* ... and junk: FORMERR wins */
};

struct malformed {
	const char *what;
	const uint8_t *pkt;
	size_t len;
	enum dns_parse_result want;
	bool question; /* qname filled for the error reply */
	bool edns;     /* edns filled for the error reply */
};

#define CASE(pkt, want, question, edns)                      \
	{                                                    \
#pkt, pkt, sizeof(pkt), want, question, edns \
	}

static const struct malformed malformed[] = {
    {"empty", q_plain, 0, DNS_PARSE_DROP, false, false},
    CASE(m_short_header, DNS_PARSE_DROP, false, false),
    CASE(m_qr_set, DNS_PARSE_DROP, false, false),
    CASE(m_opcode_status, DNS_PARSE_NOTIMP, true, false),
    CASE(m_opcode_garbage, DNS_PARSE_NOTIMP, false, false),
    CASE(m_qdcount0, DNS_PARSE_FORMERR, false, false),
    CASE(m_qdcount0_cookie, DNS_PARSE_OK, false, true),
    CASE(m_qdcount2, DNS_PARSE_FORMERR, false, false),
    CASE(m_pointer_loop, DNS_PARSE_FORMERR, false, false),
    CASE(m_pointer_forward, DNS_PARSE_FORMERR, false, false),
    CASE(m_label64, DNS_PARSE_FORMERR, false, false),
    CASE(m_name256, DNS_PARSE_FORMERR, false, false),
    CASE(m_question_short, DNS_PARSE_FORMERR, false, false),
    CASE(m_answer_loop, DNS_PARSE_FORMERR, true, false),
    CASE(m_two_opts, DNS_PARSE_FORMERR, true, true),
    CASE(m_opt_in_answer, DNS_PARSE_FORMERR, true, false),
    CASE(m_opt_in_authority, DNS_PARSE_FORMERR, true, false),
    CASE(m_opt_owner, DNS_PARSE_FORMERR, true, true),
    CASE(m_trailing, DNS_PARSE_FORMERR, true, false),
    CASE(m_cookie7, DNS_PARSE_FORMERR, true, true),
    CASE(m_cookie9, DNS_PARSE_FORMERR, true, true),
    CASE(m_cookie41, DNS_PARSE_FORMERR, true, true),
    CASE(m_option_overrun, DNS_PARSE_FORMERR, true, true),
    CASE(m_option_header_short, DNS_PARSE_FORMERR, true, true),
    CASE(m_rdlength_overrun, DNS_PARSE_FORMERR, true, false),
    CASE(m_arcount_lies, DNS_PARSE_FORMERR, true, false),
    CASE(m_badvers, DNS_PARSE_BADVERS, true, true),
    CASE(m_badvers_trailing, DNS_PARSE_FORMERR, true, true),
};

/* clang-format on */

static void
test_msg_query_parse_malformed_table(void **state)
{
	struct dns_query q;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(malformed); i++) {
		const struct malformed *m = &malformed[i];

		print_message("%s\n", m->what);
		assert_int_equal(dns_query_parse(m->pkt, m->len, &q), m->want);
		assert_int_equal(q.qname_len > 0, m->question);
		assert_int_equal(q.edns.present, m->edns);
		if (m->question) {
			assert_int_equal(q.question_end, QUESTION_END);
			assert_int_equal(q.qtype, DNS_TYPE_A);
		}
		if (m->want != DNS_PARSE_DROP)
			assert_int_equal(q.hdr.id, 0x1234);
	}
}

static void
test_msg_query_parse_every_truncation_fails(void **state)
{
	struct dns_query q;
	size_t len;

	(void)state;
	/* Every proper prefix of a valid query is malformed or dropped. */
	for (len = 0; len < sizeof(q_edns); len++) {
		enum dns_parse_result res = dns_query_parse(q_edns, len, &q);

		assert_true(res == DNS_PARSE_DROP || res == DNS_PARSE_FORMERR);
	}
	assert_int_equal(dns_query_parse(q_edns, len, &q), DNS_PARSE_OK);
}

static void
test_msg_query_parse_preserves_case(void **state)
{
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_plain, sizeof(q_plain), &q),
	                 DNS_PARSE_OK);
	assert_int_equal(q.hdr.id, 0x1234);
	assert_int_equal(q.hdr.flags, DNS_FLAG_RD);
	assert_int_equal(q.qname_len, sizeof(qname_wire));
	assert_memory_equal(q.qname, qname_wire, sizeof(qname_wire));
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.question_end, QUESTION_END);
	assert_false(q.edns.present);
}

static void
test_msg_query_parse_edns_fields(void **state)
{
	static const uint8_t cookie[] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_edns, sizeof(q_edns), &q),
	                 DNS_PARSE_OK);
	assert_true(q.edns.present);
	assert_int_equal(q.edns.udp_size, 1232);
	assert_true(q.edns.do_bit);
	assert_int_equal(q.edns.version, 0);
	assert_int_equal(q.edns.ext_rcode, 0);
	assert_int_equal(q.edns.opt_offset, QUESTION_END);
	assert_int_equal(q.edns.opt_index, 0);
	assert_true(q.edns.has_cookie);
	assert_int_equal(q.edns.cookie_len, 8);
	assert_memory_equal(q.edns.cookie, cookie, sizeof(cookie));
}

/* A query whose OPT carries one COOKIE option of len bytes (<= 40). */
static size_t
query_with_cookie(uint8_t *buf, size_t len)
{
	/* clang-format off */
	static const uint8_t head[] = {
		HDR(0x01, 0x00, 1, 0, 0, 1),
		QUESTION,
	};
	/* clang-format on */
	size_t n = sizeof(head), i;

	memcpy(buf, head, n);
	buf[n++] = 0; /* owner root */
	buf[n++] = 0; /* TYPE OPT */
	buf[n++] = 41;
	buf[n++] = 0x02; /* UDP payload 512 */
	buf[n++] = 0x00;
	for (i = 0; i < 4; i++)
		buf[n++] = 0; /* TTL */
	buf[n++] = 0;         /* RDLENGTH */
	buf[n++] = (uint8_t)(4 + len);
	buf[n++] = 0; /* COOKIE */
	buf[n++] = DNS_OPT_COOKIE;
	buf[n++] = 0; /* length */
	buf[n++] = (uint8_t)len;
	for (i = 0; i < len; i++)
		buf[n++] = (uint8_t)(0xa0 + i);
	return n;
}

static void
test_msg_query_parse_cookie_lengths(void **state)
{
	uint8_t buf[128];
	struct dns_query q;
	size_t len, n;

	(void)state;
	/* RFC 7873 5.2.2: 8 (client only) or 16..40; all else FORMERR. */
	for (len = 0; len <= 44; len++) {
		bool ok = len == 8 || (len >= 16 && len <= 40);

		n = query_with_cookie(buf, len);
		assert_int_equal(dns_query_parse(buf, n, &q),
		                 ok ? DNS_PARSE_OK : DNS_PARSE_FORMERR);
		assert_true(q.edns.present);
		assert_int_equal(q.edns.has_cookie, ok);
		if (ok) {
			assert_int_equal(q.edns.cookie_len, len);
			assert_int_equal(q.edns.cookie[len - 1],
			                 0xa0 + len - 1);
		}
	}
}

static void
test_msg_query_parse_second_cookie_ignored(void **state)
{
	/* clang-format off */
	static const uint8_t pkt[] = {
		HDR(0x01, 0x00, 1, 0, 0, 1),
		QUESTION,
		OPT(0, 0x00, 21),
		0x00, 0x0a,		/* COOKIE */
		0x00, 0x08,		/* length 8 */
		1, 2, 3, 4, 5, 6, 7, 8,	/* client cookie */
		0x00, 0x0a,		/* a second COOKIE: ignored (5.2) */
		0x00, 0x05,		/* length 5 */
		9, 9, 9, 9, 9,
	};
	/* clang-format on */
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(pkt, sizeof(pkt), &q), DNS_PARSE_OK);
	assert_int_equal(q.edns.cookie_len, 8);
	assert_int_equal(q.edns.cookie[0], 1);
}

static void
test_msg_query_parse_opt_after_other_additional(void **state)
{
	/* clang-format off */
	static const uint8_t pkt[] = {
		HDR(0x01, 0x00, 1, 0, 0, 2),
		QUESTION,
		RR_A,			/* 33: additional 0 */
		OPT(0, 0x00, 0),	/* 49: additional 1 */
	};
	/* clang-format on */
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(pkt, sizeof(pkt), &q), DNS_PARSE_OK);
	assert_int_equal(q.edns.opt_index, 1);
	assert_int_equal(q.edns.opt_offset, 49);
	assert_int_equal(q.edns.udp_size, 4096);
	assert_false(q.edns.do_bit);
}

static void
test_msg_query_parse_badvers_fills_edns(void **state)
{
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(m_badvers, sizeof(m_badvers), &q),
	                 DNS_PARSE_BADVERS);
	assert_int_equal(q.edns.version, 1);
	assert_true(q.edns.do_bit);
	assert_int_equal(q.edns.udp_size, 4096);
}

/* ---- building errors ---------------------------------------------------- */

static void
test_msg_build_error_without_opt(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x12, 0x34,		/* ID of the query */
		0x81, 0x82,		/* QR, RD copied, RA, SERVFAIL */
		0x00, 0x01,		/* QDCOUNT 1 */
		0x00, 0x00,		/* ANCOUNT 0 */
		0x00, 0x00,		/* NSCOUNT 0 */
		0x00, 0x00,		/* ARCOUNT 0: the query had no OPT */
		QUESTION,
	};
	/* clang-format on */
	struct dns_opt_out o = {.present = false, .ede_code = -1};
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_plain, sizeof(q_plain), &q),
	                 DNS_PARSE_OK);
	assert_int_equal(
	    dns_build_error(out, sizeof(out), &q, DNS_RCODE_SERVFAIL, true, &o),
	    sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* A NULL opt is the same as none. */
	assert_int_equal(dns_build_error(out, sizeof(out), &q,
	                                 DNS_RCODE_SERVFAIL, true, NULL),
	                 sizeof(want));
}

static void
test_msg_build_error_formerr_with_opt(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x12, 0x34,		/* ID */
		0x81, 0x01,		/* QR, RD, FORMERR */
		0x00, 0x01,		/* QDCOUNT 1 */
		0x00, 0x00,		/* ANCOUNT 0 */
		0x00, 0x00,		/* NSCOUNT 0 */
		0x00, 0x01,		/* ARCOUNT 1 */
		QUESTION,		/* the question as received */
		0x00,			/* OPT owner root */
		0x00, 0x29,		/* TYPE OPT */
		0x04, 0xd0,		/* UDP payload 1232 */
		0x00, 0x00,		/* EXTENDED-RCODE 0, VERSION 0 */
		0x00, 0x00,		/* no DO */
		0x00, 0x00,		/* RDLENGTH 0 */
	};
	/* clang-format on */
	struct dns_opt_out o = {
	    .present = true, .udp_size = 1232, .ede_code = -1};
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	/* The bad cookie: FORMERR that still carries question and OPT. */
	assert_int_equal(dns_query_parse(m_cookie7, sizeof(m_cookie7), &q),
	                 DNS_PARSE_FORMERR);
	assert_int_equal(
	    dns_build_error(out, sizeof(out), &q, DNS_RCODE_FORMERR, false, &o),
	    sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_msg_build_error_badvers_split(void **state)
{
	/* clang-format off */
	static const uint8_t want_tail[] = {
		0x00,			/* OPT owner root */
		0x00, 0x29,		/* TYPE OPT */
		0x04, 0xd0,		/* UDP payload 1232 */
		0x01, 0x00,		/* EXTENDED-RCODE 1 (16 >> 4), VERSION 0 */
		0x80, 0x00,		/* DO */
		0x00, 0x00,		/* RDLENGTH 0 */
	};
	/* clang-format on */
	struct dns_opt_out o = {
	    .present = true, .udp_size = 1232, .do_bit = true, .ede_code = -1};
	uint8_t out[512];
	struct dns_query q;
	size_t n;

	(void)state;
	assert_int_equal(dns_query_parse(m_badvers, sizeof(m_badvers), &q),
	                 DNS_PARSE_BADVERS);
	n = dns_build_error(out, sizeof(out), &q, DNS_RCODE_BADVERS, true, &o);
	assert_int_equal(n, QUESTION_END + sizeof(want_tail));
	/* Header RCODE 16 & 0xf = 0 (RFC 6891 6.1.3). */
	assert_int_equal(out[2], 0x81);
	assert_int_equal(out[3], 0x80);
	assert_memory_equal(out + QUESTION_END, want_tail, sizeof(want_tail));
}

static void
test_msg_build_error_badcookie_split(void **state)
{
	static const uint8_t cookie[16] = {1, 2,  3,  4,  5,  6,  7,  8,
	                                   9, 10, 11, 12, 13, 14, 15, 16};
	/* clang-format off */
	static const uint8_t want_tail[] = {
		0x00,			/* OPT owner root */
		0x00, 0x29,		/* TYPE OPT */
		0x04, 0xd0,		/* UDP payload 1232 */
		0x01, 0x00,		/* EXTENDED-RCODE 1 (23 >> 4), VERSION 0 */
		0x00, 0x00,		/* no DO */
		0x00, 0x14,		/* RDLENGTH 20 */
		0x00, 0x0a,		/* COOKIE */
		0x00, 0x10,		/* length 16 */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	};
	/* clang-format on */
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 1232,
	                        .ede_code = -1,
	                        .cookie = cookie,
	                        .cookie_len = sizeof(cookie)};
	uint8_t out[512];
	struct dns_query q;
	size_t n;

	(void)state;
	assert_int_equal(dns_query_parse(q_edns, sizeof(q_edns), &q),
	                 DNS_PARSE_OK);
	n = dns_build_error(out, sizeof(out), &q, DNS_RCODE_BADCOOKIE, false,
	                    &o);
	assert_int_equal(n, QUESTION_END + sizeof(want_tail));
	/* RD copied (AD and CD are not), header RCODE 23 & 0xf = 7. */
	assert_int_equal(out[2], 0x81);
	assert_int_equal(out[3], 0x07);
	assert_memory_equal(out + QUESTION_END, want_tail, sizeof(want_tail));
}

static void
test_msg_build_error_extended_needs_opt(void **state)
{
	struct dns_opt_out o = {.present = false, .ede_code = -1};
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_plain, sizeof(q_plain), &q),
	                 DNS_PARSE_OK);
	assert_int_equal(dns_build_error(out, sizeof(out), &q,
	                                 DNS_RCODE_BADCOOKIE, false, &o),
	                 0);
	o.present = true;
	assert_int_equal(
	    dns_build_error(out, sizeof(out), &q, 0x1000, false, &o), 0);
}

static void
test_msg_build_error_without_question(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x12, 0x34,		/* ID */
		0x81, 0x01,		/* QR, RD, FORMERR */
		0x00, 0x00,		/* QDCOUNT 0: the question did not parse */
		0x00, 0x00,		/* ANCOUNT 0 */
		0x00, 0x00,		/* NSCOUNT 0 */
		0x00, 0x00,		/* ARCOUNT 0 */
	};
	/* clang-format on */
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	assert_int_equal(
	    dns_query_parse(m_pointer_loop, sizeof(m_pointer_loop), &q),
	    DNS_PARSE_FORMERR);
	assert_int_equal(dns_build_error(out, sizeof(out), &q,
	                                 DNS_RCODE_FORMERR, false, NULL),
	                 sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_msg_build_error_notimp_keeps_opcode(void **state)
{
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	assert_int_equal(
	    dns_query_parse(m_opcode_status, sizeof(m_opcode_status), &q),
	    DNS_PARSE_NOTIMP);
	/* ra is asked for: a NOTIMP to another opcode still has none. */
	assert_int_equal(
	    dns_build_error(out, sizeof(out), &q, DNS_RCODE_NOTIMP, true, NULL),
	    QUESTION_END);
	assert_int_equal(out[2], 0x90); /* QR, opcode 2, RD not copied */
	assert_int_equal(out[3], 0x04); /* RA, Z, AD, CD clear; NOTIMP */
}

/* RFC 6895 3.1: OPT and 128-255 are not questions, but AXFR, IXFR, ANY. */
static void
test_msg_qtype_is_meta(void **state)
{
	static const uint16_t meta[] = {41, 128, 200, 248, 249, 250, 253, 254};
	static const uint16_t asked[] = {0,   1,   28,  46,  127,
	                                 251, 252, 255, 256, 65535};

	(void)state;
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		assert_true(dns_qtype_is_meta(meta[i]));
	for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++)
		assert_false(dns_qtype_is_meta(asked[i]));
}

/* genreport's "opcodeflg": opcode 15, no question, every flag bit set. */
static void
test_msg_build_error_notimp_sets_no_query_flags(void **state)
{
	static const uint8_t pkt[] = {
	    HDR(0x7f, 0xf0, 0, 0, 0, 0), /* opcode 15, AA TC RD RA Z AD CD */
	};
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(pkt, sizeof(pkt), &q),
	                 DNS_PARSE_NOTIMP);
	assert_int_equal(
	    dns_build_error(out, sizeof(out), &q, DNS_RCODE_NOTIMP, true, NULL),
	    DNS_HEADER_LEN);
	assert_int_equal(out[2], 0xf8); /* QR, opcode 15; AA TC RD clear */
	assert_int_equal(out[3], 0x04); /* RA Z AD CD clear; NOTIMP */
	assert_int_equal(out[4] | out[5], 0); /* no question */
}

static void
test_msg_build_error_cap_too_small(void **state)
{
	uint8_t out[QUESTION_END];
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_plain, sizeof(q_plain), &q),
	                 DNS_PARSE_OK);
	assert_int_equal(dns_build_error(out, QUESTION_END - 1, &q,
	                                 DNS_RCODE_REFUSED, false, NULL),
	                 0);
	assert_int_equal(dns_build_error(out, QUESTION_END, &q,
	                                 DNS_RCODE_REFUSED, false, NULL),
	                 QUESTION_END);
}

/* ---- EDNS options ------------------------------------------------------- */

static void
test_msg_ede_write_code_and_text(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x00, 0x0f,		/* OPTION-CODE 15 (EDE) */
		0x00, 0x06,		/* OPTION-LENGTH 2 + 4 */
		0x00, 0x0f,		/* INFO-CODE 15 Blocked */
		'a', 'd', 's', '1',	/* EXTRA-TEXT, no NUL */
	};
	/* clang-format on */
	uint8_t out[64];
	struct wbuf b;

	(void)state;
	wbuf_init(&b, out, sizeof(out));
	dns_opt_ede_write(&b, DNS_EDE_BLOCKED, "ads1");
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_msg_ede_write_null_text(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x00, 0x0f,		/* OPTION-CODE 15 (EDE) */
		0x00, 0x02,		/* OPTION-LENGTH: INFO-CODE only */
		0x00, 0x16,		/* INFO-CODE 22 No Reachable Authority */
	};
	/* clang-format on */
	uint8_t out[64];
	struct wbuf b;

	(void)state;
	wbuf_init(&b, out, sizeof(out));
	dns_opt_ede_write(&b, DNS_EDE_NO_REACHABLE_AUTHORITY, NULL);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	wbuf_init(&b, out, sizeof(out));
	dns_opt_ede_write(&b, DNS_EDE_NO_REACHABLE_AUTHORITY, "");
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_msg_padding_write_to_a_multiple(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x00, 0x0c,		/* OPTION-CODE 12 (Padding) */
		0x00, 0x03,		/* OPTION-LENGTH 3: 9 + 4 + 3 = 16 */
		0x00, 0x00, 0x00,	/* zeros (RFC 7830 3) */
	};
	/* clang-format on */
	uint8_t out[600];
	struct wbuf b;

	(void)state;
	/* A message of 9 bytes padded to 16: header counted. */
	wbuf_init(&b, out, sizeof(out));
	memset(out, 0xaa, sizeof(out));
	b.len = 9;
	dns_opt_padding_write(&b, 16);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 16);
	assert_memory_equal(out + 9, want, sizeof(want));
	/* Exactly a multiple once the header is in: no padding bytes. */
	wbuf_init(&b, out, sizeof(out));
	b.len = 124;
	dns_opt_padding_write(&b, 128);
	assert_int_equal(b.len, 128);
	assert_int_equal(out[127], 0x00); /* OPTION-LENGTH 0 */
	/* Already a multiple: a whole block more (the header needs room). */
	for (size_t len = 0; len < 400; len += 37) {
		wbuf_init(&b, out, sizeof(out));
		b.len = len;
		dns_opt_padding_write(&b, 128);
		assert_int_equal(b.err, 0);
		assert_int_equal(b.len % 128, 0);
		assert_true(b.len >= len + 4 && b.len < len + 4 + 128);
	}
	/* Responses pad to 468 (RFC 8467 4.1). */
	wbuf_init(&b, out, sizeof(out));
	b.len = 100;
	dns_opt_padding_write(&b, 468);
	assert_int_equal(b.len, 468);
	/* Block 0: nothing. */
	wbuf_init(&b, out, sizeof(out));
	b.len = 100;
	dns_opt_padding_write(&b, 0);
	assert_int_equal(b.len, 100);
	/* No room: no padding (better than no message), no error. */
	wbuf_init(&b, out, 130);
	b.len = 126;
	dns_opt_padding_write(&b, 128);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 126);
}

static void
test_msg_opt_write_cookie_then_ede(void **state)
{
	static const uint8_t cookie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	/* clang-format off */
	static const uint8_t want[] = {
		0x00,			/* owner root */
		0x00, 0x29,		/* TYPE OPT */
		0x02, 0x00,		/* UDP payload 512 */
		0x00, 0x00,		/* EXTENDED-RCODE 0, VERSION 0 */
		0x80, 0x00,		/* DO */
		0x00, 0x13,		/* RDLENGTH 12 + 7 */
		0x00, 0x0a,		/* COOKIE */
		0x00, 0x08,		/* length 8 */
		1, 2, 3, 4, 5, 6, 7, 8,
		0x00, 0x0f,		/* EDE */
		0x00, 0x03,		/* length 3 */
		0x00, 0x12,		/* 18 Prohibited */
		'x',			/* EXTRA-TEXT */
	};
	/* clang-format on */
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 512,
	                        .do_bit = true,
	                        .ede_code = DNS_EDE_PROHIBITED,
	                        .ede_text = "x",
	                        .cookie = cookie,
	                        .cookie_len = sizeof(cookie)};
	uint8_t out[64];
	struct wbuf b;

	(void)state;
	wbuf_init(&b, out, sizeof(out));
	dns_opt_write(&b, &o, 0);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* Not present: nothing at all. */
	o.present = false;
	wbuf_init(&b, out, sizeof(out));
	dns_opt_write(&b, &o, 0);
	assert_int_equal(b.len, 0);
	/* Too small a buffer fails, never overruns. */
	o.present = true;
	wbuf_init(&b, out, sizeof(want) - 1);
	dns_opt_write(&b, &o, 0);
	assert_int_not_equal(b.err, 0);
}

/* ---- the query sent upstream ------------------------------------------- */

static void
test_msg_upstream_query_own_opt(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0xbe, 0xef,		/* our ID */
		0x01, 0x10,		/* RD and CD copied, AD not, opcode 0 */
		0x00, 0x01,		/* QDCOUNT 1 */
		0x00, 0x00,		/* ANCOUNT 0 */
		0x00, 0x00,		/* NSCOUNT 0 */
		0x00, 0x01,		/* ARCOUNT 1 */
		QUESTION,		/* the client's case kept */
		0x00,			/* OPT owner root */
		0x00, 0x29,		/* TYPE OPT */
		0x05, 0xc0,		/* UDP payload 1472 */
		0x00, 0x00,		/* EXTENDED-RCODE 0, VERSION 0 */
		0x80, 0x00,		/* DO copied from the client */
		0x00, 0x00,		/* RDLENGTH 0: no cookie, no option 100 */
	};
	/* clang-format on */
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_edns, sizeof(q_edns), &q),
	                 DNS_PARSE_OK);
	assert_int_equal(
	    dns_build_upstream_query(out, sizeof(out), &q, 0xbeef, 1472),
	    sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(
	    dns_build_upstream_query(out, sizeof(want) - 1, &q, 0xbeef, 1472),
	    0);
}

static void
test_msg_upstream_query_without_client_edns(void **state)
{
	uint8_t out[512];
	struct dns_query q;
	size_t n;

	(void)state;
	assert_int_equal(dns_query_parse(q_plain, sizeof(q_plain), &q),
	                 DNS_PARSE_OK);
	n = dns_build_upstream_query(out, sizeof(out), &q, 7, 1232);
	assert_int_equal(n, QUESTION_END + 11);
	assert_int_equal(out[11], 1);               /* ARCOUNT 1 */
	assert_int_equal(out[QUESTION_END + 7], 0); /* no DO */
	/* It parses as a query with our OPT. */
	assert_int_equal(dns_query_parse(out, n, &q), DNS_PARSE_OK);
	assert_int_equal(q.hdr.id, 7);
	assert_int_equal(q.edns.udp_size, 1232);
	assert_false(q.edns.has_cookie);
}

static void
test_msg_upstream_query_needs_question(void **state)
{
	uint8_t out[512];
	struct dns_query q;

	(void)state;
	(void)dns_query_parse(m_qdcount0, sizeof(m_qdcount0), &q);
	assert_int_equal(dns_build_upstream_query(out, sizeof(out), &q, 1, 512),
	                 0);
}

/* ---- responses ---------------------------------------------------------- */

/* clang-format off */

/*
 * An upstream answer: one A, additional = glue A, OPT with a cookie, and a
 * record after the OPT. QNAME in lower case.
 */
static const uint8_t r_answer[] = {
	0xbe, 0xef,		/* ID */
	0x81, 0x80,		/* QR, RD, RA, NOERROR */
	0x00, 0x01,		/* QDCOUNT 1 */
	0x00, 0x01,		/* ANCOUNT 1 */
	0x00, 0x00,		/* NSCOUNT 0 */
	0x00, 0x03,		/* ARCOUNT 3 */
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	3, 'c', 'o', 'm', 0,	/* QNAME, lower case */
	0x00, 0x01,		/* QTYPE A */
	0x00, 0x01,		/* QCLASS IN */
	RR_A,			/* 33: answer */
	RR_A,			/* 49: additional 0 */
	0x00,			/* 65: OPT owner root */
	0x00, 0x29,		/* TYPE OPT */
	0x04, 0xd0,		/* UDP payload 1232 */
	0x00, 0x00,		/* EXTENDED-RCODE 0, VERSION 0 */
	0x80, 0x00,		/* DO */
	0x00, 0x14,		/* RDLENGTH 20 */
	0x00, 0x0a,		/* COOKIE */
	0x00, 0x10,		/* length 16 */
	1, 2, 3, 4, 5, 6, 7, 8,	/* client cookie */
	9, 10, 11, 12, 13, 14, 15, 16,	/* server cookie */
	RR_A,			/* 96: additional 2, after the OPT */
};
#define R_ANSWER_OPT 65

/* BADCOOKIE from upstream: header RCODE 7 + EXTENDED-RCODE 1. */
static const uint8_t r_badcookie[] = {
	0xbe, 0xef,		/* ID */
	0x81, 0x87,		/* QR, RD, RA, RCODE 7 */
	0x00, 0x01,		/* QDCOUNT 1 */
	0x00, 0x00,		/* ANCOUNT 0 */
	0x00, 0x00,		/* NSCOUNT 0 */
	0x00, 0x01,		/* ARCOUNT 1 */
	QUESTION,
	0x00,			/* 33: OPT owner root */
	0x00, 0x29,		/* TYPE OPT */
	0x04, 0xd0,		/* UDP payload 1232 */
	0x01, 0x00,		/* EXTENDED-RCODE 1, VERSION 0 */
	0x00, 0x00,		/* no DO */
	0x00, 0x00,		/* RDLENGTH 0 */
};

/* clang-format on */

static void
test_msg_response_parse_fields(void **state)
{
	struct dns_response r;

	(void)state;
	assert_int_equal(dns_response_parse(r_answer, sizeof(r_answer), &r), 0);
	assert_int_equal(r.hdr.id, 0xbeef);
	assert_int_equal(r.qtype, DNS_TYPE_A);
	assert_int_equal(r.qclass, DNS_CLASS_IN);
	assert_int_equal(r.question_end, QUESTION_END);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_true(r.edns.present);
	assert_true(r.edns.do_bit);
	assert_int_equal(r.edns.cookie_len, 16);
	assert_int_equal(r.body_end, R_ANSWER_OPT);
	assert_int_equal(r.arcount_kept, 1);
}

static void
test_msg_response_parse_extended_rcode(void **state)
{
	struct dns_response r;

	(void)state;
	assert_int_equal(
	    dns_response_parse(r_badcookie, sizeof(r_badcookie), &r), 0);
	assert_int_equal(r.rcode, DNS_RCODE_BADCOOKIE);
	assert_int_equal(r.body_end, QUESTION_END);
	assert_int_equal(r.arcount_kept, 0);
}

static void
test_msg_response_parse_without_opt(void **state)
{
	struct dns_response r;

	(void)state;
	/* A query layout with QR set: no OPT, body to the end. */
	assert_int_equal(dns_response_parse(m_qr_set, sizeof(m_qr_set), &r), 0);
	assert_false(r.edns.present);
	assert_int_equal(r.body_end, sizeof(m_qr_set));
	assert_int_equal(r.arcount_kept, 0);
}

static void
test_msg_response_parse_cuts_trailing_bytes(void **state)
{
	/* clang-format off */
	static const uint8_t pkt[] = {
		HDR(0x81, 0x80, 1, 1, 0, 0),	/* QR, RD, RA, ANCOUNT 1 */
		QUESTION,
		RR_A,			/* 33: the answer */
		0xde, 0xad,		/* 49: bytes no RR accounts for */
	};
	/* clang-format on */
	struct dns_opt_out o = {.present = false, .ede_code = -1};
	struct dns_response r;
	uint8_t out[512];

	(void)state;
	assert_int_equal(dns_response_parse(pkt, sizeof(pkt), &r), 0);
	assert_int_equal(r.body_end, 49);
	assert_int_equal(
	    dns_response_finish(out, sizeof(out), pkt, &r, 1, &o, 512), 49);
}

static void
test_msg_response_parse_rejects(void **state)
{
	/* clang-format off */
	static const uint8_t two_opts[] = {
		HDR(0x81, 0x00, 1, 0, 0, 2),	/* QR, ARCOUNT 2 */
		QUESTION,
		OPT(0, 0x00, 0),
		OPT(0, 0x00, 0),
	};
	/* clang-format on */
	/* clang-format off */
	static const uint8_t opt_in_answer[] = {
		HDR(0x81, 0x00, 1, 1, 0, 0),	/* QR, ANCOUNT 1 */
		QUESTION,
		OPT(0, 0x00, 0),
	};
	/* clang-format on */
	/* clang-format off */
	static const uint8_t no_question[] = {
		HDR(0x81, 0x02, 0, 0, 0, 0),	/* SERVFAIL, QDCOUNT 0 */
	};
	/* clang-format on */
	struct dns_response r;
	size_t len;

	(void)state;
	/* QR=0: a query, not an answer. */
	assert_int_equal(dns_response_parse(q_plain, sizeof(q_plain), &r), -1);
	assert_int_equal(dns_response_parse(two_opts, sizeof(two_opts), &r),
	                 -1);
	assert_int_equal(
	    dns_response_parse(opt_in_answer, sizeof(opt_in_answer), &r), -1);
	assert_int_equal(
	    dns_response_parse(no_question, sizeof(no_question), &r), -1);
	for (len = 0; len < sizeof(r_answer); len++)
		assert_int_equal(dns_response_parse(r_answer, len, &r), -1);
}

/* clang-format off */
/* nsd's REFUSED to a class it does not serve: no question, an OPT. */
static const uint8_t r_bare_refused[] = {
	HDR(0x81, 0x05, 0, 0, 0, 1),	/* QR, RD, REFUSED, ARCOUNT 1 */
	0x00,				/* 12: OPT owner root */
	0x00, 0x29,			/* TYPE OPT */
	0x04, 0xd0,			/* UDP payload 1232 */
	0x00, 0x00,			/* EXTENDED-RCODE 0, VERSION 0 */
	0x80, 0x00,			/* DO */
	0x00, 0x0c,			/* RDLENGTH 12 */
	0x00, 0x0a,			/* COOKIE */
	0x00, 0x08,			/* length 8 */
	1, 2, 3, 4, 5, 6, 7, 8,		/* client cookie */
};
/* clang-format on */

static void
test_msg_response_parse_bare_error(void **state)
{
	/* clang-format off */
	static const uint8_t formerr[] = {
		HDR(0x80, 0x01, 0, 0, 0, 0),	/* QR, FORMERR, no OPT */
	};
	/* BADVERS: header RCODE 0, EXTENDED-RCODE 1 (RFC 6891 6.1.3). */
	static const uint8_t badvers[] = {
		HDR(0x80, 0x00, 0, 0, 0, 1),	/* QR, NOERROR in the header */
		0x00, 0x00, 0x29, 0x04, 0xd0,	/* OPT, UDP payload 1232 */
		0x01, 0x00, 0x00, 0x00,		/* EXTENDED-RCODE 1 */
		0x00, 0x00,			/* RDLENGTH 0 */
	};
	/* clang-format on */
	struct dns_response r;

	(void)state;
	assert_int_equal(
	    dns_response_parse_bare(r_bare_refused, sizeof(r_bare_refused), &r),
	    0);
	assert_int_equal(r.hdr.id, 0x1234);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(r.question_end, DNS_HEADER_LEN);
	assert_int_equal(r.body_end, DNS_HEADER_LEN);
	assert_int_equal(r.arcount_kept, 0);
	assert_true(r.edns.present);
	assert_true(r.edns.do_bit);
	assert_true(r.edns.has_cookie);
	assert_int_equal(r.edns.cookie_len, 8);
	assert_int_equal(dns_response_parse_bare(formerr, sizeof(formerr), &r),
	                 0);
	assert_int_equal(r.rcode, DNS_RCODE_FORMERR);
	assert_false(r.edns.present);
	assert_int_equal(dns_response_parse_bare(badvers, sizeof(badvers), &r),
	                 0);
	assert_int_equal(r.rcode, DNS_RCODE_BADVERS);
	/* Every shorter prefix is malformed. */
	for (size_t len = 0; len < sizeof(r_bare_refused); len++)
		assert_int_equal(
		    dns_response_parse_bare(r_bare_refused, len, &r), -1);
}

static void
test_msg_response_parse_bare_rejects(void **state)
{
	/* clang-format off */
	/* NOERROR and NXDOMAIN speak of a name: they need the question. */
	static const uint8_t noerror[] = {
		HDR(0x81, 0x80, 0, 0, 0, 0),
	};
	static const uint8_t nxdomain[] = {
		HDR(0x81, 0x83, 0, 0, 0, 0),
	};
	/* A query (QR=0) without a question. */
	static const uint8_t query[] = {
		HDR(0x01, 0x05, 0, 0, 0, 0),
	};
	/* A record promised and missing. */
	static const uint8_t short_rr[] = {
		HDR(0x81, 0x05, 0, 1, 0, 0),
	};
	/* clang-format on */
	struct dns_response r;

	(void)state;
	assert_int_equal(dns_response_parse_bare(noerror, sizeof(noerror), &r),
	                 -1);
	assert_int_equal(
	    dns_response_parse_bare(nxdomain, sizeof(nxdomain), &r), -1);
	assert_int_equal(dns_response_parse_bare(query, sizeof(query), &r), -1);
	assert_int_equal(
	    dns_response_parse_bare(short_rr, sizeof(short_rr), &r), -1);
	/* With a question it is a response for dns_response_parse. */
	assert_int_equal(
	    dns_response_parse_bare(r_badcookie, sizeof(r_badcookie), &r), -1);
}

static void
test_msg_response_add_question(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		HDR(0x81, 0x05, 1, 0, 0, 1),	/* as it came, QDCOUNT 1 */
		QUESTION,			/* the query's, its case too */
		0x00, 0x00, 0x29,		/* OPT */
		0x04, 0xd0,			/* its UDP payload, 1232 */
		0x00, 0x00, 0x80, 0x00,		/* RCODE 0 above, DO */
		0x00, 0x00,			/* no options */
	};
	/* clang-format on */
	struct dns_response r, back;
	struct dns_query q;
	uint8_t out[512];
	size_t n;

	(void)state;
	assert_int_equal(dns_query_parse(q_plain, sizeof(q_plain), &q),
	                 DNS_PARSE_OK);
	assert_int_equal(
	    dns_response_parse_bare(r_bare_refused, sizeof(r_bare_refused), &r),
	    0);
	n = dns_response_add_question(out, sizeof(out), &r, &q);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(dns_response_parse(out, n, &back), 0);
	assert_true(dns_response_matches(&back, 0x1234, &q));
	assert_int_equal(back.rcode, DNS_RCODE_REFUSED);
	/* Too small a buffer, or no question to add. */
	assert_int_equal(dns_response_add_question(out, n - 1, &r, &q), 0);
	q.qname_len = 0;
	assert_int_equal(dns_response_add_question(out, sizeof(out), &r, &q),
	                 0);
}

static void
test_msg_response_matches(void **state)
{
	struct dns_response r;
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_plain, sizeof(q_plain), &q),
	                 DNS_PARSE_OK);
	assert_int_equal(dns_response_parse(r_answer, sizeof(r_answer), &r), 0);
	/* www.example.com matches www.Example.com: case is ignored. */
	assert_true(dns_response_matches(&r, 0xbeef, &q));
	/* Wrong ID. */
	assert_false(dns_response_matches(&r, 0x1234, &q));
	/* Wrong QTYPE. */
	q.qtype = DNS_TYPE_AAAA;
	assert_false(dns_response_matches(&r, 0xbeef, &q));
	q.qtype = DNS_TYPE_A;
	/* Wrong QCLASS. */
	q.qclass = 3;
	assert_false(dns_response_matches(&r, 0xbeef, &q));
	q.qclass = DNS_CLASS_IN;
	/* Wrong QNAME: www.Example.con. */
	q.qname[15] = 'n';
	assert_false(dns_response_matches(&r, 0xbeef, &q));
}

static void
test_msg_rr_next_walks_sections(void **state)
{
	static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_A, DNS_TYPE_OPT,
	                                 DNS_TYPE_A};
	static const size_t offsets[] = {33, 49, 65, 96, sizeof(r_answer)};
	struct dns_rr rr;
	struct wire w;
	size_t i;

	(void)state;
	wire_init(&w, r_answer, sizeof(r_answer));
	wire_seek(&w, QUESTION_END);
	for (i = 0; i < ARRAY_LEN(types); i++) {
		assert_int_equal(dns_rr_next(&w, &rr), 0);
		assert_int_equal(rr.type, types[i]);
		assert_int_equal(rr.rr_offset, offsets[i]);
		assert_int_equal(rr.rr_end, offsets[i + 1]);
	}
	wire_seek(&w, QUESTION_END);
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_memory_equal(rr.owner, "\3www\7example\3com", 17);
	assert_int_equal(rr.ttl, 3600);
	assert_int_equal(rr.rdlength, 4);
	assert_int_equal(rr.rdata_offset, 45);
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(dns_rr_next(&w, &rr), -1);
}

/* ---- finishing an upstream answer for the client ------------------------ */

static void
test_msg_finish_replaces_opt(void **state)
{
	static const uint8_t cookie[16] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5,
	                                   0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3,
	                                   0xd4, 0xd5, 0xd6, 0xd7};
	/* clang-format off */
	static const uint8_t want_opt[] = {
		0x00,			/* owner root */
		0x00, 0x29,		/* TYPE OPT */
		0x04, 0xd0,		/* UDP payload 1232 */
		0x00, 0x00,		/* EXTENDED-RCODE 0, VERSION 0 */
		0x00, 0x00,		/* no DO: the client did not ask */
		0x00, 0x14,		/* RDLENGTH 20 */
		0x00, 0x0a,		/* COOKIE: ours, not upstream's */
		0x00, 0x10,		/* length 16 */
		0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
		0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
	};
	/* clang-format on */
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 1232,
	                        .ede_code = -1,
	                        .cookie = cookie,
	                        .cookie_len = sizeof(cookie)};
	struct dns_response r;
	uint8_t out[1024];
	size_t n;

	(void)state;
	assert_int_equal(dns_response_parse(r_answer, sizeof(r_answer), &r), 0);
	n = dns_response_finish(out, sizeof(out), r_answer, &r, 0x1234, &o,
	                        1232);
	assert_int_equal(n, R_ANSWER_OPT + sizeof(want_opt));
	assert_int_equal(out[0], 0x12); /* the client's ID */
	assert_int_equal(out[1], 0x34);
	assert_memory_equal(out + 2, r_answer + 2, 8); /* flags, QD, AN, NS */
	assert_int_equal(out[10], 0); /* ARCOUNT: glue + our OPT */
	assert_int_equal(out[11], 2);
	assert_memory_equal(out + 12, r_answer + 12, R_ANSWER_OPT - 12);
	assert_memory_equal(out + R_ANSWER_OPT, want_opt, sizeof(want_opt));
}

static void
test_msg_finish_without_client_opt(void **state)
{
	struct dns_opt_out o = {.present = false, .ede_code = -1};
	struct dns_response r;
	uint8_t out[1024];

	(void)state;
	assert_int_equal(dns_response_parse(r_answer, sizeof(r_answer), &r), 0);
	assert_int_equal(dns_response_finish(out, sizeof(out), r_answer, &r,
	                                     0x1234, &o, 512),
	                 R_ANSWER_OPT);
	assert_int_equal(out[11], 1); /* ARCOUNT: the glue only */
}

static void
test_msg_finish_extended_rcode(void **state)
{
	struct dns_opt_out o = {
	    .present = true, .udp_size = 1232, .ede_code = -1};
	struct dns_response r;
	uint8_t out[1024];
	size_t n;

	(void)state;
	assert_int_equal(
	    dns_response_parse(r_badcookie, sizeof(r_badcookie), &r), 0);
	n = dns_response_finish(out, sizeof(out), r_badcookie, &r, 1, &o, 512);
	assert_int_equal(n, QUESTION_END + 11);
	assert_int_equal(out[3] & 0xf, 7);          /* header RCODE */
	assert_int_equal(out[QUESTION_END + 5], 1); /* EXTENDED-RCODE */
	/* Without an OPT toward the client it cannot be said at all. */
	o.present = false;
	assert_int_equal(
	    dns_response_finish(out, sizeof(out), r_badcookie, &r, 1, &o, 512),
	    0);
}

/* An answer with n A records and header RCODE rcode, no OPT. */
static size_t
big_response(uint8_t *buf, unsigned n, uint8_t rcode)
{
	/* clang-format off */
	static const uint8_t head[] = {
		0xbe, 0xef,		/* ID */
		0x81, 0x80,		/* QR, RD, RA */
		0x00, 0x01,		/* QDCOUNT 1 */
		0x00, 0x00,		/* ANCOUNT, set below */
		0x00, 0x00,		/* NSCOUNT 0 */
		0x00, 0x00,		/* ARCOUNT 0 */
		QUESTION,
	};
	/* clang-format on */
	static const uint8_t rr[] = {RR_A};
	size_t len = sizeof(head);
	unsigned i;

	memcpy(buf, head, len);
	buf[3] |= rcode;
	buf[6] = (uint8_t)(n >> 8);
	buf[7] = (uint8_t)n;
	for (i = 0; i < n; i++, len += sizeof(rr))
		memcpy(buf + len, rr, sizeof(rr));
	return len;
}

static void
test_msg_finish_truncates_to_limit(void **state)
{
	static const uint8_t cookie[16] = {1};
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 1232,
	                        .ede_code = DNS_EDE_BLOCKED,
	                        .ede_text = "list",
	                        .cookie = cookie,
	                        .cookie_len = sizeof(cookie)};
	uint8_t resp[2048], out[2048];
	struct dns_response r;
	size_t len, n;

	(void)state;
	len = big_response(resp, 40, DNS_RCODE_NXDOMAIN);
	assert_int_equal(len, QUESTION_END + 40 * 16);
	assert_int_equal(dns_response_parse(resp, len, &r), 0);
	n = dns_response_finish(out, sizeof(out), resp, &r, 0x1234, &o, 512);
	/* Header + question + OPT with the cookie, EDE dropped. */
	assert_int_equal(n, QUESTION_END + 11 + 20);
	assert_int_equal(out[0], 0x12);
	assert_int_equal(out[1], 0x34);
	assert_int_equal(out[2], 0x83); /* QR, TC, RD */
	assert_int_equal(out[3], 0x83); /* RA, NXDOMAIN kept */
	assert_int_equal(out[5], 1);    /* QDCOUNT 1 */
	assert_int_equal(out[7], 0);    /* ANCOUNT 0 */
	assert_int_equal(out[9], 0);    /* NSCOUNT 0 */
	assert_int_equal(out[11], 1);   /* ARCOUNT: the OPT */
	assert_memory_equal(out + 12, resp + 12, QUESTION_END - 12);
	assert_int_equal(out[QUESTION_END + 10], 20); /* RDLENGTH: cookie */
	/* The same answer fits unchanged into a larger limit. */
	n = dns_response_finish(out, sizeof(out), resp, &r, 0x1234, &o, 1232);
	assert_int_equal(n, len + 11 + 20 + 10);
	assert_int_equal(out[2] & 0x02, 0);
}

static void
test_msg_finish_drops_ede_first(void **state)
{
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 1232,
	                        .ede_code = DNS_EDE_BLOCKED,
	                        .ede_text = "blocked by list"};
	uint8_t resp[2048], out[2048];
	struct dns_response r;
	size_t len, n;

	(void)state;
	/* 33 + 29 x 16 = 497; + bare OPT 11 = 508; + EDE 21 = 529. */
	len = big_response(resp, 29, 0);
	assert_int_equal(dns_response_parse(resp, len, &r), 0);
	n = dns_response_finish(out, sizeof(out), resp, &r, 1, &o, 512);
	assert_int_equal(n, 508);
	assert_int_equal(out[2] & 0x02, 0); /* no TC */
	assert_int_equal(out[7], 29);       /* every answer kept */
	assert_int_equal(out[len + 10], 0); /* OPT RDLENGTH 0: no EDE */
	/* With room, the EDE stays. */
	n = dns_response_finish(out, sizeof(out), resp, &r, 1, &o, 529);
	assert_int_equal(n, 529);
	assert_int_equal(out[len + 12], DNS_OPT_EDE);
	/* One more answer and only truncation helps. */
	len = big_response(resp, 30, 0);
	assert_int_equal(dns_response_parse(resp, len, &r), 0);
	n = dns_response_finish(out, sizeof(out), resp, &r, 1, &o, 512);
	assert_int_equal(n, QUESTION_END + 11);
	assert_int_equal(out[2] & 0x02, 0x02);
}

static void
test_msg_finish_cap_too_small(void **state)
{
	struct dns_opt_out o = {
	    .present = true, .udp_size = 1232, .ede_code = -1};
	struct dns_response r;
	uint8_t out[QUESTION_END + 11];

	(void)state;
	assert_int_equal(dns_response_parse(r_answer, sizeof(r_answer), &r), 0);
	/* The whole answer does not fit in out: it is truncated into it. */
	assert_int_equal(
	    dns_response_finish(out, sizeof(out), r_answer, &r, 1, &o, 4096),
	    sizeof(out));
	assert_int_equal(out[2] & 0x02, 0x02);
	assert_int_equal(dns_response_finish(out, sizeof(out) - 1, r_answer, &r,
	                                     1, &o, 4096),
	                 0);
}

static void
test_msg_truncate_in_place(void **state)
{
	struct dns_opt_out o = {
	    .present = true, .udp_size = 512, .ede_code = -1};
	uint8_t buf[2048];
	size_t len, n;

	(void)state;
	len = big_response(buf, 10, DNS_RCODE_SERVFAIL);
	n = dns_truncate(buf, sizeof(buf), buf, len, QUESTION_END,
	                 DNS_RCODE_SERVFAIL, &o);
	assert_int_equal(n, QUESTION_END + 11);
	assert_int_equal(buf[0], 0xbe); /* ID kept */
	assert_int_equal(buf[2], 0x83); /* QR, TC, RD */
	assert_int_equal(buf[3], 0x82); /* RA, SERVFAIL */
	assert_int_equal(buf[7], 0);    /* ANCOUNT 0 */
	assert_memory_equal(buf + 12, qname_wire, sizeof(qname_wire));
	/* A question end outside the message is refused. */
	assert_int_equal(
	    dns_truncate(buf, sizeof(buf), buf, len, len + 1, 0, &o), 0);
	assert_int_equal(dns_truncate(buf, sizeof(buf), buf, len, 11, 0, &o),
	                 0);
}

/* ---- mnemonics ---------------------------------------------------------- */

static void
test_msg_rcode_names(void **state)
{
	(void)state;
	assert_string_equal(dns_rcode_name(DNS_RCODE_NOERROR), "NOERROR");
	assert_string_equal(dns_rcode_name(DNS_RCODE_FORMERR), "FORMERR");
	assert_string_equal(dns_rcode_name(DNS_RCODE_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(dns_rcode_name(DNS_RCODE_NOTZONE), "NOTZONE");
	assert_string_equal(dns_rcode_name(DNS_RCODE_BADVERS), "BADVERS");
	assert_string_equal(dns_rcode_name(DNS_RCODE_BADCOOKIE), "BADCOOKIE");
	assert_string_equal(dns_rcode_name(11), "RCODE11");
	assert_string_equal(dns_rcode_name(4095), "RCODE4095");
}

static void
test_msg_type_names(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(dns_type_name(DNS_TYPE_A, buf, sizeof(buf)), "A");
	assert_string_equal(dns_type_name(DNS_TYPE_AAAA, buf, sizeof(buf)),
	                    "AAAA");
	assert_string_equal(dns_type_name(43, buf, sizeof(buf)), "DS");
	assert_string_equal(dns_type_name(65, buf, sizeof(buf)), "HTTPS");
	assert_string_equal(dns_type_name(257, buf, sizeof(buf)), "CAA");
	assert_string_equal(dns_type_name(65280, buf, sizeof(buf)),
	                    "TYPE65280");
	assert_string_equal(dns_type_name(0, buf, sizeof(buf)), "TYPE0");
}

static void
test_msg_type_from_text(void **state)
{
	(void)state;
	assert_int_equal(dns_type_from_text("A"), DNS_TYPE_A);
	assert_int_equal(dns_type_from_text("aaaa"), DNS_TYPE_AAAA);
	assert_int_equal(dns_type_from_text("SVCB"), 64);
	assert_int_equal(dns_type_from_text("NSEC3"), 50);
	assert_int_equal(dns_type_from_text("TYPE65"), 65);
	assert_int_equal(dns_type_from_text("type1"), 1);
	assert_int_equal(dns_type_from_text("TYPE65535"), 65535);
	assert_int_equal(dns_type_from_text("TYPE65536"), -1);
	assert_int_equal(dns_type_from_text("TYPE"), -1);
	assert_int_equal(dns_type_from_text("TYPE1x"), -1);
	assert_int_equal(dns_type_from_text("TYPE-1"), -1);
	assert_int_equal(dns_type_from_text("TYPE000001"), -1);
	assert_int_equal(dns_type_from_text("NOPE"), -1);
	assert_int_equal(dns_type_from_text(""), -1);
}

static void
test_msg_class_names(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(dns_class_name(DNS_CLASS_IN, buf, sizeof(buf)),
	                    "IN");
	assert_string_equal(dns_class_name(DNS_CLASS_CH, buf, sizeof(buf)),
	                    "CH");
	assert_string_equal(dns_class_name(DNS_CLASS_HS, buf, sizeof(buf)),
	                    "HS");
	assert_string_equal(dns_class_name(DNS_CLASS_NONE, buf, sizeof(buf)),
	                    "NONE");
	assert_string_equal(dns_class_name(DNS_CLASS_ANY, buf, sizeof(buf)),
	                    "ANY");
	/* RFC 3597 5: the generic form for the rest, 0 included. */
	assert_string_equal(dns_class_name(0, buf, sizeof(buf)), "CLASS0");
	assert_string_equal(dns_class_name(65535, buf, sizeof(buf)),
	                    "CLASS65535");
	assert_int_equal(dns_class_from_text("in"), DNS_CLASS_IN);
	assert_int_equal(dns_class_from_text("HS"), DNS_CLASS_HS);
	assert_int_equal(dns_class_from_text("Any"), DNS_CLASS_ANY);
	assert_int_equal(dns_class_from_text("NONE"), DNS_CLASS_NONE);
	assert_int_equal(dns_class_from_text("CLASS0"), 0);
	assert_int_equal(dns_class_from_text("class254"), DNS_CLASS_NONE);
	assert_int_equal(dns_class_from_text("CLASS65536"), -1);
	assert_int_equal(dns_class_from_text("CLASS"), -1);
	assert_int_equal(dns_class_from_text("CS"), -1);
	assert_int_equal(dns_class_from_text(""), -1);
}

/* ---- EDNS padding (RFC 7830, block sizes RFC 8467) ---------------------- */

/* The big-endian 16 bits at p. */
static unsigned
u16_at(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/*
 * out[at..len) is one Padding option that ends the message: code 12, its
 * length, and that many zero octets (RFC 7830 3).
 */
static void
assert_padding_option(const uint8_t *out, size_t at, size_t len)
{
	assert_true(at + 4 <= len);
	assert_int_equal(u16_at(out + at), DNS_OPT_PADDING);
	assert_int_equal(u16_at(out + at + 2), len - at - 4);
	for (size_t i = at + 4; i < len; i++)
		assert_int_equal(out[i], 0);
}

static void
test_msg_padding_write_to_block(void **state)
{
	static const size_t blocks[] = {128, 468};
	static const size_t starts[] = {12, 33, 100, 123, 124, 125, 128, 467};
	uint8_t out[1024];
	struct wbuf b;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(blocks); i++) {
		for (size_t j = 0; j < ARRAY_LEN(starts); j++) {
			size_t start = starts[j];

			memset(out, 0xff, sizeof(out));
			wbuf_init(&b, out, sizeof(out));
			wbuf_bytes(&b, out, start); /* 0xff: not padding */
			dns_opt_padding_write(&b, blocks[i]);
			assert_int_equal(b.err, 0);
			assert_int_equal(b.len % blocks[i], 0);
			/* The shortest padding that gets there. */
			assert_true(b.len >= start + 4);
			assert_true(b.len - (start + 4) < blocks[i]);
			assert_padding_option(out, start, b.len);
		}
	}
	/* 124 + 4 is a block already: an option of length 0. */
	wbuf_init(&b, out, sizeof(out));
	wbuf_bytes(&b, out, 124);
	dns_opt_padding_write(&b, 128);
	assert_int_equal(b.len, 128);
	assert_int_equal(u16_at(out + 126), 0);
}

/* An unpadded message is better than none: no room, no padding. */
static void
test_msg_padding_write_needs_room(void **state)
{
	uint8_t out[512];
	struct wbuf b;

	(void)state;
	memset(out, 0xaa, sizeof(out));
	wbuf_init(&b, out, 127);
	wbuf_bytes(&b, out, 100);
	dns_opt_padding_write(&b, 128);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(out[100], 0xaa);
	/* Exactly the room needed. */
	wbuf_init(&b, out, 128);
	wbuf_bytes(&b, out, 100);
	dns_opt_padding_write(&b, 128);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 128);
	assert_padding_option(out, 100, 128);
	/* Block 0: no padding; a buffer already failed stays as it is. */
	wbuf_init(&b, out, sizeof(out));
	wbuf_bytes(&b, out, 100);
	dns_opt_padding_write(&b, 0);
	assert_int_equal(b.len, 100);
	b.err = 1;
	dns_opt_padding_write(&b, 128);
	assert_int_equal(b.len, 100);
}

/*
 * Through dns_build_error: the Padding option comes last in the OPT
 * (after COOKIE and EDE, its length depends on them), the OPT's RDLENGTH
 * counts it, and the whole message is a multiple of the block.
 */
static void
test_msg_build_error_padded(void **state)
{
	static const uint8_t cookie[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const size_t blocks[] = {128, 468};
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 1232,
	                        .ede_code = DNS_EDE_PROHIBITED,
	                        .ede_text = "x",
	                        .cookie = cookie,
	                        .cookie_len = sizeof(cookie)};
	/* OPT at QUESTION_END: owner 1, TYPE 2, CLASS 2, TTL 4, RDLENGTH 2. */
	const size_t rdata = QUESTION_END + 11;
	uint8_t out[1024];
	struct dns_response r;
	struct dns_query q;
	size_t n;

	(void)state;
	assert_int_equal(dns_query_parse(q_edns, sizeof(q_edns), &q),
	                 DNS_PARSE_OK);
	for (size_t i = 0; i < ARRAY_LEN(blocks); i++) {
		o.pad_block = (uint16_t)blocks[i];
		n = dns_build_error(out, sizeof(out), &q, DNS_RCODE_REFUSED,
		                    true, &o);
		assert_int_equal(n, blocks[i]);
		assert_int_equal(u16_at(out + rdata - 2), n - rdata);
		/* COOKIE (4 + 16), EDE (4 + 3), then the padding. */
		assert_int_equal(u16_at(out + rdata), DNS_OPT_COOKIE);
		assert_int_equal(u16_at(out + rdata + 20), DNS_OPT_EDE);
		assert_padding_option(out, rdata + 27, n);
		/* A well-formed message, whose OPT says it is padded. */
		assert_int_equal(dns_response_parse(out, n, &r), 0);
		assert_true(r.edns.present);
		assert_true(r.edns.has_padding);
		assert_true(r.edns.has_cookie);
		assert_int_equal(r.body_end, QUESTION_END);
	}
	/* Without options, only the padding. */
	o.cookie_len = 0;
	o.ede_code = -1;
	o.pad_block = 468;
	n = dns_build_error(out, sizeof(out), &q, DNS_RCODE_SERVFAIL, true, &o);
	assert_int_equal(n, 468);
	assert_int_equal(u16_at(out + rdata - 2), n - rdata);
	assert_padding_option(out, rdata, n);
}

static void
test_msg_build_error_padding_needs_room(void **state)
{
	struct dns_opt_out o = {
	    .present = true, .udp_size = 1232, .ede_code = -1};
	uint8_t plain[512], padded[512];
	struct dns_query q;
	size_t n;

	(void)state;
	assert_int_equal(dns_query_parse(q_edns, sizeof(q_edns), &q),
	                 DNS_PARSE_OK);
	n = dns_build_error(plain, sizeof(plain), &q, DNS_RCODE_REFUSED, true,
	                    &o);
	assert_int_equal(n, QUESTION_END + 11);
	/* 468 does not fit in 467 bytes: the same message, unpadded. */
	o.pad_block = 468;
	assert_int_equal(
	    dns_build_error(padded, 467, &q, DNS_RCODE_REFUSED, true, &o), n);
	assert_memory_equal(padded, plain, n);
	assert_int_equal(
	    dns_build_error(padded, 468, &q, DNS_RCODE_REFUSED, true, &o), 468);
	/* No OPT in the query: no OPT, so no padding either. */
	o.present = false;
	assert_int_equal(dns_build_error(padded, sizeof(padded), &q,
	                                 DNS_RCODE_REFUSED, true, &o),
	                 QUESTION_END);
}

/* A padded forwarded answer: the upstream's records, then our OPT. */
static void
test_msg_finish_padded(void **state)
{
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 1232,
	                        .ede_code = -1,
	                        .pad_block = 468};
	uint8_t resp[2048], out[2048];
	struct dns_response r;
	size_t len, n;

	(void)state;
	/* 33 + 30 x 16 = 513 bytes of answer: two blocks. */
	len = big_response(resp, 30, 0);
	assert_int_equal(dns_response_parse(resp, len, &r), 0);
	n = dns_response_finish(out, sizeof(out), resp, &r, 7, &o, DNS_MAX_MSG);
	assert_int_equal(n, 2 * 468);
	assert_int_equal(u16_at(out), 7);          /* the client's ID */
	assert_memory_equal(out + 2, resp + 2, 8); /* flags, QD, AN, NS */
	assert_int_equal(u16_at(out + 10), 1);     /* ARCOUNT: the OPT */
	assert_memory_equal(out + DNS_HEADER_LEN, resp + DNS_HEADER_LEN,
	                    len - DNS_HEADER_LEN);
	assert_int_equal(u16_at(out + len + 9), n - len - 11);
	assert_padding_option(out, len + 11, n);
}

/* RFC 7830 3: whatever the padding octets are, the query is padded. */
static void
test_msg_query_parse_padding(void **state)
{
	/* clang-format off */
	static const uint8_t q_padded[] = {
		0x12, 0x34,		/* ID */
		0x01, 0x00,		/* RD */
		0x00, 0x01,		/* QDCOUNT 1 */
		0x00, 0x00,		/* ANCOUNT 0 */
		0x00, 0x00,		/* NSCOUNT 0 */
		0x00, 0x01,		/* ARCOUNT 1 */
		QUESTION,
		OPT(0, 0x00, 22),	/* RDLENGTH 12 + 10 */
		0x00, 0x0a,		/* COOKIE */
		0x00, 0x08,		/* length 8 */
		1, 2, 3, 4, 5, 6, 7, 8,
		0x00, 0x0c,		/* Padding */
		0x00, 0x06,		/* length 6 */
		0, 0, 0, 0, 0x55, 0,	/* not all 0: still padding */
	};
	static const uint8_t q_empty_padding[] = {
		HDR(0x01, 0x00, 1, 0, 0, 1),
		QUESTION,
		OPT(0, 0x00, 4),
		0x00, 0x0c,		/* Padding */
		0x00, 0x00,		/* length 0 */
	};
	/* clang-format on */
	struct dns_query q;

	(void)state;
	assert_int_equal(dns_query_parse(q_padded, sizeof(q_padded), &q),
	                 DNS_PARSE_OK);
	assert_true(q.edns.present);
	assert_true(q.edns.has_padding);
	assert_true(q.edns.has_cookie);
	assert_int_equal(q.edns.cookie_len, 8);
	assert_int_equal(
	    dns_query_parse(q_empty_padding, sizeof(q_empty_padding), &q),
	    DNS_PARSE_OK);
	assert_true(q.edns.has_padding);
	/* Other options are not padding. */
	assert_int_equal(dns_query_parse(q_edns, sizeof(q_edns), &q),
	                 DNS_PARSE_OK);
	assert_false(q.edns.has_padding);
	/* A Padding option longer than the OPT's RDATA: FORMERR. */
	{
		uint8_t bad[sizeof(q_empty_padding)];

		memcpy(bad, q_empty_padding, sizeof(bad));
		bad[sizeof(bad) - 1] = 1;
		assert_int_equal(dns_query_parse(bad, sizeof(bad), &q),
		                 DNS_PARSE_FORMERR);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msg_query_parse_malformed_table),
	    cmocka_unit_test(test_msg_query_parse_every_truncation_fails),
	    cmocka_unit_test(test_msg_query_parse_preserves_case),
	    cmocka_unit_test(test_msg_query_parse_edns_fields),
	    cmocka_unit_test(test_msg_query_parse_cookie_lengths),
	    cmocka_unit_test(test_msg_query_parse_second_cookie_ignored),
	    cmocka_unit_test(test_msg_query_parse_opt_after_other_additional),
	    cmocka_unit_test(test_msg_query_parse_badvers_fills_edns),
	    cmocka_unit_test(test_msg_build_error_without_opt),
	    cmocka_unit_test(test_msg_build_error_formerr_with_opt),
	    cmocka_unit_test(test_msg_build_error_badvers_split),
	    cmocka_unit_test(test_msg_build_error_badcookie_split),
	    cmocka_unit_test(test_msg_build_error_extended_needs_opt),
	    cmocka_unit_test(test_msg_build_error_without_question),
	    cmocka_unit_test(test_msg_build_error_notimp_keeps_opcode),
	    cmocka_unit_test(test_msg_build_error_notimp_sets_no_query_flags),
	    cmocka_unit_test(test_msg_qtype_is_meta),
	    cmocka_unit_test(test_msg_build_error_cap_too_small),
	    cmocka_unit_test(test_msg_ede_write_code_and_text),
	    cmocka_unit_test(test_msg_ede_write_null_text),
	    cmocka_unit_test(test_msg_padding_write_to_a_multiple),
	    cmocka_unit_test(test_msg_opt_write_cookie_then_ede),
	    cmocka_unit_test(test_msg_upstream_query_own_opt),
	    cmocka_unit_test(test_msg_upstream_query_without_client_edns),
	    cmocka_unit_test(test_msg_upstream_query_needs_question),
	    cmocka_unit_test(test_msg_response_parse_fields),
	    cmocka_unit_test(test_msg_response_parse_extended_rcode),
	    cmocka_unit_test(test_msg_response_parse_without_opt),
	    cmocka_unit_test(test_msg_response_parse_cuts_trailing_bytes),
	    cmocka_unit_test(test_msg_response_parse_rejects),
	    cmocka_unit_test(test_msg_response_parse_bare_error),
	    cmocka_unit_test(test_msg_response_parse_bare_rejects),
	    cmocka_unit_test(test_msg_response_add_question),
	    cmocka_unit_test(test_msg_response_matches),
	    cmocka_unit_test(test_msg_rr_next_walks_sections),
	    cmocka_unit_test(test_msg_finish_replaces_opt),
	    cmocka_unit_test(test_msg_finish_without_client_opt),
	    cmocka_unit_test(test_msg_finish_extended_rcode),
	    cmocka_unit_test(test_msg_finish_truncates_to_limit),
	    cmocka_unit_test(test_msg_finish_drops_ede_first),
	    cmocka_unit_test(test_msg_finish_cap_too_small),
	    cmocka_unit_test(test_msg_truncate_in_place),
	    cmocka_unit_test(test_msg_rcode_names),
	    cmocka_unit_test(test_msg_type_names),
	    cmocka_unit_test(test_msg_type_from_text),
	    cmocka_unit_test(test_msg_class_names),
	    cmocka_unit_test(test_msg_padding_write_to_block),
	    cmocka_unit_test(test_msg_padding_write_needs_room),
	    cmocka_unit_test(test_msg_build_error_padded),
	    cmocka_unit_test(test_msg_build_error_padding_needs_room),
	    cmocka_unit_test(test_msg_finish_padded),
	    cmocka_unit_test(test_msg_query_parse_padding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
