/* event_json.c - one event as JSON (see event_json.h): the canonical
 * writer of the batch's event object and of the store's fields object,
 * the exported cJSON tree, and the strict reader of all three.
 *
 * The key tables here and the field tables of common/event.c are the
 * whole vocabulary of an event on the wire.
 */
#include "protocol/event_json.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/msg.h"
#include "protocol/json.h"
#include "protocol/wire.h"

#define KIND_RULE                                                              \
	"kind: must be one of outreach, training, action-month, web-post, "    \
	"snapshot"

/* ---- the exported tree ------------------------------------------------- */

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

/* The exported object of e (see tb_event_to_json). NULL on TB_ENOMEM. */
static cJSON *event_json(const struct tb_event *e)
{
	cJSON *o = cJSON_CreateObject();
	const struct tb_field *f;
	const char *kind = tb_kind_name(e->kind);
	char date[TB_DATE_LEN], at[TB_TIME_LEN];
	size_t n;
	int rc;

	if (!o)
		return NULL;
	rc = add_str(o, "id", e->id);
	if (!rc)
		rc = add_str(o, "school", e->school);
	if (!rc && e->device[0])
		rc = add_str(o, "device", e->device);
	if (!rc && e->seq > 0)
		rc = add_num(o, "seq", e->seq);
	if (!rc)
		rc = add_str(o, "kind", kind ? kind : "");
	if (!rc)
		rc = add_str(o, "date", tb_date_format(e->date, date));
	if (!rc)
		rc = add_num(o, "revision", e->revision);
	if (!rc)
		rc = add_str(o, "recorded_at", tb_time_format(e->recorded_at, at));
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
			rc = add_num(o, f[i].name, v->n);
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

/* ---- the canonical writer ----------------------------------------------- */

/* ,"key": ("key": when it is the first member of a fields object). */
static int put_member_key(struct tb_buf *b, const char *key, int *first)
{
	int rc = TB_OK;

	if (!*first)
		rc = tb_buf_putc(b, ',');
	*first = 0;
	return rc == TB_OK ? tb_json_put_key(b, key) : rc;
}

static int put_str_member(struct tb_buf *b, const char *key, const char *s,
			  int *first)
{
	int rc = put_member_key(b, key, first);

	return rc == TB_OK ? tb_json_put_str(b, s ? s : "") : rc;
}

static int put_int_member(struct tb_buf *b, const char *key, int64_t v,
			  int *first)
{
	int rc = put_member_key(b, key, first);

	return rc == TB_OK ? tb_json_put_int(b, v) : rc;
}

/* The set fields of e, in the order of the kind's table. */
static int put_fields(struct tb_buf *b, const struct tb_event *e, int *first)
{
	const struct tb_field *f;
	size_t n;
	int rc = TB_OK;

	f = tb_kind_fields(e->kind, &n);
	for (size_t i = 0; rc == TB_OK && i < n; i++) {
		const struct tb_value *v = &e->v[i];

		if (!v->set)
			continue;
		if (f[i].type == TB_FT_COUNT) {
			rc = put_int_member(b, f[i].name, v->n, first);
		} else if (f[i].type == TB_FT_BOOL) {
			rc = put_member_key(b, f[i].name, first);
			if (rc == TB_OK)
				rc = tb_buf_puts(b, v->n ? "true" : "false");
		} else {
			rc = put_str_member(b, f[i].name, v->s, first);
		}
	}
	return rc;
}

int tb_event_write(struct tb_buf *b, const struct tb_event *e)
{
	const char *kind = tb_kind_name(e->kind);
	char date[TB_DATE_LEN], at[TB_TIME_LEN];
	int first = 1;
	int rc = tb_buf_putc(b, '{');

	if (rc == TB_OK)
		rc = put_str_member(b, "id", e->id, &first);
	if (rc == TB_OK)
		rc = put_int_member(b, "seq", e->seq, &first);
	if (rc == TB_OK)
		rc = put_str_member(b, "kind", kind, &first);
	if (rc == TB_OK)
		rc = put_str_member(b, "date", tb_date_format(e->date, date),
				    &first);
	if (rc == TB_OK)
		rc = put_int_member(b, "revision", e->revision, &first);
	if (rc == TB_OK)
		rc = put_str_member(b, "recorded_at",
				    tb_time_format(e->recorded_at, at), &first);
	if (rc == TB_OK && e->voided)
		rc = tb_buf_puts(b, ",\"voided\":true");
	if (rc == TB_OK && e->void_reason)
		rc = put_str_member(b, "void_reason", e->void_reason, &first);
	if (rc == TB_OK)
		rc = put_fields(b, e, &first);
	return rc == TB_OK ? tb_buf_putc(b, '}') : rc;
}

int tb_event_fields_write(struct tb_buf *b, const struct tb_event *e)
{
	int first = 1;
	int rc = tb_buf_putc(b, '{');

	if (rc == TB_OK)
		rc = put_fields(b, e, &first);
	return rc == TB_OK ? tb_buf_putc(b, '}') : rc;
}

/* ---- reading ------------------------------------------------------------ */

/* Who the event belongs to: id, and school, device and seq when given. */
static int event_owner(const cJSON *const *k, struct tb_event *e, char *msg,
                       size_t msglen)
{
	const char *s;

	if (!k[K_ID] || tb_json_uuid(k[K_ID], e->id))
		return tb_msg(TB_EINVAL, msg, msglen, "id: " TB_RULE_UUID);
	if (k[K_SCHOOL]) {
		s = tb_json_str(k[K_SCHOOL]);
		if (!s || !tb_code_valid(s))
			return tb_msg(TB_EINVAL, msg, msglen, TB_RULE_SCHOOL);
		memcpy(e->school, s, strlen(s) + 1);
	}
	if (k[K_DEVICE]) {
		s = tb_json_str(k[K_DEVICE]);
		if (s && !*s)
			e->device[0] = '\0';
		else if (tb_json_uuid(k[K_DEVICE], e->device))
			return tb_msg(
			    TB_EINVAL, msg, msglen,
			    "device: must be a lower-case UUID or empty");
	}
	if (k[K_SEQ]) {
		if (tb_json_int(k[K_SEQ], 1, TB_SEQ_MAX, &e->seq))
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
	char ebuf[TB_JSON_ECHO_MAX + 4];
	const char *s;
	int64_t v;

	if (!k[K_KIND])
		return tb_msg(TB_EINVAL, msg, msglen, "kind: required");
	s = tb_json_str(k[K_KIND]);
	if (!s || tb_kind_parse(s, &e->kind))
		return tb_msg(TB_EINVAL, msg, msglen, KIND_RULE);
	if (!k[K_DATE])
		return tb_msg(TB_EINVAL, msg, msglen, "date: required");
	s = tb_json_str(k[K_DATE]);
	if (!s || tb_date_parse(s, &e->date))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "date: must be a real date written YYYY-MM-DD, "
		              "from %d-01-01 to %d-12-31 (%s)",
		              TB_YEAR_MIN, TB_YEAR_MAX,
		              s ? tb_json_echo(s, ebuf) : "not a string");
	if (!k[K_REVISION])
		return tb_msg(TB_EINVAL, msg, msglen, "revision: required");
	if (tb_json_int(k[K_REVISION], 1, TB_REVISION_MAX, &e->revision))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "revision: must be between 1 and %d",
		              TB_REVISION_MAX);
	if (!k[K_RECORDED_AT])
		return tb_msg(TB_EINVAL, msg, msglen, "recorded_at: required");
	s = tb_json_str(k[K_RECORDED_AT]);
	if (!s || tb_time_parse(s, &v))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "recorded_at: must be a UTC time written "
		              "YYYY-MM-DDTHH:MM:SSZ, in the years %d-%d (%s)",
		              TB_YEAR_MIN, TB_YEAR_MAX,
		              s ? tb_json_echo(s, ebuf) : "not a string");
	e->recorded_at = v;
	if (k[K_VOIDED]) {
		if (!cJSON_IsBool(k[K_VOIDED]))
			return tb_msg(TB_EINVAL, msg, msglen,
			              "voided: must be true or false");
		e->voided = cJSON_IsTrue(k[K_VOIDED]) ? 1 : 0;
	}
	if (k[K_VOID_REASON]) {
		s = tb_json_str(k[K_VOID_REASON]);
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
		if (tb_json_int(item, 0, TB_COUNT_MAX, &v->n))
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
		s = tb_json_str(item);
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
int tb_event_read_shape(const cJSON *obj, struct tb_event *e, char *msg,
                      size_t msglen)
{
	const cJSON *k[K_COUNT];
	const struct tb_field *f;
	char ebuf[TB_JSON_ECHO_MAX + 4];
	size_t n;
	int dup, rc;

	if (!cJSON_IsObject(obj))
		return tb_msg(TB_EINVAL, msg, msglen,
		              "event: must be a JSON object");
	dup = tb_json_members(obj, event_keys, K_COUNT, k);
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
			              tb_json_echo(c->string ? c->string : "", ebuf),
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
	tb_json_begin();
	return event_json(e);
}

/* Reads obj into e; with `rules`, also checks the event model's rules. */
static int event_from_json(const cJSON *obj, struct tb_event *e, int rules,
                           char *msg, size_t msglen)
{
	char school[sizeof(e->school)], device[sizeof(e->device)];
	int rc;

	tb_json_begin();
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
	rc = tb_event_read_shape(obj, e, msg, msglen);
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
int tb_event_fields_read(const char *json, size_t len, struct tb_event *e,
			 char *msg, size_t msglen)
{
	const struct tb_field *f;
	cJSON *root = NULL;
	size_t n;
	int idx, rc;

	tb_json_begin();
	rc = tb_json_parse(json, len, NULL, &root, NULL, msg, msglen);
	if (rc == TB_OK && !cJSON_IsObject(root))
		rc = tb_msg(TB_EINVAL, msg, msglen,
			    "fields: must be a JSON object");
	f = tb_kind_fields(e->kind, &n);
	for (const cJSON *c = root ? root->child : NULL; rc == TB_OK && c;
	     c = c->next) {
		idx = field_of(f, n, c->string);
		if (idx < 0)
			rc = tb_msg(TB_EINVAL, msg, msglen,
				    "unknown field for kind %s",
				    tb_kind_name(e->kind));
		else if (e->v[idx].set)
			rc = tb_msg(TB_EINVAL, msg, msglen, "%s: given twice",
				    f[idx].name);
		else
			rc = event_field(&f[idx], c, &e->v[idx], msg, msglen);
	}
	cJSON_Delete(root);
	return rc;
}
