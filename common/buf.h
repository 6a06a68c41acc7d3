/* buf.h - the one growable byte buffer of tienbo.
 *
 * Used wherever bytes are gathered whose length is not known in advance:
 * the agent's batch bodies (protocol/batch.c), the fields JSON of a store
 * row, HTTP reply bodies (agent/http.c), the roll-up SQL (server/rollup*). Memory comes from tb_malloc /
 * tb_realloc, so allocation-failure tests reach it.
 *
 * Guarantees: after any successful call, p[len] == '\0' (the bytes are
 * always a C string too, though they may hold NULs); a failed call leaves
 * the buffer exactly as it was (TB_ENOMEM). A zeroed struct is an empty
 * buffer (TB_BUF_INIT); tb_buf_free accepts NULL and an empty buffer.
 * The buffer owns p; tb_buf_detach hands it over.
 */
#ifndef TB_COMMON_BUF_H
#define TB_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct tb_buf {
	char *p;    /* NULL until the first byte, else NUL-terminated */
	size_t len; /* bytes held, without the NUL */
	size_t cap; /* bytes allocated */
};

#define TB_BUF_INIT { NULL, 0, 0 }

/* Makes room for n more bytes (and the NUL). 0 or TB_ENOMEM. */
int tb_buf_reserve(struct tb_buf *b, size_t n);
/* Appends n bytes of data. 0 or TB_ENOMEM (b unchanged). */
int tb_buf_add(struct tb_buf *b, const void *data, size_t n);
/* Appends a C string. */
int tb_buf_puts(struct tb_buf *b, const char *s);
/* Appends one byte. */
int tb_buf_putc(struct tb_buf *b, char c);
/* Appends the decimal digits of v. */
int tb_buf_put_i64(struct tb_buf *b, long long v);
/* Appends printf-formatted text. 0 or TB_ENOMEM (b unchanged); an
 * encoding error of vsnprintf is TB_EINVAL. */
int tb_buf_printf(struct tb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int tb_buf_vprintf(struct tb_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Empties b, keeping its memory for reuse. */
void tb_buf_reset(struct tb_buf *b);
/* Hands p to the caller (who tb_free's it) and leaves b empty. Returns a
 * valid "" (allocated) for an empty buffer, NULL on TB_ENOMEM. */
char *tb_buf_detach(struct tb_buf *b, size_t *len);
/* Frees what b holds; b is left empty. Accepts NULL. */
void tb_buf_free(struct tb_buf *b);

/* A byte count for people: "512 bytes", "4.1 KB", "22 KB", "1.5 MB"
 * (1 KB = 1024 bytes). Returns buf. */
const char *tb_size_text(uint64_t n, char *buf, size_t len);

#endif
