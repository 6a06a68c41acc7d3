/* test_agent_cli.c - the tienbo-agent binary (TB_AGENT_BIN) end to end,
 * against a real SQLite file in a temporary directory: init, record (every
 * field of every kind as a long option), list, show, amend, void, import,
 * export, status, --help everywhere, each exit code, bad input that
 * changes nothing (rows counted before and after), config errors naming
 * file, line and key, a read-only data directory and a full disk.
 * Import fixtures: tests/data/agent/import_*.csv. The last cases run
 * the agent in Vietnamese (LANG=vi_VN.UTF-8, what they expect read from
 * the build's catalog) and in English, and status in a time zone of +07.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <locale.h>
#include <sqlite3.h>

#include "agent/store.h"
#include "agent/sync.h"
#include "common/event.h"
#include "common/i18n.h"
#include "tests/helper_agent.h"
#include "tests/helper_proc.h"

#define DATA TB_SOURCE_DIR "/tests/data/agent/"
#define TOKEN "s3cret-token-42"

static int setup(void **state)
{
	return setup_agent(state, TOKEN);
}

static void integrity_ok(struct fx *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Records an event; returns its id (static buffer). */
static const char *record(struct fx *f, const char *date, const char *title,
			  const char *parents)
{
	static char id[TB_ID_LEN];
	struct helper_proc_result r;

	AGENT(f, &r, "record", "outreach", "--date", date, "--title", title,
	      "--parents", parents);
	expect_exit(&r, 0);
	assert_int_equal(r.out_len, TB_ID_LEN);
	memcpy(id, r.out, TB_ID_LEN - 1);
	id[TB_ID_LEN - 1] = '\0';
	assert_true(tb_uuid_valid(id));
	helper_proc_free(&r);
	return id;
}

static cJSON *json_out(const struct helper_proc_result *r)
{
	cJSON *j = cJSON_Parse(r->out);

	if (!j)
		fail_msg("stdout is not JSON: %s", r->out);
	return j;
}

/* ---- init ---------------------------------------------------------------- */

