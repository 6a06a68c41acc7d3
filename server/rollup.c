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
 * One generator, two dialects (rollup_sb.pg): the statements are the same
 * on PostgreSQL, and only a few pieces differ, each in one place: the
 * JSON read (sql_jint: report_jint over the body parsed once per trigger
 * run into a jsonb variable, or once per row in the fill), the upsert's
 * target alias and least() for min(), the snapshot's upsert (no INSERT OR
 * REPLACE), the column types, and the trigger wrapper (a plpgsql function
 * per trigger, FOR EACH ROW). The fill runs under an advisory lock in its
 * transaction, so two servers starting at once fill once.
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

/* PostgreSQL: a JSON field as SQLite's CAST(json_extract(...) AS INTEGER)
 * reads a number or a boolean (truncated; true is 1), NULL for anything
 * else, never an error (it would fail the merge). */
static const char pg_jint[] =
	"CREATE OR REPLACE FUNCTION report_jint(j jsonb, k text) RETURNS"
	" bigint LANGUAGE sql IMMUTABLE AS $f$ SELECT CASE jsonb_typeof(j -> k)"
	" WHEN 'number' THEN trunc((j ->> k)::numeric)::bigint"
	" WHEN 'boolean' THEN CASE WHEN (j ->> k) = 'true' THEN 1 ELSE 0 END"
	" END $f$;\n";

/* Field `field` of row x's body as an integer, NULL when absent. On
 * PostgreSQL the body is parsed once: into tb_nj / tb_oj in a trigger,
 * the column j of the fill's source (sql_fill). */
static void sql_jint(struct rollup_sb *b, const char *x, const char *field)
{
	if (!b->pg)
		rollup_sb_add(b, "CAST(json_extract(%s.body, '$.%s') AS INTEGER)",
			      x, field);
	else if (strcmp(x, "NEW") == 0 || strcmp(x, "OLD") == 0)
		rollup_sb_add(b, "report_jint(tb_%cj, '%s')",
			      x[0] == 'N' ? 'n' : 'o', field);
	else
		rollup_sb_add(b, "report_jint(%s.j, '%s')", x, field);
}

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
	rollup_sb_add(b, ") THEN coalesce(");
	sql_jint(b, x, l->cols[i]);
	rollup_sb_add(b, ", 0) ELSE 0 END)");
}

/* Adds row x to table t (trigger body). */
static void sql_add(struct rollup_sb *b, int t, const char *x)
{
	const struct rollup_layout *l = rollup_layout();
	const char *o = b->pg ? "t." : ""; /* the row already there */
	size_t i;

	rollup_sb_add(b, "INSERT INTO %s%s(kind, %s, school, n, f",
		      rollup_tables[t], b->pg ? " AS t" : "", rollup_keys[t]);
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
	       " n = %sn + excluded.n, f = %s(coalesce(%sf, excluded.f),"
	       " coalesce(excluded.f, %sf))", rollup_keys[t], o,
	       b->pg ? "least" : "min", o, o);
	for (i = 0; i < l->ncols; i++)
		rollup_sb_add(b, ", c_%s = %sc_%s + excluded.c_%s", l->cols[i],
		       o, l->cols[i], l->cols[i]);
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
	for (size_t i = 0; i < l->nsnap; i++) {
		rollup_sb_add(b, ", ");
		sql_jint(b, x, l->snap_names[i]);
	}
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
	const struct rollup_layout *l = rollup_layout();

	rollup_sb_add(b, "INSERT %sINTO report_snap(", b->pg ? "" : "OR REPLACE ");
	sql_snap_cols(b);
	rollup_sb_add(b, ") SELECT ");
	sql_snap_values(b, x);
	rollup_sb_add(b, " WHERE %s.voided = 0 AND %s.kind = '%s'", x, x,
	       tb_kind_name(TB_KIND_SNAPSHOT));
	if (b->pg) /* SQLite's OR REPLACE */
		rollup_sb_add(b, " ON CONFLICT(school, day, recorded_at, id) DO %s",
			      l->nsnap ? "UPDATE SET" : "NOTHING");
	for (size_t i = 0; b->pg && i < l->nsnap; i++)
		rollup_sb_add(b, "%s s_%s = excluded.s_%s", i ? "," : "",
			      l->snap_names[i], l->snap_names[i]);
	rollup_sb_add(b, ";\n");
}

