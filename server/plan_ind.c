/* plan_ind.c - reading one indicator of a plan file and its parts (see
 * plan_ind.h). Called by plan.c.
 */
#include "server/plan_ind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/plan.h"
#include "server/plan_formula.h"
#include "server/plan_walk.h"

/* ---- indicators -------------------------------------------------------- */

static int parse_unit(struct plan_walk *w, const cJSON *o, int required,
                      enum tb_plan_unit *out)
{
	static const enum tb_plan_unit units[] = {
	    TB_UNIT_COUNT, TB_UNIT_PERCENT_UNITS, TB_UNIT_RATIO, TB_UNIT_RATE};
	const char *s;
	size_t old, i;
	int rc = plan_get_text(w, o, "unit", required, 32, &s);

	if (rc < 0 || !s)
		return rc;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s, tb_plan_unit_name(units[i])) == 0) {
			*out = units[i];
			return TB_OK;
		}
	old = tb_json_path_key(&w->path, "unit");
	rc = plan_bad(
	    w, "must be count, percent_units, ratio or rate (not \"%s\")", s);
	tb_json_path_cut(&w->path, old);
	return rc;
}

static int parse_levels(struct plan_walk *w, const cJSON *o, int required,
                        unsigned *out)
{
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(o, "levels");
	const cJSON *l;
	size_t old;
	int i = 0, rc = TB_OK;

	if (!ls) {
		if (!required)
			return TB_OK;
		old = tb_json_path_key(&w->path, "levels");
		rc = plan_bad(
		    w, "missing (\"all\" or a list of MN, TH, THCS, THPT, "
		       "GDTX, office, college)");
		tb_json_path_cut(&w->path, old);
		return rc;
	}
	old = tb_json_path_key(&w->path, "levels");
	if (cJSON_IsString(ls) && strcmp(ls->valuestring, "all") == 0) {
		*out = TB_PLAN_LEVEL_ALL;
		goto out;
	}
	if (!cJSON_IsArray(ls) || !ls->child) {
		rc = plan_bad(w,
		              "must be \"all\" or a non-empty list of levels");
		goto out;
	}
	*out = 0;
	for (l = ls->child; l && rc == TB_OK; l = l->next, i++) {
		size_t iold = tb_json_path_index(&w->path, (size_t)i);
		unsigned bit = cJSON_IsString(l)
		                   ? tb_plan_level_bit(l->valuestring)
		                   : TB_PLAN_LEVEL_OTHER;

		if (bit == TB_PLAN_LEVEL_OTHER)
			rc = plan_bad(
			    w, "must be one of MN, TH, THCS, THPT, GDTX, "
			       "office, college");
		else if (*out & bit)
			rc = plan_bad(w, "level listed twice");
		*out |= bit;
		tb_json_path_cut(&w->path, iold);
	}
out:
	tb_json_path_cut(&w->path, old);
	return rc;
}

int plan_check_id(struct plan_walk *w, const char *key, const char *id,
                  size_t max, int upper)
{
	size_t old = tb_json_path_key(&w->path, key);
	int rc = TB_OK;

	if (strlen(id) > max ||
	    !plan_chars_ok(id, upper, 1, upper ? ".-_" : "_-"))
		rc = plan_bad(w, "\"%s\": at most %zu characters of %s", id,
		              max, upper ? "A-Z a-z 0-9 . - _" : "a-z 0-9 _ -");
	tb_json_path_cut(&w->path, old);
	return rc;
}

static int add_ind(struct plan_walk *w, struct tb_plan_ind **out)
{
	struct tb_plan *p = w->plan;

	if (p->count == TB_PLAN_MAX_INDICATORS)
		return plan_bad(w, "at most %d indicators and parts",
		                TB_PLAN_MAX_INDICATORS);
	*out = &p->ind[p->count];
	memset(*out, 0, sizeof(**out));
	return TB_OK;
}

/* "parent: part" in one language. */
static char *join_name(const char *parent, const char *part)
{
	size_t n = strlen(parent) + strlen(part) + 3;
	char *s = tb_malloc(n);

	if (s)
		snprintf(s, n, "%s: %s", parent, part);
	return s;
}

/* The keys, id and names every indicator and part starts with. */
static int ind_head(struct plan_walk *w, const cJSON *o,
                    const char *const *keys, const char *idkey, const char **id,
                    const char **vi, const char **en)
{
	int part = strcmp(idkey, "part") == 0;
	const char *note;
	int rc;

	*id = *vi = *en = ""; /* never NULL, whatever the walk finds */
	rc = plan_closed_object(w, o, keys);
	if (rc == TB_OK)
		rc = plan_get_text(w, o, idkey, 1, 64, id);
	if (rc == TB_OK)
		rc = plan_check_id(w, idkey, *id, part ? 24 : 40, !part);
	if (rc == TB_OK)
		rc = plan_get_text(w, o, "name_vi", 1, TB_TEXT_MAX, vi);
	if (rc == TB_OK)
		rc = plan_get_text(w, o, "name_en", 1, TB_TEXT_MAX, en);
	if (rc == TB_OK)
		rc = plan_get_text(w, o, "note", 0, TB_TEXT_MAX, &note);
	return rc;
}

/* Fills the slot add_ind gave (id, unit and levels set): targets, formula
 * and names (vi, en are taken over, even on failure), and keeps it. */
static int ind_body(struct plan_walk *w, const cJSON *o,
                    struct tb_plan_ind *ind, const char *idkey, char *vi,
                    char *en)
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
			old = tb_json_path_key(&w->path, idkey);
			rc = plan_bad(w, "id %s is used twice", ind->id);
			tb_json_path_cut(&w->path, old);
			return rc;
		}
	rc = plan_parse_targets(w, o, ind);
	if (rc == TB_OK)
		rc = plan_parse_formula(w, o, ind);
	return rc;
}

static int parse_part(struct plan_walk *w, const cJSON *pt, const char *pid,
                      const char *pvi, const char *pen,
                      const struct tb_plan_ind *parent)
{
	static const char *const keys[] = {"part",    "name_vi", "name_en",
	                                   "unit",    "levels",  "targets",
	                                   "formula", "note",    NULL};
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

static int parse_parts(struct plan_walk *w, const cJSON *parts, const char *id,
                       const char *vi, const char *en,
                       const struct tb_plan_ind *parent)
{
	const cJSON *pt;
	size_t old = tb_json_path_key(&w->path, "parts");
	int i = 0, rc = TB_OK;

	if (!cJSON_IsArray(parts) || !parts->child || !parts->child->next)
		rc = plan_bad(w, "must be an array of at least two parts");
	for (pt = parts->child; pt && rc == TB_OK; pt = pt->next, i++) {
		size_t iold = tb_json_path_index(&w->path, (size_t)i);

		rc = parse_part(w, pt, id, vi, en, parent);
		tb_json_path_cut(&w->path, iold);
	}
	tb_json_path_cut(&w->path, old);
	return rc;
}

int plan_parse_indicator(struct plan_walk *w, const cJSON *o)
{
	static const char *const keys[] = {
	    "id",      "name_vi", "name_en", "unit", "levels",
	    "targets", "formula", "parts",   "note", NULL};
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
			old = tb_json_path_key(&w->path, "parts");
			rc = plan_bad(
			    w, "an indicator with parts gives targets and "
			       "formula in each part, not beside them");
			tb_json_path_cut(&w->path, old);
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
