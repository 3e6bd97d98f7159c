/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_zonefile.c — RFC 1035 master files (dns/zonefile.h):
 * every syntax feature, the default TTL rules, the zone rules, and every
 * error with the line it is reported at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/msg.h"
#include "dns/zonefile.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RRS      64
#define MAX_ERRS     64
#define TYPE_CAA     257 /* RFC 8659 */

/* "corp.example." in wire form: the zone of every test. */
static const uint8_t zone_corp[] = {4,   'c', 'o', 'r', 'p', 7,   'e',
                                    'x', 'a', 'm', 'p', 'l', 'e', 0};

struct got_rr {
	uint8_t owner[DNS_NAME_MAX];
	size_t owner_len;
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlength;
	uint8_t *rdata;
	unsigned line;
};

/* What one parse handed out. */
struct got {
	struct got_rr rrs[MAX_RRS];
	size_t nrrs;  /* kept (at most MAX_RRS) */
	size_t nseen; /* record calls */
	char errs[MAX_ERRS][320];
	unsigned err_lines[MAX_ERRS];
	size_t nerrs;
	uint16_t refuse_type; /* the record callback fails these */
};

static struct got G;

static int
on_record(void *ctx, struct dns_rr_text *rr, unsigned line, char *err,
          size_t errlen)
{
	struct got *g = ctx;
	struct got_rr *r;

	g->nseen++;
	if (g->refuse_type != 0 && rr->type == g->refuse_type) {
		snprintf(err, errlen, "refused by the callback");
		return -1;
	}
	if (g->nrrs == MAX_RRS)
		return 0;
	r = &g->rrs[g->nrrs++];
	memcpy(r->owner, rr->owner, rr->owner_len);
	r->owner_len = rr->owner_len;
	r->type = rr->type;
	r->ttl = rr->ttl;
	r->rdlength = rr->rdlength;
	r->rdata = malloc(rr->rdlength + 1u);
	assert_non_null(r->rdata);
	memcpy(r->rdata, rr->rdata, rr->rdlength);
	r->line = line;
	return 0;
}

static void
on_error(void *ctx, unsigned line, const char *msg)
{
	struct got *g = ctx;

	if (g->nerrs == MAX_ERRS)
		return;
	g->err_lines[g->nerrs] = line;
	snprintf(g->errs[g->nerrs], sizeof(g->errs[0]), "%s", msg);
	g->nerrs++;
}

static const struct zonefile_ops ops = {.record = on_record, .error = on_error};

static void
got_reset(void)
{
	size_t i;

	for (i = 0; i < G.nrrs; i++)
		free(G.rrs[i].rdata);
	memset(&G, 0, sizeof(G));
}

static int
teardown(void **state)
{
	(void)state;
	got_reset();
	return 0;
}

/* Parse text[0..len) as corp.example; the error count. */
static long
parse_len(const char *text, size_t len)
{
	got_reset();
	return zonefile_parse(text, len, zone_corp, &ops, &G);
}

static long
parse(const char *text)
{
	return parse_len(text, strlen(text));
}

/* A file that must be good. */
static void
good(const char *text)
{
	long n = parse(text);
	size_t i;

	for (i = 0; i < G.nerrs; i++)
		print_error("line %u: %s\n", G.err_lines[i], G.errs[i]);
	assert_int_equal(n, 0);
}

/* "www" "corp" "example" + root, from dotted text, no escapes. */
static size_t
wire(const char *text, uint8_t *out)
{
	size_t len = 0, n;

	while (*text != '\0') {
		n = strcspn(text, ".");
		out[len++] = (uint8_t)n;
		memcpy(out + len, text, n);
		len += n;
		text += n;
		if (*text == '.')
			text++;
	}
	out[len++] = 0;
	return len;
}

static void
assert_owner(const struct got_rr *r, const char *dotted)
{
	uint8_t w[DNS_NAME_MAX];
	size_t len = wire(dotted, w);

	assert_int_equal(r->owner_len, len);
	assert_memory_equal(r->owner, w, len);
}

static void
assert_rr(size_t i, const char *owner, uint16_t type, uint32_t ttl,
          const uint8_t *rdata, size_t len)
{
	const struct got_rr *r;

	assert_true(i < G.nrrs);
	r = &G.rrs[i];
	assert_owner(r, owner);
	assert_int_equal(r->type, type);
	assert_int_equal(r->ttl, ttl);
	assert_int_equal(r->rdlength, len);
	assert_memory_equal(r->rdata, rdata, len);
}

