/* plan_formula.c - reading an indicator's targets and formula from a plan
 * file (see plan_formula.h). Called by plan_ind.c.
 */
#include "server/plan_formula.h"

#include <errno.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "server/plan_walk.h"

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

static int parse_target(struct plan_walk *w, const cJSON *t,
                        enum tb_plan_unit unit, struct tb_plan_target *out)
{
	static const char *const keys[] = {"cmp", "value", "note", NULL};
	const cJSON *v;
	const char *cmp, *note;
	size_t old;
	int rc;

	rc = plan_closed_object(w, t, keys);
	if (rc == TB_OK)
		rc = plan_get_text(w, t, "cmp", 1, 16, &cmp);
	if (rc == TB_OK)
		rc = plan_get_text(w, t, "note", 0, TB_TEXT_MAX, &note);
	if (rc < 0)
		return rc;
	old = tb_json_path_key(&w->path, "cmp");
	/* rc is TB_OK or negative, and get_text sets cmp whenever it returns
	 * TB_OK.
	 * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
	if (parse_cmp(cmp, &out->cmp) < 0)
		rc = plan_bad(w, "must be one of >=, >, about, ~ (not \"%s\")",
		              cmp);
	tb_json_path_cut(&w->path, old);
	if (rc < 0)
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(t, "value");
	old = tb_json_path_key(&w->path, "value");
	if (!v)
		rc = plan_bad(w, "missing");
	else if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	         v->valuedouble < 0)
		rc = plan_bad(w, "must be a number >= 0");
	else if (unit != TB_UNIT_COUNT && v->valuedouble > 100)
		rc = plan_bad(w, "is a percentage: at most 100, not %g",
		              v->valuedouble);
	else if (unit == TB_UNIT_COUNT &&
	         (v->valuedouble > 1e12 ||
	          v->valuedouble != (double)(int64_t)v->valuedouble))
		rc = plan_bad(w, "a count target must be a whole number");
	else if (unit != TB_UNIT_COUNT && v->valuedouble >= 100 &&
	         out->cmp == TB_CMP_GT)
		rc = plan_bad(w, "more than 100%% can never be reached");
	else
		out->value = v->valuedouble;
	tb_json_path_cut(&w->path, old);
	return rc;
}

int plan_parse_targets(struct plan_walk *w, const cJSON *o,
                       struct tb_plan_ind *ind)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "targets");
	const cJSON *t;
	int start_year, end_year, d, rc = TB_OK;
	size_t old = tb_json_path_key(&w->path, "targets");

	ind->ntargets = 0;
	tb_date_to_ymd(w->plan->start, &start_year, &d, &d);
	tb_date_to_ymd(w->plan->end, &end_year, &d, &d);
	if (!ts)
		goto out; /* no numeric target in the plan text */
	if (!cJSON_IsObject(ts)) {
		rc = plan_bad(w, "must be an object of year: {cmp, value}");
		goto out;
	}
	for (t = ts->child; t && rc == TB_OK; t = t->next) {
		struct tb_plan_target *tg;
		size_t yold = tb_json_path_key(&w->path, t->string);
		char *end = NULL;
		long year;

		errno = 0;
		year = strtol(t->string, &end, 10);
		if (errno || end == t->string || *end || strlen(t->string) != 4)
			rc = plan_bad(
			    w, "a target is keyed by its year (\"2025\")");
		else if (year < start_year || year > end_year)
			rc = plan_bad(w, "year %ld is outside the plan (%d-%d)",
			              year, start_year, end_year);
		else if (ind->ntargets == TB_PLAN_MAX_TARGETS)
			rc = plan_bad(w, "at most %d targets",
			              TB_PLAN_MAX_TARGETS);
		else if (ind->ntargets &&
		         ind->targets[ind->ntargets - 1].year >= year)
			rc = plan_bad(w, "years must be listed once, in order");
		if (rc == TB_OK) {
			tg = &ind->targets[ind->ntargets];
			tg->year = (int)year;
			rc = parse_target(w, t, ind->unit, tg);
			if (rc == TB_OK)
				ind->ntargets++;
		}
		tb_json_path_cut(&w->path, yold);
	}
out:
	tb_json_path_cut(&w->path, old);
	return rc;
}

