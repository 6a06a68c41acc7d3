/* store_db.c - the inside of the agent store (see store_db.h): the SQL of
 * every statement, SQLite failures in plain words, transactions.
 *
 * Called by agent/store.c, store_row.c, store_write.c, store_read.c and
 * store_sync.c. Every write runs in one BEGIN IMMEDIATE transaction (or
 * joins the caller's tb_store_begin), so a call either commits whole or
 * leaves nothing; COMMIT with WAL and synchronous=FULL is durable when it
 * returns. Statements are prepared once per handle and reset after use.
 */
#include "agent/store_db.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/i18n.h"
#include "common/sqlerr.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_NEXT_SEQ] = "SELECT COALESCE((SELECT seq FROM sqlite_sequence "
			"WHERE name = 'queue'), 0) + 1",
	[ST_LATEST] = "SELECT " TB_SDB_ROW_COLS " FROM queue "
		      "WHERE id = ?1 ORDER BY revision DESC LIMIT 1",
	[ST_INSERT] = "INSERT INTO queue (seq, id, revision, kind, date, "
		      "recorded_at, voided, void_reason, fields, state, "
		      "wire_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
		      "0, ?10)",
	[ST_HISTORY] = "SELECT " TB_SDB_ROW_COLS " FROM queue WHERE id = ?1 "
		       "ORDER BY seq",
	[ST_LIST] = "SELECT " TB_SDB_ROW_COLS " FROM queue q WHERE revision = (SELECT max(revision) FROM "
		    "queue WHERE id = q.id) "
		    "AND (?1 IS NULL OR kind = ?1) "
		    "AND (?2 IS NULL OR date >= ?2) "
		    "AND (?3 IS NULL OR date <= ?3) "
		    "AND (?4 = 0 OR state = 0) "
		    "AND (?5 = 1 OR voided = 0) ORDER BY date, seq",
	[ST_RESOLVE] = "SELECT DISTINCT id FROM queue WHERE "
		       "CASE WHEN length(?1) = 36 THEN id = ?1 "
		       "ELSE instr(id, ?1) > 0 END ORDER BY id LIMIT 2",
	[ST_PENDING_STATS] = "SELECT count(*), COALESCE(sum(wire_bytes), 0) "
			     "FROM queue WHERE state = 0",
	[ST_OLDEST] = "SELECT recorded_at, seq FROM queue WHERE state = 0 "
		      "ORDER BY seq LIMIT 1",
	[ST_LAST_SEQ] = "SELECT COALESCE(max(seq), 0) FROM queue",
	[ST_PENDING_EACH] = "SELECT " TB_SDB_ROW_COLS " FROM queue "
			    "WHERE state = 0 AND seq > ?1 ORDER BY seq",
	[ST_MARK_SENT] = "UPDATE queue SET state = 1 WHERE state = 0 "
			 "AND seq <= ?1",
	[ST_MARK_REJECTED] = "UPDATE queue SET state = 2, reject_reason = ?2 "
			     "WHERE seq = ?1 AND state <> 2",
	[ST_SEQ_EXISTS] = "SELECT 1 FROM queue WHERE seq = ?1",
	[ST_REQUEUE] = "UPDATE queue SET state = 0, reject_reason = NULL "
		       "WHERE seq >= ?1 AND state <> 0",
	[ST_KV_GET] = "SELECT value FROM sync_state WHERE key = ?1",
	[ST_KV_SET] = "INSERT INTO sync_state (key, value) VALUES (?1, ?2) "
		      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_KV_DEL] = "DELETE FROM sync_state WHERE key = ?1",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_ROWS] = "SELECT count(*) FROM queue",
	[ST_STATE_COUNTS] = "SELECT state, count(*), "
			    "COALESCE(sum(wire_bytes), 0) FROM queue "
			    "GROUP BY state",
	[ST_EVENTS] = "SELECT count(DISTINCT id) FROM queue",
	[ST_IMP_NEW] = "INSERT INTO imports (at, file) VALUES (?1, ?2)",
	[ST_IMP_ROW] = "INSERT INTO import_rows (import_id, row, content, key, "
		       "event_id) VALUES (?1, ?2, ?3, ?4, ?5)",
	/* the same content first, else the same key; imports undone are
	 * forgotten */
	[ST_IMP_FIND] = "SELECT r.import_id, i.at, i.file, r.row, r.event_id, "
			"r.content = ?1 FROM import_rows r JOIN imports i ON "
			"i.id = r.import_id WHERE i.undone_at IS NULL AND "
			"(r.content = ?1 OR r.key = ?2) ORDER BY "
			"r.content = ?1 DESC, r.import_id, r.row LIMIT 1",
	[ST_IMP_DONE] = "UPDATE imports SET rows = ?2, skipped = ?3 "
			"WHERE id = ?1",
	[ST_IMP_LIST] = "SELECT id, at, file, rows, skipped, undone_at "
			"FROM imports WHERE ?1 = 0 OR id = ?1 ORDER BY id",
	[ST_IMP_EVENTS] = "SELECT event_id FROM import_rows "
			  "WHERE import_id = ?1 ORDER BY row",
	[ST_IMP_UNDONE] = "UPDATE imports SET undone_at = ?2 WHERE id = ?1",
};

