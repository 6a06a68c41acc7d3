/* store_sync.c - what the sync engine needs of the agent store: the
 * pending queue (counts, and its rows as events for a batch), marking rows
 * as the server acknowledged them, and the engine's own key-value state
 * (the sync part of store.h).
 *
 * Called by agent/sync.c and `status`. Writes are one transaction each;
 * an acknowledgement is applied whole or not at all.
 */
#include "agent/store.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/store_db.h"
#include "agent/store_row.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"

/* ---- for the sync engine ------------------------------------------------ */

int tb_store_pending_count(struct tb_store *s, int64_t *count)
{
	int64_t bytes;

	s->errmsg[0] = '\0';
	return tb_sdb_i64(s, ST_PENDING_STATS, count, &bytes);
}

int tb_store_pending_bytes(struct tb_store *s, int64_t *bytes)
{
	int64_t count;

	s->errmsg[0] = '\0';
	return tb_sdb_i64(s, ST_PENDING_STATS, &count, bytes);
}

int tb_store_pending_oldest(struct tb_store *s, int64_t *recorded_at,
			    int64_t *seq)
{
	s->errmsg[0] = '\0';
	return tb_sdb_i64(s, ST_OLDEST, recorded_at, seq);
}

int tb_store_last_seq(struct tb_store *s, int64_t *seq)
{
	s->errmsg[0] = '\0';
	return tb_sdb_i64(s, ST_LAST_SEQ, seq, NULL);
}

/* Reads the current row of st into an event and hands it to cb. */
static int hand_row(struct tb_store *s, sqlite3_stmt *st, size_t len,
		    tb_store_event_cb cb, void *arg)
{
	struct tb_event e;
	int rc = tb_srow_read(s, st, &e);

	if (rc != TB_OK)
		return rc;
	rc = cb(arg, &e, len);
	tb_event_clear(&e);
	return rc;
}

int tb_store_pending_each(struct tb_store *s, int64_t after, size_t max_rows,
			  size_t max_bytes, tb_store_event_cb cb, void *arg,
			  size_t *nrows, size_t *nbytes)
{
	sqlite3_stmt *st;
	size_t rows = 0, bytes = 0, len;
	int rc = TB_OK, src = SQLITE_DONE, began = tb_sdb_rbegin(s);

	st = tb_sdb_stmt(s, ST_PENDING_EACH);
	if (!st)
		rc = TB_EIO;
	else
		sqlite3_bind_int64(st, 1, after);
	while (rc == TB_OK && rows < max_rows &&
	       (src = sqlite3_step(st)) == SQLITE_ROW) {
		len = (size_t)sqlite3_column_int64(st, COL_WIRE_BYTES);
		if (rows > 0 && bytes + len > max_bytes)
			break;
		rc = hand_row(s, st, len, cb, arg);
		rows++;
		bytes += len;
	}
	if (rc == TB_OK && src != SQLITE_DONE && src != SQLITE_ROW)
		rc = tb_sdb_dbfail(s, src, N_("cannot read"));
	if (st)
		sqlite3_reset(st);
	tb_sdb_rend(s, began);
	if (nrows)
		*nrows = rows;
	if (nbytes)
		*nbytes = bytes;
	return rc;
}

static int mark_sent(struct tb_store *s, int64_t through, int64_t *changed)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_MARK_SENT);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, through);
	rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
	if (rc == TB_OK && changed)
		*changed = sqlite3_changes(s->db);
	sqlite3_reset(st);
	return rc;
}

static int mark_rejected(struct tb_store *s, int64_t seq, const char *reason)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_SEQ_EXISTS);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, seq);
	rc = tb_sdb_step(s, st, N_("cannot read"), &row);
	sqlite3_reset(st);
	if (rc == TB_OK && !row)
		return tb_sdb_fail(s, TB_ENOTFOUND, "no queue row with seq %lld",
			    (long long)seq);
	if (rc == TB_OK && !(st = tb_sdb_stmt(s, ST_MARK_REJECTED)))
		rc = TB_EIO;
	if (rc == TB_OK) {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_text(st, 2, reason ? reason : "", -1,
				  SQLITE_STATIC);
		rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
		sqlite3_reset(st);
	}
	return rc;
}

int tb_store_mark_sent(struct tb_store *s, int64_t through, int64_t *changed)
{
	int rc = tb_sdb_wbegin(s);

	if (changed)
		*changed = 0;
	if (rc == TB_OK)
		rc = mark_sent(s, through, changed);
	return tb_sdb_wend(s, rc);
}

