/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cache/cache.h — one view's answer cache: whole DNS messages keyed by
 * question, shared by every worker, with RFC 2308 negative caching,
 * RFC 8767 serve-stale and Unbound-style prefetch. No I/O and no clock of
 * its own: the caller passes `now` (monotonic milliseconds).
 *
 * What is stored is the upstream's answer as the client would get it
 * before being fitted to a size (after the response filters): a
 * message, its ID zeroed, its question lower-cased. A hit copies it out
 * with every TTL decremented by the time spent in the cache; the caller
 * puts back its client's ID and question case, and fits it (TC=1 when it
 * does not fit) with its own OPT, cookie and EDE.
 *
 * Key (cache_key_make): the lower-cased QNAME, QTYPE, QCLASS and the RD,
 * DO and CD bits. The client's ID, question case, EDNS payload size and
 * COOKIE never split entries.
 *
 * Lifetime of an entry (cache_msg_ttl), in seconds, then clamped to
 * [min-ttl, max-ttl]:
 *   - NOERROR with answers: the smallest TTL of its records (answer,
 *     authority and additional sections; not the OPT);
 *   - NXDOMAIN, and NOERROR without answers (NODATA): min(SOA TTL,
 *     SOA MINIMUM) of the SOA in the authority section (RFC 2308 5); the
 *     SOA is kept and handed out with that TTL; without an SOA the answer
 *     is not cached (RFC 2308 5);
 *   - whenever an SOA is in the authority section (a CNAME chain ending
 *     in NXDOMAIN or NODATA), no longer than that negative TTL nor any of
 *     the records' TTLs;
 *   - a TTL with its top bit set counts as 0 (RFC 2181 8);
 *   - SERVFAIL: servfail-ttl (at most 5 s), never served stale;
 *   - never: TC=1, any other RCODE, a malformed message.
 * The TTL of each record handed out is its own TTL clamped the same way,
 * minus the entry's age; a stale answer has stale-ttl on every record.
 *
 * Concurrency: the entries are spread over shards by hash, each with its
 * own mutex, held only to find an entry and copy it out (a hit) or to link
 * one in (a store); no allocation happens under a lock, and none on a hit.
 * Eviction is SIEVE (Zhang et al., NSDI 2024) per shard: a hit only sets
 * the entry's "visited" bit, so the hit path never reorders a list; one
 * hand walks from the oldest entry, sparing (and clearing) visited ones,
 * which keeps a scan of one-off names from flushing the popular ones.
 * The size bound counts every entry's memory and the shards' bucket
 * arrays.
 */
#ifndef CACHE_CACHE_H
#define CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"

#define CACHE_HASH_KEY_LEN 16
/* servfail-ttl is at most this many seconds. */
#define CACHE_SERVFAIL_TTL_MAX 5
/* Messages longer than this are not cached. */
#define CACHE_MSG_MAX 16384

struct cache_params {
	uint64_t size;         /* bytes: entries and index; 0 = no cache */
	uint32_t min_ttl;      /* seconds */
	uint32_t max_ttl;      /* seconds */
	bool serve_stale;      /* keep expired entries up to max_stale */
	uint32_t stale_ttl;    /* seconds: the TTL on stale answers */
	uint32_t max_stale;    /* seconds an entry is kept after it expired */
	bool prefetch;         /* refresh hits in the last 10 % of their life */
	uint32_t servfail_ttl; /* seconds, <= CACHE_SERVFAIL_TTL_MAX */
	unsigned shards;       /* a power of two; 0 = the default (16) */
	/* stale-answer-client-timeout (ms, 0 = off): for the proxy, which
	 * answers stale while the refresh goes on; the cache ignores it. */
	uint32_t client_timeout_ms;
};

/* Bits of cache_key.flags. */
#define CACHE_KEY_RD 0x1u
#define CACHE_KEY_DO 0x2u
#define CACHE_KEY_CD 0x4u