static void test_init(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	struct stat sb;
	char *conf;

	assert_true(tb_uuid_valid(f->device));
	assert_int_equal(stat(f->sb.config, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	conf = helper_proc_read_file(f->sb.config, NULL);
	assert_non_null(strstr(conf, "token = " TOKEN));
	assert_non_null(strstr(conf, "school = HB-001"));
	assert_non_null(strstr(conf, f->device));
	free(conf);
	assert_int_equal(rows(f), 0);

	/* Again, changing the server only: same device, token kept. */
	AGENT(f, &r, "init", "--server", "https://tienbo.example.vn:8443");
	expect_exit(&r, 0);
	assert_memory_equal(r.out, f->device, TB_ID_LEN - 1);
	assert_null(strstr(r.out, TOKEN));
	assert_null(strstr(r.err, TOKEN));
	helper_proc_free(&r);
	conf = helper_proc_read_file(f->sb.config, NULL);
	assert_non_null(strstr(conf, "server = https://tienbo.example.vn:8443"));
	assert_non_null(strstr(conf, "token = " TOKEN));
	free(conf);

	AGENT(f, &r, "status");
	expect_exit(&r, 0);
	assert_null(strstr(r.out, TOKEN));
	assert_non_null(strstr(r.out, "set"));
	helper_proc_free(&r);

	AGENT(f, &r, "init", "--server", "http://plain.example");
	expect_exit(&r, 64);
	expect_err(&r, "https://");
	helper_proc_free(&r);
}

static void test_init_needs_keys(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	struct stat sb;

	AGENT(f, &r, "init", "--server", "https://x.example", "--school",
	      "HB-001");
	expect_exit(&r, 64);
	expect_err(&r, "--token is required");
	helper_proc_free(&r);
	assert_int_not_equal(stat(f->sb.config, &sb), 0);

	/* --token - reads it from standard input; --config names the file;
	 * the default data dir follows XDG_DATA_HOME. */
	f->o.in = TOKEN "\n";
	f->o.in_len = strlen(f->o.in);
	AGENT(f, &r, "--config", f->sb.config, "init", "--server",
	      "https://x.example", "--school", "HB-001", "--token", "-");
	f->o.in = NULL;
	expect_exit(&r, 0);
	helper_proc_free(&r);
	assert_int_equal(stat(f->sb.config, &sb), 0);
	snprintf(f->db, sizeof(f->db), "%s/xdg-data/tienbo/agent.db",
		 f->sb.dir);
	assert_int_equal(rows(f), 0);
}

/* ---- --help -------------------------------------------------------------- */

static void test_help_everywhere(void **state)
{
	static const char *const cmds[] = { "init", "record", "list", "show",
					    "amend", "void", "import", "export",
					    "status", "sync", "run" };
	struct fx *f = *state;
	struct helper_proc_result r;
	const struct tb_field *tab;
	char opt[80];
	size_t n, i;
	int k;

	AGENT(f, &r, "--help");
	expect_exit(&r, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		assert_non_null(strstr(r.out, cmds[i]));
	assert_non_null(strstr(r.out, "78"));
	helper_proc_free(&r);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		AGENT(f, &r, cmds[i], "--help");
		expect_exit(&r, 0);
		assert_non_null(strstr(r.out, "Usage: tienbo-agent"));
		assert_int_equal(r.err_len, 0);
		helper_proc_free(&r);
	}
	/* Each kind's help lists every field of its table as an option. */
	for (k = 0; k < TB_KIND_COUNT; k++) {
		AGENT(f, &r, "record", tb_kind_name(k), "--help");
		expect_exit(&r, 0);
		tab = tb_kind_fields(k, &n);
		for (i = 0; i < n; i++) {
			snprintf(opt, sizeof(opt), "--%s ", tab[i].option);
			if (!strstr(r.out, opt))
				fail_msg("%s --help lacks %s", tb_kind_name(k),
					 opt);
			assert_non_null(strstr(r.out, tab[i].help));
		}
		helper_proc_free(&r);
	}
	AGENT(f, &r, "help", "import");
	expect_exit(&r, 0);
	assert_non_null(strstr(r.out, "all or nothing"));
	helper_proc_free(&r);
}

/* ---- record -------------------------------------------------------------- */

/* A value into buf that passes field fd's own rule, and every part <=
 * whole rule when all counts are equal. */
static const char *sample(const struct tb_field *fd, char *buf, size_t len)
{
	switch (fd->type) {
	case TB_FT_COUNT: snprintf(buf, len, "3"); break;
	case TB_FT_BOOL: snprintf(buf, len, "yes"); break;
	case TB_FT_URL:
		snprintf(buf, len, "https://thcs-a.edu.vn/binh-dang-gioi");
		break;
	case TB_FT_CHOICE: /* the first choice */
		snprintf(buf, len, "%.*s", (int)strcspn(fd->choices, "|"),
			 fd->choices);
		break;
	case TB_FT_TEXT: snprintf(buf, len, "Bình đẳng giới"); break;
	}
	return buf;
}

static void test_record_every_field(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	const struct tb_field *tab;
	const char *argv[80];
	char opts[TB_FIELDS_MAX][64], vals[TB_FIELDS_MAX][64], key[80];
	cJSON *j, *item;
	size_t n, i, a;
	int k;

	for (k = 0; k < TB_KIND_COUNT; k++) {
		tab = tb_kind_fields(k, &n);
		a = 0;
		argv[a++] = TB_AGENT_BIN;
		argv[a++] = "record";
		argv[a++] = tb_kind_name(k);
		argv[a++] = "--date";
		argv[a++] = "2025-11-20";
		for (i = 0; i < n; i++) {
			snprintf(opts[i], sizeof(opts[i]), "--%s",
				 tab[i].option);
			argv[a++] = opts[i];
			argv[a++] = sample(&tab[i], vals[i], sizeof(vals[i]));
		}
		argv[a] = NULL;
		assert_int_equal(helper_proc_run(argv, &f->o, &r), 0);
		expect_exit(&r, 0);
		assert_int_equal(rows(f), k + 1);
		r.out[TB_ID_LEN - 1] = '\0';
		snprintf(key, sizeof(key), "%s", r.out);
		helper_proc_free(&r);

		AGENT(f, &r, "show", key, "--json");
		expect_exit(&r, 0);
		j = json_out(&r);
		assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring,
				    tb_kind_name(k));
		for (i = 0; i < n; i++) {
			item = cJSON_GetObjectItem(j, tab[i].name);
			if (!item)
				fail_msg("show lacks %s", tab[i].name);
			if (tab[i].type == TB_FT_COUNT)
				assert_int_equal(item->valuedouble, 3);
		}
		cJSON_Delete(j);
		helper_proc_free(&r);
	}
}

struct bad_case {
	const char *args[12];
	int code;
	const char *message;
};

static void test_bad_input_changes_nothing(void **state)
{
	static const struct bad_case cases[] = {
		{ { "record", "training", "--date", "2025-11-21", "--title",
		    "T", "--participants", "10", "--female", "12" },
		  65, "female: must not exceed participants (12 > 10)" },
		{ { "record", "action-month", "--date", "2025-12-16",
		    "--title", "T", "--parents", "5" },
		  65, "date: an action-month activity must fall between 15 "
		      "Nov and 15 Dec (2025-12-16)" },
		{ { "record", "outreach", "--date", "2025-11-20", "--title",
		    "T", "--parents", "-1" },
		  65, "parents:" },
		{ { "record", "outreach", "--date", "2025-02-30", "--title",
		    "T", "--parents", "1" },
		  65, "date: 28 is the last day of February (got '2025-02-30')" },
		{ { "record", "outreach", "--date", "2025-11-20", "--parents",
		    "1" },
		  65, "title:" },
		{ { "record", "meeting", "--title", "T" }, 64,
		  "unknown kind 'meeting'" },
		{ { "record", "outreach", "--title", "T", "--participants",
		    "3" },
		  64, "--participants is not a field of outreach" },
		{ { "record", "outreach", "--colour", "red" }, 64,
		  "unknown option '--colour'" },
		{ { "record", "outreach", "--title" }, 64, "needs a value" },
		{ { "record" }, 64, "which kind" },
		{ { "frobnicate" }, 64, "unknown command 'frobnicate'" },
		{ { "list", "--from", "2025-13-01" }, 64, "--from" },
		{ { "export", "--format", "xml" }, 64, "csv or json" },
		{ { "show", "ffffffffffff" }, 65, "no event" },
		{ { "void", "ffffffffffff" }, 64, "--reason" },
		{ { "void", "ffffffffffff", "--reason", "x" }, 65, "no event" },
		{ { "amend", "ffffffffffff", "--title", "x" }, 65, "no event" },
		{ { "import", DATA "no-such-file.csv" }, 74, "cannot open" },
	};
	struct fx *f = *state;
	struct helper_proc_result r;
	const char *argv[16];
	long long before;
	size_t i, a;

	record(f, "2025-11-20", "Họp phụ huynh", "40");
	before = rows(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		argv[0] = TB_AGENT_BIN;
		for (a = 0; cases[i].args[a]; a++)
			argv[a + 1] = cases[i].args[a];
		argv[a + 1] = NULL;
		assert_int_equal(helper_proc_run(argv, &f->o, &r), 0);
		if (!r.exited || r.exit_code != cases[i].code ||
		    !strstr(r.err, cases[i].message))
			fail_msg("case %zu (%s %s): exit %d, stderr: %s", i,
				 argv[1], argv[2] ? argv[2] : "", r.exit_code,
				 r.err);
		assert_int_equal(r.out_len, 0);
		helper_proc_free(&r);
		assert_int_equal(rows(f), before);
	}
	integrity_ok(f);
}

/* ---- list, show, amend, void --------------------------------------------- */

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_list_show_amend_void(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	char id[TB_ID_LEN], sql[200];
	cJSON *j, *revs;

	memcpy(id, record(f, "2025-11-20", "Họp phụ huynh", "40"), TB_ID_LEN);
	record(f, "2025-03-08", "Ngày 8/3", "12");
	AGENT(f, &r, "record", "training", "--date", "2025-04-01", "--title",
	      "Tập huấn", "--participants", "10", "--female", "7");
	expect_exit(&r, 0);
	helper_proc_free(&r);

	AGENT(f, &r, "list");
	expect_exit(&r, 0);
	assert_int_equal(count_lines(r.out), 4); /* header + 3 */
	/* By date: 8/3 first. */
	assert_true(strstr(r.out, "Ngày 8/3") < strstr(r.out, "Tập huấn"));
	helper_proc_free(&r);
	AGENT(f, &r, "list", "--kind", "training", "--json");
	expect_exit(&r, 0);
	j = json_out(&r);
	assert_int_equal(cJSON_GetArraySize(j), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0),
						"state")->valuestring,
			    "pending");
	cJSON_Delete(j);
	helper_proc_free(&r);
	AGENT(f, &r, "list", "--from", "2025-04-01", "--to", "2025-11-19",
	      "--json");
	j = json_out(&r);
	assert_int_equal(cJSON_GetArraySize(j), 1);
	cJSON_Delete(j);
	helper_proc_free(&r);
	/* One revision acknowledged: --pending leaves it out. */
	snprintf(sql, sizeof(sql), "UPDATE queue SET state = 1 WHERE id = '%s'",
		 id);
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), 0);
		sqlite3_close(db);
	}
	AGENT(f, &r, "list", "--pending", "--json");
	j = json_out(&r);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	cJSON_Delete(j);
	helper_proc_free(&r);

	/* amend by the end of the id: a new revision, pending again. */
	AGENT(f, &r, "amend", id + 24, "--parents", "45");
	expect_exit(&r, 0);
	assert_memory_equal(r.out, id, TB_ID_LEN - 1);
	helper_proc_free(&r);
	AGENT(f, &r, "amend", id, "--students", "many");
	expect_exit(&r, 65);
	expect_err(&r, "students:");
	helper_proc_free(&r);
	AGENT(f, &r, "amend", id);
	expect_exit(&r, 64);
	helper_proc_free(&r);
	assert_int_equal(rows(f), 4);
	AGENT(f, &r, "show", id, "--json");
	expect_exit(&r, 0);
	j = json_out(&r);
	assert_int_equal(cJSON_GetObjectItem(j, "revision")->valuedouble, 2);
	assert_int_equal(cJSON_GetObjectItem(j, "parents")->valuedouble, 45);
	assert_string_equal(cJSON_GetObjectItem(j, "title")->valuestring,
			    "Họp phụ huynh");
	revs = cJSON_GetObjectItem(j, "revisions");
	assert_int_equal(cJSON_GetArraySize(revs), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(revs, 0),
						"state")->valuestring,
			    "sent");
	cJSON_Delete(j);
	helper_proc_free(&r);

	AGENT(f, &r, "void", id, "--reason", "nhập trùng");
	expect_exit(&r, 0);
	helper_proc_free(&r);
	AGENT(f, &r, "show", id);
	expect_exit(&r, 0);
	assert_non_null(strstr(r.out, "nhập trùng"));
	assert_non_null(strstr(r.out, "revision:"));
	helper_proc_free(&r);
	AGENT(f, &r, "amend", id, "--parents", "1");
	expect_exit(&r, 65);
	expect_err(&r, "voided");
	helper_proc_free(&r);
	AGENT(f, &r, "void", id, "--reason", "again");
	expect_exit(&r, 65);
	helper_proc_free(&r);
	assert_int_equal(rows(f), 5);
	integrity_ok(f);
}

