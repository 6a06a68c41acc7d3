/* codec.c - the JSON messages of PROTOCOL.md: batches, events,
 * acknowledgements, error bodies and the cursor reply (cJSON).
 *
 * Called by the agent (encode batches, decode acks, errors and cursors)
 * and the server (decode batches, encode the rest); both sides run this one
 * file, and tests/test_vectors.c holds it to protocol/vectors/.
 *
 * What it guarantees:
 *  - Encoding is compact (no whitespace) and deterministic: envelope keys
 *    in a fixed order, then an event's fields in the order of its kind's
 *    table (common/event.h); unset fields, "voided":false and a missing
 *    void_reason are left out. Integers are written exactly (%PRId64), not
 *    through a double, so the same batch always gives the same bytes.
 *  - Decoding is strict about JSON types: counts, sequence numbers,
 *    revisions and versions must be JSON numbers with an integral value in
 *    range (1.5, "3", -1, true are refused); booleans must be true/false;
 *    text must be a JSON string. cJSON reads numbers as doubles, which hold
 *    every integer up to 2^53 exactly, so sequence numbers and ack counters
 *    are limited to TB_SEQ_MAX = 2^53 - 1: any number text at or above 2^53
 *    parses to a double >= 2^53 and is refused, never silently rounded.
 *  - Before cJSON sees a body, a linear scan refuses NUL bytes, the escape
 *    \u0000 (it would silently cut a C string short), nesting deeper than
 *    JSON_DEPTH_MAX (TB_EINVAL) and more than JSON_VALUES_MAX values
 *    (TB_ETOOBIG): parse memory stays proportional to a legitimate batch,
 *    and a body nested 100,000 deep is a clean TB_EINVAL, no recursion.
 *  - A key given twice in one object is refused (never "first one wins").
 *    Unknown keys are ignored at the top level of a batch, an ack, an error
 *    body and a cursor (a later minor addition stays version 1), and refused
 *    in an event ("unknown field 'x' for kind k"): a field the server cannot
 *    store would be lost.
 *  - Batch-level problems (the envelope, an event that is not an object or
 *    lacks a usable id or the expected seq) fail the whole decode; an event
 *    that breaks a rule of the event model gets item.error, read with the
 *    same messages as tb_event_validate (see codec.h).
 *  - cJSON allocates through tb_malloc/tb_free (hooks installed once, on
 *    the first call of any function here), so allocation-failure tests
 *    reach inside cJSON; a failed allocation is TB_ENOMEM, never mistaken
 *    for malformed JSON. Nothing else in tienbo may call cJSON_InitHooks.
 * Messages that quote a value from the input quote at most ECHO_MAX bytes
 * of it, non-printable and non-ASCII bytes shown as '?', so a message is
 * always safe to put back into JSON.
 */
#include "protocol/codec.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/msg.h"

#define JSON_DEPTH_MAX 16
#define JSON_VALUES_MAX (TB_BATCH_MAX_EVENTS * 64 + 64)
#define ECHO_MAX 40
#define KIND_RULE                                                              \
	"kind: must be one of outreach, training, action-month, web-post, "    \
	"snapshot"
#define SCHOOL_RULE                                                            \
	"school: must be 2-32 characters of A-Z, 0-9, '-' or '_', starting "   \
	"with a letter or digit"
#define UUID_RULE                                                              \
	"must be a lower-case UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"

/* ---- cJSON allocation hooks --------------------------------------------- */

static _Thread_local int codec_oom; /* an allocation failed in this call */
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *codec_malloc(size_t n)
{
	void *p = tb_malloc(n);

	if (!p)
		codec_oom = 1;
	return p;
}

static void codec_free(void *p)
{
	tb_free(p);
}

static void hooks_install(void)
{
	cJSON_Hooks h = {codec_malloc, codec_free};

	cJSON_InitHooks(&h);
}

/* Every public function starts here. */
static void codec_begin(void)
{
	pthread_once(&hooks_once, hooks_install);
	codec_oom = 0;
}

/* ---- messages ----------------------------------------------------------- */

