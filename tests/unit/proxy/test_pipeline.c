/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_pipeline.c — the query pipeline without I/O, driven
 * with a configuration loaded from a string: the entries of dnsgate(8) WHAT
 * THE WIRE SEES that the pipeline owns (FORMERR, drop of QR=1, NOTIMP,
 * BADVERS, transfers, no view, view ACL, local zones and data, truncation),
 * the client's size limit, the rewrite of upstream answers, the failure
 * answers, and the decision record each leaves behind. Responses are taken
 * apart with the dns/ codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "policy/decision.h"
#include "proxy/pipeline.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RRS      64
#define BIG_RRS      40 /* A records at big.corp.example: > 512 bytes */
#define NO_EDNS      (-1)
#define NOW_MS       1700000000000ull
#define OPT_NSID     3

/*
 * corp: 10/8 and 2001:db8::/32, with ACL rules 1 allow (except 10.66/16),
 * 2 drop, 3 refuse, and local zones of every kind the pipeline maps.
 * open: 192.168/16 without ACL lines. Anyone else: no view.
 */
static const char corp_conf_head[] =
    "[server]\n"
    "listen = 127.0.0.1:5300\n"
    "[upstream up]\n"
    "server = 192.0.2.53\n"
    "[view corp]\n"
    "match-client = 10.0.0.0/8, 2001:db8::/32\n"
    "allow = !10.66.0.0/16, 10.1.0.0/16, 2001:db8::/32\n"
    "drop = 10.2.0.0/16\n"
    "refuse = 10.3.0.0/16\n"
    "local-zone = corp.example static\n"
    "local-data = www.corp.example. 300 IN A 10.1.2.3\n"
    "local-zone = refused.example refuse\n"
    "local-zone = dropped.example drop\n"
    "local-data = host.lan. 60 IN A 192.168.1.1\n";
static const char corp_conf_tail[] = "[view open]\n"
                                     "match-client = 192.168.0.0/16\n";

/* ede-text = no, and a view that has no upstream. */
static const char local_conf[] = "[server]\n"
                                 "ede-text = no\n"
                                 "[view only]\n"
                                 "match-client = 10.0.0.0/8\n"
                                 "local-data = host.lan. A 192.168.1.1\n";

/*
 * forward-zones: corp (10/8) sends corp.example and example.com to [dc]
 * (corp.example's local data answered first), the rest to [inet]; guest
 * (anyone else) forwards nothing but guest.example.
 */
static const char fwd_conf[] = "[upstream inet]\n"
                               "server = 192.0.2.1\n"
                               "[upstream dc]\n"
                               "server = 192.0.2.10\n"
                               "[view corp]\n"
                               "match-client = 10.0.0.0/8\n"
                               "upstream = inet\n"
                               "forward-zone = corp.example dc\n"
                               "forward-zone = example.com dc\n"
                               "local-zone = corp.example transparent\n"
                               "local-data = www.corp.example. A 10.1.2.3\n"
                               "allow-transfer = any\n"
                               "[view guest]\n"
                               "upstream = none\n"
                               "forward-zone = guest.example inet\n";

struct fixture {
	struct config *corp;
	struct config *local;
	struct config *fwd;
};

static struct config *
conf_load(const char *text)
{
	struct config *c = config_load_string("t.conf", text, stderr);

	assert_non_null(c);
	return c;
}

static int
group_setup(void **state)
{
	static struct fixture f;
	char text[8192];
	size_t len;
	int i;

	len = (size_t)snprintf(text, sizeof(text), "%s", corp_conf_head);
	for (i = 0; i < BIG_RRS; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "local-data = big.corp.example. A "
		                        "10.9.0.%d\n",
		                        i + 1);
	(void)snprintf(text + len, sizeof(text) - len, "%s", corp_conf_tail);
	f.corp = config_load_string("t.conf", text, stderr);
	f.local = config_load_string("t.conf", local_conf, stderr);
	f.fwd = config_load_string("t.conf", fwd_conf, stderr);
	if (f.corp == NULL || f.local == NULL || f.fwd == NULL)
		return -1;
	*state = &f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	config_unref(f->corp);
	config_unref(f->local);
	config_unref(f->fwd);
	return 0;
}

/* ---- queries ---- */

struct qspec {
	const char *qname;
	uint16_t qtype;
	uint16_t id;
	uint16_t flags;
	int edns_udp; /* NO_EDNS: no OPT */
	bool do_bit;
	uint16_t qclass; /* 0: IN */
};

/* A well-formed query, written with the wire builder. */
static size_t
query_make(uint8_t *buf, size_t cap, const struct qspec *s)
{
	uint8_t name[DNS_NAME_MAX];
	size_t nlen = dns_name_from_text(s->qname, NULL, name);
	struct wbuf b;

	assert_int_not_equal(nlen, 0);
	wbuf_init(&b, buf, cap);
	wbuf_u16(&b, s->id);
	wbuf_u16(&b, s->flags);
	wbuf_u16(&b, 1);                              /* QDCOUNT */
	wbuf_u16(&b, 0);                              /* ANCOUNT */
	wbuf_u16(&b, 0);                              /* NSCOUNT */
	wbuf_u16(&b, s->edns_udp == NO_EDNS ? 0 : 1); /* ARCOUNT */
	wbuf_bytes(&b, name, nlen);
	wbuf_u16(&b, s->qtype);
	wbuf_u16(&b, s->qclass != 0 ? s->qclass : DNS_CLASS_IN);
	if (s->edns_udp != NO_EDNS) {
		wbuf_u8(&b, 0);                        /* owner: root */
		wbuf_u16(&b, DNS_TYPE_OPT);            /* TYPE */
		wbuf_u16(&b, (uint16_t)s->edns_udp);   /* CLASS: UDP size */
		wbuf_u32(&b, s->do_bit ? 0x8000u : 0); /* ext rcode, ver, DO */
		wbuf_u16(&b, 0);                       /* RDLENGTH */
	}
	assert_int_equal(b.err, 0);
	return b.len;
}

/* ---- responses, taken apart with the codec ---- */

struct opt_option {
	uint16_t code;
	uint16_t len;
	size_t off; /* of the option data in the message */
};

struct resp {
	struct dns_header h;
	uint8_t qname[DNS_NAME_MAX];
	uint16_t qtype;
	uint16_t qclass;
	struct dns_rr rr[MAX_RRS];
	unsigned nrr;
	/* OPT */
	bool has_opt;
	uint16_t opt_udp;
	uint8_t opt_ext_rcode;
	uint8_t opt_version;
	bool opt_do;
	struct opt_option opts[8];
	unsigned nopts;
	/* EDE */
	bool has_ede;
	uint16_t ede_code;
	char ede_text[256];
	size_t ede_text_len;
};

static void
opt_decode(const uint8_t *msg, const struct dns_rr *rr, struct resp *r)
{
	struct wire w;

	assert_false(r->has_opt); /* one OPT at most */
	assert_int_equal(rr->owner[0], 0);
	r->has_opt = true;
	r->opt_udp = rr->rclass;
	r->opt_ext_rcode = (uint8_t)(rr->ttl >> 24);
	r->opt_version = (uint8_t)(rr->ttl >> 16);
	r->opt_do = (rr->ttl & 0x8000u) != 0;
	wire_init(&w, msg + rr->rdata_offset, rr->rdlength);
	while (wire_left(&w) > 0) {
		struct opt_option *o = &r->opts[r->nopts];

		assert_true(r->nopts < ARRAY_LEN(r->opts));
		o->code = wire_u16(&w);
		o->len = wire_u16(&w);
		o->off = rr->rdata_offset + w.pos;
		assert_true(o->len <= wire_left(&w));
		if (o->code == DNS_OPT_EDE) {
			/* dnsgate sends one EDE at most */
			assert_false(r->has_ede);
			assert_true(o->len >= 2);
			r->has_ede = true;
			r->ede_code = wire_u16(&w);
			r->ede_text_len = o->len - 2u;
			assert_true(r->ede_text_len < sizeof(r->ede_text));
			wire_read(&w, r->ede_text, r->ede_text_len);
			r->ede_text[r->ede_text_len] = '\0';
		} else {
			wire_skip(&w, o->len);
		}
		r->nopts++;
	}
	assert_int_equal(w.err, 0);
}

