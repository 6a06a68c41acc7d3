/* report_html.c - the dashboard's frame, its header (breadcrumb, period,
 * downloads, the selector and the search field) and the indicator cards;
 * the sign-in and message pages (see report_html.h). The other sections
 * are report_html_parts.c, the charts report_svg.c.
 */
#include "server/report_html_int.h"

#include <stdarg.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "server/report_out.h"

static const char css[] =
	"*{box-sizing:border-box}"
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,"
	"sans-serif;margin:0 auto;max-width:1200px;padding:0 12px 32px;"
	"color:#1b1d21;background:#f5f6f8;line-height:1.4}"
	"header{padding:12px 0 4px;border-bottom:3px solid #6a1b9a}"
	"h1{font-size:1.2rem;margin:0 0 4px}h2{font-size:1.05rem;margin:1.6em 0 "
	".5em}h3{font-size:.98rem;margin:0 0 2px}"
	"a{color:#4a148c}"
	".meta{color:#444;font-size:.9rem;margin:0}"
	"nav.crumbs{font-size:.9rem;margin:2px 0}nav.crumbs a{white-space:nowrap}"
	".dl{font-size:.88rem;margin:6px 0 0;display:flex;flex-wrap:wrap;"
	"gap:6px;align-items:center}.dl a{border:1px solid #6a1b9a;"
	"border-radius:6px;padding:3px 9px;text-decoration:none;background:#fff}"
	".dl a.print{background:#6a1b9a;color:#fff}"
	"form.sel{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;"
	"margin:12px 0}form.sel label{display:flex;flex-direction:column;"
	"font-size:.8rem;color:#444}"
	"input,select,button{font:inherit;padding:6px 8px;border:1px solid #99a;"
	"border-radius:6px;background:#fff;max-width:100%}button{background:"
	"#6a1b9a;color:#fff;border-color:#6a1b9a;cursor:pointer}"
	".out{float:right;margin-top:-4px}.out button{background:#fff;"
	"color:#6a1b9a}"
	".ind{background:#fff;border:1px solid #dfe1e6;border-left:6px solid "
	"#9aa0a6;border-radius:8px;padding:10px 12px;margin:0 0 10px;"
	"min-width:0}"
	".ind.on_track{border-left-color:#2e7d32}.ind.behind{border-left-color:"
	"#d84315}"
	".en{color:#555;font-size:.83rem;margin:0 0 8px}"
	".bar{height:14px;background:#e7e9ee;border-radius:7px;overflow:hidden}"
	".bar span{display:block;height:100%;background:#9aa0a6}"
	".on_track .bar span{background:#2e7d32}.behind .bar span{background:"
	"#d84315}"
	".nums{display:flex;flex-wrap:wrap;gap:2px 14px;font-size:.88rem;"
	"margin:6px 0 0;padding:0;list-style:none}"
	".badge{display:inline-block;padding:0 8px;border-radius:10px;"
	"font-size:.8rem;background:#eceff1}"
	".on_track .badge,.on_time .badge{background:#e8f5e9;color:#1b5e20}"
	".behind .badge,.missing .badge{background:#fbe9e7;color:#bf360c}"
	".late .badge{background:#fff3e0;color:#8a4b00}"
	"details{font-size:.83rem;margin-top:4px}"
	"svg.chart{width:100%;height:auto;max-width:560px;display:block;"
	"margin:8px 0 0}svg.chart text{font-size:10px;fill:#444}"
	"table{border-collapse:collapse;width:100%;background:#fff;"
	"font-size:.84rem;margin-bottom:12px}"
	"th,td{border:1px solid #dfe1e6;padding:4px 6px;text-align:left;"
	"vertical-align:top}th{background:#f0f1f4}td.n{text-align:right;"
	"white-space:nowrap}"
	"tr.on_track td.s{color:#1b5e20}tr.behind td.s{color:#bf360c}"
	".cards{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 10px}"
	".cards div{background:#fff;border:1px solid #dfe1e6;border-radius:8px;"
	"padding:8px 12px;min-width:130px;flex:1 1 130px}.cards b{display:block;"
	"font-size:1.3rem}"
	".dist{background:#fff;border:1px solid #dfe1e6;border-radius:8px;"
	"padding:10px 12px;margin:0 0 12px}"
	"footer{margin-top:24px;color:#666;font-size:.8rem}"
	"@media(max-width:640px){table.rf thead{display:none}table.rf,"
	"table.rf tbody,table.rf tr,table.rf td{display:block;width:100%}"
	"table.rf tr{border:1px solid #dfe1e6;border-radius:6px;margin:0 0 8px;"
	"background:#fff}table.rf td{border:0;border-bottom:1px solid #eef0f3;"
	"display:flex;justify-content:space-between;gap:12px;text-align:right}"
	"table.rf td::before{content:attr(data-label);font-weight:600;"
	"text-align:left;color:#444}}"
	"@media(min-width:900px){#indicators .list{display:grid;"
	"grid-template-columns:1fr 1fr;gap:0 12px}}"
	"@media print{form,.dl,.out{display:none}}";

