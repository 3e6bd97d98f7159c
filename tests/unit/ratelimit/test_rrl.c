/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/ratelimit/test_rrl.c — response rate limiting and the per-client
 * query limit (dnsgate.conf(5) [ratelimit]; ratelimit/rrl.h) with an injected
 * clock: token arithmetic, slip sequences, window reset, prefix grouping, the
 * account keys (answers, NXDOMAIN by zone, NODATA by name, errors by prefix,
 * all-per-second), log-only, episodes and their summaries, eviction under a
 * full table, and response classification.
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
#include "ratelimit/rrl.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ----------------------------------------------------------- */

static struct rrl_config
config(void)
{
	struct rrl_config c;

	rrl_config_defaults(&c);
	c.max_table = 1000;
	return c;
}

static struct rrl_table *
table(const struct rrl_config *c)
{
	struct rrl_table *t = rrl_new(c, NULL);

	assert_non_null(t);
	return t;
}

static struct ip_addr
ip(const char *text)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	return a;
}

/* Wire form of text in buf (DNS_NAME_MAX bytes); returns buf. */
static const uint8_t *
wname(const char *text, uint8_t *buf)
{
	assert_true(dns_name_from_text(text, NULL, buf) > 0);
	return buf;
}

static char
verdict_char(enum rrl_verdict v)
{
	return v == RRL_SEND ? 'S' : v == RRL_SLIP ? 'T' : 'D';
}

/*
 * n responses of kind for name/qtype from client at now; the verdicts as a
 * string: S sent, T slipped (TC=1), D dropped. out holds n + 1 chars.
 */
static const char *
run(struct rrl_table *t, const char *client, enum rrl_kind kind,
    const char *name, uint16_t qtype, uint64_t now, unsigned n, char *out)
{
	struct ip_addr a = ip(client);
	uint8_t w[DNS_NAME_MAX];
	unsigned i;

	wname(name, w);
	for (i = 0; i < n; i++)
		out[i] = verdict_char(
		    rrl_account(t, &a, kind, w, qtype, now).verdict);
	out[n] = '\0';
	return out;
}

/* One response; its verdict as a character. */
static char
one(struct rrl_table *t, const char *client, enum rrl_kind kind,
    const char *name, uint16_t qtype, uint64_t now)
{
	char s[2];

	return run(t, client, kind, name, qtype, now, 1, s)[0];
}

static struct rrl_result
account(struct rrl_table *t, const char *client, enum rrl_kind kind,
        const char *name, uint16_t qtype, uint64_t now)
{
	struct ip_addr a = ip(client);
	uint8_t w[DNS_NAME_MAX];

	return rrl_account(t, &a, kind, wname(name, w), qtype, now);
}

/* rrl_expire callback: keep copies of what was reported. */
struct reported {
	struct rrl_episode ep[8];
	size_t n;
};

static void
collect(void *arg, const struct rrl_episode *e)
{
	struct reported *r = arg;

	assert_true(r->n < ARRAY_LEN(r->ep));
	r->ep[r->n++] = *e;
}

static struct rrl_stats
stats(const struct rrl_table *t)
{
	struct rrl_stats s;

	rrl_stats_get(t, &s);
	return s;
}

/* ---- token arithmetic -------------------------------------------------- */

/* Rate 5: a full bucket of 5, limited responses cost too, 200 ms earn one
 * credit, and the balance stops at -window x rate. */
static void
test_rrl_token_arithmetic(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	char s[256];

	(void)state;
	c.responses_ps = 5;
	c.slip = 0;
	t = table(&c);
	/* New account: +5, so five are sent and the sixth is limited (-1). */
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "www.example.", 1, 0, 6, s),
	    "SSSSSD");
	/* One second earns 5: -1 + 5 = 4 sends, then limited again. */
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "www.example.", 1, 1000, 5, s),
	    "SSSSD");
	/* 400 ms earn 2 credits: -1 + 2 = 1 send. */
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "www.example.", 1, 1400, 2, s),
	    "SD");
	/* A flood at one instant: 200 more limited, balance floors at -75. */
	run(t, "192.0.2.1", RRL_ANSWER, "www.example.", 1, 1400, 200, s);
	assert_null(strchr(s, 'S'));
	/* 15 s later (not more than window): -75 + 75 = 0, still limited;
	 * without the floor it would be -1 - 200 + 75. */
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_ANSWER, "www.example.", 1, 16400), 'D');
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "www.example.", 1, 17400, 5, s),
	    "SSSSD");
	assert_int_equal(stats(t).dropped, 1 + 1 + 1 + 200 + 1 + 1);
	assert_int_equal(stats(t).slipped, 0);
	rrl_free(t);
}

/* An account idle for more than window starts again full; one idle for
 * exactly window has only earned window x rate. */
static void
test_rrl_window_reset(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	char s[64];

	(void)state;
	c.responses_ps = 5;
	c.window_s = 2;
	c.slip = 0;
	t = table(&c);
	/* Both accounts at the floor, -10. */
	run(t, "192.0.2.1", RRL_ANSWER, "a.example.", 1, 0, 30, s);
	run(t, "192.0.2.1", RRL_ANSWER, "b.example.", 1, 0, 30, s);
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "a.example.", 1, 2000, 1, s), "D");
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "b.example.", 1, 2001, 6, s),
	    "SSSSSD");
	rrl_free(t);
}

/* Time that runs backwards earns nothing, and is not held against later
 * credit either. */
static void
test_rrl_time_backwards(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	t = table(&c);
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 5000), 'S');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 1000), 'D');
	/* From 5000 (the latest time seen): +1 at 6000 pays the -1 back. */
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 6000), 'D');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 8000), 'S');
	rrl_free(t);
}

/* ---- slip -------------------------------------------------------------- */

static void
test_rrl_slip_sequence(void **state)
{
	static const struct {
		unsigned slip;
		const char *seq;
	} cases[] = {
	    {0, "SDDDDDDDDD"}, /* drop everything */
	    {1, "STTTTTTTTT"}, /* slip everything */
	    {2, "STDTDTDTDT"}, /* the first limited one slips, then every 2nd */
	    {3, "STDDTDDTDD"}, {10, "STDDDDDDDD"},
	};
	struct rrl_config c = config();
	struct rrl_table *t;
	char s[16];
	size_t i;

	(void)state;
	c.responses_ps = 1;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		c.slip = cases[i].slip;
		t = table(&c);
		assert_string_equal(
		    run(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0, 10, s),
		    cases[i].seq);
		rrl_free(t);
	}
}

