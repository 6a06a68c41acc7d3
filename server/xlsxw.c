/* xlsxw.c - an .xlsx workbook built in a temporary file with libxlsxwriter
 * and copied into a FILE (see xlsxw.h for what the cells guarantee).
 */
#include "server/xlsxw.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/date.h"
#include "common/err.h"

int tb_xlsxw_err(lxw_error e)
{
	if (e == LXW_NO_ERROR)
		return TB_OK;
	return e == LXW_ERROR_MEMORY_MALLOC_FAILED ? TB_ENOMEM : TB_EIO;
}

/* ---- the workbook and its formats ---------------------------------------- */

static const struct {
	const char *num;
	int bold, italic, wrap, shade;
	double size;
} fmt_spec[TB_XF_COUNT] = {
	[TB_XF_NONE] = {NULL, 0, 0, 0, 0, 0},
	[TB_XF_TITLE] = {NULL, 1, 0, 0, 0, 14},
	[TB_XF_BOLD] = {NULL, 1, 0, 0, 0, 0},
	[TB_XF_HEAD_VI] = {NULL, 1, 0, 1, 1, 0},
	[TB_XF_HEAD_EN] = {NULL, 0, 1, 1, 1, 0},
	[TB_XF_TEXT] = {NULL, 0, 0, 1, 0, 0},
	[TB_XF_INT] = {"#,##0", 0, 0, 0, 0, 0},
	[TB_XF_PCT] = {"0.00\"%\"", 0, 0, 0, 0, 0},
	[TB_XF_YEAR] = {"0", 0, 0, 0, 0, 0},
	[TB_XF_DATE] = {"dd/mm/yyyy", 0, 0, 0, 0, 0},
	[TB_XF_TIME] = {"dd/mm/yyyy hh:mm", 0, 0, 0, 0, 0},
};

static int add_formats(struct tb_xlsxw *x)
{
	for (int i = TB_XF_NONE + 1; i < TB_XF_COUNT; i++) {
		lxw_format *f = workbook_add_format(x->wb);

		if (!f)
			return TB_ENOMEM;
		if (fmt_spec[i].num)
			format_set_num_format(f, fmt_spec[i].num);
		if (fmt_spec[i].bold)
			format_set_bold(f);
		if (fmt_spec[i].italic)
			format_set_italic(f);
		if (fmt_spec[i].wrap)
			format_set_text_wrap(f);
		if (fmt_spec[i].shade) {
			format_set_bg_color(f, 0xDDEBF7);
			format_set_border(f, LXW_BORDER_THIN);
			format_set_align(f, LXW_ALIGN_VERTICAL_TOP);
		}
		if (fmt_spec[i].size > 0)
			format_set_font_size(f, fmt_spec[i].size);
		x->f[i] = f;
	}
	return TB_OK;
}

int tb_xlsxw_open(struct tb_xlsxw *x, int constant_memory)
{
	const char *dir = getenv("TMPDIR");
	lxw_workbook_options o;
	int fd, rc;

	memset(x, 0, sizeof(*x));
	if (!dir || !dir[0])
		dir = "/tmp";
	if ((size_t)snprintf(x->path, sizeof(x->path), "%s/tienbo-xlsx-XXXXXX",
			     dir) >= sizeof(x->path))
		return TB_EIO;
	fd = mkstemp(x->path);
	if (fd < 0) {
		x->path[0] = '\0';
		return TB_EIO;
	}
	close(fd);
	memset(&o, 0, sizeof(o));
	o.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE;
	o.tmpdir = (char *)dir; /* libxlsxwriter reads it only */
	x->wb = workbook_new_opt(x->path, &o);
	rc = x->wb ? add_formats(x) : TB_ENOMEM;
	if (rc < 0)
		tb_xlsxw_abort(x);
	return rc;
}

