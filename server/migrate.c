/* migrate.c - `tienbo-server migrate-store` (see migrate.h).
 *
 * The tables are the store's (server/db.c tb_db_tables, in an order
 * their foreign keys allow), each with its columns as the source's
 * catalogue gives them (table_read): the declared type says how a value
 * is read and bound, and the identity column (INTEGER PRIMARY KEY) gets
 * its PostgreSQL sequence set after the copy. units refers to
 * itself (a school names its district and province, a district its
 * province) and both backends check a foreign key at the end of each
 * statement, so its rows are read provinces first, then districts, then
 * schools (table_order).
 *
 * Memory: the source is read with TB_SQL_STREAM (a row at a time on
 * PostgreSQL; SQLite steps a cursor anyway) and at most one INSERT's rows
 * are held, so 2,000,000 events cost what 33 do. Each INSERT carries as
 * many rows as fit in MIGRATE_MAXPARAMS parameters (sql_pg.c's limit),
 * prepared once per table (TB_SQL_CACHED) and run again per batch.
 *
 * One target transaction: a failure anywhere before the commit leaves
 * the target as it was (and an SQLite file this run made is removed). On
 * PostgreSQL the tables are locked (EXCLUSIVE: readers go on) before the
 * emptiness check, so a server writing to the target meanwhile makes the
 * copy wait or fail busy, never mix.
 *
 * The check after the commit reads the target again: per table count(*)
 * and a digest (the sum of a 64-bit hash of every row's values, so the
 * order rows come back in does not matter) against what was read from
 * the source; the cursors one by one; the reports as JSON. The source's
 * snapshot is held to the end, so its reports see exactly what was
 * copied, whatever a running server has merged since.
 */
#include "server/migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/backup.h"
#include "server/db.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_cli.h"
#include "server/report_out.h"
#include "server/settings.h"
#include "server/sql.h"

#define MIGRATE_MAXCOLS 24
#define MIGRATE_MAXPARAMS 400 /* server/sql_pg.c PG_MAXPARAMS */
#define MIGRATE_MAXROWS 64

enum mtype { MT_INT, MT_TEXT, MT_BLOB };

struct mcol {
	char name[32];
	enum mtype type;
	int identity; /* INTEGER PRIMARY KEY */
};

struct mtable {
	char name[32];
	size_t ncols;
	struct mcol col[MIGRATE_MAXCOLS];
};

struct mschema {
	size_t n;
	struct mtable t[TB_MIGRATE_MAXTABLES];
};

/* ---- the tables, from the store itself ------------------------------ */

/* Each table's columns as the source store has them, from its catalogue:
 * the declared type (INTEGER, TEXT, BLOB on SQLite; bigint, text, bytea
 * on PostgreSQL) says how a value is read and bound, and the identity
 * column (SQLite's INTEGER PRIMARY KEY, PostgreSQL's identity) gets its
 * sequence set after the copy. */
static int table_read(struct tb_sql *db, struct mtable *t, const char *name)
{
	const char *sql = tb_sql_backend(db) == TB_SQL_PG
		? "SELECT column_name, upper(data_type), is_identity = 'YES'"
		  " FROM information_schema.columns WHERE table_schema ="
		  " current_schema() AND table_name = ?1 ORDER BY"
		  " ordinal_position"
		: "SELECT name, upper(type), pk = 1 AND upper(type) ="
		  " 'INTEGER' FROM pragma_table_info(?1) ORDER BY cid";
	struct tb_stmt *st = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	rc = tb_sql_prepare(db, sql, 0, &st);
	if (rc == TB_OK)
		rc = tb_sql_bind_text(st, 1, name, -1);
	while (rc == TB_OK && (rc = tb_sql_step(st)) == TB_SQL_ROW) {
		const char *col = tb_sql_column_text(st, 0);
		const char *type = tb_sql_column_text(st, 1);
		struct mcol *c;

		rc = TB_OK;
		if (t->ncols == MIGRATE_MAXCOLS || !col || !type) {
			rc = TB_EIO;
			break;
		}
		c = &t->col[t->ncols++];
		snprintf(c->name, sizeof(c->name), "%s", col);
		c->type = strstr(type, "INT") ? MT_INT
			  : strcmp(type, "BLOB") == 0 ||
					  strcmp(type, "BYTEA") == 0
				  ? MT_BLOB
				  : MT_TEXT;
		c->identity = tb_sql_column_int64(st, 2) != 0;
	}
	tb_sql_finalize(st);
	if (rc == TB_SQL_DONE)
		rc = t->ncols ? TB_OK : TB_EIO;
	return rc;
}

