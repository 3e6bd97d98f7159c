/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/local.c — a view's local zones and local data (see views/local.h).
 *
 * While lines are added, hash tables find duplicate zones, identical RRs and
 * CNAME conflicts in O(1) each, so thousands of lines stay linear.
 * local_finish() sorts zones and RRs in canonical order (RFC 4034 6.1) and
 * drops the hash tables; every lookup is then a binary search. Canonical
 * order puts all names below N right after N, so "does N own data or have
 * a descendant that does" is one lower-bound search.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/idn.h"
#include "dns/rrtext.h"
#include "views/local.h"

#include "dns/htab.h"

/* local-data without a TTL (views/local.h). */
#define LOCAL_DEFAULT_TTL 3600
/* CNAMEs followed within local data for one answer (views/local.h). */
#define LOCAL_CNAME_MAX 8
/* Offset of the QNAME in a message: right after the header. */
#define QNAME_OFFSET DNS_HEADER_LEN
/* RFC 1035 4.1.4: a pointer is two bytes with the top two bits set. */
#define NAME_POINTER 0xc000
/* RFC 1035 3.3.13: MINIMUM is the last 32-bit field of the SOA RDATA. */
#define SOA_MINIMUM_LEN 4
#define HTAB_MIN_CAP    64

/*
 * The SOA put in negative answers of a zone without one in local data:
 * "localhost. nobody.invalid. 1 3600 1200 604800 10800" (views/local.h).
 */
static const uint8_t synth_soa_rdata[] = {
    9,    'l',  'o',  'c',  'a', 'l', 'h', 'o', 's', 't', 0, /* localhost. */
    6,    'n',  'o',  'b',  'o', 'd', 'y',                   /* nobody. */
    7,    'i',  'n',  'v',  'a', 'l', 'i', 'd', 0,           /* invalid. */
    0x00, 0x00, 0x00, 0x01,                                  /* SERIAL 1 */
    0x00, 0x00, 0x0e, 0x10,                                  /* REFRESH 3600 */
    0x00, 0x00, 0x04, 0xb0,                                  /* RETRY 1200 */
    0x00, 0x09, 0x3a, 0x80,                                  /* EXPIRE 604800 */
    0x00, 0x00, 0x2a, 0x30,                                  /* MINIMUM 10800 */
};
#define SYNTH_SOA_TTL 3600

static const char *const zone_type_names[] = {
    [LZ_STATIC] = "static",     [LZ_TRANSPARENT] = "transparent",
    [LZ_REFUSE] = "refuse",     [LZ_DROP] = "drop",
    [LZ_NXDOMAIN] = "nxdomain", [LZ_NODATA] = "nodata",
};
#define ZONE_TYPES_LEN (sizeof(zone_type_names) / sizeof(zone_type_names[0]))

/* Open addressing, linear probing; idx1 is an array index + 1, 0 = empty. */
/* What an owner name holds so far, for the CNAME rule. */
struct owner_info {
	size_t rr; /* one RR with this owner: its name is the key */
	bool cname;
	bool other;
	bool soa;
};

struct local_index {
	size_t zones_cap;
	size_t rrs_cap;
	struct htab zone_tab;  /* explicit zones, by name */
	struct htab owner_tab; /* owner_info, by owner name */
	struct htab rr_tab;    /* RRs, by owner, type and RDATA */
	struct owner_info *owners;
	size_t nowners;
	size_t owners_cap;
	bool finished;
};

typedef bool (*htab_eq_fn)(const struct local_data *ld, size_t idx,
                           const void *key);

