/* units_out.c - the units list as text, JSON and CSV (see units.h).
 *
 * Text is for the officer at the terminal: one line per unit, columns
 * aligned by characters (not bytes, so Vietnamese names line up), times in
 * local time (Asia/Ho_Chi_Minh, UTC+7 all year) and dates as dd/mm/yyyy.
 * JSON and CSV are for programs and spreadsheets: dates YYYY-MM-DD, times
 * UTC "YYYY-MM-DDTHH:MM:SSZ", as the export writes them.
 */
#include "server/units.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "common/csv.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "protocol/json.h"


int tb_units_format_parse(const char *s, enum tb_units_format *out)
{
	if (!s || strcmp(s, "text") == 0)
		*out = TB_UNITS_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = TB_UNITS_JSON;
	else if (strcmp(s, "csv") == 0)
		*out = TB_UNITS_CSV;
	else
		return TB_EINVAL;
	return TB_OK;
}

/* ---- text --------------------------------------------------------------- */

/* "01/09/2025" from "2025-09-01" (as stored); buf TB_DATE_LEN. */
static const char *dmy(const char *ymd, char *buf)
{
	int32_t day;

	if (tb_date_parse(ymd, &day) < 0)
		return ymd;
	return tb_date_format_vn(day, buf);
}

/* "20/11/2025 14:05" in local time, or "-" for 0; buf TB_TIME_LEN. */
static const char *local_time(int64_t t, char *buf)
{
	return t <= 0 ? "-" : tb_time_format_vn(t, buf);
}

/* The STATUS column: open or closed today, and the closure's dates. */
static const char *status_text(const struct tb_unit_row *r, char *buf,
			       size_t len)
{
	char a[TB_DATE_LEN], b[TB_DATE_LEN], today[TB_DATE_LEN];

	if (!r->closed_from[0])
		return "open";
	dmy(r->closed_from, a);
	dmy(r->reopened_from, b);
	tb_date_format(tb_date_today(), today);
	if (r->closed)
		snprintf(buf, len, "closed from %s%s%s", a,
			 r->reopened_from[0] ? ", reopens " : "",
			 r->reopened_from[0] ? b : "");
	else if (strcmp(r->closed_from, today) > 0)
		snprintf(buf, len, "open, closes from %s%s%s", a,
			 r->reopened_from[0] ? " to reopen " : "",
			 r->reopened_from[0] ? b : "");
	else
		snprintf(buf, len, "open again from %s (closed from %s)", b, a);
	return buf;
}

/* Characters (code points) of a UTF-8 string. */
static size_t chars(const char *s)
{
	size_t n = 0, k;
	uint32_t cp;

	while (*s) {
		k = tb_utf8_next(s, &cp);
		s += k ? k : 1;
		n++;
	}
	return n;
}

/* s, then spaces up to width characters and two more. */
static void pad(FILE *f, const char *s, size_t width)
{
	size_t n = chars(s);

	fputs(s, f);
	for (; n < width + 2; n++)
		fputc(' ', f);
}

enum { C_CODE, C_NAME, C_TYPE, C_LEVEL, C_DISTRICT, C_PROVINCE, C_DEVICES,
       C_SEEN, C_STATUS, NCOLS };

static const char *const col_title[NCOLS] = {
	"CODE", "NAME", "TYPE", "LEVEL", "DISTRICT", "PROVINCE", "DEVICES",
	"LAST SEEN", "STATUS"
};

/* The text of column c of row r; bufs holds what is formatted. */
static const char *cell(const struct tb_unit_row *r, int c, char *buf,
			size_t len)
{
	switch (c) {
	case C_CODE: return r->code;
	case C_NAME: return r->name;
	case C_TYPE: return r->type;
	case C_LEVEL: return r->level[0] ? r->level : "-";
	case C_DISTRICT:
		if (!r->district[0])
			return "-";
		snprintf(buf, len, "%s %s", r->district,
			 r->district_name ? r->district_name : "");
		return buf;
	case C_PROVINCE:
		if (!r->province[0])
			return "-";
		snprintf(buf, len, "%s %s", r->province,
			 r->province_name ? r->province_name : "");
		return buf;
	case C_DEVICES:
		snprintf(buf, len, "%ld", r->devices);
		return buf;
	case C_SEEN: return local_time(r->last_seen, buf);
	default: return status_text(r, buf, len);
	}
}

