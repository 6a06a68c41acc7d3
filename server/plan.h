/* plan.h - the gender-equality plans as data: loading and checking the plan
 * files of plans/ (format in plans/README.md).
 *
 * A plan lists its indicators in the order the plan text gives them, each
 * with Vietnamese and English names, its unit, the unit levels it applies
 * to, targets by year and a formula from a small set (tb_plan_ftype) over
 * the events and unit snapshots of common/event.h. An indicator with
 * several parts (parents / students / officials) is flattened here into
 * one tb_plan_ind per part, id "HB-3.1/parents", in file order.
 *
 * Called by server/report.c (the engine), the `report` command and the
 * HTTP front at start. Loading is strict: unknown keys, wrong types, fields
 * that the event model does not have, a formula that does not fit the
 * unit, duplicate ids and targets outside the plan's years are refused
 * with a message "FILE: PLACE: PROBLEM", PLACE a JSON path such as
 * "indicators[3].targets.2025.cmp" (or "line L, column C" for bad JSON).
 * A loaded plan is immutable and may be shared by threads.
 */
#ifndef TB_SERVER_PLAN_H
#define TB_SERVER_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

#define TB_PLAN_FORMAT 1
#define TB_PLAN_ID_MAX 64    /* plan id: a-z 0-9 '-' */
#define TB_PLAN_IND_ID_MAX 64 /* "HB-3.1/parents" */
#define TB_PLAN_MAX_TARGETS 8
#define TB_PLAN_MAX_INDICATORS 200
#define TB_PLAN_FILE_MAX (1024 * 1024)
#define TB_PLAN_MSG_LEN 512  /* a refusal: file, place, problem */

/* Unit levels (server/org.h): bit (1 << i) for TB_PLAN_LEVEL_NAMES[i]; a
 * unit whose level is unknown or NULL matches only TB_PLAN_LEVEL_ALL. */
#define TB_PLAN_NLEVELS 7
extern const char *const TB_PLAN_LEVEL_NAMES[TB_PLAN_NLEVELS];
#define TB_PLAN_LEVEL_OTHER (1u << TB_PLAN_NLEVELS)
#define TB_PLAN_LEVEL_ALL ((1u << (TB_PLAN_NLEVELS + 1)) - 1)

enum tb_plan_cmp {
	TB_CMP_GE,    /* ">=": at least */
	TB_CMP_GT,    /* ">": more than */
	TB_CMP_ABOUT  /* "about" or "~": within TB_PLAN_ABOUT_TOL below */
};
#define TB_PLAN_ABOUT_TOL 0.10

enum tb_plan_unit {
	TB_UNIT_COUNT,         /* people reached (luot), a whole number */
	TB_UNIT_PERCENT_UNITS, /* % of the units expected / reported */
	TB_UNIT_RATIO,         /* % of people: trained / members */
	TB_UNIT_RATE           /* % of a population: enrolled / children */
};

enum tb_plan_ftype {
	TB_F_SUM,           /* sum of an activity field over kinds, period */
	TB_F_COUNT,         /* number of activity events of kinds, period */
	TB_F_SHARE_UNITS,   /* % of units whose latest snapshot says yes */
	TB_F_RATIO,         /* 100 * sum(num) / sum(den), latest snapshots */
	TB_F_EVERY_QUARTER, /* % of units with an event in every quarter */
	TB_F_NOT_COLLECTED  /* no data in the model: shown with a reason */
};

/* Which units a share divides by. */
enum tb_plan_over {
	TB_OVER_REPORTED, /* units that reported (a missing unit is no zero) */
	TB_OVER_EXPECTED  /* every unit expected (a missing unit counts no) */
};

struct tb_plan_target {
	int year;
	enum tb_plan_cmp cmp;
	double value;
};

struct tb_plan_formula {
	enum tb_plan_ftype type;
	unsigned kinds;   /* bit (1 << enum tb_kind): sum, count, every_quarter */
	int field;        /* share_units: snapshot field index; else -1 */
	char name[40];    /* sum: the activity field's name (its index differs
			     by kind); share_units: the snapshot field's */
	int num, den;     /* ratio: snapshot field indexes */
	int cumulative;   /* sum / count: the target counts from plan start */
	enum tb_plan_over over; /* share_units / every_quarter */
	char *reason;     /* not_collected: why (owned) */
};

struct tb_plan_ind {
	char id[TB_PLAN_IND_ID_MAX + 1]; /* "HB-3.1" or "HB-3.1/parents" */
	char *name_vi, *name_en;         /* owned; parent: part for parts */
	enum tb_plan_unit unit;
	unsigned levels;                 /* TB_PLAN_LEVEL_* bits */
	size_t ntargets;                 /* ordered by year */
	struct tb_plan_target targets[TB_PLAN_MAX_TARGETS];
	struct tb_plan_formula f;
};

struct tb_plan {
	char id[TB_PLAN_ID_MAX + 1];
	char *name_vi, *name_en, *source; /* owned; source may be NULL */
	char *path;                       /* the file it came from */
	int32_t start, end;               /* days (common/date.h) */
	size_t count;
	struct tb_plan_ind *ind;          /* in the plan's order */
};

/* A directory's plans, in file-name order. */
struct tb_plan_set {
	size_t count;
	struct tb_plan **plans;
};

/* Loads and checks one plan file. 0 and *out (free with tb_plan_destroy);
 * TB_ECONFIG with msg "FILE: PLACE: PROBLEM"; TB_EIO with msg when the
 * file cannot be read; TB_ENOMEM. */
int tb_plan_load(const char *path, struct tb_plan **out, char *msg,
		 size_t msglen);
/* The same from text in memory; `name` stands for the file in messages. */
int tb_plan_parse(const char *name, const char *text, size_t len,
		  struct tb_plan **out, char *msg, size_t msglen);
void tb_plan_destroy(struct tb_plan *p);

/* Loads every *.json of dir. Any bad file refuses the whole set (the
 * message names it); two files with one plan id are refused; a directory
 * without plans is TB_ECONFIG. 0 and *out (tb_plan_set_destroy). */
int tb_plan_set_load(const char *dir, struct tb_plan_set **out, char *msg,
		     size_t msglen);
void tb_plan_set_destroy(struct tb_plan_set *s);
/* The plan with that id, or NULL. Borrowed from s. */
const struct tb_plan *tb_plan_set_find(const struct tb_plan_set *s,
				       const char *id);

/* The target that applies to a year: the first target year at or after
 * it (2025 targets apply up to 2025, 2030 ones from 2026 to 2030), or
 * NULL after the last. */
const struct tb_plan_target *tb_plan_target_for(const struct tb_plan_ind *ind,
						int year);

/* Names as written in plan files and reports. Static storage. */
const char *tb_plan_cmp_name(enum tb_plan_cmp c);
const char *tb_plan_unit_name(enum tb_plan_unit u);
const char *tb_plan_ftype_name(enum tb_plan_ftype t);
/* Bit of a unit level ("THCS"), TB_PLAN_LEVEL_OTHER for NULL or unknown. */
unsigned tb_plan_level_bit(const char *level);

#endif
