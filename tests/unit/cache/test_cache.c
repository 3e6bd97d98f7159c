/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/cache/test_cache.c — one view's answer cache (cache/cache.h):
 * the key (QNAME case, ID, EDNS payload size and COOKIE never split
 * entries; RD, DO, CD, QTYPE and QCLASS do); cache_msg_ttl (smallest TTL
 * of a positive answer without the OPT, RFC 2308 negative caching from
 * the SOA, SERVFAIL, what is never cached, malformed input); hits (ID 0,
 * question lower-cased, every TTL less the age, the OPT left alone);
 * min-ttl/max-ttl clamping of lifetime and TTLs; expiry and RFC 8767
 * serve-stale; prefetch in the last 10 % of a lifetime; store results
 * (not cacheable, too big, replacement) and a too small out buffer;
 * flush by name subtree; size accounting and SIEVE eviction; and two
 * threads sharing one cache. Every message is built here, field by field.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cache/cache.h"
#include "dns/msg.h"

/* Response flags of every answer here: QR, RD, RA (RCODE or-ed in). */
#define RESP     (DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA)
#define CLASS_CH 3
#define MAX_RR   64

static const uint8_t hash_key[CACHE_HASH_KEY_LEN] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

/* ---- message builder ---- */

/* Sections, in message order: index into struct msg.count. */
enum { SEC_QD, SEC_AN, SEC_NS, SEC_AR };

struct msg {
	uint8_t b[CACHE_MSG_MAX + 1024];
	size_t len;
	uint16_t count[4]; /* QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT */
};

static void
put8(struct msg *m, unsigned v)
{
	assert_true(m->len < sizeof(m->b));
	m->b[m->len++] = (uint8_t)v;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, (v >> 8) & 0xff);
	put8(m, v & 0xff);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/*
 * "www.example.com" (final dot optional; "" or "." is the root) in
 * uncompressed wire form, case kept. Returns its length.
 */
static size_t
name_wire(const char *text, uint8_t wire[DNS_NAME_MAX])
{
	const char *p = text;
	size_t len = 0;

	while (*p != '\0' && strcmp(p, ".") != 0) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

		assert_true(n > 0 && n <= DNS_LABEL_MAX);
		assert_true(len + 1 + n + 1 <= DNS_NAME_MAX);
		wire[len++] = (uint8_t)n; /* label length */
		memcpy(wire + len, p, n); /* label */
		len += n;
		p += n;
		if (*p == '.')
			p++;
	}
	wire[len++] = 0; /* root label */
	return len;
}

static void
put_name(struct msg *m, const char *text)
{
	uint8_t w[DNS_NAME_MAX];
	size_t n = name_wire(text, w);

	for (size_t i = 0; i < n; i++)
		put8(m, w[i]);
}

/* A header; the counts are filled in by msg_end. */
static void
msg_begin(struct msg *m, uint16_t id, uint16_t flags)
{
	memset(m, 0, sizeof(*m));
	put16(m, id);    /* ID */
	put16(m, flags); /* QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE */
	put16(m, 0);     /* QDCOUNT */
	put16(m, 0);     /* ANCOUNT */
	put16(m, 0);     /* NSCOUNT */
	put16(m, 0);     /* ARCOUNT */
}

/* Write the section counts into the header; returns the length. */
static size_t
msg_end(struct msg *m)
{
	for (int i = 0; i < 4; i++) {
		m->b[4 + 2 * i] = (uint8_t)(m->count[i] >> 8);
		m->b[5 + 2 * i] = (uint8_t)(m->count[i] & 0xff);
	}
	return m->len;
}

static void
msg_question(struct msg *m, const char *qname, uint16_t qtype, uint16_t qclass)
{
	put_name(m, qname); /* QNAME */
	put16(m, qtype);    /* QTYPE */
	put16(m, qclass);   /* QCLASS */
	m->count[SEC_QD]++;
}

/* An RR up to its RDLENGTH; returns where RDLENGTH is, for rr_end. */
static size_t
rr_begin(struct msg *m, int sec, const char *owner, uint16_t type,
         uint16_t rclass, uint32_t ttl)
{
	size_t at;

	put_name(m, owner); /* NAME */
	put16(m, type);     /* TYPE */
	put16(m, rclass);   /* CLASS */
	put32(m, ttl);      /* TTL */
	at = m->len;
	put16(m, 0); /* RDLENGTH: set by rr_end */
	m->count[sec]++;
	return at;
}

static void
rr_end(struct msg *m, size_t at)
{
	size_t n = m->len - at - 2;

	m->b[at] = (uint8_t)(n >> 8);
	m->b[at + 1] = (uint8_t)(n & 0xff);
}

/* An A record 192.0.2.host, or an AAAA record 2001:db8::host. */
static void
msg_addr(struct msg *m, int sec, const char *owner, uint16_t type,
         uint16_t rclass, uint32_t ttl, uint8_t host)
{
	size_t at = rr_begin(m, sec, owner, type, rclass, ttl);

	if (type == DNS_TYPE_AAAA) {
		put32(m, 0x20010db8); /* ADDRESS: 2001:db8 (RFC 3849) */
		put32(m, 0);          /* ... */
		put32(m, 0);          /* ... */
		put32(m, host);       /* ...::host */
	} else {
		put8(m, 192); /* ADDRESS: 192.0.2 (RFC 5737) */
		put8(m, 0);
		put8(m, 2);
		put8(m, host); /* .host */
	}
	rr_end(m, at);
}

static void
msg_a(struct msg *m, int sec, const char *owner, uint32_t ttl, uint8_t host)
{
	msg_addr(m, sec, owner, DNS_TYPE_A, DNS_CLASS_IN, ttl, host);
}

/* A record whose RDATA is one domain name (CNAME, NS). */
static void
msg_name_rr(struct msg *m, int sec, const char *owner, uint16_t type,
            uint32_t ttl, const char *target)
{
	size_t at = rr_begin(m, sec, owner, type, DNS_CLASS_IN, ttl);

	put_name(m, target); /* CNAME / NSDNAME */
	rr_end(m, at);
}

static void
msg_soa(struct msg *m, int sec, const char *zone, uint32_t ttl,
        uint32_t minimum)
{
	size_t at = rr_begin(m, sec, zone, DNS_TYPE_SOA, DNS_CLASS_IN, ttl);

	put_name(m, "ns1.example.net");        /* MNAME */
	put_name(m, "hostmaster.example.net"); /* RNAME */
	put32(m, 2024010101);                  /* SERIAL */
	put32(m, 7200);                        /* REFRESH */
	put32(m, 3600);                        /* RETRY */
	put32(m, 1209600);                     /* EXPIRE */
	put32(m, minimum);                     /* MINIMUM */
	rr_end(m, at);
}

/* A TXT record whose RDATA is exactly rdlen bytes of character-strings. */
static void
msg_txt(struct msg *m, int sec, const char *owner, uint32_t ttl, size_t rdlen)
{
	size_t at = rr_begin(m, sec, owner, DNS_TYPE_TXT, DNS_CLASS_IN, ttl);

	while (rdlen > 0) {
		size_t n = rdlen - 1 > 255 ? 255 : rdlen - 1;

		put8(m, (unsigned)n); /* string length */
		for (size_t i = 0; i < n; i++)
			put8(m, 'x'); /* text */
		rdlen -= n + 1;
	}
	rr_end(m, at);
}

/* The OPT pseudo-RR (RFC 6891 6.1.2), in the additional section. */
static void
msg_opt(struct msg *m, uint16_t payload, uint8_t ext_rcode, bool do_bit,
        bool cookie)
{
	/* TTL field: EXTENDED-RCODE, VERSION 0, DO, Z. */
	uint32_t flags = (uint32_t)ext_rcode << 24 | (do_bit ? 0x8000u : 0);
	/* Owner the root, CLASS the requestor's UDP payload size. */
	size_t at = rr_begin(m, SEC_AR, "", DNS_TYPE_OPT, payload, flags);

	if (cookie) {
		put16(m, DNS_OPT_COOKIE); /* OPTION-CODE */
		put16(m, 8);              /* OPTION-LENGTH: client cookie */
		for (unsigned i = 0; i < 8; i++)
			put8(m, 0xa0 + i); /* client cookie */
	}
	rr_end(m, at);
}

