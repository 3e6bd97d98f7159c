/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/msg.c — parsing queries and responses, and building the messages the
 * proxy sends itself. All packet bytes are read through struct wire.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns/msg.h"

/* Offsets of the header fields a proxy rewrites (RFC 1035 4.1.1). */
#define HDR_ID      0
#define HDR_ARCOUNT 10

/* The OPCODE field of the flags (RFC 1035 4.1.1). */
#define FLAGS_OPCODE 0x7800u

/* OPT TTL layout (RFC 6891 6.1.3): EXTENDED-RCODE, VERSION, DO, Z. */
#define OPT_TTL_DO 0x8000u

/* EDE INFO-CODE before EXTRA-TEXT (RFC 8914 2). */
#define OPT_EDE_CODE_LEN 2
/* RFC 7873 4: server cookie 8..32 bytes after the 8-byte client cookie. */
#define COOKIE_MIN_FULL_LEN 16

static void
header_read(struct wire *w, struct dns_header *h)
{
	h->id = wire_u16(w);
	h->flags = wire_u16(w);
	h->qdcount = wire_u16(w);
	h->ancount = wire_u16(w);
	h->nscount = wire_u16(w);
	h->arcount = wire_u16(w);
}

static void
header_write(struct wbuf *b, const struct dns_header *h)
{
	wbuf_u16(b, h->id);
	wbuf_u16(b, h->flags);
	wbuf_u16(b, h->qdcount);
	wbuf_u16(b, h->ancount);
	wbuf_u16(b, h->nscount);
	wbuf_u16(b, h->arcount);
}

int
dns_hdr_read(const uint8_t *msg, size_t len, struct dns_header *h)
{
	struct wire w;

	wire_init(&w, msg, len);
	header_read(&w, h);
	return w.err ? -1 : 0;
}

void
dns_question_name_set(uint8_t *msg, size_t len, const uint8_t *qname,
                      size_t qname_len)
{
	struct wbuf b;

	if (len < DNS_HEADER_LEN + qname_len)
		return;
	wbuf_init(&b, msg + DNS_HEADER_LEN, qname_len);
	wbuf_bytes(&b, qname, qname_len);
}

uint16_t
dns_hdr_id(const uint8_t *msg, size_t len)
{
	struct wire w;

	wire_init(&w, msg, len);
	return wire_u16(&w);
}

void
dns_hdr_set_id(uint8_t *msg, size_t len, uint16_t id)
{
	struct wbuf b;

	wbuf_init(&b, msg, len);
	wbuf_u16(&b, id);
}

uint16_t
dns_hdr_flags(const uint8_t *msg, size_t len)
{
	struct wire w;

	wire_init(&w, msg, len);
	wire_skip(&w, 2);
	return wire_u16(&w);
}

unsigned
dns_hdr_rcode(const uint8_t *msg, size_t len)
{
	return DNS_RCODE(dns_hdr_flags(msg, len));
}

/* QNAME, QTYPE, QCLASS (RFC 1035 4.1.2); the name length, or 0. */
static size_t
question_read(struct wire *w, uint8_t *qname, uint16_t *qtype, uint16_t *qclass)
{
	size_t len = dns_name_read(w, qname);

	*qtype = wire_u16(w);
	*qclass = wire_u16(w);
	return w->err ? 0 : len;
}

static void
question_write(struct wbuf *b, const struct dns_query *q)
{
	wbuf_bytes(b, q->qname, q->qname_len);
	wbuf_u16(b, q->qtype);
	wbuf_u16(b, q->qclass);
}

int
dns_rr_next(struct wire *w, struct dns_rr *rr)
{
	rr->rr_offset = w->pos;
	(void)dns_name_read(w, rr->owner);
	rr->type = wire_u16(w);
	rr->rclass = wire_u16(w);
	rr->ttl = wire_u32(w);
	rr->rdlength = wire_u16(w);
	rr->rdata_offset = w->pos;
	wire_skip(w, rr->rdlength);
	rr->rr_end = w->pos;
	return w->err ? -1 : 0;
}

/*
 * Check the first COOKIE option's length (RFC 7873 5.2.2: 8, or 16..40,
 * else FORMERR) and keep it. Later COOKIE options are ignored (5.2).
 */
