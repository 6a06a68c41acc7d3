/* migrate_check.c - after migrate-store's copy, the checks that read
 * both stores the way the office will: every cursor, and the reports
 * (see migrate.h, step 3). Called by server/migrate.c.
 */
#include "server/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_out.h"
#include "server/sql.h"

int tb_migrate_cursors_equal(struct tb_sql *src, struct tb_sql *dst,
			 int64_t *n, char *msg, size_t msglen)
{
	static const char *const q[2] = {
		"SELECT device, school, committed_through, updated_at FROM"
		" cursors ORDER BY device",
		"SELECT device, school, committed_through, updated_at FROM"
		" cursors ORDER BY device COLLATE \"C\""};
	struct tb_stmt *a = NULL, *b = NULL;
	int ra, rb, rc;

	*n = 0;
	rc = tb_sql_prepare(src, q[tb_sql_backend(src) == TB_SQL_PG], 0, &a);
	if (rc == TB_OK)
		rc = tb_sql_prepare(dst, q[tb_sql_backend(dst) == TB_SQL_PG], 0,
				    &b);
	while (rc == TB_OK) {
		ra = tb_sql_step(a);
		rb = tb_sql_step(b);
		if (ra < 0 || rb < 0) {
			rc = ra < 0 ? ra : rb;
			snprintf(msg, msglen, "cannot read the cursors: %s",
				 tb_sql_errmsg(ra < 0 ? src : dst));
			break;
		}
		if (ra == TB_SQL_DONE && rb == TB_SQL_DONE)
			break;
		if (ra != rb || strcmp(tb_sql_column_text(a, 0),
				       tb_sql_column_text(b, 0)) != 0 ||
		    strcmp(tb_sql_column_text(a, 1),
			   tb_sql_column_text(b, 1)) != 0 ||
		    tb_sql_column_int64(a, 2) != tb_sql_column_int64(b, 2) ||
		    tb_sql_column_int64(a, 3) != tb_sql_column_int64(b, 3)) {
			const char *dev = tb_sql_column_text(ra == TB_SQL_ROW ? a : b, 0);

			snprintf(msg, msglen, "the cursor of device %s differs: "
				 "source %lld, target %lld (after %lld equal "
				 "cursors)", dev ? dev : "?",
				 ra == TB_SQL_ROW ? (long long)tb_sql_column_int64(a, 2) : -1LL,
				 rb == TB_SQL_ROW ? (long long)tb_sql_column_int64(b, 2) : -1LL,
				 (long long)*n);
			rc = TB_EIO;
			break;
		}
		++*n;
	}
	tb_sql_finalize(a);
	tb_sql_finalize(b);
	return rc;
}

/* The report as JSON text (free it), or NULL with msg. */
static char *report_json(struct tb_sql *db, const struct tb_plan *plan,
			 const char *period, const struct tb_report_opts *ro,
			 char *msg, size_t msglen)
{
	struct tb_report *r = NULL;
	char *text = NULL, why[300] = "";
	size_t len = 0;
	FILE *f;
	int rc = tb_report_run(db, plan, period, ro, &r, why, sizeof(why));

	if (rc < 0) {
		snprintf(msg, msglen, "%s: report %s %s: %s", tb_sql_name(db),
			 plan->id, period, why[0] ? why : tb_strerror(rc));
		return NULL;
	}
	f = open_memstream(&text, &len);
	if (f) {
		rc = tb_report_out_json(r, f);
		if (fclose(f) != 0 && rc == TB_OK)
			rc = TB_ENOMEM;
	}
	tb_report_destroy(r);
	if (!f || rc < 0) {
		free(text);
		snprintf(msg, msglen, "report %s %s: out of memory", plan->id,
			 period);
		return NULL;
	}
	return text;
}

int tb_migrate_reports_equal(struct tb_sql *src, struct tb_sql *dst,
			 const struct tb_migrate_opts *o, size_t *n,
			 char *msg, size_t msglen)
{
	struct tb_report_opts ro;
	char why[400] = "";
	int rc = tb_report_init(dst, why, sizeof(why));

	if (rc < 0)
		snprintf(msg, msglen, "%s: cannot build the target's report "
			 "roll-ups to compare the reports: %s", tb_sql_name(dst),
			 why[0] ? why : tb_strerror(rc));

	*n = 0;
	memset(&ro, 0, sizeof(ro));
	ro.now = tb_time_now(); /* the same generated_at and staleness */
	ro.detail = 1;
	ro.ontime_days = o->ontime_days;
	for (size_t p = 0; rc == TB_OK && p < o->plans->count; p++) {
		const struct tb_plan *plan = o->plans->plans[p];

		for (size_t k = 0; rc == TB_OK && k < o->nperiods; k++) {
			char *a = report_json(src, plan, o->periods[k], &ro, msg,
					      msglen);
			char *b = a ? report_json(dst, plan, o->periods[k], &ro,
						  msg, msglen)
				    : NULL;
			size_t at = 0;

			if (!a || !b) {
				rc = TB_EIO;
			} else if (strcmp(a, b) != 0) {
				while (a[at] && a[at] == b[at])
					at++;
				at = at > 40 ? at - 40 : 0;
				snprintf(msg, msglen, "the report %s %s differs "
					 "from character %zu: source "
					 "\"%.100s\", target \"%.100s\"",
					 plan->id, o->periods[k], at, a + at,
					 b + at);
				rc = TB_EIO;
			} else {
				++*n;
			}
			free(a);
			free(b);
		}
	}
	return rc;
}
