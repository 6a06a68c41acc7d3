/* batch.c - batches (see batch.h): the structure, the streaming writer
 * that writes every batch body, and the strict decoder.
 *
 * Layout of the writer's buffer while a batch is built and after finish:
 *
 *   0                         start        HEAD_ROOM
 *   |  (spaces, never sent)  |{"version":...,"events":[|{event},{event}...]}
 *                            ^ *json                    ^ first event
 *
 * The envelope depends on the last seq, known only at the end, so it is
 * written last into the room in front of the events, right-aligned.
 */
#include "protocol/batch.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/msg.h"
#include "protocol/event_json.h"
#include "protocol/json.h"

/* ---- the structure ------------------------------------------------------- */

void tb_batch_init(struct tb_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->version = TB_PROTOCOL_VERSION;
}

void tb_batch_clear(struct tb_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; b->items && i < b->count; i++) {
		tb_event_clear(&b->items[i].ev);
		tb_free(b->items[i].error);
	}
	tb_free(b->items);
	tb_batch_init(b);
}

/* Room for one more item. */
static int batch_reserve(struct tb_batch *b)
{
	struct tb_batch_item *items;
	size_t cap;

	if (b->count < b->cap)
		return 0;
	cap = b->cap ? b->cap * 2 : 16;
	items = tb_realloc(b->items, cap * sizeof(*items));
	if (!items)
		return TB_ENOMEM;
	b->items = items;
	b->cap = cap;
	return 0;
}

int tb_batch_add(struct tb_batch *b, const struct tb_event *e)
{
	struct tb_batch_item *it;

	if (batch_reserve(b))
		return TB_ENOMEM;
	it = &b->items[b->count];
	if (tb_event_copy(&it->ev, e))
		return TB_ENOMEM;
	it->error = NULL;
	if (b->count == 0)
		b->first_seq = e->seq;
	b->last_seq = e->seq;
	b->count++;
	return 0;
}

/* ---- the writer ---------------------------------------------------------- */

int tb_batch_writer_begin(struct tb_batch_writer *w, const char *device,
			  const char *school)
{
	size_t dl = strlen(device), sl = strlen(school);

	if (dl >= sizeof(w->device) || sl >= sizeof(w->school))
		return TB_EINVAL;
	memcpy(w->device, device, dl + 1);
	memcpy(w->school, school, sl + 1);
	w->version = TB_PROTOCOL_VERSION;
	w->first_seq = w->last_seq = 0;
	w->count = 0;
	w->start = 0;
	tb_buf_reset(&w->buf);
	if (tb_buf_reserve(&w->buf, TB_BATCH_HEAD_ROOM) != TB_OK)
		return TB_ENOMEM;
	memset(w->buf.p, ' ', TB_BATCH_HEAD_ROOM); /* filled at finish */
	w->buf.len = TB_BATCH_HEAD_ROOM;
	w->buf.p[w->buf.len] = '\0';
	return TB_OK;
}

int tb_batch_writer_add(struct tb_batch_writer *w, const struct tb_event *e)
{
	size_t before = w->buf.len;
	int rc = w->count ? tb_buf_putc(&w->buf, ',') : TB_OK;

	if (rc == TB_OK)
		rc = tb_event_write(&w->buf, e);
	if (rc != TB_OK) {
		w->buf.len = before;
		if (w->buf.p)
			w->buf.p[before] = '\0';
		return rc;
	}
	if (w->count == 0)
		w->first_seq = e->seq;
	w->last_seq = e->seq;
	w->count++;
	return TB_OK;
}

size_t tb_batch_writer_events_len(const struct tb_batch_writer *w)
{
	return w->buf.len > TB_BATCH_HEAD_ROOM ? w->buf.len - TB_BATCH_HEAD_ROOM
					       : 0;
}

/* {"version":1,"device":"...","school":"...","first_seq":N,"last_seq":N,
 * "events":[ into w->head. */
