/* pdf.c - an A4 document drawn with cairo and Pango (see pdf.h). */
#include "server/pdf.h"

#include <cairo-pdf.h>
#include <string.h>

#include "common/err.h"

#define PAD 3.0  /* inside a table cell */
#define LINE 0.6 /* rules and cell borders */
#define MAXCOLS 8

static cairo_status_t write_cb(void *closure, const unsigned char *data,
                               unsigned int len)
{
	return fwrite(data, 1, len, (FILE *)closure) == len
	           ? CAIRO_STATUS_SUCCESS
	           : CAIRO_STATUS_WRITE_ERROR;
}

static int cairo_rc(cairo_status_t st)
{
	if (st == CAIRO_STATUS_SUCCESS)
		return TB_OK;
	return st == CAIRO_STATUS_NO_MEMORY ? TB_ENOMEM : TB_EIO;
}

int tb_pdf_open(struct tb_pdf *d, FILE *f)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->surface = cairo_pdf_surface_create_for_stream(
	    write_cb, f, TB_PDF_PAGE_W, TB_PDF_PAGE_H);
	d->cr = cairo_create(d->surface); /* an error context on failure */
	rc = cairo_rc(cairo_status(d->cr));
	if (rc < 0) {
		tb_pdf_close(d);
		return rc;
	}
	/* a font map of this document's own, released with it: Pango's
	 * default one lives as long as its thread and keeps fontconfig's
	 * font lists, which a server's workers would hold for good (and
	 * LeakSanitizer reports at exit). Loading the fonts again costs a
	 * few milliseconds per document. */
	d->fm = pango_cairo_font_map_new();
	d->pc = pango_font_map_create_context(d->fm);
	pango_cairo_update_context(d->cr, d->pc);
	pango_cairo_context_set_resolution(d->pc, 72.0);
	/* glyphs where the font puts them, not on whole device units: the
	 * PDF is scaled by whoever shows or prints it */
	pango_context_set_round_glyph_positions(d->pc, FALSE);
	d->page = 1;
	d->y = TB_PDF_TOP;
	return TB_OK;
}

void tb_pdf_meta(struct tb_pdf *d, const char *title, const char *subject,
                 const char *created)
{
	cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_TITLE,
	                               title);
	cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_SUBJECT,
	                               subject);
	cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_CREATOR,
	                               "tienbo");
	cairo_pdf_surface_set_metadata(d->surface,
	                               CAIRO_PDF_METADATA_CREATE_DATE, created);
}

int tb_pdf_close(struct tb_pdf *d)
{
	int rc = d->cr ? cairo_rc(cairo_status(d->cr)) : TB_EIO;

	if (d->pc)
		g_object_unref(d->pc);
	if (d->fm)
		g_object_unref(d->fm);
	cairo_destroy(d->cr);
	if (d->surface) {
		cairo_surface_finish(d->surface); /* writes the PDF's tail */
		if (rc == TB_OK)
			rc = cairo_rc(cairo_surface_status(d->surface));
		cairo_surface_destroy(d->surface);
	}
	memset(d, 0, sizeof(*d));
	return rc;
}

/* ---- text ---------------------------------------------------------------- */

