/* backup_pg.c - `backup` and `restore` when `db` is a PostgreSQL URL: the
 * work is PostgreSQL's own pg_dump and pg_restore (Debian: postgresql-
 * client), run and checked here (see backup.h).
 *
 * Backup. The counts printed and the dump come from one snapshot: a
 * REPEATABLE READ transaction exports it (pg_export_snapshot), the counts
 * are read in it, and pg_dump --snapshot dumps exactly that state while
 * the transaction stays open. The custom format (compressed; pg_restore
 * reads it, table by table if need be) is written beside FILE under a
 * temporary name, mode 0600, checked with pg_restore --list (a whole,
 * readable archive), fsync'd and renamed to FILE. pg_dump's exit status
 * decides: anything but 0 leaves FILE as it was. --gzip is refused: the
 * custom format is compressed already.
 *
 * Restore. pg_restore fills only a database without tables (a new one:
 * createdb -O tienbo NAME), in one transaction (--single-transaction
 * --exit-on-error), objects owned by the role restoring (--no-owner);
 * then the database must open as a tienbo-server database, and its
 * counts are printed. Replacing a database in use is left to the
 * administrator (point `db` at the restored one, or rename databases),
 * because on PostgreSQL that is a decision about a shared cluster, and
 * the SQLite restore's token journal does not exist there.
 *
 * The password. A URL's password would show in the process list as
 * pg_dump's argument, so the tools get the URL's other parameters as a
 * connection string and the password in their environment (PGPASSWORD);
 * better, the URL has none and libpq reads ~/.pgpass or PGPASSFILE.
 */
#include "server/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/sql.h"

extern char **environ;

#define PG_MAXARGS 12

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* url's parameters, password left out, as a libpq connection string in
 * out ("dbname=... host=..."), and the password (or "") in pass. */
static int pg_conninfo(const char *url, char *out, size_t len, char *pass,
		       size_t plen)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	size_t n = 0;

	pass[0] = '\0';
	out[0] = '\0';
	if (!opts)
		return TB_EINVAL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			snprintf(pass, plen, "%s", o->val);
			continue;
		}
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s='",
				      n ? " " : "", o->keyword);
		for (const char *v = o->val; *v && n + 3 < len; v++) {
			if (*v == '\'' || *v == '\\')
				out[n++] = '\\';
			out[n++] = *v;
		}
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "'");
	}
	PQconninfoFree(opts);
	return n < len ? TB_OK : TB_EINVAL;
}

/* Runs tool with args (NULL-terminated) and, when url, --dbname= its
 * connection string (the password in PGPASSWORD); stdout to /dev/null
 * when quiet, stderr as ours (the tool's own messages). 0 when it exited
 * 0; TB_ECONFIG when it is not installed; TB_EIO with msg otherwise. */
static int pg_tool(const char *tool, const char *const *args,
		   const char *url, int quiet, char *msg, size_t msglen)
{
	char conn[2048], pass[512], dbname[2100], pwenv[530];
	const char *argv[PG_MAXARGS + 3];
	char **env = NULL;
	posix_spawn_file_actions_t fa;
	size_t n = 0, ne = 0;
	pid_t pid;
	int status = 0, err;

	argv[n++] = tool;
	for (; *args && n < PG_MAXARGS; args++)
		argv[n++] = *args;
	pass[0] = '\0';
	if (url) {
		if (pg_conninfo(url, conn, sizeof(conn), pass, sizeof(pass))) {
			snprintf(msg, msglen, "db: not a PostgreSQL URL libpq "
				 "reads");
			return TB_EUSAGE;
		}
		snprintf(dbname, sizeof(dbname), "--dbname=%s", conn);
		argv[n++] = dbname;
	}
	argv[n] = NULL;
	while (environ[ne])
		ne++;
	env = tb_calloc(ne + 2, sizeof(*env));
	if (!env)
		return TB_ENOMEM;
	memcpy(env, environ, ne * sizeof(*env));
	if (pass[0]) {
		snprintf(pwenv, sizeof(pwenv), "PGPASSWORD=%s", pass);
		env[ne] = pwenv;
	}
	posix_spawn_file_actions_init(&fa);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
						 "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, tool, &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	memset(pwenv, 0, sizeof(pwenv));
	memset(pass, 0, sizeof(pass));
	tb_free(env);
	if (err == ENOENT) {
		snprintf(msg, msglen, "%s is not installed: PostgreSQL's backup "
			 "and restore need it (Debian: apt install "
			 "postgresql-client, of the server's major version or "
			 "newer)", tool);
		return TB_ECONFIG;
	}
	if (err) {
		snprintf(msg, msglen, "cannot run %s: %s", tool, strerror(err));
		return TB_EIO;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(msg, msglen, "%s: %s", tool, strerror(errno));
			return TB_EIO;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return TB_OK;
	if (WIFEXITED(status))
		snprintf(msg, msglen, "%s failed (exit status %d; its message "
			 "is above)", tool, WEXITSTATUS(status));
	else
		snprintf(msg, msglen, "%s was killed by signal %d", tool,
			 WTERMSIG(status));
	return TB_EIO;
}

/* The counts of struct tb_backup_counts, in c's current transaction. */
static int pg_counts(struct tb_sql *c, struct tb_backup_counts *out)
{
	struct tb_stmt *st = NULL;
	int rc = tb_sql_prepare(c, "SELECT (SELECT version FROM tienbo_schema),"
				" (SELECT count(*) FROM events), (SELECT"
				" count(*) FROM event_history), (SELECT"
				" count(*) FROM units WHERE type = 'school'),"
				" (SELECT count(*) FROM devices)", 0, &st);

	if (rc == TB_OK)
		rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW) {
		out->version = (int)tb_sql_column_int64(st, 0);
		out->events = tb_sql_column_int64(st, 1);
		out->revisions = tb_sql_column_int64(st, 2);
		out->schools = tb_sql_column_int64(st, 3);
		out->devices = tb_sql_column_int64(st, 4);
		rc = TB_OK;
	}
	tb_sql_finalize(st);
	return tb_sql_err(rc);
}

