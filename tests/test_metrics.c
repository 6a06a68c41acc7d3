/* test_metrics.c - GET /metrics and the rejections, end to end: a real
 * server over HTTPS, real batches (4 committed: 25 events accepted, 5
 * duplicates, 2 rejected), then a scrape read by a real parser of the
 * Prometheus text format (Debian's python3-prometheus-client, run as a
 * subprocess, the text on its stdin), and the rejections through the command in three formats
 * and over HTTP. Every expected number is worked out from what the test
 * sent or set in the database.
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* strptime */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "protocol/codec.h"
#include "tests/helper_server.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with prometheus_client */
#define DEV_A "6f1c2a9e-3b4d-4c5e-8f70-00000000a001"
#define DEV_B "6f1c2a9e-3b4d-4c5e-8f70-00000000b001"

static struct helper_server srv;
static char admin[80], tok_a[80], tok_b[80];

/* The parser: every family and sample of the text, one per line as
 * "name{k=v,...} value" (labels sorted), after checking each histogram's
 * buckets (le ascending, counts never falling, +Inf last and equal to
 * _count); then "requests_by_endpoint{endpoint=E} N", the request
 * counter summed over codes. Exits non-zero on anything it refuses. */
static const char parser_py[] =
	"import sys\n"
	"from prometheus_client.parser import text_string_to_metric_families\n"
	"text = sys.stdin.read()\n"
	"by_ep = {}\n"
	"for fam in text_string_to_metric_families(text):\n"
	"    print('# family %s %s' % (fam.name, fam.type))\n"
	"    groups = {}\n"
	"    for s in fam.samples:\n"
	"        labels = ','.join('%s=%s' % (k, s.labels[k])\n"
	"                          for k in sorted(s.labels))\n"
	"        print('%s{%s} %r' % (s.name, labels, s.value))\n"
	"        if s.name == 'tienbo_http_requests_total':\n"
	"            e = s.labels['endpoint']\n"
	"            by_ep[e] = by_ep.get(e, 0) + s.value\n"
	"        if fam.type != 'histogram':\n"
	"            continue\n"
	"        key = tuple(sorted((k, v) for k, v in s.labels.items()\n"
	"                           if k != 'le'))\n"
	"        g = groups.setdefault(key, {'b': [], 'n': None})\n"
	"        if s.name.endswith('_bucket'):\n"
	"            g['b'].append((float(s.labels['le']), s.value))\n"
	"        elif s.name.endswith('_count'):\n"
	"            g['n'] = s.value\n"
	"    for key, g in groups.items():\n"
	"        les = [b[0] for b in g['b']]\n"
	"        counts = [b[1] for b in g['b']]\n"
	"        if les != sorted(les) or les[-1] != float('inf'):\n"
	"            sys.exit('%s %s: le not ascending to +Inf' % (fam.name, key))\n"
	"        if any(a > b for a, b in zip(counts, counts[1:])):\n"
	"            sys.exit('%s %s: buckets fall' % (fam.name, key))\n"
	"        if counts[-1] != g['n']:\n"
	"            sys.exit('%s %s: +Inf != _count' % (fam.name, key))\n"
	"for e, n in sorted(by_ep.items()):\n"
	"    print('requests_by_endpoint{endpoint=%s} %r' % (e, n))\n";

