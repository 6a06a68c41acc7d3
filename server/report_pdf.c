/* report_pdf.c - the printed report as a PDF (the page is drawn in
 * report_pdf.h): what goes where; server/pdf.c draws it.
 *
 * Called by tb_report_write (report_out.c). Nothing here computes: every
 * number comes from the report, rounded by tb_report_out_num as in the
 * other outputs, then written with a decimal comma and a thousands dot.
 */
#include "server/report_pdf.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/pdf.h"
#include "server/report_out.h"

#define TZ_OFFSET (7 * 3600) /* Asia/Ho_Chi_Minh, no DST */
#define MM(x) TB_PDF_MM(x)
#define INDENT MM(10.0) /* a paragraph's first line */
#define BODY TB_PDF_BODY
#define SMALL TB_PDF_SMALL
#define LEFT TB_PDF_LEFT
#define TEXT_W TB_PDF_TEXT_W

struct pdf {
	struct tb_pdf d;
	const struct tb_report *r;
};

/* A paragraph of the body, its first line indented. */
static void body_para(struct pdf *p, const char *s)
{
	tb_pdf_para(&p->d, s, BODY, TB_PDF_REG, INDENT, PANGO_ALIGN_LEFT, 3.0);
}

/* A section's heading, kept with what follows it. */
static void heading(struct pdf *p, const char *s)
{
	tb_pdf_need(&p->d, MM(30.0));
	tb_pdf_para(&p->d, s, BODY, TB_PDF_BOLD, 0, PANGO_ALIGN_LEFT, 4.0);
}

/* ---- words and numbers --------------------------------------------------- */

/* v as people read it: "19.450", "71,25", "-3,5". */
static const char *vi_num(double v, char *out, size_t len)
{
	char t[64];
	const char *s = tb_report_out_num(v, t, sizeof(t)), *dot;
	size_t ni, o = 0;

	if (*s == '-')
		out[o++] = *s++;
	dot = strchr(s, '.');
	ni = dot ? (size_t)(dot - s) : strlen(s);
	for (size_t i = 0; i < ni && o + 3 < len; i++) {
		if (i > 0 && (ni - i) % 3 == 0)
			out[o++] = '.';
		out[o++] = s[i];
	}
	if (dot && o + 2 < len) {
		out[o++] = ',';
		for (s = dot + 1; *s && o + 1 < len; s++)
			out[o++] = *s;
	}
	out[o] = '\0';
	return out;
}

/* The unit after a number: " lượt" for counts, "%" for shares. */
static const char *suffix(const struct tb_plan_ind *ind)
{
	return ind->unit == TB_UNIT_COUNT ? " lượt" : "%";
}

/* "dd/mm/yyyy" of a day. */
static const char *vi_date(int32_t d, char *buf, size_t len)
{
	int y, m, dd;

	tb_date_to_ymd(d, &y, &m, &dd);
	snprintf(buf, len, "%02d/%02d/%04d", dd, m, y);
	return buf;
}

/* The local (UTC+7) day and time of a Unix time. */
static int32_t local_day(int64_t t, int *hh, int *mi)
{
	int64_t lt = t + TZ_OFFSET;
	int64_t days = lt >= 0 ? lt / 86400 : -((-lt + 86399) / 86400);
	int64_t s = lt - days * 86400;

	*hh = (int)(s / 3600);
	*mi = (int)(s % 3600 / 60);
	return (int32_t)days;
}

