/*
 * obs/dnstap.c — the dnstap encoder, the producer rings and the Frame
 * Streams writer thread.
 *
 * Schemas: dnstap.proto (https://github.com/dnstap/dnstap.pb) and the Frame
 * Streams control protocol (https://github.com/farsightsec/fstrm,
 * fstrm/control.h).
 */
#include "obs/dnstap.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dns/wire.h"
#include "obs/doorbell.h"
#include "obs/log.h"
#include "obs/ring.h"

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

/* Frame Streams control frame types and field (fstrm/control.h). */
enum fs_control {
	FS_ACCEPT = 1,
	FS_START = 2,
	FS_STOP = 3,
	FS_READY = 4,
	FS_FINISH = 5,
};
#define FS_FIELD_CONTENT_TYPE 1
#define FS_CONTROL_MAX        512 /* longest control frame a peer may send */
#define CT_LEN                (sizeof(DNSTAP_CONTENT_TYPE) - 1)

#define BATCH_BYTES    (256u << 10) /* > the longest frame, ~131 KB */
#define RETRY_MS       1000
#define HANDSHAKE_MS   1000
#define STOP_FLUSH_MS  1000
#define FINISH_WAIT_MS 250
#define POLL_SLICE_MS  100
#define IDLE_WAIT_MS   1000 /* asleep: still look (and check the peer) */
#define REPORT_MS      10000
#define NO_DEADLINE    UINT64_MAX

/* The longest frame (two 64 KB messages) fits an empty batch. */
_Static_assert(BATCH_BYTES >
                   4 + 2 * (DNSTAP_DNS_MSG_MAX + 4) + DNSTAP_IDENTITY_MAX + 256,
               "BATCH_BYTES too small for the longest frame");

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
	pb_uint(b, MF_SOCKET_PROTOCOL, m->tcp ? PROTO_TCP : PROTO_UDP);
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

/* -- the rings ----------------------------------------------------------- */

/*
 * One record per message (obs/ring.h): the Frame Streams data frame,
 * big-endian u32 length then the protobuf, ready to go out as it is.
 * struct ring comes first, so ring_set_clear's ring is the dnstap_ring.
 */
struct dnstap_ring {
	struct ring ring;
};

static struct {
	struct ring_set rings; /* its doorbell: rung by the rings and by stop */
	char *path;
	char *identity; /* read by producers: fixed from start to stop */
	pthread_t thread;
	bool started;
	atomic_uint_least64_t stop_at; /* ms, monotonic; 0 while running */
	atomic_ulong lost;             /* in failed sends, or unsent at stop */
	/* Below: the writer thread's alone. */
	bool final_phase; /* ignore stop_at: the stop sequence runs */
	int fd;
	bool outage_reported;
	uint8_t *batch;
	size_t blen;
	unsigned long bframes;
	unsigned long reported_drops;
	uint64_t next_report;
} tap = {
    .rings = RING_SET_INITIALIZER,
    .fd = -1,
};

