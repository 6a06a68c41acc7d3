/* health.h - what GET /healthz checks: the database takes a write, the
 * disk under it has room, and how long the certificate has left.
 *
 * Called by server/https.c on every /healthz. The write check takes the
 * process's write lock (at most HEALTH_WAIT_MS) and runs BEGIN IMMEDIATE;
 * ROLLBACK on the worker's connection, so nothing is written; the disk
 * check is statvfs(2) on the database's directory against min_free_mb.
 * On PostgreSQL the write check is a read-write transaction (SET
 * TRANSACTION READ WRITE; ROLLBACK), the disk check is skipped (the disk
 * is the database server's) and the body gives the database's size.
 */
#ifndef TB_SERVER_HEALTH_H
#define TB_SERVER_HEALTH_H

#include <stddef.h>
#include <stdint.h>

struct tb_dbpool;

struct tb_health {
	unsigned status;   /* 200, or 503 when a check failed */
	char reason[320];  /* why not 200: "disk full: ...", "database ..." */
	char body[256];    /* the 200 body: {"status":"ok",...} */
};

/* Runs the checks. dir is the database's directory; cert_not_after the
 * certificate's notAfter (0: none is shown). Fills *h; never fails
 * otherwise. */
void tb_health_check(struct tb_dbpool *pool, const char *dir,
		     long min_free_mb, int64_t cert_not_after,
		     struct tb_health *h);
/* The size of the PostgreSQL database db is connected to, in bytes
 * (pg_database_size): 0 or an err.h code. */
struct tb_sql;
int tb_health_pg_size(struct tb_sql *db, int64_t *bytes);
/* The directory of path into buf (len bytes): "." for a bare name. */
void tb_health_dir(const char *path, char *buf, size_t len);

#endif
