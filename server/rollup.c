/* rollup.c - report roll-ups kept by triggers (see rollup.h for the tables
 * and why).
 *
 * The SQL is generated from the event model's field tables, so a count
 * field added to an activity kind gets its column without an edit here;
 * the list of columns is the layout fingerprint stored in report_meta,
 * and a database whose fingerprint differs is rebuilt from its events.
 *
 * Each trigger statement reads the event body with json_extract: SQLite
 * parses a body once per trigger run for all the fields its statements
 * take, but every lookup walks the body's keys, so a column is read only
 * for the kinds that have its field (sql_count).
 * A row whose kind the model does not know is skipped (never an error: a
 * trigger failing would fail the merge).
 *
 * The layout and the SQL text builder are in rollup_layout.c; reading
 * (tb_rollup_scan, the snapshot reader) in rollup_scan.c.
 */
#include "server/rollup.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/rollup_layout.h"
#include "server/sql.h"

#define LAYOUT_VERSION 5

/* ---- SQL text ---------------------------------------------------------- */

static const char *const divisors[3] = {"", " / 100", " / 10000"};

/* The kind's number for row alias x, NULL for an unknown kind. */
static void sql_kind(struct rollup_sb *b, const char *x)
{
	rollup_sb_add(b, "(CASE %s.kind", x);
	for (int k = 0; k < TB_KIND_COUNT; k++)
		rollup_sb_add(b, " WHEN '%s' THEN %d", tb_kind_name((enum tb_kind)k), k);
	rollup_sb_add(b, " END)");
}

static void sql_key(struct rollup_sb *b, const char *x, int t)
{
	rollup_sb_add(b, "(CAST(replace(%s.date, '-', '') AS INTEGER)%s)", x,
	       divisors[t]);
}

/* Count column i of row x: the field from the body for the kinds that
 * have it, 0 for the others without looking into the body (each lookup
 * walks the body's keys; an outreach event has 4 of the 9 fields). */
static void sql_count(struct rollup_sb *b, const char *x, size_t i)
{
	const struct rollup_layout *l = rollup_layout();
	const char *sep = "";

	rollup_sb_add(b, "(CASE WHEN %s.kind IN (", x);
	for (int k = 0; k < TB_KIND_COUNT; k++) {
		if (!(l->col_kinds[i] & (1u << k)))
			continue;
		rollup_sb_add(b, "%s'%s'", sep, tb_kind_name((enum tb_kind)k));
		sep = ", ";
	}
	rollup_sb_add(b, ") THEN coalesce(CAST(json_extract(%s.body, '$.%s') AS "
	       "INTEGER), 0) ELSE 0 END)", x, l->cols[i]);
}

/* Adds row x to table t (trigger body). */
static void sql_add(struct rollup_sb *b, int t, const char *x)
{
	const struct rollup_layout *l = rollup_layout();
	size_t i;

	rollup_sb_add(b, "INSERT INTO %s(kind, %s, school, n, f", rollup_tables[t],
		      rollup_keys[t]);
	for (i = 0; i < l->ncols; i++)
		rollup_sb_add(b, ", c_%s", l->cols[i]);
	rollup_sb_add(b, ") SELECT ");
	sql_kind(b, x);
	rollup_sb_add(b, ", ");
	sql_key(b, x, t);
	rollup_sb_add(b, ", %s.school, 1, %s.received_at", x, x);
	for (i = 0; i < l->ncols; i++) {
		rollup_sb_add(b, ", ");
		sql_count(b, x, i);
	}
	rollup_sb_add(b, " WHERE %s.voided = 0 AND ", x);
	sql_kind(b, x);
	rollup_sb_add(b, " IS NOT NULL ON CONFLICT(school, %s, kind) DO UPDATE SET"
	       " n = n + excluded.n, f = min(coalesce(f, excluded.f),"
	       " coalesce(excluded.f, f))", rollup_keys[t]);
	for (i = 0; i < l->ncols; i++)
		rollup_sb_add(b, ", c_%s = c_%s + excluded.c_%s", l->cols[i],
		       l->cols[i], l->cols[i]);
	rollup_sb_add(b, ";\n");
}

