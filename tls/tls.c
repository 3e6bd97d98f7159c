/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tls/tls.c — TLS contexts, certificate checks, shared ticket keys
 * (tls.h).
 */
#include "tls/tls.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dns/addr.h"

void
tls_error_text(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	unsigned long last = e;

	/* The last error on the queue is the most specific one. */
	while (e != 0) {
		last = e;
		e = ERR_get_error();
	}
	if (last == 0)
		snprintf(buf, cap, "unknown error");
	else
		ERR_error_string_n(last, buf, cap);
}

/* ---- session ticket keys ---- */

struct ticket_key {
	uint8_t name[16];
	uint8_t aes[32];  /* AES-256-CBC */
	uint8_t hmac[32]; /* HMAC-SHA256 */
	bool valid;
};

#define TICKET_KEYS 3

static struct {
	pthread_rwlock_t lock;
	struct ticket_key keys[TICKET_KEYS]; /* [0] is the current one */
	time_t rotated;                      /* monotonic seconds */
	uint32_t rotation_s;
	unsigned long generation;
} tickets = {
    .lock = PTHREAD_RWLOCK_INITIALIZER,
    .rotation_s = 12 * 3600,
};

static time_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
tls_tickets_configure(uint32_t rotation_s)
{
	pthread_rwlock_wrlock(&tickets.lock);
	tickets.rotation_s = rotation_s > 0 ? rotation_s : 1;
	pthread_rwlock_unlock(&tickets.lock);
}

unsigned long
tls_tickets_generation(void)
{
	unsigned long g;

	pthread_rwlock_rdlock(&tickets.lock);
	g = tickets.generation;
	pthread_rwlock_unlock(&tickets.lock);
	return g;
}

/* Under the write lock: a new current key, the oldest one forgotten. */
static int
tickets_rotate(time_t now)
{
	struct ticket_key k = {.valid = true};

	if (RAND_bytes(k.name, sizeof(k.name)) != 1 ||
	    RAND_bytes(k.aes, sizeof(k.aes)) != 1 ||
	    RAND_bytes(k.hmac, sizeof(k.hmac)) != 1)
		return -1;
	memmove(&tickets.keys[1], &tickets.keys[0],
	        (TICKET_KEYS - 1) * sizeof(tickets.keys[0]));
	tickets.keys[0] = k;
	OPENSSL_cleanse(&k, sizeof(k));
	tickets.rotated = now;
	tickets.generation++;
	return 0;
}

/* Rotate when the current key is due (or there is none yet). */
static void
tickets_maybe_rotate(void)
{
	time_t now = mono_s();
	bool due;

	pthread_rwlock_rdlock(&tickets.lock);
	due = !tickets.keys[0].valid ||
	      now - tickets.rotated >= (time_t)tickets.rotation_s;
	pthread_rwlock_unlock(&tickets.lock);
	if (!due)
		return;
	pthread_rwlock_wrlock(&tickets.lock);
	/* Another thread may have done it meanwhile. */
	if (!tickets.keys[0].valid ||
	    now - tickets.rotated >= (time_t)tickets.rotation_s)
		(void)tickets_rotate(now);
	pthread_rwlock_unlock(&tickets.lock);
}

