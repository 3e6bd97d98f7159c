/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/ttl.h — how long a response may be kept by whoever caches it
 * outside the DNS: the HTTP freshness lifetime of a DNS-over-HTTPS answer
 * (RFC 8484 5.1, Cache-Control: max-age). Knows nothing of HTTP.
 */
#ifndef DNS_TTL_H
#define DNS_TTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The freshness lifetime of response msg, in seconds, into *ttl:
 *   - with records in the answer section: the smallest of their TTLs
 *     (RFC 8484 5.1);
 *   - with no answer records (NXDOMAIN, NODATA): min(SOA TTL, SOA MINIMUM)
 *     of the first SOA in the authority section (RFC 2308 5);
 *   - with both (a CNAME chain ending in NXDOMAIN or NODATA): the smaller
 *     of the two, so the negative part is not kept longer than RFC 2308
 *     allows;
 *   - a TTL with its top bit set counts as 0 (RFC 2181 8).
 * Returns false, *ttl untouched, when there is no such lifetime: RCODE
 * other than NOERROR and NXDOMAIN, TC=1, QR=0, no answer record and no
 * SOA, or a malformed message (bounds, names, an SOA RDATA that is not
 * two names and five numbers). A DoH server then sends max-age=0: with no
 * Cache-Control at all an HTTP cache may pick a heuristic lifetime for a
 * 200 (RFC 9111 4.2.2).
 */
bool dns_response_max_age(const uint8_t *msg, size_t len, uint32_t *ttl);

#endif
