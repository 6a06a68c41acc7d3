/* json.c - strict JSON reading and the wire's JSON writers (see json.h).
 *
 * The pre-scan keeps parse memory proportional to a legitimate message: a
 * body nested 100,000 deep is a clean TB_EINVAL without recursion, and a
 * body of a million tiny values is TB_ETOOBIG before cJSON builds a node.
 */
#include "protocol/json.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/msg.h"

#define DEPTH_DEFAULT 64

/* ---- cJSON allocation hooks --------------------------------------------- */

static _Thread_local int json_oom; /* an allocation failed in this call */
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *json_malloc(size_t n)
{
	void *p = tb_malloc(n);

	if (!p)
		json_oom = 1;
	return p;
}

static void json_free(void *p)
{
	tb_free(p);
}

static void hooks_install(void)
{
	cJSON_Hooks h = {json_malloc, json_free};

	cJSON_InitHooks(&h);
}

void tb_json_begin(void)
{
	pthread_once(&hooks_once, hooks_install);
	json_oom = 0;
}

int tb_json_oom(void)
{
	return json_oom;
}

/* ---- parsing ------------------------------------------------------------ */

/* In a string at s[i] == '\\': TB_EINVAL if it starts \u0000. */
static int bad_escape(const char *s, size_t i, size_t len)
{
	return i + 5 < len && s[i + 1] == 'u' &&
	       memcmp(s + i + 2, "0000", 4) == 0;
}

/* The linear pre-scan described in json.h. */
static int prescan(const char *s, size_t len, int depth_max,
		   size_t values_max, size_t *at, char *msg, size_t msglen)
{
	size_t values = 1, i;
	int depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		*at = i;
		if (c == '\0')
			return tb_msg(TB_EINVAL, msg, msglen,
				      "body: NUL byte at byte %zu", i);
		if (in_str) {
			if (c == '\\' && bad_escape(s, i, len))
				return tb_msg(TB_EINVAL, msg, msglen,
					      "body: \\u0000 in a string at "
					      "byte %zu", i);
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > depth_max)
				return tb_msg(TB_EINVAL, msg, msglen,
					      "body: JSON nested deeper than "
					      "%d levels", depth_max);
			values++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',') {
			values++;
		}
		if (values_max && values > values_max)
			return tb_msg(TB_ETOOBIG, msg, msglen,
				      "body: more than %zu JSON values",
				      values_max);
	}
	return TB_OK;
}

int tb_json_parse(const char *json, size_t len,
		  const struct tb_json_limits *lim, cJSON **root, size_t *at,
		  char *msg, size_t msglen)
{
	const char *end = NULL;
	size_t where = 0;
	int rc;

	*root = NULL;
	if (!json || len == 0)
		rc = tb_msg(TB_EINVAL, msg, msglen, "body: empty");
	else
		rc = prescan(json, len, lim ? lim->depth_max : DEPTH_DEFAULT,
			     lim ? lim->values_max : 0, &where, msg, msglen);
	if (rc == TB_OK) {
		*root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
		if (!*root && json_oom)
			return TB_ENOMEM;
		if (!*root) {
			where = end && end >= json && end <= json + len
					? (size_t)(end - json) : 0;
			rc = tb_msg(TB_EINVAL, msg, msglen,
				    "body: malformed JSON");
		}
	}
	if (rc == TB_OK) {
		while (end < json + len && (*end == ' ' || *end == '\t' ||
					    *end == '\n' || *end == '\r'))
			end++;
		where = (size_t)(end - json);
		if (end != json + len) {
			cJSON_Delete(*root);
			*root = NULL;
			rc = tb_msg(TB_EINVAL, msg, msglen,
				    "body: data after the JSON value at byte "
				    "%zu", where);
		}
	}
	if (at)
		*at = where;
	return rc;
}

