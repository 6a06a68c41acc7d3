/* sql_int.h - what the two backends of server/sql.h share: the table of
 * operations each fills and the head of their connection and statement
 * structs. Included by server/sql.c, sql_sqlite.c and sql_pg.c only.
 */
#ifndef TB_SERVER_SQL_INT_H
#define TB_SERVER_SQL_INT_H

#include <stddef.h>

#include "server/sql.h"

struct tb_sql_ops {
	int (*prepare)(struct tb_sql *c, const char *sql, int flags,
		       struct tb_stmt **out);
	int (*bind_int64)(struct tb_stmt *st, int i, int64_t v);
	int (*bind_text)(struct tb_stmt *st, int i, const char *s, int len);
	int (*bind_blob)(struct tb_stmt *st, int i, const void *p, size_t n);
	int (*bind_null)(struct tb_stmt *st, int i);
	int (*bind_count)(struct tb_stmt *st);
	int (*step)(struct tb_stmt *st);
	int (*column_count)(struct tb_stmt *st);
	int (*column_null)(struct tb_stmt *st, int i);
	int64_t (*column_int64)(struct tb_stmt *st, int i);
	const char *(*column_text)(struct tb_stmt *st, int i);
	const void *(*column_blob)(struct tb_stmt *st, int i, size_t *n);
	void (*reset)(struct tb_stmt *st);
	void (*clear_bindings)(struct tb_stmt *st);
	void (*finalize)(struct tb_stmt *st);
	int (*exec)(struct tb_sql *c, const char *sql, char *msg, size_t msglen);
	int64_t (*changes)(struct tb_sql *c);
	const char *(*errmsg)(struct tb_sql *c);
	char *(*reason)(struct tb_sql *c, char *buf, size_t len);
	int (*begin)(struct tb_sql *c, int write);
	int (*in_txn)(struct tb_sql *c);
	int (*lock_key)(struct tb_sql *c, const char *key);
	void (*close)(struct tb_sql *c);
};

struct tb_sql {
	const struct tb_sql_ops *ops;
	enum tb_sql_backend backend;
	char name[256];
};

struct tb_stmt {
	struct tb_sql *c;
	int flags;
	int bind_rc; /* the first failed bind since the last clear (sql.c) */
};

/* server/sql_pg_text.c, for server/sql_pg.c. */
/* sql with ?N -> $N and ? -> $(highest so far + 1), outside '...' and
 * "..."; the number of parameters into *n, and into used[N - 1] (up to
 * maxparams) a 1 for each $N that appears. tb_malloc'd; NULL when out of
 * memory. */
char *tb_pg_sql(const char *sql, int *n, unsigned char *used, int maxparams);
/* The bytes of len hex digits (bytea's text form after its "\\x") into
 * out (len / 2 bytes); returns how many, stopping at a non-hex digit. */
size_t tb_pg_unhex(const char *hex, size_t len, unsigned char *out);
/* url as a message may show it: the part before '@' dropped when it holds
 * a password. */
void tb_pg_url_safe(const char *url, char *out, size_t len);

#endif
