/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/main.c — command line, start-up, signals, reload and shutdown.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cli/explain.h"
#include "conf/config.h"
#include "obs/control.h"
#include "obs/dnstap.h"
#include "obs/log.h"
#include "obs/top.h"
#include "policy/blocklist.h"
#include "policy/listurl.h"
#include "proxy/listfetch.h"
#include "proxy/worker.h"

#include "obs/version.h"

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: dnsgate [-c FILE]          run in the foreground\n"
	    "       dnsgate -t [-c FILE]       check FILE and exit\n"
	    "       dnsgate explain -c FILE --client IP [--dest IP] [--tcp]\n"
	    "               [--cookie valid|invalid|none] [--class CLASS]\n"
	    "               QNAME [QTYPE]\n"
	    "       dnsgate ctl [-s SOCKET | -c FILE] COMMAND [ARGS]\n"
	    "               reload|stats|upstreams|top-clients [--window D]|\n"
	    "               top-names [--window D]|flush-cache [VIEW [NAME]]\n"
	    "       dnsgate --version | -h | --help\n"
	    "default FILE: %s; dnsgate ctl --help, dnsgate explain --help: "
	    "more\n",
	    CONFIG_DEFAULT_PATH);
}

static unsigned
worker_count(const struct config *c)
{
	long n;

	if (c->server.workers > 0)
		return c->server.workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/*
 * Started as root, become user; first give it what root made and it must
 * still write: the control socket (answered on, removed at exit) and a
 * log file (reopened at every reload).
 */
static int
drop_privileges(const char *user, const char *control_socket,
                const struct log_conf *log)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		/* Already that user is what was asked for (systemd's User=
		 * with the packaged configuration's user = dnsgate). */
		pw = user != NULL ? getpwnam(user) : NULL;
		if (user != NULL && (pw == NULL || pw->pw_uid != geteuid()))
			log_msg(LOG_WARNING, "not root: ignoring user = %s",
			        user);
		return 0;
	}
	if (user == NULL) {
		log_msg(LOG_WARNING,
		        "running as root: set [server] user = NAME to drop "
		        "privileges after binding");
		return 0;
	}
	pw = getpwnam(user);
	if (pw == NULL) {
		log_msg(LOG_ERR, "user %s: no such user", user);
		return -1;
	}
	/* The control socket was made by root: let the new user answer on
	 * it and its group use dnsgate ctl. */
	if (control_socket != NULL &&
	    chown(control_socket, pw->pw_uid, pw->pw_gid) < 0)
		log_msg(LOG_WARNING, "chown %s: %s", control_socket,
		        strerror(errno));
	if (log_chown(log, pw->pw_uid, pw->pw_gid) < 0)
		log_msg(LOG_WARNING,
		        "chown %s: %s: as %s, reloads cannot reopen the log",
		        log->path, strerror(errno), user);
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_msg(LOG_ERR, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

static struct daemon dmn = {.conf_lock = PTHREAD_MUTEX_INITIALIZER,
                            .tcp_prefixes = TCP_PREFIXES_INIT};
static const char *conf_path;

/* Make nrs the running runstate; the workers take it between queries. */
static void
runstate_publish(struct runstate *nrs)
{
	struct runstate *old;

	pthread_mutex_lock(&dmn.conf_lock);
	old = dmn.rs;
	dmn.rs = nrs;
	pthread_mutex_unlock(&dmn.conf_lock);
	runstate_unref(old);
	for (unsigned i = 0; i < dmn.nworkers; i++)
		worker_reload(&dmn.workers[i]);
}

/*
 * Downloads brought new lists (proxy/listfetch.h): the running
 * configuration with the affected views' indexes rebuilt, swapped in like a
 * reload, but nothing else is read again and nothing else changes.
 */
static void
lists_changed(void *arg)
{
	struct runstate *nrs = listfetch_apply(dmn.lists, dmn.rs);

	if (nrs != NULL)
		runstate_publish(nrs);
}

/*
 * Build and check the new config; keep the old one on any error (errors go
 * to errs). Some keys need a restart (config_restart_keys): a reload keeps
 * their old values and says so.
 */
static int
reload(FILE *errs)
{
	struct config *nc = config_load(conf_path, errs);
	const struct config *cur = dmn.rs->conf;
	struct runstate *nrs;
	char keys[200], err[600];

	if (nc == NULL)
		return -1;
	/* Health, counters and positions carry over (proxy/runstate.h). */
	nrs = runstate_new(nc, dmn.rs, err, sizeof(err));
	config_unref(nc);
	if (nrs == NULL) {
		fprintf(errs, "%s\n", err);
		return -1;
	}
	if (config_restart_keys(cur, nc, keys, sizeof(keys)) > 0)
		fprintf(errs,
		        "warning: %s: changes take effect at the next "
		        "restart\n",
		        keys);
	if (log_reconfigure(&nc->log) < 0)
		fprintf(errs, "warning: cannot open the new log target: %s\n",
		        strerror(errno));
	runstate_publish(nrs);
	/* nc read the copies of its lists; new ones are downloaded now. */
	listfetch_cache_dir(nc, nc->server.user);
	if (listfetch_configure(dmn.lists, nc) < 0)
		fprintf(errs, "warning: lists from URLs: %s\n",
		        strerror(errno));
	log_msg(LOG_NOTICE, "reloaded %s", conf_path);
	return 0;
}

/*
 * Tell the service manager a reload begins (sd_notify(3), systemd 253's
 * reload protocol: RELOADING=1 with the CLOCK_MONOTONIC time); without
 * NOTIFY_SOCKET it does nothing.
 */
static void
notify_reloading(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading %s\nMONOTONIC_USEC=%llu",
	           conf_path,
	           (unsigned long long)now.tv_sec * 1000000ULL +
	               (unsigned long long)now.tv_nsec / 1000);
}

