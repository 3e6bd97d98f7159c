/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/blocklist.c — blocklists, allowlists and RPZ (see
 * policy/blocklist.h).
 *
 * Memory: names (lower-case wire form) and RDATA live in an arena of 1 MiB
 * chunks, so a million names cost a million copies and no malloc each, and
 * the arena never moves (pointers into it stay valid). A loaded list is an
 * array of 16-byte entries pointing into its arena; a blockset is an open
 * addressing table of 16-byte nodes (hash, name, two rules) at most half
 * full, plus its own arena copy of the distinct names.
 *
 * Hashing: a name is hashed label by label from the root outwards (FNV-1a,
 * 64 bits, then mixed down to 32), so a lookup hashes the suffixes of the
 * QNAME incrementally: one label's bytes and one probe per level.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/htab.h"
#include "dns/idn.h"
#include "dns/rrtext.h"
#include "policy/blocklist.h"
#include "policy/fileio.h"

#define ARENA_CHUNK_BITS 20
#define ARENA_CHUNK      ((size_t)1 << ARENA_CHUNK_BITS)
/* Offsets are 32 bits and stored + 1 (0 = none): 4095 chunks at most. */
#define ARENA_MAX_CHUNKS 4095

#define TABLE_MIN 16

/* Default TTL of RPZ records before any $TTL (as local-data's). */
#define RPZ_DEFAULT_TTL 3600
/* Longest error text quoted from input. */
#define QUOTE_MAX 60
/* Offset of the QNAME in a message (right after the header) and the
 * compression pointer to it (RFC 1035 4.1.4). */
#define QNAME_OFFSET DNS_HEADER_LEN
#define QNAME_PTR    (0xc000 | QNAME_OFFSET)
/* RFC 1035 4.1.1: counts patched once the sections are written. */
#define HDR_FLAGS   2
#define HDR_ANCOUNT 6
#define HDR_NSCOUNT 8
#define HDR_ARCOUNT 10
/* RFC 1035 3.3.13: MINIMUM is the last field of SOA RDATA. */
#define SOA_MINIMUM_LEN 4

/* Which names an entry covers. */
#define MATCH_SELF  0x1 /* the name itself */
#define MATCH_BELOW 0x2 /* every name below it */

/* RPZ local data bookkeeping (RFC 1034 3.6.2: a CNAME stands alone). */
#define ENTRY_CNAME   0x1
#define ENTRY_OTHER   0x2
#define ENTRY_REWRITE 0x4
/* An adblock $important rule: decides before exceptions (rule_prio). */
#define ENTRY_IMPORTANT 0x8

/*
 * "localhost. nobody.invalid. 1 3600 1200 604800 60": the SOA of negative
 * answers for lists without one (policy/blocklist.h).
 */
static const uint8_t synth_soa_rdata[] = {
    9,    'l',  'o',  'c',           'a', 'l', 'h', 'o', 's',
    't',  0,                                                /* localhost. */
    6,    'n',  'o',  'b',           'o', 'd', 'y',         /* nobody. */
    7,    'i',  'n',  'v',           'a', 'l', 'i', 'd', 0, /* invalid. */
    0x00, 0x00, 0x00, 0x01,                                 /* SERIAL 1 */
    0x00, 0x00, 0x0e, 0x10,                                 /* REFRESH 3600 */
    0x00, 0x00, 0x04, 0xb0,                                 /* RETRY 1200 */
    0x00, 0x09, 0x3a, 0x80,                                 /* EXPIRE 604800 */
    0x00, 0x00, 0x00, BLOCKLIST_TTL,                        /* MINIMUM */
};
static const uint8_t synth_soa_suffix[] = {
    9, 'b', 'l', 'o', 'c', 'k', 'l', 'i', 's', 't',
    7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0,
};

/* RPZ special CNAME targets (BIND 9 ARM, "Response Policy Zones"). */
static const uint8_t rpz_passthru[] = "\014rpz-passthru";
static const uint8_t rpz_drop[] = "\010rpz-drop";
static const uint8_t rpz_tcp_only[] = "\014rpz-tcp-only";
static const uint8_t rpz_wild_root[] = "\001*";

/* Trigger kinds other than QNAME, recognised and skipped. */
static const char *const rpz_unsupported[] = {
    "rpz-ip",
    "rpz-client-ip",
    "rpz-nsdname",
    "rpz-nsip",
};

/* hosts-file names that are not blocks (the usual header lines). */
static const char *const hosts_skipped[] = {
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct arena {
	uint8_t **chunk;
	size_t n;    /* chunks in use */
	size_t used; /* bytes used in the last chunk */
};

/* One listed name or trigger. */
struct bl_entry {
	uint32_t name;  /* arena offset of the lower-case wire name */
	uint8_t match;  /* MATCH_SELF | MATCH_BELOW */
	uint8_t action; /* enum block_action */
	uint8_t flags;  /* ENTRY_* (RPZ local data) */
	uint8_t pad;
	uint32_t rr_first; /* local data: rrs[rr_first .. +rr_count) */
	uint32_t rr_count;
};

/* One RPZ local-data record. */
struct bl_rr {
	uint32_t entry;
	uint32_t rdata; /* arena offset */
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlength;
};

struct blocklist {
	char *name;
	struct blocklist_info info;
	struct arena bytes; /* names and RDATA */
	struct bl_entry *entries;
	size_t nentries, entries_cap;
	struct bl_rr *rrs;
	size_t nrrs, rrs_cap;
	/* RPZ: the zone's SOA, when it has one. */
	bool has_soa;
	uint8_t apex[DNS_NAME_MAX];
	uint32_t soa_ttl;
	uint32_t soa_rdata;
	uint16_t soa_rdlength;
	/* The first bad entries, for the report. */
	struct blocklist_problem problems[BLOCKLIST_REPORT_MAX];
	size_t nproblems;
};

/* A parse in progress (its triggers index finds RPZ duplicates). */
/* Longest line a list may have (a hosts line with many names). */
#define LINE_MAX_LEN 65536

struct loader {
	struct blocklist *bl;
	FILE *f;
	char *line;
	size_t linecap;
	int lineno;
	char *err;
	size_t errlen;
	int *errline;
	/* Lines that hold an entry, good or bad (RPZ: records), and those
	 * with a bad one: more than half bad is not a list. */
	size_t lines, lines_bad;
	/* RPZ state */
	struct htab triggers;
	struct dns_rr_text *rr;
	char *rec, *rec2; /* a record joined over lines; with its owner */
	size_t reccap, rec2cap;
	uint8_t origin[DNS_NAME_MAX];
	uint8_t owner[DNS_NAME_MAX]; /* the previous owner, as written */
	bool have_owner;
	bool apex_set;
	uint32_t default_ttl;
	/* blocklist_locate: the entry looked for (NULL: a load), and where
	 * it was found; nothing is kept meanwhile. */
	const uint8_t *find;
	uint8_t find_match;
	struct blocklist_where *where;
};

/* ---- arena ---- */

/* Copy p[0..len) (len <= ARENA_CHUNK) into a; its offset in *off. */
static int
arena_put(struct arena *a, const void *p, size_t len, uint32_t *off)
{
	uint8_t **chunks;

	if (a->n == 0 || a->used + len > ARENA_CHUNK) {
		if (a->n == ARENA_MAX_CHUNKS)
			return -1;
		chunks = realloc(a->chunk, (a->n + 1) * sizeof(*chunks));
		if (chunks == NULL)
			return -1;
		a->chunk = chunks;
		if ((a->chunk[a->n] = malloc(ARENA_CHUNK)) == NULL)
			return -1;
		a->n++;
		a->used = 0;
	}
	memcpy(a->chunk[a->n - 1] + a->used, p, len);
	*off = (uint32_t)(((a->n - 1) << ARENA_CHUNK_BITS) | a->used);
	a->used += len;
	return 0;
}

static const uint8_t *
arena_at(const struct arena *a, uint32_t off)
{
	return a->chunk[off >> ARENA_CHUNK_BITS] + (off & (ARENA_CHUNK - 1));
}

static void
arena_free(struct arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->chunk[i]);
	free(a->chunk);
	memset(a, 0, sizeof(*a));
}

/* ---- names ---- */

/* ---- errors ---- */

