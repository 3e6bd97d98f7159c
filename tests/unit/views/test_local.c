/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/views/test_local.c — local zones and local data: every zone
 * type against {data match, other type at a data name, empty non-terminal,
 * absent name}, implicit zones, CNAME chains, negative answers with SOA,
 * and the messages local_build_answer writes, decoded back with
 * dns_rr_next.
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
#include "views/local.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RRS      16

/* Add lines ("zone NAME TYPE" or "data RR") that must all be valid. */
static void
build(struct local_data *ld, const char *const *lines, size_t n)
{
	char err[256];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		err[0] = '\0';
		if (strncmp(lines[i], "zone ", 5) == 0)
			r = local_add_zone(ld, lines[i] + 5, err, sizeof(err));
		else
			r = local_add_data(ld, lines[i] + 5, err, sizeof(err));
		if (r != 0)
			print_error("'%s': %s\n", lines[i], err);
		assert_int_equal(r, 0);
	}
	assert_int_equal(local_finish(ld), 0);
}

static void
wire_name(const char *text, uint8_t *out)
{
	assert_int_not_equal(dns_name_from_text(text, NULL, out), 0);
}

static enum local_result
lookup(const struct local_data *ld, const char *qname, uint16_t qtype,
       const struct local_zone **zone)
{
	uint8_t name[DNS_NAME_MAX];

	wire_name(qname, name);
	return local_lookup(ld, name, qtype, zone);
}

/* A query as dns_query_parse would leave it: ID 0xbeef, RD=1, no EDNS. */
static void
query_make(struct dns_query *q, const char *qname, uint16_t qtype)
{
	memset(q, 0, sizeof(*q));
	q->hdr.id = 0xbeef;
	q->hdr.flags = DNS_FLAG_RD;
	q->hdr.qdcount = 1;
	q->qname_len = dns_name_from_text(qname, NULL, q->qname);
	assert_int_not_equal(q->qname_len, 0);
	q->qtype = qtype;
	q->qclass = DNS_CLASS_IN;
	q->question_end = DNS_HEADER_LEN + q->qname_len + 4;
}

/* A response taken apart with the codec. */
struct decoded {
	struct dns_header h;
	uint8_t qname[DNS_NAME_MAX];
	uint16_t qtype;
	struct dns_rr rr[MAX_RRS]; /* answer, authority, additional */
	unsigned nrr;
	const uint8_t *msg;
};

static void
decode(const uint8_t *msg, size_t len, struct decoded *d)
{
	struct wire w;
	unsigned i;

	memset(d, 0, sizeof(*d));
	d->msg = msg;
	wire_init(&w, msg, len);
	d->h.id = wire_u16(&w);
	d->h.flags = wire_u16(&w);
	d->h.qdcount = wire_u16(&w);
	d->h.ancount = wire_u16(&w);
	d->h.nscount = wire_u16(&w);
	d->h.arcount = wire_u16(&w);
	assert_int_equal(d->h.qdcount, 1);
	assert_int_not_equal(dns_name_read(&w, d->qname), 0);
	d->qtype = wire_u16(&w);
	assert_int_equal(wire_u16(&w), DNS_CLASS_IN);
	d->nrr = (unsigned)d->h.ancount + d->h.nscount + d->h.arcount;
	assert_true(d->nrr <= MAX_RRS);
	for (i = 0; i < d->nrr; i++)
		assert_int_equal(dns_rr_next(&w, &d->rr[i]), 0);
	/* Nothing after the last RR. */
	assert_int_equal(w.err, 0);
	assert_int_equal(wire_left(&w), 0);
}

/* Build the answer for qname/qtype as local_lookup decides, and decode it. */
static enum local_result
answer(const struct local_data *ld, const char *qname, uint16_t qtype,
       uint8_t *buf, size_t cap, struct decoded *d)
{
	const struct local_zone *zone;
	struct dns_query q;
	enum local_result r;
	size_t len;

	query_make(&q, qname, qtype);
	r = local_lookup(ld, q.qname, qtype, &zone);
	len = local_build_answer(buf, cap, &q, ld, zone, r, NULL);
	assert_int_not_equal(len, 0);
	decode(buf, len, d);
	assert_int_equal(d->h.id, 0xbeef);
	assert_true(dns_name_equal(d->qname, q.qname));
	assert_int_equal(d->qtype, qtype);
	return r;
}

static void
assert_owner(const struct dns_rr *rr, const char *text)
{
	uint8_t name[DNS_NAME_MAX];

	wire_name(text, name);
	assert_true(dns_name_equal(rr->owner, name));
}

static void
assert_zone(const struct local_zone *z, const char *name, int type)
{
	uint8_t want[DNS_NAME_MAX];

	assert_non_null(z);
	wire_name(name, want);
	assert_true(dns_name_equal(z->name, want));
	assert_int_equal(z->type, type);
}

/*
 * Every zone type over the same data: "www.a.Z A 192.0.2.1" makes a.Z an
 * empty non-terminal. The four columns of the matrix: the RRset asked
 * for, another type at the data name, the empty non-terminal, and a name
 * that does not exist.
 */
