/* dbpool.h - the server's database connections, shared by the worker
 * threads of server/https.c.
 *
 * Concurrency model: one SQLite connection per worker thread, opened on the
 * thread's first request and kept until tb_dbpool_destroy; the file is in WAL
 * mode, so reads (token checks, cursors) never wait for a write. Writes are
 * serialised by one process-wide mutex taken with a deadline
 * (tb_dbpool_write_begin), so two workers never meet on SQLite's lock and
 * never sleep in its busy handler: a waiting worker is woken the moment the
 * writer finishes. The busy timeout of each connection still covers
 * writers in other processes (a local `enroll` while serving). When the
 * deadline passes the caller answers 503 with Retry-After. A checkpointer
 * thread copies the WAL back into the database in the background, so no
 * batch waits for a checkpoint (see dbpool.c).
 *
 * On PostgreSQL (a postgresql:// URL) each worker thread has its own
 * connection too, but there is no write mutex (tb_dbpool_write_begin
 * returns at once: several `serve` processes may share the database, so
 * writers are ordered by PostgreSQL's locks, a merge by its device's
 * advisory lock) and no checkpointer.
 */
#ifndef TB_SERVER_DBPOOL_H
#define TB_SERVER_DBPOOL_H

#include <stddef.h>

#include "server/db.h"

struct tb_sql;
struct tb_dbpool;

/* Opens the database once (creating the schema) and prepares per-thread
 * connections. 0 or an error of tb_db_open with msg; *out NULL on failure. */
int tb_dbpool_create(const char *path, const struct tb_db_opts *o,
		    struct tb_dbpool **out, char *msg, size_t msglen);
/* The calling thread's connection, opened on first use; NULL if it cannot
 * be opened (logged). Valid until tb_dbpool_destroy. */
struct tb_sql *tb_dbpool_conn(struct tb_dbpool *s);
/* Takes the write mutex, waiting at most timeout_ms. 0 or TB_EAGAIN. */
int tb_dbpool_write_begin(struct tb_dbpool *s, long timeout_ms);
void tb_dbpool_write_end(struct tb_dbpool *s);
/* 1 when the pool's database is PostgreSQL. */
int tb_dbpool_is_pg(const struct tb_dbpool *s);
/* Closes every connection. Call only when no thread uses the pool any
 * more. Accepts NULL. */
void tb_dbpool_destroy(struct tb_dbpool *s);

#endif
