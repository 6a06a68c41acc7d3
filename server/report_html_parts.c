/* report_html_parts.c - the dashboard's sections below the indicators:
 * completeness and timeliness, the districts of a province, the schools
 * of a district, the stale units, the Action Month; and the page of a
 * unit search (see report_html.h). Tables carry class "rf": on a phone
 * each row reflows into a block whose cells are labelled (data-label),
 * so no column hides off the screen.
 */
#include "server/report_html_int.h"

#include <string.h>

#include "common/date.h"
#include "server/report_search.h"

/* A cell with its label for the reflowed layout. */
static void td(struct page *p, const char *cls, const char *label)
{
	html_out(p, "<td%s%s%s data-label=\"", cls ? " class=\"" : "",
		 cls ? cls : "", cls ? "\"" : "");
	html_esc(p, label);
	html_out(p, "\">");
}

/* A last sync as people read it; "never" for 0. */
static const char *sync_text(const struct page *p, int64_t t, char *buf)
{
	return t ? html_time(p, t, buf) : T(p, "chưa bao giờ", "never");
}

/* A head row from labels. */
static void thead(struct page *p, const char *const *labels, size_t n)
{
	html_out(p, "<table class=\"rf\"><thead><tr>");
	for (size_t i = 0; i < n; i++) {
		html_out(p, "<th>");
		html_esc(p, labels[i]);
		html_out(p, "</th>");
	}
	html_out(p, "</tr></thead><tbody>");
}

/* ---- completeness ------------------------------------------------------- */

static void compl_attrs(struct page *p, const struct tb_report_compl *c)
{
	char a[32], b[32];

	html_out(p, " data-expected=\"%ld\" data-reported=\"%ld\" data-on-time="
		    "\"%ld\" data-late=\"%ld\" data-missing=\"%ld\" data-closed="
		    "\"%ld\" data-reported-pct=\"%s\" data-on-time-pct=\"%s\"",
		 c->expected, c->reported, c->on_time, c->late, c->missing,
		 c->closed, c->has_rates ? html_raw(c->reported_pct, a) : "",
		 c->has_rates ? html_raw(c->on_time_pct, b) : "");
}

static void am_attrs(struct page *p, const struct tb_report_am *am)
{
	html_out(p, " data-activities=\"%lld\" data-parents=\"%lld\" "
		    "data-students=\"%lld\" data-teachers-staff=\"%lld\" "
		    "data-officials=\"%lld\" data-units-active=\"%ld\" "
		    "data-units=\"%ld\"",
		 (long long)am->activities, (long long)am->parents,
		 (long long)am->students, (long long)am->teachers_staff,
		 (long long)am->officials, am->units_active, am->units);
}

/* A district's row: its code, the figures of c or am in data-*, and its
 * name, linked, in the first cell (labelled label). */
static void district_tr(struct page *p, size_t j, const char *label,
			const struct tb_report_compl *c,
			const struct tb_report_am *am)
{
	const struct tb_report_district *d = &p->r->districts[j];

	html_out(p, "<tr data-district=\"");
	html_esc(p, d->code);
	html_out(p, "\"");
	if (c)
		compl_attrs(p, c);
	if (am)
		am_attrs(p, am);
	html_out(p, ">");
	td(p, NULL, label);
	html_unit_link(p, d->code, d->name);
	html_out(p, "</td>");
}

static void compl_cards(struct page *p, const struct tb_report_compl *c)
{
	char n[6][HTML_NUM_LEN], a[HTML_NUM_LEN], b[HTML_NUM_LEN];

	html_out(p, "<div class=\"cards\"><div>%s<b>%s</b></div><div>%s<b>%s"
		    "</b>%s%s%s</div><div>%s<b>%s</b>%s%s%s</div>",
		 T(p, "Phải báo cáo", "Expected"), html_int(p, c->expected, n[0]),
		 T(p, "Đã báo cáo", "Reported"), html_int(p, c->reported, n[1]),
		 c->has_rates ? "<span class=\"pct\">" : "",
		 c->has_rates ? html_num(p, c->reported_pct, a) : "",
		 c->has_rates ? "%</span>" : "",
		 T(p, "Đúng hạn", "On time"), html_int(p, c->on_time, n[2]),
		 c->has_rates ? "<span class=\"pct\">" : "",
		 c->has_rates ? html_num(p, c->on_time_pct, b) : "",
		 c->has_rates ? "%</span>" : "");
	html_out(p, "<div>%s<b>%s</b></div><div>%s<b>%s</b></div><div>%s<b>%s"
		    "</b></div></div>",
		 T(p, "Muộn", "Late"), html_int(p, c->late, n[3]),
		 T(p, "Chưa báo cáo", "Not reported"), html_int(p, c->missing, n[4]),
		 T(p, "Đã đóng", "Closed"), html_int(p, c->closed, n[5]));
}

