/* admin.c - admin endpoints under /v1/admin/ (see admin.h). */
#include "server/admin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/auth.h"
#include "server/export.h"
#include "server/dbpool.h"
#include "server/rejections.h"
#include "server/units.h"

struct admin {
	struct MHD_Connection *c;
	struct tb_dbpool *pool;
	const struct tb_resp_env *env;
	long busy_ms;
};

static const char *arg(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						    name);

	return v && *v ? v : NULL;
}

static int arg_yes(struct MHD_Connection *c, const char *name)
{
	const char *v = arg(c, name);

	return v && (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
		     strcmp(v, "true") == 0);
}

/* Queues a cJSON value (consumed). */
static enum MHD_Result send_json(struct admin *a, unsigned status, cJSON *j)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	char *body;

	cJSON_Delete(j);
	body = tb_strdup(text);
	cJSON_free(text);
	if (!body)
		return tb_resp_error(a->c, a->env, 503, NULL, "out of memory",
				     -1, 0);
	return tb_resp_body(a->c, status, body, strlen(body), NULL);
}

static enum MHD_Result from_rc(struct admin *a, int rc, const char *msg)
{
	return tb_resp_error(a->c, a->env, tb_err_http(rc), NULL, msg, -1, 0);
}

static void time_add(cJSON *o, const char *key, int64_t t)
{
	char buf[TB_TIME_LEN];

	if (t)
		cJSON_AddStringToObject(o, key, tb_time_format(t, buf));
	else
		cJSON_AddNullToObject(o, key);
}

static int device_json(void *arg_, const struct tb_device_row *r)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(arg_, o)) {
		cJSON_Delete(o);
		return TB_ENOMEM;
	}
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "school", r->school);
	cJSON_AddStringToObject(o, "token_prefix", r->token_prefix);
	if (r->device[0])
		cJSON_AddStringToObject(o, "device", r->device);
	else
		cJSON_AddNullToObject(o, "device");
	time_add(o, "enrolled_at", r->enrolled_at);
	time_add(o, "last_seen", r->last_seen);
	cJSON_AddNumberToObject(o, "committed_through",
				(double)r->committed_through);
	time_add(o, "revoked_at", r->revoked_at);
	return 0;
}

static enum MHD_Result admin_devices(struct admin *a)
{
	cJSON *list = cJSON_CreateArray();
	int rc;

	if (!list)
		return from_rc(a, TB_ENOMEM, "out of memory");
	rc = tb_auth_devices(tb_dbpool_conn(a->pool), arg(a->c, "school"),
			     device_json, list);
	if (rc != 0) {
		cJSON_Delete(list);
		return from_rc(a, rc, "cannot list devices");
	}
	return send_json(a, 200, list);
}

static enum MHD_Result admin_export(struct admin *a)
{
	struct tb_export_opts o;
	char msg[TB_MSG_LEN] = "", *buf = NULL, name[64];
	size_t len = 0;
	int64_t n = 0;
	FILE *f;
	int rc;

	memset(&o, 0, sizeof(o));
	o.school = arg(a->c, "school");
	o.district = arg(a->c, "district");
	o.include_voided = arg_yes(a->c, "include_voided");
	if (tb_export_format_parse(arg(a->c, "format") ? arg(a->c, "format")
						       : "json", &o.format) < 0)
		return from_rc(a, TB_EINVAL, "format: json, csv or xlsx");
	f = open_memstream(&buf, &len);
	if (!f)
		return from_rc(a, TB_ENOMEM, "out of memory");
	rc = tb_export(tb_dbpool_conn(a->pool), &o, f, &n, msg, sizeof(msg));
	if (fclose(f) != 0 && rc == TB_OK)
		rc = TB_ENOMEM;
	if (rc < 0) {
		free(buf);
		return from_rc(a, rc, msg[0] ? msg : "export failed");
	}
	/* a school or district the export found is a code: A-Z 0-9 - _ */
	snprintf(name, sizeof(name), "hoat-dong-%s.xlsx",
		 o.school ? o.school : o.district ? o.district : "tat-ca");
	if (o.format == TB_EXPORT_XLSX)
		return tb_resp_download_libc(a->c, 200, buf, len,
					     tb_export_format_ctype(o.format),
					     name);
	return tb_resp_body_libc(a->c, 200, buf, len,
				 tb_export_format_ctype(o.format));
}

static enum MHD_Result admin_enroll(struct admin *a)
{
	struct tb_org_school s;
	struct tb_org_names names;
	char token[TB_TOKEN_LEN + 1], msg[TB_MSG_LEN] = "";
	int64_t id = 0;
	cJSON *o;
	int rc;

	s.code = arg(a->c, "school");
	s.name = arg(a->c, "name");
	s.district = arg(a->c, "district");
	s.level = arg(a->c, "level");
	s.province = arg(a->c, "province");
	names.district_name = arg(a->c, "district_name");
	names.province_name = arg(a->c, "province_name");
	if (tb_dbpool_write_begin(a->pool, a->busy_ms) < 0)
		return from_rc(a, TB_EAGAIN, "the database is busy");
	rc = tb_auth_enroll_named(tb_dbpool_conn(a->pool), &s, &names, token,
				  &id, msg, sizeof(msg));
	tb_dbpool_write_end(a->pool);
	if (rc < 0)
		return from_rc(a, rc, msg[0] ? msg : "cannot enroll");
	o = cJSON_CreateObject();
	if (o) {
		cJSON_AddNumberToObject(o, "id", (double)id);
		cJSON_AddStringToObject(o, "school", s.code);
		cJSON_AddStringToObject(o, "token", token);
	}
	memset(token, 0, sizeof(token));
	return send_json(a, 200, o);
}

