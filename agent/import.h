/* import.h - the rows of a clerk's sheet as events: header, cells, the
 * checks against earlier imports.
 *
 * Called by agent/cmd_import.c, which owns the command, the transaction
 * and the summary. One struct tb_import per file; tb_import_header reads
 * row 1, then tb_import_row each later row, inside the caller's store
 * transaction: all or nothing.
 *
 * Columns are named by the Vietnamese labels (agent/labels.c: "Loại hoạt
 * động", "Ngày", "Số nữ") or the option names (kind, date, teachers-staff,
 * teachers_staff), in any letter case. What `export` writes also imports:
 * its id column marks rows this store holds already (skipped), voided
 * rows are skipped, and its other envelope columns (revision, state, ...)
 * are ignored.
 *
 * Rows imported before are found by their fingerprint (kind, date and the
 * fields in canonical form: "1.500" and "1500" are one). An exact match of
 * an earlier import is skipped and reported; the same kind, date and
 * title with other figures, or a row repeated in the same file, stops the
 * import (a correction is an amend; two real events need --again).
 * A row whose kind begins "Ví dụ:" or "Example:" is the template's
 * example (agent/cmd_template.c): skipped and named.
 */
#ifndef TB_AGENT_IMPORT_H
#define TB_AGENT_IMPORT_H

#include <stdint.h>

#include "agent/input.h"
#include "agent/store.h"
#include "common/csv.h"

#define TB_IMPORT_MSG_LEN 1024

enum tb_import_role {
	TB_COL_FIELD,
	TB_COL_KIND,
	TB_COL_DATE,
	TB_COL_ID,     /* export: the event's id */
	TB_COL_VOIDED, /* export: yes for a voided event */
	TB_COL_INFO,   /* export's other columns: ignored */
	TB_COL_BLANK   /* no header: must stay empty */
};

struct tb_import_col {
	enum tb_import_role role;
	char name[64];    /* TB_COL_FIELD: the snake_case name */
	char header[128]; /* as written in the file */
};

/* Rows skipped as imported before, as runs for the summary. */
struct tb_import_skip {
	int64_t first, last;  /* rows of this file */
	int64_t import_id;    /* 0: already in this store (export's id) or
	                       * voided in the export */
	int64_t at;
	char file[256];
	int voided;           /* 1: voided in the export; 2: the template's
	                       * example row */
};

#define TB_IMPORT_SKIP_RUNS 16

struct tb_import {
	struct tb_store *store;
	enum tb_numconv conv;
	int again;            /* --again: no checks against earlier imports */
	int64_t import_id;    /* this import in the registry */
	struct tb_import_col cols[TB_CSV_MAX_FIELDS];
	size_t ncols;
	int64_t row;          /* the row at hand (the header is 1) */
	int64_t imported;
	int64_t skipped;
	struct tb_import_skip skips[TB_IMPORT_SKIP_RUNS];
	size_t nskips;        /* runs kept; later ones are only counted */
	char msg[TB_IMPORT_MSG_LEN];
};

/* Reads the header row. 0, or TB_EINVAL with msg. */
int tb_import_header(struct tb_import *im, char **cells, size_t n);
/* Checks, records and remembers one data row (cells trimmed in place).
 * 0 (recorded or skipped), or an error with msg naming row and column. */
int tb_import_row(struct tb_import *im, char **cells, size_t n);
/* The thousands convention the sheet's count cells show, when it shows
 * one and only one ("1.500.000" and "2,5" say dot; "1,500,000" comma);
 * TB_NUM_UNKNOWN otherwise. Reads the text as CSV with separator sep. */
enum tb_numconv tb_import_numconv(const char *text, char sep);

#endif