static int loader_fail(struct loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int entry_bad(struct loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A reason quotes the list's own bytes, which may be anything (a binary
 * file): every byte outside printable ASCII is written \xNN, so that -t,
 * dnsgate ctl reload and the log show the reason, not the bytes. An escape
 * is never cut in two.
 */
static void
text_escape(char *out, size_t cap, const char *fmt, va_list ap)
{
	char raw[512];
	size_t j = 0;

	if (cap == 0)
		return;
	(void)vsnprintf(raw, sizeof(raw), fmt, ap);
	for (const char *p = raw; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		int n;

		if (c < 0x20 || c >= 0x7f)
			n = snprintf(out + j, cap - j, "\\x%02x", c);
		else
			n = snprintf(out + j, cap - j, "%c", c);
		if (n < 0 || (size_t)n >= cap - j)
			break;
		j += (size_t)n;
	}
	out[j] = '\0';
}

static int
loader_fail(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;

	if (ld->err != NULL) {
		va_start(ap, fmt);
		text_escape(ld->err, ld->errlen, fmt, ap);
		va_end(ap);
	}
	if (ld->errline != NULL)
		*ld->errline = line;
	return -1;
}

/*
 * A bad entry at line: counted and skipped, and kept for the report while
 * fewer than BLOCKLIST_REPORT_MAX are. Returns 0: the load goes on. Past
 * the report, a bad line costs a counter (a list with 10,000 bad lines
 * loads as fast as a good one).
 */
static int
entry_bad(struct loader *ld, int line, const char *fmt, ...)
{
	struct blocklist *bl = ld->bl;
	struct blocklist_problem *p;
	va_list ap;

	bl->info.bad++;
	if (bl->nproblems == BLOCKLIST_REPORT_MAX)
		return 0;
	p = &bl->problems[bl->nproblems++];
	p->line = line;
	va_start(ap, fmt);
	text_escape(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
	return 0;
}

static int
loader_oom(struct loader *ld)
{
	return loader_fail(ld, 0, "out of memory");
}

/* ---- the list being built ---- */

/* Append an entry for name (lower case); its index in *idx. */
static int
entry_append(struct blocklist *bl, const uint8_t *name, uint8_t match,
             enum block_action action, size_t *idx)
{
	struct bl_entry *e;
	uint32_t off;

	if (htab_array_reserve((void **)&bl->entries, &bl->entries_cap,
	                       bl->nentries, sizeof(*bl->entries), 64) != 0 ||
	    arena_put(&bl->bytes, name, dns_name_len(name), &off) != 0)
		return -1;
	e = &bl->entries[bl->nentries];
	*e = (struct bl_entry){
	    .name = off, .match = match, .action = (uint8_t)action};
	if (idx != NULL)
		*idx = bl->nentries;
	bl->nentries++;
	bl->info.entries++;
	return 0;
}

static const uint8_t *
entry_name(const struct blocklist *bl, const struct bl_entry *e)
{
	return arena_at(&bl->bytes, e->name);
}

/*
 * blocklist_locate's test of each entry read: 0 to go on (and keep
 * nothing), or -1 to stop at the one looked for (ld->where filled).
 */
static int
locate_entry(struct loader *ld, const uint8_t *name, uint8_t match, int line)
{
	if (!(match & ld->find_match) ||
	    memcmp(name, ld->find, dns_name_len(ld->find)) != 0)
		return 0;
	ld->where->line = line;
	ld->where->wildcard = match == MATCH_BELOW;
	return -1;
}

/* ---- reading lines ---- */

/*
 * The next line into ld->line without its line end; NULL at the end of
 * the file (or on a read error, which *failed reports).
 */
static char *
line_next(struct loader *ld, bool *failed)
{
	ssize_t n;

	*failed = false;
	errno = 0;
	if ((n = getline(&ld->line, &ld->linecap, ld->f)) < 0) {
		*failed = ferror(ld->f) != 0;
		return NULL;
	}
	ld->lineno++;
	/* No list line is anywhere near this long: a runaway file is
	 * refused before it eats the memory (getline would grow forever). */
	if (n > LINE_MAX_LEN) {
		*failed = true;
		errno = EFBIG;
		return NULL;
	}
	while (n > 0 && (ld->line[n - 1] == '\n' || ld->line[n - 1] == '\r'))
		ld->line[--n] = '\0';
	/* A UTF-8 byte-order mark before the first line. */
	if (ld->lineno == 1 && strncmp(ld->line, "\xef\xbb\xbf", 3) == 0)
		memmove(ld->line, ld->line + 3, (size_t)n - 2);
	return ld->line;
}

static int
read_failed(struct loader *ld)
{
	return loader_fail(ld, 0, "read error: %s", strerror(errno));
}

/* Cut s at the first c (a comment). */
static void
comment_cut(char *s, char c)
{
	char *p = strchr(s, c);

	if (p != NULL)
		*p = '\0';
}

/* The next blank-separated word of *s, NUL-terminated in place; or NULL. */
static char *
word_next(char **s)
{
	char *p = *s + strspn(*s, " \t"), *w;

	if (*p == '\0')
		return NULL;
	w = p;
	p += strcspn(p, " \t");
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return w;
}

/* ---- recognising the format ---- */

static bool
is_address(const char *word)
{
	char buf[IP_ADDR_TEXT_MAX];
	struct ip_addr a;
	size_t n = strcspn(word, "%"); /* fe80::1%lo0 */

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, word, n);
	buf[n] = '\0';
	return ip_addr_parse(buf, &a) == 0;
}

/*
 * Whether word may be an address, cheaply: an IPv6 address has a ':', an
 * IPv4 address ends with a digit (a name, with a letter of its TLD), so
 * inet_pton is not paid on every name of a million.
 */
static bool
may_be_address(const char *word)
{
	size_t n = strcspn(word, ":");

	if (word[n] == ':')
		return true;
	if (n > 1 && word[n - 1] == '.')
		n--;
	return n > 0 && word[n - 1] >= '0' && word[n - 1] <= '9';
}

/* What one line that is not blank or a comment says; AUTO: no opinion. */
static enum blocklist_format
sniff_line(char *line, bool first)
{
	char *s = line, *w, *t;
	bool address;

	/* An adblock comment, rule, exception or header. */
	if (line[0] == '!' || strncmp(line, "||", 2) == 0 ||
	    strncmp(line, "@@", 2) == 0 ||
	    strncasecmp(line, "[adblock", 8) == 0)
		return BLOCKLIST_ADBLOCK;
	w = word_next(&s);
	address = is_address(w);
	if (w[0] == '$')
		return BLOCKLIST_RPZ;
	while (!address && (t = word_next(&s)) != NULL) {
		if (t[0] == ';' || t[0] == '#')
			break;
		if (strcasecmp(t, "SOA") == 0 || strcasecmp(t, "CNAME") == 0)
			return BLOCKLIST_RPZ;
	}
	if (first && address)
		return BLOCKLIST_HOSTS;
	return BLOCKLIST_AUTO;
}

/* Look at the first lines of ld->f, then rewind it. */
static int
format_sniff(struct loader *ld, enum blocklist_format *format)
{
	enum blocklist_format f, seen = BLOCKLIST_AUTO;
	bool failed = false;
	unsigned n = 0;
	char *line;

	while (n < BLOCKLIST_SNIFF_LINES &&
	       (line = line_next(ld, &failed)) != NULL) {
		line += strspn(line, " \t");
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		f = sniff_line(line, n++ == 0);
		if (f == BLOCKLIST_RPZ || f == BLOCKLIST_ADBLOCK) {
			seen = f;
			break;
		}
		if (f == BLOCKLIST_HOSTS)
			seen = f;
	}
	if (failed)
		return read_failed(ld);
	*format = seen == BLOCKLIST_AUTO ? BLOCKLIST_DOMAINS : seen;
	ld->lineno = 0;
	if (fseek(ld->f, 0, SEEK_SET) != 0)
		return loader_fail(ld, 0, "cannot rewind: %s", strerror(errno));
	return 0;
}

/* ---- domains and hosts ---- */

/* Letters, digits, '-', '_' and dots only (the names of blocklists). */
static bool
host_chars_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	}
	return true;
}

/*
 * A name to try as UTF-8 (dns/idn.h): bytes outside ASCII, and only host
 * characters among the others. A name with a control byte or a '!' is a
 * bad domain name, whatever else it holds (a binary's first word).
 */
static bool
idn_candidate(const char *s)
{
	bool high = false;

	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			high = true;
		else if (!((*s >= 'a' && *s <= 'z') ||
		           (*s >= 'A' && *s <= 'Z') ||
		           (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		           *s == '.'))
			return false;
	}
	return high;
}

/*
 * Add one listed domain (action BLOCK_LISTED, or BLOCK_ALLOWED for an
 * adblock exception; flags 0 or ENTRY_IMPORTANT); "*." is allowed in
 * domains and adblock files. A name in UTF-8 is converted to A-labels
 * first (dns/idn.h); a name that cannot be is a bad entry, as is any
 * other bad name.
 */
static int
domain_add(struct loader *ld, const char *text, bool wildcard_ok,
           enum block_action action, uint8_t flags)
{
	uint8_t match = MATCH_SELF | MATCH_BELOW;
	uint8_t name[DNS_NAME_MAX];
	char ascii[DNS_NAME_TEXT_MAX];
	const char *s = text, *why;
	bool ok;

	if (wildcard_ok && strncmp(s, "*.", 2) == 0) {
		match = MATCH_BELOW;
		s += 2;
	}
	if (!(ok = host_chars_ok(s)) && idn_candidate(s)) {
		if (dns_idn_to_ascii(s, ascii, sizeof(ascii), &why) != 0)
			return entry_bad(
			    ld, ld->lineno,
			    "bad internationalised name '%.*s': %s", QUOTE_MAX,
			    text, why);
		s = ascii;
		ok = host_chars_ok(s);
	}
	if (!ok || dns_name_from_text(s, NULL, name) == 0)
		return entry_bad(ld, ld->lineno, "bad domain name '%.*s'",
		                 QUOTE_MAX, text);
	if (name[0] == 0)
		return entry_bad(ld, ld->lineno, "the root cannot be listed");
	if (may_be_address(s) && is_address(s))
		return entry_bad(ld, ld->lineno,
		                 "'%.*s' is an address, not a domain",
		                 QUOTE_MAX, text);
	dns_name_lower(name);
	if (ld->find != NULL)
		return locate_entry(ld, name, match, ld->lineno);
	if (entry_append(ld->bl, name, match, action, NULL) != 0)
		return loader_oom(ld);
	ld->bl->entries[ld->bl->nentries - 1].flags = flags;
	return 0;
}

static int
domains_line(struct loader *ld, char *line)
{
	char *w, *extra;

	comment_cut(line, '#');
	if ((w = word_next(&line)) == NULL)
		return 0;
	if ((extra = word_next(&line)) != NULL)
		return entry_bad(ld, ld->lineno,
		                 "expected one domain per line, got "
		                 "'%.*s' after '%.*s'",
		                 QUOTE_MAX, extra, QUOTE_MAX, w);
	return domain_add(ld, w, true, BLOCK_LISTED, 0);
}

