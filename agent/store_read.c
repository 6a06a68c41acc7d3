/* store_read.c - reading events out of the agent store: resolving ids,
 * the latest revision, lists and histories (the reading part of store.h).
 *
 * Called by the CLI commands (list, show, amend, void, export). Each call
 * reads inside one read transaction (a consistent view) and holds one row
 * in memory at a time.
 */
#include "agent/store.h"

#include <stdio.h>
#include <string.h>

#include "agent/store_db.h"
#include "agent/store_row.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"

int tb_store_resolve_id(struct tb_store *s, const char *prefix, char *out)
{
	sqlite3_stmt *st;
	size_t len = strlen(prefix), i;
	int rc = TB_OK, src, n = 0, began;

	s->errmsg[0] = '\0';
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdef-", prefix[i]))
			break;
	if (len < 6 || len >= TB_ID_LEN || i < len)
		return tb_sdb_fail(s, TB_EINVAL, _("'%s' is not an event id (give the id, "
			    "or at least %d of its characters)"), prefix, 6);
	began = tb_sdb_rbegin(s);
	st = tb_sdb_stmt(s, ST_RESOLVE);
	if (!st)
		rc = TB_EIO;
	if (st)
		sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	while (rc == TB_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == 0)
			snprintf(out, TB_ID_LEN, "%s",
				 (const char *)sqlite3_column_text(st, 0));
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = tb_sdb_dbfail(s, src, N_("cannot read"));
	if (st)
		sqlite3_reset(st);
	tb_sdb_rend(s, began);
	if (rc == TB_OK && n == 0)
		rc = tb_sdb_fail(s, TB_ENOTFOUND, _("no event %s"), prefix);
	if (rc == TB_OK && n > 1)
		rc = tb_sdb_fail(s, TB_ECONFLICT, _("'%s' matches more than one event; "
			  "give more of the id"), prefix);
	return rc;
}

int tb_store_get(struct tb_store *s, const char *id, struct tb_event *e,
		 enum tb_store_state *st)
{
	int began = tb_sdb_rbegin(s);
	int rc = tb_srow_latest(s, id, e, st);

	tb_sdb_rend(s, began);
	return rc;
}

void tb_store_filter_init(struct tb_store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->kind = -1;
	f->include_voided = 1;
}

/* Steps st (columns TB_SDB_ROW_COLS) and hands each decoded row to cb. */
static int walk_rows(struct tb_store *s, sqlite3_stmt *st, tb_store_row_cb cb,
		     void *arg, int64_t *count)
{
	struct tb_store_row row;
	struct tb_event e;
	int rc = TB_OK, src;

	*count = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		row.seq = sqlite3_column_int64(st, COL_SEQ);
		row.state = sqlite3_column_int(st, COL_STATE);
		row.reject_reason =
		    (const char *)sqlite3_column_text(st, COL_REJECT_REASON);
		row.wire_len = (size_t)sqlite3_column_int64(st, COL_WIRE_BYTES);
		rc = tb_srow_read(s, st, &e);
		if (rc != TB_OK)
			break;
		row.ev = &e;
		(*count)++;
		rc = cb(arg, &row);
		tb_event_clear(&e);
		if (rc != 0)
			break;
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = tb_sdb_dbfail(s, src, N_("cannot read"));
	sqlite3_reset(st);
	return rc;
}

int tb_store_list(struct tb_store *s, const struct tb_store_filter *f,
		  tb_store_row_cb cb, void *arg)
{
	char from[TB_DATE_LEN], to[TB_DATE_LEN];
	sqlite3_stmt *st;
	int64_t n;
	int rc, began = tb_sdb_rbegin(s);

	st = tb_sdb_stmt(s, ST_LIST);
	if (!st) {
		tb_sdb_rend(s, began);
		return TB_EIO;
	}
	if (f->kind >= 0)
		sqlite3_bind_text(st, 1, tb_kind_name(f->kind), -1,
				  SQLITE_STATIC);
	if (f->has_from)
		sqlite3_bind_text(st, 2, tb_date_format(f->from, from), -1,
				  SQLITE_STATIC);
	if (f->has_to)
		sqlite3_bind_text(st, 3, tb_date_format(f->to, to), -1,
				  SQLITE_STATIC);
	sqlite3_bind_int(st, 4, f->pending_only ? 1 : 0);
	sqlite3_bind_int(st, 5, f->include_voided ? 1 : 0);
	rc = walk_rows(s, st, cb, arg, &n);
	tb_sdb_rend(s, began);
	return rc;
}

int tb_store_history(struct tb_store *s, const char *id, tb_store_row_cb cb,
		     void *arg)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc, began = tb_sdb_rbegin(s);

	st = tb_sdb_stmt(s, ST_HISTORY);
	if (!st) {
		tb_sdb_rend(s, began);
		return TB_EIO;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = walk_rows(s, st, cb, arg, &n);
	tb_sdb_rend(s, began);
	if (rc == TB_OK && n == 0)
		rc = tb_sdb_fail(s, TB_ENOTFOUND, _("no event %s"), id);
	return rc;
}

