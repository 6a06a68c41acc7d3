/* xlsx.c - one sheet of a .xlsx workbook as CSV (the rules are in xlsx.h).
 *
 * A workbook is a zip of XML parts. The ones read, in this order:
 *
 *   part                        elements and attributes used
 *   xl/workbook.xml             <workbookPr date1904=>; <sheet name= r:id=>
 *                               in tab order
 *   xl/_rels/workbook.xml.rels  <Relationship Id= Type= Target=>: the part
 *                               of the chosen sheet's r:id, and those of
 *                               the shared strings and the styles (else
 *                               xl/sharedStrings.xml, xl/styles.xml)
 *   shared strings              <si> per string, its text the <t> in it
 *                               or in its runs <r><t>; <rPh> (phonetic
 *                               guides) left out
 *   styles                      <numFmts><numFmt numFmtId= formatCode=>;
 *                               <cellXfs><xf numFmtId=>: style s of a
 *                               cell is the s-th xf of cellXfs
 *   the sheet                   <row r=><c r= s= t=><v>..</v> or
 *                               <is>..</is></c></row>
 *
 * Each part is read whole into memory (at most TB_XLSX_MAX_PART bytes,
 * whatever the zip's directory claims) and walked once with libxml2's
 * xmlTextReader. What is kept: the sheet names, the shared strings (one
 * buffer, NUL after each) and one "is a date" flag per style; the sheet is
 * written out row by row, holding one cell's text back until the next
 * cell or the row's end says whether a separator or CRLF follows it.
 */
#include "agent/xlsx.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>
#include <zip.h>

#include "common/buf.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "common/msg.h"

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

/* ---- small readers ------------------------------------------------------ */

int tb_xlsx_looks_like_zip(const unsigned char *head, size_t n)
{
	return n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0;
}

/* Decimal digits only, 0..max. 0 or -1. */
static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int tb_xlsx_cell_ref(const char *r, unsigned *col, unsigned *row)
{
	unsigned c = 0, n;
	const char *p = r;

	while (*p >= 'A' && *p <= 'Z' && p - r < 3)
		c = c * 26 + (unsigned)(*p++ - 'A' + 1);
	if (p == r || c > MAX_COL || parse_uint(p, MAX_ROW, &n) != 0 ||
	    n == 0)
		return TB_EINVAL;
	*col = c;
	*row = n;
	return 0;
}

/* "C5" for column 3, row 5, into buf (REF_LEN bytes). */
static void ref_name(unsigned col, unsigned row, char *buf)
{
	char letters[4];
	int n = 0, i = 0;

	while (col > 0 && n < 3) {
		letters[n++] = (char)('A' + (col - 1) % 26);
		col = (col - 1) / 26;
	}
	while (n > 0)
		buf[i++] = letters[--n];
	snprintf(buf + i, REF_LEN - (size_t)i, "%u", row);
}

/* The attribute of the current element into buf; 0 if it is absent (buf
 * then ""), else 1. A value too long for buf comes back as "!", which no
 * caller accepts. */
static int attr_buf(xmlTextReaderPtr rd, const char *name, char *buf,
		    size_t n)
{
	xmlChar *v = xmlTextReaderGetAttribute(rd, BAD_CAST name);
	size_t len;

	buf[0] = '\0';
	if (!v)
		return 0;
	len = strlen((const char *)v);
	if (len < n)
		memcpy(buf, v, len + 1);
	else
		memcpy(buf, "!", 2);
	xmlFree(v);
	return 1;
}

/* The attribute (in namespace ns, or in none when ns is NULL) copied to
 * *out (tb_free), NULL when absent. 0 or TB_ENOMEM. */
static int attr_dup(xmlTextReaderPtr rd, const char *name, const char *ns,
		    char **out)
{
	xmlChar *v = ns ? xmlTextReaderGetAttributeNs(rd, BAD_CAST name,
						      BAD_CAST ns)
			: xmlTextReaderGetAttribute(rd, BAD_CAST name);

	*out = NULL;
	if (!v)
		return 0;
	*out = tb_strdup((const char *)v);
	xmlFree(v);
	return *out ? 0 : TB_ENOMEM;
}

