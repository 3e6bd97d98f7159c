/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_dotpool.c — TLS connections to tls:// upstream
 * servers (proxy/dotpool.h):
 *
 *  - the backoff schedule after failed connection attempts (250 ms,
 *    doubling, at most 10 s; none after a success);
 *  - queries pipelined on one connection, each under an ID of its own,
 *    queued while the handshake runs, their answers (given in the reverse
 *    order) each reaching its own query;
 *  - a certificate for another name: every query waiting fails, the
 *    server is backed off, and the next send fails at once;
 *  - a connection the server closed: the next query reconnects, resuming
 *    the session.
 *
 * The server is a thread of this test on 127.0.0.1 with OpenSSL's
 * blocking API and a self-signed certificate made here (SANs DNS:dns.test
 * and IP:127.0.0.1), trusted by the client context; the client side is a
 * bare struct worker with a libev loop of its own, run until what a test
 * waits for happened (or WAIT_CAP passed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/msg.h"
#include "proxy/dotpool.h"
#include "proxy/runstate.h"
#include "proxy/worker.h"
#include "tests/unit/testcert.h"
#include "tls/tls.h"

#define WAIT_CAP 5.0 /* s */
#define NQ       5

/* ---- the server ---- */

struct server {
	int lfd;
	uint16_t port;
	SSL_CTX *ctx;
	int batch;       /* answer this many at once, in reverse order */
	bool close_each; /* close the connection after each batch */
	atomic_int conns, resumed, queries;
	atomic_bool stop;
	atomic_int cfd; /* the connection being served, or -1 */
	pthread_t thread;
};

static EVP_PKEY *key;
static X509 *crt;
static struct log_ring *log_ring; /* one per process: rings are not freed */

/* A self-signed certificate for dns.test and 127.0.0.1, trusted as is. */
static void
make_cert(void)
{
	struct testcert_spec spec = {
	    .cn = "dns.test",
	    .san = "DNS:dns.test,IP:127.0.0.1",
	    .not_before = time(NULL) - 60,
	    .not_after = time(NULL) + 3600,
	};

	key = testcert_key_new();
	crt = testcert_new(key, &spec);
}

/* Read exactly n bytes: 0, or -1 at the end of the connection. */
static int
ssl_read_all(SSL *ssl, uint8_t *buf, int n)
{
	for (int got = 0; got < n;) {
		int r = SSL_read(ssl, buf + got, n - got);

		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

/* Serve one connection: batches of queries, answered in reverse. */
static void
serve(struct server *s, SSL *ssl)
{
	uint8_t msgs[NQ][2 + 512];
	int lens[NQ];

	for (;;) {
		int n = 0;

		while (n < s->batch) {
			uint8_t *m = msgs[n];

			if (ssl_read_all(ssl, m, 2) < 0 ||
			    ssl_read_all(ssl, m + 2, m[0] << 8 | m[1]) < 0)
				return;
			lens[n] = 2 + (m[0] << 8 | m[1]);
			m[2 + 2] |= 0x80; /* QR: the query is its own answer */
			atomic_fetch_add(&s->queries, 1);
			n++;
		}
		while (n-- > 0)
			if (SSL_write(ssl, msgs[n], lens[n]) <= 0)
				return;
		if (s->close_each)
			return; /* without close_notify, as many servers do */
	}
}

static void *
server_main(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		int fd = accept(s->lfd, NULL, NULL);
		SSL *ssl;

		if (fd < 0)
			break;
		atomic_store(&s->cfd, fd);
		ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			atomic_fetch_add(&s->conns, 1);
			if (SSL_session_reused(ssl))
				atomic_fetch_add(&s->resumed, 1);
			serve(s, ssl);
		}
		SSL_free(ssl);
		ERR_clear_error();
		atomic_store(&s->cfd, -1);
		close(fd);
	}
	return NULL;
}

static struct server *
server_start(int batch, bool close_each)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	assert_non_null(s);
	s->batch = batch;
	s->close_each = close_each;
	atomic_init(&s->cfd, -1);
	s->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(s->ctx);
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, crt), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, key), 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void
server_stop(struct server *s)
{
	int fd = atomic_load(&s->cfd);

	atomic_store(&s->stop, true);
	shutdown(s->lfd, SHUT_RDWR);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
	free(s);
}

