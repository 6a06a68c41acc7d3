/* test_sync_faults.c - sync over a bad link and through crashes converges
 * to exact counts. Real binaries (TB_AGENT_BIN, TB_SERVER_BIN,
 * TB_FAULTPROXY_BIN), HTTPS on 127.0.0.1, SQLite files in temp dirs.
 *
 *  - cuts: tb-faultproxy between agent and server resets connections at
 *    random byte offsets (either direction, up to a few batches' worth of
 *    bytes, TLS handshake included). Events are recorded in chunks, one
 *    sync run after each chunk (each run is a new process, so a new
 *    connection that may be cut), with amendments and voids in between;
 *    then sync runs until nothing waits. The server must hold every
 *    recorded revision exactly once, with the content the test recorded.
 *  - kill -9 the server during ingest, in a loop: the sync in flight
 *    fails or resumes after the restart (same database, same port); after
 *    each round every row the agent marked acknowledged is on the server,
 *    once; at the end all of it, and integrity_check says ok.
 *  - kill -9 the agent during sync, a few times: it resumes and converges.
 *
 * Expected ids are worked out from the device id and the seq
 * (tb_uuid_for_device), titles and counts from the rows this file writes.
 * Randomness comes from one seed, printed, and taken from TB_FAULT_SEED
 * when set, so a failing run can be replayed. Every loop is bounded in
 * count and time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/event.h"
#include "tests/helper_link.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"

/* cuts */
#define CUT_CHUNKS 24          /* chunks recorded, one sync run after each */
#define CUT_CHUNK_ROWS 125     /* events per chunk: 3000 in all */
#define CUT_BATCH "25"         /* events per batch: 120 batches */
#define CUT_RATE "0.5"
#define CUT_MAX_BYTES "3000"   /* the TLS handshake and a batch or two */
#define CUT_AMENDS 20          /* amended after they were sent */
#define CUT_VOIDS 10
#define CONVERGE_RUNS 60       /* sync runs after the last chunk, at most */
#define CONVERGE_MS 40000      /* ... and for this long at most */
/* server kills */
#define KILL_ROUNDS 12
#define KILL_ROWS 200          /* new events per round */
#define KILL_BATCH "10"
/* agent kills */
#define AGENT_KILLS 6
#define AGENT_ROWS 300

static unsigned seed;

/* What the server must hold for event n (1-based import row). */
struct expect {
	int64_t seq;           /* of its first revision: its id comes from it */
	int revision;          /* 1, or 2 once amended or voided */
	long long parents;
	int voided;
};

struct agent {
	struct helper_server_agent h;
	int64_t rows;          /* events imported so far */
	int64_t seq;           /* revisions recorded so far (the last seq) */
	struct expect *ex;     /* rows entries */
};

static int group_setup(void **state)
{
	const char *env = getenv("TB_FAULT_SEED");

	(void)state;
	seed = env && *env ? (unsigned)strtoul(env, NULL, 10)
			   : (unsigned)time(NULL) ^ (unsigned)getpid();
	fprintf(stderr, "test_sync_faults: seed %u (TB_FAULT_SEED=%u "
			"replays it)\n", seed, seed);
	srand(seed);
	return 0;
}

/* ---- the agent's side ---------------------------------------------------- */

static struct agent *agent_new(struct helper_server *s, const char *school,
			       const char *district, const char *url)
{
	struct agent *a = calloc(1, sizeof(*a));
	char token[80];

	assert_non_null(a);
	assert_int_equal(helper_server_enroll(s, school, district, token), 0);
	assert_int_equal(helper_server_agent_init(s, &a->h, url, school,
						  token), 0);
	return a;
}

static void agent_free(struct agent *a)
{
	if (!a)
		return;
	helper_server_agent_cleanup(&a->h);
	free(a->ex);
	free(a);
}

/* The title and parents of the event imported as row n (1-based): what
 * the server must hold for it. */
static void row_title(int64_t n, char *buf, size_t len)
{
	snprintf(buf, len, "Sự kiện số %lld", (long long)n);
}

static long long row_parents(int64_t n)
{
	return n % 997 + 1;
}

/* Imports n more events (rows a->rows + 1 ..), in one transaction: they
 * take the next n seqs. */
