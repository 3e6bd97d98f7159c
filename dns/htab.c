/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/htab.c — see htab.h.
 */
#include "dns/htab.h"

#include "dns/name.h"

#include <stdlib.h>

int
htab_reserve(struct htab *t, size_t min_cap)
{
	struct htab_slot *s;
	size_t cap, i, j;

	if (2 * (t->n + 1) <= t->cap)
		return 0;
	cap = t->cap > 0 ? 2 * t->cap : min_cap;
	if ((s = calloc(cap, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < t->cap; i++) {
		if (t->slot[i].idx1 == 0)
			continue;
		for (j = t->slot[i].hash & (cap - 1); s[j].idx1 != 0;
		     j = (j + 1) & (cap - 1))
			;
		s[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = s;
	t->cap = cap;
	return 0;
}

void
htab_set(struct htab *t, struct htab_slot *s, uint32_t hash, size_t idx)
{
	s->hash = hash;
	s->idx1 = (uint32_t)(idx + 1);
	t->n++;
}

int
htab_array_reserve(void **arr, size_t *cap, size_t n, size_t size,
                   size_t min_cap)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap > 0 ? 2 * *cap : min_cap;
	if (ncap > UINT32_MAX || ncap > SIZE_MAX / size ||
	    (p = realloc(*arr, ncap * size)) == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

void
htab_free(struct htab *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = t->n = 0;
}

uint32_t
htab_hash_name(const uint8_t *name)
{
	uint8_t off[DNS_NAME_MAX / 2];
	unsigned n = dns_name_label_offsets(name, off);
	uint64_t h = HTAB_NAME_HASH_INIT;

	while (n > 0)
		h = htab_hash_label(h, name + off[--n]);
	return htab_hash_final(h);
}