/* ---- the client: a bare worker ---- */

struct client {
	struct worker w;
	struct server_state *rec;
	struct endpoint ep;
	SSL_CTX *ctx;
	struct dotpool_server to;
};

/* A query of ours: how it ended. */
struct probe_q {
	struct dotpool_wait wt;
	int answered, failed;
	uint16_t answer_id;
};

static void
on_answer(struct dotpool_wait *wt, const uint8_t *msg, size_t len)
{
	struct probe_q *q = wt->owner;

	q->answered++;
	q->answer_id = dns_hdr_id(msg, len);
	dotpool_forget(wt); /* taken, as upstream.c takes an answer */
}

static void
on_error(struct dotpool_wait *wt)
{
	struct probe_q *q = wt->owner;

	q->failed++;
}

static struct client *
client_new(uint16_t port, const char *name)
{
	struct client *c = calloc(1, sizeof(*c));
	char err[256];

	assert_non_null(c);
	c->w.loop = ev_loop_new(EVFLAG_AUTO);
	c->w.log = log_ring;
	c->rec = calloc(1, sizeof(*c->rec));
	assert_non_null(c->w.loop);
	assert_non_null(c->w.log);
	assert_non_null(c->rec);
	atomic_init(&c->rec->refs, 1);
	assert_int_equal(ip_addr_parse("127.0.0.1", &c->ep.addr), 0);
	c->ep.port = port;
	c->ep.tls = true;
	snprintf(c->ep.text, sizeof(c->ep.text), "127.0.0.1:%u",
	         (unsigned)port);
	snprintf(c->ep.tls_name, sizeof(c->ep.tls_name), "%s", name);
	c->ctx = tls_client_ctx_new(NULL, err, sizeof(err));
	assert_non_null(c->ctx);
	assert_int_equal(
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(c->ctx), crt), 1);
	c->to = (struct dotpool_server){
	    .group = "up", .ep = &c->ep, .ctx = c->ctx, .rec = c->rec};
	return c;
}

static void
client_free(struct client *c)
{
	dotpool_free_all(&c->w);
	SSL_CTX_free(c->ctx);
	server_state_unref(c->rec);
	ev_loop_destroy(c->w.loop);
	free(c);
}

/* Send q on c: what dotpool_send() returned. */
static int
send_q(struct client *c, struct probe_q *q, uint16_t id)
{
	struct dns_query dq = {
	    .qname_len = 1, .qtype = DNS_TYPE_NS, .qclass = DNS_CLASS_IN};
	uint8_t msg[64];
	size_t len = dns_build_upstream_query(msg, sizeof(msg), &dq, id, 1232);

	assert_true(len > 0);
	memset(q, 0, sizeof(*q));
	q->wt.owner = q;
	q->wt.id = id;
	q->wt.on_answer = on_answer;
	q->wt.on_error = on_error;
	return dotpool_send(&c->w, &q->wt, &c->to, msg, len);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
}

/* Run c's loop until done(arg) or WAIT_CAP: done's last answer. */
static bool
run_until(struct client *c, bool (*done)(void *), void *arg)
{
	ev_timer tick;
	ev_tstamp end = ev_time() + WAIT_CAP;

	ev_timer_init(&tick, tick_cb, 0.02, 0.02);
	ev_timer_start(c->w.loop, &tick);
	while (!done(arg) && ev_time() < end)
		ev_run(c->w.loop, EVRUN_ONCE);
	ev_timer_stop(c->w.loop, &tick);
	return done(arg);
}

static bool
all_ended(void *arg)
{
	struct probe_q *q = arg;

	for (int i = 0; i < NQ; i++)
		if (q[i].answered + q[i].failed == 0)
			return false;
	return true;
}

static bool
no_connection(void *arg)
{
	struct client *c = arg;

	return atomic_load(&c->rec->stats.tls_connections) == 0;
}

/* ---- tests ---- */

static void
test_dotpool_backoff_doubles_to_ten_seconds(void **state)
{
	static const double want[] = {0, 0.25, 0.5, 1, 2, 4, 8, 10, 10, 10};

	(void)state;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_float_equal(dotpool_backoff(i), want[i], 1e-9);
	assert_float_equal(dotpool_backoff(1000), 10, 1e-9);
	assert_float_equal(dotpool_backoff(~0u), 10, 1e-9);
}

