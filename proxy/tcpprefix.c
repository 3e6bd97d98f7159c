/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy/tcpprefix.c — client TCP connections counted per client prefix.
 */
#include "proxy/tcpprefix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct tcp_prefix_entry {
	struct tcp_prefix_entry *next;
	struct tcp_prefix p;
	unsigned open;
};

void
tcp_prefix_of(const struct ip_addr *a, unsigned ipv4_len, unsigned ipv6_len,
              struct tcp_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->addr = *a;
	p->len = (uint8_t)(a->v4 ? ipv4_len : ipv6_len);
	ip_addr_mask(&p->addr, p->len);
}

static bool
prefix_equal(const struct tcp_prefix *x, const struct tcp_prefix *y)
{
	return x->len == y->len && ip_addr_equal(&x->addr, &y->addr);
}

/* The chain p belongs to; t->lock held. */
static struct tcp_prefix_entry **
chain_of(struct tcp_prefixes *t, const struct tcp_prefix *p)
{
	uint8_t in[18], out[SIPHASH_OUT_LEN];
	uint64_t h;

	if (!t->keyed) {
		/* Without entropy the key stays zero: chains are still bounded
		 * by tcp-max-clients, only easier to aim at. */
		if (getrandom(t->key, sizeof(t->key), 0) !=
		    (ssize_t)sizeof(t->key))
			memset(t->key, 0, sizeof(t->key));
		t->keyed = true;
	}
	memcpy(in, p->addr.b, 16);
	in[16] = p->addr.v4;
	in[17] = p->len;
	siphash24(t->key, in, sizeof(in), out);
	memcpy(&h, out, sizeof(h));
	return &t->bucket[h & (TCP_PREFIX_BUCKETS - 1)];
}

/* p's entry, or where a new one goes (*link == NULL); t->lock held. */
static struct tcp_prefix_entry **
entry_find(struct tcp_prefixes *t, const struct tcp_prefix *p)
{
	struct tcp_prefix_entry **link = chain_of(t, p);

	while (*link != NULL && !prefix_equal(&(*link)->p, p))
		link = &(*link)->next;
	return link;
}

enum tcp_prefix_result
tcp_prefixes_take(struct tcp_prefixes *t, const struct tcp_prefix *p,
                  unsigned limit, unsigned *open)
{
	enum tcp_prefix_result r = TCP_PREFIX_TAKEN;
	struct tcp_prefix_entry **link, *e;
	unsigned n = 0;

	pthread_mutex_lock(&t->lock);
	link = entry_find(t, p);
	e = *link;
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL) {
			r = TCP_PREFIX_NOMEM;
			goto out;
		}
		e->p = *p;
		*link = e;
	}
	if (limit > 0 && e->open >= limit) {
		r = TCP_PREFIX_FULL;
	} else {
		e->open++;
	}
	n = e->open;
out:
	pthread_mutex_unlock(&t->lock);
	if (open != NULL)
		*open = n;
	return r;
}

void
tcp_prefixes_release(struct tcp_prefixes *t, const struct tcp_prefix *p)
{
	struct tcp_prefix_entry **link, *e;

	pthread_mutex_lock(&t->lock);
	link = entry_find(t, p);
	e = *link;
	if (e != NULL && --e->open == 0) {
		*link = e->next;
		free(e);
	}
	pthread_mutex_unlock(&t->lock);
}

unsigned
tcp_prefixes_open(struct tcp_prefixes *t, const struct tcp_prefix *p)
{
	struct tcp_prefix_entry *e;
	unsigned n;

	pthread_mutex_lock(&t->lock);
	e = *entry_find(t, p);
	n = e != NULL ? e->open : 0;
	pthread_mutex_unlock(&t->lock);
	return n;
}

const char *
tcp_prefix_format(const struct tcp_prefix *p, char *out, size_t cap)
{
	char a[IP_ADDR_TEXT_MAX];

	snprintf(out, cap, "%s/%u", ip_addr_format(&p->addr, a, sizeof(a)),
	         p->len);
	return out;
}
