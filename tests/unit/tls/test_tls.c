/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/tls/test_tls.c — tls/tls.h: the certificate checks of
 * `dnsgate -t` (tls_check_pair with `now` given, tls_check_ca), the server
 * contexts (cipher list, minimum version, ALPN, RFC 7301), stateless
 * resumption with the process-wide ticket keys (across contexts, and
 * across key rotations), and the client's check of the server's name
 * (RFC 6125, RFC 8310 strict profile).
 *
 * Handshakes run in memory: a client SSL and a server SSL joined by a BIO
 * pair, each driven by SSL_do_handshake() until both are done. Keys and
 * certificates are made by tests/unit/testcert.c in a scratch directory
 * under /tmp, removed at the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tests/unit/testcert.h"
#include "tls/tls.h"

#define DAY (24 * 3600)

/* The files every test uses, made once (group_setup). */
static struct {
	char dir[64];
	char ca[128];      /* the CA's certificate */
	char cert[128];    /* leaf signed by the CA: DNS:dns.test */
	char key[128];     /* its key */
	char ip_cert[128]; /* leaf signed by the CA: DNS:dns.test, IP */
	char ip_key[128];
	char wild_cert[128]; /* DNS:*.dns.test and DNS:d*.example.test */
	char wild_key[128];
	char self_cert[128]; /* self-signed, DNS:dns.test: not from the CA */
	char self_key[128];
	char chain[128];  /* cert, then the CA's certificate */
	char other[128];  /* a key that matches no certificate */
	char rsa[128];    /* an RSA key, another type than the leaf's */
	char period[128]; /* self-signed, 2030-01-01 to 2030-12-31 12:00 */
	char period_key[128];
	char notpem[128]; /* text, no PEM in it */
	char missing[128];
} fx;

static time_t
utc(int year, int mon, int day, int hour)
{
	struct tm tm = {
	    .tm_year = year - 1900,
	    .tm_mon = mon - 1,
	    .tm_mday = day,
	    .tm_hour = hour,
	};

	return timegm(&tm);
}

/* A leaf for san signed by the CA, at name.pem and name.key. */
static void
make_leaf(X509 *ca, EVP_PKEY *ca_key, const char *san, const char *name,
          char *cert, char *key)
{
	char file[64];
	time_t now = time(NULL);
	EVP_PKEY *k = testcert_key_new();
	struct testcert_spec s = {
	    .cn = name,
	    .san = san,
	    .not_before = now - DAY,
	    .not_after = now + 365 * DAY,
	    .issuer = ca,
	    .issuer_key = ca_key,
	};
	X509 *x = testcert_new(k, &s);

	snprintf(file, sizeof(file), "%s.pem", name);
	testcert_write_cert(testcert_path(cert, 128, fx.dir, file), x);
	snprintf(file, sizeof(file), "%s.key", name);
	testcert_write_key(testcert_path(key, 128, fx.dir, file), k);
	X509_free(x);
	EVP_PKEY_free(k);
}

