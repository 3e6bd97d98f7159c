/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/process.h — the standard process_* metric families of the Prometheus
 * client libraries (CPU, memory, descriptors, start time), read from
 * getrusage(2), getrlimit(2) and /proc (proc(5)).
 */
#ifndef OBS_PROCESS_H
#define OBS_PROCESS_H

#include <stdio.h>

/* Write the process_* families, HELP and TYPE included, to f. A value
 * that cannot be read (no /proc) leaves its family out. */
void process_metrics_render(FILE *f);

#endif
