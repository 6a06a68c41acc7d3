/* report_svg.c - the dashboard's charts, drawn here as inline SVG (no
 * script, nothing fetched; the Content-Security-Policy allows none):
 *
 *   trend      a cumulative indicator's value at the end of every
 *              half-year since the plan's start (solid line, a dot per
 *              half-year) against the target due by then (dashed);
 *   districts  one bar per district (the period's value, or the
 *              cumulative one for cumulative indicators), with the
 *              target as a dashed line where a district can be held to
 *              it (shares and rates; a count's target is the province's).
 *
 * Both scale to the card's width (viewBox, width 100%), so they read on a
 * phone. Each is an img with a title and a description, followed by the
 * same numbers as a table in a <details>, for screen readers and for
 * whoever wants the figures; every point and bar carries its figure in
 * data-* attributes as the JSON writes it. Called by report_html.c.
 */
#include "server/report_html_int.h"

#include <math.h>
#include <string.h>

#include "common/date.h"

#define W 320.0
#define X0 44.0   /* left of the plot: y labels */
#define X1 312.0
#define Y0 12.0   /* top of the plot */
#define Y1 118.0  /* its bottom */

/* The smallest 1, 2 or 5 times a power of ten at or above v (> 0). */
static double nice_max(double v)
{
	double m = 1;

	if (v <= 0)
		return 1;
	while (m < v)
		m *= 10;
	if (m / 5 >= v)
		return m / 5;
	if (m / 2 >= v)
		return m / 2;
	return m;
}

static double px(size_t i, size_t n)
{
	return X0 + (X1 - X0) * (double)i / (double)(n > 1 ? n - 1 : 1);
}

static double py(double v, double max)
{
	return Y1 - (Y1 - Y0) * v / max;
}

/* "2025-H2" for the half-year ending on day d. */
static void half_label(int32_t d, char *buf, size_t len)
{
	int y, m, dd;

	tb_date_to_ymd(d, &y, &m, &dd);
	snprintf(buf, len, "%d-H%d", y, m > 6 ? 2 : 1);
}

static void polyline(struct page *p, const struct tb_report_row *w,
		     double max, int target)
{
	html_out(p, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s"
		    " points=\"", target ? "#d84315" : "#6a1b9a",
		 target ? " stroke-dasharray=\"5 4\"" : "");
	for (size_t i = 0; i < w->npoints; i++) {
		const struct tb_report_point *pt = &w->series[i];

		if (target && !pt->has_target)
			continue;
		html_out(p, "%.1f,%.1f ", px(i, w->npoints),
			 py(target ? pt->target : pt->value, max));
	}
	html_out(p, "\"/>");
}

static void series_table(struct page *p, const struct tb_report_row *w)
{
	char d[TB_DATE_LEN], a[HTML_NUM_LEN], b[HTML_NUM_LEN];

	html_out(p, "<details><summary>%s</summary><table class=\"series\">"
		    "<thead><tr><th>%s</th><th>%s</th><th>%s</th></tr></thead>"
		    "<tbody>", T(p, "Số liệu của biểu đồ", "The chart's figures"),
		 T(p, "Đến ngày", "Up to"), T(p, "Lũy kế", "Cumulative"),
		 T(p, "Mục tiêu đến ngày", "Target due"));
	for (size_t i = 0; i < w->npoints; i++) {
		const struct tb_report_point *pt = &w->series[i];

		html_out(p, "<tr><td>%s</td><td class=\"n\">%s</td><td class="
			    "\"n\">%s</td></tr>", html_day(p, pt->at, d),
			 html_num(p, pt->value, a),
			 pt->has_target ? html_num(p, pt->target, b) : "—");
	}
	html_out(p, "</tbody></table></details>");
}

