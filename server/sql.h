/* sql.h - one connection to the server's store, SQLite or PostgreSQL.
 *
 * Every module of the server reaches its database through this interface
 * and nothing else: enrolment, tokens, cursors, the merge, history,
 * roll-ups, reports, export, units, metrics. Two backends implement it:
 * server/sql_sqlite.c (a file; the default) and server/sql_pg.c (libpq).
 * server/db.c opens a connection by the `db` setting: a path is SQLite,
 * postgresql://... or postgres://... (libpq's URI, with its parameters)
 * is PostgreSQL.
 *
 * The shape is SQLite's (prepare, bind, step, column, reset, finalize),
 * so a statement reads the same on both:
 *   - SQL text is written once, with ? or ?N parameters; on PostgreSQL they
 *     become $N (outside quotes). Text that must differ (DDL, JSON
 *     functions, the catalogue) is chosen with tb_sql_backend().
 *   - Parameters are bound by number from 1; text is copied.
 *   - tb_sql_step returns TB_SQL_ROW, TB_SQL_DONE or a negative err.h code
 *     (TB_EAGAIN for busy, a lock timeout, a serialisation failure or a
 *     deadlock: try again; TB_ECONFLICT for a constraint; TB_EIO).
 *   - Columns are read by number from 0, as int64, text or blob; a
 *     PostgreSQL boolean reads as 1 or 0, a NULL as 0 or NULL.
 * On PostgreSQL a statement runs at its first step and its whole result
 * is held (so statements may interleave, as on SQLite), except one
 * prepared with TB_SQL_STREAM: its rows arrive one at a time in constant
 * memory (an export of millions of rows), and nothing else may run on the
 * connection until it is done or reset.
 *
 * A connection belongs to one thread at a time.
 */
#ifndef TB_SERVER_SQL_H
#define TB_SERVER_SQL_H

#include <stddef.h>
#include <stdint.h>

struct sqlite3;
struct tb_sql;
struct tb_stmt;

enum tb_sql_backend { TB_SQL_SQLITE = 1, TB_SQL_PG = 2 };

#define TB_SQL_ROW 100  /* tb_sql_step: a row is ready */
#define TB_SQL_DONE 101 /* tb_sql_step: no more rows */

enum {
	TB_SQL_CACHED = 1, /* kept prepared on the connection, found again by
			      its text; never finalize it (tb_sql_close does) */
	TB_SQL_STREAM = 2, /* PostgreSQL: rows one at a time (see above) */
};

/* 1 when db names a PostgreSQL database (postgresql:// or postgres://). */
int tb_sql_is_url(const char *db);

enum tb_sql_backend tb_sql_backend(const struct tb_sql *c);
/* The SQLite handle of a SQLite connection (its backup API, WAL
 * checkpoints, PRAGMAs), NULL on PostgreSQL. */
struct sqlite3 *tb_sql_sqlite(struct tb_sql *c);
/* What the connection is to a person: the file's path, or the URL without
 * its password. */
const char *tb_sql_name(const struct tb_sql *c);

/* Prepares sql (flags: TB_SQL_CACHED, TB_SQL_STREAM). 0 or a negative
 * err.h code (tb_sql_errmsg says why); *out is NULL on failure. */
int tb_sql_prepare(struct tb_sql *c, const char *sql, int flags,
		   struct tb_stmt **out);
int tb_sql_bind_int64(struct tb_stmt *st, int i, int64_t v);
/* len < 0: up to the NUL. */
int tb_sql_bind_text(struct tb_stmt *st, int i, const char *s, int len);
int tb_sql_bind_blob(struct tb_stmt *st, int i, const void *p, size_t n);
int tb_sql_bind_null(struct tb_stmt *st, int i);
/* The number of parameters (the largest N of ?N). */
int tb_sql_bind_parameter_count(struct tb_stmt *st);
/* TB_SQL_ROW, TB_SQL_DONE or a negative err.h code. */
int tb_sql_step(struct tb_stmt *st);
int tb_sql_column_count(struct tb_stmt *st);
int tb_sql_column_null(struct tb_stmt *st, int i);
int64_t tb_sql_column_int64(struct tb_stmt *st, int i);
/* NULL for a NULL; valid until the next step, reset or finalize. */
const char *tb_sql_column_text(struct tb_stmt *st, int i);
/* The bytes of a blob (bytea) column into *n; NULL for a NULL. Valid
 * until the next step, reset or finalize. */
const void *tb_sql_column_blob(struct tb_stmt *st, int i, size_t *n);
/* Ready to run again; bindings are kept until tb_sql_clear_bindings. */
void tb_sql_reset(struct tb_stmt *st);
void tb_sql_clear_bindings(struct tb_stmt *st);
/* Accepts NULL; a TB_SQL_CACHED statement is only reset. */
void tb_sql_finalize(struct tb_stmt *st);

/* rc where 0 was wanted: a negative code as it is, TB_SQL_ROW or
 * TB_SQL_DONE (the other was expected) as TB_EIO. */
int tb_sql_err(int rc);

/* Runs SQL without parameters or results (several statements allowed).
 * 0 or a negative err.h code, with "database: why (detail)" in msg. */
int tb_sql_exec(struct tb_sql *c, const char *sql, char *msg, size_t msglen);
/* Rows changed by the last INSERT, UPDATE or DELETE. */
int64_t tb_sql_changes(struct tb_sql *c);
/* The backend's message for the last failure. */
const char *tb_sql_errmsg(struct tb_sql *c);
/* Says why the last statement failed, for a log line or a 5xx answer:
 * "disk full: ..." when the disk or the tablespace is full (the words an
 * office looks for), else the cause and the backend's message. */
char *tb_sql_reason(struct tb_sql *c, char *buf, size_t len);

/* Transactions. begin(write = 1) takes the write lock at once on SQLite
 * (BEGIN IMMEDIATE: writers queue, never deadlock); on PostgreSQL it is
 * BEGIN (READ COMMITTED), and rows are locked as they are written.
 * begin(write = 0) gives one consistent snapshot for several reads (a
 * report): a read transaction on SQLite, REPEATABLE READ READ ONLY on
 * PostgreSQL. */
int tb_sql_begin(struct tb_sql *c, int write);
int tb_sql_commit(struct tb_sql *c);
/* Rolls back an open transaction; nothing when none is open. */
void tb_sql_rollback(struct tb_sql *c);
int tb_sql_in_txn(struct tb_sql *c);
/* Serialises writers of `key` (a device) across processes until the end
 * of the transaction: pg_advisory_xact_lock on PostgreSQL; nothing on
 * SQLite, where the write transaction already excludes every other. */
int tb_sql_lock_key(struct tb_sql *c, const char *key);

/* Finalizes every statement left on the connection and closes it.
 * Accepts NULL. */
void tb_sql_close(struct tb_sql *c);

/* ---- for the backends and server/db.c only ---------------------------- */

/* Wraps an open SQLite handle (the connection then owns it). NULL when out
 * of memory (the handle is closed). */
struct tb_sql *tb_sql_wrap_sqlite(struct sqlite3 *db, const char *path);
/* Connects to a PostgreSQL URL (connect_timeout defaults to 10 s). 0 or a
 * negative err.h code with msg (the URL without its password). */
int tb_sql_open_pg(const char *url, struct tb_sql **out, char *msg,
		   size_t msglen);

#endif
