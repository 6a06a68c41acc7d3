/* report_out.c - JSON and CSV renderings of a report (formats in
 * report_out.h). Nothing here computes: every number comes from the
 * report and goes through one rounding (num2), which the dashboard
 * (report_html.c) shares through tb_report_out_num, so all agree.
 */
#include "server/report_out.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/report_html.h"
#include "server/report_pdf.h"
#include "server/report_xlsx.h"

/* ---- numbers and words -------------------------------------------------- */

/* v rounded to two decimals (through its printed form, no libm). */
static double num2(double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.2f", v);
	return strtod(buf, NULL);
}

const char *tb_report_out_num(double v, char *buf, size_t len)
{
	char *dot;
	size_t n;

	snprintf(buf, len, "%.2f", num2(v));
	dot = strchr(buf, '.');
	if (dot) {
		n = strlen(buf);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, len, "0");
	return buf;
}

const char *tb_report_out_status_vi(enum tb_report_status s)
{
	switch (s) {
	case TB_ST_ON_TRACK: return "Đúng tiến độ";
	case TB_ST_BEHIND: return "Chậm tiến độ";
	case TB_ST_NO_TARGET: return "Không có chỉ tiêu số";
	case TB_ST_NO_DATA: return "Chưa có số liệu";
	case TB_ST_NOT_COLLECTED: return "Không thu thập";
	}
	return "?";
}

const char *tb_report_out_unit_vi(enum tb_plan_unit u)
{
	switch (u) {
	case TB_UNIT_COUNT: return "lượt";
	case TB_UNIT_PERCENT_UNITS: return "% đơn vị";
	case TB_UNIT_RATIO:
	case TB_UNIT_RATE: return "%";
	}
	return "";
}

/* ---- JSON --------------------------------------------------------------- */

static int add_num(cJSON *o, const char *key, int has, double v)
{
	cJSON *n = has ? cJSON_CreateNumber(num2(v)) : cJSON_CreateNull();

	return n && cJSON_AddItemToObject(o, key, n) ? 0 : TB_ENOMEM;
}

static int add_str(cJSON *o, const char *key, const char *s)
{
	cJSON *n = s ? cJSON_CreateString(s) : cJSON_CreateNull();

	return n && cJSON_AddItemToObject(o, key, n) ? 0 : TB_ENOMEM;
}

static int add_int(cJSON *o, const char *key, int64_t v)
{
	return cJSON_AddNumberToObject(o, key, (double)v) ? 0 : TB_ENOMEM;
}

static int add_day(cJSON *o, const char *key, int32_t d)
{
	char buf[TB_DATE_LEN];

	return add_str(o, key, tb_date_format(d, buf));
}

/* Completeness counts and rates (whole report or one district). */
static int compl_json(cJSON *parent, const struct tb_report_compl *c,
		      cJSON **out)
{
	cJSON *o = cJSON_AddObjectToObject(parent, "completeness");
	int rc = o ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_int(o, "expected", c->expected);
	if (!rc)
		rc = add_int(o, "reported", c->reported);
	if (!rc)
		rc = add_int(o, "on_time", c->on_time);
	if (!rc)
		rc = add_int(o, "late", c->late);
	if (!rc)
		rc = add_int(o, "missing", c->missing);
	if (!rc)
		rc = add_int(o, "closed", c->closed);
	if (!rc)
		rc = add_num(o, "reported_pct", c->has_rates, c->reported_pct);
	if (!rc)
		rc = add_num(o, "on_time_pct", c->has_rates, c->on_time_pct);
	if (out)
		*out = o;
	return rc;
}

static int school_json(cJSON *arr, const struct tb_report_school *s)
{
	cJSON *u = cJSON_CreateObject();
	char at[TB_TIME_LEN];
	int rc = u && cJSON_AddItemToArray(arr, u) ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_str(u, "code", s->code);
	if (!rc)
		rc = add_str(u, "name", s->name);
	if (!rc)
		rc = add_str(u, "district", s->dcode);
	if (!rc)
		rc = add_str(u, "level", s->level);
	if (!rc)
		rc = add_str(u, "state", tb_report_unit_state_name(s->state));
	if (!rc)
		rc = add_int(u, "events", s->events);
	if (!rc)
		rc = add_str(u, "first_received", s->first_received
			     ? tb_time_format(s->first_received, at) : NULL);
	if (!rc)
		rc = add_str(u, "last_sync", s->last_sync
			     ? tb_time_format(s->last_sync, at) : NULL);
	if (!rc && s->closed_from)
		rc = add_day(u, "closed_from", s->closed_from);
	return rc;
}