/* The only error is msg, at line. */
static void
assert_one_error(long n, unsigned line, const char *msg)
{
	size_t i;

	if (n != 1 || strcmp(G.errs[0], msg) != 0 || G.err_lines[0] != line)
		for (i = 0; i < G.nerrs; i++)
			print_error("line %u: %s\n", G.err_lines[i], G.errs[i]);
	assert_int_equal(n, 1);
	assert_int_equal(G.nerrs, 1);
	assert_int_equal(G.err_lines[0], line);
	assert_string_equal(G.errs[0], msg);
}

#define SOA_LINE "@ 3600 IN SOA ns hostmaster 1 3600 600 86400 300\n"

static const uint8_t soa_rdata[] = {
    2,   'n', 's',  4,    'c', 'o', 'r', 'p', 7,   'e', 'x', 'a', 'm',
    'p', 'l', 'e',  0, /* MNAME */
    10,  'h', 'o',  's',  't', 'm', 'a', 's', 't', 'e', 'r', 4,   'c',
    'o', 'r', 'p',  7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, /* RNAME */
    0,   0,   0,    1,                                          /* SERIAL 1 */
    0,   0,   0x0e, 0x10, /* REFRESH 3600 */
    0,   0,   0x02, 0x58, /* RETRY 600 */
    0,   1,   0x51, 0x80, /* EXPIRE 86400 */
    0,   0,   0x01, 0x2c, /* MINIMUM 300 */
};

/* ---- syntax ---- */

static void
test_zonefile_every_syntax_feature(void **state)
{
	static const uint8_t a1[] = {10, 0, 0, 1}, a2[] = {10, 0, 0, 2},
	                     a3[] = {10, 0, 0, 3}, a4[] = {10, 0, 0, 4},
	                     a5[] = {10, 0, 0, 5}, a6[] = {10, 0, 0, 6};
	static const uint8_t mx[] = {0,   10,  4,   'm', 'a', 'i', 'l',
	                             4,   'c', 'o', 'r', 'p', 7,   'e',
	                             'x', 'a', 'm', 'p', 'l', 'e', 0};
	static const uint8_t ns_ext[] = {2,   'n', 's', 7, 'e', 'x', 'a', 'm',
	                                 'p', 'l', 'e', 3, 'n', 'e', 't', 0};

	(void)state;
	good("; a comment line, then a blank one\n"
	     "\n"
	     "$TTL 1h ; comment after a directive\n"
	     "@ IN SOA ns hostmaster ( 1 ; serial\n"
	     "\t3600 600 ; refresh, retry\n"
	     "\t86400\n"
	     "\t300 )\n"
	     "  IN NS ns.example.net.\n"      /* blank owner: @ */
	     "\tMX 10 mail\n"                 /* blank owner, no TTL */
	     "www 60 IN A 10.0.0.1\n"         /* TTL then class */
	     "www IN 70 A 10.0.0.2\n"         /* class then TTL */
	     "www.corp.example. A 10.0.0.3\n" /* absolute owner */
	     "$ORIGIN sub\n"                  /* relative origin */
	     "host A 10.0.0.4\n"
	     "$ORIGIN corp.example.\n"
	     "WWW2 CLASS1 A 10.0.0.5\r\n" /* CRLF, CLASS1 */
	     "(www3\n A 10.0.0.6)\n");
	assert_int_equal(G.nrrs, 9);
	assert_rr(0, "corp.example", DNS_TYPE_SOA, 3600, soa_rdata,
	          sizeof(soa_rdata));
	assert_int_equal(G.rrs[0].line, 4);
	assert_rr(1, "corp.example", DNS_TYPE_NS, 3600, ns_ext, sizeof(ns_ext));
	assert_int_equal(G.rrs[1].line, 8);
	assert_rr(2, "corp.example", DNS_TYPE_MX, 3600, mx, sizeof(mx));
	assert_rr(3, "www.corp.example", DNS_TYPE_A, 60, a1, sizeof(a1));
	assert_rr(4, "www.corp.example", DNS_TYPE_A, 70, a2, sizeof(a2));
	assert_rr(5, "www.corp.example", DNS_TYPE_A, 3600, a3, sizeof(a3));
	assert_rr(6, "host.sub.corp.example", DNS_TYPE_A, 3600, a4, sizeof(a4));
	assert_int_equal(G.rrs[6].line, 14);
	assert_rr(7, "WWW2.corp.example", DNS_TYPE_A, 3600, a5, sizeof(a5));
	assert_rr(8, "www3.corp.example", DNS_TYPE_A, 3600, a6, sizeof(a6));
	assert_int_equal(G.rrs[8].line, 17);
}

