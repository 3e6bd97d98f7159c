/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/process.c — process_* metrics, named and defined as the Prometheus
 * client libraries export them, so dashboards made for any exporter work.
 */
#include "obs/process.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void
family(FILE *f, const char *name, const char *type, const char *help,
       double value)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name,
	        type, name, value);
}

/* Open descriptors: the entries of /proc/self/fd but the directory's own. */
static long
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Seconds since the epoch at which the process started: field 22 of
 * /proc/self/stat (clock ticks after boot) plus btime of /proc/stat. */
static double
start_time(void)
{
	char buf[1024], *p;
	unsigned long long ticks = 0, btime = 0;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;
	long hz = sysconf(_SC_CLK_TCK);

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': skip to the
	 * last ')'; field 3 follows it. */
	p = strrchr(buf, ')');
	if (p == NULL || hz <= 0)
		return -1;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -1;
	}
	ticks = strtoull(p + 1, NULL, 10);
	f = fopen("/proc/stat", "r");
	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (btime == 0)
		return -1;
	return (double)btime + (double)ticks / (double)hz;
}

void
process_metrics_render(FILE *f)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long vsize_pages = 0, rss_pages = 0;
	long page = sysconf(_SC_PAGESIZE);
	FILE *statm;
	long fds;
	double started;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		family(f, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.",
		       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		           (double)ru.ru_stime.tv_sec +
		           ru.ru_stime.tv_usec / 1e6);
	statm = fopen("/proc/self/statm", "r");
	if (statm != NULL) {
		if (fscanf(statm, "%lu %lu", &vsize_pages, &rss_pages) == 2 &&
		    page > 0) {
			family(f, "process_virtual_memory_bytes", "gauge",
			       "Virtual memory size in bytes.",
			       (double)vsize_pages * (double)page);
			family(f, "process_resident_memory_bytes", "gauge",
			       "Resident memory size in bytes.",
			       (double)rss_pages * (double)page);
		}
		fclose(statm);
	}
	fds = open_fds();
	if (fds >= 0)
		family(f, "process_open_fds", "gauge",
		       "Number of open file descriptors.", (double)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		family(f, "process_max_fds", "gauge",
		       "Maximum number of open file descriptors.",
		       (double)rl.rlim_cur);
	started = start_time();
	if (started > 0)
		family(f, "process_start_time_seconds", "gauge",
		       "Start time of the process since unix epoch in seconds.",
		       started);
}