/* The period as the title says it: "6 tháng đầu năm 2025". */
static void period_words(const struct tb_period *pe, char *buf, size_t len)
{
	static const char *const roman[] = {"I", "II", "III", "IV"};
	char d[TB_DATE_LEN + 2];
	int y, m, dd;

	tb_date_to_ymd(pe->from, &y, &m, &dd);
	switch (pe->kind) {
	case TB_PERIOD_HALF:
		snprintf(buf, len, "6 tháng %s năm %d", m <= 6 ? "đầu" : "cuối",
		         pe->year);
		return;
	case TB_PERIOD_YEAR:
		snprintf(buf, len, "năm %d", pe->year);
		return;
	case TB_PERIOD_QUARTER:
		snprintf(buf, len, "quý %s năm %d", roman[((m - 1) / 3) & 3],
		         pe->year);
		return;
	case TB_PERIOD_MONTH:
		snprintf(buf, len, "tháng %d năm %d", m, pe->year);
		return;
	case TB_PERIOD_ACTION_MONTH:
		snprintf(buf, len,
		         "trong Tháng hành động vì bình đẳng giới "
		         "năm %d",
		         pe->year);
		return;
	case TB_PERIOD_CUMULATIVE:
		snprintf(buf, len, "lũy kế đến ngày %s",
		         vi_date(pe->to, d, sizeof(d)));
		return;
	}
	snprintf(buf, len, "kỳ %s", pe->label);
}

/* The place of the date line: the name of the district or province
 * without its kind ("Huyện Lạc Sơn" -> "Lạc Sơn"); NULL when the name
 * does not say it is a place (the clerk writes it by hand). */
static const char *place_of(const struct tb_report *r)
{
	static const char *const kinds[] = {"Huyện ",     "Quận ", "Thị xã ",
	                                    "Thành phố ", "Tỉnh ", "TP. "};
	const char *name = NULL;

	if (strcmp(r->unit_type, "district") == 0 ||
	    strcmp(r->unit_type, "province") == 0)
		name = r->unit_name;
	else if (strcmp(r->unit_type, "school") == 0 && r->ndistricts == 1)
		name = r->districts[0].name;
	else if (strcmp(r->unit_type, "all") == 0)
		name = r->province_name;
	for (size_t i = 0; name && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i]);

		if (strncmp(name, kinds[i], n) == 0 && name[n])
			return name + n;
	}
	return NULL;
}

/* The office that issues the report, and the one above it (either may
 * be NULL). */
static const char *office_of(const struct tb_report *r, const char **above)
{
	*above = NULL;
	if (strcmp(r->unit_type, "school") == 0 && r->ndistricts == 1)
		*above = r->districts[0].name;
	else if (strcmp(r->unit_type, "district") == 0)
		*above = r->province_name;
	return r->unit_name ? r->unit_name : r->province_name;
}

/* ---- the header and the title ------------------------------------------- */
/* The motto's second line, centred in [x, x + w) at y and ruled under
 * its whole length (ND 30); its height. */
static double motto_at(struct pdf *p, double x, double w, double y)
{
	PangoLayout *l = tb_pdf_text(&p->d, "Độc lập - Tự do - Hạnh phúc", BODY,
	                             TB_PDF_BOLD, w, PANGO_ALIGN_LEFT);
	int tw, th;
	double x0, h;

	pango_layout_set_width(l, -1); /* its natural width */
	pango_layout_get_size(l, &tw, &th);
	x0 = x + (w - (double)tw / PANGO_SCALE) / 2;
	h = tb_pdf_put(&p->d, l, x0, y);
	tb_pdf_rule(&p->d, x0, x0 + (double)tw / PANGO_SCALE, y + h + 1.0);
	return h;
}

/* The office (left) and the national motto (right), the number and the
 * place-and-date lines under them. */
