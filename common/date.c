/* date.c - civil dates, UTC times and the plans' reporting periods.
 *
 * Used by the event model (dates of records, the Action Month rule), the
 * agent's CLI and the server's reports. Day numbers are days since
 * 1970-01-01 in the proleptic Gregorian calendar, converted with Howard
 * Hinnant's days_from_civil / civil_from_days algorithms (exact for every
 * int32 day count, computed in int64 so nothing overflows). Parsing is
 * strict: fixed-width digits, the whole string, real calendar dates and
 * years TB_YEAR_MIN..TB_YEAR_MAX; anything else is TB_EINVAL.
 */
#include "common/date.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

#define SECS_PER_DAY 86400
#define VN_UTC_OFFSET TB_VN_UTC_OFFSET

int tb_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int tb_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
	                             31, 31, 30, 31, 30, 31};

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && tb_is_leap(year))
		return 29;
	return days[month - 1];
}

int tb_date_valid(int y, int m, int d)
{
	if (y < TB_YEAR_MIN || y > TB_YEAR_MAX)
		return 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= tb_days_in_month(y, m);
}

/* Hinnant's days_from_civil, valid for any y, m 1..12, d 1..31. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int32_t tb_date_from_ymd(int y, int m, int d)
{
	return (int32_t)days_from_civil(y, m, d);
}

/* Hinnant's civil_from_days. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void tb_date_to_ymd(int32_t days, int *y, int *m, int *d)
{
	int64_t year;

	civil_from_days(days, &year, m, d);
	*y = (int)year;
}

/* Reads exactly n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" at the start of s (which holds at least 10 characters). */
static int parse_ymd(const char *s, int32_t *out)
{
	int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);

	if (s[4] != '-' || s[7] != '-' || y < 0 || m < 0 || d < 0 ||
	    !tb_date_valid(y, m, d))
		return TB_EINVAL;
	*out = tb_date_from_ymd(y, m, d);
	return 0;
}

int tb_date_parse(const char *s, int32_t *out)
{
	if (!s || strlen(s) != 10)
		return TB_EINVAL;
	return parse_ymd(s, out);
}

char *tb_date_format(int32_t days, char *buf)
{
	int y, m, d;
	char tmp[48];

	tb_date_to_ymd(days, &y, &m, &d);
	if (y < 0 || y > 9999) /* no four-digit form: never parses back */
		memcpy(tmp, "0000-00-00", TB_DATE_LEN);
	else
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y, m, d);
	memcpy(buf, tmp, TB_DATE_LEN);
	return buf;
}

/* Floor division of a time by a day, for times before 1970 too. */
static int64_t day_of_time(int64_t t)
{
	int64_t q = t / SECS_PER_DAY;

	return (t % SECS_PER_DAY < 0) ? q - 1 : q;
}

int32_t tb_date_today(void)
{
	return (int32_t)day_of_time(tb_time_now() + VN_UTC_OFFSET);
}

int32_t tb_date_of_time_vn(int64_t t)
{
	return (int32_t)day_of_time(t + VN_UTC_OFFSET);
}

char *tb_date_format_vn(int32_t days, char *buf)
{
	int y, m, d;
	char tmp[48];

	tb_date_to_ymd(days, &y, &m, &d);
	snprintf(tmp, sizeof(tmp), "%02d/%02d/%04d", d, m, y);
	if (strlen(tmp) >= TB_DATE_LEN) /* a year past 9999 */
		memcpy(tmp, "00/00/0000", TB_DATE_LEN);
	memcpy(buf, tmp, TB_DATE_LEN);
	return buf;
}

char *tb_time_format_vn(int64_t t, char *buf)
{
	int64_t local = t + VN_UTC_OFFSET, day = day_of_time(local);
	int64_t sec = local - day * SECS_PER_DAY;
	char d[TB_DATE_LEN], tmp[64];

	snprintf(tmp, sizeof(tmp), "%s %02d:%02d",
		 tb_date_format_vn((int32_t)day, d), (int)(sec / 3600),
		 (int)(sec / 60 % 60));
	snprintf(buf, TB_TIME_LEN, "%.16s", tmp); /* "dd/mm/yyyy hh:mm" */
	return buf;
}