/* A printable-ASCII rendering of at most ECHO_MAX bytes of s. */
static const char *echo(const char *s, char buf[ECHO_MAX + 4])
{
	size_t i;

	for (i = 0; i < ECHO_MAX && s[i]; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

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

/* ---- reading JSON ------------------------------------------------------- */

/* The linear pre-scan described at the top of the file. */
static int json_prescan(const char *s, size_t len, char *msg, size_t msglen)
{
	size_t values = 1;
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\0')
			return tb_msg(TB_EINVAL, msg, msglen,
			              "body: NUL byte at byte %zu", i);
		if (in_str) {
			if (c == '\\') {
				if (i + 5 < len && s[i + 1] == 'u' &&
				    memcmp(s + i + 2, "0000", 4) == 0)
					return tb_msg(
					    TB_EINVAL, msg, msglen,
					    "body: \\u0000 in a string "
					    "at byte %zu",
					    i);
				i++;
			} else if (c == '"') {
				in_str = 0;
			}
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > JSON_DEPTH_MAX)
				return tb_msg(
				    TB_EINVAL, msg, msglen,
				    "body: JSON nested deeper than %d "
				    "levels",
				    JSON_DEPTH_MAX);
			values++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',') {
			values++;
		}
		if (values > JSON_VALUES_MAX) {
			return tb_msg(TB_ETOOBIG, msg, msglen,
			              "body: more than %d JSON values",
			              JSON_VALUES_MAX);
		}
	}
	return 0;
}

/* Parses exactly one JSON value (surrounding whitespace allowed). */
static int json_parse(const char *json, size_t len, cJSON **root, char *msg,
                      size_t msglen)
{
	const char *end = NULL;
	int rc;

	*root = NULL;
	if (!json || len == 0)
		return tb_msg(TB_EINVAL, msg, msglen, "body: empty");
	rc = json_prescan(json, len, msg, msglen);
	if (rc)
		return rc;
	*root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!*root) {
		if (codec_oom)
			return TB_ENOMEM;
		return tb_msg(TB_EINVAL, msg, msglen, "body: malformed JSON");
	}
	while (end < json + len &&
	       (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != json + len) {
		cJSON_Delete(*root);
		*root = NULL;
		return tb_msg(TB_EINVAL, msg, msglen,
		              "body: data after the JSON value at byte %zu",
		              (size_t)(end - json));
	}
	return 0;
}

/* slot[i] = the member of obj named names[i], or NULL. Other keys are
 * skipped. Returns the index of a name given twice, or -1. */
static int json_members(const cJSON *obj, const char *const *names, size_t n,
                        const cJSON **slot)
{
	for (size_t i = 0; i < n; i++)
		slot[i] = NULL;
	for (const cJSON *c = obj->child; c; c = c->next) {
		for (size_t i = 0; i < n; i++) {
			if (!c->string || strcmp(c->string, names[i]) != 0)
				continue;
			if (slot[i])
				return (int)i;
			slot[i] = c;
			break;
		}
	}
	return -1;
}

/* 0 and *out if item is a JSON number with an integral value in lo..hi
 * (both within +-2^53, where doubles are exact). */
static int json_int(const cJSON *item, int64_t lo, int64_t hi, int64_t *out)
{
	double d;
	int64_t v;

	if (!cJSON_IsNumber(item))
		return TB_EINVAL;
	/* cJSON_IsNumber (in libcjson, out of the analyzer's sight) is false
	 * for NULL.
	 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	d = item->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi)) /* NaN fails too */
		return TB_EINVAL;
	v = (int64_t)d;
	if ((double)v != d)
		return TB_EINVAL;
	*out = v;
	return 0;
}

/* The string of item if it is a JSON string, else NULL. */
static const char *json_str(const cJSON *item)
{
	/* cJSON_IsString (in libcjson, out of the analyzer's sight) is false
	 * for NULL.
	 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int json_uuid(const cJSON *item, char out[TB_ID_LEN])
{
	const char *s = json_str(item);

	if (!s || !tb_uuid_valid(s))
		return TB_EINVAL;
	memcpy(out, s, TB_ID_LEN);
	return 0;
}

/* "version" must be there and be TB_PROTOCOL_VERSION. */
static int check_version(const cJSON *item, char *msg, size_t msglen)
{
	int64_t v;

	if (!item)
		return tb_msg(TB_EINVAL, msg, msglen, "version: required");
	if (json_int(item, INT32_MIN, INT32_MAX, &v))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "version: must be a whole number");
	if (v != TB_PROTOCOL_VERSION)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "version: unsupported protocol version %" PRId64
		              " (supported: %d)",
		              v, TB_PROTOCOL_VERSION);
	return 0;
}

