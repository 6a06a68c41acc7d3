/* test_report_pdf.c - the printed report (server/report_pdf.c, pdf.c)
 * read back by poppler: pdftotext, pdftoppm, pdffonts, pdfinfo.
 *
 * Fixture: province HB "Tỉnh Hòa Bình" with districts LS "Huyện Lạc Sơn"
 * and DB "Huyện Đà Bắc"; four schools enrolled through server/auth.c;
 * events merged through server/merge.c (so the roll-up triggers see what
 * an upload does). Two schools report; "Trường Tiểu học Đà Bắc" and
 * "Trường THCS Nguyễn Thị Hường" never do. The report: Thanh Oai's plan,
 * 2025-H1, the province, generated at 2025-08-04 18:00 UTC (05/08/2025
 * 01:00 in Vietnam: the date line must use UTC+7).
 *
 * Every expected figure is worked out by hand from the events below (the
 * arithmetic is written next to it), not taken from the program, and
 * looked for in the PDF's text in Vietnamese notation (19.450, 71,25%)
 * on the same page as its indicator's id. The Vietnamese text must come
 * back byte for byte (NFC), which proves Pango shaped it and cairo mapped
 * the glyphs back to the characters.
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
#include "protocol/batch.h"
#include "server/sql.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/merge.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_out.h"
#include "server/report_pdf.h"
#include "tests/helper_pdf.h"
#include "tests/helper_pg.h"
#include "tests/helper_merge.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"

#define PLAN "thanh-oai-2021-2030"
#define NSCH 4

static const struct {
	const char *code, *name, *level, *district;
} sch[NSCH] = {
	{"HB-LS-MN1", "Trường Mầm non Hương Nhượng", "MN", "LS"},
	{"HB-LS-TH1", "Trường Tiểu học Ân Nghĩa", "TH", "LS"},
	{"HB-DB-TH1", "Trường Tiểu học Đà Bắc", "TH", "DB"},
	{"HB-LS-THCS1", "Trường THCS Nguyễn Thị Hường", "THCS", "LS"},
};

/* One event: school index, kind, date, then "field=value" pairs. */
struct fx {
	int school;
	enum tb_kind kind;
	const char *date;
	const char *fields[12];
};

static const struct fx events[] = {
	/* before the period: counted only in the cumulative values */
	{0, TB_KIND_OUTREACH, "2023-05-10",
	 {"parents=18000", "students=30000", "teachers_staff=5"}},
	{0, TB_KIND_ACTION_MONTH, "2024-11-20",
	 {"parents=1300", "students=450", "teachers_staff=25", "officials=3"}},
	{1, TB_KIND_TRAINING, "2024-10-15",
	 {"participants=20", "communicators=8"}},
	/* 2025-H1 */
	{0, TB_KIND_OUTREACH, "2025-03-08",
	 {"parents=1200", "students=0", "teachers_staff=15", "officials=2",
	  "occasion=womens-day"}},
	{0, TB_KIND_WEB_POST, "2025-02-10", {NULL}},
	{0, TB_KIND_WEB_POST, "2025-05-10", {NULL}},
	{0, TB_KIND_SNAPSHOT, "2025-06-20",
	 {"nursery_age_children=80", "nursery_age_enrolled=57",
	  "kindergarten_age_children=120", "kindergarten_age_enrolled=120",
	  "ban_members=7", "ban_members_trained=5", "women_in_planning=4",
	  "women_in_planning_trained=3", "curriculum_content=yes",
	  "legal_outreach=yes"}},
	{1, TB_KIND_OUTREACH, "2025-04-15",
	 {"parents=250", "students=1034", "teachers_staff=20"}},
	{1, TB_KIND_TRAINING, "2025-05-20",
	 {"participants=40", "female=30", "communicators=12"}},
	{1, TB_KIND_WEB_POST, "2025-02-10", {NULL}},
	{1, TB_KIND_SNAPSHOT, "2025-05-30",
	 {"ban_members=9", "ban_members_trained=4", "women_in_planning=6",
	  "women_in_planning_trained=6", "masters=5", "masters_female=4",
	  "curriculum_content=no", "legal_outreach=yes"}},
};
#define NEV (sizeof(events) / sizeof(events[0]))

