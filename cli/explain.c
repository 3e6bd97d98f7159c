/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/explain.c — `dnsgate explain -c FILE --client IP [--dest IP] [--tcp]
 * [--cookie valid|invalid|none] [--class CLASS] QNAME [QTYPE]` (dnsgate(8),
 * COMMANDS).
 *
 * Builds the query a typical client would send (RD, EDNS with a 1232-byte
 * buffer, so the EDE shows), runs pipeline_query() on it exactly as a
 * worker would, and prints one "stage: outcome" line per stage, then the
 * view, action, rcode and EDE. Nothing is sent anywhere.
 */
#include "cli/explain.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "dns/idn.h"
#include "dns/msg.h"
#include "policy/blocklist.h"
#include "proxy/pipeline.h"
#include "views/view.h"

static void
print_stage(void *arg, const char *stage, const char *text)
{
	(void)arg;
	printf("%s: %s\n", stage, text);
}

/*
 * Where the blocklist entry that decided was written: the lists in memory
 * keep no line numbers (that would cost every entry of every list, all
 * the time), so the file is read again here, up to that entry.
 */
static void
explain_entry(void *arg, const struct block_match *m, char *buf, size_t cap)
{
	const struct qctx *c = arg;
	const struct view_conf *v = c->view;
	const char *value = m->allowlist ? v->allowlists[m->list_index]
	                                 : v->blocklists[m->list_index];
	char path[4096], name[DNS_NAME_TEXT_MAX], line[16] = "";
	const char *why = "";
	struct blocklist_where w;
	size_t n;

	/* As lists write names: no final dot ("*" alone: an RPZ trigger
	 * for every name of the zone). */
	dns_name_to_text(m->name, name, sizeof(name));
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		name[n - 1] = '\0';
	if (blocklist_locate(
	        config_list_path(c->conf, value, path, sizeof(path)), m->name,
	        m->below, &w) < 0)
		why = "; cannot read the list again";
	else if (w.line == 0)
		why = "; not in the list any more: it changed since";
	else
		snprintf(line, sizeof(line), ":%d", w.line);
	snprintf(buf, cap, "%s%s (entry '%s%s%s', %s%s)", m->list, line,
	         w.wildcard ? "*" : "",
	         w.wildcard && name[0] != '\0' ? "." : "", name,
	         m->below ? "a parent of the name" : "the name itself", why);
}

/* The query: ID 0, RD, one question, an OPT advertising 1232 bytes and
 * carrying cookie[0..cookie_len) as a COOKIE option when cookie_len > 0. */
static size_t
build_query(uint8_t *out, size_t cap, const uint8_t *qname, uint16_t qtype,
            uint16_t qclass, const uint8_t *cookie, size_t cookie_len)
{
	struct wbuf b;

	wbuf_init(&b, out, cap);
	wbuf_u16(&b, 0);
	wbuf_u16(&b, DNS_FLAG_RD);
	wbuf_u16(&b, 1);
	wbuf_u16(&b, 0);
	wbuf_u16(&b, 0);
	wbuf_u16(&b, 1);
	wbuf_bytes(&b, qname, dns_name_len(qname));
	wbuf_u16(&b, qtype);
	wbuf_u16(&b, qclass);
	wbuf_u8(&b, 0); /* OPT owner: the root */
	wbuf_u16(&b, DNS_TYPE_OPT);
	wbuf_u16(&b, 1232);
	wbuf_u32(&b, 0);
	wbuf_u16(&b, cookie_len > 0 ? (uint16_t)(4 + cookie_len) : 0);
	if (cookie_len > 0)
		dns_opt_cookie_write(&b, cookie, cookie_len);
	return b.err ? 0 : b.len;
}

