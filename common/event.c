/* event.c - the event model: field tables per kind, setting and reading
 * fields from text, and the validation rules of event.h.
 *
 * Called by the agent's CLI and CSV import (tb_event_set), the protocol
 * codec (tb_event_set/tb_event_get/tb_kind_fields) and the server before
 * it stores anything (tb_event_validate). The tables below are the single
 * place a field is defined: name, option spelling, type, whether required,
 * the whole it is a part of, its choices and its help line. Rules that
 * span fields of one kind (an audience must be counted, a training has
 * participants, a snapshot reports something) live in one check function
 * per kind. Every refusal message starts with "field: ".
 */
#include "common/event.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/utf8.h"

/* The tables read best laid out by hand. */
/* clang-format off */
#define COUNT_RULE "0-1000000"

#define COUNT(nm, opt, whole, help) \
	{ nm, opt, TB_FT_COUNT, 0, whole, NULL, help }
#define SNAP(nm, opt, whole, help) \
	{ nm, opt, TB_FT_COUNT, 0, whole, NULL, help " (" COUNT_RULE \
	  "; empty: not reported)" }

#define OCCASIONS "womens-day|happiness-day|family-day|action-month|other"
#define CHANNELS "meeting|event|print|web|radio|social-media|other"

/* Outreach events and Action Month activities share their fields. */
static const struct tb_field outreach_fields[] = {
	{ "title", "title", TB_FT_TEXT, 1, NULL, NULL,
	  "What the event was (text, required, at most 1000 bytes)" },
	COUNT("parents", "parents", NULL,
	      "Parents reached, in people (" COUNT_RULE ")"),
	COUNT("students", "students", NULL,
	      "Students reached, in people (" COUNT_RULE ")"),
	COUNT("teachers_staff", "teachers-staff", NULL,
	      "Teachers and staff reached, in people (" COUNT_RULE ")"),
	COUNT("officials", "officials", NULL,
	      "Local officials reached, in people (" COUNT_RULE ")"),
	{ "occasion", "occasion", TB_FT_CHOICE, 0, NULL, OCCASIONS,
	  "Occasion: womens-day, happiness-day, family-day, action-month "
	  "or other" },
	{ "channel", "channel", TB_FT_CHOICE, 0, NULL, CHANNELS,
	  "Channel: meeting, event, print, web, radio, social-media or "
	  "other" },
};

static const struct tb_field training_fields[] = {
	{ "title", "title", TB_FT_TEXT, 1, NULL, NULL,
	  "What the training was (text, required, at most 1000 bytes)" },
	{ "topic", "topic", TB_FT_TEXT, 0, NULL, NULL,
	  "Topic of the training (text, at most 1000 bytes)" },
	{ "participants", "participants", TB_FT_COUNT, 1, NULL, NULL,
	  "Participants, in people (required, 1-1000000)" },
	COUNT("female", "female", "participants",
	      "Female participants, in people (at most participants)"),
	COUNT("ban_members", "ban-members", "participants",
	      "Ban VSTBPN members among participants (at most "
	      "participants)"),
	COUNT("women_in_planning", "women-in-planning", "female",
	      "Women in leadership planning among participants (at most "
	      "female)"),
	COUNT("communicators", "communicators", "participants",
	      "Participants trained as communicators (at most "
	      "participants)"),
};

static const struct tb_field web_post_fields[] = {
	{ "title", "title", TB_FT_TEXT, 1, NULL, NULL,
	  "Title of the post (text, required, at most 1000 bytes)" },
	{ "url", "url", TB_FT_URL, 0, NULL, NULL,
	  "Address of the post (starts with http:// or https://)" },
};