/* ---- shared helpers (report_html_int.h) --------------------------------- */

void html_out(struct page *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

void html_esc(struct page *p, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", p->f); break;
		case '<': fputs("&lt;", p->f); break;
		case '>': fputs("&gt;", p->f); break;
		case '"': fputs("&quot;", p->f); break;
		case '\'': fputs("&#39;", p->f); break;
		default: fputc(*s, p->f);
		}
	}
}

const char *html_raw(double v, char *buf)
{
	return tb_report_out_num(v, buf, 32);
}

/* "-1234.5" -> "-1.234,5" (vi) or "-1,234.5" (en). */
const char *html_num(const struct page *p, double v, char *buf)
{
	char raw[32];
	const char *s = tb_report_out_num(v, raw, sizeof(raw));
	const char *dot = strchr(s, '.');
	size_t o = 0, nint;

	if (*s == '-')
		buf[o++] = *s++;
	nint = dot ? (size_t)(dot - s) : strlen(s);
	for (size_t i = 0; i < nint && o < HTML_NUM_LEN - 4; i++) {
		if (i && (nint - i) % 3 == 0)
			buf[o++] = p->en ? ',' : '.';
		buf[o++] = s[i];
	}
	if (dot) {
		buf[o++] = p->en ? '.' : ',';
		for (dot++; *dot && o < HTML_NUM_LEN - 1; dot++)
			buf[o++] = *dot;
	}
	buf[o] = '\0';
	return buf;
}

const char *html_int(const struct page *p, long long v, char *buf)
{
	return html_num(p, (double)v, buf);
}

void html_href(struct page *p, const char *unit)
{
	const struct tb_report *r = p->r;

	html_out(p, "/?plan=");
	html_esc(p, r->plan->id);
	html_out(p, "&amp;period=");
	html_esc(p, r->period.label);
	if (unit) {
		html_out(p, "&amp;unit=");
		html_esc(p, unit);
	}
}

void html_unit_link(struct page *p, const char *code, const char *name)
{
	if (p->links) {
		html_out(p, "<a href=\"");
		html_href(p, code);
		html_out(p, "\">");
	}
	html_esc(p, name && name[0] ? name : code);
	if (p->links)
		html_out(p, "</a>");
}

const char *html_status(const struct page *p, enum tb_report_status s)
{
	if (!p->en)
		return tb_report_out_status_vi(s);
	switch (s) {
	case TB_ST_ON_TRACK: return "On track";
	case TB_ST_BEHIND: return "Behind";
	case TB_ST_NO_TARGET: return "No numeric target";
	case TB_ST_NO_DATA: return "No data yet";
	case TB_ST_NOT_COLLECTED: return "Not collected";
	}
	return "?";
}

