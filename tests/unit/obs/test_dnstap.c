/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/obs/test_dnstap.c — the dnstap encoder, and the producers'
 * queues into fstrm's I/O thread (obs/dnstap.h).
 *
 * Expected protobuf bytes are derived by hand from dnstap.proto: a tag is
 * (field number << 3 | wire type), wire type 0 = varint, 2 = length-
 * delimited, 5 = fixed32 (little-endian). What libfstrm writes is checked
 * against a fake Frame Streams reader running in a thread of this test,
 * and byte by byte in a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "dns/addr.h"
#include "obs/dnstap.h"

#define N_ELEMS(x) (sizeof(x) / sizeof((x)[0]))

/* clang-format off: packets are laid out one field per line. */
/*
 * Field 2 (version), wire type 2: tag 0x12, length 13, "dnsgate 0.1.0"
 * (DNSGATE_VERSION: a version bump updates these bytes).
 */
#define VERSION_FIELD                                                      \
	0x12, 0x0d, 'd', 'n', 's', 'g', 'a', 't', 'e', ' ', '0', '.', '1', \
	    '.', '0'

/* A query for a.test/A: 24 bytes. */
#define A_TEST_QUERY                                                 \
	0x12, 0x34,                 /* ID */                         \
	    0x01, 0x00,             /* flags: RD */                  \
	    0x00, 0x01, 0x00, 0x00, /* QDCOUNT 1, ANCOUNT 0 */       \
	    0x00, 0x00, 0x00, 0x00, /* NSCOUNT 0, ARCOUNT 0 */       \
	    0x01, 'a', 0x04, 't', 'e', 's', 't', 0x00, /* a.test. */ \
	    0x00, 0x01, 0x00, 0x01                     /* A, IN */

/* A bare response header: 12 bytes. */
#define HEADER_RESPONSE                                        \
	0x12, 0x34,                 /* ID */                   \
	    0x81, 0x80,             /* flags: QR RD RA */      \
	    0x00, 0x00, 0x00, 0x00, /* QDCOUNT 0, ANCOUNT 0 */ \
	    0x00, 0x00, 0x00, 0x00  /* NSCOUNT 0, ARCOUNT 0 */

static const uint8_t query_a_test[] = {A_TEST_QUERY};
static const uint8_t response_header[] = {HEADER_RESPONSE};
/* clang-format on */

static struct ip_addr
addr(const char *text)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(text, &a), 0);
	return a;
}

static void
assert_encodes(const char *identity, const struct dnstap_msg *m,
               const uint8_t *want, size_t want_len)
{
	uint8_t out[256];
	size_t n = dnstap_encode(out, sizeof(out), identity, m);

	assert_int_equal(dnstap_encoded_size(identity, m), want_len);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
}

/* -- the encoder --------------------------------------------------------- */

static void
test_dnstap_encode_client_query_v4(void **state)
{
	struct ip_addr client = addr("192.0.2.1"), server = addr("192.0.2.53");
	struct timespec qt = {1700000000, 123456789};
	struct dnstap_msg m = {
	    .type = DNSTAP_CLIENT_QUERY,
	    .query_addr = &client,
	    .query_port = 53000,
	    .response_addr = &server,
	    .response_port = 53,
	    .query_time = &qt,
	    .query = query_a_test,
	    .query_len = sizeof(query_a_test),
	};
	/* clang-format off */
	static const uint8_t want[] = {
	    0x0a, 0x03, 'n', 's', '1', /* Dnstap 1 identity, LEN 3 */
	    VERSION_FIELD,             /* Dnstap 2 version, LEN 13 */
	    0x72, 0x3d,                /* Dnstap 14 message, LEN 61: */
	    0x08, 0x05,                /*  1 type, varint: CLIENT_QUERY */
	    0x10, 0x01,                /*  2 socket_family, varint: INET */
	    0x18, 0x01,                /*  3 socket_protocol, varint: UDP */
	    0x22, 0x04, 192, 0, 2, 1,  /*  4 query_address, LEN 4 */
	    0x2a, 0x04, 192, 0, 2, 53, /*  5 response_address, LEN 4 */
	    0x30, 0x88, 0x9e, 0x03,    /*  6 query_port, varint: 53000 */
	    0x38, 0x35,                /*  7 response_port, varint: 53 */
	    0x40, 0x80, 0xe2, 0xcf,    /*  8 query_time_sec, varint: */
	    0xaa, 0x06,                /*    1700000000 */
	    0x4d, 0x15, 0xcd, 0x5b,    /*  9 query_time_nsec, fixed32 LE: */
	    0x07,                      /*    123456789 = 0x075bcd15 */
	    0x52, 0x18,                /* 10 query_message, LEN 24 */
	    A_TEST_QUERY,              /*    the query, verbatim */
	    0x78, 0x01,                /* Dnstap 15 type, varint: MESSAGE */
	};
	/* clang-format on */

	(void)state;
	assert_encodes("ns1", &m, want, sizeof(want));
}

