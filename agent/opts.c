/* opts.c - command options from tables (see opts.h): one getopt_long loop
 * and one help printer for every command of the agent.
 */
#include "agent/opts.h"

#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/man.h"

#define VAL_BASE 256 /* getopt val of table row i: VAL_BASE + i */
#define VAL_CONFIG (VAL_BASE + TB_OPTS_MAX)
#define VAL_HELP (VAL_CONFIG + 1)
#define GETOPT_MAX (TB_OPTS_MAX + 256)
#define HELP_COL 22   /* where the help text of an option starts */
#define HELP_WIDTH 79 /* the last column help text uses */

static const struct tb_agent_opt common_opts[] = {
	{ "config", 0, TB_OPT_TEXT, "FILE", 0, 0, NULL,
	  N_("the config file (see 'tienbo-agent --help')") },
	{ "help", 'h', TB_OPT_FLAG, NULL, 0, 0, NULL, N_("this text") },
};

/* A table's text (marked N_() where the table is) in the clerk's
 * language; "" stays "" (gettext would give the catalog's header). */
static const char *tr(const char *s)
{
	return s && *s ? _(s) : s;
}

/* Strict: digits only (no sign, no space), within the row's range. */
static int parse_num(const char *cmd, const struct tb_agent_opt *o, const char *s,
		     long *out)
{
	char *end = NULL;
	long v = 0;

	if (s && *s >= '0' && *s <= '9') {
		v = strtol(s, &end, 10);
		if (!*end && v >= o->min && v <= o->max) {
			*out = v;
			return TB_OK;
		}
	}
	tb_cli_error(_("%s: --%s must be a whole number from %ld to %ld (got "
		       "'%s')"), cmd, o->name, o->min, o->max, s ? s : "");
	return TB_EUSAGE;
}

/* The columns of n bytes of UTF-8 text: its characters (Vietnamese
 * letters take two or three bytes each, one column). */
