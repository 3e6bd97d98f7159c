/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/ratelimit/test_cookie.c — DNS Cookies (ratelimit/cookie.h):
 * RFC 9018 Appendix A vectors, the time window edges with an injected clock,
 * secret rotation, the RFC 7873 5.2 classification of every option length,
 * and the client-side jar for upstreams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/addr.h"
#include "ratelimit/cookie.h"
#include "ratelimit/siphash.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Secrets of RFC 9018 Appendix A. */
#define SECRET_A    "e5e973e5a6b2a43f48e7dc849e37bfcf"
#define SECRET_OLD4 "dd3bdf9344b678b185a6f5cb60fca715"
#define SECRET_NEW4 "445536bcd2513298075a5d379663c962"

static struct ip_addr
addr(const char *text)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	return a;
}

static struct cookie_secret
secret(const char *hex)
{
	struct cookie_secret s;

	assert_int_equal(cookie_secret_parse(hex, &s), 0);
	return s;
}

static int
nibble(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Decode hex (lower case, no separators) into out; returns the length. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(strlen(hex) % 2 == 0 && n <= cap);
	for (size_t i = 0; i < n; i++)
		out[i] =
		    (uint8_t)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
	return n;
}

/* cookie_check of a hex option, for the vectors. */
static enum cookie_status
check_hex(const struct cookie_secret *cur, const struct cookie_secret *prev,
          const char *client, const char *opt_hex, uint32_t now)
{
	uint8_t opt[COOKIE_MAX_LEN + 8];
	size_t n = unhex(opt_hex, opt, sizeof opt);
	struct ip_addr a = addr(client);

	return cookie_check(cur, prev, &a, opt, n, now);
}

/* cookie_make for the client cookie that opens opt_hex; compares with
 * want_hex. */
static void
assert_reply(const struct cookie_secret *s, const char *client,
             const char *opt_hex, uint32_t now, const char *want_hex)
{
	uint8_t opt[COOKIE_MAX_LEN], want[COOKIE_V1_LEN], out[COOKIE_V1_LEN];
	struct ip_addr a = addr(client);

	assert_true(unhex(opt_hex, opt, sizeof opt) >= COOKIE_CLIENT_LEN);
	assert_int_equal(unhex(want_hex, want, sizeof want), COOKIE_V1_LEN);
	assert_int_equal(cookie_make(s, &a, opt, now, out), COOKIE_V1_LEN);
	assert_memory_equal(out, want, COOKIE_V1_LEN);
}

/* A cookie made by cookie_make, for the window and rotation tests. */
static void
make(const struct cookie_secret *s, const char *client, uint32_t ts,
     uint8_t out[COOKIE_V1_LEN])
{
	static const uint8_t cc[COOKIE_CLIENT_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct ip_addr a = addr(client);

	assert_int_equal(cookie_make(s, &a, cc, ts, out), COOKIE_V1_LEN);
}

static enum cookie_status
check(const struct cookie_secret *cur, const struct cookie_secret *prev,
      const char *client, const uint8_t *opt, size_t len, uint32_t now)
{
	struct ip_addr a = addr(client);

	return cookie_check(cur, prev, &a, opt, len, now);
}

/* ---- secrets ------------------------------------------------------------ */

static void
test_cookie_secret_parse_accepts_32_hex_digits(void **state)
{
	static const uint8_t want[16] = {0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2,
	                                 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84,
	                                 0x9e, 0x37, 0xbf, 0xcf};
	struct cookie_secret s;

	(void)state;
	assert_int_equal(cookie_secret_parse(SECRET_A, &s), 0);
	assert_memory_equal(s.key, want, sizeof want);
	assert_int_equal(
	    cookie_secret_parse("E5E973E5A6B2A43F48E7DC849E37BFCF", &s), 0);
	assert_memory_equal(s.key, want, sizeof want);
}

static void
test_cookie_secret_parse_rejects_other_text(void **state)
{
	static const char *const bad[] = {
	    "",
	    "e5e973e5a6b2a43f48e7dc849e37bfc",   /* 31 digits */
	    "e5e973e5a6b2a43f48e7dc849e37bfcf0", /* 33 digits */
	    "e5e973e5a6b2a43f48e7dc849e37bfcg",  /* not hex */
	    "0xe5e973e5a6b2a43f48e7dc849e37bf",
	    " e5e973e5a6b2a43f48e7dc849e37bfcf",
	    "e5e973e5a6b2a43f48e7dc849e37bfcf ",
	    "e5e973e5a6b2a43f-8e7dc849e37bfcf",
	    "e5e973e5a6b2a43f", /* 16 digits: a 64-bit key */
	};
	struct cookie_secret s;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		memset(&s, 0xaa, sizeof s);
		assert_int_equal(cookie_secret_parse(bad[i], &s), -1);
		for (size_t j = 0; j < sizeof s.key; j++)
			assert_int_equal(s.key[j], 0xaa); /* untouched */
	}
}

