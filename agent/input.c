/* input.c - human dates, numbers and names, read as meant (input.h).
 *
 * Every function here either finds the one reading of a value or refuses
 * it with a reason that quotes it; none guesses. The rules are listed in
 * input.h; the refusal texts are in the gettext catalog.
 */
#include "agent/input.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicase.h>
#include <uninorm.h>

#include "agent/labels.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "common/msg.h"

/* ---- names ------------------------------------------------------------- */

/* s without the blanks around it, as [*start, *start + *len). */
static void strip(const char *s, const char **start, size_t *len)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*start = s;
	*len = n;
}

static int ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

int tb_input_same(const char *a, const char *b)
{
	const char *pa, *pb;
	size_t na, nb;
	int res = 1;

	if (!a || !b)
		return 0;
	strip(a, &pa, &na);
	strip(b, &pb, &nb);
	if (ascii(pa, na) && ascii(pb, nb)) /* the common case: no allocation */
		return na == nb && strncasecmp(pa, pb, na) == 0;
	if (u8_casecmp((const uint8_t *)pa, na, (const uint8_t *)pb, nb, NULL,
		       UNINORM_NFC, &res) != 0)
		return 0;
	return res == 0;
}

/* 1 if s spells code in any case, with ' ' or '_' for '-'. */
static int code_like(const char *s, const char *code)
{
	const char *p;
	size_t n, i;

	strip(s, &p, &n);
	if (n != strlen(code))
		return 0;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == ' ' || c == '_')
			c = '-';
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != code[i])
			return 0;
	}
	return 1;
}

int tb_input_kind(const char *s, enum tb_kind *out)
{
	for (int k = 0; s && k < TB_KIND_COUNT; k++) {
		if (code_like(s, tb_kind_name((enum tb_kind)k)) ||
		    tb_input_same(s, tb_label_kind_vi((enum tb_kind)k))) {
			*out = (enum tb_kind)k;
			return TB_OK;
		}
	}
	return TB_EINVAL;
}

/* The code of choices ("a|b|c") that s names, into out; 0 or -1. */
static int choice_code(const char *choices, const char *s, char *out,
		       size_t outlen)
{
	const char *p = choices, *bar;
	char code[64];
	size_t n;

	while (p) {
		bar = strchr(p, '|');
		n = bar ? (size_t)(bar - p) : strlen(p);
		if (n >= sizeof(code))
			return -1;
		memcpy(code, p, n);
		code[n] = '\0';
		const char *const *alias = tb_label_choice_aliases(code);
		int hit = code_like(s, code) ||
			  tb_input_same(s, tb_label_choice_vi(code));

		for (; !hit && alias && *alias; alias++)
			hit = tb_input_same(s, *alias);
		if (hit) {
			snprintf(out, outlen, "%s", code);
			return 0;
		}
		p = bar ? bar + 1 : NULL;
	}
	return -1;
}