static void load(struct agent *a, int n)
{
	struct helper_proc_result r;
	char path[400], title[64], line[128];
	size_t cap = 64 + (size_t)n * 96, len;
	char *csv = malloc(cap);
	struct expect *ex;
	int i;

	assert_non_null(csv);
	ex = realloc(a->ex, (size_t)(a->rows + n) * sizeof(*ex));
	assert_non_null(ex);
	a->ex = ex;
	len = (size_t)snprintf(csv, cap, "kind,date,title,parents\n");
	for (i = 1; i <= n; i++) {
		int64_t row = a->rows + i;
		int k;

		row_title(row, title, sizeof(title));
		k = snprintf(line, sizeof(line),
			     "outreach,2025-11-20,%s,%lld\n", title,
			     row_parents(row));
		assert_true(len + (size_t)k < cap);
		memcpy(csv + len, line, (size_t)k + 1);
		len += (size_t)k;
	}
	snprintf(path, sizeof(path), "%s/rows.csv", a->h.sb.dir);
	assert_int_equal(helper_proc_write_file(path, csv, len), 0);
	free(csv);
	helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "import", path, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	for (i = 1; i <= n; i++) {
		struct expect *e = &a->ex[a->rows + i - 1];

		e->seq = a->seq + i;
		e->revision = 1;
		e->parents = row_parents(a->rows + i);
		e->voided = 0;
	}
	a->rows += n;
	a->seq += n;
}

/* One integer from the agent's store, or -1. */
static int64_t agent_int(const struct agent *a, const char *sql)
{
	return helper_server_db_int(a->h.db, sql);
}

static int64_t agent_pending(const struct agent *a)
{
	return agent_int(a, "SELECT count(*) FROM queue WHERE state = 0");
}

/* Highest seq the agent holds as acknowledged (sent or rejected). The
 * store keeps pending rows after every acknowledged one, so every seq up
 * to here was acknowledged. */
static int64_t agent_acked(const struct agent *a)
{
	return agent_int(a, "SELECT coalesce(max(seq), 0) FROM queue "
			    "WHERE state <> 0");
}

static int64_t agent_last_seq(const struct agent *a)
{
	return agent_int(a, "SELECT coalesce(max(seq), 0) FROM queue");
}

/* `sync` with quick retries and batch events per batch. */
static void sync_run(struct agent *a, const char *batch,
		     struct helper_proc_result *r)
{
	helper_proc_runl(r, &a->h.o, TB_AGENT_BIN, "sync", "--batch", batch,
			 "--tries", "4", "--backoff-ms", "10",
			 "--backoff-max-ms", "100", "--timeout", "10", NULL);
}

/* A sync either delivered (0) or gave up on the link (69). */
static void ended_0_or_69(const struct helper_proc_result *r)
{
	if (!r->exited || (r->exit_code != 0 && r->exit_code != 69))
		fail_msg("sync: exit %d signal %d: %s", r->exit_code,
			 r->signal, r->err);
}

/* Sync runs until one ends with 0 and nothing waits; at most runs runs
 * and ms milliseconds. The number of runs it took, or -1. */
static int converge(struct agent *a, const char *batch, int runs, long ms)
{
	long long t0 = helper_proc_now_ms();
	int i;

	for (i = 1; i <= runs && helper_proc_now_ms() - t0 < ms; i++) {
		struct helper_proc_result r;
		int ok;

		sync_run(a, batch, &r);
		ok = r.exited && r.exit_code == 0;
		if (!ok && (!r.exited || (r.exit_code != 69)))
			fprintf(stderr, "sync run %d: exit %d signal %d: %s", i,
				r.exit_code, r.signal, r.err);
		helper_proc_free(&r);
		if (ok && agent_pending(a) == 0)
			return i;
	}
	return -1;
}

/* Amends row n (1-based) to parents, or voids it: a new revision, the
 * next seq. */