static void
explain_usage(FILE *f)
{
	fprintf(f,
	        "usage: dnsgate explain [-c FILE] --client IP [--dest IP] "
	        "[--tcp | --transport udp|tcp|tls|https]\n"
	        "               [--cookie valid|invalid|none] [--class CLASS] "
	        "QNAME [QTYPE]\n"
	        "Run the query a typical client sends for QNAME (QTYPE "
	        "default A) from IP\n"
	        "(to the local address --dest, over TCP with --tcp or the "
	        "--transport named, in class "
	        "CLASS, default IN) through "
	        "the pipeline of\n"
	        "FILE (default %s) without sending anything, and print\n"
	        "what each stage found, then the view, action, rule, rcode "
	        "and EDE.\n"
	        "Exit 0 once explained, 1 when FILE is invalid, 2 on a usage "
	        "error.\n",
	        CONFIG_DEFAULT_PATH);
}

struct explain_args {
	const char *conf, *client, *dest, *cookie, *qname, *qtype, *qclass;
	enum transport transport;
};

/* 0, 1 for --help, -1 on a usage error. */
static int
parse_args(int argc, char **argv, struct explain_args *a)
{
	static const struct option opts[] = {
	    {"client", required_argument, NULL, 'C'},
	    {"dest", required_argument, NULL, 'D'},
	    {"tcp", no_argument, NULL, 'T'},
	    {"transport", required_argument, NULL, 'P'},
	    {"cookie", required_argument, NULL, 'K'},
	    {"class", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	/* --help wins wherever it is (as dnsgate --help does). */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			a->conf = optarg;
			break;
		case 'C':
			a->client = optarg;
			break;
		case 'D':
			a->dest = optarg;
			break;
		case 'T':
			a->transport = TRANSPORT_TCP;
			break;
		case 'P':
			if (transport_parse(optarg, &a->transport) < 0)
				return -1;
			break;
		case 'K':
			a->cookie = optarg;
			break;
		case 'L':
			a->qclass = optarg;
			break;
		default:
			return -1;
		}
	}
	if (a->client == NULL || optind >= argc || argc - optind > 2)
		return -1;
	a->qname = argv[optind];
	a->qtype = optind + 1 < argc ? argv[optind + 1] : "A";
	if (a->cookie != NULL && strcmp(a->cookie, "valid") != 0 &&
	    strcmp(a->cookie, "invalid") != 0 && strcmp(a->cookie, "none") != 0)
		return -1;
	return 0;
}

/* How the query line names a transport. */
static const char *
transport_label(enum transport t)
{
	switch (t) {
	case TRANSPORT_TCP:
		return "TCP";
	case TRANSPORT_TLS:
		return "TLS (DNS over TLS)";
	case TRANSPORT_HTTPS:
		return "HTTPS (DNS over HTTPS)";
	default:
		return "UDP";
	}
}

static void
print_verdict(const struct qctx *c, enum pipe_verdict v)
{
	printf("view: %s\n", c->dec.view != NULL ? c->dec.view : "(none)");
	printf("action: %s\n", decision_action_name(c->dec.action));
	if (c->dec.rule[0] != '\0')
		printf("rule: %s\n", c->dec.rule);
	if (v == PIPE_FORWARD)
		printf("rcode: whatever the upstream answers (not asked: dry "
		       "run)\n");
	else if (v == PIPE_DROP)
		printf("rcode: none (dropped, nothing is sent)\n");
	else
		printf("rcode: %s\n", dns_rcode_name((unsigned)c->dec.rcode));
	if (c->dec.ede >= 0)
		printf("ede: %d %s%s%s%s\n", c->dec.ede,
		       dns_ede_name(c->dec.ede),
		       c->dec.ede_text != NULL ? " (" : "",
		       c->dec.ede_text != NULL ? c->dec.ede_text : "",
		       c->dec.ede_text != NULL ? ")" : "");
}

/*
 * --cookie: none sends no option; invalid a client cookie with a server
 * cookie that fails the check; valid one made with the configured secret
 * for this client now (what a returning client would send).
 */