PangoLayout *tb_pdf_text(struct tb_pdf *d, const char *s, double size,
                         int flags, double width, PangoAlignment al)
{
	PangoLayout *l = pango_layout_new(d->pc);
	PangoFontDescription *fd =
	    pango_font_description_from_string(TB_PDF_FAMILY);
	gchar *valid = g_utf8_make_valid(s, -1);
	gchar *nfc = g_utf8_normalize(valid, -1, G_NORMALIZE_NFC);

	pango_font_description_set_size(fd, (gint)(size * PANGO_SCALE));
	if (flags & TB_PDF_BOLD)
		pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
	if (flags & TB_PDF_ITALIC)
		pango_font_description_set_style(fd, PANGO_STYLE_ITALIC);
	pango_layout_set_font_description(l, fd);
	pango_layout_set_width(l, width < 0 ? -1 : (int)(width * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_alignment(l, al);
	pango_layout_set_text(l, nfc ? nfc : valid, -1);
	pango_font_description_free(fd);
	g_free(nfc);
	g_free(valid);
	return l;
}

double tb_pdf_height(PangoLayout *l)
{
	int w, h;

	pango_layout_get_size(l, &w, &h);
	return (double)h / PANGO_SCALE;
}

double tb_pdf_put(struct tb_pdf *d, PangoLayout *l, double x, double y)
{
	double h = tb_pdf_height(l);

	cairo_move_to(d->cr, x, y);
	pango_cairo_show_layout(d->cr, l);
	g_object_unref(l);
	return h;
}

double tb_pdf_text_at(struct tb_pdf *d, const char *s, double size, int flags,
                      double x, double y, double width, PangoAlignment al)
{
	return tb_pdf_put(d, tb_pdf_text(d, s, size, flags, width, al), x, y);
}

double tb_pdf_upper_at(struct tb_pdf *d, const char *s, double size, int flags,
                       double x, double y, double width)
{
	gchar *up = g_utf8_strup(s, -1);
	double h =
	    tb_pdf_text_at(d, up, size, flags, x, y, width, PANGO_ALIGN_CENTER);

	g_free(up);
	return h;
}

void tb_pdf_rule(struct tb_pdf *d, double x0, double x1, double y)
{
	cairo_set_line_width(d->cr, LINE);
	cairo_move_to(d->cr, x0, y);
	cairo_line_to(d->cr, x1, y);
	cairo_stroke(d->cr);
}

/* ---- pages --------------------------------------------------------------- */

/* Ends the page and begins the next, numbered at the top centre (ND 30:
 * from page 2 on, in the top margin). */
static void page_new(struct tb_pdf *d)
{
	char n[16];

	cairo_show_page(d->cr);
	d->page++;
	d->y = TB_PDF_TOP;
	snprintf(n, sizeof(n), "%d", d->page);
	tb_pdf_text_at(d, n, TB_PDF_BODY, TB_PDF_REG, TB_PDF_LEFT,
	               TB_PDF_MM(9.0), TB_PDF_TEXT_W, PANGO_ALIGN_CENTER);
}

int tb_pdf_need(struct tb_pdf *d, double h)
{
	if (d->y + h <= TB_PDF_PAGE_H - TB_PDF_BOTTOM ||
	    d->y <= TB_PDF_TOP + 0.5)
		return 0;
	page_new(d);
	return 1;
}

void tb_pdf_para(struct tb_pdf *d, const char *s, double size, int flags,
                 double indent, PangoAlignment al, double after)
{
	PangoLayout *l = tb_pdf_text(d, s, size, flags, TB_PDF_TEXT_W, al);

	pango_layout_set_indent(l, (int)(indent * PANGO_SCALE));
	pango_layout_set_justify(l, al == PANGO_ALIGN_LEFT);
	tb_pdf_need(d, tb_pdf_height(l));
	d->y += tb_pdf_put(d, l, TB_PDF_LEFT, d->y) + after;
}

/* ---- tables -------------------------------------------------------------- */

/* Draws the cells l[0..n) as one row of height h at d->y (frees them). */
static void row_put(struct tb_pdf *d, const struct tb_pdf_col *c, size_t n,
                    PangoLayout **l, double h)
{
	double x = TB_PDF_LEFT;

	cairo_set_line_width(d->cr, LINE);
	for (size_t i = 0; i < n; i++) {
		cairo_rectangle(d->cr, x, d->y, c[i].w, h);
		cairo_stroke(d->cr);
		tb_pdf_put(d, l[i], x + PAD, d->y + PAD);
		x += c[i].w;
	}
	d->y += h;
}

static void table_head(struct tb_pdf *d, const struct tb_pdf_col *c, size_t n)
{
	PangoLayout *l[MAXCOLS];
	double h = 0;

	for (size_t i = 0; i < n; i++) {
		l[i] = tb_pdf_text(d, c[i].head, TB_PDF_SMALL, TB_PDF_BOLD,
		                   c[i].w - 2 * PAD, PANGO_ALIGN_CENTER);
		if (tb_pdf_height(l[i]) > h)
			h = tb_pdf_height(l[i]);
	}
	row_put(d, c, n, l, h + 2 * PAD);
}

void tb_pdf_table_begin(struct tb_pdf *d, const struct tb_pdf_col *c, size_t n,
                        double min_below)
{
	if (n > MAXCOLS)
		n = MAXCOLS;
	tb_pdf_need(d, TB_PDF_MM(10.0) + min_below);
	table_head(d, c, n);
}

/* The first `bytes` bytes of l in bold. */
static void bold_prefix(PangoLayout *l, size_t bytes)
{
	PangoAttrList *a = pango_attr_list_new();
	PangoAttribute *b = pango_attr_weight_new(PANGO_WEIGHT_BOLD);

	b->start_index = 0;
	b->end_index = (guint)bytes;
	pango_attr_list_insert(a, b); /* a owns b */
	pango_layout_set_attributes(l, a);
	pango_attr_list_unref(a);
}

void tb_pdf_table_row(struct tb_pdf *d, const struct tb_pdf_col *c, size_t n,
                      const char *const *cells, const size_t *bold)
{
	PangoLayout *l[MAXCOLS];
	double h = 0;

	if (n > MAXCOLS)
		n = MAXCOLS;
	for (size_t i = 0; i < n; i++) {
		l[i] = tb_pdf_text(d, cells[i], TB_PDF_SMALL, TB_PDF_REG,
		                   c[i].w - 2 * PAD, c[i].al);
		if (bold && bold[i])
			bold_prefix(l[i], bold[i]);
		if (tb_pdf_height(l[i]) > h)
			h = tb_pdf_height(l[i]);
	}
	if (tb_pdf_need(d, h + 2 * PAD))
		table_head(d, c, n);
	row_put(d, c, n, l, h + 2 * PAD);
}

/* LeakSanitizer, in -fsanitize=address builds only: fontconfig keeps a
 * pattern's element array as an offset from the pattern (elts_offset of
 * struct _FcPattern in its fcint.h), not as a pointer, so the patterns of
 * the configuration it loads once per process (Debian's 70-no-bitmaps.conf
 * rejects fonts with one: 256 + 32 bytes) look unreferenced at exit,
 * although the configuration holds them until the process ends. The
 * stacks LSan keeps stop inside libfontconfig (no frame pointers), so the
 * suppression names the library: blocks fontconfig allocated itself.
 * What cairo, Pango, GLib and tienbo allocate is still checked: a font
 * map or a layout left unfreed is reported (tried: either fails
 * test_report_pdf under ASan, which runs with G_SLICE=always-malloc so
 * that GLib's slab allocator does not keep every GObject reachable). */
#if defined(__SANITIZE_ADDRESS__)
#define TB_PDF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TB_PDF_ASAN 1
#endif
#endif
#ifdef TB_PDF_ASAN
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): the name LeakSanitizer calls */
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}
#endif
