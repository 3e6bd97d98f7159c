/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/unit/obs/test_log.c — the logger (obs/log.h) writing to a file in
 * a temporary directory: lines from a ring reach the file in order, an
 * overflowing ring is reported as "log: dropped N lines", daemon messages
 * take the text or JSON form with a time stamp and every byte they quote
 * made safe, log_reconfigure() and log_reopen() reopen a file that was
 * renamed away, as logrotate does, and log_chown() gives away the file it
 * writes to and no other.
 *
 * The logger is process-wide: each test starts it and stops it again.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "obs/log.h"
#include "policy/decision.h"

struct tmp {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/dnsgate-log-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/dnsgate.log", t->dir);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tmp *t = *state;
	char rotated[160];

	snprintf(rotated, sizeof(rotated), "%s.1", t->path);
	unlink(rotated);
	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static struct log_conf
file_conf(struct tmp *t, int format)
{
	return (struct log_conf){
	    .target = LOGT_FILE, .path = t->path, .format = format};
}

/* The whole file as a string (empty when it does not exist). */
static char *
slurp_raw(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	do {
		cap = cap * 2 + 4096;
		buf = realloc(buf, cap);
		assert_non_null(buf);
		n = f != NULL ? fread(buf + len, 1, cap - 1 - len, f) : 0;
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	if (f != NULL)
		fclose(f);
	return buf;
}

/* 24 when p starts with an RFC 3339 UTC time with milliseconds, else 0. */
static size_t
stamp_len(const char *p)
{
	const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";

	for (size_t i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)p[i])
		                  : p[i] != pat[i])
			return 0;
	return 24;
}

/*
 * The file with the time stamps of daemon lines taken out (each line's
 * leading `"ts":"...",` member in JSON, its leading time and space in
 * text), so that the tests can compare the rest exactly.
 * test_log_daemon_lines_carry_time_stamps checks the stamps themselves.
 */
static char *
slurp(const char *path)
{
	char *s = slurp_raw(path), *in = s, *out = s;
	bool bol = true;

	while (*in != '\0') {
		if (bol && strncmp(in, "{\"ts\":\"", 7) == 0 &&
		    stamp_len(in + 7) > 0 && strncmp(in + 31, "\",", 2) == 0) {
			*out++ = '{';
			in += 33;
		} else if (bol && stamp_len(in) > 0 && in[24] == ' ') {
			in += 25;
		}
		bol = *in == '\n';
		*out++ = *in++;
	}
	*out = '\0';
	return s;
}

