/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf/config.c — the option table and the INI loader.
 *
 * Every option is one row of `options[]`: section, key, parser, where the
 * value goes, bounds, default and flags. Adding an option is adding a row
 * (plus its line in the man page and a test). Errors are collected, not
 * fatal, so `dnsgate -t` can report all of them as FILE:LINE: message.
 */
#include "conf/config.h"

#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dns/name.h"
#include "policy/blocklist.h"
#include "policy/decision.h"
#include "policy/fileio.h"
#include "policy/listurl.h"
#include "tls/tls.h"
#include "views/geoip.h"
#include "views/localfile.h"

enum section {
	SEC_NONE = 0,
	SEC_SERVER,
	SEC_LOG,
	SEC_GEOIP,
	SEC_UPSTREAM,
	SEC_VIEW,
	SEC_RATELIMIT,
	SEC_COOKIES,
	SEC_CACHE,
	SEC_LISTS,
	SEC_UNKNOWN,
};

#define OPT_REPEAT      0x1u /* may be given many times; each call appends */
#define OPT_RESTART     0x2u /* a reload keeps the old value (see .same) */
#define OPT_UNSUPPORTED 0x4u /* documented, not built yet: rejected by -t */

struct loader;
struct option;

typedef int (*opt_parser)(struct loader *l, const struct option *o, void *dst,
                          const char *value);
/* OPT_RESTART rows: whether two configurations agree on the option. */
typedef bool (*opt_same)(const struct option *o, const struct config *a,
                         const struct config *b);

struct option {
	enum section sect;
	const char *key;
	opt_parser parse;
	size_t off;
	long long min, max;
	const char *const *names; /* for parse_enum: index+1 is the value */
	const char *def;          /* applied when the section starts */
	unsigned flags;
	opt_same same; /* OPT_RESTART only */
};

#define MAX_ERRORS 200

struct loader {
	const char *name; /* file name for messages */
	struct config *cfg;
	FILE *errs;
	unsigned nerrors;
	int line; /* line being parsed */
	enum section sect;
	void *target;   /* struct the current section's options fill */
	int seen[96];   /* line where each option was first set */
	bool first;     /* parsing the first explicit line of a key */
	int cache_line; /* the [cache] header, for whole-section errors */
	bool have[SEC_UNKNOWN + 1];
	/* reader state */
	const char *text;
	size_t pos;
	FILE *fp;
	/* this host's addresses, read once per load (is_local_address) */
	struct ifaddrs *ifs;
	bool ifs_read;
	int ifs_errno; /* getifaddrs() failed: the host's addresses unknown */
};

static void cfg_error(struct loader *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cfg_error(struct loader *l, int line, const char *fmt, ...)
{
	va_list ap;

	l->nerrors++;
	if (l->errs == NULL || l->nerrors > MAX_ERRORS)
		return;
	fprintf(l->errs, "%s:%d: ", l->name, line);
	va_start(ap, fmt);
	vfprintf(l->errs, fmt, ap);
	va_end(ap);
	fputc('\n', l->errs);
}

static void cfg_warn(struct loader *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A warning: printed like an error, but the file stays valid. */
static void
cfg_warn(struct loader *l, int line, const char *fmt, ...)
{
	va_list ap;

	if (l->errs == NULL)
		return;
	fprintf(l->errs, "%s:%d: warning: ", l->name, line);
	va_start(ap, fmt);
	vfprintf(l->errs, fmt, ap);
	va_end(ap);
	fputc('\n', l->errs);
}

/* ---- value parsers ---- */

int
config_parse_duration(const char *text, uint32_t *ms)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
	             {"h", 3600000}, {"d", 86400000}, {"", 1000}};
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT32_MAX / units[i].mult)
			return -1;
		*ms = (uint32_t)(v * units[i].mult);
		return 0;
	}
	return -1;
}

int
config_parse_size(const char *text, uint64_t *bytes)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {{"", 1},
	             {"KB", 1024},
	             {"MB", 1024 * 1024},
	             {"GB", 1024 * 1024 * 1024}};
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return -1;
		*bytes = v * units[i].mult;
		return 0;
	}
	return -1;
}

static int
parse_uint(struct loader *l, const struct option *o, void *dst,
           const char *value)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (!isdigit((unsigned char)*value) || *end != '\0' || errno != 0 ||
	    v < o->min || v > o->max) {
		cfg_error(l, l->line, "%s: expected a number from %lld to %lld",
		          o->key, o->min, o->max);
		return -1;
	}
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int
parse_duration(struct loader *l, const struct option *o, void *dst,
               const char *value)
{
	uint32_t ms;

	if (config_parse_duration(value, &ms) < 0 || ms < o->min ||
	    ms > o->max) {
		cfg_error(l, l->line,
		          "%s: expected a duration from %lldms to %llds "
		          "(number with ms, s, m, h or d)",
		          o->key, o->min, o->max / 1000);
		return -1;
	}
	*(uint32_t *)dst = ms;
	return 0;
}

static int
parse_bool(struct loader *l, const struct option *o, void *dst,
           const char *value)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcmp(value, "1") == 0 || strcasecmp(value, "on") == 0) {
		*(bool *)dst = true;
		return 0;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 ||
	    strcmp(value, "0") == 0 || strcasecmp(value, "off") == 0) {
		*(bool *)dst = false;
		return 0;
	}
	cfg_error(l, l->line, "%s: expected yes or no", o->key);
	return -1;
}

static int
parse_enum(struct loader *l, const struct option *o, void *dst,
           const char *value)
{
	char expect[160] = "";

	for (int i = 0; o->names[i] != NULL; i++) {
		if (strcasecmp(value, o->names[i]) == 0) {
			int v = i + 1; /* every enum starts at 1 */

			memcpy(dst, &v, sizeof(v));
			return 0;
		}
		if (i > 0)
			strncat(expect, " | ",
			        sizeof(expect) - strlen(expect) - 1);
		strncat(expect, o->names[i],
		        sizeof(expect) - strlen(expect) - 1);
	}
	cfg_error(l, l->line, "%s: '%s' is not one of %s", o->key, value,
	          expect);
	return -1;
}

static int
parse_string(struct loader *l, const struct option *o, void *dst,
             const char *value)
{
	char **s = dst;

	if (*value == '\0') {
		cfg_error(l, l->line, "%s: empty value", o->key);
		return -1;
	}
	free(*s);
	*s = strdup(value);
	return *s == NULL ? -1 : 0;
}

static void *
grow(void *arr, size_t n, size_t size)
{
	/* Config-time only: one more element each time is fine. */
	return realloc(arr, (n + 1) * size);
}

static int
endpoint_set(struct loader *l, const struct option *o, const char *value,
             uint16_t default_port, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (ip_endpoint_parse(value, default_port, &ep->addr, &ep->port) < 0) {
		cfg_error(l, l->line,
		          "%s: '%s' is not an address (ip, ip:port or "
		          "[ipv6]:port)",
		          o->key, value);
		return -1;
	}
	ip_endpoint_format(&ep->addr, ep->port, ep->text, sizeof(ep->text));
	ep->on_host = false;
	ep->line = l->line;
	return 0;
}

/* Lists are comma-separated or repeated keys (dnsgate.conf(5)). */
typedef int (*item_fn)(struct loader *l, const struct option *o, void *dst,
                       const char *item);

static int
for_each_item(struct loader *l, const struct option *o, void *dst,
              const char *value, item_fn fn)
{
	char buf[256];
	const char *p = value;
	int rc = 0;

	if (*p == '\0') {
		cfg_error(l, l->line, "%s: empty value", o->key);
		return -1;
	}

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0 || n >= sizeof(buf)) {
			cfg_error(l, l->line, "%s: empty or overlong element",
			          o->key);
			return -1;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (fn(l, o, dst, buf) < 0)
			rc = -1;
		if (comma == NULL)
			break;
		p = comma + 1;
		if (*p == '\0') {
			cfg_error(l, l->line, "%s: empty element after ','",
			          o->key);
			return -1;
		}
	}
	return rc;
}

static int
listen_item(struct loader *l, const struct option *o, void *dst,
            const char *item)
{
	struct server_conf *s = dst;
	struct endpoint ep;
	struct endpoint *n;

	if (endpoint_set(l, o, item, 53, &ep) < 0)
		return -1;
	if (l->first) {
		s->nlistens = 0;
		l->first = false;
	}
	n = grow(s->listens, s->nlistens, sizeof(*n));
	if (n == NULL)
		return -1;
	s->listens = n;
	s->listens[s->nlistens++] = ep;
	return 0;
}

static int
parse_listen(struct loader *l, const struct option *o, void *dst,
             const char *value)
{
	return for_each_item(l, o, dst, value, listen_item);
}

/* listen-tls (default port 853, RFC 7858 3.1) and listen-https (443). */
static int
listen_list_item(struct loader *l, const struct option *o, void *dst,
                 const char *item)
{
	struct endpoint_list *list = dst;
	uint16_t port = strcmp(o->key, "listen-tls") == 0 ? 853 : 443;
	struct endpoint ep;
	struct endpoint *n;

	if (endpoint_set(l, o, item, port, &ep) < 0)
		return -1;
	n = grow(list->v, list->n, sizeof(*n));
	if (n == NULL)
		return -1;
	list->v = n;
	list->v[list->n++] = ep;
	return 0;
}

static int
parse_listen_list(struct loader *l, const struct option *o, void *dst,
                  const char *value)
{
	return for_each_item(l, o, dst, value, listen_list_item);
}

/* tls-certificate, tls-key: a file, relative to the configuration's. */
static int
parse_tls_file(struct loader *l, const struct option *o, void *dst,
               const char *value)
{
	struct server_conf *s = dst;
	bool cert = strcmp(o->key, "tls-certificate") == 0;
	char buf[4096];
	char *path;

	if (*value == '\0') {
		cfg_error(l, l->line, "%s: empty value", o->key);
		return -1;
	}
	path = strdup(config_file_path(l->name, value, buf, sizeof(buf)));
	if (path == NULL)
		return -1;
	free(cert ? s->tls_cert : s->tls_key);
	if (cert) {
		s->tls_cert = path;
		s->tls_cert_line = l->line;
	} else {
		s->tls_key = path;
		s->tls_key_line = l->line;
	}
	return 0;
}

/* tls-ciphers: checked once the certificate is known (check_tls), and
 * reported at its own line. */
static int
parse_tls_ciphers(struct loader *l, const struct option *o, void *dst,
                  const char *value)
{
	struct server_conf *s = dst;

	s->tls_ciphers_line = l->line;
	return parse_string(l, o, &s->tls_ciphers, value);
}

static int
parse_tls_version(struct loader *l, const struct option *o, void *dst,
                  const char *value)
{
	int *v = dst;

	if (strcmp(value, "1.2") == 0) {
		*v = TLS1_2_VERSION;
	} else if (strcmp(value, "1.3") == 0) {
		*v = TLS1_3_VERSION;
	} else {
		cfg_error(l, l->line, "%s: expected 1.2 or 1.3", o->key);
		return -1;
	}
	return 0;
}

/* RFC 8484 6: an absolute path; the query string carries ?dns=. */
static int
parse_https_path(struct loader *l, const struct option *o, void *dst,
                 const char *value)
{
	if (value[0] != '/' || strpbrk(value, "?# \t") != NULL) {
		cfg_error(l, l->line,
		          "%s: '%s' is not an absolute path without '?' or "
		          "'#'",
		          o->key, value);
		return -1;
	}
	return parse_string(l, o, dst, value);
}

static int
parse_tls_ca(struct loader *l, const struct option *o, void *dst,
             const char *value)
{
	struct upstream_conf *u = dst;
	char buf[4096];

	if (*value == '\0') {
		cfg_error(l, l->line, "%s: empty value", o->key);
		return -1;
	}
	free(u->tls_ca);
	u->tls_ca = strdup(config_file_path(l->name, value, buf, sizeof(buf)));
	u->tls_ca_line = l->line;
	return u->tls_ca == NULL ? -1 : 0;
}

