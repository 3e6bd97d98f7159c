/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_usock.c — per-attempt upstream sockets on real
 * loopback sockets: a socket is reused, its source port is not; sends
 * queued for io_uring leave at usock_flush() (and before a close, never
 * on a descriptor number given to another socket); a failed send is
 * reported to the attempt; sockets of unanswered attempts are closed.
 * The same checks run with io_uring and with plain sendto().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/usock.h"
#include "proxy/worker.h"

struct fixture {
	struct worker w;
	int server; /* stands in for the upstream */
	struct sockaddr_in addr;
	bool want_ring;
	bool ring;
	int send_errors;
	int last_errno;
	/* on_send_error acts as upstream.c does: release, ask again. */
	bool retry_on_error;
	struct usock *retried;
};

static struct fixture *current;

/* The sockets on_read ran for, in order; on_read of close_on_read closes
 * close_victim (as a finished attempt could close another socket). */
static struct usock *read_order[8];
static int nread;
static struct usock *close_on_read, *close_victim;

static void
on_read(struct usock *s)
{
	char buf[64];

	if (nread < 8)
		read_order[nread++] = s;
	(void)recv(s->fd, buf, sizeof(buf), 0);
	if (s == close_on_read && close_victim != NULL) {
		usock_release(close_victim); /* not answered: closed */
		close_victim = NULL;
	}
}

static void
on_send_error(struct usock *s)
{
	struct fixture *f = current;

	f->send_errors++;
	f->last_errno = errno;
	if (!f->retry_on_error)
		return;
	usock_release(s);
	f->retried = usock_open(&f->w, f, AF_INET, on_read, on_send_error);
	assert_non_null(f->retried);
	assert_int_equal(usock_send(f->retried, (const uint8_t *)"retry", 5,
	                            (struct sockaddr *)&f->addr,
	                            sizeof(f->addr)),
	                 0);
}

static int
setup(void **state, bool ring)
{
	struct fixture *f = calloc(1, sizeof(*f));
	socklen_t len = sizeof(f->addr);

	assert_non_null(f);
	f->w.loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->w.loop);
	f->w.id = 1; /* only worker 0 logs that io_uring is missing */
	f->server = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(f->server >= 0);
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(
	    bind(f->server, (struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
	assert_int_equal(
	    getsockname(f->server, (struct sockaddr *)&f->addr, &len), 0);
	f->want_ring = ring;
	usock_ring_update(&f->w, ring);
	f->ring = f->w.usock.ring != NULL;
	current = f;
	*state = f;
	return 0;
}

static int
setup_ring(void **state)
{
	return setup(state, true);
}

/* A ring test on a kernel that refuses io_uring is skipped, visibly. */
static struct fixture *
fixture(void **state)
{
	struct fixture *f = *state;

	if (f->want_ring && !f->ring)
		skip();
	return f;
}

static int
setup_plain(void **state)
{
	return setup(state, false);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	usock_free_all(&f->w);
	close(f->server);
	ev_loop_destroy(f->w.loop);
	free(f);
	return 0;
}

/* The source port of the next datagram at the server; 0 if none. */
static unsigned
received_port(struct fixture *f, char *payload, size_t cap)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct pollfd p = {.fd = f->server, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, 1000) != 1)
		return 0;
	n = recvfrom(f->server, payload, cap, 0, (struct sockaddr *)&from, &fl);
	if (n <= 0)
		return 0;
	payload[n < (ssize_t)cap ? n : (ssize_t)cap - 1] = '\0';
	return ntohs(from.sin_port);
}

static bool
nothing_received(struct fixture *f)
{
	struct pollfd p = {.fd = f->server, .events = POLLIN};

	return poll(&p, 1, 50) == 0;
}

static struct usock *
open_and_send(struct fixture *f, const char *text)
{
	struct usock *s = usock_open(&f->w, f, AF_INET, on_read, on_send_error);

	assert_non_null(s);
	assert_int_equal(usock_send(s, (const uint8_t *)text, strlen(text),
	                            (struct sockaddr *)&f->addr,
	                            sizeof(f->addr)),
	                 0);
	return s;
}

