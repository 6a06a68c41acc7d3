/* report_http.c - the report API, the dashboard and its sign-in (see
 * report_http.h). Pages are written into an open_memstream buffer and
 * copied once into a tb_malloc'd body.
 */
#include "server/report_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/auth.h"
#include "server/report.h"
#include "server/report_html.h"
#include "server/org.h"
#include "server/report_out.h"
#include "server/report_search.h"
#include "server/dbpool.h"
#include "server/sql.h"
#include "server/token.h"
#include "protocol/wire.h"

#define CSP "default-src 'none'; style-src 'unsafe-inline'; " \
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

int tb_report_http_route(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/signin") == 0 ||
	       strcmp(path, "/signout") == 0 ||
	       strcmp(path, TB_ROUTE_REPORT) == 0;
}

/* ---- answers ------------------------------------------------------------ */

static void api_error(struct tb_report_resp *out, unsigned status,
		      const char *code, const char *message)
{
	out->status = status;
	out->error = code ? code : tb_resp_code(status);
	snprintf(out->message, sizeof(out->message), "%s", message);
}

enum page_kind { PAGE_REPORT, PAGE_SIGNIN, PAGE_MESSAGE, PAGE_SEARCH };

struct page_args {
	const struct tb_report *r;
	const struct tb_plan_set *plans;
	const char *title, *message;
	int en;                           /* English pages */
	const struct tb_unit_hits *hits;  /* PAGE_SEARCH */
	const char *query, *plan, *period;
};

/* Writes a page or document into f. */
static int write_page(FILE *f, enum page_kind kind,
		      enum tb_report_format format, const struct page_args *a)
{
	struct tb_report_page pg = {a->plans, "/signout", a->en, 1};

	switch (kind) {
	case PAGE_SIGNIN:
		return tb_report_html_signin(f, a->en, "/signin", a->message);
	case PAGE_MESSAGE:
		return tb_report_html_message(f, a->en, a->title, a->message,
					      NULL);
	case PAGE_SEARCH:
		return tb_report_html_search(f, &pg, a->query, a->hits, a->plan,
					     a->period);
	case PAGE_REPORT:
		break;
	}
	return tb_report_write(a->r, format, a->plans ? &pg : NULL, f);
}

/* Writes a page or document into out->body. */
static int render(struct tb_report_resp *out, enum page_kind kind,
		  enum tb_report_format format, const struct page_args *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return TB_ENOMEM;
	rc = write_page(f, kind, format, a);
	if (fclose(f) != 0 && rc == TB_OK)
		rc = TB_EIO;
	if (rc == TB_OK) {
		out->body = tb_malloc(len ? len : 1);
		if (out->body)
			memcpy(out->body, buf, len);
		else
			rc = TB_ENOMEM;
		out->len = len;
	}
	free(buf); /* open_memstream's, from libc */
	out->html = kind != PAGE_REPORT || format == TB_RF_HTML;
	out->ctype = out->html ? tb_report_format_ctype(TB_RF_HTML)
			       : tb_report_format_ctype(format);
	return rc;
}

static void page(struct tb_report_resp *out, unsigned status,
		 enum page_kind kind, const struct page_args *a)
{
	out->status = status;
	if (a->message) /* for the access log (401, 403, 5xx) */
		snprintf(out->message, sizeof(out->message), "%s", a->message);
	if (render(out, kind, TB_RF_HTML, a) < 0)
		api_error(out, 500, "internal", "cannot write the page");
}

/* 1 if the admin token is valid; *busy set when the database could not
 * say. */
static int admin_ok(struct tb_sql *db, const char *token, int *busy)
{
	int rc;

	*busy = 0;
	if (!token || !tb_token_well_formed(token))
		return 0;
	rc = tb_auth_admin(db, token);
	*busy = rc == TB_EAGAIN || rc == TB_EIO;
	return rc == TB_OK;
}

/* The current half-year, for a dashboard opened without a period. */
static void default_period(char *buf, size_t len)
{
	int y, m, d;

	tb_date_to_ymd(tb_date_today(), &y, &m, &d);
	snprintf(buf, len, "%d-H%d", y, m <= 6 ? 1 : 2);
}