static int
group_setup(void **state)
{
	time_t now = time(NULL);
	EVP_PKEY *ca_key = testcert_key_new();
	struct testcert_spec ca_spec = {
	    .cn = "dnsgate test CA",
	    .not_before = now - DAY,
	    .not_after = now + 3650 * DAY,
	    .ca = true,
	};
	X509 *ca = testcert_new(ca_key, &ca_spec);
	EVP_PKEY *other = testcert_key_new();
	FILE *f;

	(void)state;
	testcert_dir_make(fx.dir, sizeof(fx.dir), "tls");
	testcert_write_cert(testcert_path(fx.ca, 128, fx.dir, "ca.pem"), ca);
	make_leaf(ca, ca_key, "DNS:dns.test", "leaf", fx.cert, fx.key);
	make_leaf(ca, ca_key, "DNS:dns.test,IP:127.0.0.1", "ipleaf", fx.ip_cert,
	          fx.ip_key);
	make_leaf(ca, ca_key, "DNS:*.dns.test,DNS:d*.example.test", "wild",
	          fx.wild_cert, fx.wild_key);
	testcert_write_pair(
	    testcert_path(fx.self_cert, 128, fx.dir, "self.pem"),
	    testcert_path(fx.self_key, 128, fx.dir, "self.key"), "DNS:dns.test",
	    now - DAY, now + 365 * DAY);
	testcert_write_pair(
	    testcert_path(fx.period, 128, fx.dir, "period.pem"),
	    testcert_path(fx.period_key, 128, fx.dir, "period.key"),
	    "DNS:dns.test", utc(2030, 1, 1, 0), utc(2030, 12, 31, 12));
	/* The leaf and its chain in one file, as servers are configured. */
	testcert_path(fx.chain, 128, fx.dir, "chain.pem");
	f = fopen(fx.chain, "w");
	assert_non_null(f);
	{
		X509 *leaf;
		FILE *in = fopen(fx.cert, "r");

		assert_non_null(in);
		leaf = PEM_read_X509(in, NULL, NULL, NULL);
		assert_non_null(leaf);
		fclose(in);
		assert_int_equal(PEM_write_X509(f, leaf), 1);
		assert_int_equal(PEM_write_X509(f, ca), 1);
		X509_free(leaf);
	}
	assert_int_equal(fclose(f), 0);
	testcert_write_key(testcert_path(fx.other, 128, fx.dir, "other.key"),
	                   other);
	EVP_PKEY_free(other);
	other = EVP_RSA_gen(2048);
	assert_non_null(other);
	testcert_write_key(testcert_path(fx.rsa, 128, fx.dir, "rsa.key"),
	                   other);
	f = fopen(testcert_path(fx.notpem, 128, fx.dir, "notpem.txt"), "w");
	assert_non_null(f);
	fputs("this is not a certificate\n", f);
	assert_int_equal(fclose(f), 0);
	testcert_path(fx.missing, 128, fx.dir, "missing.pem");
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	testcert_dir_remove(fx.dir);
	return 0;
}

/* ---- tls_check_pair, tls_check_ca -------------------------------------- */

static void
assert_contains(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		print_error("'%s' does not contain '%s'\n", s, part);
	assert_non_null(strstr(s, part));
}

