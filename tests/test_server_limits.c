/* test_server_limits.c - what tienbo-server refuses, end to end over
 * HTTPS: 401 (missing, unknown, malformed, revoked tokens), 415 (content
 * type, encoding), 413 (Content-Length, streamed chunked bytes, a gzip
 * bomb, too many events), 400 (not gzip, truncated gzip, malformed JSON, a
 * bad envelope), 404/405, 429 and 503 with Retry-After; that nothing of a
 * refused batch is stored (row counts before and after); and that a good
 * upload running at the same time as the bad ones is stored whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "tests/helper_server.h"

static struct helper_server srv;
static char token[65];

#define SCHOOL "HB-201"
#define DEV "7a1c2a9e-3b4d-4c5e-8f70-000000000001"
#define GOOD_DEV "7a1c2a9e-3b4d-4c5e-8f70-000000000002"

static int group_setup(void **state)
{
	const char *extra[] = { "--busy-timeout-ms", "300", "--retry-after",
				"7", NULL };

	(void)state;
	if (helper_server_setup(&srv) != 0 ||
	    helper_server_start(&srv, extra) != 0)
		return -1;
	return helper_server_enroll(&srv, SCHOOL, "HB-LS", token);
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	return 0;
}

/* Rows in every table a batch writes to. */
static int64_t stored_rows(void)
{
	return helper_server_count(&srv,
		"SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM "
		"event_history) + (SELECT count(*) FROM rejections) + (SELECT "
		"coalesce(sum(committed_through), 0) + count(*) FROM cursors)");
}

/* Sends a raw body to /v1/batches and checks status and error code. */
static void expect_raw(const char *tok, const char *ctype, const char *cenc,
		       const void *body, size_t len, int chunked, long status,
		       const char *code)
{
	struct helper_server_resp r;
	struct tb_error_body e;

	assert_int_equal(helper_server_request(&srv, "POST", "/v1/batches", tok,
					       ctype, cenc, body, len, chunked,
					       &r), 0);
	if (r.status != status)
		fprintf(stderr, "expected %ld, got %ld: %s\n", status, r.status,
			r.body);
	assert_int_equal(r.status, status);
	assert_int_equal(tb_error_decode(r.body, r.len, &e), 0);
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	assert_true(strlen(e.message) > 0);
	helper_server_resp_free(&r);
}

static void expect_gz(const char *tok, const char *json, long status,
		      const char *code)
{
	unsigned char *gz = NULL;
	size_t len = 0;

	assert_int_equal(tb_gz_compress(json, strlen(json), -1, &gz, &len), 0);
	expect_raw(tok, "application/json", "gzip", gz, len, 0, status, code);
	tb_free(gz);
}

static void test_unauthorized(void **state)
{
	char revoked[65], *json;
	const char *rev[] = { "revoke", "--school", "HB-202", NULL };
	int64_t before = stored_rows();

	(void)state;
	json = helper_server_batch(DEV, SCHOOL, 1, 2, 0x201, 1, 0);
	expect_gz(NULL, json, 401, "unauthorized");
	expect_gz("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  json, 401, "unauthorized");
	expect_gz("not-a-token", json, 401, "unauthorized");
	expect_gz(token + 1, json, 401, "unauthorized"); /* 63 characters */
	assert_int_equal(helper_server_enroll(&srv, "HB-202", "HB-LS", revoked),
			 0);
	assert_int_equal(helper_server_run(&srv, NULL, 0, rev), 0);
	free(json);
	json = helper_server_batch(DEV, "HB-202", 1, 2, 0x202, 1, 0);
	expect_gz(revoked, json, 401, "unauthorized");
	free(json);
	assert_int_equal(stored_rows(), before);
}

static void test_media_types(void **state)
{
	char *json = helper_server_batch(DEV, SCHOOL, 1, 2, 0x201, 1, 0);
	unsigned char *gz = NULL;
	size_t len = 0;
	int64_t before = stored_rows();
	struct helper_server_resp r;

	(void)state;
	assert_int_equal(tb_gz_compress(json, strlen(json), -1, &gz, &len), 0);
	expect_raw(token, "text/plain", "gzip", gz, len, 0, 415,
		   "unsupported_media_type");
	expect_raw(token, NULL, "gzip", gz, len, 0, 415,
		   "unsupported_media_type");
	expect_raw(token, "application/json", NULL, json, strlen(json), 0, 415,
		   "unsupported_media_type");
	expect_raw(token, "application/json", "deflate", gz, len, 0, 415,
		   "unsupported_media_type");
	expect_raw(token, "application/json", "gzip", json, strlen(json), 0,
		   400, "bad_request"); /* plain JSON claimed as gzip */
	assert_int_equal(stored_rows(), before);
	/* Parameters on the media type and case are fine: stored. */
	assert_int_equal(helper_server_request(&srv, "POST", "/v1/batches",
					       token,
					       "Application/JSON; charset=utf-8",
					       "GZIP", gz, len, 0, &r), 0);
	assert_int_equal(r.status, 200);
	helper_server_resp_free(&r);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM events"
					     " WHERE school='" SCHOOL "'"), 2);
	tb_free(gz);
	free(json);
}

