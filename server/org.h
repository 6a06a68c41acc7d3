/* org.h - the org hierarchy the server keeps: school -> district ->
 * province (the units table, see db.h).
 *
 * Called by server/auth.c when a device is enrolled, by server/units.c
 * (renaming and moving units) and by the export.
 * A school is registered under a district, which is created on first use
 * under a province, created on first use too (named by its code until
 * someone renames it). The functions here run inside the caller's
 * transaction and change nothing on failure that the caller does not roll
 * back.
 */
#ifndef TB_SERVER_ORG_H
#define TB_SERVER_ORG_H

#include <stddef.h>

#include "common/event.h"

struct tb_sql;

#define TB_ORG_DEFAULT_PROVINCE "HB"

struct tb_org_school {
	const char *code;
	const char *name;
	const char *level;    /* MN TH THCS THPT GDTX office college, or NULL */
	const char *district;
	const char *province; /* NULL: the district's, or TB_ORG_DEFAULT_PROVINCE */
};

/* Names for the district and province of an enrolment (either may be
 * NULL: left as it is, or the code for a unit created now). */
struct tb_org_names {
	const char *district_name;
	const char *province_name;
};

/* One row of the units table, as org.c reads it. */
struct tb_org_unit {
	char type[16];                  /* school, district, province */
	char district[TB_CODE_MAX + 1]; /* "" for a district or province */
	char province[TB_CODE_MAX + 1]; /* "" for a province */
};

/* 1 if level is one of MN TH THCS THPT GDTX office college (college:
 * the pedagogical college, trường sư phạm). */
int tb_org_level_valid(const char *level);

/* Registers (or updates the name and level of) a school. 0; TB_EINVAL with
 * msg for a bad code, name or level; TB_ECONFLICT with msg when the code
 * is taken by a district or province, or the school or district already
 * sits elsewhere in the hierarchy; TB_EIO / TB_EAGAIN from the database. */
int tb_org_register_school(struct tb_sql *db, const struct tb_org_school *s,
			   char *msg, size_t msglen);

/* Names the district and province of school `code` (registered) as n
 * says. 0; TB_EINVAL with msg for a bad name; database errors. */
int tb_org_name_parents(struct tb_sql *db, const char *code,
			const struct tb_org_names *n, char *msg, size_t msglen);

/* The type of unit `code` ("school", "district", "province") into type
 * (16 bytes). 0, TB_ENOTFOUND, TB_EIO. */
int tb_org_unit_type(struct tb_sql *db, const char *code, char *type);
/* The row of unit `code` into *u. 0, TB_ENOTFOUND, TB_EIO / TB_EAGAIN. */
int tb_org_unit_get(struct tb_sql *db, const char *code,
		    struct tb_org_unit *u);

/* 1 if name is a valid unit name: 1-200 bytes of UTF-8 text without
 * control characters. */
int tb_org_name_valid(const char *name);
/* Renames unit `code` (any type). 0; TB_EINVAL with msg for a bad name;
 * TB_ENOTFOUND; database errors. */
int tb_org_rename(struct tb_sql *db, const char *code, const char *name,
		  char *msg, size_t msglen);
/* Sets the level of school `code`. 0; TB_EINVAL with msg for a level not
 * in tb_org_level_valid; TB_ENOTFOUND (no such school); database errors. */
int tb_org_set_level(struct tb_sql *db, const char *code, const char *level,
		     char *msg, size_t msglen);
/* Moves school `code` to district `district`, creating the district under
 * the school's province if it does not exist. 0; TB_ECONFLICT with msg
 * when `district` is another type of unit or in another province;
 * database errors. */
int tb_org_move_school(struct tb_sql *db, const char *code,
		       const char *district, char *msg, size_t msglen);

#endif