static size_t columns(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Prints text from column HELP_COL (where the cursor is) to HELP_WIDTH,
 * breaking lines between words. */
static void wrap(FILE *out, const char *text)
{
	size_t col = HELP_COL, word, wcols;
	const char *p = text;

	while (*p) {
		word = strcspn(p, " ");
		wcols = columns(p, word);
		if (col > HELP_COL && col + 1 + wcols > HELP_WIDTH) {
			fprintf(out, "\n%*s", HELP_COL, "");
			col = HELP_COL;
		} else if (col > HELP_COL) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, word, out);
		col += wcols;
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

/* Characters (not bytes) in a UTF-8 string, for the help's columns. */
static int text_cols(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A row's help with its range and default, in the clerk's language. */
static void row_text(const struct tb_agent_opt *o, char *text, size_t len)
{
	if (o->type == TB_OPT_INT && o->def)
		snprintf(text, len, _("%s (%ld-%ld, default %s)"),
			 tr(o->help), o->min, o->max, o->def);
	else if (o->type == TB_OPT_INT)
		snprintf(text, len, "%s (%ld-%ld)", tr(o->help),
			 o->min, o->max);
	else if (o->def)
		snprintf(text, len, _("%s (default %s)"), tr(o->help),
			 o->def);
	else
		snprintf(text, len, "%s", tr(o->help));
}

/* A row's option as typed, "-q, --quiet" or "--batch N", into head. */
static void row_head(const struct tb_agent_opt *o, char *head, size_t len)
{
	const char *mv = o->metavar ? tr(o->metavar) : "";

	if (o->short_name)
		snprintf(head, len, "-%c, --%s%s%s", o->short_name, o->name,
			 mv[0] ? " " : "", mv);
	else
		snprintf(head, len, "--%s%s%s", o->name, mv[0] ? " " : "",
			 mv);
}

static void help_row(FILE *out, const struct tb_agent_opt *o)
{
	char head[96], text[512];
	int n;

	head[0] = head[1] = ' ';
	row_head(o, head + 2, sizeof(head) - 2);
	n = text_cols(head);
	if (n >= HELP_COL)
		fprintf(out, "%s\n%*s", head, HELP_COL, "");
	else
		fprintf(out, "%s%*s", head, HELP_COL - n, "");
	row_text(o, text, sizeof(text));
	wrap(out, text);
}

void tb_opts_help(FILE *out, const struct tb_cmd_spec *spec,
		  const char *first_arg)
{
	size_t i;

	fprintf(out, _("Usage: tienbo-agent %s%s%s\n\n"), spec->name,
		spec->usage ? " " : "", spec->usage ? tr(spec->usage) : "");
	fputs(tr(spec->about), out);
	fputs(_("\nOptions:\n"), out);
	for (i = 0; i < spec->count; i++)
		help_row(out, &spec->opts[i]);
	for (i = 0; i < sizeof(common_opts) / sizeof(common_opts[0]); i++)
		help_row(out, &common_opts[i]);
	if (spec->more_help)
		spec->more_help(out, first_arg);
}

/* One row as a man(7) tagged paragraph: the same words as help_row. */
static void man_row(FILE *out, const struct tb_agent_opt *o)
{
	char head[96], text[512];

	row_head(o, head, sizeof(head));
	row_text(o, text, sizeof(text));
	tb_man_item(out, head, text);
}

void tb_opts_man(FILE *out, const struct tb_cmd_spec *spec)
{
	char title[256];
	char *more = NULL;
	size_t i, morelen = 0;
	FILE *mem;

	snprintf(title, sizeof(title), "%s%s%s", spec->name,
		 spec->usage ? " " : "", spec->usage ? tr(spec->usage) : "");
	tb_man_subsection(out, title);
	tb_man_text(out, tr(spec->about));
	for (i = 0; i < spec->count; i++)
		man_row(out, &spec->opts[i]);
	for (i = 0; i < sizeof(common_opts) / sizeof(common_opts[0]); i++)
		man_row(out, &common_opts[i]);
	if (!spec->more_help)
		return;
	mem = open_memstream(&more, &morelen);
	if (!mem)
		return;
	spec->more_help(mem, NULL);
	if (fclose(mem) == 0 && more && more[0])
		tb_man_verbatim(out, more);
	free(more); /* open_memstream's buffer: malloc, not tb_malloc */
}

/* The getopt rows: the table's, --config, --help, then the extra ones.
 * The short options string goes into shorts. */
static int build(const struct tb_cmd_spec *spec,
		 const struct tb_opts_extra *extra, struct option *rows,
		 char *shorts, size_t shortslen)
{
	size_t i, n = 0, s = 0;

	if (spec->count > TB_OPTS_MAX ||
	    (extra && extra->count > GETOPT_MAX - TB_OPTS_MAX - 2))
		return TB_ETOOBIG;
	shorts[s++] = ':';
	shorts[s++] = 'h';
	for (i = 0; i < spec->count; i++) {
		const struct tb_agent_opt *o = &spec->opts[i];

		rows[n++] = (struct option){ o->name, o->type == TB_OPT_FLAG
						 ? no_argument
						 : required_argument,
					     NULL, VAL_BASE + (int)i };
		if (o->short_name && s + 3 < shortslen) {
			shorts[s++] = o->short_name;
			if (o->type != TB_OPT_FLAG)
				shorts[s++] = ':';
		}
	}
	shorts[s] = '\0';
	rows[n++] = (struct option){ "config", required_argument, NULL,
				     VAL_CONFIG };
	rows[n++] = (struct option){ "help", no_argument, NULL, VAL_HELP };
	for (i = 0; extra && i < extra->count; i++)
		rows[n++] = extra->opts[i];
	rows[n] = (struct option){ NULL, 0, NULL, 0 };
	return TB_OK;
}

/* The table row of a short option character, or -1. */
static int short_row(const struct tb_cmd_spec *spec, int c)
{
	size_t i;

	for (i = 0; i < spec->count; i++)
		if (spec->opts[i].short_name && spec->opts[i].short_name == c)
			return (int)i;
	return -1;
}

/* One getopt result: 0, 1 for --help, or a negative code. */
static int take(struct tb_cli *cli, const struct tb_cmd_spec *spec,
		const struct tb_opts_extra *extra, char **argv, int c,
		struct tb_agent_opt_val *vals, int *help)
{
	int row = c >= VAL_BASE && c < VAL_BASE + (int)spec->count
			  ? c - VAL_BASE
			  : short_row(spec, c);
	int rc;

	if (c == VAL_HELP || c == 'h') {
		*help = 1;
		return TB_OK;
	}
	if (c == VAL_CONFIG) {
		cli->config_opt = optarg;
		return TB_OK;
	}
	if (row >= 0) {
		const struct tb_agent_opt *o = &spec->opts[row];

		vals[row].set = 1;
		vals[row].text = optarg;
		if (o->type == TB_OPT_INT)
			return parse_num(spec->name, o, optarg, &vals[row].num);
		return TB_OK;
	}
	if (extra && c != '?' && c != ':') {
		rc = extra->take(extra->ctx, c, optarg);
		if (rc != 0)
			return rc > 0 ? TB_OK : rc;
	}
	return tb_cli_bad_option(spec->name, argv, optind, c);
}

int tb_opts_parse(struct tb_cli *cli, const struct tb_cmd_spec *spec,
		  const struct tb_opts_extra *extra, int argc, char **argv,
		  struct tb_agent_opt_val *vals, const char **args, size_t *nargs)
{
	struct option rows[GETOPT_MAX + 1];
	char shorts[2 * TB_OPTS_MAX + 4];
	int c, help = 0, rc;

	*nargs = 0;
	memset(vals, 0, spec->count * sizeof(*vals));
	rc = build(spec, extra, rows, shorts, sizeof(shorts));
	if (rc != TB_OK) {
		tb_cli_error(_("%s: too many options"), spec->name);
		return TB_EUSAGE;
	}
	while ((c = getopt_long(argc, argv, shorts, rows, NULL)) != -1) {
		rc = take(cli, spec, extra, argv, c, vals, &help);
		if (rc != TB_OK)
			return rc;
	}
	while (optind < argc && *nargs < spec->args_max &&
	       *nargs < TB_OPTS_ARGS_MAX)
		args[(*nargs)++] = argv[optind++];
	if (help && cli->man) {
		tb_opts_man(stdout, spec);
		return 1;
	}
	if (help) {
		tb_opts_help(stdout, spec, *nargs ? args[0] : NULL);
		return 1;
	}
	if (optind < argc) {
		tb_cli_error(_("%s: unexpected argument '%s'"), spec->name,
			     argv[optind]);
		return TB_EUSAGE;
	}
	if (*nargs < spec->args_min) {
		tb_opts_help(stderr, spec, NULL);
		tb_cli_error("%s: %s", spec->name,
			     spec->args_missing ? tr(spec->args_missing)
						: _("an argument is missing"));
		return TB_EUSAGE;
	}
	return TB_OK;
}
