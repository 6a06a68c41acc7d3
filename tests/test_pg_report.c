/* test_pg_report.c - the same numbers on SQLite and PostgreSQL: one
 * fixture merged into an SQLite file and into a fresh PostgreSQL database
 * through the server's own enrolment and batch merge (so the roll-up
 * triggers of both dialects, server/rollup.c, see what an upload does),
 * then every output compared byte for byte: every plan's report over
 * several periods and units as JSON (with detail: districts, Action
 * Month, stale units, completeness), CSV and HTML, the half-year series,
 * the unit search, and the export as JSON and CSV with each filter. The
 * roll-up tables themselves are compared too. The same after amendments and
 * voids (the update triggers) and after a rebuild (the fill), and two
 * servers filling one stale PostgreSQL database at once fill it once.
 * The merge's clock (arrival and contact times) is set to fixed times on
 * both after each merge (clocks_fixed).
 *
 * Runs as test_pg_report_pg on the ctest fixture's cluster: each run makes
 * its own database (helper_pg_newdb, Vietnamese ICU collation) and drops
 * it at the end (TB_KEEP keeps it). Without the fixture the test fails,
 * saying so: it is not skipped, so a run that was meant to prove
 * PostgreSQL cannot pass without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>

#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "common/mem.h"
#include "protocol/batch.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/export.h"
#include "server/org.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_http.h"
#include "server/report_out.h"
#include "server/report_search.h"
#include "server/rollup.h"
#include "server/sql.h"
#include "server/token.h"
#include "tests/helper_merge.h"
#include "tests/helper_pg.h"

#define NDIST 3
#define PER 6
#define NUNITS (NDIST * PER)
#define NOW 1767139200 /* 2025-12-31 00:00 UTC: the reports' "now" */

/* codes and names whose byte order (SQLite's) differs from a locale's
 * ('_' sorts before digits and letters in ICU's, after them in bytes;
 * ICU puts "trường An" before "Trường Ân", bytes the other way) */
static const char *const dist_codes[NDIST] = {"DA", "DB", "D_C"};
static const char *const dist_names[NDIST] = {"Huyện Đà Bắc", "huyện Lạc Sơn",
					      "Thành phố Hòa Bình"};
static const char *const levels[PER] = {"MN", "TH", "THCS", "THPT", "GDTX",
					"TH"};
static const char *const names[PER] = {
	"Trường Mầm non Ánh Dương", "trường Tiểu học An Bình",
	"Trường THCS Zũng", "Trường THPT Lạc Sơn", "TRUNG TÂM GDTX",
	"Trường Tiểu học Ân Nghĩa"};

static struct tb_plan_set *plans;
static struct tb_sql *lite, *pg;
static char tmpdir[64], litepath[128];
static char pgurl[600];
static int64_t next_seq[2][NUNITS]; /* lite, pg */
static char tokens[2][NUNITS][TB_TOKEN_LEN + 1]; /* lite, pg */
static char admin[2][TB_TOKEN_LEN + 1];           /* lite, pg */

/* ---- the fixture: a pure function of (unit, slot, revision) ----------- */

static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

static void code_of(int u, char *out, size_t len)
{
	if (u % PER == 4)
		snprintf(out, len, "S%c_4", 'A' + u / PER);
	else
		snprintf(out, len, "S%c%02d", 'A' + u / PER, u % PER);
}

/* Every field of e's kind: counts (a part at most its whole), booleans,
 * the required text; a snapshot when `partial` leaves some out. */
static void fill_fields(struct tb_event *e, int partial)
{
	const struct tb_field *f;
	char buf[32], msg[TB_MSG_LEN] = "";
	int64_t v[TB_FIELDS_MAX];
	size_t n;

	f = tb_kind_fields(e->kind, &n);
	for (size_t i = 0; i < n; i++) {
		int w = f[i].whole ? tb_field_index(e->kind, f[i].whole) : -1;

		v[i] = -1;
		if (f[i].type == TB_FT_TEXT && f[i].required)
			assert_int_equal(tb_event_set(e, f[i].name, "Tuyên truyền"
						      " bình đẳng giới", msg,
						      sizeof(msg)), 0);
		if (f[i].type != TB_FT_COUNT && f[i].type != TB_FT_BOOL)
			continue;
		if (!f[i].required && partial && rnd(3) == 0)
			continue;
		if (f[i].whole && (w < 0 || v[w] < 0))
			continue;
		v[i] = f[i].type == TB_FT_BOOL ? rnd(2)
		       : w >= 0		       ? rnd((uint32_t)v[w] + 1)
					       : 1 + rnd(60);
		snprintf(buf, sizeof(buf), "%lld", (long long)v[i]);
		if (f[i].type == TB_FT_BOOL)
			snprintf(buf, sizeof(buf), "%s", v[i] ? "yes" : "no");
		if (tb_event_set(e, f[i].name, buf, msg, sizeof(msg)))
			fail_msg("%s: %s", f[i].name, msg);
	}
}

