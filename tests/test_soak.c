/* test_soak.c - many schools at once through a bad link and a crashing
 * server: at the end the server's totals equal, exactly, what the schools
 * recorded.
 *
 * TB_SOAK_AGENTS real `tienbo-agent run` processes (default 40), each its
 * own school and store, sync through tb-faultproxy, which cuts about 5%
 * of the connections at a random byte (either direction, TLS handshake
 * included; see CUT_RATE). For TB_SOAK_SECONDS (default 30) recorder threads import
 * small CSV files into random agents' stores while those agents sync, and
 * now and then amend or void an event already recorded; a killer thread
 * sends the server SIGKILL at random moments and starts it again on the
 * same port after a random pause. Then the faults stop, every agent gets
 * the time to empty its queue, and:
 *   - the server's current, non-voided events of the soak and the sum of
 *     their `parents` equal what the test recorded (and each agent's own
 *     store says the same);
 *   - every revision is in the history exactly once (one row per device
 *     and seq, per id and revision); nothing was rejected;
 *   - both SQLite files pass integrity_check.
 * The figures are printed: events, revisions, batches, cuts, restarts,
 * and the duplicates seen and absorbed (batches the server had committed
 * whose ack was lost, sent again and answered "already held").
 *
 * On PostgreSQL (test_soak_pg: TB_TEST_DB=pg, ctest fixture pg) the same
 * soak runs against two `tienbo-server serve` instances on one fresh
 * database (init-db once, the same certificate) behind Debian's HAProxy
 * with packaging/haproxy-tienbo.cfg itself (tests/helper_haproxy.h); the
 * agents sync through the fault proxy to HAProxy, and the killer sends
 * SIGKILL to either instance at random and starts it again on its port.
 * HAProxy's health checks take a dead instance out and `option
 * redispatch` sends a refused connection to the other one. Checked on
 * top: each instance acknowledged batches, and some school's batches
 * were acknowledged by both (a retry of a device landed on the other
 * instance). A cluster or instance that cannot start fails the test; it
 * never skips.
 *
 * Both modes check, through the server's own store interface (server/sql.h):
 * each event's current revision and voided flag are the ones the test
 * made, its history holds revisions 1..n each once, each device's cursor
 * is its last seq; and each agent's `status --json` says nothing pending.
 *
 * CI runs 40 agents for 30 s in each mode. The long runs:
 *   TB_SOAK_AGENTS=200 TB_SOAK_SECONDS=300 ./build-hostile/test_soak
 *   TB_SOAK_AGENTS=100 TB_SOAK_SECONDS=300 ctest --test-dir build \
 *     -R '^test_soak_pg$' --timeout 1800
 * TB_SOAK_SEED replays a run's random choices (the kill moments and the
 * link's cuts still depend on timing). Every loop is bounded in count and
 * time, and a watchdog thread holds each phase to a budget: past it the
 * test fails at once, naming the phase, with the end of the server's,
 * agents' and proxy's logs. Network only to 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/event.h"
#include "server/db.h"
#include "server/sql.h"
#include "tests/helper_haproxy.h"
#include "tests/helper_link.h"
#include "tests/helper_pg.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"

#define RECORDERS 4            /* threads recording into the agents */
#define INIT_THREADS 4         /* threads running `tienbo-agent init` */
#define MAX_AGENTS 1000
/* The proxy gives 15% of connections a cut point at a random byte of
 * their first 4000 (either direction): the handshake, a cursor, a batch
 * or two. About a third of the connections (the passes that upload)
 * carry that many bytes, so about 5% of all connections are cut, at
 * every stage of a sync; the figures print the real share. */
#define CUT_RATE "0.15"
#define MAX_CUT_BYTES "4000"
#define KILL_GAP_MS 5000       /* mean time between server kills */
#define KILL_GAP_PG_MS 2500    /* the same with two instances (its
				* pauses are longer: see killer) */
#define CONVERGE_MS 60000      /* after the faults, for the queues */
#define MAX_SERVERS 2          /* instances: 1 on SQLite, 2 on PostgreSQL */

struct sk_event {
	int64_t seq;           /* of its first revision: its id */
	int parents;
	int voided;
	int revision;          /* its current one, as the test made it */
};

struct sk_agent {
	struct helper_server_agent h;
	struct helper_proc_bg bg;
	pthread_mutex_t lock;  /* one recorder at a time */
	struct sk_event *ev;
	size_t nev, cap;
	int64_t revisions;     /* = the store's last seq */
	char token[80];
	int id;
};