/* ---- errors --------------------------------------------------------------- */


int tb_sdb_dbfail(struct tb_store *s, int src, const char *doing)
{
	const char *why = "";
	int rc = tb_sqlite_err(s->db, src, &why);

	snprintf(s->errmsg, sizeof(s->errmsg), "%s %s: %s (%s)", _(doing),
		 s->path, why, sqlite3_errmsg(s->db));
	return rc;
}

int tb_sdb_fail(struct tb_store *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- statements and transactions ---------------------------------------- */

/* The prepared statement `which`, reset and unbound; NULL with errmsg set. */
sqlite3_stmt *tb_sdb_stmt(struct tb_store *s, enum stmt_id which)
{
	sqlite3_stmt **st = &s->st[which];
	int src;

	if (!*st) {
		src = sqlite3_prepare_v3(s->db, stmt_sql[which], -1,
					 SQLITE_PREPARE_PERSISTENT, st, NULL);
		if (src != SQLITE_OK) {
			tb_sdb_dbfail(s, src, N_("cannot read"));
			*st = NULL;
			return NULL;
		}
	}
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

int tb_sdb_exec(struct tb_store *s, const char *sql, const char *doing)
{
	int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return src == SQLITE_OK ? TB_OK : tb_sdb_dbfail(s, src, doing);
}

/* Write transaction of one call, unless the caller holds one. */
int tb_sdb_wbegin(struct tb_store *s)
{
	s->errmsg[0] = '\0';
	if (s->explicit_tx)
		return TB_OK;
	return tb_sdb_exec(s, "BEGIN IMMEDIATE", N_("cannot write to"));
}

int tb_sdb_wend(struct tb_store *s, int rc)
{
	if (s->explicit_tx)
		return rc;
	if (rc == TB_OK)
		rc = tb_sdb_exec(s, "COMMIT", N_("cannot write to"));
	if (rc != TB_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Read transaction (one consistent view) unless one is open already.
 * Returns 1 if it began one, which rend then ends. */
int tb_sdb_rbegin(struct tb_store *s)
{
	s->errmsg[0] = '\0';
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

void tb_sdb_rend(struct tb_store *s, int began)
{
	if (began)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

/* Steps a statement that returns no row or one row. */
int tb_sdb_step(struct tb_store *s, sqlite3_stmt *st, const char *doing,
		    int *row)
{
	int src = sqlite3_step(st);

	*row = src == SQLITE_ROW;
	if (src == SQLITE_ROW || src == SQLITE_DONE)
		return TB_OK;
	return tb_sdb_dbfail(s, src, doing);
}

int tb_sdb_i64(struct tb_store *s, enum stmt_id which, int64_t *a,
		     int64_t *b)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, which);
	int rc, row;

	if (!st)
		return TB_EIO;
	rc = tb_sdb_step(s, st, N_("cannot read"), &row);
	if (rc == TB_OK) {
		*a = row ? sqlite3_column_int64(st, 0) : 0;
		if (b)
			*b = row ? sqlite3_column_int64(st, 1) : 0;
	}
	sqlite3_reset(st);
	return rc;
}

