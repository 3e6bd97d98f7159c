/*
 * obs/stats.c — counter helpers.
 */
#include "obs/stats.h"

#include <string.h>

const double latency_bounds[LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, -1.0};

const char *
up_error_name(enum up_error_kind k)
{
	static const char *const names[UPERR_COUNT_] = {
	    "timeout", "network", "servfail", "refused", "mismatch", "loop"};

	return (unsigned)k < UPERR_COUNT_ ? names[k] : "other";
}

void
server_stats_latency(struct server_stats *s, double seconds)
{
	size_t i = 0;

	while (i < LATENCY_BUCKETS - 1 && seconds > latency_bounds[i])
		i++;
	STAT_SHARED_INC(s->latency[i]);
	atomic_fetch_add_explicit(&s->latency_sum_us,
	                          (unsigned long)(seconds * 1e6),
	                          memory_order_relaxed);
}

void
topclients_count(struct topclients *t, const struct ip_addr *a)
{
	uint64_t hi, lo, h;
	struct topclient_slot *s;

	memcpy(&hi, a->b, 8);
	memcpy(&lo, a->b + 8, 8);
	/* Fibonacci hashing of the address halves. */
	h = (hi ^ (lo * 0x9e3779b97f4a7c15ull)) * 0x9e3779b97f4a7c15ull;
	s = &t->slot[h >> 54]; /* 10 bits: TOPCLIENTS_SLOTS */
	if (STAT_GET(s->hi) == hi && STAT_GET(s->lo) == lo &&
	    STAT_GET(s->count) > 0) {
		STAT_INC(s->count);
		return;
	}
	if (STAT_GET(s->count) > 0) {
		atomic_store_explicit(&s->count, STAT_GET(s->count) - 1,
		                      memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&s->hi, hi, memory_order_relaxed);
	atomic_store_explicit(&s->lo, lo, memory_order_relaxed);
	atomic_store_explicit(&s->count, 1, memory_order_relaxed);
}
