/* bench_sync.c - how fast events move from a school's agent to the central
 * server over loopback HTTPS, how many bytes each costs on the wire and in
 * the store, how the server takes 50 schools uploading at once on one and
 * on two server instances, and how much memory each side needs; on SQLite
 * and on PostgreSQL, side by side, each beside the bare limit of the same
 * work measured in the same run. Not a test: figures are printed with
 * their targets, never asserted.
 *
 *   cmake --build build --target tienbo-agent tienbo-server bench_sync
 *   ./build/bench_sync [--db sqlite|pg|both] [--events N] [--uploaders U]
 *                      [--up-batches B] [--up-events E] [--keep]
 *
 * Defaults: both stores, N = 1,000,000 events, U = 50 uploaders, each
 * posting B = 40 batches of E = 20 events. tienbo-agent and tienbo-server
 * are taken from beside this program, scripts/mkcerts.sh and
 * scripts/pg-cluster.sh from the source tree above it. Everything happens
 * in a fresh directory under /tmp, removed at the end (--keep leaves it).
 * PostgreSQL is a cluster of its own (pg-cluster.sh start, with
 * TB_PG_DURABLE=1: fsync, synchronous_commit and full_page_writes on, as
 * SQLite's synchronous=FULL), stopped at the end whatever happens: a
 * watchdog process stops it when this one exits or dies, and the servers
 * get SIGTERM when it does (PR_SET_PDEATHSIG).
 *
 * For each store, fresh:
 * end to end  N typical events (an outreach event: Vietnamese title, two
 *             audience counts, occasion, channel) are loaded into an
 *             agent with `tienbo-agent import` (not timed), then
 *             `tienbo-agent sync` is timed from exec to exit: cursor, every
 *             batch built from the store, gzip'd, posted over HTTPS to a
 *             real tienbo-server, merged, acknowledged and marked.
 * wire bytes  gzip body bytes the agent posted / N (its summary line).
 * stored      bytes per event in the store after the sync (the server
 *             stopped): SQLite after PRAGMA wal_checkpoint(TRUNCATE), the
 *             file and page_count * page_size, and per table and index
 *             from dbstat; PostgreSQL after VACUUM ANALYZE,
 *             pg_total_relation_size of events and event_history (heap,
 *             TOAST, indexes), and apart the report roll-ups.
 * bare limit  the same rows, read back from the agent's store beforehand,
 *             in batches of the agent's default size: gzip (level 6, as
 *             the agent), gunzip, and an insert of every row into a fresh
 *             store of the same backend, the two tables the merge writes
 *             (event_history: the envelope in columns, the fields JSON;
 *             events: the narrow index) in multi-row INSERTs of 32 as the
 *             merge, in ONE transaction. No TLS, HTTP, JSON parsing,
 *             validation, hashing, roll-ups or per-batch commit: what no
 *             sync can beat on this machine.
 * concurrent  U devices of U schools enrolled; U threads, each with its
 *             own libcurl handle (keep-alive, certificate verified), post
 *             pre-built gzip batches one after another; batches/s over the
 *             wall time, p50 and p99 of the request latency. Once against
 *             one `serve`, once (new schools) against two `serve`
 *             processes on the same store, uploader i on instance i % 2.
 * peak RSS    the agent's sync from wait4 (ru_maxrss), its private memory
 *             (RssAnon) sampled every 2 ms, and for comparison a second
 *             sync with nothing left to send (libcurl, OpenSSL and one
 *             TLS handshake: the fixed cost); the server's from
 *             /proc/PID/status VmHWM, after the sync.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/date.h"
#include "common/event.h"
#include "common/mem.h"
#include "protocol/gz.h"
#include "server/db.h"
#include "server/sql.h"
#include "tests/helper_pg.h"
#include "tests/helper_proc.h"

#define BATCH_EVENTS 1000 /* the agent's default batch (agent/sync.c) */
#define ROWS_PER_INSERT 32 /* the merge's multi-row INSERT (merge.c) */

enum { B_SQLITE, B_PG, NBACKENDS };
static const char *const backend_name[NBACKENDS] = { "SQLite", "PostgreSQL" };
static const char *const backend_tag[NBACKENDS] = { "sqlite", "pg" };

struct bench {
	long events;
	int uploaders, up_batches, up_events, keep, want[NBACKENDS];
	char dir[64];
	char agent_bin[PATH_MAX + 32], server_bin[PATH_MAX + 32];
	char mkcerts[PATH_MAX + 32], pgscript[PATH_MAX + 32];
	char ca[PATH_MAX], env_conf[PATH_MAX + 32];
	int backend;          /* B_SQLITE or B_PG: the store of this pass */
	char db[1024];        /* the store: a file or a URL */
	pid_t server[2];
	char url[2][64];
	int phase;            /* uploader phases: new schools and devices */
	int csv_files;        /* events-K.csv written (write_csv) */
};

/* The 50 uploaders against one set of instances. */
struct up_results {
	int instances;
	double s, p50_ms, p99_ms;
	long ok, failed;
	/* CPU seconds over the phase: the serve processes, PostgreSQL's
	 * backends (children of this cluster's postmaster), and this
	 * program (the 50 clients: libcurl, TLS, on the same cores) */
	double cpu_server, cpu_pg, cpu_client;
};

/* Bytes in the store after the end-to-end sync. */
struct stored {
	long events;            /* rows of events */
	double file, pages;     /* SQLite: the file, page_count * page_size */
	double core;            /* events + event_history with indexes */
	double rollups;         /* report_* tables with indexes */
	double total;           /* SQLite: dbstat of all; PG: the database */
	char detail[2048];      /* per table and index */
};

