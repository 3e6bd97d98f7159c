/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/doh.c — DNS over HTTPS (RFC 8484) requests and answers on an
 * nghttp2 server session; the contract is in proxy/doh.h.
 */
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/msg.h"
#include "proxy/doh.h"

/* A heap buffer a stream state keeps for its next request when no
 * larger: answers over DOH_INLINE_MSG (DNSSEC, many records) are common
 * enough not to allocate each time, 64 KiB ones are not worth holding. */
#define HEAP_KEEP 4096
/* The largest DATA frame payload we send: the default (and smallest)
 * SETTINGS_MAX_FRAME_SIZE, so that DOH_SEND_MIN holds whatever the client
 * allows (nghttp2 asks for no more today, unless told otherwise). */
#define DATA_FRAME_MAX (DOH_SEND_MIN - 9)
/* Stream states beyond max_streams a session tolerates while nghttp2
 * refuses the extra streams itself (before our SETTINGS are acked). */
#define STREAMS_SLACK 16

static const char MEDIA_TYPE[] = "application/dns-message";

enum stream_state {
	ST_RECV = 0, /* the request is being received */
	ST_WAIT,     /* handed to on_query: the caller owes an answer */
	ST_DONE,     /* answered, rejected or reset */
};

enum method {
	M_NONE = 0,
	M_GET,
	M_POST,
	M_HEAD, /* refused too, but its response has no body */
	M_OTHER,
};

/* One request stream, from its HEADERS to its close. */
struct doh_stream {
	struct doh_stream *prev, *next; /* open streams, or the free list */
	int32_t sid;
	enum stream_state state;
	enum method method;
	bool path_ok;    /* :path names our resource */
	bool dns_ok;     /* GET: a dns parameter that decoded */
	bool ctype_ok;   /* POST: content-type application/dns-message */
	bool too_large;  /* POST: body (or content-length) over 65535 */
	bool hdr_over;   /* header list over DOH_MAX_HEADER_LIST */
	size_t hdr_size; /* header list so far, as RFC 9113 6.5.2 counts */
	/* The query, then the answer: inline[] or heap. */
	uint8_t *msg;
	size_t len, cap;
	uint8_t *heap;
	size_t heap_cap;
	/* The response body being sent: msg or a static text. */
	const uint8_t *out;
	size_t out_len, out_pos;
	char clen[12];   /* content-length value */
	char maxage[24]; /* cache-control value */
	uint8_t inline_msg[DOH_INLINE_MSG];
};

struct doh_session {
	nghttp2_session *h2;
	struct doh_callbacks cb;
	struct doh_stats *stats;
	struct doh_stats own_stats;
	unsigned max_streams;
	unsigned nopen;
	bool goaway;
	struct doh_stream *open; /* doubly linked */
	struct doh_stream *free; /* singly linked through next */
	/* The caller's buffer during doh_session_send. */
	uint8_t *out;
	size_t out_len, out_cap;
	size_t path_len;
	char path[DOH_PATH_MAX + 1];
};

/* ---- the statuses ---- */

static const struct {
	unsigned code;
	const char *status; /* :status */
	const char *text;   /* the text/plain body */
} http_errors[DOH_ERR_COUNT] = {
    [DOH_ERR_BAD_REQUEST] = {400, "400", "no valid DNS query\n"},
    [DOH_ERR_FORBIDDEN] = {403, "403", "forbidden\n"},
    [DOH_ERR_NOT_FOUND] = {404, "404", "not found\n"},
    [DOH_ERR_METHOD] = {405, "405", "method not allowed: GET or POST\n"},
    [DOH_ERR_TOO_LARGE] = {413, "413", "DNS query too large\n"},
    [DOH_ERR_MEDIA_TYPE] = {415, "415",
                            "content-type must be application/dns-message\n"},
    [DOH_ERR_HEADERS_TOO_LARGE] = {431, "431",
                                   "request header fields too large\n"},
    [DOH_ERR_INTERNAL] = {500, "500", "internal error\n"},
    [DOH_ERR_UNAVAILABLE] = {503, "503", "service unavailable\n"},
};

unsigned
doh_error_status(enum doh_error e)
{
	return (unsigned)e < DOH_ERR_COUNT ? http_errors[e].code : 0;
}

