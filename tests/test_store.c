/* test_store.c - the agent's store (agent/store.c, agent/schema.c) on a
 * real SQLite file in a temporary directory: recording, revisions, the
 * stored wire JSON, the streaming pending walk and acknowledgements the
 * sync engine uses, sync bookkeeping, transactions, and the schema:
 * upgrade of a version-1 file kept by hand (tests/data/agent/store_v1.sql),
 * refusal of a newer or a foreign file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "agent/schema.h"
#include "agent/store.h"
#include "agent/sync.h"
#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "tests/helper_proc.h"

#define DEVICE "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define V1_DEVICE "5f0c2f9e-1a2b-4c3d-8e4f-0123456789ab"
#define V1_FIRST "11111111-2222-4333-8444-555555555501"

struct fixture {
	struct helper_proc_sandbox sb;
	char path[400];
	struct tb_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char msg[512];

	if (!f || helper_proc_sandbox_make(&f->sb) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/agent.db", f->sb.dir);
	if (tb_store_open(f->path, TB_STORE_CREATE, &f->s, msg, sizeof(msg)) ||
	    tb_store_set_identity(f->s, DEVICE, "HB-001"))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tb_store_close(f->s);
	helper_proc_sandbox_remove(&f->sb);
	free(f);
	return 0;
}

/* A fresh sandbox without a store (schema tests make their own file). */
static int setup_bare(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || helper_proc_sandbox_make(&f->sb) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/agent.db", f->sb.dir);
	*state = f;
	return 0;
}

static void set(struct tb_event *e, const char *name, const char *text)
{
	char msg[TB_MSG_LEN];

	assert_int_equal(tb_event_set(e, name, text, msg, sizeof(msg)), 0);
}

/* Records an outreach event dated `date` with `parents`; returns its seq
 * and copies its id. */
static int64_t record_outreach(struct tb_store *s, const char *date,
			       const char *parents, char *id)
{
	struct tb_event e;
	int64_t seq;

	tb_event_init(&e, TB_KIND_OUTREACH);
	assert_int_equal(tb_date_parse(date, &e.date), 0);
	set(&e, "title", "Họp phụ huynh");
	set(&e, "parents", parents);
	assert_int_equal(tb_store_record(s, &e), 0);
	if (id)
		memcpy(id, e.id, TB_ID_LEN);
	seq = e.seq;
	tb_event_clear(&e);
	return seq;
}

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ---- recording and reading ---------------------------------------------- */

static int count_row(void *arg, const struct tb_store_row *row)
{
	(void)row;
	(*(int *)arg)++;
	return 0;
}

