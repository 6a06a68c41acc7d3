/* main.c - the tienbo-server command: `serve` and the local admin
 * commands (enroll, revoke, devices, admin-token, export, units, unit,
 * report).
 *
 * Every command takes --config FILE or the settings as options (see
 * server/settings.h); the local commands use only `db`. Exit status from
 * common/err.c's table: 0 ok, 64 usage, 65 bad data or not found, 69
 * cannot serve or busy, 74 I/O, 78 configuration. `serve` exits 0 after
 * SIGTERM or SIGINT once requests in flight have finished; SIGHUP reloads
 * the certificate and the live settings (server/reload.h). Only init-db
 * makes a database; every other command refuses a path that is not one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/date.h"
#include "common/err.h"
#include "common/man.h"
#include "common/mem.h"
#include "server/sql.h"
#include "server/auth.h"
#include "server/backup_cli.h"
#include "server/db.h"
#include "server/export.h"
#include "server/log.h"
#include "server/migrate.h"
#include "server/reload.h"
#include "server/rejections.h"
#include "server/report_cli.h"
#include "server/serve.h"
#include "server/settings.h"
#include "server/units.h"

#ifndef TB_VERSION
#error "TB_VERSION comes from CMakeLists.txt: build with CMake"
#endif

#define MSG_LEN 512

static int fail(int rc, const char *msg)
{
	fprintf(stderr, "tienbo-server: %s\n", msg[0] ? msg : tb_strerror(rc));
	return rc;
}

static int open_db(const struct tb_config *cfg, struct tb_sql **db,
		   char *msg, size_t msglen)
{
	return tb_settings_open_db(cfg, db, msg, msglen);
}

/* ---- init-db, enroll, admin-token, revoke, devices, export ---------- */

/* The one command that makes a database (0600); every other refuses a
 * path that is not one already (server/db.h). An existing server
 * database is migrated if older and left as it is otherwise. */
static int cmd_init_db(const struct tb_config *cfg, char *msg, size_t msglen)
{
	struct tb_db_opts o;
	struct tb_sql *db = NULL;
	int rc = tb_settings_db_opts(cfg, 1, &o, msg, msglen);

	if (rc == TB_OK)
		rc = tb_db_open(tb_settings_get(cfg, "db"), &o, &db, msg, msglen);
	tb_sql_close(db);
	if (rc == TB_OK)
		printf("%s: a tienbo-server database of schema %d, ready\n",
		       tb_settings_get(cfg, "db"), TB_DB_SCHEMA);
	return rc == TB_OK && fflush(stdout) != 0 ? TB_EIO : rc;
}

static int cmd_enroll(const struct tb_config *cfg, char *msg, size_t msglen)
{
	struct tb_org_school s;
	struct tb_org_names names;
	struct tb_sql *db = NULL;
	char token[TB_TOKEN_LEN + 1];
	int64_t id = 0;
	int rc;

	s.code = tb_settings_get(cfg, "school");
	s.name = tb_settings_get(cfg, "name");
	s.district = tb_settings_get(cfg, "district");
	s.level = tb_settings_get(cfg, "level");
	s.province = tb_settings_get(cfg, "province");
	names.district_name = tb_settings_get(cfg, "district_name");
	names.province_name = tb_settings_get(cfg, "province_name");
	if (!s.code || !s.name || !s.district) {
		snprintf(msg, msglen, "enroll needs --school, --name and "
			 "--district");
		return TB_EUSAGE;
	}
	rc = open_db(cfg, &db, msg, msglen);
	if (rc == TB_OK)
		rc = tb_auth_enroll_named(db, &s, &names, token, &id, msg,
					  msglen);
	tb_sql_close(db);
	if (rc < 0)
		return rc;
	printf("enrolled school %s in district %s: device token #%lld\n",
	       s.code, s.district, (long long)id);
	printf("the token is shown once; put it in the agent's configuration:\n");
	printf("%s\n", token);
	memset(token, 0, sizeof(token));
	return fflush(stdout) == 0 ? TB_OK : TB_EIO;
}

static int cmd_admin_token(const struct tb_config *cfg, char *msg,
			   size_t msglen)
{
	struct tb_sql *db = NULL;
	char token[TB_TOKEN_LEN + 1];
	int64_t id = 0;
	int rc;

	rc = open_db(cfg, &db, msg, msglen);
	if (rc == TB_OK)
		rc = tb_auth_admin_new(db, token, &id);
	tb_sql_close(db);
	if (rc < 0)
		return rc;
	printf("admin token #%lld, shown once (Authorization: Bearer ...):\n",
	       (long long)id);
	printf("%s\n", token);
	memset(token, 0, sizeof(token));
	return fflush(stdout) == 0 ? TB_OK : TB_EIO;
}

