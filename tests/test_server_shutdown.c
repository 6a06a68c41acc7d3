/* test_server_shutdown.c - tienbo-server stopping and cutting: SIGTERM in
 * the middle of uploads exits 0 with every acknowledged event in the
 * database and no batch stored in part; after a restart the cursor carries
 * on; SIGINT on an idle server exits 0; a client that connects and says
 * nothing is cut after the connection timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "tests/helper_server.h"

#define UPLOADERS 4
#define BATCH 50
#define MAX_BATCHES 400

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct uploader {
	struct helper_server *s;
	char token[65];
	char school[16];
	char device[37];
	unsigned tag;
	int64_t acked;      /* highest committed_through acknowledged */
	atomic_int batches; /* acknowledged batches */
	int64_t stray;      /* acks that did not match the batch */
};

static void *upload_loop(void *arg)
{
	struct uploader *u = arg;
	int i;

	for (i = 0; i < MAX_BATCHES; i++) {
		char *json = helper_server_batch(u->device, u->school,
						 u->acked + 1, BATCH, u->tag, 1, 0);
		struct helper_server_resp r;
		struct tb_ack ack;
		char msg[128];
		int ok;

		tb_ack_init(&ack);
		ok = helper_server_post(u->s, u->token, json, &r) == 0 &&
		     r.status == 200 &&
		     tb_ack_decode(r.body, r.len, &ack, msg, sizeof(msg)) == 0;
		if (ok) {
			if (ack.committed_through != u->acked + BATCH ||
			    ack.accepted != BATCH)
				u->stray++;
			u->acked = ack.committed_through;
			atomic_fetch_add(&u->batches, 1);
		}
		tb_ack_clear(&ack);
		helper_server_resp_free(&r);
		free(json);
		if (!ok)
			break; /* refused, 503 or connection gone: stopping */
	}
	return NULL;
}

static int64_t school_count(struct helper_server *s, const char *what,
			    const char *school, int64_t upto)
{
	char sql[320];

	/* events: the current revisions; event_history: all of them (the
	 * school is the event's, seq the revision's) */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events e JOIN "
		 "event_history h ON h.id = e.id%s WHERE e.school='%s' AND "
		 "h.seq <= %lld", strcmp(what, "events") == 0
		 ? " AND h.revision = e.revision" : "", school,
		 (long long)upto);
	return helper_server_count(s, sql);
}

static void test_sigterm_during_uploads(void **state)
{
	struct helper_server s;
	struct uploader u[UPLOADERS];
	pthread_t t[UPLOADERS];
	long t0;
	int i, total = 0;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	assert_int_equal(helper_server_start(&s, NULL), 0);
	for (i = 0; i < UPLOADERS; i++) {
		memset(&u[i], 0, sizeof(u[i]));
		u[i].s = &s;
		u[i].tag = 0x300 + (unsigned)i;
		snprintf(u[i].school, sizeof(u[i].school), "HB-3%02d", i);
		snprintf(u[i].device, sizeof(u[i].device),
			 "8b1c2a9e-3b4d-4c5e-8f70-%012d", i + 1);
		assert_int_equal(helper_server_enroll(&s, u[i].school, "HB-LS",
						      u[i].token), 0);
	}
	for (i = 0; i < UPLOADERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, upload_loop, &u[i]),
				 0);
	t0 = now_ms();
	do {
		usleep(5000);
		for (total = 0, i = 0; i < UPLOADERS; i++)
			total += atomic_load(&u[i].batches);
	} while (total < 3 * UPLOADERS && now_ms() - t0 < 30000);
	assert_true(total >= 3 * UPLOADERS);
	helper_server_signal(&s, SIGTERM);
	assert_int_equal(helper_server_wait(&s, 30000), 0);
	for (i = 0; i < UPLOADERS; i++)
		pthread_join(t[i], NULL);

	for (i = 0; i < UPLOADERS; i++) {
		int64_t all = school_count(&s, "events", u[i].school, INT64_MAX);

		assert_int_equal(u[i].stray, 0);
		assert_true(u[i].acked >= BATCH);
		/* Every acknowledged event is there ... */
		assert_int_equal(school_count(&s, "events", u[i].school,
					      u[i].acked), u[i].acked);
		/* ... at most one batch more was committed unacknowledged ... */
		assert_true(all == u[i].acked || all == u[i].acked + BATCH);
		/* ... and history has exactly the same rows: no half batch. */
		assert_int_equal(school_count(&s, "event_history", u[i].school,
					      INT64_MAX), all);
	}

	/* A restart on the same file carries on from each cursor. */
	assert_int_equal(helper_server_start(&s, NULL), 0);
	for (i = 0; i < UPLOADERS; i++) {
		int64_t all = school_count(&s, "events", u[i].school, INT64_MAX);
		char path[96], dev[37];
		int64_t through = -1;
		struct helper_server_resp r;

		snprintf(path, sizeof(path), "/v1/cursor?device=%s", u[i].device);
		assert_int_equal(helper_server_request(&s, "GET", path,
						       u[i].token, NULL, NULL,
						       NULL, 0, 0, &r), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(tb_cursor_decode(r.body, r.len, dev, &through),
				 0);
		assert_int_equal(through, all);
		helper_server_resp_free(&r);
	}
	assert_int_equal(helper_server_stop(&s), 0);
	helper_server_teardown(&s);
}

