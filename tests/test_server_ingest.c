/* test_server_ingest.c - the batch merge of tienbo-server, end to end: a
 * real server over HTTPS on 127.0.0.1 with a real SQLite file. Upload and
 * ack, replay, partial overlap, amendment, void, per-event rejections,
 * sequence gaps, other schools and devices, the cursor, the exports and
 * the admin endpoints. Every expected count is worked out from the batches
 * the test sends. Each test uses its own schools and devices, so they share
 * one server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"
#include "server/evrow.h"
#include "tests/helper_server.h"

static struct helper_server srv;

#define DEV1 "6f1c2a9e-3b4d-4c5e-8f70-000000000001"
#define DEV2 "6f1c2a9e-3b4d-4c5e-8f70-000000000002"
#define DEV3 "6f1c2a9e-3b4d-4c5e-8f70-000000000003"
#define DEV4 "6f1c2a9e-3b4d-4c5e-8f70-000000000004"
#define DEV5 "6f1c2a9e-3b4d-4c5e-8f70-000000000005"
#define DEV19 "6f1c2a9e-3b4d-4c5e-8f70-000000000019"

static int group_setup(void **state)
{
	(void)state;
	if (helper_server_setup(&srv) != 0)
		return -1;
	return helper_server_start(&srv, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	return 0;
}

/* Posts json and decodes the ack; asserts 200. */
static void post_ack(const char *token, const char *json, struct tb_ack *ack)
{
	struct helper_server_resp r;
	char msg[256] = "";

	assert_int_equal(helper_server_post(&srv, token, json, &r), 0);
	if (r.status != 200)
		fprintf(stderr, "unexpected %ld: %s\n", r.status, r.body);
	assert_int_equal(r.status, 200);
	tb_ack_init(ack);
	assert_int_equal(tb_ack_decode(r.body, r.len, ack, msg, sizeof(msg)), 0);
	helper_server_resp_free(&r);
}

/* Posts json and expects an error status; returns the decoded body. */
static void post_error(const char *token, const char *json, long status,
		       const char *code, struct tb_error_body *e)
{
	struct helper_server_resp r;

	assert_int_equal(helper_server_post(&srv, token, json, &r), 0);
	if (r.status != status)
		fprintf(stderr, "unexpected %ld: %s\n", r.status, r.body);
	assert_int_equal(r.status, status);
	assert_int_equal(tb_error_decode(r.body, r.len, e), 0);
	assert_int_equal(e->status, status);
	assert_string_equal(e->code, code);
	helper_server_resp_free(&r);
}

static int64_t count(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int64_t count(const char *fmt, ...)
{
	char sql[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return helper_server_count(&srv, sql);
}

/* Runs `export` with args and returns stdout (malloc'd). */
static char *export_text(const char *const *args)
{
	char *out = malloc(1 << 20);

	assert_non_null(out);
	assert_int_equal(helper_server_run(&srv, out, 1 << 20, args), 0);
	return out;
}

/* The exported object with this id, from a JSON export, or NULL. */
static cJSON *find_event(cJSON *arr, const char *id)
{
	cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");

		if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0)
			return o;
	}
	return NULL;
}

/* One outreach event object (no leading comma). */
static void event_json(char *buf, size_t len, const char *id, int64_t seq,
		       int revision, const char *title, int voided)
{
	snprintf(buf, len,
		 "{\"id\":\"%s\",\"seq\":%lld,\"kind\":\"outreach\","
		 "\"date\":\"2025-11-20\",\"revision\":%d,"
		 "\"recorded_at\":\"2025-11-21T08:00:00Z\",%s\"title\":\"%s\","
		 "\"parents\":5}",
		 id, (long long)seq, revision,
		 voided ? "\"voided\":true,\"void_reason\":\"entered twice\","
			: "",
		 title);
}

static void envelope(char *buf, size_t len, const char *device,
		     const char *school, int64_t first, int64_t last,
		     const char *events)
{
	snprintf(buf, len, "{\"version\":1,\"device\":\"%s\",\"school\":\"%s\","
		 "\"first_seq\":%lld,\"last_seq\":%lld,\"events\":[%s]}",
		 device, school, (long long)first, (long long)last, events);
}

