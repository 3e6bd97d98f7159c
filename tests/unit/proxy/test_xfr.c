/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_xfr.c — following a relayed zone transfer
 * (proxy/xfr.h): where an AXFR ends (the second SOA with the first
 * serial, RFC 5936 2.2) however the records are split into messages and
 * whether later messages repeat the question (2.2.1); where an IXFR ends
 * (RFC 1995 4: the third sighting of the new SOA when incremental, the
 * second when answered AXFR-style); the client's ID on every accepted
 * message; what breaks a transfer (wrong ID, QR=0, truncated records);
 * what ends it early (an error RCODE, no answers); the RCODE and message
 * count kept in the state, and xfr_begin starting afresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/msg.h"
#include "proxy/xfr.h"

/* The ID we sent upstream, and the one the client used. */
#define UP_ID     0x1111
#define CLIENT_ID 0x2222

/* Flags of an ordinary upstream answer: QR, opcode QUERY, AA, NOERROR. */
#define ANSWER (DNS_FLAG_QR | DNS_FLAG_AA)

/* No question in the message (a later message of the stream). */
#define NO_QUESTION 0

/*
 * A message built by hand, field by field, so that the bytes under test do
 * not depend on dnsgate's own encoder.
 */
struct msg {
	uint8_t buf[512];
	size_t len;
};

static void
put_u8(struct msg *m, uint8_t v)
{
	assert_true(m->len < sizeof(m->buf));
	m->buf[m->len++] = v;
}

static void
put_u16(struct msg *m, uint16_t v)
{
	put_u8(m, (uint8_t)(v >> 8));
	put_u8(m, (uint8_t)v);
}

static void
put_u32(struct msg *m, uint32_t v)
{
	put_u16(m, (uint16_t)(v >> 16));
	put_u16(m, (uint16_t)v);
}

static void
put_bytes(struct msg *m, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_u8(m, p[i]);
}

