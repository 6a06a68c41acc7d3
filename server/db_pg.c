/* db_pg.c - a PostgreSQL store: connecting, and creating or migrating its
 * schema (the same tables as the SQLite file, server/db.h).
 *
 * One schema text: each migration step of server/db.c, in PostgreSQL's
 * words (tb_db_step_text). The version is the one row
 * of tienbo_schema (SQLite keeps it in user_version). Setting up runs in
 * one transaction under an advisory lock, so several `serve` instances
 * starting on a new or old database migrate it exactly once, and a step
 * that fails leaves it at the version it had (PostgreSQL's DDL is
 * transactional).
 *
 * The database itself is made by its administrator (createdb, with an
 * owner), as for any service on a shared PostgreSQL; tienbo creates only
 * tables in it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "server/db.h"
#include "server/sql.h"

#define PG_SETUP_LOCK 0x7469656e626f /* "tienbo": the advisory lock key */

/* One integer from sql (no parameters) into *out; 0 or an err.h code. */
static int pg_int(struct tb_sql *c, const char *sql, const char *arg,
		  int64_t *out)
{
	struct tb_stmt *st = NULL;
	int rc = tb_sql_prepare(c, sql, 0, &st);

	if (rc == TB_OK && arg)
		rc = tb_sql_bind_text(st, 1, arg, -1);
	if (rc == TB_OK)
		rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW) {
		*out = tb_sql_column_int64(st, 0);
		rc = TB_OK;
	} else if (rc == TB_SQL_DONE) {
		*out = 0;
		rc = TB_OK;
	}
	tb_sql_finalize(st);
	return rc;
}

/* How many of tienbo's tables, and how many tables at all, the current
 * schema (search_path) has. */
static int pg_tables(struct tb_sql *c, int64_t *ours, int64_t *all)
{
	int rc = pg_int(c, "SELECT count(*) FROM information_schema.tables"
			" WHERE table_schema = current_schema() AND table_name"
			" IN ('devices', 'events', 'units', 'tienbo_schema')",
			NULL, ours);

	if (rc == TB_OK)
		rc = pg_int(c, "SELECT count(*) FROM information_schema.tables"
			    " WHERE table_schema = current_schema()", NULL,
			    all);
	return rc;
}

static int pg_version(struct tb_sql *c, int64_t *v)
{
	int64_t ours = 0, all = 0;
	int rc = pg_tables(c, &ours, &all);

	*v = 0;
	if (rc == TB_OK && ours == 4)
		rc = pg_int(c, "SELECT version FROM tienbo_schema", NULL, v);
	else if (rc == TB_OK && all > 0)
		*v = -1; /* tables, but not tienbo's */
	return rc;
}

static int pg_migrate(struct tb_sql *c, const char *name, int64_t version,
		      char *msg, size_t msglen)
{
	char why[400] = "", sql[80];
	int rc = TB_OK;
	int64_t v;

	if (version == 0)
		rc = tb_sql_exec(c, "CREATE TABLE tienbo_schema(version INTEGER"
				 " NOT NULL); INSERT INTO tienbo_schema"
				 " VALUES(0)", why, sizeof(why));
	for (v = version + 1; rc == TB_OK && v <= TB_DB_SCHEMA; v++) {
		char *ddl = tb_db_step_text((int)v, 1);

		if (!ddl)
			return TB_ENOMEM;
		rc = tb_sql_exec(c, ddl, why, sizeof(why));
		free(ddl);
	}
	if (rc == TB_OK) {
		snprintf(sql, sizeof(sql), "UPDATE tienbo_schema SET version ="
			 " %d", TB_DB_SCHEMA);
		rc = tb_sql_exec(c, sql, why, sizeof(why));
	}
	if (rc < 0 && version == 0)
		snprintf(msg, msglen, "%s: cannot create the schema: %s", name,
			 why);
	else if (rc < 0)
		snprintf(msg, msglen, "%s: cannot migrate from schema %lld to "
			 "%d (step %lld): %s; the database was left at schema "
			 "%lld", name, (long long)version, TB_DB_SCHEMA,
			 (long long)v - 1, why, (long long)version);
	return rc;
}

/* Checks and migrates inside one transaction under the setup lock. */
static int pg_schema(struct tb_sql *c, const struct tb_db_opts *o,
		     char *msg, size_t msglen)
{
	const char *name = tb_sql_name(c);
	char sql[80];
	int64_t v = 0;
	int rc;

	rc = pg_version(c, &v);
	if (rc == TB_OK && v == TB_DB_SCHEMA)
		return TB_OK;
	if (o && o->readonly) {
		snprintf(msg, msglen, "%s: not a tienbo-server database of "
			 "schema %d (it has %lld)", name, TB_DB_SCHEMA,
			 (long long)v);
		return TB_ECONFLICT;
	}
	rc = tb_sql_begin(c, 1);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)",
		 (long long)PG_SETUP_LOCK);
	if (rc == TB_OK)
		rc = tb_sql_exec(c, sql, msg, msglen);
	if (rc == TB_OK)
		rc = pg_version(c, &v);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: cannot read the schema version: %s",
			 name, tb_sql_errmsg(c));
		goto out;
	}
	if (v == TB_DB_SCHEMA) /* another instance set it up meanwhile */
		goto out;
	if (v < 0) {
		snprintf(msg, msglen, "%s: not a tienbo-server database: it "
			 "already holds tables that are not tienbo's, and the "
			 "server does not create its own over them; give an "
			 "empty database (it was left unchanged)", name);
		rc = TB_ECONFLICT;
	} else if (v > TB_DB_SCHEMA) {
		snprintf(msg, msglen, "%s: database has schema %lld, newer than"
			 " this server (%d); use a newer tienbo-server (it was"
			 " left unchanged)", name, (long long)v, TB_DB_SCHEMA);
		rc = TB_ECONFLICT;
	} else if (v == 0 && !(o && o->create)) {
		snprintf(msg, msglen, "%s: not a tienbo-server database (no "
			 "tienbo tables); create them with tienbo-server "
			 "init-db --db URL", name);
		rc = TB_ECONFLICT;
	} else {
		rc = pg_migrate(c, name, v, msg, msglen);
	}
out:
	if (rc == TB_OK)
		rc = tb_sql_commit(c);
	tb_sql_rollback(c);
	return rc;
}

int tb_db_open_pg(const char *url, const struct tb_db_opts *o,
		  struct tb_sql **out, char *msg, size_t msglen)
{
	struct tb_sql *c = NULL;
	int rc = tb_sql_open_pg(url, &c, msg, msglen);

	*out = NULL;
	if (rc < 0)
		return rc;
	/* a lock waited for longer than the busy timeout is TB_EAGAIN, as
	 * SQLite's busy timeout is; the session keeps UTC, so no date
	 * function depends on the server's zone */
	{
		char set[120];

		snprintf(set, sizeof(set), "SET lock_timeout = %d; SET TIME ZONE"
			 " 'UTC'", o && o->busy_timeout_ms > 0
					   ? o->busy_timeout_ms
					   : 5000);
		rc = tb_sql_exec(c, set, msg, msglen);
	}
	if (rc == TB_OK)
		rc = pg_schema(c, o, msg, msglen);
	if (rc < 0) {
		tb_sql_close(c);
		return rc;
	}
	*out = c;
	return TB_OK;
}
