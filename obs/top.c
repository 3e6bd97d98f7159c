/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/top.c — heavy hitters in time slots (obs/top.h).
 */
#include "obs/top.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RELAXED  memory_order_relaxed
#define HASH_MUL 0x9e3779b97f4a7c15ull

uint64_t
top_now_ms(void)
{
	struct timespec ts;

	/* Coarse is plenty for 10 s slots, and cheaper on the query path. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
epoch_of(uint64_t now_ms)
{
	return now_ms / TOP_SLOT_MS + 1;
}

/*
 * The slot for now_ms, cleared first when it still holds an older epoch.
 * The clearing is the writer half of a seqlock: the epoch goes to 0, the
 * cells are emptied, then the new epoch is published.
 */
static struct top_slot *
slot_current(struct top *t, uint64_t now_ms)
{
	uint64_t e = epoch_of(now_ms);
	struct top_slot *s = &t->slot[e % TOP_SLOTS];

	if (atomic_load_explicit(&s->epoch, RELAXED) == e)
		return s;
	atomic_store_explicit(&s->epoch, 0, RELAXED);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < TOP_CLIENT_CELLS; i++)
		atomic_store_explicit(&s->clients[i].count, 0, RELAXED);
	for (size_t i = 0; i < TOP_NAME_CELLS; i++)
		atomic_store_explicit(&s->names[i].count, 0, RELAXED);
	atomic_store_explicit(&s->epoch, e, memory_order_release);
	return s;
}

/*
 * The cell's key counts up; another key wears it down, and takes it at
 * zero (true: the caller writes its key, then sets the count to 1).
 */
static bool
cell_hit(atomic_uint *count, bool same)
{
	unsigned n = atomic_load_explicit(count, RELAXED);

	if (n > 0) {
		/* One writer: a plain load and store, no locked instruction. */
		atomic_store_explicit(count, same ? n + 1 : n - 1, RELAXED);
		return false;
	}
	return true;
}

void
top_count_client(struct top *t, const struct ip_addr *a, uint64_t now_ms)
{
	struct top_slot *s = slot_current(t, now_ms);
	struct top_client_cell *c;
	uint64_t hi, lo;

	memcpy(&hi, a->b, 8);
	memcpy(&lo, a->b + 8, 8);
	/* Fibonacci hashing of the address halves. */
	c = &s->clients[((hi ^ (lo * HASH_MUL)) * HASH_MUL) >>
	                (64 - TOP_CLIENT_BITS)];
	if (!cell_hit(&c->count,
	              atomic_load_explicit(&c->hi, RELAXED) == hi &&
	                  atomic_load_explicit(&c->lo, RELAXED) == lo))
		return;
	atomic_store_explicit(&c->hi, hi, RELAXED);
	atomic_store_explicit(&c->lo, lo, RELAXED);
	atomic_store_explicit(&c->count, 1, memory_order_release);
}

/*
 * Eight bytes in lower case at once (ASCII A-Z only; label lengths and
 * other bytes stay): a byte below 0x80 that is >= 'A' and not > 'Z' gets
 * 0x20 added. No byte's sum carries into the next.
 */
static uint64_t
lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t low7 = x & (0x7f * ones);
	uint64_t ge_a = low7 + (0x80 - 'A') * ones;
	uint64_t gt_z = low7 + (0x7f - 'Z') * ones;
	uint64_t upper = ~x & (ge_a ^ gt_z) & (0x80 * ones);

	return x | (upper >> 2);
}

/*
 * The name as words, in lower case, zero after its last byte; returns
 * how many. Hashing and comparing then go a word at a time.
 */
static size_t
name_words(const uint8_t *name, size_t len, uint64_t w[TOP_NAME_WORDS])
{
	size_t n = (len + 7) / 8;

	w[n - 1] = 0;
	memcpy(w, name, len);
	for (size_t i = 0; i < n; i++)
		w[i] = lower8(w[i]);
	return n;
}

/* The hash of a name's words (never 0: the reader's mark of nothing). */
static uint64_t
words_hash(const uint64_t *w, size_t n)
{
	uint64_t h = n;

	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * HASH_MUL;
	h ^= h >> 29;
	return h != 0 ? h : 1;
}

