/* test_csv.c - CSV reader and writer (common/csv.c): BOM, quoting,
 * embedded line breaks, doubled quotes, blank lines, errors with record
 * numbers, size limits, formula escaping on write and round trips.
 * Fixture: tests/data/common/csv/import.csv (an Excel-style export).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/csv.h"
#include "common/err.h"
#include "common/mem.h"

static void expect_record(struct tb_csv_reader *r, size_t number, size_t n,
                          const char *const *want)
{
	char **fields = NULL, msg[128] = "";
	size_t nf = 0;
	int rc = tb_csv_next(r, &fields, &nf, msg, sizeof(msg));

	if (rc != 1)
		fail_msg("record %zu: rc %d (%s)", number, rc, msg);
	assert_int_equal(tb_csv_record_number(r), number);
	assert_int_equal(nf, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(fields[i], want[i]);
}

static void expect_end(struct tb_csv_reader *r)
{
	char **fields;
	size_t nf;

	assert_int_equal(tb_csv_next(r, &fields, &nf, NULL, 0), 0);
	assert_int_equal(tb_csv_next(r, &fields, &nf, NULL, 0), 0);
}

static void test_read_fixture(void **state)
{
	static const char *const r1[] = {"date", "title", "parents", "students",
	                                 "note"};
	static const char *const r2[] = {"2025-03-08", "Họp phụ huynh, lớp 6A",
	                                 "120", "0",
	                                 "nói \"không\" với bạo lực"};
	static const char *const r4[] = {
	    "2025-11-20", "Tháng hành động\r\nvì bình đẳng giới", "", "45", ""};
	static const char *const r5[] = {
	    "2025-12-01",
	    "Tha\xcc\x81ng ha\xcc\x80nh \xc4\x91o\xcc\xa3\xcc\x82ng", "3", "4",
	    ""};
	static const char *const r6[] = {"2025-12-15", "", "0", "1", "=1+2"};
	FILE *f =
	    fopen(TB_SOURCE_DIR "/tests/data/common/csv/import.csv", "rb");
	struct tb_csv_reader *r;

	(void)state;
	assert_non_null(f);
	r = tb_csv_reader_create(f);
	assert_non_null(r);
	assert_int_equal(tb_csv_record_number(r), 0);
	expect_record(r, 1, 5, r1); /* the BOM is not part of "date" */
	expect_record(r, 2, 5, r2);
	expect_record(r, 4, 5, r4); /* record 3 is a blank line */
	expect_record(r, 5, 5, r5);
	expect_record(r, 6, 5, r6); /* no line break at the end */
	expect_end(r);
	tb_csv_reader_destroy(r);
	tb_csv_reader_destroy(NULL);
	fclose(f);
}

/* Reads text held in memory. */
static struct tb_csv_reader *open_text(const char *text, size_t len, FILE **f)
{
	struct tb_csv_reader *r;

	*f = fmemopen((void *)text, len, "rb");
	assert_non_null(*f);
	r = tb_csv_reader_create(*f);
	assert_non_null(r);
	return r;
}

static void close_text(struct tb_csv_reader *r, FILE *f)
{
	tb_csv_reader_destroy(r);
	fclose(f);
}

static void test_small_inputs(void **state)
{
	static const char *const one_empty[] = {""};
	static const char *const two_empty[] = {"", ""};
	static const char *const abc[] = {"a", "b", "c"};
	static const char *const bom_only_start[] = {"\xef\xbb", "x"};
	static const char *const quoted_crlf[] = {"a\r\nb", "c\nd"};
	struct tb_csv_reader *r;
	FILE *f;

	(void)state;
	r = open_text("", 0, &f);
	expect_end(r);
	close_text(r, f);

	r = open_text("\xef\xbb\xbf", 3, &f); /* only a BOM */
	expect_end(r);
	close_text(r, f);

	r = open_text("\xef\xbb,x\n", 5, &f); /* half a BOM is data */
	expect_record(r, 1, 2, bom_only_start);
	expect_end(r);
	close_text(r, f);

	r = open_text("\"\"\n,\n\n\na,b,c", 12, &f);
	expect_record(r, 1, 1, one_empty); /* "" is a field, not blank */
	expect_record(r, 2, 2, two_empty);
	expect_record(r, 5, 3, abc);
	expect_end(r);
	close_text(r, f);

	r = open_text("\"a\r\nb\",\"c\nd\"\r\n", 14, &f);
	expect_record(r, 1, 2, quoted_crlf);
	expect_end(r);
	close_text(r, f);

	/* A BOM after the start is data. */
	r = open_text("a\n\xef\xbb\xbf"
	              "b\n",
	              7, &f);
	expect_record(r, 1, 1, (const char *const[]){"a"});
	expect_record(r, 2, 1,
	              (const char *const[]){"\xef\xbb\xbf"
	                                    "b"});
	close_text(r, f);
}