static int cmd_revoke(const struct tb_config *cfg, char *msg, size_t msglen)
{
	const char *p = tb_settings_get(cfg, "token_prefix");
	const char *d = tb_settings_get(cfg, "device");
	const char *s = tb_settings_get(cfg, "school");
	struct tb_sql *db = NULL;
	int64_t n = 0;
	int rc;

	if ((p != NULL) + (d != NULL) + (s != NULL) != 1) {
		snprintf(msg, msglen, "revoke needs one of --token-prefix P, "
			 "--device ID, --school CODE");
		return TB_EUSAGE;
	}
	rc = open_db(cfg, &db, msg, msglen);
	if (rc == TB_OK)
		rc = tb_auth_revoke(db, p ? TB_REVOKE_PREFIX
					  : d ? TB_REVOKE_DEVICE
					      : TB_REVOKE_SCHOOL,
				    p ? p : d ? d : s, &n, msg, msglen);
	tb_sql_close(db);
	if (rc == TB_OK)
		printf("revoked %lld token%s%s\n", (long long)n, n == 1 ? "" : "s",
		       n == 0 ? " (already revoked)" : "");
	return rc;
}

static const char *when(int64_t t, char *buf)
{
	return t ? tb_time_format(t, buf) : "-";
}

static int print_device(void *arg, const struct tb_device_row *r)
{
	char a[TB_TIME_LEN], b[TB_TIME_LEN], c[TB_TIME_LEN];
	char status[40];

	(void)arg;
	snprintf(status, sizeof(status), "%s", r->revoked_at ? "revoked " : "active");
	if (r->revoked_at)
		snprintf(status, sizeof(status), "revoked %s", when(r->revoked_at, c));
	printf("%-4lld %-12s %-12s %-36s %-20s %-20s %8lld  %s\n",
	       (long long)r->id, r->school, r->token_prefix,
	       r->device[0] ? r->device : "-", when(r->enrolled_at, a),
	       when(r->last_seen, b), (long long)r->committed_through, status);
	return 0;
}

static int cmd_devices(const struct tb_config *cfg, char *msg, size_t msglen)
{
	struct tb_sql *db = NULL;
	int rc;

	rc = open_db(cfg, &db, msg, msglen);
	if (rc < 0)
		return rc;
	printf("%-4s %-12s %-12s %-36s %-20s %-20s %8s  %s\n", "ID", "SCHOOL",
	       "TOKEN", "DEVICE", "ENROLLED", "LAST SEEN", "CURSOR", "STATUS");
	rc = tb_auth_devices(db, tb_settings_get(cfg, "school"), print_device,
			     NULL);
	tb_sql_close(db);
	if (rc < 0)
		snprintf(msg, msglen, "cannot list devices: %s", tb_strerror(rc));
	return rc;
}

static int cmd_export(const struct tb_config *cfg, char *msg, size_t msglen)
{
	struct tb_export_opts o;
	struct tb_sql *db = NULL;
	const char *path = tb_settings_get(cfg, "output");
	FILE *out = stdout;
	int64_t n = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	o.school = tb_settings_get(cfg, "school");
	o.district = tb_settings_get(cfg, "district");
	o.include_voided = tb_settings_get(cfg, "include_voided") != NULL;
	if (tb_export_format_parse(tb_settings_get(cfg, "format"), &o.format)
	    < 0) {
		snprintf(msg, msglen, "export needs --format json, csv or xlsx");
		return TB_EUSAGE;
	}
	if (o.format == TB_EXPORT_XLSX && !path && isatty(STDOUT_FILENO)) {
		snprintf(msg, msglen, "--format xlsx writes a file, not text for "
			 "a terminal: give --output FILE (e.g. --output "
			 "hoat-dong.xlsx) or redirect standard output to a file");
		return TB_EUSAGE;
	}
	rc = open_db(cfg, &db, msg, msglen);
	if (rc == TB_OK && path) {
		out = fopen(path, "wb");
		if (!out) {
			snprintf(msg, msglen, "cannot write %s", path);
			rc = TB_EIO;
		}
	}
	if (rc == TB_OK)
		rc = tb_export(db, &o, out, &n, msg, msglen);
	if (out && out != stdout && fclose(out) != 0 && rc == TB_OK)
		rc = TB_EIO;
	tb_sql_close(db);
	if (rc == TB_OK)
		fprintf(stderr, "exported %lld events\n", (long long)n);
	return rc;
}

