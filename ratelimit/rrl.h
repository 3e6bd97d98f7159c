/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ratelimit/rrl.h — response rate limiting with the semantics of BIND 9's
 * rate-limit (dnsgate.conf(5), [ratelimit]), and the per-client query limit.
 *
 * Pure: no sockets, no clock, no allocation after rrl_new. Every call takes
 * `now` in milliseconds from a monotonic clock; a step backwards counts as
 * no time passing.
 *
 * Threads: a table is NOT thread-safe. The intended use is one table per
 * worker thread (or one table behind the caller's lock). Per-worker tables
 * limit each account exactly only when every query from a client prefix
 * reaches the same worker. The kernel's default SO_REUSEPORT choice hashes
 * the whole 4-tuple, source port included, so a client that randomises its
 * source port (every resolver does, RFC 5452 9.2) is spread over all N
 * workers, and the limit it sees becomes up to N times the configured rate.
 * For exact limits with several workers, steer by source address only (a
 * SO_ATTACH_REUSEPORT_CBPF program that loads the source address at
 * SKF_NET_OFF + 12 for IPv4, + 8 for IPv6, modulo N), or share one table
 * under a mutex.
 *
 * Accounts (as BIND 9 lib/dns/rrl.c keys them): each is keyed by the
 * client's prefix (ipv4-prefix-length / ipv6-prefix-length) and by the kind
 * of response:
 *   RRL_ANSWER    non-empty NOERROR answer: qname + qtype
 *   RRL_REFERRAL  delegation (NS, no SOA, AA=0): the delegation name; it is
 *                 limited at responses-per-second, as BIND's default
 *                 referrals-per-second is
 *   RRL_NODATA    NOERROR without answers: the name, whatever the qtype
 *   RRL_NXDOMAIN  the zone: the SOA owner from the authority section, or
 *                 the qname's parent when there is no SOA
 *   RRL_ERROR     any other RCODE (SERVFAIL, REFUSED, FORMERR, BADCOOKIE...):
 *                 the prefix only
 *   RRL_ALL       all-per-second: every response to the prefix
 *   RRL_QUERY     queries-per-second: every query from the prefix
 * Names compare case-insensitively. The class is not part of the key (the
 * proxy serves class IN), nor are wildcards recognised (a forwarded answer
 * does not say it was synthesised): both differ from BIND.
 *
 * Token arithmetic (BIND lib/dns/rrl.c debit_rrl_entry): an account earns
 * `rate` credits per second, continuously (kept in thousandths, so 200 ms at
 * rate 5 earn exactly one), up to +rate; each response costs 1 whether it is
 * sent or not; the balance never goes below -window x rate. A response is
 * sent when the balance after paying is >= 0, otherwise it is limited. An
 * account idle for more than `window` seconds starts again with a full
 * bucket, as does a new one. With whole-second clocks this is exactly
 * BIND's arithmetic.
 *
 * Slip (BIND 9 lib/dns/rrl.c): a limited response slips when the account's
 * slip counter is 0, and then on every slip-th limited response after it;
 * the rest are dropped. slip = 0 drops all, 1 slips all, 2 gives
 * slip, drop, slip, drop..., 3 gives slip, drop, drop, slip... The counter
 * goes back to 0 when the bucket is full again. all-per-second is never
 * slipped. Errors are never slipped either: BIND's ns_client_error drops
 * every limited error ("don't try to slip any error responses"), and a
 * slipped REFUSED or SERVFAIL would only be the same small error again.
 *
 * What a slip means on the wire is the caller's job (as BIND 9's
 * query_checkrrl does it; dnsgate.conf(5), "Slipped responses"): header +
 * question with TC=1 and no records, RCODE as the response had it (NOERROR,
 * or NXDOMAIN); when the query carried a COOKIE option, BADCOOKIE (RFC 7873
 * section 8) with a fresh server cookie and AA, AD cleared.
 *
 * Exemptions are the caller's job too: do not call rrl_account for TCP
 * queries, for clients in exempt-clients, or for queries with a valid server
 * cookie. The query limit (rrl_query_account) applies to every transport; a
 * client in exempt-clients should skip it as well.
 *
 * Episodes (dnsgate.conf(5), "Logging and counting"): an account is *limiting*
 * from its first limited response until its bucket is full again (which is at
 * most window + 1 seconds after the flood stops), or it is evicted. Within an
 * episode only the first drop and the first slip are flagged for a decision
 * line; every drop and slip is counted, both in the episode and in the table's
 * totals; rrl_expire reports each episode that ended, with its counts, for the
 * summary line. Episode records come from a fixed pool of RRL_EPISODES_MAX (or
 * max-table-size, if smaller) slots; a limited response that finds the pool
 * empty is limited just the same but not logged, and is counted in
 * rrl_stats.untracked.
 *
 * Memory: rrl_new allocates everything once: max-table-size accounts (about
 * 64 bytes each with the hash index) and the episode pool. When the table is
 * full the least recently used account is recycled, so a flood from any
 * number of spoofed prefixes never grows it.
 */
