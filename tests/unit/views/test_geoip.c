/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/views/test_geoip.c — country and ASN lookups through
 * libmaxminddb (dnsgate.conf(5), [geoip]) against small databases that
 * tests/tools/make_mmdb.pl writes into a temporary directory. Without perl
 * or MaxMind::DB::Writer (Debian libmaxmind-db-writer-perl) the lookup
 * tests are skipped; the open-error tests run anyway.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "dns/addr.h"
#include "views/geoip.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PATH_LEN     512

/* The script, found next to this file: tests/tools/make_mmdb.pl. */
#define THIS_FILE_TAIL "unit/views/test_geoip.c"
#define SCRIPT_TAIL    "tools/make_mmdb.pl"

struct fixture {
	char dir[PATH_LEN];
	bool have_dbs; /* country.mmdb and asn.mmdb were written */
	char country[PATH_LEN + 16];
	char asn[PATH_LEN + 16];
};

static struct fixture fx;

static void
script_path(char *out, size_t cap)
{
	const char *file = __FILE__;
	size_t n = strlen(file), tail = strlen(THIS_FILE_TAIL);

	assert_true(n >= tail);
	assert_string_equal(file + n - tail, THIS_FILE_TAIL);
	snprintf(out, cap, "%.*s%s", (int)(n - tail), file, SCRIPT_TAIL);
}

static int
fixture_setup(void **state)
{
	char script[PATH_LEN], cmd[3 * PATH_LEN];

	(void)state;
	snprintf(fx.dir, sizeof fx.dir, "%s/dnsgate-geoip-XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.country, sizeof fx.country, "%s/country.mmdb", fx.dir);
	snprintf(fx.asn, sizeof fx.asn, "%s/asn.mmdb", fx.dir);
	if (system("perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null") != 0) {
		fprintf(stderr, "test_geoip: perl or MaxMind::DB::Writer "
		                "missing (Debian libmaxmind-db-writer-perl): "
		                "lookup tests skipped\n");
		return 0;
	}
	script_path(script, sizeof script);
	snprintf(cmd, sizeof cmd, "perl '%s' '%s'", script, fx.dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_geoip: %s failed\n", cmd);
		return -1;
	}
	fx.have_dbs = true;
	return 0;
}

/* Remove every file the tests wrote, then the directory. */
static int
fixture_teardown(void **state)
{
	static const char *const files[] = {
	    "country.mmdb", "asn.mmdb",  "garbage.mmdb",
	    "empty.mmdb",   "half.mmdb", "badtree.mmdb",
	};
	char path[2 * PATH_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(files); i++) {
		snprintf(path, sizeof path, "%s/%s", fx.dir, files[i]);
		(void)unlink(path);
	}
	return rmdir(fx.dir);
}

static struct geoip *
open_both(void)
{
	char err[256] = "";
	struct geoip *g;

	if (!fx.have_dbs)
		skip();
	g = geoip_open(fx.country, fx.asn, err, sizeof err);
	if (g == NULL)
		print_error("geoip_open: %s\n", err);
	assert_non_null(g);
	assert_true(geoip_has_country(g));
	assert_true(geoip_has_asn(g));
	return g;
}

static struct ip_addr
addr(const char *text)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	return a;
}

/* want NULL: no country. */
static void
assert_country(const struct geoip *g, const char *text, const char *want)
{
	struct ip_addr a = addr(text);
	char cc[3] = "??";
	bool found = geoip_country(g, &a, cc);

	if (found != (want != NULL))
		print_error("%s: got %s, want %s\n", text, found ? cc : "none",
		            want != NULL ? want : "none");
	assert_int_equal(found, want != NULL);
	if (want != NULL)
		assert_string_equal(cc, want);
}

/* want 0: no ASN. */
static void
assert_asn(const struct geoip *g, const char *text, uint32_t want)
{
	struct ip_addr a = addr(text);
	uint32_t asn = 0;
	bool found = geoip_asn(g, &a, &asn);

	if (found != (want != 0))
		print_error("%s: got %s AS%u, want AS%u\n", text,
		            found ? "" : "no", asn, want);
	assert_int_equal(found, want != 0);
	if (want != 0)
		assert_int_equal(asn, want);
}

