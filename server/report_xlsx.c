/* report_xlsx.c - a report as an Excel workbook (sheets in report_xlsx.h,
 * cells in xlsxw.h). Nothing here computes a figure: every number comes
 * from the report through tb_report_out_num's rounding, so the workbook,
 * the JSON, the CSV and the dashboard agree. The workbook is built in
 * memory (a report has at most a few thousand rows) and may write rows in
 * any order.
 */
#include "server/report_xlsx.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/labels.h"
#include "common/mem.h"
#include "server/report_out.h"
#include "server/xlsxw.h"

#define TABLE_ROW 5 /* the header rows under the title block */
#define NAMES_MAX 4 /* fixed sheet names, before the districts' */

/* A school in the index by code. */
struct sref {
	const struct tb_report_school *s;
};

struct book {
	struct tb_xlsxw x;
	const struct tb_report *r;
	struct sref *byc;                    /* schools by code */
	const char **used;                   /* sheet names so far */
	size_t nused;
};

/* clang-format off */
static const struct tb_xlsxw_col ind_cols[] = {
	{"Mã chỉ tiêu", "ID", 22},
	{"Chỉ tiêu", "Indicator", 60},
	{"Đơn vị tính", "Measure", 11},
	{"Kết quả trong kỳ", "Value of the period", 14},
	{"Lũy kế từ đầu kế hoạch", "Cumulative", 14},
	{"So sánh", "Comparison", 9},
	{"Mục tiêu", "Target", 11},
	{"Năm mục tiêu", "Target year", 9},
	{"Cần đạt đến cuối kỳ", "Expected by now", 14},
	{"Tiến độ (%)", "Progress (%)", 11},
	{"Đánh giá", "Assessment", 20},
	{"Đơn vị đã báo cáo", "Units reported", 11},
	{"Đơn vị phải báo cáo", "Units expected", 11},
	{"Đơn vị chưa báo cáo", "Units not reported", 50},
	{"Ghi chú", "Note", 40},
};
/* clang-format on */
#define NIND (sizeof(ind_cols) / sizeof(ind_cols[0]))

/* A figure as every output rounds it. */
static double num2(double v)
{
	char buf[64];

	return strtod(tb_report_out_num(v, buf, sizeof(buf)), NULL);
}

static const char *cmp_vi(enum tb_plan_cmp c)
{
	switch (c) {
	case TB_CMP_GE: return "≥";
	case TB_CMP_GT: return ">";
	case TB_CMP_ABOUT: return "khoảng";
	}
	return "";
}