static void test_healthz(void **state)
{
	struct helper_server_resp r;

	(void)state;
	assert_int_equal(helper_server_request(&srv, "GET", "/healthz", NULL,
					       NULL, NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 200);
	/* the disk and the certificate too (PROTOCOL.md, GET /healthz); on
	 * PostgreSQL the disk is the database server's, out of sight: the
	 * database's size instead, and the check said to be skipped */
	if (helper_server_is_pg(&srv))
		assert_non_null(strstr(r.body, "{\"status\":\"ok\","
			"\"database_size_mb\":"));
	else
		assert_true(strncmp(r.body, "{\"status\":\"ok\","
				    "\"disk_free_mb\":", 30) == 0);
	if (helper_server_is_pg(&srv))
		assert_non_null(strstr(r.body, ",\"disk_check\":\"skipped: "));
	assert_non_null(strstr(r.body, ",\"cert_not_after\":\""));
	assert_non_null(strstr(r.body, ",\"cert_days_left\":"));
	helper_server_resp_free(&r);
}

static void test_upload_replay(void **state)
{
	char token[65], *json, *before, *after;
	const char *exp[] = { "export", "--school", "HB-101", "--format", "json",
			      NULL };
	struct tb_ack ack;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-101", "HB-LS", token), 0);
	json = helper_server_batch(DEV1, "HB-101", 1, 3, 0x101, 1, 0);
	post_ack(token, json, &ack);
	assert_string_equal(ack.device, DEV1);
	assert_int_equal(ack.committed_through, 3);
	assert_int_equal(ack.accepted, 3);
	assert_int_equal(ack.duplicates, 0);
	assert_int_equal(ack.nrejected, 0);
	tb_ack_clear(&ack);
	assert_int_equal(count("SELECT count(*) FROM events WHERE school='%s'",
			       "HB-101"), 3);
	assert_int_equal(count("SELECT count(*) FROM event_history h JOIN events e "
			       "ON e.id = h.id WHERE e.school='%s'", "HB-101"), 3);
	assert_int_equal(count("SELECT committed_through FROM cursors WHERE "
			       "device='%s'", DEV1), 3);
	/* the upload is the device's last contact: an integer time within
	 * the last minute (the dashboard's "not synced for 14 days") */
	if (helper_server_is_pg(&srv)) /* a BIGINT column: an integer */
		assert_int_equal(count("SELECT count(*) FROM devices WHERE"
				       " device='%s' AND last_seen > extract("
				       "epoch FROM now()) - 60", DEV1), 1);
	else
		assert_int_equal(count("SELECT count(*) FROM devices WHERE"
				       " device='%s' AND typeof(last_seen) ="
				       " 'integer' AND last_seen >"
				       " strftime('%%s','now') - 60", DEV1), 1);

	before = export_text(exp);
	post_ack(token, json, &ack); /* the same batch again */
	assert_int_equal(ack.committed_through, 3);
	assert_int_equal(ack.accepted, 0);
	assert_int_equal(ack.duplicates, 3);
	assert_int_equal(ack.nrejected, 0);
	tb_ack_clear(&ack);
	after = export_text(exp);
	assert_string_equal(before, after);
	assert_int_equal(count("SELECT count(*) FROM event_history h JOIN events e "
			       "ON e.id = h.id WHERE e.school='%s'", "HB-101"), 3);

	/* Partial overlap: 2..5 when 3 is held: 2, 3 duplicates, 4, 5 new. */
	free(json);
	json = helper_server_batch(DEV1, "HB-101", 2, 4, 0x101, 1, 0);
	post_ack(token, json, &ack);
	assert_int_equal(ack.committed_through, 5);
	assert_int_equal(ack.accepted, 2);
	assert_int_equal(ack.duplicates, 2);
	tb_ack_clear(&ack);
	assert_int_equal(count("SELECT count(*) FROM events WHERE school='%s'",
			       "HB-101"), 5);
	free(before);
	free(after);
	free(json);
}

static void test_amend_and_void(void **state)
{
	char token[65], id1[37], id2[37], ev[2][512], events[1100];
	char json[2048], *out;
	const char *exp[] = { "export", "--school", "HB-111", "--format", "json",
			      NULL };
	const char *expv[] = { "export", "--school", "HB-111", "--format",
			       "json", "--include-voided", NULL };
	struct tb_ack ack;
	cJSON *arr, *o;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-111", "HB-LS", token), 0);
	helper_server_id(0x111, 1, id1);
	helper_server_id(0x111, 2, id2);
	event_json(ev[0], sizeof(ev[0]), id1, 1, 1, "first", 0);
	event_json(ev[1], sizeof(ev[1]), id2, 2, 1, "second", 0);
	snprintf(events, sizeof(events), "%s,%s", ev[0], ev[1]);
	envelope(json, sizeof(json), DEV2, "HB-111", 1, 2, events);
	post_ack(token, json, &ack);
	assert_int_equal(ack.accepted, 2);
	tb_ack_clear(&ack);

	/* Revision 2 of id1 (amended), revision 2 of id2 (voided). */
	event_json(ev[0], sizeof(ev[0]), id1, 3, 2, "amended", 0);
	event_json(ev[1], sizeof(ev[1]), id2, 4, 2, "second", 1);
	snprintf(events, sizeof(events), "%s,%s", ev[0], ev[1]);
	envelope(json, sizeof(json), DEV2, "HB-111", 3, 4, events);
	post_ack(token, json, &ack);
	assert_int_equal(ack.accepted, 2);
	assert_int_equal(ack.committed_through, 4);
	tb_ack_clear(&ack);

	out = export_text(exp);
	arr = cJSON_Parse(out);
	assert_non_null(arr);
	assert_int_equal(cJSON_GetArraySize(arr), 1); /* id2 is voided */
	o = find_event(arr, id1);
	assert_non_null(o);
	assert_int_equal(cJSON_GetObjectItem(o, "revision")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItem(o, "title")->valuestring,
			    "amended");
	assert_null(find_event(arr, id2));
	cJSON_Delete(arr);
	free(out);

	out = export_text(expv);
	arr = cJSON_Parse(out);
	assert_non_null(arr);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	o = find_event(arr, id2);
	assert_non_null(o);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "voided")));
	assert_string_equal(cJSON_GetObjectItem(o, "void_reason")->valuestring,
			    "entered twice");
	cJSON_Delete(arr);
	free(out);

	/* History keeps both revisions of each id. */
	assert_int_equal(count("SELECT count(*) FROM event_history WHERE id='%s'",
			       id1), 2);
	assert_int_equal(count("SELECT count(*) FROM event_history WHERE id='%s'"
			       " AND revision=1 AND fields LIKE '%%\"first\"%%'",
			       id1), 1);

	/* A late revision 1 after revision 2 is a duplicate, not a rollback. */
	event_json(ev[0], sizeof(ev[0]), id1, 5, 1, "first", 0);
	envelope(json, sizeof(json), DEV2, "HB-111", 5, 5, ev[0]);
	post_ack(token, json, &ack);
	assert_int_equal(ack.accepted, 0);
	assert_int_equal(ack.duplicates, 1);
	tb_ack_clear(&ack);
	assert_int_equal(count("SELECT revision FROM events WHERE id='%s'", id1),
			 2);
}

