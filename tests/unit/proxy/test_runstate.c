/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/proxy/test_runstate.c — runtime records across a reload:
 * servers matched by group and address keep their health and counters,
 * new or re-listed servers start afresh, round-robin positions and view
 * counters carry over by name, and records outlive the runstate that
 * made them while another still holds them; a view's index rebuilt
 * after a list download carries over within one configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "policy/blocklist.h"
#include "proxy/runstate.h"

static struct runstate *
bind_text(const char *text, const struct runstate *prev)
{
	struct config *c = config_load_string("t.conf", text, stderr);
	struct runstate *rs;
	char err[256];

	assert_non_null(c);
	rs = runstate_new(c, prev, err, sizeof(err));
	assert_non_null(rs);
	config_unref(c); /* rs holds its own reference */
	return rs;
}

#define LISTEN "[server]\nlisten = 127.0.0.1:5300\n"

static const char two_servers[] = LISTEN "[upstream up]\n"
                                         "server = 192.0.2.1\n"
                                         "server = 192.0.2.2\n"
                                         "[view v]\nupstream = up\n";

static struct server_state *
server(const struct runstate *rs, size_t group, size_t i)
{
	return runstate_server(rs, rs->conf->upstreams[group], i);
}

static void
test_runstate_fresh_records(void **state)
{
	struct runstate *rs = bind_text(two_servers, NULL);

	assert_int_equal(rs->conf->nupstreams, 1);
	assert_ptr_not_equal(server(rs, 0, 0), server(rs, 0, 1));
	assert_false(atomic_load(&server(rs, 0, 0)->health.down));
	assert_int_equal(atomic_load(&server(rs, 0, 1)->health.srtt_us), 0);
	assert_int_equal(STAT_GET(server(rs, 0, 0)->stats.queries), 0);
	assert_int_equal(rs->conf->nviews, 1);
	assert_ptr_not_equal(runstate_view_stats(rs, rs->conf->views[0]),
	                     runstate_view_stats(rs, NULL));
	runstate_unref(rs);
}

/* The record of why a server is down: failures by kind, saturating. */
static void
test_runstate_failure_streak(void **state)
{
	struct runstate *rs = bind_text(two_servers, NULL);
	struct server_health *h = &server(rs, 0, 0)->health;

	assert_true(atomic_load(&h->since_ms) > 0); /* up since made */
	assert_int_equal(atomic_load(&h->last_failure), 0);
	server_health_failed(h, UPERR_TIMEOUT);
	server_health_failed(h, UPERR_SERVFAIL);
	server_health_failed(h, UPERR_TIMEOUT);
	server_health_failed(h, UPERR_REFUSED);
	assert_int_equal(server_health_streak(h, UPERR_TIMEOUT), 2);
	assert_int_equal(server_health_streak(h, UPERR_NETWORK), 0);
	assert_int_equal(server_health_streak(h, UPERR_SERVFAIL), 1);
	assert_int_equal(server_health_streak(h, UPERR_REFUSED), 1);
	assert_int_equal(atomic_load(&h->last_failure), UPERR_REFUSED + 1);
	/* Mismatched answers are not failures of the server. */
	server_health_failed(h, UPERR_MISMATCH);
	assert_int_equal(server_health_streak(h, UPERR_MISMATCH), 0);
	assert_int_equal(atomic_load(&h->last_failure), UPERR_REFUSED + 1);
	/* A count stops at its maximum instead of carrying into the next
	 * kind's. */
	for (unsigned i = 0; i < 70000; i++)
		server_health_failed(h, UPERR_NETWORK);
	assert_int_equal(server_health_streak(h, UPERR_NETWORK), 65535);
	assert_int_equal(server_health_streak(h, UPERR_SERVFAIL), 1);
	/* An answer ends the streak; the last kind stays. */
	server_health_answered(h);
	for (int k = 0; k < UPERR_COUNT_; k++)
		assert_int_equal(server_health_streak(h, k), 0);
	assert_int_equal(atomic_load(&h->last_failure), UPERR_NETWORK + 1);
	runstate_unref(rs);
}

static void
test_runstate_reload_keeps_servers_by_address(void **state)
{
	struct runstate *a = bind_text(two_servers, NULL);
	struct runstate *b;

	atomic_store(&server(a, 0, 1)->health.down, true);
	STAT_SHARED_INC(server(a, 0, 1)->stats.queries);
	atomic_store(&runstate_group(a, a->conf->upstreams[0])->rr_next, 7);
	/* Reordered, one new server, another option changed. */
	b = bind_text(LISTEN "[upstream up]\n"
	                     "server = 192.0.2.2\n"
	                     "server = 192.0.2.3\n"
	                     "server = 192.0.2.1\n"
	                     "timeout = 2s\n"
	                     "[view v]\nupstream = up\n",
	              a);
	assert_ptr_equal(server(b, 0, 0), server(a, 0, 1));
	assert_true(atomic_load(&server(b, 0, 0)->health.down));
	assert_int_equal(STAT_GET(server(b, 0, 0)->stats.queries), 1);
	assert_ptr_equal(server(b, 0, 2), server(a, 0, 0));
	assert_false(atomic_load(&server(b, 0, 1)->health.down));
	assert_int_equal(
	    atomic_load(&runstate_group(b, b->conf->upstreams[0])->rr_next), 7);
	/* The old state goes; the shared records stay with the new. */
	runstate_unref(a);
	assert_true(atomic_load(&server(b, 0, 0)->health.down));
	runstate_unref(b);
}

