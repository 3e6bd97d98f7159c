/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_name.c — reading (with compression), comparing and
 * printing domain names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/name.h"

/* clang-format off: names and packets are laid out one field per line. */

/* 16 and 63 bytes of label data, to build long names. */
#define X16                                                                   \
	'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', \
	    'x', 'x'
#define X63                                                                   \
	X16, X16, X16, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', \
	    'x', 'x', 'x', 'x'
#define L63 63, X63 /* one 63-byte label */

/*
 * Names follow a 12-byte message header (RFC 1035 4.1.1); pointers into it
 * are rejected, so the messages below start with one.
 */
#define HEADER 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

/* "www.Example.COM." with a 2-byte prefix standing in for a header. */
static const uint8_t msg_plain[] = {
    0xaa, 0xbb,                               /* 0: not a name */
    3,    'w',  'w', 'w',                     /* 2: "www" */
    7,    'E',  'x', 'a', 'm', 'p', 'l', 'e', /* "Example" */
    3,    'C',  'O', 'M',                     /* "COM" */
    0,                                        /* root */
    0xee,                                     /* 19: after the name */
};

/*
 * example.com at 12, then "www" + pointer to 12 at 25, then a bare pointer
 * to 25 at 31 (a chain: 31 -> 25 -> 12).
 */
static const uint8_t msg_compressed[] = {
    HEADER, 7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', /* 12: "example" */
    3,      'c',  'o', 'm', 0,                       /* 20: "com", root */
    3,      'w',  'w', 'w',                          /* 25: "www" */
    0xc0,   0x0c,                                    /* 29: pointer to 12 */
    0xc0,   0x19,                                    /* 31: pointer to 25 */
    0xee,                                            /* 33: after the names */
};

/* clang-format on */

static void
test_name_read_plain_preserves_case(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		3, 'w', 'w', 'w',
		7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'C', 'O', 'M',
		0,
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg_plain, sizeof(msg_plain));
	wire_seek(&w, 2);
	assert_int_equal(dns_name_read(&w, out), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(w.pos, 19);
	assert_int_equal(w.err, 0);
}

static void
test_name_read_follows_pointer_chain(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		3, 'w', 'w', 'w',
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'c', 'o', 'm',
		0,
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg_compressed, sizeof(msg_compressed));
	wire_seek(&w, 31);
	assert_int_equal(dns_name_read(&w, out), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* Just past the first pointer, not where the chain ended. */
	assert_int_equal(w.pos, 33);

	wire_seek(&w, 25);
	assert_int_equal(dns_name_read(&w, out), sizeof(want));
	assert_int_equal(w.pos, 31);
}

static void
test_name_read_rejects_self_pointer(void **state)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		HEADER,
		0xc0, 0x0c,		/* 12: pointer to itself */
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg, sizeof(msg));
	wire_seek(&w, 12);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_name_read_rejects_pointer_into_own_sequence(void **state)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		HEADER,
		1, 'a',			/* 12: label "a" */
		0xc0, 0x0c,		/* 14: pointer back to 12, this name */
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg, sizeof(msg));
	wire_seek(&w, 12);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_name_read_rejects_forward_pointer(void **state)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		HEADER,
		0xc0, 0x0e,		/* 12: pointer forward to 14 */
		0,			/* 14: root */
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg, sizeof(msg));
	wire_seek(&w, 12);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_name_read_rejects_two_pointer_loop(void **state)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		HEADER,
		0,			/* 12: root (never reached) */
		0xc0, 0x0f,		/* 13: pointer to 15 (forward) */
		0xc0, 0x0d,		/* 15: pointer back to 13 */
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	/* Starting at 15: back to 13 is fine, then 13 -> 15 is not before 13.
	 */
	wire_init(&w, msg, sizeof(msg));
	wire_seek(&w, 15);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_name_read_rejects_pointer_into_header(void **state)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		HEADER,			/* ARCOUNT's low byte (11) is 0: a "root" */
		0xc0, 0x0b,		/* 12: pointer to 11 */
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg, sizeof(msg));
	wire_seek(&w, 12);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_name_read_rejects_target_running_past_pointer(void **state)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		HEADER,
		4, 'x',			/* 12: a 4-byte label spanning 13..16 */
		0xc0, 0x0c,		/* 14: pointer back to 12 */
		'y', 0,			/* 16: end of the label, root */
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	/* From 12 the bytes form a name, but not a prior occurrence. */
	wire_init(&w, msg, sizeof(msg));
	wire_seek(&w, 12);
	assert_int_equal(dns_name_read(&w, out), 6);
	wire_seek(&w, 14);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_name_read_rejects_label_types(void **state)
{
	static const uint8_t ext[] = {0x41, 'a', 0};  /* 0x40: extended */
	static const uint8_t resv[] = {0x81, 'a', 0}; /* 0x80: reserved */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, ext, sizeof(ext));
	assert_int_equal(dns_name_read(&w, out), 0);
	wire_init(&w, resv, sizeof(resv));
	assert_int_equal(dns_name_read(&w, out), 0);
}