static void test_rejections(void **state)
{
	char token[65], token2[65], id[37], other[37], ev[3][512];
	char events[1600], json[2400];
	struct tb_ack ack;
	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-121", "HB-LS", token), 0);
	assert_int_equal(helper_server_enroll(&srv, "HB-122", "HB-LS", token2),
			 0);
	helper_server_id(0x121, 1, id);
	helper_server_id(0x121, 2, other);
	/* seq 1 valid; seq 2 breaks a rule (female > participants); seq 3
	 * valid. */
	event_json(ev[0], sizeof(ev[0]), id, 1, 1, "ok", 0);
	snprintf(ev[1], sizeof(ev[1]),
		 "{\"id\":\"%s\",\"seq\":2,\"kind\":\"training\",\"date\":"
		 "\"2025-11-21\",\"revision\":1,\"recorded_at\":"
		 "\"2025-11-22T09:00:00Z\",\"title\":\"t\",\"topic\":\"x\","
		 "\"participants\":10,\"female\":12}", other);
	helper_server_id(0x121, 3, other);
	event_json(ev[2], sizeof(ev[2]), other, 3, 1, "ok too", 0);
	snprintf(events, sizeof(events), "%s,%s,%s", ev[0], ev[1], ev[2]);
	envelope(json, sizeof(json), DEV3, "HB-121", 1, 3, events);
	post_ack(token, json, &ack);
	assert_int_equal(ack.committed_through, 3);
	assert_int_equal(ack.accepted, 2);
	assert_int_equal(ack.nrejected, 1);
	assert_int_equal(ack.rejected[0].seq, 2);
	assert_non_null(strstr(ack.rejected[0].reason, "female"));
	tb_ack_clear(&ack);
	assert_int_equal(count("SELECT count(*) FROM rejections WHERE "
			       "school='%s'", "HB-121"), 1);

	/* Same id and revision, different content: rejected, current kept. */
	event_json(ev[0], sizeof(ev[0]), id, 4, 1, "changed", 0);
	envelope(json, sizeof(json), DEV3, "HB-121", 4, 4, ev[0]);
	post_ack(token, json, &ack);
	assert_int_equal(ack.accepted, 0);
	assert_int_equal(ack.nrejected, 1);
	assert_non_null(strstr(ack.rejected[0].reason, "different content"));
	assert_int_equal(ack.committed_through, 4);
	tb_ack_clear(&ack);
	assert_int_equal(count("SELECT count(*) FROM" TB_EVROW_FROM " WHERE"
			       " e.id='%s' AND h.fields LIKE '%%\"ok\"%%'", id),
			 1);

	/* Another school's token sending an id HB-121 holds: rejected. */
	event_json(ev[0], sizeof(ev[0]), id, 1, 2, "hijack", 0);
	envelope(json, sizeof(json), DEV4, "HB-122", 1, 1, ev[0]);
	post_ack(token2, json, &ack);
	assert_int_equal(ack.accepted, 0);
	assert_int_equal(ack.nrejected, 1);
	assert_non_null(strstr(ack.rejected[0].reason, "another school"));
	tb_ack_clear(&ack);
	assert_int_equal(count("SELECT revision FROM events WHERE id='%s'", id),
			 1);
	assert_int_equal(count("SELECT count(*) FROM events WHERE school='%s'",
			       "HB-122"), 0);
}

