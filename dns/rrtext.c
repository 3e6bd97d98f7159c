/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/rrtext.c — one RR from master-file text, and RDATA back to text.
 *
 * A small lexer splits the line into tokens (quoted strings, escapes,
 * comments, parentheses). Each RDATA field is converted and written through
 * a struct wbuf over the 64 KiB RDATA buffer, so RDATA that grows too long
 * is one sticky error checked once at the end.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns/msg.h"
#include "dns/rrtext.h"
#include "dns/wire.h"

/* Longest piece of a token echoed back in an error message. */
#define ERR_TOKEN_MAX 40
/* RFC 1035 3.3: a <character-string> is a length byte and 0..255 bytes. */
#define CHARSTR_MAX 255
/* RFC 6895 3.1: TYPE 0 is reserved, 128..255 are QTYPEs and meta-TYPEs. */
#define TYPE_META_FIRST 128
#define TYPE_META_LAST  255
/* CAA (RFC 8659); not in dns/msg.h's enum dns_type. */
#define TYPE_CAA 257

#define TOKEN_FMT "'%.*s%s'"
#define TOKEN_ARG(t)                                                        \
	(int)((t)->len > ERR_TOKEN_MAX ? ERR_TOKEN_MAX : (t)->len), (t)->s, \
	    ((t)->len > ERR_TOKEN_MAX ? "..." : "")

struct token {
	const char *s; /* for a quoted string: just inside the quotes */
	size_t len;
	bool quoted;
};

struct lexer {
	const char *p;
	unsigned depth;    /* open parentheses */
	const char *error; /* why lex_next returned -1 */
};

