/* fuzz_config.c - libFuzzer target: the "key = value" config parser
 * (common/config.h, tb_config_load), which reads the agent's agent.conf
 * and the server's server.conf.
 *
 * The input is written to a scratch file and loaded. When it loads, a
 * small reference reading of the same bytes (split on LF, drop one CR
 * before it, skip a BOM at the very start, trim blanks, skip blank and
 * '#' lines, cut at the first '=')
 * must find every setting with the same value and line number. Then the
 * settings are copied into a new config with tb_config_set, which may
 * refuse only what config.h says it refuses (a CR in the value, a line
 * over 4096 bytes once written as "key = value"), saved with
 * tb_config_save and loaded again: every value must read back unchanged.
 * The same file is then read as the server's settings (server/settings.h,
 * `--config FILE`): refused with TB_ECONFIG or TB_EUSAGE and a message,
 * or accepted with every integer setting either in its limits or refused.
 * Seeds: tests/data/common/config/ and tests/data/server/ (scripts/fuzz.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "common/mem.h"
#include "fuzz/fuzz_util.h"
#include "server/settings.h"

#define LINE_MAX_BYTES 4096

struct ref_setting {
	const char *key, *value; /* into the reference copy */
	int line;
};

/* Trims blanks in place; returns the new start. */
static char *ref_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* The reference reading of a file that tb_config_load accepted: fills
 * set[0..*n) from copy (a NUL-terminated copy of the input, cut up). */
static void ref_read(char *copy, struct ref_setting *set, size_t cap,
		     size_t *n)
{
	char *line = copy, *next, *eq, *s;
	int lineno = 0;

	*n = 0;
	while (line && *line) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (*line && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
			line += 3; /* a BOM at the very start is skipped */
		s = ref_trim(line);
		if (*s && *s != '#') {
			eq = strchr(s, '=');
			fuzz_util_check(eq != NULL, "an accepted setting has '='");
			*eq = '\0';
			fuzz_util_check(*n < cap, "reference table big enough");
			set[*n].key = ref_trim(s);
			set[*n].value = ref_trim(eq + 1);
			set[*n].line = lineno;
			(*n)++;
		}
		line = next;
	}
}

static void check_against_reference(const struct tb_config *c,
				    const struct ref_setting *set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = tb_config_get(c, set[i].key);

		fuzz_util_check(v && strcmp(v, set[i].value) == 0,
				"every setting is read with its value");
		fuzz_util_check(tb_config_line(c, set[i].key) == set[i].line,
				"every setting keeps its line number");
	}
}

/* set -> save -> load gives the same values back. */
static void check_save_roundtrip(const struct ref_setting *set, size_t n)
{
	struct tb_config *c = tb_config_create(), *back = NULL;
	char path[512], msg[512];
	size_t i;
	int rc;

	fuzz_util_check(c != NULL, "config created");
	for (i = 0; i < n; i++) {
		rc = tb_config_set(c, set[i].key, set[i].value);
		if (rc == 0)
			continue;
		fuzz_util_check(rc == TB_EINVAL &&
					(strchr(set[i].value, '\r') ||
					 strlen(set[i].key) + 3 +
							 strlen(set[i].value) >
						 LINE_MAX_BYTES),
				"set refuses a loaded value only for a CR or "
				"the line length");
		tb_config_destroy(c);
		return;
	}
	fuzz_util_path(path, sizeof(path), "saved.conf");
	fuzz_util_check(tb_config_save(c, path, 0600, "fuzz\nround trip") ==
				0,
			"a config saves");
	rc = tb_config_load(path, &back, msg, sizeof(msg));
	if (rc != 0)
		fprintf(stderr, "reload: %s\n", msg);
	fuzz_util_check(rc == 0, "a saved config loads");
	for (i = 0; i < n; i++) {
		const char *v = tb_config_get(back, set[i].key);

		fuzz_util_check(v && strcmp(v, set[i].value) == 0,
				"a saved value reads back unchanged");
	}
	tb_config_destroy(back);
	tb_config_destroy(c);
}

/* The file as server.conf. */
static void check_settings(const char *path)
{
	static const char *const ints[] = {
		"workers", "max_connections", "per_ip_connections", "timeout",
		"max_uploads", "device_uploads", "upload_timeout",
		"busy_timeout_ms", "retry_after", "drain_timeout"};
	char *argv[] = {"--config", (char *)path, NULL};
	struct tb_config *c = NULL;
	char msg[512] = "";
	long n;
	int rc;

	rc = tb_settings_parse(2, argv, NULL, 0, &c, msg, sizeof(msg));
	fuzz_util_check(rc == 0 || rc == TB_ECONFIG || rc == TB_EUSAGE,
			"settings: 0, TB_ECONFIG or TB_EUSAGE");
	fuzz_util_check((rc == 0) == (c != NULL) && (rc == 0 || msg[0]),
			"settings: a config, or a message");
	for (size_t i = 0; c && i < sizeof(ints) / sizeof(*ints); i++) {
		rc = tb_settings_long(c, ints[i], &n, msg, sizeof(msg));
		fuzz_util_check(rc == 0 || rc == TB_ECONFIG,
				"an integer setting is read or refused");
	}
	tb_config_destroy(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref_setting set[8192];
	struct tb_config *c = NULL;
	char path[512], msg[512], *copy;
	size_t n = 0;
	int rc;

	fuzz_util_path(path, sizeof(path), "input.conf");
	fuzz_util_write(path, data, size);
	msg[0] = '\0';
	check_settings(path);
	rc = tb_config_load(path, &c, msg, sizeof(msg));
	fuzz_util_check(rc == 0 || rc == TB_ECONFIG,
			"load returns 0 or TB_ECONFIG");
	fuzz_util_check((rc == 0) == (c != NULL), "*out set exactly on success");
	if (rc != 0) {
		fuzz_util_check(strncmp(msg, path, strlen(path)) == 0 &&
					msg[strlen(path)] == ':',
				"a refusal names the file and line");
		return 0;
	}
	copy = malloc(size + 1);
	fuzz_util_check(copy != NULL, "malloc");
	memcpy(copy, data, size);
	copy[size] = '\0';
	fuzz_util_check(strlen(copy) == size, "an accepted file has no NUL");
	ref_read(copy, set, sizeof(set) / sizeof(*set), &n);
	check_against_reference(c, set, n);
	check_save_roundtrip(set, n);
	free(copy);
	tb_config_destroy(c);
	return 0;
}
