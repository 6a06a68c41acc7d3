/* labels.h - the Vietnamese names of kinds, fields, choices and the
 * envelope of an event.
 *
 * One table (common/labels.c), keyed by the names of common/event.h, used
 * by both sides: the agent's template and Vietnamese sheets (import
 * accepts them whatever the locale), the aliases a clerk may type ("Tập
 * huấn" for training) and its Vietnamese interface (agent/labels.h); the
 * server's Excel export (server/export_xlsx.c) as column titles. The words
 * are the plans' own: Ban Vì sự tiến bộ phụ nữ (Ban VSTBPN), Tháng hành
 * động, quy hoạch. Every string returned is static.
 */
#ifndef TB_COMMON_LABELS_H
#define TB_COMMON_LABELS_H

#include "common/event.h"

/* The Vietnamese column title of the kind and date columns. */
#define TB_LABEL_KIND "Loại hoạt động"
#define TB_LABEL_DATE "Ngày"

/* Vietnamese name of a field (by snake_case name), kind or choice code;
 * NULL if there is none. */
const char *tb_label_field_vi(const char *name);
const char *tb_label_kind_vi(enum tb_kind kind);
const char *tb_label_choice_vi(const char *code);
/* Further spellings a clerk may use for a code ("8/3" for womens-day),
 * NULL-terminated list or NULL. */
const char *const *tb_label_choice_aliases(const char *code);
/* Vietnamese name of an envelope column as export names it (kind, id,
 * school, date, revision, voided, void_reason, recorded_at, device, seq);
 * NULL for another name. */
const char *tb_label_envelope_vi(const char *name);

#endif