/* The slip counter starts again only once the bucket is full. */
static void
test_rrl_slip_counter_resets_when_full(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	char s[8];

	(void)state;
	c.responses_ps = 1;
	c.slip = 2;
	t = table(&c);
	assert_string_equal(run(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0, 2, s),
	                    "ST");
	assert_string_equal(run(t, "192.0.2.1", RRL_ANSWER, "b.", 1, 0, 2, s),
	                    "ST");
	/* a: -1 + 1 = 0 is not full: the sequence goes on with a drop. */
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 1000, 1, s), "D");
	/* b: -1 + 2 = full: the next limited response slips again. */
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "b.", 1, 2000, 2, s), "ST");
	rrl_free(t);
}

/* ---- account keys ------------------------------------------------------ */

static void
test_rrl_prefix_grouping_v4(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	t = table(&c);
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.200", RRL_ANSWER, "a.", 1, 0), 'D');
	assert_int_equal(one(t, "192.0.3.1", RRL_ANSWER, "a.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.3.255", RRL_ANSWER, "a.", 1, 0), 'D');
	rrl_free(t);

	c.v4_prefix = 32;
	t = table(&c);
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.2", RRL_ANSWER, "a.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0), 'D');
	rrl_free(t);
}

static void
test_rrl_prefix_grouping_v6(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	t = table(&c);
	/* /56: 2001:db8:0:100::/56 runs to 2001:db8:0:1ff:ffff:... */
	assert_int_equal(one(t, "2001:db8:0:100::1", RRL_ANSWER, "a.", 1, 0),
	                 'S');
	assert_int_equal(one(t, "2001:db8:0:1ff:ffff:ffff:ffff:ffff",
	                     RRL_ANSWER, "a.", 1, 0),
	                 'D');
	assert_int_equal(one(t, "2001:db8:0:200::1", RRL_ANSWER, "a.", 1, 0),
	                 'S');
	assert_int_equal(one(t, "2001:db8:1:100::1", RRL_ANSWER, "a.", 1, 0),
	                 'S');
	/* An IPv4 client never shares with an IPv6 prefix of the same bits. */
	assert_int_equal(one(t, "32.1.13.184", RRL_ANSWER, "a.", 1, 0), 'S');
	rrl_free(t);

	c.v6_prefix = 64;
	t = table(&c);
	assert_int_equal(one(t, "2001:db8:0:100::1", RRL_ANSWER, "a.", 1, 0),
	                 'S');
	assert_int_equal(one(t, "2001:db8:0:101::1", RRL_ANSWER, "a.", 1, 0),
	                 'S');
	assert_int_equal(
	    one(t, "2001:db8:0:100:ffff::", RRL_ANSWER, "a.", 1, 0), 'D');
	rrl_free(t);
}

/* Answers: qname + qtype, the name without regard to case. */
static void
test_rrl_answer_key(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	t = table(&c);
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_ANSWER, "www.example.com.", 1, 0), 'S');
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_ANSWER, "WWW.Example.COM.", 1, 0), 'D');
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_ANSWER, "www.example.com.", 28, 0), 'S');
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_ANSWER, "ftp.example.com.", 1, 0), 'S');
	/* The same name as a NODATA is another account (with its own rate). */
	c.nodata_ps = 1;
	assert_int_equal(rrl_reconfigure(t, &c), 0);
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_NODATA, "www.example.com.", 1, 0), 'S');
	rrl_free(t);
}

/* NODATA: the name, whatever the qtype. */
static void
test_rrl_nodata_by_name(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;

	(void)state;
	c.nodata_ps = 1;
	c.slip = 0;
	t = table(&c);
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_NODATA, "www.example.com.", 1, 0), 'S');
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_NODATA, "www.example.com.", 28, 0), 'D');
	assert_int_equal(
	    one(t, "192.0.2.1", RRL_NODATA, "mail.example.com.", 28, 0), 'S');
	rrl_free(t);
}

/* Errors: the prefix only, and never slipped, even with slip = 1. */
static void
test_rrl_errors_by_prefix(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct rrl_result r;
	struct ip_addr a = ip("192.0.2.7");

	(void)state;
	c.errors_ps = 1;
	c.slip = 1;
	t = table(&c);
	assert_int_equal(one(t, "192.0.2.1", RRL_ERROR, "a.", 0, 0), 'S');
	r = account(t, "192.0.2.1", RRL_ERROR, "b.", 5, 0);
	assert_int_equal(r.verdict, RRL_DROP);
	assert_int_equal(r.limited_by, RRL_ERROR);
	/* name may be NULL for errors */
	r = rrl_account(t, &a, RRL_ERROR, NULL, 0, 0);
	assert_int_equal(r.verdict, RRL_DROP);
	assert_int_equal(one(t, "198.51.100.1", RRL_ERROR, "a.", 0, 0), 'S');
	assert_int_equal(stats(t).slipped, 0);
	assert_int_equal(stats(t).dropped, 2);
	rrl_free(t);
}

/* all-per-second: every response to the prefix; dropped, never slipped;
 * both accounts are debited and all-per-second decides when it limits. */
static void
test_rrl_all_per_second(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct rrl_result r;
	char s[8];

	(void)state;
	c.responses_ps = 2;
	c.all_ps = 4;
	c.slip = 1;
	t = table(&c);
	/* One name: its own account limits first (and slips). */
	r = account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	assert_int_equal(r.verdict, RRL_SEND);
	r = account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	assert_int_equal(r.verdict, RRL_SEND);
	r = account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	assert_int_equal(r.verdict, RRL_SLIP);
	assert_int_equal(r.limited_by, RRL_ANSWER);
	/* Three responses paid into the all account: one left, then it
	 * limits whatever the kind, with no slip; kinds that are off (here
	 * NXDOMAIN) still pay into it. */
	assert_int_equal(one(t, "192.0.2.9", RRL_ANSWER, "b.", 1, 0), 'S');
	r = account(t, "192.0.2.1", RRL_NXDOMAIN, "example.", 1, 0);
	assert_int_equal(r.verdict, RRL_DROP);
	assert_int_equal(r.limited_by, RRL_ALL);
	assert_string_equal(run(t, "192.0.2.1", RRL_ANSWER, "c.", 1, 0, 3, s),
	                    "DDD");
	/* Another prefix has its own. */
	assert_int_equal(one(t, "192.0.3.1", RRL_ANSWER, "c.", 1, 0), 'S');
	rrl_free(t);
}

