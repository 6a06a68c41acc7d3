/* test_units.c - the office's units (server/units.h) and the schema they
 * live in (server/db.c):
 *
 * - the migration from schema 1 to the latest (TB_DB_SCHEMA), from a v1
 *   database made of the SQL text fixture tests/data/server/schema-v1.sql:
 *   the data survives (schema 3: the event's fields once, its envelope in
 *   columns), user_version is the latest, the result has the tables a
 *   new file gets, a
 *   second open writes nothing, a failing step leaves schema 1, and files
 *   that are newer or have tables without a version are refused by name;
 * - the real tienbo-server binary: enroll naming the district and the
 *   province, `units` as text (aligned by characters, local time), JSON
 *   and CSV, `unit CODE` renaming, moving, relevelling, closing and
 *   reopening, and every refusal with its exact message, exit 65 and the
 *   database unchanged;
 * - GET /v1/admin/units and POST /v1/admin/unit over real HTTPS, on a
 *   server whose database started as the v1 fixture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "server/db.h"
#include "server/sql.h"
#include "tests/helper_pg.h"
#include "tests/helper_server.h"

#define FIXTURE TB_SOURCE_DIR "/tests/data/server/schema-v1.sql"

static struct helper_server srv;

static int group_setup(void **state)
{
	(void)state;
	return helper_server_setup(&srv);
}

static int group_teardown(void **state)
{
	(void)state;
	helper_server_teardown(&srv);
	return 0;
}

/* ---- helpers -------------------------------------------------------- */

/* Makes path a v1 database from the fixture (sqlite3_exec of its text),
 * then runs extra SQL on it (may be NULL). */
static void make_v1(const char *path, const char *extra)
{
	char *sql = helper_proc_read_file(FIXTURE, NULL);
	sqlite3 *db = NULL;

	assert_non_null(sql);
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	if (extra)
		assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL),
				 SQLITE_OK);
	sqlite3_close(db);
	free(sql);
}

/* The one text a query returns on the file at path (malloc'd; "" for
 * NULL). */