struct rr_parse {
	struct lexer lx;
	const uint8_t *origin;
	struct dns_rr_text *out;
	char *err;
	size_t errlen;
	char type_name[16]; /* "MX", "TYPE65280": for messages */
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int parse_fail(struct rr_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
parse_fail(struct rr_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err != NULL && p->errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Skip blanks and parentheses. RFC 1035 5.1: parentheses only let an RR
 * continue over line ends; within one line they group nothing.
 */
static int
lex_skip(struct lexer *lx)
{
	for (;; lx->p++) {
		if (is_blank(*lx->p))
			continue;
		if (*lx->p == '(') {
			lx->depth++;
			continue;
		}
		if (*lx->p != ')')
			return 0;
		if (lx->depth == 0) {
			lx->error = "unbalanced ')'";
			return -1;
		}
		lx->depth--;
	}
}

static int
lex_quoted(struct lexer *lx, struct token *t)
{
	const char *e = lx->p + 1;

	while (*e != '"') {
		if (*e == '\0') {
			lx->error = "unterminated quoted string";
			return -1;
		}
		if (*e == '\\' && e[1] != '\0')
			e++;
		e++;
	}
	t->s = lx->p + 1;
	t->len = (size_t)(e - t->s);
	t->quoted = true;
	lx->p = e + 1;
	return 1;
}

static int
lex_plain(struct lexer *lx, struct token *t)
{
	const char *e = lx->p;

	while (*e != '\0' && !is_blank(*e) && strchr("();\"", *e) == NULL) {
		if (*e == '\\' && e[1] != '\0')
			e++;
		e++;
	}
	t->s = lx->p;
	t->len = (size_t)(e - lx->p);
	t->quoted = false;
	lx->p = e;
	return 1;
}

/* Next token: 1, 0 at the end of the line (or a comment), -1 on error. */
static int
lex_next(struct lexer *lx, struct token *t)
{
	if (lex_skip(lx) != 0)
		return -1;
	if (*lx->p == '\0' || *lx->p == ';') {
		if (lx->depth > 0) {
			lx->error = "unbalanced '('";
			return -1;
		}
		return 0;
	}
	if (*lx->p == '"')
		return lex_quoted(lx, t);
	return lex_plain(lx, t);
}

static bool
token_is(const struct token *t, const char *word)
{
	return !t->quoted && t->len == strlen(word) &&
	       strncasecmp(t->s, word, t->len) == 0;
}

/* Copy a token to a C string; -1 when it does not fit. */
static int
token_str(const struct token *t, char *buf, size_t cap)
{
	if (t->len >= cap)
		return -1;
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	return 0;
}

/* Decimal 0..max, digits only. */
static int
token_uint(const struct token *t, uint32_t max, uint32_t *v)
{
	uint64_t n = 0;
	size_t i;

	if (t->quoted || t->len == 0)
		return -1;
	for (i = 0; i < t->len; i++) {
		if (!is_digit(t->s[i]))
			return -1;
		n = n * 10 + (uint64_t)(t->s[i] - '0');
		if (n > max)
			return -1;
	}
	*v = (uint32_t)n;
	return 0;
}

/*
 * One byte of a <character-string> at t->s[*i]: plain, \c or \DDD with
 * DDD <= 255 (RFC 1035 5.1).
 */
static int
charstr_byte(const struct token *t, size_t *i, uint8_t *c)
{
	const char *s = t->s + *i;
	size_t left = t->len - *i;
	unsigned v;

	if (s[0] != '\\') {
		*c = (uint8_t)s[0];
		*i += 1;
		return 0;
	}
	if (left < 2)
		return -1;
	if (!is_digit(s[1])) {
		*c = (uint8_t)s[1];
		*i += 2;
		return 0;
	}
	if (left < 4 || !is_digit(s[2]) || !is_digit(s[3]))
		return -1;
	v = (unsigned)(s[1] - '0') * 100 + (unsigned)(s[2] - '0') * 10 +
	    (unsigned)(s[3] - '0');
	if (v > 255)
		return -1;
	*c = (uint8_t)v;
	*i += 4;
	return 0;
}

static unsigned
ttl_unit(char c)
{
	switch (c) {
	case 's':
	case 'S':
		return 1;
	case 'm':
	case 'M':
		return 60;
	case 'h':
	case 'H':
		return 3600;
	case 'd':
	case 'D':
		return 86400;
	case 'w':
	case 'W':
		return 604800;
	default:
		return 0;
	}
}

int
dns_ttl_from_text(const char *text, uint32_t max, uint32_t *out)
{
	uint64_t total = 0, n;
	unsigned unit;
	bool units = false;

	if (*text == '\0')
		return -1;
	while (*text != '\0') {
		if (!is_digit(*text))
			return -1;
		for (n = 0; is_digit(*text); text++) {
			n = n * 10 + (uint64_t)(*text - '0');
			if (n > max)
				return -1;
		}
		/* As BIND: a bare number is seconds, but not after units. */
		if (*text == '\0') {
			if (units)
				return -1;
			total = n;
			break;
		}
		if ((unit = ttl_unit(*text++)) == 0)
			return -1;
		units = true;
		total += n * unit;
		if (total > max)
			return -1;
	}
	*out = (uint32_t)total;
	return 0;
}

/* The next RDATA field, which must be there and must not be quoted. */
static int
field_next(struct rr_parse *p, const char *what, struct token *t)
{
	int r = lex_next(&p->lx, t);

	if (r < 0)
		return parse_fail(p, "%s", p->lx.error);
	if (r == 0)
		return parse_fail(p, "missing %s in %s RDATA", what,
		                  p->type_name);
	if (t->quoted)
		return parse_fail(p, "%s " TOKEN_FMT " must not be quoted",
		                  what, TOKEN_ARG(t));
	return 0;
}

static int
field_uint(struct rr_parse *p, const char *what, uint32_t max, uint32_t *v)
{
	struct token t;

	if (field_next(p, what, &t) != 0)
		return -1;
	if (token_uint(&t, max, v) != 0)
		return parse_fail(
		    p, "bad %s " TOKEN_FMT " in %s RDATA (0..%lu)", what,
		    TOKEN_ARG(&t), p->type_name, (unsigned long)max);
	return 0;
}

static int
field_u8(struct rr_parse *p, const char *what, struct wbuf *b)
{
	uint32_t v;

	if (field_uint(p, what, UINT8_MAX, &v) != 0)
		return -1;
	wbuf_u8(b, (uint8_t)v);
	return 0;
}

static int
field_u16(struct rr_parse *p, const char *what, struct wbuf *b)
{
	uint32_t v;

	if (field_uint(p, what, UINT16_MAX, &v) != 0)
		return -1;
	wbuf_u16(b, (uint16_t)v);
	return 0;
}

static int
field_u32(struct rr_parse *p, const char *what, struct wbuf *b)
{
	uint32_t v;

	if (field_uint(p, what, UINT32_MAX, &v) != 0)
		return -1;
	wbuf_u32(b, v);
	return 0;
}

/* A 32-bit time field; BIND accepts TTL units here too ("1h", "2w"). */
static int
field_timer(struct rr_parse *p, const char *what, struct wbuf *b)
{
	struct token t;
	char buf[32];
	uint32_t v;

	if (field_next(p, what, &t) != 0)
		return -1;
	if (token_str(&t, buf, sizeof(buf)) != 0 ||
	    dns_ttl_from_text(buf, UINT32_MAX, &v) != 0)
		return parse_fail(p, "bad %s " TOKEN_FMT " in %s RDATA", what,
		                  TOKEN_ARG(&t), p->type_name);
	wbuf_u32(b, v);
	return 0;
}

/* A domain name, relative ones completed with the origin. */
static int
field_name(struct rr_parse *p, const char *what, struct wbuf *b)
{
	char buf[DNS_NAME_TEXT_MAX + 1];
	uint8_t name[DNS_NAME_MAX];
	struct token t;
	size_t len;

	if (field_next(p, what, &t) != 0)
		return -1;
	if (token_str(&t, buf, sizeof(buf)) != 0 ||
	    (len = dns_name_from_text(buf, p->origin, name)) == 0)
		return parse_fail(p, "bad %s " TOKEN_FMT " in %s RDATA", what,
		                  TOKEN_ARG(&t), p->type_name);
	/* RFC 3597 4: names in RDATA we write are never compressed. */
	wbuf_bytes(b, name, len);
	return 0;
}

/* RFC 1035 3.4.1 */
static int
rdata_a(struct rr_parse *p, struct wbuf *b)
{
	char buf[INET_ADDRSTRLEN];
	uint8_t a[4];
	struct token t;

	if (field_next(p, "address", &t) != 0)
		return -1;
	if (token_str(&t, buf, sizeof(buf)) != 0 ||
	    inet_pton(AF_INET, buf, a) != 1)
		return parse_fail(p,
		                  "bad IPv4 address " TOKEN_FMT " in A RDATA",
		                  TOKEN_ARG(&t));
	wbuf_bytes(b, a, sizeof(a));
	return 0;
}

/* RFC 3596 2.2 */
static int
rdata_aaaa(struct rr_parse *p, struct wbuf *b)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t a[16];
	struct token t;

	if (field_next(p, "address", &t) != 0)
		return -1;
	if (token_str(&t, buf, sizeof(buf)) != 0 ||
	    inet_pton(AF_INET6, buf, a) != 1)
		return parse_fail(
		    p, "bad IPv6 address " TOKEN_FMT " in AAAA RDATA",
		    TOKEN_ARG(&t));
	wbuf_bytes(b, a, sizeof(a));
	return 0;
}

/* NS, CNAME, PTR (RFC 1035 3.3.11, 3.3.1, 3.3.12): one name. */
static int
rdata_name(struct rr_parse *p, struct wbuf *b)
{
	return field_name(p, "domain name", b);
}

/* RFC 1035 3.3.9 */
static int
rdata_mx(struct rr_parse *p, struct wbuf *b)
{
	if (field_u16(p, "preference", b) != 0)
		return -1;
	return field_name(p, "exchange", b);
}

/* RFC 2782: priority weight port target */
static int
rdata_srv(struct rr_parse *p, struct wbuf *b)
{
	if (field_u16(p, "priority", b) != 0 ||
	    field_u16(p, "weight", b) != 0 || field_u16(p, "port", b) != 0)
		return -1;
	return field_name(p, "target", b);
}

/* RFC 1035 3.3.13: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM */
static int
rdata_soa(struct rr_parse *p, struct wbuf *b)
{
	if (field_name(p, "MNAME", b) != 0 || field_name(p, "RNAME", b) != 0 ||
	    field_u32(p, "serial", b) != 0 ||
	    field_timer(p, "refresh", b) != 0 ||
	    field_timer(p, "retry", b) != 0 || field_timer(p, "expire", b) != 0)
		return -1;
	return field_timer(p, "minimum", b);
}

/* One <character-string> (RFC 1035 3.3): length byte, then the bytes. */
static int
txt_string(struct rr_parse *p, const struct token *t, struct wbuf *b)
{
	uint8_t s[CHARSTR_MAX];
	size_t i = 0, n = 0;
	uint8_t c;

	while (i < t->len) {
		if (charstr_byte(t, &i, &c) != 0)
			return parse_fail(p, "bad escape in " TOKEN_FMT,
			                  TOKEN_ARG(t));
		if (n == CHARSTR_MAX)
			return parse_fail(
			    p, "TXT string longer than 255 bytes: " TOKEN_FMT,
			    TOKEN_ARG(t));
		s[n++] = c;
	}
	wbuf_u8(b, (uint8_t)n);
	wbuf_bytes(b, s, n);
	return 0;
}

/* RFC 1035 3.3.14: one or more <character-string>s. */
static int
rdata_txt(struct rr_parse *p, struct wbuf *b)
{
	struct token t;
	unsigned n = 0;
	int r;

	while ((r = lex_next(&p->lx, &t)) == 1) {
		if (txt_string(p, &t, b) != 0)
			return -1;
		n++;
	}
	if (r < 0)
		return parse_fail(p, "%s", p->lx.error);
	if (n == 0)
		return parse_fail(p, "missing text in TXT RDATA");
	return 0;
}

/* RFC 8659 4.1.1: tags are ASCII letters and digits, at least one. */
static bool
caa_tag_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > UINT8_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_alnum(s[i]))
			return false;
	}
	return true;
}

