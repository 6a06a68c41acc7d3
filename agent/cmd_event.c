/* cmd_event.c - `record`, `amend` and `void`: the commands that write one
 * event revision.
 *
 * Called by tb_cli_main. Guarantees: the new revision is committed
 * (durable) before its id is printed and 0 returned; a refused value
 * changes nothing and its message names the field and the rule. With no
 * field options on a terminal, `record` asks for each field in turn.
 */
#include "agent/cmd.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "agent/form.h"
#include "agent/store.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"

#define OPT_DATE 'd'
#define OPT_CONFIG 'C'
#define OPT_REASON 'r'
#define MAX_OPTS (TB_KIND_COUNT * TB_FIELDS_MAX + 8)

struct event_args {
	struct tb_form form;
	const char *reason;
	const char *positional; /* KIND or ID */
	int help;
};

static void kinds_line(FILE *out)
{
	int k;

	fputs("Kinds:", out);
	for (k = 0; k < TB_KIND_COUNT; k++)
		fprintf(out, " %s", tb_kind_name(k));
	fputc('\n', out);
}

static void record_help(FILE *out, const char *kind_name)
{
	enum tb_kind kind;

	if (kind_name && tb_kind_parse(kind_name, &kind) == TB_OK) {
		fprintf(out, "Usage: tienbo-agent record %s [--FIELD VALUE...]"
			"\n\n", kind_name);
		tb_form_help(out, kind);
		fputs("\nWith no field options on a terminal, asks for each "
		      "field in turn.\nPrints the new event's id.\n", out);
		return;
	}
	fputs("Usage: tienbo-agent record KIND [--date YYYY-MM-DD] "
	      "[--FIELD VALUE...]\n\n"
	      "Records a new event, committed to the store before the id is "
	      "printed.\nEvery field is a long option; with none given on a "
	      "terminal, it asks for\neach field, showing the rule and the "
	      "default.\n", out);
	kinds_line(out);
	fputs("'tienbo-agent record KIND --help' lists the fields of a "
	      "kind.\n", out);
}

static void amend_help(FILE *out)
{
	fputs("Usage: tienbo-agent amend ID [--date YYYY-MM-DD] --FIELD VALUE"
	      "...\n\n"
	      "Writes a new revision of event ID with the given fields "
	      "changed; an empty\nVALUE clears a field. The old revision "
	      "stays in the history; reports use\nthe latest. The fields of "
	      "each kind are listed by 'tienbo-agent record KIND\n--help'.\n"
	      "ID is the full id, or 6 or more of its characters that no "
	      "other id has\n(its end, e.g. 000000000012).\n", out);
}

static void void_help(FILE *out)
{
	fputs("Usage: tienbo-agent void ID --reason TEXT\n\n"
	      "Voids event ID: a new revision that reports leave out. The "
	      "reason is\nrequired and travels with it. ID is the full id, or "
	      "6 or more of its\ncharacters that no other id has.\n", out);
}

/* Parses options: field options into a->form, plus --date, --reason
 * (void only), --config, --help; one positional argument. */
static int parse(struct tb_cli *cli, const char *cmd, int with_fields,
		 int argc, char **argv, struct event_args *a)
{
	struct option opts[MAX_OPTS];
	size_t n = 0;
	int c, taken;

	opts[n++] = (struct option){ "config", required_argument, NULL,
				     OPT_CONFIG };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	if (with_fields) {
		opts[n++] = (struct option){ "date", required_argument, NULL,
					     OPT_DATE };
		if (tb_form_add_options(opts, MAX_OPTS - 1, &n) != TB_OK)
			return TB_ENOMEM;
	} else {
		opts[n++] = (struct option){ "reason", required_argument, NULL,
					     OPT_REASON };
	}
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		taken = tb_form_take(&a->form, c, optarg);
		if (taken == 1)
			continue;
		if (taken < 0) {
			tb_cli_error("%s: too many field options", cmd);
			return TB_EUSAGE;
		}
		switch (c) {
		case OPT_CONFIG: cli->config_opt = optarg; break;
		case OPT_DATE: a->form.date = optarg; break;
		case OPT_REASON: a->reason = optarg; break;
		case 'h': a->help = 1; break;
		default: return tb_cli_bad_option(cmd, argv, optind, c);
		}
	}
	if (optind < argc)
		a->positional = argv[optind++];
	if (optind < argc) {
		tb_cli_error("%s: unexpected argument '%s'", cmd, argv[optind]);
		return TB_EUSAGE;
	}
	return TB_OK;
}

/* Fills e from the command line, or from the clerk at a terminal. */
static int fill(const struct event_args *a, struct tb_event *e)
{
	char msg[TB_MSG_LEN];
	int rc;

	msg[0] = '\0';
	if (a->form.n == 0 && !a->form.date && isatty(STDIN_FILENO))
		rc = tb_form_prompt(e, stdin, stderr, tb_date_today(), msg,
				    sizeof(msg));
	else
		rc = tb_form_apply(&a->form, e, msg, sizeof(msg));
	if (rc == TB_EUSAGE)
		tb_cli_error("record: %s", msg);
	else if (rc != TB_OK)
		tb_cli_error("%s; nothing was recorded",
			     msg[0] ? msg : tb_strerror(rc));
	return rc;
}

