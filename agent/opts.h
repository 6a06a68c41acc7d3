/* opts.h - the agent's command options as tables: name, kind, limits and
 * help text in one row, so parsing, the checks and `--help` come from one
 * place (as server/settings.c does for the server).
 *
 * Called by the commands of agent/cmd_*.c. Each command describes itself
 * with a struct tb_cmd_spec: its usage line, what it does, its options and
 * how many arguments it takes. tb_opts_parse adds --config FILE and --help
 * to every command, runs getopt_long, checks every value against its row
 * (a number's range; the message names the option, the rule and the
 * value) and fills one struct tb_agent_opt_val per row. Options a command
 * adds at run time (the event fields of record and amend, from
 * common/event.c's field tables) pass through a callback.
 *
 * Every string a table holds is a complete English sentence or phrase, the
 * unit of translation for a later catalog.
 */
#ifndef TB_AGENT_OPTS_H
#define TB_AGENT_OPTS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

struct tb_cli;

enum tb_opt_type {
	TB_OPT_FLAG, /* no value */
	TB_OPT_TEXT, /* any value */
	TB_OPT_INT   /* a whole number from min to max */
};

struct tb_agent_opt {
	const char *name;    /* the long option, "batch" */
	char short_name;     /* 'q', or 0 */
	enum tb_opt_type type;
	const char *metavar; /* "N", "FILE"; NULL for a flag */
	long min, max;       /* TB_OPT_INT */
	const char *def;     /* shown as the default in --help, or NULL */
	const char *help;    /* one line */
};

/* What the command line said for one row. text is borrowed from argv. */
struct tb_agent_opt_val {
	int set;          /* given at least once (the last one wins) */
	const char *text; /* TB_OPT_TEXT, TB_OPT_INT: the value as given */
	long num;         /* TB_OPT_INT: the value */
};

/* Options a command adds at run time: the getopt rows (their val fields
 * must not clash with the table's, which are 256 + row index) and the
 * function that takes one. take returns 1 if it took the option, 0 if the
 * option is not its own, or a negative code after printing its message. */
struct tb_opts_extra {
	const struct option *opts;
	size_t count;
	int (*take)(void *ctx, int val, const char *value);
	void *ctx;
};

#define TB_OPTS_MAX 32      /* rows of one command's table at most */
#define TB_OPTS_ARGS_MAX 4  /* positional arguments at most */

struct tb_cmd_spec {
	const char *name;  /* "sync" */
	const char *usage; /* after the command's name: "ID [--json]" */
	const char *about; /* what it does; paragraphs end with "\n" */
	const struct tb_agent_opt *opts; /* count rows, may be NULL */
	size_t count;
	size_t args_min, args_max; /* positional arguments */
	const char *args_missing;  /* the message when too few are given */
	/* Called after the options in --help, or NULL. */
	void (*more_help)(FILE *out, const char *first_arg);
};

/* Parses argv (argv[0] is the command's name) against spec. On success
 * vals[i] holds what row i got (vals has spec->count entries) and args
 * the positional arguments (borrowed, *nargs of them). Returns 0; 1 if
 * --help was given (the help is then printed on stdout and nothing else
 * is to be done); or TB_EUSAGE after printing the problem (and, for a
 * wrong count of arguments, the help) on stderr. --config FILE sets
 * cli->config_opt. */
int tb_opts_parse(struct tb_cli *cli, const struct tb_cmd_spec *spec,
		  const struct tb_opts_extra *extra, int argc, char **argv,
		  struct tb_agent_opt_val *vals, const char **args, size_t *nargs);

/* Prints spec's help: the usage line, what it does, every option with its
 * value, its help, its range and default, then --config and --help. */
void tb_opts_help(FILE *out, const struct tb_cmd_spec *spec,
		  const char *first_arg);

/* The same as a section of the manual page (common/man.h): what
 * `tienbo-agent --man` prints for each command, in place of its help. */
void tb_opts_man(FILE *out, const struct tb_cmd_spec *spec);

#endif
