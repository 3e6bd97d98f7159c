/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/policy/test_acl.c — view ACL evaluation (dnsgate.conf(5), "View
 * access control"): rules in file order, first applying rule decides, a rule
 * whose list rejects the client through a '!' element does not apply, no rules
 * allow, rules that all miss refuse (rule 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/acl.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RULES    8

struct rule_text {
	enum acl_action action;
	const char *list;
};

struct rules {
	struct acl_rule r[MAX_RULES];
	size_t n;
};

static void
rules_build(struct rules *rs, const struct rule_text *t, size_t n)
{
	const char *bad;
	size_t i;

	assert_true(n <= MAX_RULES);
	memset(rs, 0, sizeof(*rs));
	for (i = 0; i < n; i++) {
		rs->r[i].action = t[i].action;
		rs->r[i].line = (int)i + 10;
		bad = NULL;
		assert_int_equal(
		    acl_parse_append(&rs->r[i].match, t[i].list, &bad), 0);
	}
	rs->n = n;
}

static void
rules_free(struct rules *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		acl_free(&rs->r[i].match);
}

static struct acl_verdict
check(const struct rules *rs, const char *client)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(client, &a), 0);
	return acl_rules_check(rs->r, rs->n, &a);
}

static void
assert_verdict(const struct rules *rs, const char *client,
               enum acl_action action, int rule)
{
	struct acl_verdict v = check(rs, client);

	if (v.action != action || v.rule != rule)
		print_error("%s: got %s rule %d, want %s rule %d\n", client,
		            acl_action_name(v.action), v.rule,
		            acl_action_name(action), rule);
	assert_int_equal(v.action, action);
	assert_int_equal(v.rule, rule);
}

static void
test_acl_no_rules_allow_rule_0(void **state)
{
	struct rules rs = {0};

	(void)state;
	assert_verdict(&rs, "192.0.2.1", ACL_ACTION_ALLOW, 0);
	assert_verdict(&rs, "2001:db8::1", ACL_ACTION_ALLOW, 0);
	/* NULL rules with n 0 is the view without ACL lines. */
	{
		struct ip_addr a;
		struct acl_verdict v;

		assert_int_equal(ip_addr_parse("10.0.0.1", &a), 0);
		v = acl_rules_check(NULL, 0, &a);
		assert_int_equal(v.action, ACL_ACTION_ALLOW);
		assert_int_equal(v.rule, 0);
	}
}

static void
test_acl_rules_without_match_refuse_rule_0(void **state)
{
	static const struct rule_text t[] = {
	    {ACL_ACTION_ALLOW, "10.0.0.0/8"},
	    {ACL_ACTION_DROP, "192.168.0.0/16"},
	};
	struct rules rs;

	(void)state;
	rules_build(&rs, t, ARRAY_LEN(t));
	assert_verdict(&rs, "192.0.2.1", ACL_ACTION_REFUSE, 0);
	assert_verdict(&rs, "2001:db8::1", ACL_ACTION_REFUSE, 0);
	rules_free(&rs);
}

static void
test_acl_first_applying_rule_decides_in_order(void **state)
{
	static const struct rule_text t[] = {
	    {ACL_ACTION_REFUSE, "10.1.0.0/16"},
	    {ACL_ACTION_ALLOW, "10.0.0.0/8"},
	    {ACL_ACTION_DROP, "10.2.0.0/16, 192.0.2.0/24"},
	    {ACL_ACTION_ALLOW, "any"},
	};
	struct rules rs;

	(void)state;
	rules_build(&rs, t, ARRAY_LEN(t));
	/* Rule 1 before rule 2 although both contain the client. */
	assert_verdict(&rs, "10.1.2.3", ACL_ACTION_REFUSE, 1);
	/* Rule 2 shadows rule 3 for 10.2/16. */
	assert_verdict(&rs, "10.2.0.1", ACL_ACTION_ALLOW, 2);
	assert_verdict(&rs, "192.0.2.9", ACL_ACTION_DROP, 3);
	assert_verdict(&rs, "198.51.100.1", ACL_ACTION_ALLOW, 4);
	assert_verdict(&rs, "2001:db8::1", ACL_ACTION_ALLOW, 4);
	rules_free(&rs);
}

