/* utf8.c - strict UTF-8 decoding (see utf8.h). Used by event.c (text
 * fields) and config.c (configuration lines); allocates nothing. */
#include "common/utf8.h"

size_t tb_utf8_next(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, c &= 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, c &= 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

int tb_utf8_valid(const char *s)
{
	uint32_t cp;
	size_t n;

	while (*s) {
		n = tb_utf8_next(s, &cp);
		if (n == 0)
			return 0;
		s += n;
	}
	return 1;
}
