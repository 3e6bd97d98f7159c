/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/policy/test_rebind.c — rebind protection (dnsgate.conf(5),
 * "Rebind protection"): which addresses are private, and the rebuilt answer
 * without them — counts fixed, names still right when compression pointers
 * led into the removed records, OPT kept, malformed input refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/addr.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "policy/rebind.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- rebind_is_private ------------------------------------------------ */

struct addr_case {
	const char *addr;
	bool private;
};

/* Both ends of every range, and the addresses just outside them. */
static const struct addr_case addr_cases[] = {
    {"0.0.0.0", true},
    {"0.255.255.255", true},
    {"1.0.0.0", false},
    {"9.255.255.255", false},
    {"10.0.0.0", true},
    {"10.255.255.255", true},
    {"11.0.0.0", false},
    {"100.63.255.255", false},
    {"100.64.0.0", true},
    {"100.127.255.255", true},
    {"100.128.0.0", false},
    {"126.255.255.255", false},
    {"127.0.0.0", true},
    {"127.0.0.1", true},
    {"127.255.255.255", true},
    {"128.0.0.0", false},
    {"169.253.255.255", false},
    {"169.254.0.0", true},
    {"169.254.255.255", true},
    {"169.255.0.0", false},
    {"172.15.255.255", false},
    {"172.16.0.0", true},
    {"172.31.255.255", true},
    {"172.32.0.0", false},
    {"192.167.255.255", false},
    {"192.168.0.0", true},
    {"192.168.255.255", true},
    {"192.169.0.0", false},
    {"8.8.8.8", false},
    {"192.0.2.1", false},
    {"255.255.255.255", false},
    {"::", true},
    {"::1", true},
    {"::2", false},
    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"fc00::", true},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"fe00::", false},
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"fe80::", true},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"fec0::", false},
    {"2001:db8::1", false},
    {"2606:4700::1111", false},
    /* IPv4-mapped forms of the IPv4 ranges (RFC 4291 2.5.5.2). */
    {"::ffff:0.0.0.0", true},
    {"::ffff:1.0.0.0", false},
    {"::ffff:10.0.0.1", true},
    {"::ffff:11.0.0.0", false},
    {"::ffff:100.64.0.0", true},
    {"::ffff:100.128.0.0", false},
    {"::ffff:127.0.0.1", true},
    {"::ffff:169.254.1.1", true},
    {"::ffff:172.31.255.255", true},
    {"::ffff:172.32.0.0", false},
    {"::ffff:192.168.1.1", true},
    {"::ffff:8.8.8.8", false},
    /* Not mapped: other ::/96 neighbours are ordinary IPv6 here. */
    {"::fffe:10.0.0.1", false},
    {"::1:ffff:10.0.0.1", false},
};

static void
test_rebind_is_private_range_boundaries(void **state)
{
	struct ip_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(addr_cases); i++) {
		assert_int_equal(ip_addr_parse(addr_cases[i].addr, &a), 0);
		if (rebind_is_private(&a) != addr_cases[i].private)
			print_error("%s: want %s\n", addr_cases[i].addr,
			            addr_cases[i].private ? "private"
			                                  : "public");
		assert_int_equal(rebind_is_private(&a), addr_cases[i].private);
	}
}

static void
test_rebind_is_private_ignores_v4_flag(void **state)
{
	struct ip_addr a;

	(void)state;
	/* Mapped bytes without the v4 flag (an AAAA record's view). */
	memset(&a, 0, sizeof a);
	a.b[10] = a.b[11] = 0xff;
	a.b[12] = 10;
	a.b[15] = 1;
	a.v4 = false;
	assert_true(rebind_is_private(&a));
	a.v4 = true;
	assert_true(rebind_is_private(&a));
	/* A v4 address whose prefix bytes were left unset still counts. */
	memset(&a, 0, sizeof a);
	a.b[12] = 192;
	a.b[13] = 168;
	a.v4 = true;
	assert_true(rebind_is_private(&a));
	a.b[12] = 8;
	a.b[13] = 8;
	assert_false(rebind_is_private(&a));
}

/* ---- message helpers -------------------------------------------------- */

/* A response built field by field: header, one question, then records. */
struct pkt {
	uint8_t buf[DNS_MAX_MSG];
	struct wbuf b;
	uint16_t count[3]; /* answer, authority, additional */
};

/* "www.example.com", QTYPE qtype, QCLASS IN; the QNAME is at offset 12. */
static void
pkt_init(struct pkt *p, uint16_t qtype)
{
	static const uint8_t qname[] = {3,   'w', 'w', 'w', 7,   'e',
	                                'x', 'a', 'm', 'p', 'l', 'e',
	                                3,   'c', 'o', 'm', 0};

	memset(p->count, 0, sizeof p->count);
	wbuf_init(&p->b, p->buf, sizeof p->buf);
	wbuf_u16(&p->b, 0xbeef);              /* ID */
	wbuf_u16(&p->b, 0x8180);              /* QR RD RA, NOERROR */
	wbuf_u16(&p->b, 1);                   /* QDCOUNT */
	wbuf_bytes(&p->b, "\0\0\0\0\0\0", 6); /* AN, NS, AR: at the end */
	wbuf_bytes(&p->b, qname, sizeof qname);
	wbuf_u16(&p->b, qtype);
	wbuf_u16(&p->b, DNS_CLASS_IN);
}

