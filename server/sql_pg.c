/* sql_pg.c - the PostgreSQL backend of server/sql.h, over libpq.
 *
 * Statements: ?N and ? parameters become $N outside quotes (pg_sql). A
 * TB_SQL_CACHED statement is prepared once per connection under a name
 * (PQprepare) and run with PQexecPrepared, so the merge parses nothing per
 * batch; others run with PQexecParams. Parameters travel as text, except
 * blobs (binary: bytea); results come as text, and a bytea column
 * ("\x...") is decoded by tb_sql_column_blob. A statement runs at its
 * first step and its whole result is held, so statements may interleave
 * as they do on SQLite; a TB_SQL_STREAM one uses libpq's single-row mode
 * (constant memory for an export of millions of rows).
 *
 * Errors by SQLSTATE: 40001 serialization_failure, 40P01 deadlock,
 * 55P03 lock_not_available, 57014 query_canceled (a statement_timeout),
 * 57P0x (the server shutting down) and a lost connection are TB_EAGAIN
 * (the client is told to come back); class 23 (constraints) is
 * TB_ECONFLICT; 53100 disk_full is TB_EIO said "disk full"; 53200 is
 * TB_ENOMEM. A connection found broken is reset (PQreset) before the next
 * statement, so a restarted PostgreSQL costs one failed request.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/sql_int.h"

#define PG_MAXPARAMS 400 /* the merge's multi-row INSERT has 32 x 12 */
#define BYTEAOID 17
#define TEXTOID 25

struct pg_stmt {
	struct tb_stmt base;
	char *orig;              /* as given: a cached one is found by it */
	char *sql;               /* with $N */
	char name[24];           /* of a prepared (cached) statement */
	int nparams;
	unsigned char *used;     /* [nparams]: 1 when $N is in the SQL */
	char **vals;             /* [nparams], malloc'd copies, NULL = NULL */
	int *lens;
	int *fmts;               /* 1 = binary (a blob) */
	unsigned *types;         /* 0 = inferred, BYTEAOID for a blob,
				    TEXTOID for one never bound (so SQL may
				    leave a number out, as SQLite allows) */
	PGresult *res;
	int row, nrows;
	int running;             /* executed; rows being read */
	int streaming;           /* single-row mode, results pending */
	int busy;                /* cached and handed out */
	unsigned char *blob;     /* the last decoded bytea */
	struct pg_stmt *next;    /* the connection's cached list */
};

struct pg_conn {
	struct tb_sql base;
	PGconn *pg;
	struct pg_stmt *cached;
	int nprepared;
	int64_t changes;
	char sqlstate[6];
	char err[512];
};

static struct pg_conn *pgc(struct tb_sql *c)
{
	return (struct pg_conn *)c;
}

static struct pg_stmt *pgs(struct tb_stmt *st)
{
	return (struct pg_stmt *)st;
}

/* Copies libpq's message without its trailing newline. */
static void pg_set_err(struct pg_conn *pc, const char *state, const char *m)
{
	size_t n;

	snprintf(pc->sqlstate, sizeof(pc->sqlstate), "%s", state ? state : "");
	snprintf(pc->err, sizeof(pc->err), "%s", m ? m : "unknown error");
	n = strlen(pc->err);
	while (n && (pc->err[n - 1] == '\n' || pc->err[n - 1] == ' '))
		pc->err[--n] = '\0';
}

static int pg_code(const char *state, int connection_bad)
{
	if (connection_bad)
		return TB_EAGAIN;
	if (!state || !state[0])
		return TB_EIO;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "08", 2) == 0)
		return TB_EAGAIN;
	if (strncmp(state, "23", 2) == 0)
		return TB_ECONFLICT;
	if (strcmp(state, "53200") == 0)
		return TB_ENOMEM;
	return TB_EIO;
}

/* The err.h code for a failed result (or NULL: out of memory or a lost
 * connection), remembering why. Clears res. */
static int pg_fail(struct pg_conn *pc, PGresult *res)
{
	int bad = PQstatus(pc->pg) == CONNECTION_BAD;

	if (res)
		pg_set_err(pc, PQresultErrorField(res, PG_DIAG_SQLSTATE),
			   PQresultErrorMessage(res));
	else
		pg_set_err(pc, bad ? "08006" : "", PQerrorMessage(pc->pg));
	PQclear(res);
	return pg_code(pc->sqlstate, bad);
}