static int
parse_metrics(struct loader *l, const struct option *o, void *dst,
              const char *value)
{
	struct server_conf *s = dst;

	if (endpoint_set(l, o, value, 9153, &s->metrics) < 0)
		return -1;
	s->has_metrics = true;
	return 0;
}

int (*config_getifaddrs)(struct ifaddrs **) = getifaddrs;

/* True when a is a loopback address or configured on one of this host's
 * interfaces (as getifaddrs() lists them, read once per load; when that
 * fails, l->ifs_errno says so and only loopback is known to be ours). */
static bool
is_local_address(struct loader *l, const struct ip_addr *a)
{
	/* 127/8 is all ours though only 127.0.0.1 is on lo. */
	if (ip_addr_is_loopback(a))
		return true;
	if (!l->ifs_read) {
		l->ifs_read = true;
		if (config_getifaddrs(&l->ifs) < 0) {
			l->ifs_errno = errno != 0 ? errno : EIO;
			l->ifs = NULL;
		}
	}
	for (struct ifaddrs *i = l->ifs; i != NULL; i = i->ifa_next) {
		struct ip_addr ia;

		if (i->ifa_addr != NULL &&
		    ip_addr_from_sockaddr(i->ifa_addr, &ia, NULL) == 0 &&
		    ip_addr_equal(&ia, a))
			return true;
	}
	return false;
}

/*
 * tls://ADDR[:PORT][#NAME]: DNS over TLS to ADDR (port 853, RFC 7858
 * 3.1), whose certificate must name NAME; without #NAME, ADDR itself (an
 * IP SAN): RFC 8310's strict profile either way.
 */
static int
tls_server_item(struct loader *l, const struct option *o, const char *spec,
                struct endpoint *ep)
{
	const char *hash = strchr(spec, '#');
	char addr[IP_ENDPOINT_TEXT_MAX + 8];
	size_t alen = hash != NULL ? (size_t)(hash - spec) : strlen(spec);
	uint8_t wire[DNS_NAME_MAX];

	if (alen >= sizeof(addr)) {
		cfg_error(l, l->line, "%s: 'tls://%s' is not an address",
		          o->key, spec);
		return -1;
	}
	memcpy(addr, spec, alen);
	addr[alen] = '\0';
	if (endpoint_set(l, o, addr, 853, ep) < 0)
		return -1;
	ep->tls = true;
	if (hash == NULL) {
		ip_addr_format(&ep->addr, ep->tls_name, sizeof(ep->tls_name));
		return 0;
	}
	if (hash[1] == '\0' || strlen(hash + 1) >= sizeof(ep->tls_name) ||
	    (ip_addr_parse(hash + 1, &(struct ip_addr){0}) < 0 &&
	     dns_name_from_text(hash + 1, NULL, wire) == 0)) {
		cfg_error(l, l->line,
		          "%s: '%s' after '#' is not a host name or address",
		          o->key, hash + 1);
		return -1;
	}
	snprintf(ep->tls_name, sizeof(ep->tls_name), "%s", hash + 1);
	return 0;
}

static int
server_item(struct loader *l, const struct option *o, void *dst,
            const char *item)
{
	struct upstream_conf *u = dst;
	struct endpoint ep;
	struct endpoint *n;

	if (u->nservers == UPSTREAM_MAX_SERVERS) {
		cfg_error(l, l->line, "%s: at most %d servers per upstream",
		          o->key, UPSTREAM_MAX_SERVERS);
		return -1;
	}
	if (strncmp(item, "tls://", 6) == 0) {
		if (tls_server_item(l, o, item + 6, &ep) < 0)
			return -1;
		u->has_tls = true;
	} else if (endpoint_set(l, o, item, 53, &ep) < 0) {
		return -1;
	}
	ep.on_host = is_local_address(l, &ep.addr);
	n = grow(u->servers, u->nservers, sizeof(*n));
	if (n == NULL)
		return -1;
	u->servers = n;
	u->servers[u->nservers++] = ep;
	return 0;
}

static int
parse_server(struct loader *l, const struct option *o, void *dst,
             const char *value)
{
	return for_each_item(l, o, dst, value, server_item);
}

static int
retry_item(struct loader *l, const struct option *o, void *dst,
           const char *item)
{
	unsigned *bits = dst;

	if (strcasecmp(item, "servfail") == 0)
		*bits |= RETRY_SERVFAIL;
	else if (strcasecmp(item, "timeout") == 0)
		*bits |= RETRY_TIMEOUT;
	else if (strcasecmp(item, "refused") == 0)
		*bits |= RETRY_REFUSED;
	else if (strcasecmp(item, "none") != 0) {
		cfg_error(l, l->line,
		          "%s: '%s' is not one of servfail, timeout, refused, "
		          "none",
		          o->key, item);
		return -1;
	}
	return 0;
}

static int
parse_retry_on(struct loader *l, const struct option *o, void *dst,
               const char *value)
{
	if (l->first)
		*(unsigned *)dst = 0;
	return for_each_item(l, o, dst, value, retry_item);
}

static int
acl_set(struct loader *l, const struct option *o, struct acl *acl,
        const char *value)
{
	const char *bad = value;

	if (value[strspn(value, " \t")] == '\0') {
		cfg_error(l, l->line,
		          "%s: empty address match list (write none or any)",
		          o->key);
		return -1;
	}
	if (acl_parse_append(acl, value, &bad) < 0) {
		cfg_error(l, l->line,
		          "%s: bad address match element at '%.40s' "
		          "(expected [!]CIDR, [!]address, any or none)",
		          o->key, bad);
		return -1;
	}
	return 0;
}

static int
parse_match_client(struct loader *l, const struct option *o, void *dst,
                   const char *value)
{
	struct view_conf *v = l->target;

	v->has_match_client = true;
	return acl_set(l, o, dst, value);
}

/* A plain address match list (allow-transfer). */
static int
parse_acl_key(struct loader *l, const struct option *o, void *dst,
              const char *value)
{
	return acl_set(l, o, dst, value);
}

/* The local address the query arrived on (IP_PKTINFO / getsockname). */
static int
transport_item(struct loader *l, const struct option *o, void *dst,
               const char *item)
{
	unsigned *bits = dst;
	enum transport t;

	if (transport_parse(item, &t) < 0) {
		cfg_error(l, l->line,
		          "%s: '%s' is not one of udp | tcp | tls | https",
		          o->key, item);
		return -1;
	}
	*bits |= 1u << t;
	return 0;
}

static int
parse_match_transport(struct loader *l, const struct option *o, void *dst,
                      const char *value)
{
	return for_each_item(l, o, dst, value, transport_item);
}

static int
parse_match_destination(struct loader *l, const struct option *o, void *dst,
                        const char *value)
{
	struct view_conf *v = l->target;

	v->has_match_destination = true;
	return acl_set(l, o, dst, value);
}

/* A duration stored in whole seconds (RRL window). */
static int
parse_seconds(struct loader *l, const struct option *o, void *dst,
              const char *value)
{
	uint32_t ms;

	if (config_parse_duration(value, &ms) < 0 || ms % 1000 != 0 ||
	    ms / 1000 < o->min || ms / 1000 > o->max) {
		cfg_error(l, l->line,
		          "%s: expected whole seconds from %llds to %llds",
		          o->key, o->min, o->max);
		return -1;
	}
	*(unsigned *)dst = ms / 1000;
	return 0;
}

/* secret / previous-secret: 128 bits as 32 hex digits (RFC 9018 4.4). */
static int
parse_secret(struct loader *l, const struct option *o, void *dst,
             const char *value)
{
	struct cookies_conf *ck = l->target;

	/* "previous-secret =" (as in the example configurations): no rotation
	 * under way. */
	if (*value == '\0' && dst == &ck->previous) {
		ck->have_previous = false;
		return 0;
	}
	if (cookie_secret_parse(value, dst) < 0) {
		cfg_error(l, l->line, "%s: expected 32 hexadecimal digits",
		          o->key);
		return -1;
	}
	if (dst == &ck->secret)
		ck->have_secret = true;
	else
		ck->have_previous = true;
	return 0;
}

/* blocklist / allowlist = [rpz:|hosts:|domains:]FILE, loaded at the end. */
static int
parse_list_file(struct loader *l, const struct option *o, void *dst,
                const char *value)
{
	struct view_conf *v = dst;
	bool allow = strcmp(o->key, "allowlist") == 0;
	char ***names = allow ? &v->allowlists : &v->blocklists;
	int **lines = allow ? &v->allowlist_lines : &v->blocklist_lines;
	size_t *n = allow ? &v->nallowlists : &v->nblocklists;
	char **nn;
	int *nl;

	nn = grow(*names, *n, sizeof(*nn));
	if (nn == NULL)
		return -1;
	*names = nn;
	nl = grow(*lines, *n, sizeof(*nl));
	if (nl == NULL)
		return -1;
	*lines = nl;
	(*names)[*n] = strdup(value);
	(*lines)[*n] = l->line;
	if ((*names)[*n] == NULL)
		return -1;
	(*n)++;
	return 0;
}

static int
parse_block_action(struct loader *l, const struct option *o, void *dst,
                   const char *value)
{
	struct view_conf *v = dst;
	enum block_policy p;

	if (block_policy_parse(value, &p, &v->block_redirect) < 0) {
		cfg_error(l, l->line,
		          "%s: expected nxdomain, nodata, refuse, drop or "
		          "redirect IP",
		          o->key);
		return -1;
	}
	v->block_policy = (int)p;
	return 0;
}

static int
parse_geoip_path(struct loader *l, const struct option *o, void *dst,
                 const char *value)
{
	if (l->cfg->geoip_conf.line == 0)
		l->cfg->geoip_conf.line = l->line;
	return parse_string(l, o, dst, value);
}

static int
country_item(struct loader *l, const struct option *o, void *dst,
             const char *item)
{
	struct view_conf *v = dst;
	char(*n)[3];
	char cc[3];

	if (!geoip_cc_parse(item, strlen(item), cc)) {
		cfg_error(l, l->line,
		          "%s: '%s' is not an ISO 3166 two-letter code", o->key,
		          item);
		return -1;
	}
	n = grow(v->countries, v->ncountries, sizeof(*n));
	if (n == NULL)
		return -1;
	v->countries = n;
	memcpy(v->countries[v->ncountries++], cc, 3);
	return 0;
}

static int
parse_match_country(struct loader *l, const struct option *o, void *dst,
                    const char *value)
{
	return for_each_item(l, o, dst, value, country_item);
}

static int
asn_item(struct loader *l, const struct option *o, void *dst, const char *item)
{
	struct view_conf *v = dst;
	const char *num = item;
	uint32_t *n;
	char *end;
	unsigned long long asn;

	/* "AS64500" is how people write them; the number is what counts. */
	if (strncasecmp(num, "AS", 2) == 0)
		num += 2;
	errno = 0;
	asn = strtoull(num, &end, 10);
	if (!isdigit((unsigned char)*num) || *end != '\0' || errno != 0 ||
	    asn > UINT32_MAX) {
		cfg_error(l, l->line, "%s: '%s' is not an AS number", o->key,
		          item);
		return -1;
	}
	n = grow(v->asns, v->nasns, sizeof(*n));
	if (n == NULL)
		return -1;
	v->asns = n;
	v->asns[v->nasns++] = (uint32_t)asn;
	return 0;
}

static int
parse_match_asn(struct loader *l, const struct option *o, void *dst,
                const char *value)
{
	return for_each_item(l, o, dst, value, asn_item);
}

/* allow / refuse / drop: one ordered rule per line (first match wins;
 * dnsgate.conf(5), [view]). */