static int is_text(int type)
{
	return type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
	       type == XML_READER_TYPE_WHITESPACE ||
	       type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

static int add_text(struct tb_buf *b, xmlTextReaderPtr rd)
{
	const xmlChar *v = xmlTextReaderConstValue(rd);

	return v ? tb_buf_puts(b, (const char *)v) : 0;
}

/* One node of a rich text (<si> or <is>): keeps the text of its <t>
 * elements, its own or its runs', and skips the phonetic guides. */
static int rich_node(struct rich *r, xmlTextReaderPtr rd, int type,
		     const char *name, struct tb_buf *dst)
{
	if (type == XML_READER_TYPE_ELEMENT &&
	    !xmlTextReaderIsEmptyElement(rd)) {
		if (strcmp(name, "rPh") == 0)
			r->in_rph = 1;
		else if (strcmp(name, "t") == 0 && !r->in_rph)
			r->in_t = 1;
	} else if (type == XML_READER_TYPE_END_ELEMENT) {
		if (strcmp(name, "rPh") == 0)
			r->in_rph = 0;
		else if (strcmp(name, "t") == 0)
			r->in_t = 0;
	} else if (is_text(type) && r->in_t) {
		return add_text(dst, rd);
	}
	return 0;
}

static int damaged(struct xlsx *x, const char *what)
{
	return tb_msg(TB_EINVAL, x->msg, x->msglen,
		      _("the workbook is damaged: %s in %s"), what, x->part);
}

/* ---- the zip ------------------------------------------------------------ */

static int too_big(struct xlsx *x, const char *name, uint64_t size)
{
	char a[32], b[32];

	return tb_msg(TB_ETOOBIG, x->msg, x->msglen,
		      _("%s in the workbook is %s uncompressed, more than the "
			"%s this program reads"),
		      name, tb_size_text(size, a, sizeof(a)),
		      tb_size_text(TB_XLSX_MAX_PART, b, sizeof(b)));
}

/* Reads the part name whole into x->data and makes it x->part.
 * TB_ENOTFOUND (no message) if the zip has no such entry. */
static int read_part(struct xlsx *x, const char *name)
{
	char chunk[CHUNK];
	zip_stat_t st;
	zip_file_t *zf;
	zip_int64_t i, n;
	int rc = 0;

	tb_buf_reset(&x->data);
	x->part = name;
	i = zip_name_locate(x->zip, name, ZIP_FL_NOCASE);
	if (i < 0)
		return TB_ENOTFOUND;
	zip_stat_init(&st);
	if (zip_stat_index(x->zip, (zip_uint64_t)i, 0, &st) != 0)
		return damaged(x, zip_strerror(x->zip));
	if ((st.valid & ZIP_STAT_SIZE) && st.size > TB_XLSX_MAX_PART)
		return too_big(x, name, st.size);
	if ((st.valid & ZIP_STAT_SIZE) &&
	    tb_buf_reserve(&x->data, (size_t)st.size) != 0)
		return TB_ENOMEM;
	zf = zip_fopen_index(x->zip, (zip_uint64_t)i, 0);
	if (!zf)
		return damaged(x, zip_strerror(x->zip));
	while ((n = zip_fread(zf, chunk, sizeof(chunk))) > 0) {
		if (x->data.len + (size_t)n > TB_XLSX_MAX_PART) {
			rc = too_big(x, name, x->data.len + (size_t)n);
			break;
		}
		if ((rc = tb_buf_add(&x->data, chunk, (size_t)n)) != 0)
			break;
	}
	if (rc == 0 && n < 0)
		rc = damaged(x, zip_file_strerror(zf));
	zip_fclose(zf);
	return rc;
}

static int open_zip(struct xlsx *x, const char *path)
{
	zip_error_t ze;
	int err = 0, rc;

	x->zip = zip_open(path, ZIP_RDONLY, &err);
	if (x->zip && zip_get_num_entries(x->zip, 0) > 0)
		return 0;
	if (x->zip || err == ZIP_ER_NOZIP)
		return tb_msg(TB_EINVAL, x->msg, x->msglen,
			      _("not an .xlsx file"));
	if (err == ZIP_ER_MEMORY)
		return TB_ENOMEM;
	rc = err == ZIP_ER_OPEN || err == ZIP_ER_READ || err == ZIP_ER_NOENT
		     ? TB_EIO
		     : TB_EINVAL;
	zip_error_init_with_code(&ze, err);
	rc = tb_msg(rc, x->msg, x->msglen,
		    rc == TB_EIO ? _("cannot read %s: %s")
				 : _("%s is a damaged .xlsx file: %s"),
		    path, zip_error_strerror(&ze));
	zip_error_fini(&ze);
	return rc;
}

/* A zip without xl/workbook.xml: an OpenDocument spreadsheet, or some
 * other archive. */
static int not_a_workbook(struct xlsx *x)
{
	int rc = read_part(x, "mimetype");

	if (rc != 0 && rc != TB_ENOTFOUND)
		return rc;
	if (rc == 0 && x->data.len >= strlen(ODS_MIME) &&
	    memcmp(x->data.p, ODS_MIME, strlen(ODS_MIME)) == 0)
		return tb_msg(TB_EINVAL, x->msg, x->msglen,
			      _("this is an OpenDocument spreadsheet (.ods); "
				"in LibreOffice use File > Save As and choose "
				"Excel 2007-365 (.xlsx) or Text CSV (UTF-8)"));
	return tb_msg(TB_EINVAL, x->msg, x->msglen,
		      _("this is a zip archive, not a spreadsheet; save the "
			"list from Excel or LibreOffice as Excel Workbook "
			"(.xlsx) or CSV UTF-8"));
}

/* ---- XML ---------------------------------------------------------------- */

/* Walks x->data (the part x->part) node by node through fn. No network,
 * no entity expansion, and a part with a DTD is refused. */
static int walk(struct xlsx *x, node_fn fn)
{
	xmlTextReaderPtr rd;
	int rc = 0, r, type;

	rd = xmlReaderForMemory(x->data.p ? x->data.p : "", (int)x->data.len,
				x->part, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR |
					XML_PARSE_NOWARNING);
	if (!rd)
		return TB_ENOMEM;
	while ((r = xmlTextReaderRead(rd)) == 1) {
		type = xmlTextReaderNodeType(rd);
		if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
			rc = damaged(x, _("a document type declaration"));
			break;
		}
		if ((rc = fn(x, rd, type)) != 0)
			break;
	}
	if (rc == 0 && r < 0)
		rc = tb_msg(TB_EINVAL, x->msg, x->msglen,
			    _("the workbook is damaged: %s is not well-formed "
			      "XML (line %d)"),
			    x->part, xmlTextReaderGetParserLineNumber(rd));
	xmlFreeTextReader(rd);
	return rc;
}