/* Slot k of unit u (0 <= k < NSLOTS): kind and date. 0 if the unit has
 * nothing in that slot. */
#define NSLOTS 48
static int slot(int u, int k, enum tb_kind *kind, int32_t *date, int *am)
{
	int y = 2024 + k / 24, m = 1 + k % 24 / 2, second = k % 2;

	*am = 0;
	if (u % PER == 5)
		return 0; /* enrolled, never syncs */
	if (u == PER + 4 && !(m % 6 == 0 && !second))
		return 0; /* SB_4: snapshots only */
	if (m % 6 == 0 && !second) {
		*kind = TB_KIND_SNAPSHOT;
		*date = tb_date_from_ymd(y, m, 20);
	} else if (m >= 11 && second) {
		*kind = TB_KIND_ACTION_MONTH;
		*date = tb_date_from_ymd(y, m, m == 11 ? 16 + (k + u) % 14 :
						  1 + (k + u) % 14);
	} else if ((m == 4 || m == 10) && second) {
		*kind = TB_KIND_TRAINING;
		*date = tb_date_from_ymd(y, m, 1 + (u * 7 + k) % 28);
	} else if (m % 3 == 2 && second) {
		if ((u + k) % 5 == 0)
			return 0; /* a quarter without a post */
		*kind = TB_KIND_WEB_POST;
		*date = tb_date_from_ymd(y, m, 10);
	} else if (!second) {
		*kind = TB_KIND_OUTREACH;
		*date = tb_date_from_ymd(y, m, 1 + (u * 3 + k) % 28);
		*am = m == 11;
	} else {
		return 0;
	}
	return 1;
}

/* The event in slot k of unit u at revision rev (rev 3: voided). */
static int make_event(int u, int k, int rev, int64_t *seq, struct tb_event *e)
{
	char msg[TB_MSG_LEN] = "";
	enum tb_kind kind;
	int32_t date;
	int am;

	if (!slot(u, k, &kind, &date, &am))
		return 0;
	rnd_state = (uint32_t)(u * 1000 + k) * 4u + (uint32_t)(rev == 3 ? 2
									: rev);
	tb_event_init(e, kind);
	snprintf(e->id, sizeof(e->id), "00000000-0000-4000-8000-%06x%06x",
		 u, k);
	code_of(u, e->school, sizeof(e->school));
	e->date = date;
	e->revision = rev;
	e->recorded_at = (int64_t)date * 86400 + 3600 * rev;
	e->seq = ++*seq;
	fill_fields(e, kind == TB_KIND_SNAPSHOT && k % 3 == 1);
	if (am && tb_event_set(e, "occasion", "action-month", msg, sizeof(msg)))
		fail_msg("%s", msg);
	if (rev == 3) {
		e->voided = 1;
		e->void_reason = tb_strdup("nhập nhầm");
		assert_non_null(e->void_reason);
	}
	if (tb_event_validate(e, 0, msg, sizeof(msg)))
		fail_msg("fixture event %s: %s", e->id, msg);
	return 1;
}

/* Merges, per unit, revision 1 of every slot (pass 1), or amendments of
 * one slot in 7 and voids of one in 11 (pass 2). */
static void merge_pass(struct tb_sql *db, int pass)
{
	char msg[256] = "", code[8];

	for (int u = 0; u < NUNITS; u++) {
		struct tb_batch b;

		tb_batch_init(&b);
		for (int k = 0; k < NSLOTS; k++) {
			int rev = pass == 1 ? 1 : k % 7 == 3 ? 2
						: k % 11 == 5 ? 3 : 0;
			struct tb_event e;

			if (!rev || !make_event(u, k, rev, &next_seq[db == pg][u], &e))
				continue;
			assert_int_equal(tb_batch_add(&b, &e), 0);
			tb_event_clear(&e);
		}
		code_of(u, code, sizeof(code));
		if (helper_merge_batch(db, tokens[db == pg][u], code, u + 1, &b, msg,
				       sizeof(msg)))
			fail_msg("%s: %s (%s)", tb_sql_name(db), msg,
				 tb_sql_errmsg(db));
	}
}

