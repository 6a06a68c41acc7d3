/* merge.c - one batch, one transaction (see merge.h for the rules).
 *
 * Each accepted revision is written twice: to event_history (kept
 * forever) and to events (the current revision, replaced in place by a
 * higher one). The event's JSON body and content hash are computed before
 * the write lock by merge_prep.c (the hash's layout is drawn there).
 *
 * Speed (the merge runs under the process's one write lock, so its time
 * per event bounds ingest):
 *   - Statements are prepared once per connection and found again by
 *     their text among the connection's statements (stmt_get); they stay
 *     prepared until tb_db_close. Preparing the events upsert compiles the
 *     report roll-up triggers and cost ~1 ms per batch.
 *   - Accepted revisions are not written one by one: they wait in a
 *     pending list and go to both tables in multi-row INSERTs of up to
 *     PENDING_MAX rows. Every INSERT into events runs the roll-up
 *     triggers (server/rollup.c), and per statement SQLite allocates the
 *     trigger's frame and opens a statement journal; with 32 rows per
 *     statement that is paid once per 32 events. An event whose id is
 *     already pending (a second revision in the same batch) flushes the
 *     list first, so every decision still sees the revisions before it.
 */
#include "server/merge.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/sql.h"

#define HASH_LEN TB_MERGE_HASH_LEN
#define PENDING_MAX 32 /* rows per multi-row INSERT; see the top */
#define NCOLS 12       /* columns of a stored revision */

/* Accepted revisions not yet written (pointers into the batch and prep). */
struct pending {
	size_t n;
	const struct tb_event *ev[PENDING_MAX];
	const char *body[PENDING_MAX];
	const unsigned char *hash[PENDING_MAX];
};

struct merge_ctx {
	struct tb_sql *db;
	struct tb_batch *b;
	struct tb_ack *ack;
	int64_t now;
	struct tb_stmt *sel;  /* current revision of an id (from stmt_get) */
	struct tb_stmt *rows[2][3]; /* [history, events][shape], found on use */
	struct pending pend;
};