static bool
hosts_name_skipped(const char *name)
{
	size_t i;

	if (strncasecmp(name, "ip6-", 4) == 0 ||
	    (may_be_address(name) && is_address(name)))
		return true;
	for (i = 0; i < ARRAY_LEN(hosts_skipped); i++) {
		if (strcasecmp(name, hosts_skipped[i]) == 0)
			return true;
	}
	return false;
}

static int
hosts_line(struct loader *ld, char *line)
{
	char *addr, *w;
	bool any = false;

	comment_cut(line, '#');
	if ((addr = word_next(&line)) == NULL)
		return 0;
	if (!is_address(addr))
		return entry_bad(ld, ld->lineno,
		                 "expected 'ADDRESS NAME...', got '%.*s'",
		                 QUOTE_MAX, addr);
	while ((w = word_next(&line)) != NULL) {
		any = true;
		if (hosts_name_skipped(w)) {
			ld->bl->info.ignored++;
			continue;
		}
		if (domain_add(ld, w, false, BLOCK_LISTED, 0) != 0)
			return -1;
	}
	if (!any)
		return entry_bad(ld, ld->lineno, "no name after '%.*s'",
		                 QUOTE_MAX, addr);
	return 0;
}

/* ---- adblock ---- */

/* A rule dnsgate does not apply (policy/blocklist.h): counted, skipped. */
static int
rule_unsupported(struct loader *ld)
{
	ld->bl->info.unsupported++;
	return 0;
}

/* Cosmetic (element hiding, CSS, scriptlet) rules: "example.com##.ad". */
static bool
adblock_cosmetic(const char *s)
{
	static const char *const marks[] = {"##", "#@#", "#?#", "#$#", "#%#"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(marks); i++)
		if (strstr(s, marks[i]) != NULL)
			return true;
	return false;
}

/*
 * "||name^" with an optional "|" and "$important" after the '^': *name is
 * cut out in place, *flags is ENTRY_IMPORTANT for $important. false when
 * the rule is of another shape (a path, a wildcard, no '^': a URL rule)
 * or has another modifier: "important" is the one with a DNS meaning
 * dnsgate applies (policy/blocklist.h); the rule is then unsupported.
 */
static bool
adblock_domain_rule(char *s, char **name, uint8_t *flags)
{
	char *caret = strchr(s, '^'), *rest;

	*flags = 0;
	if (caret == NULL || caret == s)
		return false;
	*caret = '\0';
	if (strpbrk(s, "*/|:?=&$") != NULL)
		return false;
	rest = caret + 1;
	if (*rest == '|')
		rest++;
	if (strcmp(rest, "$important") == 0) {
		*flags = ENTRY_IMPORTANT;
		rest += strlen(rest);
	}
	*name = s;
	return *rest == '\0';
}

/* A hosts line ("0.0.0.0 name"), as AdGuard Home reads one in any list. */
static bool
adblock_hosts_line(const char *s)
{
	char addr[IP_ADDR_TEXT_MAX];
	size_t n = strcspn(s, " \t");

	if (!((s[0] >= '0' && s[0] <= '9') || s[0] == ':') || s[n] == '\0' ||
	    n >= sizeof(addr))
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	return is_address(addr);
}

static int
adblock_line(struct loader *ld, char *line)
{
	char *s = line + strspn(line, " \t"), *name;
	enum block_action action = BLOCK_LISTED;
	size_t n = strlen(s);
	uint8_t flags;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	/* Blank, a comment, the "[Adblock Plus 2.0]" header. */
	if (n == 0 || s[0] == '!' || (s[0] == '[' && s[n - 1] == ']'))
		return 0;
	if (adblock_cosmetic(s))
		return rule_unsupported(ld);
	if (s[0] == '#')
		return 0;
	if (adblock_hosts_line(s))
		return hosts_line(ld, s);
	/* A regular expression. */
	if (s[0] == '/')
		return rule_unsupported(ld);
	if (strpbrk(s, " \t") != NULL)
		return entry_bad(ld, ld->lineno,
		                 "expected one rule per line, got '%.*s'",
		                 QUOTE_MAX, s);
	if (strncmp(s, "@@", 2) == 0) {
		action = BLOCK_ALLOWED;
		s += 2;
	}
	if (strncmp(s, "||", 2) == 0) {
		if (!adblock_domain_rule(s + 2, &name, &flags))
			return rule_unsupported(ld);
		return domain_add(ld, name, false, action, flags);
	}
	/* A URL rule ("|https://", a path, modifiers, a '*' pattern). */
	if (strpbrk(s, "^$|/:?=&") != NULL ||
	    strchr(s + (strncmp(s, "*.", 2) == 0 ? 2 : 0), '*') != NULL)
		return rule_unsupported(ld);
	return domain_add(ld, s, true, action, 0);
}

/* Everything a line may count: a line that counts none is a comment. */
static size_t
line_counts(const struct blocklist_info *in)
{
	return in->entries + in->ignored + in->unsupported + in->bad;
}

static int
plain_load(struct loader *ld, int (*line_fn)(struct loader *, char *))
{
	const struct blocklist_info *in = &ld->bl->info;
	size_t bad, counts;
	bool failed;
	char *line;

	while ((line = line_next(ld, &failed)) != NULL) {
		bad = in->bad;
		counts = line_counts(in);
		if (line_fn(ld, line) != 0)
			return -1;
		ld->lines += line_counts(in) != counts;
		ld->lines_bad += in->bad != bad;
	}
	return failed ? read_failed(ld) : 0;
}

/* ---- RPZ: reading records ---- */

/*
 * Cut s at a ';' comment outside quotes (RFC 1035 5.1) and return how much
 * deeper in parentheses the line leaves us.
 */
static int
zone_line_scan(char *s)
{
	bool quoted = false;
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
		} else if (*s == '"') {
			quoted = !quoted;
		} else if (!quoted && *s == ';') {
			*s = '\0';
			break;
		} else if (!quoted && *s == '(') {
			depth++;
		} else if (!quoted && *s == ')') {
			depth--;
		}
	}
	return depth;
}

