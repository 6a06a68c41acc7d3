/* auth.c - device and admin tokens (see auth.h). A lookup selects rows by
 * the token's first TB_TOKEN_PREFIX_LEN characters (indexed) and compares
 * SHA-256 hashes in constant time; the token text never reaches the
 * database or the log.
 */
#include "server/auth.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "server/db.h"
#include "server/log.h"
#include "server/tokjournal.h"

/* Looks up a token in `table` (devices or admin_tokens). On a match
 * returns 0 with the row's statement left on that row in *row (caller
 * finalizes); TB_EAUTH if unknown or revoked. */
static int token_find(sqlite3 *db, const char *sql, const char *token,
		      sqlite3_stmt **row)
{
	unsigned char hash[TB_TOKEN_HASH_LEN];
	sqlite3_stmt *st = NULL;
	int src, rc;

	*row = NULL;
	if (!tb_token_well_formed(token))
		return TB_EAUTH;
	rc = tb_token_hash(token, hash);
	if (rc < 0)
		return rc;
	src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (src != SQLITE_OK)
		return tb_db_err(src);
	sqlite3_bind_text(st, 1, token, TB_TOKEN_PREFIX_LEN, SQLITE_STATIC);
	rc = TB_EAUTH;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		/* column 0: token_hash, column 1: revoked_at */
		const void *h = sqlite3_column_blob(st, 0);

		if (!h || sqlite3_column_bytes(st, 0) != TB_TOKEN_HASH_LEN)
			continue;
		if (!tb_token_hash_equal(h, hash))
			continue;
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			break; /* revoked */
		*row = st;
		return TB_OK;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = tb_db_err(src);
	sqlite3_finalize(st);
	return rc;
}

int tb_auth_device(sqlite3 *db, const char *token, struct tb_principal *p)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc;

	rc = token_find(db,
			"SELECT token_hash, revoked_at, id, school, device "
			"FROM devices WHERE token_prefix = ?1",
			token, &st);
	if (rc < 0)
		return rc;
	memset(p, 0, sizeof(*p));
	p->token_id = sqlite3_column_int64(st, 2);
	t = sqlite3_column_text(st, 3);
	snprintf(p->school, sizeof(p->school), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(st, 4);
	snprintf(p->device, sizeof(p->device), "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
	return TB_OK;
}

int tb_auth_admin(sqlite3 *db, const char *token)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = token_find(db,
			"SELECT token_hash, revoked_at FROM admin_tokens "
			"WHERE token_prefix = ?1",
			token, &st);
	sqlite3_finalize(st);
	return rc;
}

