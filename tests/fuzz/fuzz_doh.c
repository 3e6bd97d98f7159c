/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_doh.c — the DoH server session (proxy/doh.h) on hostile
 * HTTP/2 bytes.
 *
 * A session gets a valid client connection preface (RFC 9113 3.4: the
 * magic and an empty SETTINGS), then the input after its first byte, in
 * pieces of a size that byte chooses so that frames split anywhere. The
 * same byte chooses what the "caller" does with each query: answer it at
 * once from on_query, later, with an HTTP error, or reset it, and whether
 * the session is told to GOAWAY halfway. After every piece the output is
 * drained as a connection would. At the end every stream still waiting is
 * answered (a stream cancelled meanwhile must refuse the answer) and the
 * session freed. Nothing may crash, leak or touch memory it does not own
 * (ASan and UBSan in the libFuzzer build), on_cancel must only name
 * streams handed to on_query, and a query is never shorter than a DNS
 * header.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "proxy/doh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WAITING 256

/* What the caller does with a query (bits 0-1 of the first byte). */
enum mode {
	ANSWER_AT_ONCE = 0,
	ANSWER_LATER,
	REJECT,
	RESET,
};

struct harness {
	struct doh_session *s;
	enum mode mode;
	int32_t waiting[MAX_WAITING]; /* handed over, not yet answered */
	unsigned nwaiting;
	uint8_t answer[DNS_MAX_MSG];
};

static uint8_t out[DOH_SEND_MIN];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
on_query(void *arg, int32_t sid, const uint8_t *msg, size_t len)
{
	struct harness *h = arg;

	check(len >= DNS_HEADER_LEN && len <= DNS_MAX_MSG);
	check(h->nwaiting < MAX_WAITING);
	switch (h->mode) {
	case ANSWER_AT_ONCE:
		memcpy(h->answer, msg, len);
		check(doh_session_answer(h->s, sid, h->answer, len, 60) == 0);
		/* Once only. */
		check(doh_session_answer(h->s, sid, h->answer, len, 60) < 0);
		return;
	case REJECT:
		check(doh_session_reject(h->s, sid, DOH_ERR_FORBIDDEN) == 0);
		return;
	case RESET:
		check(doh_session_reset(h->s, sid) == 0);
		return;
	case ANSWER_LATER:
		h->waiting[h->nwaiting++] = sid;
		return;
	}
}

static void
on_cancel(void *arg, int32_t sid)
{
	struct harness *h = arg;

	for (unsigned i = 0; i < h->nwaiting; i++) {
		if (h->waiting[i] == sid) {
			h->waiting[i] = h->waiting[--h->nwaiting];
			return;
		}
	}
	abort(); /* a stream the caller never had, or cancelled twice */
}

/* Send what the session has, as a connection would; false when done. */
static bool
drain(struct harness *h)
{
	ssize_t n;

	while ((n = doh_session_send(h->s, out, sizeof(out))) > 0)
		check((size_t)n <= sizeof(out));
	if (n < 0)
		return false;
	return doh_session_want_read(h->s) || doh_session_want_write(h->s);
}

/* Answer the waiting streams, the first ones large, the others small. */
static void
answer_waiting(struct harness *h)
{
	memset(h->answer, 0, sizeof(h->answer));
	while (h->nwaiting > 0) {
		int32_t sid = h->waiting[--h->nwaiting];
		size_t len = h->nwaiting < 2 ? 20000 : DNS_HEADER_LEN;

		check(doh_session_answer(h->s, sid, h->answer, len, 1) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t preface[] = {
	    'P', 'R', 'I', ' ', '*', ' ', 'H', 'T', 'T', 'P', '/', '2', '.',
	    '0', '\r', '\n', '\r', '\n', 'S', 'M', '\r', '\n', '\r', '\n',
	    /* SETTINGS, empty: length 0, type 4, flags 0, stream 0 */
	    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00};
	static struct harness h;
	struct doh_params p = {.path = "/dns-query", .max_streams = 100};
	struct doh_callbacks cb = {
	    .arg = &h, .on_query = on_query, .on_cancel = on_cancel};
	size_t piece, half;
	bool goaway, alive = true;

	if (size < 1)
		return 0;
	h.mode = (enum mode)(data[0] & 3);
	goaway = (data[0] & 4) != 0;
	/* 0: all at once; else 1, 2, 4 ... 16 bytes at a time */
	piece = (data[0] >> 3) & 7;
	piece = piece == 0 ? size : (size_t)1 << (piece - 1);
	data++;
	size--;
	half = size / 2;
	h.nwaiting = 0;
	h.s = doh_session_new(&p, &cb);
	check(h.s != NULL);
	check(doh_session_recv(h.s, preface, sizeof(preface)) == 0);
	for (size_t off = 0; off < size && alive;) {
		size_t n = size - off < piece ? size - off : piece;

		if (goaway && off >= half) {
			doh_session_goaway(h.s);
			goaway = false;
		}
		if (doh_session_recv(h.s, data + off, n) < 0)
			break; /* the connection is closed at once */
		off += n;
		alive = drain(&h);
	}
	if (alive) {
		answer_waiting(&h);
		(void)drain(&h);
	}
	check(doh_session_open_streams(h.s) <= 100 + 16);
	doh_session_free(h.s); /* on_cancel for what is still waiting */
	check(h.nwaiting == 0);
	return 0;
}