/* A NOERROR answer to qname/A: one A record 192.0.2.host with ttl. */
static size_t
answer_a(struct msg *m, const char *qname, uint32_t ttl, uint8_t host)
{
	msg_begin(m, 0, RESP | DNS_RCODE_NOERROR);
	msg_question(m, qname, DNS_TYPE_A, DNS_CLASS_IN);
	msg_a(m, SEC_AN, qname, ttl, host);
	return msg_end(m);
}

/*
 * www.example.com/A: CNAME to web.example.com (cname_ttl), web's A
 * (a_ttl), the zone's NS in the authority section (ns_ttl) and the
 * server's A in the additional section (glue_ttl).
 */
static size_t
answer_chain(struct msg *m, uint32_t cname_ttl, uint32_t a_ttl, uint32_t ns_ttl,
             uint32_t glue_ttl)
{
	msg_begin(m, 0, RESP | DNS_RCODE_NOERROR);
	msg_question(m, "www.example.com", DNS_TYPE_A, DNS_CLASS_IN);
	msg_name_rr(m, SEC_AN, "www.example.com", DNS_TYPE_CNAME, cname_ttl,
	            "web.example.com");
	msg_a(m, SEC_AN, "web.example.com", a_ttl, 80);
	msg_name_rr(m, SEC_NS, "example.com", DNS_TYPE_NS, ns_ttl,
	            "ns1.example.com");
	msg_a(m, SEC_AR, "ns1.example.com", glue_ttl, 53);
	return msg_end(m);
}

/* An NXDOMAIN (or NODATA with NOERROR) for qname/A with the zone's SOA. */
static size_t
answer_negative(struct msg *m, unsigned rcode, const char *qname,
                uint32_t soa_ttl, uint32_t minimum)
{
	msg_begin(m, 0, (uint16_t)(RESP | rcode));
	msg_question(m, qname, DNS_TYPE_A, DNS_CLASS_IN);
	msg_soa(m, SEC_NS, "example.com", soa_ttl, minimum);
	return msg_end(m);
}

/* A header-and-question answer with rcode and extra flags. */
static size_t
answer_empty(struct msg *m, const char *qname, uint16_t flags)
{
	msg_begin(m, 0, (uint16_t)(RESP | flags));
	msg_question(m, qname, DNS_TYPE_A, DNS_CLASS_IN);
	return msg_end(m);
}

/* qname/TXT answered by one TXT record, the message exactly total long. */
static size_t
answer_big(struct msg *m, const char *qname, size_t total)
{
	size_t fixed;

	msg_begin(m, 0, RESP | DNS_RCODE_NOERROR);
	msg_question(m, qname, DNS_TYPE_TXT, DNS_CLASS_IN);
	/* What the TXT record takes besides its RDATA: owner and 10 bytes. */
	fixed = m->len + (strlen(qname) + 2) + 10;
	assert_true(total > fixed);
	msg_txt(m, SEC_AN, qname, 300, total - fixed);
	msg_end(m);
	assert_int_equal(m->len, total);
	return m->len;
}

/* ---- keys ---- */

/* A client query as it arrives on the wire. */
struct qspec {
	uint16_t id;
	uint16_t flags; /* DNS_FLAG_RD, DNS_FLAG_CD */
	const char *qname;
	uint16_t qtype;   /* 0: A */
	uint16_t qclass;  /* 0: IN */
	uint16_t payload; /* EDNS UDP payload size; 0: no OPT */
	bool do_bit;
	bool cookie;
};

/* The key of the query s, parsed by dns_query_parse. */
static void
query_key(struct cache_key *k, const struct qspec *s)
{
	struct msg m;
	struct dns_query q;

	msg_begin(&m, s->id, s->flags);
	msg_question(&m, s->qname, s->qtype != 0 ? s->qtype : DNS_TYPE_A,
	             s->qclass != 0 ? s->qclass : DNS_CLASS_IN);
	if (s->payload != 0)
		msg_opt(&m, s->payload, 0, s->do_bit, s->cookie);
	msg_end(&m);
	assert_int_equal(dns_query_parse(m.b, m.len, &q), DNS_PARSE_OK);
	cache_key_make(k, &q);
}

/* The key of an RD=1 query for name/qtype/IN, struct dns_query by hand. */
static void
key_of(struct cache_key *k, const char *name, uint16_t qtype)
{
	struct dns_query q;

	memset(&q, 0, sizeof(q));
	q.hdr.flags = DNS_FLAG_RD;
	q.hdr.qdcount = 1;
	q.qname_len = name_wire(name, q.qname);
	q.qtype = qtype;
	q.qclass = DNS_CLASS_IN;
	q.question_end = DNS_HEADER_LEN + q.qname_len + 4;
	cache_key_make(k, &q);
}

static bool
key_equal(const struct cache_key *a, const struct cache_key *b)
{
	return a->flags == b->flags && a->qtype == b->qtype &&
	       a->qclass == b->qclass && a->qname_len == b->qname_len &&
	       memcmp(a->qname, b->qname, a->qname_len) == 0;
}

/* ---- reading what a hit hands out ---- */

struct rr_view {
	uint16_t type;
	uint32_t ttl;
	size_t ttl_at; /* offset of the TTL field */
	size_t rdata_at;
	uint16_t rdlength;
};

static unsigned
rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static bool
skip_name(const uint8_t *m, size_t len, size_t *pos)
{
	while (*pos < len) {
		uint8_t l = m[*pos];

		if ((l & 0xc0) == 0xc0) {
			*pos += 2;
			return *pos <= len;
		}
		if ((l & 0xc0) != 0)
			return false;
		*pos += 1u + l;
		if (l == 0)
			return true;
	}
	return false;
}

/*
 * The RRs of m after its single question, into rr; -1 when m is not a
 * well-formed message of that shape. No cmocka calls: threads use it.
 */
static long
walk(const uint8_t *m, size_t len, struct rr_view *rr, size_t max)
{
	size_t pos = DNS_HEADER_LEN;
	size_t total;

	if (len < DNS_HEADER_LEN || rd16(m + 4) != 1)
		return -1;
	total = (size_t)rd16(m + 6) + rd16(m + 8) + rd16(m + 10);
	if (total > max || !skip_name(m, len, &pos) || (pos += 4) > len)
		return -1;
	for (size_t i = 0; i < total; i++) {
		if (!skip_name(m, len, &pos) || pos + 10 > len)
			return -1;
		rr[i].type = (uint16_t)rd16(m + pos);
		rr[i].ttl_at = pos + 4;
		rr[i].ttl = rd32(m + pos + 4);
		rr[i].rdlength = (uint16_t)rd16(m + pos + 8);
		rr[i].rdata_at = pos + 10;
		pos += 10u + rr[i].rdlength;
		if (pos > len)
			return -1;
	}
	return pos == len ? (long)total : -1;
}

static size_t
walk_ok(const uint8_t *m, size_t len, struct rr_view *rr)
{
	long n = walk(m, len, rr, MAX_RR);

	assert_true(n >= 0);
	return (size_t)n;
}

/* The TTL of the i-th RR after the question. */
static uint32_t
rr_ttl(const uint8_t *m, size_t len, size_t i)
{
	struct rr_view rr[MAX_RR];

	assert_true(i < walk_ok(m, len, rr));
	return rr[i].ttl;
}

/*
 * got is want as a hit hands it out: ID 0, the question lower-cased, the
 * TTL of every RR but the OPT free to differ, every other byte the same.
 */
static void
assert_same_but_ttls(const uint8_t *got, size_t got_len, const uint8_t *want,
                     size_t want_len)
{
	static uint8_t a[CACHE_MSG_MAX], b[CACHE_MSG_MAX];
	struct rr_view ra[MAX_RR], rb[MAX_RR];
	size_t n, pos = DNS_HEADER_LEN;

	assert_int_equal(got_len, want_len);
	assert_true(got_len <= sizeof(a));
	memcpy(a, got, got_len);
	memcpy(b, want, want_len);
	assert_int_equal(rd16(a), 0); /* ID 0 */
	b[0] = b[1] = 0;
	/* The QNAME lower-cased (length bytes are < 64: never letters). */
	assert_true(skip_name(b, want_len, &pos));
	for (size_t i = DNS_HEADER_LEN; i < pos; i++)
		if (b[i] >= 'A' && b[i] <= 'Z')
			b[i] = (uint8_t)(b[i] + ('a' - 'A'));
	n = walk_ok(a, got_len, ra);
	assert_int_equal(walk_ok(b, want_len, rb), n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ra[i].type, rb[i].type);
		assert_int_equal(ra[i].ttl_at, rb[i].ttl_at);
		if (ra[i].type == DNS_TYPE_OPT)
			continue;
		memset(a + ra[i].ttl_at, 0, 4);
		memset(b + rb[i].ttl_at, 0, 4);
	}
	assert_memory_equal(a, b, got_len);
}

