/* i18n.c - binding the gettext catalog (i18n.h). */
#include "agent/i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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

const char *tb_i18n_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* TRANSLATORS: a date and time for strftime: %Y year, %m month,
	 * %d day, %H:%M hours and minutes, %Z the time zone (+07). */
	/* xgettext:no-c-format */
	if (!localtime_r(&tt, &tm) ||
	    strftime(buf, len, _("%Y-%m-%d %H:%M %Z"), &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}
