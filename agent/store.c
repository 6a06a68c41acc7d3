/* store.c - the agent's durable offline store on SQLite (see store.h):
 * opening (pragmas, schema, identity), closing, explicit transactions and
 * the integrity check.
 *
 * The store is one module over several files: store_db.c (statements,
 * errors, transactions), store_row.c (a row and an event), store_write.c
 * (record, amend, void), store_read.c (list, show, history) and
 * store_sync.c (what the sync engine needs). The schema and its
 * migrations live in agent/schema.c.
 */
#include "agent/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent/schema.h"
#include "agent/store_db.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"

_Static_assert(TB_SCHEMA_VERSION == TB_STORE_SCHEMA_VERSION,
	       "store.h and schema.h disagree on the schema version");

const char *tb_store_state_name(enum tb_store_state st)
{
	switch (st) {
	case TB_STATE_PENDING: return N_("pending"); /* JSON: untranslated */
	case TB_STATE_SENT: return N_("sent");
	case TB_STATE_REJECTED: return N_("rejected");
	}
	return "?";
}

const char *tb_store_errmsg(const struct tb_store *s)
{
	return s ? s->errmsg : "";
}

int tb_store_path(const char *data_dir, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "%s/%s", data_dir, TB_STORE_FILE);

	return (n < 0 || (size_t)n >= buflen) ? TB_ETOOBIG : TB_OK;
}

/* ---- opening ------------------------------------------------------------ */

static int set_pragmas(struct tb_store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = TB_OK, src;

	/* journal_mode answers with the mode in force: insist on WAL. */
	src = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
				 NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src != SQLITE_ROW)
		rc = tb_sdb_dbfail(s, src, N_("cannot open"));
	else if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		rc = tb_sdb_fail(s, TB_EIO, _("cannot open %s: WAL mode refused (is the "
			  "data directory writable?)"), s->path);
	sqlite3_finalize(st);
	if (rc == TB_OK)
		rc = tb_sdb_exec(s, "PRAGMA synchronous = FULL; "
			  "PRAGMA foreign_keys = ON", N_("cannot open"));
	return rc;
}

static int load_meta(struct tb_store *s, const char *key, char *out,
		     size_t outlen)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_META_GET);
	int rc, row;

	out[0] = '\0';
	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot read"), &row);
	if (rc == TB_OK && row)
		snprintf(out, outlen, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc;
}

/* Adds a hint when the data directory itself is the problem: not
 * writable, or on a full disk (which SQLite reports while opening as a
 * bare "disk I/O error" when the -shm file cannot be made). */
static void explain_open(struct tb_store *s)
{
	char dir[4096];
	char *slash;
	size_t len = strlen(s->errmsg);
	int sys = sqlite3_system_errno(s->db);
	struct statvfs vfs;

	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (sys == ENOSPC || sys == EDQUOT || sys == EFBIG ||
	    (statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0)) {
		snprintf(s->errmsg + len, sizeof(s->errmsg) - len,
			 sys == EFBIG ? _("; the disk holding the data "
					  "directory %s is full (or a file size "
					  "limit was reached)")
				      : _("; the disk holding the data "
					  "directory %s is full"),
			 dir);
		return;
	}
	if (access(dir, W_OK) == 0)
		return;
	snprintf(s->errmsg + len, sizeof(s->errmsg) - len,
		 _("; the data directory %s is not writable (%s)"), dir,
		 strerror(errno));
}

