/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit/siphash.h — SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast
 * short-input PRF", 2012), the keyed hash RFC 9018 4.4 makes mandatory for
 * interoperable DNS server cookies.
 *
 * Our own implementation of the reference algorithm, checked in
 * tests/unit/ratelimit/test_siphash.c against the paper's 64-vector table.
 * Pure: no state, no allocation; safe to call from any thread.
 */
#ifndef RATELIMIT_SIPHASH_H
#define RATELIMIT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16
#define SIPHASH_OUT_LEN 8

/*
 * SipHash-2-4 of in[0..len) under the 128-bit key (k0 = bytes 0..7 and
 * k1 = bytes 8..15, each read little-endian, as in the reference code).
 * out receives the 64-bit result as 8 little-endian bytes, exactly the
 * bytes the reference implementation writes and RFC 9018 4.4 puts on the
 * wire: for key 00..0f and input 00..0e the value is 0xa129ca6149be45e5 and
 * out is e5 45 be 49 61 ca 29 a1. in may be NULL when len is 0; no
 * alignment is required of in or out.
 */
void siphash24(const uint8_t key[SIPHASH_KEY_LEN], const uint8_t *in,
               size_t len, uint8_t out[SIPHASH_OUT_LEN]);

#endif
