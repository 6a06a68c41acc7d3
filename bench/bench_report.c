/* bench_report.c - the province report over 10,000 schools x 200 events.
 *
 *   bench_report [DB] [--db sqlite|pg|both] [--schools N]
 *                [--events-per-school N] [--plans-dir D]
 *                [--reuse]  (SQLite: keep DB if it exists, skip the load)
 *
 * On SQLite (DB, default /tmp/tb-bench-report.db, replaced) and on
 * PostgreSQL (a database in a cluster of its own, scripts/pg-cluster.sh
 * with TB_PG_DURABLE=1, stopped at the end however the program ends),
 * --db both by default: one province, 100 districts and N schools, each
 * with E events spread over 2022-2025 (outreach, Action Month activities,
 * trainings, web posts, 16 snapshots), inserted as the merge stores them
 * (schema 3: an event_history row with the envelope in columns and the
 * fields JSON, and the narrow events row; multi-row INSERTs of 32 as the
 * merge). Then, on each:
 *   - fills the roll-ups from those events (tb_report_init, first run);
 *   - times the province report of both plans for several periods, with
 *     the per-district, Action Month and staleness detail the dashboard
 *     uses (first run and best of 3);
 *   - times, in the same run, a plain GROUP BY school, kind over the
 *     same events (the fields read from the JSON: json_extract, or
 *     PostgreSQL's ->>), and prints the ratio;
 *   - times a district's dashboard page (report with detail and trends,
 *     written as HTML), the completeness (the province report with and
 *     without its detail) and the province report as an .xlsx workbook,
 *     each beside the plain GROUP BY of the same rows;
 *   - times inserting 20,000 more events with the triggers in place, to
 *     show what the roll-ups add to a merge.
 * Figures are printed, never asserted (bench/README.md keeps them).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>

#include "common/date.h"
#include "common/err.h"
#include "server/sql.h"
#include "server/db.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_html.h"
#include "server/report_xlsx.h"
#include "tests/helper_pg.h"
#include "tests/helper_proc.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process: on a shared machine the
 * wall clock also counts other programs' turns. */
static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_report: %s: %s\n", what, msg);
	helper_pg_cluster_stop();
	exit(1);
}

static int is_pg(struct tb_sql *db)
{
	return tb_sql_backend(db) == TB_SQL_PG;
}

/* The integer field f of the history row h (its fields JSON). */
static const char *jx(struct tb_sql *db, const char *f, char *buf, size_t len)
{
	if (is_pg(db))
		snprintf(buf, len, "(h.fields::jsonb->>'%s')::bigint", f);
	else
		snprintf(buf, len, "json_extract(h.fields, '$.%s')", f);
	return buf;
}

#define HIST_JOIN " JOIN event_history h ON h.id = e.id AND h.revision = e.revision"

static void exec(struct tb_sql *db, const char *sql)
{
	char msg[512] = "";

	if (tb_sql_exec(db, sql, msg, sizeof(msg)) < 0)
		die(sql, msg);
}

static void add_units(struct tb_sql *db, long schools)
{
	static const char *const levels[] = {"MN", "TH", "THCS", "THPT",
					     "GDTX", "office"};
	struct tb_stmt *st = NULL;
	char code[32], district[32];

	exec(db, "INSERT INTO units(code, name, type, created_at) VALUES("
		 "'PV', 'Tỉnh Hòa Bình', 'province', 0)");
	if (tb_sql_prepare(db, "INSERT INTO units(code, name, type, level,"
			       " district, province, created_at) VALUES(?1, ?1,"
			       " ?2, ?3, ?4, 'PV', 0)", 0, &st))
		die("units", tb_sql_errmsg(db));
	for (long d = 0; d < 100; d++) {
		snprintf(district, sizeof(district), "D%03ld", d);
		tb_sql_reset(st);
		tb_sql_bind_text(st, 1, district, -1);
		tb_sql_bind_text(st, 2, "district", -1);
		tb_sql_bind_null(st, 3);
		tb_sql_bind_null(st, 4);
		if (tb_sql_step(st) != TB_SQL_DONE)
			die("units", tb_sql_errmsg(db));
	}
	for (long s = 0; s < schools; s++) {
		snprintf(code, sizeof(code), "S%05ld", s);
		snprintf(district, sizeof(district), "D%03ld", s % 100);
		tb_sql_reset(st);
		tb_sql_bind_text(st, 1, code, -1);
		tb_sql_bind_text(st, 2, "school", -1);
		tb_sql_bind_text(st, 3, s % 100 == 0 ? "office" : levels[s % 5],
				  -1);
		tb_sql_bind_text(st, 4, district, -1);
		if (tb_sql_step(st) != TB_SQL_DONE)
			die("units", tb_sql_errmsg(db));
	}
	tb_sql_finalize(st);
}