/* ---- RFC 9018 Appendix A ------------------------------------------------ */

/* A.1: a client-only query from 198.51.100.100 gets a new cookie. */
static void
test_cookie_rfc9018_a1_creation(void **state)
{
	struct cookie_secret s = secret(SECRET_A);

	(void)state;
	assert_int_equal(check_hex(&s, NULL, "198.51.100.100",
	                           "2464c4abcf10c957", 1559731985),
	                 COOKIE_CLIENT_ONLY);
	assert_reply(&s, "198.51.100.100", "2464c4abcf10c957", 1559731985,
	             "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
}

/* A.2: 40 minutes later the A.1 cookie is still valid but due for
 * renewal, and the reply carries a new one. */
static void
test_cookie_rfc9018_a2_renewal(void **state)
{
	static const char *query =
	    "2464c4abcf10c957010000005cf79f111f8130c3eee29480";
	struct cookie_secret s = secret(SECRET_A);
	uint8_t opt[COOKIE_V1_LEN];

	(void)state;
	assert_int_equal(
	    check_hex(&s, NULL, "198.51.100.100", query, 1559734385),
	    COOKIE_VALID);
	unhex(query, opt, sizeof opt);
	assert_true(cookie_should_renew(opt, sizeof opt, 1559734385));
	assert_reply(&s, "198.51.100.100", query, 1559734385,
	             "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
}

/*
 * A.3: a cookie with Reserved = abcdef, minted at 1559727985. Its hash is
 * valid (reserved bytes are hashed as received) — at its own timestamp; at
 * the reply time it is 1 h 52 min old, so it is treated like a client-only
 * cookie (RFC 7873 5.2.4), and the reply is the same either way.
 */
static void
test_cookie_rfc9018_a3_nonzero_reserved(void **state)
{
	static const char *query =
	    "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5";
	struct cookie_secret s = secret(SECRET_A);

	(void)state;
	assert_int_equal(
	    check_hex(&s, NULL, "203.0.113.203", query, 1559727985),
	    COOKIE_VALID);
	assert_int_equal(
	    check_hex(&s, NULL, "203.0.113.203", query, 1559734700),
	    COOKIE_BAD);
	assert_reply(&s, "203.0.113.203", query, 1559734700,
	             "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
}

/* A.4: IPv6 client; the query's cookie was made with the old secret, which
 * is now the previous one; the reply is made with the new secret. */
static void
test_cookie_rfc9018_a4_ipv6_rotation(void **state)
{
	static const char *client = "2001:db8:220:1:59de:d0f4:8769:82b8";
	static const char *query =
	    "22681ab97d52c298010000005cf7c57926556bd0934c72f8";
	static const char *reply =
	    "22681ab97d52c298010000005cf7c609a6bb79d16625507a";
	struct cookie_secret old = secret(SECRET_OLD4);
	struct cookie_secret new = secret(SECRET_NEW4);

	(void)state;
	assert_int_equal(check_hex(&new, &old, client, query, 1559741961),
	                 COOKIE_VALID);
	assert_int_equal(check_hex(&new, NULL, client, query, 1559741961),
	                 COOKIE_BAD);
	assert_int_equal(check_hex(&old, NULL, client, query, 1559741961),
	                 COOKIE_VALID);
	assert_reply(&new, client, query, 1559741961, reply);
	/* The new cookie verifies under the new secret alone. */
	assert_int_equal(check_hex(&new, NULL, client, reply, 1559741961),
	                 COOKIE_VALID);
	assert_int_equal(check_hex(&old, NULL, client, reply, 1559741961),
	                 COOKIE_BAD);
}

/*
 * BIND 9.18's reply cookie, observed on loopback: with cookie-secret
 * SECRET_A, client 127.0.0.1 and client cookie 2464c4abcf10c957, BIND
 * answered with timestamp 0x6b0820a8 and this cookie.
 */
static void
test_cookie_matches_bind_reply(void **state)
{
	static const char *bind_reply =
	    "2464c4abcf10c957010000006b0820a8a7e46bd3251244be";
	struct cookie_secret s = secret(SECRET_A);

	(void)state;
	assert_reply(&s, "127.0.0.1", "2464c4abcf10c957", 0x6b0820a8,
	             bind_reply);
	assert_int_equal(
	    check_hex(&s, NULL, "127.0.0.1", bind_reply, 0x6b0820a8 + 10),
	    COOKIE_VALID);
}

/* ---- the time window (RFC 9018 4.3) ------------------------------------- */

static void
assert_window_edges(uint32_t ts)
{
	struct cookie_secret s = secret(SECRET_A);
	uint8_t c[COOKIE_V1_LEN];
	const char *ip = "192.0.2.7";

	make(&s, ip, ts, c);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts), COOKIE_VALID);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts + 3600),
	                 COOKIE_VALID);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts + 3601),
	                 COOKIE_BAD);
	/* now before ts: the cookie is from the future. */
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts - 300),
	                 COOKIE_VALID);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts - 301),
	                 COOKIE_BAD);
	/* Far away either side, half the serial space included. */
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts + 86400),
	                 COOKIE_BAD);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts - 86400),
	                 COOKIE_BAD);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts + 0x80000000u),
	                 COOKIE_BAD);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts + 0x7fffffffu),
	                 COOKIE_BAD);
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, ts + 0x80000001u),
	                 COOKIE_BAD);
}