/* RFC 8659 4.1: flags tag value; the value fills the rest of the RDATA. */
static int
rdata_caa(struct rr_parse *p, struct wbuf *b)
{
	struct token t;
	size_t i = 0;
	uint8_t c;
	int r;

	if (field_u8(p, "flags", b) != 0 || field_next(p, "tag", &t) != 0)
		return -1;
	if (!caa_tag_ok(t.s, t.len))
		return parse_fail(p,
		                  "bad CAA tag " TOKEN_FMT
		                  " (letters and digits, RFC 8659 4.1.1)",
		                  TOKEN_ARG(&t));
	wbuf_u8(b, (uint8_t)t.len);
	wbuf_bytes(b, t.s, t.len);
	if ((r = lex_next(&p->lx, &t)) < 0)
		return parse_fail(p, "%s", p->lx.error);
	if (r == 0)
		return parse_fail(p, "missing value in CAA RDATA");
	while (i < t.len) {
		if (charstr_byte(&t, &i, &c) != 0)
			return parse_fail(p, "bad escape in " TOKEN_FMT,
			                  TOKEN_ARG(&t));
		wbuf_u8(b, c);
	}
	return 0;
}

int
dns_hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex words after "\# LEN" (RFC 3597 5); returns the nibble left over. */
static int
generic_hex(struct rr_parse *p, struct wbuf *b, int *half)
{
	struct token t;
	size_t i;
	int r, v;

	while ((r = lex_next(&p->lx, &t)) == 1) {
		if (t.quoted)
			return parse_fail(p, "bad hex \"%.*s%s\" in \\# RDATA",
			                  TOKEN_ARG(&t));
		for (i = 0; i < t.len; i++) {
			if ((v = dns_hex_value(t.s[i])) < 0)
				return parse_fail(
				    p, "bad hex " TOKEN_FMT " in \\# RDATA",
				    TOKEN_ARG(&t));
			if (*half < 0) {
				*half = v;
				continue;
			}
			wbuf_u8(b, (uint8_t)(*half << 4 | v));
			*half = -1;
		}
	}
	if (r < 0)
		return parse_fail(p, "%s", p->lx.error);
	return 0;
}

