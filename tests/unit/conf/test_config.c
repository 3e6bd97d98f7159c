/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_config.c — the option table and the INI loader:
 * defaults, durations and sizes, one FILE:LINE message per error (every error,
 * not only the first), unknown sections and keys, duplicate and repeatable
 * keys, named sections, keys not built yet, view upstream resolution,
 * resolv-conf, ACL rule lines, local-data errors and the reference count;
 * the DNS over TLS and HTTPS keys (listeners, certificate checks with files
 * made by tests/unit/testcert.c, tls-ca, match-transport, tls:// servers).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "conf/config.h"
#include "dns/msg.h"
#include "policy/blocklist.h"
#include "policy/decision.h"
#include "policy/listurl.h"
#include "tests/unit/testcert.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Load text as "t.conf"; *errs gets everything written to errs (free it). */
static struct config *
load(const char *text, char **errs)
{
	struct config *c;
	size_t len = 0;
	FILE *f;

	*errs = NULL;
	f = open_memstream(errs, &len);
	assert_non_null(f);
	c = config_load_string("t.conf", text, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(*errs);
	return c;
}

/* text must load without any message. */
static struct config *
load_ok(const char *text)
{
	char *errs;
	struct config *c = load(text, &errs);

	if (c == NULL || errs[0] != '\0')
		print_error("unexpected: %s", errs);
	assert_string_equal(errs, "");
	assert_non_null(c);
	free(errs);
	return c;
}

/* text must be rejected with exactly the messages want. */
static void
load_fails(const char *text, const char *want)
{
	char *errs;
	struct config *c = load(text, &errs);

	if (c != NULL || strcmp(errs, want) != 0)
		print_error("config:\n%s---\ngot:\n%s", text, errs);
	assert_null(c);
	assert_string_equal(errs, want);
	free(errs);
}

static void
test_config_defaults_server_and_log(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[view v]\n");
	/* Defaults of [server] (dnsgate.conf(5)) */
	assert_int_equal(c->server.nlistens, 1);
	assert_string_equal(c->server.listens[0].text, "127.0.0.1:53");
	assert_int_equal(c->server.listens[0].port, 53);
	assert_true(c->server.listens[0].addr.v4);
	assert_int_equal(c->server.workers, 1);
	assert_null(c->server.user);
	assert_int_equal(c->server.udp_payload_size, 1232);
	assert_int_equal(c->server.tcp_idle_ms, 10000);
	assert_int_equal(c->server.tcp_max_clients, 1024);
	assert_int_equal(c->server.tcp_per_prefix, 64);
	assert_int_equal(c->server.udp_rcvbuf, 8 * 1024 * 1024);
	assert_true(c->server.ede_text);
	assert_int_equal(c->server.yield_local, YIELD_AUTO);
	assert_false(c->server.has_metrics);
	/* [log]: stderr, json, decisions = all */
	assert_int_equal(c->log.target, LOGT_STDERR);
	assert_null(c->log.path);
	assert_int_equal(c->log.format, DECISION_JSON);
	assert_int_equal(c->log.decisions, DECISIONS_ALL);
	/* Nothing else was configured. */
	assert_int_equal(c->nupstreams, 0);
	assert_int_equal(c->nviews, 1);
	assert_string_equal(c->views[0]->name, "v");
	assert_int_equal(c->views[0]->line, 1);
	assert_false(c->views[0]->has_match_client);
	assert_int_equal(c->views[0]->nrules, 0);
	assert_null(c->views[0]->upstream);
	assert_string_equal(c->path, "t.conf");
	config_unref(c);
}

static void
test_config_defaults_upstream(void **state)
{
	struct config *c;
	struct upstream_conf *u;

	(void)state;
	c = load_ok("[upstream up]\n"
	            "server = 192.0.2.53\n"
	            "[view v]\n");
	assert_int_equal(c->nupstreams, 1);
	u = c->upstreams[0];
	assert_string_equal(u->name, "up");
	assert_int_equal(u->line, 1);
	/* Defaults of [upstream NAME] (dnsgate.conf(5)) */
	assert_int_equal(u->selection, SEL_ORDERED);
	assert_int_equal(u->timeout_ms, 1500);
	assert_int_equal(u->attempts, 3);
	assert_int_equal(u->retry_on, RETRY_SERVFAIL | RETRY_TIMEOUT);
	assert_int_equal(u->health_ms, 5000);
	assert_null(u->resolv_conf);
	assert_int_equal(u->nservers, 1);
	assert_string_equal(u->servers[0].text, "192.0.2.53:53");
	assert_int_equal(u->servers[0].port, 53);
	config_unref(c);
}

static void
test_config_explicit_values(void **state)
{
	struct config *c;
	struct upstream_conf *u;

	(void)state;
	c = load_ok("[server]\n"
	            "listen = [::1]:5300\n"
	            "workers = 0\n"
	            "user = dnsgate\n"
	            "control-socket = /run/dnsgate/control.sock\n"
	            "metrics-listen = 127.0.0.1\n"
	            "udp-payload-size = 4096\n"
	            "tcp-idle-timeout = 2m\n"
	            "tcp-max-clients = 10\n"
	            "ede-text = no\n"
	            "[log]\n"
	            "target = /var/log/dnsgate.log\n"
	            "format = text\n"
	            "decisions = non-default\n"
	            "[upstream up]\n"
	            "server = 192.0.2.53\n"
	            "selection = round-robin\n"
	            "timeout = 2s\n"
	            "attempts = 5\n"
	            "retry-on = refused\n"
	            "health-check = 1m\n"
	            "[view v]\n");
	assert_string_equal(c->server.listens[0].text, "[::1]:5300");
	assert_false(c->server.listens[0].addr.v4);
	assert_int_equal(c->server.workers, 0);
	assert_string_equal(c->server.user, "dnsgate");
	assert_string_equal(c->server.control_socket,
	                    "/run/dnsgate/control.sock");
	assert_true(c->server.has_metrics);
	/* metrics-listen takes the Prometheus port by default. */
	assert_string_equal(c->server.metrics.text, "127.0.0.1:9153");
	assert_int_equal(c->server.udp_payload_size, 4096);
	assert_int_equal(c->server.tcp_idle_ms, 120000);
	assert_int_equal(c->server.tcp_max_clients, 10);
	assert_false(c->server.ede_text);
	assert_int_equal(c->log.target, LOGT_FILE);
	assert_string_equal(c->log.path, "/var/log/dnsgate.log");
	assert_int_equal(c->log.format, DECISION_TEXT);
	assert_int_equal(c->log.decisions, DECISIONS_NON_DEFAULT);
	u = c->upstreams[0];
	assert_int_equal(u->selection, SEL_ROUND_ROBIN);
	assert_int_equal(u->timeout_ms, 2000);
	assert_int_equal(u->attempts, 5);
	assert_int_equal(u->retry_on, RETRY_REFUSED);
	assert_int_equal(u->health_ms, 60000);
	config_unref(c);
}

static void
test_config_inline_comments_and_comment_lines(void **state)
{
	struct config *c;

	(void)state;
	/* ' ; comment' after a value, as dnsgate.conf(5) SYNTAX allows. */
	c = load_ok("; leading comment\n"
	            "# hash comment\n"
	            "\n"
	            "[server]\n"
	            "udp-payload-size = 1400          ; what we advertise\n"
	            "  ; an indented comment line\n"
	            "[upstream up]\n"
	            "server = 192.0.2.53              ; preference order\n"
	            "retry-on = servfail, timeout, refused ; all three\n"
	            "[view v]                         ; first view\n");
	assert_int_equal(c->server.udp_payload_size, 1400);
	assert_string_equal(c->upstreams[0]->servers[0].text, "192.0.2.53:53");
	assert_int_equal(c->upstreams[0]->retry_on,
	                 RETRY_SERVFAIL | RETRY_TIMEOUT | RETRY_REFUSED);
	assert_int_equal(c->nviews, 1);
	config_unref(c);
}

static void
test_config_duration_units(void **state)
{
	static const struct {
		const char *text;
		uint32_t ms;
	} cases[] = {
	    {"1500ms", 1500},
	    {"0ms", 0},
	    {"10s", 10000},
	    {"5m", 300000},
	    {"1h", 3600000},
	    {"1d", 86400000},
	    {"30", 30000}, /* bare = seconds */
	    {"0", 0},
	    {"007s", 7000},
	    {"4294967295ms", UINT32_MAX},
	    {"4294967s", 4294967000u},
	    {"71582m", 4294920000u},
	    {"1193h", 4294800000u},
	    {"49d", 4233600000u},
	};
	size_t i;
	uint32_t ms;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		ms = 12345;
		if (config_parse_duration(cases[i].text, &ms) != 0)
			print_error("'%s' rejected\n", cases[i].text);
		assert_int_equal(config_parse_duration(cases[i].text, &ms), 0);
		assert_int_equal(ms, cases[i].ms);
	}
}

static void
test_config_duration_errors(void **state)
{
	static const char *const bad[] = {
	    "",                        /* empty */
	    "s",                       /* no number */
	    "ms",                      /* no number */
	    "10x",                     /* unknown unit */
	    "10sec",                   /* unknown unit */
	    "10ms5",                   /* junk after the unit */
	    "10 s",                    /* space before the unit */
	    " 10s",                    /* leading space */
	    "1.5s",                    /* no fractions */
	    "-1s",                     /* negative */
	    "+1s",                     /* sign */
	    "4294967296ms",            /* > UINT32_MAX ms */
	    "4294968s",                /* overflow after scaling */
	    "71583m",                  /* overflow after scaling */
	    "1194h",                   /* overflow after scaling */
	    "50d",                     /* overflow after scaling */
	    "99999999999999999999999", /* strtoull overflow */
	    "18446744073709551616ms",  /* 2^64 */
	};
	size_t i;
	uint32_t ms;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		ms = 12345;
		if (config_parse_duration(bad[i], &ms) != -1)
			print_error("'%s' accepted\n", bad[i]);
		assert_int_equal(config_parse_duration(bad[i], &ms), -1);
		assert_int_equal(ms, 12345); /* untouched */
	}
}

static void
test_config_parse_size(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} cases[] = {
	    {"0", 0},
	    {"512", 512},
	    {"512KB", 512 * 1024},
	    {"64MB", 64ull * 1024 * 1024},
	    {"1GB", 1024ull * 1024 * 1024},
	    {"18446744073709551615", UINT64_MAX},
	    {"17179869183GB", 17179869183ull * 1024 * 1024 * 1024},
	};
	static const char *const bad[] = {
	    "",
	    "MB",
	    "1TB",
	    "1B",
	    "1.5MB",
	    "-1",
	    "1 MB",
	    " 1MB",
	    "17179869184GB",        /* 2^64: overflow after scaling */
	    "18446744073709551616", /* 2^64 */
	    "18014398509481984KB",  /* 2^64 */
	};
	size_t i;
	uint64_t v;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		v = 1;
		if (config_parse_size(cases[i].text, &v) != 0)
			print_error("'%s' rejected\n", cases[i].text);
		assert_int_equal(config_parse_size(cases[i].text, &v), 0);
		assert_true(v == cases[i].bytes);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		v = 1;
		if (config_parse_size(bad[i], &v) != -1)
			print_error("'%s' accepted\n", bad[i]);
		assert_int_equal(config_parse_size(bad[i], &v), -1);
		assert_true(v == 1);
	}
}

/*
 * One bad value per value type, each alone in a file whose line 2 holds
 * it: the message names FILE:LINE, the key and what was expected.
 */
