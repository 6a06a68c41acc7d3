/* test_date.c - civil date conversions, strict parsing, UTC times, the
 * Action Month, halves, quarters and reporting periods (common/date.c).
 * Period expectations come from tests/data/common/periods.txt; day
 * numbers are checked against values worked out by hand (days since
 * 1970-01-01 = 365 per year + leap days + days of the year).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/date.h"
#include "common/err.h"

/* Days since 1970-01-01 of dates used below. 2000-01-01: 30 years of 365
 * days + 7 leap days (72..96) = 10957. 2024-01-01: 54*365 + 13 = 19723. */
#define D_2000_01_01 10957
#define D_2024_02_29 (19723 + 31 + 28)
#define D_2025_01_01 (19723 + 366)

static int32_t day(const char *s)
{
	int32_t d = 0;

	assert_int_equal(tb_date_parse(s, &d), 0);
	return d;
}

static void test_leap_and_month_lengths(void **state)
{
	(void)state;
	assert_true(tb_is_leap(2024));
	assert_true(tb_is_leap(2000));
	assert_false(tb_is_leap(2025));
	assert_false(tb_is_leap(2100));
	assert_int_equal(tb_days_in_month(2024, 2), 29);
	assert_int_equal(tb_days_in_month(2025, 2), 28);
	assert_int_equal(tb_days_in_month(2025, 4), 30);
	assert_int_equal(tb_days_in_month(2025, 12), 31);
	assert_int_equal(tb_days_in_month(2025, 0), 0);
	assert_int_equal(tb_days_in_month(2025, 13), 0);
}

static void test_day_numbers(void **state)
{
	int y, m, d;

	(void)state;
	assert_int_equal(tb_date_from_ymd(1970, 1, 1), 0);
	assert_int_equal(tb_date_from_ymd(1969, 12, 31), -1);
	assert_int_equal(tb_date_from_ymd(2000, 1, 1), D_2000_01_01);
	assert_int_equal(tb_date_from_ymd(2024, 2, 29), D_2024_02_29);
	assert_int_equal(tb_date_from_ymd(2025, 1, 1), D_2025_01_01);
	assert_int_equal(tb_date_from_ymd(2024, 12, 31), D_2025_01_01 - 1);
	tb_date_to_ymd(D_2024_02_29, &y, &m, &d);
	assert_int_equal(y, 2024);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
	tb_date_to_ymd(-1, &y, &m, &d);
	assert_int_equal(y, 1969);
	assert_int_equal(m, 12);
	assert_int_equal(d, 31);
}

/* Every day of the supported range converts both ways and follows the
 * previous one. */
static void test_every_day_round_trips(void **state)
{
	int32_t expect = D_2000_01_01;

	(void)state;
	for (int y = TB_YEAR_MIN; y <= TB_YEAR_MAX; y++) {
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= tb_days_in_month(y, m); d++) {
				int yy, mm, dd;
				int32_t n = tb_date_from_ymd(y, m, d);

				assert_int_equal(n, expect++);
				tb_date_to_ymd(n, &yy, &mm, &dd);
				assert_int_equal(yy, y);
				assert_int_equal(mm, m);
				assert_int_equal(dd, d);
			}
		}
	}
	assert_int_equal(expect - 1, tb_date_from_ymd(2100, 12, 31));
}

static void test_date_parse(void **state)
{
	static const char *const bad[] = {
	    "2025-02-29",  "2025-02-30",           "2024-02-30", "2025-04-31",
	    "2024-2-3",    "2025-13-01",           "2025-00-10", "2025-01-00",
	    "2025-01-32",  "1999-12-31",           "2101-01-01", "2025-01-01 ",
	    " 2025-01-01", "2025/01/01",           "20250101",   "2025-01-1a",
	    "+025-01-01",  "2025-01-01T00:00:00Z", "",           "2025--1-01",
	};
	int32_t d = 42;

	(void)state;
	assert_int_equal(tb_date_parse("2024-02-29", &d), 0);
	assert_int_equal(d, D_2024_02_29);
	assert_int_equal(tb_date_parse("2000-01-01", &d), 0);
	assert_int_equal(d, D_2000_01_01);
	assert_int_equal(tb_date_parse("2100-12-31", &d), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = 42;
		assert_int_equal(tb_date_parse(bad[i], &d), TB_EINVAL);
		assert_int_equal(d, 42);
	}
	assert_int_equal(tb_date_parse(NULL, &d), TB_EINVAL);
}

