/* report_run.h - the state of one report run, shared by the files of the
 * report engine (server/report.c, report_units.c, report_gather.c,
 * report_eval.c); nothing else includes it.
 *
 * A run (struct run) borrows the database, the plan (through r) and the
 * options for the length of tb_report_run, and owns everything else it
 * points to until run_free (report.c); the units block (struct priv)
 * passes to the report, which frees it in tb_report_destroy. Every
 * function returns 0 or a negative tb_err and, where it takes msg, sets a
 * message on failure (report_fail).
 */
#ifndef TB_SERVER_REPORT_RUN_H
#define TB_SERVER_REPORT_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "server/report.h"
#include "server/rollup.h"

#define EPS 1e-9

struct unit {
	char code[TB_CODE_MAX + 1];
	char *name;
	unsigned level; /* tb_plan_level_bit */
	char level_name[8]; /* as stored; "" when not given */
	char pcode[TB_CODE_MAX + 1]; /* its province */
	int32_t closed_from; /* closed for the whole period since; 0: open */
	int district;   /* index in r->districts, -1 with detail off */
	char dcode[TB_CODE_MAX + 1];
	int64_t last_sync;
};

/* What the report owns besides its public arrays. */
struct priv {
	size_t nunits;
	struct unit *units;
	size_t cap;    /* hash slots, a power of two */
	int32_t *slot; /* unit index + 1, 0 = empty */
};

struct run {
	struct tb_sql *db;
	struct tb_report *r;
	struct priv *p;
	const struct tb_report_opts *o;
	const char **codes; /* the units' codes, for tb_rollup_scan */
	size_t stride;      /* 1 + columns per (unit, kind) */
	uint32_t cols;      /* the roll-up columns the plan reads */
	int64_t *acc;       /* period: [unit][kind][0 = n, 1.. = columns] */
	int64_t *cum;       /* plan start .. period end (may be acc) */
	int64_t *arrived;   /* [unit]: first arrival of its period's events */
	int32_t q0;         /* first quarter index of the period */
	size_t nq;
	unsigned char *quarters;   /* [unit][quarter], for one formula */
	struct tb_rollup_got *got; /* [unit][row]: latest figures */
	int *col_of;               /* row -> 1 + roll-up column of its sum */
};

/* Sets "report: WHAT: REASON" in msg unless a message is there; rc. */
int report_fail(int rc, char *msg, size_t msglen, const char *what,
                struct tb_sql *db);

/* report_units.c: the units under the org unit and their districts. */
int report_unit_find(const struct priv *p, const char *code);
/* Fills r->unit_type and unit_name for the org unit. */
int report_org_unit(struct run *x, char *msg, size_t msglen);
int report_units_load(struct run *x, char *msg, size_t msglen);
/* The districts of the units (they are ordered by district), named. */
int report_districts_load(struct run *x, char *msg, size_t msglen);

/* report_gather.c: what the formulas need, per unit, from the roll-ups. */
/* Sums every kind over [from, to] into a new array *out; gathering into
 * x->acc (the period) also fills x->arrived. */
int report_gather(struct run *x, int32_t from, int32_t to, unsigned kinds,
                  int64_t **out);
/* Plan start .. period end: the period's sums plus what came before it
 * (or, for a period that starts before the plan, a scan of its own). */
int report_gather_cumulative(struct run *x);
/* Which quarters of the period each unit has an event of `kinds` in. */
int report_gather_quarters(struct run *x, unsigned kinds);
/* Each unit's latest figures as of the period's end, for the share and
 * ratio rows that apply to its level (so a primary school's snapshots are
 * not searched for kindergarten figures it never gives). */
int report_gather_snaps(struct run *x);

/* report_eval.c: the indicators' figures and statuses, Action Month and
 * staleness. */
int report_evaluate(struct run *x, size_t k);
int report_action_month(struct run *x);
int report_stale_units(struct run *x);

/* report_compl.c: which units are closed for the period (before the
 * indicators are evaluated), and completeness and timeliness per school,
 * district and in all (after the stale units, whose last sync it reads),
 * and the province's name. */
int report_closures_load(struct run *x);
int report_completeness(struct run *x);

/* report_series.c: each cumulative row's value at the end of every
 * half-year from the plan's start to the period's end. */
int report_series(struct run *x);
/* The part of cumulative target t due by day upto (report_eval.c). */
double report_prorate(const struct tb_report *r, const struct tb_plan_target *t,
		      int32_t upto);
int report_province(struct run *x);

#endif
