/* cmd_event.c - `record`, `amend` and `void`: the commands that write one
 * event revision.
 *
 * Called by tb_cli_main. Guarantees: the new revision is committed
 * (durable) before its id is printed and 0 returned; a refused value
 * changes nothing and its message names the field and the rule. With no
 * field options on a terminal, `record` asks for each field in turn.
 */
#include "agent/cmd.h"

#include <string.h>
#include <unistd.h>

#include "agent/form.h"
#include "agent/labels.h"
#include "agent/opts.h"
#include "agent/store.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "common/i18n.h"

#define OPT_DATE 'd'
#define MAX_OPTS (TB_KIND_COUNT * TB_FIELDS_MAX + 8)
#define TB_SDB_MSG_MAX 800 /* a store message (agent/store_db.h) */

struct event_args {
	struct tb_form form;
	const char *reason;
	const char *positional; /* KIND or ID */
	const char *cmd;        /* for messages */
};

static void kinds_line(FILE *out)
{
	int k;

	fputs(_("Kinds:"), out);
	for (k = 0; k < TB_KIND_COUNT; k++)
		fprintf(out, " %s", tb_kind_name(k));
	fputc('\n', out);
}

/* record KIND --help: that kind's fields; record --help: the kinds. */
static void record_more(FILE *out, const char *kind_name)
{
	enum tb_kind kind;

	fputc('\n', out);
	if (kind_name && tb_kind_parse(kind_name, &kind) == TB_OK) {
		tb_form_help(out, kind);
		fputs(_("\nWith no field options on a terminal, asks for each "
			"field in turn.\nPrints the new event's id.\n"),
		      out);
		return;
	}
	kinds_line(out);
	fputs(_("'tienbo-agent record KIND --help' lists the fields of a "
		"kind.\n"),
	      out);
}

static const struct tb_cmd_spec record_spec = {
	"record", N_("KIND [--date DATE] [--FIELD VALUE...]"),
	N_("Records a new event, committed to the store before the id is "
	   "printed.\nEvery field is a long option; with none given on a "
	   "terminal, it asks for\neach field, showing the rule and the "
	   "default, then\nshows what will be recorded and asks yes or no.\n"),
	NULL, 0, 0, 1, NULL, record_more
};

static const struct tb_cmd_spec amend_spec = {
	"amend", N_("ID [--date DATE] --FIELD VALUE..."),
	N_("Writes a new revision of event ID with the given fields changed; "
	   "an empty\nVALUE clears a field. The old revision stays in the "
	   "history; reports use\nthe latest. The fields of each kind are "
	   "listed by 'tienbo-agent record KIND\n--help'. ID is the full id, "
	   "or 6 or more of its characters that no other id\nhas (its end, "
	   "e.g. 000000000012).\n"),
	NULL, 0, 0, 1, NULL, NULL
};

static const struct tb_agent_opt void_opts[] = {
	{ "reason", 0, TB_OPT_TEXT, N_("TEXT"), 0, 0, NULL,
	  N_("why the event is voided (required; it travels with it)") },
};

static const struct tb_cmd_spec void_spec = {
	"void", N_("ID --reason TEXT"),
	N_("Voids event ID: a new revision that reports leave out. ID is the "
	   "full id,\nor 6 or more of its characters that no other id has.\n"),
	void_opts, 1, 0, 1, NULL, NULL
};

/* The form's options (--date and the field options) for tb_opts_parse. */
static int take_field(void *ctx, int val, const char *value)
{
	struct event_args *a = ctx;
	int taken;

	if (val == OPT_DATE) {
		a->form.date = value;
		return 1;
	}
	taken = tb_form_take(&a->form, val, value);
	if (taken < 0) {
		tb_cli_error(_("%s: too many field options"), a->cmd);
		return TB_EUSAGE;
	}
	return taken;
}

/* Parses options: field options and --date into a->form when
 * with_fields, else --reason; one positional argument. 0, 1 when --help
 * was answered, or a negative code. */
