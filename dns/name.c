/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/name.c — reading, comparing and printing domain names.
 *
 * Only dns_name_read and dns_name_skip see packet bytes, and they read them
 * through the wire cursor. Everything else works on names they produced (or
 * dns_name_from_text built), which are valid uncompressed wire form.
 */
#include <stdio.h>
#include <string.h>

#include "dns/name.h"

/* Top two bits of a length byte (RFC 1035 4.1.4, RFC 6891 5). */
#define LABEL_KIND_MASK    0xc0
#define LABEL_KIND_POINTER 0xc0
/* A pointer into the 12-byte message header (RFC 1035 4.1.1) is bogus. */
#define NAME_MIN_OFFSET 12

/*
 * Length bytes are at most 63 and 'A'..'Z' are 65..90, so lower-casing every
 * byte of a wire name changes only label contents, never its structure.
 */
static uint8_t
ascii_lower(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(c - 'A' + 'a');
	return c;
}

/*
 * Follow a compression pointer whose first byte c was just read from r.
 * seq_start is the start of the label sequence holding the pointer. RFC
 * 1035 4.1.4 only ever points to a prior occurrence of a name, so the
 * target must start strictly before seq_start, and the name found there
 * must also end before it: r stops at seq_start. Every hop thus moves
 * backwards (no loop can form), and a name never depends on bytes after it,
 * which a proxy may cut off (the OPT, trailing bytes) before forwarding.
 * Names do not live in the header, whose ID and counts a proxy rewrites.
 */
static int
name_follow(struct wire *r, uint8_t c, size_t *seq_start)
{
	size_t target = (size_t)(c & ~LABEL_KIND_MASK) << 8;

	target |= wire_u8(r);
	if (r->err || target < NAME_MIN_OFFSET || target >= *seq_start) {
		r->err = 1;
		return -1;
	}
	r->len = *seq_start;
	*seq_start = target;
	wire_seek(r, target);
	return 0;
}

/*
 * Copy one label of length c from r to out at *len. The name must keep room
 * for the root label: labels + root <= 255 (RFC 1035 2.3.4).
 */
static int
name_label(struct wire *r, uint8_t c, uint8_t *out, size_t *len)
{
	if (c > DNS_LABEL_MAX || *len + 1 + c >= DNS_NAME_MAX) {
		r->err = 1;
		return -1;
	}
	out[*len] = c;
	wire_read(r, out + *len + 1, c);
	*len += 1 + (size_t)c;
	return r->err ? -1 : 0;
}

size_t
dns_name_read(struct wire *w, uint8_t *out)
{
	struct wire r = *w;
	size_t seq_start = w->pos, end = 0, len = 0;
	unsigned hops = 0;
	uint8_t c;

	while (!r.err) {
		c = wire_u8(&r);
		if (r.err)
			break;
		if (c == 0) {
			out[len++] = 0;
			w->pos = hops > 0 ? end : r.pos;
			return len;
		}
		if ((c & LABEL_KIND_MASK) == LABEL_KIND_POINTER) {
			if (++hops > DNS_NAME_MAX_HOPS)
				break;
			if (hops == 1)
				end = r.pos + 1;
			(void)name_follow(&r, c, &seq_start);
			continue;
		}
		/* 0x40 (extended, RFC 6891 5) and 0x80 (reserved) labels. */
		if ((c & LABEL_KIND_MASK) != 0)
			break;
		(void)name_label(&r, c, out, &len);
	}
	w->err = 1;
	return 0;
}

int
dns_name_skip(struct wire *w)
{
	uint8_t tmp[DNS_NAME_MAX];

	/* The same checks matter when skipping: a loop is a loop. */
	if (dns_name_read(w, tmp) == 0)
		return -1;
	return 0;
}

size_t
dns_name_len(const uint8_t *name)
{
	size_t len = 0;

	/* Bounded even if handed a broken name. */
	while (len < DNS_NAME_MAX && name[len] != 0)
		len += 1 + (size_t)name[len];
	return len + 1;
}

unsigned
dns_name_labels(const uint8_t *name)
{
	unsigned n = 0;

	for (; name != NULL && name[0] != 0; name = dns_name_parent(name))
		n++;
	return n;
}

bool
dns_name_equal(const uint8_t *a, const uint8_t *b)
{
	size_t la = dns_name_len(a), lb = dns_name_len(b), i;

	if (la != lb)
		return false;
	/* Length bytes compare exactly under ascii_lower (see above). */
	for (i = 0; i < la; i++) {
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	}
	return true;
}

bool
dns_name_is_sub(const uint8_t *name, const uint8_t *parent)
{
	unsigned n = dns_name_labels(name), p = dns_name_labels(parent);

	if (n < p)
		return false;
	for (; n > p; n--)
		name = dns_name_parent(name);
	return dns_name_equal(name, parent);
}

const uint8_t *
dns_name_parent(const uint8_t *name)
{
	if (name[0] == 0)
		return NULL;
	return name + 1 + name[0];
}

void
dns_name_lower(uint8_t *name)
{
	size_t len = dns_name_len(name), i;

	for (i = 0; i < len; i++)
		name[i] = ascii_lower(name[i]);
}

unsigned
dns_name_label_offsets(const uint8_t *name, uint8_t off[DNS_NAME_MAX / 2])
{
	unsigned n = 0;
	size_t pos = 0;

	while (name[pos] != 0 && n < DNS_NAME_MAX / 2) {
		off[n++] = (uint8_t)pos;
		pos += 1 + (size_t)name[pos];
	}
	return n;
}