/* ---- lookups ------------------------------------------------------------ */

static void
test_geoip_country_ipv4(void **state)
{
	struct geoip *g = open_both();

	(void)state;
	assert_country(g, "127.0.0.2", "DE");
	assert_country(g, "127.0.0.3", "FR");
	assert_country(g, "127.0.1.0", "US");
	assert_country(g, "127.0.1.255", "US");
	/* Only registered_country: the fallback. */
	assert_country(g, "127.0.0.4", "JP");
	/* Both: country wins. */
	assert_country(g, "127.0.0.5", "IT");
	/* Lower case in the data is upper-cased. */
	assert_country(g, "127.0.0.6", "SE");
	/* Codes that are not two letters, and a record without one. */
	assert_country(g, "127.0.0.7", NULL);
	assert_country(g, "127.0.0.8", NULL);
	assert_country(g, "127.0.0.9", NULL);
	/* Not in the database. */
	assert_country(g, "127.0.0.1", NULL);
	assert_country(g, "127.0.2.0", NULL);
	assert_country(g, "8.8.8.8", NULL);
	assert_country(g, "0.0.0.0", NULL);
	assert_country(g, "255.255.255.255", NULL);
	geoip_close(g);
}

static void
test_geoip_country_ipv6(void **state)
{
	struct geoip *g = open_both();
	struct ip_addr a;
	char cc[3];

	(void)state;
	assert_country(g, "2001:db8::", "NL");
	assert_country(g, "2001:db8::1", "NL");
	assert_country(g, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "NL");
	assert_country(g, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", NULL);
	assert_country(g, "2001:db9::", NULL);
	assert_country(g, "fd00:1::53", "AT");
	assert_country(g, "fd00:2::53", NULL);
	assert_country(g, "::1", NULL);
	/* The IPv4-mapped form reaches the IPv4 data (writer alias). */
	assert_country(g, "::ffff:127.0.0.3", "FR");
	/* So does a v4 address handed over as IPv6 bytes. */
	a = addr("127.0.0.2");
	a.v4 = false;
	assert_true(geoip_country(g, &a, cc));
	assert_string_equal(cc, "DE");
	geoip_close(g);
}

static void
test_geoip_asn(void **state)
{
	struct geoip *g = open_both();

	(void)state;
	assert_asn(g, "127.0.0.2", 64500);
	assert_asn(g, "127.0.1.7", 64501);
	assert_asn(g, "::ffff:127.0.1.8", 64501);
	/* 32-bit AS numbers (RFC 6793). */
	assert_asn(g, "2001:db8::5", 4200000000u);
	/* A record without the number. */
	assert_asn(g, "127.0.0.3", 0);
	/* In the country database only, and in neither. */
	assert_asn(g, "127.0.0.4", 0);
	assert_asn(g, "fd00:1::1", 0);
	assert_asn(g, "198.51.100.1", 0);
	geoip_close(g);
}

/* Each database answers only its own question. */
static void
test_geoip_one_database(void **state)
{
	struct ip_addr a = addr("127.0.0.2");
	char err[256] = "", cc[3];
	uint32_t asn;
	struct geoip *g;

	(void)state;
	if (!fx.have_dbs)
		skip();
	g = geoip_open(fx.country, NULL, err, sizeof err);
	assert_non_null(g);
	assert_true(geoip_has_country(g));
	assert_false(geoip_has_asn(g));
	assert_true(geoip_country(g, &a, cc));
	assert_false(geoip_asn(g, &a, &asn));
	geoip_close(g);

	g = geoip_open(NULL, fx.asn, err, sizeof err);
	assert_non_null(g);
	assert_false(geoip_has_country(g));
	assert_true(geoip_has_asn(g));
	assert_false(geoip_country(g, &a, cc));
	assert_true(geoip_asn(g, &a, &asn));
	assert_int_equal(asn, 64500);
	geoip_close(g);

	/* The ASN file given as the country database: no codes in it. */
	g = geoip_open(fx.asn, NULL, err, sizeof err);
	assert_non_null(g);
	assert_false(geoip_country(g, &a, cc));
	geoip_close(g);
}

static void
test_geoip_no_databases(void **state)
{
	struct ip_addr a = addr("127.0.0.2");
	char err[64] = "", cc[3];
	uint32_t asn;
	struct geoip *g;

	(void)state;
	g = geoip_open(NULL, NULL, err, sizeof err);
	assert_non_null(g);
	assert_false(geoip_has_country(g));
	assert_false(geoip_has_asn(g));
	assert_false(geoip_country(g, &a, cc));
	assert_false(geoip_asn(g, &a, &asn));
	assert_string_equal(err, "");
	geoip_close(g);
	/* A missing struct answers like an empty one. */
	assert_false(geoip_country(NULL, &a, cc));
	assert_false(geoip_asn(NULL, &a, &asn));
	assert_false(geoip_has_country(NULL));
	geoip_close(NULL);
}

/* ---- files that cannot be used ----------------------------------------- */

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_geoip_missing_file(void **state)
{
	char err[512] = "", path[2 * PATH_LEN];

	(void)state;
	snprintf(path, sizeof path, "%s/none.mmdb", fx.dir);
	assert_null(geoip_open(path, NULL, err, sizeof err));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	/* The ASN path is checked too, and named when it is the bad one. */
	err[0] = '\0';
	assert_null(geoip_open(NULL, "/nonexistent/asn.mmdb", err, sizeof err));
	assert_true(strncmp(err, "/nonexistent/asn.mmdb: ", 23) == 0);
	if (fx.have_dbs) {
		err[0] = '\0';
		assert_null(geoip_open(fx.country, "/nonexistent/asn.mmdb", err,
		                       sizeof err));
		assert_true(strncmp(err, "/nonexistent/asn.mmdb: ", 23) == 0);
	}
}

static void
test_geoip_corrupt_file(void **state)
{
	static const char garbage[] = "this is not a MaxMind DB, just text\n";
	char err[512], path[2 * PATH_LEN];

	(void)state;
	snprintf(path, sizeof path, "%s/garbage.mmdb", fx.dir);
	write_file(path, garbage, sizeof garbage - 1);
	err[0] = '\0';
	assert_null(geoip_open(path, NULL, err, sizeof err));
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_non_null(strstr(err, "invalid metadata"));

	snprintf(path, sizeof path, "%s/empty.mmdb", fx.dir);
	write_file(path, NULL, 0);
	err[0] = '\0';
	assert_null(geoip_open(NULL, path, err, sizeof err));
	assert_true(strncmp(err, path, strlen(path)) == 0);

	/* A directory is not a database either. */
	err[0] = '\0';
	assert_null(geoip_open(fx.dir, NULL, err, sizeof err));
	assert_true(strncmp(err, fx.dir, strlen(fx.dir)) == 0);
	assert_non_null(strstr(err, "not a regular file"));
}

static size_t
read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	assert_true(n < cap);
	assert_int_equal(fclose(f), 0);
	return n;
}