static void result_set(struct tb_merge_result *res, int status,
		       const char *error, int64_t expected, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void result_set(struct tb_merge_result *res, int status,
		       const char *error, int64_t expected, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	res->error = error;
	res->expected_seq = expected;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

/* The statement for sql on db, reset with its bindings cleared: one
 * prepared earlier on this connection and not in use, or a new one (left
 * prepared for the next batch; tb_db_close finalizes it). Never finalize
 * what this returns. */
static int stmt_get(struct tb_sql *db, const char *sql, struct tb_stmt **out)
{
	return tb_sql_prepare(db, sql, TB_SQL_CACHED, out);
}

/* Runs a statement from stmt_get that returns no row, and resets it. */
static int stmt_done(struct tb_stmt *st)
{
	int src = tb_sql_step(st);

	tb_sql_reset(st);
	return src == TB_SQL_DONE ? TB_OK : tb_sql_err(src);
}

static const char sql_cols[] =
	"(id, revision, school, kind, date, voided, device, seq, recorded_at,"
	" received_at, content_hash, body) VALUES";

static const char sql_upsert[] =
	" ON CONFLICT(id) DO UPDATE SET revision = excluded.revision,"
	" school = excluded.school, kind = excluded.kind,"
	" date = excluded.date, voided = excluded.voided,"
	" device = excluded.device, seq = excluded.seq,"
	" recorded_at = excluded.recorded_at,"
	" received_at = excluded.received_at,"
	" content_hash = excluded.content_hash, body = excluded.body"
	" WHERE events.revision < excluded.revision"
	" AND events.school = excluded.school";

/* "INSERT INTO <table>(...) VALUES(?,...),...(rows times)[upsert]". */
static void sql_insert_rows(char *buf, size_t len, const char *table,
			    size_t rows, int upsert)
{
	static const char row[] = "(?,?,?,?,?,?,?,?,?,?,?,?)";
	size_t used;

	used = (size_t)snprintf(buf, len, "INSERT INTO %s%s", table, sql_cols);
	for (size_t i = 0; i < rows && used + sizeof(row) + 1 < len; i++) {
		if (i)
			buf[used++] = ',';
		memcpy(buf + used, row, sizeof(row));
		used += sizeof(row) - 1;
	}
	if (upsert)
		snprintf(buf + used, len - used, "%s", sql_upsert);
}

static int reject(struct merge_ctx *c, const struct tb_event *e,
		  const char *reason)
{
	struct tb_stmt *st = NULL;
	int rc;

	rc = tb_ack_reject(c->ack, e->id, e->seq, reason);
	if (rc == TB_OK)
		rc = stmt_get(c->db, "INSERT INTO rejections(device, school, seq,"
			      " event_id, reason, received_at) VALUES(?1,?2,?3,"
			      "?4,?5,?6)", &st);
	if (rc < 0)
		return rc;
	tb_sql_bind_text(st, 1, c->b->device, -1);
	tb_sql_bind_text(st, 2, c->b->school, -1);
	tb_sql_bind_int64(st, 3, e->seq);
	tb_sql_bind_text(st, 4, e->id, -1);
	tb_sql_bind_text(st, 5, reason, -1);
	tb_sql_bind_int64(st, 6, c->now);
	return stmt_done(st);
}

/* Binds one revision to parameters base+1 .. base+NCOLS of st, in the
 * order of sql_cols. The date text is copied (SQLITE_TRANSIENT), which
 * can fail: a parameter left unbound would be NULL, so the first failed
 * bind is returned (tb_db_err), 0 if all took. */
static int bind_revision(struct tb_stmt *st, int base, int64_t now,
			 const struct tb_event *e, const char *body,
			 const unsigned char *hash)
{
	char date[TB_DATE_LEN];
	int src[12];

	src[0] = tb_sql_bind_text(st, base + 1, e->id, -1);
	src[1] = tb_sql_bind_int64(st, base + 2, e->revision);
	src[2] = tb_sql_bind_text(st, base + 3, e->school, -1);
	src[3] = tb_sql_bind_text(st, base + 4, tb_kind_name(e->kind), -1);
	src[4] = tb_sql_bind_text(st, base + 5, tb_date_format(e->date, date),
				   -1);
	src[5] = tb_sql_bind_int64(st, base + 6, e->voided ? 1 : 0);
	src[6] = tb_sql_bind_text(st, base + 7, e->device, -1);
	src[7] = tb_sql_bind_int64(st, base + 8, e->seq);
	src[8] = tb_sql_bind_int64(st, base + 9, e->recorded_at);
	src[9] = tb_sql_bind_int64(st, base + 10, now);
	src[10] = tb_sql_bind_blob(st, base + 11, hash, HASH_LEN);
	src[11] = tb_sql_bind_text(st, base + 12, body, -1);
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		if (src[i] != TB_OK)
			return tb_sql_err(src[i]);
	return TB_OK;
}

/* Writes rows pending revisions from `from` to table (upsert: events)
 * with the statement of that many rows (flush's shape number). */
static int write_rows(struct merge_ctx *c, const char *table, int upsert,
		      size_t shape, size_t from, size_t rows)
{
	char sql[64 + sizeof(sql_cols) + sizeof(sql_upsert) + 26 * PENDING_MAX];
	struct tb_stmt *st = NULL;
	int rc;

	st = c->rows[upsert][shape];
	if (!st) {
		sql_insert_rows(sql, sizeof(sql), table, rows, upsert);
		rc = stmt_get(c->db, sql, &st);
		if (rc < 0)
			return rc;
		c->rows[upsert][shape] = st;
	}
	rc = TB_OK;
	for (size_t i = 0; i < rows && rc == TB_OK; i++)
		rc = bind_revision(st, (int)(i * NCOLS), c->now,
				   c->pend.ev[from + i], c->pend.body[from + i],
				   c->pend.hash[from + i]);
	if (rc < 0) {
		tb_sql_clear_bindings(st);
		return rc;
	}
	rc = stmt_done(st);
	/* every row was decided against what events held (merge_event); a
	 * row the upsert's WHERE skipped means another transaction wrote
	 * that id after it was read (PostgreSQL, another device's batch):
	 * the batch is rolled back and its sender told to come back, when
	 * it is decided again against the row now there */
	if (rc == TB_OK && upsert && tb_sql_changes(c->db) != (int64_t)rows)
		rc = TB_EAGAIN;
	return rc;
}

/* Writes every pending revision to event_history, then to events, in the
 * order they were accepted: statements of PENDING_MAX rows, then of 8,
 * then single rows (three statement shapes per table, prepared once). */
static int flush(struct merge_ctx *c)
{
	static const size_t shapes[] = {PENDING_MAX, 8, 1};
	int rc = TB_OK;

	for (int t = 0; t < 2 && rc == TB_OK; t++) {
		size_t done = 0;

		for (size_t k = 0; k < 3 && rc == TB_OK; k++)
			while (rc == TB_OK && c->pend.n - done >= shapes[k]) {
				rc = write_rows(c, t ? "events" : "event_history",
						t, k, done, shapes[k]);
				done += shapes[k];
			}
	}
	c->pend.n = 0;
	return rc;
}

/* Queues an accepted revision; writes the list when it is full. */
static int store_revision(struct merge_ctx *c, const struct tb_event *e,
			  const char *body, const unsigned char *hash)
{
	struct pending *p = &c->pend;

	p->ev[p->n] = e;
	p->body[p->n] = body;
	p->hash[p->n] = hash;
	p->n++;
	return p->n == PENDING_MAX ? flush(c) : TB_OK;
}

/* 1 if a revision of id waits in the pending list. */
static int pending_has(const struct pending *p, const char *id)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->ev[i]->id, id) == 0)
			return 1;
	return 0;
}