/* A broken connection (PostgreSQL restarted, a network cut) is made again
 * before the next statement; its prepared statements went with it. */
static void pg_revive(struct pg_conn *pc)
{
	if (PQstatus(pc->pg) != CONNECTION_BAD)
		return;
	PQreset(pc->pg);
	for (struct pg_stmt *s = pc->cached; s; s = s->next)
		s->name[0] = '\0';
}

static void pg_stmt_free(struct pg_stmt *s)
{
	if (!s)
		return;
	for (int i = 0; s->vals && i < s->nparams; i++)
		tb_free(s->vals[i]);
	tb_free(s->vals);
	tb_free(s->lens);
	tb_free(s->fmts);
	tb_free(s->types);
	tb_free(s->used);
	PQclear(s->res);
	tb_free(s->blob);
	tb_free(s->sql);
	tb_free(s->orig);
	tb_free(s);
}

static void pg_drain(struct pg_stmt *s);

static int pg_prepare(struct tb_sql *c, const char *sql, int flags,
		      struct tb_stmt **out)
{
	struct pg_conn *pc = pgc(c);
	struct pg_stmt *s;
	int n = 0;

	pg_revive(pc);
	if (flags & TB_SQL_CACHED) {
		for (s = pc->cached; s; s = s->next) {
			if (!s->busy && strcmp(s->orig, sql) == 0) {
				pg_drain(s);
				for (int i = 0; i < s->nparams; i++) {
					tb_free(s->vals[i]);
					s->vals[i] = NULL;
					s->fmts[i] = 0;
				}
				s->busy = 1;
				*out = &s->base;
				return TB_OK;
			}
		}
	}
	s = tb_calloc(1, sizeof(*s));
	if (!s)
		return TB_ENOMEM;
	s->base.c = c;
	s->base.flags = flags;
	s->orig = tb_strdup(sql);
	s->used = tb_calloc(PG_MAXPARAMS, 1);
	s->sql = s->used ? tb_pg_sql(sql, &n, s->used, PG_MAXPARAMS) : NULL;
	if (n > PG_MAXPARAMS) {
		pg_set_err(pc, "", "too many parameters");
		pg_stmt_free(s);
		return TB_EIO;
	}
	s->nparams = n;
	if (n) {
		s->vals = tb_calloc((size_t)n, sizeof(*s->vals));
		s->lens = tb_calloc((size_t)n, sizeof(*s->lens));
		s->fmts = tb_calloc((size_t)n, sizeof(*s->fmts));
		s->types = tb_calloc((size_t)n, sizeof(*s->types));
	}
	if (!s->orig || !s->sql ||
	    (n && (!s->vals || !s->lens || !s->fmts || !s->types))) {
		pg_stmt_free(s);
		return TB_ENOMEM;
	}
	for (int i = 0; i < n; i++)
		s->types[i] = TEXTOID;
	if (flags & TB_SQL_CACHED) {
		s->busy = 1;
		s->next = pc->cached;
		pc->cached = s;
	}
	*out = &s->base;
	return TB_OK;
}

/* Parameter i (from 1) set to len bytes of p (copied), or NULL. */
static int pg_bind(struct tb_stmt *st, int i, const void *p, size_t len,
		   int binary)
{
	struct pg_stmt *s = pgs(st);
	char *v = NULL;

	if (i < 1 || i > s->nparams)
		return TB_OK; /* not in this SQL: nothing to bind (as SQLite's
				 SQLITE_RANGE, which the SQLite side ignores) */
	if (p) {
		v = tb_malloc(len + 1);
		if (!v)
			return TB_ENOMEM;
		memcpy(v, p, len);
		v[len] = '\0';
	}
	tb_free(s->vals[i - 1]);
	s->vals[i - 1] = v;
	s->lens[i - 1] = (int)len;
	s->fmts[i - 1] = binary;
	/* a parameter the SQL leaves out (WHERE id = ?2 with ?1 bound) has
	 * nothing to infer its type from: text, or PostgreSQL refuses the
	 * statement ("could not determine data type of parameter $1") */
	s->types[i - 1] = binary ? BYTEAOID : s->used[i - 1] ? 0 : TEXTOID;
	return TB_OK;
}

