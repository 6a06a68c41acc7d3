/* fuzz_plan.c - libFuzzer target: the plan-file parser (server/plan.h,
 * tb_plan_parse), which the server runs on every *.json of its plans
 * directory at start and the report command on the same files.
 *
 * Properties beyond "no crash, no leak, no UB": a refused file gets a
 * message that starts with the file's name; a loaded plan keeps the
 * invariants plan.h promises (at most TB_PLAN_MAX_INDICATORS indicators
 * with unique ids and names, targets ordered by year within the plan's
 * years, levels among the known bits, a reason exactly for not_collected,
 * start <= end) and its names of comparisons, units and formulas exist;
 * with the Nth allocation made to fail (cJSON's too: the codec's hooks are
 * installed first) the parse fails cleanly and leaks nothing.
 * Seeds: the plan files of plans/ (scripts/fuzz.sh).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "fuzz/fuzz_util.h"
#include "protocol/codec.h"
#include "server/plan.h"

#define NAME "fuzz.json"

static void check_plan(const struct tb_plan *p)
{
	fuzz_util_check(p->count <= TB_PLAN_MAX_INDICATORS,
			"at most TB_PLAN_MAX_INDICATORS indicators");
	fuzz_util_check(p->id[0] && p->name_vi && p->name_en && p->path,
			"a plan has an id and names");
	int y0, y1, m, d;

	fuzz_util_check(p->start <= p->end, "a plan starts before it ends");
	tb_date_to_ymd(p->start, &y0, &m, &d);
	tb_date_to_ymd(p->end, &y1, &m, &d);
	for (size_t i = 0; i < p->count; i++) {
		const struct tb_plan_ind *ind = &p->ind[i];

		fuzz_util_check(ind->id[0] && ind->name_vi && ind->name_en,
				"an indicator has an id and names");
		for (size_t j = 0; j < i; j++)
			fuzz_util_check(strcmp(p->ind[j].id, ind->id) != 0,
					"indicator ids are unique");
		fuzz_util_check(ind->levels != 0 &&
					(ind->levels & ~TB_PLAN_LEVEL_ALL) == 0,
				"levels are known bits");
		fuzz_util_check(ind->ntargets <= TB_PLAN_MAX_TARGETS,
				"at most TB_PLAN_MAX_TARGETS targets");
		for (size_t t = 0; t < ind->ntargets; t++) {
			fuzz_util_check(ind->targets[t].year >= y0 &&
						ind->targets[t].year <= y1,
					"a target year is a year of the plan");
			fuzz_util_check(t == 0 || ind->targets[t - 1].year <
							  ind->targets[t].year,
					"targets ordered by year");
			fuzz_util_check(tb_plan_target_for(
						ind, ind->targets[t].year) ==
						&ind->targets[t],
					"a target year finds its target");
			fuzz_util_check(tb_plan_cmp_name(ind->targets[t].cmp) !=
						NULL,
					"a target's comparison has a name");
		}
		fuzz_util_check((ind->f.type == TB_F_NOT_COLLECTED) ==
					(ind->f.reason != NULL),
				"a reason exactly for not_collected");
		fuzz_util_check(tb_plan_unit_name(ind->unit) != NULL &&
					tb_plan_ftype_name(ind->f.type) != NULL,
				"unit and formula have names");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int hooked;
	struct tb_plan *p = NULL;
	char msg[TB_PLAN_MSG_LEN];
	long nalloc;
	int rc;

	if (!hooked) {
		/* Installs the codec's cJSON hooks (tb_malloc), so failure
		 * injection reaches cJSON inside tb_plan_parse too. */
		struct tb_ack a;

		tb_ack_init(&a);
		tb_ack_decode("{}", 2, &a, msg, sizeof(msg));
		tb_ack_clear(&a);
		hooked = 1;
	}
	msg[0] = '\0';
	tb_mem_fail_at(LONG_MAX);
	rc = tb_plan_parse(NAME, (const char *)data, size, &p, msg,
			   sizeof(msg));
	nalloc = tb_mem_count();
	tb_mem_fail_at(0);
	fuzz_util_check(rc == 0 || rc == TB_ECONFIG,
			"parse returns 0 or TB_ECONFIG");
	fuzz_util_check((rc == 0) == (p != NULL), "*out set exactly on success");
	if (rc == 0)
		check_plan(p);
	else
		fuzz_util_check(strncmp(msg, NAME ": ", strlen(NAME) + 2) == 0,
				"a refusal names the file");
	tb_plan_destroy(p);
	p = NULL;
	if (nalloc <= 0)
		return 0;
	tb_mem_fail_at(1 + (long)(fuzz_util_hash(data, size) %
				  (uint64_t)nalloc));
	rc = tb_plan_parse(NAME, (const char *)data, size, &p, msg,
			   sizeof(msg));
	tb_mem_fail_at(0);
	fuzz_util_check(rc == TB_ENOMEM || rc == TB_ECONFIG,
			"a failed allocation fails the parse");
	fuzz_util_check(p == NULL, "*out NULL on failure");
	return 0;
}
