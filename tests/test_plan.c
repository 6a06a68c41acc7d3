/* test_plan.c - plan files (server/plan.c): the two plans of plans/ load
 * with every indicator of PLANS.md, their targets and formulas; the target
 * year rule; malformed files are refused naming the file, the place and
 * the problem; a directory with a bad or duplicate plan is refused whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "server/plan.h"

#define PLANS TB_SOURCE_DIR "/plans"

static const struct tb_plan_ind *find(const struct tb_plan *p, const char *id)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->ind[i].id, id) == 0)
			return &p->ind[i];
	fail_msg("%s: no indicator %s", p->id, id);
	return NULL;
}

static void expect_target(const struct tb_plan_ind *ind, int year,
			  enum tb_plan_cmp cmp, double value)
{
	const struct tb_plan_target *t = NULL;

	for (size_t i = 0; i < ind->ntargets; i++)
		if (ind->targets[i].year == year)
			t = &ind->targets[i];
	if (!t)
		fail_msg("%s: no target for %d", ind->id, year);
	assert_int_equal(t->cmp, cmp);
	assert_true(t->value == value);
}

/* Every id of PLANS.md (parts as id/part), in the plan's order. */
static const char *const hb_ids[] = {
	"HB-1.1a", "HB-1.1b", "HB-1.2", "HB-1.3", "HB-1.4",
	"HB-2.1/schools", "HB-2.1/college", "HB-2.2a/nursery",
	"HB-2.2a/kindergarten", "HB-2.2b/primary", "HB-2.2b/lower_secondary",
	"HB-2.2c/women", "HB-2.2c/ethnic_minority", "HB-2.3/masters",
	"HB-2.3/doctors", "HB-3.1/parents", "HB-3.1/students",
	"HB-3.1/officials", "HB-3.2", "HB-3.3"};
static const char *const to_ids[] = {
	"TO-1", "TO-2/nursery", "TO-2/kindergarten", "TO-3.1", "TO-3.2",
	"TO-3.3", "TO-3.4/masters", "TO-3.4/doctors", "TO-3.5",
	"TO-4.1/parents", "TO-4.1/students", "TO-4.1/teachers_staff", "TO-4.2",
	"TO-4.3", "TO-4.4", "TO-5"};

static void test_hoa_binh(void **state)
{
	struct tb_plan *p = NULL;
	const struct tb_plan_ind *ind;
	char msg[TB_PLAN_MSG_LEN] = "";
	int32_t d;

	(void)state;
	if (tb_plan_load(PLANS "/hoa-binh-2022-2030.json", &p, msg,
			 sizeof(msg)) != 0)
		fail_msg("%s", msg);
	assert_string_equal(p->id, "hoa-binh-2022-2030");
	assert_int_equal(tb_date_parse("2022-01-01", &d), 0);
	assert_int_equal(p->start, d);
	assert_int_equal(tb_date_parse("2030-12-31", &d), 0);
	assert_int_equal(p->end, d);
	assert_int_equal(p->count, sizeof(hb_ids) / sizeof(hb_ids[0]));
	for (size_t i = 0; i < p->count; i++)
		assert_string_equal(p->ind[i].id, hb_ids[i]);

	ind = find(p, "HB-3.1/parents");
	assert_int_equal(ind->unit, TB_UNIT_COUNT);
	assert_int_equal(ind->f.type, TB_F_SUM);
	assert_string_equal(ind->f.name, "parents");
	assert_int_equal(ind->f.kinds, (1u << TB_KIND_OUTREACH) |
					       (1u << TB_KIND_ACTION_MONTH));
	assert_true(ind->f.cumulative);
	expect_target(ind, 2025, TB_CMP_GE, 1500);
	expect_target(ind, 2030, TB_CMP_GE, 1800);
	assert_non_null(strstr(ind->name_vi, "phụ huynh"));
	expect_target(find(p, "HB-3.1/officials"), 2025, TB_CMP_ABOUT, 50);
	expect_target(find(p, "HB-3.1/students"), 2030, TB_CMP_GE, 70000);

	ind = find(p, "HB-1.2");
	assert_int_equal(ind->levels, tb_plan_level_bit("office"));
	assert_int_equal(ind->f.type, TB_F_SHARE_UNITS);
	expect_target(ind, 2025, TB_CMP_GT, 80);
	expect_target(ind, 2030, TB_CMP_GT, 85);
	ind = find(p, "HB-1.1a");
	assert_int_equal(ind->levels, tb_plan_level_bit("TH") |
					      tb_plan_level_bit("THCS") |
					      tb_plan_level_bit("THPT") |
					      tb_plan_level_bit("GDTX"));
	expect_target(find(p, "HB-2.2c/women"), 2025, TB_CMP_GE, 98.2);
	expect_target(find(p, "HB-2.2c/ethnic_minority"), 2030, TB_CMP_GE,
		      94.5);
	expect_target(find(p, "HB-2.2b/lower_secondary"), 2025, TB_CMP_GT,
		      96);
	assert_int_equal(find(p, "HB-2.2b/lower_secondary")->levels,
			 tb_plan_level_bit("THCS"));
	ind = find(p, "HB-1.4");
	assert_int_equal(ind->f.type, TB_F_RATIO);
	assert_int_equal(ind->levels, TB_PLAN_LEVEL_ALL);
	/* a part with its own levels: the college part is the pedagogical
	 * college's, the schools part stays on the parent's TH THCS THPT */
	ind = find(p, "HB-2.1/college");
	assert_int_equal(ind->f.type, TB_F_SHARE_UNITS);
	assert_string_equal(ind->f.name, "curriculum_content");
	assert_int_equal(ind->levels, tb_plan_level_bit("college"));
	assert_int_equal(ind->unit, TB_UNIT_PERCENT_UNITS);
	expect_target(ind, 2025, TB_CMP_GE, 100);
	expect_target(ind, 2030, TB_CMP_GE, 100);
	assert_int_equal(find(p, "HB-2.1/schools")->ntargets, 0);
	assert_int_equal(find(p, "HB-2.1/schools")->levels,
			 tb_plan_level_bit("TH") | tb_plan_level_bit("THCS") |
				 tb_plan_level_bit("THPT"));
	assert_int_equal(tb_plan_level_bit("college"),
			 1u << (TB_PLAN_NLEVELS - 1));
	assert_int_equal(tb_plan_level_bit("university"), TB_PLAN_LEVEL_OTHER);
	ind = find(p, "HB-3.2");
	assert_int_equal(ind->ntargets, 1);
	assert_string_equal(ind->f.name, "communicators");
	tb_plan_destroy(p);
}

