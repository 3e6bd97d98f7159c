/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf/config.h — the running configuration.
 *
 * A struct config is built by config_load() from one INI file, checked as a
 * whole, and then never modified: a reload builds a new one and swaps it in.
 * Every option is one row of the table in config.c.
 */
#ifndef CONF_CONFIG_H
#define CONF_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cache/cache.h"
#include "dns/addr.h"
#include "policy/decision.h"
#include "ratelimit/cookie.h"
#include "ratelimit/rrl.h"
#include "views/view.h"

#define CONFIG_DEFAULT_PATH "/etc/dnsgate/dnsgate.conf"

struct endpoint {
	struct ip_addr addr;
	uint16_t port;
	char text[IP_ENDPOINT_TEXT_MAX];
	int line; /* where the configuration names it, for messages */
	/* Upstream servers: a loopback address or one of this host's own
	 * (when the configuration was loaded): the server may share our
	 * CPUs (yield-to-local-upstream). */
	bool on_host;
	/* Upstream servers: tls:// (DNS over TLS, RFC 7858), and the name
	 * its certificate must carry (a host name, or the address itself
	 * when the server was written without #NAME). */
	bool tls;
	char tls_name[256];
};

/* Listen addresses of one kind. */
struct endpoint_list {
	struct endpoint *v;
	size_t n;
};

enum up_selection {
	SEL_ORDERED = 1,
	SEL_ROUND_ROBIN,
	SEL_FASTEST,
};

/* Bits of retry-on. */
#define RETRY_SERVFAIL 0x1u
#define RETRY_TIMEOUT  0x2u
#define RETRY_REFUSED  0x4u

/* Servers per [upstream] group. */
#define UPSTREAM_MAX_SERVERS 32

struct upstream_conf {
	char *name;
	int line;
	size_t index; /* position in config.upstreams */
	struct endpoint *servers;
	size_t nservers;
	enum up_selection selection;
	uint32_t timeout_ms;
	unsigned attempts;
	unsigned retry_on; /* RETRY_* bits */
	uint32_t health_ms;
	char *resolv_conf;    /* servers also read from this resolv.conf */
	unsigned udp_sockets; /* 0: a port per attempt; N: a pool of N */
	bool cookies;         /* act as a cookie client toward the servers */
	char *tls_ca;         /* CA bundle for tls:// servers; NULL: system */
	int tls_ca_line;
	bool has_tls; /* some server is tls:// */
};

enum log_target {
	LOGT_STDERR = 1,
	LOGT_SYSLOG,
	LOGT_FILE,
};

enum log_decisions {
	DECISIONS_ALL = 1,
	DECISIONS_NON_DEFAULT,
	DECISIONS_NONE,
};

/* yield-to-local-upstream: sched_yield() after handing queries to a
 * server on this host (proxy/worker.c, local_yield). */
enum yield_mode {
	YIELD_AUTO = 1, /* while another task competes for the CPU */
	YIELD_YES,
	YIELD_NO,
};

struct server_conf {
	struct endpoint *listens;
	size_t nlistens;
	unsigned workers;
	char *user;
	unsigned udp_payload_size;
	uint32_t tcp_idle_ms;
	unsigned tcp_max_clients;
	unsigned tcp_per_prefix;  /* per client prefix; 0 = off */
	unsigned tcp_max_queries; /* per connection; 0 = unlimited */
	unsigned max_inflight;    /* queries in flight per worker */
	unsigned udp_rcvbuf;      /* SO_RCVBUF of UDP listeners; 0: default */
	bool ede_text;
	bool io_uring; /* batch upstream sends through io_uring when possible */
	enum yield_mode yield_local; /* yield-to-local-upstream */
	char *control_socket;
	bool has_metrics;
	struct endpoint metrics;
	/* DNS over TLS (RFC 7858) and over HTTPS (RFC 8484) */
	struct endpoint_list tls_listens;
	struct endpoint_list https_listens;
	char *https_path;
	char *tls_cert, *tls_key;
	int tls_cert_line, tls_key_line;
	int tls_min_version; /* TLS1_2_VERSION or TLS1_3_VERSION */
	char *tls_ciphers;   /* NULL: OpenSSL's default list */
	int tls_ciphers_line;
	uint32_t tls_handshake_ms;
	uint32_t tls_ticket_rotation_ms;
	unsigned https_max_streams; /* per HTTP/2 connection */
};

/* [log] dnstap: where the Frame Streams go (obs/dnstap.h). */
enum dnstap_transport {
	DNSTAP_TO_UNIX = 1,
	DNSTAP_TO_TCP,
	DNSTAP_TO_FILE,
};

struct dnstap_output {
	enum dnstap_transport transport;
	char *path;          /* DNSTAP_TO_UNIX, DNSTAP_TO_FILE */
	struct endpoint tcp; /* DNSTAP_TO_TCP */
};

