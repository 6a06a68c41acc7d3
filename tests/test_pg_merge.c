/* test_pg_merge.c - exactly-once on PostgreSQL with several instances:
 * two threads, each with its own connection (two `serve` processes behind
 * one load balancer), merge through tb_merge_batch at the same time
 *   1. the same device's batches, every batch sent by both (a retry that
 *      reached the other instance): each revision stored once, accepted
 *      exactly once in all, the cursor at the last seq;
 *   2. two devices of one school sending the same event ids at once, one
 *      at revision 1 and the other at revision 2: no 500 (a unique
 *      violation or a skipped upsert is TB_EAGAIN, retried here as the
 *      agent does after a 503), every revision once in event_history, and
 *      events holding revision 2 whatever the order.
 *
 * Runs as test_pg_merge_pg against the ctest fixture's cluster (a fresh
 * database made by helper_pg_newdb, dropped after). Without the fixture
 * it fails, saying so: a skip would hide that PostgreSQL was never
 * tested.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "protocol/codec.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/merge.h"
#include "server/org.h"
#include "server/sql.h"
#include "tests/helper_pg.h"

#define SCHOOL "HB-401"
#define DEV_A "31111111-2222-4333-8444-000000000001"
#define DEV_B "31111111-2222-4333-8444-000000000002"
#define DEV_C "31111111-2222-4333-8444-000000000003"
#define NEVENTS 240 /* part 1: seqs 1..NEVENTS */
#define PER_BATCH 20
#define NRACE 60 /* part 2: ids raced for */
#define RACE_BATCH 10

static char url[600];
static struct tb_sql *db; /* the checking connection */
static struct tb_principal who_a, who_b, who_c;

/* base with its database name replaced by name (a ?query kept). */

static int64_t count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int64_t count(const char *fmt, ...)
{
	char sql[512];
	struct tb_stmt *st = NULL;
	int64_t v = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(tb_sql_prepare(db, sql, 0, &st), TB_OK);
	if (tb_sql_step(st) == TB_SQL_ROW)
		v = tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	return v;
}