/* ---- cache helpers ---- */

static struct cache_params
params(void)
{
	struct cache_params p = {
	    .size = 1u << 20,
	    .min_ttl = 0,
	    .max_ttl = 86400,
	    .serve_stale = false,
	    .stale_ttl = 30,
	    .max_stale = 3600,
	    .prefetch = false,
	    .servfail_ttl = 5,
	    .shards = 0,
	};

	return p;
}

static struct cache *
new_cache(const struct cache_params *p)
{
	struct cache *c = cache_new(p, hash_key);

	assert_non_null(c);
	return c;
}

/* Where hits are copied. */
static uint8_t obuf[CACHE_MSG_MAX];

static struct cache_hit
look(struct cache *c, const struct cache_key *k, uint64_t now_ms,
     bool allow_stale)
{
	return cache_lookup(c, k, now_ms, allow_stale, obuf, sizeof(obuf));
}

static void
store_ok(struct cache *c, const struct cache_key *k, const struct msg *m,
         uint64_t now_ms)
{
	assert_int_equal(cache_store(c, k, m->b, m->len, now_ms), CACHE_STORED);
}

/* Store name/A (one A record, TTL ttl) at now_ms. */
static void
store_name(struct cache *c, const char *name, uint32_t ttl, uint64_t now_ms)
{
	struct cache_key k;
	struct msg m;

	key_of(&k, name, DNS_TYPE_A);
	answer_a(&m, name, ttl, 1);
	store_ok(c, &k, &m, now_ms);
}

static enum cache_result
look_name(struct cache *c, const char *name, uint64_t now_ms)
{
	struct cache_key k;

	key_of(&k, name, DNS_TYPE_A);
	return look(c, &k, now_ms, false).result;
}

/* ---- key ---- */

static void
test_cache_key_ignores_qname_case(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key lower, mixed;
	uint8_t want[DNS_NAME_MAX];
	size_t want_len = name_wire("www.example.com", want);
	struct msg m;

	query_key(&lower, &(struct qspec){.id = 1,
	                                  .flags = DNS_FLAG_RD,
	                                  .qname = "www.example.com"});
	query_key(&mixed, &(struct qspec){.id = 1,
	                                  .flags = DNS_FLAG_RD,
	                                  .qname = "WwW.ExAmPlE.CoM"});
	assert_true(key_equal(&lower, &mixed));
	assert_int_equal(mixed.qname_len, want_len);
	assert_memory_equal(mixed.qname, want, want_len);

	answer_a(&m, "www.example.com", 300, 1);
	store_ok(c, &mixed, &m, 1000);
	assert_int_equal(look(c, &lower, 2000, false).result, CACHE_HIT);
	store_ok(c, &lower, &m, 1000);
	assert_int_equal(cache_stats(c).entries, 1);
	cache_free(c);
}

static void
test_cache_key_ignores_id_payload_and_cookie(void **state)
{
	const struct qspec variants[] = {
	    {.id = 0xffff, .payload = 1232},
	    {.id = 7, .payload = 4096, .cookie = true},
	    {.id = 9, .payload = 512},
	    {.id = 0x8000, .payload = 65535, .cookie = true},
	};
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key base, k;
	struct msg m;

	/* ID 1, RD, no OPT at all. */
	query_key(&base, &(struct qspec){.id = 1,
	                                 .flags = DNS_FLAG_RD,
	                                 .qname = "www.example.com"});
	answer_a(&m, "www.example.com", 300, 1);
	store_ok(c, &base, &m, 1000);
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct qspec s = variants[i];

		s.flags = DNS_FLAG_RD;
		s.qname = "www.example.com";
		query_key(&k, &s);
		assert_true(key_equal(&base, &k));
		assert_int_equal(look(c, &k, 2000, false).result, CACHE_HIT);
		store_ok(c, &k, &m, 1000);
		assert_int_equal(cache_stats(c).entries, 1);
	}
	cache_free(c);
}

static void
test_cache_key_splits_on_rd_do_cd(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k[8];
	struct msg m;

	for (unsigned i = 0; i < 8; i++) {
		struct qspec s = {
		    .id = 42,
		    .flags = (uint16_t)(((i & 1) ? DNS_FLAG_RD : 0) |
		                        ((i & 4) ? DNS_FLAG_CD : 0)),
		    .qname = "www.example.com",
		    .payload = 1232,
		    .do_bit = (i & 2) != 0,
		};
		unsigned want = ((i & 1) ? CACHE_KEY_RD : 0) |
		                ((i & 2) ? CACHE_KEY_DO : 0) |
		                ((i & 4) ? CACHE_KEY_CD : 0);

		query_key(&k[i], &s);
		assert_int_equal(k[i].flags, want);
		for (unsigned j = 0; j < i; j++)
			assert_false(key_equal(&k[i], &k[j]));
	}
	/* Only the RD=1 entry: the seven others miss. */
	answer_a(&m, "www.example.com", 300, 1);
	store_ok(c, &k[1], &m, 1000);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(look(c, &k[i], 2000, false).result,
		                 i == 1 ? CACHE_HIT : CACHE_MISS);
	/* One entry each, each with its own answer (192.0.2.100+i). */
	for (unsigned i = 0; i < 8; i++) {
		answer_a(&m, "www.example.com", 300, (uint8_t)(100 + i));
		store_ok(c, &k[i], &m, 1000);
	}
	assert_int_equal(cache_stats(c).entries, 8);
	for (unsigned i = 0; i < 8; i++) {
		struct cache_hit h = look(c, &k[i], 2000, false);
		struct rr_view rr[MAX_RR];

		assert_int_equal(h.result, CACHE_HIT);
		assert_int_equal(walk_ok(obuf, h.len, rr), 1);
		assert_int_equal(obuf[rr[0].rdata_at + 3], 100 + i);
	}
	cache_free(c);
}

static void
test_cache_key_splits_on_qtype_and_qclass(void **state)
{
	static const struct {
		uint16_t qtype, qclass;
	} q[] = {
	    {DNS_TYPE_A, DNS_CLASS_IN},
	    {DNS_TYPE_AAAA, DNS_CLASS_IN},
	    {DNS_TYPE_A, CLASS_CH},
	};
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k[3];
	struct msg m[3];

	for (unsigned i = 0; i < 3; i++) {
		query_key(&k[i], &(struct qspec){.flags = DNS_FLAG_RD,
		                                 .qname = "www.example.com",
		                                 .qtype = q[i].qtype,
		                                 .qclass = q[i].qclass});
		assert_int_equal(k[i].qtype, q[i].qtype);
		assert_int_equal(k[i].qclass, q[i].qclass);
		msg_begin(&m[i], 0, RESP);
		msg_question(&m[i], "www.example.com", q[i].qtype, q[i].qclass);
		msg_addr(&m[i], SEC_AN, "www.example.com", q[i].qtype,
		         q[i].qclass, 300, (uint8_t)i);
		msg_end(&m[i]);
	}
	store_ok(c, &k[0], &m[0], 1000);
	assert_int_equal(look(c, &k[0], 2000, false).result, CACHE_HIT);
	assert_int_equal(look(c, &k[1], 2000, false).result, CACHE_MISS);
	assert_int_equal(look(c, &k[2], 2000, false).result, CACHE_MISS);
	store_ok(c, &k[1], &m[1], 1000);
	store_ok(c, &k[2], &m[2], 1000);
	assert_int_equal(cache_stats(c).entries, 3);
	for (unsigned i = 0; i < 3; i++) {
		struct cache_hit h = look(c, &k[i], 2000, false);

		assert_int_equal(h.result, CACHE_HIT);
		assert_same_but_ttls(obuf, h.len, m[i].b, m[i].len);
	}
	cache_free(c);
}

