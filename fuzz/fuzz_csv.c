/* fuzz_csv.c - libFuzzer target: the RFC 4180 CSV reader (common/csv.h),
 * the first stage of the agent's `import`, and its writer, used by the
 * exports of both sides.
 *
 * The input is read record by record to the end or the first error.
 * Properties beyond "no crash, no leak, no UB": at most TB_CSV_MAX_FIELDS
 * fields per record, record numbers strictly increasing, an error is
 * sticky and its message names the record; and every record read, written
 * back with tb_csv_write_field and read again, gives the same fields (a
 * field that starts like a formula, = + - @ tab CR, coming back with the
 * writer's protecting quote in front). A record of one empty field is
 * left out of that check: the writer makes it an empty line, which readers
 * skip (exports always have several columns). Records are written after a
 * BOM, as the exports write them.
 * Seeds: the CSV files of tests/data/agent/ and tests/data/common/csv/
 * (scripts/fuzz.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/err.h"
#include "fuzz/fuzz_util.h"

static int formula(const char *s)
{
	return *s && strchr("=+-@\t\r", *s) != NULL;
}

/* Writes one record and reads it back. */
static void check_roundtrip(char **fields, size_t n)
{
	struct tb_csv_reader *r;
	char *text = NULL, **back = NULL, msg[256];
	size_t len = 0, nback = 0, i;
	FILE *w, *f;

	if (n == 1 && !fields[0][0])
		return;
	w = open_memstream(&text, &len);
	fuzz_util_check(w != NULL, "open_memstream");
	/* As the exports do: a field starting with U+FEFF at the very start
	 * would otherwise be read as the BOM. */
	fuzz_util_check(tb_csv_write_bom(w) == 0, "BOM writes");
	for (i = 0; i < n; i++)
		fuzz_util_check(tb_csv_write_field(w, fields[i], i + 1 == n) ==
					0,
				"a field writes");
	fuzz_util_check(fclose(w) == 0, "memstream closes");
	f = fmemopen(text, len, "r");
	fuzz_util_check(f != NULL, "fmemopen");
	r = tb_csv_reader_create(f);
	fuzz_util_check(r != NULL, "reader created");
	fuzz_util_check(tb_csv_next(r, &back, &nback, msg, sizeof(msg)) == 1,
			"a written record reads back");
	fuzz_util_check(nback == n, "same number of fields");
	for (i = 0; i < n; i++) {
		const char *want = fields[i], *got = back[i];

		if (formula(want)) {
			fuzz_util_check(got[0] == '\'',
					"a formula-like field gets a quote");
			got++;
		}
		fuzz_util_check(strcmp(want, got) == 0, "same field text");
	}
	fuzz_util_check(tb_csv_next(r, &back, &nback, msg, sizeof(msg)) == 0,
			"one record written, one read");
	tb_csv_reader_destroy(r);
	fclose(f);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tb_csv_reader *r;
	char **fields = NULL, msg[256];
	size_t n = 0, last = 0;
	FILE *f;
	int rc, again;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	fuzz_util_check(f != NULL, "fmemopen");
	r = tb_csv_reader_create(f);
	fuzz_util_check(r != NULL, "reader created");
	while ((rc = tb_csv_next(r, &fields, &n, msg, sizeof(msg))) == 1) {
		fuzz_util_check(n >= 1 && n <= TB_CSV_MAX_FIELDS,
				"1..TB_CSV_MAX_FIELDS fields");
		fuzz_util_check(tb_csv_record_number(r) > last,
				"record numbers increase");
		last = tb_csv_record_number(r);
		check_roundtrip(fields, n);
	}
	if (rc < 0) {
		fuzz_util_check(rc == TB_EINVAL || rc == TB_ETOOBIG,
				"a CSV error is TB_EINVAL or TB_ETOOBIG");
		fuzz_util_check(strncmp(msg, "record ", 7) == 0,
				"the message names the record");
		again = tb_csv_next(r, &fields, &n, msg, sizeof(msg));
		fuzz_util_check(again == rc, "errors are sticky");
	}
	tb_csv_reader_destroy(r);
	fclose(f);
	return 0;
}
