/* test_agent_import.c - `tienbo-agent import` on the files a clerk's
 * spreadsheet program saves, end to end: the real binary, a real SQLite
 * store in a sandbox.
 *
 * Fixtures: tests/data/import/ (made by LibreOffice 7.4 on a Vietnamese
 * locale; README.md there says how). Every one holds the same three rows,
 * so the expected values below are the fixture's: outreach on 20/11/2025
 * with 1.500 parents, training on 05/12/2025 with 42 participants, 30 of
 * them women, the action-month meeting on 15/11/2025. Also: the same rows
 * imported twice (from another format too), near-duplicates, --again,
 * --dry-run, undo, the export imported back, damaged and binary files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "common/event.h"
#include "tests/helper_agent.h"
#include "tests/helper_proc.h"

#define DATA TB_SOURCE_DIR "/tests/data/import/"
#define TOKEN "s3cret-token-42"

static int setup(void **state)
{
	return setup_agent(state, TOKEN);
}

/* Runs import with up to three more arguments; expects exit `code`. */
static void import(struct fx *f, int code, const char *part, const char *a,
		   const char *b, const char *c)
{
	struct helper_proc_result r;

	if (c)
		AGENT(f, &r, "import", a, b, c);
	else if (b)
		AGENT(f, &r, "import", a, b);
	else
		AGENT(f, &r, "import", a);
	expect_exit(&r, code);
	if (part)
		expect_err(&r, part);
	helper_proc_free(&r);
}

static cJSON *list_json(struct fx *f)
{
	struct helper_proc_result r;
	cJSON *j;

	AGENT(f, &r, "list", "--json");
	expect_exit(&r, 0);
	j = cJSON_Parse(r.out);
	if (!j)
		fail_msg("list --json: not JSON: %s", r.out);
	helper_proc_free(&r);
	return j;
}

static double num(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(e, key);

	if (!cJSON_IsNumber(v))
		fail_msg("no number %s", key);
	return v->valuedouble;
}

static const char *str(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(e, key);

	if (!cJSON_IsString(v))
		fail_msg("no text %s", key);
	return v->valuestring;
}

/* The three rows of the fixture, by date. */
static void expect_clerk_rows(struct fx *f)
{
	cJSON *j = list_json(f), *e;

	assert_int_equal(cJSON_GetArraySize(j), 3);
	e = cJSON_GetArrayItem(j, 0);
	assert_string_equal(str(e, "kind"), "action-month");
	assert_string_equal(str(e, "date"), "2025-11-15");
	assert_string_equal(str(e, "title"),
			    "Mít tinh hưởng ứng Tháng hành động");
	assert_true(num(e, "parents") == 2300);
	assert_true(num(e, "students") == 1250);
	assert_true(num(e, "teachers_staff") == 80);
	e = cJSON_GetArrayItem(j, 1);
	assert_string_equal(str(e, "kind"), "outreach");
	assert_string_equal(str(e, "date"), "2025-11-20");
	assert_string_equal(str(e, "title"),
			    "Tuyên truyền bình đẳng giới cho phụ huynh");
	assert_true(num(e, "parents") == 1500);
	assert_true(num(e, "students") == 320);
	assert_true(num(e, "teachers_staff") == 45);
	e = cJSON_GetArrayItem(j, 2);
	assert_string_equal(str(e, "kind"), "training");
	assert_string_equal(str(e, "date"), "2025-12-05");
	assert_string_equal(str(e, "title"), "Tập huấn kỹ năng lồng ghép giới");
	assert_true(num(e, "participants") == 42);
	assert_true(num(e, "female") == 30);
	cJSON_Delete(j);
}

/* ---- each way of saving -------------------------------------------------- */

static void test_xlsx(void **state)
{
	struct fx *f = *state;

	import(f, 0, "imported 3 events", DATA "clerk.xlsx", NULL, NULL);
	expect_clerk_rows(f);
}

static void test_csv_utf8_semicolon(void **state)
{
	struct fx *f = *state;

	import(f, 0, "imported 3 events", DATA "clerk-utf8.csv", NULL, NULL);
	expect_clerk_rows(f);
}

static void test_csv_windows_1258(void **state)
{
	struct fx *f = *state;

	import(f, 0, "Windows-1258", DATA "clerk-cp1258.csv", NULL, NULL);
	expect_clerk_rows(f); /* NFC: the same bytes as the UTF-8 file */
}

