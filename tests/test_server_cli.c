/* test_server_cli.c - tienbo-server's local side: tokens (made, hashed,
 * compared), settings from a file and the command line, and the commands
 * enroll, devices, revoke, admin-token and serve's refusals, run as the
 * real binary against a real SQLite file. The token's SHA-256 is worked out
 * here with GnuTLS and compared with what the database holds; the token
 * text itself must appear nowhere in the database files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "server/settings.h"
#include "server/token.h"
#include "tests/helper_server.h"

#define DATA TB_SOURCE_DIR "/tests/data/server/"

static struct helper_server srv;

static int group_setup(void **state)
{
	(void)state;
	return helper_server_setup(&srv);
}

static int group_teardown(void **state)
{
	(void)state;
	helper_server_teardown(&srv);
	return 0;
}

/* ---- tokens, in process ---------------------------------------------- */

static void test_token(void **state)
{
	char a[TB_TOKEN_LEN + 1], b[TB_TOKEN_LEN + 1];
	unsigned char h1[TB_TOKEN_HASH_LEN], h2[TB_TOKEN_HASH_LEN];
	/* SHA-256("abc"), FIPS 180-2 appendix B.1 */
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
	};

	(void)state;
	assert_int_equal(tb_token_new(a), 0);
	assert_int_equal(tb_token_new(b), 0);
	assert_int_equal(strlen(a), 64);
	assert_true(tb_token_well_formed(a));
	assert_string_not_equal(a, b);
	assert_false(tb_token_well_formed("abc"));
	a[5] = 'G';
	assert_false(tb_token_well_formed(a));
	assert_int_equal(tb_token_hash("abc", h1), 0);
	assert_memory_equal(h1, abc, 32);
	assert_true(tb_token_hash_equal(h1, abc));
	memcpy(h2, h1, sizeof(h2));
	h2[31] ^= 1;
	assert_false(tb_token_hash_equal(h1, h2));
	h2[31] ^= 1;
	h2[0] ^= 0x80;
	assert_false(tb_token_hash_equal(h1, h2));
}

/* ---- settings, in process -------------------------------------------- */

static const struct tb_opt opts[] = {
	{ "school", 0, "CODE", "a school" },
	{ "include-voided", 1, "", "a flag" },
};

static int parse(int argc, char **argv, struct tb_config **cfg, char *msg)
{
	return tb_settings_parse(argc, argv, opts, 2, cfg, msg, 256);
}

static void test_settings(void **state)
{
	char *a1[] = { "--config", DATA "server.conf", "--workers", "5",
		       "--school=HB-001", "--include-voided" };
	char *a2[] = { "--config", DATA "unknown-key.conf" };
	char *a3[] = { "--nope", "1" };
	char *a4[] = { "--workers", "1", "--workers", "2" };
	char *a5[] = { "stray" };
	char *a6[] = { "--workers", "lots" };
	char *a7[] = { "--config", DATA "bad-choice.conf" };
	char *a8[] = { "--include-voided=yes" };
	char *a9[] = { "--config", DATA "does-not-exist.conf" };
	struct tb_config *cfg = NULL;
	char msg[256];
	long n = 0;

	(void)state;
	assert_int_equal(parse(6, a1, &cfg, msg), 0);
	/* file values, the command line winning, defaults for the rest */
	assert_string_equal(tb_settings_get(cfg, "listen"), "127.0.0.1:9443");
	assert_int_equal(tb_settings_long(cfg, "workers", &n, msg, 256), 0);
	assert_int_equal(n, 5);
	assert_int_equal(tb_settings_long(cfg, "max_uploads", &n, msg, 256), 0);
	assert_int_equal(n, 12);
	assert_int_equal(tb_settings_long(cfg, "retry_after", &n, msg, 256), 0);
	assert_int_equal(n, 9);
	assert_int_equal(tb_settings_long(cfg, "timeout", &n, msg, 256), 0);
	assert_int_equal(n, 30);
	assert_string_equal(tb_settings_get(cfg, "synchronous"), "normal");
	assert_string_equal(tb_settings_get(cfg, "db"), "tienbo-server.db");
	assert_string_equal(tb_settings_get(cfg, "school"), "HB-001");
	assert_non_null(tb_settings_get(cfg, "include_voided"));
	assert_null(tb_settings_get(cfg, "district"));
	tb_config_destroy(cfg);

	assert_int_equal(parse(2, a2, &cfg, msg), TB_ECONFIG);
	assert_null(cfg);
	assert_non_null(strstr(msg, "unknown-key.conf:2:"));
	assert_non_null(strstr(msg, "listne"));
	assert_int_equal(parse(2, a3, &cfg, msg), TB_EUSAGE);
	assert_non_null(strstr(msg, "--nope"));
	assert_int_equal(parse(4, a4, &cfg, msg), TB_EUSAGE);
	assert_non_null(strstr(msg, "twice"));
	assert_int_equal(parse(1, a5, &cfg, msg), TB_EUSAGE);
	assert_int_equal(parse(2, a7, &cfg, msg), TB_ECONFIG);
	assert_non_null(strstr(msg, "synchronous"));
	assert_int_equal(parse(1, a8, &cfg, msg), TB_EUSAGE);
	assert_int_equal(parse(2, a9, &cfg, msg), TB_ECONFIG);

	assert_int_equal(parse(2, a6, &cfg, msg), 0);
	assert_int_equal(tb_settings_long(cfg, "workers", &n, msg, 256),
			 TB_ECONFIG);
	assert_non_null(strstr(msg, "workers"));
	tb_config_destroy(cfg);
}