/* Decision for one valid event whose seq is past the cursor. */
static int merge_event(struct merge_ctx *c, const struct tb_event *e,
		       const char *body, const unsigned char *hash)
{
	char reason[TB_MSG_LEN + 64];
	struct tb_stmt *sel = NULL;
	int src, rc = TB_OK;

	if (pending_has(&c->pend, e->id))
		rc = flush(c);
	if (rc == TB_OK && !c->sel)
		rc = stmt_get(c->db, "SELECT school, revision, content_hash FROM"
			      " events WHERE id = ?1", &c->sel);
	if (rc < 0)
		return rc;
	sel = c->sel;
	tb_sql_bind_text(sel, 1, e->id, -1);
	src = tb_sql_step(sel);
	if (src == TB_SQL_ROW) {
		const char *school = tb_sql_column_text(sel, 0);
		int64_t held = tb_sql_column_int64(sel, 1);
		size_t hn = 0;
		const void *h = tb_sql_column_blob(sel, 2, &hn);
		int same = h && hn == HASH_LEN &&
			   memcmp(h, hash, HASH_LEN) == 0;

		if (!school || strcmp(school, e->school) != 0) {
			snprintf(reason, sizeof(reason),
				 "id %s is held for another school", e->id);
			rc = reject(c, e, reason);
			goto out;
		}
		if (held > e->revision || (held == e->revision && same)) {
			c->ack->duplicates++;
			goto out;
		}
		if (held == e->revision) {
			snprintf(reason, sizeof(reason),
				 "id %s revision %lld already held with different "
				 "content", e->id, (long long)e->revision);
			rc = reject(c, e, reason);
			goto out;
		}
	} else if (src != TB_SQL_DONE) {
		rc = tb_sql_err(src);
		goto out;
	}
	tb_sql_reset(sel);
	rc = store_revision(c, e, body, hash);
	if (rc == TB_OK)
		c->ack->accepted++;
out:
	tb_sql_reset(sel);
	return rc;
}

/* Reads one int64 from a query with text ?1 and int ?2 bound. 0 and *out;
 * TB_ENOTFOUND when there is no row. */
static int query_one(struct tb_sql *db, const char *sql, const char *t, int64_t n,
		     int64_t *out, char *text, size_t textlen)
{
	struct tb_stmt *st = NULL;
	int src, rc;

	rc = stmt_get(db, sql, &st);
	if (rc < 0)
		return rc;
	tb_sql_bind_text(st, 1, t, -1);
	tb_sql_bind_int64(st, 2, n);
	src = tb_sql_step(st);
	if (src == TB_SQL_DONE) {
		rc = TB_ENOTFOUND;
	} else if (src != TB_SQL_ROW) {
		rc = tb_sql_err(src);
	} else {
		if (out)
			*out = tb_sql_column_int64(st, 0);
		if (text) {
			const char *v = tb_sql_column_text(st, 1);

			snprintf(text, textlen, "%s", v ? (const char *)v : "");
		}
	}
	tb_sql_reset(st);
	return rc;
}

/* Notes that the device behind `token` was heard from at `now` (what
 * `devices` and the dashboard's "not synced for 14 days" read). */