/* Each malformed input fails at the named record, and keeps failing. */
static void expect_error(const char *text, int rc_want, size_t good,
                         const char *want)
{
	struct tb_csv_reader *r;
	char **fields, msg[128] = "";
	size_t nf;
	FILE *f;

	r = open_text(text, strlen(text), &f);
	for (size_t i = 0; i < good; i++)
		assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)),
		                 1);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)),
	                 rc_want);
	assert_string_equal(msg, want);
	msg[0] = '\0';
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)),
	                 rc_want);
	assert_string_equal(msg, want);
	close_text(r, f);
}

static void test_errors_name_the_record(void **state)
{
	(void)state;
	expect_error("a,b\nc,\"d\n", TB_EINVAL, 1,
	             "record 2: unterminated quoted field");
	expect_error("a,b\n\nc,\"d\ne,f\n", TB_EINVAL, 1,
	             "record 3: unterminated quoted field");
	expect_error("h\n1\n2\nab\"c\n", TB_EINVAL, 3,
	             "record 4: quote inside unquoted field 1");
	expect_error("x,\"a\"b,c\n", TB_EINVAL, 0,
	             "record 1: text after a closing quote in field 2");
	expect_error("x,\"a\" ,c\n", TB_EINVAL, 0,
	             "record 1: text after a closing quote in field 2");
	expect_error("a\rb\n", TB_EINVAL, 0,
	             "record 1: carriage return without line feed");
}

static void test_nul_byte(void **state)
{
	static const char text[] = "a,b\nc,d\0e\n";
	struct tb_csv_reader *r;
	char **fields, msg[128];
	size_t nf;
	FILE *f;

	(void)state;
	r = open_text(text, sizeof(text) - 1, &f);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)), 1);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)),
	                 TB_EINVAL);
	assert_string_equal(msg, "record 2: NUL byte in field 2");
	close_text(r, f);
}

static void test_limits(void **state)
{
	size_t cap = TB_CSV_MAX_RECORD + 16;
	char *text = malloc(cap), **fields, msg[128];
	struct tb_csv_reader *r;
	size_t nf, n;
	FILE *f;

	(void)state;
	assert_non_null(text);
	/* 128 fields "x,x,...,x" pass; 129 do not. */
	for (n = 0; n < TB_CSV_MAX_FIELDS; n++)
		memcpy(text + 2 * n, "x,", 2);
	text[2 * n - 1] = '\n';
	r = open_text(text, 2 * n, &f);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)), 1);
	assert_int_equal(nf, TB_CSV_MAX_FIELDS);
	assert_string_equal(fields[TB_CSV_MAX_FIELDS - 1], "x");
	close_text(r, f);
	memcpy(text + 2 * n - 1, ",x\n", 3);
	r = open_text(text, 2 * n + 2, &f);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)),
	                 TB_ETOOBIG);
	assert_string_equal(msg, "record 1: more than 128 fields");
	close_text(r, f);

	/* A record of TB_CSV_MAX_RECORD bytes (line feed included) passes,
	 * one byte more does not. */
	memset(text, 'y', TB_CSV_MAX_RECORD - 1);
	text[TB_CSV_MAX_RECORD - 1] = '\n';
	r = open_text(text, TB_CSV_MAX_RECORD, &f);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)), 1);
	assert_int_equal(strlen(fields[0]), TB_CSV_MAX_RECORD - 1);
	close_text(r, f);
	memset(text, 'y', TB_CSV_MAX_RECORD);
	text[TB_CSV_MAX_RECORD] = '\n';
	r = open_text(text, TB_CSV_MAX_RECORD + 1, &f);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)),
	                 TB_ETOOBIG);
	assert_string_equal(msg, "record 1: longer than 65536 bytes");
	close_text(r, f);
	free(text);
}