/* The snapshot's id into id (pg_export_snapshot), in c's transaction. */
static int pg_snapshot(struct tb_sql *c, char *id, size_t len)
{
	struct tb_stmt *st = NULL;
	int rc = tb_sql_prepare(c, "SELECT pg_export_snapshot()", 0, &st);

	if (rc == TB_OK)
		rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW) {
		snprintf(id, len, "%s", tb_sql_column_text(st, 0));
		rc = TB_OK;
	}
	tb_sql_finalize(st);
	return tb_sql_err(rc);
}

static int pg_open(const char *url, int readonly, struct tb_sql **c,
		   char *msg, size_t msglen)
{
	struct tb_db_opts o;

	memset(&o, 0, sizeof(o));
	o.readonly = readonly;
	return tb_db_open(url, &o, c, msg, msglen);
}

int tb_backup_pg_run(const char *url, const char *to, int gzip,
		     struct tb_backup_result *r, char *msg, size_t msglen)
{
	char tmp[PATH_MAX], snap[128], file[PATH_MAX + 8], sarg[160];
	const char *dump[] = {"--format=custom", file, sarg, "--no-password",
			      NULL};
	const char *list[] = {"--list", tmp, NULL};
	struct tb_sql *c = NULL;
	struct stat st;
	long t0 = now_ms();
	int rc, fd;

	memset(r, 0, sizeof(*r));
	if (gzip) {
		snprintf(msg, msglen, "--gzip: a PostgreSQL backup is pg_dump's "
			 "custom format, compressed already; leave --gzip out");
		return TB_EUSAGE;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", to,
			     (long)getpid()) >= sizeof(tmp)) {
		snprintf(msg, msglen, "%s: name too long", to);
		return TB_EUSAGE;
	}
	snprintf(file, sizeof(file), "--file=%s", tmp);
	rc = pg_open(url, 1, &c, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(r->where, sizeof(r->where), "%s", tb_sql_name(c));
	rc = tb_sql_begin(c, 0);
	if (rc == TB_OK)
		rc = pg_snapshot(c, snap, sizeof(snap));
	if (rc == TB_OK)
		rc = pg_counts(c, &r->c);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: cannot read a snapshot: %s; nothing "
			 "was backed up", tb_sql_name(c), tb_sql_errmsg(c));
		goto out;
	}
	snprintf(sarg, sizeof(sarg), "--snapshot=%s", snap);
	/* made 0600 first: pg_dump truncates it and keeps the mode */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) != 0) {
		snprintf(msg, msglen, "cannot make %s: %s", tmp, strerror(errno));
		rc = TB_EIO;
		goto out;
	}
	rc = pg_tool("pg_dump", dump, url, 0, msg, msglen);
	if (rc == TB_OK)
		rc = pg_tool("pg_restore", list, NULL, 1, msg, msglen);
	if (rc == TB_OK && (stat(tmp, &st) != 0 || st.st_size == 0)) {
		snprintf(msg, msglen, "pg_dump wrote nothing to %s", tmp);
		rc = TB_EIO;
	}
	r->db_bytes = rc == TB_OK ? (uint64_t)st.st_size : 0;
	fd = rc == TB_OK ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
	if (rc == TB_OK && (fd < 0 || fsync(fd) != 0)) {
		snprintf(msg, msglen, "%s: cannot fsync it", tmp);
		rc = TB_EIO;
	}
	if (fd >= 0)
		close(fd);
	if (rc == TB_OK && rename(tmp, to) != 0) {
		snprintf(msg, msglen, "cannot rename the dump to %s: %s", to,
			 strerror(errno));
		rc = TB_EIO;
	}
	if (rc == TB_OK && tb_backup_sync_dir(to) != TB_OK) {
		snprintf(msg, msglen, "%s: cannot fsync its directory", to);
		rc = TB_EIO;
	}
	if (rc < 0 && strstr(msg, "nothing was backed up") == NULL)
		snprintf(msg + strlen(msg), msglen - strlen(msg), "; nothing was "
			 "backed up (%s left as it was)", to);