/* The element or end element's local name; NULL for other nodes. */
static const char *node_name(xmlTextReaderPtr rd, int type)
{
	if (type != XML_READER_TYPE_ELEMENT &&
	    type != XML_READER_TYPE_END_ELEMENT)
		return NULL;
	return (const char *)xmlTextReaderConstLocalName(rd);
}

/* ---- workbook and relationships ----------------------------------------- */

static int add_sheet(struct xlsx *x, xmlTextReaderPtr rd)
{
	struct sheet_ref *s, *grown;
	int rc;

	if (x->nsheets == MAX_SHEETS)
		return damaged(x, _("too many sheets"));
	grown = tb_realloc(x->sheets, (x->nsheets + 1) * sizeof(*grown));
	if (!grown)
		return TB_ENOMEM;
	x->sheets = grown;
	s = &x->sheets[x->nsheets];
	s->rid = NULL;
	if ((rc = attr_dup(rd, "name", NULL, &s->name)) != 0)
		return rc;
	x->nsheets++;
	if ((rc = attr_dup(rd, "id", NS_REL, &s->rid)) != 0 ||
	    (!s->rid && (rc = attr_dup(rd, "id", NS_REL_STRICT, &s->rid)) != 0))
		return rc;
	if (!s->name || !s->rid)
		return damaged(x, _("a sheet without a name or a part"));
	return 0;
}

