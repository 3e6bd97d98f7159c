/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache/cache.c — one view's answer cache (cache.h).
 */
#include "cache/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "dns/wire.h"
#include "ratelimit/siphash.h"

#define DEFAULT_SHARDS 16
/* Bytes an entry is expected to take, to size each shard's buckets. */
#define BUCKET_PER_BYTES 256
#define MIN_BUCKETS      16
/* The largest key: flags, type, class, name. */
#define KEY_MAX (5 + DNS_NAME_MAX)
/* Records whose TTL a message may carry (its size bounds them anyway). */
#define TTLS_MAX (CACHE_MSG_MAX / 11)

struct entry {
	struct entry *hnext;       /* bucket chain */
	struct entry *prev, *next; /* the shard's queue: head is newest */
	uint64_t hash;
	uint64_t stored_ms;
	uint32_t lifetime_s;
	bool visited;    /* hit since the hand last passed (SIEVE) */
	bool prefetched; /* its prefetch was handed out */
	bool servfail;   /* a SERVFAIL answer */
	uint32_t tag;    /* cache_store_tagged */
	uint16_t keylen;
	uint16_t len;  /* of the message */
	uint16_t nttl; /* TTL fields in the message */
	size_t bytes;  /* counted against the bound */
	/* nttl offsets (uint16_t), the key, the message. */
	uint16_t data[];
};

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	struct entry *head, *tail, *hand;
	uint64_t budget; /* bytes */
	uint64_t bytes, entries, evictions;
} __attribute__((aligned(64)));

struct cache {
	struct cache_params p;
	uint8_t hash_key[CACHE_HASH_KEY_LEN];
	unsigned nshards;
	struct shard *shards;
};

/* ---- keys and messages ---- */

void
cache_key_make(struct cache_key *k, const struct dns_query *q)
{
	memset(k, 0, sizeof(*k));
	k->flags = (q->hdr.flags & DNS_FLAG_RD ? CACHE_KEY_RD : 0) |
	           (q->hdr.flags & DNS_FLAG_CD ? CACHE_KEY_CD : 0) |
	           (q->edns.present && q->edns.do_bit ? CACHE_KEY_DO : 0);
	k->qtype = q->qtype;
	k->qclass = q->qclass;
	k->qname_len = q->qname_len;
	memcpy(k->qname, q->qname, q->qname_len);
	dns_name_lower(k->qname);
}

/* The key as bytes: flags, type, class, name; its length. */
static size_t
key_bytes(const struct cache_key *k, uint8_t out[KEY_MAX])
{
	struct wbuf b;

	wbuf_init(&b, out, KEY_MAX);
	wbuf_u8(&b, k->flags);
	wbuf_u16(&b, k->qtype);
	wbuf_u16(&b, k->qclass);
	wbuf_bytes(&b, k->qname, k->qname_len);
	return b.err ? 0 : b.len;
}

/* What cache_store needs to know of a message. */
struct msg_info {
	int64_t ttl;    /* cache_msg_ttl */
	bool servfail;  /* lives servfail-ttl, unclamped */
	size_t soa_ttl; /* negative answer: offset of its SOA's TTL, or 0 */
	uint32_t neg;   /* negative answer: min(SOA TTL, SOA MINIMUM) */
	uint16_t nttl;  /* TTL fields, OPT excluded */
	uint16_t ttl_off[TTLS_MAX];
};

/* RFC 2181 8: a TTL with its top bit set is taken as 0. */
static uint32_t
ttl_value(uint32_t ttl)
{
	return ttl & 0x80000000u ? 0 : ttl;
}

/* SOA MINIMUM: the last 4 bytes of its RDATA (RFC 1035 3.3.13). */
static int
soa_minimum(const uint8_t *msg, size_t len, const struct dns_rr *rr,
            uint32_t *min)
{
	struct wire w;

	if (rr->rdlength < 22) /* two root names and five numbers */
		return -1;
	wire_init(&w, msg, len);
	wire_seek(&w, rr->rdata_offset + rr->rdlength - 4);
	*min = wire_u32(&w);
	return w.err ? -1 : 0;
}

/* Walk the records of msg; -1 when it is malformed. */
static int
msg_walk(const uint8_t *msg, size_t len, const struct dns_header *h,
         struct msg_info *mi, int64_t *min_ttl, bool *ext_rcode)
{
	struct wire w;
	unsigned total = (unsigned)h->ancount + h->nscount + h->arcount;
	uint8_t qname[DNS_NAME_MAX];
	size_t qlen;

