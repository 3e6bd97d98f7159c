/*
 * views/view.c — view selection (BIND: first view whose lists match wins).
 */
#include "views/view.h"

#include <stdlib.h>

static bool
view_matches(const struct view_conf *v, const struct ip_addr *client,
	     const struct ip_addr *dest)
{
	if (v->has_match_client && !acl_allows(&v->match_client, client))
		return false;
	if (v->has_match_destination &&
	    (dest == NULL || !acl_allows(&v->match_destination, dest)))
		return false;
	return true;
}

const struct view_conf *
view_select(struct view_conf *const *views, size_t n,
	    const struct ip_addr *client, const struct ip_addr *dest)
{
	for (size_t i = 0; i < n; i++)
		if (view_matches(views[i], client, dest))
			return views[i];
	return NULL;
}

void
view_free(struct view_conf *v)
{
	acl_free(&v->match_client);
	acl_free(&v->match_destination);
	for (size_t i = 0; i < v->nrules; i++)
		acl_free(&v->rules[i].match);
	free(v->rules);
	local_free(&v->local);
	free(v->upstream_name);
	free(v->name);
	free(v);
}
