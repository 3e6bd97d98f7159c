/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/acl.h — a view's access control: ordered allow / refuse / drop
 * rules, each an address match list (dnsgate.conf(5), "View access
 * control").
 */
#ifndef POLICY_ACL_H
#define POLICY_ACL_H

#include <stddef.h>

#include "dns/addr.h"

enum acl_action {
	ACL_ACTION_ALLOW = 1,
	ACL_ACTION_REFUSE,
	ACL_ACTION_DROP,
};

struct acl_rule {
	int action; /* enum acl_action */
	struct acl match;
	int line; /* where it was configured, for messages */
};

struct acl_verdict {
	enum acl_action action;
	int rule; /* 1-based index of the deciding rule; 0 = the default */
};

/*
 * Evaluate rules in order; the first whose list accepts the client decides
 * (a list that rejects the client through a negated element does not apply).
 * No rules: allow. Rules but none applies: refuse (rule 0).
 */
struct acl_verdict acl_rules_check(const struct acl_rule *rules, size_t n,
                                   const struct ip_addr *client);
const char *acl_action_name(enum acl_action a);

#endif