/* ---- writing JSON ------------------------------------------------------- */

/* Keys are static strings (literals or field tables): added as constants. */
static int add_item(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return TB_ENOMEM;
	if (!cJSON_AddItemToObjectCS(obj, key, item)) {
		cJSON_Delete(item);
		return TB_ENOMEM;
	}
	return 0;
}

/* An integer written exactly: a raw number in trees that are printed
 * here and never handed out (cJSON would print a double, e.g. 1e+15). */
static int add_int(cJSON *obj, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return add_item(obj, key, cJSON_CreateRaw(buf));
}

/* An integer in a tree handed to the caller: a plain cJSON number, so
 * cJSON_IsNumber and valuedouble work on it (exact up to 2^53). */
static int add_num(cJSON *obj, const char *key, int64_t v)
{
	return add_item(obj, key, cJSON_CreateNumber((double)v));
}

static int add_str(cJSON *obj, const char *key, const char *s)
{
	return add_item(obj, key, cJSON_CreateString(s ? s : ""));
}

static int add_bool(cJSON *obj, const char *key, int v)
{
	return add_item(obj, key, cJSON_CreateBool(v));
}

/* Every encoder: clears the outputs, returns the root object (NULL on
 * TB_ENOMEM). */
static cJSON *json_begin(char **out, size_t *outlen)
{
	codec_begin();
	*out = NULL;
	*outlen = 0;
	return cJSON_CreateObject();
}

/* Every encoder ends here: on rc == 0 prints root compactly into *out
 * (tb_malloc'd); deletes root in any case. */
static int json_end(cJSON *root, int rc, char **out, size_t *outlen)
{
	char *s = NULL;

	if (!root)
		return TB_ENOMEM;
	if (rc == 0) {
		s = cJSON_PrintUnformatted(root);
		rc = s ? 0 : TB_ENOMEM;
	}
	cJSON_Delete(root);
	if (rc == 0) {
		*out = s;
		*outlen = strlen(s);
	}
	return rc;
}

/* ---- events ------------------------------------------------------------- */

enum {
	K_ID,
	K_SCHOOL,
	K_DEVICE,
	K_SEQ,
	K_KIND,
	K_DATE,
	K_REVISION,
	K_RECORDED_AT,
	K_VOIDED,
	K_VOID_REASON,
	K_COUNT
};

static const char *const event_keys[K_COUNT] = {
    "id",   "school",   "device",      "seq",    "kind",
    "date", "revision", "recorded_at", "voided", "void_reason"};

/* The event object of e: in a batch without school and device (the
 * envelope has them), always with seq, integers raw; on its own (an export
 * handed to the caller) with school and device and integers as numbers.
 * NULL on TB_ENOMEM. */
