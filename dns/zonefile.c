/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/zonefile.c — an RFC 1035 master file as the records of one zone (see
 * dns/zonefile.h).
 *
 * The text is cut into entries: an entry is one line, or more while
 * parentheses are open (RFC 1035 5.1), with comments left out and line
 * ends turned into blanks, so dns/rrtext.c (which reads one line) parses
 * the record. Directives are handled here; so are the blank owner, the
 * default TTL and the rules that make a set of records one zone.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/msg.h"
#include "dns/name.h"
#include "dns/zonefile.h"

/* Above DNS_TTL_MAX, so never a parsed TTL: "the entry gave none". */
#define TTL_UNSET UINT32_MAX
/* Longest error message, and longest piece of text quoted in one. */
#define MSG_MAX   320
#define QUOTE_MAX 40
/* RFC 1035 3.3.13: MINIMUM is the last 32-bit field of SOA RDATA. */
#define SOA_MINIMUM_LEN 4
#define ENTRY_MIN_CAP   256

enum entry_state {
	ENTRY_EOF = 0,
	ENTRY_OK,
	ENTRY_BAD, /* read to its end, error reported: skip it */
};

struct zf {
	const char *p, *end;
	unsigned line; /* of *p, from 1 */
	const struct zonefile_ops *ops;
	void *ctx;
	long nerrors;
	bool oom;
	bool stop; /* past ZONEFILE_RECORDS_MAX */
	/* the entry being read: NUL-terminated text */
	char *entry;
	size_t entry_len, entry_cap;
	unsigned entry_line;
	bool blank_owner;
	/* "OWNER entry" for an entry with a blank owner */
	char *rec;
	size_t rec_cap;
	/* what earlier entries set */
	uint8_t zone[DNS_NAME_MAX];
	uint8_t origin[DNS_NAME_MAX];
	uint8_t owner[DNS_NAME_MAX];
	bool have_owner;
	uint32_t dollar_ttl, last_ttl;
	bool have_dollar_ttl, have_last_ttl;
	unsigned soa_line; /* 0: no SOA yet */
	size_t nrecords;
	struct dns_rr_text *rr; /* 64 KiB: allocated once */
};

static void zf_error(struct zf *z, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
zf_error(struct zf *z, unsigned line, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	z->nerrors++;
	z->ops->error(z->ctx, line, msg);
}

/* Make room for n more bytes and a NUL in *buf; 0, or -1 past max. */
static int
buf_reserve(struct zf *z, char **buf, size_t *cap, size_t len, size_t n,
            size_t max)
{
	size_t need = len + n + 1, ncap;
	char *p;

	if (need <= *cap)
		return 0;
	if (need > max + 1)
		return -1;
	ncap = *cap < ENTRY_MIN_CAP ? ENTRY_MIN_CAP : *cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max + 1)
		ncap = max + 1;
	if ((p = realloc(*buf, ncap)) == NULL) {
		z->oom = true;
		return -1;
	}
	*buf = p;
	*cap = ncap;
	return 0;
}

/* Append c to the entry; false once it is too long (or out of memory). */
static bool
entry_put(struct zf *z, char c)
{
	if (buf_reserve(z, &z->entry, &z->entry_cap, z->entry_len, 1,
	                ZONEFILE_ENTRY_MAX) != 0)
		return false;
	z->entry[z->entry_len++] = c;
	z->entry[z->entry_len] = '\0';
	return true;
}

/* Skip a ';' comment: up to the line end, which stays unread. */
static void
comment_skip(struct zf *z)
{
	const char *nl = memchr(z->p, '\n', (size_t)(z->end - z->p));

	z->p = nl != NULL ? nl : z->end;
}

/* The state of the entry scanner between characters. */
struct scan {
	unsigned depth;     /* open parentheses */
	unsigned open_line; /* where the outermost '(' is */
	bool quoted;
	bool nul; /* reported once per entry */
	bool bad;
	bool too_long;
};

/*
 * One character of the entry (c was just read; an escaped one is taken
 * with its backslash). Returns false when the entry ends here.
 */
static bool
scan_char(struct zf *z, struct scan *s, char c)
{
	if (c == '\n') {
		z->line++;
		if (s->quoted) {
			zf_error(z, z->line - 1,
			         "quoted string not closed at the end of the "
			         "line");
			s->quoted = false;
			s->bad = true;
		}
		if (s->depth == 0)
			return false;
		c = ' ';
	} else if (c == '\0') {
		if (!s->nul)
			zf_error(z, z->line, "NUL byte in the text");
		s->nul = s->bad = true;
		c = ' ';
	} else if (c == '\\' && z->p < z->end && *z->p != '\n' &&
	           *z->p != '\0') {
		/* \X and \DDD: the next character is not syntax. */
		s->too_long |= !entry_put(z, c);
		c = *z->p++;
	} else if (s->quoted) {
		s->quoted = c != '"';
	} else if (c == '"') {
		s->quoted = true;
	} else if (c == ';') {
		comment_skip(z);
		return true;
	} else if (c == '(') {
		if (s->depth++ == 0)
			s->open_line = z->line;
	} else if (c == ')' && s->depth > 0) {
		/* An unbalanced ')' is left for dns/rrtext.c to report. */
		s->depth--;
	}
	if (!s->too_long)
		s->too_long = !entry_put(z, c);
	return true;
}