static void exec_ok(struct tb_sql *db, const char *sql)
{
	char msg[512] = "";

	if (tb_sql_exec(db, sql, msg, sizeof(msg)))
		fail_msg("%s: %s: %s", tb_sql_name(db), sql, msg);
}

/* What each merge's own clock wrote, made the same on both: the arrival
 * of every event (0 to 19 days after it was recorded, so that some data
 * is on time and some late; setting the revision too runs the update
 * triggers, which move the first arrivals, f) and the last contact of
 * each device (the stale units of a report with detail). */
static void clocks_fixed(struct tb_sql *db)
{
	exec_ok(db, "UPDATE event_history SET received_at = recorded_at +"
		    " 86400 * (seq % 20)");
	exec_ok(db, "UPDATE events SET received_at = (SELECT h.received_at"
		    " FROM event_history h WHERE h.id = events.id AND"
		    " h.revision = events.revision), revision = revision");
	exec_ok(db, "UPDATE devices SET last_seen = 1767000000 - 1300000 * id");
	exec_ok(db, "UPDATE cursors SET updated_at = 1760000000");
}

/* Enrols every school, names the districts, closes a school, merges pass
 * 1 and fixes the merge's clocks. */
static void load(struct tb_sql *db)
{
	char msg[256] = "", code[8], sql[256];
	int64_t id;

	memset(next_seq[db == pg], 0, sizeof(next_seq[0]));
	if (tb_report_init(db, msg, sizeof(msg)))
		fail_msg("%s", msg);
	if (tb_auth_admin_new(db, admin[db == pg], &id))
		fail_msg("%s: admin token: %s", tb_sql_name(db),
			 tb_sql_errmsg(db));
	for (int u = 0; u < NUNITS; u++) {
		struct tb_org_school s = {code, names[u % PER], levels[u % PER],
					  dist_codes[u / PER], "PV"};

		code_of(u, code, sizeof(code));
		if (tb_auth_enroll(db, &s, tokens[db == pg][u], &id, msg, sizeof(msg)))
			fail_msg("%s", msg);
	}
	for (int i = 0; i < NDIST; i++) {
		snprintf(sql, sizeof(sql), "UPDATE units SET name = '%s' WHERE"
			 " code = '%s'", dist_names[i], dist_codes[i]);
		exec_ok(db, sql);
	}
	exec_ok(db, "INSERT INTO unit_closures VALUES('SB02', '2025-07-01',"
		    " NULL)");
	merge_pass(db, 1);
	clocks_fixed(db);
}

/* ---- outputs ------------------------------------------------------------ */

struct text {
	char *p;
	size_t n;
	FILE *f;
};

static FILE *text_open(struct text *t)
{
	memset(t, 0, sizeof(*t));
	t->f = open_memstream(&t->p, &t->n);
	assert_non_null(t->f);
	return t->f;
}

static void text_close(struct text *t)
{
	assert_int_equal(fclose(t->f), 0);
}

/* Fails, keeping both texts in tmpdir, when they differ. */
static void same(const char *what, struct text *a, struct text *b)
{
	if (a->n != b->n || memcmp(a->p, b->p, a->n) != 0) {
		char p[256];
		FILE *f;

		for (int i = 0; i < 2; i++) {
			snprintf(p, sizeof(p), "%s/diff.%s", tmpdir,
				 i ? "pg" : "sqlite");
			f = fopen(p, "w");
			if (f) {
				fwrite(i ? b->p : a->p, 1, i ? b->n : a->n, f);
				fclose(f);
			}
		}
		fail_msg("%s differs between SQLite and PostgreSQL (both in "
			 "%s/diff.*)", what, tmpdir);
	}
	free(a->p);
	free(b->p);
}

/* Writes db's answer to `what` into t. */
typedef void (*out_fn)(struct tb_sql *db, const void *arg, FILE *f);

