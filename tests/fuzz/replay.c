/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/fuzz/replay.c — run a fuzz target over its corpus without libFuzzer,
 * so `make check` replays every saved input (the fuzz-replay target of the
 * Makefile, over tests/fuzz/corpus/).
 *
 * Usage: replay DIR|FILE...  Each regular file is one input; a directory's
 * regular files are replayed in readdir order. A crash is a crash; an input
 * that cannot be read is an error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feed one file to the target; 0 / -1. */
static int
replay_file(const char *path, const struct stat *st)
{
	uint8_t *buf;
	size_t len = (size_t)st->st_size;
	FILE *f;
	int rc = -1;

	/* malloc(0) may return NULL; an empty input is still an input. */
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return -1;
	f = fopen(path, "rb");
	if (f == NULL)
		goto out;
	if (fread(buf, 1, len, f) == len) {
		LLVMFuzzerTestOneInput(buf, len);
		rc = 0;
	}
	fclose(f);
out:
	if (rc != 0)
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
	free(buf);
	return rc;
}

/* Replay every regular file directly in dir; the number replayed or -1. */
static long
replay_dir(const char *dir)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	long n = 0;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path, &st) != 0) {
			n = -1;
			break;
		}
		n++;
	}
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	struct stat st;
	long total = 0, n;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			        strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			n = replay_dir(argv[i]);
		else
			n = replay_file(argv[i], &st) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	printf("replayed %ld inputs\n", total);
	return 0;
}
