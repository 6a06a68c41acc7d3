/* test_codec.c - protocol/codec.c: round trips of every kind, exact
 * encodings worked out by hand, the JSON type rules, the limits, messages
 * other than batches (ack, error body, cursor), malformed and truncated
 * input, allocation failures and concurrent use. The golden files of
 * protocol/vectors/ are checked by test_vectors.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"

#define DEV "d0000001-0000-4000-8000-0000000000aa"
#define ID1 "e0000001-0000-4000-8000-0000000000aa"
#define ID2 "e0000002-0000-4000-8000-0000000000aa"

/* ---- helpers ------------------------------------------------------------ */

static char *read_vec(const char *rel, size_t *len)
{
	char path[512];
	FILE *f;
	char *p;
	long n;

	snprintf(path, sizeof(path), "%s/protocol/vectors/%s", TB_SOURCE_DIR,
	         rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* A copy of s in an allocation of exactly its length (no NUL), so ASan
 * sees any read past the end. */
static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static int decode_str(const char *json, struct tb_batch *b, char *msg)
{
	char *p = exact(json, strlen(json));
	int rc = tb_batch_decode(p, strlen(json), b, msg, TB_MSG_LEN);

	free(p);
	return rc;
}

static void set(struct tb_event *e, const char *name, const char *value)
{
	char msg[TB_MSG_LEN];

	if (tb_event_set(e, name, value, msg, sizeof(msg)) != 0)
		fail_msg("%s=%s: %s", name, value, msg);
}

static void envelope(struct tb_event *e, const char *id, int64_t seq,
                     const char *date)
{
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->school, sizeof(e->school), "HB-001");
	snprintf(e->device, sizeof(e->device), DEV);
	e->seq = seq;
	assert_int_equal(tb_date_parse(date, &e->date), 0);
	assert_int_equal(tb_time_parse("2025-11-20T08:15:00Z", &e->recorded_at),
	                 0);
}

static void assert_events_equal(const struct tb_event *a,
                                const struct tb_event *b)
{
	size_t n;
	const struct tb_field *f = tb_kind_fields(a->kind, &n);

	assert_string_equal(a->id, b->id);
	assert_string_equal(a->school, b->school);
	assert_string_equal(a->device, b->device);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->date, b->date);
	assert_int_equal(a->revision, b->revision);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->recorded_at, b->recorded_at);
	assert_int_equal(a->voided, b->voided);
	assert_true((a->void_reason == NULL) == (b->void_reason == NULL));
	if (a->void_reason)
		assert_string_equal(a->void_reason, b->void_reason);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a->v[i].set, b->v[i].set);
		if (!a->v[i].set)
			continue;
		if (f[i].type == TB_FT_COUNT || f[i].type == TB_FT_BOOL)
			assert_int_equal(a->v[i].n, b->v[i].n);
		else
			assert_string_equal(a->v[i].s, b->v[i].s);
	}
}

/* Fills every field of e's kind with a value that passes the rules: all
 * counts equal (so every part equals its whole), text in Vietnamese. */
static void fill_all_fields(struct tb_event *e)
{
	size_t n;
	const struct tb_field *f = tb_kind_fields(e->kind, &n);

	for (size_t i = 0; i < n; i++) {
		char first[40];

		switch (f[i].type) {
		case TB_FT_COUNT:
			set(e, f[i].name, "7");
			break;
		case TB_FT_BOOL:
			set(e, f[i].name, i % 2 ? "yes" : "no");
			break;
		case TB_FT_CHOICE:
			snprintf(first, sizeof(first), "%.*s",
			         (int)strcspn(f[i].choices, "|"), f[i].choices);
			set(e, f[i].name, first);
			break;
		case TB_FT_URL:
			set(e, f[i].name, "https://truong.edu.vn/bình-đẳng");
			break;
		case TB_FT_TEXT:
			set(e, f[i].name, "Bình đẳng giới – “Tháng hành động”");
			break;
		}
	}
}

/* ---- round trips and exact encodings ------------------------------------ */