struct cache_key {
	uint8_t flags; /* CACHE_KEY_* */
	uint16_t qtype;
	uint16_t qclass;
	size_t qname_len;
	uint8_t qname[DNS_NAME_MAX]; /* lower-cased */
};

/* The key of a parsed client query (q->qname_len > 0). */
void cache_key_make(struct cache_key *k, const struct dns_query *q);

/*
 * How long msg may live in a cache with parameters p, in seconds, before
 * the min-ttl/max-ttl clamp (the rules above); -1 when it must not be
 * cached.
 */
int64_t cache_msg_ttl(const uint8_t *msg, size_t len,
                      const struct cache_params *p);

struct cache;

/*
 * A cache with parameters p (p->size > 0), its bucket hash keyed by
 * hash_key (random: a client cannot aim names at one bucket). NULL when
 * out of memory.
 */
struct cache *cache_new(const struct cache_params *p,
                        const uint8_t hash_key[CACHE_HASH_KEY_LEN]);
void cache_free(struct cache *c);

enum cache_result {
	CACHE_MISS = 0,
	CACHE_HIT,   /* fresh */
	CACHE_STALE, /* expired, within max-stale (only when allowed) */
};

struct cache_hit {
	enum cache_result result;
	size_t len;   /* bytes written to out */
	uint32_t tag; /* what cache_store_tagged stored with it */
	/*
	 * A fresh hit in the last 10 % of the entry's lifetime, with
	 * prefetch on: the caller should refresh it in the background. Set
	 * for one hit per entry only.
	 */
	bool prefetch;
	uint32_t age; /* seconds the entry has been in the cache */
};

/*
 * Look k up at now_ms. A fresh entry is a hit; an expired one is a miss,
 * unless allow_stale and serve-stale are on and it expired less than
 * max-stale ago: then it is CACHE_STALE. A hit or stale answer is copied
 * to out (cap bytes; a miss when it does not fit), TTLs as handed out,
 * ID 0, question lower-cased.
 */
struct cache_hit cache_lookup(struct cache *c, const struct cache_key *k,
                              uint64_t now_ms, bool allow_stale, uint8_t *out,
                              size_t cap);
/*
 * The same, but not a use of the entry: it is not marked for SIEVE and its
 * prefetch is not handed out (for the store's own copy, and for stale
 * answers).
 */
struct cache_hit cache_peek(struct cache *c, const struct cache_key *k,
                            uint64_t now_ms, bool allow_stale, uint8_t *out,
                            size_t cap);

enum cache_store_result {
	CACHE_STORED = 1,
	CACHE_NOT_CACHEABLE, /* cache_msg_ttl said no, or its lifetime is 0 */
	CACHE_TOO_BIG,       /* longer than CACHE_MSG_MAX, or than the cache */
	CACHE_NOMEM,
};

/*
 * Store msg (an answer to k's question) at now_ms, replacing any entry for
 * k, evicting entries as the size bound needs. A SERVFAIL replaces no
 * live entry but another SERVFAIL (CACHE_NOT_CACHEABLE): only an answer
 * refreshes one, so an entry kept for serve-stale survives a failing
 * upstream (RFC 8767 4).
 */
enum cache_store_result cache_store(struct cache *c, const struct cache_key *k,
                                    const uint8_t *msg, size_t len,
                                    uint64_t now_ms);
/* The same, with a tag that every hit of the entry carries back. */
enum cache_store_result cache_store_tagged(struct cache *c,
                                           const struct cache_key *k,
                                           const uint8_t *msg, size_t len,
                                           uint64_t now_ms, uint32_t tag);

/*
 * Remove every entry whose QNAME is name or under it (wire format, any
 * case), or every entry when name is NULL; the number removed.
 */
size_t cache_flush(struct cache *c, const uint8_t *name);

struct cache_stats {
	uint64_t entries;
	uint64_t bytes; /* counted against the size bound */
	uint64_t evictions;
};

/* A snapshot (any thread). */
struct cache_stats cache_stats(struct cache *c);

#endif