static void sql_snap_sub(struct rollup_sb *b, const char *x)
{
	rollup_sb_add(b, "DELETE FROM report_snap WHERE school = %s.school AND day = ",
	       x);
	sql_key(b, x, 0);
	rollup_sb_add(b, " AND recorded_at = coalesce(%s.recorded_at, 0) AND id = %s.id;\n",
	       x, x);
}

static const char *const triggers[3] = {"report_ev_insert",
					"report_ev_delete", "report_ev_update"};
static const char *const trigger_on[3] = {
	"INSERT", "DELETE", "UPDATE OF school, kind, date, voided, body"};

static void sql_drop(struct rollup_sb *b)
{
	for (int i = 0; i < 3; i++)
		rollup_sb_add(b, "DROP TRIGGER IF EXISTS %s%s;\n", triggers[i],
			      b->pg ? " ON events" : "");
	for (int i = 0; b->pg && i < 3; i++)
		rollup_sb_add(b, "DROP FUNCTION IF EXISTS %s();\n", triggers[i]);
	rollup_sb_add(b, "DROP TABLE IF EXISTS report_day;\n"
		  "DROP TABLE IF EXISTS report_month;\n"
		  "DROP TABLE IF EXISTS report_year;\n"
		  "DROP TABLE IF EXISTS report_snap;\n");
}

/* The start of trigger `i` (0 insert, 1 delete, 2 update) on events,
 * after which its statements follow. PostgreSQL: a plpgsql function with
 * the bodies it reads parsed once (tb_nj, tb_oj; sql_jint). */
static void trigger_begin(struct rollup_sb *b, int i)
{
	if (!b->pg) {
		rollup_sb_add(b, "CREATE TRIGGER %s AFTER %s ON events BEGIN\n",
			      triggers[i], trigger_on[i]);
		return;
	}
	rollup_sb_add(b, "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql"
		      " AS $f$\nDECLARE tb_nj jsonb; tb_oj jsonb;\nBEGIN\n",
		      triggers[i]);
	if (i != 1)
		rollup_sb_add(b, "tb_nj := NEW.body::jsonb;\n");
	if (i != 0)
		rollup_sb_add(b, "tb_oj := OLD.body::jsonb;\n");
}

static void trigger_end(struct rollup_sb *b, int i)
{
	if (!b->pg) {
		rollup_sb_add(b, "END;\n");
		return;
	}
	rollup_sb_add(b, "RETURN NULL;\nEND $f$;\nCREATE TRIGGER %s AFTER %s ON"
		      " events FOR EACH ROW EXECUTE FUNCTION %s();\n",
		      triggers[i], trigger_on[i], triggers[i]);
}

