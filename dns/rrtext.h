/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/rrtext.h — resource records in master-file text (RFC 1035 5.1), one
 * line at a time, and RDATA printed back as text.
 *
 * The subset understood is one RR per line:
 *
 *	OWNER [TTL] [CLASS] TYPE RDATA
 *
 * TTL and CLASS are optional and may come in either order. TTL is a number
 * of seconds or BIND units ("1h30m", "2d", "1w"; s m h d w, any case). Only
 * class IN is accepted. ';' starts a comment; parentheses group as in
 * RFC 1035 5.1 but must balance within the line. There is no $ORIGIN, $TTL,
 * $INCLUDE or blank owner here: callers that read zone files handle those
 * and pass origin and default TTL in.
 *
 * Types with a text form: A, AAAA, NS, CNAME, PTR, MX, TXT, SRV, SOA, CAA.
 * Any other type that is not a meta type (RFC 6895 3.1) is accepted in the
 * generic form "\# LEN HEX..." of RFC 3597 5, written TYPEnnn or by
 * mnemonic; the generic form is also accepted for the types above, and
 * their RDATA is then checked to be well formed.
 */
#ifndef DNS_RRTEXT_H
#define DNS_RRTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

#define DNS_RDATA_MAX 65535
/* RFC 2181 8: a TTL is 31 bits; larger values are errors here. */
#define DNS_TTL_MAX 2147483647u

/* One parsed RR. About 64 KiB: allocate it, do not put it on a small stack. */
struct dns_rr_text {
	uint8_t owner[DNS_NAME_MAX]; /* absolute, case as written */
	size_t owner_len;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlength;
	uint8_t rdata[DNS_RDATA_MAX]; /* uncompressed wire form */
};

/*
 * Parse one RR from text into out. Relative names (owner and in RDATA) are
 * made absolute against origin (uncompressed wire form; NULL = the root),
 * and "@" is origin. default_ttl is used when the line has no TTL. Returns
 * 0, or -1 with a one-line reason in err (NUL-terminated, truncated to
 * errlen; err may be NULL), e.g. "unknown type 'AAA'" or "bad IPv4 address
 * '10.1.2' in A RDATA".
 */
int dns_rr_from_text(const char *text, const uint8_t *origin,
                     uint32_t default_ttl, struct dns_rr_text *out, char *err,
                     size_t errlen);

/*
 * Parse a TTL: seconds ("3600"), or number-unit pairs as BIND writes them
 * ("1w2d3h4m5s", "90m"), which are summed. Returns 0, or -1 when malformed
 * or above max.
 */
int dns_ttl_from_text(const char *text, uint32_t max, uint32_t *out);

/*
 * Check RDATA of the given type against its wire format (RFC 1035 3.3,
 * 3.4; RFC 3596; RFC 2782; RFC 8659): fixed lengths, names uncompressed
 * and exactly filling their field, TXT strings covering the RDATA. Types
 * without a known format always pass. Returns 0 / -1.
 */
int dns_rdata_check(uint16_t type, const uint8_t *rdata, size_t len);

/*
 * Print RDATA in presentation form ("10 mail.example.", "\"a\" \"b\"").
 * Types without a text form here, and RDATA that fails dns_rdata_check,
 * are printed as "\# LEN HEX" (RFC 3597 5). Returns the text length, or -1
 * when cap is too small (out is then truncated but NUL-terminated).
 */
int dns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t len,
                      char *out, size_t cap);

/*
 * A whole RR as one master-file line without newline:
 * "www.example. 300 IN A 192.0.2.1" (class IN is assumed). Same return
 * convention as dns_rdata_to_text.
 */
int dns_rr_to_text(const uint8_t *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, size_t len, char *out, size_t cap);

/* The value of a hexadecimal digit (either case), or -1. */
int dns_hex_value(char c);

#endif
