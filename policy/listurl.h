/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/listurl.h — lists named by URL (`blocklist = https://...`,
 * dnsgate.conf(5), "Lists from URLs"): what such a value is, where its
 * last good copy lives, and what is kept next to the copy. Nothing here
 * touches the network: proxy/listfetch.c downloads, and conf/config.c loads
 * the copy as it loads any list file (blocklist_load).
 *
 * A value is a URL when, after an optional "rpz:", "hosts:" or "domains:"
 * prefix, it starts with a scheme and "://". Only http and https are
 * fetched; the URL is
 *   SCHEME://HOST[:PORT][/PATH][?QUERY]
 * with HOST a name, an IPv4 address or an [IPv6] address, PORT 1..65535,
 * and nothing but printable ASCII without blanks; no user:password@ (it
 * would be written in logs and metrics) and no #fragment.
 *
 * The copy of a value (as written, format prefix included: the same URL
 * read as two formats is two lists) lives in
 *   CACHE-DIR/HOST-HASH/NAME
 * HASH: 16 hexadecimal digits of the 64-bit FNV-1a hash of the value;
 * NAME: the last segment of the URL's path, else HOST, with every byte
 * other than A-Z a-z 0-9 . - _ replaced by '_' (and not starting with a
 * dot): the list's name, as EDE EXTRA-TEXT and rule ids show it. Next to
 * the copy: ".meta" (list_meta, below) and ".download/NAME", a download
 * in progress, renamed over the copy once it has passed as a list.
 */
#ifndef POLICY_LISTURL_H
#define POLICY_LISTURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/blocklist.h"

/* The longest URL value accepted. */
#define LIST_URL_MAX 2048
/* The longest NAME kept (a longer one is cut). */
#define LIST_URL_NAME_MAX 100

struct list_url {
	bool https;
	char host[256]; /* as written, without [ ] */
	uint16_t port;  /* explicit or the scheme's */
	char name[LIST_URL_NAME_MAX + 1];
	enum blocklist_format format; /* from the value's prefix */
};

/* True when value, past any format prefix, is SCHEME://... (any scheme). */
bool list_url_is(const char *value);
/* The URL in value: past any format prefix. */
const char *list_url_of(const char *value);

/*
 * Check a URL value (format prefix allowed) and fill *u. Returns 0, or -1
 * with *why a reason ("only http:// and https:// URLs are fetched", ...).
 */
int list_url_parse(const char *value, struct list_url *u, const char **why);

/*
 * True for http:// to anything but a loopback, private or link-local
 * address literal (policy/rebind.h's ranges) or "localhost": the list
 * crosses networks in clear, and anyone on the path can change it.
 */
bool list_url_cleartext(const struct list_url *u);

/*
 * CACHE-DIR/HOST-HASH into buf (the directory of the copy), and
 * CACHE-DIR/HOST-HASH/NAME, with the value's format prefix in front, as
 * blocklist_load takes it. 0, or -1 when cap is too small.
 */
int list_url_dir(const char *cache_dir, const char *value,
                 const struct list_url *u, char *buf, size_t cap);
int list_url_copy_path(const char *cache_dir, const char *value,
                       const struct list_url *u, char *buf, size_t cap);

/* What is kept next to a copy, in DIR/.meta ("key value" lines). */
struct list_meta {
	char value[LIST_URL_MAX + 1]; /* the value it is a copy for */
	char etag[256];               /* of the response that wrote it */
	char last_modified[64];
	int64_t checked; /* wall clock (s): last 200 or 304 for the copy */
	int64_t changed; /* wall clock (s): when the copy was written */
	uint64_t bytes;  /* the copy's size */
	uint64_t hash;   /* list_hash of the copy: a 200 with the same
	                  * bytes changes nothing */
};

/*
 * Read DIR/.meta into *m (unknown keys ignored, missing ones zero).
 * 0, or -1 with errno (ENOENT: no such file; EINVAL: not a meta file).
 */
int list_meta_read(const char *dir, struct list_meta *m);
/* Write DIR/.meta through a temporary file and rename(2). 0 / -1 errno. */
int list_meta_write(const char *dir, const struct list_meta *m);

/* 64-bit FNV-1a of data[0..n), continued from h (LIST_HASH_INIT first). */
#define LIST_HASH_INIT 0xcbf29ce484222325ull
uint64_t list_hash(uint64_t h, const void *data, size_t n);

/*
 * The first n bytes of a download: NULL when they may be a list, else why
 * not ("HTML, not a list", "binary data (a NUL byte)"): markup starts with
 * '<' where a list has a name, an address, a comment or a directive.
 */
const char *list_content_refused(const uint8_t *head, size_t n);

#endif
