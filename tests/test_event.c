/* test_event.c - the event model (common/event.c): field tables, setting
 * fields from text, every validation rule accepted and refused, UTF-8 and
 * code rules, UUIDs, deep copies and allocation failures.
 * The rule cases are data: tests/data/common/events.txt, one record per
 * line with the exact message it must produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "common/mem.h"

#define GOOD_ID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define GOOD_DEVICE "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define VI_TITLE "Tháng hành động vì bình đẳng giới"
/* "Tháng hành động" with combining marks (NFD): a + U+0301, a + U+0300,
 * o + U+0323 + U+0302. Must be kept as typed, not normalised. */
#define VI_NFD "Tha\xcc\x81ng ha\xcc\x80nh \xc4\x91o\xcc\xa3\xcc\x82ng"

static void envelope(struct tb_event *e, const char *date)
{
	assert_int_equal(tb_date_parse(date, &e->date), 0);
	memcpy(e->id, GOOD_ID, sizeof(GOOD_ID));
	memcpy(e->school, "HB-001", 7);
	memcpy(e->device, GOOD_DEVICE, sizeof(GOOD_DEVICE));
	e->seq = 1;
	e->recorded_at = 1700000000;
}

static void set_ok(struct tb_event *e, const char *name, const char *text)
{
	char msg[TB_MSG_LEN] = "";

	if (tb_event_set(e, name, text, msg, sizeof(msg)) != 0)
		fail_msg("set %s=%s: %s", name, text, msg);
}

/* ---- fixture-driven rule cases --------------------------------------- */

/* Decodes \xNN and \t in place. */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = {s[2], s[3], 0};

			*o++ = (char)strtol(hex, NULL, 16);
			s += 4;
		} else if (s[0] == '\\' && s[1] == 't') {
			*o++ = '\t';
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

static void copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	assert_true(n < size);
	memcpy(dst, src, n + 1);
}

/* "@name=value": an envelope override. */
static void set_envelope(struct tb_event *e, const char *name, char *val)
{
	if (strcmp(name, "id") == 0)
		copy_field(e->id, sizeof(e->id), val);
	else if (strcmp(name, "school") == 0)
		copy_field(e->school, sizeof(e->school), val);
	else if (strcmp(name, "device") == 0)
		copy_field(e->device, sizeof(e->device), val);
	else if (strcmp(name, "seq") == 0)
		e->seq = strtoll(val, NULL, 10);
	else if (strcmp(name, "recorded_at") == 0)
		e->recorded_at = strtoll(val, NULL, 10);
	else if (strcmp(name, "revision") == 0)
		e->revision = strtoll(val, NULL, 10);
	else if (strcmp(name, "voided") == 0)
		e->voided = (int)strtol(val, NULL, 10);
	else if (strcmp(name, "void_reason") == 0)
		e->void_reason = tb_strdup(val); /* tb_event_clear frees */
	else if (strcmp(name, "days") == 0)
		e->date = (int32_t)strtol(val, NULL, 10);
	else if (strcmp(name, "kind") == 0)
		e->kind = (enum tb_kind)strtol(val, NULL, 10);
	else
		fail_msg("unknown envelope override @%s", name);
}

struct fixture_case {
	int line;
	char *stage, *expect;
	char *fields[24];
	size_t nfields;
};

/* Applies the case's fields; for stage "set" the last one must fail with
 * the expected message and leave the field as it was. */
