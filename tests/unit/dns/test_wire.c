/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_wire.c — the wire cursor and the output buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/wire.h"

static const uint8_t sample[] = {
    0x12,                   /* u8 */
    0x34, 0x56,             /* u16 0x3456 */
    0x89, 0xab, 0xcd, 0xef, /* u32 0x89abcdef */
    0x01, 0x02,             /* two raw bytes */
};

static void
test_wire_reads_big_endian(void **state)
{
	struct wire w;
	uint8_t raw[2];

	(void)state;
	wire_init(&w, sample, sizeof(sample));
	assert_int_equal(wire_left(&w), 9);
	assert_int_equal(wire_u8(&w), 0x12);
	assert_int_equal(wire_u16(&w), 0x3456);
	assert_int_equal(wire_u32(&w), 0x89abcdefu);
	wire_read(&w, raw, sizeof(raw));
	assert_int_equal(raw[0], 0x01);
	assert_int_equal(raw[1], 0x02);
	assert_int_equal(w.err, 0);
	assert_int_equal(wire_left(&w), 0);
	assert_int_equal(w.pos, sizeof(sample));
}

static void
test_wire_short_read_is_sticky(void **state)
{
	struct wire w;

	(void)state;
	wire_init(&w, sample, 3);
	assert_int_equal(wire_u16(&w), 0x1234);
	/* One byte left: a u16 fails, and so does everything after. */
	assert_int_equal(wire_u16(&w), 0);
	assert_int_not_equal(w.err, 0);
	assert_int_equal(w.pos, 2);
	assert_int_equal(wire_left(&w), 0);
	assert_int_equal(wire_u8(&w), 0);
	assert_int_equal(w.pos, 2);
	wire_seek(&w, 0);
	assert_int_equal(w.pos, 2);
	assert_int_equal(wire_u8(&w), 0);
}

static void
test_wire_u32_short_fails(void **state)
{
	struct wire w;

	(void)state;
	wire_init(&w, sample, 3);
	assert_int_equal(wire_u32(&w), 0);
	assert_int_not_equal(w.err, 0);
	assert_int_equal(w.pos, 0);
}

static void
test_wire_read_short_zero_fills(void **state)
{
	struct wire w;
	uint8_t dst[4] = {0xff, 0xff, 0xff, 0xff};

	(void)state;
	wire_init(&w, sample, 3);
	wire_read(&w, dst, sizeof(dst));
	assert_int_not_equal(w.err, 0);
	assert_int_equal(dst[0], 0);
	assert_int_equal(dst[3], 0);
	assert_int_equal(w.pos, 0);
}

static void
test_wire_skip_bounds(void **state)
{
	struct wire w;

	(void)state;
	wire_init(&w, sample, sizeof(sample));
	wire_skip(&w, sizeof(sample));
	assert_int_equal(w.err, 0);
	assert_int_equal(wire_left(&w), 0);
	wire_skip(&w, 1);
	assert_int_not_equal(w.err, 0);
	assert_int_equal(w.pos, sizeof(sample));
}

static void
test_wire_skip_huge_fails(void **state)
{
	struct wire w;

	(void)state;
	wire_init(&w, sample, sizeof(sample));
	wire_u8(&w);
	wire_skip(&w, SIZE_MAX);
	assert_int_not_equal(w.err, 0);
	assert_int_equal(w.pos, 1);
}

static void
test_wire_seek_bounds(void **state)
{
	struct wire w;

	(void)state;
	wire_init(&w, sample, sizeof(sample));
	wire_seek(&w, 3);
	assert_int_equal(wire_u8(&w), 0x89);
	wire_seek(&w, sizeof(sample));
	assert_int_equal(w.err, 0);
	assert_int_equal(wire_left(&w), 0);
	wire_seek(&w, sizeof(sample) + 1);
	assert_int_not_equal(w.err, 0);
	assert_int_equal(w.pos, sizeof(sample));
}

