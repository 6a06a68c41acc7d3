/* test_sync_e2e.c - `tienbo-agent sync` and `run` against a real
 * tienbo-server: both binaries (TB_AGENT_BIN, TB_SERVER_BIN), HTTPS on
 * 127.0.0.1 with a test CA, SQLite files in temp dirs.
 *
 * Two schools in two districts record events of every kind (Vietnamese
 * text included), sync, and the server's export holds exactly the fixture
 * this file defines, field by field; an amendment and a void travel on the
 * next sync and win; a batch the agent sent, replayed by hand with the
 * curl tool, changes nothing. Then the refusals: a wrong token (401, exit
 * 78), another school's token (403), the server down (exit 69, all kept,
 * status names the error), a certificate from an unknown CA (exit 78,
 * nothing sent); an event the server rejects is marked with the reason
 * and does not hold back the ones behind it; `run` syncs in the
 * background and stops on SIGTERM with exit 0.
 *
 * The tests share one server; each uses its own schools and districts, so
 * exports filtered by district see only that test's events.
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

#include "agent/store.h"
#include "agent/sync.h"
#include "common/date.h"
#include "common/event.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "server/evrow.h"
#include "tests/helper_pg.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"

static struct helper_server srv;

#define COUNT(...) helper_server_countf(&srv, __VA_ARGS__)

/* ---- the fixture ---------------------------------------------------------
 * A field is its wire key, its value as typed on the command line, and how
 * the server's JSON must carry it: 'n' a number, 's' a string, 'b' yes/no
 * as true/false. The option is the key with '-' for '_'. */
struct fx_field {
	const char *key;
	const char *val; /* NULL: not set (cleared by an amendment) */
	char type;
};

#define FX_FIELDS 10

struct fx_event {
	const char *kind;
	const char *date;
	struct fx_field f[FX_FIELDS]; /* ends at key NULL */
	/* filled in as the test goes */
	char id[TB_ID_LEN];
	int64_t seq;
	int revision;
	const char *void_reason; /* non-NULL once voided */
};

#define N(k, v) { k, v, 'n' }
#define S(k, v) { k, v, 's' }
#define B(k, v) { k, v, 'b' }

/* School A (HB-001, district HB-D1): one event of every kind. */
static const struct fx_event fixture_a[] = {
	{ .kind = "outreach", .date = "2025-03-08",
	  .f = { S("title", "Họp phụ huynh về bình đẳng giới"),
	    N("parents", "40"), N("students", "120"), N("teachers_staff", "12"),
	    N("officials", "3"), S("occasion", "womens-day"),
	    S("channel", "meeting") } },
	{ .kind = "training", .date = "2025-06-28",
	  .f = { S("title", "Tập huấn kỹ năng truyền thông"),
	    S("topic", "Bình đẳng giới trong trường học"),
	    N("participants", "25"), N("female", "18"),
	    N("ban_members", "5"), N("women_in_planning", "4"),
	    N("communicators", "9") } },
	{ .kind = "action-month", .date = "2025-11-25",
	  .f = { S("title",
		   "Tháng hành động: diễu hành \"Nói không với bạo lực\""),
	    N("students", "300"), N("parents", "0"),
	    S("occasion", "action-month"), S("channel", "event") } },
	{ .kind = "web-post", .date = "2025-03-20",
	  .f = { S("title", "Ngày Quốc tế Hạnh phúc – bài viết"),
	    S("url", "https://thcs-hoabinh.edu.vn/tin-tuc/hanh-phuc") } },
	{ .kind = "snapshot", .date = "2025-06-30",
	  .f = { N("ban_members", "7"), N("ban_members_trained", "6"),
	    N("masters", "10"), N("masters_female", "6"),
	    N("nursery_age_children", "0"), B("website_section", "yes"),
	    B("curriculum_content", "no"), B("legal_outreach", "yes") } },
};

/* School B (HB-201, district HB-D2). */
static const struct fx_event fixture_b[] = {
	{ .kind = "training", .date = "2025-04-02",
	  .f = { S("title", "Tập huấn trùng lặp"),
	    N("participants", "15"), N("female", "9") } },
	{ .kind = "outreach", .date = "2025-06-28",
	  .f = { S("title", "Ngày Gia đình Việt Nam \\ 28/6"),
	    N("parents", "55"), S("occasion", "family-day"),
	    S("channel", "radio") } },
	{ .kind = "snapshot", .date = "2025-12-31",
	  .f = { N("key_posts", "4"), N("key_posts_women", "2"),
	    N("women_adults", "1000"), N("women_literate", "950"),
	    N("em_women_adults", "300"), N("em_women_literate", "270") } },
	{ .kind = "web-post", .date = "2025-12-01",
	  .f = { S("title", "Bản tin tháng 12") } },
	{ .kind = "action-month", .date = "2025-12-15",
	  .f = { S("title", "Tọa đàm phòng chống bạo lực giới"),
	    N("teachers_staff", "45"), N("officials", "2") } },
};

#define NA (sizeof(fixture_a) / sizeof(fixture_a[0]))
#define NB (sizeof(fixture_b) / sizeof(fixture_b[0]))

/* ---- agents ------------------------------------------------------------- */

/* An agent: its sandbox, options, school, token, device and store. */
#define agent helper_server_agent

#define AGENT(a, r, ...) \
	helper_proc_runl((r), &(a)->o, TB_AGENT_BIN, __VA_ARGS__, NULL)

static void enroll(const char *school, const char *district, char *token)
{
	assert_int_equal(helper_server_enroll(&srv, school, district, token),
			 0);
}

/* A fresh agent for school, with token (already enrolled), talking to
 * url (NULL: the shared server). */
static struct agent *agent_new(struct helper_server *s, const char *school,
			       const char *token, const char *url)
{
	struct agent *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	assert_int_equal(helper_server_agent_init(s, a, url, school, token),
			 0);
	return a;
}