/* Runs an SQL statement on the server's database (it is serving: WAL). */
static void sql_exec(const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(srv.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void enroll(const char *school, const char *name, char *token)
{
	const char *args[] = { "enroll", "--school", school, "--name", name,
			       "--district", "HB-DM", NULL };

	assert_int_equal(helper_server_run_token(&srv, args, token), 0);
}

/* Posts a batch of n events of tag 1 and checks the ack's counts. */
static void post(const char *token, const char *device, const char *school,
		 int64_t first, int n, int64_t accepted, int64_t dups,
		 size_t rejected)
{
	char *json = helper_server_batch(device, school, first, n, 1, 1, 0);
	struct helper_server_resp r;
	struct tb_ack ack;
	char msg[256];

	assert_non_null(json);
	assert_int_equal(helper_server_post(&srv, token, json, &r), 0);
	free(json);
	if (r.status != 200)
		fprintf(stderr, "unexpected %ld: %s\n", r.status, r.body);
	assert_int_equal(r.status, 200);
	tb_ack_init(&ack);
	assert_int_equal(tb_ack_decode(r.body, r.len, &ack, msg, sizeof(msg)),
			 0);
	assert_int_equal(ack.accepted, accepted);
	assert_int_equal(ack.duplicates, dups);
	assert_int_equal(ack.nrejected, rejected);
	tb_ack_clear(&ack);
	helper_server_resp_free(&r);
}

static void get(const char *path, const char *token, long status,
		struct helper_server_resp *r)
{
	assert_int_equal(helper_server_request(&srv, "GET", path, token, NULL,
					       NULL, NULL, 0, 0, r), 0);
	if (r->status != status)
		fprintf(stderr, "GET %s: %ld, not %ld: %s\n", path, r->status,
			status, r->body ? r->body : "");
	assert_int_equal(r->status, status);
}

/* Runs the parser on text; returns its output (malloc'd) after asserting
 * it accepted the text. */
static char *parse(const char *text)
{
	const char *argv[] = { PYTHON, "-c", parser_py, NULL };
	struct helper_proc_opts o;
	struct helper_proc_result r;
	char *out;

	if (access(PYTHON, X_OK) != 0)
		fail_msg("%s is missing: run scripts/deps.sh (python3, "
			 "python3-prometheus-client)", PYTHON);
	memset(&o, 0, sizeof(o));
	o.in = text;
	o.in_len = strlen(text);
	assert_int_equal(helper_proc_run(argv, &o, &r), 0);
	if (!r.exited || r.exit_code != 0)
		fail_msg("the Prometheus parser refused the scrape (%d):\n%s%s\n"
			 "---- the scrape:\n%s", r.exit_code, r.out, r.err, text);
	out = r.out;
	r.out = NULL;
	helper_proc_free(&r);
	return out;
}

/* The value of the sample printed as `key` ("name{k=v,...}") by the
 * parser, or -1 when it is not there. */
static double sample(const char *parsed, const char *key)
{
	size_t klen = strlen(key);
	const char *p = parsed;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return strtod(p + klen + 1, NULL);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

static void assert_sample(const char *parsed, const char *key, double want)
{
	double got = sample(parsed, key);

	if (got != want)
		fail_msg("%s: %g, expected %g\n%s", key, got, want, parsed);
}

/* Every endpoint's request histogram counts what its counter counts. */
static void assert_histograms_match(const char *parsed)
{
	const char *p = parsed;
	int seen = 0;

	while ((p = strstr(p, "\nrequests_by_endpoint{endpoint=")) != NULL) {
		char ep[128], key[200];
		const char *q = p + strlen("\nrequests_by_endpoint{endpoint=");
		size_t n = strcspn(q, "}");

		assert_true(n < sizeof(ep));
		memcpy(ep, q, n);
		ep[n] = '\0';
		snprintf(key, sizeof(key), "tienbo_http_request_duration_"
			 "seconds_count{endpoint=%s}", ep);
		assert_sample(parsed, key, strtod(q + n + 2, NULL));
		seen++;
		p = q;
	}
	assert_true(seen >= 3); /* /healthz, /v1/batches, /metrics */
}

/* notAfter of the server's certificate, read by openssl (not GnuTLS). */
static long long cert_not_after(void)
{
	const char *argv[] = { "/usr/bin/openssl", "x509", "-noout", "-enddate",
			       "-dateopt", "iso_8601", "-in", srv.cert, NULL };
	struct helper_proc_result r;
	struct tm tm;
	const char *p;

	assert_int_equal(helper_proc_run(argv, NULL, &r), 0);
	assert_int_equal(r.exit_code, 0);
	p = strstr(r.out, "notAfter=");
	assert_non_null(p);
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(p + 9, "%Y-%m-%d %H:%M:%S", &tm));
	helper_proc_free(&r);
	return (long long)timegm(&tm);
}

static int group_setup(void **state)
{
	static const char *const extra[] = { "--metrics-listen",
					     "127.0.0.1:0", NULL };

	(void)state;
	if (helper_server_setup(&srv) != 0)
		return -1;
	/* commands other than init-db want an existing database (a server
	 * without init-db makes it itself: start says if neither worked) */
	if (access(srv.db, F_OK) != 0)
		(void)helper_server_run(&srv, NULL, 0, (const char *const[]){
						"init-db", NULL });
	return helper_server_start(&srv, extra);
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	return 0;
}

/* Schools, tokens and the four batches the other tests count on. */
static void test_ingest(void **state)
{
	const char *args[] = { "admin-token", NULL };
	const char *close[] = { "unit", "HB-M06", "--close-from",
				"01/01/2025", NULL };
	char tok_c[80], tok_d[80], tok_e[80], tok_f[80], sql[300];
	long long now = (long long)time(NULL);

	(void)state;
	assert_int_equal(helper_server_run_token(&srv, args, admin), 0);
	enroll("HB-M01", "Trường TH Mường Chiềng", tok_a);
	enroll("HB-M02", "Trường THCS Tân Minh", tok_b);
	enroll("HB-M03", "Trường MN Hiền Lương", tok_c);
	enroll("HB-M04", "Trường TH Tu Lý", tok_d);
	enroll("HB-M05", "Trường TH Cao Sơn", tok_e);
	enroll("HB-M06", "Trường TH Vầy Nưa", tok_f);
	assert_int_equal(helper_server_run(&srv, NULL, 0, close), 0);
	/* last seen: M04 10 days ago, M05 and (closed) M06 40 days ago */
	snprintf(sql, sizeof(sql), "UPDATE devices SET last_seen = %lld WHERE "
		 "school = 'HB-M04'; UPDATE devices SET last_seen = %lld WHERE "
		 "school IN ('HB-M05', 'HB-M06')", now - 10 * 86400,
		 now - 40 * 86400);
	sql_exec(sql);

	post(tok_a, DEV_A, "HB-M01", 1, 10, 10, 0, 0);
	post(tok_a, DEV_A, "HB-M01", 11, 15, 15, 0, 0);
	post(tok_a, DEV_A, "HB-M01", 1, 5, 0, 5, 0);  /* resent */
	post(tok_b, DEV_B, "HB-M02", 1, 2, 0, 0, 2);  /* M01's ids */
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM "
					     "rejections"), 2);
}

