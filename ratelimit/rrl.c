/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit/rrl.c — response rate limiting (BIND 9 semantics) and the
 * per-client query limit; the contract is in rrl.h.
 *
 * The table is one fixed array of accounts with a chained hash index and an
 * LRU list threaded through it by index, plus a fixed pool of episode
 * records; all of it is allocated by rrl_new. An account does not keep its
 * name, only a keyed 64-bit hash of prefix, kind, qtype and name (as BIND
 * keeps a name hash): the name is copied into the episode record when the
 * account starts limiting, which is the only time a log line needs it.
 */
#include "ratelimit/rrl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/wire.h"
#include "ratelimit/siphash.h"

#define NONE UINT32_MAX
/* Balances are kept in thousandths of a credit: one response costs this. */
#define COST 1000

/* One account: 56 bytes on LP64. */
struct rrl_entry {
	uint64_t hash;    /* keyed hash of the whole key, name included */
	uint64_t prefix;  /* masked address bits (v4: 32, v6: the first 64) */
	uint64_t last_ms; /* latest debit or credit */
	int64_t balance;  /* in thousandths of a credit */
	uint32_t hnext;   /* next in the hash chain, or NONE */
	uint32_t prev;    /* LRU neighbours (head = most recent), or NONE */
	uint32_t next;
	uint16_t qtype;
	uint16_t episode; /* slot index + 1; 0 when not limiting */
	uint8_t kind;
	uint8_t v6;
	uint8_t slip_cnt;
};

enum slot_state {
	SLOT_FREE = 0,
	SLOT_ON,    /* attached to a limiting account */
	SLOT_ENDED, /* account refilled or evicted; awaiting rrl_expire */
};

struct rrl_slot {
	struct rrl_episode ep;
	uint32_t entry; /* the account, or NONE once ended */
	uint8_t state;
};

struct rrl_table {
	struct rrl_config cfg;
	uint8_t hash_key[RRL_HASH_KEY_LEN];
	struct rrl_entry *entries;
	uint32_t *buckets; /* chain heads, NONE when empty */
	uint32_t bucket_mask;
	uint32_t used; /* entries[0..used) have been handed out */
	uint32_t head; /* LRU: most recently used */
	uint32_t tail; /* LRU: next to be recycled */
	struct rrl_slot *slots;
	uint16_t *free_slots; /* stack of free slot indexes */
	uint32_t nslots;
	uint32_t nfree;
	struct rrl_stats stats;
};

/* An account's identity as rrl_account computes it. */
struct rrl_key {
	uint64_t hash;
	uint64_t prefix;
	uint16_t qtype;
	uint8_t kind;
	uint8_t v6;
	uint8_t name[DNS_NAME_MAX]; /* lower case; the root when no name */
	size_t name_len;
};

_Static_assert(RRL_HASH_KEY_LEN == SIPHASH_KEY_LEN, "one key size");

/* The keyed hash of an account's key: SipHash-2-4, as a number. */
static uint64_t
key_hash(const uint8_t key[RRL_HASH_KEY_LEN], const uint8_t *in, size_t len)
{
	uint8_t out[SIPHASH_OUT_LEN];
	uint64_t v = 0;
	int i;

	siphash24(key, in, len, out);
	for (i = SIPHASH_OUT_LEN - 1; i >= 0; i--)
		v = (v << 8) | out[i];
	return v;
}

/* ---- configuration ----------------------------------------------------- */

void
rrl_config_defaults(struct rrl_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->window_s = 15;
	cfg->slip = 2;
	cfg->v4_prefix = 24;
	cfg->v6_prefix = 56;
	cfg->max_table = 20000;
}

