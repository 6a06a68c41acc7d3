/* labels.h - how the agent names kinds and fields to its user.
 *
 * The Vietnamese names themselves are one table in common/labels.h
 * (shared with the server's Excel export), included here: column titles
 * of the template and of Vietnamese sheets, aliases a clerk may type. This
 * module adds the labels shown when the interface is Vietnamese
 * (tb_field_label) and the rewriting of rule messages.
 */
#ifndef TB_AGENT_LABELS_H
#define TB_AGENT_LABELS_H

#include <stddef.h>

#include "common/event.h"
#include "common/labels.h" /* the tables: tb_label_field_vi, ... */

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
