/* rollup.c - report roll-ups kept by triggers (see rollup.h for the tables
 * and why).
 *
 * The SQL is generated from the event model's field tables, so a count
 * field added to an activity kind gets its column without an edit here;
 * the list of columns is the layout fingerprint stored in report_meta,
 * and a database whose fingerprint differs is rebuilt from its events.
 *
 * Each trigger statement reads the event body with json_extract: SQLite
 * parses a body once per trigger run for all the fields its statements
 * take, but every lookup walks the body's keys, so a column is read only
 * for the kinds that have its field (sql_count).
 * A row whose kind the model does not know is skipped (never an error: a
 * trigger failing would fail the merge).
 *
 * Reading: a period is cut into runs of whole years, whole months and days
 * (scan_split), and each school's rows in every run come from one UNION
 * ALL query of index ranges on (school, key): the tables are keyed school
 * first so that writes stay local (see rollup.h), and a report pays one
 * query per school instead.
 */
#include "server/rollup.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"

#define LAYOUT_VERSION 4

/* ---- layout ------------------------------------------------------------ */

struct layout {
	size_t ncols;
	const char *cols[TB_ROLLUP_MAXCOLS];
	unsigned col_kinds[TB_ROLLUP_MAXCOLS]; /* bit 1 << kind: has the field */
	size_t nsnap;
	int snap[TB_FIELDS_MAX]; /* snapshot field indexes (count, bool) */
	const char *snap_names[TB_FIELDS_MAX];
};

static struct layout L;
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static void layout_build(void)
{
	const struct tb_field *f;
	size_t n, i, j;

	for (int k = 0; k < TB_KIND_COUNT; k++) {
		if (k == TB_KIND_SNAPSHOT)
			continue;
		f = tb_kind_fields((enum tb_kind)k, &n);
		for (i = 0; i < n; i++) {
			if (f[i].type != TB_FT_COUNT)
				continue;
			for (j = 0; j < L.ncols; j++)
				if (strcmp(L.cols[j], f[i].name) == 0)
					break;
			if (j == L.ncols && L.ncols < TB_ROLLUP_MAXCOLS)
				L.cols[L.ncols++] = f[i].name;
			if (j < L.ncols)
				L.col_kinds[j] |= 1u << k;
		}
	}
	f = tb_kind_fields(TB_KIND_SNAPSHOT, &n);
	for (i = 0; i < n && L.nsnap < TB_FIELDS_MAX; i++) {
		if (f[i].type != TB_FT_COUNT && f[i].type != TB_FT_BOOL)
			continue;
		L.snap[L.nsnap] = (int)i;
		L.snap_names[L.nsnap++] = f[i].name;
	}
}

static const struct layout *layout(void)
{
	pthread_once(&layout_once, layout_build);
	return &L;
}

size_t tb_rollup_ncols(void)
{
	return layout()->ncols;
}

int tb_rollup_col(const char *field)
{
	const struct layout *l = layout();

	for (size_t i = 0; field && i < l->ncols; i++)
		if (strcmp(l->cols[i], field) == 0)
			return (int)i;
	return -1;
}

/* ---- SQL text ---------------------------------------------------------- */

struct sb {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt,
			      ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap : 1024);
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *np = tb_realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static const char *const tables[3] = {"report_day", "report_month",
				      "report_year"};
static const char *const keys[3] = {"day", "month", "year"};
static const char *const divisors[3] = {"", " / 100", " / 10000"};

/* The kind's number for row alias x, NULL for an unknown kind. */
static void sql_kind(struct sb *b, const char *x)
{
	sb_add(b, "(CASE %s.kind", x);
	for (int k = 0; k < TB_KIND_COUNT; k++)
		sb_add(b, " WHEN '%s' THEN %d", tb_kind_name((enum tb_kind)k), k);
	sb_add(b, " END)");
}

static void sql_key(struct sb *b, const char *x, int t)
{
	sb_add(b, "(CAST(replace(%s.date, '-', '') AS INTEGER)%s)", x,
	       divisors[t]);
}

/* Count column i of row x: the field from the body for the kinds that
 * have it, 0 for the others without looking into the body (each lookup
 * walks the body's keys; an outreach event has 4 of the 9 fields). */
