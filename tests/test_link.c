/* test_link.c - the promise to the mountain schools: whatever link they
 * have, what they record gets through exactly once, and `status` tells
 * the truth on the way. Real binaries (TB_AGENT_BIN, TB_SERVER_BIN), HTTPS
 * on 127.0.0.1 through tb-faultproxy playing the link (helper_link.h),
 * SQLite files in temp dirs.
 *
 *  - a link that resets every connection after 4, 8 or 16 KB (handshake
 *    included): 1,000 events recorded at once get through, each exactly
 *    once, in a few sync runs; the batch size that worked is kept.
 *  - a link that goes silent in the middle of an upload: sync gives up
 *    in bounded time with exit 69 and words that say the link is down
 *    (not the server); `status` shows the failed tries while the pass
 *    still runs; once the link is back, everything arrives once.
 *  - a 2G link (40 kbit/s each way, 300 ms each way): a school's half
 *    year of events arrives, and the bytes the agent reports on the link
 *    are the bytes that crossed it.
 *
 * Expected counts and sums come from the rows this file imports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/helper_link.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"

#define CUT_EVENTS 1000
#define CUT_RUNS 6 /* sync runs at most, per link */

static struct helper_server srv;

static int group_setup(void **state)
{
	(void)state;
	return helper_server_up(&srv);
}

static int group_teardown(void **state)
{
	(void)state;
	helper_server_stop(&srv);
	helper_server_teardown(&srv);
	return 0;
}

/* An agent of a new school in district HB-LK, talking to url. */
static void agent_new(struct helper_server_agent *a, const char *school,
		      const char *url)
{
	char token[80];

	assert_int_equal(helper_server_enroll(&srv, school, "HB-LK", token), 0);
	assert_int_equal(helper_server_agent_init(&srv, a, url, school, token),
			 0);
}

static long long row_parents(int i)
{
	return i % 97 + 1;
}

/* Imports n outreach events in one go (seqs 1..n); the sum of their
 * parents counts, as the server must hold it. */
static long long import(struct helper_server_agent *a, int n)
{
	struct helper_proc_result r;
	size_t cap = 64 + (size_t)n * 80, len;
	char *csv = malloc(cap), path[500];
	long long sum = 0;
	int i;

	assert_non_null(csv);
	len = (size_t)snprintf(csv, cap, "kind,date,title,parents\n");
	for (i = 1; i <= n; i++) {
		/* a village name gzip cannot guess, as real titles vary:
		 * about 22 B per event on the wire, as measured in the
		 * field */
		unsigned h = (unsigned)i * 2654435761u;

		len += (size_t)snprintf(csv + len, cap - len,
					"outreach,2025-11-%02d,Nói chuyện ở "
					"thôn %08x,%lld\n",
					1 + i % 28, h, row_parents(i));
		sum += row_parents(i);
	}
	assert_true(len < cap);
	snprintf(path, sizeof(path), "%s/rows.csv", a->sb.dir);
	assert_int_equal(helper_proc_write_file(path, csv, len), 0);
	free(csv);
	helper_proc_runl(&r, &a->o, TB_AGENT_BIN, "import", path, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	return sum;
}

/* The server holds the device's n events exactly once, with the parents
 * imported, and the agent has nothing left to send. */
static void expect_delivered(const struct helper_server_agent *a, int n,
			     long long parents)
{
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM "
		"event_history WHERE device = '%s'", a->device), n);
	assert_int_equal(helper_server_countf(&srv, "SELECT count(DISTINCT "
		"seq) FROM event_history WHERE device = '%s' AND seq BETWEEN "
		"1 AND %d", a->device, n), n);
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM "
		"events e JOIN event_history h ON h.id = e.id AND h.revision = "
		"e.revision WHERE h.device = '%s'", a->device), n);
	assert_int_equal(helper_server_countf(&srv, "SELECT coalesce(sum("
		"json_extract(h.fields, '$.parents')), 0) FROM events e JOIN "
		"event_history h ON h.id = e.id AND h.revision = e.revision "
		"WHERE h.device = '%s'", a->device), parents);
	assert_int_equal(helper_server_db_int(a->db, "SELECT count(*) FROM "
					      "queue WHERE state = 0"), 0);
}

