/* plan.c - reading and checking plan files (format: plans/README.md,
 * structures: plan.h).
 *
 * The file is parsed with cJSON and walked once; every value is checked
 * where it is read, and the first problem stops the load with a message
 * "FILE: PLACE: PROBLEM". PLACE is a JSON path kept in a small buffer that
 * grows as the walk descends ("indicators[3]" + ".parts[1]" + ".targets"
 * + ".2025") and is cut back on the way up. Objects are closed: a key the
 * format does not define is refused, so a typo ("formla") cannot silently
 * drop a formula. Fields are checked against the event model's tables
 * (common/event.h), so a plan cannot name a figure no school records.
 */
#include "server/plan.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"

const char *const TB_PLAN_LEVEL_NAMES[TB_PLAN_NLEVELS] = {
	"MN", "TH", "THCS", "THPT", "GDTX", "office"};

#define PATH_MAX_LEN 160

struct walk {
	const char *file;
	char path[PATH_MAX_LEN];
	size_t plen;
	char *msg;
	size_t msglen;
	struct tb_plan *plan;
};

/* ---- messages and paths ---------------------------------------------- */

static int bad(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct walk *w, const char *fmt, ...)
{
	char problem[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (w->msg && w->msglen)
		snprintf(w->msg, w->msglen, "%s: %s: %s", w->file,
			 w->plen ? w->path : "(top level)", problem);
	return TB_ECONFIG;
}

#ifdef __clang_analyzer__ /* it does not follow variadic calls: msg.h */
#define bad(w, ...) (bad((w), __VA_ARGS__), TB_ECONFIG)
#endif

static size_t path_add(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends to the path; returns the old length for path_cut. */
static size_t path_add(struct walk *w, const char *fmt, ...)
{
	size_t old = w->plen, room = sizeof(w->path) - w->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(w->path + w->plen, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->plen += (size_t)n < room ? (size_t)n : room - 1;
	return old;
}

/* ".key" (or "key" at the top). */
static size_t path_key(struct walk *w, const char *key)
{
	return path_add(w, "%s%s", w->plen ? "." : "", key);
}

static size_t path_index(struct walk *w, int i)
{
	return path_add(w, "[%d]", i);
}

static void path_cut(struct walk *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

/* ---- names ------------------------------------------------------------- */

const char *tb_plan_cmp_name(enum tb_plan_cmp c)
{
	switch (c) {
	case TB_CMP_GE: return ">=";
	case TB_CMP_GT: return ">";
	case TB_CMP_ABOUT: return "about";
	}
	return "?";
}

const char *tb_plan_unit_name(enum tb_plan_unit u)
{
	switch (u) {
	case TB_UNIT_COUNT: return "count";
	case TB_UNIT_PERCENT_UNITS: return "percent_units";
	case TB_UNIT_RATIO: return "ratio";
	case TB_UNIT_RATE: return "rate";
	}
	return "?";
}

static const char *const ftype_names[] = {
	[TB_F_SUM] = "sum",
	[TB_F_COUNT] = "count",
	[TB_F_SHARE_UNITS] = "share_units",
	[TB_F_RATIO] = "ratio",
	[TB_F_EVERY_QUARTER] = "every_quarter",
	[TB_F_NOT_COLLECTED] = "not_collected",
};
#define NFTYPES (sizeof(ftype_names) / sizeof(ftype_names[0]))

const char *tb_plan_ftype_name(enum tb_plan_ftype t)
{
	return (size_t)t < NFTYPES ? ftype_names[t] : "?";
}

unsigned tb_plan_level_bit(const char *level)
{
	for (int i = 0; level && i < TB_PLAN_NLEVELS; i++)
		if (strcmp(level, TB_PLAN_LEVEL_NAMES[i]) == 0)
			return 1u << i;
	return TB_PLAN_LEVEL_OTHER;
}

/* ---- typed reads ------------------------------------------------------- */

/* Refuses keys outside `allowed` (NULL-terminated) and duplicate keys. */
static int closed_object(struct walk *w, const cJSON *o,
			 const char *const *allowed)
{
	const cJSON *k, *j;

	if (!cJSON_IsObject(o))
		return bad(w, "must be an object");
	for (k = o->child; k; k = k->next) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (strcmp(k->string, allowed[i]) == 0)
				break;
		if (!allowed[i])
			return bad(w, "unknown key \"%s\"", k->string);
		for (j = o->child; j != k; j = j->next)
			if (strcmp(j->string, k->string) == 0)
				return bad(w, "key \"%s\" given twice",
					   k->string);
	}
	return TB_OK;
}

/* A required (or optional, when *out may stay NULL) UTF-8 text. */
static int get_text(struct walk *w, const cJSON *o, const char *key,
		    int required, size_t maxlen, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t old;
	int rc = TB_OK;

	*out = NULL;
	if (!v) {
		if (required) {
			old = path_key(w, key);
			rc = bad(w, "missing");
			path_cut(w, old);
		}
		return rc;
	}
	old = path_key(w, key);
	if (!cJSON_IsString(v) || !v->valuestring)
		rc = bad(w, "must be a string");
	else if (!v->valuestring[0])
		rc = bad(w, "must not be empty");
	else if (!tb_text_valid(v->valuestring, maxlen))
		rc = bad(w, "must be UTF-8 text without control characters, "
			 "at most %zu bytes", maxlen);
	else
		*out = v->valuestring;
	path_cut(w, old);
	return rc;
}

static int dup_text(struct walk *w, const cJSON *o, const char *key,
		    int required, char **out)
{
	const char *s;
	int rc = get_text(w, o, key, required, TB_TEXT_MAX, &s);

	*out = NULL;
	if (rc < 0 || !s)
		return rc;
	*out = tb_strdup(s);
	return *out ? TB_OK : TB_ENOMEM;
}

/* 1 if every byte of s is in `set` or an ASCII letter/digit per flags. */
static int chars_ok(const char *s, int upper, int lower, const char *extra)
{
	for (; *s; s++) {
		char c = *s;

		if (c >= '0' && c <= '9')
			continue;
		if (upper && c >= 'A' && c <= 'Z')
			continue;
		if (lower && c >= 'a' && c <= 'z')
			continue;
		if (!strchr(extra, c))
			return 0;
	}
	return 1;
}

static int get_date(struct walk *w, const cJSON *o, const char *key,
		    int32_t *out)
{
	const char *s;
	size_t old;
	int rc = get_text(w, o, key, 1, 16, &s);

	if (rc < 0)
		return rc;
	old = path_key(w, key);
	if (tb_date_parse(s, out) < 0)
		rc = bad(w, "must be a date YYYY-MM-DD, not \"%s\"", s);
	path_cut(w, old);
	return rc;
}

static int get_bool(struct walk *w, const cJSON *o, const char *key, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t old;
	int rc = TB_OK;

	*out = 0;
	if (!v)
		return TB_OK;
	old = path_key(w, key);
	if (!cJSON_IsBool(v))
		rc = bad(w, "must be true or false");
	else
		*out = cJSON_IsTrue(v);
	path_cut(w, old);
	return rc;
}

/* ---- targets ----------------------------------------------------------- */

static int parse_cmp(const char *s, enum tb_plan_cmp *out)
{
	if (strcmp(s, ">=") == 0 || strcmp(s, "\xe2\x89\xa5") == 0)
		*out = TB_CMP_GE;
	else if (strcmp(s, ">") == 0)
		*out = TB_CMP_GT;
	else if (strcmp(s, "about") == 0 || strcmp(s, "~") == 0)
		*out = TB_CMP_ABOUT;
	else
		return TB_EINVAL;
	return TB_OK;
}

static int parse_target(struct walk *w, const cJSON *t, enum tb_plan_unit unit,
			struct tb_plan_target *out)
{
	static const char *const keys[] = {"cmp", "value", "note", NULL};
	const cJSON *v;
	const char *cmp, *note;
	size_t old;
	int rc;

	rc = closed_object(w, t, keys);
	if (rc == TB_OK)
		rc = get_text(w, t, "cmp", 1, 16, &cmp);
	if (rc == TB_OK)
		rc = get_text(w, t, "note", 0, TB_TEXT_MAX, &note);
	if (rc < 0)
		return rc;
	old = path_key(w, "cmp");
	/* rc is TB_OK or negative, and get_text sets cmp whenever it returns
	 * TB_OK.
	 * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
	if (parse_cmp(cmp, &out->cmp) < 0)
		rc = bad(w, "must be one of >=, >, about, ~ (not \"%s\")", cmp);
	path_cut(w, old);
	if (rc < 0)
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(t, "value");
	old = path_key(w, "value");
	if (!v)
		rc = bad(w, "missing");
	else if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
		 v->valuedouble < 0)
		rc = bad(w, "must be a number >= 0");
	else if (unit != TB_UNIT_COUNT && v->valuedouble > 100)
		rc = bad(w, "is a percentage: at most 100, not %g",
			 v->valuedouble);
	else if (unit == TB_UNIT_COUNT &&
		 (v->valuedouble > 1e12 ||
		  v->valuedouble != (double)(int64_t)v->valuedouble))
		rc = bad(w, "a count target must be a whole number");
	else if (unit != TB_UNIT_COUNT && v->valuedouble >= 100 &&
		 out->cmp == TB_CMP_GT)
		rc = bad(w, "more than 100%% can never be reached");
	else
		out->value = v->valuedouble;
	path_cut(w, old);
	return rc;
}

static int parse_targets(struct walk *w, const cJSON *o, struct tb_plan_ind *ind)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "targets");
	const cJSON *t;
	int start_year, end_year, d, rc = TB_OK;
	size_t old = path_key(w, "targets");

	ind->ntargets = 0;
	tb_date_to_ymd(w->plan->start, &start_year, &d, &d);
	tb_date_to_ymd(w->plan->end, &end_year, &d, &d);
	if (!ts)
		goto out; /* no numeric target in the plan text */
	if (!cJSON_IsObject(ts)) {
		rc = bad(w, "must be an object of year: {cmp, value}");
		goto out;
	}
	for (t = ts->child; t && rc == TB_OK; t = t->next) {
		struct tb_plan_target *tg;
		size_t yold = path_key(w, t->string);
		char *end = NULL;
		long year;

		errno = 0;
		year = strtol(t->string, &end, 10);
		if (errno || end == t->string || *end || strlen(t->string) != 4)
			rc = bad(w, "a target is keyed by its year (\"2025\")");
		else if (year < start_year || year > end_year)
			rc = bad(w, "year %ld is outside the plan (%d-%d)", year,
				 start_year, end_year);
		else if (ind->ntargets == TB_PLAN_MAX_TARGETS)
			rc = bad(w, "at most %d targets", TB_PLAN_MAX_TARGETS);
		else if (ind->ntargets &&
			 ind->targets[ind->ntargets - 1].year >= year)
			rc = bad(w, "years must be listed once, in order");
		if (rc == TB_OK) {
			tg = &ind->targets[ind->ntargets];
			tg->year = (int)year;
			rc = parse_target(w, t, ind->unit, tg);
			if (rc == TB_OK)
				ind->ntargets++;
		}
		path_cut(w, yold);
	}
out:
	path_cut(w, old);
	return rc;
}

/* ---- formulas ---------------------------------------------------------- */

static int parse_kinds(struct walk *w, const cJSON *f, unsigned *out)
{
	const cJSON *ks = cJSON_GetObjectItemCaseSensitive(f, "kinds");
	const cJSON *k;
	size_t old = path_key(w, "kinds");
	int i = 0, rc = TB_OK;

	*out = 0;
	if (!cJSON_IsArray(ks) || !ks->child) {
		rc = bad(w, "must be a non-empty array of event kinds");
		goto out;
	}
	for (k = ks->child; k && rc == TB_OK; k = k->next, i++) {
		size_t iold = path_index(w, i);
		enum tb_kind kind;

		if (!cJSON_IsString(k) || tb_kind_parse(k->valuestring, &kind))
			rc = bad(w, "must be outreach, training, action-month "
				 "or web-post");
		else if (kind == TB_KIND_SNAPSHOT)
			rc = bad(w, "snapshots are figures, not activities: "
				 "use share_units or ratio");
		else if (*out & (1u << kind))
			rc = bad(w, "\"%s\" is listed twice", k->valuestring);
		else
			*out |= 1u << kind;
		path_cut(w, iold);
	}
out:
	path_cut(w, old);
	return rc;
}

/* A snapshot field by name; bool allowed only for share_units. */
static int snapshot_field(struct walk *w, const cJSON *f, const char *key,
			  int allow_bool, int *out)
{
	const struct tb_field *tab;
	const char *name;
	size_t n, old;
	int rc = get_text(w, f, key, 1, 64, &name);

	if (rc < 0)
		return rc;
	old = path_key(w, key);
	tab = tb_kind_fields(TB_KIND_SNAPSHOT, &n);
	*out = tb_field_index(TB_KIND_SNAPSHOT, name);
	if (*out < 0 || strcmp(tab[*out].name, name) != 0)
		rc = bad(w, "\"%s\" is not a snapshot field", name);
	else if (tab[*out].type != TB_FT_COUNT &&
		 !(allow_bool && tab[*out].type == TB_FT_BOOL))
		rc = bad(w, "\"%s\" is not a %s snapshot field", name,
			 allow_bool ? "count or yes/no" : "count");
	path_cut(w, old);
	return rc;
}

/* sum: the field must be a count in every listed kind. */
static int activity_field(struct walk *w, const cJSON *f, unsigned kinds,
			  char *name_out, size_t namelen)
{
	const char *name;
	size_t n, old;
	int rc = get_text(w, f, "field", 1, 64, &name);

	if (rc < 0)
		return rc;
	old = path_key(w, "field");
	for (int k = 0; k < TB_KIND_COUNT && rc == TB_OK; k++) {
		const struct tb_field *tab = tb_kind_fields((enum tb_kind)k, &n);
		int i;

		if (!(kinds & (1u << k)))
			continue;
		i = tb_field_index((enum tb_kind)k, name);
		if (i < 0 || strcmp(tab[i].name, name) != 0 ||
		    tab[i].type != TB_FT_COUNT)
			rc = bad(w, "\"%s\" is not a count field of %s", name,
				 tb_kind_name((enum tb_kind)k));
	}
	if (rc == TB_OK)
		snprintf(name_out, namelen, "%s", name);
	path_cut(w, old);
	return rc;
}

static int parse_over(struct walk *w, const cJSON *f, enum tb_plan_over *out)
{
	const char *s;
	size_t old;
	int rc = get_text(w, f, "over", 0, 16, &s);

	*out = TB_OVER_REPORTED;
	if (rc < 0 || !s)
		return rc;
	old = path_key(w, "over");
	if (strcmp(s, "expected") == 0)
		*out = TB_OVER_EXPECTED;
	else if (strcmp(s, "reported") != 0)
		rc = bad(w, "must be \"reported\" or \"expected\"");
	path_cut(w, old);
	return rc;
}

/* The keys each formula type takes. */
static const char *const *formula_keys(enum tb_plan_ftype t)
{
	static const char *const sum[] = {"type", "kinds", "field",
					  "cumulative", NULL};
	static const char *const count[] = {"type", "kinds", "cumulative",
					    NULL};
	static const char *const share[] = {"type", "field", "over", NULL};
	static const char *const ratio[] = {"type", "num", "den", NULL};
	static const char *const quarter[] = {"type", "kinds", "over", NULL};
	static const char *const none[] = {"type", "reason", NULL};

	switch (t) {
	case TB_F_SUM: return sum;
	case TB_F_COUNT: return count;
	case TB_F_SHARE_UNITS: return share;
	case TB_F_RATIO: return ratio;
	case TB_F_EVERY_QUARTER: return quarter;
	case TB_F_NOT_COLLECTED: return none;
	}
	return none;
}

/* The unit a formula produces must be the indicator's. */
static int unit_fits(enum tb_plan_ftype t, enum tb_plan_unit u)
{
	switch (t) {
	case TB_F_SUM:
	case TB_F_COUNT: return u == TB_UNIT_COUNT;
	case TB_F_SHARE_UNITS:
	case TB_F_EVERY_QUARTER: return u == TB_UNIT_PERCENT_UNITS;
	case TB_F_RATIO: return u == TB_UNIT_RATIO || u == TB_UNIT_RATE;
	case TB_F_NOT_COLLECTED: return 1;
	}
	return 0;
}

static int formula_body(struct walk *w, const cJSON *f,
			struct tb_plan_formula *out)
{
	int rc = TB_OK;

	switch (out->type) {
	case TB_F_SUM:
		rc = parse_kinds(w, f, &out->kinds);
		if (rc == TB_OK)
			rc = activity_field(w, f, out->kinds, out->name,
					    sizeof(out->name));
		if (rc == TB_OK)
			rc = get_bool(w, f, "cumulative", &out->cumulative);
		break;
	case TB_F_COUNT:
		rc = parse_kinds(w, f, &out->kinds);
		if (rc == TB_OK)
			rc = get_bool(w, f, "cumulative", &out->cumulative);
		break;
	case TB_F_SHARE_UNITS:
		rc = snapshot_field(w, f, "field", 1, &out->field);
		if (rc == TB_OK) {
			size_t n;

			snprintf(out->name, sizeof(out->name), "%s",
				 tb_kind_fields(TB_KIND_SNAPSHOT, &n)[out->field]
					 .name);
			rc = parse_over(w, f, &out->over);
		}
		break;
	case TB_F_RATIO:
		rc = snapshot_field(w, f, "num", 0, &out->num);
		if (rc == TB_OK)
			rc = snapshot_field(w, f, "den", 0, &out->den);
		if (rc == TB_OK && out->num == out->den) {
			size_t old = path_key(w, "den");

			rc = bad(w, "must differ from num");
			path_cut(w, old);
		}
		break;
	case TB_F_EVERY_QUARTER:
		rc = parse_kinds(w, f, &out->kinds);
		if (rc == TB_OK)
			rc = parse_over(w, f, &out->over);
		break;
	case TB_F_NOT_COLLECTED:
		rc = dup_text(w, f, "reason", 1, &out->reason);
		break;
	}
	return rc;
}

static int parse_formula(struct walk *w, const cJSON *o, struct tb_plan_ind *ind)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "formula");
	struct tb_plan_formula *out = &ind->f;
	const char *type;
	size_t old = path_key(w, "formula"), told, i;
	int rc;

	out->field = out->num = out->den = -1;
	if (!f) {
		rc = bad(w, "missing (use {\"type\": \"not_collected\", "
			 "\"reason\": ...} when the model has no data for it)");
		goto out;
	}
	if (!cJSON_IsObject(f)) {
		rc = bad(w, "must be an object");
		goto out;
	}
	rc = get_text(w, f, "type", 1, 32, &type);
	if (rc < 0)
		goto out;
	for (i = 0; i < NFTYPES; i++)
		if (strcmp(type, ftype_names[i]) == 0)
			break;
	if (i == NFTYPES) {
		told = path_key(w, "type");
		rc = bad(w, "unknown formula \"%s\" (sum, count, share_units, "
			 "ratio, every_quarter, not_collected)", type);
		path_cut(w, told);
		goto out;
	}
	out->type = (enum tb_plan_ftype)i;
	rc = closed_object(w, f, formula_keys(out->type));
	if (rc == TB_OK)
		rc = formula_body(w, f, out);
	if (rc == TB_OK && !unit_fits(out->type, ind->unit))
		rc = bad(w, "a %s formula does not give a value in unit %s",
			 type, tb_plan_unit_name(ind->unit));
out:
	path_cut(w, old);
	return rc;
}

/* ---- indicators -------------------------------------------------------- */

static int parse_unit(struct walk *w, const cJSON *o, int required,
		      enum tb_plan_unit *out)
{
	static const enum tb_plan_unit units[] = {
		TB_UNIT_COUNT, TB_UNIT_PERCENT_UNITS, TB_UNIT_RATIO,
		TB_UNIT_RATE};
	const char *s;
	size_t old, i;
	int rc = get_text(w, o, "unit", required, 32, &s);

	if (rc < 0 || !s)
		return rc;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s, tb_plan_unit_name(units[i])) == 0) {
			*out = units[i];
			return TB_OK;
		}
	old = path_key(w, "unit");
	rc = bad(w, "must be count, percent_units, ratio or rate (not \"%s\")",
		 s);
	path_cut(w, old);
	return rc;
}