static void sql_count(struct sb *b, const char *x, size_t i)
{
	const struct layout *l = layout();
	const char *sep = "";

	sb_add(b, "(CASE WHEN %s.kind IN (", x);
	for (int k = 0; k < TB_KIND_COUNT; k++) {
		if (!(l->col_kinds[i] & (1u << k)))
			continue;
		sb_add(b, "%s'%s'", sep, tb_kind_name((enum tb_kind)k));
		sep = ", ";
	}
	sb_add(b, ") THEN coalesce(CAST(json_extract(%s.body, '$.%s') AS "
	       "INTEGER), 0) ELSE 0 END)", x, l->cols[i]);
}

/* Adds row x to table t (trigger body). */
static void sql_add(struct sb *b, int t, const char *x)
{
	const struct layout *l = layout();
	size_t i;

	sb_add(b, "INSERT INTO %s(kind, %s, school, n", tables[t], keys[t]);
	for (i = 0; i < l->ncols; i++)
		sb_add(b, ", c_%s", l->cols[i]);
	sb_add(b, ") SELECT ");
	sql_kind(b, x);
	sb_add(b, ", ");
	sql_key(b, x, t);
	sb_add(b, ", %s.school, 1", x);
	for (i = 0; i < l->ncols; i++) {
		sb_add(b, ", ");
		sql_count(b, x, i);
	}
	sb_add(b, " WHERE %s.voided = 0 AND ", x);
	sql_kind(b, x);
	sb_add(b, " IS NOT NULL ON CONFLICT(school, %s, kind) DO UPDATE SET"
	       " n = n + excluded.n", keys[t]);
	for (i = 0; i < l->ncols; i++)
		sb_add(b, ", c_%s = c_%s + excluded.c_%s", l->cols[i],
		       l->cols[i], l->cols[i]);
	sb_add(b, ";\n");
}

static void sql_row_where(struct sb *b, int t, const char *x)
{
	sb_add(b, " WHERE %s.voided = 0 AND kind = ", x);
	sql_kind(b, x);
	sb_add(b, " AND %s = ", keys[t]);
	sql_key(b, x, t);
	sb_add(b, " AND school = %s.school", x);
}

/* Takes row x out of table t (trigger body). */
static void sql_sub(struct sb *b, int t, const char *x)
{
	const struct layout *l = layout();

	sb_add(b, "UPDATE %s SET n = n - 1", tables[t]);
	for (size_t i = 0; i < l->ncols; i++) {
		sb_add(b, ", c_%s = c_%s - ", l->cols[i], l->cols[i]);
		sql_count(b, x, i);
	}
	sql_row_where(b, t, x);
	sb_add(b, ";\nDELETE FROM %s", tables[t]);
	sql_row_where(b, t, x);
	sb_add(b, " AND n <= 0;\n");
}

static void sql_snap_values(struct sb *b, const char *x)
{
	const struct layout *l = layout();

	sb_add(b, "%s.id, %s.school, ", x, x);
	sql_key(b, x, 0);
	sb_add(b, ", coalesce(%s.recorded_at, 0)", x);
	for (size_t i = 0; i < l->nsnap; i++)
		sb_add(b, ", CAST(json_extract(%s.body, '$.%s') AS INTEGER)", x,
		       l->snap_names[i]);
}

static void sql_snap_cols(struct sb *b)
{
	const struct layout *l = layout();

	sb_add(b, "id, school, day, recorded_at");
	for (size_t i = 0; i < l->nsnap; i++)
		sb_add(b, ", s_%s", l->snap_names[i]);
}

static void sql_add_all(struct sb *b, const char *x)
{
	for (int t = 0; t < 3; t++)
		sql_add(b, t, x);
	sb_add(b, "INSERT OR REPLACE INTO report_snap(");
	sql_snap_cols(b);
	sb_add(b, ") SELECT ");
	sql_snap_values(b, x);
	sb_add(b, " WHERE %s.voided = 0 AND %s.kind = '%s';\n", x, x,
	       tb_kind_name(TB_KIND_SNAPSHOT));
}

static void sql_sub_all(struct sb *b, const char *x)
{
	for (int t = 0; t < 3; t++)
		sql_sub(b, t, x);
	sb_add(b, "DELETE FROM report_snap WHERE school = %s.school AND day = ",
	       x);
	sql_key(b, x, 0);
	sb_add(b, " AND recorded_at = coalesce(%s.recorded_at, 0) AND id = %s.id;\n",
	       x, x);
}

