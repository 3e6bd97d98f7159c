/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/views/test_forward.c — a view's forward-zones: the longest
 * suffix wins, label by label (corp.example is not a suffix of
 * xcorp.example), ignoring case; the root takes the rest; many zones;
 * the line syntax and its errors (duplicates name the first line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/name.h"
#include "views/forward.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Add "SUFFIX GROUP" lines, numbered from 1; each must be valid. */
static void
build(struct forward_zones *fz, const char *const *lines, size_t n)
{
	char err[256];

	for (size_t i = 0; i < n; i++) {
		err[0] = '\0';
		if (forward_add(fz, lines[i], (int)i + 1, err, sizeof(err)) !=
		    0)
			print_error("'%s': %s\n", lines[i], err);
		assert_string_equal(err, "");
	}
	assert_int_equal(fz->n, n);
}

/* The group of the zone find() gives qname, or NULL. */
static const char *
group_of(const struct forward_zones *fz, const char *qname)
{
	uint8_t name[DNS_NAME_MAX];
	const struct forward_zone *z;

	assert_int_not_equal(dns_name_from_text(qname, NULL, name), 0);
	z = forward_find(fz, name);
	return z != NULL ? z->group_name : NULL;
}

static void
assert_group(const struct forward_zones *fz, const char *qname,
             const char *want)
{
	const char *got = group_of(fz, qname);

	if (want == NULL) {
		if (got != NULL)
			print_error("%s: got %s, want none\n", qname, got);
		assert_null(got);
		return;
	}
	if (got == NULL || strcmp(got, want) != 0)
		print_error("%s: got %s, want %s\n", qname,
		            got != NULL ? got : "none", want);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void
test_forward_longest_suffix_wins(void **state)
{
	static const char *const lines[] = {
	    "corp.example dc",
	    "sub.corp.example lab",
	    "10.in-addr.arpa dc",
	    "a.b.c.d.sub.corp.example deep",
	};
	struct forward_zones fz = {0};

	(void)state;
	build(&fz, lines, ARRAY_LEN(lines));
	assert_group(&fz, "corp.example.", "dc");
	assert_group(&fz, "www.corp.example.", "dc");
	assert_group(&fz, "sub.corp.example.", "lab");
	assert_group(&fz, "x.sub.corp.example.", "lab");
	assert_group(&fz, "b.c.d.sub.corp.example.", "lab");
	assert_group(&fz, "a.b.c.d.sub.corp.example.", "deep");
	assert_group(&fz, "z.a.b.c.d.sub.corp.example.", "deep");
	assert_group(&fz, "4.3.2.10.in-addr.arpa.", "dc");
	assert_group(&fz, "4.3.2.11.in-addr.arpa.", NULL);
	assert_group(&fz, "in-addr.arpa.", NULL);
	assert_group(&fz, "example.", NULL);
	assert_group(&fz, ".", NULL);
	forward_free(&fz);
	assert_int_equal(fz.n, 0);
}

/* Whole labels only: a suffix of the text is not a suffix of the name. */
static void
test_forward_label_boundaries(void **state)
{
	static const char *const lines[] = {"corp.example dc"};
	struct forward_zones fz = {0};

	(void)state;
	build(&fz, lines, ARRAY_LEN(lines));
	assert_group(&fz, "xcorp.example.", NULL);
	assert_group(&fz, "a.xcorp.example.", NULL);
	assert_group(&fz, "corp.example.net.", NULL);
	assert_group(&fz, "corp.examples.", NULL);
	assert_group(&fz, "orp.example.", NULL);
	/* A label holding a dot is one label, not two (RFC 4343 2.1). */
	assert_group(&fz, "a\\.corp.example.", NULL);
	assert_group(&fz, "x.a\\.corp.example.", NULL);
	assert_group(&fz, "a\\.b.corp.example.", "dc");
	forward_free(&fz);
}

/* ASCII case is ignored both in the lines and in the names asked. */
static void
test_forward_case_insensitive(void **state)
{
	static const char *const lines[] = {"Corp.EXAMPLE dc",
	                                    "lab.corp.example. lab"};
	struct forward_zones fz = {0};

	(void)state;
	build(&fz, lines, ARRAY_LEN(lines));
	assert_group(&fz, "corp.example.", "dc");
	assert_group(&fz, "WWW.CORP.EXAMPLE.", "dc");
	assert_group(&fz, "wWw.LaB.cOrP.eXaMpLe.", "lab");
	assert_string_equal(fz.zones[0].text, "corp.example");
	assert_string_equal(fz.zones[1].text, "lab.corp.example");
	/* Only ASCII folds: 0xc9 is not 0xe9. */
	forward_free(&fz);
	{
		static const char *const l2[] = {"\\201.example eu"};

		build(&fz, l2, ARRAY_LEN(l2));
		assert_group(&fz, "\\201.example.", "eu");
		assert_group(&fz, "\\233.example.", NULL);
	}
	forward_free(&fz);
}

/* The root is a suffix of every name: the default within the zones. */
static void
test_forward_root(void **state)
{
	static const char *const lines[] = {". inet", "corp.example dc"};
	struct forward_zones fz = {0};

	(void)state;
	build(&fz, lines, ARRAY_LEN(lines));
	assert_string_equal(fz.zones[0].text, ".");
	assert_int_equal(fz.zones[0].labels, 0);
	assert_group(&fz, ".", "inet");
	assert_group(&fz, "example.", "inet");
	assert_group(&fz, "xcorp.example.", "inet");
	assert_group(&fz, "corp.example.", "dc");
	assert_group(&fz, "a.corp.example.", "dc");
	forward_free(&fz);
}

/* No zones: nothing found, whatever the name. */
static void
test_forward_empty(void **state)
{
	struct forward_zones fz = {0};

	(void)state;
	assert_group(&fz, "corp.example.", NULL);
	assert_group(&fz, ".", NULL);
	forward_free(&fz);
}

/* A name of 127 labels, the most there can be, under a deep zone. */
static void
test_forward_deepest_names(void **state)
{
	char zone[300] = "", name[300] = "", line[320];
	const char *lines[1];
	struct forward_zones fz = {0};

	(void)state;
	/* 126 labels "a." then "b.": 127 labels, 254 bytes of wire. */
	for (int i = 0; i < 126; i++)
		strcat(name, "a.");
	strcat(name, "b.");
	/* The zone: the last 64 of them (63 "a." and "b."). */
	for (int i = 0; i < 63; i++)
		strcat(zone, "a.");
	strcat(zone, "b");
	snprintf(line, sizeof(line), "%s deep", zone);
	lines[0] = line;
	build(&fz, lines, 1);
	assert_int_equal(fz.zones[0].labels, 64);
	assert_int_equal(fz.max_labels, 64);
	assert_group(&fz, name, "deep");
	assert_group(&fz, "a.b.", NULL);
	forward_free(&fz);
}

/* Many zones (the table grows): each name finds its own zone. */
static void
test_forward_many_zones(void **state)
{
	struct forward_zones fz = {0};
	char line[64], name[64], group[16], err[128];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		snprintf(line, sizeof(line), "z%d.example g%d", i, i);
		assert_int_equal(
		    forward_add(&fz, line, i + 1, err, sizeof(err)), 0);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "host.z%d.example.", i);
		snprintf(group, sizeof(group), "g%d", i);
		assert_group(&fz, name, group);
	}
	assert_group(&fz, "z2000.example.", NULL);
	forward_free(&fz);
}