/* ---- small text helpers ---- */

/* Decimal v into out (room for 10 digits and a NUL); the length. */
static size_t
u32_text(uint32_t v, char *out)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* A header field whose name and value outlive the frame carrying it. */
#define NV(name, value, vlen)                                            \
	{                                                                \
		(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, \
		    (vlen),                                              \
		    NGHTTP2_NV_FLAG_NO_COPY_NAME |                       \
		        NGHTTP2_NV_FLAG_NO_COPY_VALUE                    \
	}
#define NV_LIT(name, value) NV(name, value, sizeof(value) - 1)

static bool
text_is(const uint8_t *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n == l && memcmp(s, lit, l) == 0;
}

/* RFC 4648 5: the value of a base64url character, or -1. */
static int
b64url_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Length of in[0..n) without trailing padding ('=' or "%3D"), at most
 * two of them. */
static size_t
b64url_unpadded(const uint8_t *in, size_t n)
{
	for (int pads = 0; pads < 2; pads++) {
		if (n >= 1 && in[n - 1] == '=')
			n -= 1;
		else if (n >= 3 && in[n - 3] == '%' && in[n - 2] == '3' &&
		         (in[n - 1] == 'D' || in[n - 1] == 'd'))
			n -= 3;
		else
			break;
	}
	return n;
}

/* Bytes that n unpadded base64url characters decode to; -1 when no
 * valid encoding has that length. */
static long
b64url_decoded_len(size_t n)
{
	return n % 4 == 1 ? -1 : (long)(n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0));
}

/* Decode in[0..n) (unpadded) into out, b64url_decoded_len(n) bytes;
 * 0 / -1 on a character outside the alphabet. */
static int
b64url_decode(const uint8_t *in, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return 0;
}

/* ---- stream state ---- */

/* Room for n bytes in st->msg, keeping st->len of them; 0 / -1. */
static int
stream_reserve(struct doh_stream *st, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (n <= st->cap)
		return 0;
	if (st->heap != NULL && n <= st->heap_cap) {
		if (st->msg != st->heap)
			memcpy(st->heap, st->msg, st->len);
		st->msg = st->heap;
		st->cap = st->heap_cap;
		return 0;
	}
	cap = n < 2 * st->cap ? 2 * st->cap : n;
	if (cap > DNS_MAX_MSG)
		cap = n;
	p = malloc(cap);
	if (p == NULL)
		return -1;
	memcpy(p, st->msg, st->len);
	free(st->heap);
	st->heap = p;
	st->heap_cap = cap;
	st->msg = p;
	st->cap = cap;
	return 0;
}

static struct doh_stream *
stream_get(struct doh_session *s, int32_t sid)
{
	struct doh_stream *st = s->free;

	if (s->nopen >= s->max_streams + STREAMS_SLACK)
		return NULL;
	if (st != NULL) {
		s->free = st->next;
	} else {
		st = malloc(sizeof(*st));
		if (st == NULL)
			return NULL;
		st->heap = NULL;
		st->heap_cap = 0;
	}
	st->sid = sid;
	st->state = ST_RECV;
	st->method = M_NONE;
	st->path_ok = st->dns_ok = st->ctype_ok = false;
	st->too_large = st->hdr_over = false;
	st->hdr_size = 0;
	st->msg = st->inline_msg;
	st->len = 0;
	st->cap = sizeof(st->inline_msg);
	st->out = NULL;
	st->out_len = st->out_pos = 0;
	st->prev = NULL;
	st->next = s->open;
	if (s->open != NULL)
		s->open->prev = st;
	s->open = st;
	s->nopen++;
	return st;
}

static void
stream_release(struct doh_session *s, struct doh_stream *st)
{
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		s->open = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	s->nopen--;
	if (st->heap_cap > HEAP_KEEP) {
		free(st->heap);
		st->heap = NULL;
		st->heap_cap = 0;
	}
	st->next = s->free;
	s->free = st;
}

/* The stream sid if it waits for the caller's answer, else NULL. */
static struct doh_stream *
stream_waiting(struct doh_session *s, int32_t sid)
{
	struct doh_stream *st;

	if (sid <= 0)
		return NULL;
	st = nghttp2_session_get_stream_user_data(s->h2, sid);
	return st != NULL && st->state == ST_WAIT ? st : NULL;
}