/*
 * RFC 3597 5: "\# LEN HEX...", HEX in any number of words. For a type we
 * know the RDATA must still be valid for that type.
 */
static int
rdata_generic(struct rr_parse *p, struct wbuf *b)
{
	uint32_t len;
	int half = -1;

	if (field_uint(p, "\\# length", DNS_RDATA_MAX, &len) != 0 ||
	    generic_hex(p, b, &half) != 0)
		return -1;
	if (half >= 0)
		return parse_fail(p, "odd number of hex digits in \\# RDATA");
	if (b->err || b->len != len)
		return parse_fail(p,
		                  "\\# RDATA length %lu but %s%lu bytes of hex",
		                  (unsigned long)len, b->err ? "over " : "",
		                  (unsigned long)b->len);
	if (dns_rdata_check(p->out->type, b->buf, b->len) != 0)
		return parse_fail(p, "\\# RDATA is not valid %s RDATA",
		                  p->type_name);
	return 0;
}

struct rdata_parser {
	uint16_t type;
	int (*parse)(struct rr_parse *p, struct wbuf *b);
};

static const struct rdata_parser rdata_parsers[] = {
    {DNS_TYPE_A, rdata_a},        {DNS_TYPE_NS, rdata_name},
    {DNS_TYPE_CNAME, rdata_name}, {DNS_TYPE_SOA, rdata_soa},
    {DNS_TYPE_PTR, rdata_name},   {DNS_TYPE_MX, rdata_mx},
    {DNS_TYPE_TXT, rdata_txt},    {DNS_TYPE_AAAA, rdata_aaaa},
    {DNS_TYPE_SRV, rdata_srv},    {TYPE_CAA, rdata_caa},
};