static cJSON *event_json(const struct tb_event *e, int in_batch)
{
	cJSON *o = cJSON_CreateObject();
	const struct tb_field *f;
	const char *kind = tb_kind_name(e->kind);
	char date[TB_DATE_LEN], at[TB_TIME_LEN];
	int (*put_int)(cJSON *, const char *, int64_t) =
	    in_batch ? add_int : add_num;
	size_t n;
	int rc;

	if (!o)
		return NULL;
	rc = add_str(o, "id", e->id);
	if (!rc && !in_batch)
		rc = add_str(o, "school", e->school);
	if (!rc && !in_batch && e->device[0])
		rc = add_str(o, "device", e->device);
	if (!rc && (in_batch || e->seq > 0))
		rc = put_int(o, "seq", e->seq);
	if (!rc)
		rc = add_str(o, "kind", kind ? kind : "");
	if (!rc)
		rc = add_str(o, "date", tb_date_format(e->date, date));
	if (!rc)
		rc = put_int(o, "revision", e->revision);
	if (!rc)
		rc = add_str(o, "recorded_at",
		             tb_time_format(e->recorded_at, at));
	if (!rc && e->voided)
		rc = add_bool(o, "voided", 1);
	if (!rc && e->void_reason)
		rc = add_str(o, "void_reason", e->void_reason);
	f = tb_kind_fields(e->kind, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		const struct tb_value *v = &e->v[i];

		if (!v->set)
			continue;
		if (f[i].type == TB_FT_COUNT)
			rc = put_int(o, f[i].name, v->n);
		else if (f[i].type == TB_FT_BOOL)
			rc = add_bool(o, f[i].name, v->n != 0);
		else
			rc = add_str(o, f[i].name, v->s);
	}
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Who the event belongs to: id, and school, device and seq when given. */
static int event_owner(const cJSON *const *k, struct tb_event *e, char *msg,
                       size_t msglen)
{
	const char *s;

	if (!k[K_ID] || json_uuid(k[K_ID], e->id))
		return tb_msg(TB_EINVAL, msg, msglen, "id: " UUID_RULE);
	if (k[K_SCHOOL]) {
		s = json_str(k[K_SCHOOL]);
		if (!s || !tb_code_valid(s))
			return tb_msg(TB_EINVAL, msg, msglen, SCHOOL_RULE);
		memcpy(e->school, s, strlen(s) + 1);
	}
	if (k[K_DEVICE]) {
		s = json_str(k[K_DEVICE]);
		if (s && !*s)
			e->device[0] = '\0';
		else if (json_uuid(k[K_DEVICE], e->device))
			return tb_msg(
			    TB_EINVAL, msg, msglen,
			    "device: must be a lower-case UUID or empty");
	}
	if (k[K_SEQ]) {
		if (json_int(k[K_SEQ], 1, TB_SEQ_MAX, &e->seq))
			return tb_msg(TB_EINVAL, msg, msglen,
			              "seq: must be a whole number from 1 to "
			              "%" PRId64,
			              TB_SEQ_MAX);
	}
	return 0;
}

/* What the event is: kind, date, revision, recorded_at, voiding. */
static int event_header(const cJSON *const *k, struct tb_event *e, char *msg,
                        size_t msglen)
{
	char ebuf[ECHO_MAX + 4];
	const char *s;
	int64_t v;

	if (!k[K_KIND])
		return tb_msg(TB_EINVAL, msg, msglen, "kind: required");
	s = json_str(k[K_KIND]);
	if (!s || tb_kind_parse(s, &e->kind))
		return tb_msg(TB_EINVAL, msg, msglen, KIND_RULE);
	if (!k[K_DATE])
		return tb_msg(TB_EINVAL, msg, msglen, "date: required");
	s = json_str(k[K_DATE]);
	if (!s || tb_date_parse(s, &e->date))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "date: must be a real date written YYYY-MM-DD, "
		              "from %d-01-01 to %d-12-31 (%s)",
		              TB_YEAR_MIN, TB_YEAR_MAX,
		              s ? echo(s, ebuf) : "not a string");
	if (!k[K_REVISION])
		return tb_msg(TB_EINVAL, msg, msglen, "revision: required");
	if (json_int(k[K_REVISION], 1, TB_REVISION_MAX, &e->revision))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "revision: must be between 1 and %d",
		              TB_REVISION_MAX);
	if (!k[K_RECORDED_AT])
		return tb_msg(TB_EINVAL, msg, msglen, "recorded_at: required");
	s = json_str(k[K_RECORDED_AT]);
	if (!s || tb_time_parse(s, &v))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "recorded_at: must be a UTC time written "
		              "YYYY-MM-DDTHH:MM:SSZ, in the years %d-%d (%s)",
		              TB_YEAR_MIN, TB_YEAR_MAX,
		              s ? echo(s, ebuf) : "not a string");
	e->recorded_at = v;
	if (k[K_VOIDED]) {
		if (!cJSON_IsBool(k[K_VOIDED]))
			return tb_msg(TB_EINVAL, msg, msglen,
			              "voided: must be true or false");
		e->voided = cJSON_IsTrue(k[K_VOIDED]) ? 1 : 0;
	}
	if (k[K_VOID_REASON]) {
		s = json_str(k[K_VOID_REASON]);
		if (!s)
			return tb_msg(TB_EINVAL, msg, msglen,
			              "void_reason: must be a string");
		e->void_reason = tb_strdup(s);
		if (!e->void_reason)
			return TB_ENOMEM;
	}
	return 0;
}

static int is_event_key(const char *key)
{
	for (size_t i = 0; key && i < K_COUNT; i++)
		if (strcmp(event_keys[i], key) == 0)
			return 1;
	return 0;
}

