/* test_rollup.c - server/rollup.c: filling the roll-ups of a database that
 * already holds many events.
 *
 * 60,000 events in 701 schools are written with direct SQL (a recursive
 * CTE: the triggers do not exist yet), as an office's database looks on
 * the first start of a server that has roll-ups, with a page cache of
 * 256 KiB so that the fill is far larger than the cache. Then every
 * roll-up table must equal a plain GROUP BY over the events, worked out
 * here from the event model's field tables; the same after a rebuild and
 * after more events arrive through the triggers. The rebuild reuses the
 * pages the old roll-ups freed, so its statement journal passes the
 * spill limit of server/db.c: with the limit at 1 MiB it failed here with
 * SQLITE_FULL, as bench_report's first fill of 2,000,000 events did (the
 * cause is told in db.c).
 *
 * The same on PostgreSQL (test_fill_large_pg, in the test_rollup_pg run on
 * ctest's fixture cluster: tests/helper_pg.h): the events written by SQL
 * of its dialect, the plpgsql triggers and the fill of server/rollup.c
 * checked by the same GROUP BY, reading the bodies with jsonb (not
 * report_jint, the code under test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/event.h"
#include "common/err.h"
#include "server/sql.h"
#include "server/db.h"
#include "server/rollup.h"
#include "tests/helper_pg.h"

#define NEVENTS 60000
#define NSCHOOLS 701

static char dir[64];
static char path[128];
static int pg; /* the store under test is PostgreSQL */

/* Events v in [from, to]: kinds in turn (and one in 97 of a kind the model
 * does not know), dates over 2022-2025, one in 13 voided, bodies with
 * every count field of the kind. */
static void add_events(struct tb_sql *db, long from, long to)
{
	char sql[2048], msg[256] = "";

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(v) AS (SELECT %ld UNION ALL SELECT v + 1"
		 " FROM c WHERE v < %ld)"
		 " INSERT INTO events SELECT"
		 " printf('00000000-0000-4000-8000-%%012d', v),"
		 " printf('S%%04d', (v * 13) %% %d),"
		 " CASE WHEN v %% 97 = 0 THEN 'bogus' ELSE CASE v %% 5"
		 "  WHEN 0 THEN 'outreach' WHEN 1 THEN 'training'"
		 "  WHEN 2 THEN 'action-month' WHEN 3 THEN 'web-post'"
		 "  ELSE 'snapshot' END END,"
		 " date('2022-01-01', '+' || ((v * 7919) %% 1461) || ' days'),"
		 " 1, v %% 13 = 0, NULL, v, v, 0, x'00',"
		 " json_object('parents', v %% 60, 'students', v %% 301,"
		 "  'teachers_staff', v %% 31, 'officials', v %% 3,"
		 "  'participants', 1 + v %% 40, 'female', v %% 11,"
		 "  'ban_members', v %% 5, 'women_in_planning', v %% 4,"
		 "  'communicators', v %% 6, 'ban_members_trained', v %% 9,"
		 "  'key_posts', 4, 'masters', v %% 17)"
		 " FROM c",
		 from, to, NSCHOOLS);
	if (pg)
		snprintf(sql, sizeof(sql),
			 "INSERT INTO events SELECT"
			 " '00000000-0000-4000-8000-' || lpad(v::text, 12, '0'),"
			 " 'S' || lpad(((v * 13) %% %d)::text, 4, '0'),"
			 " CASE WHEN v %% 97 = 0 THEN 'bogus' ELSE CASE v %% 5"
			 "  WHEN 0 THEN 'outreach' WHEN 1 THEN 'training'"
			 "  WHEN 2 THEN 'action-month' WHEN 3 THEN 'web-post'"
			 "  ELSE 'snapshot' END END,"
			 " to_char(date '2022-01-01' + ((v * 7919) %% 1461)::int,"
			 "  'YYYY-MM-DD'),"
			 " 1, (v %% 13 = 0)::int, NULL, v, v, 0, '\\x00'::bytea,"
			 " json_build_object('parents', v %% 60, 'students', v %% 301,"
			 "  'teachers_staff', v %% 31, 'officials', v %% 3,"
			 "  'participants', 1 + v %% 40, 'female', v %% 11,"
			 "  'ban_members', v %% 5, 'women_in_planning', v %% 4,"
			 "  'communicators', v %% 6, 'ban_members_trained', v %% 9,"
			 "  'key_posts', 4, 'masters', v %% 17)::text"
			 " FROM generate_series(%ld, %ld) v",
			 NSCHOOLS, from, to);
	if (tb_sql_exec(db, sql, msg, sizeof(msg)))
		fail_msg("%s", msg);
}

/* The kinds that have count field `name`, as an SQL list; 0 if none. */
static int kinds_with(const char *name, char *out, size_t len)
{
	size_t n, used = 0;
	int any = 0;

	out[0] = '\0';
	for (int k = 0; k < TB_KIND_COUNT; k++) {
		const struct tb_field *f;

		if (k == TB_KIND_SNAPSHOT)
			continue;
		f = tb_kind_fields((enum tb_kind)k, &n);
		for (size_t i = 0; i < n; i++)
			if (f[i].type == TB_FT_COUNT &&
			    strcmp(f[i].name, name) == 0) {
				used += (size_t)snprintf(out + used, len - used,
							 "%s'%s'", any ? "," : "",
							 tb_kind_name((enum tb_kind)k));
				any = 1;
			}
	}
	return any;
}

static long one_number(struct tb_sql *db, const char *sql)
{
	struct tb_stmt *st = NULL;
	long v;

	if (tb_sql_prepare(db, sql, 0, &st) != TB_OK)
		fail_msg("%s: %s", sql, tb_sql_errmsg(db));
	assert_int_equal(tb_sql_step(st), TB_SQL_ROW);
	v = (long)tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	return v;
}

