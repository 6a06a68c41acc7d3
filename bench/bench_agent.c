/* bench_agent.c - how fast the school agent records and imports, and how
 * much memory it needs, each beside a bare SQLite baseline measured in the
 * same run. Not a test: figures are printed, never asserted.
 *
 *   cmake --build build --target tienbo-agent bench_agent
 *   ./build/bench_agent [AGENT_BIN] [RECORDS] [IMPORT_ROWS]
 *
 * AGENT_BIN defaults to tienbo-agent beside this program; RECORDS to 300;
 * IMPORT_ROWS to 100000. Everything happens in a fresh directory under
 * /tmp (removed at the end), on the same disk for agent and baseline.
 *
 * record  `tienbo-agent record outreach ...` run RECORDS times, one
 *         process and one durable commit each; the baseline inserts the
 *         same rows, one transaction (and fsync) per row.
 * import  `tienbo-agent import FILE.csv` of IMPORT_ROWS rows in one
 *         process and one transaction, into a fresh store; the baseline
 *         inserts the same rows (read back from the agent's store
 *         beforehand, so the work is the insert alone) into the same
 *         schema in one transaction, with the same pragmas (WAL,
 *         synchronous=FULL). Both are run REPEAT times, the best kept.
 * Peak RSS is ru_maxrss of the agent process (wait4).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/schema.h"
#include "tests/helper_proc.h"

#define COLS "seq, id, revision, kind, date, recorded_at, voided, " \
	     "void_reason, fields, state, reject_reason, wire_bytes"
#define NCOLS 12

#define REPEAT 3 /* import runs, best taken (the machine may be shared) */

static char dir[64]; /* a helper_proc_sandbox dir */
static char conf_env[128];
static char store[160]; /* the current agent's agent.db */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv (tests/helper_proc.c: output captured and dropped, an hour
 * at most) with the current agent's config; its exit code, or -1. *rss_kb
 * gets the larger of itself and the child's peak RSS. */
static int run(char *const argv[], long *rss_kb)
{
	const char *env[] = { conf_env, NULL };
	struct helper_proc_opts o = { 0 };
	struct helper_proc_result r;
	int rc;

	o.env = env;
	o.timeout_ms = 3600 * 1000;
	if (helper_proc_run((const char *const *)argv, &o, &r) != 0)
		return -1;
	rc = r.exited ? r.exit_code : -1;
	if (rss_kb && r.maxrss_kb > *rss_kb)
		*rss_kb = r.maxrss_kb;
	helper_proc_free(&r);
	return rc;
}

/* A fresh SQLite file with the agent's schema and pragmas. */
static sqlite3 *baseline_db(const char *name)
{
	char path[256], msg[256];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL; "
			 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    tb_schema_migrate(db, path, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "bench: baseline %s: %s\n", path,
			sqlite3_errmsg(db));
		exit(1);
	}
	return db;
}

/* Every row of the agent's queue, as SQL text values, in seq order. */
struct rowset {
	size_t n;
	char **cell; /* n * NCOLS, NULL for SQL NULL */
};