static int parse_levels(struct walk *w, const cJSON *o, int required,
			unsigned *out)
{
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(o, "levels");
	const cJSON *l;
	size_t old;
	int i = 0, rc = TB_OK;

	if (!ls) {
		if (!required)
			return TB_OK;
		old = path_key(w, "levels");
		rc = bad(w, "missing (\"all\" or a list of MN, TH, THCS, THPT, "
			 "GDTX, office)");
		path_cut(w, old);
		return rc;
	}
	old = path_key(w, "levels");
	if (cJSON_IsString(ls) && strcmp(ls->valuestring, "all") == 0) {
		*out = TB_PLAN_LEVEL_ALL;
		goto out;
	}
	if (!cJSON_IsArray(ls) || !ls->child) {
		rc = bad(w, "must be \"all\" or a non-empty list of levels");
		goto out;
	}
	*out = 0;
	for (l = ls->child; l && rc == TB_OK; l = l->next, i++) {
		size_t iold = path_index(w, i);
		unsigned bit = cJSON_IsString(l)
				       ? tb_plan_level_bit(l->valuestring)
				       : TB_PLAN_LEVEL_OTHER;

		if (bit == TB_PLAN_LEVEL_OTHER)
			rc = bad(w, "must be one of MN, TH, THCS, THPT, GDTX, "
				 "office");
		else if (*out & bit)
			rc = bad(w, "level listed twice");
		*out |= bit;
		path_cut(w, iold);
	}
out:
	path_cut(w, old);
	return rc;
}