static char *query_text(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	char *out;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	t = sqlite3_column_text(st, 0);
	out = strdup(t ? (const char *)t : "");
	assert_non_null(out);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

/* The one text a query returns on the server's database, SQLite's or
 * PostgreSQL's, through the server's store (malloc'd; "" for NULL). */
static char *server_text(const char *sqlite_sql, const char *pg_sql)
{
	char *t = helper_server_query_text(&srv, helper_server_is_pg(&srv)
						  ? pg_sql : sqlite_sql);

	if (!t)
		t = strdup("");
	assert_non_null(t);
	return t;
}

/* Everything a unit change could touch, as one string. */
static char *dump(void)
{
	return server_text(
		"SELECT (SELECT group_concat(r, ';') FROM (SELECT code || '|' ||"
		" name || '|' || type || '|' || coalesce(level, '') || '|' ||"
		" coalesce(district, '') || '|' || coalesce(province, '') AS r"
		" FROM units ORDER BY code)) || '#' || (SELECT coalesce("
		"group_concat(r, ';'), '') FROM (SELECT unit || '|' ||"
		" closed_from || '|' || coalesce(reopened_from, '') AS r FROM"
		" unit_closures ORDER BY unit, closed_from)) || '#' || (SELECT"
		" count(*) FROM devices)",
		"SELECT (SELECT string_agg(code || '|' || name || '|' || type ||"
		" '|' || coalesce(level, '') || '|' || coalesce(district, '') ||"
		" '|' || coalesce(province, ''), ';' ORDER BY code) FROM units)"
		" || '#' || (SELECT coalesce(string_agg(unit || '|' ||"
		" closed_from || '|' || coalesce(reopened_from, ''), ';' ORDER BY"
		" unit, closed_from), '') FROM unit_closures) || '#' || (SELECT"
		" count(*) FROM devices)");
}

/* The columns of every table of a database, in order: its shape. */
static char *shape(const char *path)
{
	return query_text(path,
		"SELECT group_concat(t, ';') FROM (SELECT m.name || ':' ||"
		" (SELECT group_concat(p.name || ' ' || p.type || ' ' ||"
		" p.\"notnull\" || ' ' || p.pk, ',') FROM pragma_table_info(m.name)"
		" p) AS t FROM sqlite_master m WHERE m.type = 'table' ORDER BY"
		" m.name)");
}

static int64_t file_int(const char *path, const char *sql)
{
	char *t = query_text(path, sql);
	int64_t v = strtoll(t, NULL, 10);

	free(t);
	return v;
}

/* Runs tienbo-server ARGS --db srv.db into *r; the exit status. */
static int run(struct helper_proc_result *r, const char *const *args)
{
	const char *argv[40];
	size_t n = 0;

	argv[n++] = TB_SERVER_BIN;
	for (; *args && n < 36; args++)
		argv[n++] = *args;
	argv[n++] = "--db";
	argv[n++] = srv.db;
	argv[n] = NULL;
	memset(r, 0, sizeof(*r));
	assert_int_equal(helper_proc_run(argv, NULL, r), 0);
	return r->exited ? r->exit_code : -1;
}

/* Runs a command that must be refused: exit 65, exactly want on stderr
 * (after "tienbo-server: "), and the database as it was. */
static void refused(const char *const *args, const char *want)
{
	struct helper_proc_result r;
	char *before = dump(), *after, line[1024];

	assert_int_equal(run(&r, args), 65);
	snprintf(line, sizeof(line), "tienbo-server: %s\n", want);
	assert_string_equal(r.err, line);
	after = dump();
	assert_string_equal(after, before);
	helper_proc_free(&r);
	free(before);
	free(after);
}

/* Runs a command that must succeed; its stdout (malloc'd). */
static char *ok(const char *const *args)
{
	struct helper_proc_result r;
	char *out;

	if (run(&r, args) != 0)
		fail_msg("`tienbo-server %s %s`: exit %d: %s", args[0],
			 args[1] ? args[1] : "", r.exit_code, r.err);
	out = strdup(r.out);
	helper_proc_free(&r);
	return out;
}

/* The object with "code" == code in a JSON array. */
static cJSON *by_code(cJSON *arr, const char *code)
{
	cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		cJSON *c = cJSON_GetObjectItem(o, "code");

		if (cJSON_IsString(c) && strcmp(c->valuestring, code) == 0)
			return o;
	}
	fail_msg("no unit %s", code);
	return NULL;
}

