/* cli.c - tienbo-agent's entry point: global options, the command table,
 * exit codes, and loading the config and the store for a command.
 *
 * Called by agent/main.c. Guarantees (see cli.h): messages on stderr,
 * data on stdout, an exit code from TB_EXIT_*; a config problem names the
 * file, the line and the key.
 */
#include "agent/cli.h"

/* TB_VERSION is project(VERSION) in CMakeLists.txt (a compile definition
 * of tb_agent), so both binaries print the one version. */
#ifndef TB_VERSION
#error "TB_VERSION comes from CMakeLists.txt: build with CMake"
#endif

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/cmd.h"
#include "agent/i18n.h"
#include "agent/store.h"
#include "common/config.h"
#include "common/err.h"
#include "common/event.h"
#include "common/i18n.h"
#include "common/man.h"

#define PROG "tienbo-agent"

struct command {
	const char *name;
	int (*run)(struct tb_cli *cli, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "init", tb_cmd_init, N_("write the config and make this device's "
				  "id") },
	{ "record", tb_cmd_record, N_("record a new event: record KIND "
				      "[--FIELD VALUE...]") },
	{ "list", tb_cmd_list, N_("list events (latest revision of each)") },
	{ "show", tb_cmd_show, N_("show one event and its revisions") },
	{ "amend", tb_cmd_amend, N_("change fields of an event (a new "
				    "revision)") },
	{ "void", tb_cmd_void, N_("void an event, with a reason (a new "
				  "revision)") },
	{ "import", tb_cmd_import, N_("record every row of a sheet (.xlsx "
				      "or CSV), all or nothing") },
	{ "imports", tb_cmd_imports, N_("list past imports (undo one with "
					"import --undo ID)") },
	{ "template", tb_cmd_template, N_("write a sheet to fill and "
					  "import (xlsx or csv)") },
	{ "export", tb_cmd_export, N_("write every event as CSV or JSON") },
	{ "status", tb_cmd_status, N_("what waits to upload, and how the "
				      "last sync went") },
	{ "sync", tb_cmd_sync, N_("upload what is pending, now (one pass)") },
	{ "run", tb_cmd_run, N_("keep uploading in the background") },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void tb_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tb_cli_bad_option(const char *cmd, char **argv, int optind_now, int c)
{
	const char *arg = optind_now > 0 ? argv[optind_now - 1] : "?";

	if (c == ':')
		tb_cli_error(_("%s: option '%s' needs a value"), cmd, arg);
	else
		tb_cli_error(_("%s: unknown option '%s' (see '%s %s --help')"),
			     cmd, arg, PROG, cmd);
	return TB_EUSAGE;
}

static void usage(FILE *out)
{
	size_t i;
	int k;

	fprintf(out, _("Usage: %s [--config FILE] COMMAND [ARGS]\n\n"), PROG);
	fputs(_("Records a school's gender-equality activities on this "
		"machine, offline,\nand uploads them to the central office "
		"when a link is up.\n"), out);
	fputs(_("\nCommands:\n"), out);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			_(commands[i].summary));
	fputs(_("\nKinds of record:"), out);
	for (k = 0; k < TB_KIND_COUNT; k++)
		fprintf(out, " %s", tb_kind_name(k));
	fputs("\n\n", out);
	fprintf(out, _("'%s COMMAND --help' describes a command.\n\n"), PROG);
	fputs(_("Config file: --config FILE, else $TIENBO_CONFIG, else\n"
		"  $XDG_CONFIG_HOME/tienbo/agent.conf or "
		"~/.config/tienbo/agent.conf\n"
		"Data: data_dir in the config, else $XDG_DATA_HOME/tienbo or\n"
		"  ~/.local/share/tienbo (the store is agent.db there)\n\n"),
	      out);
	fputs(_("Exit codes: 0 ok, 64 usage, 65 bad data, 69 server "
		"unreachable,\n  74 I/O error (disk full, read-only), 78 "
		"config error.\n"), out);
}