static int schema_read(struct tb_sql *db, struct mschema *s, char *msg,
		       size_t msglen)
{
	const char *const *names = tb_db_tables();

	memset(s, 0, sizeof(*s));
	for (; *names && s->n < TB_MIGRATE_MAXTABLES; names++) {
		int rc = table_read(db, &s->t[s->n], *names);

		if (rc < 0) {
			snprintf(msg, msglen, "migrate-store: %s: cannot read "
				 "the columns of table %s (%s)", tb_sql_name(db),
				 *names, tb_sql_errmsg(db));
			return rc;
		}
		s->n++;
	}
	return TB_OK;
}

int tb_migrate_tables(char names[][32], size_t max)
{
	const char *const *t = tb_db_tables();
	size_t n = 0;

	for (; n < max && t[n]; n++)
		snprintf(names[n], 32, "%s", t[n]);
	return (int)n;
}

/* ---- SQL text -------------------------------------------------------- */

/* SQL text, growing: the first failed append sets oom and the rest do
 * nothing, so a builder checks once (sb_take). */
struct sb {
	struct tb_buf buf;
	int oom;
};

static void sb_add(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;

	if (b->oom)
		return;
	va_start(ap, fmt);
	b->oom = tb_buf_vprintf(&b->buf, fmt, ap) < 0;
	va_end(ap);
}

/* NULL when out of memory, else the text (free it). */
static char *sb_take(struct sb *b)
{
	if (b->oom) {
		tb_buf_free(&b->buf);
		return NULL;
	}
	return b->buf.p;
}

static const char *table_order(const char *table)
{
	/* parents first: see the top of this file */
	if (strcmp(table, "units") == 0)
		return "CASE type WHEN 'province' THEN 0 WHEN 'district' THEN 1"
		       " ELSE 2 END, code";
	return NULL;
}

static void sb_cols(struct sb *b, const struct mtable *t)
{
	for (size_t c = 0; c < t->ncols; c++)
		sb_add(b, "%s%s", c ? ", " : "", t->col[c].name);
}

static char *select_sql(const struct mtable *t)
{
	struct sb b = {0};
	const char *order = table_order(t->name);

	sb_add(&b, "SELECT ");
	sb_cols(&b, t);
	sb_add(&b, " FROM %s", t->name);
	if (order)
		sb_add(&b, " ORDER BY %s", order);
	return sb_take(&b);
}

static char *insert_sql(const struct mtable *t, size_t rows)
{
	struct sb b = {0};

	sb_add(&b, "INSERT INTO %s(", t->name);
	sb_cols(&b, t);
	sb_add(&b, ") VALUES ");
	for (size_t r = 0; r < rows; r++) {
		sb_add(&b, "%s(", r ? ", " : "");
		for (size_t c = 0; c < t->ncols; c++)
			sb_add(&b, "%s?", c ? ", " : "");
		sb_add(&b, ")");
	}
	return sb_take(&b);
}

/* ---- reading and hashing rows ---------------------------------------- */

struct mval {
	int null;
	int64_t i;
	char *p; /* text (NUL-terminated) or blob bytes, owned */
	size_t n;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The row's hash, mixed (so a sum of them is a fair digest). */
static uint64_t row_hash(const struct mtable *t, const struct mval *v)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t c = 0; c < t->ncols; c++) {
		unsigned char tag = v[c].null ? 0 : (unsigned char)(1 + t->col[c].type);
		uint64_t n = v[c].n;

		h = fnv(h, &tag, 1);
		if (v[c].null)
			continue;
		if (t->col[c].type == MT_INT) {
			h = fnv(h, &v[c].i, sizeof(v[c].i));
		} else {
			h = fnv(h, &n, sizeof(n));
			h = fnv(h, v[c].p, v[c].n);
		}
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static void vals_clear(struct mval *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		tb_free(v[i].p);
		memset(&v[i], 0, sizeof(v[i]));
	}
}

