/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/msg.h — DNS messages: header, question, RR walking, EDNS(0), and the
 * responses a proxy builds itself (errors, truncation, rewritten upstream
 * answers). Knows nothing of sockets or of the daemon.
 */
#ifndef DNS_MSG_H
#define DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/wire.h"

#define DNS_HEADER_LEN 12
#define DNS_MAX_MSG    65535

/* Header flag bits (RFC 1035 4.1.1, RFC 4035 for AD/CD). */
#define DNS_FLAG_QR       0x8000
#define DNS_FLAG_AA       0x0400
#define DNS_FLAG_TC       0x0200
#define DNS_FLAG_RD       0x0100
#define DNS_FLAG_RA       0x0080
#define DNS_FLAG_AD       0x0020
#define DNS_FLAG_CD       0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_OPCODE_QUERY  0
#define DNS_RCODE(flags)  ((flags)&0xf)

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_YXDOMAIN = 6,
	DNS_RCODE_YXRRSET = 7,
	DNS_RCODE_NXRRSET = 8,
	DNS_RCODE_NOTAUTH = 9,
	DNS_RCODE_NOTZONE = 10,
	DNS_RCODE_BADVERS = 16,   /* extended: needs OPT (RFC 6891 6.1.3) */
	DNS_RCODE_BADCOOKIE = 23, /* extended: needs OPT (RFC 7873 8) */
};

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_TKEY = 249,
	DNS_TYPE_TSIG = 250,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_MAILB = 253,
	DNS_TYPE_MAILA = 254,
	DNS_TYPE_ANY = 255,
};

/*
 * True for a QTYPE that asks for nothing a plain query can be answered
 * with: OPT and the meta-TYPEs and QTYPEs of RFC 6895 3.1 (128-255: TKEY,
 * TSIG, MAILB, MAILA and the unassigned ones), except the three that are
 * questions: IXFR, AXFR (zone transfers) and ANY.
 */
bool dns_qtype_is_meta(uint16_t qtype);

/* Classes (RFC 1035 3.2.4, 3.2.5; RFC 2136 for NONE). */
#define DNS_CLASS_IN   1
#define DNS_CLASS_CH   3
#define DNS_CLASS_HS   4
#define DNS_CLASS_NONE 254
#define DNS_CLASS_ANY  255

/* EDNS option codes we know. */
#define DNS_OPT_COOKIE  10 /* RFC 7873 */
#define DNS_OPT_PADDING 12 /* RFC 7830 */
#define DNS_OPT_EDE     15 /* RFC 8914 */

/* RFC 7873 4: client cookie 8 bytes, server cookie 8..32 bytes. */
#define DNS_COOKIE_CLIENT_LEN 8
#define DNS_COOKIE_MAX_LEN    40

/* Extended DNS Error codes (RFC 8914 4) the proxy sends. */
enum dns_ede {
	DNS_EDE_OTHER = 0,
	DNS_EDE_STALE_ANSWER = 3,
	DNS_EDE_FORGED_ANSWER = 4,
	DNS_EDE_NOT_READY = 14,
	DNS_EDE_BLOCKED = 15,
	DNS_EDE_CENSORED = 16,
	DNS_EDE_FILTERED = 17,
	DNS_EDE_PROHIBITED = 18,
	DNS_EDE_STALE_NXDOMAIN = 19,
	DNS_EDE_NOT_AUTHORITATIVE = 20,
	DNS_EDE_NOT_SUPPORTED = 21,
	DNS_EDE_NO_REACHABLE_AUTHORITY = 22,
	DNS_EDE_NETWORK_ERROR = 23,
	DNS_EDE_INVALID_DATA = 24,
};

struct dns_header {
	uint16_t id;
	uint16_t flags;
	uint16_t qdcount;
	uint16_t ancount;
	uint16_t nscount;
	uint16_t arcount;
};

/*
 * Header fields of a message in place, for code that must look at or
 * change a message it does not parse (an ID to match or rewrite, a flag
 * to test). Reads return 0 and writes do nothing when len is shorter than
 * the field.
 */
uint16_t dns_hdr_id(const uint8_t *msg, size_t len);
void dns_hdr_set_id(uint8_t *msg, size_t len, uint16_t id);
uint16_t dns_hdr_flags(const uint8_t *msg, size_t len);
/* The header's 4-bit RCODE (no OPT extension). */
unsigned dns_hdr_rcode(const uint8_t *msg, size_t len);
/* The whole header; -1 when len < DNS_HEADER_LEN. */
int dns_hdr_read(const uint8_t *msg, size_t len, struct dns_header *h);
/*
 * Overwrite the question's name of msg with qname (the same name in
 * another case, qname_len bytes, uncompressed in msg): a stored answer
 * goes out with the client's own spelling (DNS 0x20). No-op when msg is
 * too short.
 */