static void test_unicode_text(void **state)
{
	struct fx *f = *state;

	/* Tab-separated: nothing in the file says whether 1.500 is 1500 */
	import(f, 65, "row 2, column D (Phụ huynh): '1.500' could be read as "
		      "1500 or",
	       DATA "clerk-utf16.txt", NULL, NULL);
	assert_int_equal(rows(f), 0);
	import(f, 0, "imported 3 events from", "--thousands", ".",
	       DATA "clerk-utf16.txt");
	expect_clerk_rows(f);
}

static void test_refused_files(void **state)
{
	struct fx *f = *state;

	import(f, 65, "row 1, column A (Lo?i ho?t ??ng): 'Lo?i ho?t ??ng' has "
		      "'?' where letters should be",
	       DATA "clerk-ascii-lossy.csv", NULL, NULL);
	import(f, 65, "OpenDocument spreadsheet (.ods)", DATA "clerk.ods",
	       NULL, NULL);
	import(f, 65, "no sheet named \"Sheet1\"", "--sheet", "Sheet1",
	       DATA "clerk.xlsx");
	import(f, 65, "--sheet is for .xlsx", "--sheet", "x",
	       DATA "clerk-utf8.csv");
	assert_int_equal(rows(f), 0);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM imports"), 0);
}

/* ---- twice ----------------------------------------------------------------- */

static void test_twice_is_caught(void **state)
{
	struct fx *f = *state;

	import(f, 0, "(import 1, xlsx)", DATA "clerk.xlsx", NULL, NULL);
	/* the same rows saved another way: the fingerprint is the content */
	import(f, 0, "every row was skipped", DATA "clerk-cp1258.csv", NULL,
	       NULL);
	import(f, 0, "rows 2-4: imported before", DATA "clerk-utf8.csv", NULL,
	       NULL);
	import(f, 0, "0 events would be imported, 3 rows skipped",
	       "--dry-run", DATA "clerk.xlsx", NULL);
	assert_int_equal(rows(f), 3);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM imports"), 1);
	import(f, 0, "imported 3 events", "--again", DATA "clerk.xlsx", NULL);
	assert_int_equal(rows(f), 6);
}

static void write_csv(struct fx *f, const char *name, const char *text,
		      char *path, size_t len)
{
	snprintf(path, len, "%s/%s", f->sb.dir, name);
	assert_int_equal(helper_proc_write_file(path, text, strlen(text)), 0);
}

static void test_near_duplicates(void **state)
{
	struct fx *f = *state;
	char path[512];

	import(f, 0, NULL, DATA "clerk.xlsx", NULL, NULL);
	/* the running sheet a month later: one figure changed, one row new */
	write_csv(f, "month2.csv",
		  "Loại hoạt động;Ngày;Tên hoạt động;Phụ huynh\r\n"
		  "Tuyên truyền;20/11/2025;Tuyên truyền bình đẳng giới cho "
		  "phụ huynh;1.600\r\n"
		  "Tuyên truyền;02/12/2025;Họp phụ huynh cuối kỳ;90\r\n",
		  path, sizeof(path));
	import(f, 65, "row 2: the same activity (kind, date and title) as "
		      "row 2 of " DATA "clerk.xlsx",
	       path, NULL, NULL);
	assert_int_equal(rows(f), 3);
	write_csv(f, "twice.csv",
		  "kind,date,title,parents\n"
		  "outreach,2025-12-02,Họp phụ huynh,90\n"
		  "outreach,2025-12-03,Họp khác,10\n"
		  "outreach,2025-12-02,Họp phụ huynh,90\n",
		  path, sizeof(path));
	import(f, 65, "row 4: the same as row 2 of this file", path, NULL,
	       NULL);
	assert_int_equal(rows(f), 3);
	import(f, 0, "imported 3 events", "--again", path, NULL);
	assert_int_equal(rows(f), 6);
}

static void test_undo(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	cJSON *j, *e;

	import(f, 0, NULL, DATA "clerk.xlsx", NULL, NULL);
	import(f, 0, "import 1 undone: 3 events voided", "--undo", "1", NULL);
	j = list_json(f);
	assert_int_equal(cJSON_GetArraySize(j), 3);
	cJSON_ArrayForEach(e, j)
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "voided")));
	cJSON_Delete(j);
	assert_int_equal(rows(f), 6); /* voids are revisions, to be synced */
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM queue WHERE "
				 "state = 0 AND voided = 1"), 3);
	import(f, 65, "undone already", "--undo", "1", NULL);
	import(f, 65, "there is no import 7", "--undo", "7", NULL);
	AGENT(f, &r, "imports");
	expect_exit(&r, 0);
	if (!strstr(r.out, "clerk.xlsx: 3 recorded, 0 skipped, undone"))
		fail_msg("imports: %s", r.out);
	helper_proc_free(&r);
	/* an undone import is forgotten: the file imports again */
	import(f, 0, "imported 3 events", DATA "clerk.xlsx", NULL, NULL);
	assert_int_equal(rows(f), 9);
}