static int completeness_json(cJSON *root, const struct tb_report *r)
{
	cJSON *o = NULL, *units = NULL;
	int rc = compl_json(root, &r->compl, &o);

	if (!rc)
		rc = add_int(o, "ontime_days", r->ontime_days);
	if (!rc)
		rc = add_day(o, "deadline", r->deadline);
	if (!rc)
		rc = cJSON_AddBoolToObject(o, "due", r->due) ? 0 : TB_ENOMEM;
	if (!rc && !(units = cJSON_AddArrayToObject(o, "units")))
		rc = TB_ENOMEM;
	for (size_t i = 0; !rc && i < r->nschools; i++)
		rc = school_json(units, &r->schools[i]);
	return rc;
}

static int series_json(cJSON *o, const struct tb_report_row *w)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "series");
	int rc = arr ? 0 : TB_ENOMEM;

	for (size_t h = 0; !rc && h < w->npoints; h++) {
		const struct tb_report_point *pt = &w->series[h];
		cJSON *p = cJSON_CreateObject();

		rc = p && cJSON_AddItemToArray(arr, p) ? 0 : TB_ENOMEM;
		if (!rc)
			rc = add_day(p, "at", pt->at);
		if (!rc)
			rc = add_num(p, "value", 1, pt->value);
		if (!rc)
			rc = add_num(p, "target", pt->has_target, pt->target);
	}
	return rc;
}

/* The numbers of one indicator (total or district). */
static int value_json(cJSON *o, const struct tb_report_row *w,
		      const struct tb_report_value *v)
{
	const struct tb_plan_target *t = v->target;
	cJSON *tg = NULL;
	int rc;

	rc = add_num(o, "value", v->has_value, v->value);
	if (!rc && w->ind->f.cumulative)
		rc = add_num(o, "cumulative", v->has_cumulative, v->cumulative);
	if (!rc && t) {
		tg = cJSON_AddObjectToObject(o, "target");
		rc = tg ? 0 : TB_ENOMEM;
		if (!rc)
			rc = add_str(tg, "cmp", tb_plan_cmp_name(t->cmp));
		if (!rc)
			rc = add_num(tg, "value", 1, t->value);
		if (!rc)
			rc = add_int(tg, "year", t->year);
	} else if (!rc) {
		rc = cJSON_AddNullToObject(o, "target") ? 0 : TB_ENOMEM;
	}
	if (!rc)
		rc = add_num(o, "expected_by_now", t != NULL, v->expected_now);
	if (!rc)
		rc = add_num(o, "progress_pct", v->has_progress, v->progress_pct);
	if (!rc)
		rc = add_str(o, "status", tb_report_status_name(v->status));
	if (!rc)
		rc = add_int(o, "units_reported", v->reported);
	if (!rc)
		rc = add_int(o, "units_expected", v->expected);
	return rc;
}

static int row_json(cJSON *arr, const struct tb_report_row *w)
{
	cJSON *o = cJSON_CreateObject(), *m;
	int rc = o && cJSON_AddItemToArray(arr, o) ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_str(o, "id", w->ind->id);
	if (!rc)
		rc = add_str(o, "name_vi", w->ind->name_vi);
	if (!rc)
		rc = add_str(o, "name_en", w->ind->name_en);
	if (!rc)
		rc = add_str(o, "unit", tb_plan_unit_name(w->ind->unit));
	if (!rc)
		rc = add_str(o, "formula", tb_plan_ftype_name(w->ind->f.type));
	if (!rc)
		rc = value_json(o, w, &w->v);
	if (!rc && w->ind->f.reason)
		rc = add_str(o, "reason", w->ind->f.reason);
	if (!rc && w->series)
		rc = series_json(o, w);
	m = rc ? NULL : cJSON_AddArrayToObject(o, "missing");
	if (!rc && !m)
		rc = TB_ENOMEM;
	for (size_t i = 0; !rc && i < w->nmissing; i++) {
		cJSON *s = cJSON_CreateString(w->missing[i]);

		rc = s && cJSON_AddItemToArray(m, s) ? 0 : TB_ENOMEM;
	}
	return rc;
}