static void header(struct pdf *p)
{
	const double lw = MM(66.0), rx = LEFT + lw, rw = TEXT_W - lw;
	const char *above, *office = office_of(p->r, &above);
	const char *place = place_of(p->r);
	char date[160];
	double yl = p->d.y, yr = p->d.y;
	int y, m, d, hh, mi;

	if (above)
		yl += tb_pdf_upper_at(&p->d, above, 12.0, TB_PDF_REG, LEFT, yl,
		                      lw);
	yl += tb_pdf_upper_at(&p->d, office ? office : "……………………", 12.0,
	                      TB_PDF_BOLD, LEFT, yl, lw);
	tb_pdf_rule(&p->d, LEFT + lw * 0.33, LEFT + lw * 0.67, yl + 2.0);
	yr += tb_pdf_upper_at(&p->d, "Cộng hòa xã hội chủ nghĩa Việt Nam", 12.0,
	                      TB_PDF_BOLD, rx, yr, rw);
	yr += motto_at(p, rx, rw, yr);
	p->d.y = (yl > yr ? yl : yr) + MM(5.0);
	tb_pdf_text_at(&p->d, "Số:        /BC-", BODY, TB_PDF_REG, LEFT, p->d.y,
	               lw, PANGO_ALIGN_CENTER);
	tb_date_to_ymd(local_day(p->r->generated_at, &hh, &mi), &y, &m, &d);
	snprintf(date, sizeof(date), "%s, ngày %02d tháng %s%d năm %d",
	         place ? place : "……………", d, m <= 2 ? "0" : "", m, y);
	p->d.y += tb_pdf_text_at(&p->d, date, BODY, TB_PDF_ITALIC, rx, p->d.y,
	                         rw, PANGO_ALIGN_CENTER) +
	          MM(8.0);
}

/* "Kết quả thực hiện Kế hoạch <plan> 6 tháng đầu năm 2025" into b. */
static int title_text(const struct tb_report *r, struct tb_buf *b)
{
	static const char kh[] = "Kế hoạch";
	const char *name = r->plan->name_vi ? r->plan->name_vi : r->plan->id;
	char words[160];

	period_words(&r->period, words, sizeof(words));
	return tb_buf_printf(
	    b, "Kết quả thực hiện %s%s %s",
	    strncmp(name, kh, strlen(kh)) == 0 ? "" : "Kế hoạch ", name, words);
}

/* BÁO CÁO, what it reports on, the period's days, the opening words. */
static int title_block(struct pdf *p, const char *title)
{
	const struct tb_report *r = p->r;
	const double tw = MM(150.0), tx = LEFT + (TEXT_W - tw) / 2;
	const char *above, *office = office_of(r, &above);
	char a[TB_DATE_LEN + 2], b[TB_DATE_LEN + 2], line[200], words[160];
	struct tb_buf s = TB_BUF_INIT;
	int32_t made;
	int hh, mi, rc;

	p->d.y += tb_pdf_text_at(&p->d, "BÁO CÁO", 14.0, TB_PDF_BOLD, LEFT,
	                         p->d.y, TEXT_W, PANGO_ALIGN_CENTER);
	p->d.y += tb_pdf_text_at(&p->d, title, 14.0, TB_PDF_BOLD, tx, p->d.y,
	                         tw, PANGO_ALIGN_CENTER) +
	          3.0;
	tb_pdf_rule(&p->d, LEFT + TEXT_W / 2 - MM(22.0),
	            LEFT + TEXT_W / 2 + MM(22.0), p->d.y);
	snprintf(line, sizeof(line), "(Từ ngày %s đến ngày %s)",
	         vi_date(r->period.from, a, sizeof(a)),
	         vi_date(r->period.to, b, sizeof(b)));
	p->d.y += 5.0 +
	          tb_pdf_text_at(&p->d, line, BODY, TB_PDF_ITALIC, LEFT,
	                         p->d.y + 5.0, TEXT_W, PANGO_ALIGN_CENTER) +
	          MM(6.0);
	period_words(&r->period, words, sizeof(words));
	rc = tb_buf_printf(&s,
	                   "Thực hiện %s, %s báo cáo kết quả thực hiện "
	                   "các chỉ tiêu %s như sau:",
	                   r->plan->name_vi ? r->plan->name_vi : r->plan->id,
	                   office ? office : "đơn vị", words);
	if (rc == TB_OK)
		body_para(p, s.p);
	tb_buf_reset(&s);
	made = local_day(r->generated_at, &hh, &mi);
	if (rc == TB_OK)
		rc =
		    tb_buf_printf(&s,
		                  "Số liệu do hệ thống tienbo tổng hợp "
		                  "lúc %02d:%02d ngày %s từ dữ liệu các đơn vị "
		                  "gửi về; đơn vị chưa báo cáo không được tính "
		                  "là 0.",
		                  hh, mi, vi_date(made, a, sizeof(a)));
	if (rc == TB_OK)
		tb_pdf_para(&p->d, s.p, SMALL, TB_PDF_ITALIC, INDENT,
		            PANGO_ALIGN_LEFT, MM(4.0));
	tb_buf_free(&s);
	return rc;
}