/* Uncompressed names: the zone, a host in it, the SOA's MNAME and RNAME. */
static const uint8_t zone[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
static const uint8_t www[] = {3,   'w', 'w', 'w', 7,   'e', 'x',
                              'a', 'm', 'p', 'l', 'e', 0};
static const uint8_t mname[] = {2,   'n', 's', 7,   'e', 'x',
                                'a', 'm', 'p', 'l', 'e', 0};
static const uint8_t rname[] = {10,  'h', 'o', 's', 't', 'm', 'a',
                                's', 't', 'e', 'r', 7,   'e', 'x',
                                'a', 'm', 'p', 'l', 'e', 0};

/* Offset of ANCOUNT in the header (RFC 1035 4.1.1). */
#define ANCOUNT_OFFSET 6

/*
 * Start a message: the header with ANCOUNT 0, then the question
 * "example. IN qtype" unless qtype is NO_QUESTION. Each rr_* call below
 * adds one answer record and counts it in ANCOUNT.
 */
static void
msg_start(struct msg *m, uint16_t id, uint16_t flags, uint16_t qtype)
{
	m->len = 0;
	put_u16(m, id);                           /* ID */
	put_u16(m, flags);                        /* QR, opcode, ..., RCODE */
	put_u16(m, qtype != NO_QUESTION ? 1 : 0); /* QDCOUNT */
	put_u16(m, 0);                            /* ANCOUNT, see rr_count */
	put_u16(m, 0);                            /* NSCOUNT */
	put_u16(m, 0);                            /* ARCOUNT */
	if (qtype != NO_QUESTION) {
		put_bytes(m, zone, sizeof(zone)); /* QNAME */
		put_u16(m, qtype);                /* QTYPE */
		put_u16(m, DNS_CLASS_IN);         /* QCLASS */
	}
}

/* Set ANCOUNT to n, whatever the records say. */
static void
set_ancount(struct msg *m, uint16_t n)
{
	m->buf[ANCOUNT_OFFSET] = (uint8_t)(n >> 8);
	m->buf[ANCOUNT_OFFSET + 1] = (uint8_t)n;
}

/* One more answer record: ANCOUNT + 1. */
static void
rr_count(struct msg *m)
{
	set_ancount(m, (uint16_t)((m->buf[ANCOUNT_OFFSET] << 8 |
	                           m->buf[ANCOUNT_OFFSET + 1]) +
	                          1));
}

/* "example. 3600 IN SOA ns.example. hostmaster.example. serial ..." */
static void
rr_soa(struct msg *m, uint32_t serial)
{
	put_bytes(m, zone, sizeof(zone));                  /* owner */
	put_u16(m, DNS_TYPE_SOA);                          /* TYPE */
	put_u16(m, DNS_CLASS_IN);                          /* CLASS */
	put_u32(m, 3600);                                  /* TTL */
	put_u16(m, sizeof(mname) + sizeof(rname) + 5 * 4); /* RDLENGTH */
	put_bytes(m, mname, sizeof(mname));                /* MNAME */
	put_bytes(m, rname, sizeof(rname));                /* RNAME */
	put_u32(m, serial);                                /* SERIAL */
	put_u32(m, 7200);                                  /* REFRESH */
	put_u32(m, 900);                                   /* RETRY */
	put_u32(m, 1209600);                               /* EXPIRE */
	put_u32(m, 300);                                   /* MINIMUM */
	rr_count(m);
}

/* "www.example. 3600 IN A 192.0.2.host" */
static void
rr_a(struct msg *m, uint8_t host)
{
	put_bytes(m, www, sizeof(www)); /* owner */
	put_u16(m, DNS_TYPE_A);         /* TYPE */
	put_u16(m, DNS_CLASS_IN);       /* CLASS */
	put_u32(m, 3600);               /* TTL */
	put_u16(m, 4);                  /* RDLENGTH */
	put_u8(m, 192);                 /* ADDRESS */
	put_u8(m, 0);
	put_u8(m, 2);
	put_u8(m, host);
	rr_count(m);
}

/* Feed m to x; on acceptance the ID must have become the client's. */
static enum xfr_step
feed(struct xfr_state *x, struct msg *m)
{
	enum xfr_step step = xfr_message(x, m->buf, m->len);

	if (step != XFR_BROKEN)
		assert_int_equal(dns_hdr_id(m->buf, m->len), CLIENT_ID);
	return step;
}

static void
test_xfr_begin_sets_state(void **state)
{
	struct xfr_state x;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	assert_int_equal(x.qtype, DNS_TYPE_AXFR);
	assert_int_equal(x.upstream_id, UP_ID);
	assert_int_equal(x.client_id, CLIENT_ID);
	assert_int_equal(x.messages, 0);
	assert_int_equal(x.records, 0);
	assert_int_equal(x.seen, 0);
	assert_false(x.incremental);
	assert_int_equal(x.rcode, -1); /* no message yet */
}

static void
test_xfr_axfr_single_message_done(void **state)
{
	struct xfr_state x;
	struct msg m, before;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	rr_soa(&m, 100);
	before = m;
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_DONE);
	assert_int_equal(dns_hdr_id(m.buf, m.len), CLIENT_ID);
	/* Only the ID changes: the rest is relayed as it came. */
	assert_int_equal(m.len, before.len);
	assert_memory_equal(m.buf + 2, before.buf + 2, m.len - 2);
	assert_int_equal(x.messages, 1);
	assert_int_equal(x.records, 3);
	assert_int_equal(x.rcode, DNS_RCODE_NOERROR);
}

static void
test_xfr_axfr_multi_message_repeated_question(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_a(&m, 2);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_a(&m, 3);
	rr_soa(&m, 100);
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.messages, 3);
	assert_int_equal(x.records, 5);
}

/* RFC 5936 2.2.1: only the first message need carry the question. */
static void
test_xfr_axfr_multi_message_no_repeated_question(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_a(&m, 2);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_a(&m, 3);
	rr_soa(&m, 100);
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.messages, 3);
}

/* A message may hold any number of records, even only the first SOA. */
static void
test_xfr_axfr_first_soa_alone(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_soa(&m, 100);
	assert_int_equal(feed(&x, &m), XFR_DONE);
}

static void
test_xfr_axfr_other_serial_does_not_end(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	rr_soa(&m, 99);  /* an SOA, but not the first serial */
	rr_soa(&m, 101); /* nor this one */
	assert_int_equal(feed(&x, &m), XFR_MORE);
	assert_int_equal(x.seen, 1);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_a(&m, 2);
	rr_soa(&m, 100);
	assert_int_equal(feed(&x, &m), XFR_DONE);
}

/* A second record that is an SOA makes an IXFR incremental, not an AXFR. */
static void
test_xfr_axfr_second_soa_is_not_incremental(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 3);
	rr_soa(&m, 1);
	rr_a(&m, 1);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	assert_false(x.incremental);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_soa(&m, 3);
	assert_int_equal(feed(&x, &m), XFR_DONE);
}

/*
 * RFC 1995 4, one difference sequence 1 -> 3 through 2: new SOA, then
 * per step old SOA, deletions, new SOA, additions, then the new SOA.
 * The new serial 3 is seen first, at the start of the last additions,
 * and at the end: only the third sighting ends the stream.
 */