/* The current row of st into v (copies). */
static int row_read(struct tb_stmt *st, const struct mtable *t,
		    struct mval *v)
{
	for (size_t c = 0; c < t->ncols; c++) {
		const void *p = NULL;
		size_t n = 0;

		memset(&v[c], 0, sizeof(v[c]));
		v[c].null = tb_sql_column_null(st, (int)c);
		if (v[c].null)
			continue;
		if (t->col[c].type == MT_INT) {
			v[c].i = tb_sql_column_int64(st, (int)c);
			continue;
		}
		if (t->col[c].type == MT_BLOB) {
			p = tb_sql_column_blob(st, (int)c, &n);
		} else {
			p = tb_sql_column_text(st, (int)c);
			n = p ? strlen(p) : 0;
		}
		v[c].p = tb_malloc(n + 1);
		if (!v[c].p)
			return TB_ENOMEM;
		if (n)
			memcpy(v[c].p, p, n);
		v[c].p[n] = '\0';
		v[c].n = n;
	}
	return TB_OK;
}

static int bind_val(struct tb_stmt *st, int i, const struct mcol *c,
		    const struct mval *v)
{
	if (v->null)
		return tb_sql_bind_null(st, i);
	if (c->type == MT_INT)
		return tb_sql_bind_int64(st, i, v->i);
	if (c->type == MT_BLOB)
		return tb_sql_bind_blob(st, i, v->p, v->n);
	return tb_sql_bind_text(st, i, v->p, (int)v->n);
}

/* ---- the copy -------------------------------------------------------- */

struct copy {
	struct tb_sql *src, *dst;
	const struct mtable *t;
	struct tb_stmt *full;  /* INSERT of `per` rows */
	size_t per, held;
	struct mval *v;        /* [per * ncols] */
	int64_t rows;
	uint64_t digest;
	char *msg;
	size_t msglen;
};

/* Writes the rows held in one INSERT. */
static int copy_flush(struct copy *k)
{
	struct tb_stmt *st = k->full, *tail = NULL;
	size_t nc = k->t->ncols;
	int rc = TB_OK;

	if (!k->held)
		return TB_OK;
	if (k->held < k->per) {
		char *sql = insert_sql(k->t, k->held);

		rc = sql ? tb_sql_prepare(k->dst, sql, 0, &tail) : TB_ENOMEM;
		tb_free(sql);
		st = tail;
	}
	for (size_t i = 0; rc == TB_OK && i < k->held * nc; i++)
		rc = bind_val(st, (int)i + 1, &k->t->col[i % nc], &k->v[i]);
	if (rc == TB_OK)
		rc = tb_sql_step(st);
	if (rc == TB_SQL_DONE)
		rc = TB_OK;
	else
		rc = tb_sql_err(rc);
	if (rc < 0)
		snprintf(k->msg, k->msglen, "%s: cannot write %s: %s",
			 tb_sql_name(k->dst), k->t->name, tb_sql_errmsg(k->dst));
	if (st)
		tb_sql_reset(st);
	tb_sql_finalize(tail);
	vals_clear(k->v, k->held * nc);
	k->held = 0;
	return rc;
}

