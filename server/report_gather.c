/* report_gather.c - gathering, per unit and in C, what a plan's formulas
 * need from the roll-ups (server/rollup.h): the period's activity sums,
 * the cumulative sums, the quarters posted in, the latest snapshot
 * figures (see report_run.h). Called by report.c and report_eval.c.
 */
#include "server/sql.h"
#include "server/report_run.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/rollup.h"

/* ---- gathering ---------------------------------------------------------- */

struct acc_arg {
	struct run *x;
	int64_t *acc;
	int64_t *arrived; /* per unit, or NULL */
};

static int acc_row(void *arg, const struct tb_rollup_row *row)
{
	struct acc_arg *a = arg;
	struct run *x = a->x;
	int64_t *b =
	    a->acc + (row->school * TB_KIND_COUNT + row->kind) * x->stride;

	if (a->arrived && row->n > 0 && row->arrived > 0 &&
	    (!a->arrived[row->school] || row->arrived < a->arrived[row->school]))
		a->arrived[row->school] = row->arrived;
	b[0] += row->n;
	for (size_t c = 1; c < x->stride; c++)
		b[c] += row->c[c - 1];
	return 0;
}

/* Sums every kind over [from, to] into a new array *out. */
int report_gather(struct run *x, int32_t from, int32_t to, unsigned kinds,
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
	a.arrived = NULL;
	if (out == &x->acc) { /* the period's: its first arrivals too */
		x->arrived = tb_calloc(x->p->nunits ? x->p->nunits : 1,
				       sizeof(*x->arrived));
		if (!x->arrived)
			return TB_ENOMEM;
		a.arrived = x->arrived;
	}
	rc = tb_rollup_scan(x->db, from, to, kinds, x->cols, x->codes,
	                    x->p->nunits, 0, acc_row, &a);
	return rc;
}

/* Plan start .. period end: the period's sums plus what came before it
 * (or, for a period that starts before the plan, a scan of its own). */
int report_gather_cumulative(struct run *x)
{
	const struct tb_period *pd = &x->r->period;
	int32_t start = x->r->plan->start;
	size_t n = x->p->nunits * TB_KIND_COUNT * x->stride;
	int rc;

	if (pd->from < start)
		return report_gather(x, start, pd->to,
		                     (1u << TB_KIND_COUNT) - 1, &x->cum);
	rc = report_gather(x, start, pd->from - 1, (1u << TB_KIND_COUNT) - 1,
	                   &x->cum);
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
int report_gather_quarters(struct run *x, unsigned kinds)
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
int report_gather_snaps(struct run *x)
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
			active[k] =
			    (plan->ind[k].levels & x->p->units[i].level) != 0;
		rc = tb_rollup_latest(rd, x->p->units[i].code, x->r->period.to,
		                      want, active, nk, &x->got[i * nk]);
	}
	tb_rollup_snaps_close(rd);
	tb_free(want);
	tb_free(active);
	return rc;
}
