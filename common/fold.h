/* fold.h - text folded for searching by people who type without
 * diacritics: "Huyện Đà Bắc" and "huyen da bac" fold to the same
 * "huyen da bac".
 *
 * Called by the dashboard's unit search (server/report_search.c). The
 * folding: Unicode canonical decomposition (libunistring), combining marks
 * (U+0300..U+036F) dropped, đ and Đ read as d, letters lower-cased, runs
 * of white space made one space, and leading and trailing space dropped.
 * Not UTF-8: folded byte by byte as ASCII, never refused (a search only
 * fails to match).
 */
#ifndef TB_COMMON_FOLD_H
#define TB_COMMON_FOLD_H

/* The folded text, tb_malloc'd (the caller tb_frees it); NULL on
 * TB_ENOMEM. */
char *tb_fold_search(const char *s);
/* 1 if folded needle (already folded) occurs in hay once folded; 0 if not
 * or out of memory. */
int tb_fold_contains(const char *hay, const char *folded_needle);

#endif