/* ---- I. the indicators --------------------------------------------------- */

static const struct tb_pdf_col ind_cols[] = {
    {"STT", MM(10.0), PANGO_ALIGN_CENTER},
    {"Chỉ tiêu", MM(55.0), PANGO_ALIGN_LEFT},
    {"Mục tiêu", MM(28.0), PANGO_ALIGN_CENTER},
    {"Kết quả", MM(25.0), PANGO_ALIGN_CENTER},
    {"Tiến độ (%)", MM(17.0), PANGO_ALIGN_CENTER},
    {"Đánh giá", MM(30.0), PANGO_ALIGN_CENTER},
};
#define NIND (sizeof(ind_cols) / sizeof(ind_cols[0]))

static const char *cmp_words(enum tb_plan_cmp c)
{
	switch (c) {
	case TB_CMP_GE:
		return "≥";
	case TB_CMP_GT:
		return ">";
	case TB_CMP_ABOUT:
		return "khoảng";
	}
	return "";
}

/* Appends to buf (len bytes, holding a C string) as snprintf would. */
static void add(char *buf, size_t len, const char *a, const char *b,
                const char *c)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s%s%s", a, b, c);
}

/* What a count must reach, in whole people: the smallest whole number
 * not below v (a count meets v exactly when it meets this). */
static double whole_up(double v)
{
	double w = (double)(long long)v;

	return w < v ? w + 1 : w;
}

/* "≥ 20.000 lượt (năm 2025)", and for a cumulative count what is due by
 * the period's end. */
static void ind_target(const struct tb_report_row *w, char *buf, size_t len)
{
	const struct tb_report_value *v = &w->v;
	double due = v->expected_now;
	char n[64];

	buf[0] = '\0';
	if (!v->target) {
		add(buf, len, "—", "", "");
		return;
	}
	add(buf, len, cmp_words(v->target->cmp), " ",
	    vi_num(v->target->value, n, sizeof(n)));
	add(buf, len, suffix(w->ind), "\n(năm ", "");
	snprintf(n, sizeof(n), "%d)", v->target->year);
	add(buf, len, n, "", "");
	if (w->ind->f.cumulative) {
		if (w->ind->unit == TB_UNIT_COUNT)
			due = whole_up(due);
		add(buf, len, "\nCuối kỳ cần đạt:\n", vi_num(due, n, sizeof(n)),
		    suffix(w->ind));
	}
}

/* The period's value, and the cumulative one under it. */
static void ind_result(const struct tb_report_row *w, char *buf, size_t len)
{
	const struct tb_report_value *v = &w->v;
	char n[64];

	buf[0] = '\0';
	if (v->has_value)
		add(buf, len, vi_num(v->value, n, sizeof(n)), suffix(w->ind),
		    "");
	else
		add(buf, len, "—", "", "");
	if (w->ind->f.cumulative && v->has_cumulative)
		add(buf, len, "\nLũy kế:\n",
		    vi_num(v->cumulative, n, sizeof(n)), suffix(w->ind));
	else if (w->ind->f.cumulative)
		add(buf, len, "\nLũy kế:\n—", "", "");
}