static int check_id(struct walk *w, const char *key, const char *id,
		    size_t max, int upper)
{
	size_t old = path_key(w, key);
	int rc = TB_OK;

	if (strlen(id) > max || !chars_ok(id, upper, 1, upper ? ".-_" : "_-"))
		rc = bad(w, "\"%s\": at most %zu characters of %s", id, max,
			 upper ? "A-Z a-z 0-9 . - _" : "a-z 0-9 _ -");
	path_cut(w, old);
	return rc;
}

static int add_ind(struct walk *w, struct tb_plan_ind **out)
{
	struct tb_plan *p = w->plan;

	if (p->count == TB_PLAN_MAX_INDICATORS)
		return bad(w, "at most %d indicators and parts",
			   TB_PLAN_MAX_INDICATORS);
	*out = &p->ind[p->count];
	memset(*out, 0, sizeof(**out));
	return TB_OK;
}

/* "parent: part" in one language. */
static char *join_name(const char *parent, const char *part)
{
	size_t a = strlen(parent), b = strlen(part);
	char *s = tb_malloc(a + b + 3);

	if (!s)
		return NULL;
	/* The last memcpy copies part's NUL. */
	memcpy(s, parent, a);     /* NOLINT(bugprone-not-null-terminated-result) */
	memcpy(s + a, ": ", 2);   /* NOLINT(bugprone-not-null-terminated-result) */
	memcpy(s + a + 2, part, b + 1);
	return s;
}

