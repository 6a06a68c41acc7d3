/* codec.h - the wire messages of PROTOCOL.md as C structures, and their
 * JSON encoding (cJSON). Used by the agent (encode batches, decode acks and
 * errors) and the server (decode batches, encode acks and errors); the same
 * code on both sides, tested against protocol/vectors/.
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
#ifndef TB_CODEC_H
#define TB_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

#define TB_PROTOCOL_VERSION 1
#define TB_BATCH_MAX_EVENTS 5000
#define TB_BODY_MAX (1024 * 1024)        /* compressed request body */
#define TB_INFLATE_MAX (8 * 1024 * 1024) /* decompressed request body */
/* Largest sequence number (and ack counter) on the wire: 2^53 - 1, the
 * largest integer every JSON reader that uses doubles (cJSON, JavaScript)
 * holds exactly. Decoders refuse anything larger. */
#define TB_SEQ_MAX INT64_C(9007199254740991)

struct cJSON;

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

/* JSON text of b into *out (tb_malloc'd, NUL-terminated, caller frees).
 * 0 or TB_ENOMEM. */
int tb_batch_encode(const struct tb_batch *b, char **out, size_t *outlen);
/* Decodes JSON text (need not be NUL-terminated) into b (initialised by the
 * caller; cleared again on failure). 0, TB_EINVAL or TB_ETOOBIG with msg
 * naming the problem, TB_ENOMEM. */
int tb_batch_decode(const char *json, size_t len, struct tb_batch *b,
		    char *msg, size_t msglen);

/* One event as a JSON object (the same object a batch carries, plus
 * "school" and "device"), for exports. NULL on TB_ENOMEM. */
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

struct tb_reject {
	char id[TB_ID_LEN];
	int64_t seq;
	char *reason; /* owned */
};

struct tb_ack {
	char device[TB_ID_LEN];
	int64_t committed_through; /* every seq <= this is held or rejected */
	int64_t accepted;          /* events stored as new or newer revisions */
	int64_t duplicates;        /* events already held at >= that revision */
	size_t nrejected;
	struct tb_reject *rejected;
};

void tb_ack_init(struct tb_ack *a);
void tb_ack_clear(struct tb_ack *a);
/* Appends a rejection (copies id and reason). 0 or TB_ENOMEM. */
int tb_ack_reject(struct tb_ack *a, const char *id, int64_t seq,
		  const char *reason);
int tb_ack_encode(const struct tb_ack *a, char **out, size_t *outlen);
int tb_ack_decode(const char *json, size_t len, struct tb_ack *a, char *msg,
		  size_t msglen);

/* The error body of every 4xx/5xx: {"status":409,"error":"sequence_gap",
 * "message":"...","expected_seq":101}. expected_seq < 0 leaves it out. */
int tb_error_encode(int status, const char *code, const char *message,
		    int64_t expected_seq, char **out, size_t *outlen);
struct tb_error_body {
	int status;
	char code[48];
	char message[TB_MSG_LEN];
	int64_t expected_seq; /* -1 when absent */
};
int tb_error_decode(const char *json, size_t len, struct tb_error_body *e);

/* The cursor reply: {"device":"...","committed_through":N}. */
int tb_cursor_encode(const char *device, int64_t committed_through, char **out,
		     size_t *outlen);
int tb_cursor_decode(const char *json, size_t len, char *device,
		     int64_t *committed_through);

#endif
