/* schema.c - the agent store's tables, and the steps between versions.
 *
 * Called by agent/store.c on every open. The layout (version 4):
 *
 *   meta(key, value)         identity of the file: device, school
 *   queue                    one row per revision, in seq order
 *     seq          INTEGER PRIMARY KEY AUTOINCREMENT   per-device, never reused
 *     id           TEXT     event id (UUID)
 *     revision     INTEGER  1 for the first record, +1 per amend / void
 *     kind         TEXT     "outreach", "training", ...
 *     date         TEXT     YYYY-MM-DD (sorts as text)
 *     recorded_at  INTEGER  UTC seconds when this revision was made
 *     voided       INTEGER  0 / 1
 *     void_reason  TEXT     non-NULL iff voided
 *     fields       TEXT     the kind's set fields as one JSON object, the
 *                            codec's (tb_event_fields_write)
 *     state        INTEGER  0 pending, 1 sent, 2 rejected
 *     reject_reason TEXT    the server's reason when rejected
 *     wire_bytes   INTEGER  bytes of the revision's batch encoding (v2)
 *     UNIQUE(id, revision)
 *   index queue_state_seq(state, seq)  pending walk and counts (since v2)
 *   sync_state(key, value)   last_attempt, last_success, last_error, ...
 *                            and the sync engine's own keys    (since v2)
 *
 *   imports(id, at, file, rows, skipped, undone_at)     one per import
 *                            that recorded something            (since v4)
 *   import_rows(import_id, row, content, key, event_id)  each row it
 *                            recorded: content is the row's fingerprint
 *                            (kind, date and the fields as the codec
 *                            writes them, so "1.500" and "1500" are one),
 *                            key its kind, date and folded title
 *
 * Version 1 kept the sync times in meta and had no wire_bytes: step 2 moves
 * them and fills wire_bytes from the stored JSON.
 * Versions 1 and 2 also kept `wire`, the event object of a batch as JSON
 * made by the agent itself. Since version 3 the codec encodes each batch
 * from the columns above (protocol/batch.h); step 3 drops the column. The
 * columns hold everything that JSON held (it was made from them), so an
 * upgraded store sends the same bytes for its pending rows as it would
 * have before (tests/test_store.c checks it on a version 1 file), and
 * wire_bytes stays right.
 */
#include "agent/schema.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

static const char *const steps[TB_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"PRAGMA application_id = 1952604519;\n" /* TB_SCHEMA_APP_ID */
	"CREATE TABLE meta (\n"
	"  key   TEXT PRIMARY KEY,\n"
	"  value TEXT NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE queue (\n"
	"  seq           INTEGER PRIMARY KEY AUTOINCREMENT CHECK (seq > 0),\n"
	"  id            TEXT NOT NULL,\n"
	"  revision      INTEGER NOT NULL CHECK (revision >= 1),\n"
	"  kind          TEXT NOT NULL,\n"
	"  date          TEXT NOT NULL,\n"
	"  recorded_at   INTEGER NOT NULL,\n"
	"  voided        INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),\n"
	"  void_reason   TEXT,\n"
	"  fields        TEXT NOT NULL,\n"
	"  state         INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),\n"
	"  reject_reason TEXT,\n"
	"  wire          TEXT NOT NULL,\n"
	"  UNIQUE (id, revision)\n"
	");\n",
	/* 1 -> 2 */
	"ALTER TABLE queue ADD COLUMN wire_bytes INTEGER NOT NULL DEFAULT 0;\n"
	"UPDATE queue SET wire_bytes = length(CAST(wire AS BLOB));\n"
	"CREATE INDEX queue_state_seq ON queue (state, seq);\n"
	"CREATE TABLE sync_state (\n"
	"  key   TEXT PRIMARY KEY,\n"
	"  value TEXT NOT NULL\n"
	") WITHOUT ROWID;\n"
	"INSERT INTO sync_state (key, value)\n"
	"  SELECT key, value FROM meta WHERE key IN\n"
	"  ('last_attempt', 'last_success', 'last_error', 'last_error_at');\n"
	"DELETE FROM meta WHERE key IN\n"
	"  ('last_attempt', 'last_success', 'last_error', 'last_error_at');\n",
	/* 2 -> 3 */
	"ALTER TABLE queue DROP COLUMN wire;\n",
	/* 3 -> 4 */
	"CREATE TABLE imports (\n"
	"  id        INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  at        INTEGER NOT NULL,\n"
	"  file      TEXT NOT NULL,\n"
	"  rows      INTEGER NOT NULL DEFAULT 0,\n"
	"  skipped   INTEGER NOT NULL DEFAULT 0,\n"
	"  undone_at INTEGER\n"
	");\n"
	"CREATE TABLE import_rows (\n"
	"  import_id INTEGER NOT NULL REFERENCES imports (id),\n"
	"  row       INTEGER NOT NULL,\n"
	"  content   TEXT NOT NULL,\n"
	"  key       TEXT NOT NULL,\n"
	"  event_id  TEXT NOT NULL,\n"
	"  PRIMARY KEY (import_id, row)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX import_rows_content ON import_rows (content);\n"
	"CREATE INDEX import_rows_key ON import_rows (key);\n",
};