/* Three attempts whose queries reached the server; their ports in order. */
static void
three_in_flight(struct fixture *f, struct usock *s[3], unsigned port[3])
{
	char buf[64];

	nread = 0;
	close_on_read = close_victim = NULL;
	for (int i = 0; i < 3; i++)
		s[i] = open_and_send(f, "q");
	usock_flush(&f->w);
	for (int i = 0; i < 3; i++) {
		port[i] = received_port(f, buf, sizeof(buf));
		assert_true(port[i] != 0);
	}
}

/* The server answers the socket on port p. */
static void
answer_port(struct fixture *f, unsigned p)
{
	struct sockaddr_in to = f->addr;

	to.sin_port = htons((uint16_t)p);
	assert_int_equal(
	    sendto(f->server, "a", 1, 0, (struct sockaddr *)&to, sizeof(to)),
	    1);
}

/* Wait until each of s[] holds its answer: the loop round that follows
 * must see all of them (loopback delivers at once; this makes it sure). */
static void
all_readable(struct usock *s[3])
{
	for (int i = 0; i < 3; i++) {
		struct pollfd p = {.fd = s[i]->fd, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 1000), 1);
	}
}

/* The server answers s[order[0]], s[order[1]], s[order[2]], in that
 * order, and all three answers are waiting when this returns. */
static void
answer_in_order(struct fixture *f, struct usock *s[3], const unsigned port[3],
                const int order[3])
{
	for (int i = 0; i < 3; i++)
		answer_port(f, port[order[i]]);
	all_readable(s);
}

/* Which of s[] read_order[i] is; -1 if none. */
static int
which(struct usock *s[3], int i)
{
	for (int k = 0; k < 3; k++)
		if (read_order[i] == s[k])
			return k;
	return -1;
}

static void
test_answers_read_in_arrival_order(void **state)
{
	struct fixture *f = fixture(state);
	struct usock *s[3];
	unsigned port[3];

	/* The first three sends leave from three sockets; the server's
	 * answers come in the order 2, 0, 1 and are read in that order in
	 * one loop round (libev's own order would be 1, 0, 2). */
	three_in_flight(f, s, port);
	answer_in_order(f, s, port, (const int[3]){2, 0, 1});
	ev_run(f->w.loop, EVRUN_NOWAIT);
	assert_int_equal(nread, 3);
	assert_int_equal(which(s, 0), 2);
	assert_int_equal(which(s, 1), 0);
	assert_int_equal(which(s, 2), 1);
	for (int i = 0; i < 3; i++) {
		s[i]->answered = true;
		usock_release(s[i]);
	}
}

static void
test_closed_while_ready_is_skipped(void **state)
{
	struct fixture *f = fixture(state);
	struct usock *s[3];
	unsigned port[3];

	/* All three are readable in one round; reading the first closes the
	 * third (its answer waits in the same ready list): it is not read,
	 * and its memory is not touched after the close (ASan). */
	three_in_flight(f, s, port);
	answer_in_order(f, s, port, (const int[3]){0, 1, 2});
	close_on_read = s[0];
	close_victim = s[2];
	ev_run(f->w.loop, EVRUN_NOWAIT);
	assert_int_equal(nread, 2);
	assert_int_equal(which(s, 0), 0);
	assert_int_equal(which(s, 1), 1);
	for (int i = 0; i < 2; i++) {
		s[i]->answered = true;
		usock_release(s[i]);
	}
}

static void
test_reused_socket_new_port(void **state)
{
	struct fixture *f = fixture(state);
	char buf[64];
	unsigned ports[20];
	struct usock *first = NULL;
	int distinct = 0;

	for (int i = 0; i < 20; i++) {
		struct usock *s = open_and_send(f, "query");

		if (first == NULL)
			first = s;
		/* The same socket every time: the previous one was answered
		 * and handed back. */
		assert_ptr_equal(s, first);
		usock_flush(&f->w);
		ports[i] = received_port(f, buf, sizeof(buf));
		assert_true(ports[i] != 0);
		assert_string_equal(buf, "query");
		s->answered = true;
		usock_release(s);
	}
	for (int i = 0; i < 20; i++) {
		int seen = 0;

		for (int j = 0; j < i; j++)
			seen |= ports[j] == ports[i];
		distinct += !seen;
	}
	/* Random ephemeral ports: 20 draws from ~28,000 almost never
	 * collide; a port kept across attempts would give 1. */
	assert_true(distinct >= 19);
}

