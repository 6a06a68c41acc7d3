/* restore.c - `tienbo-server restore` (steps in restore.h).
 *
 * Detecting a running server. `serve` keeps its SQLite connections open,
 * and in WAL mode every open connection holds a SHARED lock on the
 * database file for as long as it is open, idle or not (SQLite's unix VFS
 * drops to no lock only in rollback mode). SQLite's locks are POSIX
 * record locks on fixed bytes of the file (sqlite3.c os_unix.c, and
 * https://sqlite.org/lockingv3.html): PENDING_BYTE 0x40000000, the
 * RESERVED byte after it, then the 510-byte SHARED range. Restore takes a
 * write lock over all 512 bytes with F_SETLK, the lock an EXCLUSIVE
 * SQLite connection holds: it fails while any process has the database
 * open, and while it is held no server can start on the file (its first
 * read gets SQLITE_BUSY). The -shm file's dead-man-switch byte (128) is
 * tried the same way, which also catches a server whose database file
 * was deleted under it. No pid file: a stale one after a crash would
 * refuse a restore for nothing, and a lock dies with its process.
 * POSIX locks belong to the process, so nothing here opens the database
 * through SQLite while holding them (closing that descriptor would drop
 * them): its state is read before, and the copy is a different file.
 */
#include "server/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/sqlerr.h"
#include "server/db.h"
#include "server/sql.h"
#include "server/log.h"

#define RESTORE_LOCK_FIRST 0x40000000 /* SQLite's PENDING_BYTE */
#define RESTORE_LOCK_LEN 512          /* pending, reserved, shared range */
#define RESTORE_SHM_DMS 128           /* the -shm dead-man-switch byte */

/* A write lock on [start, start + len) of fd: F_SETLK, or F_GETLK when
 * probe. 0 when it could be taken (or nobody holds it), TB_EAGAIN when
 * another process holds part of it. */
static int lock_range(int fd, off_t start, off_t len, int probe)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	if (fcntl(fd, probe ? F_GETLK : F_SETLK, &fl) != 0)
		return errno == EAGAIN || errno == EACCES ? TB_EAGAIN : TB_EIO;
	return probe && fl.l_type != F_UNLCK ? TB_EAGAIN : TB_OK;
}

/* Locks (or probes) the database and its -shm; fds[0..1] get the open
 * descriptors (-1 for a missing file), to close once the copy is in
 * place. */
static int lock_db(const char *db, int fds[2], int probe, char *msg,
		   size_t msglen)
{
	char shm[PATH_MAX + 8];
	int rc = TB_OK;

	snprintf(shm, sizeof(shm), "%s-shm", db);
	fds[0] = open(db, O_RDWR | O_CLOEXEC);
	fds[1] = open(shm, O_RDWR | O_CLOEXEC);
	if (fds[0] >= 0)
		rc = lock_range(fds[0], RESTORE_LOCK_FIRST, RESTORE_LOCK_LEN,
				probe);
	if (rc == TB_OK && fds[1] >= 0)
		rc = lock_range(fds[1], RESTORE_SHM_DMS, 1, probe);
	if (rc == TB_EAGAIN)
		snprintf(msg, msglen, "%s is open in another program, most "
			 "likely a running tienbo-server: stop it first "
			 "(systemctl stop tienbo-server) and run restore "
			 "again; nothing was changed", db);
	else if (rc < 0)
		snprintf(msg, msglen, "%s: cannot lock it: %s", db,
			 strerror(errno));
	if (probe || rc < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		fds[0] = fds[1] = -1;
	}
	return rc;
}

/* 1 if db is a sound database (opens, quick_check ok, a schema), with
 * its event count in *events; 0 if missing, damaged or not ours. */
static int db_sound(const char *db, long long *events)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int ok = 0;

	*events = 0;
	if (stat(db, &sb) != 0)
		return 0;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT (SELECT quick_check = 'ok' FROM"
			       " pragma_quick_check), (SELECT user_version"
			       " FROM pragma_user_version), (SELECT count(*)"
			       " FROM events)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		ok = sqlite3_column_int(st, 0) == 1 &&
		     sqlite3_column_int(st, 1) >= 1;
		*events = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return ok;
}

/* Moves db and its -wal, -shm aside as r->kept (and -wal, -shm) when
 * they exist. */
static int move_aside(const char *db, struct tb_restore_result *r,
		      char *msg, size_t msglen)
{
	static const char *const tails[] = { "", "-wal", "-shm" };
	char from[PATH_MAX + 8], to[sizeof(r->kept) + 8], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(r->kept, sizeof(r->kept), "%s.before-restore-%s", db, stamp);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", db, tails[i]);
		snprintf(to, sizeof(to), "%s%s", r->kept, tails[i]);
		if (rename(from, to) == 0 || errno == ENOENT)
			continue;
		snprintf(msg, msglen, "cannot move %s aside to %s: %s", from, to,
			 strerror(errno));
		return TB_EIO;
	}
	if (access(r->kept, F_OK) != 0)
		r->kept[0] = '\0'; /* there was no database file */
	return TB_OK;
}