/* ---- status -------------------------------------------------------------- */

static void test_status(void **state)
{
	static const char *const keys[] = {
		"device", "school", "server", "pending", "sent", "rejected",
		"bytes_waiting", "oldest_pending", "last_attempt",
		"last_success", "last_error"
	};
	struct fx *f = *state;
	struct helper_proc_result r;
	sqlite3 *db = NULL;
	cJSON *j;
	size_t i;

	record(f, "2025-11-20", "A", "1");
	record(f, "2025-11-21", "B", "2");
	record(f, "2025-11-22", "C", "3");
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE queue SET state = 1 WHERE seq = 1;"
				      "UPDATE queue SET state = 2, "
				      "reject_reason = 'x' WHERE seq = 2;"
				      "INSERT INTO sync_state VALUES "
				      "('last_attempt', '1763881200'),"
				      "('last_error', 'could not connect'),"
				      "('last_error_at', '1763881200')",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	AGENT(f, &r, "status", "--json");
	expect_exit(&r, 0);
	j = json_out(&r);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!cJSON_GetObjectItem(j, keys[i]))
			fail_msg("status --json lacks %s", keys[i]);
	assert_int_equal(cJSON_GetObjectItem(j, "pending")->valuedouble, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "sent")->valuedouble, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "rejected")->valuedouble, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "bytes_waiting")->valuedouble,
			 sql_int(f->db, "SELECT wire_bytes "
					"FROM queue WHERE seq = 3"));
	assert_string_equal(cJSON_GetObjectItem(j, "device")->valuestring,
			    f->device);
	assert_string_equal(cJSON_GetObjectItem(j, "last_attempt")->valuestring,
			    "2025-11-23T07:00:00Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "last_success")));
	assert_string_equal(cJSON_GetObjectItem(j, "last_error")->valuestring,
			    "could not connect");
	assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "oldest_pending")));
	assert_null(strstr(r.out, TOKEN));
	cJSON_Delete(j);
	helper_proc_free(&r);

	AGENT(f, &r, "status");
	expect_exit(&r, 0);
	assert_non_null(strstr(r.out, "could not connect"));
	assert_non_null(strstr(r.out, "HB-001"));
	helper_proc_free(&r);
}

