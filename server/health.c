/* health.c - the checks behind GET /healthz (see health.h).
 *
 * The 200 body, fields in this order (PROTOCOL.md, GET /healthz):
 *   status          "ok"
 *   disk_free_mb    MiB free to the server on the database's file system
 *   cert_not_after  the certificate's notAfter, "YYYY-MM-DDTHH:MM:SSZ"
 *   cert_days_left  whole days until then (negative never: an expired
 *                   certificate is refused at start and on reload)
 * On PostgreSQL the disk is the database server's, out of this process's
 * sight: the disk check is skipped, and the body says so and gives the
 * database's size in its place:
 *   status, database_size_mb (pg_database_size), disk_check "skipped: ...",
 *   then cert_not_after and cert_days_left as above.
 * A failed check is a 503 with the error body of every other answer and
 * the reason as its message.
 */
#include "common/err.h"
#include "server/health.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "server/db.h"
#include "server/dbpool.h"
#include "server/sql.h"

#define HEALTH_WAIT_MS 2000

void tb_health_dir(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

int tb_health_pg_size(struct tb_sql *db, int64_t *bytes)
{
	struct tb_stmt *st = NULL;
	int rc = tb_sql_prepare(db, "SELECT pg_database_size(current_database())",
				0, &st);

	if (rc == TB_OK)
		rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW)
		*bytes = tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	return rc == TB_SQL_ROW ? TB_OK : tb_sql_err(rc);
}

static int pg_size_mb(struct tb_sql *db, long long *mb)
{
	int64_t bytes = 0;
	int rc = tb_health_pg_size(db, &bytes);

	*mb = (long long)(bytes / (1024 * 1024));
	return rc;
}

/* The database takes a write: 0, or 503 with the reason. SQLite: BEGIN
 * IMMEDIATE takes the file's write lock. PostgreSQL: a read-write
 * transaction, refused by a standby or a read-only default; and its size
 * into *pg_mb (left alone on SQLite). */
static unsigned db_writable(struct tb_dbpool *pool, char *reason, size_t len,
			    long long *pg_mb)
{
	struct tb_sql *db = tb_dbpool_conn(pool);
	char why[256];
	unsigned status = 0;
	int rc;

	if (!db) {
		snprintf(reason, len, "database unavailable (cannot open it; "
			 "see the log)");
		return 503;
	}
	if (tb_dbpool_write_begin(pool, HEALTH_WAIT_MS) < 0) {
		snprintf(reason, len, "database not writable: this server's "
			 "writes held it for over %d ms", HEALTH_WAIT_MS);
		return 503;
	}
	rc = tb_sql_begin(db, 1);
	if (rc == TB_OK && tb_sql_backend(db) == TB_SQL_PG)
		rc = tb_sql_exec(db, "SET TRANSACTION READ WRITE", NULL, 0);
	if (rc == TB_OK && tb_sql_backend(db) == TB_SQL_PG)
		rc = pg_size_mb(db, pg_mb);
	if (rc != TB_OK) {
		snprintf(reason, len, "database not writable: %s",
			 tb_sql_reason(db, why, sizeof(why)));
		status = 503;
	}
	if (tb_sql_in_txn(db))
		tb_sql_exec(db, "ROLLBACK", NULL, 0);
	tb_dbpool_write_end(pool);
	return status;
}

void tb_health_check(struct tb_dbpool *pool, const char *dir,
		     long min_free_mb, int64_t cert_not_after,
		     struct tb_health *h)
{
	struct statvfs vfs;
	long long free_mb = -1, pg_mb = -1;
	char when[32] = "", first[96];
	time_t na = (time_t)cert_not_after;
	struct tm tm;

	memset(h, 0, sizeof(*h));
	if (tb_dbpool_is_pg(pool))
		dir = NULL; /* no disk of ours to look at */
	if (dir && statvfs(dir, &vfs) == 0)
		free_mb = (long long)((unsigned long long)vfs.f_bavail *
				      vfs.f_frsize / (1024 * 1024));
	if (free_mb >= 0 && free_mb < min_free_mb) {
		snprintf(h->reason, sizeof(h->reason), "disk full: %lld MB free "
			 "in %s, below min_free_mb %ld", free_mb, dir,
			 min_free_mb);
		h->status = 503;
		return;
	}
	h->status = db_writable(pool, h->reason, sizeof(h->reason), &pg_mb);
	if (h->status)
		return;
	h->status = 200;
	if (dir)
		snprintf(first, sizeof(first), "\"disk_free_mb\":%lld", free_mb);
	else
		snprintf(first, sizeof(first), "\"database_size_mb\":%lld,"
			 "\"disk_check\":\"skipped: the database is on "
			 "PostgreSQL\"", pg_mb);
	if (!cert_not_after) {
		snprintf(h->body, sizeof(h->body), "{\"status\":\"ok\",%s}",
			 first);
		return;
	}
	gmtime_r(&na, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(h->body, sizeof(h->body), "{\"status\":\"ok\",%s,"
		 "\"cert_not_after\":\"%s\",\"cert_days_left\":%lld}", first,
		 when, (long long)(cert_not_after - (int64_t)time(NULL)) / 86400);
}