static void compl_districts(struct page *p)
{
	const struct tb_report *r = p->r;
	const char *const head[] = {
		T(p, "Huyện", "District"), T(p, "Phải BC", "Expected"),
		T(p, "Đã BC", "Reported"), T(p, "% đã BC", "% reported"),
		T(p, "Đúng hạn", "On time"), T(p, "% đúng hạn", "% on time"),
		T(p, "Muộn", "Late"), T(p, "Chưa BC", "Not reported")};
	char n[6][HTML_NUM_LEN];

	thead(p, head, 8);
	for (size_t j = 0; j < r->ndistricts; j++) {
		const struct tb_report_compl *c = &r->districts[j].compl;

		district_tr(p, j, head[0], c, NULL);
		td(p, "n", head[1]);
		html_out(p, "%s</td>", html_int(p, c->expected, n[0]));
		td(p, "n", head[2]);
		html_out(p, "%s</td>", html_int(p, c->reported, n[1]));
		td(p, "n", head[3]);
		html_out(p, "%s</td>", c->has_rates
			 ? html_num(p, c->reported_pct, n[2]) : "—");
		td(p, "n", head[4]);
		html_out(p, "%s</td>", html_int(p, c->on_time, n[3]));
		td(p, "n", head[5]);
		html_out(p, "%s</td>", c->has_rates
			 ? html_num(p, c->on_time_pct, n[4]) : "—");
		td(p, "n", head[6]);
		html_out(p, "%ld</td>", c->late);
		td(p, "n", head[7]);
		html_out(p, "%s</td></tr>", html_int(p, c->missing, n[5]));
	}
	html_out(p, "</tbody></table>");
}

/* The schools in state s (or, want_late, late ones) named, linked. */
static void compl_list(struct page *p, enum tb_report_unit_state s,
		       const char *title)
{
	const struct tb_report *r = p->r;
	size_t n = 0, shown = 0;
	char at[TB_TIME_LEN], c[HTML_NUM_LEN];

	for (size_t i = 0; i < r->nschools; i++)
		n += r->schools[i].state == s;
	if (!n)
		return;
	html_out(p, "<details class=\"%s\"%s><summary>%s (%s)</summary><ul "
		    "data-state=\"%s\">",
		 tb_report_unit_state_name(s), n <= 20 ? " open" : "", title,
		 html_int(p, (long long)n, c), tb_report_unit_state_name(s));
	for (size_t i = 0; i < r->nschools && shown < HTML_LIST_MAX; i++) {
		const struct tb_report_school *u = &r->schools[i];

		if (u->state != s)
			continue;
		shown++;
		html_out(p, "<li data-code=\"");
		html_esc(p, u->code);
		html_out(p, "\">");
		html_unit_link(p, u->code, u->name);
		html_out(p, " (");
		html_esc(p, u->code);
		html_out(p, ", ");
		html_esc(p, r->districts[u->district].name);
		if (s == TB_US_LATE)
			html_out(p, ") · %s %s</li>", T(p, "gửi lúc", "sent"),
				 html_time(p, u->first_received, at));
		else
			html_out(p, ") · %s %s</li>",
				 T(p, "đồng bộ lần cuối", "last sync"),
				 sync_text(p, u->last_sync, at));
	}
	if (n > shown)
		html_out(p, "<li>… %s %s</li>", T(p, "và", "and"),
			 html_int(p, (long long)(n - shown), c));
	html_out(p, "</ul></details>");
}