/* The cursor precondition (Tienbo-After): equal to the cursor, the batch
 * is merged; lower or higher, 409 cursor_mismatch with the server's
 * cursor + 1 and nothing stored; malformed, 400 naming the header;
 * absent, as before. Expected counts come from the batches posted here. */
static void test_cursor_precondition(void **state)
{
	static const char *const bad[] = { "Tienbo-After: x",
					   "Tienbo-After: -1",
					   "Tienbo-After: 9007199254740992",
					   "Tienbo-After: 2 3" };
	char token[65], *json;
	struct tb_error_body e;
	struct tb_ack ack;
	size_t i;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-191", "HB-LS", token), 0);
	srv.extra_header = "Tienbo-After: 0";
	json = helper_server_batch(DEV19, "HB-191", 1, 2, 0x141, 1, 0);
	post_ack(token, json, &ack);
	assert_int_equal(ack.committed_through, 2);
	tb_ack_clear(&ack);
	free(json);

	json = helper_server_batch(DEV19, "HB-191", 3, 2, 0x141, 1, 0);
	srv.extra_header = "Tienbo-After: 1"; /* lower: a lost ack */
	post_error(token, json, 409, "cursor_mismatch", &e);
	assert_int_equal(e.expected_seq, 3);
	srv.extra_header = "Tienbo-After: 7"; /* higher: a restored server */
	post_error(token, json, 409, "cursor_mismatch", &e);
	assert_int_equal(e.expected_seq, 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		srv.extra_header = bad[i];
		post_error(token, json, 400, "bad_request", &e);
		assert_non_null(strstr(e.message, "Tienbo-After"));
	}
	assert_int_equal(count("SELECT count(*) FROM events WHERE school='%s'",
			       "HB-191"), 2);

	srv.extra_header = "Tienbo-After: 2";
	post_ack(token, json, &ack);
	assert_int_equal(ack.committed_through, 4);
	tb_ack_clear(&ack);
	/* the same batch again with the same, now stale, After: its ack was
	 * lost (or libcurl resent it on a dead connection); every event is
	 * held as sent, so it is duplicates, not a mismatch */
	post_ack(token, json, &ack);
	assert_int_equal(ack.duplicates, 2);
	assert_int_equal(ack.committed_through, 4);
	tb_ack_clear(&ack);
	srv.extra_header = NULL; /* absent: a resend is duplicates, as before */
	post_ack(token, json, &ack);
	assert_int_equal(ack.duplicates, 2);
	tb_ack_clear(&ack);
	free(json);
	/* same seqs, other content, stale After: not a resend (a restored
	 * agent reusing seqs) -- 409, nothing stored */
	json = helper_server_batch(DEV19, "HB-191", 3, 2, 0x142, 1, 0);
	srv.extra_header = "Tienbo-After: 2";
	post_error(token, json, 409, "cursor_mismatch", &e);
	assert_int_equal(e.expected_seq, 5);
	srv.extra_header = NULL;
	free(json);
	assert_int_equal(count("SELECT count(*) FROM events WHERE school='%s'",
			       "HB-191"), 4);
}