static int
opt_cookie_read(struct wire *o, uint16_t len, struct dns_edns *e)
{
	if (e->has_cookie) {
		wire_skip(o, len);
		return 0;
	}
	if (len != DNS_COOKIE_CLIENT_LEN &&
	    (len < COOKIE_MIN_FULL_LEN || len > DNS_COOKIE_MAX_LEN)) {
		e->cookie_malformed = true;
		return -1;
	}
	wire_read(o, e->cookie, len);
	e->has_cookie = true;
	e->cookie_len = (uint8_t)len;
	return 0;
}

/*
 * Walk the options in the OPT RDATA (RFC 6891 6.1.2): each must fit in the
 * RDATA. Unknown options are skipped, as 6.1.2 requires.
 */
static int
opt_options_read(const struct wire *w, const struct dns_rr *rr,
                 struct dns_edns *e)
{
	struct wire o;
	uint16_t code, len;

	wire_init(&o, w->buf + rr->rdata_offset, rr->rdlength);
	while (wire_left(&o) > 0) {
		code = wire_u16(&o);
		len = wire_u16(&o);
		if (o.err || len > wire_left(&o))
			return -1;
		if (code == DNS_OPT_COOKIE) {
			if (opt_cookie_read(&o, len, e) != 0)
				return -1;
		} else if (code == DNS_OPT_PADDING) {
			e->has_padding = true;
			wire_skip(&o, len);
		} else {
			wire_skip(&o, len);
		}
	}
	return o.err ? -1 : 0;
}

/*
 * Record what the OPT RR says (RFC 6891 6.1.2-6.1.3) before checking it, so
 * that a FORMERR for a malformed OPT can still carry an OPT (RFC 6891 7).
 */
static int
opt_read(const struct wire *w, const struct dns_rr *rr, unsigned index,
         struct dns_edns *e)
{
	e->present = true;
	e->udp_size = rr->rclass;
	e->ext_rcode = (uint8_t)(rr->ttl >> 24);
	e->version = (uint8_t)(rr->ttl >> 16);
	e->do_bit = (rr->ttl & OPT_TTL_DO) != 0;
	e->opt_offset = rr->rr_offset;
	e->opt_index = index;
	/* RFC 6891 6.1.2: the owner MUST be the root. */
	if (rr->owner[0] != 0)
		return -1;
	return opt_options_read(w, rr, e);
}

/*
 * Walk the answer, authority and additional sections: every RR must fit,
 * and an OPT may appear once, in the additional section (RFC 6891 6.1.1).
 * The loop is bounded by the message: every RR consumes at least 11 bytes.
 */
static int
sections_read(struct wire *w, const struct dns_header *h, struct dns_edns *e)
{
	unsigned i, first_ar = (unsigned)h->ancount + h->nscount;
	unsigned total = first_ar + h->arcount;
	struct dns_rr rr;

	for (i = 0; i < total; i++) {
		if (dns_rr_next(w, &rr) != 0)
			return -1;
		if (rr.type != DNS_TYPE_OPT)
			continue;
		if (i < first_ar || e->present)
			return -1;
		if (opt_read(w, &rr, i - first_ar, e) != 0)
			return -1;
	}
	return 0;
}

/*
 * Skip a question section we will not answer from (QDCOUNT != 1), only to
 * find the OPT behind it for the FORMERR reply.
 */
static void
questions_skip(struct wire *w, unsigned count)
{
	unsigned i;

	for (i = 0; i < count && !w->err; i++) {
		(void)dns_name_skip(w);
		wire_skip(w, 4); /* QTYPE, QCLASS */
	}
}

/* Everything after the header; see dns_query_parse for the order. */
static enum dns_parse_result
query_body_parse(struct wire *w, struct dns_query *q)
{
	bool bad = false;

	if (q->hdr.qdcount != 1) {
		/*
		 * RFC 9619: a QUERY carries exactly one question. The rest is
		 * still walked so that the FORMERR can carry the OPT. (No
		 * question and a COOKIE is RFC 7873 5.4's cookie query: see
		 * below.)
		 */
		questions_skip(w, q->hdr.qdcount);
		bad = true;
		q->question_end = DNS_HEADER_LEN;
	} else {
		q->qname_len =
		    question_read(w, q->qname, &q->qtype, &q->qclass);
		if (q->qname_len == 0)
			return DNS_PARSE_FORMERR;
		q->question_end = w->pos;
	}
	if (w->err || sections_read(w, &q->hdr, &q->edns) != 0)
		return DNS_PARSE_FORMERR;
	/* Bytes after the last RR mean the counts lie. */
	if (wire_left(w) != 0)
		return DNS_PARSE_FORMERR;
	/* RFC 7873 5.4: QDCOUNT 0 with a COOKIE asks for a cookie only. */
	if (bad && !(q->hdr.qdcount == 0 && q->edns.has_cookie))
		return DNS_PARSE_FORMERR;
	/* RFC 6891 6.1.3: only after the whole message was understood. */
	if (q->edns.present && q->edns.version > 0)
		return DNS_PARSE_BADVERS;
	return DNS_PARSE_OK;
}

