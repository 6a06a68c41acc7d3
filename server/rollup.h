/* rollup.h - the report roll-ups: per (kind, day | month | year, school)
 * sums of every activity count field, and one row of figures per unit
 * snapshot, kept current by SQLite triggers on the events table so that
 * a report never parses an event body.
 *
 * Why triggers: every write to `events` (the batch merge, a future
 * correction tool, a test loading rows by SQL) updates the roll-ups in the
 * same statement, hence in the same transaction: a committed batch is
 * counted exactly once and a rolled-back one not at all, and no writer has
 * to remember to call anything. The only call needed is tb_rollup_init
 * once per database (server start, `report`), which creates the tables and
 * triggers and, the first time or after the event model changed, fills
 * them from the events already stored.
 *
 * Tables (created by tb_rollup_init; all derived, rebuilt at will):
 *   report_meta   key PK, value: "rollup" = the layout fingerprint
 *   report_day    kind INT, day INT (YYYYMMDD), school, n, c_<field>...
 *   report_month  kind, month (YYYYMM), school, n, c_<field>...
 *   report_year   kind, year (YYYY), school, n, c_<field>...
 *                 PK (kind, key, school), WITHOUT ROWID; kind is the
 *                 enum tb_kind value; n = non-voided events; c_<field> =
 *                 sum of a count field of the activity kinds (parents,
 *                 students, ..., communicators; 0 where absent). Only n is
 *                 meaningful on snapshot rows.
 *   report_snap   school, day (YYYYMMDD), recorded_at, id, s_<field>...
 *                 PK in that order, WITHOUT ROWID (a unit's snapshots are
 *                 read in date order); one row per non-voided snapshot;
 *                 s_<field> is NULL when the snapshot does not give it.
 * Only the current revision (the events table) is rolled up; voided
 * events are left out, and voiding or amending an event moves its
 * contribution in the same statement.
 */
#ifndef TB_ROLLUP_H
#define TB_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

struct sqlite3;

#define TB_ROLLUP_MAXCOLS 24

/* Creates the tables and triggers if missing and fills them from events
 * when they are new or their layout changed. Idempotent and cheap when
 * all is in place. 0; TB_EAGAIN (database busy); TB_EIO with msg. */
int tb_rollup_init(struct sqlite3 *db, char *msg, size_t msglen);
/* Drops and refills every roll-up from events, in one transaction. */
int tb_rollup_rebuild(struct sqlite3 *db, char *msg, size_t msglen);

/* The activity columns: how many, and the index of a field ("parents") in
 * tb_rollup_row.c, or -1. */
size_t tb_rollup_ncols(void);
int tb_rollup_col(const char *field);

struct tb_rollup_row {
	enum tb_kind kind;
	const char *school;  /* borrowed for the callback */
	int32_t first, last; /* the days the row covers, within the range */
	int64_t n;
	int64_t c[TB_ROLLUP_MAXCOLS];
};
typedef int (*tb_rollup_fn)(void *arg, const struct tb_rollup_row *r);

/* Calls fn for every roll-up row of the kinds (bit 1 << kind) that lies in
 * [from, to], using whole years, then whole months, then days, so that
 * every day is covered exactly once. months_only: no year rows (so each
 * row lies in one quarter). school NULL: every school. Stops at fn's first
 * non-zero return and returns it; else 0 or a database error. */
int tb_rollup_scan(struct sqlite3 *db, int32_t from, int32_t to,
		   unsigned kinds, const char *school, int months_only,
		   tb_rollup_fn fn, void *arg);

/* One snapshot; v and set are indexed like tb_kind_fields(TB_KIND_SNAPSHOT)
 * (text fields are never set). */
struct tb_rollup_snap {
	const char *school; /* borrowed for the callback */
	int32_t day;
	int64_t v[TB_FIELDS_MAX];
	unsigned char set[TB_FIELDS_MAX];
};
typedef int (*tb_rollup_snap_fn)(void *arg, const struct tb_rollup_snap *s);

/* Calls fn for every non-voided snapshot dated on or before `upto`
 * (of school, if not NULL), ordered by school, then date, then the time it
 * was recorded, so the last one of a school is its latest. */
int tb_rollup_snaps(struct sqlite3 *db, int32_t upto, const char *school,
		    tb_rollup_snap_fn fn, void *arg);

#endif