static void
resp_decode(const uint8_t *msg, size_t len, struct resp *r)
{
	struct wire w;
	unsigned i;

	memset(r, 0, sizeof(*r));
	wire_init(&w, msg, len);
	r->h.id = wire_u16(&w);
	r->h.flags = wire_u16(&w);
	r->h.qdcount = wire_u16(&w);
	r->h.ancount = wire_u16(&w);
	r->h.nscount = wire_u16(&w);
	r->h.arcount = wire_u16(&w);
	assert_int_equal(w.err, 0);
	assert_true(r->h.flags & DNS_FLAG_QR);
	assert_true(r->h.qdcount <= 1);
	if (r->h.qdcount == 1) {
		assert_int_not_equal(dns_name_read(&w, r->qname), 0);
		r->qtype = wire_u16(&w);
		r->qclass = wire_u16(&w);
	}
	r->nrr = (unsigned)r->h.ancount + r->h.nscount + r->h.arcount;
	assert_true(r->nrr <= MAX_RRS);
	for (i = 0; i < r->nrr; i++) {
		assert_int_equal(dns_rr_next(&w, &r->rr[i]), 0);
		if (r->rr[i].type == DNS_TYPE_OPT) {
			/* only in the additional section (RFC 6891 6.1.1) */
			assert_true(i >= (unsigned)r->h.ancount + r->h.nscount);
			opt_decode(msg, &r->rr[i], r);
		}
	}
	/* Nothing after the last RR. */
	assert_int_equal(w.err, 0);
	assert_int_equal(wire_left(&w), 0);
}

/* The full 12-bit RCODE (RFC 6891 6.1.3). */
static unsigned
resp_rcode(const struct resp *r)
{
	return DNS_RCODE(r->h.flags) | (unsigned)r->opt_ext_rcode << 4;
}

static void
assert_qname(const uint8_t *wire_name, const char *text)
{
	uint8_t want[DNS_NAME_MAX];

	assert_int_not_equal(dns_name_from_text(text, NULL, want), 0);
	assert_true(dns_name_equal(wire_name, want));
}

static void
assert_ede(const struct resp *r, uint16_t code, const char *text)
{
	assert_true(r->has_opt);
	assert_true(r->has_ede);
	assert_int_equal(r->ede_code, code);
	assert_string_equal(r->ede_text, text);
}

/* ---- running the pipeline ---- */

struct run {
	struct qctx c;
	enum pipe_verdict v;
	struct resp r; /* when v == PIPE_ANSWER */
	uint8_t out[DNS_MAX_MSG];
	uint8_t pkt[DNS_MAX_MSG];
};

static struct run *
run_new(void)
{
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

static void
run_prepare(struct run *r, const struct config *conf, const char *client,
            bool tcp, const uint8_t *pkt, size_t len)
{
	qctx_init(&r->c, conf, NOW_MS);
	r->c.out = r->out;
	r->c.outcap = sizeof(r->out);
	assert_int_equal(ip_addr_parse(client, &r->c.client), 0);
	r->c.client_port = 40000;
	r->c.tcp = tcp;
	r->c.transport = tcp ? TRANSPORT_TCP : TRANSPORT_UDP;
	r->c.pkt = pkt;
	r->c.pktlen = len;
}

/* Run pkt through pipeline_query; decode the answer if there is one. */
static enum pipe_verdict
run_bytes(struct run *r, const struct config *conf, const char *client,
          bool tcp, const uint8_t *pkt, size_t len)
{
	run_prepare(r, conf, client, tcp, pkt, len);
	r->v = pipeline_query(&r->c);
	if (r->v == PIPE_ANSWER) {
		assert_true(r->c.outlen >= DNS_HEADER_LEN);
		resp_decode(r->out, r->c.outlen, &r->r);
	}
	return r->v;
}

static enum pipe_verdict
run_query(struct run *r, const struct config *conf, const char *client,
          bool tcp, const struct qspec *s)
{
	size_t len = query_make(r->pkt, sizeof(r->pkt), s);

	run_bytes(r, conf, client, tcp, r->pkt, len);
	/* An answer repeats the question's class. */
	if (r->v == PIPE_ANSWER && r->r.h.qdcount == 1)
		assert_int_equal(r->r.qclass,
		                 s->qclass != 0 ? s->qclass : DNS_CLASS_IN);
	return r->v;
}

static const struct fixture *
fx(void **state)
{
	return *state;
}

/* ---- stage 1: parse ---- */

static void
test_pipeline_formerr_qdcount_0(void **state)
{
	static const uint8_t pkt[] = {
	    0xab, 0xcd, /* ID */
	    0x01, 0x00, /* QR=0 QUERY, RD */
	    0x00, 0x00, /* QDCOUNT 0 */
	    0x00, 0x00, /* ANCOUNT */
	    0x00, 0x00, /* NSCOUNT */
	    0x00, 0x00, /* ARCOUNT */
	};
	struct run *r = run_new();

	assert_int_equal(
	    run_bytes(r, fx(state)->corp, "10.1.2.3", false, pkt, sizeof(pkt)),
	    PIPE_ANSWER);
	assert_int_equal(r->r.h.id, 0xabcd);
	assert_true(r->r.h.flags & DNS_FLAG_RD);
	assert_int_equal(DNS_OPCODE(r->r.h.flags), 0);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_FORMERR);
	assert_int_equal(r->r.h.qdcount, 0);
	assert_int_equal(r->r.nrr, 0);
	assert_int_equal(r->c.dec.action, ACTION_FORMERR);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_FORMERR);
	assert_int_equal(r->c.dec.ede, -1);
	assert_false(r->c.dec.have_question);
	assert_int_equal(r->c.dec.id, 0xabcd);
	/* Parse comes before view selection. */
	assert_null(r->c.dec.view);
	free(r);
}

/* RFC 6891 7: a FORMERR to a query with a readable OPT carries our OPT. */
static void
test_pipeline_formerr_keeps_opt(void **state)
{
	static const uint8_t pkt[] = {
	    0x00, 0x07,             /* ID */
	    0x00, 0x00,             /* QR=0 QUERY */
	    0x00, 0x02,             /* QDCOUNT 2 */
	    0x00, 0x00,             /* ANCOUNT */
	    0x00, 0x00,             /* NSCOUNT */
	    0x00, 0x01,             /* ARCOUNT 1 */
	    0x01, 'a',  0x00,       /* question 1: a. */
	    0x00, 0x01,             /* QTYPE A */
	    0x00, 0x01,             /* QCLASS IN */
	    0x01, 'b',  0x00,       /* question 2: b. */
	    0x00, 0x01,             /* QTYPE A */
	    0x00, 0x01,             /* QCLASS IN */
	    0x00,                   /* OPT owner: root */
	    0x00, 0x29,             /* TYPE OPT */
	    0x04, 0xd0,             /* UDP size 1232 */
	    0x00, 0x00, 0x00, 0x00, /* ext rcode, version 0, flags */
	    0x00, 0x00,             /* RDLENGTH */
	};
	struct run *r = run_new();

	assert_int_equal(
	    run_bytes(r, fx(state)->corp, "10.1.2.3", false, pkt, sizeof(pkt)),
	    PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_FORMERR);
	assert_int_equal(r->r.h.qdcount, 0);
	assert_true(r->r.has_opt);
	assert_int_equal(r->r.opt_version, 0);
	assert_int_equal(r->r.opt_udp, 1232);
	assert_int_equal(r->c.dec.action, ACTION_FORMERR);
	free(r);
}

