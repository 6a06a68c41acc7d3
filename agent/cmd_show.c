/* cmd_show.c - the reading commands: `list`, `show` and `export`.
 *
 * Called by tb_cli_main. Guarantees: nothing is written to the store; rows
 * are streamed one at a time from a single read transaction (a consistent
 * view, memory independent of the store's size); JSON is UTF-8 as stored;
 * CSV starts with the BOM Excel needs and quotes as common/csv.h says.
 */
#include "agent/cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "agent/i18n.h"
#include "agent/input.h"
#include "agent/labels.h"
#include "agent/opts.h"
#include "agent/store.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/event.h"
#include "protocol/codec.h"

enum { FMT_TABLE, FMT_JSON, FMT_CSV };

struct view_args {
	struct tb_store_filter filter;
	int format;
	const char *output;     /* export --output */
	const char *positional; /* show ID */
};

struct out {
	FILE *f;
	int rows;
	int format;
	int kind;               /* -1: every kind's fields as columns */
};

/* ---- options ------------------------------------------------------------ */

enum { O_KIND, O_FROM, O_TO, O_PENDING, O_JSON, O_FORMAT, O_OUTPUT,
       O_COUNT };

#define ROW_KIND { "kind", 0, TB_OPT_TEXT, N_("KIND"), 0, 0, NULL, \
		   N_("only events of this kind") }
#define ROW_FROM { "from", 0, TB_OPT_TEXT, N_("DATE"), 0, 0, NULL, \
		   N_("only events on or after this day") }
#define ROW_TO { "to", 0, TB_OPT_TEXT, N_("DATE"), 0, 0, NULL, \
		 N_("only events on or before this day") }
#define ROW_JSON { "json", 0, TB_OPT_FLAG, NULL, 0, 0, NULL, \
		   N_("print JSON instead of text") }

/* Each command's rows, and where each row of the full set is in them. */
static const struct tb_agent_opt list_opts[] = {
	ROW_KIND, ROW_FROM, ROW_TO,
	{ "pending", 0, TB_OPT_FLAG, NULL, 0, 0, NULL,
	  N_("only events with a change not yet uploaded") },
	ROW_JSON,
};
static const int list_map[O_COUNT] = { 0, 1, 2, 3, 4, -1, -1 };

static const struct tb_agent_opt show_opts[] = { ROW_JSON };
static const int show_map[O_COUNT] = { -1, -1, -1, -1, 0, -1, -1 };

static const struct tb_agent_opt export_opts[] = {
	{ "format", 0, TB_OPT_TEXT, "csv|json", 0, 0, "csv",
	  N_("CSV (UTF-8 with a BOM, opens cleanly in Excel) or a JSON "
	     "array") },
	ROW_KIND, ROW_FROM, ROW_TO,
	{ "output", 'o', TB_OPT_TEXT, N_("FILE"), 0, 0, N_("standard output"),
	  N_("write to FILE") },
};
static const int export_map[O_COUNT] = { 1, 2, 3, -1, -1, 0, 4 };

static const struct tb_cmd_spec list_spec = {
	"list", N_("[OPTIONS]"),
	N_("Lists the latest revision of each event, by date.\n"),
	list_opts, sizeof(list_opts) / sizeof(list_opts[0]), 0, 0, NULL, NULL
};

static const struct tb_cmd_spec show_spec = {
	"show", N_("ID [--json]"),
	N_("Shows the latest revision of event ID, every field, and each "
	   "revision\nwith its upload state. ID is the full id, or 6 or more "
	   "of its characters\nthat no other id has (its end, e.g. "
	   "000000000012).\n"),
	show_opts, 1, 1, 1, N_("which event? give its ID"), NULL
};

static const struct tb_cmd_spec export_spec = {
	"export", N_("[OPTIONS]"),
	N_("Writes the latest revision of every event (voided ones too, "
	   "marked) as\nCSV or a JSON array.\n"),
	export_opts, sizeof(export_opts) / sizeof(export_opts[0]), 0, 0, NULL,
	NULL
};

static int parse_date_opt(const char *cmd, const char *opt, const char *v,
			  int32_t *out)
{
	char why[TB_WHY_LEN];

	if (tb_input_date(v, out, why, sizeof(why)) != TB_OK) {
		tb_cli_error(_("%s: --%s: %s"), cmd, opt, why);
		return TB_EUSAGE;
	}
	return TB_OK;
}