/* ---- config errors ------------------------------------------------------- */

static void write_config(struct fx *f, const char *text)
{
	assert_int_equal(helper_proc_write_file(f->sb.config, text,
						strlen(text)), 0);
}

static void test_config_errors(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	char text[1024], want[600];

	/* Missing key. */
	snprintf(text, sizeof(text), "server = https://x.example\n"
		 "school = HB-001\ndevice = %s\ndata_dir = %s\n", f->device,
		 f->sb.data);
	write_config(f, text);
	AGENT(f, &r, "list");
	expect_exit(&r, 78);
	snprintf(want, sizeof(want), "%s: key 'token' is missing",
		 f->sb.config);
	expect_err(&r, want);
	helper_proc_free(&r);

	/* A line without '=': file and line. */
	snprintf(text, sizeof(text), "server = https://x.example\n"
		 "school = HB-001\ntoken HB\ndevice = %s\n", f->device);
	write_config(f, text);
	AGENT(f, &r, "status");
	expect_exit(&r, 78);
	snprintf(want, sizeof(want), "%s:3:", f->sb.config);
	expect_err(&r, want);
	helper_proc_free(&r);

	/* A bad value: file, line and key. */
	snprintf(text, sizeof(text), "server = https://x.example\n"
		 "school = hb 001\ntoken = t\ndevice = %s\n", f->device);
	write_config(f, text);
	AGENT(f, &r, "record", "outreach", "--title", "x", "--parents", "1");
	expect_exit(&r, 78);
	snprintf(want, sizeof(want), "%s:2: key 'school'", f->sb.config);
	expect_err(&r, want);
	helper_proc_free(&r);

	/* No file at all. */
	assert_int_equal(unlink(f->sb.config), 0);
	AGENT(f, &r, "list");
	expect_exit(&r, 78);
	expect_err(&r, "no config file at");
	helper_proc_free(&r);
	assert_int_equal(rows(f), 0);
}

/* ---- export -------------------------------------------------------------- */