/* The keys, id and names every indicator and part starts with. */
static int ind_head(struct walk *w, const cJSON *o, const char *const *keys,
		    const char *idkey, const char **id, const char **vi,
		    const char **en)
{
	int part = strcmp(idkey, "part") == 0;
	const char *note;
	int rc;

	rc = closed_object(w, o, keys);
	if (rc == TB_OK)
		rc = get_text(w, o, idkey, 1, 64, id);
	if (rc == TB_OK)
		rc = check_id(w, idkey, *id, part ? 24 : 40, !part);
	if (rc == TB_OK)
		rc = get_text(w, o, "name_vi", 1, TB_TEXT_MAX, vi);
	if (rc == TB_OK)
		rc = get_text(w, o, "name_en", 1, TB_TEXT_MAX, en);
	if (rc == TB_OK)
		rc = get_text(w, o, "note", 0, TB_TEXT_MAX, &note);
	return rc;
}

/* Fills the slot add_ind gave (id, unit and levels set): targets, formula
 * and names (vi, en are taken over, even on failure), and keeps it. */
static int ind_body(struct walk *w, const cJSON *o, struct tb_plan_ind *ind,
		    const char *idkey, char *vi, char *en)
{
	size_t old;
	int rc = TB_OK;

	ind->name_vi = vi;
	ind->name_en = en;
	w->plan->count++; /* owned now, even half-built: destroy frees it */
	if (!vi || !en)
		return TB_ENOMEM;
	for (size_t i = 0; i + 1 < w->plan->count; i++)
		if (strcmp(w->plan->ind[i].id, ind->id) == 0) {
			old = path_key(w, idkey);
			rc = bad(w, "id %s is used twice", ind->id);
			path_cut(w, old);
			return rc;
		}
	rc = parse_targets(w, o, ind);
	if (rc == TB_OK)
		rc = parse_formula(w, o, ind);
	return rc;
}

