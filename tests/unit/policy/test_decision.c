/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/policy/test_decision.c — the decision record as a log line
 * (dnsgate(8), DECISION LOG): one JSON object per line with every field present
 * when set and absent when not, JSON escaping, the text format, action names,
 * decision_is_default, transport names and the too-small buffer.
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
#include "policy/decision.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LINE_MAX_    2048
#define JSON_MAX     32

/*
 * A flat JSON object as the log writes it: string and number values only.
 * Strings are unescaped; numbers kept as their text.
 */
struct json_pair {
	char key[32];
	char val[512];
	bool is_string;
};

struct json_obj {
	struct json_pair p[JSON_MAX];
	size_t n;
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read a JSON string at *p (at the opening quote); false when invalid. */
static bool
json_string(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	if (*s++ != '"')
		return false;
	while (*s != '"') {
		unsigned char c = (unsigned char)*s;

		if (c == '\0' || c < 0x20 || n + 1 >= cap)
			return false; /* RFC 8259 7: controls must be escaped */
		if (c == '\\') {
			s++;
			switch (*s) {
			case '"':
			case '\\':
			case '/':
				out[n++] = *s++;
				continue;
			case 'n':
				out[n++] = '\n';
				s++;
				continue;
			case 't':
				out[n++] = '\t';
				s++;
				continue;
			case 'u': {
				int v = 0;

				for (int i = 1; i <= 4; i++) {
					int h = hexval(s[i]);

					if (h < 0)
						return false;
					v = v * 16 + h;
				}
				if (v > 0xff)
					return false; /* not produced by us */
				out[n++] = (char)v;
				s += 5;
				continue;
			}
			default:
				return false;
			}
		}
		out[n++] = *s++;
	}
	out[n] = '\0';
	*p = s + 1;
	return true;
}

/* Parse one line "{...}\n"; false when it is not that. */
static bool
json_parse(const char *line, struct json_obj *o)
{
	const char *p = line;

	memset(o, 0, sizeof(*o));
	if (*p++ != '{')
		return false;
	for (;;) {
		struct json_pair *pair;

		if (o->n == JSON_MAX)
			return false;
		pair = &o->p[o->n];
		if (!json_string(&p, pair->key, sizeof(pair->key)))
			return false;
		if (*p++ != ':')
			return false;
		if (*p == '"') {
			pair->is_string = true;
			if (!json_string(&p, pair->val, sizeof(pair->val)))
				return false;
		} else {
			size_t n = strspn(p, "-+.0123456789eE");

			if (n == 0 || n >= sizeof(pair->val))
				return false;
			memcpy(pair->val, p, n);
			pair->val[n] = '\0';
			p += n;
		}
		o->n++;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return false;
		break;
	}
	return strcmp(p, "\n") == 0;
}

static const struct json_pair *
json_get(const struct json_obj *o, const char *key)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->p[i].key, key) == 0)
			return &o->p[i];
	return NULL;
}

static void
assert_json_str(const struct json_obj *o, const char *key, const char *want)
{
	const struct json_pair *p = json_get(o, key);

	if (p == NULL)
		print_error("key %s missing\n", key);
	assert_non_null(p);
	assert_true(p->is_string);
	assert_string_equal(p->val, want);
}

static void
assert_json_num(const struct json_obj *o, const char *key, const char *want)
{
	const struct json_pair *p = json_get(o, key);

	if (p == NULL)
		print_error("key %s missing\n", key);
	assert_non_null(p);
	assert_false(p->is_string);
	assert_string_equal(p->val, want);
}

static void
assert_json_absent(const struct json_obj *o, const char *key)
{
	if (json_get(o, key) != NULL)
		print_error("key %s present\n", key);
	assert_null(json_get(o, key));
}

/* A record with every field set; ts 2023-11-14T22:13:20.123Z. */
static void
decision_full(struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->ts_ms = 1700000000123ull;
	assert_int_equal(ip_addr_parse("192.0.2.7", &d->client), 0);
	d->port = 5353;
	d->proto = TRANSPORT_UDP;
	d->id = 4660;
	d->have_question = true;
	assert_int_not_equal(
	    dns_name_from_text("www.example.com.", NULL, d->qname), 0);
	d->qtype = DNS_TYPE_AAAA;
	d->view = "corp";
	d->action = ACTION_BLOCK;
	decision_rule(d, "blocklist:%s", "ads.txt");
	d->rcode = DNS_RCODE_NXDOMAIN;
	d->ede = DNS_EDE_BLOCKED;
	d->have_upstream = true;
	assert_int_equal(ip_addr_parse("2001:db8::53", &d->upstream), 0);
	d->upstream_port = 5300;
	d->attempts = 2;
	d->ms = 1.5;
}