static void test_round_trip_every_kind(void **state)
{
	struct tb_batch b, back;
	struct tb_event e;
	char *json, *again, msg[TB_MSG_LEN];
	size_t len, alen;

	(void)state;
	tb_batch_init(&b);
	snprintf(b.device, sizeof(b.device), DEV);
	snprintf(b.school, sizeof(b.school), "HB-001");
	for (int k = 0; k < TB_KIND_COUNT; k++) {
		char id[TB_ID_LEN];

		snprintf(id, sizeof(id),
		         "e00000%02d-0000-4000-8000-0000000000aa", k);
		tb_event_init(&e, (enum tb_kind)k);
		envelope(&e, id, 10 + k, "2025-11-20");
		fill_all_fields(&e);
		if (k == TB_KIND_TRAINING) { /* a voided revision too */
			e.revision = 3;
			e.voided = 1;
			e.void_reason = tb_strdup("nhập nhầm");
		}
		assert_int_equal(tb_event_validate(&e, 1, msg, sizeof(msg)), 0);
		assert_int_equal(tb_batch_add(&b, &e), 0);
		tb_event_clear(&e);
	}
	assert_int_equal(b.first_seq, 10);
	assert_int_equal(b.last_seq, 10 + TB_KIND_COUNT - 1);
	assert_int_equal(tb_batch_encode(&b, &json, &len), 0);
	assert_int_equal(strlen(json), len);
	assert_null(strchr(json, '\n'));
	assert_non_null(strstr(json, "Bình đẳng giới – “Tháng hành động”"));

	tb_batch_init(&back);
	if (decode_str(json, &back, msg))
		fail_msg("%s", msg);
	assert_int_equal(back.count, b.count);
	assert_string_equal(back.device, DEV);
	assert_string_equal(back.school, "HB-001");
	for (size_t i = 0; i < b.count; i++) {
		assert_null(back.items[i].error);
		assert_events_equal(&b.items[i].ev, &back.items[i].ev);
	}
	assert_int_equal(tb_batch_encode(&back, &again, &alen), 0);
	assert_int_equal(alen, len);
	assert_memory_equal(again, json, len);
	tb_free(again);
	tb_free(json);
	tb_batch_clear(&back);
	tb_batch_clear(&b);
	tb_batch_clear(NULL);
}

/* The exact bytes, worked out from the encoding rules of PROTOCOL.md. */
static void test_encode_exact(void **state)
{
	static const char want[] =
	    "{\"version\":1,\"device\":\"" DEV "\",\"school\":\"HB-001\","
	    "\"first_seq\":41,\"last_seq\":42,\"events\":["
	    "{\"id\":\"" ID1 "\",\"seq\":41,\"kind\":\"training\","
	    "\"date\":\"2025-11-21\",\"revision\":1,"
	    "\"recorded_at\":\"2025-11-20T08:15:00Z\","
	    "\"title\":\"Tập huấn \\\"kỹ năng\\\" \\\\ / a\","
	    "\"participants\":10,\"female\":0},"
	    "{\"id\":\"" ID1 "\",\"seq\":42,\"kind\":\"training\","
	    "\"date\":\"2025-11-21\",\"revision\":2,"
	    "\"recorded_at\":\"2025-11-20T08:15:00Z\",\"voided\":true,"
	    "\"void_reason\":\"trùng\",\"title\":\"x\",\"participants\":1}]}";
	struct tb_batch b;
	struct tb_event e;
	char *json;
	size_t len;

	(void)state;
	tb_batch_init(&b);
	snprintf(b.device, sizeof(b.device), DEV);
	snprintf(b.school, sizeof(b.school), "HB-001");
	tb_event_init(&e, TB_KIND_TRAINING);
	envelope(&e, ID1, 41, "2025-11-21");
	/* set out of table order: the encoding follows the table */
	set(&e, "female", "0");
	set(&e, "participants", "10");
	set(&e, "title", "Tập huấn \"kỹ năng\" \\ / a");
	assert_int_equal(tb_batch_add(&b, &e), 0);
	tb_event_clear(&e);
	envelope(&e, ID1, 42, "2025-11-21");
	e.revision = 2;
	e.voided = 1;
	e.void_reason = tb_strdup("trùng");
	set(&e, "participants", "1");
	set(&e, "title", "x");
	assert_int_equal(tb_batch_add(&b, &e), 0);
	tb_event_clear(&e);
	assert_int_equal(tb_batch_encode(&b, &json, &len), 0);
	assert_string_equal(json, want);
	assert_int_equal(len, sizeof(want) - 1);
	tb_free(json);
	tb_batch_clear(&b);
}

