/* bench_sync.c - how fast events move from a school's agent to the central
 * server over loopback HTTPS, how many bytes each costs on the wire, how
 * the server takes 50 schools uploading at once, and how much memory each
 * side needs; beside them the bare limit of the same work, measured in the
 * same run. Not a test: figures are printed with their targets, never
 * asserted.
 *
 *   cmake --build build --target tienbo-agent tienbo-server bench_sync
 *   ./build/bench_sync [--events N] [--uploaders U] [--up-batches B]
 *                      [--up-events E] [--keep]
 *
 * Defaults: N = 1,000,000 events, U = 50 uploaders, each posting B = 40
 * batches of E = 20 events. tienbo-agent and tienbo-server are taken from
 * beside this program, scripts/mkcerts.sh from the source tree above it.
 * Everything happens in a fresh directory under /tmp, removed at the end
 * (--keep leaves it).
 *
 * end to end  N typical events (an outreach event: Vietnamese title, two
 *             audience counts, occasion, channel) are loaded into the
 *             agent with `tienbo-agent import` (not timed), then
 *             `tienbo-agent sync` is timed from exec to exit: cursor, every
 *             batch built from the store, gzip'd, posted over HTTPS to a
 *             real tienbo-server, merged, acknowledged and marked.
 * wire bytes  gzip body bytes the agent posted / N (its summary line).
 * bare limit  the same rows, read back from the agent's store beforehand,
 *             in batches of the agent's default size: gzip (level 6, as
 *             the agent), gunzip, and an insert of every row into the
 *             server's own tables (events and event_history, schema and
 *             pragmas from server/db.c, WAL, synchronous=FULL) in ONE
 *             transaction. No TLS, HTTP, JSON parsing, validation, hashing
 *             or per-batch commit: what no sync can beat on this machine.
 * concurrent  U devices of U schools enrolled; U threads, each with its
 *             own libcurl handle (keep-alive, certificate verified), post
 *             pre-built gzip batches one after another; batches/s over the
 *             wall time, p50 and p99 of the request latency.
 * peak RSS    the agent's sync from wait4 (ru_maxrss), its private memory
 *             (RssAnon) sampled every 2 ms, and for comparison a second
 *             sync with nothing left to send (libcurl, OpenSSL and one
 *             TLS handshake: the fixed cost); the server's from
 *             /proc/PID/status VmHWM, after the sync and after the
 *             concurrent phase.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "tests/helper_proc.h"

#define BATCH_EVENTS 1000 /* the agent's default batch (agent/sync.c) */
#define ARGS_MAX 32

struct bench {
	long events;
	int uploaders, up_batches, up_events, keep;
	char dir[64];
	char agent_bin[PATH_MAX + 32], server_bin[PATH_MAX + 32];
	char mkcerts[PATH_MAX + 32];
	char ca[PATH_MAX], env_conf[PATH_MAX + 32];
	pid_t server;
	char url[64];
};

