/* report_xlsx.h - a computed report (server/report.h) as an Excel
 * workbook, for district and provincial officers.
 *
 * Called through the one dispatcher, tb_report_write (report_out.c), by
 * `tienbo-server report --format xlsx` and GET /v1/report?format=xlsx.
 * Numbers are the ones every output shows (rounded once, two decimals,
 * through tb_report_out_num), stored as number cells; cells, headers and
 * panes as server/xlsxw.h says. Sheets, in this order:
 *
 *   "Tổng hợp"         the title (plan, unit with code, period with its
 *                      dates, generated at in local time, units), then one
 *                      row per indicator in the plan's order: id, name,
 *                      measure, value, cumulative, comparison, target,
 *                      target year, expected by now, progress %, status
 *                      (Vietnamese), units reported and expected, the
 *                      units not reported (code and name), note.
 *   one per district   with a report of several districts (ndistricts > 1):
 *                      the same table with that district's numbers and its
 *                      own units not reported; named by the district's
 *                      name, made a valid, unique sheet name.
 *   "Tháng hành động"  with detail: the Action Month, a row per district and
 *                      a total row.
 *   "Tình hình báo cáo" with several districts: every school (code, name,
 *                      district code and name, level, state in Vietnamese,
 *                      first data received and last sync in local time,
 *                      events in the period, closed from); the header alone
 *                      when the report lists no school.
 */
#ifndef TB_SERVER_REPORT_XLSX_H
#define TB_SERVER_REPORT_XLSX_H

#include <stdio.h>

#include "server/report.h"

/* Writes the workbook to f (a temporary file under $TMPDIR is used and
 * removed). r is only read. 0, TB_EIO (temporary file, libxlsxwriter or
 * writing f), TB_ENOMEM. On failure f may hold part of the bytes. */
int tb_report_xlsx(const struct tb_report *r, FILE *f);

#endif