/* An upload whose body is still arriving when SIGTERM comes is let finish:
 * it is committed and acknowledged, and only then does the server exit. */
static void test_sigterm_waits_for_upload(void **state)
{
	struct helper_server s;
	struct helper_server_slow *sl;
	char tok[65], *json;
	unsigned char *gz = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	assert_int_equal(helper_server_start(&s, NULL), 0);
	assert_int_equal(helper_server_enroll(&s, "HB-390", "HB-LS", tok), 0);
	json = helper_server_batch("8b1c2a9e-3b4d-4c5e-8f70-000000000390",
				   "HB-390", 1, 30, 0x390, 1, 0);
	assert_int_equal(tb_gz_compress(json, strlen(json), -1, &gz, &len), 0);
	sl = helper_server_slow_start(&s, tok, gz, len);
	assert_non_null(sl);
	/* The server holds it (it answered 100 Continue) */
	assert_int_equal(helper_server_slow_wait(sl, 20000), 1);
	helper_server_signal(&s, SIGTERM);
	/* Still running: it waits for the upload in flight. */
	assert_int_equal(helper_server_wait(&s, 500), -1);
	assert_int_equal(helper_server_slow_finish(sl), 200);
	assert_int_equal(helper_server_wait(&s, 20000), 0);
	assert_int_equal(helper_server_count(&s, "SELECT count(*) FROM events "
					     "WHERE school='HB-390'"), 30);
	tb_free(gz);
	free(json);
	helper_server_teardown(&s);
}

/* An upload still trickling in past --upload-timeout is cut, and nothing
 * of it is stored. */
static void test_slow_upload_cut(void **state)
{
	struct helper_server s;
	const char *extra[] = { "--upload-timeout", "1", NULL };
	struct helper_server_slow *sl;
	char tok[65], *json;
	unsigned char *gz = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	assert_int_equal(helper_server_start(&s, extra), 0);
	assert_int_equal(helper_server_enroll(&s, "HB-391", "HB-LS", tok), 0);
	json = helper_server_batch("8b1c2a9e-3b4d-4c5e-8f70-000000000391",
				   "HB-391", 1, 5, 0x391, 1, 0);
	assert_int_equal(tb_gz_compress(json, strlen(json), -1, &gz, &len), 0);
	sl = helper_server_slow_start(&s, tok, gz, len);
	assert_non_null(sl);
	assert_int_equal(helper_server_slow_wait(sl, 20000), 1);
	usleep(2200000); /* past the 1 s limit (whole seconds are compared) */
	assert_int_equal(helper_server_slow_finish(sl), 0); /* cut, no answer */
	assert_int_equal(helper_server_count(&s, "SELECT count(*) FROM events"),
			 0);
	assert_int_equal(helper_server_stop(&s), 0);
	tb_free(gz);
	free(json);
	helper_server_teardown(&s);
}

static void test_sigint_idle(void **state)
{
	struct helper_server s;
	char buf[8192];
	FILE *f;
	size_t n;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	assert_int_equal(helper_server_start(&s, NULL), 0);
	helper_server_signal(&s, SIGINT);
	assert_int_equal(helper_server_wait(&s, 20000), 0);
	f = fopen(s.log, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, " stopped"));
	helper_server_teardown(&s);
}

static void test_silent_client_cut(void **state)
{
	struct helper_server s;
	const char *extra[] = { "--timeout", "1", NULL };
	struct sockaddr_in a;
	struct pollfd p;
	char c;
	long t0, took;
	int fd, closed = 0;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	assert_int_equal(helper_server_start(&s, extra), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)s.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	t0 = now_ms();
	/* Say nothing; the server must hang up within a few seconds. */
	while (!closed && now_ms() - t0 < 10000) {
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 100) > 0) {
			ssize_t r = recv(fd, &c, 1, 0);

			closed = r == 0 || (r < 0 && errno != EAGAIN);
		}
	}
	took = now_ms() - t0;
	close(fd);
	assert_true(closed);
	assert_true(took >= 500);
	assert_true(took < 8000);
	assert_int_equal(helper_server_stop(&s), 0);
	helper_server_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigterm_during_uploads),
		cmocka_unit_test(test_sigterm_waits_for_upload),
		cmocka_unit_test(test_slow_upload_cut),
		cmocka_unit_test(test_sigint_idle),
		cmocka_unit_test(test_silent_client_cut),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