#ifndef RATELIMIT_RRL_H
#define RATELIMIT_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"
#include "dns/name.h"

/* Bounds rrl_config_check enforces (BIND's, where BIND has one). */
#define RRL_RATE_MAX       1000    /* responses, errors... per second */
#define RRL_QUERY_RATE_MAX 1000000 /* queries-per-second */
#define RRL_WINDOW_MIN     1       /* seconds */
#define RRL_WINDOW_MAX     3600
#define RRL_SLIP_MAX       10
#define RRL_V4_PREFIX_MIN  8
#define RRL_V4_PREFIX_MAX  32
#define RRL_V6_PREFIX_MIN  16
#define RRL_V6_PREFIX_MAX  64
#define RRL_TABLE_MIN      2
#define RRL_TABLE_MAX      10000000
/* Episode slots: concurrently limiting accounts that get log lines. */
#define RRL_EPISODES_MAX 1024
/* Length of the key for the table's keyed hash (SipHash-2-4). */
#define RRL_HASH_KEY_LEN 16 /* = SIPHASH_KEY_LEN */

/* [ratelimit]; a rate of 0 turns that account off. */
struct rrl_config {
	unsigned responses_ps; /* also referrals */
	unsigned nxdomains_ps;
	unsigned nodata_ps;
	unsigned errors_ps;
	unsigned all_ps;
	unsigned queries_ps; /* per-client query limit */
	unsigned window_s;
	unsigned slip;
	unsigned v4_prefix;
	unsigned v6_prefix;
	unsigned max_table;
	bool log_only;
};

/*
 * Defaults (dnsgate.conf(5)): every rate 0 (off), window 15 s, slip 2,
 * prefixes /24 and /56, log-only off; max-table-size 20000 (BIND's).
 */
void rrl_config_defaults(struct rrl_config *cfg);
/*
 * 0 when every field is within the RRL_* bounds above, else -1 with *why
 * (when why is non-NULL) set to a static message naming the config key.
 */
int rrl_config_check(const struct rrl_config *cfg, const char **why);

enum rrl_kind {
	RRL_ANSWER = 1,
	RRL_REFERRAL,
	RRL_NODATA,
	RRL_NXDOMAIN,
	RRL_ERROR,
	RRL_ALL,   /* only reported, never passed to rrl_account */
	RRL_QUERY, /* only reported, never passed to rrl_account */
};

/*
 * The account of the response resp[0..len) to a query for qname (the
 * query's name; NULL when the question was not read): the kind is returned
 * and the account's name is written to name_out — qname for RRL_ANSWER and
 * RRL_NODATA, the zone for RRL_NXDOMAIN, the delegation name for
 * RRL_REFERRAL, the root for RRL_ERROR. The RCODE includes the extended bits
 * of an OPT record (BADVERS, BADCOOKIE are errors). The message is walked
 * with the dns/ cursor; when a section cannot be read, what was read before
 * it decides (a response shorter than a header is RRL_ERROR).
 */
enum rrl_kind rrl_classify(const uint8_t *resp, size_t len,
                           const uint8_t *qname,
                           uint8_t name_out[DNS_NAME_MAX]);

enum rrl_verdict {
	RRL_SEND = 1, /* send the response / let the query through */
	RRL_DROP,     /* send nothing (for queries: apply queries-action) */
	RRL_SLIP,     /* send a minimal TC=1 (or BADCOOKIE) response instead */
};

/* One limiting episode of one account. */
struct rrl_episode {
	struct ip_addr prefix; /* the client's address, host bits cleared */
	uint8_t prefix_len;    /* in the address family's bits */
	enum rrl_kind kind;    /* RRL_ALL / RRL_QUERY for those accounts */
	uint16_t qtype;        /* RRL_ANSWER only, else 0 */
	uint8_t name[DNS_NAME_MAX]; /* lower case; the root when no name */
	uint64_t start_ms;          /* first limited response */
	uint64_t last_ms;           /* latest limited response */
	uint64_t end_ms;            /* when the end was noticed (0 before) */
	uint64_t dropped;           /* (would have been, in log-only mode) */
	uint64_t slipped;
	bool log_only; /* log-only was on when the episode started */
};

struct rrl_result {
	/* What to do. Always RRL_SEND in log-only mode. */
	enum rrl_verdict verdict;
	/* What limiting decided; equals verdict unless log-only. Metrics and
	 * decision lines use this one. */
	enum rrl_verdict would;
	/* The account that limited (RRL_ALL when all-per-second did); 0 when
	 * would is RRL_SEND. */
	enum rrl_kind limited_by;
	/* First drop or first slip of the episode: write a decision line. */
	bool log;
	/* First limited response of the episode ("limit ..." line). */
	bool episode_start;
	/* The episode this response counted in, NULL when would is RRL_SEND
	 * or no slot was free. Valid until the next call on the table. */
	const struct rrl_episode *episode;
};

