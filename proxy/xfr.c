/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/xfr.c — the stream of a relayed zone transfer (xfr.h).
 */
#include <string.h>

#include "dns/msg.h"
#include "proxy/xfr.h"

/* Serial of the SOA whose RDATA starts at rdata (two names, then it). */
static int
soa_serial(const uint8_t *msg, size_t len, size_t rdata, uint32_t *serial)
{
	struct wire w;

	wire_init(&w, msg, len);
	wire_seek(&w, rdata);
	dns_name_skip(&w);
	dns_name_skip(&w);
	*serial = wire_u32(&w);
	return w.err ? -1 : 0;
}

/*
 * Account one answer record of the stream; true once the stream is over.
 * AXFR (and AXFR-style IXFR) ends with the second SOA. An incremental IXFR
 * (its second record is an SOA) repeats the new SOA at the start of the
 * last additions and once more at the end: the third sighting ends it.
 */
static bool
xfr_record(struct xfr_state *x, const struct dns_rr *rr, uint32_t serial)
{
	bool soa = rr->type == DNS_TYPE_SOA;

	x->records++;
	if (x->records == 1) {
		x->serial = serial;
		x->seen = 1;
		return false;
	}
	if (x->records == 2)
		x->incremental = soa && x->qtype == DNS_TYPE_IXFR;
	if (soa && serial == x->serial)
		x->seen++;
	return x->seen >= (x->incremental ? 3 : 2);
}

/*
 * Walk one message of the stream; 1 when it ends the stream, 0 when more
 * must come, -1 when it is malformed.
 */
static int
xfr_walk(struct xfr_state *x, const uint8_t *msg, size_t len)
{
	struct wire w;
	struct dns_header h;
	struct dns_rr rr;
	bool done = false;

	if (dns_hdr_read(msg, len, &h) < 0)
		return -1;
	wire_init(&w, msg, len);
	wire_seek(&w, DNS_HEADER_LEN);
	/* RFC 5936 2.2.1: later messages may repeat the question or not. */
	for (unsigned i = 0; i < h.qdcount && !w.err; i++) {
		dns_name_skip(&w);
		wire_skip(&w, 4);
	}
	for (unsigned i = 0; i < h.ancount && !done; i++) {
		uint32_t serial = 0;

		if (dns_rr_next(&w, &rr) < 0)
			return -1;
		if (rr.type == DNS_TYPE_SOA &&
		    soa_serial(msg, len, rr.rdata_offset, &serial) < 0)
			return -1;
		done = xfr_record(x, &rr, serial);
	}
	if (w.err || !(h.flags & DNS_FLAG_QR) || h.id != x->upstream_id)
		return -1;
	/* A refusal or error ends the stream too: pass it on. */
	if (DNS_RCODE(h.flags) != DNS_RCODE_NOERROR || h.ancount == 0)
		return 1;
	return done ? 1 : 0;
}

void
xfr_begin(struct xfr_state *x, uint16_t qtype, uint16_t upstream_id,
          uint16_t client_id)
{
	memset(x, 0, sizeof(*x));
	x->qtype = qtype;
	x->upstream_id = upstream_id;
	x->client_id = client_id;
	x->rcode = -1;
}

enum xfr_step
xfr_message(struct xfr_state *x, uint8_t *msg, size_t len)
{
	int end = xfr_walk(x, msg, len);

	if (end < 0)
		return XFR_BROKEN;
	/* The client's ID on every message (RFC 5936 2.2). */
	dns_hdr_set_id(msg, len, x->client_id);
	if (x->messages == 0)
		x->rcode = (int)dns_hdr_rcode(msg, len);
	x->messages++;
	return end ? XFR_DONE : XFR_MORE;
}
