/* report_html_int.h - what the files of the dashboard share
 * (server/report_html.c: the frame, the header and the indicators;
 * report_html_parts.c: completeness, districts, schools, stale units,
 * Action Month, search; report_svg.c: the charts). Nothing else includes
 * it. A page is written straight to a FILE; an I/O error is checked once
 * at the end with ferror (html_finish).
 */
#ifndef TB_SERVER_REPORT_HTML_INT_H
#define TB_SERVER_REPORT_HTML_INT_H

#include <stdio.h>

#include "server/report.h"
#include "server/report_html.h"

struct page {
	FILE *f;
	int en;                          /* English words */
	int links;                       /* links to other pages */
	const struct tb_report *r;       /* NULL on pages without a report */
	const struct tb_report_page *pg; /* may be NULL */
};

/* The word in the page's language. */
#define T(p, vi, en_) ((p)->en ? (en_) : (vi))

/* Missing or late units listed by name on a page; the rest are counted
 * (a province can have thousands; JSON, CSV and Excel list all). */
#define HTML_LIST_MAX 200
#define HTML_NUM_LEN 48

void html_out(struct page *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Text escaped for HTML content and double-quoted attributes. */
void html_esc(struct page *p, const char *s);
/* v as the JSON writes it (66.67), for data-* attributes; buf 32. */
const char *html_raw(double v, char *buf);
/* v as people of the page's language write it: 68.000 and 71,43 in
 * Vietnamese, 68,000 and 71.43 in English; buf HTML_NUM_LEN. */
const char *html_num(const struct page *p, double v, char *buf);
/* A whole number so written. */
const char *html_int(const struct page *p, long long v, char *buf);
/* The href of the dashboard page of unit (NULL: all) for the report's
 * plan and period, written escaped. */
void html_href(struct page *p, const char *unit);
/* A unit's name linked to its page when the page has links. */
void html_unit_link(struct page *p, const char *code, const char *name);
const char *html_status(const struct page *p, enum tb_report_status s);
const char *html_state(const struct page *p, enum tb_report_unit_state s);
/* A day and a time as the page's people write them (UTC+7). */
const char *html_day(const struct page *p, int32_t d, char *buf);
const char *html_time(const struct page *p, int64_t t, char *buf);
void html_head(struct page *p, const char *title);
int html_finish(struct page *p);

/* report_svg.c */
/* The cumulative value against the target line over the half-years. */
void html_chart_series(struct page *p, const struct tb_report_row *w);
/* Row k per district, side by side, against the target. */
void html_chart_districts(struct page *p, size_t k);

/* report_html_parts.c */
void html_completeness(struct page *p);
void html_districts(struct page *p);
void html_schools(struct page *p);
void html_stale(struct page *p);
void html_action_month(struct page *p);

#endif