void dns_question_name_set(uint8_t *msg, size_t len, const uint8_t *qname,
                           size_t qname_len);

/* What the OPT record of a received message said (RFC 6891 6.1.2). */
struct dns_edns {
	bool present;
	uint16_t udp_size; /* as sent; callers apply the 512 floor */
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit RCODE */
	uint8_t version;
	bool do_bit;
	size_t opt_offset; /* offset of the OPT RR's owner name */
	unsigned
	    opt_index; /* index of the OPT RR within the additional section */
	/* First COOKIE option only (RFC 7873 5.2); later ones are ignored. */
	bool has_cookie;
	bool cookie_malformed; /* a COOKIE of an illegal length (FORMERR) */
	uint8_t cookie_len;
	uint8_t cookie[DNS_COOKIE_MAX_LEN];
};

/* A parsed query, as the proxy needs it. */
struct dns_query {
	struct dns_header hdr;
	uint8_t qname[DNS_NAME_MAX]; /* case as received */
	size_t qname_len;            /* 0 when the question was not read */
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end; /* offset just past the question */
	struct dns_edns edns;
};

enum dns_parse_result {
	DNS_PARSE_OK = 0,
	DNS_PARSE_DROP,    /* shorter than a header, or QR=1: never answer */
	DNS_PARSE_FORMERR, /* header readable, rest malformed */
	DNS_PARSE_NOTIMP,  /* opcode other than QUERY */
	DNS_PARSE_BADVERS, /* EDNS version > 0 */
};

/*
 * Parse a query received from a client. Checks, in order: length >= 12 and
 * QR=0 (else DROP); opcode QUERY (else NOTIMP, question read when possible);
 * QDCOUNT == 1 and a valid question; every RR of the answer, authority and
 * additional sections well formed (names, lengths); no OPT outside the
 * additional section, at most one OPT, its owner the root; EDNS options
 * well formed (each length within the RDATA); a COOKIE option of length 8 or
 * 16..40; no bytes after the last RR (all of these else FORMERR, with the
 * question and EDNS fields filled as far as they were read, so the FORMERR
 * response can carry them); EDNS version 0 (else BADVERS).
 * Unknown EDNS options are skipped.
 */
enum dns_parse_result dns_query_parse(const uint8_t *pkt, size_t len,
                                      struct dns_query *q);

/* One resource record as walked by dns_rr_next. */
struct dns_rr {
	uint8_t owner[DNS_NAME_MAX];
	size_t rr_offset; /* start of the owner name in the message */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlength;
	size_t rdata_offset;
	size_t rr_end; /* offset just past the RDATA */
};

/*
 * Read the RR at w->pos (owner, fixed fields, RDATA bounds) and move past it.
 * Returns 0, or -1 with w->err set when it does not fit in the message.
 */
int dns_rr_next(struct wire *w, struct dns_rr *rr);

/* Everything the proxy checks about an upstream answer before using it. */
struct dns_response {
	struct dns_header hdr;
	uint8_t qname[DNS_NAME_MAX];
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end;
	unsigned rcode; /* full 12-bit RCODE when an OPT is present */
	struct dns_edns edns;
	/* Offset where the OPT RR starts, or the message end without one. */
	size_t body_end;
	/* ARCOUNT to keep when cutting the message at body_end. */
	uint16_t arcount_kept;
};

/*
 * Parse a response from an upstream: QR=1, QDCOUNT 1 with a valid question,
 * every RR well formed, at most one OPT. Returns 0, or -1 when malformed.
 */
int dns_response_parse(const uint8_t *pkt, size_t len, struct dns_response *r);

/*
 * Parse an error response from an upstream that carries no question:
 * QR=1, QDCOUNT 0, an RCODE (12 bits, with the OPT's) other than NOERROR
 * and NXDOMAIN, every RR well formed, at most one OPT. Fills r as
 * dns_response_parse() does, with question_end = body_end = the header's
 * end. Returns 0, or -1 when it is not such a response.
 */
int dns_response_parse_bare(const uint8_t *pkt, size_t len,
                            struct dns_response *r);

/*
 * Rebuild r, a response dns_response_parse_bare() took, as one carrying
 * q's question: r's ID, flags and RCODE, q's question, no records (those
 * of an error say nothing a client could use), and, when r had an OPT,
 * one with its UDP size, DO bit and extended RCODE and no options.
 * Returns the length, or 0 when cap is too small or q has no question.
 */
size_t dns_response_add_question(uint8_t *out, size_t cap,
                                 const struct dns_response *r,
                                 const struct dns_query *q);

