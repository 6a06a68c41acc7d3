/* export.c - events as JSON or CSV (see export.h), and the dispatch to
 * XLSX (export_xlsx.c). JSON copies the stored body text; CSV parses it
 * back into a tb_event (tb_event_from_json) and writes the column table
 * built once from the kinds' field tables.
 */
#include "server/export.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "protocol/codec.h"
#include "server/db.h"
#include "server/export_int.h"
#include "server/org.h"
#include "server/sql.h"

static const char *const fixed_columns[] = {
	"kind", "id", "school", "date", "revision", "voided", "void_reason",
	"recorded_at", "device", "seq"
};
#define NFIXED (sizeof(fixed_columns) / sizeof(fixed_columns[0]))

void tb_export_cols_build(struct tb_export_cols *cols)
{
	int k;
	size_t i, j, nf;

	cols->n = 0;
	for (k = 0; k < TB_KIND_COUNT; k++) {
		const struct tb_field *f = tb_kind_fields((enum tb_kind)k, &nf);

		for (i = 0; f && i < nf; i++) {
			for (j = 0; j < cols->n; j++)
				if (strcmp(cols->name[j], f[i].name) == 0)
					break;
			if (j == cols->n && cols->n < TB_EXPORT_MAX_COLUMNS) {
				cols->type[cols->n] = f[i].type;
				cols->name[cols->n++] = f[i].name;
			}
		}
	}
	for (k = 0; k < TB_KIND_COUNT; k++)
		for (j = 0; j < cols->n; j++)
			cols->idx[k][j] = tb_field_index((enum tb_kind)k,
							 cols->name[j]);
}

int tb_export_format_parse(const char *s, enum tb_export_format *out)
{
	if (s && strcmp(s, "json") == 0)
		*out = TB_EXPORT_JSON;
	else if (s && strcmp(s, "csv") == 0)
		*out = TB_EXPORT_CSV;
	else if (s && strcmp(s, "xlsx") == 0)
		*out = TB_EXPORT_XLSX;
	else
		return TB_EINVAL;
	return TB_OK;
}

const char *tb_export_format_ctype(enum tb_export_format f)
{
	switch (f) {
	case TB_EXPORT_CSV: return "text/csv; charset=utf-8";
	case TB_EXPORT_XLSX:
		return "application/vnd.openxmlformats-officedocument."
		       "spreadsheetml.sheet";
	case TB_EXPORT_JSON: break;
	}
	return "application/json";
}

static int csv_header(FILE *out, const struct tb_export_cols *cols)
{
	size_t i;
	int rc = tb_csv_write_bom(out);

	for (i = 0; rc == TB_OK && i < NFIXED; i++)
		rc = tb_csv_write_field(out, fixed_columns[i], 0);
	for (i = 0; rc == TB_OK && i < cols->n; i++)
		rc = tb_csv_write_field(out, cols->name[i], i + 1 == cols->n);
	return rc;
}

static int csv_row(FILE *out, const struct tb_export_cols *cols,
		   const struct tb_event *e)
{
	char buf[TB_TEXT_MAX * 2 + 64], date[TB_DATE_LEN], t[TB_TIME_LEN];
	char rev[24], seq[24];
	const char *fixed[NFIXED];
	size_t i;
	int rc = TB_OK;

	snprintf(rev, sizeof(rev), "%lld", (long long)e->revision);
	snprintf(seq, sizeof(seq), "%lld", (long long)e->seq);
	fixed[0] = tb_kind_name(e->kind);
	fixed[1] = e->id;
	fixed[2] = e->school;
	fixed[3] = tb_date_format(e->date, date);
	fixed[4] = rev;
	fixed[5] = e->voided ? "yes" : "no";
	fixed[6] = e->void_reason ? e->void_reason : "";
	fixed[7] = e->recorded_at ? tb_time_format(e->recorded_at, t) : "";
	fixed[8] = e->device;
	fixed[9] = e->seq ? seq : "";
	for (i = 0; rc == TB_OK && i < NFIXED; i++)
		rc = tb_csv_write_field(out, fixed[i], cols->n == 0 &&
						       i + 1 == NFIXED);
	for (i = 0; rc == TB_OK && i < cols->n; i++) {
		int idx = cols->idx[e->kind][i];

		buf[0] = '\0';
		if (idx >= 0)
			tb_event_get(e, idx, buf, sizeof(buf));
		rc = tb_csv_write_field(out, buf, i + 1 == cols->n);
	}
	return rc;
}

