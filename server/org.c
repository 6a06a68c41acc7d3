/* org.c - schools, districts and provinces in the units table (org.h).
 * Every function runs inside the caller's transaction. */
#include "server/org.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "server/db.h"
#include "server/sql.h"

#define NAME_MAX_BYTES 200 /* a unit's name, bytes of UTF-8 */

int tb_org_level_valid(const char *level)
{
	static const char *const levels[] = { "MN", "TH", "THCS", "THPT",
					      "GDTX", "office", "college" };
	size_t i;

	for (i = 0; level && i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(level, levels[i]) == 0)
			return 1;
	return 0;
}

static void copy_col(struct tb_stmt *st, int col, char *out, size_t outlen)
{
	const char *t = tb_sql_column_text(st, col);

	snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

int tb_org_unit_get(struct tb_sql *db, const char *code, struct tb_org_unit *u)
{
	struct tb_stmt *st = NULL;
	int src, rc;

	src = tb_sql_prepare(db, "SELECT type, district, province FROM units "
				 "WHERE code = ?1", 0, &st);
	if (src != TB_OK) {
		rc = tb_sql_err(src);
		goto out;
	}
	tb_sql_bind_text(st, 1, code, -1);
	src = tb_sql_step(st);
	if (src == TB_SQL_DONE) {
		rc = TB_ENOTFOUND;
		goto out;
	}
	if (src != TB_SQL_ROW) {
		rc = tb_sql_err(src);
		goto out;
	}
	copy_col(st, 0, u->type, sizeof(u->type));
	copy_col(st, 1, u->district, sizeof(u->district));
	copy_col(st, 2, u->province, sizeof(u->province));
	rc = TB_OK;
out:
	tb_sql_finalize(st);
	return rc;
}

int tb_org_unit_type(struct tb_sql *db, const char *code, char *type)
{
	struct tb_org_unit u;
	int rc = tb_org_unit_get(db, code, &u);

	if (rc == TB_OK)
		snprintf(type, 16, "%s", u.type);
	return rc;
}

static int unit_insert(struct tb_sql *db, const char *code, const char *name,
		       const char *type, const char *level,
		       const char *district, const char *province)
{
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	src = tb_sql_prepare(db, "INSERT INTO units(code, name, type, level, district,"
				 " province, created_at) VALUES(?1,?2,?3,?4,?5,?6,?7)", 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, code, -1);
		tb_sql_bind_text(st, 2, name, -1);
		tb_sql_bind_text(st, 3, type, -1);
		tb_sql_bind_text(st, 4, level, -1);
		tb_sql_bind_text(st, 5, district, -1);
		tb_sql_bind_text(st, 6, province, -1);
		tb_sql_bind_int64(st, 7, (int64_t)time(NULL));
		src = tb_sql_step(st);
	}
	if (src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	tb_sql_finalize(st);
	return rc;
}

static int school_update(struct tb_sql *db, const struct tb_org_school *s)
{
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	src = tb_sql_prepare(db, "UPDATE units SET name = ?2, level = coalesce(?3, level)"
				 " WHERE code = ?1", 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, s->code, -1);
		tb_sql_bind_text(st, 2, s->name, -1);
		tb_sql_bind_text(st, 3, s->level, -1);
		src = tb_sql_step(st);
	}
	if (src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	tb_sql_finalize(st);
	return rc;
}

static int school_check_args(const struct tb_org_school *s, char *msg,
			     size_t msglen)
{
	if (!s->code || !tb_code_valid(s->code)) {
		snprintf(msg, msglen, "school: not a valid unit code ('%s'; "
			 "2-32 of A-Z 0-9 - _)", s->code ? s->code : "");
		return TB_EINVAL;
	}
	if (!s->district || !tb_code_valid(s->district)) {
		snprintf(msg, msglen, "district: not a valid unit code ('%s')",
			 s->district ? s->district : "");
		return TB_EINVAL;
	}
	if (s->province && !tb_code_valid(s->province)) {
		snprintf(msg, msglen, "province: not a valid unit code ('%s')",
			 s->province);
		return TB_EINVAL;
	}
	if (!tb_org_name_valid(s->name)) {
		snprintf(msg, msglen, "name: must be 1-200 bytes of UTF-8 text "
			 "without control characters");
		return TB_EINVAL;
	}
	if (s->level && !tb_org_level_valid(s->level)) {
		snprintf(msg, msglen, "level: must be one of MN TH THCS THPT "
			 "GDTX office college, not '%s'", s->level);
		return TB_EINVAL;
	}
	if (strcmp(s->code, s->district) == 0 ||
	    (s->province && (strcmp(s->code, s->province) == 0 ||
			     strcmp(s->district, s->province) == 0))) {
		snprintf(msg, msglen, "school, district and province need "
			 "three different codes");
		return TB_EINVAL;
	}
	return TB_OK;
}

/* Makes sure `code` is a province, creating it if absent. */
static int province_ensure(struct tb_sql *db, const char *code, char *msg,
			   size_t msglen)
{
	struct tb_org_unit u;
	int rc = tb_org_unit_get(db, code, &u);

	if (rc == TB_ENOTFOUND)
		return unit_insert(db, code, code, "province", NULL, NULL, NULL);
	if (rc == TB_OK && strcmp(u.type, "province") != 0) {
		snprintf(msg, msglen, "province: '%s' is a %s, not a province",
			 code, u.type);
		return TB_ECONFLICT;
	}
	return rc;
}

/* Makes sure `code` is a district, creating it under province if absent;
 * fills province (TB_CODE_MAX + 1) with the district's province. */
static int district_ensure(struct tb_sql *db, const char *code,
			   const char *want_province, char *province,
			   char *msg, size_t msglen)
{
	struct tb_org_unit u;
	int rc = tb_org_unit_get(db, code, &u);

	if (rc == TB_ENOTFOUND) {
		const char *p = want_province ? want_province
					      : TB_ORG_DEFAULT_PROVINCE;

		rc = province_ensure(db, p, msg, msglen);
		if (rc == TB_OK)
			rc = unit_insert(db, code, code, "district", NULL, NULL, p);
		if (rc == TB_OK)
			snprintf(province, TB_CODE_MAX + 1, "%s", p);
		return rc;
	}
	if (rc < 0)
		return rc;
	if (strcmp(u.type, "district") != 0) {
		snprintf(msg, msglen, "district: '%s' is a %s, not a district",
			 code, u.type);
		return TB_ECONFLICT;
	}
	if (want_province && strcmp(want_province, u.province) != 0) {
		snprintf(msg, msglen, "district '%s' is in province '%s', not '%s'",
			 code, u.province, want_province);
		return TB_ECONFLICT;
	}
	snprintf(province, TB_CODE_MAX + 1, "%s", u.province);
	return TB_OK;
}

int tb_org_register_school(struct tb_sql *db, const struct tb_org_school *s,
			   char *msg, size_t msglen)
{
	char province[TB_CODE_MAX + 1];
	struct tb_org_unit u;
	int rc;

	rc = school_check_args(s, msg, msglen);
	if (rc < 0)
		return rc;
	rc = tb_org_unit_get(db, s->code, &u);
	if (rc == TB_OK) {
		if (strcmp(u.type, "school") != 0) {
			snprintf(msg, msglen, "school: '%s' is a %s, not a school",
				 s->code, u.type);
			return TB_ECONFLICT;
		}
		if (strcmp(u.district, s->district) != 0) {
			snprintf(msg, msglen, "school '%s' is in district '%s', "
				 "not '%s'", s->code, u.district, s->district);
			return TB_ECONFLICT;
		}
		if (s->province && strcmp(u.province, s->province) != 0) {
			snprintf(msg, msglen, "school '%s' is in province '%s', "
				 "not '%s'", s->code, u.province, s->province);
			return TB_ECONFLICT;
		}
		return school_update(db, s);
	}
	if (rc != TB_ENOTFOUND)
		return rc;
	rc = district_ensure(db, s->district, s->province, province, msg,
			     msglen);
	if (rc < 0)
		return rc;
	return unit_insert(db, s->code, s->name, "school", s->level,
			   s->district, province);
}

int tb_org_name_valid(const char *name)
{
	return name && name[0] && tb_text_valid(name, NAME_MAX_BYTES);
}

/* Runs an UPDATE of units with ?1 = code, ?2 = value: 0, TB_ENOTFOUND
 * when no row changed, or a database error. */
static int unit_update(struct tb_sql *db, const char *sql, const char *code,
		       const char *value)
{
	struct tb_stmt *st = NULL;
	int src, rc = TB_OK;

	src = tb_sql_prepare(db, sql, 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, code, -1);
		tb_sql_bind_text(st, 2, value, -1);
		src = tb_sql_step(st);
	}
	if (src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	else if (tb_sql_changes(db) == 0)
		rc = TB_ENOTFOUND;
	tb_sql_finalize(st);
	return rc;
}

int tb_org_rename(struct tb_sql *db, const char *code, const char *name,
		  char *msg, size_t msglen)
{
	if (!tb_org_name_valid(name)) {
		snprintf(msg, msglen, "name: must be 1-%d bytes of UTF-8 text "
			 "without control characters (unit %s)",
			 NAME_MAX_BYTES, code);
		return TB_EINVAL;
	}
	return unit_update(db, "UPDATE units SET name = ?2 WHERE code = ?1",
			   code, name);
}

int tb_org_set_level(struct tb_sql *db, const char *code, const char *level,
		     char *msg, size_t msglen)
{
	if (!tb_org_level_valid(level)) {
		snprintf(msg, msglen, "level: must be one of MN TH THCS THPT "
			 "GDTX office college, not '%s'", level);
		return TB_EINVAL;
	}
	return unit_update(db, "UPDATE units SET level = ?2 WHERE code = ?1"
			   " AND type = 'school'", code, level);
}

int tb_org_name_parents(struct tb_sql *db, const char *code,
			const struct tb_org_names *n, char *msg, size_t msglen)
{
	struct tb_org_unit u;
	int rc;

	if (!n || (!n->district_name && !n->province_name))
		return TB_OK;
	if (n->district_name && !tb_org_name_valid(n->district_name)) {
		snprintf(msg, msglen, "district name: must be 1-%d bytes of "
			 "UTF-8 text without control characters",
			 NAME_MAX_BYTES);
		return TB_EINVAL;
	}
	if (n->province_name && !tb_org_name_valid(n->province_name)) {
		snprintf(msg, msglen, "province name: must be 1-%d bytes of "
			 "UTF-8 text without control characters",
			 NAME_MAX_BYTES);
		return TB_EINVAL;
	}
	rc = tb_org_unit_get(db, code, &u);
	if (rc == TB_OK && n->district_name)
		rc = tb_org_rename(db, u.district, n->district_name, msg, msglen);
	if (rc == TB_OK && n->province_name)
		rc = tb_org_rename(db, u.province, n->province_name, msg, msglen);
	return rc;
}

int tb_org_move_school(struct tb_sql *db, const char *code, const char *district,
		       char *msg, size_t msglen)
{
	char province[TB_CODE_MAX + 1];
	struct tb_org_unit u;
	int rc;

	rc = tb_org_unit_get(db, code, &u);
	if (rc == TB_OK)
		rc = district_ensure(db, district, u.province, province, msg,
				     msglen);
	if (rc == TB_OK)
		rc = unit_update(db, "UPDATE units SET district = ?2 WHERE"
				 " code = ?1 AND type = 'school'", code,
				 district);
	return rc;
}
