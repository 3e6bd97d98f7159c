/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_upstream.c — the upstream path (proxy/upstream.c)
 * against a scripted network, in the spirit of Unbound's testbound and
 * NSD's replay tests: attempt order and retry-on, answer validation, the
 * TCP retry after TC=1, server health, per-server counters and server
 * selection, as dnsgate.conf(5) describes them ([upstream NAME] SECTION,
 * Upstream semantics).
 *
 * The harness. Each upstream server is a UDP socket on 127.0.0.1, with a
 * TCP listener on the same port, that the test reads and writes itself. A
 * client query is set up as proxy/worker.c sets one up (query_new,
 * query_received), goes through pipeline_query() and is handed to
 * upstream_forward(). A test is then a table of steps: "a query arrives at
 * server S (its question is checked, its ID kept) / S answers it with
 * RCODE X, or TC=1, a wrong ID, a wrong question, from a wrong port,
 * garbage / the proxy ignores that / the attempt times out / S has
 * received nothing". Between steps a real libev loop runs, one iteration
 * at a time, until the event the next step needs: a query arriving at a
 * server, a counter moving (an answer ignored, a timeout), or the query
 * ending. Every wait gives up after WAIT_CAP, so a broken case fails
 * instead of hanging. Timeouts are short only so that "let it time out"
 * is quick: no assertion depends on time.
 *
 * The worker's side of a query is provided here, at link time: the calls
 * upstream.c makes into the rest of the datapath (query_finish from
 * proxy/query.h; worker_random16 and the transfer relays from
 * proxy/worker.h) resolve to the definitions in this file, so query.o and
 * worker.o, with their listeners and threads, are never linked in.
 * query_finish() here makes the response with pipeline_finish(), as
 * proxy/query.c does, records it with the decision, and releases the
 * query's exchange as query.c's query_free() does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/config.h"
#include "dns/frame.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "proxy/pipeline.h"
#include "proxy/runstate.h"
#include "proxy/uppool.h"
#include "proxy/upstream.h"
#include "proxy/usock.h"
#include "proxy/worker.h"

#define MAX_SERVERS 3
/* "Let it time out" waits this long; scripts without a timeout step use
 * LONG_TIMEOUT, so that a slow machine never times out an answer. */
#define SHORT_TIMEOUT    "100ms"
#define SHORT_TIMEOUT_US 100000u
#define LONG_TIMEOUT     "5s"
/* Every wait gives up after this long, or this many loop iterations. */
#define WAIT_CAP 10.0
#define ITER_CAP 100000u
/* The loop wakes at least this often while a step waits. */
#define TICK 0.05

#define QNAME       "www.example.com."
#define WRONG_QNAME "www.example.net."
#define CLIENT_ID   0x4242
#define CLIENT_EDNS 1232
#define NO_EDE      (-1)
#define NOBODY      (-1)

/* ---- the script ---- */

enum op {
	END = 0,
	EXPECT_QUERY,          /* a UDP query arrives at server: check it */
	EXPECT_TCP_QUERY,      /* a TCP connection and query arrive */
	ANSWER,                /* server answers its last query: rcode */
	ANSWER_TC,             /* ... TC=1, no records */
	ANSWER_TC_BARE,        /* ... TC=1, a header only, counts unfixed */
	ANSWER_WRONG_ID,       /* ... with another ID */
	ANSWER_WRONG_QUESTION, /* ... for another name */
	ANSWER_WRONG_SOURCE,   /* ... from another port */
	ANSWER_GARBAGE,        /* ... our ID, QR=1, a broken question */
	ANSWER_NO_QUESTION,    /* ... rcode, QDCOUNT 0 (as nsd refuses) */
	ANSWER_NO_QUESTION_WRONG_ID, /* ... the same, another ID */
	LOOP_BACK,       /* server's last query comes back to the proxy as a
	                  * client query from the socket it was sent from */
	EXPECT_IGNORED,  /* the proxy reads that, and drops it */
	LET_TIME_OUT,    /* the attempt at server times out */
	EXPECT_NO_QUERY, /* server has received nothing (yet) */
};

struct step {
	enum op op;
	int server; /* an index into the group's servers */
	int rcode;  /* ANSWER */
};

/* How the query must end. */
struct expect {
	int rcode;         /* the client's RCODE (12 bits) */
	int ede;           /* the EDE INFO-CODE it carries, or NO_EDE */
	unsigned attempts; /* c.dec.attempts */
	int upstream;      /* the server c.dec names (the last one asked) */
	int answered_by;   /* whose A record the client got, or NOBODY */
};

/* ---- the harness ---- */

struct server {
	int udp;  /* 127.0.0.1:port */
	int tcp;  /* listening on the same port */
	int conn; /* the TCP connection accepted last, or -1 */
	uint16_t port;
	/* its last query */
	struct sockaddr_in from;
	uint16_t id;
	bool last_tcp;
	uint8_t lastq[512]; /* its last UDP query as it came */
	size_t lastqlen;
	uint8_t tcpbuf[1024];
	size_t tcplen;
};

struct harness {
	struct worker w;
	struct runstate *rs;
	struct server srv[MAX_SERVERS];
	int nsrv;
	int spoof; /* a socket on another port of 127.0.0.1 */
	ev_timer tick;
	ev_io watch[3 * MAX_SERVERS];
	uint32_t rng;
	/* the query in flight */
	struct query *qr;
	uint8_t pkt[512];
	size_t pktlen;
	unsigned long ignored_mark;
	/* how it ended (query_finish) */
	bool finished;
	enum pipe_verdict verdict;
	struct decision dec;
	size_t resplen;
	uint8_t resp[DNS_MAX_MSG];
	uint8_t out[DNS_MAX_MSG]; /* c.out */
	/* A copy of one of the proxy's own queries, come back (LOOP_BACK),
	 * and how it ended. */
	struct query *copy;
	bool copy_finished;
	enum pipe_verdict copy_verdict;
	struct decision copy_dec;
	size_t copy_resplen;
	uint8_t copy_resp[512];
	uint8_t copy_out[DNS_MAX_MSG];
};

static struct harness *current;
static struct log_ring *log_ring; /* one per process: rings are not freed */

/* ---- the worker's side, replacing proxy/worker.c (see the top) ---- */

void
query_finish(struct query *qr, enum pipe_verdict v)
{
	struct harness *h = current;

	if (qr == h->copy && qr != NULL) {
		assert_false(h->copy_finished);
		h->copy_verdict = pipeline_finish(&qr->c, v);
		h->copy_dec = qr->c.dec;
		if (h->copy_verdict == PIPE_ANSWER) {
			assert_true(qr->c.outlen <= sizeof(h->copy_resp));
			memcpy(h->copy_resp, qr->c.out, qr->c.outlen);
			h->copy_resplen = qr->c.outlen;
		}
		h->copy_finished = true;
		upstream_free(qr);
		runstate_unref(qr->rs);
		qr->rs = NULL;
		return;
	}
	assert_ptr_equal(qr, h->qr);
	assert_false(h->finished);
	h->verdict = pipeline_finish(&qr->c, v);
	h->dec = qr->c.dec;
	h->resplen = 0;
	if (h->verdict == PIPE_ANSWER) {
		assert_true(qr->c.outlen <= sizeof(h->resp));
		memcpy(h->resp, qr->c.out, qr->c.outlen);
		h->resplen = qr->c.outlen;
	}
	h->finished = true;
	/* As query_free(): the exchange and the runstate reference go. */
	upstream_free(qr);
	runstate_unref(qr->rs);
	qr->rs = NULL;
}

/* Not random at all (xorshift32): runs repeat. IDs are read off the wire,
 * so nothing depends on the values. */
uint16_t
worker_random16(struct worker *w)
{
	struct harness *h = current;

	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 17;
	h->rng ^= h->rng << 5;
	return (uint16_t)(h->rng >> 16);
}

/* Zone transfers are not driven here. */
void
worker_tcp_send(struct tcp_conn *tc, const uint8_t *msg, size_t len)
{
	fail_msg("worker_tcp_send: no transfer in these tests");
}

void
worker_tcp_abort(struct tcp_conn *tc)
{
	fail_msg("worker_tcp_abort: no transfer in these tests");
}

bool
worker_tcp_pause(struct tcp_conn *tc, struct query *qr)
{
	fail_msg("worker_tcp_pause: no transfer in these tests");
	return false;
}

/* ---- set-up ---- */

static void
jar_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	assert_int_equal(getrandom(buf, len, 0), (ssize_t)len);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
}

static void
watch_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	/* Only wakes the loop: the step reads the socket itself. */
	ev_io_stop(loop, io);
}

/* A UDP socket on 127.0.0.1 and a TCP listener on the same port. */
static void
server_open(struct server *s)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t al = sizeof(a);
		int one = 1;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(s->udp >= 0 && s->tcp >= 0);
		assert_int_equal(bind(s->udp, (struct sockaddr *)&a, al), 0);
		assert_int_equal(
		    getsockname(s->udp, (struct sockaddr *)&a, &al), 0);
		setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->tcp, (struct sockaddr *)&a, al) == 0 &&
		    listen(s->tcp, 4) == 0) {
			s->port = ntohs(a.sin_port);
			s->conn = -1;
			return;
		}
		/* That TCP port is taken: another pair. */
		close(s->udp);
		close(s->tcp);
	}
	fail_msg("no UDP and TCP port pair on 127.0.0.1");
}