/* [log] dnstap-messages: the message pairs sent. */
#define DNSTAP_MSGS_CLIENT    0x1u /* CLIENT_QUERY, CLIENT_RESPONSE */
#define DNSTAP_MSGS_FORWARDER 0x2u /* FORWARDER_QUERY, _RESPONSE */

struct log_conf {
	enum log_target target;
	char *path; /* LOGT_FILE */
	enum decision_format format;
	enum log_decisions decisions;
	char *dnstap; /* [log] dnstap as written, or NULL: no dnstap */
	struct dnstap_output dnstap_out;
	unsigned dnstap_messages; /* DNSTAP_MSGS_* */
};

enum queries_action {
	QUERIES_REFUSE = 1,
	QUERIES_DROP,
};

/* [ratelimit]: RRL and the per-client query limit (ratelimit/rrl.h). */
struct ratelimit_conf {
	struct rrl_config rrl;
	struct acl exempt; /* exempt-clients */
	enum queries_action queries_action;
	bool enabled; /* any rate set */
};

/* [cookies]: RFC 7873 server cookies, RFC 9018 construction. */
struct cookies_conf {
	bool enabled;
	bool require;
	bool have_secret, have_previous;
	struct cookie_secret secret;
	struct cookie_secret previous;
};

/* [lists]: how blocklists and allowlists are read (policy/blocklist.h). */
struct geoip_conf {
	char *database;     /* country.iso_code */
	char *asn_database; /* autonomous_system_number */
	int line;           /* of the first key, for open errors */
};

/* [lists]: how lists are read, and how lists named by URL are fetched
 * (proxy/listfetch.h). */
struct lists_conf {
	bool strict;         /* a bad entry rejects the configuration */
	uint32_t refresh_ms; /* between two downloads of a list */
	char *cache_dir;     /* the last good copies (relative: to the file) */
	uint64_t max_size;   /* bytes; a larger download is refused */
	uint32_t timeout_ms; /* for a whole download */
};

struct config {
	char *path;
	struct geoip_conf geoip_conf;
	struct ratelimit_conf ratelimit;
	struct cookies_conf cookies;
	struct cache_params cache; /* [cache]: each forwarding view's cache */
	struct lists_conf lists;   /* [lists]: how lists are read and fetched */
	struct geoip *geoip;       /* opened at load; NULL without [geoip] */
	struct server_conf server;
	struct log_conf log;
	struct upstream_conf **upstreams;
	size_t nupstreams;
	struct view_conf **views;
	size_t nviews;
	atomic_int refs;
};

/*
 * Parse and check path. On success returns a config holding one reference.
 * On failure returns NULL after writing one "FILE:LINE: message" line per
 * error to errs (every error, not only the first).
 */
struct config *config_load(const char *path, FILE *errs);
/* Same, from text (tests and fuzzing); name is used in messages. */
struct config *config_load_string(const char *name, const char *text,
                                  FILE *errs);
struct config *config_ref(struct config *c);
/*
 * The keys whose change a reload cannot apply (listen addresses, workers,
 * ...: marked "needs a restart" in the option table) and that differ
 * between old and nc: their count, and their names, comma-separated, in
 * buf (cut to cap).
 */
/*
 * How the loader lists this host's addresses (to tell an upstream that is
 * dnsgate itself): getifaddrs(3). Unit tests replace it to make it fail.
 */
struct ifaddrs;
extern int (*config_getifaddrs)(struct ifaddrs **);

size_t config_restart_keys(const struct config *old, const struct config *nc,
                           char *buf, size_t cap);
/* Drop one reference; frees on the last. NULL is ignored. */
void config_unref(struct config *c);

/*
 * A file a configuration names (a list, resolv-conf, a GeoIP database) as
 * dnsgate opens it: a relative name is taken relative to the directory of
 * the configuration file conf_path, after any "rpz:", "hosts:" or
 * "domains:" prefix, which is kept. Returns value itself or buf.
 */
const char *config_file_path(const char *conf_path, const char *value,
                             char *buf, size_t cap);
/*
 * The file dnsgate reads for a list value of c (blocklist, allowlist):
 * config_file_path's, or for a URL (policy/listurl.h) the path of its last
 * good copy in [lists] cache-dir, format prefix kept. Returns value itself
 * or buf.
 */
const char *config_list_path(const struct config *c, const char *value,
                             char *buf, size_t cap);
/* "1500ms", "10s", "5m", "1h", "1d", bare seconds => milliseconds; 0 / -1. */
int config_parse_duration(const char *text, uint32_t *ms);
/* "64MB", "512KB", "1GB", bare bytes; 0 / -1. */
int config_parse_size(const char *text, uint64_t *bytes);

#endif