static const char *str(cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The code-point column at which needle starts in the line of text that
 * contains key (the first such line). */
static long column_of(const char *text, const char *key, const char *needle)
{
	const char *line = strstr(text, key), *p;
	long col = 0;

	assert_non_null(line);
	while (line > text && line[-1] != '\n')
		line--;
	p = strstr(line, needle);
	assert_non_null(p);
	for (; line < p; line++)
		col += ((unsigned char)*line & 0xC0) != 0x80;
	return col;
}

/* ---- the migration, in process ---------------------------------------- */

static void test_migration(void **state)
{
	char path[600], fresh[600], msg[512];
	char *want, *got;
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_sql *db = NULL;
	int64_t schema_before;

	(void)state;
	/* SQLite files of schema 1 (PRAGMA user_version, sqlite_master):
	 * the same files and checks in test_units_pg would add nothing; a
	 * PostgreSQL store starts at the current schema */
	if (helper_pg_wanted())
		skip();
	snprintf(path, sizeof(path), "%s/v1.db", srv.dir);
	snprintf(fresh, sizeof(fresh), "%s/fresh.db", srv.dir);
	make_v1(path, NULL);
	assert_int_equal(file_int(path, "PRAGMA user_version"), 1);
	assert_int_equal(tb_db_open(path, &o, &db, msg, sizeof(msg)), 0);
	tb_sql_close(db);
	/* the data survives */
	assert_int_equal(file_int(path, "PRAGMA user_version"), TB_DB_SCHEMA);
	got = query_text(path, "SELECT group_concat(code || '=' || name, ';')"
			 " FROM (SELECT * FROM units ORDER BY code)");
	assert_string_equal(got, "DABAC=DABAC;HB=Tỉnh Hòa Bình;"
			    "HB-001=Trường THCS Tu Lý;"
			    "HB-002=Trường Tiểu học Hiền Lương");
	free(got);
	assert_int_equal(file_int(path, "SELECT count(*) FROM devices"), 2);
	/* schema 3: the body once, its envelope in columns */
	assert_int_equal(file_int(path, "SELECT count(*) FROM events e JOIN"
				  " event_history h ON h.id = e.id AND"
				  " h.revision = e.revision WHERE h.fields ="
				  " '{\"title\":\"Họp phụ huynh\",\"parents\":40}'"
				  " AND h.device = '11111111-1111-4111-8111-"
				  "111111111111' AND h.seq = 1 AND e.school ="
				  " 'HB-001'"), 1);
	assert_int_equal(file_int(path, "SELECT count(*) FROM event_history"), 1);
	assert_int_equal(file_int(path, "SELECT count(*) FROM unit_closures"), 0);
	/* the same tables and columns as a new file */
	assert_int_equal(tb_db_open(fresh, &o, &db, msg, sizeof(msg)), 0);
	tb_sql_close(db);
	want = shape(fresh);
	got = shape(path);
	assert_string_equal(got, want);
	assert_non_null(strstr(want, "unit_closures:unit TEXT 1 1,"
			       "closed_from TEXT 1 2,reopened_from TEXT 0 0"));
	free(want);
	free(got);
	/* a second open changes nothing */
	schema_before = file_int(path, "PRAGMA schema_version");
	assert_int_equal(tb_db_open(path, &o, &db, msg, sizeof(msg)), 0);
	tb_sql_close(db);
	assert_int_equal(file_int(path, "PRAGMA schema_version"), schema_before);
	assert_int_equal(file_int(path, "PRAGMA user_version"), TB_DB_SCHEMA);
}

static void test_migration_refusals(void **state)
{
	char path[600], msg[512], want[1024];
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_sql *db = NULL;

	(void)state;
	if (helper_pg_wanted()) /* SQLite files by nature: see above */
		skip();
	snprintf(path, sizeof(path), "%s/bad.db", srv.dir);
	/* a step that fails rolls back: the file stays at schema 1 */
	make_v1(path, "CREATE TABLE unit_closures(x);");
	assert_int_equal(tb_db_open(path, &o, &db, msg, sizeof(msg)), TB_EIO);
	assert_null(db);
	snprintf(want, sizeof(want), "%s: cannot migrate from schema 1 to %d "
		 "(step 2): database: a database error occurred (table "
		 "unit_closures already exists); the file was left at schema 1",
		 path, TB_DB_SCHEMA);
	assert_string_equal(msg, want);
	assert_int_equal(file_int(path, "PRAGMA user_version"), 1);
	assert_int_equal(file_int(path, "SELECT count(*) FROM units"), 4);
	/* tables but no version: not created over, named */
	unlink(path);
	{
		sqlite3 *raw = NULL;

		assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
		assert_int_equal(sqlite3_exec(raw, "CREATE TABLE units(code "
					      "TEXT)", NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(raw);
	}
	assert_int_equal(tb_db_open(path, &o, &db, msg, sizeof(msg)),
			 TB_ECONFLICT);
	snprintf(want, sizeof(want), "%s: not a tienbo-server database: it "
		 "already holds tables (units, ...) but no schema version "
		 "(user_version 0), and the server does not create its own "
		 "over them; give a new file or a server database (the file "
		 "was left unchanged)", path);
	assert_string_equal(msg, want);
	assert_int_equal(file_int(path, "SELECT count(*) FROM sqlite_master"), 1);
	/* newer: refused as before */
	make_v1(path, "PRAGMA user_version = 9;");
	assert_int_equal(tb_db_open(path, &o, &db, msg, sizeof(msg)),
			 TB_ECONFLICT);
	snprintf(want, sizeof(want), "%s: database has schema 9, newer than "
		 "this server (%d); use a newer tienbo-server (the file was left "
		 "unchanged)", path, TB_DB_SCHEMA);
	assert_string_equal(msg, want);
	assert_int_equal(file_int(path, "PRAGMA user_version"), 9);
}

/* ---- the commands ------------------------------------------------------- */

static void enroll_all(void)
{
	const char *e1[] = { "enroll", "--school", "HB-001", "--name",
			     "Trường THCS Tu Lý", "--district", "DABAC",
			     "--level", "THCS", "--district-name",
			     "Huyện Đà Bắc", "--province", "HB",
			     "--province-name", "Tỉnh Hòa Bình", NULL };
	const char *e2[] = { "enroll", "--school", "HB-002", "--name",
			     "Trường Tiểu học Hiền Lương", "--district",
			     "DABAC", "--level", "TH", NULL };
	const char *e3[] = { "enroll", "--school", "HB-003", "--name",
			     "Trường Cao đẳng Sư phạm Hòa Bình", "--district",
			     "KYSON", "--level", "college", NULL };
	char *out;

	free(ok(e1));
	free(ok(e2));
	out = ok(e3);
	assert_non_null(strstr(out, "enrolled school HB-003"));
	free(out);
	/* a device seen at 2025-11-20T00:53:20Z: 07:53 in Hòa Bình */
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM "
		"(SELECT 1 FROM devices WHERE school = 'HB-001') AS d"), 1);
	assert_int_equal(helper_server_exec(&srv, "UPDATE devices SET"
					    " last_seen = 1763600000 WHERE"
					    " school = 'HB-001'"), 0);
}

static void test_enroll_names_and_list(void **state)
{
	const char *text[] = { "units", NULL };
	const char *json[] = { "units", "--format", "json", NULL };
	const char *csv[] = { "units", "--district", "DABAC", "--format", "csv",
			      NULL };
	const char *head;
	char *out;
	cJSON *arr, *u;

	(void)state;
	enroll_all();
	out = ok(json);
	arr = cJSON_Parse(out);
	assert_true(cJSON_IsArray(arr));
	assert_int_equal(cJSON_GetArraySize(arr), 6); /* HB, 2 districts, 3 */
	/* province, then each district before its schools */
	assert_string_equal(str(cJSON_GetArrayItem(arr, 0), "code"), "HB");
	assert_string_equal(str(cJSON_GetArrayItem(arr, 1), "code"), "DABAC");
	assert_string_equal(str(cJSON_GetArrayItem(arr, 2), "code"), "HB-001");
	assert_string_equal(str(cJSON_GetArrayItem(arr, 4), "code"), "KYSON");
	u = by_code(arr, "HB-001");
	assert_string_equal(str(u, "name"), "Trường THCS Tu Lý");
	assert_string_equal(str(u, "type"), "school");
	assert_string_equal(str(u, "level"), "THCS");
	assert_string_equal(str(u, "district"), "DABAC");
	assert_string_equal(str(u, "district_name"), "Huyện Đà Bắc");
	assert_string_equal(str(u, "province"), "HB");
	assert_string_equal(str(u, "province_name"), "Tỉnh Hòa Bình");
	assert_int_equal(cJSON_GetObjectItem(u, "devices")->valueint, 1);
	assert_string_equal(str(u, "last_seen"), "2025-11-20T00:53:20Z");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(u, "closed")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(u, "closed_from")));
	u = by_code(arr, "KYSON");
	assert_string_equal(str(u, "name"), "KYSON"); /* named by its code */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(u, "district")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(u, "level")));
	assert_string_equal(str(by_code(arr, "HB-003"), "level"), "college");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(by_code(arr, "HB-002"),
						     "last_seen")));
	cJSON_Delete(arr);
	free(out);

	out = ok(text);
	assert_non_null(strstr(out, "DABAC Huyện Đà Bắc"));
	assert_non_null(strstr(out, "HB Tỉnh Hòa Bình"));
	assert_non_null(strstr(out, "20/11/2025 07:53")); /* local time */
	/* columns line up by characters, whatever the names' bytes */
	assert_int_equal(column_of(out, "HB-001", "school"),
			 column_of(out, "CODE", "TYPE"));
	assert_int_equal(column_of(out, "HB-002", "school"),
			 column_of(out, "CODE", "TYPE"));
	assert_int_equal(column_of(out, "HB-001", "open"),
			 column_of(out, "CODE", "STATUS"));
	free(out);

	out = ok(csv);
	head = "\xEF\xBB\xBF" "code,name,type,level,district,district_name,"
	       "province,province_name,devices,last_seen,closed,closed_from,"
	       "reopened_from\r\n";
	assert_int_equal(strncmp(out, head, strlen(head)), 0);
	assert_non_null(strstr(out, "\r\nDABAC,Huyện Đà Bắc,district,,,,HB,"
			       "Tỉnh Hòa Bình,0,,no,,\r\n"));
	assert_non_null(strstr(out, "\r\nHB-001,Trường THCS Tu Lý,school,THCS,"
			       "DABAC,Huyện Đà Bắc,HB,Tỉnh Hòa Bình,1,"
			       "2025-11-20T00:53:20Z,no,,\r\n"));
	assert_null(strstr(out, "KYSON"));
	free(out);
}