static int
parse_acl_rule(struct loader *l, const struct option *o, void *dst,
               const char *value)
{
	struct view_conf *v = l->target;
	struct acl_rule *n;
	struct acl_rule r = {.line = l->line};

	if (strcmp(o->key, "allow") == 0)
		r.action = ACL_ACTION_ALLOW;
	else if (strcmp(o->key, "refuse") == 0)
		r.action = ACL_ACTION_REFUSE;
	else
		r.action = ACL_ACTION_DROP;
	if (acl_set(l, o, &r.match, value) < 0) {
		acl_free(&r.match);
		return -1;
	}
	n = grow(v->rules, v->nrules, sizeof(*n));
	if (n == NULL) {
		acl_free(&r.match);
		return -1;
	}
	v->rules = n;
	v->rules[v->nrules++] = r;
	return 0;
}

/* local-data / local-zone: handed to views/local.c line by line. */
static int
parse_local(struct loader *l, const struct option *o, void *dst,
            const char *value)
{
	struct view_conf *v = l->target;
	char err[200];
	int rc;

	if (strcmp(o->key, "local-data") == 0) {
		rc = local_add_data(&v->local, value, err, sizeof(err));
	} else {
		rc = local_add_zone(&v->local, value, err, sizeof(err));
		/* A new zone is the last one (check_forward_hidden). */
		if (rc == 0)
			v->local.zones[v->local.nzones - 1].line = l->line;
	}
	if (rc < 0)
		cfg_error(l, l->line, "%s: %s", o->key, err);
	return rc;
}

/* Errors of one zone file printed; the rest are counted in one line. */
#define ZONE_FILE_ERRORS_SHOWN 50

struct zone_file_report {
	struct loader *l;
	const char *key;
	const char *path;
	unsigned shown, hidden;
};

/* "local-zone-file: PATH:LINE: message" at the config line. */
static void
zone_file_error(void *ctx, unsigned line, const char *msg)
{
	struct zone_file_report *r = ctx;

	if (r->shown == ZONE_FILE_ERRORS_SHOWN) {
		r->hidden++;
		return;
	}
	r->shown++;
	if (line > 0)
		cfg_error(r->l, r->l->line, "%s: %s:%u: %s", r->key, r->path,
		          line, msg);
	else
		cfg_error(r->l, r->l->line, "%s: %s: %s", r->key, r->path, msg);
}

static const char *list_path(const struct loader *l, const char *value,
                             char *buf, size_t cap);

/* local-zone-file = ZONE PATH: read now, so a reload rereads it. */
static int
parse_local_zone_file(struct loader *l, const struct option *o, void *dst,
                      const char *value)
{
	struct view_conf *v = l->target;
	struct zone_file_report r = {.l = l, .key = o->key};
	char zone[DNS_NAME_TEXT_MAX + 1], err[200], buf[4096];
	size_t n = strcspn(value, " \t");
	const char *file = value + n + strspn(value + n, " \t");
	uint8_t wire[DNS_NAME_MAX];
	long nerr;

	if (n == 0 || n >= sizeof(zone) || *file == '\0') {
		cfg_error(l, l->line, "%s: expected 'ZONE PATH'", o->key);
		return -1;
	}
	memcpy(zone, value, n);
	zone[n] = '\0';
	if (dns_name_from_text(zone, NULL, wire) == 0) {
		cfg_error(l, l->line, "%s: bad zone name '%.60s'", o->key,
		          zone);
		return -1;
	}
	if (local_add_file_zone(&v->local, wire, err, sizeof(err)) < 0) {
		cfg_error(l, l->line, "%s: %s", o->key, err);
		return -1;
	}
	/* A new zone is the last one (check_forward_hidden). */
	v->local.zones[v->local.nzones - 1].line = l->line;
	r.path = list_path(l, file, buf, sizeof(buf));
	nerr = local_file_load(&v->local, wire, r.path, zone_file_error, &r);
	if (r.hidden > 0)
		cfg_error(l, l->line, "%s: %s: %u more errors not shown",
		          o->key, r.path, r.hidden);
	return nerr == 0 ? 0 : -1;
}

/* forward-zone = SUFFIX GROUP (views/forward.h); the group is resolved
 * once every [upstream] is known (check_forward_zones). */
static int
parse_forward_zone(struct loader *l, const struct option *o, void *dst,
                   const char *value)
{
	struct view_conf *v = l->target;
	char err[200];

	if (forward_add(&v->forward, value, l->line, err, sizeof(err)) < 0) {
		cfg_error(l, l->line, "%s: %s", o->key, err);
		return -1;
	}
	return 0;
}

/* A UNIX socket path: absolute, and short enough for sun_path. */
static int
parse_socket_path(struct loader *l, const struct option *o, void *dst,
                  const char *value)
{
	if (value[0] != '/' || strlen(value) >= 108) {
		cfg_error(l, l->line,
		          "%s: expected an absolute path under 108 bytes",
		          o->key);
		return -1;
	}
	return parse_string(l, o, dst, value);
}

/*
 * [log] dnstap: an absolute path or unix:PATH (a UNIX socket), tcp:IP:PORT
 * or file:PATH. The text is kept as written, for the reload check.
 */
static int
parse_dnstap(struct loader *l, const struct option *o, void *dst,
             const char *value)
{
	static const struct {
		const char *prefix;
		enum dnstap_transport transport;
	} kinds[] = {{"unix:", DNSTAP_TO_UNIX},
	             {"tcp:", DNSTAP_TO_TCP},
	             {"file:", DNSTAP_TO_FILE},
	             {"/", DNSTAP_TO_UNIX}};
	struct log_conf *lc = dst;
	struct dnstap_output out = {0};
	const char *rest = NULL;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(value, kinds[i].prefix, n) == 0) {
			out.transport = kinds[i].transport;
			/* A bare path keeps its slash. */
			rest = value + (kinds[i].prefix[0] == '/' ? 0 : n);
			break;
		}
	}
	if (rest == NULL) {
		cfg_error(l, l->line,
		          "%s: '%s' is not an absolute path, unix:PATH, "
		          "tcp:IP:PORT or file:PATH",
		          o->key, value);
		return -1;
	}
	if (out.transport == DNSTAP_TO_TCP) {
		if (ip_endpoint_parse(rest, 0, &out.tcp.addr, &out.tcp.port) <
		        0 ||
		    out.tcp.port == 0) {
			cfg_error(l, l->line,
			          "%s: '%s' is not IP:PORT or [IPv6]:PORT",
			          o->key, rest);
			return -1;
		}
		ip_endpoint_format(&out.tcp.addr, out.tcp.port, out.tcp.text,
		                   sizeof(out.tcp.text));
	} else if (rest[0] != '/' ||
	           (out.transport == DNSTAP_TO_UNIX && strlen(rest) >= 108)) {
		cfg_error(l, l->line, "%s: expected an absolute path%s", o->key,
		          out.transport == DNSTAP_TO_UNIX ? " under 108 bytes"
		                                          : "");
		return -1;
	} else if ((out.path = strdup(rest)) == NULL) {
		return -1;
	}
	free(lc->dnstap_out.path);
	lc->dnstap_out = out;
	return parse_string(l, o, &lc->dnstap, value);
}

static int
dnstap_messages_item(struct loader *l, const struct option *o, void *dst,
                     const char *item)
{
	unsigned *bits = dst;

	if (strcasecmp(item, "client") == 0)
		*bits |= DNSTAP_MSGS_CLIENT;
	else if (strcasecmp(item, "forwarder") == 0)
		*bits |= DNSTAP_MSGS_FORWARDER;
	else {
		cfg_error(l, l->line,
		          "%s: '%s' is not one of client, forwarder", o->key,
		          item);
		return -1;
	}
	return 0;
}

static int
parse_dnstap_messages(struct loader *l, const struct option *o, void *dst,
                      const char *value)
{
	if (l->first)
		*(unsigned *)dst = 0;
	return for_each_item(l, o, dst, value, dnstap_messages_item);
}

static int
parse_log_target(struct loader *l, const struct option *o, void *dst,
                 const char *value)
{
	struct log_conf *lc = dst;

	free(lc->path);
	lc->path = NULL;
	if (strcmp(value, "stderr") == 0) {
		lc->target = LOGT_STDERR;
	} else if (strcmp(value, "syslog") == 0) {
		lc->target = LOGT_SYSLOG;
	} else if (value[0] == '/') {
		lc->target = LOGT_FILE;
		lc->path = strdup(value);
	} else {
		cfg_error(l, l->line,
		          "%s: expected stderr, syslog or an absolute file "
		          "path",
		          o->key);
		return -1;
	}
	return 0;
}

/* [cache] size: bytes per view; 0 (the default) turns the cache off. */
static int
parse_cache_size(struct loader *l, const struct option *o, void *dst,
                 const char *value)
{
	uint64_t bytes;

	if (config_parse_size(value, &bytes) < 0 ||
	    (bytes != 0 && bytes < 64 * 1024) || bytes > (uint64_t)64 << 30) {
		cfg_error(l, l->line,
		          "%s: expected 0 (off) or a size from 64KB to 64GB",
		          o->key);
		return -1;
	}
	*(uint64_t *)dst = bytes;
	return 0;
}

/*
 * [server] udp-receive-buffer: bytes; 0 leaves the kernel's default. The
 * kernel takes at most INT_MAX / 2 (it doubles the value, socket(7)); 1GB
 * is already far past any burst worth buffering.
 */
static int
parse_rcvbuf(struct loader *l, const struct option *o, void *dst,
             const char *value)
{
	uint64_t bytes;

	if (config_parse_size(value, &bytes) < 0 ||
	    (bytes != 0 && bytes < (uint64_t)o->min) ||
	    bytes > (uint64_t)o->max) {
		cfg_error(l, l->line,
		          "%s: expected 0 (the system default) or a size from "
		          "4KB to 1GB",
		          o->key);
		return -1;
	}
	*(unsigned *)dst = (unsigned)bytes;
	return 0;
}

/* [lists] max-size: from 1KB to 1GB. */
static int
parse_list_size(struct loader *l, const struct option *o, void *dst,
                const char *value)
{
	uint64_t bytes;

	if (config_parse_size(value, &bytes) < 0 || bytes < 1024 ||
	    bytes > (uint64_t)1 << 30) {
		cfg_error(l, l->line, "%s: expected a size from 1KB to 1GB",
		          o->key);
		return -1;
	}
	*(uint64_t *)dst = bytes;
	return 0;
}

/* ---- options that need a restart ---- */

/* Where a singleton section's options live in c (restart rows only). */
static const void *
section_base(const struct config *c, enum section sect)
{
	return sect == SEC_SERVER ? (const void *)&c->server
	                          : (const void *)&c->log;
}

static const void *
option_at(const struct option *o, const struct config *c)
{
	return (const char *)section_base(c, o->sect) + o->off;
}

static bool
same_uint(const struct option *o, const struct config *a,
          const struct config *b)
{
	return *(const unsigned *)option_at(o, a) ==
	       *(const unsigned *)option_at(o, b);
}