static int am_json(cJSON *parent, const struct tb_report_am *am)
{
	cJSON *o = cJSON_AddObjectToObject(parent, "action_month");
	int rc = o ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_int(o, "year", am->year);
	if (!rc)
		rc = add_day(o, "from", am->from);
	if (!rc)
		rc = add_day(o, "to", am->to);
	if (!rc)
		rc = add_int(o, "activities", am->activities);
	if (!rc)
		rc = add_int(o, "parents", am->parents);
	if (!rc)
		rc = add_int(o, "students", am->students);
	if (!rc)
		rc = add_int(o, "teachers_staff", am->teachers_staff);
	if (!rc)
		rc = add_int(o, "officials", am->officials);
	if (!rc)
		rc = add_int(o, "units_active", am->units_active);
	if (!rc)
		rc = add_int(o, "units", am->units);
	return rc;
}

static int district_json(cJSON *arr, const struct tb_report *r,
			 const struct tb_report_district *d)
{
	cJSON *o = cJSON_CreateObject(), *inds = NULL;
	int rc = o && cJSON_AddItemToArray(arr, o) ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_str(o, "code", d->code);
	if (!rc)
		rc = add_str(o, "name", d->name);
	if (!rc)
		rc = add_int(o, "units", d->units);
	if (!rc && !(inds = cJSON_AddArrayToObject(o, "indicators")))
		rc = TB_ENOMEM;
	for (size_t k = 0; !rc && k < r->nrows; k++) {
		cJSON *i = cJSON_CreateObject();

		rc = i && cJSON_AddItemToArray(inds, i) ? 0 : TB_ENOMEM;
		if (!rc)
			rc = add_str(i, "id", r->rows[k].ind->id);
		if (!rc)
			rc = value_json(i, &r->rows[k], &d->v[k]);
	}
	if (!rc)
		rc = am_json(o, &d->am);
	if (!rc && r->schools)
		rc = compl_json(o, &d->compl, NULL);
	return rc;
}

static int stale_json(cJSON *root, const struct tb_report *r)
{
	cJSON *o = cJSON_AddObjectToObject(root, "stale"), *units = NULL;
	char at[TB_TIME_LEN];
	int rc = o ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_int(o, "days", r->stale_days);
	if (!rc && !(units = cJSON_AddArrayToObject(o, "units")))
		rc = TB_ENOMEM;
	for (size_t i = 0; !rc && i < r->nstale; i++) {
		const struct tb_report_stale *s = &r->stale[i];
		cJSON *u = cJSON_CreateObject();

		rc = u && cJSON_AddItemToArray(units, u) ? 0 : TB_ENOMEM;
		if (!rc)
			rc = add_str(u, "code", s->code);
		if (!rc)
			rc = add_str(u, "name", s->name);
		if (!rc)
			rc = add_str(u, "district", s->district);
		if (!rc)
			rc = add_str(u, "last_sync", s->last_sync
				     ? tb_time_format(s->last_sync, at) : NULL);
	}
	return rc;
}

static int head_json(cJSON *o, const struct tb_report *r)
{
	char at[TB_TIME_LEN];
	int rc;

	rc = add_str(o, "plan", r->plan->id);
	if (!rc)
		rc = add_str(o, "plan_name_vi", r->plan->name_vi);
	if (!rc)
		rc = add_str(o, "plan_name_en", r->plan->name_en);
	if (!rc)
		rc = add_str(o, "unit", r->unit);
	if (!rc)
		rc = add_str(o, "unit_type", r->unit_type);
	if (!rc)
		rc = add_str(o, "unit_name", r->unit_name);
	if (!rc)
		rc = add_str(o, "period", r->period.label);
	if (!rc)
		rc = add_day(o, "period_from", r->period.from);
	if (!rc)
		rc = add_day(o, "period_to", r->period.to);
	if (!rc)
		rc = add_str(o, "generated_at", tb_time_format(r->generated_at, at));
	if (!rc)
		rc = add_int(o, "units", r->units);
	if (!rc)
		rc = add_str(o, "province", r->province_code);
	if (!rc)
		rc = add_str(o, "province_name", r->province_name);
	return rc;
}

