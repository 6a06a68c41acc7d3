/* fold.c - text folded for searching without diacritics (see fold.h). */
#include "common/fold.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>
#include <unistr.h>

#include "common/mem.h"

/* Appends code point c, folded, to out (at least 4 bytes free); *space:
 * the last byte written was a space. */
static size_t fold_cp(ucs4_t c, uint8_t *out, int *space)
{
	int n;

	if (c >= 0x300 && c <= 0x36f) /* a combining mark */
		return 0;
	if (c == 0x111 || c == 0x110) /* đ Đ */
		c = 'd';
	if (c < 0x80 && c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xa0) {
		if (*space)
			return 0;
		*space = 1;
		out[0] = ' ';
		return 1;
	}
	*space = 0;
	n = u8_uctomb(out, c, 4);
	return n > 0 ? (size_t)n : 0;
}

char *tb_fold_search(const char *s)
{
	size_t n = 0, len = strlen(s), o = 0;
	uint8_t *d = u8_normalize(UNINORM_NFD, (const uint8_t *)s, len, NULL,
				  &n);
	const uint8_t *p, *end;
	char *out;
	int space = 1; /* drops leading space */

	if (!d) { /* not UTF-8: ASCII folding of the bytes */
		d = malloc(len ? len : 1);
		if (!d)
			return NULL;
		memcpy(d, s, len);
		n = len;
	}
	out = tb_malloc(n * 4 + 1);
	for (p = d, end = d + n; out && p < end;) {
		ucs4_t c;
		int k = u8_mbtouc(&c, p, (size_t)(end - p));

		o += fold_cp(c, (uint8_t *)out + o, &space);
		p += k > 0 ? k : 1;
	}
	free(d); /* libunistring's, from malloc */
	if (!out)
		return NULL;
	if (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

int tb_fold_contains(const char *hay, const char *folded_needle)
{
	char *h = tb_fold_search(hay);
	int found = h && strstr(h, folded_needle) != NULL;

	tb_free(h);
	return found;
}
