/* cmd_import.c - `tienbo-agent import FILE` (every row of a clerk's sheet
 * as a new event, all or nothing), `import --undo ID` and `imports`.
 *
 * Called by tb_cli_main. The file is whatever the clerk's spreadsheet
 * program saved (agent/sheet.h: CSV in UTF-8, UTF-16 or Windows-1258, with
 * ',', ';' or tab, or an .xlsx); its rows become events as agent/import.h
 * says, inside one store transaction: the first bad row stops the import,
 * the transaction is rolled back and nothing of the file is kept. The
 * import is remembered (agent/store_import.c) with each row's fingerprint,
 * so importing the same rows again records nothing twice; --dry-run runs
 * every check, the earlier imports' included, and keeps nothing.
 */
#include "agent/cmd.h"

#include <string.h>
#include <time.h>

#include "agent/i18n.h"
#include "agent/import.h"
#include "agent/opts.h"
#include "agent/sheet.h"
#include "agent/store.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"

enum { O_DRY, O_AGAIN, O_SHEET, O_THOUSANDS, O_UNDO, O_COUNT };

static const struct tb_agent_opt import_opts[O_COUNT] = {
	[O_DRY] = { "dry-run", 0, TB_OPT_FLAG, NULL, 0, 0, NULL,
		    N_("check every row, record nothing") },
	[O_AGAIN] = { "again", 0, TB_OPT_FLAG, NULL, 0, 0, NULL,
		      N_("record rows even if they were imported before") },
	[O_SHEET] = { "sheet", 0, TB_OPT_TEXT, N_("NAME"), 0, 0, NULL,
		      N_("the sheet of an .xlsx to read (default: the "
			 "first)") },
	[O_THOUSANDS] = { "thousands", 0, TB_OPT_TEXT, ".|,", 0, 0, NULL,
			  N_("the thousands separator in the file's "
			     "numbers (1.500 or 1,500)") },
	[O_UNDO] = { "undo", 0, TB_OPT_INT, N_("ID"), 1, 2147483647L, NULL,
		     N_("void every event that import ID recorded "
			"(see 'tienbo-agent imports')") },
};

static const struct tb_cmd_spec import_spec = {
	"import", N_("[--dry-run] [--again] [--sheet NAME] FILE | --undo ID"),
	N_("Records every row of FILE as a new event, all or nothing: one "
	   "bad row\nrejects the whole file, and the message names the row "
	   "(the header is\nrow 1), the column and the value. FILE is what "
	   "Excel or LibreOffice\nsaves: .xlsx (the first sheet, or --sheet), "
	   "or CSV / Unicode Text in\nUTF-8, UTF-16 or Windows-1258, "
	   "separated by commas, semicolons or tabs.\n'-' reads a CSV from "
	   "standard input.\n\n"
	   "Row 1 names the columns: Loại hoạt động (kind), Ngày (date, "
	   "20/11/2025\nor 2025-11-20) and the fields, by their Vietnamese "
	   "names or their option\nnames ('tienbo-agent template' writes a "
	   "sheet with them all). A cell of a\nfield the row's kind does not "
	   "have must be empty.\n\n"
	   "Rows imported before are skipped and named; a row that repeats "
	   "an\nearlier one with other figures stops the import (correct it "
	   "with\n'tienbo-agent amend'). --again records them anyway. "
	   "'tienbo-agent imports'\nlists the imports; --undo ID voids what "
	   "one recorded.\n"),
	import_opts, O_COUNT, 0, 1, NULL, NULL
};

static const struct tb_cmd_spec imports_spec = {
	"imports", "",
	N_("Lists every import: its number, when, the file, how many events "
	   "it\nrecorded and skipped, and whether it was undone.\n"),
	NULL, 0, 0, 0, NULL, NULL
};

/* The lines after the summary: which rows were skipped, and why. */
static void print_skips(const struct tb_import *im)
{
	char when[64];
	size_t i;

	for (i = 0; i < im->nskips; i++) {
		const struct tb_import_skip *k = &im->skips[i];
		char rows[48];

		if (k->first == k->last)
			snprintf(rows, sizeof(rows), _("row %lld"),
				 (long long)k->first);
		else
			snprintf(rows, sizeof(rows), _("rows %lld-%lld"),
				 (long long)k->first, (long long)k->last);
		if (k->voided == 2)
			fprintf(stderr, _("  %s: the template's example "
					  "(\"Ví dụ:\"), not recorded\n"),
				rows);
		else if (k->voided)
			fprintf(stderr, _("  %s: voided in the export, not "
					  "recorded\n"),
				rows);
		else if (k->import_id == 0)
			fprintf(stderr, _("  %s: already recorded on this "
					  "machine (the export's id)\n"),
				rows);
		else
			fprintf(stderr,
				_("  %s: imported before, %s from %s (import "
				  "%lld)\n"),
				rows, tb_i18n_time(k->at, when, sizeof(when)),
				k->file, (long long)k->import_id);
	}
	if (im->skipped && im->nskips == TB_IMPORT_SKIP_RUNS)
		fprintf(stderr, _("  (and maybe more: only the first %d groups "
				  "of rows are listed)\n"),
			TB_IMPORT_SKIP_RUNS);
}