/*
 * A harness with nservers servers in one group, "up", whose [upstream]
 * section gets timeout and the lines in opts (selection, attempts,
 * retry-on, udp-sockets...). Cookies are off: the scripted answers carry
 * none.
 */
static struct harness *
harness_new(int nservers, const char *timeout, const char *opts)
{
	struct harness *h = calloc(1, sizeof(*h));
	char text[2048], err[256];
	size_t len;
	struct config *conf;

	assert_non_null(h);
	assert_true(nservers <= MAX_SERVERS);
	h->nsrv = nservers;
	for (int i = 0; i < nservers; i++)
		server_open(&h->srv[i]);
	h->spoof = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(h->spoof >= 0);

	len = (size_t)snprintf(text, sizeof(text),
	                       "[server]\nlisten = 127.0.0.1:5300\n"
	                       "[upstream up]\n");
	for (int i = 0; i < nservers; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "server = 127.0.0.1:%u\n",
		                        (unsigned)h->srv[i].port);
	len += (size_t)snprintf(text + len, sizeof(text) - len,
	                        "timeout = %s\ncookies = no\n%s"
	                        "[view v]\nupstream = up\n",
	                        timeout, opts);
	assert_true(len < sizeof(text));
	conf = config_load_string("t.conf", text, stderr);
	assert_non_null(conf);
	h->rs = runstate_new(conf, NULL, err, sizeof(err));
	assert_non_null(h->rs);
	config_unref(conf); /* rs holds its own reference */

	/* The parts of a worker upstream.c, usock.c and uppool.c use. */
	h->w.id = 1; /* not worker 0: no health probes */
	h->w.loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(h->w.loop);
	h->w.rs = h->rs;
	h->w.conf = h->rs->conf;
	h->w.rbuf = malloc(DNS_MAX_MSG);
	h->w.rbatch = malloc(UDP_BATCH * sizeof(*h->w.rbatch));
	assert_true(h->w.rbuf != NULL && h->w.rbatch != NULL);
	h->w.log = log_ring;
	cookie_jar_init(&h->w.jar, jar_random, NULL);
	ev_timer_init(&h->tick, tick_cb, TICK, TICK);
	ev_timer_start(h->w.loop, &h->tick);
	h->rng = 0x2545f491u;
	current = h;
	return h;
}

static void
query_release(struct harness *h)
{
	if (h->copy != NULL) {
		if (!h->copy_finished) {
			upstream_free(h->copy);
			runstate_unref(h->copy->rs);
		}
		free(h->copy);
		h->copy = NULL;
	}
	if (h->qr == NULL)
		return;
	if (!h->finished) {
		/* A failed step left it in flight: as worker_free() does. */
		upstream_free(h->qr);
		runstate_unref(h->qr->rs);
	}
	free(h->qr);
	h->qr = NULL;
}

static int
teardown(void **state)
{
	struct harness *h = current;

	if (h == NULL)
		return 0;
	query_release(h);
	uppool_free_all(&h->w);
	usock_free_all(&h->w);
	for (int i = 0; i < h->nsrv; i++) {
		close(h->srv[i].udp);
		close(h->srv[i].tcp);
		if (h->srv[i].conn >= 0)
			close(h->srv[i].conn);
	}
	close(h->spoof);
	ev_timer_stop(h->w.loop, &h->tick);
	ev_loop_destroy(h->w.loop);
	free(h->w.rbuf);
	free(h->w.rbatch);
	runstate_unref(h->rs);
	free(h);
	current = NULL;
	return 0;
}

/* ---- records ---- */

static struct server_state *
srv_state(const struct harness *h, int s)
{
	return runstate_server(h->rs, h->rs->conf->upstreams[0], (size_t)s);
}

static unsigned long
queries_of(const struct harness *h, int s)
{
	return STAT_GET(srv_state(h, s)->stats.queries);
}

static unsigned long
errors_of(const struct harness *h, int s, enum up_error_kind k)
{
	return STAT_GET(srv_state(h, s)->stats.errors[k]);
}

static unsigned long
latencies_of(const struct harness *h, int s)
{
	unsigned long n = 0;

	for (int i = 0; i < LATENCY_BUCKETS; i++)
		n += STAT_GET(srv_state(h, s)->stats.latency[i]);
	return n;
}

static unsigned
fails_of(const struct harness *h, int s)
{
	return atomic_load(&srv_state(h, s)->health.fails);
}

static bool
is_down(const struct harness *h, int s)
{
	return atomic_load(&srv_state(h, s)->health.down);
}

static unsigned
srtt_of(const struct harness *h, int s)
{
	return atomic_load(&srv_state(h, s)->health.srtt_us);
}

/* Failed attempts of kind k since the server's last answer. */
static unsigned
streak_of(const struct harness *h, int s, enum up_error_kind k)
{
	return server_health_streak(&srv_state(h, s)->health, k);
}

static uint64_t
since_of(const struct harness *h, int s)
{
	return atomic_load(&srv_state(h, s)->health.since_ms);
}

/* Down, as three failures in a row leave a server (see the tests that
 * get there through the network). */
static void
mark_down(struct harness *h, int s)
{
	atomic_store(&srv_state(h, s)->health.fails, 3);
	atomic_store(&srv_state(h, s)->health.down, true);
}

/* Everything the proxy counts when it ignores an answer. */
static unsigned long
ignored_total(const struct harness *h)
{
	unsigned long n = STAT_GET(h->w.stats.upstream_mismatch) +
	                  STAT_GET(h->w.stats.upstream_garbage);

	for (int i = 0; i < h->nsrv; i++)
		n += errors_of(h, i, UPERR_MISMATCH);
	return n;
}

/* ---- running the loop ---- */

typedef bool (*until_fn)(struct harness *h, const void *arg);

static void
watch(struct harness *h, bool on)
{
	int n = 0;

	for (int i = 0; i < h->nsrv; i++) {
		const struct server *s = &h->srv[i];
		/* A connection only until its query is read: then the
		 * proxy's close would keep the loop awake. */
		bool reading = !dns_frame_ready(s->tcpbuf, s->tcplen);
		int fds[3] = {s->udp, s->tcp, reading ? s->conn : -1};

		for (int k = 0; k < 3; k++, n++) {
			if (on && fds[k] >= 0) {
				ev_io_init(&h->watch[n], watch_cb, fds[k],
				           EV_READ);
				ev_io_start(h->w.loop, &h->watch[n]);
			} else if (!on) {
				ev_io_stop(h->w.loop, &h->watch[n]);
			}
		}
	}
}

/* Run the loop an iteration at a time until done(h, arg) holds. */
static void
run_until(struct harness *h, until_fn done, const void *arg, const char *what)
{
	ev_tstamp give_up = ev_time() + WAIT_CAP;

	for (unsigned i = 0; !done(h, arg); i++) {
		if (i >= ITER_CAP || ev_time() > give_up)
			fail_msg("gave up waiting for %s", what);
		watch(h, true);
		ev_run(h->w.loop, EVRUN_ONCE);
		watch(h, false);
	}
}

static bool
readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return fd >= 0 && poll(&p, 1, 0) == 1;
}

/* The first server with a datagram (udp) or a connection (tcp) waiting. */
static int
arrived_at(const struct harness *h, bool tcp)
{
	for (int i = 0; i < h->nsrv; i++)
		if (readable(tcp ? h->srv[i].tcp : h->srv[i].udp))
			return i;
	return NOBODY;
}

static bool
something_arrived(struct harness *h, const void *arg)
{
	return h->finished || arrived_at(h, false) != NOBODY ||
	       arrived_at(h, true) != NOBODY;
}

static bool
query_ended(struct harness *h, const void *arg)
{
	return h->finished;
}

struct counter_wait {
	const atomic_ulong *counter;
	unsigned long mark;
};

static bool
counter_moved(struct harness *h, const void *arg)
{
	const struct counter_wait *c = arg;

	return h->finished || STAT_GET(*c->counter) > c->mark;
}

static bool
ignored_moved(struct harness *h, const void *arg)
{
	return h->finished || ignored_total(h) > h->ignored_mark;
}