static size_t
explain_cookie(const struct explain_args *a, const struct config *conf,
               const struct qctx *c, uint8_t out[COOKIE_V1_LEN])
{
	static const uint8_t client[COOKIE_CLIENT_LEN] = {
	    0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};
	uint32_t now = (uint32_t)time(NULL);

	if (a->cookie == NULL || strcmp(a->cookie, "none") == 0)
		return 0;
	cookie_make(&conf->cookies.secret, &c->client, client, now, out);
	if (strcmp(a->cookie, "invalid") == 0)
		out[COOKIE_V1_LEN - 1] ^= 0xff; /* spoil the hash */
	return COOKIE_V1_LEN;
}

int
explain_main(int argc, char **argv)
{
	struct explain_args a = {.conf = CONFIG_DEFAULT_PATH, .qclass = "IN"};
	uint8_t qname[DNS_NAME_MAX], pkt[512], cookie[COOKIE_V1_LEN], *out;
	char ascii[DNS_NAME_TEXT_MAX];
	const char *name, *why;
	struct qctx c = {0};
	struct config *conf;
	enum pipe_verdict v;
	int qtype, qclass;

	switch (parse_args(argc, argv, &a)) {
	case 1:
		explain_usage(stdout);
		return 0;
	case 0:
		break;
	default:
		explain_usage(stderr);
		return 2;
	}
	/* A name in UTF-8 is asked as clients ask it: in A-labels. */
	name = a.qname;
	if (dns_idn_needed(a.qname)) {
		if (dns_idn_to_ascii(a.qname, ascii, sizeof(ascii), &why) !=
		    0) {
			fprintf(stderr,
			        "dnsgate explain: bad internationalised name "
			        "'%s': %s\n",
			        a.qname, why);
			return 2;
		}
		name = ascii;
	}
	qtype = dns_type_from_text(a.qtype);
	qclass = dns_class_from_text(a.qclass);
	if (dns_name_from_text(name, NULL, qname) == 0 || qtype < 0 ||
	    qclass < 0) {
		fprintf(stderr, "dnsgate explain: bad name, type or class\n");
		return 2;
	}
	conf = config_load(a.conf, stderr);
	if (conf == NULL)
		return 1;
	out = malloc(DNS_MAX_MSG);
	if (out == NULL) {
		config_unref(conf);
		return 1;
	}
	c.out = out;
	c.outcap = DNS_MAX_MSG;
	qctx_init(&c, conf, (uint64_t)time(NULL) * 1000);
	c.trace = print_stage;
	c.trace_entry = explain_entry;
	c.trace_arg = &c;
	c.transport = a.transport;
	c.tcp = a.transport != TRANSPORT_UDP;
	if (ip_addr_parse(a.client, &c.client) < 0 ||
	    (a.dest != NULL && ip_addr_parse(a.dest, &c.dest) < 0)) {
		fprintf(stderr, "dnsgate explain: bad address\n");
		free(out);
		config_unref(conf);
		return 2;
	}
	c.have_dest = a.dest != NULL;
	c.pkt = pkt;
	c.pktlen = build_query(pkt, sizeof(pkt), qname, (uint16_t)qtype,
	                       (uint16_t)qclass, cookie,
	                       explain_cookie(&a, conf, &c, cookie));
	printf("query: %s%s%s%s %s%s%s from %s%s%s over %s\n", name,
	       name != a.qname ? " (" : "", name != a.qname ? a.qname : "",
	       name != a.qname ? ")" : "",
	       qclass != DNS_CLASS_IN ? a.qclass : "",
	       qclass != DNS_CLASS_IN ? " " : "", a.qtype, a.client,
	       a.dest != NULL ? " to " : "", a.dest != NULL ? a.dest : "",
	       transport_label(a.transport));
	v = pipeline_query(&c);
	print_verdict(&c, v);
	free(out);
	config_unref(conf);
	return 0;
}
