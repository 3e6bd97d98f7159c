/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/name.h — domain names in uncompressed wire form.
 *
 * A name here is always uncompressed wire form: length-prefixed labels ending
 * with the root label (a zero byte), at most DNS_NAME_MAX bytes, each label at
 * most 63 bytes. Case is preserved as received; comparisons ignore ASCII case.
 */
#ifndef DNS_NAME_H
#define DNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"

#define DNS_NAME_MAX  255
#define DNS_LABEL_MAX 63
/* Longest presentation form: every byte escaped as \DDD, plus dots. */
#define DNS_NAME_TEXT_MAX 1024
/* Compression pointers followed per name before giving up (RFC 1035 4.1.4
 * allows chains; a name has at most 127 labels so more hops is a loop). */
#define DNS_NAME_MAX_HOPS 127

/*
 * Read the name at w->pos, following compression pointers, into out (at
 * least DNS_NAME_MAX bytes). Every pointer must point strictly before the
 * start of the label sequence it appears in (so no loop is possible), the
 * labels it leads to must also end before that start (a prior occurrence,
 * RFC 1035 4.1.4), and it must not point into the 12-byte header (w->buf is
 * the whole message); at most DNS_NAME_MAX_HOPS are followed, labels are
 * <= 63 bytes, the 0x40/0x80 label types are rejected and the decompressed
 * name is <= 255 bytes. On success
 * w->pos is just past the name as it appears in the message (after the first
 * pointer, if any) and the name's length is returned; on error w->err is set
 * and 0 is returned.
 */
size_t dns_name_read(struct wire *w, uint8_t *out);
/* Same checks as dns_name_read without copying; returns 0/-1. */
int dns_name_skip(struct wire *w);

/* Length of a valid uncompressed name including the root label. */
size_t dns_name_len(const uint8_t *name);
/* Number of labels, not counting the root. */
unsigned dns_name_labels(const uint8_t *name);
/* Offsets of the labels of name, leftmost first; returns their number. */
unsigned dns_name_label_offsets(const uint8_t *name,
                                uint8_t off[DNS_NAME_MAX / 2]);
/* True when a and b are the same name, ignoring ASCII case. */
bool dns_name_equal(const uint8_t *a, const uint8_t *b);
/* True when name equals parent or lies below it (case-insensitive). */
bool dns_name_is_sub(const uint8_t *name, const uint8_t *parent);
/* Pointer to the suffix of name after its first label; NULL for the root. */
const uint8_t *dns_name_parent(const uint8_t *name);
/* Lower-case ASCII letters in place. */
void dns_name_lower(uint8_t *name);
/*
 * Compare in canonical DNS order (RFC 4034 6.1); <0, 0, >0. Used by sorted
 * tables of names.
 */
int dns_name_compare(const uint8_t *a, const uint8_t *b);

/*
 * Presentation form ("www.example.com." — the root is "."), escaping '.',
 * '\\', '"', ';', '(', ')', '@', '$' as \c and bytes outside 0x21..0x7e as
 * \DDD. Returns the text length, or -1 when cap is too small.
 */
int dns_name_to_text(const uint8_t *name, char *out, size_t cap);
/*
 * Parse presentation form into out (DNS_NAME_MAX bytes). A missing final dot
 * is accepted (the name is taken as absolute, unless origin is non-NULL in
 * which case the origin is appended); "@" is the origin; \c and \DDD escapes
 * are understood. Returns the wire length, or 0 when the text is not a valid
 * name (empty label, label > 63, name > 255, bad escape).
 */
size_t dns_name_from_text(const char *text, const uint8_t *origin,
                          uint8_t *out);

#endif