static struct helper_server srv[MAX_SERVERS];
static int nsrv = 1;
static int pg;                   /* TB_TEST_DB=pg: two instances, HAProxy */
static char pg_url[1024];        /* the fresh database; "" when none */
static struct helper_haproxy lb; /* bg.pid 0 when not running */
static struct sk_agent *agents;
static int nagents;
static long soak_ms;
static unsigned seed;
static atomic_int stop_flag;
static atomic_long restarts, failed_restarts, failed_ops, bad_ids;
static atomic_long kills[MAX_SERVERS];
static struct helper_link proxy; /* bg.pid 0 when not running */

/* The watchdog: each phase of the test names what it waits for and by
 * when; past that the test fails at once, saying so, with the end of the
 * server's log and of the agents' logs, instead of running into ctest's
 * timeout with nothing said. */
static pthread_mutex_t phase_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *phase_what;
static long long phase_deadline; /* ms; 0: no phase */
static atomic_int watchdog_stop;

static long env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end = NULL;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	if (*end || n < min || n > max) {
		fprintf(stderr, "%s=%s: using %ld (%ld..%ld)\n", name, v, def,
			min, max);
		return def;
	}
	return n;
}

static void phase(const char *what, long budget_ms)
{
	pthread_mutex_lock(&phase_lock);
	phase_what = what;
	phase_deadline = helper_proc_now_ms() + budget_ms;
	pthread_mutex_unlock(&phase_lock);
}

/* The last max bytes of a file on stderr. */
static void print_tail(const char *label, const char *path, size_t max)
{
	size_t len = 0;
	char *text = helper_proc_read_file(path, &len);

	if (!text)
		return;
	fprintf(stderr, "---- the end of %s (%s)\n%s\n", label, path,
		len > max ? text + len - max : text);
	free(text);
}

/* The ends of the servers', HAProxy's, the proxy's and a few agents'
 * logs on stderr: what a failed wait shows. */
static void show_logs(void)
{
	int i;

	for (i = 0; i < nsrv; i++) {
		fprintf(stderr, "server %d: pid %ld\n", i + 1,
			(long)srv[i].pid);
		helper_server_log_tail(&srv[i], 3000);
	}
	for (i = 0; agents && i < nagents && i < 3; i++)
		print_tail("an agent's `run`", agents[i].bg.err_path, 1000);
	print_tail("the proxy", proxy.bg.err_path, 1000);
	if (lb.bg.pid)
		print_tail("haproxy", lb.bg.out_path, 2000);
}

static void *watchdog(void *arg)
{
	const char *what;
	long long deadline;
	int i;

	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		helper_proc_sleep_ms(200);
		pthread_mutex_lock(&phase_lock);
		what = phase_what;
		deadline = phase_deadline;
		pthread_mutex_unlock(&phase_lock);
		if (!deadline || helper_proc_now_ms() < deadline)
			continue;
		fprintf(stderr, "test_soak: FAILED: still %s past its time "
			"(seed %u); the proxy is pid %ld\n", what, seed,
			(long)proxy.bg.pid);
		show_logs();
		for (i = 0; agents && i < nagents; i++)
			helper_proc_bg_signal(&agents[i].bg, SIGKILL);
		helper_proc_bg_signal(&proxy.bg, SIGKILL);
		helper_proc_bg_signal(&lb.bg, SIGKILL);
		for (i = 0; i < nsrv; i++)
			helper_server_signal(&srv[i], SIGKILL);
		if (pg_url[0])
			helper_pg_dropdb(pg_url);
		_exit(1);
	}
	return NULL;
}

/* ---- setup --------------------------------------------------------------- */

/* An admin token, for enrolling over HTTPS (a process per school is
 * slow at 200 schools). */
static int admin_token(char *tok)
{
	const char *args[] = { "admin-token", NULL };

	return helper_server_run_token(&srv[0], args, tok);
}

static int enroll(const char *admin, struct sk_agent *a)
{
	struct helper_server_resp r;
	char path[256];
	cJSON *j, *t;
	int rc = -1;

	snprintf(path, sizeof(path), "/v1/admin/enroll?school=SK-%04d&name="
		 "soak&district=SK-D%d", a->id, a->id % 10);
	if (helper_server_request(&srv[0], "POST", path, admin, NULL, NULL, "", 0,
				  0, &r) != 0 || r.status != 200) {
		fprintf(stderr, "enroll SK-%04d: %ld %s\n", a->id, r.status,
			r.body);
		helper_server_resp_free(&r);
		return -1;
	}
	j = cJSON_Parse(r.body);
	t = cJSON_GetObjectItemCaseSensitive(j, "token");
	if (cJSON_IsString(t) && strlen(t->valuestring) < sizeof(a->token)) {
		snprintf(a->token, sizeof(a->token), "%s", t->valuestring);
		rc = 0;
	}
	cJSON_Delete(j);
	helper_server_resp_free(&r);
	return rc;
}

