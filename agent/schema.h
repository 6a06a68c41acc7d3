/* schema.h - the agent store's SQLite schema and its migrations.
 *
 * Called by agent/store.c when a file is opened (and by tests that build an
 * older file by hand). Guarantees: a file is brought from any older version
 * to TB_SCHEMA_VERSION in one transaction, or left exactly as it was; a
 * newer file, or a SQLite file that is not a tienbo store, is refused
 * without a single write.
 */
#ifndef TB_AGENT_SCHEMA_H
#define TB_AGENT_SCHEMA_H

#include <stddef.h>

#include "agent/store.h"

/* one number, said once (store.h) */
#define TB_SCHEMA_VERSION TB_STORE_SCHEMA_VERSION
/* PRAGMA application_id of a tienbo agent store: "tbag" in ASCII. */
#define TB_SCHEMA_APP_ID 0x74626167

struct sqlite3;

/* Reads PRAGMA user_version and application_id; refuses a foreign or newer
 * file; upgrades an older one (BEGIN IMMEDIATE, each step, user_version,
 * COMMIT). Returns 0, TB_ECONFLICT (newer: msg names both versions),
 * TB_EINVAL (not a tienbo store), TB_EAGAIN (busy) or TB_EIO, with msg. */
int tb_schema_migrate(struct sqlite3 *db, const char *path, char *msg,
		      size_t msglen);

/* The SQL that takes a file from version v-1 to v (1..TB_SCHEMA_VERSION),
 * or NULL. Static storage; tests use step 1 to build a version-1 file. */
const char *tb_schema_step(int v);

#endif