/* The next entry into z->entry. */
static enum entry_state
entry_read(struct zf *z)
{
	struct scan s = {0};

	if (z->p >= z->end)
		return ENTRY_EOF;
	if (buf_reserve(z, &z->entry, &z->entry_cap, 0, 0,
	                ZONEFILE_ENTRY_MAX) != 0)
		return ENTRY_BAD;
	z->entry_len = 0;
	z->entry[0] = '\0';
	z->entry_line = z->line;
	z->blank_owner = *z->p == ' ' || *z->p == '\t';
	while (z->p < z->end && !z->oom) {
		if (!scan_char(z, &s, *z->p++))
			break;
	}
	if (z->oom)
		return ENTRY_BAD;
	if (z->p >= z->end && s.quoted) {
		zf_error(z, z->line,
		         "quoted string not closed at the end of the file");
		s.bad = true;
	}
	if (z->p >= z->end && s.depth > 0) {
		zf_error(z, s.open_line,
		         "'(' not closed by the end of the file");
		s.bad = true;
	}
	if (s.too_long) {
		zf_error(z, z->entry_line, "entry longer than %u bytes of text",
		         ZONEFILE_ENTRY_MAX);
		s.bad = true;
	}
	return s.bad ? ENTRY_BAD : ENTRY_OK;
}

/* Next blank-separated word of a directive, NUL-terminated in place. */
static char *
word_next(char **s)
{
	char *p = *s + strspn(*s, " \t\r()"), *w = p;

	if (*p == '\0')
		return NULL;
	while (*p != '\0' && strchr(" \t\r()", *p) == NULL)
		p += p[0] == '\\' && p[1] != '\0' ? 2 : 1;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return w;
}

/* $ORIGIN, $TTL (RFC 1035 5.1, RFC 2308 4); the rest are errors. */
static void
directive(struct zf *z)
{
	char *s = z->entry, *dir = word_next(&s), *arg = word_next(&s);
	uint8_t name[DNS_NAME_MAX];
	unsigned line = z->entry_line;

	if (strcasecmp(dir, "$INCLUDE") == 0) {
		zf_error(
		    z, line,
		    "$INCLUDE is not allowed: dnsgate reads only the files "
		    "its configuration names (put the records here)");
		return;
	}
	if (strcasecmp(dir, "$ORIGIN") != 0 && strcasecmp(dir, "$TTL") != 0) {
		zf_error(z, line,
		         "unknown directive '%.*s' (there are $ORIGIN and "
		         "$TTL)",
		         QUOTE_MAX, dir);
		return;
	}
	if (arg == NULL || word_next(&s) != NULL) {
		zf_error(z, line, "%s takes one value", dir);
		return;
	}
	if (strcasecmp(dir, "$TTL") == 0) {
		if (dns_ttl_from_text(arg, DNS_TTL_MAX, &z->dollar_ttl) != 0)
			zf_error(z, line,
			         "bad $TTL '%.*s' (0..%lu seconds, or units as "
			         "in 1h30m)",
			         QUOTE_MAX, arg, (unsigned long)DNS_TTL_MAX);
		else
			z->have_dollar_ttl = true;
		return;
	}
	/* A relative $ORIGIN is relative to the current one. */
	if (dns_name_from_text(arg, z->origin, name) == 0) {
		zf_error(z, line, "bad $ORIGIN '%.*s'", QUOTE_MAX, arg);
		return;
	}
	memcpy(z->origin, name, dns_name_len(name));
}