/* `status --json`'s link object, parsed (cJSON_Delete the parent). */
static cJSON *status_json(const struct helper_server_agent *a, cJSON **root)
{
	struct helper_proc_result r;
	cJSON *link;

	helper_proc_runl(&r, &a->o, TB_AGENT_BIN, "status", "--json", NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	*root = cJSON_Parse(r.out);
	helper_proc_free(&r);
	assert_non_null(*root);
	link = cJSON_GetObjectItemCaseSensitive(*root, "link");
	assert_true(cJSON_IsObject(link));
	return link;
}

static double link_num(const cJSON *link, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(link, key);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

/* Sync runs (quick retries) until one ends 0 with nothing pending; the
 * number of runs it took (fails after CUT_RUNS). */
static int sync_until_done(struct helper_server_agent *a)
{
	int i;

	for (i = 1; i <= CUT_RUNS; i++) {
		struct helper_proc_result r;
		int ok;

		helper_proc_runl(&r, &a->o, TB_AGENT_BIN, "sync", "--quiet",
				 "--backoff-ms", "10", "--backoff-max-ms",
				 "100", "--timeout", "20", NULL);
		ok = r.exited && r.exit_code == 0;
		if (!ok && !(r.exited && r.exit_code == 69))
			fail_msg("sync: exit %d signal %d: %s", r.exit_code,
				 r.signal, r.err);
		fprintf(stderr, "test_link: run %d: exit %d: %s", i,
			r.exit_code, r.err);
		helper_proc_free(&r);
		if (ok && helper_server_db_int(a->db, "SELECT count(*) FROM "
					       "queue WHERE state = 0") == 0)
			return i;
	}
	fail_msg("still events waiting after %d sync runs", CUT_RUNS);
	return -1;
}

/* 1,000 events at once over a link that resets every connection after
 * budget bytes. Before the adaptive batches, a 22 KB batch was resent
 * whole for ever and nothing arrived. */
static void cut_after(const char *school, const char *budget)
{
	const char *const faults[] = { "--cut-after", budget, NULL };
	struct helper_server_agent a;
	struct helper_link l;
	struct helper_link_stats ls;
	long long parents;
	cJSON *root, *link;
	int runs;

	assert_int_equal(helper_link_start(&l, srv.port, srv.dir, faults, 300),
			 0);
	agent_new(&a, school, l.url);
	parents = import(&a, CUT_EVENTS);
	runs = sync_until_done(&a);
	assert_int_equal(helper_link_stop(&l, &ls), 0);
	fprintf(stderr, "test_link: %s B per connection: %d run(s), %lld "
			"connections, %lld cut, %lld B on the link\n",
		budget, runs, ls.conns, ls.cuts, ls.bytes);
	assert_true(ls.cuts > 0); /* the link really cut */
	expect_delivered(&a, CUT_EVENTS, parents);
	/* the size that worked is kept, and it is not the maximum */
	link = status_json(&a, &root);
	assert_true(link_num(link, "batch_events") >= 1);
	assert_true(link_num(link, "batch_events") < CUT_EVENTS);
	assert_true(link_num(link, "failed_tries") == 0);
	cJSON_Delete(root);
	helper_server_agent_cleanup(&a);
}

static void test_cut_after_4k(void **state)
{
	(void)state;
	cut_after("HB-LK4", "4096");
}

static void test_cut_after_8k(void **state)
{
	(void)state;
	cut_after("HB-LK8", "8192");
}

static void test_cut_after_16k(void **state)
{
	(void)state;
	cut_after("HB-LK16", "16384");
}

/* The link fades in the middle of the first upload. */
static void test_silent_link(void **state)
{
	const char *const faults[] = { "--silent-after", "5000", NULL };
	const char *const argv[] = { TB_AGENT_BIN, "sync", "--quiet",
				     "--stall", "2", "--tries", "3",
				     "--backoff-ms", "1500",
				     "--backoff-max-ms", "1500", NULL };
	struct helper_server_agent a;
	struct helper_proc_bg bg;
	struct helper_proc_result r;
	struct helper_link l;
	struct helper_link_stats ls;
	long long parents, t0, took;
	char listen[40];
	const char *const back[] = { "--listen", listen, NULL };
	cJSON *root, *link;
	int seen_failing = 0;

	(void)state;
	assert_int_equal(helper_link_start(&l, srv.port, srv.dir, faults, 300),
			 0);
	agent_new(&a, "HB-LKS", l.url);
	parents = import(&a, 600);
	t0 = helper_proc_now_ms();
	assert_int_equal(helper_proc_bg_start(&bg, argv, &a.o, a.sb.dir,
					      "sync"), 0);
	/* while the pass still runs, status already counts the failed tries
	 * and says what the link did */
	while (helper_proc_bg_running(&bg) && helper_proc_now_ms() - t0 < 60000) {
		link = status_json(&a, &root);
		if (link_num(link, "failed_tries") >= 1 &&
		    helper_proc_bg_running(&bg)) {
			struct helper_proc_result st;

			seen_failing = 1;
			cJSON_Delete(root);
			helper_proc_runl(&st, &a.o, TB_AGENT_BIN, "status",
					 NULL);
			assert_true(helper_proc_exited_with(&st, 0));
			fprintf(stderr, "test_link: status during the "
					"failing pass:\n%s", st.out);
			assert_non_null(strstr(st.out, "failing:"));
			assert_non_null(strstr(st.out, "link seems down"));
			helper_proc_free(&st);
			break;
		}
		cJSON_Delete(root);
		helper_proc_sleep_ms(100);
	}
	assert_true(seen_failing);
	assert_int_equal(helper_proc_bg_wait(&bg, 60000, &r), 0);
	took = helper_proc_now_ms() - t0;
	fprintf(stderr, "test_link: silent link: exit %d after %lld ms: %s",
		r.exit_code, took, r.err);
	assert_true(helper_proc_exited_with(&r, 69));
	assert_non_null(strstr(r.err, "the link seems down"));
	assert_null(strstr(r.err, "server did not answer"));
	assert_null(strstr(r.err, "Operation"));  /* libcurl's words */
	helper_proc_free(&r);
	/* 3 tries: a 2 s stall, then two handshakes that never finish (10 s
	 * each), 1.5 s between: bounded well under a minute */
	assert_true(took < 45000);
	assert_int_equal(helper_link_stop(&l, &ls), 0);
	assert_true(ls.dropped > 0);

	/* the link comes back, same address, no faults: everything
	 * arrives, once */
	snprintf(listen, sizeof(listen), "127.0.0.1:%s",
		 strrchr(l.url, ':') + 1);
	assert_int_equal(helper_link_start(&l, srv.port, srv.dir, back, 300),
			 0);
	assert_int_equal(sync_until_done(&a), 1);
	expect_delivered(&a, 600, parents);
	link = status_json(&a, &root);
	assert_true(link_num(link, "failed_tries") == 0);
	cJSON_Delete(root);
	assert_int_equal(helper_link_stop(&l, NULL), 0);
	helper_server_agent_cleanup(&a);
}

/* A 2G link: 40 kbit/s each way, 600 ms round trip. */
static void test_2g(void **state)
{
	const char *const faults[] = { "--rate-kbit", "40", "--delay-ms",
				       "300", NULL };
	struct helper_server_agent a;
	struct helper_proc_result r;
	struct helper_link l;
	struct helper_link_stats ls;
	long long parents, t0;
	cJSON *root, *link;
	double reported;

	(void)state;
	assert_int_equal(helper_link_start(&l, srv.port, srv.dir, faults, 300),
			 0);
	agent_new(&a, "HB-LK2G", l.url);
	parents = import(&a, 300);
	t0 = helper_proc_now_ms();
	helper_proc_runl(&r, &a.o, TB_AGENT_BIN, "sync", "--quiet", NULL);
	fprintf(stderr, "test_link: 2G: %lld ms: %s", helper_proc_now_ms() - t0, r.err);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	assert_int_equal(helper_link_stats(&l, &ls, 10000), 0);
	expect_delivered(&a, 300, parents);
	/* what the agent says it spent is what crossed the link (TCP
	 * payload both ways; a few % for what TCP_INFO counts differently) */
	link = status_json(&a, &root);
	reported = link_num(link, "last_pass_link_bytes");
	cJSON_Delete(root);
	fprintf(stderr, "test_link: 2G: agent reports %.0f B on the link, "
			"the link carried %lld B\n",
		reported, ls.bytes);
	assert_true(ls.bytes > 0);
	assert_true(reported >= 0.95 * (double)ls.bytes &&
		    reported <= 1.05 * (double)ls.bytes);
	assert_int_equal(helper_link_stop(&l, NULL), 0);
	helper_server_agent_cleanup(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_after_4k),
		cmocka_unit_test(test_cut_after_8k),
		cmocka_unit_test(test_cut_after_16k),
		cmocka_unit_test(test_silent_link),
		cmocka_unit_test(test_2g),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
