/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/doorbell.h — wake a sleeping consumer thread without costing the
 * producers a system call.
 *
 * The logger thread drains lock-free rings that the workers fill.
 * Polling the rings every few milliseconds kept an idle daemon waking 200
 * times a second. With a doorbell, a consumer that found nothing
 * announces that it is about to sleep (doorbell_arm), looks at its rings
 * once more, and sleeps on a futex (doorbell_wait) until a
 * producer rings or a timeout passes. A producer rings after publishing:
 * while the consumer is awake that is one fence and one load; only the
 * producer that finds it asleep makes the futex call. For the rings of a
 * ring set (obs/ring.h) the ring does it: ring_commit() rings after its
 * store of head, ring_drop() after counting.
 *
 * Why nothing is lost: the producer publishes (head, or the drop count),
 * then (fence) reads the state; the consumer writes the state, then
 * (fence) reads the rings' heads and drop counts. With both fences, at
 * least one of them sees the other's write.
 */
#ifndef OBS_DOORBELL_H
#define OBS_DOORBELL_H

#include <stdatomic.h>
#include <stdbool.h>

enum doorbell_state {
	DOORBELL_AWAKE = 0,
	DOORBELL_WORK = 1,  /* asleep until work comes, or the timeout */
	DOORBELL_TIMER = 2, /* asleep until the timeout; only stop wakes it */
};

/* A cache line of its own: every producer reads state, and the consumer's
 * own busy fields must not share its line. */
struct doorbell {
	_Alignas(64) atomic_int state; /* enum doorbell_state */
	atomic_ulong wakes;            /* futex wakes made, for tests */
};

/* Producer, after publishing: wakes a consumer asleep for work. */
void doorbell_ring(struct doorbell *d);
/* Stop: wakes the consumer whatever it sleeps for. */
void doorbell_wake(struct doorbell *d);
/* Consumer: announce the sleep (DOORBELL_WORK or DOORBELL_TIMER), then
 * look for work once more: found some, doorbell_disarm(); none, wait. */
void doorbell_arm(struct doorbell *d, enum doorbell_state how);
void doorbell_disarm(struct doorbell *d);
/* Sleep until rung (or woken) or timeout_ms passed; awake afterwards.
 * false: the timeout ended the sleep; true otherwise (rung, also before it
 * slept; a late wake meant for an earlier sleep; a signal). The caller
 * looks for work either way. */
bool doorbell_wait(struct doorbell *d, unsigned timeout_ms);

/* While work comes, a consumer looks every DOORBELL_POLL_NS (producers then
 * make no system call); after DOORBELL_POLLS empty looks in a row it sleeps
 * on the doorbell. */
#define DOORBELL_POLL_NS (5 * 1000 * 1000)
#define DOORBELL_POLLS   20
/*
 * The consumer found nothing to do: *empty counts the empty looks in a row
 * (the caller sets it to 0 when it found work). A nap while they are few;
 * then arm (how), ask pending() once more (work, or a stop, to look at
 * now) and sleep up to timeout_ms unless it said yes.
 */
void doorbell_idle(struct doorbell *d, unsigned *empty, enum doorbell_state how,
                   bool (*pending)(void), unsigned timeout_ms);

#endif
