/* helper_pdf.c - reading a PDF back with poppler (see helper_pdf.h). */
#include "tests/helper_pdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helper_proc.h"

char *helper_pdf_run(const char *const *argv)
{
	struct helper_proc_result r;
	char *out = NULL;

	if (helper_proc_run(argv, NULL, &r) == 0 &&
	    helper_proc_exited_with(&r, 0)) {
		out = r.out;
		r.out = NULL;
	} else {
		fprintf(stderr, "helper_pdf: %s failed\n", argv[0]);
	}
	helper_proc_free(&r);
	return out;
}

char *helper_pdf_text(const char *path, int first, int last)
{
	char f[16], l[16];
	const char *all[] = {"/usr/bin/pdftotext", "-layout", "-enc", "UTF-8",
			     path, "-", NULL};
	const char *some[] = {"/usr/bin/pdftotext", "-layout", "-enc", "UTF-8",
			      "-f", f, "-l", l, path, "-", NULL};

	snprintf(f, sizeof(f), "%d", first);
	snprintf(l, sizeof(l), "%d", last);
	return helper_pdf_run(first ? some : all);
}

int helper_pdf_pages(const char *path)
{
	const char *argv[] = {"/usr/bin/pdfinfo", path, NULL};
	char *info = helper_pdf_run(argv), *p;
	int n = -1;

	if (info && (p = strstr(info, "\nPages:")) != NULL)
		n = (int)strtol(p + 7, NULL, 10);
	free(info);
	return n;
}

char *helper_pdf_collapse(const char *s)
{
	char *o = malloc(strlen(s) + 1), *w = o;

	if (!o)
		return NULL;
	for (; *s; s++) {
		int sp = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\f';

		if (sp && (w == o || w[-1] == ' '))
			continue;
		*w++ = sp ? ' ' : *s;
	}
	*w = '\0';
	return o;
}

char *helper_pdf_line_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle), *b, *e;

	if (!p)
		return NULL;
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	return strndup(b, e ? (size_t)(e - b) : strlen(b));
}

int helper_pdf_png_size(const char *path, long *w, long *h)
{
	size_t len = 0;
	unsigned char *b = (unsigned char *)helper_proc_read_file(path, &len);
	int rc = -1;

	if (b && len > 24 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
		*w = (long)b[16] << 24 | (long)b[17] << 16 | (long)b[18] << 8 |
		     b[19];
		*h = (long)b[20] << 24 | (long)b[21] << 16 | (long)b[22] << 8 |
		     b[23];
		rc = 0;
	} else {
		fprintf(stderr, "helper_pdf: %s is not a PNG\n", path);
	}
	free(b);
	return rc;
}

/* The next decimal number of a PGM header at *at (white space first). */
static long pgm_field(const char *b, size_t len, size_t *at)
{
	long v = 0;

	while (*at < len && (b[*at] == ' ' || b[*at] == '\n'))
		(*at)++;
	for (; *at < len && b[*at] >= '0' && b[*at] <= '9'; (*at)++)
		v = v * 10 + (b[*at] - '0');
	return v;
}

long helper_pdf_ink_permille(const char *path)
{
	size_t len = 0, at = 2, n, dark = 0;
	char *b = helper_proc_read_file(path, &len);
	long w, h, ink = -1;

	if (!b || len < 2 || b[0] != 'P' || b[1] != '5') {
		fprintf(stderr, "helper_pdf: %s is not a binary PGM\n", path);
		free(b);
		return -1;
	}
	w = pgm_field(b, len, &at);
	h = pgm_field(b, len, &at);
	(void)pgm_field(b, len, &at); /* maxval: 255 */
	at++;                         /* one white space before the pixels */
	n = (size_t)w * (size_t)h;
	if (n > 0 && at + n <= len) {
		for (size_t i = 0; i < n; i++)
			dark += (unsigned char)b[at + i] < 200;
		ink = (long)(dark * 1000 / n);
	}
	free(b);
	return ink;
}
