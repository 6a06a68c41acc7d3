/* report_eval.c - evaluating a report's indicators over the gathered
 * figures (one loop over the units per indicator, adding into the total
 * and the unit's district at once), their statuses against the targets,
 * the Action Month detail and the stale units (see report_run.h). Called
 * by report.c.
 */
#include "server/sql.h"
#include "server/report_run.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/rollup.h"

/* ---- evaluating --------------------------------------------------------- */

struct agg {
	long expected, reported, yes;
	int64_t sum, cum;
	int cum_any;
	int64_t num, den;
};

/* Sum of column col (0 = n) over the formula's kinds in b. */
static int64_t kinds_sum(const struct run *x, const int64_t *acc, size_t i,
                         unsigned kinds, int col)
{
	int64_t s = 0;

	for (int k = 0; k < TB_KIND_COUNT; k++)
		if (kinds & (1u << k))
			s += acc[((size_t)i * TB_KIND_COUNT + (size_t)k) *
			             x->stride +
			         (size_t)col];
	return s;
}

/* 1 if unit i has an event of any kind in the period. */
static int active(const struct run *x, size_t i)
{
	return kinds_sum(x, x->acc, i, (1u << TB_KIND_COUNT) - 1, 0) > 0;
}

static int all_quarters(const struct run *x, size_t i)
{
	for (size_t q = 0; q < x->nq; q++)
		if (!x->quarters[i * x->nq + q])
			return 0;
	return 1;
}

/* Adds unit i's contribution to indicator k into a; 1 if it reported. */
static int contribute(const struct run *x, size_t k, size_t i, struct agg *a)
{
	const struct tb_plan_formula *f = &x->r->plan->ind[k].f;
	int col = x->col_of[k];
	const struct tb_rollup_got *g = &x->got[i * x->r->plan->count + k];

	switch (f->type) {
	case TB_F_SUM:
	case TB_F_COUNT:
		if (f->cumulative) {
			int64_t c = kinds_sum(x, x->cum, i, f->kinds, col);

			a->cum += c;
			a->cum_any |=
			    kinds_sum(x, x->cum, i, (1u << TB_KIND_COUNT) - 1,
			              0) > 0;
		}
		if (!active(x, i))
			return 0;
		a->sum += kinds_sum(x, x->acc, i, f->kinds, col);
		return 1;
	case TB_F_SHARE_UNITS:
		if (!g->found)
			return 0;
		a->yes += g->v[0] > 0;
		return 1;
	case TB_F_RATIO:
		if (!g->found)
			return 0;
		a->num += g->v[0];
		a->den += g->v[1];
		return 1;
	case TB_F_EVERY_QUARTER:
		if (!active(x, i))
			return 0;
		a->yes += all_quarters(x, i);
		return 1;
	case TB_F_NOT_COLLECTED:
		return 0;
	}
	return 0;
}

/* A unit closed for the whole period: only its cumulative sums (events
 * before it closed) go into a and its district's d. */
static void closed_cumulative(const struct run *x, size_t k, size_t i,
			      struct agg *a, struct agg *d)
{
	const struct tb_plan_formula *f = &x->r->plan->ind[k].f;
	struct agg *t[2] = {a, d};
	int64_t c, any;

	if ((f->type != TB_F_SUM && f->type != TB_F_COUNT) || !f->cumulative)
		return;
	c = kinds_sum(x, x->cum, i, f->kinds, x->col_of[k]);
	any = kinds_sum(x, x->cum, i, (1u << TB_KIND_COUNT) - 1, 0);
	for (int j = 0; j < 2 && t[j]; j++) {
		t[j]->cum += c;
		t[j]->cum_any |= any > 0;
	}
}

/* Whether value meets goal by cmp. */
static int meets(enum tb_plan_cmp cmp, double value, double goal)
{
	switch (cmp) {
	case TB_CMP_GE:
		return value >= goal - EPS;
	case TB_CMP_GT:
		return value > goal + EPS;
	case TB_CMP_ABOUT:
		return value >= goal * (1.0 - TB_PLAN_ABOUT_TOL) - EPS;
	}
	return 0;
}