/* Step 4: the journal on the copy at tmp, not yet in place. */
static int apply_journal(const char *db, const char *tmp, FILE *out,
			 struct tb_restore_result *r, char *msg,
			 size_t msglen)
{
	sqlite3 *h = NULL;
	struct tb_sql *cp;
	int src, rc;

	src = sqlite3_open_v2(tmp, &h, SQLITE_OPEN_READWRITE, NULL);
	if (src != SQLITE_OK) {
		snprintf(msg, msglen, "%s: %s", tmp, sqlite3_errstr(src));
		sqlite3_close(h);
		return TB_EIO;
	}
	cp = tb_sql_wrap_sqlite(h, tmp);
	if (!cp)
		return TB_ENOMEM;
	rc = tb_tokjournal_apply(db, cp, out, &r->j, msg, msglen);
	tb_sql_close(cp);
	return rc;
}

/* Steps 1: the backup copied beside db as tmp and checked. */
static int take_backup(const char *from, const char *tmp,
		       struct tb_restore_result *r, char *msg, size_t msglen)
{
	char why[1024] = "";
	struct stat st;
	int gz, rc;

	if (stat(from, &st) != 0) {
		snprintf(msg, msglen, "%s: %s; nothing was changed", from,
			 strerror(errno));
		return errno == ENOENT ? TB_ENOTFOUND : TB_EIO;
	}
	gz = tb_backup_is_gzip(from);
	rc = gz < 0 ? TB_EIO : tb_backup_copy(from, tmp, gz, why, sizeof(why));
	if (rc == TB_OK)
		rc = tb_backup_verify(tmp, &r->c, why, sizeof(why));
	if (rc == TB_EINVAL)
		snprintf(msg, msglen, "%s is not a sound tienbo-server backup "
			 "(%s); nothing was changed", from, why);
	else if (rc < 0)
		snprintf(msg, msglen, "%s; nothing was changed",
			 why[0] ? why : tb_strerror(rc));
	return rc;
}

/* Steps 2 and 3: the current database may be replaced. */
static int may_replace(const char *db, int force, char *msg, size_t msglen)
{
	long long events = 0;
	int fds[2], rc;

	rc = lock_db(db, fds, 1, msg, msglen);
	if (rc == TB_OK && db_sound(db, &events) && !force) {
		snprintf(msg, msglen, "%s is a sound database (%lld events): a "
			 "restore would roll it back to the backup; add --force "
			 "to do that (it is kept beside as "
			 "%s.before-restore-...); nothing was changed", db,
			 events, db);
		rc = TB_ECONFLICT;
	}
	return rc;
}

int tb_restore_run(const char *db, const char *from, int force, FILE *out,
		   struct tb_restore_result *r, char *msg, size_t msglen)
{
	char tmp[PATH_MAX];
	int fds[2] = { -1, -1 }, rc;

	memset(r, 0, sizeof(*r));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.restore-%ld", db,
			     (long)getpid()) >= sizeof(tmp)) {
		snprintf(msg, msglen, "%s: name too long", db);
		return TB_EUSAGE;
	}
	rc = take_backup(from, tmp, r, msg, msglen);
	if (rc == TB_OK)
		rc = may_replace(db, force, msg, msglen);
	if (rc == TB_OK)
		rc = lock_db(db, fds, 0, msg, msglen);
	if (rc == TB_OK)
		rc = apply_journal(db, tmp, out, r, msg, msglen);
	if (rc == TB_OK)
		rc = move_aside(db, r, msg, msglen);
	if (rc == TB_OK && rename(tmp, db) != 0) {
		snprintf(msg, msglen, "cannot put the backup in place as %s: "
			 "%s (the old database is %s)", db, strerror(errno),
			 r->kept[0] ? r->kept : "gone");
		rc = TB_EIO;
	}
	if (rc == TB_OK && tb_backup_sync_dir(db) != TB_OK) {
		snprintf(msg, msglen, "%s: cannot fsync its directory", db);
		rc = TB_EIO;
	}
	if (rc < 0)
		tb_backup_remove_copy(tmp);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (rc == TB_OK &&
	    tb_tokjournal_restored(db, from, msg, msglen) != TB_OK)
		tb_slog(TB_SLOG_WARN, "restore: %s", msg);
	if (rc == TB_OK)
		tb_slog(TB_SLOG_INFO, "restored %s from %s: %lld events, %lld "
			"schools", db, from, (long long)r->c.events,
			(long long)r->c.schools);
	return rc;
}