static void
test_forward_add_errors(void **state)
{
	static const struct {
		const char *line;
		const char *want;
	} cases[] = {
	    {"corp.example", "expected 'SUFFIX GROUP' (a domain and an "
	                     "[upstream NAME]), got 'corp.example'"},
	    {"", "expected 'SUFFIX GROUP' (a domain and an [upstream NAME]), "
	         "got ''"},
	    {"corp.example dc extra",
	     "expected 'SUFFIX GROUP' (a domain and an [upstream NAME]), got "
	     "'corp.example dc extra'"},
	    {"a..b dc", "bad suffix 'a..b' (empty label, label over 63 or "
	                "name over 255 bytes)"},
	    {"..  dc", "bad suffix '..' (empty label, label over 63 or name "
	               "over 255 bytes)"},
	    {"*.corp.example dc", "'*.corp.example': write the suffix without "
	                          "'*.' (a suffix covers every name under "
	                          "it)"},
	    {"x234567890123456789012345678901234567890123456789012345678901234"
	     ".example dc",
	     "bad suffix 'x2345678901234567890123456789012345678901234567890"
	     "1234567890' (empty label, label over 63 or name over 255 "
	     "bytes)"},
	};
	struct forward_zones fz = {0};
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		err[0] = '\0';
		assert_int_equal(
		    forward_add(&fz, cases[i].line, 1, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].want);
	}
	assert_int_equal(fz.n, 0);
	forward_free(&fz);
}

/* One suffix once per view, however it is spelled; the first line wins. */
static void
test_forward_duplicates(void **state)
{
	static const char *const again[] = {
	    "corp.example dc", "CORP.example. other", "\"corp.example\" dc"};
	struct forward_zones fz = {0};
	char err[256];

	(void)state;
	assert_int_equal(
	    forward_add(&fz, "corp.example dc", 7, err, sizeof(err)), 0);
	for (size_t i = 0; i < ARRAY_LEN(again); i++) {
		assert_int_equal(
		    forward_add(&fz, again[i], 9, err, sizeof(err)), -1);
		assert_string_equal(err, "corp.example is already forwarded "
		                         "to [upstream dc] on line 7");
	}
	assert_int_equal(fz.n, 1);
	assert_int_equal(fz.zones[0].line, 7);
	/* A parent or a child is another suffix. */
	assert_int_equal(forward_add(&fz, "example dc", 10, err, sizeof(err)),
	                 0);
	assert_int_equal(
	    forward_add(&fz, "a.corp.example dc", 11, err, sizeof(err)), 0);
	assert_int_equal(fz.n, 3);
	forward_free(&fz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forward_longest_suffix_wins),
	    cmocka_unit_test(test_forward_label_boundaries),
	    cmocka_unit_test(test_forward_case_insensitive),
	    cmocka_unit_test(test_forward_root),
	    cmocka_unit_test(test_forward_empty),
	    cmocka_unit_test(test_forward_deepest_names),
	    cmocka_unit_test(test_forward_many_zones),
	    cmocka_unit_test(test_forward_add_errors),
	    cmocka_unit_test(test_forward_duplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