struct init_job {
	const char *url;
	atomic_int next, failed;
};

static void *init_thread(void *arg)
{
	struct init_job *job = arg;
	int i;

	while ((i = atomic_fetch_add(&job->next, 1)) < nagents) {
		struct sk_agent *a = &agents[i];
		char school[16];

		snprintf(school, sizeof(school), "SK-%04d", a->id);
		if (helper_server_agent_init(&srv[0], &a->h, job->url, school,
					     a->token) != 0)
			atomic_fetch_add(&job->failed, 1);
	}
	return NULL;
}

/* Enrolls and inits every agent (init in a few threads), then starts
 * `run` for each. */
static void agents_start(const char *url)
{
	const char *argv[] = { TB_AGENT_BIN, "run", "--interval", "1",
			       "--batch", "50", "--tries", "3",
			       "--backoff-ms", "200", "--backoff-max-ms",
			       "2000", "--timeout", "10", NULL };
	struct init_job job = { url, 0, 0 };
	pthread_t t[INIT_THREADS];
	char admin[80];
	int i;

	assert_int_equal(admin_token(admin), 0);
	agents = calloc((size_t)nagents, sizeof(*agents));
	assert_non_null(agents);
	for (i = 0; i < nagents; i++) {
		agents[i].id = i + 1;
		pthread_mutex_init(&agents[i].lock, NULL);
		assert_int_equal(enroll(admin, &agents[i]), 0);
	}
	for (i = 0; i < INIT_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, init_thread, &job),
				 0);
	for (i = 0; i < INIT_THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&job.failed), 0);
	for (i = 0; i < nagents; i++)
		assert_int_equal(helper_proc_bg_start(&agents[i].bg, argv,
						      &agents[i].h.o,
						      agents[i].h.sb.dir, "run"),
				 0);
}

/* ---- recording ----------------------------------------------------------- */

static int rnd(unsigned *st, int n)
{
	*st = *st * 1103515245u + 12345u;
	return (int)((*st >> 8) % (unsigned)n);
}

/* Called from the recorder threads: no cmocka asserts here (they
 * would jump out of the wrong thread); trouble is counted and fails the
 * test from the main thread. */
static void remember(struct sk_agent *a, int64_t seq, int parents)
{
	if (a->nev == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct sk_event *ev = realloc(a->ev, cap * sizeof(*ev));

		if (!ev)
			abort(); /* out of memory in a test: nothing to save */
		a->ev = ev;
		a->cap = cap;
	}
	a->ev[a->nev].seq = seq;
	a->ev[a->nev].parents = parents;
	a->ev[a->nev].voided = 0;
	a->ev[a->nev].revision = 1;
	a->nev++;
}

/* Imports n events; counted only when the agent says it recorded them
 * (the stores are checked against the counts at the end). */
static void op_import(struct sk_agent *a, unsigned *st)
{
	struct helper_proc_result r;
	int n = 1 + rnd(st, 20), i, parents[20];
	char path[400], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/rows.csv", a->h.sb.dir);
	f = fopen(path, "w");
	if (!f)
		return;
	fputs("kind,date,title,parents\n", f);
	for (i = 0; i < n; i++) {
		parents[i] = 1 + rnd(st, 500);
		snprintf(line, sizeof(line), "outreach,2025-11-20,Buổi %d của "
			 "trường %d,%d\n", (int)a->nev + i + 1, a->id,
			 parents[i]);
		fputs(line, f);
	}
	fclose(f);
	helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "import", path, NULL);
	if (r.exited && r.exit_code == 0) {
		for (i = 0; i < n; i++)
			remember(a, a->revisions + 1 + i, parents[i]);
		a->revisions += n;
	} else {
		atomic_fetch_add(&failed_ops, 1);
	}
	helper_proc_free(&r);
}

