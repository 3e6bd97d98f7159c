/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/pipeline.c — the stages of a query, top to bottom, each returning
 * "continue" or a final verdict (pipeline.h).
 */
#include "proxy/pipeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/acl.h"
#include "policy/blocklist.h"
#include "policy/rebind.h"
#include "views/view.h"

/* Tell `dnsgate explain` what a stage found; free when nobody listens. */
static void trace(const struct qctx *c, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
trace(const struct qctx *c, const char *stage, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (c->trace == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->trace(c->trace_arg, stage, text);
}

/* A stage either lets the query go on or ends it with a verdict. */
enum stage {
	STAGE_CONTINUE = 0,
	STAGE_DONE,
};

void
qctx_init(struct qctx *c, const struct config *conf, uint64_t now_ms)
{
	memset(&c->q, 0, sizeof(c->q));
	memset(&c->dec, 0, sizeof(c->dec));
	c->conf = conf;
	c->view = NULL;
	c->group = NULL;
	c->fwd = NULL;
	c->transfer = false;
	c->cookie = COOKIE_NONE;
	c->cookie_out_len = 0;
	c->quiet = false;
	c->limited = 0;
	c->cache = NULL;
	c->cache_count = -1;
	c->prefetch = false;
	c->rebind_removed = 0;
	c->outlen = 0;
	c->dec.ts_ms = now_ms;
	c->dec.rcode = -1;
	c->dec.ede = -1;
}

/* Our OPT for the client: present only when the query had one. */
static struct dns_opt_out
client_opt(const struct qctx *c)
{
	struct dns_opt_out o = {
	    .present = c->q.edns.present,
	    .udp_size = (uint16_t)c->conf->server.udp_payload_size,
	    .do_bit = c->q.edns.do_bit,
	    .ede_code = -1,
	    .cookie = c->cookie_out,
	    .cookie_len = c->cookie_out_len,
	};

	/* RFC 8467 4.1: responses in blocks of 468 bytes, only to padded
	 * queries over an encrypted transport (RFC 7830 4: padding in
	 * cleartext only costs bytes). */
	if (c->q.edns.has_padding &&
	    (c->transport == TRANSPORT_TLS || c->transport == TRANSPORT_HTTPS))
		o.pad_block = 468;
	return o;
}

/*
 * Answer with an RCODE and no records, and record it. The EDE goes out (and
 * is logged) only with an OPT: RFC 8914 2 carries it in EDNS.
 */
static enum pipe_verdict
answer_error(struct qctx *c, enum decision_action action, unsigned rcode,
             int ede, const char *text)
{
	struct dns_opt_out o = client_opt(c);

	if (ede >= 0 && o.present) {
		o.ede_code = ede;
		o.ede_text = c->conf->server.ede_text ? text : NULL;
		c->dec.ede = ede;
		c->dec.ede_text = o.ede_text;
	}
	c->outlen = dns_build_error(c->out, c->outcap, &c->q, rcode, true, &o);
	c->dec.action = action;
	if (c->outlen == 0)
		return PIPE_DROP;
	c->dec.rcode = (int)rcode;
	return PIPE_ANSWER;
}

static enum pipe_verdict
drop(struct qctx *c, enum decision_action action)
{
	c->dec.action = action;
	c->dec.rcode = -1;
	return PIPE_DROP;
}

/* Fill the decision with what the parse learned. */
static void
record_query(struct qctx *c)
{
	c->dec.client = c->client;
	c->dec.port = c->client_port;
	c->dec.proto = c->transport;
	c->dec.id = c->q.hdr.id;
	if (c->q.qname_len > 0) {
		c->dec.have_question = true;
		memcpy(c->dec.qname, c->q.qname, c->q.qname_len);
		c->dec.qtype = c->q.qtype;
	}
}

/*
 * A locally built answer that exceeds the client's size becomes header +
 * question + OPT with TC=1 (RFC 6891 7; the client retries over TCP).
 */
static enum pipe_verdict
fit_answer(struct qctx *c)
{
	size_t limit = pipeline_client_limit(c);
	struct dns_opt_out o = client_opt(c);
	/* Header and question are all a truncated answer keeps. */
	uint8_t head[DNS_HEADER_LEN + DNS_NAME_MAX + 4];
	size_t qend = c->q.question_end;

	if (c->outlen == 0) {
		c->dec.action = ACTION_SERVFAIL;
		return PIPE_DROP;
	}
	if (c->outlen <= limit)
		return PIPE_ANSWER;
	if (qend > sizeof(head) || qend > c->outlen)
		return PIPE_DROP;
	memcpy(head, c->out, qend);
	c->outlen = dns_truncate(c->out, c->outcap, head, qend, qend,
	                         (unsigned)c->dec.rcode, &o);
	decision_rule(&c->dec, "size:%zu", limit);
	c->dec.action = ACTION_TRUNCATE;
	return c->outlen > 0 ? PIPE_ANSWER : PIPE_DROP;
}

/*
 * 1. parse: FORMERR when the header was readable but the rest is not,
 * NOTIMP for an opcode other than QUERY, BADVERS for EDNS version > 0
 * (RFC 6891 6.1.3); a message with QR=1 or no readable header is dropped.
 * Then the questions that cannot be forwarded: AXFR/IXFR over UDP and
 * meta-types, FORMERR.
 */
static enum stage
stage_parse(struct qctx *c, enum pipe_verdict *v)
{
	enum dns_parse_result r = dns_query_parse(c->pkt, c->pktlen, &c->q);

	record_query(c);
	trace(c, "parse", "%s",
	      r == DNS_PARSE_OK        ? "well formed"
	      : r == DNS_PARSE_DROP    ? "unanswerable (short or QR=1): drop"
	      : r == DNS_PARSE_FORMERR ? "malformed: FORMERR"
	      : r == DNS_PARSE_NOTIMP  ? "opcode is not QUERY: NOTIMP"
	                               : "EDNS version above 0: BADVERS");
	switch (r) {
	case DNS_PARSE_OK:
		break;
	case DNS_PARSE_DROP:
		*v = drop(c, ACTION_DROP);
		decision_rule(&c->dec, "parse:unanswerable");
		return STAGE_DONE;
	case DNS_PARSE_FORMERR:
		if (c->q.edns.cookie_malformed && c->conf->cookies.enabled)
			c->cookie = COOKIE_MALFORMED; /* RFC 7873 5.2.2 */
		*v = answer_error(c, ACTION_FORMERR, DNS_RCODE_FORMERR, -1,
		                  NULL);
		return STAGE_DONE;
	case DNS_PARSE_NOTIMP:
		*v = answer_error(c, ACTION_NOTIMP, DNS_RCODE_NOTIMP, -1, NULL);
		return STAGE_DONE;
	case DNS_PARSE_BADVERS:
		/* RFC 6891 6.1.3: BADVERS needs our OPT, version 0. */
		c->q.edns.present = true;
		*v = answer_error(c, ACTION_BADVERS, DNS_RCODE_BADVERS, -1,
		                  NULL);
		return STAGE_DONE;
	}
	/* Zone transfers are multi-message TCP exchanges (RFC 5936 4.2; over
	 * TLS, RFC 9103); an HTTP response carries one message (RFC 8484
	 * 4.2.1), so over HTTPS they are refused like over UDP. */
	if ((c->q.qtype == DNS_TYPE_AXFR || c->q.qtype == DNS_TYPE_IXFR) &&
	    (!c->tcp || c->transport == TRANSPORT_HTTPS)) {
		decision_rule(&c->dec, "transfer:%s",
		              transport_name(c->transport));
		trace(c, "transfer", "AXFR/IXFR over %s: FORMERR",
		      c->transport == TRANSPORT_HTTPS ? "HTTPS" : "UDP");
		*v = answer_error(c, ACTION_FORMERR, DNS_RCODE_FORMERR, -1,
		                  NULL);
		return STAGE_DONE;
	}
	/*
	 * OPT, TSIG, TKEY, MAILA, MAILB and the rest of 128-255 belong in a
	 * message, not in a question (RFC 6895 3.1; RFC 6891 6.1.1: OPT is
	 * never forwarded): FORMERR, as Unbound answers them all (BIND too,
	 * but NOTIMP for MAILA and MAILB).
	 */
	if (c->q.qname_len > 0 && dns_qtype_is_meta(c->q.qtype)) {
		char tname[16];

		decision_rule(&c->dec, "parse:meta-type");
		trace(c, "qtype", "%s is a meta-type, not a question: FORMERR",
		      dns_type_name(c->q.qtype, tname, sizeof(tname)));
		*v = answer_error(c, ACTION_FORMERR, DNS_RCODE_FORMERR, -1,
		                  NULL);
		return STAGE_DONE;
	}
	return STAGE_CONTINUE;
}

/*
 * 2. DNS cookies (RFC 7873 5.2, RFC 9018): every answer to a query with a
 * COOKIE option carries a fresh server cookie; with require = yes, UDP
 * queries without a valid one get BADCOOKIE (and learn the cookie).
 */
static enum stage
stage_cookie(struct qctx *c, enum pipe_verdict *v)
{
	const struct cookies_conf *ck = &c->conf->cookies;
	uint32_t now = (uint32_t)(c->dec.ts_ms / 1000);

	if (!ck->enabled || !c->q.edns.has_cookie) {
		if (c->q.qname_len == 0) {
			/* A cookie query to a server without cookies. */
			*v = answer_error(c, ACTION_FORMERR, DNS_RCODE_FORMERR,
			                  -1, NULL);
			return STAGE_DONE;
		}
		return STAGE_CONTINUE; /* cookies end here: never forwarded */
	}
	c->cookie = cookie_check(
	    &ck->secret, ck->have_previous ? &ck->previous : NULL, &c->client,
	    c->q.edns.cookie, c->q.edns.cookie_len, now);
	trace(c, "cookies", "%s", cookie_status_name(c->cookie));
	if (c->cookie == COOKIE_MALFORMED) {
		*v = answer_error(c, ACTION_FORMERR, DNS_RCODE_FORMERR, -1,
		                  NULL);
		return STAGE_DONE;
	}
	c->cookie_out_len = cookie_make(&ck->secret, &c->client,
	                                c->q.edns.cookie, now, c->cookie_out);
	if (c->q.qname_len == 0) {
		/* RFC 7873 5.4: a query for a cookie only: NOERROR and the
		 * cookie, or BADCOOKIE when the one it showed was bad. */
		decision_rule(&c->dec, "cookies:no-question");
		if (c->cookie == COOKIE_BAD)
			*v = answer_error(c, ACTION_BADCOOKIE,
			                  DNS_RCODE_BADCOOKIE, -1, NULL);
		else
			*v = answer_error(c, ACTION_LOCAL, DNS_RCODE_NOERROR,
			                  -1, NULL);
		return STAGE_DONE;
	}
	if (c->cookie == COOKIE_VALID || !ck->require || c->tcp)
		return STAGE_CONTINUE;
	decision_rule(&c->dec, "cookies:require");
	*v = answer_error(c, ACTION_BADCOOKIE, DNS_RCODE_BADCOOKIE, -1, NULL);
	return STAGE_DONE;
}

static bool
rl_exempt(const struct qctx *c)
{
	return acl_allows(&c->conf->ratelimit.exempt, &c->client);
}

/* 4b. the per-client query limit, before any lookup */
static enum stage
stage_qlimit(struct qctx *c, enum pipe_verdict *v)
{
	struct rrl_result r;

	if (c->rrl == NULL || c->conf->ratelimit.rrl.queries_ps == 0 ||
	    rl_exempt(c))
		return STAGE_CONTINUE;
	r = rrl_query_account(c->rrl, &c->client, c->dec.ts_ms);
	if (r.would == RRL_SEND)
		return STAGE_CONTINUE;
	decision_rule(&c->dec, "ratelimit:queries-per-second");
	c->quiet = !r.log;
	c->limited = RRL_DROP;
	if (r.verdict == RRL_SEND)
		return STAGE_CONTINUE; /* log-only */
	if (c->conf->ratelimit.queries_action == QUERIES_DROP) {
		*v = drop(c, ACTION_DROP);
		return STAGE_DONE;
	}
	*v = answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
	                  DNS_EDE_PROHIBITED, "query rate limit exceeded");
	return STAGE_DONE;
}

/*
 * 4c. the class: dnsgate serves class IN only. Its local data, local zones
 * and blocklists are class IN, and so are the upstreams it fronts; any
 * other class is REFUSED with EDE 21 (Not Supported) and never forwarded.
 * BIND does the same (a view serves one class, IN by default; a query in a
 * class no view serves is REFUSED), so does Unbound for every class it has
 * no root hints or forwarders for (it answers a few CH names itself,
 * id.server and version.bind: dnsgate does not, they would only tell what
 * software and version runs here). Class ANY (255, RFC 1035 3.2.5) too:
 * BIND answers it from its IN view, but forwarded it would get past the
 * class IN local zones. Class NONE (254) means something in UPDATE only
 * (RFC 2136 2.4). Before the transfer stage: a zone of another class is
 * not transferred either. (NOTIMP would say the kind of query is not
 * implemented; REFUSED is what both answer.)
 */
static enum stage
stage_class(struct qctx *c, enum pipe_verdict *v)
{
	char buf[sizeof("CLASS65535")];
	const char *name;

	if (c->q.qclass == DNS_CLASS_IN) {
		trace(c, "class", "IN: served");
		return STAGE_CONTINUE;
	}
	name = dns_class_name(c->q.qclass, buf, sizeof(buf));
	trace(c, "class", "%s is not served (class IN only): REFUSED", name);
	decision_rule(&c->dec, "class:%s", name);
	snprintf(c->ede_buf, sizeof(c->ede_buf), "class %s is not served",
	         name);
	*v = answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
	                  DNS_EDE_NOT_SUPPORTED, c->ede_buf);
	return STAGE_DONE;
}