/* `tienbo-agent --man` (hidden; cmake/install.cmake runs it at build
 * time): the manual page. Each command is run with --help while cli->man
 * is set, so its own option table (agent/opts.c) writes its section: the
 * page holds exactly what --help says. One page, a subsection per
 * command, as tienbo-server's. */
static int man_page(struct tb_cli *cli)
{
	size_t i;

	tb_man_head(stdout, "TIENBO-AGENT", "tienbo-agent", TB_VERSION,
		    "a school's offline recorder of gender-equality "
		    "activities, and its uploader");
	tb_man_section(stdout, "SYNOPSIS");
	tb_man_verbatim(stdout, "tienbo-agent [--config FILE] COMMAND [ARGS]\n"
			"tienbo-agent COMMAND --help\n"
			"tienbo-agent --version");
	tb_man_section(stdout, "DESCRIPTION");
	tb_man_text(stdout, "Records a school's gender-equality activities "
		    "on this machine, offline, and uploads them to the "
		    "central office (tienbo-server) when a link is up. "
		    "Messages are in Vietnamese when the locale is vi_VN.");
	tb_man_section(stdout, "COMMANDS");
	cli->man = 1;
	for (i = 0; i < NCOMMANDS; i++) {
		char name[32], help[] = "--help";
		char *args[] = { name, help, NULL };

		snprintf(name, sizeof(name), "%s", commands[i].name);
		optind = 0;
		commands[i].run(cli, 2, args);
	}
	tb_man_section(stdout, "FILES");
	tb_man_item(stdout, "--config FILE", "the config file; else "
		    "$TIENBO_CONFIG, else $XDG_CONFIG_HOME/tienbo/agent.conf or "
		    "~/.config/tienbo/agent.conf. Keys: server, school, token, "
		    "device (written by init), ca_file, data_dir; a relative "
		    "path in it is taken from the file's directory");
	tb_man_item(stdout, "DATA_DIR/agent.db", "the store: data_dir in the "
		    "config, else $XDG_DATA_HOME/tienbo or ~/.local/share/tienbo");
	tb_man_section(stdout, "EXIT STATUS");
	tb_man_text(stdout, "0 ok, 64 usage, 65 bad data, 69 server "
		    "unreachable, 74 I/O error (disk full, read-only), 78 "
		    "config error.");
	tb_man_section(stdout, "SEE ALSO");
	tb_man_text(stdout, "tienbo-server(1)");
	return 1;
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Global options before the command: --config F, --help, --version. */
static int global_options(struct tb_cli *cli, int argc, char **argv,
			  int *first)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "man", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opterr = 0;
	optind = 1;
	/* '+': stop at the command name, leave its options to it. */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			cli->config_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'M':
			return man_page(cli);
		case 'V':
			printf(_("%s %s (store schema %d)\n"), PROG,
			       TB_VERSION, TB_STORE_SCHEMA_VERSION);
			return 1;
		default:
			usage(stderr);
			return tb_cli_bad_option(PROG, argv, optind, c);
		}
	}
	*first = optind;
	return 0;
}

int tb_cli_main(int argc, char **argv)
{
	struct tb_cli cli;
	const struct command *cmd;
	int rc, first = 0;

	tb_i18n_init(); /* first: every message after it is in the
			 * clerk's language */
	memset(&cli, 0, sizeof(cli));
	cli.prog = PROG;
	rc = global_options(&cli, argc, argv, &first);
	if (rc != 0)
		return rc > 0 ? TB_EXIT_OK : tb_err_exit(rc);
	if (first >= argc) {
		usage(stderr);
		tb_cli_error(_("no command given"));
		return TB_EXIT_USAGE;
	}
	if (strcmp(argv[first], "help") == 0) {
		if (first + 1 < argc && (cmd = find_command(argv[first + 1]))) {
			char *args[] = { argv[first + 1], "--help", NULL };

			optind = 0;
			return tb_err_exit(cmd->run(&cli, 2, args));
		}
		usage(stdout);
		return TB_EXIT_OK;
	}
	cmd = find_command(argv[first]);
	if (!cmd) {
		tb_cli_error(_("unknown command '%s' (see '%s --help')"),
			     argv[first], PROG);
		return TB_EXIT_USAGE;
	}
	optind = 0; /* 0, not 1: glibc then forgets the '+' of the first pass */
	opterr = 0;
	rc = cmd->run(&cli, argc - first, argv + first);
	tb_cli_cleanup(&cli);
	if (fflush(stdout) != 0 && rc == TB_OK) {
		tb_cli_error(_("cannot write the output: %s"),
			     strerror(errno));
		rc = TB_EIO;
	}
	return tb_err_exit(rc);
}

