/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/addr.c — IP addresses, endpoints and BIND-style address match lists.
 *
 * Every address is 16 bytes; IPv4 lives at b[12..15] behind the ::ffff:
 * prefix (RFC 4291 §2.5.5.2) with v4 set, so one set of byte operations
 * serves both families while the v4 flag keeps them apart for matching.
 */
#include "dns/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const uint8_t v4_mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};

/* First byte that carries the family's own address bits. */
static size_t
addr_offset(const struct ip_addr *a)
{
	return a->v4 ? 12 : 0;
}

static void
addr_set_v4(struct ip_addr *a, const void *in4)
{
	memcpy(a->b, v4_mapped_prefix, sizeof v4_mapped_prefix);
	memcpy(a->b + 12, in4, 4);
	a->v4 = true;
}

/* Decimal digits only (no sign, no space), at most 5 of them, value <= max. */
static int
parse_uint(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
ip_addr_parse(const char *text, struct ip_addr *a)
{
	struct ip_addr r;
	uint8_t in4[4];

	memset(&r, 0, sizeof r);
	if (inet_pton(AF_INET, text, in4) == 1)
		addr_set_v4(&r, in4);
	else if (inet_pton(AF_INET6, text, r.b) != 1)
		return -1;
	*a = r;
	return 0;
}

/* ip_addr_parse on text[0..len), which need not be NUL-terminated. */
static int
addr_parse_n(const char *text, size_t len, struct ip_addr *a)
{
	char buf[IP_ADDR_TEXT_MAX];

	if (len >= sizeof buf)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return ip_addr_parse(buf, a);
}

const char *
ip_addr_format(const struct ip_addr *a, char *out, size_t cap)
{
	socklen_t n =
	    cap > IP_ADDR_TEXT_MAX ? IP_ADDR_TEXT_MAX : (socklen_t)cap;
	const char *r;

	if (cap == 0)
		return out;
	if (a->v4)
		r = inet_ntop(AF_INET, a->b + 12, out, n);
	else
		r = inet_ntop(AF_INET6, a->b, out, n);
	if (r == NULL)
		out[0] = '\0'; /* too small: better empty than a cut address */
	return out;
}

int
ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *a,
                      uint16_t *port)
{
	struct ip_addr r;
	uint16_t p;

	memset(&r, 0, sizeof r);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		addr_set_v4(&r, &in->sin_addr);
		p = in->sin_port;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(r.b, &in6->sin6_addr, sizeof r.b);
		/* A dual-stack socket hands IPv4 clients over as
		 * ::ffff:a.b.c.d; they are IPv4 clients and must meet the IPv4
		 * ACL entries. */
		r.v4 = memcmp(r.b, v4_mapped_prefix, 12) == 0;
		p = in6->sin6_port;
	} else {
		return -1;
	}
	*a = r;
	if (port != NULL)
		*port = ntohs(p);
	return 0;
}

socklen_t
ip_addr_to_sockaddr(const struct ip_addr *a, uint16_t port,
                    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->v4) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, a->b + 12, 4);
		return sizeof *in;
	} else {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, a->b, 16);
		return sizeof *in6;
	}
}

bool
ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	size_t off = addr_offset(a);

	return a->v4 == b->v4 && memcmp(a->b + off, b->b + off, 16 - off) == 0;
}

bool
ip_sockaddr_is(const struct sockaddr *sa, const struct ip_addr *a,
               uint16_t port)
{
	struct ip_addr s;
	uint16_t p;

	return ip_addr_from_sockaddr(sa, &s, &p) == 0 && p == port &&
	       memcmp(s.b, a->b, sizeof(s.b)) == 0;
}

bool
ip_addr_is_unspecified(const struct ip_addr *a)
{
	size_t off = addr_offset(a);

	for (size_t i = off; i < 16; i++)
		if (a->b[i] != 0)
			return false;
	return true;
}