void html_chart_series(struct page *p, const struct tb_report_row *w)
{
	const struct tb_report_point *last = &w->series[w->npoints - 1];
	char a[32], b[32], l0[16], l1[16], m[HTML_NUM_LEN], v[HTML_NUM_LEN];
	double max = 0;
	size_t k = (size_t)(w - p->r->rows);

	for (size_t i = 0; i < w->npoints; i++) {
		max = fmax(max, w->series[i].value);
		if (w->series[i].has_target)
			max = fmax(max, w->series[i].target);
	}
	max = nice_max(max);
	half_label(w->series[0].at, l0, sizeof(l0));
	half_label(last->at, l1, sizeof(l1));
	html_out(p, "<svg class=\"chart trend\" viewBox=\"0 0 %.0f 150\" role="
		    "\"img\" aria-labelledby=\"t%zu d%zu\"><title id=\"t%zu\">",
		 W, k, k, k);
	html_esc(p, w->ind->id);
	html_out(p, ": %s</title><desc id=\"d%zu\">%s %s – %s: %s %s%s%s."
		    "</desc>",
		 T(p, "lũy kế theo nửa năm so với mục tiêu",
		   "cumulative by half-year against the target"), k,
		 T(p, "Từ", "From"), l0, l1, T(p, "lũy kế", "cumulative"),
		 html_num(p, last->value, v),
		 last->has_target ? T(p, ", mục tiêu đến kỳ ", ", target due ")
				  : "",
		 last->has_target ? html_num(p, last->target, m) : "");
	html_out(p, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
		    "stroke=\"#99a\"/><line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" "
		    "y2=\"%.0f\" stroke=\"#99a\"/>", X0, Y1, X1, Y1, X0, Y0, X0, Y1);
	html_out(p, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>"
		    "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>",
		 X0 - 4, Y0 + 4, html_num(p, max, m), X0 - 4, Y1);
	html_out(p, "<text x=\"%.0f\" y=\"134\">%s</text><text x=\"%.0f\" "
		    "y=\"134\" text-anchor=\"end\">%s</text>", X0, l0, X1, l1);
	polyline(p, w, max, 1);
	polyline(p, w, max, 0);
	for (size_t i = 0; i < w->npoints; i++) {
		const struct tb_report_point *pt = &w->series[i];
		char d[TB_DATE_LEN], t[TB_DATE_LEN];

		html_out(p, "<circle r=\"3\" fill=\"#6a1b9a\" cx=\"%.1f\" "
			    "cy=\"%.1f\" data-at=\"%s\" data-value=\"%s\" "
			    "data-target=\"%s\"><title>%s: %s</title></circle>",
			 px(i, w->npoints), py(pt->value, max),
			 tb_date_format(pt->at, d), html_raw(pt->value, a),
			 pt->has_target ? html_raw(pt->target, b) : "",
			 html_day(p, pt->at, t), html_num(p, pt->value, v));
	}
	html_out(p, "<text x=\"%.0f\" y=\"148\" fill=\"#6a1b9a\">— %s</text>"
		    "<text x=\"%.0f\" y=\"148\" fill=\"#d84315\">- - %s</text>"
		    "</svg>", X0, T(p, "lũy kế", "cumulative"), X0 + 110,
		 T(p, "mục tiêu", "target"));
	series_table(p, w);
}

/* The figure a district's bar shows, and whether it has one. */
static int bar_value(const struct tb_report_row *w,
		     const struct tb_report_value *v, double *out)
{
	if (w->ind->f.cumulative) {
		*out = v->cumulative;
		return v->has_cumulative;
	}
	*out = v->value;
	return v->has_value;
}

static void districts_table(struct page *p, size_t k)
{
	const struct tb_report *r = p->r;
	char a[HTML_NUM_LEN];
	double v;

	html_out(p, "<details><summary>%s</summary><table><tbody>",
		 T(p, "Số liệu theo huyện", "Figures by district"));
	for (size_t j = 0; j < r->ndistricts; j++) {
		int has = bar_value(&r->rows[k], &r->districts[j].v[k], &v);

		html_out(p, "<tr><td>");
		html_esc(p, r->districts[j].name);
		html_out(p, "</td><td class=\"n\">%s</td></tr>",
			 has ? html_num(p, v, a) : "—");
	}
	html_out(p, "</tbody></table></details>");
}

void html_chart_districts(struct page *p, size_t k)
{
	const struct tb_report *r = p->r;
	const struct tb_report_row *w = &r->rows[k];
	int pct = w->ind->unit != TB_UNIT_COUNT && w->v.target;
	double max = pct ? w->v.target->value : 0, v, h;
	char a[32], n[HTML_NUM_LEN];

	for (size_t j = 0; j < r->ndistricts; j++)
		if (bar_value(w, &r->districts[j].v[k], &v))
			max = fmax(max, v);
	max = pct && max <= 100 ? 100 : nice_max(max);
	h = 8 + 26.0 * (double)r->ndistricts;
	html_out(p, "<svg class=\"chart districts\" viewBox=\"0 0 %.0f %.0f\" "
		    "role=\"img\" aria-label=\"", W, h);
	html_esc(p, w->ind->id);
	html_out(p, ": %s\">", T(p, "so sánh các huyện", "districts compared"));
	for (size_t j = 0; j < r->ndistricts; j++) {
		const struct tb_report_district *d = &r->districts[j];
		int has = bar_value(w, &d->v[k], &v);
		double y = 4 + 26.0 * (double)j, bw = has ? (W - 60) * v / max : 0;

		html_out(p, "<text x=\"0\" y=\"%.0f\">", y + 9);
		html_esc(p, d->name);
		html_out(p, "</text><rect x=\"0\" y=\"%.0f\" height=\"10\" width="
			    "\"%.1f\" fill=\"#8e6bb0\" data-district=\"", y + 12,
			 bw);
		html_esc(p, d->code);
		html_out(p, "\" data-value=\"%s\"/><text x=\"%.1f\" y=\"%.0f\">"
			    "%s</text>", has ? html_raw(v, a) : "", bw + 4,
			 y + 21, has ? html_num(p, v, n) : "—");
	}
	if (pct) {
		double x = (W - 60) * w->v.target->value / max;

		html_out(p, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%.0f\" "
			    "stroke=\"#d84315\" stroke-dasharray=\"4 3\" "
			    "data-target=\"%s\"/>", x, x, h,
			 html_raw(w->v.target->value, a));
	}
	html_out(p, "</svg>");
	districts_table(p, k);
}