static void
test_queued_until_flush(void **state)
{
	struct fixture *f = fixture(state);
	char buf[64];
	struct usock *s = open_and_send(f, "batched");

	if (f->ring) {
		assert_int_equal(f->w.usock.ring_queued, 1);
		assert_true(nothing_received(f));
	}
	usock_flush(&f->w);
	assert_int_equal(f->w.usock.ring_queued, 0);
	assert_true(received_port(f, buf, sizeof(buf)) != 0);
	assert_string_equal(buf, "batched");
	s->answered = true;
	usock_release(s);
}

static void
test_unanswered_socket_is_closed(void **state)
{
	struct fixture *f = fixture(state);
	char buf[64];
	struct usock *s = open_and_send(f, "timeout");

	usock_flush(&f->w);
	assert_true(received_port(f, buf, sizeof(buf)) != 0);
	/* No answer (a timeout): not kept as a spare. */
	usock_release(s);
	assert_int_equal(f->w.usock.nspare, 0);
	assert_null(f->w.usock.spare[0]);
}

static void
test_close_before_flush_sends_first(void **state)
{
	struct fixture *f = fixture(state);
	char buf[64];
	struct usock *s = open_and_send(f, "cancelled");
	struct usock *other;
	unsigned p1, p2;

	/* Cancelled in the round it was queued: the socket stays open until
	 * its send has left, so a socket opened next never shares its
	 * descriptor, and each query leaves from its own port. */
	usock_release(s);
	other = open_and_send(f, "next");
	usock_flush(&f->w);
	p1 = received_port(f, buf, sizeof(buf));
	assert_true(p1 != 0);
	assert_string_equal(buf, "cancelled");
	p2 = received_port(f, buf, sizeof(buf));
	assert_true(p2 != 0);
	assert_string_equal(buf, "next");
	assert_int_not_equal(p1, p2);
	assert_true(nothing_received(f));
	other->answered = true;
	usock_release(other);
	assert_null(f->w.usock.orphans);
}

static void
test_failed_send_reported(void **state)
{
	struct fixture *f = fixture(state);
	struct sockaddr_in bad = f->addr;
	struct usock *s = usock_open(&f->w, f, AF_INET, on_read, on_send_error);
	char buf[64];
	int rc;

	assert_non_null(s);
	/* Broadcast without SO_BROADCAST: the kernel refuses (EACCES). */
	bad.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	rc = usock_send(s, (const uint8_t *)"x", 1, (struct sockaddr *)&bad,
	                sizeof(bad));
	if (!f->ring) {
		assert_int_equal(rc, -1);
		assert_int_equal(errno, EACCES);
		usock_release(s);
		return;
	}
	assert_int_equal(rc, 0);
	/* The callback gives up the socket and asks again, from inside the
	 * flush: the retry leaves in the same flush. */
	f->retry_on_error = true;
	usock_flush(&f->w);
	assert_int_equal(f->send_errors, 1);
	assert_int_equal(f->last_errno, EACCES);
	assert_int_equal(f->w.usock.ring_queued, 0);
	assert_true(received_port(f, buf, sizeof(buf)) != 0);
	assert_string_equal(buf, "retry");
	f->retried->answered = true;
	usock_release(f->retried);
}

static void
test_spares_are_capped(void **state)
{
	struct fixture *f = fixture(state);
	enum { N = USOCK_SPARE_MAX + 8 };
	struct usock **s = calloc(N, sizeof(*s));
	char buf[64];

	assert_non_null(s);
	/* In rounds of 8, read as they come: the server's receive buffer
	 * holds a few hundred datagrams at most. */
	for (int i = 0; i < N; i++) {
		s[i] = open_and_send(f, "many");
		if (i % 8 == 7 || i == N - 1) {
			usock_flush(&f->w);
			for (int j = i - i % 8; j <= i; j++)
				assert_true(
				    received_port(f, buf, sizeof(buf)) != 0);
		}
	}
	for (int i = 0; i < N; i++) {
		s[i]->answered = true;
		usock_release(s[i]);
	}
	/* Beyond the cap, answered sockets are closed all the same. */
	assert_int_equal(f->w.usock.nspare, USOCK_SPARE_MAX);
	/* While stopping, nothing is kept. */
	s[0] = open_and_send(f, "stop");
	usock_flush(&f->w);
	assert_true(received_port(f, buf, sizeof(buf)) != 0);
	f->w.stopping = true;
	s[0]->answered = true;
	usock_release(s[0]);
	assert_int_equal(f->w.usock.nspare, USOCK_SPARE_MAX - 1);
	free(s);
}

