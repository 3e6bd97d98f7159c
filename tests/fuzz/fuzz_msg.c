/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_msg.c — the message codec on hostile bytes.
 *
 * The same input is taken as a client query and as an upstream answer, and
 * everything built from it must parse back: an error reply or a finished
 * answer that our own parser rejects is a bug even when nothing crashes.
 * Names are printed and read back, which must give the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Big enough for any message (64 KiB), as the proxy's TCP buffer is. */
static uint8_t out[DNS_MAX_MSG + 1];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

/* Text and back: escapes must make the round trip exact. */
static void
name_round_trip(const uint8_t *name)
{
	char text[DNS_NAME_TEXT_MAX];
	uint8_t back[DNS_NAME_MAX];
	size_t len = dns_name_len(name);
	const uint8_t *parent;

	check(dns_name_to_text(name, text, sizeof(text)) > 0);
	check(dns_name_from_text(text, NULL, back) == len);
	check(memcmp(back, name, len) == 0);
	check(dns_name_compare(name, back) == 0);
	parent = dns_name_parent(name);
	check(dns_name_is_sub(name, parent != NULL ? parent : name));
}

/* The opt a reply to q would carry, echoing its cookie as the proxy does. */
static void
opt_for_query(const struct dns_query *q, struct dns_opt_out *o)
{
	memset(o, 0, sizeof(*o));
	o->present = q->edns.present;
	o->udp_size = 1232;
	o->do_bit = q->edns.do_bit;
	o->ede_code = DNS_EDE_PROHIBITED;
	o->ede_text = "fuzz";
	if (q->edns.has_cookie) {
		o->cookie = q->edns.cookie;
		o->cookie_len = q->edns.cookie_len;
	}
}

static unsigned
rcode_for(enum dns_parse_result res)
{
	switch (res) {
	case DNS_PARSE_FORMERR:
		return DNS_RCODE_FORMERR;
	case DNS_PARSE_NOTIMP:
		return DNS_RCODE_NOTIMP;
	case DNS_PARSE_BADVERS:
		return DNS_RCODE_BADVERS;
	default:
		return DNS_RCODE_REFUSED;
	}
}

static void
fuzz_query(const uint8_t *data, size_t size, struct dns_query *q)
{
	enum dns_parse_result res = dns_query_parse(data, size, q);
	struct dns_query up;
	struct dns_response r;
	struct dns_opt_out o;
	size_t n;

	if (res == DNS_PARSE_DROP)
		return;
	opt_for_query(q, &o);
	n = dns_build_error(out, sizeof(out), q, rcode_for(res), true, &o);
	/* BADVERS comes only from an OPT, so an error can always be built. */
	check(n > 0);
	if (q->qname_len > 0) {
		check(dns_response_parse(out, n, &r) == 0);
		check(r.rcode == rcode_for(res));
		check(dns_response_matches(&r, q->hdr.id, q));
	}
	/* A cookie-only query (no question, RFC 7873 5.4) is answered by
	 * the proxy itself, never forwarded. */
	if (res != DNS_PARSE_OK || q->qname_len == 0)
		return;
	n = dns_build_upstream_query(out, sizeof(out), q, 0xbeef, 1232);
	check(n > 0);
	check(dns_query_parse(out, n, &up) == DNS_PARSE_OK);
	check(!up.edns.has_cookie && up.edns.do_bit == q->edns.do_bit);
	check(up.qname_len == q->qname_len);
}

static void
fuzz_response(const uint8_t *data, size_t size, const struct dns_query *q)
{
	static const uint8_t cookie[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct dns_opt_out o = {.ede_code = DNS_EDE_BLOCKED,
	                        .ede_text = "fuzz list"};
	struct dns_response r, back;
	size_t n, limit;

	if (dns_response_parse(data, size, &r) != 0)
		return;
	(void)dns_response_matches(&r, r.hdr.id, q);
	/* Vary the client side from bits of the ID. */
	o.present = (r.hdr.id & 1) != 0 || r.rcode > 0xf;
	o.udp_size = 1232;
	o.do_bit = (r.hdr.id & 2) != 0;
	if (r.hdr.id & 4) {
		o.cookie = cookie;
		o.cookie_len = sizeof(cookie);
	}
	limit = (r.hdr.id & 8) ? 512 : DNS_MAX_MSG;
	n = dns_response_finish(out, sizeof(out), data, &r, 0x1234, &o, limit);
	check(n > 0 && n <= sizeof(out));
	check(dns_response_parse(out, n, &back) == 0);
	check(back.hdr.id == 0x1234 && back.rcode == r.rcode);
	check(back.edns.present == o.present);
	/* Over the limit only as the minimal truncated form. */
	check(n <= limit || (back.hdr.flags & DNS_FLAG_TC) != 0);
}

/* Walk the message as dns_rr_next sees it, names through text and back. */
static void
fuzz_walk(const uint8_t *data, size_t size)
{
	char tbuf[32];
	uint8_t name[DNS_NAME_MAX];
	struct dns_header h;
	struct dns_rr rr;
	struct wire w;
	unsigned i, count;

	wire_init(&w, data, size);
	h.id = wire_u16(&w);
	h.flags = wire_u16(&w);
	h.qdcount = wire_u16(&w);
	count = wire_u16(&w);
	count += wire_u16(&w);
	count += wire_u16(&w);
	(void)dns_rcode_name(DNS_RCODE(h.flags));
	for (i = 0; i < h.qdcount && !w.err; i++) {
		if (dns_name_read(&w, name) > 0)
			name_round_trip(name);
		(void)dns_type_name(wire_u16(&w), tbuf, sizeof(tbuf));
		wire_skip(&w, 2);
	}
	for (i = 0; i < count && dns_rr_next(&w, &rr) == 0; i++) {
		name_round_trip(rr.owner);
		check(rr.rr_end <= size && rr.rdata_offset <= rr.rr_end);
		(void)dns_type_from_text(
		    dns_type_name(rr.type, tbuf, sizeof(tbuf)));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;

	fuzz_query(data, size, &q);
	fuzz_response(data, size, &q);
	fuzz_walk(data, size);
	return 0;
}
