/* report_compl.c - completeness and timeliness of a report's schools, in
 * the sense DHIS2 gives the words, adapted to the plans (see report.h,
 * enum tb_report_unit_state, and plans/README.md):
 *
 *   expected  the school is open for the period (no unit_closures row
 *             covers all of it) and some indicator of the plan applies
 *             to its level;
 *   reported  it has a non-voided event dated in the period (the
 *             roll-ups' count, already gathered: no extra query);
 *   on time   the first of those events reached the server by the end
 *             of the deadline day, period end + ontime_days, in the
 *             office's time (Asia/Ho_Chi_Minh, UTC+7 all year). The
 *             roll-ups keep each row's first arrival (f, server/rollup.h),
 *             gathered with the period's sums (x->arrived); a new
 *             revision does not move it.
 *
 * Cost: one query for the closures; the rest is a loop over the units.
 * Called by report.c; the run's state is report_run.h.
 */
#include "server/sql.h"
#include "server/report_run.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"

const char *tb_report_unit_state_name(enum tb_report_unit_state s)
{
	switch (s) {
	case TB_US_ON_TIME: return "on_time";
	case TB_US_LATE: return "late";
	case TB_US_PENDING: return "pending";
	case TB_US_MISSING: return "missing";
	case TB_US_CLOSED: return "closed";
	case TB_US_NOT_APPLICABLE: return "not_applicable";
	}
	return "?";
}

/* ---- closures ----------------------------------------------------------- */

int report_closures_load(struct run *x)
{
	static const char sql[] =
	    "SELECT unit, max(closed_from) FROM unit_closures"
	    " WHERE closed_from <= ?1"
	    " AND (reopened_from IS NULL OR reopened_from > ?2)"
	    " GROUP BY unit";
	char a[TB_DATE_LEN], b[TB_DATE_LEN];
	struct tb_stmt *st = NULL;
	int src;

	src = tb_sql_prepare(x->db, sql, 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, tb_date_format(x->r->period.from, a),
				  -1);
		tb_sql_bind_text(st, 2, tb_date_format(x->r->period.to, b), -1);
	}
	while (src == TB_OK && (src = tb_sql_step(st)) == TB_SQL_ROW) {
		const char *u = tb_sql_column_text(st, 0);
		const char *d = tb_sql_column_text(st, 1);
		int i = u ? report_unit_find(x->p, u) : -1;
		int32_t day;

		src = TB_OK;
		if (i >= 0 && d && tb_date_parse(d, &day) == TB_OK)
			x->p->units[i].closed_from = day;
	}
	tb_sql_finalize(st);
	return src == TB_SQL_DONE ? TB_OK : tb_sql_err(src);
}

/* ---- completeness ------------------------------------------------------- */

/* 1 if some indicator of the plan applies to the level bit. */
static int plan_applies(const struct tb_plan *p, unsigned level)
{
	for (size_t k = 0; k < p->count; k++)
		if (p->ind[k].levels & level)
			return 1;
	return 0;
}

static void count(struct tb_report_compl *c, enum tb_report_unit_state s)
{
	switch (s) {
	case TB_US_ON_TIME: c->on_time++; c->reported++; c->expected++; break;
	case TB_US_LATE: c->late++; c->reported++; c->expected++; break;
	case TB_US_PENDING:
	case TB_US_MISSING: c->missing++; c->expected++; break;
	case TB_US_CLOSED: c->closed++; break;
	case TB_US_NOT_APPLICABLE: break;
	}
}

static void rates(struct tb_report_compl *c)
{
	c->has_rates = c->expected > 0;
	if (!c->has_rates)
		return;
	c->reported_pct = 100.0 * (double)c->reported / (double)c->expected;
	c->on_time_pct = 100.0 * (double)c->on_time / (double)c->expected;
}

