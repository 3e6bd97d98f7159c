/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/xfr.h — following the message stream of a relayed zone transfer
 * (AXFR/IXFR over TCP): where it ends, whether it is well formed and ours,
 * and the client's ID on every message (RFC 5936 2.2, RFC 1995 4). The
 * messages are otherwise passed as they are: a transfer is data, not
 * something to filter. No I/O: the upstream path (proxy/upstream.c) reads
 * the stream and sends each message on.
 */
#ifndef PROXY_XFR_H
#define PROXY_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Progress of one transfer. */
struct xfr_state {
	uint16_t qtype; /* DNS_TYPE_AXFR or DNS_TYPE_IXFR */
	uint16_t upstream_id;
	uint16_t client_id;
	unsigned messages; /* accepted so far */
	unsigned records;  /* answer records seen */
	unsigned seen;     /* sightings of the first SOA's serial */
	uint32_t serial;
	bool incremental;
	int rcode; /* of the first message */
};

enum xfr_step {
	XFR_MORE = 1, /* accepted; more messages follow */
	XFR_DONE,     /* accepted the last message */
	XFR_BROKEN,   /* malformed or not ours: the transfer fails */
};

/* Start following a transfer asked with qtype under upstream_id. */
void xfr_begin(struct xfr_state *x, uint16_t qtype, uint16_t upstream_id,
               uint16_t client_id);
/*
 * Check one upstream message of the stream and, unless XFR_BROKEN, put
 * the client's ID on it, ready to be relayed as it is.
 */
enum xfr_step xfr_message(struct xfr_state *x, uint8_t *msg, size_t len);

#endif