/* ---- config and store --------------------------------------------------- */

static int join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	return (n < 0 || (size_t)n >= len) ? TB_ETOOBIG : TB_OK;
}

int tb_cli_config_path(struct tb_cli *cli)
{
	const char *env = getenv("TIENBO_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int rc;

	if (cli->config_opt)
		rc = join(cli->config_path, sizeof(cli->config_path),
			  cli->config_opt, "");
	else if (env && env[0])
		rc = join(cli->config_path, sizeof(cli->config_path), env, "");
	else if (xdg && xdg[0] == '/')
		rc = join(cli->config_path, sizeof(cli->config_path), xdg,
			  "/tienbo/agent.conf");
	else if (home && home[0])
		rc = join(cli->config_path, sizeof(cli->config_path), home,
			  "/.config/tienbo/agent.conf");
	else {
		tb_cli_error(_("no config file: HOME is not set; give "
			       "--config FILE or set TIENBO_CONFIG"));
		return TB_ECONFIG;
	}
	if (rc != TB_OK) {
		tb_cli_error(_("the config path is too long"));
		return TB_ECONFIG;
	}
	return TB_OK;
}

int tb_cli_default_data_dir(char *buf, size_t buflen)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		return join(buf, buflen, xdg, "/tienbo") == TB_OK ? TB_OK
								 : TB_ECONFIG;
	if (home && home[0])
		return join(buf, buflen, home, "/.local/share/tienbo") == TB_OK
			       ? TB_OK
			       : TB_ECONFIG;
	return TB_ECONFIG;
}

int tb_cli_config_paths(struct tb_config *cfg, const char *path)
{
	static const char *const keys[] = { "ca_file", "data_dir" };
	int rc = tb_config_resolve_paths(cfg, path, keys,
					 sizeof(keys) / sizeof(keys[0]));

	if (rc == TB_ENOMEM)
		return rc;
	if (rc != TB_OK) {
		tb_cli_error(_("%s: cannot resolve its ca_file or data_dir "
			       "against the file's directory"), path);
		return TB_ECONFIG;
	}
	return TB_OK;
}

/* Checks one key's value; prints "FILE:LINE: key 'k': problem". */
static int check_key(struct tb_cli *cli, const char *key, int required)
{
	const char *v = tb_config_get(cli->cfg, key);
	const char *problem = NULL;

	if (!v || !v[0]) {
		if (!required)
			return TB_OK;
		if (v)
			tb_cli_error(_("%s:%d: key '%s' has no value"),
				     cli->config_path,
				     tb_config_line(cli->cfg, key), key);
		else
			tb_cli_error(_("%s: key '%s' is missing (run '%s "
				       "init' or add a line '%s = ...')"),
				     cli->config_path, key, PROG, key);
		return TB_ECONFIG;
	}
	if (strcmp(key, "school") == 0 && !tb_code_valid(v))
		problem = _("must be 2-32 characters of A-Z, 0-9, '-' or "
			    "'_'");
	else if (strcmp(key, "device") == 0 && !tb_uuid_valid(v))
		problem = _("must be a lower-case UUID (made by init; do not "
			    "edit it)");
	else if (strcmp(key, "server") == 0 && strncmp(v, "https://", 8) != 0)
		problem = _("must start with https://");
	else if (strcmp(key, "data_dir") == 0 && v[0] != '/')
		problem = _("must be an absolute path");
	if (problem) {
		tb_cli_error(_("%s:%d: key '%s': %s"), cli->config_path,
			     tb_config_line(cli->cfg, key), key, problem);
		return TB_ECONFIG;
	}
	return TB_OK;
}