/* One event's kind, date and JSON body (what merge.c stores). */
static const char *make_event(long school, long j, char *date, char *body,
			      size_t len)
{
	int y = 2022 + (int)rnd(4), m = 1 + (int)rnd(12), d = 1 + (int)rnd(28);
	const char *kind;
	int n;

	if (j < 16) {
		kind = "snapshot";
		y = 2022 + (int)(j / 4);
		m = 3 * (int)(j % 4) + 3;
		n = snprintf(body, len,
			     "{\"ban_members\":%u,\"ban_members_trained\":%u,"
			     "\"women_in_planning\":%u,"
			     "\"women_in_planning_trained\":%u,"
			     "\"key_posts\":4,\"key_posts_women\":%u,"
			     "\"masters\":%u,\"masters_female\":%u,"
			     "\"website_section\":%s,\"curriculum_content\":true}",
			     10 + rnd(5), rnd(10), 3 + rnd(3), rnd(3), rnd(3),
			     10 + rnd(5), rnd(10), rnd(5) ? "true" : "false");
	} else if (j < 32) {
		kind = "web-post";
		n = snprintf(body, len, "{\"title\":\"Chuyên mục bình đẳng giới\"}");
	} else if (j < 48) {
		kind = "training";
		n = snprintf(body, len,
			     "{\"title\":\"Tập huấn\",\"participants\":30,"
			     "\"female\":%u,\"ban_members\":%u,"
			     "\"women_in_planning\":%u,\"communicators\":%u}",
			     10 + rnd(20), rnd(10), rnd(5), rnd(10));
	} else {
		kind = j < 64 ? "action-month" : "outreach";
		if (j < 64) {
			m = 11 + (int)rnd(2);
			d = m == 11 ? 15 + (int)rnd(16) : 1 + (int)rnd(15);
		}
		n = snprintf(body, len,
			     "{\"title\":\"Tuyên truyền\",\"parents\":%u,"
			     "\"students\":%u,\"teachers_staff\":%u,"
			     "\"officials\":%u,\"channel\":\"meeting\"}",
			     rnd(60), rnd(300), rnd(30), rnd(3));
	}
	if (n < 0 || (size_t)n >= len)
		die("event", "body too long");
	snprintf(date, 11, "%04d-%02d-%02d", y, m, d);
	(void)school;
	return kind;
}

/* Events waiting for their multi-row INSERT, as the merge writes them:
 * event_history first (the roll-up triggers on events read it). */
#define ROWS 32

struct pending {
	struct tb_stmt *st[2][2]; /* [history?][32 rows, 1 row] */
	int n;
	char id[ROWS][48], school[ROWS][32], date[ROWS][16], body[ROWS][512];
	const char *kind[ROWS];
	long seq[ROWS];
};

static struct tb_stmt *prep_rows(struct tb_sql *db, int hist, int rows)
{
	char sql[4096];
	size_t used = (size_t)snprintf(sql, sizeof(sql), "%s", hist ?
		"INSERT INTO event_history(id, revision, kind, date, voided,"
		" void_reason, device, seq, recorded_at, received_at,"
		" content_hash, fields) VALUES" :
		"INSERT INTO events(id, revision, school, kind, date, voided,"
		" received_at) VALUES");
	struct tb_stmt *st = NULL;