bool
ip_addr_is_loopback(const struct ip_addr *a)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	/* An IPv4 address is kept IPv4-mapped, whichever way it was
	 * written. */
	if (memcmp(a->b, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0)
		return a->b[12] == 127;
	return memcmp(a->b, v6_loopback, 16) == 0;
}

/*
 * Split an endpoint into host and port text. Brackets are required for an
 * IPv6 address with a port; a bare text with two or more colons is IPv6
 * without one ("::1:53" is the address ::1:53, as in BIND and unbound).
 */
static int
endpoint_split(const char *text, const char **host, size_t *hlen,
               const char **port, bool *bracketed)
{
	const char *colon;

	*bracketed = text[0] == '[';
	if (*bracketed) {
		const char *close = strchr(text, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		*host = text + 1;
		*hlen = (size_t)(close - *host);
		*port = close[1] == ':' ? close + 2 : NULL;
		return 0;
	}
	*host = text;
	colon = strchr(text, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL) {
		*hlen = strlen(text);
		*port = NULL;
	} else {
		*hlen = (size_t)(colon - text);
		*port = colon + 1;
	}
	return 0;
}

int
ip_endpoint_parse(const char *text, uint16_t default_port, struct ip_addr *a,
                  uint16_t *port)
{
	const char *host, *ptext;
	size_t hlen;
	bool bracketed;
	unsigned p = default_port;
	struct ip_addr r;

	if (endpoint_split(text, &host, &hlen, &ptext, &bracketed) < 0)
		return -1;
	if (addr_parse_n(host, hlen, &r) < 0)
		return -1;
	if (bracketed && r.v4)
		return -1; /* "[192.0.2.1]:53" is no form anyone writes */
	if (ptext != NULL &&
	    (parse_uint(ptext, strlen(ptext), 65535, &p) < 0 || p == 0))
		return -1;
	*a = r;
	*port = (uint16_t)p;
	return 0;
}

const char *
ip_endpoint_format(const struct ip_addr *a, uint16_t port, char *out,
                   size_t cap)
{
	char ip[IP_ADDR_TEXT_MAX];
	int n;

	if (cap == 0)
		return out;
	ip_addr_format(a, ip, sizeof ip);
	if (a->v4)
		n = snprintf(out, cap, "%s:%u", ip, (unsigned)port);
	else
		n = snprintf(out, cap, "[%s]:%u", ip, (unsigned)port);
	if (n < 0 || (size_t)n >= cap)
		out[0] = '\0'; /* as ip_addr_format: never a cut endpoint */
	return out;
}

void
ip_addr_mask(struct ip_addr *a, unsigned len)
{
	unsigned max = a->v4 ? 32 : 128;
	unsigned bits = (unsigned)addr_offset(a) * 8 + (len < max ? len : max);
	size_t i = bits / 8;

	if (bits % 8 != 0) {
		a->b[i] &= (uint8_t)(0xff << (8 - bits % 8));
		i++;
	}
	memset(a->b + i, 0, sizeof a->b - i);
}

/* ip_prefix_parse on text[0..len). */
static int
prefix_parse_n(const char *text, size_t len, struct ip_prefix *p)
{
	const char *slash = memchr(text, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - text) : len;
	struct ip_prefix r;
	unsigned bits, max;

	memset(&r, 0, sizeof r);
	if (addr_parse_n(text, alen, &r.addr) < 0)
		return -1;
	max = r.addr.v4 ? 32 : 128;
	bits = max;
	if (slash != NULL &&
	    parse_uint(slash + 1, len - alen - 1, max, &bits) < 0)
		return -1;
	/* BIND takes "10.1.2.3/8" as 10.0.0.0/8; so do we. */
	ip_addr_mask(&r.addr, bits);
	r.len = (uint8_t)bits;
	*p = r;
	return 0;
}

int
ip_prefix_parse(const char *text, struct ip_prefix *p)
{
	return prefix_parse_n(text, strlen(text), p);
}

bool
ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a)
{
	struct ip_addr m;

	if (p->addr.v4 != a->v4)
		return false; /* a v4 prefix never covers a v6 address */
	m = *a;
	ip_addr_mask(&m, p->len);
	return ip_addr_equal(&m, &p->addr);
}