/* ---- responses ---- */

/* DATA for a response: on_send_data() sends the body from st->out. */
static ssize_t
body_read(nghttp2_session *h2, int32_t sid, uint8_t *buf, size_t length,
          uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct doh_stream *st = src->ptr;
	size_t left = st->out_len - st->out_pos;
	size_t n = left;

	if (n > length)
		n = length;
	if (n > DATA_FRAME_MAX)
		n = DATA_FRAME_MAX;
	*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	if (n == left)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* Submit a response with body out[0..len); the stream is then done. */
static int
stream_respond(struct doh_session *s, struct doh_stream *st,
               const nghttp2_nv *nv, size_t nvlen, const uint8_t *out,
               size_t len)
{
	nghttp2_data_provider prd = {
	    .source.ptr = st,
	    .read_callback = body_read,
	};

	st->state = ST_DONE;
	st->out = out;
	st->out_len = len;
	st->out_pos = 0;
	/* RFC 9110 9.3.2: the response to HEAD has the header fields a GET
	 * would get, and no content. */
	if (nghttp2_submit_response(s->h2, st->sid, nv, nvlen,
	                            st->method == M_HEAD ? NULL : &prd) != 0) {
		(void)nghttp2_submit_rst_stream(
		    s->h2, NGHTTP2_FLAG_NONE, st->sid, NGHTTP2_INTERNAL_ERROR);
		return -1;
	}
	return 0;
}

static int
stream_error(struct doh_session *s, struct doh_stream *st, enum doh_error e)
{
	const char *text = http_errors[e].text;
	size_t tlen = strlen(text);
	nghttp2_nv nv[4] = {
	    NV(":status", http_errors[e].status, 3),
	    NV_LIT("content-type", "text/plain"),
	    NV("content-length", st->clen, u32_text((uint32_t)tlen, st->clen)),
	    NV_LIT("allow", "GET, POST"),
	};

	s->stats->errors[e]++;
	return stream_respond(s, st, nv, e == DOH_ERR_METHOD ? 4 : 3,
	                      (const uint8_t *)text, tlen);
}

/* ---- requests ---- */

/*
 * The GET message from the query string q[0..n) (after '?'): the first
 * "dns" parameter, decoded into st->msg. Sets st->dns_ok.
 */
static void
query_string_read(struct doh_stream *st, const uint8_t *q, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t end = i;
		long dlen;

		while (end < n && q[end] != '&')
			end++;
		if (end - i >= 4 && memcmp(q + i, "dns=", 4) == 0) {
			size_t vlen = b64url_unpadded(q + i + 4, end - i - 4);

			dlen = b64url_decoded_len(vlen);
			if (dlen < 0 || dlen > DNS_MAX_MSG ||
			    stream_reserve(st, (size_t)dlen) < 0 ||
			    b64url_decode(q + i + 4, vlen, st->msg) < 0)
				return;
			st->len = (size_t)dlen;
			st->dns_ok = true;
			return;
		}
		i = end + 1;
	}
}

/* :path — our path exactly, then maybe a query string (RFC 3986 3.4). */
static void
path_read(struct doh_session *s, struct doh_stream *st, const uint8_t *v,
          size_t n)
{
	size_t plen = 0;

	while (plen < n && v[plen] != '?' && v[plen] != '#')
		plen++;
	st->path_ok =
	    plen == s->path_len && memcmp(v, s->path, s->path_len) == 0;
	if (st->path_ok && plen < n && v[plen] == '?') {
		size_t qend = plen + 1;

		while (qend < n && v[qend] != '#')
			qend++;
		query_string_read(st, v + plen + 1, qend - plen - 1);
	}
}

/* content-type: the media type, any case, parameters after ';' allowed
 * (RFC 9110 8.3.1). */
static bool
media_type_ok(const uint8_t *v, size_t n)
{
	size_t l = sizeof(MEDIA_TYPE) - 1;

	if (n < l || strncasecmp((const char *)v, MEDIA_TYPE, l) != 0)
		return false;
	while (l < n && (v[l] == ' ' || v[l] == '\t'))
		l++;
	return l == n || v[l] == ';';
}

