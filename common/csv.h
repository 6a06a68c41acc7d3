/* csv.h - RFC 4180 CSV: a streaming reader for imports and a writer for
 * exports, shared by the agent and the server.
 *
 * Reader: fields separated by ',' (or the separator set: ';' and tab are
 * what spreadsheets save on Vietnamese Windows), records by CRLF or LF; a field may be
 * quoted with '"' and then hold commas, quotes (doubled) and line breaks.
 * A UTF-8 byte order mark at the very start is skipped (Excel writes one).
 * A quote inside an unquoted field, text after a closing quote, or an
 * unterminated quoted field is TB_EINVAL with the record number. Records
 * and fields are bounded (TB_CSV_MAX_FIELDS, TB_CSV_MAX_RECORD bytes).
 *
 * Writer: quotes a field only when it holds ',', '"', CR or LF, or starts
 * with a character a spreadsheet would treat as a formula (= + - @, which
 * it prefixes with a single quote inside the quotes); ends records with
 * CRLF. tb_csv_write_bom writes the UTF-8 BOM Excel needs for diacritics.
 */
#ifndef TB_COMMON_CSV_H
#define TB_COMMON_CSV_H

#include <stddef.h>
#include <stdio.h>

#define TB_CSV_MAX_FIELDS 128
#define TB_CSV_MAX_RECORD (64 * 1024)

struct tb_csv_reader;

/* Reads from f (borrowed; not closed). NULL on TB_ENOMEM. */
struct tb_csv_reader *tb_csv_reader_create(FILE *f);
/* Fields are separated by sep (',', ';' or '\t') from now on. */
void tb_csv_reader_set_sep(struct tb_csv_reader *r, char sep);
/* Next record: *fields points to *nfields NUL-terminated strings owned by
 * the reader, valid until the next call. Returns 1 for a record, 0 at end
 * of input, or TB_EINVAL / TB_ETOOBIG / TB_EIO / TB_ENOMEM with msg naming
 * the record ("record 12: unterminated quoted field"). */
int tb_csv_next(struct tb_csv_reader *r, char ***fields, size_t *nfields,
		char *msg, size_t msglen);
/* Number of the last record returned, 1-based (the header is record 1). */
size_t tb_csv_record_number(const struct tb_csv_reader *r);
void tb_csv_reader_destroy(struct tb_csv_reader *r);

/* Writes one field (quoted as needed) followed by ',' unless last, in which
 * case CRLF. 0 or TB_EIO. */
int tb_csv_write_field(FILE *f, const char *s, int last);
int tb_csv_write_bom(FILE *f);

#endif