static void
test_name_read_label_63_ok(void **state)
{
	static const uint8_t msg[] = {L63, 0};
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg, sizeof(msg));
	assert_int_equal(dns_name_read(&w, out), 65);
}

static void
test_name_read_rejects_truncated(void **state)
{
	static const uint8_t msg[] = {3, 'w', 'w', 'w', 3, 'c', 'o'};
	static const uint8_t no_root[] = {3, 'w', 'w', 'w'};
	static const uint8_t half_ptr[] = {0, 0xc0};
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg, sizeof(msg));
	assert_int_equal(dns_name_read(&w, out), 0);
	wire_init(&w, no_root, sizeof(no_root));
	assert_int_equal(dns_name_read(&w, out), 0);
	wire_init(&w, half_ptr, sizeof(half_ptr));
	wire_seek(&w, 1);
	assert_int_equal(dns_name_read(&w, out), 0);
}

static void
test_name_read_length_limit(void **state)
{
	/* 3 x 64 + 62 = 254 bytes of labels + root = 255: the maximum. */
	/* clang-format off */
	static const uint8_t max[] = {
		L63, L63, L63,
		61, X16, X16, X16, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
		'x', 'x', 'x', 'x',
		0,
	};
	/* clang-format on */
	/* 3 x 64 + 63 + root = 256 bytes: one too many. */
	/* clang-format off */
	static const uint8_t over_by_one[] = {
		L63, L63, L63,
		62, X16, X16, X16, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
		'x', 'x', 'x', 'x', 'x',
		0,
	};
	/* clang-format on */
	/* Four 63-byte labels: 257 bytes. */
	static const uint8_t over[] = {L63, L63, L63, L63, 0};
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	assert_int_equal(sizeof(max), 255);
	wire_init(&w, max, sizeof(max));
	assert_int_equal(dns_name_read(&w, out), 255);
	assert_int_equal(dns_name_len(out), 255);
	assert_int_equal(sizeof(over_by_one), 256);
	wire_init(&w, over_by_one, sizeof(over_by_one));
	assert_int_equal(dns_name_read(&w, out), 0);
	wire_init(&w, over, sizeof(over));
	assert_int_equal(dns_name_read(&w, out), 0);
}