static void
test_runstate_port_and_group_are_part_of_the_key(void **state)
{
	struct runstate *a = bind_text(two_servers, NULL);
	struct runstate *b;

	atomic_store(&server(a, 0, 0)->health.down, true);
	b = bind_text(LISTEN "[upstream up]\n"
	                     "server = 192.0.2.1:5353\n"
	                     "[upstream other]\n"
	                     "server = 192.0.2.1\n"
	                     "[view v]\nupstream = up\n",
	              a);
	assert_false(atomic_load(&server(b, 0, 0)->health.down));
	assert_false(atomic_load(&server(b, 1, 0)->health.down));
	runstate_unref(a);
	runstate_unref(b);
}

static void
test_runstate_removed_server_starts_afresh(void **state)
{
	struct runstate *a = bind_text(two_servers, NULL);
	struct runstate *b, *c;

	atomic_store(&server(a, 0, 0)->health.down, true);
	b = bind_text(LISTEN "[upstream up]\nserver = 192.0.2.2\n"
	                     "[view v]\nupstream = up\n",
	              a);
	runstate_unref(a);
	c = bind_text(two_servers, b);
	assert_false(atomic_load(&server(c, 0, 0)->health.down));
	runstate_unref(b);
	runstate_unref(c);
}

static void
test_runstate_duplicate_server_is_one_record(void **state)
{
	struct runstate *rs = bind_text(LISTEN "[upstream up]\n"
	                                       "server = 192.0.2.1\n"
	                                       "server = 192.0.2.1\n"
	                                       "[view v]\nupstream = up\n",
	                                NULL);

	assert_ptr_equal(server(rs, 0, 0), server(rs, 0, 1));
	runstate_unref(rs);
}

static void
test_runstate_view_counters_by_name(void **state)
{
	struct runstate *a = bind_text(LISTEN "[upstream up]\n"
	                                      "server = 192.0.2.1\n"
	                                      "[view one]\nupstream = up\n"
	                                      "[view two]\nupstream = up\n",
	                               NULL);
	struct runstate *b;

	STAT_SHARED_INC(
	    runstate_view_stats(a, a->conf->views[1])->actions[ACTION_FORWARD]);
	STAT_SHARED_INC(runstate_view_stats(a, NULL)->actions[ACTION_FORMERR]);
	b = bind_text(LISTEN "[upstream up]\n"
	                     "server = 192.0.2.1\n"
	                     "[view two]\nupstream = up\n"
	                     "[view three]\nupstream = up\n",
	              a);
	assert_int_equal(STAT_GET(runstate_view_stats(b, b->conf->views[0])
	                              ->actions[ACTION_FORWARD]),
	                 1);
	assert_int_equal(STAT_GET(runstate_view_stats(b, b->conf->views[1])
	                              ->actions[ACTION_FORWARD]),
	                 0);
	assert_int_equal(
	    STAT_GET(runstate_view_stats(b, NULL)->actions[ACTION_FORMERR]), 1);
	runstate_unref(a);
	runstate_unref(b);
}

/* A view forwarding to [inet], corp.example to [dc]; [lab] unused. */
#define FWD_HEAD                                       \
	LISTEN "[cache]\nsize = 1MB\n"                 \
	       "[upstream inet]\nserver = 192.0.2.1\n" \
	       "[upstream lab]\nserver = 192.0.2.30\n"
#define FWD_VIEW "[view v]\nupstream = inet\nforward-zone = corp.example dc\n"

static const char fwd_base[] =
    FWD_HEAD "[upstream dc]\nserver = 192.0.2.10\n" FWD_VIEW;

/* Whether a reload from fwd_base to text keeps the view's cache. */
static bool
fwd_reload_keeps_cache(const char *text)
{
	struct runstate *a = bind_text(fwd_base, NULL);
	struct runstate *b = bind_text(text, a);
	bool kept;

	assert_non_null(a->cache_of[0]);
	assert_non_null(b->cache_of[0]);
	kept = a->cache_of[0] == b->cache_of[0];
	runstate_unref(a);
	runstate_unref(b);
	return kept;
}

/*
 * A reload keeps a view's cache while everything it forwards to is the
 * same: its upstream, its forward-zones, and the servers of each group
 * it names. Groups it does not use do not matter.
 */