static void
test_cookie_window_edges(void **state)
{
	(void)state;
	assert_window_edges(1559731985);
}

/* Serial arithmetic: the same edges when now or ts crosses 2^32. */
static void
test_cookie_window_edges_across_wrap(void **state)
{
	(void)state;
	assert_window_edges(0xffffffffu - 1800); /* now + 3600 wraps */
	assert_window_edges(0xffffffffu);
	assert_window_edges(0);
	assert_window_edges(150); /* now - 300 wraps */
	assert_window_edges(0x7fffffffu);
}

/* ---- rotation (RFC 9018 5) ------------------------------------------------
 */

static void
test_cookie_rotation_previous_secret(void **state)
{
	struct cookie_secret old = secret(SECRET_OLD4);
	struct cookie_secret new = secret(SECRET_NEW4);
	struct cookie_secret other = secret("000102030405060708090a0b0c0d0e0f");
	uint8_t c[COOKIE_V1_LEN];
	const char *ip = "2001:db8::53";
	uint32_t now = 1700000000;

	(void)state;
	make(&old, ip, now, c);
	assert_int_equal(check(&new, NULL, ip, c, sizeof c, now), COOKIE_BAD);
	assert_int_equal(check(&new, &old, ip, c, sizeof c, now), COOKIE_VALID);
	assert_int_equal(check(&new, &other, ip, c, sizeof c, now), COOKIE_BAD);
	/* The previous secret still has to respect the window. */
	assert_int_equal(check(&new, &old, ip, c, sizeof c, now + 3601),
	                 COOKIE_BAD);
	/* A cookie of the new secret, with the old one as previous. */
	make(&new, ip, now, c);
	assert_int_equal(check(&new, &old, ip, c, sizeof c, now), COOKIE_VALID);
	assert_int_equal(check(&old, NULL, ip, c, sizeof c, now), COOKIE_BAD);
}

/* ---- RFC 7873 5.2: what each option length means ------------------------ */

static void
test_cookie_check_no_option(void **state)
{
	struct cookie_secret s = secret(SECRET_A);

	(void)state;
	assert_int_equal(check(&s, NULL, "192.0.2.1", NULL, 0, 1), COOKIE_NONE);
	assert_int_equal(check(&s, NULL, "192.0.2.1", NULL, 24, 1),
	                 COOKIE_NONE);
}

