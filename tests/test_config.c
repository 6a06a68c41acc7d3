/* test_config.c - configuration files (common/config.c): every accepted
 * form, each refusal with FILE:LINE and key, set/get, atomic save with its
 * mode, and allocation failures. Fixtures: tests/data/common/config/;
 * byte-level cases are written to a temporary directory.
 */
#include <dirent.h>
#include <limits.h>
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

#include "common/config.h"
#include "common/err.h"
#include "common/mem.h"

#define DATA TB_SOURCE_DIR "/tests/data/common/config/"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	memcpy(tmpdir, "/tmp/tb-config-XXXXXX", 22);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char p[512];

	(void)state;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	return rmdir(tmpdir);
}

static const char *tmp_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

/* Writes n bytes to a new file in the temporary directory. */
static const char *write_tmp(const char *name, const void *bytes, size_t n,
                             char *buf, size_t len)
{
	FILE *f = fopen(tmp_path(name, buf, len), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Files in the temporary directory whose name starts with prefix. */
static size_t files_in_tmpdir(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void test_load_every_form(void **state)
{
	struct tb_config *c = NULL;
	char msg[256] = "";

	(void)state;
	assert_int_equal(tb_config_load(DATA "good.conf", &c, msg, sizeof(msg)),
	                 0);
	assert_non_null(c);
	assert_string_equal(tb_config_get(c, "server"),
	                    "https://tienbo.example.vn:8443");
	assert_int_equal(tb_config_line(c, "server"), 3);
	assert_string_equal(tb_config_get(c, "school"), "HB-001");
	assert_int_equal(tb_config_line(c, "school"), 4);
	/* Tabs around key and value go, inner blanks and diacritics stay. */
	assert_string_equal(tb_config_get(c, "name"), "Trường THCS Thanh Oai");
	assert_string_equal(tb_config_get(c, "query"), "a=b#c"); /* CRLF */
	assert_string_equal(tb_config_get(c, "empty"), "");
	assert_int_equal(tb_config_line(c, "empty"), 7);
	assert_string_equal(tb_config_get(c, "token-file"),
	                    "/var/lib/tienbo/token");
	/* The last line has no newline. */
	assert_string_equal(tb_config_get(c, "device_id"),
	                    "7c9e6679-7425-40de-944b-e07fc1f90ae7");
	assert_int_equal(tb_config_line(c, "device_id"), 11);
	assert_null(tb_config_get(c, "comment"));
	assert_null(tb_config_get(c, "missing"));
	assert_int_equal(tb_config_line(c, "missing"), 0);
	tb_config_destroy(c);
	tb_config_destroy(NULL);
}

static void expect_refusal(const char *path, int rc_want, const char *want)
{
	struct tb_config *c = (struct tb_config *)&c; /* must be reset */
	char msg[512] = "";

	assert_int_equal(tb_config_load(path, &c, msg, sizeof(msg)), rc_want);
	assert_null(c);
	assert_string_equal(msg, want);
}

static void test_refusals_name_file_line_key(void **state)
{
	(void)state;
	expect_refusal(DATA "missing-equals.conf", TB_ECONFIG,
	               DATA "missing-equals.conf:3: missing '=' "
	                    "(key 'school HB-001')");
	expect_refusal(DATA "duplicate.conf", TB_ECONFIG,
	               DATA "duplicate.conf:5: duplicate key, first set on "
	                    "line 2 (key 'school')");
	expect_refusal(DATA "bad-key.conf", TB_ECONFIG,
	               DATA "bad-key.conf:2: bad key, use a-z, 0-9, '_' or "
	                    "'-' starting with a-z (key 'School')");
	expect_refusal(DATA "empty-key.conf", TB_ECONFIG,
	               DATA "empty-key.conf:2: missing key before '='");
}

static void test_refusals_bytes(void **state)
{
	static const char utf8[] = "a = 1\nname = Tr\xc6\xb0\xe1\xbb\n";
	static const char nul[] = "a = 1\nb = x\0y\n";
	char path[256], want[512], *big;
	struct tb_config *c = NULL;
	char msg[512];

	(void)state;
	write_tmp("utf8.conf", utf8, sizeof(utf8) - 1, path, sizeof(path));
	snprintf(want, sizeof(want), "%s:2: invalid UTF-8", path);
	expect_refusal(path, TB_ECONFIG, want);
	write_tmp("nul.conf", nul, sizeof(nul) - 1, path, sizeof(path));
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	expect_refusal(path, TB_ECONFIG, want);

	/* "k = " + 4092 x 'v' is 4096 bytes: accepted, with CRLF too. One
	 * more byte is refused. */
	big = malloc(4200);
	assert_non_null(big);
	memcpy(big, "k = ", 4);
	memset(big + 4, 'v', 4092);
	memcpy(big + 4096, "\r\n", 2);
	write_tmp("long.conf", big, 4098, path, sizeof(path));
	assert_int_equal(tb_config_load(path, &c, msg, sizeof(msg)), 0);
	assert_int_equal(strlen(tb_config_get(c, "k")), 4092);
	tb_config_destroy(c);
	memcpy(big + 4096, "v\n", 2);
	write_tmp("long.conf", big, 4098, path, sizeof(path));
	snprintf(want, sizeof(want), "%s:1: line longer than 4096 bytes", path);
	expect_refusal(path, TB_ECONFIG, want);
	free(big);
}

static void test_missing_and_unreadable(void **state)
{
	struct tb_config *c = NULL;
	char path[256], msg[256];

	(void)state;
	assert_int_equal(
	    tb_config_load(tmp_path("nope.conf", path, sizeof(path)), &c, msg,
	                   sizeof(msg)),
	    TB_ENOTFOUND);
	assert_null(c);
	assert_non_null(strstr(msg, "nope.conf"));
	/* A directory opens but cannot be read. */
	assert_int_equal(tb_config_load(tmpdir, &c, msg, sizeof(msg)), TB_EIO);
	assert_null(c);
	assert_int_equal(strncmp(msg, tmpdir, strlen(tmpdir)), 0);
	/* A NULL message buffer is allowed. */
	assert_int_equal(tb_config_load(DATA "duplicate.conf", &c, NULL, 0),
	                 TB_ECONFIG);
}

static void test_set_and_replace(void **state)
{
	struct tb_config *c = NULL;
	char msg[256];

	(void)state;
	assert_int_equal(tb_config_load(DATA "good.conf", &c, msg, sizeof(msg)),
	                 0);
	assert_int_equal(tb_config_set(c, "school", "TO-007"), 0);
	assert_string_equal(tb_config_get(c, "school"), "TO-007");
	assert_int_equal(tb_config_line(c, "school"), 0);
	assert_int_equal(tb_config_set(c, "new-key_2", "x = y # z"), 0);
	assert_string_equal(tb_config_get(c, "new-key_2"), "x = y # z");
	assert_int_equal(tb_config_set(c, "Bad", "x"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "2bad", "x"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "", "x"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "bad key", "x"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "k", "a\nb"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "k", "a\rb"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "k", " a"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "k", "a\t"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "k", "\xff"), TB_EINVAL);
	assert_int_equal(tb_config_set(c, "k", NULL), TB_EINVAL);
	assert_null(tb_config_get(c, "k"));
	assert_string_equal(tb_config_get(c, "school"), "TO-007");
	tb_config_destroy(c);
}

static void test_save_load_round_trip(void **state)
{
	struct tb_config *c = tb_config_create(), *back = NULL;
	char path[256], msg[256], line[256];
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(c);
	assert_int_equal(tb_config_set(c, "server", "https://a.vn:8443"), 0);
	assert_int_equal(tb_config_set(c, "school", "HB-001"), 0);
	assert_int_equal(tb_config_set(c, "name", "Trường Mầm non Hoa Sen"), 0);
	assert_int_equal(tb_config_set(c, "empty", ""), 0);
	assert_int_equal(tb_config_set(c, "school", "HB-002"), 0);
	tmp_path("agent.conf", path, sizeof(path));
	assert_int_equal(
	    tb_config_save(c, path, 0600, "tienbo agent\nwritten by a test"),
	    0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(files_in_tmpdir("agent.conf"),
	                 1); /* no temporary left */

	/* Insertion order, header as comments, "key = value". */
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "# tienbo agent\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "# written by a test\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "server = https://a.vn:8443\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "school = HB-002\n");
	fclose(f);

	assert_int_equal(tb_config_load(path, &back, msg, sizeof(msg)), 0);
	assert_string_equal(tb_config_get(back, "server"), "https://a.vn:8443");
	assert_string_equal(tb_config_get(back, "school"), "HB-002");
	assert_int_equal(tb_config_line(back, "school"), 4);
	assert_string_equal(tb_config_get(back, "name"),
	                    "Trường Mầm non Hoa Sen");
	assert_string_equal(tb_config_get(back, "empty"), "");
	tb_config_destroy(back);

	/* Overwriting keeps one file and takes the new mode, whatever the
	 * umask; no header is fine. */
	umask(077);
	assert_int_equal(tb_config_save(c, path, 0644, NULL), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(files_in_tmpdir("agent.conf"), 1);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "server = https://a.vn:8443\n");
	fclose(f);
	unlink(path);

	assert_int_equal(
	    tb_config_save(c, "/nonexistent-dir/x.conf", 0600, NULL), TB_EIO);
	tb_config_destroy(c);
}

/* Fail each allocation of a load in turn: TB_ENOMEM, nothing returned,
 * nothing leaked (ASan). */
static void test_load_out_of_memory(void **state)
{
	struct tb_config *c = NULL;
	char msg[256];
	int rc = TB_ENOMEM;
	long nth;

	(void)state;
	for (nth = 1; nth < 100; nth++) {
		tb_mem_fail_at(nth);
		rc = tb_config_load(DATA "good.conf", &c, msg, sizeof(msg));
		tb_mem_fail_at(0);
		if (rc == 0)
			break;
		assert_int_equal(rc, TB_ENOMEM);
		assert_null(c);
	}
	assert_int_equal(rc, 0);
	assert_true(nth > 7); /* at least one allocation per setting */
	assert_string_equal(tb_config_get(c, "school"), "HB-001");
	tb_config_destroy(c);
}

static void test_set_out_of_memory(void **state)
{
	struct tb_config *c = tb_config_create();
	int rc = TB_ENOMEM;
	long nth;

	(void)state;
	assert_non_null(c);
	assert_int_equal(tb_config_set(c, "school", "HB-001"), 0);
	for (nth = 1; nth < 20; nth++) {
		tb_mem_fail_at(nth);
		rc = tb_config_set(c, "school", "HB-009");
		tb_mem_fail_at(0);
		if (rc == 0)
			break;
		assert_int_equal(rc, TB_ENOMEM);
		assert_string_equal(tb_config_get(c, "school"), "HB-001");
	}
	assert_int_equal(rc, 0);
	assert_string_equal(tb_config_get(c, "school"), "HB-009");
	for (nth = 1; nth < 20; nth++) {
		tb_mem_fail_at(nth);
		rc = tb_config_set(c, "server", "https://a.vn");
		tb_mem_fail_at(0);
		if (rc == 0)
			break;
		assert_int_equal(rc, TB_ENOMEM);
		assert_null(tb_config_get(c, "server"));
	}
	assert_int_equal(rc, 0);
	assert_string_equal(tb_config_get(c, "server"), "https://a.vn");
	tb_config_destroy(c);
}

/* Paths in a config file are relative to the file: listed keys holding a
 * relative path get the file's directory, made absolute; others, absolute
 * and empty values and URLs stay; the line number is kept. */
static void test_resolve_paths(void **state)
{
	static const char text[] = "db = office.db\nkey = /etc/k.pem\n"
				   "cert = \nname = a/b\nplans-dir = ../plans\n"
				   "url = postgresql://tienbo@db1/tienbo\n";
	static const char *const keys[] = { "db", "key", "cert", "plans-dir",
					    "url", "absent" };
	struct tb_config *c = NULL;
	char path[128], want[PATH_MAX + 32], real[PATH_MAX], cwd[PATH_MAX];
	char msg[256];

	(void)state;
	write_tmp("r.conf", text, sizeof(text) - 1, path, sizeof(path));
	assert_non_null(realpath(tmpdir, real));
	assert_int_equal(tb_config_load(path, &c, msg, sizeof(msg)), TB_OK);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0); /* the current directory plays no part */
	assert_int_equal(tb_config_resolve_paths(c, path, keys, 6), TB_OK);
	assert_int_equal(chdir(cwd), 0);
	snprintf(want, sizeof(want), "%s/office.db", real);
	assert_string_equal(tb_config_get(c, "db"), want);
	assert_int_equal(tb_config_line(c, "db"), 1);
	snprintf(want, sizeof(want), "%s/../plans", real);
	assert_string_equal(tb_config_get(c, "plans-dir"), want);
	assert_string_equal(tb_config_get(c, "key"), "/etc/k.pem");
	assert_string_equal(tb_config_get(c, "cert"), "");
	assert_string_equal(tb_config_get(c, "name"), "a/b"); /* not listed */
	/* a URL is not a path (db = postgresql://...) */
	assert_string_equal(tb_config_get(c, "url"),
			    "postgresql://tienbo@db1/tienbo");
	tb_config_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_every_form),
	    cmocka_unit_test(test_refusals_name_file_line_key),
	    cmocka_unit_test(test_refusals_bytes),
	    cmocka_unit_test(test_missing_and_unreadable),
	    cmocka_unit_test(test_set_and_replace),
	    cmocka_unit_test(test_save_load_round_trip),
	    cmocka_unit_test(test_load_out_of_memory),
	    cmocka_unit_test(test_set_out_of_memory),
	    cmocka_unit_test(test_resolve_paths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