static void agent_free(struct agent *a)
{
	if (!a)
		return;
	helper_server_agent_cleanup(a);
	free(a);
}

/* `record` of one fixture event; sets its id, seq and revision. */
static void record(struct agent *a, struct fx_event *e, int64_t seq)
{
	const char *argv[4 + 2 * FX_FIELDS + 2];
	char opts[FX_FIELDS][40];
	struct helper_proc_result r;
	int n = 0, i;

	argv[n++] = TB_AGENT_BIN;
	argv[n++] = "record";
	argv[n++] = e->kind;
	argv[n++] = "--date";
	argv[n++] = e->date;
	for (i = 0; i < FX_FIELDS && e->f[i].key; i++) {
		char *p;

		snprintf(opts[i], sizeof(opts[i]), "--%s", e->f[i].key);
		for (p = opts[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		argv[n++] = opts[i];
		argv[n++] = e->f[i].val;
	}
	argv[n] = NULL;
	assert_int_equal(helper_proc_run(argv, &a->o, &r), 0);
	assert_true(helper_proc_exited_with(&r, 0));
	assert_int_equal(r.out_len, TB_ID_LEN);
	memcpy(e->id, r.out, TB_ID_LEN - 1);
	e->id[TB_ID_LEN - 1] = '\0';
	assert_true(tb_uuid_valid(e->id));
	e->seq = seq;
	e->revision = 1;
	helper_proc_free(&r);
}

/* A simple outreach event, for tests that need rows, not variety. */
static void record_simple(struct agent *a, const char *title)
{
	struct helper_proc_result r;

	AGENT(a, &r, "record", "outreach", "--date", "2025-11-20", "--title",
	      title, "--parents", "7");
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
}

/* Runs `sync` with extra options; returns the result (caller frees). */
static void sync_run(struct agent *a, struct helper_proc_result *r,
		     const char *opt1, const char *opt2)
{
	AGENT(a, r, "sync", opt1 ? opt1 : "--tries", opt2 ? opt2 : "3",
	      "--backoff-ms", "20", "--backoff-max-ms", "200");
}

/* Asserts stdout starts with the summary worked out from the counts. */
static void expect_summary(const struct helper_proc_result *r, int sent,
			   int held, int rejected, int waiting)
{
	char head[128], tail[64];

	snprintf(head, sizeof(head),
		 "sync: %d sent (%d already held, %d rejected) in ", sent, held,
		 rejected);
	snprintf(tail, sizeof(tail), ", %d still waiting\n", waiting);
	if (strncmp(r->out, head, strlen(head)) != 0 || !strstr(r->out, tail))
		fail_msg("summary \"%s\", wanted \"%s...%s\"", r->out, head,
			 tail);
}

/* `status --json`, parsed (caller deletes). */
static cJSON *status_json(struct agent *a)
{
	struct helper_proc_result r;
	cJSON *j;

	AGENT(a, &r, "status", "--json");
	assert_true(helper_proc_exited_with(&r, 0));
	j = cJSON_Parse(r.out);
	if (!j)
		fail_msg("status --json is not JSON: %s", r.out);
	helper_proc_free(&r);
	return j;
}

static double status_num(cJSON *st, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(st, key);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static const char *status_str(cJSON *st, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(st, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void expect_status(struct agent *a, int pending, int sent,
			  int rejected)
{
	cJSON *st = status_json(a);

	assert_int_equal((int)status_num(st, "pending"), pending);
	assert_int_equal((int)status_num(st, "sent"), sent);
	assert_int_equal((int)status_num(st, "rejected"), rejected);
	cJSON_Delete(st);
}

/* ---- the server's side --------------------------------------------------- */

/* `tienbo-server export --format json ARGS` (up to 3), stdout malloc'd. */
static char *export_raw(const char *a1, const char *a2, const char *a3)
{
	const char *args[] = { "export", "--format", "json", a1, a2, a3, NULL };
	char *out = malloc(1 << 20);

	assert_non_null(out);
	assert_int_equal(helper_server_run(&srv, out, 1 << 20, args), 0);
	return out;
}

static cJSON *export_district(const char *district, int include_voided)
{
	char *text = export_raw("--district", district,
				include_voided ? "--include-voided" : NULL);
	cJSON *j = cJSON_Parse(text);

	if (!cJSON_IsArray(j))
		fail_msg("export is not a JSON array: %s", text);
	free(text);
	return j;
}

static void expect_str(cJSON *o, const char *key, const char *want)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || strcmp(v->valuestring, want) != 0)
		fail_msg("%s: wanted \"%s\", got %s", key, want,
			 cJSON_IsString(v) ? v->valuestring : "(not a string)");
}

static void expect_num(cJSON *o, const char *key, long long want)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble != (double)want)
		fail_msg("%s: wanted %lld", key, want);
}

/* One exported object against its fixture event: every envelope key,
 * every field set, and nothing else. */
static void check_event(cJSON *o, const struct fx_event *e,
			const struct agent *a, int64_t t0, int64_t t1)
{
	cJSON *v;
	int64_t at = 0;
	int i, keys = 8;

	if (!o)
		fail_msg("event %s (%s of %s) is not in the export", e->id,
			 e->kind, a->school);
	expect_str(o, "id", e->id);
	expect_str(o, "school", a->school);
	expect_str(o, "device", a->device);
	expect_num(o, "seq", e->seq);
	expect_str(o, "kind", e->kind);
	expect_str(o, "date", e->date);
	expect_num(o, "revision", e->revision);
	v = cJSON_GetObjectItemCaseSensitive(o, "recorded_at");
	assert_true(cJSON_IsString(v));
	assert_int_equal(tb_time_parse(v->valuestring, &at), 0);
	assert_true(at >= t0 && at <= t1);
	if (e->void_reason) {
		v = cJSON_GetObjectItemCaseSensitive(o, "voided");
		assert_true(cJSON_IsTrue(v));
		expect_str(o, "void_reason", e->void_reason);
		keys += 2;
	} else {
		assert_null(cJSON_GetObjectItemCaseSensitive(o, "voided"));
		assert_null(cJSON_GetObjectItemCaseSensitive(o, "void_reason"));
	}
	for (i = 0; i < FX_FIELDS && e->f[i].key; i++) {
		const struct fx_field *f = &e->f[i];

		v = cJSON_GetObjectItemCaseSensitive(o, f->key);
		if (!f->val) {
			if (v)
				fail_msg("%s: cleared, but exported", f->key);
			continue;
		}
		keys++;
		if (f->type == 'n')
			expect_num(o, f->key, strtoll(f->val, NULL, 10));
		else if (f->type == 'b')
			assert_true(strcmp(f->val, "yes") == 0
					    ? cJSON_IsTrue(v)
					    : cJSON_IsFalse(v));
		else
			expect_str(o, f->key, f->val);
	}
	if (cJSON_GetArraySize(o) != keys) {
		char *text = cJSON_PrintUnformatted(o);

		fail_msg("%d keys, wanted %d: %s", cJSON_GetArraySize(o), keys,
			 text);
	}
}

/* The export of district holds exactly the non-voided (or all) events of
 * fixture fx of agent a. */
static void check_export(const char *district, int include_voided,
			 const struct fx_event *fx, size_t n,
			 const struct agent *a, int64_t t0)
{
	cJSON *arr = export_district(district, include_voided);
	int64_t t1 = tb_time_now();
	size_t i;
	int want = 0;

	for (i = 0; i < n; i++) {
		if (fx[i].void_reason && !include_voided) {
			assert_null(helper_server_find_id(arr, fx[i].id));
			continue;
		}
		check_event(helper_server_find_id(arr, fx[i].id), &fx[i], a, t0,
			    t1);
		want++;
	}
	assert_int_equal(cJSON_GetArraySize(arr), want);
	cJSON_Delete(arr);
}

/* The batch first..last exactly as the agent's sync builds it
 * (tb_sync_build_batch, the codec's batch writer over the stored rows),
 * from a copy of its store in which those rows are pending again.
 * malloc'd. */
static char *stored_batch(const struct agent *a, int64_t first, int64_t last)
{
	struct tb_batch_writer w = TB_BATCH_WRITER_INIT;
	struct tb_store *s = NULL;
	sqlite3 *db = NULL;
	char copy[600], sql[800], msg[512];
	const char *json = NULL;
	size_t len = 0, n = 0;
	char *out;

	snprintf(copy, sizeof(copy), "%s.replay", a->db);
	unlink(copy);
	assert_int_equal(sqlite3_open(a->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", copy);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sqlite3_open(copy, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "UPDATE queue SET state = 0 WHERE seq "
		 "BETWEEN %lld AND %lld", (long long)first, (long long)last);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(tb_store_open(copy, 0, &s, msg, sizeof(msg)), 0);
	assert_int_equal(tb_sync_build_batch(s, first - 1,
					     (size_t)(last - first + 1),
					     SIZE_MAX, &w, &json, &len, &n),
			 0);
	assert_int_equal(n, (size_t)(last - first + 1));
	out = strdup(json);
	assert_non_null(out);
	tb_batch_writer_cleanup(&w);
	tb_store_close(s);
	unlink(copy);
	snprintf(sql, sizeof(sql), "%s-wal", copy);
	unlink(sql);
	snprintf(sql, sizeof(sql), "%s-shm", copy);
	unlink(sql);
	return out;
}

/* ---- setup --------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	return helper_server_up(&srv);
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	return 0;
}

/* ---- the round trip ------------------------------------------------------ */

/* Finds the fixture field key in e and sets it (NULL clears it). */
static void set_field(struct fx_event *e, const char *key, const char *val)
{
	int i;

	for (i = 0; i < FX_FIELDS && e->f[i].key; i++)
		if (strcmp(e->f[i].key, key) == 0) {
			e->f[i].val = val;
			return;
		}
	fail_msg("fixture has no field %s", key);
}

/* Replays batch (JSON) with the curl tool; returns the ack. */
static void curl_replay(const struct agent *a, const char *json,
			struct tb_ack *ack)
{
	struct helper_proc_result r;
	char path[400], data[420], auth[128], url[128], why[256] = "";
	unsigned char *gz = NULL;
	size_t gzlen = 0;
	char *code;

	snprintf(path, sizeof(path), "%s/batch.gz", a->sb.dir);
	assert_int_equal(tb_gz_compress(json, strlen(json), -1, &gz, &gzlen),
			 0);
	assert_int_equal(helper_proc_write_file(path, (char *)gz, gzlen), 0);
	tb_free(gz);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->token);
	snprintf(url, sizeof(url), "%s/v1/batches", srv.url);
	snprintf(data, sizeof(data), "@%s", path);
	helper_proc_runl(&r, NULL, "/usr/bin/curl", "-sS", "--cacert", srv.ca,
			 "-H", auth, "-H", "Content-Type: application/json",
			 "-H", "Content-Encoding: gzip", "--data-binary", data,
			 "-w", "\n%{http_code}", url, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	code = strrchr(r.out, '\n');
	assert_non_null(code);
	*code++ = '\0';
	if (strcmp(code, "200") != 0)
		fail_msg("curl replay got HTTP %s: %s", code, r.out);
	tb_ack_init(ack);
	assert_int_equal(tb_ack_decode(r.out, strlen(r.out), ack, why,
				       sizeof(why)), 0);
	helper_proc_free(&r);
}

static void test_two_schools(void **state)
{
	struct fx_event a_ev[NA], b_ev[NB];
	struct agent *a, *b;
	struct helper_proc_result r;
	char tok_a[80], tok_b[80];
	char *before, *before_v, *after, *after_v, *batch;
	struct tb_ack ack;
	int64_t t0 = tb_time_now(), hist;
	size_t i;

	(void)state;
	memcpy(a_ev, fixture_a, sizeof(a_ev));
	memcpy(b_ev, fixture_b, sizeof(b_ev));
	enroll("HB-001", "HB-D1", tok_a);
	enroll("HB-201", "HB-D2", tok_b);
	a = agent_new(&srv, "HB-001", tok_a, NULL);
	b = agent_new(&srv, "HB-201", tok_b, NULL);

	/* Recorded offline, interleaved: each device numbers its own. */
	for (i = 0; i < NA || i < NB; i++) {
		if (i < NA)
			record(a, &a_ev[i], (int64_t)i + 1);
		if (i < NB)
			record(b, &b_ev[i], (int64_t)i + 1);
	}
	expect_status(a, (int)NA, 0, 0);
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, (int)NA, 0, 0, 0);
	helper_proc_free(&r);
	sync_run(b, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, (int)NB, 0, 0, 0);
	helper_proc_free(&r);
	expect_status(a, 0, (int)NA, 0);
	expect_status(b, 0, (int)NB, 0);
	{
		cJSON *st = status_json(a);

		assert_null(status_str(st, "last_error"));
		assert_non_null(status_str(st, "last_success"));
		cJSON_Delete(st);
	}
	check_export("HB-D1", 0, a_ev, NA, a, t0);
	check_export("HB-D2", 0, b_ev, NB, b, t0);

	/* Corrections after the first sync: A amends its outreach (two
	 * fields) and clears a snapshot figure; B voids its training. */
	AGENT(a, &r, "amend", a_ev[0].id, "--parents", "55", "--title",
	      "Họp phụ huynh (sửa số liệu)");
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	set_field(&a_ev[0], "parents", "55");
	set_field(&a_ev[0], "title", "Họp phụ huynh (sửa số liệu)");
	a_ev[0].seq = NA + 1;
	a_ev[0].revision = 2;
	AGENT(a, &r, "amend", a_ev[4].id, "--masters-female", "");
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	set_field(&a_ev[4], "masters_female", NULL);
	a_ev[4].seq = NA + 2;
	a_ev[4].revision = 2;
	AGENT(b, &r, "void", b_ev[0].id, "--reason",
	      "Nhập trùng – entered twice");
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	b_ev[0].seq = NB + 1;
	b_ev[0].revision = 2;
	b_ev[0].void_reason = "Nhập trùng – entered twice";
	expect_status(a, 2, (int)NA, 0);

	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 2, 0, 0, 0);
	helper_proc_free(&r);
	sync_run(b, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 1, 0, 0, 0);
	helper_proc_free(&r);
	expect_status(a, 0, (int)NA + 2, 0);
	expect_status(b, 0, (int)NB + 1, 0);
	check_export("HB-D1", 0, a_ev, NA, a, t0);
	check_export("HB-D2", 0, b_ev, NB, b, t0);
	check_export("HB-D2", 1, b_ev, NB, b, t0);
	/* The history keeps every revision, once. */
	assert_int_equal(COUNT("SELECT count(*) FROM event_history h JOIN "
			       "events e ON e.id = h.id WHERE e.school = "
			       "'HB-001'"), NA + 2);
	assert_int_equal(COUNT("SELECT count(*) FROM event_history h JOIN "
			       "events e ON e.id = h.id WHERE e.school = "
			       "'HB-201'"), NB + 1);

	/* A's first batch (seq 1..NA, revision 1 of what was amended since),
	 * replayed by hand: all duplicates, nothing changes. */
	before = export_raw(NULL, NULL, NULL);
	before_v = export_raw("--include-voided", NULL, NULL);
	hist = COUNT("SELECT count(*) FROM event_history");
	batch = stored_batch(a, 1, NA);
	curl_replay(a, batch, &ack);
	assert_string_equal(ack.device, a->device);
	assert_int_equal(ack.committed_through, NA + 2);
	assert_int_equal(ack.accepted, 0);
	assert_int_equal(ack.duplicates, NA);
	assert_int_equal(ack.nrejected, 0);
	tb_ack_clear(&ack);
	after = export_raw(NULL, NULL, NULL);
	after_v = export_raw("--include-voided", NULL, NULL);
	assert_string_equal(before, after);
	assert_string_equal(before_v, after_v);
	assert_int_equal(COUNT("SELECT count(*) FROM event_history"),
			 hist);
	check_export("HB-D1", 0, a_ev, NA, a, t0);
	free(batch);
	free(before);
	free(before_v);
	free(after);
	free(after_v);

	/* And a sync with nothing to send sends nothing. */
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 0, 0, 0, 0);
	helper_proc_free(&r);
	agent_free(a);
	agent_free(b);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_wrong_token(void **state)
{
	struct helper_proc_result r;
	struct agent *a;
	char token[80];
	cJSON *st;

	(void)state;
	enroll("HB-301", "HB-D3", token);
	/* a well-formed token the server never issued */
	a = agent_new(&srv, "HB-301",
		      "0123456789abcdef0123456789abcdef"
		      "0123456789abcdef0123456789abcdef", NULL);
	record_simple(a, "Sinh hoạt chuyên đề");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 78));
	assert_non_null(strstr(r.err, "401"));
	assert_non_null(strstr(r.err, "token"));
	expect_summary(&r, 0, 0, 0, 1);
	helper_proc_free(&r);
	st = status_json(a);
	assert_int_equal((int)status_num(st, "pending"), 1);
	assert_non_null(status_str(st, "last_error"));
	assert_non_null(strstr(status_str(st, "last_error"), "401"));
	cJSON_Delete(st);
	assert_int_equal(COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE "
			       "h.device = '%s'", a->device), 0);
	agent_free(a);
}

