/* buf.c - the growable byte buffer (see buf.h). Capacity doubles from
 * BUF_MIN, so appending n bytes one at a time costs O(n). */
#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"

#define BUF_MIN 256

int tb_buf_reserve(struct tb_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (n >= SIZE_MAX / 2 - b->len)
		return TB_ENOMEM;
	if (b->len + n + 1 <= b->cap)
		return TB_OK;
	cap = b->cap ? b->cap : BUF_MIN;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = tb_realloc(b->p, cap);
	if (!p)
		return TB_ENOMEM;
	if (!b->p)
		p[0] = '\0';
	b->p = p;
	b->cap = cap;
	return TB_OK;
}

int tb_buf_add(struct tb_buf *b, const void *data, size_t n)
{
	if (tb_buf_reserve(b, n) != TB_OK)
		return TB_ENOMEM;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return TB_OK;
}

int tb_buf_puts(struct tb_buf *b, const char *s)
{
	return tb_buf_add(b, s, strlen(s));
}

int tb_buf_putc(struct tb_buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
		return TB_OK;
	}
	return tb_buf_add(b, &c, 1);
}

int tb_buf_put_i64(struct tb_buf *b, long long v)
{
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--n] = '-';
	return tb_buf_add(b, tmp + n, sizeof(tmp) - n);
}

int tb_buf_vprintf(struct tb_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
		      fmt, ap);
	if (n >= 0 && b->p && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		va_end(again);
		return TB_OK;
	}
	if (n < 0 || tb_buf_reserve(b, (size_t)n) != TB_OK) {
		if (b->p)
			b->p[b->len] = '\0'; /* undo a partial write */
		va_end(again);
		return n < 0 ? TB_EINVAL : TB_ENOMEM;
	}
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
	va_end(again);
	b->len += (size_t)n;
	return TB_OK;
}

int tb_buf_printf(struct tb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tb_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void tb_buf_reset(struct tb_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

char *tb_buf_detach(struct tb_buf *b, size_t *len)
{
	char *p;

	if (!b->p && tb_buf_reserve(b, 0) != TB_OK)
		return NULL;
	p = b->p;
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void tb_buf_free(struct tb_buf *b)
{
	if (!b)
		return;
	tb_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

const char *tb_size_text(uint64_t n, char *buf, size_t len)
{
	double kb = (double)n / 1024.0;

	if (n < 1024)
		snprintf(buf, len, _("%u bytes"), (unsigned)n);
	else if (kb < 10)
		snprintf(buf, len, "%.1f KB", kb);
	else if (kb < 1024)
		snprintf(buf, len, "%.0f KB", kb);
	else
		snprintf(buf, len, "%.1f MB", kb / 1024.0);
	return buf;
}
