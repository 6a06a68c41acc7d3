/* test_input.c - clerks' dates, numbers and names (agent/input.c).
 *
 * Each case is a spelling a Vietnamese-locale spreadsheet or a clerk at a
 * keyboard produces, with the one value it means or the reason it is
 * refused; the expected day numbers are tb_date_from_ymd of the date
 * written out by hand, the expected counts the digits without separators.
 * Messages are checked in English (the source language): no catalog is
 * bound in this process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/input.h"
#include "agent/labels.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"

static void date_is(const char *s, int y, int m, int d)
{
	int32_t got = 0;
	char why[TB_WHY_LEN] = "";

	if (tb_input_date(s, &got, why, sizeof(why)) != TB_OK)
		fail_msg("'%s' refused: %s", s, why);
	assert_int_equal(got, tb_date_from_ymd(y, m, d));
}

static void date_refused(const char *s, const char *reason)
{
	int32_t got = 0;
	char why[TB_WHY_LEN] = "";

	assert_int_equal(tb_input_date(s, &got, why, sizeof(why)), TB_EINVAL);
	if (!strstr(why, reason))
		fail_msg("'%s': '%s' does not say '%s'", s, why, reason);
	if (!strstr(why, s))
		fail_msg("'%s': '%s' does not quote the value", s, why);
}

static void test_dates_day_first(void **state)
{
	(void)state;
	date_is("20/11/2025", 2025, 11, 20);
	date_is("5/1/2026", 2026, 1, 5);
	date_is("05/01/2026", 2026, 1, 5);
	date_is("15-12-2025", 2025, 12, 15);
	date_is("15.12.2025", 2025, 12, 15);
	date_is("2025-11-20", 2025, 11, 20);
	date_is("2025-1-5", 2025, 1, 5);
	date_is("29/02/2024", 2024, 2, 29);
}

static void test_dates_refused_with_reason(void **state)
{
	(void)state;
	date_refused("31/11/2025", "30 is the last day of November");
	date_refused("29/02/2025", "2025 is not a leap year");
	date_refused("11/20/2025", "there is no month 20");
	date_refused("0/5/2025", "there is no day 0");
	date_refused("20/11/25", "write the year in full");
	date_refused("20/11-2025", "day/month/year");
	date_refused("2025/11/20", "day/month/year");
	date_refused("20 tháng 11", "day/month/year");
	date_refused("1/1/1999", "from 2000 to 2100");
	date_refused("", "day/month/year");
}

static void count_is(const char *s, enum tb_numconv conv, int64_t want)
{
	int64_t got = -1;
	char why[TB_WHY_LEN] = "";

	if (tb_input_count(s, conv, TB_COUNT_MAX, &got, why, sizeof(why)))
		fail_msg("'%s' refused: %s", s, why);
	assert_int_equal(got, want);
}

static void count_refused(const char *s, enum tb_numconv conv,
			  const char *reason)
{
	int64_t got = -1;
	char why[TB_WHY_LEN] = "";

	assert_int_equal(tb_input_count(s, conv, TB_COUNT_MAX, &got, why,
					sizeof(why)),
			 TB_EINVAL);
	if (!strstr(why, reason) || !strstr(why, s))
		fail_msg("'%s': '%s' should say '%s' and quote it", s, why,
			 reason);
	assert_int_equal(got, -1);
}

static void test_counts_with_separators(void **state)
{
	(void)state;
	count_is("1500", TB_NUM_UNKNOWN, 1500);
	count_is("1.500", TB_NUM_DOT, 1500);
	count_is("12.345", TB_NUM_DOT, 12345);
	count_is("1,500", TB_NUM_COMMA, 1500);
	count_is("1 500", TB_NUM_UNKNOWN, 1500);
	count_is("1\xc2\xa0" "500", TB_NUM_COMMA, 1500); /* no-break space */
	count_is("1\xe2\x80\xaf" "500", TB_NUM_DOT, 1500);
	/* two groups can only be thousands, whatever the convention */
	count_is("1.000.000", TB_NUM_UNKNOWN, 1000000);
	count_is("1.000.000", TB_NUM_COMMA, 1000000);
	count_is("0", TB_NUM_DOT, 0);
}

static void test_counts_never_guessed(void **state)
{
	(void)state;
	/* one group: 2 or 2000 */
	count_refused("2.000", TB_NUM_UNKNOWN, "could be read as 2000");
	count_refused("2,000", TB_NUM_UNKNOWN, "could be read as 2000");
	/* the file's own convention reads it as decimals */
	count_refused("2.000", TB_NUM_COMMA, "marks decimals");
	count_refused("2,000", TB_NUM_DOT, "marks decimals");
	count_refused("1.5", TB_NUM_DOT, "without a decimal part");
	count_refused("1.500,5", TB_NUM_DOT, "without a decimal part");
	count_refused("15.00.000", TB_NUM_DOT, "grouped in threes");
	count_refused("1 50", TB_NUM_DOT, "grouped in threes");
	count_refused("-5", TB_NUM_DOT, "cannot be negative");
	count_refused("abc", TB_NUM_DOT, "from 0 to 1000000");
	count_refused("1.000.001", TB_NUM_DOT, "from 0 to 1000000");
	count_refused("99999999999999999999", TB_NUM_DOT, "from 0 to 1000000");
}