static const struct tb_field snapshot_fields[] = {
	SNAP("ban_members", "ban-members", NULL,
	     "Members of the unit's Ban VSTBPN, in people"),
	SNAP("ban_members_trained", "ban-members-trained", "ban_members",
	     "Ban VSTBPN members trained, at most ban_members"),
	SNAP("women_in_planning", "women-in-planning", NULL,
	     "Women in leadership planning, in people"),
	SNAP("women_in_planning_trained", "women-in-planning-trained",
	     "women_in_planning",
	     "Women in planning who were trained, at most women_in_planning"),
	SNAP("key_posts", "key-posts", NULL, "Key leadership posts, in people"),
	SNAP("key_posts_women", "key-posts-women", "key_posts",
	     "Key posts held by women, at most key_posts"),
	SNAP("masters", "masters", NULL, "Staff with a master's degree"),
	SNAP("masters_female", "masters-female", "masters",
	     "Women with a master's degree, at most masters"),
	SNAP("doctors", "doctors", NULL, "Staff with a doctorate"),
	SNAP("doctors_female", "doctors-female", "doctors",
	     "Women with a doctorate, at most doctors"),
	SNAP("science_tasks", "science-tasks", NULL,
	     "Science and technology tasks, in tasks"),
	SNAP("science_tasks_women_led", "science-tasks-women-led",
	     "science_tasks", "Tasks led by women, at most science_tasks"),
	SNAP("nursery_age_children", "nursery-age-children", NULL,
	     "Children of nursery age in the area"),
	SNAP("nursery_age_enrolled", "nursery-age-enrolled",
	     "nursery_age_children",
	     "Nursery-age enrolled, at most nursery_age_children"),
	SNAP("kindergarten_age_children", "kindergarten-age-children", NULL,
	     "Children of kindergarten age in the area"),
	SNAP("kindergarten_age_enrolled", "kindergarten-age-enrolled",
	     "kindergarten_age_children",
	     "Kindergarten-age enrolled, at most "
	     "kindergarten_age_children"),
	SNAP("em_primary_cohort", "em-primary-cohort", NULL,
	     "Ethnic-minority pupils in the primary cohort"),
	SNAP("em_primary_completed", "em-primary-completed",
	     "em_primary_cohort",
	     "Of them, completed primary, at most em_primary_cohort"),
	SNAP("em_lower_secondary_cohort", "em-lower-secondary-cohort", NULL,
	     "Ethnic-minority pupils in the lower-secondary cohort"),
	SNAP("em_lower_secondary_completed", "em-lower-secondary-completed",
	     "em_lower_secondary_cohort",
	     "Of them, completed lower secondary, at most the cohort"),
	SNAP("women_adults", "women-adults", NULL,
	     "Adult women in the area, in people"),
	SNAP("women_literate", "women-literate", "women_adults",
	     "Literate adult women, at most women_adults"),
	SNAP("em_women_adults", "em-women-adults", NULL,
	     "Ethnic-minority and mountain adult women, in people"),
	SNAP("em_women_literate", "em-women-literate", "em_women_adults",
	     "Of them, literate, at most em_women_adults"),
	{ "website_section", "website-section", TB_FT_BOOL, 0, NULL, NULL,
	  "Website has a gender-equality section (yes/no)" },
	{ "curriculum_content", "curriculum-content", TB_FT_BOOL, 0, NULL,
	  NULL, "Gender content is taught in the curriculum (yes/no)" },
	{ "legal_outreach", "legal-outreach", TB_FT_BOOL, 0, NULL, NULL,
	  "Legal-education outreach for women was run (yes/no)" },
};

/* clang-format on */

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

struct kind_def {
	const char *name;
	const struct tb_field *fields;
	size_t count;
};

static const struct kind_def kinds[TB_KIND_COUNT] = {
    [TB_KIND_OUTREACH] = {"outreach", outreach_fields,
                          NFIELDS(outreach_fields)},
    [TB_KIND_TRAINING] = {"training", training_fields,
                          NFIELDS(training_fields)},
    [TB_KIND_ACTION_MONTH] = {"action-month", outreach_fields,
                              NFIELDS(outreach_fields)},
    [TB_KIND_WEB_POST] = {"web-post", web_post_fields,
                          NFIELDS(web_post_fields)},
    [TB_KIND_SNAPSHOT] = {"snapshot", snapshot_fields,
                          NFIELDS(snapshot_fields)},
};