/* Reads every row of the sheet into the open transaction. */
static int import_rows(struct tb_import *im, const struct tb_sheet *sh)
{
	FILE *f = fmemopen(sh->text, sh->len ? sh->len : 1, "r");
	struct tb_csv_reader *r = f ? tb_csv_reader_create(f) : NULL;
	char **cells;
	size_t n, i;
	int got, rc = TB_OK, empty;

	if (!r) {
		if (f)
			fclose(f);
		return TB_ENOMEM;
	}
	tb_csv_reader_set_sep(r, sh->sep);
	got = sh->len ? tb_csv_next(r, &cells, &n, im->msg, sizeof(im->msg))
		      : 0;
	if (got == 0) {
		snprintf(im->msg, sizeof(im->msg),
			 _("the file is empty (row 1 must name the "
			   "columns)"));
		rc = TB_EINVAL;
	} else if (got < 0) {
		rc = got;
	} else {
		rc = tb_import_header(im, cells, n);
	}
	while (rc == TB_OK &&
	       (got = tb_csv_next(r, &cells, &n, im->msg, sizeof(im->msg))) >
		       0) {
		im->row = (int64_t)tb_csv_record_number(r);
		for (i = 0, empty = 1; i < n; i++)
			if (cells[i][strspn(cells[i], " \t")])
				empty = 0;
		if (!empty) /* spreadsheets leave empty rows at the end */
			rc = tb_import_row(im, cells, n);
	}
	if (rc == TB_OK && got < 0)
		rc = got;
	tb_csv_reader_destroy(r);
	fclose(f);
	return rc;
}

static int undo(struct tb_cli *cli, int64_t id)
{
	char reason[96];
	int64_t voided = 0;
	int rc = tb_cli_open_store(cli);

	if (rc != TB_OK)
		return rc;
	snprintf(reason, sizeof(reason), _("import %lld undone"),
		 (long long)id);
	rc = tb_store_import_undo(cli->store, id, (int64_t)time(NULL), reason,
				  &voided);
	if (rc != TB_OK) {
		tb_cli_error(_("import --undo %lld: %s; nothing was changed"),
			     (long long)id, tb_store_errmsg(cli->store));
		return rc;
	}
	fprintf(stderr,
		P_("tienbo-agent: import %lld undone: %lld event voided (a "
		   "new revision, sent at the next sync)\n",
		   "tienbo-agent: import %lld undone: %lld events voided (new "
		   "revisions, sent at the next sync)\n",
		   voided),
		(long long)id, (long long)voided);
	return TB_OK;
}

/* The thousands mark: --thousands, else the sheet's own. */
static int numconv(const struct tb_agent_opt_val *v, const struct tb_sheet *sh,
		   enum tb_numconv *conv)
{
	if (v->set) {
		if (strcmp(v->text, ".") != 0 && strcmp(v->text, ",") != 0) {
			tb_cli_error(_("import: --thousands must be . or , "
				       "(got '%s')"),
				     v->text);
			return TB_EUSAGE;
		}
		*conv = v->text[0] == '.' ? TB_NUM_DOT : TB_NUM_COMMA;
		return TB_OK;
	}
	*conv = sh->conv;
	if (*conv == TB_NUM_UNKNOWN)
		*conv = tb_import_numconv(sh->text, sh->sep);
	return TB_OK;
}