double report_prorate(const struct tb_report *r, const struct tb_plan_target *t,
		      int32_t upto)
{
	int32_t end = tb_date_from_ymd(t->year, 12, 31);

	if (upto > end)
		upto = end;
	double total = (double)end - r->plan->start + 1;
	double done = (double)upto - r->plan->start + 1;

	if (done <= 0 || total <= 0)
		return 0;
	return t->value * done / total;
}

static void status(const struct tb_report *r, const struct tb_plan_ind *ind,
                   struct tb_report_value *v)
{
	int cumulative = ind->f.cumulative;
	double basis = cumulative ? v->cumulative : v->value;
	int has = cumulative ? v->has_cumulative : v->has_value;

	v->target = tb_plan_target_for(ind, r->period.year);
	if (ind->f.type == TB_F_NOT_COLLECTED) {
		v->status = TB_ST_NOT_COLLECTED;
		return;
	}
	if (!v->target) {
		v->status = TB_ST_NO_TARGET;
		return;
	}
	v->expected_now = cumulative ? report_prorate(r, v->target, r->period.to)
				     : v->target->value;
	if (!has) {
		v->status = TB_ST_NO_DATA;
		return;
	}
	if (v->target->value > 0) {
		v->has_progress = 1;
		v->progress_pct = basis / v->target->value * 100.0;
	}
	v->status = meets(v->target->cmp, basis, v->expected_now)
	                ? TB_ST_ON_TRACK
	                : TB_ST_BEHIND;
}

static void finish(const struct tb_report *r, const struct tb_plan_ind *ind,
                   const struct agg *a, struct tb_report_value *v)
{
	const struct tb_plan_formula *f = &ind->f;
	long over = f->over == TB_OVER_EXPECTED ? a->expected : a->reported;

	memset(v, 0, sizeof(*v));
	v->expected = a->expected;
	v->reported = a->reported;
	switch (f->type) {
	case TB_F_SUM:
	case TB_F_COUNT:
		v->has_value = a->reported > 0;
		v->value = (double)a->sum;
		v->has_cumulative = f->cumulative && a->cum_any;
		v->cumulative = (double)a->cum;
		break;
	case TB_F_SHARE_UNITS:
	case TB_F_EVERY_QUARTER:
		v->has_value = a->reported > 0 && over > 0;
		v->value =
		    v->has_value ? 100.0 * (double)a->yes / (double)over : 0;
		break;
	case TB_F_RATIO:
		v->has_value = a->den > 0;
		v->value =
		    v->has_value ? 100.0 * (double)a->num / (double)a->den : 0;
		break;
	case TB_F_NOT_COLLECTED:
		break;
	}
	status(r, ind, v);
}

int report_evaluate(struct run *x, size_t k)
{
	struct tb_report *r = x->r;
	const struct tb_plan_ind *ind = &r->plan->ind[k];
	struct tb_report_row *row = &r->rows[k];
	struct agg total, *dist = NULL;
	size_t nd = r->ndistricts;
	int rc = TB_OK;

	memset(&total, 0, sizeof(total));
	row->ind = ind;
	if (nd && !(dist = tb_calloc(nd, sizeof(*dist))))
		return TB_ENOMEM;
	if (ind->f.type == TB_F_EVERY_QUARTER)
		rc = report_gather_quarters(x, ind->f.kinds);
	if (rc == TB_OK)
		row->missing = tb_malloc((x->p->nunits ? x->p->nunits : 1) *
		                         sizeof(char *));
	if (rc == TB_OK && !row->missing)
		rc = TB_ENOMEM;
	for (size_t i = 0; rc == TB_OK && i < x->p->nunits; i++) {
		const struct unit *u = &x->p->units[i];
		struct agg *d =
		    dist && u->district >= 0 ? &dist[u->district] : NULL;
		int rep;

		if (!(u->level & ind->levels))
			continue;
		if (u->closed_from) { /* not expected; what it did before
					 closing still counts from the start */
			closed_cumulative(x, k, i, &total, d);
			continue;
		}
		total.expected++;
		rep = contribute(x, k, i, &total);
		if (d) {
			d->expected++;
			d->reported += contribute(x, k, i, d);
		}
		total.reported += rep;
		if (!rep && ind->f.type != TB_F_NOT_COLLECTED)
			row->missing[row->nmissing++] = x->p->units[i].code;
	}
	if (rc == TB_OK) {
		finish(r, ind, &total, &row->v);
		for (size_t j = 0; j < nd; j++)
			finish(r, ind, &dist[j], &r->districts[j].v[k]);
	}
	tb_free(dist);
	return rc;
}