const char *tb_schema_step(int v)
{
	if (v < 1 || v > TB_SCHEMA_VERSION)
		return NULL;
	return steps[v - 1];
}

static int sql_rc(int src)
{
	switch (src & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TB_EAGAIN;
	case SQLITE_NOMEM:
		return TB_ENOMEM;
	default:
		return TB_EIO;
	}
}

/* One integer from a one-row query. */
static int query_int(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (src == SQLITE_OK) {
		src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			src = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return src;
}

static int fail(sqlite3 *db, int src, const char *path, const char *what,
		char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s: %s: %s", path, what, sqlite3_errmsg(db));
	return sql_rc(src);
}

/* Reads version and application id into *version, and refuses what this
 * agent cannot open. */
static int inspect(sqlite3 *db, const char *path, long long *version,
		   char *msg, size_t msglen)
{
	long long app = 0, tables = 0;
	int src;

	src = query_int(db, "PRAGMA user_version", version);
	if (src == SQLITE_OK)
		src = query_int(db, "PRAGMA application_id", &app);
	if (src == SQLITE_OK)
		src = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
	if (src != SQLITE_OK)
		return fail(db, src, path, "cannot read the database", msg,
			    msglen);
	if (app != 0 && app != TB_SCHEMA_APP_ID) {
		snprintf(msg, msglen,
			 "%s: not a tienbo agent store (application id %lld)",
			 path, app);
		return TB_EINVAL;
	}
	if (*version == 0 && tables > 0) {
		snprintf(msg, msglen,
			 "%s: not a tienbo agent store (has tables but no "
			 "schema version)", path);
		return TB_EINVAL;
	}
	if (*version > TB_SCHEMA_VERSION) {
		snprintf(msg, msglen,
			 "%s has store schema version %lld, but this "
			 "tienbo-agent knows only up to version %d: use a "
			 "newer tienbo-agent (the file was left unchanged)",
			 path, *version, TB_SCHEMA_VERSION);
		return TB_ECONFLICT;
	}
	if (*version < 0) {
		snprintf(msg, msglen, "%s: bad schema version %lld", path,
			 *version);
		return TB_EINVAL;
	}
	return TB_OK;
}

int tb_schema_migrate(struct sqlite3 *db, const char *path, char *msg,
		      size_t msglen)
{
	long long version = 0;
	char sql[64];
	int rc, src, v;

	rc = inspect(db, path, &version, msg, msglen);
	if (rc != TB_OK || version == TB_SCHEMA_VERSION)
		return rc;

	src = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (src != SQLITE_OK)
		return fail(db, src, path, "cannot upgrade the store", msg,
			    msglen);
	/* Another process may have upgraded it while we waited. */
	rc = inspect(db, path, &version, msg, msglen);
	for (v = (int)version + 1; rc == TB_OK && v <= TB_SCHEMA_VERSION;
	     v++) {
		/* inspect() returned TB_OK, so 0 <= version < v. */
		/* cppcheck-suppress negativeIndex */
		src = sqlite3_exec(db, steps[v - 1], NULL, NULL, NULL);
		if (src != SQLITE_OK)
			rc = fail(db, src, path, "cannot upgrade the store",
				  msg, msglen);
	}
	if (rc == TB_OK) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 TB_SCHEMA_VERSION);
		src = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (src == SQLITE_OK)
			src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (src != SQLITE_OK)
			rc = fail(db, src, path, "cannot upgrade the store",
				  msg, msglen);
	}
	if (rc != TB_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
