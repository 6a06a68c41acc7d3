/* db.h - the server's SQLite database: opening a connection and the schema.
 *
 * One file in WAL mode, so readers never wait for the writer; every
 * connection gets a busy timeout, foreign keys, and the synchronous mode the
 * settings ask for (FULL by default: an acknowledged batch survives a power
 * cut, not just a crash). The schema is created on first open and
 * versioned with PRAGMA user_version; a newer version than this binary
 * knows is refused. Called by server/dbpool.c and the local commands.
 *
 * Tables (schema 1):
 *   units         code PK, name, type (school | district | province),
 *                 level (a school's MN TH THCS THPT GDTX office, or NULL),
 *                 district, province, created_at. A school row names its
 *                 district and province; a district row its province.
 *   devices       one row per enrolled token: id PK, school, token_prefix,
 *                 token_hash (SHA-256; the token itself is never stored),
 *                 device (uuid bound on first upload), enrolled_at,
 *                 last_seen, revoked_at.
 *   cursors       device uuid PK, school, committed_through: the
 *                 high-water mark, kept by device so it survives a token
 *                 being replaced.
 *   admin_tokens  id PK, token_prefix, token_hash, created_at, revoked_at.
 *   events        current revision per event id: school, kind, date
 *                 (YYYY-MM-DD), revision, voided, device, seq, recorded_at,
 *                 received_at, content_hash, body (JSON of the revision).
 *   event_history every revision ever accepted, keyed (id, revision).
 *   rejections    events refused one by one (the reason, for the office).
 * Times are Unix seconds, UTC.
 */
#ifndef TB_SERVER_DB_H
#define TB_SERVER_DB_H

#include <stddef.h>

struct sqlite3;

#define TB_DB_SCHEMA 1

struct tb_db_opts {
	int busy_timeout_ms; /* <= 0: 5000 */
	int sync_full;       /* 1: synchronous=FULL, 0: NORMAL */
	int readonly;        /* open without creating or migrating */
};

/* Opens (creating if needed) the database at path into *out. 0; TB_EIO
 * with msg; TB_ECONFLICT when the file has a newer schema; TB_EAGAIN when
 * the schema could not be set up because the file is locked. *out is NULL
 * on failure; close with tb_db_close. */
int tb_db_open(const char *path, const struct tb_db_opts *o,
	       struct sqlite3 **out, char *msg, size_t msglen);
/* Finalizes every statement left on db and closes it. Accepts NULL. */
void tb_db_close(struct sqlite3 *db);

/* Runs SQL without results. 0, TB_EAGAIN (busy/locked), TB_EIO (msg). */
int tb_db_exec(struct sqlite3 *db, const char *sql, char *msg, size_t msglen);
/* Maps an SQLite result code to tb_err by common/sqlerr.h (the agent's
 * mapping too): BUSY/LOCKED -> TB_EAGAIN, CONSTRAINT -> TB_ECONFLICT,
 * NOMEM -> TB_ENOMEM, else TB_EIO. */
int tb_db_err(int sqlite_rc);

#endif
