/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/rebind.h — DNS rebinding protection (dnsgate.conf(5), "Rebind
 * protection"): take the A/AAAA records that hold private, loopback, link-local
 * or unspecified addresses out of an upstream answer, so that a name on the
 * Internet cannot be made to point into the client's own network.
 *
 * Pure: no state, no allocation; safe to call from any thread.
 */
#ifndef POLICY_REBIND_H
#define POLICY_REBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"

/*
 * True when a lies in 0.0.0.0/8, 10/8, 100.64/10, 127/8, 169.254/16,
 * 172.16/12, 192.168/16, ::/128, ::1/128, fc00::/7 or fe80::/10, or is the
 * IPv4-mapped form (::ffff:0:0/96, RFC 4291 2.5.5.2) of an address in one of
 * the IPv4 ranges. The v4 flag does not matter: only the 16 bytes count.
 */
bool rebind_is_private(const struct ip_addr *a);

enum rebind_result {
	REBIND_CLEAN = 1, /* nothing to remove: out untouched, use msg as is */
	REBIND_FILTERED,  /* out[0..*out_len) is msg without those records */
	REBIND_MALFORMED, /* msg cannot be walked, or an A/AAAA has a bad size
	                   */
	REBIND_NOSPACE,   /* the filtered message does not fit in cap */
};

/*
 * Remove from the answer, authority and additional sections of the
 * response msg[0..len) every class IN A or AAAA record for which
 * rebind_is_private holds; *removed is set to how many (0 unless
 * REBIND_FILTERED).
 *
 * The copy keeps the header (ID, flags; the section counts fixed), the
 * question and every other record, the OPT included, in their order, with
 * the same owners, TTLs and RDATA. Names are decompressed while copying
 * and compressed again against the copy itself, so no pointer can lead
 * into a removed record: owners and the names inside NS, MD, MF, CNAME,
 * SOA, MB, MG, MR, PTR, MINFO and MX RDATA may be compressed (RFC 1035,
 * RFC 3597 4); the names inside RP, AFSDB, RT, SIG, PX, NXT, SRV, NAPTR and
 * DNAME RDATA are read even when compressed and written uncompressed; the
 * RDATA of other types is copied byte for byte. Bytes after the last
 * record are not copied.
 *
 * msg should already have passed dns_response_parse, but is walked with
 * the same checks: a record that does not fit, a bad name, or a class IN
 * A/AAAA whose RDATA is not 4/16 bytes gives REBIND_MALFORMED. out must
 * not overlap msg.
 */
enum rebind_result rebind_filter(uint8_t *out, size_t cap, size_t *out_len,
                                 const uint8_t *msg, size_t len,
                                 unsigned *removed);

/* "clean", "filtered", "malformed", "nospace" (for logs); "?" otherwise. */
const char *rebind_result_name(enum rebind_result r);

#endif