static void
test_cookie_check_lengths(void **state)
{
	struct cookie_secret s = secret(SECRET_A);
	uint8_t buf[64];
	uint32_t now = 1559731985;
	const char *ip = "198.51.100.100";

	(void)state;
	/* A valid cookie in front, so only the length can be wrong. */
	memset(buf, 0x5a, sizeof buf);
	make(&s, ip, now, buf);
	assert_int_equal(check(&s, NULL, ip, buf, 24, now), COOKIE_VALID);
	for (size_t len = 0; len <= sizeof buf; len++) {
		enum cookie_status want;

		if (len == 8)
			want = COOKIE_CLIENT_ONLY;
		else if (len == 24)
			want = COOKIE_VALID;
		else if (len >= 16 && len <= 40)
			want = COOKIE_BAD; /* RFC 9018 4.4: not 24, not ours */
		else
			want = COOKIE_MALFORMED; /* FORMERR (5.2.2) */
		assert_int_equal(check(&s, NULL, ip, buf, len, now), want);
	}
}

/* A version other than 1 is never verified, even with a hash that would
 * match under our secret. */
static void
test_cookie_check_unknown_version(void **state)
{
	static const uint8_t versions[] = {0, 2, 239, 240, 254, 255};
	struct cookie_secret s = secret(SECRET_A);
	struct ip_addr a = addr("198.51.100.100");
	uint8_t c[COOKIE_V1_LEN], in[20];
	uint32_t now = 1559731985;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(versions); i++) {
		make(&s, "198.51.100.100", now, c);
		c[8] = versions[i];
		memcpy(in, c, 16);
		memcpy(in + 16, a.b + 12, 4);
		siphash24(s.key, in, sizeof in, c + 16);
		assert_int_equal(cookie_check(&s, NULL, &a, c, sizeof c, now),
		                 COOKIE_BAD);
	}
}

/* Any changed bit of the client cookie, reserved bytes, timestamp or hash
 * makes the cookie invalid. */