static enum MHD_Result admin_revoke(struct admin *a)
{
	const char *p = arg(a->c, "token_prefix"), *d = arg(a->c, "device");
	const char *s = arg(a->c, "school");
	char msg[TB_MSG_LEN] = "";
	int64_t n = 0;
	cJSON *o;
	int rc;

	if ((p != NULL) + (d != NULL) + (s != NULL) != 1)
		return from_rc(a, TB_EINVAL, "give one of token_prefix, device, "
			       "school");
	if (tb_dbpool_write_begin(a->pool, a->busy_ms) < 0)
		return from_rc(a, TB_EAGAIN, "the database is busy");
	rc = tb_auth_revoke(tb_dbpool_conn(a->pool),
			    p ? TB_REVOKE_PREFIX
			      : d ? TB_REVOKE_DEVICE : TB_REVOKE_SCHOOL,
			    p ? p : d ? d : s, &n, msg, sizeof(msg));
	tb_dbpool_write_end(a->pool);
	if (rc < 0)
		return from_rc(a, rc, msg[0] ? msg : "cannot revoke");
	o = cJSON_CreateObject();
	if (o)
		cJSON_AddNumberToObject(o, "revoked", (double)n);
	return send_json(a, 200, o);
}

/* Queues the units of l as JSON (an array, or one object), or the error
 * rc with msg; l is destroyed. */
static enum MHD_Result send_units(struct admin *a, int rc, const char *msg,
				  struct tb_unit_list *l, int one)
{
	char *body = rc == TB_OK ? tb_units_json(l, one) : NULL;

	tb_unit_list_destroy(l);
	if (rc < 0)
		return from_rc(a, rc, msg[0] ? msg : "cannot read the units");
	if (!body)
		return from_rc(a, TB_ENOMEM, "out of memory");
	return tb_resp_body(a->c, 200, body, strlen(body), NULL);
}

static enum MHD_Result admin_units(struct admin *a)
{
	struct tb_unit_list *l = NULL;
	char msg[512] = "";
	int rc;

	rc = tb_units_list(tb_dbpool_conn(a->pool), arg(a->c, "district"), &l,
			   msg, sizeof(msg));
	return send_units(a, rc, msg, l, 0);
}

static enum MHD_Result admin_unit(struct admin *a)
{
	struct tb_unit_change ch;
	struct tb_unit_list *l = NULL;
	char msg[512] = "";
	int rc = TB_OK;

	ch.code = arg(a->c, "code");
	ch.name = arg(a->c, "name");
	ch.district = arg(a->c, "district");
	ch.level = arg(a->c, "level");
	ch.close_from = arg(a->c, "close_from");
	ch.reopen_from = arg(a->c, "reopen_from");
	if (!ch.code)
		return from_rc(a, TB_EINVAL, "code: give the unit's code");
	if (tb_unit_change_any(&ch)) {
		if (tb_dbpool_write_begin(a->pool, a->busy_ms) < 0)
			return from_rc(a, TB_EAGAIN, "the database is busy");
		rc = tb_units_change(tb_dbpool_conn(a->pool), &ch, msg,
				     sizeof(msg));
		tb_dbpool_write_end(a->pool);
	}
	if (rc == TB_OK)
		rc = tb_units_get(tb_dbpool_conn(a->pool), ch.code, &l, msg,
				  sizeof(msg));
	return send_units(a, rc, msg, l, 1);
}

enum MHD_Result tb_admin_handle(struct MHD_Connection *c,
				struct tb_dbpool *pool,
				const struct tb_resp_env *env,
				long busy_timeout_ms, const char *sub,
				const char *method)
{
	struct admin a = { c, pool, env, busy_timeout_ms };
	char buf[128];
	const char *token = tb_resp_bearer(c, buf, sizeof(buf));
	int is_get = strcmp(method, "GET") == 0;
	int is_post = strcmp(method, "POST") == 0;
	int rc;

	if (!tb_dbpool_conn(pool))
		return from_rc(&a, TB_EAGAIN, "database unavailable");
	rc = token ? tb_auth_admin(tb_dbpool_conn(pool), token) : TB_EAUTH;
	if (rc == TB_EAUTH)
		return tb_resp_error(c, env, 401, NULL,
				     "missing, unknown or revoked admin token",
				     -1, 0);
	if (rc < 0)
		return from_rc(&a, rc, "the database is busy");
	if (strcmp(sub, "devices") == 0)
		return is_get ? admin_devices(&a) : tb_resp_not_allowed(c, "GET", sub);
	if (strcmp(sub, "export") == 0)
		return is_get ? admin_export(&a) : tb_resp_not_allowed(c, "GET", sub);
	if (strcmp(sub, "enroll") == 0)
		return is_post ? admin_enroll(&a) : tb_resp_not_allowed(c, "POST", sub);
	if (strcmp(sub, "revoke") == 0)
		return is_post ? admin_revoke(&a) : tb_resp_not_allowed(c, "POST", sub);
	if (strcmp(sub, "units") == 0)
		return is_get ? admin_units(&a) : tb_resp_not_allowed(c, "GET", sub);
	if (strcmp(sub, "unit") == 0)
		return is_post ? admin_unit(&a) : tb_resp_not_allowed(c, "POST", sub);
	if (strcmp(sub, "rejections") == 0) /* server/rejections.h */
		return is_get ? tb_rejections_handle(c, tb_dbpool_conn(pool), env)
			      : tb_resp_not_allowed(c, "GET", sub);
	return tb_resp_error(c, env, 404, NULL, "no such admin endpoint", -1, 0);
}
