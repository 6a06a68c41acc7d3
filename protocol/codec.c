/* codec.c - the small messages of PROTOCOL.md: acknowledgements, error
 * bodies and the cursor reply. Batches are protocol/batch.c, events
 * protocol/event_json.c, the strict JSON reader protocol/json.c.
 *
 * Called by the agent (decode acks, errors and cursors) and the server
 * (encode them); tests/test_vectors.c holds it to protocol/vectors/.
 *
 * What it guarantees (with batch.c and event_json.c):
 *  - Encoding is compact (no whitespace) and deterministic: keys in a
 *    fixed order, integers written exactly (never through a double), text
 *    escaped as cJSON prints it, so the same message always gives the same
 *    bytes.
 *  - Decoding is strict about JSON types: counts, sequence numbers,
 *    revisions and versions must be JSON numbers with an integral value in
 *    range (1.5, "3", -1, true are refused); booleans must be true/false;
 *    text must be a JSON string. cJSON reads numbers as doubles, which hold
 *    every integer up to 2^53 exactly, so sequence numbers and ack counters
 *    are limited to TB_SEQ_MAX = 2^53 - 1: any number text at or above 2^53
 *    parses to a double >= 2^53 and is refused, never silently rounded.
 *  - Before cJSON sees a body, a linear scan refuses NUL bytes, the escape
 *    \u0000, nesting deeper than TB_WIRE_DEPTH_MAX (TB_EINVAL) and more than
 *    TB_WIRE_VALUES_MAX values (TB_ETOOBIG) (protocol/json.c).
 *  - A key given twice in one object is refused (never "first one wins").
 *    Unknown keys are ignored at the top level of a batch, an ack, an error
 *    body and a cursor (a later minor addition stays version 1), and refused
 *    in an event ("unknown field 'x' for kind k"): a field the server cannot
 *    store would be lost.
 *  - A failed allocation is TB_ENOMEM, never mistaken for malformed JSON
 *    (cJSON allocates through tb_malloc: protocol/json.c).
 * Messages that quote a value from the input quote at most TB_JSON_ECHO_MAX
 * bytes of it, non-printable and non-ASCII bytes shown as '?', so a message
 * is always safe to put back into JSON.
 */
#include "protocol/codec.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/msg.h"
#include "protocol/json.h"

static const struct tb_json_limits wire_limits = {TB_WIRE_DEPTH_MAX,
						  TB_WIRE_VALUES_MAX};

/* Copies src into dst (dstlen > 0), cut at a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstlen) {
		n = dstlen - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ,"key":"text" */
static int put_str(struct tb_buf *b, const char *key, const char *s)
{
	int rc = tb_buf_putc(b, ',');

	if (rc == TB_OK)
		rc = tb_json_put_key(b, key);
	return rc == TB_OK ? tb_json_put_str(b, s ? s : "") : rc;
}

/* ,"key":123 */
static int put_int(struct tb_buf *b, const char *key, int64_t v)
{
	int rc = tb_buf_putc(b, ',');

	if (rc == TB_OK)
		rc = tb_json_put_key(b, key);
	return rc == TB_OK ? tb_json_put_int(b, v) : rc;
}

/* Every encoder ends here: on rc == 0 hands b's text to *out
 * (tb_malloc'd); frees it otherwise. */
static int finish(struct tb_buf *b, int rc, char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (rc == TB_OK && !(*out = tb_buf_detach(b, outlen)))
		rc = TB_ENOMEM;
	tb_buf_free(b);
	return rc;
}

/* ---- acknowledgements --------------------------------------------------- */

void tb_ack_init(struct tb_ack *a)
{
	memset(a, 0, sizeof(*a));
}

void tb_ack_clear(struct tb_ack *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->rejected && i < a->nrejected; i++)
		tb_free(a->rejected[i].reason);
	tb_free(a->rejected);
	tb_ack_init(a);
}

int tb_ack_reject(struct tb_ack *a, const char *id, int64_t seq,
                  const char *reason)
{
	struct tb_reject *r;
	char *copy = tb_strdup(reason ? reason : "");

	if (!copy)
		return TB_ENOMEM;
	/* capacity is the next power of two: grow when count is one */
	if ((a->nrejected & (a->nrejected - 1)) == 0) {
		size_t cap = a->nrejected ? a->nrejected * 2 : 1;

		r = tb_realloc(a->rejected, cap * sizeof(*r));
		if (!r) {
			tb_free(copy);
			return TB_ENOMEM;
		}
		a->rejected = r;
	}
	r = &a->rejected[a->nrejected++];
	snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
	r->seq = seq;
	r->reason = copy;
	return 0;
}

