/* cmd_init.c - `tienbo-agent init`: writes the config file (mode 0600) and
 * makes this device's id, once.
 *
 * Called by tb_cli_main. Guarantees: the device id never changes once made
 * (it is kept from the existing config, or from an existing store); the
 * store is created and bound to the device and school before the config
 * is written (atomically), so a crash in between leaves a store that the
 * next init adopts; the token is never printed.
 */
#include "agent/cmd.h"
#include "agent/opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/store.h"
#include "common/config.h"
#include "common/err.h"
#include "common/event.h"
#include "common/i18n.h"

struct init_args {
	const char *server, *school, *token, *ca_file, *data_dir;
	char token_buf[1024];
	char ca_buf[TB_CLI_PATH_MAX]; /* --ca-file made absolute */
};

enum { O_SERVER, O_SCHOOL, O_TOKEN, O_CA_FILE, O_DATA_DIR, O_COUNT };

static const struct tb_agent_opt init_opts[O_COUNT] = {
	{ "server", 0, TB_OPT_TEXT, "URL", 0, 0, NULL,
	  N_("the central server, https://host[:port]") },
	{ "school", 0, TB_OPT_TEXT, "CODE", 0, 0, NULL,
	  N_("this school's code, e.g. HB-001") },
	{ "token", 0, TB_OPT_TEXT, "TOKEN", 0, 0, NULL,
	  N_("this device's token from the central office ('-' reads it "
	     "from the first line of standard input)") },
	{ "ca-file", 0, TB_OPT_TEXT, "FILE", 0, 0, NULL,
	  N_("trust this CA certificate instead of the system's") },
	{ "data-dir", 0, TB_OPT_TEXT, "DIR", 0, 0, "~/.local/share/tienbo",
	  N_("where the store lives") },
};

static const struct tb_cmd_spec init_spec = {
	"init", "--server URL --school CODE --token TOKEN [OPTIONS]",
	N_("Writes the config file (mode 0600), creates the store in the data "
	   "directory\nand makes this device's id (once: running init again "
	   "keeps it and updates\nthe other settings). Prints the device id. "
	   "The token is never printed back.\n"),
	init_opts, O_COUNT, 0, 0, NULL, NULL
};

static int parse(struct tb_cli *cli, int argc, char **argv,
		 struct init_args *a)
{
	struct tb_agent_opt_val v[O_COUNT];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t nargs;
	int rc;

	rc = tb_opts_parse(cli, &init_spec, NULL, argc, argv, v, args, &nargs);
	if (rc != TB_OK)
		return rc;
	a->server = v[O_SERVER].text;
	a->school = v[O_SCHOOL].text;
	a->token = v[O_TOKEN].text;
	a->ca_file = v[O_CA_FILE].text;
	a->data_dir = v[O_DATA_DIR].text;
	return TB_OK;
}

/* --token -: the first line of standard input. */
static int read_token(struct init_args *a)
{
	size_t len;

	if (!a->token || strcmp(a->token, "-") != 0)
		return TB_OK;
	if (!fgets(a->token_buf, sizeof(a->token_buf), stdin)) {
		tb_cli_error(_("init: --token -: no token on standard input"));
		return TB_EUSAGE;
	}
	len = strcspn(a->token_buf, "\r\n");
	a->token_buf[len] = '\0';
	a->token = a->token_buf;
	return TB_OK;
}

/* Checks the values given on the command line. */
static int check_args(struct init_args *a)
{
	if (a->server && strncmp(a->server, "https://", 8) != 0) {
		tb_cli_error(_("init: --server must start with https:// (got "
			       "'%s')"), a->server);
		return TB_EUSAGE;
	}
	if (a->school && !tb_code_valid(a->school)) {
		tb_cli_error(_("init: --school must be 2-32 characters of "
			       "A-Z, 0-9, '-' or '_', starting with a letter "
			       "or digit (got '%s')"), a->school);
		return TB_EUSAGE;
	}
	if (a->token && (!a->token[0] || strpbrk(a->token, " \t\r\n"))) {
		tb_cli_error(_("init: --token must be non-empty, without "
			       "spaces"));
		return TB_EUSAGE;
	}
	if (a->ca_file && a->ca_file[0] && access(a->ca_file, R_OK) != 0) {
		tb_cli_error("init: --ca-file %s: %s", a->ca_file,
			     strerror(errno));
		return TB_EUSAGE;
	}
	/* A path on the command line is from the current directory; the
	 * config keeps it absolute (a relative one there would be read from
	 * the config file's directory). */
	if (a->ca_file && a->ca_file[0] && a->ca_file[0] != '/') {
		if (!realpath(a->ca_file, a->ca_buf)) {
			tb_cli_error("init: --ca-file %s: %s", a->ca_file,
				     strerror(errno));
			return TB_EUSAGE;
		}
		a->ca_file = a->ca_buf;
	}
	return TB_OK;
}

/* Sets key from the command line, keeping the old value if not given. A
 * required key missing from both is a usage error. */
static int merge(struct tb_config *cfg, const char *key, const char *opt,
		 const char *value, int required)
{
	const char *old = tb_config_get(cfg, key);

	if (value)
		return tb_config_set(cfg, key, value);
	if (required && (!old || !old[0])) {
		tb_cli_error(_("init: --%s is required (there is no %s in "
			       "the config yet)"), opt, key);
		return TB_EUSAGE;
	}
	return TB_OK;
}

/* The data directory, absolute: --data-dir, the config's, or the
 * default. */