static void apply_fields(struct tb_event *e, struct fixture_case *c)
{
	char msg[TB_MSG_LEN], before[2048], after[2048];

	for (size_t i = 0; i < c->nfields; i++) {
		char *eq = strchr(c->fields[i], '='), *name = c->fields[i];
		int last_set =
		    i + 1 == c->nfields && strcmp(c->stage, "set") == 0;
		int idx, rc;

		if (!eq)
			fail_msg("line %d: field without '='", c->line);
		*eq = '\0';
		unescape(eq + 1);
		if (name[0] == '@') {
			set_envelope(e, name + 1, eq + 1);
			continue;
		}
		idx = tb_field_index(e->kind, name);
		tb_event_get(e, idx, before, sizeof(before));
		msg[0] = '\0';
		rc = tb_event_set(e, name, eq + 1, msg, sizeof(msg));
		if (!last_set) {
			if (rc != 0)
				fail_msg("line %d: set %s: %s", c->line, name,
				         msg);
			continue;
		}
		if (rc != TB_EINVAL || strcmp(msg, c->expect) != 0)
			fail_msg("line %d: set %s: rc %d, got '%s', want '%s'",
			         c->line, name, rc, msg, c->expect);
		tb_event_get(e, idx, after, sizeof(after));
		assert_string_equal(before, after);
	}
}

static void run_case(enum tb_kind kind, const char *date,
                     struct fixture_case *c)
{
	struct tb_event e;
	char msg[TB_MSG_LEN] = "";
	int env =
	    strcmp(c->stage, "body") != 0 && strcmp(c->stage, "body-ok") != 0;
	int rc;

	tb_event_init(&e, kind);
	envelope(&e, date);
	apply_fields(&e, c);
	if (strcmp(c->stage, "set") != 0) {
		rc = tb_event_validate(&e, env, msg, sizeof(msg));
		if (strcmp(c->stage, "ok") == 0 ||
		    strcmp(c->stage, "body-ok") == 0) {
			if (rc != 0)
				fail_msg("line %d: refused: %s", c->line, msg);
		} else if (rc != TB_EINVAL || strcmp(msg, c->expect) != 0) {
			fail_msg("line %d: rc %d, got '%s', want '%s'", c->line,
			         rc, msg, c->expect);
		}
	}
	tb_event_clear(&e);
}

static void test_rules_from_fixture(void **state)
{
	char line[4096], *save, *kind, *date;
	struct fixture_case c;
	enum tb_kind k;
	int counts[4] = {0};
	FILE *f = fopen(TB_SOURCE_DIR "/tests/data/common/events.txt", "r");

	(void)state;
	assert_non_null(f);
	for (c.line = 1; fgets(line, sizeof(line), f); c.line++) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		kind = strtok_r(line, "\t", &save);
		date = strtok_r(NULL, "\t", &save);
		c.stage = strtok_r(NULL, "\t", &save);
		c.expect = strtok_r(NULL, "\t", &save);
		assert_non_null(c.expect);
		if (tb_kind_parse(kind, &k) != 0)
			fail_msg("line %d: unknown kind %s", c.line, kind);
		c.nfields = 0;
		while (c.nfields < 24 &&
		       (c.fields[c.nfields] = strtok_r(NULL, "\t", &save)))
			c.nfields++;
		run_case(k, date, &c);
		counts[c.stage[0] == 'o'   ? 0
		       : c.stage[0] == 's' ? 1
		       : c.stage[0] == 'v' ? 2
		                           : 3]++;
	}
	fclose(f);
	assert_true(counts[0] >= 20); /* accepted */
	assert_true(counts[1] >= 30); /* refused by tb_event_set */
	assert_true(counts[2] >= 30); /* refused by tb_event_validate */
}

/* ---- kinds and tables ------------------------------------------------- */

static void test_kind_names(void **state)
{
	static const char *const names[] = {
	    "outreach", "training", "action-month", "web-post", "snapshot"};
	enum tb_kind k;

	(void)state;
	for (int i = 0; i < TB_KIND_COUNT; i++) {
		assert_string_equal(tb_kind_name((enum tb_kind)i), names[i]);
		assert_int_equal(tb_kind_parse(names[i], &k), 0);
		assert_int_equal(k, i);
	}
	assert_null(tb_kind_name(TB_KIND_COUNT));
	assert_int_equal(tb_kind_parse("Outreach", &k), TB_EINVAL);
	assert_int_equal(tb_kind_parse("action_month", &k), TB_EINVAL);
	assert_int_equal(tb_kind_parse("", &k), TB_EINVAL);
	assert_int_equal(tb_kind_parse(NULL, &k), TB_EINVAL);
}