static const struct rdata_parser *
rdata_parser_find(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(rdata_parsers) / sizeof(rdata_parsers[0]); i++) {
		if (rdata_parsers[i].type == type)
			return &rdata_parsers[i];
	}
	return NULL;
}

static int
parse_rdata(struct rr_parse *p)
{
	const struct rdata_parser *rp = rdata_parser_find(p->out->type);
	struct lexer start = p->lx;
	struct token t;
	struct wbuf b;
	int r;

	wbuf_init(&b, p->out->rdata, sizeof(p->out->rdata));
	if (lex_next(&p->lx, &t) == 1 && token_is(&t, "\\#")) {
		r = rdata_generic(p, &b);
	} else if (rp == NULL) {
		return parse_fail(p,
		                  "type %s has no text form here; write it as "
		                  "\\# LEN HEX (RFC 3597 5)",
		                  p->type_name);
	} else {
		p->lx = start;
		r = rp->parse(p, &b);
	}
	if (r != 0)
		return -1;
	if (b.err)
		return parse_fail(p, "%s RDATA longer than 65535 bytes",
		                  p->type_name);
	p->out->rdlength = (uint16_t)b.len;
	return 0;
}

static int
parse_owner(struct rr_parse *p)
{
	char buf[DNS_NAME_TEXT_MAX + 1];
	struct token t;
	int r = lex_next(&p->lx, &t);

	if (r < 0)
		return parse_fail(p, "%s", p->lx.error);
	if (r == 0)
		return parse_fail(p, "empty record: expected OWNER [TTL] "
		                     "[CLASS] TYPE RDATA");
	if (t.quoted || token_str(&t, buf, sizeof(buf)) != 0 ||
	    (p->out->owner_len =
	         dns_name_from_text(buf, p->origin, p->out->owner)) == 0)
		return parse_fail(p, "bad owner name " TOKEN_FMT,
		                  TOKEN_ARG(&t));
	return 0;
}

static int
parse_ttl(struct rr_parse *p, const struct token *t)
{
	char buf[32];

	if (token_str(t, buf, sizeof(buf)) != 0 ||
	    dns_ttl_from_text(buf, DNS_TTL_MAX, &p->out->ttl) != 0)
		return parse_fail(p,
		                  "bad TTL " TOKEN_FMT " (0..%lu seconds, "
		                  "or units as in 1h30m)",
		                  TOKEN_ARG(t), (unsigned long)DNS_TTL_MAX);
	return 0;
}

