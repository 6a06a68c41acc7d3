/* utf8.h - strict UTF-8 decoding (RFC 3629), shared by the event model's
 * text rule and the configuration reader.
 *
 * Strict means: no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF),
 * nothing above U+10FFFF, no truncated or stray continuation bytes. The
 * input is NUL-terminated; a NUL ends the string and is never part of a
 * sequence.
 */
#ifndef TB_COMMON_UTF8_H
#define TB_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s: returns its length (1-4) and sets *cp, or
 * returns 0 if it is malformed. s must not point at the terminating NUL. */
size_t tb_utf8_next(const char *s, uint32_t *cp);
/* 1 if the whole NUL-terminated string is well-formed UTF-8. */
int tb_utf8_valid(const char *s);

#endif