static int parse_part(struct walk *w, const cJSON *pt, const char *pid,
		      const char *pvi, const char *pen,
		      const struct tb_plan_ind *parent)
{
	static const char *const keys[] = {"part", "name_vi", "name_en", "unit",
					   "levels", "targets", "formula",
					   "note", NULL};
	struct tb_plan_ind *ind = NULL;
	const char *part, *vi, *en;
	int rc;

	rc = ind_head(w, pt, keys, "part", &part, &vi, &en);
	if (rc == TB_OK)
		rc = add_ind(w, &ind);
	if (rc < 0)
		return rc;
	/* rc is TB_OK or negative, and add_ind sets ind whenever it returns
	 * TB_OK.
	 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	ind->unit = parent->unit;
	ind->levels = parent->levels;
	snprintf(ind->id, sizeof(ind->id), "%s/%s", pid, part);
	rc = parse_unit(w, pt, 0, &ind->unit);
	if (rc == TB_OK)
		rc = parse_levels(w, pt, 0, &ind->levels);
	if (rc < 0)
		return rc; /* the slot is not kept and holds nothing yet */
	return ind_body(w, pt, ind, "part", join_name(pvi, vi),
			join_name(pen, en));
}

static int parse_parts(struct walk *w, const cJSON *parts, const char *id,
		       const char *vi, const char *en,
		       const struct tb_plan_ind *parent)
{
	const cJSON *pt;
	size_t old = path_key(w, "parts");
	int i = 0, rc = TB_OK;

	if (!cJSON_IsArray(parts) || !parts->child || !parts->child->next)
		rc = bad(w, "must be an array of at least two parts");
	for (pt = parts->child; pt && rc == TB_OK; pt = pt->next, i++) {
		size_t iold = path_index(w, i);

		rc = parse_part(w, pt, id, vi, en, parent);
		path_cut(w, iold);
	}
	path_cut(w, old);
	return rc;
}

