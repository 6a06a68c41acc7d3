/* report_search.c - units by name or code, diacritics ignored (see
 * report_search.h). One pass over the units table (a province has a few
 * thousand rows), folding each name in C: SQLite's LIKE knows no
 * Vietnamese.
 */
#include "server/report_search.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/fold.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/sql.h"

#define SEARCH_SQL(coll)                                                  \
	"SELECT u.code, u.type, u.name, coalesce(u.district, ''), d.name"  \
	" FROM units u LEFT JOIN units d ON d.code = u.district"           \
	" ORDER BY CASE u.type WHEN 'province' THEN 0 WHEN 'district' THEN"\
	" 1 ELSE 2 END, u.name" coll ", u.code" coll
/* names in byte order on PostgreSQL too, as SQLite sorts them */
static const char sql[] = SEARCH_SQL("");
static const char sql_pg[] = SEARCH_SQL(" COLLATE \"C\"");

static int hit_add(struct tb_unit_hits *h, struct tb_stmt *st, int first)
{
	struct tb_unit_hit *x;
	const char *dn = tb_sql_column_text(st, 4);

	if (h->n == TB_SEARCH_MAX) {
		h->more++;
		return TB_OK;
	}
	if (first && h->n) { /* an exact code goes first */
		memmove(&h->hit[1], &h->hit[0], h->n * sizeof(h->hit[0]));
	}
	x = &h->hit[first ? 0 : h->n];
	memset(x, 0, sizeof(*x));
	h->n++;
	snprintf(x->code, sizeof(x->code), "%s",
		 tb_sql_column_text(st, 0));
	snprintf(x->type, sizeof(x->type), "%s",
		 tb_sql_column_text(st, 1));
	snprintf(x->district, sizeof(x->district), "%s",
		 tb_sql_column_text(st, 3));
	x->name = tb_strdup(tb_sql_column_text(st, 2));
	x->district_name = dn ? tb_strdup(dn) : NULL;
	return x->name && (!dn || x->district_name) ? TB_OK : TB_ENOMEM;
}

/* 1 if the row matches the folded query q; *exact for its very code. */
static int matches(struct tb_stmt *st, const char *raw, const char *q,
		   int *exact)
{
	const char *code = tb_sql_column_text(st, 0);
	const char *name = tb_sql_column_text(st, 2);

	*exact = code && strcasecmp(code, raw) == 0;
	if (*exact)
		return 1;
	return (code && tb_fold_contains(code, q)) ||
	       (name && tb_fold_contains(name, q));
}

int tb_unit_search(struct tb_sql *db, const char *query, struct tb_unit_hits **out)
{
	const char *raw = query ? query : "";
	struct tb_unit_hits *h = tb_calloc(1, sizeof(*h));
	char *q = tb_fold_search(raw);
	struct tb_stmt *st = NULL;
	int src = TB_OK, rc = TB_OK, exact;

	*out = NULL;
	if (!h || !q) {
		rc = TB_ENOMEM;
		goto out;
	}
	if (!q[0])
		goto out;
	src = tb_sql_prepare(db, tb_sql_backend(db) == TB_SQL_PG ? sql_pg : sql,
			     0, &st);
	while (rc == TB_OK && src == TB_OK &&
	       (src = tb_sql_step(st)) == TB_SQL_ROW) {
		src = TB_OK;
		if (matches(st, raw, q, &exact))
			rc = hit_add(h, st, exact);
	}
	if (rc == TB_OK && src != TB_SQL_DONE && src != TB_OK)
		rc = tb_sql_err(src);
out:
	tb_sql_finalize(st);
	tb_free(q);
	if (rc < 0) {
		tb_unit_hits_destroy(h);
		h = NULL;
	}
	*out = h;
	return rc;
}

void tb_unit_hits_destroy(struct tb_unit_hits *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		tb_free(h->hit[i].name);
		tb_free(h->hit[i].district_name);
	}
	tb_free(h);
}