static bool
same_string(const struct option *o, const struct config *a,
            const struct config *b)
{
	const char *x = *(char *const *)option_at(o, a);
	const char *y = *(char *const *)option_at(o, b);

	return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static bool
same_dnstap(const struct option *o, const struct config *a,
            const struct config *b)
{
	const char *x = a->log.dnstap, *y = b->log.dnstap;

	return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static bool
same_endpoint(const struct endpoint *x, const struct endpoint *y)
{
	return x->port == y->port && ip_addr_equal(&x->addr, &y->addr);
}

static bool
same_listens(const struct option *o, const struct config *a,
             const struct config *b)
{
	if (a->server.nlistens != b->server.nlistens)
		return false;
	for (size_t i = 0; i < a->server.nlistens; i++)
		if (!same_endpoint(&a->server.listens[i],
		                   &b->server.listens[i]))
			return false;
	return true;
}

static bool
same_endpoint_list(const struct option *o, const struct config *a,
                   const struct config *b)
{
	const struct endpoint_list *x = option_at(o, a), *y = option_at(o, b);

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (!same_endpoint(&x->v[i], &y->v[i]))
			return false;
	return true;
}

static bool
same_metrics(const struct option *o, const struct config *a,
             const struct config *b)
{
	return a->server.has_metrics == b->server.has_metrics &&
	       (!a->server.has_metrics ||
	        same_endpoint(&a->server.metrics, &b->server.metrics));
}

/* ---- the option table ---- */

static const char *const selection_names[] = {"ordered", "round-robin",
                                              "fastest", NULL};
static const char *const format_names[] = {"json", "text", NULL};
static const char *const decisions_names[] = {"all", "non-default", "none",
                                              NULL};
static const char *const queries_action_names[] = {"refuse", "drop", NULL};
static const char *const yield_names[] = {"auto", "yes", "no", NULL};
/* parse_enum stores an int: every enum-valued option must be one. */
_Static_assert(sizeof(enum up_selection) == sizeof(int) &&
                   sizeof(enum decision_format) == sizeof(int) &&
                   sizeof(enum log_decisions) == sizeof(int) &&
                   sizeof(enum queries_action) == sizeof(int) &&
                   sizeof(enum yield_mode) == sizeof(int),
               "enum options are stored as int");

#define SRV(f)   offsetof(struct server_conf, f)
#define LOG(f)   offsetof(struct log_conf, f)
#define UP(f)    offsetof(struct upstream_conf, f)
#define VIEW(f)  offsetof(struct view_conf, f)
#define GEO(f)   offsetof(struct geoip_conf, f)
#define RL(f)    offsetof(struct ratelimit_conf, f)
#define CK(f)    offsetof(struct cookies_conf, f)
#define CACHE(f) offsetof(struct cache_params, f)
#define LISTS(f) offsetof(struct lists_conf, f)
#define MS_MAX   86400000LL

static const struct option options[] = {
    {.sect = SEC_SERVER,
     .key = "listen",
     .parse = parse_listen,
     .def = "127.0.0.1:53",
     .same = same_listens,
     .flags = OPT_REPEAT | OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "workers",
     .parse = parse_uint,
     .off = SRV(workers),
     .min = 0,
     .max = 64,
     .def = "1",
     .same = same_uint,
     .flags = OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "user",
     .parse = parse_string,
     .off = SRV(user),
     .same = same_string,
     .flags = OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "control-socket",
     .parse = parse_socket_path,
     .off = SRV(control_socket),
     .same = same_string,
     .flags = OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "metrics-listen",
     .parse = parse_metrics,
     .same = same_metrics,
     .flags = OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "udp-payload-size",
     .parse = parse_uint,
     .off = SRV(udp_payload_size),
     .min = 512,
     .max = 4096,
     .def = "1232"},
    {.sect = SEC_SERVER,
     .key = "tcp-idle-timeout",
     .parse = parse_duration,
     .off = SRV(tcp_idle_ms),
     .min = 0,
     .max = MS_MAX,
     .def = "10s"},
    {.sect = SEC_SERVER,
     .key = "tcp-max-clients",
     .parse = parse_uint,
     .off = SRV(tcp_max_clients),
     .min = 1,
     .max = 1000000,
     .def = "1024"},
    {.sect = SEC_SERVER,
     .key = "tcp-max-clients-per-prefix",
     .parse = parse_uint,
     .off = SRV(tcp_per_prefix),
     .min = 0,
     .max = 1000000,
     .def = "64"},
    {.sect = SEC_SERVER,
     .key = "tcp-max-queries",
     .parse = parse_uint,
     .off = SRV(tcp_max_queries),
     .min = 0,
     .max = 1000000000,
     .def = "0"},
    {.sect = SEC_SERVER,
     .key = "max-queries-in-flight",
     .parse = parse_uint,
     .off = SRV(max_inflight),
     .min = 16,
     .max = 1000000,
     .def = "4096"},
    {.sect = SEC_SERVER,
     .key = "udp-receive-buffer",
     .parse = parse_rcvbuf,
     .off = SRV(udp_rcvbuf),
     .min = 4 * 1024,
     .max = 1024 * 1024 * 1024,
     .def = "8MB",
     .same = same_uint,
     .flags = OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "ede-text",
     .parse = parse_bool,
     .off = SRV(ede_text),
     .def = "yes"},
    {.sect = SEC_SERVER,
     .key = "io-uring",
     .parse = parse_bool,
     .off = SRV(io_uring),
     .def = "yes"},
    /* DNS over TLS (RFC 7858) and over HTTPS (RFC 8484). */
    {.sect = SEC_SERVER,
     .key = "listen-tls",
     .parse = parse_listen_list,
     .off = SRV(tls_listens),
     .same = same_endpoint_list,
     .flags = OPT_REPEAT | OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "listen-https",
     .parse = parse_listen_list,
     .off = SRV(https_listens),
     .same = same_endpoint_list,
     .flags = OPT_REPEAT | OPT_RESTART},
    {.sect = SEC_SERVER,
     .key = "https-path",
     .parse = parse_https_path,
     .off = SRV(https_path),
     .def = "/dns-query"},
    {.sect = SEC_SERVER, .key = "tls-certificate", .parse = parse_tls_file},
    {.sect = SEC_SERVER, .key = "tls-key", .parse = parse_tls_file},
    {.sect = SEC_SERVER,
     .key = "tls-min-version",
     .parse = parse_tls_version,
     .off = SRV(tls_min_version),
     .def = "1.2"},
    {.sect = SEC_SERVER, .key = "tls-ciphers", .parse = parse_tls_ciphers},
    {.sect = SEC_SERVER,
     .key = "tls-handshake-timeout",
     .parse = parse_duration,
     .off = SRV(tls_handshake_ms),
     .min = 100,
     .max = 60000,
     .def = "5s"},
    {.sect = SEC_SERVER,
     .key = "tls-ticket-key-rotation",
     .parse = parse_duration,
     .off = SRV(tls_ticket_rotation_ms),
     .min = 1000,
     .max = MS_MAX * 7,
     .def = "12h"},
    {.sect = SEC_SERVER,
     .key = "https-max-streams",
     .parse = parse_uint,
     .off = SRV(https_max_streams),
     .min = 1,
     .max = 10000,
     .def = "100"},
    {.sect = SEC_SERVER,
     .key = "yield-to-local-upstream",
     .parse = parse_enum,
     .off = SRV(yield_local),
     .names = yield_names,
     .def = "auto"},

    {.sect = SEC_LOG,
     .key = "target",
     .parse = parse_log_target,
     .def = "stderr"},
    {.sect = SEC_LOG,
     .key = "format",
     .parse = parse_enum,
     .off = LOG(format),
     .names = format_names,
     .def = "json"},
    {.sect = SEC_LOG,
     .key = "decisions",
     .parse = parse_enum,
     .off = LOG(decisions),
     .names = decisions_names,
     .def = "all"},
    {.sect = SEC_LOG,
     .key = "dnstap",
     .parse = parse_dnstap,
     .same = same_dnstap,
     .flags = OPT_RESTART},
    {.sect = SEC_LOG,
     .key = "dnstap-messages",
     .parse = parse_dnstap_messages,
     .off = LOG(dnstap_messages),
     .def = "client"},

    {.sect = SEC_GEOIP,
     .key = "database",
     .parse = parse_geoip_path,
     .off = GEO(database)},
    {.sect = SEC_GEOIP,
     .key = "asn-database",
     .parse = parse_geoip_path,
     .off = GEO(asn_database)},

    {.sect = SEC_UPSTREAM,
     .key = "server",
     .parse = parse_server,
     .flags = OPT_REPEAT},
    {.sect = SEC_UPSTREAM,
     .key = "selection",
     .parse = parse_enum,
     .off = UP(selection),
     .names = selection_names,
     .def = "ordered"},
    {.sect = SEC_UPSTREAM,
     .key = "timeout",
     .parse = parse_duration,
     .off = UP(timeout_ms),
     .min = 10,
     .max = 60000,
     .def = "1500ms"},
    {.sect = SEC_UPSTREAM,
     .key = "attempts",
     .parse = parse_uint,
     .off = UP(attempts),
     .min = 1,
     .max = 20,
     .def = "3"},
    {.sect = SEC_UPSTREAM,
     .key = "retry-on",
     .parse = parse_retry_on,
     .off = UP(retry_on),
     .def = "servfail, timeout",
     .flags = OPT_REPEAT},
    {.sect = SEC_UPSTREAM,
     .key = "udp-sockets",
     .parse = parse_uint,
     .off = UP(udp_sockets),
     .min = 0,
     .max = 64,
     .def = "0"},
    {.sect = SEC_UPSTREAM,
     .key = "cookies",
     .parse = parse_bool,
     .off = UP(cookies),
     .def = "yes"},
    {.sect = SEC_UPSTREAM,
     .key = "resolv-conf",
     .parse = parse_string,
     .off = UP(resolv_conf)},
    {.sect = SEC_UPSTREAM, .key = "tls-ca", .parse = parse_tls_ca},
    {.sect = SEC_UPSTREAM,
     .key = "health-check",
     .parse = parse_duration,
     .off = UP(health_ms),
     .min = 100,
     .max = MS_MAX,
     .def = "5s"},

    {.sect = SEC_VIEW,
     .key = "match-client",
     .parse = parse_match_client,
     .off = VIEW(match_client),
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "match-destination",
     .parse = parse_match_destination,
     .off = VIEW(match_destination),
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "match-transport",
     .parse = parse_match_transport,
     .off = VIEW(match_transport),
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "match-country",
     .parse = parse_match_country,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "match-asn",
     .parse = parse_match_asn,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "upstream",
     .parse = parse_string,
     .off = VIEW(upstream_name)},
    {.sect = SEC_VIEW,
     .key = "forward-zone",
     .parse = parse_forward_zone,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "allow",
     .parse = parse_acl_rule,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "refuse",
     .parse = parse_acl_rule,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "drop",
     .parse = parse_acl_rule,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "local-data",
     .parse = parse_local,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "local-zone",
     .parse = parse_local,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "local-zone-file",
     .parse = parse_local_zone_file,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "blocklist",
     .parse = parse_list_file,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "allowlist",
     .parse = parse_list_file,
     .flags = OPT_REPEAT},
    {.sect = SEC_VIEW,
     .key = "block-action",
     .parse = parse_block_action,
     .def = "nxdomain"},
    {.sect = SEC_VIEW,
     .key = "rebind-protection",
     .parse = parse_bool,
     .off = VIEW(rebind_protection),
     .def = "no"},
    {.sect = SEC_VIEW,
     .key = "allow-transfer",
     .parse = parse_acl_key,
     .off = VIEW(allow_transfer),
     .flags = OPT_REPEAT},

    {.sect = SEC_RATELIMIT,
     .key = "responses-per-second",
     .parse = parse_uint,
     .off = RL(rrl.responses_ps),
     .min = 0,
     .max = RRL_RATE_MAX,
     .def = "0"},
    {.sect = SEC_RATELIMIT,
     .key = "nxdomains-per-second",
     .parse = parse_uint,
     .off = RL(rrl.nxdomains_ps),
     .min = 0,
     .max = RRL_RATE_MAX,
     .def = "0"},
    {.sect = SEC_RATELIMIT,
     .key = "nodata-per-second",
     .parse = parse_uint,
     .off = RL(rrl.nodata_ps),
     .min = 0,
     .max = RRL_RATE_MAX,
     .def = "0"},
    {.sect = SEC_RATELIMIT,
     .key = "errors-per-second",
     .parse = parse_uint,
     .off = RL(rrl.errors_ps),
     .min = 0,
     .max = RRL_RATE_MAX,
     .def = "0"},
    {.sect = SEC_RATELIMIT,
     .key = "all-per-second",
     .parse = parse_uint,
     .off = RL(rrl.all_ps),
     .min = 0,
     .max = RRL_RATE_MAX,
     .def = "0"},
    {.sect = SEC_RATELIMIT,
     .key = "window",
     .parse = parse_seconds,
     .off = RL(rrl.window_s),
     .min = 1,
     .max = 3600,
     .def = "15s"},
    {.sect = SEC_RATELIMIT,
     .key = "slip",
     .parse = parse_uint,
     .off = RL(rrl.slip),
     .min = 0,
     .max = 10,
     .def = "2"},
    {.sect = SEC_RATELIMIT,
     .key = "ipv4-prefix-length",
     .parse = parse_uint,
     .off = RL(rrl.v4_prefix),
     .min = 8,
     .max = 32,
     .def = "24"},
    {.sect = SEC_RATELIMIT,
     .key = "ipv6-prefix-length",
     .parse = parse_uint,
     .off = RL(rrl.v6_prefix),
     .min = 16,
     .max = 64,
     .def = "56"},
    {.sect = SEC_RATELIMIT,
     .key = "exempt-clients",
     .parse = parse_acl_key,
     .off = RL(exempt),
     .flags = OPT_REPEAT},
    {.sect = SEC_RATELIMIT,
     .key = "max-table-size",
     .parse = parse_uint,
     .off = RL(rrl.max_table),
     .min = RRL_TABLE_MIN,
     .max = RRL_TABLE_MAX,
     .def = "20000"},
    {.sect = SEC_RATELIMIT,
     .key = "log-only",
     .parse = parse_bool,
     .off = RL(rrl.log_only),
     .def = "no"},
    {.sect = SEC_RATELIMIT,
     .key = "queries-per-second",
     .parse = parse_uint,
     .off = RL(rrl.queries_ps),
     .min = 0,
     .max = 1000000,
     .def = "0"},
    {.sect = SEC_RATELIMIT,
     .key = "queries-action",
     .parse = parse_enum,
     .off = RL(queries_action),
     .names = queries_action_names,
     .def = "refuse"},

    {.sect = SEC_COOKIES,
     .key = "enabled",
     .parse = parse_bool,
     .off = CK(enabled),
     .def = "no"},
    {.sect = SEC_COOKIES,
     .key = "secret",
     .parse = parse_secret,
     .off = CK(secret)},
    {.sect = SEC_COOKIES,
     .key = "previous-secret",
     .parse = parse_secret,
     .off = CK(previous)},
    {.sect = SEC_COOKIES,
     .key = "require",
     .parse = parse_bool,
     .off = CK(require),
     .def = "no"},

    {.sect = SEC_CACHE,
     .key = "size",
     .parse = parse_cache_size,
     .off = CACHE(size),
     .def = "0"},
    {.sect = SEC_CACHE,
     .key = "min-ttl",
     .parse = parse_seconds,
     .off = CACHE(min_ttl),
     .min = 0,
     .max = 86400,
     .def = "0"},
    {.sect = SEC_CACHE,
     .key = "max-ttl",
     .parse = parse_seconds,
     .off = CACHE(max_ttl),
     .min = 1,
     .max = 604800,
     .def = "1d"},
    {.sect = SEC_CACHE,
     .key = "serve-stale",
     .parse = parse_bool,
     .off = CACHE(serve_stale),
     .def = "no"},
    {.sect = SEC_CACHE,
     .key = "stale-ttl",
     .parse = parse_seconds,
     .off = CACHE(stale_ttl),
     .min = 1,
     .max = 86400,
     .def = "30s"},
    {.sect = SEC_CACHE,
     .key = "max-stale",
     .parse = parse_seconds,
     .off = CACHE(max_stale),
     .min = 0,
     .max = 604800,
     .def = "1d"},
    {.sect = SEC_CACHE,
     .key = "stale-answer-client-timeout",
     .parse = parse_duration,
     .off = CACHE(client_timeout_ms),
     .min = 0,
     .max = 30000,
     .def = "0"},
    {.sect = SEC_CACHE,
     .key = "prefetch",
     .parse = parse_bool,
     .off = CACHE(prefetch),
     .def = "no"},
    {.sect = SEC_CACHE,
     .key = "servfail-ttl",
     .parse = parse_seconds,
     .off = CACHE(servfail_ttl),
     .min = 0,
     .max = CACHE_SERVFAIL_TTL_MAX,
     .def = "5s"},

    {.sect = SEC_LISTS,
     .key = "strict",
     .parse = parse_bool,
     .off = LISTS(strict),
     .def = "no"},
    /* 2s at least: short enough for tests, and no list server should be
     * asked more often. */
    {.sect = SEC_LISTS,
     .key = "refresh",
     .parse = parse_duration,
     .off = LISTS(refresh_ms),
     .min = 2000,
     .max = 7 * MS_MAX,
     .def = "24h"},
    {.sect = SEC_LISTS,
     .key = "cache-dir",
     .parse = parse_string,
     .off = LISTS(cache_dir),
     .def = "/var/lib/dnsgate/lists"},
    {.sect = SEC_LISTS,
     .key = "max-size",
     .parse = parse_list_size,
     .off = LISTS(max_size),
     .def = "64MB"},
    {.sect = SEC_LISTS,
     .key = "timeout",
     .parse = parse_duration,
     .off = LISTS(timeout_ms),
     .min = 1000,
     .max = 3600000,
     .def = "30s"},

};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

_Static_assert(NOPTIONS <= 96, "loader.seen[] is too small");

/* ---- sections ---- */

static const struct {
	const char *name;
	enum section sect;
	bool named; /* [upstream NAME] */
} sections[] = {
    {"server", SEC_SERVER, false},   {"log", SEC_LOG, false},
    {"geoip", SEC_GEOIP, false},     {"upstream", SEC_UPSTREAM, true},
    {"view", SEC_VIEW, true},        {"ratelimit", SEC_RATELIMIT, false},
    {"cookies", SEC_COOKIES, false}, {"cache", SEC_CACHE, false},
    {"lists", SEC_LISTS, false},
};

static void apply_defaults(struct loader *l);
static const char *list_path(const struct loader *l, const char *value,
                             char *buf, size_t cap);

static struct upstream_conf *
config_find_upstream(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nupstreams; i++)
		if (strcmp(c->upstreams[i]->name, name) == 0)
			return c->upstreams[i];
	return NULL;
}

static struct view_conf *
config_find_view(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nviews; i++)
		if (strcmp(c->views[i]->name, name) == 0)
			return c->views[i];
	return NULL;
}