static int parse_indicator(struct walk *w, const cJSON *o)
{
	static const char *const keys[] = {"id", "name_vi", "name_en", "unit",
					   "levels", "targets", "formula",
					   "parts", "note", NULL};
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(o, "parts");
	struct tb_plan_ind parent, *ind = NULL;
	const char *id, *vi, *en;
	size_t old;
	int rc;

	memset(&parent, 0, sizeof(parent));
	rc = ind_head(w, o, keys, "id", &id, &vi, &en);
	if (rc == TB_OK)
		rc = parse_unit(w, o, 1, &parent.unit);
	if (rc == TB_OK)
		rc = parse_levels(w, o, 1, &parent.levels);
	if (rc < 0)
		return rc;
	if (parts) {
		if (cJSON_GetObjectItemCaseSensitive(o, "targets") ||
		    cJSON_GetObjectItemCaseSensitive(o, "formula")) {
			old = path_key(w, "parts");
			rc = bad(w, "an indicator with parts gives targets and "
				 "formula in each part, not beside them");
			path_cut(w, old);
			return rc;
		}
		return parse_parts(w, parts, id, vi, en, &parent);
	}
	rc = add_ind(w, &ind);
	if (rc < 0)
		return rc;
	*ind = parent;
	snprintf(ind->id, sizeof(ind->id), "%s", id);
	return ind_body(w, o, ind, "id", tb_strdup(vi), tb_strdup(en));
}

