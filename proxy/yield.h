/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/yield.h — when a worker should yield its CPU to an upstream server
 * on the same host ([server] yield-to-local-upstream = auto).
 *
 * A worker that has just handed queries to a server on this host may be
 * keeping that server off the CPU they share: the scheduler lets the
 * worker run on to the end of its slice, reading the client queries that
 * keep arriving a few at a time, while the server, and every query handed
 * to it, waits. sched_yield() lets the server answer at once. But a yield
 * pays only when the task that gets the CPU is such a server:
 *
 *  - with nobody else waiting for the CPU (the server runs on another
 *    one), the yield comes back at once and costs a system call;
 *  - with a CPU-bound task waiting (a batch job), the yield hands it a
 *    whole time slice, milliseconds, and every query waits for it.
 *
 * The gauge starts yielding when the worker is being switched out against
 * its will often (another task competes for its CPU), and judges the
 * yields it then makes by how long they took: a yield that came back
 * within YIELD_SWITCH_NS ran nobody, one that took more than
 * YIELD_SLOW_NS ran something slow. It stops yielding when the yields of
 * a second were mostly to nobody, or as soon as YIELD_SLOW_MAX of them
 * were slow (and were not rare among the useful ones); it then holds off
 * for 2, 4, ... up to YIELD_HOLD_MAX seconds, doubling each time yielding
 * did not pay, back to 2 after a second in which it did.
 *
 * Everything here is arithmetic on numbers the worker passes in (the
 * involuntary context switch count from getrusage(2), a monotonic clock,
 * each yield's duration), so the unit tests can drive it.
 */
#ifndef PROXY_YIELD_H
#define PROXY_YIELD_H

#include <stdbool.h>
#include <stdint.h>

/* Involuntary switches a second that show another task competing for the
 * worker's CPU. Measured at saturation on a 2-CPU VM: 35-45 a second with
 * the upstream server on the other CPU, 900-1,500 with it on the
 * worker's. */
#define YIELD_CONTENDED 200
/* A yield shorter than this ran nobody (alone, one takes about 0.5 us). */
#define YIELD_SWITCH_NS 3000
/* A yield longer than this ran something that is not a quick answer
 * (nsd's turns took 0.13-0.52 ms at saturation; a time slice of a
 * CPU-bound task is 0.75 ms or more). */
#define YIELD_SLOW_NS  1000000
#define YIELD_SLOW_MAX 4
/* Useful yields must be at least 1/YIELD_IDLE_RATIO of those to nobody. */
#define YIELD_IDLE_RATIO 8
#define YIELD_HOLD_MAX   64 /* seconds */

struct yield_gauge {
	bool started;         /* the baseline below is set */
	bool on;              /* yielding */
	double last;          /* seconds (monotonic) at the last tick */
	unsigned long nivcsw; /* involuntary switches then */
	unsigned hold;        /* ticks to wait before yielding may start */
	unsigned backoff;     /* the last hold given; 0: none yet */
	unsigned idle, quick, slow; /* this second's yields, by duration */
};

/* Once a second: now in seconds (monotonic), the thread's involuntary
 * context switch count. Starts or stops yielding. */
void yield_gauge_tick(struct yield_gauge *g, double now, unsigned long nivcsw);
/* Should the worker yield now? */
bool yield_gauge_wanted(const struct yield_gauge *g);
/* A yield took ns nanoseconds. May stop yielding at once. */
void yield_gauge_took(struct yield_gauge *g, int64_t ns);
/* Forget everything (the mode changed): the next tick is a baseline. */
void yield_gauge_reset(struct yield_gauge *g);

#endif