static int ind_row(struct pdf *p, size_t k)
{
	const struct tb_report_row *w = &p->r->rows[k];
	const struct tb_report_value *v = &w->v;
	char stt[16], tgt[200], res[200], prog[64], st[160], n[64];
	struct tb_buf name = TB_BUF_INIT;
	const char *cells[NIND];
	size_t bold[NIND] = {0};
	int rc;

	rc = tb_buf_printf(&name, "%s %s", w->ind->id,
	                   w->ind->name_vi ? w->ind->name_vi : "");
	if (rc == TB_OK && w->ind->f.reason)
		rc = tb_buf_printf(&name, "\nGhi chú: %s", w->ind->f.reason);
	if (rc < 0)
		return rc;
	snprintf(stt, sizeof(stt), "%zu", k + 1);
	ind_target(w, tgt, sizeof(tgt));
	ind_result(w, res, sizeof(res));
	/* the header says (%): the figure alone, which never wraps */
	snprintf(prog, sizeof(prog), "%s",
	         v->has_progress ? vi_num(v->progress_pct, n, sizeof(n)) : "—");
	snprintf(st, sizeof(st), "%s", tb_report_out_status_vi(v->status));
	if (v->status != TB_ST_NOT_COLLECTED) {
		snprintf(n, sizeof(n), "\n(%ld/%ld đơn vị\nđã báo cáo)",
		         v->reported, v->expected);
		add(st, sizeof(st), n, "", "");
	}
	cells[0] = stt;
	cells[1] = name.p;
	cells[2] = tgt;
	cells[3] = res;
	cells[4] = prog;
	cells[5] = st;
	bold[1] = strlen(w->ind->id);
	tb_pdf_table_row(&p->d, ind_cols, NIND, cells, bold);
	tb_buf_free(&name);
	return TB_OK;
}

static int indicators(struct pdf *p)
{
	int rc = TB_OK;

	heading(p, "I. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU");
	tb_pdf_table_begin(&p->d, ind_cols, NIND, MM(12.0));
	for (size_t k = 0; rc == TB_OK && k < p->r->nrows; k++)
		rc = ind_row(p, k);
	p->d.y += MM(6.0);
	return rc;
}

/* ---- II. completeness ---------------------------------------------------- */

static const struct tb_pdf_col unit_cols[] = {
    {"STT", MM(12.0), PANGO_ALIGN_CENTER},
    {"Mã đơn vị", MM(33.0), PANGO_ALIGN_LEFT},
    {"Tên đơn vị", MM(72.0), PANGO_ALIGN_LEFT},
    {"Huyện, thị xã, thành phố", MM(48.0), PANGO_ALIGN_LEFT},
};
#define NUNIT (sizeof(unit_cols) / sizeof(unit_cols[0]))

static void unit_row(struct pdf *p, size_t k, const char *code,
                     const char *name, const char *district)
{
	const char *cells[NUNIT];
	char stt[16];

	snprintf(stt, sizeof(stt), "%zu", k);
	cells[0] = stt;
	cells[1] = code;
	cells[2] = name ? name : "";
	cells[3] = district ? district : "";
	tb_pdf_table_row(&p->d, unit_cols, NUNIT, cells, NULL);
}

/* A school expected for the period with nothing dated in it: missing
 * (the deadline passed) or still awaited. */
static int not_reported(const struct tb_report_school *s)
{
	return s->events == 0 && s->state != TB_US_ON_TIME &&
	       s->state != TB_US_LATE && s->state != TB_US_CLOSED &&
	       s->state != TB_US_NOT_APPLICABLE;
}

static void missing_schools(struct pdf *p)
{
	const struct tb_report *r = p->r;
	size_t k = 0;

	for (size_t i = 0; i < r->nschools; i++) {
		const struct tb_report_school *s = &r->schools[i];
		const char *dn = s->dcode;

		if (!not_reported(s))
			continue;
		if (!k++) {
			/* the words stay with the table's first row */
			tb_pdf_need(&p->d, MM(30.0));
			body_para(p, "Các đơn vị chưa báo cáo:");
			tb_pdf_table_begin(&p->d, unit_cols, NUNIT, MM(12.0));
		}
		if (s->district >= 0 && (size_t)s->district < r->ndistricts &&
		    r->districts[s->district].name)
			dn = r->districts[s->district].name;
		unit_row(p, k, s->code, s->name, dn);
	}
	if (!k)
		body_para(p, "Tất cả các đơn vị đã báo cáo.");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Without the schools' list: the codes the indicators found missing. */
static int missing_codes(struct pdf *p)
{
	const struct tb_report *r = p->r;
	const char **v;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < r->nrows; i++)
		n += r->rows[i].nmissing;
	if (!n) {
		body_para(p, "Tất cả các đơn vị đã báo cáo.");
		return TB_OK;
	}
	v = tb_malloc(n * sizeof(*v));
	if (!v)
		return TB_ENOMEM;
	for (size_t i = 0; i < r->nrows; i++)
		for (size_t j = 0; j < r->rows[i].nmissing; j++)
			v[k++] = r->rows[i].missing[j];
	qsort(v, n, sizeof(*v), cmp_str);
	tb_pdf_need(&p->d, MM(30.0));
	body_para(p,
	          "Các đơn vị chưa báo cáo số liệu của ít nhất một chỉ tiêu:");
	tb_pdf_table_begin(&p->d, unit_cols, NUNIT, MM(12.0));
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			unit_row(p, ++k, v[i], NULL, NULL);
	tb_free(v);
	return TB_OK;
}

