/* export_int.h - what export.c (JSON, CSV) and export_xlsx.c (Excel)
 * share: the filter of the events query, the table of field columns, and
 * reading a stored body back into an event. Only these two files include
 * it.
 */
#ifndef TB_SERVER_EXPORT_INT_H
#define TB_SERVER_EXPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/event.h"
#include "server/export.h"

struct tb_sql;
struct tb_stmt;

/* After "FROM events [e ...]": ?1 school, ?2 district (either may be
 * NULL: typed, as PostgreSQL cannot tell a NULL's type from IS NULL),
 * ?3 include voided; tb_export_prepare adds the order (school,
 * date and id, as SQLite compares text, on PostgreSQL too). */
#define TB_EXPORT_FILTER                                                \
	" WHERE (CAST(?1 AS TEXT) IS NULL OR school = ?1)"              \
	" AND (CAST(?2 AS TEXT) IS NULL OR school IN (SELECT code"      \
	" FROM units WHERE district = ?2)) AND (?3 OR voided = 0)"

#define TB_EXPORT_MAX_COLUMNS (TB_KIND_COUNT * TB_FIELDS_MAX)

/* Field columns after the fixed ones: every field name of every kind, in
 * kind order, each once; for each kind the index of each column's field
 * in that kind (-1: the kind has no such field) and its type. */
struct tb_export_cols {
	size_t n;
	const char *name[TB_EXPORT_MAX_COLUMNS];
	enum tb_ftype type[TB_EXPORT_MAX_COLUMNS];
	int idx[TB_KIND_COUNT][TB_EXPORT_MAX_COLUMNS];
};
void tb_export_cols_build(struct tb_export_cols *cols);

/* Prepares sql (a SELECT ending in TB_EXPORT_FILTER) and binds o's
 * filter. 0 or a TB_E* code with msg. */
int tb_export_prepare(struct tb_sql *db, const char *sql,
		      const struct tb_export_opts *o,
		      struct tb_stmt **st, char *msg, size_t msglen);

/* Reads a stored JSON body into e (tb_event_clear it after success).
 * 0; TB_EIO with msg for a body that is not an event; TB_ENOMEM. */
int tb_export_parse(const char *body, struct tb_event *e, char *msg,
		    size_t msglen);

/* The XLSX export (export_xlsx.c), once the filter has been checked:
 * as tb_export. */
int tb_export_xlsx(struct tb_sql *db, const struct tb_export_opts *o,
		   FILE *out, int64_t *count, char *msg, size_t msglen);

#endif