int tb_cmd_import(struct tb_cli *cli, int argc, char **argv)
{
	static struct tb_import im; /* large: kept off the stack */
	struct tb_agent_opt_val v[O_COUNT];
	const char *args[TB_OPTS_ARGS_MAX], *file;
	struct tb_sheet sh;
	size_t nargs;
	int rc, dry;

	memset(&im, 0, sizeof(im));
	rc = tb_opts_parse(cli, &import_spec, NULL, argc, argv, v, args,
			   &nargs);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	if (v[O_UNDO].set && nargs == 0)
		return undo(cli, v[O_UNDO].num);
	if (v[O_UNDO].set || nargs != 1) {
		tb_cli_error(v[O_UNDO].set
				     ? _("import: --undo takes no FILE")
				     : _("import: give exactly one FILE (see "
					 "'tienbo-agent import --help')"));
		return TB_EUSAGE;
	}
	file = args[0];
	dry = v[O_DRY].set;
	im.again = v[O_AGAIN].set;
	rc = tb_cli_open_store(cli);
	if (rc != TB_OK)
		return rc;
	rc = tb_sheet_load(file, v[O_SHEET].set ? v[O_SHEET].text : NULL, &sh,
			   im.msg, sizeof(im.msg));
	if (rc != TB_OK) {
		tb_cli_error(_("import %s: %s; nothing was imported"), file,
			     im.msg[0] ? im.msg : tb_strerror(rc));
		return rc;
	}
	rc = numconv(&v[O_THOUSANDS], &sh, &im.conv);
	if (rc != TB_OK) {
		tb_sheet_free(&sh);
		return rc;
	}
	im.store = cli->store;
	rc = tb_store_begin(cli->store);
	if (rc == TB_OK)
		rc = tb_store_import_new(cli->store, file, (int64_t)time(NULL),
					 &im.import_id);
	if (rc != TB_OK)
		snprintf(im.msg, sizeof(im.msg), "%s",
			 tb_store_errmsg(cli->store));
	if (rc == TB_OK)
		rc = import_rows(&im, &sh);
	if (rc == TB_OK)
		rc = tb_store_import_done(cli->store, im.import_id,
					  im.imported, im.skipped);
	if (rc == TB_OK && !dry && im.imported > 0) {
		rc = tb_store_commit(cli->store);
		if (rc != TB_OK)
			snprintf(im.msg, sizeof(im.msg), "%s",
				 tb_store_errmsg(cli->store));
	} else {
		tb_store_rollback(cli->store); /* nothing new: not an import */
	}
	tb_sheet_free(&sh);
	if (rc != TB_OK) {
		tb_cli_error(_("import %s: %s; nothing was imported"), file,
			     im.msg[0] ? im.msg : tb_strerror(rc));
		return rc;
	}
	if (dry)
		fprintf(stderr,
			P_("tienbo-agent: checked %s (dry run, nothing "
			   "recorded): %lld event would be imported, %lld "
			   "row skipped\n",
			   "tienbo-agent: checked %s (dry run, nothing "
			   "recorded): %lld events would be imported, %lld "
			   "rows skipped\n",
			   im.imported),
			file, (long long)im.imported, (long long)im.skipped);
	else if (im.imported > 0)
		fprintf(stderr,
			P_("tienbo-agent: imported %lld event from %s (import "
			   "%lld, %s)\n",
			   "tienbo-agent: imported %lld events from %s (import "
			   "%lld, %s)\n",
			   im.imported),
			(long long)im.imported, file, (long long)im.import_id,
			sh.encoding);
	else if (im.skipped > 0)
		fprintf(stderr, _("tienbo-agent: nothing recorded from %s: "
				  "every row was skipped\n"),
			file);
	else
		fprintf(stderr, _("tienbo-agent: nothing recorded from %s: it "
				  "has no rows after the header\n"),
			file);
	if (im.skipped && !dry && im.imported > 0)
		fprintf(stderr,
			P_("tienbo-agent: %lld row skipped:\n",
			   "tienbo-agent: %lld rows skipped:\n", im.skipped),
			(long long)im.skipped);
	print_skips(&im);
	return TB_OK;
}

static int print_import(void *arg, const struct tb_store_import *i)
{
	char when[64], undone[96] = "";

	(void)arg;
	if (i->undone_at) {
		char at[64];

		snprintf(undone, sizeof(undone), _(", undone %s"),
			 tb_i18n_time(i->undone_at, at, sizeof(at)));
	}
	printf(_("%4lld  %s  %s: %lld recorded, %lld skipped%s\n"),
	       (long long)i->id, tb_i18n_time(i->at, when, sizeof(when)),
	       i->file, (long long)i->rows, (long long)i->skipped, undone);
	return TB_OK;
}

int tb_cmd_imports(struct tb_cli *cli, int argc, char **argv)
{
	struct tb_agent_opt_val v[1];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t nargs;
	int rc = tb_opts_parse(cli, &imports_spec, NULL, argc, argv, v, args,
			       &nargs);

	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	rc = tb_cli_open_store(cli);
	if (rc == TB_OK)
		rc = tb_store_imports(cli->store, 0, print_import, NULL);
	if (rc != TB_OK)
		tb_cli_error("imports: %s", tb_store_errmsg(cli->store));
	return rc;
}