enum dns_parse_result
dns_query_parse(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	enum dns_parse_result res;
	struct wire w;

	memset(q, 0, sizeof(*q));
	wire_init(&w, pkt, len);
	header_read(&w, &q->hdr);
	/* Nothing to answer to, or an answer: never reply (no loops). */
	if (w.err || (q->hdr.flags & DNS_FLAG_QR) != 0)
		return DNS_PARSE_DROP;
	res = query_body_parse(&w, q);
	/*
	 * RFC 1035 4.1.1: the opcode decides how the rest is laid out, so an
	 * unknown one wins over anything found in the body. The body was
	 * still read so the NOTIMP reply can carry question and OPT.
	 */
	if (DNS_OPCODE(q->hdr.flags) != DNS_OPCODE_QUERY)
		return DNS_PARSE_NOTIMP;
	return res;
}

int
dns_response_parse(const uint8_t *pkt, size_t len, struct dns_response *r)
{
	struct wire w;

	memset(r, 0, sizeof(*r));
	wire_init(&w, pkt, len);
	header_read(&w, &r->hdr);
	if (w.err || (r->hdr.flags & DNS_FLAG_QR) == 0 || r->hdr.qdcount != 1)
		return -1;
	if (question_read(&w, r->qname, &r->qtype, &r->qclass) == 0)
		return -1;
	r->question_end = w.pos;
	if (sections_read(&w, &r->hdr, &r->edns) != 0)
		return -1;
	r->rcode = DNS_RCODE(r->hdr.flags);
	if (r->edns.present) {
		/* RFC 6891 6.1.3: the OPT holds the upper 8 bits. */
		r->rcode |= (unsigned)r->edns.ext_rcode << 4;
		r->body_end = r->edns.opt_offset;
		r->arcount_kept = (uint16_t)r->edns.opt_index;
	} else {
		/* Trailing bytes, if any, are not part of any RR: drop them. */
		r->body_end = w.pos;
		r->arcount_kept = r->hdr.arcount;
	}
	return 0;
}

/*
 * RFC 1035 4.1.1 speaks of the question a response repeats, but an error
 * may come without one (nsd refuses a class it does not serve with QDCOUNT
 * 0). NOERROR and NXDOMAIN say something about the name, so they need the
 * question to be matched against (RFC 5452 9.1); the other RCODEs speak of
 * the query as a whole.
 */
int
dns_response_parse_bare(const uint8_t *pkt, size_t len, struct dns_response *r)
{
	struct wire w;

	memset(r, 0, sizeof(*r));
	wire_init(&w, pkt, len);
	header_read(&w, &r->hdr);
	if (w.err || (r->hdr.flags & DNS_FLAG_QR) == 0 || r->hdr.qdcount != 0)
		return -1;
	r->question_end = w.pos;
	if (sections_read(&w, &r->hdr, &r->edns) != 0)
		return -1;
	r->rcode = DNS_RCODE(r->hdr.flags);
	if (r->edns.present)
		r->rcode |= (unsigned)r->edns.ext_rcode << 4;
	if (r->rcode == DNS_RCODE_NOERROR || r->rcode == DNS_RCODE_NXDOMAIN)
		return -1;
	r->body_end = r->question_end;
	r->arcount_kept = 0;
	return 0;
}