static const char *const matrix_lines[] = {
    "zone static.test static",
    "zone trans.test transparent",
    "zone refuse.test refuse",
    "zone drop.test drop",
    "zone nx.test nxdomain",
    "zone nod.test nodata",
    "data www.a.static.test. A 192.0.2.1",
    "data www.a.trans.test. A 192.0.2.1",
    "data www.a.refuse.test. A 192.0.2.1",
    "data www.a.drop.test. A 192.0.2.1",
    "data www.a.nx.test. A 192.0.2.1",
    "data www.a.nod.test. A 192.0.2.1",
};

static void
matrix_check(void **state, const char *zone, int type,
             const enum local_result want[4])
{
	static const char *const prefixes[] = {"www.a", "www.a", "a", "absent"};
	static const uint16_t qtypes[] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_A,
	                                  DNS_TYPE_A};
	const struct local_data *ld = *state;
	const struct local_zone *z;
	char qname[64];
	size_t i;

	for (i = 0; i < 4; i++) {
		(void)snprintf(qname, sizeof(qname), "%s.%s", prefixes[i],
		               zone);
		if (lookup(ld, qname, qtypes[i], &z) != want[i])
			print_error("%s %u\n", qname, (unsigned)qtypes[i]);
		assert_int_equal(lookup(ld, qname, qtypes[i], &z), want[i]);
		if (want[i] == LOCAL_PASS)
			assert_null(z);
		else
			assert_zone(z, zone, type);
	}
}

static int
matrix_setup(void **state)
{
	struct local_data *ld = calloc(1, sizeof(*ld));

	if (ld == NULL)
		return -1;
	build(ld, matrix_lines, ARRAY_LEN(matrix_lines));
	*state = ld;
	return 0;
}

static int
matrix_teardown(void **state)
{
	local_free(*state);
	free(*state);
	return 0;
}

static void
test_local_static_zone(void **state)
{
	static const enum local_result want[4] = {LOCAL_ANSWER, LOCAL_NODATA,
	                                          LOCAL_NODATA, LOCAL_NXDOMAIN};

	matrix_check(state, "static.test", LZ_STATIC, want);
}

static void
test_local_transparent_zone(void **state)
{
	static const enum local_result want[4] = {LOCAL_ANSWER, LOCAL_NODATA,
	                                          LOCAL_NODATA, LOCAL_PASS};

	matrix_check(state, "trans.test", LZ_TRANSPARENT, want);
}

static void
test_local_refuse_zone(void **state)
{
	static const enum local_result want[4] = {LOCAL_ANSWER, LOCAL_REFUSE,
	                                          LOCAL_REFUSE, LOCAL_REFUSE};

	matrix_check(state, "refuse.test", LZ_REFUSE, want);
}

static void
test_local_drop_zone(void **state)
{
	static const enum local_result want[4] = {LOCAL_ANSWER, LOCAL_DROP,
	                                          LOCAL_DROP, LOCAL_DROP};

	matrix_check(state, "drop.test", LZ_DROP, want);
}

/* Names that exist are never NXDOMAIN (RFC 8020): as static. */
static void
test_local_nxdomain_zone(void **state)
{
	static const enum local_result want[4] = {LOCAL_ANSWER, LOCAL_NODATA,
	                                          LOCAL_NODATA, LOCAL_NXDOMAIN};

	matrix_check(state, "nx.test", LZ_NXDOMAIN, want);
}

static void
test_local_nodata_zone(void **state)
{
	static const enum local_result want[4] = {LOCAL_ANSWER, LOCAL_NODATA,
	                                          LOCAL_NODATA, LOCAL_NODATA};

	matrix_check(state, "nod.test", LZ_NODATA, want);
}

static void
test_local_zone_apex_and_outside(void **state)
{
	const struct local_data *ld = *state;
	const struct local_zone *z = (const void *)1;

	/* The apex is in the zone; it exists (data below it). */
	assert_int_equal(lookup(ld, "static.test", DNS_TYPE_A, &z),
	                 LOCAL_NODATA);
	assert_zone(z, "static.test", LZ_STATIC);
	assert_int_equal(lookup(ld, "refuse.test", DNS_TYPE_A, &z),
	                 LOCAL_REFUSE);
	/* Outside every zone, and only label boundaries count. */
	assert_int_equal(lookup(ld, "test", DNS_TYPE_A, &z), LOCAL_PASS);
	assert_null(z);
	assert_int_equal(lookup(ld, "xstatic.test", DNS_TYPE_A, &z),
	                 LOCAL_PASS);
	assert_int_equal(lookup(ld, ".", DNS_TYPE_NS, &z), LOCAL_PASS);
	/* Names compare without case. */
	assert_int_equal(lookup(ld, "WWW.A.Static.TEST", DNS_TYPE_A, &z),
	                 LOCAL_ANSWER);
	assert_int_equal(lookup(ld, "Absent.NX.test", DNS_TYPE_A, &z),
	                 LOCAL_NXDOMAIN);
	/* QTYPE 0 (reserved) matches no data. */
	assert_int_equal(lookup(ld, "www.a.static.test", 0, &z), LOCAL_NODATA);
	/* A NULL zone pointer is allowed. */
	assert_int_equal(lookup(ld, "www.a.drop.test", DNS_TYPE_A, NULL),
	                 LOCAL_ANSWER);
}