static void
test_dnstap_encode_client_response_v6_tcp(void **state)
{
	struct ip_addr client = addr("2001:db8::1"),
	               server = addr("2001:db8::53");
	struct timespec qt = {1, 0}, rt = {2, 999999999};
	struct dnstap_msg m = {
	    .type = DNSTAP_CLIENT_RESPONSE,
	    .proto = TRANSPORT_TCP,
	    .query_addr = &client,
	    .query_port = 40000,
	    .response_addr = &server,
	    .response_port = 53,
	    .query_time = &qt,
	    .response_time = &rt,
	    .response = response_header,
	    .response_len = sizeof(response_header),
	};
	/* clang-format off */
	static const uint8_t want[] = {
	    /* no identity: NULL omits field 1 */
	    VERSION_FIELD,           /* Dnstap 2 version, LEN 13 */
	    0x72, 0x4c,              /* Dnstap 14 message, LEN 76: */
	    0x08, 0x06,              /*  1 type: CLIENT_RESPONSE */
	    0x10, 0x02,              /*  2 socket_family: INET6 */
	    0x18, 0x02,              /*  3 socket_protocol: TCP */
	    0x22, 0x10,              /*  4 query_address, LEN 16: */
	    0x20, 0x01, 0x0d, 0xb8,  /*    2001:db8::1 */
	    0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x01,
	    0x2a, 0x10,              /*  5 response_address, LEN 16: */
	    0x20, 0x01, 0x0d, 0xb8,  /*    2001:db8::53 */
	    0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x53,
	    0x30, 0xc0, 0xb8, 0x02,  /*  6 query_port: 40000 */
	    0x38, 0x35,              /*  7 response_port: 53 */
	    0x40, 0x01,              /*  8 query_time_sec: 1 */
	    0x4d, 0x00, 0x00, 0x00,  /*  9 query_time_nsec: 0 (still sent) */
	    0x00,
	    0x60, 0x02,              /* 12 response_time_sec: 2 */
	    0x6d, 0xff, 0xc9, 0x9a,  /* 13 response_time_nsec, fixed32 LE: */
	    0x3b,                    /*    999999999 = 0x3b9ac9ff */
	    0x72, 0x0c,              /* 14 response_message, LEN 12 */
	    HEADER_RESPONSE,         /*    the response, verbatim */
	    0x78, 0x01,              /* Dnstap 15 type: MESSAGE */
	};
	/* clang-format on */

	(void)state;
	assert_encodes(NULL, &m, want, sizeof(want));
}

static void
test_dnstap_encode_minimal(void **state)
{
	struct dnstap_msg m = {.type = DNSTAP_FORWARDER_QUERY};
	/* clang-format off */
	static const uint8_t want[] = {
	    /* "" omits the identity as NULL does */
	    VERSION_FIELD, /* Dnstap 2 version */
	    0x72, 0x04,    /* Dnstap 14 message, LEN 4: */
	    0x08, 0x07,    /*  1 type: FORWARDER_QUERY (7, not 9) */
	    0x18, 0x01,    /*  3 socket_protocol: UDP; no family, */
			   /*    no address, time or message */
	    0x78, 0x01,    /* Dnstap 15 type: MESSAGE */
	};
	/* clang-format on */

	(void)state;
	assert_encodes("", &m, want, sizeof(want));
}

static void
test_dnstap_encode_forwarder_over_tls_is_dot(void **state)
{
	struct dnstap_msg m = {
	    .type = DNSTAP_FORWARDER_QUERY,
	    .proto = TRANSPORT_TLS,
	};
	/* clang-format off */
	static const uint8_t want[] = {
	    VERSION_FIELD, /* Dnstap 2 version */
	    0x72, 0x04,    /* Dnstap 14 message, LEN 4: */
	    0x08, 0x07,    /*  1 type: FORWARDER_QUERY */
	    0x18, 0x03,    /*  3 socket_protocol: DOT */
	    0x78, 0x01,    /* Dnstap 15 type: MESSAGE */
	};
	/* clang-format on */

	(void)state;
	assert_encodes(NULL, &m, want, sizeof(want));
}