/* The value of row `row` of the full set, or NULL if the command has no
 * such row or it was not given. */
static const struct tb_agent_opt_val *val(const struct tb_agent_opt_val *v,
				    const int *map, int row)
{
	return map[row] >= 0 && v[map[row]].set ? &v[map[row]] : NULL;
}

/* 0, 1 when --help was answered, or TB_EUSAGE. */
static int parse(struct tb_cli *cli, const struct tb_cmd_spec *spec,
		 const int *map, int argc, char **argv, struct view_args *a)
{
	struct tb_agent_opt_val v[TB_OPTS_MAX];
	const char *args[TB_OPTS_ARGS_MAX];
	const struct tb_agent_opt_val *x;
	enum tb_kind kind;
	size_t nargs;
	int rc;

	tb_store_filter_init(&a->filter);
	rc = tb_opts_parse(cli, spec, NULL, argc, argv, v, args, &nargs);
	if (rc != TB_OK)
		return rc;
	a->positional = nargs ? args[0] : NULL;
	if ((x = val(v, map, O_KIND))) {
		if (tb_kind_parse(x->text, &kind) != TB_OK) {
			tb_cli_error(_("%s: unknown kind '%s'"), spec->name,
				     x->text);
			return TB_EUSAGE;
		}
		a->filter.kind = (int)kind;
	}
	if ((x = val(v, map, O_FROM))) {
		a->filter.has_from = 1;
		rc = parse_date_opt(spec->name, "from", x->text,
				    &a->filter.from);
	}
	if (rc == TB_OK && (x = val(v, map, O_TO))) {
		a->filter.has_to = 1;
		rc = parse_date_opt(spec->name, "to", x->text, &a->filter.to);
	}
	a->filter.pending_only = val(v, map, O_PENDING) != NULL;
	if (val(v, map, O_JSON))
		a->format = FMT_JSON;
	if (rc == TB_OK && (x = val(v, map, O_FORMAT))) {
		if (strcmp(x->text, "csv") == 0)
			a->format = FMT_CSV;
		else if (strcmp(x->text, "json") == 0)
			a->format = FMT_JSON;
		else {
			tb_cli_error(_("%s: --format must be csv or json (got "
				       "'%s')"),
				     spec->name, x->text);
			rc = TB_EUSAGE;
		}
	}
	if ((x = val(v, map, O_OUTPUT)))
		a->output = x->text;
	return rc;
}

/* ---- one event as JSON -------------------------------------------------- */

/* The event object of the wire, with school and device, plus the upload
 * state (and the server's reason when rejected). */
static cJSON *row_json(const struct tb_store_row *row)
{
	cJSON *obj = tb_event_to_json(row->ev);

	if (!obj)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "state",
				     tb_store_state_name(row->state)) ||
	    (row->reject_reason &&
	     !cJSON_AddStringToObject(obj, "reject_reason",
				      row->reject_reason))) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

static int print_json_row(struct out *o, const struct tb_store_row *row)
{
	cJSON *obj = row_json(row);
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
	int rc = text ? TB_OK : TB_ENOMEM;

	if (text && fprintf(o->f, "%s  %s", o->rows ? ",\n" : "", text) < 0)
		rc = TB_EIO;
	cJSON_free(text);
	cJSON_Delete(obj);
	return rc;
}

/* ---- table -------------------------------------------------------------- */

static const char *title_of(const struct tb_event *e, char *buf, size_t len)
{
	int idx = tb_field_index(e->kind, "title");

	if (idx < 0)
		return "";
	return tb_event_get(e, idx, buf, len);
}

/* s padded with spaces to w characters (UTF-8), into buf. */
static const char *pad(const char *s, int w, char *buf, size_t len)
{
	int cols = 0;
	size_t n;

	for (const char *p = s; *p; p++)
		cols += ((unsigned char)*p & 0xC0) != 0x80;
	n = (size_t)snprintf(buf, len, "%s", s);
	while (cols++ < w && n + 1 < len)
		buf[n++] = ' ';
	buf[n < len ? n : len - 1] = '\0';
	return buf;
}

