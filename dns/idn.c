/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/idn.c — UTF-8 names to A-labels (see dns/idn.h).
 */
#include "dns/idn.h"

#include <idn2.h>
#include <string.h>

/* idn2_to_ascii_8z: NFC first, then UTS #46 non-transitional (dns/idn.h). */
#define IDN_FLAGS (IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)

bool
dns_idn_needed(const char *text)
{
	for (; *text != '\0'; text++)
		if ((unsigned char)*text >= 0x80)
			return true;
	return false;
}

/* Append s[0..n) to out at *len; -1 when it does not fit. */
static int
put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n >= cap - *len)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* One label (not NUL-terminated) that needs converting, appended. */
static int
label_to_ascii(const char *label, size_t n, char *out, size_t cap, size_t *len,
               const char **why)
{
	char buf[256], *ascii = NULL;
	int r;

	if (n >= sizeof(buf)) {
		*why = "label too long";
		return -1;
	}
	memcpy(buf, label, n);
	buf[n] = '\0';
	r = idn2_to_ascii_8z(buf, &ascii, IDN_FLAGS);
	if (r != IDN2_OK) {
		*why = idn2_strerror(r);
		return -1;
	}
	r = put(out, cap, len, ascii, strlen(ascii));
	idn2_free(ascii);
	if (r != 0)
		*why = "name too long";
	return r;
}

int
dns_idn_to_ascii(const char *text, char *out, size_t cap, const char **why)
{
	const char *s = text, *dot;
	size_t len = 0, n, i;
	bool utf8;

	*why = "name too long";
	if (cap == 0)
		return -1;
	out[0] = '\0';
	for (;;) {
		dot = strchr(s, '.');
		n = dot != NULL ? (size_t)(dot - s) : strlen(s);
		utf8 = false;
		for (i = 0; i < n && !utf8; i++)
			utf8 = (unsigned char)s[i] >= 0x80;
		if (utf8 ? label_to_ascii(s, n, out, cap, &len, why) != 0
		         : put(out, cap, &len, s, n) != 0)
			return -1;
		if (dot == NULL)
			return 0;
		if (put(out, cap, &len, ".", 1) != 0)
			return -1;
		s = dot + 1;
	}
}
