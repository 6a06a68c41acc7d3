/* report_out.h - a computed report (server/report.h) as JSON and as CSV
 * for Excel (the HTML dashboard is server/report_html.h).
 *
 * Called by the `report` command and the HTTP front. Both, and the
 * dashboard, show the same numbers rounded once the same way (two
 * decimals, trailing zeros dropped: 66.67, 95, 2691), so a figure read
 * off the dashboard equals the JSON one. JSON (one object):
 *   plan, plan_name_vi, plan_name_en, unit, unit_type, unit_name, period,
 *   period_from, period_to, generated_at, units,
 *   indicators[]: id, name_vi, name_en, unit, formula, value (null when no
 *     unit reported), cumulative (cumulative formulas), target {cmp, value,
 *     year} or null, expected_by_now, progress_pct, status (on_track,
 *     behind, no_target, no_data, not_collected), reason (not_collected),
 *     units_reported, units_expected, missing[] (unit codes);
 *   with detail: districts[] {code, name, units, indicators[] (the same
 *     numbers per district, without names and missing), action_month},
 *   action_month {year, from, to, activities, parents, students,
 *     teachers_staff, officials, units_active, units}, stale {days,
 *     units[] {code, name, district, last_sync (null: never)}}.
 * CSV: UTF-8 with a BOM and CRLF (common/csv.h), a bilingual header, then
 * one row per indicator in the plan's order: the half-year report.
 */
#ifndef TB_SERVER_REPORT_OUT_H
#define TB_SERVER_REPORT_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "server/report.h"

struct cJSON;

/* The report as a cJSON object (cJSON_Delete). NULL on TB_ENOMEM. */
struct cJSON *tb_report_out_json_tree(const struct tb_report *r);
/* Writes the JSON text (pretty, ending in a newline) to f. 0, TB_ENOMEM,
 * TB_EIO. */
int tb_report_out_json(const struct tb_report *r, FILE *f);
/* Writes the CSV (BOM, header, one CRLF row per indicator). 0 or TB_EIO. */
int tb_report_out_csv(const struct tb_report *r, FILE *f);

/* Every format a report is written in, by the `report` command and the
 * HTTP front alike (one dispatcher, tb_report_write). */
enum tb_report_format {
	TB_RF_JSON,
	TB_RF_CSV,
	TB_RF_HTML,
	TB_RF_XLSX, /* server/report_xlsx.c */
	TB_RF_PDF   /* server/report_pdf.c */
};
/* "json" "csv" "html" "xlsx" "pdf" (NULL: json). 0 or TB_EINVAL. */
int tb_report_format_parse(const char *s, enum tb_report_format *out);
const char *tb_report_format_name(enum tb_report_format f);
/* The Content-Type of a format, for HTTP. */
const char *tb_report_format_ctype(enum tb_report_format f);
/* The name a download of r in format f is saved under, into buf (at
 * least 128 bytes): "bao-cao-PLAN-UNIT-PERIOD.EXT", every byte outside
 * A-Z a-z 0-9 . _ made '-' (safe in a Content-Disposition filename).
 * Returns buf. */
const char *tb_report_file_name(const struct tb_report *r,
				enum tb_report_format f, char *buf, size_t len);
/* Writes r in format fmt to f. page: what an HTML page offers around the
 * report (struct tb_report_page of report_html.h), NULL for a file.
 * 0, TB_EIO, TB_ENOMEM. */
struct tb_report_page;
int tb_report_write(const struct tb_report *r, enum tb_report_format fmt,
		    const struct tb_report_page *page, FILE *f);

/* A number as every output prints it, into buf (at least 32 bytes). */
const char *tb_report_out_num(double v, char *buf, size_t len);
/* Vietnamese words for a status ("Chậm tiến độ") and a unit ("lượt"). */
const char *tb_report_out_status_vi(enum tb_report_status s);
const char *tb_report_out_unit_vi(enum tb_plan_unit u);

#endif