static void
test_cookie_check_any_bit_flipped(void **state)
{
	struct cookie_secret s = secret(SECRET_A);
	uint8_t c[COOKIE_V1_LEN];
	uint32_t now = 1559731985;
	const char *ip = "198.51.100.100";

	(void)state;
	make(&s, ip, now, c);
	for (size_t byte = 0; byte < sizeof c; byte++) {
		if (byte == 8)
			continue; /* version: see the test above */
		for (int bit = 0; bit < 8; bit++) {
			c[byte] ^= (uint8_t)(1u << bit);
			assert_int_equal(check(&s, NULL, ip, c, sizeof c, now),
			                 COOKIE_BAD);
			c[byte] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(check(&s, NULL, ip, c, sizeof c, now), COOKIE_VALID);
}

static void
test_cookie_check_other_client(void **state)
{
	struct cookie_secret s = secret(SECRET_A);
	uint8_t c4[COOKIE_V1_LEN], c6[COOKIE_V1_LEN];
	uint32_t now = 1559731985;

	(void)state;
	make(&s, "198.51.100.100", now, c4);
	assert_int_equal(check(&s, NULL, "198.51.100.101", c4, 24, now),
	                 COOKIE_BAD);
	assert_int_equal(check(&s, NULL, "2001:db8::1", c4, 24, now),
	                 COOKIE_BAD);
	make(&s, "2001:db8::1", now, c6);
	assert_int_equal(check(&s, NULL, "2001:db8::1", c6, 24, now),
	                 COOKIE_VALID);
	assert_int_equal(check(&s, NULL, "2001:db8::2", c6, 24, now),
	                 COOKIE_BAD);
	assert_int_equal(check(&s, NULL, "2001:db9::1", c6, 24, now),
	                 COOKIE_BAD);
	assert_int_equal(check(&s, NULL, "198.51.100.100", c6, 24, now),
	                 COOKIE_BAD);
}

/*
 * The hash input is 20 bytes for an IPv4 client (its 4 address bytes) and
 * 32 for IPv6 (16). The v4 flag decides: the same 16 bytes flagged as IPv6
 * (::ffff:198.51.100.100 parsed as text) are hashed whole, and the cookies
 * differ.
 */
static void
test_cookie_hash_input_ipv4_vs_ipv6(void **state)
{
	struct cookie_secret s = secret(SECRET_A);
	struct ip_addr v4 = addr("198.51.100.100");
	struct ip_addr mapped = addr("::ffff:198.51.100.100");
	uint8_t c4[COOKIE_V1_LEN], c6[COOKIE_V1_LEN], in[32], h[8];
	uint32_t now = 1559731985;

	(void)state;
	assert_true(v4.v4);
	assert_false(mapped.v4);
	assert_memory_equal(v4.b, mapped.b, 16);

	make(&s, "198.51.100.100", now, c4);
	memcpy(in, c4, 16);
	memcpy(in + 16, v4.b + 12, 4);
	siphash24(s.key, in, 20, h);
	assert_memory_equal(c4 + 16, h, 8);

	make(&s, "::ffff:198.51.100.100", now, c6);
	memcpy(in, c6, 16);
	memcpy(in + 16, mapped.b, 16);
	siphash24(s.key, in, 32, h);
	assert_memory_equal(c6 + 16, h, 8);

	assert_memory_not_equal(c4 + 16, c6 + 16, 8);
	assert_int_equal(cookie_check(&s, NULL, &mapped, c4, 24, now),
	                 COOKIE_BAD);
	assert_int_equal(cookie_check(&s, NULL, &v4, c6, 24, now), COOKIE_BAD);
}

/* ---- cookie_make, cookie_should_renew, names ---------------------------- */

static void
test_cookie_make_layout(void **state)
{
	static const uint8_t cc[8] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
	static const uint8_t head[16] = {
	    0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, /* client cookie */
	    0x01,                               /* version 1 */
	    0x00, 0x00, 0x00,                   /* reserved */
	    0x12, 0x34, 0x56, 0x78,             /* timestamp */
	};
	struct cookie_secret s = secret(SECRET_A);
	struct ip_addr a = addr("192.0.2.1");
	uint8_t out[COOKIE_V1_LEN];

	(void)state;
	assert_int_equal(cookie_make(&s, &a, cc, 0x12345678, out),
	                 COOKIE_V1_LEN);
	assert_memory_equal(out, head, sizeof head);
	assert_int_equal(
	    cookie_check(&s, NULL, &a, out, sizeof out, 0x12345678),
	    COOKIE_VALID);
}

static void
test_cookie_should_renew_after_30_minutes(void **state)
{
	struct cookie_secret s = secret(SECRET_A);
	uint8_t c[COOKIE_V1_LEN];
	uint32_t ts = 5; /* so that the "ahead" cases wrap */

	(void)state;
	make(&s, "192.0.2.1", ts, c);
	assert_false(cookie_should_renew(c, sizeof c, ts));
	assert_false(cookie_should_renew(c, sizeof c, ts + 1800));
	assert_true(cookie_should_renew(c, sizeof c, ts + 1801));
	assert_false(cookie_should_renew(c, sizeof c, ts - 300));
	assert_true(cookie_should_renew(c, sizeof c, ts - 301));
	assert_true(cookie_should_renew(c, 16, ts));
	assert_true(cookie_should_renew(c, 8, ts));
	assert_true(cookie_should_renew(NULL, 0, ts));
	c[8] = 2;
	assert_true(cookie_should_renew(c, sizeof c, ts));
}

static void
test_cookie_status_names(void **state)
{
	(void)state;
	assert_string_equal(cookie_status_name(COOKIE_NONE), "none");
	assert_string_equal(cookie_status_name(COOKIE_MALFORMED), "malformed");
	assert_string_equal(cookie_status_name(COOKIE_CLIENT_ONLY),
	                    "client-only");
	assert_string_equal(cookie_status_name(COOKIE_BAD), "invalid");
	assert_string_equal(cookie_status_name(COOKIE_VALID), "valid");
	assert_string_equal(cookie_status_name((enum cookie_status)0), "?");
}

/* ---- the client-side jar ------------------------------------------------ */

/* A predictable "random" source: 0x01 0x02 ... continuing across calls. */
struct counter {
	uint8_t next;
	unsigned calls;
};

static void
counter_random(void *ctx, uint8_t *buf, size_t len)
{
	struct counter *c = ctx;

	c->calls++;
	for (size_t i = 0; i < len; i++)
		buf[i] = ++c->next;
}

static size_t
jar_req(struct cookie_jar *jar, const char *server, uint16_t port, uint32_t now,
        uint8_t out[COOKIE_MAX_LEN])
{
	struct ip_addr a = addr(server);

	return cookie_jar_request(jar, &a, port, now, out);
}

static enum cookie_jar_result
jar_resp(struct cookie_jar *jar, const char *server, uint16_t port,
         const uint8_t *sent, const uint8_t *opt, size_t len, uint32_t now)
{
	struct ip_addr a = addr(server);

	return cookie_jar_response(jar, &a, port, sent, opt, len, now);
}

static void
test_cookie_jar_one_client_cookie_per_endpoint(void **state)
{
	static struct cookie_jar jar;
	struct counter rnd = {0, 0};
	uint8_t a[COOKIE_MAX_LEN], b[COOKIE_MAX_LEN], c[COOKIE_MAX_LEN];

	(void)state;
	cookie_jar_init(&jar, counter_random, &rnd);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 100, a), 8);
	assert_int_equal(a[0], 1);
	assert_int_equal(a[7], 8);
	/* Kept for the same endpoint... */
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 200, b), 8);
	assert_memory_equal(a, b, 8);
	assert_int_equal(rnd.calls, 1);
	/* ...and different for another address or port. */
	assert_int_equal(jar_req(&jar, "192.0.2.54", 53, 200, b), 8);
	assert_memory_not_equal(a, b, 8);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 5353, 200, c), 8);
	assert_memory_not_equal(a, c, 8);
	assert_memory_not_equal(b, c, 8);
	assert_int_equal(jar_req(&jar, "2001:db8::53", 53, 200, c), 8);
	assert_int_equal(rnd.calls, 4);
}

