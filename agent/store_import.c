/* store_import.c - what the agent store remembers of imports (store.h):
 * each import, and each row it recorded with its fingerprint, so that the
 * same rows imported again are caught and one import can be undone.
 *
 * Called by agent/cmd_import.c. Rows are found by content (exact) or key
 * (kind, date, folded title: the same activity with other figures). An
 * undone import is kept, marked, and no longer matches. Undo voids the
 * events as new revisions, which sync like any other.
 */
#include "agent/store.h"

#include <stdio.h>
#include <string.h>

#include "agent/store_db.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/i18n.h"

int tb_store_import_new(struct tb_store *s, const char *file, int64_t at,
			int64_t *id)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_IMP_NEW);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
	sqlite3_reset(st);
	if (rc == TB_OK)
		*id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int tb_store_import_row(struct tb_store *s, int64_t id, int64_t row,
			const char *content, const char *key,
			const char *event_id)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_IMP_ROW);
	int rc, got;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, row);
	sqlite3_bind_text(st, 3, content, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, event_id, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot write to"), &got);
	sqlite3_reset(st);
	return rc;
}

static void copy_text(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src ? (const char *)src : "");
}

int tb_store_import_find(struct tb_store *s, const char *content,
			 const char *key, struct tb_store_import_match *m)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_IMP_FIND);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, content, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot read"), &row);
	if (rc == TB_OK && row) {
		m->import_id = sqlite3_column_int64(st, 0);
		m->at = sqlite3_column_int64(st, 1);
		copy_text(m->file, sizeof(m->file), sqlite3_column_text(st, 2));
		m->row = sqlite3_column_int64(st, 3);
		copy_text(m->event_id, sizeof(m->event_id),
			  sqlite3_column_text(st, 4));
		m->exact = sqlite3_column_int(st, 5);
	}
	sqlite3_reset(st);
	return rc == TB_OK ? row : rc;
}

int tb_store_import_done(struct tb_store *s, int64_t id, int64_t rows,
			 int64_t skipped)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_IMP_DONE);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, rows);
	sqlite3_bind_int64(st, 3, skipped);
	rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
	sqlite3_reset(st);
	return rc;
}

int tb_store_imports(struct tb_store *s, int64_t id,
		     int (*cb)(void *arg, const struct tb_store_import *im),
		     void *arg)
{
	struct tb_store_import im;
	sqlite3_stmt *st;
	int began = tb_sdb_rbegin(s), rc = TB_OK, src, seen = 0;

	st = tb_sdb_stmt(s, ST_IMP_LIST);
	if (!st) {
		tb_sdb_rend(s, began);
		return TB_EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	while (rc == TB_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		im.id = sqlite3_column_int64(st, 0);
		im.at = sqlite3_column_int64(st, 1);
		im.file = (const char *)sqlite3_column_text(st, 2);
		im.rows = sqlite3_column_int64(st, 3);
		im.skipped = sqlite3_column_int64(st, 4);
		im.undone_at = sqlite3_column_int64(st, 5);
		seen = 1;
		rc = cb(arg, &im);
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = tb_sdb_dbfail(s, src, N_("cannot read"));
	sqlite3_reset(st);
	tb_sdb_rend(s, began);
	if (rc == TB_OK && id != 0 && !seen)
		rc = tb_sdb_fail(s, TB_ENOTFOUND, "there is no import %lld",
				 (long long)id);
	return rc;
}

static int note_undone(void *arg, const struct tb_store_import *im)
{
	*(int64_t *)arg = im->undone_at;
	return TB_OK;
}

/* The ids of the events import id recorded, one after another. */
static int import_events(struct tb_store *s, int64_t id, struct tb_buf *ids)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_IMP_EVENTS);
	int rc = TB_OK, src;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, id);
	while (rc == TB_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		char one[TB_ID_LEN] = { 0 };

		copy_text(one, sizeof(one), sqlite3_column_text(st, 0));
		rc = tb_buf_add(ids, one, sizeof(one));
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = tb_sdb_dbfail(s, src, N_("cannot read"));
	sqlite3_reset(st);
	return rc;
}

int tb_store_import_undo(struct tb_store *s, int64_t id, int64_t at,
			 const char *reason, int64_t *voided)
{
	struct tb_buf ids = TB_BUF_INIT;
	sqlite3_stmt *st;
	int64_t undone = 0;
	size_t i;
	int rc, row;

	*voided = 0;
	rc = tb_store_begin(s);
	if (rc == TB_OK)
		rc = tb_store_imports(s, id, note_undone, &undone);
	if (rc == TB_OK && undone)
		rc = tb_sdb_fail(s, TB_ECONFLICT,
				 "import %lld was undone already",
				 (long long)id);
	if (rc == TB_OK)
		rc = import_events(s, id, &ids);
	for (i = 0; rc == TB_OK && i < ids.len; i += TB_ID_LEN) {
		rc = tb_store_void(s, ids.p + i, reason, NULL);
		if (rc == TB_ECONFLICT) /* voided since: nothing to do */
			rc = TB_OK;
		else if (rc == TB_OK)
			(*voided)++;
	}
	if (rc == TB_OK && (st = tb_sdb_stmt(s, ST_IMP_UNDONE)) == NULL)
		rc = TB_EIO;
	if (rc == TB_OK) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, at);
		rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
		sqlite3_reset(st);
	}
	tb_buf_free(&ids);
	if (rc == TB_OK)
		return tb_store_commit(s);
	if (s->explicit_tx) {
		char keep[TB_SDB_ERRMSG_LEN];

		snprintf(keep, sizeof(keep), "%s", s->errmsg);
		tb_store_rollback(s);
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", keep);
	}
	return rc;
}