static int pg_bind_int64(struct tb_stmt *st, int i, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", (long long)v);

	return pg_bind(st, i, num, (size_t)n, 0);
}

static int pg_bind_text(struct tb_stmt *st, int i, const char *s, int len)
{
	return pg_bind(st, i, s, len < 0 ? strlen(s) : (size_t)len, 0);
}

static int pg_bind_blob(struct tb_stmt *st, int i, const void *p, size_t n)
{
	return pg_bind(st, i, n ? p : "", n, 1);
}

static int pg_bind_null(struct tb_stmt *st, int i)
{
	return pg_bind(st, i, NULL, 0, 0);
}

static int pg_bind_count(struct tb_stmt *st)
{
	return pgs(st)->nparams;
}

/* Reads what a streaming statement still has coming, so the connection
 * is free again. */
static void pg_drain(struct pg_stmt *s)
{
	PGconn *pg = pgc(s->base.c)->pg;
	PGresult *r;

	PQclear(s->res);
	s->res = NULL;
	if (s->streaming) {
		PQrequestCancel(pg);
		while ((r = PQgetResult(pg)) != NULL)
			PQclear(r);
		s->streaming = 0;
	}
	s->running = 0;
	s->row = s->nrows = 0;
}

/* A result: rows to read, or done (with the rows changed), or a failure. */
static int pg_result(struct pg_stmt *s, PGresult *r)
{
	struct pg_conn *pc = pgc(s->base.c);

	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
	case PGRES_SINGLE_TUPLE:
		s->res = r;
		s->nrows = PQntuples(r);
		s->row = -1;
		return TB_OK;
	case PGRES_COMMAND_OK:
		pc->changes = strtoll(PQcmdTuples(r), NULL, 10);
		s->res = r;
		s->nrows = 0;
		s->row = -1;
		return TB_OK;
	default:
		return pg_fail(pc, r);
	}
}

static int pg_run(struct pg_stmt *s)
{
	struct pg_conn *pc = pgc(s->base.c);
	const char *const *vals = (const char *const *)s->vals;
	PGresult *r;

	pg_revive(pc);
	if (s->base.flags & TB_SQL_STREAM) {
		if (!PQsendQueryParams(pc->pg, s->sql, s->nparams, s->types,
				       vals, s->lens, s->fmts, 0))
			return pg_fail(pc, NULL);
		if (!PQsetSingleRowMode(pc->pg)) {
			s->streaming = 1;
			pg_drain(s);
			pg_set_err(pc, "", "cannot stream the rows");
			return TB_EIO;
		}
		s->streaming = 1;
		s->running = 1;
		s->row = s->nrows = 0;
		return TB_OK;
	}
	if (s->base.flags & TB_SQL_CACHED) {
		if (!s->name[0]) {
			char name[24];

			snprintf(name, sizeof(name), "tb%d", ++pc->nprepared);
			r = PQprepare(pc->pg, name, s->sql, s->nparams,
				      s->types);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				return pg_fail(pc, r);
			PQclear(r);
			memcpy(s->name, name, sizeof(name));
		}
		r = PQexecPrepared(pc->pg, s->name, s->nparams, vals, s->lens,
				   s->fmts, 0);
	} else {
		r = PQexecParams(pc->pg, s->sql, s->nparams, s->types, vals,
				 s->lens, s->fmts, 0);
	}
	if (!r)
		return pg_fail(pc, NULL);
	s->running = 1;
	return pg_result(s, r);
}

static int pg_step(struct tb_stmt *st)
{
	struct pg_stmt *s = pgs(st);
	int rc;

	if (!s->running) {
		rc = pg_run(s);
		if (rc < 0) {
			s->running = 0;
			return rc;
		}
	}
	if (!s->streaming) {
		if (!s->res)
			return TB_SQL_DONE;
		if (++s->row < s->nrows)
			return TB_SQL_ROW;
		return TB_SQL_DONE;
	}
	/* streaming: one result per row, then the end, then NULL */
	PQclear(s->res);
	s->res = PQgetResult(pgc(st->c)->pg);
	if (!s->res) {
		s->streaming = 0;
		return TB_SQL_DONE;
	}
	if (PQresultStatus(s->res) == PGRES_SINGLE_TUPLE) {
		s->row = 0;
		s->nrows = 1;
		return TB_SQL_ROW;
	}
	if (PQresultStatus(s->res) == PGRES_TUPLES_OK ||
	    PQresultStatus(s->res) == PGRES_COMMAND_OK) {
		PQclear(s->res);
		s->res = NULL;
		pg_drain(s);
		s->running = 1; /* done until reset */
		return TB_SQL_DONE;
	}
	rc = pg_fail(pgc(st->c), s->res);
	s->res = NULL;
	pg_drain(s);
	return rc;
}

