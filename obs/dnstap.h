/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/dnstap.h — dnstap (https://dnstap.info) through Debian's libfstrm:
 * fstrm's I/O thread (fstrm_iothr) writes the Frame Streams to a UNIX
 * socket, a TCP collector or a file, so the datapath never waits on them.
 *
 * Each worker owns one of fstrm's input queues (single producer): it
 * encodes the Dnstap protobuf into a buffer of its own and submits it; a
 * full queue drops the message and counts it. The Frame Streams protocol
 * (READY, ACCEPT, START, data frames, STOP, FINISH; content type
 * "protobuf:dnstap.Dnstap"), connecting and reconnecting are fstrm's:
 * while the output cannot be opened, fstrm tries again every second and
 * discards what the workers submit meanwhile (uncounted: fstrm does not
 * report it).
 */
#ifndef OBS_DNSTAP_H
#define OBS_DNSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns/addr.h"

struct dnstap_output; /* conf/config.h */

#define DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"
#define DNSTAP_IDENTITY_MAX 255
#define DNSTAP_DNS_MSG_MAX  65535 /* a longer DNS message is dropped */
/* Per producer: at most this many messages, and bytes of them, waiting
 * for fstrm's I/O thread. */
#define DNSTAP_QUEUE_SLOTS 16384 /* FSTRM_IOTHR_INPUT_QUEUE_SIZE_MAX */
#define DNSTAP_QUEUE_BYTES (4u << 20)

/* dnstap.proto, Message.Type: the values dnsgate emits. */
enum dnstap_msg_type {
	DNSTAP_CLIENT_QUERY = 5,
	DNSTAP_CLIENT_RESPONSE = 6,
	DNSTAP_FORWARDER_QUERY = 7,
	DNSTAP_FORWARDER_RESPONSE = 8,
};

/*
 * One event. Addresses follow dnstap's initiator/responder convention:
 *   CLIENT_QUERY / CLIENT_RESPONSE:       query_* = the client,
 *                                         response_* = dnsgate's address;
 *   FORWARDER_QUERY / FORWARDER_RESPONSE: query_* = dnsgate's source,
 *                                         response_* = the upstream.
 * A NULL pointer omits the field (an address also omits its port); a DNS
 * message of length 0 is omitted too. When every given address is IPv4 the
 * family is INET with 4-byte addresses, otherwise INET6 with 16 bytes (IPv4
 * ones as ::ffff:a.b.c.d).
 */
struct dnstap_msg {
	enum dnstap_msg_type type;
	bool tcp; /* socket_protocol TCP, else UDP */
	bool tls; /* with tcp: DOT, DNS over TLS (RFC 7858) */
	const struct ip_addr *query_addr;
	uint16_t query_port;
	const struct ip_addr *response_addr;
	uint16_t response_port;
	const struct timespec *query_time; /* CLOCK_REALTIME */
	const uint8_t *query;
	size_t query_len;
	const struct timespec *response_time; /* CLOCK_REALTIME */
	const uint8_t *response;
	size_t response_len;
};

/*
 * The Dnstap protobuf for m (identity NULL or "" omits the field; version
 * is "dnsgate VERSION"): its length, or 0 when m is invalid (a DNS message
 * longer than DNSTAP_DNS_MSG_MAX, identity longer than DNSTAP_IDENTITY_MAX).
 */
size_t dnstap_encoded_size(const char *identity, const struct dnstap_msg *m);
/*
 * Write that protobuf to out[0..cap): its length, or 0 when m is invalid
 * or it does not fit (out's contents are then unspecified). Pure.
 */
size_t dnstap_encode(uint8_t *out, size_t cap, const char *identity,
                     const struct dnstap_msg *m);

/*
 * Start fstrm's I/O thread writing to out (conf/config.h) for nproducers
 * producers, with identity (NULL: the host name; "": none). Never waits
 * for a collector: connecting and reconnecting (every second) are the I/O
 * thread's. Call once, after the signal mask is set (the thread inherits
 * it) and before dnstap_ring_new(); 0 / -1 (errno: EINVAL for a bad out,
 * a long identity or no producers, EALREADY, ENOMEM).
 */
int dnstap_start(const struct dnstap_output *out, const char *identity,
                 unsigned nproducers);
/*
 * Stop: fstrm sends what is queued, then STOP, and waits for FINISH on a
 * socket. Waits for that at most about 2 s (a collector that never answers
 * is left behind, with a warning). Every producer must have stopped.
 * Logs the messages dropped since the start, if any.
 */
void dnstap_stop(void);

/* A producer's handle on its fstrm input queue. */
struct dnstap_ring;

/*
 * The queue of one more producer thread (NULL with errno: EINVAL before
 * dnstap_start(), ENOSPC past its nproducers). Freed by dnstap_stop().
 */
struct dnstap_ring *dnstap_ring_new(void);
/*
 * Encode m and submit it to ring's queue: never blocks (it may allocate,
 * and wake the I/O thread); counts a drop when the queue is full, m is
 * invalid or memory is short. Only the ring's owner thread may call it.
 * A NULL ring does nothing, so callers need no dnstap-enabled test.
 */
void dnstap_message(struct dnstap_ring *ring, const struct dnstap_msg *m);
/*
 * Messages dropped since dnstap_start() (metrics): a full queue, invalid,
 * out of memory, or submitted while stopping. After dnstap_stop() the
 * total stays readable until the next start.
 */
unsigned long dnstap_dropped_total(void);

#endif
