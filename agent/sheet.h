/* sheet.h - a file a clerk's spreadsheet program saved, as UTF-8 CSV.
 *
 * Called by import (agent/cmd_import.c). What Excel and LibreOffice save
 * on a Vietnamese Windows PC, each read as it was meant:
 *
 *   UTF-8, with or without a BOM ("CSV UTF-8")
 *   UTF-16 LE or BE with a BOM ("Unicode Text", tab-separated)
 *   Windows-1258 ("CSV" on Vietnamese Windows), when the bytes are not
 *     UTF-8 but are all Windows-1258, converted with iconv
 *   .xlsx, the first sheet or the one named (agent/xlsx.c)
 *
 * The separator (',', ';' or tab) is the one the header row uses most,
 * outside quotes. All text is normalised to NFC (Windows-1258 writes tone
 * marks as separate characters). Anything else is refused naming what it
 * looks like (an .xls, an .ods, a PDF, UTF-16 without a BOM, a file that
 * is neither UTF-8 nor Windows-1258) and what to do instead.
 *
 * The whole file is held in memory, at most TB_SHEET_MAX bytes: clerks'
 * sheets are kilobytes, and the conversions need the whole text.
 */
#ifndef TB_AGENT_SHEET_H
#define TB_AGENT_SHEET_H

#include <stddef.h>

#include "agent/input.h"

#define TB_SHEET_MAX (32u * 1024 * 1024)

struct tb_sheet {
	char *text;           /* UTF-8 CSV, NUL-terminated, tb_malloc'd */
	size_t len;
	char sep;             /* ',', ';' or '\t' */
	const char *encoding; /* how it was saved, for messages: "UTF-8",
	                       * "UTF-16LE", "Windows-1258", "xlsx" */
	/* How its counts write thousands: ';' files come from the
	 * Vietnamese list separator, so '.' groups; for others the cells
	 * must show it (agent/import.h: tb_import_numconv). */
	enum tb_numconv conv;
};

/* Loads path ("-" is standard input); sheet names an .xlsx sheet or is
 * NULL for the first. 0, or TB_EINVAL / TB_EIO / TB_ETOOBIG / TB_ENOMEM
 * with msg saying what is wrong and what to do. */
int tb_sheet_load(const char *path, const char *sheet, struct tb_sheet *s,
		  char *msg, size_t msglen);
void tb_sheet_free(struct tb_sheet *s);

/* 1 if text looks damaged by a save without Vietnamese letters: a '?'
 * right before a letter ("T?p hu?n"), outside anything that looks like a
 * web address. */
int tb_sheet_lossy(const char *text);

#endif
