/* report_http.h - the report over HTTPS: the JSON/CSV API and the
 * dashboard with its sign-in.
 *
 *   GET  /v1/report?plan=ID&unit=CODE&period=P[&format=json|csv|html|
 *                  xlsx|pdf] (xlsx and pdf with Content-Disposition:
 *                  attachment; filename="bao-cao-PLAN-UNIT-PERIOD.xlsx")
 *                  [&detail=1]
 *        admin token as "Authorization: Bearer ..." (or the dashboard's
 *        cookie); the JSON of `tienbo-server report`. Errors are the JSON
 *        error body of PROTOCOL.md: 400 (bad period, unknown format), 401,
 *        404 (unknown plan or unit), 503 (database busy).
 *   GET  /?plan=ID&unit=CODE&period=P   the dashboard (all three
 *        optional: the first plan, all units, the current half-year);
 *        without a valid admin cookie, the sign-in page (401).
 *   POST /signin   form field token (and optionally next, a path on this
 *        server to return to): a valid admin token is kept in the cookie
 *        tb_admin (HttpOnly, Secure, SameSite=Lax, 8 hours) and the
 *        browser is sent on (303); a bad one gets the sign-in page (401).
 *   POST /signout  clears the cookie (303 to /).
 * The token travels only in a header, a cookie or a POST body, never in a
 * URL. HTML answers carry a Content-Security-Policy that allows no script
 * and nothing from elsewhere; every answer is Cache-Control: no-store.
 *
 * tb_report_http_answer is the whole logic without libmicrohttpd (tests
 * call it directly); tb_report_http_handle adapts it to an MHD connection
 * and is what server/https.c calls for the paths tb_report_http_route
 * accepts. Reports read through the calling thread's pool connection and
 * take no write lock.
 */
#ifndef TB_SERVER_REPORT_HTTP_H
#define TB_SERVER_REPORT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "server/plan.h"
#include "server/resp.h"

struct tb_sql;
struct tb_dbpool;

#define TB_REPORT_COOKIE "tb_admin"
#define TB_REPORT_COOKIE_AGE (8 * 3600)
#define TB_REPORT_FORM_MAX 1024 /* bytes of a sign-in form body */

struct tb_report_req {
	const char *method;
	const char *path;                  /* without the query */
	const char *plan, *unit, *period;  /* query arguments, or NULL */
	const char *format, *detail;
	int en;                            /* English pages: Accept-Language
					      or ?lang=en */
	int ontime_days;                   /* the setting; 0: the default */
	const char *bearer;                /* Authorization: Bearer token */
	const char *cookie;                /* the tb_admin cookie */
	const char *body;                  /* a POST form (not NUL-ended) */
	size_t body_len;
};

struct tb_report_resp {
	unsigned status;
	char *body;          /* tb_malloc'd (tb_free), len bytes */
	size_t len;
	const char *ctype;
	int html;            /* an HTML page: add the page's headers */
	const char *error;   /* API error: wire code, message in message */
	char message[256];
	char set_cookie[160];/* "" = none */
	char location[256];  /* "" = none */
	const char *allow;   /* with 405 */
	char filename[128];  /* a file to save (xlsx, pdf): Content-
				Disposition: attachment; "" = none */
};

/* 1 if this module answers the path ("/", "/signin", "/signout",
 * "/v1/report"). */
int tb_report_http_route(const char *path);

/* Answers one request. db is the caller's connection; plans borrowed.
 * Always fills out (status 500 on an internal failure); free out->body
 * with tb_free. */
void tb_report_http_answer(struct tb_sql *db, const struct tb_plan_set *plans,
			   const struct tb_report_req *q,
			   struct tb_report_resp *out);

/* 1 if the page should be English: lang ("en" or "vi", the ?lang= of the
 * request) decides; else the Accept-Language header, by its q values
 * (English only when ranked above Vietnamese; a tie or neither:
 * Vietnamese). */
int tb_report_http_wants_en(const char *lang, const char *accept);

/* The MHD adapter: reads the query, the Authorization header and the
 * cookie from c, answers with tb_report_http_answer, queues the response.
 * body: the request body received so far (POST /signin), may be NULL. */
enum MHD_Result tb_report_http_handle(struct MHD_Connection *c,
				      struct tb_dbpool *pool,
				      const struct tb_plan_set *plans,
				      int ontime_days,
				      const struct tb_resp_env *env,
				      const char *url, const char *method,
				      const char *body, size_t body_len);

#endif