static void
test_config_value_type_errors(void **state)
{
	static const struct {
		const char *section;
		const char *line;
		const char *msg;
	} cases[] = {
	    /* uint with bounds */
	    {"[server]", "workers = 65",
	     "workers: expected a number from 0 to 64"},
	    {"[server]", "workers = -1",
	     "workers: expected a number from 0 to 64"},
	    {"[server]", "workers = 2x",
	     "workers: expected a number from 0 to 64"},
	    {"[server]", "udp-payload-size = 511",
	     "udp-payload-size: expected a number from 512 to 4096"},
	    {"[server]", "udp-payload-size = 4097",
	     "udp-payload-size: expected a number from 512 to 4096"},
	    {"[upstream u]", "attempts = 0",
	     "attempts: expected a number from 1 to 20"},
	    /* duration with bounds */
	    {"[server]", "tcp-idle-timeout = 10x",
	     "tcp-idle-timeout: expected a duration from 0ms to 86400s "
	     "(number with ms, s, m, h or d)"},
	    {"[server]", "tcp-idle-timeout = 2d",
	     "tcp-idle-timeout: expected a duration from 0ms to 86400s "
	     "(number with ms, s, m, h or d)"},
	    {"[upstream u]", "timeout = 9ms",
	     "timeout: expected a duration from 10ms to 60s (number with "
	     "ms, s, m, h or d)"},
	    {"[upstream u]", "timeout = 61s",
	     "timeout: expected a duration from 10ms to 60s (number with "
	     "ms, s, m, h or d)"},
	    {"[upstream u]", "health-check = 99ms",
	     "health-check: expected a duration from 100ms to 86400s "
	     "(number with ms, s, m, h or d)"},
	    /* bool */
	    {"[server]", "ede-text = maybe", "ede-text: expected yes or no"},
	    /* enum */
	    {"[log]", "format = xml",
	     "format: 'xml' is not one of json | text"},
	    {"[log]", "decisions = some",
	     "decisions: 'some' is not one of all | non-default | none"},
	    {"[upstream u]", "selection = random",
	     "selection: 'random' is not one of ordered | round-robin | "
	     "fastest"},
	    /* string */
	    {"[server]", "user =", "user: empty value"},
	    {"[view v]", "upstream =", "upstream: empty value"},
	    /* log target */
	    {"[log]", "target = file.log",
	     "target: expected stderr, syslog or an absolute file path"},
	    /* endpoints and endpoint lists */
	    {"[server]", "listen = foo",
	     "listen: 'foo' is not an address (ip, ip:port or "
	     "[ipv6]:port)"},
	    {"[server]", "listen = 127.0.0.1:99999",
	     "listen: '127.0.0.1:99999' is not an address (ip, ip:port or "
	     "[ipv6]:port)"},
	    {"[server]", "listen =", "listen: empty value"},
	    {"[server]", "listen = 127.0.0.1:5300, , [::1]:5300",
	     "listen: empty or overlong element"},
	    {"[server]", "metrics-listen = 1.2.3",
	     "metrics-listen: '1.2.3' is not an address (ip, ip:port or "
	     "[ipv6]:port)"},
	    {"[upstream u]", "server = , 192.0.2.1",
	     "server: empty or overlong element"},
	    /* retry-on list */
	    {"[upstream u]", "retry-on = servfail, bogus",
	     "retry-on: 'bogus' is not one of servfail, timeout, refused, "
	     "none"},
	    /* address match lists */
	    {"[view v]", "match-client = 10.0.0.0/33",
	     "match-client: bad address match element at '10.0.0.0/33' "
	     "(expected [!]CIDR, [!]address, any or none)"},
	    {"[view v]", "allow = 10.0.0.0/8, bogus",
	     "allow: bad address match element at 'bogus' (expected "
	     "[!]CIDR, [!]address, any or none)"},
	    {"[view v]", "drop = !!10.0.0.1",
	     "drop: bad address match element at '!!10.0.0.1' (expected "
	     "[!]CIDR, [!]address, any or none)"},
	    /* DNS over TLS and HTTPS */
	    {"[server]", "listen-tls = foo",
	     "listen-tls: 'foo' is not an address (ip, ip:port or "
	     "[ipv6]:port)"},
	    {"[server]", "listen-https = 127.0.0.1:0",
	     "listen-https: '127.0.0.1:0' is not an address (ip, ip:port or "
	     "[ipv6]:port)"},
	    {"[server]", "listen-tls =", "listen-tls: empty value"},
	    {"[server]", "https-path = dns-query",
	     "https-path: 'dns-query' is not an absolute path without '?' "
	     "or '#'"},
	    {"[server]", "https-path = /dns-query?dns=x",
	     "https-path: '/dns-query?dns=x' is not an absolute path "
	     "without '?' or '#'"},
	    {"[server]", "https-path = /dns#q",
	     "https-path: '/dns#q' is not an absolute path without '?' or "
	     "'#'"},
	    {"[server]", "tls-min-version = 1.1",
	     "tls-min-version: expected 1.2 or 1.3"},
	    {"[server]", "tls-min-version = 1.4",
	     "tls-min-version: expected 1.2 or 1.3"},
	    {"[server]", "tls-min-version = TLSv1.3",
	     "tls-min-version: expected 1.2 or 1.3"},
	    {"[server]", "tls-handshake-timeout = 99ms",
	     "tls-handshake-timeout: expected a duration from 100ms to 60s "
	     "(number with ms, s, m, h or d)"},
	    {"[server]", "tls-handshake-timeout = 61s",
	     "tls-handshake-timeout: expected a duration from 100ms to 60s "
	     "(number with ms, s, m, h or d)"},
	    {"[server]", "tls-ticket-key-rotation = 999ms",
	     "tls-ticket-key-rotation: expected a duration from 1000ms to "
	     "604800s (number with ms, s, m, h or d)"},
	    {"[server]", "https-max-streams = 0",
	     "https-max-streams: expected a number from 1 to 10000"},
	    {"[server]", "https-max-streams = 10001",
	     "https-max-streams: expected a number from 1 to 10000"},
	    {"[server]", "tls-certificate =", "tls-certificate: empty value"},
	    {"[server]", "tls-key =", "tls-key: empty value"},
	    {"[upstream u]", "tls-ca =", "tls-ca: empty value"},
	    {"[view v]", "match-transport = quic",
	     "match-transport: 'quic' is not one of udp | tcp | tls | "
	     "https"},
	    {"[view v]", "match-transport = udp, doh",
	     "match-transport: 'doh' is not one of udp | tcp | tls | https"},
	};
	char text[512], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const char *rest = "[view ok]\n";

		/* Line 1 the section, line 2 the value, then a valid rest. */
		if (strcmp(cases[i].section, "[view v]") == 0)
			rest = "";
		else if (strcmp(cases[i].section, "[upstream u]") == 0)
			rest = "server = 192.0.2.2\n[view ok]\n";
		(void)snprintf(text, sizeof(text), "%s\n%s\n%s",
		               cases[i].section, cases[i].line, rest);
		(void)snprintf(want, sizeof(want), "t.conf:2: %s\n",
		               cases[i].msg);
		load_fails(text, want);
	}
}

/* Several errors in one file: every one reported, each with its line. */
static void
test_config_several_errors_all_reported(void **state)
{
	static const char text[] = "[server]\n"                /* 1 */
	                           "workers = 65\n"            /* 2 */
	                           "udp-payload-size = 1232\n" /* 3 */
	                           "ede-text = maybe\n"        /* 4 */
	                           "listen = foo\n"            /* 5 */
	                           "[log]\n"                   /* 6 */
	                           "format = xml\n"            /* 7 */
	                           "[upstream u]\n"            /* 8 */
	                           "server = 192.0.2.1\n"      /* 9 */
	                           "attempts = 0\n"            /* 10 */
	                           "timeout = 10x\n"           /* 11 */
	                           "[view v]\n"                /* 12 */
	                           "match-client = bogus\n"    /* 13 */
	                           "allow = any\n"             /* 14 */
	                           "bogus-key = 1\n"           /* 15 */
	                           "[cache]\n"                 /* 16 */
	                           "size = 1KB\n";             /* 17 */

	(void)state;
	load_fails(text,
	           "t.conf:2: workers: expected a number from 0 to 64\n"
	           "t.conf:4: ede-text: expected yes or no\n"
	           "t.conf:5: listen: 'foo' is not an address (ip, ip:port or "
	           "[ipv6]:port)\n"
	           "t.conf:7: format: 'xml' is not one of json | text\n"
	           "t.conf:10: attempts: expected a number from 1 to 20\n"
	           "t.conf:11: timeout: expected a duration from 10ms to 60s "
	           "(number with ms, s, m, h or d)\n"
	           "t.conf:13: match-client: bad address match element at "
	           "'bogus' (expected [!]CIDR, [!]address, any or none)\n"
	           "t.conf:15: unknown key 'bogus-key' in [view v]\n"
	           "t.conf:17: size: expected 0 (off) or a size from 64KB "
	           "to 64GB\n");
}

static void
test_config_errors_without_stream(void **state)
{
	(void)state;
	/* errs NULL: rejected all the same, nothing written anywhere. */
	assert_null(
	    config_load_string("t.conf", "[server]\nworkers = x\n", NULL));
}

static void
test_config_unknown_section_and_key(void **state)
{
	(void)state;
	/* The keys of an unknown section are not reported again. */
	load_fails("[view v]\n"
	           "[foo]\n"
	           "bar = 1\n"
	           "baz = 2\n"
	           "[server]\n"
	           "bogus = 1\n"
	           "[upstream u]\n"
	           "server = 192.0.2.1\n"
	           "nameserver = 192.0.2.2\n",
	           "t.conf:2: unknown section [foo]\n"
	           "t.conf:6: unknown key 'bogus' in [server]\n"
	           "t.conf:9: unknown key 'nameserver' in [upstream u]\n");
	/* A key of another section is unknown here. */
	load_fails("[view v]\n"
	           "workers = 2\n",
	           "t.conf:2: unknown key 'workers' in [view v]\n");
	/* A key before any section. */
	load_fails("workers = 2\n"
	           "[view v]\n",
	           "t.conf:1: 'workers' outside any section\n");
}

static void
test_config_duplicate_key_already_set(void **state)
{
	(void)state;
	load_fails("[server]\n"
	           "workers = 1\n"
	           "; comment\n"
	           "workers = 2\n"
	           "[view v]\n"
	           "upstream = a\n"
	           "upstream = a\n"
	           "[upstream a]\n"
	           "server = 192.0.2.1\n"
	           "timeout = 1s\n"
	           "timeout = 2s\n",
	           "t.conf:4: workers: already set on line 2\n"
	           "t.conf:7: upstream: already set on line 6\n"
	           "t.conf:11: timeout: already set on line 10\n");
}

static void
test_config_same_key_in_two_named_sections(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[upstream a]\n"
	            "server = 192.0.2.1\n"
	            "timeout = 1s\n"
	            "[upstream b]\n"
	            "server = 192.0.2.2\n"
	            "timeout = 2s\n"
	            "[view v]\n"
	            "upstream = b\n");
	assert_int_equal(c->upstreams[0]->timeout_ms, 1000);
	assert_int_equal(c->upstreams[1]->timeout_ms, 2000);
	config_unref(c);
}

static void
test_config_listen_replaces_default_and_repeats(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[server]\n"
	            "listen = 127.0.0.1:5300\n"
	            "listen = [::1]:5300, 192.0.2.1\n"
	            "[view v]\n"
	            "allow = any\n"); /* open on purpose: no warning */
	/* The default 127.0.0.1:53 is gone; the lines append in order. */
	assert_int_equal(c->server.nlistens, 3);
	assert_string_equal(c->server.listens[0].text, "127.0.0.1:5300");
	assert_string_equal(c->server.listens[1].text, "[::1]:5300");
	assert_string_equal(c->server.listens[2].text, "192.0.2.1:53");
	config_unref(c);
}

/*
 * A view with no ACL line taking every client, on a listen address
 * outside loopback: loaded, with one warning per such address.
 */
static void
test_config_open_view_warns(void **state)
{
	static const char text[] = "[server]\n"                  /* 1 */
	                           "listen = 127.0.0.1:5300\n"   /* 2 */
	                           "listen = 0.0.0.0:5300\n"     /* 3 */
	                           "listen = [2001:db8::1]\n"    /* 4 */
	                           "[view lan]\n"                /* 5 */
	                           "match-client = 10.0.0.0/8\n" /* 6 */
	                           "[view world]\n"              /* 7 */
	                           "match-client = !10.66.0.0/16, any\n";
	char *errs;
	struct config *c = load(text, &errs);

	(void)state;
	assert_non_null(c);
	assert_string_equal(
	    errs, "t.conf:7: warning: [view world] answers anyone who reaches "
	          "listen 0.0.0.0:5300: it has no allow, refuse or drop line "
	          "and its match-client takes every address (add ACL lines; "
	          "allow = any if that is meant)\n"
	          "t.conf:7: warning: [view world] answers anyone who reaches "
	          "listen [2001:db8::1]:53: it has no allow, refuse or drop "
	          "line and its match-client takes every address (add ACL "
	          "lines; allow = any if that is meant)\n");
	free(errs);
	config_unref(c);
	/* An ACL line, or loopback listens only: nothing to say. */
	config_unref(load_ok("[server]\nlisten = 0.0.0.0:5300\n"
	                     "[view world]\ndrop = 192.0.2.0/24\n"));
	config_unref(load_ok("[server]\nlisten = 127.0.0.2:5300, [::1]:5300\n"
	                     "[view world]\n"));
}

static void
test_config_server_appends(void **state)
{
	struct config *c;
	struct upstream_conf *u;

	(void)state;
	c = load_ok("[upstream u]\n"
	            "server = 192.0.2.1\n"
	            "server = 192.0.2.2:5353, [2001:db8::1]:53\n"
	            "server = 2001:db8::2\n"
	            "[view v]\n");
	u = c->upstreams[0];
	assert_int_equal(u->nservers, 4);
	assert_string_equal(u->servers[0].text, "192.0.2.1:53");
	assert_string_equal(u->servers[1].text, "192.0.2.2:5353");
	assert_string_equal(u->servers[2].text, "[2001:db8::1]:53");
	assert_string_equal(u->servers[3].text, "[2001:db8::2]:53");
	assert_int_equal(u->servers[1].port, 5353);
	config_unref(c);
}

/* This host's interface addresses, as getifaddrs() lists them. */
static size_t
host_addresses(struct ip_addr *out, size_t cap)
{
	struct ifaddrs *ifs;
	size_t n = 0;

	assert_int_equal(getifaddrs(&ifs), 0);
	for (struct ifaddrs *i = ifs; i != NULL && n < cap; i = i->ifa_next)
		if (i->ifa_addr != NULL &&
		    ip_addr_from_sockaddr(i->ifa_addr, &out[n], NULL) == 0)
			n++;
	freeifaddrs(ifs);
	return n;
}