static int write_envelope(struct tb_batch_writer *w)
{
	struct tb_buf *h = &w->head;
	int rc;

	tb_buf_reset(h);
	rc = tb_buf_puts(h, "{\"version\":");
	if (rc == TB_OK)
		rc = tb_json_put_int(h, w->version);
	if (rc == TB_OK)
		rc = tb_buf_puts(h, ",\"device\":");
	if (rc == TB_OK)
		rc = tb_json_put_str(h, w->device);
	if (rc == TB_OK)
		rc = tb_buf_puts(h, ",\"school\":");
	if (rc == TB_OK)
		rc = tb_json_put_str(h, w->school);
	if (rc == TB_OK)
		rc = tb_buf_puts(h, ",\"first_seq\":");
	if (rc == TB_OK)
		rc = tb_json_put_int(h, w->first_seq);
	if (rc == TB_OK)
		rc = tb_buf_puts(h, ",\"last_seq\":");
	if (rc == TB_OK)
		rc = tb_json_put_int(h, w->last_seq);
	if (rc == TB_OK)
		rc = tb_buf_puts(h, ",\"events\":[");
	return rc;
}

int tb_batch_writer_finish(struct tb_batch_writer *w, const char **json,
			   size_t *len)
{
	int rc;

	*json = NULL;
	*len = 0;
	if (w->buf.len < TB_BATCH_HEAD_ROOM)
		return TB_EINVAL; /* not begun */
	rc = write_envelope(w);
	if (rc == TB_OK && w->head.len > TB_BATCH_HEAD_ROOM)
		rc = TB_ETOOBIG; /* cannot happen: begin bounds device, school */
	if (rc == TB_OK)
		rc = tb_buf_add(&w->buf, "]}", 2);
	if (rc != TB_OK)
		return rc;
	w->start = TB_BATCH_HEAD_ROOM - w->head.len;
	memcpy(w->buf.p + w->start, w->head.p, w->head.len);
	*json = w->buf.p + w->start;
	*len = w->buf.len - w->start;
	/* a second finish would add "]}" again: only begin may follow */
	return TB_OK;
}

void tb_batch_writer_cleanup(struct tb_batch_writer *w)
{
	if (!w)
		return;
	tb_buf_free(&w->buf);
	tb_buf_free(&w->head);
	memset(w, 0, sizeof(*w));
}

int tb_batch_encode(const struct tb_batch *b, char **out, size_t *outlen)
{
	struct tb_batch_writer w = TB_BATCH_WRITER_INIT;
	const char *json = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*outlen = 0;
	rc = tb_batch_writer_begin(&w, b->device, b->school);
	for (size_t i = 0; rc == TB_OK && i < b->count; i++)
		rc = tb_batch_writer_add(&w, &b->items[i].ev);
	w.version = b->version;
	w.first_seq = b->first_seq;
	w.last_seq = b->last_seq;
	if (rc == TB_OK)
		rc = tb_batch_writer_finish(&w, &json, &len);
	if (rc == TB_OK) {
		/* hand the buffer over with the JSON at its start */
		memmove(w.buf.p, json, len + 1);
		w.buf.len = len;
		*out = tb_buf_detach(&w.buf, outlen);
	}
	tb_batch_writer_cleanup(&w);
	return rc == TB_OK && !*out ? TB_ENOMEM : rc;
}

/* ---- decoding ------------------------------------------------------------ */

static const struct tb_json_limits wire_limits = {TB_WIRE_DEPTH_MAX,
						  TB_WIRE_VALUES_MAX};


/* "version" must be there and be TB_PROTOCOL_VERSION. */
int tb_batch_check_version(const cJSON *item, char *msg, size_t msglen)
{
	int64_t v;

	if (!item)
		return tb_msg(TB_EINVAL, msg, msglen, "version: required");
	if (tb_json_int(item, INT32_MIN, INT32_MAX, &v))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "version: must be a whole number");
	if (v != TB_PROTOCOL_VERSION)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "version: unsupported protocol version %" PRId64
		              " (supported: %d)",
		              v, TB_PROTOCOL_VERSION);
	return 0;
}

