/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/log.h — the log: decision lines from the workers and daemon
 * messages, written by one logger thread so the datapath never blocks.
 *
 * Each worker owns a single-producer ring (obs/ring.h) of lines; the logger
 * thread is its only consumer. A full ring drops the line and counts it;
 * the logger reports the count ("log: dropped N lines") when it catches up.
 */
#ifndef OBS_LOG_H
#define OBS_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

#include "conf/config.h"

/* The longest line; a longer one counts as dropped. */
#define LOG_SLOT_SIZE 1024
/*
 * Bytes per ring (power of two), the same 4 MiB as the 4096 fixed slots
 * before obs/ring.h. A line takes its length plus 4 to 11 bytes, so a ring
 * holds at least 4062 lines of LOG_SLOT_SIZE (1032 bytes each, less up to
 * 1 KiB left unused where the records wrap) and many more of the usual
 * shorter ones.
 */
#define LOG_RING_BYTES (4u << 20)

struct log_ring;

/* Open the target of lc and start the logger thread; 0 / -1 (errno). */
int log_start(const struct log_conf *lc);
/* Switch to another target (reload); reopens a file target (logrotate). */
int log_reconfigure(const struct log_conf *lc);
/*
 * Give the open file target of lc to uid:gid, so that the user root drops
 * to can reopen it at a reload (the control socket is given away the same
 * way). Only a regular file named by lc->path without a symbolic link and
 * with one link: -1 with errno ELOOP (a symbolic link), EMLINK (another
 * name), ESTALE (the name is no longer that file) or fchown's; 0, doing
 * nothing, for a target that is not a regular file (syslog, stderr, a
 * device).
 */
int log_chown(const struct log_conf *lc, uid_t uid, gid_t gid);
/*
 * Reopen a file target by its path, so that lines go to a new file there
 * once logrotate has moved the old one away (SIGUSR1); nothing to do for
 * stderr and syslog. Every line goes to the old file or to the new one.
 * 0 / -1 (errno; the old file stays in use).
 */
int log_reopen(void);
/* Drain every ring and stop the thread. Every producer must have stopped.
 * The target stays open: log_msg() still writes there afterwards. */
void log_stop(void);

/* The room a log_stamp() needs. */
#define LOG_STAMP_MAX 40
/*
 * Start a daemon line (not a decision) in format (enum decision_format)
 * with the time stamp every line carries, as decision lines write it
 * (policy/decision.h): `{"ts":"2026-11-26T13:49:48.909Z",` in json format,
 * the caller adding its members and the closing brace; the time and a
 * space in text format, or nothing when the target is syslog, which stamps
 * lines itself. Returns the length written into buf.
 */
size_t log_stamp(int format, char *buf, size_t cap);

/* A ring for one producer thread, registered with the logger. */
struct log_ring *log_ring_new(void);
/*
 * Copy one line into ring (never blocks; counts a drop when full). Only the
 * ring's owner thread may call it.
 */
void log_ring_push(struct log_ring *ring, const char *line, size_t len);
/* Lines dropped in total, across rings (metrics). */
unsigned long log_dropped_total(void);

/*
 * A daemon message from a worker thread (a server going down or up):
 * formatted like log_msg's and queued on the worker's ring, so the
 * datapath never waits on the log. Only ring's owner may call it.
 */
void log_ring_msg(struct log_ring *r, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Daemon messages (start, reload, errors): rare, so written directly under
 * a lock. prio is a syslog priority. Before log_start() they go to stderr.
 */
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
