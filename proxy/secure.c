/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/secure.c — DNS over TLS and over HTTPS on client connections
 * (secure.h).
 */
#include "proxy/secure.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "dns/frame.h"
#include "proxy/doh.h"
#include "proxy/sendbuf.h"
#include "proxy/worker.h"

/* SSL_reads per wake-up (fairness among connections, as TCP_READ_BATCH). */
#define SECURE_READ_BATCH 8
/* An output buffer larger than this is given back once it drains. */
#define SECURE_OUT_KEEP (64 * 1024)

static void secure_io_cb(struct ev_loop *loop, ev_io *io, int revents);

void
secure_count_handshake(struct tcp_conn *tc, enum tls_hs_result r)
{
	STAT_INC(
	    tc->w->stats.tls_handshake[tc->transport == TRANSPORT_HTTPS][r]);
}

int
secure_conn_start(struct tcp_conn *tc, SSL_CTX *ctx)
{
	if (ctx == NULL)
		return -1;
	tc->ssl = SSL_new(ctx);
	if (tc->ssl == NULL || SSL_set_fd(tc->ssl, tc->fd) != 1) {
		ERR_clear_error();
		STAT_INC(tc->w->stats.nomem);
		return -1;
	}
	SSL_set_accept_state(tc->ssl);
	tc->handshaking = true;
	ev_set_cb(&tc->rio, secure_io_cb);
	ev_set_cb(&tc->wio, secure_io_cb);
	return 0;
}

/* ---- output ---- */

/* Join the worker's flush list (holding a reference until the flush). */
static void
flush_later(struct tcp_conn *tc)
{
	struct worker *w = tc->w;

	if (tc->in_flush)
		return;
	tc->in_flush = true;
	tc->inflight++;
	tc->flush_next = w->flush_list;
	w->flush_list = tc;
}

/* HTTP/2 frames the session has ready, into tc->out. 0, or -1. */
static int
doh_pump(struct tcp_conn *tc)
{
	for (;;) {
		ssize_t n;

		if (sendbuf_reserve(&tc->out, DOH_SEND_MIN, SIZE_MAX) < 0)
			return -1;
		n = doh_session_send(tc->doh, tc->out.data + tc->out.len,
		                     tc->out.cap - tc->out.len);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		tc->out.len += (size_t)n;
	}
}

/* Write tc->out; 0 (done, or waiting for the socket), -1 (closed). */
static int
secure_write(struct tcp_conn *tc)
{
	struct worker *w = tc->w;
	size_t before = sendbuf_pending(&tc->out);
	enum sendbuf_io r = sendbuf_ssl_write(&tc->out, tc->ssl);

	if (sendbuf_pending(&tc->out) < before)
		tc->wq_progress = true;
	tc->wq_bytes = sendbuf_pending(&tc->out);
	switch (r) {
	case SENDBUF_WANT_WRITE:
		tc->want_write = true;
		ev_io_start(w->loop, &tc->wio);
		return 0;
	case SENDBUF_WANT_READ:
		return 0; /* the read watcher resumes it */
	case SENDBUF_ERROR:
		conn_close(tc);
		return -1;
	case SENDBUF_DONE:
		break;
	}
	if (tc->out.cap > SECURE_OUT_KEEP)
		sendbuf_free(&tc->out);
	if (tc->want_write) {
		tc->want_write = false;
		ev_io_stop(w->loop, &tc->wio);
	}
	return 0;
}

/* Everything queued on tc, out as far as the socket takes it. */
static void
secure_flush(struct tcp_conn *tc)
{
	if (tc->closed || tc->handshaking)
		return;
	if (tc->doh != NULL && doh_pump(tc) < 0) {
		conn_close(tc);
		return;
	}
	if (secure_write(tc) < 0)
		return;
	/* A zone transfer relayed over DNS over TLS (RFC 9103) waits while
	 * the client is slow to read (worker_tcp_pause): half drained, it
	 * goes on, as tcp_write_cb does for TCP. */
	if (tc->paused != NULL && tc->wq_bytes < CONN_MAX_QUEUED / 2) {
		struct query *qr = tc->paused;

		tc->paused = NULL;
		upstream_xfr_resume(qr);
	}
	/* GOAWAY exchanged and every stream done: nothing more to read. */
	if (tc->doh != NULL && !doh_session_want_read(tc->doh) &&
	    !doh_session_want_write(tc->doh))
		tc->read_done = true;
}