static void compare(const char *what, out_fn fn, const void *arg)
{
	struct text a, b;

	fn(lite, arg, text_open(&a));
	text_close(&a);
	fn(pg, arg, text_open(&b));
	text_close(&b);
	assert_true(a.n > 0);
	same(what, &a, &b);
}

struct rq {
	const char *plan, *period, *unit;
	int detail, series;
	enum tb_report_format fmt;
};

static void out_report(struct tb_sql *db, const void *arg, FILE *f)
{
	const struct rq *q = arg;
	struct tb_report_opts o = {q->unit, NOW, q->detail, 0, 0, q->series};
	struct tb_report *r = NULL;
	char msg[256] = "";

	if (tb_report_run(db, tb_plan_set_find(plans, q->plan), q->period, &o,
			  &r, msg, sizeof(msg)))
		fail_msg("%s: %s %s: %s", tb_sql_name(db), q->plan, q->period,
			 msg);
	assert_int_equal(tb_report_write(r, q->fmt, NULL, f), 0);
	tb_report_destroy(r);
}

static void out_search(struct tb_sql *db, const void *arg, FILE *f)
{
	struct tb_unit_hits *h = NULL;

	assert_int_equal(tb_unit_search(db, arg, &h), 0);
	for (size_t i = 0; i < h->n; i++)
		fprintf(f, "%s|%s|%s|%s|%s\n", h->hit[i].code, h->hit[i].type,
			h->hit[i].name, h->hit[i].district,
			h->hit[i].district_name ? h->hit[i].district_name : "-");
	fprintf(f, "more %zu\n", h->more);
	tb_unit_hits_destroy(h);
}

static void out_export(struct tb_sql *db, const void *arg, FILE *f)
{
	const struct tb_export_opts *o = arg;
	char msg[256] = "";
	int64_t n = 0;

	if (tb_export(db, o, f, &n, msg, sizeof(msg)))
		fail_msg("%s: export: %s", tb_sql_name(db), msg);
	fprintf(f, "count %lld\n", (long long)n);
}

/* A roll-up table's rows, in one order on both. */
static void out_table(struct tb_sql *db, const void *arg, FILE *f)
{
	const char *table = arg;
	const char *coll = tb_sql_backend(db) == TB_SQL_PG ? " COLLATE \"C\"" : "";
	char sql[256];
	struct tb_stmt *st = NULL;
	int rc;

	if (strcmp(table, "report_snap") == 0)
		snprintf(sql, sizeof(sql), "SELECT * FROM report_snap ORDER BY"
			 " school%s, day, recorded_at, id%s", coll, coll);
	else
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY"
			 " school%s, 2, kind", table, coll);
	assert_int_equal(tb_sql_prepare(db, sql, 0, &st), 0);
	while ((rc = tb_sql_step(st)) == TB_SQL_ROW) {
		for (int i = 0; i < tb_sql_column_count(st); i++) {
			const char *v = tb_sql_column_text(st, i);

			fprintf(f, "%s%s", i ? "|" : "", v ? v : "NULL");
		}
		fputc('\n', f);
	}
	assert_int_equal(rc, TB_SQL_DONE);
	tb_sql_finalize(st);
}

struct hq {
	const char *path, *plan, *unit, *period, *format, *detail;
	int en;
};

static void out_http(struct tb_sql *db, const void *arg, FILE *f)
{
	const struct hq *h = arg;
	struct tb_report_req q;
	struct tb_report_resp a;

	memset(&q, 0, sizeof(q));
	q.method = "GET";
	q.path = h->path;
	q.plan = h->plan;
	q.unit = h->unit;
	q.period = h->period;
	q.format = h->format;
	q.detail = h->detail;
	q.en = h->en;
	q.bearer = admin[db == pg];
	q.cookie = admin[db == pg];
	tb_report_http_answer(db, plans, &q, &a);
	if (a.status != 200 && a.status != 303)
		fail_msg("%s: GET %s: %u", tb_sql_name(db), h->path, a.status);
	fprintf(f, "%u %s %s\n", a.status, a.ctype ? a.ctype : "-",
		a.location);
	if (a.body)
		fwrite(a.body, 1, a.len, f);
	tb_free(a.body);
}

/* The HTTP answers carry the time they were made (to the second): one
 * that differs is asked again, twice, before it counts as a difference. */
