/* settings.c - server settings from a config file and the command line
 * (see settings.h). The table below is the one description of every
 * setting: its name, its kind, its default, its limits and its help.
 */
#include "server/settings.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "server/db.h"
#include "server/sql.h"
#include "common/man.h"

/* ST_PATH: a file or directory; a relative path in a config file is
 * taken from the file's directory (tb_config_resolve_paths), one on the
 * command line from the current directory. */
enum setting_type { ST_TEXT, ST_INT, ST_CHOICE, ST_PATH };

struct setting {
	const char *key; /* underscores */
	enum setting_type type;
	const char *def; /* NULL: no default */
	long min, max;   /* ST_INT */
	const char *choices; /* ST_CHOICE: "a|b" */
	const char *help;
};

static const struct setting settings[] = {
	{ "listen", ST_TEXT, "0.0.0.0:8443", 0, 0, NULL,
	  "address and port to serve HTTPS on (ADDR:PORT, [V6]:PORT; port 0 = any)" },
	{ "metrics_listen", ST_TEXT, NULL, 0, 0, NULL,
	  "loopback address to serve /metrics on in plain HTTP without a token "
	  "(127.0.0.1:9464); unset = only on the HTTPS port with an admin token" },
	{ "cert", ST_PATH, NULL, 0, 0, NULL,
	  "server certificate chain, PEM" },
	{ "key", ST_PATH, NULL, 0, 0, NULL, "server private key, PEM" },
	{ "db", ST_PATH, "tienbo-server.db", 0, 0, NULL,
	  "SQLite database file (WAL)" },
	{ "plans_dir", ST_PATH, "plans", 0, 0, NULL,
	  "directory of the plan files (*.json) for reports and the dashboard" },
	{ "ontime_days", ST_INT, "10", 1, 365, NULL,
	  "days after a period ends within which a unit's data counts as on time" },
	{ "workers", ST_INT, "0", 0, 256, NULL,
	  "worker threads; 0 = one per core" },
	{ "max_connections", ST_INT, "1024", 1, 65536, NULL,
	  "open connections at most" },
	{ "per_ip_connections", ST_INT, "0", 0, 65536, NULL,
	  "open connections per client address; 0 = no limit" },
	{ "timeout", ST_INT, "30", 1, 3600, NULL,
	  "seconds of silence after which a connection is cut" },
	{ "max_uploads", ST_INT, "64", 1, 65536, NULL,
	  "batch uploads in flight at once; more get 503" },
	{ "device_uploads", ST_INT, "2", 1, 1024, NULL,
	  "batch uploads in flight at once with one token; more get 429" },
	{ "upload_timeout", ST_INT, "600", 1, 86400, NULL,
	  "seconds one upload may take in all; a slower one is cut" },
	{ "busy_timeout_ms", ST_INT, "5000", 1, 600000, NULL,
	  "milliseconds to wait for the database before 503" },
	{ "retry_after", ST_INT, "5", 1, 3600, NULL,
	  "seconds sent in Retry-After with 429 and 503" },
	{ "drain_timeout", ST_INT, "30", 0, 3600, NULL,
	  "seconds to let requests in flight finish on SIGTERM" },
	{ "synchronous", ST_CHOICE, "full", 0, 0, "full|normal",
	  "SQLite synchronous mode; full survives power loss" },
	{ "log_level", ST_CHOICE, "info", 0, 0, "debug|info|warn|error",
	  "least important log messages shown" },
	{ "key_permissions", ST_CHOICE, "strict", 0, 0, "strict|allow",
	  "strict: refuse a private key file others can read (0600, or 0640 "
	  "owned by root); allow: take it anyway" },
	{ "min_free_mb", ST_INT, "100", 0, 10000000, NULL,
	  "/healthz answers 503 when the database's disk has less free (MiB)" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const struct setting *setting_find(const char *key)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

/* Copies name into out with '-' turned into '_'. 0 or TB_EUSAGE. */
static int key_normalise(const char *name, size_t len, char *out,
			 size_t outlen)
{
	size_t i;

	if (len == 0 || len >= outlen)
		return TB_EUSAGE;
	for (i = 0; i < len; i++)
		out[i] = name[i] == '-' ? '_' : name[i];
	out[len] = '\0';
	return TB_OK;
}

static const struct tb_opt *opt_find(const struct tb_opt *opts, size_t n,
				     const char *key)
{
	char norm[64];
	size_t i;

	for (i = 0; i < n; i++) {
		if (key_normalise(opts[i].name, strlen(opts[i].name), norm,
				  sizeof(norm)) < 0)
			continue;
		if (strcmp(norm, key) == 0)
			return &opts[i];
	}
	return NULL;
}

static int choice_valid(const char *choices, const char *v)
{
	size_t vlen = strlen(v);
	const char *p = choices;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == vlen && memcmp(p, v, len) == 0)
			return 1;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

/* Checks every key of a loaded file is a setting with a sane value and
 * rewrites hyphenated keys to underscores. */
static int file_check(const char *path, struct tb_config *file,
		      struct tb_config *into, char *msg, size_t msglen)
{
	size_t i;
	int rc = TB_OK;

	for (i = 0; i < NSETTINGS; i++) {
		char hyph[64];
		const char *v, *v2;
		size_t k;

		for (k = 0; settings[i].key[k] && k + 1 < sizeof(hyph); k++)
			hyph[k] = settings[i].key[k] == '_' ? '-'
							     : settings[i].key[k];
		hyph[k] = '\0';
		v = tb_config_get(file, settings[i].key);
		v2 = strcmp(hyph, settings[i].key) ? tb_config_get(file, hyph)
						   : NULL;
		if (v && v2) {
			snprintf(msg, msglen, "%s:%d: setting given twice (key '%s')",
				 path, tb_config_line(file, hyph), hyph);
			return TB_ECONFIG;
		}
		if (!v)
			v = v2;
		if (!v)
			continue;
		rc = tb_config_set(into, settings[i].key, v);
		if (rc == TB_EINVAL) { /* a CR inside the value (config.h) */
			snprintf(msg, msglen, "%s:%d: the value holds a control "
				 "character (key '%s')", path,
				 tb_config_line(file, v == v2 ? hyph
							      : settings[i].key),
				 v == v2 ? hyph : settings[i].key);
			return TB_ECONFIG;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* Unknown keys: tb_config has no iterator, so the file is scanned for
 * "key =" lines and each key looked up in the table. */
static int file_unknown_keys(const char *path, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "r");
	char line[4200];
	int lineno = 0, rc = TB_OK;

	if (!f)
		return TB_OK; /* tb_config_load already reported it */
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq, key[64];
		size_t len;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
			continue;
		eq = strchr(p, '=');
		if (!eq)
			continue;
		len = (size_t)(eq - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (key_normalise(p, len, key, sizeof(key)) < 0 ||
		    !setting_find(key)) {
			snprintf(msg, msglen, "%s:%d: unknown setting (key '%.*s')",
				 path, lineno, (int)(len < 60 ? len : 60), p);
			rc = TB_ECONFIG;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* Paths in the file are relative to it: every ST_PATH key, as written
 * with '_' or '-'. */
static int file_paths_resolve(const char *path, struct tb_config *file,
			      char *msg, size_t msglen)
{
	const char *keys[2 * NSETTINGS];
	char hyph[NSETTINGS][64];
	size_t i, k, n = 0;
	int rc;

	for (i = 0; i < NSETTINGS; i++) {
		if (settings[i].type != ST_PATH)
			continue;
		for (k = 0; settings[i].key[k] && k + 1 < sizeof(hyph[i]); k++)
			hyph[i][k] = settings[i].key[k] == '_' ? '-'
							       : settings[i].key[k];
		hyph[i][k] = '\0';
		keys[n++] = settings[i].key;
		keys[n++] = hyph[i];
	}
	rc = tb_config_resolve_paths(file, path, keys, n);
	if (rc == TB_EIO || rc == TB_EINVAL) {
		snprintf(msg, msglen, "%s: cannot resolve the paths in it "
			 "against its directory", path);
		rc = TB_ECONFIG;
	}
	return rc;
}

static int config_file_apply(const char *path, struct tb_config *into,
			     char *msg, size_t msglen)
{
	struct tb_config *file = NULL;
	int rc;

	rc = tb_config_load(path, &file, msg, msglen);
	if (rc == TB_ENOTFOUND) {
		snprintf(msg, msglen, "%s: no such config file", path);
		rc = TB_ECONFIG;
	}
	if (rc < 0)
		goto out;
	rc = file_unknown_keys(path, msg, msglen);
	if (rc < 0)
		goto out;
	rc = file_paths_resolve(path, file, msg, msglen);
	if (rc < 0)
		goto out;
	rc = file_check(path, file, into, msg, msglen);
out:
	tb_config_destroy(file);
	return rc;
}

/* Finds "--config F" / "--config=F" in argv. */
static const char *config_path(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

static int value_check(const char *key, const char *v, char *msg,
		       size_t msglen)
{
	const struct setting *s = setting_find(key);

	if (!s)
		return TB_OK;
	if (s->type == ST_CHOICE && !choice_valid(s->choices, v)) {
		snprintf(msg, msglen, "%s: must be one of %s, not '%s'", key,
			 s->choices, v);
		return TB_ECONFIG;
	}
	return TB_OK;
}

/* The value of option argv[*i] (name nlen bytes after "--", eq its '='
 * or NULL): "yes" for a flag, the text after '=', or the next argument
 * (*i moves on). NULL with msg when there is none or a flag has one. */
static const char *arg_value(const struct tb_opt *o, const char *eq, int argc,
			     char **argv, int *i, size_t nlen, char *msg,
			     size_t msglen)
{
	const char *arg = argv[*i];

	if (o && o->is_flag) {
		if (eq) {
			snprintf(msg, msglen, "option --%s takes no value",
				 o->name);
			return NULL;
		}
		return "yes";
	}
	if (eq)
		return eq + 1;
	if (*i + 1 < argc)
		return argv[++*i];
	snprintf(msg, msglen, "option --%.*s needs a value", (int)nlen,
		 arg + 2);
	return NULL;
}

static int argv_apply(int argc, char **argv, const struct tb_opt *opts,
		      size_t nopts, struct tb_config *cmdline,
		      struct tb_config *cfg, char *msg, size_t msglen)
{
	int i, rc = TB_OK;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq, *value;
		const struct tb_opt *o;
		char key[64];
		size_t nlen;

		/* argv[i] is not NULL for i < argc.
		 * NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			snprintf(msg, msglen, "unexpected argument '%s'", arg);
			return TB_EUSAGE;
		}
		eq = strchr(arg, '=');
		nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		if (key_normalise(arg + 2, nlen, key, sizeof(key)) < 0) {
			snprintf(msg, msglen, "unknown option '%s'", arg);
			return TB_EUSAGE;
		}
		o = opt_find(opts, nopts, key);
		if (!o && !setting_find(key) && strcmp(key, "config") != 0) {
			snprintf(msg, msglen, "unknown option '--%.*s'", (int)nlen,
				 arg + 2);
			return TB_EUSAGE;
		}
		value = arg_value(o, eq, argc, argv, &i, nlen, msg, msglen);
		if (!value)
			return TB_EUSAGE;
		if (tb_config_get(cmdline, key)) {
			snprintf(msg, msglen, "option --%.*s given twice", (int)nlen,
				 arg + 2);
			return TB_EUSAGE;
		}
		rc = tb_config_set(cmdline, key, value);
		if (rc == TB_OK && strcmp(key, "config") != 0)
			rc = tb_config_set(cfg, key, value);
		if (rc == TB_EINVAL) {
			snprintf(msg, msglen, "option --%.*s: bad value", (int)nlen,
				 arg + 2);
			return TB_EUSAGE;
		}
		if (rc < 0)
			return rc;
	}
	return TB_OK;
}

int tb_settings_parse(int argc, char **argv, const struct tb_opt *opts,
		      size_t nopts, struct tb_config **out, char *msg,
		      size_t msglen)
{
	struct tb_config *cfg = NULL, *cmdline = NULL;
	const char *path;
	size_t i;
	int rc;

	*out = NULL;
	cfg = tb_config_create();
	cmdline = tb_config_create();
	if (!cfg || !cmdline) {
		rc = TB_ENOMEM;
		goto out;
	}
	path = config_path(argc, argv);
	if (path) {
		rc = config_file_apply(path, cfg, msg, msglen);
		if (rc < 0)
			goto out;
	}
	rc = argv_apply(argc, argv, opts, nopts, cmdline, cfg, msg, msglen);
	if (rc < 0)
		goto out;
	for (i = 0; i < NSETTINGS; i++) {
		const char *v = tb_config_get(cfg, settings[i].key);

		if (v) {
			rc = value_check(settings[i].key, v, msg, msglen);
			if (rc < 0)
				goto out;
		}
	}
	*out = cfg;
	cfg = NULL;
out:
	tb_config_destroy(cmdline);
	tb_config_destroy(cfg);
	return rc;
}

/* Where the plans are installed: TB_PLANS_REL is the path from the
 * binary's directory (so an unpacked package finds its own plans),
 * TB_PLANS_INSTALL_DIR the absolute one; both come from
 * cmake/install.cmake. */
#ifndef TB_PLANS_REL
#define TB_PLANS_REL "../share/tienbo/plans"
#endif
#ifndef TB_PLANS_INSTALL_DIR
#define TB_PLANS_INSTALL_DIR "/usr/share/tienbo/plans"
#endif

static char plans_beside_exe[PATH_MAX];

/* <the binary's directory>/TB_PLANS_REL into plans_beside_exe, or "". */
static void plans_beside_exe_find(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	plans_beside_exe[0] = '\0';
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	n = snprintf(plans_beside_exe, sizeof(plans_beside_exe), "%s/%s", exe,
		     TB_PLANS_REL);
	if (n < 0 || (size_t)n >= sizeof(plans_beside_exe))
		plans_beside_exe[0] = '\0';
}

/* plans_dir's default: "plans" where it exists (the source tree), else
 * the installed plans beside the binary, else at TB_PLANS_INSTALL_DIR,
 * else "plans" again (the commands then name every place looked in,
 * tb_settings_plans_searched). */
static const char *plans_dir_default(const char *def)
{
	if (access(def, F_OK) == 0)
		return def;
	if (!plans_beside_exe[0])
		plans_beside_exe_find();
	if (plans_beside_exe[0] && access(plans_beside_exe, F_OK) == 0)
		return plans_beside_exe;
	if (access(TB_PLANS_INSTALL_DIR, F_OK) == 0)
		return TB_PLANS_INSTALL_DIR;
	return def;
}

const char *tb_settings_plans_searched(char *buf, size_t buflen)
{
	if (!plans_beside_exe[0])
		plans_beside_exe_find();
	snprintf(buf, buflen, "./plans, %s%s%s", plans_beside_exe,
		 plans_beside_exe[0] ? ", " : "", TB_PLANS_INSTALL_DIR);
	return buf;
}

const char *tb_settings_get(const struct tb_config *c, const char *key)
{
	const struct setting *s;
	const char *v = c ? tb_config_get(c, key) : NULL;

	if (v)
		return v;
	s = setting_find(key);
	if (s && s->def && strcmp(s->key, "plans_dir") == 0)
		return plans_dir_default(s->def);
	return s ? s->def : NULL;
}

int tb_settings_long(const struct tb_config *c, const char *key, long *out,
		     char *msg, size_t msglen)
{
	const struct setting *s = setting_find(key);
	const char *v = tb_settings_get(c, key);
	char *end = NULL;
	long n;

	if (!s || s->type != ST_INT || !v) {
		snprintf(msg, msglen, "%s: not an integer setting", key);
		return TB_ECONFIG;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < s->min || n > s->max) {
		snprintf(msg, msglen, "%s: must be an integer %ld..%ld, not '%s'",
			 key, s->min, s->max, v);
		return TB_ECONFIG;
	}
	*out = n;
	return TB_OK;
}

/* 1 if key is one of the blank-separated words of list. */
static int key_listed(const char *list, const char *key)
{
	size_t n = strlen(key);
	const char *p = list;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
		p += n;
	}
	return 0;
}

void tb_settings_usage(FILE *f, const struct tb_opt *opts, size_t nopts,
		       const char *only)
{
	size_t i;

	for (i = 0; i < nopts; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name,
			 opts[i].is_flag ? "" : " ",
			 opts[i].is_flag ? "" : opts[i].arg);
		fprintf(f, "  %-28s %s\n", left, opts[i].help);
	}
	fprintf(f, "  %-28s %s\n", "--config FILE",
		"read settings from FILE (key = value lines)");
	for (i = 0; i < NSETTINGS; i++) {
		char left[64], name[48];
		size_t k;
		const struct setting *s = &settings[i];

		if (only && !key_listed(only, s->key))
			continue;
		for (k = 0; s->key[k] && k + 1 < sizeof(name); k++)
			name[k] = s->key[k] == '_' ? '-' : s->key[k];
		name[k] = '\0';
		snprintf(left, sizeof(left), "--%s %s", name,
			 s->type == ST_INT    ? "N"
			 : s->type == ST_PATH ? "PATH"
					      : "VALUE");
		fprintf(f, "  %-28s %s", left, s->help);
		if (s->def)
			fprintf(f, " [%s]", s->def);
		fputc('\n', f);
	}
}

/* The help of setting s with its default and limits, into buf. */
static const char *setting_help(const struct setting *s, int with_def,
				char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "%s", s->help);

	if (n < 0 || (size_t)n >= buflen)
		return buf;
	if (s->type == ST_INT)
		n += snprintf(buf + n, buflen - (size_t)n, "; %ld to %ld",
			      s->min, s->max);
	else if (s->type == ST_CHOICE)
		n += snprintf(buf + n, buflen - (size_t)n, "; one of %s",
			      s->choices);
	if (with_def && n > 0 && (size_t)n < buflen && s->def)
		snprintf(buf + n, buflen - (size_t)n, " [%s]", s->def);
	return buf;
}

static void setting_option(const struct setting *s, char *left,
			   size_t leftlen)
{
	size_t k, n = 2;

	snprintf(left, leftlen, "--");
	for (k = 0; s->key[k] && n + 1 < leftlen; k++)
		left[n++] = s->key[k] == '_' ? '-' : s->key[k];
	left[n] = '\0';
	snprintf(left + n, leftlen - n, " %s", s->type == ST_INT    ? "N"
					       : s->type == ST_PATH ? "PATH"
								    : "VALUE");
}

void tb_settings_man(FILE *f, const struct tb_opt *opts, size_t nopts,
		     const char *only)
{
	char left[96], help[512];
	size_t i;

	for (i = 0; i < nopts; i++) {
		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name,
			 opts[i].is_flag ? "" : " ",
			 opts[i].is_flag ? "" : opts[i].arg);
		tb_man_item(f, left, opts[i].help);
	}
	tb_man_item(f, "--config FILE",
		    "read settings from FILE (key = value lines)");
	for (i = 0; i < NSETTINGS; i++) {
		if (only && !key_listed(only, settings[i].key))
			continue;
		setting_option(&settings[i], left, sizeof(left));
		tb_man_item(f, left, setting_help(&settings[i], 1, help,
						  sizeof(help)));
	}
}

/* text as "# " lines of at most 78 columns, broken between words. */
static void comment_wrapped(FILE *f, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t len = strlen(p), cut = len;

		if (len > 76) {
			cut = 76;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(p, " ");
		}
		fprintf(f, "# %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

void tb_settings_example(FILE *f)
{
	char help[512];
	size_t i;

	fputs("# tienbo-server configuration: `tienbo-server COMMAND --config "
	      "FILE`.\n"
	      "# One `key = value` per line; `#` starts a comment. Every "
	      "setting is shown\n"
	      "# below, commented out, with its default; a setting given "
	      "on the command\n"
	      "# line (--key value) wins over this file. Relative paths are "
	      "taken from\n"
	      "# this file's directory. Generated from the settings table "
	      "(server/settings.c)\n"
	      "# by `tienbo-server --example-config`.\n", f);
	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		fputc('\n', f);
		comment_wrapped(f, setting_help(s, 0, help, sizeof(help)));
		fprintf(f, "#%s =%s%s\n", s->key, s->def ? " " : "",
			s->def ? s->def : "");
	}
}

int tb_settings_db_opts(const struct tb_config *c, int create,
			struct tb_db_opts *o, char *msg, size_t msglen)
{
	long busy = 5000;
	int rc = tb_settings_long(c, "busy_timeout_ms", &busy, msg, msglen);

	memset(o, 0, sizeof(*o));
	o->busy_timeout_ms = (int)busy;
	o->sync_full = strcmp(tb_settings_get(c, "synchronous"), "full") == 0;
	o->create = create;
	return rc;
}

int tb_settings_open_db(const struct tb_config *c, struct tb_sql **db,
			char *msg, size_t msglen)
{
	struct tb_db_opts o;
	int rc = tb_settings_db_opts(c, 0, &o, msg, msglen);

	*db = NULL;
	if (rc == TB_OK)
		rc = tb_db_open(tb_settings_get(c, "db"), &o, db, msg, msglen);
	return rc;
}
