/* sql_sqlite.c - the SQLite backend of server/sql.h: a thin wrapper over
 * one sqlite3 handle. Result codes become err.h codes by
 * common/sqlerr.h, so a failure means the same as in the agent.
 *
 * Cached statements (TB_SQL_CACHED) stay prepared
 * (SQLITE_PREPARE_PERSISTENT) in a list on the connection and are found
 * again by their text when not in use; preparing the events upsert
 * compiles the roll-up triggers (~1 ms), paid once per connection.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/sqlerr.h"
#include "server/sql_int.h"

struct lite_stmt {
	struct tb_stmt base;
	sqlite3_stmt *st;
	int busy;                /* cached and handed out */
	struct lite_stmt *next;  /* the connection's cached list */
};

struct lite_conn {
	struct tb_sql base;
	sqlite3 *db;
	struct lite_stmt *cached;
};

static const struct tb_sql_ops lite_ops;

static sqlite3 *lite_db(struct tb_sql *c)
{
	return ((struct lite_conn *)c)->db;
}

static sqlite3_stmt *lite_st(struct tb_stmt *st)
{
	return ((struct lite_stmt *)st)->st;
}

static int lite_err(struct tb_sql *c, int src)
{
	return tb_sqlite_err(lite_db(c), src, NULL);
}

static int lite_prepare(struct tb_sql *c, const char *sql, int flags,
			struct tb_stmt **out)
{
	struct lite_conn *lc = (struct lite_conn *)c;
	struct lite_stmt *s;
	int src;

	if (flags & TB_SQL_CACHED) {
		for (s = lc->cached; s; s = s->next) {
			if (!s->busy && strcmp(sqlite3_sql(s->st), sql) == 0) {
				sqlite3_reset(s->st);
				sqlite3_clear_bindings(s->st);
				s->busy = 1;
				*out = &s->base;
				return TB_OK;
			}
		}
	}
	s = tb_calloc(1, sizeof(*s));
	if (!s)
		return TB_ENOMEM;
	src = sqlite3_prepare_v3(lc->db, sql, -1,
				 (flags & TB_SQL_CACHED)
					 ? SQLITE_PREPARE_PERSISTENT
					 : 0,
				 &s->st, NULL);
	if (src != SQLITE_OK) {
		tb_free(s);
		return lite_err(c, src);
	}
	s->base.c = c;
	s->base.flags = flags;
	if (flags & TB_SQL_CACHED) {
		s->busy = 1;
		s->next = lc->cached;
		lc->cached = s;
	}
	*out = &s->base;
	return TB_OK;
}

/* A parameter the SQL does not have (SQLITE_RANGE) is nothing to bind:
 * one helper may bind ?1 and ?2 for statements that use either. */
static int lite_bind_rc(struct tb_stmt *st, int src)
{
	return src == SQLITE_OK || src == SQLITE_RANGE ? TB_OK
						       : lite_err(st->c, src);
}

static int lite_bind_int64(struct tb_stmt *st, int i, int64_t v)
{
	return lite_bind_rc(st, sqlite3_bind_int64(lite_st(st), i, v));
}

static int lite_bind_text(struct tb_stmt *st, int i, const char *s, int len)
{
	return lite_bind_rc(st, sqlite3_bind_text(lite_st(st), i, s, len,
						  SQLITE_TRANSIENT));
}

static int lite_bind_blob(struct tb_stmt *st, int i, const void *p, size_t n)
{
	return lite_bind_rc(st, sqlite3_bind_blob64(lite_st(st), i, p, n,
						    SQLITE_TRANSIENT));
}

static int lite_bind_null(struct tb_stmt *st, int i)
{
	return lite_bind_rc(st, sqlite3_bind_null(lite_st(st), i));
}

static int lite_bind_count(struct tb_stmt *st)
{
	return sqlite3_bind_parameter_count(lite_st(st));
}

static int lite_step(struct tb_stmt *st)
{
	int src = sqlite3_step(lite_st(st));

	if (src == SQLITE_ROW)
		return TB_SQL_ROW;
	if (src == SQLITE_DONE)
		return TB_SQL_DONE;
	return lite_err(st->c, src);
}

static int lite_column_count(struct tb_stmt *st)
{
	return sqlite3_column_count(lite_st(st));
}

static int lite_column_null(struct tb_stmt *st, int i)
{
	return sqlite3_column_type(lite_st(st), i) == SQLITE_NULL;
}

static int64_t lite_column_int64(struct tb_stmt *st, int i)
{
	return sqlite3_column_int64(lite_st(st), i);
}

static const char *lite_column_text(struct tb_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(lite_st(st), i);
}

