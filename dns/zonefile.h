/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/zonefile.h — an RFC 1035 master file (section 5) read as the records
 * of one zone.
 *
 * Understood (RFC 1035 5.1): one record per entry; blank lines; ';'
 * comments; parentheses continuing an entry over line ends (comments inside
 * them too); quoted strings with \X and \DDD escapes; "@" for the origin;
 * names without a final dot completed with the origin; a blank owner (an
 * entry starting with a space or tab) meaning the previous record's owner;
 * TTL and class omitted or in either order. $ORIGIN (a relative one is
 * taken relative to the current origin) and $TTL (RFC 2308 4). RDATA as
 * dns/rrtext.h reads it: A, AAAA, NS, CNAME, PTR, MX, TXT (any number of
 * strings), SRV, SOA, CAA, and any data type in the generic form of RFC
 * 3597 5 ("TYPE65534 \# 4 0a000001"); class IN (also written CLASS1).
 *
 * A record without a TTL gets the $TTL in force; before any $TTL, the TTL
 * of the previous record (RFC 1035 5.1); for a first record that is an SOA,
 * its MINIMUM (as BIND does). Any other record without one is an error.
 *
 * Errors: $INCLUDE (the parser reads only the text it is given: a
 * configuration check never opens files it was not told of), any other
 * directive ($GENERATE...), a record whose owner is outside the zone, a
 * wildcard owner ("*" as first label: the records are served as static
 * data, and there is no wildcard synthesis, RFC 4592), an SOA other than
 * the zone's one at its apex (RFC 1035 5.2: exactly one, at the top), no
 * SOA at all, an entry longer than ZONEFILE_ENTRY_MAX bytes of text, more
 * than ZONEFILE_RECORDS_MAX records, a NUL byte.
 *
 * Every error is reported with its line, and parsing goes on with the next
 * entry, so a checker can list them all.
 */
#ifndef DNS_ZONEFILE_H
#define DNS_ZONEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/rrtext.h"

/* One entry's text, comments left out, lines joined (a 64 KiB RDATA as
 * \DDD escapes is 256 KiB). */
#define ZONEFILE_ENTRY_MAX (1024u * 1024u)
/* Records in one file; parsing stops with an error past this. */
#define ZONEFILE_RECORDS_MAX 1000000u

struct zonefile_ops {
	/*
	 * One record, in file order, checked against the rules above; line
	 * is where its entry starts. rr is the parser's buffer, which the
	 * callee may change. Return 0, or -1 with a one-line reason in err
	 * (NUL-terminated): it is reported as an error at line.
	 */
	int (*record)(void *ctx, struct dns_rr_text *rr, unsigned line,
	              char *err, size_t errlen);
	/* One error; line 0 is about the whole file ("no SOA record"). */
	void (*error)(void *ctx, unsigned line, const char *msg);
};

/*
 * Read the master file text[0..len) (need not be NUL-terminated) as the
 * zone named zone (uncompressed wire form), which is also the first
 * origin. Calls ops->record for each good record and ops->error for each
 * error. Returns the number of errors (0: the whole file is good), or -1
 * when out of memory (nothing more is reported).
 */
long zonefile_parse(const char *text, size_t len, const uint8_t *zone,
                    const struct zonefile_ops *ops, void *ctx);

#endif
