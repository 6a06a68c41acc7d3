/* report_html.h - the dashboard: a report (server/report.h) as one HTML
 * page, and the page an office signs in on.
 *
 * Called by the `report --format html` command and by server/report_http.c
 * for GET /. The page is self-contained: inline CSS, no script, no font,
 * image or style fetched from anywhere, so it works offline and under a
 * Content-Security-Policy of default-src 'none'. It is laid out for a
 * phone first (one column, tables that scroll sideways), two columns on a
 * wide screen. Sections: each indicator with a progress bar against its
 * target, the value, cumulative value, target, status and units reported;
 * with the report's detail, a table per district, the units that have not
 * synced for more than the report's stale_days, and the Action Month.
 *
 * Every number is printed with tb_report_out_num, the JSON's rounding,
 * and each indicator element carries data-id, data-value,
 * data-cumulative, data-progress, data-status, data-reported and
 * data-expected, so a browser test can compare the page with the JSON.
 * All text from the plan and the database is HTML-escaped.
 */
#ifndef TB_SERVER_REPORT_HTML_H
#define TB_SERVER_REPORT_HTML_H

#include <stdio.h>

#include "server/plan.h"
#include "server/report.h"

/* What the page offers around the report. */
struct tb_report_page {
	const struct tb_plan_set *plans; /* plan selector; NULL: no form */
	const char *signout;             /* sign-out form action, or NULL */
};

/* Writes the page. page may be NULL (the page as the command writes it).
 * 0 or TB_EIO. */
int tb_report_html(const struct tb_report *r, const struct tb_report_page *page,
		   FILE *f);
/* The sign-in page: a form posting the admin token to `action`
 * (message: a problem to show, or NULL). 0 or TB_EIO. */
int tb_report_html_signin(FILE *f, const char *action, const char *message);
/* A page that only says something (an error on GET /), escaped. */
int tb_report_html_message(FILE *f, const char *title, const char *message);

#endif