/* What the run measured, per backend. */
struct results {
	int done;
	double import_s, sync_s, bare_s, gzip_s, gunzip_s, insert_s;
	double wire_kb, json_kb, bare_gz_bytes;
	long sent, agent_rss_kb, agent_anon_kb, agent_idle_rss_kb;
	long server_hwm_sync_kb;
	int sync_exit;
	struct up_results up[2];  /* one instance, two */
	struct stored st;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t server_pids[2]; /* stopped by die() too */
static void die(const char *what)
{
	fprintf(stderr, "bench_sync: %s\n", what);
	for (int i = 0; i < 2; i++)
		if (server_pids[i] > 0) {
			kill(server_pids[i], SIGTERM);
			waitpid(server_pids[i], NULL, 0);
		}
	helper_pg_cluster_stop();
	exit(1);
}

static void on_signal(int sig)
{
	(void)sig;
	die("interrupted");
}

/* ---- processes ------------------------------------------------------------ */

/* Whole files: helper_proc_read_file (tests/helper_proc.c). */
#define slurp(path) helper_proc_read_file((path), NULL)

/* A "Key:  N kB" figure of /proc/PID/status, or -1. */
static long proc_kb(pid_t pid, const char *key)
{
	char path[64], *text, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = slurp(path);
	if (text && (p = strstr(text, key)))
		kb = strtol(p + strlen(key), NULL, 10);
	free(text);
	return kb;
}

/* Runs argv with the agent's config in the environment, stdout to
 * out_path (or /dev/null), stderr to err_path (or inherited). Exit code,
 * or -1; *rss_kb (may be NULL) gets its peak RSS (ru_maxrss), and *anon_kb
 * (may be NULL) the most private memory (RssAnon) seen while sampling
 * every 2 ms. */
static int run(struct bench *b, char *const argv[], const char *out_path,
	       const char *err_path, long *rss_kb, long *anon_kb)
{
	struct timespec nap = { 0, 2000000L };
	struct rusage ru;
	int status = 0;
	pid_t pid = fork(), w;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(out_path ? out_path : "/dev/null",
			      O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fd, 1);
		if (err_path) {
			int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC,
				       0600);
			dup2(efd, 2);
		}
		putenv(b->env_conf);
		execv(argv[0], argv);
		_exit(127);
	}
	memset(&ru, 0, sizeof(ru));
	if (anon_kb) {
		*anon_kb = 0;
		while ((w = wait4(pid, &status, WNOHANG, &ru)) == 0 ||
		       (w < 0 && errno == EINTR)) {
			long kb = proc_kb(pid, "RssAnon:");

			if (kb > *anon_kb)
				*anon_kb = kb;
			nanosleep(&nap, NULL);
		}
	} else {
		while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
			;
	}
	if (rss_kb)
		*rss_kb = ru.ru_maxrss;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void path_in(const struct bench *b, const char *name, char *out,
		    size_t len)
{
	snprintf(out, len, "%s/%s", b->dir, name);
}

/* A file name of this pass's store: "<name>-<sqlite|pg><suffix>". */
static void path_tag(const struct bench *b, const char *name,
		     const char *suffix, char *out, size_t len)
{
	snprintf(out, len, "%s/%s-%s%s", b->dir, name, backend_tag[b->backend],
		 suffix);
}

/* Starts the PostgreSQL cluster (durable, see the top) in DIR/pg; it
 * is stopped when this process ends, however it ends. */
static void pg_cluster_start(struct bench *b)
{
	char pgdir[PATH_MAX];

	path_in(b, "pg", pgdir, sizeof(pgdir));
	fprintf(stderr, "bench_sync: starting PostgreSQL (TB_PG_DURABLE=1)\n");
	if (helper_pg_cluster_start(b->pgscript, pgdir, 1) != 0)
		die("pg-cluster.sh start failed (pg.out, --keep)");
}

/* A fresh store of this pass's backend into out: a new SQLite file
 * "<name>-sqlite.db", or a new database in the cluster. */
static void new_store(struct bench *b, const char *name, char *out,
		      size_t len)
{
	if (b->backend == B_PG) {
		if (helper_pg_newdb(out, len) != 0)
			die("cannot create a PostgreSQL database");
	} else {
		path_tag(b, name, ".db", out, len);
	}
}

/* `tienbo-server init-db` makes the pass's store. */
static void db_init(struct bench *b)
{
	char out[PATH_MAX];
	char *init[] = { b->server_bin, "init-db", "--db", b->db, NULL };

	new_store(b, "server", b->db, sizeof(b->db));
	path_tag(b, "init-db", ".out", out, sizeof(out));
	if (run(b, init, out, NULL, NULL, NULL) != 0)
		die("init-db failed");
}

/* Starts instance k of `tienbo-server serve` on the pass's store, on a
 * port the kernel picks; waits for the "(port N)" line of its log. */
