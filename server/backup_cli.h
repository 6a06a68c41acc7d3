/* backup_cli.h - the `backup` and `restore` commands of tienbo-server:
 * their options and what they print (server/main.c has one table row for
 * each). The work is in server/backup.c and server/restore.c.
 */
#ifndef TB_SERVER_BACKUP_CLI_H
#define TB_SERVER_BACKUP_CLI_H

#include <stddef.h>

#include "server/settings.h"

struct tb_config;

extern const struct tb_opt tb_backup_cli_opts[2];
extern const struct tb_opt tb_restore_cli_opts[2];

#define TB_BACKUP_CLI_HELP \
	"copy the database while it serves (checked, gzip optional)"
#define TB_RESTORE_CLI_HELP \
	"put a backup in place of the database (server stopped)"

/* The commands: 0 or an error with msg (main.c prints it and maps it to
 * the exit status). */
int tb_backup_cli_backup(const struct tb_config *cfg, char *msg,
			 size_t msglen);
int tb_backup_cli_restore(const struct tb_config *cfg, char *msg,
			  size_t msglen);

#endif