static int workbook_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	const char *name = type == XML_READER_TYPE_ELEMENT
				   ? node_name(rd, type)
				   : NULL;
	char v[8];

	if (!name)
		return 0;
	if (strcmp(name, "sheet") == 0)
		return add_sheet(x, rd);
	if (strcmp(name, "workbookPr") == 0 &&
	    attr_buf(rd, "date1904", v, sizeof(v)))
		x->date1904 = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
	return 0;
}

/* A relationship's Target as a path in the zip: relative to xl/, or from
 * the root when it starts with '/'. */
static int part_path(const char *target, char **out)
{
	struct tb_buf b = TB_BUF_INIT;
	int up = 0;

	while (strncmp(target, "../", 3) == 0) {
		target += 3;
		up = 1;
	}
	if (*target == '/')
		target++;
	else if (!up && tb_buf_puts(&b, "xl/") != 0)
		return TB_ENOMEM;
	if (tb_buf_puts(&b, target) != 0) {
		tb_buf_free(&b);
		return TB_ENOMEM;
	}
	*out = tb_buf_detach(&b, NULL);
	return *out ? 0 : TB_ENOMEM;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

static int rels_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	const char *name = type == XML_READER_TYPE_ELEMENT
				   ? node_name(rd, type)
				   : NULL;
	char *id = NULL, *rtype = NULL, *target = NULL, **dst = NULL;
	int rc;

	if (!name || strcmp(name, "Relationship") != 0)
		return 0;
	if ((rc = attr_dup(rd, "Id", NULL, &id)) != 0 ||
	    (rc = attr_dup(rd, "Type", NULL, &rtype)) != 0 ||
	    (rc = attr_dup(rd, "Target", NULL, &target)) != 0)
		goto out;
	if (!id || !rtype || !target)
		goto out;
	if (strcmp(id, x->want_rid) == 0)
		dst = &x->sheet_part;
	else if (ends_with(rtype, "/sharedStrings"))
		dst = &x->sst_part;
	else if (ends_with(rtype, "/styles"))
		dst = &x->styles_part;
	if (dst && !*dst)
		rc = part_path(target, dst);
out:
	tb_free(id);
	tb_free(rtype);
	tb_free(target);
	return rc;
}

/* The sheet named name, or the first; TB_EINVAL naming those there are. */
static int choose_sheet(struct xlsx *x, const char *name)
{
	struct tb_buf list = TB_BUF_INIT;
	size_t i;
	int rc = 0;

	if (x->nsheets == 0)
		return damaged(x, _("no sheets"));
	if (!name) {
		x->want_rid = x->sheets[0].rid;
		return 0;
	}
	for (i = 0; i < x->nsheets; i++) {
		if (strcmp(x->sheets[i].name, name) == 0) {
			x->want_rid = x->sheets[i].rid;
			return 0;
		}
	}
	for (i = 0; i < x->nsheets && rc == 0; i++)
		rc = tb_buf_printf(&list, "%s\"%s\"", i ? ", " : "",
				   x->sheets[i].name);
	if (rc == 0)
		rc = tb_msg(TB_EINVAL, x->msg, x->msglen,
			    _("the workbook has no sheet named \"%s\"; its "
			      "sheets are %s"),
			    name, list.p);
	tb_buf_free(&list);
	return rc;
}

/* ---- shared strings ----------------------------------------------------- */

