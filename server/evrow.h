/* evrow.h - one stored revision of an event, and the event again.
 *
 * The store keeps each revision once (event_history, server/db.h): its
 * envelope in columns (id, kind, date, revision, voided, void_reason,
 * device, seq, recorded_at) and only its fields as JSON, the object the
 * agent's store also keeps ({"title":"...","parents":40}:
 * tb_event_fields_write). The school is the event's (events.school: an
 * id never changes school). So nothing is stored twice, and the event is
 * put together again here, for the export and anything that shows a
 * stored event: tb_event_to_json of it gives byte for byte the body the
 * merge hashed and the export has always written.
 *
 * TB_EVROW_COLS is the select list (11 columns, in this order) over
 * TB_EVROW_FROM (the current revision of each event: events joined with
 * its history row); tb_evrow_read reads them back from column `col`.
 */
#ifndef TB_SERVER_EVROW_H
#define TB_SERVER_EVROW_H

#include <stddef.h>

#include "common/buf.h"
#include "common/event.h"

struct tb_stmt;

#define TB_EVROW_COLS                                                    \
	"h.id, e.school, h.kind, h.date, h.revision, h.voided,"          \
	" h.void_reason, h.device, h.seq, h.recorded_at, h.fields"
#define TB_EVROW_NCOLS 11
#define TB_EVROW_FROM                                                    \
	" events e JOIN event_history h ON h.id = e.id AND"              \
	" h.revision = e.revision"

/* The fields of e as stored (tb_event_fields_write). 0 or TB_ENOMEM. */
int tb_evrow_fields(const struct tb_event *e, struct tb_buf *out);

/* The event in st's row, columns col .. col + TB_EVROW_NCOLS - 1, into e
 * (tb_event_clear it after success). 0; TB_EIO with msg naming the event
 * for a row that is not an event (a damaged store); TB_ENOMEM. */
int tb_evrow_read(struct tb_stmt *st, int col, struct tb_event *e,
		  char *msg, size_t msglen);

/* The event as the body the wire and the export carry (unformatted JSON,
 * tb_event_to_json), into out (malloc'd, NUL-terminated; free with
 * tb_free). 0 or TB_ENOMEM. */
int tb_evrow_body(const struct tb_event *e, char **out);

#endif