static void test_record_get_list(void **state)
{
	struct fixture *f = *state;
	struct tb_store_filter flt;
	struct tb_event e, got;
	enum tb_store_state st;
	char id1[TB_ID_LEN], want[TB_ID_LEN], buf[64];
	int n;

	assert_int_equal(record_outreach(f->s, "2025-11-20", "40", id1), 1);
	/* The id is derived from the device and the first seq. */
	assert_int_equal(tb_uuid_for_device(DEVICE, 1, want), 0);
	assert_string_equal(id1, want);

	tb_event_init(&e, TB_KIND_TRAINING);
	assert_int_equal(tb_date_parse("2025-03-08", &e.date), 0);
	set(&e, "title", "Tập huấn \"kỹ năng\" \\ 1/2");
	set(&e, "participants", "12");
	set(&e, "female", "9");
	assert_int_equal(tb_store_record(f->s, &e), 0);
	assert_int_equal(e.seq, 2);
	assert_int_equal(e.revision, 1);
	assert_string_equal(e.school, "HB-001");
	assert_string_equal(e.device, DEVICE);
	assert_true(e.recorded_at > 1700000000);

	assert_int_equal(tb_store_get(f->s, e.id, &got, &st), 0);
	assert_int_equal(st, TB_STATE_PENDING);
	assert_int_equal(got.kind, TB_KIND_TRAINING);
	assert_int_equal(got.date, e.date);
	assert_int_equal(got.seq, 2);
	assert_string_equal(got.school, "HB-001");
	assert_string_equal(tb_event_get(&got, tb_field_index(got.kind,
							      "female"),
					 buf, sizeof(buf)), "9");
	assert_string_equal(tb_event_get(&got, tb_field_index(got.kind,
							      "title"),
					 buf, sizeof(buf)),
			    "Tập huấn \"kỹ năng\" \\ 1/2");
	tb_event_clear(&got);
	tb_event_clear(&e);

	tb_store_filter_init(&flt);
	n = 0;
	assert_int_equal(tb_store_list(f->s, &flt, count_row, &n), 0);
	assert_int_equal(n, 2);
	flt.kind = TB_KIND_OUTREACH;
	n = 0;
	assert_int_equal(tb_store_list(f->s, &flt, count_row, &n), 0);
	assert_int_equal(n, 1);
	tb_store_filter_init(&flt);
	flt.has_from = 1;
	assert_int_equal(tb_date_parse("2025-11-01", &flt.from), 0);
	n = 0;
	assert_int_equal(tb_store_list(f->s, &flt, count_row, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tb_store_get(f->s, DEVICE, &got, NULL), TB_ENOTFOUND);
	/* The fields column is JSON of the set fields only. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM queue WHERE "
				 "seq = 2 AND json_valid(fields) AND "
				 "json_extract(fields, '$.title') = "
				 "'Tập huấn \"kỹ năng\" \\ 1/2' AND "
				 "json_extract(fields, '$.female') = 9 AND "
				 "json_type(fields, '$.topic') IS NULL"), 1);
}

/* A pending row, as the batch writer encodes it, is the codec's event
 * object less school and device, with seq; bytes waiting are its length. */
struct wire_seen {
	int64_t seq[8];
	char *json[8];
	size_t n, bytes;
};

static int collect_wire(void *arg, const struct tb_event *e, size_t len)
{
	struct wire_seen *w = arg;
	struct tb_buf b = TB_BUF_INIT;

	assert_int_equal(tb_event_write(&b, e), 0);
	assert_int_equal(b.len, len);
	w->seq[w->n] = e->seq;
	w->json[w->n] = strdup(b.p);
	w->n++;
	w->bytes += len;
	tb_buf_free(&b);
	return 0;
}

static void free_wire(struct wire_seen *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->json[i]);
	memset(w, 0, sizeof(*w));
}

static void test_wire_json(void **state)
{
	struct fixture *f = *state;
	struct wire_seen w = { 0 };
	struct tb_event e;
	cJSON *stored, *expect;
	int64_t bytes;
	char id[TB_ID_LEN], *text;

	record_outreach(f->s, "2025-11-20", "40", id);
	assert_int_equal(tb_store_pending_each(f->s, 0, 10, 1 << 20,
					       collect_wire, &w, NULL, NULL),
			 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.seq[0], 1);
	stored = cJSON_Parse(w.json[0]);
	assert_non_null(stored);
	assert_null(cJSON_GetObjectItem(stored, "school"));
	assert_null(cJSON_GetObjectItem(stored, "device"));
	assert_int_equal(cJSON_GetObjectItem(stored, "seq")->valuedouble, 1);
	assert_string_equal(cJSON_GetObjectItem(stored, "id")->valuestring, id);
	assert_int_equal(cJSON_GetObjectItem(stored, "parents")->valuedouble,
			 40);
	/* Byte for byte what the codec prints, once school and device go. */
	assert_int_equal(tb_store_get(f->s, id, &e, NULL), 0);
	expect = tb_event_to_json(&e);
	cJSON_DeleteItemFromObject(expect, "school");
	cJSON_DeleteItemFromObject(expect, "device");
	text = cJSON_PrintUnformatted(expect);
	assert_string_equal(w.json[0], text);
	cJSON_free(text);
	/* Compact: no blank outside strings. */
	assert_null(strstr(w.json[0], "\": "));
	assert_int_equal(tb_store_pending_bytes(f->s, &bytes), 0);
	assert_int_equal(bytes, (int64_t)strlen(w.json[0]));
	cJSON_Delete(stored);
	cJSON_Delete(expect);
	tb_event_clear(&e);
	free_wire(&w);
}

static void test_amend_void(void **state)
{
	struct fixture *f = *state;
	struct tb_store_filter flt;
	struct tb_event e, v;
	char id[TB_ID_LEN], buf[32];
	int n = 0;

	record_outreach(f->s, "2025-11-20", "40", id);
	record_outreach(f->s, "2025-11-21", "5", NULL);
	assert_int_equal(tb_store_get(f->s, id, &e, NULL), 0);
	set(&e, "parents", "45");
	/* Not the next revision: refused, nothing written. */
	e.revision = 3;
	assert_int_equal(tb_store_amend(f->s, &e), TB_ECONFLICT);
	e.revision = 2;
	assert_int_equal(tb_store_amend(f->s, &e), 0);
	assert_int_equal(e.seq, 3);
	assert_int_equal(tb_store_history(f->s, id, count_row, &n), 0);
	assert_int_equal(n, 2);
	tb_event_clear(&e);

	assert_int_equal(tb_store_void(f->s, id, "entered twice", &v), 0);
	assert_int_equal(v.revision, 3);
	assert_int_equal(v.seq, 4);
	assert_true(v.voided);
	assert_string_equal(v.void_reason, "entered twice");
	assert_string_equal(tb_event_get(&v, tb_field_index(v.kind, "parents"),
					 buf, sizeof(buf)), "45");
	tb_event_clear(&v);
	assert_int_equal(tb_store_void(f->s, id, "again", NULL), TB_ECONFLICT);
	assert_int_equal(tb_store_void(f->s, id, "", NULL), TB_EINVAL);
	assert_int_equal(tb_store_get(f->s, id, &e, NULL), 0);
	e.voided = 0;
	tb_free(e.void_reason);
	e.void_reason = NULL;
	e.revision++;
	assert_int_equal(tb_store_amend(f->s, &e), TB_ECONFLICT);
	assert_non_null(strstr(tb_store_errmsg(f->s), "voided"));
	tb_event_clear(&e);

	tb_store_filter_init(&flt);
	flt.include_voided = 0;
	n = 0;
	assert_int_equal(tb_store_list(f->s, &flt, count_row, &n), 0);
	assert_int_equal(n, 1);
}

static void test_bad_event_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct tb_event e;
	int64_t last;

	record_outreach(f->s, "2025-11-20", "40", NULL);
	tb_event_init(&e, TB_KIND_TRAINING);
	assert_int_equal(tb_date_parse("2025-11-21", &e.date), 0);
	set(&e, "title", "x");
	set(&e, "participants", "10");
	set(&e, "female", "12");
	assert_int_equal(tb_store_record(f->s, &e), TB_EINVAL);
	assert_string_equal(tb_store_errmsg(f->s),
			    "female: must not exceed participants (12 > 10)");
	assert_int_equal(e.seq, 0);
	tb_event_clear(&e);
	assert_int_equal(tb_store_last_seq(f->s, &last), 0);
	assert_int_equal(last, 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM queue"), 1);
}

/* ---- the sync engine's side --------------------------------------------- */

static int stop_at_second(void *arg, const struct tb_event *e, size_t len)
{
	(void)e;
	(void)len;
	return ++*(int *)arg == 2 ? 7 : 0;
}

static void test_pending_walk_and_acks(void **state)
{
	struct fixture *f = *state;
	struct wire_seen w = { 0 };
	struct tb_ack ack;
	int64_t count, changed, at, seq;
	size_t rows, bytes;
	int calls = 0;

	for (int i = 0; i < 5; i++)
		record_outreach(f->s, "2025-11-20", "1", NULL);
	assert_int_equal(tb_store_pending_count(f->s, &count), 0);
	assert_int_equal(count, 5);

	assert_int_equal(tb_store_pending_each(f->s, 0, 2, 1 << 20,
					       collect_wire, &w, &rows, &bytes),
			 0);
	assert_int_equal(rows, 2);
	assert_int_equal(w.seq[0], 1);
	assert_int_equal(w.seq[1], 2);
	assert_int_equal(bytes, w.bytes);
	/* A byte cap below one row still hands over the first row. */
	free_wire(&w);
	assert_int_equal(tb_store_pending_each(f->s, 3, 10, 1, collect_wire,
					       &w, &rows, NULL), 0);
	assert_int_equal(rows, 1);
	assert_int_equal(w.seq[0], 4);
	/* Room for exactly two rows of this size. */
	free_wire(&w);
	assert_int_equal(tb_store_pending_each(f->s, 0, 1, 1 << 20,
					       collect_wire, &w, NULL, NULL),
			 0);
	bytes = w.bytes;
	free_wire(&w);
	assert_int_equal(tb_store_pending_each(f->s, 0, 10, 2 * bytes + 1,
					       collect_wire, &w, &rows, NULL),
			 0);
	assert_int_equal(rows, 2);
	free_wire(&w);
	assert_int_equal(tb_store_pending_each(f->s, 0, 10, 1 << 20,
					       stop_at_second, &calls, &rows,
					       NULL), 7);
	assert_int_equal(calls, 2);

	assert_int_equal(tb_store_mark_sent(f->s, 2, &changed), 0);
	assert_int_equal(changed, 2);
	tb_ack_init(&ack);
	ack.committed_through = 4;
	assert_int_equal(tb_ack_reject(&ack, "x", 3, "title: required"), 0);
	assert_int_equal(tb_store_apply_ack(f->s, &ack), 0);
	tb_ack_clear(&ack);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM queue WHERE "
				 "state = 2 AND seq = 3 AND reject_reason = "
				 "'title: required'"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM queue WHERE "
				 "state = 1"), 3);
	assert_int_equal(tb_store_pending_oldest(f->s, &at, &seq), 0);
	assert_int_equal(seq, 5);
	assert_true(at > 0);
	assert_int_equal(tb_store_mark_rejected(f->s, 99, "no"), TB_ENOTFOUND);

	/* The server went back to 2: rows 3.. are pending again. */
	assert_int_equal(tb_store_requeue(f->s, 3, &changed), 0);
	assert_int_equal(changed, 2);
	assert_int_equal(tb_store_pending_count(f->s, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM queue WHERE "
				 "reject_reason IS NOT NULL"), 0);
}

