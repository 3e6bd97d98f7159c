/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns/addr.h — IP addresses, ip[:port] endpoints and BIND-style address
 * match lists. Pure: no sockets are opened here.
 */
#ifndef DNS_ADDR_H
#define DNS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address as 16 bytes: IPv4 is kept IPv4-mapped (::ffff:a.b.c.d). */
struct ip_addr {
	uint8_t b[16];
	bool v4;
};

/* Longest text form of an ip_addr / an "ip:port" or "[ip]:port". */
#define IP_ADDR_TEXT_MAX     48
#define IP_ENDPOINT_TEXT_MAX 56

/* Parse "192.0.2.1" or "2001:db8::1"; 0 / -1. */
int ip_addr_parse(const char *text, struct ip_addr *a);
/* Text form without port; returns out. */
const char *ip_addr_format(const struct ip_addr *a, char *out, size_t cap);
/* From / to a sockaddr (AF_INET or AF_INET6; v4-mapped v6 counts as v4). */
int ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *a,
                          uint16_t *port);
socklen_t ip_addr_to_sockaddr(const struct ip_addr *a, uint16_t port,
                              struct sockaddr_storage *ss);
bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b);
/*
 * True when sa is address a, port port. All 16 bytes compare, so an
 * address written [::ffff:a.b.c.d] matches the IPv4-mapped source a
 * dual-stack socket reports for it.
 */
bool ip_sockaddr_is(const struct sockaddr *sa, const struct ip_addr *a,
                    uint16_t port);
/* True for 0.0.0.0 and :: (a wildcard listen address). */
bool ip_addr_is_unspecified(const struct ip_addr *a);
/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool ip_addr_is_loopback(const struct ip_addr *a);

/*
 * Parse an endpoint: "192.0.2.1", "192.0.2.1:5300", "[2001:db8::1]:53",
 * "2001:db8::1" (bare IPv6 takes the default port). Returns 0 / -1.
 */
int ip_endpoint_parse(const char *text, uint16_t default_port,
                      struct ip_addr *a, uint16_t *port);
/* "192.0.2.1:53" or "[2001:db8::1]:53"; returns out. */
const char *ip_endpoint_format(const struct ip_addr *a, uint16_t port,
                               char *out, size_t cap);

/* A network: address plus prefix length (0..32 for v4, 0..128 for v6). */
struct ip_prefix {
	struct ip_addr addr; /* host bits cleared */
	uint8_t len;         /* in the address family's own bits */
};

/* Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (full length). */
int ip_prefix_parse(const char *text, struct ip_prefix *p);
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a);
/* Clear all but the first len bits of a (len in the family's bits). */
void ip_addr_mask(struct ip_addr *a, unsigned len);

/*
 * Address match list (BIND semantics): elements evaluated in order, the first
 * that matches decides; a negated element ("!10.66.0.0/16") that matches
 * rejects. "any" matches everything, "none" nothing. No match: no decision.
 */
enum acl_match {
	ACL_NOMATCH = 0,
	ACL_ACCEPT,
	ACL_REJECT,
};

struct acl_elem {
	enum {
		ACL_ELEM_ANY = 1,
		ACL_ELEM_NONE,
		ACL_ELEM_PREFIX,
	} kind;
	bool negated;
	struct ip_prefix prefix;
};

struct acl {
	struct acl_elem *elems;
	size_t n;
	size_t cap;
};

/*
 * Append the comma-separated elements of text ("!10.66.0.0/16, 10.0.0.0/8,
 * any") to list. On error returns -1, sets *bad to the offending element's
 * start within text, and leaves list as it was.
 */
int acl_parse_append(struct acl *list, const char *text, const char **bad);
/* First element of list matching a decides; see enum acl_match. */
enum acl_match acl_match(const struct acl *list, const struct ip_addr *a);
/* For an ACL used as a yes/no set: true only for ACL_ACCEPT. */
bool acl_allows(const struct acl *list, const struct ip_addr *a);
/* Index (0-based) of the element that decided, or -1 (for rule ids). */
int acl_match_index(const struct acl *list, const struct ip_addr *a);
void acl_free(struct acl *list);

#endif