static void compare_http(const char *what, const struct hq *h)
{
	struct text a, b;

	for (int i = 0;; i++) {
		out_http(lite, h, text_open(&a));
		text_close(&a);
		out_http(pg, h, text_open(&b));
		text_close(&b);
		if (i == 2 || (a.n == b.n && memcmp(a.p, b.p, a.n) == 0))
			break;
		free(a.p);
		free(b.p);
	}
	assert_true(a.n > 20);
	same(what, &a, &b);
}

static const char *const periods[] = {
	"2025", "2025-H1", "2024-H2", "2025-Q4", "2025-11", "action-month-2025",
	"cumulative:2025-12-31", "cumulative:2024-06-30"};
static const char *const units[] = {NULL, "PV", "DB", "SA01", "SB02",
				    "SB_4", "D_C"};

static void compare_all(const char *when)
{
	static const char *const tables[] = {"report_day", "report_month",
					     "report_year", "report_snap"};
	static const char *const queries[] = {"truong", "TIỂU HỌC", "lac son",
					      "SA0", "db", "zung", "hoa binh", "_", "s"};
	static const enum tb_report_format fmts[] = {TB_RF_JSON, TB_RF_CSV,
						     TB_RF_HTML};
	static const struct hq pages[] = {
		{"/", NULL, NULL, NULL, NULL, NULL, 0},
		{"/", "hoa-binh-2022-2030", NULL, "2025", NULL, NULL, 0},
		{"/", "hoa-binh-2022-2030", "DB", "2025-H2", NULL, NULL, 1},
		{"/", "thanh-oai-2021-2030", "SB_4", "cumulative:2025-12-31",
		 NULL, NULL, 0},
		{"/", "hoa-binh-2022-2030", "lac son", "2025", NULL, NULL, 0},
		{"/", "hoa-binh-2022-2030", "truong", "2025", NULL, NULL, 0},
		{TB_ROUTE_REPORT, "hoa-binh-2022-2030", "D_C",
		 "action-month-2025", "json", "1", 0},
		{TB_ROUTE_REPORT, "thanh-oai-2021-2030", NULL, "2025-H1", "csv",
		 NULL, 0}};
	char what[256];

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(what, sizeof(what), "%s: %s", when, tables[i]);
		compare(what, out_table, tables[i]);
	}
	for (size_t p = 0; p < plans->count; p++)
		for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
			for (size_t u = 0; u < sizeof(units) / sizeof(units[0]);
			     u++)
				for (size_t f = 0; f < 3; f++) {
					struct rq q = {plans->plans[p]->id,
						       periods[i], units[u],
						       u < 3, u == 0, fmts[f]};

					snprintf(what, sizeof(what),
						 "%s: report %s %s %s %s", when,
						 q.plan, q.period,
						 q.unit ? q.unit : "all",
						 tb_report_format_name(q.fmt));
					compare(what, out_report, &q);
				}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		snprintf(what, sizeof(what), "%s: GET %s %s %s %s %s", when,
			 pages[i].path, pages[i].plan ? pages[i].plan : "-",
			 pages[i].unit ? pages[i].unit : "-",
			 pages[i].period ? pages[i].period : "-",
			 pages[i].format ? pages[i].format : "-");
		compare_http(what, &pages[i]);
	}
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		snprintf(what, sizeof(what), "%s: search %s", when, queries[i]);
		compare(what, out_search, queries[i]);
	}
	for (int fmt = 0; fmt < 2; fmt++) {
		const struct tb_export_opts o[] = {
			{NULL, NULL, 0, fmt ? TB_EXPORT_CSV : TB_EXPORT_JSON},
			{NULL, NULL, 1, fmt ? TB_EXPORT_CSV : TB_EXPORT_JSON},
			{"SA01", NULL, 0, fmt ? TB_EXPORT_CSV : TB_EXPORT_JSON},
			{NULL, "DB", 1, fmt ? TB_EXPORT_CSV : TB_EXPORT_JSON},
			{NULL, "D_C", 0, fmt ? TB_EXPORT_CSV : TB_EXPORT_JSON}};

		for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
			snprintf(what, sizeof(what), "%s: export %s %zu", when,
				 fmt ? "csv" : "json", i);
			compare(what, out_export, &o[i]);
		}
	}
}

/* The binary formats (whose files carry their time of making) at least
 * come out on PostgreSQL. */