/* A kind whose rate is 0 is not limited and takes no room in the table. */
static void
test_rrl_rate_zero_is_off(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	char s[64];

	(void)state;
	c.nxdomains_ps = 1;
	t = table(&c);
	run(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0, 50, s);
	assert_null(strchr(s, 'D'));
	run(t, "192.0.2.1", RRL_ERROR, "a.", 1, 0, 50, s);
	assert_null(strchr(s, 'D'));
	assert_int_equal(stats(t).entries, 0);
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_NXDOMAIN, "example.", 1, 0, 2, s), "ST");
	assert_int_equal(stats(t).entries, 1);
	rrl_free(t);
}

/* ---- classification ---------------------------------------------------- */

/* clang-format off: packets are laid out one field per line. */

/* Header (RFC 1035 4.1.1): ID 0x1234, flags, QDCOUNT, ANCOUNT, NSCOUNT,
 * ARCOUNT. */
#define HDR(flags_hi, flags_lo, qd, an, ns, ar) \
	0x12, 0x34, flags_hi, flags_lo, 0, qd, 0, an, 0, ns, 0, ar
#define QR_RD     0x81             /* QR=1, opcode QUERY, RD=1 */
#define QR_AA_RD  0x85             /* as QR_RD with AA=1 */
#define RA(rcode) (0x80 | (rcode)) /* RA=1, RCODE */

/* Question at offset 12: "x<c>.example.com" A IN. "example.com" starts
 * at offset 15, the whole name at 12; the question ends at offset 32. */
#define QUESTION(c)                                                 \
	2, 'x', c,                                /* "x<c>" */      \
	    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', /* "example" */   \
	    3, 'c', 'o', 'm', 0,                  /* "com", root */ \
	    0x00, 0x01,                           /* QTYPE A */     \
	    0x00, 0x01                            /* QCLASS IN */

/* SOA of example.com: owner a pointer to offset 15, RDATA MNAME and RNAME
 * the root, then serial, refresh, retry, expire, minimum. */
#define SOA_EXAMPLE                                            \
	0xc0, 0x0f,                 /* owner -> example.com */ \
	    0x00, 0x06,             /* TYPE SOA */             \
	    0x00, 0x01,             /* CLASS IN */             \
	    0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */             \
	    0x00, 22,               /* RDLENGTH */             \
	    0, 0,                   /* MNAME, RNAME: root */   \
	    0, 0, 0, 1,             /* SERIAL */               \
	    0, 0, 0, 1,             /* REFRESH */              \
	    0, 0, 0, 1,             /* RETRY */                \
	    0, 0, 0, 1,             /* EXPIRE */               \
	    0, 0, 0, 1              /* MINIMUM */

/* NS for example.com: owner a pointer to offset 15, target the qname. */
#define NS_EXAMPLE                                             \
	0xc0, 0x0f,                 /* owner -> example.com */ \
	    0x00, 0x02,             /* TYPE NS */              \
	    0x00, 0x01,             /* CLASS IN */             \
	    0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */             \
	    0x00, 2,                /* RDLENGTH */             \
	    0xc0, 0x0c              /* NSDNAME -> qname */

/* A record for the qname: 192.0.2.1. */
#define A_QNAME                                          \
	0xc0, 0x0c,                 /* owner -> qname */ \
	    0x00, 0x01,             /* TYPE A */         \
	    0x00, 0x01,             /* CLASS IN */       \
	    0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */       \
	    0x00, 4,                /* RDLENGTH */       \
	    192, 0, 2, 1            /* ADDRESS */

/* OPT (RFC 6891 6.1.2) with EXTENDED-RCODE ext. */
#define OPT_EXT(ext)                                  \
	0x00,           /* owner: root */             \
	    0x00, 0x29, /* TYPE OPT */                \
	    0x04, 0xd0, /* CLASS: UDP size 1232 */    \
	    ext, 0x00,  /* EXTENDED-RCODE, VERSION */ \
	    0x00, 0x00, /* DO, Z */                   \
	    0x00, 0x00  /* RDLENGTH */

static const uint8_t answer_pkt[] = {
    HDR(QR_RD, RA(0), 1, 1, 0, 0),
    QUESTION('1'),
    A_QNAME,
};

static const uint8_t nx_soa_1[] = {
    HDR(QR_AA_RD, RA(3), 1, 0, 1, 0),
    QUESTION('1'),
    SOA_EXAMPLE,
};

static const uint8_t nx_soa_2[] = {
    HDR(QR_AA_RD, RA(3), 1, 0, 1, 0),
    QUESTION('2'),
    SOA_EXAMPLE,
};

static const uint8_t nx_no_soa[] = {
    HDR(QR_RD, RA(3), 1, 0, 0, 0),
    QUESTION('1'),
};

static const uint8_t nodata_pkt[] = {
    HDR(QR_AA_RD, RA(0), 1, 0, 1, 0),
    QUESTION('1'),
    SOA_EXAMPLE,
};

static const uint8_t referral_pkt[] = {
    HDR(QR_RD, RA(0), 1, 0, 1, 0),
    QUESTION('1'),
    NS_EXAMPLE,
};

/* NS without SOA but AA=1: an authoritative NODATA, not a referral. */
static const uint8_t aa_ns_pkt[] = {
    HDR(QR_AA_RD, RA(0), 1, 0, 1, 0),
    QUESTION('1'),
    NS_EXAMPLE,
};

static const uint8_t servfail_pkt[] = {
    HDR(QR_RD, RA(2), 1, 0, 0, 0),
    QUESTION('1'),
};

static const uint8_t refused_pkt[] = {
    HDR(QR_RD, RA(5), 1, 0, 0, 0),
    QUESTION('1'),
};

/* BADVERS (16): header RCODE 0, EXTENDED-RCODE 1. */
static const uint8_t badvers_pkt[] = {
    HDR(QR_RD, RA(0), 1, 0, 0, 1),
    QUESTION('1'),
    OPT_EXT(1),
};

/* NXDOMAIN with an OPT that adds nothing. */
static const uint8_t nx_opt_pkt[] = {
    HDR(QR_AA_RD, RA(3), 1, 0, 1, 1),
    QUESTION('1'),
    SOA_EXAMPLE,
    OPT_EXT(0),
};

/* ---- malformed responses ---- */

/* Shorter than a header. */
static const uint8_t m_short[] = {0x12, 0x34, QR_RD, RA(3), 0, 1};