/* One RR; owner in wire form, pointers allowed. */
static void
pkt_rr(struct pkt *p, unsigned section, const void *owner, size_t owner_len,
       uint16_t type, uint16_t rclass, const void *rdata, size_t rdlen)
{
	wbuf_bytes(&p->b, owner, owner_len);
	wbuf_u16(&p->b, type);
	wbuf_u16(&p->b, rclass);
	wbuf_u32(&p->b, 300);
	wbuf_u16(&p->b, (uint16_t)rdlen);
	wbuf_bytes(&p->b, rdata, rdlen);
	p->count[section]++;
}

/* An A or AAAA for the QNAME (owner: pointer to offset 12). */
static void
pkt_addr(struct pkt *p, unsigned section, const char *text)
{
	static const uint8_t to_qname[] = {0xc0, 0x0c};
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	if (strchr(text, ':') == NULL)
		pkt_rr(p, section, to_qname, 2, DNS_TYPE_A, DNS_CLASS_IN,
		       a.b + 12, 4);
	else
		pkt_rr(p, section, to_qname, 2, DNS_TYPE_AAAA, DNS_CLASS_IN,
		       a.b, 16);
}

static void
pkt_opt(struct pkt *p)
{
	static const uint8_t root = 0;

	pkt_rr(p, 2, &root, 1, DNS_TYPE_OPT, 1232, NULL, 0);
}

static size_t
pkt_end(struct pkt *p)
{
	unsigned s;

	for (s = 0; s < 3; s++)
		wbuf_put_u16_at(&p->b, 6 + 2 * s, p->count[s]);
	assert_int_equal(p->b.err, 0);
	return p->b.len;
}

/* What one record of a filtered message should be. */
struct want_rr {
	const char *owner;
	uint16_t type;
	const char *data; /* address, target name, "PREF name"; NULL: skip */
};

/* The RDATA of rr as text, for the types want_rr checks. */
static void
rdata_text(const uint8_t *msg, const struct dns_rr *rr, char *out, size_t cap)
{
	uint8_t name[DNS_NAME_MAX];
	struct ip_addr a;
	struct wire w;
	unsigned pref = 0;

	memset(&a, 0, sizeof a);
	wire_init(&w, msg, rr->rr_end);
	wire_seek(&w, rr->rdata_offset);
	out[0] = '\0';
	switch (rr->type) {
	case DNS_TYPE_A:
		a.v4 = true;
		a.b[10] = a.b[11] = 0xff;
		wire_read(&w, a.b + 12, 4);
		ip_addr_format(&a, out, cap);
		break;
	case DNS_TYPE_AAAA:
		wire_read(&w, a.b, 16);
		ip_addr_format(&a, out, cap);
		break;
	case DNS_TYPE_MX:
	case DNS_TYPE_SRV:
		/* Preference (SRV: priority, weight, port) then a name. */
		pref = wire_u16(&w);
		if (rr->type == DNS_TYPE_SRV)
			wire_skip(&w, 4);
		/* fall through */
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
	case DNS_TYPE_PTR: {
		char text[DNS_NAME_TEXT_MAX];
		int n = 0;

		assert_int_not_equal(dns_name_read(&w, name), 0);
		assert_true(dns_name_to_text(name, text, sizeof text) > 0);
		if (rr->type == DNS_TYPE_MX || rr->type == DNS_TYPE_SRV)
			n = snprintf(out, cap, "%u ", pref);
		snprintf(out + n, cap - (size_t)n, "%s", text);
		/* The name must fill the RDATA exactly. */
		assert_int_equal(w.pos, rr->rr_end);
		break;
	}
	default:
		break;
	}
	assert_int_equal(w.err, 0);
}

/*
 * Parse msg as the proxy would and compare every record with want: the
 * section counts, then owner, type and data in order.
 */
static void
assert_records(const uint8_t *msg, size_t len, const unsigned count[3],
               const struct want_rr *want, size_t n)
{
	char owner[DNS_NAME_TEXT_MAX], data[DNS_NAME_TEXT_MAX];
	struct dns_response r;
	struct dns_rr rr;
	struct wire w;
	size_t i;

	assert_int_equal(dns_response_parse(msg, len, &r), 0);
	assert_int_equal(r.hdr.ancount, count[0]);
	assert_int_equal(r.hdr.nscount, count[1]);
	assert_int_equal(r.hdr.arcount, count[2]);
	assert_int_equal(count[0] + count[1] + count[2], n);
	wire_init(&w, msg, len);
	wire_seek(&w, r.question_end);
	for (i = 0; i < n; i++) {
		assert_int_equal(dns_rr_next(&w, &rr), 0);
		assert_true(dns_name_to_text(rr.owner, owner, sizeof owner) >
		            0);
		assert_string_equal(owner, want[i].owner);
		assert_int_equal(rr.type, want[i].type);
		if (want[i].data == NULL)
			continue;
		rdata_text(msg, &rr, data, sizeof data);
		assert_string_equal(data, want[i].data);
	}
	/* Nothing after the last record. */
	assert_int_equal(w.pos, len);
}

