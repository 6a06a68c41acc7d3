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
 */
#include "server/report.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/rollup.h"

#define EPS 1e-9

struct unit {
	char code[TB_CODE_MAX + 1];
	char *name;
	unsigned level;  /* tb_plan_level_bit */
	int district;    /* index in r->districts, -1 with detail off */
	char dcode[TB_CODE_MAX + 1];
	int64_t last_sync;
};

/* What the report owns besides its public arrays. */
struct priv {
	size_t nunits;
	struct unit *units;
	size_t cap;     /* hash slots, a power of two */
	int32_t *slot;  /* unit index + 1, 0 = empty */
};

struct run {
	sqlite3 *db;
	struct tb_report *r;
	struct priv *p;
	const struct tb_report_opts *o;
	const char **codes; /* the units' codes, for tb_rollup_scan */
	size_t stride;      /* 1 + columns per (unit, kind) */
	uint32_t cols;      /* the roll-up columns the plan reads */
	int64_t *acc;       /* period: [unit][kind][0 = n, 1.. = columns] */
	int64_t *cum;       /* plan start .. period end (may be acc) */
	int32_t q0;         /* first quarter index of the period */
	size_t nq;
	unsigned char *quarters; /* [unit][quarter], for one formula */
	struct tb_rollup_got *got;     /* [unit][row]: latest figures */
	int *col_of;             /* row -> 1 + roll-up column of its sum */
};