struct rrl_stats {
	size_t entries;   /* accounts in use; never more than capacity */
	size_t capacity;  /* max-table-size */
	size_t bytes;     /* allocated by rrl_new; constant */
	size_t episodes;  /* episode slots in use (on, or ended unreported) */
	uint64_t dropped; /* responses dropped (would be, in log-only) */
	uint64_t slipped; /* responses slipped (would be, in log-only) */
	uint64_t queries_limited; /* queries over queries-per-second */
	uint64_t evicted;         /* accounts recycled while in use */
	uint64_t untracked;       /* limited with no episode slot: not logged */
};

struct rrl_table;

/*
 * A table for cfg (copied), with max_table accounts allocated now and no
 * allocation later. hash_key (RRL_HASH_KEY_LEN bytes, from getrandom; NULL
 * means all zero, for tests) keys the hash index, so a flood cannot aim at
 * one hash chain. NULL when cfg fails rrl_config_check or out of memory.
 */
struct rrl_table *rrl_new(const struct rrl_config *cfg,
                          const uint8_t *hash_key);
void rrl_free(struct rrl_table *t);
/*
 * Take new rates, window, slip and log-only on a reload, keeping every
 * account's state. -1 (nothing changed) when cfg is invalid or changes
 * max_table or a prefix length: the caller then builds a new table.
 */
int rrl_reconfigure(struct rrl_table *t, const struct rrl_config *cfg);

/*
 * Debit the response of the given kind (RRL_ANSWER .. RRL_ERROR, as
 * rrl_classify returned it, with its name_out) to client, and the client
 * prefix's all-per-second account when that is on. qtype counts for
 * RRL_ANSWER only; name is ignored for RRL_ERROR and may then be NULL.
 * Both accounts are always debited (BIND dns_rrl); when all-per-second
 * limits, it decides and the response is dropped, otherwise the kind's
 * account decides. A kind whose rate is 0 creates no account.
 */
struct rrl_result rrl_account(struct rrl_table *t, const struct ip_addr *client,
                              enum rrl_kind kind, const uint8_t *name,
                              uint16_t qtype, uint64_t now_ms);

/*
 * The per-client query limit, checked before any lookup: RRL_SEND lets the
 * query through, RRL_DROP means over queries-per-second (the caller applies
 * queries-action: REFUSED with EDE 18, or drop). Same bucket as above
 * (burst one second's worth) except that a refused query costs nothing and
 * the balance never goes below 0: a client sending flat out still gets
 * exactly queries-per-second through, and the moment it slows down it is
 * served again. Episodes, log flags and log-only work as for responses
 * (limited_by RRL_QUERY, counted as dropped). Always RRL_SEND when
 * queries_ps is 0.
 */
struct rrl_result rrl_query_account(struct rrl_table *t,
                                    const struct ip_addr *client,
                                    uint64_t now_ms);
/* rrl_query_account(...).verdict == RRL_SEND, for callers that log nothing. */
bool rrl_query_allowed(struct rrl_table *t, const struct ip_addr *client,
                       uint64_t now_ms);

/*
 * Report, through cb, every episode that has ended by now_ms — its account's
 * bucket is full again, it was idle for more than window, or it was evicted —
 * and free its slot. Call it about once a second. e is valid during the
 * call only; cb must not call into the table.
 */
void rrl_expire(struct rrl_table *t, uint64_t now_ms,
                void (*cb)(void *arg, const struct rrl_episode *e), void *arg);
/* Report every episode, ended or not, as ending at now_ms (shutdown,
 * or before a reload replaces the table). */
void rrl_expire_all(struct rrl_table *t, uint64_t now_ms,
                    void (*cb)(void *arg, const struct rrl_episode *e),
                    void *arg);

/*
 * The account as BIND's rate-limit log lines name it, without the leading
 * "limit " / "stop limiting ": "responses to 192.0.2.0/24 for
 * www.example.com. A", "NXDOMAIN responses to 2001:db8::/56 for
 * example.com.", "error responses to ...", "all responses to ...",
 * "queries from ...". Returns the length, or -1 when cap is too small.
 */
int rrl_episode_text(const struct rrl_episode *e, char *out, size_t cap);
/* The config key behind a kind, for rule ids: "responses-per-second",
 * "nxdomains-per-second"... ("?" for anything else). */
const char *rrl_kind_rule(enum rrl_kind kind);

void rrl_stats_get(const struct rrl_table *t, struct rrl_stats *s);

#endif
