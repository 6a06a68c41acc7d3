/* report.h - the plan report engine: every indicator of a plan for an org
 * unit and a period, against its target.
 *
 * Called by the `report` command and the HTTP front (server/report_cli.c,
 * server/report_http.c); rendered by server/report_out.c. The meaning of
 * every number (units expected and reported, latest snapshots, the target
 * of a year, pro-rated cumulative targets, statuses) is documented in
 * plans/README.md, "How a report reads a plan"; this engine implements
 * exactly that.
 *
 * The engine reads only the roll-ups of server/rollup.h and the units,
 * devices and cursors tables, inside one read transaction, so a report is
 * one consistent snapshot of the database even while batches are merged.
 * Cost, per unit under the org unit: one indexed query over its roll-up
 * rows for the period (whole years, whole months and days; see
 * tb_rollup_scan), one more for the cumulative sums before the period and
 * one for the Action Month when they are needed, one over its snapshots
 * (newest first, stopping when every figure is found); then per indicator
 * one loop over the units expected. About 0.2-0.4 s for a province of
 * 10,000 schools and 2,000,000 events (bench/README.md).
 */
#ifndef TB_SERVER_REPORT_H
#define TB_SERVER_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/date.h"
#include "common/event.h"
#include "server/plan.h"

struct tb_sql;

#define TB_REPORT_STALE_DAYS 14
#define TB_REPORT_ONTIME_DAYS 10

/* Creates (once) the roll-up tables and triggers the engine reads; call at
 * server start and before a report on a database. See tb_rollup_init. */
int tb_report_init(struct tb_sql *db, char *msg, size_t msglen);

enum tb_report_status {
	TB_ST_ON_TRACK,
	TB_ST_BEHIND,
	TB_ST_NO_TARGET,
	TB_ST_NO_DATA,      /* no unit reported: nothing to compute */
	TB_ST_NOT_COLLECTED /* the plan marks it not collected */
};
const char *tb_report_status_name(enum tb_report_status s);

struct tb_report_opts {
	const char *unit;  /* a school, district or province code; NULL or
			      "all": every unit */
	int64_t now;       /* 0: tb_time_now() (generated_at, staleness) */
	int detail;        /* also per district, stale units, Action Month */
	int stale_days;    /* <= 0: TB_REPORT_STALE_DAYS */
	int ontime_days;   /* <= 0: TB_REPORT_ONTIME_DAYS; data for the
			      period received by period end + this many
			      days (local dates) is on time */
	int series;        /* also each cumulative row's value at the end
			      of every half-year since the plan's start */
};

/* One indicator's numbers for a set of units. */
struct tb_report_value {
	int has_value;
	double value;          /* of the period; counts are whole */
	int has_cumulative;    /* cumulative formulas: from the plan's start */
	double cumulative;
	const struct tb_plan_target *target; /* NULL: none for the year */
	double expected_now;   /* what the value must reach (pro-rated) */
	int has_progress;
	double progress_pct;   /* value (or cumulative) / target * 100 */
	enum tb_report_status status;
	long reported, expected;
};

/* A cumulative row at the end of one half-year (opts.series). */
struct tb_report_point {
	int32_t at;     /* the half-year's last day (or the period's end) */
	double value;   /* cumulated from the plan's start to `at` */
	int has_target;
	double target;  /* the target due by `at` (pro-rated) */
};

struct tb_report_row {
	const struct tb_plan_ind *ind; /* borrowed from the plan */
	struct tb_report_value v;
	size_t npoints;                /* opts.series, cumulative rows */
	struct tb_report_point *series;
	size_t nmissing;
	char **missing; /* codes of units expected that did not report
			   (borrowed from the report) */
};

/* The Action Month summary: activities held in the window (15 Nov - 15
 * Dec of `year`): every event of kind action-month, and every outreach
 * event dated in the window whose occasion is action-month. */
struct tb_report_am {
	int year;
	int32_t from, to;
	int64_t activities, parents, students, teachers_staff, officials;
	long units_active, units;
};

/* Completeness and timeliness (DHIS2's sense, see plans/README.md):
 * a school is expected for the period unless it was closed for all of it
 * (unit_closures) or no indicator of the plan applies to its level; it
 * reported if it has a non-voided event dated in the period; on time if
 * the first of those reached the server by the deadline. */