static enum rebind_result
filter(const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
       size_t *out_len, unsigned *removed)
{
	return rebind_filter(out, cap, out_len, msg, len, removed);
}

/* ---- filtering: each address alone in an answer ----------------------- */

static void
test_rebind_filter_range_boundaries(void **state)
{
	static const struct want_rr none[1];
	static const unsigned zero[3] = {0, 0, 0};
	uint8_t out[512];
	struct pkt p;
	size_t i, len, out_len;
	unsigned removed;
	enum rebind_result res;

	(void)state;
	for (i = 0; i < ARRAY_LEN(addr_cases); i++) {
		pkt_init(&p, DNS_TYPE_A);
		pkt_addr(&p, 0, addr_cases[i].addr);
		len = pkt_end(&p);
		res = filter(p.buf, len, out, sizeof out, &out_len, &removed);
		if (!addr_cases[i].private) {
			assert_int_equal(res, REBIND_CLEAN);
			assert_int_equal(removed, 0);
			assert_int_equal(out_len, 0);
			continue;
		}
		if (res != REBIND_FILTERED)
			print_error("%s: not removed\n", addr_cases[i].addr);
		assert_int_equal(res, REBIND_FILTERED);
		assert_int_equal(removed, 1);
		/* Header and question only. */
		assert_int_equal(out_len, 33);
		assert_memory_equal(out, p.buf, 6);
		assert_memory_equal(out + 12, p.buf + 12, 21);
		assert_records(out, out_len, zero, none, 0);
	}
}

/* ---- filtering: pointers into removed records ------------------------- */

/* clang-format off */
/* Header with ID 0x1234, QR RD RA: ID, flags, QD, AN, NS, AR. */
#define HDR(an, ns, ar) \
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, (an), 0, (ns), 0, (ar)
#define TTL300	0x00, 0x00, 0x01, 0x2c
#define T_A	0x00, 0x01
#define T_NS	0x00, 0x02
#define T_CNAME	0x00, 0x05
#define T_AAAA	0x00, 0x1c
#define C_IN	0x00, 0x01

/*
 * www.example.com CNAME edge.cdn.example.com, whose A records are one
 * public and two private; the NS record and the AAAA glue use pointers
 * into the owner names of removed records, which some servers write out
 * in full where others point back to the CNAME. Offsets on the left.
 */
static const uint8_t chain[] = {
	HDR(4, 1, 3),
	/* 12 */ 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	/* 24 */ 3, 'c', 'o', 'm', 0,		/* QNAME */
	/* 29 */ T_A, C_IN,			/* QTYPE, QCLASS */
	/* AN 1 */
	/* 33 */ 0xc0, 0x0c,			/* owner -> 12 */
	/* 35 */ T_CNAME, C_IN, TTL300,
	/* 43 */ 0x00, 11,			/* RDLENGTH */
	/* 45 */ 4, 'e', 'd', 'g', 'e',
	/* 50 */ 3, 'c', 'd', 'n',
	/* 54 */ 0xc0, 0x10,			/* -> 16 example.com */
	/* AN 2: removed; owner written out in full */
	/* 56 */ 4, 'e', 'd', 'g', 'e',
	/* 61 */ 3, 'c', 'd', 'n',
	/* 65 */ 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	/* 73 */ 3, 'c', 'o', 'm', 0,
	/* 78 */ T_A, C_IN, TTL300,
	/* 86 */ 0x00, 4,
	/* 88 */ 10, 0, 0, 1,
	/* AN 3: kept; owner points into AN 2 */
	/* 92 */ 0xc0, 56, T_A, C_IN, TTL300, 0x00, 4,
	/* 104 */ 198, 51, 100, 7,
	/* AN 4: removed */
	/* 108 */ 0xc0, 56, T_A, C_IN, TTL300, 0x00, 4,
	/* 120 */ 172, 16, 5, 5,
	/* NS 1: owner and target point into AN 2 (cdn.example.com) */
	/* 124 */ 0xc0, 61, T_NS, C_IN, TTL300, 0x00, 5,
	/* 136 */ 2, 'n', 's', 0xc0, 61,
	/* AR 1: removed glue, ns.cdn + pointer into AN 2 (example.com) */
	/* 141 */ 2, 'n', 's', 3, 'c', 'd', 'n', 0xc0, 65,
	/* 150 */ T_A, C_IN, TTL300, 0x00, 4,
	/* 160 */ 10, 0, 0, 53,
	/* AR 2: kept AAAA glue; owner points into AR 1 */
	/* 164 */ 0xc0, 141, T_AAAA, C_IN, TTL300, 0x00, 16,
	/* 176 */ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
		  0, 0, 0, 0, 0, 0, 0, 0x53,
	/* AR 3: OPT, UDP 4096, no options */
	/* 192 */ 0, 0x00, 0x29, 0x10, 0x00, 0, 0, 0, 0, 0x00, 0,
	/* 203 */
};
/* clang-format on */