static int print_table_row(struct out *o, const struct tb_store_row *row)
{
	const struct tb_event *e = row->ev;
	char date[TB_DATE_LEN], title[TB_TEXT_MAX + 1], a[80], b[80], c[80],
		d[80];
	int vi = tb_i18n_is_vi(), kw = vi ? 16 : 12;

	if (o->rows == 0 &&
	    fprintf(o->f, "%-36s  %s  %s  %s  %s  %s\n", "ID",
		    pad(_("DATE"), 10, a, sizeof(a)),
		    pad(_("KIND"), kw, b, sizeof(b)),
		    pad(_("REV"), 3, c, sizeof(c)),
		    pad(_("STATE"), 10, d, sizeof(d)), _("TITLE")) < 0)
		return TB_EIO;
	if (fprintf(o->f, "%-36s  %s  %s  %3lld  %s  %s%s\n", e->id,
		    vi ? tb_input_date_text(e->date, date)
		       : tb_date_format(e->date, date),
		    pad(tb_kind_label(e->kind), kw, b, sizeof(b)),
		    (long long)e->revision,
		    pad(_(tb_store_state_name(row->state)), 10, d, sizeof(d)),
		    e->voided ? _("[voided] ") : "",
		    title_of(e, title, sizeof(title))) < 0)
		return TB_EIO;
	return TB_OK;
}

/* ---- CSV ---------------------------------------------------------------- */

static const char *const csv_envelope[] = {
	"id", "kind", "date", "revision", "recorded_at", "state", "voided",
	"void_reason", "school", "device"
};
#define NENVELOPE (sizeof(csv_envelope) / sizeof(csv_envelope[0]))
#define MAX_COLUMNS (NENVELOPE + TB_KIND_COUNT * TB_FIELDS_MAX)

/* The field columns: every distinct field name of the kinds exported (one
 * kind, or all of them), in table order. */
static size_t field_columns(int kind, const char **names, size_t cap)
{
	const struct tb_field *tab;
	size_t n, i, j, count = 0;
	int k;

	for (k = 0; k < TB_KIND_COUNT; k++) {
		if (kind >= 0 && k != kind)
			continue;
		tab = tb_kind_fields(k, &n);
		for (i = 0; i < n; i++) {
			for (j = 0; j < count; j++)
				if (strcmp(names[j], tab[i].name) == 0)
					break;
			if (j == count && count < cap)
				names[count++] = tab[i].name;
		}
	}
	return count;
}

static int write_cells(FILE *f, const char *const *cells, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tb_csv_write_field(f, cells[i], i + 1 == n) != TB_OK)
			return TB_EIO;
	return TB_OK;
}

static int print_csv_header(struct out *o)
{
	const char *cells[MAX_COLUMNS];
	size_t n;

	memcpy(cells, csv_envelope, sizeof(csv_envelope));
	n = NENVELOPE + field_columns(o->kind, cells + NENVELOPE,
				      MAX_COLUMNS - NENVELOPE);
	if (tb_csv_write_bom(o->f) != TB_OK)
		return TB_EIO;
	return write_cells(o->f, cells, n);
}

static int print_csv_row(struct out *o, const struct tb_store_row *row)
{
	static char values[TB_FIELDS_MAX][TB_TEXT_MAX + 1];
	const struct tb_event *e = row->ev;
	const char *cells[MAX_COLUMNS], *names[MAX_COLUMNS];
	char date[TB_DATE_LEN], rev[24], at[TB_TIME_LEN];
	size_t n, i;
	int idx;

	if (o->rows == 0 && print_csv_header(o) != TB_OK)
		return TB_EIO;
	snprintf(rev, sizeof(rev), "%lld", (long long)e->revision);
	cells[0] = e->id;
	cells[1] = tb_kind_name(e->kind);
	cells[2] = tb_date_format(e->date, date);
	cells[3] = rev;
	cells[4] = tb_time_format(e->recorded_at, at);
	cells[5] = tb_store_state_name(row->state);
	cells[6] = e->voided ? "yes" : "no";
	cells[7] = e->voided && e->void_reason ? e->void_reason : "";
	cells[8] = e->school;
	cells[9] = e->device;
	n = field_columns(o->kind, names, MAX_COLUMNS - NENVELOPE);
	for (i = 0; i < n; i++) {
		idx = tb_field_index(e->kind, names[i]);
		cells[NENVELOPE + i] =
			idx < 0 ? ""
				: tb_event_get(e, idx, values[idx],
					       sizeof(values[idx]));
	}
	return write_cells(o->f, cells, NENVELOPE + n);
}

/* ---- walking ------------------------------------------------------------ */