static void test_kv_and_status(void **state)
{
	struct fixture *f = *state;
	struct tb_store_status st;
	char *v = NULL;

	assert_int_equal(tb_store_kv_get(f->s, "sent_through", &v),
			 TB_ENOTFOUND);
	assert_int_equal(tb_store_kv_set(f->s, "sent_through", "12"), 0);
	assert_int_equal(tb_store_kv_get(f->s, "sent_through", &v), 0);
	assert_string_equal(v, "12");
	tb_free(v);
	assert_int_equal(tb_store_kv_set(f->s, "sent_through", NULL), 0);
	assert_int_equal(tb_store_kv_get(f->s, "sent_through", &v),
			 TB_ENOTFOUND);

	record_outreach(f->s, "2025-11-20", "1", NULL);
	record_outreach(f->s, "2025-11-21", "1", NULL);
	assert_int_equal(tb_store_mark_sent(f->s, 1, NULL), 0);
	assert_int_equal(tb_store_note_attempt(f->s, 1763881200), 0);
	assert_int_equal(tb_store_note_error(f->s, 1763881200,
					     "could not connect"), 0);
	assert_int_equal(tb_store_status(f->s, &st), 0);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.last_seq, 2);
	assert_int_equal(st.last_attempt, 1763881200);
	assert_int_equal(st.last_success, 0);
	assert_string_equal(st.last_error, "could not connect");
	assert_true(st.oldest_pending > 0);
	assert_int_equal(tb_store_note_success(f->s, 1763884800), 0);
	assert_int_equal(tb_store_status(f->s, &st), 0);
	assert_int_equal(st.last_success, 1763884800);
	assert_string_equal(st.last_error, "");
	assert_int_equal(st.last_error_at, 0);
	assert_int_equal(tb_store_check(f->s), 0);
}

