/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/listfetch.h — lists named by URL, downloaded while dnsgate runs
 * and swapped in (dnsgate.conf(5), "Lists from URLs"; the names and paths
 * are policy/listurl.h's).
 *
 * One fetcher thread, never a worker, downloads with libcurl, one list at a
 * time: each list at start and then every [lists] refresh (a failed
 * download is tried again sooner: after 30 s, then twice as long each
 * time, never later than refresh), conditionally (If-None-Match with the
 * copy's ETag, If-Modified-Since with its Last-Modified). A download goes
 * to the copy's ".download/" directory and replaces the last good copy
 * (rename(2)) only once it has passed: HTTP 200, complete, within
 * max-size and timeout, not markup or binary, read without error as the
 * list format the value names, and at least one entry. Anything else
 * keeps the copy, is logged and counted. The new list goes to the main
 * loop (an ev_async), where listfetch_apply rebuilds the index of each view
 * that uses it from the lists that view already holds (view_conf.lists
 * and earlier downloads: no file is read again), into a runstate that
 * differs from the running one by those indexes only (proxy/runstate.h):
 * health, counters, caches and RRL tables stay as they were.
 */
#ifndef PROXY_LISTFETCH_H
#define PROXY_LISTFETCH_H

#include <ev.h>
#include <stdio.h>

#include "conf/config.h"
#include "proxy/runstate.h"

struct list_fetcher;

/*
 * A fetcher whose new lists are announced in loop (the main loop) by
 * calling changed(arg) there; changed is expected to call listfetch_apply.
 * The thread starts with the first list (listfetch_configure). NULL when
 * out of memory.
 */
struct list_fetcher *listfetch_new(struct ev_loop *loop,
                                   void (*changed)(void *arg), void *arg);

/*
 * Follow conf, at start (after privileges are dropped: the copies are
 * written as that user) and at every reload: lists new to it are
 * downloaded at once, lists conf no longer names are left alone, [lists]
 * settings apply from the next download; a reload's configuration read
 * the copies itself, so what earlier downloads brought is dropped. Main
 * thread only. 0, or -1 (errno) when the thread cannot start.
 */
int listfetch_configure(struct list_fetcher *f, struct config *conf);

/*
 * Main thread: the lists downloaded since the last call, applied to rs: a
 * new runstate for rs->conf with the rebuilt indexes of the views that use
 * them, to be swapped in as a reload swaps; NULL when nothing changed (or
 * out of memory, logged).
 */
struct runstate *listfetch_apply(struct list_fetcher *f,
                                 const struct runstate *rs);

/*
 * The lists' metric families (Prometheus text, each family once, with
 * HELP and TYPE): dnsgate_list_refresh_total{list,result},
 * dnsgate_list_entries{list}, dnsgate_list_skipped{list},
 * dnsgate_list_bytes{list}, dnsgate_list_age_seconds{list}. Nothing
 * without lists. f may be NULL.
 */
void listfetch_metrics(struct list_fetcher *f, FILE *out);

/*
 * Make [lists] cache-dir when conf names a list by URL: its missing
 * parents 0755, itself 0750, given to user (when started as root; NULL:
 * nobody) so that dnsgate can still write there after dropping
 * privileges. Failures are logged: downloads then fail, the lists stay.
 */
void listfetch_cache_dir(const struct config *conf, const char *user);

/* Tell the thread to stop, abandoning a download in progress, without
 * waiting for it (listfetch_free waits). */
void listfetch_stop(struct list_fetcher *f);
/* Stop the thread (a download in progress is abandoned) and free. */
void listfetch_free(struct list_fetcher *f);

#endif