static uint32_t
soa_minimum(const struct dns_rr_text *rr)
{
	const uint8_t *m = rr->rdata + rr->rdlength - SOA_MINIMUM_LEN;

	return (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
	       (uint32_t)m[2] << 8 | m[3];
}

/* The TTL of a record that gave none (dns/zonefile.h); -1 when none. */
static int
ttl_default(struct zf *z, struct dns_rr_text *rr)
{
	if (z->have_dollar_ttl)
		rr->ttl = z->dollar_ttl;
	else if (z->have_last_ttl)
		rr->ttl = z->last_ttl;
	else if (rr->type == DNS_TYPE_SOA)
		rr->ttl = soa_minimum(rr) <= DNS_TTL_MAX ? soa_minimum(rr)
		                                         : DNS_TTL_MAX;
	else
		return -1;
	return 0;
}

/* The zone rules of dns/zonefile.h; 0 when rr may be handed on. */
static int
record_check(struct zf *z, struct dns_rr_text *rr)
{
	char owner[DNS_NAME_TEXT_MAX], zone[DNS_NAME_TEXT_MAX];
	unsigned line = z->entry_line;

	(void)dns_name_to_text(rr->owner, owner, sizeof(owner));
	(void)dns_name_to_text(z->zone, zone, sizeof(zone));
	if (!dns_name_is_sub(rr->owner, z->zone)) {
		zf_error(z, line, "'%s' is outside the zone %s", owner, zone);
		return -1;
	}
	if (rr->owner[0] == 1 && rr->owner[1] == '*') {
		zf_error(z, line,
		         "wildcard owner '%s': not supported (records are "
		         "served as they are, without wildcard synthesis)",
		         owner);
		return -1;
	}
	if (rr->type != DNS_TYPE_SOA)
		return 0;
	if (!dns_name_equal(rr->owner, z->zone)) {
		zf_error(z, line,
		         "SOA at '%s', not at the zone apex %s (RFC 1035 5.2)",
		         owner, zone);
		return -1;
	}
	if (z->soa_line != 0) {
		zf_error(z, line,
		         "second SOA record (the first is on line %u; RFC "
		         "1035 5.2: one per zone)",
		         z->soa_line);
		return -1;
	}
	z->soa_line = line;
	return 0;
}

static void
record_take(struct zf *z, struct dns_rr_text *rr)
{
	char err[MSG_MAX];

	memcpy(z->owner, rr->owner, rr->owner_len);
	z->have_owner = true;
	if (rr->ttl == TTL_UNSET && ttl_default(z, rr) != 0) {
		zf_error(z, z->entry_line,
		         "no TTL, and no $TTL or earlier record to take one "
		         "from (RFC 2308 4)");
		return;
	}
	z->last_ttl = rr->ttl;
	z->have_last_ttl = true;
	if (record_check(z, rr) != 0)
		return;
	if (++z->nrecords > ZONEFILE_RECORDS_MAX) {
		zf_error(z, z->entry_line,
		         "more than %u records: the limit of one zone file",
		         ZONEFILE_RECORDS_MAX);
		z->stop = true;
		return;
	}
	err[0] = '\0';
	if (z->ops->record(z->ctx, rr, z->entry_line, err, sizeof(err)) != 0)
		zf_error(z, z->entry_line, "%s", err);
}

/* RFC 1035 5.1: an entry starting with a blank has the previous owner. */
static const char *
with_owner(struct zf *z)
{
	char owner[DNS_NAME_TEXT_MAX];
	int n;

	if (!z->have_owner) {
		zf_error(z, z->entry_line,
		         "no owner name, and no record before to take it from");
		return NULL;
	}
	n = dns_name_to_text(z->owner, owner, sizeof(owner));
	if (n < 0 || buf_reserve(z, &z->rec, &z->rec_cap, 0,
	                         (size_t)n + 1 + z->entry_len,
	                         ZONEFILE_ENTRY_MAX + sizeof(owner)) != 0)
		return NULL; /* cannot happen, or out of memory */
	memcpy(z->rec, owner, (size_t)n);
	z->rec[n] = ' ';
	memcpy(z->rec + n + 1, z->entry, z->entry_len + 1);
	return z->rec;
}

static void
entry_do(struct zf *z)
{
	const char *text = z->entry;
	char err[MSG_MAX];

	if (text[strspn(text, " \t\r()")] == '\0')
		return; /* blank, or only a comment */
	if (text[0] == '$') {
		directive(z);
		return;
	}
	if (z->blank_owner && (text = with_owner(z)) == NULL)
		return;
	if (dns_rr_from_text(text, z->origin, TTL_UNSET, z->rr, err,
	                     sizeof(err)) != 0) {
		zf_error(z, z->entry_line, "%s", err);
		return;
	}
	record_take(z, z->rr);
}

long
zonefile_parse(const char *text, size_t len, const uint8_t *zone,
               const struct zonefile_ops *ops, void *ctx)
{
	char ztext[DNS_NAME_TEXT_MAX];
	struct zf z = {
	    .p = text,
	    .end = text + len,
	    .line = 1,
	    .ops = ops,
	    .ctx = ctx,
	};
	enum entry_state st;

	memcpy(z.zone, zone, dns_name_len(zone));
	memcpy(z.origin, zone, dns_name_len(zone));
	if ((z.rr = malloc(sizeof(*z.rr))) == NULL)
		return -1;
	while (!z.stop && !z.oom && (st = entry_read(&z)) != ENTRY_EOF) {
		if (st == ENTRY_OK)
			entry_do(&z);
	}
	if (!z.stop && !z.oom && z.soa_line == 0) {
		(void)dns_name_to_text(z.zone, ztext, sizeof(ztext));
		zf_error(&z, 0,
		         "no SOA record at the zone apex %s (RFC 1035 5.2: a "
		         "zone has exactly one)",
		         ztext);
	}
	free(z.rr);
	free(z.rec);
	free(z.entry);
	return z.oom ? -1 : z.nerrors;
}