static void test_thanh_oai(void **state)
{
	struct tb_plan *p = NULL;
	const struct tb_plan_ind *ind;
	char msg[TB_PLAN_MSG_LEN] = "";
	int32_t d;

	(void)state;
	if (tb_plan_load(PLANS "/thanh-oai-2021-2030.json", &p, msg,
			 sizeof(msg)) != 0)
		fail_msg("%s", msg);
	assert_string_equal(p->id, "thanh-oai-2021-2030");
	assert_int_equal(tb_date_parse("2021-01-01", &d), 0);
	assert_int_equal(p->start, d);
	assert_int_equal(p->count, sizeof(to_ids) / sizeof(to_ids[0]));
	for (size_t i = 0; i < p->count; i++)
		assert_string_equal(p->ind[i].id, to_ids[i]);
	ind = find(p, "TO-4.3");
	assert_int_equal(ind->f.type, TB_F_EVERY_QUARTER);
	assert_int_equal(ind->f.kinds, 1u << TB_KIND_WEB_POST);
	ind = find(p, "TO-4.1/teachers_staff");
	assert_int_equal(ind->ntargets, 1);
	expect_target(ind, 2030, TB_CMP_ABOUT, 4000);
	expect_target(find(p, "TO-3.2"), 2030, TB_CMP_GT, 95);
	expect_target(find(p, "TO-2/kindergarten"), 2025, TB_CMP_GE, 100);
	expect_target(find(p, "TO-5"), 2025, TB_CMP_GE, 50);
	expect_target(find(p, "TO-4.4"), 2026, TB_CMP_GE, 100);
	tb_plan_destroy(p);
}

static void test_target_year_rule(void **state)
{
	struct tb_plan *p = NULL;
	const struct tb_plan_ind *ind;
	char msg[TB_PLAN_MSG_LEN] = "";

	(void)state;
	if (tb_plan_load(PLANS "/hoa-binh-2022-2030.json", &p, msg,
			 sizeof(msg)) != 0)
		fail_msg("%s", msg);
	ind = find(p, "HB-3.1/parents");
	assert_int_equal(tb_plan_target_for(ind, 2022)->year, 2025);
	assert_int_equal(tb_plan_target_for(ind, 2025)->year, 2025);
	assert_int_equal(tb_plan_target_for(ind, 2026)->year, 2030);
	assert_int_equal(tb_plan_target_for(ind, 2030)->year, 2030);
	assert_null(tb_plan_target_for(ind, 2031));
	ind = find(p, "HB-3.2"); /* 2025 only */
	assert_non_null(tb_plan_target_for(ind, 2025));
	assert_null(tb_plan_target_for(ind, 2026));
	tb_plan_destroy(p);
}