_Static_assert(NFIELDS(snapshot_fields) <= TB_FIELDS_MAX,
               "TB_FIELDS_MAX too small for snapshot");
_Static_assert(NFIELDS(outreach_fields) <= TB_FIELDS_MAX,
               "TB_FIELDS_MAX too small for outreach");
_Static_assert(NFIELDS(training_fields) <= TB_FIELDS_MAX,
               "TB_FIELDS_MAX too small for training");

/* ---- kinds and fields -------------------------------------------------- */

const char *tb_kind_name(enum tb_kind kind)
{
	if ((int)kind < 0 || kind >= TB_KIND_COUNT)
		return NULL;
	return kinds[kind].name;
}

int tb_kind_parse(const char *name, enum tb_kind *out)
{
	for (int k = 0; name && k < TB_KIND_COUNT; k++) {
		if (strcmp(name, kinds[k].name) == 0) {
			*out = (enum tb_kind)k;
			return 0;
		}
	}
	return TB_EINVAL;
}

const struct tb_field *tb_kind_fields(enum tb_kind kind, size_t *count)
{
	if ((int)kind < 0 || kind >= TB_KIND_COUNT) {
		*count = 0;
		return NULL;
	}
	*count = kinds[kind].count;
	return kinds[kind].fields;
}

int tb_field_index(enum tb_kind kind, const char *name)
{
	size_t n;
	const struct tb_field *f = tb_kind_fields(kind, &n);

	for (size_t i = 0; name && i < n; i++) {
		if (strcmp(name, f[i].name) == 0 ||
		    strcmp(name, f[i].option) == 0)
			return (int)i;
	}
	return -1;
}

/* ---- records ----------------------------------------------------------- */

void tb_event_init(struct tb_event *e, enum tb_kind kind)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->revision = 1;
}

void tb_event_clear(struct tb_event *e)
{
	if (!e)
		return;
	tb_free(e->void_reason);
	for (size_t i = 0; i < TB_FIELDS_MAX; i++)
		tb_free(e->v[i].s);
	tb_event_init(e, e->kind);
}

int tb_event_copy(struct tb_event *dst, const struct tb_event *src)
{
	int rc = 0;

	*dst = *src;
	dst->void_reason = NULL;
	for (size_t i = 0; i < TB_FIELDS_MAX; i++)
		dst->v[i].s = NULL;
	if (src->void_reason) {
		dst->void_reason = tb_strdup(src->void_reason);
		if (!dst->void_reason)
			goto nomem;
	}
	for (size_t i = 0; i < TB_FIELDS_MAX; i++) {
		if (!src->v[i].s)
			continue;
		dst->v[i].s = tb_strdup(src->v[i].s);
		if (!dst->v[i].s)
			goto nomem;
	}
	return rc;
nomem:
	tb_event_clear(dst);
	return TB_ENOMEM;
}

/* ---- text rules -------------------------------------------------------- */

enum text_problem { TEXT_OK, TEXT_UTF8, TEXT_CONTROL, TEXT_LONG };

static enum text_problem text_check(const char *s, size_t maxbytes)
{
	const char *p = s;
	enum text_problem found = TEXT_OK;
	uint32_t cp;
	size_t n;

	while (*p) {
		n = tb_utf8_next(p, &cp);
		if (n == 0)
			return TEXT_UTF8;
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			found = TEXT_CONTROL;
		p += n;
	}
	if (found == TEXT_OK && (size_t)(p - s) > maxbytes)
		found = TEXT_LONG;
	return found;
}

int tb_text_valid(const char *s, size_t maxbytes)
{
	return s && text_check(s, maxbytes) == TEXT_OK;
}

/* Refusal message for text that fails text_check. */
static int text_fail(const char *name, const char *s, size_t maxbytes,
                     char *msg, size_t msglen)
{
	switch (text_check(s, maxbytes)) {
	case TEXT_OK:
		return 0;
	case TEXT_UTF8:
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("%s: must be valid UTF-8"),
		              name);
	case TEXT_CONTROL:
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("%s: must not contain control characters"),
		              name);
	case TEXT_LONG:
		break;
	}
	return tb_msg(TB_EINVAL, msg, msglen,
	              _("%s: must be at most %zu bytes (%zu)"), name, maxbytes,
	              strlen(s));
}

