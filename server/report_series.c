/* report_series.c - the trend behind each cumulative indicator: its value
 * cumulated from the plan's start to the end of every half-year (June and
 * December, when the plans report) up to the period's end, beside the
 * target due by then, for the dashboard's charts (see report.h,
 * struct tb_report_point).
 *
 * One roll-up scan over [plan start, period end] in whole months for the
 * run's units, summed per (half-year, kind, column) for the org unit as a
 * whole: memory is points x kinds x columns, whatever the number of
 * schools. A unit closed since still counts for what it did before.
 * Called by report.c when opts.series is set.
 */
#include "server/report_run.h"

#include <string.h>

#include "common/err.h"
#include "common/mem.h"

struct series_arg {
	const struct run *x;
	int y0;          /* the plan's first year */
	size_t npoints;
	int64_t *sums;   /* [point][kind][stride] */
};

static size_t point_of(const struct series_arg *a, int32_t day)
{
	int y, m, d;

	tb_date_to_ymd(day, &y, &m, &d);
	return (size_t)(y - a->y0) * 2 + (m > 6);
}

static int series_row(void *arg, const struct tb_rollup_row *row)
{
	struct series_arg *a = arg;
	size_t h = point_of(a, row->first), stride = a->x->stride;
	int64_t *b;

	if (h >= a->npoints)
		return 0;
	b = a->sums + (h * TB_KIND_COUNT + row->kind) * stride;
	b[0] += row->n;
	for (size_t c = 1; c < stride; c++)
		b[c] += row->c[c - 1];
	return 0;
}

/* Fills row k's points from the sums. */
static int row_series(struct run *x, const struct series_arg *a, size_t k)
{
	struct tb_report *r = x->r;
	const struct tb_plan_ind *ind = &r->plan->ind[k];
	struct tb_report_row *row = &r->rows[k];
	int64_t total = 0;

	row->series = tb_calloc(a->npoints, sizeof(*row->series));
	if (!row->series)
		return TB_ENOMEM;
	row->npoints = a->npoints;
	for (size_t h = 0; h < a->npoints; h++) {
		struct tb_report_point *pt = &row->series[h];
		const struct tb_plan_target *t;
		int y = a->y0 + (int)(h / 2);

		for (int kind = 0; kind < TB_KIND_COUNT; kind++)
			if (ind->f.kinds & (1u << kind))
				total += a->sums[(h * TB_KIND_COUNT +
						  (size_t)kind) * x->stride +
						 (size_t)x->col_of[k]];
		pt->at = h % 2 ? tb_date_from_ymd(y, 12, 31)
			       : tb_date_from_ymd(y, 6, 30);
		if (pt->at > r->period.to)
			pt->at = r->period.to;
		pt->value = (double)total;
		t = tb_plan_target_for(ind, y);
		pt->has_target = t != NULL;
		pt->target = t ? report_prorate(r, t, pt->at) : 0;
	}
	return TB_OK;
}

int report_series(struct run *x)
{
	const struct tb_report *r = x->r;
	const struct tb_plan *plan = r->plan;
	struct series_arg a;
	unsigned kinds = 0;
	int rc = TB_OK;

	for (size_t k = 0; k < plan->count; k++)
		if (plan->ind[k].f.cumulative)
			kinds |= plan->ind[k].f.kinds;
	if (!kinds || r->period.to < plan->start)
		return TB_OK;
	memset(&a, 0, sizeof(a));
	a.x = x;
	{
		int m, d;

		tb_date_to_ymd(plan->start, &a.y0, &m, &d);
	}
	a.npoints = point_of(&a, r->period.to) + 1;
	a.sums = tb_calloc(a.npoints * TB_KIND_COUNT * x->stride,
			   sizeof(*a.sums));
	if (!a.sums)
		return TB_ENOMEM;
	rc = tb_rollup_scan(x->db, plan->start, r->period.to, kinds, x->cols,
			    x->codes, x->p->nunits, 1, series_row, &a);
	for (size_t k = 0; rc == TB_OK && k < plan->count; k++)
		if (plan->ind[k].f.cumulative)
			rc = row_series(x, &a, k);
	tb_free(a.sums);
	return rc;
}