/* A whole length-prefixed message read from s's connection. */
static bool
tcp_message_read(struct harness *h, const void *arg)
{
	struct server *s = (struct server *)arg;

	for (;;) {
		size_t want = dns_frame_want(s->tcpbuf, s->tcplen);
		ssize_t n;

		if (dns_frame_ready(s->tcpbuf, s->tcplen))
			return true;
		assert_true(s->tcplen + want <= sizeof(s->tcpbuf));
		n = recv(s->conn, s->tcpbuf + s->tcplen, want, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return h->finished;
		assert_true(n > 0); /* the proxy does not close first */
		s->tcplen += (size_t)n;
	}
}

/* ---- messages ---- */

/* The client's query: QNAME A, RD, EDNS (so that an EDE can show). */
static size_t
client_query(uint8_t *buf, size_t cap)
{
	uint8_t name[DNS_NAME_MAX];
	size_t nlen = dns_name_from_text(QNAME, NULL, name);
	struct wbuf b;

	assert_int_not_equal(nlen, 0);
	wbuf_init(&b, buf, cap);
	wbuf_u16(&b, CLIENT_ID);
	wbuf_u16(&b, DNS_FLAG_RD);
	wbuf_u16(&b, 1); /* QDCOUNT */
	wbuf_u16(&b, 0); /* ANCOUNT */
	wbuf_u16(&b, 0); /* NSCOUNT */
	wbuf_u16(&b, 1); /* ARCOUNT: the OPT */
	wbuf_bytes(&b, name, nlen);
	wbuf_u16(&b, DNS_TYPE_A);
	wbuf_u16(&b, DNS_CLASS_IN);
	wbuf_u8(&b, 0);             /* OPT owner: root */
	wbuf_u16(&b, DNS_TYPE_OPT); /* TYPE */
	wbuf_u16(&b, CLIENT_EDNS);  /* CLASS: UDP size */
	wbuf_u32(&b, 0);            /* ext rcode, version, flags */
	wbuf_u16(&b, 0);            /* RDLENGTH */
	assert_int_equal(b.err, 0);
	return b.len;
}

/*
 * Server s's answer to its last query: rcode, the flags given, and for
 * NOERROR without TC one A record, 192.0.2.(s+1), that names who answered.
 */
static size_t
server_answer(uint8_t *buf, size_t cap, int s, uint16_t id, const char *qname,
              unsigned rcode, uint16_t flags)
{
	uint8_t name[DNS_NAME_MAX];
	size_t nlen = dns_name_from_text(qname, NULL, name);
	bool record = rcode == DNS_RCODE_NOERROR && !(flags & DNS_FLAG_TC);
	struct wbuf b;

	assert_int_not_equal(nlen, 0);
	wbuf_init(&b, buf, cap);
	wbuf_u16(&b, id);
	wbuf_u16(&b, (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA |
	                        flags | rcode));
	wbuf_u16(&b, 1);              /* QDCOUNT */
	wbuf_u16(&b, record ? 1 : 0); /* ANCOUNT */
	wbuf_u16(&b, 0);              /* NSCOUNT */
	wbuf_u16(&b, 0);              /* ARCOUNT */
	wbuf_bytes(&b, name, nlen);
	wbuf_u16(&b, DNS_TYPE_A);
	wbuf_u16(&b, DNS_CLASS_IN);
	if (record) {
		wbuf_u16(&b, 0xc00c); /* pointer to the QNAME */
		wbuf_u16(&b, DNS_TYPE_A);
		wbuf_u16(&b, DNS_CLASS_IN);
		wbuf_u32(&b, 300);
		wbuf_u16(&b, 4);
		wbuf_u8(&b, 192);
		wbuf_u8(&b, 0);
		wbuf_u8(&b, 2);
		wbuf_u8(&b, (uint8_t)(s + 1));
	}
	assert_int_equal(b.err, 0);
	return b.len;
}

/* A header with our ID and QR=1, then a question that does not parse. */
static size_t
garbage(uint8_t *buf, size_t cap, uint16_t id)
{
	struct wbuf b;

	wbuf_init(&b, buf, cap);
	wbuf_u16(&b, id);
	wbuf_u16(&b, DNS_FLAG_QR);
	wbuf_u16(&b, 1); /* QDCOUNT */
	wbuf_u16(&b, 0);
	wbuf_u16(&b, 0);
	wbuf_u16(&b, 0);
	wbuf_u8(&b, 63); /* a label of 63 bytes, of which 3 follow */
	wbuf_bytes(&b, "abc", 3);
	assert_int_equal(b.err, 0);
	return b.len;
}

/* An error as nsd sends it to a class it does not serve: a header with
 * QDCOUNT 0 and an OPT, nothing else. */
static size_t
bare_error(uint8_t *buf, size_t cap, uint16_t id, unsigned rcode)
{
	struct wbuf b;

	wbuf_init(&b, buf, cap);
	wbuf_u16(&b, id);
	wbuf_u16(&b, (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RD | rcode));
	wbuf_u16(&b, 0);            /* QDCOUNT */
	wbuf_u16(&b, 0);            /* ANCOUNT */
	wbuf_u16(&b, 0);            /* NSCOUNT */
	wbuf_u16(&b, 1);            /* ARCOUNT: the OPT */
	wbuf_u8(&b, 0);             /* OPT owner: root */
	wbuf_u16(&b, DNS_TYPE_OPT); /* TYPE */
	wbuf_u16(&b, 1232);         /* CLASS: UDP size */
	wbuf_u32(&b, 0);            /* ext rcode, version, flags */
	wbuf_u16(&b, 0);            /* RDLENGTH */
	assert_int_equal(b.err, 0);
	return b.len;
}

/* TC=1 and our ID, but only a header: QDCOUNT says 1 (RFC 7766 5 lets
 * such a message still send the query to TCP). */
static size_t
bare_tc(uint8_t *buf, size_t cap, uint16_t id)
{
	struct wbuf b;

	wbuf_init(&b, buf, cap);
	wbuf_u16(&b, id);
	wbuf_u16(&b, DNS_FLAG_QR | DNS_FLAG_TC);
	wbuf_u16(&b, 1);
	wbuf_u16(&b, 0);
	wbuf_u16(&b, 0);
	wbuf_u16(&b, 0);
	assert_int_equal(b.err, 0);
	return b.len;
}

/* Check a query a server received and keep its ID. */
static void
server_took(struct server *s, const uint8_t *msg, size_t len, bool tcp)
{
	struct dns_query q;
	uint8_t want[DNS_NAME_MAX];

	assert_int_equal(dns_query_parse(msg, len, &q), DNS_PARSE_OK);
	assert_int_not_equal(dns_name_from_text(QNAME, NULL, want), 0);
	assert_true(dns_name_equal(q.qname, want));
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_false(q.hdr.flags & DNS_FLAG_QR);
	s->id = q.hdr.id;
	s->last_tcp = tcp;
}

/* Send msg from server s to where its last query came from. */
static void
server_send(struct harness *h, int si, const uint8_t *msg, size_t len,
            bool from_elsewhere)
{
	struct server *s = &h->srv[si];

	h->ignored_mark = ignored_total(h);
	if (s->last_tcp) {
		uint8_t frame[DNS_FRAME_PREFIX + 512];

		assert_false(from_elsewhere);
		assert_true(len <= 512);
		dns_frame_prefix(frame, len);
		memcpy(frame + DNS_FRAME_PREFIX, msg, len);
		assert_int_equal(
		    send(s->conn, frame, DNS_FRAME_PREFIX + len, MSG_NOSIGNAL),
		    (ssize_t)(DNS_FRAME_PREFIX + len));
		return;
	}
	assert_int_equal(sendto(from_elsewhere ? h->spoof : s->udp, msg, len, 0,
	                        (struct sockaddr *)&s->from, sizeof(s->from)),
	                 (ssize_t)len);
}

/* ---- the steps ---- */

static void
step_query(struct harness *h, int si)
{
	struct server *s = &h->srv[si];
	socklen_t fl = sizeof(s->from);
	uint8_t buf[1024];
	ssize_t n;
	int got;

	run_until(h, something_arrived, NULL, "a query");
	if (h->finished)
		fail_msg("the query ended before asking server %d", si);
	got = arrived_at(h, false);
	if (got != si)
		fail_msg("expected a UDP query at server %d, got one at %d "
		         "(TCP at %d)",
		         si, got, arrived_at(h, true));
	n = recvfrom(s->udp, buf, sizeof(buf), 0, (struct sockaddr *)&s->from,
	             &fl);
	assert_true(n > 0 && (size_t)n <= sizeof(s->lastq));
	memcpy(s->lastq, buf, (size_t)n);
	s->lastqlen = (size_t)n;
	server_took(s, buf, (size_t)n, false);
}

static void
step_tcp_query(struct harness *h, int si)
{
	struct server *s = &h->srv[si];
	int got;

	run_until(h, something_arrived, NULL, "a TCP connection");
	if (h->finished)
		fail_msg("the query ended before reaching server %d", si);
	got = arrived_at(h, true);
	if (got != si)
		fail_msg("expected a TCP connection at server %d, got one at "
		         "%d (UDP at %d)",
		         si, got, arrived_at(h, false));
	if (s->conn >= 0)
		close(s->conn);
	s->conn = accept4(s->tcp, NULL, NULL, SOCK_NONBLOCK);
	assert_true(s->conn >= 0);
	s->tcplen = 0;
	run_until(h, tcp_message_read, s, "the query over TCP");
	if (h->finished)
		fail_msg("the query ended before its TCP query was read");
	server_took(s, s->tcpbuf + DNS_FRAME_PREFIX,
	            s->tcplen - DNS_FRAME_PREFIX, true);
}

static void
step_time_out(struct harness *h, int si)
{
	struct counter_wait c = {
	    .counter = &srv_state(h, si)->stats.errors[UPERR_TIMEOUT],
	    .mark = errors_of(h, si, UPERR_TIMEOUT),
	};

	run_until(h, counter_moved, &c, "a timeout");
	if (errors_of(h, si, UPERR_TIMEOUT) == c.mark)
		fail_msg("the query ended without a timeout at server %d", si);
}

/*
 * Server si's last query comes back to the proxy, byte for byte, as a
 * client query from the address and port it was sent from: what a NAT
 * rule or a server address that is our own does. Run as worker.c would
 * run a received query; it must end at once, sending nothing.
 */
static void step_loop_back(struct harness *h, int si);

static void
step_run(struct harness *h, const struct step *st)
{
	int si = st->server;
	struct server *s;
	uint8_t msg[512];
	size_t len;

	assert_true(si >= 0 && si < h->nsrv);
	s = &h->srv[si];
	switch (st->op) {
	case EXPECT_QUERY:
		step_query(h, si);
		break;
	case EXPECT_TCP_QUERY:
		step_tcp_query(h, si);
		break;
	case ANSWER:
		len = server_answer(msg, sizeof(msg), si, s->id, QNAME,
		                    (unsigned)st->rcode, 0);
		server_send(h, si, msg, len, false);
		break;
	case ANSWER_TC:
		len = server_answer(msg, sizeof(msg), si, s->id, QNAME,
		                    DNS_RCODE_NOERROR, DNS_FLAG_TC);
		server_send(h, si, msg, len, false);
		break;
	case ANSWER_TC_BARE:
		len = bare_tc(msg, sizeof(msg), s->id);
		server_send(h, si, msg, len, false);
		break;
	case ANSWER_WRONG_ID:
		len = server_answer(msg, sizeof(msg), si, (uint16_t)(s->id + 1),
		                    QNAME, DNS_RCODE_NOERROR, 0);
		server_send(h, si, msg, len, false);
		break;
	case ANSWER_WRONG_QUESTION:
		len = server_answer(msg, sizeof(msg), si, s->id, WRONG_QNAME,
		                    DNS_RCODE_NOERROR, 0);
		server_send(h, si, msg, len, false);
		break;
	case ANSWER_WRONG_SOURCE:
		len = server_answer(msg, sizeof(msg), si, s->id, QNAME,
		                    DNS_RCODE_NOERROR, 0);
		server_send(h, si, msg, len, true);
		break;
	case ANSWER_GARBAGE:
		len = garbage(msg, sizeof(msg), s->id);
		server_send(h, si, msg, len, false);
		break;
	case ANSWER_NO_QUESTION:
		len = bare_error(msg, sizeof(msg), s->id, (unsigned)st->rcode);
		server_send(h, si, msg, len, false);
		break;
	case ANSWER_NO_QUESTION_WRONG_ID:
		len = bare_error(msg, sizeof(msg), (uint16_t)(s->id + 1),
		                 (unsigned)st->rcode);
		server_send(h, si, msg, len, false);
		break;
	case LOOP_BACK:
		step_loop_back(h, si);
		break;
	case EXPECT_IGNORED:
		run_until(h, ignored_moved, NULL, "an answer to be ignored");
		if (h->finished)
			fail_msg("the query ended on an answer that should "
			         "have been ignored");
		break;
	case LET_TIME_OUT:
		step_time_out(h, si);
		break;
	case EXPECT_NO_QUERY:
		if (readable(s->udp) || readable(s->tcp))
			fail_msg("server %d was asked", si);
		break;
	case END:
		break;
	}
}

/* ---- a query from start to end ---- */

/* As query_new() and query_received() in proxy/worker.c. */
static void
query_start(struct harness *h)
{
	struct query *qr;

	query_release(h);
	h->finished = false;
	qr = h->qr = calloc(1, sizeof(*qr));
	assert_non_null(qr);
	qr->w = &h->w;
	upstream_init(qr);
	qr->rs = runstate_ref(h->rs);
	qr->conf = qr->rs->conf;
	qr->c.out = h->out;
	qr->c.outcap = sizeof(h->out);
	assert_int_equal(ip_addr_parse("127.0.0.1", &qr->c.client), 0);
	qr->c.client_port = 40000;
	assert_int_equal(ip_addr_parse("127.0.0.1", &qr->c.dest), 0);
	qr->c.dest_port = 5300;
	qr->c.tcp = false;
	/* The loop's clock, as a callback sees it: the attempt's timer
	 * starts from it. */
	ev_now_update(h->w.loop);
	qr->start = ev_time();
	qctx_init(&qr->c, qr->conf, 1700000000000ull);
	h->pktlen = client_query(h->pkt, sizeof(h->pkt));
	qr->c.pkt = h->pkt;
	qr->c.pktlen = h->pktlen;
	assert_int_equal(pipeline_query(&qr->c), PIPE_FORWARD);
	upstream_forward(qr);
}

static int ede_of(const uint8_t *msg, size_t len, const struct dns_response *r);

static void
step_loop_back(struct harness *h, int si)
{
	struct server *s = &h->srv[si];
	struct dns_response r;
	struct query *qr;

	assert_true(s->lastqlen > 0);
	if (h->copy != NULL) { /* the one before: done with */
		assert_true(h->copy_finished);
		free(h->copy);
	}
	h->copy_finished = false;
	qr = h->copy = calloc(1, sizeof(*qr));
	assert_non_null(qr);
	qr->w = &h->w;
	upstream_init(qr);
	qr->rs = runstate_ref(h->rs);
	qr->conf = qr->rs->conf;
	qr->c.out = h->copy_out;
	qr->c.outcap = sizeof(h->copy_out);
	assert_int_equal(ip_addr_parse("127.0.0.1", &qr->c.client), 0);
	qr->c.client_port = ntohs(s->from.sin_port);
	assert_int_equal(ip_addr_parse("127.0.0.1", &qr->c.dest), 0);
	qr->c.dest_port = 5300;
	qctx_init(&qr->c, qr->conf, 1700000000000ull);
	qr->c.pkt = s->lastq;
	qr->c.pktlen = s->lastqlen;
	assert_int_equal(pipeline_query(&qr->c), PIPE_FORWARD);
	upstream_forward(qr);
	if (!h->copy_finished)
		fail_msg("our own query, come back, was forwarded again");
	/* REFUSED with EDE 18, to the socket it came from. */
	assert_int_equal(h->copy_verdict, PIPE_ANSWER);
	assert_int_equal(dns_response_parse(h->copy_resp, h->copy_resplen, &r),
	                 0);
	assert_int_equal(r.hdr.id, s->id);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(ede_of(h->copy_resp, h->copy_resplen, &r),
	                 DNS_EDE_PROHIBITED);
	assert_int_equal(h->copy_dec.action, ACTION_REFUSE);
	assert_string_equal(h->copy_dec.rule, "loop:own-socket");
	assert_false(h->copy_dec.have_upstream);
}

/* The EDE INFO-CODE in msg's OPT, or NO_EDE. */
static int
ede_of(const uint8_t *msg, size_t len, const struct dns_response *r)
{
	struct wire w;
	struct dns_rr rr;
	int ede = NO_EDE;

	if (!r->edns.present)
		return NO_EDE;
	wire_init(&w, msg, len);
	wire_seek(&w, r->edns.opt_offset);
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_OPT);
	wire_init(&w, msg + rr.rdata_offset, rr.rdlength);
	while (wire_left(&w) > 0) {
		uint16_t code = wire_u16(&w), olen = wire_u16(&w);

		assert_int_equal(w.err, 0);
		if (code == DNS_OPT_EDE) {
			assert_int_equal(ede, NO_EDE); /* one at most */
			assert_true(olen >= 2);
			ede = wire_u16(&w);
			olen -= 2;
		}
		wire_skip(&w, olen);
		assert_int_equal(w.err, 0);
	}
	return ede;
}

