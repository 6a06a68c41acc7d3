/* helper_xlsx.h - an .xlsx workbook read back cell by cell, as Excel
 * sees it, for the tests of the workbooks the server writes
 * (tests/test_report_xlsx.c).
 *
 * Unzipped with libzip, every part parsed with libxml2 (no network, no
 * entities): the sheet names in the workbook's order (through its
 * relationships), the shared strings, the number format of every cell
 * style, and each cell's reference, type, style and value, with shared
 * and inline strings resolved to their text. (agent/xlsx.h reads a sheet
 * as CSV for the import, which drops the types a test must see.)
 *
 * Linked into every test executable; every symbol starts helper_xlsx_.
 * Functions return NULL / -1 on failure after saying why on stderr and
 * never abort, so the calling test asserts on the result.
 */
#ifndef TB_TESTS_HELPER_XLSX_H
#define TB_TESTS_HELPER_XLSX_H

#include <stddef.h>

struct helper_xlsx_cell {
	char ref[16];  /* "D8" */
	char t[16];    /* type: "" or "n" a number, "s", "inlineStr", ... */
	int s;         /* style index */
	char *v;       /* a number's text as written, or the string; NULL:
			* no value */
};

struct helper_xlsx_sheet {
	char *name;
	char *xml;     /* the whole part, for panes and filters */
	struct helper_xlsx_cell *c;
	size_t n;
};

#define HELPER_XLSX_MAX 64
struct helper_xlsx {
	struct helper_xlsx_sheet sh[HELPER_XLSX_MAX];
	size_t nsh;
	char **sst;    /* shared strings */
	size_t nsst;
	int xf_fmt[256];            /* numFmtId of each cellXfs entry */
	size_t nxf;
	int fmt_id[HELPER_XLSX_MAX]; /* custom number formats */
	char *fmt_code[HELPER_XLSX_MAX];
	size_t nfmt;
};

/* Reads the workbook at path. NULL if it is not a readable workbook. */
struct helper_xlsx *helper_xlsx_open(const char *path);
void helper_xlsx_free(struct helper_xlsx *b);

/* The sheet named name, or NULL. */
const struct helper_xlsx_sheet *helper_xlsx_sheet(const struct helper_xlsx *b,
						   const char *name);
/* The cell at ref ("D8"), or NULL when the sheet has none there. */
const struct helper_xlsx_cell *helper_xlsx_cell(
	const struct helper_xlsx_sheet *sh, const char *ref);
/* The number format code of a cell's style: the custom code
 * ("dd/mm/yyyy"), "General" for none, "builtin N" otherwise. */
const char *helper_xlsx_numfmt(const struct helper_xlsx *b,
			       const struct helper_xlsx_cell *c);
/* The row (1-based) whose cell in column col ('A') holds text, or 0. */
int helper_xlsx_row_of(const struct helper_xlsx_sheet *sh, char col,
		       const char *text);
/* The column letters whose cell in row holds text, into col. 0 or -1. */
int helper_xlsx_col_of(const struct helper_xlsx_sheet *sh, int row,
		       const char *text, char *col, size_t len);

#endif
