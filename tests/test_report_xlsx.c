/* test_report_xlsx.c - the report and the events export as Excel
 * workbooks (server/report_xlsx.c, server/export_xlsx.c, server/xlsxw.c),
 * read back cell by cell.
 *
 * Fixture: province PV of three districts, nine units (SC01 never syncs),
 * a handful of events with round numbers and snapshots, merged through
 * the server's own enrollment and batch merge. The figures expected below
 * are worked out by hand from that table (see the comments at each
 * assertion), not taken from the program.
 *
 * The workbooks are unzipped with libzip and their XML parsed with
 * libxml2 (no network, no entities): sheet names from workbook.xml and its
 * relationships, shared strings, number formats of the cell styles, and
 * every cell's type, style and value, so a test sees what Excel sees: a
 * number cell (t absent or "n") holding "71.43" shows "71,43" in vi-VN.
 * Then the commands (a terminal refused, a bad format) and GET
 * /v1/report?format=xlsx and /v1/admin/export?format=xlsx over real HTTPS.
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
#include "common/mem.h"
#include "protocol/codec.h"
#include "server/sql.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/export.h"
#include "server/merge.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_xlsx.h"
#include "tests/helper_merge.h"
#include "tests/helper_pg.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"
#include "tests/helper_xlsx.h"

#define NUNITS 9
#define PLAN "hoa-binh-2022-2030"

/* ---- the fixture -------------------------------------------------------- */

static const struct {
	const char *code, *name, *level, *district;
} units[NUNITS] = {
	{"SA01", "Trường Tiểu học Đà Bắc", "TH", "DA"},
	{"SA02", "Trường Tiểu học Tú Lý", "TH", "DA"},
	{"SA03", "Trường THCS Cao Sơn", "THCS", "DA"},
	{"SA04", "Phòng Giáo dục và Đào tạo Đà Bắc", "office", "DA"},
	{"SB01", "Trường Tiểu học Ân Nghĩa", "TH", "DB"},
	{"SB02", "Trường THCS Vũ Bình", "THCS", "DB"},
	{"SB03", "Trường THPT Lạc Sơn", "THPT", "DB"},
	{"SB04", "Trung tâm GDTX Lạc Sơn", "GDTX", "DB"},
	{"SC01", "Trường Tiểu học Mường Chiềng", "TH", "DC"},
};

/* DB's name holds characters a sheet name cannot and is longer than 31
 * characters; DC's is the same for its first 31. */
static const char *const districts[3][2] = {
	{"DA", "Huyện Đà Bắc"},
	{"DB", "Huyện Lạc Sơn: vùng [cao] / Ngọc Sơn và Tự Do"},
	{"DC", "Huyện Lạc Sơn: vùng [cao] / Ngọc Sơn và Tự Do mới"},
};

/* Events: unit index, kind, date, fields. recorded_at is 01:00 UTC of the
 * date (08:00 in Vietnam). */
static const struct {
	int unit;
	enum tb_kind kind;
	const char *date;
	const char *fields; /* name=value;... */
} events[] = {
	/* E1..E6: the activities */
	{0, TB_KIND_OUTREACH, "2025-09-10",
	 "title=Họp phụ huynh đầu năm;parents=40;students=120;"
	 "teachers_staff=5;officials=1;channel=meeting"},
	{1, TB_KIND_ACTION_MONTH, "2025-11-20",
	 "title=Tháng hành động;parents=25;students=60;teachers_staff=4;"
	 "officials=2"},
	{5, TB_KIND_ACTION_MONTH, "2025-12-01",
	 "title=Tháng hành động;parents=15;students=30;teachers_staff=3;"
	 "officials=0"},
	{4, TB_KIND_OUTREACH, "2025-03-05", "title=Ngày 8/3;parents=30"},
	{0, TB_KIND_OUTREACH, "2024-05-02", "title=Họp cuối năm;parents=100"},
	{2, TB_KIND_TRAINING, "2025-10-01",
	 "title=Tập huấn;participants=20;female=12;ban_members=3;"
	 "women_in_planning=2;communicators=6"},
	/* snapshots: women in planning at 5 of the 7 TH-GDTX schools */
	{0, TB_KIND_SNAPSHOT, "2025-06-20", "women_in_planning=3;ban_members=5"},
	{1, TB_KIND_SNAPSHOT, "2025-06-20", "women_in_planning=0;ban_members=4"},
	{2, TB_KIND_SNAPSHOT, "2025-06-20", "women_in_planning=2;ban_members=6"},
	{4, TB_KIND_SNAPSHOT, "2025-06-20", "women_in_planning=1;ban_members=3"},
	{5, TB_KIND_SNAPSHOT, "2025-06-20", "women_in_planning=0;ban_members=2"},
	{6, TB_KIND_SNAPSHOT, "2025-06-20", "women_in_planning=4;ban_members=7"},
	{7, TB_KIND_SNAPSHOT, "2025-06-20", "women_in_planning=2;ban_members=1"},
	{3, TB_KIND_SNAPSHOT, "2025-06-20",
	 "key_posts=3;key_posts_women=1;women_in_planning=1"},
};
#define NEVENTS (sizeof(events) / sizeof(events[0]))

