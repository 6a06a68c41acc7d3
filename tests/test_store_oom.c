/* test_store_oom.c - allocation failures over the agent store's
 * operations, SQLite's own allocations included (common/mem_sqlite.h).
 *
 * For each operation (record, amend, void, building a batch for sync,
 * committing an acknowledgement): fail allocation N = 1, 2, ... until the
 * operation completes. Every failure must be a clean error (TB_ENOMEM, or
 * TB_EIO with a message), leave the file exactly as before the call (the
 * queue and the sync state compared row by row from a second connection),
 * and leave the handle usable (the next try runs on it). Leaks are the
 * sanitizer build's to find (-DTB_SANITIZE=ON).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "agent/store.h"
#include "agent/sync.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/mem_sqlite.h"
#include "protocol/codec.h"
#include "tests/helper_proc.h"

#define DEVICE "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define STEPS_MAX 20000

struct fixture {
	struct helper_proc_sandbox sb;
	char path[400];
	char id[TB_ID_LEN]; /* an event to amend and void */
	struct tb_event ev; /* the event op_record records */
	struct tb_store *s;
};

static void set(struct tb_event *e, const char *name, const char *text)
{
	char msg[TB_MSG_LEN];

	assert_int_equal(tb_event_set(e, name, text, msg, sizeof(msg)), 0);
}

static void outreach(struct tb_event *e, const char *parents)
{
	tb_event_init(e, TB_KIND_OUTREACH);
	assert_int_equal(tb_date_parse("2025-11-20", &e->date), 0);
	set(e, "title", "Họp phụ huynh \"bình đẳng\"");
	set(e, "parents", parents);
	set(e, "channel", "meeting");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tb_event e;
	char msg[512];

	if (!f || helper_proc_sandbox_make(&f->sb) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/agent.db", f->sb.dir);
	if (tb_store_open(f->path, TB_STORE_CREATE, &f->s, msg, sizeof(msg)) ||
	    tb_store_set_identity(f->s, DEVICE, "HB-001"))
		return -1;
	outreach(&e, "40");
	if (tb_store_record(f->s, &e))
		return -1;
	memcpy(f->id, e.id, TB_ID_LEN);
	tb_event_clear(&e);
	outreach(&f->ev, "12");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tb_store_close(f->s);
	tb_event_clear(&f->ev);
	helper_proc_sandbox_remove(&f->sb);
	free(f);
	return 0;
}

/* Everything the store holds, as one text (malloc'd). */
static char *snapshot(const char *path)
{
	static const char sql[] =
	    "SELECT (SELECT group_concat(r, '|') FROM (SELECT seq || ',' || "
	    "id || ',' || revision || ',' || kind || ',' || date || ',' || "
	    "recorded_at || ',' || voided || ',' || "
	    "COALESCE(void_reason, '') || ',' || fields || ',' || state || "
	    "',' || COALESCE(reject_reason, '') || ',' || wire_bytes AS r "
	    "FROM queue ORDER BY seq)) || '#' || COALESCE((SELECT "
	    "group_concat(key || '=' || value, '|') FROM sync_state), '') "
	    "|| '#' || (SELECT group_concat(key || '=' || value, '|') FROM "
	    "meta)";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *text = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	text = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_non_null(text);
	return text;
}

typedef int (*op_fn)(struct fixture *f);

/* The walk: fail allocation 1, 2, ... of op until it succeeds. */
static void walk(struct fixture *f, const char *name, op_fn op)
{
	char *before = snapshot(f->path), *after;
	long n;
	int rc = TB_ENOMEM;

	for (n = 1; n < STEPS_MAX; n++) {
		tb_mem_fail_at(n);
		rc = op(f);
		tb_mem_fail_at(0);
		if (rc == TB_OK)
			break;
		if (rc != TB_ENOMEM && rc != TB_EIO)
			fail_msg("%s: allocation %ld failed: rc %d (%s)", name,
				 n, rc, tb_store_errmsg(f->s));
		if (!tb_store_errmsg(f->s)[0] && rc != TB_ENOMEM)
			fail_msg("%s: allocation %ld: no message", name, n);
		after = snapshot(f->path);
		if (strcmp(before, after) != 0)
			fail_msg("%s: allocation %ld failed and the store "
				 "changed:\n%s\n%s", name, n, before, after);
		free(after);
	}
	assert_int_equal(rc, TB_OK);
	/* n == 1 is possible: SQLite tolerates some failures (benign
	 * mallocs), and then the first try completes */
	print_message("%s: completed at allocation %ld\n", name, n);
	free(before);
}

/* f->ev is built before the walk: a failed record leaves it as it was,
 * so every try records the same event. */
static int op_record(struct fixture *f)
{
	return tb_store_record(f->s, &f->ev);
}

static int op_amend(struct fixture *f)
{
	struct tb_event e;
	int rc = tb_store_get(f->s, f->id, &e, NULL);

	if (rc != TB_OK)
		return rc;
	rc = tb_event_set(&e, "parents", "41", NULL, 0);
	e.revision++;
	if (rc == TB_OK)
		rc = tb_store_amend(f->s, &e);
	tb_event_clear(&e);
	return rc;
}

static int op_void(struct fixture *f)
{
	return tb_store_void(f->s, f->id, "Nhập trùng – entered twice", NULL);
}

static int op_batch(struct fixture *f)
{
	struct tb_batch_writer w = TB_BATCH_WRITER_INIT;
	const char *json = NULL;
	size_t len = 0, n = 0;
	int rc = tb_sync_build_batch(f->s, 0, 3, 1 << 20, &w, &json, &len,
				     &n);

	if (rc == TB_OK && n != 3)
		rc = TB_EIO;
	tb_batch_writer_cleanup(&w);
	return rc;
}

static int op_ack(struct fixture *f)
{
	struct tb_ack ack;
	int rc;

	tb_ack_init(&ack);
	ack.committed_through = 3;
	memcpy(ack.device, DEVICE, TB_ID_LEN);
	rc = tb_ack_reject(&ack, f->id, 2, "parents: too many");
	if (rc == TB_OK)
		rc = tb_store_apply_ack(f->s, &ack);
	tb_ack_clear(&ack);
	return rc;
}

static void test_store_alloc_failures(void **state)
{
	struct fixture *f = *state;

	walk(f, "record", op_record);
	walk(f, "amend", op_amend);
	walk(f, "void", op_void);
	/* rows: the first record, the second record, its amendment, the
	 * void: pending 1..4; a batch of the first 3 */
	walk(f, "batch", op_batch);
	walk(f, "ack", op_ack);
	assert_int_equal(tb_store_check(f->s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_alloc_failures,
						setup, teardown),
	};

	if (tb_mem_sqlite_route() != TB_OK) {
		fprintf(stderr, "cannot route SQLite's allocations\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