enum { B_VERSION, B_DEVICE, B_SCHOOL, B_FIRST, B_LAST, B_EVENTS, B_COUNT };

static const char *const batch_keys[B_COUNT] = {
    "version", "device", "school", "first_seq", "last_seq", "events"};

static int seq_field(const cJSON *item, const char *name, int64_t *out,
                     char *msg, size_t msglen)
{
	if (!item)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: required", name);
	if (tb_json_int(item, 1, TB_SEQ_MAX, out))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "%s: must be a whole number from 1 to %" PRId64,
		              name, TB_SEQ_MAX);
	return 0;
}

/* The batch's device and school (both required). */
static int batch_source(const cJSON *device, const cJSON *school,
                        struct tb_batch *b, char *msg, size_t msglen)
{
	const char *s;

	if (!device)
		return tb_msg(TB_EINVAL, msg, msglen, "device: required");
	if (tb_json_uuid(device, b->device))
		return tb_msg(TB_EINVAL, msg, msglen, "device: " TB_RULE_UUID);
	if (!school)
		return tb_msg(TB_EINVAL, msg, msglen, "school: required");
	s = tb_json_str(school);
	if (!s || !tb_code_valid(s))
		return tb_msg(TB_EINVAL, msg, msglen, TB_RULE_SCHOOL);
	memcpy(b->school, s, strlen(s) + 1);
	return 0;
}

/* The envelope of a batch; *events set to its array. */
static int batch_envelope(const cJSON *root, struct tb_batch *b,
                          const cJSON **events, char *msg, size_t msglen)
{
	const cJSON *k[B_COUNT];
	size_t n;
	int dup, rc;

	if (!cJSON_IsObject(root))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "body: must be a JSON object");
	dup = tb_json_members(root, batch_keys, B_COUNT, k);
	if (dup >= 0)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: given twice",
		              batch_keys[dup]);
	rc = tb_batch_check_version(k[B_VERSION], msg, msglen);
	if (rc)
		return rc;
	b->version = TB_PROTOCOL_VERSION;
	rc = batch_source(k[B_DEVICE], k[B_SCHOOL], b, msg, msglen);
	if (!rc)
		rc = seq_field(k[B_FIRST], "first_seq", &b->first_seq, msg,
		               msglen);
	if (!rc)
		rc = seq_field(k[B_LAST], "last_seq", &b->last_seq, msg, msglen);
	if (rc)
		return rc;
	if (b->last_seq < b->first_seq)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "last_seq: must not be below first_seq (%" PRId64
		              " < %" PRId64 ")",
		              b->last_seq, b->first_seq);
	if (!k[B_EVENTS])
		return tb_msg(TB_EINVAL, msg, msglen, "events: required");
	if (!cJSON_IsArray(k[B_EVENTS]))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events: must be a JSON array");
	n = (size_t)cJSON_GetArraySize(k[B_EVENTS]);
	if (n > TB_BATCH_MAX_EVENTS) {
		return tb_msg(TB_ETOOBIG, msg, msglen,
		              "events: at most %d in one batch (%zu)",
		              TB_BATCH_MAX_EVENTS, n);
	}
	if ((uint64_t)(b->last_seq - b->first_seq) + 1 != n)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events: first_seq %" PRId64
		              " to last_seq %" PRId64 " needs %" PRId64
		              " events, got %zu",
		              b->first_seq, b->last_seq,
		              b->last_seq - b->first_seq + 1, n);
	*events = k[B_EVENTS];
	return 0;
}

static const char *const id_seq_keys[2] = {"id", "seq"};

/* Batch-level checks of event i: an object with one usable id and the
 * expected seq. */