/* Units expected, reported, on time; the deadline. */
static void compl_lines(struct pdf *p)
{
	const struct tb_report *r = p->r;
	const struct tb_report_compl *c = &r->compl ;
	char a[64], b[64], d[TB_DATE_LEN + 2], s[600];

	if (c->expected == 0 && r->nschools == 0) {
		snprintf(s, sizeof(s), "Số đơn vị thuộc phạm vi báo cáo: %ld.",
		         r->units);
		body_para(p, s);
		return;
	}
	snprintf(s, sizeof(s),
	         "Số đơn vị phải báo cáo: %ld; đã báo cáo: %ld"
	         " (%s%%), trong đó đúng hạn: %ld (%s%%); chưa báo cáo: %ld.",
	         c->expected, c->reported,
	         c->has_rates ? vi_num(c->reported_pct, a, sizeof(a)) : "0",
	         c->on_time,
	         c->has_rates ? vi_num(c->on_time_pct, b, sizeof(b)) : "0",
	         c->missing);
	body_para(p, s);
	snprintf(s, sizeof(s),
	         "Hạn báo cáo: ngày %s (%d ngày sau khi hết kỳ)"
	         ", %s.",
	         vi_date(r->deadline, d, sizeof(d)), r->ontime_days,
	         r->due ? "đã hết hạn" : "chưa đến hạn");
	body_para(p, s);
	if (c->closed) {
		snprintf(s, sizeof(s),
		         "Đơn vị ngừng hoạt động cả kỳ, không "
		         "phải báo cáo: %ld.",
		         c->closed);
		body_para(p, s);
	}
}

static int completeness(struct pdf *p)
{
	int rc = TB_OK;

	heading(p, "II. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ");
	compl_lines(p);
	if (p->r->nschools)
		missing_schools(p);
	else
		rc = missing_codes(p);
	p->d.y += MM(6.0);
	return rc;
}

/* ---- III. the Action Month, the signatures ------------------------------- */

static void action_month(struct pdf *p)
{
	const struct tb_report_am *am = &p->r->am;
	char a[TB_DATE_LEN + 2], b[TB_DATE_LEN + 2], n[5][64], s[900];

	if (!am->year)
		return;
	snprintf(s, sizeof(s),
	         "III. THÁNG HÀNH ĐỘNG VÌ BÌNH ĐẲNG GIỚI VÀ "
	         "PHÒNG NGỪA, ỨNG PHÓ VỚI BẠO LỰC TRÊN CƠ SỞ GIỚI NĂM %d",
	         am->year);
	heading(p, s);
	vi_date(am->from, a, sizeof(a));
	vi_date(am->to, b, sizeof(b));
	if (!am->units_active)
		snprintf(s, sizeof(s),
		         "Từ ngày %s đến ngày %s: chưa có đơn vị "
		         "nào ghi nhận hoạt động (%ld đơn vị).",
		         a, b, am->units);
	else
		snprintf(s, sizeof(s),
		         "Từ ngày %s đến ngày %s, %ld/%ld đơn vị "
		         "đã tổ chức %s hoạt động, thu hút %s lượt phụ huynh "
		         "học sinh, %s lượt học sinh, %s lượt giáo viên, nhân "
		         "viên và %s lượt cán bộ địa phương tham gia.",
		         a, b, am->units_active, am->units,
		         vi_num((double)am->activities, n[0], sizeof(n[0])),
		         vi_num((double)am->parents, n[1], sizeof(n[1])),
		         vi_num((double)am->students, n[2], sizeof(n[2])),
		         vi_num((double)am->teachers_staff, n[3], sizeof(n[3])),
		         vi_num((double)am->officials, n[4], sizeof(n[4])));
	body_para(p, s);
	p->d.y += MM(3.0);
}

