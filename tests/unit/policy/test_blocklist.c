/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/policy/test_blocklist.c — blocklists, allowlists and RPZ:
 * the four formats and their detection, comments, hosts lines, adblock
 * rules, exceptions and the rules skipped as unsupported, names in UTF-8,
 * RPZ origins, wildcards and actions, bad entries skipped and counted with
 * their line numbers, errors that reject a file, the matching order
 * (allowlist, exceptions, first list, most specific entry), the answers
 * built for
 * every action decoded back with dns/msg.h, and a 1,000,000-name list,
 * clean and with 1 % bad lines (BLOCKLIST_TEST_ENTRIES=N changes its size;
 * 0 skips them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/msg.h"
#include "policy/blocklist.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RRS      16
#define BIG_DEFAULT  1000000

/* ---- helpers ---- */

static struct blocklist *
parse_ok(const char *name, enum blocklist_format f, const char *text)
{
	struct blocklist *bl;
	char err[256] = "";
	int line = -1;

	bl = blocklist_parse(name, f, text, strlen(text), err, sizeof(err),
	                     &line);
	if (bl == NULL)
		print_error("%s:%d: %s\n", name, line, err);
	assert_non_null(bl);
	return bl;
}

/* text must fail at line with a message containing want. */
static void
parse_fails(enum blocklist_format f, const char *text, int line,
            const char *want)
{
	struct blocklist *bl;
	char err[256] = "";
	int got = -1;

	bl = blocklist_parse("bad.txt", f, text, strlen(text), err, sizeof(err),
	                     &got);
	if (bl != NULL || got != line || strstr(err, want) == NULL)
		print_error("'%s': line %d '%s', want line %d '%s'\n", text,
		            got, err, line, want);
	assert_null(bl);
	assert_int_equal(got, line);
	assert_non_null(strstr(err, want));
}

/* A set of one list; the list is freed at once (the set copies). */
static struct blockset *
set_one(const char *name, enum blocklist_format f, const char *text)
{
	struct blocklist *bl = parse_ok(name, f, text);
	const struct blocklist *lists[1] = {bl};
	struct blockset *set = blockset_create(lists, 1, NULL, 0);

	assert_non_null(set);
	blocklist_free(bl);
	return set;
}

static void
wire_name(const char *text, uint8_t *out)
{
	assert_int_not_equal(dns_name_from_text(text, NULL, out), 0);
}

static enum block_action
lookup(const struct blockset *set, const char *qname, struct block_match *m)
{
	uint8_t name[DNS_NAME_MAX];
	bool blocked;

	wire_name(qname, name);
	blocked = blockset_lookup(set, name, m);
	assert_int_equal(blocked, m->action >= BLOCK_LISTED);
	return m->action;
}

static void
assert_action(const struct blockset *set, const char *qname,
              enum block_action want)
{
	struct block_match m;
	enum block_action got = lookup(set, qname, &m);

	if (got != want)
		print_error("%s: %s, want %s\n", qname, block_action_name(got),
		            block_action_name(want));
	assert_int_equal(got, want);
}

static void
assert_name(const uint8_t *name, const char *text)
{
	uint8_t want[DNS_NAME_MAX];

	assert_non_null(name);
	wire_name(text, want);
	assert_int_equal(dns_name_len(name), dns_name_len(want));
	assert_memory_equal(name, want, dns_name_len(want));
}

/* A query as dns_query_parse would leave it: ID 0xbeef, RD=1, no EDNS. */
static void
query_make(struct dns_query *q, const char *qname, uint16_t qtype)
{
	memset(q, 0, sizeof(*q));
	q->hdr.id = 0xbeef;
	q->hdr.flags = DNS_FLAG_RD;
	q->hdr.qdcount = 1;
	q->qname_len = dns_name_from_text(qname, NULL, q->qname);
	assert_int_not_equal(q->qname_len, 0);
	q->qtype = qtype;
	q->qclass = DNS_CLASS_IN;
	q->question_end = DNS_HEADER_LEN + q->qname_len + 4;
}

/* A response taken apart with the codec. */
struct decoded {
	struct dns_response r;
	struct dns_rr rr[MAX_RRS]; /* answer, authority, additional */
	unsigned an, ns, ar;
	const uint8_t *msg;
	size_t len;
};

static void
decode(const uint8_t *msg, size_t len, struct decoded *d)
{
	struct wire w;
	unsigned i, n;

	memset(d, 0, sizeof(*d));
	d->msg = msg;
	d->len = len;
	assert_int_equal(dns_response_parse(msg, len, &d->r), 0);
	d->an = d->r.hdr.ancount;
	d->ns = d->r.hdr.nscount;
	d->ar = d->r.hdr.arcount;
	n = d->an + d->ns + d->ar;
	assert_true(n <= MAX_RRS);
	wire_init(&w, msg, len);
	wire_seek(&w, d->r.question_end);
	for (i = 0; i < n; i++)
		assert_int_equal(dns_rr_next(&w, &d->rr[i]), 0);
	assert_int_equal(w.err, 0);
	assert_int_equal(wire_left(&w), 0);
}

/* Look qname up in set, build the answer, decode it. */
static size_t
answer(const struct blockset *set, const char *qname, uint16_t qtype,
       enum block_policy policy, const struct ip_addr *redirect,
       const struct dns_opt_out *o, uint8_t *buf, size_t cap, struct decoded *d)
{
	struct block_match m;
	struct dns_query q;
	size_t len;

	query_make(&q, qname, qtype);
	(void)blockset_lookup(set, q.qname, &m);
	len = blockset_build_answer(buf, cap, &q, &m, policy, redirect, o);
	if (len == 0)
		return 0;
	decode(buf, len, d);
	assert_int_equal(d->r.hdr.id, 0xbeef);
	assert_true(dns_name_equal(d->r.qname, q.qname));
	assert_int_equal(d->r.qtype, qtype);
	return len;
}

static void
assert_flags(const struct decoded *d, uint16_t want_set, unsigned rcode)
{
	uint16_t f = d->r.hdr.flags;

	assert_true(f & DNS_FLAG_QR);
	assert_true(f & DNS_FLAG_RA);
	assert_true(f & DNS_FLAG_RD); /* copied */
	assert_int_equal((f & DNS_FLAG_AA) != 0, (want_set & DNS_FLAG_AA) != 0);
	assert_int_equal((f & DNS_FLAG_TC) != 0, (want_set & DNS_FLAG_TC) != 0);
	assert_int_equal(d->r.rcode, rcode);
}

static uint32_t
rdata_u32_at(const struct decoded *d, const struct dns_rr *rr, size_t off)
{
	const uint8_t *p = d->msg + rr->rdata_offset + off;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The SOA of a negative answer: owner, TTL. */
static void
assert_soa(const struct decoded *d, const char *owner, uint32_t ttl)
{
	const struct dns_rr *soa = &d->rr[d->an];

	assert_int_equal(d->ns, 1);
	assert_int_equal(soa->type, DNS_TYPE_SOA);
	assert_name(soa->owner, owner);
	assert_int_equal(soa->ttl, ttl);
}

static const char rpz_zone[] =
    "; a policy zone\n"
    "$TTL 300\n"
    "$ORIGIN rpz.example.\n"
    "@ IN SOA ns.rpz.example. admin.rpz.example. (\n"
    "\t2024010101 ; serial\n"
    "\t3600 600 86400 120 )\n"
    "\tIN NS ns.rpz.example. ; blank owner: the apex again\n"
    "nx.example.com CNAME .\n"
    "*.nx.example.com CNAME .\n"
    "nodata.example.com CNAME *.\n"
    "pass.nx.example.com CNAME rpz-passthru.\n"
    "drop.example.com CNAME rpz-drop.\n"
    "tcp.example.com CNAME rpz-tcp-only.\n"
    "local.example.com 60 A 192.0.2.1\n"
    "local.example.com 60 A 192.0.2.2\n"
    "\t30 AAAA 2001:db8::1\n"
    "local.example.com A 192.0.2.1 ; the same record again\n"
    "txt.example.com TXT \"blocked; by policy\"\n"
    "cname.example.com CNAME walled.garden.example.\n"
    "*.rewrite.example.com CNAME *.garden.example.\n"
    "legacy.nx.example.com CNAME legacy.nx.example.com.\n";

/* ---- formats ---- */

static void
test_blocklist_domains_format(void **state)
{
	static const char text[] = "\xef\xbb\xbf# ads\r\n"
	                           "\n"
	                           "   \t\n"
	                           "ads.example.com\r\n"
	                           "  tracker.example.net.   # inline\n"
	                           "Mixed.Case.ORG\n"
	                           "under_score.example\n";
	struct blocklist *bl = parse_ok("ads.txt", BLOCKLIST_AUTO, text);
	const struct blocklist *lists[1] = {bl};
	struct blockset *set = blockset_create(lists, 1, NULL, 0);
	struct block_match m;

	(void)state;
	assert_int_equal(blocklist_get_info(bl)->format, BLOCKLIST_DOMAINS);
	assert_int_equal(blocklist_get_info(bl)->entries, 4);
	assert_string_equal(blocklist_name(bl), "ads.txt");
	assert_int_equal(blockset_size(set), 4);
	/* The name itself and everything below it. */
	assert_int_equal(lookup(set, "ads.example.com", &m), BLOCK_LISTED);
	assert_string_equal(m.list, "ads.txt");
	assert_int_equal(m.list_index, 0);
	assert_false(m.below);
	assert_name(m.name, "ads.example.com");
	assert_int_equal(lookup(set, "a.b.ads.example.com", &m), BLOCK_LISTED);
	assert_true(m.below);
	assert_name(m.name, "ads.example.com");
	assert_action(set, "tracker.example.net", BLOCK_LISTED);
	assert_action(set, "x.under_score.example", BLOCK_LISTED);
	/* Not the parent, a sibling, or a name that only ends the same. */
	assert_action(set, "example.com", BLOCK_NONE);
	assert_action(set, "other.example.com", BLOCK_NONE);
	assert_action(set, "bads.example.com", BLOCK_NONE);
	assert_action(set, "com", BLOCK_NONE);
	assert_action(set, ".", BLOCK_NONE);
	blockset_free(set);
	blocklist_free(bl);
}

static void
test_blocklist_domains_wildcard_lists_only_below(void **state)
{
	struct blockset *set =
	    set_one("w.txt", BLOCKLIST_DOMAINS, "*.cdn.example\n");

	(void)state;
	assert_action(set, "cdn.example", BLOCK_NONE);
	assert_action(set, "a.cdn.example", BLOCK_LISTED);
	assert_action(set, "b.a.cdn.example", BLOCK_LISTED);
	blockset_free(set);
}

static void
test_blocklist_hosts_format(void **state)
{
	static const char text[] =
	    "# hosts header as the big lists ship it\n"
	    "127.0.0.1 localhost\n"
	    "127.0.0.1 localhost.localdomain\n"
	    "127.0.0.1 local\n"
	    "255.255.255.255 broadcasthost\n"
	    "::1 localhost ip6-localhost ip6-loopback\n"
	    "fe80::1%lo0 localhost\n"
	    "ff02::1 ip6-allnodes\n"
	    "0.0.0.0 0.0.0.0\n"
	    "\n"
	    "0.0.0.0 ads.example.com # inline comment\n"
	    "127.0.0.1\tone.example two.example   three.example\n"
	    ":: v6.example\n"
	    "192.0.2.1 odd-address.example\n";
	struct blocklist *bl = parse_ok("hosts", BLOCKLIST_AUTO, text);
	const struct blocklist *lists[1] = {bl};
	struct blockset *set = blockset_create(lists, 1, NULL, 0);

	(void)state;
	assert_int_equal(blocklist_get_info(bl)->format, BLOCKLIST_HOSTS);
	assert_int_equal(blocklist_get_info(bl)->entries, 6);
	assert_int_equal(blocklist_get_info(bl)->ignored, 10);
	assert_action(set, "ads.example.com", BLOCK_LISTED);
	assert_action(set, "sub.ads.example.com", BLOCK_LISTED);
	assert_action(set, "one.example", BLOCK_LISTED);
	assert_action(set, "two.example", BLOCK_LISTED);
	assert_action(set, "x.three.example", BLOCK_LISTED);
	assert_action(set, "v6.example", BLOCK_LISTED);
	assert_action(set, "odd-address.example", BLOCK_LISTED);
	assert_action(set, "localhost", BLOCK_NONE);
	assert_action(set, "ip6-localhost", BLOCK_NONE);
	assert_action(set, "broadcasthost", BLOCK_NONE);
	blockset_free(set);
	blocklist_free(bl);
}

static void
test_blocklist_format_detected_by_content(void **state)
{
	static const struct {
		const char *text;
		enum blocklist_format want;
	} cases[] = {
	    {"", BLOCKLIST_DOMAINS},
	    {"# only a comment\n", BLOCKLIST_DOMAINS},
	    {"a.example\nb.example\n", BLOCKLIST_DOMAINS},
	    {"# c\n\n0.0.0.0 a.example\n", BLOCKLIST_HOSTS},
	    {"::1 localhost\n", BLOCKLIST_HOSTS},
	    {"$TTL 60\na.example CNAME .\n", BLOCKLIST_RPZ},
	    {"$ORIGIN rpz.\na CNAME .\n", BLOCKLIST_RPZ},
	    {"; zone\nrpz. 60 IN SOA a. b. 1 2 3 4 5\n", BLOCKLIST_RPZ},
	    {"a.example CNAME .\n", BLOCKLIST_RPZ},
	    {"a.example IN CNAME *.\n", BLOCKLIST_RPZ},
	    /* A CNAME further down still makes it a zone. */
	    {"a.example A 192.0.2.1\nb.example CNAME .\n", BLOCKLIST_RPZ},
	    /* A hosts line naming "cname" is still a hosts line. */
	    {"0.0.0.0 cname\n", BLOCKLIST_HOSTS},
	    /* adblock: the header, a comment, a rule, an exception. */
	    {"[Adblock Plus 2.0]\nads.example\n", BLOCKLIST_ADBLOCK},
	    {"! Title: x\n", BLOCKLIST_ADBLOCK},
	    {"a.example\n||b.example^\n", BLOCKLIST_ADBLOCK},
	    {"# c\n@@||ok.example^\n", BLOCKLIST_ADBLOCK},
	    /* A CNAME in an adblock comment is not a zone. */
	    {"! blocks CNAME cloaking\n||a.example^\n", BLOCKLIST_ADBLOCK},
	};
	struct blocklist *bl;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		bl = parse_ok("x", BLOCKLIST_AUTO, cases[i].text);
		if (blocklist_get_info(bl)->format != cases[i].want)
			print_error("case %zu: %s\n", i,
			            blocklist_format_name(
			                blocklist_get_info(bl)->format));
		assert_int_equal(blocklist_get_info(bl)->format, cases[i].want);
		blocklist_free(bl);
	}
}

/* Write text to a temporary file; its path in path. */
static void
temp_file(char *path, size_t cap, const char *base, const char *text)
{
	const char *dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	FILE *f;

	(void)snprintf(path, cap, "%s/%s.%ld", dir, base, (long)getpid());
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_blocklist_load_prefixes_and_names(void **state)
{
	/* Only local data: no CNAME, no SOA, so it reads as domains. */
	static const char zone[] = "a.example A 192.0.2.7\n";
	char path[512], prefixed[600], err[256];
	struct blocklist *bl;
	int line = -1;

	(void)state;
	temp_file(path, sizeof(path), "policy.zone", zone);
	bl = blocklist_load(path, err, sizeof(err), &line);
	assert_null(bl);
	assert_int_equal(line, 1);
	assert_non_null(strstr(err, "one domain per line"));

	(void)snprintf(prefixed, sizeof(prefixed), "rpz:%s", path);
	bl = blocklist_load(prefixed, err, sizeof(err), &line);
	assert_non_null(bl);
	assert_int_equal(blocklist_get_info(bl)->format, BLOCKLIST_RPZ);
	assert_int_equal(blocklist_get_info(bl)->records, 1);
	/* The base name, without directory or prefix. */
	assert_non_null(strstr(path, blocklist_name(bl)));
	assert_int_equal(strncmp(blocklist_name(bl), "policy.zone.", 12), 0);
	assert_null(strchr(blocklist_name(bl), '/'));
	blocklist_free(bl);
	(void)unlink(path);

	temp_file(path, sizeof(path), "h", "0.0.0.0 a.example\n");
	(void)snprintf(prefixed, sizeof(prefixed), "hosts:%s", path);
	assert_non_null(bl = blocklist_load(prefixed, err, sizeof(err), &line));
	assert_int_equal(blocklist_get_info(bl)->format, BLOCKLIST_HOSTS);
	blocklist_free(bl);
	/* Forced to domains, an address line is an error. */
	(void)snprintf(prefixed, sizeof(prefixed), "domains:%s", path);
	assert_null(blocklist_load(prefixed, err, sizeof(err), &line));
	assert_int_equal(line, 1);
	(void)unlink(path);

	assert_null(
	    blocklist_load("/nonexistent/x.txt", err, sizeof(err), &line));
	assert_int_equal(line, 0);
	assert_non_null(strstr(err, "cannot open"));
	/* err and errline are optional. */
	assert_null(blocklist_load("/nonexistent/x.txt", NULL, 0, NULL));
}

/* Which line wrote the entry qname matched in the list file at path. */
static struct blocklist_where
locate(const char *path, const char *qname, bool want_below)
{
	char err[256];
	struct blocklist *bl = blocklist_load(path, err, sizeof(err), NULL);
	const struct blocklist *lists[1] = {bl};
	struct blockset *set;
	struct blocklist_where w;
	struct block_match m;

	assert_non_null(bl);
	set = blockset_create(lists, 1, NULL, 0);
	assert_non_null(set);
	assert_int_not_equal(lookup(set, qname, &m), BLOCK_NONE);
	assert_int_equal(m.below, want_below);
	assert_int_equal(blocklist_locate(path, m.name, m.below, &w), 0);
	blockset_free(set);
	blocklist_free(bl);
	return w;
}

static void
test_blocklist_locate_finds_the_line(void **state)
{
	static const char domains[] = "# a comment\n"
	                              "*.x.example\n"
	                              "other.example\n"
	                              "x.example\n"
	                              "X.Example.   # again\n";
	static const char hosts[] = "::1 localhost ip6-localhost\n"
	                            "0.0.0.0 a.example b.example\n"
	                            "\n"
	                            "0.0.0.0 c.example\n";
	static const char zone[] = "$ORIGIN rpz.\n"
	                           "@ SOA a. b. (\n"
	                           "      1 1 1 1 1 )\n"
	                           "t.example CNAME .\n"
	                           "l.example A 192.0.2.1\n"
	                           "          TXT \"x\"\n"
	                           "*.w.example CNAME *.\n";
	char path[512], prefixed[600];
	struct blocklist_where w;
	uint8_t name[DNS_NAME_MAX];

	(void)state;
	temp_file(path, sizeof(path), "locate.txt", domains);
	/* Below x.example: the first entry that covers names below it. */
	w = locate(path, "a.x.example", true);
	assert_int_equal(w.line, 2);
	assert_true(w.wildcard);
	/* x.example itself: the first entry for the name (not "*."). */
	w = locate(path, "x.example", false);
	assert_int_equal(w.line, 4);
	assert_false(w.wildcard);
	/* Not (or no longer) in the file: line 0. */
	wire_name("gone.example", name);
	assert_int_equal(blocklist_locate(path, name, false, &w), 0);
	assert_int_equal(w.line, 0);
	(void)unlink(path);
	assert_int_equal(blocklist_locate(path, name, false, &w), -1);

	temp_file(path, sizeof(path), "locate.hosts", hosts);
	w = locate(path, "z.b.example", true);
	assert_int_equal(w.line, 2);
	assert_false(w.wildcard);
	assert_int_equal(locate(path, "c.example", false).line, 4);
	(void)unlink(path);

	/* RPZ: the first line of the record that made the trigger. */
	temp_file(path, sizeof(path), "locate.rpz", zone);
	(void)snprintf(prefixed, sizeof(prefixed), "rpz:%s", path);
	assert_int_equal(locate(prefixed, "t.example", false).line, 4);
	assert_int_equal(locate(prefixed, "l.example", false).line, 5);
	w = locate(prefixed, "q.w.example", true);
	assert_int_equal(w.line, 7);
	assert_true(w.wildcard);
	(void)unlink(path);
}

/* Lines that leave no list to read: the load fails, at that line. */
static void
test_blocklist_fatal_errors_have_line_numbers(void **state)
{
	static const struct {
		enum blocklist_format f;
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
	    {BLOCKLIST_RPZ, "$INCLUDE other.zone\n", 1, "not supported"},
	    {BLOCKLIST_RPZ, "$GENERATE 1-2 a$ CNAME .\n", 1,
	     "unknown directive"},
	    {BLOCKLIST_RPZ, "$TTL forever\n", 1, "bad $TTL"},
	    {BLOCKLIST_RPZ, "$ORIGIN a..b\n", 1, "bad $ORIGIN"},
	    {BLOCKLIST_RPZ,
	     "$ORIGIN rpz.\n@ SOA a. b. (\n1 2 3 4 5\nx.example CNAME .\n", 2,
	     "not closed"},
	    /* More than half of the lines bad: not a list, at the first. */
	    {BLOCKLIST_DOMAINS, "ex!ample.com\n", 1,
	     "not a list: 1 of its 1 lines are bad (read as domains; line 1: "
	     "bad domain name 'ex!ample.com')"},
	    {BLOCKLIST_DOMAINS, "# c\ngood.example\nbad..example\nb@d\n", 3,
	     "not a list: 2 of its 3 lines are bad"},
	    {BLOCKLIST_HOSTS, "<html>\n<body>404</body>\n", 1,
	     "not a list: 2 of its 2 lines"},
	    {BLOCKLIST_RPZ, "x CNAME .\ny A 1\nz A 2\n", 2, "not a list"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++)
		parse_fails(cases[i].f, cases[i].text, cases[i].line,
		            cases[i].msg);
}

/* text loads with one bad entry, at line, its reason containing want. */
static void
parse_skips(enum blocklist_format f, const char *text, int line,
            const char *want)
{
	struct blocklist *bl = parse_ok("bad.txt", f, text);
	const struct blocklist_problem *p;
	size_t n = blocklist_problems(bl, &p);

	if (blocklist_get_info(bl)->bad != 1 || n != 1 || p[0].line != line ||
	    strstr(p[0].text, want) == NULL)
		print_error("'%s': %zu bad, line %d '%s'; want line %d '%s'\n",
		            text, blocklist_get_info(bl)->bad,
		            n > 0 ? p[0].line : 0, n > 0 ? p[0].text : "", line,
		            want);
	assert_int_equal(blocklist_get_info(bl)->bad, 1);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].line, line);
	assert_non_null(strstr(p[0].text, want));
	blocklist_free(bl);
}

/* A bad entry is skipped and counted, with its line; the rest loads. */
static void
test_blocklist_bad_entries_skipped_with_line_numbers(void **state)
{
	static const struct {
		enum blocklist_format f;
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
	    {BLOCKLIST_DOMAINS, "good.example\nbad..example\n", 2,
	     "bad domain name"},
	    {BLOCKLIST_DOMAINS, "# c\nex!ample.com\ngood.example\n", 2,
	     "bad domain name 'ex!ample.com'"},
	    {BLOCKLIST_DOMAINS, "||adblock.example^\ngood.example\n", 1,
	     "bad domain name"},
	    {BLOCKLIST_DOMAINS,
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     ".example\ngood.example\n",
	     1, "bad domain name"},
	    {BLOCKLIST_DOMAINS, "a.example b.example\ngood.example\n", 1,
	     "one domain per line"},
	    {BLOCKLIST_DOMAINS, "\n\n192.0.2.1\ngood.example\n", 3,
	     "is an address"},
	    {BLOCKLIST_DOMAINS, ".\ngood.example\n", 1, "root"},
	    /* An invalid IDN (U+2764 is not allowed in IDNA 2008). */
	    {BLOCKLIST_DOMAINS, "good.example\n\xe2\x9d\xa4.example\n", 2,
	     "bad internationalised name '\\xe2\\x9d\\xa4.example'"},
	    /* UTF-8 beside a character no name has: not tried as IDN. */
	    {BLOCKLIST_DOMAINS, "good.example\nex!\xc3\xa4mple.com\n", 2,
	     "bad domain name 'ex!\\xc3\\xa4mple.com'"},
	    {BLOCKLIST_HOSTS, "0.0.0.0 a.example\nnot-an-address b.example\n",
	     2, "expected 'ADDRESS NAME"},
	    {BLOCKLIST_HOSTS, "0.0.0.0 a.example\n0.0.0.0\n", 2, "no name"},
	    {BLOCKLIST_HOSTS, "0.0.0.0 *.example\n0.0.0.0 a.example\n", 1,
	     "bad domain name"},
	    {BLOCKLIST_ADBLOCK, "||good.example^\n||ex!ample.com^\n", 2,
	     "bad domain name"},
	    {BLOCKLIST_ADBLOCK, "||good.example^\ntwo words\n", 2,
	     "one rule per line"},
	    {BLOCKLIST_RPZ, "$TTL 60\n\nx.example CNAME\ny.example CNAME .\n",
	     3, "CNAME"},
	    {BLOCKLIST_RPZ, "x.example A 1.2.3\ny.example CNAME .\n", 1,
	     "A RDATA"},
	    {BLOCKLIST_RPZ, "garbage here and there\ny.example CNAME .\n", 1,
	     ""},
	    {BLOCKLIST_RPZ,
	     "rpz. SOA a. b. 1 2 3 4 5\nx.other. CNAME .\ny.rpz. CNAME .\n", 2,
	     "outside the zone"},
	    {BLOCKLIST_RPZ,
	     "rpz. SOA a. b. 1 2 3 4 5\nx.rpz. SOA a. b. 1 2 3 "
	     "4 5\n",
	     2, "SOA not at the zone apex"},
	    {BLOCKLIST_RPZ,
	     "rpz. SOA a. b. 1 2 3 4 5\nrpz. SOA a. b. 1 2 3 4 5\n", 2,
	     "more than one SOA"},
	    {BLOCKLIST_RPZ, "x.example CNAME .\nx.example CNAME *.\n", 2,
	     "conflicting policies for 'x.example.': nxdomain and "
	     "nodata"},
	    {BLOCKLIST_RPZ, "x.example CNAME .\nx.example A 192.0.2.1\n", 2,
	     "conflicting"},
	    {BLOCKLIST_RPZ,
	     "x.example A 192.0.2.1\nx.example CNAME a.example.\n", 2,
	     "CNAME and other data"},
	    {BLOCKLIST_RPZ,
	     "x.example CNAME a.example.\nx.example CNAME b.example.\n", 2,
	     "more than one CNAME"},
	    {BLOCKLIST_RPZ, "\tA 192.0.2.1\ny.example CNAME .\n", 1,
	     "no previous owner"},
	    {BLOCKLIST_RPZ, "\xe2\x9d\xa4.example CNAME .\ny.example CNAME .\n",
	     1, "bad internationalised name"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++)
		parse_skips(cases[i].f, cases[i].text, cases[i].line,
		            cases[i].msg);
}

/*
 * 1000 good names and 25 bad lines: every bad line counted, the first
 * BLOCKLIST_REPORT_MAX kept in file order, the good names all listed.
 */
static void
test_blocklist_bad_entries_counted_first_ten_kept(void **state)
{
	size_t cap = 1025 * 32, len = 0, n, i;
	char *text = malloc(cap), name[64];
	const struct blocklist_problem *p;
	struct blocklist *bl;
	struct blockset *set;
	const struct blocklist *lists[1];

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 1025; i++)
		len += (size_t)snprintf(
		    text + len, cap - len,
		    i % 41 == 40 ? "bad!%zu\n" : "n%zu.example\n", i);
	bl = parse_ok("mixed.txt", BLOCKLIST_DOMAINS, text);
	n = blocklist_problems(bl, &p);
	assert_int_equal(blocklist_get_info(bl)->bad, 25);
	assert_int_equal(blocklist_get_info(bl)->entries, 1000);
	assert_int_equal(n, BLOCKLIST_REPORT_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(p[i].line, (int)(41 * i + 41));
		(void)snprintf(name, sizeof(name), "bad domain name 'bad!%zu'",
		               41 * i + 40);
		assert_string_equal(p[i].text, name);
	}
	lists[0] = bl;
	assert_non_null(set = blockset_create(lists, 1, NULL, 0));
	assert_action(set, "n0.example", BLOCK_LISTED);
	assert_action(set, "n1023.example", BLOCK_LISTED);
	assert_action(set, "n40.example", BLOCK_NONE);
	blockset_free(set);
	blocklist_free(bl);
	free(text);
}

/* A binary file: the reason quotes its bytes as \xNN, never raw. */
static void
test_blocklist_error_quotes_bytes_escaped(void **state)
{
	static const char text[] = "\x7f"
	                           "ELF\x02\x01\xff\x1b[2J\xc3\xa9x\n";
	static const char head[] =
	    "not a list: 1 of its 1 lines are bad (read as domains; line 1: "
	    "bad domain name '";
	char err[256];
	int line = 0;

	(void)state;
	assert_null(blocklist_parse("bin", BLOCKLIST_DOMAINS, text,
	                            sizeof(text) - 1, err, sizeof(err), &line));
	assert_int_equal(line, 1);
	assert_string_equal(err,
	                    "not a list: 1 of its 1 lines are bad (read "
	                    "as domains; line 1: bad domain name "
	                    "'\\x7fELF\\x02\\x01\\xff\\x1b[2J\\xc3\\xa9x')");
	/* Cut short, an escape is never split. */
	assert_null(blocklist_parse("bin", BLOCKLIST_DOMAINS, text,
	                            sizeof(text) - 1, err, sizeof(head) + 2,
	                            &line));
	assert_string_equal(err, head);
}

/* ---- internationalised names ---- */

/*
 * UTF-8 names become A-labels in every format (IDNA 2008, UTS #46 mapping,
 * non-transitional: "faß" is xn--fa-hia, not "fass"); the list answers the
 * A-label a client asks; an invalid one is a bad entry.
 */
static void
test_blocklist_idn_in_every_format(void **state)
{
	static const struct {
		enum blocklist_format f;
		const char *text;
	} cases[] = {
	    {BLOCKLIST_DOMAINS, "\xc3\xbcnicode.example\n"
	                        "*.Fa\xc3\x9f.example\n"
	                        "_dmarc.\xc3\xbc.example\n"},
	    {BLOCKLIST_HOSTS, "0.0.0.0 \xc3\xbcnicode.example\n"
	                      "0.0.0.0 fa\xc3\x9f.example "
	                      "_dmarc.\xc3\xbc.example\n"},
	    {BLOCKLIST_ADBLOCK, "||\xc3\x9cNICODE.example^\n"
	                        "*.fa\xc3\x9f.example\n"
	                        "||_dmarc.\xc3\xbc.example^\n"},
	    {BLOCKLIST_RPZ, "\xc3\xbcnicode.example CNAME .\n"
	                    "*.fa\xc3\x9f.example CNAME .\n"
	                    "_dmarc.\xc3\xbc.example CNAME .\n"},
	};
	struct block_match m;
	struct blockset *set;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		set = set_one("idn", cases[i].f, cases[i].text);
		assert_int_not_equal(lookup(set, "xn--nicode-2ya.example", &m),
		                     BLOCK_NONE);
		assert_name(m.name, "xn--nicode-2ya.example");
		assert_int_not_equal(lookup(set, "www.xn--fa-hia.example", &m),
		                     BLOCK_NONE);
		assert_action(set, "www.fass.example", BLOCK_NONE);
		assert_int_not_equal(lookup(set, "_dmarc.xn--tda.example", &m),
		                     BLOCK_NONE);
		blockset_free(set);
	}
	/* Invalid: a symbol IDNA 2008 disallows, bytes that are not UTF-8,
	 * a label that cannot be an A-label; ASCII labels beside them are
	 * not judged by IDNA's rules ("ab--c" stays). */
	parse_skips(BLOCKLIST_DOMAINS, "a.example\n\xe2\x9d\xa4.example\n", 2,
	            "string contains a disallowed character");
	parse_skips(BLOCKLIST_DOMAINS, "a.example\nx\xff.example\n", 2,
	            "string encoding error");
	parse_skips(BLOCKLIST_DOMAINS, "a.example\n-\xc3\xbc.example\n", 2,
	            "bad internationalised name '-\\xc3\\xbc.example'");
	set = set_one("idn", BLOCKLIST_DOMAINS, "ab--c.\xc3\xbc\n");
	assert_action(set, "ab--c.xn--tda", BLOCK_LISTED);
	blockset_free(set);
}