	wire_init(&w, msg, len);
	wire_seek(&w, DNS_HEADER_LEN);
	qlen = dns_name_read(&w, qname);
	/* The stored question is lower-cased in place: it must not be
	 * compressed (it never is: nothing precedes it to point at). */
	if (qlen == 0 || w.pos != DNS_HEADER_LEN + qlen)
		return -1;
	wire_skip(&w, 4);
	if (w.err)
		return -1;
	for (unsigned i = 0; i < total; i++) {
		struct dns_rr rr;
		bool authority = i >= h->ancount && i < h->ancount + h->nscount;

		if (dns_rr_next(&w, &rr) < 0)
			return -1;
		if (rr.type == DNS_TYPE_OPT) {
			/* The OPT's "TTL" holds the extended RCODE's upper
			 * bits (RFC 6891 6.1.3). */
			*ext_rcode |= (rr.ttl >> 24) != 0;
			continue;
		}
		if (mi->nttl == TTLS_MAX)
			return -1;
		mi->ttl_off[mi->nttl++] = (uint16_t)(rr.rdata_offset - 6);
		if (ttl_value(rr.ttl) < *min_ttl)
			*min_ttl = ttl_value(rr.ttl);
		if (authority && rr.type == DNS_TYPE_SOA && mi->soa_ttl == 0) {
			uint32_t min;

			if (soa_minimum(msg, len, &rr, &min) < 0)
				return -1;
			mi->soa_ttl = rr.rdata_offset - 6;
			mi->neg = ttl_value(rr.ttl) < ttl_value(min)
			              ? ttl_value(rr.ttl)
			              : ttl_value(min);
		}
	}
	return w.pos == len ? 0 : -1;
}

static int
msg_analyze(const uint8_t *msg, size_t len, const struct cache_params *p,
            struct msg_info *mi)
{
	struct dns_header h;
	int64_t min_ttl = INT64_MAX;
	bool ext = false;
	unsigned rcode;

	memset(mi, 0, offsetof(struct msg_info, ttl_off));
	mi->ttl = -1;
	if (len > CACHE_MSG_MAX || dns_hdr_read(msg, len, &h) < 0 ||
	    !(h.flags & DNS_FLAG_QR) || (h.flags & DNS_FLAG_TC) ||
	    h.qdcount != 1 || msg_walk(msg, len, &h, mi, &min_ttl, &ext) < 0 ||
	    ext)
		return -1;
	rcode = DNS_RCODE(h.flags);
	if (rcode == DNS_RCODE_SERVFAIL) {
		mi->servfail = true;
		mi->ttl = p->servfail_ttl < CACHE_SERVFAIL_TTL_MAX
		              ? p->servfail_ttl
		              : CACHE_SERVFAIL_TTL_MAX;
	} else if (rcode == DNS_RCODE_NOERROR && h.ancount > 0) {
		mi->ttl = min_ttl;
		/* A CNAME chain ending in NODATA: no longer than its SOA. */
		if (mi->soa_ttl != 0 && mi->neg < mi->ttl)
			mi->ttl = mi->neg;
	} else if (rcode == DNS_RCODE_NXDOMAIN || rcode == DNS_RCODE_NOERROR) {
		/* RFC 2308 5: without an SOA, a negative answer is not
		 * cached. */
		if (mi->soa_ttl == 0)
			return -1;
		/* No longer than any record either (a CNAME chain). */
		mi->ttl = mi->neg < min_ttl ? mi->neg : min_ttl;
	} else {
		return -1;
	}
	return 0;
}

int64_t
cache_msg_ttl(const uint8_t *msg, size_t len, const struct cache_params *p)
{
	struct msg_info mi;

	return msg_analyze(msg, len, p, &mi) == 0 ? mi.ttl : -1;
}

static uint32_t
clamp_ttl(const struct cache_params *p, uint64_t ttl)
{
	if (ttl < p->min_ttl)
		ttl = p->min_ttl;
	if (p->max_ttl > 0 && ttl > p->max_ttl)
		ttl = p->max_ttl;
	return (uint32_t)ttl;
}

/* ---- entries ---- */

static const uint8_t *
entry_key(const struct entry *e)
{
	return (const uint8_t *)(e->data + e->nttl);
}

static uint8_t *
entry_msg(struct entry *e)
{
	return (uint8_t *)(e->data + e->nttl) + e->keylen;
}