static const void *lite_column_blob(struct tb_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(lite_st(st), i);

	*n = (size_t)sqlite3_column_bytes(lite_st(st), i);
	return p;
}

static void lite_reset(struct tb_stmt *st)
{
	sqlite3_reset(lite_st(st));
	if (st->flags & TB_SQL_CACHED)
		((struct lite_stmt *)st)->busy = 0;
}

static void lite_clear_bindings(struct tb_stmt *st)
{
	sqlite3_clear_bindings(lite_st(st));
}

static void lite_finalize(struct tb_stmt *st)
{
	sqlite3_finalize(lite_st(st));
	tb_free(st);
}

static int lite_exec(struct tb_sql *c, const char *sql, char *msg,
		     size_t msglen)
{
	char *err = NULL;
	const char *why;
	int src = sqlite3_exec(lite_db(c), sql, NULL, NULL, &err), rc;

	if (src == SQLITE_OK)
		return TB_OK;
	rc = tb_sqlite_err(lite_db(c), src, &why);
	if (msg && msglen)
		snprintf(msg, msglen, "database: %s (%s)", why,
			 err ? err : sqlite3_errstr(src));
	sqlite3_free(err);
	return rc;
}

static int64_t lite_changes(struct tb_sql *c)
{
	return sqlite3_changes64(lite_db(c));
}

static const char *lite_errmsg(struct tb_sql *c)
{
	return sqlite3_errmsg(lite_db(c));
}

static char *lite_reason(struct tb_sql *c, char *buf, size_t len)
{
	sqlite3 *db = c ? lite_db(c) : NULL;
	int src = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
	int sys = db ? sqlite3_system_errno(db) : 0;
	const char *why = NULL;

	if ((src & 0xff) == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT ||
	    sys == EFBIG) {
		snprintf(buf, len, "disk full: %s%s%s",
			 db ? sqlite3_errmsg(db) : "", sys ? ", " : "",
			 sys ? strerror(sys) : "");
		return buf;
	}
	tb_sqlite_err(db, src, &why);
	snprintf(buf, len, "%s (%s%s%s)", why, db ? sqlite3_errmsg(db) : "",
		 sys ? ", " : "", sys ? strerror(sys) : "");
	return buf;
}

static int lite_begin(struct tb_sql *c, int write)
{
	return lite_exec(c, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0);
}

static int lite_in_txn(struct tb_sql *c)
{
	return !sqlite3_get_autocommit(lite_db(c));
}

static int lite_lock_key(struct tb_sql *c, const char *key)
{
	(void)c;
	(void)key;
	return TB_OK; /* BEGIN IMMEDIATE already excludes every writer */
}

static void lite_close(struct tb_sql *c)
{
	struct lite_conn *lc = (struct lite_conn *)c;
	struct lite_stmt *s = lc->cached, *next;
	sqlite3_stmt *st;

	for (; s; s = next) {
		next = s->next;
		sqlite3_finalize(s->st);
		tb_free(s);
	}
	/* statements a caller leaked: finalized so the handle closes */
	while ((st = sqlite3_next_stmt(lc->db, NULL)) != NULL)
		sqlite3_finalize(st);
	sqlite3_close(lc->db);
	tb_free(lc);
}

static const struct tb_sql_ops lite_ops = {
	.prepare = lite_prepare,
	.bind_int64 = lite_bind_int64,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.bind_null = lite_bind_null,
	.bind_count = lite_bind_count,
	.step = lite_step,
	.column_count = lite_column_count,
	.column_null = lite_column_null,
	.column_int64 = lite_column_int64,
	.column_text = lite_column_text,
	.column_blob = lite_column_blob,
	.reset = lite_reset,
	.clear_bindings = lite_clear_bindings,
	.finalize = lite_finalize,
	.exec = lite_exec,
	.changes = lite_changes,
	.errmsg = lite_errmsg,
	.reason = lite_reason,
	.begin = lite_begin,
	.in_txn = lite_in_txn,
	.lock_key = lite_lock_key,
	.close = lite_close,
};

struct tb_sql *tb_sql_wrap_sqlite(struct sqlite3 *db, const char *path)
{
	struct lite_conn *lc = tb_calloc(1, sizeof(*lc));

	if (!lc) {
		sqlite3_close(db);
		return NULL;
	}
	lc->base.ops = &lite_ops;
	lc->base.backend = TB_SQL_SQLITE;
	snprintf(lc->base.name, sizeof(lc->base.name), "%s", path);
	lc->db = db;
	return &lc->base;
}

struct sqlite3 *tb_sql_sqlite(struct tb_sql *c)
{
	return c && c->backend == TB_SQL_SQLITE ? lite_db(c) : NULL;
}