struct dnstap_ring *
dnstap_ring_new(void)
{
	/* The ring is the wrapper's first member. */
	return (struct dnstap_ring *)ring_set_new(
	    &tap.rings, sizeof(struct dnstap_ring), DNSTAP_RING_BYTES);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
dnstap_message(struct dnstap_ring *r, const struct dnstap_msg *m)
{
	size_t plen;
	uint8_t *p;

	if (r == NULL)
		return;
	plen = dnstap_encoded_size(tap.identity, m);
	if (plen == 0) {
		ring_drop(&r->ring);
		return;
	}
	p = ring_reserve(&r->ring, 4 + plen); /* NULL: counted as dropped */
	if (p == NULL)
		return;
	put_be32(p, (uint32_t)plen);
	/* Cannot fail: the same encoder sized it. Uncommitted, the record is
	 * forgotten; count it anyway. */
	if (dnstap_encode(p + 4, plen, tap.identity, m) != plen) {
		ring_drop(&r->ring);
		return;
	}
	ring_commit(&r->ring, 4 + plen);
}

unsigned long
dnstap_dropped_total(void)
{
	return atomic_load(&tap.lost) + ring_set_dropped(&tap.rings);
}

/*
 * Copy whole frames from r to the batch until r is empty (false) or the
 * batch is too full for the next frame (true).
 */
static bool
ring_drain(struct ring *r)
{
	const uint8_t *frame;
	size_t len;

	while ((frame = ring_peek(r, &len)) != NULL) {
		if (len > BATCH_BYTES - tap.blen)
			return true;
		memcpy(tap.batch + tap.blen, frame, len);
		tap.blen += len;
		tap.bframes++;
		ring_release(r);
	}
	return false;
}

/* ring_set_clear, at stop: frames still queued are lost; free the ring. */
static void
ring_discard(struct ring *r)
{
	unsigned long n = ring_dropped(r);
	size_t len;

	while (ring_peek(r, &len) != NULL) {
		ring_release(r);
		n++;
	}
	atomic_fetch_add(&tap.lost, n);
	ring_fini(r);
	free((struct dnstap_ring *)r);
}

/* -- socket I/O with deadlines ------------------------------------------- */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A deadline cut short by dnstap_stop(), until the stop sequence runs. */
static uint64_t
deadline_now(uint64_t deadline)
{
	uint64_t stop = atomic_load(&tap.stop_at);

	if (tap.final_phase || stop == 0 || stop > deadline)
		return deadline;
	return stop;
}

/* Wait for events on fd: 0, or -1 when the deadline passed. */
static int
fd_wait(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms(), end = deadline_now(deadline);
		struct pollfd p = {.fd = fd, .events = events};
		int n;

		if (now >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* In slices, so a dnstap_stop() meanwhile shortens it. */
		n = poll(&p, 1,
		         end - now > POLL_SLICE_MS ? POLL_SLICE_MS
		                                   : (int)(end - now));
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			return 0; /* the next send/recv reports an error */
	}
}

static int
send_all(int fd, const uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (fd_wait(fd, POLLOUT, deadline) < 0)
				return -1;
		} else if (n < 0 && errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

static int
recv_all(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n == 0) {
			errno = ECONNRESET;
			return -1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (fd_wait(fd, POLLIN, deadline) < 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/* -- Frame Streams control frames ---------------------------------------- */

/* Escape (a data frame of length 0), length, type, [content type]. */
static size_t
control_build(uint8_t *out, size_t cap, enum fs_control type, bool ctype)
{
	struct wbuf b;

	wbuf_init(&b, out, cap);
	wbuf_u32(&b, 0);
	wbuf_u32(&b, (uint32_t)(4 + (ctype ? 8 + CT_LEN : 0)));
	wbuf_u32(&b, type);
	if (ctype) {
		wbuf_u32(&b, FS_FIELD_CONTENT_TYPE);
		wbuf_u32(&b, (uint32_t)CT_LEN);
		wbuf_bytes(&b, DNSTAP_CONTENT_TYPE, CT_LEN);
	}
	return b.err ? 0 : b.len;
}

static int
control_send(int fd, enum fs_control type, bool ctype, uint64_t deadline)
{
	uint8_t frame[64];
	size_t n = control_build(frame, sizeof(frame), type, ctype);

	return n == 0 ? -1 : send_all(fd, frame, n, deadline);
}

/*
 * Read one control frame: its type, or -1. *ct_ok tells whether it names
 * our content type or names none (then any is fine).
 */
static int
control_read(int fd, uint64_t deadline, bool *ct_ok)
{
	uint8_t hdr[8], body[FS_CONTROL_MAX];
	struct wire w;
	uint32_t len, type;
	bool named = false, match = false;

	if (recv_all(fd, hdr, sizeof(hdr), deadline) < 0)
		return -1;
	wire_init(&w, hdr, sizeof(hdr));
	if (wire_u32(&w) != 0) /* a data frame: never sent to a writer */
		return -1;
	len = wire_u32(&w);
	if (len < 4 || len > sizeof(body))
		return -1;
	if (recv_all(fd, body, len, deadline) < 0)
		return -1;
	wire_init(&w, body, len);
	type = wire_u32(&w);
	while (wire_left(&w) >= 8) {
		uint32_t ftype = wire_u32(&w), flen = wire_u32(&w);
		char ct[CT_LEN];

		if (flen > wire_left(&w))
			return -1;
		if (ftype != FS_FIELD_CONTENT_TYPE || flen != CT_LEN) {
			named |= ftype == FS_FIELD_CONTENT_TYPE;
			wire_skip(&w, flen);
			continue;
		}
		named = true;
		wire_read(&w, ct, CT_LEN);
		match |= memcmp(ct, DNSTAP_CONTENT_TYPE, CT_LEN) == 0;
	}
	if (w.err || wire_left(&w) != 0 || type > FS_FINISH)
		return -1;
	*ct_ok = !named || match;
	return (int)type;
}

/* -- the writer thread --------------------------------------------------- */

/* Connect and hand-shake: READY, ACCEPT, START. NULL, or why it failed. */
static const char *
tap_open(uint64_t deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *why;
	bool ct_ok = false;
	int fd, type;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return strerror(errno);
	memcpy(sa.sun_path, tap.path, strlen(tap.path) + 1);
	/* A UNIX stream connect completes or fails at once. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    control_send(fd, FS_READY, true, deadline) < 0) {
		why = strerror(errno);
		goto fail;
	}
	type = control_read(fd, deadline, &ct_ok);
	if (type < 0) {
		why = "no ACCEPT in the handshake";
		goto fail;
	}
	if (type != FS_ACCEPT || !ct_ok) {
		why = "the collector refused " DNSTAP_CONTENT_TYPE;
		goto fail;
	}
	if (control_send(fd, FS_START, true, deadline) < 0) {
		why = strerror(errno);
		goto fail;
	}
	tap.fd = fd;
	return NULL;
fail:
	close(fd);
	return why;
}

static void
tap_connect(uint64_t deadline)
{
	const char *why = tap_open(deadline);

	if (why == NULL) {
		log_msg(LOG_NOTICE, "dnstap: connected to %s", tap.path);
		tap.outage_reported = false;
	} else if (!tap.outage_reported) {
		log_msg(LOG_WARNING, "dnstap: %s: %s; retrying every second",
		        tap.path, why);
		tap.outage_reported = true;
	}
}

static void
tap_close(const char *why)
{
	if (why != NULL) {
		log_msg(LOG_WARNING, "dnstap: %s: %s; reconnecting", tap.path,
		        why);
		tap.outage_reported = true;
	}
	close(tap.fd);
	tap.fd = -1;
}

/*
 * Send the batch: the frames sent, or -1 when the connection broke (it is
 * then closed and the batch counted as lost).
 */
static long
batch_send(uint64_t deadline)
{
	long sent = (long)tap.bframes;

	if (tap.blen > 0 &&
	    send_all(tap.fd, tap.batch, tap.blen, deadline) < 0) {
		atomic_fetch_add(&tap.lost, tap.bframes);
		tap_close(strerror(errno));
		sent = -1;
	}
	tap.blen = 0;
	tap.bframes = 0;
	return sent;
}

/* One pass over the rings: frames sent, or -1 when the connection broke. */
static long
tap_flush(uint64_t deadline)
{
	size_t n = ring_set_count(&tap.rings);
	long sent = 0, k;

	for (size_t i = 0; i < n; i++) {
		/* A full batch goes out before the rest of the ring. */
		while (ring_drain(ring_set_ring(&tap.rings, i))) {
			if ((k = batch_send(deadline)) < 0)
				return -1;
			sent += k;
		}
	}
	if ((k = batch_send(deadline)) < 0)
		return -1;
	return sent + k;
}

/* The bidirectional reader only ever speaks after STOP: input means EOF. */
static bool
peer_gone(void)
{
	struct pollfd p = {.fd = tap.fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

static void
report_drops(uint64_t now, bool force)
{
	unsigned long total = dnstap_dropped_total();

	if (total == tap.reported_drops || (!force && now < tap.next_report))
		return;
	log_msg(LOG_WARNING, "dnstap: dropped %lu messages",
	        total - tap.reported_drops);
	tap.reported_drops = total;
	tap.next_report = now + REPORT_MS;
}

/* Flush for up to STOP_FLUSH_MS, then STOP and a short wait for FINISH. */
static void
tap_finish(void)
{
	uint64_t flush_until = atomic_load(&tap.stop_at);
	bool ct_ok;

	tap.final_phase = true;
	if (tap.fd < 0 && ring_set_pending(&tap.rings) &&
	    now_ms() < flush_until)
		tap_connect(flush_until); /* one last chance */
	while (tap.fd >= 0 && ring_set_pending(&tap.rings) &&
	       now_ms() < flush_until)
		tap_flush(flush_until);
	if (ring_set_pending(&tap.rings))
		log_msg(LOG_WARNING, "dnstap: stopping with messages unsent");
	if (tap.fd < 0)
		return;
	if (control_send(tap.fd, FS_STOP, false, now_ms() + FINISH_WAIT_MS) ==
	    0)
		(void)control_read(tap.fd, now_ms() + FINISH_WAIT_MS, &ct_ok);
	tap_close(NULL);
}

/* A stop, or (connected) messages to send: the writer looks now. */
static bool
tap_pending(void)
{
	return atomic_load(&tap.stop_at) != 0 ||
	       (tap.fd >= 0 && ring_set_pending(&tap.rings));
}

/* Nothing was sent: nap while messages may still come, then sleep until a
 * producer rings (connected) or until the next connection attempt
 * (disconnected, messages cannot go anywhere: only stop wakes). */
static void
tap_idle(unsigned *empty, uint64_t next_try)
{
	uint64_t now = now_ms();
	unsigned ms = IDLE_WAIT_MS;

	/* Past the naps, disconnected, with an attempt due: go make it. */
	if (tap.fd < 0 && next_try <= now && *empty >= DOORBELL_POLLS)
		return;
	if (tap.fd < 0 && next_try > now && next_try - now < ms)
		ms = (unsigned)(next_try - now);
	doorbell_idle(&tap.rings.bell, empty,
	              tap.fd >= 0 ? DOORBELL_WORK : DOORBELL_TIMER, tap_pending,
	              ms);
}

static void *
tap_main(void *arg)
{
	uint64_t next_try = 0;
	unsigned empty = 0;

	(void)arg;
	while (atomic_load(&tap.stop_at) == 0) {
		uint64_t now = now_ms();
		long sent = 0;

		if (tap.fd < 0 && now >= next_try) {
			tap_connect(now + HANDSHAKE_MS);
			next_try = now + RETRY_MS;
		}
		/* After a sleep, first see whether the collector went away
		 * meanwhile: what came in stays queued for the next one
		 * instead of going down a dead socket. */
		if (tap.fd >= 0 && empty >= DOORBELL_POLLS && peer_gone())
			tap_close("connection closed by the collector");
		if (tap.fd >= 0)
			sent = tap_flush(NO_DEADLINE);
		if (tap.fd >= 0 && sent == 0 && peer_gone())
			tap_close("connection closed by the collector");
		report_drops(now, false);
		if (sent > 0)
			empty = 0;
		else
			tap_idle(&empty, next_try);
	}
	tap_finish();
	report_drops(now_ms(), true);
	return NULL;
}

int
dnstap_start(const char *socket_path, const char *identity)
{
	char host[DNSTAP_IDENTITY_MAX + 1];
	int err;

	if (tap.started) {
		errno = EALREADY;
		return -1;
	}
	if (strlen(socket_path) >=
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (identity == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "dnsgate");
		host[sizeof(host) - 1] = '\0';
		identity = host;
	}
	if (strlen(identity) > DNSTAP_IDENTITY_MAX) {
		errno = EINVAL;
		return -1;
	}
	tap.path = strdup(socket_path);
	tap.identity = strdup(identity);
	tap.batch = malloc(BATCH_BYTES);
	err = ENOMEM;
	if (tap.path == NULL || tap.identity == NULL || tap.batch == NULL)
		goto fail;
	atomic_store(&tap.stop_at, 0);
	atomic_store(&tap.lost, 0);
	tap.reported_drops = 0;
	tap.next_report = 0;
	tap.outage_reported = false;
	tap.final_phase = false;
	err = pthread_create(&tap.thread, NULL, tap_main, NULL);
	if (err != 0)
		goto fail;
	tap.started = true;
	return 0;
fail:
	free(tap.batch);
	free(tap.identity);
	free(tap.path);
	tap.batch = NULL;
	tap.identity = NULL;
	tap.path = NULL;
	errno = err;
	return -1;
}

void
dnstap_stop(void)
{
	if (tap.started) {
		atomic_store(&tap.stop_at, now_ms() + STOP_FLUSH_MS);
		doorbell_wake(&tap.rings.bell);
		pthread_join(tap.thread, NULL);
		tap.started = false;
	}
	/* Unsent frames are lost; the total stays until the next start. */
	ring_set_clear(&tap.rings, ring_discard);
	free(tap.batch);
	free(tap.identity);
	free(tap.path);
	tap.batch = NULL;
	tap.identity = NULL;
	tap.path = NULL;
}