static void correct(struct agent *a, int64_t n, long long parents,
		    int voiding)
{
	struct helper_proc_result r;
	struct expect *e = &a->ex[n - 1];
	char id[TB_ID_LEN], val[32];

	assert_int_equal(tb_uuid_for_device(a->h.device, e->seq, id), 0);
	snprintf(val, sizeof(val), "%lld", parents);
	if (voiding)
		helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "void", id,
				 "--reason", "Nhập trùng", NULL);
	else
		helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "amend", id,
				 "--parents", val, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	e->revision++;
	if (voiding)
		e->voided = 1;
	else
		e->parents = parents;
	a->seq++;
}

/* ---- the server's side --------------------------------------------------- */

/* Every acknowledged revision (seq <= acked) of the device is on the
 * server, once. */
static void expect_acked_held(struct helper_server *s, const struct agent *a)
{
	int64_t acked = agent_acked(a);

	assert_true(acked >= 0);
	assert_int_equal(helper_server_countf(s,
		"SELECT count(*) FROM event_history WHERE device = '%s' AND "
		"seq <= %lld", a->h.device, (long long)acked), acked);
	assert_int_equal(helper_server_countf(s,
		"SELECT count(DISTINCT seq) FROM event_history WHERE "
		"device = '%s' AND seq <= %lld", a->h.device, (long long)acked),
		acked);
	assert_true(helper_server_countf(s,
		"SELECT coalesce(max(committed_through), 0) FROM cursors "
		"WHERE device = '%s'", a->h.device) >= acked);
}

/* The export of district (voided included) is exactly the events of
 * agent a as a->ex says; the history has one row per revision. */
static void expect_exact(struct helper_server *s, const struct agent *a,
			 const char *district)
{
	const char *args[] = { "export", "--format", "json", "--district",
			       district, "--include-voided", "--output", NULL,
			       NULL };
	char path[600], id[TB_ID_LEN], title[64];
	const struct expect *ex = a->ex;
	int64_t i, n = a->rows, revisions = a->seq;
	char *text;
	cJSON *arr;

	snprintf(path, sizeof(path), "%s/export.json", a->h.sb.dir);
	args[7] = path;
	assert_int_equal(helper_server_run(s, NULL, 0, args), 0);
	text = helper_proc_read_file(path, NULL);
	assert_non_null(text);
	arr = cJSON_Parse(text);
	free(text);
	assert_true(cJSON_IsArray(arr));
	assert_int_equal(cJSON_GetArraySize(arr), n);
	for (i = 1; i <= n; i++) {
		cJSON *o, *v;

		assert_int_equal(tb_uuid_for_device(a->h.device, ex[i - 1].seq,
						    id), 0);
		o = helper_server_find_id(arr, id);
		if (!o)
			fail_msg("event %lld (%s) is not on the server",
				 (long long)i, id);
		row_title(i, title, sizeof(title));
		v = cJSON_GetObjectItemCaseSensitive(o, "title");
		assert_true(cJSON_IsString(v));
		assert_string_equal(v->valuestring, title);
		v = cJSON_GetObjectItemCaseSensitive(o, "parents");
		assert_true(cJSON_IsNumber(v));
		assert_true(v->valuedouble == (double)ex[i - 1].parents);
		v = cJSON_GetObjectItemCaseSensitive(o, "revision");
		assert_true(cJSON_IsNumber(v));
		assert_int_equal((int)v->valuedouble, ex[i - 1].revision);
		v = cJSON_GetObjectItemCaseSensitive(o, "voided");
		assert_int_equal(cJSON_IsTrue(v), ex[i - 1].voided);
	}
	cJSON_Delete(arr);
	/* one history row per (id, revision), and none from elsewhere */
	assert_int_equal(helper_server_countf(s,
		"SELECT count(*) FROM event_history WHERE device = '%s'",
		a->h.device), revisions);
	assert_int_equal(helper_server_countf(s,
		"SELECT count(*) FROM (SELECT DISTINCT id, revision FROM "
		"event_history WHERE device = '%s')", a->h.device), revisions);
	assert_int_equal(helper_server_countf(s,
		"SELECT count(DISTINCT seq) FROM event_history WHERE "
		"device = '%s'", a->h.device), revisions);
	assert_int_equal(helper_server_countf(s,
		"SELECT count(*) FROM events e JOIN event_history h ON h.id = "
		"e.id AND h.revision = e.revision WHERE h.device = '%s'",
		a->h.device), n);
	assert_int_equal(helper_server_countf(s,
		"SELECT count(*) FROM rejections WHERE device = '%s'",
		a->h.device), 0);
}