/*
 * A real database with its metadata cut off, and one whose search tree
 * was overwritten: the first is refused at open, the second opens (the
 * metadata is fine) but finds nothing, and neither crashes.
 */
static void
test_geoip_damaged_database(void **state)
{
	static uint8_t db[1 << 16];
	char err[512] = "", path[2 * PATH_LEN], cc[3];
	struct ip_addr a;
	struct geoip *g;
	size_t n, i;

	(void)state;
	if (!fx.have_dbs)
		skip();
	n = read_file(fx.country, db, sizeof db);
	snprintf(path, sizeof path, "%s/half.mmdb", fx.dir);
	write_file(path, db, n / 2);
	assert_null(geoip_open(path, NULL, err, sizeof err));
	assert_true(strncmp(err, path, strlen(path)) == 0);

	/* Node 0 and its neighbours (24-bit records, 6 bytes a node). */
	for (i = 0; i < 6 * 4 && i < n; i++)
		db[i] = 0xff;
	snprintf(path, sizeof path, "%s/badtree.mmdb", fx.dir);
	write_file(path, db, n);
	g = geoip_open(path, NULL, err, sizeof err);
	if (g == NULL)
		return; /* refused at open: as good */
	a = addr("2001:db8::1");
	assert_false(geoip_country(g, &a, cc));
	a = addr("127.0.0.2");
	(void)geoip_country(g, &a, cc); /* IPv4 may still be reachable */
	geoip_close(g);
}