static void test_too_large(void **state)
{
	size_t big = TB_BODY_MAX + 1, i, n;
	unsigned char *raw = malloc(3u << 20), *gz = NULL;
	char *json;
	size_t len = 0;
	uint32_t x = 12345;
	int64_t before = stored_rows();

	(void)state;
	assert_non_null(raw);
	/* Content-Length one byte over: refused before the body is read. */
	memset(raw, 0, big);
	expect_raw(token, "application/json", "gzip", raw, big, 0, 413,
		   "too_large");

	/* Chunked (no Content-Length): valid gzip of 1.5 MiB of random
	 * bytes, refused once the streamed count passes TB_BODY_MAX. */
	n = 3u << 19;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		raw[i] = (unsigned char)x;
	}
	assert_int_equal(tb_gz_compress(raw, n, 1, &gz, &len), 0);
	assert_true(len > (size_t)TB_BODY_MAX);
	expect_raw(token, "application/json", "gzip", gz, len, 1, 413,
		   "too_large");
	tb_free(gz);

	/* A gzip bomb: 20 MiB of zeros is a few KB of gzip. */
	free(raw);
	raw = calloc(20u << 20, 1);
	assert_non_null(raw);
	assert_int_equal(tb_gz_compress(raw, 20u << 20, 9, &gz, &len), 0);
	assert_true(len < 64 * 1024);
	expect_raw(token, "application/json", "gzip", gz, len, 0, 413,
		   "too_large");
	expect_raw(token, "application/json", "gzip", gz, len, 1, 413,
		   "too_large");
	tb_free(gz);
	free(raw);

	/* TB_BATCH_MAX_EVENTS + 1 events. */
	json = helper_server_batch(DEV, SCHOOL, 1, TB_BATCH_MAX_EVENTS + 1,
				   0x203, 1, 0);
	expect_gz(token, json, 413, "too_large");
	free(json);
	assert_int_equal(stored_rows(), before);
}

static void test_bad_request(void **state)
{
	char *json = helper_server_batch(DEV, SCHOOL, 1, 3, 0x201, 1, 0);
	unsigned char *gz = NULL;
	size_t len = 0;
	int64_t before = stored_rows();

	(void)state;
	expect_gz(token, "{\"version\":1,\"device\":", 400, "bad_request");
	expect_gz(token, "not json at all", 400, "bad_request");
	expect_gz(token, "", 400, "bad_request");
	/* events.length != last_seq - first_seq + 1 */
	expect_gz(token, "{\"version\":1,\"device\":\"" DEV "\",\"school\":\""
		  SCHOOL "\",\"first_seq\":1,\"last_seq\":5,\"events\":[]}",
		  400, "bad_request");
	assert_int_equal(tb_gz_compress(json, strlen(json), -1, &gz, &len), 0);
	expect_raw(token, "application/json", "gzip", gz, len - 10, 0, 400,
		   "bad_request"); /* truncated */
	expect_raw(token, "application/json", "gzip", gz, len - 10, 1, 400,
		   "bad_request");
	expect_raw(token, "application/json", "gzip", "", 0, 0, 400,
		   "bad_request"); /* empty body */
	gz[len - 5] ^= 0xff; /* the length trailer */
	expect_raw(token, "application/json", "gzip", gz, len, 0, 400,
		   "bad_request");
	tb_free(gz);
	free(json);
	assert_int_equal(stored_rows(), before);
}

