/* org.h - the org hierarchy the server keeps: school -> district ->
 * province (the units table, see db.h).
 *
 * Called by server/auth.c when a device is enrolled and by the export.
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

struct sqlite3;

#define TB_ORG_DEFAULT_PROVINCE "HB"

struct tb_org_school {
	const char *code;
	const char *name;
	const char *level;    /* MN TH THCS THPT GDTX office college, or NULL */
	const char *district;
	const char *province; /* NULL: the district's, or TB_ORG_DEFAULT_PROVINCE */
};

/* 1 if level is one of MN TH THCS THPT GDTX office college (college:
 * the pedagogical college, trường sư phạm). */
int tb_org_level_valid(const char *level);

/* Registers (or updates the name and level of) a school. 0; TB_EINVAL with
 * msg for a bad code, name or level; TB_ECONFLICT with msg when the code
 * is taken by a district or province, or the school or district already
 * sits elsewhere in the hierarchy; TB_EIO / TB_EAGAIN from the database. */
int tb_org_register_school(struct sqlite3 *db, const struct tb_org_school *s,
			   char *msg, size_t msglen);

/* The type of unit `code` ("school", "district", "province") into type
 * (16 bytes). 0, TB_ENOTFOUND, TB_EIO. */
int tb_org_unit_type(struct sqlite3 *db, const char *code, char *type);

#endif
