/* config.c - "key = value" configuration files (format in config.h).
 *
 * Used by the agent (its enrolment: server, school, device, token file)
 * and the server (listen address, database, certificate paths). Settings
 * are kept in an array in the order they were read or set; files are
 * small, so lookups are linear. Loading stops at the first bad line with
 * "FILE:LINE: problem (key 'k')"; saving writes a temporary file in the
 * same directory, fsyncs it, renames it over the target and fsyncs the
 * directory, so a crash leaves either the old file or the new one.
 */
#include "common/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/utf8.h"

#define LINE_MAX_BYTES 4096

struct setting {
	char *key;
	char *value;
	int line;
};

struct tb_config {
	struct setting *items;
	size_t count, cap;
};

struct tb_config *tb_config_create(void)
{
	return tb_calloc(1, sizeof(struct tb_config));
}

void tb_config_destroy(struct tb_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++) {
		tb_free(c->items[i].key);
		tb_free(c->items[i].value);
	}
	tb_free(c->items);
	tb_free(c);
}

static int key_valid(const char *k)
{
	if (!k || !(*k >= 'a' && *k <= 'z'))
		return 0;
	for (k++; *k; k++) {
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
		      *k == '_' || *k == '-'))
			return 0;
	}
	return 1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A setting reads back unchanged only if its value has no line break,
 * is valid UTF-8, has no blanks at either end and the line "key = value"
 * fits the line limit. */
static int value_valid(const char *k, const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (!v || strlen(k) + 3 + n > LINE_MAX_BYTES || strpbrk(v, "\r\n"))
		return 0;
	if (n && (is_blank(v[0]) || is_blank(v[n - 1])))
		return 0;
	return tb_utf8_valid(v);
}

static struct setting *find(const struct tb_config *c, const char *key)
{
	for (size_t i = 0; c && key && i < c->count; i++)
		if (strcmp(c->items[i].key, key) == 0)
			return &c->items[i];
	return NULL;
}

const char *tb_config_get(const struct tb_config *c, const char *key)
{
	struct setting *s = find(c, key);

	return s ? s->value : NULL;
}

int tb_config_line(const struct tb_config *c, const char *key)
{
	struct setting *s = find(c, key);

	return s ? s->line : 0;
}

/* Sets key to value (copied), remembering the line it came from. */
static int put(struct tb_config *c, const char *key, const char *value,
               int line)
{
	struct setting *s = find(c, key), *grown;
	char *v = tb_strdup(value), *k = NULL;
	size_t cap;

	if (!v)
		return TB_ENOMEM;
	if (s) {
		tb_free(s->value);
		s->value = v;
		s->line = line;
		return 0;
	}
	if (c->count == c->cap) {
		cap = c->cap ? c->cap * 2 : 8;
		grown = tb_realloc(c->items, cap * sizeof(*grown));
		if (!grown)
			goto nomem;
		c->items = grown;
		c->cap = cap;
	}
	k = tb_strdup(key);
	if (!k)
		goto nomem;
	c->items[c->count].key = k;
	c->items[c->count].value = v;
	c->items[c->count].line = line;
	c->count++;
	return 0;
nomem:
	tb_free(v);
	return TB_ENOMEM;
}

int tb_config_set(struct tb_config *c, const char *key, const char *value)
{
	if (!key_valid(key) || !value_valid(key, value))
		return TB_EINVAL;
	return put(c, key, value, 0);
}

/* The absolute directory of the file at path, into dir (PATH_MAX). */
static int file_dir(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n >= sizeof(parent))
		return TB_EINVAL;
	if (slash && n == 0)
		n = 1; /* "/x.conf": the root */
	memcpy(parent, slash ? path : ".", slash ? n : 1);
	parent[slash ? n : 1] = '\0';
	return realpath(parent, dir) ? TB_OK : TB_EIO;
}

int tb_config_resolve_paths(struct tb_config *c, const char *path,
			    const char *const *keys, size_t nkeys)
{
	char dir[PATH_MAX], joined[LINE_MAX_BYTES + 1];
	int have_dir = 0, rc = TB_OK;
	size_t i;

	for (i = 0; rc == TB_OK && i < nkeys; i++) {
		struct setting *s = find(c, keys[i]);
		int n;

		/* absolute, or not a path at all: a URL (the server's db =
		 * postgresql://...) is left as written */
		if (!s || !s->value[0] || s->value[0] == '/' ||
		    strstr(s->value, "://"))
			continue;
		if (!have_dir && (rc = file_dir(path, dir)) != TB_OK)
			break;
		have_dir = 1;
		n = snprintf(joined, sizeof(joined), "%s%s%s", dir,
			     strcmp(dir, "/") ? "/" : "", s->value);
		if (n < 0 || (size_t)n >= sizeof(joined) ||
		    !value_valid(s->key, joined))
			rc = TB_EINVAL;
		else
			rc = put(c, s->key, joined, s->line);
	}
	return rc;
}

/* ---- loading ------------------------------------------------------------ */

struct reader {
	FILE *f;
	const char *path;
	int line;
	char buf[LINE_MAX_BYTES + 2]; /* the line, a CR before the LF, NUL */
	char *msg;
	size_t msglen;
};

