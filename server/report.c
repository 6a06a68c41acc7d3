/* report.c - the plan report engine (see report.h; the rules are in
 * plans/README.md).
 *
 * A run loads the units under the org unit into an array with a hash index
 * by code, then gathers per unit, in C, what the formulas need:
 *   - activity sums of the period (per kind and column) and, for
 *     cumulative formulas, from the plan's start to the period's end;
 *   - per every_quarter formula, which quarters each unit posted in;
 *   - each unit's latest snapshot figures as of the period's end (per
 *     field, and per ratio the latest snapshot giving both figures).
 * Each indicator is then one loop over the units, adding into the total
 * and the unit's district at once. Units live in one block owned by the
 * report, so `missing` lists point into it without copies.
 *
 * The units are loaded in report_units.c, gathered in report_gather.c and
 * evaluated in report_eval.c (the run they share: report_run.h); this
 * file runs them in order and owns the result.
 */
#include "server/report.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/report_run.h"
#include "server/rollup.h"
#include "server/sql.h"

int report_fail(int rc, char *msg, size_t msglen, const char *what,
		struct tb_sql *db)
{
	if (msg && msglen && !msg[0])
		snprintf(msg, msglen, "report: %s: %s", what,
			 rc == TB_ENOMEM ? "out of memory" : tb_sql_errmsg(db));
	return rc;
}

const char *tb_report_status_name(enum tb_report_status s)
{
	switch (s) {
	case TB_ST_ON_TRACK: return "on_track";
	case TB_ST_BEHIND: return "behind";
	case TB_ST_NO_TARGET: return "no_target";
	case TB_ST_NO_DATA: return "no_data";
	case TB_ST_NOT_COLLECTED: return "not_collected";
	}
	return "?";
}

int tb_report_init(struct tb_sql *db, char *msg, size_t msglen)
{
	return tb_rollup_init(db, msg, msglen);
}

/* ---- a run -------------------------------------------------------------- */

static int needs_cumulative(const struct tb_plan *p)
{
	for (size_t k = 0; k < p->count; k++)
		if (p->ind[k].f.cumulative)
			return 1;
	return 0;
}

/* The roll-up columns the plan's sums and the Action Month read. */
static uint32_t columns(const struct tb_plan *p, int detail)
{
	static const char *const am[] = {"parents", "students",
					 "teachers_staff", "officials"};
	uint32_t m = 0;
	int c;

	for (size_t k = 0; k < p->count; k++)
		if (p->ind[k].f.type == TB_F_SUM &&
		    (c = tb_rollup_col(p->ind[k].f.name)) >= 0)
			m |= 1u << c;
	for (size_t i = 0; detail && i < sizeof(am) / sizeof(am[0]); i++)
		if ((c = tb_rollup_col(am[i])) >= 0)
			m |= 1u << c;
	return m;
}

static int compute(struct run *x, char *msg, size_t msglen)
{
	struct tb_report *r = x->r;
	int rc;

	x->cols = columns(r->plan, x->o->detail);
	x->col_of = tb_calloc(r->plan->count ? r->plan->count : 1, sizeof(int));
	if (!x->col_of)
		return TB_ENOMEM;
	for (size_t k = 0; k < r->plan->count; k++)
		if (r->plan->ind[k].f.type == TB_F_SUM)
			x->col_of[k] = tb_rollup_col(r->plan->ind[k].f.name) + 1;
	rc = report_org_unit(x, msg, msglen);
	if (rc == TB_OK)
		rc = report_units_load(x, msg, msglen);
	if (rc == TB_OK && x->o->detail)
		rc = report_districts_load(x, msg, msglen);
	if (rc == TB_OK)
		rc = report_closures_load(x);
	if (rc == TB_OK)
		rc = report_province(x);
	if (rc == TB_OK)
		rc = report_gather(x, r->period.from, r->period.to,
			    (1u << TB_KIND_COUNT) - 1, &x->acc);
	x->cum = x->acc;
	if (rc == TB_OK && needs_cumulative(r->plan) &&
	    r->period.from != r->plan->start)
		rc = report_gather_cumulative(x);
	if (rc == TB_OK)
		rc = report_gather_snaps(x);
	for (size_t k = 0; rc == TB_OK && k < r->nrows; k++)
		rc = report_evaluate(x, k);
	if (rc == TB_OK && x->o->series)
		rc = report_series(x);
	if (rc == TB_OK && x->o->detail)
		rc = report_action_month(x);
	if (rc == TB_OK && x->o->detail)
		rc = report_stale_units(x);
	if (rc == TB_OK && x->o->detail)
		rc = report_completeness(x);
	if (rc < 0)
		rc = report_fail(rc, msg, msglen, "reading the roll-ups", x->db);
	return rc;
}

