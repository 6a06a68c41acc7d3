/* man.c - the roff writer of man.h: escaping and the few macros the two
 * manual pages use (.TH .SH .SS .PP .TP .B .I .nf .fi).
 */
#include "common/man.h"

#include <string.h>

/* Writes n bytes of s escaped for roff. bol: s starts a line. */
static void put_escaped(FILE *f, const char *s, size_t n, int bol)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (bol && (c == '.' || c == '\''))
			fputs("\\&", f);
		bol = 0;
		if (c == '\\')
			fputs("\\e", f);
		else if (c == '-')
			fputs("\\-", f);
		else if (c == '\n') {
			fputc('\n', f);
			bol = 1;
		} else
			fputc(c, f);
	}
}

static void put_line(FILE *f, const char *s)
{
	put_escaped(f, s, strlen(s), 1);
	fputc('\n', f);
}

void tb_man_head(FILE *f, const char *title, const char *name,
		 const char *version, const char *summary)
{
	fprintf(f, ".TH %s 1 \"\" \"tienbo %s\" \"tienbo manual\"\n", title,
		version);
	tb_man_section(f, "NAME");
	put_escaped(f, name, strlen(name), 1);
	fputs(" \\- ", f);
	put_line(f, summary);
}

void tb_man_section(FILE *f, const char *title)
{
	fputs(".SH \"", f);
	put_escaped(f, title, strlen(title), 0);
	fputs("\"\n", f);
}

void tb_man_subsection(FILE *f, const char *title)
{
	fputs(".SS \"", f);
	put_escaped(f, title, strlen(title), 0);
	fputs("\"\n", f);
}

void tb_man_text(FILE *f, const char *text)
{
	const char *p = text;
	int para = 1, bol = 1;

	while (*p) {
		if (p[0] == '\n' && p[1] == '\n') {
			while (*p == '\n')
				p++;
			para = 1;
			continue;
		}
		if (para) {
			fputs(bol ? ".PP\n" : "\n.PP\n", f);
			para = 0;
			bol = 1;
		}
		if (*p == '\n') {
			fputc('\n', f);
			bol = 1;
			p++;
			continue;
		}
		if (bol)
			while (*p == ' ' || *p == '\t')
				p++;
		if (!*p || *p == '\n')
			continue;
		put_escaped(f, p, 1, bol);
		bol = 0;
		p++;
	}
	if (!bol)
		fputc('\n', f);
}

void tb_man_item(FILE *f, const char *tag, const char *text)
{
	const char *sp = strrchr(tag, ' ');

	if (sp && sp[1] == '-')
		sp = NULL; /* "-q, --quiet": no argument */
	fputs(".TP\n\\fB", f);
	put_escaped(f, tag, sp ? (size_t)(sp - tag) : strlen(tag), 0);
	fputs("\\fR", f);
	if (sp) {
		fputs(" \\fI", f);
		put_escaped(f, sp + 1, strlen(sp + 1), 0);
		fputs("\\fR", f);
	}
	fputc('\n', f);
	put_line(f, text);
}

void tb_man_verbatim(FILE *f, const char *text)
{
	fputs(".PP\n.nf\n", f);
	put_escaped(f, text, strlen(text), 1);
	if (text[0] && text[strlen(text) - 1] != '\n')
		fputc('\n', f);
	fputs(".fi\n", f);
}