/* The logger thread writes when it gets to it: wait up to 5 s. */
static void
wait_for(const char *path, const char *text)
{
	for (int i = 0; i < 500; i++) {
		char *s = slurp(path);
		bool found = strstr(s, text) != NULL;

		free(s);
		if (found)
			return;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	fail_msg("%s never got \"%s\"", path, text);
}

static void
assert_file(const char *path, const char *want)
{
	char *s = slurp(path);

	assert_string_equal(s, want);
	free(s);
}

static void
test_log_ring_lines_reach_file_in_order(void **state)
{
	struct tmp *t = *state;
	struct log_conf lc = file_conf(t, DECISION_TEXT);
	struct log_ring *r = log_ring_new();

	assert_non_null(r);
	assert_int_equal(log_start(&lc), 0);
	log_ring_push(r, "one\n", 4);
	log_ring_push(r, "two\n", 4);
	log_ring_msg(r, LOG_WARNING, "three %d", 3);
	log_ring_push(r, "", 0); /* writes nothing */
	log_stop();
	assert_file(t->path, "one\ntwo\ndnsgate: three 3\n");
}

/*
 * Fill a ring while no logger runs, then start one: the lines that fitted
 * come out, then one report of the rest. 1024-byte lines take 1032 bytes
 * of the 4 MiB ring: 4064 fit from an empty one.
 */
static void
overflow(struct tmp *t, int format, const char *report)
{
	struct log_conf lc = file_conf(t, format);
	struct log_ring *r = log_ring_new();
	unsigned long base = log_dropped_total();
	char line[LOG_SLOT_SIZE + 1];
	char *s, *p;
	unsigned n = 0;

	assert_non_null(r);
	memset(line, 'x', sizeof(line));
	line[LOG_SLOT_SIZE - 1] = '\n';
	for (int i = 0; i < 5000; i++)
		log_ring_push(r, line, LOG_SLOT_SIZE);
	assert_int_equal(log_dropped_total() - base, 5000 - 4064);
	/* Longer than LOG_SLOT_SIZE: dropped whatever the room. */
	log_ring_push(r, line, LOG_SLOT_SIZE + 1);
	assert_int_equal(log_dropped_total() - base, 5000 - 4064 + 1);
	unlink(t->path);
	assert_int_equal(log_start(&lc), 0);
	log_stop();
	s = slurp(t->path);
	for (p = s; strncmp(p, line, LOG_SLOT_SIZE) == 0; p += LOG_SLOT_SIZE)
		n++;
	assert_int_equal(n, 4064);
	assert_string_equal(p, report);
	free(s);
}

static void
test_log_overflow_reports_dropped_lines(void **state)
{
	overflow(*state, DECISION_TEXT, "log: dropped 937 lines (ring full)\n");
	overflow(*state, DECISION_JSON,
	         "{\"msg\":\"log overflow\",\"dropped\":937}\n");
}

static void
test_log_daemon_message_text_and_json(void **state)
{
	struct tmp *t = *state;
	struct log_conf json = file_conf(t, DECISION_JSON);
	struct log_conf text = file_conf(t, DECISION_TEXT);
	struct log_ring *r = log_ring_new();

	assert_non_null(r);
	assert_int_equal(log_start(&json), 0);
	/* log_msg writes at once, under the lock. */
	log_msg(LOG_ERR, "bad \"%s\" \\ \n", "x");
	log_msg(LOG_WARNING, "careful");
	log_msg(LOG_NOTICE, "started");
	assert_file(t->path,
	            "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\" \\\\ \"}\n"
	            "{\"level\":\"warning\",\"msg\":\"careful\"}\n"
	            "{\"level\":\"info\",\"msg\":\"started\"}\n");
	/* From a worker, through its ring: the same form. */
	log_ring_msg(r, LOG_WARNING, "server %s down", "192.0.2.1");
	wait_for(t->path, "{\"level\":\"warning\",\"msg\":\"server "
	                  "192.0.2.1 down\"}\n");
	unlink(t->path);
	assert_int_equal(log_reconfigure(&text), 0);
	log_msg(LOG_ERR, "bad \"%s\"", "x");
	log_ring_msg(r, LOG_NOTICE, "server %s up", "192.0.2.1");
	log_stop();
	assert_file(t->path,
	            "dnsgate: bad \"x\"\ndnsgate: server 192.0.2.1 up\n");
}

/*
 * Every byte a message may quote (a binary blocklist named in a reload
 * error): printable ASCII and well-formed UTF-8 pass; controls, DEL, C1
 * controls and ill-formed UTF-8 become \xNN; newline and tab stay, as
 * JSON escapes or as an indented continuation line.
 */
static const char hostile[] = "a\"b\\c"  /* quote, backslash */
                              "\n\td"    /* newline, tab */
                              "\x1b[31m" /* ESC: a terminal colour sequence */
                              "\x7f"     /* DEL */
                              "\xc2\x9b" /* U+009B, a C1 control (CSI) */
                              "\xc3\xa9" /* U+00E9: kept */
                              "\xf0\x9f\x98\x80" /* U+1F600: kept */
                              "\xff\xfe\x80"     /* never UTF-8 */
                              "\xc0\xaf"         /* overlong '/' */
                              "\xed\xa0\x80"     /* a surrogate */
                              "\xe2\x82"         /* cut short, */
                              "e\n\n"; /* then trailing newlines: dropped */

static void
test_log_message_bytes_escaped(void **state)
{
	struct tmp *t = *state;
	struct log_conf json = file_conf(t, DECISION_JSON);
	struct log_conf text = file_conf(t, DECISION_TEXT);

	assert_int_equal(log_start(&json), 0);
	log_msg(LOG_ERR, "%s", hostile);
	assert_file(t->path,
	            "{\"level\":\"error\",\"msg\":\"a\\\"b\\\\c\\n\\td"
	            "\\\\x1b[31m\\\\x7f\\\\xc2\\\\x9b\xc3\xa9\xf0\x9f\x98\x80"
	            "\\\\xff\\\\xfe\\\\x80\\\\xc0\\\\xaf"
	            "\\\\xed\\\\xa0\\\\x80\\\\xe2\\\\x82e\"}\n");
	unlink(t->path);
	assert_int_equal(log_reconfigure(&text), 0);
	log_msg(LOG_ERR, "%s", hostile);
	log_stop();
	assert_file(t->path, "dnsgate: a\"b\\c\n\t\td"
	                     "\\x1b[31m\\x7f\\xc2\\x9b\xc3\xa9\xf0\x9f\x98\x80"
	                     "\\xff\\xfe\\x80\\xc0\\xaf"
	                     "\\xed\\xa0\\x80\\xe2\\x82e\n");
}

/* A message that escapes past the line's room is cut between escapes: the
 * line still ends as a JSON object, on a newline. */
static void
test_log_long_escaped_message_cut_whole(void **state)
{
	struct tmp *t = *state;
	struct log_conf json = file_conf(t, DECISION_JSON);
	struct log_ring *r = log_ring_new();
	char msg[1000], *s, *p;

	assert_non_null(r);
	memset(msg, 0xff, sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	assert_int_equal(log_start(&json), 0);
	log_msg(LOG_ERR, "%s", msg);         /* 899 bytes: 4495 escaped */
	log_ring_msg(r, LOG_ERR, "%s", msg); /* 299 of them: past 1 KiB */
	log_stop();
	s = slurp(t->path);
	p = s;
	for (int line = 0; line < 2; line++) {
		const char *head = "{\"level\":\"error\",\"msg\":\"";
		char *end = strchr(p, '\n');
		size_t n;

		assert_non_null(end);
		assert_memory_equal(p, head, strlen(head));
		p += strlen(head);
		n = (size_t)(end - p);
		assert_true(n >= 2 && n % 5 == 2); /* \\xff each, then "} */
		for (size_t i = 0; i + 2 < n; i += 5)
			assert_memory_equal(p + i, "\\\\xff", 5);
		assert_memory_equal(end - 2, "\"}", 2);
		if (line == 0)
			assert_int_equal(n - 2, 899 * 5);
		else /* the ring's slot, newline included */
			assert_true(strlen(head) + n + 1 <= LOG_SLOT_SIZE);
		p = end + 1;
	}
	assert_string_equal(p, "");
	free(s);
}

static void
test_log_reconfigure_reopens_renamed_file(void **state)
{
	struct tmp *t = *state;
	struct log_conf lc = file_conf(t, DECISION_TEXT);
	struct log_ring *r = log_ring_new();
	char rotated[160];
	char *s;

	assert_non_null(r);
	snprintf(rotated, sizeof(rotated), "%s.1", t->path);
	unlink(t->path);
	assert_int_equal(log_start(&lc), 0);
	log_ring_push(r, "before\n", 7);
	wait_for(t->path, "before\n");
	/* logrotate: rename, then SIGHUP -> log_reconfigure. */
	assert_int_equal(rename(t->path, rotated), 0);
	assert_int_equal(log_reconfigure(&lc), 0);
	assert_int_equal(access(t->path, F_OK), 0);
	log_ring_push(r, "after\n", 6);
	log_stop();
	log_msg(LOG_NOTICE, "stopped");
	assert_file(rotated, "before\n");
	s = slurp(t->path);
	assert_string_equal(s, "after\ndnsgate: stopped\n");
	free(s);
}

/*
 * log_chown gives the file it writes to, and only that: not through a
 * symbolic link, not a file with another name.
 */
static void
test_log_chown_only_the_target_file(void **state)
{
	struct tmp *t = *state;
	struct log_conf lc = file_conf(t, DECISION_TEXT);
	struct log_conf other = lc, to_stderr = {.target = LOGT_STDERR};
	/* As root, to another user; otherwise to ourselves. */
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();
	gid_t gid = geteuid() == 0 ? 65534 : getegid();
	char second[160];
	struct stat st;

	snprintf(second, sizeof(second), "%s.1", t->path);
	assert_int_equal(log_start(&lc), 0);
	assert_int_equal(log_chown(&lc, uid, gid), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	/* A second name (a planted hard link): left alone. */
	assert_int_equal(link(t->path, second), 0);
	assert_int_equal(log_chown(&lc, uid, gid), -1);
	assert_int_equal(errno, EMLINK);
	assert_int_equal(unlink(second), 0);
	/* Named through a symbolic link: left alone. */
	assert_int_equal(symlink(t->path, second), 0);
	other.path = second;
	assert_int_equal(log_reconfigure(&other), 0);
	assert_int_equal(log_chown(&other, uid, gid), -1);
	assert_int_equal(errno, ELOOP);
	/* Not a file: nothing to give. */
	assert_int_equal(log_reconfigure(&to_stderr), 0);
	assert_int_equal(log_chown(&to_stderr, uid, gid), 0);
	log_stop();
}

/* Every line in s starts with prefix, then a time in [lo, hi], then
 * after. */
static void
assert_stamped_lines(const char *s, const char *prefix, const char *after,
                     const char *lo, const char *hi, int lines)
{
	int n = 0;

	for (const char *p = s; *p != '\0'; n++) {
		char ts[25];

		assert_memory_equal(p, prefix, strlen(prefix));
		p += strlen(prefix);
		assert_int_equal(stamp_len(p), 24);
		memcpy(ts, p, 24);
		ts[24] = '\0';
		assert_true(strcmp(lo, ts) <= 0 && strcmp(ts, hi) <= 0);
		assert_memory_equal(p + 24, after, strlen(after));
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	assert_int_equal(n, lines);
}

static void
now_text(char *buf, size_t cap)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	decision_ts_format((uint64_t)now.tv_sec * 1000 +
	                       (uint64_t)now.tv_nsec / 1000000,
	                   buf, cap);
}

/*
 * A daemon line carries the time it was written, as decision lines do:
 * a "ts" member first in JSON, the time first in text; not in text to
 * syslog, which stamps its own lines.
 */
static void
test_log_daemon_lines_carry_time_stamps(void **state)
{
	struct tmp *t = *state;
	struct log_conf json = file_conf(t, DECISION_JSON);
	struct log_conf text = file_conf(t, DECISION_TEXT);
	struct log_conf sys = {.target = LOGT_SYSLOG, .format = DECISION_TEXT};
	struct log_ring *r = log_ring_new();
	char lo[40], hi[40], buf[LOG_STAMP_MAX];
	char *s;

	assert_non_null(r);
	unlink(t->path);
	now_text(lo, sizeof(lo));
	assert_int_equal(log_start(&json), 0);
	log_msg(LOG_WARNING, "careful");
	log_ring_msg(r, LOG_NOTICE, "server %s up", "192.0.2.1");
	log_stop();
	now_text(hi, sizeof(hi));
	s = slurp_raw(t->path);
	assert_stamped_lines(s, "{\"ts\":\"", "\",\"level\":\"", lo, hi, 2);
	free(s);

	unlink(t->path);
	now_text(lo, sizeof(lo));
	assert_int_equal(log_start(&text), 0);
	log_msg(LOG_WARNING, "careful");
	log_ring_msg(r, LOG_NOTICE, "server %s up", "192.0.2.1");
	log_stop();
	now_text(hi, sizeof(hi));
	s = slurp_raw(t->path);
	assert_stamped_lines(s, "", " dnsgate: ", lo, hi, 2);
	free(s);

	assert_int_equal(log_reconfigure(&sys), 0);
	assert_int_equal(log_stamp(DECISION_TEXT, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(log_stamp(DECISION_JSON, buf, sizeof(buf)), 33);
	assert_int_equal(stamp_len(buf + 7), 24);
	assert_int_equal(log_reconfigure(&text), 0);
}

/* SIGUSR1's log_reopen(): the same path, a new file; the lines written
 * after it go there, none to the renamed one. */
static void
test_log_reopen_follows_rename(void **state)
{
	struct tmp *t = *state;
	struct log_conf lc = file_conf(t, DECISION_TEXT);
	struct log_conf err = {.target = LOGT_STDERR, .format = DECISION_TEXT};
	struct log_ring *r = log_ring_new();
	char rotated[160];
	char *s;

	assert_non_null(r);
	snprintf(rotated, sizeof(rotated), "%s.1", t->path);
	unlink(t->path);
	assert_int_equal(log_start(&lc), 0);
	log_ring_push(r, "before\n", 7);
	wait_for(t->path, "before\n");
	assert_int_equal(rename(t->path, rotated), 0);
	assert_int_equal(log_reopen(), 0);
	assert_int_equal(access(t->path, F_OK), 0);
	log_ring_push(r, "after\n", 6);
	wait_for(t->path, "after\n");
	log_msg(LOG_NOTICE, "reopened");
	log_stop();
	assert_file(rotated, "before\n");
	s = slurp(t->path);
	assert_string_equal(s, "after\ndnsgate: reopened\n");
	free(s);
	/* A target that is not a file: nothing to reopen. */
	assert_int_equal(log_reconfigure(&err), 0);
	assert_int_equal(log_reopen(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_log_ring_lines_reach_file_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_log_overflow_reports_dropped_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_log_daemon_message_text_and_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_message_bytes_escaped,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_log_long_escaped_message_cut_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_log_reconfigure_reopens_renamed_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_chown_only_the_target_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_log_daemon_lines_carry_time_stamps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_reopen_follows_rename,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
