/* auth.c - device and admin tokens (see auth.h). A lookup selects rows by
 * the token's first TB_TOKEN_PREFIX_LEN characters (indexed) and compares
 * SHA-256 hashes in constant time; the token text never reaches the
 * database or the log.
 */
#include "server/auth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "server/db.h"
#include "server/log.h"
#include "server/sql.h"
#include "server/tokjournal.h"

/* Looks up a token in `table` (devices or admin_tokens). On a match
 * returns 0 with the row's statement left on that row in *row (caller
 * finalizes); TB_EAUTH if unknown or revoked. */
static int token_find(struct tb_sql *db, const char *sql, const char *token,
		      struct tb_stmt **row)
{
	unsigned char hash[TB_TOKEN_HASH_LEN];
	struct tb_stmt *st = NULL;
	int src, rc;

	*row = NULL;
	if (!tb_token_well_formed(token))
		return TB_EAUTH;
	rc = tb_token_hash(token, hash);
	if (rc < 0)
		return rc;
	src = tb_sql_prepare(db, sql, 0, &st);
	if (src != TB_OK)
		return tb_sql_err(src);
	tb_sql_bind_text(st, 1, token, TB_TOKEN_PREFIX_LEN);
	rc = TB_EAUTH;
	while ((src = tb_sql_step(st)) == TB_SQL_ROW) {
		/* column 0: token_hash, column 1: revoked_at */
		size_t hn = 0;
		const void *h = tb_sql_column_blob(st, 0, &hn);

		if (!h || hn != TB_TOKEN_HASH_LEN)
			continue;
		if (!tb_token_hash_equal(h, hash))
			continue;
		if (!tb_sql_column_null(st, 1))
			break; /* revoked */
		*row = st;
		return TB_OK;
	}
	if (src != TB_SQL_ROW && src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	tb_sql_finalize(st);
	return rc;
}

int tb_auth_device(struct tb_sql *db, const char *token, struct tb_principal *p)
{
	struct tb_stmt *st = NULL;
	const char *t;
	int rc;

	rc = token_find(db,
			"SELECT token_hash, revoked_at, id, school, device "
			"FROM devices WHERE token_prefix = ?1",
			token, &st);
	if (rc < 0)
		return rc;
	memset(p, 0, sizeof(*p));
	p->token_id = tb_sql_column_int64(st, 2);
	t = tb_sql_column_text(st, 3);
	snprintf(p->school, sizeof(p->school), "%s", t ? t : "");
	t = tb_sql_column_text(st, 4);
	snprintf(p->device, sizeof(p->device), "%s", t ? t : "");
	tb_sql_finalize(st);
	return TB_OK;
}

int tb_auth_admin(struct tb_sql *db, const char *token)
{
	struct tb_stmt *st = NULL;
	int rc;

	rc = token_find(db,
			"SELECT token_hash, revoked_at FROM admin_tokens "
			"WHERE token_prefix = ?1",
			token, &st);
	tb_sql_finalize(st);
	return rc;
}

/* Inserts a token row: devices (school != NULL) or admin_tokens. */
static int token_insert(struct tb_sql *db, const char *school, char *token,
			int64_t *id)
{
	unsigned char hash[TB_TOKEN_HASH_LEN];
	struct tb_stmt *st = NULL;
	int src, rc;

	rc = tb_token_new(token);
	if (rc == TB_OK)
		rc = tb_token_hash(token, hash);
	if (rc < 0)
		return rc;
	src = tb_sql_prepare(db, school
			? "INSERT INTO devices(token_prefix, token_hash, school,"
			  " enrolled_at) VALUES(?1, ?2, ?3, ?4) RETURNING id"
			: "INSERT INTO admin_tokens(token_prefix, token_hash,"
			  " created_at) VALUES(?1, ?2, ?4) RETURNING id", 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, token, TB_TOKEN_PREFIX_LEN);
		tb_sql_bind_blob(st, 2, hash, sizeof(hash));
		if (school)
			tb_sql_bind_text(st, 3, school, -1);
		tb_sql_bind_int64(st, 4, (int64_t)time(NULL));
		src = tb_sql_step(st);
	}
	rc = src == TB_SQL_ROW ? TB_OK : tb_sql_err(src);
	if (rc == TB_OK)
		*id = tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	return rc;
}

