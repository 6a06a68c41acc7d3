/* test_agent_tty.c - `tienbo-agent record KIND` with no field options on a
 * terminal: driven through a pseudo-terminal as a clerk would, it asks for
 * each field showing its rule and default, refuses a bad answer with the
 * rule and asks again, sends the clerk back to the field a cross-field
 * rule names, and records nothing when the input ends early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "common/date.h"
#include "common/event.h"
#include "tests/helper_proc.h"

#define WAIT_MS 5000

struct fx {
	struct helper_proc_sandbox sb;
	char db[400];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || helper_proc_sandbox_make(&f->sb) != 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/agent.db", f->sb.data);
	*state = f;
	return helper_proc_sandbox_agent(&f->sb, "t", NULL);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	helper_proc_sandbox_remove(&f->sb);
	free(f);
	return 0;
}

static long long rows(struct fx *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL) == 0 &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM queue", -1, &st,
			       NULL) == 0 &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct helper_proc_pty *start(struct fx *f, const char *kind)
{
	const char *argv[] = { TB_AGENT_BIN, "record", kind, NULL };
	struct helper_proc_pty *p = helper_proc_pty_start(argv, f->sb.env);

	assert_non_null(p);
	return p;
}

/* Waits for text, failing with everything seen so far. */
static void expect(struct helper_proc_pty *p, const char *text)
{
	if (helper_proc_pty_expect(p, text, WAIT_MS) != 0)
		fail_msg("no \"%s\" in:\n%s", text, helper_proc_pty_output(p));
}

/* Answers the prompt of field `option` with `answer`. */
static void answer(struct helper_proc_pty *p, const char *option,
		   const char *answer_text)
{
	char prompt[80];

	snprintf(prompt, sizeof(prompt), "%s - ", option);
	expect(p, prompt);
	expect(p, ": ");
	assert_int_equal(helper_proc_pty_send(p, answer_text), 0);
}

/* The JSON of the only event recorded, via `list --json`. */
static cJSON *only_event(struct fx *f)
{
	struct helper_proc_opts o = { 0 };
	struct helper_proc_result r;
	cJSON *arr, *e;

	o.env = f->sb.env;
	helper_proc_runl(&r, &o, TB_AGENT_BIN, "list", "--json", NULL);
	arr = cJSON_Parse(r.out);
	helper_proc_free(&r);
	assert_non_null(arr);
	assert_int_equal(cJSON_GetArraySize(arr), 1);
	e = cJSON_DetachItemFromArray(arr, 0);
	cJSON_Delete(arr);
	return e;
}

static void test_prompts_and_reasks(void **state)
{
	struct fx *f = *state;
	struct helper_proc_pty *p = start(f, "outreach");
	char today[TB_DATE_LEN], want[64];
	cJSON *e;

	int y, m, d;

	/* the clerk's order, day/month/year */
	tb_date_to_ymd(tb_date_today(), &y, &m, &d);
	snprintf(today, sizeof(today), "%02u/%02u/%04u", (unsigned)d % 100u,
		 (unsigned)m % 100u, (unsigned)y % 10000u);
	/* The date prompt shows today as its default. */
	snprintf(want, sizeof(want), "[default: %s]: ", today);
	expect(p, "date - ");
	expect(p, want);
	assert_int_equal(helper_proc_pty_send(p, "2025-02-30\n"), 0);
	expect(p, "date: 28 is the last day of February (got '2025-02-30')");
	answer(p, "date", "2025-11-20\n");
	/* Each field shows its help line (the rule). */
	expect(p, "title - What the event was (text, required");
	assert_int_equal(helper_proc_pty_send(p, "\n"), 0);
	expect(p, "title: a value is required");
	answer(p, "title", "Họp phụ huynh đầu năm\n");
	expect(p, "parents - Parents reached");
	assert_int_equal(helper_proc_pty_send(p, "-3\n"), 0);
	expect(p, "parents: a count cannot be negative (got '-3')");
	answer(p, "parents", "40\n");
	answer(p, "students", "120\n");
	answer(p, "teachers-staff", "\n");
	answer(p, "officials", "\n");
	answer(p, "occasion", "birthday\n");
	expect(p, "occasion: must be one of");
	answer(p, "occasion", "action-month\n");
	answer(p, "channel", "meeting\n");
	expect(p, "Record this? (yes/no) [yes]: ");
	assert_int_equal(helper_proc_pty_send(p, "maybe\n"), 0);
	expect(p, "answer yes or no");
	expect(p, "Record this? (yes/no) [yes]: ");
	assert_int_equal(helper_proc_pty_send(p, "yes\n"), 0);
	assert_int_equal(helper_proc_pty_wait(p, WAIT_MS), 0);
	assert_non_null(strstr(helper_proc_pty_output(p), "Recorded outreach"));
	helper_proc_pty_free(p);

	assert_int_equal(rows(f), 1);
	e = only_event(f);
	assert_string_equal(cJSON_GetObjectItem(e, "date")->valuestring,
			    "2025-11-20");
	assert_string_equal(cJSON_GetObjectItem(e, "title")->valuestring,
			    "Họp phụ huynh đầu năm");
	assert_int_equal(cJSON_GetObjectItem(e, "parents")->valuedouble, 40);
	assert_int_equal(cJSON_GetObjectItem(e, "students")->valuedouble, 120);
	assert_null(cJSON_GetObjectItem(e, "teachers_staff"));
	assert_string_equal(cJSON_GetObjectItem(e, "occasion")->valuestring,
			    "action-month");
	cJSON_Delete(e);
}