static bool
cell_name_equal(const struct top_name_cell *c, const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (atomic_load_explicit(&c->name[i], RELAXED) != w[i])
			return false;
	return true;
}

void
top_count_name(struct top *t, const uint8_t *qname, uint64_t now_ms)
{
	struct top_slot *s = slot_current(t, now_ms);
	uint64_t w[TOP_NAME_WORDS];
	size_t n = name_words(qname, dns_name_len(qname), w);
	uint64_t h = words_hash(w, n);
	struct top_name_cell *c =
	    &s->names[(h * HASH_MUL) >> (64 - TOP_NAME_BITS)];

	if (!cell_hit(&c->count, atomic_load_explicit(&c->hash, RELAXED) == h &&
	                             cell_name_equal(c, w, n)))
		return;
	for (size_t i = 0; i < n; i++)
		atomic_store_explicit(&c->name[i], w[i], RELAXED);
	atomic_store_explicit(&c->hash, h, RELAXED);
	atomic_store_explicit(&c->count, 1, memory_order_release);
}

/* ---- the reader ---- */

/* Distinct keys met so far, with their summed counts (open addressing). */
struct merge {
	struct top_row *rows;
	uint64_t *hash; /* parallel to rows; 0: empty */
	size_t cap, n;
	enum top_kind kind;
};

static bool
row_same(const struct merge *m, const struct top_row *r,
         const struct top_row *key)
{
	if (m->kind == TOP_CLIENTS)
		return memcmp(r->addr.b, key->addr.b, 16) == 0;
	return dns_name_equal(r->name, key->name);
}

static int
merge_grow(struct merge *m)
{
	struct merge big = {.cap = m->cap ? m->cap * 2 : 256, .kind = m->kind};

	big.rows = calloc(big.cap, sizeof(*big.rows));
	big.hash = calloc(big.cap, sizeof(*big.hash));
	if (big.rows == NULL || big.hash == NULL) {
		free(big.rows);
		free(big.hash);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->hash[i] == 0)
			continue;
		for (j = m->hash[i] & (big.cap - 1); big.hash[j] != 0;
		     j = (j + 1) & (big.cap - 1))
			;
		big.hash[j] = m->hash[i];
		big.rows[j] = m->rows[i];
	}
	big.n = m->n;
	free(m->rows);
	free(m->hash);
	*m = big;
	return 0;
}

static int
merge_add(struct merge *m, uint64_t h, const struct top_row *key,
          unsigned long count)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap && merge_grow(m) < 0)
		return -1;
	for (i = h & (m->cap - 1); m->hash[i] != 0; i = (i + 1) & (m->cap - 1))
		if (m->hash[i] == h && row_same(m, &m->rows[i], key)) {
			m->rows[i].count += count;
			return 0;
		}
	m->hash[i] = h;
	m->rows[i] = *key;
	m->rows[i].count = count;
	m->n++;
	return 0;
}

