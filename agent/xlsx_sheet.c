/* xlsx_sheet.c - the styles, the cell values and the sheet of a .xlsx
 * as CSV (the rules are in xlsx.h; the parts and how they are walked in
 * agent/xlsx.c, which calls xlsx_styles_node and xlsx_sheet_node).
 */
#include "agent/xlsx_int.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/xlsx.h"
#include "common/buf.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "common/msg.h"

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

	xlsx_attr_buf(rd, "numFmtId", id, sizeof(id));
	if (xlsx_parse_uint(id, UINT32_MAX >> 1, &n) != 0)
		return xlsx_damaged(x, _("a number format without a number"));
	if (x->nfmts == MAX_FORMATS)
		return xlsx_damaged(x, _("too many number formats"));
	if ((rc = xlsx_attr_dup(rd, "formatCode", NULL, &code)) != 0)
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

	if (xlsx_attr_buf(rd, "numFmtId", id, sizeof(id)) &&
	    xlsx_parse_uint(id, UINT32_MAX >> 1, &n) != 0)
		return xlsx_damaged(x, _("a cell style with a bad number format"));
	if (x->nxf == MAX_STYLES)
		return xlsx_damaged(x, _("too many cell styles"));
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

int xlsx_styles_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	const char *name = xlsx_node_name(rd, type);
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
		if (xlsx_parse_uint(v, UINT32_MAX >> 1, &i) != 0 || i >= x->nsst)
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
		return xlsx_damaged(x, _("a row inside a row"));
	if (xlsx_attr_buf(rd, "r", v, sizeof(v)) &&
	    (xlsx_parse_uint(v, MAX_ROW, &n) != 0 || n == 0))
		return xlsx_damaged(x, _("a row with a bad number"));
	if (n <= s->last_row || n > MAX_ROW)
		return xlsx_damaged(x, _("rows out of order"));
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
		return xlsx_damaged(x, _("a cell outside a row"));
	if (xlsx_attr_buf(rd, "r", s->ref, sizeof(s->ref)) &&
	    tb_xlsx_cell_ref(s->ref, &col, &row) != 0)
		return xlsx_damaged(x, _("a cell with a bad reference"));
	if (row != s->row || col <= s->last_col || col > MAX_COL)
		return xlsx_damaged(x, _("cells out of order"));
	xlsx_ref_name(col, row, s->ref);
	s->col = s->last_col = col;
	s->style = 0;
	if (xlsx_attr_buf(rd, "s", v, sizeof(v)) &&
	    xlsx_parse_uint(v, MAX_STYLES, &s->style) != 0)
		return xlsx_damaged(x, _("a cell with a bad style"));
	xlsx_attr_buf(rd, "t", s->type, sizeof(s->type));
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

int xlsx_sheet_node(struct xlsx *x, xmlTextReaderPtr rd, int type)
{
	struct sheet_out *s = &x->sh;
	const char *name = xlsx_node_name(rd, type);
	int open = type == XML_READER_TYPE_ELEMENT;

	if (!name) {
		if (s->in_v && xlsx_is_text(type))
			return xlsx_add_text(&s->val, rd);
		if (s->in_is)
			return xlsx_rich_node(&s->is, rd, type, "", &s->val);
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
		return xlsx_rich_node(&s->is, rd, type, name, &s->val);
	return 0;
}