static void
test_local_implicit_transparent_zone(void **state)
{
	static const char *const lines[] = {
	    "data host.example. A 10.0.0.1",
	    "data sub.host.example. TXT below",
	    "data other.example. A 10.0.0.2",
	};
	struct local_data ld = {0};
	const struct local_zone *z;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	/* One zone per owner not under another: host.example, other.example. */
	assert_int_equal(ld.nzones, 2);
	assert_int_equal(lookup(&ld, "host.example", DNS_TYPE_A, &z),
	                 LOCAL_ANSWER);
	assert_int_equal(lookup(&ld, "host.example", DNS_TYPE_AAAA, &z),
	                 LOCAL_NODATA);
	assert_zone(z, "host.example", LZ_TRANSPARENT);
	assert_true(z->implicit);
	assert_int_equal(lookup(&ld, "sub.host.example", DNS_TYPE_TXT, &z),
	                 LOCAL_ANSWER);
	assert_zone(z, "host.example", LZ_TRANSPARENT);
	/* In the zone but not in local data: forwarded. */
	assert_int_equal(lookup(&ld, "x.host.example", DNS_TYPE_A, &z),
	                 LOCAL_PASS);
	assert_null(z);
	/* The parent is not in a zone at all. */
	assert_int_equal(lookup(&ld, "example", DNS_TYPE_A, &z), LOCAL_PASS);
	local_free(&ld);
}

static void
test_local_no_implicit_zone_under_explicit(void **state)
{
	static const char *const lines[] = {
	    "data www.corp.example. A 10.0.0.1",
	    "zone corp.example static", /* order does not matter */
	};
	struct local_data ld = {0};
	const struct local_zone *z;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(ld.nzones, 1);
	assert_false(ld.zones[0].implicit);
	assert_int_equal(lookup(&ld, "www.corp.example", DNS_TYPE_AAAA, &z),
	                 LOCAL_NODATA);
	assert_zone(z, "corp.example", LZ_STATIC);
	local_free(&ld);
}

static void
test_local_most_specific_zone_wins(void **state)
{
	static const char *const lines[] = {
	    "zone example. refuse",
	    "zone corp.example. static",
	    "zone open.corp.example. transparent",
	};
	struct local_data ld = {0};
	const struct local_zone *z;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(lookup(&ld, "x.example", DNS_TYPE_A, &z),
	                 LOCAL_REFUSE);
	assert_zone(z, "example", LZ_REFUSE);
	assert_int_equal(lookup(&ld, "x.corp.example", DNS_TYPE_A, &z),
	                 LOCAL_NXDOMAIN);
	assert_zone(z, "corp.example", LZ_STATIC);
	assert_int_equal(lookup(&ld, "a.b.open.corp.example", DNS_TYPE_A, &z),
	                 LOCAL_PASS);
	assert_null(z);
	local_free(&ld);
}

static void
test_local_answer_message_bytes(void **state)
{
	static const char *const lines[] = {
	    "data www.x. 300 A 192.0.2.1",
	};
	static const uint8_t want[] = {
	    0xbe, 0xef,                       /* ID */
	    0x85, 0x80,                       /* QR, AA, RD, RA; NOERROR */
	    0,    1,                          /* QDCOUNT */
	    0,    1,                          /* ANCOUNT */
	    0,    0,                          /* NSCOUNT */
	    0,    1,                          /* ARCOUNT: the OPT */
	    3,    'W',  'w', 'W',  1, 'x', 0, /* QNAME, case as asked */
	    0,    1,    0,   1,               /* QTYPE A, QCLASS IN */
	    0xc0, 0x0c,                       /* owner: pointer to the QNAME */
	    0,    1,    0,   1,               /* TYPE A, CLASS IN */
	    0,    0,    1,   0x2c,            /* TTL 300 */
	    0,    4,    192, 0,    2, 1,      /* RDLENGTH 4, 192.0.2.1 */
	    0,                                /* OPT: owner root */
	    0,    41,                         /* TYPE OPT */
	    0x04, 0xd0,                       /* UDP payload 1232 */
	    0,    0,    0,   0,               /* ext RCODE, version, flags */
	    0,    0,                          /* RDLENGTH 0 */
	};
	const struct dns_opt_out o = {
	    .present = true, .udp_size = 1232, .ede_code = -1};
	struct local_data ld = {0};
	const struct local_zone *zone;
	struct dns_query q;
	uint8_t buf[512];
	size_t len;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	query_make(&q, "WwW.x", DNS_TYPE_A);
	assert_int_equal(local_lookup(&ld, q.qname, q.qtype, &zone),
	                 LOCAL_ANSWER);
	len = local_build_answer(buf, sizeof(buf), &q, &ld, zone, LOCAL_ANSWER,
	                         &o);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* One byte short: nothing. */
	assert_int_equal(local_build_answer(buf, sizeof(want) - 1, &q, &ld,
	                                    zone, LOCAL_ANSWER, &o),
	                 0);
	local_free(&ld);
}

