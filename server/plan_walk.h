/* plan_walk.h - the walk over one plan file while it is read (server/
 * plan.c, plan_formula.c, plan_ind.c; nothing else includes it).
 *
 * The walk carries the file name, the JSON path of the value being read
 * ("indicators[3].targets.2025", a protocol/json.h path), the caller's message buffer and the plan
 * being built. Every reader checks the value where it is read and, on the
 * first problem, writes "FILE: PLACE: PROBLEM" into the message and
 * returns TB_ECONFIG (plan_bad). Strings handed out by plan_get_text are
 * borrowed from the cJSON tree (valid while it lives); plan_dup_text's
 * are copies the caller owns (tb_free).
 */
#ifndef TB_SERVER_PLAN_WALK_H
#define TB_SERVER_PLAN_WALK_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/json.h"
#include "server/plan.h"

struct plan_walk {
	const char *file;
	struct tb_json_path path; /* tb_json_path_key/_index/_cut */
	char *msg;
	size_t msglen;
	struct tb_plan *plan;
};

/* Writes "FILE: PLACE: PROBLEM" into the walk's message; TB_ECONFIG. */
int plan_bad(struct plan_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__ /* it does not follow variadic calls: msg.h */
#define plan_bad(w, ...) (plan_bad((w), __VA_ARGS__), TB_ECONFIG)
#endif

/* Refuses keys outside `allowed` (NULL-terminated) and duplicate keys. */
int plan_closed_object(struct plan_walk *w, const cJSON *o,
		       const char *const *allowed);
/* A required (or optional, when *out may stay NULL) UTF-8 text, borrowed
 * from o. */
int plan_get_text(struct plan_walk *w, const cJSON *o, const char *key,
		  int required, size_t maxlen, const char **out);
/* The same, copied: *out is the caller's (tb_free). */
int plan_dup_text(struct plan_walk *w, const cJSON *o, const char *key,
		  int required, char **out);
/* 1 if every byte of s is in `extra` or an ASCII letter/digit per flags. */
int plan_chars_ok(const char *s, int upper, int lower, const char *extra);
/* A required "YYYY-MM-DD" as a day number (common/date.h). */
int plan_get_date(struct plan_walk *w, const cJSON *o, const char *key,
		  int32_t *out);
/* An optional boolean (*out left as it is when absent). */
int plan_get_bool(struct plan_walk *w, const cJSON *o, const char *key,
		  int *out);

#endif