/*
 * content-length (nghttp2 checks it against the body): one over 65535 is
 * refused without reading the body into memory. It is not used to size
 * the buffer: a few header bytes must not make us allocate 64 KiB.
 */
static void
content_length_read(struct doh_stream *st, const uint8_t *v, size_t n)
{
	uint32_t cl = 0;

	if (n > 6) {
		st->too_large = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return;
		cl = cl * 10 + (uint32_t)(v[i] - '0');
	}
	if (cl > DNS_MAX_MSG)
		st->too_large = true;
}

static enum method
method_read(const uint8_t *v, size_t n)
{
	if (text_is(v, n, "GET"))
		return M_GET;
	if (text_is(v, n, "POST"))
		return M_POST;
	if (text_is(v, n, "HEAD"))
		return M_HEAD;
	return M_OTHER;
}

/* Whether the complete request of st is a query; e when not. */
static bool
request_check(const struct doh_stream *st, enum doh_error *e)
{
	if (st->hdr_over)
		*e = DOH_ERR_HEADERS_TOO_LARGE;
	else if (!st->path_ok)
		*e = DOH_ERR_NOT_FOUND;
	else if (st->method == M_GET && !st->dns_ok)
		*e = DOH_ERR_BAD_REQUEST;
	else if (st->method == M_POST && !st->ctype_ok)
		*e = DOH_ERR_MEDIA_TYPE;
	else if (st->method == M_POST && st->too_large)
		*e = DOH_ERR_TOO_LARGE;
	else if (st->method != M_GET && st->method != M_POST)
		*e = DOH_ERR_METHOD;
	else if (st->len < DNS_HEADER_LEN)
		*e = DOH_ERR_BAD_REQUEST;
	else
		return true;
	return false;
}

/* END_STREAM: answer with an HTTP error, or hand the query over. */
static void
request_done(struct doh_session *s, struct doh_stream *st)
{
	enum doh_error e;

	if (!request_check(st, &e)) {
		(void)stream_error(s, st, e);
		return;
	}
	st->state = ST_WAIT;
	if (st->method == M_GET)
		s->stats->get++;
	else
		s->stats->post++;
	s->cb.on_query(s->cb.arg, st->sid, st->msg, st->len);
}

/* ---- nghttp2 callbacks ---- */

static int
on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	struct doh_session *s = user;
	struct doh_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = stream_get(s, frame->hd.stream_id);
	if (st == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* reset it */
	if (nghttp2_session_set_stream_user_data(h2, st->sid, st) != 0) {
		stream_release(s, st);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int
on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
          void *user)
{
	struct doh_session *s = user;
	struct doh_stream *st;

	st = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
	if (st == NULL || st->state != ST_RECV)
		return 0;
	/* Trailers count too: they are header fields as well. */
	st->hdr_size += namelen + valuelen + 32;
	if (st->hdr_size > DOH_MAX_HEADER_LIST)
		st->hdr_over = true;
	if (st->hdr_over || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (text_is(name, namelen, ":method"))
		st->method = method_read(value, valuelen);
	else if (text_is(name, namelen, ":path"))
		path_read(s, st, value, valuelen);
	else if (text_is(name, namelen, "content-type"))
		st->ctype_ok = media_type_ok(value, valuelen);
	else if (text_is(name, namelen, "content-length"))
		content_length_read(st, value, valuelen);
	return 0;
}

static int
on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t sid,
              const uint8_t *data, size_t len, void *user)
{
	struct doh_stream *st = nghttp2_session_get_stream_user_data(h2, sid);

	/* Only a POST's body is the query; others are read and dropped. */
	if (st == NULL || st->state != ST_RECV || st->method != M_POST ||
	    st->too_large)
		return 0;
	if (len > DNS_MAX_MSG - st->len) {
		st->too_large = true;
		return 0;
	}
	if (stream_reserve(st, st->len + len) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* reset it */
	memcpy(st->msg + st->len, data, len);
	st->len += len;
	return 0;
}

static int
on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	struct doh_session *s = user;
	struct doh_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	st = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
	if (st == NULL || st->state != ST_RECV)
		return 0;
	/* A GET's message came from :path; a POST's comes in the body,
	 * whatever the path said. */
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat == NGHTTP2_HCAT_REQUEST && st->method != M_GET)
		st->len = 0;
	if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
		request_done(s, st);
	return 0;
}

