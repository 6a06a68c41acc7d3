/* reqlog.h - what a request's log line says about who sent it: the
 * client's address, and for a refused token (401, 403) the token's first
 * 8 characters and the school it belongs to (never the token itself).
 *
 * Called by server/https.c when a request is answered, on the worker's
 * thread and connection. Thread-safe.
 */
#ifndef TB_SERVER_REQLOG_H
#define TB_SERVER_REQLOG_H

#include <stddef.h>

struct MHD_Connection;
struct tb_sql;

/* The client's address ("192.0.2.7", "2001:db8::1") into buf (48 bytes),
 * "?" when MHD does not give one. */
void tb_reqlog_peer(struct MHD_Connection *c, char *buf, size_t len);
/* " token=1515c28d school=HB-101" for the bearer token of the request
 * (" token=1515c28d admin" for an admin token; school=? when no token
 * starts so; " no token" without a bearer token) into buf. db may be
 * NULL (then the school is not looked up). */
void tb_reqlog_who(struct MHD_Connection *c, struct tb_sql *db, char *buf,
		   size_t len);

#endif
