/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/dnstap.c — the dnstap encoder, and the producers' queues into
 * fstrm's I/O thread.
 *
 * Schema: dnstap.proto (https://github.com/dnstap/dnstap.pb). The Frame
 * Streams transport is Debian's libfstrm (<fstrm/iothr.h>, the writers in
 * <fstrm/unix_writer.h>, <fstrm/tcp_writer.h> and <fstrm/file.h>).
 */
#include "obs/dnstap.h"

#include <errno.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "obs/log.h"

#include "obs/version.h"
#define DNSTAP_VERSION "dnsgate " DNSGATE_VERSION

/* Protobuf wire types. */
enum pb_wire {
	PB_VARINT = 0,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

/* dnstap.proto: field numbers of Dnstap and of Message, and enum values. */
enum dnstap_field {
	DT_IDENTITY = 1,
	DT_VERSION = 2,
	DT_MESSAGE = 14,
	DT_TYPE = 15,
};
#define DT_TYPE_MESSAGE 1

enum message_field {
	MF_TYPE = 1,
	MF_SOCKET_FAMILY = 2,
	MF_SOCKET_PROTOCOL = 3,
	MF_QUERY_ADDRESS = 4,
	MF_RESPONSE_ADDRESS = 5,
	MF_QUERY_PORT = 6,
	MF_RESPONSE_PORT = 7,
	MF_QUERY_TIME_SEC = 8,
	MF_QUERY_TIME_NSEC = 9,
	MF_QUERY_MESSAGE = 10,
	MF_RESPONSE_TIME_SEC = 12,
	MF_RESPONSE_TIME_NSEC = 13,
	MF_RESPONSE_MESSAGE = 14,
};
#define FAMILY_INET  1
#define FAMILY_INET6 2
#define PROTO_UDP    1
#define PROTO_TCP    2
#define PROTO_DOT    3

/* -- the protobuf encoder ------------------------------------------------ */

/*
 * A protobuf writer with a sticky error. With buf NULL it only counts, so
 * one function both sizes a message and writes it.
 */
struct pb {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool err;
};

static void
pb_put(struct pb *b, const void *src, size_t n)
{
	if (b->err || n == 0)
		return;
	if (b->buf != NULL) {
		if (n > b->cap - b->len) {
			b->err = true;
			return;
		}
		memcpy(b->buf + b->len, src, n);
	}
	b->len += n;
}

static void
pb_varint(struct pb *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			tmp[n] |= 0x80;
		n++;
	} while (v != 0);
	pb_put(b, tmp, n);
}

static void
pb_tag(struct pb *b, unsigned field, enum pb_wire wt)
{
	pb_varint(b, (uint64_t)field << 3 | wt);
}

static void
pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	pb_tag(b, field, PB_VARINT);
	pb_varint(b, v);
}

static void
pb_fixed32(struct pb *b, unsigned field, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	                 (uint8_t)(v >> 24)};

	pb_tag(b, field, PB_FIXED32);
	pb_put(b, le, sizeof(le));
}

static void
pb_bytes(struct pb *b, unsigned field, const void *p, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n);
	pb_put(b, p, n);
}

static void
pb_addr(struct pb *b, unsigned field, const struct ip_addr *a, bool v4)
{
	/* dnstap: 4 octets for INET, 16 for INET6; ours are v4-mapped. */
	if (v4)
		pb_bytes(b, field, a->b + 12, 4);
	else
		pb_bytes(b, field, a->b, 16);
}

static void
pb_time(struct pb *b, unsigned sec_field, unsigned nsec_field,
        const struct timespec *t)
{
	if (t == NULL)
		return;
	pb_uint(b, sec_field, (uint64_t)t->tv_sec);
	pb_fixed32(b, nsec_field, (uint32_t)t->tv_nsec);
}

