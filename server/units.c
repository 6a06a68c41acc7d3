/* units.c - the office's units: loading the list and changing one unit
 * (see units.h; the output formats are in units_out.c).
 *
 * A change reads the unit, checks every field it gives against the unit's
 * type and the closures already recorded, and only then writes, all
 * inside one BEGIN IMMEDIATE transaction; any refusal rolls it back, so a
 * refused command leaves the database as it was.
 */
#include "server/units.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/org.h"
#include "server/sql.h"

/* ---- loading ------------------------------------------------------------ */

/* The closure shown for a unit: the one covering today (?1), else the
 * latest. Rows: province, its districts, each district's schools. */
static const char list_sql[] =
	"SELECT u.code, u.name, u.type, u.level, u.district, d.name,"
	" u.province, p.name,"
	" (SELECT count(*) FROM devices v WHERE v.school = u.code"
	"  AND v.revoked_at IS NULL),"
	" (SELECT max(v.last_seen) FROM devices v WHERE v.school = u.code),"
	" c.closed_from, c.reopened_from"
	" FROM units u"
	" LEFT JOIN units d ON d.code = u.district"
	" LEFT JOIN units p ON p.code = u.province"
	" LEFT JOIN unit_closures c ON c.unit = u.code AND c.closed_from ="
	"  (SELECT x.closed_from FROM unit_closures x WHERE x.unit = u.code"
	"   ORDER BY (x.closed_from <= ?1 AND (x.reopened_from IS NULL"
	"   OR x.reopened_from > ?1)) DESC, x.closed_from DESC LIMIT 1)"
	" WHERE %s"
	" ORDER BY coalesce(u.province, u.code),"
	" CASE u.type WHEN 'province' THEN '' WHEN 'district' THEN u.code"
	"  ELSE coalesce(u.district, '') END,"
	" CASE u.type WHEN 'province' THEN 0 WHEN 'district' THEN 1 ELSE 2 END,"
	" u.code";

static void col_copy(struct tb_stmt *st, int col, char *out, size_t outlen)
{
	const char *t = tb_sql_column_text(st, col);

	snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

/* A copy of a text column, or NULL when it is NULL; *rc = TB_ENOMEM when
 * the copy fails. */
static char *col_dup(struct tb_stmt *st, int col, int *rc)
{
	const char *t = tb_sql_column_text(st, col);
	char *s;

	if (!t)
		return NULL;
	s = tb_strdup((const char *)t);
	if (!s)
		*rc = TB_ENOMEM;
	return s;
}

static int row_read(struct tb_stmt *st, const char *today,
		    struct tb_unit_row *r)
{
	int rc = TB_OK;

	memset(r, 0, sizeof(*r));
	col_copy(st, 0, r->code, sizeof(r->code));
	r->name = col_dup(st, 1, &rc);
	col_copy(st, 2, r->type, sizeof(r->type));
	col_copy(st, 3, r->level, sizeof(r->level));
	col_copy(st, 4, r->district, sizeof(r->district));
	r->district_name = col_dup(st, 5, &rc);
	col_copy(st, 6, r->province, sizeof(r->province));
	r->province_name = col_dup(st, 7, &rc);
	r->devices = (long)tb_sql_column_int64(st, 8);
	r->last_seen = tb_sql_column_int64(st, 9);
	col_copy(st, 10, r->closed_from, sizeof(r->closed_from));
	col_copy(st, 11, r->reopened_from, sizeof(r->reopened_from));
	r->closed = r->closed_from[0] && strcmp(r->closed_from, today) <= 0 &&
		    (!r->reopened_from[0] ||
		     strcmp(r->reopened_from, today) > 0);
	if (rc == TB_OK && !r->name)
		rc = TB_ENOMEM; /* names are NOT NULL */
	return rc;
}

/* Appends the rows of st to l. */
static int rows_read(struct tb_stmt *st, struct tb_unit_list *l)
{
	char today[TB_DATE_LEN];
	size_t cap = 0;
	int src, rc = TB_OK;

	tb_date_format(tb_date_today(), today);
	tb_sql_bind_text(st, 1, today, -1);
	while (rc == TB_OK && (src = tb_sql_step(st)) == TB_SQL_ROW) {
		if (l->count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct tb_unit_row *n;

			n = tb_realloc(l->rows, ncap * sizeof(*n));
			if (!n)
				return TB_ENOMEM;
			l->rows = n;
			cap = ncap;
		}
		rc = row_read(st, today, &l->rows[l->count]);
		l->count++; /* a half-read row is freed with the list */
	}
	if (rc == TB_OK && src != TB_SQL_DONE)
		rc = tb_sql_err(src);
	return rc;
}

/* Loads the units `where` selects (?2 bound to arg). */
static int units_load(struct tb_sql *db, const char *where, const char *arg,
		      struct tb_unit_list **out, char *msg, size_t msglen)
{
	struct tb_unit_list *l;
	struct tb_stmt *st = NULL;
	char sql[sizeof(list_sql) + 64];
	int src, rc;

	*out = NULL;
	l = tb_calloc(1, sizeof(*l));
	if (!l)
		return TB_ENOMEM;
	snprintf(sql, sizeof(sql), list_sql, where);
	src = tb_sql_prepare(db, sql, 0, &st);
	if (src != TB_OK) {
		rc = tb_sql_err(src);
		goto out;
	}
	if (arg)
		tb_sql_bind_text(st, 2, arg, -1);
	rc = rows_read(st, l);
out:
	if (rc < 0 && rc != TB_ENOMEM)
		snprintf(msg, msglen, "cannot read the units: %s",
			 tb_sql_errmsg(db));
	tb_sql_finalize(st);
	if (rc < 0)
		tb_unit_list_destroy(l);
	else
		*out = l;
	return rc;
}

static int not_found(const char *field, const char *code, char *msg,
		     size_t msglen)
{
	snprintf(msg, msglen, "%s: no school, district or province has the "
		 "code '%s'", field, code);
	return TB_ENOTFOUND;
}

int tb_units_list(struct tb_sql *db, const char *district,
		  struct tb_unit_list **out, char *msg, size_t msglen)
{
	struct tb_org_unit u;
	int rc;

	*out = NULL;
	if (!district)
		return units_load(db, "1 = 1", NULL, out, msg, msglen);
	rc = tb_org_unit_get(db, district, &u);
	if (rc == TB_ENOTFOUND) {
		snprintf(msg, msglen, "district: no district has the code '%s'",
			 district);
		return rc;
	}
	if (rc == TB_OK && strcmp(u.type, "district") != 0) {
		snprintf(msg, msglen, "district: '%s' is a %s, not a district",
			 district, u.type);
		return TB_EINVAL;
	}
	if (rc < 0)
		return rc;
	return units_load(db, "u.code = ?2 OR (u.type = 'school' AND"
			  " u.district = ?2)", district, out, msg, msglen);
}

int tb_units_get(struct tb_sql *db, const char *code, struct tb_unit_list **out,
		 char *msg, size_t msglen)
{
	int rc = units_load(db, "u.code = ?2", code, out, msg, msglen);

	if (rc == TB_OK && (*out)->count == 0) {
		tb_unit_list_destroy(*out);
		*out = NULL;
		return not_found("unit", code, msg, msglen);
	}
	return rc;
}

void tb_unit_list_destroy(struct tb_unit_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->count; i++) {
		tb_free(l->rows[i].name);
		tb_free(l->rows[i].district_name);
		tb_free(l->rows[i].province_name);
	}
	tb_free(l->rows);
	tb_free(l);
}