static void test_other_schools_token(void **state)
{
	struct helper_proc_result r;
	struct agent *a;
	char tok_302[80], tok_303[80];

	(void)state;
	enroll("HB-302", "HB-D3", tok_302);
	enroll("HB-303", "HB-D3", tok_303);
	/* configured as HB-303, holding HB-302's token */
	a = agent_new(&srv, "HB-303", tok_302, NULL);
	record_simple(a, "Họp tổ chuyên môn");
	record_simple(a, "Họp chi bộ");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 78));
	assert_non_null(strstr(r.err, "403"));
	assert_non_null(strstr(r.err, "forbidden"));
	expect_summary(&r, 0, 0, 0, 2);
	helper_proc_free(&r);
	expect_status(a, 2, 0, 0);
	assert_int_equal(COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE "
			       "h.device = '%s' OR e.school IN ('HB-302', "
			       "'HB-303')", a->device), 0);
	agent_free(a);
}

static void test_server_down(void **state)
{
	struct helper_server down;
	struct helper_proc_result r;
	struct agent *a;
	char token[80];
	unsigned port;
	cJSON *st;
	int i;

	(void)state;
	assert_int_equal(helper_server_up(&down), 0);
	assert_int_equal(helper_server_enroll(&down, "HB-401", "HB-D4", token),
			 0);
	a = agent_new(&down, "HB-401", token, NULL);
	for (i = 0; i < 3; i++)
		record_simple(a, "Trước khi mất mạng");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	port = down.port;
	assert_int_equal(helper_server_stop(&down), 0);

	for (i = 0; i < 2; i++)
		record_simple(a, "Khi máy chủ tắt");
	sync_run(a, &r, "--tries", "2");
	assert_true(helper_proc_exited_with(&r, 69));
	assert_non_null(strstr(r.err, "cannot reach the server"));
	expect_summary(&r, 0, 0, 0, 2);
	helper_proc_free(&r);
	st = status_json(a);
	assert_int_equal((int)status_num(st, "pending"), 2);
	assert_int_equal((int)status_num(st, "sent"), 3);
	assert_non_null(status_str(st, "last_error"));
	assert_non_null(strstr(status_str(st, "last_error"), "cannot reach the server"));
	assert_non_null(status_str(st, "last_error_at"));
	cJSON_Delete(st);
	AGENT(a, &r, "status");
	assert_true(helper_proc_exited_with(&r, 0));
	assert_non_null(strstr(r.out, "cannot reach the server"));
	helper_proc_free(&r);

	/* Back on the same address: the two waiting go, once. */
	assert_int_equal(helper_server_start_on(&down, port, NULL), 0);
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 2, 0, 0, 0);
	helper_proc_free(&r);
	st = status_json(a);
	assert_int_equal((int)status_num(st, "pending"), 0);
	assert_null(status_str(st, "last_error"));
	cJSON_Delete(st);
	assert_int_equal(helper_server_count(&down,
					     "SELECT count(*) FROM events"),
			 5);
	assert_int_equal(helper_server_stop(&down), 0);
	helper_server_teardown(&down);
	agent_free(a);
}

