/* helper_pdf.h - a PDF read back the way a person would see it, with
 * poppler's tools (poppler-utils, scripts/deps.sh): its text laid out as
 * on the page (pdftotext -layout), its page count (pdfinfo), and its
 * pages as pictures (pdftoppm) measured for size and ink.
 *
 * Linked into every test executable; every symbol starts helper_pdf_.
 * Functions never abort: they return NULL or -1 after printing why, so
 * the calling test asserts on the result. Strings returned are malloc'd.
 */
#ifndef TB_TESTS_HELPER_PDF_H
#define TB_TESTS_HELPER_PDF_H

#include <stddef.h>

/* Runs a program (argv[0] a path, NULL-terminated) and returns its
 * stdout, or NULL if it did not exit 0 (its output is printed). */
char *helper_pdf_run(const char *const *argv);
/* pdftotext -layout -enc UTF-8 of pages first..last (first 0: all). */
char *helper_pdf_text(const char *path, int first, int last);
/* Pages, from pdfinfo; -1. */
int helper_pdf_pages(const char *path);
/* s with every run of white space (new lines too) made one space, for
 * sentences that wrap; NULL if out of memory. */
char *helper_pdf_collapse(const char *s);
/* The line of text that holds needle (a copy), or NULL. */
char *helper_pdf_line_of(const char *text, const char *needle);
/* Width and height of a PNG from its IHDR. 0 or -1. */
int helper_pdf_png_size(const char *path, long *w, long *h);
/* The share, per thousand, of pixels darker than light grey (< 200) in a
 * binary PGM (pdftoppm -gray); -1 if it is not one. */
long helper_pdf_ink_permille(const char *path);

#endif
