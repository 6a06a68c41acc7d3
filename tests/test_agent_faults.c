/* test_agent_faults.c - tienbo-agent under faults of its own machine,
 * against a real tienbo-server over HTTPS on 127.0.0.1: a full disk (a
 * 4 MiB tmpfs under the data directory), a file system gone read-only,
 * a damaged config, a damaged store, the clock set backwards (and a clock
 * outside the years the protocol allows), and server certificates the
 * agent must refuse (another host's, self-signed, expired, a CA file that
 * has gone, and a CA that the system trusts but the agent was not told
 * to).
 *
 * For each: the exit code and a message that names the problem; the store
 * intact (PRAGMA integrity_check, its rows counted); nothing lost or
 * counted twice: the events recorded before the fault are there, and once
 * the fault is gone a sync brings the server to exactly what the agent
 * recorded (events, revisions, distinct seqs, the sum of a count).
 *
 * What tests/test_agent_cli.c and tests/test_sync_e2e.c already prove is
 * not repeated: record and import under RLIMIT_FSIZE, record in a
 * chmod-ed data directory, config lines without '=', bad values, missing
 * keys, and an impostor whose CA the agent does not know.
 *
 * Needs root for mount(2) and unshare(1); without it the disk and
 * read-only cases fall back to RLIMIT_FSIZE and chmod with the agent run
 * as nobody (TB_FAULTS_NO_MOUNT=1 forces that), and the system-CA case is
 * skipped, saying so. The clock cases need faketime (scripts/deps.sh) and
 * are skipped, saying so, without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "tests/helper_proc.h"
#include "tests/helper_server.h"

#define FAKETIME "/usr/bin/faketime"
#define UNSHARE "/usr/bin/unshare"
#define DISTRICT "HB-D61"
#define TMPFS_OPTS "size=4m,mode=0700"

static struct helper_server srv;
static char bad[128]; /* tests/data/hostile/mkbadcerts.sh */
static int no_mount;                 /* TB_FAULTS_NO_MOUNT set */

struct agent {
	struct helper_server_agent h;
	int tmpfs;             /* a tmpfs is mounted on the data dir */
	char filler[400];      /* the file that fills it */
	const char *env[8];    /* h.sb.env + ASAN_OPTIONS, for faketime */
	int64_t events;        /* recorded (each has revisions) */
	int64_t revisions;
	int64_t parents;       /* sum over the current revisions */
};

/* What a test has running, so that a failed test (cmocka jumps out of
 * it) leaves no tmpfs mounted and no impostor serving: see teardown. */
static struct agent *live_agent;
static struct helper_server *live_imp;

#define AGENT(a, r, ...) \
	helper_proc_runl((r), &(a)->h.o, TB_AGENT_BIN, __VA_ARGS__, NULL)

static int group_setup(void **state)
{
	char cmd[2 * HELPER_SERVER_PATH + 128], certs[HELPER_SERVER_PATH];

	(void)state;
	no_mount = getenv("TB_FAULTS_NO_MOUNT") != NULL;
	if (helper_server_up(&srv) != 0)
		return -1;
	/* The agent runs as nobody in the read-only fallback: it must
	 * reach the CA file. */
	snprintf(certs, sizeof(certs), "%s/certs", srv.dir);
	chmod(srv.dir, 0711);
	chmod(certs, 0711);
	snprintf(bad, sizeof(bad), "%s/bad", srv.dir);
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/data/hostile/mkbadcerts.sh' "
		 "'%s' '%s' >/dev/null 2>&1", TB_SOURCE_DIR, bad, certs);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	return 0;
}

/* ---- the agent ------------------------------------------------------------ */

/* A new school with an agent pointed at url (NULL: the server). With
 * tmpfs, its data dir is a 4 MiB tmpfs when mount(2) is allowed. */
