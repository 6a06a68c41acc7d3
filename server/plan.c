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
 *
 * The walk's helpers are in plan_walk.c, an indicator in plan_ind.c and
 * its targets and formula in plan_formula.c; this file holds the names,
 * the plan's head, loading a file and a folder of plans.
 */
#include "server/plan.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/plan_ind.h"
#include "server/plan_walk.h"

const char *const TB_PLAN_LEVEL_NAMES[TB_PLAN_NLEVELS] = {
	"MN", "TH", "THCS", "THPT", "GDTX", "office", "college"};

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

unsigned tb_plan_level_bit(const char *level)
{
	for (int i = 0; level && i < TB_PLAN_NLEVELS; i++)
		if (strcmp(level, TB_PLAN_LEVEL_NAMES[i]) == 0)
			return 1u << i;
	return TB_PLAN_LEVEL_OTHER;
}

/* ---- the plan ---------------------------------------------------------- */

static int parse_head(struct plan_walk *w, const cJSON *root)
{
	static const char *const keys[] = {"format", "id", "name_vi",
					   "name_en", "source", "start", "end",
					   "indicators", "note", NULL};
	struct tb_plan *p = w->plan;
	const cJSON *fmt;
	const char *id, *note;
	size_t old;
	int rc;

	rc = plan_closed_object(w, root, keys);
	if (rc < 0)
		return rc;
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	old = tb_json_path_key(&w->path, "format");
	if (!cJSON_IsNumber(fmt) || fmt->valuedouble != TB_PLAN_FORMAT)
		rc = plan_bad(w, "must be %d (the plan file format this server "
			 "reads)", TB_PLAN_FORMAT);
	tb_json_path_cut(&w->path, old);
	if (rc == TB_OK)
		rc = plan_get_text(w, root, "id", 1, 128, &id);
	if (rc == TB_OK)
		rc = plan_check_id(w, "id", id, TB_PLAN_ID_MAX, 0);
	if (rc == TB_OK)
		snprintf(p->id, sizeof(p->id), "%s", id);
	if (rc == TB_OK)
		rc = plan_dup_text(w, root, "name_vi", 1, &p->name_vi);
	if (rc == TB_OK)
		rc = plan_dup_text(w, root, "name_en", 1, &p->name_en);
	if (rc == TB_OK)
		rc = plan_dup_text(w, root, "source", 0, &p->source);
	if (rc == TB_OK)
		rc = plan_get_text(w, root, "note", 0, TB_TEXT_MAX, &note);
	if (rc == TB_OK)
		rc = plan_get_date(w, root, "start", &p->start);
	if (rc == TB_OK)
		rc = plan_get_date(w, root, "end", &p->end);
	if (rc == TB_OK && p->end < p->start) {
		old = tb_json_path_key(&w->path, "end");
		rc = plan_bad(w, "the plan ends before it starts");
		tb_json_path_cut(&w->path, old);
	}
	return rc;
}

static int parse_root(struct plan_walk *w, const cJSON *root)
{
	const cJSON *inds, *o;
	size_t old;
	int i = 0, rc;

	rc = parse_head(w, root);
	if (rc < 0)
		return rc;
	inds = cJSON_GetObjectItemCaseSensitive(root, "indicators");
	old = tb_json_path_key(&w->path, "indicators");
	if (!cJSON_IsArray(inds) || !inds->child)
		rc = plan_bad(w, "must be a non-empty array");
	for (o = inds ? inds->child : NULL; o && rc == TB_OK; o = o->next, i++) {
		size_t iold = tb_json_path_index(&w->path, (size_t)i);

		rc = plan_parse_indicator(w, o);
		tb_json_path_cut(&w->path, iold);
	}
	tb_json_path_cut(&w->path, old);
	return rc;
}

int tb_plan_parse(const char *name, const char *text, size_t len,
		  struct tb_plan **out, char *msg, size_t msglen)
{
	struct plan_walk w;
	struct tb_plan *p = NULL;
	cJSON *root = NULL;
	char why[160];
	size_t at = 0;
	int rc, line, col;

	*out = NULL;
	memset(&w, 0, sizeof(w));
	w.file = name;
	w.msg = msg;
	w.msglen = msglen;
	tb_json_begin();
	rc = tb_json_parse(text, len, NULL, &root, &at, why, sizeof(why));
	if (rc == TB_EINVAL || rc == TB_ETOOBIG) {
		/* why is "body: PROBLEM"; a plan is a file, not a body */
		const char *problem = strncmp(why, "body: ", 6) ? why : why + 6;

		tb_json_line_col(text, at, &line, &col);
		snprintf(msg, msglen, "%s: line %d, column %d: not valid JSON (%s)",
			 name, line, col, problem);
		rc = TB_ECONFIG;
	}
	if (rc < 0)
		goto out;
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