static void test_routes(void **state)
{
	struct helper_server_resp r;
	struct tb_error_body e;

	(void)state;
	assert_int_equal(helper_server_request(&srv, "GET", "/v1/batches",
					       token, NULL, NULL, NULL, 0, 0, &r),
			 0);
	assert_int_equal(r.status, 405);
	assert_int_equal(tb_error_decode(r.body, r.len, &e), 0);
	assert_string_equal(e.code, "method_not_allowed");
	helper_server_resp_free(&r);
	assert_int_equal(helper_server_request(&srv, "POST", "/v1/nothing",
					       token, "application/json", "gzip",
					       "x", 1, 0, &r), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(tb_error_decode(r.body, r.len, &e), 0);
	assert_string_equal(e.code, "not_found");
	helper_server_resp_free(&r);
	assert_int_equal(helper_server_request(&srv, "DELETE", "/healthz", NULL,
					       NULL, NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 405);
	helper_server_resp_free(&r);
}

/* ---- a good upload beside the bad ones ------------------------------- */

struct good {
	char token[65];
	int batches, ok;
};

#define GOOD_BATCH 40

static void *good_uploads(void *arg)
{
	struct good *g = arg;
	int i;

	for (i = 0; i < g->batches; i++) {
		char *json = helper_server_batch(GOOD_DEV, "HB-203",
						 1 + (int64_t)i * GOOD_BATCH,
						 GOOD_BATCH, 0x204, 1, 0);
		struct helper_server_resp r;
		struct tb_ack ack;
		char msg[128];

		tb_ack_init(&ack);
		if (helper_server_post(&srv, g->token, json, &r) == 0 &&
		    r.status == 200 &&
		    tb_ack_decode(r.body, r.len, &ack, msg, sizeof(msg)) == 0 &&
		    ack.accepted == GOOD_BATCH &&
		    ack.committed_through == (int64_t)(i + 1) * GOOD_BATCH)
			g->ok++;
		tb_ack_clear(&ack);
		helper_server_resp_free(&r);
		free(json);
	}
	return NULL;
}

static void test_good_beside_bad(void **state)
{
	struct good g = { .batches = 15 };
	unsigned char *bomb = NULL, *zeros = calloc(16u << 20, 1);
	size_t blen = 0;
	pthread_t t;
	int64_t before;
	int i;

	(void)state;
	assert_non_null(zeros);
	assert_int_equal(tb_gz_compress(zeros, 16u << 20, 9, &bomb, &blen), 0);
	free(zeros);
	assert_int_equal(helper_server_enroll(&srv, "HB-203", "HB-LS", g.token),
			 0);
	before = stored_rows();
	assert_int_equal(pthread_create(&t, NULL, good_uploads, &g), 0);
	for (i = 0; i < 6; i++) {
		expect_raw(token, "application/json", "gzip", bomb, blen, 0, 413,
			   "too_large");
		expect_gz(token, "{\"version\":1,", 400, "bad_request");
		expect_raw(token, "application/json", "gzip", bomb, blen / 2, 0,
			   400, "bad_request");
		expect_gz(NULL, "{}", 401, "unauthorized");
	}
	pthread_join(t, NULL);
	tb_free(bomb);
	assert_int_equal(g.ok, g.batches);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM events "
					     "WHERE school='HB-203'"),
			 g.batches * GOOD_BATCH);
	/* Only the good batches added rows: events + history + cursor. */
	assert_int_equal(stored_rows() - before,
			 2 * g.batches * GOOD_BATCH + 1 +
				 g.batches * GOOD_BATCH);
}

