/* codec.h - the wire messages of PROTOCOL.md as C structures, and their
 * JSON encoding. Used by the agent (encode batches, decode acks and
 * errors) and the server (decode batches, encode acks and errors); the same
 * code on both sides, tested against protocol/vectors/. This header holds
 * the acknowledgement, the error body and the cursor; it includes
 * protocol/batch.h (batches and their writer), protocol/event_json.h (one
 * event) and protocol/wire.h (version, limits, routes, headers).
 */
#ifndef TB_PROTOCOL_CODEC_H
#define TB_PROTOCOL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"

/* The constants of the wire, batches and events live in their own headers
 * and are included here, so a user of the codec includes one header. */
#include "protocol/batch.h"
#include "protocol/event_json.h"
#include "protocol/wire.h"

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