cJSON *tb_report_out_json_tree(const struct tb_report *r)
{
	cJSON *o = cJSON_CreateObject(), *arr = NULL;
	int rc = o ? head_json(o, r) : TB_ENOMEM;

	if (!rc && !(arr = cJSON_AddArrayToObject(o, "indicators")))
		rc = TB_ENOMEM;
	for (size_t k = 0; !rc && k < r->nrows; k++)
		rc = row_json(arr, &r->rows[k]);
	if (!rc && r->districts) {
		arr = cJSON_AddArrayToObject(o, "districts");
		rc = arr ? 0 : TB_ENOMEM;
		for (size_t j = 0; !rc && j < r->ndistricts; j++)
			rc = district_json(arr, r, &r->districts[j]);
		if (!rc)
			rc = am_json(o, &r->am);
		if (!rc)
			rc = stale_json(o, r);
		if (!rc && r->schools)
			rc = completeness_json(o, r);
	}
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int tb_report_out_json(const struct tb_report *r, FILE *f)
{
	cJSON *o = tb_report_out_json_tree(r);
	char *text = o ? cJSON_Print(o) : NULL;
	int rc = TB_ENOMEM;

	if (text)
		rc = fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : TB_EIO;
	cJSON_free(text);
	cJSON_Delete(o);
	return rc;
}

/* ---- CSV ---------------------------------------------------------------- */

static const char *const csv_head[] = {
	"Kế hoạch / Plan", "Đơn vị / Unit", "Kỳ báo cáo / Period",
	"Mã / ID", "Chỉ tiêu", "Indicator", "Đơn vị tính / Measure",
	"Kết quả trong kỳ / Value", "Lũy kế từ đầu kế hoạch / Cumulative",
	"So sánh / Comparison", "Mục tiêu / Target", "Năm mục tiêu / Target year",
	"Cần đạt đến cuối kỳ / Due by period end", "Tiến độ % / Progress %",
	"Đánh giá / Status", "Đơn vị đã báo cáo / Units reported",
	"Đơn vị phải báo cáo / Units expected",
	"Chưa báo cáo / Not reported", "Ghi chú / Note"};
#define NCSV (sizeof(csv_head) / sizeof(csv_head[0]))

static int csv_row(FILE *f, const char *const *cells)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < NCSV; i++)
		rc = tb_csv_write_field(f, cells[i] ? cells[i] : "",
					i + 1 == NCSV);
	return rc;
}

/* The missing codes joined by spaces (tb_free), or NULL. An Excel cell
 * holds 32,767 characters: a longer list stops at a code and says how
 * many more there are (the JSON has them all). */
#define CSV_CELL_MAX 32000
static char *join_missing(const struct tb_report_row *w)
{
	char *s = tb_malloc(CSV_CELL_MAX + 64);
	size_t at = 0, i;

	if (!s)
		return NULL;
	for (i = 0; i < w->nmissing; i++) {
		size_t n = strlen(w->missing[i]);

		if (at + n + 1 > CSV_CELL_MAX)
			break;
		if (at)
			s[at++] = ' ';
		memcpy(s + at, w->missing[i], n);
		at += n;
	}
	s[at] = '\0';
	if (i < w->nmissing)
		snprintf(s + at, 64, " ... (+%zu)", w->nmissing - i);
	return s;
}