/* Table t (report_day, _month, _year with key divisor div) against the
 * GROUP BY over the events: no row of either is missing from the other. */
static void check_table(struct tb_sql *db, const char *table, const char *key,
			int div)
{
	char ref[8192], sql[40000], list[256];
	struct tb_stmt *st = NULL;
	size_t used;
	int ncols = 0;

	used = (size_t)snprintf(ref, sizeof(ref), "SELECT CASE e.kind");
	for (int k = 0; k < TB_KIND_COUNT; k++)
		used += (size_t)snprintf(ref + used, sizeof(ref) - used,
					 " WHEN '%s' THEN %d",
					 tb_kind_name((enum tb_kind)k), k);
	used += (size_t)snprintf(ref + used, sizeof(ref) - used,
				 " END AS kind, CAST(replace(e.date, '-', '')"
				 " AS INTEGER) / %d AS %s, e.school, count(*),"
				 " min(e.received_at)", div, key);
	if (pg)
		snprintf(sql, sizeof(sql), "SELECT column_name FROM"
			 " information_schema.columns WHERE table_schema ="
			 " current_schema() AND table_name = '%s' AND"
			 " column_name LIKE 'c\\_%%' ESCAPE '\\' ORDER BY"
			 " ordinal_position", table);
	else
		snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info('%s')"
			 " WHERE name LIKE 'c\\_%%' ESCAPE '\\' ORDER BY cid", table);
	assert_int_equal(tb_sql_prepare(db, sql, 0, &st), TB_OK);
	while (tb_sql_step(st) == TB_SQL_ROW) {
		const char *c = tb_sql_column_text(st, 0) + 2;

		assert_true(kinds_with(c, list, sizeof(list)));
		used += (size_t)snprintf(ref + used, sizeof(ref) - used,
					 pg ? ", sum(CASE WHEN e.kind IN (%s) THEN"
					      " coalesce((e.body::jsonb ->> '%s')"
					      "::bigint, 0) ELSE 0 END)"
					    : ", sum(CASE WHEN e.kind IN (%s) THEN"
					      " coalesce(CAST(json_extract(e.body,"
					      " '$.%s') AS INTEGER), 0) ELSE 0 END)",
					 list, c);
		ncols++;
	}
	tb_sql_finalize(st);
	assert_int_equal((size_t)ncols, tb_rollup_ncols());
	snprintf(ref + used, sizeof(ref) - used,
		 " FROM events e WHERE e.voided = 0 AND e.kind IN ('outreach',"
		 " 'training', 'action-month', 'web-post', 'snapshot')"
		 " GROUP BY 1, 2, 3");
	snprintf(sql, sizeof(sql), "SELECT (SELECT count(*) FROM (%s EXCEPT"
		 " SELECT * FROM %s) a) + (SELECT count(*) FROM (SELECT * FROM %s"
		 " EXCEPT %s) b) + abs((SELECT count(*) FROM %s) - (SELECT"
		 " count(*) FROM (%s) c))", ref, table, table, ref, table, ref);
	if (one_number(db, sql) != 0)
		fail_msg("%s differs from the GROUP BY over the events", table);
}

static void check_all(struct tb_sql *db)
{
	check_table(db, "report_day", "day", 1);
	check_table(db, "report_month", "month", 100);
	check_table(db, "report_year", "year", 10000);
	assert_int_equal(one_number(db, "SELECT count(*) FROM report_snap"),
			 one_number(db, "SELECT count(*) FROM events WHERE"
				    " voided = 0 AND kind = 'snapshot'"));
	assert_int_equal(one_number(db, "SELECT count(*) FROM (SELECT id FROM"
				    " report_snap EXCEPT SELECT id FROM events"
				    " WHERE voided = 0 AND kind = 'snapshot') a"),
			 0);
}

static void fill_large(const char *where)
{
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_sql *db = NULL;
	char msg[512] = "";

	if (tb_db_open(where, &o, &db, msg, sizeof(msg)))
		fail_msg("%s", msg);
	if (!pg)
		assert_int_equal(tb_sql_exec(db, "PRAGMA cache_size=-256", msg,
					    sizeof(msg)), 0);
	add_events(db, 1, NEVENTS);
	if (tb_rollup_init(db, msg, sizeof(msg)) != 0)
		fail_msg("init: %s", msg);
	assert_true(one_number(db, "SELECT count(DISTINCT school) FROM"
			       " report_day") > 690);
	check_all(db);
	/* a second fill over the first: every chunk again, once */
	if (tb_rollup_rebuild(db, msg, sizeof(msg)) != 0)
		fail_msg("rebuild: %s", msg);
	check_all(db);
	/* init again: up to date, nothing refilled; then the triggers */
	assert_int_equal(tb_rollup_init(db, msg, sizeof(msg)), 0);
	add_events(db, NEVENTS + 1, NEVENTS + 5000);
	assert_int_equal(tb_sql_exec(db, "UPDATE events SET voided = 1 WHERE"
				    " seq % 1001 = 0", msg, sizeof(msg)), 0);
	check_all(db);
	tb_sql_close(db);
}

static void test_fill_large(void **state)
{
	(void)state;
	pg = 0;
	fill_large(path);
}

static void test_fill_large_pg(void **state)
{
	char url[600];

	(void)state;
	if (!helper_pg_wanted())
		return; /* the SQLite run: test_rollup_pg runs this one */
	assert_int_equal(helper_pg_newdb(url, sizeof(url)), 0);
	pg = 1;
	fill_large(url);
	helper_pg_dropdb(url);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tb-rollup-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/rollup.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_large),
		cmocka_unit_test(test_fill_large_pg),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
