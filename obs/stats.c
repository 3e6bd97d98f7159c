/* SPDX-License-Identifier: BSD-2-Clause */
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

const char *
tls_handshake_name(enum tls_hs_result h)
{
	static const char *const names[TLS_HS_N_] = {"full", "resumed",
	                                             "failed", "timeout"};

	return (unsigned)h < TLS_HS_N_ ? names[h] : "other";
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