/* Exports: one event with school and device; school kept when absent. */
static void test_event_json(void **state)
{
	struct tb_event e, back;
	cJSON *j;
	char *s, msg[TB_MSG_LEN];

	(void)state;
	tb_event_init(&e, TB_KIND_WEB_POST);
	envelope(&e, ID2, 5, "2025-03-08");
	set(&e, "title", "Ngày 8/3");
	j = tb_event_to_json(&e);
	assert_non_null(j);
	s = cJSON_PrintUnformatted(j);
	assert_string_equal(s, "{\"id\":\"" ID2 "\",\"school\":\"HB-001\","
	                       "\"device\":\"" DEV "\",\"seq\":5,"
	                       "\"kind\":\"web-post\",\"date\":\"2025-03-08\","
	                       "\"revision\":1,"
	                       "\"recorded_at\":\"2025-11-20T08:15:00Z\","
	                       "\"title\":\"Ngày 8/3\"}");
	cJSON_free(s);
	memset(&back, 0, sizeof(back));
	if (tb_event_from_json(j, &back, msg, sizeof(msg)) != 0)
		fail_msg("%s", msg);
	assert_events_equal(&e, &back);
	tb_event_clear(&back);

	/* without school and device in the object, the caller's stay */
	cJSON_DeleteItemFromObject(j, "school");
	cJSON_DeleteItemFromObject(j, "device");
	memset(&back, 0, sizeof(back));
	snprintf(back.school, sizeof(back.school), "TO-THCS-01");
	assert_int_equal(tb_event_from_json(j, &back, msg, sizeof(msg)), 0);
	assert_string_equal(back.school, "TO-THCS-01");
	assert_string_equal(back.device, "");
	tb_event_clear(&back);

	/* a rule broken: TB_EINVAL, the message, e left cleared */
	cJSON_ReplaceItemInObject(j, "title", cJSON_CreateNumber(3));
	assert_int_equal(tb_event_from_json(j, &back, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "title: must be a string");
	assert_false(back.v[0].set);
	assert_null(back.v[0].s);
	cJSON_ReplaceItemInObject(j, "title", cJSON_CreateString(""));
	assert_int_equal(tb_event_from_json(j, &back, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "title: required");
	cJSON_DeleteItemFromObject(j, "title");
	assert_int_equal(tb_event_from_json(j, &back, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "title: required");
	cJSON_Delete(j);
	tb_event_clear(&e);

	/* an unassigned seq (0) is left out of an export */
	tb_event_init(&e, TB_KIND_SNAPSHOT);
	envelope(&e, ID2, 0, "2025-06-30");
	e.device[0] = '\0';
	set(&e, "masters", "2");
	j = tb_event_to_json(&e);
	assert_null(cJSON_GetObjectItem(j, "seq"));
	assert_null(cJSON_GetObjectItem(j, "device"));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "masters")));
	cJSON_Delete(j);
	tb_event_clear(&e);
}

static const char *batch_of(const char *first, const char *last,
                            const char *events, char *buf, size_t len)
{
	snprintf(buf, len,
	         "{\"version\":1,\"device\":\"" DEV "\",\"school\":\"HB-001\","
	         "\"first_seq\":%s,\"last_seq\":%s,\"events\":[%s]}",
	         first, last, events);
	return buf;
}

static const char *web_post(const char *seq, const char *extra, char *buf,
                            size_t len)
{
	snprintf(buf, len,
	         "{\"id\":\"" ID1 "\",\"seq\":%s,\"kind\":\"web-post\","
	         "\"date\":\"2025-01-02\",\"revision\":1,"
	         "\"recorded_at\":\"2025-01-02T03:04:05Z\",\"title\":\"a\"%s}",
	         seq, extra);
	return buf;
}

/* TB_SEQ_MAX travels exactly; the next integer is refused. */
static void test_seq_bound(void **state)
{
	char ev[512], json[1024], msg[TB_MSG_LEN], *out;
	struct tb_batch b;
	size_t len;

	(void)state;
	tb_batch_init(&b);
	web_post("9007199254740991", "", ev, sizeof(ev));
	batch_of("9007199254740991", "9007199254740991", ev, json,
	         sizeof(json));
	if (decode_str(json, &b, msg))
		fail_msg("%s", msg);
	assert_int_equal(b.first_seq, TB_SEQ_MAX);
	assert_int_equal(b.items[0].ev.seq, TB_SEQ_MAX);
	assert_int_equal(tb_batch_encode(&b, &out, &len), 0);
	assert_string_equal(out, json);
	tb_free(out);

	web_post("9007199254740992", "", ev, sizeof(ev));
	batch_of("9007199254740991", "9007199254740992", ev, json,
	         sizeof(json));
	assert_int_equal(decode_str(json, &b, msg), TB_EINVAL);
	assert_string_equal(msg, "last_seq: must be a whole number from 1 to "
	                         "9007199254740991");
	/* 2^63 and beyond: no overflow, the same refusal */
	batch_of("9223372036854775808", "9223372036854775808", ev, json,
	         sizeof(json));
	assert_int_equal(decode_str(json, &b, msg), TB_EINVAL);
	assert_string_equal(msg, "first_seq: must be a whole number from 1 to "
	                         "9007199254740991");
	batch_of("1e400", "1", ev, json, sizeof(json));
	assert_int_equal(decode_str(json, &b, msg), TB_EINVAL);
	assert_null(b.items);
}