static void test_scrape(void **state)
{
	struct helper_server_resp r;
	char *parsed;
	struct statvfs vfs;
	double free_b;

	(void)state;
	get("/metrics", NULL, 401, &r);
	helper_server_resp_free(&r);
	get("/metrics", tok_a, 401, &r); /* a device token is not enough */
	helper_server_resp_free(&r);
	/* a request is counted when MHD reports it complete, which may come
	 * just after its answer reached the client */
	usleep(300 * 1000);
	get("/metrics", admin, 200, &r);
	assert_string_equal(r.content_type,
			    "text/plain; version=0.0.4; charset=utf-8");
	parsed = parse(r.body);
	helper_server_resp_free(&r);

	assert_non_null(strstr(parsed, "# family tienbo_events counter\n"));
	assert_non_null(strstr(parsed, "# family tienbo_merge_duration_seconds "
			       "histogram\n"));
	assert_non_null(strstr(parsed, "# family tienbo_schools gauge\n"));
	assert_sample(parsed, "tienbo_batches_accepted_total{}", 4);
	assert_sample(parsed, "tienbo_events_total{result=accepted}", 25);
	assert_sample(parsed, "tienbo_events_total{result=duplicate}", 5);
	assert_sample(parsed, "tienbo_events_total{result=rejected}", 2);
	assert_sample(parsed, "tienbo_merge_duration_seconds_count{}", 4);
	assert_sample(parsed, "tienbo_http_requests_total{code=200,endpoint="
		      "/v1/batches}", 4);
	assert_sample(parsed, "tienbo_http_requests_total{code=401,endpoint="
		      "/metrics}", 2);
	assert_histograms_match(parsed);

	assert_sample(parsed, "tienbo_schools{last_seen=under_1d}", 2);
	assert_sample(parsed, "tienbo_schools{last_seen=1d_to_7d}", 0);
	assert_sample(parsed, "tienbo_schools{last_seen=7d_to_14d}", 1);
	assert_sample(parsed, "tienbo_schools{last_seen=14d_to_30d}", 0);
	assert_sample(parsed, "tienbo_schools{last_seen=over_30d}", 1);
	assert_sample(parsed, "tienbo_schools{last_seen=never}", 1);
	assert_sample(parsed, "tienbo_rejected_events{}", 2);
	assert_true(sample(parsed, "tienbo_database_size_bytes{}") >= 4096);
	assert_int_equal(statvfs(srv.db, &vfs), 0);
	free_b = (double)vfs.f_bavail * (double)vfs.f_frsize;
	assert_true(sample(parsed, "tienbo_disk_free_bytes{}") > free_b * 0.9);
	assert_true(sample(parsed, "tienbo_disk_free_bytes{}") < free_b * 1.1);
	assert_sample(parsed, "tienbo_certificate_expiry_timestamp_seconds{}",
		      (double)cert_not_after());
	free(parsed);
}