static void
test_pipeline_formerr_bad_names(void **state)
{
	/* A compression pointer to itself in the question. */
	static const uint8_t loop[] = {
	    0x00, 0x01, /* ID */
	    0x00, 0x00, /* QR=0 QUERY */
	    0x00, 0x01, /* QDCOUNT 1 */
	    0x00, 0x00, /* ANCOUNT */
	    0x00, 0x00, /* NSCOUNT */
	    0x00, 0x00, /* ARCOUNT */
	    0xc0, 0x0c, /* QNAME: pointer to offset 12, itself */
	    0x00, 0x01, /* QTYPE A */
	    0x00, 0x01, /* QCLASS IN */
	};
	/* A label running past the end of the message. */
	static const uint8_t past_end[] = {
	    0x00, 0x02,           /* ID */
	    0x00, 0x00,           /* QR=0 QUERY */
	    0x00, 0x01,           /* QDCOUNT 1 */
	    0x00, 0x00,           /* ANCOUNT */
	    0x00, 0x00,           /* NSCOUNT */
	    0x00, 0x00,           /* ARCOUNT */
	    0x09, 'e',  'x', 'a', /* label of 9, only 3 bytes follow */
	};
	/* Bytes after the question: the counts lie. */
	static const uint8_t junk[] = {
	    0x00, 0x03,       /* ID */
	    0x00, 0x00,       /* QR=0 QUERY */
	    0x00, 0x01,       /* QDCOUNT 1 */
	    0x00, 0x00,       /* ANCOUNT */
	    0x00, 0x00,       /* NSCOUNT */
	    0x00, 0x00,       /* ARCOUNT */
	    0x01, 'a',  0x00, /* QNAME a. */
	    0x00, 0x01,       /* QTYPE A */
	    0x00, 0x01,       /* QCLASS IN */
	    0xde, 0xad,       /* trailing junk */
	};
	static const struct {
		const uint8_t *pkt;
		size_t len;
		uint16_t id;
		uint16_t qdcount; /* the question, when it was readable */
	} cases[] = {
	    {loop, sizeof(loop), 1, 0},
	    {past_end, sizeof(past_end), 2, 0},
	    {junk, sizeof(junk), 3, 1},
	};
	uint8_t label64[DNS_HEADER_LEN + 1 + 64 + 1 + 4];
	struct run *r = run_new();
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(run_bytes(r, fx(state)->corp, "10.1.2.3",
		                           false, cases[i].pkt, cases[i].len),
		                 PIPE_ANSWER);
		assert_int_equal(r->r.h.id, cases[i].id);
		assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_FORMERR);
		assert_int_equal(r->r.h.qdcount, cases[i].qdcount);
		assert_int_equal(r->c.dec.action, ACTION_FORMERR);
	}

	/* A label of 64 bytes (RFC 1035 2.3.4: at most 63). */
	memset(label64, 0, sizeof(label64));
	label64[1] = 0x04;            /* ID 4 */
	label64[5] = 0x01;            /* QDCOUNT 1 */
	label64[DNS_HEADER_LEN] = 64; /* label length 64 */
	memset(label64 + DNS_HEADER_LEN + 1, 'a', 64);
	/* then the root label, QTYPE A, QCLASS IN */
	label64[DNS_HEADER_LEN + 1 + 64 + 2] = 0x01;
	label64[DNS_HEADER_LEN + 1 + 64 + 4] = 0x01;
	assert_int_equal(run_bytes(r, fx(state)->corp, "10.1.2.3", false,
	                           label64, sizeof(label64)),
	                 PIPE_ANSWER);
	assert_int_equal(r->r.h.id, 4);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_FORMERR);
	assert_int_equal(r->r.h.qdcount, 0);
	free(r);
}

static void
test_pipeline_qr_set_is_dropped(void **state)
{
	static const uint8_t pkt[] = {
	    0x12, 0x34,       /* ID */
	    0x81, 0x80,       /* QR=1 (a response), RD, RA */
	    0x00, 0x01,       /* QDCOUNT 1 */
	    0x00, 0x00,       /* ANCOUNT */
	    0x00, 0x00,       /* NSCOUNT */
	    0x00, 0x00,       /* ARCOUNT */
	    0x01, 'a',  0x00, /* QNAME a. */
	    0x00, 0x01,       /* QTYPE A */
	    0x00, 0x01,       /* QCLASS IN */
	};
	static const uint8_t short_hdr[] = {
	    0x12, 0x34, /* ID */
	    0x01, 0x00, /* flags */
	    0x00, 0x01, /* QDCOUNT; the rest of the header is missing */
	};
	struct run *r = run_new();

	assert_int_equal(
	    run_bytes(r, fx(state)->corp, "10.1.2.3", false, pkt, sizeof(pkt)),
	    PIPE_DROP);
	assert_int_equal(r->c.dec.action, ACTION_DROP);
	assert_int_equal(r->c.dec.rcode, -1);
	assert_string_equal(r->c.dec.rule, "parse:unanswerable");
	/* Header unreadable: dropped too. */
	assert_int_equal(run_bytes(r, fx(state)->corp, "10.1.2.3", false,
	                           short_hdr, sizeof(short_hdr)),
	                 PIPE_DROP);
	assert_int_equal(r->c.dec.action, ACTION_DROP);
	free(r);
}

static void
test_pipeline_notimp_for_other_opcodes(void **state)
{
	static const uint8_t pkt[] = {
	    0x0b, 0xad,       /* ID */
	    0x28, 0x00,       /* QR=0, opcode 5 (UPDATE) */
	    0x00, 0x01,       /* QDCOUNT (ZOCOUNT) 1 */
	    0x00, 0x00,       /* ANCOUNT */
	    0x00, 0x00,       /* NSCOUNT */
	    0x00, 0x00,       /* ARCOUNT */
	    0x01, 'a',  0x00, /* ZNAME a. */
	    0x00, 0x06,       /* ZTYPE SOA */
	    0x00, 0x01,       /* ZCLASS IN */
	};
	struct run *r = run_new();

	assert_int_equal(
	    run_bytes(r, fx(state)->corp, "10.1.2.3", false, pkt, sizeof(pkt)),
	    PIPE_ANSWER);
	assert_int_equal(r->r.h.id, 0x0bad);
	assert_int_equal(DNS_OPCODE(r->r.h.flags), 5);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_NOTIMP);
	assert_int_equal(r->r.h.qdcount, 1);
	assert_qname(r->r.qname, "a.");
	assert_int_equal(r->c.dec.action, ACTION_NOTIMP);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_NOTIMP);
	free(r);
}

static void
test_pipeline_badvers(void **state)
{
	static const uint8_t pkt[] = {
	    0x12, 0x34,                                /* ID */
	    0x01, 0x00,                                /* QR=0 QUERY, RD */
	    0x00, 0x01,                                /* QDCOUNT 1 */
	    0x00, 0x00,                                /* ANCOUNT */
	    0x00, 0x00,                                /* NSCOUNT */
	    0x00, 0x01,                                /* ARCOUNT 1 */
	    0x03, 'w',  'w', 'w',                      /* QNAME www */
	    0x07, 'e',  'x', 'a', 'm',  'p', 'l', 'e', /* example */
	    0x03, 'c',  'o', 'm', 0x00,                /* com. */
	    0x00, 0x01,                                /* QTYPE A */
	    0x00, 0x01,                                /* QCLASS IN */
	    0x00,                                      /* OPT owner: root */
	    0x00, 0x29,                                /* TYPE OPT */
	    0x10, 0x00,                                /* UDP size 4096 */
	    0x00,                                      /* extended RCODE 0 */
	    0x01,                                      /* EDNS VERSION 1 */
	    0x00, 0x00,                                /* DO=0, Z */
	    0x00, 0x00,                                /* RDLENGTH 0 */
	};
	struct run *r = run_new();

	assert_int_equal(
	    run_bytes(r, fx(state)->corp, "10.1.2.3", false, pkt, sizeof(pkt)),
	    PIPE_ANSWER);
	assert_int_equal(r->r.h.id, 0x1234);
	/* RCODE 16 = header 0 + OPT extended RCODE 1 (RFC 6891 6.1.3). */
	assert_int_equal(DNS_RCODE(r->r.h.flags), 0);
	assert_true(r->r.has_opt);
	assert_int_equal(r->r.opt_ext_rcode, 1);
	assert_int_equal(resp_rcode(&r->r), DNS_RCODE_BADVERS);
	assert_int_equal(r->r.opt_version, 0);
	assert_int_equal(r->r.opt_udp, 1232);
	assert_int_equal(r->r.h.qdcount, 1);
	assert_qname(r->r.qname, "www.example.com.");
	assert_int_equal(r->c.dec.action, ACTION_BADVERS);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_BADVERS);
	free(r);
}