/* ---- cache_msg_ttl ---- */

static void
test_cache_msg_ttl_positive_is_smallest_ttl(void **state)
{
	struct cache_params p = params();
	struct msg m;

	answer_chain(&m, 600, 300, 900, 1200); /* answer section */
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 300);
	answer_chain(&m, 200, 300, 900, 1200); /* the CNAME */
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 200);
	answer_chain(&m, 600, 300, 50, 1200); /* authority */
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 50);
	answer_chain(&m, 600, 300, 900, 7); /* additional */
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 7);
}

static void
test_cache_msg_ttl_ignores_opt(void **state)
{
	struct cache_params p = params();
	struct msg m;

	/* An OPT whose TTL field is 0 (no flags): not a TTL of 0. */
	answer_chain(&m, 600, 300, 900, 1200);
	msg_opt(&m, 1232, 0, false, false);
	msg_end(&m);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 300);
	/* DO set: TTL field 32768, below every real TTL here. */
	answer_chain(&m, 86400, 86400, 86400, 86400);
	msg_opt(&m, 1232, 0, true, false);
	msg_end(&m);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 86400);
}

static void
test_cache_msg_ttl_is_before_clamp(void **state)
{
	struct cache_params p = params();
	struct msg m;

	p.min_ttl = 60;
	p.max_ttl = 3600;
	answer_a(&m, "www.example.com", 5, 1);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 5);
	answer_a(&m, "www.example.com", 100000, 1);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 100000);
}

static void
test_cache_msg_ttl_nxdomain_from_soa(void **state)
{
	struct cache_params p = params();
	struct msg m;

	answer_negative(&m, DNS_RCODE_NXDOMAIN, "nx.example.com", 3600, 300);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 300);
	answer_negative(&m, DNS_RCODE_NXDOMAIN, "nx.example.com", 60, 900);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 60);
}

static void
test_cache_msg_ttl_nodata_from_soa(void **state)
{
	struct cache_params p = params();
	struct msg m;

	answer_negative(&m, DNS_RCODE_NOERROR, "www.example.com", 3600, 300);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 300);
	answer_negative(&m, DNS_RCODE_NOERROR, "www.example.com", 120, 3600);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 120);
}

static void
test_cache_msg_ttl_negative_without_soa(void **state)
{
	struct cache_params p = params();
	struct msg m;

	/* NXDOMAIN, nothing but the question. */
	answer_empty(&m, "nx.example.com", DNS_RCODE_NXDOMAIN);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
	/* NODATA, nothing but the question. */
	answer_empty(&m, "www.example.com", DNS_RCODE_NOERROR);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
	/* NOERROR, no answers, an NS (a referral) and no SOA. */
	msg_begin(&m, 0, RESP | DNS_RCODE_NOERROR);
	msg_question(&m, "www.example.com", DNS_TYPE_A, DNS_CLASS_IN);
	msg_name_rr(&m, SEC_NS, "example.com", DNS_TYPE_NS, 3600,
	            "ns1.example.com");
	msg_end(&m);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
	/* NXDOMAIN with an SOA in the additional section only. */
	msg_begin(&m, 0, RESP | DNS_RCODE_NXDOMAIN);
	msg_question(&m, "nx.example.com", DNS_TYPE_A, DNS_CLASS_IN);
	msg_soa(&m, SEC_AR, "example.com", 3600, 300);
	msg_end(&m);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
}

static void
test_cache_msg_ttl_servfail(void **state)
{
	struct cache_params p = params();
	struct msg m;

	answer_empty(&m, "www.example.com", DNS_RCODE_SERVFAIL);
	p.servfail_ttl = 5;
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 5);
	p.servfail_ttl = 3;
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 3);
	p.servfail_ttl = 0;
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 0);
}

static void
test_cache_msg_ttl_never_cached(void **state)
{
	static const unsigned rcodes[] = {
	    DNS_RCODE_FORMERR,  DNS_RCODE_NOTIMP,  DNS_RCODE_REFUSED,
	    DNS_RCODE_YXDOMAIN, DNS_RCODE_NOTAUTH,
	};
	struct cache_params p = params();
	struct msg m;

	/* TC=1 on an otherwise cacheable answer. */
	answer_a(&m, "www.example.com", 300, 1);
	m.b[2] |= DNS_FLAG_TC >> 8;
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
	/* TC=1 on an otherwise cacheable NXDOMAIN. */
	answer_negative(&m, DNS_RCODE_NXDOMAIN, "nx.example.com", 3600, 300);
	m.b[2] |= DNS_FLAG_TC >> 8;
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
	/* Other RCODEs, even with an A record and an SOA. */
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		answer_empty(&m, "www.example.com", (uint16_t)rcodes[i]);
		assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
		msg_begin(&m, 0, (uint16_t)(RESP | rcodes[i]));
		msg_question(&m, "www.example.com", DNS_TYPE_A, DNS_CLASS_IN);
		msg_a(&m, SEC_AN, "www.example.com", 300, 1);
		msg_soa(&m, SEC_NS, "example.com", 3600, 300);
		msg_end(&m);
		assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
	}
}

static void
test_cache_msg_ttl_extended_rcode_not_cached(void **state)
{
	struct cache_params p = params();
	struct msg m;

	/* Header RCODE 0, OPT EXTENDED-RCODE 1: the RCODE is 16 (BADVERS). */
	answer_a(&m, "www.example.com", 300, 1);
	msg_opt(&m, 1232, 1, false, false);
	msg_end(&m);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
}

static void
test_cache_msg_ttl_malformed(void **state)
{
	struct cache_params p = params();
	struct msg m;
	size_t at;

	/* Every proper prefix of a cacheable answer: the counts lie. */
	answer_chain(&m, 600, 300, 900, 1200);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 300);
	for (size_t len = 0; len < m.len; len++)
		assert_int_equal(cache_msg_ttl(m.b, len, &p), -1);
	answer_negative(&m, DNS_RCODE_NXDOMAIN, "nx.example.com", 3600, 300);
	for (size_t len = 0; len < m.len; len++)
		assert_int_equal(cache_msg_ttl(m.b, len, &p), -1);
	/* An answer whose owner is a compression pointer to itself. */
	msg_begin(&m, 0, RESP | DNS_RCODE_NOERROR);
	msg_question(&m, "www.example.com", DNS_TYPE_A, DNS_CLASS_IN);
	at = m.len;
	put16(&m, 0xc000 | (unsigned)at); /* NAME: pointer to itself */
	put16(&m, DNS_TYPE_A);            /* TYPE */
	put16(&m, DNS_CLASS_IN);          /* CLASS */
	put32(&m, 300);                   /* TTL */
	put16(&m, 4);                     /* RDLENGTH */
	put32(&m, 0xc0000201);            /* ADDRESS 192.0.2.1 */
	m.count[SEC_AN]++;
	msg_end(&m);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
	/* An RDLENGTH running past the end. */
	answer_a(&m, "www.example.com", 300, 1);
	m.b[m.len - 5] = 5; /* RDLENGTH 4 -> 5 */
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), -1);
}

/* ---- hits ---- */

static void
test_cache_hit_decrements_each_ttl_by_age(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_chain(&m, 600, 300, 900, 1200);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.age, 10);
	assert_false(h.prefetch);
	assert_same_but_ttls(obuf, h.len, m.b, m.len);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 590);  /* CNAME */
	assert_int_equal(rr_ttl(obuf, h.len, 1), 290);  /* A */
	assert_int_equal(rr_ttl(obuf, h.len, 2), 890);  /* NS */
	assert_int_equal(rr_ttl(obuf, h.len, 3), 1190); /* glue A */
	/* Right after the store: age 0, the TTLs as stored. */
	h = look(c, &k, 1000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.age, 0);
	assert_memory_equal(obuf, m.b, m.len);
	cache_free(c);
}

static void
test_cache_hit_zeroes_id_and_lowers_question(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k;
	struct cache_hit h;
	struct msg m;
	uint8_t lower[DNS_NAME_MAX];
	size_t lower_len = name_wire("www.example.com", lower);

	query_key(&k, &(struct qspec){.id = 0xbeef,
	                              .flags = DNS_FLAG_RD,
	                              .qname = "WWW.Example.COM"});
	/* The upstream's answer as sent: ID and question case of the query. */
	msg_begin(&m, 0xbeef, RESP | DNS_RCODE_NOERROR);
	msg_question(&m, "WWW.Example.COM", DNS_TYPE_A, DNS_CLASS_IN);
	msg_a(&m, SEC_AN, "www.example.com", 300, 1);
	msg_end(&m);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 2000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rd16(obuf), 0);
	assert_memory_equal(obuf + DNS_HEADER_LEN, lower, lower_len);
	assert_same_but_ttls(obuf, h.len, m.b, m.len);
	cache_free(c);
}