static void
test_dnstap_encode_mixed_families_use_inet6(void **state)
{
	struct ip_addr dnsgate = addr("192.0.2.53"), up = addr("2001:db8::53");
	struct dnstap_msg m = {
	    .type = DNSTAP_FORWARDER_RESPONSE,
	    .query_addr = &dnsgate,
	    .query_port = 1,
	    .response_addr = &up,
	    .response_port = 53,
	};
	/* clang-format off */
	static const uint8_t want[] = {
	    VERSION_FIELD,          /* Dnstap 2 version */
	    0x72, 0x2e,             /* Dnstap 14 message, LEN 46: */
	    0x08, 0x08,             /*  1 type: FORWARDER_RESPONSE */
	    0x10, 0x02,             /*  2 socket_family: INET6 */
	    0x18, 0x01,             /*  3 socket_protocol: UDP */
	    0x22, 0x10,             /*  4 query_address, LEN 16: */
	    0x00, 0x00, 0x00, 0x00, /*    ::ffff:192.0.2.53 */
	    0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0xff, 0xff,
	    192, 0, 2, 53,
	    0x2a, 0x10,             /*  5 response_address, LEN 16: */
	    0x20, 0x01, 0x0d, 0xb8, /*    2001:db8::53 */
	    0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x53,
	    0x30, 0x01,             /*  6 query_port: 1 */
	    0x38, 0x35,             /*  7 response_port: 53 */
	    0x78, 0x01,             /* Dnstap 15 type: MESSAGE */
	};
	/* clang-format on */

	(void)state;
	assert_encodes(NULL, &m, want, sizeof(want));
}

/* Varints at their edges, seen through query_time_sec (uint64). */
static void
test_dnstap_encode_varint_edges(void **state)
{
	/* clang-format off */
	static const struct {
		time_t sec;
		uint8_t bytes[10];
		size_t n;
	} cases[] = {
	    {0, {0x00}, 1},
	    {1, {0x01}, 1},
	    {127, {0x7f}, 1},
	    {128, {0x80, 0x01}, 2},
	    {300, {0xac, 0x02}, 2},
	    {16383, {0xff, 0x7f}, 2},
	    {16384, {0x80, 0x80, 0x01}, 3},
	    {(time_t)1 << 32, {0x80, 0x80, 0x80, 0x80, 0x10}, 5},
	    {INT64_MAX,
	     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	     9},
	    /* Negative: uint64 2^64-1, the longest varint (10 bytes). */
	    {-1,
	     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	     10},
	};
	/* clang-format on */

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct timespec t = {cases[i].sec, 0x01020304};
		struct dnstap_msg m = {.type = DNSTAP_CLIENT_QUERY,
		                       .query_time = &t};
		uint8_t want[64], *p = want;
		static const uint8_t version[] = {VERSION_FIELD};

		memcpy(p, version, sizeof(version));
		p += sizeof(version);
		*p++ = 0x72;                       /* Dnstap 14 message */
		*p++ = (uint8_t)(10 + cases[i].n); /* LEN */
		*p++ = 0x08;                       /*  1 type */
		*p++ = 0x05;                       /*    CLIENT_QUERY */
		*p++ = 0x18;                       /*  3 socket_protocol */
		*p++ = 0x01;                       /*    UDP */
		*p++ = 0x40;                       /*  8 query_time_sec */
		memcpy(p, cases[i].bytes, cases[i].n);
		p += cases[i].n;
		*p++ = 0x4d; /*  9 query_time_nsec, fixed32 LE */
		*p++ = 0x04;
		*p++ = 0x03;
		*p++ = 0x02;
		*p++ = 0x01;
		*p++ = 0x78; /* Dnstap 15 type */
		*p++ = 0x01; /*    MESSAGE */
		assert_encodes(NULL, &m, want, (size_t)(p - want));
	}
}

/* Length prefixes at 1-, 2- and 3-byte varints, nested and not. */
static void
test_dnstap_encode_length_varints(void **state)
{
	/* clang-format off */
	static const struct {
		size_t qlen;
		uint8_t outer[3]; /* LEN of Dnstap 14 message */
		size_t nouter;
		uint8_t inner[3]; /* LEN of Message 10 query_message */
		size_t ninner;
	} cases[] = {
	    /* message = 4 (type, protocol) + 1 (tag) + LEN + qlen */
	    {127, {0x85, 0x01}, 2, {0x7f}, 1},             /* 133 */
	    {128, {0x87, 0x01}, 2, {0x80, 0x01}, 2},       /* 135 */
	    {65535, {0x87, 0x80, 0x04}, 3, {0xff, 0xff, 0x03}, 3}, /* 65543 */
	};
	/* clang-format on */
	static const uint8_t version[] = {VERSION_FIELD};
	uint8_t *q = malloc(DNSTAP_DNS_MSG_MAX);
	uint8_t *out = malloc(DNSTAP_DNS_MSG_MAX + 64);

	(void)state;
	assert_non_null(q);
	assert_non_null(out);
	memset(q, 0xab, DNSTAP_DNS_MSG_MAX);
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dnstap_msg m = {.type = DNSTAP_CLIENT_QUERY,
		                       .query = q,
		                       .query_len = cases[i].qlen};
		size_t n =
		    dnstap_encode(out, DNSTAP_DNS_MSG_MAX + 64, NULL, &m);
		const uint8_t *p = out;

		assert_int_equal(n, sizeof(version) + 1 + cases[i].nouter + 4 +
		                        1 + cases[i].ninner + cases[i].qlen +
		                        2);
		assert_int_equal(dnstap_encoded_size(NULL, &m), n);
		assert_memory_equal(p, version, sizeof(version));
		p += sizeof(version);
		assert_int_equal(*p++, 0x72); /* Dnstap 14 message */
		assert_memory_equal(p, cases[i].outer, cases[i].nouter);
		p += cases[i].nouter;
		assert_int_equal(*p++, 0x08); /* 1 type */
		assert_int_equal(*p++, 0x05);
		assert_int_equal(*p++, 0x18); /* 3 socket_protocol */
		assert_int_equal(*p++, 0x01);
		assert_int_equal(*p++, 0x52); /* 10 query_message */
		assert_memory_equal(p, cases[i].inner, cases[i].ninner);
		p += cases[i].ninner;
		assert_memory_equal(p, q, cases[i].qlen);
		p += cases[i].qlen;
		assert_int_equal(p[0], 0x78); /* Dnstap 15 type: MESSAGE */
		assert_int_equal(p[1], 0x01);
	}
	free(out);
	free(q);
}