/* ---- transfers ---- */

static void
test_pipeline_axfr_over_udp_formerr(void **state)
{
	static const uint16_t types[] = {DNS_TYPE_AXFR, DNS_TYPE_IXFR};
	struct qspec s = {.qname = "corp.example.", .id = 9, .edns_udp = 1232};
	struct run *r = run_new();
	size_t i;

	for (i = 0; i < ARRAY_LEN(types); i++) {
		s.qtype = types[i];
		assert_int_equal(
		    run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
		    PIPE_ANSWER);
		assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_FORMERR);
		assert_int_equal(r->r.h.qdcount, 1);
		assert_int_equal(r->r.qtype, types[i]);
		assert_false(r->r.has_ede);
		assert_int_equal(r->c.dec.action, ACTION_FORMERR);
		assert_string_equal(r->c.dec.rule, "transfer:udp");
	}
	free(r);
}

/* OPT, TKEY, TSIG, MAILB, MAILA and 128-248: FORMERR over UDP and TCP,
 * before any view (RFC 6895 3.1); ANY is a question and goes on. */
static void
test_pipeline_meta_qtype_formerr(void **state)
{
	static const uint16_t types[] = {
	    DNS_TYPE_OPT,   DNS_TYPE_TKEY, DNS_TYPE_TSIG, DNS_TYPE_MAILB,
	    DNS_TYPE_MAILA, 128,           200,           248,
	};
	struct qspec s = {.qname = "www.example.com.",
	                  .id = 7,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = 1232};
	struct run *r = run_new();

	for (size_t i = 0; i < ARRAY_LEN(types) * 2; i++) {
		bool tcp = i >= ARRAY_LEN(types);

		s.qtype = types[i % ARRAY_LEN(types)];
		assert_int_equal(
		    run_query(r, fx(state)->corp, "10.1.2.3", tcp, &s),
		    PIPE_ANSWER);
		assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_FORMERR);
		assert_int_equal(r->r.h.qdcount, 1);
		assert_int_equal(r->r.qtype, s.qtype);
		assert_true(r->r.has_opt);
		assert_false(r->r.has_ede);
		assert_null(r->c.dec.view);
		assert_int_equal(r->c.dec.action, ACTION_FORMERR);
		assert_string_equal(r->c.dec.rule, "parse:meta-type");
	}
	s.qtype = DNS_TYPE_ANY;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_FORWARD);
	free(r);
}

static void
test_pipeline_axfr_over_tcp_refused_ede_18_with_edns(void **state)
{
	struct qspec s = {.qname = "corp.example.",
	                  .qtype = DNS_TYPE_AXFR,
	                  .id = 10,
	                  .edns_udp = 1232};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", true, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_ede(&r->r, DNS_EDE_PROHIBITED, "zone transfer not allowed");
	assert_int_equal(r->c.dec.action, ACTION_REFUSE);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(r->c.dec.ede, DNS_EDE_PROHIBITED);
	assert_string_equal(r->c.dec.rule, "allow-transfer:corp");

	/* Without EDNS there is nowhere to put an EDE (RFC 8914 2). */
	s.edns_udp = NO_EDNS;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", true, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_false(r->r.has_opt);
	assert_int_equal(r->r.h.arcount, 0);
	assert_int_equal(r->c.dec.ede, -1);
	free(r);
}

/* ---- stage 3: view ---- */

static void
test_pipeline_no_view_refused_ede_18(void **state)
{
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0x4444,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = 4096};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->corp, "192.0.2.1", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(r->r.h.id, 0x4444);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_int_equal(r->r.h.ancount, 0);
	assert_ede(&r->r, DNS_EDE_PROHIBITED, "no view matches");
	assert_null(r->c.dec.view);
	assert_int_equal(r->c.dec.action, ACTION_REFUSE);
	assert_int_equal(r->c.dec.ede, DNS_EDE_PROHIBITED);
	assert_string_equal(r->c.dec.rule, "view:none");

	/* An IPv6 client outside every view. */
	assert_int_equal(
	    run_query(r, fx(state)->corp, "2001:db9::1", false, &s),
	    PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_string_equal(r->c.dec.rule, "view:none");
	free(r);
}

static void
test_pipeline_no_view_without_ede_text(void **state)
{
	struct qspec s = {
	    .qname = "www.example.com.", .qtype = DNS_TYPE_A, .edns_udp = 1232};
	struct run *r = run_new();

	/* ede-text = no: the code only, EXTRA-TEXT empty. */
	assert_int_equal(run_query(r, fx(state)->local, "192.0.2.1", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_ede(&r->r, DNS_EDE_PROHIBITED, "");
	assert_int_equal(r->r.ede_text_len, 0);
	assert_int_equal(r->c.dec.ede, DNS_EDE_PROHIBITED);
	free(r);
}

static void
test_pipeline_view_without_upstream_refused(void **state)
{
	struct qspec s = {
	    .qname = "www.example.com.", .qtype = DNS_TYPE_A, .edns_udp = 1232};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->local, "10.0.0.1", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_ede(&r->r, DNS_EDE_NOT_AUTHORITATIVE, "");
	assert_string_equal(r->c.dec.view, "only");
	assert_string_equal(r->c.dec.rule, "view:only:no-upstream");
	/* Local data of that view still answers. */
	s.qname = "host.lan.";
	assert_int_equal(run_query(r, fx(state)->local, "10.0.0.1", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_NOERROR);
	assert_int_equal(r->r.h.ancount, 1);
	assert_int_equal(r->c.dec.action, ACTION_LOCAL);
	free(r);
}

/* ---- stage 4: ACL ---- */

static void
test_pipeline_acl_refuse_and_drop(void **state)
{
	static const struct {
		const char *client;
		enum pipe_verdict v;
		const char *rule;
	} cases[] = {
	    {"10.2.0.1", PIPE_DROP, "acl:corp:2"},
	    {"10.3.0.1", PIPE_ANSWER, "acl:corp:3"},
	    /* rule 1 rejects 10.66/16 through '!', none else applies */
	    {"10.66.0.1", PIPE_ANSWER, "acl:corp:0"},
	    /* in the view, in no rule */
	    {"10.200.0.1", PIPE_ANSWER, "acl:corp:0"},
	};
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 77,
	                  .edns_udp = 1232};
	struct run *r = run_new();
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(
		    run_query(r, fx(state)->corp, cases[i].client, false, &s),
		    cases[i].v);
		assert_string_equal(r->c.dec.view, "corp");
		assert_string_equal(r->c.dec.rule, cases[i].rule);
		if (cases[i].v == PIPE_DROP) {
			assert_int_equal(r->c.dec.action, ACTION_DROP);
			assert_int_equal(r->c.dec.rcode, -1);
			assert_int_equal(r->c.dec.ede, -1);
			continue;
		}
		assert_int_equal(r->r.h.id, 77);
		assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
		assert_ede(&r->r, DNS_EDE_PROHIBITED,
		           "refused by the view's ACL");
		assert_int_equal(r->c.dec.action, ACTION_REFUSE);
		assert_int_equal(r->c.dec.rcode, DNS_RCODE_REFUSED);
		assert_int_equal(r->c.dec.ede, DNS_EDE_PROHIBITED);
	}
	free(r);
}

static void
test_pipeline_acl_allow_forwards(void **state)
{
	struct qspec s = {.qname = "WWW.Example.com.",
	                  .qtype = DNS_TYPE_AAAA,
	                  .id = 0x5151,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = 4096};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_FORWARD);
	assert_int_equal(r->c.outlen, 0);
	assert_non_null(r->c.view);
	assert_ptr_equal(r->c.view->upstream, fx(state)->corp->upstreams[0]);
	/* The decision record of a plain forward. */
	assert_string_equal(r->c.dec.view, "corp");
	assert_int_equal(r->c.dec.action, ACTION_FORWARD);
	assert_string_equal(r->c.dec.rule, "");
	assert_true(decision_is_default(&r->c.dec));
	assert_int_equal(r->c.dec.rcode, -1);
	assert_int_equal(r->c.dec.ede, -1);
	assert_true(r->c.dec.have_question);
	assert_qname(r->c.dec.qname, "www.example.com.");
	assert_int_equal(r->c.dec.qtype, DNS_TYPE_AAAA);
	assert_int_equal(r->c.dec.id, 0x5151);
	assert_int_equal(r->c.dec.port, 40000);
	assert_int_equal(r->c.dec.proto, TRANSPORT_UDP);
	assert_true(ip_addr_equal(&r->c.dec.client, &r->c.client));
	assert_true(r->c.dec.ts_ms == NOW_MS);

	/* IPv6 client allowed by rule 1; a view with no ACL lines. */
	assert_int_equal(run_query(r, fx(state)->corp, "2001:db8::5", true, &s),
	                 PIPE_FORWARD);
	assert_int_equal(r->c.dec.proto, TRANSPORT_TCP);
	assert_int_equal(
	    run_query(r, fx(state)->corp, "192.168.7.7", false, &s),
	    PIPE_FORWARD);
	assert_string_equal(r->c.dec.view, "open");
	free(r);
}