/* Whose A record the response carries, or NOBODY. */
static int
answered_by(const uint8_t *msg, size_t len, const struct dns_response *r)
{
	struct wire w;
	struct dns_rr rr;

	if (r->hdr.ancount == 0)
		return NOBODY;
	assert_int_equal(r->hdr.ancount, 1);
	wire_init(&w, msg, len);
	wire_seek(&w, r->question_end);
	assert_int_equal(dns_rr_next(&w, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_int_equal(rr.rdlength, 4);
	assert_memory_equal(msg + rr.rdata_offset,
	                    ((const uint8_t[]){192, 0, 2}), 3);
	return msg[rr.rdata_offset + 3] - 1;
}

static void
check_outcome(struct harness *h, const struct expect *e)
{
	struct dns_response r;
	uint8_t want[DNS_NAME_MAX];

	assert_int_equal(h->verdict, PIPE_ANSWER);
	assert_int_equal(dns_response_parse(h->resp, h->resplen, &r), 0);
	assert_int_equal(r.hdr.id, CLIENT_ID);
	assert_int_not_equal(dns_name_from_text(QNAME, NULL, want), 0);
	assert_true(dns_name_equal(r.qname, want));
	assert_true(r.edns.present); /* the client sent EDNS */
	assert_int_equal(r.rcode, e->rcode);
	assert_int_equal(ede_of(h->resp, h->resplen, &r), e->ede);
	assert_int_equal(answered_by(h->resp, h->resplen, &r), e->answered_by);
	assert_false(r.hdr.flags & DNS_FLAG_TC);
	/* The decision record. */
	assert_int_equal(h->dec.rcode, e->rcode);
	assert_int_equal(h->dec.ede, e->ede);
	assert_int_equal(h->dec.attempts, e->attempts);
	assert_true(h->dec.have_upstream);
	assert_int_equal(h->dec.upstream_port, h->srv[e->upstream].port);
	assert_int_equal(h->dec.action,
	                 e->ede == NO_EDE ? ACTION_FORWARD : ACTION_SERVFAIL);
}

/*
 * One client query: start it, play the script, wait for its end and
 * check it. Whatever the script left unread at a server, the proxy sent
 * without the script expecting it: that fails too.
 */
static void
play(struct harness *h, const struct step *script, const struct expect *e)
{
	query_start(h);
	for (const struct step *st = script; st->op != END; st++)
		step_run(h, st);
	run_until(h, query_ended, NULL, "the query to end");
	check_outcome(h, e);
	for (int i = 0; i < h->nsrv; i++)
		if (readable(h->srv[i].udp) || readable(h->srv[i].tcp))
			fail_msg("server %d was asked beyond the script", i);
}

/* The query of a script that only asks server s once, which answers. */
static void
play_answered(struct harness *h, int s)
{
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = s},
	    {.op = ANSWER, .server = s, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = s,
	                         .answered_by = s};

	play(h, script, &e);
}

/* ---- one server answers ---- */

static void
first_server_answers(const char *opts)
{
	struct harness *h = harness_new(3, LONG_TIMEOUT, opts);
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_NOERROR},
	    {.op = EXPECT_NO_QUERY, .server = 1},
	    {.op = EXPECT_NO_QUERY, .server = 2},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = 0};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 1);
	assert_int_equal(queries_of(h, 1), 0);
	assert_int_equal(queries_of(h, 2), 0);
	assert_int_equal(latencies_of(h, 0), 1);
	for (int k = 0; k < UPERR_COUNT_; k++)
		assert_int_equal(errors_of(h, 0, (enum up_error_kind)k), 0);
	assert_int_equal(fails_of(h, 0), 0);
	assert_true(srtt_of(h, 0) > 0); /* measured */
	assert_int_equal(srtt_of(h, 1), 0);
}

