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
 *   report_day    school, day INT (YYYYMMDD), kind INT, n, f, c_<field>...
 *   report_month  school, month (YYYYMM), kind, n, f, c_<field>...
 *   report_year   school, year (YYYY), kind, n, f, c_<field>...
 *                 PK (school, key, kind), WITHOUT ROWID: a school's rows
 *                 lie together, so a batch from one school dirties a few
 *                 pages of each table, and a report reads each school's
 *                 period with one index range per run; kind is the
 *                 enum tb_kind value; n = non-voided events; c_<field> =
 *                 sum of a count field of the activity kinds (parents,
 *                 students, ..., communicators) over the events of the
 *                 kinds that have the field (0 where absent; a key in a
 *                 body of another kind is not read). Only n (and f) is
 *                 meaningful on snapshot rows. f = the first arrival: the
 *                 smallest received_at of the events counted in; a new
 *                 revision does not move it (the completeness's "on
 *                 time", server/report_compl.c).
 *   report_snap   school, day (YYYYMMDD), recorded_at, id, s_<field>...
 *                 PK in that order, WITHOUT ROWID (a unit's snapshots are
 *                 read in date order); one row per non-voided snapshot;
 *                 s_<field> is NULL when the snapshot does not give it.
 * Only the current revision (the events table) is rolled up; voided
 * events are left out, and voiding or amending an event moves its
 * contribution in the same statement.
 */
#ifndef TB_SERVER_ROLLUP_H
#define TB_SERVER_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

struct tb_sql;

#define TB_ROLLUP_MAXCOLS 24

/* Creates the tables and triggers if missing and fills them from events
 * when they are new or their layout changed. Idempotent and cheap when
 * all is in place. 0; TB_EAGAIN (database busy); TB_EIO with msg. */
int tb_rollup_init(struct tb_sql *db, char *msg, size_t msglen);
/* Drops and refills every roll-up from events, in one transaction. */
int tb_rollup_rebuild(struct tb_sql *db, char *msg, size_t msglen);

/* The activity columns: how many, and the index of a field ("parents") in
 * tb_rollup_row.c, or -1. */
size_t tb_rollup_ncols(void);
int tb_rollup_col(const char *field);

struct tb_rollup_row {
	enum tb_kind kind;
	size_t school;       /* index in the schools given to tb_rollup_scan */
	int32_t first, last; /* the days the row covers, within the range */
	int64_t n;
	int64_t arrived; /* f: the first arrival of its events, 0 unknown */
	int64_t c[TB_ROLLUP_MAXCOLS];
};
typedef int (*tb_rollup_fn)(void *arg, const struct tb_rollup_row *r);

/* Calls fn for every roll-up row of the given schools and kinds (bit
 * 1 << kind) that lies in [from, to], using whole years, then whole
 * months, then days, so that every day is covered exactly once: per
 * school, one index range per run of years, months or days. Only the
 * columns in `cols` (bit 1 << tb_rollup_col) are read; the others are 0.
 * months_only: no year rows (so each row lies in one quarter). Stops at
 * fn's first non-zero return and returns it; else 0 or a database error. */
int tb_rollup_scan(struct tb_sql *db, int32_t from, int32_t to,
		   unsigned kinds, uint32_t cols, const char *const *schools,
		   size_t nschools, int months_only, tb_rollup_fn fn,
		   void *arg);

/* A figure the report wants from a unit's snapshots: one field, or two
 * that must come from the same snapshot (a ratio's numerator and
 * denominator). Fields are indexes in the snapshot's field table. */
struct tb_rollup_want {
	int n;        /* 0 (nothing), 1 or 2 */
	int field[2];
};
struct tb_rollup_got {
	int found;
	int64_t v[2];
};

/* A prepared reader of one school's snapshots at a time. */
struct tb_rollup_snaps;
int tb_rollup_snaps_open(struct tb_sql *db, struct tb_rollup_snaps **out);
/* For each want[i] with active[i] set, got[i] = the figure(s) from the
 * school's newest non-voided snapshot dated on or before `upto` that gives
 * it (by date, then the time recorded); got[i].found = 0 if none does.
 * Snapshots are read newest first, and only until every active figure
 * is found; a column is decoded only while its figure is still wanted.
 * 0 or a database error. */
int tb_rollup_latest(struct tb_rollup_snaps *s, const char *school,
		     int32_t upto, const struct tb_rollup_want *want,
		     const unsigned char *active, size_t n,
		     struct tb_rollup_got *got);
void tb_rollup_snaps_close(struct tb_rollup_snaps *s);

#endif
