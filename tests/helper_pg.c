/* helper_pg.c - a fresh PostgreSQL database per test run (see
 * helper_pg.h). */
#include "tests/helper_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Runs one statement on the base URL's database. 0 or -1 (why on
 * stderr unless `silent`). */
static int admin_exec(const struct helper_pg *p, const char *sql, int silent)
{
	PGconn *c = PQconnectdb(p->base);
	PGresult *r;
	int ok;

	PQsetNoticeProcessor(c, quiet, NULL); /* "does not exist, skipping" */
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "%s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok && !silent)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* base with its database name replaced by name, into url. */
static void url_with_db(struct helper_pg *p)
{
	const char *s = strstr(p->base, "://");
	const char *slash = s ? strchr(s + 3, '/') : NULL;
	const char *q = strchr(p->base, '?');
	size_t host = slash ? (size_t)(slash - p->base)
		      : q   ? (size_t)(q - p->base)
			    : strlen(p->base);

	snprintf(p->url, sizeof(p->url), "%.*s/%s%s", (int)host, p->base,
		 p->name, q ? q : "");
}

int helper_pg_create(struct helper_pg *p, const char *prefix)
{
	const char *base = getenv("TB_TEST_PG_URL");
	char sql[256];

	memset(p, 0, sizeof(*p));
	if (!base || !base[0])
		return 1;
	snprintf(p->base, sizeof(p->base), "%s", base);
	snprintf(p->name, sizeof(p->name), "%s_%ld", prefix, (long)getpid());
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		 p->name);
	admin_exec(p, sql, 0);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0"
		 " LOCALE_PROVIDER icu ICU_LOCALE 'vi-VN'", p->name);
	if (admin_exec(p, sql, 1)) {
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", p->name);
		if (admin_exec(p, sql, 0)) {
			p->name[0] = '\0';
			return -1;
		}
	}
	url_with_db(p);
	return 0;
}

void helper_pg_drop(struct helper_pg *p)
{
	char sql[128];

	if (!p->name[0] || getenv("TB_KEEP"))
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		 p->name);
	admin_exec(p, sql, 0);
	p->name[0] = '\0';
}
