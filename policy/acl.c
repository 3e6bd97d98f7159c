/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/acl.c — view ACL evaluation.
 */
#include "policy/acl.h"

struct acl_verdict
acl_rules_check(const struct acl_rule *rules, size_t n,
                const struct ip_addr *client)
{
	struct acl_verdict v = {.action = ACL_ACTION_ALLOW, .rule = 0};

	if (n == 0)
		return v;
	for (size_t i = 0; i < n; i++) {
		if (acl_match(&rules[i].match, client) == ACL_ACCEPT) {
			v.action = rules[i].action;
			v.rule = (int)i + 1;
			return v;
		}
	}
	/* With ACL lines, a client matching none is refused (dnsgate.conf(5),
	 * "View access control"). */
	v.action = ACL_ACTION_REFUSE;
	return v;
}

const char *
acl_action_name(enum acl_action a)
{
	switch (a) {
	case ACL_ACTION_ALLOW:
		return "allow";
	case ACL_ACTION_REFUSE:
		return "refuse";
	case ACL_ACTION_DROP:
		return "drop";
	}
	return "?";
}