static char tmpdir[64];
static struct tb_plan_set *plans;
static struct tb_sql *db;

static void event_id(size_t i, char *id)
{
	snprintf(id, TB_ID_LEN, "00000000-0000-4000-8000-%012zx", i + 1);
}

static void make_event(size_t i, int64_t seq, struct tb_event *e)
{
	char fields[256], msg[TB_MSG_LEN] = "", *save = NULL, *kv;

	tb_event_init(e, events[i].kind);
	event_id(i, e->id);
	snprintf(e->school, sizeof(e->school), "%s", units[events[i].unit].code);
	assert_int_equal(tb_date_parse(events[i].date, &e->date), 0);
	e->recorded_at = (int64_t)e->date * 86400 + 3600;
	e->seq = seq;
	snprintf(fields, sizeof(fields), "%s", events[i].fields);
	for (kv = strtok_r(fields, ";", &save); kv;
	     kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');

		assert_non_null(eq);
		*eq = '\0';
		if (tb_event_set(e, kv, eq + 1, msg, sizeof(msg)))
			fail_msg("%s", msg);
	}
	if (tb_event_validate(e, 0, msg, sizeof(msg)))
		fail_msg("event %zu: %s", i, msg);
}

static void merge_unit(struct tb_sql *d, int u, const char *token)
{
	struct tb_batch b;
	struct tb_event e;
	char msg[256];
	int64_t seq = 0;

	tb_batch_init(&b);
	for (size_t i = 0; i < NEVENTS; i++) {
		if (events[i].unit != u)
			continue;
		make_event(i, ++seq, &e);
		assert_int_equal(tb_batch_add(&b, &e), 0);
		tb_event_clear(&e);
	}
	if (helper_merge_batch(d, token, units[u].code, u + 1, &b, msg,
			       sizeof(msg)))
		fail_msg("%s", msg);
}

/* Builds the fixture database at path. */
static struct tb_sql *fixture_db(const char *path)
{
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	char msg[256] = "", sql[256], token[TB_TOKEN_LEN + 1];
	struct tb_sql *d = NULL;
	int64_t id;

	if (tb_db_open(path, &o, &d, msg, sizeof(msg)) ||
	    tb_report_init(d, msg, sizeof(msg)))
		fail_msg("%s", msg);
	for (int u = 0; u < NUNITS; u++) {
		struct tb_org_school s = {units[u].code, units[u].name,
					  units[u].level, units[u].district,
					  "PV"};

		if (tb_auth_enroll(d, &s, token, &id, msg, sizeof(msg)))
			fail_msg("%s", msg);
		if (u != 8) /* SC01 never syncs */
			merge_unit(d, u, token);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "UPDATE units SET name = '%s' WHERE "
			 "code = '%s'", districts[i][1], districts[i][0]);
		assert_int_equal(tb_sql_exec(d, sql, msg, sizeof(msg)), 0);
	}
	assert_int_equal(tb_sql_exec(d, "UPDATE units SET name = 'Tỉnh Hòa "
				    "Bình' WHERE code = 'PV'", msg,
				    sizeof(msg)), 0);
	return d;
}