/* 3. view selection: no view => REFUSED + EDE 18 (as BIND) */
static enum stage
stage_view(struct qctx *c, enum pipe_verdict *v)
{
	c->view = view_select(c->conf->views, c->conf->nviews, &c->client,
	                      c->have_dest ? &c->dest : NULL, c->transport,
	                      c->conf->geoip);
	if (c->view == NULL) {
		trace(c, "views", "none of %zu views matches", c->conf->nviews);
		decision_rule(&c->dec, "view:none");
		*v = answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
		                  DNS_EDE_PROHIBITED, "no view matches");
		return STAGE_DONE;
	}
	c->dec.view = c->view->name;
	trace(c, "views",
	      "'%s' (first of %zu views whose match lists accept "
	      "the query; [view %s] on line %d)",
	      c->view->name, c->conf->nviews, c->view->name, c->view->line);
	return STAGE_CONTINUE;
}

/* 4. the view's ACL: REFUSED + EDE 18, or drop */
static enum stage
stage_acl(struct qctx *c, enum pipe_verdict *v)
{
	struct acl_verdict a =
	    acl_rules_check(c->view->rules, c->view->nrules, &c->client);

	if (a.rule == 0)
		trace(c, "acl", "%s",
		      c->view->nrules == 0 ? "no ACL lines: allowed"
		                           : "no ACL line matches: refused");
	else
		trace(c, "acl", "%s by acl:%s:%d (line %d)",
		      a.action == ACL_ACTION_ALLOW    ? "allowed"
		      : a.action == ACL_ACTION_REFUSE ? "refused"
		                                      : "dropped",
		      c->view->name, a.rule, c->view->rules[a.rule - 1].line);
	if (a.action == ACL_ACTION_ALLOW)
		return STAGE_CONTINUE;
	decision_rule(&c->dec, "acl:%s:%d", c->view->name, a.rule);
	if (a.action == ACL_ACTION_DROP) {
		*v = drop(c, ACTION_DROP);
		return STAGE_DONE;
	}
	*v = answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
	                  DNS_EDE_PROHIBITED, "refused by the view's ACL");
	return STAGE_DONE;
}