static int touch_device(struct tb_sql *db, int64_t token, int64_t now)
{
	struct tb_stmt *st = NULL;
	int rc;

	rc = stmt_get(db, "UPDATE devices SET last_seen = ?1 WHERE id = ?2", &st);
	if (rc < 0)
		return rc;
	tb_sql_bind_int64(st, 1, now);
	tb_sql_bind_int64(st, 2, token);
	return stmt_done(st);
}

/* Checks the device uuid may be used with p's token. With bind set and the
 * token unbound, binds it. 0 with res->status 200 or 401/403. */
static int device_check(struct tb_sql *db, const struct tb_principal *p,
			const char *device, int bind,
			struct tb_merge_result *res)
{
	char bound[TB_ID_LEN] = "", school[TB_CODE_MAX + 1] = "";
	int64_t revoked = 0, other = 0;
	int rc;

	rc = query_one(db, "SELECT coalesce(revoked_at, 0), coalesce(device, '')"
		       " FROM devices WHERE id = ?2", "", p->token_id, &revoked,
		       bound, sizeof(bound));
	if (rc == TB_ENOTFOUND || (rc == TB_OK && revoked != 0)) {
		result_set(res, 401, "unauthorized", -1, "token revoked");
		return TB_OK;
	}
	if (rc < 0)
		return rc;
	if (bound[0]) {
		if (strcmp(bound, device) != 0)
			result_set(res, 403, "forbidden", -1,
				   "this token is bound to device %s, not %s",
				   bound, device);
		return TB_OK;
	}
	rc = query_one(db, "SELECT 0, school FROM cursors WHERE device = ?1",
		       device, 0, NULL, school, sizeof(school));
	if (rc == TB_OK && strcmp(school, p->school) != 0) {
		result_set(res, 403, "forbidden", -1,
			   "device %s belongs to another school", device);
		return TB_OK;
	}
	if (rc < 0 && rc != TB_ENOTFOUND)
		return rc;
	rc = query_one(db, "SELECT id FROM devices WHERE device = ?1 AND"
		       " revoked_at IS NULL AND id <> ?2", device, p->token_id,
		       &other, NULL, 0);
	if (rc == TB_OK) {
		result_set(res, 403, "forbidden", -1,
			   "device %s is bound to another token", device);
		return TB_OK;
	}
	if (rc != TB_ENOTFOUND)
		return rc;
	if (!bind)
		return TB_OK;
	/* only while still unbound: on PostgreSQL the same token's first
	 * uploads from two devices can race here (each holds its own
	 * device's lock); the one that waited on the row then finds it
	 * bound and is refused as if it had come second */
	rc = query_one(db, "UPDATE devices SET device = ?1 WHERE id = ?2 AND"
		       " coalesce(device, '') IN ('', ?1) RETURNING id", device,
		       p->token_id, NULL, NULL, 0);
	if (rc == TB_ENOTFOUND) {
		result_set(res, 403, "forbidden", -1,
			   "this token is bound to another device, not %s",
			   device);
		rc = TB_OK;
	}
	return rc;
}

static int cursor_get(struct tb_sql *db, const char *device, int64_t *c)
{
	int rc = query_one(db, "SELECT committed_through FROM cursors"
			   " WHERE device = ?1", device, 0, c, NULL, 0);

	if (rc == TB_ENOTFOUND) {
		*c = 0;
		rc = TB_OK;
	}
	return rc;
}

static int cursor_put(struct merge_ctx *c, int64_t through, int64_t token)
{
	struct tb_stmt *st = NULL;
	int rc;

	rc = stmt_get(c->db,
		"INSERT INTO cursors(device, school, committed_through, updated_at)"
		" VALUES(?1, ?2, ?3, ?4) ON CONFLICT(device) DO UPDATE SET"
		" committed_through = CASE WHEN excluded.committed_through >"
		" cursors.committed_through THEN excluded.committed_through"
		" ELSE cursors.committed_through END,"
		" updated_at = excluded.updated_at", &st);
	if (rc < 0)
		return rc;
	tb_sql_bind_text(st, 1, c->b->device, -1);
	tb_sql_bind_text(st, 2, c->b->school, -1);
	tb_sql_bind_int64(st, 3, through);
	tb_sql_bind_int64(st, 4, c->now);
	rc = stmt_done(st);
	if (rc == TB_OK)
		rc = touch_device(c->db, token, c->now);
	return rc;
}

/* The per-event school check, before any database work: every event is
 * for the batch's school, which is the token's. */