/* ---- units, unit ---------------------------------------------------- */

/* Writes the list, or (one, JSON) its unit as one object. */
static int write_units(const struct tb_unit_list *l, enum tb_units_format f,
		       int one, char *msg, size_t msglen)
{
	char *json = one && f == TB_UNITS_JSON ? tb_units_json(l, 1) : NULL;
	int rc;

	if (one && f == TB_UNITS_JSON)
		rc = !json ? TB_ENOMEM : printf("%s\n", json) < 0 ? TB_EIO : TB_OK;
	else
		rc = tb_units_write(l, f, stdout);
	tb_free(json);

	if (fflush(stdout) != 0 && rc == TB_OK)
		rc = TB_EIO;
	if (rc < 0)
		snprintf(msg, msglen, "cannot write the units: %s",
			 tb_strerror(rc));
	return rc;
}

static int cmd_units(const struct tb_config *cfg, char *msg, size_t msglen)
{
	struct tb_unit_list *l = NULL;
	struct tb_sql *db = NULL;
	enum tb_units_format fmt;
	int rc;

	if (tb_units_format_parse(tb_settings_get(cfg, "format"), &fmt) < 0) {
		snprintf(msg, msglen, "format: text, json or csv, not '%s'",
			 tb_settings_get(cfg, "format"));
		return TB_EUSAGE;
	}
	rc = open_db(cfg, &db, msg, msglen);
	if (rc == TB_OK)
		rc = tb_units_list(db, tb_settings_get(cfg, "district"), &l, msg,
				   msglen);
	tb_sql_close(db);
	if (rc == TB_OK)
		rc = write_units(l, fmt, 0, msg, msglen);
	tb_unit_list_destroy(l);
	return rc;
}

static int cmd_unit(const struct tb_config *cfg, char *msg, size_t msglen)
{
	struct tb_unit_change c;
	struct tb_unit_list *l = NULL;
	struct tb_sql *db = NULL;
	enum tb_units_format fmt;
	int rc;

	memset(&c, 0, sizeof(c));
	c.code = tb_settings_get(cfg, "code");
	c.name = tb_settings_get(cfg, "name");
	c.district = tb_settings_get(cfg, "district");
	c.level = tb_settings_get(cfg, "level");
	c.close_from = tb_settings_get(cfg, "close_from");
	c.reopen_from = tb_settings_get(cfg, "reopen_from");
	if (!c.code) {
		snprintf(msg, msglen, "unit needs the unit's code: tienbo-server "
			 "unit CODE [--name NAME] [--district CODE] [--level L] "
			 "[--close-from DATE] [--reopen-from DATE]");
		return TB_EUSAGE;
	}
	if (tb_units_format_parse(tb_settings_get(cfg, "format"), &fmt) < 0 ||
	    fmt == TB_UNITS_CSV) {
		snprintf(msg, msglen, "format: text or json, not '%s'",
			 tb_settings_get(cfg, "format"));
		return TB_EUSAGE;
	}
	rc = open_db(cfg, &db, msg, msglen);
	if (rc == TB_OK && tb_unit_change_any(&c))
		rc = tb_units_change(db, &c, msg, msglen);
	if (rc == TB_OK)
		rc = tb_units_get(db, c.code, &l, msg, msglen);
	tb_sql_close(db);
	if (rc == TB_OK)
		rc = write_units(l, fmt, 1, msg, msglen);
	tb_unit_list_destroy(l);
	return rc;
}

/* ---- dispatch ------------------------------------------------------- */

