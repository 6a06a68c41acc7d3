/* store_row.c - queue rows to events and back (see store_row.h).
 *
 * The fields column holds the codec's fields object, e.g.
 * {"title":"Họp phụ huynh","parents":40}, written and read by
 * protocol/event_json.c; the envelope (id, revision, kind, date,
 * recorded_at, voided, void_reason) has columns of its own.
 */
#include "agent/store_row.h"

#include <stdio.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "protocol/event_json.h"

/* The envelope columns into e (kind already set). */
static int read_envelope(sqlite3_stmt *st, struct tb_event *e,
			 const char **bad)
{
	const char *id = (const char *)sqlite3_column_text(st, COL_ID);
	const char *date = (const char *)sqlite3_column_text(st, COL_DATE);
	const char *reason;

	*bad = NULL;
	if (!id || !tb_uuid_valid(id))
		*bad = "id: not an event id";
	else if (!date || tb_date_parse(date, &e->date) != TB_OK)
		*bad = "date: not a date";
	if (*bad)
		return TB_EINVAL;
	memcpy(e->id, id, TB_ID_LEN);
	e->seq = sqlite3_column_int64(st, COL_SEQ);
	e->revision = sqlite3_column_int64(st, COL_REVISION);
	e->recorded_at = sqlite3_column_int64(st, COL_RECORDED_AT);
	e->voided = sqlite3_column_int(st, COL_VOIDED) ? 1 : 0;
	reason = (const char *)sqlite3_column_text(st, COL_VOID_REASON);
	if (reason && !(e->void_reason = tb_strdup(reason)))
		return TB_ENOMEM;
	return TB_OK;
}

int tb_srow_read(struct tb_store *s, sqlite3_stmt *st, struct tb_event *e)
{
	const char *kind = (const char *)sqlite3_column_text(st, COL_KIND);
	const char *fields = (const char *)sqlite3_column_text(st, COL_FIELDS);
	long long seq = (long long)sqlite3_column_int64(st, COL_SEQ);
	const char *bad = NULL;
	char msg[TB_MSG_LEN];
	enum tb_kind k = TB_KIND_OUTREACH;
	int rc = TB_OK;

	msg[0] = '\0';
	if (!kind || tb_kind_parse(kind, &k) != TB_OK) {
		bad = "kind: not a kind";
		rc = TB_EINVAL;
	}
	tb_event_init(e, k);
	if (rc == TB_OK)
		rc = read_envelope(st, e, &bad);
	if (rc == TB_OK)
		rc = tb_event_fields_read(fields ? fields : "",
					  (size_t)sqlite3_column_bytes(
					      st, COL_FIELDS), e, msg,
					  sizeof(msg));
	if (rc == TB_OK) {
		memcpy(e->device, s->device, sizeof(e->device));
		memcpy(e->school, s->school, sizeof(e->school));
		return TB_OK;
	}
	tb_event_clear(e);
	if (rc == TB_ENOMEM)
		return tb_sdb_fail(s, rc, _("out of memory"));
	return tb_sdb_fail(s, TB_EIO, _("stored event at seq %lld cannot be "
			   "read: %s"), seq, bad ? bad : msg);
}

int tb_srow_insert(struct tb_store *s, const struct tb_event *e)
{
	sqlite3_stmt *st;
	char date[TB_DATE_LEN];
	int rc, row;

	tb_buf_reset(&s->fields);
	tb_buf_reset(&s->wire);
	rc = tb_event_fields_write(&s->fields, e);
	if (rc == TB_OK)
		rc = tb_event_write(&s->wire, e);
	if (rc != TB_OK)
		return tb_sdb_fail(s, rc, _("out of memory"));
	st = tb_sdb_stmt(s, ST_INSERT);
	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, e->seq);
	sqlite3_bind_text(st, 2, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, e->revision);
	sqlite3_bind_text(st, 4, tb_kind_name(e->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, tb_date_format(e->date, date), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, e->recorded_at);
	sqlite3_bind_int(st, 7, e->voided ? 1 : 0);
	if (e->voided)
		sqlite3_bind_text(st, 8, e->void_reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, s->fields.p, (int)s->fields.len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)s->wire.len);
	rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
	sqlite3_reset(st);
	if (rc == TB_ECONFLICT)
		rc = tb_sdb_fail(s, TB_ECONFLICT, _("event %s revision %lld is "
				 "already stored"), e->id,
				 (long long)e->revision);
	return rc;
}

int tb_srow_latest(struct tb_store *s, const char *id, struct tb_event *e,
		   enum tb_store_state *state)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_LATEST);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot read"), &row);
	if (rc == TB_OK && !row)
		rc = tb_sdb_fail(s, TB_ENOTFOUND, _("no event %s"), id);
	if (rc == TB_OK) {
		if (state)
			*state = sqlite3_column_int(st, COL_STATE);
		rc = tb_srow_read(s, st, e);
	}
	sqlite3_reset(st);
	return rc;
}