static void
test_rebind_filter_cname_chain_pointers_into_removed(void **state)
{
	static const struct want_rr want[] = {
	    {"www.example.com.", DNS_TYPE_CNAME, "edge.cdn.example.com."},
	    {"edge.cdn.example.com.", DNS_TYPE_A, "198.51.100.7"},
	    {"cdn.example.com.", DNS_TYPE_NS, "ns.cdn.example.com."},
	    {"ns.cdn.example.com.", DNS_TYPE_AAAA, "2001:db8::53"},
	    {".", DNS_TYPE_OPT, NULL},
	};
	static const unsigned count[3] = {2, 1, 2};
	struct dns_response in, r;
	uint8_t out[512];
	size_t out_len;
	unsigned removed;

	(void)state;
	assert_int_equal(sizeof chain, 203);
	assert_int_equal(dns_response_parse(chain, sizeof chain, &in), 0);
	assert_int_equal(
	    filter(chain, sizeof chain, out, sizeof out, &out_len, &removed),
	    REBIND_FILTERED);
	assert_int_equal(removed, 3);
	assert_records(out, out_len, count, want, ARRAY_LEN(want));
	/* ID, flags, question as they were; the OPT kept for the caller. */
	assert_memory_equal(out, chain, 6);
	assert_memory_equal(out + 12, chain + 12, 21);
	assert_int_equal(dns_response_parse(out, out_len, &r), 0);
	assert_true(r.edns.present);
	assert_int_equal(r.edns.udp_size, 4096);
	assert_int_equal(r.arcount_kept, 1);
	/*
	 * Compressed again: every owner a pointer, the names in CNAME and
	 * NS RDATA end in one — 128 bytes where writing names in full would
	 * take 183.
	 */
	assert_int_equal(out_len, 128);
}

/* ---- filtering: AAAA, glue, authority, OPT ------------------------------ */

static void
test_rebind_filter_aaaa(void **state)
{
	static const struct want_rr want[] = {
	    {"www.example.com.", DNS_TYPE_AAAA, "2001:db8::1"},
	    {"www.example.com.", DNS_TYPE_AAAA, "::ffff:8.8.8.8"},
	    {".", DNS_TYPE_OPT, NULL},
	};
	static const unsigned count[3] = {2, 0, 1};
	uint8_t out[512];
	struct pkt p;
	size_t len, out_len;
	unsigned removed;

	(void)state;
	pkt_init(&p, DNS_TYPE_AAAA);
	pkt_addr(&p, 0, "::1");
	pkt_addr(&p, 0, "2001:db8::1");
	pkt_addr(&p, 0, "fe80::1");
	pkt_addr(&p, 0, "fd12:3456::1");
	pkt_addr(&p, 0, "::ffff:10.1.2.3");
	pkt_addr(&p, 0, "::ffff:8.8.8.8");
	pkt_addr(&p, 0, "::");
	pkt_opt(&p);
	len = pkt_end(&p);
	assert_int_equal(
	    filter(p.buf, len, out, sizeof out, &out_len, &removed),
	    REBIND_FILTERED);
	assert_int_equal(removed, 5);
	assert_records(out, out_len, count, want, ARRAY_LEN(want));
}

static void
test_rebind_filter_glue_and_authority(void **state)
{
	/* example.com MX 10 mail.example.com, glue in the additional. */
	static const uint8_t mx[] = {0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 16};
	static const uint8_t mail[] = {0xc0, 47}; /* -> the MX target */
	static const uint8_t to_example[] = {0xc0, 16};
	static const uint8_t a_priv[] = {192, 168, 0, 25};
	static const uint8_t a_pub[] = {198, 51, 100, 25};
	static const uint8_t a_loop[] = {127, 0, 0, 1};
	static const uint8_t aaaa_ula[16] = {0xfd, [15] = 0x25};
	static const struct want_rr want[] = {
	    {"example.com.", DNS_TYPE_MX, "10 mail.example.com."},
	    {"mail.example.com.", DNS_TYPE_A, "198.51.100.25"},
	    {".", DNS_TYPE_OPT, NULL},
	};
	static const unsigned count[3] = {1, 0, 2};
	uint8_t out[512];
	struct pkt p;
	size_t len, out_len;
	unsigned removed;

	(void)state;
	pkt_init(&p, DNS_TYPE_MX);
	/* 33: owner (2), fixed (10), RDATA from 45: pref, "mail" at 47. */
	pkt_rr(&p, 0, to_example, 2, DNS_TYPE_MX, DNS_CLASS_IN, mx, sizeof mx);
	/* An address in the authority section is filtered as well. */
	pkt_rr(&p, 1, to_example, 2, DNS_TYPE_A, DNS_CLASS_IN, a_loop, 4);
	pkt_rr(&p, 2, mail, 2, DNS_TYPE_A, DNS_CLASS_IN, a_priv, 4);
	pkt_rr(&p, 2, mail, 2, DNS_TYPE_A, DNS_CLASS_IN, a_pub, 4);
	pkt_rr(&p, 2, mail, 2, DNS_TYPE_AAAA, DNS_CLASS_IN, aaaa_ula, 16);
	pkt_opt(&p);
	len = pkt_end(&p);
	assert_int_equal(
	    filter(p.buf, len, out, sizeof out, &out_len, &removed),
	    REBIND_FILTERED);
	assert_int_equal(removed, 3);
	assert_records(out, out_len, count, want, ARRAY_LEN(want));
}