/* Lines of a log file that contain needle. */
static int log_lines(const char *path, const char *needle)
{
	char *text = helper_proc_read_file(path, NULL), *p;
	int n = 0;

	for (p = text; p && (p = strstr(p, needle)); p++)
		n++;
	free(text);
	return n;
}

static void test_unknown_ca(void **state)
{
	struct helper_server rogue;
	struct helper_proc_result r;
	struct agent *a;
	char token[80];

	(void)state;
	/* A second server with its own CA: the agent trusts only srv's CA,
	 * and is pointed at the impostor's address. */
	assert_int_equal(helper_server_up(&rogue), 0);
	enroll("HB-501", "HB-D5", token);
	a = agent_new(&srv, "HB-501", token, rogue.url);
	record_simple(a, "Không được gửi đi");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 78));
	assert_non_null(strstr(r.err, "certificate"));
	expect_summary(&r, 0, 0, 0, 1);
	helper_proc_free(&r);
	expect_status(a, 1, 0, 0);
	/* Not one request reached the impostor's HTTP layer. */
	assert_int_equal(log_lines(rogue.log, "/v1/"), 0);
	assert_int_equal(helper_server_count(&rogue,
					     "SELECT count(*) FROM events"),
			 0);
	assert_int_equal(helper_server_stop(&rogue), 0);
	helper_server_teardown(&rogue);
	agent_free(a);
}