/* Per-event rejection keeps what the acknowledgement needs. */
static void test_rejected_item(void **state)
{
	char e1[512], e2[512], evs[1100], json[2048], msg[TB_MSG_LEN];
	struct tb_batch b;

	(void)state;
	web_post("7", ",\"url\":\"ftp://x\"", e1, sizeof(e1));
	web_post("8", "", e2, sizeof(e2));
	e2[7 + 35] = 'b'; /* last character of the id: ID1 -> ...aab */
	snprintf(evs, sizeof(evs), "%s,%s", e1, e2);
	batch_of("7", "8", evs, json, sizeof(json));
	tb_batch_init(&b);
	if (decode_str(json, &b, msg))
		fail_msg("%s", msg);
	assert_int_equal(b.count, 2);
	assert_string_equal(
	    b.items[0].error,
	    "url: must start with http:// or https:// and contain no spaces");
	assert_string_equal(b.items[0].ev.id, ID1);
	assert_int_equal(b.items[0].ev.seq, 7);
	assert_string_equal(b.items[0].ev.school, "HB-001");
	assert_string_equal(b.items[0].ev.device, DEV);
	assert_false(b.items[0].ev.v[0].set); /* the rest is cleared */
	assert_null(b.items[1].error);
	assert_string_equal(b.items[1].ev.id,
	                    "e0000001-0000-4000-8000-0000000000ab");
	assert_string_equal(b.items[1].ev.v[0].s, "a");
	/* decoding again into the same batch replaces it (ASan: no leak) */
	assert_int_equal(decode_str("[]", &b, msg), TB_EINVAL);
	assert_int_equal(b.count, 0);
	assert_null(b.items);
	assert_string_equal(msg, "body: must be a JSON object");
}

/* ---- malformed input ----------------------------------------------------- */

static char *nested(size_t depth, const char *inner_prefix)
{
	size_t pl = strlen(inner_prefix), n = pl + 2 * depth + 2;
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, inner_prefix, pl);
	memset(s + pl, '[', depth);
	memset(s + pl + depth, ']', depth);
	memcpy(s + pl + 2 * depth, "}", 2);
	return s;
}