static void test_gap_school_device(void **state)
{
	char token[65], *json;
	struct tb_error_body e;
	struct tb_ack ack;
	int64_t events_before;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-131", "HB-LS", token), 0);
	json = helper_server_batch(DEV5, "HB-131", 1, 2, 0x131, 1, 0);
	post_ack(token, json, &ack);
	tb_ack_clear(&ack);
	free(json);
	events_before = count("SELECT count(*) FROM events WHERE school='%s'",
			      "HB-131");
	assert_int_equal(events_before, 2);

	/* 409: first_seq 10 when 2 is held. */
	json = helper_server_batch(DEV5, "HB-131", 10, 2, 0x131, 1, 0);
	post_error(token, json, 409, "sequence_gap", &e);
	assert_int_equal(e.expected_seq, 3);
	free(json);

	/* 403: another school in the batch. */
	json = helper_server_batch(DEV5, "HB-101", 3, 1, 0x131, 1, 0);
	post_error(token, json, 403, "forbidden", &e);
	assert_int_equal(e.expected_seq, -1);
	free(json);

	/* 403: the token is bound to DEV5; DEV1 with it is refused. */
	json = helper_server_batch(DEV1, "HB-131", 1, 1, 0x131, 1, 0);
	post_error(token, json, 403, "forbidden", &e);
	free(json);

	assert_int_equal(count("SELECT count(*) FROM events WHERE school='%s'",
			       "HB-131"), events_before);
	assert_int_equal(count("SELECT committed_through FROM cursors WHERE "
			       "device='%s'", DEV5), 2);
}