/* ---- rejections ---------------------------------------------------------- */

/* Makes row seq of the agent's store break a rule the server enforces.
 *
 * Why by hand: the agent validates every event with the same rules as
 * the server (common/event.c) before it writes it, so a row the server
 * refuses cannot be made through the CLI. It happens when the bytes a row
 * sends differ from what the agent checked: a store written by a release
 * with another encoder, or edited outside the agent. We make such a row by
 * changing only its stored fields (what sync encodes and sends):
 * female 30 of 10 participants. */
static void break_row(const struct agent *a, int64_t seq)
{
	sqlite3 *db = NULL;
	char sql[512];

	assert_int_equal(sqlite3_open(a->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	snprintf(sql, sizeof(sql),
		 "UPDATE queue SET fields = replace(fields, '\"female\":3}', "
		 "'\"female\":30}') WHERE seq = %lld AND state = 0",
		 (long long)seq);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	snprintf(sql, sizeof(sql),
		 "UPDATE queue SET wire_bytes = wire_bytes + 1 "
		 "WHERE seq = %lld", (long long)seq);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* State of row seq in the agent's store, and its reject reason. */
static int row_state(const struct agent *a, int64_t seq, char *why,
		     size_t whylen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int state = -1;

	assert_int_equal(sqlite3_open_v2(a->db, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT state, coalesce(reject_reason, '') FROM queue "
		"WHERE seq = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, seq);
	if (sqlite3_step(st) == SQLITE_ROW) {
		state = sqlite3_column_int(st, 0);
		if (why)
			snprintf(why, whylen, "%s",
				 (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return state;
}

static void test_rejected_event(void **state)
{
	static const char reason[] =
		"female: must not exceed participants (30 > 10)";
	struct helper_proc_result r;
	struct agent *a;
	char token[80], ids[5][TB_ID_LEN], why[256];
	int i;

	(void)state;
	enroll("HB-601", "HB-D6", token);
	a = agent_new(&srv, "HB-601", token, NULL);
	for (i = 0; i < 5; i++) {
		char title[32];

		snprintf(title, sizeof(title), "Tập huấn %d", i + 1);
		AGENT(a, &r, "record", "training", "--date", "2025-09-05",
		      "--title", title, "--participants", "10", "--female",
		      "3");
		assert_true(helper_proc_exited_with(&r, 0));
		memcpy(ids[i], r.out, TB_ID_LEN - 1);
		ids[i][TB_ID_LEN - 1] = '\0';
		helper_proc_free(&r);
	}
	break_row(a, 2);
	/* one event per batch, so the bad one has batches behind it too */
	sync_run(a, &r, "--batch", "1");
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 5, 0, 1, 0);
	helper_proc_free(&r);
	expect_status(a, 0, 4, 1);
	AGENT(a, &r, "status");
	assert_true(helper_proc_exited_with(&r, 0));
	assert_non_null(strstr(r.out, "rejected:      1"));
	helper_proc_free(&r);
	/* The reason is kept on the row, and `show` and `list` display it:
	 * the clerk must see what the server refused and why, even though
	 * the row breaks a rule of the event model. */
	assert_int_equal(row_state(a, 2, why, sizeof(why)), TB_STATE_REJECTED);
	assert_string_equal(why, reason);
	AGENT(a, &r, "show", ids[1]);
	assert_true(helper_proc_exited_with(&r, 0));
	assert_non_null(strstr(r.out, reason));
	assert_non_null(strstr(r.out, "rejected"));
	helper_proc_free(&r);
	AGENT(a, &r, "list", "--json");
	assert_true(helper_proc_exited_with(&r, 0));
	assert_non_null(strstr(r.out, ids[1]));
	assert_non_null(strstr(r.out, reason));
	helper_proc_free(&r);
	for (i = 0; i < 5; i++)
		if (i != 1)
			assert_int_equal(row_state(a, i + 1, NULL, 0),
					 TB_STATE_SENT);
	{
		cJSON *arr = export_district("HB-D6", 1);

		assert_int_equal(cJSON_GetArraySize(arr), 4);
		assert_null(helper_server_find_id(arr, ids[1]));
		for (i = 0; i < 5; i++)
			if (i != 1)
				assert_non_null(
					helper_server_find_id(arr, ids[i]));
		cJSON_Delete(arr);
	}
	assert_int_equal(COUNT("SELECT count(*) FROM rejections WHERE "
			       "device = '%s' AND seq = 2 AND reason = "
			       "'%s'", a->device, reason), 1);

	/* Behind it the queue moves on; the rejected row is never resent. */
	record_simple(a, "Sau sự kiện bị từ chối");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 1, 0, 0, 0);
	helper_proc_free(&r);
	expect_status(a, 0, 5, 1);
	assert_int_equal(COUNT("SELECT count(*) FROM rejections WHERE "
			       "device = '%s'", a->device), 1);
	assert_int_equal(COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE "
			       "h.device = '%s'", a->device), 5);
	agent_free(a);
}

/* ---- a store restored from an old copy ------------------------------------ */

static void copy_file(const char *from, const char *to)
{
	size_t len = 0;
	char *data = helper_proc_read_file(from, &len);

	if (!data) {
		unlink(to); /* no such file: none in the copy either */
		return;
	}
	assert_int_equal(helper_proc_write_file(to, data, len), 0);
	free(data);
}

/* A SQLite file and its WAL, db + from_suffix to db + to_suffix: a
 * backup taken, or put back, while no process has the file open. */
static void copy_db(const char *db, const char *from_suffix,
		    const char *to_suffix)
{
	static const char *const parts[] = { "", "-wal", "-shm" };
	char from[600], to[600];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s%s", db, from_suffix,
			 parts[i]);
		snprintf(to, sizeof(to), "%s%s%s", db, to_suffix, parts[i]);
		copy_file(from, to);
	}
}

/* The server's database, copied while the server is stopped: its SQLite
 * file and WAL (db + from_suffix to db + to_suffix), or on PostgreSQL the
 * database URL + from_suffix to URL + to_suffix (a copy made from it as
 * a template; the base URL carries no ?parameters). */
static void copy_server_db(const struct helper_server *s,
			   const char *from_suffix, const char *to_suffix)
{
	char from[600], to[600];

	if (!helper_server_is_pg(s)) {
		copy_db(s->db, from_suffix, to_suffix);
		return;
	}
	snprintf(from, sizeof(from), "%s%s", s->db, from_suffix);
	snprintf(to, sizeof(to), "%s%s", s->db, to_suffix);
	assert_int_equal(helper_pg_copydb(from, to), 0);
}

/* The server's disk dies; last night's copy (db.bak) comes back and the
 * server starts again on the same port. */
static void restore_server(struct helper_server *s, unsigned port)
{
	assert_int_equal(helper_server_stop(s), 0);
	copy_server_db(s, "_bak", "");
	assert_int_equal(helper_server_start_on(s, port, NULL), 0);
}

/* An agent whose store was restored from a copy older than what the server
 * holds must not upload: its new events reuse sequence numbers the server
 * already has, and marking them sent on the cursor's word would lose them. */
static void test_restored_store(void **state)
{
	struct helper_proc_result r;
	struct agent *a;
	char token[80];
	int i;

	(void)state;
	enroll("HB-901", "HB-D9", token);
	a = agent_new(&srv, "HB-901", token, NULL);
	for (i = 0; i < 3; i++)
		record_simple(a, "Trước khi sao lưu");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	copy_db(a->db, "", ".bak");
	for (i = 0; i < 2; i++)
		record_simple(a, "Sau khi sao lưu");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	assert_int_equal(COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE h.device = "
			       "'%s'", a->device), 5);

	/* the machine dies; the backup comes back; the clerk goes on */
	copy_db(a->db, ".bak", "");
	for (i = 0; i < 4; i++)
		record_simple(a, "Sau khi khôi phục");
	expect_status(a, 4, 3, 0);
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 65));
	assert_non_null(strstr(r.err, "older copy"));
	expect_summary(&r, 0, 0, 0, 4);
	helper_proc_free(&r);
	expect_status(a, 4, 3, 0);
	/* nothing of the restored store went up: the server has the 5 */
	assert_int_equal(COUNT("SELECT count(*) FROM event_history WHERE "
			       "device = '%s'", a->device), 5);
	assert_int_equal(COUNT("SELECT count(*) FROM event_history WHERE "
			       "device = '%s' AND fields LIKE '%%khôi phục%%'",
			       a->device), 0);
	agent_free(a);
}