static void
test_dnstap_encode_rejects(void **state)
{
	uint8_t *q = calloc(1, DNSTAP_DNS_MSG_MAX + 1);
	uint8_t out[256];
	char ident[DNSTAP_IDENTITY_MAX + 2];
	struct dnstap_msg m = {.type = DNSTAP_CLIENT_QUERY,
	                       .query = q,
	                       .query_len = DNSTAP_DNS_MSG_MAX + 1};
	size_t need;

	(void)state;
	assert_non_null(q);
	/* A DNS message longer than 65535 bytes. */
	assert_int_equal(dnstap_encoded_size(NULL, &m), 0);
	assert_int_equal(dnstap_encode(out, sizeof(out), NULL, &m), 0);
	m.query = NULL; /* a NULL message is omitted, its length ignored */
	assert_int_not_equal(dnstap_encoded_size(NULL, &m), 0);
	m.response = q;
	m.response_len = DNSTAP_DNS_MSG_MAX + 1;
	assert_int_equal(dnstap_encoded_size(NULL, &m), 0);
	/* An identity longer than 255 bytes. */
	m.response = NULL;
	memset(ident, 'x', sizeof(ident) - 1);
	ident[sizeof(ident) - 1] = '\0';
	assert_int_equal(dnstap_encoded_size(ident, &m), 0);
	ident[DNSTAP_IDENTITY_MAX] = '\0';
	assert_int_not_equal(dnstap_encoded_size(ident, &m), 0);
	/* Every buffer one byte short fails; the exact size succeeds. */
	m.query = query_a_test;
	m.query_len = sizeof(query_a_test);
	need = dnstap_encoded_size("ns1", &m);
	for (size_t cap = 0; cap < need; cap++)
		assert_int_equal(dnstap_encode(out, cap, "ns1", &m), 0);
	assert_int_equal(dnstap_encode(out, need, "ns1", &m), need);
	assert_int_equal(dnstap_encode(NULL, need, "ns1", &m), 0);
	free(q);
}

/* -- the queues, around fstrm's I/O thread ------------------------------- */

/* clang-format off */
/* READY and START carry the content type; STOP and FINISH carry nothing. */
#define CONTROL_WITH_CONTENT_TYPE(type)                                        \
	0, 0, 0, 0,      /* escape: a data frame of length 0 */                \
	0, 0, 0, 0x22,   /* control frame length 34 */                         \
	0, 0, 0, (type), /* control type */                                    \
	0, 0, 0, 0x01,   /* field CONTENT_TYPE */                              \
	0, 0, 0, 0x16,   /* its length, 22 */                                  \
	'p', 'r', 'o', 't', 'o', 'b', 'u', 'f', ':', 'd', 'n', 's', 't',       \
	'a', 'p', '.', 'D', 'n', 's', 't', 'a', 'p'

static const uint8_t fs_ready[] = {CONTROL_WITH_CONTENT_TYPE(0x04)};
static const uint8_t fs_accept[] = {CONTROL_WITH_CONTENT_TYPE(0x01)};
static const uint8_t fs_start[] = {CONTROL_WITH_CONTENT_TYPE(0x02)};
static const uint8_t fs_stop[] = {
	0, 0, 0, 0,    /* escape */
	0, 0, 0, 0x04, /* length 4 */
	0, 0, 0, 0x03, /* CONTROL_STOP */
};
static const uint8_t fs_finish[] = {
	0, 0, 0, 0,    /* escape */
	0, 0, 0, 0x04, /* length 4 */
	0, 0, 0, 0x05, /* CONTROL_FINISH */
};
/* An ACCEPT naming only another content type. */
static const uint8_t fs_accept_other[] = {
	0, 0, 0, 0,    /* escape */
	0, 0, 0, 0x15, /* length 21 */
	0, 0, 0, 0x01, /* CONTROL_ACCEPT */
	0, 0, 0, 0x01, /* field CONTENT_TYPE */
	0, 0, 0, 0x09, /* length 9 */
	'p', 'r', 'o', 't', 'o', 'b', 'u', 'f', ':',
};
/* clang-format on */