static int print_row(void *arg, const struct tb_store_row *row)
{
	struct out *o = arg;
	int rc;

	switch (o->format) {
	case FMT_JSON: rc = print_json_row(o, row); break;
	case FMT_CSV: rc = print_csv_row(o, row); break;
	default: rc = print_table_row(o, row); break;
	}
	if (rc == TB_OK)
		o->rows++;
	return rc;
}

/* Lists the store through f to o; JSON is one array. */
static int emit(struct tb_cli *cli, const char *cmd, struct out *o,
		const struct tb_store_filter *f)
{
	int rc;

	if (o->format == FMT_JSON && fputs("[\n", o->f) < 0)
		return TB_EIO;
	rc = tb_store_list(cli->store, f, print_row, o);
	if (rc == TB_OK && o->format == FMT_JSON &&
	    fputs(o->rows ? "\n]\n" : "]\n", o->f) < 0)
		rc = TB_EIO;
	if (rc == TB_OK && o->format == FMT_CSV && o->rows == 0)
		rc = print_csv_header(o); /* no rows: the header alone */
	if (rc == TB_EIO && !tb_store_errmsg(cli->store)[0])
		tb_cli_error(_("%s: cannot write the output: %s"), cmd,
			     strerror(errno));
	else if (rc != TB_OK)
		tb_cli_error("%s: %s", cmd, tb_store_errmsg(cli->store)[0]
						    ? tb_store_errmsg(cli->store)
						    : tb_strerror(rc));
	return rc;
}

int tb_cmd_list(struct tb_cli *cli, int argc, char **argv)
{
	struct view_args a;
	struct out o = { stdout, 0, FMT_TABLE, -1 };
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, &list_spec, list_map, argc, argv, &a);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if (rc == TB_OK)
		rc = tb_cli_open_store(cli);
	if (rc == TB_OK) {
		o.format = a.format;
		rc = emit(cli, "list", &o, &a.filter);
	}
	return rc;
}

/* ---- show --------------------------------------------------------------- */

struct show_ctx {
	cJSON *revisions; /* --json: array being built */
	int count;
};

static int show_revision(void *arg, const struct tb_store_row *row)
{
	struct show_ctx *c = arg;
	const struct tb_event *e = row->ev;
	char at[TB_TIME_LEN];
	cJSON *r;

	c->count++;
	if (!c->revisions) {
		char local[64];

		printf("  %-4lld seq %-8lld %s  %-8s%s%s%s%s\n",
		       (long long)e->revision, (long long)row->seq,
		       tb_i18n_time(e->recorded_at, local, sizeof(local)),
		       _(tb_store_state_name(row->state)),
		       e->voided ? _("  voided: ") : "",
		       e->voided ? e->void_reason : "",
		       row->reject_reason ? _("  server: ") : "",
		       row->reject_reason ? row->reject_reason : "");
		return TB_OK;
	}
	tb_time_format(e->recorded_at, at);
	r = cJSON_CreateObject();
	if (!r || !cJSON_AddItemToArray(c->revisions, r))
		return TB_ENOMEM;
	if (!cJSON_AddNumberToObject(r, "revision", (double)e->revision) ||
	    !cJSON_AddNumberToObject(r, "seq", (double)row->seq) ||
	    !cJSON_AddStringToObject(r, "recorded_at", at) ||
	    !cJSON_AddStringToObject(r, "state",
				     tb_store_state_name(row->state)) ||
	    !cJSON_AddBoolToObject(r, "voided", e->voided) ||
	    (row->reject_reason &&
	     !cJSON_AddStringToObject(r, "reject_reason", row->reject_reason)))
		return TB_ENOMEM;
	return TB_OK;
}