static int data_dir(const struct init_args *a, struct tb_config *cfg,
		    char *out, size_t outlen)
{
	const char *dir = a->data_dir ? a->data_dir
				       : tb_config_get(cfg, "data_dir");
	char cwd[TB_CLI_PATH_MAX];
	int n;

	if (!dir || !dir[0]) {
		if (tb_cli_default_data_dir(out, outlen) != TB_OK) {
			tb_cli_error(_("init: HOME is not set; give "
				       "--data-dir"));
			return TB_EUSAGE;
		}
		return TB_OK;
	}
	if (dir[0] == '/')
		n = snprintf(out, outlen, "%s", dir);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, outlen, "%s/%s", cwd, dir);
	else
		n = -1;
	if (n < 0 || (size_t)n >= outlen) {
		tb_cli_error(_("init: the data directory path is too long"));
		return TB_EUSAGE;
	}
	return TB_OK;
}

/* Creates the store and binds it to a device id: the config's, else the
 * store's own (a config lost after an earlier init), else a new one. */
static int make_store(const char *dir, const char *school,
		      struct tb_config *cfg, char *device)
{
	char path[TB_CLI_PATH_MAX + 16], msg[1024];
	struct tb_store *s = NULL;
	const char *old = tb_config_get(cfg, "device");
	int rc;

	if (tb_cli_mkdirs(dir, 0700) != TB_OK) {
		tb_cli_error(_("init: cannot create the data directory %s: "
			       "%s"),
			     dir, strerror(errno));
		return TB_EIO;
	}
	if (tb_store_path(dir, path, sizeof(path)) != TB_OK) {
		tb_cli_error(_("init: the data directory path is too long"));
		return TB_EUSAGE;
	}
	msg[0] = '\0';
	rc = tb_store_open(path, TB_STORE_CREATE, &s, msg, sizeof(msg));
	if (rc != TB_OK) {
		tb_cli_error("init: %s", msg);
		return rc;
	}
	if (old && tb_uuid_valid(old))
		snprintf(device, TB_ID_LEN, "%s", old);
	else if (tb_store_device(s)[0])
		snprintf(device, TB_ID_LEN, "%s", tb_store_device(s));
	else if ((rc = tb_uuid_new(device)) != TB_OK)
		tb_cli_error(_("init: cannot make a device id: %s"),
			     tb_strerror(rc));
	if (rc == TB_OK) {
		rc = tb_store_set_identity(s, device, school);
		if (rc != TB_OK)
			tb_cli_error("init: %s", tb_store_errmsg(s));
		if (rc == TB_ECONFLICT)
			rc = TB_ECONFIG;
	}
	tb_store_close(s);
	return rc;
}

/* Creates the config file's directory (0700) if it is missing. */
static int config_dir(const char *path)
{
	char dir[TB_CLI_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return TB_OK;
	*slash = '\0';
	if (tb_cli_mkdirs(dir, 0700) != TB_OK) {
		tb_cli_error(_("init: cannot create %s: %s"), dir,
			     strerror(errno));
		return TB_EIO;
	}
	return TB_OK;
}

int tb_cmd_init(struct tb_cli *cli, int argc, char **argv)
{
	struct init_args a;
	struct tb_config *cfg = NULL;
	char dir[TB_CLI_PATH_MAX], device[TB_ID_LEN], msg[TB_CLI_PATH_MAX];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, argc, argv, &a);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if ((rc = read_token(&a)) != TB_OK || (rc = check_args(&a)) != TB_OK ||
	    (rc = tb_cli_config_path(cli)) != TB_OK)
		return rc;
	msg[0] = '\0';
	rc = tb_config_load(cli->config_path, &cfg, msg, sizeof(msg));
	if (rc == TB_ENOTFOUND) {
		cfg = tb_config_create();
		rc = cfg ? TB_OK : TB_ENOMEM;
	} else if (rc == TB_OK) { /* its relative paths: from its directory */
		rc = tb_cli_config_paths(cfg, cli->config_path);
	} else if (rc != TB_OK) {
		tb_cli_error(_("init: %s (fix or remove it, then run init "
			       "again)"), msg[0] ? msg : tb_strerror(rc));
		rc = rc == TB_ENOMEM ? rc : TB_ECONFIG;
	}
	if (rc == TB_OK)
		rc = merge(cfg, "server", "server", a.server, 1);
	if (rc == TB_OK)
		rc = merge(cfg, "school", "school", a.school, 1);
	if (rc == TB_OK)
		rc = merge(cfg, "token", "token", a.token, 1);
	if (rc == TB_OK)
		rc = merge(cfg, "ca_file", "ca-file", a.ca_file, 0);
	if (rc == TB_OK)
		rc = data_dir(&a, cfg, dir, sizeof(dir));
	if (rc == TB_OK)
		rc = make_store(dir, tb_config_get(cfg, "school"), cfg, device);
	if (rc == TB_OK && ((rc = tb_config_set(cfg, "device", device)) ||
			    (rc = tb_config_set(cfg, "data_dir", dir))))
		tb_cli_error("init: %s", tb_strerror(rc));
	if (rc == TB_OK)
		rc = config_dir(cli->config_path);
	if (rc == TB_OK &&
	    tb_config_save(cfg, cli->config_path, 0600,
			   "tienbo-agent configuration, written by "
			   "'tienbo-agent init'.\n"
			   "The token is a secret: keep this file mode "
			   "0600.") != TB_OK) {
		tb_cli_error(_("init: cannot write %s: %s"), cli->config_path,
			     strerror(errno));
		rc = TB_EIO;
	}
	if (rc == TB_OK) {
		printf("%s\n", device);
		fprintf(stderr, _("tienbo-agent: device %s of school %s is "
				  "ready (config %s, data %s)\n"), device,
			tb_config_get(cfg, "school"), cli->config_path, dir);
	}
	tb_config_destroy(cfg);
	return rc;
}
