/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_cache.c — the answer cache on hostile upstream bytes.
 *
 * Every input goes through cache_msg_ttl; one that parses as a response
 * is stored under a key made from its own question (the proxy stores only
 * answers that matched the query), then
 * looked up fresh, stale and with a buffer exactly its size. Whatever
 * comes out of a hit must be the same length as what went in, with ID 0
 * and the same flags and counts: the cache changes only TTL fields, the
 * ID and the question's case. (A hit need not parse: a hostile answer may
 * point a compression pointer into a TTL field, whose bytes the cache
 * rewrites; the proxy treats a hit that does not parse as a miss.)
 * Nothing may crash or read outside the message (ASan in the libFuzzer
 * build).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "dns/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[CACHE_MSG_MAX];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
check_hit(const struct cache_hit *h, const uint8_t *data, size_t size)
{
	struct dns_response r;

	if (h->result == CACHE_MISS)
		return;
	check(h->len == size);
	check(dns_hdr_id(out, h->len) == 0);
	check(memcmp(out + 2, data + 2, DNS_HEADER_LEN - 2) == 0);
	(void)dns_response_parse(out, h->len, &r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t hash_key[CACHE_HASH_KEY_LEN] = {1, 2, 3};
	struct cache_params p = {
	    .size = 1 << 20,
	    .max_ttl = 86400,
	    .serve_stale = true,
	    .stale_ttl = 30,
	    .max_stale = 3600,
	    .servfail_ttl = 5,
	    .shards = 1,
	};
	struct dns_query q;
	struct dns_response r;
	struct cache_key k;
	struct cache *c;
	struct cache_hit h;
	bool parsed = dns_response_parse(data, size, &r) == 0;

	(void)cache_msg_ttl(data, size, &p);
	if (!parsed)
		return 0;
	/* The key of the query this answers: its own question. */
	memset(&q, 0, sizeof(q));
	q.hdr = r.hdr;
	q.qname_len = dns_name_len(r.qname);
	memcpy(q.qname, r.qname, q.qname_len);
	q.qtype = r.qtype;
	q.qclass = r.qclass;
	q.edns = r.edns;
	c = cache_new(&p, hash_key);
	if (c == NULL)
		return 0;
	cache_key_make(&k, &q);
	if (cache_store(c, &k, data, size, 1000) == CACHE_STORED) {
		h = cache_lookup(c, &k, 2000, false, out, sizeof(out));
		check_hit(&h, data, size);
		h = cache_lookup(c, &k, 1000 + 86400000ull, true, out,
		                 sizeof(out));
		check_hit(&h, data, size);
		h = cache_lookup(c, &k, 2000, false, out, size);
		check_hit(&h, data, size);
		check(cache_flush(c, k.qname) <= 1);
	}
	cache_free(c);
	return 0;
}