static int
ticket_mac_init(EVP_MAC_CTX *hctx, const struct ticket_key *k)
{
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	                                      (void *)k->hmac, sizeof(k->hmac)),
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                     (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/*
 * SSL_CTX_set_tlsext_ticket_key_evp_cb(3): encrypt a new ticket under the
 * current key; decrypt one under any key of the ring (2: it resumes, and
 * the client gets a new ticket under the current key), or refuse one we
 * no longer know (0: a full handshake).
 */
static int
ticket_key_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
              EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	int rc = 0;

	(void)ssl;
	tickets_maybe_rotate();
	pthread_rwlock_rdlock(&tickets.lock);
	if (enc) {
		const struct ticket_key *k = &tickets.keys[0];

		if (!k->valid ||
		    RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_256_cbc())) !=
		        1 ||
		    EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		                       iv) != 1 ||
		    ticket_mac_init(hctx, k) < 0) {
			rc = -1;
		} else {
			memcpy(name, k->name, sizeof(k->name));
			rc = 1;
		}
		goto out;
	}
	for (int i = 0; i < TICKET_KEYS; i++) {
		const struct ticket_key *k = &tickets.keys[i];

		if (!k->valid || memcmp(name, k->name, sizeof(k->name)) != 0)
			continue;
		if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		                       iv) != 1 ||
		    ticket_mac_init(hctx, k) < 0)
			rc = -1;
		else
			rc = i == 0 ? 1 : 2;
		break;
	}
out:
	pthread_rwlock_unlock(&tickets.lock);
	return rc;
}

/* ---- server contexts ---- */

/*
 * RFC 7301: pick our protocol from the client's list. DNS over TLS: "dot"
 * when offered; a client offering only other protocols, or none, is
 * served anyway (RFC 7858 predates the "dot" registration, and many
 * clients send no ALPN). HTTPS: "h2" or nothing — we speak no HTTP/1.
 */
static int
alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
               const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char dot[] = "\x03"
	                                   "dot";
	static const unsigned char h2[] = "\x02"
	                                  "h2";
	enum tls_alpn alpn = (enum tls_alpn)(intptr_t)arg;
	const unsigned char *want = alpn == TLS_ALPN_H2 ? h2 : dot;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, want, want[0] + 1u, in,
	                          inlen) == OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	return alpn == TLS_ALPN_H2 ? SSL_TLSEXT_ERR_ALERT_FATAL
	                           : SSL_TLSEXT_ERR_NOACK;
}

/*
 * SSL_CTX_use_PrivateKey_file(3) checks the key against the certificate
 * already loaded and refuses one that does not match: that failure is
 * the mismatch SSL_CTX_check_private_key() then reports, not a key we
 * could not read.
 */