void html_completeness(struct page *p)
{
	const struct tb_report *r = p->r;
	char d[TB_DATE_LEN];

	html_out(p, "<section id=\"completeness\"");
	compl_attrs(p, &r->compl);
	html_out(p, " data-deadline=\"%s\" data-due=\"%d\"><h2>%s</h2><p>",
		 tb_date_format(r->deadline, d), r->due,
		 T(p, "Tính đầy đủ và đúng hạn", "Completeness and timeliness"));
	html_out(p, T(p, "Hạn gửi số liệu của kỳ: <b>%s</b> (%d ngày sau khi kỳ "
			 "kết thúc)%s. Đơn vị đã báo cáo là đơn vị có số liệu "
			 "ghi ngày trong kỳ; đúng hạn nếu số liệu đầu tiên "
			 "đến máy chủ trước hạn.",
		      "Deadline for the period's data: <b>%s</b> (%d days after "
		      "the period ends)%s. A unit reported if it has data dated "
		      "in the period; on time if the first of it reached the "
		      "server by the deadline."),
		 html_day(p, r->deadline, d), r->ontime_days,
		 r->due ? "" : T(p, " · chưa đến hạn", " · not yet due"));
	html_out(p, "</p>");
	compl_cards(p, &r->compl);
	if (r->ndistricts > 1)
		compl_districts(p);
	compl_list(p, TB_US_MISSING, T(p, "Chưa báo cáo", "Not reported"));
	compl_list(p, TB_US_PENDING, T(p, "Chưa gửi (chưa đến hạn)",
				       "Not sent yet (not due)"));
	compl_list(p, TB_US_LATE, T(p, "Báo cáo muộn", "Reported late"));
	compl_list(p, TB_US_CLOSED, T(p, "Đã đóng", "Closed"));
	html_out(p, "</section>\n");
}

/* ---- districts and schools ---------------------------------------------- */

static void district_row(struct page *p, const struct tb_report_district *d,
			 size_t k, const char *const *head)
{
	const struct tb_report_row *w = &p->r->rows[k];
	const struct tb_report_value *v = &d->v[k];
	char a[32], b[32], c[32], n[3][HTML_NUM_LEN];

	html_out(p, "<tr class=\"%s\" data-id=\"",
		 tb_report_status_name(v->status));
	html_esc(p, w->ind->id);
	html_out(p, "\" data-value=\"%s\" data-cumulative=\"%s\" "
		    "data-progress=\"%s\" data-reported=\"%ld\" "
		    "data-expected=\"%ld\">",
		 v->has_value ? html_raw(v->value, a) : "",
		 v->has_cumulative ? html_raw(v->cumulative, b) : "",
		 v->has_progress ? html_raw(v->progress_pct, c) : "",
		 v->reported, v->expected);
	td(p, NULL, head[0]);
	html_esc(p, w->ind->id);
	html_out(p, "</td>");
	td(p, "n", head[1]);
	html_out(p, "%s</td>", v->has_value ? html_num(p, v->value, n[0]) : "—");
	td(p, "n", head[2]);
	html_out(p, "%s</td>",
		 v->has_cumulative ? html_num(p, v->cumulative, n[1]) : "");
	td(p, "n", head[3]);
	html_out(p, "%s%s</td>",
		 v->has_progress ? html_num(p, v->progress_pct, n[2]) : "",
		 v->has_progress ? "%" : "");
	td(p, "s", head[4]);
	html_out(p, "%s</td>", html_status(p, v->status));
	td(p, "n", head[5]);
	html_out(p, "%ld/%ld</td></tr>", v->reported, v->expected);
}

void html_districts(struct page *p)
{
	const struct tb_report *r = p->r;
	const char *const head[] = {
		T(p, "Chỉ tiêu", "Indicator"), T(p, "Kết quả kỳ", "This period"),
		T(p, "Lũy kế", "Cumulative"), T(p, "Tiến độ", "Progress"),
		T(p, "Đánh giá", "Assessment"), T(p, "Báo cáo", "Reported")};
	char n[HTML_NUM_LEN];

	html_out(p, "<section id=\"districts\"><h2>%s</h2>\n",
		 T(p, "Theo huyện", "By district"));
	for (size_t j = 0; j < r->ndistricts; j++) {
		const struct tb_report_district *d = &r->districts[j];

		html_out(p, "<div class=\"dist\"><h3>");
		html_unit_link(p, d->code, d->name);
		html_out(p, " · %s %s</h3>", html_int(p, d->units, n),
			 T(p, "đơn vị", "units"));
		html_out(p, "<table class=\"rf\" data-district=\"");
		html_esc(p, d->code);
		html_out(p, "\"><thead><tr>");
		for (size_t i = 0; i < 6; i++)
			html_out(p, "<th>%s</th>", head[i]);
		html_out(p, "</tr></thead><tbody>");
		for (size_t k = 0; k < r->nrows; k++)
			district_row(p, d, k, head);
		html_out(p, "</tbody></table></div>\n");
	}
	html_out(p, "</section>\n");
}

