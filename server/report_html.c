/* report_html.c - the dashboard page and the sign-in page (see
 * report_html.h). Written straight to a FILE (an open_memstream buffer
 * for HTTP); an I/O error is checked once at the end with ferror.
 */
#include "server/report_html.h"

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
	".meta{color:#444;font-size:.9rem;margin:0}"
	"form.sel{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;"
	"margin:12px 0}form.sel label{display:flex;flex-direction:column;"
	"font-size:.8rem;color:#444}"
	"input,select,button{font:inherit;padding:6px 8px;border:1px solid #99a;"
	"border-radius:6px;background:#fff}button{background:#6a1b9a;color:#fff;"
	"border-color:#6a1b9a;cursor:pointer}"
	".out{float:right;margin-top:-4px}.out button{background:#fff;"
	"color:#6a1b9a}"
	".ind{background:#fff;border:1px solid #dfe1e6;border-left:6px solid "
	"#9aa0a6;border-radius:8px;padding:10px 12px;margin:0 0 10px}"
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
	".on_track .badge{background:#e8f5e9;color:#1b5e20}.behind .badge{"
	"background:#fbe9e7;color:#bf360c}"
	"details{font-size:.83rem;margin-top:4px}"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
	"table{border-collapse:collapse;width:100%;background:#fff;"
	"font-size:.84rem;margin-bottom:12px}"
	"th,td{border:1px solid #dfe1e6;padding:4px 6px;text-align:left;"
	"vertical-align:top}th{background:#f0f1f4}td.n{text-align:right;"
	"white-space:nowrap}"
	"tr.on_track td.s{color:#1b5e20}tr.behind td.s{color:#bf360c}"
	".am{display:flex;flex-wrap:wrap;gap:8px}.am div{background:#fff;"
	"border:1px solid #dfe1e6;border-radius:8px;padding:8px 12px;"
	"min-width:130px}.am b{display:block;font-size:1.3rem}"
	"footer{margin-top:24px;color:#666;font-size:.8rem}"
	"@media(min-width:900px){#indicators .list{display:grid;"
	"grid-template-columns:1fr 1fr;gap:0 12px}}";

/* Missing units listed per indicator on the page; the rest are counted
 * (a province can have thousands). */
#define HTML_MISSING_MAX 200

struct page {
	FILE *f;
};