static void test_unit_changes(void **state)
{
	const char *rename_d[] = { "unit", "KYSON", "--name", "Huyện Kỳ Sơn",
				   NULL };
	const char *move[] = { "unit", "HB-002", "--district", "TANLAC", NULL };
	const char *back[] = { "unit", "HB-002", "--district", "DABAC",
			       "--level", "THCS", NULL };
	const char *close1[] = { "unit", "HB-001", "--close-from",
				 "01/09/2020", NULL };
	const char *reopen1[] = { "unit", "HB-001", "--reopen-from",
				  "2021-01-04", NULL };
	const char *close2[] = { "unit", "HB-002", "--close-from", "1/9/2020",
				 "--format", "json", NULL };
	const char *show[] = { "unit", "HB-001", NULL };
	char *out;
	int64_t devices;
	cJSON *u;

	(void)state;
	devices = helper_server_count(&srv, "SELECT count(*) FROM devices");
	/* rename a district: no token is made */
	out = ok(rename_d);
	assert_non_null(strstr(out, "Huyện Kỳ Sơn"));
	free(out);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM"
					     " devices"), devices);
	/* move a school to a new district: made in the school's province */
	free(ok(move));
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM units"
					     " WHERE code = 'TANLAC' AND type ="
					     " 'district' AND province = 'HB'"),
			 1);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM units"
					     " WHERE code = 'HB-002' AND"
					     " district = 'TANLAC'"), 1);
	free(ok(back));
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM units"
					     " WHERE code = 'HB-002' AND district"
					     " = 'DABAC' AND level = 'THCS'"), 1);
	/* close, reopen: the rows the reports read */
	free(ok(close1));
	out = ok(reopen1);
	assert_non_null(strstr(out, "open again from 04/01/2021 (closed from "
			       "01/09/2020)"));
	free(out);
	out = ok(close2);
	u = cJSON_Parse(out);
	assert_non_null(u);
	assert_string_equal(str(u, "code"), "HB-002");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(u, "closed")));
	assert_string_equal(str(u, "closed_from"), "2020-09-01");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(u, "reopened_from")));
	cJSON_Delete(u);
	free(out);
	out = server_text("SELECT group_concat(unit || ' ' || closed_from"
			  " || ' ' || coalesce(reopened_from, '-'), ';') FROM"
			  " (SELECT * FROM unit_closures ORDER BY unit)",
			  "SELECT string_agg(unit || ' ' || closed_from || ' ' ||"
			  " coalesce(reopened_from, '-'), ';' ORDER BY unit)"
			  " FROM unit_closures");
	assert_string_equal(out, "HB-001 2020-09-01 2021-01-04;"
			    "HB-002 2020-09-01 -");
	free(out);
	out = ok(show);
	assert_non_null(strstr(out, "Trường THCS Tu Lý"));
	free(out);
}

