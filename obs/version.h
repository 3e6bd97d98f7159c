/* SPDX-License-Identifier: BSD-2-Clause */
/* obs/version.h — the one place the version is written. */
#ifndef OBS_VERSION_H
#define OBS_VERSION_H

#define DNSGATE_VERSION "0.1.0"

#endif