static void
test_upstream_first_server_answers(void **state)
{
	first_server_answers("");
}

static void
test_upstream_pooled_first_server_answers(void **state)
{
	first_server_answers("udp-sockets = 4\n");
}

/* ---- retry-on ---- */

static void
servfail_then_next_server(const char *opts)
{
	struct harness *h = harness_new(3, LONG_TIMEOUT, opts);
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = EXPECT_NO_QUERY, .server = 2},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 1);
	assert_int_equal(queries_of(h, 1), 1);
	assert_int_equal(errors_of(h, 0, UPERR_SERVFAIL), 1);
	assert_int_equal(errors_of(h, 1, UPERR_SERVFAIL), 0);
	assert_int_equal(fails_of(h, 0), 1);
	assert_int_equal(fails_of(h, 1), 0);
	assert_false(is_down(h, 0));
}

static void
test_upstream_servfail_then_next_server(void **state)
{
	servfail_then_next_server("");
}

static void
test_upstream_pooled_servfail_then_next_server(void **state)
{
	servfail_then_next_server("udp-sockets = 4\n");
}

static void
test_upstream_servfail_passed_through_without_retry_on_servfail(void **state)
{
	struct harness *h =
	    harness_new(2, LONG_TIMEOUT, "retry-on = timeout, refused\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_NO_QUERY, .server = 1},
	    {.op = END},
	};
	/* The server's own SERVFAIL, as it is: no EDE of ours. */
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = NOBODY};

	play(h, script, &e);
	/* It still counts against the server's health. */
	assert_int_equal(errors_of(h, 0, UPERR_SERVFAIL), 1);
	assert_int_equal(fails_of(h, 0), 1);
	assert_int_equal(queries_of(h, 1), 0);
}

static void
test_upstream_refused_passed_through_by_default(void **state)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, "");
	/* A SERVFAIL first (fails 1)... */
	const struct step first[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect first_e = {.rcode = DNS_RCODE_NOERROR,
	                               .ede = NO_EDE,
	                               .attempts = 2,
	                               .upstream = 1,
	                               .answered_by = 1};
	/* ...then a REFUSED that retry-on does not name: the client gets it
	 * as it is, and as an answer it resets the count. */
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_REFUSED},
	    {.op = EXPECT_NO_QUERY, .server = 1},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_REFUSED,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = NOBODY};

	play(h, first, &first_e);
	assert_int_equal(fails_of(h, 0), 1);
	play(h, script, &e);
	assert_int_equal(fails_of(h, 0), 0);
	assert_int_equal(errors_of(h, 0, UPERR_REFUSED), 0);
	assert_int_equal(queries_of(h, 1), 1);
}

static void
test_upstream_refused_retried_with_retry_on_refused(void **state)
{
	struct harness *h =
	    harness_new(2, LONG_TIMEOUT,
	                "retry-on = servfail, timeout\nretry-on = refused\n");
	const struct step first[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_REFUSED},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, first, &e);
	assert_int_equal(fails_of(h, 0), 1);
	play(h, script, &e);
	assert_int_equal(errors_of(h, 0, UPERR_REFUSED), 1);
	/* A REFUSED that retry-on names neither counts nor resets, but is
	 * part of the record of why (ctl upstreams). */
	assert_int_equal(fails_of(h, 0), 1);
	assert_int_equal(streak_of(h, 0, UPERR_SERVFAIL), 1);
	assert_int_equal(streak_of(h, 0, UPERR_REFUSED), 1);
	assert_int_equal(atomic_load(&srv_state(h, 0)->health.last_failure),
	                 UPERR_REFUSED + 1);
	assert_int_equal(queries_of(h, 0), 2);
	assert_int_equal(queries_of(h, 1), 2);
}

/* Refused everywhere: an answer was the last failure, hence EDE 22. */
static void
test_upstream_refused_retried_until_attempts_run_out(void **state)
{
	struct harness *h = harness_new(
	    2, LONG_TIMEOUT, "retry-on = servfail, timeout, refused\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_REFUSED},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_REFUSED},
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_REFUSED},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = DNS_EDE_NO_REACHABLE_AUTHORITY,
	                         .attempts = 3,
	                         .upstream = 0,
	                         .answered_by = NOBODY};

	play(h, script, &e);
	assert_int_equal(errors_of(h, 0, UPERR_REFUSED), 2);
	assert_int_equal(errors_of(h, 1, UPERR_REFUSED), 1);
	assert_int_equal(fails_of(h, 0), 0);
	assert_int_equal(fails_of(h, 1), 0);
}

static void
timeout_then_next_server(const char *opts)
{
	struct harness *h = harness_new(3, SHORT_TIMEOUT, opts);
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = EXPECT_NO_QUERY, .server = 2},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
	assert_int_equal(errors_of(h, 0, UPERR_TIMEOUT), 1);
	assert_int_equal(fails_of(h, 0), 1);
	/* A timeout is a sample of `timeout` (dnsgate.conf(5), fastest). */
	assert_int_equal(srtt_of(h, 0), SHORT_TIMEOUT_US);
	assert_int_equal(latencies_of(h, 0), 0);
	assert_int_equal(latencies_of(h, 1), 1);
}

static void
test_upstream_timeout_then_next_server(void **state)
{
	timeout_then_next_server("");
}

static void
test_upstream_pooled_timeout_then_next_server(void **state)
{
	timeout_then_next_server("udp-sockets = 4\n");
}

static void
test_upstream_timeout_not_retried_without_retry_on_timeout(void **state)
{
	struct harness *h =
	    harness_new(2, SHORT_TIMEOUT, "retry-on = servfail\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_NO_QUERY, .server = 1},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = DNS_EDE_NETWORK_ERROR,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = NOBODY};

	play(h, script, &e);
}

/*
 * Nothing listens on server 0's port: ICMP port unreachable ends the
 * attempt at once, a network error, which retry-on's timeout covers.
 * (Its socket stays bound, connected elsewhere, so that the kernel
 * answers with ICMP and no other socket can take the port meanwhile.)
 */
static void
unreachable_then_next_server(const char *opts)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, opts);
	struct sockaddr_in elsewhere = {.sin_family = AF_INET,
	                                .sin_port = htons(9)};
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	elsewhere.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(h->srv[0].udp, (struct sockaddr *)&elsewhere,
	                         sizeof(elsewhere)),
	                 0);
	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 1);
	assert_int_equal(errors_of(h, 0, UPERR_NETWORK), 1);
	assert_int_equal(errors_of(h, 0, UPERR_TIMEOUT), 0);
	assert_int_equal(fails_of(h, 0), 1);
}

static void
test_upstream_unreachable_server_then_next_server(void **state)
{
	unreachable_then_next_server("");
}

static void
test_upstream_pooled_unreachable_server_then_next_server(void **state)
{
	unreachable_then_next_server("udp-sockets = 4\n");
}

/* ---- every attempt fails ---- */

static void
test_upstream_all_servfail_ede_22(void **state)
{
	struct harness *h = harness_new(3, LONG_TIMEOUT, "");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 2},
	    {.op = ANSWER, .server = 2, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = DNS_EDE_NO_REACHABLE_AUTHORITY,
	                         .attempts = 3,
	                         .upstream = 2,
	                         .answered_by = NOBODY};

	play(h, script, &e);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(queries_of(h, i), 1);
		assert_int_equal(errors_of(h, i, UPERR_SERVFAIL), 1);
	}
}

static void
test_upstream_all_timeouts_ede_23(void **state)
{
	struct harness *h = harness_new(3, SHORT_TIMEOUT, "");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = LET_TIME_OUT, .server = 1},
	    {.op = EXPECT_QUERY, .server = 2},
	    {.op = LET_TIME_OUT, .server = 2},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = DNS_EDE_NETWORK_ERROR,
	                         .attempts = 3,
	                         .upstream = 2,
	                         .answered_by = NOBODY};

	play(h, script, &e);
	for (int i = 0; i < 3; i++)
		assert_int_equal(errors_of(h, i, UPERR_TIMEOUT), 1);
}

