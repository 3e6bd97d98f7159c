/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/worker.h — event-loop workers, listeners, queries in flight.
 *
 * Each worker is one thread with its own libev loop and its own sockets on
 * every listen address (SO_REUSEPORT spreads clients across workers). A query
 * lives in one struct query from the worker's free list, from the moment its
 * message is complete until query_finish() sends the answer (or not) and
 * frees it.
 */
#ifndef PROXY_WORKER_H
#define PROXY_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/config.h"
#include "obs/log.h"
#include "obs/stats.h"
#include "obs/top.h"
#include "proxy/doh.h"
#include "proxy/pipeline.h"
#include "proxy/query.h"
#include "proxy/runstate.h"
#include "proxy/tcpprefix.h"
#include "proxy/upstream.h"
#include "proxy/usock.h"
#include "proxy/yield.h"

struct worker;
struct tcp_conn;
struct list_fetcher;
struct pool;
struct dot_pool;
struct probe;

/* State shared by all workers and the main thread. */
struct daemon {
	pthread_mutex_t conf_lock;
	struct runstate *rs; /* current; workers take refs under the lock */
	struct worker *workers;
	unsigned nworkers;
	atomic_uint tcp_clients;
	struct tcp_prefixes tcp_prefixes; /* open connections per prefix */
	struct list_fetcher *lists;       /* lists named by URL (main thread) */
};

struct listener {
	struct worker *w;
	int fd;
	enum transport transport;
	bool tcp;      /* not UDP: accepts connections */
	bool wildcard; /* bound to 0.0.0.0 or ::: replies need PKTINFO */
	ev_io io;
	ev_timer retry;      /* TCP: accept again after running out of fds */
	unsigned nout;       /* queued answers in out[] */
	struct udp_out *out; /* UDP_BATCH slots (UDP listeners only) */
	uint32_t rxq_drops;  /* UDP: the kernel's drop count last seen */
	struct endpoint ep;
};

/* Random bytes from getrandom(2), drawn in blocks: glibc 2.36's
 * arc4random makes one system call per call. */
struct worker_rng {
	uint8_t buf[512];
	size_t pos;
};

/* UDP answers queued during one loop iteration, sent with sendmmsg. */
#define UDP_BATCH    64
#define UDP_SLOT_MAX 4096 /* udp-payload-size is at most 4096 */

struct udp_out {
	struct sockaddr_storage peer;
	socklen_t peerlen;
	size_t ctllen;
	union {
		char buf[64]; /* CMSG_SPACE(sizeof(struct in6_pktinfo)) */
		size_t align; /* as struct cmsghdr (its cmsg_len is a size_t) */
	} ctl;
	size_t len;
	uint8_t msg[UDP_SLOT_MAX];
};

struct worker {
	unsigned id;
	struct daemon *d;
	struct ev_loop *loop;
	pthread_t thread;
	struct runstate *rs; /* this worker's reference to the current one */
	const struct config *conf; /* rs->conf */
	struct listener *listeners;
	size_t nlisteners;
	ev_async wake;
	atomic_bool want_stop;
	atomic_bool want_reload;
	bool stopping;
	ev_timer stop_timer;
	ev_timer health_timer;
	struct query_pool queries; /* proxy/query.c */
	struct tcp_conn *conns;    /* open client connections */
	struct log_ring *log;
	struct dnstap_ring *tap; /* NULL without [log] dnstap */
	uint8_t *out;            /* response being built (DNS_MAX_MSG) */
	uint8_t *rbuf;           /* datagram being read (DNS_MAX_MSG) */
	uint8_t *cbuf;           /* an answer from the cache (CACHE_MSG_MAX) */
	struct worker_stats stats;
	struct top *top; /* ctl top-clients, top-names */
	struct worker_rng rng;
	struct pool *pools;     /* shared upstream sockets (proxy/uppool.c) */
	struct dot_pool *dots;  /* TLS connections to tls:// upstreams
	                         * (proxy/dotpool.c) */
	struct usock_set usock; /* per-attempt upstream sockets (usock.c) */
	struct upstream_ids up_ids; /* attempts in flight by ID (upstream.c) */
	int lo_ifindex;  /* the loopback interface: datagrams from this host */
	bool local_sent; /* this iteration asked a server on this host */
	struct yield_gauge yield_gauge; /* local_yield(), tick_cb() */
	/* RRL: one table per worker; worker_steer_by_source() sends each
	 * client's UDP queries to one worker, so its limits stay exact. */
	struct rrl_table *rrl;
	/* Our client cookies toward each upstream (RFC 7873 as a client). */
	struct cookie_jar jar;
	ev_timer tick;        /* 1 s: RRL episodes end, the yield gauge looks */
	struct probe *probes; /* health probes in flight (worker 0) */
	ev_prepare flush; /* sends queued UDP answers before the loop blocks */
	uint8_t (*rbatch)[UDP_SLOT_MAX]; /* UDP_BATCH receive buffers */
	/* tcp-max-clients-per-prefix refusals: logged at most once a second,
	 * the others counted until the next line (tick_cb). */
	ev_tstamp prefix_logged;
	unsigned long prefix_unlogged;
	/* TLS connections with output to send before the loop blocks
	 * (proxy/secure.c): answers of one iteration leave in one write. */
	struct tcp_conn *flush_list;
	uint8_t *tlsbuf; /* what one SSL_read returns (SECURE_READ_MAX) */
	struct doh_stats doh_stats; /* DNS over HTTPS requests and errors */
};

/* A uniformly random 16-bit number (DNS IDs). */
uint16_t worker_random16(struct worker *w);

/* Create sockets for every listen address of conf; 0 / -1 (logged). */
int worker_init(struct worker *w, struct daemon *d, unsigned id,
                struct runstate *rs);
/* Give each client's UDP queries to one worker (exact rate limits). */
int worker_steer_by_source(struct worker *workers, unsigned n,
                           const struct rrl_config *rl);
/* Thread entry point: runs the loop until stopped. */
void *worker_main(void *arg);
/* Ask the worker to pick up d->conf (thread-safe). */
void worker_reload(struct worker *w);
/* Ask the worker to stop: close listeners, finish in flight for <= 2 s. */
void worker_stop(struct worker *w);
void worker_free(struct worker *w);

/* Send qr's answer (c->out) to its client, over UDP or TCP. */
void worker_send_answer(struct query *qr);
/* qr gets no answer: over HTTPS its stream is reset (a client of DNS over
 * HTTPS would otherwise wait for its HTTP timeout). */
void worker_drop_answer(struct query *qr);
/* qr (of connection tc, NULL for UDP) was freed (proxy/query.c). */
void worker_query_ended(struct worker *w, struct tcp_conn *tc);
/* Wall-clock milliseconds (decision timestamps, RRL). */
uint64_t worker_wall_ms(void);

/* Queue msg (length-prefixed) on a client connection; no-op once closed. */
void worker_tcp_send(struct tcp_conn *tc, const uint8_t *msg, size_t len);
/* Close a client connection at once (a broken zone transfer). */
void worker_tcp_abort(struct tcp_conn *tc);
/*
 * When tc has too much queued, remember qr (a transfer) to resume with
 * upstream_xfr_resume() once it drains, and return true: the caller
 * stops reading its upstream meanwhile.
 */
bool worker_tcp_pause(struct tcp_conn *tc, struct query *qr);

/* Sockets: a non-blocking, close-on-exec socket bound to ep; -1 on error. */
int socket_listen(const struct endpoint *ep, bool tcp, bool reuseport);

#endif
