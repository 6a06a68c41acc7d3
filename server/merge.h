/* merge.h - folding one decoded batch into the database, exactly once.
 *
 * Called by server/https.c (POST /v1/batches) with the write mutex of
 * server/dbpool.h held. One batch is one SQLite transaction (BEGIN
 * IMMEDIATE ... COMMIT); when tb_merge_batch returns 0 with status 200 the
 * COMMIT has succeeded and only then may the acknowledgement be sent. On
 * any other outcome the transaction is rolled back and nothing of the
 * batch is stored. The statements it uses stay prepared on the connection
 * for the next batch, so close it with tb_db_close (which finalizes them),
 * not a bare sqlite3_close.
 *
 * Rules (WIRE.md / PROTOCOL.md), with C the device's committed_through:
 *   - the token must still be active (401), the batch and every event must
 *     be for the token's school (403), the device uuid must be the one
 *     bound to the token, or is bound now if none is (403 if it belongs to
 *     another active token or another school);
 *   - first_seq > C + 1: 409 sequence_gap, expected_seq = C + 1;
 *   - seq <= C: duplicate; otherwise per event id:
 *       not held            -> stored (accepted)
 *       held for another school -> rejected
 *       held at >= revision -> duplicate, except same revision with other
 *                              content -> rejected
 *       held at < revision  -> becomes current, the old stays in history
 *     an event the decoder found invalid is rejected with its reason;
 *   - C becomes last_seq (rejected events never block the queue).
 * "Content" is the event's JSON without seq, device and recorded_at, so the
 * same revision resent under a new sequence number is a duplicate.
 */
#ifndef TB_SERVER_MERGE_H
#define TB_SERVER_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"
#include "protocol/codec.h"
#include "server/auth.h"
#include "server/merge_prep.h"

struct tb_sql;

struct tb_merge_result {
	int status;            /* 200, 401, 403 or 409 */
	const char *error;     /* wire error code when status != 200 */
	char message[TB_MSG_LEN];
	int64_t expected_seq;  /* with 409; -1 otherwise */
};

/* Merges b for principal p. 0 with res->status set (200: ack filled and
 * committed); TB_EAGAIN when the database stayed busy (answer 503);
 * TB_EIO / TB_ENOMEM otherwise (answer 500), with res->message saying
 * why ("disk full: ..."; tb_db_reason). ack must be initialised. */
int tb_merge_batch(struct tb_sql *db, const struct tb_principal *p,
		   struct tb_batch *b, struct tb_ack *ack,
		   struct tb_merge_result *res);
/* The same with prep from tb_merge_prepare(b) (NULL: computed here). */
int tb_merge_batch_prepared(struct tb_sql *db, const struct tb_principal *p,
			    struct tb_batch *b,
			    const struct tb_merge_prep *prep,
			    struct tb_ack *ack, struct tb_merge_result *res);

/* The device's committed_through for a cursor request by p: 0 and *out on
 * success, or 0 with res->status 403 when the device is bound to another
 * token or school. Read only. */
int tb_merge_cursor(struct tb_sql *db, const struct tb_principal *p,
		    const char *device, int64_t *out,
		    struct tb_merge_result *res);

#endif