/* Fields in field-number order, as protobuf serializers write them. */
static void
encode_message(struct pb *b, const struct dnstap_msg *m)
{
	const struct ip_addr *qa = m->query_addr, *ra = m->response_addr;
	bool v4 = (qa == NULL || qa->v4) && (ra == NULL || ra->v4);

	pb_uint(b, MF_TYPE, (uint64_t)m->type);
	if (qa != NULL || ra != NULL)
		pb_uint(b, MF_SOCKET_FAMILY, v4 ? FAMILY_INET : FAMILY_INET6);
	pb_uint(b, MF_SOCKET_PROTOCOL,
	        !m->tcp  ? PROTO_UDP
	        : m->tls ? PROTO_DOT
	                 : PROTO_TCP);
	if (qa != NULL)
		pb_addr(b, MF_QUERY_ADDRESS, qa, v4);
	if (ra != NULL)
		pb_addr(b, MF_RESPONSE_ADDRESS, ra, v4);
	if (qa != NULL)
		pb_uint(b, MF_QUERY_PORT, m->query_port);
	if (ra != NULL)
		pb_uint(b, MF_RESPONSE_PORT, m->response_port);
	pb_time(b, MF_QUERY_TIME_SEC, MF_QUERY_TIME_NSEC, m->query_time);
	if (m->query != NULL && m->query_len > 0)
		pb_bytes(b, MF_QUERY_MESSAGE, m->query, m->query_len);
	pb_time(b, MF_RESPONSE_TIME_SEC, MF_RESPONSE_TIME_NSEC,
	        m->response_time);
	if (m->response != NULL && m->response_len > 0)
		pb_bytes(b, MF_RESPONSE_MESSAGE, m->response, m->response_len);
}

static void
encode_dnstap(struct pb *b, const char *identity, const struct dnstap_msg *m)
{
	struct pb inner = {0};

	encode_message(&inner, m); /* counting: the length prefix */
	if (identity != NULL && identity[0] != '\0')
		pb_bytes(b, DT_IDENTITY, identity, strlen(identity));
	pb_bytes(b, DT_VERSION, DNSTAP_VERSION, sizeof(DNSTAP_VERSION) - 1);
	pb_tag(b, DT_MESSAGE, PB_LEN);
	pb_varint(b, inner.len);
	encode_message(b, m);
	pb_uint(b, DT_TYPE, DT_TYPE_MESSAGE);
}

static bool
msg_valid(const char *identity, const struct dnstap_msg *m)
{
	if (identity != NULL && strlen(identity) > DNSTAP_IDENTITY_MAX)
		return false;
	if (m->query != NULL && m->query_len > DNSTAP_DNS_MSG_MAX)
		return false;
	return m->response == NULL || m->response_len <= DNSTAP_DNS_MSG_MAX;
}

size_t
dnstap_encoded_size(const char *identity, const struct dnstap_msg *m)
{
	struct pb b = {0};

	if (!msg_valid(identity, m))
		return 0;
	encode_dnstap(&b, identity, m);
	return b.len;
}

size_t
dnstap_encode(uint8_t *out, size_t cap, const char *identity,
              const struct dnstap_msg *m)
{
	struct pb b = {.buf = out, .cap = cap};

	if (out == NULL || !msg_valid(identity, m))
		return 0;
	encode_dnstap(&b, identity, m);
	return b.err ? 0 : b.len;
}

/* -- the producers' queues ----------------------------------------------- */

/* fstrm's thread: try to reopen a closed output every second (its
 * minimum), and write out what waits at least every second. */
#define REOPEN_S 1
#define FLUSH_S  1
/*
 * Wake the I/O thread once this many messages wait in a queue. fstrm
 * signals when the free slots after an insert equal its threshold (iothr.c,
 * fstrm_iothr_submit), hence the threshold in free slots.
 */
#define WAKE_AFTER  64
#define STOP_WAIT_S 2

struct dnstap_ring {
	struct fstrm_iothr_queue *q;
	atomic_size_t bytes; /* submitted, not yet released by fstrm */
};

/* One submitted message: fstrm holds data, frame_free() gets it back. */
struct frame {
	size_t len;
	uint8_t data[];
};

static struct {
	struct fstrm_iothr *iothr;
	struct dnstap_ring *rings;
	unsigned nrings;
	atomic_uint next_ring;
	char *identity; /* read by producers: fixed from start to stop */
	bool started;
	atomic_ulong dropped;
} tap;

