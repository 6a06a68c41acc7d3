/* cmd_import.c - `tienbo-agent import FILE.csv`: records every row of a
 * spreadsheet export as a new event, all or nothing.
 *
 * Called by tb_cli_main. The header row names the columns: `kind`, `date`
 * and field names, by their long option (teachers-staff) or snake_case
 * (teachers_staff) spelling, in any order and letter case. Each later row
 * is one event of its `kind`; a cell of a field its kind does not have
 * must be empty, an empty cell leaves the field out, a row with every cell
 * empty is skipped (spreadsheets leave them at the end), and blanks around
 * a cell's text are dropped.
 *
 * Guarantees: the rows are read as a stream (memory does not grow with the
 * file) inside one store transaction; the first bad row stops the import,
 * the transaction is rolled back and nothing of the file is kept. Messages
 * name the row as the spreadsheet shows it (the header is row 1), the
 * field and the rule.
 */
#include "agent/cmd.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "agent/opts.h"
#include "agent/store.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"

#define COL_IGNORE (-3) /* a column with an empty header: must stay empty */
#define COL_KIND (-2)
#define COL_DATE (-1)

struct column {
	int role;                   /* COL_* or 0 for a field */
	char name[64];              /* the field's snake_case name */
	char header[64];            /* as written in the file */
};

struct import {
	const char *file;
	struct tb_store *store;
	struct column cols[TB_CSV_MAX_FIELDS];
	size_t ncols;
	size_t row;                 /* record number of the row at hand */
	long long imported;
	char msg[TB_MSG_LEN + 256];
};

static const struct tb_agent_opt import_opts[] = {
	{ "dry-run", 0, TB_OPT_FLAG, NULL, 0, 0, NULL,
	  "check every row, record nothing" },
};

static const struct tb_cmd_spec import_spec = {
	"import", "[--dry-run] FILE.csv",
	"Records every row of FILE as a new event, all or nothing: one bad "
	"row\nrejects the whole file, and the message names the row (the "
	"header is\nrow 1), the field and the rule. '-' reads standard "
	"input.\n\n"
	"The header row names the columns: kind, date (YYYY-MM-DD) and the "
	"fields,\nby their option names (see 'tienbo-agent record KIND "
	"--help'). A cell of a\nfield that the row's kind does not have must "
	"be empty; an empty cell\nleaves the field out. UTF-8, with or "
	"without a BOM; comma-separated.\n",
	import_opts, 1, 1, 1, "give exactly one FILE.csv", NULL
};

/* The known name of a header cell: "kind", "date", or the snake_case
 * name of a field of some kind. 0 and role/name set, or -1. */
static int column_role(const char *header, struct column *c)
{
	const struct tb_field *tab;
	char low[64];
	size_t i, n;
	int k, idx;

	for (i = 0; header[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)header[i]);
	low[i] = '\0';
	if (header[i])
		return -1;
	snprintf(c->header, sizeof(c->header), "%s", header);
	if (strcmp(low, "kind") == 0 || strcmp(low, "date") == 0) {
		c->role = low[0] == 'k' ? COL_KIND : COL_DATE;
		return 0;
	}
	for (k = 0; k < TB_KIND_COUNT; k++) {
		idx = tb_field_index(k, low);
		if (idx >= 0) {
			tab = tb_kind_fields(k, &n);
			c->role = 0;
			snprintf(c->name, sizeof(c->name), "%s",
				 tab[idx].name);
			return 0;
		}
	}
	return -1;
}