size_t
dns_response_add_question(uint8_t *out, size_t cap,
                          const struct dns_response *r,
                          const struct dns_query *q)
{
	struct dns_header h = r->hdr;
	struct dns_opt_out o = {
	    .present = r->edns.present,
	    .udp_size = r->edns.udp_size,
	    .do_bit = r->edns.do_bit,
	    .ede_code = -1,
	};
	struct wbuf b;

	if (q->qname_len == 0)
		return 0;
	h.qdcount = 1;
	h.ancount = 0;
	h.nscount = 0;
	h.arcount = o.present ? 1 : 0;
	wbuf_init(&b, out, cap);
	header_write(&b, &h);
	question_write(&b, q);
	dns_opt_write(&b, &o, r->rcode >> 4);
	return b.err ? 0 : b.len;
}

bool
dns_response_matches(const struct dns_response *r, uint16_t id,
                     const struct dns_query *q)
{
	/* RFC 5452 4.3 / RFC 7766 7: ID and the whole question. */
	return q->qname_len > 0 && r->hdr.id == id && r->qtype == q->qtype &&
	       r->qclass == q->qclass && dns_name_equal(r->qname, q->qname);
}

bool
dns_qtype_is_meta(uint16_t qtype)
{
	if (qtype == DNS_TYPE_OPT)
		return true;
	/* RFC 6895 3.1: 0x0080-0x00FF are the Q-TYPEs and meta-TYPEs. */
	return qtype >= 128 && qtype <= 255 && qtype != DNS_TYPE_IXFR &&
	       qtype != DNS_TYPE_AXFR && qtype != DNS_TYPE_ANY;
}

static bool
opt_present(const struct dns_opt_out *o)
{
	return o != NULL && o->present;
}

/*
 * RFC 6891 6.1.3: an RCODE above 15 is split between header and OPT, so it
 * cannot be sent without one; RCODEs have 12 bits.
 */
static bool
rcode_fits(unsigned rcode, const struct dns_opt_out *o)
{
	if (rcode > 0xfff)
		return false;
	return rcode <= 0xf || opt_present(o);
}

void
dns_opt_cookie_write(struct wbuf *b, const uint8_t *cookie, size_t len)
{
	if (len > UINT16_MAX) {
		b->err = 1;
		return;
	}
	wbuf_u16(b, DNS_OPT_COOKIE);
	wbuf_u16(b, (uint16_t)len);
	wbuf_bytes(b, cookie, len);
}

void
dns_opt_ede_write(struct wbuf *b, uint16_t code, const char *text)
{
	/* RFC 8914 2: EXTRA-TEXT is optional and not NUL-terminated. */
	size_t tlen = text == NULL ? 0 : strlen(text);

	if (tlen > UINT16_MAX - OPT_EDE_CODE_LEN) {
		b->err = 1;
		return;
	}
	wbuf_u16(b, DNS_OPT_EDE);
	wbuf_u16(b, (uint16_t)(OPT_EDE_CODE_LEN + tlen));
	wbuf_u16(b, code);
	wbuf_bytes(b, text, tlen);
}

void
dns_opt_write(struct wbuf *b, const struct dns_opt_out *o, unsigned ext_rcode)
{
	uint32_t ttl;
	size_t rdlen_at, rdlen;

	if (!opt_present(o))
		return;
	/* RFC 6891 6.1.3: EXTENDED-RCODE, VERSION 0, DO, Z = 0. */
	ttl = (uint32_t)(ext_rcode & 0xff) << 24;
	if (o->do_bit)
		ttl |= OPT_TTL_DO;
	wbuf_u8(b, 0); /* owner: the root (6.1.2) */
	wbuf_u16(b, DNS_TYPE_OPT);
	wbuf_u16(b, o->udp_size);
	wbuf_u32(b, ttl);
	rdlen_at = b->len;
	wbuf_u16(b, 0); /* RDLENGTH, patched below */
	if (o->cookie != NULL && o->cookie_len > 0)
		dns_opt_cookie_write(b, o->cookie, o->cookie_len);
	if (o->ede_code >= 0 && o->ede_code <= UINT16_MAX)
		dns_opt_ede_write(b, (uint16_t)o->ede_code, o->ede_text);
	/* Last: its length depends on everything before it. */
	if (o->pad_block > 0)
		dns_opt_padding_write(b, o->pad_block);
	rdlen = b->len - rdlen_at - 2;
	if (rdlen > UINT16_MAX)
		b->err = 1;
	else
		wbuf_put_u16_at(b, rdlen_at, (uint16_t)rdlen);
}

