/* bench_report.c - the province report over 10,000 schools x 200 events.
 *
 *   bench_report [DB] [--schools N] [--events-per-school N] [--plans-dir D]
 *                [--reuse]  (keep DB if it exists: skip the load)
 *
 * Builds DB (default /tmp/tb-bench-report.db, replaced) with one province,
 * 100 districts and N schools, each with E events spread over 2022-2025
 * (outreach, Action Month activities, trainings, web posts, 16 snapshots),
 * inserted as the merge stores them (events rows with a JSON body). Then:
 *   - fills the roll-ups from those events (tb_report_init, first run);
 *   - times the province report of both plans for several periods, with
 *     the per-district, Action Month and staleness detail the dashboard
 *     uses (first run and best of 3);
 *   - times, in the same run, a plain SQLite GROUP BY school, kind over the
 *     same events (json_extract of the same fields), and prints the ratio;
 *   - times a district's dashboard page (report with detail and trends,
 *     written as HTML), the completeness (the province report with and
 *     without its detail) and the province report as an .xlsx workbook,
 *     each beside the plain GROUP BY of the same rows;
 *   - times inserting 20,000 more events with the triggers in place, to
 *     show what the roll-ups add to a merge.
 * Figures are printed, never asserted (bench/README.md keeps them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/date.h"
#include "common/err.h"
#include "server/sql.h"
#include "server/db.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_html.h"
#include "server/report_xlsx.h"
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
	exit(1);
}

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

static void add_events(struct tb_sql *db, long schools, long per, long first_id,
		       long *count, int own_tx)
{
	static const unsigned char hash[32];
	struct tb_stmt *st = NULL;
	char id[48], code[32], date[16], body[512];
	long n = 0;

	if (tb_sql_prepare(db, "INSERT INTO events(id, school, kind, date,"
			       " revision, voided, device, seq, recorded_at,"
			       " received_at, content_hash, body) VALUES(?1, ?2,"
			       " ?3, ?4, 1, 0, NULL, ?5, 0, 0, ?6, ?7)", 0, &st))
		die("events", tb_sql_errmsg(db));
	if (own_tx)
		exec(db, "BEGIN");
	for (long s = 0; s < schools; s++) {
		snprintf(code, sizeof(code), "S%05ld", s);
		for (long j = 0; j < per; j++) {
			const char *kind = make_event(s, j, date, body,
						      sizeof(body));

			snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012lx",
				 first_id + n);
			tb_sql_reset(st);
			tb_sql_bind_text(st, 1, id, -1);
			tb_sql_bind_text(st, 2, code, -1);
			tb_sql_bind_text(st, 3, kind, -1);
			tb_sql_bind_text(st, 4, date, -1);
			tb_sql_bind_int64(st, 5, j + 1);
			tb_sql_bind_blob(st, 6, hash, sizeof(hash));
			tb_sql_bind_text(st, 7, body, -1);
			if (tb_sql_step(st) != TB_SQL_DONE)
				die("events", tb_sql_errmsg(db));
			if (++n % 200000 == 0 && own_tx) {
				exec(db, "COMMIT");
				exec(db, "BEGIN");
			}
		}
	}
	if (own_tx)
		exec(db, "COMMIT");
	tb_sql_finalize(st);
	*count = n;
}

/* 200 batches of 100 events, each from one school and committed on its
 * own, as the merge does; microseconds per event. */
static double merge_like(struct tb_sql *db, long schools, long first_id)
{
	static const unsigned char hash[32];
	struct tb_stmt *st = NULL;
	char id[48], code[32], date[16], body[512];
	double t0 = now_s();
	long n = 0;

	if (tb_sql_prepare(db, "INSERT INTO events(id, school, kind, date,"
			       " revision, voided, device, seq, recorded_at,"
			       " received_at, content_hash, body) VALUES(?1, ?2,"
			       " ?3, ?4, 1, 0, NULL, ?5, 0, 0, ?6, ?7)", 0, &st))
		die("events", tb_sql_errmsg(db));
	for (long b = 0; b < 200; b++) {
		snprintf(code, sizeof(code), "S%05ld", (b * 97) % schools);
		exec(db, "BEGIN");
		for (long j = 0; j < 100; j++, n++) {
			const char *kind = make_event(0, 16 + (j * 7) % 184, date,
						      body, sizeof(body));

			snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012lx",
				 first_id + n);
			tb_sql_reset(st);
			tb_sql_bind_text(st, 1, id, -1);
			tb_sql_bind_text(st, 2, code, -1);
			tb_sql_bind_text(st, 3, kind, -1);
			tb_sql_bind_text(st, 4, date, -1);
			tb_sql_bind_int64(st, 5, n + 1);
			tb_sql_bind_blob(st, 6, hash, sizeof(hash));
			tb_sql_bind_text(st, 7, body, -1);
			if (tb_sql_step(st) != TB_SQL_DONE)
				die("events", tb_sql_errmsg(db));
		}
		exec(db, "COMMIT");
	}
	tb_sql_finalize(st);
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