static int problem(struct reader *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: " + the formatted problem into r->msg; returns rc. */
static int problem(struct reader *r, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r->msg || !r->msglen)
		return rc;
	n = snprintf(r->msg, r->msglen, "%s:%d: ", r->path, r->line);
	if (n >= 0 && (size_t)n < r->msglen) {
		va_start(ap, fmt);
		vsnprintf(r->msg + n, r->msglen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Reads the next line into r->buf without its LF (or CRLF). 1 for a line,
 * 0 at end of file, or a negative code. */
static int read_line(struct reader *r)
{
	size_t n = 0;
	int ch;

	r->line++;
	while ((ch = getc(r->f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return problem(r, TB_ECONFIG, "NUL byte in line");
		if (n == LINE_MAX_BYTES + 1)
			break;
		r->buf[n++] = (char)ch;
	}
	if (ferror(r->f))
		return problem(r, TB_EIO, "read error: %s", strerror(errno));
	if (ch == EOF && n == 0)
		return 0;
	if (n && r->buf[n - 1] == '\r')
		n--;
	if (n > LINE_MAX_BYTES)
		return problem(r, TB_ECONFIG, "line longer than %d bytes",
		               LINE_MAX_BYTES);
	r->buf[n] = '\0';
	return 1;
}

/* Cuts blanks off both ends of s (in place); returns the new start. */
static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* One non-blank, non-comment line. */
static int parse_setting(struct reader *r, struct tb_config *c, char *s)
{
	char *eq = strchr(s, '='), *key, *value;
	struct setting *prev;
	int rc;

	if (!eq)
		return problem(r, TB_ECONFIG, "missing '=' (key '%.40s')", s);
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (!*key)
		return problem(r, TB_ECONFIG, "missing key before '='");
	if (!key_valid(key))
		return problem(r, TB_ECONFIG,
		               "bad key, use a-z, 0-9, '_' or '-' starting "
		               "with a-z (key '%.40s')",
		               key);
	prev = find(c, key);
	if (prev)
		return problem(r, TB_ECONFIG,
		               "duplicate key, first set on line %d "
		               "(key '%s')",
		               prev->line, key);
	rc = put(c, key, value, r->line);
	if (rc != 0)
		return problem(r, rc, "out of memory (key '%s')", key);
	return 0;
}

static int parse_file(struct reader *r, struct tb_config *c)
{
	char *s;
	int rc;

	while ((rc = read_line(r)) == 1) {
		if (!tb_utf8_valid(r->buf))
			return problem(r, TB_ECONFIG, "invalid UTF-8");
		s = r->buf;
		/* Windows editors save UTF-8 with a byte order mark */
		if (r->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3;
		s = trim(s);
		if (!*s || *s == '#')
			continue;
		rc = parse_setting(r, c, s);
		if (rc != 0)
			return rc;
	}
	return rc;
}

int tb_config_load(const char *path, struct tb_config **out, char *msg,
                   size_t msglen)
{
	struct reader *r = NULL;
	struct tb_config *c = NULL;
	FILE *f = NULL;
	int rc;

	*out = NULL;
	f = fopen(path, "r");
	if (!f) {
		int err = errno;

		rc = tb_msg(err == ENOENT ? TB_ENOTFOUND : TB_EIO, msg, msglen,
		            "%s: %s", path, strerror(err));
		goto done;
	}
	r = tb_calloc(1, sizeof(*r));
	c = tb_config_create();
	if (!r || !c) {
		rc = tb_msg(TB_ENOMEM, msg, msglen, "%s: out of memory", path);
		goto done;
	}
	r->f = f;
	r->path = path;
	r->msg = msg;
	r->msglen = msglen;
	rc = parse_file(r, c);
	if (rc == 0) {
		*out = c;
		c = NULL;
	}
done:
	tb_config_destroy(c);
	tb_free(r);
	if (f)
		fclose(f);
	return rc;
}

/* ---- saving ------------------------------------------------------------- */

/* The header, one "# " comment line per line of text. */
static int write_header(FILE *f, const char *header)
{
	const char *p = header, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		if (fprintf(f, "# %.*s\n",
		            (int)(nl ? (size_t)(nl - p) : strlen(p)), p) < 0)
			return TB_EIO;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int write_settings(FILE *f, const struct tb_config *c,
                          const char *header)
{
	if (write_header(f, header) != 0)
		return TB_EIO;
	for (size_t i = 0; i < c->count; i++)
		if (fprintf(f, "%s = %s\n", c->items[i].key,
		            c->items[i].value) < 0)
			return TB_EIO;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		return TB_EIO;
	return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? tb_strndup(path, (size_t)(slash - path + 1))
	                  : tb_strdup(".");
	int fd;

	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	tb_free(dir);
}

int tb_config_save(const struct tb_config *c, const char *path, mode_t mode,
                   const char *header)
{
	size_t n = strlen(path);
	char *tmp = tb_malloc(n + 8);
	FILE *f = NULL;
	int fd = -1, rc = TB_EIO, created = 0;

	if (!tmp)
		return TB_EIO;
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".XXXXXX", 8);
	fd = mkstemp(tmp);
	if (fd < 0)
		goto done;
	created = 1;
	if (fchmod(fd, mode) != 0)
		goto done;
	f = fdopen(fd, "w");
	if (!f)
		goto done;
	fd = -1; /* owned by f now */
	rc = write_settings(f, c, header);
	if (fclose(f) != 0 && rc == 0)
		rc = TB_EIO;
	f = NULL;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = TB_EIO;
	if (rc == 0)
		sync_dir(path);
done:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (rc != 0 && created)
		unlink(tmp);
	tb_free(tmp);
	return rc;
}