/* ---- stage 4c: the class ---- */

/*
 * Every class but IN is REFUSED with EDE 21 and never forwarded (BIND and
 * Unbound refuse the classes they serve nothing in): CH and HS, the
 * meta-classes ANY and NONE, and classes with no name. Class ANY does not
 * get past a local zone either, as it did when local data was skipped for
 * it and the query forwarded.
 */
static void
test_pipeline_other_classes_refused(void **state)
{
	static const struct {
		uint16_t qclass;
		const char *qname;
		const char *rule;
		const char *text;
	} cases[] = {
	    {DNS_CLASS_CH, "version.bind.", "class:CH",
	     "class CH is not served"},
	    {DNS_CLASS_HS, "www.example.com.", "class:HS",
	     "class HS is not served"},
	    {DNS_CLASS_ANY, "x.refused.example.", "class:ANY",
	     "class ANY is not served"},
	    {DNS_CLASS_ANY, "www.corp.example.", "class:ANY",
	     "class ANY is not served"},
	    {DNS_CLASS_NONE, "www.example.com.", "class:NONE",
	     "class NONE is not served"},
	    {2, "www.example.com.", "class:CLASS2",
	     "class CLASS2 is not served"},
	    {65535, "www.example.com.", "class:CLASS65535",
	     "class CLASS65535 is not served"},
	};
	struct run *r = run_new();

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct qspec s = {.qname = cases[i].qname,
		                  .qtype = DNS_TYPE_A,
		                  .id = 0x4444,
		                  .flags = DNS_FLAG_RD,
		                  .edns_udp = 1232,
		                  .qclass = cases[i].qclass};

		assert_int_equal(
		    run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
		    PIPE_ANSWER);
		assert_int_equal(r->r.h.id, 0x4444);
		assert_int_equal(r->r.h.qdcount, 1);
		assert_qname(r->r.qname, cases[i].qname);
		assert_int_equal(resp_rcode(&r->r), DNS_RCODE_REFUSED);
		assert_int_equal(r->r.h.ancount + r->r.h.nscount, 0);
		assert_ede(&r->r, DNS_EDE_NOT_SUPPORTED, cases[i].text);
		assert_string_equal(r->c.dec.view, "corp");
		assert_int_equal(r->c.dec.action, ACTION_REFUSE);
		assert_string_equal(r->c.dec.rule, cases[i].rule);
		assert_int_equal(r->c.dec.rcode, DNS_RCODE_REFUSED);
		assert_int_equal(r->c.dec.ede, DNS_EDE_NOT_SUPPORTED);
	}
	free(r);
}

/* The view's ACL comes first: a client it drops is dropped whatever the
 * class, and one it refuses is refused by the ACL. */
static void
test_pipeline_acl_before_class(void **state)
{
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .edns_udp = 1232,
	                  .qclass = DNS_CLASS_HS};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->corp, "10.2.0.1", false, &s),
	                 PIPE_DROP);
	assert_string_equal(r->c.dec.rule, "acl:corp:2");
	assert_int_equal(run_query(r, fx(state)->corp, "10.3.0.1", false, &s),
	                 PIPE_ANSWER);
	assert_string_equal(r->c.dec.rule, "acl:corp:3");
	/* Class IN goes on as before. */
	s.qclass = DNS_CLASS_IN;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_FORWARD);
	free(r);
}

/* ---- stage 5: local zones and data ---- */

static void
test_pipeline_local_answer(void **state)
{
	struct qspec s = {.qname = "www.corp.example.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0x0102,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = 1232,
	                  .do_bit = true};
	struct run *r = run_new();
	const struct dns_rr *a;

	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(r->r.h.id, 0x0102);
	assert_true(r->r.h.flags & DNS_FLAG_AA);
	assert_true(r->r.h.flags & DNS_FLAG_RD);
	assert_false(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_NOERROR);
	assert_int_equal(r->r.h.ancount, 1);
	a = &r->r.rr[0];
	assert_int_equal(a->type, DNS_TYPE_A);
	assert_int_equal(a->ttl, 300);
	assert_int_equal(a->rdlength, 4);
	assert_memory_equal(r->out + a->rdata_offset,
	                    ((const uint8_t[]){10, 1, 2, 3}), 4);
	/* Our OPT: our size, DO copied, no EDE. */
	assert_true(r->r.has_opt);
	assert_int_equal(r->r.opt_udp, 1232);
	assert_true(r->r.opt_do);
	assert_false(r->r.has_ede);
	assert_int_equal(r->c.dec.action, ACTION_LOCAL);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r->c.dec.ede, -1);
	assert_string_equal(r->c.dec.rule, "local-zone:corp.example");

	/* local-data outside any local-zone: its implicit zone. */
	s.qname = "host.lan.";
	s.edns_udp = NO_EDNS;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(r->r.h.ancount, 1);
	assert_false(r->r.has_opt);
	assert_int_equal(r->c.dec.action, ACTION_LOCAL);
	assert_string_equal(r->c.dec.rule, "local-data:host.lan");
	free(r);
}

static void
test_pipeline_local_nxdomain_and_nodata(void **state)
{
	struct qspec s = {.qname = "nope.corp.example.",
	                  .qtype = DNS_TYPE_A,
	                  .edns_udp = 1232};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_NXDOMAIN);
	assert_int_equal(r->r.h.ancount, 0);
	assert_int_equal(r->r.h.nscount, 1);
	assert_int_equal(r->r.rr[0].type, DNS_TYPE_SOA);
	assert_false(r->r.has_ede);
	assert_int_equal(r->c.dec.action, ACTION_NXDOMAIN);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(r->c.dec.ede, -1);
	assert_string_equal(r->c.dec.rule, "local-zone:corp.example");

	s.qname = "www.corp.example.";
	s.qtype = DNS_TYPE_AAAA;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_NOERROR);
	assert_int_equal(r->r.h.ancount, 0);
	assert_int_equal(r->r.h.nscount, 1);
	assert_int_equal(r->r.rr[0].type, DNS_TYPE_SOA);
	assert_int_equal(r->c.dec.action, ACTION_NODATA);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(r->c.dec.rule, "local-zone:corp.example");
	free(r);
}

static void
test_pipeline_local_zone_refuse_and_drop(void **state)
{
	struct qspec s = {.qname = "x.refused.example.",
	                  .qtype = DNS_TYPE_A,
	                  .edns_udp = 1232};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_ede(&r->r, DNS_EDE_PROHIBITED, "refused by local-zone");
	assert_int_equal(r->c.dec.action, ACTION_REFUSE);
	assert_int_equal(r->c.dec.ede, DNS_EDE_PROHIBITED);
	assert_string_equal(r->c.dec.rule, "local-zone:refused.example");

	s.qname = "x.dropped.example.";
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_DROP);
	assert_int_equal(r->c.dec.action, ACTION_DROP);
	assert_int_equal(r->c.dec.rcode, -1);
	assert_string_equal(r->c.dec.rule, "local-zone:dropped.example");
	free(r);
}