static void
test_zonefile_every_type(void **state)
{
	static const uint8_t aaaa[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	                               0,    0,    0,    0,    0, 0, 0, 1};
	static const uint8_t cname[] = {3,   'w', 'w', 'w', 4,   'c',
	                                'o', 'r', 'p', 7,   'e', 'x',
	                                'a', 'm', 'p', 'l', 'e', 0};
	static const uint8_t srv[] = {0,   1,   0,   2,   0x13, 0xc4, 3,   'w',
	                              'w', 'w', 4,   'c', 'o',  'r',  'p', 7,
	                              'e', 'x', 'a', 'm', 'p',  'l',  'e', 0};
	static const uint8_t txt[] = {2, 'h', 'i'};
	static const uint8_t caa[] = {0,   5,   'i', 's', 's', 'u',
	                              'e', 'c', 'a', '.', 'e', 'x'};
	static const uint8_t generic[] = {0x0a, 0, 0, 1};

	(void)state;
	good("$TTL 300\n" SOA_LINE "www AAAA 2001:db8::1\n"
	     "alias CNAME www\n"
	     "1.0.0.10.in-addr.arpa.corp.example. PTR www\n"
	     "_sip._tcp SRV 1 2 5060 www\n"
	     "t TXT hi\n"
	     "@ CAA 0 issue \"ca.ex\"\n"
	     "g TYPE65534 \\# 4 0a000001\n"
	     "g2 TYPE65534 \\# 4 0a00 0001\n"
	     "g3 A \\# 4 0A000001\n");
	assert_int_equal(G.nrrs, 10);
	assert_rr(1, "www.corp.example", DNS_TYPE_AAAA, 300, aaaa,
	          sizeof(aaaa));
	assert_rr(2, "alias.corp.example", DNS_TYPE_CNAME, 300, cname,
	          sizeof(cname));
	assert_rr(3, "1.0.0.10.in-addr.arpa.corp.example", DNS_TYPE_PTR, 300,
	          cname, sizeof(cname));
	assert_rr(4, "_sip._tcp.corp.example", DNS_TYPE_SRV, 300, srv,
	          sizeof(srv));
	assert_rr(5, "t.corp.example", DNS_TYPE_TXT, 300, txt, sizeof(txt));
	assert_rr(6, "corp.example", TYPE_CAA, 300, caa, sizeof(caa));
	assert_rr(7, "g.corp.example", 65534, 300, generic, sizeof(generic));
	assert_rr(8, "g2.corp.example", 65534, 300, generic, sizeof(generic));
	assert_rr(9, "g3.corp.example", DNS_TYPE_A, 300, generic,
	          sizeof(generic));
}

/* A 2048-bit DKIM key: one TXT record of two strings over three lines. */
static void
test_zonefile_dkim_txt_multi_string(void **state)
{
	char text[2048], s1[256], s2[256];
	uint8_t want[2 + 255 + 137];
	size_t i;

	(void)state;
	memcpy(s1, "v=DKIM1; k=rsa; p=", 18);
	for (i = 18; i < 255; i++)
		s1[i] = (char)('A' + i % 26);
	s1[255] = '\0';
	for (i = 0; i < 137; i++)
		s2[i] = (char)('a' + i % 26);
	s2[136] = '='; /* base64 padding */
	s2[137] = '\0';
	snprintf(text, sizeof(text),
	         "$TTL 300\n" SOA_LINE "sel._domainkey IN TXT ( \"%s\"\n"
	         "\t\"%s\" ) ; the key\n"
	         "after A 10.0.0.1\n",
	         s1, s2);
	good(text);
	assert_int_equal(G.nrrs, 3);
	want[0] = 255;
	memcpy(want + 1, s1, 255);
	want[256] = 137;
	memcpy(want + 257, s2, 137);
	assert_rr(1, "sel._domainkey.corp.example", DNS_TYPE_TXT, 300, want,
	          sizeof(want));
	assert_int_equal(G.rrs[1].line, 3);
	assert_int_equal(G.rrs[2].line, 5);
}

