/* test_opts.c - the agent's option tables (agent/opts.c): values and
 * their checks, short options, run-time options through the callback,
 * --config and --help added to every command, argument counts, and the
 * help printed from the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/cli.h"
#include "agent/opts.h"
#include "common/err.h"

static const struct tb_agent_opt rows[] = {
	{ "batch", 0, TB_OPT_INT, "N", 1, 50, "10", "events per batch" },
	{ "quiet", 'q', TB_OPT_FLAG, NULL, 0, 0, NULL, "no progress line" },
	{ "name", 0, TB_OPT_TEXT, "TEXT", 0, 0, NULL, "a name" },
};

static const struct tb_cmd_spec spec = {
	"demo", "[OPTIONS] FILE", "Does a demo.\n", rows, 3, 1, 1,
	"give one FILE", NULL
};

struct taken {
	int n;
	const char *last;
};

static int take(void *ctx, int val, const char *value)
{
	struct taken *t = ctx;

	if (val != 2000)
		return 0;
	t->n++;
	t->last = value;
	return 1;
}

/* Runs tb_opts_parse over the NULL-terminated words. */
static int run(struct tb_cli *cli, const struct tb_opts_extra *x,
	       struct tb_agent_opt_val *v, const char **args, size_t *n, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, n);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	optind = 0;
	opterr = 0;
	return tb_opts_parse(cli, &spec, x, argc, argv, v, args, n);
}

static void test_values(void **state)
{
	struct tb_cli cli;
	struct tb_agent_opt_val v[3];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t n;

	(void)state;
	memset(&cli, 0, sizeof(cli));
	assert_int_equal(run(&cli, NULL, v, args, &n, "demo", "--batch", "50",
			     "-q", "--config", "/x.conf", "f.csv", (char *)NULL),
			 TB_OK);
	assert_true(v[0].set);
	assert_int_equal(v[0].num, 50);
	assert_true(v[1].set);
	assert_false(v[2].set);
	assert_string_equal(cli.config_opt, "/x.conf");
	assert_int_equal(n, 1);
	assert_string_equal(args[0], "f.csv");
}

static void test_refusals(void **state)
{
	struct tb_cli cli;
	struct tb_agent_opt_val v[3];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t n;
	static const char *bad[] = { "0", "51", "-1", "+5", " 5", "5x", "",
				     "99999999999999999999" };

	(void)state;
	memset(&cli, 0, sizeof(cli));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(run(&cli, NULL, v, args, &n, "demo", "--batch",
				     bad[i], "f", (char *)NULL),
				 TB_EUSAGE);
	assert_int_equal(run(&cli, NULL, v, args, &n, "demo", "--nope", "f",
			     NULL), TB_EUSAGE);
	assert_int_equal(run(&cli, NULL, v, args, &n, "demo", "--name", (char *)NULL),
			 TB_EUSAGE);
	assert_int_equal(run(&cli, NULL, v, args, &n, "demo", (char *)NULL), TB_EUSAGE);
	assert_int_equal(run(&cli, NULL, v, args, &n, "demo", "a", "b", (char *)NULL),
			 TB_EUSAGE);
	assert_int_equal(run(&cli, NULL, v, args, &n, "demo", "--help", (char *)NULL),
			 1);
}

static void test_extra(void **state)
{
	static const struct option more[] = {
		{ "field", required_argument, NULL, 2000 },
	};
	struct taken t = { 0, NULL };
	struct tb_opts_extra x = { more, 1, take, &t };
	struct tb_cli cli;
	struct tb_agent_opt_val v[3];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t n;

	(void)state;
	memset(&cli, 0, sizeof(cli));
	assert_int_equal(run(&cli, &x, v, args, &n, "demo", "--field", "a",
			     "f", "--field", "b", (char *)NULL),
			 TB_OK);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.last, "b");
}

static void test_help_text(void **state)
{
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	(void)state;
	assert_non_null(f);
	tb_opts_help(f, &spec, NULL);
	fclose(f);
	assert_non_null(strstr(buf, "Usage: tienbo-agent demo [OPTIONS] FILE"));
	assert_non_null(strstr(buf, "  --batch N           events per batch "
				    "(1-50, default 10)\n"));
	assert_non_null(strstr(buf, "  -q, --quiet         no progress line\n"));
	assert_non_null(strstr(buf, "  --config FILE"));
	assert_non_null(strstr(buf, "  -h, --help          this text\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_extra),
	    cmocka_unit_test(test_help_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