/* ---- adblock ---- */

static const char adblock_list[] = "[Adblock Plus 2.0]\n"
                                   "! Title: a filter list\n"
                                   "! Homepage: https://filters.example/\n"
                                   "||ads.example^\n"
                                   "@@||ok.ads.example^\n"
                                   "||Tracker.Example^|\n"
                                   "||important.example^$important\n"
                                   "plain.example\n"
                                   "*.wild.example\n"
                                   "@@plain-ok.plain.example\n"
                                   "0.0.0.0 hosts-line.example\n"
                                   "# a hosts-style comment\n"
                                   /* unsupported: counted, skipped */
                                   "||third.example^$third-party\n"
                                   "||dnstype.example^$dnstype=AAAA\n"
                                   "||badfilter.example^$important,badfilter\n"
                                   "example.org##.banner\n"
                                   "##.ad-box\n"
                                   "example.org#@#.sponsor\n"
                                   "example.org#?#div:has(> .ad)\n"
                                   "/banner[0-9]+\\.example/\n"
                                   "|https://url.example/ad.js\n"
                                   "||path.example^/ads/\n"
                                   "||noanchor.example\n"
                                   "||*.star.example^\n"
                                   "ad*.pattern.example\n"
                                   "ads.example/banner\n";

static void
test_blocklist_adblock_rules(void **state)
{
	struct blocklist *bl =
	    parse_ok("filter.txt", BLOCKLIST_AUTO, adblock_list);
	const struct blocklist_info *in = blocklist_get_info(bl);
	const struct blocklist *lists[1] = {bl};
	struct blockset *set = blockset_create(lists, 1, NULL, 0);
	struct block_match m;

	(void)state;
	assert_int_equal(in->format, BLOCKLIST_ADBLOCK);
	assert_int_equal(in->entries, 8);
	assert_int_equal(in->unsupported, 14);
	assert_int_equal(in->bad, 0);
	/* ||name^: the name and every name below it. */
	assert_action(set, "ads.example", BLOCK_LISTED);
	assert_action(set, "x.y.ads.example", BLOCK_LISTED);
	assert_action(set, "tracker.example", BLOCK_LISTED);
	assert_action(set, "a.important.example", BLOCK_LISTED);
	assert_action(set, "plain.example", BLOCK_LISTED);
	assert_action(set, "a.wild.example", BLOCK_LISTED);
	assert_action(set, "wild.example", BLOCK_NONE);
	assert_action(set, "hosts-line.example", BLOCK_LISTED);
	/* @@||name^: an exception, for the name and below, whatever the
	 * depth of the block it overrides. */
	assert_int_equal(lookup(set, "ok.ads.example", &m), BLOCK_ALLOWED);
	assert_string_equal(m.list, "filter.txt");
	assert_false(m.allowlist);
	assert_int_equal(m.list_index, 0);
	assert_action(set, "www.ok.ads.example", BLOCK_ALLOWED);
	assert_action(set, "plain-ok.plain.example", BLOCK_ALLOWED);
	/* Skipped rules block nothing. */
	assert_action(set, "third.example", BLOCK_NONE);
	assert_action(set, "dnstype.example", BLOCK_NONE);
	assert_action(set, "badfilter.example", BLOCK_NONE);
	assert_action(set, "example.org", BLOCK_NONE);
	assert_action(set, "url.example", BLOCK_NONE);
	assert_action(set, "path.example", BLOCK_NONE);
	assert_action(set, "noanchor.example", BLOCK_NONE);
	assert_action(set, "a.star.example", BLOCK_NONE);
	blockset_free(set);
	blocklist_free(bl);
}

