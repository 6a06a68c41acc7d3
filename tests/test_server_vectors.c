/* test_server_vectors.c - every vector of protocol/vectors/ posted to a live
 * tienbo-server, as protocol/vectors/README.md says: enroll the batch's
 * school, post the vector's `requires` with the same fresh token, build the
 * body (data, compression, damage), send, and compare the status, the
 * error code, message, expected_seq, Retry-After, and the whole ack or
 * response. The two `condition` vectors are brought about for real:
 * "unavailable" by holding the database's write lock longer than the
 * server's busy timeout, "rate_limited" by keeping an upload of the same
 * token in flight on a server that allows one per token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/event.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "server/sql.h"
#include "tests/helper_server.h"

#define VEC TB_SOURCE_DIR "/protocol/vectors/"
#define MAX_VECTORS 400

static struct helper_server srv;
static int failures, ran;

struct bytes {
	unsigned char *p;
	size_t len;
};

static int group_setup(void **state)
{
	/* One upload in flight per token (rate_limited), a short busy
	 * timeout (unavailable). */
	const char *extra[] = { "--device-uploads", "1", "--busy-timeout-ms",
				"300", NULL };

	(void)state;
	if (helper_server_setup(&srv) != 0)
		return -1;
	return helper_server_start(&srv, extra);
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	return 0;
}

