/* tokjournal.c - the token journal beside the database (see tokjournal.h).
 *
 * Why a journal and not only the database: a restore puts an older copy
 * of the database in place, and with it the tokens as they were then; a
 * token revoked since would work again. The journal is outside what a
 * restore replaces, so the restore re-applies it. (Re-creating the tokens
 * enrolled after the backup would need the school's names and the whole
 * hash here; the office enrolls those schools again instead, and the
 * restore names them.) It does not survive the disk it is on: README,
 * "Backup and restore".
 *
 * Format: text, one record a line, fields separated by one space, written
 * with O_APPEND in one write(2) per call and fsync'd before the call
 * returns:
 *
 *   tienbo-tokens 1                                 first line (a format
 *                                                   version; repeated
 *                                                   header lines are
 *                                                   skipped)
 *   T enroll device PREFIX HASH SCHOOL              a device token made
 *   T revoke device PREFIX HASH SCHOOL              ... revoked
 *   T enroll admin PREFIX HASH -                    an admin token made
 *   T revoke admin PREFIX HASH -                    ... revoked
 *   T restore FROM                                  a restore from FROM
 *
 *   T       Unix seconds, UTC, when it happened
 *   PREFIX  the token's selector (token_prefix, 12 hex characters)
 *   HASH    the first 16 hex characters of its SHA-256 (token_hash)
 *   SCHOOL  the school's unit code
 *
 * A line that does not parse (a torn last line after a crash) is skipped
 * and counted in nothing.
 */
#include "server/tokjournal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "server/backup.h"
#include "server/db.h"
#include "server/log.h"
#include "server/sql.h"

#define TJ_HEADER "tienbo-tokens 1\n"
#define TJ_HASH_HEX 16
#define TJ_LINE_MAX 4096

/* SQL for one token's journal fields: kind, prefix, hash, school. */
#define TJ_HASH_SQL "lower(substr(hex(token_hash), 1, 16))"

int tb_tokjournal_path(const char *db, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", db, TB_TOKJOURNAL_SUFFIX);

	return n < 0 || (size_t)n >= outlen ? TB_ETOOBIG : TB_OK;
}

/* Appends text (whole lines) to the journal at path, with the header
 * first when the file is new, and fsyncs it. */
static int tj_append(const char *path, const char *text, size_t len,
		     char *msg, size_t msglen)
{
	struct tb_buf b = TB_BUF_INIT;
	struct stat st;
	int fd, rc = TB_OK, created;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = TB_EIO;
		goto out;
	}
	created = st.st_size == 0;
	if ((created && tb_buf_puts(&b, TJ_HEADER) < 0) ||
	    tb_buf_add(&b, text, len) < 0) {
		rc = TB_ENOMEM;
		goto out;
	}
	if (write(fd, b.p, b.len) != (ssize_t)b.len || fsync(fd) != 0)
		rc = TB_EIO;
	if (rc == TB_OK && created)
		rc = tb_backup_sync_dir(path);
out:
	if (rc < 0)
		snprintf(msg, msglen, "cannot write the token journal %s: %s; "
			 "nothing was changed", path,
			 rc == TB_ENOMEM ? "out of memory" : strerror(errno));
	if (fd >= 0)
		close(fd);
	tb_buf_free(&b);
	return rc;
}

/* The journal of db's main file into path; 0 with path "" for a
 * database in memory. */
static int tj_db_path(struct tb_sql *db, char *path, size_t len)
{
	struct sqlite3 *h = tb_sql_sqlite(db);
	const char *file = h ? sqlite3_db_filename(h, "main") : NULL;

	path[0] = '\0'; /* PostgreSQL keeps its own log: no journal */
	if (!file || !*file)
		return TB_OK;
	return tb_tokjournal_path(file, path, len);
}

static const char *tj_col(struct tb_stmt *st, int col)
{
	const char *t = tb_sql_column_text(st, col);

	return t ? (const char *)t : "-";
}

/* Runs sql (?1 bound to v) and appends "T op kind prefix hash school\n"
 * for each row (kind, prefix, hash, school), then writes them. */
static int tj_rows(struct tb_sql *db, const char *op, const char *sql, int64_t v,
		   char *msg, size_t msglen)
{
	struct tb_buf b = TB_BUF_INIT;
	char path[PATH_MAX];
	struct tb_stmt *st = NULL;
	long long now = (long long)time(NULL);
	int src, rc;

	rc = tj_db_path(db, path, sizeof(path));
	if (rc < 0 || !path[0])
		return rc;
	src = tb_sql_prepare(db, sql, 0, &st);
	if (src == TB_OK)
		tb_sql_bind_int64(st, 1, (int64_t)v);
	while (src == TB_OK || src == TB_SQL_ROW) {
		src = tb_sql_step(st);
		if (src == TB_SQL_ROW &&
		    tb_buf_printf(&b, "%lld %s %s %s %s %s\n", now, op,
				  tj_col(st, 0), tj_col(st, 1), tj_col(st, 2),
				  tj_col(st, 3)) < 0)
			src = TB_ENOMEM;
	}
	if (src != TB_SQL_DONE) {
		rc = tb_sql_err(src);
		snprintf(msg, msglen, "cannot read the tokens for the token "
			 "journal: %s", tb_sql_errmsg(db));
	} else if (b.len > 0) {
		rc = tj_append(path, b.p, b.len, msg, msglen);
	}
	tb_sql_finalize(st);
	tb_buf_free(&b);
	return rc;
}