/*
 * AdGuard Home: an exception in any list unblocks, whatever list blocks
 * and in whatever order; allowlists still come first. An adblock
 * allowlist exempts with every rule, block or exception.
 */
static void
test_blocklist_adblock_exceptions_across_lists(void **state)
{
	struct blocklist *block =
	    parse_ok("ads.txt", BLOCKLIST_DOMAINS, "example.com\n");
	struct blocklist *rpz = parse_ok("p.rpz", BLOCKLIST_RPZ,
	                                 "*.cdn.example.com CNAME rpz-drop.\n");
	struct blocklist *filter = parse_ok(
	    "filter.txt", BLOCKLIST_ADBLOCK,
	    "@@||cdn.example.com^\n||other.example^\n@@||allowed.example^\n");
	struct blocklist *allow =
	    parse_ok("allow.txt", BLOCKLIST_ADBLOCK, "||allowed.example^\n");
	const struct blocklist *lists[3] = {block, rpz, filter};
	const struct blocklist *allows[1] = {allow};
	struct blockset *set = blockset_create(lists, 3, allows, 1);
	struct block_match m;

	(void)state;
	/* The exception of the third list beats the first and second. */
	assert_int_equal(lookup(set, "a.cdn.example.com", &m), BLOCK_ALLOWED);
	assert_string_equal(m.list, "filter.txt");
	assert_false(m.allowlist);
	assert_int_equal(m.list_index, 2);
	assert_action(set, "cdn.example.com", BLOCK_ALLOWED);
	assert_action(set, "www.example.com", BLOCK_LISTED);
	assert_action(set, "other.example", BLOCK_LISTED);
	/* The allowlist decides before any exception. */
	assert_int_equal(lookup(set, "allowed.example", &m), BLOCK_ALLOWED);
	assert_string_equal(m.list, "allow.txt");
	assert_true(m.allowlist);
	assert_int_equal(m.list_index, 0);
	blockset_free(set);
	blocklist_free(allow);
	blocklist_free(filter);
	blocklist_free(rpz);
	blocklist_free(block);
}