static int sst_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	const char *name = node_name(rd, type);
	size_t *grown;

	if (name && strcmp(name, "si") == 0) {
		if (type == XML_READER_TYPE_END_ELEMENT) {
			x->in_si = 0;
			return tb_buf_putc(&x->sst, '\0');
		}
		if (x->nsst == MAX_STRINGS)
			return damaged(x, _("too many strings"));
		if (x->nsst == x->sst_cap) {
			x->sst_cap = x->sst_cap ? 2 * x->sst_cap : 256;
			grown = tb_realloc(x->sst_off,
					   x->sst_cap * sizeof(*grown));
			if (!grown)
				return TB_ENOMEM;
			x->sst_off = grown;
		}
		x->sst_off[x->nsst++] = x->sst.len;
		if (xmlTextReaderIsEmptyElement(rd))
			return tb_buf_putc(&x->sst, '\0');
		x->in_si = 1;
		return 0;
	}
	if (!x->in_si)
		return 0;
	return rich_node(&x->si, rd, type, name ? name : "", &x->sst);
}

/* ---- styles ------------------------------------------------------------- */

static int builtin_date(unsigned id)
{
	return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) ||
	       (id >= 45 && id <= 47) || (id >= 50 && id <= 58);
}

/* 1 if a number format code shows a date: it has d or y, or m without
 * h or s (then m is minutes), outside "text", [brackets] and escapes. */
static int code_is_date(const char *c)
{
	int dy = 0, m = 0, hs = 0;

	for (; *c; c++) {
		if (*c == '"' || *c == '[') {
			c = strchr(c + 1, *c == '"' ? '"' : ']');
			if (!c)
				break;
		} else if (*c == '\\' || *c == '_' || *c == '*') {
			if (!*++c)
				break;
		} else if (strncmp(c, "AM/PM", 5) == 0) {
			c += 4;
		} else if (strncmp(c, "A/P", 3) == 0) {
			c += 2;
		} else if (strchr("dDyY", *c)) {
			dy = 1;
		} else if (strchr("mM", *c)) {
			m = 1;
		} else if (strchr("hHsS", *c)) {
			hs = 1;
		}
	}
	return dy || (m && !hs);
}

static int add_numfmt(struct xlsx *x, xmlTextReaderPtr rd)
{
	char id[12];
	char *code = NULL;
	struct numfmt *grown;
	unsigned n;
	int rc;

	attr_buf(rd, "numFmtId", id, sizeof(id));
	if (parse_uint(id, UINT32_MAX >> 1, &n) != 0)
		return damaged(x, _("a number format without a number"));
	if (x->nfmts == MAX_FORMATS)
		return damaged(x, _("too many number formats"));
	if ((rc = attr_dup(rd, "formatCode", NULL, &code)) != 0)
		return rc;
	grown = tb_realloc(x->fmts, (x->nfmts + 1) * sizeof(*grown));
	if (!grown) {
		tb_free(code);
		return TB_ENOMEM;
	}
	x->fmts = grown;
	x->fmts[x->nfmts].id = n;
	x->fmts[x->nfmts++].date = code && code_is_date(code);
	tb_free(code);
	return 0;
}

/* Appends the date flag of a cell style (an <xf> of <cellXfs>). */
static int add_xf(struct xlsx *x, xmlTextReaderPtr rd)
{
	char id[12];
	unsigned n = 0;
	size_t i;
	unsigned char *grown;

	if (attr_buf(rd, "numFmtId", id, sizeof(id)) &&
	    parse_uint(id, UINT32_MAX >> 1, &n) != 0)
		return damaged(x, _("a cell style with a bad number format"));
	if (x->nxf == MAX_STYLES)
		return damaged(x, _("too many cell styles"));
	grown = tb_realloc(x->xf_date, x->nxf + 1);
	if (!grown)
		return TB_ENOMEM;
	x->xf_date = grown;
	x->xf_date[x->nxf] = (unsigned char)builtin_date(n);
	for (i = 0; i < x->nfmts; i++)
		if (x->fmts[i].id == n)
			x->xf_date[x->nxf] = (unsigned char)x->fmts[i].date;
	x->nxf++;
	return 0;
}