static int copy_table(struct copy *k)
{
	size_t nc = k->t->ncols;
	char *sel = select_sql(k->t), *ins;
	struct tb_stmt *st = NULL;
	int rc;

	k->per = MIGRATE_MAXPARAMS / nc;
	if (k->per > MIGRATE_MAXROWS)
		k->per = MIGRATE_MAXROWS;
	ins = insert_sql(k->t, k->per);
	k->v = tb_calloc(k->per * nc, sizeof(*k->v));
	k->held = 0;
	k->rows = 0;
	k->digest = 0;
	rc = sel && ins && k->v ? TB_OK : TB_ENOMEM;
	if (rc == TB_OK &&
	    (rc = tb_sql_prepare(k->dst, ins, TB_SQL_CACHED, &k->full)) < 0)
		snprintf(k->msg, k->msglen, "%s: cannot write %s: %s",
			 tb_sql_name(k->dst), k->t->name, tb_sql_errmsg(k->dst));
	if (rc == TB_OK &&
	    (rc = tb_sql_prepare(k->src, sel, TB_SQL_STREAM, &st)) < 0)
		snprintf(k->msg, k->msglen, "%s: cannot read %s: %s",
			 tb_sql_name(k->src), k->t->name, tb_sql_errmsg(k->src));
	while (rc == TB_OK && (rc = tb_sql_step(st)) == TB_SQL_ROW) {
		struct mval *row = &k->v[k->held * nc];

		rc = row_read(st, k->t, row);
		if (rc < 0)
			break;
		k->digest += row_hash(k->t, row);
		k->rows++;
		if (++k->held == k->per)
			rc = copy_flush(k);
	}
	if (rc == TB_SQL_DONE)
		rc = copy_flush(k);
	else if (rc > 0 || (rc < 0 && !k->msg[0])) {
		snprintf(k->msg, k->msglen, "%s: cannot read %s: %s",
			 tb_sql_name(k->src), k->t->name, tb_sql_errmsg(k->src));
		rc = tb_sql_err(rc);
	}
	tb_sql_finalize(st);
	tb_sql_finalize(k->full); /* cached: only reset */
	k->full = NULL;
	if (k->v)
		vals_clear(k->v, k->per * nc);
	tb_free(k->v);
	k->v = NULL;
	tb_free(sel);
	tb_free(ins);
	return rc;
}

/* The count and digest of a table as the connection reads it now. */
static int table_digest(struct tb_sql *c, const struct mtable *t,
			int64_t *rows, uint64_t *digest)
{
	struct mval v[MIGRATE_MAXCOLS];
	char *sel = select_sql(t);
	struct tb_stmt *st = NULL;
	int rc = sel ? tb_sql_prepare(c, sel, TB_SQL_STREAM, &st) : TB_ENOMEM;

	*rows = 0;
	*digest = 0;
	while (rc == TB_OK && (rc = tb_sql_step(st)) == TB_SQL_ROW) {
		rc = row_read(st, t, v);
		if (rc == TB_OK) {
			*digest += row_hash(t, v);
			++*rows;
		}
		vals_clear(v, t->ncols);
	}
	tb_sql_finalize(st);
	tb_free(sel);
	return rc == TB_SQL_DONE ? TB_OK : tb_sql_err(rc);
}

static int count_rows(struct tb_sql *c, const char *table, int64_t *n)
{
	char sql[96];
	struct tb_stmt *st = NULL;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	rc = tb_sql_prepare(c, sql, 0, &st);
	if (rc == TB_OK)
		rc = tb_sql_step(st);
	*n = rc == TB_SQL_ROW ? tb_sql_column_int64(st, 0) : 0;
	tb_sql_finalize(st);
	return rc == TB_SQL_ROW ? TB_OK : tb_sql_err(rc);
}

/* Inside the target's write transaction: refused unless every table is
 * empty, with what it holds. */