static void
test_runstate_cache_follows_forward_zones(void **state)
{
	struct runstate *rs;

	(void)state;
	assert_true(fwd_reload_keeps_cache(fwd_base));
	/* [lab] is not the view's: its servers do not matter. */
	assert_true(fwd_reload_keeps_cache(
	    LISTEN "[cache]\nsize = 1MB\n"
	           "[upstream inet]\nserver = 192.0.2.1\n"
	           "[upstream lab]\nserver = 192.0.2.31\n"
	           "[upstream dc]\nserver = 192.0.2.10\n" FWD_VIEW));
	/* The forward-zone's group has another server. */
	assert_false(fwd_reload_keeps_cache(
	    FWD_HEAD "[upstream dc]\nserver = 192.0.2.11\n" FWD_VIEW));
	/* The suffix goes to another group. */
	assert_false(fwd_reload_keeps_cache(
	    FWD_HEAD "[upstream dc]\nserver = 192.0.2.10\n"
	             "[view v]\nupstream = inet\n"
	             "forward-zone = corp.example lab\n"));
	/* Another suffix. */
	assert_false(fwd_reload_keeps_cache(
	    FWD_HEAD "[upstream dc]\nserver = 192.0.2.10\n"
	             "[view v]\nupstream = inet\n"
	             "forward-zone = corp2.example dc\n"));
	/* One more forward-zone; or none at all. */
	assert_false(fwd_reload_keeps_cache(
	    FWD_HEAD "[upstream dc]\nserver = 192.0.2.10\n" FWD_VIEW
	             "forward-zone = 10.in-addr.arpa dc\n"));
	assert_false(fwd_reload_keeps_cache(
	    FWD_HEAD "[upstream dc]\nserver = 192.0.2.10\n"
	             "[view v]\nupstream = inet\n"));

	/* A view that forwards only through forward-zones has a cache; one
	 * that forwards nothing has none. */
	rs = bind_text(FWD_HEAD "[upstream dc]\nserver = 192.0.2.10\n"
	                        "[view a]\nupstream = none\n"
	                        "forward-zone = corp.example dc\n"
	                        "[view b]\nupstream = none\n",
	               NULL);
	assert_non_null(rs->cache_of[0]);
	assert_null(rs->cache_of[1]);
	runstate_unref(rs);
}

/*
 * A list download rebuilds a view's index into a runstate of the same
 * configuration (proxy/listfetch.c): every other record is shared with the
 * running one, later runstates of that configuration keep the new index,
 * and a reload's new configuration starts again from its own.
 */
static void
test_runstate_rebuilt_blocks_carry_within_a_config(void **state)
{
	static const char list[] = "new.example\nother.example\n";
	struct runstate *a = bind_text(two_servers, NULL), *b, *c, *d;
	const struct blocklist *lists[1];
	struct blocklist *bl;
	struct blockset *set;
	char err[128];
	int line;

	(void)state;
	assert_null(a->blocks_of[0]); /* a view without lists */
	bl = blocklist_parse("new.txt", BLOCKLIST_AUTO, list, strlen(list), err,
	                     sizeof(err), &line);
	assert_non_null(bl);
	lists[0] = bl;
	set = blockset_create(lists, 1, NULL, 0);
	blocklist_free(bl);
	assert_non_null(set);
	b = runstate_new(a->conf, a, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(runstate_set_blocks(b, 0, set), 0);
	assert_ptr_equal(b->blocks_of[0], set);
	assert_null(a->blocks_of[0]);
	assert_int_equal(blockset_size(b->blocks_of[0]), 2);
	/* Nothing else changed hands. */
	assert_ptr_equal(server(b, 0, 0), server(a, 0, 0));
	assert_ptr_equal(runstate_view_stats(b, b->conf->views[0]),
	                 runstate_view_stats(a, a->conf->views[0]));
	c = runstate_new(b->conf, b, err, sizeof(err));
	assert_non_null(c);
	assert_ptr_equal(c->blocks_of[0], set);
	runstate_unref(b); /* c still holds the index */
	assert_int_equal(blockset_size(c->blocks_of[0]), 2);
	d = bind_text(two_servers, c);
	assert_null(d->blocks_of[0]);
	runstate_unref(a);
	runstate_unref(c);
	runstate_unref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runstate_fresh_records),
	    cmocka_unit_test(test_runstate_failure_streak),
	    cmocka_unit_test(test_runstate_reload_keeps_servers_by_address),
	    cmocka_unit_test(test_runstate_port_and_group_are_part_of_the_key),
	    cmocka_unit_test(test_runstate_removed_server_starts_afresh),
	    cmocka_unit_test(test_runstate_duplicate_server_is_one_record),
	    cmocka_unit_test(test_runstate_view_counters_by_name),
	    cmocka_unit_test(test_runstate_cache_follows_forward_zones),
	    cmocka_unit_test(
	        test_runstate_rebuilt_blocks_carry_within_a_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
