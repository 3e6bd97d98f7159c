/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/rebind.c — remove private addresses from upstream answers.
 *
 * Cutting records out of a compressed message would leave pointers aimed
 * into bytes that are gone, so the message is rebuilt instead: two passes
 * over the input (count, then copy), every name decompressed on the way in
 * and compressed again on the way out against a small table of the names
 * already written to the copy.
 */
#include "policy/rebind.h"

#include <string.h>

#include "dns/msg.h"
#include "dns/name.h"
#include "dns/wire.h"

/* An address range as the leading bits of the 16-byte form. */
struct rebind_range {
	uint8_t b[16];
	uint8_t bits;
};

/* IPv4 a.b/len behind the ::ffff:0:0/96 prefix, as struct ip_addr keeps it. */
#define V4_RANGE(a, b, len)                                                    \
	{                                                                      \
		{[10] = 0xff, [11] = 0xff, [12] = (a), [13] = (b)}, 96 + (len) \
	}

static const struct rebind_range private_ranges[] = {
    V4_RANGE(0, 0, 8),      /* "this network", RFC 1122 3.2.1.3 */
    V4_RANGE(10, 0, 8),     /* RFC 1918 */
    V4_RANGE(100, 64, 10),  /* shared address space, RFC 6598 */
    V4_RANGE(127, 0, 8),    /* loopback */
    V4_RANGE(169, 254, 16), /* link-local, RFC 3927 */
    V4_RANGE(172, 16, 12),  /* RFC 1918 */
    V4_RANGE(192, 168, 16), /* RFC 1918 */
    {{0}, 128},             /* ::, unspecified */
    {{[15] = 1}, 128},      /* ::1, loopback */
    {{0xfc}, 7},            /* unique local, RFC 4193 */
    {{0xfe, 0x80}, 10},     /* link-local, RFC 4291 2.5.6 */
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool
range_contains(const struct rebind_range *r, const uint8_t b[16])
{
	size_t full = r->bits / 8;
	unsigned rest = r->bits % 8;
	uint8_t mask;

	if (memcmp(r->b, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (b[full] & mask) == r->b[full];
}

bool
rebind_is_private(const struct ip_addr *a)
{
	uint8_t b[16];
	size_t i;

	memcpy(b, a->b, sizeof b);
	if (a->v4) {
		/* Do not trust the prefix bytes of a v4 address to be set. */
		memset(b, 0, 10);
		b[10] = b[11] = 0xff;
	}
	for (i = 0; i < ARRAY_LEN(private_ranges); i++)
		if (range_contains(&private_ranges[i], b))
			return true;
	return false;
}

const char *
rebind_result_name(enum rebind_result r)
{
	switch (r) {
	case REBIND_CLEAN:
		return "clean";
	case REBIND_FILTERED:
		return "filtered";
	case REBIND_MALFORMED:
		return "malformed";
	case REBIND_NOSPACE:
		return "nospace";
	}
	return "?";
}

/*
 * 1 when rr is a class IN A/AAAA record with a private address, 0 when it
 * is any other record, -1 when an A/AAAA has RDATA of the wrong size.
 */
static int
rr_is_private(const uint8_t *msg, const struct dns_rr *rr)
{
	struct ip_addr a;
	struct wire r;

	if (rr->rclass != DNS_CLASS_IN ||
	    (rr->type != DNS_TYPE_A && rr->type != DNS_TYPE_AAAA))
		return 0;
	memset(&a, 0, sizeof a);
	wire_init(&r, msg, rr->rr_end);
	wire_seek(&r, rr->rdata_offset);
	if (rr->type == DNS_TYPE_A) {
		if (rr->rdlength != 4)
			return -1;
		a.b[10] = a.b[11] = 0xff;
		wire_read(&r, a.b + 12, 4);
		a.v4 = true;
	} else {
		if (rr->rdlength != 16)
			return -1;
		wire_read(&r, a.b, 16);
	}
	if (r.err)
		return -1;
	return rebind_is_private(&a) ? 1 : 0;
}

/* Header fields; the section counts as an array for walking. */
struct msg_head {
	uint16_t id, flags, qdcount;
	uint16_t count[3]; /* answer, authority, additional */
};

static void
head_read(struct wire *w, struct msg_head *h)
{
	size_t i;

	h->id = wire_u16(w);
	h->flags = wire_u16(w);
	h->qdcount = wire_u16(w);
	for (i = 0; i < ARRAY_LEN(h->count); i++)
		h->count[i] = wire_u16(w);
}

/* Pass 1: how many records go. 0 / -1 when the message is malformed. */
static int
private_count(const uint8_t *msg, size_t len, unsigned *n)
{
	struct msg_head h;
	struct dns_rr rr;
	struct wire w;
	unsigned i, total;
	int v;

	*n = 0;
	wire_init(&w, msg, len);
	head_read(&w, &h);
	for (i = 0; i < h.qdcount && !w.err; i++) {
		(void)dns_name_skip(&w);
		wire_skip(&w, 4); /* QTYPE, QCLASS */
	}
	total = (unsigned)h.count[0] + h.count[1] + h.count[2];
	/* Bounded by the message: every RR takes at least 11 bytes. */
	for (i = 0; i < total && !w.err; i++) {
		if (dns_rr_next(&w, &rr) != 0)
			return -1;
		if ((v = rr_is_private(msg, &rr)) < 0)
			return -1;
		*n += (unsigned)v;
	}
	return w.err ? -1 : 0;
}

/*
 * Compression table: the offsets in the copy of name suffixes that later
 * names may point to, found by a hash of the suffix and confirmed by
 * reading the name back. Open addressing with bounded probes, so one name
 * costs O(labels) whatever the message holds; a suffix that finds no slot
 * is simply not reused.
 */
#define CTAB_SLOTS      512 /* a power of two */
#define CTAB_MAX_USED   384
#define CTAB_MAX_PROBES 8
#define PTR_MAX_OFFSET  0x3fff /* 14 bits (RFC 1035 4.1.4) */
#define PTR_MARK        0xc000

struct ctab {
	uint32_t hash[CTAB_SLOTS];
	uint16_t off[CTAB_SLOTS]; /* 0 = empty: no name starts in the header */
	unsigned used;
};

struct copy {
	struct wbuf b;
	struct ctab ct;
};

/* True when the name written at off in the copy is exactly suffix. */
static bool
copy_name_is(const struct copy *c, size_t off, const uint8_t *suffix)
{
	uint8_t name[DNS_NAME_MAX];
	struct wire w;
	size_t n;

	wire_init(&w, c->b.buf, c->b.len);
	wire_seek(&w, off);
	n = dns_name_read(&w, name);
	return n != 0 && n == dns_name_len(suffix) &&
	       memcmp(name, suffix, n) == 0;
}

/* Offset of suffix in the copy, or 0. */
static size_t
ctab_find(const struct copy *c, const uint8_t *suffix, uint32_t h)
{
	size_t i = h & (CTAB_SLOTS - 1);
	unsigned probe;

	for (probe = 0; probe < CTAB_MAX_PROBES; probe++) {
		if (c->ct.off[i] == 0)
			return 0;
		if (c->ct.hash[i] == h && copy_name_is(c, c->ct.off[i], suffix))
			return c->ct.off[i];
		i = (i + 1) & (CTAB_SLOTS - 1);
	}
	return 0;
}

static void
ctab_add(struct ctab *t, uint32_t h, size_t off)
{
	size_t i = h & (CTAB_SLOTS - 1);
	unsigned probe;

	if (off > PTR_MAX_OFFSET || t->used >= CTAB_MAX_USED)
		return;
	for (probe = 0; probe < CTAB_MAX_PROBES; probe++) {
		if (t->off[i] == 0) {
			t->off[i] = (uint16_t)off;
			t->hash[i] = h;
			t->used++;
			return;
		}
		i = (i + 1) & (CTAB_SLOTS - 1);
	}
}

/* A name has at most 127 labels besides the root (255 bytes). */
#define NAME_MAX_LABELS (DNS_NAME_MAX / 2)

/*
 * Offsets of the labels of name in lab[], and in h[k] a hash (FNV-1a) of
 * the suffix starting at label k; returns the number of labels.
 */
static size_t
name_suffixes(const uint8_t *name, size_t lab[NAME_MAX_LABELS],
              uint32_t h[NAME_MAX_LABELS])
{
	uint32_t v = 2166136261u;
	size_t n = 0, i = 0, k, j;

	while (name[i] != 0 && n < NAME_MAX_LABELS) {
		lab[n++] = i;
		i += 1 + (size_t)name[i];
	}
	for (k = n; k-- > 0;) {
		for (j = lab[k]; j <= lab[k] + name[lab[k]]; j++)
			v = (v ^ name[j]) * 16777619u;
		h[k] = v;
	}
	return n;
}

/*
 * Append name (uncompressed wire form) to the copy, ending in a pointer to
 * its longest suffix already there, and remember its own suffixes.
 */
static void
name_write_compressed(struct copy *c, const uint8_t *name)
{
	size_t lab[NAME_MAX_LABELS];
	uint32_t h[NAME_MAX_LABELS];
	size_t n = name_suffixes(name, lab, h), k, j, start, ptr = 0;

	for (k = 0; k < n; k++)
		if ((ptr = ctab_find(c, name + lab[k], h[k])) != 0)
			break;
	start = c->b.len;
	wbuf_bytes(&c->b, name, k < n ? lab[k] : dns_name_len(name) - 1);
	if (ptr != 0)
		wbuf_u16(&c->b, (uint16_t)(PTR_MARK | ptr));
	else
		wbuf_u8(&c->b, 0);
	if (c->b.err)
		return;
	for (j = 0; j < k; j++)
		ctab_add(&c->ct, h[j], start + lab[j]);
}

/* Copy n bytes from r to the copy (zeros and r->err when short). */
static void
bytes_copy(struct copy *c, struct wire *r, size_t n)
{
	uint8_t chunk[256];
	size_t k;

	while (n > 0 && !r->err) {
		k = n < sizeof chunk ? n : sizeof chunk;
		wire_read(r, chunk, k);
		wbuf_bytes(&c->b, chunk, k);
		n -= k;
	}
}

/*
 * RDATA layouts with embedded names, one character per field: 'C' a name
 * that may be compressed on output (the RFC 1035 types, RFC 3597 4), 'N' a
 * name that old specifications let senders compress, so it is read through
 * pointers, but is written uncompressed (RFC 3597 4; DNAME: RFC 6672 2.5),
 * 's' a <character-string>, '1'..'9' that many fixed bytes. The RDATA
 * after the last field is copied as is; so is that of types not listed
 * (RFC 3597 4: no compression in them).
 */
struct rdata_form {
	uint16_t type;
	const char *fields;
};

static const struct rdata_form rdata_forms[] = {
    {2, "C"},       /* NS */
    {3, "C"},       /* MD */
    {4, "C"},       /* MF */
    {5, "C"},       /* CNAME */
    {6, "CC"},      /* SOA: MNAME, RNAME, then 20 bytes */
    {7, "C"},       /* MB */
    {8, "C"},       /* MG */
    {9, "C"},       /* MR */
    {12, "C"},      /* PTR */
    {14, "CC"},     /* MINFO */
    {15, "2C"},     /* MX */
    {17, "NN"},     /* RP */
    {18, "2N"},     /* AFSDB */
    {21, "2N"},     /* RT */
    {24, "99N"},    /* SIG: 18 fixed bytes, signer, signature */
    {26, "2NN"},    /* PX */
    {30, "N"},      /* NXT: next name, type bitmap */
    {33, "6N"},     /* SRV */
    {35, "22sssN"}, /* NAPTR */
    {39, "N"},      /* DNAME */
};

static const char *
rdata_fields(uint16_t type)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(rdata_forms); i++)
		if (rdata_forms[i].type == type)
			return rdata_forms[i].fields;
	return "";
}

/* One RDATA field at r (see rdata_forms); 0 / -1. */
static int
field_copy(struct copy *c, struct wire *r, char field)
{
	uint8_t name[DNS_NAME_MAX];
	uint8_t len;

	switch (field) {
	case 'C':
	case 'N':
		if (dns_name_read(r, name) == 0)
			return -1;
		if (field == 'C')
			name_write_compressed(c, name);
		else
			wbuf_bytes(&c->b, name, dns_name_len(name));
		break;
	case 's':
		len = wire_u8(r);
		wbuf_u8(&c->b, len);
		bytes_copy(c, r, len);
		break;
	default:
		bytes_copy(c, r, (size_t)(field - '0'));
		break;
	}
	return r->err ? -1 : 0;
}

/* Copy the RDATA of rr, names decompressed; 0 / -1 when malformed. */
static int
rdata_copy(struct copy *c, const uint8_t *msg, const struct dns_rr *rr)
{
	const char *f = rdata_fields(rr->type);
	struct wire r;

	/* Names must end inside the RDATA; pointers lead further back. */
	wire_init(&r, msg, rr->rr_end);
	wire_seek(&r, rr->rdata_offset);
	for (; *f != '\0'; f++)
		if (field_copy(c, &r, *f) != 0)
			return -1;
	bytes_copy(c, &r, wire_left(&r));
	return r.err ? -1 : 0;
}

/* Append rr to the copy; 0 / -1 when its RDATA is malformed. */
static int
rr_copy(struct copy *c, const uint8_t *msg, const struct dns_rr *rr)
{
	size_t rdlen_at, start;

	name_write_compressed(c, rr->owner);
	wbuf_u16(&c->b, rr->type);
	wbuf_u16(&c->b, rr->rclass);
	wbuf_u32(&c->b, rr->ttl);
	rdlen_at = c->b.len;
	wbuf_u16(&c->b, 0); /* RDLENGTH, known once the RDATA is written */
	start = c->b.len;
	if (rdata_copy(c, msg, rr) != 0)
		return -1;
	/* Decompressed names can make the RDATA outgrow its 16-bit length. */
	if (c->b.len - start > UINT16_MAX)
		c->b.err = 1;
	wbuf_put_u16_at(&c->b, rdlen_at, (uint16_t)(c->b.len - start));
	return 0;
}

/* Pass 2: the copy without the private records; 0 / -1 when malformed. */
static int
msg_copy(struct copy *c, const uint8_t *msg, size_t len)
{
	uint8_t name[DNS_NAME_MAX];
	struct msg_head h;
	struct dns_rr rr;
	struct wire w;
	unsigned s, i, kept;
	int v;

	wire_init(&w, msg, len);
	head_read(&w, &h);
	wbuf_u16(&c->b, h.id);
	wbuf_u16(&c->b, h.flags);
	wbuf_u16(&c->b, h.qdcount);
	for (s = 0; s < ARRAY_LEN(h.count); s++)
		wbuf_u16(&c->b, h.count[s]); /* fixed below */
	for (i = 0; i < h.qdcount && !w.err; i++) {
		if (dns_name_read(&w, name) == 0)
			return -1;
		name_write_compressed(c, name);
		wbuf_u16(&c->b, wire_u16(&w)); /* QTYPE */
		wbuf_u16(&c->b, wire_u16(&w)); /* QCLASS */
	}
	for (s = 0; s < ARRAY_LEN(h.count); s++) {
		for (i = kept = 0; i < h.count[s]; i++) {
			if (dns_rr_next(&w, &rr) != 0 ||
			    (v = rr_is_private(msg, &rr)) < 0)
				return -1;
			if (v == 1)
				continue;
			if (rr_copy(c, msg, &rr) != 0)
				return -1;
			kept++;
		}
		/* ANCOUNT, NSCOUNT, ARCOUNT follow the 6-byte ID/flags/QD. */
		wbuf_put_u16_at(&c->b, 6 + 2 * s, (uint16_t)kept);
	}
	return w.err ? -1 : 0;
}

enum rebind_result
rebind_filter(uint8_t *out, size_t cap, size_t *out_len, const uint8_t *msg,
              size_t len, unsigned *removed)
{
	struct copy c;
	unsigned n;

	*removed = 0;
	*out_len = 0;
	if (private_count(msg, len, &n) != 0)
		return REBIND_MALFORMED;
	if (n == 0)
		return REBIND_CLEAN;
	memset(&c.ct, 0, sizeof c.ct);
	wbuf_init(&c.b, out, cap);
	if (msg_copy(&c, msg, len) != 0)
		return REBIND_MALFORMED;
	if (c.b.err)
		return REBIND_NOSPACE;
	*removed = n;
	*out_len = c.b.len;
	return REBIND_FILTERED;
}
