/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/fuzz_config.c — the config loader on hostile text.
 *
 * The input is the whole file, cut at its first NUL byte as a C string
 * would be. Whatever it says, config_load_string() must return NULL or a
 * config that keeps the promises conf/config.h makes, and freeing it must
 * release everything (run with leak detection on, as libFuzzer's default).
 * Error messages go to /dev/null: formatting them is exercised, not read.
 *
 * resolv-conf = PATH makes the loader read PATH, so an input can name any
 * file; that is read-only and accepted here. A relative PATH (the corpus
 * names lists of etc/examples/) is taken from the top of the source tree,
 * the directory of FUZZ_CONF, whatever the working directory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The Makefile defines FUZZ_SRCDIR. */
#define FUZZ_CONF FUZZ_SRCDIR "/fuzz.conf"

static FILE *devnull;

static void
check(bool ok)
{
	if (!ok)
		abort();
}

/* A view's upstream is one of the config's own, never a stale pointer. */
static bool
has_upstream(const struct config *c, const struct upstream_conf *u)
{
	for (size_t i = 0; i < c->nupstreams; i++)
		if (c->upstreams[i] == u)
			return true;
	return false;
}

/* What a config that loaded must look like (conf/config.h). */
static void
check_config(struct config *c)
{
	check(atomic_load(&c->refs) == 1);
	check(c->server.nlistens > 0);
	check(c->nviews > 0);
	for (size_t i = 0; i < c->nupstreams; i++)
		check(c->upstreams[i]->nservers <= UPSTREAM_MAX_SERVERS);
	for (size_t i = 0; i < c->nviews; i++) {
		const struct view_conf *v = c->views[i];

		check(v->index == i);
		check(v->upstream == NULL || has_upstream(c, v->upstream));
		check(v->upstream == NULL || v->upstream_name == NULL ||
		      strcmp(v->upstream_name, v->upstream->name) == 0);
		/* Every forward-zone resolved to its own named group. */
		for (size_t k = 0; k < v->forward.n; k++) {
			const struct forward_zone *z = &v->forward.zones[k];

			check(has_upstream(c, z->group));
			check(strcmp(z->group_name, z->group->name) == 0);
			check(forward_find(&v->forward, z->name) == z);
		}
	}
	/* A second reference must not free it early. */
	config_unref(config_ref(c));
	check(atomic_load(&c->refs) == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	char *text;

	if (devnull == NULL) {
		devnull = fopen("/dev/null", "w");
		if (devnull == NULL)
			abort();
	}
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	c = config_load_string(FUZZ_CONF, text, devnull);
	if (c != NULL)
		check_config(c);
	config_unref(c);
	free(text);
	return 0;
}