static void binary_formats(void)
{
	struct tb_export_opts eo = {NULL, NULL, 0, TB_EXPORT_XLSX};
	struct rq q = {plans->plans[0]->id, "2025", NULL, 0, 0, TB_RF_XLSX};
	struct text t;

	out_report(pg, &q, text_open(&t));
	text_close(&t);
	assert_true(t.n > 1000);
	free(t.p);
	q.fmt = TB_RF_PDF;
	out_report(pg, &q, text_open(&t));
	text_close(&t);
	assert_true(t.n > 1000);
	free(t.p);
	out_export(pg, &eo, text_open(&t));
	text_close(&t);
	assert_true(t.n > 1000);
	free(t.p);
}

/* ---- tests -------------------------------------------------------------- */

static void need_pg(void)
{
	if (!pg)
		fail_msg("no PostgreSQL database (see above: run as "
			 "test_pg_report_pg, with ctest's fixture pg); this test "
			 "compares SQLite and PostgreSQL and is not skipped "
			 "without one");
}

static void test_same_after_merge(void **state)
{
	(void)state;
	need_pg();
	compare_all("merged");
	binary_formats();
}

static void test_same_after_amend_and_void(void **state)
{
	(void)state;
	need_pg();
	merge_pass(lite, 2);
	merge_pass(pg, 2);
	clocks_fixed(lite);
	clocks_fixed(pg);
	compare_all("amended");
}

static void test_same_after_rebuild(void **state)
{
	char msg[256] = "";

	(void)state;
	need_pg();
	if (tb_rollup_rebuild(lite, msg, sizeof(msg)) ||
	    tb_rollup_rebuild(pg, msg, sizeof(msg)))
		fail_msg("rebuild: %s", msg);
	compare_all("rebuilt");
}

struct racer {
	int rc;
	char msg[256];
};

static void *race_init(void *arg)
{
	struct racer *r = arg;
	struct tb_db_opts o = {0};
	struct tb_sql *db = NULL;

	r->rc = tb_db_open(pgurl, &o, &db, r->msg, sizeof(r->msg));
	if (r->rc == 0)
		r->rc = tb_rollup_init(db, r->msg, sizeof(r->msg));
	tb_sql_close(db);
	return NULL;
}

/* Two servers starting at once on a database whose roll-ups are stale:
 * both start, the fill is done once, and the sums are right. */
static void test_concurrent_fill(void **state)
{
	struct racer r[2];
	pthread_t t[2];

	(void)state;
	need_pg();
	exec_ok(pg, "UPDATE report_meta SET value = 'stale' WHERE key ="
		    " 'rollup'");
	exec_ok(pg, "DELETE FROM report_day");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_init, &r[i]),
				 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (r[i].rc)
			fail_msg("instance %d: %s", i, r[i].msg);
	}
	compare_all("filled by two at once");
}

/* ---- setup -------------------------------------------------------------- */

static struct tb_sql *open_store(const char *where)
{
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_sql *db = NULL;
	char msg[512] = "";

	if (tb_db_open(where, &o, &db, msg, sizeof(msg))) {
		fprintf(stderr, "%s\n", msg);
		return NULL;
	}
	return db;
}

static int setup(void **state)
{
	char msg[TB_PLAN_MSG_LEN] = "";

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-pgreport-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (tb_plan_set_load(TB_SOURCE_DIR "/plans", &plans, msg,
			     sizeof(msg))) {
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	if (helper_pg_newdb(pgurl, sizeof(pgurl)) != 0)
		return 0; /* every test fails, saying why (need_pg) */
	snprintf(litepath, sizeof(litepath), "%s/report.db", tmpdir);
	lite = open_store(litepath);
	pg = open_store(pgurl);
	if (!lite || !pg)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	tb_sql_close(lite);
	tb_sql_close(pg);
	tb_plan_set_destroy(plans);
	if (pgurl[0] && !getenv("TB_KEEP"))
		helper_pg_dropdb(pgurl);
	if (getenv("TB_KEEP"))
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The fixture goes in once both stores are open (a test, so a merge that
 * fails says where). */
static void test_load(void **state)
{
	(void)state;
	need_pg();
	load(lite);
	load(pg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_same_after_merge),
		cmocka_unit_test(test_same_after_amend_and_void),
		cmocka_unit_test(test_same_after_rebuild),
		cmocka_unit_test(test_concurrent_fill),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