int tb_store_mark_rejected(struct tb_store *s, int64_t seq,
			   const char *reason)
{
	int rc = tb_sdb_wbegin(s);

	if (rc == TB_OK)
		rc = mark_rejected(s, seq, reason);
	return tb_sdb_wend(s, rc);
}

int tb_store_apply_ack(struct tb_store *s, const struct tb_ack *ack)
{
	size_t i;
	int rc = tb_sdb_wbegin(s);

	for (i = 0; rc == TB_OK && i < ack->nrejected; i++)
		rc = mark_rejected(s, ack->rejected[i].seq,
				   ack->rejected[i].reason);
	if (rc == TB_OK)
		rc = mark_sent(s, ack->committed_through, NULL);
	return tb_sdb_wend(s, rc);
}

int tb_store_requeue(struct tb_store *s, int64_t from_seq, int64_t *changed)
{
	sqlite3_stmt *st;
	int rc = tb_sdb_wbegin(s), row;

	if (changed)
		*changed = 0;
	if (rc == TB_OK && !(st = tb_sdb_stmt(s, ST_REQUEUE)))
		rc = TB_EIO;
	if (rc == TB_OK) {
		sqlite3_bind_int64(st, 1, from_seq);
		rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
		if (rc == TB_OK && changed)
			*changed = sqlite3_changes(s->db);
		sqlite3_reset(st);
	}
	return tb_sdb_wend(s, rc);
}

/* Sets (value non-NULL) or deletes one sync_state key, in the open write
 * transaction. */
static int kv_put(struct tb_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, value ? ST_KV_SET : ST_KV_DEL);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
	sqlite3_reset(st);
	return rc;
}

static int kv_put_i64(struct tb_store *s, const char *key, int64_t when)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)when);
	return kv_put(s, key, buf);
}

int tb_store_kv_set(struct tb_store *s, const char *key, const char *value)
{
	int rc;

	if (!key || !key[0] || strlen(key) > 64)
		return tb_sdb_fail(s, TB_EINVAL, "key: 1-%d bytes", 64);
	rc = tb_sdb_wbegin(s);
	if (rc == TB_OK)
		rc = kv_put(s, key, value);
	return tb_sdb_wend(s, rc);
}

int tb_store_kv_get(struct tb_store *s, const char *key, char **value)
{
	sqlite3_stmt *st;
	int rc, row;

	*value = NULL;
	s->errmsg[0] = '\0';
	st = tb_sdb_stmt(s, ST_KV_GET);
	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot read"), &row);
	if (rc == TB_OK && !row)
		rc = TB_ENOTFOUND;
	if (rc == TB_OK &&
	    !(*value = tb_strdup((const char *)sqlite3_column_text(st, 0))))
		rc = TB_ENOMEM;
	sqlite3_reset(st);
	return rc;
}

int tb_store_note_attempt(struct tb_store *s, int64_t when)
{
	int rc = tb_sdb_wbegin(s);

	if (rc == TB_OK)
		rc = kv_put_i64(s, "last_attempt", when);
	return tb_sdb_wend(s, rc);
}

int tb_store_note_success(struct tb_store *s, int64_t when)
{
	int rc = tb_sdb_wbegin(s);

	if (rc == TB_OK)
		rc = kv_put_i64(s, "last_success", when);
	if (rc == TB_OK)
		rc = kv_put(s, "last_error", NULL);
	if (rc == TB_OK)
		rc = kv_put(s, "last_error_at", NULL);
	return tb_sdb_wend(s, rc);
}

int tb_store_note_error(struct tb_store *s, int64_t when, const char *text)
{
	char buf[TB_MSG_LEN];
	int rc = tb_sdb_wbegin(s);

	snprintf(buf, sizeof(buf), "%s", text ? text : "");
	if (rc == TB_OK)
		rc = kv_put_i64(s, "last_error_at", when);
	if (rc == TB_OK)
		rc = kv_put(s, "last_error", buf);
	return tb_sdb_wend(s, rc);
}

/* A sync_state time, 0 if absent or unreadable. */
static int64_t kv_time(struct tb_store *s, const char *key)
{
	char *v = NULL, *end = NULL;
	long long t = 0;

	if (tb_store_kv_get(s, key, &v) == TB_OK) {
		errno = 0;
		t = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			t = 0;
	}
	tb_free(v);
	return t;
}

