/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/doh.h — the server side of DNS over HTTPS (RFC 8484) on HTTP/2
 * (RFC 9113, libnghttp2), with no transport of its own: the connection
 * code feeds it the bytes it decrypted and writes out the bytes it is
 * given. One session per connection, used by one thread.
 *
 * The life of a request: HEADERS (and DATA, for a POST) arrive through
 * doh_session_recv(); once the stream's END_STREAM is in, the request is
 * checked (path, method, media type, size, base64url) and either answered
 * at once with an HTTP error or handed to on_query(). The caller answers
 * it with doh_session_answer() (a 200 carrying the DNS response, whatever
 * its RCODE: RFC 8484 4.2.1), doh_session_reject() (an HTTP error) or
 * doh_session_reset() (RST_STREAM), now or later; if the client goes away
 * first, on_cancel() says so and any later answer for that stream is
 * ignored.
 *
 * What a request must be (RFC 8484 4.1, 6):
 *   - its path, the query string ignored, equal to doh_params.path,
 *     else 404;
 *   - GET with a "dns" parameter (among others or alone) holding the
 *     message in base64url, without padding as RFC 8484 6 says (padding,
 *     also as %3D, is tolerated); missing or not base64url: 400;
 *   - or POST with content-type application/dns-message (parameters
 *     after ';' allowed), else 415; a body of 1..65535 bytes, else 400
 *     (empty) or 413;
 *   - any other method: 405 with "allow: GET, POST";
 *   - a message of at least a DNS header (12 bytes), else 400;
 *   - header fields of at most DOH_MAX_HEADER_LIST bytes (counted as
 *     RFC 9113 6.5.2 does), else 431.
 * The accept header is not looked at. Malformed HTTP/2 or HTTP (pseudo
 * headers, content-length not matching the body...) is dealt with by
 * nghttp2: a stream error resets the stream, a connection error sends
 * GOAWAY. Error responses carry a one-line text/plain body.
 *
 * A 200 carries content-type application/dns-message, content-length and
 * cache-control: max-age=N with the caller's N (dns_response_max_age(),
 * dns/ttl.h, or 0).
 *
 * Output: nothing is written from inside doh_session_recv() or the
 * submit functions; the bytes to send (the server preface, answers,
 * SETTINGS and PING acknowledgements, WINDOW_UPDATEs, GOAWAY) pile up in
 * the session until doh_session_send() copies them into the caller's
 * buffer, so that a loop iteration's worth of answers goes out in one TLS
 * write. An answer's body is copied once: into the session by
 * doh_session_answer(), then from there into the caller's buffer as
 * DATA frames (nghttp2's NO_COPY path).
 *
 * Memory: a stream's state comes from the session's free list (allocated
 * the first time, up to max_streams at once), with room for a message of
 * DOH_INLINE_MSG bytes inside it; longer ones use a heap buffer. nghttp2
 * does its own allocations for HPACK and its stream table.
 */
#ifndef PROXY_DOH_H
#define PROXY_DOH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Default SETTINGS_MAX_CONCURRENT_STREAMS. */
#define DOH_MAX_STREAMS 100
/* SETTINGS_MAX_HEADER_LIST_SIZE we announce and enforce (431 past it):
 * room for a GET of a 12 KiB message. */
#define DOH_MAX_HEADER_LIST 16384
/* The longest path doh_params.path may be. */
#define DOH_PATH_MAX 255
/* Messages up to this size stay inside the stream's own state. */
#define DOH_INLINE_MSG 512
/*
 * doh_session_send() always makes progress with this much room: the
 * largest DATA frame it writes (a 9-byte header and 16 KiB, the default
 * SETTINGS_MAX_FRAME_SIZE; it never writes larger ones) must fit whole.
 */
#define DOH_SEND_MIN (9 + 16384)

/* The HTTP errors the session sends; doh_error_status() gives the code. */
enum doh_error {
	DOH_ERR_BAD_REQUEST = 0,   /* 400 */
	DOH_ERR_FORBIDDEN,         /* 403 */
	DOH_ERR_NOT_FOUND,         /* 404 */
	DOH_ERR_METHOD,            /* 405 */
	DOH_ERR_TOO_LARGE,         /* 413 */
	DOH_ERR_MEDIA_TYPE,        /* 415 */
	DOH_ERR_HEADERS_TOO_LARGE, /* 431 */
	DOH_ERR_INTERNAL,          /* 500 */
	DOH_ERR_UNAVAILABLE,       /* 503 */
	DOH_ERR_COUNT
};

/* The HTTP status of e (400...), 0 for DOH_ERR_COUNT or beyond. */
unsigned doh_error_status(enum doh_error e);

/* What sessions count; plain integers (a session is used by one thread). */
struct doh_stats {
	uint64_t get;       /* GET requests handed to on_query */
	uint64_t post;      /* POST requests handed to on_query */
	uint64_t answers;   /* 200s submitted by doh_session_answer */
	uint64_t cancelled; /* on_cancel calls */
	uint64_t resets;    /* doh_session_reset calls that reset a stream */
	/* Error responses by kind, whether the session decided them or the
	 * caller (doh_session_reject). */
	uint64_t errors[DOH_ERR_COUNT];
};

struct doh_params {
	const char *path;        /* "/dns-query"; copied, <= DOH_PATH_MAX */
	unsigned max_streams;    /* SETTINGS_MAX_CONCURRENT_STREAMS, 0: 100 */
	struct doh_stats *stats; /* where to count (a worker's counters,
	                            shared by its sessions); NULL: the
	                            session's own */
};

struct doh_callbacks {
	void *arg;
	/*
	 * A complete DNS query (>= 12 bytes, <= 65535) arrived on stream
	 * sid; msg is valid during the call only. The callee may answer
	 * from inside the call, and must not free the session. Required.
	 */
	void (*on_query)(void *arg, int32_t sid, const uint8_t *msg,
	                 size_t len);
	/*
	 * Stream sid, handed to on_query, went away (client reset, stream
	 * error, connection end, doh_session_free) before it was answered,
	 * rejected or reset. Called from doh_session_recv, doh_session_send
	 * or doh_session_free; the callee must not free the session.
	 * NULL: not told.
	 */
	void (*on_cancel)(void *arg, int32_t sid);
};

struct doh_session;

/*
 * A server session; its SETTINGS (max_streams, header list size, no
 * RFC 7540 priorities) are queued as the server preface, sent by the
 * first doh_session_send(). NULL when out of memory or p->path is NULL,
 * empty or too long. The caller has negotiated ALPN "h2"; the client's
 * connection preface is expected as the first bytes received.
 */
struct doh_session *doh_session_new(const struct doh_params *p,
                                    const struct doh_callbacks *cb);

/*
 * Process len bytes from the client (any split: frames may span calls);
 * callbacks run from here. Returns 0, or -1 on an error after which the
 * connection must be closed at once without sending anything more (a bad
 * connection preface, out of memory). Protocol errors the peer should
 * hear of are queued as GOAWAY and show as 0 here, then as
 * !want_read && !want_write once sent.
 */
int doh_session_recv(struct doh_session *s, const uint8_t *in, size_t len);

/*
 * Copy pending output into buf (cap bytes); returns the bytes written, 0
 * when there is nothing to send or the next frame does not fit (flush
 * and call again; cap >= DOH_SEND_MIN always fits it), or -1 on a fatal
 * error (close the connection).
 */
ssize_t doh_session_send(struct doh_session *s, uint8_t *buf, size_t cap);

/*
 * Answer stream sid with msg (copied; 1..65535 bytes) as a 200 with
 * cache-control: max-age=max_age. Returns 0; -1 when sid is not a stream
 * waiting for an answer (already answered, cancelled, unknown): nothing
 * happens then. A len outside 1..65535 gets the stream a 500, and -1;
 * out of memory resets the stream, and -1.
 */
int doh_session_answer(struct doh_session *s, int32_t sid, const uint8_t *msg,
                       size_t len, uint32_t max_age);

/* Answer stream sid with HTTP error e instead; 0 / -1 as above. */
int doh_session_reject(struct doh_session *s, int32_t sid, enum doh_error e);

/*
 * Reset stream sid (RST_STREAM REFUSED_STREAM: not processed, RFC 9113
 * 8.7), for a query dropped without an answer; 0 / -1 as above.
 */
int doh_session_reset(struct doh_session *s, int32_t sid);

/*
 * nghttp2's view: whether the session wants more input, and has output
 * pending. Both false: the connection is done (GOAWAY exchanged and every
 * stream closed, or a connection error sent); close it.
 */
bool doh_session_want_read(const struct doh_session *s);
bool doh_session_want_write(const struct doh_session *s);

/* Streams open: requests being received, waiting for an answer, or
 * whose answer is not yet all sent. 0 means the connection is idle. */
unsigned doh_session_open_streams(const struct doh_session *s);

/*
 * Graceful shutdown (the server stops, or the connection was idle too
 * long): GOAWAY(NO_ERROR) with the last stream the session has seen, so
 * streams already open are still answered and new ones are refused
 * (RFC 9113 6.8). The caller then sends, and closes when both want_*
 * are false. Calling it again does nothing more.
 */
void doh_session_goaway(struct doh_session *s);

/* The counters this session adds to (doh_params.stats, or its own). */
const struct doh_stats *doh_session_stats(const struct doh_session *s);

/* Free s; on_cancel for every stream still waiting for an answer. */
void doh_session_free(struct doh_session *s);

#endif
