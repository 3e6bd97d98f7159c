/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * obs/control.h — the main thread's services: Prometheus metrics over
 * HTTP (metrics-listen) and the control socket (control-socket) that
 * `dnsgate ctl` talks to. Both run on the main thread's libev loop, away
 * from the datapath.
 */
#ifndef OBS_CONTROL_H
#define OBS_CONTROL_H

#include <ev.h>
#include <stdio.h>

#include "proxy/worker.h"

/* Performs a reload; returns 0, or -1 with the errors written to errs. */
typedef int (*control_reload_fn)(FILE *errs);

/* Write the Prometheus text exposition of every counter to f. */
void metrics_render(struct daemon *d, FILE *f);
/* Write s as a label value of that format (0.0.4): '\\', '"' and
 * newline escaped. */
void metrics_label_value(FILE *f, const char *s);
/* Answer one control command ("stats", "upstreams"...) into f; 0 / -1. */
int control_command(struct daemon *d, const char *cmd, control_reload_fn rl,
                    FILE *f);

/* Start the listeners the config asks for; 0 / -1 (logged). */
int control_start(struct ev_loop *loop, struct daemon *d, control_reload_fn rl);
/* Close them (and unlink the control socket). */
void control_stop(struct ev_loop *loop);

/* `dnsgate ctl`: send cmd to the socket, print the reply; exit status. */
int control_client(const char *socket_path, const char *cmd);

#endif
