/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/views/test_localfile.c — local-zone-file (views/localfile.h):
 * a master file read from disk into a view's local data, served with
 * static semantics; one zone per line (local-zone or local-zone-file);
 * local-data merged into a file's zone; file errors (missing, not a
 * regular file, too large) and the file's own errors with their lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/msg.h"
#include "views/localfile.h"

#define MAX_ERRS 8

struct errs {
	unsigned line[MAX_ERRS];
	char msg[MAX_ERRS][320];
	size_t n;
};

struct fixture {
	char dir[64];
	char path[128];
	struct local_data ld;
	struct errs e;
	uint8_t zone[DNS_NAME_MAX];
};

static void
report(void *ctx, unsigned line, const char *msg)
{
	struct errs *e = ctx;

	if (e->n == MAX_ERRS)
		return;
	e->line[e->n] = line;
	snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	e->n++;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_localfile.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/corp.zone", f->dir);
	if (dns_name_from_text("corp.example.", NULL, f->zone) == 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	local_free(&f->ld);
	(void)unlink(f->path);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_file(const struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Add the file zone and load f->path into it: the error count. */
static long
load(struct fixture *f)
{
	char err[256];

	assert_int_equal(local_add_file_zone(&f->ld, f->zone, err, sizeof(err)),
	                 0);
	return local_file_load(&f->ld, f->zone, f->path, report, &f->e);
}

static enum local_result
lookup(const struct local_data *ld, const char *qname, uint16_t qtype,
       const struct local_zone **zone)
{
	uint8_t name[DNS_NAME_MAX];

	assert_int_not_equal(dns_name_from_text(qname, NULL, name), 0);
	return local_lookup(ld, name, qtype, zone);
}

static const char zone_text[] = "$TTL 300\n"
                                "@ SOA ns hostmaster 7 3600 600 86400 120\n"
                                "  NS ns\n"
                                "ns A 10.0.0.53\n"
                                "www A 10.0.0.10\n"
                                "alias CNAME www\n"
                                "host.a.b A 10.0.0.99\n";

static void
test_localfile_static_semantics(void **state)
{
	struct fixture *f = *state;
	const struct local_zone *z = NULL;

	write_file(f, zone_text);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->e.n, 0);
	assert_int_equal(local_finish(&f->ld), 0);
	assert_int_equal(lookup(&f->ld, "www.corp.example.", DNS_TYPE_A, &z),
	                 LOCAL_ANSWER);
	assert_non_null(z);
	assert_int_equal(z->type, LZ_STATIC);
	assert_true(z->file);
	assert_false(z->implicit);
	assert_int_equal(lookup(&f->ld, "alias.corp.example.", DNS_TYPE_A, &z),
	                 LOCAL_ANSWER);
	assert_int_equal(lookup(&f->ld, "www.corp.example.", DNS_TYPE_AAAA, &z),
	                 LOCAL_NODATA);
	/* An empty non-terminal exists (RFC 8020). */
	assert_int_equal(lookup(&f->ld, "b.corp.example.", DNS_TYPE_A, &z),
	                 LOCAL_NODATA);
	assert_int_equal(lookup(&f->ld, "nope.corp.example.", DNS_TYPE_A, &z),
	                 LOCAL_NXDOMAIN);
	assert_int_equal(lookup(&f->ld, "corp.example.", DNS_TYPE_SOA, &z),
	                 LOCAL_ANSWER);
	assert_int_equal(lookup(&f->ld, "example.", DNS_TYPE_A, &z),
	                 LOCAL_PASS);
}

static void
test_localfile_one_line_per_zone(void **state)
{
	struct fixture *f = *state;
	char err[256];

	assert_int_equal(
	    local_add_zone(&f->ld, "corp.example static", err, sizeof(err)), 0);
	assert_int_equal(local_add_file_zone(&f->ld, f->zone, err, sizeof(err)),
	                 -1);
	assert_string_equal(err,
	                    "'corp.example.' is already a local-zone of this "
	                    "view (a local-zone-file is a static zone of its "
	                    "own)");
	local_free(&f->ld);
	assert_int_equal(local_add_file_zone(&f->ld, f->zone, err, sizeof(err)),
	                 0);
	assert_int_equal(local_add_file_zone(&f->ld, f->zone, err, sizeof(err)),
	                 -1);
	assert_string_equal(
	    err, "'corp.example.' is already a local-zone-file of this view");
	assert_int_equal(
	    local_add_zone(&f->ld, "Corp.Example. nodata", err, sizeof(err)),
	    -1);
	assert_string_equal(
	    err, "'corp.example.' is already a local-zone-file of this view");
	/* A zone below it is another zone. */
	assert_int_equal(local_add_zone(&f->ld, "guest.corp.example refuse",
	                                err, sizeof(err)),
	                 0);
}

/* local-data at names of a file's zone adds to the file's records. */
static void
test_localfile_local_data_merges(void **state)
{
	struct fixture *f = *state;
	const struct local_zone *z = NULL;
	char err[256];

	write_file(f, zone_text);
	assert_int_equal(local_add_data(&f->ld,
	                                "extra.corp.example. 60 IN A 10.0.0.7",
	                                err, sizeof(err)),
	                 0);
	assert_int_equal(load(f), 0);
	assert_int_equal(
	    local_add_data(&f->ld, "www.corp.example. 60 IN AAAA 2001:db8::1",
	                   err, sizeof(err)),
	    0);
	/* The CNAME rule holds across the file and local-data. */
	assert_int_equal(local_add_data(&f->ld,
	                                "alias.corp.example. 60 IN A 10.0.0.8",
	                                err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "CNAME and other data at "
	                         "'alias.corp.example.' (RFC 1034 3.6.2)");
	/* The file has the zone's SOA: a second one is an error. */
	assert_int_equal(
	    local_add_data(&f->ld, "corp.example. 60 IN SOA a. b. 1 2 3 4 5",
	                   err, sizeof(err)),
	    -1);
	assert_string_equal(err,
	                    "more than one SOA at 'corp.example.' (RFC 1035 "
	                    "5.2)");
	assert_int_equal(local_finish(&f->ld), 0);
	assert_int_equal(lookup(&f->ld, "extra.corp.example.", DNS_TYPE_A, &z),
	                 LOCAL_ANSWER);
	assert_true(z->file);
	assert_int_equal(lookup(&f->ld, "www.corp.example.", DNS_TYPE_AAAA, &z),
	                 LOCAL_ANSWER);
}

/* A local-data SOA before the file: the file's SOA is the second. */
static void
test_localfile_soa_from_local_data_first(void **state)
{
	struct fixture *f = *state;
	char err[256];

	write_file(f, zone_text);
	assert_int_equal(
	    local_add_data(&f->ld, "corp.example. 60 IN SOA a. b. 1 2 3 4 5",
	                   err, sizeof(err)),
	    0);
	assert_int_equal(load(f), 1);
	assert_int_equal(f->e.n, 1);
	assert_int_equal(f->e.line[0], 2);
	assert_string_equal(f->e.msg[0],
	                    "more than one SOA at 'corp.example.' (RFC 1035 "
	                    "5.2)");
}

static void
test_localfile_errors_of_the_file(void **state)
{
	struct fixture *f = *state;

	write_file(f, "$TTL 300\n"
	              "@ SOA ns hostmaster 7 3600 600 86400 120\n"
	              "www A 10.0.0.10\n"
	              "www CNAME other\n"
	              "$INCLUDE x\n");
	assert_int_equal(load(f), 2);
	assert_int_equal(f->e.n, 2);
	assert_int_equal(f->e.line[0], 4);
	assert_string_equal(f->e.msg[0], "CNAME and other data at "
	                                 "'www.corp.example.' (RFC 1034 "
	                                 "3.6.2)");
	assert_int_equal(f->e.line[1], 5);
}

static void
test_localfile_missing_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f), 1);
	assert_int_equal(f->e.line[0], 0);
	assert_string_equal(f->e.msg[0], "No such file or directory");
}