static void test_transaction_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	int64_t last;

	record_outreach(f->s, "2025-11-20", "1", NULL);
	assert_int_equal(tb_store_begin(f->s), 0);
	assert_int_equal(tb_store_begin(f->s), TB_EINVAL);
	record_outreach(f->s, "2025-11-20", "2", NULL);
	record_outreach(f->s, "2025-11-20", "3", NULL);
	tb_store_rollback(f->s);
	assert_int_equal(tb_store_last_seq(f->s, &last), 0);
	assert_int_equal(last, 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM queue"), 1);

	assert_int_equal(tb_store_begin(f->s), 0);
	assert_int_equal(record_outreach(f->s, "2025-11-20", "2", NULL), 2);
	assert_int_equal(record_outreach(f->s, "2025-11-20", "3", NULL), 3);
	assert_int_equal(tb_store_commit(f->s), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM queue"), 3);
	/* Seqs stay consecutive, as batches need. */
	assert_int_equal(sql_int(f->path, "SELECT max(seq) - min(seq) + 1 "
				 "FROM queue"), 3);
}

static void test_resolve_id(void **state)
{
	struct fixture *f = *state;
	char id[TB_ID_LEN], out[TB_ID_LEN];

	for (int i = 0; i < 12; i++)
		record_outreach(f->s, "2025-11-20", "1", i == 10 ? id : NULL);
	assert_int_equal(tb_store_resolve_id(f->s, id, out), 0);
	assert_string_equal(out, id);
	/* The end of the 11th id: "...00000000000b". */
	assert_int_equal(tb_store_resolve_id(f->s, id + 30, out), 0);
	assert_string_equal(out, id);
	assert_int_equal(tb_store_resolve_id(f->s, "000000000", out),
			 TB_ECONFLICT);
	assert_int_equal(tb_store_resolve_id(f->s, "abc", out), TB_EINVAL);
	assert_int_equal(tb_store_resolve_id(f->s, "ffffffffff", out),
			 TB_ENOTFOUND);
}

/* ---- schema ------------------------------------------------------------- */

static void exec_file(const char *db_path, const char *sql_path)
{
	char *sql = helper_proc_read_file(sql_path, NULL);
	sqlite3 *db = NULL;
	char *err = NULL;

	assert_non_null(sql);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql_path, err);
	sqlite3_close(db);
	free(sql);
}