static int bool_value(const char *s)
{
	static const char *const yes[] = {"yes", "y", "true", "1", "có",
					  "co", "x"};
	static const char *const no[] = {"no", "n", "false", "0", "không",
					 "khong"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (tb_input_same(s, yes[i]))
			return 1;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (tb_input_same(s, no[i]))
			return 0;
	return -1;
}

char *tb_input_nfc(const char *text)
{
	size_t n = strlen(text);
	uint8_t *u;
	char *out;

	if (ascii(text, n)) /* ASCII is NFC already */
		return tb_strdup(text);
	n = 0;
	u = u8_normalize(UNINORM_NFC, (const uint8_t *)text, strlen(text),
			 NULL, &n);
	if (!u)
		return tb_strdup(text); /* not UTF-8: the rules refuse it */
	out = tb_malloc(n + 1);
	if (out) {
		memcpy(out, u, n);
		out[n] = '\0';
	}
	free(u);
	return out;
}

/* ---- dates ------------------------------------------------------------- */

static const char *const month_names[12] = {
	N_("January"), N_("February"), N_("March"),     N_("April"),
	N_("May"),     N_("June"),     N_("July"),      N_("August"),
	N_("September"), N_("October"), N_("November"), N_("December"),
};

/* A run of 1..4 digits at *p: its value and length; -1 if none. */
static int number_at(const char **p, int *len)
{
	int v = 0, n = 0;

	while (**p >= '0' && **p <= '9' && n < 5) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*len = n;
	return n == 0 || n > 4 ? -1 : v;
}

/* Why y-m-d is no date, or 0 when it is one. */
static int date_why(int y, int m, int d, const char *s, char *why,
		    size_t whylen)
{
	if (y < TB_YEAR_MIN || y > TB_YEAR_MAX)
		return tb_msg(TB_EINVAL, why, whylen,
			      _("the year must be from %d to %d (got '%s')"),
			      TB_YEAR_MIN, TB_YEAR_MAX, s);
	if (m < 1 || m > 12)
		return tb_msg(TB_EINVAL, why, whylen,
			      _("there is no month %d: write the day first, "
				"then the month, then the year (got '%s')"),
			      m, s);
	if (d < 1)
		return tb_msg(TB_EINVAL, why, whylen,
			      _("there is no day 0 (got '%s')"), s);
	if (d > tb_days_in_month(y, m)) {
		if (m == 2 && d == 29)
			return tb_msg(TB_EINVAL, why, whylen,
				      _("%d is not a leap year: 28 is the "
					"last day of February (got '%s')"),
				      y, s);
		return tb_msg(TB_EINVAL, why, whylen,
			      _("%d is the last day of %s (got '%s')"),
			      tb_days_in_month(y, m), _(month_names[m - 1]), s);
	}
	return 0;
}

int tb_input_date(const char *s, int32_t *out, char *why, size_t whylen)
{
	const char *p = s;
	int v[3], len[3], y, m, d;
	char sep[2] = {0, 0};

	for (int i = 0; i < 3; i++) {
		v[i] = number_at(&p, &len[i]);
		if (v[i] < 0 || (i < 2 && (!*p || !strchr("/-.", *p))) ||
		    (i == 2 && *p))
			return tb_msg(TB_EINVAL, why, whylen,
				      _("write the date as day/month/year, "
					"for example 20/11/2025 (got '%s')"),
				      s ? s : "");
		if (i < 2)
			sep[i] = *p++;
	}
	if (sep[0] != sep[1])
		return tb_msg(TB_EINVAL, why, whylen,
			      _("write the date as day/month/year, for "
				"example 20/11/2025 (got '%s')"),
			      s);
	if (len[0] == 4 && sep[0] == '-' && len[1] <= 2 && len[2] <= 2) {
		y = v[0], m = v[1], d = v[2];
	} else if (len[2] == 4 && len[0] <= 2 && len[1] <= 2) {
		d = v[0], m = v[1], y = v[2];
	} else if (len[2] <= 2 && len[0] <= 2 && len[1] <= 2) {
		return tb_msg(TB_EINVAL, why, whylen,
			      _("write the year in full, for example "
				"20/11/2025 (got '%s')"),
			      s);
	} else {
		return tb_msg(TB_EINVAL, why, whylen,
			      _("write the date as day/month/year, for "
				"example 20/11/2025 (got '%s')"),
			      s);
	}
	if (date_why(y, m, d, s, why, whylen) != 0)
		return TB_EINVAL;
	*out = tb_date_from_ymd(y, m, d);
	return TB_OK;
}

const char *tb_input_date_text(int32_t date, char *buf)
{
	int y, m, d;

	tb_date_to_ymd(date, &y, &m, &d);
	snprintf(buf, TB_DATE_LEN, "%02u/%02u/%04u", (unsigned)d % 100u,
		 (unsigned)m % 100u, (unsigned)y % 10000u);
	return buf;
}

/* ---- whole numbers ----------------------------------------------------- */

enum tb_numconv tb_input_locale_numconv(void)
{
	locale_t loc = newlocale(LC_NUMERIC_MASK, "", (locale_t)0);
	enum tb_numconv conv = TB_NUM_UNKNOWN;
	const char *sep;

	if (loc == (locale_t)0)
		return conv;
	sep = nl_langinfo_l(THOUSEP, loc);
	if (sep && strcmp(sep, ".") == 0)
		conv = TB_NUM_DOT;
	else if (sep && strcmp(sep, ",") == 0)
		conv = TB_NUM_COMMA;
	freelocale(loc);
	return conv;
}

/* Length of a blank that may separate digit groups at p (space, no-break
 * space U+00A0, narrow no-break space U+202F), or 0. */
static size_t blank_at(const char *p)
{
	if (*p == ' ')
		return 1;
	if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0)
		return 2;
	if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
	    (unsigned char)p[2] == 0xaf)
		return 3;
	return 0;
}

struct groups {
	int64_t value; /* the digits read as one number, capped */
	int dots, commas, blanks;
	int first_len;  /* digits before the first separator */
	int bad_group;  /* a group after a separator without 3 digits */
	int other;      /* a character that is no digit or separator */
};

static void read_groups(const char *s, struct groups *g)
{
	int run = 0, after_sep = 0;
	size_t b;

	memset(g, 0, sizeof(*g));
	for (const char *p = s; *p;) {
		if (*p >= '0' && *p <= '9') {
			if (g->value <= INT64_MAX / 100)
				g->value = g->value * 10 + (*p - '0');
			run++;
			p++;
			continue;
		}
		b = blank_at(p);
		if (!b && *p != '.' && *p != ',') {
			g->other = 1;
			return;
		}
		if (!after_sep)
			g->first_len = run;
		else if (run != 3)
			g->bad_group = 1;
		if (run == 0)
			g->bad_group = 1;
		after_sep = 1;
		run = 0;
		g->blanks += b > 0;
		g->dots += *p == '.';
		g->commas += *p == ',';
		p += b ? b : 1;
	}
	if (!after_sep)
		g->first_len = run;
	else if (run != 3)
		g->bad_group = 1;
	if (g->first_len > 3 && after_sep)
		g->bad_group = 1;
}

