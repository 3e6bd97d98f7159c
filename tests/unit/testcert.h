/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/testcert.h — keys and X.509 certificates made in memory for
 * the unit tests that need TLS material (OpenSSL 3), written as PEM files
 * in a scratch directory under /tmp. Every failure is a cmocka failure.
 * Linked into every unit test binary (Makefile, UNIT_LIB_OBJ).
 */
#ifndef TESTS_UNIT_TESTCERT_H
#define TESTS_UNIT_TESTCERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* A certificate to make: what it says and who signs it. */
struct testcert_spec {
	const char *cn;  /* subject and (self-signed) issuer CN */
	const char *san; /* subjectAltName, as "DNS:a.test,IP:127.0.0.1"; or
	                    NULL for none */
	time_t not_before, not_after;
	bool ca;              /* basicConstraints CA:TRUE, keyCertSign */
	X509 *issuer;         /* NULL: self-signed with the subject's key */
	EVP_PKEY *issuer_key; /* the issuer's key, when issuer is set */
};

/* A new EC P-256 key (fast to make, what servers use today). */
EVP_PKEY *testcert_key_new(void);
/* A version 3 certificate for key's public half, signed with SHA-256. */
X509 *testcert_new(EVP_PKEY *key, const struct testcert_spec *s);

/* PEM files (created or replaced). */
void testcert_write_cert(const char *path, X509 *x);
void testcert_write_key(const char *path, EVP_PKEY *key);
/* A self-signed pair for san, valid from not_before to not_after. */
void testcert_write_pair(const char *cert_path, const char *key_path,
                         const char *san, time_t not_before, time_t not_after);

/*
 * A new directory under /tmp ("/tmp/dnsgate-PREFIX-XXXXXX", in dir of
 * cap bytes), and its removal with the files in it (not subdirectories).
 */
void testcert_dir_make(char *dir, size_t cap, const char *prefix);
void testcert_dir_remove(const char *dir);
/* dir/name, in buf of cap bytes; returns buf. */
char *testcert_path(char *buf, size_t cap, const char *dir, const char *name);

#endif