static int parse(struct tb_cli *cli, const struct tb_cmd_spec *spec,
		 int with_fields, int argc, char **argv, struct event_args *a)
{
	struct option opts[MAX_OPTS];
	struct tb_opts_extra extra = { opts, 0, take_field, a };
	struct tb_agent_opt_val v[1];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t nargs;
	int rc;

	a->cmd = spec->name;
	if (with_fields) {
		opts[extra.count++] = (struct option){ "date", required_argument,
						       NULL, OPT_DATE };
		if (tb_form_add_options(opts, MAX_OPTS, &extra.count) != TB_OK)
			return TB_ENOMEM;
	}
	rc = tb_opts_parse(cli, spec, with_fields ? &extra : NULL, argc, argv,
			   v, args, &nargs);
	if (rc != TB_OK)
		return rc;
	a->positional = nargs ? args[0] : NULL;
	if (!with_fields && v[0].set)
		a->reason = v[0].text;
	return TB_OK;
}

/* The store's message with field names as the clerk knows them. */
static const char *labelled(struct tb_cli *cli, char *buf, size_t len)
{
	snprintf(buf, len, "%s", tb_store_errmsg(cli->store));
	tb_label_msg(buf, len);
	return buf;
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
	tb_label_msg(msg, sizeof(msg));
	if (rc == TB_EUSAGE)
		tb_cli_error("record: %s", msg);
	else if (rc != TB_OK)
		tb_cli_error(_("%s; nothing was recorded"),
			     msg[0] ? msg : tb_strerror(rc));
	return rc;
}

int tb_cmd_record(struct tb_cli *cli, int argc, char **argv)
{
	struct event_args a;
	struct tb_event e;
	enum tb_kind kind;
	char msg[TB_SDB_MSG_MAX];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, &record_spec, 1, argc, argv, &a);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if (!a.positional) {
		tb_opts_help(stderr, &record_spec, NULL);
		tb_cli_error(_("record: which kind of event? (record KIND)"));
		return TB_EUSAGE;
	}
	if (tb_kind_parse(a.positional, &kind) != TB_OK) {
		tb_cli_error(_("record: unknown kind '%s'"), a.positional);
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
			tb_cli_error(_("%s; nothing was recorded"),
				     labelled(cli, msg, sizeof(msg)));
	}
	if (rc == TB_OK) {
		printf("%s\n", e.id);
		if (isatty(STDIN_FILENO) && a.form.n == 0 && !a.form.date)
			fprintf(stderr, _("Recorded %s %s; it will be uploaded "
					  "at the next sync.\n"),
				tb_kind_label(kind), e.id);
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
		tb_cli_error(_("%s: which event? give its ID"), cmd);
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
	char id[TB_ID_LEN], msg[TB_SDB_MSG_MAX];
	int rc, have = 0;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, &amend_spec, 1, argc, argv, &a);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if (a.form.n == 0 && !a.form.date) {
		tb_opts_help(stderr, &amend_spec, NULL);
		tb_cli_error(_("amend: give at least one --FIELD VALUE to "
			       "change"));
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
		tb_label_msg(msg, sizeof(msg));
		if (rc != TB_OK)
			tb_cli_error(_("amend: %s; nothing was changed"), msg);
	}
	if (rc == TB_OK) {
		e.revision++;
		rc = tb_store_amend(cli->store, &e);
		if (rc != TB_OK)
			tb_cli_error(_("amend: %s; nothing was changed"),
				     labelled(cli, msg, sizeof(msg)));
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
	rc = parse(cli, &void_spec, 0, argc, argv, &a);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if (!a.reason) {
		tb_opts_help(stderr, &void_spec, NULL);
		tb_cli_error(_("void: --reason TEXT is required"));
		return TB_EUSAGE;
	}
	rc = resolve(cli, "void", a.positional, id);
	if (rc == TB_OK) {
		rc = tb_store_void(cli->store, id, a.reason, NULL);
		if (rc != TB_OK)
			tb_cli_error(_("void: %s; nothing was changed"),
				     tb_store_errmsg(cli->store));
	}
	if (rc == TB_OK)
		printf("%s\n", id);
	return rc;
}