/* ---- setting and reading fields ---------------------------------------- */

/* Strict decimal 0..TB_COUNT_MAX: digits only, leading zeros allowed. */
static int parse_count(const char *text, int64_t *out)
{
	int64_t v = 0;

	if (!*text)
		return TB_EINVAL;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return TB_EINVAL;
		v = v * 10 + (*p - '0');
		if (v > TB_COUNT_MAX)
			return TB_EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_bool(const char *text, int64_t *out)
{
	static const char *const yes[] = {"yes", "true", "1"};
	static const char *const no[] = {"no", "false", "0"};

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return TB_EINVAL;
}

/* 1 if s is exactly one of the '|'-separated choices. */
static int choice_valid(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices, *bar;

	while (p) {
		bar = strchr(p, '|');
		if ((bar ? (size_t)(bar - p) : strlen(p)) == n &&
		    memcmp(p, s, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

/* "a|b|c" as "a, b, c" into buf. */
static const char *choice_list(const char *choices, char *buf, size_t len)
{
	size_t o = 0;

	for (const char *p = choices; *p && o + 3 < len; p++) {
		if (*p == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
	return buf;
}

static int url_valid(const char *s)
{
	size_t skip;

	if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	if (!s[skip])
		return 0;
	return strpbrk(s, " ") == NULL;
}

/* Checks a string value of field f against its type. */
static int check_string(const struct tb_field *f, const char *s, char *msg,
                        size_t msglen)
{
	char list[160];
	int rc = text_fail(f->name, s, TB_TEXT_MAX, msg, msglen);

	if (rc != 0)
		return rc;
	if (f->type == TB_FT_CHOICE && !choice_valid(f->choices, s))
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("%s: must be one of %s"),
		              f->name,
		              choice_list(f->choices, list, sizeof(list)));
	if (f->type == TB_FT_URL && !url_valid(s))
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("%s: must start with http:// or https:// and "
		              "contain no spaces"),
		              f->name);
	return 0;
}

static int count_fail(const char *name, char *msg, size_t msglen)
{
	return tb_msg(TB_EINVAL, msg, msglen,
	              _("%s: must be a whole number from 0 to %d"), name,
	              TB_COUNT_MAX);
}

int tb_event_set(struct tb_event *e, const char *name, const char *text,
                 char *msg, size_t msglen)
{
	int idx = tb_field_index(e->kind, name);
	const struct tb_field *f;
	size_t n;
	int64_t v = 0;
	char *copy = NULL;
	int rc;

	if (idx < 0)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("unknown field '%s' for kind %s"),
		              name ? name : "(null)",
		              tb_kind_name(e->kind) ? tb_kind_name(e->kind)
		                                    : "(unknown)");
	f = &tb_kind_fields(e->kind, &n)[idx];
	if (!text || !*text) {
		tb_free(e->v[idx].s);
		memset(&e->v[idx], 0, sizeof(e->v[idx]));
		return 0;
	}
	switch (f->type) {
	case TB_FT_COUNT:
		if (parse_count(text, &v) != 0)
			return count_fail(f->name, msg, msglen);
		break;
	case TB_FT_BOOL:
		if (parse_bool(text, &v) != 0)
			return tb_msg(TB_EINVAL, msg, msglen,
			              _("%s: must be yes or no"), f->name);
		break;
	default:
		rc = check_string(f, text, msg, msglen);
		if (rc != 0)
			return rc;
		copy = tb_strdup(text);
		if (!copy)
			return TB_ENOMEM;
		break;
	}
	tb_free(e->v[idx].s);
	e->v[idx].set = 1;
	e->v[idx].n = v;
	e->v[idx].s = copy;
	return 0;
}

const char *tb_event_get(const struct tb_event *e, int idx, char *buf,
                         size_t buflen)
{
	size_t n;
	const struct tb_field *f = tb_kind_fields(e->kind, &n);
	const struct tb_value *val;

	if (!buflen)
		return buf;
	buf[0] = '\0';
	if (!f || idx < 0 || (size_t)idx >= n || !e->v[idx].set)
		return buf;
	val = &e->v[idx];
	if (f[idx].type == TB_FT_COUNT)
		snprintf(buf, buflen, "%lld", (long long)val->n);
	else if (f[idx].type == TB_FT_BOOL)
		snprintf(buf, buflen, "%s", val->n ? "yes" : "no");
	else if (val->s)
		snprintf(buf, buflen, "%s", val->s);
	return buf;
}

/* ---- validation -------------------------------------------------------- */

static int check_envelope(const struct tb_event *e, char *msg, size_t msglen)
{
	if (!tb_uuid_valid(e->id))
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("id: must be a lower-case UUID "
		              "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"));
	if (!tb_code_valid(e->school))
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("school: must be %d-%d characters of A-Z, 0-9, "
		              "'-' or '_', starting with a letter or digit"),
		              TB_CODE_MIN, TB_CODE_MAX);
	if (e->device[0] && !tb_uuid_valid(e->device))
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("device: must be a lower-case UUID or empty"));
	if (e->seq < 1)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("seq: must be at least 1"));
	/* The wire accepts only these years (tb_time_parse): an event
	 * stamped outside them by a machine whose clock is wrong would be
	 * stored here and refused by the server, so it is refused now. */
	if (e->recorded_at < (int64_t)tb_date_from_ymd(TB_YEAR_MIN, 1, 1) *
	                             86400 ||
	    e->recorded_at >= (int64_t)tb_date_from_ymd(TB_YEAR_MAX + 1, 1, 1) *
	                              86400) {
		char at[TB_TIME_LEN];

		return tb_msg(TB_EINVAL, msg, msglen,
		              _("recorded_at: must be a time in the years "
		                "%d-%d, not %s (is the computer's clock "
		                "right?)"),
		              TB_YEAR_MIN, TB_YEAR_MAX,
		              tb_time_format(e->recorded_at, at));
	}
	return 0;
}

