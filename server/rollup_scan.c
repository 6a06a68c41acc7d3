/* rollup_scan.c - reading the report roll-ups: the sums of a period per
 * school (tb_rollup_scan) and the newest snapshot figures of a school
 * (tb_rollup_snaps_*), see rollup.h. Called by server/report.c.
 *
 * A period is cut into runs of whole years, whole months and days
 * (scan_split), and each school's rows in every run come from one UNION
 * ALL query of index ranges on (school, key): the tables are keyed school
 * first so that writes stay local (see rollup.h), and a report pays one
 * query per school instead. In process (SQLite) a query costs
 * microseconds; on PostgreSQL each is a round trip (10,000 schools took
 * 7-18 s, bench_report), so there one query takes SCAN_CHUNK schools at
 * once (school = ANY(array)) and names each row's school, found again in
 * the chunk by binary search.
 */
#include "server/sql.h"
#include "server/rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/rollup_layout.h"

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
#define SCAN_CHUNK 1000 /* schools per query on PostgreSQL */

/* A school of the chunk: its code and its index in the caller's list. */
struct chunk_school {
	const char *code;
	size_t idx;
};

struct scan {
	struct tb_sql *db;
	struct tb_stmt *st; /* every run of one school, one UNION ALL */
	unsigned kinds;
	uint32_t cols;
	tb_rollup_fn fn;
	void *arg;
	size_t n;
	struct range r[MAX_RANGES];
	int many;            /* PostgreSQL: a chunk of schools per query */
	struct chunk_school *chunk; /* SCAN_CHUNK, sorted by code */
	size_t nchunk;
};

static int scan_prepare(struct scan *s)
{
	const struct rollup_layout *l = rollup_layout();
	struct rollup_sb b = {0};
	int rc = TB_OK;

	for (size_t g = 0; g < s->n; g++) {
		int t = s->r[g].t;

		rollup_sb_add(&b, "%sSELECT %d, %s, kind, n, coalesce(f, 0)",
		       g ? " UNION ALL " : "", t, rollup_keys[t]);
		for (size_t i = 0; i < l->ncols; i++)
			if (s->cols & (1u << i))
				rollup_sb_add(&b, ", c_%s", l->cols[i]);
		if (s->many)
			rollup_sb_add(&b, ", school");
		rollup_sb_add(&b, " FROM %s WHERE %s AND %s BETWEEN ?%zu AND"
		       " ?%zu", rollup_tables[t], s->many
		       ? "school = ANY(CAST(?1 AS text[]))" : "school = ?1",
		       rollup_keys[t], 2 * g + 2, 2 * g + 3);
	}
	if (b.oom)
		rc = TB_ENOMEM;
	else if (s->n)
		rc = tb_sql_prepare(s->db, b.buf.p, 0, &s->st);
	tb_buf_free(&b.buf);
	return rc;
}

static int chunk_cmp(const void *a, const void *b)
{
	return strcmp(((const struct chunk_school *)a)->code,
		      ((const struct chunk_school *)b)->code);
}

/* The caller's index of the row's school (the last column), or -1. */
static long chunk_find(const struct scan *s, const char *code)
{
	struct chunk_school key = {code, 0};
	const struct chunk_school *hit;

	if (!code)
		return -1;
	hit = bsearch(&key, s->chunk, s->nchunk, sizeof(*s->chunk),
		      chunk_cmp);
	return hit ? (long)hit->idx : -1;
}

/* The rows of st, already bound and run, for school idx (or, s->many, the
 * school each row names). */