/* FNV-1a, continued from h; names are hashed lower-cased. */
static uint32_t
hash_bytes(uint32_t h, const uint8_t *p, size_t n)
{
	while (n-- > 0) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

#define HASH_INIT 2166136261u

static uint32_t
hash_name(const uint8_t *name)
{
	return hash_bytes(HASH_INIT, name, dns_name_len(name));
}

static uint32_t
hash_rr(const struct local_rr *rr)
{
	uint8_t type[2] = {(uint8_t)(rr->type >> 8), (uint8_t)rr->type};
	uint32_t h = hash_bytes(hash_name(rr->owner), type, sizeof(type));

	return hash_bytes(h, rr->rdata, rr->rdlength);
}

/* The slot holding key, or the empty slot where it belongs (cap > 0). */
static struct htab_slot *
htab_probe(const struct htab *t, uint32_t hash, htab_eq_fn eq,
           const struct local_data *ld, const void *key)
{
	size_t i;

	for (i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (t->slot[i].idx1 == 0)
			return &t->slot[i];
		if (t->slot[i].hash == hash && eq(ld, t->slot[i].idx1 - 1, key))
			return &t->slot[i];
	}
}

static bool
zone_eq(const struct local_data *ld, size_t idx, const void *key)
{
	return dns_name_equal(ld->zones[idx].name, key);
}

static bool
owner_eq(const struct local_data *ld, size_t idx, const void *key)
{
	return dns_name_equal(ld->rrs[ld->index->owners[idx].rr].owner, key);
}

static bool
rr_eq(const struct local_data *ld, size_t idx, const void *key)
{
	const struct local_rr *a = &ld->rrs[idx], *b = key;

	return a->type == b->type && a->rdlength == b->rdlength &&
	       dns_name_equal(a->owner, b->owner) &&
	       memcmp(a->rdata, b->rdata, a->rdlength) == 0;
}

static int local_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
local_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The index, made on the first add; NULL when out of memory. */
static struct local_index *
local_index_get(struct local_data *ld)
{
	if (ld->index == NULL)
		ld->index = calloc(1, sizeof(*ld->index));
	return ld->index;
}

static int
zone_append(struct local_data *ld, const uint8_t *name, int type, bool implicit,
            bool file)
{
	struct local_index *ix = ld->index;
	struct local_zone *z;

	if (htab_array_reserve((void **)&ld->zones, &ix->zones_cap, ld->nzones,
	                       sizeof(*ld->zones), 16) != 0)
		return -1;
	z = &ld->zones[ld->nzones++];
	memcpy(z->name, name, dns_name_len(name));
	dns_name_lower(z->name);
	z->type = type;
	z->implicit = implicit;
	z->file = file;
	return 0;
}

static int
zone_type_from_text(const char *text)
{
	size_t i;

	for (i = 1; i < ZONE_TYPES_LEN; i++) {
		if (zone_type_names[i] != NULL &&
		    strcasecmp(zone_type_names[i], text) == 0)
			return (int)i;
	}
	return -1;
}

/* Next blank-separated word of *s into buf; -1 when none or too long. */
static int
word_next(const char **s, char *buf, size_t cap)
{
	const char *p = *s + strspn(*s, " \t");
	size_t n = strcspn(p, " \t");

	if (n == 0 || n >= cap)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	*s = p + n;
	return 0;
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

/*
 * The name text[0..n) (a local-zone name, a local-data owner) in A-labels
 * when it is written in UTF-8 (dns/idn.h), into out[0..DNS_NAME_TEXT_MAX):
 * 1 when converted, 0 when ASCII already (out untouched), -1 with the
 * reason in err.
 */
static int
name_idn(const char *text, size_t n, char *out, char *err, size_t errlen)
{
	char word[DNS_NAME_TEXT_MAX];
	const char *why = "name too long";
	size_t i;

	for (i = 0; i < n && (unsigned char)text[i] < 0x80; i++)
		;
	if (i == n)
		return 0;
	if (n < sizeof(word)) {
		memcpy(word, text, n);
		word[n] = '\0';
	}
	if (n >= sizeof(word) ||
	    dns_idn_to_ascii(word, out, DNS_NAME_TEXT_MAX, &why) != 0)
		return local_fail(err, errlen,
		                  "bad internationalised name '%.*s': %s",
		                  (int)(n < 60 ? n : 60), text, why);
	return 1;
}

/* One zone may come from one line: local-zone or local-zone-file. */
static int
zone_duplicate(const struct local_zone *old, const char *text, bool file,
               char *err, size_t errlen)
{
	if (old->file)
		return local_fail(err, errlen,
		                  "'%s' is already a local-zone-file of this "
		                  "view",
		                  text);
	if (file)
		return local_fail(err, errlen,
		                  "'%s' is already a local-zone of this view "
		                  "(a local-zone-file is a static zone of its "
		                  "own)",
		                  text);
	return local_fail(err, errlen, "duplicate local-zone '%s'", text);
}

static int
zone_insert(struct local_data *ld, const uint8_t *name, int type, bool file,
            char *err, size_t errlen)
{
	struct local_index *ix = local_index_get(ld);
	uint8_t key[DNS_NAME_MAX];
	char text[DNS_NAME_TEXT_MAX];
	struct htab_slot *slot;
	uint32_t h;

	if (ix == NULL || htab_reserve(&ix->zone_tab, HTAB_MIN_CAP) != 0)
		return local_fail(err, errlen, "out of memory");
	if (ix->finished)
		return local_fail(err, errlen, "local data already finished");
	memcpy(key, name, dns_name_len(name));
	dns_name_lower(key);
	h = hash_name(key);
	slot = htab_probe(&ix->zone_tab, h, zone_eq, ld, key);
	if (slot->idx1 != 0) {
		(void)dns_name_to_text(key, text, sizeof(text));
		return zone_duplicate(&ld->zones[slot->idx1 - 1], text, file,
		                      err, errlen);
	}
	if (zone_append(ld, key, type, false, file) != 0)
		return local_fail(err, errlen, "out of memory");
	htab_set(&ix->zone_tab, slot, h, ld->nzones - 1);
	return 0;
}

int
local_add_zone(struct local_data *ld, const char *text, char *err,
               size_t errlen)
{
	char name[DNS_NAME_TEXT_MAX + 3], type[32], ascii[DNS_NAME_TEXT_MAX];
	uint8_t wire[DNS_NAME_MAX];
	const char *s = text;
	int zt, idn;

	if (word_next(&s, name, sizeof(name)) != 0 ||
	    word_next(&s, type, sizeof(type)) != 0)
		return local_fail(err, errlen,
		                  "expected 'NAME TYPE', got '%.60s'", text);
	if (s[strspn(s, " \t")] != '\0')
		return local_fail(err, errlen, "trailing junk '%.40s'",
		                  s + strspn(s, " \t"));
	unquote(name);
	if ((idn = name_idn(name, strlen(name), ascii, err, errlen)) < 0)
		return -1;
	if (idn > 0)
		memcpy(name, ascii, strlen(ascii) + 1);
	if (dns_name_from_text(name, NULL, wire) == 0)
		return local_fail(err, errlen, "bad zone name '%.60s'", name);
	if ((zt = zone_type_from_text(type)) < 0)
		return local_fail(err, errlen,
		                  "unknown local-zone type '%s' (static, "
		                  "transparent, refuse, drop, nxdomain or "
		                  "nodata)",
		                  type);
	return zone_insert(ld, wire, zt, false, err, errlen);
}

int
local_add_file_zone(struct local_data *ld, const uint8_t *name, char *err,
                    size_t errlen)
{
	return zone_insert(ld, name, LZ_STATIC, true, err, errlen);
}

/*
 * The CNAME rule: a name with a CNAME holds nothing else (RFC 1034 3.6.2)
 * and only one CNAME (RFC 2181 10.1). info is NULL for a new owner.
 */
static int
owner_check(const struct owner_info *info, const struct local_rr *rr, char *err,
            size_t errlen)
{
	char text[DNS_NAME_TEXT_MAX];
	bool cname = rr->type == DNS_TYPE_CNAME;

	if (info == NULL)
		return 0;
	(void)dns_name_to_text(rr->owner, text, sizeof(text));
	if (cname && info->cname)
		return local_fail(err, errlen,
		                  "more than one CNAME at '%s' (RFC 2181 10.1)",
		                  text);
	/* soa_write() would put just one of them in negative answers. */
	if (rr->type == DNS_TYPE_SOA && info->soa)
		return local_fail(err, errlen,
		                  "more than one SOA at '%s' (RFC 1035 5.2)",
		                  text);
	if ((cname && info->other) || (!cname && info->cname))
		return local_fail(err, errlen,
		                  "CNAME and other data at '%s' (RFC 1034 "
		                  "3.6.2)",
		                  text);
	return 0;
}

/* Copy rr (whose rdata is borrowed) into ld->rrs. */
static int
rr_append(struct local_data *ld, const struct local_rr *rr)
{
	struct local_index *ix = ld->index;
	struct local_rr *copy;
	uint8_t *rdata;

	if (htab_array_reserve((void **)&ld->rrs, &ix->rrs_cap, ld->nrrs,
	                       sizeof(*ld->rrs), 16) != 0)
		return -1;
	/* At least one byte, so rdata is never NULL (memcmp, memcpy). */
	if ((rdata = malloc(rr->rdlength > 0 ? rr->rdlength : 1)) == NULL)
		return -1;
	memcpy(rdata, rr->rdata, rr->rdlength);
	copy = &ld->rrs[ld->nrrs++];
	*copy = *rr;
	copy->rdata = rdata;
	return 0;
}

/* Record rr (just appended at index i) under its owner. */
static int
owner_note(struct local_data *ld, struct htab_slot *slot, uint32_t h, size_t i)
{
	struct local_index *ix = ld->index;
	struct owner_info *info;

	if (slot->idx1 == 0) {
		if (htab_array_reserve((void **)&ix->owners, &ix->owners_cap,
		                       ix->nowners, sizeof(*ix->owners),
		                       16) != 0)
			return -1;
		info = &ix->owners[ix->nowners];
		*info = (struct owner_info){.rr = i};
		htab_set(&ix->owner_tab, slot, h, ix->nowners++);
	} else {
		info = &ix->owners[slot->idx1 - 1];
	}
	if (ld->rrs[i].type == DNS_TYPE_CNAME)
		info->cname = true;
	else
		info->other = true;
	if (ld->rrs[i].type == DNS_TYPE_SOA)
		info->soa = true;
	return 0;
}

static int
rr_insert(struct local_data *ld, const struct local_rr *rr, char *err,
          size_t errlen)
{
	struct local_index *ix = local_index_get(ld);
	struct htab_slot *rslot, *oslot;
	uint32_t rh, oh;

	if (ix == NULL || htab_reserve(&ix->rr_tab, HTAB_MIN_CAP) != 0 ||
	    htab_reserve(&ix->owner_tab, HTAB_MIN_CAP) != 0)
		return local_fail(err, errlen, "out of memory");
	if (ix->finished)
		return local_fail(err, errlen, "local data already finished");
	rh = hash_rr(rr);
	rslot = htab_probe(&ix->rr_tab, rh, rr_eq, ld, rr);
	/* RFC 2181 5: an RRset is a set; an identical RR adds nothing. */
	if (rslot->idx1 != 0)
		return 0;
	oh = hash_name(rr->owner);
	oslot = htab_probe(&ix->owner_tab, oh, owner_eq, ld, rr->owner);
	if (owner_check(oslot->idx1 != 0 ? &ix->owners[oslot->idx1 - 1] : NULL,
	                rr, err, errlen) != 0)
		return -1;
	if (rr_append(ld, rr) != 0 ||
	    owner_note(ld, oslot, oh, ld->nrrs - 1) != 0)
		return local_fail(err, errlen, "out of memory");
	htab_set(&ix->rr_tab, rslot, rh, ld->nrrs - 1);
	return 0;
}

/*
 * Names compare without case (RFC 4343), so lower-case the names inside
 * RDATA as RFC 4034 6.2 does; identical RRs then have identical bytes. The
 * RDATA was checked by rrtext: each name is uncompressed and in bounds.
 */
static void
rdata_names_lower(uint16_t type, uint8_t *rdata)
{
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		dns_name_lower(rdata);
		break;
	case DNS_TYPE_MX:
		dns_name_lower(rdata + 2);
		break;
	case DNS_TYPE_SRV:
		dns_name_lower(rdata + 6);
		break;
	case DNS_TYPE_SOA:
		dns_name_lower(rdata);
		dns_name_lower(rdata + dns_name_len(rdata));
		break;
	default:
		break;
	}
}

int
local_add_rr(struct local_data *ld, struct dns_rr_text *t, char *err,
             size_t errlen)
{
	struct local_rr rr;

	memcpy(rr.owner, t->owner, t->owner_len);
	dns_name_lower(rr.owner);
	rdata_names_lower(t->type, t->rdata);
	rr.type = t->type;
	rr.rclass = t->rclass;
	rr.ttl = t->ttl;
	rr.rdlength = t->rdlength;
	rr.rdata = t->rdata;
	return rr_insert(ld, &rr, err, errlen);
}

int
local_add_data(struct local_data *ld, const char *text, char *err,
               size_t errlen)
{
	char ascii[DNS_NAME_TEXT_MAX], *line = NULL;
	size_t n = strcspn(text, " \t");
	struct dns_rr_text *t;
	int ret = -1, idn;

	/* An owner written in UTF-8 goes in A-labels (not the RDATA: a TXT
	 * string may well be UTF-8, and stays as written). */
	if ((idn = name_idn(text, n, ascii, err, errlen)) < 0)
		return -1;
	if (idn > 0) {
		if ((line = malloc(strlen(ascii) + strlen(text + n) + 1)) ==
		    NULL)
			return local_fail(err, errlen, "out of memory");
		sprintf(line, "%s%s", ascii, text + n);
		text = line;
	}
	/* 64 KiB of RDATA buffer: not for the stack. */
	if ((t = malloc(sizeof(*t))) == NULL) {
		free(line);
		return local_fail(err, errlen, "out of memory");
	}
	if (dns_rr_from_text(text, NULL, LOCAL_DEFAULT_TTL, t, err, errlen) ==
	    0)
		ret = local_add_rr(ld, t, err, errlen);
	free(t);
	free(line);
	return ret;
}

/* Canonical order of owners (RFC 4034 6.1), then type, then file order. */
struct rr_sort {
	const struct local_rr *rr;
	size_t seq;
};

static int
rr_sort_cmp(const void *a, const void *b)
{
	const struct rr_sort *x = a, *y = b;
	int c = dns_name_compare(x->rr->owner, y->rr->owner);

	if (c != 0)
		return c;
	if (x->rr->type != y->rr->type)
		return x->rr->type < y->rr->type ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
rrs_sort(struct local_data *ld)
{
	struct rr_sort *s;
	struct local_rr *sorted;
	size_t i;

	if (ld->nrrs == 0)
		return 0;
	s = calloc(ld->nrrs, sizeof(*s));
	sorted = calloc(ld->nrrs, sizeof(*sorted));
	if (s == NULL || sorted == NULL) {
		free(sorted);
		free(s);
		return -1;
	}
	for (i = 0; i < ld->nrrs; i++)
		s[i] = (struct rr_sort){.rr = &ld->rrs[i], .seq = i};
	qsort(s, ld->nrrs, sizeof(*s), rr_sort_cmp);
	for (i = 0; i < ld->nrrs; i++)
		sorted[i] = *s[i].rr;
	free(ld->rrs);
	ld->rrs = sorted;
	ld->index->rrs_cap = ld->nrrs;
	free(s);
	return 0;
}

/*
 * RFC 2181 5.2: the RRs of an RRset must have one TTL; where local data
 * differs, use the smallest, as a client would.
 */
static void
rrsets_ttl_min(struct local_data *ld)
{
	size_t i, j, k;
	uint32_t ttl;

	for (i = 0; i < ld->nrrs; i = j) {
		ttl = ld->rrs[i].ttl;
		for (j = i + 1;
		     j < ld->nrrs && ld->rrs[j].type == ld->rrs[i].type &&
		     dns_name_equal(ld->rrs[j].owner, ld->rrs[i].owner);
		     j++) {
			if (ld->rrs[j].ttl < ttl)
				ttl = ld->rrs[j].ttl;
		}
		for (k = i; k < j; k++)
			ld->rrs[k].ttl = ttl;
	}
}

static int
zone_cmp(const void *a, const void *b)
{
	const struct local_zone *x = a, *y = b;

	return dns_name_compare(x->name, y->name);
}

/* The zone named exactly name in the sorted zones[0..n), or NULL. */
static const struct local_zone *
zone_search(const struct local_zone *zones, size_t n, const uint8_t *name)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = dns_name_compare(zones[mid].name, name);
		if (c == 0)
			return &zones[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The most specific of the sorted zones[0..n) at or above name. */
static const struct local_zone *
zone_closest(const struct local_zone *zones, size_t n, const uint8_t *name)
{
	const struct local_zone *z;

	for (; name != NULL; name = dns_name_parent(name)) {
		if ((z = zone_search(zones, n, name)) != NULL)
			return z;
	}
	return NULL;
}

/*
 * Unbound: local-data in no local zone gets a transparent zone at its
 * owner. RRs are sorted, so the names below an implicit zone follow it
 * directly and are covered by it.
 */
static int
zones_add_implicit(struct local_data *ld)
{
	size_t nexplicit = ld->nzones, i;
	const uint8_t *last = NULL, *owner;

	for (i = 0; i < ld->nrrs; i++) {
		owner = ld->rrs[i].owner;
		if (last != NULL && dns_name_is_sub(owner, last))
			continue;
		if (zone_closest(ld->zones, nexplicit, owner) != NULL)
			continue;
		if (zone_append(ld, owner, LZ_TRANSPARENT, true, false) != 0)
			return -1;
		last = owner;
	}
	return 0;
}

static void
local_index_drop_tables(struct local_index *ix)
{
	htab_free(&ix->zone_tab);
	htab_free(&ix->owner_tab);
	htab_free(&ix->rr_tab);
	free(ix->owners);
	ix->owners = NULL;
	ix->nowners = ix->owners_cap = 0;
}

int
local_finish(struct local_data *ld)
{
	struct local_index *ix = local_index_get(ld);

	if (ix == NULL)
		return -1;
	if (ix->finished)
		return 0;
	if (rrs_sort(ld) != 0)
		return -1;
	if (ld->nzones > 0)
		qsort(ld->zones, ld->nzones, sizeof(*ld->zones), zone_cmp);
	if (zones_add_implicit(ld) != 0)
		return -1;
	if (ld->nzones > 0)
		qsort(ld->zones, ld->nzones, sizeof(*ld->zones), zone_cmp);
	rrsets_ttl_min(ld);
	local_index_drop_tables(ix);
	ix->finished = true;
	return 0;
}

void
local_free(struct local_data *ld)
{
	size_t i;

	for (i = 0; i < ld->nrrs; i++)
		free(ld->rrs[i].rdata);
	free(ld->rrs);
	free(ld->zones);
	if (ld->index != NULL) {
		local_index_drop_tables(ld->index);
		free(ld->index);
	}
	memset(ld, 0, sizeof(*ld));
}

/*
 * Index of the first RR with (owner, type) >= (name, type) in the sorted
 * RRs; type 0 (never stored) gives the first RR at or after name.
 */
static size_t
rr_lower_bound(const struct local_data *ld, const uint8_t *name, uint16_t type)
{
	size_t lo = 0, hi = ld->nrrs, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = dns_name_compare(ld->rrs[mid].owner, name);
		if (c == 0)
			c = (int)ld->rrs[mid].type - (int)type;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The RRs at name of type (0 = every type): index of the first, count in
 * *n (0 when there are none).
 */
static size_t
rrset_find(const struct local_data *ld, const uint8_t *name, uint16_t type,
           size_t *n)
{
	size_t first = rr_lower_bound(ld, name, type), i;

	for (i = first;
	     i < ld->nrrs && dns_name_equal(ld->rrs[i].owner, name) &&
	     (type == 0 || ld->rrs[i].type == type);
	     i++)
		;
	*n = i - first;
	return first;
}

/*
 * A name exists when it owns data or has a descendant that does (an empty
 * non-terminal, RFC 8020 2); descendants sort right after it.
 */
static bool
name_exists(const struct local_data *ld, const uint8_t *name)
{
	size_t i = rr_lower_bound(ld, name, 0);

	return i < ld->nrrs && dns_name_is_sub(ld->rrs[i].owner, name);
}

/* Local data answers qtype at qname: its RRset, a CNAME, or ANY. */
static bool
data_matches(const struct local_data *ld, const uint8_t *qname, uint16_t qtype)
{
	size_t n;

	/* QTYPE 0 is reserved (RFC 6895 3.1); rrset_find reads 0 as "all". */
	if (qtype == 0)
		return false;
	(void)rrset_find(ld, qname, qtype == DNS_TYPE_ANY ? 0 : qtype, &n);
	if (n == 0 && qtype != DNS_TYPE_CNAME)
		(void)rrset_find(ld, qname, DNS_TYPE_CNAME, &n);
	return n > 0;
}

/* What zone z says about qname when local data does not answer it. */
static enum local_result
zone_decides(const struct local_data *ld, const struct local_zone *z,
             const uint8_t *qname)
{
	switch (z->type) {
	case LZ_STATIC:
	case LZ_NXDOMAIN:
		/* RFC 8020: NXDOMAIN only for names that do not exist. */
		return name_exists(ld, qname) ? LOCAL_NODATA : LOCAL_NXDOMAIN;
	case LZ_TRANSPARENT:
		/*
		 * Unbound forwards an empty non-terminal of a transparent
		 * zone; we answer NODATA, as the name exists here and an
		 * upstream NXDOMAIN would deny the local names below it
		 * (RFC 8020).
		 */
		return name_exists(ld, qname) ? LOCAL_NODATA : LOCAL_PASS;
	case LZ_REFUSE:
		return LOCAL_REFUSE;
	case LZ_DROP:
		return LOCAL_DROP;
	case LZ_NODATA:
		return LOCAL_NODATA;
	default:
		return LOCAL_PASS;
	}
}

enum local_result
local_lookup(const struct local_data *ld, const uint8_t *qname, uint16_t qtype,
             const struct local_zone **zone)
{
	const struct local_zone *z;
	enum local_result r;

	if (zone != NULL)
		*zone = NULL;
	z = zone_closest(ld->zones, ld->nzones, qname);
	if (z == NULL)
		return LOCAL_PASS;
	if (data_matches(ld, qname, qtype))
		r = LOCAL_ANSWER;
	else
		r = zone_decides(ld, z, qname);
	if (r != LOCAL_PASS && zone != NULL)
		*zone = z;
	return r;
}

bool
local_covers(const struct local_data *ld, const uint8_t *name)
{
	return zone_closest(ld->zones, ld->nzones, name) != NULL;
}

const char *
local_zone_type_name(int type)
{
	if (type > 0 && (size_t)type < ZONE_TYPES_LEN &&
	    zone_type_names[type] != NULL)
		return zone_type_names[type];
	return "unknown";
}

/*
 * One RR. An owner equal to the QNAME is written as a pointer to it
 * (RFC 1035 4.1.4), which also keeps the case the client asked with.
 */
static void
rr_write(struct wbuf *b, const struct dns_query *q, const struct local_rr *rr)
{
	if (dns_name_equal(rr->owner, q->qname))
		wbuf_u16(b, NAME_POINTER | QNAME_OFFSET);
	else
		wbuf_bytes(b, rr->owner, dns_name_len(rr->owner));
	wbuf_u16(b, rr->type);
	wbuf_u16(b, DNS_CLASS_IN);
	wbuf_u32(b, rr->ttl);
	wbuf_u16(b, rr->rdlength);
	wbuf_bytes(b, rr->rdata, rr->rdlength);
}

static unsigned
rrs_write(struct wbuf *b, const struct dns_query *q,
          const struct local_data *ld, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++)
		rr_write(b, q, &ld->rrs[i]);
	return (unsigned)n;
}

static bool
chain_seen(const uint8_t *const *chain, unsigned n, const uint8_t *name)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (dns_name_equal(chain[i], name))
			return true;
	}
	return false;
}

/*
 * The answer section (RFC 1034 4.3.2 step 3): the RRset of qtype at the
 * name, or its CNAME and then the same for the target, within local data,
 * for at most LOCAL_CNAME_MAX CNAMEs and stopping at a loop. Returns the
 * number of RRs written.
 */
static unsigned
answer_write(struct wbuf *b, const struct dns_query *q,
             const struct local_data *ld)
{
	const uint8_t *chain[LOCAL_CNAME_MAX + 1];
	uint16_t type = q->qtype == DNS_TYPE_ANY ? 0 : q->qtype;
	unsigned nchain = 0, count = 0;
	const uint8_t *name = q->qname;
	size_t first, n;

	for (;;) {
		chain[nchain++] = name;
		first = rrset_find(ld, name, type, &n);
		if (n > 0)
			return count + rrs_write(b, q, ld, first, n);
		first = rrset_find(ld, name, DNS_TYPE_CNAME, &n);
		if (n == 0 || nchain > LOCAL_CNAME_MAX)
			return count;
		count += rrs_write(b, q, ld, first, 1);
		/* CNAME RDATA is exactly one uncompressed name (rrtext). */
		name = ld->rrs[first].rdata;
		if (chain_seen(chain, nchain, name))
			return count;
	}
}

/*
 * RFC 2308 3: the zone's SOA in the authority section of a negative
 * answer, with TTL min(SOA TTL, MINIMUM); synthesized when local data has
 * none at the apex.
 */
static unsigned
soa_write(struct wbuf *b, const struct dns_query *q,
          const struct local_data *ld, const struct local_zone *z)
{
	struct local_rr soa;
	struct wire r;
	uint32_t minimum;
	size_t first, n;

	first = rrset_find(ld, z->name, DNS_TYPE_SOA, &n);
	if (n > 0) {
		soa = ld->rrs[first];
	} else {
		memcpy(soa.owner, z->name, dns_name_len(z->name));
		soa.type = DNS_TYPE_SOA;
		soa.rclass = DNS_CLASS_IN;
		soa.ttl = SYNTH_SOA_TTL;
		soa.rdlength = sizeof(synth_soa_rdata);
		/* Only read (rr_write); local_rr has no const member. */
		soa.rdata = (uint8_t *)(uintptr_t)synth_soa_rdata;
	}
	wire_init(&r, soa.rdata, soa.rdlength);
	wire_seek(&r, soa.rdlength - SOA_MINIMUM_LEN);
	minimum = wire_u32(&r);
	if (!r.err && minimum < soa.ttl)
		soa.ttl = minimum;
	rr_write(b, q, &soa);
	return 1;
}

/* RFC 1035 4.1.1: the counts are patched once the sections are written. */
#define HDR_ANCOUNT 6
#define HDR_NSCOUNT 8
#define HDR_ARCOUNT 10

static void
header_write(struct wbuf *b, const struct dns_query *q, unsigned rcode)
{
	/* AA: the data is ours; RA: the proxy offers recursion. */
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RA |
	                 (q->hdr.flags & DNS_FLAG_RD) | (uint16_t)rcode;

	wbuf_u16(b, q->hdr.id);
	wbuf_u16(b, flags);
	wbuf_u16(b, 1); /* QDCOUNT */
	wbuf_u16(b, 0);
	wbuf_u16(b, 0);
	wbuf_u16(b, 0);
}

size_t
local_build_answer(uint8_t *out, size_t cap, const struct dns_query *q,
                   const struct local_data *ld, const struct local_zone *zone,
                   enum local_result result, const struct dns_opt_out *o)
{
	unsigned an = 0, ns = 0, ar = 0;
	struct wbuf b;

	if (q->qname_len == 0 ||
	    (result != LOCAL_ANSWER && result != LOCAL_NXDOMAIN &&
	     result != LOCAL_NODATA) ||
	    (result != LOCAL_ANSWER && zone == NULL))
		return 0;
	/* A message is at most 65535 bytes, so the counts cannot overflow. */
	wbuf_init(&b, out, cap < DNS_MAX_MSG ? cap : DNS_MAX_MSG);
	header_write(&b, q,
	             result == LOCAL_NXDOMAIN ? DNS_RCODE_NXDOMAIN
	                                      : DNS_RCODE_NOERROR);
	wbuf_bytes(&b, q->qname, q->qname_len);
	wbuf_u16(&b, q->qtype);
	wbuf_u16(&b, q->qclass);
	if (result == LOCAL_ANSWER)
		an = answer_write(&b, q, ld);
	else
		ns = soa_write(&b, q, ld, zone);
	if (o != NULL && o->present) {
		dns_opt_write(&b, o, 0);
		ar = 1;
	}
	wbuf_put_u16_at(&b, HDR_ANCOUNT, (uint16_t)an);
	wbuf_put_u16_at(&b, HDR_NSCOUNT, (uint16_t)ns);
	wbuf_put_u16_at(&b, HDR_ARCOUNT, (uint16_t)ar);
	return b.err ? 0 : b.len;
}