/*
 * $important, as AdGuard Home ranks it: an important block beats every
 * exception, an important exception beats it, and the allowlists still
 * come first.
 */
static void
test_blocklist_adblock_important(void **state)
{
	struct blocklist *a =
	    parse_ok("a.txt", BLOCKLIST_ADBLOCK,
	             "@@||y.example^\n||imp.example^$important\n");
	struct blocklist *b = parse_ok("b.txt", BLOCKLIST_ADBLOCK,
	                               "||y.example^$important\n"
	                               "@@||ok.imp.example^$important\n"
	                               "||plain.example^\n");
	struct blocklist *allow =
	    parse_ok("allow.txt", BLOCKLIST_DOMAINS, "z.y.example\n");
	const struct blocklist *lists[2] = {a, b};
	const struct blocklist *allows[1] = {allow};
	struct blockset *set = blockset_create(lists, 2, allows, 1);
	struct block_match m;

	(void)state;
	/* The later list's important block beats the earlier exception. */
	assert_int_equal(lookup(set, "www.y.example", &m), BLOCK_LISTED);
	assert_string_equal(m.list, "b.txt");
	assert_action(set, "imp.example", BLOCK_LISTED);
	/* An important exception beats an important block. */
	assert_int_equal(lookup(set, "a.ok.imp.example", &m), BLOCK_ALLOWED);
	assert_string_equal(m.list, "b.txt");
	/* The allowlist beats them all. */
	assert_int_equal(lookup(set, "z.y.example", &m), BLOCK_ALLOWED);
	assert_true(m.allowlist);
	assert_action(set, "plain.example", BLOCK_LISTED);
	blockset_free(set);
	blocklist_free(allow);
	blocklist_free(b);
	blocklist_free(a);
}

/* "adblock:" forces the format; a domains line reads the same in it. */
static void
test_blocklist_adblock_prefix(void **state)
{
	char path[512], prefixed[600], err[256];
	struct blocklist *bl;
	int line = 0;

	(void)state;
	temp_file(path, sizeof(path), "filter", "a.example\n||b.example^\n");
	/* By content, without a header: "||" on the second line. */
	assert_non_null(bl = blocklist_load(path, err, sizeof(err), &line));
	assert_int_equal(blocklist_get_info(bl)->format, BLOCKLIST_ADBLOCK);
	assert_int_equal(blocklist_get_info(bl)->entries, 2);
	blocklist_free(bl);
	(void)snprintf(prefixed, sizeof(prefixed), "adblock:%s", path);
	assert_int_equal(blocklist_prefix_len(prefixed), 8);
	assert_non_null(bl = blocklist_load(prefixed, err, sizeof(err), &line));
	assert_int_equal(blocklist_get_info(bl)->format, BLOCKLIST_ADBLOCK);
	assert_null(strchr(blocklist_name(bl), ':'));
	blocklist_free(bl);
	(void)unlink(path);
	assert_int_equal(blocklist_prefix_len("rpz:x"), 4);
	assert_int_equal(blocklist_prefix_len("/etc/x:y"), 0);
}

/* explain finds adblock rules and exceptions by their line too. */
static void
test_blocklist_adblock_locate(void **state)
{
	char path[512];
	struct blocklist_where w;

	(void)state;
	temp_file(path, sizeof(path), "filter.txt", adblock_list);
	w = locate(path, "x.tracker.example", true);
	assert_int_equal(w.line, 6);
	assert_false(w.wildcard);
	assert_int_equal(locate(path, "ok.ads.example", false).line, 5);
	assert_int_equal(locate(path, "hosts-line.example", false).line, 11);
	(void)unlink(path);
}

/* ---- RPZ ---- */

