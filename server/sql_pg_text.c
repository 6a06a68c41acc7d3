/* sql_pg_text.c - the text the PostgreSQL backend (server/sql_pg.c)
 * rewrites: SQL's ?N into $N, a bytea column's hex, a URL without its
 * password. Pure functions, declared in server/sql_int.h.
 */
#include <stdio.h>
#include <string.h>

#include "common/mem.h"
#include "server/sql_int.h"

/* sql with ?N -> $N and ? -> $(highest so far + 1), outside '...' and
 * "..."; the number of parameters into *n, and into used[N - 1] (up to
 * maxparams) a 1 for each $N that appears. NULL when out of memory. */
char *tb_pg_sql(const char *sql, int *n, unsigned char *used, int maxparams)
{
	size_t len = strlen(sql);
	size_t cap = len * 6 + 8; /* a '?' becomes at most "$99999" */
	char *out = tb_malloc(cap), *o = out;
	char quote = 0;
	int max = 0;

	if (!out)
		return NULL;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			*o++ = *p;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
		} else if (*p == '?') {
			long v = 0;

			if (p[1] >= '0' && p[1] <= '9') {
				while (p[1] >= '0' && p[1] <= '9' && v < 10000)
					v = v * 10 + (*++p - '0');
			} else {
				v = max + 1;
			}
			if (v > max)
				max = (int)v;
			if (v >= 1 && v <= maxparams)
				used[v - 1] = 1;
			o += snprintf(o, cap - (size_t)(o - out), "$%ld", v);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	*n = max;
	return out;
}

static int hexval(char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	if (h >= 'a' && h <= 'f')
		return h - 'a' + 10;
	if (h >= 'A' && h <= 'F')
		return h - 'A' + 10;
	return -1;
}

size_t tb_pg_unhex(const char *hex, size_t len, unsigned char *out)
{
	size_t k;

	for (k = 0; 2 * k + 1 < len; k++) {
		int hi = hexval(hex[2 * k]), lo = hexval(hex[2 * k + 1]);

		if (hi < 0 || lo < 0)
			break;
		out[k] = (unsigned char)(hi << 4 | lo);
	}
	return k;
}

/* The URL as a message may show it: the part before '@' dropped when it
 * holds a password. */
void tb_pg_url_safe(const char *url, char *out, size_t len)
{
	const char *at = strchr(url, '@'), *scheme = strstr(url, "://");

	if (at && scheme && memchr(scheme + 3, ':', (size_t)(at - scheme - 3)))
		snprintf(out, len, "%.*s***%s", (int)(scheme + 3 - url), url,
			 at);
	else
		snprintf(out, len, "%s", url);
}
