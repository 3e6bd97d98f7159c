/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_doh.c — the DoH server session (proxy/doh.h)
 * against a real nghttp2 client session, bytes pumped both ways in
 * memory: GET and POST, every HTTP error, many streams answered out of
 * order, resets, GOAWAY, small output buffers, hostile bytes.
 */
#include <nghttp2/nghttp2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/doh.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PATH         "/dns-query"
#define MAX_STREAMS  512 /* client streams a test may open */

/* clang-format off */
/* A query for example.com A, ID 0 as RFC 8484 4.1 recommends: 29 bytes. */
static const uint8_t query[] = {
	0x00, 0x00, /* ID 0 */
	0x01, 0x00, /* RD */
	0x00, 0x01, /* QDCOUNT 1 */
	0x00, 0x00, /* ANCOUNT */
	0x00, 0x00, /* NSCOUNT */
	0x00, 0x00, /* ARCOUNT */
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x01, /* QTYPE A */
	0x00, 0x01, /* QCLASS IN */
};
/* clang-format on */

/* What the client saw of one stream. */
struct resp {
	bool used;
	bool closed;
	uint32_t error_code; /* RST_STREAM code, 0 when closed normally */
	char status[4];
	char ctype[64];
	char clen[16];
	char cache[32];
	char allow[32];
	uint8_t *body;
	size_t body_len;
};

/* A request body the client sends. */
struct body {
	const uint8_t *data;
	size_t len, pos;
	size_t stop; /* 0, or hold the rest back from this offset on */
};

/* A query the server handed over. */
struct got {
	int32_t sid;
	uint8_t *msg;
	size_t len;
};

struct pair {
	nghttp2_session *cli;
	struct doh_session *srv;
	struct doh_stats stats;
	/* server side */
	struct got got[MAX_STREAMS];
	unsigned ngot;
	int32_t cancelled[MAX_STREAMS];
	unsigned ncancel;
	bool answer_at_once; /* answer from inside on_query */
	size_t send_cap;     /* the server's output buffer per call */
	/* client side */
	struct resp resp[2 * MAX_STREAMS + 2];
	struct body bodies[MAX_STREAMS];
	unsigned nbodies;
	bool goaway;
};

/* ---- server callbacks ---- */

/* The answer to a query: the query with QR set, so each is distinct. */
static void
make_answer(const uint8_t *q, size_t len, uint8_t *out)
{
	memcpy(out, q, len);
	out[2] |= 0x80;
}

static void
srv_on_query(void *arg, int32_t sid, const uint8_t *msg, size_t len)
{
	struct pair *p = arg;
	struct got *g;

	assert_true(p->ngot < MAX_STREAMS);
	g = &p->got[p->ngot++];
	g->sid = sid;
	g->len = len;
	g->msg = malloc(len);
	assert_non_null(g->msg);
	memcpy(g->msg, msg, len);
	if (p->answer_at_once) {
		uint8_t *a = malloc(len);

		assert_non_null(a);
		make_answer(msg, len, a);
		assert_int_equal(doh_session_answer(p->srv, sid, a, len, 60),
		                 0);
		free(a);
	}
}

static void
srv_on_cancel(void *arg, int32_t sid)
{
	struct pair *p = arg;

	assert_true(p->ncancel < MAX_STREAMS);
	p->cancelled[p->ncancel++] = sid;
}

/* ---- client callbacks ---- */

static struct resp *
resp_of(struct pair *p, int32_t sid)
{
	assert_true(sid > 0 && (size_t)sid < ARRAY_LEN(p->resp));
	return &p->resp[sid];
}

static void
field_copy(char *dst, size_t cap, const uint8_t *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int
cli_on_header(nghttp2_session *s, const nghttp2_frame *frame,
              const uint8_t *name, size_t namelen, const uint8_t *value,
              size_t valuelen, uint8_t flags, void *user)
{
	struct resp *r = resp_of(user, frame->hd.stream_id);
	const char *n = (const char *)name;

	if (strcmp(n, ":status") == 0)
		field_copy(r->status, sizeof(r->status), value, valuelen);
	else if (strcmp(n, "content-type") == 0)
		field_copy(r->ctype, sizeof(r->ctype), value, valuelen);
	else if (strcmp(n, "content-length") == 0)
		field_copy(r->clen, sizeof(r->clen), value, valuelen);
	else if (strcmp(n, "cache-control") == 0)
		field_copy(r->cache, sizeof(r->cache), value, valuelen);
	else if (strcmp(n, "allow") == 0)
		field_copy(r->allow, sizeof(r->allow), value, valuelen);
	return 0;
}

static int
cli_on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
            size_t len, void *user)
{
	struct resp *r = resp_of(user, sid);

	r->body = realloc(r->body, r->body_len + len);
	assert_non_null(r->body);
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	return 0;
}

static int
cli_on_close(nghttp2_session *s, int32_t sid, uint32_t code, void *user)
{
	struct resp *r = resp_of(user, sid);

	r->closed = true;
	r->error_code = code;
	return 0;
}

static int
cli_on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
	struct pair *p = user;

	if (frame->hd.type == NGHTTP2_GOAWAY)
		p->goaway = true;
	return 0;
}