const char *html_state(const struct page *p, enum tb_report_unit_state s)
{
	switch (s) {
	case TB_US_ON_TIME: return T(p, "Đúng hạn", "On time");
	case TB_US_LATE: return T(p, "Muộn", "Late");
	case TB_US_PENDING: return T(p, "Chưa gửi, chưa đến hạn", "Not yet due");
	case TB_US_MISSING: return T(p, "Chưa báo cáo", "Not reported");
	case TB_US_CLOSED: return T(p, "Đã đóng", "Closed");
	case TB_US_NOT_APPLICABLE:
		return T(p, "Không áp dụng", "Not applicable");
	}
	return "?";
}

const char *html_day(const struct page *p, int32_t d, char *buf)
{
	return p->en ? tb_date_format(d, buf) : tb_date_format_vn(d, buf);
}

const char *html_time(const struct page *p, int64_t t, char *buf)
{
	(void)p; /* dd/mm/yyyy hh:mm reads in both languages here */
	return tb_time_format_vn(t, buf);
}

void html_head(struct page *p, const char *title)
{
	html_out(p, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta "
		    "charset=\"utf-8\"><meta name=\"viewport\" content=\""
		    "width=device-width, initial-scale=1\"><title>",
		 p->en ? "en" : "vi");
	html_esc(p, title);
	html_out(p, "</title><style>%s</style></head>\n<body>\n", css);
}

int html_finish(struct page *p)
{
	html_out(p, "<footer>tienbo · tiến bộ</footer>\n</body></html>\n");
	return ferror(p->f) ? TB_EIO : TB_OK;
}

/* ---- the header ---------------------------------------------------------- */

/* Province > district > school, each linked but the page's own. */
static void crumbs(struct page *p)
{
	const struct tb_report *r = p->r;
	const char *t = r->unit_type;
	int school = strcmp(t, "school") == 0, district = !strcmp(t, "district");

	html_out(p, "<nav class=\"crumbs\" aria-label=\"%s\">",
		 T(p, "Cấp đơn vị", "Levels"));
	if (r->province_code && (school || district)) {
		html_unit_link(p, r->province_code, r->province_name);
		html_out(p, " › ");
	}
	if (school && r->ndistricts == 1) {
		html_unit_link(p, r->districts[0].code, r->districts[0].name);
		html_out(p, " › ");
	}
	html_out(p, "<b id=\"unit-name\">");
	if (strcmp(t, "all") == 0)
		html_esc(p, r->province_name ? r->province_name
			     : T(p, "Tất cả đơn vị", "All units"));
	else
		html_esc(p, r->unit_name ? r->unit_name : r->unit);
	html_out(p, "</b></nav>");
}

static void download(struct page *p, const char *fmt, const char *label)
{
	const struct tb_report *r = p->r;

	html_out(p, "<a %shref=\"/v1/report?plan=",
		 strcmp(fmt, "pdf") == 0 ? "class=\"print\" " : "");
	html_esc(p, r->plan->id);
	html_out(p, "&amp;period=");
	html_esc(p, r->period.label);
	html_out(p, "&amp;unit=");
	html_esc(p, r->unit);
	html_out(p, "&amp;format=%s\">%s</a>", fmt, label);
}

static void downloads(struct page *p)
{
	html_out(p, "<p class=\"dl\">%s ", T(p, "Tải về:", "Download:"));
	download(p, "pdf", T(p, "In báo cáo (PDF)", "Print (PDF)"));
	download(p, "xlsx", "Excel");
	download(p, "csv", "CSV");
	download(p, "json", "JSON");
	html_out(p, "</p>");
}