/* ---- cuts ---------------------------------------------------------------- */

/* Uploads the server logged with duplicates: batches sent again because
 * the link died after the server's commit, before the agent had the ack
 * (a cut from server to client). Reported, not asserted: the cuts are
 * random. */
static int resends(const struct helper_server *s)
{
	char *log = helper_proc_read_file(s->log, NULL), *p;
	int n = 0;

	for (p = log; p && (p = strstr(p, " duplicates=")); p++)
		if (p[12] != '0')
			n++;
	free(log);
	return n;
}

/* A row of the first chunks that was not corrected yet, or 0. */
static int64_t uncorrected(const struct agent *a)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		int64_t n = 1 + rand() % a->rows;

		if (a->ex[n - 1].revision == 1)
			return n;
	}
	return 0;
}

static void test_cuts_converge(void **state)
{
	struct helper_server srv;
	struct helper_link px;
	struct helper_link_stats ls;
	char seed_s[32];
	const char *const faults[] = { "--cut-rate", CUT_RATE,
				       "--max-cut-bytes", CUT_MAX_BYTES,
				       "--seed", seed_s, NULL };
	struct agent *a;
	int chunk, runs, amended = 0, voided = 0;
	long long cuts;

	(void)state;
	assert_int_equal(helper_server_up(&srv), 0);
	snprintf(seed_s, sizeof(seed_s), "%u", seed);
	assert_int_equal(helper_link_start(&px, srv.port, srv.dir, faults, 300),
			 0);
	a = agent_new(&srv, "HB-801", "HB-D8", px.url);
	for (chunk = 0; chunk < CUT_CHUNKS; chunk++) {
		struct helper_proc_result r;
		int64_t e;

		/* corrections of earlier events, some already on the
		 * server, some not */
		if (chunk > 0 && chunk % 3 == 0) {
			if (amended < CUT_AMENDS && (e = uncorrected(a))) {
				correct(a, e, 5000 + e, 0);
				amended++;
			}
			if (amended < CUT_AMENDS && (e = uncorrected(a))) {
				correct(a, e, 7000 + e, 0);
				amended++;
			}
			if (voided < CUT_VOIDS && (e = uncorrected(a))) {
				correct(a, e, 0, 1);
				voided++;
			}
		}
		load(a, CUT_CHUNK_ROWS);
		sync_run(a, CUT_BATCH, &r);
		/* 0, or 69 when the link stayed cut for every try */
		ended_0_or_69(&r);
		helper_proc_free(&r);
	}
	assert_int_equal(agent_last_seq(a), a->seq);
	runs = converge(a, CUT_BATCH, CONVERGE_RUNS, CONVERGE_MS);
	assert_int_equal(helper_link_stop(&px, &ls), 0);
	cuts = ls.cuts;
	if (runs < 0)
		fail_msg("no convergence in %d runs / %d ms (seed %u)",
			 CONVERGE_RUNS, CONVERGE_MS, seed);
	/* the link really was bad */
	assert_true(cuts >= 5);
	fprintf(stderr, "test_sync_faults: %d uploads were resent after the "
			"server had committed them\n", resends(&srv));
	assert_true(amended > 0 && voided > 0);
	assert_int_equal(agent_pending(a), 0);
	assert_int_equal(agent_acked(a), a->seq);
	expect_exact(&srv, a, "HB-D8");
	assert_int_equal(helper_server_stop(&srv), 0);
	assert_int_equal(helper_server_check(&srv), 0);
	helper_server_teardown(&srv);
	agent_free(a);
}

/* How long a sync of KILL_ROWS fresh events takes here (ms, at least
 * 20): kills are drawn from [0, that], so they land anywhere from process
 * start to the last ack. The events it sends stay, as a first round. */
