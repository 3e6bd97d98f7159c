/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/doorbell.c — futex-backed wake-ups for the log thread.
 */
#include "obs/doorbell.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void
futex_wake(atomic_int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void
doorbell_ring(struct doorbell *d)
{
	int expect = DOORBELL_WORK;

	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&d->state, memory_order_relaxed) !=
	    DOORBELL_WORK)
		return;
	/* Of several producers, the one that flips the state wakes. */
	if (atomic_compare_exchange_strong(&d->state, &expect,
	                                   DOORBELL_AWAKE)) {
		futex_wake(&d->state);
		atomic_fetch_add_explicit(&d->wakes, 1, memory_order_relaxed);
	}
}

void
doorbell_wake(struct doorbell *d)
{
	if (atomic_exchange(&d->state, DOORBELL_AWAKE) != DOORBELL_AWAKE) {
		futex_wake(&d->state);
		atomic_fetch_add_explicit(&d->wakes, 1, memory_order_relaxed);
	}
}

void
doorbell_arm(struct doorbell *d, enum doorbell_state how)
{
	atomic_store(&d->state, (int)how);
	atomic_thread_fence(memory_order_seq_cst);
}

void
doorbell_disarm(struct doorbell *d)
{
	atomic_store(&d->state, DOORBELL_AWAKE);
}

bool
doorbell_wait(struct doorbell *d, unsigned timeout_ms)
{
	int armed = atomic_load(&d->state);
	struct timespec ts = {.tv_sec = timeout_ms / 1000,
	                      .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
	long rc;

	if (armed == DOORBELL_AWAKE)
		return true;
	/* Returns at once when the state changed since it was armed (rung);
	 * EINTR and spurious returns only make the consumer look again. */
	rc = syscall(SYS_futex, &d->state, FUTEX_WAIT_PRIVATE, armed, &ts, NULL,
	             0);
	atomic_store(&d->state, DOORBELL_AWAKE);
	return !(rc < 0 && errno == ETIMEDOUT);
}

void
doorbell_idle(struct doorbell *d, unsigned *empty, enum doorbell_state how,
              bool (*pending)(void), unsigned timeout_ms)
{
	if (*empty < DOORBELL_POLLS) {
		struct timespec ts = {0, DOORBELL_POLL_NS};

		(*empty)++;
		nanosleep(&ts, NULL);
		return;
	}
	doorbell_arm(d, how);
	if (pending())
		doorbell_disarm(d);
	else
		doorbell_wait(d, timeout_ms);
}