/* ---- the binary ------------------------------------------------------ */

static char *last_line(char *out)
{
	char *end = out + strlen(out), *nl;

	while (end > out && end[-1] == '\n')
		*--end = '\0';
	nl = strrchr(out, '\n');
	return nl ? nl + 1 : out;
}

/* 1 if needle occurs anywhere in the file's bytes. */
static int file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	size_t n = strlen(needle), len = 0, cap = 1 << 16, got;
	char *buf = malloc(cap);
	int found = 0;

	if (!f || !buf) {
		free(buf);
		if (f)
			fclose(f);
		return 0;
	}
	while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			char *p = realloc(buf, cap * 2);

			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
	}
	fclose(f);
	for (size_t i = 0; i + n <= len && !found; i++)
		found = memcmp(buf + i, needle, n) == 0;
	free(buf);
	return found;
}

static void test_enroll_stores_only_hash(void **state)
{
	const char *args[] = { "enroll", "--school", "HB-401", "--name",
			       "Trường Mầm non Hoa Sen", "--district", "HB-DB",
			       "--level", "MN", NULL };
	char out[2048], *token, sql[256], wal[600];
	unsigned char want[32];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	(void)state;
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), args), 0);
	token = last_line(out);
	assert_true(tb_token_well_formed(token));
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, token, 64, want), 0);

	assert_int_equal(sqlite3_open(srv.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT token_prefix, token_hash,"
					    " device, revoked_at FROM devices "
					    "WHERE school = 'HB-401'", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_memory_equal(sqlite3_column_text(st, 0), token, 12);
	assert_int_equal(sqlite3_column_bytes(st, 0), 12);
	assert_int_equal(sqlite3_column_bytes(st, 1), 32);
	assert_memory_equal(sqlite3_column_blob(st, 1), want, 32);
	assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* The whole token appears in no database file; its second half (not
	 * the stored selector) neither. */
	assert_false(file_contains(srv.db, token));
	assert_false(file_contains(srv.db, token + 32));
	snprintf(wal, sizeof(wal), "%s-wal", srv.db);
	assert_false(file_contains(wal, token + 32));

	/* school -> district -> province rows */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM units WHERE "
		 "(code='HB-401' AND type='school' AND district='HB-DB' AND "
		 "province='HB' AND level='MN') OR (code='HB-DB' AND "
		 "type='district' AND province='HB') OR (code='HB' AND "
		 "type='province')");
	assert_int_equal(helper_server_count(&srv, sql), 3);
}

static void test_enroll_refusals(void **state)
{
	const char *bad_level[] = { "enroll", "--school", "HB-402", "--name",
				    "X", "--district", "HB-DB", "--level",
				    "university", NULL };
	const char *no_name[] = { "enroll", "--school", "HB-402", "--district",
				  "HB-DB", NULL };
	const char *bad_code[] = { "enroll", "--school", "hb 402", "--name",
				   "X", "--district", "HB-DB", NULL };
	const char *moved[] = { "enroll", "--school", "HB-401", "--name", "X",
				"--district", "HB-OTHER", NULL };
	const char *district_as_school[] = { "enroll", "--school", "HB-DB",
					     "--name", "X", "--district",
					     "HB-D2", NULL };
	const char *again[] = { "enroll", "--school", "HB-401", "--name",
				"Trường Mầm non Hoa Sen", "--district", "HB-DB",
				NULL };
	int64_t units;

	(void)state;
	units = helper_server_count(&srv, "SELECT count(*) FROM units");
	assert_int_equal(helper_server_run(&srv, NULL, 0, bad_level), 65);
	assert_int_equal(helper_server_run(&srv, NULL, 0, no_name), 64);
	assert_int_equal(helper_server_run(&srv, NULL, 0, bad_code), 65);
	assert_int_equal(helper_server_run(&srv, NULL, 0, moved), 65);
	assert_int_equal(helper_server_run(&srv, NULL, 0, district_as_school),
			 65);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM units"),
			 units);
	/* A second device for the same school: a second token, no new unit. */
	assert_int_equal(helper_server_run(&srv, NULL, 0, again), 0);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM units"),
			 units);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM devices"
					     " WHERE school='HB-401'"), 2);
}

