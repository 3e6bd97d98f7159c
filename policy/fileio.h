/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy/fileio.h — opening the files a configuration names (the config
 * itself, resolv.conf, block and allow lists) safely: only regular files,
 * never blocking on a FIFO or a terminal, never reading /dev/zero forever.
 */
#ifndef POLICY_FILEIO_H
#define POLICY_FILEIO_H

#include <stdio.h>

/*
 * Open path for reading if it is a regular file. Returns the stream, or
 * NULL with errno set (EINVAL for "not a regular file").
 */
FILE *file_open_regular(const char *path);
/* strerror() that says "not a regular file" for file_open_regular's EINVAL. */
const char *file_error(int err);

#endif