/* Events dated in the period, from the gathered roll-up counts. */
static long period_events(const struct run *x, size_t i)
{
	int64_t n = 0;

	for (int k = 0; k < TB_KIND_COUNT; k++)
		n += x->acc[((size_t)i * TB_KIND_COUNT + (size_t)k) * x->stride];
	return (long)n;
}

static enum tb_report_unit_state state_of(const struct run *x,
					  const struct tb_report_school *s,
					  unsigned level, int64_t deadline_ts)
{
	if (s->closed_from)
		return TB_US_CLOSED;
	if (!plan_applies(x->r->plan, level))
		return TB_US_NOT_APPLICABLE;
	if (!s->events)
		return x->r->due ? TB_US_MISSING : TB_US_PENDING;
	return s->first_received && s->first_received <= deadline_ts
		       ? TB_US_ON_TIME
		       : TB_US_LATE;
}

static void school_fill(struct run *x, size_t i, int64_t deadline_ts)
{
	struct tb_report *r = x->r;
	const struct unit *u = &x->p->units[i];
	struct tb_report_school *s = &r->schools[i];

	memcpy(s->code, u->code, sizeof(s->code));
	memcpy(s->dcode, u->dcode, sizeof(s->dcode));
	s->name = u->name;
	s->level = u->level_name[0] ? u->level_name : NULL;
	s->district = u->district;
	s->last_sync = u->last_sync;
	s->closed_from = u->closed_from;
	s->events = period_events(x, i);
	s->first_received = s->events ? x->arrived[i] : 0;
	s->state = state_of(x, s, u->level, deadline_ts);
	count(&r->compl, s->state);
	if (u->district >= 0)
		count(&r->districts[u->district].compl, s->state);
}

int report_completeness(struct run *x)
{
	struct tb_report *r = x->r;
	int64_t deadline_ts;

	r->ontime_days = x->o->ontime_days > 0 ? x->o->ontime_days
					       : TB_REPORT_ONTIME_DAYS;
	r->deadline = r->period.to + r->ontime_days;
	/* the end of the deadline day in the office's zone */
	deadline_ts = ((int64_t)r->deadline + 1) * 86400 - TB_VN_UTC_OFFSET - 1;
	r->due = r->generated_at > deadline_ts;
	r->schools = tb_calloc(x->p->nunits ? x->p->nunits : 1,
			       sizeof(*r->schools));
	if (!r->schools)
		return TB_ENOMEM;
	r->nschools = x->p->nunits;
	for (size_t i = 0; i < x->p->nunits; i++)
		school_fill(x, i, deadline_ts);
	rates(&r->compl);
	for (size_t j = 0; j < r->ndistricts; j++)
		rates(&r->districts[j].compl);
	return TB_OK;
}

/* ---- the province ------------------------------------------------------- */

/* The province of the report's units (the org unit itself for a
 * province report), with its name; none when the units span several. */
int report_province(struct run *x)
{
	struct tb_report *r = x->r;
	const char *code = NULL;
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	if (strcmp(r->unit_type, "province") == 0)
		code = r->unit;
	for (size_t i = 0; !code && i < x->p->nunits; i++)
		if (x->p->units[i].pcode[0])
			code = x->p->units[i].pcode;
	for (size_t i = 0; code && i < x->p->nunits; i++)
		if (x->p->units[i].pcode[0] &&
		    strcmp(x->p->units[i].pcode, code) != 0)
			return TB_OK; /* several provinces: none named */
	if (!code)
		return TB_OK;
	r->province_code = tb_strdup(code);
	if (!r->province_code)
		return TB_ENOMEM;
	src = tb_sql_prepare(x->db, "SELECT name FROM units WHERE code = ?1", 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, code, -1);
		src = tb_sql_step(st);
	}
	if (src == TB_SQL_ROW) {
		r->province_name =
		    tb_strdup(tb_sql_column_text(st, 0));
		if (!r->province_name)
			rc = TB_ENOMEM;
	} else if (src != TB_SQL_DONE) {
		rc = tb_sql_err(src);
	}
	tb_sql_finalize(st);
	return rc;
}
