/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/dns/test_frame.c — the TCP length prefix (RFC 1035 4.2.2):
 * what to read next byte by byte, a message split anywhere, a zero-length
 * message, the largest one; and the in-place header accessors of msg.h
 * on short input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/frame.h"
#include "dns/msg.h"

static void
test_frame_wants_prefix_then_message(void **state)
{
	uint8_t buf[16] = {0x00, 0x03, 'a', 'b', 'c', 0x00, 0x01};

	assert_int_equal(dns_frame_want(buf, 0), 2);
	assert_int_equal(dns_frame_want(buf, 1), 1);
	assert_false(dns_frame_ready(buf, 1));
	assert_int_equal(dns_frame_msglen(buf, 1), 0);
	assert_int_equal(dns_frame_want(buf, 2), 3);
	assert_int_equal(dns_frame_msglen(buf, 2), 3);
	assert_int_equal(dns_frame_want(buf, 4), 1);
	assert_false(dns_frame_ready(buf, 4));
	/* Never past the message: the next prefix is not read into it. */
	assert_int_equal(dns_frame_want(buf, 5), 0);
	assert_true(dns_frame_ready(buf, 5));
}

static void
test_frame_zero_length_message(void **state)
{
	uint8_t buf[2] = {0, 0};

	assert_int_equal(dns_frame_want(buf, 2), 0);
	assert_true(dns_frame_ready(buf, 2));
	assert_int_equal(dns_frame_msglen(buf, 2), 0);
}

static void
test_frame_largest_message(void **state)
{
	uint8_t buf[2];

	dns_frame_prefix(buf, 65535);
	assert_int_equal(buf[0], 0xff);
	assert_int_equal(buf[1], 0xff);
	assert_int_equal(dns_frame_msglen(buf, 2), 65535);
	assert_int_equal(dns_frame_want(buf, 2), 65535);
	assert_int_equal(DNS_FRAME_MAX, 2 + 65535);
}

static void
test_frame_prefix_round_trip(void **state)
{
	uint8_t buf[2];

	for (size_t len = 0; len <= 65535; len += 257) {
		dns_frame_prefix(buf, len);
		assert_int_equal(dns_frame_msglen(buf, 2), len);
	}
}

/* A response header: ID 0xbeef, QR TC RD RA, RCODE 3, counts 1 2 3 4. */
static const uint8_t header[DNS_HEADER_LEN] = {
    0xbe, 0xef,             /* ID */
    0x83, 0x83,             /* QR, opcode 0, TC, RD; RA, RCODE NXDOMAIN */
    0x00, 0x01, 0x00, 0x02, /* QDCOUNT, ANCOUNT */
    0x00, 0x03, 0x00, 0x04, /* NSCOUNT, ARCOUNT */
};

static void
test_hdr_accessors_read_in_place(void **state)
{
	struct dns_header h;

	assert_int_equal(dns_hdr_id(header, sizeof(header)), 0xbeef);
	assert_int_equal(dns_hdr_flags(header, sizeof(header)), 0x8383);
	assert_true(dns_hdr_flags(header, sizeof(header)) & DNS_FLAG_TC);
	assert_int_equal(dns_hdr_rcode(header, sizeof(header)),
	                 DNS_RCODE_NXDOMAIN);
	assert_int_equal(dns_hdr_read(header, sizeof(header), &h), 0);
	assert_int_equal(h.id, 0xbeef);
	assert_int_equal(h.qdcount, 1);
	assert_int_equal(h.ancount, 2);
	assert_int_equal(h.nscount, 3);
	assert_int_equal(h.arcount, 4);
}

static void
test_hdr_accessors_short_input(void **state)
{
	struct dns_header h;

	assert_int_equal(dns_hdr_id(header, 1), 0);
	assert_int_equal(dns_hdr_id(header, 2), 0xbeef);
	assert_int_equal(dns_hdr_flags(header, 3), 0);
	assert_int_equal(dns_hdr_rcode(header, 3), 0);
	assert_int_equal(dns_hdr_read(header, DNS_HEADER_LEN - 1, &h), -1);
	assert_int_equal(dns_hdr_id(NULL, 0), 0);
}

static void
test_hdr_set_id(void **state)
{
	uint8_t msg[DNS_HEADER_LEN];
	uint8_t one = 0x55;

	memcpy(msg, header, sizeof(msg));
	dns_hdr_set_id(msg, sizeof(msg), 0x1234);
	assert_int_equal(dns_hdr_id(msg, sizeof(msg)), 0x1234);
	assert_memory_equal(msg + 2, header + 2, sizeof(msg) - 2);
	/* Too short for an ID: nothing is written. */
	dns_hdr_set_id(&one, 1, 0xffff);
	assert_int_equal(one, 0x55);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_wants_prefix_then_message),
	    cmocka_unit_test(test_frame_zero_length_message),
	    cmocka_unit_test(test_frame_largest_message),
	    cmocka_unit_test(test_frame_prefix_round_trip),
	    cmocka_unit_test(test_hdr_accessors_read_in_place),
	    cmocka_unit_test(test_hdr_accessors_short_input),
	    cmocka_unit_test(test_hdr_set_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
