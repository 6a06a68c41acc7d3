/* merge_prep.h - what merging a batch needs that no database does: each
 * event's fields as stored and content hash, computed before the write lock is
 * taken, so concurrent uploads do this part in parallel and hold the lock
 * only for SQL. Called by server/upload.c (outside the lock) and by
 * server/merge.c (when no prep was given); included through merge.h.
 *
 * The fields are tb_evrow_fields's JSON (the store keeps the envelope in
 * columns: server/evrow.h). The content hash is SHA-256 over
 * the content only (not seq, device or recorded_at), as a sequence of
 * length-prefixed items "<len>:<bytes>" so no text can pass for another:
 *   id, school, kind, date, revision, voided, void_reason,
 *   then per field of the kind: name and value text, or name and "-"
 *   for an unset field
 * (field texts from tb_event_get). Changing this layout changes the
 * stored hashes: held revisions would then compare as different.
 */
#ifndef TB_SERVER_MERGE_PREP_H
#define TB_SERVER_MERGE_PREP_H

#include <stddef.h>

#include "protocol/codec.h"

#define TB_MERGE_HASH_LEN 32

/* What merging needs that no database does: each event's fields as stored
 * (server/evrow.h) and content hash. Computed before the write lock is taken, so concurrent
 * uploads do this part in parallel and hold the lock only for SQL. */
struct tb_merge_prep {
	size_t n;
	char **fields;        /* n fields objects (JSON; freed by clear),
			       * NULL for events the decoder rejected */
	unsigned char *hash;  /* n * 32 bytes */
	int64_t after;        /* the cursor the client expects (Tienbo-After)
			       * or -1: none; set by the caller */
};

/* Fills in school and device where b's events left them empty, then
 * computes prep for b (a batch of 256 events or more is split with one
 * more thread when the machine has a second core). 0 or TB_ENOMEM (prep
 * cleared). */
int tb_merge_prepare(struct tb_batch *b, struct tb_merge_prep *prep);
/* Frees what prep holds; accepts a zeroed or half-built prep. */
void tb_merge_prep_clear(struct tb_merge_prep *prep);

/* Events carry school and device only when they differ from the batch's
 * (never, from a correct agent): fills them in from the envelope. */
void tb_merge_batch_fill(struct tb_batch *b);

#endif