/* 5. local zones and local data (Unbound semantics, views/local.h) */
static enum stage
stage_local(struct qctx *c, enum pipe_verdict *v)
{
	static const enum decision_action actions[] = {
	    [LOCAL_ANSWER] = ACTION_LOCAL,
	    [LOCAL_NXDOMAIN] = ACTION_NXDOMAIN,
	    [LOCAL_NODATA] = ACTION_NODATA,
	};
	const struct local_zone *zone = NULL;
	enum local_result r =
	    local_lookup(&c->view->local, c->q.qname, c->q.qtype, &zone);
	char zname[DNS_NAME_TEXT_MAX] = "";
	struct dns_opt_out o;

	if (c->q.qclass != DNS_CLASS_IN)
		return STAGE_CONTINUE; /* local data is class IN */
	/* "corp.example", as configured: no final dot. */
	if (zone != NULL &&
	    dns_name_to_text(zone->name, zname, sizeof(zname)) > 1)
		zname[strlen(zname) - 1] = '\0';
	if (r == LOCAL_PASS) {
		trace(c, "local", "no local zone or data decides: go on");
		return STAGE_CONTINUE;
	}
	trace(c, "local", "%s zone %s decides: %s",
	      local_zone_type_name(zone != NULL ? zone->type : 0), zname,
	      r == LOCAL_ANSWER     ? "answer from local data"
	      : r == LOCAL_NXDOMAIN ? "NXDOMAIN"
	      : r == LOCAL_NODATA   ? "NODATA"
	      : r == LOCAL_REFUSE   ? "REFUSED"
	                            : "drop");
	decision_rule(&c->dec, "%s:%s",
	              zone != NULL && zone->implicit ? "local-data"
	                                             : "local-zone",
	              zname);
	if (r == LOCAL_DROP) {
		*v = drop(c, ACTION_DROP);
		return STAGE_DONE;
	}
	if (r == LOCAL_REFUSE) {
		*v = answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
		                  DNS_EDE_PROHIBITED, "refused by local-zone");
		return STAGE_DONE;
	}
	o = client_opt(c);
	c->outlen = local_build_answer(c->out, c->outcap, &c->q,
	                               &c->view->local, zone, r, &o);
	c->dec.action = actions[r];
	c->dec.rcode =
	    r == LOCAL_NXDOMAIN ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR;
	*v = fit_answer(c);
	return STAGE_DONE;
}