	for (int i = 0; i < rows; i++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, "%s%s",
					 i ? "," : "", hist ?
					 "(?,1,?,?,0,NULL,NULL,?,0,0,?,?)" :
					 "(?,1,?,?,?,0,0)");
	if (tb_sql_prepare(db, sql, 0, &st))
		die("events", tb_sql_errmsg(db));
	return st;
}

static void pending_open(struct tb_sql *db, struct pending *p)
{
	for (int h = 0; h < 2; h++) {
		p->st[h][0] = prep_rows(db, h, ROWS);
		p->st[h][1] = prep_rows(db, h, 1);
	}
	p->n = 0;
}

static void pending_flush(struct tb_sql *db, struct pending *p)
{
	static const unsigned char hash[32];

	for (int h = 1; h >= 0; h--) {
		struct tb_stmt *st = p->st[h][p->n == ROWS ? 0 : 1];
		int step = p->n == ROWS ? ROWS : 1;

		for (int from = 0; from < p->n; from += step) {
			for (int k = 0; k < step; k++) {
				int i = from + k, c = k * (h ? 6 : 4);

				tb_sql_bind_text(st, c + 1, p->id[i], -1);
				if (h) {
					tb_sql_bind_text(st, c + 2, p->kind[i], -1);
					tb_sql_bind_text(st, c + 3, p->date[i], -1);
					tb_sql_bind_int64(st, c + 4, p->seq[i]);
					tb_sql_bind_blob(st, c + 5, hash,
							 sizeof(hash));
					tb_sql_bind_text(st, c + 6, p->body[i], -1);
				} else {
					tb_sql_bind_text(st, c + 2, p->school[i], -1);
					tb_sql_bind_text(st, c + 3, p->kind[i], -1);
					tb_sql_bind_text(st, c + 4, p->date[i], -1);
				}
			}
			if (tb_sql_step(st) != TB_SQL_DONE)
				die("events", tb_sql_errmsg(db));
			tb_sql_reset(st);
		}
	}
	p->n = 0;
}

static void pending_add(struct tb_sql *db, struct pending *p, const char *school,
			long school_no, long j, long id, long seq)
{
	int i = p->n;

	p->kind[i] = make_event(school_no, j, p->date[i], p->body[i],
				sizeof(p->body[i]));
	snprintf(p->id[i], sizeof(p->id[i]), "00000000-0000-4000-8000-%012lx",
		 id);
	snprintf(p->school[i], sizeof(p->school[i]), "%s", school);
	p->seq[i] = seq;
	if (++p->n == ROWS)
		pending_flush(db, p);
}

static void pending_close(struct tb_sql *db, struct pending *p)
{
	pending_flush(db, p);
	for (int h = 0; h < 2; h++) {
		tb_sql_finalize(p->st[h][0]);
		tb_sql_finalize(p->st[h][1]);
	}
}

static void add_events(struct tb_sql *db, long schools, long per, long first_id,
		       long *count, int own_tx)
{
	struct pending *p = calloc(1, sizeof(*p));
	char code[32];
	long n = 0;

	if (!p)
		die("events", "out of memory");
	pending_open(db, p);
	if (own_tx)
		exec(db, "BEGIN");
	for (long s = 0; s < schools; s++) {
		snprintf(code, sizeof(code), "S%05ld", s);
		for (long j = 0; j < per; j++) {
			pending_add(db, p, code, s, j, first_id + n, j + 1);
			if (++n % 200000 == 0 && own_tx) {
				pending_flush(db, p);
				exec(db, "COMMIT");
				exec(db, "BEGIN");
			}
		}
	}
	pending_flush(db, p);
	if (own_tx)
		exec(db, "COMMIT");
	pending_close(db, p);
	free(p);
	*count = n;
}

/* 200 batches of 100 events, each from one school and committed on its
 * own, as the merge does; microseconds per event. */