static void *
section_new_named(struct loader *l, enum section sect, const char *name)
{
	struct config *c = l->cfg;

	if (sect == SEC_UPSTREAM) {
		struct upstream_conf **n, *u;

		if (config_find_upstream(c, name) != NULL)
			cfg_error(l, l->line, "[upstream %s] defined twice",
			          name);
		if (strcmp(name, "none") == 0)
			cfg_error(l, l->line,
			          "[upstream none]: 'none' means no upstream "
			          "(upstream = none); choose another name");
		n = grow(c->upstreams, c->nupstreams, sizeof(*n));
		u = calloc(1, sizeof(*u));
		if (n == NULL || u == NULL) {
			free(u);
			return NULL;
		}
		c->upstreams = n;
		u->name = strdup(name);
		u->line = l->line;
		u->index = c->nupstreams;
		c->upstreams[c->nupstreams++] = u;
		return u;
	} else {
		struct view_conf **n, *v;

		if (config_find_view(c, name) != NULL)
			cfg_error(l, l->line, "[view %s] defined twice", name);
		n = grow(c->views, c->nviews, sizeof(*n));
		v = calloc(1, sizeof(*v));
		if (n == NULL || v == NULL) {
			free(v);
			return NULL;
		}
		c->views = n;
		v->name = strdup(name);
		v->line = l->line;
		v->index = (unsigned)c->nviews;
		c->views[c->nviews++] = v;
		return v;
	}
}

static bool
valid_section_name(const char *name)
{
	if (*name == '\0')
		return false;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) &&
		    strchr("-_.", *name) == NULL)
			return false;
	return true;
}

/* "[server]" or "[view corp]": pick the section and its target struct. */
static void
section_begin(struct loader *l, const char *header)
{
	char word[64], name[128];
	int n;

	l->sect = SEC_UNKNOWN;
	l->target = NULL;
	memset(l->seen, 0, sizeof(l->seen));
	name[0] = '\0';
	{
		char extra[2];

		n = sscanf(header, "%63s %127s %1s", word, name, extra);
	}
	if (n == 3) {
		cfg_error(l, l->line, "[%s]: one name only", header);
		return;
	}
	if (n < 1) {
		cfg_error(l, l->line, "empty section name");
		return;
	}
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (strcmp(word, sections[i].name) != 0)
			continue;
		if (sections[i].named &&
		    (n != 2 || !valid_section_name(name))) {
			cfg_error(l, l->line,
			          "[%s] needs a name: [%s NAME] (letters, "
			          "digits, '-', '_', '.')",
			          word, word);
			return;
		}
		if (!sections[i].named && n != 1) {
			cfg_error(l, l->line, "[%s] takes no name", word);
			return;
		}
		l->sect = sections[i].sect;
		if (!sections[i].named && l->have[l->sect])
			cfg_error(l, l->line, "[%s] appears twice", word);
		l->have[l->sect] = true;
		switch (l->sect) {
		case SEC_SERVER:
			l->target = &l->cfg->server;
			break;
		case SEC_LOG:
			l->target = &l->cfg->log;
			break;
		case SEC_GEOIP:
			l->target = &l->cfg->geoip_conf;
			break;
		case SEC_RATELIMIT:
			l->target = &l->cfg->ratelimit; /* defaults: at load */
			break;
		case SEC_COOKIES:
			l->target = &l->cfg->cookies;
			break;
		case SEC_CACHE:
			l->target = &l->cfg->cache; /* defaults: at load */
			l->cache_line = l->line;
			break;
		case SEC_LISTS:
			l->target = &l->cfg->lists; /* defaults: at load */
			break;
		case SEC_UPSTREAM:
		case SEC_VIEW:
			l->target = section_new_named(l, l->sect, name);
			if (l->target != NULL)
				apply_defaults(l);
			break;
		default:
			l->target = NULL;
			break;
		}
		return;
	}
	cfg_error(l, l->line, "unknown section [%s]", word);
}

/* Defaults go in as if written, through the same parsers. */
static void
apply_defaults(struct loader *l)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &options[i];

		if (o->sect != l->sect || o->def == NULL)
			continue;
		l->first = false;
		if (o->parse(l, o, (char *)l->target + o->off, o->def) < 0)
			cfg_error(l, l->line, "internal: bad default for %s",
			          o->key);
	}
}

static const struct option *
option_find(enum section sect, const char *key, size_t *idx)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].sect == sect &&
		    strcmp(options[i].key, key) == 0) {
			*idx = i;
			return &options[i];
		}
	}
	return NULL;
}

static int
ini_handler_cb(void *user, const char *section, const char *key,
               const char *value)
{
	struct loader *l = user;
	const struct option *o;
	size_t idx;
	void *dst;

	if (l->sect == SEC_UNKNOWN)
		return 1; /* reported once, at the header */
	if (l->sect == SEC_NONE) {
		cfg_error(l, l->line, "'%s' outside any section", key);
		return 1;
	}
	o = option_find(l->sect, key, &idx);
	if (o == NULL) {
		cfg_error(l, l->line, "unknown key '%s' in [%s]", key, section);
		return 1;
	}
	if (o->flags & OPT_UNSUPPORTED) {
		cfg_error(l, l->line, "%s: not supported yet", key);
		return 1;
	}
	if (!(o->flags & OPT_REPEAT) && l->seen[idx] != 0) {
		cfg_error(l, l->line, "%s: already set on line %d", key,
		          l->seen[idx]);
		return 1;
	}
	if (l->seen[idx] == 0)
		l->seen[idx] = l->line;
	if (l->target == NULL)
		return 1;
	dst = (char *)l->target + o->off;
	/* The first explicit line of a repeatable key replaces its
	 * default; later lines add to it. */
	l->first = l->seen[idx] == l->line;
	o->parse(l, o, dst, value);
	l->first = false;
	return 1;
}

