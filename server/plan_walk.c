/* plan_walk.c - messages, JSON paths and typed reads of the plan-file walk
 * (see plan_walk.h; the format is plans/README.md). Called by plan.c,
 * plan_formula.c and plan_ind.c only.
 */
#include "server/plan_walk.h"

#include <math.h> /* isfinite: a macro, no libm */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"

/* ---- messages --------------------------------------------------------- */

int(plan_bad)(struct plan_walk *w, const char *fmt, ...)
{
	char problem[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	if (w->msg && w->msglen)
		snprintf(w->msg, w->msglen, "%s: %s: %s", w->file,
		         w->path.len ? w->path.s : "(top level)", problem);
	return TB_ECONFIG;
}

/* ---- typed reads ------------------------------------------------------- */

/* Refuses keys outside `allowed` (NULL-terminated) and duplicate keys. */
int plan_closed_object(struct plan_walk *w, const cJSON *o,
                       const char *const *allowed)
{
	const char *key;
	int twice;

	if (!cJSON_IsObject(o))
		return plan_bad(w, "must be an object");
	if (tb_json_closed(o, allowed, &key, &twice) == TB_OK)
		return TB_OK;
	if (twice)
		return plan_bad(w, "key \"%s\" given twice", key);
	return plan_bad(w, "unknown key \"%s\"", key);
}

/* A required (or optional, when *out may stay NULL) UTF-8 text. */
int plan_get_text(struct plan_walk *w, const cJSON *o, const char *key,
                  int required, size_t maxlen, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t old;
	int rc = TB_OK;

	*out = NULL;
	if (!v) {
		if (required) {
			old = tb_json_path_key(&w->path, key);
			rc = plan_bad(w, "missing");
			tb_json_path_cut(&w->path, old);
		}
		return rc;
	}
	old = tb_json_path_key(&w->path, key);
	if (!tb_json_str(v))
		rc = plan_bad(w, "must be a string");
	else if (!v->valuestring[0])
		rc = plan_bad(w, "must not be empty");
	else if (!tb_text_valid(v->valuestring, maxlen))
		rc = plan_bad(w,
		              "must be UTF-8 text without control characters, "
		              "at most %zu bytes",
		              maxlen);
	else
		*out = v->valuestring;
	tb_json_path_cut(&w->path, old);
	return rc;
}

int plan_dup_text(struct plan_walk *w, const cJSON *o, const char *key,
                  int required, char **out)
{
	const char *s;
	int rc = plan_get_text(w, o, key, required, TB_TEXT_MAX, &s);

	*out = NULL;
	if (rc < 0 || !s)
		return rc;
	*out = tb_strdup(s);
	return *out ? TB_OK : TB_ENOMEM;
}

/* 1 if every byte of s is in `set` or an ASCII letter/digit per flags. */
int plan_chars_ok(const char *s, int upper, int lower, const char *extra)
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

int plan_get_date(struct plan_walk *w, const cJSON *o, const char *key,
                  int32_t *out)
{
	const char *s;
	size_t old;
	int rc = plan_get_text(w, o, key, 1, 16, &s);

	if (rc < 0)
		return rc;
	old = tb_json_path_key(&w->path, key);
	if (tb_date_parse(s, out) < 0)
		rc = plan_bad(w, "must be a date YYYY-MM-DD, not \"%s\"", s);
	tb_json_path_cut(&w->path, old);
	return rc;
}

int plan_get_bool(struct plan_walk *w, const cJSON *o, const char *key,
                  int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t old;
	int rc = TB_OK;

	*out = 0;
	if (!v)
		return TB_OK;
	old = tb_json_path_key(&w->path, key);
	if (tb_json_bool(v, out) != TB_OK)
		rc = plan_bad(w, "must be true or false");
	tb_json_path_cut(&w->path, old);
	return rc;
}