/* Amends (new parents) or voids an event recorded before. */
static void op_correct(struct sk_agent *a, unsigned *st)
{
	struct helper_proc_result r;
	struct sk_event *e;
	char id[TB_ID_LEN], val[16];
	int voiding = rnd(st, 3) == 0, parents = 1 + rnd(st, 500);

	if (a->nev == 0)
		return;
	e = &a->ev[rnd(st, (int)a->nev)];
	if (e->voided)
		return;
	if (tb_uuid_for_device(a->h.device, e->seq, id) != 0) {
		atomic_fetch_add(&bad_ids, 1);
		return;
	}
	snprintf(val, sizeof(val), "%d", parents);
	if (voiding)
		helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "void", id,
				 "--reason", "Nhập trùng", NULL);
	else
		helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "amend", id,
				 "--parents", val, NULL);
	if (r.exited && r.exit_code == 0) {
		a->revisions++;
		e->revision++;
		if (voiding)
			e->voided = 1;
		else
			e->parents = parents;
	} else {
		atomic_fetch_add(&failed_ops, 1);
	}
	helper_proc_free(&r);
}

static void *recorder(void *arg)
{
	unsigned st = seed ^ (unsigned)(uintptr_t)arg * 2654435761u;
	long long end = helper_proc_now_ms() + soak_ms;
	long ops;

	for (ops = 0; ops < 1000000 && !atomic_load(&stop_flag) &&
		      helper_proc_now_ms() < end; ops++) {
		struct sk_agent *a = &agents[rnd(&st, nagents)];

		if (pthread_mutex_trylock(&a->lock) != 0)
			continue;
		if (rnd(&st, 5) == 0)
			op_correct(a, &st);
		else
			op_import(a, &st);
		pthread_mutex_unlock(&a->lock);
		helper_proc_sleep_ms(20 + rnd(&st, 60));
	}
	return NULL;
}

/* ---- the servers' crashes ------------------------------------------------- */

/* SIGKILL to one instance at random (the only one on SQLite), then the
 * same instance again on its port after a random pause: mostly under a
 * second (HAProxy's checks, every 2 s, may not notice; a connection
 * refused meanwhile is redispatched), on PostgreSQL the first time and
 * then one time in three 4.5 to 6.5 s, so its checks take the instance
 * out (two failed checks) and put it back. */
static void *killer(void *arg)
{
	unsigned st = seed ^ 0x9e3779b9u;
	long long end = helper_proc_now_ms() + soak_ms;
	unsigned port[MAX_SERVERS];
	int k;

	(void)arg;
	for (k = 0; k < nsrv; k++)
		port[k] = srv[k].port;
	while (!atomic_load(&stop_flag) && helper_proc_now_ms() < end) {
		long gap = 500 + rnd(&st, 2 * (pg ? KILL_GAP_PG_MS
						   : KILL_GAP_MS) - 500), pause;
		int tries;

		while (gap > 0 && !atomic_load(&stop_flag) && helper_proc_now_ms() < end) {
			helper_proc_sleep_ms(gap < 100 ? gap : 100);
			gap -= 100;
		}
		if (atomic_load(&stop_flag) || helper_proc_now_ms() >= end)
			break;
		k = rnd(&st, nsrv);
		helper_server_signal(&srv[k], SIGKILL);
		if (helper_server_wait(&srv[k], 10000) != 128 + SIGKILL)
			atomic_fetch_add(&failed_restarts, 1);
		atomic_fetch_add(&kills[k], 1);
		pause = pg && (atomic_load(&restarts) == 0 ||
			       rnd(&st, 3) == 0) ? 4500 + rnd(&st, 2000)
						 : rnd(&st, 1000);
		helper_proc_sleep_ms(pause);
		for (tries = 0; tries < 5; tries++) {
			if (helper_server_start_on(&srv[k], port[k], NULL) == 0)
				break;
			helper_proc_sleep_ms(200);
		}
		if (tries == 5)
			atomic_fetch_add(&failed_restarts, 1);
		atomic_fetch_add(&restarts, 1);
	}
	return NULL;
}

/* ---- figures ------------------------------------------------------------------ */

struct figures {
	long long passes, sent, held, batches, failed;
};

/* Sums the agents' "sync: N sent (D already held, R rejected) in B
 * batches" lines and counts their "sync failed" lines. */
static void agent_figures(const char *log, struct figures *f)
{
	const char *p;

	for (p = log; p && (p = strstr(p, "sync: ")); p++) {
		long long n, d, rj, b;

		if (sscanf(p, "sync: %lld sent (%lld already held, %lld "
			   "rejected) in %lld", &n, &d, &rj, &b) == 4) {
			f->passes++;
			f->sent += n;
			f->held += d;
			f->batches += b;
		}
	}
	for (p = log; p && (p = strstr(p, "sync failed")); p++)
		f->failed++;
}