static void test_export(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	char out[400], *text;
	cJSON *j;

	record(f, "2025-11-20", "Họp, phụ huynh", "40");
	record(f, "2025-11-21", "=1+1", "2");
	AGENT(f, &r, "export");
	expect_exit(&r, 0);
	assert_memory_equal(r.out, "\xEF\xBB\xBFid,kind,date,revision,", 25);
	assert_int_equal(count_lines(r.out), 3);
	assert_non_null(strstr(r.out, "\r\n"));
	assert_non_null(strstr(r.out, "\"Họp, phụ huynh\""));
	assert_null(strstr(r.out, ",=1+1,")); /* no formula reaches Excel */
	helper_proc_free(&r);

	AGENT(f, &r, "export", "--format", "json");
	expect_exit(&r, 0);
	j = json_out(&r);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0),
						"school")->valuestring,
			    "HB-001");
	cJSON_Delete(j);
	helper_proc_free(&r);

	snprintf(out, sizeof(out), "%s/out.csv", f->sb.dir);
	AGENT(f, &r, "export", "--kind", "training", "--output", out);
	expect_exit(&r, 0);
	helper_proc_free(&r);
	text = helper_proc_read_file(out, NULL);
	assert_non_null(text);
	assert_int_equal(count_lines(text), 1); /* header only */
	assert_non_null(strstr(text, "participants"));
	assert_null(strstr(text, "parents"));
	free(text);
}

/* ---- import -------------------------------------------------------------- */

static void test_import_good(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	cJSON *j, *e;

	record(f, "2025-01-02", "before", "1");
	AGENT(f, &r, "import", "--dry-run", DATA "import_good.csv");
	expect_exit(&r, 0);
	helper_proc_free(&r);
	assert_int_equal(rows(f), 1);
	AGENT(f, &r, "import", DATA "import_good.csv");
	expect_exit(&r, 0);
	expect_err(&r, "imported 4 events");
	helper_proc_free(&r);
	assert_int_equal(rows(f), 5);
	/* The rows' seqs follow on, consecutive. */
	assert_int_equal(sql_int(f->db, "SELECT max(seq) FROM queue"), 5);

	AGENT(f, &r, "list", "--json");
	j = json_out(&r);
	assert_int_equal(cJSON_GetArraySize(j), 5);
	e = cJSON_GetArrayItem(j, 2); /* by date: 03-08, 04-10, 04-12 ... */
	assert_string_equal(cJSON_GetObjectItem(e, "title")->valuestring,
			    "Tập huấn \"kỹ năng\" truyền thông");
	assert_int_equal(cJSON_GetObjectItem(e, "female")->valuedouble, 18);
	e = cJSON_GetArrayItem(j, 3);
	assert_string_equal(cJSON_GetObjectItem(e, "title")->valuestring,
			    "Bài viết chuyên mục");
	e = cJSON_GetArrayItem(j, 4);
	assert_string_equal(cJSON_GetObjectItem(e, "kind")->valuestring,
			    "snapshot");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "website_section")));
	cJSON_Delete(j);
	helper_proc_free(&r);
}

static void test_import_refusals(void **state)
{
	static const struct {
		const char *file;
		const char *message;
	} cases[] = {
		{ "import_bad_row.csv",
		  "row 4, column F (female): must not exceed participants "
		  "(14 > 10); nothing was imported" },
		{ "import_action_month.csv",
		  "row 4, column B (date): an action-month activity must fall "
		  "between 15 Nov and 15 Dec (2025-12-16)" },
		{ "import_unknown_column.csv",
		  "row 1, column D (colour): unknown column 'colour'" },
		{ "import_wrong_kind_cell.csv",
		  "row 3, column E (topic): an activity of kind outreach has "
		  "no such column" },
		{ "import_bad_kind.csv",
		  "row 2, column A (kind): 'meeting' is not a kind" },
		{ "import_no_kind.csv", "row 1: there is no kind column" },
	};
	struct fx *f = *state;
	struct helper_proc_result r;
	size_t i;

	record(f, "2025-01-02", "before", "1");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->o.cwd = TB_SOURCE_DIR "/tests/data/agent";
		AGENT(f, &r, "import", cases[i].file);
		f->o.cwd = NULL;
		expect_exit(&r, 65);
		expect_err(&r, cases[i].message);
		helper_proc_free(&r);
		assert_int_equal(rows(f), 1);
	}
	integrity_ok(f);
}

/* ---- faults -------------------------------------------------------------- */

static void test_read_only_data_dir(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;

	record(f, "2025-11-20", "A", "1");
	/* Run as nobody so that permissions bind even for root. */
	assert_int_equal(chmod(f->sb.config, 0644), 0);
	assert_int_equal(chmod(f->sb.data, 0555), 0);
	assert_int_equal(chmod(f->db, 0444), 0);
	f->o.drop_to_nobody = 1;
	AGENT(f, &r, "record", "outreach", "--date", "2025-11-21", "--title",
	      "B", "--parents", "2");
	f->o.drop_to_nobody = 0;
	expect_exit(&r, 74);
	if (!strstr(r.err, "read-only") && !strstr(r.err, "not writable"))
		fail_msg("no plain reason: %s", r.err);
	helper_proc_free(&r);
	assert_int_equal(chmod(f->sb.data, 0700), 0);
	assert_int_equal(chmod(f->db, 0600), 0);
	assert_int_equal(rows(f), 1);
	integrity_ok(f);
	record(f, "2025-11-22", "C", "3");
	assert_int_equal(rows(f), 2);
}

