/* test_merge.c - server/merge.c on batches of hundreds of events, where
 * accepted revisions are written 32 rows per INSERT: a second revision of
 * an event still waiting in that list, a conflicting copy of a revision
 * accepted a few events earlier, duplicates and stale revisions, all in one
 * batch, give the counts, rows and roll-ups the merge rules say (worked
 * out below from the batch, event by event). A real database file, merged
 * in-process through tb_merge_batch; in test_merge_pg (TB_TEST_DB=pg) a
 * fresh PostgreSQL database of the test cluster instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/date.h"
#include "common/event.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/mem_sqlite.h"
#include "protocol/codec.h"
#include "server/sql.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/merge.h"
#include "server/report.h"
#include "tests/helper_pg.h"

#define SCHOOL "HB-301"
#define DEVICE "21111111-2222-4333-8444-000000000001"

static char tmpdir[64];
static char pgurl[512]; /* the PostgreSQL database under TB_TEST_DB=pg */
static struct tb_sql *db;
static struct tb_principal who;

/* Outreach event: id "a" or "b" series number n, `parents` reached. */
static void make(struct tb_event *e, char series, int n, int64_t revision,
		 int64_t seq, int parents)
{
	char msg[TB_MSG_LEN] = "", num[24];

	tb_event_init(e, TB_KIND_OUTREACH);
	snprintf(e->id, sizeof(e->id), "%c0000000-0000-4000-8000-%012d",
		 series, n);
	snprintf(e->school, sizeof(e->school), "%s", SCHOOL);
	e->date = tb_date_from_ymd(2025, 3, 8);
	e->revision = revision;
	e->seq = seq;
	e->recorded_at = 1741392000 + seq;
	assert_int_equal(tb_event_set(e, "title", "Họp phụ huynh", msg,
				      sizeof(msg)), 0);
	snprintf(num, sizeof(num), "%d", parents);
	assert_int_equal(tb_event_set(e, "parents", num, msg, sizeof(msg)), 0);
}

/* An empty batch of the test's school and device. */
static void batch_start(struct tb_batch *b)
{
	tb_batch_init(b);
	snprintf(b->school, sizeof(b->school), "%s", SCHOOL);
	snprintf(b->device, sizeof(b->device), "%s", DEVICE);
}

static void add(struct tb_batch *b, char series, int n, int64_t revision,
		int parents)
{
	struct tb_event e;

	make(&e, series, n, revision, (int64_t)b->count + 1, parents);
	assert_int_equal(tb_batch_add(b, &e), 0);
	tb_event_clear(&e);
}

/* Merges b and checks the acknowledgement's counts; ack is left filled
 * for the caller to look at and clear. */
