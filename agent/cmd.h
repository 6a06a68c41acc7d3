/* cmd.h - the commands of tienbo-agent, one function each.
 *
 * Called by tb_cli_main (agent/cli.c) with argv[0] = the command name and
 * the rest of its arguments. Each returns 0 or a negative code of
 * common/err.h after printing its own message on stderr; tb_cli_main turns
 * the code into the exit status. Each command answers --help on stdout.
 *
 * Files by area: cmd_init.c (init), cmd_event.c (record, amend, void),
 * cmd_show.c (list, show, export), cmd_import.c (import, imports), cmd_template.c (template),
 * cmd_status.c (status), cmd_sync.c (sync, run).
 */
#ifndef TB_AGENT_CMD_H
#define TB_AGENT_CMD_H

#include "agent/cli.h"

int tb_cmd_init(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_record(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_amend(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_void(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_list(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_show(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_export(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_import(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_imports(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_template(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_status(struct tb_cli *cli, int argc, char **argv);
/* cmd_sync.c (the sync engine's commands) */
int tb_cmd_sync(struct tb_cli *cli, int argc, char **argv);
int tb_cmd_run(struct tb_cli *cli, int argc, char **argv);

#endif