/* What the run measured. */
struct results {
	double import_s, sync_s, bare_s, gzip_s, gunzip_s, insert_s;
	double wire_kb, json_kb, bare_gz_bytes;
	long sent, agent_rss_kb, agent_anon_kb, agent_idle_rss_kb;
	long server_hwm_sync_kb;
	long server_hwm_kb;
	int sync_exit;
	double up_s, p50_ms, p99_ms;
	long up_ok, up_failed;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t server_pid; /* stopped by die() too */

static void die(const char *what)
{
	fprintf(stderr, "bench_sync: %s\n", what);
	if (server_pid > 0)
		kill(server_pid, SIGTERM);
	exit(1);
}

/* ---- processes ------------------------------------------------------------ */

/* A whole file (procfs too, whose size reads as 0), NUL-terminated. */
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

/* `tienbo-server init-db` when server.db does not exist yet: only init-db
 * makes a database (server/db.h), and serve refuses a missing one. */
static void db_init(struct bench *b)
{
	char out[PATH_MAX], db[PATH_MAX];
	char *init[] = { b->server_bin, "init-db", "--db", db, NULL };

	path_in(b, "init-db.out", out, sizeof(out));
	path_in(b, "server.db", db, sizeof(db));
	if (access(db, F_OK) != 0 && run(b, init, out, NULL, NULL, NULL) != 0)
		die("init-db failed");
}

/* Starts `tienbo-server serve` on a port the kernel picks; waits for the
 * "(port N)" line of its log. */
static void server_start(struct bench *b)
{
	char log[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], db[PATH_MAX];
	double t0 = now_s();
	unsigned port = 0;

	path_in(b, "server.log", log, sizeof(log));
	path_in(b, "certs/server.pem", cert, sizeof(cert));
	path_in(b, "certs/server.key", key, sizeof(key));
	path_in(b, "server.db", db, sizeof(db));
	db_init(b);
	b->server = fork();
	if (b->server < 0)
		die("fork");
	if (b->server == 0) {
		char *argv[] = { b->server_bin, "serve", "--listen",
				 "127.0.0.1:0", "--cert", cert, "--key", key,
				 "--db", db, NULL };
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	server_pid = b->server;
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
		die("the server did not start (see its log)");
	snprintf(b->url, sizeof(b->url), "https://127.0.0.1:%u", port);
}

static void server_stop(struct bench *b)
{
	int st;

	if (b->server <= 0)
		return;
	kill(b->server, SIGTERM);
	waitpid(b->server, &st, 0);
	b->server = server_pid = 0;
}

/* The server's peak resident set so far (VmHWM), in KB. */
static long server_hwm_kb(const struct bench *b)
{
	return proc_kb(b->server, "VmHWM:");
}

/* `tienbo-server enroll`; the token is the last line of its stdout. */
static void enroll(struct bench *b, const char *school, const char *district,
		   char *token, size_t len)
{
	char out[PATH_MAX], db[PATH_MAX];
	char *argv[] = { b->server_bin, "enroll", "--db", db, "--school",
			 (char *)school, "--name", "Trường đo thử", "--district",
			 (char *)district, NULL };
	char *text, *end, *last;

	path_in(b, "enroll.out", out, sizeof(out));
	path_in(b, "server.db", db, sizeof(db));
	db_init(b);
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

static void write_csv(const char *path, long n)
{
	FILE *f = fopen(path, "w");
	long i;

	if (!f)
		die("cannot write the CSV");
	fputs("kind,date,title,parents,students,occasion,channel\n", f);
	for (i = 0; i < n; i++) {
		struct typical t;

		typical(&t, i, n);
		fprintf(f, "outreach,%s,\"%s\",%d,%d,%s,%s\n", t.date, t.title,
			t.parents, t.students, t.occasion, t.channel);
	}
	if (fclose(f) != 0)
		die("cannot write the CSV");
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

	path_in(b, "agent.conf", conf, sizeof(conf));
	path_in(b, "agent-data", data, sizeof(data));
	path_in(b, "events.csv", csv, sizeof(csv));
	path_in(b, "agent.out", out, sizeof(out));
	path_in(b, "agent.err", err, sizeof(err));
	snprintf(b->env_conf, sizeof(b->env_conf), "TIENBO_CONFIG=%s", conf);
	enroll(b, "HB-001", "HB-D1", token, sizeof(token));
	{
		char *argv[] = { b->agent_bin, "init", "--server", b->url,
				 "--school", "HB-001", "--token", token,
				 "--ca-file", b->ca, "--data-dir", data, NULL };

		if (run(b, argv, NULL, err, NULL, NULL) != 0)
			die("agent init failed");
	}
	fprintf(stderr, "bench_sync: writing %ld events as CSV\n", b->events);
	write_csv(csv, b->events);
	fprintf(stderr, "bench_sync: tienbo-agent import\n");
	{
		/* --again: random titles and dates repeat an activity */
		char *argv[] = { b->agent_bin, "import", "--again", csv,
				 NULL };

		t0 = now_s();
		if (run(b, argv, NULL, err, NULL, NULL) != 0)
			die("agent import failed (see agent.err, --keep)");
		res->import_s = now_s() - t0;
	}
	fprintf(stderr, "bench_sync: tienbo-agent sync\n");
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
	int n;
	int64_t seq[BATCH_EVENTS], rev[BATCH_EVENTS], at[BATCH_EVENTS];
	char id[BATCH_EVENTS][TB_ID_LEN], date[BATCH_EVENTS][11];
	size_t off[BATCH_EVENTS], wlen[BATCH_EVENTS];
};

static void add(struct bare_rows *r, const char *s, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->json = realloc(r->json, r->cap);
		if (!r->json)
			die("out of memory");
	}
	memcpy(r->json + r->len, s, n);
	r->len += n;
	r->json[r->len] = '\0';
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db));
	return st;
}