/* A damaged sync state is said as such: read as 0 it would pass for a
 * store restored from an old copy, and the clerk would be told to enroll
 * the machine anew. */
static void test_damaged_sync_state(void **state)
{
	struct helper_proc_result r;
	struct agent *a;
	sqlite3 *db = NULL;
	char token[80];

	(void)state;
	enroll("HB-903", "HB-D9", token);
	a = agent_new(&srv, "HB-903", token, NULL);
	record_simple(a, "Trước khi hỏng");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	record_simple(a, "Sau khi hỏng");
	assert_int_equal(sqlite3_open(a->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE sync_state SET value = 'x1' "
				      "WHERE key = 'sent_through'", NULL, NULL,
				      NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 74));
	assert_non_null(strstr(r.err, "damaged"));
	assert_non_null(strstr(r.err, "sent_through"));
	assert_null(strstr(r.err, "enroll"));
	helper_proc_free(&r);
	expect_status(a, 1, 1, 0);
	assert_int_equal(COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE h.device = "
			       "'%s'", a->device), 1);
	agent_free(a);
}

/* The server's database comes back from a backup older than what the
 * agent has sent: the agent learns it from the cursor and sends the rest
 * again (sync.h, step 1), once. */
static void test_server_restored(void **state)
{
	struct helper_server s;
	struct helper_proc_result r;
	struct agent *a;
	char token[80];
	unsigned port;
	int i;

	(void)state;
	assert_int_equal(helper_server_up(&s), 0);
	port = s.port;
	assert_int_equal(helper_server_enroll(&s, "HB-902", "HB-D9", token), 0);
	a = agent_new(&s, "HB-902", token, NULL);
	for (i = 0; i < 3; i++)
		record_simple(a, "Trước bản sao lưu của máy chủ");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	assert_int_equal(helper_server_stop(&s), 0);
	copy_server_db(&s, "", "_bak");
	assert_int_equal(helper_server_start_on(&s, port, NULL), 0);
	for (i = 0; i < 2; i++)
		record_simple(a, "Sau bản sao lưu của máy chủ");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 2, 0, 0, 0);
	helper_proc_free(&r);

	/* the server's disk dies; last night's backup comes back */
	restore_server(&s, port);
	assert_int_equal(helper_server_countf(&s, "SELECT count(*) FROM "
					      "events"), 3);
	expect_status(a, 0, 5, 0);
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 2, 0, 0, 0);
	helper_proc_free(&r);
	expect_status(a, 0, 5, 0);
	assert_int_equal(helper_server_countf(&s, "SELECT count(*) FROM "
					      "event_history WHERE device = "
					      "'%s'", a->device), 5);
	assert_int_equal(helper_server_countf(&s, "SELECT committed_through "
					      "FROM cursors WHERE device = "
					      "'%s'", a->device), 5);

	/* again, but this time the clerk records one more before the next
	 * sync: the agent skips the cursor GET (it holds the last ack, 5),
	 * the server answers 409 and the agent asks, then resends 4..6 */
	restore_server(&s, port);
	record_simple(a, "Sau lần khôi phục thứ hai");
	sync_run(a, &r, NULL, NULL);
	assert_true(helper_proc_exited_with(&r, 0));
	expect_summary(&r, 3, 0, 0, 0);
	helper_proc_free(&r);
	expect_status(a, 0, 6, 0);
	assert_int_equal(helper_server_countf(&s, "SELECT count(*) FROM "
					      "event_history WHERE device = "
					      "'%s'", a->device), 6);
	assert_int_equal(helper_server_stop(&s), 0);
	if (helper_server_is_pg(&s)) { /* the backup database */
		char bak[sizeof(s.db) + 8];

		snprintf(bak, sizeof(bak), "%s_bak", s.db);
		assert_int_equal(helper_pg_dropdb(bak), 0);
	}
	helper_server_teardown(&s);
	agent_free(a);
}