void
dns_opt_padding_write(struct wbuf *b, size_t block)
{
	size_t total = b->len + 4; /* with the option's code and length */
	size_t pad;

	if (b->err || block == 0)
		return;
	pad = (block - total % block) % block;
	if (total + pad > b->cap)
		return;
	wbuf_u16(b, DNS_OPT_PADDING);
	wbuf_u16(b, (uint16_t)pad);
	/* RFC 7830 3: the padding octets SHOULD be 0x00. */
	for (size_t i = 0; i < pad; i++)
		wbuf_u8(b, 0);
}

size_t
dns_build_error(uint8_t *out, size_t cap, const struct dns_query *q,
                unsigned rcode, bool ra, const struct dns_opt_out *o)
{
	struct dns_header h = {0};
	struct wbuf b;

	if (!rcode_fits(rcode, o))
		return 0;
	/* RFC 1035 4.1.1: ID, opcode and RD come from the query. */
	h.id = q->hdr.id;
	h.flags = DNS_FLAG_QR | (q->hdr.flags & FLAGS_OPCODE) | (rcode & 0xf);
	/*
	 * RD and RA (like AA, AD and CD) are defined for QUERY only: the
	 * NOTIMP to any other opcode sets none of them, as nsd's does, and
	 * as ISC's EDNS compliance tests (genreport: opcode, opcodeflg)
	 * expect.
	 */
	if (DNS_OPCODE(q->hdr.flags) == DNS_OPCODE_QUERY) {
		h.flags |= q->hdr.flags & DNS_FLAG_RD;
		if (ra)
			h.flags |= DNS_FLAG_RA;
	}
	h.qdcount = q->qname_len > 0 ? 1 : 0;
	h.arcount = opt_present(o) ? 1 : 0;
	wbuf_init(&b, out, cap);
	header_write(&b, &h);
	if (q->qname_len > 0)
		question_write(&b, q);
	dns_opt_write(&b, o, rcode >> 4);
	return b.err ? 0 : b.len;
}

size_t
dns_build_upstream_query(uint8_t *out, size_t cap, const struct dns_query *q,
                         uint16_t id, uint16_t udp_size)
{
	struct dns_header h = {0};
	struct dns_opt_out o = {0};
	struct wbuf b;

	if (q->qname_len == 0)
		return 0;
	h.id = id;
	h.flags = q->hdr.flags & (DNS_FLAG_RD | DNS_FLAG_CD);
	h.qdcount = 1;
	h.arcount = 1;
	/* RFC 3225 3: DO states what the client can take; it is ours too. */
	o.present = true;
	o.udp_size = udp_size;
	o.do_bit = q->edns.present && q->edns.do_bit;
	o.ede_code = -1;
	wbuf_init(&b, out, cap);
	header_write(&b, &h);
	question_write(&b, q);
	dns_opt_write(&b, &o, 0);
	return b.err ? 0 : b.len;
}

/* Overwrite the ID of a message we have written. */
static void
header_id_set(uint8_t *msg, size_t len, uint16_t id)
{
	struct wbuf b;

	wbuf_init(&b, msg, len);
	b.len = len;
	wbuf_put_u16_at(&b, HDR_ID, id);
}

size_t
dns_truncate(uint8_t *out, size_t cap, const uint8_t *msg, size_t len,
             size_t question_end, unsigned rcode, const struct dns_opt_out *o)
{
	struct dns_header h;
	struct wire w;
	struct wbuf b;

	if (question_end < DNS_HEADER_LEN || question_end > len ||
	    !rcode_fits(rcode, o))
		return 0;
	wire_init(&w, msg, len);
	header_read(&w, &h);
	/* RFC 2181 9, RFC 6891 7: header + question + OPT, with TC set. */
	h.flags |= DNS_FLAG_TC;
	h.qdcount = question_end > DNS_HEADER_LEN ? 1 : 0;
	h.ancount = 0;
	h.nscount = 0;
	h.arcount = opt_present(o) ? 1 : 0;
	wbuf_init(&b, out, cap);
	header_write(&b, &h);
	wbuf_bytes(&b, msg + DNS_HEADER_LEN, question_end - DNS_HEADER_LEN);
	dns_opt_write(&b, o, rcode >> 4);
	return b.err ? 0 : b.len;
}