static int pg_column_count(struct tb_stmt *st)
{
	return pgs(st)->res ? PQnfields(pgs(st)->res) : 0;
}

static int pg_has(struct pg_stmt *s, int i)
{
	return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 &&
	       i < PQnfields(s->res);
}

static int pg_column_null(struct tb_stmt *st, int i)
{
	struct pg_stmt *s = pgs(st);

	return !pg_has(s, i) || PQgetisnull(s->res, s->row, i);
}

static const char *pg_column_text(struct tb_stmt *st, int i)
{
	struct pg_stmt *s = pgs(st);

	if (pg_column_null(st, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static int64_t pg_column_int64(struct tb_stmt *st, int i)
{
	const char *v = pg_column_text(st, i);

	if (!v)
		return 0;
	if (v[0] == 't' && !v[1])
		return 1; /* a boolean */
	return strtoll(v, NULL, 10);
}

static const void *pg_column_blob(struct tb_stmt *st, int i, size_t *n)
{
	struct pg_stmt *s = pgs(st);
	const char *v = pg_column_text(st, i);
	size_t len;

	*n = 0;
	if (!v)
		return NULL;
	len = strlen(v);
	if (len < 2 || v[0] != '\\' || v[1] != 'x') {
		*n = len; /* a text column read as bytes */
		return v;
	}
	tb_free(s->blob);
	s->blob = tb_malloc(len / 2 + 1);
	if (!s->blob)
		return NULL;
	*n = tb_pg_unhex(v + 2, len - 2, s->blob);
	return s->blob;
}

static void pg_reset(struct tb_stmt *st)
{
	struct pg_stmt *s = pgs(st);

	pg_drain(s);
	if (st->flags & TB_SQL_CACHED)
		s->busy = 0;
}

static void pg_clear_bindings(struct tb_stmt *st)
{
	struct pg_stmt *s = pgs(st);

	for (int i = 0; i < s->nparams; i++) {
		tb_free(s->vals[i]);
		s->vals[i] = NULL;
		s->fmts[i] = 0;
		s->types[i] = TEXTOID;
	}
}

static void pg_finalize(struct tb_stmt *st)
{
	pg_drain(pgs(st));
	pg_stmt_free(pgs(st));
}

static int pg_exec(struct tb_sql *c, const char *sql, char *msg,
		   size_t msglen)
{
	struct pg_conn *pc = pgc(c);
	PGresult *r;
	int rc;

	pg_revive(pc);
	/* SQLite's write transaction: PostgreSQL locks rows as it writes */
	if (strncmp(sql, "BEGIN IMMEDIATE", 15) == 0) {
		size_t n = strlen(sql) - 15;
		char *t = tb_malloc(n + 6);

		if (!t)
			return TB_ENOMEM;
		snprintf(t, n + 6, "BEGIN%s", sql + 15);
		r = PQexec(pc->pg, t);
		tb_free(t);
	} else {
		r = PQexec(pc->pg, sql);
	}
	if (r && (PQresultStatus(r) == PGRES_COMMAND_OK ||
		  PQresultStatus(r) == PGRES_TUPLES_OK)) {
		pc->changes = strtoll(PQcmdTuples(r), NULL, 10);
		PQclear(r);
		return TB_OK;
	}
	rc = pg_fail(pc, r);
	if (msg && msglen)
		snprintf(msg, msglen, "database: %s", pc->err);
	return rc;
}

static int64_t pg_changes(struct tb_sql *c)
{
	return pgc(c)->changes;
}

static const char *pg_errmsg(struct tb_sql *c)
{
	return pgc(c)->err;
}

static char *pg_reason(struct tb_sql *c, char *buf, size_t len)
{
	struct pg_conn *pc = pgc(c);
	const char *s = pc->sqlstate;

	if (strcmp(s, "53100") == 0)
		snprintf(buf, len, "disk full: %s", pc->err);
	else if (strncmp(s, "08", 2) == 0 || PQstatus(pc->pg) == CONNECTION_BAD)
		snprintf(buf, len, "database unreachable (%s)", pc->err);
	else if (pg_code(s, 0) == TB_EAGAIN)
		snprintf(buf, len, "busy (%s)", pc->err);
	else
		snprintf(buf, len, "database error %s (%s)", s, pc->err);
	return buf;
}

static int pg_begin(struct tb_sql *c, int write)
{
	return pg_exec(c, write ? "BEGIN" :
			   "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		       NULL, 0);
}

static int pg_in_txn(struct tb_sql *c)
{
	return PQtransactionStatus(pgc(c)->pg) != PQTRANS_IDLE;
}

static int pg_lock_key(struct tb_sql *c, const char *key)
{
	struct tb_stmt *st = NULL;
	int rc = pg_prepare(c, "SELECT pg_advisory_xact_lock("
			    "hashtextextended(?1, 0))", TB_SQL_CACHED, &st);

	if (rc == TB_OK)
		rc = pg_bind_text(st, 1, key, -1);
	if (rc == TB_OK)
		rc = pg_step(st);
	if (st)
		pg_reset(st);
	return rc < 0 ? rc : TB_OK;
}

static void pg_close(struct tb_sql *c)
{
	struct pg_conn *pc = pgc(c);
	struct pg_stmt *s = pc->cached, *next;

	for (; s; s = next) {
		next = s->next;
		pg_stmt_free(s);
	}
	PQfinish(pc->pg);
	tb_free(pc);
}

static const struct tb_sql_ops pg_ops = {
	.prepare = pg_prepare,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.bind_count = pg_bind_count,
	.step = pg_step,
	.column_count = pg_column_count,
	.column_null = pg_column_null,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.reset = pg_reset,
	.clear_bindings = pg_clear_bindings,
	.finalize = pg_finalize,
	.exec = pg_exec,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.reason = pg_reason,
	.begin = pg_begin,
	.in_txn = pg_in_txn,
	.lock_key = pg_lock_key,
	.close = pg_close,
};

/* The connection as a person may read it: no password. */
static void pg_name(struct pg_conn *pc)
{
	const char *host = PQhost(pc->pg);

	snprintf(pc->base.name, sizeof(pc->base.name),
		 "postgresql://%s@%s%s%s/%s", PQuser(pc->pg),
		 host && host[0] == '/' ? "" : host ? host : "",
		 PQport(pc->pg)[0] ? ":" : "", PQport(pc->pg), PQdb(pc->pg));
}

int tb_sql_open_pg(const char *url, struct tb_sql **out, char *msg,
		   size_t msglen)
{
	/* later keywords win: the URL's own connect_timeout overrides 10 */
	const char *const keys[] = {"connect_timeout", "application_name",
				    "client_encoding", "dbname", NULL};
	const char *const vals[] = {"10", "tienbo-server", "UTF8", url, NULL};
	struct pg_conn *pc;
	char safe[300];

	*out = NULL;
	tb_pg_url_safe(url, safe, sizeof(safe));
	pc = tb_calloc(1, sizeof(*pc));
	if (!pc) {
		snprintf(msg, msglen, "%s: out of memory", safe);
		return TB_ENOMEM;
	}
	pc->base.ops = &pg_ops;
	pc->base.backend = TB_SQL_PG;
	pc->pg = PQconnectdbParams(keys, vals, 1);
	if (!pc->pg || PQstatus(pc->pg) != CONNECTION_OK) {
		char why[400];

		snprintf(why, sizeof(why), "%s",
			 pc->pg ? PQerrorMessage(pc->pg) : "out of memory");
		why[strcspn(why, "\n")] = '\0';
		snprintf(msg, msglen, "%s: cannot connect to PostgreSQL: %s",
			 safe, why);
		PQfinish(pc->pg);
		tb_free(pc);
		return TB_EAGAIN;
	}
	pg_name(pc);
	*out = &pc->base;
	return TB_OK;
}
