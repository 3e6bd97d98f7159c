/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * views/localfile.c — local-zone-file (see views/localfile.h): the file is
 * read whole, parsed by dns/zonefile.c, and each record handed to
 * views/local.c as a local-data line would be.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dns/zonefile.h"
#include "policy/fileio.h"
#include "views/localfile.h"

#define TOO_LARGE "larger than 128 MB, the limit of a local-zone-file"

struct file_load {
	struct local_data *ld;
	local_file_report_fn report;
	void *ctx;
};

static int
load_record(void *ctx, struct dns_rr_text *rr, unsigned line, char *err,
            size_t errlen)
{
	struct file_load *fl = ctx;

	(void)line;
	return local_add_rr(fl->ld, rr, err, errlen);
}

static void
load_error(void *ctx, unsigned line, const char *msg)
{
	struct file_load *fl = ctx;

	fl->report(fl->ctx, line, msg);
}

/* The whole of f, at most max bytes; NULL with *why set. */
static char *
file_slurp(FILE *f, size_t max, size_t *len, const char **why)
{
	struct stat st;
	size_t cap, n = 0, got;
	char *buf, *p;

	if (fstat(fileno(f), &st) != 0) {
		*why = strerror(errno);
		return NULL;
	}
	if ((uint64_t)st.st_size > max) {
		*why = TOO_LARGE;
		return NULL;
	}
	/* One byte more than the size: a file that grows is noticed. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n < cap)
			continue;
		if (cap > max) {
			free(buf);
			*why = TOO_LARGE;
			return NULL;
		}
		cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
		if ((p = realloc(buf, cap)) == NULL) {
			free(buf);
			*why = "out of memory";
			return NULL;
		}
		buf = p;
	}
	if (ferror(f)) {
		free(buf);
		*why = "read error";
		return NULL;
	}
	*len = n;
	return buf;
}

long
local_file_load(struct local_data *ld, const uint8_t *zone, const char *path,
                local_file_report_fn report, void *ctx)
{
	static const struct zonefile_ops ops = {
	    .record = load_record,
	    .error = load_error,
	};
	struct file_load fl = {.ld = ld, .report = report, .ctx = ctx};
	const char *why = NULL;
	size_t len = 0;
	char *text;
	FILE *f;
	long n;

	if ((f = file_open_regular(path)) == NULL) {
		report(ctx, 0, file_error(errno));
		return 1;
	}
	text = file_slurp(f, LOCAL_FILE_SIZE_MAX, &len, &why);
	fclose(f);
	if (text == NULL) {
		report(ctx, 0, why);
		return 1;
	}
	n = zonefile_parse(text, len, zone, &ops, &fl);
	free(text);
	if (n < 0) {
		report(ctx, 0, "out of memory");
		return 1;
	}
	return n;
}