/* Append " s" (or s when *len is 0) to the growing string *buf. */
static int
str_append(char **buf, size_t *cap, size_t *len, const char *s)
{
	size_t n = strlen(s), need = *len + n + 2;
	char *p;

	if (need > *cap) {
		if ((p = realloc(*buf, 2 * need)) == NULL)
			return -1;
		*buf = p;
		*cap = 2 * need;
	}
	if (*len > 0)
		(*buf)[(*len)++] = ' ';
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

/*
 * The next record into ld->rec, its lines joined while parentheses are
 * open; *first is its first line. Returns 1, 0 at the end, -1 on error.
 */
static int
rpz_record_read(struct loader *ld, int *first)
{
	size_t len = 0;
	bool failed;
	int depth;
	char *line;

	if ((line = line_next(ld, &failed)) == NULL)
		return failed ? read_failed(ld) : 0;
	*first = ld->lineno;
	depth = zone_line_scan(line);
	if (str_append(&ld->rec, &ld->reccap, &len, line) != 0)
		return loader_oom(ld);
	while (depth > 0) {
		if ((line = line_next(ld, &failed)) == NULL) {
			if (failed)
				return read_failed(ld);
			return loader_fail(ld, *first,
			                   "'(' not closed by the end of the "
			                   "file");
		}
		depth += zone_line_scan(line);
		if (str_append(&ld->rec, &ld->reccap, &len, line) != 0)
			return loader_oom(ld);
	}
	return 1;
}

static int
rpz_directive(struct loader *ld, char *text, int line)
{
	char *s = text, *dir = word_next(&s), *arg = word_next(&s);
	uint8_t name[DNS_NAME_MAX];

	if (strcasecmp(dir, "$INCLUDE") == 0)
		return loader_fail(ld, line, "$INCLUDE is not supported");
	if (strcasecmp(dir, "$ORIGIN") != 0 && strcasecmp(dir, "$TTL") != 0)
		return loader_fail(ld, line, "unknown directive '%.*s'",
		                   QUOTE_MAX, dir);
	if (arg == NULL || word_next(&s) != NULL)
		return loader_fail(ld, line, "%s takes one argument", dir);
	if (strcasecmp(dir, "$TTL") == 0) {
		if (dns_ttl_from_text(arg, DNS_TTL_MAX, &ld->default_ttl) != 0)
			return loader_fail(ld, line, "bad $TTL '%.*s'",
			                   QUOTE_MAX, arg);
		return 0;
	}
	/* A relative $ORIGIN is relative to the current one (RFC 1035). */
	if (dns_name_from_text(arg, ld->origin, name) == 0)
		return loader_fail(ld, line, "bad $ORIGIN '%.*s'", QUOTE_MAX,
		                   arg);
	memcpy(ld->origin, name, dns_name_len(name));
	return 0;
}

/* ---- RPZ: records to entries ---- */

static bool
trigger_eq(const struct blocklist *bl, uint32_t idx, const uint8_t *name,
           uint8_t match)
{
	const struct bl_entry *e = &bl->entries[idx];

	return e->match == match &&
	       memcmp(entry_name(bl, e), name, dns_name_len(name)) == 0;
}

/*
 * The entry for trigger (name, match), made with action when new
 * (*created then true). NULL when out of memory.
 */
static struct bl_entry *
trigger_get(struct loader *ld, const uint8_t *name, uint8_t match,
            enum block_action action, bool *created)
{
	struct blocklist *bl = ld->bl;
	uint32_t h = htab_hash_name(name) ^ match;
	struct htab *t = &ld->triggers;
	size_t i, idx;

	*created = false;
	if (htab_reserve(t, TABLE_MIN) != 0)
		return NULL;
	for (i = h & (t->cap - 1); t->slot[i].idx1 != 0;
	     i = (i + 1) & (t->cap - 1)) {
		if (t->slot[i].hash == h &&
		    trigger_eq(bl, t->slot[i].idx1 - 1, name, match))
			return &bl->entries[t->slot[i].idx1 - 1];
	}
	if (entry_append(bl, name, match, action, &idx) != 0)
		return NULL;
	t->slot[i] = (struct htab_slot){.hash = h, .idx1 = (uint32_t)idx + 1};
	t->n++;
	*created = true;
	return &bl->entries[idx];
}

/* What a record at a trigger means (the table in policy/blocklist.h). */
static enum block_action
rpz_action(const struct dns_rr_text *rr, const uint8_t *trigger, bool wild,
           bool *rewrite)
{
	const uint8_t *target = rr->rdata;

	*rewrite = false;
	if (rr->type != DNS_TYPE_CNAME)
		return BLOCK_LOCAL_DATA;
	if (target[0] == 0)
		return BLOCK_NXDOMAIN;
	if (dns_name_equal(target, rpz_wild_root))
		return BLOCK_NODATA;
	if (dns_name_equal(target, rpz_passthru) ||
	    (!wild && dns_name_equal(target, trigger)))
		return BLOCK_PASSTHRU;
	if (dns_name_equal(target, rpz_drop))
		return BLOCK_DROP;
	if (dns_name_equal(target, rpz_tcp_only))
		return BLOCK_TCP_ONLY;
	*rewrite = target[0] == 1 && target[1] == '*';
	return BLOCK_LOCAL_DATA;
}

static bool
trigger_unsupported(const uint8_t *trigger)
{
	const uint8_t *last = trigger;
	size_t i;

	if (trigger[0] == 0)
		return false;
	while (last[1 + last[0]] != 0)
		last = dns_name_parent(last);
	for (i = 0; i < ARRAY_LEN(rpz_unsupported); i++) {
		if (strlen(rpz_unsupported[i]) == last[0] &&
		    strncasecmp((const char *)last + 1, rpz_unsupported[i],
		                last[0]) == 0)
			return true;
	}
	return false;
}

static int
rpz_rr_append(struct loader *ld, size_t entry, const struct dns_rr_text *rr,
              bool rewrite)
{
	struct blocklist *bl = ld->bl;
	/* "*.target." is kept as "target.": the QNAME goes in front. */
	size_t skip = rewrite ? 2 : 0;
	struct bl_rr *r;
	uint32_t off;

	if (htab_array_reserve((void **)&bl->rrs, &bl->rrs_cap, bl->nrrs,
	                       sizeof(*bl->rrs), 64) != 0 ||
	    arena_put(&bl->bytes, rr->rdata + skip,
	              rr->rdlength > skip ? rr->rdlength - skip : 1, &off) != 0)
		return loader_oom(ld);
	r = &bl->rrs[bl->nrrs];
	*r = (struct bl_rr){.entry = (uint32_t)entry,
	                    .rdata = off,
	                    .ttl = rr->ttl,
	                    .type = rr->type,
	                    .rdlength = (uint16_t)(rr->rdlength - skip)};
	if (bl->entries[entry].rr_count++ == 0)
		bl->entries[entry].rr_first = (uint32_t)bl->nrrs;
	bl->nrrs++;
	return 0;
}

/* A bad record at trigger: "... at 'TRIGGER' ..."; it is skipped. */
static int
trigger_bad(struct loader *ld, int line, const uint8_t *trigger,
            const char *fmt_before, const char *after)
{
	char what[DNS_NAME_TEXT_MAX];

	(void)dns_name_to_text(trigger, what, sizeof(what));
	return entry_bad(ld, line, "%s '%s'%s", fmt_before, what, after);
}

/*
 * Another record at a local-data trigger: true when it is skipped, as a
 * copy of its CNAME (RFC 2181 5: the same record twice is one) or as a bad
 * entry breaking the CNAME rule; false when it may be added.
 */
static bool
local_data_skip(struct loader *ld, const struct bl_entry *e,
                const struct dns_rr_text *rr, bool rewrite,
                const uint8_t *trigger, int line)
{
	const struct bl_rr *cname = &ld->bl->rrs[e->rr_first];
	bool is_cname = rr->type == DNS_TYPE_CNAME;
	size_t skip = rewrite ? 2 : 0;

	if (is_cname && (e->flags & ENTRY_CNAME)) {
		if (rewrite == ((e->flags & ENTRY_REWRITE) != 0) &&
		    cname->rdlength + skip == rr->rdlength &&
		    memcmp(arena_at(&ld->bl->bytes, cname->rdata),
		           rr->rdata + skip, cname->rdlength) == 0)
			return true;
		(void)trigger_bad(ld, line, trigger, "more than one CNAME at",
		                  " (RFC 2181 10.1)");
		return true;
	}
	if ((is_cname && (e->flags & ENTRY_OTHER)) ||
	    (!is_cname && (e->flags & ENTRY_CNAME))) {
		(void)trigger_bad(ld, line, trigger, "CNAME and other data at",
		                  " (RFC 1034 3.6.2)");
		return true;
	}
	return false;
}

/* One record at trigger (name, match) of the zone. */
static int
rpz_trigger_add(struct loader *ld, const uint8_t *name, uint8_t match,
                const struct dns_rr_text *rr, const uint8_t *trigger, int line)
{
	enum block_action act;
	struct bl_entry *e;
	bool created, rewrite;
	char both[64];

	if (ld->find != NULL)
		return locate_entry(ld, name, match, line);
	act = rpz_action(rr, trigger, match == MATCH_BELOW, &rewrite);
	if ((e = trigger_get(ld, name, match, act, &created)) == NULL)
		return loader_oom(ld);
	if (!created &&
	    (e->action != BLOCK_LOCAL_DATA || act != BLOCK_LOCAL_DATA)) {
		if (e->action == act)
			return 0; /* the same policy twice */
		(void)snprintf(both, sizeof(both), ": %s and %s",
		               block_action_name(e->action),
		               block_action_name(act));
		return trigger_bad(ld, line, trigger,
		                   "conflicting policies for", both);
	}
	if (act != BLOCK_LOCAL_DATA)
		return 0;
	if (!created && local_data_skip(ld, e, rr, rewrite, trigger, line))
		return 0;
	e->flags |= rr->type == DNS_TYPE_CNAME ? ENTRY_CNAME : ENTRY_OTHER;
	if (rewrite)
		e->flags |= ENTRY_REWRITE;
	return rpz_rr_append(ld, (size_t)(e - ld->bl->entries), rr, rewrite);
}

/* An SOA: fixes the apex when it comes first; kept for negative answers. */
static int
rpz_soa(struct loader *ld, const uint8_t *owner, const struct dns_rr_text *rr,
        int line)
{
	struct blocklist *bl = ld->bl;

	if (!ld->apex_set) {
		memcpy(bl->apex, owner, dns_name_len(owner));
		ld->apex_set = true;
	}
	if (!dns_name_equal(owner, bl->apex))
		return entry_bad(ld, line, "SOA not at the zone apex");
	if (bl->has_soa)
		return entry_bad(ld, line, "more than one SOA");
	if (arena_put(&bl->bytes, rr->rdata, rr->rdlength, &bl->soa_rdata) != 0)
		return loader_oom(ld);
	bl->has_soa = true;
	bl->soa_ttl = rr->ttl;
	bl->soa_rdlength = rr->rdlength;
	return 0;
}

/* One parsed record of the zone. */
static int
rpz_rr(struct loader *ld, const struct dns_rr_text *rr, int line)
{
	struct blocklist *bl = ld->bl;
	uint8_t owner[DNS_NAME_MAX], trigger[DNS_NAME_MAX];
	char text[DNS_NAME_TEXT_MAX], apex[DNS_NAME_TEXT_MAX];
	size_t tlen;

	memcpy(owner, rr->owner, rr->owner_len);
	dns_name_lower(owner);
	if (rr->type == DNS_TYPE_SOA)
		return rpz_soa(ld, owner, rr, line);
	if (!ld->apex_set) {
		memcpy(bl->apex, ld->origin, dns_name_len(ld->origin));
		dns_name_lower(bl->apex);
		ld->apex_set = true;
	}
	if (dns_name_equal(owner, bl->apex))
		return 0; /* NS and the like: zone data, not a trigger */
	if (!dns_name_is_sub(owner, bl->apex)) {
		(void)dns_name_to_text(owner, text, sizeof(text));
		(void)dns_name_to_text(bl->apex, apex, sizeof(apex));
		return entry_bad(ld, line, "'%s' is outside the zone '%s'",
		                 text, apex);
	}
	/* The owner's labels above the apex are the trigger. */
	tlen = rr->owner_len - dns_name_len(bl->apex);
	memcpy(trigger, owner, tlen);
	trigger[tlen] = 0;
	if (trigger_unsupported(trigger))
		return rule_unsupported(ld);
	if (trigger[0] == 1 && trigger[1] == '*')
		return rpz_trigger_add(ld, trigger + 2, MATCH_BELOW, rr,
		                       trigger, line);
	return rpz_trigger_add(ld, trigger, MATCH_SELF, rr, trigger, line);
}

/*
 * A record whose owner (the first n bytes of text) is written in UTF-8:
 * into ld->rec2 with the owner in A-labels. 0, or -1 with the record
 * counted bad (or out of memory: *oom).
 */
static int
rpz_owner_idn(struct loader *ld, char **text, size_t n, int line, bool *oom)
{
	char word[DNS_NAME_TEXT_MAX], ascii[DNS_NAME_TEXT_MAX];
	const char *why = "name too long";
	size_t len = 0;

	*oom = false;
	if (n < sizeof(word)) {
		memcpy(word, *text, n);
		word[n] = '\0';
	}
	if (n >= sizeof(word) ||
	    dns_idn_to_ascii(word, ascii, sizeof(ascii), &why) != 0) {
		(void)entry_bad(
		    ld, line, "bad internationalised name '%.*s': %s",
		    (int)(n < QUOTE_MAX ? n : QUOTE_MAX), *text, why);
		return -1;
	}
	if (str_append(&ld->rec2, &ld->rec2cap, &len, ascii) != 0 ||
	    str_append(&ld->rec2, &ld->rec2cap, &len, *text + n) != 0) {
		*oom = true;
		return -1;
	}
	*text = ld->rec2;
	return 0;
}

/* One record (not blank) in ld->rec: a directive or a record. */
static int
rpz_record_parse(struct loader *ld, char *text, char *rest, int line)
{
	char owner[DNS_NAME_TEXT_MAX], msg[256];
	size_t len = 0, n;
	bool oom;

	if (*text == '$')
		return rpz_directive(ld, text, line);
	if (text != rest) {
		/* RFC 1035 5.1: a blank owner is the previous one. */
		if (!ld->have_owner)
			return entry_bad(ld, line,
			                 "no previous owner for a line "
			                 "starting with a blank");
		(void)dns_name_to_text(ld->owner, owner, sizeof(owner));
		if (str_append(&ld->rec2, &ld->rec2cap, &len, owner) != 0 ||
		    str_append(&ld->rec2, &ld->rec2cap, &len, rest) != 0)
			return loader_oom(ld);
		text = ld->rec2;
	} else {
		n = strcspn(text, " \t");
		for (size_t i = 0; i < n; i++) {
			if ((unsigned char)text[i] < 0x80)
				continue;
			if (rpz_owner_idn(ld, &text, n, line, &oom) != 0)
				return oom ? loader_oom(ld) : 0;
			break;
		}
	}
	if (dns_rr_from_text(text, ld->origin, ld->default_ttl, ld->rr, msg,
	                     sizeof(msg)) != 0)
		return entry_bad(ld, line, "%s", msg);
	memcpy(ld->owner, ld->rr->owner, ld->rr->owner_len);
	ld->have_owner = true;
	return rpz_rr(ld, ld->rr, line);
}

/* The record in ld->rec: a directive, a record, or nothing. */
static int
rpz_record(struct loader *ld, int line)
{
	char *text = ld->rec, *rest = text + strspn(text, " \t");
	size_t bad = ld->bl->info.bad;

	if (rest[strspn(rest, " \t()")] == '\0')
		return 0;
	if (rpz_record_parse(ld, text, rest, line) != 0)
		return -1;
	ld->lines++;
	ld->lines_bad += ld->bl->info.bad != bad;
	return 0;
}

/* A record with its RDATA at hand, for sorting. */
struct rr_sort {
	struct bl_rr rr;
	const uint8_t *rdata;
};

/* By trigger, type and RDATA: identical records become adjacent. */
static int
rr_sort_cmp(const void *a, const void *b)
{
	const struct rr_sort *x = a, *y = b;
	int c;

	if (x->rr.entry != y->rr.entry)
		return x->rr.entry < y->rr.entry ? -1 : 1;
	if (x->rr.type != y->rr.type)
		return x->rr.type < y->rr.type ? -1 : 1;
	if (x->rr.rdlength != y->rr.rdlength)
		return x->rr.rdlength < y->rr.rdlength ? -1 : 1;
	c = memcmp(x->rdata, y->rdata, x->rr.rdlength);
	if (c != 0)
		return c;
	return x->rr.rdata < y->rr.rdata ? -1 : x->rr.rdata > y->rr.rdata;
}

static bool
rr_sort_same(const struct rr_sort *x, const struct rr_sort *y)
{
	return x->rr.entry == y->rr.entry && x->rr.type == y->rr.type &&
	       x->rr.rdlength == y->rr.rdlength &&
	       memcmp(x->rdata, y->rdata, x->rr.rdlength) == 0;
}

/* RFC 2181 5.2: one TTL per RRset; use the smallest, as a client would. */
static void
rrsets_ttl_min(struct bl_rr *rrs, size_t n)
{
	size_t i, j, k;
	uint32_t ttl;

	for (i = 0; i < n; i = j) {
		ttl = rrs[i].ttl;
		for (j = i + 1; j < n && rrs[j].entry == rrs[i].entry &&
		                rrs[j].type == rrs[i].type;
		     j++) {
			if (rrs[j].ttl < ttl)
				ttl = rrs[j].ttl;
		}
		for (k = i; k < j; k++)
			rrs[k].ttl = ttl;
	}
}

/*
 * Group the local data of each trigger and drop identical records
 * (RFC 2181 5: an RRset is a set). 0 / -1 (out of memory).
 */
static int
rpz_rrs_finish(struct blocklist *bl)
{
	struct rr_sort *s;
	size_t i, n = 0;

	if (bl->nrrs == 0)
		return 0;
	if ((s = calloc(bl->nrrs, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < bl->nrrs; i++)
		s[i] = (struct rr_sort){
		    .rr = bl->rrs[i],
		    .rdata = arena_at(&bl->bytes, bl->rrs[i].rdata)};
	qsort(s, bl->nrrs, sizeof(*s), rr_sort_cmp);
	for (i = 0; i < bl->nrrs; i++) {
		if (n > 0 && rr_sort_same(&s[n - 1], &s[i])) {
			if (s[i].rr.ttl < s[n - 1].rr.ttl)
				s[n - 1].rr.ttl = s[i].rr.ttl;
			continue;
		}
		s[n++] = s[i];
	}
	for (i = 0; i < n; i++)
		bl->rrs[i] = s[i].rr;
	free(s);
	bl->nrrs = n;
	rrsets_ttl_min(bl->rrs, n);
	for (i = 0; i < bl->nentries; i++)
		bl->entries[i].rr_count = 0;
	for (i = n; i-- > 0;) {
		bl->entries[bl->rrs[i].entry].rr_first = (uint32_t)i;
		bl->entries[bl->rrs[i].entry].rr_count++;
	}
	bl->info.records = n;
	return 0;
}

static int
rpz_load(struct loader *ld)
{
	int first = 0, r;

	ld->default_ttl = RPZ_DEFAULT_TTL;
	ld->origin[0] = 0;
	if ((ld->rr = malloc(sizeof(*ld->rr))) == NULL)
		return loader_oom(ld);
	while ((r = rpz_record_read(ld, &first)) > 0) {
		if (rpz_record(ld, first) != 0)
			return -1;
	}
	if (r < 0)
		return -1;
	if (rpz_rrs_finish(ld->bl) != 0)
		return loader_oom(ld);
	return 0;
}

/* ---- loading: the public side ---- */

static void
loader_free(struct loader *ld)
{
	free(ld->triggers.slot);
	free(ld->rr);
	free(ld->rec);
	free(ld->rec2);
	free(ld->line);
}

/*
 * More than half of the lines bad: a binary, an HTML error page, a format
 * this is not (policy/blocklist.h). Loading it empty would unblock all
 * that the list it replaces blocked.
 */
static int
not_a_list(struct loader *ld)
{
	const struct blocklist *bl = ld->bl;
	const struct blocklist_problem *p = &bl->problems[0];
	const char *t = p->text;
	size_t j, n;

	(void)loader_fail(ld, p->line,
	                  "not a list: %zu of its %zu lines are bad (read as "
	                  "%s; line %d: ",
	                  ld->lines_bad, ld->lines,
	                  blocklist_format_name(bl->info.format), p->line);
	if (ld->err == NULL || ld->errlen == 0)
		return -1;
	/* The reason is escaped already: copied an escape at a time. */
	for (j = strlen(ld->err); *t != '\0'; t += n, j += n) {
		n = t[0] == '\\' && t[1] == 'x' &&
		            isxdigit((unsigned char)t[2]) &&
		            isxdigit((unsigned char)t[3])
		        ? 4
		        : 1;
		if (j + n >= ld->errlen)
			break;
		memcpy(ld->err + j, t, n);
	}
	if (*t == '\0' && j + 1 < ld->errlen)
		ld->err[j++] = ')';
	ld->err[j] = '\0';
	return -1;
}

/* Parse ld->f into a new list named name. */
static struct blocklist *
list_read(struct loader *ld, const char *name, enum blocklist_format format)
{
	int (*line_fn)(struct loader *, char *);
	struct blocklist *bl;
	int r;

	if ((bl = calloc(1, sizeof(*bl))) == NULL ||
	    (bl->name = strdup(name)) == NULL) {
		free(bl);
		(void)loader_oom(ld);
		return NULL;
	}
	ld->bl = bl;
	r = format == BLOCKLIST_AUTO ? format_sniff(ld, &format) : 0;
	bl->info.format = format;
	line_fn = format == BLOCKLIST_HOSTS     ? hosts_line
	          : format == BLOCKLIST_ADBLOCK ? adblock_line
	                                        : domains_line;
	if (r == 0 && format == BLOCKLIST_RPZ)
		r = rpz_load(ld);
	else if (r == 0)
		r = plain_load(ld, line_fn);
	if (r == 0 && ld->find == NULL && ld->lines_bad * 2 > ld->lines)
		r = not_a_list(ld);
	loader_free(ld);
	if (r != 0) {
		blocklist_free(bl);
		return NULL;
	}
	return bl;
}

static void
loader_init(struct loader *ld, char *err, size_t errlen, int *errline)
{
	memset(ld, 0, sizeof(*ld));
	ld->err = err;
	ld->errlen = errlen;
	ld->errline = errline;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (errline != NULL)
		*errline = 0;
}

static const struct {
	const char *prefix;
	enum blocklist_format format;
} path_prefixes[] = {
    {"rpz:", BLOCKLIST_RPZ},
    {"hosts:", BLOCKLIST_HOSTS},
    {"domains:", BLOCKLIST_DOMAINS},
    {"adblock:", BLOCKLIST_ADBLOCK},
};

/* Strip a "rpz:", "hosts:", "domains:" or "adblock:" prefix. */
static const char *
path_format(const char *path, enum blocklist_format *format)
{
	size_t i, n;

	for (i = 0; i < ARRAY_LEN(path_prefixes); i++) {
		n = strlen(path_prefixes[i].prefix);
		if (strncmp(path, path_prefixes[i].prefix, n) == 0) {
			*format = path_prefixes[i].format;
			return path + n;
		}
	}
	*format = BLOCKLIST_AUTO;
	return path;
}

size_t
blocklist_prefix_len(const char *path)
{
	enum blocklist_format format;

	return (size_t)(path_format(path, &format) - path);
}

struct blocklist *
blocklist_load(const char *path, char *err, size_t errlen, int *errline)
{
	enum blocklist_format format;
	const char *file = path_format(path, &format);
	const char *base = strrchr(file, '/');
	struct blocklist *bl;
	struct loader ld;

	loader_init(&ld, err, errlen, errline);
	if ((ld.f = file_open_regular(file)) == NULL) {
		(void)loader_fail(&ld, 0, "cannot open '%s': %s", file,
		                  file_error(errno));
		return NULL;
	}
	bl = list_read(&ld, base != NULL ? base + 1 : file, format);
	(void)fclose(ld.f);
	return bl;
}

int
blocklist_locate(const char *path, const uint8_t *name, bool below,
                 struct blocklist_where *where)
{
	enum blocklist_format format;
	const char *file = path_format(path, &format);
	struct blocklist *bl;
	struct loader ld;

	memset(where, 0, sizeof(*where));
	loader_init(&ld, NULL, 0, NULL);
	ld.find = name;
	ld.find_match = below ? MATCH_BELOW : MATCH_SELF;
	ld.where = where;
	if ((ld.f = file_open_regular(file)) == NULL)
		return -1;
	/* Stops at the entry (a "failure" that fills where) or reads to
	 * the end without one, keeping no entries either way. */
	bl = list_read(&ld, "", format);
	(void)fclose(ld.f);
	blocklist_free(bl);
	return 0;
}

struct blocklist *
blocklist_parse(const char *name, enum blocklist_format format,
                const char *text, size_t len, char *err, size_t errlen,
                int *errline)
{
	struct blocklist *bl;
	struct loader ld;

	loader_init(&ld, err, errlen, errline);
	/* fmemopen needs a non-empty buffer; it only reads this one. */
	ld.f = len > 0 ? fmemopen((void *)(uintptr_t)text, len, "r")
	               : fopen("/dev/null", "r");
	if (ld.f == NULL) {
		(void)loader_oom(&ld);
		return NULL;
	}
	bl = list_read(&ld, name, format);
	(void)fclose(ld.f);
	return bl;
}

void
blocklist_free(struct blocklist *bl)
{
	if (bl == NULL)
		return;
	arena_free(&bl->bytes);
	free(bl->entries);
	free(bl->rrs);
	free(bl->name);
	free(bl);
}

const char *
blocklist_name(const struct blocklist *bl)
{
	return bl->name;
}

const struct blocklist_info *
blocklist_get_info(const struct blocklist *bl)
{
	return &bl->info;
}

size_t
blocklist_problems(const struct blocklist *bl,
                   const struct blocklist_problem **out)
{
	*out = bl->problems;
	return bl->nproblems;
}

const char *
blocklist_format_name(enum blocklist_format f)
{
	switch (f) {
	case BLOCKLIST_DOMAINS:
		return "domains";
	case BLOCKLIST_HOSTS:
		return "hosts";
	case BLOCKLIST_RPZ:
		return "rpz";
	case BLOCKLIST_ADBLOCK:
		return "adblock";
	default:
		return "auto";
	}
}

/* ---- the view's set ---- */

/* One name of the index; its rules for the name itself and below it. */
struct bs_node {
	uint32_t hash;
	uint32_t name1; /* arena offset + 1; 0 = empty slot */
	uint32_t self1; /* rule index + 1; 0 = none */
	uint32_t below1;
};

/*
 * What an entry does, shared by every entry of a list with that action.
 * Of two rules that match, the lower prio decides (rule_prio).
 */
struct bs_rule {
	uint16_t source; /* index into src: allowlists first */
	uint8_t action;  /* enum block_action */
	bool rewrite;
	uint32_t prio;
	uint32_t rr_first; /* local data in rrs */
	uint32_t rr_count;
};

/* One list as the set remembers it. */
struct bs_source {
	struct blockset_list pub;
	char *name;
	uint8_t soa_owner[DNS_NAME_MAX];
	struct block_rr soa;
	/* While building: the rule of each action, [1]: of $important. */
	uint32_t action_rule1[2][BLOCK_LOCAL_DATA + 1];
};

struct blockset {
	struct bs_node *node;
	size_t cap, n;
	struct arena bytes; /* names, SOA and local RDATA */
	struct bs_rule *rules;
	size_t nrules, rules_cap;
	struct block_rr *rrs;
	size_t nrrs, rrs_cap;
	struct bs_source *src;
	size_t nsrc;
	size_t nallow; /* sources 0..nallow-1 are allowlists */
};

/* "ads.txt" -> "ads-txt.blocklist.invalid." (policy/blocklist.h). */
static void
synth_soa_owner(const char *name, uint8_t *out)
{
	size_t n = 0;
	char c;

	for (; *name != '\0' && n < DNS_LABEL_MAX; name++) {
		c = *name;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			c = '-';
		out[1 + n++] = (uint8_t)c;
	}
	if (n == 0) {
		memcpy(out + 1, "list", 4);
		n = 4;
	}
	out[0] = (uint8_t)n;
	memcpy(out + 1 + n, synth_soa_suffix, sizeof(synth_soa_suffix));
}

static int
source_init(struct blockset *set, struct bs_source *s,
            const struct blocklist *bl, bool allow, unsigned index)
{
	uint32_t off;

	if ((s->name = strdup(bl->name)) == NULL)
		return -1;
	s->pub = (struct blockset_list){.name = s->name,
	                                .allowlist = allow,
	                                .index = index,
	                                .info = bl->info};
	s->soa.type = DNS_TYPE_SOA;
	if (!bl->has_soa) {
		synth_soa_owner(bl->name, s->soa_owner);
		s->soa.ttl = BLOCKLIST_TTL;
		s->soa.rdlength = sizeof(synth_soa_rdata);
		s->soa.rdata = synth_soa_rdata;
		return 0;
	}
	memcpy(s->soa_owner, bl->apex, dns_name_len(bl->apex));
	if (arena_put(&set->bytes, arena_at(&bl->bytes, bl->soa_rdata),
	              bl->soa_rdlength, &off) != 0)
		return -1;
	s->soa.ttl = bl->soa_ttl;
	s->soa.rdlength = bl->soa_rdlength;
	s->soa.rdata = arena_at(&set->bytes, off);
	return 0;
}

/*
 * Which rule decides first (policy/blocklist.h, Matching): allowlist
 * entries; then, as AdGuard Home ranks them, $important exceptions,
 * $important blocks, exceptions (an exception in any list unblocks), and
 * the other rules of blocklists; within a rank, by list (BIND: the first
 * policy zone wins). Sources: allowlists 0..nallow-1, then blocklists; at
 * most 65535 in all, so rank and source fit 32 bits.
 */
enum rule_rank {
	RANK_ALLOWLIST = 0,
	RANK_IMPORTANT_EXCEPTION,
	RANK_IMPORTANT_BLOCK,
	RANK_EXCEPTION,
	RANK_BLOCK,
};

static uint32_t
rule_prio(const struct blockset *set, uint16_t source, enum block_action action,
          bool important)
{
	enum rule_rank r;

	if (source < set->nallow)
		r = RANK_ALLOWLIST;
	else if (action == BLOCK_ALLOWED)
		r = important ? RANK_IMPORTANT_EXCEPTION : RANK_EXCEPTION;
	else
		r = important ? RANK_IMPORTANT_BLOCK : RANK_BLOCK;
	return (uint32_t)r << 16 | source;
}

static int
rule_new(struct blockset *set, uint16_t source, enum block_action action,
         bool important, uint32_t *idx1)
{
	if (htab_array_reserve((void **)&set->rules, &set->rules_cap,
	                       set->nrules, sizeof(*set->rules), 64) != 0)
		return -1;
	set->rules[set->nrules] =
	    (struct bs_rule){.source = source,
	                     .action = (uint8_t)action,
	                     .prio = rule_prio(set, source, action, important)};
	*idx1 = (uint32_t)++set->nrules;
	return 0;
}

/* Copy an entry's local data into a rule of its own. */
static int
rule_local_data(struct blockset *set, uint16_t source,
                const struct blocklist *bl, const struct bl_entry *e,
                uint32_t *idx1)
{
	const struct bl_rr *r;
	struct bs_rule *rule;
	uint32_t i, off;

	if (rule_new(set, source, BLOCK_LOCAL_DATA, false, idx1) != 0)
		return -1;
	rule = &set->rules[*idx1 - 1];
	rule->rewrite = (e->flags & ENTRY_REWRITE) != 0;
	rule->rr_first = (uint32_t)set->nrrs;
	for (i = 0; i < e->rr_count; i++) {
		r = &bl->rrs[e->rr_first + i];
		if (htab_array_reserve((void **)&set->rrs, &set->rrs_cap,
		                       set->nrrs, sizeof(*set->rrs), 64) != 0 ||
		    arena_put(&set->bytes, arena_at(&bl->bytes, r->rdata),
		              r->rdlength > 0 ? r->rdlength : 1, &off) != 0)
			return -1;
		set->rrs[set->nrrs++] =
		    (struct block_rr){.type = r->type,
		                      .rdlength = r->rdlength,
		                      .ttl = r->ttl,
		                      .rdata = arena_at(&set->bytes, off)};
		rule->rr_count++;
	}
	return 0;
}

/* The rule for entry e of source s (allowlists: always ALLOWED). */
static int
rule_for(struct blockset *set, uint16_t source, bool allow,
         const struct blocklist *bl, const struct bl_entry *e, uint32_t *idx1)
{
	enum block_action a = allow ? BLOCK_ALLOWED : e->action;
	bool important = (e->flags & ENTRY_IMPORTANT) != 0;
	uint32_t *cached = &set->src[source].action_rule1[important][a];

	if (a == BLOCK_LOCAL_DATA)
		return rule_local_data(set, source, bl, e, idx1);
	if (*cached == 0 && rule_new(set, source, a, important, cached) != 0)
		return -1;
	*idx1 = *cached;
	return 0;
}

/* The node for name (lower case), made when new; NULL when out of memory. */
static struct bs_node *
node_get(struct blockset *set, const uint8_t *name)
{
	uint32_t h = htab_hash_name(name), off;
	size_t i, len = dns_name_len(name);
	struct bs_node *nd;

	for (i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		nd = &set->node[i];
		if (nd->name1 == 0)
			break;
		if (nd->hash == h &&
		    memcmp(arena_at(&set->bytes, nd->name1 - 1), name, len) ==
		        0)
			return nd;
	}
	if (arena_put(&set->bytes, name, len, &off) != 0)
		return NULL;
	*nd = (struct bs_node){.hash = h, .name1 = off + 1};
	set->n++;
	return nd;
}

/* Keep the rule that decides first (rule_prio). */
static void
node_rule_merge(const struct blockset *set, uint32_t *slot, uint32_t rule1)
{
	if (*slot == 0 ||
	    set->rules[rule1 - 1].prio < set->rules[*slot - 1].prio)
		*slot = rule1;
}

static int
source_add(struct blockset *set, uint16_t source, bool allow,
           const struct blocklist *bl)
{
	const struct bl_entry *e;
	struct bs_node *nd;
	uint32_t rule1;
	size_t i;

	for (i = 0; i < bl->nentries; i++) {
		e = &bl->entries[i];
		if (rule_for(set, source, allow, bl, e, &rule1) != 0 ||
		    (nd = node_get(set, entry_name(bl, e))) == NULL)
			return -1;
		if (e->match & MATCH_SELF)
			node_rule_merge(set, &nd->self1, rule1);
		if (e->match & MATCH_BELOW)
			node_rule_merge(set, &nd->below1, rule1);
	}
	return 0;
}

/* Room for every entry at a load of at most one half. */
static int
set_table_alloc(struct blockset *set, size_t entries)
{
	size_t cap = TABLE_MIN;

	while (cap < 2 * entries) {
		if (cap > (size_t)UINT32_MAX)
			return -1;
		cap *= 2;
	}
	if ((set->node = calloc(cap, sizeof(*set->node))) == NULL)
		return -1;
	set->cap = cap;
	return 0;
}

struct blockset *
blockset_create(const struct blocklist *const *lists, size_t nlists,
                const struct blocklist *const *allow, size_t nallow)
{
	struct blockset *set;
	size_t i, entries = 0;
	const struct blocklist *bl;
	bool is_allow;

	if (nlists + nallow > UINT16_MAX ||
	    (set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	for (i = 0; i < nallow + nlists; i++)
		entries +=
		    (i < nallow ? allow[i] : lists[i - nallow])->nentries;
	set->nallow = nallow;
	if (set_table_alloc(set, entries) != 0 ||
	    (set->src = calloc(nallow + nlists + 1, sizeof(*set->src))) == NULL)
		goto fail;
	/* Allowlists first: a lower source number beats every blocklist. */
	for (i = 0; i < nallow + nlists; i++) {
		is_allow = i < nallow;
		bl = is_allow ? allow[i] : lists[i - nallow];
		set->nsrc++;
		if (source_init(set, &set->src[i], bl, is_allow,
		                (unsigned)(is_allow ? i : i - nallow)) != 0 ||
		    source_add(set, (uint16_t)i, is_allow, bl) != 0)
			goto fail;
	}
	return set;
fail:
	blockset_free(set);
	return NULL;
}

void
blockset_free(struct blockset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nsrc; i++)
		free(set->src[i].name);
	free(set->src);
	free(set->rrs);
	free(set->rules);
	arena_free(&set->bytes);
	free(set->node);
	free(set);
}

size_t
blockset_size(const struct blockset *set)
{
	return set != NULL ? set->n : 0;
}

size_t
blockset_list_count(const struct blockset *set)
{
	return set != NULL ? set->nsrc : 0;
}

const struct blockset_list *
blockset_list_get(const struct blockset *set, size_t i)
{
	return &set->src[i].pub;
}

/* The node for the suffix of len bytes with hash h, or NULL. */
static const struct bs_node *
node_find(const struct blockset *set, uint32_t h, const uint8_t *name,
          size_t len)
{
	const struct bs_node *nd;
	size_t i;

	for (i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		nd = &set->node[i];
		if (nd->name1 == 0)
			return NULL;
		if (nd->hash == h &&
		    memcmp(arena_at(&set->bytes, nd->name1 - 1), name, len) ==
		        0)
			return nd;
	}
}

static void
match_fill(const struct blockset *set, uint32_t rule1, const struct bs_node *nd,
           bool below, struct block_match *m)
{
	const struct bs_rule *r = &set->rules[rule1 - 1];
	const struct bs_source *s = &set->src[r->source];

	m->action = (enum block_action)r->action;
	m->list = s->name;
	m->allowlist = s->pub.allowlist;
	m->list_index = s->pub.index;
	m->name = arena_at(&set->bytes, nd->name1 - 1);
	m->below = below;
	m->rewrite = r->rewrite;
	m->rrs = r->rr_count > 0 ? &set->rrs[r->rr_first] : NULL;
	m->nrrs = r->rr_count;
	m->soa_owner = s->soa_owner;
	m->soa = &s->soa;
}

bool
blockset_lookup(const struct blockset *set, const uint8_t *qname,
                struct block_match *m)
{
	uint8_t name[DNS_NAME_MAX], off[DNS_NAME_MAX / 2];
	const struct bs_node *nd, *best_nd = NULL;
	const uint8_t *suffix;
	uint32_t rule1, best = 0;
	size_t len = dns_name_len(qname);
	uint64_t h = HTAB_NAME_HASH_INIT;
	bool best_below = false;
	unsigned n, k;

	memset(m, 0, sizeof(*m));
	if (set == NULL || set->n == 0)
		return false;
	memcpy(name, qname, len);
	dns_name_lower(name);
	n = dns_name_label_offsets(name, off);
	/*
	 * From the root down to the QNAME: at suffix k the rule "below" a
	 * listed name applies, at the QNAME itself the rule "self". An equal
	 * source replaces: deeper is more specific within one list.
	 */
	for (k = n + 1; k-- > 0;) {
		suffix = k < n ? name + off[k] : name + len - 1;
		if (k < n)
			h = htab_hash_label(h, suffix);
		nd = node_find(set, htab_hash_final(h), suffix,
		               len - (size_t)(suffix - name));
		if (nd == NULL)
			continue;
		rule1 = k == 0 ? nd->self1 : nd->below1;
		if (rule1 != 0 &&
		    (best == 0 ||
		     set->rules[rule1 - 1].prio <= set->rules[best - 1].prio)) {
			best = rule1;
			best_nd = nd;
			best_below = k != 0;
		}
	}
	if (best == 0)
		return false;
	match_fill(set, best, best_nd, best_below, m);
	return m->action >= BLOCK_LISTED;
}

enum block_outcome
blockset_outcome(const struct block_match *m, enum block_policy policy,
                 bool tcp)
{
	switch (m->action) {
	case BLOCK_LISTED:
		return policy == BLOCK_POLICY_DROP ? BLOCK_OUT_DROP
		                                   : BLOCK_OUT_ANSWER;
	case BLOCK_DROP:
		return BLOCK_OUT_DROP;
	case BLOCK_TCP_ONLY:
		/* BIND: over TCP the rule is PASSTHRU. */
		return tcp ? BLOCK_OUT_CONTINUE : BLOCK_OUT_ANSWER;
	case BLOCK_NXDOMAIN:
	case BLOCK_NODATA:
	case BLOCK_LOCAL_DATA:
		return BLOCK_OUT_ANSWER;
	default:
		return BLOCK_OUT_CONTINUE;
	}
}

/* ---- answers ---- */

/* Header (counts patched later) and the question as asked. */
static void
answer_begin(struct wbuf *b, const struct dns_query *q, uint16_t flags,
             unsigned rcode)
{
	flags |= DNS_FLAG_QR | DNS_FLAG_RA | (q->hdr.flags & DNS_FLAG_RD) |
	         (uint16_t)rcode;
	wbuf_u16(b, q->hdr.id);
	wbuf_u16(b, flags);
	wbuf_u16(b, 1); /* QDCOUNT */
	wbuf_u16(b, 0);
	wbuf_u16(b, 0);
	wbuf_u16(b, 0);
	wbuf_bytes(b, q->qname, q->qname_len);
	wbuf_u16(b, q->qtype);
	wbuf_u16(b, q->qclass);
}

static size_t
answer_end(struct wbuf *b, unsigned an, unsigned ns,
           const struct dns_opt_out *o)
{
	unsigned ar = 0;

	if (o != NULL && o->present) {
		dns_opt_write(b, o, 0);
		ar = 1;
	}
	wbuf_put_u16_at(b, HDR_ANCOUNT, (uint16_t)an);
	wbuf_put_u16_at(b, HDR_NSCOUNT, (uint16_t)ns);
	wbuf_put_u16_at(b, HDR_ARCOUNT, (uint16_t)ar);
	return b->err ? 0 : b->len;
}

/* One record; owner NULL is the QNAME (a pointer to the question). */
static void
rr_write(struct wbuf *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
         const uint8_t *rdata, size_t rdlength)
{
	if (owner == NULL)
		wbuf_u16(b, QNAME_PTR);
	else
		wbuf_bytes(b, owner, dns_name_len(owner));
	wbuf_u16(b, type);
	wbuf_u16(b, DNS_CLASS_IN);
	wbuf_u32(b, ttl);
	wbuf_u16(b, (uint16_t)rdlength);
	wbuf_bytes(b, rdata, rdlength);
}

/* RFC 2308 3: the SOA with TTL min(SOA TTL, MINIMUM). */
static unsigned
soa_write(struct wbuf *b, const struct block_match *m)
{
	uint32_t ttl = m->soa->ttl, minimum;
	struct wire r;

	wire_init(&r, m->soa->rdata, m->soa->rdlength);
	wire_seek(&r, m->soa->rdlength - SOA_MINIMUM_LEN);
	minimum = wire_u32(&r);
	if (!r.err && minimum < ttl)
		ttl = minimum;
	rr_write(b, m->soa_owner, DNS_TYPE_SOA, ttl, m->soa->rdata,
	         m->soa->rdlength);
	return 1;
}

static size_t
answer_negative(struct wbuf *b, const struct dns_query *q,
                const struct block_match *m, unsigned rcode,
                const struct dns_opt_out *o)
{
	answer_begin(b, q, DNS_FLAG_AA, rcode);
	return answer_end(b, 0, soa_write(b, m), o);
}

static size_t
answer_redirect(struct wbuf *b, const struct dns_query *q,
                const struct block_match *m, const struct ip_addr *a,
                const struct dns_opt_out *o)
{
	uint16_t type = a->v4 ? DNS_TYPE_A : DNS_TYPE_AAAA;

	if (q->qtype != type && q->qtype != DNS_TYPE_ANY)
		return answer_negative(b, q, m, DNS_RCODE_NOERROR, o);
	answer_begin(b, q, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	if (a->v4)
		rr_write(b, NULL, type, BLOCKLIST_TTL, a->b + 12, 4);
	else
		rr_write(b, NULL, type, BLOCKLIST_TTL, a->b, 16);
	return answer_end(b, 1, 0, o);
}

/* "CNAME *.target.": QNAME.target., or YXDOMAIN when too long. */
static size_t
answer_rewrite(struct wbuf *b, const struct dns_query *q,
               const struct block_match *m, const struct dns_opt_out *o)
{
	const struct block_rr *rr = &m->rrs[0];
	uint8_t target[DNS_NAME_MAX];
	size_t n = q->qname_len - 1;

	if (n + rr->rdlength > DNS_NAME_MAX) {
		answer_begin(b, q, DNS_FLAG_AA, DNS_RCODE_YXDOMAIN);
		return answer_end(b, 0, 0, o);
	}
	memcpy(target, q->qname, n);
	memcpy(target + n, rr->rdata, rr->rdlength);
	answer_begin(b, q, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	rr_write(b, NULL, DNS_TYPE_CNAME, rr->ttl, target, n + rr->rdlength);
	return answer_end(b, 1, 0, o);
}

static size_t
answer_local_data(struct wbuf *b, const struct dns_query *q,
                  const struct block_match *m, const struct dns_opt_out *o)
{
	bool cname = false;
	unsigned an = 0;
	size_t i;

	if (m->rewrite && m->nrrs > 0)
		return answer_rewrite(b, q, m, o);
	for (i = 0; i < m->nrrs; i++)
		cname = cname || m->rrs[i].type == DNS_TYPE_CNAME;
	answer_begin(b, q, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	for (i = 0; i < m->nrrs; i++) {
		if (!cname && q->qtype != DNS_TYPE_ANY &&
		    m->rrs[i].type != q->qtype)
			continue;
		rr_write(b, NULL, m->rrs[i].type, m->rrs[i].ttl,
		         m->rrs[i].rdata, m->rrs[i].rdlength);
		an++;
	}
	if (an == 0)
		return answer_end(b, 0, soa_write(b, m), o);
	return answer_end(b, an, 0, o);
}

static size_t
answer_listed(struct wbuf *b, const struct dns_query *q,
              const struct block_match *m, enum block_policy policy,
              const struct ip_addr *redirect, const struct dns_opt_out *o)
{
	switch (policy) {
	case BLOCK_POLICY_NXDOMAIN:
		return answer_negative(b, q, m, DNS_RCODE_NXDOMAIN, o);
	case BLOCK_POLICY_NODATA:
		return answer_negative(b, q, m, DNS_RCODE_NOERROR, o);
	case BLOCK_POLICY_REFUSE:
		answer_begin(b, q, 0, DNS_RCODE_REFUSED);
		return answer_end(b, 0, 0, o);
	case BLOCK_POLICY_REDIRECT:
		if (redirect == NULL)
			return 0;
		return answer_redirect(b, q, m, redirect, o);
	default:
		return 0;
	}
}

size_t
blockset_build_answer(uint8_t *out, size_t cap, const struct dns_query *q,
                      const struct block_match *m, enum block_policy policy,
                      const struct ip_addr *redirect,
                      const struct dns_opt_out *o)
{
	struct wbuf b;

	if (q->qname_len == 0 || m->soa == NULL)
		return 0;
	/* A message is at most 65535 bytes, so the counts cannot overflow. */
	wbuf_init(&b, out, cap < DNS_MAX_MSG ? cap : DNS_MAX_MSG);
	switch (m->action) {
	case BLOCK_LISTED:
		return answer_listed(&b, q, m, policy, redirect, o);
	case BLOCK_NXDOMAIN:
		return answer_negative(&b, q, m, DNS_RCODE_NXDOMAIN, o);
	case BLOCK_NODATA:
		return answer_negative(&b, q, m, DNS_RCODE_NOERROR, o);
	case BLOCK_TCP_ONLY:
		/* An empty truncated answer sends the client to TCP. */
		answer_begin(&b, q, DNS_FLAG_TC, DNS_RCODE_NOERROR);
		return answer_end(&b, 0, 0, o);
	case BLOCK_LOCAL_DATA:
		return answer_local_data(&b, q, m, o);
	default:
		return 0;
	}
}

/* ---- names of things ---- */

const char *
block_action_name(enum block_action a)
{
	static const char *const names[] = {
	    [BLOCK_NONE] = "none",
	    [BLOCK_ALLOWED] = "allowed",
	    [BLOCK_PASSTHRU] = "passthru",
	    [BLOCK_LISTED] = "listed",
	    [BLOCK_NXDOMAIN] = "nxdomain",
	    [BLOCK_NODATA] = "nodata",
	    [BLOCK_DROP] = "drop",
	    [BLOCK_TCP_ONLY] = "tcp-only",
	    [BLOCK_LOCAL_DATA] = "local-data",
	};

	if ((size_t)a < ARRAY_LEN(names) && names[a] != NULL)
		return names[a];
	return "unknown";
}

static const char *const policy_names[] = {
    [BLOCK_POLICY_NXDOMAIN] = "nxdomain", [BLOCK_POLICY_NODATA] = "nodata",
    [BLOCK_POLICY_REFUSE] = "refuse",     [BLOCK_POLICY_DROP] = "drop",
    [BLOCK_POLICY_REDIRECT] = "redirect",
};

const char *
block_policy_name(enum block_policy p)
{
	if ((size_t)p < ARRAY_LEN(policy_names) && policy_names[p] != NULL)
		return policy_names[p];
	return "unknown";
}

int
block_policy_parse(const char *text, enum block_policy *policy,
                   struct ip_addr *redirect)
{
	char buf[IP_ADDR_TEXT_MAX + 32], *s = buf, *w, *arg;
	size_t i;

	if (strlen(text) >= sizeof(buf))
		return -1;
	memcpy(buf, text, strlen(text) + 1);
	if ((w = word_next(&s)) == NULL)
		return -1;
	arg = word_next(&s);
	if (word_next(&s) != NULL)
		return -1;
	for (i = 1; i < ARRAY_LEN(policy_names); i++) {
		if (strcasecmp(w, policy_names[i]) != 0)
			continue;
		if ((i == BLOCK_POLICY_REDIRECT) != (arg != NULL))
			return -1;
		if (arg != NULL && ip_addr_parse(arg, redirect) != 0)
			return -1;
		*policy = (enum block_policy)i;
		return 0;
	}
	return -1;
}
