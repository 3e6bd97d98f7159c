/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/idtab.h — the queries in flight on one upstream connection, by
 * the DNS ID they carry: a client must not reuse an ID in flight on a
 * connection, and answers may come back in any order (RFC 7766 6.2.1.1,
 * 7), so each answer finds its query by ID here.
 *
 * Open addressing with linear probing on the ID's low bits, deletion by
 * backward shift (no tombstones), never more than half full so probes stay
 * short. Pure: no sockets, no allocation.
 */
#ifndef PROXY_IDTAB_H
#define PROXY_IDTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDTAB_SLOTS 1024
#define IDTAB_MAX   (IDTAB_SLOTS / 2) /* entries at most */

struct idtab {
	unsigned n;
	struct idtab_slot {
		void *p; /* NULL: free */
		uint16_t id;
	} slot[IDTAB_SLOTS];
};

/* Empty t. */
void idtab_init(struct idtab *t);
/* What id was added with, or NULL. */
void *idtab_find(const struct idtab *t, uint16_t id);
/* Add p (not NULL) under id: 0, or -1 when id is taken or t is full. */
int idtab_add(struct idtab *t, uint16_t id, void *p);
/* Remove id when it is p's: true when it was. */
bool idtab_remove(struct idtab *t, uint16_t id, const void *p);
/* Take every entry out of t (into out, up to cap of them; t is emptied
 * all the same): how many. */
size_t idtab_drain(struct idtab *t, void **out, size_t cap);

#endif