/* For explain: the list, or where in it the entry is (trace_entry). */
static const char *
block_where(const struct qctx *c, const struct block_match *m, char *buf,
            size_t cap)
{
	if (c->trace == NULL || c->trace_entry == NULL)
		return m->list;
	c->trace_entry(c->trace_arg, m, buf, cap);
	return buf;
}

/* 5b. blocklists / RPZ (policy/blocklist.h): EDE 15 names the list */
static enum stage
stage_block(struct qctx *c, enum pipe_verdict *v)
{
	const struct view_conf *view = c->view;
	const struct blockset *set =
	    c->blocks != NULL ? c->blocks[view->index] : view->blocks;
	struct block_match m;
	struct dns_opt_out o;
	enum block_outcome out;
	char where[384]; /* explain only: an entry name and a file */

	if (set == NULL)
		return STAGE_CONTINUE;
	if (!blockset_lookup(set, c->q.qname, &m)) {
		if (m.action == BLOCK_NONE)
			trace(c, "blocklist", "no list matches");
		else
			trace(c, "blocklist", "%s by %s: go on",
			      block_action_name(m.action),
			      block_where(c, &m, where, sizeof(where)));
		return STAGE_CONTINUE;
	}
	out = blockset_outcome(&m, view->block_policy, c->tcp);
	trace(c, "blocklist", "%s by %s: %s", block_action_name(m.action),
	      block_where(c, &m, where, sizeof(where)),
	      out == BLOCK_OUT_DROP     ? "drop"
	      : out == BLOCK_OUT_ANSWER ? "blocked"
	                                : "go on (TCP)");
	if (out == BLOCK_OUT_CONTINUE)
		return STAGE_CONTINUE;
	decision_rule(&c->dec, "blocklist:%s", m.list);
	if (out == BLOCK_OUT_DROP) {
		*v = drop(c, ACTION_DROP);
		return STAGE_DONE;
	}
	o = client_opt(c);
	if (o.present) {
		/* RFC 8914 4.16: Blocked, by the operator's policy. */
		snprintf(c->ede_buf, sizeof(c->ede_buf), "blocked by %s",
		         m.list);
		o.ede_code = DNS_EDE_BLOCKED;
		o.ede_text = c->conf->server.ede_text ? c->ede_buf : NULL;
		c->dec.ede = DNS_EDE_BLOCKED;
		c->dec.ede_text = o.ede_text;
	}
	c->outlen = blockset_build_answer(c->out, c->outcap, &c->q, &m,
	                                  view->block_policy,
	                                  &view->block_redirect, &o);
	c->dec.action = ACTION_BLOCK;
	c->dec.rcode = c->outlen >= DNS_HEADER_LEN
	                   ? (int)dns_hdr_rcode(c->out, c->outlen)
	                   : -1;
	*v = fit_answer(c);
	return STAGE_DONE;
}

