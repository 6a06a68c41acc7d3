/* sqlerr.h - what a SQLite failure means to tienbo: the one mapping from a
 * SQLite result code (and the errno under it) to an err.h code and plain
 * words a user can act on ("the disk is full", "read-only").
 *
 * Used by the agent's store (agent/store_db.c) and the server's database
 * (server/db.c), so the same failure has the same exit status, HTTP status
 * and retry decision on both sides (common/err.c).
 */
#ifndef TB_COMMON_SQLERR_H
#define TB_COMMON_SQLERR_H

#include <sqlite3.h>

/* The err.h code for SQLite result src (extended codes accepted). db may
 * be NULL; when given, its errno refines SQLITE_IOERR (ENOSPC is a full
 * disk). If why is not NULL it receives static plain words. */
int tb_sqlite_err(sqlite3 *db, int src, const char **why);

#endif
