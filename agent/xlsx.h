/* xlsx.h - one sheet of an Excel workbook (.xlsx) as CSV, for the import.
 *
 * Called by the import (agent/cmd_import.c): a clerk who saves the list as
 * .xlsx, as Excel and LibreOffice do by default, need not know what CSV
 * is. The import sniffs the file (tb_xlsx_looks_like_zip), converts the
 * sheet into a temporary file with tb_xlsx_to_csv and reads that with the
 * CSV reader (common/csv.h), so both paths share one set of checks.
 *
 * What the CSV holds:
 * - UTF-8, no BOM, ',' between fields, CRLF after each record, quoted as
 *   tb_csv_write_field does.
 * - Record N is row N of the sheet: rows the sheet leaves out come out as
 *   blank lines (which the CSV reader counts), cells it leaves out as
 *   empty fields; empty cells at the end of a row are dropped.
 * - Text as the cell holds it (shared, inline or a formula's result; the
 *   runs of rich text joined). TRUE/FALSE as "1"/"0". Text that begins
 *   with = + - @ comes out as tb_csv_write_field writes it for
 *   spreadsheets: quoted with a ' before it ("'- ghi chú"), and the CSV
 *   reader keeps that '.
 * - A number in a date format (built-in 14-22, 27-36, 45-47, 50-58, or a
 *   custom code with d, y, or m without h and s) as the date "YYYY-MM-DD",
 *   the time of day dropped; both the 1900 date system (with Excel's
 *   29 February 1900, serial 60, which it refuses) and the 1904 one.
 * - Other numbers: a whole number (within 1e-9 relative) in plain digits,
 *   "1500" whether the file says 1500, 1.5E3 or 1499.9999999999998;
 *   anything else as the file writes it ('.' is the decimal point). The
 *   cell's format is not applied: 1500 shown as "1.500" is "1500".
 * Refused, with a reason in msg: a cell holding an error (#DIV/0!), a
 * sheet name that does not exist (the reason lists those that do), an
 * OpenDocument (.ods) file or another zip (the reason says how to save it
 * as .xlsx), anything that is not a zip, a damaged workbook, and a part
 * bigger than TB_XLSX_MAX_PART bytes uncompressed (a zip bomb).
 *
 * The XML is read by libxml2's streaming reader without network access,
 * without entity expansion and without a DTD (a part that has one is
 * refused).
 */
#ifndef TB_AGENT_XLSX_H
#define TB_AGENT_XLSX_H

#include <stddef.h>
#include <stdio.h>

/* The largest part (sheet, shared strings, ...) read, uncompressed. */
#define TB_XLSX_MAX_PART (64u * 1024 * 1024)

/* 1 if the first n bytes of a file begin a zip archive ("PK\3\4"), as
 * every .xlsx and .ods does; else 0. */
int tb_xlsx_looks_like_zip(const unsigned char *head, size_t n);

/* Writes the sheet named sheet (NULL: the first in the workbook's order)
 * of the workbook at path to out as CSV (above). Returns 0; TB_EINVAL
 * with msg for what is refused above; TB_ETOOBIG for a part too big;
 * TB_EIO if path cannot be read or out written; TB_ENOMEM. On failure out
 * may hold the rows before the one that failed. */
int tb_xlsx_to_csv(const char *path, const char *sheet, FILE *out,
		   char *msg, size_t msglen);

/* Reads a cell reference such as "C5" or "AB12" (capital letters, then
 * digits, nothing after them): *col 1 for A .. 16384 for XFD, *row 1 ..
 * 1048576. 0 or TB_EINVAL (the outputs then untouched). */
int tb_xlsx_cell_ref(const char *r, unsigned *col, unsigned *row);

#endif
