/* event_json.h - one event as JSON: the event object of a batch (written
 * straight into a buffer, canonical), the exported object (a cJSON tree),
 * and the strict reader of both; plus the `fields` object the agent's
 * store keeps per row.
 *
 * Callers: protocol/batch.c (batch bodies and their decoding), the agent
 * store (agent/store_*.c: the fields column, and reading it back), exports
 * (agent/cmd_show.c, server/export.c, server/merge.c).
 *
 * Guarantees: the writers give PROTOCOL.md's canonical encoding (keys in
 * the order id, seq, kind, date, revision, recorded_at, voided (only when
 * true), void_reason (when set), then the set fields in the order of the
 * kind's table; integers in plain decimal), the same bytes for the same
 * event, always. Readers are strict about JSON types (see PROTOCOL.md
 * "JSON types") and name the field in every message.
 */
#ifndef TB_PROTOCOL_EVENT_JSON_H
#define TB_PROTOCOL_EVENT_JSON_H

#include <stddef.h>

#include "common/buf.h"
#include "common/event.h"

struct cJSON;

#define TB_RULE_SCHOOL                                                         \
	"school: must be 2-32 characters of A-Z, 0-9, '-' or '_', starting "   \
	"with a letter or digit"
#define TB_RULE_UUID                                                           \
	"must be a lower-case UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"

/* Appends the event object of a batch: with seq, without school and
 * device (the envelope has them). 0 or TB_ENOMEM (b then holds part of it:
 * the caller drops what it appended). */
int tb_event_write(struct tb_buf *b, const struct tb_event *e);

/* One event as a JSON object (the same object a batch carries, plus
 * "school" and "device"; seq only when > 0), for exports. Integers are
 * cJSON numbers. Caller cJSON_Delete's it. NULL on TB_ENOMEM. */
struct cJSON *tb_event_to_json(const struct tb_event *e);

/* Reads one event object. Envelope keys not present in the object are left
 * as they are in e (so a batch can supply school and device). 0 or
 * TB_EINVAL with msg naming the field, TB_ENOMEM. e is initialised by the
 * callee; on failure it is left cleared. school and device are kept only
 * when they hold a valid code / UUID; e must hold initialised bytes there
 * (tb_event_init or zeroed), as they are read. */
int tb_event_from_json(const struct cJSON *obj, struct tb_event *e, char *msg,
		       size_t msglen);
/* The same, checking only the shape (known fields, JSON types, value
 * ranges of each type) and not the event model's rules: for reading back
 * what a store already holds, where a row the server refused on its rules
 * must still be shown to the clerk with its reason. */
int tb_event_read_json(const struct cJSON *obj, struct tb_event *e, char *msg,
		       size_t msglen);
/* The shape reader itself, for protocol/batch.c: e is initialised by the
 * caller (school and device as they should stay when absent) and may be
 * partly filled on failure (the caller clears it). */
int tb_event_read_shape(const struct cJSON *obj, struct tb_event *e,
			char *msg, size_t msglen);

/* The set fields of e as one object, {"title":"...","parents":40}, in the
 * order of the kind's table: what the agent store's `fields` column
 * holds. 0 or TB_ENOMEM. */
int tb_event_fields_write(struct tb_buf *b, const struct tb_event *e);
/* Reads such an object (len bytes) into the fields of e, whose kind is
 * set and whose fields are unset. Shape checks only, as
 * tb_event_read_json. 0, TB_EINVAL with msg, TB_ENOMEM; on failure the
 * fields read so far stay in e (the caller clears it). */
int tb_event_fields_read(const char *json, size_t len, struct tb_event *e,
			 char *msg, size_t msglen);

#endif