/* The key's QNAME (after flags, type and class). */
static const uint8_t *
entry_qname(const struct entry *e)
{
	return entry_key(e) + 5;
}

static uint64_t
entry_expiry_ms(const struct entry *e)
{
	return e->stored_ms + (uint64_t)e->lifetime_s * 1000;
}

/* Past even the stale window: of no use to anybody. */
static bool
entry_dead(const struct cache *c, const struct entry *e, uint64_t now_ms)
{
	uint64_t end = entry_expiry_ms(e);

	/* A SERVFAIL is never an answer to serve stale. */
	if (c->p.serve_stale && !e->servfail)
		end += (uint64_t)c->p.max_stale * 1000;
	return now_ms >= end;
}

/* How long an entry of mi lives: SERVFAIL is not clamped (5 s at most). */
static uint32_t
entry_lifetime(const struct cache *c, const struct msg_info *mi)
{
	return mi->servfail ? (uint32_t)mi->ttl
	                    : clamp_ttl(&c->p, (uint64_t)mi->ttl);
}

static size_t
entry_alloc_size(const struct msg_info *mi, size_t keylen, size_t len)
{
	return sizeof(struct entry) + mi->nttl * sizeof(uint16_t) + keylen +
	       len;
}

/* What an entry counts against the bound: its memory and its share of a
 * bucket array. */
static size_t
entry_bytes(const struct msg_info *mi, size_t keylen, size_t len)
{
	return entry_alloc_size(mi, keylen, len) + sizeof(struct entry *);
}

static struct entry *
entry_new(const struct cache *c, const uint8_t *key, size_t keylen,
          const uint8_t *msg, size_t len, const struct msg_info *mi,
          uint64_t now_ms)
{
	struct entry *e = malloc(entry_alloc_size(mi, keylen, len));
	uint8_t *m;

	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->stored_ms = now_ms;
	e->lifetime_s = entry_lifetime(c, mi);
	e->servfail = mi->servfail;
	e->keylen = (uint16_t)keylen;
	e->len = (uint16_t)len;
	e->nttl = mi->nttl;
	e->bytes = entry_bytes(mi, keylen, len);
	memcpy(e->data, mi->ttl_off, mi->nttl * sizeof(uint16_t));
	memcpy((uint8_t *)(e->data + e->nttl), key, keylen);
	m = entry_msg(e);
	memcpy(m, msg, len);
	dns_hdr_set_id(m, len, 0);
	dns_name_lower(m + DNS_HEADER_LEN); /* the question: not compressed */
	if (mi->soa_ttl != 0) {
		/* RFC 2308 3: the SOA goes out with the negative TTL. */
		struct wbuf b;

		wbuf_init(&b, m + mi->soa_ttl, 4);
		wbuf_u32(&b, mi->neg);
	}
	return e;
}

/* Copy e out for a client, every TTL as it is to be handed out. */
static void
entry_copy(const struct cache *c, struct entry *e, uint8_t *out, uint32_t age,
           bool stale)
{
	memcpy(out, entry_msg(e), e->len);
	for (unsigned i = 0; i < e->nttl; i++) {
		struct wire r;
		struct wbuf w;
		uint32_t ttl;

		wire_init(&r, out, e->len);
		wire_seek(&r, e->data[i]);
		ttl = clamp_ttl(&c->p, ttl_value(wire_u32(&r)));
		ttl = stale ? c->p.stale_ttl : ttl > age ? ttl - age : 0;
		wbuf_init(&w, out + e->data[i], 4);
		wbuf_u32(&w, ttl);
	}
}

/* ---- shards ---- */

static uint64_t
key_hash(const struct cache *c, const uint8_t *key, size_t keylen)
{
	uint8_t h[SIPHASH_OUT_LEN];
	uint64_t v;

	siphash24(c->hash_key, key, keylen, h);
	memcpy(&v, h, sizeof(v));
	return v;
}

static struct shard *
shard_of(const struct cache *c, uint64_t hash)
{
	return &c->shards[hash & (c->nshards - 1)];
}

static struct entry **
bucket_of(struct shard *s, uint64_t hash)
{
	/* The shard took the low bits: the bucket takes the high ones. */
	return &s->buckets[(hash >> 32) & (s->nbuckets - 1)];
}