static void fail_vec(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_vec(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vector %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static int read_file(const char *path, struct bytes *b)
{
	FILE *f = fopen(path, "rb");
	long n;

	b->p = NULL;
	b->len = 0;
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	b->p = malloc((size_t)n + 1);
	if (b->p && fread(b->p, 1, (size_t)n, f) == (size_t)n) {
		b->p[n] = '\0';
		b->len = (size_t)n;
	} else {
		free(b->p);
		b->p = NULL;
	}
	fclose(f);
	return b->p ? 0 : -1;
}

static cJSON *read_json(const char *path)
{
	struct bytes b;
	cJSON *j;

	if (read_file(path, &b) != 0)
		return NULL;
	j = cJSON_ParseWithLength((const char *)b.p, b.len);
	free(b.p);
	return j;
}

/* ---- building the body -------------------------------------------------- */

static int body_data(const char *dir, const char *name, const cJSON *body,
		     struct bytes *out)
{
	const cJSON *file = cJSON_GetObjectItem(body, "file");
	const cJSON *zeros = cJSON_GetObjectItem(body, "zeros");
	const cJSON *text = cJSON_GetObjectItem(body, "text");
	char path[1024];

	out->p = NULL;
	out->len = 0;
	if (cJSON_IsTrue(cJSON_GetObjectItem(body, "none"))) {
		out->p = calloc(1, 1);
		return out->p ? 0 : -1;
	}
	if (cJSON_IsNumber(zeros)) {
		out->len = (size_t)zeros->valuedouble;
		out->p = calloc(out->len + 1, 1);
		return out->p ? 0 : -1;
	}
	if (cJSON_IsObject(text)) {
		const char *pre = cJSON_GetObjectItem(text, "prefix")->valuestring;
		const char *rep = cJSON_GetObjectItem(text, "repeat")->valuestring;
		const char *suf = cJSON_GetObjectItem(text, "suffix")->valuestring;
		size_t n = (size_t)cJSON_GetObjectItem(text, "count")->valuedouble;
		size_t rl = strlen(rep), i, used;

		out->len = strlen(pre) + rl * n + strlen(suf);
		out->p = malloc(out->len + 1);
		if (!out->p)
			return -1;
		used = strlen(pre);
		memcpy(out->p, pre, used);
		for (i = 0; i < n; i++, used += rl)
			memcpy(out->p + used, rep, rl);
		memcpy(out->p + used, suf, strlen(suf) + 1);
		return 0;
	}
	if (cJSON_IsString(file))
		snprintf(path, sizeof(path), VEC "%s", file->valuestring);
	else
		snprintf(path, sizeof(path), VEC "%s/%s.json", dir, name);
	return read_file(path, out);
}

/* zlib (wbits 15) or raw deflate (wbits -15). */
static int deflate_as(const struct bytes *in, int wbits, struct bytes *out)
{
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	out->len = deflateBound(&z, (uLong)in->len);
	out->p = malloc(out->len);
	if (!out->p) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = in->p;
	z.avail_in = (uInt)in->len;
	z.next_out = out->p;
	z.avail_out = (uInt)out->len;
	rc = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

static int body_build(const char *dir, const char *name, const cJSON *body,
		      struct bytes *out)
{
	const cJSON *c = cJSON_GetObjectItem(body, "compress");
	const cJSON *k;
	const char *how = cJSON_IsString(c) ? c->valuestring : "gzip";
	struct bytes data;
	int rc = 0;

	if (body_data(dir, name, body, &data) != 0)
		return -1;
	if (cJSON_IsTrue(cJSON_GetObjectItem(body, "none")) ||
	    strcmp(how, "none") == 0) {
		*out = data;
		data.p = NULL;
	} else if (strcmp(how, "gzip") == 0) {
		unsigned char *gz = NULL;

		rc = tb_gz_compress(data.p, data.len, -1, &gz, &out->len);
		out->p = gz ? malloc(out->len + 64) : NULL;
		if (out->p)
			memcpy(out->p, gz, out->len);
		tb_free(gz);
	} else {
		rc = deflate_as(&data, strcmp(how, "zlib") == 0 ? 15 : -15, out);
	}
	free(data.p);
	if (rc != 0 || !out->p)
		return -1;
	k = cJSON_GetObjectItem(body, "truncate_by");
	if (cJSON_IsNumber(k))
		out->len -= (size_t)k->valuedouble < out->len
				    ? (size_t)k->valuedouble : out->len;
	k = cJSON_GetObjectItem(body, "flip_from_end");
	if (cJSON_IsNumber(k) && (size_t)k->valuedouble <= out->len)
		out->p[out->len - (size_t)k->valuedouble] ^= 0x01;
	k = cJSON_GetObjectItem(body, "append_hex");
	if (cJSON_IsString(k)) {
		const char *h = k->valuestring;
		size_t n = strlen(h) / 2, i;
		unsigned char *p = realloc(out->p, out->len + n + 1);

		if (!p)
			return -1;
		out->p = p;
		for (i = 0; i < n; i++) {
			unsigned v = 0;

			sscanf(h + 2 * i, "%2x", &v);
			out->p[out->len++] = (unsigned char)v;
		}
	}
	return 0;
}

/* ---- tokens -------------------------------------------------------------- */

/* The school a vector's batch names (HB-001 if there is none usable). */
static void vector_school(const char *dir, const char *name,
			  const cJSON *body, char *school)
{
	const cJSON *file = cJSON_GetObjectItem(body, "file");
	char path[1024];
	cJSON *j;
	const cJSON *s;

	snprintf(school, TB_CODE_MAX + 1, "HB-001");
	if (cJSON_IsString(file))
		snprintf(path, sizeof(path), VEC "%s", file->valuestring);
	else
		snprintf(path, sizeof(path), VEC "%s/%s.json", dir, name);
	j = read_json(path);
	s = cJSON_GetObjectItem(j, "school");
	if (cJSON_IsString(s) && tb_code_valid(s->valuestring))
		snprintf(school, TB_CODE_MAX + 1, "%s", s->valuestring);
	cJSON_Delete(j);
}

static int make_token(const char *auth, const char *school, char *token)
{
	char prefix[13];
	const char *revoke[] = { "revoke", "--token-prefix", prefix, NULL };

	token[0] = '\0';
	if (strcmp(auth, "none") == 0)
		return 0;
	if (strcmp(auth, "unknown") == 0) {
		snprintf(token, 65, "%s", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
			 "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
		return 0;
	}
	if (strcmp(auth, "other-school") == 0)
		return helper_server_enroll(&srv, strcmp(school, "HB-998") == 0
						  ? "HB-997" : "HB-998",
					    "HB-VEC", token);
	if (helper_server_enroll(&srv, school, "HB-VEC", token) != 0)
		return -1;
	if (strcmp(auth, "revoked") == 0) {
		memcpy(prefix, token, 12);
		prefix[12] = '\0';
		return helper_server_run(&srv, NULL, 0, revoke) == 0 ? 0 : -1;
	}
	return 0;
}

static int post_requires(const char *name, const cJSON *req,
			 const char *token)
{
	const cJSON *r;
	char path[1024];

	cJSON_ArrayForEach(r, req) {
		struct helper_server_resp resp;
		struct bytes b;
		int ok;

		snprintf(path, sizeof(path), VEC "%s", r->valuestring);
		if (read_file(path, &b) != 0) {
			fail_vec(name, "cannot read %s", path);
			return -1;
		}
		ok = helper_server_post(&srv, token, (const char *)b.p, &resp) ==
			     0 && resp.status == 200;
		if (!ok)
			fail_vec(name, "requires %s: %ld %s", r->valuestring,
				 resp.status, resp.body);
		helper_server_resp_free(&resp);
		free(b.p);
		if (!ok)
			return -1;
	}
	return 0;
}

/* ---- one vector ---------------------------------------------------------- */

struct request {
	const char *method, *path, *ctype, *cenc, *auth, *condition;
};

static void request_read(const cJSON *req, struct request *q)
{
	const cJSON *v;

	q->method = "POST";
	q->path = "/v1/batches";
	q->ctype = "application/json";
	q->cenc = "gzip";
	q->auth = "device";
	q->condition = NULL;
	if ((v = cJSON_GetObjectItem(req, "method")) && cJSON_IsString(v))
		q->method = v->valuestring;
	if ((v = cJSON_GetObjectItem(req, "path")) && cJSON_IsString(v))
		q->path = v->valuestring;
	if ((v = cJSON_GetObjectItem(req, "content_type")))
		q->ctype = cJSON_IsString(v) ? v->valuestring : NULL;
	if ((v = cJSON_GetObjectItem(req, "content_encoding")))
		q->cenc = cJSON_IsString(v) ? v->valuestring : NULL;
	if ((v = cJSON_GetObjectItem(req, "auth")) && cJSON_IsString(v))
		q->auth = v->valuestring;
	if ((v = cJSON_GetObjectItem(req, "condition")) && cJSON_IsString(v))
		q->condition = v->valuestring;
}

static void compare_json_text(const char *name, const char *what,
			      const cJSON *want, const char *got)
{
	char *w = cJSON_PrintUnformatted(want);

	if (!w || strcmp(w, got) != 0)
		fail_vec(name, "%s:\n  want %s\n  got  %s", what, w ? w : "?",
			 got);
	cJSON_free(w);
}

/* Each field of want has the same value in the JSON object got (which
 * may hold more: values that vary, as /healthz's disk and certificate). */
static void compare_fields(const char *name, const cJSON *want,
			   const char *got)
{
	cJSON *g = cJSON_Parse(got);
	const cJSON *f;

	if (!cJSON_IsObject(g))
		fail_vec(name, "response: not a JSON object: %s", got);
	for (f = want->child; g && f; f = f->next)
		if (!cJSON_Compare(f, cJSON_GetObjectItem(g, f->string), 1))
			fail_vec(name, "response: field %s differs in %s",
				 f->string, got);
	cJSON_Delete(g);
}

static void compare(const char *name, const cJSON *exp,
		    const struct helper_server_resp *r)
{
	long want = (long)cJSON_GetObjectItem(exp, "http_status")->valuedouble;
	const cJSON *v;
	struct tb_error_body e;

	if (r->status != want) {
		fail_vec(name, "status %ld, want %ld (%s)", r->status, want,
			 r->body);
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItem(exp, "retry_after")) &&
	    !r->retry_after[0])
		fail_vec(name, "no Retry-After");
	if ((v = cJSON_GetObjectItem(exp, "ack")))
		compare_json_text(name, "ack", v, r->body);
	if ((v = cJSON_GetObjectItem(exp, "response")))
		compare_json_text(name, "response", v, r->body);
	if ((v = cJSON_GetObjectItem(exp, "response_fields")))
		compare_fields(name, v, r->body);
	if (want < 400)
		return;
	if (tb_error_decode(r->body, r->len, &e) != 0) {
		fail_vec(name, "not an error body: %s", r->body);
		return;
	}
	if (e.status != want)
		fail_vec(name, "body status %d", e.status);
	if ((v = cJSON_GetObjectItem(exp, "error")) &&
	    strcmp(e.code, v->valuestring) != 0)
		fail_vec(name, "error %s, want %s", e.code, v->valuestring);
	if ((v = cJSON_GetObjectItem(exp, "message")) &&
	    strcmp(e.message, v->valuestring) != 0)
		fail_vec(name, "message '%s', want '%s'", e.message,
			 v->valuestring);
	if ((v = cJSON_GetObjectItem(exp, "expected_seq")) &&
	    e.expected_seq != (int64_t)v->valuedouble)
		fail_vec(name, "expected_seq %lld", (long long)e.expected_seq);
}

static void send_it(const char *name, const struct request *q,
		    const char *token, const struct bytes *body,
		    struct helper_server_resp *r)
{
	struct tb_sql *db = NULL;
	struct helper_server_slow *slow = NULL;

	if (q->condition && strcmp(q->condition, "unavailable") == 0) {
		if (!(db = helper_server_lock_writes(&srv)))
			fail_vec(name, "cannot lock the database");
	}
	if (q->condition && strcmp(q->condition, "rate_limited") == 0) {
		/* An upload of the same token held in flight; its body, once
		 * let go, is not a batch and stores nothing. */
		unsigned char *gz = NULL;
		size_t len = 0;

		if (tb_gz_compress("{}", 2, -1, &gz, &len) == 0)
			slow = helper_server_slow_start(&srv, token, gz, len);
		tb_free(gz);
		if (!slow || helper_server_slow_wait(slow, 20000) != 1)
			fail_vec(name, "the server did not take the held "
				 "upload");
	}
	helper_server_request(&srv, q->method, q->path,
			      token[0] ? token : NULL, q->ctype, q->cenc,
			      body->p, body->len, 0, r);
	if (slow && helper_server_slow_finish(slow) != 400)
		fail_vec(name, "the held upload did not end in 400");
	tb_sql_close(db); /* rolls back: the lock goes */
}

static void run_vector(const char *dir, const char *name)
{
	char path[1024], full[256], school[TB_CODE_MAX + 1], token[65];
	struct helper_server_resp r;
	struct request q;
	struct bytes body = { NULL, 0 };
	cJSON *exp, *req, *bspec, *empty = cJSON_CreateObject();

	snprintf(full, sizeof(full), "%s/%s", dir, name);
	snprintf(path, sizeof(path), VEC "%s/%s.expect.json", dir, name);
	exp = read_json(path);
	if (!exp || !cJSON_IsNumber(cJSON_GetObjectItem(exp, "http_status"))) {
		fail_vec(full, "cannot read its expectation");
		goto out;
	}
	req = cJSON_GetObjectItem(exp, "request");
	bspec = cJSON_GetObjectItem(req, "body");
	if (!bspec)
		bspec = empty;
	request_read(req, &q);
	vector_school(dir, name, bspec, school);
	if (make_token(q.auth, school, token) != 0) {
		fail_vec(full, "cannot make a '%s' token for %s", q.auth, school);
		goto out;
	}
	if (post_requires(full, cJSON_GetObjectItem(exp, "requires"), token))
		goto out;
	if (body_build(dir, name, bspec, &body) != 0) {
		fail_vec(full, "cannot build the body");
		goto out;
	}
	send_it(full, &q, token, &body, &r);
	compare(full, exp, &r);
	helper_server_resp_free(&r);
	ran++;
out:
	free(body.p);
	cJSON_Delete(exp);
	cJSON_Delete(empty);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
	char path[1024], *names[MAX_VECTORS];
	size_t n = 0, i;
	struct dirent *d;
	DIR *dp;

	snprintf(path, sizeof(path), VEC "%s", dir);
	dp = opendir(path);
	assert_non_null(dp);
	while ((d = readdir(dp)) != NULL && n < MAX_VECTORS) {
		size_t len = strlen(d->d_name);

		if (len > 12 && strcmp(d->d_name + len - 12, ".expect.json") == 0)
			names[n++] = strndup(d->d_name, len - 12);
	}
	closedir(dp);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (i = 0; i < n; i++) {
		run_vector(dir, names[i]);
		free(names[i]);
	}
}

static void test_vectors_valid(void **state)
{
	(void)state;
	failures = ran = 0;
	run_dir("valid");
	assert_int_equal(failures, 0);
	assert_true(ran >= 10);
}

static void test_vectors_rejected(void **state)
{
	(void)state;
	failures = ran = 0;
	run_dir("rejected");
	assert_int_equal(failures, 0);
	assert_true(ran >= 5);
}

static void test_vectors_invalid(void **state)
{
	int64_t before = helper_server_count(&srv, "SELECT count(*) FROM "
					     "event_history");

	(void)state;
	failures = ran = 0;
	run_dir("invalid");
	assert_int_equal(failures, 0);
	assert_true(ran >= 20);
	/* Refused as a whole: nothing stored. */
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM "
					     "event_history"), before);
}

static void test_vectors_transport(void **state)
{
	(void)state;
	failures = ran = 0;
	run_dir("transport");
	assert_int_equal(failures, 0);
	assert_true(ran >= 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_valid),
		cmocka_unit_test(test_vectors_rejected),
		cmocka_unit_test(test_vectors_invalid),
		cmocka_unit_test(test_vectors_transport),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
