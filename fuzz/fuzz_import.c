/* fuzz_import.c - libFuzzer target: the agent's CSV import from the file
 * to the store (agent/cmd_import.c: the header's column names, each row's
 * kind, date and cells through tb_event_set, validation, tb_store_record).
 *
 * The row parser is file-local, so the input goes through the nearest
 * public entry, the command itself: tb_cmd_import(cli, "import --dry-run
 * FILE") on a real agent store in the scratch directory (opened once; the
 * command reuses cli->store). Properties beyond "no crash, no leak, no
 * UB": the command returns 0, TB_EINVAL, TB_ETOOBIG or TB_ENOMEM; a dry
 * run keeps nothing (the store's last seq does not move); and when the dry
 * run accepts the file, the real import accepts it too and records at
 * most one event per row that has a non-blank cell (counted here with the
 * CSV reader over the file as agent/sheet.c decodes it: rows imported
 * before, voided or already in the store are skipped), and a second run
 * of the same file is accepted and records nothing (the import registry). The store is recreated every STORE_ROUNDS
 * real imports so it stays small.
 * Seeds: the CSV files of tests/data/agent/ and tests/data/common/csv/
 * (scripts/fuzz.sh).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/sheet.h"
#include "agent/store.h"
#include "common/csv.h"
#include "common/err.h"
#include "fuzz/fuzz_util.h"

#define DEVICE "d0000001-0000-4000-8000-000000000000"
#define SCHOOL "HB-001"
#define STORE_ROUNDS 500

static struct tb_cli cli;
static char store_path[512], wal_path[520], shm_path[520], csv_path[512];
static FILE *devnull;
static int rounds;

static void open_store(void)
{
	char msg[512];

	tb_store_close(cli.store);
	cli.store = NULL;
	unlink(store_path);
	unlink(wal_path);
	unlink(shm_path);
	fuzz_util_check(tb_store_open(store_path, TB_STORE_CREATE, &cli.store,
				      msg, sizeof(msg)) == 0,
			"agent store opens");
	fuzz_util_check(tb_store_set_identity(cli.store, DEVICE, SCHOOL) == 0,
			"store identity set");
	rounds = 0;
}

static int64_t last_seq(void)
{
	int64_t seq = -1;

	fuzz_util_check(tb_store_last_seq(cli.store, &seq) == 0,
			"last seq readable");
	return seq;
}

/* The command, its messages on stderr sent to /dev/null (glibc's stderr
 * is an assignable FILE *; sanitizer reports write to fd 2 directly and
 * are not affected). */
static int run_import(int dry)
{
	char *argv[] = {"import", dry ? "--dry-run" : csv_path,
			dry ? csv_path : NULL, NULL};
	FILE *saved = stderr;
	int rc;

	optind = 0; /* glibc: start getopt afresh */
	stderr = devnull;
	rc = tb_cmd_import(&cli, dry ? 3 : 2, argv);
	stderr = saved;
	fuzz_util_check(rc == 0 || rc == TB_EINVAL || rc == TB_ETOOBIG ||
				rc == TB_ENOMEM,
			"import returns 0, TB_EINVAL, TB_ETOOBIG or TB_ENOMEM");
	return rc;
}

/* Rows after the header with a non-blank cell, read as the import reads
 * the file (agent/sheet.h: its encoding and separator); -1 if the file
 * does not load. */
static int64_t rows_to_record(void)
{
	struct tb_csv_reader *r = NULL;
	struct tb_sheet sh;
	FILE *f;
	char **cells, msg[256];
	size_t n;
	int64_t rows = 0;
	int header = 1;

	if (tb_sheet_load(csv_path, NULL, &sh, msg, sizeof(msg)) != 0)
		return -1;
	f = fmemopen(sh.text, sh.len ? sh.len : 1, "r");
	fuzz_util_check(f != NULL, "fmemopen");
	r = tb_csv_reader_create(f);
	fuzz_util_check(r != NULL, "reader for counting");
	tb_csv_reader_set_sep(r, sh.sep);
	while (sh.len && tb_csv_next(r, &cells, &n, msg, sizeof(msg)) == 1) {
		int blank = 1;

		for (size_t i = 0; i < n && blank; i++)
			blank = strspn(cells[i], " \t") == strlen(cells[i]);
		if (!header && !blank)
			rows++;
		header = 0;
	}
	tb_csv_reader_destroy(r);
	fclose(f);
	tb_sheet_free(&sh);
	return rows;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t before, rows;

	if (!cli.store) {
		cli.prog = "tienbo-agent";
		fuzz_util_path(store_path, sizeof(store_path), TB_STORE_FILE);
		snprintf(wal_path, sizeof(wal_path), "%s-wal", store_path);
		snprintf(shm_path, sizeof(shm_path), "%s-shm", store_path);
		fuzz_util_path(csv_path, sizeof(csv_path), "input.csv");
		devnull = fopen("/dev/null", "w");
		fuzz_util_check(devnull != NULL, "/dev/null opens");
		open_store();
	}
	if (size == 0)
		return 0;
	fuzz_util_write(csv_path, data, size);
	before = last_seq();
	if (run_import(1) != 0) {
		fuzz_util_check(last_seq() == before,
				"a refused import keeps nothing");
		return 0;
	}
	fuzz_util_check(last_seq() == before, "a dry run keeps nothing");
	rows = rows_to_record();
	fuzz_util_check(rows >= 0, "a file the dry run accepts loads");
	fuzz_util_check(run_import(0) == 0,
			"a file the dry run accepts imports");
	fuzz_util_check(last_seq() - before <= rows,
			"at most one event per non-blank row");
	before = last_seq();
	fuzz_util_check(run_import(0) == 0, "the same file imports again");
	fuzz_util_check(last_seq() == before,
			"the same file again records nothing");
	if (++rounds >= STORE_ROUNDS)
		open_store();
	return 0;
}
