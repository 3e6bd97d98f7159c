/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit/cookie.h — DNS Cookies (RFC 7873) with RFC 9018 interoperable
 * server cookies (dnsgate.conf(5), [cookies]).
 *
 * Server side: dnsgate terminates cookies. It checks the COOKIE option a
 * client sent (cookie_check) and puts a fresh server cookie of its own on
 * every response (cookie_make), like BIND. Any server in an anycast fleet
 * sharing the secret verifies the cookies of the others.
 *
 * Client side: a cookie jar remembers, per upstream address, the client
 * cookie dnsgate sends and the server cookie that upstream returned.
 *
 * Pure: no clock (`now` is seconds since the 1970 epoch, passed in, taken
 * modulo 2^32 as RFC 9018 4.3 does), no randomness (the jar asks a
 * caller-supplied function), no allocation, no locks. The server-side
 * functions are safe to call from any thread; a jar belongs to one thread.
 */
#ifndef RATELIMIT_COOKIE_H
#define RATELIMIT_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"

/* RFC 7873 4: a client cookie of 8 bytes, a server cookie of 8..32. */
#define COOKIE_CLIENT_LEN     8
#define COOKIE_SERVER_MIN_LEN 8
#define COOKIE_SERVER_MAX_LEN 32
#define COOKIE_MAX_LEN        (COOKIE_CLIENT_LEN + COOKIE_SERVER_MAX_LEN)
/* RFC 9018 4: the version-1 server cookie, and the option that carries it. */
#define COOKIE_V1_SERVER_LEN 16
#define COOKIE_V1_LEN        (COOKIE_CLIENT_LEN + COOKIE_V1_SERVER_LEN)
#define COOKIE_VERSION       1
/* RFC 9018 4.3: accepted from 1 hour in the past to 5 minutes ahead. */
#define COOKIE_MAX_AGE   3600
#define COOKIE_MAX_AHEAD 300
/* RFC 9018 4.3: a server SHOULD issue a new cookie past this age. */
#define COOKIE_RENEW_AGE 1800

/* The 128-bit SipHash key: bytes 0..7 are k0, read little-endian. */
struct cookie_secret {
	uint8_t key[16];
};

/*
 * Parse exactly 32 hex digits (either case, nothing before or after) into
 * s. Returns 0, or -1 with s untouched. An empty string is an error: the
 * caller decides that an empty `previous-secret` means "none".
 */
int cookie_secret_parse(const char *hex, struct cookie_secret *s);

/* What the COOKIE option of a query amounts to (RFC 7873 5.2). */
enum cookie_status {
	COOKIE_NONE = 1,    /* no option: answer as without cookies (5.2.1) */
	COOKIE_MALFORMED,   /* length 0..7, 9..15 or > 40: FORMERR (5.2.2) */
	COOKIE_CLIENT_ONLY, /* 8 bytes, a client cookie alone (5.2.3) */
	COOKIE_BAD,         /* server cookie present but not valid (5.2.4) */
	COOKIE_VALID,       /* a server cookie we issued, in time (5.2.5) */
};

/*
 * Classify the COOKIE option opt[0..optlen) of a query from client, now.
 * opt == NULL means the query carried no COOKIE option (COOKIE_NONE);
 * otherwise optlen is the option's length, whatever it is, and opt must
 * hold that many bytes.
 *
 * Lengths 16..40 hold a server cookie. It is COOKIE_VALID only when all of
 * these hold, else COOKIE_BAD: the option is exactly 24 bytes (RFC 9018
 * 4.4: only then is it verified as version 1, so a 36-byte IPv4 cookie
 * cannot pass as an IPv6 one); the version byte is 1; the timestamp is at
 * most COOKIE_MAX_AGE seconds before now and at most COOKIE_MAX_AHEAD after
 * it, in RFC 1982 serial arithmetic, so the window works across the 2^32
 * wrap; the hash matches under cur or, when prev is not NULL, under prev
 * (a secret rotation, RFC 9018 5). The reserved bytes are hashed as
 * received, not required to be zero (RFC 9018 4.2). The hash input is the
 * client cookie, version, reserved, timestamp and client's address: its 4
 * bytes when client->v4, else its 16 bytes (20 or 32 bytes in all).
 *
 * COOKIE_CLIENT_ONLY and COOKIE_BAD get the same treatment (RFC 7873
 * 5.2.4): a normal answer with a fresh cookie, or BADCOOKIE with a fresh
 * cookie when `require = yes` and the query came over UDP.
 */
enum cookie_status cookie_check(const struct cookie_secret *cur,
                                const struct cookie_secret *prev,
                                const struct ip_addr *client,
                                const uint8_t *opt, size_t optlen,
                                uint32_t now);

/*
 * Write the COOKIE option value to send client in a response: its client
 * cookie (the first 8 bytes of whatever option it sent), then a version-1
 * server cookie (version 1, reserved 0, timestamp now in network byte
 * order, the SipHash-2-4 hash under s, RFC 9018 4). Returns COOKIE_V1_LEN,
 * the number of bytes written to out.
 *
 * dnsgate calls this for every response to a query that had a COOKIE
 * option (COOKIE_CLIENT_ONLY, COOKIE_BAD or COOKIE_VALID), with the current
 * secret: issuing a new cookie every time is allowed by RFC 9018 4.3 and is
 * what BIND does, and it moves clients to the new secret during a rotation.
 */
