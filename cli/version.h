/* cli/version.h — the one place the version is written. */
#ifndef CLI_VERSION_H
#define CLI_VERSION_H

#define DNSGATE_VERSION "0.1.0"

#endif