static int styles_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	const char *name = node_name(rd, type);
	int open = type == XML_READER_TYPE_ELEMENT;

	if (!name)
		return 0;
	if (strcmp(name, "numFmts") == 0)
		x->in_numfmts = open && !xmlTextReaderIsEmptyElement(rd);
	else if (strcmp(name, "cellXfs") == 0)
		x->in_cellxfs = open && !xmlTextReaderIsEmptyElement(rd);
	else if (open && x->in_numfmts && strcmp(name, "numFmt") == 0)
		return add_numfmt(x, rd);
	else if (open && x->in_cellxfs && strcmp(name, "xf") == 0)
		return add_xf(x, rd);
	return 0;
}

/* ---- cell values -------------------------------------------------------- */

/* Refuses the cell being read: fmt has %s for its reference, then v. */
#define cell_refused(x, fmt, v) \
	tb_msg(TB_EINVAL, (x)->msg, (x)->msglen, fmt, (x)->sh.ref, v)

/* A serial day number in x's date system as "YYYY-MM-DD" in tmp. */
static int serial_date(struct xlsx *x, double v, const char *text,
		       char *tmp)
{
	double day = floor(v);
	int32_t days;

	if (day < (x->date1904 ? 0 : 1) || day > SERIAL_MAX)
		return cell_refused(x, _("cell %s is formatted as a date but "
					 "holds %s, which is no day"),
				    text);
	if (x->date1904) {
		days = EPOCH_1904 + (int32_t)day;
	} else {
		if (day == SERIAL_FAKE_LEAP)
			return cell_refused(x, _("cell %s holds 29 February "
						 "1900 (serial %s), a day "
						 "that did not exist"),
					    text);
		days = EPOCH_1900 + (int32_t)day - (day > SERIAL_FAKE_LEAP);
	}
	tb_date_format(days, tmp);
	return 0;
}

/* A number cell's text (the <v>) as written out: see xlsx.h. *out is
 * text itself or tmp (at least 32 bytes). */
static int number_text(struct xlsx *x, const char *text, int date,
		       char *tmp, const char **out)
{
	locale_t old = uselocale(x->c_num);
	char *end;
	double v, r;

	v = strtod(text, &end);
	uselocale(old);
	if (end == text || *end != '\0' || !isfinite(v))
		return cell_refused(x, _("cell %s holds \"%s\", which is not "
					 "a number"),
				    text);
	if (date) {
		*out = tmp;
		return serial_date(x, v, text, tmp);
	}
	r = round(v);
	*out = text;
	if (fabs(v - r) <= 1e-9 * fabs(v) && fabs(r) < 1e15) {
		snprintf(tmp, 32, "%lld", (long long)r);
		*out = tmp;
	}
	return 0;
}

/* The text the cell just read comes out as, in *out (tmp: 32 bytes). */
static int cell_text(struct xlsx *x, char *tmp, const char **out)
{
	struct sheet_out *s = &x->sh;
	const char *v = s->val.p ? s->val.p : "";
	unsigned i;

	*out = v;
	if (strcmp(s->type, "s") == 0) {
		if (parse_uint(v, UINT32_MAX >> 1, &i) != 0 || i >= x->nsst)
			return cell_refused(x, _("cell %s refers to shared "
						 "string %s, which the "
						 "workbook does not have"),
					    v);
		*out = x->sst.p + x->sst_off[i];
	} else if (strcmp(s->type, "b") == 0) {
		*out = *v == '\0' ? "" : strcmp(v, "0") == 0 ? "0" : "1";
	} else if (strcmp(s->type, "e") == 0) {
		return cell_refused(x, _("cell %s holds the error %s"), v);
	} else if (strcmp(s->type, "d") == 0) {
		if (strlen(v) < 10 || (v[10] != '\0' && v[10] != 'T'))
			return cell_refused(x, _("cell %s holds \"%s\", which "
						 "is not a date"),
					    v);
		memcpy(tmp, v, 10);
		tmp[10] = '\0';
		*out = tmp;
	} else if (*s->type == '\0' || strcmp(s->type, "n") == 0) {
		if (*v == '\0')
			return 0;
		return number_text(x, v,
				   s->style < x->nxf && x->xf_date[s->style],
				   tmp, out);
	} else if (strcmp(s->type, "str") != 0 &&
		   strcmp(s->type, "inlineStr") != 0) {
		return cell_refused(x, _("cell %s has a type this program "
					 "does not know (t=\"%s\")"),
				    s->type);
	}
	return 0;
}