static void
test_blocklist_rpz_origin_and_relative_names(void **state)
{
	struct blockset *set;
	struct block_match m;

	(void)state;
	/* The apex is the SOA owner; owners written absolute. */
	set = set_one("z1", BLOCKLIST_RPZ,
	              "rpz.example. 60 IN SOA a. b. 1 2 3 4 5\n"
	              "rpz.example. NS a.\n"
	              "bad.example.com.rpz.example. CNAME .\n");
	assert_action(set, "bad.example.com", BLOCK_NXDOMAIN);
	assert_action(set, "rpz.example", BLOCK_NONE);
	assert_action(set, "bad.example.com.rpz.example", BLOCK_NONE);
	blockset_free(set);

	/* $ORIGIN, '@' and relative owners; a second $ORIGIN is relative. */
	set = set_one("z2", BLOCKLIST_RPZ,
	              "$ORIGIN rpz.example.\n"
	              "@ SOA a. b. 1 2 3 4 5\n"
	              "one.example CNAME .\n"
	              "$ORIGIN sub\n"
	              "two CNAME .\n");
	assert_action(set, "one.example", BLOCK_NXDOMAIN);
	assert_action(set, "two.sub", BLOCK_NXDOMAIN);
	blockset_free(set);

	/* No SOA, no $ORIGIN: the owners are the triggers as written. */
	set = set_one("z3", BLOCKLIST_RPZ,
	              "plain.example CNAME .\nAbs.Example. CNAME *.\n");
	assert_action(set, "plain.example", BLOCK_NXDOMAIN);
	assert_int_equal(lookup(set, "abs.example", &m), BLOCK_NODATA);
	/* No SOA in the zone: the synthesized one. */
	assert_name(m.soa_owner, "z3.blocklist.invalid");
	blockset_free(set);
}

static void
test_blocklist_rpz_wildcard_semantics(void **state)
{
	struct blockset *set = set_one("rpz", BLOCKLIST_RPZ,
	                               "$ORIGIN rpz.\n"
	                               "exact.example CNAME .\n"
	                               "*.wild.example CNAME .\n");
	struct block_match m;

	(void)state;
	/* An exact owner matches only itself. */
	assert_action(set, "exact.example", BLOCK_NXDOMAIN);
	assert_action(set, "a.exact.example", BLOCK_NONE);
	/* "*.name" matches names below name, at any depth, not name. */
	assert_action(set, "wild.example", BLOCK_NONE);
	assert_int_equal(lookup(set, "a.wild.example", &m), BLOCK_NXDOMAIN);
	assert_true(m.below);
	assert_name(m.name, "wild.example");
	assert_action(set, "b.a.wild.example", BLOCK_NXDOMAIN);
	blockset_free(set);
}

static void
test_blocklist_rpz_each_action(void **state)
{
	struct blockset *set = set_one("policy.rpz", BLOCKLIST_RPZ, rpz_zone);
	struct block_match m;

	(void)state;
	assert_action(set, "nx.example.com", BLOCK_NXDOMAIN);
	assert_action(set, "a.nx.example.com", BLOCK_NXDOMAIN);
	assert_action(set, "nodata.example.com", BLOCK_NODATA);
	assert_action(set, "pass.nx.example.com", BLOCK_PASSTHRU);
	/* The passthru is exact: below it the wildcard applies again. */
	assert_action(set, "a.pass.nx.example.com", BLOCK_NXDOMAIN);
	/* Old spelling of passthru: a CNAME to the trigger itself. */
	assert_action(set, "legacy.nx.example.com", BLOCK_PASSTHRU);
	assert_action(set, "drop.example.com", BLOCK_DROP);
	assert_action(set, "tcp.example.com", BLOCK_TCP_ONLY);
	assert_int_equal(lookup(set, "local.example.com", &m),
	                 BLOCK_LOCAL_DATA);
	/* Duplicate A collapsed: two A and one AAAA, sorted by type. */
	assert_int_equal(m.nrrs, 3);
	assert_int_equal(m.rrs[0].type, DNS_TYPE_A);
	assert_int_equal(m.rrs[1].type, DNS_TYPE_A);
	assert_int_equal(m.rrs[2].type, DNS_TYPE_AAAA);
	assert_int_equal(m.rrs[2].ttl, 30);
	assert_false(m.rewrite);
	assert_string_equal(m.list, "policy.rpz");
	assert_int_equal(lookup(set, "cname.example.com", &m),
	                 BLOCK_LOCAL_DATA);
	assert_int_equal(m.nrrs, 1);
	assert_int_equal(lookup(set, "x.rewrite.example.com", &m),
	                 BLOCK_LOCAL_DATA);
	assert_true(m.rewrite);
	assert_action(set, "example.com", BLOCK_NONE);
	assert_action(set, "ns.rpz.example", BLOCK_NONE);
	blockset_free(set);
}

static void
test_blocklist_rpz_info_counts(void **state)
{
	struct blocklist *bl = parse_ok("policy.rpz", BLOCKLIST_AUTO, rpz_zone);
	const struct blocklist_info *info = blocklist_get_info(bl);

	(void)state;
	assert_int_equal(info->format, BLOCKLIST_RPZ);
	/* 11 triggers (local.example.com once); 6 records, one duplicate
	 * collapsed. */
	assert_int_equal(info->entries, 11);
	assert_int_equal(info->records, 6);
	assert_int_equal(info->unsupported, 0);
	blocklist_free(bl);
}

static void
test_blocklist_rpz_unsupported_triggers_skipped(void **state)
{
	struct blocklist *bl =
	    parse_ok("ip.rpz", BLOCKLIST_RPZ,
	             "$ORIGIN rpz.\n"
	             "32.1.2.0.192.rpz-ip CNAME .\n"
	             "24.0.2.0.192.rpz-client-ip CNAME rpz-drop.\n"
	             "ns.evil.example.rpz-nsdname CNAME .\n"
	             "32.1.0.0.10.rpz-nsip CNAME .\n"
	             "qname.example CNAME .\n");
	const struct blocklist *lists[1] = {bl};
	struct blockset *set = blockset_create(lists, 1, NULL, 0);

	(void)state;
	assert_int_equal(blocklist_get_info(bl)->unsupported, 4);
	assert_int_equal(blocklist_get_info(bl)->entries, 1);
	assert_action(set, "qname.example", BLOCK_NXDOMAIN);
	assert_action(set, "ns.evil.example", BLOCK_NONE);
	blockset_free(set);
	blocklist_free(bl);
}

/* ---- matching order ---- */

static void
test_blocklist_first_list_wins(void **state)
{
	struct blocklist *a =
	    parse_ok("first.txt", BLOCKLIST_DOMAINS, "example.com\n");
	struct blocklist *b = parse_ok("second.rpz", BLOCKLIST_RPZ,
	                               "www.example.com CNAME rpz-drop.\n"
	                               "only.example CNAME *.\n");
	const struct blocklist *lists[2] = {a, b};
	const struct blocklist *reversed[2] = {b, a};
	struct blockset *set = blockset_create(lists, 2, NULL, 0);
	struct blockset *rev = blockset_create(reversed, 2, NULL, 0);
	struct block_match m;

	(void)state;
	/* The first list matches (less specifically) and wins. */
	assert_int_equal(lookup(set, "www.example.com", &m), BLOCK_LISTED);
	assert_string_equal(m.list, "first.txt");
	assert_int_equal(m.list_index, 0);
	assert_int_equal(lookup(set, "only.example", &m), BLOCK_NODATA);
	assert_string_equal(m.list, "second.rpz");
	assert_int_equal(m.list_index, 1);
	/* Swapped order, swapped winner. */
	assert_int_equal(lookup(rev, "www.example.com", &m), BLOCK_DROP);
	assert_string_equal(m.list, "second.rpz");
	assert_int_equal(m.list_index, 0);
	assert_int_equal(lookup(rev, "a.example.com", &m), BLOCK_LISTED);
	assert_string_equal(m.list, "first.txt");
	blockset_free(rev);
	blockset_free(set);
	blocklist_free(b);
	blocklist_free(a);
}

static void
test_blocklist_most_specific_wins(void **state)
{
	struct blockset *set = set_one("r", BLOCKLIST_RPZ,
	                               "*.example CNAME .\n"
	                               "*.a.example CNAME *.\n"
	                               "b.a.example CNAME rpz-drop.\n"
	                               "*.b.a.example CNAME rpz-tcp-only.\n");
	struct block_match m;

	(void)state;
	assert_action(set, "x.example", BLOCK_NXDOMAIN);
	assert_action(set, "x.a.example", BLOCK_NODATA);
	assert_int_equal(lookup(set, "b.a.example", &m), BLOCK_DROP);
	assert_false(m.below);
	assert_int_equal(lookup(set, "c.b.a.example", &m), BLOCK_TCP_ONLY);
	assert_name(m.name, "b.a.example");
	assert_true(m.below);
	assert_action(set, "a.example", BLOCK_NXDOMAIN);
	blockset_free(set);
}

static void
test_blocklist_allowlist_exempts(void **state)
{
	struct blocklist *block = parse_ok("ads.txt", BLOCKLIST_DOMAINS,
	                                   "example.com\nads.good.example\n");
	struct blocklist *rpz = parse_ok("p.rpz", BLOCKLIST_RPZ,
	                                 "x.good.example CNAME rpz-drop.\n");
	struct blocklist *allow1 =
	    parse_ok("allow.txt", BLOCKLIST_DOMAINS, "good.example\n");
	struct blocklist *allow2 = parse_ok("allow2.hosts", BLOCKLIST_HOSTS,
	                                    "0.0.0.0 www.example.com\n");
	const struct blocklist *lists[2] = {block, rpz};
	const struct blocklist *allow[2] = {allow1, allow2};
	struct blockset *set = blockset_create(lists, 2, allow, 2);
	struct block_match m;

	(void)state;
	/* The allowlist beats even a more specific entry of any list. */
	assert_int_equal(lookup(set, "ads.good.example", &m), BLOCK_ALLOWED);
	assert_string_equal(m.list, "allow.txt");
	assert_int_equal(m.list_index, 0);
	assert_action(set, "x.good.example", BLOCK_ALLOWED);
	assert_action(set, "good.example", BLOCK_ALLOWED);
	assert_int_equal(lookup(set, "a.www.example.com", &m), BLOCK_ALLOWED);
	assert_string_equal(m.list, "allow2.hosts");
	assert_int_equal(m.list_index, 1);
	/* Beside the allowed names the list still blocks. */
	assert_action(set, "example.com", BLOCK_LISTED);
	assert_action(set, "ads.example.com", BLOCK_LISTED);
	assert_action(set, "example", BLOCK_NONE);
	blockset_free(set);
	blocklist_free(allow2);
	blocklist_free(allow1);
	blocklist_free(rpz);
	blocklist_free(block);
}

