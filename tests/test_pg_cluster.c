/* test_pg_cluster.c - the PostgreSQL test cluster is what the backend's
 * tests assume: Debian 12's PostgreSQL 15, on loopback only, and
 * helper_pg gives each test its own empty database and drops it.
 *
 * Registered only as test_pg_cluster_pg (cmake/tests.cmake: it has
 * nothing to check without the cluster). Run by hand without the fixture
 * it fails, saying the cluster is not started: a PostgreSQL test never
 * skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tests/helper_pg.h"

/* The integer sql gives on url's database. */
static int64_t q(const char *url, const char *sql)
{
	int64_t v = -1;

	assert_int_equal(helper_pg_query_int64(url, sql, &v), 0);
	return v;
}

/* How many databases are named as url's (0 or 1), asked on base. */
static int64_t db_count(const char *base, const char *url)
{
	char sql[512];
	const char *name = strrchr(url, '/');

	assert_non_null(name);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pg_database WHERE datname = '%s'",
		 name + 1);
	return q(base, sql);
}

static void test_cluster(void **state)
{
	char a[1024], b[1024];

	(void)state;
	if (!helper_pg_wanted())
		fail_msg("TB_TEST_DB is not pg: run as test_pg_cluster_pg "
			 "(ctest, fixture pg)");
	assert_int_equal(helper_pg_newdb(a, sizeof(a)), 0);
	assert_int_equal(helper_pg_newdb(b, sizeof(b)), 0);
	assert_string_not_equal(a, b);

	/* Debian 12's PostgreSQL 15, what the backend is written for. */
	assert_in_range(q(a, "SELECT current_setting('server_version_num')"
			     "::int"), 150000, 159999);
	/* Loopback only, whatever the trust authentication allows. */
	assert_int_equal(q(a, "SELECT (current_setting('listen_addresses') "
			      "= '127.0.0.1')::int"), 1);
	assert_int_equal(q(a, "SELECT (inet_server_addr() << "
			      "'127.0.0.0/8'::inet)::int"), 1);

	/* Fresh and empty, and each its own database. */
	assert_int_equal(q(a, "SELECT count(*) FROM information_schema.tables"
			      " WHERE table_schema = 'public'"), 0);
	assert_int_equal(q(a, "SELECT count(*) FROM pg_class c JOIN "
			      "pg_namespace n ON n.oid = c.relnamespace "
			      "WHERE n.nspname = 'public'"), 0);
	assert_int_equal(q(a, "CREATE TABLE t (x int); SELECT 1"), 1);
	assert_int_equal(q(a, "SELECT count(*) FROM information_schema.tables"
			      " WHERE table_schema = 'public'"), 1);
	assert_int_equal(q(b, "SELECT count(*) FROM information_schema.tables"
			      " WHERE table_schema = 'public'"), 0);

	/* dropdb: gone from the cluster, the other one still there. */
	assert_int_equal(db_count(b, a), 1);
	assert_int_equal(helper_pg_dropdb(a), 0);
	assert_int_equal(db_count(b, a), 0);
	assert_int_equal(db_count(b, b), 1);
	assert_int_equal(helper_pg_dropdb(b), 0);
}

/* Failures name what failed, and nothing drops the cluster's own. */
static void test_failures(void **state)
{
	char a[1024], small[8];
	int64_t v = 0;

	(void)state;
	assert_int_equal(helper_pg_newdb(small, sizeof(small)), -1);
	assert_int_equal(helper_pg_newdb(a, sizeof(a)), 0);
	assert_int_equal(helper_pg_query_int64(a, "SELECT 'x'", &v), -1);
	assert_int_equal(helper_pg_query_int64(a, "SELECT NULL::int", &v), -1);
	assert_int_equal(helper_pg_query_int64(a, "SELECT 1 UNION SELECT 2",
					       &v), -1);
	assert_int_equal(helper_pg_query_int64(a, "SELECT nope", &v), -1);
	assert_int_equal(helper_pg_dropdb(a), 0);
	assert_int_equal(helper_pg_query_int64(a, "SELECT 1", &v), -1);

	/* the base URI's database is the cluster's postgres */
	{
		char base[1024];
		const char *slash = strrchr(a, '/');

		snprintf(base, sizeof(base), "%.*spostgres",
			 (int)(slash - a + 1), a);
		assert_int_equal(helper_pg_dropdb(base), -1);
		assert_int_equal(q(base, "SELECT 7"), 7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