static void
test_local_nxdomain_synthesized_soa_bytes(void **state)
{
	static const char *const lines[] = {"zone x. static"};
	static const uint8_t want[] = {
	    0xbe, 0xef, /* ID */
	    0x85, 0x83, /* QR AA RD RA, NXDOMAIN */
	    0,    1,    0,    0,    0,   1,   0,   0, /* QD 1, AN 0, NS 1, AR 0
	                                               */
	    1,    'a',  1,    'x',  0,                /* QNAME a.x. */
	    0,    16,   0,    1,                      /* QTYPE TXT, QCLASS IN */
	    1,    'x',  0,                            /* owner: the zone x. */
	    0,    6,    0,    1,                      /* TYPE SOA, CLASS IN */
	    0,    0,    0x0e, 0x10,                   /* TTL min(3600, 10800) */
	    0,    47,                                 /* RDLENGTH */
	    9,    'l',  'o',  'c',  'a', 'l', 'h', 'o', 's', 't', 0, /* MNAME */
	    6,    'n',  'o',  'b',  'o', 'd', 'y',         /* RNAME nobody. */
	    7,    'i',  'n',  'v',  'a', 'l', 'i', 'd', 0, /* invalid. */
	    0,    0,    0,    1,                           /* SERIAL 1 */
	    0,    0,    0x0e, 0x10,                        /* REFRESH 3600 */
	    0,    0,    0x04, 0xb0,                        /* RETRY 1200 */
	    0,    0x09, 0x3a, 0x80,                        /* EXPIRE 604800 */
	    0,    0,    0x2a, 0x30,                        /* MINIMUM 10800 */
	};
	struct local_data ld = {0};
	const struct local_zone *zone;
	struct dns_query q;
	uint8_t buf[512];
	size_t len;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	query_make(&q, "a.x", DNS_TYPE_TXT);
	assert_int_equal(local_lookup(&ld, q.qname, q.qtype, &zone),
	                 LOCAL_NXDOMAIN);
	len = local_build_answer(buf, sizeof(buf), &q, &ld, zone,
	                         LOCAL_NXDOMAIN, NULL);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	local_free(&ld);
}

static void
test_local_negative_soa_from_local_data(void **state)
{
	static const char *const lines[] = {
	    "zone s.test static",
	    "data s.test. 7200 SOA ns.s.test. h.s.test. 1 3600 600 86400 300",
	    "data www.s.test. A 192.0.2.1",
	};
	struct local_data ld = {0};
	struct decoded d;
	uint8_t buf[512];
	struct wire w;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	/* NXDOMAIN: SOA in the authority section, TTL min(7200, 300). */
	assert_int_equal(
	    answer(&ld, "nope.s.test", DNS_TYPE_A, buf, sizeof(buf), &d),
	    LOCAL_NXDOMAIN);
	assert_int_equal(DNS_RCODE(d.h.flags), DNS_RCODE_NXDOMAIN);
	assert_int_equal(d.h.ancount, 0);
	assert_int_equal(d.h.nscount, 1);
	assert_int_equal(d.h.arcount, 0);
	assert_int_equal(d.rr[0].type, DNS_TYPE_SOA);
	assert_owner(&d.rr[0], "s.test");
	assert_int_equal(d.rr[0].ttl, 300);
	/* The RDATA is the one from local data: MNAME ns.s.test. */
	wire_init(&w, buf, sizeof(buf));
	wire_seek(&w, d.rr[0].rdata_offset);
	assert_int_equal(wire_u8(&w), 2);
	assert_int_equal(wire_u8(&w), 'n');
	/* NODATA at a data name: NOERROR, same SOA. */
	assert_int_equal(
	    answer(&ld, "www.s.test", DNS_TYPE_MX, buf, sizeof(buf), &d),
	    LOCAL_NODATA);
	assert_int_equal(DNS_RCODE(d.h.flags), DNS_RCODE_NOERROR);
	assert_int_equal(d.h.ancount, 0);
	assert_int_equal(d.h.nscount, 1);
	assert_int_equal(d.rr[0].ttl, 300);
	/* The SOA itself is data at the apex. */
	assert_int_equal(
	    answer(&ld, "s.test", DNS_TYPE_SOA, buf, sizeof(buf), &d),
	    LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 1);
	assert_int_equal(d.rr[0].ttl, 7200);
	local_free(&ld);
}