static int check_common(const struct tb_event *e, char *msg, size_t msglen)
{
	int y, m, d;

	if ((int)e->kind < 0 || e->kind >= TB_KIND_COUNT)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("kind: must be one of outreach, "
		              "training, action-month, web-post, snapshot"));
	tb_date_to_ymd(e->date, &y, &m, &d);
	if (y < TB_YEAR_MIN || y > TB_YEAR_MAX)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("date: must be a real date from "
		              "%d-01-01 to %d-12-31"),
		              TB_YEAR_MIN, TB_YEAR_MAX);
	if (e->revision < 1 || e->revision > TB_REVISION_MAX)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("revision: must be between 1 and %d"),
		              TB_REVISION_MAX);
	if (e->voided && !e->void_reason)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("void_reason: required when voided"));
	if (!e->voided && e->void_reason)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("void_reason: only allowed when voided"));
	if (e->void_reason && !*e->void_reason)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("void_reason: required when voided"));
	if (e->void_reason)
		return text_fail("void_reason", e->void_reason, TB_TEXT_MAX,
		                 msg, msglen);
	return 0;
}

/* Each set field against its type; required fields present. */
static int check_values(const struct tb_event *e, const struct tb_field *f,
                        size_t n, char *msg, size_t msglen)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct tb_value *val = &e->v[i];

		if (!val->set) {
			if (f[i].required)
				return tb_msg(TB_EINVAL, msg, msglen,
				              _("%s: required"), f[i].name);
			continue;
		}
		if (f[i].type == TB_FT_COUNT &&
		    (val->n < 0 || val->n > TB_COUNT_MAX))
			return count_fail(f[i].name, msg, msglen);
		if (f[i].type == TB_FT_BOOL && val->n != 0 && val->n != 1)
			return tb_msg(TB_EINVAL, msg, msglen,
			              _("%s: must be yes or no"), f[i].name);
		if (f[i].type != TB_FT_COUNT && f[i].type != TB_FT_BOOL) {
			if (!val->s)
				return tb_msg(TB_EINVAL, msg, msglen,
				              _("%s: required"), f[i].name);
			rc = check_string(&f[i], val->s, msg, msglen);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* Every part against its whole. For activity kinds an unset count is 0;
 * for snapshots an unset figure is "not reported", so a part given
 * without its whole is refused. */
static int check_parts(const struct tb_event *e, const struct tb_field *f,
                       size_t n, char *msg, size_t msglen)
{
	for (size_t i = 0; i < n; i++) {
		int w;

		if (!f[i].whole || !e->v[i].set)
			continue;
		w = tb_field_index(e->kind, f[i].whole);
		if (w < 0)
			continue;
		if (!e->v[w].set && e->kind == TB_KIND_SNAPSHOT)
			return tb_msg(TB_EINVAL, msg, msglen,
			              _("%s: given without %s"), f[i].name,
			              f[i].whole);
		if (e->v[i].n > (e->v[w].set ? e->v[w].n : 0))
			return tb_msg(TB_EINVAL, msg, msglen,
			              _("%s: must not exceed %s (%lld > %lld)"),
			              f[i].name, f[i].whole,
			              (long long)e->v[i].n,
			              (long long)(e->v[w].set ? e->v[w].n : 0));
	}
	return 0;
}

static int64_t count_of(const struct tb_event *e, const char *name)
{
	int i = tb_field_index(e->kind, name);

	return (i >= 0 && e->v[i].set) ? e->v[i].n : 0;
}

static int check_outreach(const struct tb_event *e, char *msg, size_t msglen)
{
	int32_t from, to;
	int y, m, d;
	char day[TB_DATE_LEN];

	if (count_of(e, "parents") + count_of(e, "students") +
	        count_of(e, "teachers_staff") + count_of(e, "officials") ==
	    0)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("parents, students, teachers_staff, officials: "
		              "at least one must be above 0"));
	if (e->kind != TB_KIND_ACTION_MONTH)
		return 0;
	tb_date_to_ymd(e->date, &y, &m, &d);
	tb_action_month(y, &from, &to);
	if (e->date < from || e->date > to)
		return tb_msg(
		    TB_EINVAL, msg, msglen,
		    _("date: an action-month activity must fall between "
		      "15 Nov and 15 Dec (%s)"),
		    tb_date_format(e->date, day));
	return 0;
}