/* Inserts a token row: devices (school != NULL) or admin_tokens. */
static int token_insert(sqlite3 *db, const char *school, char *token,
			int64_t *id)
{
	unsigned char hash[TB_TOKEN_HASH_LEN];
	sqlite3_stmt *st = NULL;
	int src, rc;

	rc = tb_token_new(token);
	if (rc == TB_OK)
		rc = tb_token_hash(token, hash);
	if (rc < 0)
		return rc;
	src = sqlite3_prepare_v2(db, school
			? "INSERT INTO devices(token_prefix, token_hash, school,"
			  " enrolled_at) VALUES(?1, ?2, ?3, ?4)"
			: "INSERT INTO admin_tokens(token_prefix, token_hash,"
			  " created_at) VALUES(?1, ?2, ?4)",
			-1, &st, NULL);
	if (src == SQLITE_OK) {
		sqlite3_bind_text(st, 1, token, TB_TOKEN_PREFIX_LEN,
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, hash, sizeof(hash), SQLITE_STATIC);
		if (school)
			sqlite3_bind_text(st, 3, school, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
		src = sqlite3_step(st);
	}
	rc = src == SQLITE_DONE ? TB_OK : tb_db_err(src);
	if (rc == TB_OK)
		*id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(st);
	return rc;
}

static int tx_end(sqlite3 *db, int rc, char *msg, size_t msglen)
{
	if (rc == TB_OK)
		rc = tb_db_exec(db, "COMMIT", msg, msglen);
	if (rc < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int tb_auth_enroll(sqlite3 *db, const struct tb_org_school *s, char *token,
		   int64_t *id, char *msg, size_t msglen)
{
	return tb_auth_enroll_named(db, s, NULL, token, id, msg, msglen);
}

int tb_auth_enroll_named(sqlite3 *db, const struct tb_org_school *s,
			 const struct tb_org_names *n, char *token,
			 int64_t *id, char *msg, size_t msglen)
{
	int rc;

	rc = tb_db_exec(db, "BEGIN IMMEDIATE", msg, msglen);
	if (rc < 0)
		return rc;
	rc = tb_org_register_school(db, s, msg, msglen);
	if (rc == TB_OK)
		rc = tb_org_name_parents(db, s->code, n, msg, msglen);
	if (rc == TB_OK) {
		rc = token_insert(db, s->code, token, id);
		if (rc < 0)
			snprintf(msg, msglen, "cannot store the token: %s",
				 sqlite3_errmsg(db));
	}
	if (rc == TB_OK) /* outside the database too (tokjournal.h) */
		rc = tb_tokjournal_enrolled(db, 0, *id, msg, msglen);
	rc = tx_end(db, rc, msg, msglen);
	if (rc < 0)
		memset(token, 0, TB_TOKEN_LEN + 1);
	return rc;
}

int tb_auth_admin_new(sqlite3 *db, char *token, int64_t *id)
{
	char msg[512] = "";
	int rc = tb_db_exec(db, "BEGIN IMMEDIATE", msg, sizeof(msg));

	if (rc == TB_OK)
		rc = token_insert(db, NULL, token, id);
	if (rc == TB_OK) /* outside the database too (tokjournal.h) */
		rc = tb_tokjournal_enrolled(db, 1, *id, msg, sizeof(msg));
	rc = tx_end(db, rc, msg, sizeof(msg));
	if (rc < 0 && msg[0])
		tb_slog(TB_SLOG_ERROR, "admin token: %s", msg);
	if (rc < 0)
		memset(token, 0, TB_TOKEN_LEN + 1);
	return rc;
}

/* Runs `sql` with ?1 bound to what and ?2 (if present) to the time now.
 * A query stores its one int64 result in *n; a change adds the number of
 * changed rows to *n. */
static int run_counted(sqlite3 *db, const char *sql, const char *what,
		       int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int src, rc = TB_OK;

	src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (src == SQLITE_OK) {
		sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
		src = sqlite3_step(st);
	}
	if (src == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else if (src == SQLITE_DONE)
		*n += sqlite3_changes(db);
	else
		rc = tb_db_err(src);
	sqlite3_finalize(st);
	return rc;
}

static int revoke_prefix(sqlite3 *db, const char *what, int64_t *count,
			 char *msg, size_t msglen)
{
	char p[TB_TOKEN_PREFIX_LEN + 1];
	int64_t active = 0, all = 0, n = 0;
	size_t i, len = strlen(what);
	int rc;

	if (len < 6 || len > TB_TOKEN_PREFIX_LEN) {
		snprintf(msg, msglen, "token prefix: give 6 to %d characters",
			 TB_TOKEN_PREFIX_LEN);
		return TB_EINVAL;
	}
	for (i = 0; i < len; i++) {
		p[i] = (char)tolower((unsigned char)what[i]);
		if (!isxdigit((unsigned char)p[i])) {
			snprintf(msg, msglen, "token prefix: hex digits only");
			return TB_EINVAL;
		}
	}
	p[len] = '\0';
#define PREFIX_MATCH " substr(token_prefix, 1, length(?1)) = ?1"
	rc = run_counted(db, "SELECT (SELECT count(*) FROM devices WHERE"
			PREFIX_MATCH " AND revoked_at IS NULL) + (SELECT count(*)"
			" FROM admin_tokens WHERE" PREFIX_MATCH
			" AND revoked_at IS NULL)", p, &active);
	if (rc == TB_OK)
		rc = run_counted(db, "SELECT (SELECT count(*) FROM devices WHERE"
				PREFIX_MATCH ") + (SELECT count(*) FROM admin_tokens"
				" WHERE" PREFIX_MATCH ")", p, &all);
	if (rc < 0)
		return rc;
	if (all == 0) {
		snprintf(msg, msglen, "no token starts with '%s'", p);
		return TB_ENOTFOUND;
	}
	if (active > 1) {
		snprintf(msg, msglen, "%lld active tokens start with '%s'; give "
			 "more characters", (long long)active, p);
		return TB_EINVAL;
	}
	rc = run_counted(db, "UPDATE devices SET revoked_at = ?2 WHERE"
			 PREFIX_MATCH " AND revoked_at IS NULL", p, &n);
	if (rc == TB_OK)
		rc = run_counted(db, "UPDATE admin_tokens SET revoked_at = ?2"
				 " WHERE" PREFIX_MATCH " AND revoked_at IS NULL",
				 p, &n);
#undef PREFIX_MATCH
	*count = n;
	return rc;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int revoke_where(sqlite3 *db, const char *where, const char *what,
			const char *label, int64_t *count, char *msg,
			size_t msglen)
{
	char sql[256];
	int64_t all = 0;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM devices WHERE %s",
		 where);
	rc = run_counted(db, sql, what, &all);
	if (rc < 0)
		return rc;
	if (all == 0) {
		snprintf(msg, msglen, "no device token for %s '%s'", label, what);
		return TB_ENOTFOUND;
	}
	snprintf(sql, sizeof(sql), "UPDATE devices SET revoked_at = ?2 "
		 "WHERE %s AND revoked_at IS NULL", where);
	return run_counted(db, sql, what, count);
}

int tb_auth_revoke(sqlite3 *db, enum tb_revoke_by by, const char *what,
		   int64_t *count, char *msg, size_t msglen)
{
	int64_t since = (int64_t)time(NULL);
	int rc;

	*count = 0;
	if (!what || !*what) {
		snprintf(msg, msglen, "nothing to revoke");
		return TB_EINVAL;
	}
	if (by == TB_REVOKE_DEVICE && !tb_uuid_valid(what) && !all_digits(what)) {
		snprintf(msg, msglen, "device: give a device uuid or the number "
			 "from `devices`");
		return TB_EINVAL;
	}
	rc = tb_db_exec(db, "BEGIN IMMEDIATE", msg, msglen);
	if (rc < 0)
		return rc;
	if (by == TB_REVOKE_PREFIX)
		rc = revoke_prefix(db, what, count, msg, msglen);
	else if (by == TB_REVOKE_SCHOOL)
		rc = revoke_where(db, "school = ?1", what, "school", count, msg,
				  msglen);
	else if (all_digits(what))
		rc = revoke_where(db, "id = CAST(?1 AS INTEGER)", what, "number",
				  count, msg, msglen);
	else
		rc = revoke_where(db, "device = ?1", what, "device", count, msg,
				  msglen);
	if (rc == TB_OK && *count > 0) /* outside the database too */
		rc = tb_tokjournal_revoked(db, since, msg, msglen);
	return tx_end(db, rc, msg, msglen);
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? (const char *)t : "";
}

int tb_auth_devices(sqlite3 *db, const char *school, tb_device_fn fn,
		    void *arg)
{
	sqlite3_stmt *st = NULL;
	int src, rc = TB_OK;

	src = sqlite3_prepare_v2(db,
		"SELECT d.id, d.school, d.token_prefix, coalesce(d.device, ''),"
		" d.enrolled_at, coalesce(d.last_seen, 0),"
		" coalesce(c.committed_through, 0), coalesce(d.revoked_at, 0)"
		" FROM devices d LEFT JOIN cursors c ON c.device = d.device"
		" WHERE ?1 IS NULL OR d.school = ?1 ORDER BY d.school, d.id",
		-1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = tb_db_err(src);
		goto out;
	}
	sqlite3_bind_text(st, 1, school, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct tb_device_row r;

		r.id = sqlite3_column_int64(st, 0);
		r.school = col_text(st, 1);
		r.token_prefix = col_text(st, 2);
		r.device = col_text(st, 3);
		r.enrolled_at = sqlite3_column_int64(st, 4);
		r.last_seen = sqlite3_column_int64(st, 5);
		r.committed_through = sqlite3_column_int64(st, 6);
		r.revoked_at = sqlite3_column_int64(st, 7);
		rc = fn(arg, &r);
		if (rc != 0)
			goto out;
	}
	if (src != SQLITE_DONE)
		rc = tb_db_err(src);
out:
	sqlite3_finalize(st);
	return rc;
}
