/* plan_ind.h - one indicator of a plan file, with its parts (format:
 * plans/README.md; structures: plan.h).
 *
 * Called by plan.c for every element of "indicators". An indicator with
 * parts becomes one tb_plan_ind per part ("HB-3.1/parents"), appended to
 * the walk's plan in file order; the names are copies owned by the plan
 * (freed by tb_plan_destroy, also after a refusal). A refusal is
 * TB_ECONFIG with the walk's message set (plan_walk.h).
 */
#ifndef TB_SERVER_PLAN_IND_H
#define TB_SERVER_PLAN_IND_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct plan_walk;

/* Reads indicator o into the walk's plan. */
int plan_parse_indicator(struct plan_walk *w, const cJSON *o);
/* Checks id (of key `key`): at most max bytes, letters (upper case too if
 * upper), digits and the plan id punctuation. */
int plan_check_id(struct plan_walk *w, const char *key, const char *id,
		  size_t max, int upper);

#endif
