/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/idn.h — internationalised domain names: UTF-8 text to the ASCII form
 * that goes on the wire (RFC 5890 A-labels), with Debian's libidn2.
 *
 * IDNA 2008 (RFC 5891) after the UTS #46 mapping, non-transitional: letters
 * are case-folded and normalised (NFC) first, and "ß", "ς", ZWJ and ZWNJ
 * stay themselves, as the registries of .de and .gr register them and as
 * current browsers resolve them ("faß.de" is xn--fa-hia.de, not fass.de —
 * another domain, which transitional processing would give).
 *
 * Only labels with a byte outside ASCII are converted: an ASCII label
 * ("_dmarc", "*", "xn--...", a label with hyphens IDNA would refuse) is
 * copied as written, so adding a UTF-8 label to a name never makes its
 * ASCII labels invalid.
 */
#ifndef DNS_IDN_H
#define DNS_IDN_H

#include <stdbool.h>
#include <stddef.h>

/* True when text holds a byte outside ASCII: dns_idn_to_ascii applies. */
bool dns_idn_needed(const char *text);

/*
 * The ASCII form of the name text (dots between labels, an optional final
 * dot) into out[0..cap). Returns 0, or -1 with *why set to a static reason
 * ("string contains a disallowed character", "name too long", ...).
 */
int dns_idn_to_ascii(const char *text, char *out, size_t cap, const char **why);

#endif