/* On a terminal, sync shows its progress after each batch (events sent of
 * the total, bytes on the link), then the one-line summary. */
static void test_progress_on_terminal(void **state)
{
	const char *argv[] = { TB_AGENT_BIN, "sync", "--batch", "10", NULL };
	struct helper_proc_pty *p;
	struct agent *a;
	char token[80];
	int i;

	(void)state;
	enroll("HB-904", "HB-D9", token);
	a = agent_new(&srv, "HB-904", token, NULL);
	for (i = 0; i < 25; i++)
		record_simple(a, "Hiện tiến độ");
	p = helper_proc_pty_start(argv, a->sb.env);
	assert_non_null(p);
	assert_int_equal(helper_proc_pty_expect(p, "sent 10 of 25 events, ",
						20000), 0);
	assert_int_equal(helper_proc_pty_expect(p, " on the link", 20000), 0);
	assert_int_equal(helper_proc_pty_expect(p, "sent 20 of 25 events, ",
						20000), 0);
	assert_int_equal(helper_proc_pty_expect(p, "sent 25 of 25 events, ",
						20000), 0);
	assert_int_equal(helper_proc_pty_expect(p, "sync: 25 sent (0 already "
						"held, 0 rejected) in 3 "
						"batches", 20000), 0);
	assert_int_equal(helper_proc_pty_wait(p, 20000), 0);
	helper_proc_pty_free(p);
	agent_free(a);
}

