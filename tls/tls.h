/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tls/tls.h — TLS on OpenSSL 3: the contexts of the encrypted listeners
 * (DNS over TLS, RFC 7858; DNS over HTTPS, RFC 8484) and of tls://
 * upstreams, the certificate checks of `dnsgate -t`, and the session
 * ticket keys every worker shares.
 *
 * Resumption is stateless (RFC 5077 / RFC 8446 4.6.1 tickets): a ticket
 * issued by one worker resumes on any other, and across reloads, because
 * every server context encrypts tickets with the one process-wide key ring
 * below. The ring holds the current key and the two before it; the
 * current key is replaced every tls-ticket-key-rotation, so a ticket
 * resumes for up to three rotation periods, and a ticket under an older
 * key (not the current one) is renewed on use.
 */
#ifndef TLS_TLS_H
#define TLS_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What the listener speaks inside TLS (its ALPN, RFC 7301). */
enum tls_alpn {
	TLS_ALPN_DOT = 1, /* "dot"; clients that send no ALPN are served */
	TLS_ALPN_H2,      /* "h2": DNS over HTTPS on HTTP/2 */
};

struct tls_server_params {
	const char *cert;    /* PEM: the certificate, then its chain */
	const char *key;     /* PEM private key */
	int min_version;     /* TLS1_2_VERSION or TLS1_3_VERSION */
	const char *ciphers; /* TLS <= 1.2 cipher list; NULL: OpenSSL's */
	uint32_t ticket_lifetime_s; /* the lifetime hint in tickets */
};

/*
 * A server context for p, speaking alpn; NULL with the reason in err
 * (certificate or key unreadable, not matching, bad cipher list).
 */
SSL_CTX *tls_server_ctx_new(const struct tls_server_params *p,
                            enum tls_alpn alpn, char *err, size_t cap);
/*
 * A client context that verifies servers against ca_file (a PEM bundle)
 * or, when NULL, the system store (OpenSSL's default paths); NULL with
 * the reason in err. Each connection names what to verify with
 * tls_client_expect().
 */
SSL_CTX *tls_client_ctx_new(const char *ca_file, char *err, size_t cap);
/*
 * ssl (a client) must present a certificate for name: a host name (a DNS
 * SAN, RFC 6125) or an IP address (an IP SAN). Also sets SNI for a host
 * name. 0, or -1 when OpenSSL refuses the name.
 */
int tls_client_expect(SSL *ssl, const char *name);

/* The outcome of tls_check_pair(). */
enum tls_check {
	TLS_CHECK_OK = 1,
	TLS_CHECK_EXPIRES_SOON, /* valid, but for less than 30 days */
	TLS_CHECK_NOT_YET_VALID,
	TLS_CHECK_EXPIRED,
	TLS_CHECK_BAD, /* unreadable, not PEM, or key and certificate differ */
};

/* Days left before a certificate expires that `-t` warns about. */
#define TLS_EXPIRY_WARN_DAYS 30

/*
 * `dnsgate -t`: is cert a readable PEM chain whose first certificate
 * matches key, and valid now (and for TLS_EXPIRY_WARN_DAYS more)?
 * err gets the reason or, for TLS_CHECK_EXPIRES_SOON, the date.
 */
enum tls_check tls_check_pair(const char *cert, const char *key, time_t now,
                              char *err, size_t cap);
/* A readable PEM bundle with at least one certificate: 0, or -1. */
int tls_check_ca(const char *ca_file, char *err, size_t cap);

/*
 * The ticket keys' rotation period (seconds; at start, before any
 * context exists). The default is 12 hours.
 */
void tls_tickets_configure(uint32_t rotation_s);
/* The keys' generation: bumped at each rotation (metrics, tests). */
unsigned long tls_tickets_generation(void);

/* OpenSSL's error queue as one line (emptied), or "unknown error". */
void tls_error_text(char *buf, size_t cap);

#endif