/*
 * 1 when t is class IN, 0 when t is no class, -1 for any other class:
 * CH, HS, CS or CLASSnnn (RFC 3597 5) other than CLASS1.
 */
static int
token_class(const struct token *t)
{
	uint32_t v;
	struct token digits;

	if (token_is(t, "IN"))
		return 1;
	if (token_is(t, "CH") || token_is(t, "HS") || token_is(t, "CS"))
		return -1;
	if (t->quoted || t->len <= 5 || strncasecmp(t->s, "CLASS", 5) != 0)
		return 0;
	digits = *t;
	digits.s += 5;
	digits.len -= 5;
	if (token_uint(&digits, UINT16_MAX, &v) != 0)
		return 0;
	return v == DNS_CLASS_IN ? 1 : -1;
}

static int
parse_type(struct rr_parse *p, const struct token *t)
{
	char buf[16];
	int type;

	if (token_str(t, buf, sizeof(buf)) != 0 ||
	    (type = dns_type_from_text(buf)) < 0)
		return parse_fail(p, "unknown type " TOKEN_FMT, TOKEN_ARG(t));
	p->out->type = (uint16_t)type;
	(void)snprintf(p->type_name, sizeof(p->type_name), "%s",
	               dns_type_name(p->out->type, buf, sizeof(buf)));
	if (type == 0 || type == DNS_TYPE_OPT ||
	    (type >= TYPE_META_FIRST && type <= TYPE_META_LAST))
		return parse_fail(p,
		                  "type %s is not a data type (RFC 6895 3.1)",
		                  p->type_name);
	return 0;
}

/* After the owner: [TTL] [CLASS] in either order, then TYPE (5.1). */
static int
parse_ttl_class_type(struct rr_parse *p)
{
	bool have_ttl = false, have_class = false;
	struct token t;
	int r;

	for (;;) {
		if ((r = lex_next(&p->lx, &t)) < 0)
			return parse_fail(p, "%s", p->lx.error);
		if (r == 0)
			return parse_fail(p, "missing type");
		if (t.quoted)
			return parse_fail(p,
			                  "unexpected quoted string " TOKEN_FMT
			                  " before the type",
			                  TOKEN_ARG(&t));
		if (is_digit(t.s[0])) {
			if (have_ttl)
				return parse_fail(p, "TTL given twice");
			if (parse_ttl(p, &t) != 0)
				return -1;
			have_ttl = true;
		} else if ((r = token_class(&t)) != 0) {
			if (r < 0)
				return parse_fail(p,
				                  "class " TOKEN_FMT
				                  " not supported (only IN)",
				                  TOKEN_ARG(&t));
			if (have_class)
				return parse_fail(p, "class given twice");
			have_class = true;
		} else {
			return parse_type(p, &t);
		}
	}
}

static int
parse_end(struct rr_parse *p)
{
	struct token t;
	int r = lex_next(&p->lx, &t);

	if (r < 0)
		return parse_fail(p, "%s", p->lx.error);
	if (r > 0)
		return parse_fail(p,
		                  "trailing junk " TOKEN_FMT " after %s RDATA",
		                  TOKEN_ARG(&t), p->type_name);
	return 0;
}

int
dns_rr_from_text(const char *text, const uint8_t *origin, uint32_t default_ttl,
                 struct dns_rr_text *out, char *err, size_t errlen)
{
	struct rr_parse p = {
	    .lx = {.p = text},
	    .origin = origin,
	    .out = out,
	    .err = err,
	    .errlen = errlen,
	};

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	out->owner_len = 0;
	out->type = 0;
	out->rclass = DNS_CLASS_IN;
	out->ttl = default_ttl;
	out->rdlength = 0;
	if (parse_owner(&p) != 0 || parse_ttl_class_type(&p) != 0 ||
	    parse_rdata(&p) != 0 || parse_end(&p) != 0)
		return -1;
	return 0;
}