/* NXDOMAIN whose authority SOA owner points to itself (offset 32). */
static const uint8_t m_nx_loop[] = {
    HDR(QR_RD, RA(3), 1, 0, 1, 0),
    QUESTION('1'),
    0xc0,
    0x20, /* owner -> offset 32: itself */
    0x00,
    0x06,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    0x00,
    0x00,
};

/* NXDOMAIN whose authority SOA owner points forward. */
static const uint8_t m_nx_forward[] = {
    HDR(QR_RD, RA(3), 1, 0, 1, 0),
    QUESTION('1'),
    0xc0,
    0x2c, /* owner -> offset 44: after it */
    0x00,
    0x06,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    0x00,
    0x00,
    3,
    'f',
    'o',
    'o',
    0,
};

/* NXDOMAIN with NSCOUNT 1 and nothing after the question. */
static const uint8_t m_nx_truncated[] = {
    HDR(QR_RD, RA(3), 1, 0, 1, 0),
    QUESTION('1'),
};

/* A label of 64 in the question, then an SOA the walk never reaches. */
static const uint8_t m_label_64[] = {
    HDR(QR_RD, RA(3), 1, 0, 1, 0),
    64,
    'a',
};

/* ANCOUNT 1, the answer cut in the middle: the header counts decide. */
static const uint8_t m_answer_cut[] = {
    HDR(QR_RD, RA(0), 1, 1, 0, 0), QUESTION('1'), 0xc0, 0x0c, 0x00, 0x01,
};

/* QDCOUNT 0: no question at all; the SOA comes right after the header. */
static const uint8_t m_qd0_nx[] = {
    HDR(QR_RD, RA(3), 0, 0, 1, 0),
    7,
    'e',
    'x',
    'a',
    'm',
    'p',
    'l',
    'e',
    0, /* owner "example" */
    0x00,
    0x06,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    0x00,
    2,
    0,
    0,
};

/* QDCOUNT 2: two questions, then the SOA. */
static const uint8_t m_qd2_nx[] = {
    HDR(QR_RD, RA(3), 2, 0, 1, 0),
    QUESTION('1'),
    0xc0,
    0x0c,
    0x00,
    0x01,
    0x00,
    0x01, /* second question: qname again */
    SOA_EXAMPLE,
};

/* clang-format on */

static enum rrl_kind
classify(const uint8_t *pkt, size_t len, const char *qname, uint8_t *out)
{
	uint8_t q[DNS_NAME_MAX];

	return rrl_classify(pkt, len, qname ? wname(qname, q) : NULL, out);
}

static void
assert_name(const uint8_t *name, const char *text)
{
	char buf[DNS_NAME_TEXT_MAX];

	assert_true(dns_name_to_text(name, buf, sizeof buf) > 0);
	assert_string_equal(buf, text);
}

static void
test_rrl_classify(void **state)
{
	static const struct {
		const uint8_t *pkt;
		size_t len;
		const char *qname;
		enum rrl_kind kind;
		const char *name;
	} cases[] = {
#define C(p, q, k, n) {p, sizeof(p), q, k, n}
	    C(answer_pkt, "X1.Example.COM.", RRL_ANSWER, "x1.example.com."),
	    C(nx_soa_1, "x1.example.com.", RRL_NXDOMAIN, "example.com."),
	    C(nx_no_soa, "x1.example.com.", RRL_NXDOMAIN, "example.com."),
	    C(nx_no_soa, ".", RRL_NXDOMAIN, "."),
	    C(nodata_pkt, "x1.example.com.", RRL_NODATA, "x1.example.com."),
	    C(referral_pkt, "x1.example.com.", RRL_REFERRAL, "example.com."),
	    C(aa_ns_pkt, "x1.example.com.", RRL_NODATA, "x1.example.com."),
	    C(servfail_pkt, "x1.example.com.", RRL_ERROR, "."),
	    C(refused_pkt, "x1.example.com.", RRL_ERROR, "."),
	    C(badvers_pkt, "x1.example.com.", RRL_ERROR, "."),
	    C(nx_opt_pkt, "x1.example.com.", RRL_NXDOMAIN, "example.com."),
	    /* No qname known: the root stands in for it. */
	    C(answer_pkt, NULL, RRL_ANSWER, "."),
	    C(nx_no_soa, NULL, RRL_NXDOMAIN, "."),
#undef C
	};
	uint8_t out[DNS_NAME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		memset(out, 0xee, sizeof out);
		assert_int_equal(
		    classify(cases[i].pkt, cases[i].len, cases[i].qname, out),
		    cases[i].kind);
		assert_name(out, cases[i].name);
	}
}

/* Hostile responses: never read out of bounds, and what was read before
 * the bad part decides. */
static void
test_rrl_classify_malformed(void **state)
{
	static const struct {
		const uint8_t *pkt;
		size_t len;
		enum rrl_kind kind;
		const char *name;
	} cases[] = {
#define C(p, k, n) {p, sizeof(p), k, n}
	    C(m_short, RRL_ERROR, "."),
	    C(m_nx_loop, RRL_NXDOMAIN, "example.com."),
	    C(m_nx_forward, RRL_NXDOMAIN, "example.com."),
	    C(m_nx_truncated, RRL_NXDOMAIN, "example.com."),
	    C(m_label_64, RRL_NXDOMAIN, "example.com."),
	    C(m_answer_cut, RRL_ANSWER, "x1.example.com."),
	    C(m_qd0_nx, RRL_NXDOMAIN, "example."),
	    C(m_qd2_nx, RRL_NXDOMAIN, "example.com."),
#undef C
	};
	uint8_t out[DNS_NAME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(classify(cases[i].pkt, cases[i].len,
		                          "x1.example.com.", out),
		                 cases[i].kind);
		assert_name(out, cases[i].name);
	}
	/* Every prefix of a valid response is handled. */
	for (i = 0; i <= sizeof nx_opt_pkt; i++)
		(void)classify(nx_opt_pkt, i, "x1.example.com.", out);
}

/* NXDOMAIN: different qnames under one zone (SOA owner) share an account;
 * another zone does not. */