static struct agent *agent_new(const char *school, const char *url,
			       int tmpfs)
{
	struct agent *a = calloc(1, sizeof(*a));
	char token[80];
	int i;

	assert_non_null(a);
	assert_int_equal(helper_server_enroll(&srv, school, DISTRICT, token),
			 0);
	assert_int_equal(helper_proc_sandbox_make(&a->h.sb), 0);
	if (tmpfs && !no_mount) {
		assert_int_equal(mkdir(a->h.sb.data, 0700), 0);
		a->tmpfs = mount("tmpfs", a->h.sb.data, "tmpfs", 0,
				 TMPFS_OPTS) == 0;
		if (!a->tmpfs)
			fprintf(stderr, "test_agent_faults: mount tmpfs: %s; "
				"falling back to RLIMIT_FSIZE and chmod\n",
				strerror(errno));
	}
	snprintf(a->filler, sizeof(a->filler), "%s/filler", a->h.sb.data);
	assert_int_equal(helper_server_agent_init_in(&srv, &a->h, url, school,
						     token), 0);
	live_agent = a;
	for (i = 0; a->h.sb.env[i]; i++)
		a->env[i] = a->h.sb.env[i];
	/* libfaketime is preloaded: ASan must not insist on coming first */
	a->env[i++] = "ASAN_OPTIONS=verify_asan_link_order=0";
	a->env[i] = NULL;
	return a;
}

static void agent_free(struct agent *a)
{
	if (!a)
		return;
	if (a == live_agent)
		live_agent = NULL;
	if (a->tmpfs)
		umount2(a->h.sb.data, MNT_DETACH);
	helper_server_agent_cleanup(&a->h);
	free(a);
}

/* After each test: whatever a failed test left. */
static int teardown(void **state)
{
	(void)state;
	if (live_imp)
		helper_server_teardown(live_imp);
	live_imp = NULL;
	agent_free(live_agent);
	return 0;
}

static void expect_exit(struct helper_proc_result *r, int code,
			const char *needle)
{
	assert_true(helper_proc_exited_with(r, code));
	if (needle && !strstr(r->err, needle))
		fail_msg("expected \"%s\" in: %s", needle, r->err);
	helper_proc_free(r);
}

static void record(struct agent *a, const char *title, long parents)
{
	struct helper_proc_result r;
	char p[32];

	snprintf(p, sizeof(p), "%ld", parents);
	AGENT(a, &r, "record", "outreach", "--date", "2025-11-20", "--title",
	      title, "--parents", p);
	expect_exit(&r, 0, NULL);
	a->events++;
	a->revisions++;
	a->parents += parents;
}

/* n rows of outreach, parents 1..n, imported from a file outside the
 * data dir; the exit code it should end with. */
static void import(struct agent *a, int n, int code, const char *needle)
{
	struct helper_proc_result r;
	char path[400];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/rows.csv", a->h.sb.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("kind,date,title,parents\n", f);
	for (i = 1; i <= n; i++)
		fprintf(f, "outreach,2025-11-21,Buổi nói chuyện số %d,%d\n", i,
			i);
	assert_int_equal(fclose(f), 0);
	AGENT(a, &r, "import", path);
	expect_exit(&r, code, needle);
	if (code == 0) {
		a->events += n;
		a->revisions += n;
		a->parents += (int64_t)n * (n + 1) / 2;
	}
}

static int64_t agent_int(const struct agent *a, const char *sql)
{
	return helper_server_db_int(a->h.db, sql);
}

static int64_t pending(const struct agent *a)
{
	return agent_int(a, "SELECT count(*) FROM queue WHERE state = 0");
}

static void sync_run(struct agent *a, struct helper_proc_result *r)
{
	AGENT(a, r, "sync", "--tries", "2", "--backoff-ms", "10",
	      "--backoff-max-ms", "50", "--timeout", "15");
}

static void sync_ok(struct agent *a)
{
	struct helper_proc_result r;

	sync_run(a, &r);
	expect_exit(&r, 0, NULL);
	assert_int_equal(pending(a), 0);
}

/* The server's events of this device. */
static int64_t server_events(const struct agent *a)
{
	return helper_server_countf(&srv, "SELECT count(*) FROM events e JOIN"
				    " event_history h ON h.id = e.id AND"
				    " h.revision = e.revision WHERE h.device ="
				    " '%s'", a->h.device);
}