/* Copy one client cell; false when it is empty. */
static bool
client_read(const struct top_client_cell *c, struct top_row *r, uint64_t *h)
{
	uint64_t hi, lo;

	memset(r, 0, sizeof(*r));
	r->count = atomic_load_explicit(&c->count, memory_order_acquire);
	if (r->count == 0)
		return false;
	hi = atomic_load_explicit(&c->hi, RELAXED);
	lo = atomic_load_explicit(&c->lo, RELAXED);
	memcpy(r->addr.b, &hi, 8);
	memcpy(r->addr.b + 8, &lo, 8);
	r->addr.v4 = memcmp(r->addr.b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
	*h = ((hi ^ (lo * HASH_MUL)) * HASH_MUL) | 1;
	return true;
}

/* Copy one name cell; false when it is empty or was being rewritten. */
static bool
name_read(const struct top_name_cell *c, struct top_row *r, uint64_t *h)
{
	uint64_t words[TOP_NAME_WORDS];
	uint8_t *w = (uint8_t *)words;
	size_t len, n;

	memset(r, 0, sizeof(*r));
	r->count = atomic_load_explicit(&c->count, memory_order_acquire);
	if (r->count == 0)
		return false;
	*h = atomic_load_explicit(&c->hash, RELAXED);
	for (size_t i = 0; i < TOP_NAME_WORDS; i++)
		words[i] = atomic_load_explicit(&c->name[i], RELAXED);
	/* A torn copy (the worker gave the cell to another name meanwhile)
	 * is not a valid name of that hash: skip it. */
	len = 0;
	while (len < DNS_NAME_MAX && w[len] != 0 && w[len] <= DNS_LABEL_MAX)
		len += (size_t)w[len] + 1;
	if (len >= DNS_NAME_MAX || w[len] != 0)
		return false;
	n = (len + 1 + 7) / 8;
	memset(w + len + 1, 0, n * 8 - (len + 1)); /* as name_words pads */
	if (words_hash(words, n) != *h)
		return false;
	memcpy(r->name, w, len + 1);
	return true;
}

/* A slot's cells as read, before they are known to be this window's. */
struct scratch {
	struct top_row rows[TOP_CLIENT_CELLS];
	uint64_t hash[TOP_CLIENT_CELLS];
};

_Static_assert(TOP_NAME_CELLS <= TOP_CLIENT_CELLS, "scratch holds a slot");

/* Add what slot s holds to m, unless it was recycled while read. */
static int
slot_merge(const struct top_slot *s, uint64_t epoch, struct merge *m,
           struct scratch *sc)
{
	size_t ncells =
	    m->kind == TOP_CLIENTS ? TOP_CLIENT_CELLS : TOP_NAME_CELLS;
	size_t n = 0;

	if (atomic_load_explicit(&s->epoch, memory_order_acquire) != epoch)
		return 0;
	for (size_t i = 0; i < ncells; i++) {
		struct top_row *r = &sc->rows[n];

		if (m->kind == TOP_CLIENTS
		        ? client_read(&s->clients[i], r, &sc->hash[n])
		        : name_read(&s->names[i], r, &sc->hash[n]))
			n++;
	}
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->epoch, RELAXED) != epoch)
		return 0; /* recycled under us: not this window's any more */
	for (size_t i = 0; i < n; i++)
		if (merge_add(m, sc->hash[i], &sc->rows[i], sc->rows[i].count) <
		    0)
			return -1;
	return 0;
}

static int
row_cmp_clients(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return memcmp(x->addr.b, y->addr.b, 16);
}

static int
row_cmp_names(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return dns_name_compare(x->name, y->name);
}

int
top_report(struct top *const *tables, size_t n, enum top_kind kind,
           uint32_t window_ms, uint64_t now_ms, struct top_row *rows,
           size_t max, uint64_t *span_ms)
{
	struct merge m = {.kind = kind};
	uint64_t e = epoch_of(now_ms), elapsed = now_ms % TOP_SLOT_MS, back = 0;
	struct scratch *sc;
	size_t k = 0;

	if (window_ms > TOP_WINDOW_MAX_MS)
		window_ms = TOP_WINDOW_MAX_MS;
	/* The current slot, and whole slots before it up to window_ms. */
	if (window_ms > elapsed)
		back = (window_ms - elapsed + TOP_SLOT_MS - 1) / TOP_SLOT_MS;
	*span_ms = elapsed + back * TOP_SLOT_MS;
	if ((sc = malloc(sizeof(*sc))) == NULL || merge_grow(&m) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		for (uint64_t d = 0; d <= back && d < e; d++)
			if (slot_merge(&tables[i]->slot[(e - d) % TOP_SLOTS],
			               e - d, &m, sc) < 0)
				goto fail;
	/* The non-empty rows to the front, then the best ones first. */
	for (size_t i = 0; i < m.cap; i++)
		if (m.hash[i] != 0)
			m.rows[k++] = m.rows[i];
	qsort(m.rows, k, sizeof(*m.rows),
	      kind == TOP_CLIENTS ? row_cmp_clients : row_cmp_names);
	if (k > max)
		k = max;
	memcpy(rows, m.rows, k * sizeof(*rows));
	free(sc);
	free(m.rows);
	free(m.hash);
	return (int)k;
fail:
	free(sc);
	free(m.rows);
	free(m.hash);
	return -1;
}