/* Batches instance s acknowledged and the duplicates in those acks,
 * added to *acks and *dups; the schools they came from get `bit` in
 * seen[school's number] (nagents + 1 entries). Returns its own acks. */
static long long server_figures(const struct helper_server *s,
				long long *acks, long long *dups,
				unsigned char *seen, unsigned char bit)
{
	char *log = helper_proc_read_file(s->log, NULL), *p;
	long long mine = 0;

	for (p = log; p && (p = strstr(p, "POST /v1/batches 200 ")); p++) {
		char *d = strstr(p, " duplicates="), *nl = strchr(p, '\n');
		char *sc = strstr(p, " school=SK-");

		mine++;
		if (d && (!nl || d < nl))
			*dups += strtoll(d + 12, NULL, 10);
		if (sc && (!nl || sc < nl)) {
			long id = strtol(sc + 11, NULL, 10);

			if (id >= 1 && id <= nagents)
				seen[id] |= bit;
		}
	}
	free(log);
	*acks += mine;
	return mine;
}

/* ---- reading the server's store ---------------------------------------------- */

/* The one integer sql gives on the server's store, with ?1 bound to text
 * (if not NULL) and ?2 to n; -1 (after saying why) when it fails or gives
 * no row. */
static int64_t store_int(struct tb_sql *db, const char *sql, const char *text,
			 int64_t n)
{
	struct tb_stmt *st = NULL;
	int64_t v = -1;
	int rc = tb_sql_prepare(db, sql, TB_SQL_CACHED, &st);

	if (rc == TB_OK && text)
		rc = tb_sql_bind_text(st, 1, text, -1);
	if (rc == TB_OK && tb_sql_bind_parameter_count(st) >= 2)
		rc = tb_sql_bind_int64(st, 2, n);
	if (rc == TB_OK)
		rc = tb_sql_step(st);
	if (rc == TB_SQL_ROW)
		v = tb_sql_column_int64(st, 0);
	else
		fprintf(stderr, "test_soak: %s: %s\n", sql,
			rc == TB_SQL_DONE ? "no row" : tb_sql_errmsg(db));
	if (st)
		tb_sql_reset(st);
	return v;
}

/* What the server holds of agent a, checked event by event against what
 * the test made: the current revision and voided flag of each event, its
 * history exactly revisions 1..n each once, the device's revisions each
 * once by seq, and its cursor at its last seq. */
static void check_agent_on_server(struct tb_sql *db, const struct sk_agent *a)
{
	size_t k;

	assert_int_equal(store_int(db, "SELECT count(*) FROM event_history "
				   "WHERE device = ?1", a->h.device, 0),
			 a->revisions);
	assert_int_equal(store_int(db, "SELECT count(DISTINCT seq) FROM "
				   "event_history WHERE device = ?1",
				   a->h.device, 0), a->revisions);
	assert_int_equal(store_int(db, "SELECT committed_through FROM cursors "
				   "WHERE device = ?1", a->h.device, 0),
			 a->revisions);
	for (k = 0; k < a->nev; k++) {
		const struct sk_event *e = &a->ev[k];
		char id[TB_ID_LEN];

		assert_int_equal(tb_uuid_for_device(a->h.device, e->seq, id),
				 0);
		/* revision and voided at once: 2 * revision + voided */
		if (store_int(db, "SELECT 2 * revision + voided FROM events "
			      "WHERE id = ?1", id, 0) !=
		    2 * e->revision + e->voided)
			fail_msg("event %s of SK-%04d (seq %lld): the server "
				 "has 2 * revision + voided = %lld, the test "
				 "made revision %d, voided %d", id, a->id,
				 (long long)e->seq,
				 (long long)store_int(db, "SELECT 2 * revision"
					" + voided FROM events WHERE id = ?1",
					id, 0), e->revision, e->voided);
		assert_int_equal(store_int(db, "SELECT count(*) FROM "
					   "event_history WHERE id = ?1", id,
					   0), e->revision);
		assert_int_equal(store_int(db, "SELECT count(DISTINCT revision)"
					   " FROM event_history WHERE id = ?1 "
					   "AND revision BETWEEN 1 AND ?2", id,
					   e->revision), e->revision);
	}
}