static void test_cursor(void **state)
{
	char token[65], token2[65], path[128], *json;
	struct helper_server_resp r;
	struct tb_ack ack;
	char dev[TB_ID_LEN];
	int64_t through = -1;
	const char *d6 = "6f1c2a9e-3b4d-4c5e-8f70-000000000006";

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-141", "HB-LS", token), 0);
	assert_int_equal(helper_server_enroll(&srv, "HB-142", "HB-LS", token2),
			 0);
	snprintf(path, sizeof(path), "/v1/cursor?device=%s", d6);
	assert_int_equal(helper_server_request(&srv, "GET", path, token, NULL,
					       NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(tb_cursor_decode(r.body, r.len, dev, &through), 0);
	assert_int_equal(through, 0);
	helper_server_resp_free(&r);

	json = helper_server_batch(d6, "HB-141", 1, 7, 0x141, 1, 0);
	post_ack(token, json, &ack);
	tb_ack_clear(&ack);
	free(json);
	assert_int_equal(helper_server_request(&srv, "GET", path, token, NULL,
					       NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(tb_cursor_decode(r.body, r.len, dev, &through), 0);
	assert_string_equal(dev, d6);
	assert_int_equal(through, 7);
	helper_server_resp_free(&r);

	/* Another school's token may not read this device's cursor. */
	assert_int_equal(helper_server_request(&srv, "GET", path, token2, NULL,
					       NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 403);
	helper_server_resp_free(&r);
	/* No token: 401; bad device: 400. */
	assert_int_equal(helper_server_request(&srv, "GET", path, NULL, NULL,
					       NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 401);
	helper_server_resp_free(&r);
	assert_int_equal(helper_server_request(&srv, "GET",
					       "/v1/cursor?device=nope", token,
					       NULL, NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 400);
	helper_server_resp_free(&r);
}

static void test_export_csv_and_district(void **state)
{
	char token[65], *json, *out, *p;
	const char *csv[] = { "export", "--school", "HB-151", "--format", "csv",
			      NULL };
	const char *dist[] = { "export", "--district", "HB-KS", "--format",
			       "json", NULL };
	const char *bad[] = { "export", "--school", "NO-SUCH", "--format",
			      "json", NULL };
	struct tb_ack ack;
	cJSON *arr, *o;
	int lines = 0;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-151", "HB-KS", token), 0);
	json = helper_server_batch("6f1c2a9e-3b4d-4c5e-8f70-000000000007",
				   "HB-151", 1, 4, 0x151, 1, 0);
	post_ack(token, json, &ack);
	tb_ack_clear(&ack);
	free(json);

	out = export_text(csv);
	assert_memory_equal(out, "\xEF\xBB\xBFkind,id,school,date,revision,"
			    "voided,", 38);
	for (p = out; (p = strstr(p, "\r\n")) != NULL; p += 2)
		lines++;
	assert_int_equal(lines, 5); /* header + 4 events */
	assert_non_null(strstr(out, "\r\noutreach,"));
	assert_non_null(strstr(out, ",event 3 r1,3,"));
	free(out);

	/* The district HB-KS holds only HB-151's four events. */
	out = export_text(dist);
	arr = cJSON_Parse(out);
	assert_non_null(arr);
	assert_int_equal(cJSON_GetArraySize(arr), 4);
	cJSON_ArrayForEach(o, arr)
		assert_string_equal(cJSON_GetObjectItem(o, "school")->valuestring,
				    "HB-151");
	cJSON_Delete(arr);
	free(out);

	assert_int_equal(helper_server_run(&srv, NULL, 0, bad), 65);
}

static void test_admin_http(void **state)
{
	char out[512], token[65], admin[65], prefix[13], fresh[65], *last;
	const char *args[] = { "admin-token", NULL };
	struct helper_server_resp r;
	cJSON *arr;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-161", "HB-LS", token), 0);
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), args), 0);
	while (strlen(out) && out[strlen(out) - 1] == '\n')
		out[strlen(out) - 1] = '\0';
	last = strrchr(out, '\n');
	snprintf(admin, sizeof(admin), "%s", last ? last + 1 : out);
	assert_int_equal(strlen(admin), 64);

	assert_int_equal(helper_server_request(&srv, "GET",
					       "/v1/admin/devices?school=HB-161",
					       admin, NULL, NULL, NULL, 0, 0, &r),
			 0);
	assert_int_equal(r.status, 200);
	arr = cJSON_Parse(r.body);
	assert_non_null(arr);
	assert_int_equal(cJSON_GetArraySize(arr), 1);
	memcpy(prefix, token, 12);
	prefix[12] = '\0';
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0),
						"token_prefix")->valuestring,
			    prefix);
	cJSON_Delete(arr);
	helper_server_resp_free(&r);

	/* A device token is not an admin token. */
	assert_int_equal(helper_server_request(&srv, "GET", "/v1/admin/devices",
					       token, NULL, NULL, NULL, 0, 0, &r),
			 0);
	assert_int_equal(r.status, 401);
	helper_server_resp_free(&r);

	/* Enroll over HTTP: the new token works at once. */
	assert_int_equal(helper_server_request(&srv, "POST",
		"/v1/admin/enroll?school=HB-163&name=THCS%20M%E1%BB%9Bi"
		"&district=HB-LS&level=THCS", admin, NULL, NULL, NULL, 0, 0, &r),
			 0);
	assert_int_equal(r.status, 200);
	arr = cJSON_Parse(r.body);
	assert_non_null(arr);
	snprintf(fresh, sizeof(fresh), "%s",
		 cJSON_GetObjectItem(arr, "token")->valuestring);
	assert_int_equal(strlen(fresh), 64);
	cJSON_Delete(arr);
	helper_server_resp_free(&r);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM units "
					     "WHERE code='HB-163' AND name="
					     "'THCS Mới' AND level='THCS'"), 1);
	assert_int_equal(helper_server_request(&srv, "GET",
		"/v1/cursor?device=6f1c2a9e-3b4d-4c5e-8f70-000000000163", fresh,
		NULL, NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 200);
	helper_server_resp_free(&r);

	/* Revoke over HTTP; the device token then gets 401. */
	assert_int_equal(helper_server_request(&srv, "POST",
					       "/v1/admin/revoke?school=HB-161",
					       admin, NULL, NULL, NULL, 0, 0, &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"revoked\":1}");
	helper_server_resp_free(&r);
	assert_int_equal(helper_server_request(&srv, "GET",
		"/v1/cursor?device=6f1c2a9e-3b4d-4c5e-8f70-000000000008", token,
		NULL, NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 401);
	helper_server_resp_free(&r);
}

/* A replaced token (revoked, a new one enrolled for the same school) goes
 * on from the device's cursor; the old token is refused. */
static void test_token_rotation(void **state)
{
	char t1[65], t2[65], *json;
	const char *dev = "6f1c2a9e-3b4d-4c5e-8f70-000000000171";
	char prefix[13];
	const char *rev[] = { "revoke", "--token-prefix", prefix, NULL };
	struct tb_error_body e;
	struct tb_ack ack;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-171", "HB-LS", t1), 0);
	json = helper_server_batch(dev, "HB-171", 1, 3, 0x171, 1, 0);
	post_ack(t1, json, &ack);
	tb_ack_clear(&ack);
	free(json);
	memcpy(prefix, t1, 12);
	prefix[12] = '\0';
	assert_int_equal(helper_server_run(&srv, NULL, 0, rev), 0);
	assert_int_equal(helper_server_enroll(&srv, "HB-171", "HB-LS", t2), 0);
	json = helper_server_batch(dev, "HB-171", 4, 2, 0x171, 1, 0);
	post_error(t1, json, 401, "unauthorized", &e);
	post_ack(t2, json, &ack);
	assert_int_equal(ack.accepted, 2);
	assert_int_equal(ack.committed_through, 5);
	tb_ack_clear(&ack);
	free(json);
	/* Another school's token cannot take the device over. */
	assert_int_equal(helper_server_enroll(&srv, "HB-172", "HB-LS", t1), 0);
	json = helper_server_batch(dev, "HB-172", 6, 1, 0x172, 1, 0);
	post_error(t1, json, 403, "forbidden", &e);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_upload_replay),
		cmocka_unit_test(test_amend_and_void),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_gap_school_device),
		cmocka_unit_test(test_cursor_precondition),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_export_csv_and_district),
		cmocka_unit_test(test_admin_http),
		cmocka_unit_test(test_token_rotation),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
