/* batch.h - a batch of PROTOCOL.md: the decoded structure, its decoder,
 * and the streaming writer that produces every batch body on the wire.
 *
 * Callers: the agent's sync engine builds each body with the writer,
 * event by event as rows come out of its store (agent/sync.c,
 * agent/store_sync.c); the server decodes bodies (server/upload.c);
 * tb_batch_encode (tests, fuzzers, tools) runs the same writer over a
 * struct tb_batch. So the bytes pinned by the canonical files of protocol/vectors/
 * are the bytes the agent sends.
 *
 * A batch is one device's events with consecutive sequence numbers
 * first_seq..last_seq, one event per number, in order. Decoding separates
 * two kinds of problem:
 *  - the batch as a whole is malformed (not JSON, wrong version, missing or
 *    ill-typed envelope, sequence numbers not consecutive, too many events,
 *    an event without a usable id or seq): tb_batch_decode returns TB_EINVAL
 *    (or TB_ETOOBIG) and a message; the server answers 400 (413) and
 *    stores nothing.
 *  - one event breaks a rule of the event model (female > participants,
 *    a date outside the Action Month, an unknown field...): the batch
 *    decodes, that event's `error` is set, and the server rejects just that
 *    event in the acknowledgement; the agent marks it rejected with the
 *    reason and moves on.
 */
#ifndef TB_PROTOCOL_BATCH_H
#define TB_PROTOCOL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/event.h"
#include "protocol/wire.h"

struct tb_batch_item {
	struct tb_event ev;
	char *error; /* NULL if the event is valid; else owned reason */
};

struct tb_batch {
	int version;
	char device[TB_ID_LEN];
	char school[TB_CODE_MAX + 1];
	int64_t first_seq, last_seq;
	size_t count, cap;
	struct tb_batch_item *items;
};

void tb_batch_init(struct tb_batch *b);
/* Frees everything b owns; b is left as after init. Accepts a half-built b. */
void tb_batch_clear(struct tb_batch *b);
/* Appends a deep copy of e (valid, error NULL); keeps first/last_seq in
 * step with e->seq. 0 or TB_ENOMEM (b unchanged). */
int tb_batch_add(struct tb_batch *b, const struct tb_event *e);

/* JSON text of b into *out (tb_malloc'd, NUL-terminated, caller frees):
 * the writer below over b's items, with b's version, first_seq and
 * last_seq. 0 or TB_ENOMEM. */
int tb_batch_encode(const struct tb_batch *b, char **out, size_t *outlen);
/* Decodes JSON text (need not be NUL-terminated) into b (initialised by the
 * caller; cleared again on failure). 0, TB_EINVAL or TB_ETOOBIG with msg
 * naming the problem, TB_ENOMEM. */
int tb_batch_decode(const char *json, size_t len, struct tb_batch *b,
		    char *msg, size_t msglen);

/* "version" must be there and be TB_PROTOCOL_VERSION: 0 or TB_EINVAL with
 * msg. Also used by the acknowledgement decoder (protocol/codec.c). */
struct cJSON;
int tb_batch_check_version(const struct cJSON *item, char *msg,
			   size_t msglen);

/* ---- the streaming writer ------------------------------------------------
 *
 *   struct tb_batch_writer w = TB_BATCH_WRITER_INIT;
 *   tb_batch_writer_begin(&w, device, school);
 *   for each event, in seq order: tb_batch_writer_add(&w, &event);
 *   tb_batch_writer_finish(&w, &json, &len);   // borrowed from w
 *   ... begin again for the next batch (memory is reused) ...
 *   tb_batch_writer_cleanup(&w);
 *
 * Memory: the body being written and nothing else; an event is encoded
 * straight into the body (no tree), so building a batch of 5,000 events
 * holds one copy of its bytes. The envelope is written at finish into
 * room kept in front of the events, so no byte is copied. */
struct tb_batch_writer {
	struct tb_buf buf;    /* TB_BATCH_HEAD_ROOM bytes, then the events */
	struct tb_buf head;   /* the envelope, written at finish */
	size_t start;         /* after finish: where the JSON starts in buf */
	int version;          /* TB_PROTOCOL_VERSION after begin */
	char device[TB_ID_LEN];
	char school[TB_CODE_MAX + 1];
	int64_t first_seq;    /* seq of the first event added */
	int64_t last_seq;     /* seq of the last event added */
	size_t count;         /* events added */
};
#define TB_BATCH_WRITER_INIT { 0 }
#define TB_BATCH_HEAD_ROOM 640

/* Starts a batch for device and school (copied; TB_EINVAL if longer than
 * a UUID / a school code can be). Keeps the memory of an earlier batch.
 * 0, TB_EINVAL, TB_ENOMEM. */
int tb_batch_writer_begin(struct tb_batch_writer *w, const char *device,
			  const char *school);
/* Appends the event object of e (tb_event_write: with seq, without school
 * and device). The caller hands events in seq order; first_seq and
 * last_seq follow them. 0 or TB_ENOMEM, and then w is as before the
 * call (the batch may still be finished with what it holds). */
int tb_batch_writer_add(struct tb_batch_writer *w, const struct tb_event *e);
/* Bytes of the body so far without the envelope (events and commas). */
size_t tb_batch_writer_events_len(const struct tb_batch_writer *w);
/* Writes the envelope (w->version, device, school, w->first_seq,
 * w->last_seq: a caller may set those before) and the closing brackets.
 * *json (NUL-terminated) is borrowed from w until the next begin or
 * cleanup. 0 or TB_ENOMEM. */
int tb_batch_writer_finish(struct tb_batch_writer *w, const char **json,
			   size_t *len);
/* Frees w's memory; w is left as TB_BATCH_WRITER_INIT. Accepts NULL. */
void tb_batch_writer_cleanup(struct tb_batch_writer *w);

#endif