/* ---- 503 and 429 -------------------------------------------------------- */

static void test_busy_503(void **state)
{
	sqlite3 *db = NULL;
	char *json = helper_server_batch(DEV, SCHOOL, 3, 2, 0x205, 1, 0);
	struct helper_server_resp r;
	struct tb_ack ack;
	char msg[128];

	(void)state;
	/* Another process holds the write lock longer than the server's busy
	 * timeout (300 ms): 503 with Retry-After, nothing stored. */
	assert_int_equal(sqlite3_open(srv.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(helper_server_post(&srv, token, json, &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.retry_after, "7");
	helper_server_resp_free(&r);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* The lock gone, the same batch goes through. */
	assert_int_equal(helper_server_post(&srv, token, json, &r), 0);
	assert_int_equal(r.status, 200);
	tb_ack_init(&ack);
	assert_int_equal(tb_ack_decode(r.body, r.len, &ack, msg, sizeof(msg)), 0);
	assert_int_equal(ack.accepted, 2);
	tb_ack_clear(&ack);
	helper_server_resp_free(&r);
	free(json);
}

static void test_too_many_429_503(void **state)
{
	struct helper_server s2;
	const char *extra[] = { "--max-uploads", "1", "--device-uploads", "1",
				"--retry-after", "3", NULL };
	char tok[65], tok2[65], *json, *json2;
	unsigned char *gz = NULL;
	size_t len = 0;
	struct helper_server_slow *sl;
	struct helper_server_resp r;
	int i, held = -1, got429 = 0;

	(void)state;
	assert_int_equal(helper_server_setup(&s2), 0);
	assert_int_equal(helper_server_start(&s2, extra), 0);
	assert_int_equal(helper_server_enroll(&s2, SCHOOL, "HB-LS", tok), 0);
	assert_int_equal(helper_server_enroll(&s2, "HB-204", "HB-LS", tok2), 0);
	json = helper_server_batch(DEV, SCHOOL, 1, 2, 0x206, 1, 0);
	json2 = helper_server_batch(GOOD_DEV, "HB-204", 1, 2, 0x207, 1, 0);
	assert_int_equal(tb_gz_compress(json, strlen(json), -1, &gz, &len), 0);
	/* The slow upload holds the only slot once the server has answered
	 * its headers with 100 Continue (helper_server_slow_wait): from then
	 * on the same token gets 429, another one 503, both with
	 * Retry-After. Nothing else talks to this server meanwhile, so it is
	 * never refused; if it ever were, it is started again rather than
	 * leaving the probes to race it for the slot. */
	for (i = 0, sl = NULL; i < 5; i++) {
		sl = helper_server_slow_start(&s2, tok, gz, len);
		assert_non_null(sl);
		held = helper_server_slow_wait(sl, 20000);
		if (held != 0)
			break;
		fprintf(stderr, "the held upload was refused (%ld): again\n",
			helper_server_slow_finish(sl));
		sl = NULL;
	}
	assert_int_equal(held, 1);
	assert_int_equal(helper_server_post(&s2, tok, json, &r), 0);
	assert_int_equal(r.status, 429);
	assert_string_equal(r.retry_after, "3");
	got429 = r.status == 429;
	helper_server_resp_free(&r);
	assert_true(got429);
	assert_int_equal(helper_server_post(&s2, tok2, json2, &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.retry_after, "3");
	helper_server_resp_free(&r);
	assert_int_equal(helper_server_slow_finish(sl), 200);
	/* The slot is free again. */
	assert_int_equal(helper_server_post(&s2, tok2, json2, &r), 0);
	assert_int_equal(r.status, 200);
	helper_server_resp_free(&r);
	free(json2);
	assert_int_equal(helper_server_count(&s2, "SELECT count(*) FROM events"),
			 4);
	tb_free(gz);
	free(json);
	assert_int_equal(helper_server_stop(&s2), 0);
	helper_server_teardown(&s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_bad_request),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_good_beside_bad),
		cmocka_unit_test(test_busy_503),
		cmocka_unit_test(test_too_many_429_503),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
