/* migrate_cli.c - the `migrate-store` command: its options, the plans and
 * periods it checks (the current half-year and cumulatively to today),
 * and what it prints (see migrate.h). Called by server/main.c.
 */
#include "server/migrate.h"

#include <stdio.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "server/db.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_cli.h"
#include "server/settings.h"

const struct tb_opt tb_migrate_cli_opts[2] = {
	{"from", 0, "DB", "the store to copy: a file or postgresql://..."},
	{"to", 0, "DB", "the empty store to copy into: a new file or an "
			"empty PostgreSQL database"},
};

int tb_migrate_cmd(const struct tb_config *cfg, char *msg, size_t msglen)
{
	const char *dir = tb_settings_get(cfg, "plans_dir");
	struct tb_migrate_opts o;
	struct tb_migrate_result r;
	struct tb_plan_set *plans = NULL;
	struct tb_db_opts dbo;
	char half[16], cumul[32], date[TB_DATE_LEN];
	int32_t today = tb_date_today();
	int y, m, d, rc;
	long ontime = TB_REPORT_ONTIME_DAYS;
	int64_t total = 0;

	memset(&o, 0, sizeof(o));
	o.from = tb_settings_get(cfg, "from");
	o.to = tb_settings_get(cfg, "to");
	if (!o.from || !o.to) {
		snprintf(msg, msglen, "migrate-store needs --from DB and --to "
			 "DB (each a file or postgresql://...)");
		return TB_EUSAGE;
	}
	rc = tb_settings_db_opts(cfg, 0, &dbo, msg, msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "ontime_days", &ontime, msg, msglen);
	if (rc < 0)
		return rc;
	/* the plans first: a missing one stops the run before any change */
	rc = tb_plan_set_load(dir ? dir : TB_REPORT_PLANS_DIR, &plans, msg,
			      msglen);
	if (rc < 0)
		return rc == TB_EIO ? TB_ECONFIG : rc;
	tb_date_to_ymd(today, &y, &m, &d);
	snprintf(half, sizeof(half), "%04d-H%d", y, m <= 6 ? 1 : 2);
	snprintf(cumul, sizeof(cumul), "cumulative:%s",
		 tb_date_format(today, date));
	o.db = &dbo;
	o.plans = plans;
	o.periods[0] = half;
	o.periods[1] = cumul;
	o.nperiods = 2;
	o.ontime_days = (int)ontime;
	rc = tb_migrate_run(&o, &r, msg, msglen);
	tb_plan_set_destroy(plans);
	if (r.committed) {
		printf("copied %s to %s in %.1f s:\n", r.from, r.to,
		       (double)r.copy_ms / 1000.0);
		for (size_t i = 0; i < r.ntables; i++) {
			printf("  %-14s %10lld rows\n", r.t[i].name,
			       (long long)r.t[i].rows);
			total += r.t[i].rows;
		}
	}
	if (rc < 0)
		return rc;
	printf("verified in %.1f s: %zu tables (%lld rows) read back with "
	       "equal counts and contents, %lld cursors equal, %zu reports "
	       "equal (%zu plans x %s, %s; every unit, with detail)\n",
	       (double)r.verify_ms / 1000.0, r.ntables, (long long)total,
	       (long long)r.cursors, r.reports, plans ? r.reports / 2 : 0,
	       half, cumul);
	if (r.seqs)
		printf("%d identity sequences set past the largest id copied\n",
		       r.seqs);
	printf("report roll-ups were not copied: the target built its own "
	       "from the events\n");
	return fflush(stdout) == 0 ? TB_OK : TB_EIO;
}