/* The last failure decides the EDE (dnsgate.conf(5)). */
static void
test_upstream_last_failure_decides_ede(void **state)
{
	struct harness *h = harness_new(2, SHORT_TIMEOUT, "attempts = 2\n");
	const struct step timeout_last[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = LET_TIME_OUT, .server = 1},
	    {.op = END},
	};
	const struct expect e23 = {.rcode = DNS_RCODE_SERVFAIL,
	                           .ede = DNS_EDE_NETWORK_ERROR,
	                           .attempts = 2,
	                           .upstream = 1,
	                           .answered_by = NOBODY};
	const struct step servfail_last[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = END},
	};
	const struct expect e22 = {.rcode = DNS_RCODE_SERVFAIL,
	                           .ede = DNS_EDE_NO_REACHABLE_AUTHORITY,
	                           .attempts = 2,
	                           .upstream = 1,
	                           .answered_by = NOBODY};

	play(h, timeout_last, &e23);
	play(h, servfail_last, &e22);
}

static void
test_upstream_attempts_limit_respected(void **state)
{
	struct harness *h = harness_new(3, SHORT_TIMEOUT, "attempts = 2\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_NO_QUERY, .server = 2},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = DNS_EDE_NO_REACHABLE_AUTHORITY,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = NOBODY};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 2), 0);
}

/* More attempts than servers: ordered wraps around to the first. */
static void
test_upstream_attempts_wrap_around_servers(void **state)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, "attempts = 3\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 3,
	                         .upstream = 0,
	                         .answered_by = 0};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 2);
	assert_int_equal(fails_of(h, 0), 0); /* its answer reset it */
	assert_int_equal(fails_of(h, 1), 1);
}

/* ---- answers that are not ours (anti-spoofing) ---- */

static void
ignored_then_answered(const char *opts, struct step bad)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, opts);
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    bad,
	    {.op = EXPECT_IGNORED},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = 0};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 1);
	assert_int_equal(queries_of(h, 1), 0);
	assert_int_equal(fails_of(h, 0), 0);
}

static void
test_upstream_wrong_id_ignored(void **state)
{
	ignored_then_answered(
	    "", (struct step){.op = ANSWER_WRONG_ID, .server = 0});
	assert_int_equal(STAT_GET(current->w.stats.upstream_mismatch), 1);
	assert_int_equal(errors_of(current, 0, UPERR_MISMATCH), 1);
}

static void
test_upstream_pooled_wrong_id_ignored(void **state)
{
	/* No query waits for that ID on the socket: the pool drops it. */
	ignored_then_answered(
	    "udp-sockets = 4\n",
	    (struct step){.op = ANSWER_WRONG_ID, .server = 0});
	assert_int_equal(STAT_GET(current->w.stats.upstream_mismatch), 1);
}

static void
test_upstream_wrong_question_ignored(void **state)
{
	ignored_then_answered(
	    "", (struct step){.op = ANSWER_WRONG_QUESTION, .server = 0});
	assert_int_equal(STAT_GET(current->w.stats.upstream_mismatch), 1);
	assert_int_equal(errors_of(current, 0, UPERR_MISMATCH), 1);
}

static void
test_upstream_pooled_wrong_question_ignored(void **state)
{
	ignored_then_answered(
	    "udp-sockets = 4\n",
	    (struct step){.op = ANSWER_WRONG_QUESTION, .server = 0});
	assert_int_equal(STAT_GET(current->w.stats.upstream_mismatch), 1);
	assert_int_equal(errors_of(current, 0, UPERR_MISMATCH), 1);
}

static void
test_upstream_wrong_source_port_ignored(void **state)
{
	/* With a socket per attempt the reader checks the source itself;
	 * a pooled socket is connected, and the kernel drops it. */
	ignored_then_answered(
	    "", (struct step){.op = ANSWER_WRONG_SOURCE, .server = 0});
	assert_int_equal(errors_of(current, 0, UPERR_MISMATCH), 1);
}

static void
test_upstream_garbage_ignored(void **state)
{
	ignored_then_answered("",
	                      (struct step){.op = ANSWER_GARBAGE, .server = 0});
	assert_int_equal(STAT_GET(current->w.stats.upstream_garbage), 1);
	assert_int_equal(errors_of(current, 0, UPERR_MISMATCH), 1);
}

/* ---- errors without a question ---- */

/*
 * An upstream error with QDCOUNT 0 (nsd's REFUSED to a class it does not
 * serve) from the right address, port and ID is the server's answer: the
 * client gets that RCODE with its own question at once (check_outcome
 * parses the question), no retry when retry-on does not name it, and the
 * server has answered: no failure, not down.
 */
static void
no_question_passed_through(const char *opts, unsigned rcode)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, opts);
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER_NO_QUESTION, .server = 0, .rcode = (int)rcode},
	    {.op = EXPECT_NO_QUERY, .server = 1},
	    {.op = END},
	};
	const struct expect e = {.rcode = (int)rcode,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = NOBODY};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 1), 0);
	assert_int_equal(fails_of(h, 0), 0);
	assert_false(is_down(h, 0));
	assert_int_equal(ignored_total(h), 0);
	assert_int_equal(latencies_of(h, 0), 1);
}

static void
test_upstream_no_question_refused_passed_through(void **state)
{
	no_question_passed_through("", DNS_RCODE_REFUSED);
}

static void
test_upstream_pooled_no_question_refused_passed_through(void **state)
{
	no_question_passed_through("udp-sockets = 4\n", DNS_RCODE_REFUSED);
}

static void
test_upstream_no_question_formerr_and_notimp_passed_through(void **state)
{
	no_question_passed_through("", DNS_RCODE_FORMERR);
	teardown(state);
	no_question_passed_through("", DNS_RCODE_NOTIMP);
}

/* retry-on applies as to the same RCODE with a question. */
static void
test_upstream_no_question_servfail_retried(void **state)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, "");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER_NO_QUESTION,
	     .server = 0,
	     .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
	assert_int_equal(errors_of(h, 0, UPERR_SERVFAIL), 1);
	assert_int_equal(fails_of(h, 0), 1);
}

static void
test_upstream_no_question_refused_retried_with_retry_on_refused(void **state)
{
	struct harness *h =
	    harness_new(2, LONG_TIMEOUT, "retry-on = timeout, refused\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER_NO_QUESTION, .server = 0, .rcode = DNS_RCODE_REFUSED},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
	assert_int_equal(errors_of(h, 0, UPERR_REFUSED), 1);
	assert_int_equal(fails_of(h, 0), 0);
}

/* Without a question the ID is all there is to match: another ID is
 * ignored as any mismatch, and the attempt waits for its answer. */
static void
test_upstream_no_question_wrong_id_ignored(void **state)
{
	ignored_then_answered("",
	                      (struct step){.op = ANSWER_NO_QUESTION_WRONG_ID,
	                                    .server = 0,
	                                    .rcode = DNS_RCODE_REFUSED});
	assert_int_equal(STAT_GET(current->w.stats.upstream_mismatch), 1);
	assert_int_equal(errors_of(current, 0, UPERR_MISMATCH), 1);
}

/* NOERROR says something about a name: without the question it cannot be
 * matched, and is ignored as unreadable. */
static void
test_upstream_no_question_noerror_ignored(void **state)
{
	ignored_then_answered("", (struct step){.op = ANSWER_NO_QUESTION,
	                                        .server = 0,
	                                        .rcode = DNS_RCODE_NOERROR});
	assert_int_equal(STAT_GET(current->w.stats.upstream_garbage), 1);
}

/* ---- forwarding loops ---- */

/*
 * A query that comes back to the proxy from the very socket an attempt
 * sent it from (NAT, or a server address that is one of ours) is that
 * attempt's own: it is refused at once and never forwarded, and the
 * attempt fails (a loop error of the server, which counts toward taking
 * it down) and goes on to the next server.
 */
static void
looped_query_refused(const char *opts)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, opts);
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LOOP_BACK, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 1);
	assert_int_equal(queries_of(h, 1), 1);
	assert_int_equal(errors_of(h, 0, UPERR_LOOP), 1);
	assert_int_equal(fails_of(h, 0), 1);
}

static void
test_upstream_looped_query_refused(void **state)
{
	looped_query_refused("");
}

static void
test_upstream_pooled_looped_query_refused(void **state)
{
	looped_query_refused("udp-sockets = 4\n");
}

/*
 * Every attempt comes back: each copy is refused, each attempt fails, and
 * after attempts of them the client gets SERVFAIL with EDE 23: one client
 * query, attempts upstream queries, whatever the loop.
 */
static void
test_upstream_loop_ends_after_attempts(void **state)
{
	struct harness *h = harness_new(1, LONG_TIMEOUT, "attempts = 3\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LOOP_BACK, .server = 0},
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LOOP_BACK, .server = 0},
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LOOP_BACK, .server = 0},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = DNS_EDE_NETWORK_ERROR,
	                         .attempts = 3,
	                         .upstream = 0,
	                         .answered_by = NOBODY};

	play(h, script, &e);
	assert_string_equal(h->dec.rule, "loop");
	assert_int_equal(queries_of(h, 0), 3);
	assert_int_equal(errors_of(h, 0, UPERR_LOOP), 3);
	assert_true(is_down(h, 0));
}

