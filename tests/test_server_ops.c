/* test_server_ops.c - tienbo-server as an office runs it, with the real
 * binary: SIGHUP takes a renewed certificate (a TLS client is handed the
 * new one) and keeps serving, a bad one on SIGHUP keeps the old; an
 * expired certificate and a key others can read are refused at start
 * (key_permissions = allow lifts the latter); a mistyped --db is refused
 * and nothing is created, an unrelated SQLite file refused and left
 * byte for byte; /healthz answers 503 with the reason when the disk is
 * below min_free_mb (changed live by SIGHUP) or the database cannot take
 * a write; a refused token's log line carries the client's address, the
 * token's first 8 characters and its school, never the token; the
 * database, WAL and SHM files are 0600 under umask 022.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/helper_proc.h"
#include "tests/helper_server.h"

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* 1 once the server's log holds needle (waits up to 10 s). */
static int log_has(const struct helper_server *s, const char *needle)
{
	int i;

	for (i = 0; i < 500; i++) {
		char *log = helper_proc_read_file(s->log, NULL);
		int found = log && strstr(log, needle) != NULL;

		free(log);
		if (found)
			return 1;
		sleep_ms(20);
	}
	helper_server_log_tail(s, 3000);
	return 0;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The notAfter line of the certificate the server hands a TLS client,
 * "notAfter=Mar 11 20:01:12 2029 GMT", into out (128). */
static void served_not_after(const struct helper_server *s, char *out)
{
	char cmd[512];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "openssl s_client -connect 127.0.0.1:%u "
		 "</dev/null 2>/dev/null | openssl x509 -noout -enddate "
		 "2>/dev/null", s->port);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(out, 128, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
}

static long healthz(struct helper_server *s, char *body, size_t len)
{
	struct helper_server_resp r;
	long status;

	assert_int_equal(helper_server_request(s, "GET", "/healthz", NULL, NULL,
					       NULL, NULL, 0, 0, &r), 0);
	status = r.status;
	if (body)
		snprintf(body, len, "%s", r.body ? r.body : "");
	helper_server_resp_free(&r);
	return status;
}

/* Certificates made by scripts/mkcerts.sh into s->dir/sub, valid days,
 * made `ago` days in the past (faketime), or -1. */
static int mkcerts(const struct helper_server *s, const char *sub, int days,
		   int ago)
{
	char when[40] = "";

	if (ago)
		snprintf(when, sizeof(when), "faketime -f -%dd ", ago);
	return sh("TB_CERT_DAYS=%d %sbash '%s/scripts/mkcerts.sh' '%s/%s' "
		  ">/dev/null 2>&1", days, when, TB_SOURCE_DIR, s->dir,
		  sub) == 0 ? 0 : -1;
}

static void test_sighup_reloads_certificate(void **state)
{
	struct helper_server s;
	char before[128], after[128], body[512], body2[512];

	(void)state;
	assert_int_equal(helper_server_up(&s), 0);
	served_not_after(&s, before);
	assert_non_null(strstr(before, "notAfter="));
	assert_int_equal(healthz(&s, body, sizeof(body)), 200);
	/* a renewal: another CA and 400 days, copied over the files */
	assert_int_equal(mkcerts(&s, "new", 400, 0), 0);
	assert_int_equal(sh("cp '%s/new/server.pem' '%s' && cp '%s/new/server.key'"
			    " '%s'", s.dir, s.cert, s.dir, s.key), 0);
	helper_server_signal(&s, SIGHUP);
	assert_true(log_has(&s, "reload (SIGHUP): changed certificate ("));
	served_not_after(&s, after);
	assert_non_null(strstr(after, "notAfter="));
	assert_string_not_equal(after, before);
	/* verified against the new CA: the new chain is served */
	snprintf(s.ca, sizeof(s.ca), "%s/new/ca.pem", s.dir);
	assert_int_equal(healthz(&s, body2, sizeof(body2)), 200);
	assert_string_not_equal(body, body2); /* cert_not_after moved */
	assert_non_null(strstr(body2, "\"cert_days_left\":399") ?
			strstr(body2, "\"cert_days_left\":399")
			: strstr(body2, "\"cert_days_left\":400"));
	/* a bad certificate on SIGHUP: logged, the running pair kept */
	assert_int_equal(sh("echo 'not a certificate' > '%s'", s.cert), 0);
	helper_server_signal(&s, SIGHUP);
	assert_true(log_has(&s, "keeping the certificate and key in use"));
	served_not_after(&s, before);
	assert_string_equal(before, after);
	assert_int_equal(healthz(&s, NULL, 0), 200);
	/* a key of another certificate: the same */
	assert_int_equal(mkcerts(&s, "other", 400, 0), 0);
	assert_int_equal(sh("cp '%s/new/server.pem' '%s' && cp "
			    "'%s/other/server.key' '%s'", s.dir, s.cert, s.dir,
			    s.key), 0);
	helper_server_signal(&s, SIGHUP);
	assert_true(log_has(&s, "is not the key of the certificate"));
	assert_int_equal(healthz(&s, NULL, 0), 200);
	assert_int_equal(helper_server_stop(&s), 0);
	helper_server_teardown(&s);
}

static void test_start_refusals(void **state)
{
	struct helper_server s;
	const char *allow[] = { "--key-permissions", "allow", NULL };
	char *log;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	/* a key others can read */
	assert_int_equal(chmod(s.key, 0644), 0);
	assert_int_not_equal(helper_server_start(&s, NULL), 0);
	log = helper_proc_read_file(s.log, NULL);
	assert_non_null(strstr(log, "can be read by others (mode 0644)"));
	assert_non_null(strstr(log, "key_permissions = allow"));
	free(log);
	assert_int_equal(helper_server_start(&s, allow), 0);
	assert_int_equal(helper_server_stop(&s), 0);
	/* an expired certificate: named with its notAfter, exit 78 */
	assert_int_equal(chmod(s.key, 0600), 0);
	assert_int_equal(mkcerts(&s, "old", 30, 1000), 0);
	snprintf(s.cert, sizeof(s.cert), "%s/old/server.pem", s.dir);
	snprintf(s.key, sizeof(s.key), "%s/old/server.key", s.dir);
	assert_int_not_equal(helper_server_start(&s, NULL), 0);
	log = helper_proc_read_file(s.log, NULL);
	assert_non_null(strstr(log, "/old/server.pem expired on "));
	assert_non_null(strstr(log, "(notAfter)"));
	free(log);
	helper_server_teardown(&s);
}

static void test_db_refusals(void **state)
{
	struct helper_server s;
	struct helper_proc_result r;
	char missing[600], other[600], want[1400];
	const char *units[] = { TB_SERVER_BIN, "units", "--db", missing, NULL };
	const char *enroll[] = { TB_SERVER_BIN, "enroll", "--db", other,
				 "--school", "HB-101", "--name", "x",
				 "--district", "HB-D", NULL };
	char *before, *after;
	size_t blen = 0, alen = 0;
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	snprintf(missing, sizeof(missing), "%s/ofice.db", s.dir);
	assert_int_equal(helper_proc_run(units, NULL, &r), 0);
	assert_int_equal(r.exit_code, 65);
	snprintf(want, sizeof(want), "tienbo-server: %s: no such database; "
		 "create one with tienbo-server init-db --db %s\n", missing,
		 missing);
	assert_string_equal(r.err, want);
	helper_proc_free(&r);
	assert_int_equal(access(missing, F_OK), -1);
	snprintf(want, sizeof(want), "%s-wal", missing);
	assert_int_equal(access(want, F_OK), -1);
	/* an unrelated SQLite file: refused, left byte for byte */
	snprintf(other, sizeof(other), "%s/photos.sqlite", s.dir);
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE albums(name TEXT);"
				      "INSERT INTO albums VALUES('2025')",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	before = helper_proc_read_file(other, &blen);
	assert_int_equal(helper_proc_run(enroll, NULL, &r), 0);
	assert_int_equal(r.exit_code, 65);
	assert_non_null(strstr(r.err, "photos.sqlite: not a tienbo-server "
				      "database (no schema version, and its "
				      "tables are not tienbo's: albums"));
	helper_proc_free(&r);
	after = helper_proc_read_file(other, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(after);
	/* not SQLite at all: the same exit, named */
	assert_int_equal(sh("echo 'school,name' > '%s'", other), 0);
	assert_int_equal(helper_proc_run(enroll, NULL, &r), 0);
	assert_int_equal(r.exit_code, 65);
	assert_non_null(strstr(r.err, "photos.sqlite: not a tienbo-server "
				      "database (not an SQLite file"));
	helper_proc_free(&r);
	/* serve too */
	memcpy(s.db, missing, strlen(missing) + 1); /* < sizeof(s.db) */
	assert_int_not_equal(helper_server_start(&s, NULL), 0);
	assert_int_equal(access(missing, F_OK), -1);
	free(before);
	helper_server_teardown(&s);
}

static void test_healthz_refusals(void **state)
{
	struct helper_server s;
	char conf[600], body[512];
	const char *extra[] = { "--config", conf, "--busy-timeout-ms", "300",
				NULL };
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(helper_server_setup(&s), 0);
	snprintf(conf, sizeof(conf), "%s/server.conf", s.dir);
	assert_int_equal(sh("echo 'min_free_mb = 1' > '%s'", conf), 0);
	assert_int_equal(helper_server_start(&s, extra), 0);
	/* more than the disk has: 503, named disk full, live by SIGHUP */
	assert_int_equal(sh("echo 'min_free_mb = 10000000' > '%s'", conf), 0);
	helper_server_signal(&s, SIGHUP);
	assert_true(log_has(&s, "changed min_free_mb 1 -> 10000000"));
	assert_int_equal(healthz(&s, body, sizeof(body)), 503);
	assert_non_null(strstr(body, "\"message\":\"disk full: "));
	assert_non_null(strstr(body, "below min_free_mb 10000000"));
	assert_true(log_has(&s, "GET /healthz 503 "));
	assert_true(log_has(&s, "reason: disk full: "));
	assert_int_equal(sh("echo 'min_free_mb = 1' > '%s'", conf), 0);
	helper_server_signal(&s, SIGHUP);
	assert_true(log_has(&s, "changed min_free_mb 10000000 -> 1"));
	assert_int_equal(healthz(&s, NULL, 0), 200);
	/* the database cannot take a write: another process holds it */
	assert_int_equal(sqlite3_open(s.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(healthz(&s, body, sizeof(body)), 503);
	assert_non_null(strstr(body, "database not writable: "));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(healthz(&s, NULL, 0), 200);
	/* a setting that needs a restart is named, not applied */
	assert_int_equal(sh("printf 'min_free_mb = 1\\nworkers = 3\\n' > '%s'",
			    conf), 0);
	helper_server_signal(&s, SIGHUP);
	assert_true(log_has(&s, "reload: workers changed, which takes effect "
				"only at a restart"));
	assert_int_equal(helper_server_stop(&s), 0);
	helper_server_teardown(&s);
}

static void test_refused_token_logged(void **state)
{
	struct helper_server s;
	struct helper_server_resp r;
	const char *revoke[] = { "revoke", "--school", "HB-101", NULL };
	char token[65], want[160], *log;

	(void)state;
	assert_int_equal(helper_server_up(&s), 0);
	assert_int_equal(helper_server_enroll(&s, "HB-101", "HB-D", token), 0);
	assert_int_equal(helper_server_run(&s, NULL, 0, revoke), 0);
	assert_int_equal(helper_server_request(&s, "GET", "/v1/cursor?device="
					       "00000000-0000-4000-8000-000000000001",
					       token, NULL, NULL, NULL, 0, 0,
					       &r), 0);
	assert_int_equal(r.status, 401);
	helper_server_resp_free(&r);
	snprintf(want, sizeof(want), "GET /v1/cursor 401 ");
	assert_true(log_has(&s, want));
	snprintf(want, sizeof(want), "client=127.0.0.1 token=%.8s school=HB-101"
		 " reason: unknown or revoked token", token);
	assert_true(log_has(&s, want));
	log = helper_proc_read_file(s.log, NULL);
	assert_null(strstr(log, token + 8)); /* never more than 8 */
	free(log);
	assert_int_equal(helper_server_stop(&s), 0);
	helper_server_teardown(&s);
}

static void test_db_files_0600(void **state)
{
	struct helper_server s;
	char path[600];
	struct stat st;
	const char *sfx[] = { "", "-wal", "-shm" };
	mode_t old = umask(022);
	size_t i;

	(void)state;
	assert_int_equal(helper_server_up(&s), 0);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", s.db, sfx[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(helper_server_stop(&s), 0);
	/* an existing file's mode is left as it is, not widened */
	assert_int_equal(chmod(s.db, 0640), 0);
	assert_int_equal(helper_server_start(&s, NULL), 0);
	assert_int_equal(stat(s.db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(helper_server_stop(&s), 0);
	helper_server_teardown(&s);
	umask(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sighup_reloads_certificate),
		cmocka_unit_test(test_start_refusals),
		cmocka_unit_test(test_db_refusals),
		cmocka_unit_test(test_healthz_refusals),
		cmocka_unit_test(test_refused_token_logged),
		cmocka_unit_test(test_db_files_0600),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