static void
test_zonefile_quoted_strings_and_escapes(void **state)
{
	static const uint8_t txt[] = {
	    10,  's', 'e',  'm',  'i', ';',
	    ' ', '(', 'p',  ')',  '"', /* ";()\"" */
	    3,   'A', 'B',  0xff,      /* \065\066\255 */
	    3,   'a', '\\', 'b',       /* a\\b */
	};
	static const uint8_t owner[] = {3,   'a', ';', 'b', 4,   'c',
	                                'o', 'r', 'p', 7,   'e', 'x',
	                                'a', 'm', 'p', 'l', 'e', 0};
	static const uint8_t a[] = {10, 0, 0, 9};

	(void)state;
	good("$TTL 300\n" SOA_LINE
	     "t TXT \"semi; (p)\\\"\" \"\\065\\066\\255\" \"a\\\\b\"\n"
	     "a\\;b A 10.0.0.9 ; an escaped ';' is no comment\n");
	assert_int_equal(G.nrrs, 3);
	assert_rr(1, "t.corp.example", DNS_TYPE_TXT, 300, txt, sizeof(txt));
	assert_int_equal(G.rrs[2].owner_len, sizeof(owner));
	assert_memory_equal(G.rrs[2].owner, owner, sizeof(owner));
	assert_int_equal(G.rrs[2].rdlength, 4);
	assert_memory_equal(G.rrs[2].rdata, a, 4);
}

/* ---- TTLs ---- */

static void
test_zonefile_ttl_defaults(void **state)
{
	(void)state;
	/* No $TTL: the SOA's MINIMUM, then the previous record's TTL. */
	good("@ SOA ns hostmaster 1 3600 600 86400 300\n"
	     "a A 10.0.0.1\n"
	     "b 77 A 10.0.0.2\n"
	     "c A 10.0.0.3\n"
	     "$TTL 1d\n"
	     "d A 10.0.0.4\n"
	     "e 5 A 10.0.0.5\n"
	     "f A 10.0.0.6\n");
	assert_int_equal(G.nrrs, 7);
	assert_int_equal(G.rrs[0].ttl, 300);
	assert_int_equal(G.rrs[1].ttl, 300);
	assert_int_equal(G.rrs[2].ttl, 77);
	assert_int_equal(G.rrs[3].ttl, 77);
	assert_int_equal(G.rrs[4].ttl, 86400);
	assert_int_equal(G.rrs[5].ttl, 5);
	/* With a $TTL, it is the default, not the previous TTL. */
	assert_int_equal(G.rrs[6].ttl, 86400);
}

/* ---- errors ---- */

struct error_case {
	const char *text;
	unsigned line;
	const char *msg;
};