/* ---- run ----------------------------------------------------------------- */

/* Waits (at most 20 s) until the server holds n events of device. */
static int wait_events(const char *device, int64_t n)
{
	struct timespec nap = { 0, 50 * 1000000L };
	int i;

	for (i = 0; i < 400; i++) {
		if (COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE h.device = "
			  "'%s'", device) == n)
			return 0;
		nanosleep(&nap, NULL);
	}
	return -1;
}

/* The sum of N over the "sync: N sent (M already held" lines of a log,
 * checking that nothing was already held. */
static long sum_sent(const char *log)
{
	const char *p = log;
	long sum = 0, n, held;

	while ((p = strstr(p, "sync: ")) != NULL) {
		if (sscanf(p, "sync: %ld sent (%ld already held", &n, &held) ==
		    2) {
			assert_int_equal(held, 0);
			sum += n;
		}
		p += 6;
	}
	return sum;
}

static void test_run_daemon(void **state)
{
	const char *argv[] = { TB_AGENT_BIN, "run", "--interval", "1",
			       "--backoff-ms", "50", NULL };
	struct helper_proc_bg bg;
	struct helper_proc_result r;
	struct agent *a;
	char token[80];
	int i;

	(void)state;
	enroll("HB-701", "HB-D7", token);
	a = agent_new(&srv, "HB-701", token, NULL);
	record_simple(a, "Trước khi chạy nền");
	assert_int_equal(helper_proc_bg_start(&bg, argv, &a->o, a->sb.dir,
					      "run"), 0);
	assert_int_equal(wait_events(a->device, 1), 0);
	/* recorded while it runs: picked up on a later pass */
	for (i = 0; i < 3; i++)
		record_simple(a, "Trong khi chạy nền");
	assert_int_equal(wait_events(a->device, 4), 0);
	record_simple(a, "Lần cuối");
	assert_int_equal(wait_events(a->device, 5), 0);
	assert_true(helper_proc_bg_running(&bg));
	helper_proc_bg_signal(&bg, SIGTERM);
	assert_int_equal(helper_proc_bg_wait(&bg, 15000, &r), 0);
	assert_true(helper_proc_exited_with(&r, 0));
	assert_non_null(strstr(r.err, "stopped"));
	/* one line per attempt; over all of them, the 5 went once each
	 * (how they fell into passes depends on timing) */
	assert_int_equal(sum_sent(r.err), 5);
	helper_proc_free(&r);
	expect_status(a, 0, 5, 0);
	agent_free(a);
}

/* SIGTERM while batches flow: `run` finishes the batch in flight and
 * commits its acknowledgement before it exits, so the agent's "sent"
 * rows are exactly what the server holds: nothing committed there is
 * left unmarked here. */
static void test_run_stops_between_batches(void **state)
{
	const char *argv[] = { TB_AGENT_BIN, "run", "--batch", "10", NULL };
	struct helper_proc_bg bg;
	struct helper_proc_result r;
	struct timespec nap = { 0, 5 * 1000000L };
	struct agent *a;
	char token[80], csv[600], line[64];
	char *rows = malloc(2000 * 64 + 64);
	size_t len;
	int64_t held = 0, sent;
	int i;

	(void)state;
	assert_non_null(rows);
	enroll("HB-905", "HB-D9", token);
	a = agent_new(&srv, "HB-905", token, NULL);
	len = (size_t)snprintf(rows, 64, "kind,date,title,parents\n");
	for (i = 0; i < 2000; i++) {
		int k = snprintf(line, sizeof(line),
				 "outreach,2025-11-20,Hàng %d,%d\n", i + 1,
				 i % 50 + 1);

		memcpy(rows + len, line, (size_t)k + 1);
		len += (size_t)k;
	}
	snprintf(csv, sizeof(csv), "%s/rows.csv", a->sb.dir);
	assert_int_equal(helper_proc_write_file(csv, rows, len), 0);
	free(rows);
	AGENT(a, &r, "import", csv);
	assert_true(helper_proc_exited_with(&r, 0));
	helper_proc_free(&r);
	assert_int_equal(helper_proc_bg_start(&bg, argv, &a->o, a->sb.dir,
					      "run"), 0);
	for (i = 0; i < 2000 && held < 50; i++) {
		held = COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE h.device = '%s'",
			     a->device);
		nanosleep(&nap, NULL);
	}
	assert_true(held >= 50);
	helper_proc_bg_signal(&bg, SIGTERM);
	assert_int_equal(helper_proc_bg_wait(&bg, 20000, &r), 0);
	assert_true(helper_proc_exited_with(&r, 0));
	assert_non_null(strstr(r.err, "stopped"));
	helper_proc_free(&r);
	sent = helper_server_db_int(a->db, "SELECT count(*) FROM queue WHERE "
					   "state = 1");
	held = COUNT("SELECT count(*) FROM" TB_EVROW_FROM " WHERE h.device = '%s'",
		     a->device);
	fprintf(stderr, "test_sync_e2e: run stopped with %lld of 2000 sent\n",
		(long long)sent);
	assert_int_equal(sent, held);
	assert_int_equal(COUNT("SELECT coalesce(max(committed_through), 0) "
			       "FROM cursors WHERE device = '%s'", a->device),
			 sent);
	agent_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_schools),
		cmocka_unit_test(test_wrong_token),
		cmocka_unit_test(test_other_schools_token),
		cmocka_unit_test(test_server_down),
		cmocka_unit_test(test_unknown_ca),
		cmocka_unit_test(test_rejected_event),
		cmocka_unit_test(test_restored_store),
		cmocka_unit_test(test_server_restored),
		cmocka_unit_test(test_damaged_sync_state),
		cmocka_unit_test(test_progress_on_terminal),
		cmocka_unit_test(test_run_daemon),
		cmocka_unit_test(test_run_stops_between_batches),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
