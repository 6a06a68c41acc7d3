/* config.h - the "key = value" configuration files of the agent and server.
 *
 * Format, one setting per line:
 *     # comment
 *     server = https://tienbo.example.vn:8443
 *     school = HB-001
 * Keys are [a-z][a-z0-9_-]*; a value runs to the end of the line with
 * surrounding blanks trimmed (no quoting; a value may contain '=' and '#').
 * Blank lines and lines whose first non-blank is '#' are ignored; a UTF-8
 * byte order mark at the start of the file and CRLF line ends are read as
 * if they were not there. A line
 * without '=', a bad key, a duplicate key, invalid UTF-8 or a line over
 * 4096 bytes is refused with a message "FILE:LINE: problem (key 'k')".
 * Files are written atomically (temporary file, fsync, rename).
 */
#ifndef TB_COMMON_CONFIG_H
#define TB_COMMON_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

struct tb_config;

/* An empty configuration. NULL on TB_ENOMEM. */
struct tb_config *tb_config_create(void);
/* Reads path into *out (caller destroys). 0; TB_ENOTFOUND if the file does
 * not exist; TB_ECONFIG with msg "FILE:LINE: ..." if malformed; TB_EIO;
 * TB_ENOMEM. *out is NULL on failure. */
int tb_config_load(const char *path, struct tb_config **out, char *msg,
		   size_t msglen);
/* The value of key (borrowed, valid until the next set/destroy) or NULL. */
const char *tb_config_get(const struct tb_config *c, const char *key);
/* Line number key was read from, 0 if it was set in memory or is absent. */
int tb_config_line(const struct tb_config *c, const char *key);
/* Sets or replaces key (both copied). 0, TB_EINVAL (bad key or value with
 * a newline), TB_ENOMEM. A value that would not read back unchanged from
 * a saved file is refused too: invalid UTF-8, blanks at either end, or a
 * "key = value" line over 4096 bytes. On failure c is unchanged. */
int tb_config_set(struct tb_config *c, const char *key, const char *value);
/* Writes every setting in insertion order, with `header` (may be NULL) as
 * a leading comment, atomically with the given mode. 0 or TB_EIO. */
int tb_config_save(const struct tb_config *c, const char *path, mode_t mode,
		   const char *header);
/* Paths in a config file are relative to the file: rewrites the value of
 * each of the nkeys keys that is a relative path (not "" and not starting
 * with '/') into "<the directory of path, made absolute>/<value>", keeping
 * its line number. path is the file c was loaded from. Absent keys,
 * absolute values and URLs (holding "://": the server's db =
 * postgresql://...) are left alone. 0; TB_EIO (the directory cannot be
 * resolved); TB_EINVAL (the result is too long); TB_ENOMEM. On failure
 * the values already rewritten stay rewritten. */
int tb_config_resolve_paths(struct tb_config *c, const char *path,
			    const char *const *keys, size_t nkeys);
/* Accepts NULL. */
void tb_config_destroy(struct tb_config *c);

#endif