static void
test_tls_check_pair_ok(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(
	    tls_check_pair(fx.cert, fx.key, time(NULL), err, sizeof(err)),
	    TLS_CHECK_OK);
	/* A chain after the certificate: the first one is the server's. */
	assert_int_equal(
	    tls_check_pair(fx.chain, fx.key, time(NULL), err, sizeof(err)),
	    TLS_CHECK_OK);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_tls_check_pair_key_not_matching(void **state)
{
	char err[512] = "", want[512];

	(void)state;
	assert_int_equal(
	    tls_check_pair(fx.cert, fx.other, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	snprintf(want, sizeof(want),
	         "tls-key %s does not match the certificate %s", fx.other,
	         fx.cert);
	assert_string_equal(err, want);
	/* The chain's CA certificate is not the one checked. */
	assert_int_equal(
	    tls_check_pair(fx.chain, fx.ip_key, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	snprintf(want, sizeof(want),
	         "tls-key %s does not match the certificate %s", fx.ip_key,
	         fx.chain);
	assert_string_equal(err, want);
	/* A key of another type (RSA for an EC certificate). */
	assert_int_equal(
	    tls_check_pair(fx.cert, fx.rsa, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	snprintf(want, sizeof(want),
	         "tls-key %s does not match the certificate %s", fx.rsa,
	         fx.cert);
	assert_string_equal(err, want);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_tls_check_pair_unreadable_cert(void **state)
{
	char err[512] = "", want[256];

	(void)state;
	assert_int_equal(
	    tls_check_pair(fx.missing, fx.key, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	snprintf(want, sizeof(want), "tls-certificate %s: ", fx.missing);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_tls_check_pair_unreadable_key(void **state)
{
	char err[512] = "", want[256];

	(void)state;
	assert_int_equal(
	    tls_check_pair(fx.cert, fx.missing, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	snprintf(want, sizeof(want), "tls-key %s: ", fx.missing);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_tls_check_pair_not_pem(void **state)
{
	char err[512] = "", want[256];

	(void)state;
	assert_int_equal(
	    tls_check_pair(fx.notpem, fx.key, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	snprintf(want, sizeof(want), "tls-certificate %s: ", fx.notpem);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(
	    tls_check_pair(fx.cert, fx.notpem, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	snprintf(want, sizeof(want), "tls-key %s: ", fx.notpem);
	assert_memory_equal(err, want, strlen(want));
	/* A key where the certificate should be. */
	assert_int_equal(
	    tls_check_pair(fx.key, fx.key, time(NULL), err, sizeof(err)),
	    TLS_CHECK_BAD);
	assert_int_equal(ERR_peek_error(), 0);
}

/* period.pem: notBefore 2030-01-01 00:00, notAfter 2030-12-31 12:00. */
static void
test_tls_check_pair_expired(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(tls_check_pair(fx.period, fx.period_key,
	                                utc(2031, 1, 1, 0), err, sizeof(err)),
	                 TLS_CHECK_EXPIRED);
	assert_contains(err, "expired on Dec 31 12:00:00 2030 GMT");
	assert_contains(err, fx.period);
	/* The very second of notAfter is already too late. */
	assert_int_equal(tls_check_pair(fx.period, fx.period_key,
	                                utc(2030, 12, 31, 12), err,
	                                sizeof(err)),
	                 TLS_CHECK_EXPIRED);
}

static void
test_tls_check_pair_not_yet_valid(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(tls_check_pair(fx.period, fx.period_key,
	                                utc(2029, 12, 31, 23), err,
	                                sizeof(err)),
	                 TLS_CHECK_NOT_YET_VALID);
	assert_contains(err, "is not valid before Jan  1 00:00:00 2030 GMT");
	/* From notBefore on it is (and for more than 30 days). */
	assert_int_equal(tls_check_pair(fx.period, fx.period_key,
	                                utc(2030, 1, 1, 0), err, sizeof(err)),
	                 TLS_CHECK_OK);
}

static void
test_tls_check_pair_expires_soon(void **state)
{
	time_t end = utc(2030, 12, 31, 12);
	char err[512] = "";

	(void)state;
	assert_int_equal(tls_check_pair(fx.period, fx.period_key,
	                                utc(2030, 12, 15, 0), err, sizeof(err)),
	                 TLS_CHECK_EXPIRES_SOON);
	assert_contains(err, "expires on Dec 31 12:00:00 2030 GMT");
	/* TLS_EXPIRY_WARN_DAYS before the end: a warning; a second
	 * earlier: none. */
	assert_int_equal(tls_check_pair(fx.period, fx.period_key,
	                                end - TLS_EXPIRY_WARN_DAYS * DAY, err,
	                                sizeof(err)),
	                 TLS_CHECK_EXPIRES_SOON);
	assert_int_equal(tls_check_pair(fx.period, fx.period_key,
	                                end - TLS_EXPIRY_WARN_DAYS * DAY - 1,
	                                err, sizeof(err)),
	                 TLS_CHECK_OK);
	assert_int_equal(
	    tls_check_pair(fx.period, fx.period_key, end - 1, err, sizeof(err)),
	    TLS_CHECK_EXPIRES_SOON);
}

static void
test_tls_check_ca(void **state)
{
	char err[512] = "", want[512];

	(void)state;
	assert_int_equal(tls_check_ca(fx.ca, err, sizeof(err)), 0);
	/* A bundle of several. */
	assert_int_equal(tls_check_ca(fx.chain, err, sizeof(err)), 0);
	assert_int_equal(tls_check_ca(fx.missing, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "tls-ca %s: %s", fx.missing,
	         strerror(ENOENT));
	assert_string_equal(err, want);
	assert_int_equal(tls_check_ca(fx.notpem, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "tls-ca %s: no PEM certificate in it",
	         fx.notpem);
	assert_string_equal(err, want);
	/* A key is not a certificate. */
	assert_int_equal(tls_check_ca(fx.key, err, sizeof(err)), -1);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- server contexts ---------------------------------------------------- */

static SSL_CTX *
server_ctx(const char *cert, const char *key, enum tls_alpn alpn,
           int min_version)
{
	struct tls_server_params p = {
	    .cert = cert,
	    .key = key,
	    .min_version = min_version,
	    .ticket_lifetime_s = 3600,
	};
	char err[512] = "";
	SSL_CTX *ctx = tls_server_ctx_new(&p, alpn, err, sizeof(err));

	if (ctx == NULL)
		print_error("tls_server_ctx_new: %s\n", err);
	assert_non_null(ctx);
	return ctx;
}

static SSL_CTX *
dot_ctx(void)
{
	return server_ctx(fx.cert, fx.key, TLS_ALPN_DOT, TLS1_2_VERSION);
}

/* A client that checks nothing, up to max_version (0: any). */
static SSL_CTX *
plain_client(int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (max_version != 0)
		assert_int_equal(
		    SSL_CTX_set_max_proto_version(ctx, max_version), 1);
	return ctx;
}

static void
test_tls_server_ctx_bad_ciphers(void **state)
{
	struct tls_server_params p = {
	    .cert = fx.cert,
	    .key = fx.key,
	    .min_version = TLS1_2_VERSION,
	    .ciphers = "NO-SUCH-CIPHER:NOR-THIS",
	    .ticket_lifetime_s = 3600,
	};
	char err[512] = "";
	SSL_CTX *ctx;

	(void)state;
	assert_null(tls_server_ctx_new(&p, TLS_ALPN_DOT, err, sizeof(err)));
	assert_string_equal(
	    err,
	    "tls-ciphers: no cipher in 'NO-SUCH-CIPHER:NOR-THIS' is known");
	assert_int_equal(ERR_peek_error(), 0);
	/* A list OpenSSL knows. */
	p.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
	ctx = tls_server_ctx_new(&p, TLS_ALPN_DOT, err, sizeof(err));
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
}

static void
test_tls_server_ctx_errors_name_the_file(void **state)
{
	struct tls_server_params p = {
	    .cert = fx.missing,
	    .key = fx.key,
	    .min_version = TLS1_2_VERSION,
	    .ticket_lifetime_s = 3600,
	};
	char err[512] = "", want[256];

	(void)state;
	assert_null(tls_server_ctx_new(&p, TLS_ALPN_H2, err, sizeof(err)));
	snprintf(want, sizeof(want), "tls-certificate %s: ", fx.missing);
	assert_memory_equal(err, want, strlen(want));
	p.cert = fx.cert;
	p.key = fx.other;
	assert_null(tls_server_ctx_new(&p, TLS_ALPN_H2, err, sizeof(err)));
	assert_contains(err, "does not match the certificate");
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- handshakes in memory ----------------------------------------------- */

/* A client and a server joined by a BIO pair. */
struct conn {
	SSL *c, *s;
};

static void
conn_open(struct conn *k, SSL_CTX *client, SSL_CTX *server)
{
	BIO *cb, *sb;

	k->c = SSL_new(client);
	k->s = SSL_new(server);
	assert_non_null(k->c);
	assert_non_null(k->s);
	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	SSL_set_bio(k->c, cb, cb);
	SSL_set_bio(k->s, sb, sb);
	SSL_set_connect_state(k->c);
	SSL_set_accept_state(k->s);
}

/*
 * Close as a well-behaved peer does, with close_notify: a session whose
 * connection is freed without it is no longer resumable (SSL_free(3)).
 */
static void
conn_close(struct conn *k)
{
	if (SSL_is_init_finished(k->c) && SSL_is_init_finished(k->s)) {
		(void)SSL_shutdown(k->c);
		(void)SSL_shutdown(k->s);
	}
	ERR_clear_error();
	SSL_free(k->c);
	SSL_free(k->s);
}

/* One handshake step of one side: 1 done, 0 waiting, -1 failed. */
static int
conn_step(SSL *ssl)
{
	int rc = SSL_do_handshake(ssl);

	if (rc == 1)
		return 1;
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return -1;
	}
}

/* Both sides to the end of the handshake: 0, or -1 when one fails. */
static int
conn_handshake(struct conn *k)
{
	for (int i = 0; i < 32; i++) {
		int c = conn_step(k->c);
		int s = conn_step(k->s);

		if (c < 0 || s < 0) {
			ERR_clear_error();
			return -1;
		}
		if (c == 1 && s == 1)
			return 0;
	}
	fail_msg("the handshake does not end");
	return -1;
}

/*
 * The client's session to resume, once it has read what the server sent
 * after the handshake (the TLS 1.3 NewSessionTicket, RFC 8446 4.6.1).
 */
static SSL_SESSION *
conn_session(struct conn *k)
{
	SSL_SESSION *sess;
	char byte;
	int rc = SSL_read(k->c, &byte, 1);

	assert_true(rc <= 0);
	assert_int_equal(SSL_get_error(k->c, rc), SSL_ERROR_WANT_READ);
	sess = SSL_get1_session(k->c);
	assert_non_null(sess);
	assert_true(SSL_SESSION_is_resumable(sess));
	return sess;
}

/* The protocol the server chose ("" for none). */
static void
alpn_selected(const SSL *ssl, char *buf, size_t cap)
{
	const unsigned char *p;
	unsigned len;

	SSL_get0_alpn_selected(ssl, &p, &len);
	assert_true(len < cap);
	if (len > 0) /* p is NULL when nothing was chosen */
		memcpy(buf, p, len);
	buf[len] = '\0';
}

/*
 * A handshake of a client offering protos (ALPN wire format, NULL: no
 * ALPN) with a server of that alpn: 0 and what both sides agreed on in
 * got, or -1.
 */
static int
alpn_handshake(enum tls_alpn alpn, const char *protos, char *got, size_t cap)
{
	SSL_CTX *sctx = server_ctx(fx.cert, fx.key, alpn, TLS1_2_VERSION);
	SSL_CTX *cctx = plain_client(0);
	struct conn k;
	char server_side[64];
	int rc;

	conn_open(&k, cctx, sctx);
	if (protos != NULL)
		assert_int_equal(
		    SSL_set_alpn_protos(k.c, (const unsigned char *)protos,
		                        (unsigned)strlen(protos)),
		    0);
	rc = conn_handshake(&k);
	if (rc == 0) {
		alpn_selected(k.c, got, cap);
		alpn_selected(k.s, server_side, sizeof(server_side));
		assert_string_equal(got, server_side);
	}
	conn_close(&k);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return rc;
}

static void
test_tls_alpn_dot_selected(void **state)
{
	char got[64];

	(void)state;
	assert_int_equal(alpn_handshake(TLS_ALPN_DOT,
	                                "\x03"
	                                "dot",
	                                got, sizeof(got)),
	                 0);
	assert_string_equal(got, "dot");
	/* Among others, in any place. */
	assert_int_equal(alpn_handshake(TLS_ALPN_DOT,
	                                "\x02h2\x03"
	                                "dot\x08http/1.1",
	                                got, sizeof(got)),
	                 0);
	assert_string_equal(got, "dot");
}

/* RFC 7858 predates "dot": many clients send no ALPN. */
static void
test_tls_alpn_dot_without_alpn(void **state)
{
	char got[64];

	(void)state;
	assert_int_equal(alpn_handshake(TLS_ALPN_DOT, NULL, got, sizeof(got)),
	                 0);
	assert_string_equal(got, "");
}

/* A client offering only other protocols is served, without an ALPN
 * answer (SSL_TLSEXT_ERR_NOACK) rather than a fatal alert. */
static void
test_tls_alpn_dot_other_protocol_not_acked(void **state)
{
	char got[64];

	(void)state;
	assert_int_equal(
	    alpn_handshake(TLS_ALPN_DOT, "\x02h2", got, sizeof(got)), 0);
	assert_string_equal(got, "");
}

static void
test_tls_alpn_h2_selected(void **state)
{
	char got[64];

	(void)state;
	assert_int_equal(
	    alpn_handshake(TLS_ALPN_H2, "\x08http/1.1\x02h2", got, sizeof(got)),
	    0);
	assert_string_equal(got, "h2");
}

/* We speak no HTTP/1: a client that offers only that is refused
 * (RFC 7301 3.2, no_application_protocol). */
static void
test_tls_alpn_h2_refuses_http1(void **state)
{
	char got[64];

	(void)state;
	assert_int_equal(
	    alpn_handshake(TLS_ALPN_H2, "\x08http/1.1", got, sizeof(got)), -1);
	assert_int_equal(alpn_handshake(TLS_ALPN_H2,
	                                "\x03"
	                                "dot",
	                                got, sizeof(got)),
	                 -1);
}

/* No ALPN at all: the handshake is made (HTTP/2 with prior knowledge,
 * RFC 9113 3.3, is the client's business). */
static void
test_tls_alpn_h2_without_alpn(void **state)
{
	char got[64];

	(void)state;
	assert_int_equal(alpn_handshake(TLS_ALPN_H2, NULL, got, sizeof(got)),
	                 0);
	assert_string_equal(got, "");
}

static void
test_tls_server_ctx_min_version(void **state)
{
	SSL_CTX *sctx =
	    server_ctx(fx.cert, fx.key, TLS_ALPN_DOT, TLS1_3_VERSION);
	SSL_CTX *old = plain_client(TLS1_2_VERSION);
	SSL_CTX *any = plain_client(0);
	struct conn k;

	(void)state;
	assert_int_equal(SSL_CTX_get_min_proto_version(sctx), TLS1_3_VERSION);
	conn_open(&k, old, sctx);
	assert_int_equal(conn_handshake(&k), -1);
	conn_close(&k);
	conn_open(&k, any, sctx);
	assert_int_equal(conn_handshake(&k), 0);
	assert_int_equal(SSL_version(k.s), TLS1_3_VERSION);
	conn_close(&k);
	SSL_CTX_free(sctx);
	sctx = dot_ctx();
	assert_int_equal(SSL_CTX_get_min_proto_version(sctx), TLS1_2_VERSION);
	conn_open(&k, old, sctx);
	assert_int_equal(conn_handshake(&k), 0);
	assert_int_equal(SSL_version(k.s), TLS1_2_VERSION);
	conn_close(&k);
	SSL_CTX_free(sctx);
	SSL_CTX_free(any);
	SSL_CTX_free(old);
}

/* ---- resumption --------------------------------------------------------- */

/* A full handshake with server: the session the client got. */
static SSL_SESSION *
first_session(SSL_CTX *client, SSL_CTX *server, int version)
{
	struct conn k;
	SSL_SESSION *sess;

	conn_open(&k, client, server);
	assert_int_equal(conn_handshake(&k), 0);
	assert_int_equal(SSL_version(k.c), version);
	assert_false(SSL_session_reused(k.c));
	sess = conn_session(&k);
	conn_close(&k);
	return sess;
}

/* A handshake offering sess to server: did it resume (both sides)? */
static bool
resumes(SSL_CTX *client, SSL_CTX *server, SSL_SESSION *sess)
{
	struct conn k;
	bool reused;

	conn_open(&k, client, server);
	assert_int_equal(SSL_set_session(k.c, sess), 1);
	assert_int_equal(conn_handshake(&k), 0);
	reused = SSL_session_reused(k.c) == 1;
	assert_int_equal(SSL_session_reused(k.s), reused);
	conn_close(&k);
	return reused;
}

/*
 * A ticket from context A resumes on context B made from the same files:
 * the ticket keys are the process's, so it resumes on any worker, and
 * after a reload.
 */
static void
resume_across_contexts(int version)
{
	SSL_CTX *a = dot_ctx();
	SSL_CTX *b = dot_ctx();
	SSL_CTX *client = plain_client(version);
	SSL_SESSION *sess = first_session(client, a, version);

	assert_true(resumes(client, b, sess));
	assert_true(resumes(client, a, sess));
	/* Another protocol on the same keys: resumption is about keys. */
	SSL_CTX_free(b);
	b = server_ctx(fx.ip_cert, fx.ip_key, TLS_ALPN_H2, TLS1_2_VERSION);
	assert_true(resumes(client, b, sess));
	SSL_SESSION_free(sess);
	SSL_CTX_free(client);
	SSL_CTX_free(b);
	SSL_CTX_free(a);
}

static void
test_tls_resume_tls13_across_contexts(void **state)
{
	(void)state;
	resume_across_contexts(TLS1_3_VERSION);
}

static void
test_tls_resume_tls12_across_contexts(void **state)
{
	(void)state;
	resume_across_contexts(TLS1_2_VERSION);
}

/* Sleep until just after the next second of CLOCK_MONOTONIC, the clock
 * (in whole seconds) the ticket keys are rotated by. */
static void
wait_next_second(void)
{
	struct timespec now, t;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
	t.tv_sec = now.tv_sec + 1;
	t.tv_nsec = 20 * 1000 * 1000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) ==
	       EINTR)
		;
}

/*
 * With a rotation period of 1 s, every new second brings a new key at the
 * first use of the keys. Each step below starts just after a second
 * begins and ends well within it, so it sees exactly one rotation. A
 * ticket resumes while its key is in the ring (the current one and the
 * two before it), and no longer after the third rotation.
 */
static void
test_tls_tickets_rotation(void **state)
{
	SSL_CTX *server, *client = plain_client(TLS1_3_VERSION);
	SSL_SESSION *sess;
	unsigned long g;

	(void)state;
	tls_tickets_configure(1);
	wait_next_second();
	server = dot_ctx(); /* rotates: the key is from an earlier second */
	g = tls_tickets_generation();
	sess = first_session(client, server, TLS1_3_VERSION);
	assert_int_equal(tls_tickets_generation(), g);
	for (unsigned long i = 1; i <= 3; i++) {
		bool reused;

		wait_next_second();
		reused = resumes(client, server, sess);
		assert_int_equal(tls_tickets_generation(), g + i);
		if (reused != (i < 3))
			print_error("after %lu rotations: %s\n", i,
			            reused ? "resumed" : "full handshake");
		assert_int_equal(reused, i < 3);
	}
	tls_tickets_configure(12 * 3600);
	SSL_SESSION_free(sess);
	SSL_CTX_free(server);
	SSL_CTX_free(client);
}

/* ---- clients: the server's name ----------------------------------------- */

/*
 * A client of tls_client_ctx_new(fx.ca) expecting name, against a server
 * with cert and key: the handshake's outcome, and in *verify the client's
 * verification result; *sni gets the name the server saw ("" for none).
 */
static int
verify_handshake(const char *cert, const char *key, const char *name,
                 long *verify, char *sni, size_t cap)
{
	SSL_CTX *sctx = server_ctx(cert, key, TLS_ALPN_DOT, TLS1_2_VERSION);
	char err[512] = "";
	SSL_CTX *cctx = tls_client_ctx_new(fx.ca, err, sizeof(err));
	const char *seen;
	struct conn k;
	int rc;

	assert_non_null(cctx);
	conn_open(&k, cctx, sctx);
	assert_int_equal(tls_client_expect(k.c, name), 0);
	rc = conn_handshake(&k);
	*verify = SSL_get_verify_result(k.c);
	seen = SSL_get_servername(k.s, TLSEXT_NAMETYPE_host_name);
	snprintf(sni, cap, "%s", seen != NULL ? seen : "");
	conn_close(&k);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return rc;
}

static void
test_tls_client_verifies_host_name(void **state)
{
	char sni[256];
	long v;

	(void)state;
	assert_int_equal(
	    verify_handshake(fx.cert, fx.key, "dns.test", &v, sni, sizeof(sni)),
	    0);
	assert_int_equal(v, X509_V_OK);
	/* The name goes out as SNI too (RFC 6066 3). */
	assert_string_equal(sni, "dns.test");
	/* The server may send its chain. */
	assert_int_equal(verify_handshake(fx.chain, fx.key, "dns.test", &v, sni,
	                                  sizeof(sni)),
	                 0);
	assert_int_equal(v, X509_V_OK);
}

static void
test_tls_client_rejects_other_host_name(void **state)
{
	char sni[256];
	long v;

	(void)state;
	assert_int_equal(verify_handshake(fx.cert, fx.key, "wrong.test", &v,
	                                  sni, sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
	/* A parent or a child of the name is another name. */
	assert_int_equal(
	    verify_handshake(fx.cert, fx.key, "test", &v, sni, sizeof(sni)),
	    -1);
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(verify_handshake(fx.cert, fx.key, "a.dns.test", &v,
	                                  sni, sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
}

/* "*.dns.test" names one label; "d*.example.test" is a partial
 * wildcard, which RFC 6125 6.4.3 advises against: not accepted. */
static void
test_tls_client_wildcards(void **state)
{
	char sni[256];
	long v;

	(void)state;
	assert_int_equal(verify_handshake(fx.wild_cert, fx.wild_key,
	                                  "a.dns.test", &v, sni, sizeof(sni)),
	                 0);
	assert_int_equal(v, X509_V_OK);
	assert_int_equal(verify_handshake(fx.wild_cert, fx.wild_key,
	                                  "b.a.dns.test", &v, sni, sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(verify_handshake(fx.wild_cert, fx.wild_key, "dns.test",
	                                  &v, sni, sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(verify_handshake(fx.wild_cert, fx.wild_key,
	                                  "dx.example.test", &v, sni,
	                                  sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
}

/* An address is checked against the IP SANs (RFC 8310 8.1), not DNS
 * names, and sent as no SNI (RFC 6066 3: literal addresses are not
 * permitted). */
static void
test_tls_client_checks_ip_san(void **state)
{
	char sni[256];
	long v;

	(void)state;
	assert_int_equal(verify_handshake(fx.ip_cert, fx.ip_key, "127.0.0.1",
	                                  &v, sni, sizeof(sni)),
	                 0);
	assert_int_equal(v, X509_V_OK);
	assert_string_equal(sni, "");
	assert_int_equal(verify_handshake(fx.cert, fx.key, "127.0.0.1", &v, sni,
	                                  sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_IP_ADDRESS_MISMATCH);
	assert_int_equal(verify_handshake(fx.ip_cert, fx.ip_key, "127.0.0.2",
	                                  &v, sni, sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_IP_ADDRESS_MISMATCH);
	assert_int_equal(verify_handshake(fx.ip_cert, fx.ip_key, "::1", &v, sni,
	                                  sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_IP_ADDRESS_MISMATCH);
}

/* The right name from a CA the client does not trust. */
static void
test_tls_client_rejects_unknown_issuer(void **state)
{
	char sni[256];
	long v;

	(void)state;
	assert_int_equal(verify_handshake(fx.self_cert, fx.self_key, "dns.test",
	                                  &v, sni, sizeof(sni)),
	                 -1);
	assert_int_equal(v, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
}

static void
test_tls_client_ctx_bad_ca(void **state)
{
	char err[512] = "", want[256];
	SSL_CTX *ctx;
	SSL *ssl;

	(void)state;
	assert_null(tls_client_ctx_new(fx.missing, err, sizeof(err)));
	snprintf(want, sizeof(want), "tls-ca %s: ", fx.missing);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(ERR_peek_error(), 0);
	/* A name OpenSSL cannot send as SNI. */
	ctx = tls_client_ctx_new(fx.ca, err, sizeof(err));
	assert_non_null(ctx);
	ssl = SSL_new(ctx);
	assert_non_null(ssl);
	assert_int_equal(tls_client_expect(ssl, ""), -1);
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tls_check_pair_ok),
	    cmocka_unit_test(test_tls_check_pair_key_not_matching),
	    cmocka_unit_test(test_tls_check_pair_unreadable_cert),
	    cmocka_unit_test(test_tls_check_pair_unreadable_key),
	    cmocka_unit_test(test_tls_check_pair_not_pem),
	    cmocka_unit_test(test_tls_check_pair_expired),
	    cmocka_unit_test(test_tls_check_pair_not_yet_valid),
	    cmocka_unit_test(test_tls_check_pair_expires_soon),
	    cmocka_unit_test(test_tls_check_ca),
	    cmocka_unit_test(test_tls_server_ctx_bad_ciphers),
	    cmocka_unit_test(test_tls_server_ctx_errors_name_the_file),
	    cmocka_unit_test(test_tls_server_ctx_min_version),
	    cmocka_unit_test(test_tls_alpn_dot_selected),
	    cmocka_unit_test(test_tls_alpn_dot_without_alpn),
	    cmocka_unit_test(test_tls_alpn_dot_other_protocol_not_acked),
	    cmocka_unit_test(test_tls_alpn_h2_selected),
	    cmocka_unit_test(test_tls_alpn_h2_refuses_http1),
	    cmocka_unit_test(test_tls_alpn_h2_without_alpn),
	    cmocka_unit_test(test_tls_resume_tls13_across_contexts),
	    cmocka_unit_test(test_tls_resume_tls12_across_contexts),
	    cmocka_unit_test(test_tls_client_verifies_host_name),
	    cmocka_unit_test(test_tls_client_rejects_other_host_name),
	    cmocka_unit_test(test_tls_client_wildcards),
	    cmocka_unit_test(test_tls_client_checks_ip_san),
	    cmocka_unit_test(test_tls_client_rejects_unknown_issuer),
	    cmocka_unit_test(test_tls_client_ctx_bad_ca),
	    /* Last: it sleeps, and changes the rotation period meanwhile. */
	    cmocka_unit_test(test_tls_tickets_rotation),
	};

	return cmocka_run_group_tests_name("tls", tests, group_setup,
	                                   group_teardown);
}