static const struct tb_opt enroll_opts[] = {
	{ "school", 0, "CODE", "the school's unit code (HB-001)" },
	{ "name", 0, "NAME", "the school's name" },
	{ "district", 0, "CODE", "its district (created on first use)" },
	{ "level", 0, "LEVEL", "MN, TH, THCS, THPT, GDTX, office or college" },
	{ "province", 0, "CODE", "the district's province [HB]" },
	{ "district-name", 0, "NAME", "names the district (Huyện Đà Bắc)" },
	{ "province-name", 0, "NAME", "names the province (Tỉnh Hòa Bình)" },
};
static const struct tb_opt revoke_opts[] = {
	{ "token-prefix", 0, "P", "the token that starts with P (6-12 chars)" },
	{ "device", 0, "ID", "the token bound to device uuid ID, or number ID" },
	{ "school", 0, "CODE", "every token of a school" },
};
static const struct tb_opt devices_opts[] = {
	{ "school", 0, "CODE", "only this school's devices" },
};
static const struct tb_opt units_opts[] = {
	{ "district", 0, "CODE", "only this district and its schools" },
	{ "format", 0, "text|json|csv", "output format [text]" },
};
static const struct tb_opt unit_opts[] = {
	{ "name", 0, "NAME", "rename the unit (any type)" },
	{ "district", 0, "CODE", "move the school to this district (created "
				 "in the school's province if new)" },
	{ "level", 0, "L", "the school's level: MN TH THCS THPT GDTX office "
			   "college" },
	{ "close-from", 0, "DATE", "the school is closed from this day "
				   "(dd/mm/yyyy or YYYY-MM-DD)" },
	{ "reopen-from", 0, "DATE", "the closed school is open again from "
				    "this day" },
	{ "format", 0, "text|json", "output format [text]" },
};
static const struct tb_opt export_opts[] = {
	{ "format", 0, "json|csv|xlsx", "output format" },
	{ "school", 0, "CODE", "only this school" },
	{ "district", 0, "CODE", "only this district's schools" },
	{ "include-voided", 1, "", "keep voided events" },
	{ "output", 0, "FILE", "write to FILE instead of stdout" },
};

/* A command: its options, the server settings its --help lists (NULL:
 * all), and operand, the name of a word it takes before its options
 * (`unit CODE`), stored as setting "code". */
struct command {
	const char *name;
	int (*run)(const struct tb_config *, char *, size_t);
	const struct tb_opt *opts;
	size_t nopts;
	const char *settings;
	const char *operand;
	const char *help;
};

#define OPTS(a) (a), sizeof(a) / sizeof((a)[0])
static const struct command commands[] = {
	{ "serve", tb_serve_cmd, NULL, 0, NULL, NULL, "serve HTTPS until SIGTERM" },
	{ "init-db", cmd_init_db, NULL, 0, "db", NULL,
	  "create the database (mode 0600), or migrate an older one" },
	{ "enroll", cmd_enroll, OPTS(enroll_opts), "db", NULL,
	  "register a school and print a new device token" },
	{ "revoke", cmd_revoke, OPTS(revoke_opts), "db", NULL,
	  "revoke device tokens" },
	{ "devices", cmd_devices, OPTS(devices_opts), "db", NULL,
	  "list device tokens" },
	{ "admin-token", cmd_admin_token, NULL, 0, "db", NULL,
	  "print a new admin token for /v1/admin/" },
	{ "units", cmd_units, OPTS(units_opts), "db", NULL,
	  "every province, district and school: devices, last seen, closed" },
	{ "unit", cmd_unit, OPTS(unit_opts), "db", "CODE",
	  "show a unit; rename it, move, relevel, close or reopen a school" },
	{ "rejections", tb_rejections_cmd, OPTS(tb_rejections_opts), "db", NULL,
	  TB_REJECTIONS_HELP },
	{ "export", cmd_export, OPTS(export_opts), "db", NULL,
	  "current revision of every event, JSON, CSV or Excel" },
	{ "backup", tb_backup_cli_backup, OPTS(tb_backup_cli_opts), "db",
	  NULL, TB_BACKUP_CLI_HELP },
	{ "restore", tb_backup_cli_restore, OPTS(tb_restore_cli_opts), "db",
	  NULL, TB_RESTORE_CLI_HELP },
	{ "migrate-store", tb_migrate_cmd, OPTS(tb_migrate_cli_opts),
	  "plans_dir ontime_days busy_timeout_ms synchronous", NULL,
	  TB_MIGRATE_CLI_HELP },
	{ "report", tb_report_cli_run, OPTS(tb_report_cli_opts),
	  "db plans_dir ontime_days", NULL, TB_REPORT_CLI_HELP },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: tienbo-server COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`tienbo-server COMMAND --help` lists a command's options;"
		   "\n`tienbo-server --version` prints the version.\n");
}

/* `tienbo-server --man`: the manual page, from the command table and the
 * settings table (the same rows as --help), made at build time by
 * cmake/install.cmake. One page with a subsection per command: the
 * commands share the settings, and one page is one search. */
