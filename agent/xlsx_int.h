/* xlsx_int.h - the inside of the .xlsx reader, shared by its two files:
 * agent/xlsx.c (the zip, the workbook, its relationships and shared
 * strings, and tb_xlsx_to_csv) and agent/xlsx_sheet.c (the styles, the
 * cell values and the sheet written out as CSV). Included by those two
 * only; the interface is xlsx.h.
 */
#ifndef TB_AGENT_XLSX_INT_H
#define TB_AGENT_XLSX_INT_H

#include <locale.h>
#include <stdio.h>

#include <libxml/xmlreader.h>
#include <zip.h>

#include "common/buf.h"

#define MAX_COL 16384u       /* XFD, Excel's last column */
#define MAX_ROW 1048576u     /* Excel's last row */
#define MAX_SHEETS 1024u
#define MAX_STRINGS (4u * 1024 * 1024)
#define MAX_STYLES 65536u
#define MAX_FORMATS 4096u
#define REF_LEN 16           /* "XFD1048576" and room to spare */
#define CHUNK 16384

/* Days from 1970-01-01 to day 0 of each date system: serial 1 of the
 * 1900 system is 1900-01-01, serial 0 of the 1904 system 1904-01-01. */
#define EPOCH_1900 (-25568)
#define EPOCH_1904 (-24107)
#define SERIAL_FAKE_LEAP 60  /* Excel's 29 February 1900 */
#define SERIAL_MAX 2958465.0 /* 9999-12-31 */

#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_REL_STRICT "http://purl.oclc.org/ooxml/officeDocument/relationships"
#define ODS_MIME "application/vnd.oasis.opendocument.spreadsheet"

struct sheet_ref {
	char *name; /* as the tab shows it */
	char *rid;  /* its relationship id */
};

struct numfmt {
	unsigned id;
	int date;
};

/* Where a rich text (<si> or <is>) is: in a <t> to keep, in a phonetic
 * guide <rPh> to skip. */
struct rich {
	int in_t, in_rph;
};

/* The sheet being written. */
struct sheet_out {
	FILE *out;
	unsigned rows_out;  /* rows written (blank lines included) */
	unsigned last_row;  /* the last row read */
	unsigned row;       /* the row being read; 0 outside rows */
	unsigned last_col;  /* the last cell's column in this row */
	unsigned pend_col;  /* the column of the held-back text; 0 if none */
	unsigned written;   /* fields written in this row */
	struct tb_buf pend; /* the held-back text */
	/* the cell being read */
	int in_c, in_v, in_is;
	struct rich is;
	unsigned col, style;
	char ref[REF_LEN];
	char type[12];
	struct tb_buf val;
};

struct xlsx {
	zip_t *zip;
	char *msg;
	size_t msglen;
	locale_t c_num;       /* strtod's '.' whatever the caller's locale */
	const char *part;     /* the part being read, for messages */
	struct tb_buf data;   /* its bytes */
	struct sheet_ref *sheets;
	size_t nsheets;
	int date1904;
	const char *want_rid; /* the chosen sheet's */
	char *sheet_part, *sst_part, *styles_part;
	struct tb_buf sst;    /* shared strings, NUL after each */
	size_t *sst_off;
	size_t nsst, sst_cap;
	int in_si;
	struct rich si;
	struct numfmt *fmts;
	size_t nfmts;
	int in_numfmts, in_cellxfs;
	unsigned char *xf_date; /* per cell style: 1 if a date format */
	size_t nxf;
	struct sheet_out sh;
};

typedef int (*node_fn)(struct xlsx *x, xmlTextReaderPtr rd, int type);

/* Helpers of agent/xlsx.c that the sheet also uses. */
int xlsx_parse_uint(const char *s, unsigned max, unsigned *out);
/* "C5" from column 3, row 5; buf REF_LEN. */
void xlsx_ref_name(unsigned col, unsigned row, char *buf);
int xlsx_attr_buf(xmlTextReaderPtr rd, const char *name, char *buf,
		  size_t n);
int xlsx_attr_dup(xmlTextReaderPtr rd, const char *name, const char *ns,
		  char **out);
int xlsx_is_text(int type);
int xlsx_add_text(struct tb_buf *b, xmlTextReaderPtr rd);
int xlsx_rich_node(struct rich *r, xmlTextReaderPtr rd, int type,
		   const char *name, struct tb_buf *dst);
/* TB_EINVAL: the part at hand is damaged, msg says what. */
int xlsx_damaged(struct xlsx *x, const char *what);
const char *xlsx_node_name(xmlTextReaderPtr rd, int type);

/* The walkers of agent/xlsx_sheet.c. */
int xlsx_styles_node(struct xlsx *x, xmlTextReaderPtr rd, int type);
int xlsx_sheet_node(struct xlsx *x, xmlTextReaderPtr rd, int type);

#endif