static double merge_like(struct tb_sql *db, long schools, long first_id)
{
	struct pending *p = calloc(1, sizeof(*p));
	char code[32];
	double t0 = now_s();
	long n = 0;

	if (!p)
		die("events", "out of memory");
	pending_open(db, p);
	for (long b = 0; b < 200; b++) {
		snprintf(code, sizeof(code), "S%05ld", (b * 97) % schools);
		exec(db, "BEGIN");
		for (long j = 0; j < 100; j++, n++)
			pending_add(db, p, code, 0, 16 + (j * 7) % 184,
				    first_id + n, n + 1);
		pending_flush(db, p);
		exec(db, "COMMIT");
	}
	pending_close(db, p);
	free(p);
	return (now_s() - t0) * 1e6 / (double)n;
}

/* Runs sql with the texts binds[0..n) bound to ?1..?n to its end, adding
 * up column col as a check that rows came back; seconds. *rows: rows. */
static double time_query(struct tb_sql *db, const char *sql,
			 const char *const *binds, int n, int col, long *rows)
{
	struct tb_stmt *st = NULL;
	double t0 = now_s();
	int64_t check = 0;

	if (tb_sql_prepare(db, sql, 0, &st))
		die("query", tb_sql_errmsg(db));
	for (int i = 0; i < n; i++)
		tb_sql_bind_text(st, i + 1, binds[i], -1);
	*rows = 0;
	while (tb_sql_step(st) == TB_SQL_ROW) {
		check += tb_sql_column_int64(st, col);
		(*rows)++;
	}
	tb_sql_finalize(st);
	if (check < 0)
		die("query", "negative sum");
	return now_s() - t0;
}

/* "sum(<field>), ..." of the five count fields the plain queries add
 * up, read from the history row's JSON. */
static void sums(struct tb_sql *db, char *out, size_t len)
{
	static const char *const f[] = {"parents", "students", "officials",
					"teachers_staff", "communicators"};
	char x[96];
	size_t used = 0;

	for (int i = 0; i < 5; i++)
		used += (size_t)snprintf(out + used, len - used, "%ssum(%s)",
					 i ? ", " : "", jx(db, f[i], x, sizeof(x)));
}

/* A plain GROUP BY over the events of a period; seconds. */
static double plain_group_by(struct tb_sql *db, const char *from, const char *to,
			     long *rows)
{
	const char *const b[2] = {from, to};
	char sql[1024], s[600];

	sums(db, s, sizeof(s));
	snprintf(sql, sizeof(sql), "SELECT e.school, e.kind, count(*), %s"
		 " FROM events e" HIST_JOIN " WHERE e.voided = 0 AND e.date"
		 " BETWEEN ?1 AND ?2 GROUP BY e.school, e.kind", s);
	return time_query(db, sql, b, 2, 2, rows);
}

static double time_report(struct tb_sql *db, const struct tb_plan *p,
			  const char *period, double *best, double *cpu)
{
	struct tb_report_opts o = {"PV", 0, 1, 0, 0, 0};
	struct tb_report *r = NULL;
	char msg[512] = "";
	double first = 0, t;

	*best = *cpu = 1e9;
	for (int i = 0; i < 3; i++) {
		double t0 = now_s(), c0 = cpu_s();

		if (tb_report_run(db, p, period, &o, &r, msg, sizeof(msg)))
			die("report", msg);
		t = now_s() - t0;
		if (i == 0)
			first = t;
		if (t < *best)
			*best = t;
		if (cpu_s() - c0 < *cpu)
			*cpu = cpu_s() - c0;
		tb_report_destroy(r);
	}
	return first;
}

/* Best of 3 of fn(db, arg); seconds. */
static double best3(double (*fn)(struct tb_sql *, const void *), struct tb_sql *db,
		    const void *arg)
{
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		double t = fn(db, arg);

		if (t < best)
			best = t;
	}
	return best;
}

struct page_arg {
	const struct tb_plan *plan;
	const char *unit, *period;
	int detail, series, html, xlsx;
};