/* The whole of srv.dir/name (malloc'd, NUL-terminated). */
static char *read_file(const char *name)
{
	char path[600], *buf = malloc(1 << 16);
	FILE *f;
	size_t n;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", srv.dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static char *run_out(const char *const *args, int want)
{
	char *out = malloc(1 << 16);

	assert_non_null(out);
	assert_int_equal(helper_server_run(&srv, out, 1 << 16, args), want);
	return out;
}

static void test_rejections_cli(void **state)
{
	const char *text[] = { "rejections", NULL };
	const char *json[] = { "rejections", "--school", "HB-M02", "--format",
			       "json", NULL };
	const char *csv[] = { "rejections", "--format", "csv", NULL };
	const char *one[] = { "rejections", "--limit", "1", NULL };
	const char *none[] = { "rejections", "--school", "HB-M01", NULL };
	const char *unknown[] = { "rejections", "--school", "HB-X99", NULL };
	char id1[37], id2[37], want[200], *out;
	cJSON *arr, *o;

	(void)state;
	helper_server_id(1, 1, id1);
	helper_server_id(1, 2, id2);
	out = run_out(text, 0);
	assert_non_null(strstr(out, "2 rejected events, newest first"));
	assert_non_null(strstr(out, "HB-M02 Trường THCS Tân Minh  seq 2"));
	assert_non_null(strstr(out, "device " DEV_B));
	snprintf(want, sizeof(want), "reason: id %s is held for another "
		 "school", id2);
	assert_non_null(strstr(out, want));
	/* newest first: same batch, so the later row (seq 2) first */
	assert_true(strstr(out, "seq 2") < strstr(out, "seq 1"));
	free(out);

	out = run_out(json, 0);
	arr = cJSON_Parse(out);
	assert_non_null(arr);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	o = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(cJSON_GetObjectItem(o, "school")->valuestring,
			    "HB-M02");
	assert_string_equal(cJSON_GetObjectItem(o, "school_name")->valuestring,
			    "Trường THCS Tân Minh");
	assert_string_equal(cJSON_GetObjectItem(o, "device")->valuestring,
			    DEV_B);
	assert_int_equal(cJSON_GetObjectItem(o, "seq")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItem(o, "event_id")->valuestring,
			    id2);
	snprintf(want, sizeof(want), "id %s is held for another school", id2);
	assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, want);
	assert_int_equal(strlen(cJSON_GetObjectItem(o, "received_at")
					->valuestring), 20); /* ...Z, UTC */
	assert_int_equal(cJSON_GetArrayItem(arr, 1) ? cJSON_GetObjectItem(
		cJSON_GetArrayItem(arr, 1), "seq")->valueint : 0, 1);
	cJSON_Delete(arr);
	free(out);

	out = run_out(csv, 0);
	assert_memory_equal(out, "\xEF\xBB\xBF" "id,school,school_name,device,"
			    "seq,event_id,reason,received_at", 57);
	snprintf(want, sizeof(want), ",HB-M02,Trường THCS Tân Minh,%s,1,%s,"
		 "id %s is held for another school,", DEV_B, id1, id1);
	assert_non_null(strstr(out, want));
	free(out);

	out = run_out(one, 0);
	assert_non_null(strstr(out, "2 rejected events, the newest 1 shown"));
	assert_null(strstr(out, "seq 1"));
	free(out);
	out = run_out(none, 0);
	assert_string_equal(out, "no rejected events\n");
	free(out);
	/* refused, naming the code (exit status: tb_err_exit of not found) */
	out = malloc(1 << 16);
	assert_non_null(out);
	assert_int_not_equal(helper_server_run(&srv, out, 1 << 16, unknown), 0);
	assert_string_equal(out, "");
	free(out);
	out = read_file("cmd.err");
	assert_non_null(strstr(out, "school HB-X99: no such unit"));
	free(out);
}

