/* json.h - strict JSON reading, and the few JSON writers of the wire, over
 * cJSON.
 *
 * Called by the codec (protocol/codec.c, batch.c, event_json.c) for every
 * message of PROTOCOL.md, and written to be general enough for any other
 * strict reader of JSON documents (server/plan.c's plan files: closed
 * objects, typed reads that name a path such as "indicators[3].target").
 *
 * What it guarantees:
 *  - cJSON allocates through tb_malloc/tb_free: tb_json_begin() installs
 *    the hooks once (thread-safe) and clears this thread's out-of-memory
 *    flag; tb_json_oom() then tells a failed allocation from malformed
 *    JSON. Nothing else in tienbo may call cJSON_InitHooks.
 *  - tb_json_parse refuses, before cJSON sees the text, NUL bytes, the
 *    escape \u0000, nesting deeper than the limit and more values than
 *    the limit (a linear scan, no recursion), and after it any data
 *    following the one value.
 *  - Readers never "take the first": a key given twice is reported.
 *  - Writers (tb_json_put_*) append to a tb_buf exactly the bytes cJSON's
 *    printer would write (the canonical encoding of PROTOCOL.md: only '"',
 *    '\\' and control characters escaped, UTF-8 as it is, '/' not
 *    escaped). On TB_ENOMEM the buffer may hold part of the value; the
 *    caller drops the buffer's content.
 * Everything returned points into the caller's tree (borrowed).
 */
#ifndef TB_PROTOCOL_JSON_H
#define TB_PROTOCOL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/event.h"

struct cJSON;

/* At most this many bytes of an input value are quoted in a message. */
#define TB_JSON_ECHO_MAX 40

struct tb_json_limits {
	int depth_max;     /* objects and arrays nested deeper: TB_EINVAL */
	size_t values_max; /* more values in all: TB_ETOOBIG */
};

/* Installs the cJSON hooks (once) and clears the out-of-memory flag of the
 * calling thread. Every public function that uses cJSON calls it first. */
void tb_json_begin(void);
/* 1 if an allocation through the hooks failed since tb_json_begin. */
int tb_json_oom(void);

/* Parses exactly one JSON value of len bytes (need not be NUL-terminated;
 * surrounding whitespace allowed) into *root (caller cJSON_Delete's it).
 * lim NULL: depth 64, values unlimited. 0; TB_EINVAL or TB_ETOOBIG with a
 * "body: ..." message and, if at is not NULL, the byte offset of the
 * problem in *at; TB_ENOMEM. *root is NULL on failure. */
int tb_json_parse(const char *json, size_t len,
		  const struct tb_json_limits *lim, struct cJSON **root,
		  size_t *at, char *msg, size_t msglen);
/* Line and column (1-based, columns in UTF-8 characters) of byte `at`. */
void tb_json_line_col(const char *text, size_t at, int *line, int *col);

/* slot[i] = the member of obj named names[i], or NULL; other keys are
 * skipped. Returns the index of a name given twice, or -1. */
int tb_json_members(const struct cJSON *obj, const char *const *names,
		    size_t n, const struct cJSON **slot);
/* A closed object: every key in `allowed` (NULL-terminated), none twice.
 * 0, or TB_EINVAL with *key the offending key and *twice 1 if it was given
 * twice (0: not allowed). obj must be an object. */
int tb_json_closed(const struct cJSON *obj, const char *const *allowed,
		   const char **key, int *twice);

/* 0 and *out if item is a JSON number with an integral value in lo..hi
 * (both within +-2^53, where doubles are exact), else TB_EINVAL. */
int tb_json_int(const struct cJSON *item, int64_t lo, int64_t hi,
		int64_t *out);
/* The string of item if it is a JSON string, else NULL. */
const char *tb_json_str(const struct cJSON *item);
/* 0 if item is a string holding a lower-case UUID (copied to out). */
int tb_json_uuid(const struct cJSON *item, char out[TB_ID_LEN]);
/* 0 and *out (0/1) if item is true or false, else TB_EINVAL. */
int tb_json_bool(const struct cJSON *item, int *out);

/* A printable-ASCII rendering of at most TB_JSON_ECHO_MAX bytes of s
 * ("..." if cut; other bytes as '?'), safe to quote in a message and in
 * JSON. Returns buf. */
const char *tb_json_echo(const char *s, char buf[TB_JSON_ECHO_MAX + 4]);

/* Where a reader is in a document, for messages: "events[3].title". */
struct tb_json_path {
	char s[160];
	size_t len;
};
/* Append ".key" ("key" at the top) / "[i]"; return the old length. */
size_t tb_json_path_key(struct tb_json_path *p, const char *key);
size_t tb_json_path_index(struct tb_json_path *p, size_t i);
/* Back to an old length. */
void tb_json_path_cut(struct tb_json_path *p, size_t old);

/* Writers: a JSON string (quotes and escapes), "key": , an integer. */
int tb_json_put_str(struct tb_buf *b, const char *s);
int tb_json_put_key(struct tb_buf *b, const char *key);
int tb_json_put_int(struct tb_buf *b, int64_t v);

/* A cJSON array of n items, item(arg, i) making the i-th (NULL: out of
 * memory). The array (cJSON_Delete), or NULL on out of memory, with
 * nothing left behind. */
struct cJSON *tb_json_array_of(size_t n,
			       struct cJSON *(*item)(const void *arg, size_t i),
			       const void *arg);

#endif
