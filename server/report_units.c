/* report_units.c - a report run's units: the units under the org unit in
 * one block with a hash index by code, and the districts for the detail
 * (see report_run.h). Called by report.c and report_eval.c.
 */
#include "server/sql.h"
#include "server/report_run.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/rollup.h"

/* ---- units -------------------------------------------------------------- */

static uint32_t hash_code(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int index_build(struct priv *p)
{
	p->cap = 16;
	while (p->cap < p->nunits * 2)
		p->cap *= 2;
	p->slot = tb_calloc(p->cap, sizeof(*p->slot));
	if (!p->slot)
		return TB_ENOMEM;
	for (size_t i = 0; i < p->nunits; i++) {
		size_t h = hash_code(p->units[i].code) & (p->cap - 1);

		while (p->slot[h])
			h = (h + 1) & (p->cap - 1);
		p->slot[h] = (int32_t)i + 1;
	}
	return TB_OK;
}

int report_unit_find(const struct priv *p, const char *code)
{
	size_t h = hash_code(code) & (p->cap - 1);

	while (p->slot[h]) {
		int i = p->slot[h] - 1;

		if (strcmp(p->units[i].code, code) == 0)
			return i;
		h = (h + 1) & (p->cap - 1);
	}
	return -1;
}

/* Fills r->unit_type and unit_name for the org unit. */
int report_org_unit(struct run *x, char *msg, size_t msglen)
{
	struct tb_report *r = x->r;
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	if (!x->o->unit || !x->o->unit[0] || strcmp(x->o->unit, "all") == 0) {
		snprintf(r->unit, sizeof(r->unit), "all");
		snprintf(r->unit_type, sizeof(r->unit_type), "all");
		return TB_OK;
	}
	snprintf(r->unit, sizeof(r->unit), "%s", x->o->unit);
	src = tb_sql_prepare(x->db, "SELECT type, name FROM units WHERE"
	                         " code = ?1", 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, x->o->unit, -1);
		src = tb_sql_step(st);
	}
	if (src == TB_SQL_ROW) {
		snprintf(r->unit_type, sizeof(r->unit_type), "%s",
		         tb_sql_column_text(st, 0));
		r->unit_name =
		    tb_strdup(tb_sql_column_text(st, 1));
		if (!r->unit_name)
			rc = TB_ENOMEM;
	} else if (src == TB_SQL_DONE) {
		snprintf(msg, msglen,
		         "unit: no school, district or province "
		         "with code %s",
		         x->o->unit);
		rc = TB_ENOTFOUND;
	} else {
		rc = report_fail(tb_sql_err(src), msg, msglen, "units", x->db);
	}
	tb_sql_finalize(st);
	return rc;
}

/* Appends the unit of st's current row to p->units (cap slots). */
static int unit_add(struct priv *p, struct tb_stmt *st, size_t *cap)
{
	struct unit *u;

	if (p->nunits == *cap) {
		struct unit *nu;
		size_t ncap = *cap ? *cap * 2 : 64;

		nu = tb_realloc(p->units, ncap * sizeof(*nu));
		if (!nu)
			return TB_ENOMEM;
		p->units = nu;
		*cap = ncap;
	}
	u = &p->units[p->nunits];
	memset(u, 0, sizeof(*u));
	snprintf(u->code, sizeof(u->code), "%s",
		 tb_sql_column_text(st, 0));
	u->level = tb_plan_level_bit(tb_sql_column_text(st, 2));
	snprintf(u->level_name, sizeof(u->level_name), "%s",
		 tb_sql_column_null(st, 2)
			 ? ""
			 : tb_sql_column_text(st, 2));
	snprintf(u->pcode, sizeof(u->pcode), "%s",
		 tb_sql_column_text(st, 4));
	snprintf(u->dcode, sizeof(u->dcode), "%s",
		 tb_sql_column_text(st, 3));
	u->district = -1;
	u->name = tb_strdup(tb_sql_column_text(st, 1));
	p->nunits++;
	return u->name ? TB_OK : TB_ENOMEM;
}

/* x->codes: the units' codes in order, for tb_rollup_scan. */
static int codes_build(struct run *x)
{
	const struct priv *p = x->p;

	x->codes = tb_malloc((p->nunits ? p->nunits : 1) * sizeof(*x->codes));
	if (!x->codes)
		return TB_ENOMEM;
	for (size_t i = 0; i < p->nunits; i++)
		x->codes[i] = p->units[i].code;
	return TB_OK;
}