static int write_text(const struct tb_unit_list *l, FILE *f)
{
	size_t w[NCOLS], i;
	char buf[512];
	int c;

	for (c = 0; c < NCOLS; c++)
		w[c] = chars(col_title[c]);
	for (i = 0; i < l->count; i++)
		for (c = 0; c < NCOLS; c++) {
			size_t n = chars(cell(&l->rows[i], c, buf, sizeof(buf)));

			if (n > w[c])
				w[c] = n;
		}
	for (c = 0; c < NCOLS; c++)
		c + 1 < NCOLS ? pad(f, col_title[c], w[c])
			      : (void)fputs(col_title[c], f);
	fputc('\n', f);
	for (i = 0; i < l->count; i++) {
		for (c = 0; c + 1 < NCOLS; c++)
			pad(f, cell(&l->rows[i], c, buf, sizeof(buf)), w[c]);
		fprintf(f, "%s\n", cell(&l->rows[i], c, buf, sizeof(buf)));
	}
	return ferror(f) ? TB_EIO : TB_OK;
}

/* ---- JSON --------------------------------------------------------------- */

static void add_text(cJSON *o, const char *key, const char *s)
{
	if (s && s[0])
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *unit_json(const struct tb_unit_row *r)
{
	char t[TB_TIME_LEN];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	add_text(o, "code", r->code);
	add_text(o, "name", r->name);
	add_text(o, "type", r->type);
	add_text(o, "level", r->level);
	add_text(o, "district", r->district);
	add_text(o, "district_name", r->district_name);
	add_text(o, "province", r->province);
	add_text(o, "province_name", r->province_name);
	cJSON_AddNumberToObject(o, "devices", (double)r->devices);
	add_text(o, "last_seen", r->last_seen ? tb_time_format(r->last_seen, t)
					      : NULL);
	cJSON_AddBoolToObject(o, "closed", r->closed);
	add_text(o, "closed_from", r->closed_from);
	add_text(o, "reopened_from", r->reopened_from);
	/* cJSON_Add* on a failed allocation leaves the key out: the size
	 * check says whether every key made it. */
	if (cJSON_GetArraySize(o) != 13) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *unit_item(const void *arg, size_t i)
{
	return unit_json(&((const struct tb_unit_list *)arg)->rows[i]);
}

char *tb_units_json(const struct tb_unit_list *l, int one)
{
	cJSON *root = NULL;
	char *text = NULL, *out;

	if (!one)
		root = tb_json_array_of(l->count, unit_item, l);
	else if (l->count > 0)
		root = unit_json(&l->rows[0]);
	if (root)
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	out = tb_strdup(text);
	cJSON_free(text);
	return out;
}

/* ---- CSV ---------------------------------------------------------------- */

static const char *const csv_cols[] = {
	"code", "name", "type", "level", "district", "district_name",
	"province", "province_name", "devices", "last_seen", "closed",
	"closed_from", "reopened_from"
};
#define NCSV (sizeof(csv_cols) / sizeof(csv_cols[0]))

static int csv_unit(FILE *f, const struct tb_unit_row *r)
{
	char n[24], t[TB_TIME_LEN];
	const char *v[NCSV];
	size_t i;
	int rc = TB_OK;

	snprintf(n, sizeof(n), "%ld", r->devices);
	v[0] = r->code;
	v[1] = r->name;
	v[2] = r->type;
	v[3] = r->level;
	v[4] = r->district;
	v[5] = r->district_name ? r->district_name : "";
	v[6] = r->province;
	v[7] = r->province_name ? r->province_name : "";
	v[8] = n;
	v[9] = r->last_seen ? tb_time_format(r->last_seen, t) : "";
	v[10] = r->closed ? "yes" : "no";
	v[11] = r->closed_from;
	v[12] = r->reopened_from;
	for (i = 0; rc == TB_OK && i < NCSV; i++)
		rc = tb_csv_write_field(f, v[i], i + 1 == NCSV);
	return rc;
}

static int write_csv(const struct tb_unit_list *l, FILE *f)
{
	size_t i;
	int rc = tb_csv_write_bom(f);

	for (i = 0; rc == TB_OK && i < NCSV; i++)
		rc = tb_csv_write_field(f, csv_cols[i], i + 1 == NCSV);
	for (i = 0; rc == TB_OK && i < l->count; i++)
		rc = csv_unit(f, &l->rows[i]);
	return rc;
}

int tb_units_write(const struct tb_unit_list *l, enum tb_units_format fmt,
		   FILE *f)
{
	char *json;
	int rc;

	if (fmt == TB_UNITS_TEXT)
		return write_text(l, f);
	if (fmt == TB_UNITS_CSV)
		return write_csv(l, f);
	json = tb_units_json(l, 0);
	if (!json)
		return TB_ENOMEM;
	rc = fprintf(f, "%s\n", json) < 0 ? TB_EIO : TB_OK;
	tb_free(json);
	return rc;
}
