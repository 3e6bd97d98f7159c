/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/forward.h — a view's forward-zones (dnsgate.conf(5), [view NAME]
 * forward-zone): the names under a suffix go to another [upstream] group
 * than the view's own, as Unbound's forward-zone and BIND's
 * zone "..." { type forward; } send them.
 *
 * The longest suffix that contains the name wins, label by label and
 * ignoring ASCII case: corp.example takes corp.example and a.corp.example,
 * not xcorp.example; the root "." takes every name that no longer suffix
 * takes. A lookup hashes the suffixes of the name from the root outwards,
 * one label and at most one probe per level (dns/htab.h), so it costs
 * O(labels) whatever the number of zones; a view without forward-zones
 * pays one comparison.
 *
 * Which group a zone names is resolved by the configuration loader
 * (conf/config.c), which knows the groups; this file only parses, stores
 * and finds. Immutable once loaded, shared by the workers.
 */
#ifndef VIEWS_FORWARD_H
#define VIEWS_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "dns/htab.h"
#include "dns/name.h"

struct upstream_conf;

struct forward_zone {
	uint8_t name[DNS_NAME_MAX]; /* lower case, wire form */
	size_t len;                 /* of name, root label included */
	unsigned labels;            /* of name, the root not counted */
	char *text;                 /* "corp.example" (no final dot), "." */
	char *group_name;           /* the [upstream NAME] as written */
	const struct upstream_conf *group; /* resolved by the loader */
	int line;                          /* of the forward-zone line */
};

struct forward_zones {
	struct forward_zone *zones; /* in configuration order */
	size_t n, cap;
	struct htab tab;
	/* The label counts some zone has: levels without one are not
	 * probed (a name has at most 127 labels). */
	uint64_t depths[2];
	unsigned max_labels;
};

/*
 * Add one forward-zone line, "SUFFIX GROUP" (the suffix may be written
 * with a final dot or in double quotes, as unbound.conf writes it), given
 * on line. On error returns -1 with a one-line reason in err (no FILE:LINE
 * prefix; the caller adds it): not two words, a malformed suffix, a
 * wildcard, or a suffix this view already forwards (naming that line).
 */
int forward_add(struct forward_zones *fz, const char *text, int line, char *err,
                size_t errlen);
/* The zone with the longest suffix containing qname, or NULL. */
const struct forward_zone *forward_find(const struct forward_zones *fz,
                                        const uint8_t *qname);
/* Free everything fz owns (not fz itself); fz is empty afterwards. */
void forward_free(struct forward_zones *fz);

#endif