static void
test_cache_hit_leaves_opt_alone(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct rr_view rr[MAX_RR];
	struct msg m;
	size_t n;

	p.serve_stale = true;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 300, 1);
	msg_opt(&m, 1232, 0, true, false); /* TTL field 0x00008000 */
	msg_end(&m);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_same_but_ttls(obuf, h.len, m.b, m.len); /* OPT byte for byte */
	n = walk_ok(obuf, h.len, rr);
	assert_int_equal(n, 2);
	assert_int_equal(rr[0].ttl, 290);
	assert_int_equal(rr[1].type, DNS_TYPE_OPT);
	assert_int_equal(rr[1].ttl, 0x8000);
	/* Stale: stale-ttl on the A record, the OPT still untouched. */
	h = look(c, &k, 302000, true);
	assert_int_equal(h.result, CACHE_STALE);
	n = walk_ok(obuf, h.len, rr);
	assert_int_equal(n, 2);
	assert_int_equal(rr[0].ttl, p.stale_ttl);
	assert_int_equal(rr[1].ttl, 0x8000);
	cache_free(c);
}

static void
test_cache_expired_is_miss(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 300, 1);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 300000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.age, 299);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 1);
	assert_int_equal(look(c, &k, 300999, false).result, CACHE_HIT);
	assert_int_equal(look(c, &k, 301000, false).result, CACHE_MISS);
	/* serve-stale is off: allowing stale changes nothing. */
	assert_int_equal(look(c, &k, 301000, true).result, CACHE_MISS);
	assert_int_equal(look(c, &k, 400000, true).result, CACHE_MISS);
	cache_free(c);
}

static void
test_cache_serve_stale_within_max_stale(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k, nx;
	struct cache_hit h;
	struct rr_view rr[MAX_RR];
	struct msg m, neg;
	size_t n;

	p.serve_stale = true;
	p.stale_ttl = 30;
	p.max_stale = 3600;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_chain(&m, 600, 300, 900, 1200);
	store_ok(c, &k, &m, 1000);
	/* Fresh: a plain hit even when stale is allowed. */
	h = look(c, &k, 11000, true);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rr_ttl(obuf, h.len, 1), 290);
	/* Expired at 301000: a miss unless stale is allowed. */
	assert_int_equal(look(c, &k, 301000, false).result, CACHE_MISS);
	h = look(c, &k, 301000, true);
	assert_int_equal(h.result, CACHE_STALE);
	assert_false(h.prefetch);
	assert_same_but_ttls(obuf, h.len, m.b, m.len);
	n = walk_ok(obuf, h.len, rr);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rr[i].ttl, 30);
	/* Expired 3599.999 s ago: still stale; 3600 s ago: gone. */
	h = look(c, &k, 3900999, true);
	assert_int_equal(h.result, CACHE_STALE);
	assert_int_equal(rr_ttl(obuf, h.len, 3), 30);
	assert_int_equal(look(c, &k, 3901000, true).result, CACHE_MISS);
	assert_int_equal(look(c, &k, 3901000, false).result, CACHE_MISS);

	/* A stale negative answer: its SOA carries stale-ttl too. */
	key_of(&nx, "nx.example.com", DNS_TYPE_A);
	answer_negative(&neg, DNS_RCODE_NXDOMAIN, "nx.example.com", 3600, 300);
	store_ok(c, &nx, &neg, 1000);
	h = look(c, &nx, 302000, true);
	assert_int_equal(h.result, CACHE_STALE);
	assert_same_but_ttls(obuf, h.len, neg.b, neg.len);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 30);
	cache_free(c);
}

static void
test_cache_serve_stale_off_is_miss(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct msg m;

	p.serve_stale = false;
	p.max_stale = 86400;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 300, 1);
	store_ok(c, &k, &m, 1000);
	assert_int_equal(look(c, &k, 301000, true).result, CACHE_MISS);
	assert_int_equal(look(c, &k, 302000, true).result, CACHE_MISS);
	cache_free(c);

	/* serve-stale on, max-stale 0: nothing expired is ever served. */
	p.serve_stale = true;
	p.max_stale = 0;
	c = new_cache(&p);
	store_ok(c, &k, &m, 1000);
	assert_int_equal(look(c, &k, 301000, true).result, CACHE_MISS);
	cache_free(c);
}

/* ---- clamping ---- */

static void
test_cache_min_ttl_raises_lifetime_and_ttls(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.min_ttl = 60;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 5, 1);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 50);
	h = look(c, &k, 60000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 1);
	assert_int_equal(look(c, &k, 61000, false).result, CACHE_MISS);
	cache_free(c);
}

static void
test_cache_max_ttl_caps_lifetime_and_ttls(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.max_ttl = 3600;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 100000, 1);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 3590);
	h = look(c, &k, 3600000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 1);
	assert_int_equal(look(c, &k, 3601000, false).result, CACHE_MISS);
	cache_free(c);
}

static void
test_cache_clamp_applies_to_each_record(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.min_ttl = 60;
	p.max_ttl = 3600;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	/* CNAME above max, A below min, NS and glue in between. */
	answer_chain(&m, 100000, 5, 1800, 600);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 3590); /* CNAME */
	assert_int_equal(rr_ttl(obuf, h.len, 1), 50);   /* A */
	assert_int_equal(rr_ttl(obuf, h.len, 2), 1790); /* NS */
	assert_int_equal(rr_ttl(obuf, h.len, 3), 590);  /* glue A */
	/* The entry lives min-ttl: the A record's clamped TTL. */
	assert_int_equal(look(c, &k, 60000, false).result, CACHE_HIT);
	assert_int_equal(look(c, &k, 61000, false).result, CACHE_MISS);
	cache_free(c);
}

static void
test_cache_zero_ttl_raised_by_min_ttl(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.min_ttl = 30;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 0, 1);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 0);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 20);
	assert_int_equal(look(c, &k, 31000, false).result, CACHE_MISS);
	cache_free(c);
}

/* ---- negative answers and SERVFAIL ---- */

static void
test_cache_negative_keeps_soa(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key nx, nodata;
	struct cache_hit h;
	struct msg m1, m2;

	/* NXDOMAIN: SOA TTL 3600, MINIMUM 300 -> lives and shows 300. */
	key_of(&nx, "nx.example.com", DNS_TYPE_A);
	answer_negative(&m1, DNS_RCODE_NXDOMAIN, "nx.example.com", 3600, 300);
	store_ok(c, &nx, &m1, 1000);
	/* NODATA: SOA TTL 120, MINIMUM 3600 -> lives and shows 120. */
	key_of(&nodata, "www.example.com", DNS_TYPE_A);
	answer_negative(&m2, DNS_RCODE_NOERROR, "www.example.com", 120, 3600);
	store_ok(c, &nodata, &m2, 1000);

	h = look(c, &nx, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_same_but_ttls(obuf, h.len, m1.b, m1.len); /* MINIMUM kept */
	assert_int_equal(DNS_RCODE(rd16(obuf + 2)), DNS_RCODE_NXDOMAIN);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 290);
	h = look(c, &nodata, 11000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_same_but_ttls(obuf, h.len, m2.b, m2.len);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 110);

	assert_int_equal(look(c, &nodata, 120000, false).result, CACHE_HIT);
	assert_int_equal(look(c, &nodata, 121000, false).result, CACHE_MISS);
	assert_int_equal(look(c, &nx, 300000, false).result, CACHE_HIT);
	assert_int_equal(look(c, &nx, 301000, false).result, CACHE_MISS);
	cache_free(c);
}

static void
test_cache_servfail_lives_servfail_ttl(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.servfail_ttl = 5;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_empty(&m, "www.example.com", DNS_RCODE_SERVFAIL);
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 5000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.age, 4);
	assert_same_but_ttls(obuf, h.len, m.b, m.len);
	assert_int_equal(look(c, &k, 5999, false).result, CACHE_HIT);
	assert_int_equal(look(c, &k, 6000, false).result, CACHE_MISS);
	cache_free(c);
}