/* ---- formulas ---------------------------------------------------------- */

static int parse_kinds(struct plan_walk *w, const cJSON *f, unsigned *out)
{
	const cJSON *ks = cJSON_GetObjectItemCaseSensitive(f, "kinds");
	const cJSON *k;
	size_t old = tb_json_path_key(&w->path, "kinds");
	int i = 0, rc = TB_OK;

	*out = 0;
	if (!cJSON_IsArray(ks) || !ks->child) {
		rc = plan_bad(w, "must be a non-empty array of event kinds");
		goto out;
	}
	for (k = ks->child; k && rc == TB_OK; k = k->next, i++) {
		size_t iold = tb_json_path_index(&w->path, (size_t)i);
		enum tb_kind kind;

		if (!cJSON_IsString(k) || tb_kind_parse(k->valuestring, &kind))
			rc = plan_bad(
			    w, "must be outreach, training, action-month "
			       "or web-post");
		else if (kind == TB_KIND_SNAPSHOT)
			rc = plan_bad(w,
			              "snapshots are figures, not activities: "
			              "use share_units or ratio");
		else if (*out & (1u << kind))
			rc = plan_bad(w, "\"%s\" is listed twice",
			              k->valuestring);
		else
			*out |= 1u << kind;
		tb_json_path_cut(&w->path, iold);
	}
out:
	tb_json_path_cut(&w->path, old);
	return rc;
}

/* A snapshot field by name; bool allowed only for share_units. */
static int snapshot_field(struct plan_walk *w, const cJSON *f, const char *key,
                          int allow_bool, int *out)
{
	const struct tb_field *tab;
	const char *name;
	size_t n, old;
	int rc = plan_get_text(w, f, key, 1, 64, &name);

	if (rc < 0)
		return rc;
	old = tb_json_path_key(&w->path, key);
	tab = tb_kind_fields(TB_KIND_SNAPSHOT, &n);
	*out = tb_field_index(TB_KIND_SNAPSHOT, name);
	if (*out < 0 || strcmp(tab[*out].name, name) != 0)
		rc = plan_bad(w, "\"%s\" is not a snapshot field", name);
	else if (tab[*out].type != TB_FT_COUNT &&
	         !(allow_bool && tab[*out].type == TB_FT_BOOL))
		rc = plan_bad(w, "\"%s\" is not a %s snapshot field", name,
		              allow_bool ? "count or yes/no" : "count");
	tb_json_path_cut(&w->path, old);
	return rc;
}

/* sum: the field must be a count in every listed kind. */
static int activity_field(struct plan_walk *w, const cJSON *f, unsigned kinds,
                          char *name_out, size_t namelen)
{
	const char *name;
	size_t n, old;
	int rc = plan_get_text(w, f, "field", 1, 64, &name);

	if (rc < 0)
		return rc;
	old = tb_json_path_key(&w->path, "field");
	for (int k = 0; k < TB_KIND_COUNT && rc == TB_OK; k++) {
		const struct tb_field *tab =
		    tb_kind_fields((enum tb_kind)k, &n);
		int i;

		if (!(kinds & (1u << k)))
			continue;
		i = tb_field_index((enum tb_kind)k, name);
		if (i < 0 || strcmp(tab[i].name, name) != 0 ||
		    tab[i].type != TB_FT_COUNT)
			rc = plan_bad(w, "\"%s\" is not a count field of %s",
			              name, tb_kind_name((enum tb_kind)k));
	}
	if (rc == TB_OK)
		snprintf(name_out, namelen, "%s", name);
	tb_json_path_cut(&w->path, old);
	return rc;
}

static int parse_over(struct plan_walk *w, const cJSON *f,
                      enum tb_plan_over *out)
{
	const char *s;
	size_t old;
	int rc = plan_get_text(w, f, "over", 0, 16, &s);