static int
on_stream_close(nghttp2_session *h2, int32_t sid, uint32_t error_code,
                void *user)
{
	struct doh_session *s = user;
	struct doh_stream *st = nghttp2_session_get_stream_user_data(h2, sid);

	if (st == NULL)
		return 0;
	(void)nghttp2_session_set_stream_user_data(h2, sid, NULL);
	if (st->state == ST_WAIT) {
		st->state = ST_DONE;
		s->stats->cancelled++;
		if (s->cb.on_cancel != NULL)
			s->cb.on_cancel(s->cb.arg, sid);
	}
	stream_release(s, st);
	return 0;
}

/* Frames other than DATA bodies, copied as far as they fit. */
static ssize_t
on_send(nghttp2_session *h2, const uint8_t *data, size_t len, int flags,
        void *user)
{
	struct doh_session *s = user;
	size_t room = s->out_cap - s->out_len;

	if (room == 0)
		return NGHTTP2_ERR_WOULDBLOCK;
	if (len > room)
		len = room;
	memcpy(s->out + s->out_len, data, len);
	s->out_len += len;
	return (ssize_t)len;
}

/* A whole DATA frame straight from the stream's body (NO_COPY). */
static int
on_send_data(nghttp2_session *h2, nghttp2_frame *frame, const uint8_t *framehd,
             size_t length, nghttp2_data_source *src, void *user)
{
	struct doh_session *s = user;
	struct doh_stream *st = src->ptr;
	size_t pad = frame->data.padlen;
	uint8_t *p;

	if (s->out_cap - s->out_len < 9 + length + pad)
		return NGHTTP2_ERR_WOULDBLOCK; /* the same frame comes again */
	p = s->out + s->out_len;
	memcpy(p, framehd, 9);
	p += 9;
	/* RFC 9113 6.1: Pad Length, data, padding (we set none). */
	if (pad > 0)
		*p++ = (uint8_t)(pad - 1);
	memcpy(p, st->out + st->out_pos, length);
	p += length;
	if (pad > 1)
		memset(p, 0, pad - 1);
	st->out_pos += length;
	s->out_len += 9 + length + pad;
	return 0;
}

/* ---- the session ---- */

static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

/* The callbacks and options every session copies, made once. */
static void
setup(void)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cbs);
		return;
	}
	nghttp2_session_callbacks_set_send_callback(cbs, on_send);
	nghttp2_session_callbacks_set_send_data_callback(cbs, on_send_data);
	nghttp2_session_callbacks_set_on_begin_headers_callback(
	    cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
	    cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
	                                                     on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
	                                                       on_stream_close);
	/* Closed streams are kept only for RFC 7540 priorities, which we
	 * turn off (SETTINGS_NO_RFC7540_PRIORITIES). */
	nghttp2_option_set_no_closed_streams(opt, 1);
	callbacks = cbs;
	options = opt;
}

struct doh_session *
doh_session_new(const struct doh_params *p, const struct doh_callbacks *cb)
{
	struct doh_session *s;
	size_t plen;

	if (p->path == NULL || p->path[0] == '\0' ||
	    (plen = strlen(p->path)) > DOH_PATH_MAX)
		return NULL;
	(void)pthread_once(&setup_once, setup);
	if (callbacks == NULL)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cb = *cb;
	s->stats = p->stats != NULL ? p->stats : &s->own_stats;
	s->max_streams = p->max_streams > 0 ? p->max_streams : DOH_MAX_STREAMS;
	memcpy(s->path, p->path, plen + 1);
	s->path_len = plen;
	if (nghttp2_session_server_new2(&s->h2, callbacks, s, options) != 0) {
		free(s);
		return NULL;
	}
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->max_streams},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, DOH_MAX_HEADER_LIST},
	    {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
	};
	if (nghttp2_submit_settings(s->h2, NGHTTP2_FLAG_NONE, iv,
	                            sizeof(iv) / sizeof(iv[0])) != 0) {
		nghttp2_session_del(s->h2);
		free(s);
		return NULL;
	}
	return s;
}