struct dnstap_ring *
dnstap_ring_new(void)
{
	unsigned i;

	if (!tap.started) {
		errno = EINVAL;
		return NULL;
	}
	i = atomic_fetch_add(&tap.next_ring, 1);
	if (i >= tap.nrings) {
		errno = ENOSPC;
		return NULL;
	}
	tap.rings[i].q = fstrm_iothr_get_input_queue_idx(tap.iothr, i);
	return &tap.rings[i];
}

/* fstrm's free_func, in its I/O thread: the message was written or
 * discarded. */
static void
frame_free(void *data, void *arg)
{
	struct dnstap_ring *r = arg;
	struct frame *f =
	    (struct frame *)((uint8_t *)data - offsetof(struct frame, data));

	atomic_fetch_sub_explicit(&r->bytes, f->len, memory_order_relaxed);
	free(f);
}

void
dnstap_message(struct dnstap_ring *r, const struct dnstap_msg *m)
{
	size_t len;
	struct frame *f = NULL;

	if (r == NULL)
		return;
	len = dnstap_encoded_size(tap.identity, m);
	if (len == 0 ||
	    atomic_load_explicit(&r->bytes, memory_order_relaxed) + len >
	        DNSTAP_QUEUE_BYTES)
		goto drop;
	f = malloc(sizeof(*f) + len);
	/* Cannot fail to encode: the same encoder sized it. */
	if (f == NULL || dnstap_encode(f->data, len, tap.identity, m) != len)
		goto drop;
	f->len = len;
	atomic_fetch_add_explicit(&r->bytes, len, memory_order_relaxed);
	if (fstrm_iothr_submit(tap.iothr, r->q, f->data, len, frame_free, r) ==
	    fstrm_res_success)
		return;
	/* Full (or stopping): the frame is still ours. */
	atomic_fetch_sub_explicit(&r->bytes, len, memory_order_relaxed);
drop:
	free(f);
	atomic_fetch_add_explicit(&tap.dropped, 1, memory_order_relaxed);
}

unsigned long
dnstap_dropped_total(void)
{
	return atomic_load(&tap.dropped);
}

/* -- the output ----------------------------------------------------------- */

/* fstrm's writer for out, with our content type; NULL when refused. */
static struct fstrm_writer *
writer_new(const struct dnstap_output *out)
{
	struct fstrm_writer_options *wopt = fstrm_writer_options_init();
	struct fstrm_writer *wr = NULL;
	char ip[INET6_ADDRSTRLEN], port[8];

	if (fstrm_writer_options_add_content_type(
	        wopt, DNSTAP_CONTENT_TYPE, sizeof(DNSTAP_CONTENT_TYPE) - 1) !=
	    fstrm_res_success)
		goto out;
	if (out->transport == DNSTAP_TO_UNIX) {
		struct fstrm_unix_writer_options *uopt =
		    fstrm_unix_writer_options_init();

		fstrm_unix_writer_options_set_socket_path(uopt, out->path);
		wr = fstrm_unix_writer_init(uopt, wopt);
		fstrm_unix_writer_options_destroy(&uopt);
	} else if (out->transport == DNSTAP_TO_TCP) {
		struct fstrm_tcp_writer_options *topt =
		    fstrm_tcp_writer_options_init();

		ip_addr_format(&out->tcp.addr, ip, sizeof(ip));
		snprintf(port, sizeof(port), "%u", (unsigned)out->tcp.port);
		fstrm_tcp_writer_options_set_socket_address(topt, ip);
		fstrm_tcp_writer_options_set_socket_port(topt, port);
		wr = fstrm_tcp_writer_init(topt, wopt);
		fstrm_tcp_writer_options_destroy(&topt);
	} else if (out->transport == DNSTAP_TO_FILE) {
		struct fstrm_file_options *fopt = fstrm_file_options_init();

		fstrm_file_options_set_file_path(fopt, out->path);
		wr = fstrm_file_writer_init(fopt, wopt);
		fstrm_file_options_destroy(&fopt);
	}
out:
	fstrm_writer_options_destroy(&wopt);
	return wr;
}

