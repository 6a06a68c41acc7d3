/* auth.h - device and admin tokens: enrollment, authentication of a
 * request, revocation and the device list (tables devices and
 * admin_tokens, see db.h; token format in token.h).
 *
 * Called by server/https.c for every request and by the local commands in
 * server/main.c. A device token belongs to one school and writes only that
 * school's events; the device uuid it uploads from is bound to it on first
 * use (server/merge.c does the binding inside the batch transaction).
 * Tokens are never stored or logged, only their selector and SHA-256.
 */
#ifndef TB_SERVER_AUTH_H
#define TB_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"
#include "server/org.h"
#include "server/token.h"

struct tb_sql;

/* Who a device token speaks for. */
struct tb_principal {
	int64_t token_id;               /* devices.id */
	char school[TB_CODE_MAX + 1];
	char device[TB_ID_LEN];         /* bound device uuid, "" if none yet */
};

/* Checks a presented device token. 0 and *p filled; TB_EAUTH if it is
 * malformed, unknown or revoked; TB_EAGAIN / TB_EIO from the database. */
int tb_auth_device(struct tb_sql *db, const char *token,
		   struct tb_principal *p);
/* Checks a presented admin token. 0, TB_EAUTH, TB_EAGAIN, TB_EIO. */
int tb_auth_admin(struct tb_sql *db, const char *token);

/* Registers the school (org.h) and creates a device token for it, in one
 * transaction. token: TB_TOKEN_LEN + 1 bytes, to be shown once. *id is the
 * new devices.id. 0 or an error from tb_org_register_school with msg. */
int tb_auth_enroll(struct tb_sql *db, const struct tb_org_school *s,
		   char *token, int64_t *id, char *msg, size_t msglen);
/* The same, naming the school's district and province in the same
 * transaction as n says (NULL: as tb_auth_enroll). */
int tb_auth_enroll_named(struct tb_sql *db, const struct tb_org_school *s,
			 const struct tb_org_names *n, char *token,
			 int64_t *id, char *msg, size_t msglen);
/* Creates an admin token (shown once). 0, TB_EIO, TB_EAGAIN. */
int tb_auth_admin_new(struct tb_sql *db, char *token, int64_t *id);

enum tb_revoke_by {
	TB_REVOKE_PREFIX, /* first 6..12 characters of a token (device or admin) */
	TB_REVOKE_DEVICE, /* a bound device uuid or a devices.id number */
	TB_REVOKE_SCHOOL  /* every token of a school */
};
/* Revokes the matching tokens that are not revoked yet; *count says how
 * many. 0 (count may be 0); TB_EINVAL with msg for a bad prefix or an
 * ambiguous one (several tokens match: give more characters);
 * TB_ENOTFOUND with msg when nothing matches at all. */
int tb_auth_revoke(struct tb_sql *db, enum tb_revoke_by by, const char *what,
		   int64_t *count, char *msg, size_t msglen);

/* One row of the device list; strings borrowed for the callback only. */
struct tb_device_row {
	int64_t id;
	const char *school;
	const char *token_prefix;
	const char *device;        /* "" if not bound */
	int64_t enrolled_at;
	int64_t last_seen;         /* 0: never */
	int64_t committed_through; /* the device's high-water mark */
	int64_t revoked_at;        /* 0: active */
};
typedef int (*tb_device_fn)(void *arg, const struct tb_device_row *row);
/* Calls fn for every device token (of school, if not NULL), ordered by
 * school and id. Stops at the first non-zero return and returns it. */
int tb_auth_devices(struct tb_sql *db, const char *school, tb_device_fn fn,
		    void *arg);

#endif
