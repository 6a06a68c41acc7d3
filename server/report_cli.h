/* report_cli.h - the `tienbo-server report` command:
 *
 *   tienbo-server report --plan ID [--unit CODE] --period P
 *                        [--format json|csv|html] [--detail]
 *                        [--plans-dir DIR] [--output FILE]
 *                        [--db FILE | --config FILE]
 *
 * Loads the plans (all of DIR, the server setting plans_dir, so a
 * malformed file is refused here as at server start), opens the database, brings its report roll-ups up to
 * date (tb_report_init) and writes the report. JSON is the default;
 * `--format csv` is the half-year report for Excel (`--period 2025-H1` in
 * June, `2025-H2` in December); html is the dashboard page, saved to a
 * file. --detail adds per-district numbers, the Action Month and stale
 * units to JSON (html always has them).
 *
 * Called by server/main.c through its command table: tb_report_cli_run
 * with the settings tb_settings_parse made of the words after "report"
 * (tb_report_cli_opts are the command's own options, --db and --config
 * the server's); main.c turns the result into the exit status.
 */
#ifndef TB_SERVER_REPORT_CLI_H
#define TB_SERVER_REPORT_CLI_H

#include <stddef.h>

#include "server/settings.h"

struct tb_config;

#define TB_REPORT_CLI_NOPTS 6
extern const struct tb_opt tb_report_cli_opts[TB_REPORT_CLI_NOPTS];
#define TB_REPORT_CLI_HELP "a plan's indicators against their targets " \
	"(JSON, CSV for Excel, HTML)"
#define TB_REPORT_PLANS_DIR "plans" /* the plans_dir setting's default */

/* Runs the command with settings parsed by tb_settings_parse. 0;
 * TB_EUSAGE, TB_ECONFIG (a bad plan file), TB_EINVAL (bad period),
 * TB_ENOTFOUND (unknown plan or unit), TB_EIO, TB_EAGAIN with msg. */
int tb_report_cli_run(const struct tb_config *cfg, char *msg, size_t msglen);

struct tb_dbpool;
struct tb_plan_set;
/* For `serve`, before it starts listening: loads the plans of plans_dir
 * into *plans (tb_plan_set_destroy) and brings the report roll-ups of the
 * pool's database up to date. A malformed plan file is TB_ECONFIG with
 * msg naming it: the server does not start. When plans_dir is the default
 * and does not exist, 0 with *plans NULL and msg saying reports are off
 * (the caller logs it); /v1/report and the dashboard then answer 503. */
int tb_report_cli_serve(const struct tb_config *cfg, struct tb_dbpool *pool,
			struct tb_plan_set **plans, char *msg, size_t msglen);

#endif