static void test_disk_full(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	char path[400], line[160];
	FILE *csv;
	int i;

	record(f, "2025-11-20", "A", "1");
	snprintf(path, sizeof(path), "%s/big.csv", f->sb.dir);
	csv = fopen(path, "w");
	assert_non_null(csv);
	fputs("kind,date,title,parents,students\n", csv);
	for (i = 0; i < 20000; i++) {
		snprintf(line, sizeof(line),
			 "outreach,2025-11-20,Buổi nói chuyện số %d,%d,%d\n", i,
			 i % 90 + 1, i % 300);
		fputs(line, csv);
	}
	assert_int_equal(fclose(csv), 0);
	/* No file may grow past 256 KiB: the WAL hits it mid-import. */
	f->o.fsize_limit = 256 * 1024;
	AGENT(f, &r, "import", path);
	f->o.fsize_limit = 0;
	expect_exit(&r, 74);
	expect_err(&r, "disk is full");
	expect_err(&r, "nothing was imported");
	helper_proc_free(&r);
	assert_int_equal(rows(f), 1);
	integrity_ok(f);
	f->o.fsize_limit = 256 * 1024;
	AGENT(f, &r, "record", "outreach", "--date", "2025-11-21", "--title",
	      "B", "--parents", "2");
	f->o.fsize_limit = 0;
	expect_exit(&r, 0);
	helper_proc_free(&r);
	assert_int_equal(rows(f), 2);
}

static void test_server_unreachable(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;

	record(f, "2025-11-20", "A", "1");
	/* Nothing listens on 127.0.0.1:1 (the config's server). */
	AGENT(f, &r, "sync", "--tries", "1", "--quiet");
	expect_exit(&r, 69);
	helper_proc_free(&r);
	AGENT(f, &r, "status", "--json");
	expect_exit(&r, 0);
	assert_non_null(strstr(r.out, "\"pending\":\t1"));
	helper_proc_free(&r);
}

/* The body the real agent builds for the events of vector valid/example,
 * recorded with the real binary, equals the canonical bytes of the
 * vector file. The two things the agent picks itself - the event ids and
 * the times of recording - and the device and school are set in the
 * store to the vector's; everything else comes from the command line. */
static void test_batch_body_is_canonical(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	struct tb_batch_writer w = TB_BATCH_WRITER_INIT;
	struct tb_store *s = NULL;
	sqlite3 *db = NULL;
	const char *json = NULL;
	char msg[512], *want;
	size_t len = 0, n = 0, wlen = 0;

	AGENT(f, &r, "record", "outreach", "--date", "2025-11-20", "--title",
	      "Họp phụ huynh về bình đẳng giới", "--parents", "40",
	      "--students", "120", "--occasion", "action-month", "--channel",
	      "meeting");
	expect_exit(&r, 0);
	helper_proc_free(&r);
	AGENT(f, &r, "record", "training", "--date", "2025-11-21", "--title",
	      "Tập huấn kỹ năng truyền thông", "--topic",
	      "Bình đẳng giới trong trường học", "--participants", "10",
	      "--female", "7", "--ban-members", "3", "--women-in-planning",
	      "2", "--communicators", "4");
	expect_exit(&r, 0);
	helper_proc_free(&r);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"UPDATE meta SET value = 'd0000001-0000-4000-8000-000000000000' "
		"WHERE key = 'device';"
		"UPDATE meta SET value = 'HB-001' WHERE key = 'school';"
		"UPDATE queue SET id = 'e0010001-0000-4000-8000-000000000000', "
		"recorded_at = 1763629200 WHERE seq = 1;"
		"UPDATE queue SET id = 'e0010002-0000-4000-8000-000000000000', "
		"recorded_at = 1763802000 WHERE seq = 2;", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(tb_store_open(f->db, 0, &s, msg, sizeof(msg)), 0);
	assert_int_equal(tb_sync_build_batch(s, 0, 1000, 512 * 1024, &w, &json,
					     &len, &n), 0);
	assert_int_equal(n, 2);
	want = helper_proc_read_file(TB_SOURCE_DIR
				     "/protocol/vectors/valid/example.canonical"
				     ".json", &wlen);
	assert_non_null(want);
	while (wlen && (want[wlen - 1] == '\n' || want[wlen - 1] == '\r'))
		wlen--;
	assert_int_equal(len, wlen);
	assert_memory_equal(json, want, wlen);
	free(want);
	tb_batch_writer_cleanup(&w);
	tb_store_close(s);
}

/* ---- both languages ------------------------------------------------------ */

/* The test's own view of the catalog the build compiled (TB_BUILD_DIR/
 * locale), so what the Vietnamese cases expect comes from po/vi.po, not
 * from the program under test. */