void
secure_flush_all(struct worker *w)
{
	while (w->flush_list != NULL) {
		struct tcp_conn *tc = w->flush_list;

		w->flush_list = tc->flush_next;
		tc->in_flush = false;
		secure_flush(tc);
		tc->inflight--;
		conn_maybe_free(tc);
	}
}

void
secure_send(struct tcp_conn *tc, const uint8_t *msg, size_t len, int32_t stream,
            uint32_t max_age)
{
	if (tc->closed)
		return; /* RFC 7766 6.2.4: the client went away */
	if (tc->doh != NULL) {
		/* -1: the client reset the stream meanwhile; nothing to do */
		(void)doh_session_answer(tc->doh, stream, msg, len, max_age);
	} else if (tc->transport == TRANSPORT_TLS) {
		if (sendbuf_reserve(&tc->out, DNS_FRAME_PREFIX + len,
		                    SIZE_MAX) < 0) {
			STAT_INC(tc->w->stats.nomem);
			return;
		}
		sendbuf_frame(&tc->out, msg, len);
		tc->wq_bytes = sendbuf_pending(&tc->out);
	} else {
		return;
	}
	flush_later(tc);
}

void
secure_drop(struct tcp_conn *tc, int32_t stream)
{
	if (tc->closed || tc->doh == NULL)
		return;
	(void)doh_session_reset(tc->doh, stream);
	flush_later(tc);
}

bool
secure_has_output(const struct tcp_conn *tc)
{
	if (tc->ssl == NULL)
		return false;
	return sendbuf_pending(&tc->out) > 0 ||
	       (tc->doh != NULL && doh_session_want_write(tc->doh));
}

/* ---- input ---- */

/* DNS over TLS: RFC 7766 messages out of the plaintext p[0 .. n). */
static void
dot_feed(struct tcp_conn *tc, const uint8_t *p, size_t n)
{
	while (n > 0 && !tc->closed && !tc->read_done) {
		size_t want, take;

		/* A whole message in p is handed over where it lies. */
		if (tc->rlen == 0 && dns_frame_ready(p, n)) {
			size_t msglen = dns_frame_msglen(p, n);

			if (msglen > 0)
				conn_dispatch(tc, p + DNS_FRAME_PREFIX, msglen,
				              0);
			p += DNS_FRAME_PREFIX + msglen;
			n -= DNS_FRAME_PREFIX + msglen;
			continue;
		}
		want = dns_frame_want(tc->rbuf, tc->rlen);
		take = want < n ? want : n;
		memcpy(tc->rbuf + tc->rlen, p, take);
		tc->rlen += take;
		p += take;
		n -= take;
		conn_frame_take(tc);
	}
}

static void
doh_on_query(void *arg, int32_t sid, const uint8_t *msg, size_t len)
{
	conn_dispatch(arg, msg, len, sid);
}

static void
doh_feed(struct tcp_conn *tc, const uint8_t *p, size_t n)
{
	if (doh_session_recv(tc->doh, p, n) < 0) {
		conn_close(tc);
		return;
	}
	/* SETTINGS and PING acknowledgements, WINDOW_UPDATEs. */
	if (doh_session_want_write(tc->doh))
		flush_later(tc);
}

static bool
reading_wanted(const struct tcp_conn *tc)
{
	/* inflight counts the caller's pseudo-reference: <=, as in
	 * tcp_read_cb. */
	return !tc->closed && !tc->read_done &&
	       tc->inflight <= CONN_MAX_INFLIGHT &&
	       tc->wq_bytes < CONN_MAX_QUEUED;
}