void html_schools(struct page *p)
{
	const struct tb_report *r = p->r;
	const char *const head[] = {
		T(p, "Trường", "School"), T(p, "Mã", "Code"),
		T(p, "Cấp", "Level"), T(p, "Tình trạng kỳ này", "This period"),
		T(p, "Số liệu trong kỳ", "Records in period"),
		T(p, "Đồng bộ lần cuối", "Last sync")};
	char at[TB_TIME_LEN], n[HTML_NUM_LEN];

	html_out(p, "<section id=\"schools\"><h2>%s (%s)</h2>",
		 T(p, "Các trường", "Schools"),
		 html_int(p, (long long)r->nschools, n));
	thead(p, head, 6);
	for (size_t i = 0; i < r->nschools; i++) {
		const struct tb_report_school *s = &r->schools[i];

		html_out(p, "<tr class=\"%s\" data-code=\"",
			 tb_report_unit_state_name(s->state));
		html_esc(p, s->code);
		html_out(p, "\" data-state=\"%s\" data-events=\"%ld\">",
			 tb_report_unit_state_name(s->state), s->events);
		td(p, NULL, head[0]);
		html_unit_link(p, s->code, s->name);
		html_out(p, "</td>");
		td(p, NULL, head[1]);
		html_esc(p, s->code);
		html_out(p, "</td>");
		td(p, NULL, head[2]);
		html_esc(p, s->level ? s->level : "");
		html_out(p, "</td>");
		td(p, NULL, head[3]);
		html_out(p, "<span class=\"badge\">%s</span></td>",
			 html_state(p, s->state));
		td(p, "n", head[4]);
		html_out(p, "%s</td>", html_int(p, s->events, n));
		td(p, NULL, head[5]);
		html_out(p, "%s</td></tr>", sync_text(p, s->last_sync, at));
	}
	html_out(p, "</tbody></table></section>\n");
}

/* ---- stale units and the Action Month ----------------------------------- */

void html_stale(struct page *p)
{
	const struct tb_report *r = p->r;
	const char *const head[] = {
		T(p, "Mã", "Code"), T(p, "Tên", "Name"),
		T(p, "Huyện", "District"),
		T(p, "Đồng bộ lần cuối", "Last sync")};
	char at[TB_TIME_LEN];

	html_out(p, "<section id=\"stale\"><h2>%s %d %s (<span class=\"count\">"
		    "%zu</span>)</h2>",
		 T(p, "Đơn vị chưa đồng bộ quá", "Units not synced for over"),
		 r->stale_days, T(p, "ngày", "days"), r->nstale);
	if (!r->nstale) {
		html_out(p, "<p>%s</p></section>\n", T(p, "Không có.", "None."));
		return;
	}
	thead(p, head, 4);
	for (size_t i = 0; i < r->nstale; i++) {
		const struct tb_report_stale *s = &r->stale[i];

		html_out(p, "<tr data-code=\"");
		html_esc(p, s->code);
		html_out(p, "\">");
		td(p, NULL, head[0]);
		html_esc(p, s->code);
		html_out(p, "</td>");
		td(p, NULL, head[1]);
		html_unit_link(p, s->code, s->name);
		html_out(p, "</td>");
		td(p, NULL, head[2]);
		html_esc(p, tb_report_district_name(r, s->district)
			     ? tb_report_district_name(r, s->district)
			     : s->district);
		html_out(p, "</td>");
		td(p, NULL, head[3]);
		html_out(p, "%s</td></tr>", sync_text(p, s->last_sync, at));
	}
	html_out(p, "</tbody></table></section>\n");
}