/* Index of the field of e's kind whose JSON key is exactly key, or -1. */
static int field_of(const struct tb_field *f, size_t n, const char *key)
{
	for (size_t i = 0; key && i < n; i++)
		if (strcmp(f[i].name, key) == 0)
			return (int)i;
	return -1;
}

/* Reads one field value, checking its JSON type. */
static int event_field(const struct tb_field *f, const cJSON *item,
                       struct tb_value *v, char *msg, size_t msglen)
{
	const char *s;

	switch (f->type) {
	case TB_FT_COUNT:
		if (json_int(item, 0, TB_COUNT_MAX, &v->n))
			return tb_msg(TB_EINVAL, msg, msglen,
			              "%s: must be a whole number from 0 to %d",
			              f->name, TB_COUNT_MAX);
		break;
	case TB_FT_BOOL:
		if (!cJSON_IsBool(item))
			return tb_msg(TB_EINVAL, msg, msglen,
			              "%s: must be true or false", f->name);
		v->n = cJSON_IsTrue(item) ? 1 : 0;
		break;
	default:
		s = json_str(item);
		if (!s)
			return tb_msg(TB_EINVAL, msg, msglen,
			              "%s: must be a string", f->name);
		/* "" is no value (as on the command line): leave it out */
		if (!*s && f->required)
			return tb_msg(TB_EINVAL, msg, msglen, "%s: required",
			              f->name);
		if (!*s)
			return tb_msg(
			    TB_EINVAL, msg, msglen,
			    "%s: must not be empty (leave it out when "
			    "not known)",
			    f->name);
		v->s = tb_strdup(s);
		if (!v->s)
			return TB_ENOMEM;
		break;
	}
	v->set = 1;
	return 0;
}

/* Reads obj into e (initialised, school and device as the caller wants
 * them kept when absent). Checks JSON types and formats, not the rules of
 * the event model (tb_event_validate does those). On failure e may be
 * partly filled: the caller clears it. */
static int event_read(const cJSON *obj, struct tb_event *e, char *msg,
                      size_t msglen)
{
	const cJSON *k[K_COUNT];
	const struct tb_field *f;
	char ebuf[ECHO_MAX + 4];
	size_t n;
	int dup, rc;

	if (!cJSON_IsObject(obj))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "event: must be a JSON object");
	dup = json_members(obj, event_keys, K_COUNT, k);
	if (dup >= 0)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: given twice",
		              event_keys[dup]);
	rc = event_owner(k, e, msg, msglen);
	if (rc == 0)
		rc = event_header(k, e, msg, msglen);
	if (rc)
		return rc;
	f = tb_kind_fields(e->kind, &n);
	for (const cJSON *c = obj->child; c; c = c->next) {
		int idx;

		if (is_event_key(c->string))
			continue;
		idx = field_of(f, n, c->string);
		if (idx < 0)
			return tb_msg(TB_EINVAL, msg, msglen,
			              "unknown field '%s' for kind %s",
			              echo(c->string ? c->string : "", ebuf),
			              tb_kind_name(e->kind));
		if (e->v[idx].set)
			return tb_msg(TB_EINVAL, msg, msglen, "%s: given twice",
			              f[idx].name);
		rc = event_field(&f[idx], c, &e->v[idx], msg, msglen);
		if (rc)
			return rc;
	}
	return 0;
}

cJSON *tb_event_to_json(const struct tb_event *e)
{
	codec_begin();
	return event_json(e, 0);
}

/* Reads obj into e; with `rules`, also checks the event model's rules. */
static int event_from_json(const cJSON *obj, struct tb_event *e, int rules,
                           char *msg, size_t msglen)
{
	char school[sizeof(e->school)], device[sizeof(e->device)];
	int rc;

	codec_begin();
	memcpy(school, e->school, sizeof(school));
	memcpy(device, e->device, sizeof(device));
	school[sizeof(school) - 1] = device[sizeof(device) - 1] = '\0';
	if (!tb_code_valid(school)) /* e.g. an uninitialised e */
		school[0] = '\0';
	if (!tb_uuid_valid(device))
		device[0] = '\0';
	tb_event_init(e, TB_KIND_OUTREACH);
	memcpy(e->school, school, sizeof(school));
	memcpy(e->device, device, sizeof(device));
	rc = event_read(obj, e, msg, msglen);
	if (rc == 0 && rules)
		rc = tb_event_validate(e, 0, msg, msglen);
	if (rc)
		tb_event_clear(e);
	return rc;
}