static void exec_sql(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* One text from a one-row query, malloc'd (caller frees). */
static char *sql_text(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_non_null(v);
	return v;
}

/* An upgraded store sends for its pending rows exactly the wire JSON the
 * old agent had stored for them (the column step 3 drops). */
static void check_old_wire_sent(struct tb_store *s, const char *old_events)
{
	struct tb_batch_writer w = TB_BATCH_WRITER_INIT;
	const char *json = NULL, *events;
	size_t len = 0, n = 0;

	assert_int_equal(tb_sync_build_batch(s, 0, 100, 1 << 20, &w, &json,
					     &len, &n), 0);
	assert_int_equal(n, 2);
	events = strstr(json, "\"events\":[");
	assert_non_null(events);
	events += strlen("\"events\":[");
	assert_int_equal(strlen(events), strlen(old_events) + 2);
	assert_memory_equal(events, old_events, strlen(old_events));
	assert_string_equal(events + strlen(old_events), "]}");
	tb_batch_writer_cleanup(&w);
}

static void test_upgrade_from_v1(void **state)
{
	struct fixture *f = *state;
	struct tb_store_status st;
	struct tb_event e;
	char msg[512], buf[32], *old_events;
	int64_t wire_len;

	exec_file(f->path, TB_SOURCE_DIR "/tests/data/agent/store_v1.sql");
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 1);
	/* Bytes the two pending rows' JSON takes, from the file itself. */
	wire_len = sql_int(f->path, "SELECT sum(length(CAST(wire AS BLOB))) "
			   "FROM queue WHERE state = 0");
	assert_true(wire_len > 300);
	old_events = sql_text(f->path, "SELECT group_concat(wire, ',') FROM "
			      "(SELECT wire FROM queue WHERE state = 0 "
			      "ORDER BY seq)");

	assert_int_equal(tb_store_open(f->path, 0, &f->s, msg, sizeof(msg)),
			 0);
	assert_string_equal(tb_store_device(f->s), V1_DEVICE);
	assert_string_equal(tb_store_school(f->s), "HB-001");
	assert_int_equal(tb_store_status(f->s, &st), 0);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.pending_bytes, wire_len);
	check_old_wire_sent(f->s, old_events);
	free(old_events);
	assert_int_equal(st.oldest_pending, 1763715600);
	assert_int_equal(st.last_attempt, 1763881200);
	assert_int_equal(st.last_success, 1763715600);
	assert_string_equal(st.last_error, "could not connect to the server");
	assert_int_equal(tb_store_get(f->s, V1_FIRST, &e, NULL), 0);
	assert_int_equal(e.revision, 2);
	assert_string_equal(tb_event_get(&e, tb_field_index(e.kind, "parents"),
					 buf, sizeof(buf)), "45");
	tb_event_clear(&e);
	/* New rows follow the old ones. */
	assert_int_equal(record_outreach(f->s, "2025-12-01", "3", NULL), 4);
	assert_int_equal(tb_store_check(f->s), 0);
	tb_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"),
			 TB_STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM meta WHERE "
				 "key LIKE 'last_%'"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
				 "pragma_table_info('queue') WHERE name = "
				 "'wire'"), 0);
}

