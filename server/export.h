/* export.h - `tienbo-server export` and GET /v1/admin/export: the current
 * revision of every event, for a school, a district or everything.
 *
 * JSON: an array with one object per event, the object tb_event_to_json
 * makes (as stored at merge time). CSV (RFC 4180 through common/csv.h):
 * a UTF-8 BOM, CRLF line ends, a header row
 *   kind,id,school,date,revision,voided,void_reason,recorded_at,device,seq,
 * then one column for every field name of every kind (in kind order, each
 * name once), empty where the event's kind has no such field or it is not
 * set. Rows are ordered by school, date and id. Voided events are left out
 * unless include_voided is set. The output is written row by row; nothing
 * is held in memory but one event. Called by server/main.c and
 * server/admin.c.
 *
 * XLSX (server/export_xlsx.c), for officers in Excel or LibreOffice: one
 * sheet "Hoạt động" of the same rows, two header rows (the Vietnamese
 * labels of common/labels.h, then the snake_case names), the school's and
 * the district's code and name beside each other, the kind and choices in
 * Vietnamese, the date as a date cell, recorded_at and received_at as
 * date-time cells in local time (UTC+7), counts and revision and seq as
 * numbers; past Excel's 1,048,576 rows the rows go on in "Hoạt động (2)".
 * Written in libxlsxwriter's constant-memory mode (rows flushed as they
 * come) into a temporary file under $TMPDIR, then copied to out.
 */
#ifndef TB_SERVER_EXPORT_H
#define TB_SERVER_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tb_sql;

enum tb_export_format { TB_EXPORT_JSON, TB_EXPORT_CSV, TB_EXPORT_XLSX };

struct tb_export_opts {
	const char *school;   /* NULL: any */
	const char *district; /* NULL: any; at most one of school/district */
	int include_voided;
	enum tb_export_format format;
};

/* Parses "json" / "csv" / "xlsx". 0 or TB_EINVAL. */
int tb_export_format_parse(const char *s, enum tb_export_format *out);
/* Writes the export to out; *count = events written. 0; TB_ENOTFOUND with
 * msg when the school or district is not known; TB_EINVAL with msg when
 * both are given; TB_EIO (write or database error); TB_ENOMEM. */
int tb_export(struct tb_sql *db, const struct tb_export_opts *o, FILE *out,
	      int64_t *count, char *msg, size_t msglen);

/* The Content-Type of a format, for HTTP. */
const char *tb_export_format_ctype(enum tb_export_format f);

#endif