static void
test_rrl_nxdomain_grouping_by_zone(void **state)
{
	struct rrl_config c = config();
	struct ip_addr a = ip("192.0.2.1");
	uint8_t z1[DNS_NAME_MAX], z2[DNS_NAME_MAX], z3[DNS_NAME_MAX];
	struct rrl_table *t;

	(void)state;
	c.nxdomains_ps = 1;
	c.slip = 0;
	t = table(&c);
	assert_int_equal(
	    classify(nx_soa_1, sizeof nx_soa_1, "x1.example.com.", z1),
	    RRL_NXDOMAIN);
	assert_int_equal(
	    classify(nx_soa_2, sizeof nx_soa_2, "x2.example.com.", z2),
	    RRL_NXDOMAIN);
	assert_int_equal(rrl_account(t, &a, RRL_NXDOMAIN, z1, 1, 0).verdict,
	                 RRL_SEND);
	assert_int_equal(rrl_account(t, &a, RRL_NXDOMAIN, z2, 28, 0).verdict,
	                 RRL_DROP);
	wname("example.net.", z3);
	assert_int_equal(rrl_account(t, &a, RRL_NXDOMAIN, z3, 1, 0).verdict,
	                 RRL_SEND);
	rrl_free(t);
}

/* Without an SOA the zone is the qname's parent. */
static void
test_rrl_nxdomain_grouping_by_parent(void **state)
{
	struct rrl_config c = config();
	struct ip_addr a = ip("192.0.2.1");
	uint8_t z1[DNS_NAME_MAX], z2[DNS_NAME_MAX], z3[DNS_NAME_MAX];
	struct rrl_table *t;

	(void)state;
	c.nxdomains_ps = 1;
	c.slip = 0;
	t = table(&c);
	classify(nx_no_soa, sizeof nx_no_soa, "a.example.com.", z1);
	classify(nx_no_soa, sizeof nx_no_soa, "b.example.com.", z2);
	classify(nx_no_soa, sizeof nx_no_soa, "a.b.example.com.", z3);
	assert_name(z1, "example.com.");
	assert_name(z3, "b.example.com.");
	assert_int_equal(rrl_account(t, &a, RRL_NXDOMAIN, z1, 1, 0).verdict,
	                 RRL_SEND);
	assert_int_equal(rrl_account(t, &a, RRL_NXDOMAIN, z2, 1, 0).verdict,
	                 RRL_DROP);
	assert_int_equal(rrl_account(t, &a, RRL_NXDOMAIN, z3, 1, 0).verdict,
	                 RRL_SEND);
	rrl_free(t);
}

/* ---- log-only and episodes --------------------------------------------- */

/* log-only: everything is sent; what would have happened is reported,
 * counted and logged exactly as if limiting. */
static void
test_rrl_log_only(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct rrl_result r[5];
	struct reported rep = {0};
	size_t i;

	(void)state;
	c.responses_ps = 1;
	c.slip = 2;
	c.log_only = true;
	t = table(&c);
	for (i = 0; i < ARRAY_LEN(r); i++)
		r[i] = account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	for (i = 0; i < ARRAY_LEN(r); i++)
		assert_int_equal(r[i].verdict, RRL_SEND);
	assert_int_equal(r[0].would, RRL_SEND);
	assert_int_equal(r[1].would, RRL_SLIP);
	assert_int_equal(r[2].would, RRL_DROP);
	assert_int_equal(r[3].would, RRL_SLIP);
	assert_int_equal(r[4].would, RRL_DROP);
	assert_true(r[1].episode_start && r[1].log);
	assert_true(!r[2].episode_start && r[2].log);
	assert_true(!r[3].log && !r[4].log);
	assert_int_equal(stats(t).slipped, 2);
	assert_int_equal(stats(t).dropped, 2);
	rrl_expire(t, 60000, collect, &rep);
	assert_int_equal(rep.n, 1);
	assert_true(rep.ep[0].log_only);
	assert_int_equal(rep.ep[0].slipped, 2);
	assert_int_equal(rep.ep[0].dropped, 2);
	rrl_free(t);
}

/* One episode: start flagged, first slip and first drop flagged, the rest
 * only counted; the summary comes once the bucket is full again. */
static void
test_rrl_episode_start_and_summary(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct rrl_result r;
	struct reported rep = {0};
	char text[200];
	unsigned i;

	(void)state;
	c.responses_ps = 2;
	c.slip = 2;
	t = table(&c);
	for (i = 0; i < 2; i++) {
		r = account(t, "192.0.2.77", RRL_ANSWER, "www.example.com.", 1,
		            100);
		assert_int_equal(r.verdict, RRL_SEND);
		assert_false(r.log || r.episode_start);
		assert_null(r.episode);
	}
	r = account(t, "192.0.2.77", RRL_ANSWER, "www.example.com.", 1, 100);
	assert_int_equal(r.verdict, RRL_SLIP);
	assert_true(r.episode_start && r.log);
	assert_int_equal(r.limited_by, RRL_ANSWER);
	assert_non_null(r.episode);
	assert_int_equal(rrl_episode_text(r.episode, text, sizeof text),
	                 strlen("responses to 192.0.2.0/24 for "
	                        "www.example.com. A"));
	assert_string_equal(text,
	                    "responses to 192.0.2.0/24 for www.example.com. A");
	r = account(t, "192.0.2.77", RRL_ANSWER, "www.example.com.", 1, 100);
	assert_int_equal(r.verdict, RRL_DROP);
	assert_true(!r.episode_start && r.log);
	for (i = 0; i < 4; i++) {
		r = account(t, "192.0.2.8", RRL_ANSWER, "WWW.example.com.", 1,
		            200);
		assert_int_not_equal(r.verdict, RRL_SEND);
		assert_false(r.log || r.episode_start);
	}
	assert_int_equal(stats(t).episodes, 1);
	/* Balance -2 at 100 ms; +0.2 by 200 ms, then 4 more limited: -5.8.
	 * Full (+2) after 7.8 / 2 s = 3900 ms more. */
	rrl_expire(t, 1000, collect, &rep);
	rrl_expire(t, 4099, collect, &rep);
	assert_int_equal(rep.n, 0);
	rrl_expire(t, 4100, collect, &rep);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.ep[0].slipped, 3);
	assert_int_equal(rep.ep[0].dropped, 3);
	assert_int_equal(rep.ep[0].start_ms, 100);
	assert_int_equal(rep.ep[0].last_ms, 200);
	assert_int_equal(rep.ep[0].end_ms, 4100);
	assert_int_equal(rep.ep[0].kind, RRL_ANSWER);
	assert_int_equal(rep.ep[0].qtype, 1);
	assert_name(rep.ep[0].name, "www.example.com.");
	assert_false(rep.ep[0].log_only);
	assert_int_equal(stats(t).episodes, 0);
	/* Reported once only. */
	rrl_expire(t, 20000, collect, &rep);
	assert_int_equal(rep.n, 1);
	/* The next limiting is a new episode, logged again. */
	account(t, "192.0.2.77", RRL_ANSWER, "www.example.com.", 1, 30000);
	account(t, "192.0.2.77", RRL_ANSWER, "www.example.com.", 1, 30000);
	r = account(t, "192.0.2.77", RRL_ANSWER, "www.example.com.", 1, 30000);
	assert_true(r.episode_start && r.log);
	assert_int_equal(r.episode->start_ms, 30000);
	rrl_free(t);
}