int
rrl_config_check(const struct rrl_config *cfg, const char **why)
{
	const char *w = NULL;

	if (cfg->responses_ps > RRL_RATE_MAX)
		w = "responses-per-second must be 0..1000";
	else if (cfg->nxdomains_ps > RRL_RATE_MAX)
		w = "nxdomains-per-second must be 0..1000";
	else if (cfg->nodata_ps > RRL_RATE_MAX)
		w = "nodata-per-second must be 0..1000";
	else if (cfg->errors_ps > RRL_RATE_MAX)
		w = "errors-per-second must be 0..1000";
	else if (cfg->all_ps > RRL_RATE_MAX)
		w = "all-per-second must be 0..1000";
	else if (cfg->queries_ps > RRL_QUERY_RATE_MAX)
		w = "queries-per-second must be 0..1000000";
	else if (cfg->window_s < RRL_WINDOW_MIN ||
	         cfg->window_s > RRL_WINDOW_MAX)
		w = "window must be 1s..3600s";
	else if (cfg->slip > RRL_SLIP_MAX)
		w = "slip must be 0..10";
	else if (cfg->v4_prefix < RRL_V4_PREFIX_MIN ||
	         cfg->v4_prefix > RRL_V4_PREFIX_MAX)
		w = "ipv4-prefix-length must be 8..32";
	else if (cfg->v6_prefix < RRL_V6_PREFIX_MIN ||
	         cfg->v6_prefix > RRL_V6_PREFIX_MAX)
		w = "ipv6-prefix-length must be 16..64";
	else if (cfg->max_table < RRL_TABLE_MIN ||
	         cfg->max_table > RRL_TABLE_MAX)
		w = "max-table-size must be 2..10000000";
	if (why != NULL)
		*why = w;
	return w == NULL ? 0 : -1;
}

static unsigned
rate_of(const struct rrl_config *cfg, enum rrl_kind kind)
{
	switch (kind) {
	case RRL_ANSWER:
	case RRL_REFERRAL:
		return cfg->responses_ps;
	case RRL_NODATA:
		return cfg->nodata_ps;
	case RRL_NXDOMAIN:
		return cfg->nxdomains_ps;
	case RRL_ERROR:
		return cfg->errors_ps;
	case RRL_ALL:
		return cfg->all_ps;
	case RRL_QUERY:
		return cfg->queries_ps;
	}
	return 0;
}

const char *
rrl_kind_rule(enum rrl_kind kind)
{
	switch (kind) {
	case RRL_ANSWER:
	case RRL_REFERRAL:
		return "responses-per-second";
	case RRL_NODATA:
		return "nodata-per-second";
	case RRL_NXDOMAIN:
		return "nxdomains-per-second";
	case RRL_ERROR:
		return "errors-per-second";
	case RRL_ALL:
		return "all-per-second";
	case RRL_QUERY:
		return "queries-per-second";
	}
	return "?";
}

/* ---- table ------------------------------------------------------------- */

struct rrl_table *
rrl_new(const struct rrl_config *cfg, const uint8_t *hash_key)
{
	struct rrl_table *t;
	size_t nbuckets = 1;
	uint32_t i;

	if (rrl_config_check(cfg, NULL) != 0)
		return NULL;
	while (nbuckets < cfg->max_table)
		nbuckets <<= 1;
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->cfg = *cfg;
	if (hash_key != NULL)
		memcpy(t->hash_key, hash_key, RRL_HASH_KEY_LEN);
	t->nslots = cfg->max_table < RRL_EPISODES_MAX ? cfg->max_table
	                                              : RRL_EPISODES_MAX;
	t->entries = calloc(cfg->max_table, sizeof *t->entries);
	t->buckets = malloc(nbuckets * sizeof *t->buckets);
	t->slots = calloc(t->nslots, sizeof *t->slots);
	t->free_slots = malloc(t->nslots * sizeof *t->free_slots);
	if (t->entries == NULL || t->buckets == NULL || t->slots == NULL ||
	    t->free_slots == NULL) {
		rrl_free(t);
		return NULL;
	}
	t->bucket_mask = (uint32_t)(nbuckets - 1);
	for (i = 0; i < nbuckets; i++)
		t->buckets[i] = NONE;
	/* Pop order 0, 1, 2...: deterministic, which the tests like. */
	for (i = 0; i < t->nslots; i++)
		t->free_slots[i] = (uint16_t)(t->nslots - 1 - i);
	t->nfree = t->nslots;
	t->head = t->tail = NONE;
	t->stats.capacity = cfg->max_table;
	t->stats.bytes = sizeof *t + cfg->max_table * sizeof *t->entries +
	                 nbuckets * sizeof *t->buckets +
	                 t->nslots * (sizeof *t->slots + sizeof *t->free_slots);
	return t;
}