static void load_rows(struct rowset *rs)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int c;

	memset(rs, 0, sizeof(*rs));
	if (sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT " COLS " FROM queue ORDER BY seq",
			       -1, &st, NULL)) {
		fprintf(stderr, "bench: cannot read %s\n", store);
		exit(1);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (rs->n == cap) {
			cap = cap ? cap * 2 : 1024;
			rs->cell = realloc(rs->cell,
					   cap * NCOLS * sizeof(char *));
			if (!rs->cell)
				exit(1);
		}
		for (c = 0; c < NCOLS; c++) {
			const char *t = (const char *)sqlite3_column_text(st, c);

			rs->cell[rs->n * NCOLS + c] = t ? strdup(t) : NULL;
		}
		rs->n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void free_rows(struct rowset *rs)
{
	for (size_t i = 0; i < rs->n * NCOLS; i++)
		free(rs->cell[i]);
	free(rs->cell);
}

/* Inserts the rows into a fresh file: one transaction in all, or one per
 * row. Returns the seconds taken. */
static double baseline_insert(const struct rowset *rs, const char *name,
			      int per_row)
{
	sqlite3 *db = baseline_db(name);
	sqlite3_stmt *st = NULL;
	double t0;
	size_t i;
	int c;

	sqlite3_prepare_v2(db, "INSERT INTO queue (" COLS ") VALUES (?, ?, ?, "
			   "?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL);
	t0 = now_s();
	if (!per_row)
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (i = 0; i < rs->n; i++) {
		if (per_row)
			sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		for (c = 0; c < NCOLS; c++) {
			const char *v = rs->cell[i * NCOLS + c];

			if (v)
				sqlite3_bind_text(st, c + 1, v, -1,
						  SQLITE_STATIC);
			else
				sqlite3_bind_null(st, c + 1);
		}
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "bench: insert: %s\n",
				sqlite3_errmsg(db));
			exit(1);
		}
		sqlite3_reset(st);
		if (per_row)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	if (!per_row)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return t0;
}

/* One title per row: import refuses the same activity (kind, date and
 * title) twice in one file. */
static void write_csv(const char *path, long rows)
{
	static const char *const titles[] = {
		"Họp phụ huynh đầu năm học", "Ngoại khóa bình đẳng giới",
		"Nói chuyện chuyên đề ngày 8/3", "Tuyên truyền qua loa phát thanh"
	};
	static const char *const channels[] = { "meeting", "event", "radio",
						"social-media" };
	FILE *f = fopen(path, "w");
	long i;

	if (!f)
		exit(1);
	fputs("kind,date,title,parents,students,teachers-staff,channel\n", f);
	for (i = 0; i < rows; i++)
		fprintf(f, "outreach,2025-%02ld-%02ld,%s %ld,%ld,%ld,%ld,%s\n",
			i % 12 + 1, i % 28 + 1, titles[i % 4], i, i % 80 + 1,
			i % 400, i % 30, channels[i % 4]);
	if (fclose(f) != 0)
		exit(1);
}

static void agent_path(const char *arg, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (arg) {
		snprintf(out, len, "%s", arg);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		slash[1] = '\0';
	if (strlen(self) + sizeof("tienbo-agent") > len)
		exit(64);
	memcpy(out, self, strlen(self) + 1);
	memcpy(out + strlen(self), "tienbo-agent", sizeof("tienbo-agent"));
}

/* A fresh agent: config dir/N.conf, data dir/data-N; selects it. */
static void new_agent(const char *bin, int n)
{
	char data[128];
	char *init[] = { (char *)bin, "init", "--server",
			 "https://127.0.0.1:1", "--school", "HB-001", "--token",
			 "bench", "--data-dir", data, NULL };

	snprintf(conf_env, sizeof(conf_env), "TIENBO_CONFIG=%s/%d.conf", dir,
		 n);
	snprintf(data, sizeof(data), "%s/data-%d", dir, n);
	snprintf(store, sizeof(store), "%s/agent.db", data);
	if (run(init, NULL) != 0) {
		fprintf(stderr, "bench: init failed\n");
		exit(1);
	}
}

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

int main(int argc, char **argv)
{
	char bin[PATH_MAX], csv[128], title[64], name[32];
	long records = argc > 2 ? strtol(argv[2], NULL, 10) : 300;
	long rows = argc > 3 ? strtol(argv[3], NULL, 10) : 100000;
	long rss_record = 0, rss_import = 0, i;
	double t, rec_s, imp_s = 1e9, base_rec_s, base_imp_s = 1e9;
	struct helper_proc_sandbox sb;
	struct rowset rs;
	int k;

	agent_path(argc > 1 ? argv[1] : NULL, bin, sizeof(bin));
	if (access(bin, X_OK) != 0 || records < 1 || rows < 1) {
		fprintf(stderr, "usage: bench_agent [AGENT_BIN] [RECORDS] "
			"[IMPORT_ROWS] (no agent at %s)\n", bin);
		return 64;
	}
	if (helper_proc_sandbox_make(&sb) != 0 || strlen(sb.dir) >= sizeof(dir))
		return 74;
	memcpy(dir, sb.dir, strlen(sb.dir) + 1);
	snprintf(csv, sizeof(csv), "%s/rows.csv", dir);

	/* record, one durable process at a time */
	new_agent(bin, 0);
	t = now_s();
	for (i = 0; i < records; i++) {
		char *rec[] = { bin, "record", "outreach", "--date",
				"2025-11-20", "--title", title, "--parents",
				"40", "--students", "120", NULL };

		snprintf(title, sizeof(title), "Họp phụ huynh %ld", i);
		if (run(rec, &rss_record) != 0) {
			fprintf(stderr, "bench: record %ld failed\n", i);
			return 1;
		}
	}
	rec_s = now_s() - t;
	load_rows(&rs);
	base_rec_s = baseline_insert(&rs, "base-record.db", 1);
	free_rows(&rs);

	/* import of `rows` rows in one process, best of REPEAT, each into a
	 * fresh store; the baseline inserts the same rows, best of REPEAT */
	write_csv(csv, rows);
	for (k = 1; k <= REPEAT; k++) {
		char *imp[] = { bin, "import", csv, NULL };

		new_agent(bin, k);
		t = now_s();
		if (run(imp, &rss_import) != 0) {
			fprintf(stderr, "bench: import failed\n");
			return 1;
		}
		imp_s = min_d(imp_s, now_s() - t);
	}
	load_rows(&rs);
	for (k = 1; k <= REPEAT; k++) {
		snprintf(name, sizeof(name), "base-import-%d.db", k);
		base_imp_s = min_d(base_imp_s,
				   baseline_insert(&rs, name, 0));
	}
	free_rows(&rs);

	printf("tienbo-agent benchmark (%s)\n\n", bin);
	printf("%-34s %12s %14s %8s %10s\n", "operation", "agent ev/s",
	       "sqlite3 ev/s", "ratio", "peak RSS");
	printf("%-34s %12.0f %14.0f %7.0f%% %7.1f MB\n",
	       "record, 1 process + commit each", (double)records / rec_s,
	       (double)records / base_rec_s, 100.0 * base_rec_s / rec_s,
	       (double)rss_record / 1024.0);
	printf("%-34s %12.0f %14.0f %7.0f%% %7.1f MB\n",
	       "import, 1 transaction", (double)rows / imp_s,
	       (double)rows / base_imp_s, 100.0 * base_imp_s / imp_s,
	       (double)rss_import / 1024.0);
	printf("\nrecord: %ld events in %.2f s; import: %ld rows in %.2f s "
	       "(best of %d)\n(ratio = agent rate / bare sqlite3 rate; "
	       "target: import >= 50%%, RSS <= 8 MB)\n", records, rec_s,
	       rows, imp_s, REPEAT);
	helper_proc_sandbox_remove(&sb);
	return 0;
}