/* What each indicator's row must show, from the events above. */
static const struct {
	const char *id, *want[3];
} rows[] = {
	/* MN, TH, THCS: latest snapshots give curriculum_content for MN1
	 * (yes) and TH1 (no): 1 of 2 reported */
	{"TO-1", {"50%", "(2/4 đơn vị"}},
	{"TO-2/nursery", {"71,25%", "Đúng tiến độ"}},      /* 57 / 80 */
	{"TO-2/kindergarten", {"100%"}},                   /* 120 / 120 */
	{"TO-3.1", {"100%", "(1/3 đơn vị"}},               /* TH1: 6 > 0 */
	{"TO-3.2", {"Chưa có số liệu"}},                   /* no office */
	{"TO-3.3", {"90%"}},                               /* (3+6)/(4+6) */
	{"TO-3.4/masters", {"80%"}},                       /* 4 / 5 */
	{"TO-3.4/doctors", {"Chưa có số liệu"}},
	{"TO-3.5", {"Chưa có số liệu"}},
	/* 1200 + 250 in H1; + 18000 + 1300 before: 20750; 20750/20000 */
	{"TO-4.1/parents", {"1.450 lượt", "20.750 lượt", "103,75"}},
	/* 0 + 1034; + 30000 + 450 */
	{"TO-4.1/students", {"1.034 lượt", "31.484 lượt"}},
	{"TO-4.1/teachers_staff", {"35 lượt", "65 lượt"}}, /* 15+20; +5+25 */
	{"TO-4.2", {"12 lượt", "20 lượt"}},                /* 12; + 8 */
	/* web posts in Q1 and Q2: MN1 yes, TH1 only Q1 */
	{"TO-4.3", {"50%"}},
	{"TO-4.4", {"100%"}},                              /* both yes */
	{"TO-5", {"56,25%", "112,5"}},                    /* (5+4)/(7+9) */
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static char tmpdir[64];
static char pdf_path[128];
static struct tb_plan_set *plans;

/* ---- the fixture -------------------------------------------------------- */

static void fx_event(const struct fx *f, size_t n, int64_t seq,
		     struct tb_event *e)
{
	char msg[TB_MSG_LEN] = "";

	tb_event_init(e, f->kind);
	snprintf(e->id, sizeof(e->id), "00000000-0000-4000-8000-%012zx", n + 1);
	snprintf(e->school, sizeof(e->school), "%s", sch[f->school].code);
	assert_int_equal(tb_date_parse(f->date, &e->date), 0);
	e->revision = 1;
	e->recorded_at = (int64_t)e->date * 86400;
	e->seq = seq;
	if (f->kind != TB_KIND_SNAPSHOT)
		assert_int_equal(tb_event_set(e, "title", "Tuyên truyền bình "
					      "đẳng giới", msg, sizeof(msg)), 0);
	for (size_t i = 0; i < 12 && f->fields[i]; i++) {
		char name[64];
		const char *eq = strchr(f->fields[i], '=');

		snprintf(name, sizeof(name), "%.*s",
			 (int)(eq - f->fields[i]), f->fields[i]);
		if (tb_event_set(e, name, eq + 1, msg, sizeof(msg)))
			fail_msg("%s: %s", f->fields[i], msg);
	}
	if (tb_event_validate(e, 0, msg, sizeof(msg)))
		fail_msg("event %zu: %s", n, msg);
}

static void merge_school(struct tb_sql *db, int s, const char *token)
{
	struct tb_batch b;
	struct tb_event e;
	char msg[256];
	int64_t seq = 0;

	tb_batch_init(&b);
	for (size_t i = 0; i < NEV; i++) {
		if (events[i].school != s)
			continue;
		fx_event(&events[i], i, ++seq, &e);
		assert_int_equal(tb_batch_add(&b, &e), 0);
		tb_event_clear(&e);
	}
	if (helper_merge_batch(db, token, sch[s].code, s + 1, &b, msg,
			       sizeof(msg)))
		fail_msg("%s", msg);
}

/* The fixture in the database at path; an admin token into admin (may be
 * NULL). */
static void make_db(const char *path, char *admin)
{
	static const char *const names[] = {
		"UPDATE units SET name = 'Tỉnh Hòa Bình' WHERE code = 'HB'",
		"UPDATE units SET name = 'Huyện Lạc Sơn' WHERE code = 'LS'",
		"UPDATE units SET name = 'Huyện Đà Bắc' WHERE code = 'DB'"};
	char msg[256] = "", token[NSCH][TB_TOKEN_LEN + 1];
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_sql *db = NULL;
	int64_t id;

	if (tb_db_open(path, &o, &db, msg, sizeof(msg)) ||
	    tb_report_init(db, msg, sizeof(msg)))
		fail_msg("%s", msg);
	for (int s = 0; s < NSCH; s++) {
		struct tb_org_school os = {sch[s].code, sch[s].name,
					   sch[s].level, sch[s].district, "HB"};

		if (tb_auth_enroll(db, &os, token[s], &id, msg, sizeof(msg)))
			fail_msg("%s", msg);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(tb_sql_exec(db, names[i], msg, sizeof(msg)), 0);
	for (int s = 0; s < NSCH; s++)
		merge_school(db, s, token[s]);
	if (admin)
		assert_int_equal(tb_auth_admin_new(db, admin, &id), 0);
	tb_sql_close(db);
}

/* ---- poppler ------------------------------------------------------------ */

/* The program's stdout (free), failing the test if it failed. */
static char *run(const char *const *argv)
{
	char *out = helper_pdf_run(argv);

	if (!out)
		fail_msg("%s failed", argv[0]);
	return out;
}

static char *pdf_text(const char *path, int first, int last)
{
	char *t = helper_pdf_text(path, first, last);

	if (!t)
		fail_msg("pdftotext failed on %s", path);
	return t;
}

static void must_have(const char *text, const char *want, const char *where)
{
	if (!strstr(text, want))
		fail_msg("%s: no \"%s\" in:\n%s", where, want, text);
}

/* ---- setup -------------------------------------------------------------- */

/* The report of the fixture at `now` as a PDF at path. */
static void write_pdf(const char *db_path, int64_t now, const char *path)
{
	struct tb_report_opts o;
	struct tb_report *r = NULL;
	struct tb_db_opts dbo = {0, 0, 1, 0};
	char msg[256] = "";
	struct tb_sql *db = NULL;
	FILE *f;

	if (tb_db_open(db_path, &dbo, &db, msg, sizeof(msg)))
		fail_msg("%s", msg);
	memset(&o, 0, sizeof(o));
	o.unit = "HB";
	o.now = now;
	o.detail = 1; /* as the command and HTTP ask for every format but
			 JSON and CSV */
	if (tb_report_run(db, tb_plan_set_find(plans, PLAN), "2025-H1", &o, &r,
			  msg, sizeof(msg)))
		fail_msg("%s", msg);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(tb_report_pdf(r, f), 0);
	assert_int_equal(fclose(f), 0);
	tb_report_destroy(r);
	tb_sql_close(db);
}

static int setup(void **state)
{
	char msg[TB_PLAN_MSG_LEN] = "", db_path[600];
	int64_t now;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-report-pdf-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (tb_plan_set_load(TB_SOURCE_DIR "/plans", &plans, msg, sizeof(msg))) {
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	if (helper_pg_db_path(db_path, sizeof(db_path), tmpdir, "fixture.db"))
		return -1;
	make_db(db_path, NULL);
	snprintf(pdf_path, sizeof(pdf_path), "%s/bao-cao.pdf", tmpdir);
	/* 18:00 UTC on 4 August is 01:00 on 5 August in Vietnam */
	assert_int_equal(tb_time_parse("2025-08-04T18:00:00Z", &now), 0);
	write_pdf(db_path, now, pdf_path);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	tb_plan_set_destroy(plans);
	if (getenv("TB_KEEP"))
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the text ------------------------------------------------------------ */

/* Where id stands as a whole word in text, or NULL. */
static const char *find_id(const char *text, const char *id)
{
	size_t n = strlen(id);

	for (const char *p = strstr(text, id); p; p = strstr(p + 1, id))
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[n] == ' ' || p[n] == '\n'))
			return p;
	return NULL;
}

/* Each indicator's id appears once, on one page, with its figures after
 * it and before the next row's id on that page: the row is whole. */
static void check_rows(char **page, int npages)
{
	int rows_after_1 = 0;

	for (size_t k = 0; k < NROWS; k++) {
		const char *at = NULL, *end;
		char *span;
		int pg = 0;

		for (int i = 0; i < npages; i++) {
			const char *f = find_id(page[i], rows[k].id);

			if (f && at)
				fail_msg("%s is on two pages", rows[k].id);
			if (f) {
				at = f;
				pg = i;
			}
		}
		if (!at)
			fail_msg("no %s in the PDF", rows[k].id);
		rows_after_1 += pg > 0;
		end = k + 1 < NROWS ? find_id(page[pg], rows[k + 1].id) : NULL;
		if (!end)
			end = at + strlen(at);
		span = strndup(at, (size_t)(end - at));
		assert_non_null(span);
		for (size_t w = 0; w < 3 && rows[k].want[w]; w++)
			must_have(span, rows[k].want[w], rows[k].id);
		free(span);
	}
	/* the fixture is long enough for the table to go on to page 2 */
	assert_true(rows_after_1 > 0);
}

/* Pages after the first: the number at the top, and the table's header
 * again before the first row on it. */
static void check_pages(char **page, int npages)
{
	for (int i = 1; i < npages; i++) {
		const char *s = page[i] + strspn(page[i], " \n\f");
		const char *first = NULL;

		assert_int_equal(strtol(s, NULL, 10), i + 1);
		for (size_t k = 0; k < NROWS; k++) {
			const char *f = find_id(page[i], rows[k].id);

			if (f && (!first || f < first))
				first = f;
		}
		if (first) {
			const char *h = strstr(page[i], "Mục tiêu");

			assert_non_null(h);
			assert_true(h < first);
		}
	}
}

static void check_missing(const char *text)
{
	for (int s = 2; s < NSCH; s++) {
		char *l = helper_pdf_line_of(text, sch[s].code);

		if (!l) {
			fail_msg("%s is not listed as missing", sch[s].code);
			continue;
		}
		must_have(l, sch[s].name, "the missing unit's row");
		must_have(l, s == 2 ? "Huyện Đà Bắc" : "Huyện Lạc Sơn",
			  "the missing unit's district");
		free(l);
	}
	for (int s = 0; s < 2; s++) /* the two that reported */
		if (strstr(text, sch[s].code) || strstr(text, sch[s].name))
			fail_msg("%s reported but is listed", sch[s].code);
}

/* No combining marks (U+0300-U+036F, UTF-8 CC 80 - CD AF): the
 * Vietnamese came back precomposed, as NFC has it. */
static void check_nfc(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((p[0] == 0xCC && p[1] >= 0x80) ||
		    (p[0] == 0xCD && p[1] >= 0x80 && p[1] <= 0xAF))
			fail_msg("a combining mark at byte %td",
				 (const char *)p - text);
}

static void test_text(void **state)
{
	static const char *const want[] = {
		"TỈNH HÒA BÌNH",
		"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
		"Độc lập - Tự do - Hạnh phúc",
		"Số: /BC-",
		"Hòa Bình, ngày 05 tháng 8 năm 2025",
		"BÁO CÁO",
		"Kết quả thực hiện Kế hoạch hành động vì sự tiến bộ phụ nữ "
		"và bình đẳng giới giai đoạn 2021 – 2030 ngành Giáo dục và "
		"đào tạo Thanh Oai 6 tháng đầu năm 2025",
		"(Từ ngày 01/01/2025 đến ngày 30/06/2025)",
		"I. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU",
		"Số đơn vị phải báo cáo: 4; đã báo cáo: 2 (50%)",
		"chưa báo cáo: 2.",
		"Từ ngày 15/11/2024 đến ngày 15/12/2024, 1/4 đơn vị đã tổ chức "
		"1 hoạt động, thu hút 1.300 lượt phụ huynh học sinh, 450 lượt "
		"học sinh, 25 lượt giáo viên, nhân viên và 3 lượt cán bộ địa "
		"phương tham gia.",
		"Nơi nhận:", "NGƯỜI LẬP BÁO CÁO", "(Ký, ghi rõ họ tên)",
		"THỦ TRƯỞNG ĐƠN VỊ", "(Ký tên, đóng dấu)"};
	char *text = pdf_text(pdf_path, 0, 0);
	char *flat = helper_pdf_collapse(text);
	char *page[16];
	int n = helper_pdf_pages(pdf_path);

	(void)state;
	assert_non_null(flat);
	assert_true(n >= 2 && n <= 16);
	check_nfc(text);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		must_have(flat, want[i], "the report");
	for (int i = 0; i < n; i++)
		page[i] = pdf_text(pdf_path, i + 1, i + 1);
	check_rows(page, n);
	check_pages(page, n);
	check_missing(text);
	for (int i = 0; i < n; i++)
		free(page[i]);
	free(flat);
	free(text);
}

/* ---- pictures, fonts, metadata ------------------------------------------ */

/* Every page at 50 dpi: a PNG of A4's proportions (210 x 297) with ink on
 * it. Page 1 is kept in the build directory to look at. */
static void test_pictures(void **state)
{
	char prefix[160], png[200], pgm[200], keep[300];
	const char *png_argv[] = {"/usr/bin/pdftoppm", "-r", "50", "-png",
				  pdf_path, prefix, NULL};
	const char *gray_argv[] = {"/usr/bin/pdftoppm", "-r", "50", "-gray",
				   pdf_path, prefix, NULL};
	int n = helper_pdf_pages(pdf_path);

	(void)state;
	snprintf(prefix, sizeof(prefix), "%s/page", tmpdir);
	free(run(png_argv));
	free(run(gray_argv));
	for (int i = 1; i <= n; i++) {
		long w, h, ink;

		/* pdftoppm pads the page number to the width of the last */
		snprintf(png, sizeof(png), "%s-%0*d.png", prefix, n > 9 ? 2 : 1, i);
		snprintf(pgm, sizeof(pgm), "%s-%0*d.pgm", prefix, n > 9 ? 2 : 1, i);
		assert_int_equal(helper_pdf_png_size(png, &w, &h), 0);
		if (w < 400 || w > 420 || labs(w * 297 - h * 210) > 297 * 2)
			fail_msg("page %d is %ld x %ld px, not A4", i, w, h);
		ink = helper_pdf_ink_permille(pgm);
		if (ink < 5) /* text and table rules, even on the last page */
			fail_msg("page %d is blank (%ld per mille ink)", i, ink);
	}
	snprintf(keep, sizeof(keep), "%s/report-pdf-page-1.png", TB_BUILD_DIR);
	snprintf(png, sizeof(png), "%s-%0*d.png", prefix, n > 9 ? 2 : 1, 1);
	{
		size_t len = 0;
		char *b = helper_proc_read_file(png, &len);

		assert_non_null(b);
		assert_int_equal(helper_proc_write_file(keep, b, len), 0);
		free(b);
	}
	printf("page 1 of the report: %s\n", keep);
}

/* Every font embedded (a subset) with a ToUnicode map; Liberation Serif
 * is among them. Title and creator set. */
static void test_fonts_and_info(void **state)
{
	const char *fonts_argv[] = {"/usr/bin/pdffonts", pdf_path, NULL};
	const char *info_argv[] = {"/usr/bin/pdfinfo", pdf_path, NULL};
	char *fonts = run(fonts_argv), *info = run(info_argv), *save = NULL;
	int nfonts = 0, line = 0;

	(void)state;
	must_have(fonts, "LiberationSerif", "pdffonts");
	for (char *l = strtok_r(fonts, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *tok[16], *s2 = NULL;
		int nt = 0;

		if (line++ < 2) /* header and ---- */
			continue;
		for (char *t = strtok_r(l, " ", &s2); t && nt < 16;
		     t = strtok_r(NULL, " ", &s2))
			tok[nt++] = t;
		assert_true(nt >= 7);
		/* ... emb sub uni object ID */
		assert_string_equal(tok[nt - 5], "yes");
		assert_string_equal(tok[nt - 3], "yes");
		nfonts++;
	}
	assert_true(nfonts >= 2); /* regular and bold at least */
	must_have(info, "Creator:         tienbo", "pdfinfo");
	must_have(info, "Title:           Báo cáo: Kết quả thực hiện Kế hoạch "
		  "hành động", "pdfinfo");
	must_have(info, "Page size:       595.276 x 841.89 pts (A4)", "pdfinfo");
	free(fonts);
	free(info);
}

/* A file that refuses writes: TB_EIO, not a crash or a silent 0. */
static void test_write_error(void **state)
{
	struct tb_report_opts o;
	struct tb_report *r = NULL;
	struct tb_db_opts dbo = {0, 0, 1, 0};
	char msg[256] = "", db_path[600];
	struct tb_sql *db = NULL;
	FILE *f = fopen("/dev/full", "wb");

	(void)state;
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(helper_pg_db_path(db_path, sizeof(db_path), tmpdir,
					   "fixture.db"), 0);
	assert_int_equal(tb_db_open(db_path, &dbo, &db, msg, sizeof(msg)), 0);
	memset(&o, 0, sizeof(o));
	o.detail = 1;
	assert_int_equal(tb_report_run(db, tb_plan_set_find(plans, PLAN),
				       "2025-H1", &o, &r, msg, sizeof(msg)), 0);
	assert_int_equal(tb_report_pdf(r, f), TB_EIO);
	fclose(f);
	tb_report_destroy(r);
	tb_sql_close(db);
}

/* ---- the command and HTTPS ---------------------------------------------- */

/* `tienbo-server report --format pdf --output FILE` run as a service
 * would be: HOME pointing nowhere, or not set at all (fontconfig can
 * write no cache of its own). A PDF, and nothing from fontconfig on
 * stderr. */
static void test_cli_without_home(void **state)
{
	char db_path[600], out[128];
	const char *const homes[2][3] = {
		{"/usr/bin/env", "HOME=/nonexistent", "XDG_CACHE_HOME="},
		{"/usr/bin/env", "-u", "HOME"}};

	(void)state;
	assert_int_equal(helper_pg_db_path(db_path, sizeof(db_path), tmpdir,
					   "fixture.db"), 0);
	for (int i = 0; i < 2; i++) {
		const char *argv[] = {homes[i][0], homes[i][1], homes[i][2],
				      TB_SERVER_BIN, "report", "--db", db_path,
				      "--plans-dir", TB_SOURCE_DIR "/plans",
				      "--plan", PLAN, "--unit", "HB",
				      "--period", "2025-H1", "--format", "pdf",
				      "--output", out, NULL};
		struct helper_proc_result r;
		size_t len = 0;
		char *pdf;

		snprintf(out, sizeof(out), "%s/cli-%d.pdf", tmpdir, i);
		assert_int_equal(helper_proc_run(argv, NULL, &r), 0);
		assert_true(helper_proc_exited_with(&r, 0));
		/* fontconfig complains "Fontconfig error: No writable cache
		 * directories", GLib "Pango-WARNING **" (an ASan build's
		 * LeakSanitizer may list the suppression it used) */
		if (strstr(r.err, "Fontconfig") || strstr(r.err, "WARNING") ||
		    strstr(r.err, "CRITICAL"))
			fail_msg("stderr with %s: %s", homes[i][1], r.err);
		helper_proc_free(&r);
		pdf = helper_proc_read_file(out, &len);
		assert_non_null(pdf);
		assert_true(len > 1000);
		assert_memory_equal(pdf, "%PDF-", 5);
		free(pdf);
		pdf = pdf_text(out, 0, 0);
		must_have(pdf, "Trường Tiểu học Đà Bắc", "the command's PDF");
		free(pdf);
	}
}

/* On a terminal, without --output, the command refuses and says how. */
static void test_cli_terminal(void **state)
{
	char db_path[600];
	const char *argv[] = {TB_SERVER_BIN, "report", "--db", db_path,
			      "--plans-dir", TB_SOURCE_DIR "/plans", "--plan",
			      PLAN, "--period", "2025-H1", "--format", "pdf",
			      NULL};
	const char *env[] = {"LANG=C.UTF-8", NULL};
	struct helper_proc_pty *p;

	(void)state;
	assert_int_equal(helper_pg_db_path(db_path, sizeof(db_path), tmpdir,
					   "fixture.db"), 0);
	p = helper_proc_pty_start(argv, env);
	assert_non_null(p);
	if (helper_proc_pty_expect(p, "--output", 20000) != 0)
		fail_msg("no --output in: %s", helper_proc_pty_output(p));
	assert_int_equal(helper_proc_pty_wait(p, 20000), 64);
	assert_null(strstr(helper_proc_pty_output(p), "%PDF"));
	helper_proc_pty_free(p);
}

/* GET /v1/report?format=pdf from a real server over HTTPS (curl, the CA
 * verified): 200, application/pdf with a file name, a PDF of the
 * fixture. */
static void test_https(void **state)
{
	struct helper_server srv;
	char admin[TB_TOKEN_LEN + 1], auth[128], url[400], head[300],
		body[300];
	const char *const extra[] = {"--plans-dir", TB_SOURCE_DIR "/plans",
				     NULL};
	const char *argv[] = {"/usr/bin/curl", "-sS", "--cacert", srv.ca,
			      "-H", auth, "-D", head, "-o", body, url, NULL};
	char *h, *text;
	size_t len = 0;

	(void)state;
	assert_int_equal(helper_server_setup(&srv), 0);
	make_db(srv.db, admin);
	if (helper_server_start(&srv, extra) != 0)
		fail_msg("the server did not start");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", admin);
	snprintf(url, sizeof(url), "%s/v1/report?plan=%s&unit=HB&period="
		 "2025-H1&format=pdf", srv.url, PLAN);
	snprintf(head, sizeof(head), "%s/head.txt", srv.dir);
	snprintf(body, sizeof(body), "%s/report.pdf", srv.dir);
	free(run(argv));
	h = helper_proc_read_file(head, NULL);
	assert_non_null(h);
	must_have(h, " 200", "the answer");
	must_have(h, "Content-Type: application/pdf", "the answer");
	must_have(h, "Content-Disposition: inline; filename=\"", "the answer");
	must_have(h, ".pdf\"", "the file name");
	free(h);
	h = helper_proc_read_file(body, &len);
	assert_non_null(h);
	assert_true(len > 1000);
	assert_memory_equal(h, "%PDF-", 5);
	assert_memory_equal(h + len - 6, "%%EOF\n", 6);
	free(h);
	text = pdf_text(body, 0, 0);
	must_have(text, "Trường THCS Nguyễn Thị Hường", "the served PDF");
	free(text);
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_pictures),
		cmocka_unit_test(test_fonts_and_info),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_cli_without_home),
		cmocka_unit_test(test_cli_terminal),
		cmocka_unit_test(test_https),
	};

	/* GLib's slab allocator keeps every GObject reachable: with malloc
	 * instead, a Pango object left unfreed shows under LeakSanitizer,
	 * here and in the servers and commands started from here */
	if (setenv("G_SLICE", "always-malloc", 1) != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
