/*
 * obs/dnstap.h — dnstap (https://dnstap.info) over a Frame Streams UNIX
 * socket, written by one writer thread so the datapath never blocks.
 *
 * Like the decision log (obs/log.h): each producer thread owns a
 * single-producer ring (obs/ring.h), the writer thread is its only
 * consumer, and a full ring drops the message and counts it. The producer
 * encodes the protobuf straight into its ring as a ready Frame Streams data
 * frame; the writer only copies frames to the socket.
 *
 * The writer is a bidirectional Frame Streams sender with content type
 * "protobuf:dnstap.Dnstap": READY -> ACCEPT -> START, data frames, and
 * STOP -> FINISH at the end. While the socket is absent or refuses, it
 * retries every second; the rings meanwhile fill and then drop.
 */
#ifndef OBS_DNSTAP_H
#define OBS_DNSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns/addr.h"

#define DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"
#define DNSTAP_IDENTITY_MAX 255
#define DNSTAP_DNS_MSG_MAX  65535      /* a longer DNS message is dropped */
#define DNSTAP_RING_BYTES   (4u << 20) /* per producer; power of two */

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
 * Start the writer thread for the Frame Streams socket at socket_path with
 * identity (NULL: the host name; "": none). Never waits for the socket:
 * connecting and reconnecting are the thread's job. Call once, after the
 * signal mask is set (the thread inherits it) and before any producer
 * pushes; 0 / -1 (errno: ENAMETOOLONG, EINVAL for a long identity,
 * EALREADY, ENOMEM, or pthread_create's).
 */
int dnstap_start(const char *socket_path, const char *identity);
/*
 * Send what is queued (giving up after about 1 s), then STOP, wait up to
 * about 0.25 s more for FINISH, close, join the thread, and free every ring.
 * Every producer must have stopped. Also frees rings made without start.
 */
void dnstap_stop(void);

struct dnstap_ring;

/* A ring for one producer thread (NULL: out of memory, or 128 rings). */
struct dnstap_ring *dnstap_ring_new(void);
/*
 * Encode m into ring: never blocks, makes no system call; counts a drop
 * when the ring is full or m is invalid. Only the ring's owner thread may
 * call it. A NULL ring does nothing, so callers need no dnstap-enabled test.
 */
void dnstap_message(struct dnstap_ring *ring, const struct dnstap_msg *m);
/*
 * Messages lost since dnstap_start(), across rings (metrics): ring full,
 * invalid, in a connection that broke while sending them, or still queued
 * when dnstap_stop() gave up. Sent + lost = pushed; after dnstap_stop() the
 * total stays readable until the next start.
 */
unsigned long dnstap_dropped_total(void);

#endif
