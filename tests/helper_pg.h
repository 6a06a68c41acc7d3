/* helper_pg.h - a fresh PostgreSQL database per test run, for the tests
 * that run the server's store on PostgreSQL too (test_pg_report,
 * test_rollup).
 *
 * TB_TEST_PG_URL is a URL of the cluster whose user may create databases
 * (postgresql://user@host:port/postgres); a run makes its own database
 * <prefix>_<pid> there, with ICU's Vietnamese collation where the cluster
 * has it (so an order left to the database's collation, not SQLite's
 * byte order, shows), else the cluster's default.
 */
#ifndef TB_TESTS_HELPER_PG_H
#define TB_TESTS_HELPER_PG_H

#include <stddef.h>

struct helper_pg {
	char base[512]; /* TB_TEST_PG_URL */
	char name[64];  /* the database made */
	char url[600];  /* base with name as its database */
};

/* Makes the database (dropping one of the same name first). 0; 1 when
 * TB_TEST_PG_URL is not set; -1 when it could not be made (the reason on
 * stderr). */
int helper_pg_create(struct helper_pg *p, const char *prefix);
/* Drops it (unless TB_KEEP is set). Accepts one never made. */
void helper_pg_drop(struct helper_pg *p);

#endif