/* Other classes hold no IP address (CHAOS A is a name and an address). */
static void
test_rebind_filter_only_class_in(void **state)
{
	static const uint8_t to_qname[] = {0xc0, 0x0c};
	static const uint8_t a_priv[] = {10, 0, 0, 1};
	uint8_t out[512];
	struct pkt p;
	size_t len, out_len;
	unsigned removed;

	(void)state;
	pkt_init(&p, DNS_TYPE_A);
	pkt_rr(&p, 0, to_qname, 2, DNS_TYPE_A, 3 /* CH */, a_priv, 4);
	pkt_rr(&p, 0, to_qname, 2, DNS_TYPE_A, 255 /* ANY */, a_priv, 4);
	len = pkt_end(&p);
	assert_int_equal(
	    filter(p.buf, len, out, sizeof out, &out_len, &removed),
	    REBIND_CLEAN);
	assert_int_equal(removed, 0);
}

/* ---- filtering: RDATA with names, and RDATA that must stay as is ------- */

static void
test_rebind_filter_rdata_names(void **state)
{
	/* SRV 0 5 443 with a (legacy, RFC 2052) compressed target. */
	static const uint8_t srv[] = {0, 0,   0,   5,   0x01, 0xbb,
	                              3, 'w', 'e', 'b', 0xc0, 16};
	/* An unknown type whose bytes look like a pointer: RFC 3597 4. */
	static const uint8_t unknown[] = {0xc0, 0x0c, 0xde, 0xad};
	static const uint8_t ptr[] = {4, 'h', 'o', 's', 't', 0xc0, 16};
	static const uint8_t to_qname[] = {0xc0, 0x0c};
	static const uint8_t a_priv[] = {10, 9, 8, 7};
	static const struct want_rr want[] = {
	    {"www.example.com.", DNS_TYPE_SRV, "0 web.example.com."},
	    {"www.example.com.", 65280, NULL},
	    {"www.example.com.", DNS_TYPE_PTR, "host.example.com."},
	};
	static const unsigned count[3] = {3, 0, 0};
	struct dns_response r;
	struct dns_rr rr;
	struct wire w;
	uint8_t out[512], rdata[sizeof unknown];
	struct pkt p;
	size_t len, out_len;
	unsigned removed;

	(void)state;
	pkt_init(&p, DNS_TYPE_ANY);
	pkt_rr(&p, 0, to_qname, 2, DNS_TYPE_SRV, DNS_CLASS_IN, srv, sizeof srv);
	pkt_rr(&p, 0, to_qname, 2, DNS_TYPE_A, DNS_CLASS_IN, a_priv, 4);
	pkt_rr(&p, 0, to_qname, 2, 65280, DNS_CLASS_IN, unknown,
	       sizeof unknown);
	pkt_rr(&p, 0, to_qname, 2, DNS_TYPE_PTR, DNS_CLASS_IN, ptr, sizeof ptr);
	len = pkt_end(&p);
	assert_int_equal(
	    filter(p.buf, len, out, sizeof out, &out_len, &removed),
	    REBIND_FILTERED);
	assert_int_equal(removed, 1);
	assert_records(out, out_len, count, want, ARRAY_LEN(want));

	assert_int_equal(dns_response_parse(out, out_len, &r), 0);
	wire_init(&w, out, out_len);
	wire_seek(&w, r.question_end);
	/* SRV: the target is written in full (6 + 17 bytes). */
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(rr.rdlength, 6 + 17);
	/* The unknown RDATA is byte for byte what came in. */
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(rr.rdlength, sizeof unknown);
	wire_seek(&w, rr.rdata_offset);
	wire_read(&w, rdata, sizeof rdata);
	assert_memory_equal(rdata, unknown, sizeof unknown);
	/* PTR may be compressed: "host" + pointer. */
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(rr.rdlength, 7);
	assert_int_equal(w.err, 0);
}