static void
test_wire_empty_buffer(void **state)
{
	struct wire w;
	uint8_t dst[1];

	(void)state;
	wire_init(&w, NULL, 0);
	assert_int_equal(wire_left(&w), 0);
	wire_read(&w, dst, 0);
	assert_int_equal(w.err, 0);
	assert_int_equal(wire_u8(&w), 0);
	assert_int_not_equal(w.err, 0);
}

static void
test_wbuf_writes_big_endian(void **state)
{
	static const uint8_t want[] = {
	    0x12,                   /* u8 */
	    0x34, 0x56,             /* u16 */
	    0x89, 0xab, 0xcd, 0xef, /* u32 */
	    0x01, 0x02,             /* bytes */
	};
	uint8_t buf[16];
	struct wbuf b;

	(void)state;
	wbuf_init(&b, buf, sizeof(buf));
	wbuf_u8(&b, 0x12);
	wbuf_u16(&b, 0x3456);
	wbuf_u32(&b, 0x89abcdefu);
	wbuf_bytes(&b, "\x01\x02", 2);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void
test_wbuf_overflow_is_sticky(void **state)
{
	uint8_t buf[8] = {0};
	struct wbuf b;

	(void)state;
	wbuf_init(&b, buf, 3);
	wbuf_u16(&b, 0xaaaa);
	wbuf_u16(&b, 0xbbbb); /* does not fit */
	assert_int_not_equal(b.err, 0);
	assert_int_equal(b.len, 2);
	wbuf_u8(&b, 0xcc); /* would fit, but the buffer already failed */
	assert_int_equal(b.len, 2);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[3], 0);
}

static void
test_wbuf_exact_fit(void **state)
{
	uint8_t buf[4];
	struct wbuf b;

	(void)state;
	wbuf_init(&b, buf, sizeof(buf));
	wbuf_u32(&b, 1);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 4);
	wbuf_bytes(&b, "", 0);
	assert_int_equal(b.err, 0);
}

static void
test_wbuf_put_u16_at_range(void **state)
{
	uint8_t buf[8];
	struct wbuf b;

	(void)state;
	wbuf_init(&b, buf, sizeof(buf));
	wbuf_u16(&b, 0);
	wbuf_u16(&b, 0);
	wbuf_put_u16_at(&b, 2, 0xbeef);
	assert_int_equal(b.err, 0);
	assert_int_equal(buf[2], 0xbe);
	assert_int_equal(buf[3], 0xef);
	/* Bytes 3..4: 4 was never written. */
	wbuf_put_u16_at(&b, 3, 1);
	assert_int_not_equal(b.err, 0);
}

static void
test_wbuf_bytes_in_place(void **state)
{
	uint8_t buf[4] = {1, 2, 3, 4};
	struct wbuf b;

	(void)state;
	wbuf_init(&b, buf, sizeof(buf));
	wbuf_bytes(&b, buf, sizeof(buf));
	assert_int_equal(b.err, 0);
	assert_int_equal(buf[3], 4);
}

static void
test_wbuf_zero_capacity(void **state)
{
	struct wbuf b;

	(void)state;
	wbuf_init(&b, NULL, 0);
	wbuf_bytes(&b, "", 0);
	assert_int_equal(b.err, 0);
	wbuf_u8(&b, 1);
	assert_int_not_equal(b.err, 0);
	assert_int_equal(b.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_reads_big_endian),
	    cmocka_unit_test(test_wire_short_read_is_sticky),
	    cmocka_unit_test(test_wire_u32_short_fails),
	    cmocka_unit_test(test_wire_read_short_zero_fills),
	    cmocka_unit_test(test_wire_skip_bounds),
	    cmocka_unit_test(test_wire_skip_huge_fails),
	    cmocka_unit_test(test_wire_seek_bounds),
	    cmocka_unit_test(test_wire_empty_buffer),
	    cmocka_unit_test(test_wbuf_writes_big_endian),
	    cmocka_unit_test(test_wbuf_overflow_is_sticky),
	    cmocka_unit_test(test_wbuf_exact_fit),
	    cmocka_unit_test(test_wbuf_put_u16_at_range),
	    cmocka_unit_test(test_wbuf_bytes_in_place),
	    cmocka_unit_test(test_wbuf_zero_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