/* The store is sound and holds every revision recorded. */
static void expect_intact(const struct agent *a)
{
	assert_int_equal(helper_server_integrity(a->h.db), 0);
	assert_int_equal(agent_int(a, "SELECT count(*) FROM queue"),
			 a->revisions);
}

/* The server holds exactly what the agent recorded: every revision once,
 * the current ones summing to the parents recorded. */
static void expect_server_exact(const struct agent *a)
{
	const char *d = a->h.device;

	assert_int_equal(server_events(a), a->events);
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM "
		"event_history WHERE device = '%s'", d), a->revisions);
	assert_int_equal(helper_server_countf(&srv, "SELECT count(DISTINCT "
		"seq) FROM event_history WHERE device = '%s'", d),
		a->revisions);
	assert_int_equal(helper_server_countf(&srv, "SELECT coalesce(sum("
		"json_extract(h.fields, '$.parents')), 0) FROM events e JOIN "
		"event_history h ON h.id = e.id AND h.revision = e.revision "
		"WHERE h.device = '%s' AND e.voided = 0", d), a->parents);
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM "
		"rejections WHERE device = '%s'", d), 0);
}

/* ---- disk full ------------------------------------------------------------ */

/* Leaves about `left` bytes free for the agent: a filler file on the
 * tmpfs, or RLIMIT_FSIZE (no file may grow past `left`, 1 for none). */
static void disk_fill(struct agent *a, long left)
{
	static char zeros[65536];
	struct statvfs v;
	long long room;
	FILE *f;

	if (!a->tmpfs) {
		a->h.o.fsize_limit = left > 0 ? left : 1;
		return;
	}
	unlink(a->filler);
	assert_int_equal(statvfs(a->h.sb.data, &v), 0);
	room = (long long)v.f_bavail * (long long)v.f_bsize - left;
	f = fopen(a->filler, "w");
	assert_non_null(f);
	while (room > 0) {
		size_t k = room < (long long)sizeof(zeros) ? (size_t)room
							    : sizeof(zeros);

		if (fwrite(zeros, 1, k, f) != k)
			break; /* full */
		room -= (long long)k;
	}
	fclose(f); /* may report ENOSPC for the last bytes: that is the aim */
}

static void disk_free(struct agent *a)
{
	a->h.o.fsize_limit = 0;
	unlink(a->filler);
}

static void test_disk_full(void **state)
{
	struct agent *a = agent_new("HB-611", NULL, 1);
	struct helper_proc_result r;
	int64_t held;

	(void)state;
	record(a, "Trước khi đầy đĩa", 7);
	record(a, "Trước khi đầy đĩa 2", 8);
	sync_ok(a);
	import(a, 1000, 0, NULL);

	/* Not a byte left: every command says so, nothing is sent. */
	disk_fill(a, 0);
	AGENT(a, &r, "record", "outreach", "--date", "2025-11-22", "--title",
	      "x", "--parents", "1");
	expect_exit(&r, 74, "full");
	sync_run(a, &r);
	expect_exit(&r, 74, "full");
	assert_int_equal(server_events(a), 2);

	/* 64 KiB left: the store opens and the batch goes out, but its
	 * acknowledgement cannot be written down: the server holds the
	 * 1000 events, the agent still has them waiting. */
	disk_fill(a, 64 * 1024);
	AGENT(a, &r, "sync", "--batch", "1000", "--tries", "2", "--timeout",
	      "15");
	expect_exit(&r, 74, "disk is full");
	held = server_events(a);
	fprintf(stderr, "test_agent_faults: with 64 KiB left the server "
		"holds %lld events, the agent has %lld waiting (%s)\n",
		(long long)held, (long long)pending(a),
		a->tmpfs ? "tmpfs" : "RLIMIT_FSIZE");
	assert_true(held == 2 || held == 1002);
	import(a, 2000, 74, "nothing was imported");

	/* Room again: nothing lost, nothing twice (the lost ack is made up
	 * from the server's cursor, not by sending the events again). */
	disk_free(a);
	expect_intact(a);
	assert_int_equal(pending(a), 1000);
	AGENT(a, &r, "sync", "--tries", "2", "--timeout", "15");
	assert_true(helper_proc_exited_with(&r, 0));
	if (held == 1002)
		assert_non_null(strstr(r.out, "0 sent"));
	helper_proc_free(&r);
	assert_int_equal(pending(a), 0);
	record(a, "Sau khi dọn đĩa", 9);
	sync_ok(a);
	expect_server_exact(a);
	agent_free(a);
}

