/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/listurl.c — lists named by URL: syntax, cache paths, meta files
 * (see listurl.h).
 */
#include "policy/listurl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dns/addr.h"
#include "policy/fileio.h"
#include "policy/rebind.h"

#define FNV64_PRIME 0x100000001b3ull

#define META_NAME ".meta"

static const struct {
	const char *prefix;
	enum blocklist_format format;
} prefixes[] = {
    {"rpz:", BLOCKLIST_RPZ},
    {"hosts:", BLOCKLIST_HOSTS},
    {"domains:", BLOCKLIST_DOMAINS},
};

static const char *
strip_prefix(const char *value, enum blocklist_format *format)
{
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i].prefix);

		if (strncmp(value, prefixes[i].prefix, n) == 0) {
			if (format != NULL)
				*format = prefixes[i].format;
			return value + n;
		}
	}
	if (format != NULL)
		*format = BLOCKLIST_AUTO;
	return value;
}

const char *
list_url_of(const char *value)
{
	return strip_prefix(value, NULL);
}

/* Length of "scheme" in "scheme://" at s (RFC 3986 3.1), or 0. */
static size_t
scheme_len(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	/* strchr() finds the terminating NUL too: test for it first. */
	while (isalnum((unsigned char)s[n]) ||
	       (s[n] != '\0' && strchr("+-.", s[n]) != NULL))
		n++;
	return strncmp(s + n, "://", 3) == 0 ? n : 0;
}

bool
list_url_is(const char *value)
{
	return scheme_len(list_url_of(value)) > 0;
}

/* Every byte not in A-Z a-z 0-9 . - _ becomes '_'; no leading dot. */
static void
sanitize(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = isalnum(ch) || ch == '.' || ch == '-' || ch == '_'
		             ? (char)ch
		             : '_';
	}
	dst[n] = '\0';
	if (dst[0] == '.')
		dst[0] = '_';
}

/* "[v6]" or a name or IPv4 address up to ':' '/' '?' or the end. */
static int
parse_host(const char *s, struct list_url *u, const char **end,
           const char **why)
{
	size_t n;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		struct ip_addr a;

		n = close != NULL ? (size_t)(close - s - 1) : 0;
		if (close == NULL || n == 0 || n >= sizeof(u->host)) {
			*why = "bad [IPv6] address";
			return -1;
		}
		memcpy(u->host, s + 1, n);
		u->host[n] = '\0';
		if (ip_addr_parse(u->host, &a) < 0 || a.v4) {
			*why = "bad [IPv6] address";
			return -1;
		}
		*end = close + 1;
		return 0;
	}
	n = strcspn(s, ":/?#");
	if (n == 0 || n >= sizeof(u->host)) {
		*why = n == 0 ? "no host" : "host name too long";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr(".-_", s[i]) == NULL) {
			*why = "bad character in the host name";
			return -1;
		}
	memcpy(u->host, s, n);
	u->host[n] = '\0';
	*end = s + n;
	return 0;
}

static int
parse_port(const char *s, struct list_url *u, const char **end,
           const char **why)
{
	unsigned long p = 0;
	size_t n = 0;

	while (isdigit((unsigned char)s[n]) && n < 6)
		p = p * 10 + (unsigned long)(s[n++] - '0');
	if (n == 0 || n > 5 || p == 0 || p > 65535 ||
	    (s[n] != '\0' && s[n] != '/' && s[n] != '?')) {
		*why = "bad port (1 to 65535)";
		return -1;
	}
	u->port = (uint16_t)p;
	*end = s + n;
	return 0;
}

/* NAME: the last path segment before any query, else the host. */
static void
url_name(const char *path, struct list_url *u)
{
	size_t plen = strcspn(path, "?");
	const char *seg = path;

	for (size_t i = 0; i < plen; i++)
		if (path[i] == '/')
			seg = path + i + 1;
	if (path + plen > seg)
		sanitize(u->name, sizeof(u->name), seg,
		         (size_t)(path + plen - seg));
	else
		sanitize(u->name, sizeof(u->name), u->host, strlen(u->host));
}