/* Only what every record has: nothing optional is set. */
static void
decision_minimal(struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->ts_ms = 0;
	assert_int_equal(ip_addr_parse("2001:db8::1", &d->client), 0);
	d->port = 53;
	d->proto = TRANSPORT_TCP;
	d->id = 1;
	d->action = ACTION_DROP;
	d->rcode = -1;
	d->ede = -1;
}

static size_t
format(const struct decision *d, enum decision_format f, char *buf)
{
	size_t n = decision_format(d, f, buf, LINE_MAX_);

	assert_int_not_equal(n, 0);
	assert_int_equal(strlen(buf), n);
	/* One line, newline-terminated. */
	assert_int_equal(buf[n - 1], '\n');
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	return n;
}

static void
test_decision_json_every_field_when_set(void **state)
{
	struct decision d;
	struct json_obj o;
	char buf[LINE_MAX_];

	(void)state;
	decision_full(&d);
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "ts", "2023-11-14T22:13:20.123Z");
	assert_json_str(&o, "client", "192.0.2.7");
	assert_json_num(&o, "port", "5353");
	assert_json_str(&o, "proto", "udp");
	assert_json_num(&o, "id", "4660");
	assert_json_str(&o, "qname", "www.example.com.");
	assert_json_str(&o, "qtype", "AAAA");
	assert_json_str(&o, "view", "corp");
	assert_json_str(&o, "action", "block");
	assert_json_str(&o, "rule", "blocklist:ads.txt");
	assert_json_str(&o, "rcode", "NXDOMAIN");
	assert_json_num(&o, "ede", "15");
	assert_json_str(&o, "upstream", "[2001:db8::53]:5300");
	assert_json_num(&o, "attempts", "2");
	assert_json_num(&o, "ms", "1.500");
	assert_int_equal(o.n, 15);
}

static void
test_decision_json_exact_line(void **state)
{
	struct decision d;
	char buf[LINE_MAX_];

	(void)state;
	decision_full(&d);
	assert_int_equal(ip_addr_parse("192.0.2.53", &d.upstream), 0);
	d.upstream_port = 53;
	format(&d, DECISION_JSON, buf);
	assert_string_equal(
	    buf,
	    "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"client\":\"192.0.2.7\","
	    "\"port\":5353,\"proto\":\"udp\",\"id\":4660,"
	    "\"qname\":\"www.example.com.\",\"qtype\":\"AAAA\","
	    "\"view\":\"corp\",\"action\":\"block\","
	    "\"rule\":\"blocklist:ads.txt\",\"rcode\":\"NXDOMAIN\","
	    "\"ede\":15,\"upstream\":\"192.0.2.53:53\",\"attempts\":2,"
	    "\"ms\":1.500}\n");
}

static void
test_decision_json_optional_fields_absent(void **state)
{
	struct decision d;
	struct json_obj o;
	char buf[LINE_MAX_];

	(void)state;
	decision_minimal(&d);
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "ts", "1970-01-01T00:00:00.000Z");
	assert_json_str(&o, "client", "2001:db8::1");
	assert_json_num(&o, "port", "53");
	assert_json_str(&o, "proto", "tcp");
	assert_json_num(&o, "id", "1");
	assert_json_str(&o, "action", "drop");
	assert_json_num(&o, "ms", "0.000");
	assert_json_absent(&o, "qname");
	assert_json_absent(&o, "qtype");
	assert_json_absent(&o, "view");
	assert_json_absent(&o, "rule");
	assert_json_absent(&o, "rcode");
	assert_json_absent(&o, "ede");
	assert_json_absent(&o, "upstream");
	assert_json_absent(&o, "attempts");
	assert_int_equal(o.n, 7);
}