static struct entry *
shard_find(struct shard *s, uint64_t hash, const uint8_t *key, size_t keylen)
{
	for (struct entry *e = *bucket_of(s, hash); e != NULL; e = e->hnext)
		if (e->hash == hash && e->keylen == keylen &&
		    memcmp(entry_key(e), key, keylen) == 0)
			return e;
	return NULL;
}

/* Take e out of its bucket and the queue; the caller frees it. */
static void
shard_unlink(struct shard *s, struct entry *e)
{
	struct entry **pp = bucket_of(s, e->hash);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (s->hand == e)
		s->hand = e->prev;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	s->entries--;
	s->bytes -= e->bytes;
}

static void
shard_link(struct shard *s, struct entry *e)
{
	struct entry **b = bucket_of(s, e->hash);

	e->hnext = *b;
	*b = e;
	e->prev = NULL;
	e->next = s->head;
	if (s->head != NULL)
		s->head->prev = e;
	else
		s->tail = e;
	s->head = e;
	s->entries++;
	s->bytes += e->bytes;
}

/*
 * SIEVE: the hand walks from the oldest entry toward the newest, sparing
 * visited entries (and clearing their bit) and taking the first one that
 * was not; past the newest it starts over at the oldest. An entry past
 * its stale window goes whatever its bit. Returns the victim, unlinked.
 */
static struct entry *
shard_evict_one(struct cache *c, struct shard *s, uint64_t now_ms)
{
	struct entry *e = s->hand != NULL ? s->hand : s->tail;

	while (e != NULL && e->visited && !entry_dead(c, e, now_ms)) {
		e->visited = false;
		e = e->prev != NULL ? e->prev : s->tail;
	}
	if (e == NULL)
		return NULL;
	s->hand = e->prev;
	shard_unlink(s, e);
	s->evictions++;
	return e;
}

static void
entries_free(struct entry *list)
{
	while (list != NULL) {
		struct entry *next = list->hnext;

		free(list);
		list = next;
	}
}

/* ---- the cache ---- */

static size_t
pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

