/* store_row.h - one queue row of the agent store and one event: reading a
 * row's columns back into a struct tb_event, and writing an event as a new
 * row.
 *
 * Called by agent/store_write.c (record, amend, void), store_read.c (list,
 * show, history) and store_sync.c (the rows of a batch). The row keeps the
 * event's envelope in columns and its set fields as the codec's fields
 * object (protocol/event_json.h); nothing of the wire is stored, so a
 * batch is encoded by protocol/batch.c from what these functions read.
 * wire_bytes is the length of the event's batch encoding, kept to size
 * batches and to report the queue without encoding it.
 */
#ifndef TB_AGENT_STORE_ROW_H
#define TB_AGENT_STORE_ROW_H

#include <sqlite3.h>
#include <stdint.h>

#include "agent/store_db.h"

/* Reads the TB_SDB_ROW_COLS columns of the current row of st into e
 * (initialised here; with the store's school and device; cleared on
 * failure). Shape checks only (a row the server rejected is still read).
 * 0, TB_EIO ("stored event at seq N cannot be read: ...") or TB_ENOMEM,
 * with errmsg. */
int tb_srow_read(struct tb_store *s, sqlite3_stmt *st, struct tb_event *e);

/* Inserts e (validated, envelope set) as a new pending row, inside the
 * open write transaction. 0, TB_ECONFLICT (that id and revision exist),
 * TB_ENOMEM, TB_EIO, with errmsg. */
int tb_srow_insert(struct tb_store *s, const struct tb_event *e);

/* The latest revision of id into e (as tb_srow_read), inside whatever
 * transaction is open; *state (may be NULL) gets its upload state.
 * TB_ENOTFOUND if there is none. */
int tb_srow_latest(struct tb_store *s, const char *id, struct tb_event *e,
		   enum tb_store_state *state);

#endif