/*
 * Reload, log the outcome with every message of the check, and copy those
 * messages to reply (dnsgate ctl reload) when it is not NULL. The service
 * manager hears RELOADING=1 before and READY=1 after, a failed reload
 * included: the running configuration then goes on serving.
 */
static int
reload_logged(FILE *reply)
{
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef;
	int rc;

	notify_reloading();
	ef = open_memstream(&errs, &errlen);
	if (ef == NULL) {
		sd_notify(0, "READY=1\nSTATUS=reload failed: out of memory");
		return -1;
	}
	rc = reload(ef);
	fclose(ef);
	if (rc < 0)
		log_msg(LOG_ERR,
		        "reload of %s failed; keeping the running "
		        "configuration:\n%s",
		        conf_path, errs);
	else if (errs[0] != '\0')
		log_msg(LOG_WARNING, "reload: %s", errs);
	if (reply != NULL)
		fputs(errs, reply);
	free(errs);
	sd_notifyf(0, "READY=1\nSTATUS=%s %s",
	           rc < 0 ? "reload failed, still running on the previous"
	                  : "running on",
	           conf_path);
	return rc;
}

static void
sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	reload_logged(NULL);
}

/*
 * SIGUSR1: reopen the log file only, as BIND's `rndc reopen`, for
 * logrotate's postrotate. The signal arrives through the loop's signalfd,
 * so this runs in the main loop, not in a signal handler.
 */
static void
sigusr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	if (log_reopen() < 0)
		log_msg(LOG_ERR,
		        "cannot reopen the log file: %s; still "
		        "writing to the old one",
		        strerror(errno));
	else
		log_msg(LOG_NOTICE, "log reopened (SIGUSR1)");
}