static struct fstrm_iothr *
iothr_new(struct fstrm_writer **wr, unsigned nqueues)
{
	struct fstrm_iothr_options *o = fstrm_iothr_options_init();
	struct fstrm_iothr *t = NULL;

	if (fstrm_iothr_options_set_num_input_queues(o, nqueues) ==
	        fstrm_res_success &&
	    fstrm_iothr_options_set_input_queue_size(o, DNSTAP_QUEUE_SLOTS) ==
	        fstrm_res_success &&
	    fstrm_iothr_options_set_queue_model(
	        o, FSTRM_IOTHR_QUEUE_MODEL_SPSC) == fstrm_res_success &&
	    fstrm_iothr_options_set_queue_notify_threshold(
	        o, DNSTAP_QUEUE_SLOTS - 1 - WAKE_AFTER) == fstrm_res_success &&
	    fstrm_iothr_options_set_reopen_interval(o, REOPEN_S) ==
	        fstrm_res_success &&
	    fstrm_iothr_options_set_flush_timeout(o, FLUSH_S) ==
	        fstrm_res_success)
		t = fstrm_iothr_init(o, wr);
	fstrm_iothr_options_destroy(&o);
	return t;
}

int
dnstap_start(const struct dnstap_output *out, const char *identity,
             unsigned nproducers)
{
	char host[DNSTAP_IDENTITY_MAX + 1];
	struct fstrm_writer *wr;

	if (tap.started) {
		errno = EALREADY;
		return -1;
	}
	if (identity == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "dnsgate");
		host[sizeof(host) - 1] = '\0';
		identity = host;
	}
	if (strlen(identity) > DNSTAP_IDENTITY_MAX || nproducers == 0) {
		errno = EINVAL;
		return -1;
	}
	tap.identity = strdup(identity);
	tap.rings = calloc(nproducers, sizeof(*tap.rings));
	if (tap.identity == NULL || tap.rings == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	wr = writer_new(out);
	if (wr == NULL) {
		errno = EINVAL;
		goto fail;
	}
	/* The I/O thread starts here, and opens the output at once. */
	tap.iothr = iothr_new(&wr, nproducers);
	if (tap.iothr == NULL) {
		fstrm_writer_destroy(&wr);
		errno = ENOMEM;
		goto fail;
	}
	tap.nrings = nproducers;
	atomic_store(&tap.next_ring, 0);
	atomic_store(&tap.dropped, 0);
	tap.started = true;
	return 0;
fail:
	free(tap.rings);
	free(tap.identity);
	tap.rings = NULL;
	tap.identity = NULL;
	return -1;
}

/* What the stop hands to the thread that tears fstrm down. */
struct teardown {
	struct fstrm_iothr *iothr;
	struct dnstap_ring *rings;
	char *identity;
};

static void *
teardown_main(void *arg)
{
	struct teardown *t = arg;

	/* Drains the queues, writes, STOP, waits for FINISH, closes. */
	fstrm_iothr_destroy(&t->iothr);
	free(t->rings);
	free(t->identity);
	free(t);
	return NULL;
}

/*
 * Run teardown_main(t) in a thread of its own and wait STOP_WAIT_S at most:
 * fstrm reads FINISH without a timeout, and a collector that never answers
 * STOP must not hold up the exit. Left behind, the thread still frees all
 * it has when the collector lets go.
 */
static void
teardown_bounded(struct teardown *t)
{
	struct timespec until;
	pthread_t thr;

	if (pthread_create(&thr, NULL, teardown_main, t) != 0) {
		teardown_main(t);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_S;
	if (pthread_timedjoin_np(thr, NULL, &until) == 0)
		return;
	log_msg(LOG_WARNING,
	        "dnstap: the output did not close within %d s; going on "
	        "without it",
	        STOP_WAIT_S);
	pthread_detach(thr);
}

void
dnstap_stop(void)
{
	unsigned long dropped = dnstap_dropped_total();
	struct teardown *t;

	if (!tap.started)
		return;
	t = malloc(sizeof(*t));
	if (t != NULL) {
		*t = (struct teardown){tap.iothr, tap.rings, tap.identity};
		teardown_bounded(t);
	} else {
		fstrm_iothr_destroy(&tap.iothr); /* unbounded, but done */
		free(tap.rings);
		free(tap.identity);
	}
	tap.started = false;
	tap.iothr = NULL;
	tap.rings = NULL;
	tap.identity = NULL;
	if (dropped > 0)
		log_msg(LOG_WARNING, "dnstap: %lu messages dropped", dropped);
}