/* One report as the dashboard or a download makes it: run, then written
 * as the page (HTML) or the workbook, into memory; seconds. */
static double page_once(struct tb_sql *db, const void *arg)
{
	const struct page_arg *a = arg;
	struct tb_report_opts o = {a->unit, 0, a->detail, 0, 0, a->series};
	struct tb_report *r = NULL;
	struct tb_report_page pg = {NULL, NULL, 0, 1};
	char msg[512] = "", *buf = NULL;
	size_t len = 0;
	double t0 = now_s();
	FILE *f = open_memstream(&buf, &len);

	if (!f || tb_report_run(db, a->plan, a->period, &o, &r, msg,
				sizeof(msg)))
		die("report", msg);
	if ((a->html && tb_report_html(r, &pg, f)) ||
	    (a->xlsx && tb_report_xlsx(r, f)))
		die("report", "cannot write it");
	fclose(f);
	tb_report_destroy(r);
	free(buf);
	return now_s() - t0;
}

/* The plain GROUP BY a district's page stands for: its schools' events
 * of the period, by school and kind, and their first arrival. */
static double plain_district(struct tb_sql *db, const void *arg)
{
	long rows;

	char sql[1024], s[600];

	sums(db, s, sizeof(s));
	snprintf(sql, sizeof(sql), "SELECT e.school, e.kind, count(*),"
		 " min(e.received_at), %s FROM events e" HIST_JOIN
		 " WHERE e.voided = 0 AND e.date BETWEEN ?2 AND ?3 AND e.school"
		 " IN (SELECT code FROM units WHERE district = ?1)"
		 " GROUP BY e.school, e.kind", s);
	return time_query(db, sql, arg, 3, 2, &rows);
}

/* The completeness's bare limit: every school's events of the period
 * counted and their first arrival, in one GROUP BY. */
static double plain_completeness(struct tb_sql *db, const void *arg)
{
	long rows;

	return time_query(db,
		"SELECT school, count(*), min(received_at) FROM events"
		" WHERE voided = 0 AND date BETWEEN ?1 AND ?2 GROUP BY school",
		arg, 2, 1, &rows);
}

/* The drill-down page, the completeness and the workbook of 2025-H2,
 * each beside the plain query of the same rows. */
static void time_office(struct tb_sql *db, const struct tb_plan *plan)
{
	const char *dist[3] = {"D001", "2025-07-01", "2025-12-31"};
	struct page_arg pa = {plan, "D001", "2025-H2", 1, 1, 1, 0};
	double page, bare, with, without;

	bare = best3(plain_district, db, dist);
	page = best3(page_once, db, &pa);
	printf("district page (D001, 2025-H2, %s): %.3f s; plain GROUP BY of "
	       "its events %.3f s (%.1fx)\n", plan->id, page, bare,
	       page / bare);
	pa.unit = "PV";
	page = best3(page_once, db, &pa);
	printf("province page (the same with 100 districts, 10,000 schools): "
	       "%.3f s\n", page);
	pa.html = pa.series = 0;
	with = best3(page_once, db, &pa);
	pa.detail = 0;
	without = best3(page_once, db, &pa);
	bare = best3(plain_completeness, db, dist + 1);
	printf("completeness of the province (2025-H2): the report with its "
	       "detail %.3f s, without %.3f s: %.3f s for completeness, "
	       "stale units, Action Month and districts; plain GROUP BY school "
	       "%.3f s\n", with, without, with - without, bare);
	pa.detail = 1;
	pa.xlsx = 1;
	page = best3(page_once, db, &pa);
	printf("province report as .xlsx (2025-H2, every district a sheet): "
	       "%.3f s, of which the report %.3f s\n", page, with);
}

static const char *const periods[][3] = {
	{"2025", "2025-01-01", "2025-12-31"},
	{"2025-H2", "2025-07-01", "2025-12-31"},
	{"action-month-2025", "2025-11-15", "2025-12-15"},
	{"cumulative:2025-12-31", "2021-01-01", "2025-12-31"}};