/* Each optional field on its own: present exactly when set. */
static void
test_decision_json_each_optional_field_alone(void **state)
{
	struct decision d;
	struct json_obj o;
	char buf[LINE_MAX_];

	(void)state;
	decision_minimal(&d);
	decision_rule(&d, "acl:corp:%d", 2);
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "rule", "acl:corp:2");
	assert_int_equal(o.n, 8);

	decision_minimal(&d);
	d.ede = 0; /* EDE 0 (Other) is a code that was sent */
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_num(&o, "ede", "0");
	assert_int_equal(o.n, 8);

	decision_minimal(&d);
	d.rcode = 0;
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "rcode", "NOERROR");
	assert_int_equal(o.n, 8);

	decision_minimal(&d);
	d.have_upstream = true;
	assert_int_equal(ip_addr_parse("192.0.2.53", &d.upstream), 0);
	d.upstream_port = 53;
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "upstream", "192.0.2.53:53");
	assert_int_equal(o.n, 8);

	decision_minimal(&d);
	d.attempts = 1;
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_num(&o, "attempts", "1");
	assert_int_equal(o.n, 8);

	decision_minimal(&d);
	d.view = "v";
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "view", "v");
	assert_int_equal(o.n, 8);
}

static void
test_decision_json_rcode_mnemonics(void **state)
{
	static const struct {
		int rcode;
		const char *name;
	} cases[] = {
	    {DNS_RCODE_REFUSED, "REFUSED"},
	    {DNS_RCODE_SERVFAIL, "SERVFAIL"},
	    {DNS_RCODE_FORMERR, "FORMERR"},
	    {DNS_RCODE_BADVERS, "BADVERS"},
	    {DNS_RCODE_BADCOOKIE, "BADCOOKIE"},
	};
	struct decision d;
	struct json_obj o;
	char buf[LINE_MAX_];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		decision_minimal(&d);
		d.rcode = cases[i].rcode;
		format(&d, DECISION_JSON, buf);
		assert_true(json_parse(buf, &o));
		assert_json_str(&o, "rcode", cases[i].name);
	}
}

static void
test_decision_json_escapes_qname(void **state)
{
	/* qname a"b\c.x. : one label with a quote and a backslash. */
	static const uint8_t qname[] = {
	    5, 'a', '"', 'b', '\\', 'c', /* label 1 */
	    1, 'x',                      /* label 2 */
	    0,                           /* root */
	};
	/* qname \001\031.x. : control bytes in a label. */
	static const uint8_t ctl[] = {2, 0x01, 0x1f, 1, 'x', 0};
	struct decision d;
	struct json_obj o;
	char buf[LINE_MAX_];

	(void)state;
	decision_minimal(&d);
	d.have_question = true;
	memcpy(d.qname, qname, sizeof(qname));
	d.qtype = DNS_TYPE_TXT;
	format(&d, DECISION_JSON, buf);
	/* Presentation form a\"b\\c.x. then JSON-escaped. */
	assert_non_null(strstr(buf, "\"qname\":\"a\\\\\\\"b\\\\\\\\c.x.\""));
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "qname", "a\\\"b\\\\c.x.");
	assert_json_str(&o, "qtype", "TXT");

	memcpy(d.qname, ctl, sizeof(ctl));
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "qname", "\\001\\031.x.");
}

static void
test_decision_json_escapes_view_and_rule(void **state)
{
	struct decision d;
	struct json_obj o;
	char buf[LINE_MAX_];

	(void)state;
	decision_minimal(&d);
	d.view = "q\"b\\s\x01n\nt\t";
	decision_rule(&d, "blocklist:\"x\\y\x7f\".txt");
	format(&d, DECISION_JSON, buf);
	assert_non_null(
	    strstr(buf, "\"view\":\"q\\\"b\\\\s\\u0001n\\u000at\\u0009\""));
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "view", "q\"b\\s\x01n\nt\t");
	assert_json_str(&o, "rule", "blocklist:\"x\\y\x7f\".txt");
}

static void
test_decision_text_format(void **state)
{
	struct decision d;
	char buf[LINE_MAX_];

	(void)state;
	decision_full(&d);
	assert_int_equal(ip_addr_parse("192.0.2.53", &d.upstream), 0);
	d.upstream_port = 53;
	format(&d, DECISION_TEXT, buf);
	assert_string_equal(buf, "2023-11-14T22:13:20.123Z 192.0.2.7#5353 udp "
	                         "id=4660 www.example.com. AAAA view=corp "
	                         "action=block rule=blocklist:ads.txt "
	                         "rcode=NXDOMAIN ede=15 upstream=192.0.2.53:53 "
	                         "attempts=2 ms=1.500\n");

	decision_minimal(&d);
	format(&d, DECISION_TEXT, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z 2001:db8::1#53 tcp "
	                         "id=1 view=- action=drop ms=0.000\n");
}