/* `tienbo-agent status --json` says nothing is pending. */
static void check_agent_status(struct sk_agent *a)
{
	struct helper_proc_result r;
	cJSON *j, *p;

	helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "status", "--json", NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	j = cJSON_Parse(r.out);
	p = cJSON_GetObjectItemCaseSensitive(j, "pending");
	if (!cJSON_IsNumber(p) || p->valuedouble != 0)
		fail_msg("SK-%04d: status --json says pending %s:\n%s", a->id,
			 cJSON_IsNumber(p) ? "> 0" : "missing", r.out);
	cJSON_Delete(j);
	helper_proc_free(&r);
}

/* ---- the test -------------------------------------------------------------- */

static int64_t pending(const struct sk_agent *a)
{
	return helper_server_db_int(a->h.db, "SELECT count(*) FROM queue "
					     "WHERE state = 0");
}

/* Waits until no agent has anything waiting; the ms it took, or -1. */
static long converge(void)
{
	long long t0 = helper_proc_now_ms();
	int i = 0, rounds;

	for (rounds = 0; rounds < 100000 && helper_proc_now_ms() - t0 < CONVERGE_MS;
	     rounds++) {
		while (i < nagents && pending(&agents[i]) == 0)
			i++;
		if (i == nagents)
			return (long)(helper_proc_now_ms() - t0);
		helper_proc_sleep_ms(100);
	}
	fprintf(stderr, "test_soak: timed out after %d ms waiting for the "
		"agents' queues to empty: agent SK-%04d still has %lld "
		"waiting\n", CONVERGE_MS, agents[i].id,
		(long long)pending(&agents[i]));
	show_logs();
	print_tail("that agent's `run`", agents[i].bg.err_path, 2000);
	return -1;
}

/* The servers, and in front of them HAProxy on PostgreSQL: the address
 * the fault proxy relays to. */
static unsigned servers_start(void)
{
	if (!pg) {
		assert_int_equal(helper_server_up(&srv[0]), 0);
		return srv[0].port;
	}
	/* a PostgreSQL test never skips: no cluster, no database, fails */
	assert_int_equal(helper_pg_newdb(pg_url, sizeof(pg_url)), 0);
	assert_int_equal(helper_server_setup_db(&srv[0], pg_url), 0);
	helper_server_twin(&srv[0], &srv[1], "server2.log");
	nsrv = 2;
	assert_int_equal(helper_server_start(&srv[0], NULL), 0);
	assert_int_equal(helper_server_start(&srv[1], NULL), 0);
	assert_int_equal(helper_haproxy_start(&lb, srv[0].dir, srv[0].port,
					      srv[1].port), 0);
	fprintf(stderr, "test_soak: PostgreSQL %s; instances on ports %u and "
		"%u behind HAProxy on %u\n", pg_url, srv[0].port, srv[1].port,
		lb.port);
	return lb.port;
}