/*
 * An uncompressed name at r->pos into out (DNS_NAME_MAX bytes); its length,
 * or 0 with r->err set. RDATA is not a message, so dns_name_read (which
 * follows pointers relative to a message) is not used: names in RDATA we
 * store are never compressed (RFC 3597 4).
 */
static size_t
rdata_name_read(struct wire *r, uint8_t *out)
{
	size_t len = 0;
	uint8_t c;

	while (!r->err) {
		c = wire_u8(r);
		/* This label plus the root label: at most 255 (RFC 1035
		 * 2.3.4); 0x40 and 0xc0 label types are > 63. */
		if (c > DNS_LABEL_MAX ||
		    len + 1 + c + (c != 0 ? 1 : 0) > DNS_NAME_MAX)
			break;
		out[len++] = c;
		if (c == 0)
			return r->err ? 0 : len;
		wire_read(r, out + len, c);
		len += c;
	}
	r->err = 1;
	return 0;
}

static void
check_name(struct wire *r)
{
	uint8_t name[DNS_NAME_MAX];

	(void)rdata_name_read(r, name);
}

static int
check_txt(struct wire *r)
{
	if (wire_left(r) == 0)
		return -1;
	while (wire_left(r) > 0)
		wire_skip(r, wire_u8(r));
	return r->err ? -1 : 0;
}

static void
check_caa(struct wire *r)
{
	uint8_t tag[UINT8_MAX];
	uint8_t len;

	(void)wire_u8(r); /* flags */
	len = wire_u8(r);
	wire_read(r, tag, len);
	if (!caa_tag_ok((const char *)tag, len))
		r->err = 1;
	wire_skip(r, wire_left(r)); /* the value: any bytes */
}

int
dns_rdata_check(uint16_t type, const uint8_t *rdata, size_t len)
{
	struct wire r;

	wire_init(&r, rdata, len);
	switch (type) {
	case DNS_TYPE_A:
		wire_skip(&r, 4);
		break;
	case DNS_TYPE_AAAA:
		wire_skip(&r, 16);
		break;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		check_name(&r);
		break;
	case DNS_TYPE_MX:
		wire_skip(&r, 2);
		check_name(&r);
		break;
	case DNS_TYPE_SRV:
		wire_skip(&r, 6);
		check_name(&r);
		break;
	case DNS_TYPE_SOA:
		check_name(&r);
		check_name(&r);
		wire_skip(&r, 20);
		break;
	case DNS_TYPE_TXT:
		return check_txt(&r);
	case TYPE_CAA:
		check_caa(&r);
		break;
	default:
		return 0;
	}
	return r.err == 0 && wire_left(&r) == 0 ? 0 : -1;
}

/* Text output with a sticky error, like struct wbuf. */
struct tbuf {
	char *buf;
	size_t cap;
	size_t len;
	int err;
};

static void tb_printf(struct tbuf *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tb_printf(struct tbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->err = 1;
		return;
	}
	t->len += (size_t)n;
}

static void
tb_name(struct tbuf *t, struct wire *r)
{
	uint8_t name[DNS_NAME_MAX];
	int n;

	if (t->err || rdata_name_read(r, name) == 0) {
		t->err = 1;
		return;
	}
	n = dns_name_to_text(name, t->buf + t->len, t->cap - t->len);
	if (n < 0)
		t->err = 1;
	else
		t->len += (size_t)n;
}

/* n bytes as a quoted <character-string>, escaping as RFC 1035 5.1. */
static void
tb_charstr(struct tbuf *t, struct wire *r, size_t n)
{
	uint8_t c;

	tb_printf(t, "\"");
	while (n-- > 0) {
		c = wire_u8(r);
		if (c == '"' || c == '\\')
			tb_printf(t, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			tb_printf(t, "\\%03u", (unsigned)c);
		else
			tb_printf(t, "%c", c);
	}
	tb_printf(t, "\"");
}

static void
tb_generic(struct tbuf *t, const uint8_t *rdata, size_t len)
{
	size_t i;

	tb_printf(t, "\\# %zu%s", len, len > 0 ? " " : "");
	for (i = 0; i < len; i++)
		tb_printf(t, "%02X", (unsigned)rdata[i]);
}

static void
tb_address(struct tbuf *t, int af, const uint8_t *rdata)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(af, rdata, buf, sizeof(buf)) == NULL)
		t->err = 1;
	else
		tb_printf(t, "%s", buf);
}