static void test_devices_and_revoke(void **state)
{
	char t1[65], t2[65], t3[65], out[4096], prefix[9];
	const char *list[] = { "devices", "--school", "HB-411", NULL };
	const char *too_short[] = { "revoke", "--token-prefix", "abc", NULL };
	const char *none[] = { "revoke", "--token-prefix", "ffffffffffff",
			       NULL };
	const char *nothing[] = { "revoke", NULL };
	const char *by_school[] = { "revoke", "--school", "HB-412", NULL };
	const char *by_id[] = { "revoke", "--device", "999999", NULL };
	const char *by_prefix[] = { "revoke", "--token-prefix", prefix, NULL };

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-411", "HB-DB", t1), 0);
	assert_int_equal(helper_server_enroll(&srv, "HB-411", "HB-DB", t2), 0);
	assert_int_equal(helper_server_enroll(&srv, "HB-412", "HB-DB", t3), 0);
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), list), 0);
	assert_non_null(strstr(out, "SCHOOL"));
	memcpy(prefix, t1, 8);
	prefix[8] = '\0';
	assert_non_null(strstr(out, prefix));
	assert_null(strstr(out, t1)); /* never the whole token */
	assert_null(strstr(out, "HB-412"));

	assert_int_equal(helper_server_run(&srv, NULL, 0, too_short), 65);
	if (strncmp(t3, "ffffffffffff", 12) != 0)
		assert_int_equal(helper_server_run(&srv, NULL, 0, none), 65);
	assert_int_equal(helper_server_run(&srv, NULL, 0, nothing), 64);
	assert_int_equal(helper_server_run(&srv, NULL, 0, by_id), 65);
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), by_prefix), 0);
	assert_non_null(strstr(out, "revoked 1 token"));
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM devices"
					     " WHERE school='HB-411' AND "
					     "revoked_at IS NOT NULL"), 1);
	/* Revoking again changes nothing and says so. */
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), by_prefix), 0);
	assert_non_null(strstr(out, "revoked 0 tokens"));
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), by_school), 0);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM devices"
					     " WHERE revoked_at IS NULL AND "
					     "school IN ('HB-411','HB-412')"), 1);
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), list), 0);
	assert_non_null(strstr(out, "revoked 20"));
	assert_non_null(strstr(out, "active"));
}

static void test_admin_token(void **state)
{
	const char *args[] = { "admin-token", NULL };
	char out[1024], *token;
	unsigned char want[32];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	(void)state;
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), args), 0);
	token = last_line(out);
	assert_true(tb_token_well_formed(token));
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, token, 64, want), 0);
	assert_int_equal(sqlite3_open(srv.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM "
					    "admin_tokens WHERE token_hash = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, want, 32, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_false(file_contains(srv.db, token + 32));
}

static void test_serve_refusals(void **state)
{
	char out[4096];
	const char *no_cert[] = { "serve", "--listen", "127.0.0.1:0", NULL };
	const char *bad_listen[] = { "serve", "--listen", "nowhere",
				     "--cert", srv.cert, "--key", srv.key, NULL };
	const char *key_as_cert[] = { "serve", "--listen", "127.0.0.1:0",
				      "--cert", srv.key, "--key", srv.key,
				      "--drain-timeout", "0", NULL };
	const char *help[] = { "serve", "--help", NULL };
	const char *unknown[] = { "frobnicate", NULL };

	(void)state;
	assert_int_equal(helper_server_run(&srv, NULL, 0, no_cert), 78);
	assert_int_equal(helper_server_run(&srv, NULL, 0, bad_listen), 78);
	/* checked before listening (server/tlscert.h): configuration */
	assert_int_equal(helper_server_run(&srv, NULL, 0, key_as_cert), 78);
	assert_int_equal(helper_server_run(&srv, out, sizeof(out), help), 0);
	assert_non_null(strstr(out, "--max-uploads"));
	assert_non_null(strstr(out, "--listen"));
	assert_int_equal(helper_server_run(&srv, NULL, 0, unknown), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_enroll_stores_only_hash),
		cmocka_unit_test(test_enroll_refusals),
		cmocka_unit_test(test_devices_and_revoke),
		cmocka_unit_test(test_admin_token),
		cmocka_unit_test(test_serve_refusals),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