/* Inserts the rows of one batch (offsets into the inflated JSON). */
static void bare_insert(sqlite3_stmt *ev, sqlite3_stmt *hist,
			const struct bare_rows *r, const unsigned char *json,
			const unsigned char *hash)
{
	int i, k;

	for (i = 0; i < r->n; i++) {
		sqlite3_stmt *st[2] = { ev, hist };

		for (k = 0; k < 2; k++) {
			sqlite3_stmt *s = st[k];

			sqlite3_bind_text(s, 1, r->id[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, r->rev[i]);
			sqlite3_bind_text(s, 3, "HB-001", -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 4, "outreach", -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 5, r->date[i], -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 6, 0);
			sqlite3_bind_text(s, 7, "d0000000-0000-4000-8000-000000000000",
					  -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 8, r->seq[i]);
			sqlite3_bind_int64(s, 9, r->at[i]);
			sqlite3_bind_int64(s, 10, r->at[i]);
			sqlite3_bind_blob(s, 11, hash, 32, SQLITE_STATIC);
			sqlite3_bind_text(s, 12, (const char *)json + r->off[i],
					  (int)r->wlen[i], SQLITE_STATIC);
			if (sqlite3_step(s) != SQLITE_DONE)
				die("bare insert failed");
			sqlite3_reset(s);
		}
	}
}

static void bare_limit(struct bench *b, struct results *res)
{
	static const char head[] =
		"{\"version\":1,\"device\":\"d0000000-0000-4000-8000-"
		"000000000000\",\"school\":\"HB-001\",\"first_seq\":1,"
		"\"last_seq\":1000,\"events\":[";
	static const char cols[] =
		"(id, revision, school, kind, date, voided, device, seq, "
		"recorded_at, received_at, content_hash, body) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
	struct tb_db_opts o = { 0 };
	struct bare_rows *r = calloc(1, sizeof(*r));
	unsigned char hash[32] = { 0 };
	char agent_db[PATH_MAX], bare_db[PATH_MAX], msg[256], sql[512];
	sqlite3 *src = NULL, *dst = NULL;
	struct tb_sql *store = NULL;
	sqlite3_stmt *rd, *ev, *hist;
	int done = 0;
	double t;

	if (!r)
		die("out of memory");
	path_in(b, "agent-data/agent.db", agent_db, sizeof(agent_db));
	path_in(b, "bare.db", bare_db, sizeof(bare_db));
	if (sqlite3_open_v2(agent_db, &src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		die("cannot open the agent's store");
	o.sync_full = 1;
	o.create = 1;
	if (tb_db_open(bare_db, &o, &store, msg, sizeof(msg)) != 0)
		die(msg);
	dst = tb_sql_sqlite(store);
	sqlite3_exec(dst, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
	rd = prep(src, "SELECT seq, id, revision, date, recorded_at, wire "
		       "FROM queue ORDER BY seq");
	snprintf(sql, sizeof(sql), "INSERT INTO events %s", cols);
	ev = prep(dst, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO event_history %s", cols);
	hist = prep(dst, sql);
	t = now_s();
	sqlite3_exec(dst, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	res->insert_s += now_s() - t;
	while (!done) {
		unsigned char *gz = NULL, *raw = NULL;
		size_t gzlen = 0, rawlen = 0;

		/* read a batch (not timed) */
		r->n = 0;
		r->len = 0;
		add(r, head, sizeof(head) - 1);
		while (r->n < BATCH_EVENTS) {
			int i = r->n;

			if (sqlite3_step(rd) != SQLITE_ROW) {
				done = 1;
				break;
			}
			r->seq[i] = sqlite3_column_int64(rd, 0);
			snprintf(r->id[i], TB_ID_LEN, "%s",
				 (const char *)sqlite3_column_text(rd, 1));
			r->rev[i] = sqlite3_column_int64(rd, 2);
			snprintf(r->date[i], 11, "%s",
				 (const char *)sqlite3_column_text(rd, 3));
			r->at[i] = sqlite3_column_int64(rd, 4);
			if (i)
				add(r, ",", 1);
			r->off[i] = r->len;
			r->wlen[i] = (size_t)sqlite3_column_bytes(rd, 5);
			add(r, (const char *)sqlite3_column_text(rd, 5),
			    r->wlen[i]);
			r->n++;
		}
		if (!r->n)
			break;
		add(r, "]}", 2);
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
		bare_insert(ev, hist, r, raw, hash);
		res->insert_s += now_s() - t;
		tb_free(gz);
		tb_free(raw);
	}
	t = now_s();
	if (sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(dst));
	res->insert_s += now_s() - t;
	res->bare_s = res->gzip_s + res->gunzip_s + res->insert_s;
	sqlite3_finalize(rd);
	sqlite3_finalize(ev);
	sqlite3_finalize(hist);
	sqlite3_close(src);
	tb_sql_close(store);
	free(r->json);
	free(r);
}

/* ---- 50 uploaders --------------------------------------------------------- */

struct uploader {
	struct bench *b;
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

	snprintf(url, sizeof(url), "%s/v1/batches", u->b->url);
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

static void concurrent(struct bench *b, struct results *res)
{
	struct uploader *u = calloc((size_t)b->uploaders, sizeof(*u));
	size_t total = (size_t)b->uploaders * (size_t)b->up_batches, n = 0;
	double *all = malloc(total * sizeof(double)), t0;
	int i, j;

	if (!u || !all)
		die("out of memory");
	fprintf(stderr, "bench_sync: enrolling %d schools, building %zu "
		"batches\n", b->uploaders, total);
	for (i = 0; i < b->uploaders; i++) {
		char school[16], district[16], dev[48];

		snprintf(school, sizeof(school), "BU-%03d", i + 1);
		snprintf(district, sizeof(district), "BD-%d", i % 5 + 1);
		snprintf(dev, sizeof(dev), "b%07x-0000-4000-8000-000000000000",
			 (unsigned)i + 1);
		enroll(b, school, district, u[i].token, sizeof(u[i].token));
		u[i].b = b;
		u[i].gz = calloc((size_t)b->up_batches, sizeof(*u[i].gz));
		u[i].gzlen = calloc((size_t)b->up_batches, sizeof(size_t));
		u[i].lat_ms = calloc((size_t)b->up_batches, sizeof(double));
		if (!u[i].gz || !u[i].gzlen || !u[i].lat_ms)
			die("out of memory");
		for (j = 0; j < b->up_batches; j++)
			up_batch(b, dev, school, j, &u[i].gz[j],
				 &u[i].gzlen[j]);
	}
	fprintf(stderr, "bench_sync: %d uploaders posting\n", b->uploaders);
	pthread_barrier_init(&start_line, NULL, (unsigned)b->uploaders + 1);
	for (i = 0; i < b->uploaders; i++)
		if (pthread_create(&u[i].thread, NULL, upload_thread, &u[i]))
			die("pthread_create");
	pthread_barrier_wait(&start_line);
	t0 = now_s();
	for (i = 0; i < b->uploaders; i++)
		pthread_join(u[i].thread, NULL);
	res->up_s = now_s() - t0;
	pthread_barrier_destroy(&start_line);
	for (i = 0; i < b->uploaders; i++) {
		for (j = 0; j < b->up_batches; j++) {
			all[n++] = u[i].lat_ms[j];
			tb_free(u[i].gz[j]);
		}
		res->up_ok += u[i].ok;
		res->up_failed += u[i].failed;
		free(u[i].gz);
		free(u[i].gzlen);
		free(u[i].lat_ms);
	}
	qsort(all, n, sizeof(double), cmp_double);
	res->p50_ms = all[n / 2];
	res->p99_ms = all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	res->server_hwm_kb = server_hwm_kb(b);
	free(all);
	free(u);
}

/* ---- the table ------------------------------------------------------------ */

static void print_table(const struct bench *b, const struct results *r)
{
	double e2e = r->sync_s > 0 ? (double)b->events / r->sync_s : 0;
	double bare = r->bare_s > 0 ? (double)b->events / r->bare_s : 0;
	double wire = r->wire_kb * 1024.0 / (double)b->events;

	printf("\ntienbo sync: %ld events, agent -> server over loopback "
	       "HTTPS, %ld cores\n\n", b->events, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-44s %16s   %s\n", "", "measured", "target");
	printf("%-44s %13.0f/s   >= 100000/s\n", "end to end, events", e2e);
	printf("%-44s %14.2f s\n", "  tienbo-agent sync, wall time", r->sync_s);
	printf("%-44s %16ld\n", "  events acknowledged", r->sent);
	printf("%-44s %16d\n", "  exit code of the sync", r->sync_exit);
	printf("%-44s %13.0f/s\n", "bare limit: gzip+gunzip+1-tx insert", bare);
	printf("%-44s %14.2f s\n", "  gzip level 6", r->gzip_s);
	printf("%-44s %14.2f s\n", "  gunzip", r->gunzip_s);
	printf("%-44s %14.2f s\n", "  insert events + history, one COMMIT",
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
	printf("\n%d uploaders x %d batches x %d events, small batches at "
	       "once:\n", b->uploaders, b->up_batches, b->up_events);
	printf("%-44s %13.0f/s\n", "server ingest, batches",
	       r->up_s > 0 ? (double)r->up_ok / r->up_s : 0);
	printf("%-44s %13.0f/s\n", "  events",
	       r->up_s > 0 ? (double)r->up_ok * b->up_events / r->up_s : 0);
	printf("%-44s %13.1f ms\n", "  latency p50", r->p50_ms);
	printf("%-44s %13.1f ms\n", "  latency p99", r->p99_ms);
	printf("%-44s %16ld\n", "  batches refused or failed", r->up_failed);
	printf("%-44s %13.1f MB\n", "server peak RSS (whole run)",
	       (double)r->server_hwm_kb / 1024.0);
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
	if (access(b->agent_bin, X_OK) || access(b->server_bin, X_OK) ||
	    access(b->mkcerts, R_OK))
		die("needs tienbo-agent and tienbo-server beside it and "
		    "scripts/mkcerts.sh above it: cmake --build BUILD --target "
		    "tienbo-agent tienbo-server bench_sync");
}

static long arg(const char *opt, const char *v, int *i)
{
	++*i;
	return helper_proc_arg_long("bench_sync", opt, v, 1);
}

int main(int argc, char **argv)
{
	struct bench b = { .events = 1000000, .uploaders = 50,
			   .up_batches = 40, .up_events = 20 };
	struct helper_proc_sandbox sb;
	struct results res;
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
		else {
			fprintf(stderr, "usage: bench_sync [--events N] "
				"[--uploaders U] [--up-batches B] "
				"[--up-events E] [--keep]\n");
			return 64;
		}
	}
	if (b.uploaders > 1000 || b.up_events > 5000 || b.up_batches > 100000)
		die("--uploaders <= 1000, --up-events <= 5000, --up-batches "
		    "<= 100000");
	locate(&b, argv[0]);
	memset(&res, 0, sizeof(res));
	if (helper_proc_sandbox_make(&sb) != 0 || strlen(sb.dir) >= sizeof(b.dir))
		die("mkdtemp");
	memcpy(b.dir, sb.dir, strlen(sb.dir) + 1);
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s/certs' >/dev/null 2>&1",
		 b.mkcerts, b.dir);
	if (system(cmd) != 0)
		die("mkcerts.sh failed");
	path_in(&b, "certs/ca.pem", b.ca, sizeof(b.ca));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init");
	server_start(&b);
	end_to_end(&b, &res);
	fprintf(stderr, "bench_sync: bare limit\n");
	bare_limit(&b, &res);
	concurrent(&b, &res);
	server_stop(&b);
	print_table(&b, &res);
	curl_global_cleanup();
	if (b.keep)
		fprintf(stderr, "bench_sync: kept %s\n", b.dir);
	else
		helper_proc_sandbox_remove(&sb);
	return 0;
}
