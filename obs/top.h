/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/top.h — who asked most, and what, lately: `dnsgate ctl top-clients`
 * and `dnsgate ctl top-names` (dnsgate(8), COMMANDS).
 *
 * Each worker counts its own queries in a struct top: a ring of TOP_SLOTS
 * time slots of TOP_SLOT_MS each (the monotonic clock), and in each slot
 * two heavy-hitter tables, client addresses and query names. A table is
 * direct-mapped: a key hashes to one cell; the cell's own key counts up,
 * any other key wears the count down by one and takes the cell when it
 * reaches zero (Misra-Gries with one counter per hash bucket). O(1) per
 * query, no allocation, no lock: one writer (the worker) and relaxed
 * atomics.
 *
 * What the counts mean (the approximation, documented in dnsgate(8)):
 *   - within one slot, a key's count is low by at most the queries of the
 *     other keys that hash to its cell in that slot; a key that sent more
 *     than half of its cell's queries in a slot is sure to hold the cell;
 *     a key that lost its cell in a slot counts nothing there;
 *   - a window of D is whole slots: the current one and as many before it
 *     as it takes to cover D, so it spans at least D and less than
 *     D + TOP_SLOT_MS (less when the daemon started later);
 *   - names count case-insensitively, as wire names in lower case.
 *
 * A reader (the control thread) merges the slots of a window over every
 * worker. A slot is recycled TOP_SLOTS slots later; the reader checks the
 * slot's epoch before and after copying it (a seqlock) and skips one that
 * was recycled meanwhile.
 */
#ifndef OBS_TOP_H
#define OBS_TOP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"
#include "dns/name.h"

#define TOP_SLOT_MS 10000u
/* The longest window `ctl top-*` accepts, and the default one. */
#define TOP_WINDOW_MAX_MS     300000u
#define TOP_WINDOW_DEFAULT_MS 60000u
/* Enough slots for the longest window, the current slot, and one being
 * recycled while a reader looks. */
#define TOP_SLOTS        (TOP_WINDOW_MAX_MS / TOP_SLOT_MS + 2)
#define TOP_CLIENT_BITS  10
#define TOP_CLIENT_CELLS (1u << TOP_CLIENT_BITS)
#define TOP_NAME_BITS    8
#define TOP_NAME_CELLS   (1u << TOP_NAME_BITS)
/* How many keys a report lists. */
#define TOP_REPORT_MAX 20

struct top_client_cell {
	atomic_uint_least64_t hi, lo; /* the address, as two halves */
	atomic_uint count;
};

/* A name is kept in 64-bit words so that the reader's copy is made of
 * atomic loads; hash (of the lower-case name) lets it tell a torn copy. */
#define TOP_NAME_WORDS ((DNS_NAME_MAX + 7) / 8)

struct top_name_cell {
	atomic_uint_least64_t hash;
	atomic_uint count;
	atomic_uint_least64_t name[TOP_NAME_WORDS];
};

struct top_slot {
	/* Which slot of time this is (monotonic ms / TOP_SLOT_MS + 1); 0 while
	 * unused or being cleared. */
	atomic_uint_least64_t epoch;
	struct top_client_cell clients[TOP_CLIENT_CELLS];
	struct top_name_cell names[TOP_NAME_CELLS];
};

/* One worker's tables; all zero (calloc) is an empty one. */
struct top {
	struct top_slot slot[TOP_SLOTS];
};

/* The monotonic clock in ms, as the functions below take it. */
uint64_t top_now_ms(void);

/* Count one query from a at now_ms (top_now_ms()); the worker only. */
void top_count_client(struct top *t, const struct ip_addr *a, uint64_t now_ms);
/* Count one query for qname (a valid wire name, any case). */
void top_count_name(struct top *t, const uint8_t *qname, uint64_t now_ms);

enum top_kind {
	TOP_CLIENTS = 1,
	TOP_NAMES,
};

/* One line of a report: the key (an address, or a lower-case wire name). */
struct top_row {
	struct ip_addr addr;
	uint8_t name[DNS_NAME_MAX];
	unsigned long count;
};

/*
 * Merge the slots that cover the last window_ms (see the top of this file)
 * of tables[0..n) and put the keys with the highest counts, highest first
 * (equal counts in key order), in rows[0..max). Returns how many, or -1
 * when out of memory. *span_ms gets the time the slots read cover.
 */
int top_report(struct top *const *tables, size_t n, enum top_kind kind,
               uint32_t window_ms, uint64_t now_ms, struct top_row *rows,
               size_t max, uint64_t *span_ms);

#endif