size_t cookie_make(const struct cookie_secret *s, const struct ip_addr *client,
                   const uint8_t client_cookie[COOKIE_CLIENT_LEN], uint32_t now,
                   uint8_t out[COOKIE_V1_LEN]);

/*
 * For a policy that echoes valid cookies instead of renewing them (as
 * Unbound does): false when opt[0..optlen) is a 24-byte version-1 cookie
 * whose timestamp is at most COOKIE_RENEW_AGE seconds before now or at
 * most COOKIE_MAX_AHEAD after it (serial arithmetic), true otherwise — also
 * for opt NULL and anything that is not a version-1 cookie. It checks neither
 * the hash nor the window: use it only on an option cookie_check found
 * COOKIE_VALID. dnsgate renews on every response and does not need it.
 */
bool cookie_should_renew(const uint8_t *opt, size_t optlen, uint32_t now);

/* "none", "malformed", "client-only", "invalid", "valid" (logs, metrics);
 * "?" for anything else. */
const char *cookie_status_name(enum cookie_status st);

/* ---- client side: cookies dnsgate sends to its upstreams -------------- */

/* How many upstream endpoints one jar remembers. */
#define COOKIE_JAR_MAX 64
/* RFC 9018 3: after a server answered without a cookie, send it none for
 * this long, then try again with a new client cookie. */
#define COOKIE_JAR_BACKOFF 300

struct cookie_jar_entry {
	struct ip_addr addr;
	uint16_t port;
	bool backoff;           /* the server answered without a cookie */
	uint32_t backoff_since; /* when, if backoff */
	uint8_t client[COOKIE_CLIENT_LEN];
	uint8_t server_len; /* 0: no server cookie learned yet */
	uint8_t server[COOKIE_SERVER_MAX_LEN];
};

struct cookie_jar {
	struct cookie_jar_entry entries[COOKIE_JAR_MAX];
	size_t n;
	void (*random)(void *ctx, uint8_t *buf, size_t len);
	void *random_ctx;
};

/*
 * An empty jar. random(random_ctx, buf, len) must fill buf with len
 * unpredictable bytes (getrandom(2) in the daemon); the jar calls it only
 * to make a new client cookie.
 */
void cookie_jar_init(struct cookie_jar *jar,
                     void (*random)(void *ctx, uint8_t *buf, size_t len),
                     void *random_ctx);

/*
 * Forget every server (e.g. when our own source address changed: RFC 9018
 * 3 forbids reusing a client cookie from another client address).
 */
void cookie_jar_clear(struct cookie_jar *jar);

/*
 * The COOKIE option value to put in a query to server:port, written to out;
 * returns its length: 8 (a client cookie alone), 16..40 (with the server
 * cookie that server last gave us), or 0 (send no COOKIE option).
 *
 * Each endpoint gets its own client cookie of 8 random bytes (RFC 9018 3),
 * made on first use and kept while the server keeps answering with it. 0
 * when the jar is full and server:port is not in it, or while the server
 * is in its COOKIE_JAR_BACKOFF after answering without a cookie; once that
 * has passed, a new client cookie is made (never the old one again).
 */
size_t cookie_jar_request(struct cookie_jar *jar, const struct ip_addr *server,
                          uint16_t port, uint32_t now,
                          uint8_t out[COOKIE_MAX_LEN]);

enum cookie_jar_result {
	COOKIE_JAR_ACCEPT = 1, /* the cookie check lets the response through */
	COOKIE_JAR_DISCARD,    /* discard the response (RFC 7873 5.3) */
};

/*
 * Check the COOKIE option opt[0..optlen) (opt NULL: none) of a response
 * from server:port to a query that carried the client cookie sent (NULL:
 * the query carried no COOKIE option), and learn from it.
 *
 * - sent NULL: COOKIE_JAR_ACCEPT; the option, if any, is ignored.
 * - sent, no option: the server does not do cookies; COOKIE_JAR_ACCEPT,
 *   and if sent is the endpoint's current client cookie, its server cookie
 *   is forgotten and its backoff starts (RFC 9018 3).
 * - sent, an option of a length other than 16..40 or whose client cookie
 *   is not sent: COOKIE_JAR_DISCARD (RFC 7873 5.3: an illegal length, or
 *   an answer from someone who did not see the query), nothing learned.
 * - sent, a matching option: COOKIE_JAR_ACCEPT, and if sent is the
 *   endpoint's current client cookie, the server cookie is kept for the
 *   next query and any backoff ends. That includes a BADCOOKIE response,
 *   which the caller may retry once with the cookie just learned.
 */
enum cookie_jar_result cookie_jar_response(struct cookie_jar *jar,
                                           const struct ip_addr *server,
                                           uint16_t port, const uint8_t *sent,
                                           const uint8_t *opt, size_t optlen,
                                           uint32_t now);

#endif