static void
test_local_nodata_in_implicit_zone_has_soa(void **state)
{
	static const char *const lines[] = {"data h.example. A 10.0.0.1"};
	struct local_data ld = {0};
	struct decoded d;
	uint8_t buf[512];

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(
	    answer(&ld, "h.example", DNS_TYPE_AAAA, buf, sizeof(buf), &d),
	    LOCAL_NODATA);
	assert_int_equal(d.h.flags,
	                 DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RD | DNS_FLAG_RA);
	assert_int_equal(d.h.nscount, 1);
	assert_int_equal(d.rr[0].type, DNS_TYPE_SOA);
	assert_owner(&d.rr[0], "h.example");
	assert_int_equal(d.rr[0].ttl, 3600);
	local_free(&ld);
}

static void
test_local_answer_rrset_with_flags_and_counts(void **state)
{
	static const char *const lines[] = {
	    "data m.x. 60 A 10.0.0.1",
	    "data m.x. 60 A 10.0.0.2",
	    "data m.x. 60 A 10.0.0.3",
	    "data m.x. 60 AAAA 2001:db8::1",
	};
	struct local_data ld = {0};
	struct decoded d;
	uint8_t buf[512];
	unsigned i;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(answer(&ld, "m.x", DNS_TYPE_A, buf, sizeof(buf), &d),
	                 LOCAL_ANSWER);
	assert_true(d.h.flags & DNS_FLAG_QR);
	assert_true(d.h.flags & DNS_FLAG_AA);
	assert_true(d.h.flags & DNS_FLAG_RA);
	assert_true(d.h.flags & DNS_FLAG_RD);
	assert_int_equal(DNS_OPCODE(d.h.flags), 0);
	assert_int_equal(DNS_RCODE(d.h.flags), DNS_RCODE_NOERROR);
	assert_int_equal(d.h.ancount, 3);
	assert_int_equal(d.h.nscount, 0);
	/* In the order the lines were given. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(d.rr[i].type, DNS_TYPE_A);
		assert_int_equal(d.rr[i].ttl, 60);
		assert_int_equal(d.rr[i].rdlength, 4);
		assert_int_equal(buf[d.rr[i].rdata_offset + 3], i + 1);
	}
	local_free(&ld);
}

static void
test_local_any_returns_every_rrset(void **state)
{
	static const char *const lines[] = {
	    "data m.x. A 10.0.0.1",
	    "data m.x. AAAA 2001:db8::1",
	    "data m.x. TXT hello",
	};
	struct local_data ld = {0};
	struct decoded d;
	uint8_t buf[512];

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(answer(&ld, "m.x", DNS_TYPE_ANY, buf, sizeof(buf), &d),
	                 LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 3);
	local_free(&ld);
}

static void
test_local_cname_answer_followed_within_local_data(void **state)
{
	static const char *const lines[] = {
	    "zone c.test static",
	    "data alias.c.test. 100 CNAME target.c.test.",
	    "data target.c.test. 200 A 192.0.2.7",
	    "data out.c.test. CNAME www.elsewhere.example.",
	};
	struct local_data ld = {0};
	struct decoded d;
	uint8_t buf[512];

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(
	    answer(&ld, "alias.c.test", DNS_TYPE_A, buf, sizeof(buf), &d),
	    LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 2);
	assert_int_equal(d.rr[0].type, DNS_TYPE_CNAME);
	assert_owner(&d.rr[0], "alias.c.test");
	assert_int_equal(d.rr[0].ttl, 100);
	assert_int_equal(d.rr[1].type, DNS_TYPE_A);
	assert_owner(&d.rr[1], "target.c.test");
	assert_int_equal(d.rr[1].ttl, 200);
	/* Asking for the CNAME itself gives only the CNAME. */
	assert_int_equal(
	    answer(&ld, "alias.c.test", DNS_TYPE_CNAME, buf, sizeof(buf), &d),
	    LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 1);
	/* A target outside local data: the CNAME alone. */
	assert_int_equal(
	    answer(&ld, "out.c.test", DNS_TYPE_A, buf, sizeof(buf), &d),
	    LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 1);
	/* A target without the type: the CNAME alone, NOERROR. */
	assert_int_equal(
	    answer(&ld, "alias.c.test", DNS_TYPE_AAAA, buf, sizeof(buf), &d),
	    LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 1);
	assert_int_equal(DNS_RCODE(d.h.flags), DNS_RCODE_NOERROR);
	local_free(&ld);
}

