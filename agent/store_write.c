/* store_write.c - writing events into the agent store: record, amend,
 * void (the writing part of store.h).
 *
 * Called by the CLI commands (record, amend, void, import). Each call is
 * one transaction (or joins the caller's tb_store_begin): the envelope is
 * set, the event validated against every rule and against the latest
 * stored revision, and one row inserted (agent/store_row.c), or nothing.
 */
#include "agent/store.h"

#include <stdio.h>
#include <string.h>

#include "agent/store_db.h"
#include "agent/store_row.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"

/* Checks e against the latest stored revision of its id (inside the write
 * transaction): a first record must be new, a change must follow the
 * latest revision of an event that is not voided, of the same kind. */
static int check_latest(struct tb_store *s, const struct tb_event *e)
{
	sqlite3_stmt *st;
	int64_t rev = 0;
	int rc, row, voided = 0, same_kind = 1;

	if (e->revision == 1)
		return TB_OK; /* a new id: UNIQUE (id, revision) guards it */
	st = tb_sdb_stmt(s, ST_LATEST);
	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot read"), &row);
	if (rc == TB_OK && row) {
		rev = sqlite3_column_int64(st, COL_REVISION);
		voided = sqlite3_column_int(st, COL_VOIDED);
		same_kind = strcmp((const char *)sqlite3_column_text(st,
								     COL_KIND),
				   tb_kind_name(e->kind)) == 0;
	}
	sqlite3_reset(st);
	if (rc != TB_OK)
		return rc;
	if (e->revision > 1 && rev == 0)
		return tb_sdb_fail(s, TB_ENOTFOUND, _("no event %s"), e->id);
	if (e->revision > 1 && voided)
		return tb_sdb_fail(s, TB_ECONFLICT, _("event %s is voided; it cannot be "
			    "changed (revision %lld)"), e->id, (long long)rev);
	if (e->revision > 1 && rev != e->revision - 1)
		return tb_sdb_fail(s, TB_ECONFLICT, _("event %s changed meanwhile (now "
			    "at revision %lld); show it again and redo the "
			    "change"), e->id, (long long)rev);
	if (!same_kind)
		return tb_sdb_fail(s, TB_EINVAL, _("kind: a change cannot turn the event "
			    "into a %s"), tb_kind_name(e->kind));
	return TB_OK;
}

/* Assigns the envelope, validates, encodes and inserts one revision, inside
 * the current write transaction. e is updated only on success. */
static int append(struct tb_store *s, struct tb_event *e, int voiding)
{
	struct tb_event saved = *e;
	char msg[TB_MSG_LEN];
	int64_t seq = 0;
	int rc;

	if (!s->device[0] || !s->school[0])
		return tb_sdb_fail(s, TB_ECONFIG, _("this store has no device id or "
			    "school yet; run 'tienbo-agent init'"));
	rc = check_latest(s, e);
	if (rc == TB_OK && e->voided && !voiding)
		rc = tb_sdb_fail(s, TB_EINVAL, _("voided: use void to void an event"));
	if (rc == TB_OK && s->explicit_tx && s->next_seq > 0)
		seq = s->next_seq; /* we hold the write lock: nobody moved it */
	else if (rc == TB_OK)
		rc = tb_sdb_i64(s, ST_NEXT_SEQ, &seq, NULL);
	if (rc != TB_OK)
		return rc;
	/* A new event's id: the device's prefix and its first seq, unique
	 * because a seq is never reused (and compact on the wire). */
	if (!e->id[0] && tb_uuid_for_device(s->device, seq, e->id) != TB_OK)
		return tb_sdb_fail(s, TB_EIO, _("cannot make an event id from device %s"),
			    s->device);
	e->seq = seq;
	e->recorded_at = tb_time_now();
	memcpy(e->device, s->device, sizeof(e->device));
	memcpy(e->school, s->school, sizeof(e->school));
	rc = tb_event_validate(e, 1, msg, sizeof(msg));
	if (rc != TB_OK) {
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
		rc = TB_EINVAL;
	}
	if (rc == TB_OK)
		rc = tb_srow_insert(s, e);
	if (rc == TB_OK && s->explicit_tx)
		s->next_seq = seq + 1;
	if (rc != TB_OK) {
		/* Only envelope members were touched; owned pointers were not. */
		if (e->revision == 1)
			e->id[0] = '\0';
		e->seq = saved.seq;
		e->recorded_at = saved.recorded_at;
		memcpy(e->device, saved.device, sizeof(e->device));
		memcpy(e->school, saved.school, sizeof(e->school));
	}
	return rc;
}

int tb_store_record(struct tb_store *s, struct tb_event *e)
{
	int rc;

	s->errmsg[0] = '\0';
	if (e->voided)
		return tb_sdb_fail(s, TB_EINVAL, _("voided: a new record cannot be "
			    "voided"));
	e->id[0] = '\0'; /* append derives it from the device and the seq */
	e->revision = 1;
	rc = tb_sdb_wbegin(s);
	if (rc == TB_OK)
		rc = append(s, e, 0);
	return tb_sdb_wend(s, rc);
}

int tb_store_amend(struct tb_store *s, struct tb_event *e)
{
	int rc;

	s->errmsg[0] = '\0';
	if (!tb_uuid_valid(e->id))
		return tb_sdb_fail(s, TB_EINVAL, _("id: '%s' is not an event id"),
			    e->id);
	if (e->revision < 2)
		return tb_sdb_fail(s, TB_EINVAL, _("revision: an amendment is revision "
			    "2 or later (got %lld)"), (long long)e->revision);
	rc = tb_sdb_wbegin(s);
	if (rc == TB_OK)
		rc = append(s, e, 0);
	return tb_sdb_wend(s, rc);
}

int tb_store_void(struct tb_store *s, const char *id, const char *reason,
		  struct tb_event *out)
{
	struct tb_event e;
	int rc, have = 0;

	s->errmsg[0] = '\0';
	if (!reason || !reason[0] || !tb_text_valid(reason, TB_TEXT_MAX))
		return tb_sdb_fail(s, TB_EINVAL, _("reason: give a reason of 1-%d "
			    "bytes of text (UTF-8, no control characters)"),
			    TB_TEXT_MAX);
	rc = tb_sdb_wbegin(s);
	if (rc == TB_OK)
		rc = tb_srow_latest(s, id, &e, NULL);
	if (rc == TB_OK) {
		have = 1;
		if (e.voided)
			rc = tb_sdb_fail(s, TB_ECONFLICT, _("event %s is already voided"), id);
	}
	if (rc == TB_OK && !(e.void_reason = tb_strdup(reason)))
		rc = tb_sdb_fail(s, TB_ENOMEM, _("out of memory"));
	if (rc == TB_OK) {
		e.voided = 1;
		e.revision++;
		rc = append(s, &e, 1);
	}
	rc = tb_sdb_wend(s, rc);
	if (have && rc == TB_OK && out)
		*out = e;
	else if (have)
		tb_event_clear(&e);
	return rc;
}