static void test_read_error(void **state)
{
	FILE *f = fopen("/dev/null", "w"); /* reading it fails */
	struct tb_csv_reader *r;
	char **fields, msg[128];
	size_t nf;

	(void)state;
	assert_non_null(f);
	r = tb_csv_reader_create(f);
	assert_non_null(r);
	assert_int_equal(tb_csv_next(r, &fields, &nf, msg, sizeof(msg)),
	                 TB_EIO);
	assert_string_equal(msg, "record 1: read error");
	close_text(r, f);
}

static void test_reader_out_of_memory(void **state)
{
	struct tb_csv_reader *r = NULL;
	long nth;

	(void)state;
	for (nth = 1; nth < 10; nth++) {
		tb_mem_fail_at(nth);
		r = tb_csv_reader_create(stdin);
		tb_mem_fail_at(0);
		if (r)
			break;
	}
	assert_non_null(r);
	assert_int_equal(nth, 4); /* the reader, its buffer, its message */
	tb_csv_reader_destroy(r);
}

/* ---- writer ----------------------------------------------------------- */

/* Writes fields as one record and returns what was written (malloc'd). */
static char *write_record(const char *const *fields, size_t n, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tb_csv_write_field(f, fields[i], i + 1 == n),
		                 0);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void test_write_quoting(void **state)
{
	static const char *const plain[] = {"2025-03-08", "Họp phụ huynh",
	                                    "120", ""};
	static const char *const tricky[] = {"a,b", "say \"hi\"", "l1\nl2",
	                                     "cr\r", "x"};
	static const char *const formulas[] = {"=1+2",     "+84 912", "-5",
	                                       "@SUM(A1)", "\tx",     "a=b"};
	size_t len;
	char *out;

	(void)state;
	out = write_record(plain, 4, &len);
	assert_string_equal(out, "2025-03-08,Họp phụ huynh,120,\r\n");
	free(out);
	out = write_record(tricky, 5, &len);
	assert_string_equal(out, "\"a,b\",\"say \"\"hi\"\"\",\"l1\nl2\","
	                         "\"cr\r\",x\r\n");
	free(out);
	out = write_record(formulas, 6, &len);
	assert_string_equal(out, "\"'=1+2\",\"'+84 912\",\"'-5\","
	                         "\"'@SUM(A1)\",\"'\tx\",a=b\r\n");
	free(out);
	out = write_record((const char *const[]){NULL}, 1, &len);
	assert_string_equal(out, "\r\n");
	free(out);
	out = write_record((const char *const[]){"=\"x\""}, 1, &len);
	assert_string_equal(out, "\"'=\"\"x\"\"\"\r\n");
	free(out);
}

/* What the writer writes, the reader reads back (formulas aside). */
static void test_write_read_round_trip(void **state)
{
	static const char *const rec[] = {"Tháng hành động vì bình đẳng giới",
	                                  "a,b",
	                                  "\"",
	                                  "\"\"",
	                                  "line\r\nbreak",
	                                  "",
	                                  " lead",
	                                  "trail ",
	                                  "\xef\xbb\xbf"};
	size_t n = sizeof(rec) / sizeof(rec[0]), len, nf;
	struct tb_csv_reader *r;
	char *out = NULL, **fields;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(tb_csv_write_bom(f), 0);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < n; i++)
			assert_int_equal(
			    tb_csv_write_field(f, rec[i], i + 1 == n), 0);
	assert_int_equal(fclose(f), 0);
	assert_memory_equal(out, "\xef\xbb\xbf", 3);
	r = open_text(out, len, &f);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(tb_csv_next(r, &fields, &nf, NULL, 0), 1);
		assert_int_equal(nf, n);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(fields[i], rec[i]);
	}
	expect_end(r);
	close_text(r, f);
	free(out);
}

static void test_write_error(void **state)
{
	FILE *f = fopen("/dev/null", "r"); /* writing it fails */

	(void)state;
	assert_non_null(f);
	assert_int_equal(tb_csv_write_field(f, "a", 1), TB_EIO);
	assert_int_equal(tb_csv_write_field(f, "a,b", 0), TB_EIO);
	assert_int_equal(tb_csv_write_bom(f), TB_EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_fixture),
	    cmocka_unit_test(test_small_inputs),
	    cmocka_unit_test(test_errors_name_the_record),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_read_error),
	    cmocka_unit_test(test_reader_out_of_memory),
	    cmocka_unit_test(test_write_quoting),
	    cmocka_unit_test(test_write_read_round_trip),
	    cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