/* ---- dates as the office types them ---------------------------------- */

/* Reads 1..max digits at *p into *v; the number of digits read. */
static int digits(const char **p, int max, int *v)
{
	int n = 0;

	*v = 0;
	while (n < max && **p >= '0' && **p <= '9') {
		*v = *v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n;
}

/* Splits "YYYY-MM-DD" or "d/m/yyyy" into y, m, d without checking the
 * calendar. 0 or TB_EINVAL. */
static int date_split(const char *s, int *y, int *m, int *d)
{
	const char *p = s;

	if (digits(&p, 4, y) == 4 && *p == '-') {
		p++;
		if (digits(&p, 2, m) == 2 && *p++ == '-' &&
		    digits(&p, 2, d) == 2 && !*p)
			return TB_OK;
		return TB_EINVAL;
	}
	p = s;
	if (digits(&p, 2, d) >= 1 && *p++ == '/' && digits(&p, 2, m) >= 1 &&
	    *p++ == '/' && digits(&p, 4, y) == 4 && !*p)
		return TB_OK;
	return TB_EINVAL;
}

/* Reads the date of option `field`: YYYY-MM-DD or dd/mm/yyyy, a day that
 * exists. 0 with *out, or TB_EINVAL with msg naming field, rule, value. */
static int date_read(const char *field, const char *s, int32_t *out,
		     char *msg, size_t msglen)
{
	int y = 0, m = 0, d = 0;

	if (date_split(s, &y, &m, &d) < 0) {
		snprintf(msg, msglen, "%s: '%s' is not a date: write it as "
			 "dd/mm/yyyy or YYYY-MM-DD (01/09/2025 or 2025-09-01)",
			 field, s);
		return TB_EINVAL;
	}
	if (y < TB_YEAR_MIN || y > TB_YEAR_MAX) {
		snprintf(msg, msglen, "%s: '%s': the year must be %d to %d",
			 field, s, TB_YEAR_MIN, TB_YEAR_MAX);
		return TB_EINVAL;
	}
	if (m < 1 || m > 12) {
		snprintf(msg, msglen, "%s: '%s': there is no month %d", field,
			 s, m);
		return TB_EINVAL;
	}
	if (d < 1 || d > tb_days_in_month(y, m)) {
		snprintf(msg, msglen, "%s: '%s' does not exist: month %d of %d "
			 "has %d days", field, s, m, y,
			 tb_days_in_month(y, m));
		return TB_EINVAL;
	}
	*out = tb_date_from_ymd(y, m, d);
	return TB_OK;
}

/* ---- closures ----------------------------------------------------------- */

#define dmy tb_date_format_vn
/* The stored "YYYY-MM-DD" of column col as a day (0 if NULL). */
static int32_t col_day(struct tb_stmt *st, int col)
{
	const char *t = tb_sql_column_text(st, col);
	int32_t day = 0;

	if (t)
		tb_date_parse((const char *)t, &day);
	return day;
}

/* Runs sql with ?1 code, ?2 and ?3 the days a and b as YYYY-MM-DD (b < 0:
 * NULL). On a row, *first and *second get its two date columns and *hit
 * is 1. */
static int closure_query(struct tb_sql *db, const char *sql, const char *code,
			 int32_t a, int32_t b, int *hit, int32_t *first,
			 int32_t *second)
{
	char da[TB_DATE_LEN], db_[TB_DATE_LEN];
	struct tb_stmt *st = NULL;
	int src;

	*hit = 0;
	src = tb_sql_prepare(db, sql, 0, &st);
	if (src == TB_OK) {
		tb_sql_bind_text(st, 1, code, -1);
		tb_sql_bind_text(st, 2, tb_date_format(a, da), -1);
		if (b >= 0)
			tb_sql_bind_text(st, 3, tb_date_format(b, db_), -1);
		src = tb_sql_step(st);
	}
	if (src == TB_SQL_ROW && tb_sql_column_count(st) >= 2) {
		*hit = 1;
		*first = col_day(st, 0);
		*second = col_day(st, 1);
	}
	tb_sql_finalize(st);
	return src == TB_SQL_ROW || src == TB_SQL_DONE ? TB_OK
						       : tb_sql_err(src);
}

/* Records a closure [from, until) (until < 0: still closed) unless it
 * overlaps one already recorded. */
static int closure_add(struct tb_sql *db, const char *code, int32_t from,
		       int32_t until, char *msg, size_t msglen)
{
	char a[TB_DATE_LEN], b[TB_DATE_LEN] = "", c[TB_DATE_LEN];
	int32_t ofrom = 0, ountil = 0;
	int hit = 0, rc;

	rc = closure_query(db, "SELECT closed_from, reopened_from FROM"
			   " unit_closures WHERE unit = ?1 AND (CAST(?3 AS TEXT) IS NULL OR"
			   " closed_from < ?3) AND (reopened_from IS NULL OR"
			   " reopened_from > ?2) ORDER BY closed_from LIMIT 1",
			   code, from, until, &hit, &ofrom, &ountil);
	if (rc == TB_OK && hit) {
		if (ountil)
			dmy(ountil, b);
		snprintf(msg, msglen, "close_from: %s is already closed from "
			 "%s%s%s, which overlaps a closure from %s; a school "
			 "is closed once at a time", code, dmy(ofrom, a),
			 ountil ? " until " : " (still closed)", b,
			 dmy(from, c));
		return TB_ECONFLICT;
	}
	if (rc == TB_OK)
		rc = closure_query(db, "INSERT INTO unit_closures(unit,"
				   " closed_from, reopened_from)"
				   " VALUES(?1, ?2, ?3)", code, from, until,
				   &hit, &ofrom, &ountil);
	return rc;
}

/* Sets the first day open again of the school's open-ended closure. */
static int closure_reopen(struct tb_sql *db, const char *code, int32_t day,
			  const char *typed, char *msg, size_t msglen)
{
	char a[TB_DATE_LEN];
	int32_t from = 0, none = 0;
	int hit = 0, rc;

	rc = closure_query(db, "SELECT closed_from, reopened_from FROM"
			   " unit_closures WHERE unit = ?1 AND reopened_from IS"
			   " NULL", code, day, -1, &hit, &from, &none);
	if (rc == TB_OK && !hit) {
		snprintf(msg, msglen, "reopen_from: %s is not closed, so it "
			 "cannot be reopened (from '%s')", code, typed);
		return TB_ECONFLICT;
	}
	if (rc == TB_OK && day <= from) {
		snprintf(msg, msglen, "reopen_from: '%s' is not after the day "
			 "%s closed (%s): a school reopens after it closes",
			 typed, code, dmy(from, a));
		return TB_EINVAL;
	}
	if (rc == TB_OK)
		rc = closure_query(db, "UPDATE unit_closures SET reopened_from"
				   " = ?2 WHERE unit = ?1 AND reopened_from IS"
				   " NULL", code, day, -1, &hit, &from, &none);
	return rc;
}

/* ---- a change ----------------------------------------------------------- */

int tb_unit_change_any(const struct tb_unit_change *c)
{
	return c->name || c->district || c->level || c->close_from ||
	       c->reopen_from;
}

/* The first field of c that only a school takes, or NULL. */
static const char *school_only_field(const struct tb_unit_change *c)
{
	return c->district      ? "district"
	       : c->level       ? "level"
	       : c->close_from  ? "close_from"
	       : c->reopen_from ? "reopen_from"
				: NULL;
}

/* Checks c against the unit u before anything is written; the dates go
 * to *from and *until (-1 when not given). */
static int change_check(const struct tb_unit_change *c,
			const struct tb_org_unit *u, int32_t *from,
			int32_t *until, char *msg, size_t msglen)
{
	const char *f = school_only_field(c);
	char a[TB_DATE_LEN];
	int rc = TB_OK;

	*from = *until = -1;
	if (f && strcmp(u->type, "school") != 0) {
		int closing = f[0] == 'c' || f[0] == 'r';

		snprintf(msg, msglen, "%s: only a school %s; %s is a %s%s", f,
			 strcmp(f, "district") == 0 ? "moves to another district"
			 : strcmp(f, "level") == 0  ? "has a level"
						    : "is closed and reopened",
			 c->code, u->type,
			 closing ? " (close its schools one by one)" : "");
		return TB_EINVAL;
	}
	if (c->name && !tb_org_name_valid(c->name)) {
		snprintf(msg, msglen, "name: must be 1-200 bytes of UTF-8 text "
			 "without control characters");
		return TB_EINVAL;
	}
	if (c->district && !tb_code_valid(c->district)) {
		snprintf(msg, msglen, "district: not a valid unit code ('%s'; "
			 "2-32 of A-Z 0-9 - _)", c->district);
		return TB_EINVAL;
	}
	if (c->close_from)
		rc = date_read("close_from", c->close_from, from, msg, msglen);
	if (rc == TB_OK && c->reopen_from)
		rc = date_read("reopen_from", c->reopen_from, until, msg,
			       msglen);
	if (rc == TB_OK && *from >= 0 && *until >= 0 && *until <= *from) {
		snprintf(msg, msglen, "reopen_from: '%s' is not after "
			 "close_from %s: a school reopens after it closes",
			 c->reopen_from, dmy(*from, a));
		rc = TB_EINVAL;
	}
	return rc;
}

static int change_apply(struct tb_sql *db, const struct tb_unit_change *c,
			char *msg, size_t msglen)
{
	struct tb_org_unit u;
	int32_t from, until;
	int rc;

	rc = tb_org_unit_get(db, c->code, &u);
	if (rc == TB_ENOTFOUND)
		return not_found("unit", c->code, msg, msglen);
	if (rc == TB_OK)
		rc = change_check(c, &u, &from, &until, msg, msglen);
	if (rc == TB_OK && c->name)
		rc = tb_org_rename(db, c->code, c->name, msg, msglen);
	if (rc == TB_OK && c->district && strcmp(c->district, u.district) != 0)
		rc = tb_org_move_school(db, c->code, c->district, msg, msglen);
	if (rc == TB_OK && c->level)
		rc = tb_org_set_level(db, c->code, c->level, msg, msglen);
	if (rc == TB_OK && from >= 0)
		rc = closure_add(db, c->code, from, until, msg, msglen);
	else if (rc == TB_OK && until >= 0)
		rc = closure_reopen(db, c->code, until, c->reopen_from, msg,
				    msglen);
	return rc;
}

int tb_units_change(struct tb_sql *db, const struct tb_unit_change *c, char *msg,
		    size_t msglen)
{
	int rc;

	if (!c->code || !c->code[0]) {
		snprintf(msg, msglen, "code: give the unit's code");
		return TB_EINVAL;
	}
	rc = tb_sql_exec(db, "BEGIN IMMEDIATE", msg, msglen);
	if (rc < 0)
		return rc;
	msg[0] = '\0';
	rc = change_apply(db, c, msg, msglen);
	if (rc < 0 && !msg[0])
		snprintf(msg, msglen, "unit %s: %s (%s)", c->code,
			 tb_strerror(rc), tb_sql_errmsg(db));
	if (rc < 0 && rc != TB_EAGAIN) /* the refusal says what happens */
		snprintf(msg + strlen(msg), msglen - strlen(msg),
			 "; nothing changed");
	if (rc == TB_OK)
		rc = tb_sql_exec(db, "COMMIT", msg, msglen);
	if (rc < 0 && tb_sql_in_txn(db))
		tb_sql_exec(db, "ROLLBACK", NULL, 0);
	return rc;
}
