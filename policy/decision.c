/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/decision.c — naming and formatting of decision records.
 */
#include "policy/decision.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/msg.h"

static const char *const action_names[ACTION_COUNT_] = {
    [ACTION_NONE] = "none",
    [ACTION_FORWARD] = "forward",
    [ACTION_CACHE] = "cache",
    [ACTION_LOCAL] = "local",
    [ACTION_REFUSE] = "refuse",
    [ACTION_DROP] = "drop",
    [ACTION_BLOCK] = "block",
    [ACTION_NXDOMAIN] = "nxdomain",
    [ACTION_NODATA] = "nodata",
    [ACTION_RATELIMIT_DROP] = "ratelimit-drop",
    [ACTION_RATELIMIT_SLIP] = "ratelimit-slip",
    [ACTION_BADCOOKIE] = "badcookie",
    [ACTION_FORMERR] = "formerr",
    [ACTION_NOTIMP] = "notimp",
    [ACTION_BADVERS] = "badvers",
    [ACTION_SERVFAIL] = "servfail",
    [ACTION_STALE] = "stale",
    [ACTION_TRUNCATE] = "truncate",
};

const char *
transport_name(enum transport t)
{
	static const char *const names[TRANSPORT_COUNT_] = {
	    [TRANSPORT_UDP] = "udp",
	    [TRANSPORT_TCP] = "tcp",
	    [TRANSPORT_TLS] = "tls",
	    [TRANSPORT_HTTPS] = "https",
	};

	return (unsigned)t < TRANSPORT_COUNT_ ? names[t] : "udp";
}

int
transport_parse(const char *name, enum transport *t)
{
	for (int i = 0; i < TRANSPORT_COUNT_; i++)
		if (strcasecmp(name, transport_name((enum transport)i)) == 0) {
			*t = (enum transport)i;
			return 0;
		}
	return -1;
}

const char *
decision_action_name(enum decision_action a)
{
	if ((unsigned)a >= ACTION_COUNT_)
		return "none";
	return action_names[a];
}

bool
decision_is_default(const struct decision *d)
{
	/* A hit is a forward the cache saved (decisions = non-default); a
	 * forward-zone only chose where the forward went. */
	return (d->action == ACTION_FORWARD || d->action == ACTION_CACHE) &&
	       (d->rule[0] == '\0' ||
	        strncmp(d->rule, "forward-zone:", strlen("forward-zone:")) ==
	            0);
}

void
decision_rule(struct decision *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->rule, sizeof(d->rule), fmt, ap);
	va_end(ap);
}

/* Appends to a fixed buffer; remembers overflow so the caller checks once. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
	bool full;
};

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

/* JSON string body: escape quote, backslash and control bytes (RFC 8259 7). */
static void
out_json_str(struct out *o, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			out_printf(o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			out_printf(o, "\\u%04x", c);
		else
			out_printf(o, "%c", c);
	}
}

/*
 * Text field: one word of printable ASCII; any other byte (space, a
 * control, DEL, non-ASCII) as \xNN, so a list's file name can neither
 * split a field nor put raw bytes in the line.
 */
static void
out_text_str(struct out *o, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f)
			out_printf(o, "\\x%02x", c);
		else
			out_printf(o, "%c", c);
	}
}

void
decision_ts_format(uint64_t ts_ms, char *buf, size_t cap)
{
	time_t secs = (time_t)(ts_ms / 1000);
	struct tm tm;

	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03uZ", (unsigned)(ts_ms % 1000));
}

struct fields {
	char ts[40];
	char client[IP_ADDR_TEXT_MAX];
	char qname[DNS_NAME_TEXT_MAX];
	char qtype[16];
	char upstream[IP_ENDPOINT_TEXT_MAX];
};