/*
 * No amplification: whatever makes attempts fail (SERVFAIL, REFUSED that
 * retry-on names, an error without a question, a timeout, our own query
 * come back), one client query makes at most `attempts` upstream queries
 * across the group (play() fails on any query beyond the script), and
 * then ends. So a loop dnsgate cannot see (through another forwarder)
 * grows by one query per hop at most, never by a factor.
 */
static void
test_upstream_one_query_at_most_attempts_queries(void **state)
{
	static const struct {
		enum op op;
		int rcode;
		int ede; /* what the client gets at the end */
	} fails[] = {
	    {ANSWER, DNS_RCODE_SERVFAIL, DNS_EDE_NO_REACHABLE_AUTHORITY},
	    {ANSWER, DNS_RCODE_REFUSED, DNS_EDE_NO_REACHABLE_AUTHORITY},
	    {ANSWER_NO_QUESTION, DNS_RCODE_SERVFAIL,
	     DNS_EDE_NO_REACHABLE_AUTHORITY},
	    {LET_TIME_OUT, 0, DNS_EDE_NETWORK_ERROR},
	    {LOOP_BACK, 0, DNS_EDE_NETWORK_ERROR},
	};

	for (size_t k = 0; k < sizeof(fails) / sizeof(fails[0]); k++) {
		struct harness *h = harness_new(
		    2,
		    fails[k].op == LET_TIME_OUT ? SHORT_TIMEOUT : LONG_TIMEOUT,
		    "attempts = 4\nretry-on = servfail, timeout, refused\n");
		struct step script[9];
		struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
		                   .ede = fails[k].ede,
		                   .attempts = 4,
		                   .upstream = 1,
		                   .answered_by = NOBODY};

		for (int i = 0; i < 4; i++) {
			script[2 * i] =
			    (struct step){.op = EXPECT_QUERY, .server = i % 2};
			script[2 * i + 1] =
			    (struct step){.op = fails[k].op,
			                  .server = i % 2,
			                  .rcode = fails[k].rcode};
		}
		script[8] = (struct step){.op = END};
		play(h, script, &e);
		assert_int_equal(queries_of(h, 0) + queries_of(h, 1), 4);
		teardown(state);
	}
}

/* An answer after its attempt timed out is never taken. */
static void
test_upstream_late_answer_ignored(void **state)
{
	struct harness *h = harness_new(2, SHORT_TIMEOUT, "");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_NOERROR}, /* late */
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
}

static void
test_upstream_pooled_late_answer_ignored(void **state)
{
	struct harness *h = harness_new(2, SHORT_TIMEOUT, "udp-sockets = 4\n");
	/* The pooled socket stays open: the late answer is read, and
	 * dropped, since no query waits for its ID any more. */
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_NOERROR},
	    {.op = EXPECT_IGNORED},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
	assert_int_equal(STAT_GET(h->w.stats.upstream_mismatch), 1);
}

/* ---- TC=1: TCP to the same server ---- */

static void
tc_retries_over_tcp(const char *opts)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, opts);
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER_TC, .server = 0},
	    {.op = EXPECT_TCP_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_NOERROR},
	    {.op = EXPECT_NO_QUERY, .server = 1},
	    {.op = END},
	};
	/* The TCP retry is not an attempt (dnsgate.conf(5)). */
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = 0};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 1);
	assert_int_equal(queries_of(h, 1), 0);
	assert_int_equal(fails_of(h, 0), 0);
}

static void
test_upstream_tc_retries_over_tcp_same_server(void **state)
{
	tc_retries_over_tcp("");
}

static void
test_upstream_pooled_tc_retries_over_tcp_same_server(void **state)
{
	tc_retries_over_tcp("udp-sockets = 4\n");
}

static void
test_upstream_tc_with_unfixed_counts_retries_over_tcp(void **state)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, "");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER_TC_BARE, .server = 0},
	    {.op = EXPECT_TCP_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 1,
	                         .upstream = 0,
	                         .answered_by = 0};

	play(h, script, &e);
	assert_int_equal(STAT_GET(h->w.stats.upstream_garbage), 0);
}

/* A failure over TCP is the attempt's: the next one goes on by UDP. */
static struct harness *
tc_then_tcp_failure(struct step failure)
{
	struct harness *h = harness_new(
	    2, failure.op == LET_TIME_OUT ? SHORT_TIMEOUT : LONG_TIMEOUT, "");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER_TC, .server = 0},
	    {.op = EXPECT_TCP_QUERY, .server = 0},
	    failure,
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 1);
	assert_int_equal(fails_of(h, 0), 1);
	return h;
}

static void
test_upstream_tc_then_tcp_servfail_moves_to_next_server(void **state)
{
	struct harness *h = tc_then_tcp_failure((struct step){
	    .op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL});

	assert_int_equal(errors_of(h, 0, UPERR_SERVFAIL), 1);
}

static void
test_upstream_tc_then_tcp_timeout_moves_to_next_server(void **state)
{
	struct harness *h =
	    tc_then_tcp_failure((struct step){.op = LET_TIME_OUT, .server = 0});

	assert_int_equal(errors_of(h, 0, UPERR_TIMEOUT), 1);
}

/* ---- health ---- */

static void
failures_mark_down(struct step failure, enum up_error_kind kind)
{
	struct harness *h = harness_new(
	    2, failure.op == LET_TIME_OUT ? SHORT_TIMEOUT : LONG_TIMEOUT,
	    "attempts = 2\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    failure,
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	uint64_t made = since_of(h, 0);

	/* Up since its record was made. */
	assert_true(made > 0);
	assert_int_equal(atomic_load(&srv_state(h, 0)->health.last_failure), 0);
	for (unsigned i = 1; i <= 3; i++) {
		play(h, script, &e);
		assert_int_equal(fails_of(h, 0), i);
		assert_int_equal(is_down(h, 0), i == 3);
		/* Why: the streak, by kind. */
		assert_int_equal(streak_of(h, 0, kind), i);
		assert_int_equal(
		    atomic_load(&srv_state(h, 0)->health.last_failure),
		    kind + 1);
	}
	assert_true(since_of(h, 0) >= made); /* down since then */
	for (int k = 0; k < HEALTH_STREAK_KINDS; k++)
		if (k != (int)kind)
			assert_int_equal(streak_of(h, 0, k), 0);
	/* Down: the next queries skip it. */
	play_answered(h, 1);
	play_answered(h, 1);
	assert_int_equal(queries_of(h, 0), 3);
	assert_true(is_down(h, 0));
}

static void
test_upstream_three_timeouts_mark_server_down(void **state)
{
	failures_mark_down((struct step){.op = LET_TIME_OUT, .server = 0},
	                   UPERR_TIMEOUT);
}

static void
test_upstream_three_servfails_mark_server_down(void **state)
{
	failures_mark_down((struct step){.op = ANSWER,
	                                 .server = 0,
	                                 .rcode = DNS_RCODE_SERVFAIL},
	                   UPERR_SERVFAIL);
}

static void
test_upstream_answer_resets_failure_count(void **state)
{
	struct harness *h = harness_new(2, SHORT_TIMEOUT, "attempts = 2\n");
	const struct step fail_over[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, fail_over, &e);
	play(h, fail_over, &e);
	assert_int_equal(fails_of(h, 0), 2);
	assert_int_equal(streak_of(h, 0, UPERR_TIMEOUT), 2);
	play_answered(h, 0);
	assert_int_equal(fails_of(h, 0), 0);
	assert_int_equal(streak_of(h, 0, UPERR_TIMEOUT), 0);
	/* The last failure is remembered after the streak ends. */
	assert_int_equal(atomic_load(&srv_state(h, 0)->health.last_failure),
	                 UPERR_TIMEOUT + 1);
	play(h, fail_over, &e);
	play(h, fail_over, &e);
	/* Four failures, never three in a row. */
	assert_int_equal(fails_of(h, 0), 2);
	assert_false(is_down(h, 0));
	play_answered(h, 0);
	assert_int_equal(errors_of(h, 0, UPERR_TIMEOUT), 4);
}

static void
test_upstream_down_server_skipped_retries_among_up(void **state)
{
	struct harness *h = harness_new(3, SHORT_TIMEOUT, "");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = LET_TIME_OUT, .server = 1},
	    {.op = EXPECT_QUERY, .server = 2},
	    {.op = LET_TIME_OUT, .server = 2},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = LET_TIME_OUT, .server = 1},
	    {.op = EXPECT_NO_QUERY, .server = 0},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                         .ede = DNS_EDE_NETWORK_ERROR,
	                         .attempts = 3,
	                         .upstream = 1,
	                         .answered_by = NOBODY};

	mark_down(h, 0);
	play(h, script, &e);
	assert_int_equal(queries_of(h, 0), 0);
	assert_int_equal(queries_of(h, 1), 2);
	assert_int_equal(queries_of(h, 2), 1);
}