static ssize_t
cli_body_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t length,
              uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct body *b = src->ptr;
	size_t n = b->len - b->pos;

	if (b->stop > 0 && b->pos >= b->stop)
		return NGHTTP2_ERR_DEFERRED;
	if (b->stop > 0 && n > b->stop - b->pos)
		n = b->stop - b->pos;
	if (n > length)
		n = length;
	memcpy(buf, b->data + b->pos, n);
	b->pos += n;
	if (b->pos == b->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* ---- the pair ---- */

static struct pair *
pair_new(unsigned max_streams)
{
	struct doh_params dp = {
	    .path = PATH, .max_streams = max_streams, .stats = NULL};
	struct doh_callbacks cb = {.on_query = srv_on_query,
	                           .on_cancel = srv_on_cancel};
	nghttp2_session_callbacks *cbs;
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	dp.stats = &p->stats;
	cb.arg = p;
	p->send_cap = DOH_SEND_MIN;
	p->srv = doh_session_new(&dp, &cb);
	assert_non_null(p->srv);
	assert_int_equal(nghttp2_session_callbacks_new(&cbs), 0);
	nghttp2_session_callbacks_set_on_header_callback(cbs, cli_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
	                                                          cli_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
	                                                       cli_on_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cli_on_frame);
	assert_int_equal(nghttp2_session_client_new(&p->cli, cbs, p), 0);
	nghttp2_session_callbacks_del(cbs);
	assert_int_equal(
	    nghttp2_submit_settings(p->cli, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	return p;
}

static void
pair_free(struct pair *p)
{
	doh_session_free(p->srv);
	nghttp2_session_del(p->cli);
	for (unsigned i = 0; i < p->ngot; i++)
		free(p->got[i].msg);
	for (size_t i = 0; i < ARRAY_LEN(p->resp); i++)
		free(p->resp[i].body);
	free(p);
}

/* Move what the client has to say to the server; whether it had any. */
static bool
pump_client(struct pair *p)
{
	const uint8_t *data;
	ssize_t n;
	bool moved = false;

	while ((n = nghttp2_session_mem_send(p->cli, &data)) > 0) {
		assert_int_equal(doh_session_recv(p->srv, data, (size_t)n), 0);
		moved = true;
	}
	assert_true(n == 0);
	return moved;
}

/* Move bytes both ways until neither side has anything to say. */
static void
pump(struct pair *p)
{
	static uint8_t buf[DOH_SEND_MIN];

	for (int round = 0; round < 10000; round++) {
		bool moved = pump_client(p);
		ssize_t n;

		while ((n = doh_session_send(p->srv, buf, p->send_cap)) > 0) {
			assert_int_equal(
			    nghttp2_session_mem_recv(p->cli, buf, (size_t)n),
			    n);
			moved = true;
		}
		assert_true(n == 0);
		if (!moved)
			return;
	}
	fail_msg("pump: no end");
}

static const nghttp2_nv *
request_nv(const char *method, const char *path, const char *ctype,
           const char *clen, size_t *n)
{
	static nghttp2_nv nv[6];
	static const char *const names[] = {":method",      ":scheme",
	                                    ":authority",   ":path",
	                                    "content-type", "content-length"};
	const char *values[] = {method, "https", "localhost",
	                        path,   ctype,   clen};

	*n = 0;
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (values[i] == NULL)
			continue;
		nv[*n].name = (uint8_t *)names[i];
		nv[*n].namelen = strlen(names[i]);
		nv[*n].value = (uint8_t *)values[i];
		nv[*n].valuelen = strlen(values[i]);
		nv[*n].flags = NGHTTP2_NV_FLAG_NONE;
		(*n)++;
	}
	return nv;
}

/* Submit a request, a body when data != NULL; the stream id. */
static int32_t
submit(struct pair *p, const char *method, const char *path, const char *ctype,
       const char *clen, const uint8_t *data, size_t len)
{
	nghttp2_data_provider prd = {.read_callback = cli_body_read};
	const nghttp2_nv *nv;
	size_t n;
	int32_t sid;

	nv = request_nv(method, path, ctype, clen, &n);
	if (data != NULL) {
		struct body *b;

		assert_true(p->nbodies < MAX_STREAMS);
		b = &p->bodies[p->nbodies++];
		b->data = data;
		b->len = len;
		b->pos = 0;
		b->stop = 0;
		prd.source.ptr = b;
	}
	sid = nghttp2_submit_request(p->cli, NULL, nv, n,
	                             data != NULL ? &prd : NULL, NULL);
	assert_true(sid > 0);
	resp_of(p, sid)->used = true;
	return sid;
}

static int32_t
submit_post(struct pair *p, const uint8_t *msg, size_t len)
{
	return submit(p, "POST", PATH, "application/dns-message", NULL, msg,
	              len);
}

/* RFC 4648 5 without padding, as RFC 8484 6 says; NUL-terminated. */
static void
b64url(const uint8_t *in, size_t n, char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		             in[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = alphabet[v >> 10];
		out[o++] = alphabet[(v >> 4) & 63];
		out[o++] = alphabet[(v & 15) << 2];
	}
	out[o] = '\0';
}

/* GET with path: tmpl, its "%s" (the one '%' it may hold) replaced by
 * msg in base64url. */
static int32_t
submit_get(struct pair *p, const char *tmpl, const uint8_t *msg, size_t len)
{
	char path[1024], enc[512];
	const char *mark = strstr(tmpl, "%s");
	size_t pre = (size_t)(mark - tmpl);

	assert_non_null(mark);
	b64url(msg, len, enc);
	assert_true(pre + strlen(enc) + strlen(mark + 2) < sizeof(path));
	memcpy(path, tmpl, pre);
	strcpy(path + pre, enc);
	strcat(path, mark + 2);
	return submit(p, "GET", path, NULL, NULL, NULL, 0);
}

/* The server got exactly msg on stream sid. */
static void
assert_got(const struct pair *p, unsigned i, int32_t sid, const uint8_t *msg,
           size_t len)
{
	assert_true(i < p->ngot);
	assert_int_equal(p->got[i].sid, sid);
	assert_int_equal(p->got[i].len, len);
	assert_memory_equal(p->got[i].msg, msg, len);
}

/* Stream sid ended with a 200 carrying answer and max-age. */
static void
assert_answer(struct pair *p, int32_t sid, const uint8_t *answer, size_t len,
              uint32_t max_age)
{
	struct resp *r = resp_of(p, sid);
	char s[32];

	assert_true(r->closed);
	assert_int_equal(r->error_code, NGHTTP2_NO_ERROR);
	assert_string_equal(r->status, "200");
	assert_string_equal(r->ctype, "application/dns-message");
	snprintf(s, sizeof(s), "%zu", len);
	assert_string_equal(r->clen, s);
	snprintf(s, sizeof(s), "max-age=%u", max_age);
	assert_string_equal(r->cache, s);
	assert_int_equal(r->body_len, len);
	assert_memory_equal(r->body, answer, len);
}

/* Stream sid ended with HTTP error status and a text body. */
static void
assert_status(struct pair *p, int32_t sid, const char *status)
{
	struct resp *r = resp_of(p, sid);
	char s[32];

	assert_true(r->closed);
	assert_int_equal(r->error_code, NGHTTP2_NO_ERROR);
	assert_string_equal(r->status, status);
	assert_string_equal(r->ctype, "text/plain");
	assert_true(r->body_len > 0);
	snprintf(s, sizeof(s), "%zu", r->body_len);
	assert_string_equal(r->clen, s);
	assert_string_equal(r->cache, "");
}

/* Answer the i-th query handed over, as make_answer() would. */
static void
answer_got(struct pair *p, unsigned i, uint32_t max_age)
{
	uint8_t a[65535];

	make_answer(p->got[i].msg, p->got[i].len, a);
	assert_int_equal(doh_session_answer(p->srv, p->got[i].sid, a,
	                                    p->got[i].len, max_age),
	                 0);
}

/* ---- tests ---- */

static void
test_doh_post_answered(void **state)
{
	struct pair *p = pair_new(0);
	uint8_t a[sizeof(query)];
	int32_t sid = submit_post(p, query, sizeof(query));

	pump(p);
	assert_int_equal(p->ngot, 1);
	assert_got(p, 0, sid, query, sizeof(query));
	assert_false(resp_of(p, sid)->closed);
	assert_int_equal(doh_session_open_streams(p->srv), 1);
	make_answer(query, sizeof(query), a);
	assert_int_equal(doh_session_answer(p->srv, sid, a, sizeof(a), 300), 0);
	pump(p);
	assert_answer(p, sid, a, sizeof(a), 300);
	assert_int_equal(doh_session_open_streams(p->srv), 0);
	/* A second answer for the same stream is refused. */
	assert_int_equal(doh_session_answer(p->srv, sid, a, sizeof(a), 300),
	                 -1);
	assert_int_equal(p->stats.post, 1);
	assert_int_equal(p->stats.answers, 1);
	pair_free(p);
}

static void
test_doh_get_unpadded(void **state)
{
	struct pair *p = pair_new(0);
	char path[128];
	int32_t sid;

	/* 29 bytes: base64url ends in a partial group (no '=' sent). */
	sid = submit_get(p, PATH "?dns=%s", query, sizeof(query));
	b64url(query, sizeof(query), path);
	assert_null(strchr(path, '='));
	pump(p);
	assert_int_equal(p->ngot, 1);
	assert_got(p, 0, sid, query, sizeof(query));
	answer_got(p, 0, 5);
	pump(p);
	assert_int_equal(p->stats.get, 1);
	assert_string_equal(resp_of(p, sid)->status, "200");
	assert_string_equal(resp_of(p, sid)->cache, "max-age=5");
	pair_free(p);
}

static void
test_doh_get_padded(void **state)
{
	/* 29 bytes = 9 groups and 2 bytes: one '=' of padding. */
	static const char *const pads[] = {"=", "%3D", "%3d"};
	struct pair *p = pair_new(0);
	int32_t sid[4];
	char tmpl[64];

	for (size_t i = 0; i < ARRAY_LEN(pads); i++) {
		snprintf(tmpl, sizeof(tmpl), "%s?dns=%%s%s", PATH, pads[i]);
		sid[i] = submit_get(p, tmpl, query, sizeof(query));
	}
	/* 28 bytes: two '=' */
	sid[3] = submit_get(p, PATH "?dns=%s==", query, sizeof(query) - 1);
	pump(p);
	assert_int_equal(p->ngot, 4);
	for (size_t i = 0; i < 3; i++)
		assert_got(p, (unsigned)i, sid[i], query, sizeof(query));
	assert_got(p, 3, sid[3], query, sizeof(query) - 1);
	pair_free(p);
}

static void
test_doh_get_among_other_params(void **state)
{
	static const char *const tmpls[] = {
	    PATH "?ct=application/dns-message&dns=%s",
	    PATH "?dns=%s&ct",
	    PATH "?a=1&b=&dns=%s&dns=AAAA",
	    PATH "?dns=%s#fragment",
	};
	struct pair *p = pair_new(0);
	int32_t sid[ARRAY_LEN(tmpls)];

	for (size_t i = 0; i < ARRAY_LEN(tmpls); i++)
		sid[i] = submit_get(p, tmpls[i], query, sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, ARRAY_LEN(tmpls));
	for (size_t i = 0; i < ARRAY_LEN(tmpls); i++)
		assert_got(p, (unsigned)i, sid[i], query, sizeof(query));
	pair_free(p);
}

static void
test_doh_wrong_path_404(void **state)
{
	static const char *const tmpls[] = {
	    "/?dns=%s",    "/dns-query/?dns=%s", "/dns-queryx?dns=%s",
	    "/dns?dns=%s", "/DNS-QUERY?dns=%s",
	};
	struct pair *p = pair_new(0);
	int32_t sid[ARRAY_LEN(tmpls) + 1];

	for (size_t i = 0; i < ARRAY_LEN(tmpls); i++)
		sid[i] = submit_get(p, tmpls[i], query, sizeof(query));
	sid[ARRAY_LEN(tmpls)] =
	    submit(p, "POST", "/other", "application/dns-message", NULL, query,
	           sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, 0);
	for (size_t i = 0; i < ARRAY_LEN(sid); i++)
		assert_status(p, sid[i], "404");
	assert_int_equal(p->stats.errors[DOH_ERR_NOT_FOUND], ARRAY_LEN(sid));
	pair_free(p);
}

static void
test_doh_wrong_method_405(void **state)
{
	static const char *const methods[] = {"PUT", "DELETE", "OPTIONS",
	                                      "PATCH"};
	struct pair *p = pair_new(0);
	int32_t sid[ARRAY_LEN(methods)], head;
	char path[128];

	snprintf(path, sizeof(path), PATH "?dns=");
	b64url(query, sizeof(query), path + strlen(path));
	for (size_t i = 0; i < ARRAY_LEN(methods); i++)
		sid[i] = submit(p, methods[i], path, "application/dns-message",
		                NULL, query, sizeof(query));
	head = submit(p, "HEAD", path, NULL, NULL, NULL, 0);
	pump(p);
	assert_int_equal(p->ngot, 0);
	for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
		assert_status(p, sid[i], "405");
		assert_string_equal(resp_of(p, sid[i])->allow, "GET, POST");
	}
	/* A response to HEAD has no body (RFC 9110 9.3.2), only the rest. */
	assert_true(resp_of(p, head)->closed);
	assert_int_equal(resp_of(p, head)->error_code, NGHTTP2_NO_ERROR);
	assert_string_equal(resp_of(p, head)->status, "405");
	assert_int_equal(resp_of(p, head)->body_len, 0);
	assert_int_equal(p->stats.errors[DOH_ERR_METHOD],
	                 ARRAY_LEN(methods) + 1);
	pair_free(p);
}

static void
test_doh_wrong_content_type_415(void **state)
{
	static const char *const bad[] = {
	    "text/plain", "application/dns-message-x", "application/dns", ""};
	static const char *const good[] = {"Application/DNS-Message",
	                                   "application/dns-message; charset=x",
	                                   "application/dns-message ;q=1"};
	struct pair *p = pair_new(0);
	int32_t sid[ARRAY_LEN(bad) + 1];

	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		sid[i] =
		    submit(p, "POST", PATH, bad[i], NULL, query, sizeof(query));
	sid[ARRAY_LEN(bad)] =
	    submit(p, "POST", PATH, NULL, NULL, query, sizeof(query));
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		(void)submit(p, "POST", PATH, good[i], NULL, query,
		             sizeof(query));
	pump(p);
	for (size_t i = 0; i < ARRAY_LEN(sid); i++)
		assert_status(p, sid[i], "415");
	assert_int_equal(p->ngot, ARRAY_LEN(good));
	assert_int_equal(p->stats.errors[DOH_ERR_MEDIA_TYPE], ARRAY_LEN(sid));
	pair_free(p);
}

static void
test_doh_too_large_413(void **state)
{
	struct pair *p = pair_new(0);
	uint8_t *big = calloc(1, 70000);
	int32_t plain, with_clen, max;

	assert_non_null(big);
	memcpy(big, query, sizeof(query));
	/* Read to the end, then refused. */
	plain = submit_post(p, big, 65536);
	/* Refused from its content-length, the body not kept. */
	with_clen = submit(p, "POST", PATH, "application/dns-message", "70000",
	                   big, 70000);
	/* The largest message there is: accepted, and answered. */
	max = submit_post(p, big, 65535);
	pump(p);
	assert_status(p, plain, "413");
	assert_status(p, with_clen, "413");
	assert_int_equal(p->ngot, 1);
	assert_got(p, 0, max, big, 65535);
	answer_got(p, 0, 0);
	pump(p);
	big[2] |= 0x80;
	assert_answer(p, max, big, 65535, 0);
	assert_int_equal(p->stats.errors[DOH_ERR_TOO_LARGE], 2);
	free(big);
	pair_free(p);
}

static void
test_doh_bad_request_400(void **state)
{
	static const char *const paths[] = {
	    PATH,                         /* no query string */
	    PATH "?",                     /* an empty one */
	    PATH "?ct=x",                 /* no dns */
	    PATH "?dns=",                 /* empty */
	    PATH "?dns=!!!!",             /* outside the alphabet */
	    PATH "?dns=AAAA+AAA",         /* '+' is base64, not base64url */
	    PATH "?dns=AAAAA",            /* 5 characters: no valid length */
	    PATH "?dns=AAAAAAAAAAAAAA",   /* 10 bytes: shorter than a header */
	    PATH "?dns=A===",             /* too much padding */
	    PATH "?DNS=AAAAAAAAAAAAAAAA", /* the name is case-sensitive */
	};
	struct pair *p = pair_new(0);
	int32_t sid[ARRAY_LEN(paths) + 2];

	for (size_t i = 0; i < ARRAY_LEN(paths); i++)
		sid[i] = submit(p, "GET", paths[i], NULL, NULL, NULL, 0);
	/* POST: empty, and 11 bytes. */
	sid[ARRAY_LEN(paths)] =
	    submit(p, "POST", PATH, "application/dns-message", NULL, NULL, 0);
	sid[ARRAY_LEN(paths) + 1] = submit_post(p, query, 11);
	pump(p);
	assert_int_equal(p->ngot, 0);
	for (size_t i = 0; i < ARRAY_LEN(sid); i++)
		assert_status(p, sid[i], "400");
	assert_int_equal(p->stats.errors[DOH_ERR_BAD_REQUEST], ARRAY_LEN(sid));
	pair_free(p);
}

static void
test_doh_post_body_ignores_path_param(void **state)
{
	struct pair *p = pair_new(0);
	uint8_t other[sizeof(query)];
	int32_t sid;
	char path[128];

	/* The dns parameter of a POST is not the query: its body is. */
	memcpy(other, query, sizeof(query));
	other[0] = 0x77;
	snprintf(path, sizeof(path), PATH "?dns=");
	b64url(other, sizeof(other), path + strlen(path));
	sid = submit(p, "POST", path, "application/dns-message", NULL, query,
	             sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, 1);
	assert_got(p, 0, sid, query, sizeof(query));
	pair_free(p);
}

static void
test_doh_concurrent_out_of_order(void **state)
{
	enum { N = 90 };
	struct pair *p = pair_new(0);
	uint8_t q[N][sizeof(query)];
	int32_t sid[N];

	for (int i = 0; i < N; i++) {
		memcpy(q[i], query, sizeof(query));
		q[i][0] = (uint8_t)i; /* a distinct ID per query */
		sid[i] =
		    i % 2 ? submit_post(p, q[i], sizeof(query))
		          : submit_get(p, PATH "?dns=%s", q[i], sizeof(query));
	}
	pump(p);
	assert_int_equal(p->ngot, N);
	assert_int_equal(doh_session_open_streams(p->srv), N);
	/* Answer last first, pumping after some of them only. */
	for (int i = N - 1; i >= 0; i--) {
		answer_got(p, (unsigned)i, (uint32_t)i);
		if (i % 7 == 0)
			pump(p);
	}
	pump(p);
	for (unsigned i = 0; i < N; i++) {
		uint8_t a[sizeof(query)];
		unsigned k = p->got[i].msg[0];

		/* got[i] is the query with ID k, sent on sid[k] */
		assert_int_equal(p->got[i].sid, sid[k]);
		make_answer(q[k], sizeof(query), a);
		assert_answer(p, sid[k], a, sizeof(a), i);
	}
	assert_int_equal(doh_session_open_streams(p->srv), 0);
	assert_int_equal(p->stats.get + p->stats.post, N);
	pair_free(p);
}

static void
test_doh_reset_before_answer(void **state)
{
	struct pair *p = pair_new(0);
	uint8_t a[sizeof(query)];
	int32_t gone, kept, later;

	gone = submit_post(p, query, sizeof(query));
	kept = submit_post(p, query, sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, 2);
	assert_int_equal(nghttp2_submit_rst_stream(p->cli, NGHTTP2_FLAG_NONE,
	                                           gone, NGHTTP2_CANCEL),
	                 0);
	pump(p);
	assert_int_equal(p->ncancel, 1);
	assert_int_equal(p->cancelled[0], gone);
	assert_int_equal(p->stats.cancelled, 1);
	/* The late answer is ignored; the other stream goes on. */
	make_answer(query, sizeof(query), a);
	assert_int_equal(doh_session_answer(p->srv, gone, a, sizeof(a), 1), -1);
	assert_int_equal(doh_session_reject(p->srv, gone, DOH_ERR_INTERNAL),
	                 -1);
	assert_int_equal(doh_session_reset(p->srv, gone), -1);
	assert_int_equal(doh_session_answer(p->srv, kept, a, sizeof(a), 1), 0);
	pump(p);
	assert_answer(p, kept, a, sizeof(a), 1);
	/* A reset while the answer is on its way: no cancel then. */
	later = submit_post(p, query, sizeof(query));
	pump(p);
	assert_int_equal(doh_session_answer(p->srv, later, a, sizeof(a), 1), 0);
	assert_int_equal(nghttp2_submit_rst_stream(p->cli, NGHTTP2_FLAG_NONE,
	                                           later, NGHTTP2_CANCEL),
	                 0);
	pump(p);
	assert_int_equal(p->ncancel, 1);
	assert_int_equal(doh_session_open_streams(p->srv), 0);
	/* Unknown and silly stream ids. */
	assert_int_equal(doh_session_answer(p->srv, 999, a, sizeof(a), 1), -1);
	assert_int_equal(doh_session_answer(p->srv, 0, a, sizeof(a), 1), -1);
	assert_int_equal(doh_session_answer(p->srv, -1, a, sizeof(a), 1), -1);
	pair_free(p);
}

static void
test_doh_reset_while_receiving(void **state)
{
	struct pair *p = pair_new(0);
	uint8_t *big = calloc(1, 65535);
	int32_t sid;

	/* The client gives up halfway through its body: no query, no
	 * cancel. */
	assert_non_null(big);
	sid = submit_post(p, big, 65535);
	p->bodies[p->nbodies - 1].stop = 1000;
	pump(p);
	assert_int_equal(doh_session_open_streams(p->srv), 1);
	assert_int_equal(nghttp2_submit_rst_stream(p->cli, NGHTTP2_FLAG_NONE,
	                                           sid, NGHTTP2_CANCEL),
	                 0);
	pump(p);
	assert_int_equal(p->ngot, 0);
	assert_int_equal(p->ncancel, 0);
	assert_int_equal(doh_session_open_streams(p->srv), 0);
	free(big);
	pair_free(p);
}

static void
test_doh_garbage_preface(void **state)
{
	static const char http1[] =
	    "GET /dns-query HTTP/1.1\r\nHost: x\r\n\r\n";
	struct doh_params dp = {.path = PATH};
	struct doh_callbacks cb = {.on_query = srv_on_query};
	struct doh_session *s = doh_session_new(&dp, &cb);

	assert_non_null(s);
	assert_int_equal(
	    doh_session_recv(s, (const uint8_t *)http1, sizeof(http1) - 1), -1);
	doh_session_free(s);
}

static void
test_doh_garbage_after_preface(void **state)
{
	/* A SETTINGS frame whose length is not a multiple of 6 (RFC 9113
	 * 6.5: FRAME_SIZE_ERROR), then noise. */
	static const uint8_t bad[] = {0x00, 0x00, 0x05, 0x04, 0x00, 0x00,
	                              0x00, 0x00, 0x00, 0x01, 0x02, 0x03,
	                              0x04, 0x05, 0xff, 0xff, 0xff, 0xff};
	struct pair *p = pair_new(0);
	static uint8_t buf[DOH_SEND_MIN];
	ssize_t n;
	int rv;

	pump(p); /* prefaces and SETTINGS both ways */
	rv = doh_session_recv(p->srv, bad, sizeof(bad));
	/* Either refused outright, or a GOAWAY and the session is done. */
	if (rv == 0) {
		while ((n = doh_session_send(p->srv, buf, sizeof(buf))) > 0)
			(void)nghttp2_session_mem_recv(p->cli, buf, (size_t)n);
		assert_true(n == 0);
		assert_true(p->goaway);
		assert_false(doh_session_want_read(p->srv));
		assert_false(doh_session_want_write(p->srv));
	} else {
		assert_int_equal(rv, -1);
	}
	pair_free(p);
}

static void
test_doh_response_headers(void **state)
{
	static const uint32_t ages[] = {0, 1, 300, 86400, 4294967295u};
	struct pair *p = pair_new(0);
	int32_t sid[ARRAY_LEN(ages)];
	uint8_t big[1500], a[1500];

	/* One answer longer than the inline buffer. */
	memset(big, 0xab, sizeof(big));
	memcpy(big, query, sizeof(query));
	for (size_t i = 0; i < ARRAY_LEN(ages); i++)
		sid[i] = submit_post(p, i == 2 ? big : query,
		                     i == 2 ? sizeof(big) : sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, ARRAY_LEN(ages));
	for (unsigned i = 0; i < ARRAY_LEN(ages); i++)
		answer_got(p, i, ages[i]);
	pump(p);
	for (unsigned i = 0; i < ARRAY_LEN(ages); i++) {
		make_answer(p->got[i].msg, p->got[i].len, a);
		assert_answer(p, sid[i], a, p->got[i].len, ages[i]);
	}
	pair_free(p);
}

static void
test_doh_reject_and_reset(void **state)
{
	struct pair *p = pair_new(0);
	uint8_t a[sizeof(query)];
	int32_t rej, rst, bad;

	rej = submit_post(p, query, sizeof(query));
	rst = submit_post(p, query, sizeof(query));
	bad = submit_post(p, query, sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, 3);
	assert_int_equal(doh_session_reject(p->srv, rej, DOH_ERR_UNAVAILABLE),
	                 0);
	assert_int_equal(doh_session_reject(p->srv, rej, DOH_ERR_UNAVAILABLE),
	                 -1);
	assert_int_equal(doh_session_reset(p->srv, rst), 0);
	/* An answer of no DNS message at all: a 500 instead. */
	assert_int_equal(doh_session_answer(p->srv, bad, a, 0, 1), -1);
	assert_int_equal(doh_session_reject(p->srv, bad, DOH_ERR_COUNT), -1);
	pump(p);
	assert_status(p, rej, "503");
	assert_true(resp_of(p, rst)->closed);
	assert_int_equal(resp_of(p, rst)->error_code, NGHTTP2_REFUSED_STREAM);
	assert_status(p, bad, "500");
	assert_int_equal(p->ncancel, 0);
	assert_int_equal(p->stats.resets, 1);
	assert_int_equal(p->stats.errors[DOH_ERR_UNAVAILABLE], 1);
	assert_int_equal(p->stats.errors[DOH_ERR_INTERNAL], 1);
	assert_int_equal(doh_session_open_streams(p->srv), 0);
	pair_free(p);
}

static void
test_doh_goaway_graceful(void **state)
{
	struct pair *p = pair_new(0);
	int32_t before, after;

	before = submit_post(p, query, sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, 1);
	doh_session_goaway(p->srv);
	doh_session_goaway(p->srv); /* once is enough */
	pump(p);
	assert_true(p->goaway);
	/* The open stream is still answered... */
	assert_true(doh_session_want_read(p->srv));
	answer_got(p, 0, 7);
	/* ... and one opened after GOAWAY is not processed. */
	after = submit_post(p, query, sizeof(query));
	pump(p);
	(void)after;
	assert_int_equal(p->ngot, 1);
	assert_string_equal(resp_of(p, before)->status, "200");
	assert_int_equal(doh_session_open_streams(p->srv), 0);
	assert_false(doh_session_want_read(p->srv));
	assert_false(doh_session_want_write(p->srv));
	pair_free(p);
}

static void
test_doh_free_cancels_waiting(void **state)
{
	struct pair *p = pair_new(0);
	struct doh_session *s;

	(void)submit_post(p, query, sizeof(query));
	(void)submit_post(p, query, sizeof(query));
	(void)submit_post(p, query, sizeof(query));
	pump(p);
	assert_int_equal(p->ngot, 3);
	answer_got(p, 1, 1); /* answered, not yet sent: no cancel */
	s = p->srv;
	p->srv = NULL;
	doh_session_free(s);
	assert_int_equal(p->ncancel, 2);
	assert_int_equal(p->stats.cancelled, 2);
	pair_free(p);
}

static void
test_doh_small_send_buffer(void **state)
{
	struct pair *p = pair_new(0);
	static uint8_t big[40000], buf[DOH_SEND_MIN];
	int32_t sid;
	size_t total = 0;
	ssize_t n;
	int zero_rounds = 0;

	memset(big, 0x5a, sizeof(big));
	memcpy(big, query, sizeof(query));
	sid = submit_post(p, big, sizeof(big));
	pump(p);
	assert_int_equal(p->ngot, 1);
	answer_got(p, 0, 9);
	/* Seven bytes at a time: frames other than DATA go out in pieces;
	 * DATA waits for room enough for a whole frame. */
	while (doh_session_want_write(p->srv)) {
		n = doh_session_send(p->srv, buf, 7);
		assert_true(n >= 0 && n <= 7);
		if (n == 0) {
			/* Nothing fits: the caller flushes and offers the
			 * documented minimum. */
			n = doh_session_send(p->srv, buf, DOH_SEND_MIN);
			assert_true(n > 0);
			zero_rounds++;
		}
		assert_int_equal(
		    nghttp2_session_mem_recv(p->cli, buf, (size_t)n), n);
		total += (size_t)n;
		(void)pump_client(p); /* window updates */
	}
	assert_true(zero_rounds > 0);
	assert_true(total > sizeof(big));
	big[2] |= 0x80;
	assert_answer(p, sid, big, sizeof(big), 9);
	pair_free(p);
}

static void
test_doh_large_client_frames(void **state)
{
	/* The client allows 1 MiB frames: DATA still comes in frames that
	 * fit DOH_SEND_MIN, which is all pump() offers. */
	static const nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 1 << 20},
	};
	struct pair *p = pair_new(0);
	static uint8_t big[50000];
	int32_t sid;

	assert_int_equal(nghttp2_submit_settings(p->cli, NGHTTP2_FLAG_NONE, iv,
	                                         ARRAY_LEN(iv)),
	                 0);
	pump(p);
	memset(big, 0x33, sizeof(big));
	memcpy(big, query, sizeof(query));
	sid = submit_post(p, big, sizeof(big));
	pump(p);
	assert_int_equal(p->ngot, 1);
	answer_got(p, 0, 2);
	pump(p);
	big[2] |= 0x80;
	assert_answer(p, sid, big, sizeof(big), 2);
	pair_free(p);
}