int tb_time_parse(const char *s, int64_t *out)
{
	int32_t day;
	int hh, mm, ss;

	if (!s || strlen(s) != 20 || parse_ymd(s, &day) != 0)
		return TB_EINVAL;
	hh = digits(s + 11, 2);
	mm = digits(s + 14, 2);
	ss = digits(s + 17, 2);
	if (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
	    hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
		return TB_EINVAL;
	*out = (int64_t)day * SECS_PER_DAY + hh * 3600 + mm * 60 + ss;
	return 0;
}

char *tb_time_format(int64_t t, char *buf)
{
	int64_t day = day_of_time(t), year;
	int64_t sec = t - day * SECS_PER_DAY;
	int m, d;
	char tmp[80];

	civil_from_days(day, &year, &m, &d);
	if (year < 0 || year > 9999)
		memcpy(tmp, "0000-00-00T00:00:00Z", TB_TIME_LEN);
	else
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ",
		         (int)year, m, d, (int)(sec / 3600),
		         (int)(sec / 60 % 60), (int)(sec % 60));
	memcpy(buf, tmp, TB_TIME_LEN);
	return buf;
}

int64_t tb_time_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (int64_t)time(NULL);
	return (int64_t)ts.tv_sec;
}

void tb_action_month(int year, int32_t *from, int32_t *to)
{
	*from = tb_date_from_ymd(year, 11, 15);
	*to = tb_date_from_ymd(year, 12, 15);
}

int tb_in_action_month(int32_t days)
{
	int y, m, d;

	tb_date_to_ymd(days, &y, &m, &d);
	return (m == 11 && d >= 15) || (m == 12 && d <= 15);
}

int tb_half_of(int32_t days)
{
	int y, m, d;

	tb_date_to_ymd(days, &y, &m, &d);
	return m <= 6 ? 1 : 2;
}

int tb_quarter_of(int32_t days)
{
	int y, m, d;

	tb_date_to_ymd(days, &y, &m, &d);
	return (m - 1) / 3 + 1;
}

/* A four-digit year in range at s; -1 otherwise. */
static int parse_year(const char *s)
{
	int y = digits(s, 4);

	return (y >= TB_YEAR_MIN && y <= TB_YEAR_MAX) ? y : -1;
}

/* Sets p to the months m1..m2 of year y. */
static void period_months(struct tb_period *p, enum tb_period_kind kind, int y,
                          int m1, int m2)
{
	p->kind = kind;
	p->year = y;
	p->from = tb_date_from_ymd(y, m1, 1);
	p->to = tb_date_from_ymd(y, m2, tb_days_in_month(y, m2));
}

/* "YYYY", "YYYY-Hn", "YYYY-Qn", "YYYY-MM" (len already known). */
static int parse_year_form(const char *s, size_t len, struct tb_period *p)
{
	int y = parse_year(s), n;

	if (y < 0)
		return TB_EINVAL;
	if (len == 4) {
		period_months(p, TB_PERIOD_YEAR, y, 1, 12);
		return 0;
	}
	if (len != 7 || s[4] != '-')
		return TB_EINVAL;
	if (s[5] == 'H' || s[5] == 'Q') {
		n = digits(s + 6, 1);
		if (s[5] == 'H' && n >= 1 && n <= 2)
			period_months(p, TB_PERIOD_HALF, y, n * 6 - 5, n * 6);
		else if (s[5] == 'Q' && n >= 1 && n <= 4)
			period_months(p, TB_PERIOD_QUARTER, y, n * 3 - 2,
			              n * 3);
		else
			return TB_EINVAL;
		return 0;
	}
	n = digits(s + 5, 2);
	if (n < 1 || n > 12)
		return TB_EINVAL;
	period_months(p, TB_PERIOD_MONTH, y, n, n);
	return 0;
}

int tb_period_parse(const char *s, struct tb_period *out)
{
	static const char am[] = "action-month-";
	static const char cum[] = "cumulative:";
	struct tb_period p;
	size_t len;
	int rc, y, m, d;

	if (!s)
		return TB_EINVAL;
	len = strlen(s);
	if (len >= TB_PERIOD_LEN)
		return TB_EINVAL;
	memset(&p, 0, sizeof(p));
	if (len == sizeof(am) - 1 + 4 && memcmp(s, am, sizeof(am) - 1) == 0) {
		p.year = parse_year(s + sizeof(am) - 1);
		if (p.year < 0)
			return TB_EINVAL;
		p.kind = TB_PERIOD_ACTION_MONTH;
		tb_action_month(p.year, &p.from, &p.to);
	} else if (len > sizeof(cum) - 1 &&
	           memcmp(s, cum, sizeof(cum) - 1) == 0) {
		rc = tb_date_parse(s + sizeof(cum) - 1, &p.to);
		if (rc != 0)
			return rc;
		tb_date_to_ymd(p.to, &y, &m, &d);
		p.kind = TB_PERIOD_CUMULATIVE;
		p.year = y;
		p.from = TB_DATE_MIN;
	} else {
		rc = parse_year_form(s, len, &p);
		if (rc != 0)
			return rc;
	}
	memcpy(p.label, s, len + 1);
	*out = p;
	return 0;
}

int tb_period_contains(const struct tb_period *p, int32_t days)
{
	return days >= p->from && days <= p->to;
}
