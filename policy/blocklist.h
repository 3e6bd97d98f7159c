/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/blocklist.h — blocklists, allowlists and RPZ (dnsgate.conf(5),
 * "Blocklists and allowlists"; RPZ as draft-vixie-dnsop-dns-rpz and the
 * BIND 9 ARM, "Response Policy Zones", define it).
 *
 * Two objects. A struct blocklist is one loaded file: its entries, in one of
 * three formats. A struct blockset is what a view queries: its blocklists in
 * configuration order and its allowlists, merged into ONE hash index of
 * lower-case wire names, so a lookup costs one hash probe per label of the
 * QNAME whatever the size and number of the lists. A blockset copies what it
 * needs: the lists may be freed (or reused for another view) once it is made.
 * Both are immutable after creation, so workers may share a blockset.
 *
 * Formats, recognised by content (or forced with a "rpz:", "hosts:",
 * "domains:" or "adblock:" prefix before the path):
 *   rpz      a zone file: one of its first 64 lines that are not blank or
 *            comments is a $ directive, or has SOA or CNAME as a word after
 *            the first (and does not start with an address)
 *   adblock  one of those lines starts with "!", "||", "@@" or
 *            "[Adblock" (the "[Adblock Plus 2.0]" header)
 *   hosts    the first line that is not blank or a comment starts with an
 *            IP address
 *   domains  anything else: one domain per line
 * In domains and hosts files '#' starts a comment anywhere on a line; CR
 * before LF and a UTF-8 byte-order mark are ignored. Names are letters,
 * digits, '-' and '_' between dots, with an optional final dot; a name
 * with bytes outside ASCII (and only those characters besides) is UTF-8
 * and is converted to A-labels
 * (dns/idn.h: IDNA 2008, UTS #46 mapping) in every format (RPZ: owner
 * names), so "ünicode.example" lists xn--nicode-2ya.example.
 *   domains  "ads.example.com" lists the name and every name below it;
 *            "*.ads.example.com" only the names below it (RPZ's meaning).
 *   hosts    "0.0.0.0 a.example b.example" lists each name (and every name
 *            below it); the address may be any IPv4/IPv6 address (a
 *            "%scope" suffix is ignored) and is otherwise ignored: the
 *            view's block-action decides the answer. The names localhost,
 *            localhost.localdomain, local, broadcasthost, ip6-* and names
 *            that are IP addresses are ignored (the usual header of hosts
 *            files): counted in blocklist_info's ignored, not errors.
 *   adblock  the domain rules of Adblock Plus / AdGuard filter lists, with
 *            AdGuard Home's DNS meaning:
 *              ||name^          blocks name and every name below it
 *              @@||name^        an exception: name and every name below
 *                               it are not blocked (see Matching)
 *              ||name^$important  a block that beats exceptions (and
 *                               @@||name^$important an exception that
 *                               beats it), as AdGuard ranks them
 *              name, *.name     as in a domains file (@@name: exception)
 *              ADDRESS NAME...  as in a hosts file
 *              ! text, # text   comments; [Adblock Plus 2.0]: the header
 *            Rules dnsgate cannot apply to a DNS name are skipped and
 *            counted in unsupported: other modifiers ($third-party,
 *            $dnstype=, $client=, $badfilter...), cosmetic rules (##,
 *            #@#, #?#, #$#, #%#), regular expressions (/.../), URL rules
 *            (|http://..., paths, '*' wildcards, ||name without '^').
 *   rpz      a zone file (RFC 1035 5.1) with $ORIGIN, $TTL (default 3600),
 *            ';' comments, '(' ')' over several lines, blank owners (the
 *            previous owner), '@', relative names. $INCLUDE is an error.
 *            The zone apex is the owner of the SOA when the SOA comes first
 *            (as it should), else the $ORIGIN in effect at the first record
 *            (the root when there is none, so absolute owners are triggers
 *            as written). Records at the apex (SOA, NS) are not triggers;
 *            the SOA is kept for negative answers. Every other owner must
 *            be below the apex; the owner relative to the apex is a QNAME
 *            trigger: "name" matches only name, "*.name" only names below
 *            name. Triggers ending in rpz-ip, rpz-client-ip, rpz-nsdname or
 *            rpz-nsip are not supported: skipped and counted in
 *            unsupported.
 *            The RDATA is the action (BIND 9 ARM, "Response Policy Zones"):
 *              CNAME .               NXDOMAIN
 *              CNAME *.              NODATA
 *              CNAME rpz-passthru.   PASSTHRU (also: CNAME to the trigger
 *                                    name itself, the old spelling)
 *              CNAME rpz-drop.       DROP
 *              CNAME rpz-tcp-only.   TCP-ONLY
 *              CNAME *.target.       local data: CNAME to QNAME.target.
 *              any other RRs         local data (several RRs and types per
 *                                    trigger; a CNAME stands alone,
 *                                    RFC 1034 3.6.2)
 *            Identical records are collapsed; of two different actions
 *            for one trigger the first stays (the second is a bad entry).
 *
 * Bad entries: a line (RPZ: a record) that cannot be read as an entry —
 * a bad name, a hosts line without an address, an RPZ record that does
 * not parse or breaks a rule above — is skipped and counted in bad; the
 * first BLOCKLIST_REPORT_MAX are kept with their line (blocklist_problems)
 * for the caller to report. Whether a bad entry rejects the list is the
 * caller's decision ([lists] strict). A load fails only when the file
 * cannot be read as a list at all: it cannot be opened or read, a line
 * is longer than 64 KiB, an RPZ $ directive is wrong or '(' is never
 * closed, or more than half of its lines that hold an entry, a rule
 * or a bad entry (not blank, not comments; RPZ: records) are bad — a
 * binary, an HTML error page, a list in a format dnsgate does not read:
 * loading it empty would silently unblock everything it was meant to
 * block.
 *
 * Matching (blockset_lookup):
 *   1. An allowlist entry that matches exempts the name from every
 *      blocklist of the view (an allowlist in RPZ form: each trigger is an
 *      exemption with the trigger's own matching; its actions are ignored;
 *      every rule of an adblock allowlist, block or exception, is an
 *      exemption). Then, as AdGuard Home ranks adblock rules, whatever
 *      list they are in: an @@...$important exception unblocks, a
 *      ...$important block blocks, an @@ exception unblocks (an exception
 *      in any list unblocks); each rank in list order.
 *   2. Otherwise the first blocklist in configuration order with a
 *      matching entry decides (BIND: the first policy zone wins).
 *   3. Within that list the most specific entry decides: the entry for the
 *      QNAME itself, else the one for the closest enclosing name.
 *   An RPZ PASSTHRU is an ordinary entry of its list: where it decides
 *   (steps 2 and 3), the name is not blocked and no later list is
 *   consulted, as in BIND.
 *
 * Answers (blockset_build_answer): QR, AA and RA set, RD copied, the
 * question as asked; records for the QNAME are written with a compression
 * pointer to it. Negative answers (NXDOMAIN, NODATA) carry an SOA in the
 * authority section with TTL min(SOA TTL, MINIMUM) (RFC 2308 3): the RPZ
 * zone's own SOA when it has one, else the synthesized
 *   LABEL.blocklist.invalid. 60 IN SOA localhost. nobody.invalid.
 *       1 3600 1200 604800 60
 * where LABEL is the list's name lower-cased with every byte other than
 * a-z 0-9 - _ replaced by '-' ("ads.txt" -> "ads-txt"), at most 63 bytes.
 * Redirect answers have TTL BLOCKLIST_TTL. EDE 15 and its EXTRA-TEXT are
 * the caller's: it passes them in the dns_opt_out.
 */
#ifndef POLICY_BLOCKLIST_H
#define POLICY_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"
#include "dns/msg.h"
#include "dns/name.h"

/* TTL of synthesized records: redirect addresses, the synthesized SOA. */
#define BLOCKLIST_TTL 60
/* Lines looked at to recognise a format by content. */
#define BLOCKLIST_SNIFF_LINES 64
/* Bad entries of a list kept, with their line, for the report. */
#define BLOCKLIST_REPORT_MAX 10

enum blocklist_format {
	BLOCKLIST_AUTO = 0, /* recognise by content */
	BLOCKLIST_DOMAINS,
	BLOCKLIST_HOSTS,
	BLOCKLIST_RPZ,
	BLOCKLIST_ADBLOCK,
};

/*
 * What a file held, for -t, the log and the metrics. "Skipped" in reports
 * is unsupported + bad.
 */
struct blocklist_info {
	enum blocklist_format format;
	size_t entries;     /* names or triggers added (duplicates included) */
	size_t records;     /* RPZ local-data records kept */
	size_t ignored;     /* localhost-style hosts names: not blocks */
	size_t unsupported; /* rules of a kind dnsgate does not apply */
	size_t bad;         /* entries that could not be read, skipped */
};

/* One bad entry: where, and why (bytes outside printable ASCII as \xNN). */
struct blocklist_problem {
	int line;
	char text[160];
};

struct blocklist;

/*
 * Load one file. path may start with "rpz:", "hosts:", "domains:" or
 * "adblock:" to force the format; the list's name is the base name of the
 * rest. Bad entries are skipped (see the top of this file). When the file
 * cannot be read as a list returns NULL with a one-line reason in err (no
 * FILE:LINE prefix; err may be NULL) and *errline (may be NULL) set to the
 * 1-based line it concerns, or 0 when it concerns no line (cannot open,
 * out of memory).
 */
struct blocklist *blocklist_load(const char *path, char *err, size_t errlen,
                                 int *errline);
/* The same from text[0..len) in memory, with the name given. */
struct blocklist *blocklist_parse(const char *name,
                                  enum blocklist_format format,
                                  const char *text, size_t len, char *err,
                                  size_t errlen, int *errline);
void blocklist_free(struct blocklist *bl);
/*
 * The first bad entries of bl (at most BLOCKLIST_REPORT_MAX of
 * blocklist_get_info(bl)->bad), in file order: their number, and the
 * array in *out.
 */
size_t blocklist_problems(const struct blocklist *bl,
                          const struct blocklist_problem **out);
/* Length of a "rpz:", "hosts:", "domains:" or "adblock:" prefix of path. */
size_t blocklist_prefix_len(const char *path);
/* Where an entry was written (blocklist_locate). */
struct blocklist_where {
	int line;      /* 1-based (an RPZ record's first line); 0: not found */
	bool wildcard; /* written "*.name": it covers only the names below */
};

/*
 * Which line of the list at path (as blocklist_load takes it) wrote the
 * entry that a blockset_lookup matched: name and below as struct
 * block_match has them (the first entry in the file with that name that
 * covers the name itself, or the names below it). The file is read again,
 * keeping nothing, up to that entry: `dnsgate explain` pays for it, the
 * lists in memory carry no line numbers. where->line is 0 when no entry
 * matches (the file changed since it was loaded). Returns 0, or -1 when
 * the file cannot be opened (errno set).
 */
int blocklist_locate(const char *path, const uint8_t *name, bool below,
                     struct blocklist_where *where);
/* The base name of the file, as EXTRA-TEXT and rule ids show it. */
const char *blocklist_name(const struct blocklist *bl);
const struct blocklist_info *blocklist_get_info(const struct blocklist *bl);
/* "domains", "hosts", "rpz", "adblock" ("auto" for BLOCKLIST_AUTO). */
const char *blocklist_format_name(enum blocklist_format f);

/* What a lookup found. */
enum block_action {
	BLOCK_NONE = 0,   /* no entry matched: not blocked */
	BLOCK_ALLOWED,    /* an allowlist or exception matched: not blocked */
	BLOCK_PASSTHRU,   /* RPZ PASSTHRU decided: not blocked */
	BLOCK_LISTED,     /* domains/hosts entry: the view's block-action */
	BLOCK_NXDOMAIN,   /* RPZ CNAME . */
	BLOCK_NODATA,     /* RPZ CNAME *. */
	BLOCK_DROP,       /* RPZ CNAME rpz-drop.: send nothing */
	BLOCK_TCP_ONLY,   /* RPZ CNAME rpz-tcp-only.: UDP gets TC=1 */
	BLOCK_LOCAL_DATA, /* RPZ records: answer with them */
};

/* The view's block-action (dnsgate.conf(5), [view NAME] block-action). */
enum block_policy {
	BLOCK_POLICY_NXDOMAIN = 1,
	BLOCK_POLICY_NODATA,
	BLOCK_POLICY_REFUSE,
	BLOCK_POLICY_DROP,
	BLOCK_POLICY_REDIRECT, /* A (IPv4) or AAAA (IPv6) answer */
};

/* One record of RPZ local data, or an SOA; owned by the blockset. */
struct block_rr {
	uint16_t type;
	uint16_t rdlength;
	uint32_t ttl;
	const uint8_t *rdata; /* uncompressed wire form */
};

/*
 * The result of blockset_lookup. Pointers point into the blockset and live
 * as long as it does.
 */
struct block_match {
	enum block_action action;
	/* Deciding list's name; NULL for BLOCK_NONE. For rule ids:
	 * "blocklist:ads.txt". */
	const char *list;
	/* The deciding list is an allowlist (else a blocklist: BLOCK_ALLOWED
	 * then comes from an adblock exception rule of it). */
	bool allowlist;
	/* 0-based position of that list among the view's blocklists, or its
	 * allowlists. */
	unsigned list_index;
	/* The listed name that matched (lower-case wire form), and whether the
	 * QNAME is below it ("*.name" or a domain's subtree) or is it. */
	const uint8_t *name;
	bool below;
	/* BLOCK_LOCAL_DATA: the records, sorted by type; rewrite when rrs[0]
	 * is the CNAME of "CNAME *.target." (rdata holds "target."). */
	const struct block_rr *rrs;
	size_t nrrs;
	bool rewrite;
	/* The SOA for negative answers (the RPZ zone's or synthesized). */
	const uint8_t *soa_owner;
	const struct block_rr *soa;
};

/* What the query path does after a lookup. */
enum block_outcome {
	BLOCK_OUT_CONTINUE = 0, /* not blocked: go on (local data, forward) */
	BLOCK_OUT_ANSWER,       /* send blockset_build_answer's message */
	BLOCK_OUT_DROP,         /* send nothing */
};

struct blockset;

/*
 * Merge lists[0..nlists) (configuration order: the first matching list
 * wins) and allow[0..nallow) into one index. Nothing is kept pointing into
 * the lists. Returns NULL when out of memory (or more than 65535 lists).
 */
struct blockset *blockset_create(const struct blocklist *const *lists,
                                 size_t nlists,
                                 const struct blocklist *const *allow,
                                 size_t nallow);
void blockset_free(struct blockset *set);
/* Distinct names in the index. */
size_t blockset_size(const struct blockset *set);

/* One list of a blockset, for -t, the log and the metrics. */
struct blockset_list {
	const char *name; /* base name, as EXTRA-TEXT shows it */
	bool allowlist;
	unsigned index; /* among the view's blocklists, or its allowlists */
	struct blocklist_info info;
};

/* The lists of set (0 for NULL): allowlists first, each kind in order. */
size_t blockset_list_count(const struct blockset *set);
/* List i < blockset_list_count(set); lives as long as set. */
const struct blockset_list *blockset_list_get(const struct blockset *set,
                                              size_t i);

/*
 * Look qname (a valid wire name, any case) up: fills *m and returns true
 * when the name is blocked (BLOCK_LISTED .. BLOCK_LOCAL_DATA), false for
 * BLOCK_NONE, BLOCK_ALLOWED and BLOCK_PASSTHRU. set may be NULL (a view
 * without lists). One hash probe per label, plus one for the root.
 */
bool blockset_lookup(const struct blockset *set, const uint8_t *qname,
                     struct block_match *m);

/*
 * What to do with a lookup's result: BLOCK_LISTED follows policy; RPZ DROP
 * and policy drop are BLOCK_OUT_DROP; RPZ TCP-ONLY answers (TC=1) over UDP
 * and continues as PASSTHRU over TCP (BIND); the not-blocked results
 * continue.
 */
enum block_outcome blockset_outcome(const struct block_match *m,
                                    enum block_policy policy, bool tcp);

/*
 * Build the answer for a BLOCK_OUT_ANSWER outcome (see the top of this
 * file for flags and SOA). policy applies to BLOCK_LISTED only:
 *   nxdomain   NXDOMAIN + SOA          nodata   NOERROR + SOA
 *   refuse     REFUSED, no records, no AA
 *   redirect   an A (IPv4 redirect) or AAAA (IPv6) record for the QNAME
 *              when QTYPE is that type or ANY, else NODATA + SOA
 * RPZ actions: NXDOMAIN and NODATA as above; TCP-ONLY: TC=1, no records,
 * no AA; LOCAL_DATA: a CNAME when there is one (whatever QTYPE), else the
 * records of QTYPE (every record for ANY), else NODATA + SOA; a rewrite
 * CNAME whose QNAME.target would exceed 255 bytes is YXDOMAIN (as a DNAME,
 * RFC 6672 2.2). A CNAME is returned alone; chasing it is the caller's.
 * Then the OPT from o (o may be NULL: no OPT). Returns the length, or 0
 * when cap is too small or there is nothing to send (drop, not blocked,
 * redirect without an address).
 */
size_t blockset_build_answer(uint8_t *out, size_t cap,
                             const struct dns_query *q,
                             const struct block_match *m,
                             enum block_policy policy,
                             const struct ip_addr *redirect,
                             const struct dns_opt_out *o);

/* "nxdomain", "passthru", "tcp-only", "local-data"... for logs. */
const char *block_action_name(enum block_action a);
/*
 * Parse a block-action value: "nxdomain", "nodata", "refuse", "drop" or
 * "redirect ADDRESS" (any case, blanks around words). *redirect is set for
 * redirect only. Returns 0 / -1.
 */
int block_policy_parse(const char *text, enum block_policy *policy,
                       struct ip_addr *redirect);
const char *block_policy_name(enum block_policy p);

#endif