static void
test_localfile_not_a_regular_file(void **state)
{
	struct fixture *f = *state;
	char err[256];

	assert_int_equal(local_add_file_zone(&f->ld, f->zone, err, sizeof(err)),
	                 0);
	assert_int_equal(
	    local_file_load(&f->ld, f->zone, f->dir, report, &f->e), 1);
	assert_int_equal(f->e.line[0], 0);
	assert_string_equal(f->e.msg[0], "not a regular file");
}

static void
test_localfile_too_large(void **state)
{
	struct fixture *f = *state;

	write_file(f, zone_text);
	/* Sparse: no disk is used, and the size is refused before reading. */
	assert_int_equal(truncate(f->path, LOCAL_FILE_SIZE_MAX + 1u), 0);
	assert_int_equal(load(f), 1);
	assert_int_equal(f->e.line[0], 0);
	assert_string_equal(f->e.msg[0], "larger than 128 MB, the limit of a "
	                                 "local-zone-file");
	/* Cut to 4 KiB, it is read: the zone, then zeros, which are NUL
	 * bytes, one error for their line. */
	f->e.n = 0;
	local_free(&f->ld);
	assert_int_equal(truncate(f->path, 4096), 0);
	assert_int_equal(load(f), 1);
	assert_int_equal(f->e.line[0], 8);
	assert_string_equal(f->e.msg[0], "NUL byte in the text");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_localfile_static_semantics,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_localfile_one_line_per_zone,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_localfile_local_data_merges,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_localfile_soa_from_local_data_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_localfile_errors_of_the_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_localfile_missing_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_localfile_not_a_regular_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_localfile_too_large, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