/*
 * Transfers: FORMERR over UDP (RFC 5936 4.2: TCP only); over TCP REFUSED
 * with EDE 18 unless allow-transfer (default none) matches the client.
 */
static enum stage
stage_transfer(struct qctx *c, enum pipe_verdict *v)
{
	if (c->q.qtype != DNS_TYPE_AXFR && c->q.qtype != DNS_TYPE_IXFR)
		return STAGE_CONTINUE;
	decision_rule(&c->dec, "allow-transfer:%s", c->view->name);
	if (acl_allows(&c->view->allow_transfer, &c->client)) {
		/* Local data is no zone to transfer: straight upstream. */
		trace(c, "transfer", "allowed by allow-transfer");
		c->transfer = true;
		return STAGE_CONTINUE;
	}
	trace(c, "transfer", "client not in allow-transfer: REFUSED");
	*v = answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
	                  DNS_EDE_PROHIBITED, "zone transfer not allowed");
	return STAGE_DONE;
}

/*
 * 6a. the upstream group: the view's longest forward-zone containing the
 * name, else the view's upstream (views/forward.h). The cache is the
 * view's whatever the group: a name belongs to one forward-zone only.
 */
static enum stage
stage_route(struct qctx *c, enum pipe_verdict *v)
{
	c->group = view_route(c->view, c->q.qname, &c->fwd);
	if (c->fwd != NULL) {
		/* A transfer keeps its allow-transfer rule. */
		if (!c->transfer)
			decision_rule(&c->dec, "forward-zone:%s", c->fwd->text);
		return STAGE_CONTINUE;
	}
	if (c->group != NULL)
		return STAGE_CONTINUE;
	/* A view that only serves local data (RFC 8914 4.21). */
	trace(c, "forward", "the view has no upstream%s: REFUSED",
	      c->view->forward.n > 0 ? " and no forward-zone takes the name"
	                             : "");
	decision_rule(&c->dec, "view:%s:no-upstream", c->view->name);
	*v =
	    answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
	                 DNS_EDE_NOT_AUTHORITATIVE, "no upstream in this view");
	return STAGE_DONE;
}

/* 7. where the forward goes, for `dnsgate explain`. */
static void
trace_forward(const struct qctx *c)
{
	const struct upstream_conf *u = c->group;
	char zone[DNS_NAME_TEXT_MAX + 32] = "";

	if (c->trace == NULL)
		return;
	if (c->fwd != NULL)
		snprintf(zone, sizeof(zone),
		         "forward-zone %s (line %d): ", c->fwd->text,
		         c->fwd->line);
	else if (c->view->forward.n > 0)
		snprintf(zone, sizeof(zone),
		         "no forward-zone takes the name: ");
	trace(c, "forward",
	      "%sto [upstream %s]: %zu servers, %u attempts, timeout %ums",
	      zone, u->name, u->nservers, u->attempts, u->timeout_ms);
}

static enum pipe_verdict answer_cached(struct qctx *c,
                                       const struct cache_hit *hit,
                                       const char *stale_text);
static uint64_t cache_now(const struct qctx *c);

/* 6. the view's answer cache: a fresh entry answers at once. */
static enum stage
stage_cache(struct qctx *c, enum pipe_verdict *v)
{
	struct cache_key k;
	struct cache_hit hit;

	if (c->transfer) /* zone transfers never meet the cache */
		return STAGE_CONTINUE;
	c->cache = c->caches != NULL ? c->caches[c->view->index] : NULL;
	if (c->cache == NULL) {
		if (c->conf->cache.size > 0) /* explain: no running cache */
			trace(c, "cache",
			      "a running dnsgate answers from the view's "
			      "cache first when it holds the answer");
		return STAGE_CONTINUE;
	}
	cache_key_make(&k, &c->q);
	hit = cache_lookup(c->cache, &k, cache_now(c), false, c->cbuf,
	                   CACHE_MSG_MAX);
	c->cache_count = hit.result == CACHE_HIT ? CACHE_HIT : CACHE_MISS;
	if (hit.result != CACHE_HIT) {
		trace(c, "cache", "miss");
		return STAGE_CONTINUE;
	}
	*v = answer_cached(c, &hit, NULL);
	if (*v == PIPE_DROP) {
		c->cache_count = CACHE_MISS;
		return STAGE_CONTINUE;
	}
	trace(c, "cache", "hit, %u s old", hit.age);
	c->prefetch = hit.prefetch;
	return STAGE_DONE;
}

enum pipe_verdict
pipeline_query(struct qctx *c)
{
	enum pipe_verdict v = PIPE_DROP;

	if (stage_parse(c, &v) == STAGE_DONE)
		return v;
	if (stage_cookie(c, &v) == STAGE_DONE)
		return v;
	if (stage_view(c, &v) == STAGE_DONE)
		return v;
	if (stage_acl(c, &v) == STAGE_DONE)
		return v;
	if (stage_qlimit(c, &v) == STAGE_DONE)
		return v;
	if (stage_class(c, &v) == STAGE_DONE)
		return v;
	if (stage_transfer(c, &v) == STAGE_DONE)
		return v;
	if (!c->transfer && stage_local(c, &v) == STAGE_DONE)
		return v;
	if (!c->transfer && stage_block(c, &v) == STAGE_DONE)
		return v;
	if (stage_route(c, &v) == STAGE_DONE)
		return v;
	if (stage_cache(c, &v) == STAGE_DONE)
		return v;
	trace_forward(c);
	c->dec.action = ACTION_FORWARD;
	return PIPE_FORWARD;
}

