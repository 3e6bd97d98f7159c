/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/yield.c — when a worker should yield its CPU to an upstream server
 * on the same host (see yield.h).
 */
#include "proxy/yield.h"

#include <string.h>

/* Yielding did not pay: stop, and hold off twice as long as last time. */
static void
stop(struct yield_gauge *g)
{
	g->on = false;
	g->backoff = g->backoff == 0                    ? 2
	             : g->backoff >= YIELD_HOLD_MAX / 2 ? YIELD_HOLD_MAX
	                                                : g->backoff * 2;
	g->hold = g->backoff;
}

void
yield_gauge_tick(struct yield_gauge *g, double now, unsigned long nivcsw)
{
	double span = now - g->last;
	/* Unsigned: a counter that wraps still gives the right difference. */
	unsigned long n = nivcsw - g->nivcsw;

	if (!g->started) {
		g->started =
		    true; /* a count since the thread began is no rate */
	} else if (g->on) {
		/* A second of yielding: some of them ran another task briefly
		 * (the server answering), not only nobody. */
		if (g->quick > 0 && g->quick * YIELD_IDLE_RATIO >= g->idle)
			g->backoff = 0;
		else
			stop(g);
	} else if (g->hold > 0) {
		g->hold--;
	} else if (span > 0 && (double)n >= YIELD_CONTENDED * span) {
		g->on = true;
	}
	g->last = now;
	g->nivcsw = nivcsw;
	g->idle = g->quick = g->slow = 0;
}

bool
yield_gauge_wanted(const struct yield_gauge *g)
{
	return g->on;
}

void
yield_gauge_took(struct yield_gauge *g, int64_t ns)
{
	if (!g->on)
		return;
	if (ns < YIELD_SWITCH_NS) {
		g->idle++;
	} else if (ns <= YIELD_SLOW_NS) {
		g->quick++;
	} else if (++g->slow >= YIELD_SLOW_MAX &&
	           g->slow * YIELD_IDLE_RATIO > g->quick) {
		/* A CPU-bound task takes the CPU at every yield: every query
		 * waits out its slice. Do not wait for the tick. */
		stop(g);
	}
}

void
yield_gauge_reset(struct yield_gauge *g)
{
	memset(g, 0, sizeof(*g));
}