/* resp up to body_end, with the client's ID, ARCOUNT and our OPT. */
static size_t
finish_copy(uint8_t *out, size_t cap, const uint8_t *resp,
            const struct dns_response *r, uint16_t client_id,
            const struct dns_opt_out *o)
{
	unsigned arcount = r->arcount_kept + (opt_present(o) ? 1u : 0u);
	struct wbuf b;

	if (r->body_end < DNS_HEADER_LEN || arcount > UINT16_MAX)
		return 0;
	wbuf_init(&b, out, cap);
	wbuf_bytes(&b, resp, r->body_end);
	wbuf_put_u16_at(&b, HDR_ID, client_id);
	wbuf_put_u16_at(&b, HDR_ARCOUNT, (uint16_t)arcount);
	dns_opt_write(&b, o, r->rcode >> 4);
	return b.err ? 0 : b.len;
}

size_t
dns_response_finish(uint8_t *out, size_t cap, const uint8_t *resp,
                    const struct dns_response *r, uint16_t client_id,
                    const struct dns_opt_out *o, size_t limit)
{
	struct dns_opt_out lean;
	size_t n;

	/* The upstream's extended RCODE needs an OPT toward the client. */
	if (!rcode_fits(r->rcode, o))
		return 0;
	n = finish_copy(out, cap, resp, r, client_id, o);
	if (n > 0 && n <= limit)
		return n;
	/* RFC 8914 3: drop the EDE before truncating. */
	if (opt_present(o) && o->ede_code >= 0) {
		lean = *o;
		lean.ede_code = -1;
		o = &lean;
		n = finish_copy(out, cap, resp, r, client_id, o);
		if (n > 0 && n <= limit)
			return n;
	}
	n = dns_truncate(out, cap, resp, r->body_end, r->question_end, r->rcode,
	                 o);
	if (n > 0)
		header_id_set(out, n, client_id);
	return n;
}

static const char *const rcode_names[] = {
    [DNS_RCODE_NOERROR] = "NOERROR",     [DNS_RCODE_FORMERR] = "FORMERR",
    [DNS_RCODE_SERVFAIL] = "SERVFAIL",   [DNS_RCODE_NXDOMAIN] = "NXDOMAIN",
    [DNS_RCODE_NOTIMP] = "NOTIMP",       [DNS_RCODE_REFUSED] = "REFUSED",
    [DNS_RCODE_YXDOMAIN] = "YXDOMAIN",   [DNS_RCODE_YXRRSET] = "YXRRSET",
    [DNS_RCODE_NXRRSET] = "NXRRSET",     [DNS_RCODE_NOTAUTH] = "NOTAUTH",
    [DNS_RCODE_NOTZONE] = "NOTZONE",     [DNS_RCODE_BADVERS] = "BADVERS",
    [DNS_RCODE_BADCOOKIE] = "BADCOOKIE",
};

const char *
dns_rcode_name(unsigned rcode)
{
	/* A few buffers so one log line can name several unknown RCODEs. */
	static _Thread_local char bufs[4][sizeof("RCODE4294967295")];
	static _Thread_local unsigned next;
	char *buf;

	if (rcode < sizeof(rcode_names) / sizeof(rcode_names[0]) &&
	    rcode_names[rcode] != NULL)
		return rcode_names[rcode];
	buf = bufs[next++ % 4];
	(void)snprintf(buf, sizeof(bufs[0]), "RCODE%u", rcode);
	return buf;
}

struct type_name {
	uint16_t type;
	const char *name;
};

/* IANA "Resource Record (RR) TYPEs"; the ones seen in practice. */
static const struct type_name type_names[] = {
    {1, "A"},       {2, "NS"},          {5, "CNAME"},    {6, "SOA"},
    {12, "PTR"},    {13, "HINFO"},      {15, "MX"},      {16, "TXT"},
    {17, "RP"},     {18, "AFSDB"},      {24, "SIG"},     {25, "KEY"},
    {28, "AAAA"},   {29, "LOC"},        {33, "SRV"},     {35, "NAPTR"},
    {36, "KX"},     {37, "CERT"},       {39, "DNAME"},   {41, "OPT"},
    {42, "APL"},    {43, "DS"},         {44, "SSHFP"},   {45, "IPSECKEY"},
    {46, "RRSIG"},  {47, "NSEC"},       {48, "DNSKEY"},  {49, "DHCID"},
    {50, "NSEC3"},  {51, "NSEC3PARAM"}, {52, "TLSA"},    {53, "SMIMEA"},
    {55, "HIP"},    {59, "CDS"},        {60, "CDNSKEY"}, {61, "OPENPGPKEY"},
    {62, "CSYNC"},  {63, "ZONEMD"},     {64, "SVCB"},    {65, "HTTPS"},
    {99, "SPF"},    {108, "EUI48"},     {109, "EUI64"},  {249, "TKEY"},
    {250, "TSIG"},  {251, "IXFR"},      {252, "AXFR"},   {253, "MAILB"},
    {254, "MAILA"}, {255, "ANY"},       {256, "URI"},    {257, "CAA"},
};