static void
test_pipeline_local_answer_truncated_to_512(void **state)
{
	struct qspec s = {.qname = "big.corp.example.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0x0b16,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = NO_EDNS};
	struct run *r = run_new();

	/* UDP without EDNS: 512 bytes, TC=1, header + question only. */
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_ANSWER);
	assert_true(r->c.outlen <= 512);
	assert_int_equal(r->r.h.id, 0x0b16);
	assert_true(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_NOERROR);
	assert_int_equal(r->r.h.qdcount, 1);
	assert_qname(r->r.qname, "big.corp.example.");
	assert_int_equal(r->r.h.ancount, 0);
	assert_int_equal(r->r.h.arcount, 0);
	assert_int_equal(r->c.dec.action, ACTION_TRUNCATE);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(r->c.dec.rule, "size:512");

	/* EDNS 512: truncated as well, with our OPT. */
	s.edns_udp = 512;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_ANSWER);
	assert_true(r->c.outlen <= 512);
	assert_true(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(r->r.h.ancount, 0);
	assert_true(r->r.has_opt);
	assert_int_equal(r->c.dec.action, ACTION_TRUNCATE);

	/* TCP: everything, no TC. */
	s.edns_udp = NO_EDNS;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", true, &s),
	                 PIPE_ANSWER);
	assert_true(r->c.outlen > 512);
	assert_false(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(r->r.h.ancount, BIG_RRS);
	assert_int_equal(r->c.dec.action, ACTION_LOCAL);
	assert_string_equal(r->c.dec.rule, "local-zone:corp.example");
	free(r);
}

/* ---- the client's size ---- */

static void
test_pipeline_client_limit(void **state)
{
	static const struct {
		bool tcp;
		int edns_udp;
		size_t conf_1232; /* with udp-payload-size 1232 */
		size_t conf_4096; /* with udp-payload-size 4096 */
	} cases[] = {
	    {true, NO_EDNS, 65535, 65535},
	    {true, 512, 65535, 65535},
	    {false, NO_EDNS, 512, 512},
	    {false, 0, 512, 512}, /* below 512 counts as 512 */
	    {false, 100, 512, 512},
	    {false, 511, 512, 512},
	    {false, 512, 512, 512},
	    {false, 1000, 1000, 1000},
	    {false, 1232, 1232, 1232},
	    {false, 1400, 1232, 1400},
	    {false, 4096, 1232, 4096},
	    {false, 65535, 1232, 4096},
	};
	struct config *big = conf_load("[server]\n"
	                               "udp-payload-size = 4096\n"
	                               "[view v]\n");
	struct qctx c;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		memset(&c, 0, sizeof(c));
		qctx_init(&c, fx(state)->corp, NOW_MS);
		c.tcp = cases[i].tcp;
		c.q.edns.present = cases[i].edns_udp != NO_EDNS;
		c.q.edns.udp_size = cases[i].edns_udp == NO_EDNS
		                        ? 0
		                        : (uint16_t)cases[i].edns_udp;
		if (pipeline_client_limit(&c) != cases[i].conf_1232)
			print_error("case %zu\n", i);
		assert_int_equal(pipeline_client_limit(&c), cases[i].conf_1232);
		c.conf = big;
		assert_int_equal(pipeline_client_limit(&c), cases[i].conf_4096);
	}
	config_unref(big);
}

/* ---- upstream answers ---- */

/* What the upstream sent for www.example.com A, through its own OPT. */
static const uint8_t upstream_answer[] = {
    0x11, 0x11,                /* ID (ours toward the upstream) */
    0x81, 0x80,                /* QR, RD, RA, NOERROR */
    0x00, 0x01,                /* QDCOUNT 1 */
    0x00, 0x01,                /* ANCOUNT 1 */
    0x00, 0x00,                /* NSCOUNT */
    0x00, 0x01,                /* ARCOUNT 1: OPT */
    0x03, 'w',      'w',  'w', /* QNAME www */
    0x07, 'e',      'x',  'a',  'm',  'p', 'l', 'e', /* example */
    0x03, 'c',      'o',  'm',  0x00,                /* com. */
    0x00, 0x01,                                      /* QTYPE A */
    0x00, 0x01,                                      /* QCLASS IN */
    0xc0, 0x0c,                 /* answer owner: pointer to QNAME */
    0x00, 0x01,                 /* TYPE A */
    0x00, 0x01,                 /* CLASS IN */
    0x00, 0x00,     0x0e, 0x10, /* TTL 3600 */
    0x00, 0x04,                 /* RDLENGTH 4 */
    192,  0,        2,    80,   /* 192.0.2.80 */
    0x00,                       /* OPT owner: root */
    0x00, 0x29,                 /* TYPE OPT */
    0x10, 0x00,                 /* UDP size 4096 */
    0x00, 0x00,     0x80, 0x00, /* ext rcode 0, version 0, DO=1 */
    0x00, 0x06,                 /* RDLENGTH 6 */
    0x00, OPT_NSID,             /* option NSID */
    0x00, 0x02,                 /* length 2 */
    'u',  'p',                  /* "up" */
};

/* Send s from client through pipeline_query; it must be forwarded. */
static void
forward(struct run *r, const struct config *conf, const struct qspec *s)
{
	assert_int_equal(run_query(r, conf, "10.1.2.3", false, s),
	                 PIPE_FORWARD);
}

