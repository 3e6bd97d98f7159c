/*
 * obs/log.h — the log: decision lines from the workers and daemon
 * messages, written by one logger thread so the datapath never blocks.
 *
 * Each worker owns a single-producer ring of fixed slots; the logger thread
 * is its only consumer. A full ring drops the line and counts it; the logger
 * reports the count ("log: dropped N lines") when it catches up.
 */
#ifndef OBS_LOG_H
#define OBS_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "proxy/config.h"

#define LOG_SLOT_SIZE  1024
#define LOG_RING_SLOTS 4096 /* power of two */

struct log_ring {
	atomic_size_t head; /* next slot the producer writes */
	atomic_size_t tail; /* next slot the consumer reads */
	atomic_ulong dropped;
	uint16_t len[LOG_RING_SLOTS];
	char slot[LOG_RING_SLOTS][LOG_SLOT_SIZE];
};

/* Open the target of lc and start the logger thread; 0 / -1 (errno). */
int log_start(const struct log_conf *lc);
/* Switch to another target (reload); reopens a file target (logrotate). */
int log_reconfigure(const struct log_conf *lc);
/* Drain every ring, stop the thread, close the target. */
void log_stop(void);

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