void
rrl_free(struct rrl_table *t)
{
	if (t == NULL)
		return;
	free(t->free_slots);
	free(t->slots);
	free(t->buckets);
	free(t->entries);
	free(t);
}

int
rrl_reconfigure(struct rrl_table *t, const struct rrl_config *cfg)
{
	if (rrl_config_check(cfg, NULL) != 0 ||
	    cfg->max_table != t->cfg.max_table ||
	    cfg->v4_prefix != t->cfg.v4_prefix ||
	    cfg->v6_prefix != t->cfg.v6_prefix)
		return -1;
	t->cfg = *cfg;
	return 0;
}

void
rrl_stats_get(const struct rrl_table *t, struct rrl_stats *s)
{
	*s = t->stats;
	s->entries = t->used;
	s->episodes = t->nslots - t->nfree;
}

/* ---- LRU list and hash index ------------------------------------------- */

static void
lru_unlink(struct rrl_table *t, uint32_t i)
{
	struct rrl_entry *e = &t->entries[i];

	if (e->prev != NONE)
		t->entries[e->prev].next = e->next;
	else
		t->head = e->next;
	if (e->next != NONE)
		t->entries[e->next].prev = e->prev;
	else
		t->tail = e->prev;
}

static void
lru_push_head(struct rrl_table *t, uint32_t i)
{
	struct rrl_entry *e = &t->entries[i];

	e->prev = NONE;
	e->next = t->head;
	if (t->head != NONE)
		t->entries[t->head].prev = i;
	t->head = i;
	if (t->tail == NONE)
		t->tail = i;
}

static void
hash_unlink(struct rrl_table *t, uint32_t i)
{
	uint32_t *p = &t->buckets[t->entries[i].hash & t->bucket_mask];

	while (*p != i) {
		assert(*p != NONE);
		p = &t->entries[*p].hnext;
	}
	*p = t->entries[i].hnext;
}

/* ---- episodes ---------------------------------------------------------- */

/* The account stopped limiting (refilled, idle or evicted) at now. */
static void
episode_end(struct rrl_table *t, struct rrl_entry *e, uint64_t now)
{
	struct rrl_slot *s;

	if (e->episode == 0)
		return;
	s = &t->slots[e->episode - 1];
	s->state = SLOT_ENDED;
	s->entry = NONE;
	s->ep.end_ms = now;
	e->episode = 0;
}

static void
episode_key(struct rrl_episode *ep, const struct rrl_key *k,
            const struct rrl_config *cfg)
{
	unsigned i;

	memset(&ep->prefix, 0, sizeof ep->prefix);
	if (k->v6) {
		for (i = 0; i < 8; i++)
			ep->prefix.b[i] = (uint8_t)(k->prefix >> (56 - 8 * i));
		ep->prefix_len = (uint8_t)cfg->v6_prefix;
	} else {
		ep->prefix.v4 = true;
		ep->prefix.b[10] = ep->prefix.b[11] = 0xff;
		for (i = 0; i < 4; i++)
			ep->prefix.b[12 + i] =
			    (uint8_t)(k->prefix >> (24 - 8 * i));
		ep->prefix_len = (uint8_t)cfg->v4_prefix;
	}
	ep->kind = (enum rrl_kind)k->kind;
	ep->qtype = k->qtype;
	memcpy(ep->name, k->name, k->name_len);
}

static struct rrl_slot *
episode_start(struct rrl_table *t, uint32_t i, const struct rrl_key *k,
              uint64_t now)
{
	struct rrl_slot *s;
	uint16_t n;

	if (t->nfree == 0)
		return NULL;
	n = t->free_slots[--t->nfree];
	s = &t->slots[n];
	memset(s, 0, sizeof *s);
	episode_key(&s->ep, k, &t->cfg);
	s->ep.start_ms = now;
	s->ep.log_only = t->cfg.log_only;
	s->entry = i;
	s->state = SLOT_ON;
	t->entries[i].episode = (uint16_t)(n + 1);
	return s;
}

/* Count a limited response in account i's episode, starting one if needed;
 * fill r's log fields. */
static void
episode_count(struct rrl_table *t, uint32_t i, const struct rrl_key *k,
              enum rrl_verdict v, uint64_t now, struct rrl_result *r)
{
	struct rrl_entry *e = &t->entries[i];
	struct rrl_slot *s;