static void
test_local_cname_chain_capped_at_eight(void **state)
{
	struct local_data ld = {0};
	char line[128], err[128];
	struct decoded d;
	uint8_t buf[1024];
	int i;

	(void)state;
	/* c0 -> c1 -> ... -> c10, and c10 has an A. */
	for (i = 0; i < 10; i++) {
		(void)snprintf(line, sizeof(line), "c%d.x. CNAME c%d.x.", i,
		               i + 1);
		assert_int_equal(local_add_data(&ld, line, err, sizeof(err)),
		                 0);
	}
	assert_int_equal(
	    local_add_data(&ld, "c10.x. A 10.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(local_finish(&ld), 0);
	assert_int_equal(answer(&ld, "c0.x", DNS_TYPE_A, buf, sizeof(buf), &d),
	                 LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 8);
	assert_owner(&d.rr[7], "c7.x");
	/* Two links from the end: the whole chain and the A. */
	assert_int_equal(answer(&ld, "c8.x", DNS_TYPE_A, buf, sizeof(buf), &d),
	                 LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 3);
	assert_int_equal(d.rr[2].type, DNS_TYPE_A);
	local_free(&ld);
}

static void
test_local_cname_loop_stops(void **state)
{
	static const char *const lines[] = {
	    "data a.x. CNAME b.x.",
	    "data b.x. CNAME A.X.",
	};
	struct local_data ld = {0};
	struct decoded d;
	uint8_t buf[512];

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(answer(&ld, "a.x", DNS_TYPE_A, buf, sizeof(buf), &d),
	                 LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 2);
	local_free(&ld);
}

static void
test_local_cname_with_other_data_is_an_error(void **state)
{
	struct local_data ld = {0};
	char err[128];

	(void)state;
	assert_int_equal(
	    local_add_data(&ld, "a.x. CNAME t.x.", err, sizeof(err)), 0);
	assert_int_equal(
	    local_add_data(&ld, "A.x. A 10.0.0.1", err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "CNAME and other data at 'a.x.' (RFC 1034 3.6.2)");
	assert_int_equal(
	    local_add_data(&ld, "a.x. CNAME u.x.", err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "more than one CNAME at 'a.x.' (RFC 2181 10.1)");
	/* The same CNAME again is a duplicate, not a conflict. */
	assert_int_equal(
	    local_add_data(&ld, "a.x. 60 CNAME T.x.", err, sizeof(err)), 0);
	assert_int_equal(local_add_data(&ld, "b.x. TXT data", err, sizeof(err)),
	                 0);
	assert_int_equal(
	    local_add_data(&ld, "b.x. CNAME t.x.", err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "CNAME and other data at 'b.x.' (RFC 1034 3.6.2)");
	assert_int_equal(local_finish(&ld), 0);
	assert_int_equal(ld.nrrs, 2);
	local_free(&ld);
}

static void
test_local_duplicate_rrs_collapsed(void **state)
{
	static const char *const lines[] = {
	    "data d.x. 300 A 10.0.0.1",
	    "data D.X. 600 IN A 10.0.0.1", /* same RR: collapsed */
	    "data d.x. 100 A 10.0.0.2",    /* same RRset, lower TTL */
	};
	struct local_data ld = {0};
	struct decoded d;
	uint8_t buf[512];

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	assert_int_equal(ld.nrrs, 2);
	assert_int_equal(answer(&ld, "d.x", DNS_TYPE_A, buf, sizeof(buf), &d),
	                 LOCAL_ANSWER);
	assert_int_equal(d.h.ancount, 2);
	/* RFC 2181 5.2: one TTL per RRset, the smallest. */
	assert_int_equal(d.rr[0].ttl, 100);
	assert_int_equal(d.rr[1].ttl, 100);
	local_free(&ld);
}

static void
test_local_add_zone_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
	    {"corp.example deny",
	     "unknown local-zone type 'deny' (static, transparent, refuse, "
	     "drop, nxdomain or nodata)"},
	    {"corp.example", "expected 'NAME TYPE', got 'corp.example'"},
	    {"", "expected 'NAME TYPE', got ''"},
	    {"corp.example static extra", "trailing junk 'extra'"},
	    {"a..b static", "bad zone name 'a..b'"},
	    {"corp.example. static", "duplicate local-zone 'corp.example.'"},
	    {"CORP.example refuse", "duplicate local-zone 'corp.example.'"},
	};
	struct local_data ld = {0};
	char err[160];
	size_t i;

	(void)state;
	assert_int_equal(
	    local_add_zone(&ld, "corp.example static", err, sizeof(err)), 0);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(
		    local_add_zone(&ld, cases[i].text, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
	}
	/* unbound.conf style: quoted name, any case of the type, tabs. */
	assert_int_equal(local_add_zone(&ld, "\t\"other.example.\"\tNoData ",
	                                err, sizeof(err)),
	                 0);
	assert_int_equal(local_finish(&ld), 0);
	assert_int_equal(ld.nzones, 2);
	assert_int_equal(lookup(&ld, "x.other.example", DNS_TYPE_A, NULL),
	                 LOCAL_NODATA);
	local_free(&ld);
}

static void
test_local_add_data_errors_come_from_rrtext(void **state)
{
	struct local_data ld = {0};
	char err[128];

	(void)state;
	assert_int_equal(local_add_data(&ld, "x. A 10.1.2", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "bad IPv4 address '10.1.2' in A RDATA");
	assert_int_equal(local_add_data(&ld, "x. CH TXT a", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "class 'CH' not supported (only IN)");
	/* Defaults: TTL 3600, relative names absolute. */
	assert_int_equal(
	    local_add_data(&ld, "rel A 10.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(local_finish(&ld), 0);
	assert_int_equal(ld.nrrs, 1);
	assert_int_equal(ld.rrs[0].ttl, 3600);
	assert_int_equal(ld.rrs[0].rclass, DNS_CLASS_IN);
	assert_int_equal(lookup(&ld, "rel.", DNS_TYPE_A, NULL), LOCAL_ANSWER);
	local_free(&ld);
}

static void
test_local_add_after_finish_fails(void **state)
{
	struct local_data ld = {0};
	char err[128];

	(void)state;
	assert_int_equal(local_finish(&ld), 0);
	assert_int_equal(local_finish(&ld), 0);
	assert_int_equal(local_add_data(&ld, "x. A 10.0.0.1", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "local data already finished");
	assert_int_equal(local_add_zone(&ld, "x static", err, sizeof(err)), -1);
	assert_string_equal(err, "local data already finished");
	local_free(&ld);
}

static void
test_local_empty_passes_everything(void **state)
{
	struct local_data ld = {0};
	const struct local_zone *z;
	uint8_t name[DNS_NAME_MAX];

	(void)state;
	assert_int_equal(lookup(&ld, "x", DNS_TYPE_A, &z), LOCAL_PASS);
	assert_null(z);
	wire_name("x", name);
	assert_false(local_covers(&ld, name));
	local_free(&ld);
}

static void
test_local_covers(void **state)
{
	static const char *const lines[] = {
	    "zone corp.example static",
	    "data printer.lan. A 192.168.1.5",
	};
	static const struct {
		const char *name;
		bool covered;
	} cases[] = {
	    {"corp.example", true},
	    {"a.b.corp.example", true},
	    {"example", false},
	    {"xcorp.example", false},
	    {"printer.lan", true},
	    {"PRINTER.LAN", true},
	    {"x.printer.lan", true},
	    {"lan", false},
	    {".", false},
	};
	struct local_data ld = {0};
	uint8_t name[DNS_NAME_MAX];
	size_t i;

	(void)state;
	build(&ld, lines, ARRAY_LEN(lines));
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		wire_name(cases[i].name, name);
		assert_int_equal(local_covers(&ld, name), cases[i].covered);
	}
	local_free(&ld);
}

static void
test_local_build_answer_rejects_other_results(void **state)
{
	const struct local_data *ld = *state;
	const struct local_zone *z;
	struct dns_query q;
	uint8_t buf[512];

	query_make(&q, "absent.refuse.test", DNS_TYPE_A);
	assert_int_equal(local_lookup(ld, q.qname, q.qtype, &z), LOCAL_REFUSE);
	assert_int_equal(
	    local_build_answer(buf, sizeof(buf), &q, ld, z, LOCAL_REFUSE, NULL),
	    0);
	assert_int_equal(local_build_answer(buf, sizeof(buf), &q, ld, NULL,
	                                    LOCAL_PASS, NULL),
	                 0);
	assert_int_equal(local_build_answer(buf, sizeof(buf), &q, ld, NULL,
	                                    LOCAL_DROP, NULL),
	                 0);
	/* A negative answer needs its zone for the SOA. */
	assert_int_equal(local_build_answer(buf, sizeof(buf), &q, ld, NULL,
	                                    LOCAL_NXDOMAIN, NULL),
	                 0);
	q.qname_len = 0;
	assert_int_equal(local_build_answer(buf, sizeof(buf), &q, ld, z,
	                                    LOCAL_NXDOMAIN, NULL),
	                 0);
}

static void
test_local_answer_carries_opt_with_ede(void **state)
{
	static const uint8_t cookie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	const struct dns_opt_out o = {.present = true,
	                              .udp_size = 1232,
	                              .do_bit = true,
	                              .ede_code = DNS_EDE_OTHER,
	                              .ede_text = "local",
	                              .cookie = cookie,
	                              .cookie_len = sizeof(cookie)};
	const struct local_data *ld = *state;
	const struct local_zone *z;
	struct dns_query q;
	struct decoded d;
	uint8_t buf[512];
	size_t len;

	query_make(&q, "absent.nx.test", DNS_TYPE_A);
	assert_int_equal(local_lookup(ld, q.qname, q.qtype, &z),
	                 LOCAL_NXDOMAIN);
	len =
	    local_build_answer(buf, sizeof(buf), &q, ld, z, LOCAL_NXDOMAIN, &o);
	assert_int_not_equal(len, 0);
	decode(buf, len, &d);
	assert_int_equal(d.h.nscount, 1);
	assert_int_equal(d.h.arcount, 1);
	assert_int_equal(d.rr[1].type, DNS_TYPE_OPT);
	assert_int_equal(d.rr[1].rclass, 1232);
	assert_int_equal(d.rr[1].ttl, 0x8000); /* DO */
	/* COOKIE (4 + 8) and EDE (4 + 2 + 5). */
	assert_int_equal(d.rr[1].rdlength, 12 + 11);
}

static void
test_local_many_entries(void **state)
{
	struct local_data ld = {0};
	char line[128], err[128], name[64];
	const struct local_zone *z;
	int i;

	(void)state;
	assert_int_equal(
	    local_add_zone(&ld, "big.test static", err, sizeof(err)), 0);
	for (i = 0; i < 5000; i++) {
		(void)snprintf(line, sizeof(line),
		               "h%d.g%d.big.test. A 10.%d.%d.%d", i, i % 50,
		               i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(local_add_data(&ld, line, err, sizeof(err)),
		                 0);
		/* Every line twice: collapsed through the hash table. */
		assert_int_equal(local_add_data(&ld, line, err, sizeof(err)),
		                 0);
	}
	for (i = 0; i < 3000; i++) {
		(void)snprintf(line, sizeof(line), "z%d.test static", i);
		assert_int_equal(local_add_zone(&ld, line, err, sizeof(err)),
		                 0);
	}
	assert_int_equal(local_finish(&ld), 0);
	assert_int_equal(ld.nrrs, 5000);
	assert_int_equal(ld.nzones, 3001);
	for (i = 0; i < 5000; i += 7) {
		(void)snprintf(name, sizeof(name), "h%d.g%d.big.test", i,
		               i % 50);
		assert_int_equal(lookup(&ld, name, DNS_TYPE_A, &z),
		                 LOCAL_ANSWER);
		(void)snprintf(name, sizeof(name), "g%d.big.test", i % 50);
		assert_int_equal(lookup(&ld, name, DNS_TYPE_A, &z),
		                 LOCAL_NODATA);
		(void)snprintf(name, sizeof(name), "x%d.big.test", i);
		assert_int_equal(lookup(&ld, name, DNS_TYPE_A, &z),
		                 LOCAL_NXDOMAIN);
	}
	assert_int_equal(lookup(&ld, "a.z2999.test", DNS_TYPE_A, &z),
	                 LOCAL_NXDOMAIN);
	assert_zone(z, "z2999.test", LZ_STATIC);
	local_free(&ld);
}

static void
test_local_zone_type_names(void **state)
{
	(void)state;
	assert_string_equal(local_zone_type_name(LZ_STATIC), "static");
	assert_string_equal(local_zone_type_name(LZ_TRANSPARENT),
	                    "transparent");
	assert_string_equal(local_zone_type_name(LZ_REFUSE), "refuse");
	assert_string_equal(local_zone_type_name(LZ_DROP), "drop");
	assert_string_equal(local_zone_type_name(LZ_NXDOMAIN), "nxdomain");
	assert_string_equal(local_zone_type_name(LZ_NODATA), "nodata");
	assert_string_equal(local_zone_type_name(0), "unknown");
	assert_string_equal(local_zone_type_name(99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest matrix[] = {
	    cmocka_unit_test(test_local_static_zone),
	    cmocka_unit_test(test_local_transparent_zone),
	    cmocka_unit_test(test_local_refuse_zone),
	    cmocka_unit_test(test_local_drop_zone),
	    cmocka_unit_test(test_local_nxdomain_zone),
	    cmocka_unit_test(test_local_nodata_zone),
	    cmocka_unit_test(test_local_zone_apex_and_outside),
	    cmocka_unit_test(test_local_build_answer_rejects_other_results),
	    cmocka_unit_test(test_local_answer_carries_opt_with_ede),
	};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_implicit_transparent_zone),
	    cmocka_unit_test(test_local_no_implicit_zone_under_explicit),
	    cmocka_unit_test(test_local_most_specific_zone_wins),
	    cmocka_unit_test(test_local_answer_message_bytes),
	    cmocka_unit_test(test_local_nxdomain_synthesized_soa_bytes),
	    cmocka_unit_test(test_local_negative_soa_from_local_data),
	    cmocka_unit_test(test_local_nodata_in_implicit_zone_has_soa),
	    cmocka_unit_test(test_local_answer_rrset_with_flags_and_counts),
	    cmocka_unit_test(test_local_any_returns_every_rrset),
	    cmocka_unit_test(
	        test_local_cname_answer_followed_within_local_data),
	    cmocka_unit_test(test_local_cname_chain_capped_at_eight),
	    cmocka_unit_test(test_local_cname_loop_stops),
	    cmocka_unit_test(test_local_cname_with_other_data_is_an_error),
	    cmocka_unit_test(test_local_duplicate_rrs_collapsed),
	    cmocka_unit_test(test_local_add_zone_errors),
	    cmocka_unit_test(test_local_add_data_errors_come_from_rrtext),
	    cmocka_unit_test(test_local_add_after_finish_fails),
	    cmocka_unit_test(test_local_empty_passes_everything),
	    cmocka_unit_test(test_local_covers),
	    cmocka_unit_test(test_local_many_entries),
	    cmocka_unit_test(test_local_zone_type_names),
	};
	int failed;

	failed = cmocka_run_group_tests_name("local zone matrix", matrix,
	                                     matrix_setup, matrix_teardown);
	failed += cmocka_run_group_tests_name("local data", tests, NULL, NULL);
	return failed != 0;
}