static int batch_school_check(const struct tb_principal *p,
			      struct tb_batch *b, struct tb_merge_result *res)
{
	size_t i;

	if (strcmp(b->school, p->school) != 0) {
		result_set(res, 403, "forbidden", -1,
			   "batch is for school %s; this token writes only %s",
			   b->school, p->school);
		return 0;
	}
	tb_merge_batch_fill(b);
	for (i = 0; i < b->count; i++) {
		const struct tb_event *e = &b->items[i].ev;

		if (strcmp(e->school, p->school) != 0) {
			result_set(res, 403, "forbidden", -1,
				   "event %s is for school %s", e->id, e->school);
			return 0;
		}
	}
	return 1;
}

/* 1 when the item at seq is what the server holds for the batch's device
 * at that seq: the same revision with the same content, or a rejection of
 * the same id; 0 when not; < 0 on a database error. */
static int held_same(struct merge_ctx *c, const struct tb_batch_item *it,
		     const unsigned char *hash)
{
	struct tb_stmt *st = NULL;
	int64_t n = 0;
	int src, rc, same = 0;

	if (!it->error) {
		rc = stmt_get(c->db, "SELECT content_hash FROM event_history "
			      "WHERE id = ?1 AND revision = ?2 AND "
			      "device = ?3 AND seq = ?4", &st);
		if (rc < 0)
			return rc;
		tb_sql_bind_text(st, 1, it->ev.id, -1);
		tb_sql_bind_int64(st, 2, it->ev.revision);
		tb_sql_bind_text(st, 3, c->b->device, -1);
		tb_sql_bind_int64(st, 4, it->ev.seq);
		src = tb_sql_step(st);
		if (src == TB_SQL_ROW) {
			size_t hn = 0;
			const void *h = tb_sql_column_blob(st, 0, &hn);

			same = h && hn == HASH_LEN &&
			       memcmp(h, hash, HASH_LEN) == 0;
		}
		tb_sql_reset(st);
		if (src != TB_SQL_ROW && src != TB_SQL_DONE)
			return tb_sql_err(src);
		if (src == TB_SQL_ROW)
			return same;
	}
	rc = query_one(c->db, "SELECT count(*) FROM rejections WHERE "
		       "device = ?1 AND seq = ?2", c->b->device, it->ev.seq,
		       &n, NULL, 0);
	return rc < 0 ? rc : n > 0;
}

/* A batch sent after `after` to a server that holds more (cursor): a
 * resend of what the server already holds (its first copy stored, its
 * answer lost; HTTP clients also resend on their own when a kept-alive
 * connection dies) when every item up to the cursor is the same as held,
 * and then merged as duplicates; 0 when something differs - an agent
 * whose store was restored from an older copy, sending new events under
 * seqs the server holds for others. */
static int is_resend(struct merge_ctx *c, const struct tb_merge_prep *prep,
		     int64_t after, int64_t cursor)
{
	size_t i;
	int rc = 1;

	if (after > cursor || c->b->first_seq != after + 1)
		return 0;
	for (i = 0; i < c->b->count && rc == 1; i++) {
		const struct tb_batch_item *it = &c->b->items[i];

		if (it->ev.seq <= cursor)
			rc = held_same(c, it, prep->hash + i * HASH_LEN);
	}
	return rc;
}

/* The batch's precondition (prep->after, TB_HDR_AFTER) against the
 * device's cursor: 0 with res untouched when it holds or the batch is a
 * resend, 0 with a 409 in res when not, < 0 on a database error. */
static int precondition(struct merge_ctx *c, const struct tb_merge_prep *prep,
			int64_t cursor, struct tb_merge_result *res)
{
	int rc;

	if (prep->after < 0 || prep->after == cursor)
		return 0;
	rc = is_resend(c, prep, prep->after, cursor);
	if (rc == 0)
		result_set(res, 409, "cursor_mismatch", cursor + 1,
			   "the batch expects the cursor at %lld; this server "
			   "holds %lld",
			   (long long)prep->after, (long long)cursor);
	return rc < 0 ? rc : 0;
}