static void merge_expect(struct tb_batch *b, struct tb_ack *ack,
			 int64_t accepted, int64_t duplicates, size_t rejected,
			 int64_t through)
{
	struct tb_merge_result res;

	tb_ack_init(ack);
	assert_int_equal(tb_merge_batch(db, &who, b, ack, &res), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(ack->accepted, accepted);
	assert_int_equal(ack->duplicates, duplicates);
	assert_int_equal(ack->nrejected, rejected);
	assert_int_equal(ack->committed_through, through);
}

static int64_t count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int64_t count(const char *fmt, ...)
{
	char sql[512];
	struct tb_stmt *st = NULL;
	int64_t v = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(tb_sql_prepare(db, sql, 0, &st), TB_OK);
	if (tb_sql_step(st) == TB_SQL_ROW)
		v = tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	return v;
}

/* The stored event's parents (a JSON number in body), in SQL. */
/* The current revisions, as e with their history rows h. */
#define CURRENT                                                          \
	" events e JOIN event_history h ON h.id = e.id AND h.revision ="   \
	" e.revision"

static const char *parents(void)
{
	return tb_sql_backend(db) == TB_SQL_PG
		       ? "CAST(CAST(h.fields AS jsonb)->>'parents' AS bigint)"
		       : "json_extract(h.fields, '$.parents')";
}

/* Rows in events and event_history, and the roll-up of the test's day. */
static void expect_held(int64_t events, int64_t history, int64_t day_n)
{
	assert_int_equal(count("SELECT count(*) FROM events"), events);
	assert_int_equal(count("SELECT count(*) FROM event_history"), history);
	assert_int_equal(count("SELECT n FROM report_day WHERE school = '"
			       SCHOOL "' AND day = 20250308"), day_n);
}

static int setup(void **state)
{
	struct tb_org_school s = {SCHOOL, "Trường thử", "TH", "HB-D3", NULL};
	struct tb_db_opts o = {0, 1, 0, 1}; /* create */
	char path[512], msg[256] = "", token[TB_TOKEN_LEN + 1];
	int64_t id;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-merge-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/server.db", tmpdir);
	if (helper_pg_wanted()) {
		if (helper_pg_newdb(pgurl, sizeof(pgurl)) != 0)
			return -1;
		snprintf(path, sizeof(path), "%s", pgurl);
	}
	if (tb_db_open(path, &o, &db, msg, sizeof(msg)) ||
	    tb_report_init(db, msg, sizeof(msg)) ||
	    tb_auth_enroll(db, &s, token, &id, msg, sizeof(msg)) ||
	    tb_auth_device(db, token, &who)) {
		fprintf(stderr, "setup: %s\n", msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	tb_sql_close(db);
	if (pgurl[0])
		helper_pg_dropdb(pgurl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One batch of 100 (seq 1..100):
 *   1..70   a0..a69, revision 1, parents = n        70 accepted
 *   71      a66 revision 2, parents 1000             accepted (a66, seq
 *           67, still waits in the list: the list is written at 32 and 64)
 *   72      a66 revision 2, parents 2000             rejected: the same
 *           revision with other content (the one of seq 71, itself waiting)
 *   73      a10 revision 1, parents 10               duplicate (= seq 11)
 *   74      a10 revision 1, parents 11               rejected
 *   75      a66 revision 1                           duplicate (held at 2)
 *   76..100 b0..b24, revision 1, parents 1           25 accepted
 * accepted 96, duplicates 2, rejected 2; events: 70 + 25 rows, a66 at
 * revision 2; history: 96 rows, a66 twice. Roll-up of 2025-03-08:
 * n = 95, parents = (0 + ... + 69) - 66 + 1000 + 25 = 2415 - 66 + 1025
 * = 3374. */
static void test_big_batch_in_runs_of_32(void **state)
{
	struct tb_batch b;
	struct tb_ack ack;

	(void)state;
	batch_start(&b);
	for (int n = 0; n < 70; n++)
		add(&b, 'a', n, 1, n);
	add(&b, 'a', 66, 2, 1000);
	add(&b, 'a', 66, 2, 2000);
	add(&b, 'a', 10, 1, 10);
	add(&b, 'a', 10, 1, 11);
	add(&b, 'a', 66, 1, 66);
	for (int n = 0; n < 25; n++)
		add(&b, 'b', n, 1, 1);
	assert_int_equal(b.count, 100);
	merge_expect(&b, &ack, 96, 2, 2, 100);
	assert_int_equal(ack.rejected[0].seq, 72);
	assert_int_equal(ack.rejected[1].seq, 74);
	assert_non_null(strstr(ack.rejected[0].reason, "different content"));
	tb_ack_clear(&ack);
	tb_batch_clear(&b);

	expect_held(95, 96, 95);
	assert_int_equal(count("SELECT revision FROM events WHERE id ="
			       " 'a0000000-0000-4000-8000-000000000066'"), 2);
	assert_int_equal(count("SELECT %s FROM" CURRENT " WHERE e.id ="
			       " 'a0000000-0000-4000-8000-000000000066'",
			       parents()), 1000);
	assert_int_equal(count("SELECT count(*) FROM event_history WHERE id ="
			       " 'a0000000-0000-4000-8000-000000000066'"), 2);
	assert_int_equal(count("SELECT %s FROM" CURRENT " WHERE e.id ="
			       " 'a0000000-0000-4000-8000-000000000010'",
			       parents()), 10);
	assert_int_equal(count("SELECT sum(seq) FROM event_history WHERE id"
			       " LIKE 'b%%'"), (76 + 100) * 25 / 2);
	assert_int_equal(count("SELECT c_parents FROM report_day WHERE school"
			       " = '" SCHOOL "' AND day = 20250308"), 3374);
	assert_int_equal(count("SELECT c_parents FROM report_year WHERE school"
			       " = '" SCHOOL "' AND year = 2025"), 3374);
	assert_int_equal(count("SELECT count(*) FROM rejections"), 2);
}

/* The next batch (seq 101..140) resends a0..a31 with revision 2 (40
 * parents each; 32 rows: exactly one full INSERT) and 8 new c events, and
 * the one after it resends the whole batch: all duplicates, nothing
 * changes. Roll-up: n = 95 + 8 = 103; parents = 3374 - (0 + ... + 31)
 * + 32 * 40 + 8 * 7 = 3374 - 496 + 1280 + 56 = 4214. */
static void test_second_revisions_and_resend(void **state)
{
	struct tb_batch b;
	struct tb_ack ack;
	struct tb_event e;

	(void)state;
	batch_start(&b);
	for (int n = 0; n < 40; n++) {
		make(&e, n < 32 ? 'a' : 'c', n, n < 32 ? 2 : 1, 101 + n,
		     n < 32 ? 40 : 7);
		assert_int_equal(tb_batch_add(&b, &e), 0);
		tb_event_clear(&e);
	}
	for (int round = 0; round < 2; round++) {
		merge_expect(&b, &ack, round ? 0 : 40, round ? 40 : 0, 0, 140);
		tb_ack_clear(&ack);
	}
	tb_batch_clear(&b);
	expect_held(103, 136, 103);
	assert_int_equal(count("SELECT count(*) FROM events WHERE revision ="
			       " 2"), 33);
	assert_int_equal(count("SELECT c_parents FROM report_month WHERE"
			       " school = '" SCHOOL "' AND month = 202503"),
			 4214);
}

/* Everything a merge may write, as one text (malloc'd, free). */
static char *state_text(void)
{
	static const char *const sqlite_q[] = {
		"SELECT group_concat(id || ':' || revision || ':' || voided ||"
		" ':' || school || ':' || date, ',') FROM (SELECT * FROM events"
		" ORDER BY id)",
		"SELECT group_concat(id || ':' || revision || ':' ||"
		" hex(content_hash) || ':' || fields, ',') FROM (SELECT * FROM"
		" event_history ORDER BY id, revision)",
		"SELECT group_concat(seq || ':' || event_id || ':' || reason,"
		" ',') FROM (SELECT * FROM rejections ORDER BY id)",
		"SELECT group_concat(device || ':' || committed_through, ',')"
		" FROM (SELECT * FROM cursors ORDER BY device)",
		"SELECT group_concat(id || ':' || coalesce(device, '') || ':' ||"
		" coalesce(last_seen, ''), ',') FROM (SELECT * FROM devices"
		" ORDER BY id)",
		"SELECT group_concat(school || day || ':' || kind || ':' || n ||"
		" ':' || c_parents, ',') FROM (SELECT * FROM report_day ORDER BY"
		" 1, 2, 3)",
		"SELECT group_concat(school || month || ':' || kind || ':' || n"
		" || ':' || c_parents, ',') FROM (SELECT * FROM report_month"
		" ORDER BY 1, 2, 3)",
		"SELECT group_concat(school || year || ':' || kind || ':' || n ||"
		" ':' || c_parents, ',') FROM (SELECT * FROM report_year ORDER"
		" BY 1, 2, 3)",
	};
	/* the same on PostgreSQL: string_agg, encode(..., 'hex') */
	static const char *const pg_q[] = {
		"SELECT string_agg(id || ':' || revision || ':' || voided || ':'"
		" || school || ':' || date, ',' ORDER BY id) FROM events",
		"SELECT string_agg(id || ':' || revision || ':' ||"
		" encode(content_hash, 'hex') || ':' || fields, ',' ORDER BY id,"
		" revision) FROM event_history",
		"SELECT string_agg(seq || ':' || event_id || ':' || reason, ','"
		" ORDER BY id) FROM rejections",
		"SELECT string_agg(device || ':' || committed_through, ',' ORDER"
		" BY device) FROM cursors",
		"SELECT string_agg(id || ':' || coalesce(device, '') || ':' ||"
		" coalesce(CAST(last_seen AS text), ''), ',' ORDER BY id) FROM"
		" devices",
		"SELECT string_agg(school || day || ':' || kind || ':' || n || ':'"
		" || c_parents, ',' ORDER BY school, day, kind) FROM report_day",
		"SELECT string_agg(school || month || ':' || kind || ':' || n ||"
		" ':' || c_parents, ',' ORDER BY school, month, kind) FROM"
		" report_month",
		"SELECT string_agg(school || year || ':' || kind || ':' || n || ':'"
		" || c_parents, ',' ORDER BY school, year, kind) FROM report_year",
	};
	int pg = tb_sql_backend(db) == TB_SQL_PG;
	const char *const *q = pg ? pg_q : sqlite_q;
	size_t len = 1, cap = 1 << 16;
	char *out = malloc(cap);

	_Static_assert(sizeof(pg_q) == sizeof(sqlite_q), "one query each");
	assert_non_null(out);
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(pg_q) / sizeof(pg_q[0]); i++) {
		struct tb_stmt *st = NULL;
		const char *t = "";
		size_t n;

		assert_int_equal(tb_sql_prepare(db, q[i], 0, &st),
				 TB_OK);
		if (tb_sql_step(st) == TB_SQL_ROW && tb_sql_column_text(st, 0))
			t = tb_sql_column_text(st, 0);
		n = strlen(t);
		while (len + n + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + len - 1, t, n);
		len += n + 1;
		out[len - 2] = '|';
		out[len - 1] = '\0';
		tb_sql_finalize(st);
	}
	return out;
}

/* Copies database from into to (both "main"); to NULL: into a new
 * in-memory database, returned. Run with the failure counter disarmed. */
static sqlite3 *copy_db(sqlite3 *from, sqlite3 *to)
{
	sqlite3_backup *bk;

	if (!to)
		assert_int_equal(sqlite3_open(":memory:", &to), SQLITE_OK);
	bk = sqlite3_backup_init(to, "main", from, "main");
	assert_non_null(bk);
	assert_int_equal(sqlite3_backup_step(bk, -1), SQLITE_DONE);
	assert_int_equal(sqlite3_backup_finish(bk), SQLITE_OK);
	return to;
}

/* The database as it is, to put back later: on SQLite an in-memory copy
 * (the backup API); on PostgreSQL a database copied from it as a template
 * (helper_pg_copydb), which needs the test's connection closed meanwhile.
 * Run with the failure counter disarmed. */
struct snap {
	sqlite3 *mem;
	char url[sizeof(pgurl) + 8];
};

static void reopen_pg(void)
{
	struct tb_db_opts o = {0, 1, 0, 0};
	char msg[256] = "";

	if (tb_db_open(pgurl, &o, &db, msg, sizeof(msg)) != 0)
		fail_msg("reopen: %s", msg);
}

static void snap_take(struct snap *sn)
{
	if (tb_sql_backend(db) == TB_SQL_SQLITE) {
		sn->mem = copy_db(tb_sql_sqlite(db), NULL);
		return;
	}
	snprintf(sn->url, sizeof(sn->url), "%s_snap", pgurl);
	tb_sql_close(db);
	db = NULL;
	assert_int_equal(helper_pg_copydb(pgurl, sn->url), 0);
	reopen_pg();
}

static void snap_restore(struct snap *sn)
{
	if (sn->mem) {
		copy_db(sn->mem, tb_sql_sqlite(db));
		return;
	}
	tb_sql_close(db);
	db = NULL;
	assert_int_equal(helper_pg_copydb(sn->url, pgurl), 0);
	reopen_pg();
}

static void snap_drop(struct snap *sn)
{
	if (sn->mem)
		sqlite3_close(sn->mem);
	else
		helper_pg_dropdb(sn->url);
}

/* The acknowledgement of the walk's batch (see below). */
static void check_walk_ack(const struct tb_ack *ack, int64_t base)
{
	assert_int_equal(ack->accepted, 11);
	assert_int_equal(ack->duplicates, 1);
	assert_int_equal(ack->nrejected, 1);
	assert_int_equal(ack->committed_through, base + 13);
}

/* The Nth allocation of the merge fails, N = 1, 2, ... until the merge
 * completes: every failure is TB_ENOMEM (or a refusal of the batch that
 * leaves nothing), the database is exactly as before, and the merge that
 * completes gives the right acknowledgement. 13 events, one thread (under
 * PREP_SPLIT_MIN: the failure counter is not thread-safe): 10 new, a
 * third revision of a5, a duplicate of a60 and a conflicting copy of a50. */
static void test_alloc_failure_walk(void **state)
{
	struct tb_merge_result res;
	struct tb_batch b;
	struct tb_ack ack;
	struct tb_event e;
	int64_t base = count("SELECT committed_through FROM cursors WHERE"
			     " device = '" DEVICE "'");
	char *before, *now;
	struct snap snap = {0};
	long n, used = 0;
	int rc;

	(void)state;
	/* On PostgreSQL the failures are tienbo's own allocations (libpq's
	 * are not routed through tb_mem) and the database goes back by a
	 * template copy instead of SQLite's backup API (snap_take). */
	batch_start(&b);
	for (int i = 0; i < 13; i++) {
		if (i < 10)
			make(&e, 'd', i, 1, base + 1 + i, 3);
		else if (i == 10)
			make(&e, 'a', 5, 3, base + 1 + i, 500);
		else
			make(&e, 'a', i == 11 ? 60 : 50, 1, base + 1 + i,
			     i == 11 ? 60 : 999);
		assert_int_equal(tb_batch_add(&b, &e), 0);
		tb_event_clear(&e);
	}
	before = state_text();
	snap_take(&snap);
	for (n = 1;; n++) {
		tb_ack_init(&ack);
		tb_mem_fail_at(n);
		rc = tb_merge_batch(db, &who, &b, &ack, &res);
		used = tb_mem_count();
		tb_mem_fail_at(0);
		if (tb_sql_in_txn(db))
			fail_msg("allocation %ld: the connection was left inside"
				 " a transaction", n);
		if (rc == TB_OK && res.status == 200 && used < n)
			break;
		if (rc == TB_OK && res.status == 200) {
			/* SQLite survived the failure by itself (a "benign"
			 * one; or tienbo's code did without the memory): the
			 * merge must then be complete and right;
			 * the database goes back to before for the next N */
			check_walk_ack(&ack, base);
			tb_ack_clear(&ack);
			snap_restore(&snap);
			continue;
		}
		if (rc == TB_OK)
			fail_msg("allocation %ld failed and the merge went on"
				 " (status %d)", n, res.status);
		if (rc != TB_ENOMEM)
			fail_msg("allocation %ld: rc %d, not TB_ENOMEM", n, rc);
		now = state_text();
		if (strcmp(now, before) != 0)
			fail_msg("allocation %ld failed and the database changed",
				 n);
		free(now);
		tb_ack_clear(&ack);
		assert_true(n < 100000);
	}
	check_walk_ack(&ack, base);
	tb_ack_clear(&ack);
	tb_batch_clear(&b);
	snap_drop(&snap);
	now = state_text();
	assert_true(strcmp(now, before) != 0);
	free(now);
	free(before);
	printf("merge: %ld allocation failures walked, all clean\n", n - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big_batch_in_runs_of_32),
		cmocka_unit_test(test_second_revisions_and_resend),
		cmocka_unit_test(test_alloc_failure_walk),
	};

	/* before the first SQLite call: the allocation-failure walk reaches
	 * SQLite's own allocations too */
	if (tb_mem_sqlite_route() != TB_OK) {
		fprintf(stderr, "cannot route SQLite's allocations\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