static int csv_indicator(FILE *f, const struct tb_report *r,
			 const struct tb_report_row *w)
{
	const struct tb_report_value *v = &w->v;
	char val[32], cum[32], tgt[32], year[8], due[32], prog[32];
	char status[64], rep[24], exp[24], unitname[64];
	char *missing = join_missing(w);
	const char *cells[NCSV];
	int rc;

	if (!missing)
		return TB_ENOMEM;
	snprintf(unitname, sizeof(unitname), "%s (%s)",
		 tb_report_out_unit_vi(w->ind->unit), tb_plan_unit_name(w->ind->unit));
	snprintf(status, sizeof(status), "%s (%s)",
		 tb_report_out_status_vi(v->status),
		 tb_report_status_name(v->status));
	snprintf(rep, sizeof(rep), "%ld", v->reported);
	snprintf(exp, sizeof(exp), "%ld", v->expected);
	snprintf(year, sizeof(year), "%d", v->target ? v->target->year : 0);
	cells[0] = r->plan->id;
	cells[1] = r->unit;
	cells[2] = r->period.label;
	cells[3] = w->ind->id;
	cells[4] = w->ind->name_vi;
	cells[5] = w->ind->name_en;
	cells[6] = unitname;
	cells[7] = v->has_value ? tb_report_out_num(v->value, val, sizeof(val))
				: "";
	cells[8] = v->has_cumulative
			   ? tb_report_out_num(v->cumulative, cum, sizeof(cum))
			   : "";
	cells[9] = v->target ? tb_plan_cmp_name(v->target->cmp) : "";
	cells[10] = v->target
			    ? tb_report_out_num(v->target->value, tgt, sizeof(tgt))
			    : "";
	cells[11] = v->target ? year : "";
	cells[12] = v->target
			    ? tb_report_out_num(v->expected_now, due, sizeof(due))
			    : "";
	cells[13] = v->has_progress
			    ? tb_report_out_num(v->progress_pct, prog, sizeof(prog))
			    : "";
	cells[14] = status;
	cells[15] = rep;
	cells[16] = exp;
	cells[17] = missing;
	cells[18] = w->ind->f.reason;
	rc = csv_row(f, cells);
	tb_free(missing);
	return rc;
}

int tb_report_out_csv(const struct tb_report *r, FILE *f)
{
	int rc = tb_csv_write_bom(f);

	if (!rc)
		rc = csv_row(f, csv_head);
	for (size_t k = 0; !rc && k < r->nrows; k++)
		rc = csv_indicator(f, r, &r->rows[k]);
	return rc;
}

/* ---- one dispatcher ------------------------------------------------------ */

static const struct {
	const char *name, *ctype;
} formats[] = {
	[TB_RF_JSON] = {"json", "application/json"},
	[TB_RF_CSV] = {"csv", "text/csv; charset=utf-8"},
	[TB_RF_HTML] = {"html", "text/html; charset=utf-8"},
	[TB_RF_XLSX] = {"xlsx", "application/vnd.openxmlformats-officedocument."
				"spreadsheetml.sheet"},
	[TB_RF_PDF] = {"pdf", "application/pdf"},
};

int tb_report_format_parse(const char *s, enum tb_report_format *out)
{
	if (!s) {
		*out = TB_RF_JSON;
		return TB_OK;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(s, formats[i].name) == 0) {
			*out = (enum tb_report_format)i;
			return TB_OK;
		}
	return TB_EINVAL;
}

const char *tb_report_format_name(enum tb_report_format f)
{
	return formats[f].name;
}

const char *tb_report_format_ctype(enum tb_report_format f)
{
	return formats[f].ctype;
}

const char *tb_report_file_name(const struct tb_report *r,
				enum tb_report_format f, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "bao-cao-%s-%s-%s.%s", r->plan->id, r->unit,
		 r->period.label, formats[f].name);
	for (i = 0; buf[i]; i++)
		if (!((buf[i] >= 'a' && buf[i] <= 'z') ||
		      (buf[i] >= 'A' && buf[i] <= 'Z') ||
		      (buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.' ||
		      buf[i] == '_'))
			buf[i] = '-';
	return buf;
}

int tb_report_write(const struct tb_report *r, enum tb_report_format fmt,
		    const struct tb_report_page *page, FILE *f)
{
	switch (fmt) {
	case TB_RF_CSV: return tb_report_out_csv(r, f);
	case TB_RF_HTML: return tb_report_html(r, page, f);
	case TB_RF_XLSX: return tb_report_xlsx(r, f);
	case TB_RF_PDF: return tb_report_pdf(r, f);
	case TB_RF_JSON: break;
	}
	return tb_report_out_json(r, f);
}