/*
 * True when r answers the question we sent: same ID, same QNAME (ignoring
 * case), QTYPE and QCLASS.
 */
bool dns_response_matches(const struct dns_response *r, uint16_t id,
                          const struct dns_query *q);

/* The OPT record and options the proxy puts into a message it sends. */
struct dns_opt_out {
	bool present;      /* no OPT in the query => none in the answer */
	uint16_t udp_size; /* what we advertise */
	bool do_bit;
	/* Extended DNS Error (RFC 8914); ede_code < 0 means none. */
	int ede_code;
	const char *ede_text; /* NULL or "" for none */
	/* COOKIE option to send (client + server cookie), cookie_len 0 = none.
	 */
	const uint8_t *cookie;
	size_t cookie_len;
};

/*
 * Append an OPT RR to b carrying ext_rcode (the upper 8 bits of a 12-bit
 * RCODE), version 0, and o's options (COOKIE, then EDE). Does nothing when
 * !o->present.
 */
void dns_opt_write(struct wbuf *b, const struct dns_opt_out *o,
                   unsigned ext_rcode);
/* Encode one EDNS option: COOKIE (RFC 7873 4) and EDE (RFC 8914 2). */
void dns_opt_cookie_write(struct wbuf *b, const uint8_t *cookie, size_t len);
void dns_opt_ede_write(struct wbuf *b, uint16_t code, const char *text);
/*
 * Encode a Padding option (RFC 7830) that makes the message a multiple of
 * block bytes long: b holds the message from its first byte, the option
 * goes last (after it b->len is the message's length), and its 4-byte
 * header is counted, so the option carries 0 to block - 1 zero bytes.
 * RFC 8467 4.1 pads queries to 128 and responses to 468. The caller then
 * sets the OPT's RDLENGTH. block 0 writes nothing; a message that cannot
 * grow that far in b sets b->err.
 */
void dns_opt_padding_write(struct wbuf *b, size_t block);

/*
 * Build a response to q with no records: ID and opcode of the query, QR=1;
 * for opcode QUERY, RD copied and RA set when ra is true (for any other
 * opcode neither: AA, RD, RA, AD and CD describe a QUERY); the 12-bit rcode
 * split between the header and the OPT (an extended rcode needs
 * o->present), the question when q->qname_len > 0, then the OPT from o.
 * Returns the length, or 0 when cap is too small.
 */
size_t dns_build_error(uint8_t *out, size_t cap, const struct dns_query *q,
                       unsigned rcode, bool ra, const struct dns_opt_out *o);

/*
 * Build the query we send upstream for q: the given ID, opcode QUERY, RD and
 * CD copied, the question as the client sent it, and an OPT of our own
 * (udp_size, DO copied from the client) — the client's OPT and its options
 * are never forwarded (RFC 6891 6.2.6: separate transactions). Returns the
 * length, or 0 when cap is too small.
 */
size_t dns_build_upstream_query(uint8_t *out, size_t cap,
                                const struct dns_query *q, uint16_t id,
                                uint16_t udp_size);

/*
 * Turn an upstream answer into the client's: the client's ID, the upstream's
 * OPT (and anything after it) cut off, the rcode's extended bits carried into
 * our OPT from o, then fitted to limit bytes: when too long the EDE is dropped
 * first (RFC 8914 3), and if still too long the answer becomes header +
 * question + OPT with TC=1. Returns the length written to out, 0 on error.
 */
size_t dns_response_finish(uint8_t *out, size_t cap, const uint8_t *resp,
                           const struct dns_response *r, uint16_t client_id,
                           const struct dns_opt_out *o, size_t limit);

/*
 * Truncate a complete message we built (header + question first) to header +
 * question + OPT from o, with TC=1. Used when an answer does not fit.
 */
size_t dns_truncate(uint8_t *out, size_t cap, const uint8_t *msg, size_t len,
                    size_t question_end, unsigned rcode,
                    const struct dns_opt_out *o);

/* Mnemonics for logs: "NOERROR", "BADCOOKIE", "TYPE65"... (static or buf). */
const char *dns_rcode_name(unsigned rcode);
const char *dns_type_name(uint16_t type, char *buf, size_t cap);
/* RFC 8914 4 name of an EDE INFO-CODE ("Prohibited"), or "Unknown". */
const char *dns_ede_name(int code);
/* Parse "A", "AAAA", "TYPE65"...; -1 when unknown. */
int dns_type_from_text(const char *text);
/* "IN", "CH", "HS", "NONE", "ANY", else "CLASS254"-style (static or buf). */
const char *dns_class_name(uint16_t qclass, char *buf, size_t cap);
/* Parse those names (any case) or "CLASSn" (RFC 3597 5); -1 when unknown. */
int dns_class_from_text(const char *text);

#endif