static void
test_pipeline_upstream_answer_rewritten(void **state)
{
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0xabcd,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = 4096};
	struct dns_response resp;
	struct run *r = run_new();
	const struct dns_rr *a;

	forward(r, fx(state)->corp, &s);
	assert_int_equal(
	    dns_response_parse(upstream_answer, sizeof(upstream_answer), &resp),
	    0);
	assert_int_equal(pipeline_upstream_answer(&r->c, upstream_answer,
	                                          sizeof(upstream_answer),
	                                          &resp),
	                 PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	/* The client's ID, not the upstream's. */
	assert_int_equal(r->r.h.id, 0xabcd);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_NOERROR);
	assert_true(r->r.h.flags & DNS_FLAG_RA);
	assert_false(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(r->r.h.ancount, 1);
	a = &r->r.rr[0];
	assert_int_equal(a->type, DNS_TYPE_A);
	assert_memory_equal(r->out + a->rdata_offset,
	                    ((const uint8_t[]){192, 0, 2, 80}), 4);
	/* The upstream's OPT (4096, DO, NSID) replaced by ours. */
	assert_int_equal(r->r.h.arcount, 1);
	assert_true(r->r.has_opt);
	assert_int_equal(r->r.opt_udp, 1232);
	assert_false(r->r.opt_do); /* the client did not set DO */
	assert_int_equal(r->r.nopts, 0);
	assert_int_equal(r->c.dec.action, ACTION_FORWARD);
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(r->c.dec.rule, "");
	assert_true(decision_is_default(&r->c.dec));

	/* A client without EDNS gets no OPT at all. */
	s.edns_udp = NO_EDNS;
	s.id = 0x0001;
	forward(r, fx(state)->corp, &s);
	assert_int_equal(pipeline_upstream_answer(&r->c, upstream_answer,
	                                          sizeof(upstream_answer),
	                                          &resp),
	                 PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	assert_int_equal(r->r.h.id, 0x0001);
	assert_int_equal(r->r.h.ancount, 1);
	assert_int_equal(r->r.h.arcount, 0);
	assert_false(r->r.has_opt);
	free(r);
}

/* An upstream answer for www.example.com A with n A records, no OPT. */
static size_t
upstream_big(uint8_t *buf, size_t cap, unsigned n, uint16_t flags)
{
	uint8_t name[DNS_NAME_MAX];
	size_t nlen = dns_name_from_text("www.example.com.", NULL, name);
	struct wbuf b;
	unsigned i;

	wbuf_init(&b, buf, cap);
	wbuf_u16(&b, 0x2222); /* ID */
	wbuf_u16(&b, flags);
	wbuf_u16(&b, 1);           /* QDCOUNT */
	wbuf_u16(&b, (uint16_t)n); /* ANCOUNT */
	wbuf_u16(&b, 0);           /* NSCOUNT */
	wbuf_u16(&b, 0);           /* ARCOUNT */
	wbuf_bytes(&b, name, nlen);
	wbuf_u16(&b, DNS_TYPE_A);
	wbuf_u16(&b, DNS_CLASS_IN);
	for (i = 0; i < n; i++) {
		wbuf_u16(&b, 0xc00c); /* pointer to the QNAME */
		wbuf_u16(&b, DNS_TYPE_A);
		wbuf_u16(&b, DNS_CLASS_IN);
		wbuf_u32(&b, 300);
		wbuf_u16(&b, 4);
		wbuf_u8(&b, 198);
		wbuf_u8(&b, 51);
		wbuf_u8(&b, 100);
		wbuf_u8(&b, (uint8_t)i);
	}
	assert_int_equal(b.err, 0);
	return b.len;
}

static void
test_pipeline_upstream_answer_truncated(void **state)
{
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0x7777,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = NO_EDNS};
	uint8_t up[2048];
	size_t uplen = upstream_big(up, sizeof(up), 40, 0x8180);
	struct dns_response resp;
	struct run *r = run_new();

	assert_true(uplen > 512);
	assert_int_equal(dns_response_parse(up, uplen, &resp), 0);

	/* No EDNS: 512. */
	forward(r, fx(state)->corp, &s);
	assert_int_equal(pipeline_upstream_answer(&r->c, up, uplen, &resp),
	                 PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	assert_true(r->c.outlen <= 512);
	assert_int_equal(r->r.h.id, 0x7777);
	assert_true(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(r->r.h.ancount, 0);
	assert_int_equal(r->r.h.qdcount, 1);
	assert_int_equal(r->c.dec.action, ACTION_TRUNCATE);
	assert_string_equal(r->c.dec.rule, "size:512");
	assert_int_equal(r->c.dec.rcode, DNS_RCODE_NOERROR);

	/* EDNS 4096 against our 1232: fits, forwarded whole. */
	s.edns_udp = 4096;
	forward(r, fx(state)->corp, &s);
	assert_int_equal(pipeline_upstream_answer(&r->c, up, uplen, &resp),
	                 PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	assert_false(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(r->r.h.ancount, 40);
	assert_int_equal(r->c.dec.action, ACTION_FORWARD);

	/* Over TCP nothing is cut. */
	s.edns_udp = NO_EDNS;
	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", true, &s),
	                 PIPE_FORWARD);
	assert_int_equal(pipeline_upstream_answer(&r->c, up, uplen, &resp),
	                 PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	assert_false(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(r->r.h.ancount, 40);
	free(r);
}

/* TC set by the upstream itself is not our truncation. */
static void
test_pipeline_upstream_tc_is_not_truncate_action(void **state)
{
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0x8888,
	                  .edns_udp = NO_EDNS};
	uint8_t up[512];
	size_t uplen = upstream_big(up, sizeof(up), 0, 0x8380);
	struct dns_response resp;
	struct run *r = run_new();

	assert_int_equal(dns_response_parse(up, uplen, &resp), 0);
	forward(r, fx(state)->corp, &s);
	assert_int_equal(pipeline_upstream_answer(&r->c, up, uplen, &resp),
	                 PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	assert_true(r->r.h.flags & DNS_FLAG_TC);
	assert_int_equal(r->c.dec.action, ACTION_FORWARD);
	assert_string_equal(r->c.dec.rule, "");
	free(r);
}

static void
test_pipeline_upstream_failed_ede(void **state)
{
	static const struct {
		enum up_failure last;
		uint16_t ede;
		const char *text;
	} cases[] = {
	    {UP_FAIL_TIMEOUT, DNS_EDE_NETWORK_ERROR, "upstream timed out"},
	    {UP_FAIL_NETWORK, DNS_EDE_NETWORK_ERROR, "upstream unreachable"},
	    {UP_FAIL_SERVFAIL, DNS_EDE_NO_REACHABLE_AUTHORITY,
	     "every upstream attempt failed"},
	    {UP_FAIL_REFUSED, DNS_EDE_NO_REACHABLE_AUTHORITY,
	     "every upstream attempt failed"},
	};
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0x3333,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = 1232};
	struct run *r = run_new();
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		s.edns_udp = 1232;
		forward(r, fx(state)->corp, &s);
		assert_int_equal(pipeline_upstream_failed(&r->c, cases[i].last),
		                 PIPE_ANSWER);
		resp_decode(r->out, r->c.outlen, &r->r);
		assert_int_equal(r->r.h.id, 0x3333);
		assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_SERVFAIL);
		assert_int_equal(r->r.h.qdcount, 1);
		assert_qname(r->r.qname, "www.example.com.");
		assert_ede(&r->r, cases[i].ede, cases[i].text);
		assert_int_equal(r->c.dec.action, ACTION_SERVFAIL);
		assert_int_equal(r->c.dec.rcode, DNS_RCODE_SERVFAIL);
		assert_int_equal(r->c.dec.ede, cases[i].ede);
		assert_string_equal(r->c.dec.view, "corp");

		/* Without EDNS: SERVFAIL alone, no EDE recorded. */
		s.edns_udp = NO_EDNS;
		forward(r, fx(state)->corp, &s);
		assert_int_equal(pipeline_upstream_failed(&r->c, cases[i].last),
		                 PIPE_ANSWER);
		resp_decode(r->out, r->c.outlen, &r->r);
		assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_SERVFAIL);
		assert_false(r->r.has_opt);
		assert_int_equal(r->c.dec.ede, -1);
	}
	free(r);
}

/*
 * pipeline_finish turns a forward's outcome into the response: the same
 * answer as the stage functions give, and a failure as SERVFAIL + EDE;
 * a verdict that is not PIPE_UPSTREAM passes through (no RRL here).
 */
static void
test_pipeline_finish_upstream_outcomes(void **state)
{
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .id = 0x4444,
	                  .flags = DNS_FLAG_RD,
	                  .edns_udp = 1232};
	struct dns_response resp;
	struct run *r = run_new();

	assert_int_equal(
	    dns_response_parse(upstream_answer, sizeof(upstream_answer), &resp),
	    0);
	forward(r, fx(state)->corp, &s);
	r->c.upstream.msg = upstream_answer;
	r->c.upstream.len = sizeof(upstream_answer);
	r->c.upstream.r = &resp;
	assert_int_equal(pipeline_finish(&r->c, PIPE_UPSTREAM), PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	assert_int_equal(r->r.h.id, 0x4444);
	assert_int_equal(r->r.h.ancount, 1);
	assert_int_equal(r->c.dec.action, ACTION_FORWARD);

	forward(r, fx(state)->corp, &s);
	r->c.upstream.msg = NULL;
	r->c.upstream.failure = UP_FAIL_TIMEOUT;
	assert_int_equal(pipeline_finish(&r->c, PIPE_UPSTREAM), PIPE_ANSWER);
	resp_decode(r->out, r->c.outlen, &r->r);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_SERVFAIL);
	assert_ede(&r->r, DNS_EDE_NETWORK_ERROR, "upstream timed out");
	assert_int_equal(r->c.dec.action, ACTION_SERVFAIL);

	assert_int_equal(pipeline_finish(&r->c, PIPE_DROP), PIPE_DROP);
	assert_int_equal(pipeline_finish(&r->c, PIPE_SENT), PIPE_SENT);
	free(r);
}

/* qctx_init clears what the previous query left. */
/* ---- stage 6a: the group (forward-zones) ---- */