int
doh_session_recv(struct doh_session *s, const uint8_t *in, size_t len)
{
	ssize_t rv = nghttp2_session_mem_recv(s->h2, in, len);

	return rv < 0 ? -1 : 0;
}

ssize_t
doh_session_send(struct doh_session *s, uint8_t *buf, size_t cap)
{
	int rv;

	s->out = buf;
	s->out_cap = cap;
	s->out_len = 0;
	rv = nghttp2_session_send(s->h2);
	s->out = NULL;
	s->out_cap = 0;
	return rv < 0 ? -1 : (ssize_t)s->out_len;
}

int
doh_session_answer(struct doh_session *s, int32_t sid, const uint8_t *msg,
                   size_t len, uint32_t max_age)
{
	struct doh_stream *st = stream_waiting(s, sid);
	size_t alen;

	if (st == NULL)
		return -1;
	if (len == 0 || len > DNS_MAX_MSG) {
		(void)stream_error(s, st, DOH_ERR_INTERNAL);
		return -1;
	}
	st->len = 0;
	if (stream_reserve(st, len) < 0) {
		st->state = ST_DONE;
		(void)nghttp2_submit_rst_stream(s->h2, NGHTTP2_FLAG_NONE, sid,
		                                NGHTTP2_INTERNAL_ERROR);
		return -1;
	}
	memcpy(st->msg, msg, len);
	st->len = len;
	memcpy(st->maxage, "max-age=", 8);
	alen = 8 + u32_text(max_age, st->maxage + 8);
	nghttp2_nv nv[4] = {
	    NV_LIT(":status", "200"),
	    NV("content-type", MEDIA_TYPE, sizeof(MEDIA_TYPE) - 1),
	    NV("content-length", st->clen, u32_text((uint32_t)len, st->clen)),
	    NV("cache-control", st->maxage, alen),
	};
	if (stream_respond(s, st, nv, 4, st->msg, len) < 0)
		return -1;
	s->stats->answers++;
	return 0;
}

int
doh_session_reject(struct doh_session *s, int32_t sid, enum doh_error e)
{
	struct doh_stream *st = stream_waiting(s, sid);

	if (st == NULL || (unsigned)e >= DOH_ERR_COUNT)
		return -1;
	return stream_error(s, st, e);
}

int
doh_session_reset(struct doh_session *s, int32_t sid)
{
	struct doh_stream *st = stream_waiting(s, sid);

	if (st == NULL)
		return -1;
	st->state = ST_DONE;
	if (nghttp2_submit_rst_stream(s->h2, NGHTTP2_FLAG_NONE, sid,
	                              NGHTTP2_REFUSED_STREAM) != 0)
		return -1;
	s->stats->resets++;
	return 0;
}

bool
doh_session_want_read(const struct doh_session *s)
{
	return nghttp2_session_want_read(s->h2) != 0;
}

bool
doh_session_want_write(const struct doh_session *s)
{
	return nghttp2_session_want_write(s->h2) != 0;
}

unsigned
doh_session_open_streams(const struct doh_session *s)
{
	return s->nopen;
}

void
doh_session_goaway(struct doh_session *s)
{
	if (s->goaway)
		return;
	s->goaway = true;
	(void)nghttp2_submit_goaway(
	    s->h2, NGHTTP2_FLAG_NONE,
	    nghttp2_session_get_last_proc_stream_id(s->h2), NGHTTP2_NO_ERROR,
	    NULL, 0);
}

const struct doh_stats *
doh_session_stats(const struct doh_session *s)
{
	return s->stats;
}

static void
streams_free(struct doh_stream *st)
{
	while (st != NULL) {
		struct doh_stream *next = st->next;

		free(st->heap);
		free(st);
		st = next;
	}
}

void
doh_session_free(struct doh_session *s)
{
	if (s == NULL)
		return;
	/* nghttp2_session_del() closes streams without callbacks. */
	for (struct doh_stream *st = s->open; st != NULL; st = st->next) {
		if (st->state != ST_WAIT)
			continue;
		st->state = ST_DONE;
		s->stats->cancelled++;
		if (s->cb.on_cancel != NULL)
			s->cb.on_cancel(s->cb.arg, st->sid);
	}
	nghttp2_session_del(s->h2);
	streams_free(s->open);
	streams_free(s->free);
	free(s);
}
