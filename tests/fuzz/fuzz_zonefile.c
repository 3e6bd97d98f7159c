/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_zonefile.c — the master-file parser on hostile text.
 *
 * The input is the file (NUL bytes and all), read as the zone "example.".
 * Whatever it says, every record handed out must keep the promises of
 * dns/zonefile.h (inside the zone, no wildcard owner, an SOA only at the
 * apex and only once, a TTL of at most 31 bits, RDATA well formed for its
 * type), every error must have a message and a line inside the text, and
 * the count returned must be the number of errors reported. The records
 * then go into a view's local data, as a local-zone-file's do, which is
 * indexed, asked for a few names and freed (leaks are caught by libFuzzer).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/zonefile.h"
#include "views/local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t zone[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

struct seen {
	struct local_data ld;
	unsigned lines; /* in the input: newlines + 1 */
	long errors;
	unsigned soas;
	unsigned last_line;
};

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static int
on_record(void *ctx, struct dns_rr_text *rr, unsigned line, char *err,
          size_t errlen)
{
	struct seen *s = ctx;

	check(line >= 1 && line <= s->lines && line >= s->last_line);
	s->last_line = line;
	check(rr->owner_len == dns_name_len(rr->owner));
	check(dns_name_is_sub(rr->owner, zone));
	check(!(rr->owner[0] == 1 && rr->owner[1] == '*'));
	check(rr->ttl <= DNS_TTL_MAX);
	check(rr->rclass == DNS_CLASS_IN);
	check(dns_rdata_check(rr->type, rr->rdata, rr->rdlength) == 0);
	if (rr->type == DNS_TYPE_SOA) {
		check(dns_name_equal(rr->owner, zone));
		check(++s->soas == 1);
	}
	/* local-data's own rules (CNAME and other data...) may refuse it. */
	return local_add_rr(&s->ld, rr, err, errlen);
}

static void
on_error(void *ctx, unsigned line, const char *msg)
{
	struct seen *s = ctx;

	check(line <= s->lines);
	check(msg[0] != '\0');
	s->errors++;
}

static const struct zonefile_ops ops = {.record = on_record, .error = on_error};

/* A few lookups over the finished data, with names the corpus uses. */
static void
ask(const struct local_data *ld)
{
	static const uint8_t names[][24] = {
	    {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0},
	    {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0},
	    {1, 'a', 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0},
	};
	static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_TXT, DNS_TYPE_SOA,
	                                 DNS_TYPE_ANY};
	const struct local_zone *z;
	size_t i, j;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++)
			(void)local_lookup(ld, names[i], types[j], &z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s;
	char err[256];
	long n;
	size_t i;

	memset(&s, 0, sizeof(s));
	s.lines = 1;
	for (i = 0; i < size; i++)
		s.lines += data[i] == '\n';
	check(local_add_file_zone(&s.ld, zone, err, sizeof(err)) == 0);
	n = zonefile_parse((const char *)data, size, zone, &ops, &s);
	check(n < 0 || n == s.errors); /* -1: out of memory */
	if (local_finish(&s.ld) == 0)
		ask(&s.ld);
	local_free(&s.ld);
	return 0;
}
