/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/views/test_view.c — view selection (dnsgate.conf(5), [view NAME]):
 * views are tried in file order and the first whose criteria all accept the
 * query wins; a view without criteria matches every client; a match-client list
 * rejects through a matching '!' element; match-transport narrows a view to
 * some transports; no match gives NULL (the pipeline then refuses).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "views/view.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_VIEWS    8

/* name, match-client (NULL: no criterion), match-destination (NULL: none) */
struct view_text {
	const char *name;
	const char *client;
	const char *dest;
};

struct views {
	struct view_conf *v[MAX_VIEWS];
	size_t n;
};

static void
views_build(struct views *vs, const struct view_text *t, size_t n)
{
	const char *bad;
	size_t i;

	assert_true(n <= MAX_VIEWS);
	memset(vs, 0, sizeof(*vs));
	for (i = 0; i < n; i++) {
		struct view_conf *v = calloc(1, sizeof(*v));

		assert_non_null(v);
		v->name = strdup(t[i].name);
		assert_non_null(v->name);
		v->index = (unsigned)i;
		if (t[i].client != NULL) {
			v->has_match_client = true;
			assert_int_equal(acl_parse_append(&v->match_client,
			                                  t[i].client, &bad),
			                 0);
		}
		if (t[i].dest != NULL) {
			v->has_match_destination = true;
			assert_int_equal(acl_parse_append(&v->match_destination,
			                                  t[i].dest, &bad),
			                 0);
		}
		vs->v[i] = v;
	}
	vs->n = n;
}

static void
views_free(struct views *vs)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		view_free(vs->v[i]);
}

/* Name of the chosen view, or NULL. */
static const char *
pick(const struct views *vs, const char *client, const char *dest)
{
	struct ip_addr c, d;
	const struct view_conf *v;

	assert_int_equal(ip_addr_parse(client, &c), 0);
	if (dest != NULL)
		assert_int_equal(ip_addr_parse(dest, &d), 0);
	v = view_select(vs->v, vs->n, &c, dest != NULL ? &d : NULL,
	                TRANSPORT_UDP, NULL);
	return v != NULL ? v->name : NULL;
}