int tb_event_from_json(const cJSON *obj, struct tb_event *e, char *msg,
                       size_t msglen)
{
	return event_from_json(obj, e, 1, msg, msglen);
}

int tb_event_read_json(const cJSON *obj, struct tb_event *e, char *msg,
                       size_t msglen)
{
	return event_from_json(obj, e, 0, msg, msglen);
}

/* ---- batches ------------------------------------------------------------ */

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

int tb_batch_encode(const struct tb_batch *b, char **out, size_t *outlen)
{
	cJSON *root = json_begin(out, outlen), *events = NULL;
	int rc = root ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_int(root, "version", b->version);
	if (!rc)
		rc = add_str(root, "device", b->device);
	if (!rc)
		rc = add_str(root, "school", b->school);
	if (!rc)
		rc = add_int(root, "first_seq", b->first_seq);
	if (!rc)
		rc = add_int(root, "last_seq", b->last_seq);
	if (!rc) {
		events = cJSON_CreateArray();
		rc = add_item(root, "events", events);
	}
	for (size_t i = 0; !rc && i < b->count; i++) {
		cJSON *ev = event_json(&b->items[i].ev, 1);

		if (!ev || !cJSON_AddItemToArray(events, ev)) {
			cJSON_Delete(ev);
			rc = TB_ENOMEM;
		}
	}
	return json_end(root, rc, out, outlen);
}

enum { B_VERSION, B_DEVICE, B_SCHOOL, B_FIRST, B_LAST, B_EVENTS, B_COUNT };

static const char *const batch_keys[B_COUNT] = {
    "version", "device", "school", "first_seq", "last_seq", "events"};

static int seq_field(const cJSON *item, const char *name, int64_t *out,
                     char *msg, size_t msglen)
{
	if (!item)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: required", name);
	if (json_int(item, 1, TB_SEQ_MAX, out))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "%s: must be a whole number from 1 to %" PRId64,
		              name, TB_SEQ_MAX);
	return 0;
}

/* The envelope of a batch; *events set to its array. */
static int batch_envelope(const cJSON *root, struct tb_batch *b,
                          const cJSON **events, char *msg, size_t msglen)
{
	const cJSON *k[B_COUNT];
	const char *s;
	size_t n;
	int dup, rc;

	if (!cJSON_IsObject(root))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "body: must be a JSON object");
	dup = json_members(root, batch_keys, B_COUNT, k);
	if (dup >= 0)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: given twice",
		              batch_keys[dup]);
	rc = check_version(k[B_VERSION], msg, msglen);
	if (rc)
		return rc;
	b->version = TB_PROTOCOL_VERSION;
	if (!k[B_DEVICE])
		return tb_msg(TB_EINVAL, msg, msglen, "device: required");
	if (json_uuid(k[B_DEVICE], b->device))
		return tb_msg(TB_EINVAL, msg, msglen, "device: " UUID_RULE);
	if (!k[B_SCHOOL])
		return tb_msg(TB_EINVAL, msg, msglen, "school: required");
	s = json_str(k[B_SCHOOL]);
	if (!s || !tb_code_valid(s))
		return tb_msg(TB_EINVAL, msg, msglen, SCHOOL_RULE);
	memcpy(b->school, s, strlen(s) + 1);
	rc = seq_field(k[B_FIRST], "first_seq", &b->first_seq, msg, msglen);
	if (!rc)
		rc =
		    seq_field(k[B_LAST], "last_seq", &b->last_seq, msg, msglen);
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
	if (json_members(obj, id_seq_keys, 2, k) >= 0)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events[%zu]: id or seq given twice", i);
	if (!k[0] || json_uuid(k[0], id))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "events[%zu].id: " UUID_RULE, i);
	if (!k[1] || json_int(k[1], 1, TB_SEQ_MAX, &got) || got != seq)
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
	rc = event_read(obj, &it->ev, emsg, sizeof(emsg));
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
	json_uuid(cJSON_GetObjectItemCaseSensitive(obj, "id"), id);
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

	codec_begin();
	tb_batch_clear(b);
	if (msg && msglen)
		msg[0] = '\0';
	rc = json_parse(json, len, &root, msg, msglen);
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
	cJSON *root = json_begin(out, outlen), *rej = NULL;
	int rc = root ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_int(root, "version", TB_PROTOCOL_VERSION);
	if (!rc)
		rc = add_str(root, "device", a->device);
	if (!rc)
		rc = add_int(root, "committed_through", a->committed_through);
	if (!rc)
		rc = add_int(root, "accepted", a->accepted);
	if (!rc)
		rc = add_int(root, "duplicates", a->duplicates);
	if (!rc) {
		rej = cJSON_CreateArray();
		rc = add_item(root, "rejected", rej);
	}
	for (size_t i = 0; !rc && i < a->nrejected; i++) {
		const struct tb_reject *r = &a->rejected[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(rej, o)) {
			cJSON_Delete(o);
			rc = TB_ENOMEM;
			break;
		}
		rc = add_str(o, "id", r->id);
		if (!rc)
			rc = add_int(o, "seq", r->seq);
		if (!rc)
			rc = add_str(o, "reason", r->reason);
	}
	return json_end(root, rc, out, outlen);
}