/*
 * inih gives no line numbers (Debian builds it without INI_HANDLER_LINENO)
 * and no callback for a section header, so we feed it line by line: that
 * counts lines and sees every header, even of an empty section.
 */
static char *
next_line(struct loader *l, char *buf, size_t cap)
{
	if (l->fp != NULL) {
		size_t n;
		int c;

		if (fgets(buf, (int)cap, l->fp) == NULL)
			return NULL;
		n = strlen(buf);
		if (n == cap - 1 && buf[n - 1] != '\n') {
			while ((c = fgetc(l->fp)) != EOF && c != '\n')
				;
			buf[0] = '\0'; /* flag: too long */
			return buf;
		}
		return buf;
	}
	if (l->text[l->pos] == '\0')
		return NULL;
	{
		const char *s = l->text + l->pos;
		const char *e = strchr(s, '\n');
		size_t n = e != NULL ? (size_t)(e - s) + 1 : strlen(s);

		l->pos += n;
		if (n >= cap) {
			buf[0] = '\0';
			return buf;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		return buf;
	}
}

static char *
ini_reader_cb(char *str, int num, void *stream)
{
	struct loader *l = stream;
	const char *p;

	if (next_line(l, str, (size_t)num) == NULL)
		return NULL;
	l->line++;
	if (str[0] == '\0') {
		cfg_error(l, l->line, "line longer than %d characters",
		          num - 2);
		strcpy(str, "\n");
		return str;
	}
	/* A UTF-8 byte-order mark before the first line (inih's too). */
	if (l->line == 1 && strncmp(str, "\xef\xbb\xbf", 3) == 0)
		memmove(str, str + 3, strlen(str + 3) + 1);
	/* Leading blanks are dropped: inih would read an indented line as a
	 * continuation of the previous value, a trap in a DNS config. The
	 * same blanks as inih's, \r and \f included. */
	for (p = str; *p != '\0' && *p != '\n' && isspace((unsigned char)*p);
	     p++)
		;
	if (p != str)
		memmove(str, p, strlen(p) + 1);
	p = str;
	/* inih reports only its first syntax error; we report every one
	 * and hand it a blank line instead. */
	if (strchr(";#[\r\n", *p) == NULL &&
	    (strchr(p, '=') == NULL || *strpbrk(p, "=:") == ':')) {
		cfg_error(l, l->line,
		          "syntax error (expected [section] or key = value)");
		strcpy(str, "\n");
		return str;
	}
	if (*p == '[') {
		char header[200];
		const char *end = strchr(p, ']');

		if (end != NULL && (size_t)(end - p) < sizeof(header)) {
			memcpy(header, p + 1, (size_t)(end - p - 1));
			header[end - p - 1] = '\0';
			section_begin(l, header);
		} else {
			/* Its keys must not land in the previous section. */
			cfg_error(l, l->line, "section header without ']'");
			l->sect = SEC_UNKNOWN;
			l->target = NULL;
			strcpy(str, "\n");
		}
	}
	return str;
}

/* ---- whole-file checks ---- */

/*
 * The listen address that would receive what is sent to ep, or NULL:
 * ep itself, or, behind a wildcard listen address of its family (0.0.0.0,
 * or :: which is IPv6 only), any address of this host on the same port,
 * all of 127.0.0.0/8 included. Forwarding there is forwarding to ourselves.
 */
static const struct endpoint *
own_listen(struct loader *ld, const struct endpoint *ep)
{
	const struct server_conf *s = &ld->cfg->server;
	/* A tls:// server would reach our listen-tls, a plain one listen. */
	const struct endpoint *v = ep->tls ? s->tls_listens.v : s->listens;
	size_t n = ep->tls ? s->tls_listens.n : s->nlistens;

	for (size_t i = 0; i < n; i++) {
		const struct endpoint *l = &v[i];

		if (l->port != ep->port)
			continue;
		if (ip_addr_equal(&l->addr, &ep->addr))
			return l;
		if (ip_addr_is_unspecified(&l->addr) &&
		    l->addr.v4 == ep->addr.v4 &&
		    is_local_address(ld, &ep->addr))
			return l;
	}
	return NULL;
}

/* True when a wildcard listen address of ep's family has ep's port. */
static bool
behind_wildcard(const struct loader *ld, const struct endpoint *ep)
{
	const struct config *c = ld->cfg;

	for (size_t i = 0; i < c->server.nlistens; i++) {
		const struct endpoint *l = &c->server.listens[i];

		if (l->port == ep->port && ip_addr_is_unspecified(&l->addr) &&
		    l->addr.v4 == ep->addr.v4)
			return true;
	}
	return false;
}

/*
 * A server of u that is one of our own listen addresses: every query
 * forwarded to it would come back to us and be forwarded again. (A
 * resolv-conf file is filtered instead: its nameserver lines often name
 * the local resolver dnsgate replaces.)
 */
static void
check_own_servers(struct loader *l, const struct upstream_conf *u)
{
	for (size_t i = 0; i < u->nservers; i++) {
		const struct endpoint *ep = &u->servers[i];
		const struct endpoint *own = own_listen(l, ep);

		if (own == NULL)
			continue;
		if (ip_addr_equal(&own->addr, &ep->addr))
			cfg_error(l, ep->line,
			          "[upstream %s]: server %s is one of "
			          "dnsgate's own listen addresses: queries "
			          "would be forwarded to dnsgate itself, in a "
			          "loop",
			          u->name, ep->text);
		else
			cfg_error(l, ep->line,
			          "[upstream %s]: server %s is an address of "
			          "this host, which %s = %s (line %d) "
			          "takes: queries would be forwarded to "
			          "dnsgate itself, in a loop",
			          u->name, ep->text,
			          ep->tls ? "listen-tls" : "listen", own->text,
			          own->line);
	}
}

/*
 * resolv-conf: the "nameserver" lines of a resolv.conf(5), port 53, minus
 * any address we listen on ourselves (forwarding to ourselves would loop).
 */
static void
load_resolv_conf(struct loader *l, struct upstream_conf *u)
{
	static const struct option o = {.key = "resolv-conf"};
	char buf[4096];
	FILE *f =
	    file_open_regular(list_path(l, u->resolv_conf, buf, sizeof(buf)));
	char line[256];
	size_t before = u->nservers;
	unsigned lines = 0;
	bool doubted = false;

	if (f == NULL) {
		cfg_error(l, u->line, "[upstream %s]: cannot read %s: %s",
		          u->name, u->resolv_conf, file_error(errno));
		return;
	}
	/* resolv.conf(5) is short; a bounded read keeps a wrong path (a
	 * huge file) from stalling a reload. */
	while (lines++ < 4096 && fgets(line, sizeof(line), f) != NULL) {
		char addr[128];
		struct endpoint ep = {0};

		if (sscanf(line, " nameserver %127s", addr) != 1 ||
		    ip_addr_parse(addr, &ep.addr) < 0)
			continue;
		ep.port = 53;
		if (own_listen(l, &ep) != NULL)
			continue;
		if (l->ifs_errno != 0 && behind_wildcard(l, &ep)) {
			/* Perhaps ourselves: a silent loop is worse than a
			 * configuration that says why it cannot start. */
			cfg_error(l, u->line,
			          "[upstream %s]: nameserver %s in %s may be "
			          "this host, which a wildcard listen would "
			          "take, but this host's addresses cannot be "
			          "read (getifaddrs: %s; under systemd, "
			          "RestrictAddressFamilies= needs AF_NETLINK): "
			          "name the servers with server = instead",
			          u->name, addr, u->resolv_conf,
			          strerror(l->ifs_errno));
			doubted = true;
			continue;
		}
		server_item(l, &o, u, addr);
	}
	fclose(f);
	if (u->nservers == before && !doubted)
		cfg_warn(l, u->line,
		         "[upstream %s]: no usable nameserver in %s", u->name,
		         u->resolv_conf);
}

/* [geoip]: open the databases now, so a bad file fails the check. */
static void
check_geoip(struct loader *l)
{
	struct config *c = l->cfg;
	const struct geoip_conf *gc = &c->geoip_conf;
	char err[256];
	bool want_cc = false, want_asn = false;

	for (size_t i = 0; i < c->nviews; i++) {
		want_cc |= c->views[i]->ncountries > 0;
		want_asn |= c->views[i]->nasns > 0;
	}
	if (want_cc && gc->database == NULL)
		cfg_error(l, l->line,
		          "match-country needs [geoip] database = FILE");
	if (want_asn && gc->asn_database == NULL)
		cfg_error(l, l->line,
		          "match-asn needs [geoip] asn-database = FILE");
	if (gc->database == NULL && gc->asn_database == NULL)
		return;
	{
		char b1[4096], b2[4096];
		const char *db = gc->database, *asn = gc->asn_database;

		c->geoip = geoip_open(
		    db != NULL ? list_path(l, db, b1, sizeof(b1)) : NULL,
		    asn != NULL ? list_path(l, asn, b2, sizeof(b2)) : NULL, err,
		    sizeof(err));
	}
	if (c->geoip == NULL)
		cfg_error(l, gc->line, "[geoip]: %s", err);
}

/*
 * A relative file name (list, resolv-conf, GeoIP database) is taken
 * relative to the configuration file's directory (as BIND's "directory"),
 * keeping any "rpz:" style prefix.
 */
static const char *
list_path(const struct loader *l, const char *value, char *buf, size_t cap)
{
	return config_file_path(l->name, value, buf, cap);
}

const char *
config_file_path(const char *conf_path, const char *value, char *buf,
                 size_t cap)
{
	size_t plen = blocklist_prefix_len(value);
	const char *file = value + plen;
	const char *slash = strrchr(conf_path, '/');

	if (file[0] == '/' || slash == NULL)
		return value;
	snprintf(buf, cap, "%.*s%.*s%s", (int)plen, value,
	         (int)(slash - conf_path + 1), conf_path, file);
	return buf;
}

/*
 * The bad entries of a loaded list (policy/blocklist.h): with [lists]
 * strict = yes each reported one is an error, and the list is rejected;
 * otherwise they are warnings, and the list loads without them. Both
 * say FILE:LINE of the list after the configuration's own. Returns
 * whether the list is kept.
 */
static bool
list_report(struct loader *l, const char *key, const char *file, int line,
            const struct blocklist *bl)
{
	const struct blocklist_info *in = blocklist_get_info(bl);
	const struct blocklist_problem *p;
	size_t n = blocklist_problems(bl, &p);
	bool strict = l->cfg->lists.strict;

	if (in->bad == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (strict)
			cfg_error(l, line, "%s: %s:%d: %s", key, file,
			          p[i].line, p[i].text);
		else
			cfg_warn(l, line, "%s: %s:%d: %s", key, file, p[i].line,
			         p[i].text);
	}
	if (strict) {
		if (in->bad > n)
			cfg_error(l, line, "%s: %s: and %zu more bad entries",
			          key, file, in->bad - n);
		cfg_error(l, line,
		          "%s: %s: rejected for its bad entries ([lists] "
		          "strict = yes; with no, they are skipped)",
		          key, file);
		return false;
	}
	cfg_warn(l, line,
	         "%s: %s: %zu bad entr%s skipped (%zu shown), %zu entries "
	         "loaded",
	         key, file, in->bad, in->bad == 1 ? "y" : "ies", n,
	         in->entries);
	return true;
}

/*
 * A list named by URL (policy/listurl.h): its last good copy in [lists]
 * cache-dir, read as any list file is. Without a usable copy (never
 * downloaded yet, or unreadable), an empty list of the same name and a
 * warning: the server comes up, as BIND and Unbound do with a zone they
 * cannot transfer yet, and the list fills at its first download
 * (proxy/listfetch.c). Nothing is downloaded here: -t and explain read the
 * copy, or nothing.
 */
static struct blocklist *
list_load_url(struct loader *l, const char *key, const char *value, int line)
{
	const char *cache_dir = l->cfg->lists.cache_dir;
	char path[4096], dir[4096], err[256] = "";
	const char *why = NULL;
	struct blocklist *bl = NULL;
	struct list_meta m;
	struct list_url u;
	int errline = 0;

	if (list_url_parse(value, &u, &why) < 0) {
		cfg_error(l, line, "%s: %s: %s", key, value, why);
		return NULL;
	}
	if (list_url_dir(cache_dir, value, &u, dir, sizeof(dir)) < 0 ||
	    list_url_copy_path(cache_dir, value, &u, path, sizeof(path)) < 0) {
		cfg_error(l, line, "%s: %s: [lists] cache-dir is too long", key,
		          value);
		return NULL;
	}
	if (list_url_cleartext(&u))
		cfg_warn(l, line,
		         "%s %s: fetched over plain http: anyone on the way "
		         "can change the list (use https://, or a mirror on a "
		         "private address)",
		         key, value);
	if (access(list_url_of(path), F_OK) < 0 && errno == ENOENT)
		why = "no copy downloaded yet";
	else if (list_meta_read(dir, &m) == 0 && strcmp(m.value, value) != 0)
		why = "the copy there is of another URL";
	else if ((bl = blocklist_load(path, err, sizeof(err), &errline)) ==
	         NULL)
		why = err;
	if (bl != NULL) {
		/* Its bad entries, as for a file ([lists] strict). */
		if (list_report(l, key, value, line, bl))
			return bl;
		blocklist_free(bl);
		return NULL;
	}
	cfg_warn(l, line,
	         "%s %s: %s (in %s): the list is empty until it is downloaded",
	         key, value, why, dir);
	bl = blocklist_parse(u.name, u.format, "", 0, err, sizeof(err),
	                     &errline);
	if (bl == NULL)
		cfg_error(l, line, "%s: %s", key, err);
	return bl;
}

const char *
config_list_path(const struct config *c, const char *value, char *buf,
                 size_t cap)
{
	struct list_url u;
	const char *why;

	if (!list_url_is(value))
		return config_file_path(c->path, value, buf, cap);
	if (list_url_parse(value, &u, &why) < 0 ||
	    list_url_copy_path(c->lists.cache_dir, value, &u, buf, cap) < 0)
		return value;
	return buf;
}

/* Load one list file; NULL (and the error reported) when it is bad. */
static struct blocklist *
list_load(struct loader *l, const char *key, const char *value, int line)
{
	char err[512], buf[4096];
	int errline = 0;
	const char *path;
	struct blocklist *bl;

	if (list_url_is(value))
		return list_load_url(l, key, value, line);
	path = list_path(l, value, buf, sizeof(buf));
	bl = blocklist_load(path, err, sizeof(err), &errline);
	/* The file's own place, without a format prefix like "rpz:". */
	path += blocklist_prefix_len(path);
	if (bl != NULL) {
		if (list_report(l, key, path, line, bl))
			return bl;
		blocklist_free(bl);
		return NULL;
	}
	if (errline > 0)
		cfg_error(l, line, "%s: %s:%d: %s", key, path, errline, err);
	else
		cfg_error(l, line, "%s: %s", key, err);
	return NULL;
}

/*
 * A view's blocklists and allowlists become one index (policy/blocklist.c):
 * lookup cost per label, whatever the number or size of the lists. The
 * lists themselves are freed once indexed, except in a view with a list
 * named by URL: they stay in v->lists, so that a download rebuilds the
 * index without reading any other file (proxy/listfetch.c).
 */
static void
check_lists(struct loader *l, struct view_conf *v)
{
	size_t nb = v->nblocklists, na = v->nallowlists;
	struct blocklist **b = calloc(nb + na + 1, sizeof(*b));
	bool ok = b != NULL, keep = false;

	for (size_t i = 0; i < nb; i++)
		keep |= list_url_is(v->blocklists[i]);
	for (size_t i = 0; i < na; i++)
		keep |= list_url_is(v->allowlists[i]);

	/* Every list is read, so -t reports every bad one. */
	for (size_t i = 0; b != NULL && i < nb; i++)
		ok &= (b[i] = list_load(l, "blocklist", v->blocklists[i],
		                        v->blocklist_lines[i])) != NULL;
	for (size_t i = 0; b != NULL && i < na; i++)
		ok &= (b[nb + i] = list_load(l, "allowlist", v->allowlists[i],
		                             v->allowlist_lines[i])) != NULL;
	if (ok) {
		v->blocks = blockset_create(
		    (const struct blocklist *const *)b, nb,
		    (const struct blocklist *const *)b + nb, na);
		if (v->blocks == NULL)
			cfg_error(l, v->line, "[view %s]: out of memory",
			          v->name);
	}
	if (ok && keep && v->blocks != NULL) {
		v->lists = b;
		return;
	}
	for (size_t i = 0; b != NULL && i < nb + na; i++)
		blocklist_free(b[i]);
	free(b);
}

static void
check_ratelimit_cookies(struct loader *l)
{
	struct config *c = l->cfg;
	const struct rrl_config *r = &c->ratelimit.rrl;
	const char *why = NULL;

	c->ratelimit.enabled = r->responses_ps || r->nxdomains_ps ||
	                       r->nodata_ps || r->errors_ps || r->all_ps ||
	                       r->queries_ps;
	if (rrl_config_check(r, &why) < 0)
		cfg_error(l, l->line, "[ratelimit]: %s", why);
	/* BIND's cookie-secret default: random at every start or reload. */
	if (c->cookies.enabled && !c->cookies.have_secret &&
	    getrandom(c->cookies.secret.key, sizeof(c->cookies.secret.key),
	              0) != (ssize_t)sizeof(c->cookies.secret.key))
		cfg_error(l, l->line, "[cookies]: no random secret");
}

/* [cache]: min-ttl above max-ttl would make one of them meaningless. */
static void
check_cache(struct loader *l)
{
	const struct cache_params *p = &l->cfg->cache;

	if (p->min_ttl > p->max_ttl)
		cfg_error(l, l->cache_line,
		          "[cache]: min-ttl (%us) is above max-ttl (%us)",
		          p->min_ttl, p->max_ttl);
}

/* ---- open views ---- */

/*
 * True when list takes every client: an "any" or a /0 that no negated
 * "any" before it shuts off ("!10.0.0.0/8, any" still takes the world).
 */
static bool
acl_takes_everyone(const struct acl *list)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct acl_elem *e = &list->elems[i];
		bool all = e->kind == ACL_ELEM_ANY ||
		           (e->kind == ACL_ELEM_PREFIX && e->prefix.len == 0);

		if (all)
			return !e->negated;
	}
	return false;
}