static const char *vi_gettext(const char *msgid)
{
	static char buf[1024];
	const char *t;

	unsetenv("LANGUAGE");
	if (!setlocale(LC_MESSAGES, "vi_VN.UTF-8"))
		fail_msg("no vi_VN.UTF-8 locale here: run scripts/deps.sh");
	bindtextdomain(TB_TEXT_DOMAIN, TB_BUILD_DIR "/locale");
	bind_textdomain_codeset(TB_TEXT_DOMAIN, "UTF-8");
	t = dgettext(TB_TEXT_DOMAIN, msgid);
	if (t == msgid || strcmp(t, msgid) == 0)
		fail_msg("po/vi.po does not translate \"%s\"", msgid);
	snprintf(buf, sizeof(buf), "%s", t);
	setlocale(LC_MESSAGES, "C");
	return buf;
}

/* The longest run of text without a conversion or a line break: what a
 * message built from fmt must contain, whatever its arguments. */
static const char *literal_part(const char *fmt)
{
	static char buf[1024];
	size_t best = 0, at = 0, i = 0, n;

	while (fmt[i]) {
		n = strcspn(fmt + i, "%\n");
		if (n > best) {
			best = n;
			at = i;
		}
		i += n;
		if (fmt[i] == '%' && fmt[i + 1]) /* past "%lld", "%zu", "%s" */
			i += 2 + strcspn(fmt + i + 1, "diouxXeEfgGcsp%");
		else if (fmt[i])
			i++;
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)best, fmt + at);
	return buf;
}

/* The sandbox's environment plus lang (and tz, if not NULL); LANGUAGE
 * stays unset (tests/helper_proc.c). */
static void speak(struct fx *f, const char **env, const char *lang,
		  const char *tz)
{
	int i, n = 0;

	for (i = 0; f->sb.env[i]; i++)
		env[n++] = f->sb.env[i];
	env[n++] = lang;
	if (tz)
		env[n++] = tz;
	env[n] = NULL;
	f->o.env = env;
}

static void expect_in(const char *where, const char *text, const char *part)
{
	if (!part[0] || !strstr(text, part))
		fail_msg("%s lacks \"%s\":\n%s", where, part, text);
}

/* vi_VN.UTF-8 speaks Vietnamese, C.UTF-8 English: --help, a refused
 * record, a mistaken init, an unknown command. */
static void test_languages(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	const char *env[10];
	long long n = rows(f);

	speak(f, env, "LANG=vi_VN.UTF-8", NULL);
	AGENT(f, &r, "--help");
	expect_exit(&r, 0);
	expect_in("--help", r.out, literal_part(vi_gettext("\nCommands:\n")));
	expect_in("--help", r.out,
		  literal_part(vi_gettext("write every event as CSV or JSON")));
	helper_proc_free(&r);
	AGENT(f, &r, "sync", "--help");
	expect_exit(&r, 0);
	expect_in("sync --help", r.out,
		  literal_part(vi_gettext("events per batch")));
	helper_proc_free(&r);
	AGENT(f, &r, "record", "outreach", "--title", "x", "--parents", "abc");
	expect_exit(&r, 65);
	expect_in("a refused record", r.err, literal_part(vi_gettext(
		  "%s: must be a whole number from 0 to %d")));
	helper_proc_free(&r);
	AGENT(f, &r, "init", "--server", "http://plain.example");
	expect_exit(&r, 64);
	expect_in("init", r.err, literal_part(vi_gettext(
		  "init: --server must start with https:// (got '%s')")));
	helper_proc_free(&r);
	AGENT(f, &r, "bogus");
	expect_exit(&r, 64);
	expect_in("an unknown command", r.err, literal_part(vi_gettext(
		  "unknown command '%s' (see '%s --help')")));
	helper_proc_free(&r);

	speak(f, env, "LANG=C.UTF-8", NULL);
	AGENT(f, &r, "--help");
	expect_exit(&r, 0);
	expect_in("--help", r.out, "\nCommands:\n");
	helper_proc_free(&r);
	AGENT(f, &r, "record", "outreach", "--title", "x", "--parents", "abc");
	expect_exit(&r, 65);
	expect_err(&r, "parents: must be a whole number from 0 to");
	helper_proc_free(&r);
	AGENT(f, &r, "init", "--server", "http://plain.example");
	expect_exit(&r, 64);
	expect_err(&r, "init: --server must start with https:// (got '");
	helper_proc_free(&r);
	f->o.env = f->sb.env;
	assert_int_equal(rows(f), n);
}

/* The clerk's import in Vietnamese: a day that does not exist named by
 * row and column, a file saved without Vietnamese letters, the same file
 * twice. The fixtures are tests/data/import/ (LibreOffice-made). */
