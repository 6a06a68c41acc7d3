/* export.c - events as JSON or CSV (see export.h). JSON copies the stored
 * body text; CSV parses it back into a tb_event (tb_event_from_json) and
 * writes the column table built once from the kinds' field tables.
 */
#include "server/export.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "protocol/codec.h"
#include "server/db.h"
#include "server/org.h"

#define MAX_COLUMNS (TB_KIND_COUNT * TB_FIELDS_MAX)

static const char *const fixed_columns[] = {
	"kind", "id", "school", "date", "revision", "voided", "void_reason",
	"recorded_at", "device", "seq"
};
#define NFIXED (sizeof(fixed_columns) / sizeof(fixed_columns[0]))

/* Field columns after the fixed ones, and for each kind the index of each
 * column's field in that kind (-1: the kind has no such field). */
struct columns {
	size_t n;
	const char *name[MAX_COLUMNS];
	int idx[TB_KIND_COUNT][MAX_COLUMNS];
};

static void columns_build(struct columns *cols)
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
			if (j == cols->n && cols->n < MAX_COLUMNS)
				cols->name[cols->n++] = f[i].name;
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
	else
		return TB_EINVAL;
	return TB_OK;
}

static int csv_header(FILE *out, const struct columns *cols)
{
	size_t i;
	int rc = tb_csv_write_bom(out);

	for (i = 0; rc == TB_OK && i < NFIXED; i++)
		rc = tb_csv_write_field(out, fixed_columns[i], 0);
	for (i = 0; rc == TB_OK && i < cols->n; i++)
		rc = tb_csv_write_field(out, cols->name[i], i + 1 == cols->n);
	return rc;
}

static int csv_row(FILE *out, const struct columns *cols,
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

static int csv_event(FILE *out, const struct columns *cols, const char *body,
		     char *msg, size_t msglen)
{
	struct tb_event e;
	cJSON *o = cJSON_Parse(body);
	int rc;

	if (!o) {
		snprintf(msg, msglen, "export: a stored event is not JSON");
		return TB_EIO;
	}
	tb_event_init(&e, TB_KIND_OUTREACH); /* its envelope is read first */
	rc = tb_event_from_json(o, &e, msg, msglen);
	cJSON_Delete(o);
	if (rc < 0)
		return rc == TB_ENOMEM ? rc : TB_EIO;
	rc = csv_row(out, cols, &e);
	tb_event_clear(&e);
	return rc;
}

static int filter_check(sqlite3 *db, const struct tb_export_opts *o,
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

int tb_export(sqlite3 *db, const struct tb_export_opts *o, FILE *out,
	      int64_t *count, char *msg, size_t msglen)
{
	struct columns cols_mem;
	struct columns *cols = &cols_mem;
	sqlite3_stmt *st = NULL;
	int src, rc;
	int64_t n = 0;

	*count = 0;
	rc = filter_check(db, o, msg, msglen);
	if (rc < 0)
		return rc;
	columns_build(cols);
	src = sqlite3_prepare_v2(db,
		"SELECT body FROM events WHERE (?1 IS NULL OR school = ?1)"
		" AND (?2 IS NULL OR school IN (SELECT code FROM units"
		" WHERE district = ?2)) AND (?3 OR voided = 0)"
		" ORDER BY school, date, id", -1, &st, NULL);
	if (src != SQLITE_OK) {
		snprintf(msg, msglen, "export: %s", sqlite3_errmsg(db));
		rc = tb_db_err(src);
		goto out;
	}
	sqlite3_bind_text(st, 1, o->school, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, o->district, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, o->include_voided ? 1 : 0);
	if (o->format == TB_EXPORT_CSV)
		rc = csv_header(out, cols);
	else
		rc = fputs("[", out) < 0 ? TB_EIO : TB_OK;
	while (rc == TB_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_text(st, 0);

		if (!body)
			continue;
		if (o->format == TB_EXPORT_CSV)
			rc = csv_event(out, cols, body, msg, msglen);
		else if (fprintf(out, "%s\n%s", n ? "," : "", body) < 0)
			rc = TB_EIO;
		n++;
	}
	if (rc == TB_OK && src != SQLITE_DONE) {
		snprintf(msg, msglen, "export: %s", sqlite3_errmsg(db));
		rc = tb_db_err(src);
	}
	if (rc == TB_OK && o->format == TB_EXPORT_JSON &&
	    fputs(n ? "\n]\n" : "]\n", out) < 0)
		rc = TB_EIO;
	if (rc == TB_OK && fflush(out) != 0)
		rc = TB_EIO;
	*count = n;
out:
	sqlite3_finalize(st);
	return rc;
}