static int target_empty(struct tb_sql *dst, const struct mschema *s,
			char *msg, size_t msglen)
{
	struct sb b = {0};
	int64_t n;
	int rc = TB_OK;

	if (tb_sql_backend(dst) == TB_SQL_PG) {
		sb_add(&b, "LOCK TABLE ");
		for (size_t i = 0; i < s->n; i++)
			sb_add(&b, "%s%s", i ? ", " : "", s->t[i].name);
		sb_add(&b, " IN EXCLUSIVE MODE");
		rc = b.oom ? TB_ENOMEM : tb_sql_exec(dst, b.buf.p, msg, msglen);
		tb_buf_free(&b.buf);
		memset(&b, 0, sizeof(b));
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; rc == TB_OK && i < s->n; i++) {
		rc = count_rows(dst, s->t[i].name, &n);
		if (rc == TB_OK && n > 0)
			sb_add(&b, "%s%lld %s", b.buf.len ? ", " : "", (long long)n,
			       s->t[i].name);
	}
	if (rc < 0) {
		snprintf(msg, msglen, "%s: cannot read the target: %s",
			 tb_sql_name(dst), tb_sql_errmsg(dst));
	} else if (b.oom) {
		rc = TB_ENOMEM;
	} else if (b.buf.len) {
		snprintf(msg, msglen, "%s: the target is not empty: it holds "
			 "%s; migrate-store copies only into an empty store "
			 "(a new file, or a new database: createdb -O tienbo "
			 "NAME), and changed nothing", tb_sql_name(dst),
			 b.buf.p);
		rc = TB_ECONFLICT;
	}
	tb_buf_free(&b.buf);
	return rc;
}

/* PostgreSQL: each identity column's sequence past the largest id, so the
 * next enrolment does not collide with a copied one. */
static int set_sequences(struct tb_sql *dst, const struct mschema *s,
			 int *nseqs, char *msg, size_t msglen)
{
	*nseqs = 0;
	if (tb_sql_backend(dst) != TB_SQL_PG)
		return TB_OK;
	for (size_t i = 0; i < s->n; i++) {
		for (size_t c = 0; c < s->t[i].ncols; c++) {
			const char *tn = s->t[i].name, *cn = s->t[i].col[c].name;
			char sql[256];
			int rc;

			if (!s->t[i].col[c].identity)
				continue;
			snprintf(sql, sizeof(sql), "SELECT setval("
				 "pg_get_serial_sequence('%s', '%s'), "
				 "COALESCE(max(%s), 0) + 1, false) FROM %s",
				 tn, cn, cn, tn);
			rc = tb_sql_exec(dst, sql, msg, msglen);
			if (rc < 0)
				return rc;
			++*nseqs;
		}
	}
	return TB_OK;
}