static void
sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	log_msg(LOG_NOTICE, "stopping on signal %d", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Load path to start with it. The errors go to stderr; so do the
 * warnings (an open view, a resolv.conf without a usable server...),
 * unless the log goes there: they are kept in *warnings for the log, once
 * it is open (log_warnings).
 */
static struct config *
load_for_start(const char *path, char **warnings)
{
	size_t len = 0;
	FILE *f = open_memstream(warnings, &len);
	struct config *conf;

	if (f == NULL) {
		*warnings = NULL;
		return config_load(path, stderr);
	}
	conf = config_load(path, f);
	fclose(f);
	if (conf == NULL || conf->log.target != LOGT_STDERR)
		fputs(*warnings, stderr);
	return conf;
}

/* Each line of text, a warning of the check, as a log message. */
static void
log_warnings(const char *text)
{
	while (text != NULL && *text != '\0') {
		size_t n = strcspn(text, "\n");

		log_msg(LOG_WARNING, "%.*s", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static int
run(const char *path)
{
	char *warnings = NULL;
	struct config *conf = load_for_start(path, &warnings);
	struct ev_loop *loop;
	ev_signal sig_hup, sig_term, sig_int, sig_usr1;
	sigset_t sigs;
	int rc = 0;
	unsigned started = 0;
	char err[600];

	if (conf == NULL) {
		free(warnings);
		return 1;
	}
	conf_path = path;
	/* Every thread (logger, workers) inherits this mask, so only the
	 * main loop's signalfd sees these signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_start(&conf->log) < 0) {
		fprintf(stderr, "dnsgate: cannot open log target: %s\n",
		        strerror(errno));
		free(warnings);
		return 1;
	}
	log_warnings(warnings);
	free(warnings);
	/* The writer connects (and reconnects) by itself; a missing
	 * collector never holds up the start. */
	if (conf->log.dnstap != NULL &&
	    dnstap_start(&conf->log.dnstap_out, NULL, worker_count(conf)) < 0) {
		log_msg(LOG_ERR, "dnstap %s: %s", conf->log.dnstap,
		        strerror(errno));
		return 1;
	}
	loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);

	dmn.rs = runstate_new(conf, NULL, err, sizeof(err));
	config_unref(conf); /* dmn.rs holds it */
	if (dmn.rs == NULL) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	dmn.nworkers = worker_count(conf);
	dmn.workers = calloc(dmn.nworkers, sizeof(*dmn.workers));
	if (dmn.workers == NULL || loop == NULL)
		return 1;
	dmn.lists = listfetch_new(loop, lists_changed, NULL);
	if (dmn.lists == NULL)
		return 1;
	for (unsigned i = 0; i < dmn.nworkers; i++) {
		if (worker_init(&dmn.workers[i], &dmn, i, dmn.rs) < 0) {
			rc = 1;
			goto out;
		}
	}
	/* Only with rate limits: otherwise the kernel's spreading balances
	 * a few heavy clients better. */
	if (conf->ratelimit.enabled &&
	    worker_steer_by_source(dmn.workers, dmn.nworkers,
	                           &conf->ratelimit.rrl) < 0)
		log_msg(LOG_WARNING,
		        "cannot steer clients to workers by address (%s): "
		        "rate limits apply per worker",
		        strerror(errno));
	/* Made as root, for the user it drops to. */
	listfetch_cache_dir(conf, conf->server.user);
	if (control_start(loop, &dmn, reload_logged) < 0 ||
	    drop_privileges(conf->server.user, conf->server.control_socket,
	                    &conf->log) < 0) {
		rc = 1;
		goto out;
	}
	for (; started < dmn.nworkers; started++)
		if (pthread_create(&dmn.workers[started].thread, NULL,
		                   worker_main, &dmn.workers[started]) != 0) {
			rc = 1;
			goto stop;
		}
	log_msg(LOG_NOTICE,
	        "dnsgate %s started: %zu listen addresses, %u workers",
	        DNSGATE_VERSION, conf->server.nlistens, dmn.nworkers);
	/* Downloads start once the listeners answer: the list servers' names
	 * may be resolved through dnsgate itself. */
	if (listfetch_configure(dmn.lists, conf) < 0)
		log_msg(LOG_ERR,
		        "lists from URLs: cannot start downloading: %s; the "
		        "copies in use stay",
		        strerror(errno));
	/* Type=notify: the listeners are bound, privileges dropped and the
	 * workers running. */
	sd_notifyf(0, "READY=1\nSTATUS=running on %s", path);
	ev_signal_init(&sig_hup, sighup_cb, SIGHUP);
	ev_signal_init(&sig_term, sigterm_cb, SIGTERM);
	ev_signal_init(&sig_int, sigterm_cb, SIGINT);
	ev_signal_init(&sig_usr1, sigusr1_cb, SIGUSR1);
	ev_signal_start(loop, &sig_hup);
	ev_signal_start(loop, &sig_usr1);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_run(loop, 0);
stop:
	listfetch_stop(dmn.lists);
	for (unsigned i = 0; i < started; i++)
		worker_stop(&dmn.workers[i]);
	for (unsigned i = 0; i < started; i++)
		pthread_join(dmn.workers[i].thread, NULL);
out:
	control_stop(loop);
	listfetch_free(dmn.lists);
	dmn.lists = NULL;
	for (unsigned i = 0; i < dmn.nworkers; i++)
		worker_free(&dmn.workers[i]);
	free(dmn.workers);
	runstate_unref(dmn.rs);
	dnstap_stop();
	log_stop();
	return rc;
}

#define CTL_SOCKET "/run/dnsgate/control.sock"

/* The commands `dnsgate ctl` knows (obs/control.c answers them). */
static const struct ctl_command {
	const char *name;
	const char *args; /* as usage shows them */
	const char *what;
	int max_args; /* words after the name */
	bool window;  /* takes [--window D] */
} ctl_commands[] = {
    {"reload", "", "Reload the configuration, as SIGHUP does", 0, false},
    {"stats", "", "The metrics, then internal counters", 0, false},
    {"upstreams", "",
     "Each upstream server: up or down, why (its consecutive failures\n"
     "by kind), since when, SRTT and counters",
     0, false},
    {"top-clients", " [--window D]",
     "The 20 client addresses that sent the most queries in the last D", 0,
     true},
    {"top-names", " [--window D]",
     "The 20 query names asked most in the last D", 0, true},
    {"flush-cache", " [VIEW [NAME]]",
     "Empty every view's cache, VIEW's, or NAME and below it in VIEW", 2,
     false},
};

#define N_CTL_COMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	        "usage: dnsgate ctl [-s SOCKET | -c FILE] COMMAND [ARGS]\n"
	        "Send COMMAND to a running dnsgate over its control socket "
	        "(-s SOCKET, or\nthe control-socket of FILE; default "
	        "%s)\nand print the reply. Commands:\n",
	        CTL_SOCKET);
	for (size_t i = 0; i < N_CTL_COMMANDS; i++)
		fprintf(f, "  %s%s\n", ctl_commands[i].name,
		        ctl_commands[i].args);
	fprintf(f, "dnsgate ctl COMMAND --help says what COMMAND does.\n");
}

static void
ctl_command_usage(FILE *f, const struct ctl_command *k)
{
	fprintf(f, "usage: dnsgate ctl [-s SOCKET | -c FILE] %s%s\n%s.\n",
	        k->name, k->args, k->what);
	if (k->window)
		fprintf(f,
		        "D: a duration such as 30s or 5m, from 1s to %um; "
		        "default %us.\nCounts are approximate and the window "
		        "is rounded up to whole %us slots\n(dnsgate(8), "
		        "COMMANDS).\n",
		        TOP_WINDOW_MAX_MS / 60000, TOP_WINDOW_DEFAULT_MS / 1000,
		        TOP_SLOT_MS / 1000);
}

static bool
is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/*
 * Check the words after a known command and write the command line to
 * send into cmd (with "--window D" in one spelling). 0, 1 for --help, or
 * -1 on a usage error (reported).
 */
static int
ctl_command_line(const struct ctl_command *k, int argc, char **argv, char *cmd,
                 size_t cap)
{
	const char *window = NULL;
	uint32_t ms;
	size_t len;
	int nargs = 0;

	for (int i = 1; i < argc; i++)
		if (is_help(argv[i]))
			return 1;
	snprintf(cmd, cap, "%s", k->name);
	for (int i = 1; i < argc; i++) {
		if (k->window && strcmp(argv[i], "--window") == 0 &&
		    i + 1 < argc) {
			window = argv[++i];
		} else if (k->window && strncmp(argv[i], "--window=", 9) == 0) {
			window = argv[i] + 9;
		} else if (++nargs > k->max_args || argv[i][0] == '-') {
			fprintf(stderr, "dnsgate ctl %s: unexpected '%s'\n",
			        k->name, argv[i]);
			return -1;
		} else {
			len = strlen(cmd);
			snprintf(cmd + len, cap - len, " %s", argv[i]);
		}
	}
	if (window == NULL)
		return 0;
	if (config_parse_duration(window, &ms) < 0 || ms == 0 ||
	    ms > TOP_WINDOW_MAX_MS) {
		fprintf(stderr,
		        "dnsgate ctl %s: --window %s: a duration from 1s to "
		        "%um expected\n",
		        k->name, window, TOP_WINDOW_MAX_MS / 60000);
		return -1;
	}
	len = strlen(cmd);
	snprintf(cmd + len, cap - len, " --window %s", window);
	return 0;
}

/* ctl -c FILE: FILE, checked, when it names a control socket; or NULL. */
static struct config *
ctl_config(const char *path)
{
	struct config *c = config_load(path, stderr);

	if (c != NULL && c->server.control_socket == NULL) {
		fprintf(stderr, "dnsgate ctl: %s sets no control-socket\n",
		        path);
		config_unref(c);
		return NULL;
	}
	return c;
}

/* `dnsgate ctl [-s SOCKET] [-c FILE] COMMAND [ARGS]` */
static int
ctl_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *sock = CTL_SOCKET, *conf = NULL;
	const struct ctl_command *k = NULL;
	struct config *c = NULL;
	char cmd[1200] = "";
	int opt, rc;

	/* '+': options end at the command; its own come after it. */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+s:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			conf = NULL; /* the last one wins */
			break;
		case 'c':
			conf = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < N_CTL_COMMANDS; i++)
		if (strcmp(argv[optind], ctl_commands[i].name) == 0)
			k = &ctl_commands[i];
	if (k == NULL) {
		if (argc - optind > 1 && is_help(argv[optind + 1])) {
			ctl_usage(stdout);
			return 0;
		}
		/* Unknown here, maybe not to a newer daemon: it answers. */
		snprintf(cmd, sizeof(cmd), "%s", argv[optind]);
		rc = argc - optind > 1 ? -1 : 0;
	} else {
		rc = ctl_command_line(k, argc - optind, argv + optind, cmd,
		                      sizeof(cmd));
	}
	if (rc != 0) {
		if (rc > 0)
			ctl_command_usage(stdout, k);
		else if (k != NULL)
			ctl_command_usage(stderr, k);
		else
			ctl_usage(stderr);
		return rc > 0 ? 0 : 2;
	}
	if (conf != NULL && (c = ctl_config(conf)) == NULL)
		return 1;
	rc = control_client(c != NULL ? c->server.control_socket : sock, cmd);
	config_unref(c);
	return rc;
}

