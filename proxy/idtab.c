/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/idtab.c — queries in flight by DNS ID (idtab.h).
 */
#include "proxy/idtab.h"

#include <string.h>

#define MASK (IDTAB_SLOTS - 1)

void
idtab_init(struct idtab *t)
{
	memset(t, 0, sizeof(*t));
}

/* id's slot, or the free slot where it would go. */
static size_t
slot_of(const struct idtab *t, uint16_t id)
{
	size_t i = id & MASK;

	while (t->slot[i].p != NULL && t->slot[i].id != id)
		i = (i + 1) & MASK;
	return i;
}

void *
idtab_find(const struct idtab *t, uint16_t id)
{
	return t->slot[slot_of(t, id)].p;
}

int
idtab_add(struct idtab *t, uint16_t id, void *p)
{
	size_t i;

	if (t->n >= IDTAB_MAX || p == NULL)
		return -1;
	i = slot_of(t, id);
	if (t->slot[i].p != NULL)
		return -1;
	t->slot[i].p = p;
	t->slot[i].id = id;
	t->n++;
	return 0;
}

bool
idtab_remove(struct idtab *t, uint16_t id, const void *p)
{
	size_t i = slot_of(t, id), j;

	if (t->slot[i].p == NULL || t->slot[i].p != p)
		return false;
	t->slot[i].p = NULL;
	t->n--;
	/* Backward shift: move each later entry of the run into the hole
	 * unless its home slot lies cyclically in (hole, entry]. */
	for (j = i;;) {
		size_t home;

		j = (j + 1) & MASK;
		if (t->slot[j].p == NULL)
			return true;
		home = t->slot[j].id & MASK;
		if ((i <= j) ? (home <= i || home > j)
		             : (home <= i && home > j)) {
			t->slot[i] = t->slot[j];
			t->slot[j].p = NULL;
			i = j;
		}
	}
}

size_t
idtab_drain(struct idtab *t, void **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < IDTAB_SLOTS; i++) {
		if (t->slot[i].p == NULL)
			continue;
		if (n < cap)
			out[n++] = t->slot[i].p;
		t->slot[i].p = NULL;
	}
	t->n = 0;
	return n;
}
