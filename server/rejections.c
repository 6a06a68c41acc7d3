/* rejections.c - the refused events: the query, the three formats, the
 * command and the admin endpoint (see rejections.h).
 */
#include "server/rejections.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "protocol/json.h"
#include "server/db.h"
#include "server/resp.h"
#include "server/sql.h"

/* ---- the query ---------------------------------------------------------- */

void tb_rejection_list_destroy(struct tb_rejection_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->count; i++) {
		tb_free(l->rows[i].school);
		tb_free(l->rows[i].school_name);
		tb_free(l->rows[i].device);
		tb_free(l->rows[i].event_id);
		tb_free(l->rows[i].reason);
	}
	tb_free(l->rows);
	tb_free(l);
}

/* A copy of text column i (NULL for SQL NULL); *bad set when a copy
 * failed. */
static char *col_text(struct tb_stmt *st, int i, int *bad)
{
	const char *s = tb_sql_column_text(st, i);
	char *p = s ? tb_strdup(s) : NULL;

	if (s && !p)
		*bad = 1;
	return p;
}

/* Is school a school? 0; TB_ENOTFOUND / TB_EINVAL with msg. */
static int school_check(struct tb_sql *db, const char *school, char *msg,
			size_t msglen)
{
	struct tb_stmt *st = NULL;
	int rc, found = 0, is_school = 0;

	rc = tb_sql_prepare(db, "SELECT type = 'school' FROM units WHERE "
				"code = ?1", 0, &st);
	if (rc != TB_OK)
		return tb_sql_err(rc);
	tb_sql_bind_text(st, 1, school, -1);
	rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW) {
		found = 1;
		is_school = tb_sql_column_int64(st, 0);
	}
	tb_sql_finalize(st);
	if (rc != TB_SQL_ROW && rc != TB_SQL_DONE)
		return tb_sql_err(rc);
	if (!found) {
		snprintf(msg, msglen, "school %s: no such unit (tienbo-server "
			 "units lists them)", school);
		return TB_ENOTFOUND;
	}
	if (!is_school) {
		snprintf(msg, msglen, "school %s: a district or province, not a "
			 "school", school);
		return TB_EINVAL;
	}
	return TB_OK;
}

static int count_all(struct tb_sql *db, const char *school, int64_t *n)
{
	struct tb_stmt *st = NULL;
	int rc;

	rc = tb_sql_prepare(db, "SELECT count(*) FROM rejections WHERE "
				"CAST(?1 AS TEXT) IS NULL OR school = ?1", 0, &st);
	if (rc != TB_OK)
		return tb_sql_err(rc);
	tb_sql_bind_text(st, 1, school, -1);
	rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW)
		*n = tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	return rc == TB_SQL_ROW ? TB_OK : tb_sql_err(rc);
}

/* Appends the row st is on to l (room for it was made). */
static int row_take(struct tb_stmt *st, struct tb_rejection_list *l)
{
	struct tb_rejection_row *r = &l->rows[l->count++];
	int bad = 0;

	r->id = tb_sql_column_int64(st, 0);
	r->school = col_text(st, 1, &bad);
	r->school_name = col_text(st, 2, &bad);
	r->device = col_text(st, 3, &bad);
	r->seq = tb_sql_column_int64(st, 4);
	r->event_id = col_text(st, 5, &bad);
	r->reason = col_text(st, 6, &bad);
	r->received_at = tb_sql_column_int64(st, 7);
	return bad || !r->school || !r->device || !r->event_id || !r->reason
		       ? TB_ENOMEM : TB_OK;
}

static int rows_read(struct tb_sql *db, const char *school, long limit,
		     struct tb_rejection_list *l)
{
	struct tb_stmt *st = NULL;
	size_t cap = (size_t)l->total;
	int rc;

	if (limit > 0 && (int64_t)limit < l->total)
		cap = (size_t)limit;
	l->rows = tb_calloc(cap ? cap : 1, sizeof(*l->rows));
	if (!l->rows)
		return TB_ENOMEM;
	rc = tb_sql_prepare(db, "SELECT r.id, r.school, u.name, r.device, r.seq, r.event_id,"
		" r.reason, r.received_at FROM rejections r"
		" LEFT JOIN units u ON u.code = r.school"
		" WHERE CAST(?1 AS TEXT) IS NULL OR r.school = ?1"
		" ORDER BY r.received_at DESC, r.id DESC LIMIT ?2", 0, &st);
	if (rc != TB_OK)
		return tb_sql_err(rc);
	tb_sql_bind_text(st, 1, school, -1);
	tb_sql_bind_int64(st, 2, (int64_t)cap);
	while ((rc = tb_sql_step(st)) == TB_SQL_ROW && l->count < cap)
		if (row_take(st, l) < 0) {
			tb_sql_finalize(st);
			return TB_ENOMEM;
		}
	tb_sql_finalize(st);
	return rc == TB_SQL_ROW || rc == TB_SQL_DONE ? TB_OK : tb_sql_err(rc);
}