static void sql_row_where(struct rollup_sb *b, int t, const char *x)
{
	rollup_sb_add(b, " WHERE %s.voided = 0 AND kind = ", x);
	sql_kind(b, x);
	rollup_sb_add(b, " AND %s = ", rollup_keys[t]);
	sql_key(b, x, t);
	rollup_sb_add(b, " AND school = %s.school", x);
}

/* Takes row x out of table t (trigger body). */
static void sql_sub(struct rollup_sb *b, int t, const char *x)
{
	const struct rollup_layout *l = rollup_layout();

	rollup_sb_add(b, "UPDATE %s SET n = n - 1", rollup_tables[t]);
	for (size_t i = 0; i < l->ncols; i++) {
		rollup_sb_add(b, ", c_%s = c_%s - ", l->cols[i], l->cols[i]);
		sql_count(b, x, i);
	}
	sql_row_where(b, t, x);
	rollup_sb_add(b, ";\nDELETE FROM %s", rollup_tables[t]);
	sql_row_where(b, t, x);
	rollup_sb_add(b, " AND n <= 0;\n");
}

static void sql_snap_values(struct rollup_sb *b, const char *x)
{
	const struct rollup_layout *l = rollup_layout();

	rollup_sb_add(b, "%s.id, %s.school, ", x, x);
	sql_key(b, x, 0);
	rollup_sb_add(b, ", coalesce(%s.recorded_at, 0)", x);
	for (size_t i = 0; i < l->nsnap; i++)
		rollup_sb_add(b, ", CAST(json_extract(%s.body, '$.%s') AS INTEGER)", x,
		       l->snap_names[i]);
}

static void sql_snap_cols(struct rollup_sb *b)
{
	const struct rollup_layout *l = rollup_layout();

	rollup_sb_add(b, "id, school, day, recorded_at");
	for (size_t i = 0; i < l->nsnap; i++)
		rollup_sb_add(b, ", s_%s", l->snap_names[i]);
}

static void sql_snap_add(struct rollup_sb *b, const char *x)
{
	rollup_sb_add(b, "INSERT OR REPLACE INTO report_snap(");
	sql_snap_cols(b);
	rollup_sb_add(b, ") SELECT ");
	sql_snap_values(b, x);
	rollup_sb_add(b, " WHERE %s.voided = 0 AND %s.kind = '%s';\n", x, x,
	       tb_kind_name(TB_KIND_SNAPSHOT));
}

static void sql_snap_sub(struct rollup_sb *b, const char *x)
{
	rollup_sb_add(b, "DELETE FROM report_snap WHERE school = %s.school AND day = ",
	       x);
	sql_key(b, x, 0);
	rollup_sb_add(b, " AND recorded_at = coalesce(%s.recorded_at, 0) AND id = %s.id;\n",
	       x, x);
}

static void sql_drop(struct rollup_sb *b)
{
	rollup_sb_add(b, "DROP TRIGGER IF EXISTS report_ev_insert;\n"
		  "DROP TRIGGER IF EXISTS report_ev_delete;\n"
		  "DROP TRIGGER IF EXISTS report_ev_update;\n"
		  "DROP TABLE IF EXISTS report_day;\n"
		  "DROP TABLE IF EXISTS report_month;\n"
		  "DROP TABLE IF EXISTS report_year;\n"
		  "DROP TABLE IF EXISTS report_snap;\n");
}