/* GET /v1/report: JSON, CSV, HTML, Excel or PDF; errors as JSON. */
static void api_report(struct tb_sql *db, const struct tb_plan_set *plans,
		       const struct tb_report_req *q,
		       struct tb_report_resp *out)
{
	enum tb_report_format format;
	const struct tb_plan *plan = q->plan ? tb_plan_set_find(plans, q->plan)
				     : plans->plans[0];
	struct tb_report_opts o = {q->unit, 0, 0, 0, 0, 0};
	struct page_args a = {0};
	struct tb_report *r = NULL;
	char msg[256] = "";
	int rc;

	if (tb_report_format_parse(q->format, &format) < 0) {
		api_error(out, 400, "bad_request",
			  "format: json, csv, html, xlsx or pdf");
		return;
	}
	if (!plan) {
		api_error(out, 404, NULL, "plan: no such plan");
		return;
	}
	if (!q->period) {
		api_error(out, 400, "bad_request", "period: give ?period=, "
			  "e.g. 2025-H2 or cumulative:2025-12-31");
		return;
	}
	o.detail = (format != TB_RF_JSON && format != TB_RF_CSV) ||
		   (q->detail && strcmp(q->detail, "0") != 0);
	o.series = format == TB_RF_HTML || (format == TB_RF_JSON && o.detail);
	o.ontime_days = q->ontime_days;
	rc = tb_report_run(db, plan, q->period, &o, &r, msg, sizeof(msg));
	if (rc < 0) {
		api_error(out, tb_err_http(rc), NULL,
			  msg[0] ? msg : tb_strerror(rc));
		return;
	}
	a.r = r;
	out->status = 200;
	if (format == TB_RF_XLSX || format == TB_RF_PDF)
		tb_report_file_name(r, format, out->filename,
				    sizeof(out->filename));
	if (render(out, PAGE_REPORT, format, &a) < 0)
		api_error(out, 500, "internal", "cannot write the report");
	tb_report_destroy(r);
}

/* The dashboard's words for a failure it cannot show a page for. */
static void dash_fail(struct tb_report_resp *out, struct page_args *a,
		      int rc, const char *what)
{
	char m[400];

	if (rc == TB_EAGAIN)
		what = a->en ? "The database is busy: try again in a minute."
			     : "Cơ sở dữ liệu đang bận: xin thử lại sau ít "
			       "phút.";
	else if (rc == TB_ENOMEM || rc == TB_EIO)
		what = a->en ? "The server could not read the database; the "
			       "office's IT officer finds why in its log."
			     : "Máy chủ không đọc được cơ sở dữ liệu; cán bộ "
			       "CNTT của phòng xem lý do trong nhật ký máy chủ.";
	snprintf(m, sizeof(m), "%s", what);
	a->title = a->en ? "The report could not be made"
			 : "Không lập được báo cáo";
	a->message = m;
	page(out, tb_err_http(rc), PAGE_MESSAGE, a);
	a->message = NULL; /* m is gone with this call */
}

/* The dashboard's unit field holds no unit code: the units whose name or
 * code matches, or straight to the one that does. */
static void dash_search(struct tb_sql *db, const struct tb_report_req *q,
			struct page_args *a, struct tb_report_resp *out)
{
	struct tb_unit_hits *hits = NULL;
	int rc = tb_unit_search(db, q->unit, &hits);

	if (rc < 0) {
		dash_fail(out, a, rc, "");
		return;
	}
	if (hits->n == 1 && !hits->more) {
		out->status = 303;
		snprintf(out->location, sizeof(out->location),
			 "/?plan=%s&period=%s&unit=%s", a->plan, a->period,
			 hits->hit[0].code);
	} else {
		a->hits = hits;
		a->query = q->unit;
		page(out, 200, PAGE_SEARCH, a);
	}
	tb_unit_hits_destroy(hits);
}