int tb_ack_encode(const struct tb_ack *a, char **out, size_t *outlen)
{
	struct tb_buf b = TB_BUF_INIT;
	int rc = tb_buf_puts(&b, "{\"version\":");

	if (rc == TB_OK)
		rc = tb_json_put_int(&b, TB_PROTOCOL_VERSION);
	if (rc == TB_OK)
		rc = put_str(&b, "device", a->device);
	if (rc == TB_OK)
		rc = put_int(&b, "committed_through", a->committed_through);
	if (rc == TB_OK)
		rc = put_int(&b, "accepted", a->accepted);
	if (rc == TB_OK)
		rc = put_int(&b, "duplicates", a->duplicates);
	if (rc == TB_OK)
		rc = tb_buf_puts(&b, ",\"rejected\":[");
	for (size_t i = 0; rc == TB_OK && i < a->nrejected; i++) {
		const struct tb_reject *r = &a->rejected[i];

		rc = tb_buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
		if (rc == TB_OK)
			rc = tb_json_put_str(&b, r->id);
		if (rc == TB_OK)
			rc = put_int(&b, "seq", r->seq);
		if (rc == TB_OK)
			rc = put_str(&b, "reason", r->reason);
		if (rc == TB_OK)
			rc = tb_buf_putc(&b, '}');
	}
	if (rc == TB_OK)
		rc = tb_buf_puts(&b, "]}");
	return finish(&b, rc, out, outlen);
}

static int counter(const cJSON *item, const char *name, int64_t lo,
                   int64_t *out, char *msg, size_t msglen)
{
	if (!item)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: required", name);
	if (tb_json_int(item, lo, TB_SEQ_MAX, out))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "%s: must be a whole number from %" PRId64
		              " to %" PRId64,
		              name, lo, TB_SEQ_MAX);
	return 0;
}

static const char *const reject_keys[3] = {"id", "seq", "reason"};

static int ack_rejection(const cJSON *o, size_t i, struct tb_ack *a, char *msg,
                         size_t msglen)
{
	const cJSON *k[3];
	char id[TB_ID_LEN], name[32];
	const char *reason;
	int64_t seq;
	int rc;

	if (!cJSON_IsObject(o))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "rejected[%zu]: must be a JSON object", i);
	if (tb_json_members(o, reject_keys, 3, k) >= 0)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "rejected[%zu]: a key given twice", i);
	if (!k[0] || tb_json_uuid(k[0], id))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "rejected[%zu].id: " TB_RULE_UUID, i);
	snprintf(name, sizeof(name), "rejected[%zu].seq", i);
	rc = counter(k[1], name, 1, &seq, msg, msglen);
	if (rc)
		return rc;
	reason = tb_json_str(k[2]);
	if (!reason)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "rejected[%zu].reason: must be a string", i);
	return tb_ack_reject(a, id, seq, reason);
}

enum {
	A_VERSION,
	A_DEVICE,
	A_THROUGH,
	A_ACCEPTED,
	A_DUPS,
	A_REJECTED,
	A_COUNT
};

static const char *const ack_keys[A_COUNT] = {"version",           "device",
                                              "committed_through", "accepted",
                                              "duplicates",        "rejected"};

static int ack_read(const cJSON *root, struct tb_ack *a, char *msg,
                    size_t msglen)
{
	const cJSON *k[A_COUNT], *o;
	size_t i = 0;
	int dup, rc;

	if (!cJSON_IsObject(root))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "body: must be a JSON object");
	dup = tb_json_members(root, ack_keys, A_COUNT, k);
	if (dup >= 0)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: given twice",
		              ack_keys[dup]);
	rc = tb_batch_check_version(k[A_VERSION], msg, msglen);
	if (rc)
		return rc;
	if (!k[A_DEVICE] || tb_json_uuid(k[A_DEVICE], a->device))
		return tb_msg(TB_EINVAL, msg, msglen, "device: " TB_RULE_UUID);
	rc = counter(k[A_THROUGH], "committed_through", 0,
	             &a->committed_through, msg, msglen);
	if (!rc)
		rc = counter(k[A_ACCEPTED], "accepted", 0, &a->accepted, msg,
		             msglen);
	if (!rc)
		rc = counter(k[A_DUPS], "duplicates", 0, &a->duplicates, msg,
		             msglen);
	if (rc)
		return rc;
	if (!cJSON_IsArray(k[A_REJECTED]))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "rejected: must be a JSON array");
	cJSON_ArrayForEach(o, k[A_REJECTED])
	{
		rc = ack_rejection(o, i++, a, msg, msglen);
		if (rc)
			return rc;
	}
	return 0;
}