	if (e->episode != 0) {
		s = &t->slots[e->episode - 1];
	} else {
		s = episode_start(t, i, k, now);
		if (s == NULL) {
			t->stats.untracked++;
			return;
		}
		r->episode_start = true;
	}
	if (v == RRL_SLIP)
		r->log = s->ep.slipped++ == 0;
	else
		r->log = s->ep.dropped++ == 0;
	s->ep.last_ms = now;
	r->episode = &s->ep;
}

static void
slot_report(struct rrl_table *t, uint32_t n, uint64_t now,
            void (*cb)(void *arg, const struct rrl_episode *e), void *arg)
{
	struct rrl_slot *s = &t->slots[n];

	if (s->state == SLOT_ON)
		episode_end(t, &t->entries[s->entry], now);
	cb(arg, &s->ep);
	s->state = SLOT_FREE;
	t->free_slots[t->nfree++] = (uint16_t)n;
}

/* ---- accounts ---------------------------------------------------------- */

/* Copy name in lower case; a name that is not valid wire form (the caller's
 * bug) is taken as the root rather than read out of bounds. */
static size_t
name_copy_lower(uint8_t *out, const uint8_t *name)
{
	size_t i = 0, n;

	if (name == NULL)
		goto root;
	while (name[i] != 0) {
		n = name[i];
		if (n > DNS_LABEL_MAX || i + 1 + n + 1 > DNS_NAME_MAX)
			goto root;
		i += 1 + n;
	}
	memcpy(out, name, i + 1);
	dns_name_lower(out);
	return i + 1;
root:
	out[0] = 0;
	return 1;
}

static uint64_t
mask_bits(uint64_t v, unsigned width, unsigned bits)
{
	uint64_t keep = bits >= 64 ? ~0ULL : ~(~0ULL >> bits);

	return (v << (64 - width)) & keep;
}

static void
key_make(const struct rrl_table *t, const struct ip_addr *client,
         enum rrl_kind kind, const uint8_t *name, uint16_t qtype,
         struct rrl_key *k)
{
	uint8_t buf[11 + DNS_NAME_MAX];
	uint64_t a = 0;
	unsigned i;

	if (client->v4) {
		for (i = 12; i < 16; i++)
			a = (a << 8) | client->b[i];
		/* Left-aligned then shifted back: prefix keeps the low 32. */
		k->prefix = mask_bits(a, 32, t->cfg.v4_prefix) >> 32;
		k->v6 = 0;
	} else {
		for (i = 0; i < 8; i++)
			a = (a << 8) | client->b[i];
		k->prefix = mask_bits(a, 64, t->cfg.v6_prefix);
		k->v6 = 1;
	}
	k->kind = (uint8_t)kind;
	k->qtype = kind == RRL_ANSWER ? qtype : 0;
	if (kind == RRL_ANSWER || kind == RRL_REFERRAL || kind == RRL_NODATA ||
	    kind == RRL_NXDOMAIN)
		k->name_len = name_copy_lower(k->name, name);
	else
		k->name_len = name_copy_lower(k->name, NULL);
	buf[0] = (uint8_t)(k->kind | k->v6 << 7);
	buf[1] = (uint8_t)(k->qtype >> 8);
	buf[2] = (uint8_t)k->qtype;
	for (i = 0; i < 8; i++)
		buf[3 + i] = (uint8_t)(k->prefix >> (56 - 8 * i));
	memcpy(buf + 11, k->name, k->name_len);
	k->hash = key_hash(t->hash_key, buf, 11 + k->name_len);
}

static bool
key_match(const struct rrl_entry *e, const struct rrl_key *k)
{
	return e->hash == k->hash && e->prefix == k->prefix &&
	       e->kind == k->kind && e->v6 == k->v6 && e->qtype == k->qtype;
}

/* A fresh account slot: unused, or the least recently used one recycled. */
static uint32_t
entry_alloc(struct rrl_table *t, uint64_t now)
{
	uint32_t i;

	if (t->used < t->cfg.max_table)
		return t->used++;
	i = t->tail;
	hash_unlink(t, i);
	lru_unlink(t, i);
	episode_end(t, &t->entries[i], now);
	t->stats.evicted++;
	return i;
}

/* The account for k, created with a full bucket when missing; it becomes
 * the most recently used. */