int tb_tokjournal_enrolled(struct tb_sql *db, int admin, int64_t id, char *msg,
			   size_t msglen)
{
	return tj_rows(db, "enroll", admin
		? "SELECT 'admin', token_prefix, " TJ_HASH_SQL ", '-'"
		  " FROM admin_tokens WHERE id = ?1"
		: "SELECT 'device', token_prefix, " TJ_HASH_SQL ", school"
		  " FROM devices WHERE id = ?1", id, msg, msglen);
}

int tb_tokjournal_revoked(struct tb_sql *db, int64_t since, char *msg,
			  size_t msglen)
{
	return tj_rows(db, "revoke",
		"SELECT 'device', token_prefix, " TJ_HASH_SQL ", school"
		" FROM devices WHERE revoked_at >= ?1 UNION ALL"
		" SELECT 'admin', token_prefix, " TJ_HASH_SQL ", '-'"
		" FROM admin_tokens WHERE revoked_at >= ?1", since, msg,
		msglen);
}

int tb_tokjournal_restored(const char *db, const char *from, char *msg,
			   size_t msglen)
{
	char path[PATH_MAX], line[PATH_MAX + 64];
	int n, rc;

	rc = tb_tokjournal_path(db, path, sizeof(path));
	if (rc < 0)
		return rc;
	n = snprintf(line, sizeof(line), "%lld restore %s\n",
		     (long long)time(NULL), from);
	if (n < 0 || (size_t)n >= sizeof(line))
		return TB_ETOOBIG;
	return tj_append(path, line, (size_t)n, msg, msglen);
}

/* ---- applying it to a restored copy ------------------------------------ */

/* Loads the journal's token lines into TEMP table tj on cp. */
static int tj_load(FILE *f, struct tb_sql *cp, struct tb_tokjournal_result *res)
{
	char line[TJ_LINE_MAX], op[8], kind[8], prefix[16], hash[24];
	char school[64], *end;
	struct tb_stmt *st = NULL;
	long long t;
	int src;

	src = tb_sql_prepare(cp, "INSERT INTO temp.tj VALUES(?1, ?2, ?3,"
				 " ?4, ?5, ?6)", 0, &st);
	while (src == TB_OK && fgets(line, sizeof(line), f)) {
		t = strtoll(line, &end, 10);
		if (!strchr(line, '\n') || end == line ||
		    sscanf(end, " %7s %7s %15s %23s %63s", op, kind, prefix,
			   hash, school) != 5 ||
		    (strcmp(op, "enroll") != 0 && strcmp(op, "revoke") != 0))
			continue; /* header, restore, or a torn line */
		tb_sql_bind_int64(st, 1, (int64_t)t);
		tb_sql_bind_text(st, 2, op, -1);
		tb_sql_bind_text(st, 3, kind, -1);
		tb_sql_bind_text(st, 4, prefix, -1);
		tb_sql_bind_text(st, 5, hash, -1);
		tb_sql_bind_text(st, 6, school, -1);
		src = tb_sql_step(st);
		if (src == TB_SQL_DONE) {
			tb_sql_reset(st);
			src = TB_OK;
		}
		res->lines++;
	}
	tb_sql_finalize(st);
	if (src == TB_OK && ferror(f))
		return TB_EIO;
	return src == TB_OK ? TB_OK : tb_sql_err(src);
}

/* Revokes in the copy every token the journal revoked. */
static int tj_revoke(struct tb_sql *cp, struct tb_tokjournal_result *res)
{
	static const char *const sql[] = {
		"UPDATE devices SET revoked_at = (SELECT min(t) FROM tj WHERE"
		" op = 'revoke' AND kind = 'device' AND prefix = token_prefix"
		" AND hash = " TJ_HASH_SQL ") WHERE revoked_at IS NULL AND"
		" EXISTS(SELECT 1 FROM tj WHERE op = 'revoke' AND kind ="
		" 'device' AND prefix = token_prefix AND hash = " TJ_HASH_SQL
		")",
		"UPDATE admin_tokens SET revoked_at = (SELECT min(t) FROM tj"
		" WHERE op = 'revoke' AND kind = 'admin' AND prefix ="
		" token_prefix AND hash = " TJ_HASH_SQL ") WHERE revoked_at IS"
		" NULL AND EXISTS(SELECT 1 FROM tj WHERE op = 'revoke' AND"
		" kind = 'admin' AND prefix = token_prefix AND hash = "
		TJ_HASH_SQL ")",
	};
	size_t i;
	int rc = TB_OK;

	for (i = 0; rc == TB_OK && i < sizeof(sql) / sizeof(sql[0]); i++) {
		rc = tb_sql_exec(cp, sql[i], NULL, 0);
		if (rc == TB_OK)
			res->revoked += tb_sql_changes(cp);
	}
	return rc;
}

