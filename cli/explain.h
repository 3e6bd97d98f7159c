/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/explain.h — `dnsgate explain`: the query pipeline run dry for one
 * client and name, printing every stage consulted and the verdict.
 */
#ifndef CLI_EXPLAIN_H
#define CLI_EXPLAIN_H

/* argv[0] is "explain". Returns the exit status (0, 1 bad config, 2 usage). */
int explain_main(int argc, char **argv);

#endif