size_t
pipeline_client_limit(const struct qctx *c)
{
	size_t size;

	if (c->tcp)
		return DNS_MAX_MSG;
	if (!c->q.edns.present)
		return 512;
	/* RFC 6891 6.2.5: sizes below 512 are treated as 512. */
	size = c->q.edns.udp_size < 512 ? 512 : c->q.edns.udp_size;
	if (size > c->conf->server.udp_payload_size)
		size = c->conf->server.udp_payload_size;
	return size;
}

#define REBIND_TEXT "private addresses removed (rebind protection)"

/*
 * 8. rebind protection (dnsgate.conf(5), rebind-protection): drop private,
 * loopback, link-local and unique-local addresses from answers for names
 * outside the view's local zones. On REBIND_FILTERED, *filtered (to free) holds
 * the new message and *fr its parse.
 */
static enum rebind_result
stage_rebind(struct qctx *c, const uint8_t *resp, size_t len,
             uint8_t **filtered, size_t *flenp, struct dns_response *fr)
{
	enum rebind_result rr;
	unsigned removed = 0;
	size_t flen = 0;

	if (!c->view->rebind_protection ||
	    local_covers(&c->view->local, c->q.qname))
		return REBIND_CLEAN;
	*filtered = malloc(DNS_MAX_MSG);
	if (*filtered == NULL)
		return REBIND_NOSPACE;
	rr = rebind_filter(*filtered, DNS_MAX_MSG, &flen, resp, len, &removed);
	if (rr == REBIND_FILTERED &&
	    dns_response_parse(*filtered, flen, fr) < 0)
		rr = REBIND_MALFORMED;
	*flenp = flen;
	if (rr != REBIND_FILTERED) {
		free(*filtered);
		*filtered = NULL;
		return rr;
	}
	decision_rule(&c->dec, "rebind:%s:%u", c->view->name, removed);
	c->rebind_removed = removed;
	return rr;
}