static void sql_create(struct rollup_sb *b)
{
	const struct rollup_layout *l = rollup_layout();
	size_t i;

	rollup_sb_add(b, "CREATE TABLE IF NOT EXISTS report_meta(key TEXT PRIMARY KEY,"
		  " value TEXT NOT NULL);\n");
	for (int t = 0; t < 3; t++) {
		rollup_sb_add(b, "CREATE TABLE %s(kind INTEGER NOT NULL, %s INTEGER NOT"
		       " NULL, school TEXT NOT NULL, n INTEGER NOT NULL, f INTEGER",
		       rollup_tables[t], rollup_keys[t]);
		for (i = 0; i < l->ncols; i++)
			rollup_sb_add(b, ", c_%s INTEGER NOT NULL", l->cols[i]);
		rollup_sb_add(b, ", PRIMARY KEY(school, %s, kind)) WITHOUT ROWID;\n",
		       rollup_keys[t]);
	}
	rollup_sb_add(b, "CREATE TABLE report_snap(id TEXT NOT NULL, school TEXT"
		  " NOT NULL, day INTEGER NOT NULL, recorded_at INTEGER NOT NULL");
	for (i = 0; i < l->nsnap; i++)
		rollup_sb_add(b, ", s_%s INTEGER", l->snap_names[i]);
	rollup_sb_add(b, ", PRIMARY KEY(school, day, recorded_at, id)) WITHOUT"
		  " ROWID;\n");
	rollup_sb_add(b, "CREATE TRIGGER report_ev_insert AFTER INSERT ON events"
		  " BEGIN\n");
	for (int t = 0; t < 3; t++)
		sql_add(b, t, "NEW");
	sql_snap_add(b, "NEW");
	rollup_sb_add(b, "END;\nCREATE TRIGGER report_ev_delete AFTER DELETE ON events"
		  " BEGIN\n");
	for (int t = 0; t < 3; t++)
		sql_sub(b, t, "OLD");
	sql_snap_sub(b, "OLD");
	/* a new revision: the sums take the new one in before the old one
	 * out, so a row that holds only this event is never emptied and
	 * keeps its first arrival (f); the snapshot row goes out first, as
	 * the new one may have the same key */
	rollup_sb_add(b, "END;\nCREATE TRIGGER report_ev_update AFTER UPDATE OF"
		  " school, kind, date, voided, body ON events BEGIN\n");
	for (int t = 0; t < 3; t++)
		sql_add(b, t, "NEW");
	for (int t = 0; t < 3; t++)
		sql_sub(b, t, "OLD");
	sql_snap_sub(b, "OLD");
	sql_snap_add(b, "NEW");
	rollup_sb_add(b, "END;\n");
}

/* Fills the empty roll-ups from the events table. */
static void sql_fill(struct rollup_sb *b)
{
	const struct rollup_layout *l = rollup_layout();
	size_t i;

	rollup_sb_add(b, "INSERT INTO report_day(kind, day, school, n, f");
	for (i = 0; i < l->ncols; i++)
		rollup_sb_add(b, ", c_%s", l->cols[i]);
	rollup_sb_add(b, ") SELECT ");
	sql_kind(b, "e");
	rollup_sb_add(b, ", ");
	sql_key(b, "e", 0);
	rollup_sb_add(b, ", e.school, count(*), min(e.received_at)");
	for (i = 0; i < l->ncols; i++) {
		rollup_sb_add(b, ", sum(");
		sql_count(b, "e", i);
		rollup_sb_add(b, ")");
	}
	rollup_sb_add(b, " FROM events e WHERE e.voided = 0 AND ");
	sql_kind(b, "e");
	rollup_sb_add(b, " IS NOT NULL GROUP BY 1, 2, 3;\n");
	for (int t = 1; t < 3; t++) {
		rollup_sb_add(b, "INSERT INTO %s SELECT kind, %s / 100, school, sum(n),"
		       " min(f)", rollup_tables[t], rollup_keys[t - 1]);
		for (i = 0; i < l->ncols; i++)
			rollup_sb_add(b, ", sum(c_%s)", l->cols[i]);
		rollup_sb_add(b, " FROM %s GROUP BY 1, 2, 3;\n", rollup_tables[t - 1]);
	}
	rollup_sb_add(b, "INSERT INTO report_snap(");
	sql_snap_cols(b);
	rollup_sb_add(b, ") SELECT ");
	sql_snap_values(b, "e");
	rollup_sb_add(b, " FROM events e WHERE e.voided = 0 AND e.kind = '%s';\n",
	       tb_kind_name(TB_KIND_SNAPSHOT));
}