static const char *unit_type_vi(const char *t)
{
	static const char *const map[][2] = {
		{"school", "Trường"}, {"district", "Huyện"},
		{"province", "Tỉnh"}, {"all", "Tất cả đơn vị"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(t, map[i][0]) == 0)
			return map[i][1];
	return t;
}

/* A school's state in Vietnamese. The state left to `default` is the
 * one between "expected" and "missing": nothing yet, the deadline still
 * to come. */
static const char *state_vi(enum tb_report_unit_state s)
{
	switch (s) {
	case TB_US_ON_TIME: return "Đúng hạn";
	case TB_US_LATE: return "Muộn hạn";
	case TB_US_MISSING: return "Chưa báo cáo, quá hạn";
	case TB_US_CLOSED: return "Tạm dừng cả kỳ";
	case TB_US_NOT_APPLICABLE: return "Không áp dụng";
	default: break;
	}
	return "Chưa báo cáo, chưa đến hạn";
}

/* ---- schools by code ------------------------------------------------------ */

static int by_code(const void *a, const void *b)
{
	const struct sref *x = a, *y = b;

	return strcmp(x->s->code, y->s->code);
}

static int index_schools(struct book *b)
{
	const struct tb_report *r = b->r;

	if (!r->nschools)
		return TB_OK;
	b->byc = tb_calloc(r->nschools, sizeof(struct sref));
	if (!b->byc)
		return TB_ENOMEM;
	for (size_t i = 0; i < r->nschools; i++)
		b->byc[i].s = &r->schools[i];
	qsort(b->byc, r->nschools, sizeof(struct sref), by_code);
	return TB_OK;
}

static const struct tb_report_school *school(const struct book *b,
					     const char *code)
{
	struct tb_report_school key;
	struct sref k = {&key};
	const struct sref *hit;

	if (!b->byc)
		return NULL;
	snprintf(key.code, sizeof(key.code), "%s", code);
	hit = bsearch(&k, b->byc, b->r->nschools, sizeof(struct sref),
		      by_code);
	return hit ? hit->s : NULL;
}

/* The units of a row not reported ("SC01 Trường TH X; SC02 ..."), only
 * those of district dcode when it is given, at most one cell's worth.
 * *out is tb_free'd by the caller. */
static int missing_text(const struct book *b, const struct tb_report_row *w,
			const char *dcode, char **out)
{
	struct tb_buf t = TB_BUF_INIT;
	size_t i, n = 0;
	int rc = TB_OK;

	for (i = 0; rc == TB_OK && i < w->nmissing; i++) {
		const struct tb_report_school *s = school(b, w->missing[i]);

		if (dcode && (!s || strcmp(s->dcode, dcode) != 0))
			continue;
		if (t.len > TB_XLSXW_CELL_MAX - 200) {
			n++;
			continue;
		}
		rc = tb_buf_printf(&t, "%s%s%s%s", t.len ? "; " : "",
				   w->missing[i], s && s->name ? " " : "",
				   s && s->name ? s->name : "");
	}
	if (rc == TB_OK && n)
		rc = tb_buf_printf(&t, "; ... (+%zu)", n);
	*out = rc == TB_OK ? tb_buf_detach(&t, NULL) : NULL;
	tb_buf_free(&t);
	return rc == TB_OK && !*out ? TB_ENOMEM : rc;
}

/* ---- the indicator table ---------------------------------------------------- */

static void value_cells(struct tb_xlsxw_row *w, const struct tb_report_row *row,
			const struct tb_report_value *v)
{
	enum tb_xlsxw_fmt f =
		row->ind->unit == TB_UNIT_COUNT ? TB_XF_INT : TB_XF_PCT;
	const struct tb_plan_target *t = v->target;
	tb_xlsxw_num(w, v->has_value, num2(v->value), f);
	tb_xlsxw_num(w, v->has_cumulative, num2(v->cumulative), f);
	tb_xlsxw_str(w, t ? cmp_vi(t->cmp) : NULL, TB_XF_TEXT);
	tb_xlsxw_num(w, t != NULL, t ? num2(t->value) : 0, f);
	tb_xlsxw_num(w, t != NULL, t ? t->year : 0, TB_XF_YEAR);
	tb_xlsxw_num(w, t != NULL, num2(v->expected_now), f);
	tb_xlsxw_num(w, v->has_progress, num2(v->progress_pct), TB_XF_PCT);
	tb_xlsxw_str(w, tb_report_out_status_vi(v->status), TB_XF_TEXT);
	tb_xlsxw_num(w, 1, (double)v->reported, TB_XF_INT);
	tb_xlsxw_num(w, 1, (double)v->expected, TB_XF_INT);
}

/* One indicator row; dcode: a district's sheet (its own missing units). */
static int ind_row(struct book *b, lxw_worksheet *ws, lxw_row_t at, size_t k,
		   const struct tb_report_value *v, const char *dcode)
{
	const struct tb_report_row *row = &b->r->rows[k];
	struct tb_xlsxw_row w;
	char *missing = NULL;
	int rc;

	if (dcode && !b->byc)
		rc = TB_OK; /* no schools to tell the district's from */
	else
		rc = missing_text(b, row, dcode, &missing);
	if (rc < 0)
		return rc;
	tb_xlsxw_row_start(&w, &b->x, ws, at);
	tb_xlsxw_str(&w, row->ind->id, TB_XF_TEXT);
	tb_xlsxw_str(&w, row->ind->name_vi, TB_XF_TEXT);
	tb_xlsxw_str(&w, tb_report_out_unit_vi(row->ind->unit), TB_XF_TEXT);
	value_cells(&w, row, v);
	tb_xlsxw_str(&w, missing, TB_XF_TEXT);
	tb_xlsxw_str(&w, row->ind->f.reason, TB_XF_TEXT);
	tb_free(missing);
	return w.rc;
}

/* The title block (rows 0-4) of the summary and district sheets. */
static int title_block(struct book *b, lxw_worksheet *ws, const char *name,
		       const char *code, const char *type, long units)
{
	const struct tb_report *r = b->r;
	struct tb_xlsxw_row w;
	char unit[512];

	snprintf(unit, sizeof(unit), "%s (%s, %s)", name ? name : code, code,
		 type);
	tb_xlsxw_row_start(&w, &b->x, ws, 0);
	tb_xlsxw_str(&w, r->plan->name_vi, TB_XF_TITLE);
	tb_xlsxw_goto(&w, 1);
	tb_xlsxw_str(&w, "Đơn vị (Unit)", TB_XF_BOLD);
	tb_xlsxw_str(&w, unit, TB_XF_NONE);
	tb_xlsxw_goto(&w, 2);
	tb_xlsxw_str(&w, "Kỳ báo cáo (Period)", TB_XF_BOLD);
	tb_xlsxw_str(&w, r->period.label, TB_XF_NONE);
	if (r->period.from != TB_DATE_MIN)
		tb_xlsxw_date(&w, r->period.from);
	else
		tb_xlsxw_skip(&w);
	tb_xlsxw_date(&w, r->period.to);
	tb_xlsxw_goto(&w, 3);
	tb_xlsxw_str(&w, "Lập lúc (Generated)", TB_XF_BOLD);
	tb_xlsxw_time(&w, r->generated_at);
	tb_xlsxw_goto(&w, 4);
	tb_xlsxw_str(&w, "Số đơn vị (Units)", TB_XF_BOLD);
	tb_xlsxw_num(&w, 1, (double)units, TB_XF_INT);
	return w.rc;
}

/* An indicator sheet: the summary (d NULL) or district d's. */
static int ind_sheet(struct book *b, lxw_worksheet *ws,
		     const struct tb_report_district *d)
{
	const struct tb_report *r = b->r;
	lxw_row_t last = TABLE_ROW + 1 + (lxw_row_t)r->nrows;
	int rc;

	rc = d ? title_block(b, ws, d->name, d->code, "Huyện", d->units)
	       : title_block(b, ws, r->unit_name, r->unit,
			     unit_type_vi(r->unit_type), r->units);
	if (rc == TB_OK)
		rc = tb_xlsxw_table(&b->x, ws, TABLE_ROW, ind_cols, NIND, 2);
	for (size_t k = 0; rc == TB_OK && k < r->nrows; k++)
		rc = ind_row(b, ws, TABLE_ROW + 2 + (lxw_row_t)k, k,
			     d ? &d->v[k] : &r->rows[k].v, d ? d->code : NULL);
	if (rc == TB_OK)
		rc = tb_xlsxw_err(worksheet_autofilter(ws, TABLE_ROW + 1, 0,
						       last, NIND - 1));
	return rc;
}

/* ---- the Action Month and the schools ------------------------------------- */

static const struct tb_xlsxw_col am_cols[] = {
	{"Mã đơn vị", "Code", 12},
	{"Đơn vị", "Unit", 30},
	{"Năm", "Year", 7},
	{"Từ ngày", "From", 11},
	{"Đến ngày", "To", 11},
	{"Số hoạt động", "Activities", 11},
	{NULL, "Parents", 12},
	{NULL, "Students", 12},
	{NULL, "Teachers and staff", 12},
	{NULL, "Local officials", 12},
	{"Đơn vị có hoạt động", "Units active", 11},
	{"Số đơn vị", "Units", 11},
};
#define NAM (sizeof(am_cols) / sizeof(am_cols[0]))

static int am_row(struct book *b, lxw_worksheet *ws, lxw_row_t at,
		  const char *code, const char *name,
		  const struct tb_report_am *am)
{
	struct tb_xlsxw_row w;

	tb_xlsxw_row_start(&w, &b->x, ws, at);
	tb_xlsxw_str(&w, code, TB_XF_TEXT);
	tb_xlsxw_str(&w, name, TB_XF_TEXT);
	tb_xlsxw_num(&w, 1, am->year, TB_XF_YEAR);
	tb_xlsxw_date(&w, am->from);
	tb_xlsxw_date(&w, am->to);
	tb_xlsxw_num(&w, 1, (double)am->activities, TB_XF_INT);
	tb_xlsxw_num(&w, 1, (double)am->parents, TB_XF_INT);
	tb_xlsxw_num(&w, 1, (double)am->students, TB_XF_INT);
	tb_xlsxw_num(&w, 1, (double)am->teachers_staff, TB_XF_INT);
	tb_xlsxw_num(&w, 1, (double)am->officials, TB_XF_INT);
	tb_xlsxw_num(&w, 1, (double)am->units_active, TB_XF_INT);
	tb_xlsxw_num(&w, 1, (double)am->units, TB_XF_INT);
	return w.rc;
}

static int am_sheet(struct book *b, lxw_worksheet *ws)
{
	const struct tb_report *r = b->r;
	static const char *const fields[] = {"parents", "students",
					     "teachers_staff", "officials"};
	struct tb_xlsxw_col cols[NAM];
	struct tb_xlsxw_row w;
	lxw_row_t at = 3;
	int rc;

	memcpy(cols, am_cols, sizeof(cols));
	for (size_t i = 0; i < 4; i++)
		cols[6 + i].vi = tb_label_field_vi(fields[i]);
	tb_xlsxw_row_start(&w, &b->x, ws, 0);
	tb_xlsxw_str(&w, "Tháng hành động vì bình đẳng giới (15/11 - 15/12)",
		     TB_XF_TITLE);
	rc = w.rc < 0 ? w.rc : tb_xlsxw_table(&b->x, ws, 1, cols, NAM, 2);
	for (size_t j = 0; rc == TB_OK && j < r->ndistricts; j++)
		rc = am_row(b, ws, at++, r->districts[j].code,
			    r->districts[j].name, &r->districts[j].am);
	if (rc == TB_OK)
		rc = am_row(b, ws, at, r->unit,
			    r->unit_name ? r->unit_name : "Tổng cộng", &r->am);
	if (rc == TB_OK)
		rc = tb_xlsxw_err(worksheet_autofilter(ws, 2, 0, at, NAM - 1));
	return rc;
}

static const struct tb_xlsxw_col school_cols[] = {
	{"Mã trường", "School code", 14},
	{"Tên trường", "School", 40},
	{"Mã huyện", "District code", 12},
	{"Huyện", "District", 24},
	{"Cấp học", "Level", 8},
	{"Tình hình", "State", 24},
	{"Nhận số liệu đầu tiên", "First data received", 17},
	{"Đồng bộ gần nhất", "Last sync", 17},
	{"Số hoạt động trong kỳ", "Events in the period", 11},
	{"Tạm dừng từ", "Closed from", 11},
};
#define NSCH (sizeof(school_cols) / sizeof(school_cols[0]))

static int school_row(struct book *b, lxw_worksheet *ws, lxw_row_t at,
		      const struct tb_report_school *s)
{
	const struct tb_report *r = b->r;
	const char *dname = s->district >= 0 &&
					    (size_t)s->district < r->ndistricts
				    ? r->districts[s->district].name
				    : NULL;
	struct tb_xlsxw_row w;

	tb_xlsxw_row_start(&w, &b->x, ws, at);
	tb_xlsxw_str(&w, s->code, TB_XF_TEXT);
	tb_xlsxw_str(&w, s->name, TB_XF_TEXT);
	tb_xlsxw_str(&w, s->dcode, TB_XF_TEXT);
	tb_xlsxw_str(&w, dname, TB_XF_TEXT);
	tb_xlsxw_str(&w, s->level, TB_XF_TEXT);
	tb_xlsxw_str(&w, state_vi(s->state), TB_XF_TEXT);
	tb_xlsxw_time(&w, s->first_received);
	tb_xlsxw_time(&w, s->last_sync);
	tb_xlsxw_num(&w, 1, (double)s->events, TB_XF_INT);
	if (s->closed_from)
		tb_xlsxw_date(&w, s->closed_from);
	return w.rc;
}

/* Completeness in all and per district, below the schools from row. */
static int compl_rows(struct book *b, lxw_worksheet *ws, lxw_row_t row)
{
	static const char *const head[] = {
		"Đơn vị (Unit)", "Phải báo cáo (Expected)",
		"Đã báo cáo (Reported)", "% đã báo cáo", "Đúng hạn (On time)",
		"% đúng hạn", "Muộn (Late)", "Chưa báo cáo (Not reported)",
		"Đã đóng (Closed)"};
	const struct tb_report *r = b->r;
	struct tb_xlsxw_row w;

	tb_xlsxw_row_start(&w, &b->x, ws, row);
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		tb_xlsxw_str(&w, head[i], TB_XF_HEAD_VI);
	for (size_t j = 0; j <= r->ndistricts && w.rc == TB_OK; j++) {
		const struct tb_report_compl *c =
			j < r->ndistricts ? &r->districts[j].compl : &r->compl;

		tb_xlsxw_goto(&w, row + 1 + (lxw_row_t)j);
		tb_xlsxw_str(&w, j < r->ndistricts ? r->districts[j].name
						   : "Tổng cộng (Total)",
			     j < r->ndistricts ? TB_XF_TEXT : TB_XF_BOLD);
		tb_xlsxw_num(&w, 1, (double)c->expected, TB_XF_INT);
		tb_xlsxw_num(&w, 1, (double)c->reported, TB_XF_INT);
		tb_xlsxw_num(&w, c->has_rates, c->reported_pct, TB_XF_PCT);
		tb_xlsxw_num(&w, 1, (double)c->on_time, TB_XF_INT);
		tb_xlsxw_num(&w, c->has_rates, c->on_time_pct, TB_XF_PCT);
		tb_xlsxw_num(&w, 1, (double)c->late, TB_XF_INT);
		tb_xlsxw_num(&w, 1, (double)c->missing, TB_XF_INT);
		tb_xlsxw_num(&w, 1, (double)c->closed, TB_XF_INT);
	}
	return w.rc;
}

static int school_sheet(struct book *b, lxw_worksheet *ws)
{
	const struct tb_report *r = b->r;
	struct tb_xlsxw_row w;
	lxw_row_t last = 2 + (lxw_row_t)r->nschools;
	int rc;

	tb_xlsxw_row_start(&w, &b->x, ws, 0);
	tb_xlsxw_str(&w, "Hạn báo cáo (Deadline)", TB_XF_BOLD);
	if (r->deadline)
		tb_xlsxw_date(&w, r->deadline);
	rc = w.rc < 0 ? w.rc
		      : tb_xlsxw_table(&b->x, ws, 1, school_cols, NSCH, 2);
	for (size_t i = 0; rc == TB_OK && i < r->nschools; i++)
		rc = school_row(b, ws, 3 + (lxw_row_t)i, &r->schools[i]);
	if (rc == TB_OK)
		rc = tb_xlsxw_err(
			worksheet_autofilter(ws, 2, 0, last, NSCH - 1));
	if (rc == TB_OK && r->schools)
		rc = compl_rows(b, ws, last + 2);
	return rc;
}

/* ---- the workbook ------------------------------------------------------------ */

/* Adds a sheet named from text, unique among those before it. */
static lxw_worksheet *add_sheet(struct book *b, const char *text,
				const char *fallback, char **names)
{
	char buf[128];
	lxw_worksheet *ws;

	tb_xlsxw_sheet_name(text, fallback, b->used, b->nused, buf,
			    sizeof(buf));
	names[b->nused] = tb_strdup(buf);
	if (!names[b->nused])
		return NULL;
	b->used[b->nused] = names[b->nused];
	b->nused++;
	ws = tb_xlsxw_sheet(&b->x, buf);
	return ws;
}

static int write_sheets(struct book *b, char **names)
{
	const struct tb_report *r = b->r;
	int several = r->districts && r->ndistricts > 1;
	lxw_worksheet *ws = add_sheet(b, "Tổng hợp", "Summary", names);
	int rc = ws ? ind_sheet(b, ws, NULL) : TB_ENOMEM;

	for (size_t j = 0; several && rc == TB_OK && j < r->ndistricts; j++) {
		ws = add_sheet(b, r->districts[j].name, r->districts[j].code,
			       names);
		rc = ws ? ind_sheet(b, ws, &r->districts[j]) : TB_ENOMEM;
	}
	if (rc == TB_OK && r->districts) {
		ws = add_sheet(b, "Tháng hành động", "Action Month", names);
		rc = ws ? am_sheet(b, ws) : TB_ENOMEM;
	}
	if (rc == TB_OK && several) {
		ws = add_sheet(b, "Tình hình báo cáo", "Completeness", names);
		rc = ws ? school_sheet(b, ws) : TB_ENOMEM;
	}
	return rc;
}

int tb_report_xlsx(const struct tb_report *r, FILE *f)
{
	struct book b;
	size_t nmax = NAMES_MAX + r->ndistricts;
	char **names = tb_calloc(nmax, sizeof(*names));
	int rc;

	memset(&b, 0, sizeof(b));
	b.r = r;
	b.used = tb_calloc(nmax, sizeof(*b.used));
	rc = names && b.used ? index_schools(&b) : TB_ENOMEM;
	if (rc == TB_OK)
		rc = tb_xlsxw_open(&b.x, 0);
	if (rc == TB_OK)
		rc = write_sheets(&b, names);
	if (rc == TB_OK)
		rc = tb_xlsxw_finish(&b.x, f);
	else
		tb_xlsxw_abort(&b.x);
	for (size_t i = 0; names && i < nmax; i++)
		tb_free(names[i]);
	tb_free(names);
	tb_free(b.used);
	tb_free(b.byc);
	return rc;
}
