/* man.h - manual pages in roff (the man(7) macros), written by both
 * binaries from the tables their --help comes from, so the pages cannot
 * drift from the options: `tienbo-server --man`, `tienbo-agent --man`
 * (hidden; run at build time by cmake/install.cmake to make the .1 files).
 *
 * The writer escapes what roff would read as markup: a backslash, a
 * leading '.' or '\'', and '-' (written \- so options copy and paste as
 * ASCII hyphens). Text is UTF-8 (man-db runs preconv). Each function
 * writes to f and returns nothing: a short write shows up in ferror(f),
 * which the caller checks once at the end.
 */
#ifndef TB_COMMON_MAN_H
#define TB_COMMON_MAN_H

#include <stdio.h>

/* .TH and NAME: "name \- summary". title is the page name in capitals
 * ("TIENBO-SERVER"); version goes into the footer. No date, so the page
 * is the same on every build (reproducible packages). */
void tb_man_head(FILE *f, const char *title, const char *name,
		 const char *version, const char *summary);
/* A section (.SH) or subsection (.SS) heading. */
void tb_man_section(FILE *f, const char *title);
void tb_man_subsection(FILE *f, const char *title);
/* Running text: each "\n\n" starts a new paragraph; single newlines are
 * spaces; leading blanks of a line are dropped. */
void tb_man_text(FILE *f, const char *text);
/* A tagged paragraph (.TP): tag in bold (an option with its argument,
 * "--db FILE": the last word, unless it starts with '-', is set in
 * italics), text below. */
void tb_man_item(FILE *f, const char *tag, const char *text);
/* Text kept as it is, line by line, in a no-fill block (.nf/.fi). */
void tb_man_verbatim(FILE *f, const char *text);

#endif
