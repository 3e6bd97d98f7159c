/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/forward.c — a view's forward-zones (see forward.h).
 *
 * The zones sit in an array in configuration order; an open-addressing
 * table (dns/htab.h) finds one by name. Names are hashed label by label
 * from the root outwards, lower-cased on the way (FNV-1a, 64 bits, mixed
 * down to 32, as the blocklist index hashes), so a lookup extends the
 * hash of one suffix to the next by one label.
 */
#include "views/forward.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_MIN 16
#define ZONES_MIN 4
/* A group name as [upstream NAME] headers take it (conf/config.c). */
#define GROUP_MAX 128

static int fwd_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fwd_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * The slot of the zone named by the len bytes at name (any case), or the
 * empty slot where it would go.
 */
static struct htab_slot *
zone_probe(const struct forward_zones *fz, uint32_t h, const uint8_t *name,
           size_t len)
{
	size_t mask = fz->tab.cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct htab_slot *s = &fz->tab.slot[i];
		const struct forward_zone *z;
		size_t k;

		if (s->idx1 == 0)
			return s;
		if (s->hash != h)
			continue;
		z = &fz->zones[s->idx1 - 1];
		if (z->len != len)
			continue;
		/* Length bytes are below 64: case folding leaves them alone. */
		for (k = 0; k < len; k++) {
			uint8_t c = name[k];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + ('a' - 'A'));
			if (z->name[k] != c)
				break;
		}
		if (k == len)
			return s;
	}
}

/* unbound.conf writes zone names in double quotes; accept that too. */
static void
unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
}

/* "corp.example", as local-zone rules print zones; the root is ".". */
static char *
zone_text(const uint8_t *name)
{
	char text[DNS_NAME_TEXT_MAX];
	int n = dns_name_to_text(name, text, sizeof(text));

	if (n > 1 && text[n - 1] == '.')
		text[n - 1] = '\0';
	return strdup(text);
}

/* Split "SUFFIX GROUP" into the wire name and the group; 0 / -1. */
static int
line_parse(const char *text, uint8_t *wire, char group[GROUP_MAX], char *err,
           size_t errlen)
{
	char name[DNS_NAME_TEXT_MAX + 3], extra[2];
	int words;

	_Static_assert(sizeof(name) == 1027, "the %1026s below");
	if (strlen(text) >= sizeof(name))
		return fwd_fail(err, errlen, "suffix too long");
	words = sscanf(text, "%1026s %127s %1s", name, group, extra);
	if (words != 2)
		return fwd_fail(err, errlen,
		                "expected 'SUFFIX GROUP' (a domain and an "
		                "[upstream NAME]), got '%.60s'",
		                text);
	unquote(name);
	if (dns_name_from_text(name, NULL, wire) == 0)
		return fwd_fail(err, errlen,
		                "bad suffix '%.60s' (empty label, label over "
		                "63 or name over 255 bytes)",
		                name);
	if (wire[0] == 1 && wire[1] == '*')
		return fwd_fail(err, errlen,
		                "'%.60s': write the suffix without '*.' (a "
		                "suffix covers every name under it)",
		                name);
	return 0;
}

int
forward_add(struct forward_zones *fz, const char *text, int line, char *err,
            size_t errlen)
{
	uint8_t wire[DNS_NAME_MAX];
	char group[GROUP_MAX];
	struct forward_zone *z;
	struct htab_slot *slot;
	size_t len;
	uint32_t h;

	if (line_parse(text, wire, group, err, errlen) < 0)
		return -1;
	if (htab_reserve(&fz->tab, TABLE_MIN) != 0 ||
	    htab_array_reserve((void **)&fz->zones, &fz->cap, fz->n,
	                       sizeof(*fz->zones), ZONES_MIN) != 0)
		return fwd_fail(err, errlen, "out of memory");
	dns_name_lower(wire);
	len = dns_name_len(wire);
	h = htab_hash_name(wire);
	slot = zone_probe(fz, h, wire, len);
	if (slot->idx1 != 0) {
		z = &fz->zones[slot->idx1 - 1];
		return fwd_fail(err, errlen,
		                "%s is already forwarded to [upstream %s] on "
		                "line %d",
		                z->text, z->group_name, z->line);
	}
	z = &fz->zones[fz->n];
	memset(z, 0, sizeof(*z));
	memcpy(z->name, wire, len);
	z->len = len;
	z->labels = dns_name_labels(wire);
	z->line = line;
	z->text = zone_text(wire);
	z->group_name = strdup(group);
	if (z->text == NULL || z->group_name == NULL) {
		free(z->text);
		free(z->group_name);
		return fwd_fail(err, errlen, "out of memory");
	}
	htab_set(&fz->tab, slot, h, fz->n++);
	fz->depths[z->labels / 64] |= (uint64_t)1 << (z->labels % 64);
	if (z->labels > fz->max_labels)
		fz->max_labels = z->labels;
	return 0;
}

const struct forward_zone *
forward_find(const struct forward_zones *fz, const uint8_t *qname)
{
	uint8_t off[DNS_NAME_MAX / 2];
	const struct forward_zone *best = NULL;
	const uint8_t *suffix;
	struct htab_slot *s;
	uint64_t h = HTAB_NAME_HASH_INIT;
	size_t len;
	unsigned n;

	if (fz->n == 0)
		return NULL;
	len = dns_name_len(qname);
	n = dns_name_label_offsets(qname, off);
	/* From the root outwards: a deeper zone is a longer suffix. */
	for (unsigned depth = 0; depth <= n && depth <= fz->max_labels;
	     depth++) {
		suffix = depth == 0 ? qname + len - 1 : qname + off[n - depth];
		if (depth > 0)
			h = htab_hash_label(h, suffix);
		if (!(fz->depths[depth / 64] & ((uint64_t)1 << (depth % 64))))
			continue;
		s = zone_probe(fz, htab_hash_final(h), suffix,
		               len - (size_t)(suffix - qname));
		if (s->idx1 != 0)
			best = &fz->zones[s->idx1 - 1];
	}
	return best;
}

void
forward_free(struct forward_zones *fz)
{
	for (size_t i = 0; i < fz->n; i++) {
		free(fz->zones[i].text);
		free(fz->zones[i].group_name);
	}
	free(fz->zones);
	htab_free(&fz->tab);
	memset(fz, 0, sizeof(*fz));
}