/* Trims blanks around a cell in place (spreadsheets keep them). */
static char *trim(char *s)
{
	size_t start = strspn(s, " \t"), len = strlen(s + start);

	memmove(s, s + start, len + 1);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

static int read_header(struct import *im, char **cells, size_t n)
{
	size_t i, j;
	int have_kind = 0;
	char *h;

	for (i = 0; i < n; i++) {
		struct column *c = &im->cols[i];

		h = trim(cells[i]);
		if (!h[0]) {
			c->role = COL_IGNORE;
			snprintf(c->header, sizeof(c->header), "(column %zu)",
				 i + 1);
			continue;
		}
		if (column_role(h, c) != 0) {
			snprintf(im->msg, sizeof(im->msg),
				 "row 1: unknown column '%s' (columns are "
				 "kind, date and field names such as title or "
				 "teachers-staff; see 'tienbo-agent record KIND "
				 "--help')", h);
			return TB_EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (im->cols[j].role == c->role &&
			    (c->role != 0 ||
			     strcmp(im->cols[j].name, c->name) == 0)) {
				snprintf(im->msg, sizeof(im->msg),
					 "row 1: column '%s' appears twice", h);
				return TB_EINVAL;
			}
		}
		have_kind |= c->role == COL_KIND;
	}
	im->ncols = n;
	if (!have_kind) {
		snprintf(im->msg, sizeof(im->msg),
			 "row 1: there is no 'kind' column (each row needs "
			 "its kind: outreach, training, action-month, "
			 "web-post or snapshot)");
		return TB_EINVAL;
	}
	return TB_OK;
}

static int row_fail(struct import *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "row N: <message>" into im->msg; returns TB_EINVAL. */
static int row_fail(struct import *im, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(im->msg, sizeof(im->msg), "row %zu: ", im->row);

	if (n > 0 && (size_t)n < sizeof(im->msg)) {
		va_start(ap, fmt);
		vsnprintf(im->msg + n, sizeof(im->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return TB_EINVAL;
}

#ifdef __clang_analyzer__ /* it does not follow variadic calls: msg.h */
#define row_fail(im, ...) (row_fail((im), __VA_ARGS__), TB_EINVAL)
#endif

/* The row's kind, from its kind column. */
static int row_kind(struct import *im, char **cells, size_t n,
		    enum tb_kind *kind)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (im->cols[i].role != COL_KIND)
			continue;
		if (tb_kind_parse(cells[i], kind) == TB_OK)
			return TB_OK;
		return row_fail(im, "kind: must be one of outreach, training, "
				"action-month, web-post, snapshot (got '%s')",
				cells[i]);
	}
	return row_fail(im, "kind: is required");
}

/* Sets e from one row's cells. */
static int fill_row(struct import *im, char **cells, size_t n,
		    struct tb_event *e)
{
	char msg[TB_MSG_LEN];
	int rc = TB_OK, have_date = 0;
	size_t i;

	for (i = 0; rc == TB_OK && i < n; i++) {
		const struct column *c = &im->cols[i];

		if (c->role == COL_KIND || !cells[i][0])
			continue;
		if (c->role == COL_IGNORE)
			return row_fail(im, "%s has a value but no header "
					"name", c->header);
		if (c->role == COL_DATE) {
			have_date = 1;
			if (tb_date_parse(cells[i], &e->date) != TB_OK)
				return row_fail(im, "date: must be a real "
						"calendar date written "
						"YYYY-MM-DD (got '%s')",
						cells[i]);
			continue;
		}
		if (tb_field_index(e->kind, c->name) < 0)
			return row_fail(im, "%s: is not a field of %s; leave "
					"the cell empty for this kind",
					c->header, tb_kind_name(e->kind));
		rc = tb_event_set(e, c->name, cells[i], msg, sizeof(msg));
		if (rc == TB_EINVAL)
			return row_fail(im, "%s", msg);
	}
	if (rc == TB_OK && !have_date)
		return row_fail(im, "date: is required (YYYY-MM-DD)");
	return rc;
}

/* Trims every cell; 1 if they are all empty. */
static int trim_all(char **cells, size_t n)
{
	size_t i;
	int empty = 1;

	for (i = 0; i < n; i++)
		if (trim(cells[i])[0])
			empty = 0;
	return empty;
}

/* One data row: parse, check every rule, record (in the open
 * transaction). */
static int import_row(struct import *im, char **cells, size_t n)
{
	struct tb_event e;
	enum tb_kind kind;
	int rc;

	if (n > im->ncols) {
		snprintf(im->msg, sizeof(im->msg),
			 "row %zu: %zu cells but the header names %zu columns",
			 im->row, n, im->ncols);
		return TB_EINVAL;
	}
	rc = row_kind(im, cells, n, &kind);
	if (rc != TB_OK)
		return rc;
	tb_event_init(&e, kind);
	rc = fill_row(im, cells, n, &e);
	if (rc == TB_OK) {
		rc = tb_store_record(im->store, &e);
		if (rc != TB_OK)
			snprintf(im->msg, sizeof(im->msg), "row %zu: %s",
				 im->row, tb_store_errmsg(im->store));
	}
	tb_event_clear(&e);
	if (rc == TB_OK)
		im->imported++;
	return rc;
}

/* Reads the whole file into the open transaction. */
static int import_all(struct import *im, FILE *f)
{
	struct tb_csv_reader *r = tb_csv_reader_create(f);
	char **cells;
	size_t n;
	int got, rc = TB_OK;

	if (!r)
		return TB_ENOMEM;
	got = tb_csv_next(r, &cells, &n, im->msg, sizeof(im->msg));
	if (got == 0) {
		snprintf(im->msg, sizeof(im->msg),
			 "the file is empty (row 1 must be the header)");
		rc = TB_EINVAL;
	} else if (got < 0) {
		rc = got;
	} else {
		rc = read_header(im, cells, n);
	}
	while (rc == TB_OK &&
	       (got = tb_csv_next(r, &cells, &n, im->msg, sizeof(im->msg))) >
		       0) {
		im->row = tb_csv_record_number(r);
		if (!trim_all(cells, n))
			rc = import_row(im, cells, n);
	}
	if (rc == TB_OK && got < 0)
		rc = got;
	tb_csv_reader_destroy(r);
	return rc;
}

int tb_cmd_import(struct tb_cli *cli, int argc, char **argv)
{
	static struct import im; /* large: kept off the stack */
	struct tb_agent_opt_val v[1];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t nargs;
	FILE *f = NULL;
	int rc = TB_OK, dry;

	memset(&im, 0, sizeof(im));
	rc = tb_opts_parse(cli, &import_spec, NULL, argc, argv, v, args,
			   &nargs);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	dry = v[0].set;
	im.file = args[0];
	rc = tb_cli_open_store(cli);
	if (rc != TB_OK)
		return rc;
	f = strcmp(im.file, "-") == 0 ? stdin : fopen(im.file, "rb");
	if (!f) {
		tb_cli_error("import: cannot read %s: %s", im.file,
			     strerror(errno));
		return TB_EIO;
	}
	im.store = cli->store;
	rc = tb_store_begin(cli->store);
	if (rc != TB_OK)
		snprintf(im.msg, sizeof(im.msg), "%s",
			 tb_store_errmsg(cli->store));
	if (rc == TB_OK)
		rc = import_all(&im, f);
	if (rc == TB_OK && !dry) {
		rc = tb_store_commit(cli->store);
		if (rc != TB_OK)
			snprintf(im.msg, sizeof(im.msg), "%s",
				 tb_store_errmsg(cli->store));
	} else {
		tb_store_rollback(cli->store);
	}
	if (f != stdin)
		fclose(f);
	if (rc != TB_OK)
		tb_cli_error("import %s: %s; nothing was imported", im.file,
			     im.msg[0] ? im.msg : tb_strerror(rc));
	else
		fprintf(stderr, "tienbo-agent: %s %lld events from %s\n",
			dry ? "checked (dry run, nothing recorded)" : "imported",
			im.imported, im.file);
	return rc;
}