static void header(struct page *p)
{
	const struct tb_report *r = p->r;
	char from[TB_DATE_LEN], to[TB_DATE_LEN], at[TB_TIME_LEN], n[48];

	html_out(p, "<header>");
	if (p->pg && p->pg->signout) {
		html_out(p, "<form class=\"out\" method=\"post\" action=\"");
		html_esc(p, p->pg->signout);
		html_out(p, "\"><button type=\"submit\">%s</button></form>",
			 T(p, "Đăng xuất", "Sign out"));
	}
	html_out(p, "<h1>");
	html_esc(p, p->en ? r->plan->name_en : r->plan->name_vi);
	html_out(p, "</h1>");
	crumbs(p);
	html_out(p, "<p class=\"meta\" id=\"scope\" data-unit=\"");
	html_esc(p, r->unit);
	html_out(p, "\" data-period=\"");
	html_esc(p, r->period.label);
	html_out(p, "\" data-units=\"%ld\">%s <b>", r->units,
		 T(p, "Kỳ:", "Period:"));
	html_esc(p, r->period.label);
	html_out(p, "</b> (%s – %s) · %s %s · %s %s (%s)</p>",
		 html_day(p, r->period.from, from), html_day(p, r->period.to, to),
		 html_int(p, r->units, n), T(p, "đơn vị", "units"),
		 T(p, "Lập lúc", "Made"), html_time(p, r->generated_at, at),
		 T(p, "giờ Việt Nam", "Vietnam time"));
	if (p->links)
		downloads(p);
	html_out(p, "</header>\n");
}

static void selector(struct page *p)
{
	const struct tb_report *r = p->r;
	const struct tb_plan_set *plans = p->pg ? p->pg->plans : NULL;
	int y, m, d;

	if (!plans)
		return;
	html_out(p, "<form class=\"sel\" method=\"get\" action=\"/\">"
		    "<label>%s<select name=\"plan\">", T(p, "Kế hoạch", "Plan"));
	for (size_t i = 0; i < plans->count; i++) {
		html_out(p, "<option value=\"");
		html_esc(p, plans->plans[i]->id);
		html_out(p, "\"%s>", plans->plans[i] == r->plan ? " selected" : "");
		html_esc(p, plans->plans[i]->id);
		html_out(p, "</option>");
	}
	html_out(p, "</select></label><label>%s<input name=\"unit\" size=\"18\""
		    " placeholder=\"%s\" value=\"",
		 T(p, "Đơn vị (tên hoặc mã)", "Unit (name or code)"),
		 T(p, "vd. da bac", "e.g. da bac"));
	html_esc(p, strcmp(r->unit, "all") ? r->unit : "");
	html_out(p, "\"></label><label>%s<input name=\"period\" size=\"18\" "
		    "list=\"periods\" value=\"", T(p, "Kỳ", "Period"));
	html_esc(p, r->period.label);
	html_out(p, "\"></label><datalist id=\"periods\">");
	tb_date_to_ymd(tb_date_of_time_vn(r->generated_at), &y, &m, &d);
	for (int yy = y; yy >= y - 1; yy--)
		html_out(p, "<option value=\"%d-H1\"><option value=\"%d-H2\">"
			    "<option value=\"%d\"><option value=\"action-month"
			    "-%d\"><option value=\"cumulative:%d-06-30\">"
			    "<option value=\"cumulative:%d-12-31\">",
			 yy, yy, yy, yy, yy, yy);
	html_out(p, "</datalist><button type=\"submit\">%s</button></form>\n",
		 T(p, "Xem", "Show"));
}

/* ---- indicators --------------------------------------------------------- */

static const char *unit_words(const struct page *p, enum tb_plan_unit u)
{
	if (!p->en)
		return tb_report_out_unit_vi(u);
	return u == TB_UNIT_COUNT ? "people reached"
	       : u == TB_UNIT_PERCENT_UNITS ? "% of units" : "%";
}