/* Only an answer refreshes an entry: a SERVFAIL leaves the one there,
 * fresh or kept for serve-stale, as it is. */
static void
test_cache_servfail_replaces_no_entry(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg good, bad;

	p.serve_stale = true;
	p.max_stale = 3600;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&good, "www.example.com", 60, 1);
	store_ok(c, &k, &good, 1000);
	answer_empty(&bad, "www.example.com", DNS_RCODE_SERVFAIL);
	assert_int_equal(cache_store(c, &k, bad.b, bad.len, 2000),
	                 CACHE_NOT_CACHEABLE);
	h = look(c, &k, 3000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_same_but_ttls(obuf, h.len, good.b, good.len);
	/* Expired, kept for serve-stale: still not replaced. */
	assert_int_equal(cache_store(c, &k, bad.b, bad.len, 100000),
	                 CACHE_NOT_CACHEABLE);
	assert_int_equal(look(c, &k, 100000, true).result, CACHE_STALE);
	assert_int_equal(cache_stats(c).entries, 1);
	cache_free(c);
}

/* ---- store results ---- */

static void
test_cache_store_not_cacheable(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct msg m;

	p.min_ttl = 0;
	p.servfail_ttl = 0;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	/* Lifetime 0: TTL 0 and no min-ttl. */
	answer_a(&m, "www.example.com", 0, 1);
	assert_int_equal(cache_store(c, &k, m.b, m.len, 1000),
	                 CACHE_NOT_CACHEABLE);
	/* A TTL-0 record among others: the smallest decides. */
	answer_chain(&m, 600, 300, 0, 1200);
	assert_int_equal(cache_store(c, &k, m.b, m.len, 1000),
	                 CACHE_NOT_CACHEABLE);
	/* SERVFAIL with servfail-ttl 0. */
	answer_empty(&m, "www.example.com", DNS_RCODE_SERVFAIL);
	assert_int_equal(cache_store(c, &k, m.b, m.len, 1000),
	                 CACHE_NOT_CACHEABLE);
	/* cache_msg_ttl says -1: REFUSED, TC=1, NXDOMAIN without SOA. */
	answer_empty(&m, "www.example.com", DNS_RCODE_REFUSED);
	assert_int_equal(cache_store(c, &k, m.b, m.len, 1000),
	                 CACHE_NOT_CACHEABLE);
	answer_a(&m, "www.example.com", 300, 1);
	m.b[2] |= DNS_FLAG_TC >> 8;
	assert_int_equal(cache_store(c, &k, m.b, m.len, 1000),
	                 CACHE_NOT_CACHEABLE);
	answer_empty(&m, "www.example.com", DNS_RCODE_NXDOMAIN);
	assert_int_equal(cache_store(c, &k, m.b, m.len, 1000),
	                 CACHE_NOT_CACHEABLE);
	/* Malformed: a cacheable answer cut short. */
	answer_a(&m, "www.example.com", 300, 1);
	assert_int_equal(cache_store(c, &k, m.b, m.len - 1, 1000),
	                 CACHE_NOT_CACHEABLE);

	assert_int_equal(cache_stats(c).entries, 0);
	assert_int_equal(look(c, &k, 1000, true).result, CACHE_MISS);
	cache_free(c);
}

static void
test_cache_store_too_big(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k1, k2;
	struct cache_hit h;
	static struct msg m;

	/* Exactly CACHE_MSG_MAX bytes: cached. */
	key_of(&k1, "big.example.com", DNS_TYPE_TXT);
	answer_big(&m, "big.example.com", CACHE_MSG_MAX);
	assert_int_equal(cache_msg_ttl(m.b, m.len, &p), 300);
	store_ok(c, &k1, &m, 1000);
	h = cache_lookup(c, &k1, 2000, false, obuf, CACHE_MSG_MAX);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.len, CACHE_MSG_MAX);
	assert_same_but_ttls(obuf, h.len, m.b, m.len);
	/* One byte more: not. */
	key_of(&k2, "bigger.example.com", DNS_TYPE_TXT);
	answer_big(&m, "bigger.example.com", CACHE_MSG_MAX + 1);
	assert_int_equal(cache_store(c, &k2, m.b, m.len, 1000), CACHE_TOO_BIG);
	assert_int_equal(look(c, &k2, 2000, false).result, CACHE_MISS);
	assert_int_equal(cache_stats(c).entries, 1);
	cache_free(c);

	/* Longer than the whole cache. */
	p.size = 8192;
	p.shards = 1;
	c = new_cache(&p);
	answer_big(&m, "big.example.com", 10000);
	assert_int_equal(cache_store(c, &k1, m.b, m.len, 1000), CACHE_TOO_BIG);
	assert_int_equal(cache_stats(c).entries, 0);
	assert_true(cache_stats(c).bytes <= p.size);
	cache_free(c);
}

static void
test_cache_lookup_out_too_small_is_miss(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_chain(&m, 600, 300, 900, 1200);
	store_ok(c, &k, &m, 1000);
	h = cache_lookup(c, &k, 2000, false, obuf, m.len - 1);
	assert_int_equal(h.result, CACHE_MISS);
	h = cache_lookup(c, &k, 2000, false, obuf, 0);
	assert_int_equal(h.result, CACHE_MISS);
	/* Still there, and it fits exactly. */
	h = cache_lookup(c, &k, 2000, false, obuf, m.len);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.len, m.len);
	cache_free(c);
}

static void
test_cache_store_replaces(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key k;
	struct cache_hit h;
	struct rr_view rr[MAX_RR];
	struct cache_stats s1, s2;
	struct msg m;

	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 300, 1);
	store_ok(c, &k, &m, 1000);
	s1 = cache_stats(c);
	assert_int_equal(s1.entries, 1);
	/* Same length, new address, stored 200 s later. */
	answer_a(&m, "www.example.com", 300, 2);
	store_ok(c, &k, &m, 201000);
	s2 = cache_stats(c);
	assert_int_equal(s2.entries, 1);
	assert_int_equal(s2.bytes, s1.bytes);
	h = look(c, &k, 211000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.age, 10);
	assert_int_equal(walk_ok(obuf, h.len, rr), 1);
	assert_int_equal(rr[0].ttl, 290);
	assert_int_equal(obuf[rr[0].rdata_at + 3], 2);
	/* The old entry would have expired at 301000; the new one lives. */
	assert_int_equal(look(c, &k, 400000, false).result, CACHE_HIT);
	assert_int_equal(look(c, &k, 501000, false).result, CACHE_MISS);
	/* A different message: NXDOMAIN replaces the positive answer. */
	answer_negative(&m, DNS_RCODE_NXDOMAIN, "www.example.com", 3600, 60);
	store_ok(c, &k, &m, 600000);
	assert_int_equal(cache_stats(c).entries, 1);
	h = look(c, &k, 600000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_same_but_ttls(obuf, h.len, m.b, m.len);
	assert_int_equal(rr_ttl(obuf, h.len, 0), 60); /* min(3600, 60) */
	cache_free(c);
}

/* ---- prefetch ---- */