static void test_newer_file_refused(void **state)
{
	struct fixture *f = *state;
	char msg[512], *before, *after;
	size_t blen, alen;

	assert_int_equal(tb_store_open(f->path, TB_STORE_CREATE, &f->s, msg,
				       sizeof(msg)), 0);
	assert_int_equal(tb_store_set_identity(f->s, DEVICE, "HB-001"), 0);
	tb_store_close(f->s);
	f->s = NULL;
	exec_sql(f->path, "PRAGMA user_version = 5");
	before = helper_proc_read_file(f->path, &blen);
	assert_non_null(before);

	msg[0] = '\0';
	assert_int_equal(tb_store_open(f->path, 0, &f->s, msg, sizeof(msg)),
			 TB_ECONFLICT);
	assert_null(f->s);
	assert_non_null(strstr(msg, "schema version 5"));
	assert_non_null(strstr(msg, "up to version 4"));
	after = helper_proc_read_file(f->path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	free(before);
	free(after);
}

static void test_foreign_file_refused(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	exec_sql(f->path, "CREATE TABLE notes (t TEXT)");
	assert_int_equal(tb_store_open(f->path, 0, &f->s, msg, sizeof(msg)),
			 TB_EINVAL);
	assert_non_null(strstr(msg, "not a tienbo agent store"));
	assert_int_equal(tb_store_open("/nonexistent/x.db", 0, &f->s, msg,
				       sizeof(msg)), TB_ENOTFOUND);
}

static void test_identity_is_fixed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tb_store_set_identity(f->s, DEVICE, "HB-001"), 0);
	assert_int_equal(tb_store_set_identity(
				 f->s, "0f8fad5b-d9cb-469f-a165-70867728950e",
				 "HB-001"),
			 TB_ECONFLICT);
	/* The school may change while the store is empty, not after. */
	assert_int_equal(tb_store_set_identity(f->s, DEVICE, "HB-002"), 0);
	record_outreach(f->s, "2025-11-20", "1", NULL);
	assert_int_equal(tb_store_set_identity(f->s, DEVICE, "HB-003"),
			 TB_ECONFLICT);
	assert_string_equal(tb_store_school(f->s), "HB-002");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_get_list, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wire_json, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_amend_void, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_event_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_walk_and_acks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv_and_status, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_transaction_all_or_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v1,
						setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_newer_file_refused,
						setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_file_refused,
						setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_identity_is_fixed, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