/* An episode ends as soon as a response finds the bucket full, even
 * before rrl_expire runs; limiting after that is a new episode. */
static void
test_rrl_episode_ends_on_refill(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct rrl_result r;
	struct reported rep = {0};

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	t = table(&c);
	account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	r = account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	assert_true(r.episode_start);
	/* -1 + 2 = full at 2000: the first episode is over. */
	r = account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 2000);
	assert_int_equal(r.verdict, RRL_SEND);
	r = account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 2000);
	assert_true(r.episode_start && r.log);
	assert_int_equal(stats(t).episodes, 2);
	rrl_expire(t, 2000, collect, &rep);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.ep[0].start_ms, 0);
	assert_int_equal(rep.ep[0].end_ms, 2000);
	assert_int_equal(rep.ep[0].dropped, 1);
	/* The second ends after idle > window, at the latest. */
	rrl_expire(t, 2000 + 15001, collect, &rep);
	assert_int_equal(rep.n, 2);
	assert_int_equal(rep.ep[1].start_ms, 2000);
	rrl_free(t);
}

/* An evicted account's episode is reported by the next rrl_expire. */
static void
test_rrl_episode_on_eviction(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct reported rep = {0};

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	c.max_table = 2;
	t = table(&c);
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "x.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "x.", 1, 0), 'D');
	assert_int_equal(one(t, "198.51.100.1", RRL_ANSWER, "y.", 1, 10), 'S');
	assert_int_equal(one(t, "198.51.100.1", RRL_ANSWER, "z.", 1, 20), 'S');
	assert_int_equal(stats(t).evicted, 1);
	rrl_expire(t, 30, collect, &rep);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.ep[0].dropped, 1);
	assert_int_equal(rep.ep[0].end_ms, 20);
	assert_name(rep.ep[0].name, "x.");
	/* x. comes back as a new account with a full bucket. */
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "x.", 1, 40), 'S');
	rrl_free(t);
}

/* rrl_expire_all reports every episode, ended or not. */
static void
test_rrl_expire_all(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct reported rep = {0};

	(void)state;
	c.responses_ps = 1;
	c.errors_ps = 1;
	t = table(&c);
	account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	account(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0);
	account(t, "192.0.2.1", RRL_ERROR, "a.", 1, 0);
	account(t, "192.0.2.1", RRL_ERROR, "a.", 1, 0);
	rrl_expire(t, 10, collect, &rep);
	assert_int_equal(rep.n, 0);
	rrl_expire_all(t, 10, collect, &rep);
	assert_int_equal(rep.n, 2);
	assert_int_equal(rep.ep[0].end_ms, 10);
	assert_int_equal(rep.ep[0].slipped, 1);
	assert_int_equal(rep.ep[1].kind, RRL_ERROR);
	assert_int_equal(rep.ep[1].dropped, 1);
	assert_int_equal(stats(t).episodes, 0);
	rrl_free(t);
}

/* With every episode slot taken, limiting goes on unlogged, and counted. */
static void
test_rrl_episode_pool_full(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct rrl_result r;
	char name[32];
	unsigned i;

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	c.max_table = 2 * RRL_EPISODES_MAX + 10;
	t = table(&c);
	for (i = 0; i < RRL_EPISODES_MAX + 1; i++) {
		snprintf(name, sizeof name, "n%u.", i);
		account(t, "192.0.2.1", RRL_ANSWER, name, 1, 0);
		r = account(t, "192.0.2.1", RRL_ANSWER, name, 1, 0);
		assert_int_equal(r.verdict, RRL_DROP);
		assert_int_equal(r.log, i < RRL_EPISODES_MAX);
		assert_int_equal(r.episode != NULL, i < RRL_EPISODES_MAX);
	}
	assert_int_equal(stats(t).episodes, RRL_EPISODES_MAX);
	assert_int_equal(stats(t).untracked, 1);
	assert_int_equal(stats(t).dropped, RRL_EPISODES_MAX + 1);
	rrl_free(t);
}

/* ---- the table --------------------------------------------------------- */

/* A full table recycles its least recently used account. */
static void
test_rrl_eviction_full_table(void **state)
{
	struct rrl_config c = config();
	struct rrl_table *t;
	struct rrl_stats s;

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	c.max_table = 4;
	t = table(&c);
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n1.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n2.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n3.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n4.", 1, 0), 'S');
	/* n1 used again: now n2 is the oldest. */
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n1.", 1, 0), 'D');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n5.", 1, 0), 'S');
	s = stats(t);
	assert_int_equal(s.entries, 4);
	assert_int_equal(s.capacity, 4);
	assert_int_equal(s.evicted, 1);
	/* n2 was recycled (full again); n1 was kept (still limited). */
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n2.", 1, 0), 'S');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n1.", 1, 0), 'D');
	/* n4 and n5 were kept over n3, which went for n2. */
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n4.", 1, 0), 'D');
	assert_int_equal(one(t, "192.0.2.1", RRL_ANSWER, "n5.", 1, 0), 'D');
	assert_int_equal(stats(t).entries, 4);
	rrl_free(t);
}

/* A million spoofed prefixes through a 10k table: the table never grows,
 * a victim account in steady use is never recycled, and the rest works. */