/* A small valid plan; each bad case replaces one piece of it. */
#define GOOD_HEAD                                                          \
	"{\"format\": 1, \"id\": \"t-plan\", \"name_vi\": \"Kế hoạch\","   \
	" \"name_en\": \"Plan\", \"start\": \"2022-01-01\","               \
	" \"end\": \"2030-12-31\", \"indicators\": ["
#define GOOD_IND0                                                          \
	"{\"id\": \"A-1\", \"name_vi\": \"Một\", \"name_en\": \"One\","    \
	" \"unit\": \"count\", \"levels\": \"all\","                       \
	" \"targets\": {\"2025\": {\"cmp\": \">=\", \"value\": 10}},"      \
	" \"formula\": {\"type\": \"sum\", \"kinds\": [\"outreach\"],"      \
	" \"field\": \"parents\"}}"

struct bad_case {
	const char *json;
	const char *place;   /* expected after "bad.json: " */
	const char *problem; /* a word of the problem */
};

static const struct bad_case bad_cases[] = {
	{GOOD_HEAD GOOD_IND0 ",\n  {\"id\": oops}]}", "line 2, column",
	 "not valid JSON"},
	/* a second document after the plan: cJSON alone would stop early */
	{GOOD_HEAD GOOD_IND0 "]}\n{\"format\": 1}", "line 2, column",
	 "data after the JSON value"},
	{GOOD_HEAD GOOD_IND0 "]}\n\"tail\\u0000\"", "line 2, column",
	 "not valid JSON"},
	{"{\"format\": 2}", "format", "must be 1"},
	{GOOD_HEAD GOOD_IND0 "], \"extra\": 1}", "(top level)",
	 "unknown key \"extra\""},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"percent_units\", \"levels\":"
	 " [\"TH\"], \"targets\": {\"2025\": {\"cmp\": \"=>\", \"value\": 9}},"
	 " \"formula\": {\"type\": \"share_units\", \"field\":"
	 " \"website_section\"}}]}",
	 "indicators[1].targets.2025.cmp", "must be one of"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"percent_units\", \"levels\":"
	 " [\"TH\"], \"targets\": {\"2030\": {\"cmp\": \">=\", \"value\":"
	 " 120}}, \"formula\": {\"type\": \"share_units\", \"field\":"
	 " \"website_section\"}}]}",
	 "indicators[1].targets.2030.value", "at most 100"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"count\", \"levels\": \"all\","
	 " \"formula\": {\"type\": \"sum\", \"kinds\": [\"training\"],"
	 " \"field\": \"parents\"}}]}",
	 "indicators[1].formula.field", "not a count field of training"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"count\", \"levels\": \"all\","
	 " \"formula\": {\"type\": \"sum\", \"kinds\": [\"outreach\"],"
	 " \"feild\": \"parents\"}}]}",
	 "indicators[1].formula", "unknown key \"feild\""},
	{GOOD_HEAD GOOD_IND0 ", " GOOD_IND0 "]}", "indicators[1].id",
	 "used twice"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"ratio\", \"levels\": \"all\","
	 " \"formula\": {\"type\": \"sum\", \"kinds\": [\"outreach\"],"
	 " \"field\": \"parents\"}}]}",
	 "indicators[1].formula", "does not give a value in unit ratio"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"ratio\", \"levels\": \"all\","
	 " \"formula\": {\"type\": \"ratio\", \"num\": \"ban_members\","
	 " \"den\": \"website_section\"}}]}",
	 "indicators[1].formula.den", "not a count snapshot field"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"count\", \"levels\": \"all\","
	 " \"targets\": {\"2031\": {\"cmp\": \">=\", \"value\": 1}},"
	 " \"formula\": {\"type\": \"count\", \"kinds\": [\"snapshot\"]}}]}",
	 "indicators[1].targets.2031", "outside the plan"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"count\", \"levels\": \"all\","
	 " \"formula\": {\"type\": \"count\", \"kinds\": [\"snapshot\"]}}]}",
	 "indicators[1].formula.kinds[0]", "snapshots are figures"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"count\", \"levels\":"
	 " [\"TH\", \"university\"]}]}",
	 "indicators[1].levels[1]", "must be one of MN"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-2\", \"name_vi\": \"Hai\","
	 " \"name_en\": \"Two\", \"unit\": \"count\", \"levels\": \"all\"}]}",
	 "indicators[1].formula", "missing"},
	{GOOD_HEAD GOOD_IND0 ", {\"id\": \"A-3\", \"name_vi\": \"Ba\","
	 " \"name_en\": \"Three\", \"unit\": \"rate\", \"levels\": \"all\","
	 " \"parts\": [{\"part\": \"a\", \"name_vi\": \"a\", \"name_en\":"
	 " \"a\", \"formula\": {\"type\": \"ratio\", \"num\": \"masters\","
	 " \"den\": \"doctors\"}}, {\"part\": \"b\", \"name_vi\": \"b\","
	 " \"name_en\": \"b\", \"formula\": {\"type\": \"share_units\","
	 " \"field\": \"masters\"}}]}]}",
	 "indicators[1].parts[1].formula",
	 "does not give a value in unit rate"},
	{GOOD_HEAD "]}", "indicators", "non-empty array"},
};