static bool
key_mismatch(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_X509 &&
	       (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
	        ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
}

SSL_CTX *
tls_server_ctx_new(const struct tls_server_params *p, enum tls_alpn alpn,
                   char *err, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[256];

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, p->min_version);
	/* Renegotiation buys nothing here and has a long CVE history. A
	 * client that shuts its side of the TCP connection down without a
	 * close_notify (RFC 8446 6.1 wants one) still gets the answers in
	 * flight, as over plain TCP. */
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	             SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Writes go out as the socket takes them; the caller keeps the
	 * rest of a write, possibly elsewhere in memory. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read what the socket has, not a record header and then its body:
	 * half the read(2) calls; SSL_has_pending() sees what is held. */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (p->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, p->ciphers) != 1) {
		snprintf(err, cap, "tls-ciphers: no cipher in '%s' is known",
		         p->ciphers);
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	/* The system's reason for a file that cannot be read, rather than
	 * OpenSSL's "system lib". */
	if (access(p->cert, R_OK) < 0 || access(p->key, R_OK) < 0) {
		bool cert = access(p->cert, R_OK) < 0;

		snprintf(err, cap, "%s %s: %s",
		         cert ? "tls-certificate" : "tls-key",
		         cert ? p->cert : p->key, strerror(errno));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1) {
		tls_error_text(why, sizeof(why));
		snprintf(err, cap, "tls-certificate %s: %s", p->cert, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, p->key, SSL_FILETYPE_PEM) != 1 &&
	    !key_mismatch()) {
		tls_error_text(why, sizeof(why));
		snprintf(err, cap, "tls-key %s: %s", p->key, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, cap,
		         "tls-key %s does not match the certificate %s", p->key,
		         p->cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Stateless resumption only: tickets resume on any worker; a
	 * per-context session cache would not. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(ctx, p->ticket_lifetime_s);
	SSL_CTX_set_num_tickets(ctx, 1);
	tickets_maybe_rotate();
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, (void *)(intptr_t)alpn);
	return ctx;
fail:
	tls_error_text(why, sizeof(why));
	snprintf(err, cap, "TLS context: %s", why);
	return NULL;
}

/* ---- client contexts ---- */

SSL_CTX *
tls_client_ctx_new(const char *ca_file, char *err, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[256];
	int ok;

	if (ctx == NULL) {
		tls_error_text(why, sizeof(why));
		snprintf(err, cap, "TLS context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx,
	                    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* RFC 8310 strict profile: no answer from a server we cannot
	 * authenticate. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ok = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
	                     : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		tls_error_text(why, sizeof(why));
		snprintf(err, cap, "tls-ca %s: %s",
		         ca_file != NULL ? ca_file : "(system store)", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Resume with the server's tickets (the caller stores sessions). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	                                        SSL_SESS_CACHE_NO_INTERNAL);
	return ctx;
}

int
tls_client_expect(SSL *ssl, const char *name)
{
	struct ip_addr a;

	if (ip_addr_parse(name, &a) == 0) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1 ? 0 : -1;
	}
	if (SSL_set_tlsext_host_name(ssl, name) != 1 ||
	    SSL_set1_host(ssl, name) != 1)
		return -1;
	/* No partial wildcards ("f*.example"), as RFC 6125 6.4.3 advises. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return 0;
}

/* ---- checks for -t ---- */

/* The certificate's notAfter as text ("Jan  2 03:04:05 2027 GMT"). */
static void
asn1_time_text(const ASN1_TIME *t, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	buf[0] = '\0';
	if (b == NULL)
		return;
	if (ASN1_TIME_print(b, t) == 1) {
		n = BIO_read(b, buf, (int)cap - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

enum tls_check
tls_check_pair(const char *cert, const char *key, time_t now, char *err,
               size_t cap)
{
	struct tls_server_params p = {
	    .cert = cert,
	    .key = key,
	    .min_version = TLS1_2_VERSION,
	    .ticket_lifetime_s = 1,
	};
	SSL_CTX *ctx = tls_server_ctx_new(&p, TLS_ALPN_DOT, err, cap);
	const X509 *x;
	char when[64];
	enum tls_check rc = TLS_CHECK_OK;
	time_t soon = now + TLS_EXPIRY_WARN_DAYS * 86400;

	if (ctx == NULL)
		return TLS_CHECK_BAD;
	x = SSL_CTX_get0_certificate(ctx);
	if (x == NULL) {
		snprintf(err, cap, "tls-certificate %s: no certificate", cert);
		rc = TLS_CHECK_BAD;
	} else if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
		asn1_time_text(X509_get0_notAfter(x), when, sizeof(when));
		snprintf(err, cap, "tls-certificate %s expired on %s", cert,
		         when);
		rc = TLS_CHECK_EXPIRED;
	} else if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0) {
		asn1_time_text(X509_get0_notBefore(x), when, sizeof(when));
		snprintf(err, cap, "tls-certificate %s is not valid before %s",
		         cert, when);
		rc = TLS_CHECK_NOT_YET_VALID;
	} else if (X509_cmp_time(X509_get0_notAfter(x), &soon) <= 0) {
		asn1_time_text(X509_get0_notAfter(x), when, sizeof(when));
		snprintf(err, cap, "tls-certificate %s expires on %s", cert,
		         when);
		rc = TLS_CHECK_EXPIRES_SOON;
	}
	SSL_CTX_free(ctx);
	return rc;
}

int
tls_check_ca(const char *ca_file, char *err, size_t cap)
{
	FILE *f = fopen(ca_file, "r");
	X509 *x;

	if (f == NULL) {
		snprintf(err, cap, "tls-ca %s: %s", ca_file, strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (x == NULL) {
		snprintf(err, cap, "tls-ca %s: no PEM certificate in it",
		         ca_file);
		return -1;
	}
	X509_free(x);
	return 0;
}
