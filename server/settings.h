/* settings.h - the settings of tienbo-server, from a config file and the
 * command line, described by one table (key, type, default, limits, help)
 * so `--help`, the config file check and the defaults come from one place.
 *
 * Every command takes `--config FILE` (common/config.h format) and any
 * setting as an option of the same name: `--max-uploads 8` or
 * `--max_uploads=8` on the command line, `max_uploads = 8` (or
 * `max-uploads = 8`) in the file. The command line wins over the file. A
 * command adds its own options (enroll's --school ...) with a tb_opt table;
 * those are accepted only on the command line. Unknown keys in the file,
 * unknown or repeated options and stray arguments are refused with a
 * message that names them. Called by server/main.c.
 */
#ifndef TB_SERVER_SETTINGS_H
#define TB_SERVER_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

struct tb_config;

/* A command's own option. is_flag: takes no value (stored as "yes"). */
struct tb_opt {
	const char *name; /* with hyphens, as typed: "include-voided" */
	int is_flag;
	const char *arg;  /* placeholder in --help: "CODE" */
	const char *help;
};

/* Parses argv[0..argc) (the words after the command name) into *out, a
 * config whose keys use underscores. 0; TB_EUSAGE / TB_ECONFIG with msg;
 * TB_ENOMEM; TB_EIO. *out is NULL on failure; the caller destroys it. */
int tb_settings_parse(int argc, char **argv, const struct tb_opt *opts,
		      size_t nopts, struct tb_config **out, char *msg,
		      size_t msglen);

/* The value of a server setting or command option: as given, else the
 * table default (NULL when the setting has none or is not a setting).
 * Borrowed from c or static storage. */
const char *tb_settings_get(const struct tb_config *c, const char *key);
/* An integer setting, checked against the table's limits. 0 or TB_ECONFIG
 * with msg naming the key and the rule. */
int tb_settings_long(const struct tb_config *c, const char *key, long *out,
		     char *msg, size_t msglen);

/* The database options the settings give (busy_timeout_ms, synchronous)
 * into o, create set as asked. */
struct tb_db_opts;
struct tb_sql;
int tb_settings_db_opts(const struct tb_config *c, int create,
			struct tb_db_opts *o, char *msg, size_t msglen);
/* Opens the settings' db with those options (server/db.h tb_db_open: a
 * path that does not exist, or a file that is not a tienbo database, is
 * refused). 0 and *db, or the error with msg. */
int tb_settings_open_db(const struct tb_config *c, struct tb_sql **db,
			char *msg, size_t msglen);

/* Option help for a command: its own options, then the server settings
 * with their defaults: all of them when only is NULL, else those whose
 * keys are listed in only ("db plans_dir"). Every command accepts every
 * setting; the help shows those it uses. */
void tb_settings_usage(FILE *f, const struct tb_opt *opts, size_t nopts,
		       const char *only);

/* The same, as man(7) tagged paragraphs (common/man.h), for the manual
 * page `tienbo-server --man` prints. */
void tb_settings_man(FILE *f, const struct tb_opt *opts, size_t nopts,
		     const char *only);
/* Every setting as a commented "#key = default" line under its help: the
 * example config file (`tienbo-server --example-config`). */
void tb_settings_example(FILE *f);
/* The places plans_dir's default is looked for, in order, as one line
 * into buf ("./plans, /usr/bin/../share/tienbo/plans, ..."), for the
 * message when none exists. Returns buf. */
const char *tb_settings_plans_searched(char *buf, size_t buflen);

#endif