/* The clock the cache keeps time by (monotonic; tests may set it). */
static uint64_t
cache_now(const struct qctx *c)
{
	struct timespec ts;

	if (c->mono_ms != 0)
		return c->mono_ms;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * No rule has decided anything yet but the route (forward-zone:SUFFIX):
 * a rule that changed the answer (rebind, size) says more, and replaces it.
 */
static bool
rule_open(const struct qctx *c)
{
	return c->dec.rule[0] == '\0' ||
	       (c->fwd != NULL && strncmp(c->dec.rule, "forward-zone:",
	                                  strlen("forward-zone:")) == 0);
}

/*
 * 10. msg (parsed as r) as the client gets it: the client's ID, our OPT,
 * cookie and EDE (o), fitted to its size in one pass. PIPE_DROP when it
 * cannot be built.
 */
static enum pipe_verdict
fit_response(struct qctx *c, const uint8_t *msg, const struct dns_response *r,
             const struct dns_opt_out *o, enum decision_action action)
{
	c->outlen = dns_response_finish(c->out, c->outcap, msg, r, c->q.hdr.id,
	                                o, pipeline_client_limit(c));
	if (c->outlen == 0)
		return PIPE_DROP;
	c->dec.action = action;
	c->dec.rcode = (int)r->rcode;
	if ((dns_hdr_flags(c->out, c->outlen) & DNS_FLAG_TC) &&
	    !(r->hdr.flags & DNS_FLAG_TC)) {
		c->dec.action = ACTION_TRUNCATE;
		/* A rebind rule says more than the size that cut the rest. */
		if (rule_open(c))
			decision_rule(&c->dec, "size:%zu",
			              pipeline_client_limit(c));
	}
	return PIPE_ANSWER;
}

/*
 * What the cache copied to c->cbuf (len bytes), in the client's question
 * case (DNS 0x20), parsed into r: 0 / -1 when it does not parse (a
 * hostile answer may point a name into a TTL the cache rewrote).
 */
static int
cbuf_for_client(struct qctx *c, size_t len, struct dns_response *r)
{
	dns_question_name_set(c->cbuf, len, c->q.qname, c->q.qname_len);
	return dns_response_parse(c->cbuf, len, r);
}

/*
 * Store msg in the view's cache and copy it back out to c->cbuf as a hit
 * would get it, in the client's case, parsed into r: 0; -1 when it was not
 * stored (not cacheable, too big, no memory).
 */
static int
cache_stored_copy(struct qctx *c, const uint8_t *msg, size_t len,
                  struct dns_response *r)
{
	struct cache_key k;
	struct cache_hit hit;
	uint64_t now = cache_now(c);

	cache_key_make(&k, &c->q);
	/* The tag: records rebind protection removed, for later hits. */
	if (cache_store_tagged(c->cache, &k, msg, len, now,
	                       c->rebind_removed) != CACHE_STORED)
		return -1;
	hit = cache_peek(c->cache, &k, now, false, c->cbuf, CACHE_MSG_MAX);
	if (hit.result != CACHE_HIT)
		return -1;
	return cbuf_for_client(c, hit.len, r);
}

#define STALE_TEXT "stale answer: every upstream attempt failed"

/*
 * What the cache handed out (c->cbuf, len bytes) to the client, in its
 * question's case. A stale answer carries EDE 3, or 19 for a stale
 * NXDOMAIN (RFC 8914 4.4, 4.20). PIPE_DROP when it cannot be used.
 */
static enum pipe_verdict
answer_cached(struct qctx *c, const struct cache_hit *hit,
              const char *stale_text)
{
	struct dns_opt_out o = client_opt(c);
	struct dns_response r;
	bool stale = hit->result == CACHE_STALE;
	enum pipe_verdict v;

	if (cbuf_for_client(c, hit->len, &r) < 0)
		return PIPE_DROP;
	if (stale && o.present) {
		o.ede_code = r.rcode == DNS_RCODE_NXDOMAIN
		                 ? DNS_EDE_STALE_NXDOMAIN
		                 : DNS_EDE_STALE_ANSWER;
		o.ede_text = c->conf->server.ede_text ? stale_text : NULL;
	} else if (hit->tag > 0 && o.present) {
		/* Rebind protection removed records when it was stored. */
		o.ede_code = DNS_EDE_FILTERED;
		o.ede_text = c->conf->server.ede_text ? REBIND_TEXT : NULL;
	}
	v = fit_response(c, c->cbuf, &r, &o,
	                 stale ? ACTION_STALE : ACTION_CACHE);
	if (v == PIPE_DROP)
		return v;
	if (o.ede_code >= 0) {
		c->dec.ede = o.ede_code;
		c->dec.ede_text = o.ede_text;
	}
	if (hit->tag > 0 && rule_open(c))
		decision_rule(&c->dec, "rebind:%s:%u", c->view->name, hit->tag);
	return v;
}

static enum pipe_verdict answer_stale(struct qctx *c, const char *why);

enum pipe_verdict
pipeline_upstream_answer(struct qctx *c, const uint8_t *resp, size_t len,
                         const struct dns_response *r)
{
	struct dns_opt_out o = client_opt(c);
	struct dns_response fr, cr;
	uint8_t *filtered = NULL;
	size_t flen = 0;
	enum pipe_verdict v;

	/* RFC 8767 4: an upstream SERVFAIL passed on (retry-on without
	 * servfail, or the last attempt) means the name could not be
	 * refreshed: a stale answer, when serve-stale has one, rather than
	 * the failure. Only NOERROR and NXDOMAIN replace the entry. */
	if (r->rcode == DNS_RCODE_SERVFAIL) {
		v = answer_stale(c, "stale answer: the upstream answered "
		                    "SERVFAIL");
		if (v != PIPE_DROP)
			return v;
	}
	/* 8. response filters */
	switch (stage_rebind(c, resp, len, &filtered, &flen, &fr)) {
	case REBIND_CLEAN:
		break;
	case REBIND_FILTERED:
		resp = filtered;
		len = flen;
		r = &fr;
		if (o.present) {
			o.ede_code = DNS_EDE_FILTERED;
			o.ede_text =
			    c->conf->server.ede_text ? REBIND_TEXT : NULL;
			c->dec.ede = DNS_EDE_FILTERED;
			c->dec.ede_text = o.ede_text;
		}
		break;
	default:
		free(filtered);
		return answer_error(c, ACTION_SERVFAIL, DNS_RCODE_SERVFAIL,
		                    DNS_EDE_INVALID_DATA,
		                    "upstream answer could not be filtered");
	}
	/* 8. the answer as filtered goes into the view's cache, and out as
	 * the cache hands it out (TTLs clamped, a negative answer's SOA with
	 * its negative TTL), so the first client sees what the next ones
	 * will. A transfer has no cache (stage_cache). */
	if (c->cache != NULL && cache_stored_copy(c, resp, len, &cr) == 0) {
		resp = c->cbuf;
		r = &cr;
	}
	v = fit_response(c, resp, r, &o, ACTION_FORWARD);
	free(filtered);
	return v == PIPE_DROP ? pipeline_upstream_failed(c, UP_FAIL_SERVFAIL)
	                      : v;
}

/*
 * A slipped response (BIND): header and question with TC=1, or BADCOOKIE
 * with a fresh cookie when the query carried a COOKIE option (RFC 7873
 * 2.4-5), so a real client retries over TCP or with its cookie.
 */
static enum pipe_verdict
rrl_slip(struct qctx *c, enum rrl_kind kind)
{
	struct dns_opt_out o = client_opt(c);
	uint8_t head[DNS_HEADER_LEN + DNS_NAME_MAX + 4];
	size_t qend = c->q.question_end;

	c->dec.action = ACTION_RATELIMIT_SLIP;
	if (c->cookie_out_len > 0) {
		c->outlen = dns_build_error(c->out, c->outcap, &c->q,
		                            DNS_RCODE_BADCOOKIE, true, &o);
		c->dec.rcode = DNS_RCODE_BADCOOKIE;
		return c->outlen > 0 ? PIPE_ANSWER : PIPE_DROP;
	}
	if (qend > sizeof(head) || qend > c->outlen)
		return PIPE_DROP;
	memcpy(head, c->out, qend);
	c->dec.rcode =
	    kind == RRL_NXDOMAIN ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR;
	c->outlen = dns_truncate(c->out, c->outcap, head, qend, qend,
	                         (unsigned)c->dec.rcode, &o);
	return c->outlen > 0 ? PIPE_ANSWER : PIPE_DROP;
}

/* 9. RRL on the response as it would leave (see pipeline_finish). */
static enum pipe_verdict
stage_rrl(struct qctx *c, enum pipe_verdict v)
{
	uint8_t name[DNS_NAME_MAX];
	enum rrl_kind kind;
	struct rrl_result r;

	/* Exempt: TCP proves the source, so does a valid cookie;
	 * answers before a view (FORMERR...) are not limited (as BIND). */
	if (v != PIPE_ANSWER || c->rrl == NULL || c->tcp || c->view == NULL ||
	    c->cookie == COOKIE_VALID || !c->conf->ratelimit.enabled ||
	    rl_exempt(c))
		return v;
	kind = rrl_classify(c->out, c->outlen,
	                    c->q.qname_len > 0 ? c->q.qname : NULL, name);
	r = rrl_account(c->rrl, &c->client, kind, name, c->q.qtype,
	                c->dec.ts_ms);
	if (r.would == RRL_SEND)
		return v;
	decision_rule(&c->dec, "ratelimit:%s", rrl_kind_rule(r.limited_by));
	/* The first drop and first slip of an episode are logged, the rest
	 * only counted: a flood must not turn the log into an amplifier. */
	c->quiet = !r.log;
	c->limited = r.would;
	if (r.verdict == RRL_SEND) {
		/* log-only: logged and counted exactly as if limited,
		 * but the answer leaves. */
		c->dec.action = r.would == RRL_SLIP ? ACTION_RATELIMIT_SLIP
		                                    : ACTION_RATELIMIT_DROP;
		return v;
	}
	if (r.verdict == RRL_SLIP)
		return rrl_slip(c, kind);
	c->dec.action = ACTION_RATELIMIT_DROP;
	c->dec.rcode = -1;
	return PIPE_DROP;
}

/*
 * Serve-stale (RFC 8767): every attempt failed, and the view's cache still
 * holds the answer, expired less than max-stale ago. (An answer another
 * query stored meanwhile is a plain hit.)
 */
static enum pipe_verdict
answer_stale(struct qctx *c, const char *why)
{
	struct cache_key k;
	struct cache_hit hit;
	enum pipe_verdict v;

	if (c->cache == NULL || !c->conf->cache.serve_stale)
		return PIPE_DROP;
	cache_key_make(&k, &c->q);
	hit = cache_peek(c->cache, &k, cache_now(c), true, c->cbuf,
	                 CACHE_MSG_MAX);
	if (hit.result == CACHE_MISS)
		return PIPE_DROP;
	v = answer_cached(c, &hit, why);
	if (v != PIPE_DROP && hit.result == CACHE_STALE)
		c->cache_count = CACHE_STALE;
	return v;
}

enum pipe_verdict
pipeline_stale(struct qctx *c)
{
	return answer_stale(c, "stale answer: the upstream is slow to answer");
}

enum pipe_verdict
pipeline_upstream_failed(struct qctx *c, enum up_failure last)
{
	enum pipe_verdict v = answer_stale(c, STALE_TEXT);

	if (v != PIPE_DROP)
		return v;
	/* 22 after an answer, 23 after a timeout or network error. */
	if (last == UP_FAIL_LOOP) {
		decision_rule(&c->dec, "loop");
		return answer_error(c, ACTION_SERVFAIL, DNS_RCODE_SERVFAIL,
		                    DNS_EDE_NETWORK_ERROR,
		                    "forwarding loop: the upstream query came "
		                    "back to dnsgate");
	}
	if (last == UP_FAIL_TIMEOUT || last == UP_FAIL_NETWORK ||
	    last == UP_FAIL_LOCAL)
		return answer_error(c, ACTION_SERVFAIL, DNS_RCODE_SERVFAIL,
		                    DNS_EDE_NETWORK_ERROR,
		                    last == UP_FAIL_TIMEOUT
		                        ? "upstream timed out"
		                        : "upstream unreachable");
	return answer_error(c, ACTION_SERVFAIL, DNS_RCODE_SERVFAIL,
	                    DNS_EDE_NO_REACHABLE_AUTHORITY,
	                    "every upstream attempt failed");
}

enum pipe_verdict
pipeline_loop(struct qctx *c, enum loop_kind how)
{
	bool socket = how == LOOP_OWN_SOCKET;

	decision_rule(&c->dec, "loop:%s", socket ? "own-socket" : "own-query");
	return answer_error(c, ACTION_REFUSE, DNS_RCODE_REFUSED,
	                    DNS_EDE_PROHIBITED,
	                    socket ? "forwarding loop: query from dnsgate's "
	                             "own upstream socket"
	                           : "forwarding loop: dnsgate's own upstream "
	                             "query came back");
}

enum pipe_verdict
pipeline_finish(struct qctx *c, enum pipe_verdict v)
{
	const struct pipe_upstream *u = &c->upstream;

	if (v == PIPE_UPSTREAM) {
		/* 8. response filters (rebind protection), then 10. fit,
		 * cookie and EDE: one pass over the upstream's message. The
		 * answer cache stores here, between the two. */
		if (u->msg != NULL)
			v = pipeline_upstream_answer(c, u->msg, u->len, u->r);
		else
			v = pipeline_upstream_failed(c, u->failure);
	}
	/* Local answers were fitted where they were built (stages 1-5). */
	return stage_rrl(c, v);
}