void tb_json_line_col(const char *text, size_t at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < at; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

/* ---- typed reads -------------------------------------------------------- */

int tb_json_members(const cJSON *obj, const char *const *names, size_t n,
		    const cJSON **slot)
{
	for (size_t i = 0; i < n; i++)
		slot[i] = NULL;
	for (const cJSON *c = obj->child; c; c = c->next) {
		for (size_t i = 0; i < n; i++) {
			if (!c->string || strcmp(c->string, names[i]) != 0)
				continue;
			if (slot[i])
				return (int)i;
			slot[i] = c;
			break;
		}
	}
	return -1;
}

int tb_json_closed(const cJSON *obj, const char *const *allowed,
		   const char **key, int *twice)
{
	const cJSON *k, *j;
	size_t i;

	*key = NULL;
	*twice = 0;
	for (k = obj->child; k; k = k->next) {
		for (i = 0; k->string && allowed[i]; i++)
			if (strcmp(k->string, allowed[i]) == 0)
				break;
		*key = k->string ? k->string : "";
		if (!k->string || !allowed[i])
			return TB_EINVAL;
		for (j = obj->child; j != k; j = j->next)
			if (j->string && strcmp(j->string, k->string) == 0) {
				*twice = 1;
				return TB_EINVAL;
			}
	}
	*key = NULL;
	return TB_OK;
}

int tb_json_int(const cJSON *item, int64_t lo, int64_t hi, int64_t *out)
{
	double d;
	int64_t v;

	if (!cJSON_IsNumber(item))
		return TB_EINVAL;
	/* cJSON_IsNumber (in libcjson, out of the analyzer's sight) is false
	 * for NULL.
	 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	d = item->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi)) /* NaN fails too */
		return TB_EINVAL;
	v = (int64_t)d;
	if ((double)v != d)
		return TB_EINVAL;
	*out = v;
	return TB_OK;
}

const char *tb_json_str(const cJSON *item)
{
	/* cJSON_IsString (in libcjson, out of the analyzer's sight) is false
	 * for NULL.
	 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

int tb_json_uuid(const cJSON *item, char out[TB_ID_LEN])
{
	const char *s = tb_json_str(item);

	if (!s || !tb_uuid_valid(s))
		return TB_EINVAL;
	memcpy(out, s, TB_ID_LEN);
	return TB_OK;
}

int tb_json_bool(const cJSON *item, int *out)
{
	if (!cJSON_IsBool(item))
		return TB_EINVAL;
	*out = cJSON_IsTrue(item) ? 1 : 0;
	return TB_OK;
}

const char *tb_json_echo(const char *s, char buf[TB_JSON_ECHO_MAX + 4])
{
	size_t i;

	for (i = 0; i < TB_JSON_ECHO_MAX && s[i]; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- paths -------------------------------------------------------------- */

static size_t path_put(struct tb_json_path *p, const char *a, const char *b)
{
	size_t old = p->len, la = strlen(a), lb = strlen(b);

	if (p->len + la + lb >= sizeof(p->s))
		return old; /* a path that long is cut, never overrun */
	memcpy(p->s + p->len, a, la);
	memcpy(p->s + p->len + la, b, lb);
	p->len += la + lb;
	p->s[p->len] = '\0';
	return old;
}

size_t tb_json_path_key(struct tb_json_path *p, const char *key)
{
	return path_put(p, p->len ? "." : "", key);
}

size_t tb_json_path_index(struct tb_json_path *p, size_t i)
{
	char num[24];
	size_t n = sizeof(num) - 2;

	num[sizeof(num) - 1] = '\0';
	num[sizeof(num) - 2] = ']';
	do {
		num[--n] = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	return path_put(p, "[", num + n);
}

void tb_json_path_cut(struct tb_json_path *p, size_t old)
{
	if (old < sizeof(p->s)) {
		p->len = old;
		p->s[old] = '\0';
	}
}

/* ---- writing ------------------------------------------------------------ */

/* The bytes cJSON's print_string_ptr escapes, and how. */
static const char *short_escape(unsigned char c)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default: return NULL;
	}
}

int tb_json_put_str(struct tb_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *run;
	char u[6] = {'\\', 'u', '0', '0', 0, 0};
	int rc = tb_buf_putc(b, '"');

	while (rc == TB_OK && *p) {
		const char *esc;

		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\'; p++)
			;
		rc = tb_buf_add(b, run, (size_t)(p - run));
		if (rc != TB_OK || !*p)
			break;
		esc = short_escape(*p);
		if (esc) {
			rc = tb_buf_puts(b, esc);
		} else {
			u[4] = hex[*p >> 4];
			u[5] = hex[*p & 15];
			rc = tb_buf_add(b, u, sizeof(u));
		}
		p++;
	}
	return rc == TB_OK ? tb_buf_putc(b, '"') : rc;
}

int tb_json_put_key(struct tb_buf *b, const char *key)
{
	int rc = tb_json_put_str(b, key);

	return rc == TB_OK ? tb_buf_putc(b, ':') : rc;
}

int tb_json_put_int(struct tb_buf *b, int64_t v)
{
	return tb_buf_put_i64(b, (long long)v);
}

cJSON *tb_json_array_of(size_t n, cJSON *(*item)(const void *arg, size_t i),
			const void *arg)
{
	cJSON *root = cJSON_CreateArray();

	for (size_t i = 0; root && i < n; i++) {
		cJSON *o = item(arg, i);

		if (!o || !cJSON_AddItemToArray(root, o)) {
			cJSON_Delete(o);
			cJSON_Delete(root);
			root = NULL;
		}
	}
	return root;
}