out:
	if (rc < 0)
		unlink(tmp);
	tb_sql_rollback(c);
	tb_sql_close(c);
	r->bytes = r->db_bytes;
	r->ms = now_ms() - t0;
	return rc;
}

/* Tables in the database's current schema, and the first one's name. */
static int pg_tables(struct tb_sql *c, int64_t *n, char *first, size_t len)
{
	struct tb_stmt *st = NULL;
	int rc = tb_sql_prepare(c, "SELECT count(*), min(table_name) FROM"
				" information_schema.tables WHERE table_schema"
				" = current_schema()", 0, &st);

	if (rc == TB_OK)
		rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW) {
		*n = tb_sql_column_int64(st, 0);
		snprintf(first, len, "%s", tb_sql_column_text(st, 1) ?
			 tb_sql_column_text(st, 1) : "");
		rc = TB_OK;
	}
	tb_sql_finalize(st);
	return tb_sql_err(rc);
}

int tb_restore_pg_run(const char *url, const char *from,
		      struct tb_backup_result *r, char *msg, size_t msglen)
{
	const char *list[] = {"--list", from, NULL};
	const char *restore[] = {"--single-transaction", "--exit-on-error",
				 "--no-owner", "--no-privileges",
				 "--no-password", from, NULL};
	struct tb_sql *c = NULL;
	char first[128] = "";
	int64_t n = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (access(from, R_OK) != 0) {
		snprintf(msg, msglen, "%s: %s; nothing was restored", from,
			 strerror(errno));
		return errno == ENOENT ? TB_ENOTFOUND : TB_EIO;
	}
	if (pg_tool("pg_restore", list, NULL, 1, msg, msglen) != TB_OK) {
		if (strstr(msg, "not installed"))
			return TB_ECONFIG;
		snprintf(msg, msglen, "%s: not a pg_dump archive pg_restore can "
			 "read (its message is above); nothing was restored",
			 from);
		return TB_EINVAL;
	}
	rc = tb_sql_open_pg(url, &c, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(r->where, sizeof(r->where), "%s", tb_sql_name(c));
	rc = pg_tables(c, &n, first, sizeof(first));
	if (rc < 0)
		snprintf(msg, msglen, "%s: %s", tb_sql_name(c), tb_sql_errmsg(c));
	else if (n > 0) {
		snprintf(msg, msglen, "%s: not empty (%lld tables: %s, ...): "
			 "pg_restore fills only a database without tables; "
			 "create one (createdb -O tienbo NAME), restore into "
			 "it, then point db at it; nothing was changed",
			 tb_sql_name(c), (long long)n, first);
		rc = TB_ECONFLICT;
	}
	tb_sql_close(c);
	c = NULL;
	if (rc == TB_OK)
		rc = pg_tool("pg_restore", restore, url, 0, msg, msglen);
	if (rc < 0 && rc != TB_ECONFLICT && rc != TB_ECONFIG &&
	    !strstr(msg, "nothing"))
		snprintf(msg + strlen(msg), msglen - strlen(msg), "; one "
			 "transaction: the database was left without tables");
	if (rc == TB_OK)
		rc = pg_open(url, 0, &c, msg, msglen);
	if (rc == TB_OK && (rc = pg_counts(c, &r->c)) < 0)
		snprintf(msg, msglen, "%s: restored, but cannot be read: %s",
			 tb_sql_name(c), tb_sql_errmsg(c));
	tb_sql_close(c);
	return rc;
}