struct cache *
cache_new(const struct cache_params *p, const uint8_t hash_key[16])
{
	struct cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->p = *p;
	memcpy(c->hash_key, hash_key, CACHE_HASH_KEY_LEN);
	c->nshards =
	    p->shards > 0 ? (unsigned)pow2_at_least(p->shards) : DEFAULT_SHARDS;
	c->shards = aligned_alloc(64, c->nshards * sizeof(*c->shards));
	if (c->shards == NULL) {
		free(c);
		return NULL;
	}
	memset(c->shards, 0, c->nshards * sizeof(*c->shards));
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		uint64_t budget = p->size / c->nshards;
		size_t nb = pow2_at_least(budget / BUCKET_PER_BYTES);

		if (nb < MIN_BUCKETS)
			nb = MIN_BUCKETS;
		pthread_mutex_init(&s->lock, NULL);
		s->nbuckets = nb;
		s->buckets = calloc(nb, sizeof(*s->buckets));
		/* The buckets count against the bound too. */
		s->budget = budget > nb * sizeof(*s->buckets)
		                ? budget - nb * sizeof(*s->buckets)
		                : 0;
		s->bytes = 0;
		if (s->buckets == NULL) {
			c->nshards = i + 1;
			cache_free(c);
			return NULL;
		}
	}
	return c;
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		for (struct entry *e = s->head, *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

/* cache_lookup (use: mark, hand out the prefetch) or cache_peek. */
static struct cache_hit
lookup(struct cache *c, const struct cache_key *k, uint64_t now_ms,
       bool allow_stale, uint8_t *out, size_t cap, bool use)
{
	struct cache_hit hit = {.result = CACHE_MISS};
	uint8_t key[KEY_MAX];
	size_t keylen = key_bytes(k, key);
	uint64_t hash = key_hash(c, key, keylen);
	struct shard *s = shard_of(c, hash);
	struct entry *e, *gone = NULL;

	pthread_mutex_lock(&s->lock);
	e = shard_find(s, hash, key, keylen);
	if (e != NULL && entry_dead(c, e, now_ms)) {
		shard_unlink(s, e);
		gone = e;
	} else if (e != NULL && e->len <= cap) {
		uint64_t age_ms =
		    now_ms > e->stored_ms ? now_ms - e->stored_ms : 0;
		uint64_t life_ms = (uint64_t)e->lifetime_s * 1000;
		bool fresh = age_ms < life_ms;

		if (fresh || (allow_stale && c->p.serve_stale)) {
			hit.result = fresh ? CACHE_HIT : CACHE_STALE;
			hit.age = (uint32_t)(age_ms / 1000);
			hit.len = e->len;
			hit.tag = e->tag;
			entry_copy(c, e, out, hit.age, !fresh);
			e->visited |= use;
			/* Unbound's prefetch: the last 10 % of the life. */
			if (use && fresh && c->p.prefetch && !e->prefetched &&
			    (life_ms - age_ms) * 10 <= life_ms) {
				e->prefetched = true;
				hit.prefetch = true;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	free(gone);
	return hit;
}

struct cache_hit
cache_lookup(struct cache *c, const struct cache_key *k, uint64_t now_ms,
             bool allow_stale, uint8_t *out, size_t cap)
{
	return lookup(c, k, now_ms, allow_stale, out, cap, true);
}

struct cache_hit
cache_peek(struct cache *c, const struct cache_key *k, uint64_t now_ms,
           bool allow_stale, uint8_t *out, size_t cap)
{
	return lookup(c, k, now_ms, allow_stale, out, cap, false);
}

enum cache_store_result
cache_store(struct cache *c, const struct cache_key *k, const uint8_t *msg,
            size_t len, uint64_t now_ms)
{
	return cache_store_tagged(c, k, msg, len, now_ms, 0);
}

enum cache_store_result
cache_store_tagged(struct cache *c, const struct cache_key *k,
                   const uint8_t *msg, size_t len, uint64_t now_ms,
                   uint32_t tag)
{
	struct msg_info mi; /* about 3 KB: on the stack, not the heap */
	uint8_t key[KEY_MAX];
	size_t keylen = key_bytes(k, key);
	uint64_t hash;
	struct shard *s;
	struct entry *e, *old, *gone = NULL;

	if (len > CACHE_MSG_MAX)
		return CACHE_TOO_BIG;
	if (keylen == 0 || msg_analyze(msg, len, &c->p, &mi) < 0 ||
	    entry_lifetime(c, &mi) == 0)
		return CACHE_NOT_CACHEABLE;
	hash = key_hash(c, key, keylen);
	s = shard_of(c, hash);
	if (entry_bytes(&mi, keylen, len) > s->budget)
		return CACHE_TOO_BIG;
	e = entry_new(c, key, keylen, msg, len, &mi, now_ms);
	if (e == NULL)
		return CACHE_NOMEM;
	e->hash = hash;
	e->tag = tag;
	pthread_mutex_lock(&s->lock);
	old = shard_find(s, hash, key, keylen);
	if (old != NULL && e->servfail && !old->servfail &&
	    !entry_dead(c, old, now_ms)) {
		/* Only an answer refreshes an entry: a SERVFAIL must not
		 * replace what serve-stale could still give (RFC 8767 4). */
		pthread_mutex_unlock(&s->lock);
		free(e);
		return CACHE_NOT_CACHEABLE;
	}
	if (old != NULL) {
		shard_unlink(s, old);
		old->hnext = gone;
		gone = old;
	}
	shard_link(s, e);
	while (s->bytes > s->budget) {
		struct entry *v = shard_evict_one(c, s, now_ms);

		if (v == NULL)
			break;
		v->hnext = gone;
		gone = v;
	}
	pthread_mutex_unlock(&s->lock);
	entries_free(gone);
	return CACHE_STORED;
}

size_t
cache_flush(struct cache *c, const uint8_t *name)
{
	uint8_t lower[DNS_NAME_MAX];
	size_t n = 0;

	if (name != NULL) {
		memcpy(lower, name, dns_name_len(name));
		dns_name_lower(lower);
	}
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct entry *gone = NULL;

		pthread_mutex_lock(&s->lock);
		for (struct entry *e = s->head, *next; e != NULL; e = next) {
			next = e->next;
			if (name != NULL &&
			    !dns_name_is_sub(entry_qname(e), lower))
				continue;
			shard_unlink(s, e);
			e->hnext = gone;
			gone = e;
			n++;
		}
		pthread_mutex_unlock(&s->lock);
		entries_free(gone);
	}
	return n;
}

struct cache_stats
cache_stats(struct cache *c)
{
	struct cache_stats st = {0};

	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		st.entries += s->entries;
		st.bytes += s->bytes + s->nbuckets * sizeof(*s->buckets);
		st.evictions += s->evictions;
		pthread_mutex_unlock(&s->lock);
	}
	return st;
}