/* GET /: the page of one unit (province, district or school). */
static void dashboard(struct tb_sql *db, const struct tb_plan_set *plans,
		      const struct tb_report_req *q, struct tb_report_resp *out)
{
	const struct tb_plan *plan = q->plan ? tb_plan_set_find(plans, q->plan)
				     : plans->plans[0];
	struct tb_report_opts o = {q->unit, 0, 1, 0, 0, 1};
	struct page_args a = {0};
	struct tb_period pd;
	struct tb_report *r = NULL;
	char period[TB_PERIOD_LEN], type[16], msg[400] = "";
	int rc;

	a.plans = plans;
	a.en = q->en;
	if (!plan)
		plan = plans->plans[0]; /* a stale bookmark: the first plan */
	if (q->period)
		snprintf(period, sizeof(period), "%s", q->period);
	else
		default_period(period, sizeof(period));
	a.plan = plan->id;
	a.period = period;
	if (tb_period_parse(period, &pd) < 0) {
		snprintf(msg, sizeof(msg), a.en
			 ? "Period \"%s\" is not one the plans report on: "
			   "write 2025, 2025-H1, 2025-H2, 2025-Q3, 2025-11, "
			   "action-month-2025 or cumulative:2025-12-31."
			 : "Kỳ \"%s\" không đúng dạng: viết 2025, 2025-H1 "
			   "(6 tháng đầu năm), 2025-H2, 2025-Q3, 2025-11, "
			   "action-month-2025 hoặc cumulative:2025-12-31 "
			   "(lũy kế đến ngày).", period);
		dash_fail(out, &a, TB_EINVAL, msg);
		return;
	}
	if (q->unit && strcmp(q->unit, "all") != 0 &&
	    (rc = tb_org_unit_type(db, q->unit, type)) != TB_OK) {
		if (rc == TB_ENOTFOUND)
			dash_search(db, q, &a, out);
		else
			dash_fail(out, &a, rc, "");
		return;
	}
	o.ontime_days = q->ontime_days;
	rc = tb_report_run(db, plan, period, &o, &r, msg, sizeof(msg));
	if (rc < 0) {
		dash_fail(out, &a, rc, "");
		return;
	}
	a.r = r;
	out->status = 200;
	if (render(out, PAGE_REPORT, TB_RF_HTML, &a) < 0)
		api_error(out, 500, "internal", "cannot write the report");
	tb_report_destroy(r);
}

/* ---- sign-in ------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of `name` in an application/x-www-form-urlencoded body,
 * decoded into buf; 0 if absent or too long. */