static uint32_t
entry_get(struct rrl_table *t, const struct rrl_key *k, unsigned rate,
          uint64_t now)
{
	uint32_t *head = &t->buckets[k->hash & t->bucket_mask];
	struct rrl_entry *e;
	uint32_t i;

	for (i = *head; i != NONE; i = t->entries[i].hnext) {
		if (key_match(&t->entries[i], k)) {
			lru_unlink(t, i);
			lru_push_head(t, i);
			return i;
		}
	}
	i = entry_alloc(t, now);
	e = &t->entries[i];
	memset(e, 0, sizeof *e);
	e->hash = k->hash;
	e->prefix = k->prefix;
	e->kind = k->kind;
	e->v6 = k->v6;
	e->qtype = k->qtype;
	e->balance = (int64_t)rate * COST;
	e->last_ms = now;
	e->hnext = *head;
	*head = i;
	lru_push_head(t, i);
	return i;
}

/*
 * True when account e, at rate, has a full bucket by now: it earns rate per
 * second up to +rate, and an account idle for more than window is new.
 */
static bool
entry_full_at(const struct rrl_table *t, const struct rrl_entry *e,
              unsigned rate, uint64_t now, int64_t *balance)
{
	uint64_t idle = now > e->last_ms ? now - e->last_ms : 0;
	int64_t cap = (int64_t)rate * COST;

	if (idle > (uint64_t)t->cfg.window_s * 1000) {
		*balance = cap;
		return true;
	}
	*balance = e->balance + (int64_t)rate * (int64_t)idle;
	if (*balance >= cap) {
		*balance = cap;
		return true;
	}
	return false;
}

/* Credit the time since the last visit (BIND debit_rrl_entry, first half).
 * A full bucket resets the slip counter and ends the episode. */
static void
entry_credit(struct rrl_table *t, struct rrl_entry *e, unsigned rate,
             uint64_t now)
{
	if (entry_full_at(t, e, rate, now, &e->balance)) {
		e->slip_cnt = 0;
		episode_end(t, e, now);
	}
	if (now > e->last_ms)
		e->last_ms = now;
}

/* Pay for one response (BIND debit_rrl_entry, second half). */
static enum rrl_verdict
entry_debit(struct rrl_table *t, struct rrl_entry *e, unsigned rate,
            bool can_slip)
{
	int64_t floor = -(int64_t)t->cfg.window_s * rate * COST;
	unsigned slip = t->cfg.slip;

	e->balance -= COST;
	if (e->balance >= 0)
		return RRL_SEND;
	if (e->balance < floor)
		e->balance = floor;
	if (slip == 0 || !can_slip)
		return RRL_DROP;
	if (e->slip_cnt++ == 0) {
		if (e->slip_cnt >= slip)
			e->slip_cnt = 0;
		return RRL_SLIP;
	}
	if (e->slip_cnt >= slip)
		e->slip_cnt = 0;
	return RRL_DROP;
}

/* Debit account k at rate; *idx is the account. */
static enum rrl_verdict
account_debit(struct rrl_table *t, const struct rrl_key *k, unsigned rate,
              uint64_t now, uint32_t *idx)
{
	uint32_t i = entry_get(t, k, rate, now);
	struct rrl_entry *e = &t->entries[i];

	*idx = i;
	entry_credit(t, e, rate, now);
	/* all-per-second is never slipped (BIND), nor are errors: see rrl.h */
	return entry_debit(t, e, rate,
	                   k->kind != RRL_ALL && k->kind != RRL_ERROR);
}

static void
result_finish(struct rrl_table *t, struct rrl_result *r, enum rrl_verdict v)
{
	r->would = v;
	r->verdict = t->cfg.log_only ? RRL_SEND : v;
}

