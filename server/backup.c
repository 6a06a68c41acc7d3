/* backup.c - `tienbo-server backup`: an online copy of the database while
 * `serve` ingests (see backup.h).
 *
 * How the snapshot is taken. The source is opened read-only and a read
 * transaction is begun on it before anything is counted or copied; the
 * counts and every page the SQLite backup API (sqlite3_backup_step) copies
 * then come from that one snapshot. Without the open transaction each
 * step would begin its own, and a batch committed by the server between
 * two steps would make SQLite restart the copy from page 1: on a busy
 * server a large database might never finish. In WAL mode a reader holds
 * no lock a writer waits for, so the server's batches commit while the
 * copy runs; what the copy costs the server is the WAL growing until the
 * copy ends (the checkpointer cannot reset the WAL past a reader's
 * snapshot) and the CPU, so the copy goes BACKUP_STEP_PAGES pages at a
 * time with a short pause between steps (two cores shared with the
 * server's workers).
 *
 * Why not VACUUM INTO: it also reads one snapshot, but it rebuilds every
 * table and index (the CPU of a full rewrite, on the server's machine,
 * while it serves), in one statement that cannot pause; the backup API
 * copies pages as they are. Both give a file that passes integrity_check.
 *
 * The copy is written as FILE.tmp-PID.db beside FILE (so the final rename
 * stays on one file system), switched to journal_mode=DELETE (one file,
 * no -wal beside it), checked (integrity_check, schema, the counts equal
 * the source's in the same snapshot), fsync'd, gzip'd to FILE.tmp-PID
 * when asked, and renamed to FILE; the directory is fsync'd. Every
 * failure removes the temporary files and leaves FILE as it was.
 */
#include "server/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/err.h"
#include "common/sqlerr.h"
#include "server/db.h"

#define BACKUP_STEP_PAGES 1024  /* 4 MiB of 4 KiB pages per step */
#define BACKUP_PAUSE_US 2000    /* between steps */
#define BACKUP_BUSY_MS 10000    /* the source's busy timeout */
#define BACKUP_BUSY_TRIES 500   /* steps answered BUSY, 10 ms apart */
#define BACKUP_GZ_LEVEL "wb6"
#define BACKUP_CHUNK 65536

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

int tb_backup_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return TB_EIO;
	rc = fsync(fd) == 0 ? TB_OK : TB_EIO;
	close(fd);
	return rc;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return TB_EIO;
	rc = fsync(fd) == 0 ? TB_OK : TB_EIO;
	close(fd);
	return rc;
}

/* ---- checking a copy ---------------------------------------------------- */

/* The counts, on db (inside the caller's transaction, if any). */
static int backup_counts(sqlite3 *db, const char *path,
			 struct tb_backup_counts *c, char *msg, size_t msglen)
{
	sqlite3_stmt *st = NULL;
	int src;