static void
fields_fill(const struct decision *d, struct fields *f)
{
	decision_ts_format(d->ts_ms, f->ts, sizeof(f->ts));
	ip_addr_format(&d->client, f->client, sizeof(f->client));
	f->qname[0] = '\0';
	f->qtype[0] = '\0';
	if (d->have_question) {
		if (dns_name_to_text(d->qname, f->qname, sizeof(f->qname)) < 0)
			f->qname[0] = '\0';
		char tmp[16];

		snprintf(f->qtype, sizeof(f->qtype), "%s",
		         dns_type_name(d->qtype, tmp, sizeof(tmp)));
	}
	f->upstream[0] = '\0';
	if (d->have_upstream)
		ip_endpoint_format(&d->upstream, d->upstream_port, f->upstream,
		                   sizeof(f->upstream));
}

static void
format_json(const struct decision *d, const struct fields *f, struct out *o)
{
	out_printf(o,
	           "{\"ts\":\"%s\",\"client\":\"%s\",\"port\":%u,"
	           "\"proto\":\"%s\",\"id\":%u",
	           f->ts, f->client, d->port, transport_name(d->proto), d->id);
	if (d->have_question) {
		out_printf(o, ",\"qname\":\"");
		out_json_str(o, f->qname);
		out_printf(o, "\",\"qtype\":\"%s\"", f->qtype);
	}
	if (d->view != NULL) {
		out_printf(o, ",\"view\":\"");
		out_json_str(o, d->view);
		out_printf(o, "\"");
	}
	out_printf(o, ",\"action\":\"%s\"", decision_action_name(d->action));
	if (d->rule[0] != '\0') {
		out_printf(o, ",\"rule\":\"");
		out_json_str(o, d->rule);
		out_printf(o, "\"");
	}
	if (d->rcode >= 0)
		out_printf(o, ",\"rcode\":\"%s\"",
		           dns_rcode_name((unsigned)d->rcode));
	if (d->ede >= 0)
		out_printf(o, ",\"ede\":%d", d->ede);
	if (d->have_upstream)
		out_printf(o, ",\"upstream\":\"%s\"", f->upstream);
	if (d->attempts > 0)
		out_printf(o, ",\"attempts\":%u", d->attempts);
	out_printf(o, ",\"ms\":%.3f}\n", d->ms);
}

static void
format_text(const struct decision *d, const struct fields *f, struct out *o)
{
	out_printf(o, "%s %s#%u %s id=%u", f->ts, f->client, d->port,
	           transport_name(d->proto), d->id);
	if (d->have_question)
		out_printf(o, " %s %s", f->qname, f->qtype);
	out_printf(o, " view=");
	out_text_str(o, d->view != NULL ? d->view : "-");
	out_printf(o, " action=%s", decision_action_name(d->action));
	if (d->rule[0] != '\0') {
		out_printf(o, " rule=");
		out_text_str(o, d->rule);
	}
	if (d->rcode >= 0)
		out_printf(o, " rcode=%s", dns_rcode_name((unsigned)d->rcode));
	if (d->ede >= 0)
		out_printf(o, " ede=%d", d->ede);
	if (d->have_upstream)
		out_printf(o, " upstream=%s", f->upstream);
	if (d->attempts > 0)
		out_printf(o, " attempts=%u", d->attempts);
	out_printf(o, " ms=%.3f\n", d->ms);
}

size_t
decision_format(const struct decision *d, enum decision_format fmt, char *buf,
                size_t cap)
{
	struct out o = {.buf = buf, .cap = cap};
	struct fields f;

	if (cap == 0)
		return 0;
	fields_fill(d, &f);
	for (int tries = 0; tries < 2; tries++) {
		o.len = 0;
		o.full = false;
		if (fmt == DECISION_TEXT)
			format_text(d, &f, &o);
		else
			format_json(d, &f, &o);
		if (!o.full)
			return o.len;
		/* A name of escaped bytes grows ~6x in JSON: shorten it so
		 * the decision is still logged (and marked as shortened). */
		if (strlen(f.qname) > 100)
			strcpy(f.qname + 100, "...");
	}
	return 0;
}