/* ---- the run --------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int copy_all(struct tb_sql *src, struct tb_sql *dst,
		    const struct mschema *s, struct tb_migrate_result *r,
		    uint64_t *digests, char *msg, size_t msglen)
{
	struct copy k;
	int rc = target_empty(dst, s, msg, msglen);

	memset(&k, 0, sizeof(k));
	k.src = src;
	k.dst = dst;
	k.msg = msg;
	k.msglen = msglen;
	if (rc == TB_OK) {
		rc = tb_sql_begin(src, 0);
		if (rc < 0)
			snprintf(msg, msglen, "%s: cannot read a snapshot: %s",
				 tb_sql_name(src), tb_sql_errmsg(src));
	}
	for (size_t i = 0; rc == TB_OK && i < s->n; i++) {
		k.t = &s->t[i];
		msg[0] = '\0';
		rc = copy_table(&k);
		snprintf(r->t[i].name, sizeof(r->t[i].name), "%s", k.t->name);
		r->t[i].rows = k.rows;
		digests[i] = k.digest;
		r->ntables = i + 1;
	}
	if (rc == TB_OK)
		rc = set_sequences(dst, s, &r->seqs, msg, msglen);
	if (rc == TB_OK) {
		rc = tb_sql_commit(dst);
		if (rc < 0)
			snprintf(msg, msglen, "%s: the commit failed: %s",
				 tb_sql_name(dst), tb_sql_errmsg(dst));
	}
	return rc;
}

static int verify_all(struct tb_sql *src, struct tb_sql *dst,
		      const struct mschema *s, const struct tb_migrate_opts *o,
		      struct tb_migrate_result *r, const uint64_t *digests,
		      char *msg, size_t msglen)
{
	int rc = TB_OK;

	for (size_t i = 0; rc == TB_OK && i < s->n; i++) {
		int64_t n = 0;
		uint64_t d = 0;

		rc = table_digest(dst, &s->t[i], &n, &d);
		if (rc < 0)
			snprintf(msg, msglen, "%s: cannot read %s back: %s",
				 tb_sql_name(dst), s->t[i].name,
				 tb_sql_errmsg(dst));
		else if (n != r->t[i].rows || d != digests[i]) {
			snprintf(msg, msglen, "%s: %s differs from the source: "
				 "%lld rows copied, %lld read back%s",
				 tb_sql_name(dst), s->t[i].name,
				 (long long)r->t[i].rows, (long long)n,
				 n == r->t[i].rows ? ", with other values" : "");
			rc = TB_EIO;
		}
	}
	if (rc == TB_OK)
		rc = tb_migrate_cursors_equal(src, dst, &r->cursors, msg, msglen);
	if (rc == TB_OK && o->plans)
		rc = tb_migrate_reports_equal(src, dst, o, &r->reports, msg, msglen);
	return rc < 0 ? (rc == TB_EAGAIN ? rc : TB_EIO) : rc;
}

int tb_migrate_run(const struct tb_migrate_opts *o,
		   struct tb_migrate_result *r, char *msg, size_t msglen)
{
	struct tb_db_opts so, to;
	struct tb_sql *src = NULL, *dst = NULL;
	static struct mschema s;
	uint64_t digests[TB_MIGRATE_MAXTABLES] = {0};
	char why[400] = "";
	int rc, made = 0, committed = 0;
	long t0 = now_ms();

	memset(r, 0, sizeof(*r));
	msg[0] = '\0';
	if (strcmp(o->from, o->to) == 0) {
		snprintf(msg, msglen, "migrate-store: --from and --to are the "
			 "same store");
		return TB_EUSAGE;
	}
	memset(&so, 0, sizeof(so));
	if (o->db)
		so = *o->db;
	to = so;
	so.create = 0;
	so.readonly = 0;
	to.create = 1;
	to.readonly = 0;
	rc = tb_db_open(o->from, &so, &src, msg, msglen);
	if (rc == TB_OK)
		snprintf(r->from, sizeof(r->from), "%s", tb_sql_name(src));
	if (rc == TB_OK)
		rc = schema_read(src, &s, msg, msglen);
	/* the source's roll-ups made or refreshed as `report` does, before
	 * its snapshot (a read transaction cannot write them) */
	if (rc == TB_OK && o->plans &&
	    (rc = tb_report_init(src, why, sizeof(why))) < 0)
		snprintf(msg, msglen, "%s: cannot build the source's report "
			 "roll-ups (nothing was copied): %s", r->from, why);
	if (rc < 0)
		goto out;
	made = !tb_sql_is_url(o->to) && access(o->to, F_OK) != 0;
	rc = tb_db_open(o->to, &to, &dst, msg, msglen);
	if (rc < 0)
		goto out;
	snprintf(r->to, sizeof(r->to), "%s", tb_sql_name(dst));
	rc = tb_sql_begin(dst, 1);
	if (rc < 0)
		snprintf(msg, msglen, "%s: cannot begin a transaction: %s",
			 tb_sql_name(dst), tb_sql_errmsg(dst));
	if (rc == TB_OK)
		rc = copy_all(src, dst, &s, r, digests, msg, msglen);
	r->copy_ms = now_ms() - t0;
	if (rc < 0) {
		tb_sql_rollback(dst);
		goto out;
	}
	committed = 1;
	r->committed = 1;
	t0 = now_ms();
	rc = verify_all(src, dst, &s, o, r, digests, msg, msglen);
	r->verify_ms = now_ms() - t0;
	if (rc < 0)
		snprintf(msg + strlen(msg), msglen - strlen(msg), "; the copy "
			 "was committed: empty the target (drop and create the "
			 "database, or delete the file) before trying again");
out:
	if (src)
		tb_sql_rollback(src);
	tb_sql_close(src);
	tb_sql_close(dst);
	if (rc < 0 && !committed && made)
		tb_backup_remove_copy(o->to);
	return rc;
}