/* "Nơi nhận:" on the left, the two signatures on the right, with room to
 * sign: one block, never split across pages. */
static void signatures(struct pdf *p)
{
	const double w1 = MM(55.0), w2 = MM(52.0), w3 = TEXT_W - w1 - w2;
	const double x2 = LEFT + w1, x3 = x2 + w2;
	double y, h2, h3;

	tb_pdf_need(&p->d, MM(48.0));
	y = p->d.y;
	y += tb_pdf_text_at(&p->d, "Nơi nhận:", 12.0,
	                    TB_PDF_BOLD | TB_PDF_ITALIC, LEFT, y, w1,
	                    PANGO_ALIGN_LEFT);
	tb_pdf_text_at(&p->d, "- Ban VSTBPN cấp trên (để b/c);\n- Lưu: VT.",
	               SMALL, TB_PDF_REG, LEFT, y, w1, PANGO_ALIGN_LEFT);
	y = p->d.y;
	h2 = tb_pdf_text_at(&p->d, "NGƯỜI LẬP BÁO CÁO", BODY, TB_PDF_BOLD, x2,
	                    y, w2, PANGO_ALIGN_CENTER);
	tb_pdf_text_at(&p->d, "(Ký, ghi rõ họ tên)", BODY, TB_PDF_ITALIC, x2,
	               y + h2, w2, PANGO_ALIGN_CENTER);
	h3 = tb_pdf_text_at(&p->d, "THỦ TRƯỞNG ĐƠN VỊ", BODY, TB_PDF_BOLD, x3,
	                    y, w3, PANGO_ALIGN_CENTER);
	tb_pdf_text_at(&p->d, "(Ký tên, đóng dấu)", BODY, TB_PDF_ITALIC, x3,
	               y + h3, w3, PANGO_ALIGN_CENTER);
	p->d.y += MM(48.0);
}

/* ---- the document -------------------------------------------------------- */

/* Title, subject and creation date (generated_at, UTC+7). */
static void metadata(struct pdf *p, const char *title)
{
	const struct tb_report *r = p->r;
	char t[600], when[40], subj[160];
	int y, m, d, hh, mi;

	tb_date_to_ymd(local_day(r->generated_at, &hh, &mi), &y, &m, &d);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:00+07:00", y, m,
	         d, hh, mi);
	snprintf(t, sizeof(t), "Báo cáo: %s", title);
	snprintf(subj, sizeof(subj), "%s %s %s", r->plan->id, r->unit,
	         r->period.label);
	tb_pdf_meta(&p->d, t, subj, when);
}

int tb_report_pdf(const struct tb_report *r, FILE *f)
{
	struct tb_buf title = TB_BUF_INIT;
	struct pdf p;
	int rc, rc2;

	memset(&p, 0, sizeof(p));
	p.r = r;
	rc = title_text(r, &title);
	if (rc < 0)
		return rc;
	rc = tb_pdf_open(&p.d, f);
	if (rc < 0)
		goto out;
	metadata(&p, title.p);
	header(&p);
	rc = title_block(&p, title.p);
	if (rc == TB_OK)
		rc = indicators(&p);
	if (rc == TB_OK)
		rc = completeness(&p);
	if (rc == TB_OK) {
		action_month(&p);
		signatures(&p);
	}
	rc2 = tb_pdf_close(&p.d);
	if (rc == TB_OK)
		rc = rc2;
out:
	tb_buf_free(&title);
	return rc;
}
