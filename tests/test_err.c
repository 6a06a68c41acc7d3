/* test_err.c - the one error table (common/err.c): every code's exit
 * status, HTTP status and retry flag as tests/data/common/err.tsv (README's
 * exit-code table) gives them; unknown codes and HTTP retry statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/sqlerr.h"

static void test_table_from_fixture(void **state)
{
	FILE *f = fopen(TB_SOURCE_DIR "/tests/data/common/err.tsv", "r");
	char line[256], name[32], http[8];
	int value, ex, retry, rows = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%31s %d %d %7s %d", name,
					&value, &ex, http, &retry), 5);
		if (tb_err_exit(value) != ex || tb_err_retry(value) != retry)
			fail_msg("%s: exit %d retry %d, want %d %d", name,
				 tb_err_exit(value), tb_err_retry(value), ex,
				 retry);
		if (strcmp(http, "-") != 0 &&
		    tb_err_http(value) != (unsigned)strtoul(http, NULL, 10))
			fail_msg("%s: http %u, want %s", name,
				 tb_err_http(value), http);
		assert_string_not_equal(tb_strerror(value), "unknown error");
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, 12);
}

static void test_unknown_codes(void **state)
{
	(void)state;
	assert_string_equal(tb_strerror(-12), "unknown error");
	assert_string_equal(tb_strerror(5), "unknown error");
	assert_int_equal(tb_err_exit(-99), TB_EXIT_IOERR);
	assert_int_equal(tb_err_http(-99), 500);
	assert_int_equal(tb_err_http(TB_OK), 500);
	assert_int_equal(tb_err_retry(-99), 0);
}

static void test_http_retry(void **state)
{
	static const unsigned yes[] = { 429, 500, 502, 503, 504 };
	static const unsigned no[] = { 200, 400, 401, 403, 404, 409, 413,
				       415, 501, 505 };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(tb_http_status_retry(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(tb_http_status_retry(no[i]));
}

/* The SQLite mapping both sides use (common/sqlerr.c): the code decides
 * the retry, and a full disk says so whichever result code carries it. */
static void test_sqlite_mapping(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(tb_sqlite_err(NULL, SQLITE_BUSY, NULL), TB_EAGAIN);
	assert_int_equal(tb_sqlite_err(NULL, SQLITE_BUSY_SNAPSHOT, NULL),
			 TB_EAGAIN);
	assert_int_equal(tb_sqlite_err(NULL, SQLITE_LOCKED, NULL), TB_EAGAIN);
	assert_int_equal(tb_sqlite_err(NULL, SQLITE_CONSTRAINT_UNIQUE, NULL),
			 TB_ECONFLICT);
	assert_int_equal(tb_sqlite_err(NULL, SQLITE_NOMEM, NULL), TB_ENOMEM);
	assert_int_equal(tb_sqlite_err(NULL, SQLITE_FULL, &why), TB_EIO);
	assert_string_equal(why, "the disk is full");
	assert_int_equal(tb_sqlite_err(NULL, SQLITE_CORRUPT, &why), TB_EIO);
	assert_non_null(strstr(why, "damaged"));
	assert_true(tb_err_retry(tb_sqlite_err(NULL, SQLITE_BUSY, NULL)));
	assert_false(tb_err_retry(tb_sqlite_err(NULL, SQLITE_FULL, NULL)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_from_fixture),
	    cmocka_unit_test(test_unknown_codes),
	    cmocka_unit_test(test_http_retry),
	    cmocka_unit_test(test_sqlite_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