static void sql_create(struct rollup_sb *b)
{
	const struct rollup_layout *l = rollup_layout();
	const char *it = b->pg ? "BIGINT" : "INTEGER";
	const char *wr = b->pg ? "" : " WITHOUT ROWID";
	size_t i;

	rollup_sb_add(b, "CREATE TABLE IF NOT EXISTS report_meta(key TEXT PRIMARY KEY,"
		  " value TEXT NOT NULL);\n");
	if (b->pg)
		rollup_sb_add(b, "%s", pg_jint);
	for (int t = 0; t < 3; t++) {
		rollup_sb_add(b, "CREATE TABLE %s(kind %s NOT NULL, %s %s NOT"
		       " NULL, school TEXT NOT NULL, n %s NOT NULL, f %s",
		       rollup_tables[t], it, rollup_keys[t], it, it, it);
		for (i = 0; i < l->ncols; i++)
			rollup_sb_add(b, ", c_%s %s NOT NULL", l->cols[i], it);
		rollup_sb_add(b, ", PRIMARY KEY(school, %s, kind))%s;\n",
		       rollup_keys[t], wr);
	}
	rollup_sb_add(b, "CREATE TABLE report_snap(id TEXT NOT NULL, school TEXT"
		  " NOT NULL, day %s NOT NULL, recorded_at %s NOT NULL", it, it);
	for (i = 0; i < l->nsnap; i++)
		rollup_sb_add(b, ", s_%s %s", l->snap_names[i], it);
	rollup_sb_add(b, ", PRIMARY KEY(school, day, recorded_at, id))%s;\n", wr);
	trigger_begin(b, 0);
	for (int t = 0; t < 3; t++)
		sql_add(b, t, "NEW");
	sql_snap_add(b, "NEW");
	trigger_end(b, 0);
	trigger_begin(b, 1);
	for (int t = 0; t < 3; t++)
		sql_sub(b, t, "OLD");
	sql_snap_sub(b, "OLD");
	trigger_end(b, 1);
	/* a new revision: the sums take the new one in before the old one
	 * out, so a row that holds only this event is never emptied and
	 * keeps its first arrival (f); the snapshot row goes out first, as
	 * the new one may have the same key */
	trigger_begin(b, 2);
	for (int t = 0; t < 3; t++)
		sql_add(b, t, "NEW");
	for (int t = 0; t < 3; t++)
		sql_sub(b, t, "OLD");
	sql_snap_sub(b, "OLD");
	sql_snap_add(b, "NEW");
	trigger_end(b, 2);
}

/* The fill's rows of events, as e. PostgreSQL: with the body parsed once
 * per row as j (OFFSET 0 keeps the subquery, so j is not parsed again at
 * each of its uses). */
static const char *fill_src(const struct rollup_sb *b)
{
	return b->pg ? "(SELECT *, body::jsonb AS j FROM events OFFSET 0) e"
		     : "events e";
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
	rollup_sb_add(b, " FROM %s WHERE e.voided = 0 AND ", fill_src(b));
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
	rollup_sb_add(b, " FROM %s WHERE e.voided = 0 AND e.kind = '%s';\n",
	       fill_src(b), tb_kind_name(TB_KIND_SNAPSHOT));
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

	if (tb_sql_prepare(db, tb_sql_backend(db) == TB_SQL_PG
			? "SELECT (SELECT value FROM report_meta WHERE key ="
			  " 'rollup') = ?1 AND (SELECT count(*) FROM pg_trigger"
			  " WHERE tgrelid = 'events'::regclass AND tgname IN"
			  " ('report_ev_insert', 'report_ev_delete',"
			  " 'report_ev_update')) = 3"
			: "SELECT (SELECT value FROM report_meta WHERE"
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

/* In the rebuild's transaction, before anything is read: one process at
 * a time (on PostgreSQL an advisory lock, waited for as long as another
 * server's fill takes, where the session's lock_timeout is the busy
 * timeout), and report_meta there to be read (on PostgreSQL a failed
 * read would abort the transaction). */
static int rebuild_lock(struct tb_sql *db, char *msg, size_t msglen)
{
	int rc = TB_OK;

	if (tb_sql_backend(db) == TB_SQL_PG) /* and no NOTICE on stderr for
						each IF EXISTS */
		rc = tb_sql_exec(db, "SET LOCAL lock_timeout = '10min'; SET LOCAL"
				 " client_min_messages = warning", msg, msglen);
	if (rc == TB_OK)
		rc = tb_sql_lock_key(db, "tienbo report roll-ups");
	if (rc == TB_OK)
		rc = tb_sql_exec(db, "CREATE TABLE IF NOT EXISTS report_meta(key"
				 " TEXT PRIMARY KEY, value TEXT NOT NULL)",
				 msg, msglen);
	return rc;
}

static int rebuild(struct tb_sql *db, int only_if_stale, char *msg, size_t msglen)
{
	struct rollup_sb fp = {0}, sql = {0};
	struct tb_stmt *st = NULL;
	int rc;

	sql.pg = tb_sql_backend(db) == TB_SQL_PG;
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
	rc = rebuild_lock(db, msg, msglen);
	if (rc == TB_OK && only_if_stale && up_to_date(db, fp.buf.p)) {
		/* another process did */
		rc = tb_sql_exec(db, "COMMIT", msg, msglen);
		goto out;
	}
	if (rc == TB_OK)
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
