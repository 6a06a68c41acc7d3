/* test_buf.c - the one growable buffer (common/buf.c): appends keep the
 * bytes and the NUL, growth keeps what was there, and a failed append
 * (the Nth allocation made to fail) leaves the buffer exactly as it was.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"

static void test_appends(void **state)
{
	struct tb_buf b = TB_BUF_INIT;

	(void)state;
	assert_int_equal(tb_buf_puts(&b, "ab"), TB_OK);
	assert_int_equal(tb_buf_putc(&b, 'c'), TB_OK);
	assert_int_equal(tb_buf_put_i64(&b, -9223372036854775807LL - 1), TB_OK);
	assert_int_equal(tb_buf_printf(&b, "|%s=%d|", "n", 42), TB_OK);
	assert_string_equal(b.p, "abc-9223372036854775808|n=42|");
	assert_int_equal(b.len, strlen("abc-9223372036854775808|n=42|"));
	tb_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	tb_buf_free(&b);
	tb_buf_free(NULL);
}

/* printf text longer than what is allocated, then once more exactly at
 * the edge of the capacity. */
static void test_printf_grows(void **state)
{
	struct tb_buf b = TB_BUF_INIT;
	char big[1000];
	size_t room;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tb_buf_printf(&b, "<%s>", big), TB_OK);
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.p[0], '<');
	assert_int_equal(b.p[1000], '>');
	assert_int_equal(b.p[1001], '\0');
	room = b.cap - b.len - 1; /* fits exactly, with its NUL */
	big[room] = '\0';
	assert_int_equal(tb_buf_printf(&b, "%s", big), TB_OK);
	assert_int_equal(b.len, 1001 + room);
	assert_int_equal(b.p[b.len], '\0');
	assert_int_equal(tb_buf_printf(&b, "%c", 'y'), TB_OK);
	assert_int_equal(b.p[b.len - 1], 'y');
	tb_buf_free(&b);
}

/* Every allocation of a growing printf made to fail in turn: each failure
 * is TB_ENOMEM with the old bytes intact; the walk ends in success. */
static void test_printf_oom_leaves_buffer(void **state)
{
	char big[5000];
	int done = 0;

	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (long n = 1; !done && n < 20; n++) {
		struct tb_buf b = TB_BUF_INIT;
		int rc;

		assert_int_equal(tb_buf_puts(&b, "keep"), TB_OK);
		tb_mem_fail_at(n);
		rc = tb_buf_printf(&b, "%s", big);
		tb_mem_fail_at(0);
		if (rc == TB_OK) {
			assert_int_equal(b.len, 4 + sizeof(big) - 1);
			done = 1;
		} else {
			assert_int_equal(rc, TB_ENOMEM);
			assert_int_equal(b.len, 4);
			assert_string_equal(b.p, "keep");
		}
		tb_buf_free(&b);
	}
	assert_true(done);
}

/* The sizes people read in status and sync: the unit changes at 1 KB,
 * 10 KB (no decimal) and 1 MB. */
static void test_size_text(void **state)
{
	static const struct {
		uint64_t n;
		const char *want;
	} cases[] = {
		{ 0, "0 bytes" },          { 1023, "1023 bytes" },
		{ 1024, "1.0 KB" },        { 4200, "4.1 KB" },
		{ 10239, "10.0 KB" },      { 10240, "10 KB" },
		{ 23142, "23 KB" },        { 1048576, "1.0 MB" },
		{ 1572864, "1.5 MB" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(tb_size_text(cases[i].n, buf, sizeof(buf)),
				    cases[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_printf_grows),
		cmocka_unit_test(test_printf_oom_leaves_buffer),
		cmocka_unit_test(test_size_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
