/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_pipeline — "query in, response out": the whole pipeline without I/O.
 *
 * Input layout: byte 0 bit 0 = TCP; bytes 1-2 = length L of the client
 * query that follows; the rest is what the upstream answers. Every
 * response the pipeline produces must be a message no larger than the
 * client's limit, with QR set and the client's ID.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "proxy/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf_text[] =
    "[server]\n"
    "listen = 127.0.0.1:5300\n"
    "[upstream main]\n"
    "server = 127.0.0.1:5301\n"
    "[view blocked]\n"
    "match-client = 10.0.0.0/8\n"
    "refuse = any\n"
    "[view all]\n"
    "allow = !127.0.0.2, 127.0.0.0/8\n"
    "drop = 127.0.0.2\n"
    "upstream = main\n"
    "rebind-protection = yes\n"
    "allow-transfer = 127.0.0.1\n"
    "local-zone = corp.example static\n"
    "local-zone = www.example.com transparent\n"
    "local-data = corp.example. SOA ns.corp.example. h.corp.example. 1 2 "
    "3 4 5\n"
    "local-data = www.corp.example. A 10.1.2.3\n"
    "local-data = big.corp.example. TXT \"0123456789abcdef0123456789\" "
    "\"0123456789abcdef0123456789\"\n"
    "local-data = mx.corp.example. MX 10 www.corp.example.\n"
    /* relative to the top of the tree: see FUZZ_CONF */
    "blocklist = tests/system/data/ads.txt\n"
    "blocklist = rpz:tests/system/data/policy.rpz\n"
    "allowlist = tests/system/data/allow.txt\n"
    "block-action = redirect 192.0.2.1\n";

/*
 * The config's name: relative list paths are taken from its directory
 * (conf/config.c, list_path), here the top of the source tree, whatever
 * the working directory. The Makefile defines FUZZ_SRCDIR.
 */
#define FUZZ_CONF FUZZ_SRCDIR "/fuzz.conf"

static struct config *conf;
static uint8_t out[DNS_MAX_MSG];

static void
check_response(const struct qctx *c)
{
	size_t limit = pipeline_client_limit(c);

	assert(c->outlen >= DNS_HEADER_LEN);
	assert(c->outlen <= limit);
	assert(c->out[2] & 0x80); /* QR */
	assert(c->out[0] == c->pkt[0] && c->out[1] == c->pkt[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qctx c = {.out = out, .outcap = sizeof(out)};
	struct dns_response r;
	enum pipe_verdict v;
	size_t qlen;

	if (conf == NULL) {
		conf = config_load_string(FUZZ_CONF, conf_text, stderr);
		if (conf == NULL)
			abort();
	}
	if (size < 3)
		return 0;
	qlen = (size_t)data[1] << 8 | data[2];
	if (qlen > size - 3)
		qlen = size - 3;
	qctx_init(&c, conf, 0);
	c.tcp = data[0] & 1;
	ip_addr_parse((data[0] & 2) ? "127.0.0.2" : "127.0.0.1", &c.client);
	c.pkt = data + 3;
	c.pktlen = qlen;
	v = pipeline_query(&c);
	if (v == PIPE_ANSWER && c.outlen > 0 && qlen >= 2)
		check_response(&c);
	if (v != PIPE_FORWARD)
		return 0;
	if (dns_response_parse(data + 3 + qlen, size - 3 - qlen, &r) == 0)
		v = pipeline_upstream_answer(&c, data + 3 + qlen,
		                             size - 3 - qlen, &r);
	else
		v = pipeline_upstream_failed(&c, UP_FAIL_TIMEOUT);
	if (v == PIPE_ANSWER)
		check_response(&c);
	return 0;
}