/* ---- read-only ------------------------------------------------------------ */

/* The tmpfs remounted read-only (EROFS, binding root too), or the data
 * dir and store made read-only and the agent run as nobody. */
static void make_read_only(struct agent *a, int ro)
{
	if (a->tmpfs) {
		assert_int_equal(mount("tmpfs", a->h.sb.data, "tmpfs",
				       MS_REMOUNT | (ro ? MS_RDONLY : 0),
				       TMPFS_OPTS), 0);
		return;
	}
	assert_int_equal(chmod(a->h.sb.config, ro ? 0644 : 0600), 0);
	assert_int_equal(chmod(a->h.sb.data, ro ? 0555 : 0700), 0);
	assert_int_equal(chmod(a->h.db, ro ? 0444 : 0600), 0);
	a->h.o.drop_to_nobody = ro;
}

static void test_read_only(void **state)
{
	struct agent *a = agent_new("HB-612", NULL, 1);
	struct helper_proc_result r;

	(void)state;
	record(a, "Đã gửi", 3);
	sync_ok(a);
	record(a, "Chờ gửi 1", 4);
	record(a, "Chờ gửi 2", 5);
	make_read_only(a, 1);
	sync_run(a, &r);
	expect_exit(&r, 74, "not writable");
	AGENT(a, &r, "run", "--interval", "1");
	expect_exit(&r, 74, "not writable");
	assert_int_equal(server_events(a), 1);
	make_read_only(a, 0);
	expect_intact(a);
	assert_int_equal(pending(a), 2);
	sync_ok(a);
	expect_server_exact(a);
	agent_free(a);
}

/* ---- a damaged config ------------------------------------------------------- */

