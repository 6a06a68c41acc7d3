/* labels.h - the Vietnamese names of kinds, fields and choices.
 *
 * One table (agent/labels.c), keyed by the names of common/event.h, used
 * three ways: as column titles of the template and of Vietnamese sheets
 * (import accepts them whatever the locale), as aliases a clerk may type
 * ("Tập huấn" for training), and as the labels shown when the interface
 * is Vietnamese (tb_field_label). The words are the plans' own: Ban Vì sự
 * tiến bộ phụ nữ (Ban VSTBPN), Tháng hành động, quy hoạch.
 */
#ifndef TB_AGENT_LABELS_H
#define TB_AGENT_LABELS_H

#include <stddef.h>

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

/* How to name a field to this user: its Vietnamese label when the
 * interface is Vietnamese, its option name (teachers-staff) otherwise. */
const char *tb_field_label(const struct tb_field *f);
/* Same for a kind: "Tập huấn" or "training". */
const char *tb_kind_label(enum tb_kind kind);

/* When the interface is Vietnamese, rewrites the field names a rule
 * message of common/event.c holds ("female: must not exceed participants")
 * into their labels ("Số nữ: ... Số người tham gia"), in place. */
void tb_label_msg(char *msg, size_t len);

#endif