/* In text, a view or rule is one field of printable ASCII. */
static void
test_decision_text_escapes_view_and_rule(void **state)
{
	struct decision d;
	char buf[LINE_MAX_];

	(void)state;
	decision_minimal(&d);
	d.view = "q\"b\\s\x01n\nt\t";
	decision_rule(&d, "blocklist:my list\x1b[2J\x7f\xc3\xa9.txt");
	format(&d, DECISION_TEXT, buf);
	assert_non_null(strstr(buf, " view=q\"b\\s\\x01n\\x0at\\x09 "));
	assert_non_null(strstr(buf, " rule=blocklist:my\\x20list\\x1b[2J"
	                            "\\x7f\\xc3\\xa9.txt "));
}

static void
test_decision_is_default(void **state)
{
	struct decision d;
	int a;

	(void)state;
	decision_minimal(&d);
	d.action = ACTION_FORWARD;
	assert_true(decision_is_default(&d));
	/* A forward some rule decided is not the default. */
	decision_rule(&d, "view:%s", "corp");
	assert_false(decision_is_default(&d));
	/* A forward-zone only chose the group: still a plain forward. */
	decision_rule(&d, "forward-zone:%s", "corp.example");
	assert_true(decision_is_default(&d));
	d.action = ACTION_CACHE;
	assert_true(decision_is_default(&d));
	d.action = ACTION_SERVFAIL;
	assert_false(decision_is_default(&d));
	/* A cache hit is a forward the cache saved: default too. */
	decision_minimal(&d);
	d.action = ACTION_CACHE;
	assert_true(decision_is_default(&d));
	/* Nothing but a plain forward or hit is. */
	for (a = ACTION_NONE; a < ACTION_COUNT_; a++) {
		if (a == ACTION_FORWARD || a == ACTION_CACHE)
			continue;
		decision_minimal(&d);
		d.action = (enum decision_action)a;
		assert_false(decision_is_default(&d));
	}
}

static void
test_decision_action_names(void **state)
{
	static const char *const names[ACTION_COUNT_] = {
	    [ACTION_NONE] = "none",
	    [ACTION_FORWARD] = "forward",
	    [ACTION_CACHE] = "cache",
	    [ACTION_LOCAL] = "local",
	    [ACTION_REFUSE] = "refuse",
	    [ACTION_DROP] = "drop",
	    [ACTION_BLOCK] = "block",
	    [ACTION_NXDOMAIN] = "nxdomain",
	    [ACTION_NODATA] = "nodata",
	    [ACTION_RATELIMIT_DROP] = "ratelimit-drop",
	    [ACTION_RATELIMIT_SLIP] = "ratelimit-slip",
	    [ACTION_BADCOOKIE] = "badcookie",
	    [ACTION_FORMERR] = "formerr",
	    [ACTION_NOTIMP] = "notimp",
	    [ACTION_BADVERS] = "badvers",
	    [ACTION_SERVFAIL] = "servfail",
	    [ACTION_STALE] = "stale",
	    [ACTION_TRUNCATE] = "truncate",
	};
	int a;

	(void)state;
	for (a = 0; a < ACTION_COUNT_; a++) {
		assert_non_null(names[a]); /* a new action needs a name here */
		assert_string_equal(
		    decision_action_name((enum decision_action)a), names[a]);
	}
	assert_string_equal(decision_action_name(ACTION_COUNT_), "none");
	assert_string_equal(decision_action_name((enum decision_action)1000),
	                    "none");
}

