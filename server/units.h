/* units.h - the office's units as the office manages them: the list of
 * every province, district and school with its devices, when it was last
 * seen and whether it is closed; and the changes an officer makes to one
 * unit (rename, move a school to another district, change its level,
 * close it from a date, reopen it).
 *
 * Called by server/main.c (the `units` and `unit` commands) and
 * server/admin.c (GET /v1/admin/units, POST /v1/admin/unit), so the
 * command line and HTTP share one set of rules and one wording. A change
 * is one transaction: every field given is checked first, and a refusal
 * (a message naming the field, the rule and the value) changes nothing.
 *
 * Closures (table unit_closures, server/db.h): only a school is closed;
 * closed_from is its first day closed, reopened_from its first day open
 * again (NULL: still closed). Closures of one school never overlap, so
 * "closed for a period [from, to]" (a row with closed_from <= from AND
 * (reopened_from IS NULL OR reopened_from > to)) has one answer.
 */
#ifndef TB_SERVER_UNITS_H
#define TB_SERVER_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/date.h"
#include "common/ids.h"

struct tb_sql;

/* One unit with what the office wants to see of it. */
struct tb_unit_row {
	char code[TB_CODE_MAX + 1];
	char *name;                      /* owned by the list */
	char type[16];                   /* school, district, province */
	char level[16];                  /* "" when not given */
	char district[TB_CODE_MAX + 1];  /* "" for a district or province */
	char *district_name;             /* owned; NULL when no district */
	char province[TB_CODE_MAX + 1];  /* "" for a province */
	char *province_name;             /* owned; NULL when no province */
	long devices;                    /* active (not revoked) tokens */
	int64_t last_seen;               /* latest upload of any token; 0 never */
	/* The closure that covers today, else the latest one ("" none). */
	char closed_from[TB_DATE_LEN];   /* YYYY-MM-DD */
	char reopened_from[TB_DATE_LEN]; /* "" when still closed */
	int closed;                      /* closed today (UTC+7) */
};

struct tb_unit_list {
	size_t count;
	struct tb_unit_row *rows; /* province, its districts, each district's
				     schools; by code within each */
};

/* Every unit, or those of one district (the district and its schools)
 * when district is not NULL. 0 and *out (tb_unit_list_destroy); TB_EINVAL
 * with msg when `district` names a unit that is not a district;
 * TB_ENOTFOUND with msg when no unit has that code; database errors. */
int tb_units_list(struct tb_sql *db, const char *district,
		  struct tb_unit_list **out, char *msg, size_t msglen);
/* One unit: a list of one. 0, TB_ENOTFOUND with msg, database errors. */
int tb_units_get(struct tb_sql *db, const char *code,
		 struct tb_unit_list **out, char *msg, size_t msglen);
void tb_unit_list_destroy(struct tb_unit_list *l);

enum tb_units_format { TB_UNITS_TEXT, TB_UNITS_JSON, TB_UNITS_CSV };
/* "text" (or NULL), "json", "csv". 0 or TB_EINVAL. */
int tb_units_format_parse(const char *s, enum tb_units_format *out);

/* Writes the list: text (a table for people, times local, dates
 * dd/mm/yyyy), JSON (an array of tb_units_json objects) or CSV (UTF-8
 * with a BOM for Excel, times UTC). 0, TB_EIO, TB_ENOMEM. */
int tb_units_write(const struct tb_unit_list *l, enum tb_units_format fmt,
		   FILE *f);
/* The list as JSON text: an array, or (one != 0) the first unit as an
 * object: {"code","name","type","level","district","district_name",
 * "province","province_name","devices","last_seen","closed",
 * "closed_from","reopened_from"} (absent values null, last_seen as
 * "YYYY-MM-DDTHH:MM:SSZ"). NULL on TB_ENOMEM; free with tb_free. */
char *tb_units_json(const struct tb_unit_list *l, int one);

/* A change to one unit; NULL fields are left as they are. */
struct tb_unit_change {
	const char *code;
	const char *name;        /* any unit */
	const char *district;    /* a school: its new district (created
				    under the school's province if new) */
	const char *level;       /* a school: MN TH THCS THPT GDTX office
				    college */
	const char *close_from;  /* a school: first day closed */
	const char *reopen_from; /* a school: first day open again */
};
/* 1 when c changes something. */
int tb_unit_change_any(const struct tb_unit_change *c);
/* Applies c in one BEGIN IMMEDIATE transaction. Dates are YYYY-MM-DD or
 * dd/mm/yyyy. 0; refusals change nothing and say why in msg:
 * TB_ENOTFOUND (no such unit), TB_EINVAL (a bad value, a field that does
 * not apply to the unit's type, a reopening not after the closing),
 * TB_ECONFLICT (closing a closed school, reopening an open one, a
 * district elsewhere); TB_EAGAIN / TB_EIO from the database. */
int tb_units_change(struct tb_sql *db, const struct tb_unit_change *c,
		    char *msg, size_t msglen);

#endif
