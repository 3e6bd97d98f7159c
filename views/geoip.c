/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/geoip.c — libmaxminddb behind the interface views need.
 *
 * The files are mapped read-only (MMDB_MODE_MMAP) and MMDB_s is not changed
 * by lookups, which is what makes the shared struct geoip safe to read from
 * every worker thread.
 */
#include "views/geoip.h"

#include <errno.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct geoip {
	MMDB_s country;
	MMDB_s asn;
	bool has_country;
	bool has_asn;
};

/* Open path into db; 0, or -1 with "PATH: reason" in err. */
static int
db_open(const char *path, MMDB_s *db, char *err, size_t errlen)
{
	struct stat st;
	int status, saved;

	/* mmap of a directory fails with a puzzling ENODEV: say it plainly. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	errno = 0;
	status = MMDB_open(path, MMDB_MODE_MMAP, db);
	saved = errno;
	if (status == MMDB_SUCCESS)
		return 0;
	if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) &&
	    saved != 0)
		snprintf(err, errlen, "%s: %s: %s", path, MMDB_strerror(status),
		         strerror(saved));
	else
		snprintf(err, errlen, "%s: %s", path, MMDB_strerror(status));
	return -1;
}

struct geoip *
geoip_open(const char *country_db, const char *asn_db, char *err, size_t errlen)
{
	struct geoip *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (country_db != NULL) {
		if (db_open(country_db, &g->country, err, errlen) != 0)
			goto fail;
		g->has_country = true;
	}
	if (asn_db != NULL) {
		if (db_open(asn_db, &g->asn, err, errlen) != 0)
			goto fail;
		g->has_asn = true;
	}
	return g;
fail:
	geoip_close(g);
	return NULL;
}

void
geoip_close(struct geoip *g)
{
	if (g == NULL)
		return;
	if (g->has_asn)
		MMDB_close(&g->asn);
	if (g->has_country)
		MMDB_close(&g->country);
	free(g);
}

bool
geoip_has_country(const struct geoip *g)
{
	return g != NULL && g->has_country;
}

bool
geoip_has_asn(const struct geoip *g)
{
	return g != NULL && g->has_asn;
}

/*
 * The record for a in db. An IPv4 address goes in as AF_INET, which
 * libmaxminddb looks up under ::/96 of an IPv6 database (where MaxMind and
 * the writer's alias_ipv6_to_ipv4 put the IPv4 data).
 */
static bool
db_lookup(const MMDB_s *db, const struct ip_addr *a, MMDB_entry_s *entry)
{
	struct sockaddr_storage ss;
	MMDB_lookup_result_s res;
	int mmdb_err = MMDB_SUCCESS;

	(void)ip_addr_to_sockaddr(a, 0, &ss);
	res = MMDB_lookup_sockaddr(db, (const struct sockaddr *)&ss, &mmdb_err);
	if (mmdb_err != MMDB_SUCCESS || !res.found_entry)
		return false;
	*entry = res.entry;
	return true;
}

bool
geoip_cc_parse(const char *text, size_t len, char cc[3])
{
	size_t i;
	char c;

	if (len != 2)
		return false;
	for (i = 0; i < 2; i++) {
		c = text[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return false;
		cc[i] = c;
	}
	cc[2] = '\0';
	return true;
}

/* The iso_code under map key (country / registered_country) of entry. */
static bool
entry_cc(MMDB_entry_s *entry, const char *key, char cc[3])
{
	MMDB_entry_data_s d;

	if (MMDB_get_value(entry, &d, key, "iso_code", NULL) != MMDB_SUCCESS ||
	    !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return false;
	return geoip_cc_parse(d.utf8_string, d.data_size, cc);
}

bool
geoip_country(const struct geoip *g, const struct ip_addr *a, char cc[3])
{
	MMDB_entry_s entry;

	if (!geoip_has_country(g) || !db_lookup(&g->country, a, &entry))
		return false;
	return entry_cc(&entry, "country", cc) ||
	       entry_cc(&entry, "registered_country", cc);
}

bool
geoip_asn(const struct geoip *g, const struct ip_addr *a, uint32_t *asn)
{
	MMDB_entry_data_s d;
	MMDB_entry_s entry;

	if (!geoip_has_asn(g) || !db_lookup(&g->asn, a, &entry))
		return false;
	if (MMDB_get_value(&entry, &d, "autonomous_system_number", NULL) !=
	        MMDB_SUCCESS ||
	    !d.has_data)
		return false;
	/* MaxMind writes uint32; accept the other unsigned widths that fit. */
	switch (d.type) {
	case MMDB_DATA_TYPE_UINT16:
		*asn = d.uint16;
		return true;
	case MMDB_DATA_TYPE_UINT32:
		*asn = d.uint32;
		return true;
	case MMDB_DATA_TYPE_UINT64:
		if (d.uint64 > UINT32_MAX)
			return false;
		*asn = (uint32_t)d.uint64;
		return true;
	default:
		return false;
	}
}