static void test_import_vietnamese(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	const char *env[10];
	char path[512];
	long long n = rows(f);

	snprintf(path, sizeof(path), "%s/nov31.csv", f->sb.dir);
	assert_int_equal(helper_proc_write_file(
				 path,
				 "Loại hoạt động;Ngày;Tên hoạt động;Phụ huynh\n"
				 "Tuyên truyền;31/11/2025;Họp;10\n",
				 strlen("Loại hoạt động;Ngày;Tên hoạt động;Phụ "
					"huynh\nTuyên truyền;31/11/2025;Họp;"
					"10\n")),
			 0);
	speak(f, env, "LANG=vi_VN.UTF-8", NULL);
	AGENT(f, &r, "import", path);
	expect_exit(&r, 65);
	expect_in("a bad day", r.err,
		  literal_part(vi_gettext("row %lld, column %s (%s): ")));
	expect_in("a bad day", r.err, "(Ngày)");
	expect_in("a bad day", r.err,
		  literal_part(vi_gettext("%d is the last day of %s (got "
					  "'%s')")));
	expect_in("a bad day", r.err, vi_gettext("November"));
	expect_in("a bad day", r.err,
		  literal_part(vi_gettext("import %s: %s; nothing was "
					  "imported")));
	helper_proc_free(&r);
	AGENT(f, &r, "import",
	      TB_SOURCE_DIR "/tests/data/import/clerk-ascii-lossy.csv");
	expect_exit(&r, 65);
	expect_in("a lossy file", r.err,
		  literal_part(vi_gettext(
			  "'%s' has '?' where letters should be: the file "
			  "was saved without Vietnamese letters. Save it "
			  "again as CSV UTF-8 (in LibreOffice: Text CSV, "
			  "character set Unicode (UTF-8)) or as .xlsx, and "
			  "import that")));
	helper_proc_free(&r);
	assert_int_equal(rows(f), n);
	AGENT(f, &r, "import", TB_SOURCE_DIR "/tests/data/import/clerk.xlsx");
	expect_exit(&r, 0);
	helper_proc_free(&r);
	AGENT(f, &r, "import",
	      TB_SOURCE_DIR "/tests/data/import/clerk-utf8.csv");
	expect_exit(&r, 0);
	expect_in("the same rows again", r.err,
		  literal_part(vi_gettext("  %s: imported before, %s from %s "
					  "(import %lld)\n")));
	helper_proc_free(&r);
	assert_int_equal(rows(f), n + 3);
	f->o.env = f->sb.env;
}

/* init's mistakes in Vietnamese: a missing --token, a bad --school. */
static void test_init_vietnamese(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	const char *env[10];

	speak(f, env, "LANG=vi_VN.UTF-8", NULL);
	AGENT(f, &r, "init", "--server", "https://x.example", "--school",
	      "HB-001");
	expect_exit(&r, 64);
	expect_in("init", r.err, literal_part(vi_gettext(
		  "init: --%s is required (there is no %s in the config "
		  "yet)")));
	helper_proc_free(&r);
	AGENT(f, &r, "init", "--server", "https://x.example", "--school",
	      "hb 1", "--token", "t");
	expect_exit(&r, 64);
	expect_in("init", r.err, literal_part(vi_gettext(
		  "init: --school must be 2-32 characters of A-Z, 0-9, '-' or "
		  "'_', starting with a letter or digit (got '%s')")));
	helper_proc_free(&r);
	f->o.env = f->sb.env;
}

/* status shows the stored UTC time 2025-11-23T07:00:00Z in the machine's
 * zone (Asia/Ho_Chi_Minh: 14:00 +07), in each language's format; --json
 * keeps UTC. */
static void test_status_local_time(void **state)
{
	struct fx *f = *state;
	struct helper_proc_result r;
	const char *env[10];
	sqlite3 *db = NULL;
	char want[160];
	cJSON *j;

	record(f, "2025-11-20", "A", "1");
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO sync_state VALUES "
				      "('last_attempt', '1763881200')",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	speak(f, env, "LANG=vi_VN.UTF-8", "TZ=Asia/Ho_Chi_Minh");
	AGENT(f, &r, "status");
	expect_exit(&r, 0);
	/* the catalog's format is day/month/year */
	assert_string_equal(vi_gettext("%Y-%m-%d %H:%M %Z"),
			    "%d/%m/%Y %H:%M %Z");
	snprintf(want, sizeof(want), "%s", vi_gettext("last attempt:"));
	expect_in("status", r.out, want);
	expect_in("status", r.out, "23/11/2025 14:00 +07");
	expect_in("status", r.out, literal_part(vi_gettext("pending:")));
	helper_proc_free(&r);

	speak(f, env, "LANG=C.UTF-8", "TZ=Asia/Ho_Chi_Minh");
	AGENT(f, &r, "status");
	expect_exit(&r, 0);
	expect_in("status", r.out, "last attempt:  2025-11-23 14:00 +07\n");
	helper_proc_free(&r);
	AGENT(f, &r, "status", "--json");
	expect_exit(&r, 0);
	j = json_out(&r);
	assert_string_equal(cJSON_GetObjectItem(j, "last_attempt")->valuestring,
			    "2025-11-23T07:00:00Z");
	cJSON_Delete(j);
	helper_proc_free(&r);
	f->o.env = f->sb.env;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_needs_keys,
						setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_help_everywhere, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_record_every_field, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_show_amend_void,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_good, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_vietnamese, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_only_data_dir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batch_body_is_canonical,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_unreachable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_languages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_init_vietnamese,
						setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_status_local_time, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
