/* date.h - calendar dates, times and the plans' reporting periods.
 *
 * A date is an int32 count of days since 1970-01-01 in the proleptic
 * Gregorian calendar (negative before). Only real calendar dates parse:
 * "2025-02-30" and "2024-2-3" are refused. Times are int64 seconds since the
 * Unix epoch, UTC, written as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ".
 *
 * Periods are closed ranges of days [from, to]. The forms accepted by
 * tb_period_parse, as used in reports and on the command line:
 *   "2025"                 the calendar year
 *   "2025-H1" "2025-H2"    half-years: H1 = Jan-Jun (reported in June),
 *                          H2 = Jul-Dec (reported in December)
 *   "2025-Q1" .. "2025-Q4" quarters
 *   "2025-11"              a month
 *   "action-month-2025"    the Action Month, 15 Nov - 15 Dec of that year
 *   "cumulative:2025-12-31" everything up to and including that day
 *                          (from = TB_DATE_MIN; a plan narrows it to its start)
 * Years are limited to TB_YEAR_MIN..TB_YEAR_MAX.
 */
#ifndef TB_COMMON_DATE_H
#define TB_COMMON_DATE_H

#include <stddef.h>
#include <stdint.h>

#define TB_YEAR_MIN 2000
#define TB_YEAR_MAX 2100
#define TB_DATE_MIN INT32_MIN
#define TB_DATE_LEN 11   /* "YYYY-MM-DD" + NUL */
#define TB_TIME_LEN 21   /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */
#define TB_PERIOD_LEN 32 /* longest label + NUL */

int tb_is_leap(int year);
int tb_days_in_month(int year, int month);
/* Days since epoch of a y-m-d that must be valid (see tb_date_valid). */
int32_t tb_date_from_ymd(int y, int m, int d);
void tb_date_to_ymd(int32_t days, int *y, int *m, int *d);
int tb_date_valid(int y, int m, int d);

/* Parses exactly "YYYY-MM-DD" (the whole string). 0 or TB_EINVAL. */
int tb_date_parse(const char *s, int32_t *out);
/* Writes "YYYY-MM-DD" into buf (at least TB_DATE_LEN bytes); returns buf. */
char *tb_date_format(int32_t days, char *buf);
/* Today in UTC+7 (Vietnam has no DST), the day the clerk sees. */
int32_t tb_date_today(void);

/* The office's and the schools' zone, Asia/Ho_Chi_Minh: UTC+7 all year
 * (no DST since 1975). What people read is in it; what is stored, UTC. */
#define TB_VN_UTC_OFFSET (7 * 3600)
/* The local day (UTC+7) of a time. */
int32_t tb_date_of_time_vn(int64_t t);
/* "20/11/2025", as Vietnamese write dates; buf TB_DATE_LEN. */
char *tb_date_format_vn(int32_t days, char *buf);
/* "20/11/2025 14:05" in UTC+7; buf TB_TIME_LEN. */
char *tb_time_format_vn(int64_t t, char *buf);

/* Parses "YYYY-MM-DDTHH:MM:SSZ" exactly. 0 or TB_EINVAL. */
int tb_time_parse(const char *s, int64_t *out);
char *tb_time_format(int64_t t, char *buf);
int64_t tb_time_now(void);

/* The Action Month of a year: 15 Nov .. 15 Dec, both included. */
void tb_action_month(int year, int32_t *from, int32_t *to);
/* 1 if the date falls in the Action Month of its own year. */
int tb_in_action_month(int32_t days);
int tb_half_of(int32_t days);    /* 1 or 2 */
int tb_quarter_of(int32_t days); /* 1..4 */

enum tb_period_kind {
	TB_PERIOD_YEAR,
	TB_PERIOD_HALF,
	TB_PERIOD_QUARTER,
	TB_PERIOD_MONTH,
	TB_PERIOD_ACTION_MONTH,
	TB_PERIOD_CUMULATIVE
};

struct tb_period {
	enum tb_period_kind kind;
	int year;         /* the year the period is in (of `to` for cumulative) */
	int32_t from, to; /* inclusive; from == TB_DATE_MIN when open */
	char label[TB_PERIOD_LEN]; /* canonical form, as parsed */
};

/* Parses one of the forms above. 0 or TB_EINVAL. */
int tb_period_parse(const char *s, struct tb_period *out);
int tb_period_contains(const struct tb_period *p, int32_t days);

#endif