static void test_cross_field_rule_goes_back(void **state)
{
	struct fx *f = *state;
	struct helper_proc_pty *p = start(f, "training");
	cJSON *e;

	answer(p, "date", "\n"); /* today */
	answer(p, "title", "Tập huấn\n");
	answer(p, "topic", "\n");
	answer(p, "participants", "10\n");
	answer(p, "female", "12\n");
	/* female > participants is seen as soon as both are known: back to
	 * female at once, whose current answer is the default. */
	expect(p, "female: must not exceed participants (12 > 10)");
	expect(p, "female - ");
	expect(p, "[default: 12]: ");
	assert_int_equal(helper_proc_pty_send(p, "7\n"), 0);
	answer(p, "ban-members", "\n");
	answer(p, "women-in-planning", "\n");
	answer(p, "communicators", "\n");
	/* a summary, then yes/no */
	expect(p, "To be recorded: training");
	expect(p, "female");
	expect(p, "Record this? (yes/no) [yes]: ");
	assert_int_equal(helper_proc_pty_send(p, "có\n"), 0);
	assert_int_equal(helper_proc_pty_wait(p, WAIT_MS), 0);
	helper_proc_pty_free(p);
	e = only_event(f);
	assert_int_equal(cJSON_GetObjectItem(e, "female")->valuedouble, 7);
	assert_int_equal(cJSON_GetObjectItem(e, "participants")->valuedouble,
			 10);
	cJSON_Delete(e);
}

static void test_end_of_input_records_nothing(void **state)
{
	struct fx *f = *state;
	struct helper_proc_pty *p = start(f, "outreach");

	answer(p, "date", "2025-11-20\n");
	answer(p, "title", "Bỏ dở\n");
	expect(p, "parents - ");
	assert_int_equal(helper_proc_pty_eof(p), 0);
	assert_int_equal(helper_proc_pty_wait(p, WAIT_MS), 65);
	assert_non_null(strstr(helper_proc_pty_output(p),
			       "nothing was recorded"));
	helper_proc_pty_free(p);
	assert_int_equal(rows(f), 0);
}

/* Ends with the exit status and exactly one "nothing was recorded". */
static void expect_one_ending(struct helper_proc_pty *p, struct fx *f,
			      const char *why)
{
	const char *out, *first;

	assert_int_equal(helper_proc_pty_wait(p, WAIT_MS), 65);
	out = helper_proc_pty_output(p);
	first = strstr(out, "nothing was recorded");
	if (!first || strstr(first + 1, "nothing was recorded") ||
	    !strstr(out, why))
		fail_msg("want one '%s; nothing was recorded' in:\n%s", why,
			 out);
	helper_proc_pty_free(p);
	assert_int_equal(rows(f), 0);
}

static void test_answer_no_records_nothing(void **state)
{
	struct fx *f = *state;
	struct helper_proc_pty *p = start(f, "web-post");

	answer(p, "date", "20/11/2025\n");
	answer(p, "title", "Bài viết\n");
	answer(p, "url", "\n");
	expect(p, "To be recorded: web-post");
	expect(p, "20/11/2025");
	expect(p, "Record this? (yes/no) [yes]: ");
	assert_int_equal(helper_proc_pty_send(p, "Không\n"), 0);
	expect_one_ending(p, f, "you answered no");
}

static void test_ctrl_c_says_so(void **state)
{
	struct fx *f = *state;
	struct helper_proc_pty *p = start(f, "outreach");

	answer(p, "date", "2025-11-20\n");
	expect(p, "title - ");
	assert_int_equal(helper_proc_pty_send(p, "\003"), 0); /* ^C */
	expect_one_ending(p, f, "stopped with Ctrl-C");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prompts_and_reasks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cross_field_rule_goes_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_end_of_input_records_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_no_records_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_says_so, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