static int setup(void **state)
{
	char msg[TB_PLAN_MSG_LEN] = "", path[600];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-xlsx-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (tb_plan_set_load(TB_SOURCE_DIR "/plans", &plans, msg,
			     sizeof(msg))) {
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	if (helper_pg_db_path(path, sizeof(path), tmpdir, "fixture.db"))
		return -1;
	db = fixture_db(path);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	tb_sql_close(db);
	tb_plan_set_destroy(plans);
	if (getenv("TB_KEEP"))
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- reading a workbook back (tests/helper_xlsx.h) --------------------- */

static struct helper_xlsx *book_open(const char *path)
{
	struct helper_xlsx *b = helper_xlsx_open(path);

	if (!b)
		fail_msg("%s: not a workbook", path);
	return b;
}

static const struct helper_xlsx_sheet *sheet(const struct helper_xlsx *b,
					     const char *name)
{
	const struct helper_xlsx_sheet *sh = helper_xlsx_sheet(b, name);

	if (!sh)
		fail_msg("no sheet \"%s\"", name);
	return sh;
}

static const struct helper_xlsx_cell *
cellat(const struct helper_xlsx_sheet *sh, const char *ref)
{
	return helper_xlsx_cell(sh, ref);
}

static void col_of(const struct helper_xlsx_sheet *sh, int row,
		   const char *text, char *col, size_t len)
{
	if (helper_xlsx_col_of(sh, row, text, col, len) < 0)
		fail_msg("%s: no column \"%s\" in row %d", sh->name, text,
			 row);
}

static void expect_text(const struct helper_xlsx_sheet *sh, const char *ref,
			const char *want)
{
	const struct helper_xlsx_cell *c = cellat(sh, ref);

	if (!c || !c->v)
		fail_msg("%s!%s: empty, expected \"%s\"", sh->name, ref, want);
	if (strcmp(c->t, "s") != 0 && strcmp(c->t, "inlineStr") != 0)
		fail_msg("%s!%s: type \"%s\", expected a string", sh->name,
			 ref, c->t);
	if (strcmp(c->v, want) != 0)
		fail_msg("%s!%s: \"%s\", expected \"%s\"", sh->name, ref, c->v,
			 want);
}

/* A number cell holding the double `text` is (the XML writes '.' as the
 * decimal point; libxlsxwriter 1.1.4 prints 16 significant digits, so
 * 71.43 may be written 71.43000000000001: the same double, which Excel,
 * reading 15 digits, and LibreOffice show as 71,43 in vi-VN) in number
 * format `fmt` (NULL: any). */
static void expect_num(const struct helper_xlsx *b,
		       const struct helper_xlsx_sheet *sh, const char *ref,
		       const char *text, const char *fmt)
{
	const struct helper_xlsx_cell *c = cellat(sh, ref);

	if (!c || !c->v)
		fail_msg("%s!%s: empty, expected %s", sh->name, ref, text);
	if (c->t[0] && strcmp(c->t, "n") != 0)
		fail_msg("%s!%s: type \"%s\", expected a number", sh->name,
			 ref, c->t);
	if (strchr(c->v, ',') || strtod(c->v, NULL) != strtod(text, NULL))
		fail_msg("%s!%s: %s, expected %s", sh->name, ref, c->v, text);
	if (fmt && strcmp(helper_xlsx_numfmt(b, c), fmt) != 0)
		fail_msg("%s!%s: format %s, expected %s", sh->name, ref,
			 helper_xlsx_numfmt(b, c), fmt);
}

static const char *ref(const char *col, int row)
{
	static char buf[4][16];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%d", col, row);
	return buf[i];
}

/* The frozen pane and the autofilter of a sheet, as the XML has them. */
static void expect_frozen(const struct helper_xlsx_sheet *sh, const char *pane,
			  const char *filter)
{
	if (!strstr(sh->xml, pane) || !strstr(sh->xml, "state=\"frozen\""))
		fail_msg("%s: no frozen pane %s", sh->name, pane);
	if (filter && !strstr(sh->xml, filter))
		fail_msg("%s: no autofilter %s", sh->name, filter);
}

/* A number cell near v (a date-time), in format fmt. */
static void expect_time(const struct helper_xlsx *b, const struct helper_xlsx_sheet *sh,
			const char *ref, double v, const char *fmt)
{
	const struct helper_xlsx_cell *c = cellat(sh, ref);
	double got;

	if (!c || !c->v || (c->t[0] && strcmp(c->t, "n") != 0))
		fail_msg("%s!%s: not a number cell", sh->name, ref);
	got = strtod(c->v, NULL);
	if (v > 0 && (got < v - 1e-6 || got > v + 1e-6))
		fail_msg("%s!%s: %s, expected %.8f", sh->name, ref, c->v, v);
	assert_string_equal(helper_xlsx_numfmt(b, c), fmt);
}

/* ---- the report ----------------------------------------------------------- */

#define PCT "0.00\"%\""
#define INT "#,##0"
#define DATE "dd/mm/yyyy"
#define TIME "dd/mm/yyyy hh:mm"
/* 2026-01-05 10:00 in Vietnam: Excel's day 46027 and 10 hours */
#define NOW "2026-01-05T03:00:00Z"
#define NOW_LOCAL (46027.0 + 10.0 / 24)

static struct tb_report *run(const char *unit, const char *period)
{
	struct tb_report_opts o;
	struct tb_report *r = NULL;
	char msg[256] = "";

	memset(&o, 0, sizeof(o));
	o.unit = unit;
	o.detail = 1;
	assert_int_equal(tb_time_parse(NOW, &o.now), 0);
	if (tb_report_run(db, tb_plan_set_find(plans, PLAN), period, &o, &r,
			  msg, sizeof(msg)))
		fail_msg("%s", msg);
	return r;
}

static struct helper_xlsx *report_book(const struct tb_report *r, const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(tb_report_xlsx(r, f), 0);
	assert_int_equal(fclose(f), 0);
	return book_open(path);
}

/* The missing-units cell of SC01: its name beside its code when the
 * report lists the schools. */
static void expect_sc01(const struct tb_report *r, const struct helper_xlsx_sheet *sh,
			const char *at)
{
	expect_text(sh, at, r->nschools ? "SC01 Trường Tiểu học Mường Chiềng"
					: "SC01");
}

/* The title block, the header rows, panes and filter. */
static void check_title(const struct helper_xlsx *b, const struct tb_report *r)
{
	const struct helper_xlsx_sheet *sh = sheet(b, "Tổng hợp");
	char filter[32];

	expect_text(sh, "A1", tb_plan_set_find(plans, PLAN)->name_vi);
	expect_text(sh, "B2", "Tỉnh Hòa Bình (PV, Tỉnh)");
	expect_text(sh, "B3", "2025-H2");
	expect_num(b, sh, "C3", "45839", DATE); /* 01/07/2025 */
	expect_num(b, sh, "D3", "46022", DATE); /* 31/12/2025 */
	expect_time(b, sh, "B4", NOW_LOCAL, TIME);
	expect_num(b, sh, "B5", "9", INT);
	/* two header rows: Vietnamese, then English */
	expect_text(sh, "A6", "Mã chỉ tiêu");
	expect_text(sh, "A7", "ID");
	expect_text(sh, "D6", "Kết quả trong kỳ");
	expect_text(sh, "D7", "Value of the period");
	expect_text(sh, "J7", "Progress (%)");
	snprintf(filter, sizeof(filter), "<autoFilter ref=\"A7:O%zu\"",
		 7 + r->nrows);
	expect_frozen(sh, "ySplit=\"7\"", filter);
	assert_non_null(strstr(sh->xml, "xSplit=\"2\""));
}

static void check_summary(const struct helper_xlsx *b,
			  const struct tb_report *r)
{
	const struct helper_xlsx_sheet *sh = sheet(b, "Tổng hợp");
	int k;


	/* HB-1.1a: women in planning at 5 of the 7 TH-GDTX schools that gave
	 * a snapshot (SC01 never synced): 71.43 %, target >= 95 for 2025,
	 * progress 71.43 / 95 = 75.19 %, behind. */
	k = helper_xlsx_row_of(sh, 'A', "HB-1.1a");
	assert_int_equal(k, 8); /* the plan's first indicator */
	expect_text(sh, ref("B", k), tb_report_find(r, "HB-1.1a")->ind->name_vi);
	expect_text(sh, ref("C", k), "% đơn vị");
	expect_num(b, sh, ref("D", k), "71.43", PCT);
	expect_text(sh, ref("F", k), "≥");
	expect_num(b, sh, ref("G", k), "95", PCT);
	expect_num(b, sh, ref("H", k), "2025", "0");
	expect_num(b, sh, ref("J", k), "75.19", PCT);
	expect_text(sh, ref("K", k), "Chậm tiến độ");
	expect_num(b, sh, ref("L", k), "7", INT);
	expect_num(b, sh, ref("M", k), "8", INT);
	expect_sc01(r, sh, ref("N", k));

	/* HB-3.1/parents, outreach and Action Month: 40 + 25 + 15 in H2;
	 * cumulative from 2022 adds 30 (March 2025) and 100 (2024) = 210;
	 * target >= 1500 by 2025, all of it due by 31/12/2025: 14 %. Units:
	 * SA01, SA02, SA03, SB02 have events in H2, of all 9. */
	k = helper_xlsx_row_of(sh, 'A', "HB-3.1/parents");
	assert_true(k > 8);
	expect_text(sh, ref("C", k), "lượt");
	expect_num(b, sh, ref("D", k), "80", INT);
	expect_num(b, sh, ref("E", k), "210", INT);
	expect_num(b, sh, ref("G", k), "1500", INT);
	expect_num(b, sh, ref("I", k), "1500", INT);
	expect_num(b, sh, ref("J", k), "14", PCT);
	expect_num(b, sh, ref("L", k), "4", INT);
	expect_num(b, sh, ref("M", k), "9", INT);

	/* HB-3.2: 6 communicators trained (SA03, October), of 50: 12 %. */
	k = helper_xlsx_row_of(sh, 'A', "HB-3.2");
	expect_num(b, sh, ref("D", k), "6", INT);
	expect_num(b, sh, ref("E", k), "6", INT);
	expect_num(b, sh, ref("J", k), "12", PCT);
	/* HB-2.1/college: no unit of the fixture is a college */
	k = helper_xlsx_row_of(sh, 'A', "HB-2.1/college");
	expect_text(sh, ref("K", k), "Chưa có số liệu");
	assert_null(cellat(sh, ref("D", k)));
}

static void check_districts(const struct helper_xlsx *b, const struct tb_report *r)
{
	const struct helper_xlsx_sheet *sh = sheet(b, "Huyện Đà Bắc");
	int k;

	expect_text(sh, "B2", "Huyện Đà Bắc (DA, Huyện)");
	expect_num(b, sh, "B5", "4", INT);
	expect_text(sh, "A7", "ID");
	expect_frozen(sh, "ySplit=\"7\"", "<autoFilter ref=\"A7:O");
	/* DA: 40 + 25 in H2, 100 more in 2024; SA01 and SA03 of SA01-03 */
	k = helper_xlsx_row_of(sh, 'A', "HB-3.1/parents");
	expect_num(b, sh, ref("D", k), "65", INT);
	expect_num(b, sh, ref("E", k), "165", INT);
	k = helper_xlsx_row_of(sh, 'A', "HB-1.1a");
	expect_num(b, sh, ref("D", k), "66.67", PCT);
	expect_num(b, sh, ref("L", k), "3", INT);
	assert_null(cellat(sh, ref("N", k))); /* none of DA's is missing */

	/* DB's name without : [ ] /, cut at 31 characters */
	sh = sheet(b, "Huyện Lạc Sơn vùng cao Ngọc Sơn");
	k = helper_xlsx_row_of(sh, 'A', "HB-3.1/parents");
	expect_num(b, sh, ref("D", k), "15", INT);
	expect_num(b, sh, ref("E", k), "45", INT);
	k = helper_xlsx_row_of(sh, 'A', "HB-1.1a");
	expect_num(b, sh, ref("D", k), "75", PCT); /* SB01, SB03, SB04 of 4 */

	/* DC's name is DB's for 31 characters: made unique */
	sh = sheet(b, "Huyện Lạc Sơn vùng cao Ngọc (2)");
	k = helper_xlsx_row_of(sh, 'A', "HB-1.1a");
	assert_null(cellat(sh, ref("D", k))); /* nobody reported: no value */
	expect_text(sh, ref("K", k), "Chưa có số liệu");
	expect_num(b, sh, ref("M", k), "1", INT);
	if (r->nschools)
		expect_sc01(r, sh, ref("N", k));
}

static void check_am(const struct helper_xlsx *b)
{
	const struct helper_xlsx_sheet *sh = sheet(b, "Tháng hành động");

	expect_text(sh, "G2", "Phụ huynh");
	expect_text(sh, "G3", "Parents");
	expect_frozen(sh, "ySplit=\"3\"", "<autoFilter ref=\"A3:L7\"");
	/* DA: SA02's activity of 20/11 (25 parents) */
	expect_text(sh, "A4", "DA");
	expect_num(b, sh, "F4", "1", INT);
	expect_num(b, sh, "G4", "25", INT);
	/* the province: SA02's and SB02's, 25 + 15 parents, 60 + 30
	 * students, from 15/11 to 15/12/2025 */
	expect_text(sh, "A7", "PV");
	expect_num(b, sh, "C7", "2025", "0");
	expect_num(b, sh, "D7", "45976", DATE);
	expect_num(b, sh, "E7", "46006", DATE);
	expect_num(b, sh, "F7", "2", INT);
	expect_num(b, sh, "G7", "40", INT);
	expect_num(b, sh, "H7", "90", INT);
	expect_num(b, sh, "K7", "2", INT);
}

static void check_schools(const struct helper_xlsx *b, const struct tb_report *r)
{
	const struct helper_xlsx_sheet *sh = sheet(b, "Tình hình báo cáo");
	int k;

	expect_text(sh, "A2", "Mã trường");
	expect_text(sh, "A3", "School code");
	expect_text(sh, "F3", "State");
	expect_frozen(sh, "ySplit=\"3\"", NULL);
	if (!r->nschools)
		return; /* the engine lists none yet: the header alone */
	k = helper_xlsx_row_of(sh, 'A', "SC01");
	assert_true(k > 3);
	expect_text(sh, ref("B", k), "Trường Tiểu học Mường Chiềng");
	expect_text(sh, ref("C", k), "DC");
	expect_text(sh, ref("D", k), districts[2][1]);
	/* nothing by 5 January; the deadline is 10 days after 31/12 */
	expect_text(sh, ref("F", k), "Chưa báo cáo, chưa đến hạn");
	expect_num(b, sh, "B1", "46032", DATE); /* 10/01/2026 */
	assert_null(cellat(sh, ref("G", k))); /* never received anything */
	k = helper_xlsx_row_of(sh, 'A', "SA01");
	expect_text(sh, ref("D", k), "Huyện Đà Bắc");
	expect_time(b, sh, ref("G", k), 0, TIME); /* received at merge time */
	/* completeness below the schools: all nine expected (the plan covers
	   every level); SA01 SA02 SA03 SB02 have events dated in 2025-H2,
	   each received at merge time, after the 10/01/2026 deadline (the
	   report is dated 05/01/2026, the merge ran later: late); the other
	   five have nothing yet */
	k = helper_xlsx_row_of(sh, 'A', "Tổng cộng (Total)");
	assert_true(k > 3 + NUNITS);
	expect_num(b, sh, ref("B", k), "9", INT);
	expect_num(b, sh, ref("C", k), "4", INT);
	expect_num(b, sh, ref("D", k), "44.444444444444443", PCT);
	expect_num(b, sh, ref("E", k), "0", INT);
	expect_num(b, sh, ref("G", k), "4", INT);
	expect_num(b, sh, ref("H", k), "5", INT);
	expect_num(b, sh, ref("I", k), "0", INT);
	k = helper_xlsx_row_of(sh, 'A', "Huyện Đà Bắc");
	expect_num(b, sh, ref("B", k), "4", INT); /* SA01-SA04 */
	expect_num(b, sh, ref("C", k), "3", INT); /* SA04 sent no H2 data */
}

static void test_report_province(void **state)
{
	static const char *const order[] = {
		"Tổng hợp", "Huyện Đà Bắc", "Huyện Lạc Sơn vùng cao Ngọc Sơn",
		"Huyện Lạc Sơn vùng cao Ngọc (2)", "Tháng hành động",
		"Tình hình báo cáo"};
	struct tb_report *r = run("PV", "2025-H2");
	struct helper_xlsx *b = report_book(r, "province.xlsx");

	(void)state;
	assert_int_equal(b->nsh, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(b->sh[i].name, order[i]);
	check_title(b, r);
	check_summary(b, r);
	check_districts(b, r);
	check_am(b);
	check_schools(b, r);
	helper_xlsx_free(b);
	tb_report_destroy(r);
}

/* A district's report: the summary and the Action Month, no sheet per
 * district; the temporary file is gone afterwards. */
static void test_report_district(void **state)
{
	struct tb_report *r;
	struct helper_xlsx *b;
	char env[128], cmd[160];
	const struct helper_xlsx_sheet *sh;
	int k;

	(void)state;
	snprintf(env, sizeof(env), "%s/tmp", tmpdir);
	assert_int_equal(mkdir(env, 0700), 0);
	setenv("TMPDIR", env, 1);
	r = run("DA", "2025-H2");
	b = report_book(r, "district.xlsx");
	unsetenv("TMPDIR");
	assert_int_equal(b->nsh, 2);
	sh = sheet(b, "Tổng hợp");
	expect_text(sh, "B2", "Huyện Đà Bắc (DA, Huyện)");
	k = helper_xlsx_row_of(sh, 'A', "HB-3.1/parents");
	expect_num(b, sh, ref("D", k), "65", INT);
	expect_num(b, sh, ref("M", k), "4", INT);
	sheet(b, "Tháng hành động");
	helper_xlsx_free(b);
	tb_report_destroy(r);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", env);
	assert_int_equal(system(cmd), 0); /* nothing left in TMPDIR */
}

/* ---- the export ------------------------------------------------------------- */

static void test_export(void **state)
{
	struct tb_export_opts o;
	struct helper_xlsx *b;
	const struct helper_xlsx_sheet *sh;
	char path[128], msg[256] = "", col[8], id[TB_ID_LEN];
	int64_t n = 0;
	FILE *f;
	int k;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.format = TB_EXPORT_XLSX;
	snprintf(path, sizeof(path), "%s/export.xlsx", tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	if (tb_export(db, &o, f, &n, msg, sizeof(msg)))
		fail_msg("%s", msg);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(n, (int64_t)NEVENTS);
	b = book_open(path);
	assert_int_equal(b->nsh, 1);
	sh = sheet(b, "Hoạt động");
	expect_text(sh, "A1", "Loại hoạt động");
	expect_text(sh, "A2", "kind");
	expect_text(sh, "D1", "Tên trường");
	expect_text(sh, "D2", "school_name");
	expect_frozen(sh, "ySplit=\"2\"", "<autoFilter ref=\"A2:");
	assert_int_equal(sh->n > 0, 1);

	/* E1: SA01's outreach of 10/09/2025, recorded 08:00 local */
	event_id(0, id);
	k = helper_xlsx_row_of(sh, 'B', id);
	assert_true(k > 2);
	expect_text(sh, ref("A", k), "Tuyên truyền");
	expect_text(sh, ref("C", k), "SA01");
	expect_text(sh, ref("D", k), "Trường Tiểu học Đà Bắc");
	expect_text(sh, ref("E", k), "DA");
	expect_text(sh, ref("F", k), "Huyện Đà Bắc");
	expect_num(b, sh, ref("G", k), "45910", DATE);
	expect_num(b, sh, ref("H", k), "1", INT);
	expect_text(sh, ref("I", k), "không");
	expect_time(b, sh, ref("K", k), 45910 + 8.0 / 24, TIME);
	expect_time(b, sh, ref("L", k), 0, TIME); /* received: merge time */
	expect_num(b, sh, ref("N", k), "1", INT); /* seq */
	col_of(sh, 2, "parents", col, sizeof(col));
	expect_text(sh, ref(col, 1), "Phụ huynh");
	expect_num(b, sh, ref(col, k), "40", INT);
	col_of(sh, 2, "channel", col, sizeof(col));
	expect_text(sh, ref(col, k), "Họp");
	/* E3: SB02's Action Month activity, in DB */
	event_id(2, id);
	k = helper_xlsx_row_of(sh, 'B', id);
	expect_text(sh, ref("A", k), "Tháng hành động");
	expect_text(sh, ref("F", k), districts[1][1]);
	helper_xlsx_free(b);
}

/* The CSV is what it was: machines read it. */
static void test_export_csv_unchanged(void **state)
{
	static const char head[] = "\xEF\xBB\xBFkind,id,school,date,"
		"revision,voided,void_reason,recorded_at,device,seq,title,";
	struct tb_export_opts o;
	char *buf = NULL, msg[256] = "";
	size_t len = 0;
	int64_t n = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	memset(&o, 0, sizeof(o));
	o.format = TB_EXPORT_CSV;
	assert_non_null(f);
	assert_int_equal(tb_export(db, &o, f, &n, msg, sizeof(msg)), 0);
	fclose(f);
	assert_non_null(buf);
	assert_memory_equal(buf, head, strlen(head));
	assert_non_null(strstr(buf, "\r\noutreach,00000000-0000-4000-8000-"
				    "000000000001,SA01,2025-09-10,1,no,,"
				    "2025-09-10T01:00:00Z,11111111-2222-4333-"
				    "8444-000000000001,1,Họp phụ huynh đầu năm,"
				    "40,120,5,1,"));
	free(buf);
}

/* ---- the commands ----------------------------------------------------------- */

static int is_zip(const char *p, size_t n)
{
	return n > 1000 && memcmp(p, "PK\x03\x04", 4) == 0;
}

/* `report` or `export` to xlsx on a terminal, without --output: refused,
 * naming --output; a bad format: refused, naming xlsx; to a file or a
 * pipe: a workbook. */
static void test_cli(void **state)
{
	char dbp[600], out[128], head[4] = "";
	const char *report[] = {TB_SERVER_BIN, "report", "--db", dbp,
				"--plans-dir", TB_SOURCE_DIR "/plans",
				"--plan", PLAN, "--period", "2025-H2",
				"--format", "xlsx", NULL, NULL, NULL};
	const char *export[] = {TB_SERVER_BIN, "export", "--db", dbp,
				"--format", "xlsx", NULL, NULL, NULL};
	struct helper_proc_opts po = {0};
	struct helper_proc_result res;
	struct helper_proc_pty *p;
	struct helper_xlsx *b;
	FILE *f;

	(void)state;
	assert_int_equal(helper_pg_db_path(dbp, sizeof(dbp), tmpdir,
					   "fixture.db"), 0);
	p = helper_proc_pty_start(report, NULL);
	assert_non_null(p);
	assert_int_equal(helper_proc_pty_wait(p, 30000), TB_EXIT_USAGE);
	assert_non_null(strstr(helper_proc_pty_output(p), "--output"));
	helper_proc_pty_free(p);
	p = helper_proc_pty_start(export, NULL);
	assert_non_null(p);
	assert_int_equal(helper_proc_pty_wait(p, 30000), TB_EXIT_USAGE);
	assert_non_null(strstr(helper_proc_pty_output(p), "--output"));
	helper_proc_pty_free(p);

	/* standard output to a pipe: the workbook itself */
	assert_int_equal(helper_proc_run(report, &po, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_true(is_zip(res.out, res.out_len));
	helper_proc_free(&res);

	report[11] = "xls";
	assert_int_equal(helper_proc_run(report, &po, &res), 0);
	assert_int_equal(res.exit_code, TB_EXIT_USAGE);
	assert_non_null(strstr(res.err, "xlsx"));
	helper_proc_free(&res);
	export[5] = "xls";
	assert_int_equal(helper_proc_run(export, &po, &res), 0);
	assert_int_equal(res.exit_code, TB_EXIT_USAGE);
	assert_non_null(strstr(res.err, "xlsx"));
	helper_proc_free(&res);

	snprintf(out, sizeof(out), "%s/cli-export.xlsx", tmpdir);
	export[5] = "xlsx";
	export[6] = "--output";
	export[7] = out;
	assert_int_equal(helper_proc_run(export, &po, &res), 0);
	assert_int_equal(res.exit_code, 0);
	helper_proc_free(&res);
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, 4, f), 4);
	fclose(f);
	assert_memory_equal(head, "PK\x03\x04", 4);
	b = book_open(out);
	expect_text(sheet(b, "Hoạt động"), "A1", "Loại hoạt động");
	helper_xlsx_free(b);
}

/* ---- over HTTPS --------------------------------------------------------------- */

/* The body as a workbook: written to a file and opened. */
static struct helper_xlsx *got_book(const struct helper_server_resp *g,
				    const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(g->body, 1, g->len, f), g->len);
	assert_int_equal(fclose(f), 0);
	return book_open(path);
}

static void get(struct helper_server *s, const char *path, const char *token,
		struct helper_server_resp *g)
{
	assert_int_equal(helper_server_request(s, "GET", path, token, NULL,
					       NULL, NULL, 0, 0, g), 0);
}

static void test_http(void **state)
{
	static const char *const serve[] = {"--plans-dir",
					    TB_SOURCE_DIR "/plans", NULL};
	static const char *const admin[] = {"admin-token", NULL};
	struct helper_server s;
	char token[TB_TOKEN_LEN + 1];
	struct helper_server_resp g;
	struct helper_xlsx *b;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(helper_server_setup(&s), 0);
	tb_sql_close(fixture_db(s.db));
	assert_int_equal(helper_server_start(&s, serve), 0);
	assert_int_equal(helper_server_run_token(&s, admin, token), 0);

	get(&s, "/v1/report?plan=" PLAN "&unit=PV&period=2025-H2&format=xlsx",
	    token, &g);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.content_type, "application/vnd.openxmlformats-"
			    "officedocument.spreadsheetml.sheet");
	assert_string_equal(g.content_disposition, "attachment; filename=\"bao-cao-"
			    PLAN "-PV-2025-H2.xlsx\"");
	assert_true(is_zip(g.body, g.len));
	b = got_book(&g, "http-report.xlsx");
	assert_int_equal(b->nsh, 6);
	expect_num(b, sheet(b, "Huyện Đà Bắc"), "B5", "4", INT);
	helper_xlsx_free(b);
	helper_server_resp_free(&g);

	get(&s, "/v1/admin/export?format=xlsx&district=DB", token, &g);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.content_disposition,
			    "attachment; filename=\"hoat-dong-DB.xlsx\"");
	b = got_book(&g, "http-export.xlsx");
	expect_text(sheet(b, "Hoạt động"), "E3", "DB"); /* DB's only */
	helper_xlsx_free(b);
	helper_server_resp_free(&g);

	get(&s, "/v1/report?plan=" PLAN "&period=2025-H2&format=xls", token,
	    &g);
	assert_int_equal(g.status, 400);
	helper_server_resp_free(&g);
	assert_int_equal(helper_server_stop(&s), 0);
	helper_server_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_province),
		cmocka_unit_test(test_report_district),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_export_csv_unchanged),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_http),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
