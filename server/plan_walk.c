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

/* ---- messages and paths ---------------------------------------------- */

int(plan_bad)(struct plan_walk *w, const char *fmt, ...)
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

/* Appends to the path; returns the old length for path_cut. */
size_t plan_path_add(struct plan_walk *w, const char *fmt, ...)
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
size_t plan_path_key(struct plan_walk *w, const char *key)
{
	return plan_path_add(w, "%s%s", w->plen ? "." : "", key);
}

size_t plan_path_index(struct plan_walk *w, int i)
{
	return plan_path_add(w, "[%d]", i);
}

void plan_path_cut(struct plan_walk *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

/* ---- typed reads ------------------------------------------------------- */

/* Refuses keys outside `allowed` (NULL-terminated) and duplicate keys. */
int plan_closed_object(struct plan_walk *w, const cJSON *o,
                       const char *const *allowed)
{
	const cJSON *k, *j;

	if (!cJSON_IsObject(o))
		return plan_bad(w, "must be an object");
	for (k = o->child; k; k = k->next) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (strcmp(k->string, allowed[i]) == 0)
				break;
		if (!allowed[i])
			return plan_bad(w, "unknown key \"%s\"", k->string);
		for (j = o->child; j != k; j = j->next)
			if (strcmp(j->string, k->string) == 0)
				return plan_bad(w, "key \"%s\" given twice",
				                k->string);
	}
	return TB_OK;
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
			old = plan_path_key(w, key);
			rc = plan_bad(w, "missing");
			plan_path_cut(w, old);
		}
		return rc;
	}
	old = plan_path_key(w, key);
	if (!cJSON_IsString(v) || !v->valuestring)
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
	plan_path_cut(w, old);
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
	old = plan_path_key(w, key);
	if (tb_date_parse(s, out) < 0)
		rc = plan_bad(w, "must be a date YYYY-MM-DD, not \"%s\"", s);
	plan_path_cut(w, old);
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
	old = plan_path_key(w, key);
	if (!cJSON_IsBool(v))
		rc = plan_bad(w, "must be true or false");
	else
		*out = cJSON_IsTrue(v);
	plan_path_cut(w, old);
	return rc;
}
