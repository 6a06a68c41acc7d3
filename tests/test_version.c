/* test_version.c - one version: `tienbo-agent --version` and
 * `tienbo-server --version` print project(VERSION) from CMakeLists.txt,
 * which reaches this test as TB_VERSION (the same definition the two
 * binaries are built with; a literal left in either one fails here once
 * the project's version moves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tests/helper_proc.h"

/* The first line of out is "PROG VERSION" or "PROG VERSION (...)". */
static void check_line(const char *out, const char *prog)
{
	char want[128];
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "%s %s", prog, TB_VERSION);
	if (strncmp(out, want, n) != 0 || (out[n] != '\n' && out[n] != ' '))
		fprintf(stderr, "wanted \"%s\" first, got: %s\n", want, out);
	assert_memory_equal(out, want, n);
	assert_true(out[n] == '\n' || out[n] == ' ');
}

static void test_agent_version(void **state)
{
	struct helper_proc_sandbox sb;
	struct helper_proc_opts o = { 0 };
	struct helper_proc_result r;

	(void)state;
	assert_int_equal(helper_proc_sandbox_make(&sb), 0);
	o.env = sb.env;
	assert_int_equal(helper_proc_runl(&r, &o, TB_AGENT_BIN, "--version",
					  NULL), 0);
	assert_true(helper_proc_exited_with(&r, 0));
	check_line(r.out, "tienbo-agent");
	helper_proc_free(&r);
	helper_proc_sandbox_remove(&sb);
}

static void test_server_version(void **state)
{
	struct helper_proc_result r;

	(void)state;
	assert_int_equal(helper_proc_runl(&r, NULL, TB_SERVER_BIN, "--version",
					  NULL), 0);
	assert_true(helper_proc_exited_with(&r, 0));
	check_line(r.out, "tienbo-server");
	assert_string_equal(r.err, "");
	helper_proc_free(&r);
}

/* The version is a real one, "MAJOR.MINOR.PATCH", not left empty. */
static void test_version_shape(void **state)
{
	unsigned a, b, c;
	char end;

	(void)state;
	assert_int_equal(sscanf(TB_VERSION, "%u.%u.%u%c", &a, &b, &c, &end), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_version),
		cmocka_unit_test(test_server_version),
		cmocka_unit_test(test_version_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