int tb_rejections_list(struct tb_sql *db, const char *school, long limit,
		       struct tb_rejection_list **out, char *msg,
		       size_t msglen)
{
	struct tb_rejection_list *l = NULL;
	int rc = TB_OK;

	*out = NULL;
	if (school)
		rc = school_check(db, school, msg, msglen);
	if (rc < 0)
		return rc;
	l = tb_calloc(1, sizeof(*l));
	if (!l)
		return TB_ENOMEM;
	/* one read transaction, so the count and the rows agree */
	rc = tb_sql_begin(db, 0);
	if (rc == TB_OK) {
		rc = count_all(db, school, &l->total);
		if (rc == TB_OK)
			rc = rows_read(db, school, limit, l);
		tb_sql_exec(db, "COMMIT", NULL, 0);
	}
	if (rc < 0) {
		if (!msg[0])
			snprintf(msg, msglen, "cannot read the rejections: %s",
				 tb_strerror(rc));
		tb_rejection_list_destroy(l);
		return rc;
	}
	*out = l;
	return TB_OK;
}

/* ---- text --------------------------------------------------------------- */

static int write_text(const struct tb_rejection_list *l, FILE *f)
{
	char t[TB_TIME_LEN];
	size_t i;

	if (l->total == 0)
		fprintf(f, "no rejected events\n");
	else if ((int64_t)l->count < l->total)
		fprintf(f, "%lld rejected events, the newest %zu shown "
			"(--limit N, 0 for all):\n", (long long)l->total,
			l->count);
	else
		fprintf(f, "%lld rejected event%s, newest first:\n",
			(long long)l->total, l->total == 1 ? "" : "s");
	for (i = 0; i < l->count; i++) {
		const struct tb_rejection_row *r = &l->rows[i];

		fprintf(f, "\n%s  %s%s%s  seq %lld  event %s\n"
			"  device %s\n  reason: %s\n",
			tb_time_format_vn(r->received_at, t), r->school,
			r->school_name ? " " : "",
			r->school_name ? r->school_name : "", (long long)r->seq,
			r->event_id, r->device, r->reason);
	}
	return ferror(f) ? TB_EIO : TB_OK;
}

/* ---- JSON --------------------------------------------------------------- */

static cJSON *row_json(const struct tb_rejection_row *r)
{
	char t[TB_TIME_LEN];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "school", r->school);
	if (r->school_name)
		cJSON_AddStringToObject(o, "school_name", r->school_name);
	else
		cJSON_AddNullToObject(o, "school_name");
	cJSON_AddStringToObject(o, "device", r->device);
	cJSON_AddNumberToObject(o, "seq", (double)r->seq);
	cJSON_AddStringToObject(o, "event_id", r->event_id);
	cJSON_AddStringToObject(o, "reason", r->reason);
	cJSON_AddStringToObject(o, "received_at",
				tb_time_format(r->received_at, t));
	if (cJSON_GetArraySize(o) != 8) { /* a key lost to a failed malloc */
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *row_item(const void *arg, size_t i)
{
	return row_json(&((const struct tb_rejection_list *)arg)->rows[i]);
}

static int write_json(const struct tb_rejection_list *l, FILE *f)
{
	cJSON *root = tb_json_array_of(l->count, row_item, l);
	char *text = NULL;
	int rc = TB_ENOMEM;

	if (root)
		text = cJSON_PrintUnformatted(root);
	if (text)
		rc = fprintf(f, "%s\n", text) < 0 ? TB_EIO : TB_OK;
	cJSON_free(text);
	cJSON_Delete(root);
	return rc;
}

/* ---- CSV ---------------------------------------------------------------- */

static const char *const csv_cols[] = {
	"id", "school", "school_name", "device", "seq", "event_id", "reason",
	"received_at"
};
#define NCSV (sizeof(csv_cols) / sizeof(csv_cols[0]))

static int write_csv(const struct tb_rejection_list *l, FILE *f)
{
	char id[24], seq[24], t[TB_TIME_LEN];
	const char *v[NCSV];
	size_t i, k;
	int rc = tb_csv_write_bom(f);

	for (k = 0; rc == TB_OK && k < NCSV; k++)
		rc = tb_csv_write_field(f, csv_cols[k], k + 1 == NCSV);
	for (i = 0; rc == TB_OK && i < l->count; i++) {
		const struct tb_rejection_row *r = &l->rows[i];

		snprintf(id, sizeof(id), "%lld", (long long)r->id);
		snprintf(seq, sizeof(seq), "%lld", (long long)r->seq);
		v[0] = id;
		v[1] = r->school;
		v[2] = r->school_name ? r->school_name : "";
		v[3] = r->device;
		v[4] = seq;
		v[5] = r->event_id;
		v[6] = r->reason;
		v[7] = tb_time_format(r->received_at, t);
		for (k = 0; rc == TB_OK && k < NCSV; k++)
			rc = tb_csv_write_field(f, v[k], k + 1 == NCSV);
	}
	return rc;
}

int tb_rejections_write(const struct tb_rejection_list *l,
			enum tb_units_format fmt, FILE *f)
{
	if (fmt == TB_UNITS_JSON)
		return write_json(l, f);
	if (fmt == TB_UNITS_CSV)
		return write_csv(l, f);
	return write_text(l, f);
}

/* ---- the command and the endpoint --------------------------------------- */

const struct tb_opt tb_rejections_opts[TB_REJECTIONS_NOPTS] = {
	{ "school", 0, "CODE", "only this school's rejected events" },
	{ "format", 0, "text|json|csv", "output format [text]" },
	{ "limit", 0, "N", "the newest N events, 0 for all [100]" },
};

/* "100" into *out: a whole number 0..10000000; NULL is the default. */
static int limit_parse(const char *s, long *out)
{
	char *end = NULL;
	long n;

	*out = TB_REJECTIONS_LIMIT;
	if (!s)
		return TB_OK;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 0 || n > 10000000)
		return TB_EINVAL;
	*out = n;
	return TB_OK;
}

