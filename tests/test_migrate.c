/* test_migrate.c - `tienbo-server migrate-store` (server/migrate.c):
 * SQLite -> SQLite, SQLite -> PostgreSQL -> SQLite, and the refusal of a
 * target that holds data; and `backup` / `restore` of a PostgreSQL store
 * (server/backup_pg.c: pg_dump, pg_restore) on the copy.
 *
 * Fixture: 6 schools in districts DA and DB of province PV (and one more
 * token, revoked), enrolled and fed by the server's own code
 * (tb_auth_enroll, and two batches per school through tb_merge_batch via
 * helper_merge_batch): 5 outreach events in 2025-H1, then 3 in 2025-H2
 * and an amendment of the first one, so every table has rows: units,
 * devices, cursors, admin_tokens, events, event_history, a rejection and a
 * closure. Expected values are counted here from the fixture arrays: the
 * rows per table, each device's cursor (9), and the parents of the plan
 * hoa-binh-2022-2030's indicator HB-3.1/parents for 2025-H2 and
 * cumulatively, which the target's report must give.
 *
 * PostgreSQL: runs as test_migrate_pg on the ctest fixture's cluster; each
 * run makes its own databases there (helper_pg_newdb) and drops them.
 * Without the fixture the PostgreSQL tests fail saying so. Where this branch's report roll-ups do
 * not run on PostgreSQL yet (their port is another branch's), the
 * PostgreSQL side is checked without reports (rows, contents, cursors,
 * tokens, sequences) and the test says so on stdout; the way back into
 * SQLite then checks the report values all the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "protocol/codec.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/migrate.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/sql.h"
#include "server/token.h"
#include "server/units.h"
#include "tests/helper_merge.h"
#include "tests/helper_pg.h"
#include "tests/helper_proc.h"

#define NSCHOOLS 6
#define NFIRST 5  /* outreach events of the first batch (2025-H1) */
#define NSECOND 3 /* of the second (2025-H2), plus one amendment */
#define PLAN "hoa-binh-2022-2030"

static char tmpdir[64];
static char src_path[128];
static char tokens[NSCHOOLS + 1][TB_TOKEN_LEN + 1];
static int64_t parents[NSCHOOLS][NFIRST + NSECOND]; /* current revision */
static struct tb_plan_set *plans;
static char pg_dbs[8][600];
static size_t npg;

static const char *const periods[] = {"2025-H1", "2025-H2",
				      "cumulative:2025-12-31"};

/* The rows each table must hold. */
static const struct {
	const char *table;
	int64_t rows;
} expected[] = {
	{"units", NSCHOOLS + 2 + 1},            /* schools, DA, DB, PV */
	{"devices", NSCHOOLS + 1},              /* and the revoked one */
	{"cursors", NSCHOOLS},
	{"admin_tokens", 1},
	{"events", NSCHOOLS * (NFIRST + NSECOND)},
	{"event_history", NSCHOOLS * (NFIRST + NSECOND + 1)},
	{"rejections", 1},
	{"unit_closures", 1},
};

static const char *code(int s, char *buf)
{
	snprintf(buf, 8, "S%c%02u", s < NSCHOOLS / 2 ? 'A' : 'B',
		 (unsigned)s % 100u);
	return buf;
}

/* One outreach event of school s, number k (from 0), at revision rev. */
static void add_event(struct tb_batch *b, int s, int k, int rev,
		      int64_t seq)
{
	const struct tb_field *tab;
	struct tb_event e;
	char msg[TB_MSG_LEN] = "", num[24], c[8];
	size_t nf;
	int32_t date = k < NFIRST ? tb_date_from_ymd(2025, 1 + k, 10)
				  : tb_date_from_ymd(2025, 7 + k - NFIRST, 10);

	parents[s][k] = 10 * s + k + rev * 100;
	tb_event_init(&e, TB_KIND_OUTREACH);
	snprintf(e.id, sizeof(e.id), "00000000-0000-4000-8000-%06u%06u",
		 (unsigned)s % 1000000u, (unsigned)k % 1000000u);
	snprintf(e.school, sizeof(e.school), "%s", code(s, c));
	e.date = date;
	e.revision = rev;
	e.recorded_at = (int64_t)date * 86400 + rev;
	e.seq = seq;
	tab = tb_kind_fields(TB_KIND_OUTREACH, &nf);
	for (size_t i = 0; i < nf; i++)
		if (tab[i].required && tab[i].type == TB_FT_TEXT)
			assert_int_equal(tb_event_set(&e, tab[i].name,
						      "Tuyên truyền bình đẳng "
						      "giới", msg, sizeof(msg)),
					 0);
	snprintf(num, sizeof(num), "%lld", (long long)parents[s][k]);
	assert_int_equal(tb_event_set(&e, "parents", num, msg, sizeof(msg)), 0);
	if (tb_event_validate(&e, 0, msg, sizeof(msg)))
		fail_msg("fixture event: %s", msg);
	assert_int_equal(tb_batch_add(b, &e), 0);
	tb_event_clear(&e);
}

