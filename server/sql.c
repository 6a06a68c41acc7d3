/* sql.c - the store interface's calls, passed to the connection's backend
 * (server/sql_sqlite.c or server/sql_pg.c); see sql.h.
 */
#include "server/sql.h"

#include <string.h>

#include "common/err.h"
#include "server/sql_int.h"

int tb_sql_is_url(const char *db)
{
	return db && (strncmp(db, "postgresql://", 13) == 0 ||
		      strncmp(db, "postgres://", 11) == 0);
}

int tb_sql_err(int rc)
{
	return rc <= 0 ? rc : TB_EIO;
}

enum tb_sql_backend tb_sql_backend(const struct tb_sql *c)
{
	return c->backend;
}

const char *tb_sql_name(const struct tb_sql *c)
{
	return c->name;
}

int tb_sql_prepare(struct tb_sql *c, const char *sql, int flags,
		   struct tb_stmt **out)
{
	int rc;

	*out = NULL;
	rc = c->ops->prepare(c, sql, flags, out);
	if (rc == 0)
		(*out)->bind_rc = 0; /* a cached one comes back cleared */
	return rc;
}

/* A failed bind is kept, and the next step returns it: a caller that
 * does not check each bind (most do not) never runs the statement with a
 * parameter missing (out of memory would otherwise read as "no rows"). */
static int bound(struct tb_stmt *st, int rc)
{
	if (rc < 0 && st->bind_rc == 0)
		st->bind_rc = rc;
	return rc;
}

int tb_sql_bind_int64(struct tb_stmt *st, int i, int64_t v)
{
	return bound(st, st->c->ops->bind_int64(st, i, v));
}

int tb_sql_bind_text(struct tb_stmt *st, int i, const char *s, int len)
{
	if (!s)
		return bound(st, st->c->ops->bind_null(st, i));
	return bound(st, st->c->ops->bind_text(st, i, s, len));
}

int tb_sql_bind_blob(struct tb_stmt *st, int i, const void *p, size_t n)
{
	if (!p)
		return bound(st, st->c->ops->bind_null(st, i));
	return bound(st, st->c->ops->bind_blob(st, i, p, n));
}

int tb_sql_bind_null(struct tb_stmt *st, int i)
{
	return bound(st, st->c->ops->bind_null(st, i));
}

int tb_sql_bind_parameter_count(struct tb_stmt *st)
{
	return st->c->ops->bind_count(st);
}

int tb_sql_step(struct tb_stmt *st)
{
	if (st->bind_rc < 0)
		return st->bind_rc;
	return st->c->ops->step(st);
}

int tb_sql_column_count(struct tb_stmt *st)
{
	return st->c->ops->column_count(st);
}

int tb_sql_column_null(struct tb_stmt *st, int i)
{
	return st->c->ops->column_null(st, i);
}

int64_t tb_sql_column_int64(struct tb_stmt *st, int i)
{
	return st->c->ops->column_int64(st, i);
}

const char *tb_sql_column_text(struct tb_stmt *st, int i)
{
	return st->c->ops->column_text(st, i);
}

const void *tb_sql_column_blob(struct tb_stmt *st, int i, size_t *n)
{
	return st->c->ops->column_blob(st, i, n);
}

void tb_sql_reset(struct tb_stmt *st)
{
	if (st)
		st->c->ops->reset(st);
}

void tb_sql_clear_bindings(struct tb_stmt *st)
{
	st->bind_rc = 0;
	st->c->ops->clear_bindings(st);
}

void tb_sql_finalize(struct tb_stmt *st)
{
	if (!st)
		return;
	if (st->flags & TB_SQL_CACHED)
		st->c->ops->reset(st);
	else
		st->c->ops->finalize(st);
}

int tb_sql_exec(struct tb_sql *c, const char *sql, char *msg, size_t msglen)
{
	return c->ops->exec(c, sql, msg, msglen);
}

int64_t tb_sql_changes(struct tb_sql *c)
{
	return c->ops->changes(c);
}

const char *tb_sql_errmsg(struct tb_sql *c)
{
	return c->ops->errmsg(c);
}

char *tb_sql_reason(struct tb_sql *c, char *buf, size_t len)
{
	return c->ops->reason(c, buf, len);
}

int tb_sql_begin(struct tb_sql *c, int write)
{
	return c->ops->begin(c, write);
}

int tb_sql_commit(struct tb_sql *c)
{
	return c->ops->exec(c, "COMMIT", NULL, 0);
}

void tb_sql_rollback(struct tb_sql *c)
{
	if (c && c->ops->in_txn(c))
		(void)c->ops->exec(c, "ROLLBACK", NULL, 0);
}

int tb_sql_in_txn(struct tb_sql *c)
{
	return c->ops->in_txn(c);
}

int tb_sql_lock_key(struct tb_sql *c, const char *key)
{
	return c->ops->lock_key(c, key);
}

void tb_sql_close(struct tb_sql *c)
{
	if (c)
		c->ops->close(c);
}
