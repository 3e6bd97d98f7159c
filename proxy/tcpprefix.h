/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/tcpprefix.h — client TCP connections counted per client prefix,
 * for [server] tcp-max-clients-per-prefix (Unbound's tcp-connection-limit,
 * dnsdist's setMaxTCPConnectionsPerClient).
 *
 * One table for the whole daemon: the kernel spreads the connections of
 * one client over every worker's listener (SO_REUSEPORT), so the workers
 * share it, under a mutex taken once per accept and once per close. An
 * entry lives while its prefix has a connection open, so the table never
 * holds more entries than there are connections (tcp-max-clients bounds
 * them). Buckets are chosen by SipHash under a random key: a client cannot
 * pile its prefixes into one chain.
 */
#ifndef PROXY_TCPPREFIX_H
#define PROXY_TCPPREFIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dns/addr.h"
#include "ratelimit/siphash.h"

#define TCP_PREFIX_BUCKETS 1024 /* a power of two */

struct tcp_prefix_entry;

/* A client prefix: the address with its host bits cleared, and the length
 * (a reload may change the length; the two never share an entry). */
struct tcp_prefix {
	struct ip_addr addr;
	uint8_t len;
};

struct tcp_prefixes {
	pthread_mutex_t lock;
	bool keyed;
	uint8_t key[SIPHASH_KEY_LEN];
	struct tcp_prefix_entry *bucket[TCP_PREFIX_BUCKETS];
};

#define TCP_PREFIXES_INIT                         \
	{                                         \
		.lock = PTHREAD_MUTEX_INITIALIZER \
	}

enum tcp_prefix_result {
	TCP_PREFIX_TAKEN = 1, /* counted: the connection may stay */
	TCP_PREFIX_FULL,      /* limit connections are open already */
	TCP_PREFIX_NOMEM,     /* no memory for a new prefix's entry */
};

/* The prefix of client a: ipv4_len or ipv6_len leading bits of it. */
void tcp_prefix_of(const struct ip_addr *a, unsigned ipv4_len,
                   unsigned ipv6_len, struct tcp_prefix *p);

/*
 * Count one more connection from prefix p, unless limit connections of it
 * are open already (limit 0: no limit, but still counted, so that a limit
 * set by a reload counts the connections already open). *open receives the
 * count for p after the call (when open is not NULL). Thread-safe.
 */
enum tcp_prefix_result tcp_prefixes_take(struct tcp_prefixes *t,
                                         const struct tcp_prefix *p,
                                         unsigned limit, unsigned *open);
/* A connection counted by tcp_prefixes_take(t, p) closed. Thread-safe. */
void tcp_prefixes_release(struct tcp_prefixes *t, const struct tcp_prefix *p);
/* Connections of p open now (tests). */
unsigned tcp_prefixes_open(struct tcp_prefixes *t, const struct tcp_prefix *p);
/* "192.0.2.0/24" or "2001:db8::/56" into out (IP_ADDR_TEXT_MAX + 4). */
const char *tcp_prefix_format(const struct tcp_prefix *p, char *out,
                              size_t cap);

#endif