static int scan_rows(struct scan *s, size_t idx)
{
	const struct rollup_layout *l = rollup_layout();
	struct tb_stmt *st = s->st;
	struct tb_rollup_row r;
	int src, k, t, rc = TB_OK;
	int last = 5;

	memset(&r, 0, sizeof(r));
	r.school = idx;
	for (size_t i = 0; i < l->ncols; i++)
		last += (s->cols & (1u << i)) != 0;
	while (rc == TB_OK && (src = tb_sql_step(st)) == TB_SQL_ROW) {
		k = (int)tb_sql_column_int64(st, 2);
		if (k < 0 || k >= TB_KIND_COUNT || !(s->kinds & (1u << k)))
			continue;
		if (s->many) {
			long i = chunk_find(s, tb_sql_column_text(st, last));

			if (i < 0)
				continue;
			r.school = (size_t)i;
		}
		t = (int)tb_sql_column_int64(st, 0);
		r.kind = (enum tb_kind)k;
		key_days(t, tb_sql_column_int64(st, 1), &r.first, &r.last);
		r.n = tb_sql_column_int64(st, 3);
		r.arrived = tb_sql_column_int64(st, 4);
		for (size_t i = 0, c = 5; i < l->ncols; i++)
			if (s->cols & (1u << i))
				r.c[i] = tb_sql_column_int64(st, (int)c++);
		rc = s->fn(s->arg, &r);
	}
	if (rc == TB_OK && src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	tb_sql_reset(st);
	return rc;
}

static void bind_ranges(struct scan *s)
{
	for (size_t g = 0; g < s->n; g++) {
		tb_sql_bind_int64(s->st, (int)(2 * g + 2), s->r[g].lo);
		tb_sql_bind_int64(s->st, (int)(2 * g + 3), s->r[g].hi);
	}
}

/* The rows of one school in every run. */
static int scan_school(struct scan *s, const char *school, size_t idx)
{
	tb_sql_reset(s->st);
	tb_sql_bind_text(s->st, 1, school, -1);
	bind_ranges(s);
	return scan_rows(s, idx);
}

/* The rows of schools [from, from + n) in every run, in one query: the
 * codes as a PostgreSQL array literal (unit codes are letters, digits,
 * '-' and '_'; quoted all the same). */
static int scan_chunk(struct scan *s, const char *const *schools,
		      size_t from, size_t n)
{
	struct tb_buf a = TB_BUF_INIT;
	int rc = tb_buf_putc(&a, '{');

	for (size_t i = 0; i < n; i++) {
		s->chunk[i].code = schools[from + i];
		s->chunk[i].idx = from + i;
	}
	for (size_t i = 0; rc == TB_OK && i < n; i++) {
		const char *c = schools[from + i];

		rc = tb_buf_puts(&a, i ? ",\"" : "\"");
		for (; rc == TB_OK && *c; c++)
			rc = (*c == '"' || *c == '\\')
				     ? tb_buf_printf(&a, "\\%c", *c)
				     : tb_buf_putc(&a, *c);
		if (rc == TB_OK)
			rc = tb_buf_putc(&a, '"');
	}
	if (rc == TB_OK)
		rc = tb_buf_putc(&a, '}');
	s->nchunk = n;
	qsort(s->chunk, n, sizeof(*s->chunk), chunk_cmp);
	if (rc == TB_OK) {
		tb_sql_reset(s->st);
		tb_sql_bind_text(s->st, 1, a.p, (int)a.len);
		bind_ranges(s);
		rc = scan_rows(s, 0);
	}
	tb_buf_free(&a);
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

int tb_rollup_scan(struct tb_sql *db, int32_t from, int32_t to, unsigned kinds,
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
	s.many = tb_sql_backend(db) == TB_SQL_PG && nschools > 1;
	if (s.many) {
		s.chunk = tb_calloc(SCAN_CHUNK, sizeof(*s.chunk));
		if (!s.chunk)
			return TB_ENOMEM;
	}
	rc = scan_prepare(&s);
	for (size_t i = 0; rc == TB_OK && s.n && i < nschools;) {
		size_t n = s.many ? nschools - i : 1;

		if (n > SCAN_CHUNK)
			n = SCAN_CHUNK;
		rc = s.many ? scan_chunk(&s, schools, i, n)
			    : scan_school(&s, schools[i], i);
		i += n;
	}
	tb_sql_finalize(s.st);
	tb_free(s.chunk);
	return rc;
}

struct tb_rollup_snaps {
	struct tb_stmt *st;
	int col[TB_FIELDS_MAX]; /* field index -> result column, or -1 */
};

int tb_rollup_snaps_open(struct tb_sql *db, struct tb_rollup_snaps **out)
{
	const struct rollup_layout *l = rollup_layout();
	struct tb_rollup_snaps *s;
	struct rollup_sb b = {0};
	int rc = TB_OK;

	*out = NULL;
	s = tb_calloc(1, sizeof(*s));
	if (!s)
		return TB_ENOMEM;
	for (size_t f = 0; f < TB_FIELDS_MAX; f++)
		s->col[f] = -1;
	rollup_sb_add(&b, "SELECT day");
	for (size_t i = 0; i < l->nsnap; i++) {
		rollup_sb_add(&b, ", s_%s", l->snap_names[i]);
		s->col[l->snap[i]] = (int)i + 1;
	}
	/* ids in byte order, as SQLite sorts them, on PostgreSQL too */
	rollup_sb_add(&b, " FROM report_snap WHERE school = ?1 AND day <= ?2 ORDER BY"
	       " day DESC, recorded_at DESC, id%s DESC",
	       tb_sql_backend(db) == TB_SQL_PG ? " COLLATE \"C\"" : "");
	if (b.oom)
		rc = TB_ENOMEM;
	else
		rc = tb_sql_prepare(db, b.buf.p, 0, &s->st);
	tb_buf_free(&b.buf);
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
		if (c[j] < 0 || tb_sql_column_null(s->st, c[j]))
			return 0;
	}
	for (int j = 0; j < w->n; j++)
		g->v[j] = tb_sql_column_int64(s->st, c[j]);
	g->found = 1;
	return 1;
}

int tb_rollup_latest(struct tb_rollup_snaps *s, const char *school,
		     int32_t upto, const struct tb_rollup_want *want,
		     const unsigned char *active, size_t n,
		     struct tb_rollup_got *got)
{
	struct tb_stmt *st = s->st;
	size_t left = 0;
	int src = TB_SQL_DONE, rc = TB_OK;

	for (size_t i = 0; i < n; i++) {
		memset(&got[i], 0, sizeof(got[i]));
		left += active[i] && want[i].n > 0;
	}
	if (!left || upto < tb_date_from_ymd(TB_YEAR_MIN, 1, 1))
		return TB_OK;
	tb_sql_reset(st);
	tb_sql_bind_text(st, 1, school, -1);
	tb_sql_bind_int64(st, 2, day_key(upto));
	while (left && (src = tb_sql_step(st)) == TB_SQL_ROW)
		for (size_t i = 0; i < n; i++)
			if (active[i] && want[i].n > 0 && !got[i].found &&
			    take(s, &want[i], &got[i]))
				left--;
	if (left && src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	tb_sql_reset(st);
	return rc;
}

void tb_rollup_snaps_close(struct tb_rollup_snaps *s)
{
	if (!s)
		return;
	tb_sql_finalize(s->st);
	tb_free(s);
}
