/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit/cookie.c — DNS Cookies: RFC 9018 server cookies checked and
 * issued, and the client-side jar for upstreams. See cookie.h.
 */
#include "ratelimit/cookie.h"

#include <assert.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/rrtext.h"
#include "dns/wire.h"
#include "ratelimit/siphash.h"

_Static_assert(COOKIE_CLIENT_LEN == DNS_COOKIE_CLIENT_LEN,
               "cookie.h and dns/msg.h disagree on the client cookie size");
_Static_assert(COOKIE_MAX_LEN == DNS_COOKIE_MAX_LEN,
               "cookie.h and dns/msg.h disagree on the COOKIE option size");
_Static_assert(sizeof(((struct cookie_secret *)0)->key) == SIPHASH_KEY_LEN,
               "a cookie secret is a SipHash key");

/* Client cookie, version, reserved and timestamp: the part of a version-1
 * cookie that is hashed as received (RFC 9018 4.4). */
#define V1_HASHED_LEN (COOKIE_CLIENT_LEN + 1 + 3 + 4)
/* That, plus a 16-byte client address. */
#define V1_INPUT_MAX (V1_HASHED_LEN + 16)

int
cookie_secret_parse(const char *hex, struct cookie_secret *s)
{
	struct cookie_secret tmp;

	for (size_t i = 0; i < sizeof tmp.key; i++) {
		/* Short strings stop at the NUL: dns_hex_value('\0') is -1. */
		int hi = dns_hex_value(hex[2 * i]);
		int lo = hi < 0 ? -1 : dns_hex_value(hex[2 * i + 1]);

		if (lo < 0)
			return -1;
		tmp.key[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[2 * sizeof tmp.key] != '\0')
		return -1;
	*s = tmp;
	return 0;
}

/*
 * SipHash-2-4 of the first V1_HASHED_LEN bytes of a cookie followed by the
 * client's address: 4 bytes for IPv4 (kept v4-mapped in struct ip_addr),
 * 16 for IPv6 — 20 or 32 bytes of input (RFC 9018 4.4).
 */
static void
v1_hash(const struct cookie_secret *s, const uint8_t head[V1_HASHED_LEN],
        const struct ip_addr *client, uint8_t out[SIPHASH_OUT_LEN])
{
	uint8_t in[V1_INPUT_MAX];
	size_t n = V1_HASHED_LEN;

	memcpy(in, head, V1_HASHED_LEN);
	if (client->v4) {
		memcpy(in + n, client->b + 12, 4);
		n += 4;
	} else {
		memcpy(in + n, client->b, 16);
		n += 16;
	}
	siphash24(s->key, in, n, out);
}

/* Compare without an early exit, so the time taken says nothing about how
 * much of a forged hash was right. */
static bool
hash_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < SIPHASH_OUT_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* RFC 9018 4.3 with RFC 1982 serial arithmetic: ts at most COOKIE_MAX_AGE
 * before now or COOKIE_MAX_AHEAD after it, modulo 2^32. */
static bool
v1_in_window(uint32_t ts, uint32_t now)
{
	return (uint32_t)(now - ts) <= COOKIE_MAX_AGE ||
	       (uint32_t)(ts - now) <= COOKIE_MAX_AHEAD;
}

struct v1_fields {
	uint8_t version;
	uint32_t ts;
	uint8_t hash[SIPHASH_OUT_LEN];
};

/* Read the fields of a 24-byte option (the caller checked the length). */
static void
v1_read(const uint8_t *opt, struct v1_fields *f)
{
	struct wire w;

	wire_init(&w, opt, COOKIE_V1_LEN);
	wire_skip(&w, COOKIE_CLIENT_LEN);
	f->version = wire_u8(&w);
	wire_skip(&w, 3); /* reserved: hashed, never required to be 0 */
	f->ts = wire_u32(&w);
	wire_read(&w, f->hash, sizeof f->hash);
	assert(w.err == 0);
}

static bool
v1_verify(const struct cookie_secret *s, const struct ip_addr *client,
          const uint8_t *opt, const uint8_t *hash)
{
	uint8_t want[SIPHASH_OUT_LEN];

	v1_hash(s, opt, client, want);
	return hash_equal(want, hash);
}

enum cookie_status
cookie_check(const struct cookie_secret *cur, const struct cookie_secret *prev,
             const struct ip_addr *client, const uint8_t *opt, size_t optlen,
             uint32_t now)
{
	struct v1_fields f;

	if (opt == NULL)
		return COOKIE_NONE;
	if (optlen == COOKIE_CLIENT_LEN)
		return COOKIE_CLIENT_ONLY;
	if (optlen < COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN_LEN ||
	    optlen > COOKIE_MAX_LEN)
		return COOKIE_MALFORMED;
	/* RFC 9018 4.4: only a 24-byte option is verified as version 1; any
	 * other server cookie is not one of ours. */
	if (optlen != COOKIE_V1_LEN)
		return COOKIE_BAD;
	v1_read(opt, &f);
	if (f.version != COOKIE_VERSION || !v1_in_window(f.ts, now))
		return COOKIE_BAD;
	if (v1_verify(cur, client, opt, f.hash))
		return COOKIE_VALID;
	if (prev != NULL && v1_verify(prev, client, opt, f.hash))
		return COOKIE_VALID;
	return COOKIE_BAD;
}

size_t
cookie_make(const struct cookie_secret *s, const struct ip_addr *client,
            const uint8_t client_cookie[COOKIE_CLIENT_LEN], uint32_t now,
            uint8_t out[COOKIE_V1_LEN])
{
	struct wbuf b;

	wbuf_init(&b, out, COOKIE_V1_LEN);
	wbuf_bytes(&b, client_cookie, COOKIE_CLIENT_LEN);
	wbuf_u8(&b, COOKIE_VERSION);
	wbuf_bytes(&b, "\0\0\0", 3); /* reserved, 0 when building (4.2) */
	wbuf_u32(&b, now);
	v1_hash(s, out, client, out + V1_HASHED_LEN);
	assert(b.err == 0 && b.len == V1_HASHED_LEN);
	return COOKIE_V1_LEN;
}

bool
cookie_should_renew(const uint8_t *opt, size_t optlen, uint32_t now)
{
	struct v1_fields f;

	if (opt == NULL || optlen != COOKIE_V1_LEN)
		return true;
	v1_read(opt, &f);
	if (f.version != COOKIE_VERSION)
		return true;
	/* Ahead of now (within the window) counts as new. */
	return (uint32_t)(now - f.ts) > COOKIE_RENEW_AGE &&
	       (uint32_t)(f.ts - now) > COOKIE_MAX_AHEAD;
}

const char *
cookie_status_name(enum cookie_status st)
{
	switch (st) {
	case COOKIE_NONE:
		return "none";
	case COOKIE_MALFORMED:
		return "malformed";
	case COOKIE_CLIENT_ONLY:
		return "client-only";
	case COOKIE_BAD:
		return "invalid";
	case COOKIE_VALID:
		return "valid";
	}
	return "?";
}

/* ---- client side -------------------------------------------------------- */

void
cookie_jar_init(struct cookie_jar *jar,
                void (*random)(void *ctx, uint8_t *buf, size_t len),
                void *random_ctx)
{
	assert(random != NULL);
	memset(jar, 0, sizeof *jar);
	jar->random = random;
	jar->random_ctx = random_ctx;
}

void
cookie_jar_clear(struct cookie_jar *jar)
{
	memset(jar->entries, 0, sizeof jar->entries);
	jar->n = 0;
}

static struct cookie_jar_entry *
jar_find(struct cookie_jar *jar, const struct ip_addr *server, uint16_t port)
{
	for (size_t i = 0; i < jar->n; i++) {
		struct cookie_jar_entry *e = &jar->entries[i];

		if (e->port == port && ip_addr_equal(&e->addr, server))
			return e;
	}
	return NULL;
}

/* A new client cookie for e; the server cookie belonged to the old one. */
static void
jar_new_client(struct cookie_jar *jar, struct cookie_jar_entry *e)
{
	jar->random(jar->random_ctx, e->client, sizeof e->client);
	e->server_len = 0;
	e->backoff = false;
}

size_t
cookie_jar_request(struct cookie_jar *jar, const struct ip_addr *server,
                   uint16_t port, uint32_t now, uint8_t out[COOKIE_MAX_LEN])
{
	struct cookie_jar_entry *e = jar_find(jar, server, port);

	if (e == NULL) {
		if (jar->n == COOKIE_JAR_MAX)
			return 0;
		e = &jar->entries[jar->n++];
		memset(e, 0, sizeof *e);
		e->addr = *server;
		e->port = port;
		jar_new_client(jar, e);
	} else if (e->backoff) {
		/* RFC 9018 3: none for a while, then never the same one. */
		if ((uint32_t)(now - e->backoff_since) < COOKIE_JAR_BACKOFF)
			return 0;
		jar_new_client(jar, e);
	}
	memcpy(out, e->client, COOKIE_CLIENT_LEN);
	memcpy(out + COOKIE_CLIENT_LEN, e->server, e->server_len);
	return COOKIE_CLIENT_LEN + (size_t)e->server_len;
}

enum cookie_jar_result
cookie_jar_response(struct cookie_jar *jar, const struct ip_addr *server,
                    uint16_t port, const uint8_t *sent, const uint8_t *opt,
                    size_t optlen, uint32_t now)
{
	struct cookie_jar_entry *e;
	bool current;

	if (sent == NULL)
		return COOKIE_JAR_ACCEPT;
	if (opt != NULL &&
	    (optlen < COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN_LEN ||
	     optlen > COOKIE_MAX_LEN ||
	     memcmp(opt, sent, COOKIE_CLIENT_LEN) != 0))
		return COOKIE_JAR_DISCARD;

	/* Learn only from an answer to the cookie we send now: after a
	 * renewal, a late answer to the old one tells us nothing. */
	e = jar_find(jar, server, port);
	current = e != NULL && memcmp(e->client, sent, COOKIE_CLIENT_LEN) == 0;
	if (!current)
		return COOKIE_JAR_ACCEPT;
	if (opt == NULL) {
		if (!e->backoff) {
			e->backoff = true;
			e->backoff_since = now;
			e->server_len = 0;
		}
		return COOKIE_JAR_ACCEPT;
	}
	e->server_len = (uint8_t)(optlen - COOKIE_CLIENT_LEN);
	memcpy(e->server, opt + COOKIE_CLIENT_LEN, e->server_len);
	e->backoff = false;
	return COOKIE_JAR_ACCEPT;
}