/* ---- the plan ---------------------------------------------------------- */

static int parse_head(struct walk *w, const cJSON *root)
{
	static const char *const keys[] = {"format", "id", "name_vi",
					   "name_en", "source", "start", "end",
					   "indicators", "note", NULL};
	struct tb_plan *p = w->plan;
	const cJSON *fmt;
	const char *id, *note;
	size_t old;
	int rc;

	rc = closed_object(w, root, keys);
	if (rc < 0)
		return rc;
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	old = path_key(w, "format");
	if (!cJSON_IsNumber(fmt) || fmt->valuedouble != TB_PLAN_FORMAT)
		rc = bad(w, "must be %d (the plan file format this server "
			 "reads)", TB_PLAN_FORMAT);
	path_cut(w, old);
	if (rc == TB_OK)
		rc = get_text(w, root, "id", 1, 128, &id);
	if (rc == TB_OK)
		rc = check_id(w, "id", id, TB_PLAN_ID_MAX, 0);
	if (rc == TB_OK)
		snprintf(p->id, sizeof(p->id), "%s", id);
	if (rc == TB_OK)
		rc = dup_text(w, root, "name_vi", 1, &p->name_vi);
	if (rc == TB_OK)
		rc = dup_text(w, root, "name_en", 1, &p->name_en);
	if (rc == TB_OK)
		rc = dup_text(w, root, "source", 0, &p->source);
	if (rc == TB_OK)
		rc = get_text(w, root, "note", 0, TB_TEXT_MAX, &note);
	if (rc == TB_OK)
		rc = get_date(w, root, "start", &p->start);
	if (rc == TB_OK)
		rc = get_date(w, root, "end", &p->end);
	if (rc == TB_OK && p->end < p->start) {
		old = path_key(w, "end");
		rc = bad(w, "the plan ends before it starts");
		path_cut(w, old);
	}
	return rc;
}

static int parse_root(struct walk *w, const cJSON *root)
{
	const cJSON *inds, *o;
	size_t old;
	int i = 0, rc;

	rc = parse_head(w, root);
	if (rc < 0)
		return rc;
	inds = cJSON_GetObjectItemCaseSensitive(root, "indicators");
	old = path_key(w, "indicators");
	if (!cJSON_IsArray(inds) || !inds->child)
		rc = bad(w, "must be a non-empty array");
	for (o = inds ? inds->child : NULL; o && rc == TB_OK; o = o->next, i++) {
		size_t iold = path_index(w, i);

		rc = parse_indicator(w, o);
		path_cut(w, iold);
	}
	path_cut(w, old);
	return rc;
}

/* Line and column of byte `at` of text, both 1-based. */
static void line_col(const char *text, size_t at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < at; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

int tb_plan_parse(const char *name, const char *text, size_t len,
		  struct tb_plan **out, char *msg, size_t msglen)
{
	struct walk w;
	struct tb_plan *p = NULL;
	cJSON *root = NULL;
	const char *end = NULL;
	int rc = TB_OK, line, col;

	*out = NULL;
	memset(&w, 0, sizeof(w));
	w.file = name;
	w.msg = msg;
	w.msglen = msglen;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		size_t at = end && end >= text && end <= text + len
				    ? (size_t)(end - text)
				    : 0;

		line_col(text, at, &line, &col);
		snprintf(msg, msglen, "%s: line %d, column %d: not valid JSON",
			 name, line, col);
		rc = TB_ECONFIG;
		goto out;
	}
	p = tb_calloc(1, sizeof(*p));
	if (p)
		p->ind = tb_calloc(TB_PLAN_MAX_INDICATORS, sizeof(*p->ind));
	if (p)
		p->path = tb_strdup(name);
	if (!p || !p->ind || !p->path) {
		rc = TB_ENOMEM;
		goto out;
	}
	w.plan = p;
	rc = parse_root(&w, root);
out:
	cJSON_Delete(root);
	if (rc < 0) {
		tb_plan_destroy(p);
		p = NULL;
	}
	*out = p;
	return rc;
}