static void out(struct page *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out(struct page *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

/* Text escaped for HTML content and double-quoted attributes. */
static void esc(struct page *p, const char *s)
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

static const char *num(double v, char *buf)
{
	return tb_report_out_num(v, buf, 32);
}

static void head(struct page *p, const char *title)
{
	out(p, "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
	       "<meta name=\"viewport\" content=\"width=device-width, "
	       "initial-scale=1\"><title>");
	esc(p, title);
	out(p, "</title><style>%s</style></head>\n<body>\n", css);
}

static int finish(struct page *p)
{
	out(p, "<footer>tienbo · tiến bộ</footer>\n</body></html>\n");
	return ferror(p->f) ? TB_EIO : TB_OK;
}

/* ---- the report ---------------------------------------------------------- */

static void header(struct page *p, const struct tb_report *r,
		   const struct tb_report_page *pg)
{
	char from[TB_DATE_LEN], to[TB_DATE_LEN], at[TB_TIME_LEN];

	out(p, "<header>");
	if (pg && pg->signout) {
		out(p, "<form class=\"out\" method=\"post\" action=\"");
		esc(p, pg->signout);
		out(p, "\"><button type=\"submit\">Đăng xuất</button></form>");
	}
	out(p, "<h1>");
	esc(p, r->plan->name_vi);
	out(p, "</h1><p class=\"meta\" id=\"scope\" data-unit=\"");
	esc(p, r->unit);
	out(p, "\" data-period=\"");
	esc(p, r->period.label);
	out(p, "\">Đơn vị: <b>");
	esc(p, r->unit_name ? r->unit_name : "Tất cả đơn vị");
	out(p, "</b> (");
	esc(p, r->unit);
	out(p, ", %ld đơn vị) · Kỳ: <b>", r->units);
	esc(p, r->period.label);
	out(p, "</b> (%s – %s) · Lập lúc %s</p></header>\n",
	    tb_date_format(r->period.from, from),
	    tb_date_format(r->period.to, to),
	    tb_time_format(r->generated_at, at));
}

static void selector(struct page *p, const struct tb_report *r,
		     const struct tb_report_page *pg)
{
	int y, m, d;

	if (!pg || !pg->plans)
		return;
	out(p, "<form class=\"sel\" method=\"get\" action=\"/\">"
	       "<label>Kế hoạch<select name=\"plan\">");
	for (size_t i = 0; i < pg->plans->count; i++) {
		const struct tb_plan *pl = pg->plans->plans[i];

		out(p, "<option value=\"");
		esc(p, pl->id);
		out(p, "\"%s>", pl == r->plan ? " selected" : "");
		esc(p, pl->id);
		out(p, "</option>");
	}
	out(p, "</select></label><label>Đơn vị (mã)<input name=\"unit\" "
	       "size=\"10\" value=\"");
	esc(p, r->unit);
	out(p, "\"></label><label>Kỳ<input name=\"period\" size=\"18\" "
	       "list=\"periods\" value=\"");
	esc(p, r->period.label);
	out(p, "\"></label><datalist id=\"periods\">");
	tb_date_to_ymd(r->generated_at / 86400, &y, &m, &d);
	for (int yy = y; yy >= y - 1; yy--)
		out(p, "<option value=\"%d-H1\"><option value=\"%d-H2\">"
		       "<option value=\"%d\"><option value=\"action-month-%d\">"
		       "<option value=\"cumulative:%d-06-30\">"
		       "<option value=\"cumulative:%d-12-31\">",
		    yy, yy, yy, yy, yy, yy);
	out(p, "</datalist><button type=\"submit\">Xem</button></form>\n");
}

/* The units that have not reported, at most HTML_MISSING_MAX of them. */
static void missing(struct page *p, const struct tb_report_row *w)
{
	if (!w->nmissing)
		return;
	out(p, "<details><summary>Chưa báo cáo (%zu)</summary><p "
	       "class=\"missing\">", w->nmissing);
	for (size_t i = 0; i < w->nmissing && i < HTML_MISSING_MAX; i++) {
		out(p, "%s", i ? " " : "");
		esc(p, w->missing[i]);
	}
	if (w->nmissing > HTML_MISSING_MAX)
		out(p, " … và %zu đơn vị khác (xem JSON/CSV)",
		    w->nmissing - HTML_MISSING_MAX);
	out(p, "</p></details>");
}

static void indicator(struct page *p, const struct tb_report_row *w)
{
	const struct tb_report_value *v = &w->v;
	const char *st = tb_report_status_name(v->status);
	const char *u = tb_report_out_unit_vi(w->ind->unit);
	char a[32], b[32];
	double width = v->has_progress ? v->progress_pct : 0;

	if (width > 100)
		width = 100;
	out(p, "<article class=\"ind %s\" data-id=\"", st);
	esc(p, w->ind->id);
	out(p, "\" data-status=\"%s\" data-value=\"%s\"", st,
	    v->has_value ? num(v->value, a) : "");
	out(p, " data-cumulative=\"%s\"",
	    v->has_cumulative ? num(v->cumulative, a) : "");
	out(p, " data-progress=\"%s\" data-reported=\"%ld\" "
	       "data-expected=\"%ld\"><h3>",
	    v->has_progress ? num(v->progress_pct, b) : "", v->reported,
	    v->expected);
	esc(p, w->ind->id);
	out(p, " · ");
	esc(p, w->ind->name_vi);
	out(p, "</h3><p class=\"en\">");
	esc(p, w->ind->name_en);
	out(p, "</p><div class=\"bar\" title=\"%s%%\"><span style=\"width:%s%%\">"
	       "</span></div><ul class=\"nums\">",
	    v->has_progress ? num(v->progress_pct, a) : "0", num(width, b));
	out(p, "<li>Kết quả kỳ: <b class=\"value\">%s</b> %s</li>",
	    v->has_value ? num(v->value, a) : "—", u);
	if (w->ind->f.cumulative)
		out(p, "<li>Lũy kế: <b class=\"cumulative\">%s</b> %s</li>",
		    v->has_cumulative ? num(v->cumulative, a) : "—", u);
	if (v->target)
		out(p, "<li>Mục tiêu %d: %s %s %s</li>", v->target->year,
		    v->target->cmp == TB_CMP_GE ? "≥"
		    : v->target->cmp == TB_CMP_GT ? "&gt;" : "khoảng",
		    num(v->target->value, a), u);
	if (v->target && w->ind->f.cumulative) /* pro-rated to the period */
		out(p, "<li>Cần đạt đến cuối kỳ: %s</li>",
		    num(v->expected_now, b));
	if (v->has_progress)
		out(p, "<li>Tiến độ: <b class=\"progress\">%s%%</b></li>",
		    num(v->progress_pct, a));
	out(p, "<li>Báo cáo: <b class=\"reported\">%ld</b>/<b "
	       "class=\"expected\">%ld</b> đơn vị</li><li><span class=\"badge\">"
	       "%s</span></li></ul>",
	    v->reported, v->expected, tb_report_out_status_vi(v->status));
	if (w->ind->f.reason) {
		out(p, "<p class=\"en\">");
		esc(p, w->ind->f.reason);
		out(p, "</p>");
	}
	missing(p, w);
	out(p, "</article>\n");
}

static void district(struct page *p, const struct tb_report *r,
		     const struct tb_report_district *d)
{
	char a[32], b[32];

	out(p, "<h3>");
	esc(p, d->name);
	out(p, " (");
	esc(p, d->code);
	out(p, ") · %ld đơn vị</h3><div class=\"scroll\"><table "
	       "data-district=\"", d->units);
	esc(p, d->code);
	out(p, "\"><thead><tr><th>Chỉ tiêu</th><th>Kết quả kỳ</th><th>Lũy kế"
	       "</th><th>Tiến độ</th><th>Đánh giá</th><th>Báo cáo</th></tr>"
	       "</thead><tbody>");
	for (size_t k = 0; k < r->nrows; k++) {
		const struct tb_report_value *v = &d->v[k];

		out(p, "<tr class=\"%s\" data-id=\"",
		    tb_report_status_name(v->status));
		esc(p, r->rows[k].ind->id);
		out(p, "\" data-value=\"%s\"><td>",
		    v->has_value ? num(v->value, a) : "");
		esc(p, r->rows[k].ind->id);
		out(p, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
		       "<td class=\"n\">%s%s</td><td class=\"s\">%s</td>"
		       "<td class=\"n\">%ld/%ld</td></tr>",
		    v->has_value ? num(v->value, a) : "—",
		    v->has_cumulative ? num(v->cumulative, b) : "",
		    v->has_progress ? num(v->progress_pct, a) : "",
		    v->has_progress ? "%" : "",
		    tb_report_out_status_vi(v->status), v->reported,
		    v->expected);
	}
	out(p, "</tbody></table></div>\n");
}

static void stale(struct page *p, const struct tb_report *r)
{
	char at[TB_TIME_LEN];

	out(p, "<section id=\"stale\"><h2>Đơn vị chưa đồng bộ quá %d ngày "
	       "(<span class=\"count\">%zu</span>)</h2>",
	    r->stale_days, r->nstale);
	if (!r->nstale) {
		out(p, "<p>Không có.</p></section>\n");
		return;
	}
	out(p, "<div class=\"scroll\"><table><thead><tr><th>Mã</th><th>Tên"
	       "</th><th>Huyện</th><th>Đồng bộ lần cuối</th></tr></thead>"
	       "<tbody>");
	for (size_t i = 0; i < r->nstale; i++) {
		const struct tb_report_stale *s = &r->stale[i];

		out(p, "<tr data-code=\"");
		esc(p, s->code);
		out(p, "\"><td>");
		esc(p, s->code);
		out(p, "</td><td>");
		esc(p, s->name);
		out(p, "</td><td>");
		esc(p, s->district);
		out(p, "</td><td>%s</td></tr>",
		    s->last_sync ? tb_time_format(s->last_sync, at)
				 : "chưa bao giờ");
	}
	out(p, "</tbody></table></div></section>\n");
}

static void am_cells(struct page *p, const struct tb_report_am *am)
{
	out(p, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
	       "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
	       "<td class=\"n\">%lld</td><td class=\"n\">%ld/%ld</td>",
	    (long long)am->activities, (long long)am->parents,
	    (long long)am->students, (long long)am->teachers_staff,
	    (long long)am->officials, am->units_active, am->units);
}

static void action_month(struct page *p, const struct tb_report *r)
{
	const struct tb_report_am *am = &r->am;
	char from[TB_DATE_LEN], to[TB_DATE_LEN];

	out(p, "<section id=\"action-month\" data-year=\"%d\" "
	       "data-activities=\"%lld\" data-parents=\"%lld\"><h2>Tháng hành "
	       "động vì bình đẳng giới %d (%s – %s)</h2><div class=\"am\">",
	    am->year, (long long)am->activities, (long long)am->parents,
	    am->year, tb_date_format(am->from, from), tb_date_format(am->to, to));
	out(p, "<div>Hoạt động<b>%lld</b></div><div>Lượt phụ huynh<b>%lld</b>"
	       "</div><div>Lượt học sinh<b>%lld</b></div><div>Lượt giáo viên, "
	       "nhân viên<b>%lld</b></div><div>Lượt cán bộ địa phương<b>%lld"
	       "</b></div><div>Đơn vị có hoạt động<b>%ld/%ld</b></div></div>",
	    (long long)am->activities, (long long)am->parents,
	    (long long)am->students, (long long)am->teachers_staff,
	    (long long)am->officials, am->units_active, am->units);
	out(p, "<div class=\"scroll\"><table><thead><tr><th>Huyện</th>"
	       "<th>Hoạt động</th><th>Phụ huynh</th><th>Học sinh</th>"
	       "<th>Giáo viên, NV</th><th>Cán bộ</th><th>Đơn vị</th></tr>"
	       "</thead><tbody>");
	for (size_t j = 0; j < r->ndistricts; j++) {
		out(p, "<tr><td>");
		esc(p, r->districts[j].name);
		out(p, "</td>");
		am_cells(p, &r->districts[j].am);
		out(p, "</tr>");
	}
	out(p, "</tbody></table></div></section>\n");
}

int tb_report_html(const struct tb_report *r, const struct tb_report_page *pg,
		   FILE *f)
{
	struct page p = {f};
	char title[256];

	snprintf(title, sizeof(title), "%s · %s · %s", r->plan->id, r->unit,
		 r->period.label);
	head(&p, title);
	header(&p, r, pg);
	selector(&p, r, pg);
	out(&p, "<section id=\"indicators\"><h2>Chỉ tiêu của kế hoạch</h2>"
		"<div class=\"list\">\n");
	for (size_t k = 0; k < r->nrows; k++)
		indicator(&p, &r->rows[k]);
	out(&p, "</div></section>\n");
	if (r->districts) {
		out(&p, "<section id=\"districts\"><h2>Theo huyện</h2>\n");
		for (size_t j = 0; j < r->ndistricts; j++)
			district(&p, r, &r->districts[j]);
		out(&p, "</section>\n");
		stale(&p, r);
		action_month(&p, r);
	}
	return finish(&p);
}

int tb_report_html_signin(FILE *f, const char *action, const char *message)
{
	struct page p = {f};

	head(&p, "tienbo · đăng nhập");
	out(&p, "<header><h1>tienbo · Báo cáo kế hoạch bình đẳng giới</h1>"
		"</header>");
	if (message) {
		out(&p, "<p class=\"badge\" role=\"alert\">");
		esc(&p, message);
		out(&p, "</p>");
	}
	out(&p, "<form class=\"sel\" method=\"post\" action=\"");
	esc(&p, action);
	out(&p, "\"><label>Mã quản trị (admin token)<input type=\"password\" "
		"name=\"token\" autocomplete=\"off\" required size=\"40\">"
		"</label><button type=\"submit\">Đăng nhập</button></form>\n");
	return finish(&p);
}

int tb_report_html_message(FILE *f, const char *title, const char *message)
{
	struct page p = {f};

	head(&p, title);
	out(&p, "<header><h1>");
	esc(&p, title);
	out(&p, "</h1></header><p>");
	esc(&p, message);
	out(&p, "</p><p><a href=\"/\">Quay lại</a></p>\n");
	return finish(&p);
}