/* RFC 7873 5.3: the server cookie of a matching answer is sent back next
 * time, whatever its length (8..32), BADCOOKIE answers included. */
static void
test_cookie_jar_learns_server_cookie(void **state)
{
	static struct cookie_jar jar;
	struct counter rnd = {0, 0};
	uint8_t sent[COOKIE_MAX_LEN], resp[COOKIE_MAX_LEN],
	    next[COOKIE_MAX_LEN];

	(void)state;
	cookie_jar_init(&jar, counter_random, &rnd);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 100, sent), 8);
	for (size_t slen = 8; slen <= 32; slen++) {
		memcpy(resp, sent, 8);
		for (size_t i = 0; i < slen; i++)
			resp[8 + i] = (uint8_t)(0xc0 + slen + i);
		assert_int_equal(
		    jar_resp(&jar, "192.0.2.53", 53, sent, resp, 8 + slen, 101),
		    COOKIE_JAR_ACCEPT);
		assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 102, next),
		                 8 + slen);
		assert_memory_equal(next, resp, 8 + slen);
	}
	assert_int_equal(rnd.calls, 1);
}

/* RFC 7873 5.3: an answer echoing another client cookie, or a COOKIE of an
 * illegal length, is discarded and teaches the jar nothing. */
static void
test_cookie_jar_discards_forged_or_illegal(void **state)
{
	static struct cookie_jar jar;
	struct counter rnd = {0, 0};
	uint8_t sent[COOKIE_MAX_LEN], resp[COOKIE_MAX_LEN + 8];
	uint8_t next[COOKIE_MAX_LEN];

	(void)state;
	cookie_jar_init(&jar, counter_random, &rnd);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 100, sent), 8);

	memset(resp, 0xaa, sizeof resp); /* forged client cookie */
	assert_int_equal(jar_resp(&jar, "192.0.2.53", 53, sent, resp, 24, 101),
	                 COOKIE_JAR_DISCARD);
	memcpy(resp, sent, 8);
	for (size_t len = 0; len <= sizeof resp; len++) {
		if (len >= 16 && len <= 40)
			continue;
		assert_int_equal(
		    jar_resp(&jar, "192.0.2.53", 53, sent, resp, len, 101),
		    COOKIE_JAR_DISCARD);
	}
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 102, next), 8);
	assert_memory_equal(next, sent, 8);
}

