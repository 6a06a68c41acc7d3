/* helper_pg.c - fresh databases in the test cluster (helper_pg.h). */
#include "tests/helper_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

int helper_pg_wanted(void)
{
	const char *db = getenv("TB_TEST_DB");

	return db && strcmp(db, "pg") == 0;
}

/* The base URI from TB_TEST_PG_URL_FILE, without its newline. */
static int base_url(char *url, size_t len)
{
	const char *file = getenv("TB_TEST_PG_URL_FILE");
	FILE *f;
	size_t n;

	if (!file || !*file) {
		fprintf(stderr, "helper_pg: PostgreSQL test cluster not "
			"started: TB_TEST_PG_URL_FILE not set (run via ctest, "
			"fixture pg)\n");
		return -1;
	}
	if (!(f = fopen(file, "r"))) {
		if (errno == ENOENT)
			fprintf(stderr, "helper_pg: PostgreSQL test cluster "
				"not started: %s missing (run via ctest, "
				"fixture pg)\n", file);
		else
			fprintf(stderr, "helper_pg: %s: %s\n", file,
				strerror(errno));
		return -1;
	}
	n = fread(url, 1, len - 1, f);
	fclose(f);
	url[n] = '\0';
	while (n > 0 && (url[n - 1] == '\n' || url[n - 1] == '\r' ||
			 url[n - 1] == ' '))
		url[--n] = '\0';
	if (n == 0 || n >= len - 1 ||
	    (strncmp(url, "postgresql://", 13) != 0 &&
	     strncmp(url, "postgres://", 11) != 0)) {
		fprintf(stderr, "helper_pg: %s does not hold a postgresql:// "
			"URI (or it is too long): \"%s\"\n", file, url);
		return -1;
	}
	return 0;
}

/* A connection to url, to the database db instead when db is not NULL;
 * bounded: 10 s to connect, 30 s per statement. NULL after saying why. */
static PGconn *connect_to(const char *url, const char *db)
{
	const char *keys[] = { "dbname", "connect_timeout", "options",
			       db ? "dbname" : NULL, NULL };
	const char *vals[] = { url, "10", "-c statement_timeout=30000", db,
			       NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (!c) {
		fprintf(stderr, "helper_pg: out of memory connecting to %s\n",
			url);
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "helper_pg: cannot connect to %s%s%s: %s", url,
			db ? " database " : "", db ? db : "",
			PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Runs a statement that returns no rows. */
static int exec_cmd(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "helper_pg: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

/* url with its database (the path after host[:port]) replaced by db,
 * keeping any ?parameters. */
static int with_db(char *out, size_t len, const char *url, const char *db)
{
	const char *host = strstr(url, "://");
	const char *path, *query;
	int n;

	if (!host)
		return -1;
	host += 3;
	query = strchr(host, '?');
	path = strchr(host, '/');
	if (!path || (query && path > query))
		path = query ? query : host + strlen(host);
	n = snprintf(out, len, "%.*s/%s%s", (int)(path - url), url, db,
		     query ? query : "");
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "helper_pg: the URI of database %s does not "
			"fit in %zu bytes\n", db, len);
		return -1;
	}
	return 0;
}

int helper_pg_newdb(char *url, size_t len)
{
	static atomic_uint counter;
	char base[1024], name[64], sql[192];
	PGconn *c;
	int rc;

	if (!url || len == 0 || base_url(base, sizeof(base)) != 0)
		return -1;
	/* Lower case, so the name needs no quoting in SQL or the URI. */
	snprintf(name, sizeof(name), "tb_test_%ld_%u_%lld", (long)getpid(),
		 atomic_fetch_add(&counter, 1) + 1, (long long)time(NULL));
	if (with_db(url, len, base, name) != 0 ||
	    !(c = connect_to(base, NULL)))
		return -1;
	/* template0: empty whatever was added to template1. Vietnamese
	 * collation (ICU; Debian's PostgreSQL has it): an ORDER BY left to
	 * the database's collation, not SQLite's byte order, then shows
	 * (tests/test_pg_report.c compares the two byte for byte). */
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0"
		 " LOCALE_PROVIDER icu ICU_LOCALE 'vi-VN'", name);
	rc = exec_cmd(c, sql);
	PQfinish(c);
	return rc;
}

/* 1 (after saying so) when db is one of the cluster's own databases,
 * which a test never drops or replaces. */
static int cluster_own(const char *db, const char *doing)
{
	if (strcmp(db, "postgres") != 0 && strncmp(db, "template", 8) != 0)
		return 0;
	fprintf(stderr, "helper_pg: not %s %s (the cluster's own)\n", doing,
		db);
	return 1;
}

int helper_pg_dropdb(const char *url)
{
	char db[128], sql[256];
	char *quoted;
	PGconn *c;
	int rc;

	if (!url)
		return -1;
	/* The name as libpq reads it from the URI. */
	if (!(c = connect_to(url, NULL)))
		return -1;
	snprintf(db, sizeof(db), "%s", PQdb(c));
	PQfinish(c);
	if (cluster_own(db, "dropping"))
		return -1;
	if (!(c = connect_to(url, "postgres")))
		return -1;
	quoted = PQescapeIdentifier(c, db, strlen(db));
	if (!quoted) {
		fprintf(stderr, "helper_pg: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", quoted);
	PQfreemem(quoted);
	rc = exec_cmd(c, sql);
	PQfinish(c);
	return rc;
}

/* The database name libpq reads from url, into db (len bytes). */
static int db_name(const char *url, char *db, size_t len)
{
	PGconn *c = connect_to(url, "postgres");
	PQconninfoOption *o, *opts = PQconninfoParse(url, NULL);
	int rc = -1;

	PQfinish(c); /* only to say early and clearly when url is wrong */
	if (!c || !opts)
		goto out;
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val &&
		    strlen(o->val) < len) {
			snprintf(db, len, "%s", o->val);
			rc = 0;
		}
out:
	PQconninfoFree(opts);
	return rc;
}

int helper_pg_copydb(const char *from, const char *to)
{
	char src[128], dst[128], sql[400];
	char *qs = NULL, *qd = NULL;
	PGconn *c;
	int rc = -1;

	if (!from || !to || db_name(from, src, sizeof(src)) != 0 ||
	    db_name(to, dst, sizeof(dst)) != 0)
		return -1;
	if (cluster_own(dst, "replacing"))
		return -1;
	if (!(c = connect_to(to, "postgres")))
		return -1;
	qs = PQescapeIdentifier(c, src, strlen(src));
	qd = PQescapeIdentifier(c, dst, strlen(dst));
	/* no NOTICE on stderr when there is nothing to drop */
	if (qs && qd && exec_cmd(c, "SET client_min_messages = warning") == 0) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH "
			 "(FORCE)", qd);
		rc = exec_cmd(c, sql);
	}
	if (rc == 0) {
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", qd,
			 qs);
		rc = exec_cmd(c, sql);
	}
	PQfreemem(qs);
	PQfreemem(qd);
	PQfinish(c);
	return rc;
}