/* A port nobody listens on: bound, then closed. */
static struct sockaddr_in
dead_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return a;
}

/* Send to a dead port from s and wait until the ICMP error is queued. */
static void
send_until_error(struct fixture *f, struct usock *s,
                 const struct sockaddr_in *dead)
{
	/* The kernel's global ICMP rate limit (icmp_msgs_per_sec, with a
	 * random part) now and then swallows an error even on loopback:
	 * send again, a few times, before calling it a failure. */
	for (int i = 0; i < 5; i++) {
		struct pollfd p = {.fd = s->fd, .events = 0};

		assert_int_equal(usock_send(s, (const uint8_t *)"q", 1,
		                            (const struct sockaddr *)dead,
		                            sizeof(*dead)),
		                 0);
		usock_flush(&f->w);
		if (poll(&p, 1, 1000) == 1 && (p.revents & POLLERR))
			return;
	}
	fail_msg("no ICMP error after 5 sends to a dead port");
}

static void
test_icmp_unreachable_for_the_server(void **state)
{
	struct fixture *f = fixture(state);
	struct sockaddr_in dead = dead_port();
	struct ip_addr server, other;
	uint16_t port, other_port;
	struct usock *s = usock_open(&f->w, f, AF_INET, on_read, on_send_error);
	struct pollfd p;

	assert_non_null(s);
	send_until_error(f, s, &dead);
	assert_int_equal(
	    ip_addr_from_sockaddr((struct sockaddr *)&dead, &server, &port), 0);
	other = server;
	other_port = (uint16_t)(port ^ 1);
	/* An error about someone else: not ours, but drained all the same,
	 * so the socket stops being readable. */
	assert_false(usock_icmp_error(s, &other, other_port));
	p = (struct pollfd){.fd = s->fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 0), 0);
	/* Again, for the server: port unreachable ends the attempt. */
	send_until_error(f, s, &dead);
	assert_true(usock_icmp_error(s, &server, port));
	usock_release(s);
}

static void
test_spare_with_late_error_is_closed(void **state)
{
	struct fixture *f = fixture(state);
	struct sockaddr_in dead = dead_port();
	struct usock *s = usock_open(&f->w, f, AF_INET, on_read, on_send_error);

	/* An ICMP error that lands between the answer and the release: the
	 * spare wakes once and is closed, rather than waking for ever. */
	assert_non_null(s);
	send_until_error(f, s, &dead);
	s->answered = true;
	usock_release(s);
	assert_int_equal(f->w.usock.nspare, 1);
	ev_run(f->w.loop, EVRUN_NOWAIT);
	assert_int_equal(f->w.usock.nspare, 0);
	assert_null(f->w.usock.spare[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reused_socket_new_port,
	                                    setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_queued_until_flush, setup_ring,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unanswered_socket_is_closed,
	                                    setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_close_before_flush_sends_first,
	                                    setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_send_reported,
	                                    setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_spares_are_capped, setup_ring,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_icmp_unreachable_for_the_server, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_spare_with_late_error_is_closed, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_reused_socket_new_port,
	                                    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_answers_read_in_arrival_order,
	                                    setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_answers_read_in_arrival_order,
	                                    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_closed_while_ready_is_skipped,
	                                    setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_closed_while_ready_is_skipped,
	                                    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_queued_until_flush,
	                                    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_unanswered_socket_is_closed,
	                                    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_close_before_flush_sends_first,
	                                    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_send_reported,
	                                    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_icmp_unreachable_for_the_server, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_spare_with_late_error_is_closed, setup_plain, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