static void sql_drop(struct sb *b)
{
	sb_add(b, "DROP TRIGGER IF EXISTS report_ev_insert;\n"
		  "DROP TRIGGER IF EXISTS report_ev_delete;\n"
		  "DROP TRIGGER IF EXISTS report_ev_update;\n"
		  "DROP TABLE IF EXISTS report_day;\n"
		  "DROP TABLE IF EXISTS report_month;\n"
		  "DROP TABLE IF EXISTS report_year;\n"
		  "DROP TABLE IF EXISTS report_snap;\n");
}

static void sql_create(struct sb *b)
{
	const struct layout *l = layout();
	size_t i;

	sb_add(b, "CREATE TABLE IF NOT EXISTS report_meta(key TEXT PRIMARY KEY,"
		  " value TEXT NOT NULL);\n");
	for (int t = 0; t < 3; t++) {
		sb_add(b, "CREATE TABLE %s(kind INTEGER NOT NULL, %s INTEGER NOT"
		       " NULL, school TEXT NOT NULL, n INTEGER NOT NULL",
		       tables[t], keys[t]);
		for (i = 0; i < l->ncols; i++)
			sb_add(b, ", c_%s INTEGER NOT NULL", l->cols[i]);
		sb_add(b, ", PRIMARY KEY(school, %s, kind)) WITHOUT ROWID;\n",
		       keys[t]);
	}
	sb_add(b, "CREATE TABLE report_snap(id TEXT NOT NULL, school TEXT"
		  " NOT NULL, day INTEGER NOT NULL, recorded_at INTEGER NOT NULL");
	for (i = 0; i < l->nsnap; i++)
		sb_add(b, ", s_%s INTEGER", l->snap_names[i]);
	sb_add(b, ", PRIMARY KEY(school, day, recorded_at, id)) WITHOUT"
		  " ROWID;\n");
	sb_add(b, "CREATE TRIGGER report_ev_insert AFTER INSERT ON events"
		  " BEGIN\n");
	sql_add_all(b, "NEW");
	sb_add(b, "END;\nCREATE TRIGGER report_ev_delete AFTER DELETE ON events"
		  " BEGIN\n");
	sql_sub_all(b, "OLD");
	sb_add(b, "END;\nCREATE TRIGGER report_ev_update AFTER UPDATE OF"
		  " school, kind, date, voided, body ON events BEGIN\n");
	sql_sub_all(b, "OLD");
	sql_add_all(b, "NEW");
	sb_add(b, "END;\n");
}

/* Fills the empty roll-ups from the events table. */
static void sql_fill(struct sb *b)
{
	const struct layout *l = layout();
	size_t i;

	sb_add(b, "INSERT INTO report_day(kind, day, school, n");
	for (i = 0; i < l->ncols; i++)
		sb_add(b, ", c_%s", l->cols[i]);
	sb_add(b, ") SELECT ");
	sql_kind(b, "e");
	sb_add(b, ", ");
	sql_key(b, "e", 0);
	sb_add(b, ", e.school, count(*)");
	for (i = 0; i < l->ncols; i++) {
		sb_add(b, ", sum(");
		sql_count(b, "e", i);
		sb_add(b, ")");
	}
	sb_add(b, " FROM events e WHERE e.voided = 0 AND ");
	sql_kind(b, "e");
	sb_add(b, " IS NOT NULL GROUP BY 1, 2, 3;\n");
	for (int t = 1; t < 3; t++) {
		sb_add(b, "INSERT INTO %s SELECT kind, %s / 100, school, sum(n)",
		       tables[t], keys[t - 1]);
		for (i = 0; i < l->ncols; i++)
			sb_add(b, ", sum(c_%s)", l->cols[i]);
		sb_add(b, " FROM %s GROUP BY 1, 2, 3;\n", tables[t - 1]);
	}
	sb_add(b, "INSERT INTO report_snap(");
	sql_snap_cols(b);
	sb_add(b, ") SELECT ");
	sql_snap_values(b, "e");
	sb_add(b, " FROM events e WHERE e.voided = 0 AND e.kind = '%s';\n",
	       tb_kind_name(TB_KIND_SNAPSHOT));
}

static void fingerprint(struct sb *b)
{
	const struct layout *l = layout();
	size_t i;

	sb_add(b, "rollup %d; kinds", LAYOUT_VERSION);
	for (int k = 0; k < TB_KIND_COUNT; k++)
		sb_add(b, " %s", tb_kind_name((enum tb_kind)k));
	sb_add(b, "; c");
	for (i = 0; i < l->ncols; i++)
		sb_add(b, " %s", l->cols[i]);
	sb_add(b, "; s");
	for (i = 0; i < l->nsnap; i++)
		sb_add(b, " %s", l->snap_names[i]);
}