static int counter(const cJSON *item, const char *name, int64_t lo,
                   int64_t *out, char *msg, size_t msglen)
{
	if (!item)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: required", name);
	if (json_int(item, lo, TB_SEQ_MAX, out))
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
	if (json_members(o, reject_keys, 3, k) >= 0)
		return tb_msg(TB_EINVAL, msg, msglen,
		              "rejected[%zu]: a key given twice", i);
	if (!k[0] || json_uuid(k[0], id))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "rejected[%zu].id: " UUID_RULE, i);
	snprintf(name, sizeof(name), "rejected[%zu].seq", i);
	rc = counter(k[1], name, 1, &seq, msg, msglen);
	if (rc)
		return rc;
	reason = json_str(k[2]);
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
	dup = json_members(root, ack_keys, A_COUNT, k);
	if (dup >= 0)
		return tb_msg(TB_EINVAL, msg, msglen, "%s: given twice",
		              ack_keys[dup]);
	rc = check_version(k[A_VERSION], msg, msglen);
	if (rc)
		return rc;
	if (!k[A_DEVICE] || json_uuid(k[A_DEVICE], a->device))
		return tb_msg(TB_EINVAL, msg, msglen, "device: " UUID_RULE);
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

	codec_begin();
	tb_ack_clear(a);
	rc = json_parse(json, len, &root, msg, msglen);
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
	cJSON *root = json_begin(out, outlen);
	int rc = root ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_int(root, "status", status);
	if (!rc)
		rc = add_str(root, "error", code);
	if (!rc)
		rc = add_str(root, "message", message);
	if (!rc && expected_seq >= 0)
		rc = add_int(root, "expected_seq", expected_seq);
	return json_end(root, rc, out, outlen);
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

	codec_begin();
	memset(e, 0, sizeof(*e));
	e->expected_seq = -1;
	rc = json_parse(json, len, &root, NULL, 0);
	if (rc)
		goto out;
	rc = TB_EINVAL;
	if (!cJSON_IsObject(root) ||
	    json_members(root, error_keys, E_COUNT, k) >= 0)
		goto out;
	code = json_str(k[E_ERROR]);
	message = json_str(k[E_MESSAGE]);
	if (json_int(k[E_STATUS], 100, 599, &status) || !code ||
	    strlen(code) >= sizeof(e->code) || !message)
		goto out;
	if (k[E_EXPECTED] &&
	    json_int(k[E_EXPECTED], 0, TB_SEQ_MAX, &e->expected_seq))
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
	cJSON *root = json_begin(out, outlen);
	int rc = root ? 0 : TB_ENOMEM;

	if (!rc)
		rc = add_str(root, "device", device);
	if (!rc)
		rc = add_int(root, "committed_through", committed_through);
	return json_end(root, rc, out, outlen);
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

	codec_begin();
	rc = json_parse(json, len, &root, NULL, 0);
	if (rc)
		goto out;
	rc = TB_EINVAL;
	if (!cJSON_IsObject(root) ||
	    json_members(root, cursor_keys, 2, k) >= 0 || json_uuid(k[0], id) ||
	    json_int(k[1], 0, TB_SEQ_MAX, &through))
		goto out;
	memcpy(device, id, TB_ID_LEN);
	*committed_through = through;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}
