/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/fdlimit.c — running out of file descriptors, told to the operator
 * (fdlimit.h).
 */
#include "obs/fdlimit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

/* Shared by the workers: whichever is due first writes the report. */
static struct {
	atomic_ulong pending[FD_WHERE_N_]; /* since the last report */
	atomic_int err;                    /* the last EMFILE or ENFILE */
	atomic_uint_least64_t next_ms;     /* no report before this */
	atomic_bool reported;              /* one was written already */
} fl;

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
fdlimit_count(enum fd_where where, int err)
{
	if ((err != EMFILE && err != ENFILE) || where >= FD_WHERE_N_)
		return;
	atomic_store(&fl.err, err);
	atomic_fetch_add(&fl.pending[where], 1);
}

size_t
fdlimit_due(uint64_t now_ms, char *buf, size_t cap)
{
	uint_least64_t next = atomic_load(&fl.next_ms);
	unsigned long up, acc;
	int n;

	if (now_ms < next || (atomic_load(&fl.pending[FD_UPSTREAM]) == 0 &&
	                      atomic_load(&fl.pending[FD_ACCEPT]) == 0))
		return 0;
	/* One worker wins the interval; the others see it taken. */
	if (!atomic_compare_exchange_strong(&fl.next_ms, &next,
	                                    now_ms + FDLIMIT_INTERVAL_MS))
		return 0;
	up = atomic_exchange(&fl.pending[FD_UPSTREAM], 0);
	acc = atomic_exchange(&fl.pending[FD_ACCEPT], 0);
	n = snprintf(
	    buf, cap,
	    "out of file descriptors (%s): %lu upstream socket%s "
	    "not opened and %lu TCP accept%s failed %s; raise the "
	    "limit (ulimit -n, LimitNOFILE=) or lower "
	    "max-queries-in-flight and tcp-max-clients",
	    atomic_load(&fl.err) == ENFILE ? "ENFILE, the system's limit"
	                                   : "EMFILE, the process's limit",
	    up, up == 1 ? "" : "s", acc, acc == 1 ? "" : "s",
	    atomic_exchange(&fl.reported, true) ? "since the last report"
	                                        : "so far");
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

void
fdlimit_tick(struct log_ring *ring)
{
	char msg[300];

	if (fdlimit_due(mono_ms(), msg, sizeof(msg)) > 0)
		log_ring_msg(ring, LOG_ERR, "%s", msg);
}

void
fdlimit_hit(struct log_ring *ring, atomic_ulong *counter, enum fd_where where,
            int err)
{
	if (err != EMFILE && err != ENFILE)
		return;
	STAT_INC(*counter);
	fdlimit_count(where, err);
	fdlimit_tick(ring);
}