#define HOLD_MS 10000 /* the longest a collector waits to be released */

/* A fake Frame Streams reader on a UNIX socket, in a thread of the test. */
struct collector {
	char dir[64];
	char path[108];
	int lfd;
	int hold[2];      /* the test writes a byte to release the collector */
	bool refuse;      /* answer READY with another content type */
	bool hold_data;   /* after START, wait to be released before reading */
	bool hold_finish; /* after STOP, wait to be released, then close */
	pthread_t thread;
	/* Results: read after collector_join(), except the atomics. */
	atomic_bool started; /* START came */
	atomic_size_t nframes;
	bool ok;           /* the exchange ran to its end */
	bool hold_expired; /* nobody released it in HOLD_MS */
	uint8_t ready[64], start[64], stop[64];
	size_t ready_len, start_len, stop_len;
	uint8_t *data; /* data frames, each with its length prefix */
	size_t data_len, data_cap;
};

static int
recv_exact(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* After the 4-byte escape: the control frame, stored with its escape. */
static int
read_control_rest(int fd, uint8_t *out, size_t cap, size_t *len)
{
	uint32_t n;

	memset(out, 0, 4);
	if (recv_exact(fd, out + 4, 4) < 0)
		return -1;
	n = be32(out + 4);
	if (n > cap - 8 || recv_exact(fd, out + 8, n) < 0)
		return -1;
	*len = 8 + n;
	return 0;
}

static int
read_control(int fd, uint8_t *out, size_t cap, size_t *len)
{
	if (recv_exact(fd, out, 4) < 0 || be32(out) != 0)
		return -1;
	return read_control_rest(fd, out, cap, len);
}

static void
collector_data(struct collector *c, const uint8_t *hdr, const uint8_t *p,
               size_t n)
{
	if (c->data_len + 4 + n > c->data_cap) {
		c->data_cap = (c->data_len + 4 + n) * 2;
		c->data = realloc(c->data, c->data_cap);
		assert_non_null(c->data);
	}
	memcpy(c->data + c->data_len, hdr, 4);
	memcpy(c->data + c->data_len + 4, p, n);
	c->data_len += 4 + n;
}

/* Data frames until STOP; 0, or -1 on a broken stream. */
static int
collector_frames(struct collector *c, int fd)
{
	uint8_t *buf = malloc(1 << 20);
	uint8_t hdr[4];
	int rc = -1;

	while (buf != NULL && recv_exact(fd, hdr, 4) == 0) {
		uint32_t n = be32(hdr);

		if (n == 0) {
			rc = read_control_rest(fd, c->stop, sizeof(c->stop),
			                       &c->stop_len);
			break;
		}
		if (n > (1 << 20) || recv_exact(fd, buf, n) < 0)
			break;
		collector_data(c, hdr, buf, n);
		atomic_fetch_add(&c->nframes, 1);
	}
	free(buf);
	return rc;
}

static void
collector_wait_release(struct collector *c)
{
	struct pollfd p = {.fd = c->hold[0], .events = POLLIN};

	c->hold_expired = poll(&p, 1, HOLD_MS) != 1;
}

static void *
collector_main(void *arg)
{
	struct collector *c = arg;
	struct pollfd p = {.fd = c->lfd, .events = POLLIN};
	struct timeval tv = {HOLD_MS / 1000 + 5, 0}; /* no read hangs */
	int fd;

	if (poll(&p, 1, HOLD_MS) != 1)
		return NULL;
	fd = accept(c->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_control(fd, c->ready, sizeof(c->ready), &c->ready_len) < 0)
		goto out;
	if (c->refuse) {
		/* What follows: fstrm keeps the connection and tries the
		 * handshake again on it, never START. */
		send(fd, fs_accept_other, sizeof(fs_accept_other), 0);
		c->ok = read_control(fd, c->start, sizeof(c->start),
		                     &c->start_len) == 0;
		goto out;
	}
	send(fd, fs_accept, sizeof(fs_accept), 0);
	if (read_control(fd, c->start, sizeof(c->start), &c->start_len) < 0)
		goto out;
	atomic_store(&c->started, true);
	if (c->hold_data)
		collector_wait_release(c);
	if (collector_frames(c, fd) < 0)
		goto out;
	if (c->hold_finish)
		collector_wait_release(c);
	else
		send(fd, fs_finish, sizeof(fs_finish), 0);
	c->ok = true;
out:
	close(fd);
	return NULL;
}

static void
collector_path(struct collector *c)
{
	memset(c, 0, sizeof(*c));
	c->lfd = -1;
	assert_int_equal(pipe(c->hold), 0);
	strcpy(c->dir, "/tmp/dnsgate-dnstap-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/tap.sock", c->dir);
}

static void
collector_listen(struct collector *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->lfd >= 0);
	strcpy(sa.sun_path, c->path);
	assert_int_equal(bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(c->lfd, 4), 0);
	assert_int_equal(pthread_create(&c->thread, NULL, collector_main, c),
	                 0);
}