int tb_cli_load(struct tb_cli *cli)
{
	static const char *const required[] = { "server", "school", "token",
						"device" };
	char msg[TB_CLI_PATH_MAX + 256];
	const char *dir;
	size_t i;
	int rc;

	if (cli->cfg)
		return TB_OK;
	rc = tb_cli_config_path(cli);
	if (rc != TB_OK)
		return rc;
	msg[0] = '\0';
	rc = tb_config_load(cli->config_path, &cli->cfg, msg, sizeof(msg));
	if (rc == TB_ENOTFOUND) {
		tb_cli_error(_("no config file at %s; run '%s init --server "
			       "URL --school CODE --token TOKEN' first"),
			     cli->config_path, PROG);
		return TB_ECONFIG;
	}
	if (rc != TB_OK) {
		tb_cli_error("%s", msg[0] ? msg : tb_strerror(rc));
		return rc == TB_ENOMEM ? rc : TB_ECONFIG;
	}
	rc = tb_cli_config_paths(cli->cfg, cli->config_path);
	for (i = 0; rc == TB_OK && i < sizeof(required) / sizeof(*required);
	     i++)
		rc = check_key(cli, required[i], 1);
	if (rc == TB_OK)
		rc = check_key(cli, "data_dir", 0);
	if (rc != TB_OK)
		return rc;
	dir = tb_config_get(cli->cfg, "data_dir");
	if (dir && dir[0])
		rc = join(cli->data_dir, sizeof(cli->data_dir), dir, "");
	else
		rc = tb_cli_default_data_dir(cli->data_dir,
					     sizeof(cli->data_dir));
	if (rc != TB_OK) {
		tb_cli_error(_("%s: no data directory: set data_dir, or HOME"),
			     cli->config_path);
		return TB_ECONFIG;
	}
	return TB_OK;
}

int tb_cli_open_store(struct tb_cli *cli)
{
	char path[TB_CLI_PATH_MAX + 16], msg[1024];
	const char *dev, *school;
	int rc;

	if (cli->store)
		return TB_OK;
	rc = tb_cli_load(cli);
	if (rc != TB_OK)
		return rc;
	if (tb_store_path(cli->data_dir, path, sizeof(path)) != TB_OK) {
		tb_cli_error(_("the data directory path is too long"));
		return TB_ECONFIG;
	}
	msg[0] = '\0';
	rc = tb_store_open(path, 0, &cli->store, msg, sizeof(msg));
	if (rc != TB_OK) {
		tb_cli_error("%s", msg[0] ? msg : tb_strerror(rc));
		return rc == TB_ENOTFOUND ? TB_EIO : rc;
	}
	dev = tb_config_get(cli->cfg, "device");
	school = tb_config_get(cli->cfg, "school");
	if (!tb_store_device(cli->store)[0]) {
		rc = tb_store_set_identity(cli->store, dev, school);
		if (rc != TB_OK)
			tb_cli_error("%s", tb_store_errmsg(cli->store));
		return rc;
	}
	if (strcmp(tb_store_device(cli->store), dev) != 0 ||
	    strcmp(tb_store_school(cli->store), school) != 0) {
		tb_cli_error(_("the store %s belongs to device %s of school "
			       "%s, but %s says device %s of school %s; run "
			       "'%s init' again or fix the config"),
			     path, tb_store_device(cli->store),
			     tb_store_school(cli->store), cli->config_path, dev,
			     school, PROG);
		return TB_ECONFIG;
	}
	return TB_OK;
}

int tb_cli_mkdirs(const char *path, unsigned mode)
{
	char buf[TB_CLI_PATH_MAX];
	struct stat sb;
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return TB_EIO;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return TB_EIO;
		buf[i] = path[i];
	}
	if (stat(path, &sb) != 0)
		return TB_EIO;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return TB_EIO;
	}
	return TB_OK;
}

void tb_cli_cleanup(struct tb_cli *cli)
{
	tb_store_close(cli->store);
	cli->store = NULL;
	tb_config_destroy(cli->cfg);
	cli->cfg = NULL;
}