/* A plain GROUP BY over the events of a period; seconds. */
static double plain_group_by(struct tb_sql *db, const char *from, const char *to,
			     long *rows)
{
	const char *const b[2] = {from, to};

	return time_query(db,
		"SELECT school, kind, count(*),"
		" sum(json_extract(body, '$.parents')),"
		" sum(json_extract(body, '$.students')),"
		" sum(json_extract(body, '$.officials')),"
		" sum(json_extract(body, '$.teachers_staff')),"
		" sum(json_extract(body, '$.communicators'))"
		" FROM events WHERE voided = 0 AND date BETWEEN ?1 AND ?2"
		" GROUP BY school, kind", b, 2, 3, rows);
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

	return time_query(db,
		"SELECT school, kind, count(*), min(received_at),"
		" sum(json_extract(body, '$.parents')),"
		" sum(json_extract(body, '$.students')),"
		" sum(json_extract(body, '$.officials')),"
		" sum(json_extract(body, '$.teachers_staff')),"
		" sum(json_extract(body, '$.communicators'))"
		" FROM events WHERE voided = 0 AND date BETWEEN ?2 AND ?3"
		" AND school IN (SELECT code FROM units WHERE district = ?1)"
		" GROUP BY school, kind", arg, 3, 2, &rows);
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

int main(int argc, char **argv)
{
	static const char *const periods[][3] = {
		{"2025", "2025-01-01", "2025-12-31"},
		{"2025-H2", "2025-07-01", "2025-12-31"},
		{"action-month-2025", "2025-11-15", "2025-12-15"},
		{"cumulative:2025-12-31", "2021-01-01", "2025-12-31"}};
	const char *path = "/tmp/tb-bench-report.db";
	long schools = 10000, per = 200, n = 0, extra = 0, rows;
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_plan_set *plans = NULL;
	struct tb_sql *db = NULL;
	char msg[512] = "", wal[600], dir[1024];
	const char *plans_dir = NULL;
	double t0, load = 0, init, more, less;
	int reuse = 0;

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
		else
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
	if (reuse && access(path, F_OK) != 0)
		reuse = 0;
	if (!reuse) {
		unlink(path);
		snprintf(wal, sizeof(wal), "%s-wal", path);
		unlink(wal);
	}
	if (tb_db_open(path, &o, &db, msg, sizeof(msg)))
		die(path, msg);
	exec(db, "PRAGMA synchronous=OFF");
	if (!reuse) {
		add_units(db, schools);
		t0 = now_s();
		add_events(db, schools, per, 1, &n, 1);
		load = now_s() - t0;
	} else {
		n = schools * per;
	}
	t0 = now_s();
	if (tb_report_init(db, msg, sizeof(msg)))
		die("init", msg);
	init = now_s() - t0;
	printf("database: %s, %ld schools x %ld events = %ld events\n", path,
	       schools, per, n);
	if (!reuse)
		printf("load (no roll-ups yet): %.1f s, %.1f us/event\n", load,
		       load * 1e6 / (double)n);
	printf("roll-ups %s (first tb_report_init): %.1f s\n",
	       init > 0.05 ? "filled from the events" : "already in place",
	       init);
	exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	printf("\n%-22s %-20s %10s %10s %9s %16s %6s\n", "period", "plan",
	       "report 1st", "best of 3", "best CPU", "GROUP BY (rows)",
	       "ratio");
	for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		double g = plain_group_by(db, periods[i][1], periods[i][2], &rows);

		for (size_t p = 0; p < plans->count; p++) {
			double best, cpu, first = time_report(db, plans->plans[p],
							      periods[i][0], &best,
							      &cpu);

			printf("%-22s %-20s %9.3fs %9.3fs %8.3fs %7.3fs(%6ld) "
			       "%5.0fx\n", periods[i][0], plans->plans[p]->id,
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
	more = now_s() - t0;
	exec(db, "ROLLBACK; BEGIN; DROP TRIGGER report_ev_insert");
	t0 = now_s();
	add_events(db, 100, 200, 1L << 40, &extra, 0);
	less = now_s() - t0;
	exec(db, "ROLLBACK");
	printf("\ninsert 20,000 more events: %.1f us/event with the roll-up "
	       "triggers, %.1f without\n", more * 1e6 / (double)extra,
	       less * 1e6 / (double)extra);
	/* the same with a 64 MB page cache (SQLite's default is 2 MB) */
	exec(db, "PRAGMA cache_size=-65536; BEGIN");
	add_events(db, 100, 200, 1L << 40, &extra, 0);
	exec(db, "ROLLBACK; BEGIN");
	t0 = now_s();
	add_events(db, 100, 200, 1L << 40, &extra, 0);
	more = now_s() - t0;
	exec(db, "ROLLBACK");
	printf("the same with a 64 MB page cache, warm: %.1f us/event with the "
	       "triggers\n", more * 1e6 / (double)extra);
	exec(db, "PRAGMA cache_size=-2000");
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
	more = merge_like(db, schools, (1L << 41) + extra);
	exec(db, "DROP TRIGGER report_ev_insert");
	less = merge_like(db, schools, (1L << 42) + extra);
	printf("batches of 100 events from one school, a commit each: %.1f "
	       "us/event with the triggers, %.1f without\n", more, less);
	tb_sql_close(db);
	tb_plan_set_destroy(plans);
	return 0;
}