#define LINK_FIELD(key, f) { key, offsetof(struct tb_link_state, f) }
static const struct {
	const char *key;
	size_t off;
} link_keys[] = {
	LINK_FIELD("link_batch", batch),
	LINK_FIELD("link_acked", acked),
	LINK_FIELD("link_tries", tries),
	LINK_FIELD("link_passes", passes),
	LINK_FIELD("link_progress_at", progress_at),
	LINK_FIELD("link_waste", waste),
	LINK_FIELD("link_waste_since", waste_since),
	LINK_FIELD("link_fail_events", fail_events),
	LINK_FIELD("link_fail_bytes", fail_bytes),
	LINK_FIELD("link_pass_link", pass_link),
	LINK_FIELD("link_pass_acked", pass_acked),
	LINK_FIELD("link_paused_until", paused_until),
};
#define LINK_NKEYS (sizeof(link_keys) / sizeof(link_keys[0]))

static int64_t *link_slot(struct tb_link_state *l, size_t i)
{
	return (int64_t *)(void *)((char *)l + link_keys[i].off);
}

/* A value that does not read back whole counts as absent: the link state
 * is a hint (batch size, counts); the one field that guards data, acked,
 * then reads -1 and the next sync asks the server. */
int tb_store_link_load(struct tb_store *s, struct tb_link_state *l)
{
	int began = tb_sdb_rbegin(s);
	size_t i;

	memset(l, 0, sizeof(*l));
	l->acked = -1;
	for (i = 0; i < LINK_NKEYS; i++) {
		char *v = NULL, *end = NULL;
		long long n;
		int rc = tb_store_kv_get(s, link_keys[i].key, &v);

		if (rc != TB_OK && rc != TB_ENOTFOUND) {
			tb_sdb_rend(s, began);
			return rc;
		}
		if (v) {
			errno = 0;
			n = strtoll(v, &end, 10);
			if (!errno && end != v && !*end)
				*link_slot(l, i) = (int64_t)n;
		}
		tb_free(v);
	}
	tb_sdb_rend(s, began);
	return TB_OK;
}

int tb_store_link_save(struct tb_store *s, const struct tb_link_state *l)
{
	struct tb_link_state copy = *l;
	int rc = tb_sdb_wbegin(s);
	size_t i;

	for (i = 0; rc == TB_OK && i < LINK_NKEYS; i++)
		rc = kv_put_i64(s, link_keys[i].key, *link_slot(&copy, i));
	return tb_sdb_wend(s, rc);
}

static int state_counts(struct tb_store *s, struct tb_store_status *st)
{
	sqlite3_stmt *q = tb_sdb_stmt(s, ST_STATE_COUNTS);
	int src;

	if (!q)
		return TB_EIO;
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(q, 1);

		switch (sqlite3_column_int(q, 0)) {
		case TB_STATE_PENDING:
			st->pending = n;
			st->pending_bytes = sqlite3_column_int64(q, 2);
			break;
		case TB_STATE_SENT: st->sent = n; break;
		case TB_STATE_REJECTED: st->rejected = n; break;
		default: break;
		}
	}
	sqlite3_reset(q);
	return src == SQLITE_DONE ? TB_OK : tb_sdb_dbfail(s, src, N_("cannot read"));
}

int tb_store_status(struct tb_store *s, struct tb_store_status *st)
{
	char *err = NULL;
	int64_t seq;
	int rc, began = tb_sdb_rbegin(s);

	memset(st, 0, sizeof(*st));
	rc = state_counts(s, st);
	if (rc == TB_OK)
		rc = tb_sdb_i64(s, ST_EVENTS, &st->events, NULL);
	if (rc == TB_OK)
		rc = tb_sdb_i64(s, ST_OLDEST, &st->oldest_pending, &seq);
	if (rc == TB_OK)
		rc = tb_sdb_i64(s, ST_LAST_SEQ, &st->last_seq, NULL);
	if (rc == TB_OK) {
		st->last_attempt = kv_time(s, "last_attempt");
		st->last_success = kv_time(s, "last_success");
		st->last_error_at = kv_time(s, "last_error_at");
		if (tb_store_kv_get(s, "last_error", &err) == TB_OK)
			snprintf(st->last_error, sizeof(st->last_error), "%s",
				 err);
		tb_free(err);
	}
	if (rc == TB_OK)
		rc = tb_store_link_load(s, &st->link);
	tb_sdb_rend(s, began);
	return rc;
}

