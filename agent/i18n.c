/* i18n.c - binding the gettext catalog (i18n.h). */
#include "agent/i18n.h"

#include <limits.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/i18n.h"

#ifndef TB_LOCALEDIR
#define TB_LOCALEDIR "/usr/share/locale"
#endif

void tb_i18n_init(void)
{
	char dir[PATH_MAX];
	ssize_t n;
	char *slash;
	struct stat st;

	setlocale(LC_MESSAGES, "");
	setlocale(LC_CTYPE, "");
	setlocale(LC_TIME, "");
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 8);
	if (n > 0) {
		dir[n] = '\0';
		slash = strrchr(dir, '/');
		if (slash) {
			memcpy(slash + 1, "locale", 7);
			if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
				n = -1;
		}
	}
	bindtextdomain(TB_TEXT_DOMAIN, n > 0 ? dir : TB_LOCALEDIR);
	bind_textdomain_codeset(TB_TEXT_DOMAIN, "UTF-8");
}

int tb_i18n_is_vi(void)
{
	/* TRANSLATORS: your language's code (ISO 639), used to choose the
	 * labels of fields and kinds. */
	return strcmp(_("en"), "vi") == 0;
}