static void show_text(const struct tb_event *e, enum tb_store_state st)
{
	const struct tb_field *tab;
	char date[TB_DATE_LEN], at[64], v[TB_TEXT_MAX + 1], pad_buf[128];
	int vi = tb_i18n_is_vi();
	size_t n, i;

	printf("%s %s\n", pad(_("id:"), 26, pad_buf, sizeof(pad_buf)), e->id);
	printf("%s %s\n", pad(_("kind:"), 26, pad_buf, sizeof(pad_buf)),
	       tb_kind_label(e->kind));
	printf("%s %s\n", pad(_("school:"), 26, pad_buf, sizeof(pad_buf)),
	       e->school);
	printf("%s %s\n", pad(_("date:"), 26, pad_buf, sizeof(pad_buf)),
	       vi ? tb_input_date_text(e->date, date)
		  : tb_date_format(e->date, date));
	printf("%s %lld\n", pad(_("revision:"), 26, pad_buf, sizeof(pad_buf)),
	       (long long)e->revision);
	printf("%s %s\n", pad(_("state:"), 26, pad_buf, sizeof(pad_buf)),
	       _(tb_store_state_name(st)));
	printf("%s %s\n", pad(_("recorded at:"), 26, pad_buf, sizeof(pad_buf)),
	       tb_i18n_time(e->recorded_at, at, sizeof(at)));
	if (e->voided)
		printf("%s %s\n", pad(_("voided:"), 26, pad_buf, sizeof(pad_buf)),
		       e->void_reason);
	tab = tb_kind_fields(e->kind, &n);
	for (i = 0; i < n; i++) {
		char label[160];

		tb_event_get(e, (int)i, v, sizeof(v));
		snprintf(label, sizeof(label), "%s:", tb_field_label(&tab[i]));
		printf("%s %s\n", pad(label, 26, pad_buf, sizeof(pad_buf)),
		       v[0] ? v : "-");
	}
}

static int show_json(struct tb_cli *cli, const char *id,
		     const struct tb_event *e, enum tb_store_state st)
{
	struct tb_store_row row = { 0, st, NULL, 0, e };
	struct show_ctx c = { NULL, 0 };
	cJSON *obj = row_json(&row);
	char *text = NULL;
	int rc = TB_ENOMEM;

	if (!obj)
		goto out;
	c.revisions = cJSON_AddArrayToObject(obj, "revisions");
	if (!c.revisions)
		goto out;
	rc = tb_store_history(cli->store, id, show_revision, &c);
	if (rc != TB_OK)
		goto out;
	text = cJSON_Print(obj);
	rc = text ? TB_OK : TB_ENOMEM;
	if (text)
		printf("%s\n", text);
out:
	cJSON_free(text);
	cJSON_Delete(obj);
	return rc;
}

int tb_cmd_show(struct tb_cli *cli, int argc, char **argv)
{
	struct view_args a;
	struct show_ctx c = { NULL, 0 };
	struct tb_event e;
	enum tb_store_state st;
	char id[TB_ID_LEN];
	int rc, have = 0;

	memset(&a, 0, sizeof(a));
	rc = parse(cli, &show_spec, show_map, argc, argv, &a);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if (rc == TB_OK)
		rc = tb_cli_open_store(cli);
	if (rc == TB_OK)
		rc = tb_store_resolve_id(cli->store, a.positional, id);
	if (rc == TB_OK)
		rc = tb_store_get(cli->store, id, &e, &st);
	have = rc == TB_OK;
	if (rc == TB_OK && a.format == FMT_JSON) {
		rc = show_json(cli, id, &e, st);
	} else if (rc == TB_OK) {
		show_text(&e, st);
		printf("revisions:\n");
		rc = tb_store_history(cli->store, id, show_revision, &c);
	}
	if (rc != TB_OK && cli->store)
		tb_cli_error("show: %s", tb_store_errmsg(cli->store)[0]
						 ? tb_store_errmsg(cli->store)
						 : tb_strerror(rc));
	if (have)
		tb_event_clear(&e);
	return rc;
}

/* ---- export ------------------------------------------------------------- */

int tb_cmd_export(struct tb_cli *cli, int argc, char **argv)
{
	struct view_args a;
	struct out o = { stdout, 0, FMT_CSV, -1 };
	int rc;

	memset(&a, 0, sizeof(a));
	a.format = FMT_CSV;
	rc = parse(cli, &export_spec, export_map, argc, argv, &a);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if (rc == TB_OK)
		rc = tb_cli_open_store(cli);
	if (rc == TB_OK && a.output && !(o.f = fopen(a.output, "w"))) {
		tb_cli_error("export: cannot write %s: %s", a.output,
			     strerror(errno));
		rc = TB_EIO;
	}
	if (rc == TB_OK) {
		o.format = a.format;
		o.kind = a.filter.kind;
		rc = emit(cli, "export", &o, &a.filter);
	}
	if (o.f && o.f != stdout && fclose(o.f) != 0 && rc == TB_OK) {
		tb_cli_error("export: cannot write %s: %s", a.output,
			     strerror(errno));
		rc = TB_EIO;
	}
	return rc;
}
