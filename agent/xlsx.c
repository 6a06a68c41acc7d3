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
#include "agent/xlsx_int.h"

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


/* ---- small readers ------------------------------------------------------ */

int tb_xlsx_looks_like_zip(const unsigned char *head, size_t n)
{
	return n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0;
}

/* Decimal digits only, 0..max. 0 or -1. */
int xlsx_parse_uint(const char *s, unsigned max, unsigned *out)
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
	if (p == r || c > MAX_COL || xlsx_parse_uint(p, MAX_ROW, &n) != 0 ||
	    n == 0)
		return TB_EINVAL;
	*col = c;
	*row = n;
	return 0;
}

/* "C5" for column 3, row 5, into buf (REF_LEN bytes). */
void xlsx_ref_name(unsigned col, unsigned row, char *buf)
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
int xlsx_attr_buf(xmlTextReaderPtr rd, const char *name, char *buf,
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
int xlsx_attr_dup(xmlTextReaderPtr rd, const char *name, const char *ns,
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

int xlsx_is_text(int type)
{
	return type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
	       type == XML_READER_TYPE_WHITESPACE ||
	       type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

int xlsx_add_text(struct tb_buf *b, xmlTextReaderPtr rd)
{
	const xmlChar *v = xmlTextReaderConstValue(rd);

	return v ? tb_buf_puts(b, (const char *)v) : 0;
}

/* One node of a rich text (<si> or <is>): keeps the text of its <t>
 * elements, its own or its runs', and skips the phonetic guides. */
int xlsx_rich_node(struct rich *r, xmlTextReaderPtr rd, int type,
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
	} else if (xlsx_is_text(type) && r->in_t) {
		return xlsx_add_text(dst, rd);
	}
	return 0;
}

int xlsx_damaged(struct xlsx *x, const char *what)
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
		return xlsx_damaged(x, zip_strerror(x->zip));
	if ((st.valid & ZIP_STAT_SIZE) && st.size > TB_XLSX_MAX_PART)
		return too_big(x, name, st.size);
	if ((st.valid & ZIP_STAT_SIZE) &&
	    tb_buf_reserve(&x->data, (size_t)st.size) != 0)
		return TB_ENOMEM;
	zf = zip_fopen_index(x->zip, (zip_uint64_t)i, 0);
	if (!zf)
		return xlsx_damaged(x, zip_strerror(x->zip));
	while ((n = zip_fread(zf, chunk, sizeof(chunk))) > 0) {
		if (x->data.len + (size_t)n > TB_XLSX_MAX_PART) {
			rc = too_big(x, name, x->data.len + (size_t)n);
			break;
		}
		if ((rc = tb_buf_add(&x->data, chunk, (size_t)n)) != 0)
			break;
	}
	if (rc == 0 && n < 0)
		rc = xlsx_damaged(x, zip_file_strerror(zf));
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
			rc = xlsx_damaged(x, _("a document type declaration"));
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
const char *xlsx_node_name(xmlTextReaderPtr rd, int type)
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
		return xlsx_damaged(x, _("too many sheets"));
	grown = tb_realloc(x->sheets, (x->nsheets + 1) * sizeof(*grown));
	if (!grown)
		return TB_ENOMEM;
	x->sheets = grown;
	s = &x->sheets[x->nsheets];
	s->rid = NULL;
	if ((rc = xlsx_attr_dup(rd, "name", NULL, &s->name)) != 0)
		return rc;
	x->nsheets++;
	if ((rc = xlsx_attr_dup(rd, "id", NS_REL, &s->rid)) != 0 ||
	    (!s->rid && (rc = xlsx_attr_dup(rd, "id", NS_REL_STRICT, &s->rid)) != 0))
		return rc;
	if (!s->name || !s->rid)
		return xlsx_damaged(x, _("a sheet without a name or a part"));
	return 0;
}

static int workbook_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	const char *name = type == XML_READER_TYPE_ELEMENT
				   ? xlsx_node_name(rd, type)
				   : NULL;
	char v[8];

	if (!name)
		return 0;
	if (strcmp(name, "sheet") == 0)
		return add_sheet(x, rd);
	if (strcmp(name, "workbookPr") == 0 &&
	    xlsx_attr_buf(rd, "date1904", v, sizeof(v)))
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
				   ? xlsx_node_name(rd, type)
				   : NULL;
	char *id = NULL, *rtype = NULL, *target = NULL, **dst = NULL;
	int rc;

	if (!name || strcmp(name, "Relationship") != 0)
		return 0;
	if ((rc = xlsx_attr_dup(rd, "Id", NULL, &id)) != 0 ||
	    (rc = xlsx_attr_dup(rd, "Type", NULL, &rtype)) != 0 ||
	    (rc = xlsx_attr_dup(rd, "Target", NULL, &target)) != 0)
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
		return xlsx_damaged(x, _("no sheets"));
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
	const char *name = xlsx_node_name(rd, type);
	size_t *grown;

	if (name && strcmp(name, "si") == 0) {
		if (type == XML_READER_TYPE_END_ELEMENT) {
			x->in_si = 0;
			return tb_buf_putc(&x->sst, '\0');
		}
		if (x->nsst == MAX_STRINGS)
			return xlsx_damaged(x, _("too many strings"));
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
	return xlsx_rich_node(&x->si, rd, type, name ? name : "", &x->sst);
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
		rc = xlsx_damaged(&x, _("no part for the sheet"));
		goto out;
	}
	if ((rc = read_xml(&x, x.sst_part ? x.sst_part : "xl/sharedStrings.xml",
			   sst_node)) != 0 ||
	    (rc = read_xml(&x, x.styles_part ? x.styles_part : "xl/styles.xml",
			   xlsx_styles_node)) != 0)
		goto out;
	rc = read_part(&x, x.sheet_part);
	if (rc == TB_ENOTFOUND)
		rc = xlsx_damaged(&x, _("the sheet's part is missing"));
	if (rc == 0)
		rc = walk(&x, xlsx_sheet_node);
	if (rc == 0 && fflush(out) != 0)
		rc = TB_EIO;
out:
	xlsx_cleanup(&x);
	return rc;
}