static void fingerprint(struct rollup_sb *b)
{
	const struct rollup_layout *l = rollup_layout();
	size_t i;

	rollup_sb_add(b, "rollup %d; kinds", LAYOUT_VERSION);
	for (int k = 0; k < TB_KIND_COUNT; k++)
		rollup_sb_add(b, " %s", tb_kind_name((enum tb_kind)k));
	rollup_sb_add(b, "; c");
	for (i = 0; i < l->ncols; i++)
		rollup_sb_add(b, " %s", l->cols[i]);
	rollup_sb_add(b, "; s");
	for (i = 0; i < l->nsnap; i++)
		rollup_sb_add(b, " %s", l->snap_names[i]);
}

/* ---- init -------------------------------------------------------------- */

/* 1 if the stored fingerprint is fp and the three triggers exist. */
static int up_to_date(struct tb_sql *db, const char *fp)
{
	struct tb_stmt *st = NULL;
	int ok = 0;

	if (tb_sql_prepare(db, "SELECT (SELECT value FROM report_meta WHERE"
			       " key = 'rollup') = ?1 AND (SELECT count(*) FROM"
			       " sqlite_master WHERE type = 'trigger' AND name"
			       " IN ('report_ev_insert', 'report_ev_delete',"
			       " 'report_ev_update')) = 3", 0, &st) == TB_OK) {
		tb_sql_bind_text(st, 1, fp, -1);
		ok = tb_sql_step(st) == TB_SQL_ROW &&
		     tb_sql_column_int64(st, 0) == 1;
	}
	tb_sql_finalize(st);
	return ok;
}

static int rebuild(struct tb_sql *db, int only_if_stale, char *msg, size_t msglen)
{
	struct rollup_sb fp = {0}, sql = {0};
	struct tb_stmt *st = NULL;
	int rc;

	fingerprint(&fp);
	sql_drop(&sql);
	sql_create(&sql);
	sql_fill(&sql);
	if (fp.oom || sql.oom) {
		rc = TB_ENOMEM;
		goto out;
	}
	if (only_if_stale && up_to_date(db, fp.buf.p)) {
		rc = TB_OK;
		goto out;
	}
	rc = tb_sql_exec(db, "BEGIN IMMEDIATE", msg, msglen);
	if (rc < 0)
		goto out;
	if (only_if_stale && up_to_date(db, fp.buf.p)) { /* another process did */
		rc = tb_sql_exec(db, "COMMIT", msg, msglen);
		goto out;
	}
	rc = tb_sql_exec(db, sql.buf.p, msg, msglen);
	if (rc == TB_OK &&
	    (rc = tb_sql_prepare(db, "INSERT INTO report_meta(key, value)"
				 " VALUES('rollup', ?1) ON CONFLICT(key) DO"
				 " UPDATE SET value = excluded.value", 0,
				 &st)) == TB_OK) {
		tb_sql_bind_text(st, 1, fp.buf.p, -1);
		rc = tb_sql_step(st);
		rc = rc == TB_SQL_DONE ? TB_OK : tb_sql_err(rc);
	}
	if (rc == TB_OK)
		rc = tb_sql_exec(db, "COMMIT", msg, msglen);
	else if (msg && msglen && !msg[0])
		snprintf(msg, msglen, "report roll-ups: %s", tb_sql_errmsg(db));
	if (rc < 0)
		tb_sql_exec(db, "ROLLBACK", NULL, 0);
out:
	tb_sql_finalize(st);
	tb_buf_free(&fp.buf);
	tb_buf_free(&sql.buf);
	return rc;
}

int tb_rollup_init(struct tb_sql *db, char *msg, size_t msglen)
{
	if (msg && msglen)
		msg[0] = '\0';
	return rebuild(db, 1, msg, msglen);
}

int tb_rollup_rebuild(struct tb_sql *db, char *msg, size_t msglen)
{
	if (msg && msglen)
		msg[0] = '\0';
	return rebuild(db, 0, msg, msglen);
}