/* ---- Action Month and staleness ---------------------------------------- */

/* Adds to the action-month row of each unit in acc the outreach events
 * dated in [from, to] whose occasion is the Action Month: activities held
 * in the window that the school recorded as outreach. acc NULL: the
 * period's own sums, which the indicators have already read, so a copy of
 * the units' action-month rows is made in x->am_acc. The outreach index
 * (kind, voided, date) makes this one range of the window. */
static int am_occasion(struct run *x, int32_t from, int32_t to, int64_t *acc)
{
	static const char sql[] =
	    "SELECT school, count(*), sum(json_extract(body, '$.parents')),"
	    " sum(json_extract(body, '$.students')),"
	    " sum(json_extract(body, '$.teachers_staff')),"
	    " sum(json_extract(body, '$.officials')) FROM events"
	    " WHERE kind = 'outreach' AND voided = 0 AND date BETWEEN ?1 AND ?2"
	    " AND json_extract(body, '$.occasion') = 'action-month'"
	    " GROUP BY school";
	/* the same on PostgreSQL: report_jint is the roll-ups' reading of a
	 * count (server/rollup.c), as json_extract reads one */
	static const char sql_pg[] =
	    "SELECT school, count(*), sum(report_jint(body::jsonb, 'parents')),"
	    " sum(report_jint(body::jsonb, 'students')),"
	    " sum(report_jint(body::jsonb, 'teachers_staff')),"
	    " sum(report_jint(body::jsonb, 'officials')) FROM events"
	    " WHERE kind = 'outreach' AND voided = 0 AND date BETWEEN ?1 AND ?2"
	    " AND body::jsonb ->> 'occasion' = 'action-month'"
	    " GROUP BY school";
	static const char *const names[4] = {"parents", "students",
					     "teachers_staff", "officials"};
	char a[TB_DATE_LEN], b[TB_DATE_LEN];
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	src = tb_sql_prepare(x->db, tb_sql_backend(x->db) == TB_SQL_PG ? sql_pg
								       : sql,
			     0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, tb_date_format(from, a), -1);
		tb_sql_bind_text(st, 2, tb_date_format(to, b), -1);
	}
	while (src == TB_OK && (src = tb_sql_step(st)) == TB_SQL_ROW) {
		const char *s = tb_sql_column_text(st, 0);
		int i = s ? report_unit_find(x->p, s) : -1;
		int64_t *row;

		src = TB_OK;
		if (i < 0)
			continue;
		row = acc + ((size_t)i * TB_KIND_COUNT + TB_KIND_ACTION_MONTH) *
				    x->stride;
		row[0] += tb_sql_column_int64(st, 1);
		for (int c = 0; c < 4; c++) {
			int col = tb_rollup_col(names[c]) + 1;

			if (col > 0 && (x->cols & (1u << (col - 1))))
				row[col] += tb_sql_column_int64(st, 2 + c);
		}
	}
	if (src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	tb_sql_finalize(st);
	return rc;
}