int tb_store_open(const char *path, int flags, struct tb_store **out,
		  char *msg, size_t msglen)
{
	struct tb_store *s = NULL;
	struct stat sb;
	int rc = TB_OK, src, oflags;

	*out = NULL;
	if (!(flags & TB_STORE_CREATE) && stat(path, &sb) != 0) {
		snprintf(msg, msglen, _("%s: no store here (%s); run "
					"'tienbo-agent init' first"),
			 path, strerror(errno));
		return errno == ENOENT ? TB_ENOTFOUND : TB_EIO;
	}
	s = tb_calloc(1, sizeof(*s));
	if (!s || !(s->path = tb_strdup(path))) {
		rc = TB_ENOMEM;
		snprintf(msg, msglen, "%s", _("out of memory"));
		goto out;
	}
	oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (flags & TB_STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	src = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (src != SQLITE_OK || !s->db) {
		rc = s->db ? tb_sdb_dbfail(s, src, N_("cannot open")) : TB_ENOMEM;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, TB_SDB_BUSY_TIMEOUT_MS);
	/* Refuse a newer or foreign file before changing anything in it. */
	rc = tb_schema_migrate(s->db, path, s->errmsg, sizeof(s->errmsg));
	if (rc == TB_OK)
		rc = set_pragmas(s);
	if (rc == TB_OK)
		rc = load_meta(s, "device", s->device, sizeof(s->device));
	if (rc == TB_OK)
		rc = load_meta(s, "school", s->school, sizeof(s->school));
out:
	if (rc != TB_OK) {
		if (s && s->db && rc == TB_EIO)
			explain_open(s);
		if (s && s->errmsg[0])
			snprintf(msg, msglen, "%s", s->errmsg);
		tb_store_close(s);
		return rc;
	}
	s->errmsg[0] = '\0';
	*out = s;
	return TB_OK;
}

void tb_store_close(struct tb_store *s)
{
	int i;

	if (!s)
		return;
	if (s->db && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close_v2(s->db);
	tb_buf_free(&s->fields);
	tb_buf_free(&s->wire);
	tb_free(s->path);
	tb_free(s);
}

/* ---- identity ----------------------------------------------------------- */

static int meta_set(struct tb_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = tb_sdb_stmt(s, ST_META_SET);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = tb_sdb_step(s, st, N_("cannot write to"), &row);
	sqlite3_reset(st);
	return rc;
}

int tb_store_set_identity(struct tb_store *s, const char *device,
			  const char *school)
{
	char cur_dev[TB_ID_LEN], cur_school[TB_CODE_MAX + 1];
	int64_t rows = 0;
	int rc;

	if (!tb_uuid_valid(device))
		return tb_sdb_fail(s, TB_EINVAL, _("device: '%s' is not a UUID"),
			    device);
	if (!tb_code_valid(school))
		return tb_sdb_fail(s, TB_EINVAL, _("school: '%s' must be 2-32 of A-Z "
			    "0-9 - _"), school);
	rc = tb_sdb_wbegin(s);
	if (rc == TB_OK)
		rc = load_meta(s, "device", cur_dev, sizeof(cur_dev));
	if (rc == TB_OK)
		rc = load_meta(s, "school", cur_school, sizeof(cur_school));
	if (rc == TB_OK)
		rc = tb_sdb_i64(s, ST_ROWS, &rows, NULL);
	if (rc == TB_OK && cur_dev[0] && strcmp(cur_dev, device) != 0)
		rc = tb_sdb_fail(s, TB_ECONFLICT, _("this store belongs to device %s; "
			  "it cannot change"), cur_dev);
	if (rc == TB_OK && cur_school[0] && strcmp(cur_school, school) != 0 &&
	    rows > 0)
		rc = tb_sdb_fail(s, TB_ECONFLICT, _("this store holds %s's events (%lld "
			  "rows); it cannot change school"), cur_school,
			  (long long)rows);
	if (rc == TB_OK)
		rc = meta_set(s, "device", device);
	if (rc == TB_OK)
		rc = meta_set(s, "school", school);
	rc = tb_sdb_wend(s, rc);
	if (rc == TB_OK) {
		snprintf(s->device, sizeof(s->device), "%s", device);
		snprintf(s->school, sizeof(s->school), "%s", school);
	}
	return rc;
}

const char *tb_store_device(const struct tb_store *s)
{
	return s->device;
}

const char *tb_store_school(const struct tb_store *s)
{
	return s->school;
}

/* ---- explicit transactions ---------------------------------------------- */

int tb_store_begin(struct tb_store *s)
{
	int rc;

	s->errmsg[0] = '\0';
	if (s->explicit_tx || !sqlite3_get_autocommit(s->db))
		return tb_sdb_fail(s, TB_EINVAL, _("a transaction is already open"));
	rc = tb_sdb_exec(s, "BEGIN IMMEDIATE", N_("cannot write to"));
	if (rc == TB_OK)
		s->explicit_tx = 1;
	s->next_seq = 0;
	return rc;
}

int tb_store_commit(struct tb_store *s)
{
	int rc;

	if (!s->explicit_tx)
		return tb_sdb_fail(s, TB_EINVAL, _("no transaction is open"));
	s->explicit_tx = 0;
	s->next_seq = 0;
	rc = tb_sdb_exec(s, "COMMIT", N_("cannot write to"));
	if (rc != TB_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

void tb_store_rollback(struct tb_store *s)
{
	s->explicit_tx = 0;
	s->next_seq = 0;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- checking ----------------------------------------------------------- */

int tb_store_check(struct tb_store *s)
{
	sqlite3_stmt *st = NULL;
	const char *res;
	int rc = TB_OK, src;

	s->errmsg[0] = '\0';
	src = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st,
				 NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = tb_sdb_dbfail(s, src, N_("cannot check"));
	} else {
		res = (const char *)sqlite3_column_text(st, 0);
		if (!res || strcmp(res, "ok") != 0)
			rc = tb_sdb_fail(s, TB_EIO, _("integrity check failed: %s"),
				  res ? res : "?");
	}
	sqlite3_finalize(st);
	return rc;
}
