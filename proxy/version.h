/* proxy/version.h — the one place the version is written. */
#ifndef PROXY_VERSION_H
#define PROXY_VERSION_H

#define DNSGATE_VERSION "0.1.0"

#endif