static const char *
skip_space(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	return s;
}

static bool
word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* One element, "[!] any|none|prefix", in s[0..end), spaces around allowed. */
static int
acl_elem_parse(const char *s, const char *end, struct acl_elem *e)
{
	size_t len;

	memset(e, 0, sizeof *e);
	s = skip_space(s, end);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s < end && *s == '!') {
		e->negated = true;
		s = skip_space(s + 1, end);
	}
	len = (size_t)(end - s);
	if (word_is(s, len, "any"))
		e->kind = ACL_ELEM_ANY;
	else if (word_is(s, len, "none"))
		e->kind = ACL_ELEM_NONE;
	else {
		e->kind = ACL_ELEM_PREFIX;
		return prefix_parse_n(s, len, &e->prefix);
	}
	return 0;
}

/*
 * Parse every element of text, storing them in out[] when out is not NULL;
 * *count gets their number. Run once to validate and count, once to store,
 * so a bad element never leaves a list half-appended.
 */
static int
acl_scan(const char *text, struct acl_elem *out, size_t *count,
         const char **bad)
{
	const char *s = text, *end;
	struct acl_elem e;
	size_t n = 0;

	if (*skip_space(text, text + strlen(text)) == '\0') {
		*count = 0; /* an empty list, as BIND's "{ };" */
		return 0;
	}
	for (;;) {
		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		if (acl_elem_parse(s, end, &e) < 0) {
			if (bad != NULL)
				*bad = skip_space(s, end);
			return -1;
		}
		if (out != NULL)
			out[n] = e;
		n++;
		if (*end == '\0')
			break;
		s = end + 1;
	}
	*count = n;
	return 0;
}

static int
acl_reserve(struct acl *list, size_t need)
{
	size_t cap = list->cap != 0 ? list->cap : 4;
	struct acl_elem *e;

	if (need <= list->cap)
		return 0;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	if (cap > SIZE_MAX / sizeof *e)
		return -1;
	e = realloc(list->elems, cap * sizeof *e);
	if (e == NULL)
		return -1;
	list->elems = e;
	list->cap = cap;
	return 0;
}

int
acl_parse_append(struct acl *list, const char *text, const char **bad)
{
	size_t n;

	if (acl_scan(text, NULL, &n, bad) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (n == 0)
		return 0;
	if (list->n > SIZE_MAX - n || acl_reserve(list, list->n + n) < 0) {
		if (bad != NULL)
			*bad = text;
		errno = ENOMEM;
		return -1;
	}
	(void)acl_scan(text, list->elems + list->n, &n, bad);
	list->n += n;
	return 0;
}

static bool
acl_elem_matches(const struct acl_elem *e, const struct ip_addr *a)
{
	switch (e->kind) {
	case ACL_ELEM_ANY:
		return true;
	case ACL_ELEM_NONE:
		return false;
	case ACL_ELEM_PREFIX:
		return ip_prefix_contains(&e->prefix, a);
	}
	return false;
}

int
acl_match_index(const struct acl *list, const struct ip_addr *a)
{
	size_t i;

	if (list == NULL)
		return -1;
	for (i = 0; i < list->n && i <= INT_MAX; i++) {
		if (acl_elem_matches(&list->elems[i], a))
			return (int)i;
	}
	return -1;
}

enum acl_match
acl_match(const struct acl *list, const struct ip_addr *a)
{
	int i = acl_match_index(list, a);

	if (i < 0)
		return ACL_NOMATCH;
	return list->elems[i].negated ? ACL_REJECT : ACL_ACCEPT;
}

bool
acl_allows(const struct acl *list, const struct ip_addr *a)
{
	return acl_match(list, a) == ACL_ACCEPT;
}

void
acl_free(struct acl *list)
{
	if (list == NULL)
		return;
	free(list->elems);
	list->elems = NULL;
	list->n = 0;
	list->cap = 0;
}
