/* input.h - what a clerk types or a spreadsheet cell holds, read the way
 * the clerk meant it, never guessed.
 *
 * Called by the interactive form (agent/form.c), the command options of
 * record/amend/list (agent/cmd_event.c, agent/cmd_show.c) and import
 * (agent/cmd_import.c). Everything here turns a human spelling into the
 * canonical text of common/event.h (tb_event_set is the strict, wire
 * form); refusals say why, in the clerk's language, quoting the value.
 *
 * - Dates: 2025-11-20, 20/11/2025, 20-11-2025, 20.11.2025, 5/1/2026
 *   (day before month, the Vietnamese order; the year in four digits).
 *   A day that does not exist says why: "30 is the last day of November".
 * - Whole numbers: digits, grouped by threes with spaces anywhere
 *   ("1 500"), or with '.' or ',' as the source's convention writes them
 *   (struct tb_numconv). "1.500.000" can be read one way only and is
 *   taken; "2.000" from a source whose convention is not known could be
 *   2 or 2000 and is refused: a count never comes out a thousand times off.
 * - Kinds, choices and yes/no: any letter case, and the Vietnamese names
 *   (agent/labels.c) as aliases: "Tập huấn", "TRAINING", "có", "Không".
 * Text is compared after Unicode normalisation (NFC) and case folding
 * (libunistring), so a title written with combining marks still matches.
 */
#ifndef TB_AGENT_INPUT_H
#define TB_AGENT_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

#define TB_WHY_LEN 256

/* How the source writes a thousands separator. */
enum tb_numconv {
	TB_NUM_UNKNOWN, /* '.' or ',' in groups of three is ambiguous */
	TB_NUM_DOT,     /* 1.500 (Vietnamese, and ';'-separated files) */
	TB_NUM_COMMA    /* 1,500 (English) */
};

/* The convention of the user's locale (LC_NUMERIC's thousands separator),
 * for what is typed at the terminal. */
enum tb_numconv tb_input_locale_numconv(void);

/* A date in one of the forms above. 0, or TB_EINVAL with why. */
int tb_input_date(const char *s, int32_t *out, char *why, size_t whylen);
/* A date as a clerk writes it: "20/11/2025". buf: TB_DATE_LEN. */
const char *tb_input_date_text(int32_t date, char *buf);
/* A whole number 0..max. 0, or TB_EINVAL with why. */
int tb_input_count(const char *s, enum tb_numconv conv, int64_t max,
		   int64_t *out, char *why, size_t whylen);
/* A kind by its name, any case, or its Vietnamese name. 0 or TB_EINVAL. */
int tb_input_kind(const char *s, enum tb_kind *out);
/* 1 if a and b are the same words, ignoring case, accents' encoding (NFC)
 * and blanks around them. */
int tb_input_same(const char *a, const char *b);

/* The canonical text of a value for field f into out (TB_TEXT_MAX + 1
 * bytes): counts in plain digits, yes/no, a choice's code; text as given
 * (NFC-normalised when it was not). 0, or TB_EINVAL with why (the value
 * quoted, not the field: callers name it). TB_ENOMEM possible. */
int tb_input_value(const struct tb_field *f, const char *s,
		   enum tb_numconv conv, char *out, size_t outlen, char *why,
		   size_t whylen);

/* Sets field `name` of e from a human value: tb_input_value, then
 * tb_event_set. On TB_EINVAL msg reads "<field label>: <why>". */
int tb_input_set(struct tb_event *e, const char *name, const char *s,
		 enum tb_numconv conv, char *msg, size_t msglen);

/* text NFC-normalised into a new tb_malloc'd string (NULL on ENOMEM). */
char *tb_input_nfc(const char *text);

#endif
