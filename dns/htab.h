/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/htab.h — the open-addressing index the name tables use (local data,
 * blocklists): slots of (hash, index + 1), linear probing, at most half
 * full. The keys live in the caller's arrays; the caller probes with its
 * own equality, so only growth and bookkeeping are shared.
 */
#ifndef DNS_HTAB_H
#define DNS_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_slot {
	uint32_t hash;
	uint32_t idx1; /* index + 1 into the caller's array; 0 = empty */
};

struct htab {
	struct htab_slot *slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/*
 * Make room for one more entry, keeping the load at most one half (the
 * first table has min_cap slots, a power of two); 0 / -1 out of memory,
 * the table unchanged.
 */
int htab_reserve(struct htab *t, size_t min_cap);
/* Fill the empty slot s with (hash, idx). */
void htab_set(struct htab *t, struct htab_slot *s, uint32_t hash, size_t idx);
/* Free the slots; t is empty and reusable afterwards. */
void htab_free(struct htab *t);

/*
 * Grow *arr (of size-byte elements, *cap of them) to hold one more than n:
 * doubling, starting at min_cap, never past what a slot's 32-bit index can
 * name. 0 / -1 out of memory (the array unchanged).
 */
int htab_array_reserve(void **arr, size_t *cap, size_t n, size_t size,
                       size_t min_cap);

/*
 * Names hashed label by label from the root outwards: FNV-1a over each
 * label's length byte and bytes, ASCII letters folded to lower case
 * (RFC 4343), then mixed. A lookup can so walk a name's suffixes one label
 * at a time, carrying the hash of the labels above (the blocklist index,
 * the forward-zone table).
 */
#define HTAB_NAME_HASH_INIT 0xcbf29ce484222325ull

/* h with one more label (its length byte and bytes) folded in. */
static inline uint64_t
htab_hash_label(uint64_t h, const uint8_t *label)
{
	size_t n = 1 + (size_t)label[0];

	for (size_t i = 0; i < n; i++) {
		uint8_t c = label[i];

		if (i > 0 && c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		h = (h ^ c) * 0x100000001b3ull;
	}
	return h;
}

/* The table hash of labels hashed so far. */
static inline uint32_t
htab_hash_final(uint64_t h)
{
	h ^= h >> 32;
	h *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

/* The table hash of a whole wire-format name. */
uint32_t htab_hash_name(const uint8_t *name);

#endif
