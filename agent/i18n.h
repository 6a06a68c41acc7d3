/* i18n.h - the agent's language: binding the gettext catalog.
 *
 * tb_i18n_init is the first thing tb_cli_main does. It takes the language
 * from the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG; vi_VN.UTF-8 gives
 * Vietnamese, anything without a catalog English) and finds the catalog
 * beside the binary (<dir of the executable>/locale, the build tree) or
 * where it is installed (TB_LOCALEDIR). Only LC_MESSAGES, LC_CTYPE and
 * LC_TIME follow the locale: numbers on the wire and in JSON stay C.
 */
#ifndef TB_AGENT_I18N_H
#define TB_AGENT_I18N_H

#include <stddef.h>
#include <stdint.h>

void tb_i18n_init(void);
/* 1 when messages come out in Vietnamese (the catalog is bound and the
 * locale asks for it), so labels can follow. */
int tb_i18n_is_vi(void);

/* t (UTC seconds) in this machine's time zone, for people: "2025-11-20
 * 14:16 +07", in Vietnamese "20/11/2025 14:16 +07" (the catalog's
 * strftime format). The store, the wire and --json keep UTC. */
const char *tb_i18n_time(int64_t t, char *buf, size_t len);

#endif