int
list_url_parse(const char *value, struct list_url *u, const char **why)
{
	const char *url = strip_prefix(value, &u->format);
	size_t slen = scheme_len(url);
	const char *p, *path;

	memset(u->host, 0, sizeof(u->host));
	u->name[0] = '\0';
	if (strlen(value) > LIST_URL_MAX) {
		*why = "URL too long";
		return -1;
	}
	if (slen == 5 && strncasecmp(url, "https", 5) == 0) {
		u->https = true;
		u->port = 443;
	} else if (slen == 4 && strncasecmp(url, "http", 4) == 0) {
		u->https = false;
		u->port = 80;
	} else {
		*why = "only http:// and https:// URLs are fetched";
		return -1;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			*why = "blank or non-ASCII character (percent-encode "
			       "it)";
			return -1;
		}
	p = url + slen + 3;
	if (memchr(p, '@', strcspn(p, "/?#")) != NULL) {
		*why = "user:password@ is not supported (it would be "
		       "written in logs and metrics)";
		return -1;
	}
	if (strchr(url, '#') != NULL) {
		*why = "a #fragment means nothing to the server: remove it";
		return -1;
	}
	if (parse_host(p, u, &p, why) < 0)
		return -1;
	if (*p == ':' && parse_port(p + 1, u, &p, why) < 0)
		return -1;
	if (*p != '\0' && *p != '/' && *p != '?') {
		*why = "bad host or port";
		return -1;
	}
	path = p;
	url_name(path, u);
	return 0;
}

bool
list_url_cleartext(const struct list_url *u)
{
	struct ip_addr a;

	if (u->https)
		return false;
	if (strcasecmp(u->host, "localhost") == 0)
		return false;
	return ip_addr_parse(u->host, &a) < 0 || !rebind_is_private(&a);
}

uint64_t
list_hash(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return h;
}

int
list_url_dir(const char *cache_dir, const char *value, const struct list_url *u,
             char *buf, size_t cap)
{
	char host[sizeof(u->host)];
	int n;

	sanitize(host, sizeof(host), u->host, strlen(u->host));
	n = snprintf(buf, cap, "%s/%s-%016" PRIx64, cache_dir, host,
	             list_hash(LIST_HASH_INIT, value, strlen(value)));
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
list_url_copy_path(const char *cache_dir, const char *value,
                   const struct list_url *u, char *buf, size_t cap)
{
	size_t plen = (size_t)(list_url_of(value) - value);
	size_t len;

	if (plen >= cap)
		return -1;
	memcpy(buf, value, plen);
	if (list_url_dir(cache_dir, value, u, buf + plen, cap - plen) < 0)
		return -1;
	len = strlen(buf);
	if (len + 1 + strlen(u->name) >= cap)
		return -1;
	snprintf(buf + len, cap - len, "/%s", u->name);
	return 0;
}

/* "key value": copy value (to the end of the line) into dst. */
static void
meta_field(char *dst, size_t cap, const char *val)
{
	size_t n = strcspn(val, "\r\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, val, n);
	dst[n] = '\0';
}

int
list_meta_read(const char *dir, struct list_meta *m)
{
	char path[4096], line[LIST_URL_MAX + 64];
	FILE *f;
	bool any = false;

	memset(m, 0, sizeof(*m));
	if (snprintf(path, sizeof(path), "%s/" META_NAME, dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((f = file_open_regular(path)) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' ');

		if (sp == NULL)
			continue;
		*sp++ = '\0';
		any = true;
		if (strcmp(line, "value") == 0)
			meta_field(m->value, sizeof(m->value), sp);
		else if (strcmp(line, "etag") == 0)
			meta_field(m->etag, sizeof(m->etag), sp);
		else if (strcmp(line, "last-modified") == 0)
			meta_field(m->last_modified, sizeof(m->last_modified),
			           sp);
		else if (strcmp(line, "checked") == 0)
			m->checked = strtoll(sp, NULL, 10);
		else if (strcmp(line, "changed") == 0)
			m->changed = strtoll(sp, NULL, 10);
		else if (strcmp(line, "bytes") == 0)
			m->bytes = strtoull(sp, NULL, 10);
		else if (strcmp(line, "hash") == 0)
			m->hash = strtoull(sp, NULL, 16);
	}
	fclose(f);
	if (!any || m->value[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
list_meta_write(const char *dir, const struct list_meta *m)
{
	char path[4096], tmp[4096];
	FILE *f;
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/" META_NAME, dir) >=
	        (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/" META_NAME ".new", dir) >=
	        (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	          0640);
	if (fd < 0)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	fprintf(f,
	        "value %s\netag %s\nlast-modified %s\nchecked %" PRId64
	        "\nchanged %" PRId64 "\nbytes %" PRIu64 "\nhash %016" PRIx64
	        "\n",
	        m->value, m->etag, m->last_modified, m->checked, m->changed,
	        m->bytes, m->hash);
	if (fflush(f) != 0 || ferror(f)) {
		err = errno;
		fclose(f);
		unlink(tmp);
		errno = err;
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

const char *
list_content_refused(const uint8_t *head, size_t n)
{
	size_t i = 0;

	if (memchr(head, '\0', n) != NULL)
		return "binary data (a NUL byte), not a list";
	if (n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && isspace(head[i]))
		i++;
	if (i < n && head[i] == '<')
		return "HTML or XML, not a list";
	return NULL;
}