/* The separator mark ('.' or ',') decides; conv says what it means. */
static int mark_why(const char *s, const struct groups *g, char mark,
		    enum tb_numconv conv, char *why, size_t whylen)
{
	int marks = mark == '.' ? g->dots : g->commas;
	enum tb_numconv means = mark == '.' ? TB_NUM_DOT : TB_NUM_COMMA;

	if (marks >= 2 || conv == means)
		return 0; /* only groups of three can be meant */
	if (conv != TB_NUM_UNKNOWN)
		return tb_msg(TB_EINVAL, why, whylen,
			      _("'%c' marks decimals here, so '%s' is not a "
				"whole number; write it without a "
				"separator"),
			      mark, s);
	return tb_msg(TB_EINVAL, why, whylen,
		      _("'%s' could be read as %lld or as a number with "
			"decimals; write it without a separator"),
		      s, (long long)g->value);
}

int tb_input_count(const char *s, enum tb_numconv conv, int64_t max,
		   int64_t *out, char *why, size_t whylen)
{
	struct groups g;

	read_groups(s, &g);
	if (!*s || g.other) {
		if (*s == '-')
			return tb_msg(TB_EINVAL, why, whylen,
				      _("a count cannot be negative (got "
					"'%s')"),
				      s);
		return tb_msg(TB_EINVAL, why, whylen,
			      _("must be a whole number from 0 to %lld (got "
				"'%s')"),
			      (long long)max, s);
	}
	if ((g.dots && g.commas) || (g.bad_group && g.dots + g.commas == 1))
		return tb_msg(TB_EINVAL, why, whylen,
			      _("must be a whole number, without a decimal "
				"part (got '%s')"),
			      s);
	if (g.bad_group)
		return tb_msg(TB_EINVAL, why, whylen,
			      _("digits must be grouped in threes, like "
				"1 500 (got '%s')"),
			      s);
	if (g.dots && mark_why(s, &g, '.', conv, why, whylen) != 0)
		return TB_EINVAL;
	if (g.commas && mark_why(s, &g, ',', conv, why, whylen) != 0)
		return TB_EINVAL;
	if (g.value > max)
		return tb_msg(TB_EINVAL, why, whylen,
			      _("must be a whole number from 0 to %lld (got "
				"'%s')"),
			      (long long)max, s);
	*out = g.value;
	return TB_OK;
}

/* ---- a field's value --------------------------------------------------- */

int tb_input_value(const struct tb_field *f, const char *s,
		   enum tb_numconv conv, char *out, size_t outlen, char *why,
		   size_t whylen)
{
	int64_t n;
	int b;
	char *nfc;

	switch (f->type) {
	case TB_FT_COUNT:
		if (tb_input_count(s, conv, TB_COUNT_MAX, &n, why, whylen))
			return TB_EINVAL;
		snprintf(out, outlen, "%lld", (long long)n);
		return TB_OK;
	case TB_FT_BOOL:
		b = bool_value(s);
		if (b < 0)
			return tb_msg(TB_EINVAL, why, whylen,
				      _("must be yes or no (có or không; got "
					"'%s')"),
				      s);
		snprintf(out, outlen, "%s", b ? "yes" : "no");
		return TB_OK;
	case TB_FT_CHOICE:
		if (choice_code(f->choices, s, out, outlen) == 0)
			return TB_OK;
		snprintf(out, outlen, "%s", s); /* tb_event_set says why */
		return TB_OK;
	default:
		nfc = tb_input_nfc(s);
		if (!nfc)
			return TB_ENOMEM;
		/* outlen holds more than any text may: a longer one still
		 * breaks the length rule after the cut */
		snprintf(out, outlen, "%s", nfc);
		tb_free(nfc);
		return TB_OK;
	}
}

int tb_input_set(struct tb_event *e, const char *name, const char *s,
		 enum tb_numconv conv, char *msg, size_t msglen)
{
	size_t n;
	int idx = tb_field_index(e->kind, name);
	const struct tb_field *f = tb_kind_fields(e->kind, &n);
	char why[TB_WHY_LEN];
	char *canon;
	int rc;

	if (idx < 0 || !s || !*s)
		return tb_event_set(e, name, s, msg, msglen);
	f += idx;
	canon = tb_malloc(TB_TEXT_MAX * 4 + 8);
	if (!canon)
		return TB_ENOMEM;
	rc = tb_input_value(f, s, conv, canon, TB_TEXT_MAX * 4 + 8, why,
			    sizeof(why));
	if (rc == TB_EINVAL)
		tb_msg(rc, msg, msglen, "%s: %s", tb_field_label(f), why);
	else if (rc == TB_OK)
		rc = tb_event_set(e, f->name, canon, msg, msglen);
	tb_free(canon);
	return rc;
}
