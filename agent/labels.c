/* labels.c - the labels shown to this agent's user (labels.h): the
 * Vietnamese names of common/labels.c when the interface is Vietnamese,
 * the English option names otherwise.
 */
#include "agent/labels.h"

#include <stdio.h>
#include <string.h>

#include "agent/i18n.h"

const char *tb_field_label(const struct tb_field *f)
{
	const char *vi = tb_i18n_is_vi() ? tb_label_field_vi(f->name) : NULL;

	return vi ? vi : f->option;
}

const char *tb_kind_label(enum tb_kind kind)
{
	const char *vi = tb_i18n_is_vi() ? tb_label_kind_vi(kind) : NULL;

	return vi ? vi : tb_kind_name(kind);
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

void tb_label_msg(char *msg, size_t len)
{
	char out[1024];
	const char *p = msg, *vi;
	size_t used = 0, n;
	char word[64];

	if (!tb_i18n_is_vi())
		return;
	while (*p && used + 1 < sizeof(out)) {
		if (name_char(*p) && (p == msg || !name_char(p[-1]))) {
			for (n = 0; name_char(p[n]); n++)
				;
			vi = NULL;
			if (n < sizeof(word)) {
				memcpy(word, p, n);
				word[n] = '\0';
				vi = strcmp(word, "date") == 0
					     ? TB_LABEL_DATE
					     : tb_label_field_vi(word);
			}
			if (vi && used + strlen(vi) + 1 < sizeof(out)) {
				memcpy(out + used, vi, strlen(vi));
				used += strlen(vi);
				p += n;
				continue;
			}
			n = n < sizeof(out) - 1 - used ? n : sizeof(out) - 1 - used;
			memcpy(out + used, p, n);
			used += n;
			p += n;
			continue;
		}
		out[used++] = *p++;
	}
	out[used] = '\0';
	snprintf(msg, len, "%s", out);
}