/*
 * -t: what each list of each view held, one line per list, blocklists
 * then allowlists ("skipped" is bad + unsupported, policy/blocklist.h).
 */
static void
print_lists(const struct config *c)
{
	for (size_t n = 0; n < 2 * c->nviews; n++) {
		const struct blockset *set = c->views[n / 2]->blocks;
		bool allow = n % 2 == 1;

		for (size_t i = 0; i < blockset_list_count(set); i++) {
			const struct blockset_list *bl =
			    blockset_list_get(set, i);
			const struct blocklist_info *in = &bl->info;

			if (bl->allowlist != allow)
				continue;

			printf("[view %s] %s %s: %zu entries, %zu skipped (%zu "
			       "bad, %zu unsupported), read as %s\n",
			       c->views[n / 2]->name,
			       allow ? "allowlist" : "blocklist", bl->name,
			       in->entries, in->bad + in->unsupported, in->bad,
			       in->unsupported,
			       blocklist_format_name(in->format));
		}
	}
}

/* -t: say what was (not) done with lists named by URL. */
static void
check_note_urls(const struct config *c, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nviews; i++) {
		const struct view_conf *v = c->views[i];

		for (size_t k = 0; k < v->nblocklists; k++)
			n += list_url_is(v->blocklists[k]);
		for (size_t k = 0; k < v->nallowlists; k++)
			n += list_url_is(v->allowlists[k]);
	}
	if (n > 0)
		printf("%s: %zu list%s named by URL: syntax checked and the "
		       "copies in %s read; -t downloads nothing\n",
		       path, n, n > 1 ? "s" : "", c->lists.cache_dir);
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false;
	int opt;

	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "explain") == 0)
		return explain_main(argc - 1, argv + 1);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("dnsgate %s\n", DNSGATE_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	}
	while ((opt = getopt(argc, argv, "c:th")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (check) {
		struct config *c = config_load(path, stderr);

		if (c == NULL)
			return 1;
		print_lists(c);
		check_note_urls(c, path);
		config_unref(c);
		printf("%s: ok\n", path);
		return 0;
	}
	return run(path);
}