struct rrl_result
rrl_account(struct rrl_table *t, const struct ip_addr *client,
            enum rrl_kind kind, const uint8_t *name, uint16_t qtype,
            uint64_t now_ms)
{
	struct rrl_result r = {.verdict = RRL_SEND, .would = RRL_SEND};
	enum rrl_verdict v = RRL_SEND, va;
	unsigned rate = rate_of(&t->cfg, kind);
	struct rrl_key k, ka;
	uint32_t i = NONE, ia;

	assert(kind >= RRL_ANSWER && kind <= RRL_ERROR);
	if (rate != 0) {
		key_make(t, client, kind, name, qtype, &k);
		v = account_debit(t, &k, rate, now_ms, &i);
	}
	/* Both are debited; all-per-second decides when it limits. The kind's
	 * account was just made the most recent, so with max_table >= 2 this
	 * cannot recycle it. */
	if (t->cfg.all_ps != 0) {
		key_make(t, client, RRL_ALL, NULL, 0, &ka);
		va = account_debit(t, &ka, t->cfg.all_ps, now_ms, &ia);
		if (va != RRL_SEND) {
			v = va;
			i = ia;
			k = ka;
		}
	}
	if (v != RRL_SEND) {
		r.limited_by = (enum rrl_kind)k.kind;
		episode_count(t, i, &k, v, now_ms, &r);
		if (v == RRL_SLIP)
			t->stats.slipped++;
		else
			t->stats.dropped++;
	}
	result_finish(t, &r, v);
	return r;
}

struct rrl_result
rrl_query_account(struct rrl_table *t, const struct ip_addr *client,
                  uint64_t now_ms)
{
	struct rrl_result r = {.verdict = RRL_SEND, .would = RRL_SEND};
	unsigned rate = t->cfg.queries_ps;
	struct rrl_entry *e;
	struct rrl_key k;
	uint32_t i;

	if (rate == 0)
		return r;
	key_make(t, client, RRL_QUERY, NULL, 0, &k);
	i = entry_get(t, &k, rate, now_ms);
	e = &t->entries[i];
	entry_credit(t, e, rate, now_ms);
	/* No debt: a refused query costs nothing, the floor is 0 (rrl.h). */
	if (e->balance >= COST) {
		e->balance -= COST;
		return r;
	}
	r.limited_by = RRL_QUERY;
	episode_count(t, i, &k, RRL_DROP, now_ms, &r);
	t->stats.queries_limited++;
	result_finish(t, &r, RRL_DROP);
	return r;
}

bool
rrl_query_allowed(struct rrl_table *t, const struct ip_addr *client,
                  uint64_t now_ms)
{
	return rrl_query_account(t, client, now_ms).verdict == RRL_SEND;
}

void
rrl_expire(struct rrl_table *t, uint64_t now_ms,
           void (*cb)(void *arg, const struct rrl_episode *e), void *arg)
{
	const struct rrl_entry *e;
	int64_t balance;
	uint32_t n;
	unsigned rate;

	for (n = 0; n < t->nslots; n++) {
		if (t->slots[n].state == SLOT_FREE)
			continue;
		if (t->slots[n].state == SLOT_ON) {
			e = &t->entries[t->slots[n].entry];
			rate = rate_of(&t->cfg, (enum rrl_kind)e->kind);
			/* Look ahead without touching the account: its next
			 * visit credits the same time again. */
			if (rate != 0 &&
			    !entry_full_at(t, e, rate, now_ms, &balance))
				continue;
		}
		slot_report(t, n, now_ms, cb, arg);
	}
}

void
rrl_expire_all(struct rrl_table *t, uint64_t now_ms,
               void (*cb)(void *arg, const struct rrl_episode *e), void *arg)
{
	uint32_t n;

	for (n = 0; n < t->nslots; n++) {
		if (t->slots[n].state != SLOT_FREE)
			slot_report(t, n, now_ms, cb, arg);
	}
}

/* ---- text -------------------------------------------------------------- */

/* BIND's words for an account's kind in "limit ... responses to". */
static const char *
kind_words(enum rrl_kind kind)
{
	switch (kind) {
	case RRL_REFERRAL:
		return "referral ";
	case RRL_NODATA:
		return "NODATA ";
	case RRL_NXDOMAIN:
		return "NXDOMAIN ";
	case RRL_ERROR:
		return "error ";
	case RRL_ALL:
		return "all ";
	default:
		return "";
	}
}