static int batch_event_ids(const cJSON *obj, size_t i, int64_t seq, char *msg,
                           size_t msglen)
{
	const cJSON *k[2];
	char id[TB_ID_LEN];
	int64_t got;

	if (!cJSON_IsObject(obj))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events[%zu]: must be a JSON object", i);
	if (tb_json_members(obj, id_seq_keys, 2, k) >= 0)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events[%zu]: id or seq given twice", i);
	if (!k[0] || tb_json_uuid(k[0], id))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events[%zu].id: " TB_RULE_UUID, i);
	if (!k[1] || tb_json_int(k[1], 1, TB_SEQ_MAX, &got) || got != seq)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events[%zu].seq: must be %" PRId64
		              " (first_seq + %zu)",
		              i, seq, i);
	return 0;
}

/* Reads event i into the next item: a rule broken by the event becomes
 * item.error; only TB_ENOMEM is returned as an error. */
static int batch_event(const cJSON *obj, struct tb_batch *b)
{
	struct tb_batch_item *it = &b->items[b->count];
	char emsg[TB_MSG_LEN], id[TB_ID_LEN];
	int64_t seq = b->first_seq + (int64_t)b->count;
	int rc;

	tb_event_init(&it->ev, TB_KIND_OUTREACH);
	it->error = NULL;
	b->count++; /* from here on tb_batch_clear frees the item */
	memcpy(it->ev.school, b->school, sizeof(b->school));
	memcpy(it->ev.device, b->device, sizeof(b->device));
	rc = tb_event_read_shape(obj, &it->ev, emsg, sizeof(emsg));
	if (rc == 0)
		rc = tb_event_validate(&it->ev, 1, emsg, sizeof(emsg));
	if (rc == 0 && strcmp(it->ev.school, b->school) != 0)
		rc = tb_msg(TB_EINVAL, emsg, sizeof(emsg),
		            "school: must be the batch's school (%s)",
		            b->school);
	if (rc == 0 && strcmp(it->ev.device, b->device) != 0)
		rc = tb_msg(TB_EINVAL, emsg, sizeof(emsg),
		            "device: must be the batch's device (%s)",
		            b->device);
	if (rc != TB_EINVAL)
		return rc;
	/* keep what the acknowledgement needs: id and seq */
	tb_json_uuid(cJSON_GetObjectItemCaseSensitive(obj, "id"), id);
	tb_event_clear(&it->ev);
	memcpy(it->ev.id, id, sizeof(id));
	memcpy(it->ev.school, b->school, sizeof(b->school));
	memcpy(it->ev.device, b->device, sizeof(b->device));
	it->ev.seq = seq;
	it->error = tb_strdup(emsg);
	return it->error ? 0 : TB_ENOMEM;
}

int tb_batch_decode(const char *json, size_t len, struct tb_batch *b, char *msg,
                    size_t msglen)
{
	const cJSON *events = NULL, *ev;
	cJSON *root = NULL;
	size_t i = 0;
	int rc;

	tb_json_begin();
	tb_batch_clear(b);
	if (msg && msglen)
		msg[0] = '\0';
	rc = tb_json_parse(json, len, &wire_limits, &root, NULL, msg, msglen);
	if (rc)
		goto out;
	rc = batch_envelope(root, b, &events, msg, msglen);
	if (rc)
		goto out;
	/* all batch-level checks first, so a bad event 4000 costs no work */
	cJSON_ArrayForEach(ev, events)
	{
		rc = batch_event_ids(ev, i, b->first_seq + (int64_t)i, msg,
		                     msglen);
		if (rc)
			goto out;
		i++;
	}
	b->items = tb_calloc(i ? i : 1, sizeof(*b->items));
	if (!b->items) {
		rc = TB_ENOMEM;
		goto out;
	}
	b->cap = i ? i : 1;
	cJSON_ArrayForEach(ev, events)
	{
		rc = batch_event(ev, b);
		if (rc)
			goto out;
	}
out:
	cJSON_Delete(root);
	if (rc)
		tb_batch_clear(b);
	if (rc == TB_ENOMEM)
		tb_msg(rc, msg, msglen, "out of memory");
	return rc;
}