static void run_free(struct run *x)
{
	if (x->cum != x->acc)
		tb_free(x->cum);
	tb_free(x->acc);
	tb_free(x->arrived);
	tb_free(x->got);
	tb_free(x->quarters);
	tb_free(x->col_of);
	tb_free(x->codes);
}

int tb_report_run(struct tb_sql *db, const struct tb_plan *plan, const char *period,
		  const struct tb_report_opts *o, struct tb_report **out,
		  char *msg, size_t msglen)
{
	static const struct tb_report_opts defaults = {0};
	struct tb_report *r = NULL;
	struct run x;
	int rc, tx = 0;

	*out = NULL;
	if (msg && msglen)
		msg[0] = '\0';
	memset(&x, 0, sizeof(x));
	x.db = db;
	x.o = o ? o : &defaults;
	x.stride = 1 + tb_rollup_ncols();
	r = tb_calloc(1, sizeof(*r));
	if (!r)
		return TB_ENOMEM;
	r->plan = plan;
	x.r = r;
	if (!period || tb_period_parse(period, &r->period) < 0) {
		snprintf(msg, msglen, "period: \"%s\" is not 2025, 2025-H1, "
			 "2025-Q3, 2025-11, action-month-2025 or "
			 "cumulative:2025-12-31", period ? period : "");
		rc = TB_EINVAL;
		goto out;
	}
	if (r->period.kind == TB_PERIOD_CUMULATIVE)
		r->period.from = plan->start;
	r->generated_at = x.o->now ? x.o->now : tb_time_now();
	r->stale_days = x.o->stale_days > 0 ? x.o->stale_days
					    : TB_REPORT_STALE_DAYS;
	r->nrows = plan->count;
	x.p = tb_calloc(1, sizeof(*x.p));
	r->priv_ = x.p; /* the report owns it from here: destroy frees it */
	r->rows = tb_calloc(plan->count ? plan->count : 1, sizeof(*r->rows));
	if (!x.p || !r->rows) {
		rc = TB_ENOMEM;
		goto out;
	}
	if (!tb_sql_in_txn(db)) {
		rc = tb_sql_begin(db, 0);
		tx = rc == TB_OK;
		if (rc < 0)
			goto out;
	}
	rc = compute(&x, msg, msglen);
out:
	/* only read: if even COMMIT fails (memory), roll back, so the
	 * connection (a pooled one in the server) is never left inside a
	 * transaction that would make its next BEGIN fail */
	if (tx && tb_sql_exec(db, "COMMIT", NULL, 0) != TB_OK)
		tb_sql_exec(db, "ROLLBACK", NULL, 0);
	run_free(&x);
	if (rc < 0) {
		tb_report_destroy(r);
		r = NULL;
	}
	*out = r;
	return rc;
}

void tb_report_destroy(struct tb_report *r)
{
	struct priv *p;

	if (!r)
		return;
	p = r->priv_;
	for (size_t i = 0; r->rows && i < r->nrows; i++) {
		tb_free(r->rows[i].missing);
		tb_free(r->rows[i].series);
	}
	tb_free(r->rows);
	for (size_t i = 0; r->districts && i < r->ndistricts; i++) {
		tb_free(r->districts[i].name);
		tb_free(r->districts[i].v);
	}
	tb_free(r->districts);
	tb_free(r->stale);
	tb_free(r->schools);
	tb_free(r->province_code);
	tb_free(r->province_name);
	tb_free(r->unit_name);
	for (size_t i = 0; p && p->units && i < p->nunits; i++)
		tb_free(p->units[i].name);
	if (p) {
		tb_free(p->units);
		tb_free(p->slot);
		tb_free(p);
	}
	tb_free(r);
}

const struct tb_report_row *tb_report_find(const struct tb_report *r,
					   const char *id)
{
	for (size_t i = 0; r && i < r->nrows; i++)
		if (strcmp(r->rows[i].ind->id, id) == 0)
			return &r->rows[i];
	return NULL;
}

const char *tb_report_school_name(const struct tb_report *r, const char *code)
{
	const struct priv *p = r ? r->priv_ : NULL;
	int i = p && p->slot ? report_unit_find(p, code) : -1;

	return i < 0 ? NULL : p->units[i].name;
}

const char *tb_report_district_name(const struct tb_report *r,
				    const char *code)
{
	for (size_t j = 0; r && j < r->ndistricts; j++)
		if (strcmp(r->districts[j].code, code) == 0)
			return r->districts[j].name;
	return NULL;
}
