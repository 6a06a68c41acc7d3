/* cli.h - the tienbo-agent command line: dispatch, exit codes, and what
 * every command shares (the config file, the data directory, the store).
 *
 * Called by agent/main.c (tb_cli_main) and by each command (agent/cmd_*.c,
 * declared in agent/cmd.h). Guarantees: data goes to stdout, messages to
 * stderr prefixed "tienbo-agent: ", and the process exit code is one of
 * the TB_EXIT_* values below (README documents them).
 *
 * Where things are:
 *   config file  --config F, else $TIENBO_CONFIG, else
 *                $XDG_CONFIG_HOME/tienbo/agent.conf, else
 *                ~/.config/tienbo/agent.conf
 *   data dir     data_dir in the config, else $XDG_DATA_HOME/tienbo, else
 *                ~/.local/share/tienbo; the store is DATA_DIR/agent.db
 * Config keys: server, school, token, device (required; written by init),
 * ca_file, data_dir (optional). Other keys are left for later features.
 */
#ifndef TB_AGENT_CLI_H
#define TB_AGENT_CLI_H

#include <limits.h>
#include <stdio.h>

#include "common/err.h" /* TB_EXIT_* */

struct tb_config;
struct tb_store;

#define TB_CLI_PATH_MAX 4096

struct tb_cli {
	const char *prog;                   /* "tienbo-agent" */
	const char *config_opt;             /* --config value, or NULL */
	char config_path[TB_CLI_PATH_MAX];  /* resolved by tb_cli_load */
	char data_dir[TB_CLI_PATH_MAX];     /* resolved by tb_cli_load */
	struct tb_config *cfg;              /* loaded by tb_cli_load */
	struct tb_store *store;             /* opened by tb_cli_open_store */
	int man; /* --man: a command's --help writes its man(7) section */
};

/* Runs the program; returns the process exit code. */
int tb_cli_main(int argc, char **argv);

/* "tienbo-agent: <message>\n" on stderr. */
void tb_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Resolves the config path (see above) into cli->config_path. */
int tb_cli_config_path(struct tb_cli *cli);
/* Default data directory into buf. 0 or TB_ECONFIG (no HOME). */
int tb_cli_default_data_dir(char *buf, size_t buflen);

/* Paths in a config file are relative to the file: makes the config's
 * ca_file and data_dir absolute against path's directory
 * (tb_config_resolve_paths). 0, or TB_ECONFIG / TB_ENOMEM after printing
 * the problem. Called by tb_cli_load and init, on every config loaded. */
int tb_cli_config_paths(struct tb_config *cfg, const char *path);

/* Loads and checks the config (every required key present and well
 * formed) and resolves the data dir. On failure the message (naming the
 * file, the line and the key) is printed and TB_ECONFIG / TB_EIO returned. */
int tb_cli_load(struct tb_cli *cli);
/* tb_cli_load, then opens the store and checks that it belongs to the
 * configured device and school. Messages printed on failure. */
int tb_cli_open_store(struct tb_cli *cli);
/* Closes the store and frees the config; cli can be loaded again. */
void tb_cli_cleanup(struct tb_cli *cli);

/* mkdir -p: creates path and its missing parents with `mode`. 0 or
 * TB_EIO (errno kept). */
int tb_cli_mkdirs(const char *path, unsigned mode);

/* Standard handling of a getopt_long result the command did not expect:
 * prints "CMD: unknown option ..." or "... needs a value" and returns
 * TB_EUSAGE. */
int tb_cli_bad_option(const char *cmd, char **argv, int optind_now, int c);

#endif