/* RFC 9018 3: a server that answers without a cookie gets none for
 * COOKIE_JAR_BACKOFF seconds, then a new client cookie. */
static void
test_cookie_jar_backoff_without_server_support(void **state)
{
	static struct cookie_jar jar;
	struct counter rnd = {0, 0};
	uint8_t sent[COOKIE_MAX_LEN], resp[COOKIE_MAX_LEN];
	uint8_t next[COOKIE_MAX_LEN];
	uint32_t t = 0xffffff00u; /* the backoff crosses the wrap */

	(void)state;
	cookie_jar_init(&jar, counter_random, &rnd);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, t, sent), 8);
	/* Learn a server cookie first: the backoff must forget it. */
	memcpy(resp, sent, 8);
	memset(resp + 8, 0x77, 16);
	assert_int_equal(jar_resp(&jar, "192.0.2.53", 53, sent, resp, 24, t),
	                 COOKIE_JAR_ACCEPT);
	assert_int_equal(jar_resp(&jar, "192.0.2.53", 53, sent, NULL, 0, t + 1),
	                 COOKIE_JAR_ACCEPT);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, t + 1, next), 0);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, t + 300, next), 0);
	/* An answer to a query sent without a cookie changes nothing. */
	assert_int_equal(jar_resp(&jar, "192.0.2.53", 53, NULL, NULL, 0, t + 1),
	                 COOKIE_JAR_ACCEPT);
	assert_int_equal(
	    jar_resp(&jar, "192.0.2.53", 53, NULL, resp, 24, t + 2),
	    COOKIE_JAR_ACCEPT);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, t + 300, next), 0);
	/* Backoff over: a new client cookie, alone. */
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, t + 301, next), 8);
	assert_memory_not_equal(next, sent, 8);
	assert_int_equal(rnd.calls, 2);
	/* A late answer to the old cookie is genuine but teaches nothing. */
	assert_int_equal(
	    jar_resp(&jar, "192.0.2.53", 53, sent, resp, 24, t + 302),
	    COOKIE_JAR_ACCEPT);
	assert_int_equal(
	    jar_resp(&jar, "192.0.2.53", 53, sent, NULL, 0, t + 302),
	    COOKIE_JAR_ACCEPT);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, t + 303, resp), 8);
	assert_memory_equal(resp, next, 8);
}

/* An answer with our cookie during the backoff proves the server does
 * cookies after all: the backoff ends and the server cookie is kept. */
static void
test_cookie_jar_backoff_ends_on_matching_cookie(void **state)
{
	static struct cookie_jar jar;
	struct counter rnd = {0, 0};
	uint8_t sent[COOKIE_MAX_LEN], resp[COOKIE_MAX_LEN];
	uint8_t next[COOKIE_MAX_LEN];

	(void)state;
	cookie_jar_init(&jar, counter_random, &rnd);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 1000, sent), 8);
	assert_int_equal(jar_resp(&jar, "192.0.2.53", 53, sent, NULL, 0, 1001),
	                 COOKIE_JAR_ACCEPT);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 1002, next), 0);
	memcpy(resp, sent, 8);
	memset(resp + 8, 0x42, 16);
	assert_int_equal(jar_resp(&jar, "192.0.2.53", 53, sent, resp, 24, 1003),
	                 COOKIE_JAR_ACCEPT);
	assert_int_equal(jar_req(&jar, "192.0.2.53", 53, 1004, next), 24);
	assert_memory_equal(next, resp, 24);
}