/* True when list may take an address outside loopback (127/8, ::1). */
static bool
acl_takes_outside_loopback(const struct acl *list)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct acl_elem *e = &list->elems[i];
		const struct ip_prefix *p = &e->prefix;

		if (e->negated || e->kind == ACL_ELEM_NONE)
			continue;
		if (e->kind == ACL_ELEM_ANY)
			return true;
		if (!ip_addr_is_loopback(&p->addr) ||
		    (p->addr.v4 ? p->len < 8 : p->len < 128))
			return true;
	}
	return false;
}

/* True when queries to listen address a can reach view v. */
static bool
view_reached_on(const struct view_conf *v, const struct ip_addr *a)
{
	if (!v->has_match_destination)
		return true;
	/* A wildcard listen takes queries to any address of the host. */
	if (ip_addr_is_unspecified(a))
		return acl_takes_outside_loopback(&v->match_destination);
	return acl_allows(&v->match_destination, a);
}

/* One warning per listen address outside loopback that reaches v. */
static void
warn_open_view(struct loader *l, const struct view_conf *v)
{
	const struct server_conf *srv = &l->cfg->server;
	const struct {
		const char *key;
		const struct endpoint *v;
		size_t n;
		unsigned transports; /* what arrives there */
	} kinds[] = {
	    {"listen", srv->listens, srv->nlistens,
	     1u << TRANSPORT_UDP | 1u << TRANSPORT_TCP},
	    {"listen-tls", srv->tls_listens.v, srv->tls_listens.n,
	     1u << TRANSPORT_TLS},
	    {"listen-https", srv->https_listens.v, srv->https_listens.n,
	     1u << TRANSPORT_HTTPS},
	};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (v->match_transport != 0 &&
		    !(v->match_transport & kinds[k].transports))
			continue;
		for (size_t i = 0; i < kinds[k].n; i++) {
			const struct endpoint *ep = &kinds[k].v[i];

			if (ip_addr_is_loopback(&ep->addr) ||
			    !view_reached_on(v, &ep->addr))
				continue;
			cfg_warn(l, v->line,
			         "[view %s] answers anyone who reaches %s %s: "
			         "it has no allow, refuse or drop line and its "
			         "match-client %s (add ACL lines; allow = any "
			         "if that is meant)",
			         v->name, kinds[k].key, ep->text,
			         v->has_match_client ? "takes every address"
			                             : "is not set");
		}
	}
}

/*
 * A view without ACL lines allows every client it matched (the documented
 * semantics, kept): with a match-client that takes everyone, on a listen
 * address outside loopback, that is an open resolver, where BIND, Unbound
 * and dnsdist are closed by default. Say so, as a warning (-t exits 0).
 */
static void
warn_open_views(struct loader *l)
{
	const struct config *c = l->cfg;

	if (l->errs == NULL)
		return;
	for (size_t i = 0; i < c->nviews; i++) {
		const struct view_conf *v = c->views[i];
		bool everyone = !v->has_match_client ||
		                acl_takes_everyone(&v->match_client);

		if (everyone && v->nrules == 0)
			warn_open_view(l, v);
		/* Without other criteria it takes every query: the views
		 * after it are never reached. */
		if (everyone && !v->has_match_destination &&
		    v->match_transport == 0 && v->ncountries == 0 &&
		    v->nasns == 0)
			break;
	}
}

/*
 * The local zone that answers every name under the forward-zone z before
 * it is forwarded, or NULL. Local zones come first in the pipeline (as in
 * BIND and Unbound), so the closest local zone at or above the suffix
 * decides: any type but transparent answers every name itself (static,
 * nxdomain, nodata, refuse, drop) unless a transparent zone below the
 * suffix lets some names through.
 */
static const struct local_zone *
forward_hidden_by(const struct local_data *ld, const struct forward_zone *z)
{
	const struct local_zone *enc = NULL;
	unsigned enc_labels = 0;

	for (size_t i = 0; i < ld->nzones; i++) {
		const struct local_zone *lz = &ld->zones[i];
		unsigned n = dns_name_labels(lz->name);

		if (dns_name_is_sub(z->name, lz->name) &&
		    (enc == NULL || n > enc_labels)) {
			enc = lz;
			enc_labels = n;
		}
	}
	if (enc == NULL || enc->type == LZ_TRANSPARENT)
		return NULL;
	for (size_t i = 0; i < ld->nzones; i++)
		if (ld->zones[i].type == LZ_TRANSPARENT &&
		    dns_name_is_sub(ld->zones[i].name, z->name))
			return NULL;
	return enc;
}