static int fail(int rc, char *msg, size_t msglen, const char *what,
		sqlite3 *db)
{
	if (msg && msglen && !msg[0])
		snprintf(msg, msglen, "report: %s: %s", what,
			 rc == TB_ENOMEM ? "out of memory" : sqlite3_errmsg(db));
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

int tb_report_init(sqlite3 *db, char *msg, size_t msglen)
{
	return tb_rollup_init(db, msg, msglen);
}

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

static int unit_find(const struct priv *p, const char *code)
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
static int org_unit(struct run *x, char *msg, size_t msglen)
{
	struct tb_report *r = x->r;
	sqlite3_stmt *st = NULL;
	int src, rc = TB_OK;

	if (!x->o->unit || !x->o->unit[0] || strcmp(x->o->unit, "all") == 0) {
		snprintf(r->unit, sizeof(r->unit), "all");
		snprintf(r->unit_type, sizeof(r->unit_type), "all");
		return TB_OK;
	}
	snprintf(r->unit, sizeof(r->unit), "%s", x->o->unit);
	src = sqlite3_prepare_v2(x->db, "SELECT type, name FROM units WHERE"
				 " code = ?1", -1, &st, NULL);
	if (src == SQLITE_OK) {
		sqlite3_bind_text(st, 1, x->o->unit, -1, SQLITE_STATIC);
		src = sqlite3_step(st);
	}
	if (src == SQLITE_ROW) {
		snprintf(r->unit_type, sizeof(r->unit_type), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		r->unit_name = tb_strdup((const char *)sqlite3_column_text(st, 1));
		if (!r->unit_name)
			rc = TB_ENOMEM;
	} else if (src == SQLITE_DONE) {
		snprintf(msg, msglen, "unit: no school, district or province "
			 "with code %s", x->o->unit);
		rc = TB_ENOTFOUND;
	} else {
		rc = fail(tb_db_err(src), msg, msglen, "units", x->db);
	}
	sqlite3_finalize(st);
	return rc;
}

static int units_load(struct run *x, char *msg, size_t msglen)
{
	static const char base[] =
		"SELECT code, name, level, coalesce(district, '') FROM units"
		" WHERE type = 'school'";
	struct priv *p = x->p;
	const char *t = x->r->unit_type;
	char sql[256];
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int src, rc = TB_OK;

	snprintf(sql, sizeof(sql), "%s%s ORDER BY 4, 1", base,
		 strcmp(t, "all") == 0	       ? ""
		 : strcmp(t, "school") == 0   ? " AND code = ?1"
		 : strcmp(t, "district") == 0 ? " AND district = ?1"
					      : " AND province = ?1");
	src = sqlite3_prepare_v2(x->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK)
		return fail(tb_db_err(src), msg, msglen, "units", x->db);
	if (strcmp(t, "all") != 0)
		sqlite3_bind_text(st, 1, x->r->unit, -1, SQLITE_STATIC);
	while (rc == TB_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct unit *u;

		if (p->nunits == cap) {
			struct unit *nu;

			cap = cap ? cap * 2 : 64;
			nu = tb_realloc(p->units, cap * sizeof(*nu));
			if (!nu) {
				rc = TB_ENOMEM;
				break;
			}
			p->units = nu;
		}
		u = &p->units[p->nunits];
		memset(u, 0, sizeof(*u));
		snprintf(u->code, sizeof(u->code), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		u->level = tb_plan_level_bit(
			(const char *)sqlite3_column_text(st, 2));
		snprintf(u->dcode, sizeof(u->dcode), "%s",
			 (const char *)sqlite3_column_text(st, 3));
		u->district = -1;
		u->name = tb_strdup((const char *)sqlite3_column_text(st, 1));
		p->nunits++;
		if (!u->name)
			rc = TB_ENOMEM;
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = tb_db_err(src);
	sqlite3_finalize(st);
	if (rc == TB_OK)
		rc = index_build(p);
	if (rc == TB_OK) {
		x->codes = tb_malloc((p->nunits ? p->nunits : 1) *
				     sizeof(*x->codes));
		if (!x->codes)
			rc = TB_ENOMEM;
		for (size_t i = 0; rc == TB_OK && i < p->nunits; i++)
			x->codes[i] = p->units[i].code;
	}
	x->r->units = (long)p->nunits;
	return rc < 0 ? fail(rc, msg, msglen, "units", x->db) : rc;
}

/* The districts of the units (they are ordered by district), named. */
static int districts_load(struct run *x, char *msg, size_t msglen)
{
	struct tb_report *r = x->r;
	struct priv *p = x->p;
	sqlite3_stmt *st = NULL;
	size_t i, n = 0;
	int rc = TB_OK;

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
	if (sqlite3_prepare_v2(x->db, "SELECT name FROM units WHERE code = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(TB_EIO, msg, msglen, "districts", x->db);
	for (i = 0; i < r->ndistricts && rc == TB_OK; i++) {
		struct tb_report_district *d = &r->districts[i];

		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, d->code, -1, SQLITE_STATIC);
		d->name = tb_strdup(sqlite3_step(st) == SQLITE_ROW
					    ? (const char *)sqlite3_column_text(st, 0)
					    : d->code);
		d->v = tb_calloc(r->nrows ? r->nrows : 1, sizeof(*d->v));
		if (!d->name || !d->v)
			rc = TB_ENOMEM;
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- gathering ---------------------------------------------------------- */

struct acc_arg {
	struct run *x;
	int64_t *acc;
};

static int acc_row(void *arg, const struct tb_rollup_row *row)
{
	struct acc_arg *a = arg;
	struct run *x = a->x;
	int64_t *b = a->acc + (row->school * TB_KIND_COUNT + row->kind) *
				      x->stride;

	b[0] += row->n;
	for (size_t c = 1; c < x->stride; c++)
		b[c] += row->c[c - 1];
	return 0;
}

/* Sums every kind over [from, to] into a new array *out. */
static int gather(struct run *x, int32_t from, int32_t to, unsigned kinds,
		  int64_t **out)
{
	struct acc_arg a;
	int rc;

	*out = tb_calloc(x->p->nunits ? x->p->nunits * TB_KIND_COUNT * x->stride
				      : 1,
			 sizeof(int64_t));
	if (!*out)
		return TB_ENOMEM;
	a.x = x;
	a.acc = *out;
	rc = tb_rollup_scan(x->db, from, to, kinds, x->cols, x->codes,
			    x->p->nunits, 0, acc_row, &a);
	return rc;
}

/* Plan start .. period end: the period's sums plus what came before it
 * (or, for a period that starts before the plan, a scan of its own). */
static int gather_cumulative(struct run *x)
{
	const struct tb_period *pd = &x->r->period;
	int32_t start = x->r->plan->start;
	size_t n = x->p->nunits * TB_KIND_COUNT * x->stride;
	int rc;

	if (pd->from < start)
		return gather(x, start, pd->to, (1u << TB_KIND_COUNT) - 1,
			      &x->cum);
	rc = gather(x, start, pd->from - 1, (1u << TB_KIND_COUNT) - 1, &x->cum);
	for (size_t i = 0; rc == TB_OK && i < n; i++)
		x->cum[i] += x->acc[i];
	return rc;
}

static int32_t quarter_index(int32_t day)
{
	int y, m, d;

	tb_date_to_ymd(day, &y, &m, &d);
	return y * 4 + (m - 1) / 3;
}

static int quarter_row(void *arg, const struct tb_rollup_row *row)
{
	struct run *x = arg;
	int32_t q = quarter_index(row->first) - x->q0;

	if (row->n > 0 && q >= 0 && (size_t)q < x->nq)
		x->quarters[row->school * x->nq + (size_t)q] = 1;
	return 0;
}

/* Which quarters of the period each unit has an event of `kinds` in. */
static int gather_quarters(struct run *x, unsigned kinds)
{
	const struct tb_period *pd = &x->r->period;

	x->q0 = quarter_index(pd->from);
	/* a period ends on or after its start, so the int difference is >= 0
	 * and small.
	 * NOLINTNEXTLINE(bugprone-misplaced-widening-cast) */
	x->nq = (size_t)(quarter_index(pd->to) - x->q0 + 1);
	tb_free(x->quarters);
	x->quarters = tb_calloc(x->p->nunits ? x->p->nunits * x->nq : 1, 1);
	if (!x->quarters)
		return TB_ENOMEM;
	return tb_rollup_scan(x->db, pd->from, pd->to, kinds, 0, x->codes,
			      x->p->nunits, 1, quarter_row, x);
}

/* Each unit's latest figures as of the period's end, for the share and
 * ratio rows that apply to its level (so a primary school's snapshots are
 * not searched for kindergarten figures it never gives). */
static int gather_snaps(struct run *x)
{
	const struct tb_plan *plan = x->r->plan;
	size_t nk = plan->count, n = x->p->nunits;
	struct tb_rollup_want *want = NULL;
	unsigned char *active = NULL;
	struct tb_rollup_snaps *rd = NULL;
	int rc = TB_OK;

	want = tb_calloc(nk ? nk : 1, sizeof(*want));
	active = tb_calloc(nk ? nk : 1, 1);
	x->got = tb_calloc(n && nk ? n * nk : 1, sizeof(*x->got));
	if (!want || !active || !x->got)
		rc = TB_ENOMEM;
	for (size_t k = 0; rc == TB_OK && k < nk; k++) {
		const struct tb_plan_formula *f = &plan->ind[k].f;

		if (f->type == TB_F_SHARE_UNITS) {
			want[k].n = 1;
			want[k].field[0] = f->field;
		} else if (f->type == TB_F_RATIO) {
			want[k].n = 2;
			want[k].field[0] = f->num;
			want[k].field[1] = f->den;
		}
	}
	if (rc == TB_OK)
		rc = tb_rollup_snaps_open(x->db, &rd);
	for (size_t i = 0; rc == TB_OK && i < n; i++) {
		for (size_t k = 0; k < nk; k++)
			active[k] = (plan->ind[k].levels &
				     x->p->units[i].level) != 0;
		rc = tb_rollup_latest(rd, x->p->units[i].code, x->r->period.to,
				      want, active, nk, &x->got[i * nk]);
	}
	tb_rollup_snaps_close(rd);
	tb_free(want);
	tb_free(active);
	return rc;
}

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
					 x->stride + (size_t)col];
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
			a->cum_any |= kinds_sum(x, x->cum, i,
						(1u << TB_KIND_COUNT) - 1, 0) > 0;
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

/* Whether value meets goal by cmp. */
static int meets(enum tb_plan_cmp cmp, double value, double goal)
{
	switch (cmp) {
	case TB_CMP_GE: return value >= goal - EPS;
	case TB_CMP_GT: return value > goal + EPS;
	case TB_CMP_ABOUT: return value >= goal * (1.0 - TB_PLAN_ABOUT_TOL) - EPS;
	}
	return 0;
}

/* The part of a cumulative target due by the period's end. */
static double prorate(const struct tb_report *r, const struct tb_plan_target *t)
{
	int32_t end = tb_date_from_ymd(t->year, 12, 31);
	int32_t upto = r->period.to < end ? r->period.to : end;
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
	v->expected_now = cumulative ? prorate(r, v->target) : v->target->value;
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
		v->value = v->has_value ? 100.0 * (double)a->yes / (double)over
					: 0;
		break;
	case TB_F_RATIO:
		v->has_value = a->den > 0;
		v->value = v->has_value ? 100.0 * (double)a->num / (double)a->den
					: 0;
		break;
	case TB_F_NOT_COLLECTED:
		break;
	}
	status(r, ind, v);
}

static int evaluate(struct run *x, size_t k)
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
		rc = gather_quarters(x, ind->f.kinds);
	if (rc == TB_OK)
		row->missing = tb_malloc((x->p->nunits ? x->p->nunits : 1) *
					 sizeof(char *));
	if (rc == TB_OK && !row->missing)
		rc = TB_ENOMEM;
	for (size_t i = 0; rc == TB_OK && i < x->p->nunits; i++) {
		const struct unit *u = &x->p->units[i];
		struct agg *d = dist && u->district >= 0 ? &dist[u->district]
							 : NULL;
		int rep;

		if (!(u->level & ind->levels))
			continue;
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

static int action_month(struct run *x)
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
	if (am->from == r->period.from && am->to == r->period.to)
		acc = x->acc; /* the period is the Action Month */
	else
		rc = gather(x, am->from, am->to, 1u << TB_KIND_ACTION_MONTH,
			    &acc);
	for (size_t i = 0; rc == TB_OK && i < x->p->nunits; i++) {
		const int64_t *b = acc + (i * TB_KIND_COUNT +
					  TB_KIND_ACTION_MONTH) * x->stride;
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
	if (acc != x->acc)
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
		sqlite3_stmt *st = NULL;
		int src = sqlite3_prepare_v2(x->db, sql[q], -1, &st, NULL);

		while (src == SQLITE_OK &&
		       (src = sqlite3_step(st)) == SQLITE_ROW) {
			const char *s = (const char *)sqlite3_column_text(st, 0);
			int i = s ? unit_find(x->p, s) : -1;
			int64_t t = sqlite3_column_int64(st, 1);

			if (i >= 0 && t > x->p->units[i].last_sync)
				x->p->units[i].last_sync = t;
			src = SQLITE_OK;
		}
		if (src != SQLITE_DONE)
			rc = tb_db_err(src);
		sqlite3_finalize(st);
	}
	return rc;
}

static int stale_units(struct run *x)
{
	struct tb_report *r = x->r;
	int64_t limit = r->generated_at - (int64_t)r->stale_days * 86400;
	int rc = last_sync(x);

	if (rc < 0)
		return rc;
	r->stale = tb_calloc(x->p->nunits ? x->p->nunits : 1,
			     sizeof(*r->stale));
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
	rc = org_unit(x, msg, msglen);
	if (rc == TB_OK)
		rc = units_load(x, msg, msglen);
	if (rc == TB_OK && x->o->detail)
		rc = districts_load(x, msg, msglen);
	if (rc == TB_OK)
		rc = gather(x, r->period.from, r->period.to,
			    (1u << TB_KIND_COUNT) - 1, &x->acc);
	x->cum = x->acc;
	if (rc == TB_OK && needs_cumulative(r->plan) &&
	    r->period.from != r->plan->start)
		rc = gather_cumulative(x);
	if (rc == TB_OK)
		rc = gather_snaps(x);
	for (size_t k = 0; rc == TB_OK && k < r->nrows; k++)
		rc = evaluate(x, k);
	if (rc == TB_OK && x->o->detail)
		rc = action_month(x);
	if (rc == TB_OK && x->o->detail)
		rc = stale_units(x);
	if (rc < 0)
		rc = fail(rc, msg, msglen, "reading the roll-ups", x->db);
	return rc;
}

static void run_free(struct run *x)
{
	if (x->cum != x->acc)
		tb_free(x->cum);
	tb_free(x->acc);
	tb_free(x->got);
	tb_free(x->quarters);
	tb_free(x->col_of);
	tb_free(x->codes);
}

int tb_report_run(sqlite3 *db, const struct tb_plan *plan, const char *period,
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
	r->rows = tb_calloc(plan->count ? plan->count : 1, sizeof(*r->rows));
	if (!x.p || !r->rows) {
		rc = TB_ENOMEM;
		goto out;
	}
	r->priv_ = x.p;
	if (sqlite3_get_autocommit(db)) {
		rc = tb_db_exec(db, "BEGIN", msg, msglen);
		tx = rc == TB_OK;
		if (rc < 0)
			goto out;
	}
	rc = compute(&x, msg, msglen);
out:
	if (tx)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
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
	for (size_t i = 0; r->rows && i < r->nrows; i++)
		tb_free(r->rows[i].missing);
	tb_free(r->rows);
	for (size_t i = 0; r->districts && i < r->ndistricts; i++) {
		tb_free(r->districts[i].name);
		tb_free(r->districts[i].v);
	}
	tb_free(r->districts);
	tb_free(r->stale);
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