static struct tb_sql *open_store(const char *where, int create)
{
	struct tb_db_opts o = {0, 0, 0, create};
	struct tb_sql *d = NULL;
	char msg[512] = "";

	if (tb_db_open(where, &o, &d, msg, sizeof(msg)))
		fail_msg("%s", msg);
	return d;
}

static void make_source(void)
{
	struct tb_sql *d = open_store(src_path, 1);
	struct tb_unit_change ch = {0};
	char msg[512] = "", c[8], admin[TB_TOKEN_LEN + 1];
	int64_t id, n;

	for (int s = 0; s <= NSCHOOLS; s++) {
		int u = s == NSCHOOLS ? 0 : s; /* then a second token of
						  school 0, revoked */
		struct tb_org_school o = {code(u, c), "Trường", "TH",
					  u < NSCHOOLS / 2 ? "DA" : "DB",
					  "PV"};

		if (tb_auth_enroll(d, &o, tokens[s], &id, msg, sizeof(msg)))
			fail_msg("%s", msg);
	}
	assert_int_equal(tb_auth_revoke(d, TB_REVOKE_DEVICE, "7", &n, msg,
					sizeof(msg)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tb_auth_admin_new(d, admin, &id), 0);
	for (int s = 0; s < NSCHOOLS; s++) {
		struct tb_batch b;
		int64_t seq = 0;

		tb_batch_init(&b);
		for (int k = 0; k < NFIRST; k++)
			add_event(&b, s, k, 1, ++seq);
		if (helper_merge_batch(d, tokens[s], code(s, c), s + 1, &b,
				       msg, sizeof(msg)))
			fail_msg("%s", msg);
		for (int k = NFIRST; k < NFIRST + NSECOND; k++)
			add_event(&b, s, k, 1, ++seq);
		add_event(&b, s, 0, 2, ++seq); /* the amendment */
		if (helper_merge_batch(d, tokens[s], code(s, c), s + 1, &b,
				       msg, sizeof(msg)))
			fail_msg("%s", msg);
	}
	ch.code = code(NSCHOOLS - 1, c);
	ch.close_from = "2026-01-01";
	assert_int_equal(tb_units_change(d, &ch, msg, sizeof(msg)), 0);
	assert_int_equal(tb_sql_exec(d, "INSERT INTO rejections(device, "
				     "school, seq, event_id, reason, "
				     "received_at) VALUES('11111111-2222-4333-"
				     "8444-000000000001', 'SA00', 10, "
				     "'00000000-0000-4000-8000-000000000099', "
				     "'a test', 1700000000)", msg,
				     sizeof(msg)), 0);
	tb_sql_close(d);
}

static int setup(void **state)
{
	char msg[TB_PLAN_MSG_LEN] = "";

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-migrate-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(src_path, sizeof(src_path), "%s/office.db", tmpdir);
	if (tb_plan_set_load(TB_SOURCE_DIR "/plans", &plans, msg, sizeof(msg))) {
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	make_source();
	return 0;
}

static int teardown(void **state)
{
	char cmd[640];

	(void)state;
	for (size_t i = 0; i < npg; i++)
		if (helper_pg_dropdb(pg_dbs[i]) != 0)
			fprintf(stderr, "cannot drop %s\n", pg_dbs[i]);
	tb_plan_set_destroy(plans);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- PostgreSQL --------------------------------------------------------- */

/* A new, empty database in the ctest fixture's cluster (helper_pg_newdb,
 * which fails saying so without the fixture); its URL into url. */
static void pg_new_db(char *url, size_t len)
{
	assert_true(npg < sizeof(pg_dbs) / sizeof(pg_dbs[0]));
	if (helper_pg_newdb(url, len) != 0)
		fail_msg("no PostgreSQL test database (see above)");
	snprintf(pg_dbs[npg], sizeof(pg_dbs[npg]), "%s", url);
	npg++;
}

/* 1 when this build's report roll-ups run on PostgreSQL. */
static int pg_reports_work(void)
{
	static int known = -1;
	char url[512], msg[512] = "";
	struct tb_sql *d;

	if (known >= 0)
		return known;
	pg_new_db(url, sizeof(url));
	d = open_store(url, 1);
	known = tb_report_init(d, msg, sizeof(msg)) == 0;
	tb_sql_close(d);
	if (!known)
		printf("NOTE: report roll-ups do not run on PostgreSQL in this "
		       "build (%s): migrate-store's PostgreSQL side is checked "
		       "without reports here\n", msg);
	return known;
}

/* ---- the checks ---------------------------------------------------------- */

static int64_t count(struct tb_sql *d, const char *sql)
{
	struct tb_stmt *st = NULL;
	int64_t n;

	assert_int_equal(tb_sql_prepare(d, sql, 0, &st), 0);
	assert_int_equal(tb_sql_step(st), TB_SQL_ROW);
	n = tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	return n;
}

static void check_report_values(struct tb_sql *d)
{
	struct tb_report_opts o = {0};
	struct tb_report *r = NULL;
	const struct tb_report_row *row;
	char msg[512] = "";
	int64_t h2 = 0, all = 0;

	for (int s = 0; s < NSCHOOLS; s++)
		for (int k = 0; k < NFIRST + NSECOND; k++) {
			all += parents[s][k];
			h2 += k >= NFIRST ? parents[s][k] : 0;
		}
	assert_int_equal(tb_report_init(d, msg, sizeof(msg)), 0);
	if (tb_report_run(d, tb_plan_set_find(plans, PLAN), "2025-H2", &o, &r,
			  msg, sizeof(msg)))
		fail_msg("%s", msg);
	row = tb_report_find(r, "HB-3.1/parents");
	assert_non_null(row);
	assert_true(row->v.has_value && row->v.has_cumulative);
	assert_int_equal((int64_t)row->v.value, h2);
	assert_int_equal((int64_t)row->v.cumulative, all);
	tb_report_destroy(r);
}

/* Rows, cursors, tokens, the next id: what the target must hold. */
static void check_target(const char *where, int reports)
{
	struct tb_sql *d = open_store(where, 0);
	struct tb_principal p;
	struct tb_org_school o = {"SC99", "Trường mới", "TH", "DA", "PV"};
	char sql[128], msg[512] = "", tok[TB_TOKEN_LEN + 1];
	int64_t id = 0;

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
			 expected[i].table);
		if (count(d, sql) != expected[i].rows)
			fail_msg("%s: %s has %lld rows, not %lld", where,
				 expected[i].table, (long long)count(d, sql),
				 (long long)expected[i].rows);
	}
	assert_int_equal(count(d, "SELECT count(*) FROM cursors WHERE "
			      "committed_through = 9"), NSCHOOLS);
	/* token hashes copied as bytes: the source's tokens still work */
	for (int s = 0; s < NSCHOOLS; s++)
		assert_int_equal(tb_auth_device(d, tokens[s], &p), 0);
	assert_int_equal(tb_auth_device(d, tokens[NSCHOOLS], &p), TB_EAUTH);
	/* the next enrolment takes the next id (sequences set past them) */
	assert_int_equal(tb_auth_enroll(d, &o, tok, &id, msg, sizeof(msg)), 0);
	assert_int_equal(id, NSCHOOLS + 2);
	if (reports)
		check_report_values(d);
	tb_sql_close(d);
}

static void migrate(const char *from, const char *to, int reports,
		    struct tb_migrate_result *r)
{
	struct tb_migrate_opts o = {0};
	char msg[1024] = "";

	o.from = from;
	o.to = to;
	o.plans = reports ? plans : NULL;
	for (size_t i = 0; i < sizeof(periods) / sizeof(*periods); i++)
		o.periods[o.nperiods++] = periods[i];
	if (tb_migrate_run(&o, r, msg, sizeof(msg)))
		fail_msg("migrate %s -> %s: %s", from, to, msg);
	assert_true(r->committed);
	assert_int_equal(r->ntables, sizeof(expected) / sizeof(expected[0]));
	for (size_t i = 0; i < r->ntables; i++) {
		assert_string_equal(r->t[i].name, expected[i].table);
		assert_int_equal(r->t[i].rows, expected[i].rows);
	}
	assert_int_equal(r->cursors, NSCHOOLS);
	assert_int_equal(r->reports, reports ? plans->count * 3 : 0);
}

/* The binary: migrate-store from the source to `to`, exiting status. */
static void migrate_cli(const char *to, int status,
			struct helper_proc_result *pr)
{
	assert_int_equal(helper_proc_runl(pr, NULL, TB_SERVER_BIN,
					  "migrate-store", "--from", src_path,
					  "--to", to, "--plans-dir",
					  TB_SOURCE_DIR "/plans", NULL), 0);
	assert_true(helper_proc_exited_with(pr, status));
}

/* ---- the tests ------------------------------------------------------------ */

static void test_tables_from_schema(void **state)
{
	char names[TB_MIGRATE_MAXTABLES][32];
	int n = tb_migrate_tables(names, TB_MIGRATE_MAXTABLES);

	struct tb_db_opts o = {0, 0, 0, 1};
	struct tb_sql *db = NULL;
	struct tb_stmt *st = NULL;
	char path[600], msg[512];
	int64_t tables = 0;

	(void)state;
	assert_int_equal(n, sizeof(expected) / sizeof(expected[0]));
	for (int i = 0; i < n; i++)
		assert_string_equal(names[i], expected[i].table);
	/* the list is every table of a new store but the roll-ups */
	snprintf(path, sizeof(path), "%s/tables.db", tmpdir);
	assert_int_equal(tb_db_open(path, &o, &db, msg, sizeof(msg)), 0);
	assert_int_equal(tb_sql_prepare(db, "SELECT name FROM sqlite_master"
					 " WHERE type = 'table' AND name NOT"
					 " LIKE 'report%'", 0, &st), 0);
	while (tb_sql_step(st) == TB_SQL_ROW) {
		const char *t = tb_sql_column_text(st, 0);
		int found = 0;

		for (int i = 0; i < n; i++)
			found |= strcmp(names[i], t) == 0;
		if (!found)
			fail_msg("table %s is not in tb_db_tables", t);
		tables++;
	}
	tb_sql_finalize(st);
	tb_sql_close(db);
	assert_int_equal(tables, n);
}

static void test_sqlite_to_sqlite(void **state)
{
	struct tb_migrate_result r;
	char to[128];

	(void)state;
	snprintf(to, sizeof(to), "%s/copy.db", tmpdir);
	migrate(src_path, to, 1, &r);
	assert_int_equal(r.seqs, 0);
	check_target(to, 1);
	{
		struct tb_sql *d = open_store(src_path, 0);

		check_report_values(d); /* the source says the same */
		tb_sql_close(d);
	}
}

/* A target with any row is refused, named with what it holds, unchanged;
 * through the binary: exit 65 and the message. */
static void test_refuses_nonempty(void **state)
{
	struct tb_migrate_opts o = {0};
	struct tb_migrate_result r;
	struct helper_proc_result pr;
	char to[128], msg[1024] = "";
	struct tb_sql *d;

	(void)state;
	snprintf(to, sizeof(to), "%s/busy.db", tmpdir);
	d = open_store(to, 1);
	{
		struct tb_org_school s = {"SX01", "Trường", "TH", "DX", "PV"};
		char tok[TB_TOKEN_LEN + 1];
		int64_t id;

		assert_int_equal(tb_auth_enroll(d, &s, tok, &id, msg,
						sizeof(msg)), 0);
	}
	tb_sql_close(d);
	o.from = src_path;
	o.to = to;
	assert_int_equal(tb_migrate_run(&o, &r, msg, sizeof(msg)),
			 TB_ECONFLICT);
	assert_false(r.committed);
	assert_non_null(strstr(msg, to));
	assert_non_null(strstr(msg, "not empty: it holds 3 units, 1 devices"));
	d = open_store(to, 0);
	assert_int_equal(count(d, "SELECT count(*) FROM units"), 3);
	assert_int_equal(count(d, "SELECT count(*) FROM events"), 0);
	tb_sql_close(d);

	migrate_cli(to, 65, &pr);
	assert_non_null(strstr(pr.err, "the target is not empty"));
	assert_string_equal(pr.out, "");
	helper_proc_free(&pr);
	/* a usage error: no --to */
	assert_int_equal(helper_proc_runl(&pr, NULL, TB_SERVER_BIN,
					  "migrate-store", "--from", src_path,
					  NULL), 0);
	assert_true(helper_proc_exited_with(&pr, 64));
	helper_proc_free(&pr);
}

/* The binary's own run, SQLite -> SQLite: what it prints. */
static void test_cli_output(void **state)
{
	struct helper_proc_result pr;
	char to[128];

	(void)state;
	snprintf(to, sizeof(to), "%s/cli.db", tmpdir);
	migrate_cli(to, 0, &pr);
	assert_non_null(strstr(pr.out, "copied "));
	assert_non_null(strstr(pr.out, " 48 rows\n"));
	assert_non_null(strstr(pr.out, "6 cursors equal, 4 reports equal"));
	helper_proc_free(&pr);
}

/* SQLite -> PostgreSQL, then that PostgreSQL -> a new SQLite file, whose
 * report must give the fixture's values; and a non-empty PostgreSQL
 * target refused. */
static void test_sqlite_pg_sqlite(void **state)
{
	struct tb_migrate_result r;
	char url[512], back[128], url2[512], msg[1024] = "";
	int reports = pg_reports_work();
	struct tb_migrate_opts o = {0};

	(void)state;
	pg_new_db(url, sizeof(url));
	migrate(src_path, url, reports, &r);
	assert_int_equal(r.seqs, 3); /* devices, admin_tokens, rejections */
	check_target(url, reports);

	/* back, from the database check_target enrolled one more into */
	pg_new_db(url2, sizeof(url2));
	migrate(src_path, url2, reports, &r);
	snprintf(back, sizeof(back), "%s/back.db", tmpdir);
	migrate(url2, back, reports, &r);
	check_target(back, 1);

	/* url2 holds the copy now: refused, unchanged */
	o.from = src_path;
	o.to = url2;
	assert_int_equal(tb_migrate_run(&o, &r, msg, sizeof(msg)),
			 TB_ECONFLICT);
	assert_non_null(strstr(msg, "the target is not empty: it holds 9 "
				    "units, 7 devices, 6 cursors, 1 "
				    "admin_tokens, 48 events"));
	{
		struct tb_sql *d = open_store(url2, 0);

		assert_int_equal(count(d, "SELECT count(*) FROM events"), 48);
		tb_sql_close(d);
	}
}

/* backup and restore with db = postgresql://: pg_dump of the migrated
 * store, restored into a new database, which must hold the fixture. */
static void test_pg_backup_restore(void **state)
{
	struct helper_proc_result pr;
	char url[512], url2[512], dump[128];
	int reports = pg_reports_work();
	struct tb_migrate_result r;
	struct stat st;

	(void)state;
	pg_new_db(url, sizeof(url));
	migrate(src_path, url, reports, &r);
	snprintf(dump, sizeof(dump), "%s/pg.dump", tmpdir);
	assert_int_equal(helper_proc_runl(&pr, NULL, TB_SERVER_BIN, "backup",
					  "--db", url, "--to", dump, NULL), 0);
	assert_true(helper_proc_exited_with(&pr, 0));
	{
		char want[128];

		snprintf(want, sizeof(want), "48 events (54 revisions), 6 "
			 "schools, 7 device tokens, schema %d", TB_DB_SCHEMA);
		assert_non_null(strstr(pr.out, want));
	}
	assert_non_null(strstr(pr.out, "pg_restore --list ok"));
	helper_proc_free(&pr);
	assert_int_equal(stat(dump, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* --gzip: refused, the format is compressed */
	assert_int_equal(helper_proc_runl(&pr, NULL, TB_SERVER_BIN, "backup",
					  "--db", url, "--to", "x.gz", "--gzip",
					  NULL), 0);
	assert_true(helper_proc_exited_with(&pr, 64));
	helper_proc_free(&pr);
	/* into the database it came from: it has tables, refused */
	assert_int_equal(helper_proc_runl(&pr, NULL, TB_SERVER_BIN, "restore",
					  "--db", url, "--from", dump, NULL), 0);
	assert_true(helper_proc_exited_with(&pr, 65));
	assert_non_null(strstr(pr.err, "pg_restore fills only a database "
				       "without tables"));
	helper_proc_free(&pr);
	/* an SQLite file is no pg_dump archive */
	pg_new_db(url2, sizeof(url2));
	assert_int_equal(helper_proc_runl(&pr, NULL, TB_SERVER_BIN, "restore",
					  "--db", url2, "--from", src_path,
					  NULL), 0);
	assert_true(helper_proc_exited_with(&pr, 65));
	assert_non_null(strstr(pr.err, "not a pg_dump archive"));
	helper_proc_free(&pr);
	/* into a new database: the fixture, tokens and sequences */
	assert_int_equal(helper_proc_runl(&pr, NULL, TB_SERVER_BIN, "restore",
					  "--db", url2, "--from", dump, NULL), 0);
	assert_true(helper_proc_exited_with(&pr, 0));
	assert_non_null(strstr(pr.out, "48 events (54 revisions)"));
	helper_proc_free(&pr);
	check_target(url2, reports);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_from_schema),
		cmocka_unit_test(test_sqlite_to_sqlite),
		cmocka_unit_test(test_refuses_nonempty),
		cmocka_unit_test(test_cli_output),
		cmocka_unit_test(test_sqlite_pg_sqlite),
		cmocka_unit_test(test_pg_backup_restore),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