static int tx_end(struct tb_sql *db, int rc, char *msg, size_t msglen)
{
	if (rc == TB_OK)
		rc = tb_sql_exec(db, "COMMIT", msg, msglen);
	if (rc < 0)
		tb_sql_exec(db, "ROLLBACK", NULL, 0);
	return rc;
}

int tb_auth_enroll(struct tb_sql *db, const struct tb_org_school *s, char *token,
		   int64_t *id, char *msg, size_t msglen)
{
	return tb_auth_enroll_named(db, s, NULL, token, id, msg, msglen);
}

int tb_auth_enroll_named(struct tb_sql *db, const struct tb_org_school *s,
			 const struct tb_org_names *n, char *token,
			 int64_t *id, char *msg, size_t msglen)
{
	int rc;

	rc = tb_sql_exec(db, "BEGIN IMMEDIATE", msg, msglen);
	if (rc < 0)
		return rc;
	rc = tb_org_register_school(db, s, msg, msglen);
	if (rc == TB_OK)
		rc = tb_org_name_parents(db, s->code, n, msg, msglen);
	if (rc == TB_OK) {
		rc = token_insert(db, s->code, token, id);
		if (rc < 0)
			snprintf(msg, msglen, "cannot store the token: %s",
				 tb_sql_errmsg(db));
	}
	if (rc == TB_OK) /* outside the database too (tokjournal.h) */
		rc = tb_tokjournal_enrolled(db, 0, *id, msg, msglen);
	rc = tx_end(db, rc, msg, msglen);
	if (rc < 0)
		memset(token, 0, TB_TOKEN_LEN + 1);
	return rc;
}

int tb_auth_admin_new(struct tb_sql *db, char *token, int64_t *id)
{
	char msg[512] = "";
	int rc = tb_sql_exec(db, "BEGIN IMMEDIATE", msg, sizeof(msg));

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
static int run_counted(struct tb_sql *db, const char *sql, const char *what,
		       int64_t *n)
{
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	src = tb_sql_prepare(db, sql, 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, what, -1);
		if (tb_sql_bind_parameter_count(st) >= 2)
			tb_sql_bind_int64(st, 2, (int64_t)time(NULL));
		src = tb_sql_step(st);
	}
	if (src == TB_SQL_ROW)
		*n = tb_sql_column_int64(st, 0);
	else if (src == TB_SQL_DONE)
		*n += tb_sql_changes(db);
	else
		rc = tb_sql_err(src);
	tb_sql_finalize(st);
	return rc;
}

static int revoke_prefix(struct tb_sql *db, const char *what, int64_t *count,
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

static int revoke_where(struct tb_sql *db, const char *where, const char *what,
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

int tb_auth_revoke(struct tb_sql *db, enum tb_revoke_by by, const char *what,
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
	rc = tb_sql_exec(db, "BEGIN IMMEDIATE", msg, msglen);
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

static const char *col_text(struct tb_stmt *st, int col)
{
	const char *t = tb_sql_column_text(st, col);

	return t ? t : "";
}

int tb_auth_devices(struct tb_sql *db, const char *school, tb_device_fn fn,
		    void *arg)
{
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	src = tb_sql_prepare(db, "SELECT d.id, d.school, d.token_prefix, coalesce(d.device, ''),"
		" d.enrolled_at, coalesce(d.last_seen, 0),"
		" coalesce(c.committed_through, 0), coalesce(d.revoked_at, 0)"
		" FROM devices d LEFT JOIN cursors c ON c.device = d.device"
		" WHERE CAST(?1 AS TEXT) IS NULL OR d.school = ?1 ORDER BY d.school, d.id", 0, &st);
	if (src != TB_OK) {
		rc = tb_sql_err(src);
		goto out;
	}
	tb_sql_bind_text(st, 1, school, -1);
	while ((src = tb_sql_step(st)) == TB_SQL_ROW) {
		struct tb_device_row r;

		r.id = tb_sql_column_int64(st, 0);
		r.school = col_text(st, 1);
		r.token_prefix = col_text(st, 2);
		r.device = col_text(st, 3);
		r.enrolled_at = tb_sql_column_int64(st, 4);
		r.last_seen = tb_sql_column_int64(st, 5);
		r.committed_through = tb_sql_column_int64(st, 6);
		r.revoked_at = tb_sql_column_int64(st, 7);
		rc = fn(arg, &r);
		if (rc != 0)
			goto out;
	}
	if (src != TB_SQL_DONE)
		rc = tb_sql_err(src);
out:
	tb_sql_finalize(st);
	return rc;
}