static void
test_acl_negated_element_makes_rule_not_apply(void **state)
{
	static const struct rule_text t[] = {
	    /* Rejects 10.66/16 through '!': the rule does not apply. */
	    {ACL_ACTION_ALLOW, "!10.66.0.0/16, 10.0.0.0/8"},
	    {ACL_ACTION_DROP, "10.66.1.0/24"},
	};
	struct rules rs;

	(void)state;
	rules_build(&rs, t, ARRAY_LEN(t));
	assert_verdict(&rs, "10.5.5.5", ACL_ACTION_ALLOW, 1);
	/* Evaluation continues with rule 2... */
	assert_verdict(&rs, "10.66.1.7", ACL_ACTION_DROP, 2);
	/* ...and a client no later rule accepts is refused, rule 0. */
	assert_verdict(&rs, "10.66.2.7", ACL_ACTION_REFUSE, 0);
	rules_free(&rs);
}

static void
test_acl_negated_any_rule_never_applies(void **state)
{
	static const struct rule_text t[] = {
	    {ACL_ACTION_DROP, "!any"},
	    {ACL_ACTION_REFUSE, "none"},
	    {ACL_ACTION_ALLOW, "!192.0.2.1, any"},
	};
	struct rules rs;

	(void)state;
	rules_build(&rs, t, ARRAY_LEN(t));
	assert_verdict(&rs, "192.0.2.2", ACL_ACTION_ALLOW, 3);
	assert_verdict(&rs, "192.0.2.1", ACL_ACTION_REFUSE, 0);
	rules_free(&rs);
}

static void
test_acl_ipv6_rules(void **state)
{
	static const struct rule_text t[] = {
	    {ACL_ACTION_DROP, "2001:db8:bad::/48"},
	    {ACL_ACTION_ALLOW, "2001:db8::/32, ::1"},
	};
	struct rules rs;

	(void)state;
	rules_build(&rs, t, ARRAY_LEN(t));
	assert_verdict(&rs, "2001:db8:bad::1", ACL_ACTION_DROP, 1);
	assert_verdict(&rs, "2001:db8:1::1", ACL_ACTION_ALLOW, 2);
	assert_verdict(&rs, "::1", ACL_ACTION_ALLOW, 2);
	/* An IPv4 client never matches an IPv6 prefix. */
	assert_verdict(&rs, "192.0.2.1", ACL_ACTION_REFUSE, 0);
	assert_verdict(&rs, "2001:db9::1", ACL_ACTION_REFUSE, 0);
	rules_free(&rs);
}

static void
test_acl_action_names(void **state)
{
	(void)state;
	assert_string_equal(acl_action_name(ACL_ACTION_ALLOW), "allow");
	assert_string_equal(acl_action_name(ACL_ACTION_REFUSE), "refuse");
	assert_string_equal(acl_action_name(ACL_ACTION_DROP), "drop");
	assert_string_equal(acl_action_name((enum acl_action)0), "?");
	assert_string_equal(acl_action_name((enum acl_action)42), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acl_no_rules_allow_rule_0),
	    cmocka_unit_test(test_acl_rules_without_match_refuse_rule_0),
	    cmocka_unit_test(test_acl_first_applying_rule_decides_in_order),
	    cmocka_unit_test(test_acl_negated_element_makes_rule_not_apply),
	    cmocka_unit_test(test_acl_negated_any_rule_never_applies),
	    cmocka_unit_test(test_acl_ipv6_rules),
	    cmocka_unit_test(test_acl_action_names),
	};

	return cmocka_run_group_tests_name("policy acl", tests, NULL, NULL);
}