static void test_soak(void **state)
{
	struct figures fig = { 0 };
	pthread_t rec[RECORDERS], kill_t, dog;
	char seed_s[32], msg[512];
	const char *const faults[] = { "--cut-rate", CUT_RATE,
				       "--max-cut-bytes", MAX_CUT_BYTES,
				       "--seed", seed_s, NULL };
	struct helper_link_stats ls = { .conns = -1, .cuts = -1 };
	struct tb_db_opts ro = { .readonly = 1 };
	struct tb_sql *db = NULL;
	long long acks = 0, dups = 0, acks_by[MAX_SERVERS] = { 0 }, t0;
	int64_t want_events = 0, want_parents = 0, want_revisions = 0;
	int64_t recorded = 0;
	unsigned char *seen;
	long conv;
	int i, both = 0;

	(void)state;
	assert_int_equal(pthread_create(&dog, NULL, watchdog, NULL), 0);
	/* the server(s), and the proxy in front */
	phase("starting the servers, the proxy and the agents",
	      60000 + 500L * nagents);
	snprintf(seed_s, sizeof(seed_s), "%u", seed);
	assert_int_equal(helper_link_start(&proxy, servers_start(), srv[0].dir,
					   faults, soak_ms / 1000 + 600), 0);

	t0 = helper_proc_now_ms();
	agents_start(proxy.url);
	fprintf(stderr, "test_soak: %d agents up in %lld ms; soaking %ld s "
		"(seed %u)\n", nagents, helper_proc_now_ms() - t0, soak_ms / 1000, seed);

	t0 = helper_proc_now_ms();
	/* a recorder's command is bounded by helper_proc_run's 30 s */
	phase("waiting for the recorder and killer threads to end",
	      soak_ms + 60000);
	for (i = 0; i < RECORDERS; i++)
		assert_int_equal(pthread_create(&rec[i], NULL, recorder,
						(void *)(uintptr_t)(i + 1)), 0);
	assert_int_equal(pthread_create(&kill_t, NULL, killer, NULL), 0);
	for (i = 0; i < RECORDERS; i++)
		pthread_join(rec[i], NULL);
	atomic_store(&stop_flag, 1);
	pthread_join(kill_t, NULL);
	fprintf(stderr, "test_soak: soaked %lld ms\n", helper_proc_now_ms() - t0);
	assert_int_equal(atomic_load(&failed_restarts), 0);
	assert_int_equal(atomic_load(&bad_ids), 0);
	for (i = 0; i < nsrv; i++)
		assert_true(srv[i].pid != 0);

	/* the faults are over: every queue empties */
	phase("waiting for the agents' queues to empty", CONVERGE_MS + 20000);
	conv = converge();
	assert_true(conv >= 0);
	for (i = 0; i < nagents; i++) {
		struct sk_agent *a = &agents[i];
		size_t k;

		helper_proc_bg_signal(&a->bg, SIGTERM);
		for (k = 0; k < a->nev; k++) {
			want_events += !a->ev[k].voided;
			want_parents += a->ev[k].voided ? 0 : a->ev[k].parents;
		}
		want_revisions += a->revisions;
		recorded += (int64_t)a->nev;
	}
	phase("stopping the agents and checking their stores and the server's",
	      60000 + 1000L * nagents);
	assert_int_equal(tb_db_open(srv[0].db, &ro, &db, msg, sizeof(msg)),
			 TB_OK);
	for (i = 0; i < nagents; i++) {
		struct sk_agent *a = &agents[i];
		struct helper_proc_result r;

		assert_int_equal(helper_proc_bg_wait(&a->bg, 20000, &r), 0);
		assert_true(helper_proc_exited_with(&r, 0));
		agent_figures(r.err, &fig);
		helper_proc_free(&r);
		/* the store holds what the test counted, all sent */
		assert_int_equal(helper_server_db_int(a->h.db,
			"SELECT count(*) FROM queue"), a->revisions);
		assert_int_equal(pending(a), 0);
		check_agent_status(a);
		assert_int_equal(helper_server_integrity(a->h.db), 0);
		check_agent_on_server(db, a);
	}
	phase("stopping the proxy and checking the server", 120000);
	assert_int_equal(helper_link_stop(&proxy, &ls), 0);
	seen = calloc((size_t)nagents + 1, 1);
	assert_non_null(seen);
	for (i = 0; i < nsrv; i++)
		acks_by[i] = server_figures(&srv[i], &acks, &dups, seen,
					    (unsigned char)(1u << i));
	for (i = 1; i <= nagents; i++)
		both += seen[i] == 3;
	free(seen);

	fprintf(stderr,
		"test_soak: %d agents, %ld s, seed %u, %s\n"
		"  recorded:   %lld events, %lld of them voided since, %lld "
		"revisions in all (amendments and voids); %lld counted now, "
		"parents sum %lld; %ld commands failed\n"
		"  link:       %lld connections, %lld cut by the proxy (%.1f%%)\n"
		"  server:     %ld kill -9 and restarts; %lld batches "
		"acknowledged, %lld events in them already held\n"
		"  agents:     %lld passes, %lld failed; in the others %lld "
		"batches, %lld events acknowledged, %lld of them already held; %lld "
		"acknowledgements lost on the way (made up from the "
		"server's cursor)\n"
		"  queues emptied %ld ms after the faults stopped\n",
		nagents, soak_ms / 1000, seed,
		pg ? "PostgreSQL, 2 instances behind HAProxy" : "SQLite",
		(long long)recorded,
		(long long)(recorded - want_events), (long long)want_revisions,
		(long long)want_events, (long long)want_parents,
		atomic_load(&failed_ops), ls.conns, ls.cuts,
		ls.conns > 0 ? 100.0 * (double)ls.cuts / (double)ls.conns : 0.0,
		atomic_load(&restarts),
		acks, dups, fig.passes, fig.failed, fig.batches, fig.sent,
		fig.held, acks - fig.batches, conv);
	if (pg)
		fprintf(stderr, "  instances:  1 killed %ld times, acknowledged "
			"%lld batches; 2 killed %ld times, acknowledged %lld; "
			"%d schools acknowledged by both; HAProxy took an "
			"instance out %d times and put it back %d times\n",
			atomic_load(&kills[0]), acks_by[0],
			atomic_load(&kills[1]), acks_by[1], both,
			helper_haproxy_count(&lb, " is DOWN"),
			helper_haproxy_count(&lb, " is UP"));

	/* the totals, exactly */
	assert_int_equal(store_int(db, "SELECT count(*) FROM events WHERE "
				   "school LIKE 'SK-%' AND voided = 0", NULL,
				   0), want_events);
	assert_int_equal(store_int(db, "SELECT count(*) FROM events WHERE "
				   "school LIKE 'SK-%'", NULL, 0), recorded);
	assert_int_equal(store_int(db, tb_sql_backend(db) == TB_SQL_PG
		? "SELECT coalesce(sum((h.fields::jsonb ->> 'parents')::bigint),"
		  " 0) FROM events e JOIN event_history h ON h.id = e.id AND"
		  " h.revision = e.revision WHERE e.school LIKE 'SK-%' AND"
		  " e.voided = 0"
		: "SELECT coalesce(sum(json_extract(h.fields, '$.parents')), 0)"
		  " FROM events e JOIN event_history h ON h.id = e.id AND"
		  " h.revision = e.revision WHERE e.school LIKE 'SK-%' AND"
		  " e.voided = 0",
		NULL, 0), want_parents);
	assert_int_equal(store_int(db, "SELECT count(*) FROM event_history",
				   NULL, 0), want_revisions);
	assert_int_equal(store_int(db, "SELECT count(*) FROM (SELECT DISTINCT "
				   "id, revision FROM event_history) AS h",
				   NULL, 0), want_revisions);
	assert_int_equal(store_int(db, "SELECT count(*) FROM rejections",
				   NULL, 0), 0);
	tb_sql_close(db);
	assert_true(want_events > 0);
	assert_true(atomic_load(&restarts) > 0);
	assert_true(ls.cuts > 0);
	for (i = 0; i < nsrv; i++) {
		/* on PostgreSQL both instances took traffic, and a device's
		 * retry landed on the other one */
		assert_true(acks_by[i] > 0);
		assert_int_equal(helper_server_stop(&srv[i]), 0);
	}
	if (pg) {
		assert_true(both > 0);
		/* the first kill was long enough for two failed checks */
		assert_true(helper_haproxy_count(&lb, " is DOWN") > 0);
		assert_true(helper_haproxy_count(&lb, " is UP") > 0);
		assert_int_equal(helper_haproxy_stop(&lb), 0);
	}
	/* the database intact, SQLite's or PostgreSQL's (helper_server.h) */
	assert_int_equal(helper_server_check(&srv[0]), 0);
	atomic_store(&watchdog_stop, 1);
	pthread_join(dog, NULL);
}