/* "corp.example" as a local-zone rule prints it; "." for the root. */
static void
zone_name_text(const uint8_t *name, char *buf, size_t cap)
{
	int n = dns_name_to_text(name, buf, cap);

	if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

/*
 * v's forward-zones: each names a defined group, and is not hidden by a
 * local zone. Returns true when one of them is the root, which then takes
 * the place of the view's upstream (and may not be given with it).
 */
static bool
check_forward_zones(struct loader *l, struct view_conf *v)
{
	bool root = false;

	for (size_t i = 0; i < v->forward.n; i++) {
		struct forward_zone *z = &v->forward.zones[i];
		const struct local_zone *lz;

		if (strcmp(z->group_name, "none") == 0)
			cfg_error(l, z->line,
			          "[view %s]: forward-zone %s: 'none' is no "
			          "[upstream] group (local-zone = %s refuse "
			          "keeps names from being forwarded)",
			          v->name, z->text, z->text);
		else if ((z->group = config_find_upstream(
		              l->cfg, z->group_name)) == NULL)
			cfg_error(l, z->line,
			          "[view %s]: forward-zone %s: upstream '%s' "
			          "is not defined",
			          v->name, z->text, z->group_name);
		if ((lz = forward_hidden_by(&v->local, z)) != NULL) {
			char zt[DNS_NAME_TEXT_MAX], at[32] = "";

			zone_name_text(lz->name, zt, sizeof(zt));
			if (lz->line > 0)
				snprintf(at, sizeof(at), " (line %d)",
				         lz->line);
			cfg_error(l, z->line,
			          "[view %s]: forward-zone %s is never used: "
			          "local-zone %s %s%s answers every name under "
			          "it first (local zones come before "
			          "forwarding; a transparent zone would let "
			          "names without local data through)",
			          v->name, z->text, zt,
			          local_zone_type_name(lz->type), at);
		}
		if (z->labels > 0)
			continue;
		root = true;
		if (v->upstream_name != NULL)
			cfg_error(l, z->line,
			          "[view %s]: forward-zone . and upstream = %s "
			          "both say where names outside the other "
			          "forward-zones go: keep one",
			          v->name, v->upstream_name);
	}
	return root;
}

/* The line of the first listen-tls or listen-https, for messages. */
static int
encrypted_listen_line(const struct server_conf *s)
{
	if (s->tls_listens.n > 0)
		return s->tls_listens.v[0].line;
	return s->https_listens.n > 0 ? s->https_listens.v[0].line : 0;
}

/* No address is bound twice by listen, listen-tls and listen-https. */
static void
check_listen_overlap(struct loader *l)
{
	const struct server_conf *s = &l->cfg->server;
	const struct endpoint_list tcp = {s->listens, s->nlistens};
	const struct endpoint_list *lists[] = {&tcp, &s->tls_listens,
	                                       &s->https_listens};

	for (size_t a = 0; a < 3; a++)
		for (size_t b = a + 1; b < 3; b++)
			for (size_t i = 0; i < lists[a]->n; i++)
				for (size_t j = 0; j < lists[b]->n; j++)
					if (same_endpoint(&lists[a]->v[i],
					                  &lists[b]->v[j]))
						cfg_error(
						    l, lists[b]->v[j].line,
						    "%s is already a listen "
						    "address (line %d)",
						    lists[b]->v[j].text,
						    lists[a]->v[i].line);
}

/*
 * The encrypted listeners' certificate and key: both set when a listener
 * needs them, readable, matching, valid now; a warning within
 * TLS_EXPIRY_WARN_DAYS of the end. The tls:// upstreams' CA bundles.
 */
static void
check_tls(struct loader *l)
{
	struct server_conf *s = &l->cfg->server;
	int line = encrypted_listen_line(s);
	char err[512];

	check_listen_overlap(l);
	if (line > 0 && (s->tls_cert == NULL || s->tls_key == NULL))
		cfg_error(l, line,
		          "listen-tls and listen-https need tls-certificate "
		          "and tls-key");
	if (line == 0 && (s->tls_cert != NULL || s->tls_key != NULL))
		cfg_warn(
		    l, s->tls_cert != NULL ? s->tls_cert_line : s->tls_key_line,
		    "tls-certificate/tls-key without listen-tls or "
		    "listen-https: unused");
	if (s->tls_cert != NULL && s->tls_key != NULL) {
		switch (tls_check_pair(s->tls_cert, s->tls_key, time(NULL), err,
		                       sizeof(err))) {
		case TLS_CHECK_OK:
			break;
		case TLS_CHECK_EXPIRES_SOON:
			cfg_warn(l, s->tls_cert_line, "%s", err);
			break;
		default:
			cfg_error(l, s->tls_cert_line, "%s", err);
		}
		if (s->tls_ciphers != NULL) {
			struct tls_server_params p = {
			    .cert = s->tls_cert,
			    .key = s->tls_key,
			    .min_version = s->tls_min_version,
			    .ciphers = s->tls_ciphers,
			    .ticket_lifetime_s = 1,
			};
			SSL_CTX *ctx = tls_server_ctx_new(&p, TLS_ALPN_DOT, err,
			                                  sizeof(err));

			if (ctx == NULL)
				cfg_error(l, s->tls_ciphers_line, "%s", err);
			SSL_CTX_free(ctx);
		}
	}
	for (size_t i = 0; i < l->cfg->nupstreams; i++) {
		struct upstream_conf *u = l->cfg->upstreams[i];

		if (u->tls_ca != NULL && !u->has_tls)
			cfg_warn(l, u->tls_ca_line,
			         "[upstream %s] tls-ca without a tls:// "
			         "server: unused",
			         u->name);
		if (u->tls_ca != NULL &&
		    tls_check_ca(u->tls_ca, err, sizeof(err)) < 0)
			cfg_error(l, u->tls_ca_line, "%s", err);
	}
	for (size_t i = 0; i < l->cfg->nviews; i++) {
		const struct view_conf *v = l->cfg->views[i];

		if ((v->match_transport & (1u << TRANSPORT_TLS)) &&
		    s->tls_listens.n == 0)
			cfg_warn(l, v->line,
			         "[view %s] match-transport names tls, but "
			         "there is no listen-tls",
			         v->name);
		if ((v->match_transport & (1u << TRANSPORT_HTTPS)) &&
		    s->https_listens.n == 0)
			cfg_warn(l, v->line,
			         "[view %s] match-transport names https, but "
			         "there is no listen-https",
			         v->name);
	}
}

static void
check_config(struct loader *l)
{
	struct config *c = l->cfg;

	check_geoip(l);
	check_cache(l);
	check_tls(l);
	/* Before the lists, which read their copies there. */
	if (c->lists.cache_dir != NULL && c->lists.cache_dir[0] != '/') {
		char buf[4096];
		char *abs =
		    strdup(list_path(l, c->lists.cache_dir, buf, sizeof(buf)));

		if (abs != NULL) {
			free(c->lists.cache_dir);
			c->lists.cache_dir = abs;
		}
	}
	check_ratelimit_cookies(l);
	for (size_t i = 0; i < c->nviews; i++)
		if (c->views[i]->nblocklists + c->views[i]->nallowlists > 0)
			check_lists(l, c->views[i]);
	if (c->nviews == 0)
		cfg_error(l, l->line,
		          "no [view NAME] section: every query would be "
		          "refused");
	for (size_t i = 0; i < c->nupstreams; i++) {
		struct upstream_conf *u = c->upstreams[i];

		check_own_servers(l, u);
		if (u->resolv_conf != NULL)
			load_resolv_conf(l, u);
		else if (u->nservers == 0)
			cfg_error(l, u->line,
			          "[upstream %s] has no server (add server = "
			          "IP[:PORT] or resolv-conf = FILE)",
			          u->name);
	}
	for (size_t i = 0; i < c->nviews; i++) {
		struct view_conf *v = c->views[i];

		if (local_finish(&v->local) < 0)
			cfg_error(l, v->line, "[view %s]: out of memory",
			          v->name);
		if (v->forward.n > 0 && check_forward_zones(l, v)) {
			v->upstream = NULL; /* forward-zone . is the default */
		} else if (v->upstream_name != NULL &&
		           strcmp(v->upstream_name, "none") == 0) {
			v->upstream = NULL; /* local data only */
		} else if (v->upstream_name != NULL) {
			v->upstream = config_find_upstream(c, v->upstream_name);
			if (v->upstream == NULL)
				cfg_error(l, v->line,
				          "[view %s]: upstream '%s' is not "
				          "defined",
				          v->name, v->upstream_name);
		} else if (c->nupstreams == 1) {
			v->upstream = c->upstreams[0];
		} else if (c->nupstreams > 1) {
			cfg_error(l, v->line,
			          "[view %s]: needs 'upstream = NAME' "
			          "(there are %zu upstreams)",
			          v->name, c->nupstreams);
		}
	}
	warn_open_views(l);
}

static void
config_free(struct config *c)
{
	for (size_t i = 0; i < c->nupstreams; i++) {
		free(c->upstreams[i]->servers);
		free(c->upstreams[i]->name);
		free(c->upstreams[i]->resolv_conf);
		free(c->upstreams[i]->tls_ca);
		free(c->upstreams[i]);
	}
	free(c->upstreams);
	for (size_t i = 0; i < c->nviews; i++)
		view_free(c->views[i]);
	free(c->views);
	free(c->server.listens);
	free(c->server.tls_listens.v);
	free(c->server.https_listens.v);
	free(c->server.https_path);
	free(c->server.tls_cert);
	free(c->server.tls_key);
	free(c->server.tls_ciphers);
	free(c->server.user);
	free(c->server.control_socket);
	free(c->log.path);
	free(c->log.dnstap);
	free(c->log.dnstap_out.path);
	acl_free(&c->ratelimit.exempt);
	geoip_close(c->geoip);
	free(c->geoip_conf.database);
	free(c->geoip_conf.asn_database);
	free(c->lists.cache_dir);
	free(c->path);
	free(c);
}

static struct config *
config_load_common(struct loader *l)
{
	struct config *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->path = strdup(l->name);
	l->cfg = c;
	/* The singleton sections exist even when the file omits them. */
	l->sect = SEC_SERVER;
	l->target = &c->server;
	apply_defaults(l);
	l->sect = SEC_LOG;
	l->target = &c->log;
	apply_defaults(l);
	l->sect = SEC_RATELIMIT;
	l->target = &c->ratelimit;
	apply_defaults(l);
	l->sect = SEC_COOKIES;
	l->target = &c->cookies;
	apply_defaults(l);
	l->sect = SEC_CACHE;
	l->target = &c->cache;
	apply_defaults(l);
	l->sect = SEC_LISTS;
	l->target = &c->lists;
	apply_defaults(l);
	l->sect = SEC_NONE;
	l->target = NULL;

	rc = ini_parse_stream(ini_reader_cb, l, ini_handler_cb, l);
	if (rc > 0)
		cfg_error(l, rc,
		          "syntax error (expected [section] or "
		          "key = value)");
	else if (rc < 0)
		cfg_error(l, 0, "cannot parse");
	check_config(l);
	if (l->ifs != NULL)
		freeifaddrs(l->ifs);
	if (l->nerrors > 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *
config_load(const char *path, FILE *errs)
{
	struct loader l = {.name = path, .errs = errs};
	struct config *c;

	l.fp = file_open_regular(path);
	if (l.fp == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s:0: cannot open: %s\n", path,
			        file_error(errno));
		return NULL;
	}
	c = config_load_common(&l);
	fclose(l.fp);
	return c;
}

struct config *
config_load_string(const char *name, const char *text, FILE *errs)
{
	struct loader l = {.name = name, .errs = errs, .text = text};

	return config_load_common(&l);
}

size_t
config_restart_keys(const struct config *old, const struct config *nc,
                    char *buf, size_t cap)
{
	size_t n = 0, len = 0;

	if (cap > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &options[i];
		int w;

		if (!(o->flags & OPT_RESTART) || o->same(o, old, nc))
			continue;
		w = snprintf(buf + len, cap - len, "%s%s", n > 0 ? ", " : "",
		             o->key);
		n++;
		if (w > 0 && (size_t)w < cap - len)
			len += (size_t)w;
	}
	return n;
}

struct config *
config_ref(struct config *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void
config_unref(struct config *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		config_free(c);
}