	src = sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM"
		" pragma_user_version), (SELECT count(*) FROM events),"
		" (SELECT count(*) FROM event_history), (SELECT count(*)"
		" FROM units WHERE type = 'school'), (SELECT count(*) FROM"
		" devices), (SELECT count(*) FROM cursors)", -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		c->version = sqlite3_column_int(st, 0);
		c->events = sqlite3_column_int64(st, 1);
		c->revisions = sqlite3_column_int64(st, 2);
		c->schools = sqlite3_column_int64(st, 3);
		c->devices = sqlite3_column_int64(st, 4);
	} else if (src == SQLITE_ERROR) {
		snprintf(msg, msglen, "%s: not a tienbo-server database (%s)",
			 path, sqlite3_errmsg(db));
	} else {
		snprintf(msg, msglen, "%s: %s", path, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	if (src == SQLITE_ROW && (c->version < 1 || c->version > TB_DB_SCHEMA)) {
		snprintf(msg, msglen, "%s: a database of schema %d; this server "
			 "knows schemas 1 to %d", path, c->version,
			 TB_DB_SCHEMA);
		return TB_ECONFLICT;
	}
	return src == SQLITE_ROW    ? TB_OK
	       : src == SQLITE_ERROR ? TB_ECONFLICT
				     : tb_sqlite_err(NULL, src, NULL);
}

/* PRAGMA integrity_check on db: 0 when "ok". */
static int backup_integrity(sqlite3 *db, const char *path, char *msg,
			    size_t msglen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int src, rc = TB_OK;

	src = sqlite3_prepare_v2(db, "PRAGMA integrity_check(5)", -1, &st,
				 NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	t = src == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	if (src != SQLITE_ROW) {
		snprintf(msg, msglen, "%s: %s", path,
			 (src & 0xff) == SQLITE_NOTADB
				 ? "not an SQLite database"
				 : sqlite3_errmsg(db));
		rc = (src & 0xff) == SQLITE_BUSY ? TB_EAGAIN : TB_EINVAL;
	} else if (!t || strcmp((const char *)t, "ok") != 0) {
		snprintf(msg, msglen, "%s: damaged: integrity_check says %s",
			 path, t ? (const char *)t : "nothing");
		rc = TB_EINVAL;
	}
	sqlite3_finalize(st);
	return rc;
}

int tb_backup_verify(const char *path, struct tb_backup_counts *c,
		     char *msg, size_t msglen)
{
	sqlite3 *db = NULL;
	int src, rc;

	memset(c, 0, sizeof(*c));
	src = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (src != SQLITE_OK) {
		snprintf(msg, msglen, "%s: %s", path, sqlite3_errstr(src));
		rc = TB_EIO;
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BACKUP_BUSY_MS);
	rc = backup_integrity(db, path, msg, msglen);
	if (rc == TB_OK)
		rc = backup_counts(db, path, c, msg, msglen);
	if (rc == TB_ECONFLICT)
		rc = TB_EINVAL;
out:
	sqlite3_close(db);
	return rc;
}

/* ---- copying files ------------------------------------------------------ */

int tb_backup_is_gzip(const char *path)
{
	unsigned char m[2] = { 0, 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return TB_EIO;
	n = read(fd, m, sizeof(m));
	close(fd);
	if (n < 0)
		return TB_EIO;
	return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* Reads up to len bytes from fd, or from gz when it is not NULL. */
static ssize_t read_some(int fd, gzFile gz, unsigned char *buf, size_t len)
{
	if (gz)
		return gzread(gz, buf, (unsigned)len);
	return read(fd, buf, len);
}

int tb_backup_copy(const char *src, const char *dst, int gunzip, char *msg,
		   size_t msglen)
{
	unsigned char buf[BACKUP_CHUNK];
	gzFile gz = NULL;
	ssize_t n;
	int in, out = -1, rc = TB_OK, zrc;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(msg, msglen, "cannot read %s: %s", src, strerror(errno));
		return TB_EIO;
	}
	if (gunzip && !(gz = gzdopen(in, "rb"))) {
		close(in);
		return TB_ENOMEM;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		snprintf(msg, msglen, "cannot make %s: %s", dst, strerror(errno));
		rc = TB_EIO;
		goto out;
	}
	while ((n = read_some(in, gz, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			snprintf(msg, msglen, "cannot write %s: %s", dst,
				 strerror(errno));
			rc = TB_EIO;
			goto out;
		}
	if (n < 0) {
		const char *why = gz ? gzerror(gz, &zrc) : strerror(errno);

		snprintf(msg, msglen, "%s: %s%s", src, gz ? "damaged gzip: " : "",
			 why);
		rc = gz ? TB_EINVAL : TB_EIO;
		goto out;
	}
	if (fsync(out) != 0) {
		snprintf(msg, msglen, "cannot write %s: %s", dst, strerror(errno));
		rc = TB_EIO;
	}
out:
	if (gz) {
		zrc = gzclose_r(gz); /* closes in */
		if (zrc != Z_OK && rc == TB_OK) {
			snprintf(msg, msglen, "%s: the gzip stream is %s", src,
				 zrc == Z_BUF_ERROR ? "cut short" : "damaged");
			rc = TB_EINVAL;
		}
	} else {
		close(in);
	}
	if (out >= 0 && close(out) != 0 && rc == TB_OK)
		rc = TB_EIO;
	if (rc < 0 && out >= 0)
		unlink(dst);
	return rc;
}

/* gzips src into the new file dst (0600), fsync'd. */
static int gzip_file(const char *src, const char *dst, char *msg,
		     size_t msglen)
{
	unsigned char buf[BACKUP_CHUNK];
	gzFile gz = NULL;
	ssize_t n;
	int in, out, rc = TB_OK;

	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (in < 0 || out < 0) {
		snprintf(msg, msglen, "cannot gzip %s to %s: %s", src, dst,
			 strerror(errno));
		rc = TB_EIO;
		goto out;
	}
	gz = gzdopen(dup(out), BACKUP_GZ_LEVEL);
	if (!gz) {
		rc = TB_ENOMEM;
		goto out;
	}
	while (rc == TB_OK && (n = read(in, buf, sizeof(buf))) > 0)
		if (gzwrite(gz, buf, (unsigned)n) != (int)n)
			rc = TB_EIO;
	if (rc == TB_OK && n < 0)
		rc = TB_EIO;
	if (gzclose_w(gz) != Z_OK && rc == TB_OK)
		rc = TB_EIO;
	if (rc == TB_OK && fsync(out) != 0)
		rc = TB_EIO;
	if (rc < 0)
		snprintf(msg, msglen, "cannot write %s: %s", dst,
			 strerror(errno));
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == TB_OK)
		rc = TB_EIO;
	if (rc < 0 && out >= 0)
		unlink(dst);
	return rc;
}

/* ---- the backup --------------------------------------------------------- */

/* Opens the source read-only: it must exist (a backup never creates
 * the database it copies). */
static int open_source(const char *path, sqlite3 **out, char *msg,
		       size_t msglen)
{
	struct stat st;
	int src;

	*out = NULL;
	if (stat(path, &st) != 0) {
		snprintf(msg, msglen, "%s: %s; nothing was backed up", path,
			 errno == ENOENT ? "no such database" : strerror(errno));
		return errno == ENOENT ? TB_ENOTFOUND : TB_EIO;
	}
	src = sqlite3_open_v2(path, out, SQLITE_OPEN_READONLY, NULL);
	if (src != SQLITE_OK) {
		snprintf(msg, msglen, "%s: %s", path, sqlite3_errstr(src));
		sqlite3_close(*out);
		*out = NULL;
		return TB_EIO;
	}
	sqlite3_extended_result_codes(*out, 1);
	sqlite3_busy_timeout(*out, BACKUP_BUSY_MS);
	return TB_OK;
}

/* Copies every page of src (inside its read transaction) into the file
 * tmp, a step at a time, then checks the copy against want. */
static int copy_pages(sqlite3 *src, const char *tmp,
		      const struct tb_backup_counts *want, char *msg,
		      size_t msglen)
{
	struct tb_backup_counts got;
	sqlite3_backup *b = NULL;
	sqlite3 *dst = NULL;
	int step = SQLITE_OK, rc, busy = 0;

	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		snprintf(msg, msglen, "cannot start the copy to %s: %s", tmp,
			 dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		sqlite3_close(dst);
		return TB_EIO;
	}
	while ((step = sqlite3_backup_step(b, BACKUP_STEP_PAGES)) == SQLITE_OK ||
	       ((step == SQLITE_BUSY || step == SQLITE_LOCKED) &&
		++busy < BACKUP_BUSY_TRIES))
		usleep(step == SQLITE_OK ? BACKUP_PAUSE_US : 10000);
	rc = sqlite3_backup_finish(b);
	if (step != SQLITE_DONE || rc != SQLITE_OK) {
		snprintf(msg, msglen, "the copy to %s failed: %s", tmp,
			 sqlite3_errstr(step != SQLITE_DONE ? step : rc));
		sqlite3_close(dst);
		return tb_sqlite_err(NULL, step != SQLITE_DONE ? step : rc, NULL);
	}
	rc = tb_db_sqlite_exec(dst, "PRAGMA journal_mode=DELETE", msg, msglen);
	sqlite3_close(dst);
	if (rc == TB_OK)
		rc = tb_backup_verify(tmp, &got, msg, msglen);
	if (rc == TB_OK && (got.events != want->events ||
			    got.revisions != want->revisions ||
			    got.schools != want->schools ||
			    got.devices != want->devices)) {
		snprintf(msg, msglen, "the copy %s differs from the database: "
			 "%lld events, not %lld", tmp, (long long)got.events,
			 (long long)want->events);
		rc = TB_EIO;
	}
	return rc == TB_OK ? fsync_path(tmp) : rc;
}

/* The snapshot: counts and pages in one read transaction of src. */
static int backup_snapshot(const char *db, const char *tmp,
			   struct tb_backup_counts *c, char *msg,
			   size_t msglen)
{
	sqlite3 *src = NULL;
	int rc;

	rc = open_source(db, &src, msg, msglen);
	if (rc == TB_OK)
		rc = tb_db_sqlite_exec(src, "BEGIN", msg, msglen);
	if (rc == TB_OK) /* the read transaction starts here */
		rc = backup_counts(src, db, c, msg, msglen);
	if (rc == TB_OK)
		rc = copy_pages(src, tmp, c, msg, msglen);
	if (src && !sqlite3_get_autocommit(src))
		sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(src);
	return rc;
}

void tb_backup_remove_copy(const char *path)
{
	static const char *const tails[] = { "", "-journal", "-wal", "-shm" };
	char p[PATH_MAX + 16];
	size_t i;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, tails[i]);
		unlink(p);
	}
}

/* Makes the empty file path, 0600; it must not exist. */
static int make_file(const char *path, char *msg, size_t msglen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(msg, msglen, "cannot make %s: %s", path,
			 strerror(errno));
		return TB_EIO;
	}
	close(fd);
	return TB_OK;
}

int tb_backup_run(const char *db, const char *to, int gzip,
		  struct tb_backup_result *r, char *msg, size_t msglen)
{
	char tmp[PATH_MAX], gztmp[PATH_MAX];
	struct stat st;
	long t0 = now_ms();
	int rc;

	memset(r, 0, sizeof(*r));
	if (gzip != ends_with(to, ".gz")) {
		snprintf(msg, msglen, gzip ? "--gzip writes gzip: give a --to "
			 "that ends in .gz (%s.gz)" : "%s ends in .gz: add "
			 "--gzip, or give a name without .gz", to);
		return TB_EUSAGE;
	}
	if ((size_t)snprintf(gztmp, sizeof(gztmp), "%s.tmp-%ld", to,
			     (long)getpid()) >= sizeof(gztmp) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.db", gztmp) >= sizeof(tmp)) {
		snprintf(msg, msglen, "%s: name too long", to);
		return TB_EUSAGE;
	}
	rc = make_file(tmp, msg, msglen);
	if (rc < 0)
		return rc;
	rc = backup_snapshot(db, tmp, &r->c, msg, msglen);
	if (rc == TB_OK && stat(tmp, &st) == 0)
		r->db_bytes = (uint64_t)st.st_size;
	if (rc == TB_OK && gzip)
		rc = gzip_file(tmp, gztmp, msg, msglen);
	if (rc == TB_OK && rename(gzip ? gztmp : tmp, to) != 0) {
		snprintf(msg, msglen, "cannot rename the copy to %s: %s", to,
			 strerror(errno));
		rc = TB_EIO;
	}
	if (rc == TB_OK && tb_backup_sync_dir(to) != TB_OK) {
		snprintf(msg, msglen, "%s: cannot fsync its directory", to);
		rc = TB_EIO;
	}
	tb_backup_remove_copy(tmp);
	if (rc < 0)
		unlink(gztmp);
	if (rc == TB_OK && stat(to, &st) == 0)
		r->bytes = (uint64_t)st.st_size;
	r->ms = now_ms() - t0;
	return rc;
}