static void
test_xfr_ixfr_incremental_ends_at_third_sighting(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_IXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_IXFR);
	rr_soa(&m, 3); /* sighting 1 */
	rr_soa(&m, 1); /* step 1 -> 2: old SOA */
	rr_a(&m, 1);   /* deleted */
	rr_soa(&m, 2); /* new SOA */
	rr_a(&m, 2);   /* added */
	assert_int_equal(feed(&x, &m), XFR_MORE);
	assert_true(x.incremental);
	assert_int_equal(x.seen, 1);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_soa(&m, 2); /* step 2 -> 3: old SOA */
	rr_a(&m, 2);   /* deleted */
	rr_soa(&m, 3); /* new SOA: sighting 2, not the end */
	rr_a(&m, 3);   /* added */
	assert_int_equal(feed(&x, &m), XFR_MORE);
	assert_int_equal(x.seen, 2);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_a(&m, 4);   /* added */
	rr_soa(&m, 3); /* sighting 3: the end */
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.seen, 3);
	assert_int_equal(x.messages, 3);
}

/* The same in one message: the second sighting inside it is not the end. */
static void
test_xfr_ixfr_incremental_single_message(void **state)
{
	struct xfr_state x;
	struct msg m;

	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_IXFR);
	rr_soa(&m, 3); /* sighting 1 */
	rr_soa(&m, 1); /* old SOA */
	rr_a(&m, 1);   /* deleted */
	rr_soa(&m, 3); /* sighting 2 */
	rr_a(&m, 2);   /* added */
	xfr_begin(&x, DNS_TYPE_IXFR, UP_ID, CLIENT_ID);
	assert_int_equal(feed(&x, &m), XFR_MORE);

	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_IXFR);
	rr_soa(&m, 3); /* sighting 1 */
	rr_soa(&m, 1); /* old SOA */
	rr_a(&m, 1);   /* deleted */
	rr_soa(&m, 3); /* sighting 2 */
	rr_a(&m, 2);   /* added */
	rr_soa(&m, 3); /* sighting 3 */
	xfr_begin(&x, DNS_TYPE_IXFR, UP_ID, CLIENT_ID);
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.records, 6);
}

/* RFC 1995 4: a server may answer an IXFR with the whole zone. */
static void
test_xfr_ixfr_axfr_style_ends_at_second_sighting(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_IXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_IXFR);
	rr_soa(&m, 3);
	rr_a(&m, 1);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	assert_false(x.incremental);
	msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
	rr_a(&m, 2);
	rr_soa(&m, 3);
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.seen, 2);
}

/*
 * Real servers compress: owner and SOA names point to the question's
 * QNAME at offset 12 (RFC 1035 4.1.4); @n marks an offset a pointer
 * uses. The serial is still found.
 */
static void
test_xfr_compressed_soa_names(void **state)
{
	struct xfr_state x;
	uint8_t msg[] = {
	    0x11, 0x11,                         /* ID UP_ID */
	    0x84, 0x00,                         /* QR, AA, NOERROR */
	    0x00, 0x01,                         /* QDCOUNT */
	    0x00, 0x03,                         /* ANCOUNT: SOA, A, SOA */
	    0x00, 0x00,                         /* NSCOUNT */
	    0x00, 0x00,                         /* ARCOUNT */
	    7,    'e',  'x',  'a',  'm',  'p',  /* @12 QNAME example. */
	    'l',  'e',  0,                      /* (QNAME ends) */
	    0x00, 0xfc,                         /* QTYPE AXFR */
	    0x00, 0x01,                         /* QCLASS IN */
	    0xc0, 0x0c,                         /* SOA owner -> example. */
	    0x00, 0x06,                         /* TYPE SOA */
	    0x00, 0x01,                         /* CLASS IN */
	    0x00, 0x00, 0x0e, 0x10,             /* TTL 3600 */
	    0x00, 29,                           /* RDLENGTH */
	    2,    'n',  's',  0xc0, 0x0c,       /* @37 MNAME ns.example. */
	    1,    'h',  0xc0, 0x0c,             /* @42 RNAME h.example. */
	    0x01, 0x02, 0x03, 0x04,             /* SERIAL */
	    0x00, 0x00, 0x1c, 0x20,             /* REFRESH 7200 */
	    0x00, 0x00, 0x03, 0x84,             /* RETRY 900 */
	    0x00, 0x12, 0x75, 0x00,             /* EXPIRE 1209600 */
	    0x00, 0x00, 0x01, 0x2c,             /* MINIMUM 300 */
	    3,    'w',  'w',  'w',  0xc0, 0x0c, /* A owner www.example. */
	    0x00, 0x01,                         /* TYPE A */
	    0x00, 0x01,                         /* CLASS IN */
	    0x00, 0x00, 0x0e, 0x10,             /* TTL 3600 */
	    0x00, 4,                            /* RDLENGTH */
	    192,  0,    2,    1,                /* ADDRESS */
	    0xc0, 0x0c,                         /* SOA owner -> example. */
	    0x00, 0x06,                         /* TYPE SOA */
	    0x00, 0x01,                         /* CLASS IN */
	    0x00, 0x00, 0x0e, 0x10,             /* TTL 3600 */
	    0x00, 24,                           /* RDLENGTH */
	    0xc0, 37,                           /* MNAME -> ns.example. */
	    0xc0, 42,                           /* RNAME -> h.example. */
	    0x01, 0x02, 0x03, 0x04,             /* SERIAL */
	    0x00, 0x00, 0x1c, 0x20,             /* REFRESH 7200 */
	    0x00, 0x00, 0x03, 0x84,             /* RETRY 900 */
	    0x00, 0x12, 0x75, 0x00,             /* EXPIRE 1209600 */
	    0x00, 0x00, 0x01, 0x2c,             /* MINIMUM 300 */
	};

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	assert_int_equal(xfr_message(&x, msg, sizeof(msg)), XFR_DONE);
	assert_int_equal(x.serial, 0x01020304);
	assert_int_equal(x.seen, 2);
	assert_int_equal(dns_hdr_id(msg, sizeof(msg)), CLIENT_ID);
}