static int copy_file(const char *path, FILE *out)
{
	char buf[65536];
	FILE *in = fopen(path, "rb");
	size_t n;
	int rc = in ? TB_OK : TB_EIO;

	while (rc == TB_OK && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = TB_EIO;
	if (rc == TB_OK && ferror(in))
		rc = TB_EIO;
	if (in)
		fclose(in);
	return rc;
}

int tb_xlsxw_finish(struct tb_xlsxw *x, FILE *out)
{
	int rc = x->wb ? tb_xlsxw_err(workbook_close(x->wb)) : TB_EIO;

	x->wb = NULL; /* workbook_close frees it, written or not */
	if (rc == TB_OK)
		rc = copy_file(x->path, out);
	tb_xlsxw_abort(x);
	return rc;
}

void tb_xlsxw_abort(struct tb_xlsxw *x)
{
	if (x->wb)
		lxw_workbook_free(x->wb);
	x->wb = NULL;
	if (x->path[0])
		unlink(x->path);
	x->path[0] = '\0';
}

/* ---- sheets ---------------------------------------------------------------- */

lxw_worksheet *tb_xlsxw_sheet(struct tb_xlsxw *x, const char *name)
{
	return workbook_add_worksheet(x->wb, name);
}

static int ascii_same(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;

		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

/* Copies at most max characters of s into buf (len bytes), whole UTF-8
 * sequences only, forbidden characters as spaces, a run of spaces as
 * one. */
static void name_copy(const char *s, size_t max, char *buf, size_t len)
{
	size_t o = 0, chars = 0;

	for (; *s && chars < max; s++) {
		size_t n = 1;
		int space = *s == ' ' || strchr("[]:*?/\\", *s) != NULL;

		while ((s[n] & 0xC0) == 0x80)
			n++;
		if (o + n >= len)
			break;
		if (space && (o == 0 || buf[o - 1] == ' '))
			continue;
		if (space)
			buf[o] = ' ';
		else
			memcpy(buf + o, s, n);
		o += n;
		s += n - 1;
		chars++;
	}
	while (o > 0 && (buf[o - 1] == ' ' || buf[o - 1] == '\''))
		o--;
	buf[o] = '\0';
}

static int name_used(const char *name, const char *const *used, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (used[i] && ascii_same(name, used[i]))
			return 1;
	return 0;
}

const char *tb_xlsxw_sheet_name(const char *text, const char *fallback,
				const char *const *used, size_t nused,
				char *buf, size_t len)
{
	char base[128], tail[16];
	const char *s = text ? text : "";

	while (*s == ' ' || *s == '\'')
		s++;
	name_copy(s, TB_XLSXW_SHEETNAME_MAX, base, sizeof(base));
	if (!base[0])
		name_copy(fallback, TB_XLSXW_SHEETNAME_MAX, base, sizeof(base));
	snprintf(buf, len, "%s", base);
	for (int k = 2; name_used(buf, used, nused) && k < 10000; k++) {
		size_t tl = (size_t)snprintf(tail, sizeof(tail), " (%d)", k);

		name_copy(base, TB_XLSXW_SHEETNAME_MAX - tl, buf, len - tl);
		snprintf(buf + strlen(buf), len - strlen(buf), "%s", tail);
	}
	return buf;
}

/* ---- tables and cells ------------------------------------------------------ */

int tb_xlsxw_table(struct tb_xlsxw *x, lxw_worksheet *ws, lxw_row_t row,
		   const struct tb_xlsxw_col *cols, size_t ncols,
		   lxw_col_t freeze_cols)
{
	struct tb_xlsxw_row vi, en;
	int rc = TB_OK;

	for (size_t i = 0; rc == TB_OK && i < ncols; i++)
		rc = tb_xlsxw_err(worksheet_set_column(
			ws, (lxw_col_t)i, (lxw_col_t)i, cols[i].width, NULL));
	if (rc < 0)
		return rc;
	tb_xlsxw_row_start(&vi, x, ws, row);
	for (size_t i = 0; i < ncols; i++)
		tb_xlsxw_str(&vi, cols[i].vi, TB_XF_HEAD_VI);
	tb_xlsxw_row_start(&en, x, ws, row + 1);
	for (size_t i = 0; vi.rc == TB_OK && i < ncols; i++)
		tb_xlsxw_str(&en, cols[i].en, TB_XF_HEAD_EN);
	worksheet_freeze_panes(ws, row + 2, freeze_cols);
	return vi.rc < 0 ? vi.rc : en.rc;
}

void tb_xlsxw_row_start(struct tb_xlsxw_row *w, struct tb_xlsxw *x,
			lxw_worksheet *ws, lxw_row_t row)
{
	w->x = x;
	w->ws = ws;
	w->row = row;
	w->col = 0;
	w->rc = TB_OK;
}

void tb_xlsxw_goto(struct tb_xlsxw_row *w, lxw_row_t row)
{
	w->row = row;
	w->col = 0;
}

void tb_xlsxw_str(struct tb_xlsxw_row *w, const char *s, enum tb_xlsxw_fmt f)
{
	if (w->rc == TB_OK && s && s[0])
		w->rc = tb_xlsxw_err(worksheet_write_string(
			w->ws, w->row, w->col, s, w->x->f[f]));
	w->col++;
}

void tb_xlsxw_num(struct tb_xlsxw_row *w, int has, double v,
		  enum tb_xlsxw_fmt f)
{
	if (w->rc == TB_OK && has)
		w->rc = tb_xlsxw_err(worksheet_write_number(
			w->ws, w->row, w->col, v, w->x->f[f]));
	w->col++;
}

/* Excel's day 25569 is 1970-01-01 (the 1900 date system). */
#define EXCEL_EPOCH 25569.0

void tb_xlsxw_date(struct tb_xlsxw_row *w, int32_t day)
{
	tb_xlsxw_num(w, 1, EXCEL_EPOCH + day, TB_XF_DATE);
}

void tb_xlsxw_time(struct tb_xlsxw_row *w, int64_t t)
{
	int64_t local = t + TB_VN_UTC_OFFSET;
	int64_t day = local / 86400 - (local % 86400 < 0);

	tb_xlsxw_num(w, t != 0,
		     EXCEL_EPOCH + (double)day + (double)(local - day * 86400) /
							86400.0,
		     TB_XF_TIME);
}

void tb_xlsxw_skip(struct tb_xlsxw_row *w)
{
	w->col++;
}