int tb_plan_load(const char *path, struct tb_plan **out, char *msg,
		 size_t msglen)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int rc;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f) {
		snprintf(msg, msglen, "%s: cannot open: %s", path,
			 strerror(errno));
		return TB_EIO;
	}
	buf = tb_malloc(TB_PLAN_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return TB_ENOMEM;
	}
	n = fread(buf, 1, TB_PLAN_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(msg, msglen, "%s: cannot read", path);
		rc = TB_EIO;
	} else if (n > TB_PLAN_FILE_MAX) {
		snprintf(msg, msglen, "%s: larger than %d bytes", path,
			 TB_PLAN_FILE_MAX);
		rc = TB_ECONFIG;
	} else {
		buf[n] = '\0';
		rc = tb_plan_parse(path, buf, n, out, msg, msglen);
	}
	fclose(f);
	tb_free(buf);
	return rc;
}

void tb_plan_destroy(struct tb_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->ind && i < p->count; i++) {
		tb_free(p->ind[i].name_vi);
		tb_free(p->ind[i].name_en);
		tb_free(p->ind[i].f.reason);
	}
	tb_free(p->ind);
	tb_free(p->name_vi);
	tb_free(p->name_en);
	tb_free(p->source);
	tb_free(p->path);
	tb_free(p);
}

/* ---- sets ---------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names of dir, sorted (tb_free each and the array). */
static int list_json(const char *dir, char ***names, size_t *count, char *msg,
		     size_t msglen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **nv;
	size_t n = 0, cap = 0;
	int rc = TB_OK;

	*names = NULL;
	*count = 0;
	if (!d) {
		snprintf(msg, msglen, "%s: cannot open the plans directory: %s",
			 dir, strerror(errno));
		return TB_ECONFIG;
	}
	/* readdir_r is deprecated; readdir is safe on a stream of one thread */
	/* cppcheck-suppress readdirCalled */
	while (rc == TB_OK && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len < 6 || e->d_name[0] == '.' ||
		    strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			nv = tb_realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = TB_ENOMEM;
				break;
			}
			v = nv;
		}
		v[n] = tb_strdup(e->d_name);
		if (!v[n])
			rc = TB_ENOMEM;
		else
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return rc;
}

int tb_plan_set_load(const char *dir, struct tb_plan_set **out, char *msg,
		     size_t msglen)
{
	struct tb_plan_set *s = NULL;
	char **names = NULL, path[4096];
	size_t n = 0, i, j;
	int rc;

	*out = NULL;
	rc = list_json(dir, &names, &n, msg, msglen);
	if (rc < 0)
		goto out;
	if (n == 0) {
		snprintf(msg, msglen, "%s: no plan files (*.json)", dir);
		rc = TB_ECONFIG;
		goto out;
	}
	s = tb_calloc(1, sizeof(*s));
	if (s)
		/* an array of pointers, sizeof one pointer is meant.
		 * NOLINTNEXTLINE(bugprone-sizeof-expression) */
		s->plans = tb_calloc(n, sizeof(*s->plans));
	if (!s || !s->plans) {
		rc = TB_ENOMEM;
		goto out;
	}
	for (i = 0; i < n && rc == TB_OK; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rc = tb_plan_load(path, &s->plans[s->count], msg, msglen);
		if (rc < 0)
			break;
		for (j = 0; j < s->count; j++)
			if (strcmp(s->plans[j]->id, s->plans[s->count]->id) == 0)
				break;
		s->count++;
		if (j < s->count - 1) {
			snprintf(msg, msglen, "%s: plan id %s is also the id of "
				 "%s", path, s->plans[j]->id,
				 s->plans[j]->path);
			rc = TB_ECONFIG;
		}
	}
out:
	for (i = 0; i < n; i++)
		tb_free(names[i]);
	tb_free(names);
	if (rc < 0) {
		tb_plan_set_destroy(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

void tb_plan_set_destroy(struct tb_plan_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->plans && i < s->count; i++)
		tb_plan_destroy(s->plans[i]);
	tb_free(s->plans);
	tb_free(s);
}

const struct tb_plan *tb_plan_set_find(const struct tb_plan_set *s,
				       const char *id)
{
	for (size_t i = 0; s && id && i < s->count; i++)
		if (strcmp(s->plans[i]->id, id) == 0)
			return s->plans[i];
	return NULL;
}

const struct tb_plan_target *tb_plan_target_for(const struct tb_plan_ind *ind,
						int year)
{
	for (size_t i = 0; i < ind->ntargets; i++)
		if (ind->targets[i].year >= year)
			return &ind->targets[i];
	return NULL;
}
