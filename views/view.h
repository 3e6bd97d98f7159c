/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/view.h — split-horizon views: which view a query belongs to.
 */
#ifndef VIEWS_VIEW_H
#define VIEWS_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/addr.h"
#include "policy/acl.h"
#include "policy/decision.h"
#include "views/forward.h"
#include "views/local.h"

struct upstream_conf;
struct geoip;
struct blockset;
struct blocklist;

struct view_conf {
	char *name;
	int line;
	unsigned index; /* position in the config, for per-view counters */
	struct acl match_client;
	bool has_match_client;
	struct acl match_destination;
	bool has_match_destination;
	unsigned match_transport; /* bit 1 << enum transport; 0: any */
	char (*countries)[3];     /* match-country: ISO 3166 alpha-2 codes */
	size_t ncountries;
	uint32_t *asns; /* match-asn */
	size_t nasns;
	char *upstream_name;
	struct upstream_conf *upstream; /* resolved after parsing */
	struct acl_rule *rules;         /* allow / refuse / drop, in order */
	size_t nrules;
	struct local_data local; /* local-zone and local-data */
	bool rebind_protection;
	struct acl allow_transfer; /* AXFR/IXFR over TCP; default none */
	/* blocklist / allowlist files (as configured), their combined
	 * index, and block-action */
	char **blocklists;
	int *blocklist_lines;
	size_t nblocklists;
	char **allowlists;
	int *allowlist_lines;
	size_t nallowlists;
	struct blockset *blocks;
	/* The lists blocks was made of (blocklists, then allowlists), kept
	 * only in a view with a list named by URL, for a download to rebuild
	 * blocks (proxy/listfetch.c); NULL otherwise. */
	struct blocklist **lists;
	int block_policy; /* enum block_policy */
	struct ip_addr block_redirect;
	/* forward-zone lines: names under a suffix go to another group than
	 * upstream (views/forward.h) */
	struct forward_zones forward;
};

/*
 * First view, in order, whose match criteria all accept the query (a view
 * without criteria matches everything); NULL when none does. geo may be
 * NULL when no view uses match-country / match-asn.
 */
const struct view_conf *view_select(struct view_conf *const *views, size_t n,
                                    const struct ip_addr *client,
                                    const struct ip_addr *dest,
                                    enum transport transport,
                                    const struct geoip *geo);
/*
 * The upstream group for qname: the view's longest forward-zone containing
 * it (in *zone; NULL when none does), else the view's upstream. NULL: the
 * view forwards nothing there (upstream = none).
 */
static inline const struct upstream_conf *
view_route(const struct view_conf *v, const uint8_t *qname,
           const struct forward_zone **zone)
{
	/* Inline: a view without forward-zones pays this one test. */
	const struct forward_zone *z =
	    v->forward.n > 0 ? forward_find(&v->forward, qname) : NULL;

	*zone = z;
	return z != NULL ? z->group : v->upstream;
}
/* True when the view forwards some names: an upstream or a forward-zone. */
bool view_forwards(const struct view_conf *v);
/* Free what the view owns, and the view. */
void view_free(struct view_conf *v);

#endif
