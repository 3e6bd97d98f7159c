/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/policy/test_listurl.c — lists named by URL: which values are
 * URLs, URL syntax and its errors, the list's name, plain-http warnings,
 * the cache paths (pinned: a new hash would orphan every copy), the .meta
 * file, and the refusal of markup and binary downloads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/listurl.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void
test_listurl_is(void **state)
{
	(void)state;
	assert_true(list_url_is("https://example.net/a.txt"));
	assert_true(list_url_is("http://10.0.0.1/a.txt"));
	assert_true(list_url_is("rpz:https://example.net/zone"));
	assert_true(list_url_is("hosts:HTTP://example.net/hosts"));
	/* Other schemes are URLs too: rejected by list_url_parse, not read
	 * as a file named "file:". */
	assert_true(list_url_is("file:///etc/hosts"));
	assert_false(list_url_is("/etc/dnsgate/ads.txt"));
	assert_false(list_url_is("lists/ads.txt"));
	assert_false(list_url_is("rpz:lists/policy.rpz"));
	assert_false(list_url_is("http:/one-slash"));
	/* Letters up to the end and nothing more: the scan stops at the NUL
	 * (ASan caught it reading past a strdup'ed "adsfile.txt"). */
	{
		char *heap = strdup("adslist");

		assert_non_null(heap);
		assert_false(list_url_is(heap));
		free(heap);
	}
	assert_false(list_url_is(""));
	assert_string_equal(list_url_of("rpz:https://x/z"), "https://x/z");
	assert_string_equal(list_url_of("https://x/z"), "https://x/z");
}

static void
test_listurl_parse_good(void **state)
{
	static const struct {
		const char *value;
		bool https;
		const char *host;
		uint16_t port;
		const char *name;
		enum blocklist_format format;
	} cases[] = {
	    {"https://lists.example.net/ads/hosts.txt", true,
	     "lists.example.net", 443, "hosts.txt", BLOCKLIST_AUTO},
	    {"http://10.1.2.3:8080/mirror/ads.txt?v=2", false, "10.1.2.3", 8080,
	     "ads.txt", BLOCKLIST_AUTO},
	    {"rpz:https://[2001:db8::1]/policy.rpz", true, "2001:db8::1", 443,
	     "policy.rpz", BLOCKLIST_RPZ},
	    {"hosts:HTTPS://example.net", true, "example.net", 443,
	     "example.net", BLOCKLIST_HOSTS},
	    /* A trailing slash: the host names the list. */
	    {"domains:http://example.net:81/", false, "example.net", 81,
	     "example.net", BLOCKLIST_DOMAINS},
	    /* Bytes outside A-Z a-z 0-9 . - _ become '_'; no leading dot. */
	    {"https://example.net/l%C3%A4nder+x/.hidden", true, "example.net",
	     443, "_hidden", BLOCKLIST_AUTO},
	    {"https://example.net/a%20b.txt", true, "example.net", 443,
	     "a_20b.txt", BLOCKLIST_AUTO},
	};
	struct list_url u;
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		if (list_url_parse(cases[i].value, &u, &why) < 0)
			fail_msg("%s: %s", cases[i].value, why);
		assert_int_equal(u.https, cases[i].https);
		assert_string_equal(u.host, cases[i].host);
		assert_int_equal(u.port, cases[i].port);
		assert_string_equal(u.name, cases[i].name);
		assert_int_equal(u.format, cases[i].format);
	}
}

static void
test_listurl_parse_errors(void **state)
{
	static const struct {
		const char *value;
		const char *why; /* a part of the reason */
	} cases[] = {
	    {"ftp://example.net/a.txt", "only http:// and https://"},
	    {"file:///etc/hosts", "only http:// and https://"},
	    {"https://user:secret@example.net/a.txt", "user:password@"},
	    {"https://example.net/a.txt#top", "fragment"},
	    {"https://example.net:0/a", "bad port"},
	    {"https://example.net:65536/a", "bad port"},
	    {"https://example.net:8x/a", "bad port"},
	    {"https://example.net/a b", "blank"},
	    {"https://example.net/\xc3\xa4", "non-ASCII"},
	    {"https:///a.txt", "no host"},
	    {"https://[2001:db8::1/a", "IPv6"},
	    {"https://[10.0.0.1]/a", "IPv6"},
	    {"https://exa*mple.net/a", "bad character"},
	};
	struct list_url u;
	const char *why;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		why = NULL;
		if (list_url_parse(cases[i].value, &u, &why) == 0)
			fail_msg("%s: accepted", cases[i].value);
		assert_non_null(why);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("%s: '%s', want '%s'", cases[i].value, why,
			         cases[i].why);
	}
}

static void
test_listurl_parse_too_long(void **state)
{
	char value[LIST_URL_MAX + 64];
	struct list_url u;
	const char *why = NULL;

	(void)state;
	strcpy(value, "https://example.net/");
	memset(value + strlen(value), 'a', LIST_URL_MAX);
	value[LIST_URL_MAX + 1] = '\0';
	assert_int_equal(list_url_parse(value, &u, &why), -1);
	assert_non_null(strstr(why, "too long"));
}