static int check_training(const struct tb_event *e, char *msg, size_t msglen)
{
	if (count_of(e, "participants") < 1)
		return tb_msg(TB_EINVAL, msg, msglen,
		              _("participants: must be at least 1"));
	return 0;
}

static int check_snapshot(const struct tb_event *e, char *msg, size_t msglen)
{
	for (size_t i = 0; i < NFIELDS(snapshot_fields); i++)
		if (e->v[i].set)
			return 0;
	return tb_msg(TB_EINVAL, msg, msglen,
	              _("kind: a snapshot must report at least one figure"));
}

int tb_event_validate(const struct tb_event *e, int check_env, char *msg,
                      size_t msglen)
{
	const struct tb_field *f;
	size_t n;
	int rc;

	if (check_env) {
		rc = check_envelope(e, msg, msglen);
		if (rc != 0)
			return rc;
	}
	rc = check_common(e, msg, msglen);
	if (rc != 0)
		return rc;
	f = tb_kind_fields(e->kind, &n);
	rc = check_values(e, f, n, msg, msglen);
	if (rc == 0)
		rc = check_parts(e, f, n, msg, msglen);
	if (rc != 0)
		return rc;
	switch (e->kind) {
	case TB_KIND_OUTREACH:
	case TB_KIND_ACTION_MONTH:
		return check_outreach(e, msg, msglen);
	case TB_KIND_TRAINING:
		return check_training(e, msg, msglen);
	case TB_KIND_SNAPSHOT:
		return check_snapshot(e, msg, msglen);
	default:
		return 0;
	}
}
