/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/decision.h — the decision record: one per query, filled as the
 * query passes the pipeline stages, then turned into the log line, the
 * metrics and the EDE the client sees (dnsgate(8), DECISION LOG).
 */
#ifndef POLICY_DECISION_H
#define POLICY_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"
#include "dns/name.h"

/* How a query reached us: the decision log's and the metrics' proto. */
enum transport {
	TRANSPORT_UDP = 0,
	TRANSPORT_TCP,
	TRANSPORT_TLS,   /* DNS over TLS, RFC 7858 */
	TRANSPORT_HTTPS, /* DNS over HTTPS, RFC 8484 */
	TRANSPORT_COUNT_,
};

/* "udp", "tcp", "tls", "https". */
const char *transport_name(enum transport t);
/* The reverse (case-insensitive): 0, or -1 for another name. */
int transport_parse(const char *name, enum transport *t);

enum decision_action {
	ACTION_NONE = 0,
	ACTION_FORWARD,
	ACTION_CACHE,
	ACTION_LOCAL,
	ACTION_REFUSE,
	ACTION_DROP,
	ACTION_BLOCK,
	ACTION_NXDOMAIN,
	ACTION_NODATA,
	ACTION_RATELIMIT_DROP,
	ACTION_RATELIMIT_SLIP,
	ACTION_BADCOOKIE,
	ACTION_FORMERR,
	ACTION_NOTIMP,
	ACTION_BADVERS,
	ACTION_SERVFAIL,
	ACTION_STALE,
	ACTION_TRUNCATE,
	ACTION_COUNT_,
};

enum decision_format {
	DECISION_JSON = 1,
	DECISION_TEXT,
};

#define DECISION_RULE_MAX 96

struct decision {
	uint64_t ts_ms; /* wall clock when the query arrived */
	struct ip_addr client;
	uint16_t port;
	enum transport proto;
	uint16_t id;
	bool have_question;
	uint8_t qname[DNS_NAME_MAX];
	uint16_t qtype;
	const char *view; /* NULL: none chosen */
	enum decision_action action;
	char rule[DECISION_RULE_MAX]; /* "" when the default decided */
	int rcode;                    /* -1: nothing sent */
	int ede;                      /* -1: none sent */
	const char *ede_text;         /* its reason (static), or NULL */
	bool have_upstream;
	struct ip_addr upstream;
	uint16_t upstream_port;
	unsigned attempts;
	double ms; /* time from arrival to the response */
};

/* "forward", "ratelimit-drop"... as the log and metrics spell them. */
const char *decision_action_name(enum decision_action a);
/*
 * True for the plain forwards that `decisions = non-default` leaves out:
 * forwards and cache hits without a rule, or with a forward-zone's only.
 */
bool decision_is_default(const struct decision *d);
/* Record the rule that decided: printf-style into d->rule. */
void decision_rule(struct decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Format d as one log line (JSON object or key=value text), newline
 * terminated. Returns the length, or 0 when cap is too small.
 */
size_t decision_format(const struct decision *d, enum decision_format f,
                       char *out, size_t cap);
/*
 * A wall-clock time in milliseconds as every log line writes it: UTC,
 * RFC 3339 with milliseconds ("2026-11-26T13:49:48.909Z"). cap >= 25.
 */
void decision_ts_format(uint64_t ts_ms, char *buf, size_t cap);

#endif