/* Labels as octet strings, upper case as lower; a prefix sorts first. */
static int
name_label_compare(const uint8_t *a, const uint8_t *b)
{
	unsigned i, n = a[0] < b[0] ? a[0] : b[0];
	int d;

	for (i = 1; i <= n; i++) {
		d = ascii_lower(a[i]) - ascii_lower(b[i]);
		if (d != 0)
			return d;
	}
	return a[0] - b[0];
}

int
dns_name_compare(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[DNS_NAME_MAX / 2], ob[DNS_NAME_MAX / 2];
	unsigned na = dns_name_label_offsets(a, oa);
	unsigned nb = dns_name_label_offsets(b, ob);
	int d;

	/* RFC 4034 6.1: compare from the rightmost label leftwards. */
	while (na > 0 && nb > 0) {
		d = name_label_compare(a + oa[--na], b + ob[--nb]);
		if (d != 0)
			return d;
	}
	/* The name with labels left over is below the other: it sorts after. */
	return (na > 0) - (nb > 0);
}

/* Append text to out at *len, keeping room for the NUL; -1 when full. */
static int
text_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (cap - *len <= n)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* One label byte in presentation form (RFC 1035 5.1, RFC 4343 2.1). */
static int
text_put_byte(char *out, size_t cap, size_t *len, uint8_t c)
{
	char esc[5];

	if (c < 0x21 || c > 0x7e) {
		(void)snprintf(esc, sizeof(esc), "\\%03u", (unsigned)c);
		return text_put(out, cap, len, esc, 4);
	}
	if (strchr(".\\\";()@$", c) != NULL) {
		esc[0] = '\\';
		esc[1] = (char)c;
		return text_put(out, cap, len, esc, 2);
	}
	esc[0] = (char)c;
	return text_put(out, cap, len, esc, 1);
}

int
dns_name_to_text(const uint8_t *name, char *out, size_t cap)
{
	size_t len = 0, i;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	if (name[0] == 0)
		return text_put(out, cap, &len, ".", 1) == 0 ? (int)len : -1;
	for (; name[0] != 0; name = dns_name_parent(name)) {
		for (i = 1; i <= name[0]; i++) {
			if (text_put_byte(out, cap, &len, name[i]) != 0)
				return -1;
		}
		if (text_put(out, cap, &len, ".", 1) != 0)
			return -1;
	}
	return (int)len;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Decode one character of presentation form at *s: a plain byte, \c or
 * \DDD (RFC 1035 5.1). Sets *escaped so an escaped dot stays in the label.
 */
static int
text_get_byte(const char **s, uint8_t *c, bool *escaped)
{
	const char *p = *s;
	unsigned v;

	*escaped = p[0] == '\\';
	if (!*escaped) {
		*c = (uint8_t)p[0];
		*s = p + 1;
		return 0;
	}
	if (p[1] == '\0')
		return -1;
	if (!is_digit(p[1])) {
		*c = (uint8_t)p[1];
		*s = p + 2;
		return 0;
	}
	if (!is_digit(p[2]) || !is_digit(p[3]))
		return -1;
	v = (unsigned)(p[1] - '0') * 100 + (unsigned)(p[2] - '0') * 10 +
	    (unsigned)(p[3] - '0');
	if (v > 255)
		return -1;
	*c = (uint8_t)v;
	*s = p + 4;
	return 0;
}

/* Append origin (a valid wire name) to out at len; 0 when too long. */
static size_t
name_append_origin(uint8_t *out, size_t len, const uint8_t *origin)
{
	size_t olen = dns_name_len(origin);

	if (len + olen > DNS_NAME_MAX)
		return 0;
	memcpy(out + len, origin, olen);
	return len + olen;
}

/*
 * Parse the labels of text into out without the root label. Returns the
 * length so far (labels only) and sets *absolute when text ended with an
 * unescaped dot; -1 on a bad name.
 */
static int
name_text_labels(const char *text, uint8_t *out, bool *absolute)
{
	size_t len = 0, lab = 0; /* lab: offset of the current length byte */
	bool escaped;
	uint8_t c;

	*absolute = false;
	out[0] = 0;
	while (*text != '\0') {
		if (text_get_byte(&text, &c, &escaped) != 0)
			return -1;
		if (c == '.' && !escaped) {
			if (out[lab] == 0) /* empty label */
				return -1;
			len = lab + 1 + out[lab];
			lab = len;
			out[lab] = 0;
			*absolute = *text == '\0';
			continue;
		}
		/* Room for this byte, the label's length byte and the root. */
		if (out[lab] == DNS_LABEL_MAX ||
		    lab + 1 + out[lab] + 1 >= DNS_NAME_MAX)
			return -1;
		out[lab + 1 + out[lab]] = c;
		out[lab]++;
	}
	if (out[lab] != 0)
		len = lab + 1 + out[lab];
	return (int)len;
}

size_t
dns_name_from_text(const char *text, const uint8_t *origin, uint8_t *out)
{
	static const uint8_t root[1] = {0};
	bool absolute;
	int len;

	if (origin == NULL)
		origin = root;
	if (strcmp(text, "@") == 0)
		return name_append_origin(out, 0, origin);
	if (strcmp(text, ".") == 0)
		return name_append_origin(out, 0, root);
	len = name_text_labels(text, out, &absolute);
	if (len <= 0)
		return 0;
	return name_append_origin(out, (size_t)len, absolute ? root : origin);
}