static void
test_rrl_million_prefixes_bounded(void **state)
{
	struct rrl_config c = config();
	struct ip_addr a = ip("10.0.0.1"), victim = ip("203.0.113.5");
	uint8_t w[DNS_NAME_MAX];
	struct rrl_table *t;
	struct rrl_stats before, s;
	uint32_t i;

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	c.max_table = 10000;
	t = table(&c);
	wname("victim.example.", w);
	before = stats(t);
	assert_int_equal(before.capacity, 10000);
	/* About 64 bytes an account, plus the episode pool. */
	assert_true(before.bytes > 10000 * 56);
	assert_true(before.bytes < 10000 * 64 + RRL_EPISODES_MAX * 400 + 4096);
	assert_int_equal(rrl_account(t, &victim, RRL_ANSWER, w, 1, 0).verdict,
	                 RRL_SEND);
	for (i = 0; i < 1000000; i++) {
		/* 1.0.0.0/24, 1.0.1.0/24, ... 16.66.63.0/24: all distinct */
		a.b[12] = (uint8_t)(1 + (i >> 16));
		a.b[13] = (uint8_t)(i >> 8);
		a.b[14] = (uint8_t)i;
		assert_int_equal(
		    rrl_account(t, &a, RRL_ANSWER, w, 1, 0).verdict, RRL_SEND);
		if (i % 5000 == 0)
			assert_int_equal(
			    rrl_account(t, &victim, RRL_ANSWER, w, 1, 0)
			        .verdict,
			    RRL_DROP);
		if (i % 100000 == 0)
			assert_true(stats(t).entries <= 10000);
	}
	s = stats(t);
	assert_int_equal(s.entries, 10000);
	assert_int_equal(s.capacity, 10000);
	assert_int_equal(s.bytes, before.bytes);
	assert_int_equal(s.evicted, 1000000 + 1 - 10000);
	assert_int_equal(s.dropped, 200);
	assert_int_equal(rrl_account(t, &victim, RRL_ANSWER, w, 1, 0).verdict,
	                 RRL_DROP);
	rrl_free(t);
}

/* ---- per-client query limit -------------------------------------------- */

static void
test_rrl_query_limit(void **state)
{
	struct rrl_config c = config();
	struct ip_addr a = ip("192.0.2.1"), b = ip("192.0.2.99"),
	               other = ip("192.0.3.1");
	struct rrl_table *t;
	struct rrl_result r;
	unsigned i, passed = 0, logged = 0;

	(void)state;
	c.queries_ps = 3;
	t = table(&c);
	for (i = 0; i < 3; i++)
		assert_true(rrl_query_allowed(t, &a, 0));
	/* Over the limit: per prefix, flagged for a log line once. */
	for (i = 0; i < 100; i++) {
		r = rrl_query_account(t, &b, 0);
		assert_int_equal(r.verdict, RRL_DROP);
		assert_int_equal(r.limited_by, RRL_QUERY);
		logged += r.log;
	}
	assert_int_equal(logged, 1);
	assert_true(rrl_query_allowed(t, &other, 0));
	/* No debt from refused queries: a second later, 3 pass again. */
	for (i = 0; i < 10; i++)
		passed += rrl_query_allowed(t, &a, 1000);
	assert_int_equal(passed, 3);
	/* 333 ms earn 0.999 of a query, 334 ms a whole one. */
	assert_false(rrl_query_allowed(t, &a, 1333));
	assert_true(rrl_query_allowed(t, &a, 1334));
	assert_int_equal(stats(t).queries_limited, 100 + 7 + 1);
	assert_int_equal(stats(t).dropped, 0);
	/* No more than a second's worth is saved up. */
	for (i = 0, passed = 0; i < 10; i++)
		passed += rrl_query_allowed(t, &a, 100000);
	assert_int_equal(passed, 3);
	rrl_free(t);

	/* 0 = off */
	c.queries_ps = 0;
	t = table(&c);
	for (i = 0; i < 1000; i++)
		assert_true(rrl_query_allowed(t, &a, 0));
	assert_int_equal(stats(t).entries, 0);
	rrl_free(t);
}

static void
test_rrl_query_limit_log_only(void **state)
{
	struct rrl_config c = config();
	struct ip_addr a = ip("2001:db8::1");
	struct rrl_table *t;
	struct rrl_result r;
	struct reported rep = {0};
	char text[100];

	(void)state;
	c.queries_ps = 1;
	c.log_only = true;
	t = table(&c);
	r = rrl_query_account(t, &a, 0);
	assert_int_equal(r.would, RRL_SEND);
	r = rrl_query_account(t, &a, 0);
	assert_int_equal(r.verdict, RRL_SEND);
	assert_int_equal(r.would, RRL_DROP);
	assert_true(r.episode_start && r.log);
	/* Full again one second later. */
	rrl_expire(t, 999, collect, &rep);
	assert_int_equal(rep.n, 0);
	rrl_expire(t, 1000, collect, &rep);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.ep[0].kind, RRL_QUERY);
	assert_int_equal(rep.ep[0].dropped, 1);
	assert_true(rrl_episode_text(&rep.ep[0], text, sizeof text) > 0);
	assert_string_equal(text, "queries from 2001:db8::/56");
	rrl_free(t);
}

/* ---- configuration, reload, text --------------------------------------- */

static void
test_rrl_config_check(void **state)
{
	struct rrl_config c;
	const char *why = "x";
	size_t i;
	static const struct {
		size_t off;
		unsigned bad;
		const char *key;
	} cases[] = {
#define F(field) offsetof(struct rrl_config, field)
	    {F(responses_ps), 1001, "responses-per-second"},
	    {F(nxdomains_ps), 1001, "nxdomains-per-second"},
	    {F(nodata_ps), 1001, "nodata-per-second"},
	    {F(errors_ps), 1001, "errors-per-second"},
	    {F(all_ps), 1001, "all-per-second"},
	    {F(queries_ps), 1000001, "queries-per-second"},
	    {F(window_s), 0, "window"},
	    {F(window_s), 3601, "window"},
	    {F(slip), 11, "slip"},
	    {F(v4_prefix), 7, "ipv4-prefix-length"},
	    {F(v4_prefix), 33, "ipv4-prefix-length"},
	    {F(v6_prefix), 15, "ipv6-prefix-length"},
	    {F(v6_prefix), 65, "ipv6-prefix-length"},
	    {F(max_table), 1, "max-table-size"},
	    {F(max_table), 10000001, "max-table-size"},
#undef F
	};

	(void)state;
	rrl_config_defaults(&c);
	assert_int_equal(rrl_config_check(&c, &why), 0);
	assert_null(why);
	assert_int_equal(c.window_s, 15);
	assert_int_equal(c.slip, 2);
	assert_int_equal(c.v4_prefix, 24);
	assert_int_equal(c.v6_prefix, 56);
	assert_int_equal(c.responses_ps + c.nxdomains_ps + c.nodata_ps +
	                     c.errors_ps + c.all_ps + c.queries_ps,
	                 0);
	assert_false(c.log_only);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		rrl_config_defaults(&c);
		memcpy((char *)&c + cases[i].off, &cases[i].bad,
		       sizeof(unsigned));
		assert_int_equal(rrl_config_check(&c, &why), -1);
		assert_non_null(strstr(why, cases[i].key));
		assert_null(rrl_new(&c, NULL));
	}
}