static void
collector_release(struct collector *c)
{
	assert_int_equal(write(c->hold[1], "x", 1), 1);
}

static void
collector_join(struct collector *c)
{
	pthread_join(c->thread, NULL);
}

static void
collector_free(struct collector *c)
{
	if (c->lfd >= 0)
		close(c->lfd);
	c->lfd = -1;
	close(c->hold[0]);
	close(c->hold[1]);
	unlink(c->path);
	rmdir(c->dir);
	free(c->data);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Wait (boundedly) for the writer to finish its handshake. */
static void
wait_started(struct collector *c)
{
	for (int i = 0; i < HOLD_MS / 10 && !atomic_load(&c->started); i++)
		sleep_ms(10);
	assert_true(atomic_load(&c->started));
}

static struct dnstap_output
unix_output(const char *path)
{
	return (struct dnstap_output){.transport = DNSTAP_TO_UNIX,
	                              .path = (char *)path};
}

static int
start_unix(const char *path, const char *identity, unsigned nproducers)
{
	struct dnstap_output out = unix_output(path);

	return dnstap_start(&out, identity, nproducers);
}

/* Append the data frame the writer should send for m. */
static size_t
expect_frame(uint8_t *out, size_t cap, const char *identity,
             const struct dnstap_msg *m)
{
	size_t n = dnstap_encode(out + 4, cap - 4, identity, m);

	assert_int_not_equal(n, 0);
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return 4 + n;
}

static void
assert_control(const uint8_t *got, size_t len, const uint8_t *want,
               size_t want_len)
{
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
}

static void
test_dnstap_null_ring_is_noop(void **state)
{
	struct dnstap_msg m = {.type = DNSTAP_CLIENT_QUERY};
	unsigned long base = dnstap_dropped_total();

	(void)state;
	dnstap_message(NULL, &m);
	assert_int_equal(dnstap_dropped_total(), base);
}

static void
test_dnstap_start_rejects(void **state)
{
	char ident[DNSTAP_IDENTITY_MAX + 2];
	struct dnstap_output none = {0};

	(void)state;
	memset(ident, 'i', sizeof(ident) - 1);
	ident[sizeof(ident) - 1] = '\0';
	assert_int_equal(start_unix("/nonexistent/tap.sock", ident, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(start_unix("/nonexistent/tap.sock", "x", 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dnstap_start(&none, "x", 1), -1);
	assert_int_equal(errno, EINVAL);
	/* No queue before a start. */
	assert_null(dnstap_ring_new());
	assert_int_equal(errno, EINVAL);
}

/* One queue per producer, as many as announced; a second start fails. */
static void
test_dnstap_one_queue_per_producer(void **state)
{
	struct dnstap_ring *a, *b;

	(void)state;
	assert_int_equal(start_unix("/nonexistent/tap.sock", "unit", 2), 0);
	assert_int_equal(start_unix("/nonexistent/tap.sock", "unit", 2), -1);
	assert_int_equal(errno, EALREADY);
	a = dnstap_ring_new();
	b = dnstap_ring_new();
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_null(dnstap_ring_new());
	assert_int_equal(errno, ENOSPC);
	dnstap_stop();
}

static void
test_dnstap_writer_handshake_and_frames(void **state)
{
	struct ip_addr client = addr("192.0.2.1"), server = addr("192.0.2.53");
	struct timespec t = {1700000000, 5};
	struct dnstap_msg msgs[] = {
	    {.type = DNSTAP_CLIENT_QUERY,
	     .query_addr = &client,
	     .query_port = 53000,
	     .response_addr = &server,
	     .response_port = 53,
	     .query_time = &t,
	     .query = query_a_test,
	     .query_len = sizeof(query_a_test)},
	    {.type = DNSTAP_CLIENT_RESPONSE,
	     .proto = TRANSPORT_TCP,
	     .query_addr = &client,
	     .query_port = 53001,
	     .response_addr = &server,
	     .response_port = 53,
	     .response_time = &t,
	     .response = response_header,
	     .response_len = sizeof(response_header)},
	    {.type = DNSTAP_FORWARDER_QUERY},
	};
	uint8_t want[1024];
	size_t want_len = 0;
	struct collector c;
	struct dnstap_ring *r;

	(void)state;
	collector_path(&c);
	collector_listen(&c);
	assert_int_equal(start_unix(c.path, "unit", 1), 0);
	r = dnstap_ring_new();
	assert_non_null(r);
	/* fstrm discards what comes before its output is open. */
	wait_started(&c);
	for (size_t i = 0; i < N_ELEMS(msgs); i++) {
		dnstap_message(r, &msgs[i]);
		want_len += expect_frame(
		    want + want_len, sizeof(want) - want_len, "unit", &msgs[i]);
	}
	dnstap_stop();
	collector_join(&c);
	assert_true(c.ok);
	assert_control(c.ready, c.ready_len, fs_ready, sizeof(fs_ready));
	assert_control(c.start, c.start_len, fs_start, sizeof(fs_start));
	assert_control(c.stop, c.stop_len, fs_stop, sizeof(fs_stop));
	assert_int_equal(atomic_load(&c.nframes), N_ELEMS(msgs));
	assert_int_equal(c.data_len, want_len);
	assert_memory_equal(c.data, want, want_len);
	assert_int_equal(dnstap_dropped_total(), 0);
	collector_free(&c);
}

/* Started before the socket exists: fstrm connects once it does. */
static void
test_dnstap_writer_connects_later(void **state)
{
	struct dnstap_msg m = {.type = DNSTAP_CLIENT_QUERY,
	                       .query = query_a_test,
	                       .query_len = sizeof(query_a_test)};
	char host[DNSTAP_IDENTITY_MAX + 1];
	uint8_t late[sizeof(query_a_test)];
	struct collector c;
	struct dnstap_ring *r;
	uint8_t want[256];
	size_t want_len;

	(void)state;
	memcpy(late, query_a_test, sizeof(late));
	collector_path(&c);
	assert_int_equal(start_unix(c.path, NULL, 1), 0);
	r = dnstap_ring_new();
	assert_non_null(r);
	dnstap_message(r, &m); /* returns at once, no socket or not */
	collector_listen(&c);
	wait_started(&c);
	late[1] = 0x35; /* another ID */
	m.query = late;
	dnstap_message(r, &m);
	dnstap_stop();
	collector_join(&c);
	assert_true(c.ok);
	/* identity NULL: the host name. The first message was submitted
	 * while no output was open: fstrm may have discarded it, or kept it
	 * until it opened one. The second one arrived, last. */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	want_len = expect_frame(want, sizeof(want), host, &m);
	assert_in_range(atomic_load(&c.nframes), 1, 2);
	assert_true(c.data_len >= want_len);
	assert_memory_equal(c.data + c.data_len - want_len, want, want_len);
	collector_free(&c);
}

static void
test_dnstap_writer_refused_content_type(void **state)
{
	struct collector c;

	(void)state;
	collector_path(&c);
	c.refuse = true;
	collector_listen(&c);
	assert_int_equal(start_unix(c.path, "unit", 1), 0);
	collector_join(&c);
	dnstap_stop();
	assert_true(c.ok);
	/* Refused, it asks again instead of starting. */
	assert_control(c.start, c.start_len, fs_ready, sizeof(fs_ready));
	collector_free(&c);
}

/*
 * A collector that takes STOP but never answers FINISH: the stop gives up
 * waiting (the collector is still holding when it returns) and leaves a
 * thread behind, which ends once the collector closes.
 */
static void
test_dnstap_stop_bounded_without_finish(void **state)
{
	struct dnstap_msg m = {.type = DNSTAP_CLIENT_QUERY};
	struct collector c;
	struct dnstap_ring *r;

	(void)state;
	collector_path(&c);
	c.hold_finish = true;
	collector_listen(&c);
	assert_int_equal(start_unix(c.path, "unit", 1), 0);
	r = dnstap_ring_new();
	assert_non_null(r);
	wait_started(&c);
	dnstap_message(r, &m);
	dnstap_stop();
	collector_release(&c);
	collector_join(&c);
	assert_false(c.hold_expired);
	assert_true(c.ok);
	assert_control(c.stop, c.stop_len, fs_stop, sizeof(fs_stop));
	assert_int_equal(atomic_load(&c.nframes), 1);
	collector_free(&c);
}

/*
 * A collector that stops reading: the queue fills up, and further
 * messages are dropped and counted, never waited for. Every message not
 * counted arrives, whole and in order, once the collector reads again.
 */
static void
test_dnstap_full_queue_drops_and_counts(void **state)
{
	enum { QLEN = 60000, MAX_PUSH = 2000 };
	uint8_t *q = calloc(1, QLEN), *want = malloc(QLEN + 256);
	struct dnstap_msg m = {
	    .type = DNSTAP_CLIENT_QUERY, .query = q, .query_len = QLEN};
	bool *kept = calloc(MAX_PUSH, sizeof(bool));
	unsigned long dropped = 0;
	unsigned pushed = 0, nkept = 0;
	size_t off = 0;
	struct collector c;
	struct dnstap_ring *r;

	(void)state;
	assert_non_null(q);
	assert_non_null(want);
	assert_non_null(kept);
	collector_path(&c);
	c.hold_data = true;
	collector_listen(&c);
	assert_int_equal(start_unix(c.path, "unit", 1), 0);
	r = dnstap_ring_new();
	assert_non_null(r);
	wait_started(&c);
	/* Until a drop, then 10 more: the queue holds 4 MB at most. */
	while (pushed < MAX_PUSH && dropped < 10) {
		unsigned long before = dnstap_dropped_total();

		memcpy(q, &pushed, sizeof(pushed)); /* a sequence number */
		dnstap_message(r, &m);
		kept[pushed] = dnstap_dropped_total() == before;
		nkept += kept[pushed];
		dropped = dnstap_dropped_total();
		pushed++;
	}
	assert_true(dropped > 0);
	assert_true(pushed < MAX_PUSH);
	/* An invalid message is a drop too. */
	m.query_len = DNSTAP_DNS_MSG_MAX + 1;
	dnstap_message(r, &m);
	assert_int_equal(dnstap_dropped_total(), dropped + 1);
	m.query_len = QLEN;
	collector_release(&c);
	dnstap_stop();
	collector_join(&c);
	assert_true(c.ok);
	assert_int_equal(atomic_load(&c.nframes), nkept);
	for (unsigned i = 0; i < pushed; i++) {
		size_t n;

		if (!kept[i])
			continue;
		memcpy(q, &i, sizeof(i));
		n = expect_frame(want, QLEN + 256, "unit", &m);
		assert_true(off + n <= c.data_len);
		assert_memory_equal(c.data + off, want, n);
		off += n;
	}
	assert_int_equal(off, c.data_len);
	collector_free(&c);
	free(kept);
	free(want);
	free(q);
}

/* A file output: START, the data frames, STOP (no handshake). */
static void
test_dnstap_file_output(void **state)
{
	char dir[] = "/tmp/dnsgate-dnstap-XXXXXX", path[64];
	struct dnstap_msg m = {.type = DNSTAP_CLIENT_QUERY,
	                       .query = query_a_test,
	                       .query_len = sizeof(query_a_test)};
	struct dnstap_output out = {.transport = DNSTAP_TO_FILE};
	uint8_t got[1024], want[1024];
	size_t want_len = 0;
	struct dnstap_ring *r;
	FILE *f;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tap.fstrm", dir);
	out.path = path;
	assert_int_equal(dnstap_start(&out, "unit", 1), 0);
	r = dnstap_ring_new();
	assert_non_null(r);
	/* The I/O thread opens the file as it starts. */
	for (int i = 0; i < HOLD_MS / 10 && access(path, F_OK) != 0; i++)
		sleep_ms(10);
	dnstap_message(r, &m);
	dnstap_message(r, &m);
	dnstap_stop();
	memcpy(want, fs_start, sizeof(fs_start));
	want_len = sizeof(fs_start);
	want_len +=
	    expect_frame(want + want_len, sizeof(want) - want_len, "unit", &m);
	want_len +=
	    expect_frame(want + want_len, sizeof(want) - want_len, "unit", &m);
	memcpy(want + want_len, fs_stop, sizeof(fs_stop));
	want_len += sizeof(fs_stop);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got), f);
	fclose(f);
	assert_int_equal(n, want_len);
	assert_memory_equal(got, want, want_len);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dnstap_encode_client_query_v4),
	    cmocka_unit_test(test_dnstap_encode_client_response_v6_tcp),
	    cmocka_unit_test(test_dnstap_encode_minimal),
	    cmocka_unit_test(test_dnstap_encode_forwarder_over_tls_is_dot),
	    cmocka_unit_test(test_dnstap_encode_mixed_families_use_inet6),
	    cmocka_unit_test(test_dnstap_encode_varint_edges),
	    cmocka_unit_test(test_dnstap_encode_length_varints),
	    cmocka_unit_test(test_dnstap_encode_rejects),
	    cmocka_unit_test(test_dnstap_null_ring_is_noop),
	    cmocka_unit_test(test_dnstap_start_rejects),
	    cmocka_unit_test(test_dnstap_one_queue_per_producer),
	    cmocka_unit_test(test_dnstap_writer_handshake_and_frames),
	    cmocka_unit_test(test_dnstap_writer_connects_later),
	    cmocka_unit_test(test_dnstap_writer_refused_content_type),
	    cmocka_unit_test(test_dnstap_stop_bounded_without_finish),
	    cmocka_unit_test(test_dnstap_full_queue_drops_and_counts),
	    cmocka_unit_test(test_dnstap_file_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
