/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/testcert.c — test keys and certificates (testcert.h).
 */
#include "tests/unit/testcert.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

EVP_PKEY *
testcert_key_new(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* One extension in openssl-x509v3(5) syntax ("critical,CA:TRUE"). */
static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

X509 *
testcert_new(EVP_PKEY *key, const struct testcert_spec *s)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509 *issuer = s->issuer != NULL ? s->issuer : x;
	EVP_PKEY *signer = s->issuer != NULL ? s->issuer_key : key;
	X509_NAME *name;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++),
	                 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), s->not_before));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), s->not_after));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)s->cn, -1, -1, 0),
	    1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer)),
	                 1);
	if (s->ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage,
		        "critical,keyCertSign,cRLSign");
	}
	if (s->san != NULL)
		add_ext(x, issuer, NID_subject_alt_name, s->san);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	return x;
}

void
testcert_write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

void
testcert_write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(
	    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
}

void
testcert_write_pair(const char *cert_path, const char *key_path,
                    const char *san, time_t not_before, time_t not_after)
{
	EVP_PKEY *k = testcert_key_new();
	struct testcert_spec s = {
	    .cn = "dnsgate test",
	    .san = san,
	    .not_before = not_before,
	    .not_after = not_after,
	};
	X509 *x = testcert_new(k, &s);

	testcert_write_cert(cert_path, x);
	testcert_write_key(key_path, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

void
testcert_dir_make(char *dir, size_t cap, const char *prefix)
{
	int n = snprintf(dir, cap, "/tmp/dnsgate-%s-XXXXXX", prefix);

	assert_true(n > 0 && (size_t)n < cap);
	assert_non_null(mkdtemp(dir));
}

void
testcert_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		assert_int_equal(
		    unlink(testcert_path(path, sizeof(path), dir, e->d_name)),
		    0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

char *
testcert_path(char *buf, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < cap);
	return buf;
}