static void test_malformed(void **state)
{
	char msg[TB_PLAN_MSG_LEN], want[256];
	struct tb_plan *p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		msg[0] = '\0';
		p = (struct tb_plan *)1;
		assert_int_equal(tb_plan_parse("bad.json", c->json,
					       strlen(c->json), &p, msg,
					       sizeof(msg)),
				 TB_ECONFIG);
		assert_null(p);
		snprintf(want, sizeof(want), "bad.json: %s", c->place);
		if (strncmp(msg, want, strlen(want)) != 0 ||
		    !strstr(msg, c->problem))
			fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i,
				 msg, want, c->problem);
	}
}

static void test_good_small(void **state)
{
	static const char text[] = GOOD_HEAD GOOD_IND0 "]}";
	struct tb_plan *p = NULL;
	char msg[TB_PLAN_MSG_LEN] = "";

	(void)state;
	if (tb_plan_parse("ok.json", text, strlen(text), &p, msg, sizeof(msg)))
		fail_msg("%s", msg);
	assert_int_equal(p->count, 1);
	assert_false(p->ind[0].f.cumulative);
	tb_plan_destroy(p);
}

/* Allocation failures at every step leave nothing behind (ASan checks). */
static void test_oom(void **state)
{
	char msg[TB_PLAN_MSG_LEN];
	struct tb_plan *p = NULL;
	int rc = TB_ENOMEM;
	long n;

	(void)state;
	for (n = 1; n < 5000 && rc == TB_ENOMEM; n++) {
		tb_mem_fail_at(n);
		rc = tb_plan_load(PLANS "/thanh-oai-2021-2030.json", &p, msg,
				  sizeof(msg));
		tb_mem_fail_at(0);
		if (rc == TB_ENOMEM)
			assert_null(p);
	}
	assert_int_equal(rc, 0);
	tb_plan_destroy(p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void test_set(void **state)
{
	static const char good[] = GOOD_HEAD GOOD_IND0 "]}";
	char dir[] = "/tmp/tb-plan-XXXXXX", path[256];
	char msg[TB_PLAN_MSG_LEN] = "";
	struct tb_plan_set *s = NULL;

	(void)state;
	if (tb_plan_set_load(PLANS, &s, msg, sizeof(msg)) != 0)
		fail_msg("%s", msg);
	assert_int_equal(s->count, 2);
	assert_non_null(tb_plan_set_find(s, "hoa-binh-2022-2030"));
	assert_non_null(tb_plan_set_find(s, "thanh-oai-2021-2030"));
	assert_null(tb_plan_set_find(s, "nope"));
	tb_plan_set_destroy(s);

	assert_non_null(mkdtemp(dir));
	assert_int_equal(tb_plan_set_load(dir, &s, msg, sizeof(msg)),
			 TB_ECONFIG);
	assert_non_null(strstr(msg, "no plan files"));
	snprintf(path, sizeof(path), "%s/a.json", dir);
	write_file(path, good);
	snprintf(path, sizeof(path), "%s/b.json", dir);
	write_file(path, good);
	assert_int_equal(tb_plan_set_load(dir, &s, msg, sizeof(msg)),
			 TB_ECONFIG);
	assert_null(s);
	assert_non_null(strstr(msg, "b.json: plan id t-plan"));
	write_file(path, "{\"format\": 1, \"id\": \"x\"}");
	assert_int_equal(tb_plan_set_load(dir, &s, msg, sizeof(msg)),
			 TB_ECONFIG);
	assert_non_null(strstr(msg, "b.json: name_vi: missing"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/a.json", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hoa_binh),
		cmocka_unit_test(test_thanh_oai),
		cmocka_unit_test(test_target_year_rule),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_good_small),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
