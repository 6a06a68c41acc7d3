/* pdf.h - an A4 document drawn top to bottom with cairo and Pango: pages
 * with the margins of a Vietnamese administrative document (Nghị định
 * 30/2020/NĐ-CP: top 20, bottom 20, left 30, right 15 mm) numbered at the
 * top centre from page 2 on, paragraphs, rules, and tables whose header
 * repeats on every page and whose rows are never split.
 *
 * Called by server/report_pdf.c, which says what goes on the pages.
 * Units are points (1/72 in); Pango runs at 72 dpi, so a font size in
 * points is the size on paper. d->y is where the next block starts; a
 * block that does not fit above the bottom margin starts a new page.
 * Every string is made valid UTF-8 and NFC before Pango shapes it, so
 * what pdftotext reads back is the same NFC text. Fonts: FAMILY below,
 * chosen by fontconfig from the system cache (no writable HOME needed),
 * embedded as subsets.
 *
 * Errors: cairo's are sticky and read once, by tb_pdf_close; GLib
 * aborts when its memory runs out, so drawing calls return nothing.
 */
#ifndef TB_SERVER_PDF_H
#define TB_SERVER_PDF_H

#include <stdio.h>

#include <cairo.h>
#include <pango/pangocairo.h>

#define TB_PDF_MM(x) ((x)*72.0 / 25.4)
#define TB_PDF_PAGE_W TB_PDF_MM(210.0)
#define TB_PDF_PAGE_H TB_PDF_MM(297.0)
#define TB_PDF_TOP TB_PDF_MM(20.0)
#define TB_PDF_BOTTOM TB_PDF_MM(20.0)
#define TB_PDF_LEFT TB_PDF_MM(30.0)
#define TB_PDF_RIGHT TB_PDF_MM(15.0)
#define TB_PDF_TEXT_W (TB_PDF_PAGE_W - TB_PDF_LEFT - TB_PDF_RIGHT)
/* Liberation Serif is Times-metric (fonts-liberation2) and covers
 * Vietnamese in regular, bold and italic; DejaVu Serif if it is absent. */
#define TB_PDF_FAMILY "Liberation Serif, DejaVu Serif, serif"
#define TB_PDF_BODY 13.0  /* ND 30: 13-14 pt */
#define TB_PDF_SMALL 11.0 /* tables */

enum { TB_PDF_REG = 0, TB_PDF_BOLD = 1, TB_PDF_ITALIC = 2 };

struct tb_pdf {
	cairo_surface_t *surface;
	cairo_t *cr;
	PangoFontMap *fm; /* the document's own */
	PangoContext *pc;
	double y; /* top of the next block */
	int page; /* pages begun */
};

/* A table column: header text, width, alignment of its cells. */
struct tb_pdf_col {
	const char *head;
	double w;
	PangoAlignment al;
};

/* Starts a document written to f (borrowed, left open) with its first
 * page begun. 0, TB_ENOMEM or TB_EIO; on failure d is closed. */
int tb_pdf_open(struct tb_pdf *d, FILE *f);
/* Metadata: creator "tienbo", title, subject, creation date (ISO 8601
 * with offset). Strings copied. */
void tb_pdf_meta(struct tb_pdf *d, const char *title, const char *subject,
                 const char *created);
/* Ends the last page, writes the PDF's tail, frees d. 0, TB_ENOMEM or
 * TB_EIO (f refused a write, or any drawing call before failed). */
int tb_pdf_close(struct tb_pdf *d);

/* A layout of s (any bytes) size pt, wrapped in width points (< 0: not
 * wrapped). Free with g_object_unref, or draw it with tb_pdf_put. */
PangoLayout *tb_pdf_text(struct tb_pdf *d, const char *s, double size,
                         int flags, double width, PangoAlignment al);
double tb_pdf_height(PangoLayout *l);
/* Draws l with its top left at (x, y) and frees it; its height. */
double tb_pdf_put(struct tb_pdf *d, PangoLayout *l, double x, double y);
/* tb_pdf_text, then tb_pdf_put; its height. */
double tb_pdf_text_at(struct tb_pdf *d, const char *s, double size, int flags,
                      double x, double y, double width, PangoAlignment al);
/* s in uppercase (Vietnamese too: "Lạc Sơn" -> "LẠC SƠN"), centred. */
double tb_pdf_upper_at(struct tb_pdf *d, const char *s, double size, int flags,
                       double x, double y, double width);
/* A horizontal line from x0 to x1 at y. */
void tb_pdf_rule(struct tb_pdf *d, double x0, double x1, double y);

/* A new page unless h points still fit on this one (or it is empty);
 * 1 if a page was begun. */
int tb_pdf_need(struct tb_pdf *d, double h);
/* A paragraph across the text width at d->y (first line indented by
 * indent, justified when al is LEFT), then `after` points of space. */
void tb_pdf_para(struct tb_pdf *d, const char *s, double size, int flags,
                 double indent, PangoAlignment al, double after);

/* A table's header row, with room for at least min_below points of rows
 * under it on the same page. */
void tb_pdf_table_begin(struct tb_pdf *d, const struct tb_pdf_col *c, size_t n,
                        double min_below);
/* One row of n cells (at most 8), cells[i] in column i with its first
 * bold[i] bytes in bold (bold may be NULL). A row that does not fit goes
 * whole to a new page, under the header again. */
void tb_pdf_table_row(struct tb_pdf *d, const struct tb_pdf_col *c, size_t n,
                      const char *const *cells, const size_t *bold);

#endif