enum tb_report_unit_state {
	TB_US_ON_TIME, /* reported, the first data by the deadline */
	TB_US_LATE,    /* reported, the first data after the deadline */
	TB_US_PENDING, /* expected, nothing yet; the deadline has not come */
	TB_US_MISSING, /* expected, nothing; the deadline has passed */
	TB_US_CLOSED,  /* closed for the whole period: not expected */
	TB_US_NOT_APPLICABLE /* no indicator applies to its level */
};
const char *tb_report_unit_state_name(enum tb_report_unit_state s);

struct tb_report_compl {
	long expected;   /* open schools the plan applies to */
	long reported;   /* of those, with data dated in the period */
	long on_time;    /* of those, received by the deadline */
	long late;       /* reported after the deadline */
	long missing;    /* expected - reported (pending or missing) */
	long closed;     /* closed for the whole period */
	int has_rates;   /* expected > 0 */
	double reported_pct, on_time_pct; /* of expected */
};

/* One school under the org unit (with opts.detail), in district then
 * code order. */
struct tb_report_school {
	char code[TB_CODE_MAX + 1];
	char dcode[TB_CODE_MAX + 1];
	const char *name;      /* borrowed from the report */
	const char *level;     /* borrowed; NULL when not given */
	int district;          /* index in districts */
	int64_t last_sync;     /* 0: never */
	int64_t first_received;/* first data dated in the period reached the
				  server (Unix s); 0: none */
	long events;           /* non-voided events dated in the period */
	int32_t closed_from;   /* the closure covering the period; 0: open */
	enum tb_report_unit_state state;
};

struct tb_report_district {
	char code[TB_CODE_MAX + 1];
	char *name;
	long units;
	struct tb_report_value *v; /* one per row of the report */
	struct tb_report_am am;
	struct tb_report_compl compl;
};

struct tb_report_stale {
	char code[TB_CODE_MAX + 1];
	char district[TB_CODE_MAX + 1];
	const char *name;  /* borrowed from the report */
	int64_t last_sync; /* 0: never */
};

struct tb_report {
	const struct tb_plan *plan;  /* borrowed */
	char unit[TB_CODE_MAX + 1];  /* "all" for every unit */
	char unit_type[16];          /* school, district, province, all */
	char *unit_name;
	struct tb_period period;     /* a cumulative one starts at the plan's */
	int64_t generated_at;
	size_t nrows;
	struct tb_report_row *rows;  /* in the plan's order */
	long units;                  /* units under the org unit */
	/* With opts.detail: */
	size_t ndistricts;
	struct tb_report_district *districts; /* ordered by code */
	struct tb_report_am am;
	int stale_days;
	size_t nstale;
	struct tb_report_stale *stale; /* by district, then code */
	char *province_code, *province_name; /* the units' province */
	int ontime_days;
	int32_t deadline;              /* last day (local) still on time */
	int due;                       /* the deadline has passed */
	struct tb_report_compl compl;  /* every school under the org unit */
	size_t nschools;
	struct tb_report_school *schools;
	void *priv_;                   /* the engine's: units, index */
};

/* Computes the report. period: a form of tb_period_parse. 0 and *out
 * (tb_report_destroy); TB_EINVAL with msg for a bad period; TB_ENOTFOUND
 * with msg for an unknown unit; TB_EAGAIN / TB_EIO from the database;
 * TB_ENOMEM. The plan must outlive the report. */
int tb_report_run(struct tb_sql *db, const struct tb_plan *plan,
		  const char *period, const struct tb_report_opts *o,
		  struct tb_report **out, char *msg, size_t msglen);
void tb_report_destroy(struct tb_report *r);

/* The name of a school under the report's org unit (the `missing` lists
 * hold codes), or NULL when it is not one. Borrowed from the report. */
const char *tb_report_school_name(const struct tb_report *r, const char *code);
/* The name of a district of the report (with detail), or NULL. */
const char *tb_report_district_name(const struct tb_report *r,
				    const char *code);

/* The row of an indicator id, or NULL. */
const struct tb_report_row *tb_report_find(const struct tb_report *r,
					   const char *id);

#endif