static void
test_cache_prefetch_once_in_last_tenth(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.prefetch = true;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 100, 1); /* last 10 %: age >= 90 */
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 51000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_false(h.prefetch);
	h = look(c, &k, 89000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_false(h.prefetch);
	h = look(c, &k, 92000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_int_equal(h.age, 91);
	assert_true(h.prefetch);
	h = look(c, &k, 93000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_false(h.prefetch);
	h = look(c, &k, 100000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_false(h.prefetch);
	/* The refreshed answer is a new entry: one prefetch again. */
	store_ok(c, &k, &m, 100000);
	h = look(c, &k, 150000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_false(h.prefetch);
	h = look(c, &k, 191000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_true(h.prefetch);
	h = look(c, &k, 192000, false);
	assert_false(h.prefetch);
	cache_free(c);
}

static void
test_cache_prefetch_off_never(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.prefetch = false;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 100, 1);
	store_ok(c, &k, &m, 1000);
	for (uint64_t t = 1000; t < 101000; t += 1000) {
		h = look(c, &k, t, false);
		assert_int_equal(h.result, CACHE_HIT);
		assert_false(h.prefetch);
	}
	cache_free(c);
}

static void
test_cache_prefetch_uses_clamped_lifetime(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.prefetch = true;
	p.min_ttl = 100;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 5, 1); /* lives 100 s */
	store_ok(c, &k, &m, 1000);
	h = look(c, &k, 51000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_false(h.prefetch);
	h = look(c, &k, 92000, false);
	assert_int_equal(h.result, CACHE_HIT);
	assert_true(h.prefetch);
	cache_free(c);
}

static void
test_cache_prefetch_not_on_stale(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_key k;
	struct cache_hit h;
	struct msg m;

	p.prefetch = true;
	p.serve_stale = true;
	c = new_cache(&p);
	key_of(&k, "www.example.com", DNS_TYPE_A);
	answer_a(&m, "www.example.com", 100, 1);
	store_ok(c, &k, &m, 1000);
	/* Never hit in its last 10 %: first looked at once expired. */
	h = look(c, &k, 102000, true);
	assert_int_equal(h.result, CACHE_STALE);
	assert_false(h.prefetch);
	h = look(c, &k, 103000, true);
	assert_int_equal(h.result, CACHE_STALE);
	assert_false(h.prefetch);
	cache_free(c);
}

/* ---- flush ---- */

static void
test_cache_flush_subtree(void **state)
{
	static const char *const under[] = {
	    "example.com",
	    "www.example.com",
	    "a.b.example.com",
	};
	static const char *const others[] = {
	    "com",          "example.net", "www.example.net",
	    "xexample.com", "example.org", "example.com.example.net",
	};
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_key aaaa;
	struct msg m;
	uint8_t name[DNS_NAME_MAX];
	size_t total = 0;

	for (size_t i = 0; i < 3; i++, total++)
		store_name(c, under[i], 300, 1000);
	for (size_t i = 0; i < 6; i++, total++)
		store_name(c, others[i], 300, 1000);
	/* A second type at the apex goes too. */
	key_of(&aaaa, "example.com", DNS_TYPE_AAAA);
	msg_begin(&m, 0, RESP);
	msg_question(&m, "example.com", DNS_TYPE_AAAA, DNS_CLASS_IN);
	msg_addr(&m, SEC_AN, "example.com", DNS_TYPE_AAAA, DNS_CLASS_IN, 300,
	         1);
	msg_end(&m);
	store_ok(c, &aaaa, &m, 1000);
	total++;
	assert_int_equal(cache_stats(c).entries, total);

	name_wire("Example.COM", name);
	assert_int_equal(cache_flush(c, name), 4);
	assert_int_equal(cache_stats(c).entries, total - 4);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(look_name(c, under[i], 2000), CACHE_MISS);
	assert_int_equal(look(c, &aaaa, 2000, false).result, CACHE_MISS);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(look_name(c, others[i], 2000), CACHE_HIT);
	/* Nothing left under it. */
	name_wire("example.com", name);
	assert_int_equal(cache_flush(c, name), 0);
	/* A name with no entry of its own still takes its subtree. */
	name_wire("NET", name);
	assert_int_equal(cache_flush(c, name), 3);
	assert_int_equal(look_name(c, "example.net", 2000), CACHE_MISS);
	assert_int_equal(look_name(c, "www.example.net", 2000), CACHE_MISS);
	assert_int_equal(look_name(c, "com", 2000), CACHE_HIT);
	assert_int_equal(look_name(c, "xexample.com", 2000), CACHE_HIT);
	assert_int_equal(look_name(c, "example.org", 2000), CACHE_HIT);
	assert_int_equal(cache_stats(c).entries, total - 7);
	cache_free(c);
}

static void
test_cache_flush_all(void **state)
{
	struct cache_params p = params();
	struct cache *c = new_cache(&p);
	struct cache_stats empty, full, after;
	uint8_t root[DNS_NAME_MAX];
	char name[64];

	empty = cache_stats(c);
	assert_int_equal(empty.entries, 0);
	assert_int_equal(empty.evictions, 0);
	assert_true(empty.bytes <= p.size);
	assert_int_equal(cache_flush(c, NULL), 0);
	for (unsigned i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "n%u.example%u.com", i, i % 5);
		store_name(c, name, 300, 1000);
	}
	full = cache_stats(c);
	assert_int_equal(full.entries, 50);
	assert_true(full.bytes > empty.bytes);
	assert_int_equal(cache_flush(c, NULL), 50);
	after = cache_stats(c);
	assert_int_equal(after.entries, 0);
	assert_true(after.bytes < full.bytes);
	for (unsigned i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "n%u.example%u.com", i, i % 5);
		assert_int_equal(look_name(c, name, 2000), CACHE_MISS);
	}
	/* Usable afterwards; the root name is every name too. */
	store_name(c, "www.example.com", 300, 1000);
	store_name(c, "www.example.org", 300, 1000);
	assert_int_equal(look_name(c, "www.example.com", 2000), CACHE_HIT);
	name_wire(".", root);
	assert_int_equal(cache_flush(c, root), 2);
	assert_int_equal(cache_stats(c).entries, 0);
	cache_free(c);
}

/* ---- size and eviction (one shard: deterministic) ---- */

static void
filler_name(char *buf, size_t cap, char prefix, unsigned i)
{
	/* All the same length, so every entry costs the same. */
	snprintf(buf, cap, "%c%05u.example.com", prefix, i);
}

static void
test_cache_size_accounting_and_eviction(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_stats s, prev;
	char name[64];
	unsigned i, first_eviction = 0;

	p.size = 64 * 1024;
	p.shards = 1;
	c = new_cache(&p);
	prev = cache_stats(c);
	assert_true(prev.bytes <= p.size);
	for (i = 0; i < 2000; i++) {
		filler_name(name, sizeof(name), 'f', i);
		store_name(c, name, 86400, 1000);
		s = cache_stats(c);
		assert_true(s.bytes <= p.size);
		assert_int_equal(s.entries + s.evictions, i + 1);
		if (s.evictions == 0) {
			assert_true(s.bytes > prev.bytes);
			assert_int_equal(s.entries, i + 1);
		} else if (first_eviction == 0) {
			first_eviction = i;
		}
		prev = s;
	}
	assert_true(first_eviction > 0);
	assert_true(s.evictions > 0);
	assert_true(s.entries < 2000);
	/* The newest entry is there; the oldest, never looked at, is not. */
	assert_int_equal(look_name(c, name, 2000), CACHE_HIT);
	filler_name(name, sizeof(name), 'f', 0);
	assert_int_equal(look_name(c, name, 2000), CACHE_MISS);
	cache_free(c);
}

/*
 * Store f00000, f00001... into c until the first eviction; returns how
 * many were stored.
 */
static unsigned
fill_until_eviction(struct cache *c)
{
	char name[64];
	unsigned i;

	for (i = 0; cache_stats(c).evictions == 0; i++) {
		assert_true(i < 100000);
		filler_name(name, sizeof(name), 'f', i);
		store_name(c, name, 86400, 1000);
	}
	return i;
}

static void
test_cache_sieve_spares_visited_entry(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	char name[64];
	unsigned nfill, n, every;

	p.size = 64 * 1024;
	p.shards = 1;
	c = new_cache(&p);
	/* The hot entry is the oldest, and has been hit. */
	store_name(c, "h00000.example.com", 86400, 1000);
	assert_int_equal(look_name(c, "h00000.example.com", 1000), CACHE_HIT);
	nfill = fill_until_eviction(c);
	/* The hand spared it and took the oldest unvisited entry. */
	assert_int_equal(look_name(c, "h00000.example.com", 1000), CACHE_HIT);
	filler_name(name, sizeof(name), 'f', 0);
	assert_int_equal(look_name(c, name, 1000), CACHE_MISS);
	n = (unsigned)cache_stats(c).entries;
	assert_true(n >= 16);
	/* A scan of 4n one-off names; the hot name asked for now and then. */
	every = n / 4;
	for (unsigned i = 0; i < 4 * n; i++) {
		filler_name(name, sizeof(name), 'o', i);
		store_name(c, name, 86400, 1000);
		if (i % every == 0)
			assert_int_equal(
			    look_name(c, "h00000.example.com", 1000),
			    CACHE_HIT);
		assert_true(cache_stats(c).bytes <= p.size);
	}
	assert_int_equal(look_name(c, "h00000.example.com", 1000), CACHE_HIT);
	/* Every filler, never hit, is gone. */
	for (unsigned i = 0; i < nfill; i++) {
		filler_name(name, sizeof(name), 'f', i);
		assert_int_equal(look_name(c, name, 1000), CACHE_MISS);
	}
	cache_free(c);
}

static void
test_cache_sieve_evicts_unvisited_first(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	char name[64];
	unsigned nfill, n, odd_gone = 0;
	uint64_t ev0;

	p.size = 64 * 1024;
	p.shards = 1;
	c = new_cache(&p);
	nfill = fill_until_eviction(c);
	filler_name(name, sizeof(name), 'f', 0);
	assert_int_equal(look_name(c, name, 1000), CACHE_MISS);
	n = (unsigned)cache_stats(c).entries;
	assert_true(n >= 16);
	/* Hit every even filler still there (all but f00000 should be). */
	for (unsigned i = 2; i < nfill; i += 2) {
		filler_name(name, sizeof(name), 'f', i);
		assert_int_equal(look_name(c, name, 1000), CACHE_HIT);
	}
	/* A quarter of the cache's worth of new names. */
	ev0 = cache_stats(c).evictions;
	for (unsigned i = 0; i < n / 4; i++) {
		filler_name(name, sizeof(name), 'o', i);
		store_name(c, name, 86400, 1000);
	}
	assert_true(cache_stats(c).evictions >= ev0 + n / 4);
	/* The evicted were unvisited (odd) fillers; the visited all stay. */
	for (unsigned i = 1; i < nfill; i++) {
		filler_name(name, sizeof(name), 'f', i);
		if (i % 2 == 0)
			assert_int_equal(look_name(c, name, 1000), CACHE_HIT);
		else if (look_name(c, name, 1000) == CACHE_MISS)
			odd_gone++;
	}
	assert_true(odd_gone >= n / 4);
	cache_free(c);
}

static void
test_cache_flood_stays_within_size(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct cache_stats s;
	char name[64];

	p.size = 256 * 1024;
	p.shards = 0; /* the default, 16 */
	c = new_cache(&p);
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "u%u.flood.example", i);
		store_name(c, name, 86400, 1000 + i);
		s = cache_stats(c);
		assert_true(s.bytes <= p.size);
	}
	assert_true(s.evictions > 0);
	assert_int_equal(s.entries + s.evictions, 100000);
	/* The last name stored is there. */
	assert_int_equal(look_name(c, name, 200000), CACHE_HIT);
	cache_free(c);
}

