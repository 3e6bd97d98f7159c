/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/geoip.h — country and AS number of a client address, from MaxMind
 * DB files (dnsgate.conf(5), [geoip]; used by match-country and match-asn).
 *
 * Opened once per configuration and never changed afterwards: lookups only
 * read the mapped files, so any number of threads may share one struct
 * geoip. A reload opens the new files into a new struct geoip.
 */
#ifndef VIEWS_GEOIP_H
#define VIEWS_GEOIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/addr.h"

struct geoip;

/*
 * Open the country database (GeoIP2/GeoLite2 Country or City layout:
 * country.iso_code) and the ASN database (autonomous_system_number); either
 * path may be NULL, and a struct geoip with neither answers every lookup
 * with false. Returns NULL with a message in err ("PATH: reason") when a
 * file cannot be opened or is not a MaxMind DB.
 */
struct geoip *geoip_open(const char *country_db, const char *asn_db, char *err,
                         size_t errlen);
/* Unmap the files and free g; NULL is fine. */
void geoip_close(struct geoip *g);

/* Whether a country / ASN database was opened. */
bool geoip_has_country(const struct geoip *g);
bool geoip_has_asn(const struct geoip *g);

/*
 * The client's country: country.iso_code, else registered_country.iso_code
 * (an anycast or satellite network may have only the latter), upper-cased
 * into cc ("DE" and a NUL). False when there is no country database, the
 * address is not in it, it has no code, or the code is not two ASCII
 * letters. IPv4 addresses are looked up in the IPv4 part of an IPv6
 * database, as MMDB_lookup_sockaddr does; an IPv6 address in an IPv4-only
 * database is not found.
 */
bool geoip_country(const struct geoip *g, const struct ip_addr *a, char cc[3]);
/* The AS number of the network holding a; false as for geoip_country. */
bool geoip_asn(const struct geoip *g, const struct ip_addr *a, uint32_t *asn);

/*
 * Check a country code from the configuration, text[0..len): exactly two
 * ASCII letters (ISO 3166-1 alpha-2 shape; not checked against the list,
 * since databases also use codes such as EU). Writes it upper-cased and
 * NUL-terminated into cc; false when it is not valid.
 */
bool geoip_cc_parse(const char *text, size_t len, char cc[3]);

#endif