/* SOA (two names + 20 bytes), MINFO, RP, NAPTR read through pointers. */
static void
test_rebind_filter_soa_naptr(void **state)
{
	static const uint8_t soa[] = {
	    2, 'n', 's', 0xc0, 16, 4, 'h', 'o', 's', 't', 0xc0, 16, 0, 0, 0, 1,
	    0, 0,   0,   2,    0,  0, 0,   3,   0,   0,   0,    4,  0, 0, 0, 5};
	static const uint8_t naptr[] = {
	    0, 10,  0,   20,                       /* order, preference */
	    1, 'U',                                /* flags */
	    7, 'E', '2', 'U', '+', 's',  'i', 'p', /* services */
	    0,                                     /* regexp: empty */
	    4, 's', 'i', 'p', 's', 0xc0, 16};      /* replacement */
	static const uint8_t to_qname[] = {0xc0, 0x0c};
	static const uint8_t a_priv[] = {127, 0, 0, 53};
	static const struct want_rr want[] = {
	    {"www.example.com.", DNS_TYPE_SOA, NULL},
	    {"www.example.com.", 35, NULL},
	};
	static const unsigned count[3] = {0, 2, 0};
	struct dns_response r;
	struct dns_rr rr;
	struct wire w;
	uint8_t out[512], tail[20], name[DNS_NAME_MAX];
	char text[DNS_NAME_TEXT_MAX];
	struct pkt p;
	size_t len, out_len;
	unsigned removed;

	(void)state;
	pkt_init(&p, DNS_TYPE_A);
	pkt_rr(&p, 1, to_qname, 2, DNS_TYPE_SOA, DNS_CLASS_IN, soa, sizeof soa);
	pkt_rr(&p, 1, to_qname, 2, DNS_TYPE_A, DNS_CLASS_IN, a_priv, 4);
	pkt_rr(&p, 1, to_qname, 2, 35, DNS_CLASS_IN, naptr, sizeof naptr);
	len = pkt_end(&p);
	assert_int_equal(
	    filter(p.buf, len, out, sizeof out, &out_len, &removed),
	    REBIND_FILTERED);
	assert_int_equal(removed, 1);
	assert_records(out, out_len, count, want, ARRAY_LEN(want));

	assert_int_equal(dns_response_parse(out, out_len, &r), 0);
	wire_init(&w, out, out_len);
	wire_seek(&w, r.question_end);
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	wire_seek(&w, rr.rdata_offset);
	assert_int_not_equal(dns_name_read(&w, name), 0);
	dns_name_to_text(name, text, sizeof text);
	assert_string_equal(text, "ns.example.com.");
	assert_int_not_equal(dns_name_read(&w, name), 0);
	dns_name_to_text(name, text, sizeof text);
	assert_string_equal(text, "host.example.com.");
	wire_read(&w, tail, sizeof tail);
	assert_memory_equal(tail, soa + 12, sizeof tail);
	assert_int_equal(w.pos, rr.rr_end);
	/* NAPTR: the strings as they were, the replacement in full. */
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(rr.rdlength, sizeof naptr - 2 + 13);
	assert_memory_equal(out + rr.rdata_offset, naptr, 15);
	wire_seek(&w, rr.rdata_offset + 15);
	assert_int_not_equal(dns_name_read(&w, name), 0);
	dns_name_to_text(name, text, sizeof text);
	assert_string_equal(text, "sips.example.com.");
	assert_int_equal(w.err, 0);
}

/* ---- nothing removed, no room, big messages ---------------------------- */

static void
test_rebind_filter_nothing_removed(void **state)
{
	uint8_t out[512], guard[sizeof out];
	struct pkt p;
	size_t len, out_len = 99;
	unsigned removed = 99;

	(void)state;
	pkt_init(&p, DNS_TYPE_A);
	pkt_addr(&p, 0, "192.0.2.1");
	pkt_addr(&p, 0, "2001:db8::1");
	pkt_opt(&p);
	len = pkt_end(&p);
	memset(out, 0xa5, sizeof out);
	memcpy(guard, out, sizeof out);
	assert_int_equal(
	    filter(p.buf, len, out, sizeof out, &out_len, &removed),
	    REBIND_CLEAN);
	assert_int_equal(removed, 0);
	assert_int_equal(out_len, 0);
	/* The caller keeps the original: out is not touched. */
	assert_memory_equal(out, guard, sizeof out);
	/* Nor is it needed. */
	assert_int_equal(filter(p.buf, len, NULL, 0, &out_len, &removed),
	                 REBIND_CLEAN);
	/* No records at all. */
	pkt_init(&p, DNS_TYPE_A);
	len = pkt_end(&p);
	assert_int_equal(filter(p.buf, len, NULL, 0, &out_len, &removed),
	                 REBIND_CLEAN);
}