int tb_export_parse(const char *body, struct tb_event *e, char *msg,
		    size_t msglen)
{
	cJSON *o = cJSON_Parse(body);
	int rc;

	if (!o) {
		snprintf(msg, msglen, "export: a stored event is not JSON");
		return TB_EIO;
	}
	tb_event_init(e, TB_KIND_OUTREACH); /* its envelope is read first */
	rc = tb_event_from_json(o, e, msg, msglen);
	cJSON_Delete(o);
	if (rc < 0) {
		tb_event_clear(e);
		return rc == TB_ENOMEM ? rc : TB_EIO;
	}
	return TB_OK;
}

static int csv_event(FILE *out, const struct tb_export_cols *cols,
		     const char *body, char *msg, size_t msglen)
{
	struct tb_event e;
	int rc = tb_export_parse(body, &e, msg, msglen);

	if (rc < 0)
		return rc;
	rc = csv_row(out, cols, &e);
	tb_event_clear(&e);
	return rc;
}

static int filter_check(struct tb_sql *db, const struct tb_export_opts *o,
			char *msg, size_t msglen)
{
	const char *code = o->school ? o->school : o->district;
	const char *want = o->school ? "school" : "district";
	char type[16];
	int rc;

	if (o->school && o->district) {
		snprintf(msg, msglen, "give a school or a district, not both");
		return TB_EINVAL;
	}
	if (!code)
		return TB_OK;
	rc = tb_org_unit_type(db, code, type);
	if (rc == TB_OK && strcmp(type, want) != 0)
		rc = TB_ENOTFOUND;
	if (rc == TB_ENOTFOUND)
		snprintf(msg, msglen, "no %s '%s'", want, code);
	return rc;
}

int tb_export_prepare(struct tb_sql *db, const char *sql,
		      const struct tb_export_opts *o, struct tb_stmt **st,
		      char *msg, size_t msglen)
{
	int pg = tb_sql_backend(db) == TB_SQL_PG;
	struct tb_buf q = {0};
	int src = tb_buf_printf(&q, "%s ORDER BY school%s, date%s, id%s", sql,
				pg ? " COLLATE \"C\"" : "",
				pg ? " COLLATE \"C\"" : "",
				pg ? " COLLATE \"C\"" : "");

	if (src == TB_OK)
		src = tb_sql_prepare(db, q.p, TB_SQL_STREAM, st);
	tb_buf_free(&q);
	if (src == TB_ENOMEM) {
		snprintf(msg, msglen, "export: out of memory");
		return src;
	}
	if (src != TB_OK) {
		snprintf(msg, msglen, "export: %s", tb_sql_errmsg(db));
		tb_sql_finalize(*st);
		*st = NULL;
		return tb_sql_err(src);
	}
	tb_sql_bind_text(*st, 1, o->school, -1);
	tb_sql_bind_text(*st, 2, o->district, -1);
	tb_sql_bind_int64(*st, 3, o->include_voided ? 1 : 0);
	return TB_OK;
}

int tb_export(struct tb_sql *db, const struct tb_export_opts *o, FILE *out,
	      int64_t *count, char *msg, size_t msglen)
{
	struct tb_export_cols cols_mem;
	struct tb_export_cols *cols = &cols_mem;
	struct tb_stmt *st = NULL;
	int src = TB_SQL_DONE, rc;
	int64_t n = 0;

	*count = 0;
	rc = filter_check(db, o, msg, msglen);
	if (rc < 0)
		return rc;
	if (o->format == TB_EXPORT_XLSX)
		return tb_export_xlsx(db, o, out, count, msg, msglen);
	tb_export_cols_build(cols);
	rc = tb_export_prepare(db, "SELECT body FROM events" TB_EXPORT_FILTER,
			       o, &st, msg, msglen);
	if (rc < 0)
		goto out;
	if (o->format == TB_EXPORT_CSV)
		rc = csv_header(out, cols);
	else
		rc = fputs("[", out) < 0 ? TB_EIO : TB_OK;
	while (rc == TB_OK && (src = tb_sql_step(st)) == TB_SQL_ROW) {
		const char *body = tb_sql_column_text(st, 0);

		if (!body)
			continue;
		if (o->format == TB_EXPORT_CSV)
			rc = csv_event(out, cols, body, msg, msglen);
		else if (fprintf(out, "%s\n%s", n ? "," : "", body) < 0)
			rc = TB_EIO;
		n++;
	}
	if (rc == TB_OK && src != TB_SQL_DONE) {
		snprintf(msg, msglen, "export: %s", tb_sql_errmsg(db));
		rc = tb_sql_err(src);
	}
	if (rc == TB_OK && o->format == TB_EXPORT_JSON &&
	    fputs(n ? "\n]\n" : "]\n", out) < 0)
		rc = TB_EIO;
	if (rc == TB_OK && fflush(out) != 0)
		rc = TB_EIO;
	*count = n;
out:
	tb_sql_finalize(st);
	return rc;
}