static void test_export_imports_back(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	char path[512];

	import(f, 0, NULL, DATA "clerk-utf8.csv", NULL, NULL);
	AGENT(f, &r, "export", "--format", "csv");
	expect_exit(&r, 0);
	write_csv(f, "export.csv", r.out, path, sizeof(path));
	helper_proc_free(&r);
	/* its ids are this agent's: nothing is recorded twice */
	import(f, 0, "rows 2-4: already recorded on this machine", path, NULL, NULL);
	assert_int_equal(rows(f), 3);
	/* imported as new events, every column reads back */
	import(f, 0, "imported 3 events", "--again", path, NULL);
	assert_int_equal(rows(f), 6);
}

static void test_dates_and_counts(void **state)
{
	struct fx *f = *state;
	char path[512];

	write_csv(f, "nov31.csv",
		  "Loại hoạt động;Ngày;Tên hoạt động;Phụ huynh\n"
		  "Tuyên truyền;31/11/2025;Họp;10\n",
		  path, sizeof(path));
	import(f, 65, "row 2, column B (Ngày): 30 is the last day of November "
		      "(got '31/11/2025')",
	       path, NULL, NULL);
	write_csv(f, "comma.csv",
		  "kind,date,title,parents\n"
		  "OUTREACH,5/1/2026,Họp,\"2,000\"\n",
		  path, sizeof(path));
	import(f, 65, "'2,000' could be read as 2000 or", path, NULL, NULL);
	assert_int_equal(rows(f), 0);
	import(f, 0, "imported 1 event", "--thousands", ",", path);
	assert_int_equal(sql_int(f->db, "SELECT json_extract(fields, "
				 "'$.parents') FROM queue"), 2000);
	assert_int_equal(sql_int(f->db, "SELECT date = '2026-01-05' FROM "
				 "queue"), 1);
}

/* ---- the template ----------------------------------------------------- */

static void test_template_round_trip(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	char xlsx[512], csv[512], *text;
	size_t len;
	FILE *out;

	snprintf(xlsx, sizeof(xlsx), "%s/mau.xlsx", f->sb.dir);
	snprintf(csv, sizeof(csv), "%s/mau.csv", f->sb.dir);
	AGENT(f, &r, "template", "-o", xlsx);
	expect_exit(&r, 0);
	helper_proc_free(&r);
	/* every kind's example row, each skipped by name */
	import(f, 0, "rows 2-6: the template's example", xlsx, NULL, NULL);
	AGENT(f, &r, "template", "training", "--format", "csv", "-o", csv);
	expect_exit(&r, 0);
	helper_proc_free(&r);
	text = helper_proc_read_file(csv, &len);
	assert_non_null(text);
	/* Vietnamese headers, ';' as Excel on Vietnamese Windows opens */
	assert_non_null(strstr(text, "\xEF\xBB\xBFLoại hoạt động;Ngày;Tên hoạt "
				     "động;Chủ đề;Số người tham gia;Số nữ;"));
	assert_non_null(strstr(text, "\r\nVí dụ: Tập huấn;20/11/2025;"));
	free(text);
	/* the clerk adds a row below the example */
	out = fopen(csv, "ab");
	assert_non_null(out);
	fputs("Tập huấn;05/12/2025;Tập huấn giới;;1.040;512;;;\r\n", out);
	assert_int_equal(fclose(out), 0);
	import(f, 0, "row 2: the template's example", csv, NULL, NULL);
	assert_int_equal(rows(f), 1);
	assert_int_equal(sql_int(f->db, "SELECT json_extract(fields, "
				 "'$.participants') FROM queue"), 1040);
	AGENT(f, &r, "template", "meeting");
	expect_exit(&r, 64);
	expect_err(&r, "'meeting' is not a kind");
	helper_proc_free(&r);
	AGENT(f, &r, "template", "-o", "/nonexistent/dir/x.xlsx");
	expect_exit(&r, 74);
	expect_err(&r, "/nonexistent/dir/x.xlsx");
	helper_proc_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_xlsx),
		T(test_csv_utf8_semicolon),
		T(test_csv_windows_1258),
		T(test_unicode_text),
		T(test_refused_files),
		T(test_twice_is_caught),
		T(test_near_duplicates),
		T(test_undo),
		T(test_export_imports_back),
		T(test_dates_and_counts),
		T(test_template_round_trip),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
