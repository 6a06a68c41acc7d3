/* admin.h - the admin HTTP endpoints, for an office that manages the
 * server from elsewhere. Every request carries an admin token (created by
 * `tienbo-server admin-token`); device tokens are refused with 401.
 *
 *   GET  /v1/admin/devices[?school=CODE]          the device list (JSON)
 *   GET  /v1/admin/export?format=json|csv[&school=CODE|&district=CODE]
 *                         [&include_voided=1]      as `export`
 *   POST /v1/admin/enroll?school=&name=&district=[&level=][&province=]
 *                         [&district_name=][&province_name=]
 *                         -> {"id":N,"school":..,"token":"..."} (shown once)
 *   POST /v1/admin/revoke?token_prefix=P | device=ID | school=CODE
 *                         -> {"revoked":N}
 *   GET  /v1/admin/units[?district=CODE]          the units (JSON array,
 *                                                  server/units.h)
 *   POST /v1/admin/unit?code=[&name=][&district=][&level=][&close_from=]
 *                         [&reopen_from=]          changes one unit as
 *                         `tienbo-server unit` does -> the unit (JSON)
 * Parameters are URL query arguments; writes take the pool's write lock (server/dbpool.h).
 * Called by server/https.c for paths under /v1/admin/.
 */
#ifndef TB_SERVER_ADMIN_H
#define TB_SERVER_ADMIN_H

#include "server/resp.h"

struct tb_dbpool;

/* sub is the path after "/v1/admin/". Queues the answer. */
enum MHD_Result tb_admin_handle(struct MHD_Connection *c,
				struct tb_dbpool *pool,
				const struct tb_resp_env *env,
				long busy_timeout_ms, const char *sub,
				const char *method);

#endif
