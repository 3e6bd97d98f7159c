/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/ttl.c — the freshness lifetime of a response (RFC 8484 5.1,
 * RFC 2308 5). All packet bytes are read through struct wire.
 */
#include "dns/ttl.h"

#include "dns/msg.h"

/* SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM after the two names
 * (RFC 1035 3.3.13). */
#define SOA_NUMBERS_LEN 20

/* RFC 2181 8: a TTL with its top bit set is taken as 0. */
static uint32_t
ttl_value(uint32_t ttl)
{
	return ttl & 0x80000000u ? 0 : ttl;
}

static uint32_t
ttl_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The SOA's MINIMUM, its RDATA checked to be MNAME, RNAME and five
 * numbers; -1 when it is not. */
static int
soa_minimum(const uint8_t *msg, const struct dns_rr *rr, uint32_t *min)
{
	struct wire w;

	/* The whole message up to the RDATA's end: names in it may point
	 * back anywhere before. */
	wire_init(&w, msg, rr->rr_end);
	wire_seek(&w, rr->rdata_offset);
	(void)dns_name_skip(&w); /* MNAME */
	(void)dns_name_skip(&w); /* RNAME */
	if (w.err || wire_left(&w) != SOA_NUMBERS_LEN)
		return -1;
	wire_skip(&w, SOA_NUMBERS_LEN - 4);
	*min = wire_u32(&w);
	return w.err ? -1 : 0;
}

/* Skip the question section; -1 when it does not fit. */
static int
questions_skip(struct wire *w, unsigned qdcount)
{
	for (unsigned i = 0; i < qdcount && !w->err; i++) {
		(void)dns_name_skip(w);
		wire_skip(w, 4); /* QTYPE, QCLASS */
	}
	return w->err ? -1 : 0;
}

bool
dns_response_max_age(const uint8_t *msg, size_t len, uint32_t *ttl)
{
	struct dns_header h;
	struct dns_rr rr;
	struct wire w;
	unsigned rcode;
	bool have_answer = false, have_soa = false;
	uint32_t answer_min = UINT32_MAX, neg = 0;

	if (dns_hdr_read(msg, len, &h) < 0)
		return false;
	rcode = DNS_RCODE(h.flags);
	if (!(h.flags & DNS_FLAG_QR) || (h.flags & DNS_FLAG_TC) ||
	    (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN))
		return false;
	wire_init(&w, msg, len);
	wire_seek(&w, DNS_HEADER_LEN);
	if (questions_skip(&w, h.qdcount) < 0)
		return false;
	for (unsigned i = 0; i < h.ancount; i++) {
		if (dns_rr_next(&w, &rr) < 0)
			return false;
		if (rr.type == DNS_TYPE_OPT)
			continue; /* its "TTL" is EDNS flags (RFC 6891) */
		answer_min = ttl_min(answer_min, ttl_value(rr.ttl));
		have_answer = true;
	}
	for (unsigned i = 0; i < h.nscount && !have_soa; i++) {
		uint32_t min;

		if (dns_rr_next(&w, &rr) < 0)
			return false;
		if (rr.type != DNS_TYPE_SOA)
			continue;
		if (soa_minimum(msg, &rr, &min) < 0)
			return false;
		neg = ttl_min(ttl_value(rr.ttl), ttl_value(min));
		have_soa = true;
	}
	if (have_answer)
		*ttl = have_soa ? ttl_min(answer_min, neg) : answer_min;
	else if (have_soa)
		*ttl = neg;
	return have_answer || have_soa;
}