/* ---- init -------------------------------------------------------------- */

/* 1 if the stored fingerprint is fp and the three triggers exist. */
static int up_to_date(sqlite3 *db, const char *fp)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "SELECT (SELECT value FROM report_meta WHERE"
			       " key = 'rollup') = ?1 AND (SELECT count(*) FROM"
			       " sqlite_master WHERE type = 'trigger' AND name"
			       " IN ('report_ev_insert', 'report_ev_delete',"
			       " 'report_ev_update')) = 3", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_ROW &&
		     sqlite3_column_int(st, 0) == 1;
	}
	sqlite3_finalize(st);
	return ok;
}

static int rebuild(sqlite3 *db, int only_if_stale, char *msg, size_t msglen)
{
	struct sb fp = {0}, sql = {0};
	sqlite3_stmt *st = NULL;
	int rc;

	fingerprint(&fp);
	sql_drop(&sql);
	sql_create(&sql);
	sql_fill(&sql);
	if (fp.oom || sql.oom) {
		rc = TB_ENOMEM;
		goto out;
	}
	if (only_if_stale && up_to_date(db, fp.p)) {
		rc = TB_OK;
		goto out;
	}
	rc = tb_db_exec(db, "BEGIN IMMEDIATE", msg, msglen);
	if (rc < 0)
		goto out;
	if (only_if_stale && up_to_date(db, fp.p)) { /* another process did */
		rc = tb_db_exec(db, "COMMIT", msg, msglen);
		goto out;
	}
	rc = tb_db_exec(db, sql.p, msg, msglen);
	if (rc == TB_OK &&
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO report_meta(key, value)"
			       " VALUES('rollup', ?1)", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, fp.p, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = tb_db_err(sqlite3_errcode(db));
	} else if (rc == TB_OK) {
		rc = tb_db_err(sqlite3_errcode(db));
	}
	if (rc == TB_OK)
		rc = tb_db_exec(db, "COMMIT", msg, msglen);
	else if (msg && msglen && !msg[0])
		snprintf(msg, msglen, "report roll-ups: %s", sqlite3_errmsg(db));
	if (rc < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(st);
	tb_free(fp.p);
	tb_free(sql.p);
	return rc;
}

int tb_rollup_init(sqlite3 *db, char *msg, size_t msglen)
{
	if (msg && msglen)
		msg[0] = '\0';
	return rebuild(db, 1, msg, msglen);
}

int tb_rollup_rebuild(sqlite3 *db, char *msg, size_t msglen)
{
	if (msg && msglen)
		msg[0] = '\0';
	return rebuild(db, 0, msg, msglen);
}

/* ---- reading ----------------------------------------------------------- */

static int32_t ymd_key_day(int64_t key)
{
	return tb_date_from_ymd((int)(key / 10000), (int)(key / 100 % 100),
				(int)(key % 100));
}

/* The first and last day a row of table t with this key covers. */
static void key_days(int t, int64_t key, int32_t *first, int32_t *last)
{
	int y, m;

	if (t == 0) {
		*first = *last = ymd_key_day(key);
	} else if (t == 1) {
		y = (int)(key / 100);
		m = (int)(key % 100);
		*first = tb_date_from_ymd(y, m, 1);
		*last = tb_date_from_ymd(y, m, tb_days_in_month(y, m));
	} else {
		*first = tb_date_from_ymd((int)key, 1, 1);
		*last = tb_date_from_ymd((int)key, 12, 31);
	}
}

/* A run of whole years (t = 2), whole months (1) or days (0): keys. */
struct range {
	int t;
	int64_t lo, hi;
};
#define MAX_RANGES 8

struct scan {
	sqlite3 *db;
	sqlite3_stmt *st; /* every run of one school, one UNION ALL */
	unsigned kinds;
	uint32_t cols;
	tb_rollup_fn fn;
	void *arg;
	size_t n;
	struct range r[MAX_RANGES];
};

static int scan_prepare(struct scan *s)
{
	const struct layout *l = layout();
	struct sb b = {0};
	int rc = TB_OK;

	for (size_t g = 0; g < s->n; g++) {
		int t = s->r[g].t;

		sb_add(&b, "%sSELECT %d, %s, kind, n", g ? " UNION ALL " : "",
		       t, keys[t]);
		for (size_t i = 0; i < l->ncols; i++)
			if (s->cols & (1u << i))
				sb_add(&b, ", c_%s", l->cols[i]);
		sb_add(&b, " FROM %s WHERE school = ?1 AND %s BETWEEN ?%zu AND"
		       " ?%zu", tables[t], keys[t], 2 * g + 2, 2 * g + 3);
	}
	if (b.oom)
		rc = TB_ENOMEM;
	else if (s->n &&
		 sqlite3_prepare_v2(s->db, b.p, -1, &s->st, NULL) != SQLITE_OK)
		rc = tb_db_err(sqlite3_errcode(s->db));
	tb_free(b.p);
	return rc;
}

/* The rows of one school in every run. */
static int scan_school(struct scan *s, const char *school, size_t idx)
{
	const struct layout *l = layout();
	sqlite3_stmt *st = s->st;
	struct tb_rollup_row r;
	int src, k, t, rc = TB_OK;

	memset(&r, 0, sizeof(r));
	r.school = idx;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, school, -1, SQLITE_STATIC);
	for (size_t g = 0; g < s->n; g++) {
		sqlite3_bind_int64(st, (int)(2 * g + 2), s->r[g].lo);
		sqlite3_bind_int64(st, (int)(2 * g + 3), s->r[g].hi);
	}
	while (rc == TB_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		k = sqlite3_column_int(st, 2);
		if (k < 0 || k >= TB_KIND_COUNT || !(s->kinds & (1u << k)))
			continue;
		t = sqlite3_column_int(st, 0);
		r.kind = (enum tb_kind)k;
		key_days(t, sqlite3_column_int64(st, 1), &r.first, &r.last);
		r.n = sqlite3_column_int64(st, 3);
		for (size_t i = 0, c = 4; i < l->ncols; i++)
			if (s->cols & (1u << i))
				r.c[i] = sqlite3_column_int64(st, (int)c++);
		rc = s->fn(s->arg, &r);
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = tb_db_err(src);
	sqlite3_reset(st);
	return rc;
}

static int64_t day_key(int32_t d)
{
	int y, m, dd;

	tb_date_to_ymd(d, &y, &m, &dd);
	return (int64_t)y * 10000 + m * 100 + dd;
}

static int32_t month_end(int y, int m)
{
	return tb_date_from_ymd(y, m, tb_days_in_month(y, m));
}

/* Adds a run; one that follows a run of the same table in time extends
 * it (between yyyymmdd keys of consecutive days, or yyyymm keys of
 * consecutive months, lie only keys no row has), saving a query per
 * school. */
static void add_range(struct scan *s, int t, int64_t lo, int64_t hi)
{
	if (s->n && s->r[s->n - 1].t == t) {
		s->r[s->n - 1].hi = hi;
		return;
	}
	if (s->n < MAX_RANGES) {
		s->r[s->n].t = t;
		s->r[s->n].lo = lo;
		s->r[s->n].hi = hi;
		s->n++;
	}
}

/* Splits [from, to] into runs of whole years, whole months and days:
 * at most days, months, years, months, days (5 runs). */
static void scan_split(struct scan *s, int32_t from, int32_t to,
		       int months_only)
{
	int32_t c = from;

	while (c <= to && s->n < MAX_RANGES) {
		int y, m, d, y2, m2;

		tb_date_to_ymd(c, &y, &m, &d);
		if (!months_only && m == 1 && d == 1 &&
		    tb_date_from_ymd(y, 12, 31) <= to) {
			for (y2 = y; y2 < TB_YEAR_MAX &&
				     tb_date_from_ymd(y2 + 1, 12, 31) <= to;
			     y2++)
				;
			add_range(s, 2, y, y2);
			c = tb_date_from_ymd(y2, 12, 31) + 1;
		} else if (d == 1 && month_end(y, m) <= to) {
			y2 = y;
			m2 = m;
			for (;;) { /* up to December unless months_only */
				int ny = m2 == 12 ? y2 + 1 : y2;
				int nm = m2 == 12 ? 1 : m2 + 1;

				if ((!months_only && ny != y) ||
				    ny > TB_YEAR_MAX || month_end(ny, nm) > to)
					break;
				y2 = ny;
				m2 = nm;
			}
			add_range(s, 1, (int64_t)y * 100 + m,
				  (int64_t)y2 * 100 + m2);
			c = month_end(y2, m2) + 1;
		} else {
			int32_t e = month_end(y, m);

			if (e > to)
				e = to;
			add_range(s, 0, day_key(c), day_key(e));
			c = e + 1;
		}
	}
}

int tb_rollup_scan(sqlite3 *db, int32_t from, int32_t to, unsigned kinds,
		   uint32_t cols, const char *const *schools, size_t nschools,
		   int months_only, tb_rollup_fn fn, void *arg)
{
	struct scan s;
	int32_t lo = tb_date_from_ymd(TB_YEAR_MIN, 1, 1);
	int32_t hi = tb_date_from_ymd(TB_YEAR_MAX, 12, 31);
	int rc;

	memset(&s, 0, sizeof(s));
	s.db = db;
	s.kinds = kinds;
	s.cols = cols;
	s.fn = fn;
	s.arg = arg;
	if (from < lo)
		from = lo;
	if (to > hi)
		to = hi;
	scan_split(&s, from, to, months_only);
	rc = scan_prepare(&s);
	for (size_t i = 0; rc == TB_OK && s.n && i < nschools; i++)
		rc = scan_school(&s, schools[i], i);
	sqlite3_finalize(s.st);
	return rc;
}

struct tb_rollup_snaps {
	sqlite3_stmt *st;
	int col[TB_FIELDS_MAX]; /* field index -> result column, or -1 */
};

int tb_rollup_snaps_open(sqlite3 *db, struct tb_rollup_snaps **out)
{
	const struct layout *l = layout();
	struct tb_rollup_snaps *s;
	struct sb b = {0};
	int rc = TB_OK;

	*out = NULL;
	s = tb_calloc(1, sizeof(*s));
	if (!s)
		return TB_ENOMEM;
	for (size_t f = 0; f < TB_FIELDS_MAX; f++)
		s->col[f] = -1;
	sb_add(&b, "SELECT day");
	for (size_t i = 0; i < l->nsnap; i++) {
		sb_add(&b, ", s_%s", l->snap_names[i]);
		s->col[l->snap[i]] = (int)i + 1;
	}
	sb_add(&b, " FROM report_snap WHERE school = ?1 AND day <= ?2 ORDER BY"
	       " day DESC, recorded_at DESC, id DESC");
	if (b.oom)
		rc = TB_ENOMEM;
	else if (sqlite3_prepare_v2(db, b.p, -1, &s->st, NULL) != SQLITE_OK)
		rc = tb_db_err(sqlite3_errcode(db));
	tb_free(b.p);
	if (rc < 0) {
		tb_rollup_snaps_close(s);
		return rc;
	}
	*out = s;
	return TB_OK;
}

/* Takes want w from the current row if the row gives all of it. */
static int take(const struct tb_rollup_snaps *s, const struct tb_rollup_want *w,
		struct tb_rollup_got *g)
{
	int c[2];

	for (int j = 0; j < w->n; j++) {
		c[j] = w->field[j] >= 0 && w->field[j] < TB_FIELDS_MAX
			       ? s->col[w->field[j]]
			       : -1;
		if (c[j] < 0 || sqlite3_column_type(s->st, c[j]) == SQLITE_NULL)
			return 0;
	}
	for (int j = 0; j < w->n; j++)
		g->v[j] = sqlite3_column_int64(s->st, c[j]);
	g->found = 1;
	return 1;
}

int tb_rollup_latest(struct tb_rollup_snaps *s, const char *school,
		     int32_t upto, const struct tb_rollup_want *want,
		     const unsigned char *active, size_t n,
		     struct tb_rollup_got *got)
{
	sqlite3_stmt *st = s->st;
	size_t left = 0;
	int src = SQLITE_DONE, rc = TB_OK;

	for (size_t i = 0; i < n; i++) {
		memset(&got[i], 0, sizeof(got[i]));
		left += active[i] && want[i].n > 0;
	}
	if (!left || upto < tb_date_from_ymd(TB_YEAR_MIN, 1, 1))
		return TB_OK;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, school, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, day_key(upto));
	while (left && (src = sqlite3_step(st)) == SQLITE_ROW)
		for (size_t i = 0; i < n; i++)
			if (active[i] && want[i].n > 0 && !got[i].found &&
			    take(s, &want[i], &got[i]))
				left--;
	if (left && src != SQLITE_DONE)
		rc = tb_db_err(src);
	sqlite3_reset(st);
	return rc;
}

void tb_rollup_snaps_close(struct tb_rollup_snaps *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->st);
	tb_free(s);
}
