/* test_backup.c - `tienbo-server backup` while agents sync, the database
 * lost, `restore`, and the agents converge again. Real binaries
 * (TB_AGENT_BIN, TB_SERVER_BIN), HTTPS on 127.0.0.1, temp dirs.
 *
 *  - converge: two schools record and sync in the background while
 *    backups are taken at random moments (several, gzip'd or not); after
 *    one of them, events are amended and voided, a third school's token is
 *    revoked and a fourth school is enrolled. The restore is refused while
 *    the server runs (exit 69, the database untouched). The server is
 *    stopped, its database deleted (its -wal and -shm left behind), one
 *    backup restored (no --force: nothing to roll back), which names the
 *    school enrolled after it; the server restarts and the agents sync.
 *    Then every revision each agent recorded is on the server exactly
 *    once (id, revision and seq, in order), the current revisions and the
 *    sum of parents match the agent's store, the revoked token gets 401
 *    (the journal re-applied it) and so does the token made after the
 *    backup.
 *  - refusals: a backup of a missing database, --gzip without .gz and the
 *    reverse; a restore from a missing file, from bytes that are not
 *    SQLite, from another program's SQLite file, from a cut gzip, and over
 *    a sound database without --force: each refused with the database
 *    unchanged byte for byte; a --gzip and a plain round trip with
 *    --force keep every count and leave the old file beside it.
 *
 * Randomness from one seed, printed, and taken from TB_FAULT_SEED when
 * set. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/event.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"

#define ROUNDS 4        /* record, sync in the background, back up */
#define ROUND_ROWS 150  /* events per agent and round */
#define KEEP 1          /* the backup restored (0-based) */
#define CONVERGE_RUNS 20

static unsigned seed;

static int group_setup(void **state)
{
	const char *env = getenv("TB_FAULT_SEED");

	(void)state;
	seed = env && *env ? (unsigned)strtoul(env, NULL, 10)
			   : (unsigned)time(NULL) ^ (unsigned)getpid();
	fprintf(stderr, "test_backup: seed %u (TB_FAULT_SEED=%u replays it)\n",
		seed, seed);
	srand(seed);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* The one text a query on the SQLite file at path gives (malloc'd, ""
 * for NULL), or NULL; ?1 is arg when not NULL. */
static char *sql_text(const char *path, const char *sql, const char *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (!arg || sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC) ==
			     SQLITE_OK) &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		v = strdup(t ? (const char *)t : "");
	}
	if (!v)
		fprintf(stderr, "%s: %s: %s\n", path, sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Runs tienbo-server with args (--db srv->db added), stdout into out.
 * Returns the exit status. */
#define SERVER(s, out, ...)                                                \
	helper_server_run((s), (out), sizeof(out),                         \
			  (const char *const[]){ __VA_ARGS__, NULL })

struct agent {
	struct helper_server_agent h;
	char token[80];
	int64_t rows;
};

static struct agent *agent_new(struct helper_server *s, const char *school)
{
	struct agent *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	assert_int_equal(helper_server_enroll(s, school, "HB-D9", a->token),
			 0);
	assert_int_equal(helper_server_agent_init(s, &a->h, NULL, school,
						  a->token), 0);
	return a;
}

static void agent_free(struct agent *a)
{
	if (!a)
		return;
	helper_server_agent_cleanup(&a->h);
	free(a);
}

/* Imports n more outreach events (one transaction: the next n seqs). */
static void load(struct agent *a, int n)
{
	struct helper_proc_result r;
	size_t cap = 64 + (size_t)n * 80, len;
	char path[400], *csv = malloc(cap);
	int i;

	assert_non_null(csv);
	len = (size_t)snprintf(csv, cap, "kind,date,title,parents\n");
	for (i = 1; i <= n; i++)
		len += (size_t)snprintf(csv + len, cap - len,
					"outreach,2025-11-20,Buổi %lld,%lld\n",
					(long long)(a->rows + i),
					(long long)((a->rows + i) % 97 + 1));
	snprintf(path, sizeof(path), "%s/rows.csv", a->h.sb.dir);
	assert_int_equal(helper_proc_write_file(path, csv, len), 0);
	free(csv);
	helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "import", path, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	a->rows += n;
}

/* Amends (or voids) the event of the agent's seq: a new revision. */
static void correct(struct agent *a, int64_t seq, int voiding)
{
	struct helper_proc_result r;
	char id[TB_ID_LEN];

	assert_int_equal(tb_uuid_for_device(a->h.device, seq, id), 0);
	if (voiding)
		helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "void", id,
				 "--reason", "Nhập trùng", NULL);
	else
		helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "amend", id,
				 "--parents", "500", NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
}