/* Some address of the host's (own, n) that is IPv4 (v4) or IPv6, and
 * neither loopback nor IPv6 link-local, as text; "" when there is none. */
static void
own_address(const struct ip_addr *own, size_t n, bool v4, char *out, size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < n && out[0] == '\0'; i++)
		if (own[i].v4 == v4 && !ip_addr_is_loopback(&own[i]) &&
		    !(own[i].b[0] == 0xfe && (own[i].b[1] & 0xc0) == 0x80))
			ip_addr_format(&own[i], out, cap);
}

/* The first of the documentation addresses that is not one of the host's
 * (a test machine may well be given one of them). */
static const char *
foreign_address(const struct ip_addr *own, size_t n,
                const char *const *candidates)
{
	for (; *candidates != NULL; candidates++) {
		struct ip_addr want;
		bool ours = false;

		assert_int_equal(ip_addr_parse(*candidates, &want), 0);
		for (size_t i = 0; i < n; i++)
			ours = ours || ip_addr_equal(&own[i], &want);
		if (!ours)
			return *candidates;
	}
	fail_msg("every candidate address is this host's");
	return NULL;
}

/* A server on this host: loopback, or an address of one of our
 * interfaces (yield-to-local-upstream). */
static void
test_config_upstream_on_host(void **state)
{
	static const char *const v4[] = {"192.0.2.1", "198.51.100.1",
	                                 "203.0.113.1", NULL};
	static const char *const v6[] = {"2001:db8::1", "2001:db8::53", NULL};
	char text[1024], own4[IP_ADDR_TEXT_MAX], own6[IP_ADDR_TEXT_MAX];
	struct ip_addr own[256];
	size_t nown, n;
	struct config *c;
	struct upstream_conf *u;

	(void)state;
	nown = host_addresses(own, sizeof(own) / sizeof(own[0]));
	own_address(own, nown, true, own4, sizeof(own4));
	own_address(own, nown, false, own6, sizeof(own6));
	snprintf(text, sizeof(text),
	         "[server]\n"
	         "yield-to-local-upstream = no\n"
	         "[upstream u]\n"
	         "server = 127.0.0.1:5300, [::1]:53, 127.0.9.9\n"
	         "server = %s, [%s]:53\n"
	         "%s%s\n"
	         "%s%s%s\n"
	         "[view v]\n",
	         foreign_address(own, nown, v4), foreign_address(own, nown, v6),
	         own4[0] != '\0' ? "server = " : "", own4,
	         own6[0] != '\0' ? "server = [" : "", own6,
	         own6[0] != '\0' ? "]:53" : "");
	c = load_ok(text);
	assert_int_equal(c->server.yield_local, YIELD_NO);
	u = c->upstreams[0];
	n = 5 + (own4[0] != '\0') + (own6[0] != '\0');
	assert_int_equal(u->nservers, n);
	assert_true(u->servers[0].on_host);
	assert_true(u->servers[1].on_host);
	assert_true(u->servers[2].on_host);
	assert_false(u->servers[3].on_host);
	assert_false(u->servers[4].on_host);
	for (size_t i = 5; i < n; i++)
		assert_true(u->servers[i].on_host);
	config_unref(c);
}

static void
test_config_server_limit_per_upstream(void **state)
{
	char text[2048];
	size_t i, len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "[upstream u]\n");
	for (i = 0; i < UPSTREAM_MAX_SERVERS + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "server = 192.0.2.%zu\n", i + 1);
	(void)snprintf(text + len, sizeof(text) - len, "[view v]\n");
	/* Line 1 is the header; server 33 is on line 34. */
	load_fails(text,
	           "t.conf:34: server: at most 32 servers per upstream\n");
}

/*
 * retry-on is a repeatable list (dnsgate.conf(5), [upstream NAME]): the
 * first line replaces the default and later lines add to it, as the
 * one-line form "servfail, refused" would.  Fails if the key loses
 * OPT_REPEAT ("retry-on: already set on line 3") or if parse_retry_on
 * clears the bits of earlier lines.
 */
static void
test_config_retry_on_repeated_keys_append(void **state)
{
	static const char text[] = "[upstream u]\n"
	                           "server = 192.0.2.1\n"
	                           "retry-on = servfail\n"
	                           "retry-on = refused\n"
	                           "[view v]\n";
	struct config *c;

	(void)state;
	c = load_ok(text);
	assert_int_equal(c->upstreams[0]->retry_on,
	                 RETRY_SERVFAIL | RETRY_REFUSED);
	config_unref(c);
}

static void
test_config_retry_on_none_and_all(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[upstream a]\n"
	            "server = 192.0.2.1\n"
	            "retry-on = none\n"
	            "[upstream b]\n"
	            "server = 192.0.2.2\n"
	            "retry-on = SERVFAIL,timeout , refused\n"
	            "[view v]\n"
	            "upstream = a\n");
	assert_int_equal(c->upstreams[0]->retry_on, 0);
	assert_int_equal(c->upstreams[1]->retry_on,
	                 RETRY_SERVFAIL | RETRY_TIMEOUT | RETRY_REFUSED);
	config_unref(c);
}

static void
test_config_match_client_repeats(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[view v]\n"
	            "match-client = !10.66.0.0/16, 10.0.0.0/8\n"
	            "match-client = 192.168.0.0/16\n");
	assert_true(c->views[0]->has_match_client);
	assert_int_equal(c->views[0]->match_client.n, 3);
	assert_true(c->views[0]->match_client.elems[0].negated);
	config_unref(c);
}

static void
test_config_named_section_errors(void **state)
{
	(void)state;
	load_fails("[view]\n"
	           "[view a b]\n"
	           "[upstream]\n"
	           "[view a/b]\n"
	           "[server x]\n"
	           "[view ok]\n",
	           "t.conf:1: [view] needs a name: [view NAME] (letters, "
	           "digits, '-', '_', '.')\n"
	           "t.conf:2: [view a b]: one name only\n"
	           "t.conf:3: [upstream] needs a name: [upstream NAME] "
	           "(letters, digits, '-', '_', '.')\n"
	           "t.conf:4: [view] needs a name: [view NAME] (letters, "
	           "digits, '-', '_', '.')\n"
	           "t.conf:5: [server] takes no name\n");
}

static void
test_config_sections_twice(void **state)
{
	(void)state;
	load_fails("[server]\n"
	           "[view v]\n"
	           "[upstream u]\n"
	           "server = 192.0.2.1\n"
	           "[server]\n"
	           "[view v]\n"
	           "[upstream u]\n"
	           "server = 192.0.2.2\n",
	           "t.conf:5: [server] appears twice\n"
	           "t.conf:6: [view v] defined twice\n"
	           "t.conf:7: [upstream u] defined twice\n"
	           "t.conf:2: [view v]: needs 'upstream = NAME' (there are 2 "
	           "upstreams)\n"
	           "t.conf:6: [view v]: needs 'upstream = NAME' (there are 2 "
	           "upstreams)\n");
}

static void
test_config_syntax_errors_each_reported(void **state)
{
	char *errs;
	struct config *c;

	(void)state;
	load_fails("[server]\n"
	           "this is junk\n"
	           "workers = 2\n"
	           "more junk\n"
	           "[view v]\n"
	           "  still junk\n",
	           "t.conf:2: syntax error (expected [section] or key = "
	           "value)\n"
	           "t.conf:4: syntax error (expected [section] or key = "
	           "value)\n"
	           "t.conf:6: syntax error (expected [section] or key = "
	           "value)\n");
	/* A header without its ']' is an error on its line, and the keys
	 * after it don't land in the previous section. */
	c = load("[view v]\n"
	         "[server\n"
	         "local-data = x. A 192.0.2.1\n",
	         &errs);
	assert_null(c);
	assert_string_equal(errs, "t.conf:2: section header without ']'\n");
	free(errs);
}

static void
test_config_overlong_line(void **state)
{
	char text[1024], *errs;
	struct config *c;

	(void)state;
	memset(text, 0, sizeof(text));
	(void)strcpy(text, "[view v]\nlocal-data = x.example. TXT \"");
	memset(text + strlen(text), 'a', 600);
	(void)strcat(text, "\"\n");
	c = load(text, &errs);
	assert_null(c);
	assert_non_null(strstr(errs, "t.conf:2: line longer than "));
	/* One message only. */
	assert_ptr_equal(strchr(errs, '\n'), errs + strlen(errs) - 1);
	free(errs);
}

/* Documented keys not built yet ([cache]) are rejected with a clear
 * message (dnsgate.conf(5), [cache]). */
/* stale-answer-client-timeout: a duration up to 30 s (RFC 8767 5
 * suggests 1.8 s); 0 is off. */
static void
test_config_cache_client_timeout(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[cache]\nstale-answer-client-timeout = 1800ms\n"
	            "[view v]\nupstream = none\n");
	assert_int_equal(c->cache.client_timeout_ms, 1800);
	config_unref(c);
	load_fails("[cache]\nstale-answer-client-timeout = 31s\n[view v]\n",
	           "t.conf:2: stale-answer-client-timeout: expected a duration "
	           "from 0ms to 30s (number with ms, s, m, h or d)\n");
}

/* [cache]: the defaults (off), and each key in its unit. */
static void
test_config_cache_keys(void **state)
{
	struct config *c = load_ok("[view v]\nupstream = none\n");

	(void)state;
	assert_int_equal(c->cache.size, 0);
	assert_int_equal(c->cache.min_ttl, 0);
	assert_int_equal(c->cache.max_ttl, 86400);
	assert_false(c->cache.serve_stale);
	assert_int_equal(c->cache.stale_ttl, 30);
	assert_int_equal(c->cache.max_stale, 86400);
	assert_false(c->cache.prefetch);
	assert_int_equal(c->cache.servfail_ttl, 5);
	config_unref(c);
	c = load_ok("[cache]\nsize = 64MB\nmin-ttl = 10s\nmax-ttl = 1h\n"
	            "serve-stale = yes\nstale-ttl = 1m\nmax-stale = 2h\n"
	            "servfail-ttl = 2s\n[view v]\nupstream = none\n");
	assert_int_equal(c->cache.size, 64ull << 20);
	assert_int_equal(c->cache.min_ttl, 10);
	assert_int_equal(c->cache.max_ttl, 3600);
	assert_true(c->cache.serve_stale);
	assert_int_equal(c->cache.stale_ttl, 60);
	assert_int_equal(c->cache.max_stale, 7200);
	assert_int_equal(c->cache.servfail_ttl, 2);
	config_unref(c);
	load_fails(
	    "[cache]\nmax-ttl = 1m\nmin-ttl = 2m\n[view v]\n"
	    "upstream = none\n",
	    "t.conf:1: [cache]: min-ttl (120s) is above max-ttl (60s)\n");
	load_fails("[cache]\nservfail-ttl = 6s\n[view v]\n",
	           "t.conf:2: servfail-ttl: expected whole seconds from 0s "
	           "to 5s\n");
}

static void
test_config_view_upstream_resolution(void **state)
{
	struct config *c;

	(void)state;
	/* One upstream: every view without 'upstream' uses it. */
	c = load_ok("[upstream only]\n"
	            "server = 192.0.2.1\n"
	            "[view a]\n"
	            "[view b]\n");
	assert_ptr_equal(c->views[0]->upstream, c->upstreams[0]);
	assert_ptr_equal(c->views[1]->upstream, c->upstreams[0]);
	config_unref(c);

	/* Several: each view names its own (before or after the view). */
	c = load_ok("[upstream a]\n"
	            "server = 192.0.2.1\n"
	            "[view va]\n"
	            "upstream = a\n"
	            "[view vb]\n"
	            "upstream = b\n"
	            "[upstream b]\n"
	            "server = 192.0.2.2\n");
	assert_ptr_equal(c->views[0]->upstream, c->upstreams[0]);
	assert_ptr_equal(c->views[1]->upstream, c->upstreams[1]);
	assert_string_equal(c->views[1]->upstream_name, "b");
	config_unref(c);

	/* Undefined name: reported at the view's header line. */
	load_fails("[upstream a]\n"
	           "server = 192.0.2.1\n"
	           "[view v]\n"
	           "upstream = b\n",
	           "t.conf:3: [view v]: upstream 'b' is not defined\n");

	/* Several upstreams and a view that names none. */
	load_fails("[upstream a]\n"
	           "server = 192.0.2.1\n"
	           "[upstream b]\n"
	           "server = 192.0.2.2\n"
	           "[view ok]\n"
	           "upstream = a\n"
	           "[view v]\n",
	           "t.conf:7: [view v]: needs 'upstream = NAME' (there are 2 "
	           "upstreams)\n");

	/* No upstream at all: a view serving local data only. */
	c = load_ok("[view v]\n");
	assert_null(c->views[0]->upstream);
	config_unref(c);
}

static void
test_config_upstream_needs_server(void **state)
{
	(void)state;
	load_fails("[upstream u]\n"
	           "timeout = 1s\n"
	           "[view v]\n",
	           "t.conf:1: [upstream u] has no server (add server = "
	           "IP[:PORT] or resolv-conf = FILE)\n");
}

