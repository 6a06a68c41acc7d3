/* test_agent_crash.c - kill -9 tienbo-agent at many points in the middle
 * of `record` and `import`, then check the store: every event whose
 * command exited 0 is there, no import is half there (all of its rows or
 * none), the seqs are still consecutive, PRAGMA integrity_check says ok,
 * and the agent opens the file and counts it right.
 *
 * The kill delays are drawn from [0, 2 x the command's normal duration],
 * measured first, so the kills land from process start to after COMMIT.
 * Bounded: ITERATIONS runs, and it stops early after BUDGET_S seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tests/helper_proc.h"

#define ITERATIONS 200
#define BUDGET_S 40
#define IMPORT_ROWS 300
#define SEED 20251120u

struct fx {
	struct helper_proc_sandbox sb;
	struct helper_proc_opts o;
	char db[400];
	char csv[400];
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || helper_proc_sandbox_make(&f->sb) != 0)
		return -1;
	f->o.env = f->sb.env;
	f->o.timeout_ms = 20000;
	snprintf(f->db, sizeof(f->db), "%s/agent.db", f->sb.data);
	snprintf(f->csv, sizeof(f->csv), "%s/rows.csv", f->sb.dir);
	*state = f;
	return helper_proc_sandbox_agent(&f->sb, "t", NULL);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	helper_proc_sandbox_remove(&f->sb);
	free(f);
	return 0;
}

/* Rows whose title is `title`. */
static long long titled(sqlite3 *db, const char *title)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM queue "
					    "WHERE json_extract(fields, "
					    "'$.title') = ?1 OR "
					    "json_extract(fields, '$.title') "
					    "LIKE ?1 || ' row %'", -1, &st,
					    NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, title, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static long long one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* An import file of IMPORT_ROWS rows, titled `title` row N. */
static void write_csv(struct fx *f, const char *title)
{
	FILE *csv = fopen(f->csv, "w");
	int i;

	assert_non_null(csv);
	fputs("kind,date,title,parents,students\n", csv);
	for (i = 0; i < IMPORT_ROWS; i++)
		fprintf(csv, "outreach,2025-11-20,%s row %d,%d,%d\n", title, i,
			i % 50 + 1, i); /* one title per row: no row repeats */
	assert_int_equal(fclose(csv), 0);
}

/* Runs iteration i (even: record, odd: import) killed after kill_us (0:
 * not killed). 1 if it exited 0, 0 if it was killed. */
static int run_one(struct fx *f, int i, long kill_us, long long *took_us)
{
	struct helper_proc_result r;
	char title[32];
	long long t0 = now_us();
	int done;

	snprintf(title, sizeof(title), "%s-%d", i % 2 ? "imp" : "rec", i);
	if (i % 2)
		write_csv(f, title);
	f->o.kill_after_us = kill_us;
	if (i % 2)
		helper_proc_runl(&r, &f->o, TB_AGENT_BIN, "import", f->csv,
				 NULL);
	else
		helper_proc_runl(&r, &f->o, TB_AGENT_BIN, "record", "outreach",
				 "--date", "2025-11-20", "--title", title,
				 "--parents", "3", NULL);
	f->o.kill_after_us = 0;
	if (took_us)
		*took_us = now_us() - t0;
	done = r.exited;
	if (r.exited && r.exit_code != 0)
		fail_msg("iteration %d exited %d: %s", i, r.exit_code, r.err);
	if (!r.exited && r.signal != 9)
		fail_msg("iteration %d ended by signal %d", i, r.signal);
	helper_proc_free(&r);
	return done;
}

static void test_kill_during_record_and_import(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	int outcome[ITERATIONS + 2], i, n, killed = 0, completed = 0;
	long long took[2], start = now_us(), total = 0, want;
	long window, kill_us;
	char title[32];
	sqlite3 *db = NULL;

	srand(SEED);
	/* Calibrate: one undisturbed run of each. */
	outcome[0] = run_one(f, 0, 0, &took[0]);
	outcome[1] = run_one(f, 1, 0, &took[1]);
	assert_true(outcome[0] && outcome[1]);
	for (n = 2; n < ITERATIONS + 2; n++) {
		if (now_us() - start > BUDGET_S * 1000000LL)
			break;
		window = (long)(2 * took[n % 2]);
		kill_us = (long)(rand() % (window > 1 ? window : 1)) + 1;

		outcome[n] = run_one(f, n, kill_us, NULL);
		if (outcome[n])
			completed++;
		else
			killed++;
	}
	print_message("crash: %d runs, %d killed, %d completed (record %lld "
		      "us, import %lld us)\n", n - 2, killed, completed,
		      took[0], took[1]);
	assert_true(killed >= 5);
	assert_true(completed >= 5);

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE,
					 NULL), SQLITE_OK);
	for (i = 0; i < n; i++) {
		long long got;

		snprintf(title, sizeof(title), "%s-%d", i % 2 ? "imp" : "rec",
			 i);
		got = titled(db, title);
		want = i % 2 ? IMPORT_ROWS : 1;
		if (outcome[i] && got != want)
			fail_msg("%s: exited 0 but %lld of %lld rows are there",
				 title, got, want);
		if (!outcome[i] && got != 0 && got != want)
			fail_msg("%s: killed, and %lld of %lld rows are there "
				 "(half an import)", title, got, want);
		total += got;
	}
	assert_int_equal(one_int(db, "SELECT count(*) FROM queue"), total);
	/* Seqs consecutive from 1: nothing half-written left a gap. */
	assert_int_equal(one_int(db, "SELECT max(seq) FROM queue"), total);
	assert_int_equal(one_int(db, "SELECT count(*) FROM queue WHERE "
				 "wire_bytes <= 0 OR NOT json_valid(fields)"),
			 0);
	{
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA "
						    "integrity_check", -1, &st,
						    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
				    "ok");
		sqlite3_finalize(st);
	}
	sqlite3_close(db);

	/* The agent agrees, and goes on recording. */
	helper_proc_runl(&r, &f->o, TB_AGENT_BIN, "status", "--json", NULL);
	assert_true(r.exited && r.exit_code == 0);
	snprintf(title, sizeof(title), "\"pending\":\t%lld", total);
	assert_non_null(strstr(r.out, title));
	helper_proc_free(&r);
	assert_int_equal(run_one(f, 0, 0, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_kill_during_record_and_import, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
