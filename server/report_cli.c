/* report_cli.c - the `report` command (see report_cli.h). */
#include "server/report_cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "server/db.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_html.h"
#include "server/report_out.h"
#include "server/dbpool.h"
#include "server/sql.h"

const struct tb_opt tb_report_cli_opts[TB_REPORT_CLI_NOPTS] = {
	{"plan", 0, "ID", "the plan: hoa-binh-2022-2030, thanh-oai-2021-2030"},
	{"unit", 0, "CODE", "a school, district or province [all units]"},
	{"period", 0, "P", "2025, 2025-H1, 2025-H2, 2025-Q3, 2025-11, "
			   "action-month-2025 or cumulative:2025-12-31"},
	{"format", 0, "json|csv|html|xlsx|pdf", "output format [json]"},
	{"detail", 1, "", "JSON: add districts, Action Month, stale units"},
	{"output", 0, "FILE", "write to FILE instead of standard output"},
};

static int open_db(const struct tb_config *cfg, struct tb_sql **db, char *msg,
		   size_t msglen)
{
	int rc = tb_settings_open_db(cfg, db, msg, msglen);

	if (rc == TB_OK)
		rc = tb_report_init(*db, msg, msglen);
	return rc;
}

static int write_report(const struct tb_report *r, enum tb_report_format fmt,
			const char *path, char *msg, size_t msglen)
{
	FILE *f = stdout;
	int rc;

	if (path && !(f = fopen(path, "wb"))) {
		snprintf(msg, msglen, "cannot write %s", path);
		return TB_EIO;
	}
	rc = tb_report_write(r, fmt, NULL, f);
	if (fflush(f) != 0 && rc == TB_OK)
		rc = TB_EIO;
	if (f != stdout && fclose(f) != 0 && rc == TB_OK)
		rc = TB_EIO;
	if (rc < 0)
		snprintf(msg, msglen, "cannot write the report%s%s: %s",
			 path ? " to " : "", path ? path : "", tb_strerror(rc));
	return rc;
}

/* 1 with msg naming every place looked in when plans_dir was not set and
 * its default (server/settings.c: ./plans, the installed plans) is
 * nowhere. */
static int plans_default_missing(const struct tb_config *cfg,
				 const char *dir, char *msg, size_t msglen)
{
	char where[1024];

	if (tb_config_get(cfg, "plans_dir") || !dir ||
	    strcmp(dir, TB_REPORT_PLANS_DIR) != 0 || access(dir, F_OK) == 0)
		return 0;
	snprintf(msg, msglen, "no plans directory: none of %s exists (set "
		 "plans_dir)", tb_settings_plans_searched(where, sizeof(where)));
	return 1;
}

int tb_report_cli_run(const struct tb_config *cfg, char *msg, size_t msglen)
{
	const char *plan_id = tb_settings_get(cfg, "plan");
	const char *period = tb_settings_get(cfg, "period");
	const char *dir = tb_settings_get(cfg, "plans_dir");
	struct tb_report_opts o;
	struct tb_plan_set *plans = NULL;
	const struct tb_plan *plan;
	struct tb_report *r = NULL;
	struct tb_sql *db = NULL;
	enum tb_report_format fmt;
	long ontime = TB_REPORT_ONTIME_DAYS;
	int rc;

	if (!plan_id || !period ||
	    tb_report_format_parse(tb_settings_get(cfg, "format"), &fmt) < 0) {
		snprintf(msg, msglen, "report needs --plan ID and --period P; "
			 "--format is json, csv, html, xlsx or pdf");
		return TB_EUSAGE;
	}
	if ((fmt == TB_RF_XLSX || fmt == TB_RF_PDF) &&
	    !tb_settings_get(cfg, "output") && isatty(STDOUT_FILENO)) {
		snprintf(msg, msglen, "--format %s writes a file, not text for "
			 "a terminal: give --output FILE (e.g. --output "
			 "bao-cao.%s) or redirect standard output to a file",
			 tb_report_format_name(fmt), tb_report_format_name(fmt));
		return TB_EUSAGE;
	}
	rc = tb_plan_set_load(dir ? dir : TB_REPORT_PLANS_DIR, &plans, msg,
			      msglen);
	if (rc < 0 && plans_default_missing(cfg, dir, msg, msglen))
		return TB_ECONFIG;
	if (rc < 0)
		return rc == TB_EIO ? TB_ECONFIG : rc;
	plan = tb_plan_set_find(plans, plan_id);
	if (!plan) {
		snprintf(msg, msglen, "no plan %s in %s", plan_id,
			 dir ? dir : TB_REPORT_PLANS_DIR);
		rc = TB_ENOTFOUND;
		goto out;
	}
	rc = open_db(cfg, &db, msg, msglen);
	if (rc < 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.unit = tb_settings_get(cfg, "unit");
	o.detail = fmt != TB_RF_JSON && fmt != TB_RF_CSV ? 1
		   : tb_settings_get(cfg, "detail") != NULL;
	rc = tb_settings_long(cfg, "ontime_days", &ontime, msg, msglen);
	o.ontime_days = (int)ontime; /* the setting (server/settings.c) */
	if (rc == TB_OK)
		rc = tb_report_run(db, plan, period, &o, &r, msg, msglen);
	if (rc == TB_OK)
		rc = write_report(r, fmt, tb_settings_get(cfg, "output"), msg,
				  msglen);
out:
	tb_report_destroy(r);
	tb_sql_close(db);
	tb_plan_set_destroy(plans);
	return rc;
}

int tb_report_cli_serve(const struct tb_config *cfg, struct tb_dbpool *pool,
			struct tb_plan_set **plans, char *msg, size_t msglen)
{
	const char *dir = tb_settings_get(cfg, "plans_dir");
	struct tb_sql *db;
	int rc;

	*plans = NULL;
	if (!dir)
		dir = TB_REPORT_PLANS_DIR;
	if (plans_default_missing(cfg, dir, msg, msglen)) {
		snprintf(msg + strlen(msg), msglen - strlen(msg),
			 ": reports and the dashboard are off");
		return TB_OK;
	}
	rc = tb_plan_set_load(dir, plans, msg, msglen);
	if (rc < 0)
		return rc == TB_EIO ? TB_ECONFIG : rc;
	db = tb_dbpool_conn(pool);
	rc = db ? tb_report_init(db, msg, msglen) : TB_EIO;
	if (rc < 0) {
		if (!db)
			snprintf(msg, msglen, "report roll-ups: no database "
				 "connection");
		tb_plan_set_destroy(*plans);
		*plans = NULL;
		return rc;
	}
	msg[0] = '\0';
	return TB_OK;
}