static void test_unit_refusals(void **state)
{
	const char *unknown[] = { "unit", "HB-999", "--name", "X", NULL };
	const char *no_day[] = { "unit", "HB-003", "--close-from", "31/11/2025",
				 NULL };
	const char *feb[] = { "unit", "HB-003", "--name", "Tên mới",
			      "--close-from", "29/02/2025", NULL };
	const char *not_date[] = { "unit", "HB-003", "--close-from",
				   "2025/09/01", NULL };
	const char *twice[] = { "unit", "HB-002", "--close-from", "2021-10-01",
				NULL };
	const char *overlap[] = { "unit", "HB-001", "--close-from", "2020-12-01",
				  NULL };
	const char *reopen_open[] = { "unit", "HB-003", "--reopen-from",
				      "01/01/2026", NULL };
	const char *reopen_early[] = { "unit", "HB-002", "--reopen-from",
				       "15/08/2020", NULL };
	const char *backwards[] = { "unit", "HB-003", "--close-from",
				    "2025-09-01", "--reopen-from", "2025-09-01",
				    NULL };
	const char *district[] = { "unit", "DABAC", "--close-from",
				   "01/09/2025", NULL };
	const char *level[] = { "unit", "HB-003", "--level", "university",
				NULL };
	const char *province_level[] = { "unit", "HB", "--level", "TH", NULL };
	const char *elsewhere[] = { "unit", "HB-003", "--district", "HB-001",
				    NULL };

	(void)state;
	refused(unknown, "unit: no school, district or province has the code "
		"'HB-999'; nothing changed");
	refused(no_day, "close_from: '31/11/2025' does not exist: month 11 of "
		"2025 has 30 days; nothing changed");
	/* one bad field refuses the whole change: the name stays too */
	refused(feb, "close_from: '29/02/2025' does not exist: month 2 of 2025 "
		"has 28 days; nothing changed");
	refused(not_date, "close_from: '2025/09/01' is not a date: write it as "
		"dd/mm/yyyy or YYYY-MM-DD (01/09/2025 or 2025-09-01); nothing "
		"changed");
	refused(twice, "close_from: HB-002 is already closed from 01/09/2020 "
		"(still closed), which overlaps a closure from 01/10/2021; a "
		"school is closed once at a time; nothing changed");
	refused(overlap, "close_from: HB-001 is already closed from 01/09/2020 "
		"until 04/01/2021, which overlaps a closure from 01/12/2020; a "
		"school is closed once at a time; nothing changed");
	refused(reopen_open, "reopen_from: HB-003 is not closed, so it cannot "
		"be reopened (from '01/01/2026'); nothing changed");
	refused(reopen_early, "reopen_from: '15/08/2020' is not after the day "
		"HB-002 closed (01/09/2020): a school reopens after it closes; "
		"nothing changed");
	refused(backwards, "reopen_from: '2025-09-01' is not after close_from "
		"01/09/2025: a school reopens after it closes; nothing changed");
	refused(district, "close_from: only a school is closed and reopened; "
		"DABAC is a district (close its schools one by one); nothing "
		"changed");
	refused(level, "level: must be one of MN TH THCS THPT GDTX office "
		"college, not 'university'; nothing changed");
	refused(province_level, "level: only a school has a level; HB is a "
		"province; nothing changed");
	refused(elsewhere, "district: 'HB-001' is a school, not a district; "
		"nothing changed");
}