static void
secure_read(struct tcp_conn *tc)
{
	uint8_t *buf = tc->w->tlsbuf;

	for (int batch = 0; batch < SECURE_READ_BATCH && reading_wanted(tc);
	     batch++) {
		int n = SSL_read(tc->ssl, buf, SECURE_READ_MAX);

		if (n > 0) {
			if (tc->doh != NULL)
				doh_feed(tc, buf, (size_t)n);
			else
				dot_feed(tc, buf, (size_t)n);
			continue;
		}
		switch (SSL_get_error(tc->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			return;
		case SSL_ERROR_WANT_WRITE:
			tc->want_write = true;
			ev_io_start(tc->w->loop, &tc->wio);
			return;
		case SSL_ERROR_ZERO_RETURN:
			/* close_notify: answer what is in flight, then close */
			tc->read_done = true;
			return;
		default:
			/* A reset, or EOF without close_notify: nothing more
			 * can be read; what is queued may still go. */
			ERR_clear_error();
			tc->read_done = true;
			return;
		}
	}
	/* Batch over with bytes TLS holds: the socket won't wake us. */
	if (reading_wanted(tc) && SSL_has_pending(tc->ssl))
		ev_feed_event(tc->w->loop, &tc->rio, EV_READ);
}

/* ---- the handshake ---- */

/* HTTP/2 begins: our SETTINGS go out with the first flush. */
static int
doh_begin(struct tcp_conn *tc)
{
	const struct server_conf *s = &tc->w->conf->server;
	struct doh_params p = {
	    .path = s->https_path,
	    .max_streams = s->https_max_streams,
	    .stats = &tc->w->doh_stats,
	};
	struct doh_callbacks cb = {
	    .arg = tc,
	    .on_query = doh_on_query,
	};

	tc->doh = doh_session_new(&p, &cb);
	if (tc->doh == NULL) {
		STAT_INC(tc->w->stats.nomem);
		return -1;
	}
	flush_later(tc);
	return 0;
}

/* One step of the handshake; done: true. */
static bool
secure_handshake(struct tcp_conn *tc)
{
	struct worker *w = tc->w;
	int r = SSL_do_handshake(tc->ssl);

	if (r == 1) {
		tc->handshaking = false;
		secure_count_handshake(tc, SSL_session_reused(tc->ssl)
		                               ? TLS_HS_RESUMED
		                               : TLS_HS_FULL);
		/* From now on the connection idles like any other. */
		tc->idle.repeat = conn_idle_timeout(w);
		ev_timer_again(w->loop, &tc->idle);
		if (tc->want_write) {
			tc->want_write = false;
			ev_io_stop(w->loop, &tc->wio);
		}
		if (tc->transport == TRANSPORT_HTTPS && doh_begin(tc) < 0) {
			conn_close(tc);
			return false;
		}
		return true;
	}
	switch (SSL_get_error(tc->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		if (tc->want_write) {
			tc->want_write = false;
			ev_io_stop(w->loop, &tc->wio);
		}
		return false;
	case SSL_ERROR_WANT_WRITE:
		tc->want_write = true;
		ev_io_start(w->loop, &tc->wio);
		return false;
	default:
		/* Not TLS, no shared version or cipher, no certificate the
		 * client trusts: nothing to say to it. */
		ERR_clear_error();
		secure_count_handshake(tc, TLS_HS_FAILED);
		conn_close(tc);
		return false;
	}
}

static void
secure_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct tcp_conn *tc = io->data;

	(void)loop;
	/* What runs here may close tc; this pseudo-reference keeps it
	 * until the end (as in tcp_read_cb). */
	tc->inflight++;
	if (tc->handshaking && !secure_handshake(tc))
		goto out;
	if (tc->want_write && (revents & EV_WRITE))
		secure_flush(tc);
	if (!tc->closed)
		secure_read(tc);
	if (!tc->closed && sendbuf_pending(&tc->out) > 0 && !tc->want_write)
		flush_later(tc);
out:
	tc->inflight--;
	conn_maybe_free(tc);
}

/* ---- the end ---- */

void
secure_stop(struct tcp_conn *tc)
{
	if (tc->doh == NULL || tc->closed)
		return;
	doh_session_goaway(tc->doh);
	flush_later(tc);
}

void
secure_close(struct tcp_conn *tc)
{
	if (tc->handshaking)
		return;
	/* HTTP/2 ends with GOAWAY (RFC 9113 6.8: idle, tcp-max-queries, a
	 * stop), then TLS with close_notify: one try each, not waiting, for
	 * the descriptor closes right after. */
	if (tc->doh != NULL) {
		doh_session_goaway(tc->doh);
		if (doh_pump(tc) == 0)
			(void)sendbuf_ssl_write(&tc->out, tc->ssl);
	}
	if (SSL_shutdown(tc->ssl) < 0)
		ERR_clear_error();
}

void
secure_free(struct tcp_conn *tc)
{
	if (tc->doh != NULL)
		doh_session_free(tc->doh);
	tc->doh = NULL;
	SSL_free(tc->ssl);
	tc->ssl = NULL;
	sendbuf_free(&tc->out);
}