/* The config with line key's value replaced (key absent: appended). */
static char *config_with(const char *orig, const char *key, const char *value)
{
	size_t klen = strlen(key), cap = strlen(orig) + strlen(value) + 64;
	char *out = malloc(cap), *o = out;
	const char *p = orig;
	int done = 0;

	assert_non_null(out);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (!done && strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			o += snprintf(o, cap - (size_t)(o - out), "%s = %s\n",
				      key, value);
			done = 1;
		} else {
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	*o = '\0';
	return out;
}

static void write_config(const struct agent *a, const char *text, size_t len)
{
	unlink(a->h.sb.config);
	assert_int_equal(helper_proc_write_file(a->h.sb.config, text, len), 0);
}

/* Runs cmd with the config as text, expects code and needle, and finds
 * the store and the server unchanged. */
static void bad_config(struct agent *a, const char *what, const char *text,
		       size_t len, const char *cmd, int code,
		       const char *needle)
{
	struct helper_proc_result r;
	int64_t held = server_events(a), waiting = pending(a);

	write_config(a, text, len);
	if (strcmp(cmd, "sync") == 0)
		sync_run(a, &r);
	else
		AGENT(a, &r, cmd);
	fprintf(stderr, "  %-34s exit %d: %.*s", what, r.exit_code,
		(int)strcspn(r.err, "\n") + 1, r.err);
	expect_exit(&r, code, needle);
	expect_intact(a);
	assert_int_equal(pending(a), waiting);
	assert_int_equal(server_events(a), held);
}

static void test_corrupt_config(void **state)
{
	struct agent *a = agent_new("HB-613", NULL, 0);
	struct helper_proc_result r;
	char *orig, *text, other[400], url[96];
	size_t len;

	(void)state;
	record(a, "Trước khi hỏng cấu hình", 11);
	sync_ok(a);
	record(a, "Chờ gửi", 12);
	orig = helper_proc_read_file(a->h.sb.config, &len);
	assert_non_null(orig);

	/* bytes a disk error or a bad editor leaves */
	text = malloc(len + 8);
	assert_non_null(text);
	memcpy(text, orig, len);
	memcpy(text + len / 2, "\0\0\x01\xff", 4);
	bad_config(a, "NUL bytes mid-file", text, len, "sync", 78,
		   "NUL byte");
	memcpy(text + len / 2, "\xff\xfe\xfd\x80", 4);
	bad_config(a, "bytes that are not UTF-8", text, len, "sync", 78,
		   "invalid UTF-8");
	free(text);
	bad_config(a, "an empty file", "", 0, "sync", 78, "is missing");
	unlink(a->h.sb.config);
	assert_int_equal(mkdir(a->h.sb.config, 0700), 0);
	AGENT(a, &r, "sync");
	expect_exit(&r, 78, a->h.sb.config);
	assert_int_equal(rmdir(a->h.sb.config), 0);

	/* a token cut short (the save interrupted): the server refuses it */
	text = config_with(orig, "token", "3f2a9c");
	bad_config(a, "a token cut short", text, strlen(text), "sync", 78,
		   "401");
	free(text);
	/* settings that no longer match the store */
	text = config_with(orig, "device", "00000000-0000-4000-8000-000000000000");
	bad_config(a, "another device id", text, strlen(text), "sync", 78,
		   "belongs to device");
	free(text);
	text = config_with(orig, "school", "HB-999");
	bad_config(a, "another school", text, strlen(text), "sync", 78,
		   "belongs to device");
	free(text);
	snprintf(other, sizeof(other), "%s/elsewhere", a->h.sb.dir);
	text = config_with(orig, "data_dir", other);
	bad_config(a, "another data directory", text, strlen(text), "sync", 74,
		   "no store here");
	free(text);
	assert_true(access(other, F_OK) != 0); /* no empty store made */
	/* plain HTTP: refused before anything is sent, no downgrade */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", srv.port);
	text = config_with(orig, "server", url);
	bad_config(a, "server = http://", text, strlen(text), "sync", 78,
		   "must start with https://");
	free(text);

	/* Saved by a Windows editor (byte order mark, CRLF): read as is. */
	text = malloc(2 * len + 8);
	assert_non_null(text);
	memcpy(text, "\xEF\xBB\xBF", 3);
	{
		size_t i, k = 3;

		for (i = 0; i < len; i++) {
			if (orig[i] == '\n')
				text[k++] = '\r';
			text[k++] = orig[i];
		}
		write_config(a, text, k);
	}
	free(text);
	sync_ok(a);
	write_config(a, orig, len);
	record(a, "Sau khi sửa cấu hình", 13);
	sync_ok(a);
	expect_server_exact(a);
	free(orig);
	agent_free(a);
}

/* ---- a damaged store --------------------------------------------------------- */

static void test_corrupt_store(void **state)
{
	struct agent *a = agent_new("HB-614", NULL, 0);
	struct helper_proc_result r;
	char *good, *now;
	size_t len, nlen;
	char zeros[100];

	(void)state;
	record(a, "Trước khi hỏng tệp", 21);
	sync_ok(a);
	record(a, "Chờ gửi", 22);
	good = helper_proc_read_file(a->h.db, &len);
	assert_non_null(good);
	assert_true(len > 8192);

	/* cut in half (a copy that stopped), then a zeroed header: refused,
	 * and left exactly as it was */
	assert_int_equal(helper_proc_write_file(a->h.db, good, len / 2), 0);
	sync_run(a, &r);
	expect_exit(&r, 74, "malformed");
	AGENT(a, &r, "record", "outreach", "--date", "2025-11-20", "--title",
	      "x", "--parents", "1");
	expect_exit(&r, 74, "malformed");
	now = helper_proc_read_file(a->h.db, &nlen);
	assert_non_null(now);
	assert_int_equal(nlen, len / 2);
	assert_memory_equal(now, good, nlen);
	free(now);
	memset(zeros, 0, sizeof(zeros));
	assert_int_equal(helper_proc_write_file(a->h.db, zeros, sizeof(zeros)),
			 0);
	AGENT(a, &r, "status");
	expect_exit(&r, 74, "not a database");
	assert_int_equal(server_events(a), 1);

	/* the school's copy put back: nothing lost */
	assert_int_equal(helper_proc_write_file(a->h.db, good, len), 0);
	free(good);
	expect_intact(a);
	sync_ok(a);
	expect_server_exact(a);
	agent_free(a);
}

/* ---- the clock --------------------------------------------------------------- */

static int have_faketime(void)
{
	if (access(FAKETIME, X_OK) == 0)
		return 1;
	fprintf(stderr, "test_agent_faults: %s not found: the clock cases are "
		"skipped (scripts/deps.sh installs faketime)\n", FAKETIME);
	return 0;
}

/* The agent with the clock at when: a faketime offset ("-400d") or an
 * absolute time ("YYYY-MM-DD hh:mm:ss", which stands still). */
#define AGENT_AT(a, r, when, ...)                                          \
	do {                                                               \
		struct helper_proc_opts o_ = (a)->h.o;                     \
		o_.env = (a)->env;                                         \
		helper_proc_runl((r), &o_, FAKETIME, "-f", when,           \
				 TB_AGENT_BIN, __VA_ARGS__, NULL);          \
	} while (0)

static void test_clock_backwards(void **state)
{
	struct agent *a;
	struct helper_proc_result r;
	char id[40];

	(void)state;
	if (!have_faketime())
		skip();
	a = agent_new("HB-615", NULL, 0);
	AGENT(a, &r, "record", "outreach", "--date", "2025-11-20", "--title",
	      "Sẽ sửa lại", "--parents", "10");
	assert_true(helper_proc_exited_with(&r, 0));
	assert_true(r.out_len >= 36);
	memcpy(id, r.out, 36);
	id[36] = '\0';
	helper_proc_free(&r);
	a->events++, a->revisions++, a->parents += 10;
	record(a, "Thứ hai", 20);
	sync_ok(a);
	record(a, "Chờ gửi, ghi lúc đồng hồ đúng", 40);

	/* 400 days back: a correction, and a new event, recorded "before"
	 * the revisions they follow */
	AGENT_AT(a, &r, "-400d", "amend", id, "--parents", "25");
	expect_exit(&r, 0, NULL);
	a->revisions++, a->parents += 15;
	AGENT_AT(a, &r, "-400d", "record", "outreach", "--date",
		 "2025-11-20", "--title", "Lúc đồng hồ chậm", "--parents", "30");
	expect_exit(&r, 0, NULL);
	a->events++, a->revisions++, a->parents += 30;
	assert_true(agent_int(a, "SELECT recorded_at FROM queue WHERE "
			      "seq = 1") >
		    agent_int(a, "SELECT recorded_at FROM queue WHERE seq = 4"));
	/* the oldest waiting was recorded "400 days from now": age 0 */
	AGENT_AT(a, &r, "-400d", "status", "--json");
	assert_true(helper_proc_exited_with(&r, 0));
	assert_null(strstr(r.out, "\"oldest_pending_age_s\":\t-"));
	helper_proc_free(&r);
	/* to that clock the server's certificate is not valid yet: refused,
	 * saying why, nothing sent */
	AGENT_AT(a, &r, "-400d", "sync", "--tries", "1");
	expect_exit(&r, 78, "date and time");
	assert_int_equal(server_events(a), 2);

	/* the clock put right: the later revision wins though it was
	 * stamped earlier */
	sync_ok(a);
	expect_server_exact(a);
	assert_int_equal(helper_server_countf(&srv, "SELECT e.revision * 1000 + "
		"json_extract(h.fields, '$.parents') FROM events e JOIN "
		"event_history h ON h.id = e.id AND h.revision = e.revision "
		"WHERE e.id = '%s'", id), 2025);
	expect_intact(a);
	agent_free(a);
}

/* A clock outside the years the protocol carries (a dead CMOS battery):
 * refused when recording, not stored to be refused by the server later. */
static void test_clock_out_of_range(void **state)
{
	static const char *const clocks[] = { "1999-12-31 23:00:00",
					      "2101-01-02 08:00:00" };
	struct agent *a;
	struct helper_proc_result r;
	size_t i;

	(void)state;
	if (!have_faketime())
		skip();
	a = agent_new("HB-616", NULL, 0);
	record(a, "Đồng hồ đúng", 5);
	for (i = 0; i < 2; i++) {
		AGENT_AT(a, &r, clocks[i], "record", "outreach", "--date",
			 "2025-11-20", "--title", "Đồng hồ sai", "--parents",
			 "1");
		expect_exit(&r, 65, "clock");
		expect_intact(a);
	}
	AGENT(a, &r, "list");
	expect_exit(&r, 0, NULL);
	sync_ok(a);
	expect_server_exact(a);
	agent_free(a);
}

/* ---- certificates ------------------------------------------------------------ */

/* libfaketime preloaded by env, which execs (the faketime command forks,
 * and the helper's SIGTERM would reach it, not the server) */
static const char *const expired_clock[] = {
	"/usr/bin/env",
	"LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
	"FAKETIME=-45d", NULL
};

/* An impostor on 127.0.0.1 serving bad/NAME.pem. */
static void impostor_start(struct helper_server *imp, const char *name)
{
	assert_int_equal(helper_server_setup(imp), 0);
	snprintf(imp->cert, sizeof(imp->cert), "%s/%s.pem", bad, name);
	snprintf(imp->key, sizeof(imp->key), "%s/%s.key", bad, name);
	imp->no_health_check = 1;
	/* serve refuses an expired certificate: the impostor's clock is set
	 * inside its validity (made 60 days ago for 30 days) */
	if (strcmp(name, "expired") == 0)
		imp->wrapper = expired_clock;
	live_imp = imp;
	assert_int_equal(helper_server_start(imp, NULL), 0);
}

/* Requests that reached the impostor's HTTP layer. */
static int impostor_requests(const struct helper_server *imp)
{
	char *log = helper_proc_read_file(imp->log, NULL), *p;
	int n = 0;

	for (p = log; p && (p = strstr(p, " /v1/")); p++)
		n++;
	free(log);
	return n;
}

static void impostor_stop(struct helper_server *imp)
{
	live_imp = NULL;
	assert_int_equal(helper_server_stop(imp), 0);
	helper_server_teardown(imp);
}

static void point_at(struct agent *a, const char *url, const char *ca)
{
	struct helper_proc_result r;

	AGENT(a, &r, "init", "--server", url, "--school", a->h.school,
	      "--token", a->h.token, "--ca-file", ca);
	expect_exit(&r, 0, NULL);
}

static void test_bad_certificates(void **state)
{
	static const struct {
		const char *cert, *needle;
	} cases[] = {
		{ "wronghost", "127.0.0.1" },
		{ "selfsigned", "self" },
		{ "expired", "expired" },
	};
	struct agent *a = agent_new("HB-617", NULL, 0);
	struct helper_proc_result r;
	char ca[400], path[600];
	size_t i;

	(void)state;
	record(a, "Đã gửi", 2);
	sync_ok(a);
	record(a, "Không được gửi cho kẻ giả mạo", 3);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct helper_server imp; /* see live_imp */

		snprintf(path, sizeof(path), "%s/%s.pem", bad, cases[i].cert);
		if (access(path, R_OK) != 0) {
			fprintf(stderr, "  %s: not made (no faketime): "
				"skipped\n", cases[i].cert);
			continue;
		}
		impostor_start(&imp, cases[i].cert);
		point_at(a, imp.url, srv.ca);
		sync_run(a, &r);
		fprintf(stderr, "  %-10s exit %d: %s", cases[i].cert,
			r.exit_code, r.err);
		assert_non_null(strstr(r.err, cases[i].needle));
		expect_exit(&r, 78, "certificate could not be verified");
		assert_int_equal(impostor_requests(&imp), 0);
		assert_int_equal(pending(a), 1);
		impostor_stop(&imp);
	}
	/* the CA file gone: refused, not a fallback to anything else */
	snprintf(ca, sizeof(ca), "%s/ca.pem", a->h.sb.dir);
	{
		char *pem = helper_proc_read_file(srv.ca, NULL);

		assert_non_null(pem);
		assert_int_equal(helper_proc_write_file(ca, pem, strlen(pem)),
				 0);
		free(pem);
	}
	point_at(a, srv.url, ca);
	assert_int_equal(unlink(ca), 0);
	sync_run(a, &r);
	expect_exit(&r, 78, "ca_file: cannot read");
	assert_int_equal(server_events(a), 1);

	point_at(a, srv.url, srv.ca);
	sync_ok(a);
	expect_server_exact(a);
	expect_intact(a);
	agent_free(a);
}

