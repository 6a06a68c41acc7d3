/* test_i18n.c - the agent's message catalog (po/): every marked string of
 * the sources is in po/tienbo.pot, every one of those is translated in
 * po/vi.po (neither missing nor fuzzy), the translations keep the printf
 * conversions of their msgid, every source file that uses the marks is
 * listed in po/POTFILES, and the compiled catalog of the build tree says
 * Vietnamese when the locale asks for it.
 *
 * The checks run GNU gettext's own tools (scripts/update-po.sh --check,
 * msgcmp, msgattrib, msgfmt --check) as subprocesses, so a failure shows
 * their listing of each string at fault. The CLI in both languages is in
 * test_agent_cli.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <locale.h>

#include "common/i18n.h"
#include "tests/helper_proc.h"

#define PO TB_SOURCE_DIR "/po/"

/* Runs the command; fails the test with what it printed when it does
 * not exit 0, or (quiet) when it prints anything on stdout. */
static void run_ok(const char *what, int quiet, const char *bin, ...)
{
	const char *argv[16];
	struct helper_proc_result r;
	struct helper_proc_opts o = { 0 };
	va_list ap;
	int n = 0, ok;

	argv[n++] = bin;
	va_start(ap, bin);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	o.timeout_ms = 60000;
	o.cwd = TB_SOURCE_DIR;
	assert_int_equal(helper_proc_run(argv, &o, &r), 0);
	ok = r.exited && r.exit_code == 0 && (!quiet || r.out_len == 0);
	if (!ok)
		fail_msg("%s (%s exited %d):\n%s%s", what, bin, r.exit_code,
			 r.out, r.err);
	helper_proc_free(&r);
}

/* A new _() string without its line in tienbo.pot fails here. */
static void test_pot_up_to_date(void **state)
{
	(void)state;
	run_ok("po/tienbo.pot does not match the sources", 0, "/bin/bash",
	       TB_SOURCE_DIR "/scripts/update-po.sh", "--check", NULL);
}

/* Every msgid untranslated or fuzzy in vi.po is listed. */
static void test_vi_complete(void **state)
{
	(void)state;
	run_ok("untranslated in po/vi.po (translate them: po/README.md)", 1,
	       "/usr/bin/msgattrib", "--untranslated", "--no-obsolete",
	       PO "vi.po", NULL);
	run_ok("fuzzy in po/vi.po (check the translation, then remove the "
	       "fuzzy flag)", 1, "/usr/bin/msgattrib", "--only-fuzzy",
	       "--no-obsolete", PO "vi.po", NULL);
	/* and nothing of tienbo.pot is missing from vi.po */
	run_ok("po/vi.po lacks messages of po/tienbo.pot (run "
	       "scripts/update-po.sh)", 0, "/usr/bin/msgcmp", PO "vi.po",
	       PO "tienbo.pot", NULL);
}

/* The same %d, %s, %lld in the same order; the header and plural forms
 * well-formed. */
static void test_vi_formats(void **state)
{
	(void)state;
	run_ok("po/vi.po fails msgfmt --check", 0, "/usr/bin/msgfmt",
	       "--check", "-o", "/dev/null", PO "vi.po", NULL);
}

static int potfiles_has(const char *list, const char *path)
{
	size_t n = strlen(path);
	const char *p = list;

	while ((p = strstr(p, path)) != NULL) {
		if ((p == list || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Every .c of agent/ and common/ that includes common/i18n.h (the marks)
 * is in po/POTFILES, so its strings are extracted. */
static void test_potfiles_complete(void **state)
{
	static const char *const dirs[] = { "agent", "common" };
	char *list = helper_proc_read_file(PO "POTFILES", NULL);
	char path[512], missing[2048] = "";
	struct dirent *d;
	size_t i, len;
	DIR *dir;

	(void)state;
	assert_non_null(list);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", TB_SOURCE_DIR, dirs[i]);
		dir = opendir(path);
		assert_non_null(dir);
		while ((d = readdir(dir)) != NULL) {
			char *text, rel[300];

			len = strlen(d->d_name);
			if (len < 3 || strcmp(d->d_name + len - 2, ".c") != 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", dirs[i], d->d_name);
			snprintf(path, sizeof(path), "%s/%s", TB_SOURCE_DIR,
				 rel);
			text = helper_proc_read_file(path, NULL);
			if (text && strstr(text, "#include \"common/i18n.h\"") &&
			    !potfiles_has(list, rel)) {
				len = strlen(missing);
				snprintf(missing + len, sizeof(missing) - len,
					 " %s", rel);
			}
			free(text);
		}
		closedir(dir);
	}
	free(list);
	if (missing[0])
		fail_msg("files with marks missing from po/POTFILES:%s",
			 missing);
}

/* The catalog the build compiled, as the agent binds it: msgid "en"
 * (agent/i18n.c's tb_i18n_is_vi) must say "vi". */
static void test_catalog_built(void **state)
{
	(void)state;
	unsetenv("LANGUAGE");
	if (!setlocale(LC_MESSAGES, "vi_VN.UTF-8"))
		fail_msg("no vi_VN.UTF-8 locale on this machine: run "
			 "scripts/deps.sh");
	bindtextdomain(TB_TEXT_DOMAIN, TB_BUILD_DIR "/locale");
	bind_textdomain_codeset(TB_TEXT_DOMAIN, "UTF-8");
	assert_string_equal(_("en"), "vi");
	setlocale(LC_MESSAGES, "C");
	assert_string_equal(_("en"), "en");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pot_up_to_date),
	    cmocka_unit_test(test_vi_complete),
	    cmocka_unit_test(test_vi_formats),
	    cmocka_unit_test(test_potfiles_complete),
	    cmocka_unit_test(test_catalog_built),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
