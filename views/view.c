/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/view.c — view selection (BIND: first view whose lists match wins).
 */
#include "views/view.h"

#include <stdlib.h>
#include <string.h>

#include "policy/blocklist.h"
#include "views/geoip.h"

/* match-country: the client's country (from [geoip] database) is listed. */
static bool
view_country_matches(const struct view_conf *v, const struct geoip *geo,
                     const struct ip_addr *client)
{
	char cc[3];

	if (!geoip_country(geo, client, cc))
		return false;
	for (size_t i = 0; i < v->ncountries; i++)
		if (memcmp(v->countries[i], cc, 2) == 0)
			return true;
	return false;
}

static bool
view_asn_matches(const struct view_conf *v, const struct geoip *geo,
                 const struct ip_addr *client)
{
	uint32_t asn;

	if (!geoip_asn(geo, client, &asn))
		return false;
	for (size_t i = 0; i < v->nasns; i++)
		if (v->asns[i] == asn)
			return true;
	return false;
}

static bool
view_matches(const struct view_conf *v, const struct ip_addr *client,
             const struct ip_addr *dest, enum transport transport,
             const struct geoip *geo)
{
	if (v->match_transport != 0 &&
	    !(v->match_transport & (1u << transport)))
		return false;
	if (v->has_match_client && !acl_allows(&v->match_client, client))
		return false;
	if (v->has_match_destination &&
	    (dest == NULL || !acl_allows(&v->match_destination, dest)))
		return false;
	if (v->ncountries > 0 && !view_country_matches(v, geo, client))
		return false;
	if (v->nasns > 0 && !view_asn_matches(v, geo, client))
		return false;
	return true;
}

const struct view_conf *
view_select(struct view_conf *const *views, size_t n,
            const struct ip_addr *client, const struct ip_addr *dest,
            enum transport transport, const struct geoip *geo)
{
	for (size_t i = 0; i < n; i++)
		if (view_matches(views[i], client, dest, transport, geo))
			return views[i];
	return NULL;
}

bool
view_forwards(const struct view_conf *v)
{
	return v->upstream != NULL || v->forward.n > 0;
}

void
view_free(struct view_conf *v)
{
	acl_free(&v->match_client);
	acl_free(&v->match_destination);
	acl_free(&v->allow_transfer);
	for (size_t i = 0; i < v->nrules; i++)
		acl_free(&v->rules[i].match);
	free(v->rules);
	for (size_t i = 0; i < v->nblocklists; i++)
		free(v->blocklists[i]);
	for (size_t i = 0; i < v->nallowlists; i++)
		free(v->allowlists[i]);
	free(v->blocklists);
	free(v->blocklist_lines);
	free(v->allowlists);
	free(v->allowlist_lines);
	blockset_free(v->blocks);
	for (size_t i = 0;
	     v->lists != NULL && i < v->nblocklists + v->nallowlists; i++)
		blocklist_free(v->lists[i]);
	free(v->lists);
	free(v->countries);
	free(v->asns);
	local_free(&v->local);
	forward_free(&v->forward);
	free(v->upstream_name);
	free(v->name);
	free(v);
}