static void test_date_format(void **state)
{
	char buf[TB_DATE_LEN];

	(void)state;
	assert_string_equal(tb_date_format(D_2024_02_29, buf), "2024-02-29");
	assert_string_equal(tb_date_format(0, buf), "1970-01-01");
	assert_string_equal(tb_date_format(D_2025_01_01 - 1, buf),
	                    "2024-12-31");
	/* No four-digit year: a form that never parses back. */
	assert_string_equal(tb_date_format(TB_DATE_MIN, buf), "0000-00-00");
}

static void test_today_is_vietnam_day(void **state)
{
	time_t before, after;
	int32_t today;

	(void)state;
	before = time(NULL);
	today = tb_date_today();
	after = time(NULL);
	/* UTC+7: the day number of (now + 7 h). */
	assert_in_range(today, (int64_t)(before + 7 * 3600) / 86400,
	                (int64_t)(after + 7 * 3600) / 86400);
}

static void test_time_parse_and_format(void **state)
{
	static const char *const bad[] = {
	    "2023-11-14T24:00:00Z",
	    "2023-11-14T22:60:00Z",
	    "2023-11-14T22:13:60Z",
	    "2023-11-14T22:13:20",
	    "2023-11-14t22:13:20Z",
	    "2023-11-14 22:13:20Z",
	    "2023-11-14T22:13:20+07:00",
	    "2023-02-29T00:00:00Z",
	    "2023-11-14T2:13:20Z",
	    "1999-12-31T23:59:59Z",
	    "",
	};
	char buf[TB_TIME_LEN];
	int64_t t = 7;

	(void)state;
	/* 1700000000 is the well-known 2023-11-14T22:13:20Z. */
	assert_int_equal(tb_time_parse("2023-11-14T22:13:20Z", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_string_equal(tb_time_format(1700000000, buf),
	                    "2023-11-14T22:13:20Z");
	assert_int_equal(tb_time_parse("2000-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, (int64_t)D_2000_01_01 * 86400);
	assert_int_equal(tb_time_parse("2024-02-29T23:59:59Z", &t), 0);
	assert_int_equal(t, ((int64_t)D_2024_02_29 + 1) * 86400 - 1);
	assert_string_equal(tb_time_format(0, buf), "1970-01-01T00:00:00Z");
	assert_string_equal(tb_time_format(-1, buf), "1969-12-31T23:59:59Z");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 7;
		assert_int_equal(tb_time_parse(bad[i], &t), TB_EINVAL);
		assert_int_equal(t, 7);
	}
	assert_true(tb_time_now() > 1700000000);
}

static void test_action_month(void **state)
{
	int32_t from, to;

	(void)state;
	tb_action_month(2025, &from, &to);
	assert_int_equal(from, day("2025-11-15"));
	assert_int_equal(to, day("2025-12-15"));
	assert_int_equal(to - from, 30); /* 16 days of Nov + 15 of Dec - 1 */
	assert_false(tb_in_action_month(day("2025-11-14")));
	assert_true(tb_in_action_month(day("2025-11-15")));
	assert_true(tb_in_action_month(day("2025-12-01")));
	assert_true(tb_in_action_month(day("2025-12-15")));
	assert_false(tb_in_action_month(day("2025-12-16")));
	assert_false(tb_in_action_month(day("2025-12-31")));
	assert_false(tb_in_action_month(day("2026-01-01")));
	assert_false(tb_in_action_month(day("2025-06-15")));
	assert_true(tb_in_action_month(day("2024-11-15")));
}

static void test_halves_and_quarters(void **state)
{
	(void)state;
	assert_int_equal(tb_half_of(day("2025-01-01")), 1);
	assert_int_equal(tb_half_of(day("2025-06-30")), 1);
	assert_int_equal(tb_half_of(day("2025-07-01")), 2);
	assert_int_equal(tb_half_of(day("2025-12-31")), 2);
	assert_int_equal(tb_half_of(day("2026-01-01")), 1);
	assert_int_equal(tb_quarter_of(day("2025-01-01")), 1);
	assert_int_equal(tb_quarter_of(day("2025-03-31")), 1);
	assert_int_equal(tb_quarter_of(day("2025-04-01")), 2);
	assert_int_equal(tb_quarter_of(day("2025-06-30")), 2);
	assert_int_equal(tb_quarter_of(day("2025-07-01")), 3);
	assert_int_equal(tb_quarter_of(day("2025-09-30")), 3);
	assert_int_equal(tb_quarter_of(day("2025-10-01")), 4);
	assert_int_equal(tb_quarter_of(day("2025-12-31")), 4);
}

static enum tb_period_kind kind_of(const char *name)
{
	static const char *const names[] = {
	    "year", "half", "quarter", "month", "action-month", "cumulative"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return (enum tb_period_kind)i;
	fail_msg("unknown period kind '%s' in fixture", name);
	return TB_PERIOD_YEAR;
}

static void check_period_line(const char *label, const char *kind, int year,
                              const char *from, const char *to)
{
	struct tb_period p;
	int32_t f = strcmp(from, "-") == 0 ? TB_DATE_MIN : day(from);
	int32_t t = day(to);

	assert_int_equal(tb_period_parse(label, &p), 0);
	assert_int_equal(p.kind, kind_of(kind));
	assert_int_equal(p.year, year);
	assert_int_equal(p.from, f);
	assert_int_equal(p.to, t);
	assert_string_equal(p.label, label);
	/* Both ends are inside, the days next to them are not. */
	assert_true(tb_period_contains(&p, t));
	assert_false(tb_period_contains(&p, t + 1));
	if (f != TB_DATE_MIN) {
		assert_true(tb_period_contains(&p, f));
		assert_false(tb_period_contains(&p, f - 1));
	} else {
		assert_true(tb_period_contains(&p, D_2000_01_01));
	}
}

static void test_periods_from_fixture(void **state)
{
	char line[256], label[64], kind[32], from[32], to[32];
	struct tb_period p;
	int year, n, accepted = 0, refused = 0;
	FILE *f = fopen(TB_SOURCE_DIR "/tests/data/common/periods.txt", "r");

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = sscanf(line, "%63s %31s %d %31s %31s", label, kind, &year,
		           from, to);
		if (n == 2 && strcmp(kind, "refuse") == 0) {
			memset(&p, 0x5a, sizeof(p));
			if (tb_period_parse(label, &p) != TB_EINVAL)
				fail_msg("'%s' should be refused", label);
			refused++;
			continue;
		}
		assert_int_equal(n, 5);
		check_period_line(label, kind, year, from, to);
		accepted++;
	}
	fclose(f);
	assert_true(accepted >= 20);
	assert_true(refused >= 25);
}

static void test_period_odd_input(void **state)
{
	struct tb_period p;

	(void)state;
	assert_int_equal(tb_period_parse(NULL, &p), TB_EINVAL);
	assert_int_equal(tb_period_parse("", &p), TB_EINVAL);
	assert_int_equal(tb_period_parse("2025 ", &p), TB_EINVAL);
	assert_int_equal(tb_period_parse(" 2025-H1", &p), TB_EINVAL);
	assert_int_equal(tb_period_parse("cumulative:2025-12-31x", &p),
	                 TB_EINVAL);
	assert_int_equal(
	    tb_period_parse("cumulative:2025-12-31xxxxxxxxxxxxxxxxxxxxxx", &p),
	    TB_EINVAL);
}

/* The plans' reporting months: H1 is reported in June, H2 in December,
 * and H1 + H2 cover the year without overlap. */
static void test_halves_cover_year(void **state)
{
	struct tb_period h1, h2, y;

	(void)state;
	assert_int_equal(tb_period_parse("2024-H1", &h1), 0);
	assert_int_equal(tb_period_parse("2024-H2", &h2), 0);
	assert_int_equal(tb_period_parse("2024", &y), 0);
	assert_int_equal(h1.from, y.from);
	assert_int_equal(h1.to + 1, h2.from);
	assert_int_equal(h2.to, y.to);
	assert_int_equal(y.to - y.from + 1, 366);
	for (int32_t d = y.from; d <= y.to; d++)
		assert_int_equal(
		    tb_period_contains(&h1, d) + tb_period_contains(&h2, d), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leap_and_month_lengths),
	    cmocka_unit_test(test_day_numbers),
	    cmocka_unit_test(test_every_day_round_trips),
	    cmocka_unit_test(test_date_parse),
	    cmocka_unit_test(test_date_format),
	    cmocka_unit_test(test_today_is_vietnam_day),
	    cmocka_unit_test(test_time_parse_and_format),
	    cmocka_unit_test(test_action_month),
	    cmocka_unit_test(test_halves_and_quarters),
	    cmocka_unit_test(test_periods_from_fixture),
	    cmocka_unit_test(test_period_odd_input),
	    cmocka_unit_test(test_halves_cover_year),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
