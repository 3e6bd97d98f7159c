/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/localfile.h — local-zone-file: a static local zone whose records
 * come from an RFC 1035 master file (dns/zonefile.h says what is read).
 */
#ifndef VIEWS_LOCALFILE_H
#define VIEWS_LOCALFILE_H

#include <stdint.h>

#include "views/local.h"

/* A larger file is refused before it is read (views/localfile.c says
 * so in its message). */
#define LOCAL_FILE_SIZE_MAX (128u * 1024u * 1024u)

/* One error: line of the file, or 0 for the file as a whole. */
typedef void (*local_file_report_fn)(void *ctx, unsigned line, const char *msg);

/*
 * Read path (a regular file, at most LOCAL_FILE_SIZE_MAX bytes) as the
 * master file of zone (wire form), which must already be ld's file zone
 * (local_add_file_zone), and add its records to ld. Every error goes to
 * report. Returns the number of errors: 0 when the whole file was loaded.
 */
long local_file_load(struct local_data *ld, const uint8_t *zone,
                     const char *path, local_file_report_fn report, void *ctx);

#endif