/* A reload keeps the accounts when only rates change. */
static void
test_rrl_reconfigure(void **state)
{
	struct rrl_config c = config(), d;
	struct rrl_table *t;
	char s[8];

	(void)state;
	c.responses_ps = 1;
	c.slip = 0;
	t = table(&c);
	assert_string_equal(run(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0, 2, s),
	                    "SD");
	d = c;
	d.responses_ps = 3;
	d.slip = 1;
	assert_int_equal(rrl_reconfigure(t, &d), 0);
	/* Balance -1 kept; now 3 per second: +3 = 2 after one second. */
	assert_string_equal(
	    run(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 1000, 3, s), "SST");
	d.v4_prefix = 16;
	assert_int_equal(rrl_reconfigure(t, &d), -1);
	d = c;
	d.max_table = 5000;
	assert_int_equal(rrl_reconfigure(t, &d), -1);
	d = c;
	d.window_s = 0;
	assert_int_equal(rrl_reconfigure(t, &d), -1);
	rrl_free(t);
}

static void
test_rrl_episode_text(void **state)
{
	struct rrl_episode e;
	char out[200];
	static const struct {
		enum rrl_kind kind;
		const char *text;
	} cases[] = {
	    {RRL_ANSWER, "responses to 192.0.2.0/24 for example.com. AAAA"},
	    {RRL_REFERRAL, "referral responses to 192.0.2.0/24 for "
	                   "example.com."},
	    {RRL_NODATA, "NODATA responses to 192.0.2.0/24 for example.com."},
	    {RRL_NXDOMAIN, "NXDOMAIN responses to 192.0.2.0/24 for "
	                   "example.com."},
	    {RRL_ERROR, "error responses to 192.0.2.0/24"},
	    {RRL_ALL, "all responses to 192.0.2.0/24"},
	    {RRL_QUERY, "queries from 192.0.2.0/24"},
	};
	size_t i;

	(void)state;
	memset(&e, 0, sizeof e);
	e.prefix = ip("192.0.2.0");
	e.prefix_len = 24;
	e.qtype = 28;
	wname("example.com.", e.name);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		e.kind = cases[i].kind;
		assert_int_equal(rrl_episode_text(&e, out, sizeof out),
		                 strlen(cases[i].text));
		assert_string_equal(out, cases[i].text);
	}
	e.kind = RRL_ANSWER;
	assert_int_equal(rrl_episode_text(&e, out, 10), -1);
	assert_string_equal(out, "");
}

static void
test_rrl_kind_rule(void **state)
{
	(void)state;
	assert_string_equal(rrl_kind_rule(RRL_ANSWER), "responses-per-second");
	assert_string_equal(rrl_kind_rule(RRL_REFERRAL),
	                    "responses-per-second");
	assert_string_equal(rrl_kind_rule(RRL_NODATA), "nodata-per-second");
	assert_string_equal(rrl_kind_rule(RRL_NXDOMAIN),
	                    "nxdomains-per-second");
	assert_string_equal(rrl_kind_rule(RRL_ERROR), "errors-per-second");
	assert_string_equal(rrl_kind_rule(RRL_ALL), "all-per-second");
	assert_string_equal(rrl_kind_rule(RRL_QUERY), "queries-per-second");
	assert_string_equal(rrl_kind_rule((enum rrl_kind)0), "?");
}

/* The hash key changes nothing a client can see. */
static void
test_rrl_hash_key(void **state)
{
	static const uint8_t key[RRL_HASH_KEY_LEN] = {
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct rrl_config c = config();
	struct rrl_table *t;
	char s[8];

	(void)state;
	c.responses_ps = 2;
	t = rrl_new(&c, key);
	assert_non_null(t);
	assert_string_equal(run(t, "192.0.2.1", RRL_ANSWER, "a.", 1, 0, 5, s),
	                    "SSTDT");
	assert_string_equal(run(t, "192.0.2.1", RRL_ANSWER, "b.", 1, 0, 2, s),
	                    "SS");
	rrl_free(t);
	rrl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rrl_token_arithmetic),
	    cmocka_unit_test(test_rrl_window_reset),
	    cmocka_unit_test(test_rrl_time_backwards),
	    cmocka_unit_test(test_rrl_slip_sequence),
	    cmocka_unit_test(test_rrl_slip_counter_resets_when_full),
	    cmocka_unit_test(test_rrl_prefix_grouping_v4),
	    cmocka_unit_test(test_rrl_prefix_grouping_v6),
	    cmocka_unit_test(test_rrl_answer_key),
	    cmocka_unit_test(test_rrl_nodata_by_name),
	    cmocka_unit_test(test_rrl_errors_by_prefix),
	    cmocka_unit_test(test_rrl_all_per_second),
	    cmocka_unit_test(test_rrl_rate_zero_is_off),
	    cmocka_unit_test(test_rrl_classify),
	    cmocka_unit_test(test_rrl_classify_malformed),
	    cmocka_unit_test(test_rrl_nxdomain_grouping_by_zone),
	    cmocka_unit_test(test_rrl_nxdomain_grouping_by_parent),
	    cmocka_unit_test(test_rrl_log_only),
	    cmocka_unit_test(test_rrl_episode_start_and_summary),
	    cmocka_unit_test(test_rrl_episode_ends_on_refill),
	    cmocka_unit_test(test_rrl_episode_on_eviction),
	    cmocka_unit_test(test_rrl_expire_all),
	    cmocka_unit_test(test_rrl_episode_pool_full),
	    cmocka_unit_test(test_rrl_eviction_full_table),
	    cmocka_unit_test(test_rrl_million_prefixes_bounded),
	    cmocka_unit_test(test_rrl_query_limit),
	    cmocka_unit_test(test_rrl_query_limit_log_only),
	    cmocka_unit_test(test_rrl_config_check),
	    cmocka_unit_test(test_rrl_reconfigure),
	    cmocka_unit_test(test_rrl_episode_text),
	    cmocka_unit_test(test_rrl_kind_rule),
	    cmocka_unit_test(test_rrl_hash_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