static int merge_items(struct merge_ctx *c, const struct tb_merge_prep *prep,
		       int64_t cursor)
{
	size_t i;
	int rc = TB_OK;

	for (i = 0; i < c->b->count && rc == TB_OK; i++) {
		const struct tb_batch_item *it = &c->b->items[i];

		if (it->ev.seq <= cursor)
			c->ack->duplicates++;
		else if (it->error)
			rc = reject(c, &it->ev, it->error);
		else
			rc = merge_event(c, &it->ev, prep->body[i],
					 prep->hash + i * HASH_LEN);
	}
	if (rc == TB_OK)
		rc = flush(c);
	return rc;
}

int tb_merge_batch(struct tb_sql *db, const struct tb_principal *p,
		   struct tb_batch *b, struct tb_ack *ack,
		   struct tb_merge_result *res)
{
	return tb_merge_batch_prepared(db, p, b, NULL, ack, res);
}

int tb_merge_batch_prepared(struct tb_sql *db, const struct tb_principal *p,
			    struct tb_batch *b,
			    const struct tb_merge_prep *prep,
			    struct tb_ack *ack, struct tb_merge_result *res)
{
	struct tb_merge_prep own;
	struct merge_ctx c;
	int64_t cursor = 0;
	int rc, in_tx = 0;

	memset(&c, 0, sizeof(c));
	c.db = db;
	c.b = b;
	c.ack = ack;
	c.now = (int64_t)time(NULL);
	memset(&own, 0, sizeof(own));
	result_set(res, 200, NULL, -1, "ok");
	if (!batch_school_check(p, b, res))
		return TB_OK;
	if (!prep) {
		rc = tb_merge_prepare(b, &own);
		if (rc < 0)
			return rc;
		prep = &own;
	}
	rc = tb_sql_begin(db, 1);
	if (rc < 0)
		goto out;
	in_tx = 1;
	/* PostgreSQL: one device's batches one at a time across every
	 * instance, from the cursor read to COMMIT (SQLite's write
	 * transaction already excludes every other writer) */
	rc = tb_sql_lock_key(db, b->device);
	if (rc == TB_OK)
		rc = device_check(db, p, b->device, 1, res);
	if (rc < 0 || res->status != 200)
		goto out;
	rc = cursor_get(db, b->device, &cursor);
	if (rc < 0)
		goto out;
	rc = precondition(&c, prep, cursor, res);
	if (rc < 0 || res->status != 200)
		goto out;
	if (b->first_seq > cursor + 1) {
		result_set(res, 409, "sequence_gap", cursor + 1,
			   "expected first_seq %lld, got %lld",
			   (long long)cursor + 1, (long long)b->first_seq);
		goto out;
	}
	snprintf(ack->device, sizeof(ack->device), "%s", b->device);
	rc = merge_items(&c, prep, cursor);
	if (rc == TB_OK)
		rc = cursor_put(&c, b->last_seq > cursor ? b->last_seq : cursor,
				p->token_id);
	if (rc == TB_OK)
		rc = tb_sql_exec(db, "COMMIT", NULL, 0);
	if (rc == TB_OK) {
		in_tx = 0;
		/* with a precondition, never past what the batch carried:
		 * the agent may not take the seqs after it as sent on the
		 * word of a server that checked only these */
		ack->committed_through = b->last_seq > cursor ||
						 prep->after >= 0
					 ? b->last_seq
					 : cursor;
	}
out:
	/* PostgreSQL: an id or revision another device's batch inserted
	 * since it was read here (a unique violation) is a race, not bad
	 * data; the retry sees the row and decides (duplicate or
	 * rejection). On SQLite no other writer runs meanwhile. */
	if (rc == TB_ECONFLICT && tb_sql_backend(db) == TB_SQL_PG)
		rc = TB_EAGAIN;
	if (rc < 0) /* why, for the 500's log line: before ROLLBACK clears it */
		tb_sql_reason(db, res->message, sizeof(res->message));
	if (in_tx)
		tb_sql_exec(db, "ROLLBACK", NULL, 0);
	tb_merge_prep_clear(&own);
	return rc;
}

int tb_merge_cursor(struct tb_sql *db, const struct tb_principal *p,
		    const char *device, int64_t *out,
		    struct tb_merge_result *res)
{
	int rc;

	*out = 0;
	result_set(res, 200, NULL, -1, "ok");
	rc = tb_sql_begin(db, 0);
	if (rc < 0)
		return rc;
	rc = device_check(db, p, device, 0, res);
	if (rc == TB_OK && res->status == 200)
		rc = cursor_get(db, device, out);
	tb_sql_exec(db, "COMMIT", NULL, 0);
	return rc;
}