static void
test_doh_headers_too_large_431(void **state)
{
	struct pair *p = pair_new(0);
	char *path = malloc(DOH_MAX_HEADER_LIST + 64);
	int32_t sid;

	assert_non_null(path);
	/* A path of junk parameters past the header list limit. */
	strcpy(path, PATH "?x=");
	memset(path + strlen(path), 'a', DOH_MAX_HEADER_LIST);
	path[sizeof(PATH "?x=") - 1 + DOH_MAX_HEADER_LIST] = '\0';
	sid = submit(p, "GET", path, NULL, NULL, NULL, 0);
	pump(p);
	assert_int_equal(p->ngot, 0);
	assert_status(p, sid, "431");
	assert_int_equal(p->stats.errors[DOH_ERR_HEADERS_TOO_LARGE], 1);
	free(path);
	pair_free(p);
}

static void
test_doh_answer_from_on_query(void **state)
{
	struct pair *p = pair_new(0);
	uint8_t a[sizeof(query)];
	int32_t sid[3];

	p->answer_at_once = true;
	sid[0] = submit_post(p, query, sizeof(query));
	sid[1] = submit_get(p, PATH "?dns=%s", query, sizeof(query));
	sid[2] = submit_post(p, query, sizeof(query));
	pump(p);
	make_answer(query, sizeof(query), a);
	for (size_t i = 0; i < ARRAY_LEN(sid); i++)
		assert_answer(p, sid[i], a, sizeof(a), 60);
	pair_free(p);
}