static void
test_name_read_length_limit_across_pointer(void **state)
{
	/* Two 63-byte labels at 12 then three more + pointer: 5 x 64 > 255. */
	/* clang-format off */
	static const uint8_t msg[] = {
		HEADER,
		L63, L63, 0,		/* 12: two labels and the root */
		L63, L63, L63,		/* 141: three more labels ... */
		0xc0, 0x0c,		/* ... and a pointer to 12 */
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg, sizeof(msg));
	wire_seek(&w, 12 + 129);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

/* A header, a root at 12, then count pointers, each to the one before. */
static size_t
pointer_chain(uint8_t *msg, unsigned count)
{
	size_t len = 13;
	unsigned i;

	memset(msg, 0, len);
	for (i = 0; i < count; i++) {
		size_t target = i == 0 ? 12 : len - 2;

		msg[len++] = (uint8_t)(0xc0 | target >> 8);
		msg[len++] = (uint8_t)target;
	}
	return len;
}

static void
test_name_read_hop_cap(void **state)
{
	uint8_t msg[13 + 2 * (DNS_NAME_MAX_HOPS + 1)];
	uint8_t out[DNS_NAME_MAX];
	struct wire w;
	size_t len;

	(void)state;
	len = pointer_chain(msg, DNS_NAME_MAX_HOPS);
	wire_init(&w, msg, len);
	wire_seek(&w, len - 2);
	assert_int_equal(dns_name_read(&w, out), 1);
	assert_int_equal(w.pos, len);

	len = pointer_chain(msg, DNS_NAME_MAX_HOPS + 1);
	wire_init(&w, msg, len);
	wire_seek(&w, len - 2);
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_name_read_after_error_fails(void **state)
{
	uint8_t out[DNS_NAME_MAX];
	struct wire w;

	(void)state;
	wire_init(&w, msg_plain, sizeof(msg_plain));
	w.err = 1;
	assert_int_equal(dns_name_read(&w, out), 0);
	assert_int_equal(dns_name_skip(&w), -1);
}

static void
test_name_skip_moves_past_name(void **state)
{
	static const uint8_t loop[] = {HEADER, 0xc0, 0x0c};
	struct wire w;

	(void)state;
	wire_init(&w, msg_compressed, sizeof(msg_compressed));
	wire_seek(&w, 25);
	assert_int_equal(dns_name_skip(&w), 0);
	assert_int_equal(w.pos, 31);
	wire_init(&w, loop, sizeof(loop));
	wire_seek(&w, 12);
	assert_int_equal(dns_name_skip(&w), -1);
}

/* clang-format off */
static const uint8_t n_root[] = {0};
static const uint8_t n_com[] = {3, 'c', 'o', 'm', 0};
static const uint8_t n_example[] = {
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	3, 'c', 'o', 'm',
	0,
};
static const uint8_t n_www_upper[] = {
	3, 'W', 'W', 'W',
	7, 'E', 'X', 'A', 'M', 'P', 'L', 'E',
	3, 'C', 'O', 'M',
	0,
};
static const uint8_t n_badexample[] = {
	10, 'b', 'a', 'd', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	3, 'c', 'o', 'm',
	0,
};
/* clang-format on */

static void
test_name_len_labels_parent(void **state)
{
	(void)state;
	assert_int_equal(dns_name_len(n_root), 1);
	assert_int_equal(dns_name_len(n_example), 13);
	assert_int_equal(dns_name_labels(n_root), 0);
	assert_int_equal(dns_name_labels(n_www_upper), 3);
	assert_null(dns_name_parent(n_root));
	assert_ptr_equal(dns_name_parent(n_example), n_example + 8);
	assert_ptr_equal(dns_name_parent(n_com), n_com + 4);
}

static void
test_name_equal_ignores_case(void **state)
{
	(void)state;
	assert_true(dns_name_equal(n_www_upper + 4, n_example));
	assert_false(dns_name_equal(n_www_upper, n_example));
	assert_false(dns_name_equal(n_badexample, n_example));
	assert_true(dns_name_equal(n_root, n_root));
}

static void
test_name_is_sub_on_label_boundary(void **state)
{
	(void)state;
	assert_true(dns_name_is_sub(n_www_upper, n_example));
	assert_true(dns_name_is_sub(n_example, n_example));
	assert_true(dns_name_is_sub(n_example, n_root));
	assert_true(dns_name_is_sub(n_example, n_com));
	/* badexample.com is not below example.com. */
	assert_false(dns_name_is_sub(n_badexample, n_example));
	assert_false(dns_name_is_sub(n_com, n_example));
}

static void
test_name_lower(void **state)
{
	uint8_t n[sizeof(n_www_upper)];

	(void)state;
	memcpy(n, n_www_upper, sizeof(n));
	dns_name_lower(n);
	assert_int_equal(n[0], 3);
	assert_memory_equal(n + 4, n_example, sizeof(n_example));
	assert_int_equal(n[1], 'w');
}

static void
test_name_compare_canonical_order(void **state)
{
	/* RFC 4034 6.1's example, in order. */
	static const char *const sorted[] = {
	    "example.",         "a.example.",      "yljkjljk.a.example.",
	    "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
	    "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
	};
	uint8_t a[DNS_NAME_MAX], b[DNS_NAME_MAX];
	size_t i, j, n = sizeof(sorted) / sizeof(sorted[0]);
	int c;

	(void)state;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			assert_int_not_equal(
			    dns_name_from_text(sorted[i], NULL, a), 0);
			assert_int_not_equal(
			    dns_name_from_text(sorted[j], NULL, b), 0);
			c = dns_name_compare(a, b);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	}
	assert_true(dns_name_compare(n_root, n_com) < 0);
	assert_int_equal(dns_name_compare(n_www_upper + 4, n_example), 0);
}

static void
test_name_to_text_plain_and_root(void **state)
{
	char out[DNS_NAME_TEXT_MAX];

	(void)state;
	assert_int_equal(dns_name_to_text(n_root, out, sizeof(out)), 1);
	assert_string_equal(out, ".");
	assert_int_equal(dns_name_to_text(n_www_upper, out, sizeof(out)), 16);
	assert_string_equal(out, "WWW.EXAMPLE.COM.");
}

static void
test_name_to_text_escapes(void **state)
{
	/* clang-format off */
	static const uint8_t name[] = {
		4, 'a', '.', 'b', '\\',	/* "a.b\" */
		3, ' ', 0x00, 0xff,	/* space, NUL, 0xff */
		8, '"', ';', '(', ')', '@', '$', '-', '*',	/* specials */
		0,
	};
	/* clang-format on */
	char out[DNS_NAME_TEXT_MAX];
	const char *want = "a\\.b\\\\.\\032\\000\\255."
	                   "\\\"\\;\\(\\)\\@\\$-*.";

	(void)state;
	assert_int_equal(dns_name_to_text(name, out, sizeof(out)),
	                 (int)strlen(want));
	assert_string_equal(out, want);
}

static void
test_name_to_text_cap(void **state)
{
	char out[16];

	(void)state;
	/* "com." needs 5 bytes with the NUL. */
	assert_int_equal(dns_name_to_text(n_com, out, 5), 4);
	assert_string_equal(out, "com.");
	assert_int_equal(dns_name_to_text(n_com, out, 4), -1);
	assert_int_equal(dns_name_to_text(n_root, out, 1), -1);
	assert_int_equal(dns_name_to_text(n_root, out, 0), -1);
}

static void
test_name_to_text_worst_case_fits(void **state)
{
	uint8_t name[DNS_NAME_MAX];
	char out[DNS_NAME_TEXT_MAX];
	size_t i;

	(void)state;
	/* 127 one-byte labels of 0xff: every byte as \DDD. */
	for (i = 0; i < 127; i++) {
		name[2 * i] = 1;
		name[2 * i + 1] = 0xff;
	}
	name[254] = 0;
	assert_int_equal(dns_name_to_text(name, out, sizeof(out)), 127 * 5);
}

static void
test_name_from_text_absolute_and_relative(void **state)
{
	/* clang-format off */
	static const uint8_t www_example[] = {
		3, 'w', 'w', 'w',
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'c', 'o', 'm',
		0,
	};
	/* clang-format on */
	uint8_t out[DNS_NAME_MAX];

	(void)state;
	assert_int_equal(dns_name_from_text("www.example.com.", NULL, out), 17);
	assert_memory_equal(out, www_example, 17);
	assert_int_equal(dns_name_from_text("www.example.com", NULL, out), 17);
	assert_memory_equal(out, www_example, 17);
	assert_int_equal(dns_name_from_text("www", n_example, out), 17);
	assert_memory_equal(out, www_example, 17);
	assert_int_equal(dns_name_from_text("com.", n_example, out), 5);
	assert_int_equal(dns_name_from_text("@", n_example, out), 13);
	assert_memory_equal(out, n_example, 13);
	assert_int_equal(dns_name_from_text("@", NULL, out), 1);
	assert_int_equal(dns_name_from_text(".", n_example, out), 1);
	assert_int_equal(out[0], 0);
}

static void
test_name_from_text_escapes(void **state)
{
	static const uint8_t want[] = {5, 'a', '.', 'b', 'A', 0x00, 0};
	uint8_t out[DNS_NAME_MAX];

	(void)state;
	assert_int_equal(dns_name_from_text("a\\.b\\065\\000.", NULL, out), 7);
	assert_memory_equal(out, want, sizeof(want));
	/* An escaped final dot is part of the label: still relative. */
	assert_int_equal(dns_name_from_text("a\\.", n_com, out), 8);
}

static void
test_name_from_text_rejects_bad(void **state)
{
	uint8_t out[DNS_NAME_MAX];
	char text[400];

	(void)state;
	assert_int_equal(dns_name_from_text("", NULL, out), 0);
	assert_int_equal(dns_name_from_text("a..b", NULL, out), 0);
	assert_int_equal(dns_name_from_text(".a", NULL, out), 0);
	assert_int_equal(dns_name_from_text("..", NULL, out), 0);
	assert_int_equal(dns_name_from_text("a\\", NULL, out), 0);
	assert_int_equal(dns_name_from_text("a\\25", NULL, out), 0);
	assert_int_equal(dns_name_from_text("a\\2x5", NULL, out), 0);
	assert_int_equal(dns_name_from_text("a\\256", NULL, out), 0);
	/* A 64-byte label. */
	memset(text, 'x', 64);
	text[64] = '\0';
	assert_int_equal(dns_name_from_text(text, NULL, out), 0);
	text[63] = '\0';
	assert_int_equal(dns_name_from_text(text, NULL, out), 65);
}

static void
test_name_from_text_length_limit(void **state)
{
	uint8_t out[DNS_NAME_MAX];
	char text[400];
	size_t i;

	(void)state;
	/* 127 labels "x." = 254 text bytes, 255 wire bytes: the maximum. */
	for (i = 0; i < 127; i++)
		memcpy(text + 2 * i, "x.", 2);
	text[254] = '\0';
	assert_int_equal(dns_name_from_text(text, NULL, out), 255);
	/* One more byte in the first label: 256. */
	memmove(text + 1, text, 255);
	assert_int_equal(dns_name_from_text(text, NULL, out), 0);
	/* 255 bytes only once the origin is appended. */
	text[252] = '\0';
	assert_int_equal(dns_name_from_text(text + 1, n_com, out), 0);
	assert_int_equal(dns_name_from_text(text + 1, n_root, out), 253);
	/* 125 relative labels (250 bytes) + "com." (5) = 255 exactly. */
	text[250] = '\0';
	assert_int_equal(dns_name_from_text(text + 1, n_com, out), 255);
	assert_int_equal(dns_name_from_text(text, n_com, out), 0);
}

static void
test_name_text_round_trip(void **state)
{
	static const char *const names[] = {
	    ".",
	    "example.com.",
	    "MiXeD.CaSe.",
	    "a\\.b.c.",
	    "\\\\\\\"\\;\\(\\)\\@\\$.",
	    "\\000\\001\\032\\127\\255.x.",
	    "*.wild.",
	    "_dmarc.example.",
	};
	uint8_t wire_name[DNS_NAME_MAX];
	char text[DNS_NAME_TEXT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_not_equal(
		    dns_name_from_text(names[i], NULL, wire_name), 0);
		assert_int_equal(
		    dns_name_to_text(wire_name, text, sizeof(text)),
		    (int)strlen(names[i]));
		assert_string_equal(text, names[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_read_plain_preserves_case),
	    cmocka_unit_test(test_name_read_follows_pointer_chain),
	    cmocka_unit_test(test_name_read_rejects_self_pointer),
	    cmocka_unit_test(test_name_read_rejects_pointer_into_own_sequence),
	    cmocka_unit_test(test_name_read_rejects_forward_pointer),
	    cmocka_unit_test(test_name_read_rejects_two_pointer_loop),
	    cmocka_unit_test(test_name_read_rejects_pointer_into_header),
	    cmocka_unit_test(
	        test_name_read_rejects_target_running_past_pointer),
	    cmocka_unit_test(test_name_read_rejects_label_types),
	    cmocka_unit_test(test_name_read_label_63_ok),
	    cmocka_unit_test(test_name_read_rejects_truncated),
	    cmocka_unit_test(test_name_read_length_limit),
	    cmocka_unit_test(test_name_read_length_limit_across_pointer),
	    cmocka_unit_test(test_name_read_hop_cap),
	    cmocka_unit_test(test_name_read_after_error_fails),
	    cmocka_unit_test(test_name_skip_moves_past_name),
	    cmocka_unit_test(test_name_len_labels_parent),
	    cmocka_unit_test(test_name_equal_ignores_case),
	    cmocka_unit_test(test_name_is_sub_on_label_boundary),
	    cmocka_unit_test(test_name_lower),
	    cmocka_unit_test(test_name_compare_canonical_order),
	    cmocka_unit_test(test_name_to_text_plain_and_root),
	    cmocka_unit_test(test_name_to_text_escapes),
	    cmocka_unit_test(test_name_to_text_cap),
	    cmocka_unit_test(test_name_to_text_worst_case_fits),
	    cmocka_unit_test(test_name_from_text_absolute_and_relative),
	    cmocka_unit_test(test_name_from_text_escapes),
	    cmocka_unit_test(test_name_from_text_rejects_bad),
	    cmocka_unit_test(test_name_from_text_length_limit),
	    cmocka_unit_test(test_name_text_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