#define NPERIODS (sizeof(periods) / sizeof(periods[0]))
#define NPLANS 4 /* at most, in the side-by-side table */

enum { B_SQLITE, B_PG, NBACKENDS };

/* What the side-by-side table shows of one backend. */
struct figures {
	int done;
	long events;
	double load, init, best[NPERIODS][NPLANS], group_by[NPERIODS];
	double more, less, merge_more, merge_less;
};

/* Loads (unless reuse), fills the roll-ups and times everything on db. */
static void run_one(struct tb_sql *db, const char *name, int reuse,
		    long schools, long per, const struct tb_plan_set *plans,
		    struct figures *f)
{
	int pg = is_pg(db);
	long n = 0, extra = 0, rows;
	char msg[512] = "";
	double t0;

	printf("\n== %s%s\n\n", pg ? "PostgreSQL" : "SQLite", pg ?
	       " (fsync, synchronous_commit on; the bench's session commits"
	       " with synchronous_commit off, as SQLite's synchronous=OFF)" :
	       " (synchronous=OFF)");
	exec(db, pg ? "SET synchronous_commit = off" : "PRAGMA synchronous=OFF");
	if (!reuse) {
		add_units(db, schools);
		t0 = now_s();
		add_events(db, schools, per, 1, &n, 1);
		f->load = now_s() - t0;
	} else {
		n = schools * per;
	}
	f->events = n;
	t0 = now_s();
	if (tb_report_init(db, msg, sizeof(msg)))
		die("init", msg);
	f->init = now_s() - t0;
	printf("database: %s, %ld schools x %ld events = %ld events\n", name,
	       schools, per, n);
	if (!reuse)
		printf("load (no roll-ups yet): %.1f s, %.1f us/event\n",
		       f->load, f->load * 1e6 / (double)n);
	printf("roll-ups %s (first tb_report_init): %.1f s\n",
	       f->init > 0.05 ? "filled from the events" : "already in place",
	       f->init);
	/* SQLite: the WAL folded in; PostgreSQL: statistics for the
	 * planner, as autovacuum would gather them */
	t0 = now_s();
	exec(db, pg ? "ANALYZE" : "PRAGMA wal_checkpoint(TRUNCATE)");
	printf("%s: %.1f s\n", pg ? "ANALYZE" : "wal_checkpoint(TRUNCATE)",
	       now_s() - t0);
	printf("\n%-22s %-20s %10s %10s %9s %16s %6s\n", "period", "plan",
	       "report 1st", "best of 3", "best CPU", "GROUP BY (rows)",
	       "ratio");
	for (size_t i = 0; i < NPERIODS; i++) {
		double g = plain_group_by(db, periods[i][1], periods[i][2], &rows);

		f->group_by[i] = g;
		for (size_t p = 0; p < plans->count; p++) {
			double best, cpu, first = time_report(db, plans->plans[p],
							      periods[i][0], &best,
							      &cpu);

			if (p < NPLANS)
				f->best[i][p] = best;
			printf("%-22s %-20s %9.3fs %9.3fs %8.3fs %7.3fs(%6ld) "
			       "%5.1fx\n", periods[i][0], plans->plans[p]->id,
			       first, best, cpu, g, rows, g / best);
		}
	}
	printf("\n");
	for (size_t p = 0; p < plans->count; p++)
		time_office(db, plans->plans[p]);
	/* 20,000 more events into the full database, rolled back: with the
	 * triggers, then without them */
	exec(db, "BEGIN");
	t0 = now_s();
	add_events(db, 100, 200, 1L << 40, &extra, 0);
	f->more = (now_s() - t0) * 1e6 / (double)extra;
	exec(db, pg ? "ROLLBACK; BEGIN; DROP TRIGGER report_ev_insert ON events"
		    : "ROLLBACK; BEGIN; DROP TRIGGER report_ev_insert");
	t0 = now_s();
	add_events(db, 100, 200, 1L << 40, &extra, 0);
	f->less = (now_s() - t0) * 1e6 / (double)extra;
	exec(db, "ROLLBACK");
	printf("\ninsert 20,000 more events: %.1f us/event with the roll-up "
	       "triggers, %.1f without\n", f->more, f->less);
	if (!pg) { /* the same with a 64 MB page cache (SQLite's default is
		      2 MB) */
		double more;

		exec(db, "PRAGMA cache_size=-65536; BEGIN");
		add_events(db, 100, 200, 1L << 40, &extra, 0);
		exec(db, "ROLLBACK; BEGIN");
		t0 = now_s();
		add_events(db, 100, 200, 1L << 40, &extra, 0);
		more = now_s() - t0;
		exec(db, "ROLLBACK");
		printf("the same with a 64 MB page cache, warm: %.1f us/event "
		       "with the triggers\n", more * 1e6 / (double)extra);
		exec(db, "PRAGMA cache_size=-2000");
	}
	/* as merges do: 200 batches of 100 events, one school's each, one
	 * commit each (committed: they stay), with the triggers, then 200
	 * more without them (dropped last: a later --reuse rebuilds them) */
	{ /* ids past those of an earlier run's committed batches (--reuse) */
		struct tb_stmt *st = NULL;

		if (tb_sql_prepare(db, "SELECT count(*) FROM events", 0, &st) == TB_OK &&
		    tb_sql_step(st) == TB_SQL_ROW)
			extra = (long)tb_sql_column_int64(st, 0);
		tb_sql_finalize(st);
	}
	f->merge_more = merge_like(db, schools, (1L << 41) + extra);
	exec(db, pg ? "DROP TRIGGER report_ev_insert ON events"
		    : "DROP TRIGGER report_ev_insert");
	f->merge_less = merge_like(db, schools, (1L << 42) + extra);
	printf("batches of 100 events from one school, a commit each: %.1f "
	       "us/event with the triggers, %.1f without\n", f->merge_more,
	       f->merge_less);
	f->done = 1;
}