static const char *const sync_argv[] = {
	TB_AGENT_BIN, "sync", "--batch", "20", "--tries", "4", "--backoff-ms",
	"20", "--backoff-max-ms", "200", "--timeout", "10", NULL
};

static int64_t pending(const struct agent *a)
{
	return helper_server_db_int(a->h.db,
				    "SELECT count(*) FROM queue WHERE state = 0");
}

/* Sync runs until one ends 0 with nothing waiting; at most runs. */
static int converge(struct agent *a, int runs)
{
	int i;

	for (i = 1; i <= runs; i++) {
		struct helper_proc_result r;
		int ok;

		helper_proc_run(sync_argv, &a->h.o, &r);
		ok = helper_proc_exited_with(&r, 0);
		if (!ok)
			fprintf(stderr, "sync run %d: exit %d: %s", i,
				r.exit_code, r.err);
		helper_proc_free(&r);
		if (ok && pending(a) == 0)
			return i;
	}
	return -1;
}

/* A sync that the server refuses with 401: exit 78, nothing sent. */
static void expect_refused(struct helper_server *s, struct agent *a)
{
	struct helper_server_resp resp;
	struct helper_proc_result r;
	char path[128];

	helper_proc_run(sync_argv, &a->h.o, &r);
	if (!helper_proc_exited_with(&r, 78))
		fail_msg("sync with a refused token: exit %d\n%s%s",
			 r.exit_code, r.out, r.err);
	helper_proc_free(&r);
	snprintf(path, sizeof(path), "/v1/cursor?device=%s", a->h.device);
	assert_int_equal(helper_server_request(s, "GET", path, a->token, NULL,
					       NULL, NULL, 0, 0, &resp), 0);
	assert_int_equal(resp.status, 401);
	helper_server_resp_free(&resp);
}

/* The server holds exactly what the agent recorded: every revision once
 * (id:revision:seq in seq order), the current revision of every event,
 * and the sum of parents of those not voided. */
static void expect_same(struct helper_server *s, const struct agent *a)
{
	static const char *const pairs[][2] = {
		{ "SELECT group_concat(id || ':' || revision || ':' || seq)"
		  " FROM (SELECT * FROM queue ORDER BY seq)",
		  "SELECT group_concat(id || ':' || revision || ':' || seq)"
		  " FROM (SELECT * FROM event_history WHERE device = ?1"
		  " ORDER BY seq)" },
		{ "SELECT group_concat(id || ':' || revision || ':' || voided)"
		  " FROM (SELECT * FROM queue q WHERE revision = (SELECT"
		  " max(revision) FROM queue WHERE id = q.id) ORDER BY id)",
		  "SELECT group_concat(id || ':' || revision || ':' || voided)"
		  " FROM (SELECT e.* FROM events e JOIN event_history h ON"
		  " h.id = e.id AND h.revision = e.revision WHERE h.device ="
		  " ?1 ORDER BY e.id)" },
		{ "SELECT count(*) || ' ' || total(json_extract(fields,"
		  " '$.parents')) FROM queue q WHERE voided = 0 AND revision ="
		  " (SELECT max(revision) FROM queue WHERE id = q.id)",
		  "SELECT count(*) || ' ' || total(json_extract(h.fields,"
		  " '$.parents')) FROM events e JOIN event_history h ON h.id ="
		  " e.id AND h.revision = e.revision WHERE h.device = ?1 AND"
		  " e.voided = 0" },
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *want = sql_text(a->h.db, pairs[i][0], NULL);
		char *got = sql_text(s->db, pairs[i][1], a->h.device);

		assert_non_null(want);
		assert_non_null(got);
		if (strcmp(want, got) != 0)
			fail_msg("%s: the server holds\n%.300s\nthe agent "
				 "recorded\n%.300s", a->h.school, got, want);
		free(want);
		free(got);
	}
	assert_int_equal(helper_server_countf(s, "SELECT count(*) FROM "
		"rejections WHERE device = '%s'", a->h.device), 0);
}

/* ---- back up while syncing, lose, restore, converge --------------------- */

/* One round: both agents record and sync in the background; a backup is
 * taken at a random moment of it into path. */