int report_action_month(struct run *x)
{
	struct tb_report *r = x->r;
	struct tb_report_am *am = &r->am;
	int64_t *acc = NULL;
	int y, m, d, rc = TB_OK;
	int cols[4];
	static const char *const names[4] = {"parents", "students",
	                                     "teachers_staff", "officials"};

	tb_date_to_ymd(r->period.to, &y, &m, &d);
	if (r->period.kind == TB_PERIOD_ACTION_MONTH)
		y = r->period.year;
	else if (r->period.to < tb_date_from_ymd(y, 11, 15))
		y--;
	am->year = y;
	tb_action_month(y, &am->from, &am->to);
	for (int c = 0; c < 4; c++)
		cols[c] = tb_rollup_col(names[c]) + 1;
	/* the Action Month's own sums, never the period's (x->acc), which
	 * the outreach events of the window are added to below */
	rc = report_gather(x, am->from, am->to, 1u << TB_KIND_ACTION_MONTH,
			   &acc);
	if (rc == TB_OK)
		rc = am_occasion(x, am->from, am->to, acc);
	for (size_t i = 0; rc == TB_OK && i < x->p->nunits; i++) {
		const int64_t *b =
		    acc +
		    (i * TB_KIND_COUNT + TB_KIND_ACTION_MONTH) * x->stride;
		struct tb_report_am *t[2] = {am, NULL};
		int u_d = x->p->units[i].district;

		if (u_d >= 0)
			t[1] = &r->districts[u_d].am;
		for (int j = 0; j < 2 && t[j]; j++) {
			t[j]->units++;
			t[j]->units_active += b[0] > 0;
			t[j]->activities += b[0];
			t[j]->parents += cols[0] > 0 ? b[cols[0]] : 0;
			t[j]->students += cols[1] > 0 ? b[cols[1]] : 0;
			t[j]->teachers_staff += cols[2] > 0 ? b[cols[2]] : 0;
			t[j]->officials += cols[3] > 0 ? b[cols[3]] : 0;
		}
	}
	for (size_t j = 0; j < r->ndistricts; j++) {
		r->districts[j].am.year = am->year;
		r->districts[j].am.from = am->from;
		r->districts[j].am.to = am->to;
	}
	tb_free(acc);
	return rc;
}

/* Latest contact per school from devices.last_seen and cursors. */
static int last_sync(struct run *x)
{
	static const char *const sql[2] = {
	    "SELECT school, max(last_seen) FROM devices WHERE last_seen IS"
	    " NOT NULL GROUP BY school",
	    "SELECT school, max(updated_at) FROM cursors GROUP BY school"};
	int rc = TB_OK;

	for (int q = 0; q < 2 && rc == TB_OK; q++) {
		struct tb_stmt *st = NULL;
		int src = tb_sql_prepare(x->db, sql[q], 0, &st);

		while (src == TB_OK &&
		       (src = tb_sql_step(st)) == TB_SQL_ROW) {
			const char *s =
			    tb_sql_column_text(st, 0);
			int i = s ? report_unit_find(x->p, s) : -1;
			int64_t t = tb_sql_column_int64(st, 1);

			if (i >= 0 && t > x->p->units[i].last_sync)
				x->p->units[i].last_sync = t;
			src = TB_OK;
		}
		if (src != TB_SQL_DONE)
			rc = tb_sql_err(src);
		tb_sql_finalize(st);
	}
	return rc;
}

int report_stale_units(struct run *x)
{
	struct tb_report *r = x->r;
	int64_t limit = r->generated_at - (int64_t)r->stale_days * 86400;
	int rc = last_sync(x);

	if (rc < 0)
		return rc;
	r->stale =
	    tb_calloc(x->p->nunits ? x->p->nunits : 1, sizeof(*r->stale));
	if (!r->stale)
		return TB_ENOMEM;
	for (size_t i = 0; i < x->p->nunits; i++) {
		const struct unit *u = &x->p->units[i];
		struct tb_report_stale *s;

		if (u->last_sync && u->last_sync >= limit)
			continue;
		s = &r->stale[r->nstale++];
		memcpy(s->code, u->code, sizeof(s->code));
		memcpy(s->district, u->dcode, sizeof(s->district));
		s->name = u->name; /* owned by the units block */
		s->last_sync = u->last_sync;
	}
	return TB_OK;
}
