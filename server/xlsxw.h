/* xlsxw.h - an Excel workbook (.xlsx) written into a FILE, for district
 * officers whose Excel or LibreOffice is set to Vietnamese (vi-VN:
 * decimal comma, day/month/year).
 *
 * Called by the report (server/report_xlsx.c) and the events export
 * (server/export_xlsx.c). libxlsxwriter 1.1.4 (Debian 12) writes only to a
 * file name, so the workbook is built in a mkstemp file under $TMPDIR
 * (default /tmp), copied into the caller's FILE by tb_xlsxw_finish and
 * unlinked on every path (finish and abort alike); libxlsxwriter's own
 * temporary files go to the same directory.
 *
 * What the cells guarantee:
 * - Numbers are number cells (the double 71.43; Excel shows 71,43 in
 *   vi-VN): counts "#,##0" (1.500), percentages and progress as percent
 *   points (71.43, as the JSON says) shown 0.00"%" (71,43%); a year "0".
 *   libxlsxwriter 1.1.4 prints a double with 16 significant digits, so
 *   the XML may read 71.43000000000001: the same double.
 * - Dates are date cells ("dd/mm/yyyy") of the event's own day; times are
 *   date-time cells ("dd/mm/yyyy hh:mm") in Vietnam's local time (UTC+7,
 *   no DST) of a Unix time stored in UTC.
 * - A table opens with two header rows, Vietnamese then English, frozen
 *   with the columns left of `freeze_cols`, an autofilter on the English
 *   row, and each column's width (tb_xlsxw_table).
 * Every libxlsxwriter failure is mapped once (tb_xlsxw_err): TB_ENOMEM for
 * a failed allocation, TB_EIO for anything else.
 */
#ifndef TB_SERVER_XLSXW_H
#define TB_SERVER_XLSXW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xlsxwriter.h>

#define TB_XLSXW_SHEETNAME_MAX 31      /* Excel's limit, in characters */
#define TB_XLSXW_CELL_MAX 32000        /* a cell holds 32,767 characters */

enum tb_xlsxw_fmt {
	TB_XF_NONE,   /* general */
	TB_XF_TITLE,  /* bold, larger */
	TB_XF_BOLD,
	TB_XF_HEAD_VI,/* header row 1: bold, wrapped, shaded */
	TB_XF_HEAD_EN,/* header row 2: italic, shaded */
	TB_XF_TEXT,   /* wrapped text */
	TB_XF_INT,    /* #,##0 */
	TB_XF_PCT,    /* 0.00"%" of percent points */
	TB_XF_YEAR,   /* 0 */
	TB_XF_DATE,   /* dd/mm/yyyy */
	TB_XF_TIME,   /* dd/mm/yyyy hh:mm */
	TB_XF_COUNT
};

struct tb_xlsxw {
	lxw_workbook *wb;
	char path[512];               /* the temporary workbook */
	lxw_format *f[TB_XF_COUNT];   /* owned by wb */
};

/* Creates the temporary file and an empty workbook with the formats.
 * constant_memory: rows are flushed as they are written (libxlsxwriter's
 * mode; rows must then be written in order, top to bottom). 0; TB_EIO
 * (no temporary file), TB_ENOMEM. On failure nothing is left to free. */
int tb_xlsxw_open(struct tb_xlsxw *x, int constant_memory);
/* Writes the workbook, copies it into out and removes the file; x is
 * finished whatever the result. 0, TB_EIO, TB_ENOMEM. */
int tb_xlsxw_finish(struct tb_xlsxw *x, FILE *out);
/* Drops the workbook unwritten and removes the file. Accepts a finished
 * or never opened (zeroed) x. */
void tb_xlsxw_abort(struct tb_xlsxw *x);
/* TB_OK for LXW_NO_ERROR, TB_ENOMEM for a failed allocation, else TB_EIO. */
int tb_xlsxw_err(lxw_error e);

/* A new sheet; name must be valid (tb_xlsxw_sheet_name). NULL on error. */
lxw_worksheet *tb_xlsxw_sheet(struct tb_xlsxw *x, const char *name);
/* A valid, unique sheet name from any text, into buf (>= 128 bytes):
 * []:*?/\ become spaces, blanks and apostrophes at the ends go, at most
 * 31 characters (never a UTF-8 sequence cut), and " (2)", " (3)", ...
 * when it matches (ASCII case-insensitively) one of used[0..nused).
 * An empty result becomes fallback. Returns buf. */
const char *tb_xlsxw_sheet_name(const char *text, const char *fallback,
				const char *const *used, size_t nused,
				char *buf, size_t len);

/* One column of a table: the Vietnamese and English titles and its
 * width in characters. */
struct tb_xlsxw_col {
	const char *vi, *en;
	double width;
};
/* Writes the two header rows at row and row + 1, the column widths and
 * the frozen panes (rows up to row + 2, columns before freeze_cols). */
int tb_xlsxw_table(struct tb_xlsxw *x, lxw_worksheet *ws, lxw_row_t row,
		   const struct tb_xlsxw_col *cols, size_t ncols,
		   lxw_col_t freeze_cols);

/* Writing one row, cell after cell, left to right. The first error
 * sticks in rc and the cells after it are skipped. */
struct tb_xlsxw_row {
	struct tb_xlsxw *x;
	lxw_worksheet *ws;
	lxw_row_t row;
	lxw_col_t col;
	int rc;
};
void tb_xlsxw_row_start(struct tb_xlsxw_row *w, struct tb_xlsxw *x,
			lxw_worksheet *ws, lxw_row_t row);
/* Moves to the start of another row, keeping rc (an error sticks). */
void tb_xlsxw_goto(struct tb_xlsxw_row *w, lxw_row_t row);
/* Text (NULL or "": an empty cell). */
void tb_xlsxw_str(struct tb_xlsxw_row *w, const char *s, enum tb_xlsxw_fmt f);
/* A number; with has == 0 an empty cell. */
void tb_xlsxw_num(struct tb_xlsxw_row *w, int has, double v,
		  enum tb_xlsxw_fmt f);
/* A day (days since 1970-01-01) as a date cell. */
void tb_xlsxw_date(struct tb_xlsxw_row *w, int32_t day);
/* A Unix time (UTC) as a local date-time cell; 0 is an empty cell. */
void tb_xlsxw_time(struct tb_xlsxw_row *w, int64_t t);
/* An empty cell. */
void tb_xlsxw_skip(struct tb_xlsxw_row *w);

#endif