static void
test_pipeline_forward_zone_routes(void **state)
{
	const struct config *conf = fx(state)->fwd;
	static const struct {
		const char *qname;
		const char *group; /* NULL: not forwarded */
		const char *rule;
		enum decision_action action;
	} cases[] = {
	    {"mail.corp.example.", "dc", "forward-zone:corp.example",
	     ACTION_FORWARD},
	    {"A.Corp.Example.", "dc", "forward-zone:corp.example",
	     ACTION_FORWARD},
	    {"www.example.com.", "dc", "forward-zone:example.com",
	     ACTION_FORWARD},
	    {"xcorp.example.", "inet", "", ACTION_FORWARD},
	    {"www.example.org.", "inet", "", ACTION_FORWARD},
	    /* local data comes first (the apex: an empty non-terminal) */
	    {"www.corp.example.", NULL, "local-zone:corp.example",
	     ACTION_LOCAL},
	    {"corp.example.", NULL, "local-zone:corp.example", ACTION_NODATA},
	};
	struct qspec s = {.qtype = DNS_TYPE_A, .edns_udp = 1232};
	struct run *r = run_new();

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		s.qname = cases[i].qname;
		run_query(r, conf, "10.1.2.3", false, &s);
		assert_string_equal(r->c.dec.rule, cases[i].rule);
		assert_int_equal(r->c.dec.action, cases[i].action);
		if (cases[i].group == NULL) {
			assert_int_equal(r->v, PIPE_ANSWER);
			continue;
		}
		assert_int_equal(r->v, PIPE_FORWARD);
		assert_non_null(r->c.group);
		assert_string_equal(r->c.group->name, cases[i].group);
		assert_true(r->c.fwd == NULL || r->c.fwd->group == r->c.group);
		assert_true((r->c.fwd != NULL) == (cases[i].rule[0] != 0));
		/* Routed by a forward-zone is still a plain forward. */
		assert_true(decision_is_default(&r->c.dec));
	}
	free(r);
}

/* upstream = none: names outside every forward-zone are REFUSED, as in
 * a view without upstream. */
static void
test_pipeline_forward_zone_without_upstream(void **state)
{
	const struct config *conf = fx(state)->fwd;
	struct qspec s = {.qname = "www.guest.example.",
	                  .qtype = DNS_TYPE_A,
	                  .edns_udp = 1232};
	struct run *r = run_new();

	assert_int_equal(run_query(r, conf, "192.0.2.7", false, &s),
	                 PIPE_FORWARD);
	assert_string_equal(r->c.dec.view, "guest");
	assert_string_equal(r->c.group->name, "inet");
	assert_string_equal(r->c.dec.rule, "forward-zone:guest.example");
	s.qname = "www.example.com.";
	assert_int_equal(run_query(r, conf, "192.0.2.7", false, &s),
	                 PIPE_ANSWER);
	assert_int_equal(DNS_RCODE(r->r.h.flags), DNS_RCODE_REFUSED);
	assert_ede(&r->r, DNS_EDE_NOT_AUTHORITATIVE,
	           "no upstream in this view");
	assert_string_equal(r->c.dec.rule, "view:guest:no-upstream");
	assert_null(r->c.group);
	free(r);
}

/* The route is the rule until one changes the answer: the size that
 * truncated it says more. Transfers keep their allow-transfer rule. */
static void
test_pipeline_forward_zone_rule_yields(void **state)
{
	const struct config *conf = fx(state)->fwd;
	struct qspec s = {.qname = "www.example.com.",
	                  .qtype = DNS_TYPE_A,
	                  .edns_udp = NO_EDNS};
	uint8_t up[2048];
	size_t uplen = upstream_big(up, sizeof(up), 40, 0x8180);
	struct dns_response resp;
	struct run *r = run_new();

	assert_int_equal(dns_response_parse(up, uplen, &resp), 0);
	forward(r, conf, &s);
	assert_int_equal(pipeline_upstream_answer(&r->c, up, uplen, &resp),
	                 PIPE_ANSWER);
	assert_int_equal(r->c.dec.action, ACTION_TRUNCATE);
	assert_string_equal(r->c.dec.rule, "size:512");
	/* It fits: the route stays the rule. */
	s.edns_udp = 4096;
	forward(r, conf, &s);
	assert_int_equal(pipeline_upstream_answer(&r->c, up, uplen, &resp),
	                 PIPE_ANSWER);
	assert_int_equal(r->c.dec.action, ACTION_FORWARD);
	assert_string_equal(r->c.dec.rule, "forward-zone:example.com");
	/* Failed: SERVFAIL, still naming the forward-zone. */
	forward(r, conf, &s);
	assert_int_equal(pipeline_upstream_failed(&r->c, UP_FAIL_TIMEOUT),
	                 PIPE_ANSWER);
	assert_int_equal(r->c.dec.action, ACTION_SERVFAIL);
	assert_string_equal(r->c.dec.rule, "forward-zone:example.com");
	assert_int_equal(r->c.dec.ede, DNS_EDE_NETWORK_ERROR);
	/* A transfer goes to the zone's group, under its own rule. */
	s.qtype = DNS_TYPE_AXFR;
	assert_int_equal(run_query(r, conf, "10.1.2.3", true, &s),
	                 PIPE_FORWARD);
	assert_true(r->c.transfer);
	assert_string_equal(r->c.group->name, "dc");
	assert_string_equal(r->c.dec.rule, "allow-transfer:corp");
	free(r);
}

static void
test_pipeline_qctx_init_resets_decision(void **state)
{
	struct qspec s = {.qname = "x.dropped.example.",
	                  .qtype = DNS_TYPE_A,
	                  .edns_udp = NO_EDNS};
	struct run *r = run_new();

	assert_int_equal(run_query(r, fx(state)->corp, "10.1.2.3", false, &s),
	                 PIPE_DROP);
	assert_string_not_equal(r->c.dec.rule, "");
	qctx_init(&r->c, fx(state)->corp, NOW_MS + 1);
	assert_string_equal(r->c.dec.rule, "");
	assert_null(r->c.dec.view);
	assert_null(r->c.view);
	assert_int_equal(r->c.dec.rcode, -1);
	assert_int_equal(r->c.dec.ede, -1);
	assert_int_equal(r->c.dec.action, ACTION_NONE);
	assert_false(r->c.dec.have_question);
	assert_int_equal(r->c.outlen, 0);
	/* The output buffer stays. */
	assert_ptr_equal(r->c.out, r->out);
	assert_int_equal(r->c.outcap, sizeof(r->out));
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pipeline_formerr_qdcount_0),
	    cmocka_unit_test(test_pipeline_formerr_keeps_opt),
	    cmocka_unit_test(test_pipeline_formerr_bad_names),
	    cmocka_unit_test(test_pipeline_qr_set_is_dropped),
	    cmocka_unit_test(test_pipeline_notimp_for_other_opcodes),
	    cmocka_unit_test(test_pipeline_badvers),
	    cmocka_unit_test(test_pipeline_axfr_over_udp_formerr),
	    cmocka_unit_test(test_pipeline_meta_qtype_formerr),
	    cmocka_unit_test(
	        test_pipeline_axfr_over_tcp_refused_ede_18_with_edns),
	    cmocka_unit_test(test_pipeline_no_view_refused_ede_18),
	    cmocka_unit_test(test_pipeline_no_view_without_ede_text),
	    cmocka_unit_test(test_pipeline_view_without_upstream_refused),
	    cmocka_unit_test(test_pipeline_acl_refuse_and_drop),
	    cmocka_unit_test(test_pipeline_acl_allow_forwards),
	    cmocka_unit_test(test_pipeline_other_classes_refused),
	    cmocka_unit_test(test_pipeline_acl_before_class),
	    cmocka_unit_test(test_pipeline_local_answer),
	    cmocka_unit_test(test_pipeline_local_nxdomain_and_nodata),
	    cmocka_unit_test(test_pipeline_local_zone_refuse_and_drop),
	    cmocka_unit_test(test_pipeline_local_answer_truncated_to_512),
	    cmocka_unit_test(test_pipeline_client_limit),
	    cmocka_unit_test(test_pipeline_upstream_answer_rewritten),
	    cmocka_unit_test(test_pipeline_upstream_answer_truncated),
	    cmocka_unit_test(test_pipeline_upstream_tc_is_not_truncate_action),
	    cmocka_unit_test(test_pipeline_upstream_failed_ede),
	    cmocka_unit_test(test_pipeline_finish_upstream_outcomes),
	    cmocka_unit_test(test_pipeline_forward_zone_routes),
	    cmocka_unit_test(test_pipeline_forward_zone_without_upstream),
	    cmocka_unit_test(test_pipeline_forward_zone_rule_yields),
	    cmocka_unit_test(test_pipeline_qctx_init_resets_decision),
	};

	return cmocka_run_group_tests_name("proxy pipeline", tests, group_setup,
	                                   group_teardown);
}
