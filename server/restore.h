/* restore.h - `tienbo-server restore`: a backup put back in place of the
 * database, with the server stopped.
 *
 * Called by server/backup_cli.c. The steps (restore.c says why each):
 *  1. the backup (gzip or not, by its first bytes) is copied beside the
 *     database as DB.restore-PID and checked there (integrity_check, a
 *     tienbo-server database, a schema not newer than this server's); a
 *     backup that fails is refused and nothing else is touched;
 *  2. the current database, when there is one and it is sound, is only
 *     replaced with --force (a restore rolls it back);
 *  3. no other process may have the database open: SQLite's own lock on
 *     the file is taken, exclusively, and held to the end (a running
 *     `serve` holds it shared, so restore refuses: TB_EAGAIN, exit 69);
 *  4. the token journal (tokjournal.h) is applied to the copy: tokens
 *     revoked after the backup are revoked in it too; tokens enrolled
 *     after it are named, one line each, with what to do;
 *  5. DB, DB-wal, DB-shm as they are move aside as
 *     DB.before-restore-YYYYMMDD-HHMMSS (and its -wal, -shm), so a stale
 *     WAL never meets the restored file and nothing is deleted;
 *  6. the copy is renamed to DB (0600) and the directory fsync'd.
 */
#ifndef TB_SERVER_RESTORE_H
#define TB_SERVER_RESTORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "server/backup.h"
#include "server/tokjournal.h"

struct tb_restore_result {
	struct tb_backup_counts c;        /* what the backup holds */
	struct tb_tokjournal_result j;    /* what the journal did */
	char kept[4096];                  /* where the old database went, or
					   * "" when there was none */
};

/* Restores the backup from into the database path db (which may be
 * missing or damaged). Lines naming the tokens to enroll again go to out
 * (and the log). 0 with *r filled; TB_ENOTFOUND (no backup file),
 * TB_EINVAL (not a sound tienbo-server backup), TB_ECONFLICT (db is a
 * sound database and force is 0), TB_EAGAIN (db is open in another
 * process: a running server), TB_EIO; msg says which, and on every
 * failure the database and its files are as they were. */
int tb_restore_run(const char *db, const char *from, int force, FILE *out,
		   struct tb_restore_result *r, char *msg, size_t msglen);

#endif