static void
test_blocklist_rpz_allowlist_keeps_trigger_matching(void **state)
{
	struct blocklist *block =
	    parse_ok("b.txt", BLOCKLIST_DOMAINS, "example.com\n");
	struct blocklist *allow = parse_ok("allow.rpz", BLOCKLIST_RPZ,
	                                   "exact.example.com CNAME .\n"
	                                   "*.wild.example.com CNAME .\n");
	const struct blocklist *lists[1] = {block}, *allows[1] = {allow};
	struct blockset *set = blockset_create(lists, 1, allows, 1);

	(void)state;
	assert_action(set, "exact.example.com", BLOCK_ALLOWED);
	assert_action(set, "a.exact.example.com", BLOCK_LISTED);
	assert_action(set, "wild.example.com", BLOCK_LISTED);
	assert_action(set, "a.wild.example.com", BLOCK_ALLOWED);
	blockset_free(set);
	blocklist_free(allow);
	blocklist_free(block);
}

static void
test_blocklist_passthru_exempts_later_lists(void **state)
{
	struct blocklist *rpz = parse_ok("first.rpz", BLOCKLIST_RPZ,
	                                 "ok.example.com CNAME rpz-passthru.\n"
	                                 "*.ok.example.com CNAME "
	                                 "rpz-passthru.\n");
	struct blocklist *dom =
	    parse_ok("later.txt", BLOCKLIST_DOMAINS, "example.com\n");
	const struct blocklist *lists[2] = {rpz, dom};
	const struct blocklist *reversed[2] = {dom, rpz};
	struct blockset *set = blockset_create(lists, 2, NULL, 0);
	struct blockset *rev = blockset_create(reversed, 2, NULL, 0);
	struct block_match m;

	(void)state;
	assert_false(
	    blockset_lookup(set, (const uint8_t *)"\2ok\7example\3com", &m));
	assert_int_equal(m.action, BLOCK_PASSTHRU);
	assert_string_equal(m.list, "first.rpz");
	assert_action(set, "a.ok.example.com", BLOCK_PASSTHRU);
	assert_action(set, "other.example.com", BLOCK_LISTED);
	/* A passthru in a later list does not undo an earlier block (BIND). */
	assert_action(rev, "ok.example.com", BLOCK_LISTED);
	blockset_free(rev);
	blockset_free(set);
	blocklist_free(dom);
	blocklist_free(rpz);
}

static void
test_blocklist_case_insensitive(void **state)
{
	struct blockset *set =
	    set_one("c", BLOCKLIST_DOMAINS, "Ads.EXAMPLE.com\n");
	struct blocklist *rpz = parse_ok("c.rpz", BLOCKLIST_RPZ,
	                                 "$ORIGIN RPZ.Example.\n"
	                                 "@ SOA a. b. 1 2 3 4 5\n"
	                                 "*.Track.Example CNAME .\n");
	const struct blocklist *lists[1] = {rpz};
	struct blockset *rset = blockset_create(lists, 1, NULL, 0);
	struct block_match m;

	(void)state;
	assert_int_equal(lookup(set, "WWW.ads.Example.COM", &m), BLOCK_LISTED);
	/* The listed name is stored in lower case. */
	assert_memory_equal(m.name, "\3ads\7example\3com", 17);
	assert_action(set, "ADS.EXAMPLE.COM", BLOCK_LISTED);
	assert_action(rset, "X.TRACK.example", BLOCK_NXDOMAIN);
	blockset_free(rset);
	blocklist_free(rpz);
	blockset_free(set);
}

static void
test_blocklist_empty_and_null_sets(void **state)
{
	struct blockset *empty = blockset_create(NULL, 0, NULL, 0);
	struct block_match m;

	(void)state;
	assert_non_null(empty);
	assert_int_equal(blockset_size(empty), 0);
	assert_action(empty, "example.com", BLOCK_NONE);
	assert_false(blockset_lookup(NULL, (const uint8_t *)"\0", &m));
	assert_int_equal(m.action, BLOCK_NONE);
	assert_null(m.list);
	assert_int_equal(blockset_size(NULL), 0);
	blockset_free(empty);
	blockset_free(NULL);
	blocklist_free(NULL);
}

static void
test_blocklist_many_lists_one_index(void **state)
{
	struct blocklist *bl[40];
	const struct blocklist *lists[40];
	struct blockset *set;
	struct block_match m;
	char name[32], text[64];
	size_t i;

	(void)state;
	/* List i lists li.example and, from i = 20, also example. */
	for (i = 0; i < ARRAY_LEN(bl); i++) {
		(void)snprintf(name, sizeof(name), "list%zu", i);
		(void)snprintf(text, sizeof(text), "l%zu.example\n%s", i,
		               i >= 20 ? "example\n" : "");
		lists[i] = bl[i] = parse_ok(name, BLOCKLIST_DOMAINS, text);
	}
	set = blockset_create(lists, ARRAY_LEN(lists), NULL, 0);
	assert_non_null(set);
	/* 40 distinct names plus "example", once. */
	assert_int_equal(blockset_size(set), 41);
	for (i = 0; i < ARRAY_LEN(bl); i++)
		blocklist_free(bl[i]);
	for (i = 0; i < ARRAY_LEN(bl); i++) {
		(void)snprintf(name, sizeof(name), "x.l%zu.example", i);
		assert_int_equal(lookup(set, name, &m), BLOCK_LISTED);
		/* Lists 0..19 win with their own name; after that list 20
		 * matches first through "example". */
		(void)snprintf(text, sizeof(text), "list%zu", i < 20 ? i : 20);
		assert_string_equal(m.list, text);
	}
	blockset_free(set);
}

/* ---- answers ---- */

/* The EDE option in the OPT RR (the last RR), or -1. */
static int
ede_of(const struct decoded *d, char *text, size_t cap)
{
	const struct dns_rr *opt;
	struct wire w;
	uint16_t code, len, info;

	if (d->ar == 0)
		return -1;
	opt = &d->rr[d->an + d->ns + d->ar - 1];
	assert_int_equal(opt->type, DNS_TYPE_OPT);
	wire_init(&w, d->msg, opt->rr_end);
	wire_seek(&w, opt->rdata_offset);
	while (wire_left(&w) >= 4) {
		code = wire_u16(&w);
		len = wire_u16(&w);
		if (code != DNS_OPT_EDE) {
			wire_skip(&w, len);
			continue;
		}
		info = wire_u16(&w);
		assert_true(len >= 2 && (size_t)(len - 2) < cap);
		wire_read(&w, text, (size_t)len - 2);
		text[len - 2] = '\0';
		return info;
	}
	return -1;
}

