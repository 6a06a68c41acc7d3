/* report_html.h - the dashboard: a report (server/report.h) as one HTML
 * page, the search for a unit, and the page an office signs in on.
 *
 * Called by the `report --format html` command and by server/report_http.c
 * for GET / and GET /search. Pages are self-contained: inline CSS and SVG
 * charts drawn here, no script, no font, image or style fetched from
 * anywhere, so they work offline and under a Content-Security-Policy of
 * default-src 'none'. Laid out for a phone first (one column; tables
 * reflow into labelled blocks below 640 px), two columns on a wide screen.
 *
 * One page per org unit, linked: the province (or all units) lists its
 * districts, a district its schools, a school only itself; a breadcrumb
 * leads back up. Each page has the plan's indicators (progress against
 * the target, a chart of the cumulative value against the target line
 * over the plan's half-years, and on a province page the districts side
 * by side), completeness and timeliness (expected, reported, on time; the
 * late and missing units named), the stale units and the Action Month,
 * and links to the same report as Excel, CSV, JSON and the printed PDF.
 *
 * Words are Vietnamese, or English where the browser asks for it first
 * (page->en); numbers are written as the language writes them (71,43 and
 * 68.000 in Vietnamese), times in Asia/Ho_Chi_Minh. Every number shown
 * also stands in a data-* attribute in the JSON's form (tb_report_out_num),
 * so a browser test can compare the page with the JSON:
 *   indicator cards   data-id data-value data-cumulative data-progress
 *                     data-status data-reported data-expected
 *   district tables   tr data-id data-value data-cumulative data-progress
 *                     data-reported data-expected, in table data-district
 *   charts            data-at data-value data-target per point;
 *                     data-district data-value per bar
 *   completeness      data-expected data-reported data-on-time data-late
 *                     data-missing data-closed data-reported-pct
 *                     data-on-time-pct (section and per district row)
 *   schools           tr data-code data-state
 *   Action Month      data-year data-activities data-parents ...
 * All text from the plan and the database is HTML-escaped.
 */
#ifndef TB_SERVER_REPORT_HTML_H
#define TB_SERVER_REPORT_HTML_H

#include <stdio.h>

#include "server/plan.h"
#include "server/report.h"

struct tb_unit_hits;

/* What the page offers around the report. */
struct tb_report_page {
	const struct tb_plan_set *plans; /* plan selector; NULL: no form */
	const char *signout;             /* sign-out form action, or NULL */
	int en;                          /* English words */
	int links;                       /* drill-down and download links
					    (a served page; not a file) */
};

/* Writes the page. page may be NULL (the page as the command writes it:
 * Vietnamese, no links). 0 or TB_EIO. */
int tb_report_html(const struct tb_report *r, const struct tb_report_page *page,
		   FILE *f);
/* The units found for query (server/report_search.h), each linked to its
 * page for plan and period. 0 or TB_EIO. */
int tb_report_html_search(FILE *f, const struct tb_report_page *page,
			  const char *query, const struct tb_unit_hits *hits,
			  const char *plan, const char *period);
/* The sign-in page: a form posting the admin token to `action`
 * (message: a problem to show, or NULL). 0 or TB_EIO. */
int tb_report_html_signin(FILE *f, int en, const char *action,
			  const char *message);
/* A page that only says something (an error on GET /), escaped; with a
 * link back to `back` (NULL: "/"). 0 or TB_EIO. */
int tb_report_html_message(FILE *f, int en, const char *title,
			   const char *message, const char *back);

#endif