/* ---- the sheet ---------------------------------------------------------- */

/* Writes the held-back text, then empty fields up to column col, and
 * holds back v (not empty) for column col. The row's first text is
 * preceded by blank lines for the rows the sheet left out. */
static int put_cell(struct sheet_out *s, unsigned col, const char *v)
{
	int rc = 0;

	if (s->pend_col) {
		rc = tb_csv_write_field(s->out, s->pend.p, 0);
		s->written = s->pend_col;
	}
	for (; rc == 0 && s->pend_col == 0 && s->rows_out + 1 < s->row;
	     s->rows_out++)
		if (fputs("\r\n", s->out) == EOF)
			rc = TB_EIO;
	for (; rc == 0 && s->written + 1 < col; s->written++)
		rc = tb_csv_write_field(s->out, "", 0);
	if (rc != 0)
		return rc;
	tb_buf_reset(&s->pend);
	s->pend_col = col;
	return tb_buf_puts(&s->pend, v);
}

static int end_row(struct sheet_out *s)
{
	int rc = 0;

	if (s->pend_col) {
		rc = tb_csv_write_field(s->out, s->pend.p, 1);
		s->rows_out = s->row;
	}
	s->pend_col = 0;
	s->written = 0;
	s->row = 0;
	return rc;
}

static int start_row(struct xlsx *x, xmlTextReaderPtr rd)
{
	struct sheet_out *s = &x->sh;
	char v[REF_LEN];
	unsigned n = s->last_row + 1;

	if (s->row != 0)
		return damaged(x, _("a row inside a row"));
	if (attr_buf(rd, "r", v, sizeof(v)) &&
	    (parse_uint(v, MAX_ROW, &n) != 0 || n == 0))
		return damaged(x, _("a row with a bad number"));
	if (n <= s->last_row || n > MAX_ROW)
		return damaged(x, _("rows out of order"));
	s->row = s->last_row = n;
	s->last_col = 0;
	if (xmlTextReaderIsEmptyElement(rd))
		return end_row(s);
	return 0;
}

static int start_cell(struct xlsx *x, xmlTextReaderPtr rd)
{
	struct sheet_out *s = &x->sh;
	char v[REF_LEN];
	unsigned col = s->last_col + 1, row = s->row;

	if (s->row == 0)
		return damaged(x, _("a cell outside a row"));
	if (attr_buf(rd, "r", s->ref, sizeof(s->ref)) &&
	    tb_xlsx_cell_ref(s->ref, &col, &row) != 0)
		return damaged(x, _("a cell with a bad reference"));
	if (row != s->row || col <= s->last_col || col > MAX_COL)
		return damaged(x, _("cells out of order"));
	ref_name(col, row, s->ref);
	s->col = s->last_col = col;
	s->style = 0;
	if (attr_buf(rd, "s", v, sizeof(v)) &&
	    parse_uint(v, MAX_STYLES, &s->style) != 0)
		return damaged(x, _("a cell with a bad style"));
	attr_buf(rd, "t", s->type, sizeof(s->type));
	tb_buf_reset(&s->val);
	s->in_v = s->in_is = 0;
	s->is.in_t = s->is.in_rph = 0;
	s->in_c = !xmlTextReaderIsEmptyElement(rd);
	return 0;
}