static int form_value(const char *body, size_t len, const char *name,
		      char *buf, size_t buflen)
{
	size_t nlen = strlen(name), i = 0;

	while (i < len) {
		size_t end = i, o = 0;

		while (end < len && body[end] != '&')
			end++;
		if (end - i > nlen && memcmp(body + i, name, nlen) == 0 &&
		    body[i + nlen] == '=') {
			for (size_t k = i + nlen + 1; k < end; k++) {
				char c = body[k];

				if (c == '+') {
					c = ' ';
				} else if (c == '%' && k + 2 < end &&
					   hexval(body[k + 1]) >= 0 &&
					   hexval(body[k + 2]) >= 0) {
					c = (char)(hexval(body[k + 1]) * 16 +
						   hexval(body[k + 2]));
					k += 2;
				}
				if (o + 1 >= buflen)
					return 0;
				buf[o++] = c;
			}
			buf[o] = '\0';
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

/* A `next` the browser may be sent to: a path on this server. */
static int next_ok(const char *s)
{
	if (s[0] != '/' || s[1] == '/' || s[1] == '\\')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || *s == '\\' || *s == '"' ||
		    (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

static void signin(struct tb_sql *db, const struct tb_report_req *q,
		   struct tb_report_resp *out)
{
	char token[TB_TOKEN_LEN + 2] = "", next[200] = "";
	struct page_args a = {0};
	int busy = 0;

	a.en = q->en;
	if (q->body && q->body_len <= TB_REPORT_FORM_MAX &&
	    form_value(q->body, q->body_len, "token", token, sizeof(token)) &&
	    admin_ok(db, token, &busy)) {
		if (!form_value(q->body, q->body_len, "next", next,
				sizeof(next)) ||
		    !next_ok(next))
			snprintf(next, sizeof(next), "/");
		out->status = 303;
		snprintf(out->location, sizeof(out->location), "%s", next);
		snprintf(out->set_cookie, sizeof(out->set_cookie),
			 "%s=%s; Path=/; Max-Age=%d; HttpOnly; Secure; "
			 "SameSite=Lax", TB_REPORT_COOKIE, token,
			 TB_REPORT_COOKIE_AGE);
		memset(token, 0, sizeof(token));
		return;
	}
	memset(token, 0, sizeof(token));
	a.message = busy ? (a.en ? "The server is busy: try again."
				 : "Máy chủ đang bận, xin thử lại.")
			 : (a.en ? "The admin token is wrong or revoked."
				 : "Mã quản trị không đúng hoặc đã bị thu hồi.");
	page(out, busy ? 503 : 401, PAGE_SIGNIN, &a);
}

void tb_report_http_answer(struct tb_sql *db, const struct tb_plan_set *plans,
			   const struct tb_report_req *q,
			   struct tb_report_resp *out)
{
	struct page_args a = {0};
	int get = strcmp(q->method, "GET") == 0 ||
		  strcmp(q->method, "HEAD") == 0;
	int post = strcmp(q->method, "POST") == 0;
	int busy = 0, ok;

	memset(out, 0, sizeof(*out));
	out->status = 500;
	if (strcmp(q->path, "/signin") == 0 || strcmp(q->path, "/signout") == 0) {
		if (!post) {
			out->status = 405;
			out->allow = "POST";
			api_error(out, 405, NULL, "use POST");
		} else if (strcmp(q->path, "/signout") == 0) {
			out->status = 303;
			snprintf(out->location, sizeof(out->location), "/");
			snprintf(out->set_cookie, sizeof(out->set_cookie),
				 "%s=; Path=/; Max-Age=0; HttpOnly; Secure; "
				 "SameSite=Lax", TB_REPORT_COOKIE);
		} else {
			signin(db, q, out);
		}
		return;
	}
	if (!get) {
		out->allow = "GET, HEAD";
		api_error(out, 405, NULL, "use GET");
		return;
	}
	if ((!plans || !plans->count) && strcmp(q->path, "/") == 0) {
		a.en = q->en;
		a.title = a.en ? "No plans" : "Chưa có kế hoạch";
		a.message = a.en ? "The server has loaded no plan files: the "
				   "office's IT officer sets plans_dir to the "
				   "plans directory and restarts it."
				 : "Máy chủ chưa nạp tệp kế hoạch nào: cán bộ CNTT"
				   " của phòng đặt plans_dir là thư mục kế hoạch "
				   "rồi khởi động lại máy chủ.";
		page(out, 503, PAGE_MESSAGE, &a);
		return;
	}
	if (!plans || !plans->count) {
		api_error(out, 503, NULL, "no plans are loaded: start the "
			  "server with plans_dir set to the plans directory");
		return;
	}
	if (strcmp(q->path, TB_ROUTE_REPORT) == 0) {
		ok = admin_ok(db, q->bearer ? q->bearer : q->cookie, &busy);
		if (busy)
			api_error(out, 503, NULL, "the database is busy");
		else if (!ok)
			api_error(out, 401, NULL, "an admin token is needed "
				  "(Authorization: Bearer ...)");
		else
			api_report(db, plans, q, out);
		return;
	}
	a.en = q->en;
	if (!admin_ok(db, q->cookie, &busy)) {
		a.message = !busy ? NULL : a.en ? "The server is busy: try again."
						: "Máy chủ đang bận, xin thử lại.";
		page(out, busy ? 503 : 401, PAGE_SIGNIN, &a);
		return;
	}
	dashboard(db, plans, q, out);
}

/* ---- language ------------------------------------------------------------ */

/* The q value of one Accept-Language item (after its tag), 1 if none. */
static double item_q(const char *s, size_t len)
{
	const char *qq = memchr(s, ';', len);

	while (qq && qq < s + len && (*qq == ';' || *qq == ' '))
		qq++;
	if (qq && qq + 2 <= s + len && qq[0] == 'q' && qq[1] == '=')
		return strtod(qq + 2, NULL);
	return 1.0;
}

int tb_report_http_wants_en(const char *lang, const char *accept)
{
	double vi = -1, en = -1;

	if (lang && (strcmp(lang, "en") == 0 || strcmp(lang, "vi") == 0))
		return strcmp(lang, "en") == 0;
	while (accept && *accept) {
		size_t len = strcspn(accept, ",");
		const char *t = accept;
		double q;

		while (*t == ' ' && t < accept + len)
			t++;
		q = item_q(t, len - (size_t)(t - accept));
		if (strncasecmp(t, "vi", 2) == 0 && q > vi)
			vi = q;
		else if (strncasecmp(t, "en", 2) == 0 && q > en)
			en = q;
		accept += len + (accept[len] == ',');
	}
	return en > vi; /* a tie, or neither: Vietnamese */
}

/* ---- libmicrohttpd ------------------------------------------------------ */

static enum MHD_Result queue(struct MHD_Connection *c,
			     const struct tb_resp_env *env, const char *url,
			     struct tb_report_resp *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (a->error || (!a->body && a->status != 303)) {
		if (a->allow && a->status == 405)
			return tb_resp_not_allowed(c, a->allow, url);
		return tb_resp_error(c, env, a->status, a->error,
				     a->message[0] ? a->message : "error", -1, 0);
	}
	r = MHD_create_response_from_buffer_with_free_callback(
		a->len, a->body ? a->body : (char *)"", a->body ? tb_free : NULL);
	a->body = NULL; /* the response owns it now */
	if (!r)
		return MHD_NO;
	if (a->ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					a->ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (a->html) {
		MHD_add_response_header(r, "Content-Security-Policy", CSP);
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
	}
	if (a->set_cookie[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE,
					a->set_cookie);
	if (a->location[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION,
					a->location);
	if (a->filename[0])
		tb_resp_attachment(r, a->filename);
	if (a->status >= 500 || a->status == 401 || a->status == 403)
		tb_resp_set_reason(a->message[0] ? a->message : NULL);
	ret = tb_resp_queue(c, a->status, r);
	return ret;
}

enum MHD_Result tb_report_http_handle(struct MHD_Connection *c,
				      struct tb_dbpool *pool,
				      const struct tb_plan_set *plans,
				      int ontime_days,
				      const struct tb_resp_env *env,
				      const char *url, const char *method,
				      const char *body, size_t body_len)
{
	struct tb_report_req q;
	struct tb_report_resp a;
	char bearer[TB_TOKEN_LEN + 2];
	struct tb_sql *db = tb_dbpool_conn(pool);
	enum MHD_Result ret;

	if (!db)
		return tb_resp_error(c, env, 503, NULL, "database unavailable",
				     -1, 0);
	memset(&q, 0, sizeof(q));
	q.method = method;
	q.path = url;
#define ARG(k) MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k)
	q.plan = ARG("plan");
	q.unit = ARG("unit");
	q.period = ARG("period");
	q.format = ARG("format");
	q.detail = ARG("detail");
	q.en = tb_report_http_wants_en(ARG("lang"),
		MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					    MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
	q.ontime_days = ontime_days;
#undef ARG
	q.bearer = tb_resp_bearer(c, bearer, sizeof(bearer));
	q.cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
					       TB_REPORT_COOKIE);
	q.body = body;
	q.body_len = body_len;
	if (q.unit && !q.unit[0])
		q.unit = NULL;
	if (q.period && !q.period[0])
		q.period = NULL;
	tb_report_http_answer(db, plans, &q, &a);
	ret = queue(c, env, url, &a);
	tb_free(a.body);
	memset(bearer, 0, sizeof(bearer));
	return ret;
}