static void test_kinds_and_names(void **state)
{
	enum tb_kind k = TB_KIND_COUNT;

	(void)state;
	assert_int_equal(tb_input_kind("Outreach", &k), TB_OK);
	assert_int_equal(k, TB_KIND_OUTREACH);
	assert_int_equal(tb_input_kind("TRAINING", &k), TB_OK);
	assert_int_equal(k, TB_KIND_TRAINING);
	assert_int_equal(tb_input_kind("action month", &k), TB_OK);
	assert_int_equal(k, TB_KIND_ACTION_MONTH);
	assert_int_equal(tb_input_kind("Tập huấn", &k), TB_OK);
	assert_int_equal(k, TB_KIND_TRAINING);
	assert_int_equal(tb_input_kind("THÁNG HÀNH ĐỘNG", &k), TB_OK);
	assert_int_equal(k, TB_KIND_ACTION_MONTH);
	/* "Tập huấn" with combining marks (as Windows-1258 text converts) */
	assert_int_equal(tb_input_kind("Ta\xcc\xa3\xcc\x82p hua\xcc\x82\xcc\x81n",
				       &k),
			 TB_OK);
	assert_int_equal(k, TB_KIND_TRAINING);
	assert_int_equal(tb_input_kind("tuyen truyen", &k), TB_EINVAL);
	assert_int_equal(tb_input_kind("", &k), TB_EINVAL);
}

static void value_is(enum tb_kind kind, const char *field, const char *s,
		     const char *want)
{
	size_t n;
	const struct tb_field *f = tb_kind_fields(kind, &n);
	int idx = tb_field_index(kind, field);
	char out[64] = "", why[TB_WHY_LEN] = "";

	assert_true(idx >= 0);
	if (tb_input_value(&f[idx], s, TB_NUM_DOT, out, sizeof(out), why,
			   sizeof(why)))
		fail_msg("%s '%s' refused: %s", field, s, why);
	assert_string_equal(out, want);
}

static void test_values(void **state)
{
	(void)state;
	value_is(TB_KIND_SNAPSHOT, "website_section", "Có", "yes");
	value_is(TB_KIND_SNAPSHOT, "website_section", "KHÔNG", "no");
	value_is(TB_KIND_SNAPSHOT, "website_section", "Yes", "yes");
	value_is(TB_KIND_OUTREACH, "occasion", "Womens-Day", "womens-day");
	value_is(TB_KIND_OUTREACH, "occasion", "8/3", "womens-day");
	value_is(TB_KIND_OUTREACH, "occasion", "tháng hành động",
		 "action-month");
	value_is(TB_KIND_OUTREACH, "channel", "Mạng xã hội", "social-media");
	value_is(TB_KIND_OUTREACH, "parents", "1.500", "1500");
	/* decomposed text is stored composed (NFC) */
	value_is(TB_KIND_OUTREACH, "title", "Ta\xcc\xa3\xcc\x82p", "Tập");
}

static void test_set_names_the_field(void **state)
{
	struct tb_event e;
	char msg[TB_MSG_LEN] = "";

	(void)state;
	tb_event_init(&e, TB_KIND_OUTREACH);
	assert_int_equal(tb_input_set(&e, "parents", "2.000", TB_NUM_UNKNOWN,
				      msg, sizeof(msg)),
			 TB_EINVAL);
	assert_non_null(strstr(msg, "parents: "));
	assert_non_null(strstr(msg, "'2.000'"));
	assert_false(e.v[tb_field_index(TB_KIND_OUTREACH, "parents")].set);
	assert_int_equal(tb_input_set(&e, "parents", "2.000", TB_NUM_DOT, msg,
				      sizeof(msg)),
			 TB_OK);
	assert_int_equal(e.v[tb_field_index(TB_KIND_OUTREACH, "parents")].n,
			 2000);
	tb_event_clear(&e);
}

static void test_every_field_has_a_label(void **state)
{
	(void)state;
	for (int k = 0; k < TB_KIND_COUNT; k++) {
		size_t n;
		const struct tb_field *f = tb_kind_fields((enum tb_kind)k, &n);

		assert_non_null(tb_label_kind_vi((enum tb_kind)k));
		for (size_t i = 0; i < n; i++)
			if (!tb_label_field_vi(f[i].name))
				fail_msg("%s has no Vietnamese label",
					 f[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dates_day_first),
	    cmocka_unit_test(test_dates_refused_with_reason),
	    cmocka_unit_test(test_counts_with_separators),
	    cmocka_unit_test(test_counts_never_guessed),
	    cmocka_unit_test(test_kinds_and_names),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_set_names_the_field),
	    cmocka_unit_test(test_every_field_has_a_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