/* The option spelling is the name with '-' for '_'; a whole is a count of
 * the same kind; choices only on choice fields; every field has help. */
static void check_table(enum tb_kind kind, size_t expect_count)
{
	size_t n;
	const struct tb_field *f = tb_kind_fields(kind, &n);

	assert_int_equal(n, expect_count);
	assert_true(n <= TB_FIELDS_MAX);
	for (size_t i = 0; i < n; i++) {
		char opt[64];
		int w;

		assert_true(strlen(f[i].name) < sizeof(opt));
		memcpy(opt, f[i].name, strlen(f[i].name) + 1);
		for (char *p = opt; *p; p++)
			if (*p == '_')
				*p = '-';
		assert_string_equal(f[i].option, opt);
		assert_int_equal(tb_field_index(kind, f[i].name), (int)i);
		assert_int_equal(tb_field_index(kind, f[i].option), (int)i);
		assert_true(f[i].help && strlen(f[i].help) > 10 &&
		            strlen(f[i].help) < 100);
		assert_int_equal(f[i].choices != NULL,
		                 f[i].type == TB_FT_CHOICE);
		if (f[i].whole) {
			w = tb_field_index(kind, f[i].whole);
			assert_true(w >= 0 && w != (int)i);
			assert_int_equal(f[i].type, TB_FT_COUNT);
			assert_int_equal(f[w].type, TB_FT_COUNT);
		}
	}
}

static void test_field_tables(void **state)
{
	(void)state;
	check_table(TB_KIND_OUTREACH, 7);
	check_table(TB_KIND_ACTION_MONTH, 7);
	check_table(TB_KIND_TRAINING, 7);
	check_table(TB_KIND_WEB_POST, 2);
	check_table(TB_KIND_SNAPSHOT, 27);
	assert_int_equal(tb_field_index(TB_KIND_OUTREACH, "teachers-staff"),
	                 tb_field_index(TB_KIND_OUTREACH, "teachers_staff"));
	assert_int_equal(tb_field_index(TB_KIND_OUTREACH, "female"), -1);
	assert_int_equal(tb_field_index(TB_KIND_TRAINING, "Title"), -1);
	assert_int_equal(tb_field_index(TB_KIND_TRAINING, NULL), -1);
}

/* ---- set and get ------------------------------------------------------ */

static void test_set_get_round_trip(void **state)
{
	struct tb_event e;
	char buf[TB_TEXT_MAX + 1];
	int part = tb_field_index(TB_KIND_TRAINING, "participants");
	int title = tb_field_index(TB_KIND_TRAINING, "title");

	(void)state;
	tb_event_init(&e, TB_KIND_TRAINING);
	assert_int_equal(e.revision, 1);
	assert_string_equal(tb_event_get(&e, part, buf, sizeof(buf)), "");
	set_ok(&e, "participants", "007");
	assert_int_equal(e.v[part].n, 7);
	assert_string_equal(tb_event_get(&e, part, buf, sizeof(buf)), "7");
	set_ok(&e, "participants", "0");
	assert_true(e.v[part].set);
	assert_string_equal(tb_event_get(&e, part, buf, sizeof(buf)), "0");
	set_ok(&e, "participants", "");
	assert_false(e.v[part].set);
	set_ok(&e, "title", VI_TITLE);
	assert_memory_equal(e.v[title].s, VI_TITLE, sizeof(VI_TITLE));
	assert_string_equal(tb_event_get(&e, title, buf, sizeof(buf)),
	                    VI_TITLE);
	set_ok(&e, "title", VI_NFD);
	assert_memory_equal(e.v[title].s, VI_NFD, sizeof(VI_NFD));
	assert_string_equal(tb_event_get(&e, title, buf, 6), "Tha\xcc\x81");
	assert_string_equal(tb_event_get(&e, 99, buf, sizeof(buf)), "");
	assert_string_equal(tb_event_get(&e, -1, buf, sizeof(buf)), "");
	tb_event_clear(&e);
	assert_int_equal(e.kind, TB_KIND_TRAINING);
	assert_null(e.v[title].s);
	tb_event_clear(NULL);
}