/* The units that have not reported, at most HTML_LIST_MAX of them. */
static void missing(struct page *p, const struct tb_report_row *w)
{
	char n[48];

	if (!w->nmissing)
		return;
	html_out(p, "<details><summary>%s (%s)</summary><p class=\"missing\">",
		 T(p, "Chưa báo cáo", "Not reported"),
		 html_int(p, (long long)w->nmissing, n));
	for (size_t i = 0; i < w->nmissing && i < HTML_LIST_MAX; i++) {
		html_out(p, "%s", i ? ", " : "");
		html_unit_link(p, w->missing[i],
			       tb_report_school_name(p->r, w->missing[i]));
	}
	if (w->nmissing > HTML_LIST_MAX)
		html_out(p, " … %s %s", T(p, "và", "and"),
			 html_int(p, (long long)(w->nmissing - HTML_LIST_MAX),
				  n));
	html_out(p, "</p></details>");
}

static void card_attrs(struct page *p, const struct tb_report_row *w)
{
	const struct tb_report_value *v = &w->v;
	const char *st = tb_report_status_name(v->status);
	char a[32];

	html_out(p, "<article class=\"ind %s\" data-id=\"", st);
	html_esc(p, w->ind->id);
	html_out(p, "\" data-status=\"%s\" data-value=\"%s\"", st,
		 v->has_value ? html_raw(v->value, a) : "");
	html_out(p, " data-cumulative=\"%s\"",
		 v->has_cumulative ? html_raw(v->cumulative, a) : "");
	html_out(p, " data-progress=\"%s\"",
		 v->has_progress ? html_raw(v->progress_pct, a) : "");
	html_out(p, " data-reported=\"%ld\" data-expected=\"%ld\">",
		 v->reported, v->expected);
}

static void card_nums(struct page *p, const struct tb_report_row *w)
{
	const struct tb_report_value *v = &w->v;
	const char *u = unit_words(p, w->ind->unit);
	char a[HTML_NUM_LEN], b[HTML_NUM_LEN];

	html_out(p, "<ul class=\"nums\"><li>%s: <b class=\"value\">%s</b> %s"
		    "</li>", T(p, "Kết quả kỳ", "This period"),
		 v->has_value ? html_num(p, v->value, a) : "—", u);
	if (w->ind->f.cumulative)
		html_out(p, "<li>%s: <b class=\"cumulative\">%s</b> %s</li>",
			 T(p, "Lũy kế", "Cumulative"),
			 v->has_cumulative ? html_num(p, v->cumulative, a) : "—",
			 u);
	if (v->target)
		html_out(p, "<li>%s %d: <span class=\"target\">%s %s</span> %s"
			    "</li>", T(p, "Mục tiêu", "Target"), v->target->year,
			 v->target->cmp == TB_CMP_GE ? "≥"
			 : v->target->cmp == TB_CMP_GT ? "&gt;"
						       : T(p, "khoảng", "about"),
			 html_num(p, v->target->value, a), u);
	if (v->target && w->ind->f.cumulative) /* pro-rated to the period */
		html_out(p, "<li>%s: <span class=\"expected-now\">%s</span></li>",
			 T(p, "Cần đạt đến cuối kỳ", "Due by the period's end"),
			 html_num(p, v->expected_now, b));
	if (v->has_progress)
		html_out(p, "<li>%s: <b class=\"progress\">%s%%</b></li>",
			 T(p, "Tiến độ", "Progress"),
			 html_num(p, v->progress_pct, a));
	html_out(p, "<li>%s: <b class=\"reported\">%ld</b>/<b class=\""
		    "expected\">%ld</b> %s</li><li><span class=\"badge\">%s"
		    "</span></li></ul>",
		 T(p, "Báo cáo", "Reported"), v->reported, v->expected,
		 T(p, "đơn vị", "units"), html_status(p, v->status));
}