static int end_cell(struct xlsx *x)
{
	char tmp[32];
	const char *v;
	int rc;

	x->sh.in_c = 0;
	if ((rc = cell_text(x, tmp, &v)) != 0 || *v == '\0')
		return rc;
	return put_cell(&x->sh, x->sh.col, v);
}

static int sheet_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	struct sheet_out *s = &x->sh;
	const char *name = node_name(rd, type);
	int open = type == XML_READER_TYPE_ELEMENT;

	if (!name) {
		if (s->in_v && is_text(type))
			return add_text(&s->val, rd);
		if (s->in_is)
			return rich_node(&s->is, rd, type, "", &s->val);
		return 0;
	}
	if (strcmp(name, "row") == 0)
		return open ? start_row(x, rd) : end_row(s);
	if (strcmp(name, "c") == 0)
		return open ? start_cell(x, rd) : end_cell(x);
	if (!s->in_c)
		return 0;
	if (strcmp(name, "v") == 0)
		s->in_v = open && !xmlTextReaderIsEmptyElement(rd);
	else if (strcmp(name, "is") == 0)
		s->in_is = open && !xmlTextReaderIsEmptyElement(rd);
	else if (s->in_is)
		return rich_node(&s->is, rd, type, name, &s->val);
	return 0;
}

/* ---- the whole ---------------------------------------------------------- */

/* Reads the part name (if the zip has it) through fn. */
static int read_xml(struct xlsx *x, const char *name, node_fn fn)
{
	int rc = read_part(x, name);

	if (rc == TB_ENOTFOUND)
		return 0;
	return rc ? rc : walk(x, fn);
}

static void xlsx_cleanup(struct xlsx *x)
{
	size_t i;

	for (i = 0; i < x->nsheets; i++) {
		tb_free(x->sheets[i].name);
		tb_free(x->sheets[i].rid);
	}
	tb_free(x->sheets);
	tb_free(x->sheet_part);
	tb_free(x->sst_part);
	tb_free(x->styles_part);
	tb_buf_free(&x->sst);
	tb_free(x->sst_off);
	tb_free(x->fmts);
	tb_free(x->xf_date);
	tb_buf_free(&x->sh.pend);
	tb_buf_free(&x->sh.val);
	tb_buf_free(&x->data);
	if (x->zip)
		zip_discard(x->zip);
	if (x->c_num)
		freelocale(x->c_num);
}

int tb_xlsx_to_csv(const char *path, const char *sheet, FILE *out,
		   char *msg, size_t msglen)
{
	struct xlsx x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.msg = msg;
	x.msglen = msglen;
	x.sh.out = out;
	x.c_num = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!x.c_num)
		return TB_ENOMEM;
	if ((rc = open_zip(&x, path)) != 0)
		goto out;
	rc = read_part(&x, "xl/workbook.xml");
	if (rc == TB_ENOTFOUND)
		rc = not_a_workbook(&x);
	if (rc != 0 || (rc = walk(&x, workbook_node)) != 0 ||
	    (rc = choose_sheet(&x, sheet)) != 0 ||
	    (rc = read_xml(&x, "xl/_rels/workbook.xml.rels", rels_node)) != 0)
		goto out;
	if (!x.sheet_part) {
		rc = damaged(&x, _("no part for the sheet"));
		goto out;
	}
	if ((rc = read_xml(&x, x.sst_part ? x.sst_part : "xl/sharedStrings.xml",
			   sst_node)) != 0 ||
	    (rc = read_xml(&x, x.styles_part ? x.styles_part : "xl/styles.xml",
			   styles_node)) != 0)
		goto out;
	rc = read_part(&x, x.sheet_part);
	if (rc == TB_ENOTFOUND)
		rc = damaged(&x, _("the sheet's part is missing"));
	if (rc == 0)
		rc = walk(&x, sheet_node);
	if (rc == 0 && fflush(out) != 0)
		rc = TB_EIO;
out:
	xlsx_cleanup(&x);
	return rc;
}