static void
test_blocklist_answer_policy_nxdomain_with_ede(void **state)
{
	struct blockset *set =
	    set_one("ads.txt", BLOCKLIST_DOMAINS, "ads.example.com\n");
	struct dns_opt_out o = {.present = true,
	                        .udp_size = 1232,
	                        .ede_code = DNS_EDE_BLOCKED,
	                        .ede_text = "blocked by ads.txt"};
	uint8_t buf[512];
	struct decoded d;
	char text[64];

	(void)state;
	assert_int_not_equal(answer(set, "www.Ads.example.com", DNS_TYPE_A,
	                            BLOCK_POLICY_NXDOMAIN, NULL, &o, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NXDOMAIN);
	assert_int_equal(d.an, 0);
	assert_soa(&d, "ads-txt.blocklist.invalid", BLOCKLIST_TTL);
	assert_int_equal(rdata_u32_at(&d, &d.rr[0], d.rr[0].rdlength - 4),
	                 BLOCKLIST_TTL);
	assert_int_equal(d.ar, 1);
	assert_int_equal(ede_of(&d, text, sizeof(text)), DNS_EDE_BLOCKED);
	assert_string_equal(text, "blocked by ads.txt");
	/* The question as asked, case included. */
	assert_memory_equal(buf + DNS_HEADER_LEN, "\3www\3Ads", 8);
	blockset_free(set);
}

static void
test_blocklist_answer_policy_nodata_refuse_drop(void **state)
{
	struct blockset *set = set_one("l", BLOCKLIST_DOMAINS, "a.example\n");
	struct block_match m;
	struct dns_query q;
	uint8_t buf[512];
	struct decoded d;

	(void)state;
	assert_int_not_equal(answer(set, "a.example", DNS_TYPE_AAAA,
	                            BLOCK_POLICY_NODATA, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	assert_int_equal(d.an, 0);
	assert_soa(&d, "l.blocklist.invalid", BLOCKLIST_TTL);
	assert_int_equal(d.ar, 0);

	assert_int_not_equal(answer(set, "a.example", DNS_TYPE_A,
	                            BLOCK_POLICY_REFUSE, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, 0, DNS_RCODE_REFUSED);
	assert_int_equal(d.an + d.ns + d.ar, 0);

	query_make(&q, "a.example", DNS_TYPE_A);
	assert_true(blockset_lookup(set, q.qname, &m));
	assert_int_equal(blockset_outcome(&m, BLOCK_POLICY_DROP, false),
	                 BLOCK_OUT_DROP);
	assert_int_equal(blockset_build_answer(buf, sizeof(buf), &q, &m,
	                                       BLOCK_POLICY_DROP, NULL, NULL),
	                 0);
	blockset_free(set);
}

static void
test_blocklist_answer_redirect(void **state)
{
	struct blockset *set = set_one("l", BLOCKLIST_DOMAINS, "a.example\n");
	struct ip_addr v4, v6;
	uint8_t buf[512];
	struct decoded d;
	const uint8_t *rd;

	(void)state;
	assert_int_equal(ip_addr_parse("192.0.2.53", &v4), 0);
	assert_int_equal(ip_addr_parse("2001:db8::53", &v6), 0);
	assert_int_not_equal(answer(set, "www.a.example", DNS_TYPE_A,
	                            BLOCK_POLICY_REDIRECT, &v4, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.ns, 0);
	assert_int_equal(d.rr[0].type, DNS_TYPE_A);
	assert_int_equal(d.rr[0].ttl, BLOCKLIST_TTL);
	assert_name(d.rr[0].owner, "www.a.example");
	assert_int_equal(d.rr[0].rdlength, 4);
	rd = buf + d.rr[0].rdata_offset;
	assert_memory_equal(rd, "\xc0\x00\x02\x35", 4);
	/* Another type: NODATA. */
	assert_int_not_equal(answer(set, "a.example", DNS_TYPE_AAAA,
	                            BLOCK_POLICY_REDIRECT, &v4, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	assert_int_equal(d.an, 0);
	assert_int_equal(d.ns, 1);
	/* An IPv6 redirect answers AAAA. */
	assert_int_not_equal(answer(set, "a.example", DNS_TYPE_AAAA,
	                            BLOCK_POLICY_REDIRECT, &v6, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.rr[0].type, DNS_TYPE_AAAA);
	assert_int_equal(d.rr[0].rdlength, 16);
	assert_memory_equal(buf + d.rr[0].rdata_offset, v6.b, 16);
	/* ANY gets the address. */
	assert_int_not_equal(answer(set, "a.example", DNS_TYPE_ANY,
	                            BLOCK_POLICY_REDIRECT, &v4, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_int_equal(d.an, 1);
	/* Redirect without an address: nothing to send. */
	assert_int_equal(answer(set, "a.example", DNS_TYPE_A,
	                        BLOCK_POLICY_REDIRECT, NULL, NULL, buf,
	                        sizeof(buf), &d),
	                 0);
	blockset_free(set);
}

static void
test_blocklist_answer_rpz_nxdomain_nodata_use_zone_soa(void **state)
{
	struct blockset *set = set_one("policy.rpz", BLOCKLIST_RPZ, rpz_zone);
	uint8_t buf[512];
	struct decoded d;

	(void)state;
	/* The policy ignores RPZ entries: they carry their own action. */
	assert_int_not_equal(answer(set, "a.nx.example.com", DNS_TYPE_A,
	                            BLOCK_POLICY_REFUSE, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NXDOMAIN);
	/* min(SOA TTL 300, MINIMUM 120) */
	assert_soa(&d, "rpz.example", 120);
	assert_int_not_equal(answer(set, "nodata.example.com", DNS_TYPE_A,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	assert_int_equal(d.an, 0);
	assert_soa(&d, "rpz.example", 120);
	blockset_free(set);
}

static void
test_blocklist_answer_rpz_drop_and_tcp_only(void **state)
{
	struct blockset *set = set_one("policy.rpz", BLOCKLIST_RPZ, rpz_zone);
	struct dns_opt_out o = {
	    .present = true, .udp_size = 1232, .ede_code = -1};
	struct block_match m;
	struct dns_query q;
	uint8_t buf[512];
	struct decoded d;

	(void)state;
	query_make(&q, "drop.example.com", DNS_TYPE_A);
	assert_true(blockset_lookup(set, q.qname, &m));
	assert_int_equal(blockset_outcome(&m, BLOCK_POLICY_NXDOMAIN, false),
	                 BLOCK_OUT_DROP);
	assert_int_equal(blockset_outcome(&m, BLOCK_POLICY_NXDOMAIN, true),
	                 BLOCK_OUT_DROP);
	assert_int_equal(blockset_build_answer(buf, sizeof(buf), &q, &m,
	                                       BLOCK_POLICY_NXDOMAIN, NULL,
	                                       NULL),
	                 0);

	query_make(&q, "tcp.example.com", DNS_TYPE_A);
	assert_true(blockset_lookup(set, q.qname, &m));
	assert_int_equal(blockset_outcome(&m, BLOCK_POLICY_NXDOMAIN, false),
	                 BLOCK_OUT_ANSWER);
	/* Over TCP the rule lets the query through (BIND). */
	assert_int_equal(blockset_outcome(&m, BLOCK_POLICY_NXDOMAIN, true),
	                 BLOCK_OUT_CONTINUE);
	assert_int_not_equal(answer(set, "tcp.example.com", DNS_TYPE_A,
	                            BLOCK_POLICY_NXDOMAIN, NULL, &o, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_TC, DNS_RCODE_NOERROR);
	assert_int_equal(d.an + d.ns, 0);
	assert_int_equal(d.ar, 1);
	assert_int_equal(ede_of(&d, (char[8]){0}, 8), -1);
	blockset_free(set);
}

static void
test_blocklist_answer_rpz_local_data(void **state)
{
	struct blockset *set = set_one("policy.rpz", BLOCKLIST_RPZ, rpz_zone);
	uint8_t buf[512], target[DNS_NAME_MAX];
	struct decoded d;
	struct wire w;

	(void)state;
	assert_int_not_equal(answer(set, "local.example.com", DNS_TYPE_A,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	assert_int_equal(d.an, 2);
	assert_int_equal(d.rr[0].type, DNS_TYPE_A);
	assert_int_equal(d.rr[1].type, DNS_TYPE_A);
	assert_int_equal(d.rr[0].ttl, 60);
	assert_name(d.rr[0].owner, "local.example.com");

	assert_int_not_equal(answer(set, "local.example.com", DNS_TYPE_AAAA,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.rr[0].type, DNS_TYPE_AAAA);

	assert_int_not_equal(answer(set, "local.example.com", DNS_TYPE_ANY,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_int_equal(d.an, 3);

	/* No record of the type: NODATA with the zone's SOA. */
	assert_int_not_equal(answer(set, "local.example.com", DNS_TYPE_MX,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	assert_int_equal(d.an, 0);
	assert_soa(&d, "rpz.example", 120);

	assert_int_not_equal(answer(set, "txt.example.com", DNS_TYPE_TXT,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.rr[0].type, DNS_TYPE_TXT);

	/* A CNAME whatever the QTYPE. */
	assert_int_not_equal(answer(set, "cname.example.com", DNS_TYPE_AAAA,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.rr[0].type, DNS_TYPE_CNAME);
	wire_init(&w, buf, d.len);
	wire_seek(&w, d.rr[0].rdata_offset);
	assert_int_not_equal(dns_name_read(&w, target), 0);
	assert_name(target, "walled.garden.example");
	blockset_free(set);
}

static void
test_blocklist_answer_rpz_cname_rewrite(void **state)
{
	struct blockset *set = set_one("policy.rpz", BLOCKLIST_RPZ, rpz_zone);
	uint8_t buf[512], target[DNS_NAME_MAX];
	char qname[300];
	struct decoded d;
	struct wire w;
	size_t i;

	(void)state;
	assert_int_not_equal(answer(set, "a.b.rewrite.example.com", DNS_TYPE_A,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_flags(&d, DNS_FLAG_AA, DNS_RCODE_NOERROR);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.rr[0].type, DNS_TYPE_CNAME);
	wire_init(&w, buf, d.len);
	wire_seek(&w, d.rr[0].rdata_offset);
	assert_int_not_equal(dns_name_read(&w, target), 0);
	assert_name(target, "a.b.rewrite.example.com.garden.example");

	/*
	 * A 249-byte QNAME (4 labels of 47, one of 35, rewrite.example.com)
	 * whose QNAME.garden.example would be 264: YXDOMAIN (RFC 6672 2.2).
	 */
	qname[0] = '\0';
	for (i = 0; i < 4; i++)
		strcat(qname, "abcdefghijabcdefghijabcdefghijabcdefghijabcdefg"
		              ".");
	strcat(qname,
	       "abcdefghijabcdefghijabcdefghijabcde.rewrite.example.com");
	assert_int_not_equal(answer(set, qname, DNS_TYPE_A,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL, buf,
	                            sizeof(buf), &d),
	                     0);
	assert_int_equal(d.r.rcode, DNS_RCODE_YXDOMAIN);
	assert_int_equal(d.an + d.ns, 0);
	blockset_free(set);
}

static void
test_blocklist_answer_needs_room_and_a_block(void **state)
{
	struct blockset *set = set_one("l", BLOCKLIST_DOMAINS, "a.example\n");
	struct block_match m;
	struct dns_query q;
	uint8_t buf[512];
	size_t len, cap;

	(void)state;
	query_make(&q, "a.example", DNS_TYPE_A);
	assert_true(blockset_lookup(set, q.qname, &m));
	len = blockset_build_answer(buf, sizeof(buf), &q, &m,
	                            BLOCK_POLICY_NXDOMAIN, NULL, NULL);
	assert_int_not_equal(len, 0);
	for (cap = 0; cap < len; cap++)
		assert_int_equal(blockset_build_answer(buf, cap, &q, &m,
		                                       BLOCK_POLICY_NXDOMAIN,
		                                       NULL, NULL),
		                 0);
	/* Not blocked: nothing to build. */
	query_make(&q, "b.example", DNS_TYPE_A);
	assert_false(blockset_lookup(set, q.qname, &m));
	assert_int_equal(blockset_outcome(&m, BLOCK_POLICY_NXDOMAIN, false),
	                 BLOCK_OUT_CONTINUE);
	assert_int_equal(blockset_build_answer(buf, sizeof(buf), &q, &m,
	                                       BLOCK_POLICY_NXDOMAIN, NULL,
	                                       NULL),
	                 0);
	blockset_free(set);
}

static void
test_blocklist_outcome_table(void **state)
{
	static const struct {
		enum block_action a;
		enum block_policy p;
		bool tcp;
		enum block_outcome want;
	} cases[] = {
	    {BLOCK_NONE, BLOCK_POLICY_NXDOMAIN, false, BLOCK_OUT_CONTINUE},
	    {BLOCK_ALLOWED, BLOCK_POLICY_DROP, false, BLOCK_OUT_CONTINUE},
	    {BLOCK_PASSTHRU, BLOCK_POLICY_DROP, false, BLOCK_OUT_CONTINUE},
	    {BLOCK_LISTED, BLOCK_POLICY_NXDOMAIN, false, BLOCK_OUT_ANSWER},
	    {BLOCK_LISTED, BLOCK_POLICY_NODATA, true, BLOCK_OUT_ANSWER},
	    {BLOCK_LISTED, BLOCK_POLICY_REFUSE, false, BLOCK_OUT_ANSWER},
	    {BLOCK_LISTED, BLOCK_POLICY_REDIRECT, false, BLOCK_OUT_ANSWER},
	    {BLOCK_LISTED, BLOCK_POLICY_DROP, false, BLOCK_OUT_DROP},
	    {BLOCK_NXDOMAIN, BLOCK_POLICY_DROP, false, BLOCK_OUT_ANSWER},
	    {BLOCK_NODATA, BLOCK_POLICY_DROP, false, BLOCK_OUT_ANSWER},
	    {BLOCK_DROP, BLOCK_POLICY_NXDOMAIN, true, BLOCK_OUT_DROP},
	    {BLOCK_TCP_ONLY, BLOCK_POLICY_NXDOMAIN, false, BLOCK_OUT_ANSWER},
	    {BLOCK_TCP_ONLY, BLOCK_POLICY_NXDOMAIN, true, BLOCK_OUT_CONTINUE},
	    {BLOCK_LOCAL_DATA, BLOCK_POLICY_DROP, false, BLOCK_OUT_ANSWER},
	};
	struct block_match m;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		memset(&m, 0, sizeof(m));
		m.action = cases[i].a;
		assert_int_equal(blockset_outcome(&m, cases[i].p, cases[i].tcp),
		                 cases[i].want);
	}
}

static void
test_blocklist_policy_parse(void **state)
{
	enum block_policy p;
	struct ip_addr a, want;

	(void)state;
	assert_int_equal(block_policy_parse("nxdomain", &p, &a), 0);
	assert_int_equal(p, BLOCK_POLICY_NXDOMAIN);
	assert_int_equal(block_policy_parse(" NODATA ", &p, &a), 0);
	assert_int_equal(p, BLOCK_POLICY_NODATA);
	assert_int_equal(block_policy_parse("refuse", &p, &a), 0);
	assert_int_equal(p, BLOCK_POLICY_REFUSE);
	assert_int_equal(block_policy_parse("drop", &p, &a), 0);
	assert_int_equal(p, BLOCK_POLICY_DROP);
	assert_int_equal(block_policy_parse("redirect  192.0.2.1", &p, &a), 0);
	assert_int_equal(p, BLOCK_POLICY_REDIRECT);
	assert_int_equal(ip_addr_parse("192.0.2.1", &want), 0);
	assert_true(ip_addr_equal(&a, &want));
	assert_int_equal(block_policy_parse("redirect 2001:db8::1", &p, &a), 0);
	assert_false(a.v4);
	assert_int_equal(block_policy_parse("redirect", &p, &a), -1);
	assert_int_equal(block_policy_parse("redirect 1.2.3", &p, &a), -1);
	assert_int_equal(block_policy_parse("nxdomain 1.2.3.4", &p, &a), -1);
	assert_int_equal(block_policy_parse("redirect 1.2.3.4 x", &p, &a), -1);
	assert_int_equal(block_policy_parse("", &p, &a), -1);
	assert_int_equal(block_policy_parse("block", &p, &a), -1);
	assert_string_equal(block_policy_name(BLOCK_POLICY_REDIRECT),
	                    "redirect");
	assert_string_equal(block_policy_name((enum block_policy)99),
	                    "unknown");
}

static void
test_blocklist_names_of_things(void **state)
{
	(void)state;
	assert_string_equal(block_action_name(BLOCK_NONE), "none");
	assert_string_equal(block_action_name(BLOCK_TCP_ONLY), "tcp-only");
	assert_string_equal(block_action_name(BLOCK_LOCAL_DATA), "local-data");
	assert_string_equal(block_action_name((enum block_action)42),
	                    "unknown");
	assert_string_equal(blocklist_format_name(BLOCKLIST_RPZ), "rpz");
	assert_string_equal(blocklist_format_name(BLOCKLIST_HOSTS), "hosts");
	assert_string_equal(blocklist_format_name(BLOCKLIST_DOMAINS),
	                    "domains");
	assert_string_equal(blocklist_format_name(BLOCKLIST_AUTO), "auto");
}

/* ---- scale ---- */

static const char *const big_words[] = {
    "ads", "cdn", "click", "metrics", "pixel", "stats", "tag", "track",
};
static const char *const big_tlds[] = {"com", "net", "org", "io", "de"};

/* The i-th generated name (as tests/tools/gen_blocklist.py shapes them). */
static void
big_name(size_t i, char *out, size_t cap)
{
	uint32_t r = (uint32_t)i * 2654435761u;

	(void)snprintf(
	    out, cap, "%s-%zx.%s%u.%s", big_words[r % ARRAY_LEN(big_words)], i,
	    big_words[(r >> 8) % ARRAY_LEN(big_words)], (r >> 16) % 100,
	    big_tlds[(r >> 24) % ARRAY_LEN(big_tlds)]);
}

static size_t
big_entries(void)
{
	const char *env = getenv("BLOCKLIST_TEST_ENTRIES");

	return env != NULL ? (size_t)strtoul(env, NULL, 10) : BIG_DEFAULT;
}

static double
seconds(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A million names load, index and answer. Time and peak RSS are printed,
 * not asserted (machines differ); the budget is 2 s and 150 MB.
 */
static void
test_blocklist_load_one_million(void **state)
{
	size_t n = big_entries(), i;
	char path[512], name[128];
	const struct blocklist *lists[1];
	struct blocklist *bl;
	struct blockset *set;
	struct block_match m;
	struct rusage ru;
	uint8_t wire[DNS_NAME_MAX];
	double t0, t1, t2;
	char err[256];
	int line;
	FILE *f;

	(void)state;
	if (n == 0)
		skip();
	temp_file(path, sizeof(path), "big-blocklist.txt", "# generated\n");
	assert_non_null(f = fopen(path, "a"));
	for (i = 0; i < n; i++) {
		big_name(i, name, sizeof(name));
		assert_true(fprintf(f, "%s\n", name) > 0);
	}
	assert_int_equal(fclose(f), 0);

	t0 = seconds();
	bl = blocklist_load(path, err, sizeof(err), &line);
	t1 = seconds();
	assert_non_null(bl);
	lists[0] = bl;
	set = blockset_create(lists, 1, NULL, 0);
	t2 = seconds();
	assert_non_null(set);
	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	print_message("[ INFO     ] %zu names: load %.3f s, index %.3f s, "
	              "total %.3f s, peak RSS %ld MB\n",
	              n, t1 - t0, t2 - t1, t2 - t0, ru.ru_maxrss / 1024);
	assert_int_equal(blocklist_get_info(bl)->entries, n);
	assert_int_equal(blockset_size(set), n);
	blocklist_free(bl);
	(void)unlink(path);

	for (i = 0; i < n; i += n / 1000 + 1) {
		big_name(i, name, sizeof(name));
		wire_name(name, wire);
		assert_true(blockset_lookup(set, wire, &m));
		assert_false(m.below);
		(void)snprintf(err, sizeof(err), "www.%s", name);
		wire_name(err, wire);
		assert_true(blockset_lookup(set, wire, &m));
		assert_true(m.below);
	}
	assert_action(set, "not-listed.example.com", BLOCK_NONE);
	assert_action(set, "com", BLOCK_NONE);
	blockset_free(set);
}

/*
 * A million hosts lines, one in a hundred bad (as lists come from the
 * wild): the bad ones counted and skipped, the rest listed. Time and peak
 * RSS printed, not asserted; the budget is 2 s.
 */
static void
test_blocklist_load_one_million_one_percent_bad(void **state)
{
	size_t n = big_entries(), i, bad = 0;
	char path[512], name[128], err[256];
	const struct blocklist_problem *p;
	struct blocklist *bl;
	struct rusage ru;
	double t0, t1;
	int line;
	FILE *f;

	(void)state;
	if (n == 0)
		skip();
	temp_file(path, sizeof(path), "dirty-hosts.txt",
	          "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
	assert_non_null(f = fopen(path, "a"));
	for (i = 0; i < n; i++) {
		big_name(i, name, sizeof(name));
		if (i % 100 == 99) {
			/* An empty label, as a careless generator writes. */
			name[strcspn(name, ".")] = '\0';
			assert_true(fprintf(f, "0.0.0.0 %s..example\n", name) >
			            0);
			bad++;
		} else {
			assert_true(fprintf(f, "0.0.0.0 %s\n", name) > 0);
		}
	}
	assert_int_equal(fclose(f), 0);

	t0 = seconds();
	bl = blocklist_load(path, err, sizeof(err), &line);
	t1 = seconds();
	assert_non_null(bl);
	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	print_message("[ INFO     ] %zu hosts lines, %zu bad: load %.3f s, "
	              "peak RSS %ld MB\n",
	              n, bad, t1 - t0, ru.ru_maxrss / 1024);
	assert_int_equal(blocklist_get_info(bl)->bad, bad);
	assert_int_equal(blocklist_get_info(bl)->entries, n - bad);
	assert_int_equal(blocklist_get_info(bl)->ignored, 3);
	assert_int_equal(blocklist_problems(bl, &p),
	                 bad < BLOCKLIST_REPORT_MAX ? bad
	                                            : BLOCKLIST_REPORT_MAX);
	if (bad > 0)
		assert_int_equal(p[0].line, 2 + 100);
	blocklist_free(bl);
	(void)unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocklist_domains_format),
	    cmocka_unit_test(test_blocklist_domains_wildcard_lists_only_below),
	    cmocka_unit_test(test_blocklist_hosts_format),
	    cmocka_unit_test(test_blocklist_format_detected_by_content),
	    cmocka_unit_test(test_blocklist_load_prefixes_and_names),
	    cmocka_unit_test(test_blocklist_locate_finds_the_line),
	    cmocka_unit_test(test_blocklist_fatal_errors_have_line_numbers),
	    cmocka_unit_test(
	        test_blocklist_bad_entries_skipped_with_line_numbers),
	    cmocka_unit_test(test_blocklist_bad_entries_counted_first_ten_kept),
	    cmocka_unit_test(test_blocklist_error_quotes_bytes_escaped),
	    cmocka_unit_test(test_blocklist_idn_in_every_format),
	    cmocka_unit_test(test_blocklist_adblock_rules),
	    cmocka_unit_test(test_blocklist_adblock_exceptions_across_lists),
	    cmocka_unit_test(test_blocklist_adblock_important),
	    cmocka_unit_test(test_blocklist_adblock_prefix),
	    cmocka_unit_test(test_blocklist_adblock_locate),
	    cmocka_unit_test(test_blocklist_rpz_origin_and_relative_names),
	    cmocka_unit_test(test_blocklist_rpz_wildcard_semantics),
	    cmocka_unit_test(test_blocklist_rpz_each_action),
	    cmocka_unit_test(test_blocklist_rpz_info_counts),
	    cmocka_unit_test(test_blocklist_rpz_unsupported_triggers_skipped),
	    cmocka_unit_test(test_blocklist_first_list_wins),
	    cmocka_unit_test(test_blocklist_most_specific_wins),
	    cmocka_unit_test(test_blocklist_allowlist_exempts),
	    cmocka_unit_test(
	        test_blocklist_rpz_allowlist_keeps_trigger_matching),
	    cmocka_unit_test(test_blocklist_passthru_exempts_later_lists),
	    cmocka_unit_test(test_blocklist_case_insensitive),
	    cmocka_unit_test(test_blocklist_empty_and_null_sets),
	    cmocka_unit_test(test_blocklist_many_lists_one_index),
	    cmocka_unit_test(test_blocklist_answer_policy_nxdomain_with_ede),
	    cmocka_unit_test(test_blocklist_answer_policy_nodata_refuse_drop),
	    cmocka_unit_test(test_blocklist_answer_redirect),
	    cmocka_unit_test(
	        test_blocklist_answer_rpz_nxdomain_nodata_use_zone_soa),
	    cmocka_unit_test(test_blocklist_answer_rpz_drop_and_tcp_only),
	    cmocka_unit_test(test_blocklist_answer_rpz_local_data),
	    cmocka_unit_test(test_blocklist_answer_rpz_cname_rewrite),
	    cmocka_unit_test(test_blocklist_answer_needs_room_and_a_block),
	    cmocka_unit_test(test_blocklist_outcome_table),
	    cmocka_unit_test(test_blocklist_policy_parse),
	    cmocka_unit_test(test_blocklist_names_of_things),
	    cmocka_unit_test(test_blocklist_load_one_million),
	    cmocka_unit_test(test_blocklist_load_one_million_one_percent_bad),
	};

	return cmocka_run_group_tests_name("blocklist", tests, NULL, NULL);
}