/* The databases helper_pg_db_path made, by name, dropped at exit by the
 * process that made them. */
#define PG_PATHS 32
static struct {
	char name[64];
	char url[256];
} pg_paths[PG_PATHS];
static int pg_npaths;
static pid_t pg_paths_pid;

static void drop_paths(void)
{
	if (getpid() != pg_paths_pid) /* a forked child exiting */
		return;
	for (int i = 0; i < pg_npaths; i++)
		helper_pg_dropdb(pg_paths[i].url);
	pg_npaths = 0;
}

int helper_pg_db_path(char *out, size_t len, const char *dir,
		      const char *name)
{
	int n, i;

	if (!helper_pg_wanted()) {
		n = snprintf(out, len, "%s/%s", dir, name);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	for (i = 0; i < pg_npaths; i++)
		if (strcmp(pg_paths[i].name, name) == 0)
			break;
	if (i == pg_npaths) {
		if (i == PG_PATHS || strlen(name) >= sizeof(pg_paths[i].name) ||
		    helper_pg_newdb(pg_paths[i].url,
				    sizeof(pg_paths[i].url)) != 0)
			return -1;
		if (!pg_paths_pid) {
			pg_paths_pid = getpid();
			atexit(drop_paths);
		}
		snprintf(pg_paths[i].name, sizeof(pg_paths[i].name), "%s",
			 name);
		pg_npaths++;
	}
	n = snprintf(out, len, "%s", pg_paths[i].url);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int helper_pg_query_int64(const char *url, const char *sql, int64_t *out)
{
	PGconn *c;
	PGresult *r;
	const char *v;
	char *end;
	long long n;
	int rc = -1;

	if (!url || !sql || !out || !(c = connect_to(url, NULL)))
		return -1;
	r = PQexec(c, sql);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "helper_pg: %s: %s", sql, PQerrorMessage(c));
	} else if (PQntuples(r) != 1 || PQnfields(r) < 1) {
		fprintf(stderr, "helper_pg: %s: %d rows of %d columns, wanted "
			"one row\n", sql, PQntuples(r), PQnfields(r));
	} else if (PQgetisnull(r, 0, 0)) {
		fprintf(stderr, "helper_pg: %s: NULL, wanted an integer\n",
			sql);
	} else {
		v = PQgetvalue(r, 0, 0);
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			fprintf(stderr, "helper_pg: %s: \"%s\" is not an "
				"integer\n", sql, v);
		else {
			*out = (int64_t)n;
			rc = 0;
		}
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int cluster_fd = -1; /* closing it stops the cluster */
static pid_t cluster_watchdog;

int helper_pg_cluster_start(const char *script, const char *dir, int durable)
{
	char cmd[3 * 1024 + 128], url[1024];
	int fds[2];

	if (strlen(script) > 1000 || strlen(dir) > 1000 || cluster_fd >= 0 ||
	    pipe(fds) != 0) {
		fprintf(stderr, "helper_pg: cannot start a cluster in %s\n",
			dir);
		return -1;
	}
	cluster_watchdog = fork();
	if (cluster_watchdog < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (cluster_watchdog == 0) {
		char c;

		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		execl("/bin/bash", "bash", script, "stop", dir, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	/* not inherited by the programs this one runs: their life must
	 * not hold the cluster up */
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	cluster_fd = fds[1];
	snprintf(cmd, sizeof(cmd), "%sbash '%s' start '%s' >'%s.out' 2>&1",
		 durable ? "TB_PG_DURABLE=1 " : "", script, dir, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "helper_pg: %s start %s failed (%s.out)\n",
			script, dir, dir);
		return -1;
	}
	snprintf(url, sizeof(url), "%s/url", dir);
	setenv("TB_TEST_PG_URL_FILE", url, 1);
	return 0;
}

void helper_pg_cluster_stop(void)
{
	int st;

	if (cluster_fd < 0)
		return;
	close(cluster_fd);
	cluster_fd = -1;
	while (waitpid(cluster_watchdog, &st, 0) < 0 && errno == EINTR)
		;
}