static int man_page(FILE *f)
{
	char usage_line[128];
	size_t i;

	tb_man_head(f, "TIENBO-SERVER", "tienbo-server", TB_VERSION,
		    "the office's tienbo server: enrol schools, merge their "
		    "batches over HTTPS, report the plans' indicators");
	tb_man_section(f, "SYNOPSIS");
	tb_man_verbatim(f, "tienbo-server COMMAND [options]\n"
			"tienbo-server COMMAND --help\n"
			"tienbo-server --version");
	tb_man_section(f, "DESCRIPTION");
	tb_man_text(f, "tienbo-server runs at a district or provincial "
		    "education office. It enrols schools and their devices, "
		    "receives the batches the schools' tienbo-agent uploads "
		    "over HTTPS, merges each exactly once into one SQLite "
		    "database, and reports every indicator of the plans "
		    "against its target.\n\nEvery command takes --config "
		    "FILE (key = value lines; see CONFIGURATION) and any "
		    "setting as an option of the same name; the command line "
		    "wins over the file.");
	tb_man_section(f, "COMMANDS");
	for (i = 0; i < NCOMMANDS; i++) {
		snprintf(usage_line, sizeof(usage_line), "%s%s%s [options]",
			 commands[i].name, commands[i].operand ? " " : "",
			 commands[i].operand ? commands[i].operand : "");
		tb_man_subsection(f, usage_line);
		tb_man_text(f, commands[i].help);
		tb_settings_man(f, commands[i].opts, commands[i].nopts,
				commands[i].settings);
	}
	tb_man_section(f, "CONFIGURATION");
	tb_man_text(f, "A config file holds one setting per line, key = "
		    "value (keys with _ or -), # for comments. Relative paths "
		    "in it are taken from the file's directory; relative "
		    "paths on the command line from the current directory. "
		    "Every setting, with its default:");
	tb_settings_man(f, NULL, 0, NULL);
	tb_man_section(f, "EXIT STATUS");
	tb_man_text(f, "0 ok, 64 usage, 65 bad data or a conflict, 66 not "
		    "found, 69 cannot serve (address in use, bad certificate "
		    "or key), 74 I/O, 75 database busy, 78 configuration.");
	tb_man_section(f, "FILES");
	tb_man_item(f, "/etc/tienbo/server.conf", "the Debian package's "
		    "config file (tienbo-server.service reads it)");
	tb_man_item(f, "/var/lib/tienbo", "the database of the Debian "
		    "package's service");
	tb_man_item(f, "/usr/share/tienbo/plans", "the plans, found when "
		    "plans_dir is not set and ./plans does not exist");
	tb_man_section(f, "SEE ALSO");
	tb_man_text(f, "tienbo-agent(1), /usr/share/doc/tienbo-server/");
	return fflush(f) == 0 && !ferror(f) ? 0 : 74;
}

static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct tb_config *cfg = NULL;
	char msg[MSG_LEN] = "";
	const char *level;
	size_t i;
	int rc, first;

	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("tienbo-server %s\n", TB_VERSION); /* CMakeLists.txt */
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--man") == 0) /* hidden: the build */
		return man_page(stdout);
	if (argc == 2 && strcmp(argv[1], "--example-config") == 0) {
		tb_settings_example(stdout); /* hidden: the build */
		return fflush(stdout) == 0 ? 0 : 74;
	}
	if (argc < 2 || wants_help(1, argv + 1)) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 64 : 0;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "tienbo-server: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 64;
	}
	if (wants_help(argc - 2, argv + 2)) {
		printf("usage: tienbo-server %s%s%s [options]\n%s\n\noptions:\n",
		       cmd->name, cmd->operand ? " " : "",
		       cmd->operand ? cmd->operand : "", cmd->help);
		tb_settings_usage(stdout, cmd->opts, cmd->nopts, cmd->settings);
		return 0;
	}
	first = 2;
	if (cmd->operand && argc > 2 && argv[2][0] != '-')
		first = 3; /* the operand: `unit HB-001 ...` */
	rc = tb_settings_parse(argc - first, argv + first, cmd->opts,
			       cmd->nopts, &cfg, msg, sizeof(msg));
	if (rc == TB_OK && first == 3)
		rc = tb_config_set(cfg, "code", argv[2]);
	if (rc < 0) {
		tb_config_destroy(cfg);
		fail(rc, msg);
		return tb_err_exit(rc);
	}
	level = tb_settings_get(cfg, "log_level");
	tb_slog_set_level(strcmp(level, "debug") == 0 ? TB_SLOG_DEBUG
			  : strcmp(level, "warn") == 0 ? TB_SLOG_WARN
			  : strcmp(level, "error") == 0 ? TB_SLOG_ERROR
							: TB_SLOG_INFO);
	tb_reload_args(argc - first, argv + first); /* SIGHUP (serve) */
	rc = cmd->run(cfg, msg, sizeof(msg));
	tb_config_destroy(cfg);
	if (rc < 0)
		fail(rc, msg);
	return tb_err_exit(rc);
}