static void cell(const struct figures *f, double v, const char *unit)
{
	if (f->done)
		printf(" %10.3f%-2s", v, unit);
	else
		printf(" %12s", "-");
}

static void side_by_side(const struct figures *f,
			 const struct tb_plan_set *plans)
{
	const struct figures *s = &f[B_SQLITE], *p = &f[B_PG];
	int both = s->done && p->done;

	printf("\n== side by side, best of 3 (report) and the plain GROUP BY "
	       "in the same run\n\n%-22s %-20s %12s %12s %8s %12s %12s\n",
	       "period", "plan", "SQLite", "PostgreSQL", "PG/SQL", "GROUP BY SQ",
	       "GROUP BY PG");
	for (size_t i = 0; i < NPERIODS; i++)
		for (size_t k = 0; k < plans->count && k < NPLANS; k++) {
			printf("%-22s %-20s", periods[i][0], plans->plans[k]->id);
			cell(s, s->best[i][k], "s");
			cell(p, p->best[i][k], "s");
			if (both && s->best[i][k] > 0)
				printf(" %7.2fx", p->best[i][k] / s->best[i][k]);
			else
				printf(" %8s", "-");
			cell(s, s->group_by[i], "s");
			cell(p, p->group_by[i], "s");
			printf("\n");
		}
	{
		static const struct {
			const char *what, *unit;
			size_t off;
		} rows[] = {
			{"load, s", "s", offsetof(struct figures, load)},
			{"roll-up fill (first tb_report_init), s", "s",
			 offsetof(struct figures, init)},
			{"20,000 inserts, triggers, us/event", "",
			 offsetof(struct figures, more)},
			{"  without the triggers, us/event", "",
			 offsetof(struct figures, less)},
			{"100-event batches, a commit each, us/event", "",
			 offsetof(struct figures, merge_more)},
			{"  without the triggers, us/event", "",
			 offsetof(struct figures, merge_less)},
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			printf("%-43s", rows[i].what);
			for (int k = 0; k < NBACKENDS; k++)
				cell(&f[k], *(const double *)(const void *)
					    ((const char *)&f[k] + rows[i].off),
				     rows[i].unit);
			printf("\n");
		}
	}
}