static void test_booleans(void **state)
{
	static const char *const yes[] = {"yes", "YES", "true", "True", "1"};
	static const char *const no[] = {"no", "No", "false", "FALSE", "0"};
	int ws = tb_field_index(TB_KIND_SNAPSHOT, "website_section");
	struct tb_event e;
	char buf[8];

	(void)state;
	tb_event_init(&e, TB_KIND_SNAPSHOT);
	for (size_t i = 0; i < 5; i++) {
		set_ok(&e, "website-section", yes[i]);
		assert_int_equal(e.v[ws].n, 1);
		assert_string_equal(tb_event_get(&e, ws, buf, sizeof(buf)),
		                    "yes");
		set_ok(&e, "website-section", no[i]);
		assert_int_equal(e.v[ws].n, 0);
		assert_true(e.v[ws].set);
		assert_string_equal(tb_event_get(&e, ws, buf, sizeof(buf)),
		                    "no");
	}
	tb_event_clear(&e);
}

/* A refused value keeps the previous one (and its memory). */
static void test_set_refusal_keeps_value(void **state)
{
	struct tb_event e;
	char msg[TB_MSG_LEN];
	int title = tb_field_index(TB_KIND_OUTREACH, "title");
	int parents = tb_field_index(TB_KIND_OUTREACH, "parents");
	char *old;

	(void)state;
	tb_event_init(&e, TB_KIND_OUTREACH);
	set_ok(&e, "title", VI_TITLE);
	set_ok(&e, "parents", "12");
	old = e.v[title].s;
	assert_int_equal(tb_event_set(&e, "title", "x\x01y", msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_ptr_equal(e.v[title].s, old);
	assert_string_equal(e.v[title].s, VI_TITLE);
	assert_int_equal(tb_event_set(&e, "parents", "12x", msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_int_equal(e.v[parents].n, 12);
	assert_int_equal(tb_event_set(&e, "nope", "1", msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "unknown field 'nope' for kind outreach");
	/* A NULL message buffer is allowed. */
	assert_int_equal(tb_event_set(&e, "parents", "-3", NULL, 0), TB_EINVAL);
	tb_event_clear(&e);
}

static void test_text_length_in_bytes(void **state)
{
	char text[TB_TEXT_MAX + 8], msg[TB_MSG_LEN];
	struct tb_event e;
	size_t i;

	(void)state;
	tb_event_init(&e, TB_KIND_WEB_POST);
	memset(text, 'a', TB_TEXT_MAX);
	text[TB_TEXT_MAX] = '\0';
	set_ok(&e, "title", text);
	text[TB_TEXT_MAX] = 'a';
	text[TB_TEXT_MAX + 1] = '\0';
	assert_int_equal(tb_event_set(&e, "title", text, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "title: must be at most 1000 bytes (1001)");
	/* 333 x "ạ" (3 bytes each) = 999 bytes passes, 334 = 1002 does not. */
	for (i = 0; i < 334; i++)
		memcpy(text + 3 * i, "\xe1\xba\xa1", 3);
	text[999] = '\0';
	set_ok(&e, "title", text);
	memcpy(text + 999, "\xe1\xba\xa1", 4);
	assert_int_equal(tb_event_set(&e, "title", text, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "title: must be at most 1000 bytes (1002)");
	tb_event_clear(&e);
}

static void test_text_valid(void **state)
{
	(void)state;
	assert_true(tb_text_valid(VI_TITLE, TB_TEXT_MAX));
	assert_true(tb_text_valid(VI_NFD, TB_TEXT_MAX));
	assert_true(tb_text_valid("", 0));
	assert_true(tb_text_valid("abc", 3));
	assert_false(tb_text_valid("abcd", 3));
	assert_false(tb_text_valid(NULL, 10));
	assert_false(tb_text_valid("\xed\xbf\xbf", 10)); /* U+DFFF */
	assert_true(tb_text_valid("\xee\x80\x80", 10));  /* U+E000 */
	assert_true(tb_text_valid("\xdf\xbf", 10));      /* U+07FF */
	assert_false(tb_text_valid("\xc1\xbf", 10));     /* overlong */
	assert_false(tb_text_valid("\xe0\x9f\xbf", 10)); /* overlong */
	assert_false(tb_text_valid("\xf0\x8f\xbf\xbf", 10));
	assert_false(tb_text_valid("a\xe1\x80", 10));    /* truncated */
	assert_false(tb_text_valid("\xf0\x9f\x98", 10)); /* truncated */
	assert_false(tb_text_valid("\r", 10));
	assert_false(tb_text_valid("\x1b[0m", 10));
}

static void test_codes(void **state)
{
	static const char *const good[] = {
	    "HB-001", "TO_12", "A1", "12", "THCS-THANH-OAI-01", "9_-"};
	static const char *const bad[] = {"A",      "",       "-AB",
	                                  "_AB",    "hb-001", "HB 001",
	                                  "HB.001", "HB/1",   "\xc4\x90T-1"};
	char c32[TB_CODE_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(tb_code_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(tb_code_valid(bad[i]));
	assert_false(tb_code_valid(NULL));
	memset(c32, 'X', TB_CODE_MAX);
	c32[TB_CODE_MAX] = '\0';
	assert_true(tb_code_valid(c32));
	c32[TB_CODE_MAX] = 'X';
	c32[TB_CODE_MAX + 1] = '\0';
	assert_false(tb_code_valid(c32));
}

static void test_uuids(void **state)
{
	char a[TB_ID_LEN], b[TB_ID_LEN];

	(void)state;
	assert_true(tb_uuid_valid(GOOD_ID));
	assert_false(tb_uuid_valid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
	assert_false(tb_uuid_valid("0f8fad5bd9cb469fa16570867728950e"));
	assert_false(tb_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950"));
	assert_false(tb_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950e0"));
	assert_false(tb_uuid_valid("0f8fad5b-d9cb-469f-a165_70867728950e"));
	assert_false(tb_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950g"));
	assert_false(tb_uuid_valid(""));
	assert_false(tb_uuid_valid(NULL));
	assert_int_equal(tb_uuid_new(a), 0);
	assert_int_equal(tb_uuid_new(b), 0);
	assert_true(tb_uuid_valid(a));
	assert_true(tb_uuid_valid(b));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
}

/* Device-derived ids: the device id's first 8 bytes, version nibble 8,
 * then n big-endian with the variant bits over its top two bits. */
static void test_uuid_for_device(void **state)
{
	const char *dev = "0f8fad5b-d9cb-469f-a165-70867728950e";
	char a[TB_ID_LEN], b[TB_ID_LEN];

	(void)state;
	assert_int_equal(tb_uuid_for_device(dev, 1, a), 0);
	/* byte 6: 0x46 -> 0x86; byte 8: 0x00 -> 0x80 */
	assert_string_equal(a, "0f8fad5b-d9cb-869f-8000-000000000001");
	assert_int_equal(tb_uuid_for_device(dev, 0x0102030405060708LL, b), 0);
	assert_string_equal(b, "0f8fad5b-d9cb-869f-8102-030405060708");
	assert_true(tb_uuid_valid(a));
	assert_int_equal(tb_uuid_for_device(dev, 0, a), TB_EINVAL);
	assert_int_equal(tb_uuid_for_device(dev, -5, a), TB_EINVAL);
	assert_int_equal(tb_uuid_for_device("not-a-uuid", 1, a), TB_EINVAL);
}

/* 0 is a reported figure; unset is "not reported" and stays distinct. */
static void test_snapshot_not_reported(void **state)
{
	struct tb_event e;
	char buf[16], msg[TB_MSG_LEN];
	int kp = tb_field_index(TB_KIND_SNAPSHOT, "key_posts");
	int m = tb_field_index(TB_KIND_SNAPSHOT, "masters");

	(void)state;
	tb_event_init(&e, TB_KIND_SNAPSHOT);
	envelope(&e, "2025-12-31");
	set_ok(&e, "key_posts", "0");
	assert_int_equal(tb_event_validate(&e, 1, msg, sizeof(msg)), 0);
	assert_string_equal(tb_event_get(&e, kp, buf, sizeof(buf)), "0");
	assert_string_equal(tb_event_get(&e, m, buf, sizeof(buf)), "");
	assert_false(e.v[m].set);
	tb_event_clear(&e);
}

/* A count written directly into the struct is still checked. */
static void test_validate_direct_values(void **state)
{
	struct tb_event e;
	char msg[TB_MSG_LEN];
	int parents = tb_field_index(TB_KIND_OUTREACH, "parents");
	int ch = tb_field_index(TB_KIND_OUTREACH, "channel");

	(void)state;
	tb_event_init(&e, TB_KIND_OUTREACH);
	envelope(&e, "2025-03-08");
	set_ok(&e, "title", "x");
	e.v[parents].set = 1;
	e.v[parents].n = TB_COUNT_MAX + 1;
	assert_int_equal(tb_event_validate(&e, 1, msg, sizeof(msg)), TB_EINVAL);
	assert_string_equal(
	    msg, "parents: must be a whole number from 0 to 1000000");
	e.v[parents].n = -1;
	assert_int_equal(tb_event_validate(&e, 1, msg, sizeof(msg)), TB_EINVAL);
	assert_string_equal(
	    msg, "parents: must be a whole number from 0 to 1000000");
	e.v[parents].n = TB_COUNT_MAX;
	assert_int_equal(tb_event_validate(&e, 1, msg, sizeof(msg)), 0);
	e.v[ch].set = 1;
	e.v[ch].s = tb_strdup("fax");
	assert_int_equal(tb_event_validate(&e, 1, msg, sizeof(msg)), TB_EINVAL);
	assert_string_equal(msg, "channel: must be one of meeting, event, "
	                         "print, web, radio, social-media, other");
	tb_free(e.v[ch].s);
	e.v[ch].s = tb_strdup("\xe2\x28\xa1");
	assert_int_equal(tb_event_validate(&e, 1, msg, sizeof(msg)), TB_EINVAL);
	assert_string_equal(msg, "channel: must be valid UTF-8");
	/* A short buffer gets a truncated, terminated message. */
	assert_int_equal(tb_event_validate(&e, 1, msg, 8), TB_EINVAL);
	assert_string_equal(msg, "channel");
	tb_event_clear(&e);
}

/* ---- copies and allocation failures ----------------------------------- */

static void make_full(struct tb_event *e)
{
	tb_event_init(e, TB_KIND_OUTREACH);
	envelope(e, "2025-03-08");
	set_ok(e, "title", VI_TITLE);
	set_ok(e, "parents", "30");
	set_ok(e, "occasion", "womens-day");
	set_ok(e, "channel", "meeting");
	e->voided = 1;
	e->void_reason = tb_strdup("trùng lặp");
	e->revision = 3;
}

static void test_copy_is_deep(void **state)
{
	struct tb_event a, b;
	char msg[TB_MSG_LEN];
	size_t n;

	(void)state;
	make_full(&a);
	tb_event_init(&b, TB_KIND_SNAPSHOT);
	assert_int_equal(tb_event_copy(&b, &a), 0);
	assert_int_equal(b.kind, TB_KIND_OUTREACH);
	assert_int_equal(b.revision, 3);
	assert_string_equal(b.id, GOOD_ID);
	assert_string_equal(b.void_reason, "trùng lặp");
	assert_ptr_not_equal(b.void_reason, a.void_reason);
	tb_kind_fields(TB_KIND_OUTREACH, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a.v[i].set, b.v[i].set);
		assert_int_equal(a.v[i].n, b.v[i].n);
		if (a.v[i].s) {
			assert_ptr_not_equal(a.v[i].s, b.v[i].s);
			assert_string_equal(a.v[i].s, b.v[i].s);
		}
	}
	assert_int_equal(tb_event_validate(&b, 1, msg, sizeof(msg)), 0);
	tb_event_clear(&a);
	assert_string_equal(b.v[0].s, VI_TITLE);
	tb_event_clear(&b);
}

/* Fail the 1st, 2nd, ... allocation of a copy until it succeeds: every
 * failure is TB_ENOMEM with dst empty (ASan reports any leak). */
static void test_copy_out_of_memory(void **state)
{
	struct tb_event a, b;
	int rc = TB_ENOMEM;
	long nth;

	(void)state;
	make_full(&a);
	for (nth = 1; nth < 50 && rc != 0; nth++) {
		tb_event_init(&b, TB_KIND_OUTREACH);
		tb_mem_fail_at(nth);
		rc = tb_event_copy(&b, &a);
		tb_mem_fail_at(0);
		if (rc == 0)
			break;
		assert_int_equal(rc, TB_ENOMEM);
		assert_null(b.void_reason);
		for (size_t i = 0; i < TB_FIELDS_MAX; i++) {
			assert_null(b.v[i].s);
			assert_false(b.v[i].set);
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(nth, 5); /* void_reason + title, occasion, channel */
	assert_string_equal(b.v[0].s, VI_TITLE);
	tb_event_clear(&b);
	tb_event_clear(&a);
}

static void test_set_out_of_memory(void **state)
{
	struct tb_event e;
	char msg[TB_MSG_LEN];
	int title = tb_field_index(TB_KIND_TRAINING, "title");
	int rc = TB_ENOMEM;
	long nth;

	(void)state;
	tb_event_init(&e, TB_KIND_TRAINING);
	set_ok(&e, "title", "old");
	for (nth = 1; nth < 10 && rc != 0; nth++) {
		tb_mem_fail_at(nth);
		rc = tb_event_set(&e, "title", VI_TITLE, msg, sizeof(msg));
		tb_mem_fail_at(0);
		if (rc == 0)
			break;
		assert_int_equal(rc, TB_ENOMEM);
		assert_string_equal(e.v[title].s, "old");
	}
	assert_int_equal(rc, 0);
	assert_int_equal(nth, 2);
	assert_string_equal(e.v[title].s, VI_TITLE);
	/* Counts allocate nothing. */
	tb_mem_fail_at(1);
	rc = tb_event_set(&e, "participants", "4", msg, sizeof(msg));
	tb_mem_fail_at(0);
	assert_int_equal(rc, 0);
	tb_event_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_from_fixture),
	    cmocka_unit_test(test_kind_names),
	    cmocka_unit_test(test_field_tables),
	    cmocka_unit_test(test_set_get_round_trip),
	    cmocka_unit_test(test_booleans),
	    cmocka_unit_test(test_set_refusal_keeps_value),
	    cmocka_unit_test(test_text_length_in_bytes),
	    cmocka_unit_test(test_text_valid),
	    cmocka_unit_test(test_codes),
	    cmocka_unit_test(test_uuids),
		cmocka_unit_test(test_uuid_for_device),
	    cmocka_unit_test(test_snapshot_not_reported),
	    cmocka_unit_test(test_validate_direct_values),
	    cmocka_unit_test(test_copy_is_deep),
	    cmocka_unit_test(test_copy_out_of_memory),
	    cmocka_unit_test(test_set_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