int tb_cmd_record(struct tb_cli *cli, int argc, char **argv)
{
	struct event_args a;
	struct tb_event e;
	enum tb_kind kind;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, "record", 1, argc, argv, &a);
	if (rc != TB_OK || a.help) {
		if (a.help)
			record_help(stdout, a.positional);
		return rc;
	}
	if (!a.positional) {
		record_help(stderr, NULL);
		tb_cli_error("record: which kind of event? (record KIND)");
		return TB_EUSAGE;
	}
	if (tb_kind_parse(a.positional, &kind) != TB_OK) {
		tb_cli_error("record: unknown kind '%s'", a.positional);
		kinds_line(stderr);
		return TB_EUSAGE;
	}
	/* Open the store first: no typing a whole form into a broken set-up. */
	rc = tb_cli_open_store(cli);
	if (rc != TB_OK)
		return rc;
	tb_event_init(&e, kind);
	e.date = tb_date_today();
	rc = fill(&a, &e);
	if (rc == TB_OK) {
		rc = tb_store_record(cli->store, &e);
		if (rc != TB_OK)
			tb_cli_error("%s; nothing was recorded",
				     tb_store_errmsg(cli->store));
	}
	if (rc == TB_OK) {
		printf("%s\n", e.id);
		if (isatty(STDIN_FILENO) && a.form.n == 0 && !a.form.date)
			fprintf(stderr, "Recorded %s %s; it will be uploaded "
				"at the next sync.\n", tb_kind_name(kind),
				e.id);
	}
	tb_event_clear(&e);
	return rc;
}

/* Resolves the ID argument (full or a prefix) into id. */
static int resolve(struct tb_cli *cli, const char *cmd, const char *arg,
		   char *id)
{
	int rc;

	if (!arg) {
		tb_cli_error("%s: which event? give its ID", cmd);
		return TB_EUSAGE;
	}
	rc = tb_cli_open_store(cli);
	if (rc == TB_OK) {
		rc = tb_store_resolve_id(cli->store, arg, id);
		if (rc != TB_OK)
			tb_cli_error("%s: %s", cmd,
				     tb_store_errmsg(cli->store));
	}
	return rc;
}

int tb_cmd_amend(struct tb_cli *cli, int argc, char **argv)
{
	struct event_args a;
	struct tb_event e;
	char id[TB_ID_LEN], msg[TB_MSG_LEN];
	int rc, have = 0;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, "amend", 1, argc, argv, &a);
	if (rc != TB_OK || a.help) {
		if (a.help)
			amend_help(stdout);
		return rc;
	}
	if (a.form.n == 0 && !a.form.date) {
		amend_help(stderr);
		tb_cli_error("amend: give at least one --FIELD VALUE to change");
		return TB_EUSAGE;
	}
	rc = resolve(cli, "amend", a.positional, id);
	if (rc == TB_OK) {
		rc = tb_store_get(cli->store, id, &e, NULL);
		have = rc == TB_OK;
		if (rc != TB_OK)
			tb_cli_error("amend: %s", tb_store_errmsg(cli->store));
	}
	if (rc == TB_OK) {
		msg[0] = '\0';
		rc = tb_form_apply(&a.form, &e, msg, sizeof(msg));
		if (rc != TB_OK)
			tb_cli_error("amend: %s; nothing was changed", msg);
	}
	if (rc == TB_OK) {
		e.revision++;
		rc = tb_store_amend(cli->store, &e);
		if (rc != TB_OK)
			tb_cli_error("amend: %s; nothing was changed",
				     tb_store_errmsg(cli->store));
	}
	if (rc == TB_OK)
		printf("%s\n", e.id);
	if (have)
		tb_event_clear(&e);
	return rc;
}

int tb_cmd_void(struct tb_cli *cli, int argc, char **argv)
{
	struct event_args a;
	char id[TB_ID_LEN];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, "void", 0, argc, argv, &a);
	if (rc != TB_OK || a.help) {
		if (a.help)
			void_help(stdout);
		return rc;
	}
	if (!a.reason) {
		void_help(stderr);
		tb_cli_error("void: --reason TEXT is required");
		return TB_EUSAGE;
	}
	rc = resolve(cli, "void", a.positional, id);
	if (rc == TB_OK) {
		rc = tb_store_void(cli->store, id, a.reason, NULL);
		if (rc != TB_OK)
			tb_cli_error("void: %s; nothing was changed",
				     tb_store_errmsg(cli->store));
	}
	if (rc == TB_OK)
		printf("%s\n", id);
	return rc;
}
