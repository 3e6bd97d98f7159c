/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/frame.c — TCP length prefixes (frame.h).
 */
#include "dns/frame.h"

size_t
dns_frame_msglen(const uint8_t *buf, size_t have)
{
	if (have < DNS_FRAME_PREFIX)
		return 0;
	return (size_t)buf[0] << 8 | buf[1];
}

size_t
dns_frame_want(const uint8_t *buf, size_t have)
{
	size_t total;

	if (have < DNS_FRAME_PREFIX)
		return DNS_FRAME_PREFIX - have;
	total = DNS_FRAME_PREFIX + dns_frame_msglen(buf, have);
	return have < total ? total - have : 0;
}

bool
dns_frame_ready(const uint8_t *buf, size_t have)
{
	return have >= DNS_FRAME_PREFIX && dns_frame_want(buf, have) == 0;
}

void
dns_frame_prefix(uint8_t *buf, size_t len)
{
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
}