static void test_usage(void **state)
{
	const char *no_code[] = { "unit", "--name", "X", NULL };
	const char *csv_one[] = { "unit", "HB-001", "--format", "csv", NULL };
	const char *bad_fmt[] = { "units", "--format", "xml", NULL };
	static const char plans[] = TB_SOURCE_DIR "/plans";
	const char *ontime[] = { "report", "--plan", "hoa-binh-2022-2030",
				 "--period", "2025", "--ontime-days", "400",
				 "--plans-dir", plans, NULL };
	const char *help[] = { "report", "--help", NULL };
	const char *unit_help[] = { "unit", "--help", NULL };
	struct helper_proc_result r;

	(void)state;
	assert_int_equal(run(&r, no_code), 64);
	assert_non_null(strstr(r.err, "unit needs the unit's code"));
	helper_proc_free(&r);
	assert_int_equal(run(&r, csv_one), 64);
	helper_proc_free(&r);
	assert_int_equal(run(&r, bad_fmt), 64);
	assert_string_equal(r.err, "tienbo-server: format: text, json or csv, "
			    "not 'xml'\n");
	helper_proc_free(&r);
	/* ontime_days: a setting of the report command, 1-365 */
	assert_int_equal(run(&r, ontime), 78);
	assert_string_equal(r.err, "tienbo-server: ontime_days: must be an "
			    "integer 1..365, not '400'\n");
	helper_proc_free(&r);
	assert_int_equal(run(&r, help), 0);
	assert_non_null(strstr(r.out, "--ontime-days N"));
	assert_non_null(strstr(r.out, "[10]"));
	helper_proc_free(&r);
	assert_int_equal(run(&r, unit_help), 0);
	assert_non_null(strstr(r.out, "usage: tienbo-server unit CODE "
			       "[options]"));
	assert_non_null(strstr(r.out, "--close-from DATE"));
	helper_proc_free(&r);
}