int
rrl_episode_text(const struct rrl_episode *e, char *out, size_t cap)
{
	char ip[IP_ADDR_TEXT_MAX], name[DNS_NAME_TEXT_MAX], tbuf[16];
	const char *what = kind_words(e->kind);
	unsigned len = e->prefix_len;
	int n = -1;

	ip_addr_format(&e->prefix, ip, sizeof ip);
	if (dns_name_to_text(e->name, name, sizeof name) < 0)
		name[0] = '\0';
	switch (e->kind) {
	case RRL_ANSWER:
		n = snprintf(out, cap, "responses to %s/%u for %s %s", ip, len,
		             name, dns_type_name(e->qtype, tbuf, sizeof tbuf));
		break;
	case RRL_REFERRAL:
	case RRL_NODATA:
	case RRL_NXDOMAIN:
		n = snprintf(out, cap, "%sresponses to %s/%u for %s", what, ip,
		             len, name);
		break;
	case RRL_ERROR:
	case RRL_ALL:
		n = snprintf(out, cap, "%sresponses to %s/%u", what, ip, len);
		break;
	case RRL_QUERY:
		n = snprintf(out, cap, "queries from %s/%u", ip, len);
		break;
	}
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return n;
}

/* ---- classification ---------------------------------------------------- */

/* What rrl_classify needs from the sections after the question. */
struct rrl_sections {
	bool soa, ns;
	uint8_t soa_owner[DNS_NAME_MAX];
	uint8_t ns_owner[DNS_NAME_MAX];
	unsigned ext_rcode; /* OPT TTL bits 24..31 (RFC 6891 6.1.3) */
};

/* Walk answer, authority and additional; stop quietly at the first RR
 * that does not fit, keeping what was found before it. */
static void
sections_read(struct wire *w, const struct dns_header *h,
              struct rrl_sections *s)
{
	unsigned an = h->ancount, ns = h->nscount, ar = h->arcount, i;
	struct dns_rr rr;

	for (i = 0; i < an + ns + ar; i++) {
		if (dns_rr_next(w, &rr) != 0)
			return;
		if (i >= an && i < an + ns && rr.type == DNS_TYPE_SOA &&
		    !s->soa) {
			memcpy(s->soa_owner, rr.owner, sizeof rr.owner);
			s->soa = true;
		} else if (i >= an && i < an + ns && rr.type == DNS_TYPE_NS &&
		           !s->ns) {
			memcpy(s->ns_owner, rr.owner, sizeof rr.owner);
			s->ns = true;
		} else if (i >= an + ns && rr.type == DNS_TYPE_OPT) {
			s->ext_rcode = rr.ttl >> 24;
		}
	}
}

enum rrl_kind
rrl_classify(const uint8_t *resp, size_t len, const uint8_t *qname,
             uint8_t name_out[DNS_NAME_MAX])
{
	struct rrl_sections s;
	struct dns_header h;
	const uint8_t *parent;
	struct wire w;
	unsigned i, rcode;

	memset(&s, 0, sizeof s);
	name_copy_lower(name_out, NULL);
	wire_init(&w, resp, len);
	h.id = wire_u16(&w);
	h.flags = wire_u16(&w);
	h.qdcount = wire_u16(&w);
	h.ancount = wire_u16(&w);
	h.nscount = wire_u16(&w);
	h.arcount = wire_u16(&w);
	if (w.err)
		return RRL_ERROR;
	for (i = 0; i < h.qdcount && !w.err; i++) {
		(void)dns_name_skip(&w);
		wire_skip(&w, 4);
	}
	if (!w.err)
		sections_read(&w, &h, &s);
	rcode = s.ext_rcode << 4 | DNS_RCODE(h.flags);
	if (rcode == DNS_RCODE_NXDOMAIN) {
		/* The zone: SOA owner, else the qname's parent (the root's
		 * parent is the root). */
		if (s.soa) {
			name_copy_lower(name_out, s.soa_owner);
		} else if (qname != NULL) {
			parent = dns_name_parent(qname);
			name_copy_lower(name_out,
			                parent != NULL ? parent : qname);
		}
		return RRL_NXDOMAIN;
	}
	if (rcode != DNS_RCODE_NOERROR)
		return RRL_ERROR;
	if (h.ancount == 0 && !s.soa && s.ns && !(h.flags & DNS_FLAG_AA)) {
		name_copy_lower(name_out, s.ns_owner);
		return RRL_REFERRAL;
	}
	name_copy_lower(name_out, qname);
	return h.ancount > 0 ? RRL_ANSWER : RRL_NODATA;
}