static void
test_doh_max_streams(void **state)
{
	enum { LIMIT = 4, N = 12 };
	struct pair *p = pair_new(LIMIT);
	int32_t sid[N];
	unsigned answered = 0;

	pump(p); /* the client learns the limit */
	for (int i = 0; i < N; i++)
		sid[i] = submit_post(p, query, sizeof(query));
	pump(p);
	/* Never more at once than announced; all served in the end. */
	while (answered < p->ngot) {
		assert_true(p->ngot - answered <= LIMIT);
		answer_got(p, answered++, 1);
		pump(p);
	}
	assert_int_equal(p->ngot, N);
	for (int i = 0; i < N; i++)
		assert_string_equal(resp_of(p, sid[i])->status, "200");
	pair_free(p);
}

static void
test_doh_flood_of_streams(void **state)
{
	/* A client that ignores SETTINGS_MAX_CONCURRENT_STREAMS: the
	 * extra streams are refused, the session survives. */
	enum { LIMIT = 3, N = 20 };
	struct pair *p = pair_new(LIMIT);
	nghttp2_session *raw;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;

	/* A second client that believes it may open 100 streams. */
	assert_int_equal(nghttp2_session_callbacks_new(&cbs), 0);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
	                                                       cli_on_close);
	nghttp2_session_callbacks_set_on_header_callback(cbs, cli_on_header);
	assert_int_equal(nghttp2_option_new(&opt), 0);
	nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
	assert_int_equal(nghttp2_session_client_new2(&raw, cbs, p, opt), 0);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_session_del(p->cli);
	p->cli = raw;
	assert_int_equal(
	    nghttp2_submit_settings(p->cli, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	/* Everything at once, before the server's SETTINGS arrive. */
	for (int i = 0; i < N; i++)
		(void)submit_post(p, query, sizeof(query));
	(void)pump_client(p);
	pump(p);
	assert_true(p->ngot <= LIMIT);
	assert_true(p->ngot > 0);
	assert_true(doh_session_open_streams(p->srv) <= LIMIT);
	pair_free(p);
}

static void
test_doh_shared_stats(void **state)
{
	struct doh_stats shared = {0};
	struct doh_params dp = {.path = PATH, .stats = &shared};
	struct doh_params own = {.path = PATH};
	struct doh_callbacks cb = {.on_query = srv_on_query};
	struct doh_session *a = doh_session_new(&dp, &cb);
	struct doh_session *b = doh_session_new(&dp, &cb);
	struct doh_session *c = doh_session_new(&own, &cb);

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_ptr_equal(doh_session_stats(a), &shared);
	assert_ptr_equal(doh_session_stats(b), &shared);
	assert_ptr_not_equal(doh_session_stats(c), &shared);
	assert_int_equal(doh_session_stats(c)->get, 0);
	doh_session_free(a);
	doh_session_free(b);
	doh_session_free(c);
	doh_session_free(NULL);
}

static void
test_doh_new_bad_params(void **state)
{
	char longpath[DOH_PATH_MAX + 2];
	struct doh_params dp = {.path = NULL};
	struct doh_callbacks cb = {.on_query = srv_on_query};

	assert_null(doh_session_new(&dp, &cb));
	dp.path = "";
	assert_null(doh_session_new(&dp, &cb));
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	dp.path = longpath;
	assert_null(doh_session_new(&dp, &cb));
}

static void
test_doh_error_status(void **state)
{
	static const struct {
		enum doh_error e;
		unsigned status;
	} t[] = {
	    {DOH_ERR_BAD_REQUEST, 400},       {DOH_ERR_FORBIDDEN, 403},
	    {DOH_ERR_NOT_FOUND, 404},         {DOH_ERR_METHOD, 405},
	    {DOH_ERR_TOO_LARGE, 413},         {DOH_ERR_MEDIA_TYPE, 415},
	    {DOH_ERR_HEADERS_TOO_LARGE, 431}, {DOH_ERR_INTERNAL, 500},
	    {DOH_ERR_UNAVAILABLE, 503},       {DOH_ERR_COUNT, 0},
	};

	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		assert_int_equal(doh_error_status(t[i].e), t[i].status);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doh_post_answered),
	    cmocka_unit_test(test_doh_get_unpadded),
	    cmocka_unit_test(test_doh_get_padded),
	    cmocka_unit_test(test_doh_get_among_other_params),
	    cmocka_unit_test(test_doh_wrong_path_404),
	    cmocka_unit_test(test_doh_wrong_method_405),
	    cmocka_unit_test(test_doh_wrong_content_type_415),
	    cmocka_unit_test(test_doh_too_large_413),
	    cmocka_unit_test(test_doh_bad_request_400),
	    cmocka_unit_test(test_doh_post_body_ignores_path_param),
	    cmocka_unit_test(test_doh_concurrent_out_of_order),
	    cmocka_unit_test(test_doh_reset_before_answer),
	    cmocka_unit_test(test_doh_reset_while_receiving),
	    cmocka_unit_test(test_doh_garbage_preface),
	    cmocka_unit_test(test_doh_garbage_after_preface),
	    cmocka_unit_test(test_doh_response_headers),
	    cmocka_unit_test(test_doh_reject_and_reset),
	    cmocka_unit_test(test_doh_goaway_graceful),
	    cmocka_unit_test(test_doh_free_cancels_waiting),
	    cmocka_unit_test(test_doh_small_send_buffer),
	    cmocka_unit_test(test_doh_large_client_frames),
	    cmocka_unit_test(test_doh_headers_too_large_431),
	    cmocka_unit_test(test_doh_answer_from_on_query),
	    cmocka_unit_test(test_doh_max_streams),
	    cmocka_unit_test(test_doh_flood_of_streams),
	    cmocka_unit_test(test_doh_shared_stats),
	    cmocka_unit_test(test_doh_new_bad_params),
	    cmocka_unit_test(test_doh_error_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