static void test_nesting(void **state)
{
	char *deep = malloc(100001), msg[TB_MSG_LEN] = "", dev[TB_ID_LEN];
	struct tb_batch b;
	struct tb_ack a;
	struct tb_error_body e;
	int64_t through;
	char *s;

	(void)state;
	assert_non_null(deep);
	memset(deep, '[', 100000);
	tb_batch_init(&b);
	assert_int_equal(tb_batch_decode(deep, 100000, &b, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "body: JSON nested deeper than 16 levels");
	tb_ack_init(&a);
	assert_int_equal(tb_ack_decode(deep, 100000, &a, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_int_equal(tb_error_decode(deep, 100000, &e), TB_EINVAL);
	assert_int_equal(tb_cursor_decode(deep, 100000, dev, &through),
	                 TB_EINVAL);
	free(deep);

	/* 16 levels pass the scan (an ignored key), 17 do not */
	s = nested(15, "{\"x\":");
	assert_int_equal(decode_str(s, &b, msg), TB_EINVAL);
	assert_string_equal(msg, "version: required");
	free(s);
	s = nested(16, "{\"x\":");
	assert_int_equal(decode_str(s, &b, msg), TB_EINVAL);
	assert_string_equal(msg, "body: JSON nested deeper than 16 levels");
	free(s);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *json;
		int rc;
		const char *msg;
	} cases[] = {
	    {"", TB_EINVAL, "body: empty"},
	    {"   ", TB_EINVAL, "body: malformed JSON"},
	    {"{", TB_EINVAL, "body: malformed JSON"},
	    {"{\"a\":1,}", TB_EINVAL, "body: malformed JSON"},
	    {"{} {}", TB_EINVAL, "body: data after the JSON value at byte 3"},
	    {"{}\n", TB_EINVAL, "version: required"},
	    {"\"\\ud800\"", TB_EINVAL, "body: malformed JSON"},
	    {"{\"version\":1,\"version\":1}", TB_EINVAL,
	     "version: given twice"},
	    {"{\"version\":1.5}", TB_EINVAL, "version: must be a whole number"},
	    {"{\"version\":true}", TB_EINVAL,
	     "version: must be a whole number"},
	    {"{\"version\":0}", TB_EINVAL,
	     "version: unsupported protocol version 0 (supported: 1)"},
	    {"{\"version\":1,\"device\":7}", TB_EINVAL,
	     "device: must be a lower-case UUID "
	     "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
	};
	char msg[TB_MSG_LEN];
	struct tb_batch b;

	(void)state;
	tb_batch_init(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = decode_str(cases[i].json, &b, msg);

		if (rc != cases[i].rc || strcmp(msg, cases[i].msg) != 0)
			fail_msg("%s: rc %d msg '%s', want '%s'", cases[i].json,
			         rc, msg, cases[i].msg);
	}
	/* a NUL byte inside the body */
	assert_int_equal(
	    tb_batch_decode("{\"a\":\"x\0y\"}", 11, &b, msg, sizeof(msg)),
	    TB_EINVAL);
	assert_string_equal(msg, "body: NUL byte at byte 7");
	/* msg may be NULL */
	assert_int_equal(tb_batch_decode("[", 1, &b, NULL, 0), TB_EINVAL);
}

/* Every prefix of a valid batch, in a buffer of exactly that size: all
 * refused cleanly (ASan reports any read past the end). */
static void test_truncated_everywhere(void **state)
{
	size_t len;
	char *full = read_vec("valid/vietnamese.canonical.json", &len);
	char msg[TB_MSG_LEN];
	struct tb_batch b;

	(void)state;
	len--; /* the newline */
	tb_batch_init(&b);
	for (size_t k = 0; k < len; k++) {
		char *p = exact(full, k);

		assert_int_equal(tb_batch_decode(p, k, &b, msg, sizeof(msg)),
		                 TB_EINVAL);
		free(p);
	}
	assert_int_equal(tb_batch_decode(full, len, &b, msg, sizeof(msg)), 0);
	assert_int_equal(b.count, 3);
	tb_batch_clear(&b);
	free(full);
}

/* Random damage never crashes; what still decodes re-encodes stably. */
static void test_mutations(void **state)
{
	size_t len;
	char *full = read_vec("valid/example.canonical.json", &len);
	char *p = malloc(len), msg[TB_MSG_LEN], *o1, *o2;
	uint32_t x = 12345;
	struct tb_batch b, c;
	size_t l1, l2;
	int decoded = 0;

	(void)state;
	assert_non_null(p);
	tb_batch_init(&b);
	tb_batch_init(&c);
	for (int i = 0; i < 3000; i++) {
		int rc;

		memcpy(p, full, len);
		for (int k = 0; k < 1 + i % 3; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[x % len] = (char)(x >> 8);
		}
		rc = tb_batch_decode(p, len, &b, msg, sizeof(msg));
		assert_true(rc == 0 || rc == TB_EINVAL || rc == TB_ETOOBIG);
		if (rc)
			continue;
		decoded++;
		assert_int_equal(tb_batch_encode(&b, &o1, &l1), 0);
		assert_int_equal(tb_batch_decode(o1, l1, &c, msg, sizeof(msg)),
		                 0);
		assert_int_equal(tb_batch_encode(&c, &o2, &l2), 0);
		assert_string_equal(o1, o2);
		tb_free(o1);
		tb_free(o2);
	}
	assert_true(decoded > 0); /* some damage only hits text */
	tb_batch_clear(&b);
	tb_batch_clear(&c);
	free(p);
	free(full);
}

/* ---- limits -------------------------------------------------------------- */

static void build_web_posts(struct tb_batch *b, size_t n)
{
	struct tb_event e;

	tb_batch_init(b);
	snprintf(b->device, sizeof(b->device), DEV);
	snprintf(b->school, sizeof(b->school), "HB-001");
	for (size_t i = 0; i < n; i++) {
		char id[TB_ID_LEN];

		snprintf(id, sizeof(id), "e%07zu-0000-4000-8000-0000000000aa",
		         i);
		tb_event_init(&e, TB_KIND_WEB_POST);
		envelope(&e, id, (int64_t)i + 1, "2025-09-01");
		set(&e, "title", "Bài viết về bình đẳng giới trong nhà trường");
		set(&e, "url", "https://truong.edu.vn/bai-viet");
		assert_int_equal(tb_batch_add(b, &e), 0);
		tb_event_clear(&e);
	}
}

static void test_max_batch(void **state)
{
	struct tb_batch b, back;
	char *json, msg[TB_MSG_LEN];
	unsigned char *gz;
	size_t len, gzlen;

	(void)state;
	build_web_posts(&b, TB_BATCH_MAX_EVENTS);
	assert_int_equal(tb_batch_encode(&b, &json, &len), 0);
	assert_true(len < TB_INFLATE_MAX);
	assert_int_equal(tb_gz_compress(json, len, -1, &gz, &gzlen), 0);
	assert_true(gzlen < TB_BODY_MAX);
	tb_batch_init(&back);
	assert_int_equal(tb_batch_decode(json, len, &back, msg, sizeof(msg)),
	                 0);
	assert_int_equal(back.count, TB_BATCH_MAX_EVENTS);
	assert_int_equal(back.last_seq, TB_BATCH_MAX_EVENTS);
	tb_batch_clear(&back);
	tb_free(gz);
	tb_free(json);
	tb_batch_clear(&b);

	build_web_posts(&b, TB_BATCH_MAX_EVENTS + 1);
	assert_int_equal(tb_batch_encode(&b, &json, &len), 0);
	assert_int_equal(tb_batch_decode(json, len, &back, msg, sizeof(msg)),
	                 TB_ETOOBIG);
	assert_string_equal(msg, "events: at most 5000 in one batch (5001)");
	tb_free(json);
	tb_batch_clear(&b);
}

/* ---- ack, error body, cursor ------------------------------------------- */

static void test_ack(void **state)
{
	static const char want[] =
	    "{\"version\":1,\"device\":\"" DEV "\","
	    "\"committed_through\":150,\"accepted\":147,"
	    "\"duplicates\":1,\"rejected\":["
	    "{\"id\":\"" ID1 "\",\"seq\":149,\"reason\":\"female: must not "
	    "exceed participants (12 > 10)\"},"
	    "{\"id\":\"" ID2 "\",\"seq\":150,\"reason\":\"id " ID2
	    " revision 1 already held with different content\"}]}";
	struct tb_ack a, b;
	char *out, msg[TB_MSG_LEN], *p;
	size_t len;

	(void)state;
	tb_ack_init(&a);
	snprintf(a.device, sizeof(a.device), DEV);
	a.committed_through = 150;
	a.accepted = 147;
	a.duplicates = 1;
	assert_int_equal(tb_ack_reject(&a, ID1, 149,
	                               "female: must not exceed participants "
	                               "(12 > 10)"),
	                 0);
	assert_int_equal(tb_ack_reject(&a, ID2, 150,
	                               "id " ID2 " revision 1 already held "
	                               "with different content"),
	                 0);
	assert_int_equal(tb_ack_encode(&a, &out, &len), 0);
	assert_string_equal(out, want);
	p = exact(out, len);
	tb_ack_init(&b);
	assert_int_equal(tb_ack_decode(p, len, &b, msg, sizeof(msg)), 0);
	assert_string_equal(b.device, DEV);
	assert_int_equal(b.committed_through, 150);
	assert_int_equal(b.accepted, 147);
	assert_int_equal(b.duplicates, 1);
	assert_int_equal(b.nrejected, 2);
	assert_string_equal(b.rejected[1].id, ID2);
	assert_int_equal(b.rejected[1].seq, 150);
	assert_string_equal(b.rejected[0].reason, a.rejected[0].reason);
	free(p);
	tb_free(out);
	tb_ack_clear(&a);
	tb_ack_clear(&b);
	tb_ack_clear(NULL);

	/* many rejections grow the array */
	for (int i = 1; i <= 1000; i++)
		assert_int_equal(tb_ack_reject(&a, ID1, i, "r"), 0);
	assert_int_equal(a.nrejected, 1000);
	assert_int_equal(a.rejected[999].seq, 1000);
	tb_ack_clear(&a);
	assert_int_equal(a.nrejected, 0);
}

static void test_ack_refused(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
	    {"{\"version\":2}",
	     "version: unsupported protocol version 2 (supported: 1)"},
	    {"{\"version\":1,\"device\":\"" DEV "\"}",
	     "committed_through: required"},
	    {"{\"version\":1,\"device\":\"" DEV "\",\"committed_through\":"
	     "-1}",
	     "committed_through: must be a whole number from 0 to "
	     "9007199254740991"},
	    {"{\"version\":1,\"device\":\"" DEV "\",\"committed_through\":"
	     "3,\"accepted\":1,\"duplicates\":0,\"rejected\":{}}",
	     "rejected: must be a JSON array"},
	    {"{\"version\":1,\"device\":\"" DEV "\",\"committed_through\":"
	     "3,\"accepted\":1,\"duplicates\":0,\"rejected\":[{\"id\":"
	     "\"x\",\"seq\":1,\"reason\":\"r\"}]}",
	     "rejected[0].id: must be a lower-case UUID "
	     "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
	    {"{\"version\":1,\"device\":\"" DEV "\",\"committed_through\":"
	     "3,\"accepted\":1,\"duplicates\":0,\"rejected\":[{\"id\":\"" ID1
	     "\",\"seq\":1}]}",
	     "rejected[0].reason: must be a string"},
	};
	char msg[TB_MSG_LEN];
	struct tb_ack a;

	(void)state;
	tb_ack_init(&a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = exact(cases[i].json, strlen(cases[i].json));

		assert_int_equal(tb_ack_decode(p, strlen(cases[i].json), &a,
		                               msg, sizeof(msg)),
		                 TB_EINVAL);
		assert_string_equal(msg, cases[i].msg);
		assert_int_equal(a.nrejected, 0);
		assert_null(a.rejected);
		free(p);
	}
	/* an unknown top-level key is ignored */
	{
		static const char ok[] =
		    "{\"later\":[1,2],\"version\":1,\"device\":\"" DEV
		    "\",\"committed_through\":3,\"accepted\":3,"
		    "\"duplicates\":0,\"rejected\":[]}";
		assert_int_equal(
		    tb_ack_decode(ok, sizeof(ok) - 1, &a, msg, sizeof(msg)), 0);
		assert_int_equal(a.committed_through, 3);
	}
	tb_ack_clear(&a);
}

static int err_dec(const char *s, struct tb_error_body *e)
{
	char *p = exact(s, strlen(s));
	int rc = tb_error_decode(p, strlen(s), e);

	free(p);
	return rc;
}

static int cur_dec(const char *s, char *dev, int64_t *through)
{
	char *p = exact(s, strlen(s));
	int rc = tb_cursor_decode(p, strlen(s), dev, through);

	free(p);
	return rc;
}

static void test_error_body(void **state)
{
	struct tb_error_body e;
	char *out, *longmsg, *json;
	size_t len;

	(void)state;
	assert_int_equal(tb_error_encode(409, "sequence_gap",
	                                 "expected first_seq 101, got 150", 101,
	                                 &out, &len),
	                 0);
	assert_string_equal(out, "{\"status\":409,\"error\":\"sequence_gap\","
	                         "\"message\":\"expected first_seq 101, got "
	                         "150\",\"expected_seq\":101}");
	assert_int_equal(tb_error_decode(out, len, &e), 0);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "sequence_gap");
	assert_string_equal(e.message, "expected first_seq 101, got 150");
	assert_int_equal(e.expected_seq, 101);
	tb_free(out);

	assert_int_equal(tb_error_encode(415, "unsupported_media_type",
	                                 "Content-Encoding must be gzip", -1,
	                                 &out, &len),
	                 0);
	assert_string_equal(out, "{\"status\":415,\"error\":"
	                         "\"unsupported_media_type\",\"message\":"
	                         "\"Content-Encoding must be gzip\"}");
	assert_int_equal(tb_error_decode(out, len, &e), 0);
	assert_int_equal(e.expected_seq, -1);
	tb_free(out);

	/* a long message is cut at a character boundary: "x" and 300 x "ệ"
	 * (3 bytes each) in 255 bytes: "x" and 84 whole characters = 253 */
	longmsg = malloc(902);
	longmsg[0] = 'x';
	for (int i = 0; i < 300; i++)
		memcpy(longmsg + 1 + 3 * i, "ệ", 3);
	longmsg[901] = '\0';
	assert_int_equal(
	    tb_error_encode(400, "bad_request", longmsg, -1, &json, &len), 0);
	assert_int_equal(tb_error_decode(json, len, &e), 0);
	assert_int_equal(strlen(e.message), 253);
	assert_memory_equal(e.message, longmsg, 253);
	tb_free(json);
	free(longmsg);

	assert_int_equal(err_dec("{\"status\":99,\"error\":\"x\","
	                         "\"message\":\"m\"}",
	                         &e),
	                 TB_EINVAL);
	assert_int_equal(err_dec("{\"status\":400,\"message\":\"m\"}", &e),
	                 TB_EINVAL);
	assert_int_equal(err_dec("{\"status\":400,\"error\":\"bad_request\","
	                         "\"message\":\"m\",\"expected_seq\":-3}",
	                         &e),
	                 TB_EINVAL);
	assert_int_equal(err_dec("<html>502</html>", &e), TB_EINVAL);
	assert_int_equal(e.status, 0);
	assert_int_equal(e.expected_seq, -1);
}

static void test_cursor(void **state)
{
	char *out, dev[TB_ID_LEN];
	int64_t through = -5;
	size_t len;

	(void)state;
	assert_int_equal(tb_cursor_encode(DEV, 150, &out, &len), 0);
	assert_string_equal(out, "{\"device\":\"" DEV
	                         "\",\"committed_through\":150}");
	assert_int_equal(tb_cursor_decode(out, len, dev, &through), 0);
	assert_string_equal(dev, DEV);
	assert_int_equal(through, 150);
	tb_free(out);
	assert_int_equal(cur_dec("{\"device\":\"" DEV "\","
	                         "\"committed_through\":0}",
	                         dev, &through),
	                 0);
	assert_int_equal(through, 0);
	assert_int_equal(cur_dec("{\"device\":\"" DEV "\","
	                         "\"committed_through\":-1}",
	                         dev, &through),
	                 TB_EINVAL);
	assert_int_equal(cur_dec("{\"device\":\"x\",\"committed_through\":1}",
	                         dev, &through),
	                 TB_EINVAL);
	assert_int_equal(cur_dec("{\"device\":\"" DEV "\","
	                         "\"committed_through\":9007199254740992}",
	                         dev, &through),
	                 TB_EINVAL);
	assert_int_equal(through, 0); /* unchanged by a refusal */
}

/* ---- allocation failures ------------------------------------------------- */

/* Runs op with the nth allocation failing, n = 1, 2, ... until it
 * succeeds: every failure must be TB_ENOMEM. Returns the n that passed. */
#define OOM_LOOP(n, rc, op, cleanup)                                           \
	do {                                                                   \
		for (n = 1; n < 100000; n++) {                                 \
			tb_mem_fail_at(n);                                     \
			rc = (op);                                             \
			tb_mem_fail_at(0);                                     \
			if (rc == 0)                                           \
				break;                                         \
			if (rc != TB_ENOMEM)                                   \
				fail_msg("allocation %ld: rc %d", n, rc);      \
			cleanup;                                               \
		}                                                              \
		assert_true(n > 1 && n < 100000);                              \
	} while (0)

static void test_alloc_failures(void **state)
{
	size_t l1, l2, len, alen;
	char *v1 = read_vec("rejected/example.json", &l1);
	char *v2 = read_vec("valid/vietnamese.json", &l2);
	char msg[TB_MSG_LEN], *out = NULL, *ref, dev[TB_ID_LEN];
	struct tb_batch b;
	struct tb_ack a;
	struct tb_error_body eb;
	int64_t through;
	long n;
	int rc;

	(void)state;
	tb_batch_init(&b);
	/* decode with a per-event error (its strdup can fail too) */
	OOM_LOOP(n, rc, tb_batch_decode(v1, l1, &b, msg, sizeof(msg)),
	         assert_null(b.items));
	assert_int_equal(b.count, 2);
	assert_non_null(b.items[1].error);
	OOM_LOOP(n, rc, tb_batch_decode(v2, l2, &b, msg, sizeof(msg)),
	         assert_int_equal(b.count, 0));
	assert_int_equal(tb_batch_encode(&b, &ref, &len), 0);
	OOM_LOOP(n, rc, tb_batch_encode(&b, &out, &len), assert_null(out));
	assert_string_equal(out, ref);
	tb_free(out);
	tb_free(ref);

	tb_ack_init(&a);
	snprintf(a.device, sizeof(a.device), DEV);
	a.committed_through = 3;
	OOM_LOOP(n, rc, tb_ack_reject(&a, ID1, 2, "r"),
	         assert_int_equal(a.nrejected, 0));
	assert_int_equal(tb_ack_encode(&a, &ref, &alen), 0);
	OOM_LOOP(n, rc, tb_ack_encode(&a, &out, &len), assert_null(out));
	tb_free(out);
	tb_ack_clear(&a);
	OOM_LOOP(n, rc, tb_ack_decode(ref, alen, &a, msg, sizeof(msg)),
	         assert_null(a.rejected));
	assert_int_equal(a.nrejected, 1);
	tb_ack_clear(&a);
	tb_free(ref);

	OOM_LOOP(n, rc,
	         tb_error_encode(503, "unavailable", "busy", -1, &out, &len),
	         assert_null(out));
	OOM_LOOP(n, rc, tb_error_decode(out, len, &eb), (void)0);
	tb_free(out);
	OOM_LOOP(n, rc, tb_cursor_encode(DEV, 9, &out, &len), assert_null(out));
	OOM_LOOP(n, rc, tb_cursor_decode(out, len, dev, &through), (void)0);
	assert_int_equal(through, 9);
	tb_free(out);

	tb_batch_clear(&b);
	free(v1);
	free(v2);
}

/* tb_batch_add leaves the batch as it was when a copy fails. */
static void test_batch_add_oom(void **state)
{
	struct tb_batch b;
	struct tb_event e;
	long n;
	int rc;

	(void)state;
	build_web_posts(&b, 16); /* the array is full: the next add grows it */
	tb_event_init(&e, TB_KIND_WEB_POST);
	envelope(&e, ID2, 17, "2025-09-02");
	set(&e, "title", "thêm");
	set(&e, "url", "https://a.vn");
	OOM_LOOP(n, rc, tb_batch_add(&b, &e), assert_int_equal(b.count, 16);
	         assert_int_equal(b.last_seq, 16));
	assert_int_equal(b.count, 17);
	assert_int_equal(b.last_seq, 17);
	assert_string_equal(b.items[16].ev.v[0].s, "thêm");
	tb_event_clear(&e);
	tb_batch_clear(&b);
}

/* ---- threads --------------------------------------------------------------
 */

struct worker {
	const char *json;
	size_t len;
	const char *want;
	int ok;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char msg[TB_MSG_LEN], *out;
	struct tb_batch b;
	size_t len;

	w->ok = 1;
	tb_batch_init(&b);
	for (int i = 0; i < 200 && w->ok; i++) {
		if (tb_batch_decode(w->json, w->len, &b, msg, sizeof(msg)) ||
		    tb_batch_encode(&b, &out, &len)) {
			w->ok = 0;
			break;
		}
		w->ok = strcmp(out, w->want) == 0;
		tb_free(out);
	}
	tb_batch_clear(&b);
	return NULL;
}

/* The first calls of the codec race from four threads: the allocator
 * hooks are installed once, and every thread gets the same bytes. */
static void test_threads(void **state)
{
	size_t len, clen;
	char *json = read_vec("valid/snapshot.json", &len);
	char *canon = read_vec("valid/snapshot.canonical.json", &clen);
	pthread_t t[4];
	struct worker w[4];

	(void)state;
	canon[clen - 1] = '\0';
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){json, len, canon, 0};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(w[i].ok);
	}
	free(json);
	free(canon);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads), /* first: the hooks race */
	    cmocka_unit_test(test_round_trip_every_kind),
	    cmocka_unit_test(test_encode_exact),
	    cmocka_unit_test(test_event_json),
	    cmocka_unit_test(test_seq_bound),
	    cmocka_unit_test(test_rejected_item),
	    cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_max_batch),
	    cmocka_unit_test(test_ack),
	    cmocka_unit_test(test_ack_refused),
	    cmocka_unit_test(test_error_body),
	    cmocka_unit_test(test_cursor),
	    cmocka_unit_test(test_alloc_failures),
	    cmocka_unit_test(test_batch_add_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