/* A short err buffer gets a cut but terminated message. */
static void
test_geoip_error_buffer_small(void **state)
{
	char err[8];

	(void)state;
	memset(err, 'z', sizeof err);
	assert_null(
	    geoip_open("/nonexistent/country.mmdb", NULL, err, sizeof err));
	assert_string_equal(err, "/nonexi");
	assert_null(geoip_open("/nonexistent/country.mmdb", NULL, NULL, 0));
}

/* ---- sharing between threads -------------------------------------------- */

#define THREADS    4
#define ITERATIONS 5000

static void *
lookup_loop(void *arg)
{
	const struct geoip *g = arg;
	struct ip_addr de, nl, none;
	uintptr_t bad = 0;
	uint32_t asn;
	char cc[3];
	int i;

	/* No cmocka asserts here: they may only fail on the main thread. */
	if (ip_addr_parse("127.0.0.2", &de) != 0 ||
	    ip_addr_parse("2001:db8::7", &nl) != 0 ||
	    ip_addr_parse("192.0.2.1", &none) != 0)
		return (void *)1;
	for (i = 0; i < ITERATIONS; i++) {
		if (!geoip_country(g, &de, cc) || strcmp(cc, "DE") != 0)
			bad++;
		if (!geoip_country(g, &nl, cc) || strcmp(cc, "NL") != 0)
			bad++;
		if (geoip_country(g, &none, cc))
			bad++;
		if (!geoip_asn(g, &de, &asn) || asn != 64500)
			bad++;
	}
	return (void *)bad;
}

static void
test_geoip_shared_between_threads(void **state)
{
	struct geoip *g = open_both();
	pthread_t t[THREADS];
	void *bad;
	size_t i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, lookup_loop, g),
		                 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
	geoip_close(g);
}

/* ---- country codes from the configuration ------------------------------- */

static void
test_geoip_cc_parse(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		const char *want; /* NULL: invalid */
	} cases[] = {
	    {"DE", 2, "DE"},  {"de", 2, "DE"},  {"fR", 2, "FR"},
	    {"EU", 2, "EU"},  {"DEU", 2, "DE"}, /* length-delimited */
	    {"DEU", 3, NULL}, {"D", 1, NULL},   {"", 0, NULL},
	    {"D1", 2, NULL},  {"1D", 2, NULL},  {"D ", 2, NULL},
	    {" D", 2, NULL},  {"D-", 2, NULL},  {"\xc3\xa9", 2, NULL},
	    {"D\0", 2, NULL}, {"[Z", 2, NULL},  {"@A", 2, NULL},
	    {"`a", 2, NULL},  {"{z", 2, NULL},
	};
	char cc[3];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		memset(cc, 'x', sizeof cc);
		if (geoip_cc_parse(cases[i].text, cases[i].len, cc) !=
		    (cases[i].want != NULL))
			print_error("case %zu \"%s\"\n", i, cases[i].text);
		assert_int_equal(
		    geoip_cc_parse(cases[i].text, cases[i].len, cc),
		    cases[i].want != NULL);
		if (cases[i].want != NULL)
			assert_string_equal(cc, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_geoip_country_ipv4),
	    cmocka_unit_test(test_geoip_country_ipv6),
	    cmocka_unit_test(test_geoip_asn),
	    cmocka_unit_test(test_geoip_one_database),
	    cmocka_unit_test(test_geoip_no_databases),
	    cmocka_unit_test(test_geoip_missing_file),
	    cmocka_unit_test(test_geoip_corrupt_file),
	    cmocka_unit_test(test_geoip_damaged_database),
	    cmocka_unit_test(test_geoip_error_buffer_small),
	    cmocka_unit_test(test_geoip_shared_between_threads),
	    cmocka_unit_test(test_geoip_cc_parse),
	};

	return cmocka_run_group_tests_name("views geoip", tests, fixture_setup,
	                                   fixture_teardown);
}
