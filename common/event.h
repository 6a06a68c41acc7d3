/* event.h - the event model: every record a school sends, and its rules.
 *
 * Five kinds of record cover the two plans (shared PLANS.md, "What this
 * means for the data"): outreach events, training sessions, Action Month
 * activities, website posts (activity events, recorded the day they happen)
 * and unit snapshots (a unit's own figures, recorded a few times a year).
 *
 * Every record has the same envelope (id, school, kind, date, revision,
 * voided flag and reason, recorded-at time, device and per-device sequence)
 * and a body of kind-specific fields. The body is described by a table per
 * kind (tb_kind_fields); the CLI's long options, the CSV columns, the JSON
 * keys and the validation rules all come from that one table, so a field is
 * added in one place. Field names are snake_case in JSON and CSV headers
 * may use either snake_case or the long-option spelling (hyphens).
 *
 * Rules (each refusal names the field and the rule, see tb_event_validate):
 * - id: a lower-case RFC 4122 UUID, 36 characters.
 * - school and other codes: 2-32 characters of A-Z 0-9 '-' '_', starting with
 *   a letter or digit (TB_CODE_*).
 * - date: a real calendar date, years TB_YEAR_MIN..TB_YEAR_MAX; an
 *   action-month record is dated 15 Nov - 15 Dec of one year.
 * - counts: integers 0..TB_COUNT_MAX.
 * - a part never exceeds its whole (female <= participants, ...).
 * - text: valid UTF-8 (no overlongs, no surrogates), no control characters,
 *   at most TB_TEXT_MAX bytes; stored byte for byte, never normalised.
 * - choices: one of the listed codes; booleans: yes/no (true/false, 1/0).
 * - revision 1..TB_REVISION_MAX; seq 1..INT64_MAX when assigned.
 */
#ifndef TB_COMMON_EVENT_H
#define TB_COMMON_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h" /* TB_ID_LEN, TB_CODE_*, tb_uuid_*, tb_code_valid */

#define TB_COUNT_MAX 1000000  /* no single record counts more people */
#define TB_TEXT_MAX 1000      /* bytes of UTF-8 in a text field */
#define TB_REVISION_MAX 1000000
#define TB_FIELDS_MAX 32      /* fields in the largest kind */
#define TB_MSG_LEN 256        /* validation message buffer */

enum tb_kind {
	TB_KIND_OUTREACH,
	TB_KIND_TRAINING,
	TB_KIND_ACTION_MONTH,
	TB_KIND_WEB_POST,
	TB_KIND_SNAPSHOT,
	TB_KIND_COUNT
};

enum tb_ftype {
	TB_FT_COUNT,  /* integer 0..TB_COUNT_MAX */
	TB_FT_TEXT,   /* UTF-8, <= TB_TEXT_MAX bytes */
	TB_FT_BOOL,   /* yes / no */
	TB_FT_CHOICE, /* one of `choices` */
	TB_FT_URL     /* text that starts with http:// or https:// */
};

struct tb_field {
	const char *name;    /* snake_case: JSON key, CSV column, SQL name */
	const char *option;  /* long option spelling: "teachers-staff" */
	enum tb_ftype type;
	int required;        /* must be present (counts default to 0 if not) */
	const char *whole;   /* name of the field this is a part of, or NULL */
	const char *choices; /* TB_FT_CHOICE: "a|b|c"; NULL otherwise */
	const char *help;    /* one line for --help and the interactive prompt */
};

/* One field's value. `set` says whether it was given: a snapshot figure that
 * was not given is "not reported", which is not the same as 0. */
struct tb_value {
	int set;
	int64_t n;  /* TB_FT_COUNT, TB_FT_BOOL (0/1) */
	char *s;    /* TB_FT_TEXT, TB_FT_CHOICE, TB_FT_URL: owned, NUL-terminated */
};

struct tb_event {
	char id[TB_ID_LEN];
	char school[TB_CODE_MAX + 1];
	char device[TB_ID_LEN];     /* the recording device; "" if unknown */
	enum tb_kind kind;
	int32_t date;               /* day it happened (snapshot: as of) */
	int64_t revision;           /* 1 for the first record, +1 per change */
	int64_t seq;                /* per-device sequence; 0 until assigned */
	int64_t recorded_at;        /* UTC seconds when this revision was made */
	int voided;
	char *void_reason;          /* owned; non-NULL iff voided */
	struct tb_value v[TB_FIELDS_MAX]; /* indexed like tb_kind_fields() */
};

/* Kind names as on the command line and the wire: "outreach", "training",
 * "action-month", "web-post", "snapshot". NULL for an out-of-range kind. */
const char *tb_kind_name(enum tb_kind kind);
/* 0 and *out set, or TB_EINVAL for an unknown name. */
int tb_kind_parse(const char *name, enum tb_kind *out);
/* The field table of a kind; *count set to its length. Static storage. */
const struct tb_field *tb_kind_fields(enum tb_kind kind, size_t *count);
/* Index of a field of a kind by snake_case or option name, or -1. */
int tb_field_index(enum tb_kind kind, const char *name);

/* Sets e to an empty record of `kind` (revision 1, nothing set). Does not
 * free: call on fresh memory or after tb_event_clear. */
void tb_event_init(struct tb_event *e, enum tb_kind kind);
/* Frees what e owns and leaves it as tb_event_init(e, e->kind) would. */
void tb_event_clear(struct tb_event *e);
/* Deep copy; dst must be empty (init or clear). 0 or TB_ENOMEM (dst empty). */
int tb_event_copy(struct tb_event *dst, const struct tb_event *src);

/* Sets field `name` from its text form, as typed by a clerk or read from a
 * CSV cell: counts in decimal, booleans yes/no/true/false/1/0, text copied.
 * An empty string unsets the field. On TB_EINVAL, msg (TB_MSG_LEN) names
 * the field and the rule and e is unchanged. TB_ENOMEM possible. */
int tb_event_set(struct tb_event *e, const char *name, const char *text,
		 char *msg, size_t msglen);
/* Text form of a set field into buf ("" when unset). Returns buf. */
const char *tb_event_get(const struct tb_event *e, int idx, char *buf,
			 size_t buflen);

/* Checks every rule of the envelope and of e's kind. 0, or TB_EINVAL with
 * msg naming the field and the rule, e.g.
 *   "female: must not exceed participants (12 > 10)"
 *   "date: an action-month activity must fall between 15 Nov and 15 Dec (2025-12-16)"
 * Set check_envelope to 0 to skip id/school/seq/device (a record being
 * built by the CLI before the agent assigns them). */
int tb_event_validate(const struct tb_event *e, int check_envelope, char *msg,
		      size_t msglen);

/* Valid UTF-8, no C0/C1 control characters or DEL, at most maxbytes
 * (1 = passes). */
int tb_text_valid(const char *s, size_t maxbytes);

#endif