static void
tb_soa(struct tbuf *t, struct wire *r)
{
	int i;

	tb_name(t, r);
	tb_printf(t, " ");
	tb_name(t, r);
	for (i = 0; i < 5; i++)
		tb_printf(t, " %lu", (unsigned long)wire_u32(r));
}

static void
tb_txt(struct tbuf *t, struct wire *r)
{
	const char *sep = "";

	while (wire_left(r) > 0) {
		tb_printf(t, "%s", sep);
		tb_charstr(t, r, wire_u8(r));
		sep = " ";
	}
}

static void
tb_caa(struct tbuf *t, struct wire *r)
{
	uint8_t tag[UINT8_MAX], flags = wire_u8(r), len = wire_u8(r);

	wire_read(r, tag, len);
	tb_printf(t, "%u %.*s ", (unsigned)flags, (int)len, (const char *)tag);
	tb_charstr(t, r, wire_left(r));
}

/* RDATA known to pass dns_rdata_check; false for types printed as \#. */
static bool
tb_rdata(struct tbuf *t, uint16_t type, const uint8_t *rdata, size_t len)
{
	struct wire r;
	unsigned a, b, c;

	wire_init(&r, rdata, len);
	switch (type) {
	case DNS_TYPE_A:
		tb_address(t, AF_INET, rdata);
		return true;
	case DNS_TYPE_AAAA:
		tb_address(t, AF_INET6, rdata);
		return true;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		tb_name(t, &r);
		return true;
	case DNS_TYPE_MX:
		tb_printf(t, "%u ", (unsigned)wire_u16(&r));
		tb_name(t, &r);
		return true;
	case DNS_TYPE_SRV:
		a = wire_u16(&r);
		b = wire_u16(&r);
		c = wire_u16(&r);
		tb_printf(t, "%u %u %u ", a, b, c);
		tb_name(t, &r);
		return true;
	case DNS_TYPE_SOA:
		tb_soa(t, &r);
		return true;
	case DNS_TYPE_TXT:
		tb_txt(t, &r);
		return true;
	case TYPE_CAA:
		tb_caa(t, &r);
		return true;
	default:
		return false;
	}
}

static int
tb_finish(struct tbuf *t)
{
	if (t->err) {
		t->buf[t->len] = '\0';
		return -1;
	}
	return (int)t->len;
}

static void
tb_rdata_any(struct tbuf *t, uint16_t type, const uint8_t *rdata, size_t len)
{
	size_t mark = t->len;

	if (dns_rdata_check(type, rdata, len) == 0 &&
	    tb_rdata(t, type, rdata, len))
		return;
	if (t->err)
		return;
	t->len = mark;
	tb_generic(t, rdata, len);
}

int
dns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t len, char *out,
                  size_t cap)
{
	struct tbuf t = {.buf = out, .cap = cap};

	if (cap == 0)
		return -1;
	out[0] = '\0';
	tb_rdata_any(&t, type, rdata, len);
	return tb_finish(&t);
}

int
dns_rr_to_text(const uint8_t *owner, uint16_t type, uint32_t ttl,
               const uint8_t *rdata, size_t len, char *out, size_t cap)
{
	struct tbuf t = {.buf = out, .cap = cap};
	char tbuf[16];
	int n;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	n = dns_name_to_text(owner, out, cap);
	if (n < 0)
		t.err = 1;
	else
		t.len = (size_t)n;
	tb_printf(&t, " %lu IN %s ", (unsigned long)ttl,
	          dns_type_name(type, tbuf, sizeof(tbuf)));
	tb_rdata_any(&t, type, rdata, len);
	return tb_finish(&t);
}