/* ---- over HTTPS ---------------------------------------------------------- */

/* s percent-encoded for a query string into out (outlen bytes). */
static const char *enc(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return out;
}

/* A request that must get status; its body parsed as JSON. */
static cJSON *call(struct helper_server *s, const char *method,
		   const char *path, const char *token, long status)
{
	struct helper_server_resp r;
	cJSON *j;

	memset(&r, 0, sizeof(r));
	assert_int_equal(helper_server_request(s, method, path, token, NULL,
					       NULL, NULL, 0, 0, &r), 0);
	if (r.status != status)
		fail_msg("%s %s: %ld, want %ld: %s", method, path, r.status,
			 status, r.body ? r.body : "");
	j = cJSON_Parse(r.body);
	assert_non_null(j);
	helper_server_resp_free(&r);
	return j;
}

static void expect_error(cJSON *e, long status, const char *message)
{
	assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, status);
	assert_string_equal(str(e, "message"), message);
	cJSON_Delete(e);
}

static void test_http(void **state)
{
	const char *admin[] = { "admin-token", NULL };
	struct helper_server web;
	char token[65], dev[65], path[1024], a[256], b[256];
	cJSON *j, *u;

	(void)state;
	/* its data is a schema-1 SQLite file that serve migrates; the
	 * units commands it then calls over HTTP run on PostgreSQL in the
	 * tests above, through the command line */
	if (helper_pg_wanted())
		skip();
	memset(&web, 0, sizeof(web));
	assert_int_equal(helper_server_setup(&web), 0);
	make_v1(web.db, NULL); /* serve migrates it */
	assert_int_equal(helper_server_start(&web, NULL), 0);
	assert_int_equal(helper_server_run_token(&web, admin, token), 0);
	assert_int_equal(helper_server_count(&web, "PRAGMA user_version"),
			 TB_DB_SCHEMA);

	snprintf(path, sizeof(path), "/v1/admin/enroll?school=HB-010&name=%s"
		 "&district=DABAC&level=college&district_name=%s",
		 enc("Trường Cao đẳng Sư phạm", a, sizeof(a)),
		 enc("Huyện Đà Bắc", b, sizeof(b)));
	j = call(&web, "POST", path, token, 200);
	snprintf(dev, sizeof(dev), "%s", str(j, "token"));
	cJSON_Delete(j);

	j = call(&web, "GET", "/v1/admin/units", token, 200);
	assert_int_equal(cJSON_GetArraySize(j), 5);
	u = by_code(j, "HB-001"); /* from the v1 file */
	assert_string_equal(str(u, "name"), "Trường THCS Tu Lý");
	assert_string_equal(str(u, "district_name"), "Huyện Đà Bắc");
	assert_string_equal(str(u, "province_name"), "Tỉnh Hòa Bình");
	assert_int_equal(cJSON_GetObjectItem(u, "devices")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(by_code(j, "HB-002"), "devices")
				 ->valueint, 0); /* its token was revoked */
	assert_string_equal(str(by_code(j, "HB-010"), "level"), "college");
	cJSON_Delete(j);
	j = call(&web, "GET", "/v1/admin/units?district=DABAC", token, 200);
	assert_int_equal(cJSON_GetArraySize(j), 4);
	cJSON_Delete(j);
	expect_error(call(&web, "GET", "/v1/admin/units?district=NOPE", token,
			  404), 404, "district: no district has the code 'NOPE'");

	snprintf(path, sizeof(path), "/v1/admin/unit?code=HB-001&name=%s"
		 "&close_from=%s", enc("Trường THCS Tu Lý (cũ)", a, sizeof(a)),
		 enc("01/09/2020", b, sizeof(b)));
	u = call(&web, "POST", path, token, 200);
	assert_string_equal(str(u, "name"), "Trường THCS Tu Lý (cũ)");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(u, "closed")));
	assert_string_equal(str(u, "closed_from"), "2020-09-01");
	cJSON_Delete(u);
	expect_error(call(&web, "POST", "/v1/admin/unit?code=HB-001&close_from="
			  "2021-01-01", token, 409), 409,
		     "close_from: HB-001 is already closed from 01/09/2020 "
		     "(still closed), which overlaps a closure from 01/01/2021; "
		     "a school is closed once at a time; nothing changed");
	expect_error(call(&web, "POST", "/v1/admin/unit?code=HB-002&close_from="
			  "31%2F11%2F2025", token, 400), 400,
		     "close_from: '31/11/2025' does not exist: month 11 of 2025 "
		     "has 30 days; nothing changed");
	expect_error(call(&web, "POST", "/v1/admin/unit?code=ZZ-1&name=x",
			  token, 404), 404,
		     "unit: no school, district or province has the code "
		     "'ZZ-1'; nothing changed");
	expect_error(call(&web, "POST", "/v1/admin/unit?name=x", token, 400),
		     400, "code: give the unit's code");
	cJSON_Delete(call(&web, "GET", "/v1/admin/unit?code=HB-001", token,
			  405));
	cJSON_Delete(call(&web, "GET", "/v1/admin/units", dev, 401));
	assert_int_equal(helper_server_count(&web, "SELECT count(*) FROM"
					     " unit_closures"), 1);
	assert_int_equal(helper_server_stop(&web), 0);
	helper_server_teardown(&web);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_migration_refusals),
		cmocka_unit_test(test_enroll_names_and_list),
		cmocka_unit_test(test_unit_changes),
		cmocka_unit_test(test_unit_refusals),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_http),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