static void
test_decision_rule_truncated_to_buffer(void **state)
{
	struct decision d;
	char longname[200];

	(void)state;
	decision_minimal(&d);
	memset(longname, 'r', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	decision_rule(&d, "blocklist:%s", longname);
	assert_int_equal(strlen(d.rule), DECISION_RULE_MAX - 1);
	assert_memory_equal(d.rule, "blocklist:rrr", 13);
}

static void
test_decision_too_small_buffer_returns_0(void **state)
{
	static const enum decision_format fmts[] = {DECISION_JSON,
	                                            DECISION_TEXT};
	struct decision d;
	char buf[LINE_MAX_];
	char small[LINE_MAX_];
	size_t n, cap, i;

	(void)state;
	decision_full(&d);
	for (i = 0; i < ARRAY_LEN(fmts); i++) {
		n = format(&d, fmts[i], buf);
		for (cap = 0; cap < n; cap++) {
			if (decision_format(&d, fmts[i], small, cap) != 0)
				print_error("cap %zu of %zu\n", cap, n);
			assert_int_equal(
			    decision_format(&d, fmts[i], small, cap), 0);
		}
		/* Room for the line and its NUL is enough. */
		assert_int_equal(decision_format(&d, fmts[i], small, n + 1), n);
		assert_string_equal(small, buf);
	}
}

/* The proto field, the metrics' label and match-transport's words. */
static void
test_decision_transport_names(void **state)
{
	static const char *const names[TRANSPORT_COUNT_] = {
	    [TRANSPORT_UDP] = "udp",
	    [TRANSPORT_TCP] = "tcp",
	    [TRANSPORT_TLS] = "tls",
	    [TRANSPORT_HTTPS] = "https",
	};
	static const char *const unknown[] = {
	    "", "dot", "doh", "quic", "udp ", " tcp", "tls1.3", "http",
	};
	enum transport t;

	(void)state;
	for (int i = 0; i < TRANSPORT_COUNT_; i++) {
		assert_non_null(names[i]); /* a new transport needs a name */
		assert_string_equal(transport_name((enum transport)i),
		                    names[i]);
		t = TRANSPORT_COUNT_;
		assert_int_equal(transport_parse(names[i], &t), 0);
		assert_int_equal(t, i);
	}
	/* Out of range: named as the default, never NULL. */
	assert_string_equal(transport_name(TRANSPORT_COUNT_), "udp");
	/* Any case. */
	assert_int_equal(transport_parse("TLS", &t), 0);
	assert_int_equal(t, TRANSPORT_TLS);
	assert_int_equal(transport_parse("Https", &t), 0);
	assert_int_equal(t, TRANSPORT_HTTPS);
	for (size_t i = 0; i < ARRAY_LEN(unknown); i++) {
		t = TRANSPORT_TCP;
		if (transport_parse(unknown[i], &t) != -1)
			print_error("'%s' accepted\n", unknown[i]);
		assert_int_equal(transport_parse(unknown[i], &t), -1);
		assert_int_equal(t, TRANSPORT_TCP);
	}
}

/* Queries over TLS and HTTPS are logged as such, in both formats. */
static void
test_decision_proto_tls_and_https(void **state)
{
	struct decision d;
	struct json_obj o;
	char buf[LINE_MAX_];

	(void)state;
	decision_minimal(&d);
	d.proto = TRANSPORT_TLS;
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "proto", "tls");
	format(&d, DECISION_TEXT, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z 2001:db8::1#53 tls "
	                         "id=1 view=- action=drop ms=0.000\n");
	d.proto = TRANSPORT_HTTPS;
	format(&d, DECISION_JSON, buf);
	assert_true(json_parse(buf, &o));
	assert_json_str(&o, "proto", "https");
	format(&d, DECISION_TEXT, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z 2001:db8::1#53 "
	                         "https id=1 view=- action=drop ms=0.000\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decision_json_every_field_when_set),
	    cmocka_unit_test(test_decision_json_exact_line),
	    cmocka_unit_test(test_decision_json_optional_fields_absent),
	    cmocka_unit_test(test_decision_json_each_optional_field_alone),
	    cmocka_unit_test(test_decision_json_rcode_mnemonics),
	    cmocka_unit_test(test_decision_json_escapes_qname),
	    cmocka_unit_test(test_decision_json_escapes_view_and_rule),
	    cmocka_unit_test(test_decision_text_format),
	    cmocka_unit_test(test_decision_text_escapes_view_and_rule),
	    cmocka_unit_test(test_decision_is_default),
	    cmocka_unit_test(test_decision_action_names),
	    cmocka_unit_test(test_decision_rule_truncated_to_buffer),
	    cmocka_unit_test(test_decision_too_small_buffer_returns_0),
	    cmocka_unit_test(test_decision_transport_names),
	    cmocka_unit_test(test_decision_proto_tls_and_https),
	};

	return cmocka_run_group_tests_name("policy decision", tests, NULL,
	                                   NULL);
}