static void
test_upstream_all_down_still_asked(void **state)
{
	struct harness *h = harness_new(2, LONG_TIMEOUT, "");
	/* Every server is down: all are candidates. Server 0's SERVFAIL
	 * keeps it down; server 1's answer brings it back up. */
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	mark_down(h, 0);
	mark_down(h, 1);
	play(h, script, &e);
	assert_true(is_down(h, 0));
	assert_false(is_down(h, 1));
	assert_int_equal(fails_of(h, 1), 0);
	/* Now only server 1 is up: server 0 is skipped. */
	play_answered(h, 1);
	assert_int_equal(queries_of(h, 0), 1);
}

/* ---- selection ---- */

static void
test_upstream_ordered_always_starts_at_first_up_server(void **state)
{
	struct harness *h = harness_new(3, LONG_TIMEOUT, "");

	for (int i = 0; i < 3; i++)
		play_answered(h, 0);
	mark_down(h, 0);
	for (int i = 0; i < 3; i++)
		play_answered(h, 1);
	assert_int_equal(queries_of(h, 0), 3);
	assert_int_equal(queries_of(h, 1), 3);
	assert_int_equal(queries_of(h, 2), 0);
}

static void
test_upstream_round_robin_starts_one_further_per_query(void **state)
{
	struct harness *h =
	    harness_new(3, LONG_TIMEOUT, "selection = round-robin\n");
	/* The fourth query starts at 0 again; its retry goes one further. */
	const struct step retry[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = ANSWER, .server = 0, .rcode = DNS_RCODE_SERVFAIL},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play_answered(h, 0);
	play_answered(h, 1);
	play_answered(h, 2);
	play(h, retry, &e);
	play_answered(h, 1);
	play_answered(h, 2);
}

static void
test_upstream_round_robin_skips_down_server(void **state)
{
	struct harness *h =
	    harness_new(3, LONG_TIMEOUT, "selection = round-robin\n");

	mark_down(h, 1);
	play_answered(h, 0);
	play_answered(h, 2);
	play_answered(h, 0);
	play_answered(h, 2);
	assert_int_equal(queries_of(h, 1), 0);
}

static void
test_upstream_fastest_unmeasured_first_in_configured_order(void **state)
{
	struct harness *h =
	    harness_new(3, LONG_TIMEOUT, "selection = fastest\n");

	play_answered(h, 0);
	assert_true(srtt_of(h, 0) > 0);
	play_answered(h, 1);
	play_answered(h, 2);
	assert_true(srtt_of(h, 1) > 0);
	assert_true(srtt_of(h, 2) > 0);
}

/*
 * RTTs set by hand and moved only by timeouts, whose sample is exactly
 * `timeout`: the order is integer arithmetic, not a race of the clock.
 */
static void
test_upstream_fastest_lowest_srtt_first(void **state)
{
	struct harness *h = harness_new(3, SHORT_TIMEOUT,
	                                "selection = fastest\nattempts = 1\n");
	const struct step time_out_1[] = {
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = LET_TIME_OUT, .server = 1},
	    {.op = END},
	};
	const struct step time_out_2[] = {
	    {.op = EXPECT_QUERY, .server = 2},
	    {.op = LET_TIME_OUT, .server = 2},
	    {.op = END},
	};
	struct expect e = {.rcode = DNS_RCODE_SERVFAIL,
	                   .ede = DNS_EDE_NETWORK_ERROR,
	                   .attempts = 1,
	                   .answered_by = NOBODY};

	atomic_store(&srv_state(h, 0)->health.srtt_us, 50000);
	atomic_store(&srv_state(h, 1)->health.srtt_us, 10000);
	atomic_store(&srv_state(h, 2)->health.srtt_us, 15000);
	e.upstream = 1;
	play(h, time_out_1, &e);
	/* 7/8 of the old value plus 1/8 of the sample (RFC 6298). */
	assert_int_equal(srtt_of(h, 1), (10000 * 7 + SHORT_TIMEOUT_US) / 8);
	e.upstream = 2;
	play(h, time_out_2, &e);
	assert_int_equal(srtt_of(h, 2), (15000 * 7 + SHORT_TIMEOUT_US) / 8);
	/* 21250 < 25625 < 50000 */
	play_answered(h, 1);
	assert_int_equal(queries_of(h, 0), 0);
}

/*
 * A retry goes to a server this query has not asked yet. Under
 * `fastest` the timeout that just raised the first server's RTT moves it
 * to second place; the retry must still go to the other server, not back
 * to the one that timed out (pick_server once took the k-th entry of the
 * re-sorted list).
 */
static void
test_upstream_fastest_retry_goes_to_another_server(void **state)
{
	struct harness *h = harness_new(2, SHORT_TIMEOUT,
	                                "selection = fastest\nattempts = 2\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	atomic_store(&srv_state(h, 0)->health.srtt_us, 10000);
	atomic_store(&srv_state(h, 1)->health.srtt_us, 20000);
	play(h, script, &e);
}

/*
 * The same under `ordered`: the first attempt's failure takes its server
 * down, and the retry goes to the second server, up and never asked, not
 * past it to the third.
 */
static void
test_upstream_ordered_retry_after_server_goes_down(void **state)
{
	struct harness *h = harness_new(3, SHORT_TIMEOUT, "attempts = 2\n");
	const struct step script[] = {
	    {.op = EXPECT_QUERY, .server = 0},
	    {.op = LET_TIME_OUT, .server = 0},
	    {.op = EXPECT_QUERY, .server = 1},
	    {.op = ANSWER, .server = 1, .rcode = DNS_RCODE_NOERROR},
	    {.op = EXPECT_NO_QUERY, .server = 2},
	    {.op = END},
	};
	const struct expect e = {.rcode = DNS_RCODE_NOERROR,
	                         .ede = NO_EDE,
	                         .attempts = 2,
	                         .upstream = 1,
	                         .answered_by = 1};

	play(h, script, &e); /* fails 1 */
	play(h, script, &e); /* fails 2 */
	play(h, script, &e); /* fails 3: down after the first attempt */
	assert_true(is_down(h, 0));
}

static int
group_setup(void **state)
{
	log_ring = log_ring_new();
	return log_ring == NULL ? -1 : 0;
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_upstream_first_server_answers),
	    T(test_upstream_pooled_first_server_answers),
	    T(test_upstream_servfail_then_next_server),
	    T(test_upstream_pooled_servfail_then_next_server),
	    T(test_upstream_servfail_passed_through_without_retry_on_servfail),
	    T(test_upstream_refused_passed_through_by_default),
	    T(test_upstream_refused_retried_with_retry_on_refused),
	    T(test_upstream_refused_retried_until_attempts_run_out),
	    T(test_upstream_timeout_then_next_server),
	    T(test_upstream_pooled_timeout_then_next_server),
	    T(test_upstream_timeout_not_retried_without_retry_on_timeout),
	    T(test_upstream_unreachable_server_then_next_server),
	    T(test_upstream_pooled_unreachable_server_then_next_server),
	    T(test_upstream_all_servfail_ede_22),
	    T(test_upstream_all_timeouts_ede_23),
	    T(test_upstream_last_failure_decides_ede),
	    T(test_upstream_attempts_limit_respected),
	    T(test_upstream_attempts_wrap_around_servers),
	    T(test_upstream_wrong_id_ignored),
	    T(test_upstream_pooled_wrong_id_ignored),
	    T(test_upstream_wrong_question_ignored),
	    T(test_upstream_pooled_wrong_question_ignored),
	    T(test_upstream_wrong_source_port_ignored),
	    T(test_upstream_garbage_ignored),
	    T(test_upstream_no_question_refused_passed_through),
	    T(test_upstream_pooled_no_question_refused_passed_through),
	    T(test_upstream_no_question_formerr_and_notimp_passed_through),
	    T(test_upstream_no_question_servfail_retried),
	    T(test_upstream_no_question_refused_retried_with_retry_on_refused),
	    T(test_upstream_no_question_wrong_id_ignored),
	    T(test_upstream_no_question_noerror_ignored),
	    T(test_upstream_looped_query_refused),
	    T(test_upstream_pooled_looped_query_refused),
	    T(test_upstream_loop_ends_after_attempts),
	    T(test_upstream_one_query_at_most_attempts_queries),
	    T(test_upstream_late_answer_ignored),
	    T(test_upstream_pooled_late_answer_ignored),
	    T(test_upstream_tc_retries_over_tcp_same_server),
	    T(test_upstream_pooled_tc_retries_over_tcp_same_server),
	    T(test_upstream_tc_with_unfixed_counts_retries_over_tcp),
	    T(test_upstream_tc_then_tcp_servfail_moves_to_next_server),
	    T(test_upstream_tc_then_tcp_timeout_moves_to_next_server),
	    T(test_upstream_three_timeouts_mark_server_down),
	    T(test_upstream_three_servfails_mark_server_down),
	    T(test_upstream_answer_resets_failure_count),
	    T(test_upstream_down_server_skipped_retries_among_up),
	    T(test_upstream_all_down_still_asked),
	    T(test_upstream_ordered_always_starts_at_first_up_server),
	    T(test_upstream_round_robin_starts_one_further_per_query),
	    T(test_upstream_round_robin_skips_down_server),
	    T(test_upstream_fastest_unmeasured_first_in_configured_order),
	    T(test_upstream_fastest_lowest_srtt_first),
	    T(test_upstream_fastest_retry_goes_to_another_server),
	    T(test_upstream_ordered_retry_after_server_goes_down),
	};

	return cmocka_run_group_tests_name("proxy upstream", tests, group_setup,
	                                   NULL);
}
