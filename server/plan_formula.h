/* plan_formula.h - an indicator's targets and formula in a plan file
 * (format: plans/README.md; structures: plan.h).
 *
 * Called by plan_ind.c for every indicator (or part). Both fill fields of
 * *ind in place and allocate nothing; a refusal is TB_ECONFIG with the
 * walk's message set (plan_walk.h). The formula is checked against the
 * event model's field tables (common/event.h) and against the unit.
 */
#ifndef TB_SERVER_PLAN_FORMULA_H
#define TB_SERVER_PLAN_FORMULA_H

#include <cjson/cJSON.h>

#include "server/plan.h"

struct plan_walk;

/* o's "targets" (optional): a target per year of the plan. */
int plan_parse_targets(struct plan_walk *w, const cJSON *o,
		       struct tb_plan_ind *ind);
/* o's "formula" (required); ind->unit must be set already. */
int plan_parse_formula(struct plan_walk *w, const cJSON *o,
		       struct tb_plan_ind *ind);

#endif