static void
test_rebind_filter_no_room(void **state)
{
	uint8_t out[512];
	size_t out_len, want_len, cap;
	unsigned removed;

	(void)state;
	assert_int_equal(
	    filter(chain, sizeof chain, out, sizeof out, &want_len, &removed),
	    REBIND_FILTERED);
	/* Every cap below the result fails cleanly, the exact one works. */
	for (cap = 0; cap < want_len; cap++) {
		assert_int_equal(
		    filter(chain, sizeof chain, out, cap, &out_len, &removed),
		    REBIND_NOSPACE);
		assert_int_equal(removed, 0);
		assert_int_equal(out_len, 0);
	}
	assert_int_equal(
	    filter(chain, sizeof chain, out, want_len, &out_len, &removed),
	    REBIND_FILTERED);
	assert_int_equal(out_len, want_len);
}

/*
 * Many names, pushed past offset 0x3fff where no pointer can reach: every
 * name still reads back right, and the copy is exactly the input minus the
 * removed records (the input was compressed the same way).
 */
static void
test_rebind_filter_large_message(void **state)
{
	static uint8_t out[DNS_MAX_MSG];
	static struct pkt p;
	static struct want_rr want[200];
	static char names[200][32];
	uint8_t owner[16], txt[201];
	unsigned count[3] = {0, 0, 0};
	size_t len, out_len, n = 0, i, gone = 0;
	unsigned removed;
	int k;

	(void)state;
	memset(txt, 'x', sizeof txt);
	txt[0] = 200;
	pkt_init(&p, DNS_TYPE_ANY);
	for (i = 0; i < 100; i++) {
		/* "nI" + pointer to example.com, a 200-byte TXT. */
		k = snprintf((char *)owner + 1, sizeof owner - 1, "n%zu", i);
		owner[0] = (uint8_t)k;
		owner[k + 1] = 0xc0;
		owner[k + 2] = 16;
		pkt_rr(&p, 0, owner, (size_t)k + 3, DNS_TYPE_TXT, DNS_CLASS_IN,
		       txt, sizeof txt);
		snprintf(names[n], sizeof names[n], "n%zu.example.com.", i);
		want[n] = (struct want_rr){names[n], DNS_TYPE_TXT, NULL};
		n++;
	}
	/* Beyond 16 KiB: new names, then the same names again. */
	for (i = 0; i < 40; i++) {
		k = snprintf((char *)owner + 1, sizeof owner - 1, "far%zu",
		             i % 20);
		owner[0] = (uint8_t)k;
		owner[k + 1] = 0xc0;
		owner[k + 2] = 16;
		pkt_rr(&p, 0, owner, (size_t)k + 3, DNS_TYPE_A, DNS_CLASS_IN,
		       i % 2 ? "\x0a\0\0\1" : "\xc6\x33\x64\1", 4);
		if (i % 2) {
			gone += (size_t)k + 3 + 10 + 4;
			continue;
		}
		snprintf(names[n], sizeof names[n], "far%zu.example.com.",
		         i % 20);
		want[n] =
		    (struct want_rr){names[n], DNS_TYPE_A, "198.51.100.1"};
		n++;
	}
	len = pkt_end(&p);
	assert_true(len > 0x4000);
	assert_int_equal(
	    filter(p.buf, len, out, sizeof out, &out_len, &removed),
	    REBIND_FILTERED);
	assert_int_equal(removed, 20);
	count[0] = (unsigned)n;
	assert_records(out, out_len, count, want, n);
	/* Same compression as the input, less the removed records. */
	assert_int_equal(out_len, len - gone);
}

/* ---- malformed input --------------------------------------------------- */

struct bad_case {
	const char *what;
	const uint8_t *msg;
	size_t len;
};

/* clang-format off */
#define QUESTION \
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', \
	3, 'c', 'o', 'm', 0, T_A, C_IN

static const uint8_t m_header[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0};
static const uint8_t m_pointer_loop[] = {
	HDR(1, 0, 0), QUESTION,
	0xc0, 33,			/* 33: owner points at itself */
	T_A, C_IN, TTL300, 0, 4, 10, 0, 0, 1,
};
static const uint8_t m_pointer_forward[] = {
	HDR(1, 0, 0), QUESTION,
	0xc0, 45,			/* 33: owner points forward */
	T_A, C_IN, TTL300, 0, 4,
	0, 0, 0, 1,			/* 45: a root label, as RDATA */
};
static const uint8_t m_pointer_header[] = {
	HDR(1, 0, 0), QUESTION,
	0xc0, 2,			/* owner points into the header */
	T_A, C_IN, TTL300, 0, 4, 10, 0, 0, 1,
};
static const uint8_t m_label64[] = {
	HDR(1, 0, 0), QUESTION,
	64, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 0,
	T_A, C_IN, TTL300, 0, 4, 10, 0, 0, 1,
};
static const uint8_t m_rr_short[] = {
	HDR(1, 0, 0), QUESTION,
	0xc0, 12, T_A, C_IN, TTL300, 0, 4, 10, 0, 0, /* RDATA cut short */
};
static const uint8_t m_count_lies[] = {
	HDR(2, 0, 0), QUESTION,		/* ANCOUNT 2, one record */
	0xc0, 12, T_A, C_IN, TTL300, 0, 4, 10, 0, 0, 1,
};
static const uint8_t m_a_len5[] = {
	HDR(1, 0, 0), QUESTION,
	0xc0, 12, T_A, C_IN, TTL300, 0, 5, 10, 0, 0, 1, 0,
};
static const uint8_t m_aaaa_len4[] = {
	HDR(1, 0, 0), QUESTION,
	0xc0, 12, T_AAAA, C_IN, TTL300, 0, 4, 0xfe, 0x80, 0, 0,
};
static const uint8_t m_cname_bad[] = {
	HDR(2, 0, 0), QUESTION,
	0xc0, 12, T_A, C_IN, TTL300, 0, 4, 10, 0, 0, 1, /* removed */
	/* 49: CNAME whose target runs past its RDATA */
	0xc0, 12, T_CNAME, C_IN, TTL300, 0, 3, 3, 'a', 'b', 'c', 0,
};
static const uint8_t m_cname_loop[] = {
	HDR(2, 0, 0), QUESTION,
	0xc0, 12, T_A, C_IN, TTL300, 0, 4, 10, 0, 0, 1, /* removed */
	/* 49: CNAME whose target (at 61) points at itself */
	0xc0, 12, T_CNAME, C_IN, TTL300, 0, 2, 0xc0, 61,
};
/* clang-format on */