static void
test_xfr_wrong_id_broken(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID + 1, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	rr_soa(&m, 100);
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_BROKEN);
	assert_int_equal(dns_hdr_id(m.buf, m.len), UP_ID + 1); /* untouched */
	assert_int_equal(x.messages, 0);
	assert_int_equal(x.rcode, -1);

	/* Later in the stream too. */
	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	msg_start(&m, CLIENT_ID, ANSWER, NO_QUESTION);
	rr_soa(&m, 100);
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_BROKEN);
	assert_int_equal(x.messages, 1);
}

static void
test_xfr_query_broken(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, DNS_FLAG_AA, DNS_TYPE_AXFR); /* QR=0 */
	rr_soa(&m, 100);
	rr_a(&m, 1);
	rr_soa(&m, 100);
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_BROKEN);
	assert_int_equal(dns_hdr_id(m.buf, m.len), UP_ID);
	assert_int_equal(x.messages, 0);

	/* With no answers either: QR=0 is checked before ANCOUNT 0 ends. */
	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, 0, DNS_TYPE_AXFR);
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_BROKEN);
}

static void
test_xfr_truncated_record_broken(void **state)
{
	struct xfr_state x;
	struct msg m;
	/* Header, QNAME, QTYPE and QCLASS: the records start here. */
	size_t question_end = DNS_HEADER_LEN + sizeof(zone) + 2 + 2;
	size_t full;

	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	full = m.len;
	/* Cut anywhere inside the records: inside the A, the SOA's serial. */
	for (size_t len = full - 1; len > question_end; len--) {
		xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
		assert_int_equal(xfr_message(&x, m.buf, len), XFR_BROKEN);
		assert_int_equal(dns_hdr_id(m.buf, len), UP_ID);
		assert_int_equal(x.messages, 0);
	}
	/* Inside the question, and shorter than a header. */
	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	assert_int_equal(xfr_message(&x, m.buf, DNS_HEADER_LEN + 3),
	                 XFR_BROKEN);
	assert_int_equal(xfr_message(&x, m.buf, DNS_HEADER_LEN - 1),
	                 XFR_BROKEN);
	assert_int_equal(xfr_message(&x, m.buf, 0), XFR_BROKEN);
	/* ANCOUNT promises a record that is not there. */
	set_ancount(&m, 3);
	assert_int_equal(xfr_message(&x, m.buf, full), XFR_BROKEN);
}

static void
test_xfr_rdlength_past_end_broken(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	/* The A's RDLENGTH (just before its 4 address bytes) says 5. */
	m.buf[m.len - 5] = 5;
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_BROKEN);
}

static void
test_xfr_refused_done(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, DNS_FLAG_QR | DNS_RCODE_REFUSED, DNS_TYPE_AXFR);
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(x.messages, 1);
	/* Passed on as it is, with the client's ID. */
	assert_int_equal(dns_hdr_rcode(m.buf, m.len), DNS_RCODE_REFUSED);
}

/* An error later in the stream ends it too; the RCODE kept is the first. */
static void
test_xfr_error_mid_stream_done(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	rr_a(&m, 1);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	msg_start(&m, UP_ID, DNS_FLAG_QR | DNS_RCODE_SERVFAIL, NO_QUESTION);
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(x.messages, 2);
}