static void
test_cookie_jar_full_and_clear(void **state)
{
	static struct cookie_jar jar;
	struct counter rnd = {0, 0};
	uint8_t out[COOKIE_MAX_LEN], resp[COOKIE_MAX_LEN];
	struct ip_addr a = addr("192.0.2.53");

	(void)state;
	cookie_jar_init(&jar, counter_random, &rnd);
	for (uint16_t port = 1; port <= COOKIE_JAR_MAX; port++)
		assert_int_equal(cookie_jar_request(&jar, &a, port, 1, out), 8);
	assert_int_equal(
	    cookie_jar_request(&jar, &a, COOKIE_JAR_MAX + 1, 1, out), 0);
	/* Known endpoints still work. */
	assert_int_equal(cookie_jar_request(&jar, &a, COOKIE_JAR_MAX, 1, out),
	                 8);
	/* An endpoint we sent nothing to: any cookie is ignored. */
	memset(resp, 0x11, sizeof resp);
	assert_int_equal(cookie_jar_response(&jar, &a, COOKIE_JAR_MAX + 1, NULL,
	                                     resp, 24, 2),
	                 COOKIE_JAR_ACCEPT);
	cookie_jar_clear(&jar);
	assert_int_equal(
	    cookie_jar_request(&jar, &a, COOKIE_JAR_MAX + 1, 3, out), 8);
	assert_int_equal(rnd.calls, COOKIE_JAR_MAX + 1);
}

/* The jar as the client of our own server side: client-only, then a valid
 * cookie on the next query. */
static void
test_cookie_jar_round_trip_with_server(void **state)
{
	static struct cookie_jar jar;
	struct counter rnd = {0x30, 0};
	struct cookie_secret s = secret(SECRET_A);
	struct ip_addr us = addr("192.0.2.10"), upstream = addr("192.0.2.53");
	uint8_t q[COOKIE_MAX_LEN], r[COOKIE_V1_LEN];
	size_t n;

	(void)state;
	cookie_jar_init(&jar, counter_random, &rnd);
	n = cookie_jar_request(&jar, &upstream, 53, 1000, q);
	assert_int_equal(cookie_check(&s, NULL, &us, q, n, 1000),
	                 COOKIE_CLIENT_ONLY);
	cookie_make(&s, &us, q, 1000, r);
	assert_int_equal(
	    cookie_jar_response(&jar, &upstream, 53, q, r, sizeof r, 1000),
	    COOKIE_JAR_ACCEPT);
	n = cookie_jar_request(&jar, &upstream, 53, 1060, q);
	assert_int_equal(n, COOKIE_V1_LEN);
	assert_int_equal(cookie_check(&s, NULL, &us, q, n, 1060), COOKIE_VALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cookie_secret_parse_accepts_32_hex_digits),
	    cmocka_unit_test(test_cookie_secret_parse_rejects_other_text),
	    cmocka_unit_test(test_cookie_rfc9018_a1_creation),
	    cmocka_unit_test(test_cookie_rfc9018_a2_renewal),
	    cmocka_unit_test(test_cookie_rfc9018_a3_nonzero_reserved),
	    cmocka_unit_test(test_cookie_rfc9018_a4_ipv6_rotation),
	    cmocka_unit_test(test_cookie_matches_bind_reply),
	    cmocka_unit_test(test_cookie_window_edges),
	    cmocka_unit_test(test_cookie_window_edges_across_wrap),
	    cmocka_unit_test(test_cookie_rotation_previous_secret),
	    cmocka_unit_test(test_cookie_check_no_option),
	    cmocka_unit_test(test_cookie_check_lengths),
	    cmocka_unit_test(test_cookie_check_unknown_version),
	    cmocka_unit_test(test_cookie_check_any_bit_flipped),
	    cmocka_unit_test(test_cookie_check_other_client),
	    cmocka_unit_test(test_cookie_hash_input_ipv4_vs_ipv6),
	    cmocka_unit_test(test_cookie_make_layout),
	    cmocka_unit_test(test_cookie_should_renew_after_30_minutes),
	    cmocka_unit_test(test_cookie_status_names),
	    cmocka_unit_test(test_cookie_jar_one_client_cookie_per_endpoint),
	    cmocka_unit_test(test_cookie_jar_learns_server_cookie),
	    cmocka_unit_test(test_cookie_jar_discards_forged_or_illegal),
	    cmocka_unit_test(test_cookie_jar_backoff_without_server_support),
	    cmocka_unit_test(test_cookie_jar_backoff_ends_on_matching_cookie),
	    cmocka_unit_test(test_cookie_jar_full_and_clear),
	    cmocka_unit_test(test_cookie_jar_round_trip_with_server),
	};

	return cmocka_run_group_tests_name("ratelimit cookie", tests, NULL,
	                                   NULL);
}
