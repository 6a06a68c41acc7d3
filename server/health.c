/* health.c - the checks behind GET /healthz (see health.h).
 *
 * The 200 body, fields in this order (PROTOCOL.md, GET /healthz):
 *   status          "ok"
 *   disk_free_mb    MiB free to the server on the database's file system
 *   cert_not_after  the certificate's notAfter, "YYYY-MM-DDTHH:MM:SSZ"
 *   cert_days_left  whole days until then (negative never: an expired
 *                   certificate is refused at start and on reload)
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

/* The database takes a write: 0, or 503 with the reason. */
static unsigned db_writable(struct tb_dbpool *pool, char *reason, size_t len)
{
	struct tb_sql *db = tb_dbpool_conn(pool);
	char why[256];
	unsigned status = 0;

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
	if (tb_sql_exec(db, "BEGIN IMMEDIATE", NULL, 0) != TB_OK) {
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
	long long free_mb = -1;
	char when[32] = "";
	time_t na = (time_t)cert_not_after;
	struct tm tm;

	memset(h, 0, sizeof(*h));
	if (statvfs(dir, &vfs) == 0)
		free_mb = (long long)((unsigned long long)vfs.f_bavail *
				      vfs.f_frsize / (1024 * 1024));
	if (free_mb >= 0 && free_mb < min_free_mb) {
		snprintf(h->reason, sizeof(h->reason), "disk full: %lld MB free "
			 "in %s, below min_free_mb %ld", free_mb, dir,
			 min_free_mb);
		h->status = 503;
		return;
	}
	h->status = db_writable(pool, h->reason, sizeof(h->reason));
	if (h->status)
		return;
	h->status = 200;
	if (!cert_not_after) {
		snprintf(h->body, sizeof(h->body), "{\"status\":\"ok\","
			 "\"disk_free_mb\":%lld}", free_mb);
		return;
	}
	gmtime_r(&na, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(h->body, sizeof(h->body), "{\"status\":\"ok\","
		 "\"disk_free_mb\":%lld,\"cert_not_after\":\"%s\","
		 "\"cert_days_left\":%lld}", free_mb, when,
		 (long long)(cert_not_after - (int64_t)time(NULL)) / 86400);
}