int tb_ack_decode(const char *json, size_t len, struct tb_ack *a, char *msg,
                  size_t msglen)
{
	cJSON *root = NULL;
	int rc;

	tb_json_begin();
	tb_ack_clear(a);
	rc = tb_json_parse(json, len, &wire_limits, &root, NULL, msg, msglen);
	if (rc == 0)
		rc = ack_read(root, a, msg, msglen);
	cJSON_Delete(root);
	if (rc)
		tb_ack_clear(a);
	if (rc == TB_ENOMEM)
		tb_msg(rc, msg, msglen, "out of memory");
	return rc;
}

/* ---- error bodies and the cursor ---------------------------------------- */

int tb_error_encode(int status, const char *code, const char *message,
                    int64_t expected_seq, char **out, size_t *outlen)
{
	struct tb_buf b = TB_BUF_INIT;
	int rc = tb_buf_puts(&b, "{\"status\":");

	if (rc == TB_OK)
		rc = tb_json_put_int(&b, status);
	if (rc == TB_OK)
		rc = put_str(&b, "error", code);
	if (rc == TB_OK)
		rc = put_str(&b, "message", message);
	if (rc == TB_OK && expected_seq >= 0)
		rc = put_int(&b, "expected_seq", expected_seq);
	if (rc == TB_OK)
		rc = tb_buf_putc(&b, '}');
	return finish(&b, rc, out, outlen);
}

enum { E_STATUS, E_ERROR, E_MESSAGE, E_EXPECTED, E_COUNT };

static const char *const error_keys[E_COUNT] = {"status", "error", "message",
                                                "expected_seq"};

int tb_error_decode(const char *json, size_t len, struct tb_error_body *e)
{
	const cJSON *k[E_COUNT];
	cJSON *root = NULL;
	const char *code, *message;
	int64_t status;
	int rc;

	tb_json_begin();
	memset(e, 0, sizeof(*e));
	e->expected_seq = -1;
	rc = tb_json_parse(json, len, &wire_limits, &root, NULL, NULL, 0);
	if (rc)
		goto out;
	rc = TB_EINVAL;
	if (!cJSON_IsObject(root) ||
	    tb_json_members(root, error_keys, E_COUNT, k) >= 0)
		goto out;
	code = tb_json_str(k[E_ERROR]);
	message = tb_json_str(k[E_MESSAGE]);
	if (tb_json_int(k[E_STATUS], 100, 599, &status) || !code ||
	    strlen(code) >= sizeof(e->code) || !message)
		goto out;
	if (k[E_EXPECTED] &&
	    tb_json_int(k[E_EXPECTED], 0, TB_SEQ_MAX, &e->expected_seq))
		goto out;
	e->status = (int)status;
	memcpy(e->code, code, strlen(code) + 1);
	copy_utf8(e->message, sizeof(e->message), message);
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc) {
		memset(e, 0, sizeof(*e));
		e->expected_seq = -1;
	}
	return rc;
}

int tb_cursor_encode(const char *device, int64_t committed_through, char **out,
                     size_t *outlen)
{
	struct tb_buf b = TB_BUF_INIT;
	int rc = tb_buf_puts(&b, "{\"device\":");

	if (rc == TB_OK)
		rc = tb_json_put_str(&b, device);
	if (rc == TB_OK)
		rc = put_int(&b, "committed_through", committed_through);
	if (rc == TB_OK)
		rc = tb_buf_putc(&b, '}');
	return finish(&b, rc, out, outlen);
}

static const char *const cursor_keys[2] = {"device", "committed_through"};

int tb_cursor_decode(const char *json, size_t len, char *device,
                     int64_t *committed_through)
{
	const cJSON *k[2];
	cJSON *root = NULL;
	char id[TB_ID_LEN];
	int64_t through;
	int rc;

	tb_json_begin();
	rc = tb_json_parse(json, len, &wire_limits, &root, NULL, NULL, 0);
	if (rc)
		goto out;
	rc = TB_EINVAL;
	if (!cJSON_IsObject(root) ||
	    tb_json_members(root, cursor_keys, 2, k) >= 0 || tb_json_uuid(k[0], id) ||
	    tb_json_int(k[1], 0, TB_SEQ_MAX, &through))
		goto out;
	memcpy(device, id, TB_ID_LEN);
	*committed_through = through;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}