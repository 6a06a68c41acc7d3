/* db.h - the server's SQLite database: opening a connection and the schema.
 *
 * One file in WAL mode, so readers never wait for the writer; every
 * connection gets a busy timeout, foreign keys, and the synchronous mode the
 * settings ask for (FULL by default: an acknowledged batch survives a power
 * cut, not just a crash). The schema is versioned with PRAGMA
 * user_version: a new file gets the latest schema, an older one is
 * migrated step by step in one transaction (all steps or none: a failure
 * leaves it at its version), and a newer one than this binary knows, or a
 * file with tables but no version, is refused with a message naming the
 * file. Called by server/dbpool.c and the local commands.
 *
 * Tables (schema 3; schema 1 had all but unit_closures, and schemas 1-2
 * kept every body twice, in events and event_history):
 *   units         code PK, name, type (school | district | province),
 *                 level (a school's MN TH THCS THPT GDTX office college,
 *                 or NULL),
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
 *   event_history every revision ever accepted, stored once, keyed
 *                 (id, revision): kind, date (YYYY-MM-DD), voided,
 *                 void_reason, device, seq, recorded_at, received_at,
 *                 content_hash, and fields (the JSON of its fields only:
 *                 server/evrow.h puts the event together again).
 *   events        the current revision of each event id: revision,
 *                 school, kind, date, voided, received_at; no body (it is
 *                 the history row (id, revision)). Indexed by
 *                 (kind, voided, date).
 *   rejections    events refused one by one (the reason, for the office).
 *   unit_closures (schema 2) unit, closed_from PK; reopened_from: a school
 *                 closed from closed_from (YYYY-MM-DD, the first day
 *                 closed) until reopened_from (the first day open again;
 *                 NULL = still closed). A unit is closed for a period
 *                 [from, to] iff a row has closed_from <= from AND
 *                 (reopened_from IS NULL OR reopened_from > to).
 * Times are Unix seconds, UTC; dates are local (Asia/Ho_Chi_Minh).
 */
#ifndef TB_SERVER_DB_H
#define TB_SERVER_DB_H

#include <stddef.h>

struct sqlite3;
struct tb_sql;

#define TB_DB_SCHEMA 3

struct tb_db_opts {
	int busy_timeout_ms; /* <= 0: 5000 */
	int sync_full;       /* 1: synchronous=FULL, 0: NORMAL */
	int readonly;        /* open without creating or migrating */
	int create;          /* 1: make a new file (0600) when path does not
				exist (init-db, in-process tests); 0: path
				must already be a tienbo-server database */
};

/* Opens the store the `db` setting names into *out: a path is an SQLite
 * file, postgresql://... or postgres://... a PostgreSQL database
 * (server/db_pg.c). Either is set up or migrated to TB_DB_SCHEMA here.
 *
 * SQLite: with o->create a missing file is made, mode 0600 whatever the
 * umask (SQLite gives the WAL and SHM files the database's mode), and
 * given the schema. An existing file's mode is never changed.
 * PostgreSQL: the database must exist (an administrator creates it, with
 * its owner); o->create gives an empty one the schema, and without it a
 * database without tienbo's tables is refused like a file.
 *
 * 0; TB_ENOTFOUND with msg when path does not exist and o->create is 0
 * (nothing is created); TB_ECONFLICT with msg naming the store when it is
 * not a tienbo-server database (not SQLite, empty, other tables,
 * user_version 0 with tables, a version without the tienbo tables) or has
 * a newer schema (left unchanged); TB_EIO with msg; TB_EAGAIN when the
 * schema could not be set up because the store is locked, or PostgreSQL
 * cannot be reached. *out is NULL on failure; close with tb_sql_close. */
int tb_db_open(const char *path, const struct tb_db_opts *o,
	       struct tb_sql **out, char *msg, size_t msglen);
/* The PostgreSQL half of tb_db_open (server/db_pg.c). */
int tb_db_open_pg(const char *url, const struct tb_db_opts *o,
		  struct tb_sql **out, char *msg, size_t msglen);

/* The text of the migration step to schema `version` (1 ..
 * TB_DB_SCHEMA) in SQLite's words (pg 0) or PostgreSQL's (pg 1): one
 * schema text for both (db.c). malloc'd (free it); NULL outside the
 * versions or when out of memory. */
char *tb_db_step_text(int version, int pg);

/* The store's tables (not the roll-ups), in an order their foreign keys
 * allow, NULL-terminated (migrate-store copies them). */
const char *const *tb_db_tables(void);

/* Runs SQL without results on a bare SQLite handle (server/backup.c and
 * restore.c work on files, not stores). 0, TB_EAGAIN (busy/locked),
 * TB_EIO (msg). */
int tb_db_sqlite_exec(struct sqlite3 *db, const char *sql, char *msg,
		      size_t msglen);

#endif