static void test_rejections_http(void **state)
{
	struct helper_server_resp r;
	char id1[37], want[200];
	cJSON *arr;

	(void)state;
	helper_server_id(1, 1, id1);
	get("/v1/admin/rejections?school=HB-M02", admin, 200, &r);
	arr = cJSON_Parse(r.body);
	assert_non_null(arr);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1),
						"event_id")->valuestring, id1);
	cJSON_Delete(arr);
	helper_server_resp_free(&r);

	get("/v1/admin/rejections?format=csv&limit=1", admin, 200, &r);
	assert_non_null(strstr(r.content_type, "text/csv"));
	assert_null(strstr(r.body, id1)); /* only the newest, seq 2 */
	assert_non_null(strstr(r.body, "is held for another school"));
	helper_server_resp_free(&r);

	get("/v1/admin/rejections?format=text", admin, 200, &r);
	snprintf(want, sizeof(want), "reason: id %s is held for another "
		 "school", id1);
	assert_non_null(strstr(r.body, want));
	helper_server_resp_free(&r);

	get("/v1/admin/rejections?school=HB-M01", admin, 200, &r);
	assert_string_equal(r.body, "[]\n");
	helper_server_resp_free(&r);
	get("/v1/admin/rejections?school=HB-X99", admin, 404, &r);
	helper_server_resp_free(&r);
	get("/v1/admin/rejections?limit=x", admin, 400, &r);
	helper_server_resp_free(&r);
	get("/v1/admin/rejections", NULL, 401, &r);
	helper_server_resp_free(&r);
}

static size_t gather(char *p, size_t size, size_t n, void *arg)
{
	char **buf = arg;
	size_t old = *buf ? strlen(*buf) : 0;
	char *b = realloc(*buf, old + size * n + 1);

	if (!b)
		return 0;
	memcpy(b + old, p, size * n);
	b[old + size * n] = '\0';
	*buf = b;
	return size * n;
}

/* The port of metrics_listen, from the log line that names it. */
static unsigned metrics_port(void)
{
	static const char mark[] = "/metrics on http://127.0.0.1:0, metrics port ";
	char buf[1 << 15];
	FILE *f = fopen(srv.log, "r");
	const char *p;
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, mark);
	assert_non_null(p);
	return (unsigned)strtoul(p + strlen(mark), NULL, 10);
}

/* metrics_listen: plain HTTP without a token, /metrics only; an address
 * that is not loopback is refused at start. */
static void test_metrics_listen(void **state)
{
	const char *bad[] = { "serve", "--cert", srv.cert, "--key", srv.key,
			      "--listen", "127.0.0.1:0", "--metrics-listen",
			      "0.0.0.0:0", NULL };
	char url[96], *body = NULL, *parsed;
	long status = 0;
	CURL *c;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics",
		 metrics_port());
	c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	parsed = parse(body);
	assert_sample(parsed, "tienbo_events_total{result=accepted}", 25);
	free(parsed);
	free(body);
	body = NULL;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/admin/rejections",
		 metrics_port());
	curl_easy_setopt(c, CURLOPT_URL, url);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 404);
	free(body);
	curl_easy_cleanup(c);

	free(run_out(bad, 78));
	body = read_file("cmd.err");
	assert_non_null(strstr(body, "metrics_listen: 0.0.0.0:0 is not a "
			       "loopback address"));
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ingest),
		cmocka_unit_test(test_scrape),
		cmocka_unit_test(test_rejections_cli),
		cmocka_unit_test(test_rejections_http),
		cmocka_unit_test(test_metrics_listen),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