	*out = TB_OVER_REPORTED;
	if (rc < 0 || !s)
		return rc;
	old = tb_json_path_key(&w->path, "over");
	if (strcmp(s, "expected") == 0)
		*out = TB_OVER_EXPECTED;
	else if (strcmp(s, "reported") != 0)
		rc = plan_bad(w, "must be \"reported\" or \"expected\"");
	tb_json_path_cut(&w->path, old);
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
	case TB_F_SUM:
		return sum;
	case TB_F_COUNT:
		return count;
	case TB_F_SHARE_UNITS:
		return share;
	case TB_F_RATIO:
		return ratio;
	case TB_F_EVERY_QUARTER:
		return quarter;
	case TB_F_NOT_COLLECTED:
		return none;
	}
	return none;
}

/* The unit a formula produces must be the indicator's. */
static int unit_fits(enum tb_plan_ftype t, enum tb_plan_unit u)
{
	switch (t) {
	case TB_F_SUM:
	case TB_F_COUNT:
		return u == TB_UNIT_COUNT;
	case TB_F_SHARE_UNITS:
	case TB_F_EVERY_QUARTER:
		return u == TB_UNIT_PERCENT_UNITS;
	case TB_F_RATIO:
		return u == TB_UNIT_RATIO || u == TB_UNIT_RATE;
	case TB_F_NOT_COLLECTED:
		return 1;
	}
	return 0;
}

static int formula_body(struct plan_walk *w, const cJSON *f,
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
			rc =
			    plan_get_bool(w, f, "cumulative", &out->cumulative);
		break;
	case TB_F_COUNT:
		rc = parse_kinds(w, f, &out->kinds);
		if (rc == TB_OK)
			rc =
			    plan_get_bool(w, f, "cumulative", &out->cumulative);
		break;
	case TB_F_SHARE_UNITS:
		rc = snapshot_field(w, f, "field", 1, &out->field);
		if (rc == TB_OK) {
			size_t n;

			snprintf(
			    out->name, sizeof(out->name), "%s",
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
			size_t old = tb_json_path_key(&w->path, "den");

			rc = plan_bad(w, "must differ from num");
			tb_json_path_cut(&w->path, old);
		}
		break;
	case TB_F_EVERY_QUARTER:
		rc = parse_kinds(w, f, &out->kinds);
		if (rc == TB_OK)
			rc = parse_over(w, f, &out->over);
		break;
	case TB_F_NOT_COLLECTED:
		rc = plan_dup_text(w, f, "reason", 1, &out->reason);
		break;
	}
	return rc;
}

int plan_parse_formula(struct plan_walk *w, const cJSON *o,
                       struct tb_plan_ind *ind)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "formula");
	struct tb_plan_formula *out = &ind->f;
	const char *type;
	size_t old = tb_json_path_key(&w->path, "formula"), told, i;
	int rc;

	out->field = out->num = out->den = -1;
	if (!f) {
		rc = plan_bad(
		    w, "missing (use {\"type\": \"not_collected\", "
		       "\"reason\": ...} when the model has no data for it)");
		goto out;
	}
	if (!cJSON_IsObject(f)) {
		rc = plan_bad(w, "must be an object");
		goto out;
	}
	rc = plan_get_text(w, f, "type", 1, 32, &type);
	if (rc < 0)
		goto out;
	for (i = 0; i < NFTYPES; i++)
		if (strcmp(type, ftype_names[i]) == 0)
			break;
	if (i == NFTYPES) {
		told = tb_json_path_key(&w->path, "type");
		rc =
		    plan_bad(w,
		             "unknown formula \"%s\" (sum, count, share_units, "
		             "ratio, every_quarter, not_collected)",
		             type);
		tb_json_path_cut(&w->path, told);
		goto out;
	}
	out->type = (enum tb_plan_ftype)i;
	rc = plan_closed_object(w, f, formula_keys(out->type));
	if (rc == TB_OK)
		rc = formula_body(w, f, out);
	if (rc == TB_OK && !unit_fits(out->type, ind->unit))
		rc =
		    plan_bad(w, "a %s formula does not give a value in unit %s",
		             type, tb_plan_unit_name(ind->unit));
out:
	tb_json_path_cut(&w->path, old);
	return rc;
}