static long calibrate(struct agent *a, int rows)
{
	struct helper_proc_result r;
	long long t0;
	long ms;

	load(a, rows);
	t0 = helper_proc_now_ms();
	sync_run(a, KILL_BATCH, &r);
	ms = (long)(helper_proc_now_ms() - t0);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	assert_int_equal(agent_pending(a), 0);
	fprintf(stderr, "test_sync_faults: a sync of %d events takes %ld ms\n",
		rows, ms);
	return ms > 20 ? ms : 20;
}

/* ---- kill -9 the server ------------------------------------------------ */

static void test_server_kill9(void **state)
{
	struct helper_server srv;
	struct agent *a;
	unsigned port;
	long span;
	int round, interrupted = 0;

	(void)state;
	assert_int_equal(helper_server_up(&srv), 0);
	port = srv.port;
	a = agent_new(&srv, "HB-802", "HB-D8", NULL);
	span = calibrate(a, KILL_ROWS);
	for (round = 0; round < KILL_ROUNDS; round++) {
		const char *argv[] = { TB_AGENT_BIN, "sync", "--batch",
				       KILL_BATCH, "--tries", "3",
				       "--backoff-ms", "100",
				       "--backoff-max-ms", "300", "--timeout",
				       "10", NULL };
		struct helper_proc_bg bg;
		struct helper_proc_result r;
		int restart_first = round % 2;

		load(a, KILL_ROWS);
		assert_int_equal(helper_proc_bg_start(&bg, argv, &a->h.o,
						      a->h.sb.dir, "sync"), 0);
		helper_proc_sleep_ms(rand() % span);
		helper_server_signal(&srv, SIGKILL);
		assert_int_equal(helper_server_wait(&srv, 5000), 128 + SIGKILL);
		/* odd rounds: back up while the sync still retries, so it may
		 * resend a batch whose ack died with the server */
		if (restart_first)
			assert_int_equal(
				helper_server_start_on(&srv, port, NULL), 0);
		assert_int_equal(helper_proc_bg_wait(&bg, 30000, &r), 0);
		ended_0_or_69(&r);
		helper_proc_free(&r);
		if (agent_pending(a) > 0)
			interrupted++;
		if (!restart_first)
			assert_int_equal(
				helper_server_start_on(&srv, port, NULL), 0);
		expect_acked_held(&srv, a);
	}
	fprintf(stderr, "test_sync_faults: %d of %d server kills left events "
			"waiting\n", interrupted, KILL_ROUNDS);
	assert_true(interrupted > 0);
	assert_true(converge(a, KILL_BATCH, CONVERGE_RUNS, CONVERGE_MS) > 0);
	expect_exact(&srv, a, "HB-D8");
	assert_int_equal(helper_server_stop(&srv), 0);
	assert_int_equal(helper_server_check(&srv), 0);
	helper_server_teardown(&srv);
	agent_free(a);
}

/* ---- kill -9 the agent ------------------------------------------------- */

static void test_agent_kill9(void **state)
{
	struct helper_server srv;
	struct agent *a;
	long span;
	int round, killed = 0;

	(void)state;
	assert_int_equal(helper_server_up(&srv), 0);
	a = agent_new(&srv, "HB-803", "HB-D8", NULL);
	span = calibrate(a, AGENT_ROWS);
	for (round = 0; round < AGENT_KILLS; round++) {
		struct helper_proc_result r;
		struct helper_proc_opts o = a->h.o;

		load(a, AGENT_ROWS);
		o.kill_after_us = 1000L * (rand() % span);
		helper_proc_runl(&r, &o, TB_AGENT_BIN, "sync", "--batch",
				 KILL_BATCH, NULL);
		if (r.signal == SIGKILL)
			killed++;
		else
			assert_true(helper_proc_exited_with(&r, 0));
		helper_proc_free(&r);
		assert_int_equal(helper_server_integrity(a->h.db), 0);
		expect_acked_held(&srv, a);
	}
	fprintf(stderr, "test_sync_faults: %d of %d agent syncs killed\n",
		killed, AGENT_KILLS);
	assert_true(killed > 0);
	assert_true(converge(a, KILL_BATCH, CONVERGE_RUNS, CONVERGE_MS) > 0);
	expect_exact(&srv, a, "HB-D8");
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	agent_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cuts_converge),
		cmocka_unit_test(test_server_kill9),
		cmocka_unit_test(test_agent_kill9),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