/* Runs the agent in a mount namespace where /etc/ssl/certs is dir. */
static void sync_with_system_cas(struct agent *a, const char *dir,
				 struct helper_proc_result *r)
{
	helper_proc_runl(r, &a->h.o, UNSHARE, "--mount", "--", "sh", "-c",
			 "mount --bind \"$1\" /etc/ssl/certs && shift && "
			 "exec \"$@\"", "sh", dir, TB_AGENT_BIN, "sync",
			 "--tries", "1", NULL);
}

/* A ca_file means that CA only: an impostor with a certificate from a CA
 * the system trusts gets nothing (libcurl adds the system's CA directory
 * unless told not to; agent/http.c tells it). The system's store is
 * replaced, for the agent only, by a directory holding that CA. */
static void test_ca_file_only(void **state)
{
	static struct helper_server imp; /* see live_imp */
	struct helper_proc_result r;
	struct agent *a;
	char sys[HELPER_SERVER_PATH + 16];
	char *conf, *text;

	(void)state;
	snprintf(sys, sizeof(sys), "%s/sysca", bad);
	impostor_start(&imp, "system");
	a = agent_new("HB-618", imp.url, 0);
	record(a, "Không được gửi cho kẻ giả mạo", 4);

	/* Control: with no ca_file (the system's CAs) the namespace works
	 * and the impostor is trusted; skipped where unshare is not
	 * allowed. */
	conf = helper_proc_read_file(a->h.sb.config, NULL);
	assert_non_null(conf);
	text = config_with(conf, "ca_file", "");
	write_config(a, text, strlen(text));
	free(text);
	sync_with_system_cas(a, sys, &r);
	if (!r.exited || (r.exit_code != 78 && r.exit_code != 0) ||
	    impostor_requests(&imp) == 0) {
		fprintf(stderr, "test_agent_faults: cannot swap the system's CA "
			"directory with unshare (exit %d: %s): skipped\n",
			r.exit_code, r.err);
		helper_proc_free(&r);
		free(conf);
		impostor_stop(&imp);
		agent_free(a);
		skip();
	}
	helper_proc_free(&r);

	/* With the real CA as ca_file: refused, nothing reaches it. */
	write_config(a, conf, strlen(conf));
	free(conf);
	{
		int before = impostor_requests(&imp);

		sync_with_system_cas(a, sys, &r);
		expect_exit(&r, 78, "certificate could not be verified");
		assert_int_equal(impostor_requests(&imp), before);
	}
	assert_int_equal(pending(a), 1);
	impostor_stop(&imp);
	point_at(a, srv.url, srv.ca);
	sync_ok(a);
	expect_server_exact(a);
	agent_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_disk_full, teardown),
		cmocka_unit_test_teardown(test_read_only, teardown),
		cmocka_unit_test_teardown(test_corrupt_config, teardown),
		cmocka_unit_test_teardown(test_corrupt_store, teardown),
		cmocka_unit_test_teardown(test_clock_backwards, teardown),
		cmocka_unit_test_teardown(test_clock_out_of_range, teardown),
		cmocka_unit_test_teardown(test_bad_certificates, teardown),
		cmocka_unit_test_teardown(test_ca_file_only, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