/* Writes and logs one line per token enrolled after the copy was made. */
static int tj_missing(struct tb_sql *cp, FILE *out, struct tb_tokjournal_result *res)
{
	struct tb_stmt *st = NULL;
	int src;

	src = tb_sql_prepare(cp, "SELECT e.kind, e.school, e.prefix, min(e.t) FROM tj e"
		" WHERE e.op = 'enroll' AND NOT EXISTS(SELECT 1 FROM tj r"
		" WHERE r.op = 'revoke' AND r.kind = e.kind AND r.prefix ="
		" e.prefix AND r.hash = e.hash) AND NOT EXISTS(SELECT 1 FROM"
		" devices d WHERE e.kind = 'device' AND d.token_prefix ="
		" e.prefix AND lower(substr(hex(d.token_hash), 1, 16)) ="
		" e.hash) AND NOT EXISTS(SELECT 1 FROM admin_tokens a WHERE"
		" e.kind = 'admin' AND a.token_prefix = e.prefix AND"
		" lower(substr(hex(a.token_hash), 1, 16)) = e.hash)"
		" GROUP BY e.kind, e.prefix, e.hash ORDER BY e.kind DESC,"
		" e.school, min(e.t)", 0, &st);
	if (src == TB_OK)
		src = tb_sql_step(st);
	for (; src == TB_SQL_ROW; src = tb_sql_step(st)) {
		const char *kind = tj_col(st, 0);
		const char *school = tj_col(st, 1);
		const char *prefix = tj_col(st, 2);
		char when[TB_TIME_LEN + 8];

		tb_time_format_vn(tb_sql_column_int64(st, 3), when);
		res->missing++;
		if (strcmp(kind, "device") == 0) {
			fprintf(out, "%s: token %s... enrolled %s, after this "
				"backup; enroll it again and run tienbo-agent "
				"init with the new token\n", school, prefix,
				when);
			tb_slog(TB_SLOG_WARN, "restore: %s: token %s... enrolled "
				"%s after the backup no longer works; enroll "
				"the school again", school, prefix, when);
		} else {
			fprintf(out, "admin token %s... made %s, after this "
				"backup, no longer works; make a new one with "
				"tienbo-server admin-token\n", prefix, when);
			tb_slog(TB_SLOG_WARN, "restore: admin token %s... made "
				"%s after the backup no longer works", prefix,
				when);
		}
	}
	tb_sql_finalize(st);
	return src == TB_SQL_DONE ? TB_OK : tb_sql_err(src);
}

int tb_tokjournal_apply(const char *db, struct tb_sql *cp, FILE *out,
			struct tb_tokjournal_result *res, char *msg,
			size_t msglen)
{
	char path[PATH_MAX];
	FILE *f = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if (msglen)
		msg[0] = '\0';
	rc = tb_tokjournal_path(db, path, sizeof(path));
	if (rc < 0)
		return rc;
	f = fopen(path, "re");
	if (!f && errno == ENOENT)
		return TB_OK;
	if (!f) {
		snprintf(msg, msglen, "cannot read the token journal %s: %s",
			 path, strerror(errno));
		return TB_EIO;
	}
	res->present = 1;
	rc = tb_sql_exec(cp, "BEGIN IMMEDIATE; CREATE TEMP TABLE tj(t INTEGER,"
			" op TEXT, kind TEXT, prefix TEXT, hash TEXT, school"
			" TEXT)", msg, msglen);
	if (rc == TB_OK)
		rc = tj_load(f, cp, res);
	if (rc == TB_OK)
		rc = tj_revoke(cp, res);
	if (rc == TB_OK)
		rc = tj_missing(cp, out, res);
	if (rc == TB_OK)
		rc = tb_sql_exec(cp, "COMMIT", msg, msglen);
	if (rc < 0 && tb_sql_in_txn(cp))
		tb_sql_exec(cp, "ROLLBACK", NULL, 0);
	if (rc < 0 && !msg[0])
		snprintf(msg, msglen, "cannot apply the token journal %s to the "
			 "backup: %s", path, tb_strerror(rc));
	tb_sql_exec(cp, "DROP TABLE IF EXISTS temp.tj", NULL, 0);
	fclose(f);
	return rc;
}
