/* migrate.h - `tienbo-server migrate-store`: every row of one store copied
 * into another, SQLite or PostgreSQL either way (an office moving from its
 * file to the national PostgreSQL, or back), then checked.
 *
 * Called by server/main.c. The steps (migrate.c says why each):
 *  1. the target is opened with the schema made if it has none
 *     (tb_db_open create) and, in its write transaction, must hold no row
 *     of any tienbo table: else the copy is refused, naming the target and
 *     what it holds, and nothing is changed (TB_ECONFLICT);
 *  2. the source is read in one snapshot (tb_sql_begin(src, 0)), each
 *     table streamed, and written in multi-row INSERTs in that one target
 *     transaction; on PostgreSQL the identity sequences are then set past
 *     the largest id copied; commit;
 *  3. checked after the commit: per table the row count and a digest of
 *     every value (order-independent), every cursor, and each report of
 *     every plan given (all units, with detail) as JSON, source (same
 *     snapshot) against target.
 * The tables are the store's (tb_db_tables, server/db.c), each with the
 * columns the source's catalogue gives, so a column or table added by a
 * later schema is copied without a change here. The copy is migrate.c,
 * the cursor and report checks migrate_check.c, the command
 * migrate_cli.c. The report roll-ups are not copied: they are derived
 * from events, and the target builds its own (tb_report_init) before its
 * reports are compared with the source's.
 */
#ifndef TB_SERVER_MIGRATE_H
#define TB_SERVER_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "server/settings.h"

struct tb_config;
struct tb_db_opts;
struct tb_plan_set;
struct tb_sql;

#define TB_MIGRATE_MAXTABLES 16
#define TB_MIGRATE_MAXPERIODS 4

struct tb_migrate_opts {
	const char *from, *to;          /* a path or a postgresql:// URL */
	const struct tb_db_opts *db;    /* busy timeout, synchronous */
	const struct tb_plan_set *plans; /* NULL: no report is compared */
	const char *periods[TB_MIGRATE_MAXPERIODS]; /* for each plan */
	size_t nperiods;
	int ontime_days;                /* <= 0: the report default */
};

struct tb_migrate_table {
	char name[32];
	int64_t rows;   /* copied (= source = target when verified) */
};

struct tb_migrate_result {
	size_t ntables;
	struct tb_migrate_table t[TB_MIGRATE_MAXTABLES];
	int64_t cursors;  /* cursors compared */
	size_t reports;   /* reports compared */
	int seqs;         /* PostgreSQL identity sequences set */
	int committed;    /* the copy is in the target */
	char from[300], to[300]; /* the stores as they may be shown (a URL
				    without its password) */
	long copy_ms, verify_ms;
};

/* Copies o->from into o->to and checks the copy (see above). 0 with *r
 * filled; TB_EUSAGE (from and to the same); TB_ENOTFOUND / TB_ECONFLICT
 * (the source is not a tienbo-server database, the target is not one or
 * not empty: msg names it and what it holds; nothing changed); TB_EAGAIN
 * (a database busy or unreachable); TB_EIO: a failure while copying (the
 * target rolled back, and an SQLite file this call made removed), or a
 * check after the commit that differs (msg says what; the target keeps
 * the copy). */
int tb_migrate_run(const struct tb_migrate_opts *o,
		   struct tb_migrate_result *r, char *msg, size_t msglen);

/* The tables the copy takes, in schema order, into names (up to max);
 * how many, or a negative err.h code when a schema step cannot be read. */
int tb_migrate_tables(char names[][32], size_t max);

/* The command: --from, --to; plans_dir and ontime_days for the reports
 * compared (the current half-year and cumulative to today, for every
 * plan). 0 with what was copied and checked on stdout, or the error with
 * msg (server/main.c prints it and maps it to the exit status). */
extern const struct tb_opt tb_migrate_cli_opts[2];
#define TB_MIGRATE_CLI_HELP \
	"copy every row of one store into an empty one (SQLite or " \
	"PostgreSQL, either way) and check the copy"
int tb_migrate_cmd(const struct tb_config *cfg, char *msg, size_t msglen);

/* For migrate.c (migrate_check.c): every cursor of src equal in dst
 * (their number into *n), and each report of o's plans and periods equal
 * as JSON (their number into *n), after building dst's roll-ups. 0, or
 * TB_EIO with msg saying what differs, or a database error. */
int tb_migrate_cursors_equal(struct tb_sql *src, struct tb_sql *dst,
			     int64_t *n, char *msg, size_t msglen);
int tb_migrate_reports_equal(struct tb_sql *src, struct tb_sql *dst,
			     const struct tb_migrate_opts *o, size_t *n,
			     char *msg, size_t msglen);

#endif