int report_units_load(struct run *x, char *msg, size_t msglen)
{
	static const char base[] =
	    "SELECT code, name, level, coalesce(district, ''),"
	    " coalesce(province, '') FROM units"
	    " WHERE type = 'school'";
	struct priv *p = x->p;
	const char *t = x->r->unit_type;
	/* by district and code as SQLite compares text (bytes), whatever
	 * the collation of a PostgreSQL database */
	const char *order = tb_sql_backend(x->db) == TB_SQL_PG
	                        ? " ORDER BY coalesce(district, '') COLLATE \"C\","
	                          " code COLLATE \"C\""
	                        : " ORDER BY 4, 1";
	char sql[256];
	struct tb_stmt *st = NULL;
	size_t cap = 0;
	int src, rc = TB_OK;

	snprintf(sql, sizeof(sql), "%s%s%s", base,
	         strcmp(t, "all") == 0        ? ""
	         : strcmp(t, "school") == 0   ? " AND code = ?1"
	         : strcmp(t, "district") == 0 ? " AND district = ?1"
	                                      : " AND province = ?1",
	         order);
	src = tb_sql_prepare(x->db, sql, 0, &st);
	if (src != TB_OK)
		return report_fail(tb_sql_err(src), msg, msglen, "units", x->db);
	if (strcmp(t, "all") != 0)
		tb_sql_bind_text(st, 1, x->r->unit, -1);
	while (rc == TB_OK && (src = tb_sql_step(st)) == TB_SQL_ROW)
		rc = unit_add(p, st, &cap);
	if (rc == TB_OK && src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	tb_sql_finalize(st);
	if (rc == TB_OK)
		rc = index_build(p);
	if (rc == TB_OK)
		rc = codes_build(x);
	x->r->units = (long)p->nunits;
	return rc < 0 ? report_fail(rc, msg, msglen, "units", x->db) : rc;
}

/* The districts of the units (they are ordered by district), named. */
int report_districts_load(struct run *x, char *msg, size_t msglen)
{
	struct tb_report *r = x->r;
	struct priv *p = x->p;
	struct tb_stmt *st = NULL;
	size_t i, n = 0;
	int rc = TB_OK, src;

	for (i = 0; i < p->nunits; i++)
		if (i == 0 ||
		    strcmp(p->units[i].dcode, p->units[i - 1].dcode) != 0)
			n++;
	r->districts = tb_calloc(n ? n : 1, sizeof(*r->districts));
	if (!r->districts)
		return TB_ENOMEM;
	for (i = 0; i < p->nunits; i++) {
		struct unit *u = &p->units[i];

		if (i == 0 || strcmp(u->dcode, p->units[i - 1].dcode) != 0)
			snprintf(r->districts[r->ndistricts++].code,
			         sizeof(r->districts[0].code), "%s", u->dcode);
		u->district = (int)r->ndistricts - 1;
		r->districts[u->district].units++;
	}
	src = tb_sql_prepare(x->db, "SELECT name FROM units WHERE code = ?1", 0, &st);
	if (src != TB_OK)
		return report_fail(tb_sql_err(src), msg, msglen, "districts",
		                   x->db);
	for (i = 0; i < r->ndistricts && rc == TB_OK; i++) {
		struct tb_report_district *d = &r->districts[i];
		const char *name = d->code; /* a district not in units */

		tb_sql_reset(st);
		tb_sql_bind_text(st, 1, d->code, -1);
		src = tb_sql_step(st);
		if (src == TB_SQL_ROW)
			name = tb_sql_column_text(st, 0);
		else if (src != TB_SQL_DONE)
			rc = report_fail(tb_sql_err(src), msg, msglen, "districts",
			                 x->db);
		if (rc == TB_OK && !name) /* names are NOT NULL: memory */
			rc = TB_ENOMEM;
		if (rc == TB_OK) {
			d->name = tb_strdup(name);
			d->v = tb_calloc(r->nrows ? r->nrows : 1, sizeof(*d->v));
			if (!d->name || !d->v)
				rc = TB_ENOMEM;
		}
	}
	tb_sql_finalize(st);
	return rc;
}