static void round_backup(struct helper_server *s, struct agent **ag,
			 const char *path, int gzip)
{
	struct helper_proc_bg bg[2];
	char out[1024];
	int i, rc;

	for (i = 0; i < 2; i++) {
		load(ag[i], ROUND_ROWS);
		assert_int_equal(helper_proc_bg_start(&bg[i], sync_argv,
						      &ag[i]->h.o,
						      ag[i]->h.sb.dir, "sync"),
				 0);
	}
	helper_proc_sleep_ms(rand() % 600);
	rc = gzip ? SERVER(s, out, "backup", "--to", path, "--gzip")
		  : SERVER(s, out, "backup", "--to", path);
	if (rc != 0)
		fail_msg("backup to %s: exit %d", path, rc);
	assert_non_null(strstr(out, "integrity_check ok"));
	for (i = 0; i < 2; i++) {
		struct helper_proc_result r;

		assert_int_equal(helper_proc_bg_wait(&bg[i], 60000, &r), 0);
		assert_true(helper_proc_exited_with(&r, 0));
		helper_proc_free(&r);
	}
}

static void test_backup_restore_converges(void **state)
{
	struct helper_server srv;
	struct agent *ag[4];
	char path[ROUNDS][600], out[8192], wal[600];
	int64_t before;
	unsigned port;
	struct stat st;
	int i;

	(void)state;
	assert_int_equal(helper_server_up(&srv), 0);
	port = srv.port;
	ag[0] = agent_new(&srv, "HB-901");
	ag[1] = agent_new(&srv, "HB-902");
	ag[2] = agent_new(&srv, "HB-903");
	load(ag[2], 30);
	assert_true(converge(ag[2], CONVERGE_RUNS) > 0);
	for (i = 0; i < ROUNDS; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/b%d.db%s", srv.dir, i,
			 i % 2 ? "" : ".gz");
		round_backup(&srv, ag, path[i], i % 2 == 0);
		assert_int_equal(stat(path[i], &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		if (i == KEEP) {
			/* after the backup restored: corrections, a
			 * revocation, an enrolment */
			correct(ag[0], 3, 0);
			correct(ag[0], 5, 1);
			correct(ag[1], 7, 0);
			assert_int_equal(SERVER(&srv, out, "revoke",
						"--school", "HB-903"), 0);
			ag[3] = agent_new(&srv, "HB-904");
			load(ag[3], 10);
		}
	}
	/* refused while the server runs, even with --force */
	before = helper_server_count(&srv, "SELECT count(*) FROM events");
	assert_int_equal(SERVER(&srv, out, "restore", "--from", path[KEEP],
				"--force"), 69);
	assert_int_equal(helper_server_count(&srv,
		"SELECT count(*) FROM events"), before);
	assert_int_equal(helper_server_stop(&srv), 0);

	/* the disk lost the database; a stale WAL must not meet the copy */
	snprintf(wal, sizeof(wal), "%s-wal", srv.db);
	assert_int_equal(helper_proc_write_file(wal, "stale", 5), 0);
	assert_int_equal(unlink(srv.db), 0);
	assert_int_equal(SERVER(&srv, out, "restore", "--from", path[KEEP]),
			 0);
	fprintf(stderr, "%s", out);
	assert_non_null(strstr(out, "HB-904: token "));
	assert_non_null(strstr(out, "enroll it again and run tienbo-agent "
				    "init with the new token"));
	assert_null(strstr(out, "HB-901: token"));
	assert_non_null(strstr(out, "1 token revoked after this backup "
				    "revoked again"));
	assert_int_equal(stat(srv.db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(helper_server_check(&srv), 0);
	assert_int_equal(helper_server_start_on(&srv, port, NULL), 0);

	/* the server lost the rounds after the backup: the agents resend */
	assert_true(helper_server_countf(&srv, "SELECT count(*) FROM events e "
		"JOIN event_history h ON h.id = e.id AND h.revision = "
		"e.revision WHERE h.device = '%s'", ag[0]->h.device) <
		    ag[0]->rows);
	for (i = 0; i < 2; i++) {
		assert_true(converge(ag[i], CONVERGE_RUNS) > 0);
		expect_same(&srv, ag[i]);
	}
	expect_refused(&srv, ag[2]); /* revoked after the backup */
	expect_refused(&srv, ag[3]); /* enrolled after the backup */
	assert_int_equal(helper_server_stop(&srv), 0);
	assert_int_equal(helper_server_check(&srv), 0);
	for (i = 0; i < 4; i++)
		agent_free(ag[i]);
	helper_server_teardown(&srv);
}

/* ---- refusals and round trips ------------------------------------------- */

/* The database file's bytes, to show a refusal left it as it was. */
static char *db_bytes(struct helper_server *s, size_t *len)
{
	char *b = helper_proc_read_file(s->db, len);

	assert_non_null(b);
	return b;
}

static void expect_untouched(struct helper_server *s, const char *before,
			     size_t len)
{
	size_t now_len = 0;
	char *now = db_bytes(s, &now_len);

	assert_int_equal(now_len, len);
	assert_memory_equal(now, before, len);
	free(now);
}

static void test_refusals_and_round_trips(void **state)
{
	struct helper_server srv;
	char out[4096], p[6][600], *orig, *gz;
	size_t len, gzlen;
	struct agent *a;
	int64_t events;
	unsigned port;
	int i;

	(void)state;
	assert_int_equal(helper_server_up(&srv), 0);
	port = srv.port;
	a = agent_new(&srv, "HB-911");
	load(a, 40);
	assert_true(converge(a, CONVERGE_RUNS) > 0);
	for (i = 0; i < 6; i++)
		snprintf(p[i], sizeof(p[i]), "%s/f%d%s", srv.dir, i,
			 i == 0 ? ".db.gz" : i == 1 ? ".db" : "");
	assert_int_equal(SERVER(&srv, out, "backup", "--to", p[0], "--gzip"), 0);
	assert_int_equal(SERVER(&srv, out, "backup", "--to", p[1]), 0);
	/* names and a missing database */
	assert_int_equal(SERVER(&srv, out, "backup", "--to", p[2], "--gzip"),
			 64);
	assert_int_equal(SERVER(&srv, out, "backup", "--to", p[0]), 64);
	assert_int_equal(SERVER(&srv, out, "backup", "--db", p[3], "--to",
				p[4]), 65);
	assert_int_equal(access(p[4], F_OK), -1);
	assert_int_equal(access(p[3], F_OK), -1);
	events = helper_server_count(&srv, "SELECT count(*) FROM events");
	if (events != 40) {
		helper_server_log_tail(&srv, 3000);
		fail_msg("%lld events on the server, 40 recorded",
			 (long long)events);
	}
	assert_int_equal(helper_server_stop(&srv), 0);

	orig = db_bytes(&srv, &len);
	/* not SQLite; another program's SQLite; a cut gzip; missing */
	assert_int_equal(helper_proc_write_file(p[2], "hello, world\n", 13), 0);
	assert_int_equal(SERVER(&srv, out, "restore", "--from", p[2],
				"--force"), 65);
	{
		sqlite3 *o = NULL;

		assert_int_equal(sqlite3_open(p[3], &o), SQLITE_OK);
		assert_int_equal(sqlite3_exec(o, "CREATE TABLE t(x);"
					      "INSERT INTO t VALUES(1)", NULL,
					      NULL, NULL), SQLITE_OK);
		sqlite3_close(o);
	}
	assert_int_equal(SERVER(&srv, out, "restore", "--from", p[3],
				"--force"), 65);
	gz = helper_proc_read_file(p[0], &gzlen);
	assert_non_null(gz);
	snprintf(p[4], sizeof(p[4]), "%s/cut.db.gz", srv.dir);
	assert_int_equal(helper_proc_write_file(p[4], gz, gzlen / 2), 0);
	free(gz);
	assert_int_equal(SERVER(&srv, out, "restore", "--from", p[4],
				"--force"), 65);
	assert_int_equal(SERVER(&srv, out, "restore", "--from", p[5],
				"--force"), 65);
	/* a sound database is rolled back only with --force */
	assert_int_equal(SERVER(&srv, out, "restore", "--from", p[0]), 65);
	expect_untouched(&srv, orig, len);
	free(orig);

	/* round trips, gzip'd and plain: every count kept, the old file
	 * beside */
	assert_int_equal(SERVER(&srv, out, "restore", "--from", p[0],
				"--force"), 0);
	assert_non_null(strstr(out, "is kept as"));
	assert_int_equal(helper_server_count(&srv,
		"SELECT count(*) FROM events"), events);
	assert_int_equal(SERVER(&srv, out, "restore", "--from", p[1],
				"--force"), 0);
	assert_int_equal(helper_server_count(&srv,
		"SELECT count(*) FROM events"), events);
	assert_int_equal(helper_server_check(&srv), 0);
	assert_int_equal(helper_server_start_on(&srv, port, NULL), 0);
	assert_true(converge(a, CONVERGE_RUNS) > 0);
	expect_same(&srv, a);
	assert_int_equal(helper_server_stop(&srv), 0);
	agent_free(a);
	helper_server_teardown(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_restore_converges),
		cmocka_unit_test(test_refusals_and_round_trips),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
