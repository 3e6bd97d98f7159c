/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/local.h — a view's local zones and local data (Unbound semantics).
 *
 * local-data lines are RRs in master-file text; local-zone lines give a zone
 * and its type. A query whose name is in no local zone is not ours
 * (LOCAL_PASS). Inside a zone the type decides (unbound.conf(5)):
 *   static       local data, else NXDOMAIN / NODATA (with an SOA)
 *   transparent  local data; a local name with another type is NODATA;
 *                other names pass (are forwarded)
 *   refuse       REFUSED unless local data matches
 *   drop         dropped unless local data matches
 *   nxdomain     NXDOMAIN unless local data matches
 *   nodata       NODATA unless local data matches
 * local-data whose owner is in no local zone gets an implicit transparent
 * zone at its owner name (as Unbound does). The most specific (longest)
 * zone containing the qname applies. NODATA vs NXDOMAIN is decided by the
 * names that exist: a name that owns data, or has a descendant that does
 * (an empty non-terminal), exists.
 *
 * A local-zone-file is a static zone whose records come from a master file
 * (views/localfile.h): one pool with the local-data lines, so local-data
 * at names of that zone adds to the file's records, and the file's SOA is
 * the one of negative answers (a second SOA at a name is an error).
 */
#ifndef VIEWS_LOCAL_H
#define VIEWS_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "dns/name.h"
#include "dns/rrtext.h"

enum local_zone_type {
	LZ_STATIC = 1,
	LZ_TRANSPARENT,
	LZ_REFUSE,
	LZ_DROP,
	LZ_NXDOMAIN,
	LZ_NODATA,
};

struct local_zone {
	uint8_t name[DNS_NAME_MAX]; /* lower case */
	int type;                   /* enum local_zone_type */
	bool implicit;              /* made for local-data without a zone */
	bool file;                  /* a local-zone-file's (static) */
	int line; /* its local-zone line (set by conf/config.c); 0: none */
};

struct local_rr {
	uint8_t owner[DNS_NAME_MAX]; /* lower case */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlength;
	uint8_t *rdata; /* uncompressed wire form */
};

struct local_data {
	struct local_zone *zones;
	size_t nzones;
	struct local_rr *rrs;
	size_t nrrs;
	/* implementation may add sorted indexes; filled by local_finish() */
	struct local_index *index; /* private to views/local.c */
};

enum local_result {
	LOCAL_PASS = 0, /* not in a local zone (or transparent miss) */
	LOCAL_ANSWER,   /* records found: NOERROR with data */
	LOCAL_NXDOMAIN, /* NXDOMAIN + SOA */
	LOCAL_NODATA,   /* NOERROR, no answer, SOA */
	LOCAL_REFUSE,   /* REFUSED */
	LOCAL_DROP,     /* send nothing */
};

/*
 * Add one local-data line ("www.corp.example. 300 IN A 10.1.2.3"; TTL and
 * class optional, default 3600 and IN; relative names are taken as absolute).
 * On error returns -1 with a one-line reason in err (no FILE:LINE prefix;
 * the caller adds it).
 */
int local_add_data(struct local_data *ld, const char *text, char *err,
                   size_t errlen);
/* Add one local-zone line ("corp.example static"); same error convention. */
int local_add_zone(struct local_data *ld, const char *text, char *err,
                   size_t errlen);
/*
 * Add the static zone of a local-zone-file (name in wire form); an error
 * when name is already a local-zone or local-zone-file of ld. Its records
 * are then added with local_add_rr (views/localfile.h).
 */
int local_add_file_zone(struct local_data *ld, const uint8_t *name, char *err,
                        size_t errlen);
/*
 * Add one parsed RR, as local_add_data does with the RR of its line
 * (rr's RDATA is lower-cased in place). Same error convention.
 */
int local_add_rr(struct local_data *ld, struct dns_rr_text *rr, char *err,
                 size_t errlen);
/* Sort and index after the last add; 0 / -1 (out of memory). */
int local_finish(struct local_data *ld);
/* Free everything ld owns (not ld itself). */
void local_free(struct local_data *ld);

/*
 * Decide a query. *zone is set to the deciding zone (for the rule id
 * "local-zone:NAME"), or NULL for LOCAL_PASS.
 */
enum local_result local_lookup(const struct local_data *ld,
                               const uint8_t *qname, uint16_t qtype,
                               const struct local_zone **zone);

/*
 * Build the response for a LOCAL_ANSWER / LOCAL_NXDOMAIN / LOCAL_NODATA
 * result: ID, RD and question of q (qname case as asked), QR=1, AA=1, RA=1;
 * LOCAL_ANSWER: the RRset of qtype at qname (or the CNAME at qname, followed
 * within local data for up to 8 links, adding the target's records);
 * negative results: the zone's SOA from local data in the authority section
 * (or, when there is none, a synthesized "ZONE 3600 IN SOA localhost.
 * nobody.invalid. 1 3600 1200 604800 10800"), TTL min(SOA TTL, MINIMUM)
 * (RFC 2308). Then the OPT from o. Names are written uncompressed or
 * compressed, either is fine. Returns the length, 0 when cap is too small.
 */
size_t local_build_answer(uint8_t *out, size_t cap, const struct dns_query *q,
                          const struct local_data *ld,
                          const struct local_zone *zone,
                          enum local_result result,
                          const struct dns_opt_out *o);
/* True when name is at or under one of ld's zones (for rebind checks). */
bool local_covers(const struct local_data *ld, const uint8_t *name);
const char *local_zone_type_name(int type);

#endif