static void
test_rebind_filter_malformed(void **state)
{
	static uint8_t name300[12 + 300];
	static const struct bad_case cases[] = {
	    {"truncated header", m_header, sizeof m_header},
	    {"pointer loop", m_pointer_loop, sizeof m_pointer_loop},
	    {"forward pointer", m_pointer_forward, sizeof m_pointer_forward},
	    {"pointer into header", m_pointer_header, sizeof m_pointer_header},
	    {"label > 63", m_label64, sizeof m_label64},
	    {"RR cut short", m_rr_short, sizeof m_rr_short},
	    {"ANCOUNT too high", m_count_lies, sizeof m_count_lies},
	    {"A of 5 bytes", m_a_len5, sizeof m_a_len5},
	    {"AAAA of 4 bytes", m_aaaa_len4, sizeof m_aaaa_len4},
	    {"CNAME past RDATA", m_cname_bad, sizeof m_cname_bad},
	    {"CNAME pointer loop", m_cname_loop, sizeof m_cname_loop},
	    {"name > 255", name300, sizeof name300},
	};
	uint8_t out[512];
	size_t i, out_len;
	unsigned removed;

	(void)state;
	/* Header, QD 1, then five 59-byte labels: a 301-byte QNAME. */
	memcpy(name300, m_pointer_loop, 12);
	name300[7] = 0;
	for (i = 0; i < 5; i++) {
		name300[12 + 60 * i] = 59;
		memset(name300 + 13 + 60 * i, 'y', 59);
	}
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		if (filter(cases[i].msg, cases[i].len, out, sizeof out,
		           &out_len, &removed) != REBIND_MALFORMED)
			print_error("%s: accepted\n", cases[i].what);
		assert_int_equal(filter(cases[i].msg, cases[i].len, out,
		                        sizeof out, &out_len, &removed),
		                 REBIND_MALFORMED);
		assert_int_equal(removed, 0);
		assert_int_equal(out_len, 0);
	}
	assert_int_equal(filter(NULL, 0, out, sizeof out, &out_len, &removed),
	                 REBIND_MALFORMED);
}

static void
test_rebind_result_names(void **state)
{
	(void)state;
	assert_string_equal(rebind_result_name(REBIND_CLEAN), "clean");
	assert_string_equal(rebind_result_name(REBIND_FILTERED), "filtered");
	assert_string_equal(rebind_result_name(REBIND_MALFORMED), "malformed");
	assert_string_equal(rebind_result_name(REBIND_NOSPACE), "nospace");
	assert_string_equal(rebind_result_name((enum rebind_result)0), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rebind_is_private_range_boundaries),
	    cmocka_unit_test(test_rebind_is_private_ignores_v4_flag),
	    cmocka_unit_test(test_rebind_filter_range_boundaries),
	    cmocka_unit_test(
	        test_rebind_filter_cname_chain_pointers_into_removed),
	    cmocka_unit_test(test_rebind_filter_aaaa),
	    cmocka_unit_test(test_rebind_filter_glue_and_authority),
	    cmocka_unit_test(test_rebind_filter_only_class_in),
	    cmocka_unit_test(test_rebind_filter_rdata_names),
	    cmocka_unit_test(test_rebind_filter_soa_naptr),
	    cmocka_unit_test(test_rebind_filter_nothing_removed),
	    cmocka_unit_test(test_rebind_filter_no_room),
	    cmocka_unit_test(test_rebind_filter_large_message),
	    cmocka_unit_test(test_rebind_filter_malformed),
	    cmocka_unit_test(test_rebind_result_names),
	};

	return cmocka_run_group_tests_name("policy rebind", tests, NULL, NULL);
}