static void
test_dotpool_pipelined_answers_out_of_order(void **state)
{
	struct server *s = server_start(NQ, false);
	struct client *c = client_new(s->port, "dns.test");
	struct probe_q q[NQ];
	int fd = -1;

	(void)state;
	/* All with one ID, before the connection is up: queued, and each
	 * given an ID of its own on it. */
	for (int i = 0; i < NQ; i++)
		assert_int_equal(send_q(c, &q[i], 7), 0);
	for (int i = 0; i < NQ; i++) {
		for (int j = 0; j < i; j++)
			assert_int_not_equal(q[i].wt.id, q[j].wt.id);
		if (fd < 0)
			fd = dotpool_fd(&q[i].wt);
		assert_int_equal(dotpool_fd(&q[i].wt), fd);
	}
	assert_true(run_until(c, all_ended, q));
	for (int i = 0; i < NQ; i++) {
		assert_int_equal(q[i].answered, 1);
		assert_int_equal(q[i].failed, 0);
		assert_int_equal(q[i].answer_id, q[i].wt.id);
	}
	assert_int_equal(atomic_load(&s->conns), 1);
	assert_int_equal(atomic_load(&s->queries), NQ);
	assert_int_equal(c->rec->stats.tls_handshakes[TLS_HS_FULL], 1);
	assert_int_equal(c->rec->stats.tls_connections, 1);
	client_free(c);
	server_stop(s);
}

static void
test_dotpool_wrong_name_fails_and_backs_off(void **state)
{
	struct server *s = server_start(1, false);
	struct client *c = client_new(s->port, "wrong.test");
	struct probe_q q[NQ], late;

	(void)state;
	for (int i = 0; i < NQ; i++)
		assert_int_equal(send_q(c, &q[i], (uint16_t)(100 + i)), 0);
	assert_true(run_until(c, all_ended, q));
	for (int i = 0; i < NQ; i++) {
		assert_int_equal(q[i].failed, 1);
		assert_int_equal(q[i].answered, 0);
		assert_int_equal(dotpool_fd(&q[i].wt), -1);
	}
	assert_int_equal(c->rec->stats.tls_handshakes[TLS_HS_FAILED], 1);
	assert_int_equal(c->rec->stats.tls_connections, 0);
	/* Backed off: the next query fails at once, no new connection. */
	errno = 0;
	assert_int_equal(send_q(c, &late, 200), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(late.failed, 0);
	assert_int_equal(c->rec->stats.tls_handshakes[TLS_HS_FAILED], 1);
	assert_int_equal(atomic_load(&s->queries), 0);
	client_free(c);
	server_stop(s);
}

static void
test_dotpool_reconnect_resumes_session(void **state)
{
	struct server *s = server_start(1, true);
	struct client *c = client_new(s->port, "127.0.0.1"); /* IP SAN */
	struct probe_q q[NQ];

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(send_q(c, &q[0], (uint16_t)i), 0);
		for (int j = 1; j < NQ; j++)
			q[j].answered = 1; /* only q[0] this round */
		assert_true(run_until(c, all_ended, q));
		assert_int_equal(q[0].answered, 1);
		/* The server closed it: gone before the next query. */
		assert_true(run_until(c, no_connection, c));
	}
	assert_int_equal(atomic_load(&s->conns), 3);
	assert_int_equal(c->rec->stats.tls_handshakes[TLS_HS_FULL], 1);
	assert_int_equal(c->rec->stats.tls_handshakes[TLS_HS_RESUMED], 2);
	assert_int_equal(atomic_load(&s->resumed), 2);
	client_free(c);
	server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dotpool_backoff_doubles_to_ten_seconds),
	    cmocka_unit_test(test_dotpool_pipelined_answers_out_of_order),
	    cmocka_unit_test(test_dotpool_wrong_name_fails_and_backs_off),
	    cmocka_unit_test(test_dotpool_reconnect_resumes_session),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	log_ring = log_ring_new();
	if (log_ring == NULL)
		return 1;
	make_cert();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	X509_free(crt);
	EVP_PKEY_free(key);
	return rc;
}