static void indicator(struct page *p, size_t k)
{
	const struct tb_report_row *w = &p->r->rows[k];
	const struct tb_report_value *v = &w->v;
	char a[32], b[32];
	double width = v->has_progress ? v->progress_pct : 0;

	if (width > 100)
		width = 100;
	card_attrs(p, w);
	html_out(p, "<h3>");
	html_esc(p, w->ind->id);
	html_out(p, " · ");
	html_esc(p, p->en ? w->ind->name_en : w->ind->name_vi);
	html_out(p, "</h3><p class=\"en\">");
	html_esc(p, p->en ? w->ind->name_vi : w->ind->name_en);
	html_out(p, "</p><div class=\"bar\" title=\"%s%%\"><span style=\""
		    "width:%s%%\"></span></div>",
		 v->has_progress ? html_raw(v->progress_pct, a) : "0",
		 html_raw(width, b));
	card_nums(p, w);
	if (w->ind->f.reason) {
		html_out(p, "<p class=\"en\">");
		html_esc(p, w->ind->f.reason);
		html_out(p, "</p>");
	}
	if (w->npoints > 1)
		html_chart_series(p, w);
	if (p->r->ndistricts > 1 && w->ind->f.type != TB_F_NOT_COLLECTED)
		html_chart_districts(p, k);
	missing(p, w);
	html_out(p, "</article>\n");
}

/* ---- pages -------------------------------------------------------------- */

int tb_report_html(const struct tb_report *r, const struct tb_report_page *pg,
		   FILE *f)
{
	struct page p = {f, pg ? pg->en : 0, pg ? pg->links : 0, r, pg};
	char title[300];

	snprintf(title, sizeof(title), "%s · %s · %s", r->plan->id,
		 r->unit_name ? r->unit_name : r->unit, r->period.label);
	html_head(&p, title);
	header(&p);
	selector(&p);
	html_out(&p, "<section id=\"indicators\"><h2>%s</h2><div class=\"list\">"
		     "\n", T(&p, "Chỉ tiêu của kế hoạch", "The plan's indicators"));
	for (size_t k = 0; k < r->nrows; k++)
		indicator(&p, k);
	html_out(&p, "</div></section>\n");
	if (r->schools)
		html_completeness(&p);
	if (r->districts && strcmp(r->unit_type, "school") != 0 &&
	    strcmp(r->unit_type, "district") != 0)
		html_districts(&p);
	if (r->schools && strcmp(r->unit_type, "district") == 0)
		html_schools(&p);
	if (r->districts) {
		html_stale(&p);
		html_action_month(&p);
	}
	return html_finish(&p);
}

int tb_report_html_signin(FILE *f, int en, const char *action,
			  const char *message)
{
	struct page p = {f, en, 0, NULL, NULL};

	html_head(&p, T(&p, "tienbo · đăng nhập", "tienbo · sign in"));
	html_out(&p, "<header><h1>%s</h1></header>",
		 T(&p, "tienbo · Báo cáo kế hoạch bình đẳng giới",
		   "tienbo · Gender-equality plan reports"));
	if (message) {
		html_out(&p, "<p class=\"badge\" role=\"alert\">");
		html_esc(&p, message);
		html_out(&p, "</p>");
	}
	html_out(&p, "<form class=\"sel\" method=\"post\" action=\"");
	html_esc(&p, action);
	html_out(&p, "\"><label>%s<input type=\"password\" name=\"token\" "
		     "autocomplete=\"off\" required size=\"40\"></label><button "
		     "type=\"submit\">%s</button></form>\n",
		 T(&p, "Mã quản trị (admin token)", "Admin token"),
		 T(&p, "Đăng nhập", "Sign in"));
	return html_finish(&p);
}

int tb_report_html_message(FILE *f, int en, const char *title,
			   const char *message, const char *back)
{
	struct page p = {f, en, 0, NULL, NULL};

	html_head(&p, title);
	html_out(&p, "<header><h1>");
	html_esc(&p, title);
	html_out(&p, "</h1></header><p role=\"alert\">");
	html_esc(&p, message);
	html_out(&p, "</p><p><a href=\"");
	html_esc(&p, back ? back : "/");
	html_out(&p, "\">%s</a></p>\n", T(&p, "Quay lại", "Back"));
	return html_finish(&p);
}
