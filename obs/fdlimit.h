/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/fdlimit.h — running out of file descriptors, told to the operator.
 *
 * EMFILE (the process's RLIMIT_NOFILE) or ENFILE (the system's file-max)
 * leaves nothing to do but fail what needed the descriptor: an upstream
 * attempt fails over as a local error (not the server's fault), a TCP
 * client waits in the listener's backlog. The operator must hear of it,
 * but one line per failure would let a flood write the log: the workers
 * share one report, written at most once per FDLIMIT_INTERVAL_MS with the
 * number of failures since the previous one. Every failure is also
 * counted in its worker's counters (dnsgate_fd_exhausted_total).
 */
#ifndef OBS_FDLIMIT_H
#define OBS_FDLIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "obs/log.h"
#include "obs/stats.h"

/* At most one report per this long (dnsgate(8), METRICS). */
#define FDLIMIT_INTERVAL_MS 10000u

/*
 * A worker failed to open a socket or accept a connection at where with
 * err (EMFILE or ENFILE; other errors are ignored): bump counter (the
 * worker's own, in its worker_stats) and log the report on ring, the
 * worker's log ring, when one is due.
 */
void fdlimit_hit(struct log_ring *ring, atomic_ulong *counter,
                 enum fd_where where, int err);
/* Log a report on ring if one is due (failures were counted since the
 * last one, which is FDLIMIT_INTERVAL_MS old): each worker's tick. */
void fdlimit_tick(struct log_ring *ring);

/*
 * The report due at now_ms (a monotonic clock): its text in buf, and the
 * failures it tells of are taken; 0 and nothing taken when none is due.
 * What fdlimit_hit() and fdlimit_tick() log; for tests with their own
 * clock.
 */
size_t fdlimit_due(uint64_t now_ms, char *buf, size_t cap);
/* Count one failure without logging (as fdlimit_hit, minus counter). */
void fdlimit_count(enum fd_where where, int err);

#endif