void html_action_month(struct page *p)
{
	const struct tb_report *r = p->r;
	const struct tb_report_am *am = &r->am;
	const char *const head[] = {
		T(p, "Huyện", "District"), T(p, "Hoạt động", "Activities"),
		T(p, "Phụ huynh", "Parents"), T(p, "Học sinh", "Students"),
		T(p, "Giáo viên, NV", "Teachers, staff"),
		T(p, "Cán bộ", "Officials"), T(p, "Đơn vị", "Units")};
	const long long v[5] = {am->activities, am->parents, am->students,
				am->teachers_staff, am->officials};
	char from[TB_DATE_LEN], to[TB_DATE_LEN], n[HTML_NUM_LEN];

	html_out(p, "<section id=\"action-month\" data-year=\"%d\"", am->year);
	am_attrs(p, am);
	html_out(p, "><h2>%s %d (%s – %s)</h2><p>%s</p><div class=\"cards\">",
		 T(p, "Tháng hành động vì bình đẳng giới",
		   "Action Month for gender equality"),
		 am->year, html_day(p, am->from, from), html_day(p, am->to, to),
		 T(p, "Mọi hoạt động tổ chức trong Tháng: loại “Tháng hành "
		      "động” và các hoạt động truyền thông có dịp là Tháng "
		      "hành động.",
		   "Every activity held in the Month: the Action Month kind "
		   "and outreach events whose occasion is the Action Month."));
	for (int i = 0; i < 5; i++)
		html_out(p, "<div>%s<b>%s</b></div>", head[i + 1],
			 html_int(p, v[i], n));
	html_out(p, "<div>%s<b>%ld/%ld</b></div></div>",
		 T(p, "Đơn vị có hoạt động", "Units active"), am->units_active,
		 am->units);
	if (r->ndistricts < 2) {
		html_out(p, "</section>\n");
		return;
	}
	thead(p, head, 7);
	for (size_t j = 0; j < r->ndistricts; j++) {
		const struct tb_report_am *d = &r->districts[j].am;
		const long long dv[5] = {d->activities, d->parents, d->students,
					 d->teachers_staff, d->officials};

		district_tr(p, j, head[0], NULL, d);
		for (int i = 0; i < 5; i++) {
			td(p, "n", head[i + 1]);
			html_out(p, "%s</td>", html_int(p, dv[i], n));
		}
		td(p, "n", head[6]);
		html_out(p, "%ld/%ld</td></tr>", d->units_active, d->units);
	}
	html_out(p, "</tbody></table></section>\n");
}

/* ---- search ------------------------------------------------------------- */

static const char *type_words(const struct page *p, const char *t)
{
	return strcmp(t, "province") == 0   ? T(p, "Tỉnh", "Province")
	       : strcmp(t, "district") == 0 ? T(p, "Huyện", "District")
					    : T(p, "Trường", "School");
}

int tb_report_html_search(FILE *f, const struct tb_report_page *pg,
			  const char *query, const struct tb_unit_hits *hits,
			  const char *plan, const char *period)
{
	struct page p = {f, pg ? pg->en : 0, 1, NULL, pg};
	char n[HTML_NUM_LEN];

	html_head(&p, T(&p, "Tìm đơn vị", "Find a unit"));
	html_out(&p, "<header><h1>%s “", T(&p, "Tìm đơn vị", "Find a unit"));
	html_esc(&p, query);
	html_out(&p, "”</h1></header><form class=\"sel\" method=\"get\" "
		     "action=\"/\"><input type=\"hidden\" name=\"plan\" value=\"");
	html_esc(&p, plan);
	html_out(&p, "\"><input type=\"hidden\" name=\"period\" value=\"");
	html_esc(&p, period);
	html_out(&p, "\"><label>%s<input name=\"unit\" value=\"",
		 T(&p, "Tên hoặc mã", "Name or code"));
	html_esc(&p, query);
	html_out(&p, "\"></label><button type=\"submit\">%s</button></form>",
		 T(&p, "Tìm", "Search"));
	if (!hits || !hits->n) {
		html_out(&p, "<p role=\"alert\">%s</p>",
			 T(&p, "Không có đơn vị nào có tên hoặc mã như vậy. Có "
			       "thể gõ không dấu, ví dụ “da bac”.",
			   "No unit has such a name or code. Diacritics may "
			   "be left out, e.g. “da bac”."));
		return html_finish(&p);
	}
	html_out(&p, "<p>%s %s</p><ul id=\"hits\">",
		 T(&p, "Tìm thấy", "Found"),
		 html_int(&p, (long long)hits->n + (long long)hits->more, n));
	for (size_t i = 0; i < hits->n; i++) {
		const struct tb_unit_hit *h = &hits->hit[i];

		html_out(&p, "<li data-code=\"");
		html_esc(&p, h->code);
		html_out(&p, "\">%s: <a href=\"/?plan=", type_words(&p, h->type));
		html_esc(&p, plan);
		html_out(&p, "&amp;period=");
		html_esc(&p, period);
		html_out(&p, "&amp;unit=");
		html_esc(&p, h->code);
		html_out(&p, "\">");
		html_esc(&p, h->name);
		html_out(&p, "</a> (");
		html_esc(&p, h->code);
		if (h->district_name) {
			html_out(&p, ", ");
			html_esc(&p, h->district_name);
		}
		html_out(&p, ")</li>");
	}
	if (hits->more)
		html_out(&p, "<li>… %s %s</li>", T(&p, "và", "and"),
			 html_int(&p, (long long)hits->more, n));
	html_out(&p, "</ul>");
	return html_finish(&p);
}