static void
test_xfr_noerror_no_answers_done(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR); /* ANCOUNT 0 */
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_int_equal(x.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(x.messages, 1);
	assert_int_equal(x.records, 0);
}

/* Accepted messages count, a broken one does not. */
static void
test_xfr_messages_counter(void **state)
{
	struct xfr_state x;
	struct msg m;

	xfr_begin(&x, DNS_TYPE_AXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 100);
	assert_int_equal(feed(&x, &m), XFR_MORE);
	assert_int_equal(x.messages, 1);
	for (unsigned i = 2; i <= 10; i++) {
		msg_start(&m, UP_ID, ANSWER, NO_QUESTION);
		rr_a(&m, (uint8_t)i);
		assert_int_equal(feed(&x, &m), XFR_MORE);
		assert_int_equal(x.messages, i);
	}
	msg_start(&m, UP_ID, DNS_FLAG_AA, NO_QUESTION); /* QR=0 */
	rr_a(&m, 11);
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_BROKEN);
	assert_int_equal(x.messages, 10);
}

static void
test_xfr_begin_resets_previous_transfer(void **state)
{
	struct xfr_state x;
	struct msg m;

	/* An incremental IXFR with new serial 200, taken to its end. */
	xfr_begin(&x, DNS_TYPE_IXFR, UP_ID, CLIENT_ID);
	msg_start(&m, UP_ID, DNS_FLAG_QR, DNS_TYPE_IXFR);
	rr_soa(&m, 200);
	rr_soa(&m, 100);
	rr_soa(&m, 200);
	rr_soa(&m, 200);
	assert_int_equal(feed(&x, &m), XFR_DONE);
	assert_true(x.incremental);

	/* A new AXFR under other IDs: nothing of the old one is left. */
	xfr_begin(&x, DNS_TYPE_AXFR, 0x3333, 0x4444);
	assert_int_equal(x.qtype, DNS_TYPE_AXFR);
	assert_int_equal(x.upstream_id, 0x3333);
	assert_int_equal(x.client_id, 0x4444);
	assert_int_equal(x.messages, 0);
	assert_int_equal(x.records, 0);
	assert_int_equal(x.seen, 0);
	assert_false(x.incremental);
	assert_int_equal(x.rcode, -1);
	/* The old upstream ID is no longer ours. */
	msg_start(&m, UP_ID, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 300);
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_BROKEN);
	xfr_begin(&x, DNS_TYPE_AXFR, 0x3333, 0x4444);
	msg_start(&m, 0x3333, ANSWER, DNS_TYPE_AXFR);
	rr_soa(&m, 300);
	rr_soa(&m, 200); /* the old serial means nothing now */
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_MORE);
	assert_int_equal(dns_hdr_id(m.buf, m.len), 0x4444);
	msg_start(&m, 0x3333, ANSWER, NO_QUESTION);
	rr_soa(&m, 300);
	assert_int_equal(xfr_message(&x, m.buf, m.len), XFR_DONE);
	assert_int_equal(x.messages, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xfr_begin_sets_state),
	    cmocka_unit_test(test_xfr_axfr_single_message_done),
	    cmocka_unit_test(test_xfr_axfr_multi_message_repeated_question),
	    cmocka_unit_test(test_xfr_axfr_multi_message_no_repeated_question),
	    cmocka_unit_test(test_xfr_axfr_first_soa_alone),
	    cmocka_unit_test(test_xfr_axfr_other_serial_does_not_end),
	    cmocka_unit_test(test_xfr_axfr_second_soa_is_not_incremental),
	    cmocka_unit_test(test_xfr_ixfr_incremental_ends_at_third_sighting),
	    cmocka_unit_test(test_xfr_ixfr_incremental_single_message),
	    cmocka_unit_test(test_xfr_ixfr_axfr_style_ends_at_second_sighting),
	    cmocka_unit_test(test_xfr_compressed_soa_names),
	    cmocka_unit_test(test_xfr_wrong_id_broken),
	    cmocka_unit_test(test_xfr_query_broken),
	    cmocka_unit_test(test_xfr_truncated_record_broken),
	    cmocka_unit_test(test_xfr_rdlength_past_end_broken),
	    cmocka_unit_test(test_xfr_refused_done),
	    cmocka_unit_test(test_xfr_error_mid_stream_done),
	    cmocka_unit_test(test_xfr_noerror_no_answers_done),
	    cmocka_unit_test(test_xfr_messages_counter),
	    cmocka_unit_test(test_xfr_begin_resets_previous_transfer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
