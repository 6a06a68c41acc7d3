/* i18n.h - the agent's messages in the clerk's language (GNU gettext).
 *
 * English is the source language and the fallback. Every user-facing
 * string is written _("...") where it is used, or N_("...") in a static
 * table and passed through _() when shown; po/tienbo.pot is extracted
 * from these marks and po/vi.po translates them (tests/test_i18n.c fails
 * when one is missing). Text domain "tienbo"; tb_i18n_init (agent/cli.c)
 * binds it and takes the language from the locale (LANGUAGE, LC_ALL,
 * LC_MESSAGES, LANG). A program that never calls it (the server, whose
 * messages are the documented API) gets the English msgid back.
 */
#ifndef TB_COMMON_I18N_H
#define TB_COMMON_I18N_H

#include <libintl.h>

#define TB_TEXT_DOMAIN "tienbo"

#define _(s) dgettext(TB_TEXT_DOMAIN, s)
#define N_(s) s
/* singular/plural by count n */
#define P_(s, p, n) dngettext(TB_TEXT_DOMAIN, s, p, (unsigned long)(n))

#endif