static void
test_config_no_view(void **state)
{
	(void)state;
	/* A whole-file error, reported at the last line. */
	load_fails("[server]\n"
	           "workers = 1\n",
	           "t.conf:2: no [view NAME] section: every query would be "
	           "refused\n");
}

/* Write text to a new temporary file; path receives its name. */
static void
temp_file(char *path, size_t cap, const char *text)
{
	FILE *f;
	int fd;

	(void)snprintf(path, cap, "/tmp/dnsgate-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_config_resolv_conf_skips_own_listen(void **state)
{
	char path[64], text[512];
	struct config *c;
	struct upstream_conf *u;

	(void)state;
	temp_file(path, sizeof(path),
	          "# generated by a test\n"
	          "search example.com\n"
	          "nameserver 192.0.2.1\n"
	          "nameserver 127.0.0.53\n" /* our listen address:53 */
	          ";nameserver 192.0.2.99\n"
	          "#nameserver 192.0.2.98\n"
	          "  nameserver 2001:db8::53\n"
	          "nameserver ::1\n" /* :53, we listen on ::1:5300 */
	          "options edns0 trust-ad\n"
	          "nameserver not-an-address\n");
	(void)snprintf(text, sizeof(text),
	               "[server]\n"
	               "listen = 127.0.0.53:53, [::1]:5300\n"
	               "[upstream sys]\n"
	               "server = 192.0.2.200\n"
	               "resolv-conf = %s\n"
	               "[view v]\n",
	               path);
	c = load_ok(text);
	u = c->upstreams[0];
	assert_string_equal(u->resolv_conf, path);
	/* Explicit servers first, then the file's, in file order. */
	assert_int_equal(u->nservers, 4);
	assert_string_equal(u->servers[0].text, "192.0.2.200:53");
	assert_string_equal(u->servers[1].text, "192.0.2.1:53");
	assert_string_equal(u->servers[2].text, "[2001:db8::53]:53");
	assert_string_equal(u->servers[3].text, "[::1]:53");
	config_unref(c);
	assert_int_equal(unlink(path), 0);
}

static int
failing_getifaddrs(struct ifaddrs **ifs)
{
	*ifs = NULL;
	errno = EAFNOSUPPORT; /* AF_NETLINK refused, as by a sandbox */
	return -1;
}

/*
 * When this host's addresses cannot be read, a resolv.conf nameserver a
 * wildcard listen on port 53 would take may be dnsgate itself: refused,
 * never a silent loop. Loopback, other ports and specific listen
 * addresses are still decided without them.
 */
static void
test_config_resolv_conf_refused_when_addresses_unknown(void **state)
{
	char path[64], text[512], want[512];
	struct config *c;

	(void)state;
	temp_file(path, sizeof(path),
	          "nameserver 192.0.2.1\n"
	          "nameserver 127.0.0.1\n");
	config_getifaddrs = failing_getifaddrs;
	(void)snprintf(text, sizeof(text),
	               "[server]\n"
	               "listen = 0.0.0.0:53\n"
	               "[upstream sys]\n"
	               "resolv-conf = %s\n"
	               "[view v]\n"
	               "allow = any\n",
	               path);
	(void)snprintf(want, sizeof(want),
	               "t.conf:3: [upstream sys]: nameserver 192.0.2.1 in %s "
	               "may be this host, which a wildcard listen would take, "
	               "but this host's addresses cannot be read (getifaddrs: "
	               "Address family not supported by protocol; under "
	               "systemd, RestrictAddressFamilies= needs AF_NETLINK): "
	               "name the servers with server = instead\n",
	               path);
	load_fails(text, want);
	/* Listening on loopback only, nothing is in doubt. */
	(void)snprintf(text, sizeof(text),
	               "[server]\n"
	               "listen = 127.0.0.1:53\n"
	               "[upstream sys]\n"
	               "resolv-conf = %s\n"
	               "[view v]\n",
	               path);
	c = load_ok(text);
	assert_int_equal(c->upstreams[0]->nservers, 1);
	assert_string_equal(c->upstreams[0]->servers[0].text, "192.0.2.1:53");
	config_unref(c);
	config_getifaddrs = getifaddrs;
	assert_int_equal(unlink(path), 0);
}

/*
 * A server dnsgate itself listens on: every query would come back and be
 * forwarded again. Rejected at the server's line, as the same addresses
 * are left out of a resolv-conf file: a listen address itself, or behind
 * a wildcard listen address of its family any address of this host (all
 * of 127.0.0.0/8), same port. A 127/8 alias of a specific listen address
 * is another socket, and another family is another socket too.
 */
static void
test_config_server_on_own_listen_rejected(void **state)
{
	(void)state;
	load_fails("[server]\n"
	           "listen = 127.0.0.1:5300\n"
	           "[upstream u]\n"
	           "server = 192.0.2.1\n"
	           "server = 127.0.0.1:5300\n"
	           "[view v]\n",
	           "t.conf:5: [upstream u]: server 127.0.0.1:5300 is one of "
	           "dnsgate's own listen addresses: queries would be "
	           "forwarded to dnsgate itself, in a loop\n");
	/* The default listen address (127.0.0.1:53) and port. */
	load_fails("[upstream u]\n"
	           "server = 127.0.0.1\n"
	           "[view v]\n",
	           "t.conf:2: [upstream u]: server 127.0.0.1:53 is one of "
	           "dnsgate's own listen addresses: queries would be "
	           "forwarded to dnsgate itself, in a loop\n");
	/* Behind a wildcard: a 127/8 alias, and ::1 behind [::]. */
	load_fails("[server]\n"
	           "listen = 0.0.0.0:53\n"
	           "listen = [::]:5353\n"
	           "[upstream u]\n"
	           "server = 127.0.0.2, [::1]:5353\n"
	           "[view v]\n"
	           "allow = any\n",
	           "t.conf:5: [upstream u]: server 127.0.0.2:53 is an address "
	           "of this host, which listen = 0.0.0.0:53 (line 2) takes: "
	           "queries would be forwarded to dnsgate itself, in a "
	           "loop\n"
	           "t.conf:5: [upstream u]: server [::1]:5353 is an address "
	           "of this host, which listen = [::]:5353 (line 3) takes: "
	           "queries would be forwarded to dnsgate itself, in a "
	           "loop\n");
	/* Other sockets: another port, another 127/8 address behind a
	 * specific listen address, another family, not this host. */
	config_unref(load_ok("[server]\n"
	                     "listen = 127.0.0.1:5300, [::]:53\n"
	                     "[upstream u]\n"
	                     "server = 127.0.0.1:5301\n"
	                     "server = 127.0.0.2:5300\n"
	                     "server = 127.0.0.1:53\n"
	                     "server = 192.0.2.1:5300\n"
	                     "[view v]\n"
	                     "allow = any\n"));
}

static void
test_config_resolv_conf_errors(void **state)
{
	char path[64], text[512], want[256], *errs;
	struct config *c;

	(void)state;
	load_fails("[upstream sys]\n"
	           "resolv-conf = /nonexistent/resolv.conf\n"
	           "[view v]\n",
	           "t.conf:1: [upstream sys]: cannot read "
	           "/nonexistent/resolv.conf: No such file or directory\n");

	/* Only our own address: a warning at the upstream's line. */
	temp_file(path, sizeof(path), "nameserver 127.0.0.1\n");
	(void)snprintf(text, sizeof(text),
	               "[view v]\n"
	               "[upstream sys]\n"
	               "resolv-conf = %s\n",
	               path);
	c = load(text, &errs);
	(void)snprintf(want, sizeof(want),
	               "t.conf:2: warning: [upstream sys]: no usable "
	               "nameserver in %s\n",
	               path);
	assert_string_equal(errs, want);
	free(errs);
	assert_non_null(c);
	assert_int_equal(c->upstreams[0]->nservers, 0);
	config_unref(c);
	assert_int_equal(unlink(path), 0);
}

static void
test_config_acl_rule_lines_in_order(void **state)
{
	struct config *c;
	const struct view_conf *v;
	struct ip_addr a;
	struct acl_verdict verdict;

	(void)state;
	c = load_ok("[view corp]\n"                     /* 1 */
	            "match-client = 10.0.0.0/8\n"       /* 2 */
	            "allow = 10.1.0.0/16\n"             /* 3 */
	            "drop = 10.2.0.0/16, 10.3.0.0/16\n" /* 4 */
	            "; a comment\n"                     /* 5 */
	            "refuse = any\n"                    /* 6 */
	            "allow = 10.4.0.0/16\n"             /* 7 */
	            "[view other]\n"                    /* 8 */
	            "allow = !192.0.2.1, any\n");       /* 9 */
	v = c->views[0];
	assert_int_equal(v->nrules, 4);
	assert_int_equal(v->rules[0].action, ACL_ACTION_ALLOW);
	assert_int_equal(v->rules[0].line, 3);
	assert_int_equal(v->rules[0].match.n, 1);
	assert_int_equal(v->rules[1].action, ACL_ACTION_DROP);
	assert_int_equal(v->rules[1].line, 4);
	assert_int_equal(v->rules[1].match.n, 2);
	assert_int_equal(v->rules[2].action, ACL_ACTION_REFUSE);
	assert_int_equal(v->rules[2].line, 6);
	assert_int_equal(v->rules[3].action, ACL_ACTION_ALLOW);
	assert_int_equal(v->rules[3].line, 7);
	/* 'refuse = any' on line 6 shadows line 7. */
	assert_int_equal(ip_addr_parse("10.4.0.1", &a), 0);
	verdict = acl_rules_check(v->rules, v->nrules, &a);
	assert_int_equal(verdict.action, ACL_ACTION_REFUSE);
	assert_int_equal(verdict.rule, 3);
	/* Rules belong to their own view. */
	assert_int_equal(c->views[1]->nrules, 1);
	assert_int_equal(c->views[1]->rules[0].line, 9);
	assert_int_equal(c->views[1]->rules[0].match.n, 2);
	config_unref(c);
}

static void
test_config_local_data_errors_have_file_line(void **state)
{
	(void)state;
	load_fails("[view v]\n"
	           "local-zone = corp.example static\n"
	           "local-data = www.corp.example. IN A 1.2.3\n"
	           "local-zone = corp deny\n"
	           "local-zone = CORP.example. refuse\n"
	           "local-data = ok.corp.example. A 10.0.0.1\n",
	           "t.conf:3: local-data: bad IPv4 address '1.2.3' in A RDATA\n"
	           "t.conf:4: local-zone: unknown local-zone type 'deny' "
	           "(static, transparent, refuse, drop, nxdomain or nodata)\n"
	           "t.conf:5: local-zone: duplicate local-zone "
	           "'corp.example.'\n");
}

/* Names in UTF-8 in local-zone and local-data owners: A-labels. */
static void
test_config_local_data_idn(void **state)
{
	struct config *c;
	const struct local_zone *z = NULL;
	uint8_t name[DNS_NAME_MAX];

	(void)state;
	c = load_ok("[view v]\n"
	            "local-zone = \xc3\x9cnicode.example static\n"
	            "local-data = www.\xc3\xbcnicode.example. 300 IN TXT "
	            "\"\xc3\xbc\"\n");
	assert_int_not_equal(
	    dns_name_from_text("www.xn--nicode-2ya.example.", NULL, name), 0);
	assert_int_equal(
	    local_lookup(&c->views[0]->local, name, DNS_TYPE_TXT, &z),
	    LOCAL_ANSWER);
	assert_non_null(z);
	assert_int_equal(z->type, LZ_STATIC);
	/* The TXT string stays as written: UTF-8, one length byte + 2. */
	assert_int_equal(c->views[0]->local.rrs[0].rdlength, 3);
	config_unref(c);
	load_fails("[view v]\n"
	           "local-zone = \xe2\x9d\xa4.example static\n"
	           "local-data = a\xff.example. A 10.0.0.1\n",
	           "t.conf:2: local-zone: bad internationalised name "
	           "'\xe2\x9d\xa4.example': string contains a disallowed "
	           "character\n"
	           "t.conf:3: local-data: bad internationalised name "
	           "'a\xff.example.': string encoding error\n");
}

/*
 * What a load of the list at path (12 bad lines among 32, see
 * test_config_lists_strict) says, without strict or with it.
 */
static void
lists_messages(char *want, size_t cap, const char *path, bool strict)
{
	size_t len = 0;
	int shown = 0;

	for (int i = 1; i <= 32 && shown < 10; i++) {
		if (i % 8 >= 3)
			continue;
		len += (size_t)snprintf(want + len, cap - len,
		                        "t.conf:2: %sblocklist: %s:%d: bad "
		                        "domain name 'bad!%d.example'\n",
		                        strict ? "" : "warning: ", path, i, i);
		shown++;
	}
	if (strict)
		(void)snprintf(
		    want + len, cap - len,
		    "t.conf:2: blocklist: %s: and 2 more bad entries\n"
		    "t.conf:2: blocklist: %s: rejected for its bad "
		    "entries ([lists] strict = yes; with no, they are "
		    "skipped)\n",
		    path, path);
	else
		(void)snprintf(
		    want + len, cap - len,
		    "t.conf:2: warning: blocklist: %s: 12 bad entries "
		    "skipped (10 shown), 20 entries loaded\n",
		    path);
}

/*
 * A list with 12 bad lines among 32: [lists] strict = no (the default)
 * loads it, with the first 10 as warnings naming FILE:LINE, and a count;
 * strict = yes rejects it, each shown one an error, the rest counted.
 */
static void
test_config_lists_strict(void **state)
{
	char path[64], text[256], want[4096], list[1024];
	const struct blockset_list *bl;
	struct config *c;
	size_t len = 0;
	char *errs;

	(void)state;
	for (int i = 1; i <= 32; i++)
		len += (size_t)snprintf(
		    list + len, sizeof(list) - len,
		    i % 8 < 3 ? "bad!%d.example\n" : "good%d.example\n", i);
	temp_file(path, sizeof(path), list);
	(void)snprintf(text, sizeof(text), "[view v]\nblocklist = %s\n", path);
	c = load(text, &errs);
	assert_non_null(c);
	lists_messages(want, sizeof(want), path, false);
	assert_string_equal(errs, want);
	assert_int_equal(blockset_list_count(c->views[0]->blocks), 1);
	bl = blockset_list_get(c->views[0]->blocks, 0);
	assert_int_equal(bl->info.bad, 12);
	assert_int_equal(bl->info.entries, 20);
	free(errs);
	config_unref(c);

	/* [lists] after the view it concerns: the whole file counts. */
	(void)snprintf(text, sizeof(text),
	               "[view v]\nblocklist = %s\n[lists]\nstrict = yes\n",
	               path);
	lists_messages(want, sizeof(want), path, true);
	load_fails(text, want);
	assert_int_equal(unlink(path), 0);

	load_fails("[lists]\nstrict = maybe\nrefresh-everything = yes\n",
	           "t.conf:2: strict: expected yes or no\n"
	           "t.conf:3: unknown key 'refresh-everything' in [lists]\n"
	           "t.conf:3: no [view NAME] section: every query would be "
	           "refused\n");
}

static void
test_config_local_data_reaches_the_view(void **state)
{
	struct config *c;
	const struct local_zone *z = NULL;
	uint8_t name[DNS_NAME_MAX];

	(void)state;
	c = load_ok("[view v]\n"
	            "local-zone = corp.example static\n"
	            "local-data = www.corp.example. 300 IN A 10.1.2.3\n");
	assert_int_not_equal(
	    dns_name_from_text("www.corp.example.", NULL, name), 0);
	assert_int_equal(
	    local_lookup(&c->views[0]->local, name, DNS_TYPE_A, &z),
	    LOCAL_ANSWER);
	assert_non_null(z);
	assert_int_equal(z->type, LZ_STATIC);
	assert_int_not_equal(
	    dns_name_from_text("nope.corp.example.", NULL, name), 0);
	assert_int_equal(
	    local_lookup(&c->views[0]->local, name, DNS_TYPE_A, &z),
	    LOCAL_NXDOMAIN);
	config_unref(c);
}

/* The group of the forward-zone the view gives qname ("" for none). */
static const char *
routed(const struct view_conf *v, const char *qname)
{
	uint8_t name[DNS_NAME_MAX];
	const struct forward_zone *z;
	const struct upstream_conf *u;

	assert_int_not_equal(dns_name_from_text(qname, NULL, name), 0);
	u = view_route(v, name, &z);
	return u != NULL ? u->name : "";
}

static void
test_config_forward_zones_resolve(void **state)
{
	struct config *c;
	const struct view_conf *v;

	(void)state;
	c = load_ok("[upstream inet]\n"
	            "server = 192.0.2.1\n"
	            "[view corp]\n"
	            "upstream = inet\n"
	            "forward-zone = corp.example dc\n"
	            "forward-zone = \"10.in-addr.arpa.\" dc\n"
	            "forward-zone = lab.corp.example lab\n"
	            "[view guest]\n"
	            "upstream = none\n"
	            "forward-zone = guest.example inet\n"
	            "[upstream dc]\n"
	            "server = 192.0.2.10, 192.0.2.11\n"
	            "[upstream lab]\n"
	            "server = 192.0.2.20\n");
	v = c->views[0];
	assert_int_equal(v->forward.n, 3);
	assert_ptr_equal(v->upstream, c->upstreams[0]);
	assert_ptr_equal(v->forward.zones[0].group, c->upstreams[1]);
	assert_ptr_equal(v->forward.zones[2].group, c->upstreams[2]);
	assert_int_equal(v->forward.zones[1].line, 6);
	assert_string_equal(v->forward.zones[1].text, "10.in-addr.arpa");
	assert_string_equal(routed(v, "www.corp.example."), "dc");
	assert_string_equal(routed(v, "a.lab.corp.example."), "lab");
	assert_string_equal(routed(v, "1.2.3.10.in-addr.arpa."), "dc");
	assert_string_equal(routed(v, "xcorp.example."), "inet");
	assert_true(view_forwards(v));
	/* upstream = none: only the forward-zone's names are forwarded. */
	v = c->views[1];
	assert_null(v->upstream);
	assert_true(view_forwards(v));
	assert_string_equal(routed(v, "www.guest.example."), "inet");
	assert_string_equal(routed(v, "www.example.org."), "");
	config_unref(c);

	/* The root: the view's default; no upstream needed, even with two
	 * groups to choose from. */
	c = load_ok("[upstream inet]\n"
	            "server = 192.0.2.1\n"
	            "[upstream dc]\n"
	            "server = 192.0.2.10\n"
	            "[view v]\n"
	            "forward-zone = . inet\n"
	            "forward-zone = corp.example dc\n");
	v = c->views[0];
	assert_null(v->upstream);
	assert_string_equal(routed(v, "www.example.org."), "inet");
	assert_string_equal(routed(v, "corp.example."), "dc");
	config_unref(c);
	/* With only one group too: the root zone, not the implicit default,
	 * routes the rest (and names itself in the decision). */
	c = load_ok("[upstream inet]\n"
	            "server = 192.0.2.1\n"
	            "[view v]\n"
	            "forward-zone = . inet\n");
	assert_null(c->views[0]->upstream);
	assert_string_equal(routed(c->views[0], "a.example."), "inet");
	config_unref(c);
}

static void
test_config_forward_zone_errors(void **state)
{
	(void)state;
	load_fails("[upstream inet]\n"
	           "server = 192.0.2.1\n"
	           "[upstream dc]\n"
	           "server = 192.0.2.10\n"
	           "[view v]\n"
	           "upstream = inet\n"
	           "forward-zone = corp.example dc\n"
	           "forward-zone = Corp.Example. inet\n"
	           "forward-zone = other.example nosuch\n"
	           "forward-zone = *.wild.example dc\n"
	           "forward-zone = a..b dc\n"
	           "forward-zone = corp.example\n"
	           "forward-zone = x.example none\n"
	           "forward-zone = . dc\n",
	           "t.conf:8: forward-zone: corp.example is already forwarded "
	           "to [upstream dc] on line 7\n"
	           "t.conf:10: forward-zone: '*.wild.example': write the "
	           "suffix without '*.' (a suffix covers every name under "
	           "it)\n"
	           "t.conf:11: forward-zone: bad suffix 'a..b' (empty label, "
	           "label over 63 or name over 255 bytes)\n"
	           "t.conf:12: forward-zone: expected 'SUFFIX GROUP' (a domain "
	           "and an [upstream NAME]), got 'corp.example'\n"
	           "t.conf:9: [view v]: forward-zone other.example: upstream "
	           "'nosuch' is not defined\n"
	           "t.conf:13: [view v]: forward-zone x.example: 'none' is no "
	           "[upstream] group (local-zone = x.example refuse keeps "
	           "names from being forwarded)\n"
	           "t.conf:14: [view v]: forward-zone . and upstream = inet "
	           "both say where names outside the other forward-zones go: "
	           "keep one\n");
	/* Each view has its own: the same suffix in two views is fine, and
	 * a key outside [view] is not one. */
	load_fails("[upstream inet]\n"
	           "server = 192.0.2.1\n"
	           "forward-zone = corp.example inet\n"
	           "[view a]\n"
	           "forward-zone = corp.example inet\n"
	           "[view b]\n"
	           "forward-zone = corp.example inet\n"
	           "forward-zone = . inet\n"
	           "upstream = none\n",
	           "t.conf:3: unknown key 'forward-zone' in [upstream inet]\n"
	           "t.conf:8: [view b]: forward-zone . and upstream = none "
	           "both say where names outside the other forward-zones go: "
	           "keep one\n");
}

/*
 * Local zones are answered before forwarding (BIND, Unbound): a local
 * zone at or above the suffix that decides every name itself hides the
 * forward-zone, an error naming both lines; a transparent one lets the
 * names without local data through.
 */
static void
test_config_forward_zone_hidden_by_local_zone(void **state)
{
	static const char *const hiding[] = {"static", "refuse", "drop",
	                                     "nxdomain", "nodata"};
	static const char *const fine[] = {
	    /* transparent at or above */
	    "local-zone = corp.example transparent\n",
	    "local-zone = example transparent\n",
	    /* local data alone: an implicit transparent zone */
	    "local-data = corp.example. A 10.0.0.1\n",
	    "local-data = www.corp.example. A 10.0.0.1\n",
	    /* a static zone below hides only its own names */
	    "local-zone = secret.corp.example static\n",
	    /* a transparent zone closer than the static one */
	    "local-zone = example static\n"
	    "local-zone = corp.example transparent\n",
	    /* a transparent zone below lets some names through */
	    "local-zone = example static\n"
	    "local-zone = www.corp.example transparent\n",
	    /* another name */
	    "local-zone = xcorp.example static\n",
	};
	char text[512], want[512];
	struct config *c;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(hiding); i++) {
		/* At the suffix, and above it, before or after the line. */
		snprintf(text, sizeof(text),
		         "[upstream dc]\n"
		         "server = 192.0.2.10\n"
		         "[view v]\n"
		         "local-zone = corp.example %s\n"
		         "forward-zone = corp.example dc\n"
		         "forward-zone = a.b.example dc\n"
		         "local-zone = example %s\n",
		         hiding[i], hiding[i]);
		snprintf(
		    want, sizeof(want),
		    "t.conf:5: [view v]: forward-zone corp.example is never "
		    "used: local-zone corp.example %s (line 4) answers "
		    "every name under it first (local zones come before "
		    "forwarding; a transparent zone would let names "
		    "without local data through)\n"
		    "t.conf:6: [view v]: forward-zone a.b.example is never "
		    "used: local-zone example %s (line 7) answers every "
		    "name under it first (local zones come before "
		    "forwarding; a transparent zone would let names "
		    "without local data through)\n",
		    hiding[i], hiding[i]);
		load_fails(text, want);
	}
	for (size_t i = 0; i < ARRAY_LEN(fine); i++) {
		snprintf(text, sizeof(text),
		         "[upstream dc]\n"
		         "server = 192.0.2.10\n"
		         "[view v]\n"
		         "forward-zone = corp.example dc\n"
		         "%s",
		         fine[i]);
		c = load_ok(text);
		config_unref(c);
	}
	/* Even the root hides the root. */
	load_fails("[upstream dc]\n"
	           "server = 192.0.2.10\n"
	           "[view v]\n"
	           "forward-zone = . dc\n"
	           "local-zone = . refuse\n",
	           "t.conf:4: [view v]: forward-zone . is never used: "
	           "local-zone . refuse (line 5) answers every name under it "
	           "first (local zones come before forwarding; a transparent "
	           "zone would let names without local data through)\n");
}

static void
test_config_load_file(void **state)
{
	char path[64], want[256], *errs;
	size_t len = 0;
	struct config *c;
	FILE *f;

	(void)state;
	temp_file(path, sizeof(path),
	          "[server]\nworkers = 2\n[view v]\nbogus = 1\n");
	f = open_memstream(&errs, &len);
	assert_non_null(f);
	c = config_load(path, f);
	assert_int_equal(fclose(f), 0);
	assert_null(c);
	(void)snprintf(want, sizeof(want),
	               "%s:4: unknown key 'bogus' in [view v]\n", path);
	assert_string_equal(errs, want);
	free(errs);
	assert_int_equal(unlink(path), 0);

	temp_file(path, sizeof(path), "[server]\nworkers = 2\n[view v]\n");
	c = config_load(path, NULL);
	assert_non_null(c);
	assert_int_equal(c->server.workers, 2);
	assert_string_equal(c->path, path);
	config_unref(c);
	assert_int_equal(unlink(path), 0);

	/* A file that cannot be opened: line 0. */
	f = open_memstream(&errs, &len);
	assert_non_null(f);
	assert_null(config_load("/nonexistent/dnsgate.conf", f));
	assert_int_equal(fclose(f), 0);
	assert_string_equal(errs, "/nonexistent/dnsgate.conf:0: cannot open: "
	                          "No such file or directory\n");
	free(errs);
}

static void
test_config_ref_unref(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[view v]\n");
	assert_int_equal(atomic_load(&c->refs), 1);
	assert_ptr_equal(config_ref(c), c);
	assert_int_equal(atomic_load(&c->refs), 2);
	config_unref(c);
	/* Still alive: one reference left. */
	assert_int_equal(atomic_load(&c->refs), 1);
	assert_string_equal(c->views[0]->name, "v");
	config_unref(c); /* freed: the sanitizer build checks it */
	config_unref(NULL);
}

/* Keys a reload cannot apply are named when, and only when, they changed. */
#define VIEW "[view v]\nupstream = none\n"
static void
test_config_restart_keys_named_when_changed(void **state)
{
	static const char base[] = "[server]\n"
	                           "listen = 127.0.0.1:5300\n"
	                           "workers = 1\n"
	                           "ede-text = yes\n" VIEW;
	struct config *a = load_ok(base);
	struct config *same = load_ok("[server]\n"
	                              "listen = 127.0.0.1:5300\n"
	                              "workers = 1\n"
	                              "ede-text = no\n"
	                              "[log]\nformat = text\n" VIEW);
	struct config *changed =
	    load_ok("[server]\n"
	            "listen = 127.0.0.1:5301\n"
	            "workers = 2\n"
	            "control-socket = /tmp/x.sock\n"
	            "[log]\ndnstap = /tmp/tap.sock\n" VIEW);
	char buf[200];

	(void)state;
	assert_int_equal(config_restart_keys(a, same, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(config_restart_keys(a, changed, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "listen, workers, control-socket, dnstap");
	/* Cut, never overrun. */
	assert_int_equal(config_restart_keys(a, changed, buf, 10), 4);
	assert_true(strlen(buf) < 10);
	config_unref(a);
	config_unref(same);
	config_unref(changed);
}

/*
 * udp-receive-buffer: 0 (the system's default) or 4KB..1GB, and a restart
 * key (the listeners are set up once); tcp-max-clients-per-prefix: 0
 * (off) to 1000000.
 */
static void
test_config_udp_receive_buffer_and_tcp_per_prefix(void **state)
{
	static const char *const bad_size[] = {"4095", "1KB", "2GB",
	                                       "lots", "-1",  "4MB4"};
	struct config *a = load_ok("[server]\n"
	                           "udp-receive-buffer = 0\n"
	                           "tcp-max-clients-per-prefix = 0\n" VIEW);
	struct config *b =
	    load_ok("[server]\n"
	            "udp-receive-buffer = 1GB\n"
	            "tcp-max-clients-per-prefix = 1000000\n" VIEW);
	struct config *c = load_ok("[server]\nudp-receive-buffer = 4KB\n" VIEW);
	char buf[200], text[200];

	(void)state;
	assert_int_equal(a->server.udp_rcvbuf, 0);
	assert_int_equal(a->server.tcp_per_prefix, 0);
	assert_int_equal(b->server.udp_rcvbuf, 1024 * 1024 * 1024);
	assert_int_equal(b->server.tcp_per_prefix, 1000000);
	assert_int_equal(c->server.udp_rcvbuf, 4096);
	assert_int_equal(config_restart_keys(a, b, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "udp-receive-buffer");
	for (size_t i = 0; i < ARRAY_LEN(bad_size); i++) {
		(void)snprintf(text, sizeof(text),
		               "[server]\nudp-receive-buffer = %s\n" VIEW,
		               bad_size[i]);
		load_fails(text,
		           "t.conf:2: udp-receive-buffer: expected 0 (the "
		           "system default) or a size from 4KB to 1GB\n");
	}
	load_fails("[server]\ntcp-max-clients-per-prefix = 1000001\n" VIEW,
	           "t.conf:2: tcp-max-clients-per-prefix: expected a number "
	           "from 0 to 1000000\n");
	load_fails("[server]\ntcp-max-clients-per-prefix = -1\n" VIEW,
	           "t.conf:2: tcp-max-clients-per-prefix: expected a number "
	           "from 0 to 1000000\n");
	config_unref(a);
	config_unref(b);
	config_unref(c);
}

/* [log] dnstap: the four spellings of an output, and dnstap-messages. */
static void
test_config_dnstap_outputs(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[log]\ndnstap = /run/tap.sock\n" VIEW);
	assert_string_equal(c->log.dnstap, "/run/tap.sock");
	assert_int_equal(c->log.dnstap_out.transport, DNSTAP_TO_UNIX);
	assert_string_equal(c->log.dnstap_out.path, "/run/tap.sock");
	/* The default sends the client messages only. */
	assert_int_equal(c->log.dnstap_messages, DNSTAP_MSGS_CLIENT);
	config_unref(c);
	c = load_ok("[log]\ndnstap = unix:/run/tap.sock\n"
	            "dnstap-messages = forwarder\n" VIEW);
	assert_int_equal(c->log.dnstap_out.transport, DNSTAP_TO_UNIX);
	assert_string_equal(c->log.dnstap_out.path, "/run/tap.sock");
	assert_int_equal(c->log.dnstap_messages, DNSTAP_MSGS_FORWARDER);
	config_unref(c);
	c = load_ok("[log]\ndnstap = tcp:[2001:db8::1]:6000\n"
	            "dnstap-messages = client, Forwarder\n" VIEW);
	assert_int_equal(c->log.dnstap_out.transport, DNSTAP_TO_TCP);
	assert_string_equal(c->log.dnstap_out.tcp.text, "[2001:db8::1]:6000");
	assert_null(c->log.dnstap_out.path);
	assert_int_equal(c->log.dnstap_messages,
	                 DNSTAP_MSGS_CLIENT | DNSTAP_MSGS_FORWARDER);
	config_unref(c);
	c = load_ok("[log]\ndnstap = file:/var/tmp/tap.fstrm\n" VIEW);
	assert_int_equal(c->log.dnstap_out.transport, DNSTAP_TO_FILE);
	assert_string_equal(c->log.dnstap_out.path, "/var/tmp/tap.fstrm");
	config_unref(c);
	c = load_ok(VIEW);
	assert_null(c->log.dnstap);
	config_unref(c);
}

static void
test_config_dnstap_errors(void **state)
{
	(void)state;
	load_fails("[log]\ndnstap = tap.sock\n" VIEW,
	           "t.conf:2: dnstap: 'tap.sock' is not an absolute path, "
	           "unix:PATH, tcp:IP:PORT or file:PATH\n");
	load_fails("[log]\ndnstap = udp:127.0.0.1:6000\n" VIEW,
	           "t.conf:2: dnstap: 'udp:127.0.0.1:6000' is not an absolute "
	           "path, unix:PATH, tcp:IP:PORT or file:PATH\n");
	load_fails("[log]\ndnstap = unix:tap.sock\n" VIEW,
	           "t.conf:2: dnstap: expected an absolute path under 108 "
	           "bytes\n");
	load_fails("[log]\ndnstap = file:\n" VIEW,
	           "t.conf:2: dnstap: expected an absolute path\n");
	load_fails("[log]\ndnstap = tcp:127.0.0.1\n" VIEW,
	           "t.conf:2: dnstap: '127.0.0.1' is not IP:PORT or "
	           "[IPv6]:PORT\n");
	load_fails("[log]\ndnstap = tcp:::1:6000\n" VIEW,
	           "t.conf:2: dnstap: '::1:6000' is not IP:PORT or "
	           "[IPv6]:PORT\n");
	load_fails("[log]\ndnstap = tcp:host.example:6000\n" VIEW,
	           "t.conf:2: dnstap: 'host.example:6000' is not IP:PORT or "
	           "[IPv6]:PORT\n");
	load_fails("[log]\ndnstap = /run/tap.sock\n"
	           "dnstap-messages = client, resolver\n" VIEW,
	           "t.conf:3: dnstap-messages: 'resolver' is not one of "
	           "client, forwarder\n");
	load_fails("[log]\ndnstap-messages =\n" VIEW,
	           "t.conf:2: dnstap-messages: empty value\n");
}

/* [lists]: defaults, values, and FILE:LINE errors. */
static void
test_config_lists_keys(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("[view v]\n");
	assert_int_equal(c->lists.refresh_ms, 24u * 3600 * 1000);
	assert_string_equal(c->lists.cache_dir, "/var/lib/dnsgate/lists");
	assert_true(c->lists.max_size == (uint64_t)64 << 20);
	assert_int_equal(c->lists.timeout_ms, 30000);
	config_unref(c);
	c = load_ok("[lists]\nrefresh = 2s\ncache-dir = /srv/lists\n"
	            "max-size = 512KB\ntimeout = 1m\n[view v]\n");
	assert_int_equal(c->lists.refresh_ms, 2000);
	assert_string_equal(c->lists.cache_dir, "/srv/lists");
	assert_true(c->lists.max_size == 512 * 1024);
	assert_int_equal(c->lists.timeout_ms, 60000);
	config_unref(c);
	load_fails("[lists]\nrefresh = 1s\nmax-size = 100\ntimeout = 0\n"
	           "cache-dir =\nspeed = 3\n[view v]\n",
	           "t.conf:2: refresh: expected a duration from 2000ms to "
	           "604800s (number with ms, s, m, h or d)\n"
	           "t.conf:3: max-size: expected a size from 1KB to 1GB\n"
	           "t.conf:4: timeout: expected a duration from 1000ms to "
	           "3600s (number with ms, s, m, h or d)\n"
	           "t.conf:5: cache-dir: empty value\n"
	           "t.conf:6: unknown key 'speed' in [lists]\n");
	load_fails("[lists]\n[lists]\n[view v]\n",
	           "t.conf:2: [lists] appears twice\n");
}

/* A URL that is not one dnsgate fetches: FILE:LINE, every one. */
static void
test_config_list_url_errors(void **state)
{
	(void)state;
	load_fails("[view v]\n"
	           "blocklist = ftp://lists.example.net/ads.txt\n"
	           "blocklist = rpz:https://lists.example.net:99999/z\n"
	           "allowlist = https://me:pw@lists.example.net/allow.txt\n",
	           "t.conf:2: blocklist: ftp://lists.example.net/ads.txt: "
	           "only http:// and https:// URLs are fetched\n"
	           "t.conf:3: blocklist: "
	           "rpz:https://lists.example.net:99999/z: bad port (1 to "
	           "65535)\n"
	           "t.conf:4: allowlist: "
	           "https://me:pw@lists.example.net/allow.txt: user:password@ "
	           "is not supported (it would be written in logs and "
	           "metrics)\n");
}

/* A scratch cache directory, and a config text using it. */
static char *
lists_conf(char *dir, const char *lists)
{
	char *text;

	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&text, "[lists]\ncache-dir = %s\n[view v]\n%s",
	                     dir, lists) > 0);
	return text;
}

static void
rm_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * Never downloaded: the server must come up, so the list is empty with a
 * warning; -t and explain never download. The view keeps its lists for a
 * download to rebuild the index.
 */
static void
test_config_list_url_without_copy(void **state)
{
	char dir[] = "/tmp/dnsgate-lists-XXXXXX", want[1024], path[512];
	char *text = lists_conf(dir, "blocklist = https://lists.example.net/"
	                             "ads.txt\n"),
	     *errs;
	struct config *c = load(text, &errs);
	const struct view_conf *v;
	struct list_url u;
	const char *why;

	assert_non_null(c);
	assert_int_equal(
	    list_url_parse("https://lists.example.net/ads.txt", &u, &why), 0);
	assert_int_equal(list_url_dir(dir, "https://lists.example.net/ads.txt",
	                              &u, path, sizeof(path)),
	                 0);
	snprintf(want, sizeof(want),
	         "t.conf:4: warning: blocklist "
	         "https://lists.example.net/ads.txt: no copy downloaded yet "
	         "(in %s): the list is empty until it is downloaded\n",
	         path);
	assert_string_equal(errs, want);
	v = c->views[0];
	assert_non_null(v->blocks);
	assert_int_equal(blockset_size(v->blocks), 0);
	assert_non_null(v->lists);
	assert_string_equal(blocklist_name(v->lists[0]), "ads.txt");
	assert_string_equal(
	    config_list_path(c, v->blocklists[0], path, sizeof(path)) +
	        strlen(dir),
	    "/lists.example.net-"
	    "f93fc87384301449/ads.txt");
	free(errs);
	config_unref(c);
	free(text);
	rm_tree(dir);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The last good copy is read like a file; a copy of another URL is not. */
static void
test_config_list_url_reads_copy(void **state)
{
	static const char value[] = "hosts:http://127.0.0.1:8080/hosts";
	char dir[] = "/tmp/dnsgate-lists-XXXXXX", sub[512], path[1024];
	char conf[1200];
	char *text = lists_conf(dir, "blocklist = hosts:http://127.0.0.1:8080/"
	                             "hosts\n"),
	     *errs;
	struct list_meta m = {0};
	struct config *c, *plain;
	struct list_url u;
	const char *why;

	assert_int_equal(list_url_parse(value, &u, &why), 0);
	assert_int_equal(list_url_dir(dir, value, &u, sub, sizeof(sub)), 0);
	assert_int_equal(mkdir(sub, 0750), 0);
	snprintf(path, sizeof(path), "%s/hosts", sub);
	write_file(path, "0.0.0.0 a.example b.example\n");
	strcpy(m.value, value);
	assert_int_equal(list_meta_write(sub, &m), 0);
	c = load_ok(text);
	assert_int_equal(blockset_size(c->views[0]->blocks), 2);
	assert_int_equal(blocklist_get_info(c->views[0]->lists[0])->format,
	                 BLOCKLIST_HOSTS);
	config_unref(c);
	/* Lists from files only: nothing kept besides the index. */
	snprintf(path, sizeof(path), "%s/local.txt", dir);
	write_file(path, "local.example\n");
	snprintf(conf, sizeof(conf), "[view v]\nblocklist = %s\n", path);
	plain = load_ok(conf);
	assert_null(plain->views[0]->lists);
	config_unref(plain);
	/* A .meta for another value: that copy is not this list's. */
	strcpy(m.value, "http://127.0.0.1:8080/hosts");
	assert_int_equal(list_meta_write(sub, &m), 0);
	c = load(text, &errs);
	assert_non_null(c);
	assert_non_null(strstr(errs, "the copy there is of another URL"));
	assert_int_equal(blockset_size(c->views[0]->blocks), 0);
	free(errs);
	config_unref(c);
	free(text);
	rm_tree(dir);
}

/* http:// crosses networks in clear: a warning, unless the host is
 * loopback or private. A relative cache-dir is the config file's. */
static void
test_config_list_url_cleartext_and_relative_dir(void **state)
{
	char *errs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&errs, &len);
	struct config *c =
	    config_load_string("/etc/dnsgate/t.conf",
	                       "[lists]\ncache-dir = lists-cache\n[view v]\n"
	                       "blocklist = http://lists.example.net/ads.txt\n"
	                       "blocklist = http://10.0.0.1/ads.txt\n",
	                       f);

	(void)state;
	assert_int_equal(fclose(f), 0);
	assert_non_null(c);
	assert_string_equal(c->lists.cache_dir, "/etc/dnsgate/lists-cache");
	assert_non_null(
	    strstr(errs, "/etc/dnsgate/t.conf:4: warning: blocklist "
	                 "http://lists.example.net/ads.txt: fetched over plain "
	                 "http"));
	assert_null(strstr(errs, ":5: warning: blocklist "
	                         "http://10.0.0.1/ads.txt: fetched"));
	free(errs);
	config_unref(c);
}

/* ---- DNS over TLS and HTTPS --------------------------------------------- */

/* Certificates and keys in a scratch directory (group_setup). */
static struct {
	char dir[64];
	char cert[128], key[128]; /* valid for a year */
	char other[128];          /* a key that matches no certificate */
	char expired[128], expired_key[128];
	char soon[128], soon_key[128]; /* ends in 10 days */
} tlsfx;

static int
group_setup(void **state)
{
	time_t now = time(NULL);
	EVP_PKEY *k;

	(void)state;
	testcert_dir_make(tlsfx.dir, sizeof(tlsfx.dir), "conf");
	testcert_write_pair(
	    testcert_path(tlsfx.cert, 128, tlsfx.dir, "cert.pem"),
	    testcert_path(tlsfx.key, 128, tlsfx.dir, "key.pem"), "DNS:dns.test",
	    now - 86400, now + 365 * 86400);
	testcert_write_pair(
	    testcert_path(tlsfx.expired, 128, tlsfx.dir, "expired.pem"),
	    testcert_path(tlsfx.expired_key, 128, tlsfx.dir, "expired.key"),
	    "DNS:dns.test", now - 365 * 86400, now - 86400);
	testcert_write_pair(
	    testcert_path(tlsfx.soon, 128, tlsfx.dir, "soon.pem"),
	    testcert_path(tlsfx.soon_key, 128, tlsfx.dir, "soon.key"),
	    "DNS:dns.test", now - 86400, now + 10 * 86400);
	k = testcert_key_new();
	testcert_write_key(testcert_path(tlsfx.other, 128, tlsfx.dir, "o.key"),
	                   k);
	EVP_PKEY_free(k);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	testcert_dir_remove(tlsfx.dir);
	return 0;
}

/* "[server]\n" + lines + the certificate and key + "[view v]\n". */
static char *
tls_conf(const char *lines)
{
	char *text;

	assert_true(asprintf(&text,
	                     "[server]\n%stls-certificate = %s\n"
	                     "tls-key = %s\n[view v]\n",
	                     lines, tlsfx.cert, tlsfx.key) > 0);
	return text;
}

static void
test_config_tls_defaults(void **state)
{
	struct config *c;
	char *text = tls_conf("listen-tls = 127.0.0.1\n");

	(void)state;
	/* Nothing encrypted unless asked. */
	c = load_ok("[view v]\n");
	assert_int_equal(c->server.tls_listens.n, 0);
	assert_int_equal(c->server.https_listens.n, 0);
	assert_null(c->server.tls_cert);
	assert_null(c->server.tls_key);
	assert_int_equal(c->views[0]->match_transport, 0);
	config_unref(c);
	/* The defaults of dnsgate.conf(5). */
	c = load_ok(text);
	assert_string_equal(c->server.https_path, "/dns-query");
	assert_int_equal(c->server.tls_min_version, TLS1_2_VERSION);
	assert_null(c->server.tls_ciphers);
	assert_int_equal(c->server.tls_handshake_ms, 5000);
	assert_int_equal(c->server.tls_ticket_rotation_ms, 12 * 3600 * 1000);
	assert_int_equal(c->server.https_max_streams, 100);
	assert_string_equal(c->server.tls_cert, tlsfx.cert);
	assert_string_equal(c->server.tls_key, tlsfx.key);
	assert_int_equal(c->server.tls_cert_line, 3);
	assert_int_equal(c->server.tls_key_line, 4);
	config_unref(c);
	free(text);
}

/* Default ports 853 (RFC 7858 3.1) and 443; lines append; IPv6. */
static void
test_config_tls_listen_ports_and_repeats(void **state)
{
	char *text = tls_conf("listen-tls = 127.0.0.1\n"               /* 2 */
	                      "listen-tls = [::1], 127.0.0.2:8853\n"   /* 3 */
	                      "listen-https = 127.0.0.1\n"             /* 4 */
	                      "listen-https = [::1]:8443, 127.0.0.2\n" /* 5 */
	);
	struct config *c;

	(void)state;
	c = load_ok(text);
	assert_int_equal(c->server.tls_listens.n, 3);
	assert_string_equal(c->server.tls_listens.v[0].text, "127.0.0.1:853");
	assert_int_equal(c->server.tls_listens.v[0].port, 853);
	assert_int_equal(c->server.tls_listens.v[0].line, 2);
	assert_string_equal(c->server.tls_listens.v[1].text, "[::1]:853");
	assert_false(c->server.tls_listens.v[1].addr.v4);
	assert_int_equal(c->server.tls_listens.v[1].line, 3);
	assert_string_equal(c->server.tls_listens.v[2].text, "127.0.0.2:8853");
	assert_int_equal(c->server.https_listens.n, 3);
	assert_string_equal(c->server.https_listens.v[0].text, "127.0.0.1:443");
	assert_int_equal(c->server.https_listens.v[0].port, 443);
	assert_string_equal(c->server.https_listens.v[1].text, "[::1]:8443");
	assert_string_equal(c->server.https_listens.v[2].text, "127.0.0.2:443");
	assert_int_equal(c->server.https_listens.v[2].line, 5);
	/* The plain listeners keep their default. */
	assert_int_equal(c->server.nlistens, 1);
	assert_string_equal(c->server.listens[0].text, "127.0.0.1:53");
	config_unref(c);
	free(text);
}

static void
test_config_tls_values(void **state)
{
	char *text = tls_conf("listen-https = 127.0.0.1\n"
	                      "https-path = /q/dns\n"
	                      "tls-min-version = 1.3\n"
	                      "tls-ciphers = ECDHE-ECDSA-AES128-GCM-SHA256\n"
	                      "tls-handshake-timeout = 100ms\n"
	                      "tls-ticket-key-rotation = 1s\n"
	                      "https-max-streams = 10000\n");
	struct config *c;

	(void)state;
	c = load_ok(text);
	assert_string_equal(c->server.https_path, "/q/dns");
	assert_int_equal(c->server.tls_min_version, TLS1_3_VERSION);
	assert_string_equal(c->server.tls_ciphers,
	                    "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_int_equal(c->server.tls_handshake_ms, 100);
	assert_int_equal(c->server.tls_ticket_rotation_ms, 1000);
	assert_int_equal(c->server.https_max_streams, 10000);
	config_unref(c);
	free(text);
	/* The other ends of the bounds, and 1.2 written out. */
	text = tls_conf("listen-https = 127.0.0.1\n"
	                "tls-min-version = 1.2\n"
	                "tls-handshake-timeout = 60s\n"
	                "https-max-streams = 1\n");
	c = load_ok(text);
	assert_int_equal(c->server.tls_min_version, TLS1_2_VERSION);
	assert_int_equal(c->server.tls_handshake_ms, 60000);
	assert_int_equal(c->server.https_max_streams, 1);
	config_unref(c);
	free(text);
}

/* The error is at the first encrypted listener's line. */
static void
test_config_tls_listen_needs_certificate(void **state)
{
	char text[512];

	(void)state;
	load_fails("[server]\n"
	           "listen-tls = 127.0.0.1\n"
	           "listen-https = 127.0.0.1\n"
	           "[view v]\n",
	           "t.conf:2: listen-tls and listen-https need "
	           "tls-certificate and tls-key\n");
	load_fails("[server]\n"
	           "listen-https = 127.0.0.1\n"
	           "[view v]\n",
	           "t.conf:2: listen-tls and listen-https need "
	           "tls-certificate and tls-key\n");
	/* A certificate without its key. */
	snprintf(text, sizeof(text),
	         "[server]\nlisten-tls = 127.0.0.1\ntls-certificate = %s\n"
	         "[view v]\n",
	         tlsfx.cert);
	load_fails(text, "t.conf:2: listen-tls and listen-https need "
	                 "tls-certificate and tls-key\n");
}

/* A certificate and key nothing uses: loaded, with a warning. */
static void
test_config_tls_certificate_unused(void **state)
{
	char *text = tls_conf(""), *errs;
	struct config *c = load(text, &errs);

	(void)state;
	assert_non_null(c);
	assert_string_equal(errs, "t.conf:2: warning: tls-certificate/tls-key "
	                          "without listen-tls or listen-https: "
	                          "unused\n");
	free(errs);
	config_unref(c);
	free(text);
}

/* No address:port is bound by two listeners. */
static void
test_config_tls_listen_overlap(void **state)
{
	char *text;

	(void)state;
	text = tls_conf("listen = 127.0.0.1:853\n" /* 2 */
	                "listen-tls = 127.0.0.1\n" /* 3 */
	);
	load_fails(text, "t.conf:3: 127.0.0.1:853 is already a listen address "
	                 "(line 2)\n");
	free(text);
	text = tls_conf("listen-tls = [::1]:8443\n"   /* 2 */
	                "listen-https = [::1]:8443\n" /* 3 */
	);
	load_fails(text,
	           "t.conf:3: [::1]:8443 is already a listen address (line "
	           "2)\n");
	free(text);
	/* The same address on another port, or another address. */
	text = tls_conf("listen = 127.0.0.1:53\n"
	                "listen-tls = 127.0.0.1, [::1]\n"
	                "listen-https = 127.0.0.1, 127.0.0.2:853\n");
	config_unref(load_ok(text));
	free(text);
}

/* tls-certificate and tls-key name files next to the configuration. */
static void
test_config_tls_files_relative(void **state)
{
	char name[128], want[256], *errs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&errs, &len);
	struct config *c;

	(void)state;
	assert_non_null(f);
	testcert_path(name, sizeof(name), tlsfx.dir, "t.conf");
	c = config_load_string(name,
	                       "[server]\nlisten-tls = 127.0.0.1\n"
	                       "tls-certificate = cert.pem\n"
	                       "tls-key = ./key.pem\n[view v]\n",
	                       f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(errs, "");
	assert_non_null(c);
	assert_string_equal(c->server.tls_cert, tlsfx.cert);
	snprintf(want, sizeof(want), "%s/./key.pem", tlsfx.dir);
	assert_string_equal(c->server.tls_key, want);
	config_unref(c);
	free(errs);
}

/* The checks of -t on the pair, at the tls-certificate line. */
static void
test_config_tls_certificate_checked(void **state)
{
	char text[1024], want[1024], *errs;
	struct config *c;

	(void)state;
	snprintf(text, sizeof(text),
	         "[server]\nlisten-tls = 127.0.0.1\n"
	         "tls-certificate = %s\ntls-key = %s\n[view v]\n",
	         tlsfx.cert, tlsfx.other);
	snprintf(want, sizeof(want),
	         "t.conf:3: tls-key %s does not match the certificate %s\n",
	         tlsfx.other, tlsfx.cert);
	load_fails(text, want);
	/* Expired: an error; ending within 30 days: a warning. */
	snprintf(text, sizeof(text),
	         "[server]\nlisten-tls = 127.0.0.1\n"
	         "tls-certificate = %s\ntls-key = %s\n[view v]\n",
	         tlsfx.expired, tlsfx.expired_key);
	c = load(text, &errs);
	assert_null(c);
	snprintf(want, sizeof(want), "t.conf:3: tls-certificate %s expired on ",
	         tlsfx.expired);
	assert_memory_equal(errs, want, strlen(want));
	free(errs);
	snprintf(text, sizeof(text),
	         "[server]\nlisten-tls = 127.0.0.1\n"
	         "tls-certificate = %s\ntls-key = %s\n[view v]\n",
	         tlsfx.soon, tlsfx.soon_key);
	c = load(text, &errs);
	assert_non_null(c);
	snprintf(want, sizeof(want),
	         "t.conf:3: warning: tls-certificate %s expires on ",
	         tlsfx.soon);
	assert_memory_equal(errs, want, strlen(want));
	free(errs);
	config_unref(c);
	/* A certificate that is not there. */
	snprintf(text, sizeof(text),
	         "[server]\nlisten-tls = 127.0.0.1\n"
	         "tls-certificate = %s/none.pem\ntls-key = %s\n[view v]\n",
	         tlsfx.dir, tlsfx.key);
	c = load(text, &errs);
	assert_null(c);
	snprintf(want, sizeof(want),
	         "t.conf:3: tls-certificate %s/none.pem: ", tlsfx.dir);
	assert_memory_equal(errs, want, strlen(want));
	free(errs);
}

static void
test_config_tls_ciphers_checked(void **state)
{
	char *text = tls_conf("listen-tls = 127.0.0.1\n"
	                      "tls-ciphers = NO-SUCH-CIPHER\n");

	(void)state;
	load_fails(text, "t.conf:3: tls-ciphers: no cipher in "
	                 "'NO-SUCH-CIPHER' is known\n");
	free(text);
}

/* tls-ca: checked when loaded, relative to the configuration. */
static void
test_config_tls_ca(void **state)
{
	char name[128], text[512], want[512], *errs = NULL;
	size_t len = 0;
	FILE *f;
	struct config *c;

	(void)state;
	load_fails("[upstream u]\n"
	           "server = 192.0.2.1\n"
	           "tls-ca = /nonexistent/ca.pem\n"
	           "[view v]\n",
	           "t.conf:3: warning: [upstream u] tls-ca without a tls:// "
	           "server: unused\n"
	           "t.conf:3: tls-ca /nonexistent/ca.pem: No such file or "
	           "directory\n");
	snprintf(text, sizeof(text),
	         "[upstream u]\nserver = 192.0.2.1\ntls-ca = %s\n[view v]\n",
	         tlsfx.key);
	snprintf(want, sizeof(want),
	         "t.conf:3: warning: [upstream u] tls-ca without a tls:// "
	         "server: unused\n"
	         "t.conf:3: tls-ca %s: no PEM certificate in it\n",
	         tlsfx.key);
	load_fails(text, want);
	/* A readable bundle, named relative to the configuration. */
	f = open_memstream(&errs, &len);
	assert_non_null(f);
	testcert_path(name, sizeof(name), tlsfx.dir, "t.conf");
	c = config_load_string(name,
	                       "[upstream u]\nserver = 192.0.2.1\n"
	                       "tls-ca = cert.pem\n[view v]\n",
	                       f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(c);
	snprintf(want, sizeof(want),
	         "%s:3: warning: [upstream u] tls-ca without a tls:// "
	         "server: unused\n",
	         name);
	assert_string_equal(errs, want);
	assert_string_equal(c->upstreams[0]->tls_ca, tlsfx.cert);
	assert_int_equal(c->upstreams[0]->tls_ca_line, 3);
	assert_false(c->upstreams[0]->has_tls);
	config_unref(c);
	free(errs);
}

static void
test_config_match_transport(void **state)
{
	char *text = tls_conf("listen-tls = 127.0.0.1\n"
	                      "listen-https = 127.0.0.1\n");
	char *full;
	struct config *c;
	char *errs;

	(void)state;
	/* Items and lines add up; names in any case. */
	assert_true(asprintf(&full,
	                     "%smatch-transport = udp, TCP\n"
	                     "match-transport = tls\n"
	                     "[view web]\nmatch-transport = https\n"
	                     "[view rest]\n",
	                     text) > 0);
	c = load_ok(full);
	assert_int_equal(c->nviews, 3);
	assert_int_equal(c->views[0]->match_transport,
	                 (1u << TRANSPORT_UDP) | (1u << TRANSPORT_TCP) |
	                     (1u << TRANSPORT_TLS));
	assert_int_equal(c->views[1]->match_transport, 1u << TRANSPORT_HTTPS);
	assert_int_equal(c->views[2]->match_transport, 0);
	config_unref(c);
	free(full);
	free(text);
	/* A transport nothing listens on: a warning. */
	c = load("[view v]\n"
	         "match-transport = tls, https\n"
	         "[view rest]\n",
	         &errs);
	assert_non_null(c);
	assert_string_equal(errs, "t.conf:1: warning: [view v] match-transport "
	                          "names tls, but there is no listen-tls\n"
	                          "t.conf:1: warning: [view v] match-transport "
	                          "names https, but there is no "
	                          "listen-https\n");
	free(errs);
	config_unref(c);
}

/* Upstreams over TLS: tls://ADDR[:PORT][#NAME], loaded without a word. */
static struct config *
load_tls_upstream(const char *text)
{
	char *errs;
	struct config *c = load(text, &errs);

	assert_non_null(c);
	assert_string_equal(errs, "");
	free(errs);
	return c;
}

static void
test_config_tls_server_accepted(void **state)
{
	static const char *const ok[] = {
	    "tls://127.0.0.1#dns.test",
	    "tls://127.0.0.1",
	    "tls://127.0.0.1:8853#dns.test",
	    "tls://[::1]",
	    "tls://[::1]:8853#dns.test.",
	    "tls://192.0.2.1#192.0.2.1",
	    "tls://192.0.2.1#2001:db8::1",
	    "tls://127.0.0.1#dns.test, 192.0.2.1",
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		struct config *c;

		snprintf(text, sizeof(text),
		         "[upstream u]\nserver = %s\n[view v]\nupstream = u\n",
		         ok[i]);
		c = load_tls_upstream(text);
		config_unref(c);
	}
}

static void
test_config_tls_server_endpoints(void **state)
{
	struct config *c;
	const struct upstream_conf *u;

	(void)state;
	c = load_tls_upstream("[upstream u]\n"
	                      "server = tls://127.0.0.1#dns.test\n"
	                      "server = tls://127.0.0.1\n"
	                      "server = tls://[::1]:8853#192.0.2.1\n"
	                      "server = 192.0.2.1\n"
	                      "[view v]\nupstream = u\n");
	u = c->upstreams[0];
	assert_true(u->has_tls);
	assert_int_equal(u->nservers, 4);
	assert_true(u->servers[0].tls);
	assert_string_equal(u->servers[0].tls_name, "dns.test");
	assert_int_equal(u->servers[0].port, 853);
	assert_string_equal(u->servers[0].text, "127.0.0.1:853");
	assert_true(u->servers[0].on_host);
	/* Without #NAME the address is the name (an IP SAN). */
	assert_true(u->servers[1].tls);
	assert_string_equal(u->servers[1].tls_name, "127.0.0.1");
	assert_true(u->servers[2].tls);
	assert_int_equal(u->servers[2].port, 8853);
	assert_string_equal(u->servers[2].text, "[::1]:8853");
	assert_string_equal(u->servers[2].tls_name, "192.0.2.1");
	assert_false(u->servers[3].tls);
	assert_int_equal(u->servers[3].port, 53);
	config_unref(c);
}

/* Line 3 of "[upstream u]\nserver = 192.0.2.1\nserver = SPEC\n...". */
static void
tls_server_fails(const char *spec, const char *msg)
{
	char text[512], want[512];

	snprintf(text, sizeof(text),
	         "[upstream u]\nserver = 192.0.2.1\nserver = %s\n[view v]\n",
	         spec);
	snprintf(want, sizeof(want), "t.conf:3: server: %s\n", msg);
	load_fails(text, want);
}

static void
test_config_tls_server_errors(void **state)
{
	(void)state;
	tls_server_fails("tls://127.0.0.1#bad..name",
	                 "'bad..name' after '#' is not a host name or address");
	tls_server_fails("tls://127.0.0.1#",
	                 "'' after '#' is not a host name or address");
	/* A label of 64 octets (RFC 1035 2.3.4). */
	tls_server_fails(
	    "tls://127.0.0.1#a123456789012345678901234567890123456789012345678"
	    "901234567890123.test",
	    "'a123456789012345678901234567890123456789012345678901234567890"
	    "123.test' after '#' is not a host name or address");
	/* The address is an address: the name goes after '#'. */
	tls_server_fails("tls://dns.test", "'dns.test' is not an address (ip, "
	                                   "ip:port or [ipv6]:port)");
	tls_server_fails("tls://127.0.0.1:99999#dns.test",
	                 "'127.0.0.1:99999' is not an address (ip, ip:port or "
	                 "[ipv6]:port)");
	tls_server_fails("tls://", "'' is not an address (ip, ip:port or "
	                           "[ipv6]:port)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_defaults_server_and_log),
	    cmocka_unit_test(test_config_defaults_upstream),
	    cmocka_unit_test(test_config_explicit_values),
	    cmocka_unit_test(test_config_inline_comments_and_comment_lines),
	    cmocka_unit_test(test_config_duration_units),
	    cmocka_unit_test(test_config_duration_errors),
	    cmocka_unit_test(test_config_parse_size),
	    cmocka_unit_test(test_config_value_type_errors),
	    cmocka_unit_test(test_config_several_errors_all_reported),
	    cmocka_unit_test(test_config_errors_without_stream),
	    cmocka_unit_test(test_config_unknown_section_and_key),
	    cmocka_unit_test(test_config_duplicate_key_already_set),
	    cmocka_unit_test(test_config_same_key_in_two_named_sections),
	    cmocka_unit_test(test_config_listen_replaces_default_and_repeats),
	    cmocka_unit_test(test_config_open_view_warns),
	    cmocka_unit_test(test_config_server_appends),
	    cmocka_unit_test(test_config_upstream_on_host),
	    cmocka_unit_test(test_config_server_limit_per_upstream),
	    cmocka_unit_test(test_config_retry_on_repeated_keys_append),
	    cmocka_unit_test(test_config_retry_on_none_and_all),
	    cmocka_unit_test(test_config_match_client_repeats),
	    cmocka_unit_test(test_config_named_section_errors),
	    cmocka_unit_test(test_config_sections_twice),
	    cmocka_unit_test(test_config_syntax_errors_each_reported),
	    cmocka_unit_test(test_config_overlong_line),
	    cmocka_unit_test(test_config_cache_client_timeout),
	    cmocka_unit_test(test_config_cache_keys),
	    cmocka_unit_test(test_config_view_upstream_resolution),
	    cmocka_unit_test(test_config_upstream_needs_server),
	    cmocka_unit_test(test_config_no_view),
	    cmocka_unit_test(test_config_resolv_conf_skips_own_listen),
	    cmocka_unit_test(test_config_resolv_conf_errors),
	    cmocka_unit_test(
	        test_config_resolv_conf_refused_when_addresses_unknown),
	    cmocka_unit_test(test_config_server_on_own_listen_rejected),
	    cmocka_unit_test(test_config_acl_rule_lines_in_order),
	    cmocka_unit_test(test_config_local_data_errors_have_file_line),
	    cmocka_unit_test(test_config_local_data_reaches_the_view),
	    cmocka_unit_test(test_config_forward_zones_resolve),
	    cmocka_unit_test(test_config_forward_zone_errors),
	    cmocka_unit_test(test_config_forward_zone_hidden_by_local_zone),
	    cmocka_unit_test(test_config_local_data_idn),
	    cmocka_unit_test(test_config_lists_strict),
	    cmocka_unit_test(test_config_load_file),
	    cmocka_unit_test(test_config_ref_unref),
	    cmocka_unit_test(test_config_restart_keys_named_when_changed),
	    cmocka_unit_test(test_config_udp_receive_buffer_and_tcp_per_prefix),
	    cmocka_unit_test(test_config_dnstap_outputs),
	    cmocka_unit_test(test_config_dnstap_errors),
	    cmocka_unit_test(test_config_lists_keys),
	    cmocka_unit_test(test_config_list_url_errors),
	    cmocka_unit_test(test_config_list_url_without_copy),
	    cmocka_unit_test(test_config_list_url_reads_copy),
	    cmocka_unit_test(test_config_list_url_cleartext_and_relative_dir),
	    cmocka_unit_test(test_config_tls_defaults),
	    cmocka_unit_test(test_config_tls_listen_ports_and_repeats),
	    cmocka_unit_test(test_config_tls_values),
	    cmocka_unit_test(test_config_tls_listen_needs_certificate),
	    cmocka_unit_test(test_config_tls_certificate_unused),
	    cmocka_unit_test(test_config_tls_listen_overlap),
	    cmocka_unit_test(test_config_tls_files_relative),
	    cmocka_unit_test(test_config_tls_certificate_checked),
	    cmocka_unit_test(test_config_tls_ciphers_checked),
	    cmocka_unit_test(test_config_tls_ca),
	    cmocka_unit_test(test_config_match_transport),
	    cmocka_unit_test(test_config_tls_server_accepted),
	    cmocka_unit_test(test_config_tls_server_endpoints),
	    cmocka_unit_test(test_config_tls_server_errors),
	};

	return cmocka_run_group_tests_name("proxy config", tests, group_setup,
	                                   group_teardown);
}