/* ---- threads ---- */

#define THREAD_KEYS  128
#define THREAD_ITERS 20000

struct thread_arg {
	struct cache *c;
	unsigned id;
	unsigned stored;
	unsigned hits;
	unsigned bad; /* wrong store results, malformed or wrong hits */
};

static void *
thread_run(void *p)
{
	struct thread_arg *a = p;
	static _Thread_local struct msg m;
	static _Thread_local uint8_t buf[1024];
	struct cache_key k;
	uint8_t wire[DNS_NAME_MAX];
	char name[32];

	for (unsigned i = 0; i < THREAD_ITERS; i++) {
		unsigned n = (i * 7 + a->id * 13) % THREAD_KEYS;
		struct cache_hit h;
		struct rr_view rr[MAX_RR];

		snprintf(name, sizeof(name), "k%03u.example.com", n);
		key_of(&k, name, DNS_TYPE_A);
		/* What every store for this key holds: ID 0, age 0 below. */
		answer_a(&m, name, 300, (uint8_t)n);
		if (i % 3 == 0) {
			if (cache_store(a->c, &k, m.b, m.len, 1000) ==
			    CACHE_STORED)
				a->stored++;
			else
				a->bad++;
		} else {
			h = cache_lookup(a->c, &k, 1000, false, buf,
			                 sizeof(buf));
			if (h.result == CACHE_HIT) {
				a->hits++;
				if (h.len != m.len ||
				    walk(buf, h.len, rr, MAX_RR) != 1 ||
				    memcmp(buf, m.b, m.len) != 0)
					a->bad++;
			} else if (h.result != CACHE_MISS) {
				a->bad++;
			}
		}
		if (a->id == 0 && i % 1000 == 999) {
			name_wire(name, wire);
			cache_flush(a->c, wire);
		}
	}
	return NULL;
}

static void
test_cache_threads_smoke(void **state)
{
	struct cache_params p = params();
	struct cache *c;
	struct thread_arg a[2];
	pthread_t t[2];
	struct cache_stats s;

	p.size = 32 * 1024; /* small enough to evict while both run */
	p.shards = 4;
	c = new_cache(&p);
	for (unsigned i = 0; i < 2; i++) {
		a[i] = (struct thread_arg){.c = c, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, thread_run, &a[i]),
		                 0);
	}
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(a[i].bad, 0);
		assert_true(a[i].stored > 0);
		assert_true(a[i].hits > 0);
	}
	s = cache_stats(c);
	assert_true(s.bytes <= p.size);
	assert_true(s.entries <= THREAD_KEYS);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cache_key_ignores_qname_case),
	    cmocka_unit_test(test_cache_key_ignores_id_payload_and_cookie),
	    cmocka_unit_test(test_cache_key_splits_on_rd_do_cd),
	    cmocka_unit_test(test_cache_key_splits_on_qtype_and_qclass),
	    cmocka_unit_test(test_cache_msg_ttl_positive_is_smallest_ttl),
	    cmocka_unit_test(test_cache_msg_ttl_ignores_opt),
	    cmocka_unit_test(test_cache_msg_ttl_is_before_clamp),
	    cmocka_unit_test(test_cache_msg_ttl_nxdomain_from_soa),
	    cmocka_unit_test(test_cache_msg_ttl_nodata_from_soa),
	    cmocka_unit_test(test_cache_msg_ttl_negative_without_soa),
	    cmocka_unit_test(test_cache_msg_ttl_servfail),
	    cmocka_unit_test(test_cache_msg_ttl_never_cached),
	    cmocka_unit_test(test_cache_msg_ttl_extended_rcode_not_cached),
	    cmocka_unit_test(test_cache_msg_ttl_malformed),
	    cmocka_unit_test(test_cache_hit_decrements_each_ttl_by_age),
	    cmocka_unit_test(test_cache_hit_zeroes_id_and_lowers_question),
	    cmocka_unit_test(test_cache_hit_leaves_opt_alone),
	    cmocka_unit_test(test_cache_expired_is_miss),
	    cmocka_unit_test(test_cache_serve_stale_within_max_stale),
	    cmocka_unit_test(test_cache_serve_stale_off_is_miss),
	    cmocka_unit_test(test_cache_min_ttl_raises_lifetime_and_ttls),
	    cmocka_unit_test(test_cache_max_ttl_caps_lifetime_and_ttls),
	    cmocka_unit_test(test_cache_clamp_applies_to_each_record),
	    cmocka_unit_test(test_cache_zero_ttl_raised_by_min_ttl),
	    cmocka_unit_test(test_cache_negative_keeps_soa),
	    cmocka_unit_test(test_cache_servfail_lives_servfail_ttl),
	    cmocka_unit_test(test_cache_servfail_replaces_no_entry),
	    cmocka_unit_test(test_cache_store_not_cacheable),
	    cmocka_unit_test(test_cache_store_too_big),
	    cmocka_unit_test(test_cache_lookup_out_too_small_is_miss),
	    cmocka_unit_test(test_cache_store_replaces),
	    cmocka_unit_test(test_cache_prefetch_once_in_last_tenth),
	    cmocka_unit_test(test_cache_prefetch_off_never),
	    cmocka_unit_test(test_cache_prefetch_uses_clamped_lifetime),
	    cmocka_unit_test(test_cache_prefetch_not_on_stale),
	    cmocka_unit_test(test_cache_flush_subtree),
	    cmocka_unit_test(test_cache_flush_all),
	    cmocka_unit_test(test_cache_size_accounting_and_eviction),
	    cmocka_unit_test(test_cache_sieve_spares_visited_entry),
	    cmocka_unit_test(test_cache_sieve_evicts_unvisited_first),
	    cmocka_unit_test(test_cache_flood_stays_within_size),
	    cmocka_unit_test(test_cache_threads_smoke),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
