/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit/siphash.c — SipHash-2-4, written from the algorithm description
 * in the SipHash paper (section 2): 2 compression rounds per 8-byte word,
 * 4 finalization rounds. Words are assembled byte by byte, so the code
 * does not depend on the host's endianness or alignment.
 */
#include "ratelimit/siphash.h"

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
store_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static void
sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

/* One message word: c = 2 compression rounds. */
static void
sip_compress(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

void
siphash24(const uint8_t key[SIPHASH_KEY_LEN], const uint8_t *in, size_t len,
          uint8_t out[SIPHASH_OUT_LEN])
{
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	/* "somepseudorandomlygeneratedbytes" (paper, section 2). */
	struct sip_state s = {
	    .v0 = k0 ^ UINT64_C(0x736f6d6570736575),
	    .v1 = k1 ^ UINT64_C(0x646f72616e646f6d),
	    .v2 = k0 ^ UINT64_C(0x6c7967656e657261),
	    .v3 = k1 ^ UINT64_C(0x7465646279746573),
	};
	size_t full = len - len % 8;
	uint64_t last;

	for (size_t i = 0; i < full; i += 8)
		sip_compress(&s, load_le64(in + i));

	/* Final word: the length mod 256 in the top byte, then the 0..7
	 * remaining bytes little-endian. */
	last = (uint64_t)(len & 0xff) << 56;
	for (size_t i = len % 8; i > 0; i--)
		last |= (uint64_t)in[full + i - 1] << (8 * (i - 1));
	sip_compress(&s, last);

	/* d = 4 finalization rounds. */
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(&s);
	store_le64(out, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}