static int enroll(struct tb_principal *who)
{
	struct tb_org_school s = {SCHOOL, "Trường thử", "TH", "HB-D4", NULL};
	char msg[256] = "", token[TB_TOKEN_LEN + 1];
	int64_t id;

	if (tb_auth_enroll(db, &s, token, &id, msg, sizeof(msg)) ||
	    tb_auth_device(db, token, who)) {
		fprintf(stderr, "test_pg_merge: enroll: %s\n", msg);
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	struct tb_db_opts o = {0, 1, 0, 1};
	char msg[512] = "";

	(void)state;
	/* a fresh database in the fixture's cluster; without the fixture
	 * this fails, saying so (it never skips) */
	if (helper_pg_newdb(url, sizeof(url)) != 0)
		return -1;
	if (tb_db_open(url, &o, &db, msg, sizeof(msg)) != TB_OK) {
		fprintf(stderr, "test_pg_merge: %s\n", msg);
		return -1;
	}
	return enroll(&who_a) || enroll(&who_b) || enroll(&who_c) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tb_sql_close(db);
	db = NULL;
	return url[0] && helper_pg_dropdb(url) != 0 ? -1 : 0;
}

static void make(struct tb_event *e, const char *id, int64_t revision,
		 int64_t seq, int parents)
{
	char msg[TB_MSG_LEN] = "", num[24];

	tb_event_init(e, TB_KIND_OUTREACH);
	assert_true(strlen(id) < sizeof(e->id));
	memcpy(e->id, id, strlen(id) + 1);
	snprintf(e->school, sizeof(e->school), "%s", SCHOOL);
	e->date = tb_date_from_ymd(2025, 3, 8);
	e->revision = revision;
	e->seq = seq;
	e->recorded_at = 1741392000 + seq;
	assert_int_equal(tb_event_set(e, "title", "Họp phụ huynh", msg,
				      sizeof(msg)), 0);
	snprintf(num, sizeof(num), "%d", parents);
	assert_int_equal(tb_event_set(e, "parents", num, msg, sizeof(msg)), 0);
}

/* One thread = one instance: its own connection. */
struct worker {
	const struct tb_principal *who;
	const char *device;
	int part;          /* 1 or 2 (see the top) */
	int64_t revision;  /* part 2 */
	pthread_barrier_t *start;
	int64_t accepted, duplicates, rejected, retries;
	int failed;        /* a result neither TB_OK nor TB_EAGAIN, or not 200 */
	char why[512];
};

/* Merges b until it is not TB_EAGAIN (a 503 the agent would retry). */
static void merge_retrying(struct worker *w, struct tb_sql *c,
			   struct tb_batch *b)
{
	for (;;) {
		struct tb_merge_result res;
		struct tb_ack ack;
		int rc;

		tb_ack_init(&ack);
		rc = tb_merge_batch(c, w->who, b, &ack, &res);
		if (rc == TB_OK && res.status == 200) {
			w->accepted += ack.accepted;
			w->duplicates += ack.duplicates;
			w->rejected += (int64_t)ack.nrejected;
		} else if (rc != TB_EAGAIN && !w->failed) {
			w->failed = 1;
			snprintf(w->why, sizeof(w->why), "seq %lld..%lld: rc %d "
				 "status %d: %.300s", (long long)b->first_seq,
				 (long long)b->last_seq, rc, res.status,
				 res.message);
		}
		tb_ack_clear(&ack);
		if (rc != TB_EAGAIN || w->failed)
			return;
		w->retries++;
	}
}

static void batch_start(struct tb_batch *b, const char *device)
{
	tb_batch_init(b);
	snprintf(b->school, sizeof(b->school), "%s", SCHOOL);
	snprintf(b->device, sizeof(b->device), "%s", device);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct tb_db_opts o = {0, 1, 0, 0};
	struct tb_sql *c = NULL;
	char msg[512] = "", id[40];
	int total = w->part == 1 ? NEVENTS : NRACE;
	int per = w->part == 1 ? PER_BATCH : RACE_BATCH;

	if (tb_db_open(url, &o, &c, msg, sizeof(msg)) != TB_OK) {
		w->failed = 1;
		snprintf(w->why, sizeof(w->why), "%.400s", msg);
		pthread_barrier_wait(w->start);
		return NULL;
	}
	pthread_barrier_wait(w->start);
	for (int first = 1; first <= total && !w->failed; first += per) {
		struct tb_batch b;

		batch_start(&b, w->device);
		for (int seq = first; seq < first + per && seq <= total; seq++) {
			struct tb_event e;

			snprintf(id, sizeof(id), "%c0000000-0000-4000-8000-%012d",
				 w->part == 1 ? 'a' : 'b', seq);
			make(&e, id, w->part == 1 ? 1 : w->revision, seq,
			     (int)w->revision * 1000 + seq);
			if (tb_batch_add(&b, &e) != TB_OK)
				w->failed = 1;
			tb_event_clear(&e);
		}
		merge_retrying(w, c, &b);
		tb_batch_clear(&b);
	}
	tb_sql_close(c);
	return NULL;
}

static void run_two(struct worker *w0, struct worker *w1)
{
	pthread_barrier_t start;
	pthread_t t[2];

	pthread_barrier_init(&start, NULL, 2);
	w0->start = w1->start = &start;
	assert_int_equal(pthread_create(&t[0], NULL, work, w0), 0);
	assert_int_equal(pthread_create(&t[1], NULL, work, w1), 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	pthread_barrier_destroy(&start);
	if (w0->failed || w1->failed)
		fail_msg("a merge failed: %s%s", w0->why, w1->why);
	fprintf(stderr, "accepted %lld + %lld, duplicates %lld + %lld, "
		"retried after TB_EAGAIN %lld + %lld\n",
		(long long)w0->accepted, (long long)w1->accepted,
		(long long)w0->duplicates, (long long)w1->duplicates,
		(long long)w0->retries, (long long)w1->retries);
}

/* Part 1: both instances get every batch of device A. */
static void test_same_device_two_instances(void **state)
{
	struct worker w0 = {&who_a, DEV_A, 1, 1, NULL, 0, 0, 0, 0, 0, ""};
	struct worker w1 = w0;

	(void)state;
	run_two(&w0, &w1);
	assert_int_equal(w0.accepted + w1.accepted, NEVENTS);
	assert_int_equal(w0.duplicates + w1.duplicates, NEVENTS);
	assert_int_equal(w0.rejected + w1.rejected, 0);
	assert_int_equal(count("SELECT count(*) FROM event_history WHERE"
			       " device = '" DEV_A "'"), NEVENTS);
	assert_int_equal(count("SELECT count(DISTINCT id) FROM event_history"
			       " WHERE device = '" DEV_A "'"), NEVENTS);
	assert_int_equal(count("SELECT count(*) FROM events WHERE"
			       " device = '" DEV_A "'"), NEVENTS);
	assert_int_equal(count("SELECT committed_through FROM cursors WHERE"
			       " device = '" DEV_A "'"), NEVENTS);
	assert_int_equal(count("SELECT count(*) FROM rejections"), 0);
}

/* Part 2: devices B (revision 1) and C (revision 2) race on ids b1..bN. */
static void test_two_devices_same_ids(void **state)
{
	struct worker w0 = {&who_b, DEV_B, 2, 1, NULL, 0, 0, 0, 0, 0, ""};
	struct worker w1 = {&who_c, DEV_C, 2, 2, NULL, 0, 0, 0, 0, 0, ""};

	(void)state;
	run_two(&w0, &w1);
	/* C's revision 2 is always newer: accepted once each */
	assert_int_equal(w1.accepted, NRACE);
	assert_int_equal(w1.duplicates + w1.rejected, 0);
	/* B's revision 1: accepted when it came first, else stale */
	assert_int_equal(w0.accepted + w0.duplicates, NRACE);
	assert_int_equal(count("SELECT count(*) FROM event_history WHERE"
			       " id LIKE 'b%%' AND revision = 2"), NRACE);
	assert_int_equal(count("SELECT count(*) FROM event_history WHERE"
			       " id LIKE 'b%%' AND revision = 1"), w0.accepted);
	assert_int_equal(count("SELECT count(*) FROM events WHERE"
			       " id LIKE 'b%%' AND revision = 2 AND"
			       " device = '" DEV_C "'"), NRACE);
	assert_int_equal(count("SELECT count(*) FROM events WHERE"
			       " id LIKE 'b%%'"), NRACE);
	assert_int_equal(count("SELECT committed_through FROM cursors WHERE"
			       " device = '" DEV_B "'"), NRACE);
	assert_int_equal(count("SELECT committed_through FROM cursors WHERE"
			       " device = '" DEV_C "'"), NRACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_device_two_instances),
		cmocka_unit_test(test_two_devices_same_ids),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
