/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/frame.h — the two-byte length prefix of DNS over TCP (RFC 1035
 * 4.2.2, RFC 7766 8): reading a stream into whole messages, and writing
 * the prefix.
 *
 * A reader keeps one buffer of DNS_FRAME_MAX bytes and the count of bytes
 * it holds; dns_frame_want() says how many more to read (the prefix
 * first, then exactly the rest of that message, never into the next
 * one), and dns_frame_ready() when a whole message sits after the prefix.
 */
#ifndef DNS_FRAME_H
#define DNS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_FRAME_PREFIX 2
/* A prefix and the largest message it can announce. */
#define DNS_FRAME_MAX (DNS_FRAME_PREFIX + 65535)

/* Bytes still to read into buf (holding have bytes) for its message. */
size_t dns_frame_want(const uint8_t *buf, size_t have);
/* A whole message (possibly of length 0) sits in buf[2 .. 2+len). */
bool dns_frame_ready(const uint8_t *buf, size_t have);
/* The length the prefix announces; 0 when have < DNS_FRAME_PREFIX. */
size_t dns_frame_msglen(const uint8_t *buf, size_t have);
/* Write the prefix for a message of len bytes (len <= 65535). */
void dns_frame_prefix(uint8_t *buf, size_t len);

#endif