int tb_rejections_cmd(const struct tb_config *cfg, char *msg, size_t msglen)
{
	const char *fmt_s = tb_settings_get(cfg, "format");
	const char *lim_s = tb_settings_get(cfg, "limit");
	struct tb_rejection_list *l = NULL;
	enum tb_units_format fmt;
	struct tb_sql *db = NULL;
	long limit;
	int rc;

	if (tb_units_format_parse(fmt_s, &fmt) < 0) {
		snprintf(msg, msglen, "format: text, json or csv, not '%s'",
			 fmt_s);
		return TB_EUSAGE;
	}
	if (limit_parse(lim_s, &limit) < 0) {
		snprintf(msg, msglen, "limit: a whole number of events, 0 for "
			 "all, not '%s'", lim_s);
		return TB_EUSAGE;
	}
	rc = tb_settings_open_db(cfg, &db, msg, msglen);
	if (rc == TB_OK)
		rc = tb_rejections_list(db, tb_settings_get(cfg, "school"), limit,
					&l, msg, msglen);
	tb_sql_close(db);
	if (rc == TB_OK)
		rc = tb_rejections_write(l, fmt, stdout);
	if (fflush(stdout) != 0 && rc == TB_OK)
		rc = TB_EIO;
	if (rc < 0 && !msg[0])
		snprintf(msg, msglen, "cannot write the rejections: %s",
			 tb_strerror(rc));
	tb_rejection_list_destroy(l);
	return rc;
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						    name);

	return v && *v ? v : NULL;
}

enum MHD_Result tb_rejections_handle(struct MHD_Connection *c,
				     struct tb_sql *db,
				     const struct tb_resp_env *env)
{
	static const char *const ctype[] = { "text/plain; charset=utf-8",
					     "application/json",
					     "text/csv; charset=utf-8" };
	struct tb_rejection_list *l = NULL;
	enum tb_units_format fmt;
	char msg[256] = "", *buf = NULL;
	size_t len = 0;
	long limit;
	FILE *f;
	int rc;

	if (tb_units_format_parse(arg(c, "format") ? arg(c, "format") : "json",
				  &fmt) < 0)
		return tb_resp_error(c, env, 400, NULL, "format: json, csv or "
				     "text", -1, 0);
	if (limit_parse(arg(c, "limit"), &limit) < 0)
		return tb_resp_error(c, env, 400, NULL, "limit: a whole number "
				     "of events, 0 for all", -1, 0);
	rc = tb_rejections_list(db, arg(c, "school"), limit, &l, msg,
				sizeof(msg));
	if (rc < 0)
		return tb_resp_error(c, env, tb_err_http(rc), NULL, msg, -1, 0);
	f = open_memstream(&buf, &len);
	rc = f ? tb_rejections_write(l, fmt, f) : TB_ENOMEM;
	if (f && fclose(f) != 0 && rc == TB_OK)
		rc = TB_ENOMEM;
	tb_rejection_list_destroy(l);
	if (rc < 0) {
		free(buf);
		return tb_resp_error(c, env, 503, NULL, "out of memory", -1, 0);
	}
	return tb_resp_body_libc(c, 200, buf, len, ctype[fmt]);
}