static void
test_zonefile_errors_with_their_lines(void **state)
{
	static const struct error_case cases[] = {
	    {"$TTL 300\n" SOA_LINE "$INCLUDE other.zone\n", 3,
	     "$INCLUDE is not allowed: dnsgate reads only the files its "
	     "configuration names (put the records here)"},
	    {"$TTL 300\n" SOA_LINE "$GENERATE 1-9 h$ A 10.0.0.$\n", 3,
	     "unknown directive '$GENERATE' (there are $ORIGIN and $TTL)"},
	    {"$TTL 300\n" SOA_LINE "$TTL\n", 3, "$TTL takes one value"},
	    {"$TTL 300\n" SOA_LINE "$TTL 1 2\n", 3, "$TTL takes one value"},
	    {"$TTL 300\n" SOA_LINE "$TTL 1y\n", 3,
	     "bad $TTL '1y' (0..2147483647 seconds, or units as in 1h30m)"},
	    {"$TTL 300\n" SOA_LINE "$ORIGIN a..b\n", 3, "bad $ORIGIN 'a..b'"},
	    {"$TTL 300\n" SOA_LINE "$ORIGIN\n", 3, "$ORIGIN takes one value"},
	    {"$TTL 300\n" SOA_LINE "www.other.example. A 10.0.0.1\n", 3,
	     "'www.other.example.' is outside the zone corp.example."},
	    {"$TTL 300\n" SOA_LINE "$ORIGIN example.\nwww A 10.0.0.1\n", 4,
	     "'www.example.' is outside the zone corp.example."},
	    {"$TTL 300\n" SOA_LINE "*.w A 10.0.0.1\n", 3,
	     "wildcard owner '*.w.corp.example.': not supported (records are "
	     "served as they are, without wildcard synthesis)"},
	    {"$TTL 300\n" SOA_LINE "sub SOA ns hm 1 2 3 4 5\n", 3,
	     "SOA at 'sub.corp.example.', not at the zone apex corp.example. "
	     "(RFC 1035 5.2)"},
	    {"$TTL 300\n" SOA_LINE "\n@ SOA ns hm 2 2 3 4 5\n", 4,
	     "second SOA record (the first is on line 2; RFC 1035 5.2: one "
	     "per zone)"},
	    {"$TTL 300\nwww A 10.0.0.1\n", 0,
	     "no SOA record at the zone apex corp.example. (RFC 1035 5.2: a "
	     "zone has exactly one)"},
	    {"$TTL 300\n A 10.0.0.1\n" SOA_LINE, 2,
	     "no owner name, and no record before to take it from"},
	    {"www A 10.0.0.1\n" SOA_LINE, 1,
	     "no TTL, and no $TTL or earlier record to take one from (RFC "
	     "2308 4)"},
	    {"$TTL 300\n" SOA_LINE "t TXT \"open\n", 3,
	     "quoted string not closed at the end of the line"},
	    {"$TTL 300\n" SOA_LINE "t TXT \"open", 3,
	     "quoted string not closed at the end of the file"},
	    /* The entry goes on to its ')': no error from the next line. */
	    {"$TTL 300\n" SOA_LINE "t TXT ( \"open\n \"x\" )\nok A 10.0.0.1\n",
	     3, "quoted string not closed at the end of the line"},
	    {"$TTL 300\n" SOA_LINE "\nt TXT ( \"a\"\n\"b\"\n", 4,
	     "'(' not closed by the end of the file"},
	    {"$TTL 300\n" SOA_LINE "www A 10.0.0.1 )\n", 3, "unbalanced ')'"},
	    {"$TTL 300\n" SOA_LINE "www AAA 10.0.0.1\n", 3,
	     "unknown type 'AAA'"},
	    {"$TTL 300\n" SOA_LINE "www A 10.0.0.256\n", 3,
	     "bad IPv4 address '10.0.0.256' in A RDATA"},
	    {"$TTL 300\n" SOA_LINE "www CH A 10.0.0.1\n", 3,
	     "class 'CH' not supported (only IN)"},
	    {"$TTL 300\n" SOA_LINE "www CLASS3 A 10.0.0.1\n", 3,
	     "class 'CLASS3' not supported (only IN)"},
	    {"$TTL 300\n" SOA_LINE "g TYPE65534 \\# 4 0a0000\n", 3,
	     "\\# RDATA length 4 but 3 bytes of hex"},
	    {"$TTL 300\n" SOA_LINE "www ( A\n 10.0.0.x )\n", 3,
	     "bad IPv4 address '10.0.0.x' in A RDATA"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		long n = parse(cases[i].text);

		if (n != 1 || G.err_lines[0] != cases[i].line ||
		    strcmp(G.errs[0], cases[i].msg) != 0)
			print_error("case %zu\n", i);
		assert_one_error(n, cases[i].line, cases[i].msg);
	}
}

static void
test_zonefile_nul_byte(void **state)
{
	static const char text[] = "$TTL 300\n" SOA_LINE "www A 10.0\0.0.1\n"
	                           "ok A 10.0.0.2\n";

	(void)state;
	assert_one_error(parse_len(text, sizeof(text) - 1), 3,
	                 "NUL byte in the text");
	assert_int_equal(G.nrrs, 2); /* the SOA and "ok" */
}

static void
test_zonefile_entry_too_long(void **state)
{
	size_t head = strlen("$TTL 300\n" SOA_LINE "t TXT ");
	size_t len = head + ZONEFILE_ENTRY_MAX + 16, i;
	char *text = malloc(len + 32);
	char msg[64];

	(void)state;
	assert_non_null(text);
	memcpy(text, "$TTL 300\n" SOA_LINE "t TXT ", head);
	for (i = head; i < len; i++)
		text[i] = i % 200 == 0 ? ' ' : 'x';
	memcpy(text + len, "\nok A 10.0.0.1\n", 15);
	snprintf(msg, sizeof(msg), "entry longer than %u bytes of text",
	         ZONEFILE_ENTRY_MAX);
	assert_one_error(parse_len(text, len + 15), 3, msg);
	/* Read to its end: the next line is a record again. */
	assert_int_equal(G.nrrs, 2);
	assert_int_equal(G.rrs[1].line, 4);
	free(text);
}

static void
test_zonefile_record_limit(void **state)
{
	static const char rec[] = "a A 10.0.0.1\n";
	size_t n = ZONEFILE_RECORDS_MAX + 1, i, off;
	size_t head = strlen("$TTL 300\n" SOA_LINE);
	char *text = malloc(head + n * (sizeof(rec) - 1) + 32);
	char msg[64];

	(void)state;
	assert_non_null(text);
	memcpy(text, "$TTL 300\n" SOA_LINE, head);
	off = head;
	for (i = 0; i < n; i++) {
		memcpy(text + off, rec, sizeof(rec) - 1);
		off += sizeof(rec) - 1;
	}
	memcpy(text + off, "www AAA x\n", 10);
	snprintf(msg, sizeof(msg),
	         "more than %u records: the limit of one zone file",
	         ZONEFILE_RECORDS_MAX);
	/* The SOA (line 2) is record 1: the limit is hit on the last "a"
	 * line, and nothing after it is read. */
	assert_one_error(parse_len(text, off + 10), 2 + ZONEFILE_RECORDS_MAX,
	                 msg);
	assert_int_equal(G.nseen, ZONEFILE_RECORDS_MAX);
	free(text);
}

static void
test_zonefile_callback_error_at_its_line(void **state)
{
	long n;

	(void)state;
	got_reset();
	G.refuse_type = DNS_TYPE_MX;
	n = zonefile_parse("$TTL 300\n" SOA_LINE "\n@ MX 10 mail\n",
	                   strlen("$TTL 300\n" SOA_LINE "\n@ MX 10 mail\n"),
	                   zone_corp, &ops, &G);
	assert_one_error(n, 4, "refused by the callback");
}

/* Every error is reported, and the good records around them go on. */
static void
test_zonefile_every_error_reported(void **state)
{
	long n;

	(void)state;
	n = parse("$TTL 300\n"       /* 1 */
	          "a A 10.0.0.1\n"   /* 2 */
	          "b A x\n"          /* 3: error */
	          "$INCLUDE f\n"     /* 4: error */
	          "c A 10.0.0.3\n"   /* 5 */
	          "d AAAA y\n"       /* 6: error */
	          "e A 10.0.0.5\n"); /* 7; no SOA: error */
	assert_int_equal(n, 4);
	assert_int_equal(G.nerrs, 4);
	assert_int_equal(G.err_lines[0], 3);
	assert_int_equal(G.err_lines[1], 4);
	assert_int_equal(G.err_lines[2], 6);
	assert_int_equal(G.err_lines[3], 0);
	assert_int_equal(G.nrrs, 3);
}

static void
test_zonefile_empty_and_comment_only_files(void **state)
{
	(void)state;
	assert_one_error(parse(""), 0,
	                 "no SOA record at the zone apex corp.example. (RFC "
	                 "1035 5.2: a zone has exactly one)");
	assert_one_error(parse("; nothing\n\n   \n  ; more\n( )\n"), 0,
	                 "no SOA record at the zone apex corp.example. (RFC "
	                 "1035 5.2: a zone has exactly one)");
}

/* The last line needs no newline; a CR alone is a blank. */
static void
test_zonefile_no_final_newline(void **state)
{
	(void)state;
	good("$TTL 300\r\n" SOA_LINE "www A 10.0.0.1");
	assert_int_equal(G.nrrs, 2);
	assert_int_equal(G.rrs[1].line, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_zonefile_every_syntax_feature,
	                              teardown),
	    cmocka_unit_test_teardown(test_zonefile_every_type, teardown),
	    cmocka_unit_test_teardown(test_zonefile_dkim_txt_multi_string,
	                              teardown),
	    cmocka_unit_test_teardown(test_zonefile_quoted_strings_and_escapes,
	                              teardown),
	    cmocka_unit_test_teardown(test_zonefile_ttl_defaults, teardown),
	    cmocka_unit_test_teardown(test_zonefile_errors_with_their_lines,
	                              teardown),
	    cmocka_unit_test_teardown(test_zonefile_nul_byte, teardown),
	    cmocka_unit_test_teardown(test_zonefile_entry_too_long, teardown),
	    cmocka_unit_test_teardown(test_zonefile_record_limit, teardown),
	    cmocka_unit_test_teardown(test_zonefile_callback_error_at_its_line,
	                              teardown),
	    cmocka_unit_test_teardown(test_zonefile_every_error_reported,
	                              teardown),
	    cmocka_unit_test_teardown(
	        test_zonefile_empty_and_comment_only_files, teardown),
	    cmocka_unit_test_teardown(test_zonefile_no_final_newline, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