static void server_start(struct bench *b, int k)
{
	static int starts;
	char log[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], name[32];
	double t0 = now_s();
	unsigned port = 0;

	snprintf(name, sizeof(name), "server-%d", ++starts);
	path_tag(b, name, ".log", log, sizeof(log));
	path_in(b, "certs/server.pem", cert, sizeof(cert));
	path_in(b, "certs/server.key", key, sizeof(key));
	b->server[k] = fork();
	if (b->server[k] < 0)
		die("fork");
	if (b->server[k] == 0) {
		char *argv[] = { b->server_bin, "serve", "--listen",
				 "127.0.0.1:0", "--cert", cert, "--key", key,
				 "--db", b->db, NULL };
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	server_pids[k] = b->server[k];
	while (!port && now_s() - t0 < 20) {
		char *text = slurp(log), *p;
		struct timespec nap = { 0, 20000000L };

		if (text && (p = strstr(text, "(port ")))
			port = (unsigned)strtoul(p + 6, NULL, 10);
		free(text);
		if (!port)
			nanosleep(&nap, NULL);
	}
	if (!port)
		die("the server did not start (see its log, --keep)");
	snprintf(b->url[k], sizeof(b->url[k]), "https://127.0.0.1:%u", port);
}

static void server_stop(struct bench *b, int k)
{
	int st;

	if (b->server[k] <= 0)
		return;
	kill(b->server[k], SIGTERM);
	waitpid(b->server[k], &st, 0);
	b->server[k] = server_pids[k] = 0;
}

/* The server's peak resident set so far (VmHWM), in KB. */
static long server_hwm_kb(const struct bench *b)
{
	return proc_kb(b->server[0], "VmHWM:");
}

/* `tienbo-server enroll`; the token is the last line of its stdout. */
static void enroll(struct bench *b, const char *school, const char *district,
		   char *token, size_t len)
{
	char out[PATH_MAX];
	char *argv[] = { b->server_bin, "enroll", "--db", b->db, "--school",
			 (char *)school, "--name", "Trường đo thử", "--district",
			 (char *)district, NULL };
	char *text, *end, *last;

	path_in(b, "enroll.out", out, sizeof(out));
	if (run(b, argv, out, NULL, NULL, NULL) != 0 || !(text = slurp(out)))
		die("enroll failed");
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	last = strrchr(text, '\n');
	snprintf(token, len, "%s", last ? last + 1 : text);
	free(text);
}

/* ---- the events ----------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const char *const titles[] = {
	"Họp phụ huynh lớp", "Sinh hoạt dưới cờ về bình đẳng giới, khối",
	"Tuyên truyền phòng chống bạo lực giới, lớp",
	"Ngoại khóa kỹ năng sống, lớp", "Họp tổ chủ nhiệm khối",
	"Tọa đàm Ngày Gia đình Việt Nam, lớp",
};
static const char *const occasions[] = { "womens-day", "happiness-day",
					 "family-day", "action-month",
					 "other" };
static const char *const channels[] = { "meeting", "event", "print", "web",
					"radio", "social-media", "other" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A typical event's kind-specific part as CSV cells (date first) or as
 * JSON keys; the same values either way. */
struct typical {
	char date[TB_DATE_LEN];
	char title[128];
	int parents, students;
	const char *occasion, *channel;
};

/* Event i of n: recorded in the order they happen (staff record an event
 * the day it happens, a few days late at worst), so dates run through
 * 2025 with seq, up to 3 days behind. */
static void typical(struct typical *t, long i, long n)
{
	uint64_t r = rng();
	int32_t day = tb_date_from_ymd(2025, 1, 1) + (int32_t)((365 * i) / n) -
		      (int32_t)(r % 4);

	tb_date_format(day < tb_date_from_ymd(2025, 1, 1)
			       ? tb_date_from_ymd(2025, 1, 1)
			       : day,
		       t->date);
	snprintf(t->title, sizeof(t->title), "%s %d%c",
		 titles[(r >> 16) % COUNT(titles)], (int)((r >> 24) % 4) + 6,
		 'A' + (int)((r >> 28) % 5));
	t->parents = (int)((r >> 32) % 60);
	t->students = 20 + (int)((r >> 40) % 400);
	t->occasion = occasions[(r >> 48) % COUNT(occasions)];
	t->channel = channels[(r >> 52) % COUNT(channels)];
}

/* The events as CSV files of CSV_ROWS rows (about 17 MB each: an import
 * refuses a file over 32 MB, far more than a school's sheet), DIR/events-K.csv
 * for K = 0, 1, ...; the number of files. */
#define CSV_ROWS 200000L

static int write_csv(const struct bench *b, long n)
{
	FILE *f = NULL;
	char path[PATH_MAX + 32];
	long i;
	int files = 0;

	for (i = 0; i < n; i++) {
		struct typical t;

		if (i % CSV_ROWS == 0) {
			if (f && fclose(f) != 0)
				die("cannot write the CSV");
			snprintf(path, sizeof(path), "%s/events-%d.csv", b->dir,
				 files++);
			if (!(f = fopen(path, "w")))
				die("cannot write the CSV");
			fputs("kind,date,title,parents,students,occasion,"
			      "channel\n", f);
		}
		typical(&t, i, n);
		fprintf(f, "outreach,%s,\"%s\",%d,%d,%s,%s\n", t.date, t.title,
			t.parents, t.students, t.occasion, t.channel);
	}
	if (f && fclose(f) != 0)
		die("cannot write the CSV");
	return files;
}

/* ---- end to end ----------------------------------------------------------- */

/* KB per unit of the agent's sizes ("bytes", "KB", "MB"). */
static double unit_kb(const char *u)
{
	if (strcmp(u, "MB") == 0)
		return 1024.0;
	return strcmp(u, "KB") == 0 ? 1.0 : 1.0 / 1024.0;
}

static void end_to_end(struct bench *b, struct results *res)
{
	char conf[PATH_MAX], data[PATH_MAX], csv[PATH_MAX], out[PATH_MAX];
	char err[PATH_MAX], token[128];
	char *text, *p, u1[8], u2[8];
	double t0;

	path_tag(b, "agent", ".conf", conf, sizeof(conf));
	path_tag(b, "agent-data", "", data, sizeof(data));
	path_tag(b, "agent", ".out", out, sizeof(out));
	path_tag(b, "agent", ".err", err, sizeof(err));
	snprintf(b->env_conf, sizeof(b->env_conf), "TIENBO_CONFIG=%s", conf);
	enroll(b, "HB-001", "HB-D1", token, sizeof(token));
	{
		char *argv[] = { b->agent_bin, "init", "--server", b->url[0],
				 "--school", "HB-001", "--token", token,
				 "--ca-file", b->ca, "--data-dir", data, NULL };

		if (run(b, argv, NULL, err, NULL, NULL) != 0)
			die("agent init failed");
	}
	if (!b->csv_files) {
		fprintf(stderr, "bench_sync: writing %ld events as CSV\n",
			b->events);
		b->csv_files = write_csv(b, b->events);
	}
	fprintf(stderr, "bench_sync: %s: tienbo-agent import\n",
		backend_name[b->backend]);
	t0 = now_s();
	for (int k = 0; k < b->csv_files; k++) {
		/* --again: random titles and dates repeat an activity */
		char *argv[] = { b->agent_bin, "import", "--again", csv,
				 NULL };

		snprintf(csv, sizeof(csv), "%s/events-%d.csv", b->dir, k);
		if (run(b, argv, NULL, err, NULL, NULL) != 0)
			die("agent import failed (see agent-*.err, --keep)");
	}
	res->import_s = now_s() - t0;
	fprintf(stderr, "bench_sync: %s: tienbo-agent sync\n",
		backend_name[b->backend]);
	{
		char *argv[] = { b->agent_bin, "sync", NULL };

		t0 = now_s();
		res->sync_exit = run(b, argv, out, err, &res->agent_rss_kb,
				     &res->agent_anon_kb);
		res->sync_s = now_s() - t0;
	}
	res->server_hwm_sync_kb = server_hwm_kb(b);
	{
		/* the fixed cost: a sync with nothing left to send still
		 * loads libcurl, starts OpenSSL and makes a TLS handshake */
		char *argv[] = { b->agent_bin, "sync", NULL };

		run(b, argv, NULL, err, &res->agent_idle_rss_kb, NULL);
	}
	/* "sync: N sent (...) in B batches, X KB acknowledged (Y KB of
	 * JSON); ..." (units: bytes, KB or MB) */
	text = slurp(out);
	if (!text || sscanf(text, "sync: %ld sent", &res->sent) != 1 ||
	    !(p = strstr(text, "batches, ")) ||
	    sscanf(p, "batches, %lf %7s acknowledged (%lf %7s of JSON)",
		   &res->wire_kb, u1, &res->json_kb, u2) != 4 ||
	    (res->wire_kb *= unit_kb(u1)) < 0 ||
	    (res->json_kb *= unit_kb(u2)) < 0)
		fprintf(stderr, "bench_sync: cannot read the sync summary: %s\n",
			text ? text : "(none)");
	free(text);
}

/* ---- the bare limit -------------------------------------------------------- */

struct bare_rows {
	char *json;       /* the batch: envelope + rows */
	size_t len, cap;
	char *fields;     /* each row's fields object, NUL-separated */
	size_t flen, fcap;
	int n;
	int64_t seq[BATCH_EVENTS], rev[BATCH_EVENTS], at[BATCH_EVENTS];
	char id[BATCH_EVENTS][TB_ID_LEN], date[BATCH_EVENTS][11];
	size_t foff[BATCH_EVENTS];
};

static void grow(char **buf, size_t *len, size_t *cap, const char *s,
		 size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			die("out of memory");
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void add(struct bare_rows *r, const char *s, size_t n)
{
	grow(&r->json, &r->len, &r->cap, s, n);
}

static struct tb_stmt *prep(struct tb_sql *db, const char *sql)
{
	struct tb_stmt *st = NULL;

	if (tb_sql_prepare(db, sql, 0, &st) != 0)
		die(tb_sql_errmsg(db));
	return st;
}

/* "INSERT INTO table cols VALUES row,row,... (rows times)" */
static struct tb_stmt *prep_rows(struct tb_sql *db, const char *table,
				 const char *cols, const char *row, int rows)
{
	char sql[4096];
	size_t used = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s%s "
				       "VALUES", table, cols);

	for (int i = 0; i < rows; i++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, "%s%s",
					 i ? "," : "", row);
	return prep(db, sql);
}

/* Binds rows [from, from + rows) of r to st and runs it: hist 1 is
 * event_history's 12 columns, 0 events' 7, in the merge's order. */
static void bare_rows_insert(struct tb_stmt *st, int hist,
			     const struct bare_rows *r, int from, int rows,
			     const unsigned char *hash)
{
	int nc = hist ? 12 : 7;

	for (int k = 0; k < rows; k++) {
		int i = from + k, b = k * nc;

		tb_sql_bind_text(st, b + 1, r->id[i], -1);
		tb_sql_bind_int64(st, b + 2, r->rev[i]);
		if (hist) {
			tb_sql_bind_text(st, b + 3, "outreach", -1);
			tb_sql_bind_text(st, b + 4, r->date[i], -1);
			tb_sql_bind_int64(st, b + 5, 0);
			tb_sql_bind_null(st, b + 6);
			tb_sql_bind_text(st, b + 7,
					 "d0000000-0000-4000-8000-000000000000",
					 -1);
			tb_sql_bind_int64(st, b + 8, r->seq[i]);
			tb_sql_bind_int64(st, b + 9, r->at[i]);
			tb_sql_bind_int64(st, b + 10, r->at[i]);
			tb_sql_bind_blob(st, b + 11, hash, 32);
			tb_sql_bind_text(st, b + 12, r->fields + r->foff[i], -1);
		} else {
			tb_sql_bind_text(st, b + 3, "HB-001", -1);
			tb_sql_bind_text(st, b + 4, "outreach", -1);
			tb_sql_bind_text(st, b + 5, r->date[i], -1);
			tb_sql_bind_int64(st, b + 6, 0);
			tb_sql_bind_int64(st, b + 7, r->at[i]);
		}
	}
	if (tb_sql_step(st) != TB_SQL_DONE)
		die("bare insert failed");
	tb_sql_reset(st);
}

/* The statements of the bare insert: [hist][0] of 32 rows, [hist][1]
 * of one. */
static void bare_insert(struct tb_stmt *st[2][2], const struct bare_rows *r,
			const unsigned char *hash)
{
	for (int hist = 1; hist >= 0; hist--) {
		int i = 0;

		for (; i + ROWS_PER_INSERT <= r->n; i += ROWS_PER_INSERT)
			bare_rows_insert(st[hist][0], hist, r, i,
					 ROWS_PER_INSERT, hash);
		for (; i < r->n; i++)
			bare_rows_insert(st[hist][1], hist, r, i, 1, hash);
	}
}

/* Reads up to BATCH_EVENTS queue rows into r as the agent's wire JSON
 * (the envelope, then the fields flattened in; not timed). 0 at the end. */
static int bare_read(sqlite3_stmt *rd, struct bare_rows *r)
{
	static const char head[] =
		"{\"version\":1,\"device\":\"d0000000-0000-4000-8000-"
		"000000000000\",\"school\":\"HB-001\",\"first_seq\":1,"
		"\"last_seq\":1000,\"events\":[";

	r->n = 0;
	r->len = r->flen = 0;
	add(r, head, sizeof(head) - 1);
	while (r->n < BATCH_EVENTS && sqlite3_step(rd) == SQLITE_ROW) {
		int i = r->n;
		const char *f = (const char *)sqlite3_column_text(rd, 5);
		char env[256], at[32];
		time_t t;
		struct tm tm;

		r->seq[i] = sqlite3_column_int64(rd, 0);
		snprintf(r->id[i], TB_ID_LEN, "%s",
			 (const char *)sqlite3_column_text(rd, 1));
		r->rev[i] = sqlite3_column_int64(rd, 2);
		snprintf(r->date[i], 11, "%s",
			 (const char *)sqlite3_column_text(rd, 3));
		r->at[i] = sqlite3_column_int64(rd, 4);
		t = (time_t)r->at[i];
		gmtime_r(&t, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(env, sizeof(env), "%s{\"id\":\"%s\",\"seq\":%" PRId64
			 ",\"kind\":\"outreach\",\"date\":\"%s\",\"revision\":"
			 "%" PRId64 ",\"recorded_at\":\"%s\"%s", i ? "," : "",
			 r->id[i], r->seq[i], r->date[i], r->rev[i], at,
			 f[0] && f[1] != '}' ? "," : "");
		add(r, env, strlen(env));
		add(r, f + 1, strlen(f + 1));
		r->foff[i] = r->flen;
		grow(&r->fields, &r->flen, &r->fcap, f, strlen(f) + 1);
		r->n++;
	}
	add(r, "]}", 2);
	return r->n;
}

static void bare_limit(struct bench *b, struct results *res)
{
	static const char *const tables[2] = { "events", "event_history" };
	static const char *const cols[2] = {
		"(id, revision, school, kind, date, voided, received_at)",
		"(id, revision, kind, date, voided, void_reason, device, seq,"
		" recorded_at, received_at, content_hash, fields)" };
	static const char *const row[2] = { "(?,?,?,?,?,?,?)",
					    "(?,?,?,?,?,?,?,?,?,?,?,?)" };
	struct tb_db_opts o = { 0 };
	struct bare_rows *r = calloc(1, sizeof(*r));
	unsigned char hash[32] = { 0 };
	char agent_db[PATH_MAX], bare_db[1024], msg[256];
	sqlite3 *src = NULL;
	struct tb_sql *dst = NULL;
	struct tb_stmt *st[2][2];
	sqlite3_stmt *rd;
	double t;

	if (!r)
		die("out of memory");
	path_tag(b, "agent-data", "/agent.db", agent_db, sizeof(agent_db));
	if (sqlite3_open_v2(agent_db, &src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		die("cannot open the agent's store");
	new_store(b, "bare", bare_db, sizeof(bare_db));
	o.sync_full = 1;
	o.create = 1;
	if (tb_db_open(bare_db, &o, &dst, msg, sizeof(msg)) != 0)
		die(msg);
	if (b->backend == B_SQLITE)
		sqlite3_exec(tb_sql_sqlite(dst), "PRAGMA cache_size=-16384",
			     NULL, NULL, NULL);
	if (sqlite3_prepare_v2(src, "SELECT seq, id, revision, date, "
			       "recorded_at, fields FROM queue ORDER BY seq",
			       -1, &rd, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(src));
	for (int h = 0; h < 2; h++) {
		st[h][0] = prep_rows(dst, tables[h], cols[h], row[h],
				     ROWS_PER_INSERT);
		st[h][1] = prep_rows(dst, tables[h], cols[h], row[h], 1);
	}
	t = now_s();
	if (tb_sql_begin(dst, 1) != 0)
		die(tb_sql_errmsg(dst));
	res->insert_s += now_s() - t;
	while (bare_read(rd, r)) {
		unsigned char *gz = NULL, *raw = NULL;
		size_t gzlen = 0, rawlen = 0;

		t = now_s();
		if (tb_gz_compress(r->json, r->len, 6, &gz, &gzlen) != 0)
			die("gzip failed");
		res->gzip_s += now_s() - t;
		res->bare_gz_bytes += (double)gzlen;
		t = now_s();
		if (tb_gz_decompress(gz, gzlen, 8 << 20, &raw, &rawlen) != 0 ||
		    rawlen != r->len)
			die("gunzip failed");
		res->gunzip_s += now_s() - t;
		t = now_s();
		bare_insert(st, r, hash);
		res->insert_s += now_s() - t;
		tb_free(gz);
		tb_free(raw);
	}
	t = now_s();
	if (tb_sql_commit(dst) != 0)
		die(tb_sql_errmsg(dst));
	res->insert_s += now_s() - t;
	res->bare_s = res->gzip_s + res->gunzip_s + res->insert_s;
	sqlite3_finalize(rd);
	for (int h = 0; h < 2; h++) {
		tb_sql_finalize(st[h][0]);
		tb_sql_finalize(st[h][1]);
	}
	sqlite3_close(src);
	tb_sql_close(dst);
	if (b->backend == B_PG)
		helper_pg_dropdb(bare_db);
	free(r->json);
	free(r->fields);
	free(r);
}

/* ---- 50 uploaders --------------------------------------------------------- */

struct uploader {
	struct bench *b;
	const char *url;      /* the instance it posts to */
	char token[128];
	unsigned char **gz;   /* up_batches pre-built gzip bodies */
	size_t *gzlen;
	double *lat_ms;       /* per batch */
	long ok, failed;
	pthread_t thread;
};

static pthread_barrier_t start_line;

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void *upload_thread(void *arg)
{
	struct uploader *u = arg;
	struct curl_slist *h = NULL;
	char url[128], auth[160];
	CURL *c = curl_easy_init();
	int i;

	snprintf(url, sizeof(url), "%s/v1/batches", u->url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", u->token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Content-Encoding: gzip");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, u->b->ca);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	pthread_barrier_wait(&start_line);
	for (i = 0; i < u->b->up_batches; i++) {
		long status = 0;
		double t = now_s();

		curl_easy_setopt(c, CURLOPT_POSTFIELDS, u->gz[i]);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)u->gzlen[i]);
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		u->lat_ms[i] = (now_s() - t) * 1000.0;
		if (status == 200)
			u->ok++;
		else
			u->failed++;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

/* Batch `i` (0-based) of uploader device dev: up_events typical events. */
static void up_batch(const struct bench *b, const char *dev,
		     const char *school, int i, unsigned char **gz,
		     size_t *gzlen)
{
	size_t cap = 512 + (size_t)b->up_events * 512, len;
	char *json = malloc(cap), id[TB_ID_LEN];
	int64_t first = (int64_t)i * b->up_events + 1;
	int k;

	if (!json)
		die("out of memory");
	len = (size_t)snprintf(json, cap,
			       "{\"version\":1,\"device\":\"%s\",\"school\":"
			       "\"%s\",\"first_seq\":%" PRId64 ",\"last_seq\":%"
			       PRId64 ",\"events\":[", dev, school, first,
			       first + b->up_events - 1);
	for (k = 0; k < b->up_events; k++) {
		struct typical t;

		typical(&t, (long)first + k, (long)b->up_batches * b->up_events);
		tb_uuid_for_device(dev, first + k, id);
		len += (size_t)snprintf(json + len, cap - len,
			"%s{\"id\":\"%s\",\"seq\":%" PRId64 ",\"kind\":"
			"\"outreach\",\"date\":\"%s\",\"revision\":1,"
			"\"recorded_at\":\"2025-11-20T08:15:00Z\",\"title\":"
			"\"%s\",\"parents\":%d,\"students\":%d,\"occasion\":"
			"\"%s\",\"channel\":\"%s\"}", k ? "," : "", id,
			first + k, t.date, t.title, t.parents, t.students,
			t.occasion, t.channel);
	}
	len += (size_t)snprintf(json + len, cap - len, "]}");
	if (tb_gz_compress(json, len, 6, gz, gzlen) != 0)
		die("gzip failed");
	free(json);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The uploaders against the b->server instances running (1 or 2), each
 * phase with schools and devices of its own. */
/* CPU seconds (user + system) of process pid, or of every child of
 * ppid when children is 1, from /proc (0 when gone). */
static double proc_cpu(pid_t pid, int children)
{
	static long tick;
	char path[64], *text, *p;
	unsigned long ut, st;
	int ppid;
	double sum = 0;

	if (!tick)
		tick = sysconf(_SC_CLK_TCK);
	if (!children) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		text = slurp(path);
		/* after "(comm)": state ppid ... field 14 utime, 15 stime */
		if (text && (p = strrchr(text, ')')) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			   "%lu %lu", &ut, &st) == 2)
			sum = (double)(ut + st) / (double)tick;
		free(text);
		return sum;
	}
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		pid_t q = (pid_t)strtol(e->d_name, &p, 10);

		if (q <= 0 || *p)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)q);
		text = slurp(path);
		if (text && (p = strrchr(text, ')')) &&
		    sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			sum += proc_cpu(q, 0);
		free(text);
	}
	if (d)
		closedir(d);
	return sum;
}

/* The postmaster of this run's cluster, or 0. */
static pid_t postmaster(const struct bench *b)
{
	char path[PATH_MAX], *base, *pid, *nl;
	pid_t pm = 0;

	path_in(b, "pg/base", path, sizeof(path));
	if (!(base = slurp(path)))
		return 0;
	if ((nl = strchr(base, '\n')))
		*nl = '\0';
	snprintf(path, sizeof(path), "%s/data/postmaster.pid", base);
	if ((pid = slurp(path)))
		pm = (pid_t)strtol(pid, NULL, 10);
	free(pid);
	free(base);
	return pm;
}

/* CPU seconds so far of: [0] the serve instances, [1] PostgreSQL, [2]
 * this program. */
static void cpu_now(const struct bench *b, double out[3])
{
	struct rusage ru;
	pid_t pm = b->backend == B_PG ? postmaster(b) : 0;

	out[0] = out[1] = 0;
	for (int k = 0; k < 2; k++)
		if (b->server[k] > 0)
			out[0] += proc_cpu(b->server[k], 0);
	if (pm > 0)
		out[1] = proc_cpu(pm, 0) + proc_cpu(pm, 1);
	getrusage(RUSAGE_SELF, &ru);
	out[2] = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void concurrent(struct bench *b, int instances, struct up_results *res)
{
	double cpu0[3], cpu1[3];
	struct uploader *u = calloc((size_t)b->uploaders, sizeof(*u));
	size_t total = (size_t)b->uploaders * (size_t)b->up_batches, n = 0;
	double *all = malloc(total * sizeof(double)), t0;
	int i, j, phase = ++b->phase;

	if (!u || !all)
		die("out of memory");
	res->instances = instances;
	fprintf(stderr, "bench_sync: %s: enrolling %d schools, building %zu "
		"batches\n", backend_name[b->backend], b->uploaders, total);
	for (i = 0; i < b->uploaders; i++) {
		char school[32], district[16], dev[48];

		snprintf(school, sizeof(school), "B%d-%03d", phase, i + 1);
		snprintf(district, sizeof(district), "BD-%d", i % 5 + 1);
		snprintf(dev, sizeof(dev), "b%07x-0000-4000-8000-000000000000",
			 (unsigned)(phase * 1000 + i + 1));
		enroll(b, school, district, u[i].token, sizeof(u[i].token));
		u[i].b = b;
		u[i].url = b->url[i % instances];
		u[i].gz = calloc((size_t)b->up_batches, sizeof(*u[i].gz));
		u[i].gzlen = calloc((size_t)b->up_batches, sizeof(size_t));
		u[i].lat_ms = calloc((size_t)b->up_batches, sizeof(double));
		if (!u[i].gz || !u[i].gzlen || !u[i].lat_ms)
			die("out of memory");
		for (j = 0; j < b->up_batches; j++)
			up_batch(b, dev, school, j, &u[i].gz[j],
				 &u[i].gzlen[j]);
	}
	fprintf(stderr, "bench_sync: %s: %d uploaders posting to %d "
		"instance(s)\n", backend_name[b->backend], b->uploaders,
		instances);
	pthread_barrier_init(&start_line, NULL, (unsigned)b->uploaders + 1);
	for (i = 0; i < b->uploaders; i++)
		if (pthread_create(&u[i].thread, NULL, upload_thread, &u[i]))
			die("pthread_create");
	cpu_now(b, cpu0);
	pthread_barrier_wait(&start_line);
	t0 = now_s();
	for (i = 0; i < b->uploaders; i++)
		pthread_join(u[i].thread, NULL);
	res->s = now_s() - t0;
	cpu_now(b, cpu1);
	res->cpu_server = cpu1[0] - cpu0[0];
	res->cpu_pg = cpu1[1] - cpu0[1];
	res->cpu_client = cpu1[2] - cpu0[2];
	pthread_barrier_destroy(&start_line);
	for (i = 0; i < b->uploaders; i++) {
		for (j = 0; j < b->up_batches; j++) {
			all[n++] = u[i].lat_ms[j];
			tb_free(u[i].gz[j]);
		}
		res->ok += u[i].ok;
		res->failed += u[i].failed;
		free(u[i].gz);
		free(u[i].gzlen);
		free(u[i].lat_ms);
	}
	qsort(all, n, sizeof(double), cmp_double);
	res->p50_ms = all[n / 2];
	res->p99_ms = all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	free(all);
	free(u);
}

/* ---- bytes stored ----------------------------------------------------------- */

static void detail_add(struct stored *s, const char *name, double bytes)
{
	size_t used = strlen(s->detail);

	if (s->events > 0)
		snprintf(s->detail + used, sizeof(s->detail) - used,
			 "    %-36s %12.0f B %8.1f B/event\n", name, bytes,
			 bytes / (double)s->events);
}

static int is_rollup(const char *name)
{
	return strncmp(name, "report_", 7) == 0;
}

static int is_core(const char *name)
{
	return strcmp(name, "events") == 0 || strcmp(name, "event_history") == 0;
}

/* SQLite, the server stopped: checkpoint the WAL away, then the file,
 * its pages, and dbstat per table and index (if this SQLite has it). */
static void stored_sqlite(struct bench *b, struct stored *s)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;

	if (sqlite3_open_v2(b->db, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		die("cannot open the server's store");
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	if (stat(b->db, &sb) == 0)
		s->file = (double)sb.st_size;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM events),"
			       " (SELECT page_count FROM pragma_page_count) *"
			       " (SELECT page_size FROM pragma_page_size)", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		s->events = (long)sqlite3_column_int64(st, 0);
		s->pages = (double)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	/* per table and index; a table's own btree and its indexes are
	 * counted under its name (tbl_name) in the sums */
	if (sqlite3_prepare_v2(db, "SELECT d.name, coalesce(m.tbl_name,"
			       " d.name), sum(d.pgsize) FROM dbstat d LEFT JOIN"
			       " sqlite_schema m ON m.name = d.name GROUP BY"
			       " d.name ORDER BY 3 DESC", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(s->detail, sizeof(s->detail),
			 "    (no dbstat in this SQLite: %s)\n",
			 sqlite3_errmsg(db));
	} else {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			const char *tbl = (const char *)sqlite3_column_text(st, 1);
			double bytes = (double)sqlite3_column_int64(st, 2);

			s->total += bytes;
			if (is_core(tbl))
				s->core += bytes;
			else if (is_rollup(tbl))
				s->rollups += bytes;
			if (is_core(tbl) || is_rollup(tbl) || bytes > 1e6)
				detail_add(s, name, bytes);
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* One number from a PostgreSQL query, or -1. */
static double pg_num(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	double v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, 0))
		v = strtod(PQgetvalue(r, 0, 0), NULL);
	else
		fprintf(stderr, "bench_sync: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return v;
}

/* PostgreSQL, the servers stopped: VACUUM ANALYZE, then every table's
 * total (heap, TOAST, free space and visibility maps, its indexes). */
static void stored_pg(struct bench *b, struct stored *s)
{
	PGconn *c = PQconnectdb(b->db);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		die(PQerrorMessage(c));
	PQclear(PQexec(c, "VACUUM ANALYZE"));
	s->events = (long)pg_num(c, "SELECT count(*) FROM events");
	s->total = pg_num(c, "SELECT pg_database_size(current_database())");
	r = PQexec(c, "SELECT c.relname, pg_table_size(c.oid),"
		   " pg_indexes_size(c.oid), pg_total_relation_size(c.oid)"
		   " FROM pg_class c JOIN pg_namespace n ON n.oid ="
		   " c.relnamespace WHERE n.nspname = current_schema() AND"
		   " c.relkind = 'r' ORDER BY 4 DESC");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die(PQerrorMessage(c));
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0);
		double heap = strtod(PQgetvalue(r, i, 1), NULL);
		double idx = strtod(PQgetvalue(r, i, 2), NULL);
		double all = strtod(PQgetvalue(r, i, 3), NULL);
		char label[96];

		if (is_core(name))
			s->core += all;
		else if (is_rollup(name))
			s->rollups += all;
		if (is_core(name) || is_rollup(name) || all > 1e6) {
			snprintf(label, sizeof(label), "%s (table + TOAST)",
				 name);
			detail_add(s, label, heap);
			snprintf(label, sizeof(label), "%s (its indexes)", name);
			detail_add(s, label, idx);
		}
	}
	PQclear(r);
	PQfinish(c);
}

/* ---- one store ---------------------------------------------------------------- */

static void one_backend(struct bench *b, int backend, struct results *res)
{
	b->backend = backend;
	db_init(b);
	server_start(b, 0);
	end_to_end(b, res);
	server_stop(b, 0);
	fprintf(stderr, "bench_sync: %s: bytes stored\n",
		backend_name[backend]);
	if (backend == B_PG)
		stored_pg(b, &res->st);
	else
		stored_sqlite(b, &res->st);
	fprintf(stderr, "bench_sync: %s: bare limit\n", backend_name[backend]);
	bare_limit(b, res);
	server_start(b, 0);
	concurrent(b, 1, &res->up[0]);
	server_start(b, 1);
	concurrent(b, 2, &res->up[1]);
	server_stop(b, 0);
	server_stop(b, 1);
	res->done = 1;
}

/* ---- the tables ------------------------------------------------------------ */

static double ev_s(const struct bench *b, double s)
{
	return s > 0 ? (double)b->events / s : 0;
}

static double up_rate(const struct up_results *u)
{
	return u->s > 0 ? (double)u->ok / u->s : 0;
}

static double per_ev(const struct stored *s, double bytes)
{
	return s->events > 0 ? bytes / (double)s->events : 0;
}

static void print_backend(const struct bench *b, int k, const struct results *r)
{
	double e2e = ev_s(b, r->sync_s), bare = ev_s(b, r->bare_s);
	double wire = r->wire_kb * 1024.0 / (double)b->events;

	printf("\n== %s: %ld events, agent -> server over loopback HTTPS, "
	       "%ld cores%s\n\n", backend_name[k], b->events,
	       sysconf(_SC_NPROCESSORS_ONLN),
	       k == B_PG ? " (fsync, synchronous_commit, full_page_writes on)"
			 : " (WAL, synchronous=FULL)");
	printf("%-44s %16s   %s\n", "", "measured", "target");
	printf("%-44s %13.0f/s   >= 100000/s\n", "end to end, events", e2e);
	printf("%-44s %14.2f s\n", "  tienbo-agent sync, wall time", r->sync_s);
	printf("%-44s %16ld\n", "  events acknowledged", r->sent);
	printf("%-44s %16d\n", "  exit code of the sync", r->sync_exit);
	printf("%-44s %13.0f/s\n", "bare limit: gzip+gunzip+1-tx insert", bare);
	printf("%-44s %14.2f s\n", "  gzip level 6", r->gzip_s);
	printf("%-44s %14.2f s\n", "  gunzip", r->gunzip_s);
	printf("%-44s %14.2f s\n", "  insert history + events, one COMMIT",
	       r->insert_s);
	printf("%-44s %15.1f%%   >= 30%%\n", "end to end / bare limit",
	       bare > 0 ? 100.0 * e2e / bare : 0);
	printf("%-44s %14.1f B   <= 40 B\n", "wire bytes per event (gzip body)",
	       wire);
	printf("%-44s %14.1f B\n", "  bare limit's gzip, per event",
	       r->bare_gz_bytes / (double)b->events);
	printf("%-44s %14.1f B\n", "  JSON per event (before gzip)",
	       r->json_kb * 1024.0 / (double)b->events);
	printf("%-44s %13.1f MB   <= 8 MB\n", "agent peak RSS (sync, ru_maxrss)",
	       (double)r->agent_rss_kb / 1024.0);
	printf("%-44s %13.1f MB\n", "  of it private (RssAnon, sampled)",
	       (double)r->agent_anon_kb / 1024.0);
	printf("%-44s %13.1f MB\n", "  a sync with nothing to send",
	       (double)r->agent_idle_rss_kb / 1024.0);
	printf("%-44s %13.1f MB\n", "server peak RSS after the sync",
	       (double)r->server_hwm_sync_kb / 1024.0);
	printf("%-44s %14.2f s\n", "(agent import of the CSV, not timed above)",
	       r->import_s);
	printf("\nstored, %ld events (%s):\n", r->st.events,
	       k == B_PG ? "after VACUUM ANALYZE"
			 : "after wal_checkpoint(TRUNCATE)");
	printf("%-44s %14.1f B   <= 500 B\n",
	       "  events + event_history + indexes, /event",
	       per_ev(&r->st, r->st.core));
	printf("%-44s %14.1f B\n", "  report roll-ups, /event",
	       per_ev(&r->st, r->st.rollups));
	if (k == B_PG) {
		printf("%-44s %14.1f B\n", "  whole database, /event",
		       per_ev(&r->st, r->st.total));
	} else {
		printf("%-44s %14.1f B\n", "  the file, /event",
		       per_ev(&r->st, r->st.file));
		printf("%-44s %14.1f B\n", "  page_count * page_size, /event",
		       per_ev(&r->st, r->st.pages));
	}
	printf("%s", r->st.detail);
	for (int i = 0; i < 2; i++) {
		const struct up_results *u = &r->up[i];

		printf("\n%d uploaders x %d batches x %d events, %d serve "
		       "instance%s:\n", b->uploaders, b->up_batches,
		       b->up_events, u->instances, u->instances > 1 ? "s" : "");
		printf("%-44s %13.0f/s   >= 1000/s\n", "server ingest, batches",
		       up_rate(u));
		printf("%-44s %13.0f/s\n", "  events", up_rate(u) * b->up_events);
		printf("%-44s %13.1f ms\n", "  latency p50", u->p50_ms);
		printf("%-44s %13.1f ms   <= 100 ms\n", "  latency p99",
		       u->p99_ms);
		printf("%-44s %16ld\n", "  batches refused or failed", u->failed);
		if (u->ok > 0) {
			printf("%-44s %13.2f ms\n", "  CPU per batch: serve",
			       1000.0 * u->cpu_server / (double)u->ok);
			if (k == B_PG)
				printf("%-44s %13.2f ms\n",
				       "  CPU per batch: PostgreSQL",
				       1000.0 * u->cpu_pg / (double)u->ok);
			printf("%-44s %13.2f ms\n",
			       "  CPU per batch: the 50 clients (same cores)",
			       1000.0 * u->cpu_client / (double)u->ok);
			printf("%-44s %13.1f%%\n", "  share of the cores, all three",
			       100.0 * (u->cpu_server + u->cpu_pg +
					u->cpu_client) /
			       (u->s * (double)sysconf(_SC_NPROCESSORS_ONLN)));
		}
	}
}

/* A row of the side-by-side table: SQLite, PostgreSQL, PG/SQLite. */
static void row(const char *what, int dec, double s, double p,
		int have_s, int have_p)
{
	char a[32] = "-", c[32] = "-", ratio[32] = "-";

	if (have_s)
		snprintf(a, sizeof(a), "%.*f", dec, s);
	if (have_p)
		snprintf(c, sizeof(c), "%.*f", dec, p);
	if (have_s && have_p && s > 0)
		snprintf(ratio, sizeof(ratio), "%.2f", p / s);
	printf("%-46s %14s %14s %10s\n", what, a, c, ratio);
}

static void print_summary(const struct bench *b, const struct results *r)
{
	const struct results *s = &r[B_SQLITE], *p = &r[B_PG];
	int hs = s->done, hp = p->done;

	printf("\n== side by side: %ld events; %d uploaders x %d batches of %d "
	       "events\n\n", b->events, b->uploaders, b->up_batches,
	       b->up_events);
	printf("%-46s %14s %14s %10s\n", "figure", "SQLite", "PostgreSQL",
	       "PG/SQLite");
	row("end to end, events/s", 0, ev_s(b, s->sync_s),
	    ev_s(b, p->sync_s), hs, hp);
	row("bare limit (gzip+gunzip+1-tx insert), ev/s", 0,
	    ev_s(b, s->bare_s), ev_s(b, p->bare_s), hs, hp);
	row("end to end / bare limit, %", 1,
	    s->bare_s > 0 ? 100.0 * s->bare_s / s->sync_s : 0,
	    p->bare_s > 0 ? 100.0 * p->bare_s / p->sync_s : 0, hs, hp);
	row("wire bytes per event", 1,
	    s->wire_kb * 1024.0 / (double)b->events,
	    p->wire_kb * 1024.0 / (double)b->events, hs, hp);
	row("stored B/event: events + history + indexes", 1,
	    per_ev(&s->st, s->st.core), per_ev(&p->st, p->st.core), hs, hp);
	row("stored B/event: report roll-ups", 1,
	    per_ev(&s->st, s->st.rollups), per_ev(&p->st, p->st.rollups), hs,
	    hp);
	row("stored B/event: file (SQLite) / database (PG)", 1,
	    per_ev(&s->st, s->st.file), per_ev(&p->st, p->st.total), hs, hp);
	for (int i = 0; i < 2; i++) {
		char what[64];

		snprintf(what, sizeof(what), "uploaders, %d instance%s: batches/s",
			 i + 1, i ? "s" : "");
		row(what, 0, up_rate(&s->up[i]), up_rate(&p->up[i]), hs, hp);
		snprintf(what, sizeof(what), "  p50 ms");
		row(what, 1, s->up[i].p50_ms, p->up[i].p50_ms, hs, hp);
		snprintf(what, sizeof(what), "  p99 ms");
		row(what, 1, s->up[i].p99_ms, p->up[i].p99_ms, hs, hp);
		snprintf(what, sizeof(what), "  refused or failed");
		row(what, 0, (double)s->up[i].failed,
		    (double)p->up[i].failed, hs, hp);
	}
	row("2 instances / 1 instance, batches/s", 2,
	    up_rate(&s->up[0]) > 0 ? up_rate(&s->up[1]) / up_rate(&s->up[0]) : 0,
	    up_rate(&p->up[0]) > 0 ? up_rate(&p->up[1]) / up_rate(&p->up[0]) : 0,
	    hs, hp);
	row("server peak RSS after the sync, MB", 1,
	    (double)s->server_hwm_sync_kb / 1024.0,
	    (double)p->server_hwm_sync_kb / 1024.0, hs, hp);
	printf("\ntargets: SQLite >= 1000 batches/s with p99 <= 100 ms, <= 500 "
	       "B/event stored; PostgreSQL within 2x of SQLite on one "
	       "instance (PG/SQLite batches/s >= 0.5), two instances faster "
	       "than one (2/1 > 1)\n");
}

/* ---- setup ---------------------------------------------------------------- */

static void locate(struct bench *b, const char *argv0)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		n = (ssize_t)snprintf(exe, sizeof(exe), "%s", argv0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(b->agent_bin, sizeof(b->agent_bin), "%s/tienbo-agent", exe);
	snprintf(b->server_bin, sizeof(b->server_bin), "%s/tienbo-server", exe);
	snprintf(b->mkcerts, sizeof(b->mkcerts), "%s/../scripts/mkcerts.sh",
		 exe);
	snprintf(b->pgscript, sizeof(b->pgscript),
		 "%s/../scripts/pg-cluster.sh", exe);
	if (access(b->agent_bin, X_OK) || access(b->server_bin, X_OK) ||
	    access(b->mkcerts, R_OK) || access(b->pgscript, R_OK))
		die("needs tienbo-agent and tienbo-server beside it and "
		    "scripts/mkcerts.sh and scripts/pg-cluster.sh above it: "
		    "cmake --build BUILD --target tienbo-agent tienbo-server "
		    "bench_sync");
}

static long arg(const char *opt, const char *v, int *i)
{
	++*i;
	return helper_proc_arg_long("bench_sync", opt, v, 1);
}

int main(int argc, char **argv)
{
	struct bench b = { .events = 1000000, .uploaders = 50,
			   .up_batches = 40, .up_events = 20,
			   .want = { 1, 1 } };
	struct helper_proc_sandbox sb;
	struct results res[NBACKENDS];
	char cmd[PATH_MAX * 2 + 64];
	int i;

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *o = argv[i];

		if (!strcmp(argv[i], "--events"))
			b.events = arg(o, v, &i);
		else if (!strcmp(argv[i], "--uploaders"))
			b.uploaders = (int)arg(o, v, &i);
		else if (!strcmp(argv[i], "--up-batches"))
			b.up_batches = (int)arg(o, v, &i);
		else if (!strcmp(argv[i], "--up-events"))
			b.up_events = (int)arg(o, v, &i);
		else if (!strcmp(argv[i], "--keep"))
			b.keep = 1;
		else if (!strcmp(argv[i], "--db") && v &&
			 (!strcmp(v, "sqlite") || !strcmp(v, "pg") ||
			  !strcmp(v, "both"))) {
			b.want[B_SQLITE] = strcmp(v, "pg") != 0;
			b.want[B_PG] = strcmp(v, "sqlite") != 0;
			i++;
		} else {
			fprintf(stderr, "usage: bench_sync [--db sqlite|pg|both] "
				"[--events N] [--uploaders U] [--up-batches B] "
				"[--up-events E] [--keep]\n");
			return 64;
		}
	}
	if (b.uploaders > 1000 || b.up_events > 5000 || b.up_batches > 100000)
		die("--uploaders <= 1000, --up-events <= 5000, --up-batches "
		    "<= 100000");
	locate(&b, argv[0]);
	memset(res, 0, sizeof(res));
	if (helper_proc_sandbox_make(&sb) != 0 || strlen(sb.dir) >= sizeof(b.dir))
		die("mkdtemp");
	memcpy(b.dir, sb.dir, strlen(sb.dir) + 1);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s/certs' >/dev/null 2>&1",
		 b.mkcerts, b.dir);
	if (system(cmd) != 0)
		die("mkcerts.sh failed");
	path_in(&b, "certs/ca.pem", b.ca, sizeof(b.ca));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init");
	if (b.want[B_PG])
		pg_cluster_start(&b);
	for (i = 0; i < NBACKENDS; i++)
		if (b.want[i])
			one_backend(&b, i, &res[i]);
	helper_pg_cluster_stop();
	for (i = 0; i < NBACKENDS; i++)
		if (res[i].done)
			print_backend(&b, i, &res[i]);
	print_summary(&b, res);
	curl_global_cleanup();
	if (b.keep)
		fprintf(stderr, "bench_sync: kept %s\n", b.dir);
	else
		helper_proc_sandbox_remove(&sb);
	return 0;
}