static int group_setup(void **state)
{
	const char *env = getenv("TB_SOAK_SEED");

	(void)state;
	pg = helper_pg_wanted();
	nagents = (int)env_long("TB_SOAK_AGENTS", 40, 1, MAX_AGENTS);
	soak_ms = 1000 * env_long("TB_SOAK_SECONDS", 30, 5, 24 * 3600);
	seed = env && *env ? (unsigned)strtoul(env, NULL, 10)
			   : (unsigned)time(NULL) ^ (unsigned)getpid();
	return 0;
}

static int group_teardown(void **state)
{
	int i;

	(void)state;
	atomic_store(&watchdog_stop, 1); /* a failed assert left it running */
	phase("tearing down", 60000);
	for (i = 0; agents && i < nagents; i++) {
		struct helper_proc_result r;

		if (agents[i].bg.pid) {
			helper_proc_bg_signal(&agents[i].bg, SIGKILL);
			if (helper_proc_bg_wait(&agents[i].bg, 5000, &r) == 0)
				helper_proc_free(&r);
		}
		helper_server_agent_cleanup(&agents[i].h);
		pthread_mutex_destroy(&agents[i].lock);
		free(agents[i].ev);
	}
	free(agents);
	agents = NULL;
	if (proxy.bg.pid) {
		struct helper_proc_result r;

		helper_proc_bg_signal(&proxy.bg, SIGKILL);
		if (helper_proc_bg_wait(&proxy.bg, 5000, &r) == 0)
			helper_proc_free(&r);
	}
	helper_haproxy_stop(&lb);
	for (i = nsrv - 1; i >= 0; i--)
		helper_server_teardown(&srv[i]);
	if (pg_url[0])
		helper_pg_dropdb(pg_url);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soak),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