static void
test_listurl_cleartext(void **state)
{
	static const struct {
		const char *value;
		bool cleartext;
	} cases[] = {
	    {"https://example.net/a", false},
	    {"http://127.0.0.1:8080/a", false},
	    {"http://localhost/a", false},
	    {"http://10.0.0.5/a", false},
	    {"http://192.168.1.1/a", false},
	    {"http://[::1]/a", false},
	    {"http://[fd00::5]/a", false},
	    {"http://example.net/a", true},
	    {"http://mirror.corp.example/a", true}, /* a name: unknown */
	    {"http://192.0.2.1/a", true},
	};
	struct list_url u;
	const char *why;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(list_url_parse(cases[i].value, &u, &why), 0);
		if (list_url_cleartext(&u) != cases[i].cleartext)
			fail_msg("%s", cases[i].value);
	}
}

/* The directory name is part of the on-disk format: pinned. */
static void
test_listurl_cache_paths(void **state)
{
	const char *v = "https://lists.example.net/ads/hosts.txt?v=2";
	const char *r = "rpz:https://lists.example.net/ads/hosts.txt?v=2";
	struct list_url u;
	const char *why;
	char buf[4096];

	(void)state;
	assert_int_equal(list_url_parse(v, &u, &why), 0);
	assert_int_equal(
	    list_url_dir("/var/lib/dnsgate/lists", v, &u, buf, sizeof(buf)), 0);
	assert_string_equal(
	    buf, "/var/lib/dnsgate/lists/lists.example.net-0b0e6c25bbe90017");
	assert_int_equal(list_url_copy_path("/c", v, &u, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/c/lists.example.net-0b0e6c25bbe90017/"
	                         "hosts.txt");
	/* The format prefix is part of the value: another copy, and the
	 * path keeps it for blocklist_load. */
	assert_int_equal(list_url_parse(r, &u, &why), 0);
	assert_int_equal(list_url_copy_path("/c", r, &u, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "rpz:/c/lists.example.net-8617aba23b3f4d29/"
	                         "hosts.txt");
	/* An IPv6 host, sanitized. */
	assert_int_equal(list_url_parse("https://[2001:db8::1]/a", &u, &why),
	                 0);
	assert_int_equal(
	    list_url_dir("/c", "https://[2001:db8::1]/a", &u, buf, sizeof(buf)),
	    0);
	assert_int_equal(strncmp(buf, "/c/2001_db8__1-", 15), 0);
	/* Too small a buffer is an error, not a cut path. */
	assert_int_equal(list_url_copy_path("/c", r, &u, buf, 20), -1);
}

static void
test_listurl_meta_round_trip(void **state)
{
	char dir[] = "/tmp/test_listurl.XXXXXX", path[256];
	struct list_meta m = {0}, got;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	errno = 0;
	assert_int_equal(list_meta_read(dir, &got), -1);
	assert_int_equal(errno, ENOENT);
	strcpy(m.value, "rpz:https://example.net/z.rpz");
	strcpy(m.etag, "W/\"5f3a 77\"");
	strcpy(m.last_modified, "Tue, 01 Dec 2026 10:00:00 GMT");
	m.checked = 1796000000;
	m.changed = 1795000000;
	m.bytes = 123456789;
	m.hash = 0xfedcba9876543210ull;
	assert_int_equal(list_meta_write(dir, &m), 0);
	assert_int_equal(list_meta_read(dir, &got), 0);
	assert_string_equal(got.value, m.value);
	assert_string_equal(got.etag, m.etag);
	assert_string_equal(got.last_modified, m.last_modified);
	assert_int_equal(got.checked, m.checked);
	assert_int_equal(got.changed, m.changed);
	assert_int_equal(got.bytes, m.bytes);
	assert_true(got.hash == m.hash);
	/* Not a meta file. */
	snprintf(path, sizeof(path), "%s/.meta", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("<html>\n", f);
	fclose(f);
	errno = 0;
	assert_int_equal(list_meta_read(dir, &got), -1);
	assert_int_equal(errno, EINVAL);
	unlink(path);
	rmdir(dir);
}

static void
test_listurl_content_refused(void **state)
{
	static const struct {
		const char *head;
		size_t len;
		bool refused;
	} cases[] = {
	    {"ads.example.com\n", 16, false},
	    {"0.0.0.0 ads.example.com\n", 24, false},
	    {"$ORIGIN rpz.\n", 13, false},
	    {"[Adblock Plus 2.0]\n||ads.example^\n", 34, false},
	    {"# comment\n<not markup at the start>\n", 36, false},
	    {"<!DOCTYPE html>\n", 16, true},
	    {"\xef\xbb\xbf  \r\n<html>", 11, true},
	    {"ads.example.com\n\0\0\0", 19, true},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *why = list_content_refused(
		    (const uint8_t *)cases[i].head, cases[i].len);

		if ((why != NULL) != cases[i].refused)
			fail_msg("case %zu: %s", i, why ? why : "accepted");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listurl_is),
	    cmocka_unit_test(test_listurl_parse_good),
	    cmocka_unit_test(test_listurl_parse_errors),
	    cmocka_unit_test(test_listurl_parse_too_long),
	    cmocka_unit_test(test_listurl_cleartext),
	    cmocka_unit_test(test_listurl_cache_paths),
	    cmocka_unit_test(test_listurl_meta_round_trip),
	    cmocka_unit_test(test_listurl_content_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