#define TYPE_NAMES_LEN (sizeof(type_names) / sizeof(type_names[0]))

const char *
dns_type_name(uint16_t type, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; i < TYPE_NAMES_LEN; i++) {
		if (type_names[i].type == type)
			return type_names[i].name;
	}
	/* RFC 3597 5: the generic form for types without a mnemonic. */
	if (buf == NULL || cap == 0)
		return "TYPE?";
	(void)snprintf(buf, cap, "TYPE%u", (unsigned)type);
	return buf;
}

/* "TYPE" followed by 1..5 decimal digits up to 65535 (RFC 3597 5). */
static int
type_generic_parse(const char *digits)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; digits[i] != '\0'; i++) {
		if (i == 5 || digits[i] < '0' || digits[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(digits[i] - '0');
	}
	if (i == 0 || v > UINT16_MAX)
		return -1;
	return (int)v;
}

int
dns_type_from_text(const char *text)
{
	size_t i;

	/* Mnemonics are case-insensitive in master files (RFC 1035 5.1). */
	for (i = 0; i < TYPE_NAMES_LEN; i++) {
		if (strcasecmp(type_names[i].name, text) == 0)
			return type_names[i].type;
	}
	if (strncasecmp(text, "TYPE", 4) == 0)
		return type_generic_parse(text + 4);
	return -1;
}

struct class_name {
	uint16_t qclass;
	const char *name;
};

static const struct class_name class_names[] = {
    {DNS_CLASS_IN, "IN"},     {DNS_CLASS_CH, "CH"},   {DNS_CLASS_HS, "HS"},
    {DNS_CLASS_NONE, "NONE"}, {DNS_CLASS_ANY, "ANY"},
};

#define CLASS_NAMES_LEN (sizeof(class_names) / sizeof(class_names[0]))

const char *
dns_class_name(uint16_t qclass, char *buf, size_t cap)
{
	for (size_t i = 0; i < CLASS_NAMES_LEN; i++)
		if (class_names[i].qclass == qclass)
			return class_names[i].name;
	/* RFC 3597 5: the generic form. */
	if (buf == NULL || cap == 0)
		return "CLASS?";
	(void)snprintf(buf, cap, "CLASS%u", (unsigned)qclass);
	return buf;
}

int
dns_class_from_text(const char *text)
{
	for (size_t i = 0; i < CLASS_NAMES_LEN; i++)
		if (strcasecmp(class_names[i].name, text) == 0)
			return class_names[i].qclass;
	if (strncasecmp(text, "CLASS", 5) == 0)
		return type_generic_parse(text + 5);
	return -1;
}

const char *
dns_ede_name(int code)
{
	static const char *const names[] = {
	    "Other Error",
	    "Unsupported DNSKEY Algorithm",
	    "Unsupported DS Digest Type",
	    "Stale Answer",
	    "Forged Answer",
	    "DNSSEC Indeterminate",
	    "DNSSEC Bogus",
	    "Signature Expired",
	    "Signature Not Yet Valid",
	    "DNSKEY Missing",
	    "RRSIGs Missing",
	    "No Zone Key Bit Set",
	    "NSEC Missing",
	    "Cached Error",
	    "Not Ready",
	    "Blocked",
	    "Censored",
	    "Filtered",
	    "Prohibited",
	    "Stale NXDOMAIN Answer",
	    "Not Authoritative",
	    "Not Supported",
	    "No Reachable Authority",
	    "Network Error",
	    "Invalid Data",
	};

	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
		return "Unknown";
	return names[code];
}