int main(int argc, char **argv)
{
	const char *path = "/tmp/tb-bench-report.db";
	long schools = 10000, per = 200;
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_plan_set *plans = NULL;
	struct figures f[NBACKENDS];
	char msg[512] = "", wal[600], dir[1024];
	const char *plans_dir = NULL;
	int reuse = 0, want[NBACKENDS] = {1, 1};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--schools") == 0 && i + 1 < argc)
			schools = helper_proc_arg_long(
				"bench_report", "--schools", argv[++i], 1);
		else if (strcmp(argv[i], "--reuse") == 0)
			reuse = 1;
		else if (strcmp(argv[i], "--plans-dir") == 0 && i + 1 < argc)
			plans_dir = argv[++i];
		else if (strcmp(argv[i], "--events-per-school") == 0 &&
			 i + 1 < argc)
			per = helper_proc_arg_long("bench_report",
				"--events-per-school", argv[++i], 64);
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			const char *v = argv[++i];

			if (strcmp(v, "sqlite") && strcmp(v, "pg") &&
			    strcmp(v, "both"))
				die("usage", "--db sqlite|pg|both");
			want[B_SQLITE] = strcmp(v, "pg") != 0;
			want[B_PG] = strcmp(v, "sqlite") != 0;
		} else
			path = argv[i];
	}
	if (schools < 1 || per < 64)
		die("usage", "--schools >= 1, --events-per-school >= 64");
	if (!plans_dir) { /* the plans/ beside this source file */
		const char *slash = strrchr(__FILE__, '/');
		int len = slash ? (int)(slash - __FILE__) : 0;

		snprintf(dir, sizeof(dir), "%.*s%s../plans", len, __FILE__,
			 len ? "/" : "bench/");
		plans_dir = dir;
	}
	if (tb_plan_set_load(plans_dir, &plans, msg, sizeof(msg)))
		die("plans", msg);
	memset(f, 0, sizeof(f));
	if (want[B_SQLITE]) {
		struct tb_sql *db = NULL;

		if (reuse && access(path, F_OK) != 0)
			reuse = 0;
		if (!reuse) {
			unlink(path);
			snprintf(wal, sizeof(wal), "%s-wal", path);
			unlink(wal);
		}
		if (tb_db_open(path, &o, &db, msg, sizeof(msg)))
			die(path, msg);
		run_one(db, path, reuse, schools, per, plans, &f[B_SQLITE]);
		tb_sql_close(db);
	}
	if (want[B_PG]) {
		struct tb_sql *db = NULL;
		char script[PATH_MAX], pgdir[64] = "/tmp/tb-bench-report-pg.XXXXXX";
		char url[1024];
		const char *slash = strrchr(__FILE__, '/');
		int len = slash ? (int)(slash - __FILE__) : 0;

		snprintf(script, sizeof(script), "%.*s%s../scripts/pg-cluster.sh",
			 len, __FILE__, len ? "/" : "bench/");
		if (!mkdtemp(pgdir))
			die("mkdtemp", pgdir);
		fprintf(stderr, "bench_report: starting PostgreSQL in %s "
			"(TB_PG_DURABLE=1)\n", pgdir);
		if (helper_pg_cluster_start(script, pgdir, 1) != 0 ||
		    helper_pg_newdb(url, sizeof(url)) != 0)
			die("PostgreSQL", "no cluster or no database (above)");
		if (tb_db_open(url, &o, &db, msg, sizeof(msg)))
			die(url, msg);
		run_one(db, url, 0, schools, per, plans, &f[B_PG]);
		tb_sql_close(db);
		helper_pg_cluster_stop();
		snprintf(url, sizeof(url), "%s.out", pgdir);
		unlink(url);
	}
	side_by_side(f, plans);
	tb_plan_set_destroy(plans);
	return 0;
}