static void
assert_pick(const struct views *vs, const char *client, const char *dest,
            const char *want)
{
	const char *got = pick(vs, client, dest);

	if (want == NULL) {
		if (got != NULL)
			print_error("%s: got view %s, want none\n", client,
			            got);
		assert_null(got);
		return;
	}
	if (got == NULL)
		print_error("%s: got no view, want %s\n", client, want);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void
test_view_first_match_wins(void **state)
{
	static const struct view_text t[] = {
	    {"corp", "10.0.0.0/8", NULL},
	    {"lab", "10.1.0.0/16", NULL}, /* shadowed by corp */
	    {"rest", NULL, NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	assert_pick(&vs, "10.1.2.3", NULL, "corp");
	assert_pick(&vs, "10.200.0.1", NULL, "corp");
	assert_pick(&vs, "192.0.2.1", NULL, "rest");
	views_free(&vs);
}

static void
test_view_without_criteria_matches_all(void **state)
{
	static const struct view_text t[] = {
	    {"all", NULL, NULL},
	    {"never-reached", "any", NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	assert_pick(&vs, "10.1.2.3", NULL, "all");
	assert_pick(&vs, "0.0.0.0", NULL, "all");
	assert_pick(&vs, "2001:db8::1", NULL, "all");
	assert_pick(&vs, "::1", "::1", "all");
	views_free(&vs);
}

static void
test_view_match_client_negation(void **state)
{
	static const struct view_text t[] = {
	    {"corp", "!10.66.0.0/16, 10.0.0.0/8", NULL},
	    {"guest", "10.66.0.0/16", NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	assert_pick(&vs, "10.1.2.3", NULL, "corp");
	/* The '!' element matches first: corp rejects, guest is tried. */
	assert_pick(&vs, "10.66.1.1", NULL, "guest");
	assert_pick(&vs, "10.66.255.255", NULL, "guest");
	assert_pick(&vs, "10.67.0.0", NULL, "corp");
	views_free(&vs);
}

static void
test_view_negation_only_list_matches_nothing(void **state)
{
	static const struct view_text t[] = {
	    /* BIND: "!x" alone accepts no one (no element accepts). */
	    {"notx", "!10.66.0.0/16", NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	assert_pick(&vs, "10.66.0.1", NULL, NULL);
	assert_pick(&vs, "10.1.0.1", NULL, NULL);
	views_free(&vs);
}

static void
test_view_no_match_is_null(void **state)
{
	static const struct view_text t[] = {
	    {"corp", "10.0.0.0/8", NULL},
	    {"home", "192.168.0.0/16", NULL},
	    {"nobody", "none", NULL},
	};
	struct views vs;
	struct ip_addr c;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	assert_pick(&vs, "192.0.2.1", NULL, NULL);
	assert_pick(&vs, "2001:db8::1", NULL, NULL);
	views_free(&vs);
	/* No views at all. */
	assert_int_equal(ip_addr_parse("10.0.0.1", &c), 0);
	assert_null(view_select(NULL, 0, &c, NULL, TRANSPORT_UDP, NULL));
}

static void
test_view_v4_and_v6_clients(void **state)
{
	static const struct view_text t[] = {
	    {"v6lab", "2001:db8:1::/48", NULL},
	    {"v6", "2001:db8::/32, ::1", NULL},
	    {"v4", "192.0.2.0/24, 127.0.0.1", NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	assert_pick(&vs, "2001:db8:1::53", NULL, "v6lab");
	assert_pick(&vs, "2001:db8:2::53", NULL, "v6");
	assert_pick(&vs, "::1", NULL, "v6");
	assert_pick(&vs, "192.0.2.200", NULL, "v4");
	assert_pick(&vs, "127.0.0.1", NULL, "v4");
	/* Neither family leaks into the other. */
	assert_pick(&vs, "127.0.0.2", NULL, NULL);
	assert_pick(&vs, "2001:db9::1", NULL, NULL);
	views_free(&vs);
}

/* An IPv4 client seen on a dual-stack socket (::ffff:192.0.2.9). */
static void
test_view_v4_mapped_client_from_socket(void **state)
{
	static const struct view_text t[] = {
	    {"v6", "2001:db8::/32", NULL},
	    {"v4", "192.0.2.0/24", NULL},
	};
	struct sockaddr_in6 sa;
	struct views vs;
	struct ip_addr c;
	const struct view_conf *v;
	uint16_t port;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons(5353);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.9", &sa.sin6_addr),
	                 1);
	assert_int_equal(
	    ip_addr_from_sockaddr((const struct sockaddr *)&sa, &c, &port), 0);
	assert_int_equal(port, 5353);
	v = view_select(vs.v, vs.n, &c, NULL, TRANSPORT_UDP, NULL);
	assert_non_null(v);
	assert_string_equal(v->name, "v4");
	views_free(&vs);
}

static void
test_view_match_destination(void **state)
{
	static const struct view_text t[] = {
	    {"inside", "10.0.0.0/8", "10.0.0.1"},
	    {"outside", NULL, NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	/* Both criteria must accept. */
	assert_pick(&vs, "10.1.1.1", "10.0.0.1", "inside");
	assert_pick(&vs, "10.1.1.1", "192.0.2.1", "outside");
	assert_pick(&vs, "192.0.2.9", "10.0.0.1", "outside");
	/* Destination unknown: a destination criterion cannot accept. */
	assert_pick(&vs, "10.1.1.1", NULL, "outside");
	views_free(&vs);
}

/* The view chosen for a query from client over transport t, or NULL. */
static const char *
pick_on(const struct views *vs, const char *client, enum transport t)
{
	struct ip_addr c;
	const struct view_conf *v;

	assert_int_equal(ip_addr_parse(client, &c), 0);
	v = view_select(vs->v, vs->n, &c, NULL, t, NULL);
	return v != NULL ? v->name : NULL;
}

static void
assert_pick_on(const struct views *vs, const char *client, enum transport t,
               const char *want)
{
	const char *got = pick_on(vs, client, t);

	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		print_error("%s over %s: got view %s, want %s\n", client,
		            transport_name(t), got != NULL ? got : "none",
		            want != NULL ? want : "none");
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

/* match-transport (bits of enum transport) with the other criteria. */
static void
test_view_match_transport(void **state)
{
	static const struct view_text t[] = {
	    {"doh-corp", "10.0.0.0/8", NULL},
	    {"encrypted", NULL, NULL},
	    {"tcp", NULL, NULL},
	    {"rest", NULL, NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	vs.v[0]->match_transport = 1u << TRANSPORT_HTTPS;
	vs.v[1]->match_transport =
	    (1u << TRANSPORT_TLS) | (1u << TRANSPORT_HTTPS);
	vs.v[2]->match_transport = 1u << TRANSPORT_TCP;
	/* Both criteria must accept. */
	assert_pick_on(&vs, "10.1.1.1", TRANSPORT_HTTPS, "doh-corp");
	assert_pick_on(&vs, "192.0.2.1", TRANSPORT_HTTPS, "encrypted");
	assert_pick_on(&vs, "10.1.1.1", TRANSPORT_TLS, "encrypted");
	assert_pick_on(&vs, "::1", TRANSPORT_TLS, "encrypted");
	assert_pick_on(&vs, "10.1.1.1", TRANSPORT_TCP, "tcp");
	/* No transport bit set: any transport. */
	assert_pick_on(&vs, "10.1.1.1", TRANSPORT_UDP, "rest");
	assert_pick_on(&vs, "192.0.2.1", TRANSPORT_UDP, "rest");
	views_free(&vs);
}

/* Views only for some transports: a query over another one has none. */
static void
test_view_match_transport_no_match(void **state)
{
	static const struct view_text t[] = {
	    {"plain", NULL, NULL},
	    {"dot", "127.0.0.0/8", NULL},
	};
	struct views vs;

	(void)state;
	views_build(&vs, t, ARRAY_LEN(t));
	vs.v[0]->match_transport =
	    (1u << TRANSPORT_UDP) | (1u << TRANSPORT_TCP);
	vs.v[1]->match_transport = 1u << TRANSPORT_TLS;
	assert_pick_on(&vs, "127.0.0.1", TRANSPORT_UDP, "plain");
	assert_pick_on(&vs, "127.0.0.1", TRANSPORT_TLS, "dot");
	assert_pick_on(&vs, "192.0.2.1", TRANSPORT_TLS, NULL);
	assert_pick_on(&vs, "127.0.0.1", TRANSPORT_HTTPS, NULL);
	views_free(&vs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_view_first_match_wins),
	    cmocka_unit_test(test_view_without_criteria_matches_all),
	    cmocka_unit_test(test_view_match_client_negation),
	    cmocka_unit_test(test_view_negation_only_list_matches_nothing),
	    cmocka_unit_test(test_view_no_match_is_null),
	    cmocka_unit_test(test_view_v4_and_v6_clients),
	    cmocka_unit_test(test_view_v4_mapped_client_from_socket),
	    cmocka_unit_test(test_view_match_destination),
	    cmocka_unit_test(test_view_match_transport),
	    cmocka_unit_test(test_view_match_transport_no_match),
	};

	return cmocka_run_group_tests_name("views view", tests, NULL, NULL);
}
