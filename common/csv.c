/* csv.c - RFC 4180 CSV reader and writer (format in csv.h).
 *
 * Used by the agent's import (clerks fill a spreadsheet and save it as CSV)
 * and by the agent's and server's exports. The reader is a byte-at-a-time
 * state machine over a FILE; a record's field texts are stored one after
 * another, NUL-terminated, in one buffer allocated with the reader, so
 * reading never allocates and memory is bounded by TB_CSV_MAX_RECORD.
 *
 * Record numbers count every record of the file, blank lines included, so
 * they match the row numbers a spreadsheet shows (when no field holds a
 * line break). A line with nothing on it is skipped, not returned as a
 * record with one empty field. After an error the reader keeps returning
 * that error.
 */
#include "common/csv.h"

#include <stdarg.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/msg.h"

#define BOM "\xEF\xBB\xBF"

enum state { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED };

struct tb_csv_reader {
	FILE *f;
	int sep;       /* ',' unless set */
	unsigned char pend[3]; /* bytes read while looking for the BOM */
	size_t npend, pend_pos;
	int started;   /* the BOM check is done */
	size_t record; /* number of the last record read */
	int failed;    /* sticky error code, 0 if none */
	char *errmsg;  /* its message */
	size_t raw;    /* bytes of the current record */
	int content;   /* it has a byte other than CR and LF */
	size_t len;    /* bytes used in buf */
	size_t nfields;
	size_t start[TB_CSV_MAX_FIELDS];
	char *fields[TB_CSV_MAX_FIELDS];
	char *buf; /* TB_CSV_MAX_RECORD + TB_CSV_MAX_FIELDS */
};

#define ERRMSG_LEN 128
#define BUF_LEN (TB_CSV_MAX_RECORD + TB_CSV_MAX_FIELDS)

struct tb_csv_reader *tb_csv_reader_create(FILE *f)
{
	struct tb_csv_reader *r = tb_calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->f = f;
	r->sep = ',';
	r->buf = tb_malloc(BUF_LEN);
	r->errmsg = tb_malloc(ERRMSG_LEN);
	if (!r->buf || !r->errmsg) {
		tb_csv_reader_destroy(r);
		return NULL;
	}
	r->errmsg[0] = '\0';
	return r;
}

void tb_csv_reader_destroy(struct tb_csv_reader *r)
{
	if (!r)
		return;
	tb_free(r->buf);
	tb_free(r->errmsg);
	tb_free(r);
}

void tb_csv_reader_set_sep(struct tb_csv_reader *r, char sep)
{
	r->sep = (unsigned char)sep;
}

size_t tb_csv_record_number(const struct tb_csv_reader *r)
{
	return r->record;
}

static int next_byte(struct tb_csv_reader *r)
{
	if (r->pend_pos < r->npend)
		return r->pend[r->pend_pos++];
	return getc(r->f);
}

/* Skips a UTF-8 BOM at the very start; other bytes are kept for reading. */
static void skip_bom(struct tb_csv_reader *r)
{
	int c;

	r->started = 1;
	while (r->npend < 3) {
		c = getc(r->f);
		if (c == EOF)
			break;
		r->pend[r->npend++] = (unsigned char)c;
		if (r->pend[r->npend - 1] != (unsigned char)BOM[r->npend - 1])
			return;
	}
	if (r->npend == 3)
		r->npend = 0; /* it was the BOM */
}

static int stop(struct tb_csv_reader *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the error of the record being read and returns rc. */
static int stop(struct tb_csv_reader *r, int rc, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->errmsg, ERRMSG_LEN, "record %zu: ", r->record + 1);

	if (n > 0 && n < ERRMSG_LEN) {
		va_start(ap, fmt);
		vsnprintf(r->errmsg + n, ERRMSG_LEN - (size_t)n, fmt, ap);
		va_end(ap);
	}
	r->failed = rc;
	return rc;
}

static int add_byte(struct tb_csv_reader *r, int c)
{
	if (c == '\0')
		return stop(r, TB_EINVAL, "NUL byte in field %zu",
		            r->nfields + 1);
	r->buf[r->len++] = (char)c;
	return 0;
}

static int end_field(struct tb_csv_reader *r)
{
	if (r->nfields == TB_CSV_MAX_FIELDS)
		return stop(r, TB_ETOOBIG, "more than %d fields",
		            TB_CSV_MAX_FIELDS);
	r->buf[r->len++] = '\0';
	r->nfields++;
	if (r->nfields < TB_CSV_MAX_FIELDS)
		r->start[r->nfields] = r->len;
	return 0;
}

/* After a CR outside quotes: only CRLF ends a record. */
static int expect_lf(struct tb_csv_reader *r)
{
	if (next_byte(r) != '\n')
		return stop(r, TB_EINVAL, "carriage return without line feed");
	return 0;
}

/* One byte of input (EOF included) through the state machine. Returns 0
 * to go on, 1 when the record is complete, or an error. */
static int step(struct tb_csv_reader *r, enum state *st, int c)
{
	int rc;

	if (c != EOF && ++r->raw > TB_CSV_MAX_RECORD)
		return stop(r, TB_ETOOBIG, "longer than %d bytes",
		            TB_CSV_MAX_RECORD);
	if (c != EOF && c != '\r' && c != '\n')
		r->content = 1;
	switch (*st) {
	case QUOTED:
		if (c == EOF)
			return stop(r, TB_EINVAL, "unterminated quoted field");
		if (c == '"') {
			*st = QUOTE_IN_QUOTED;
			return 0;
		}
		return add_byte(r, c);
	case QUOTE_IN_QUOTED:
		if (c == '"') {
			*st = QUOTED;
			return add_byte(r, c);
		}
		if (c != r->sep && c != '\n' && c != '\r' && c != EOF)
			return stop(r, TB_EINVAL,
			            "text after a closing quote in field %zu",
			            r->nfields + 1);
		break;
	case FIELD_START:
		if (c == '"') {
			*st = QUOTED;
			return 0;
		}
		/* fall through */
	case UNQUOTED:
		if (c == '"')
			return stop(r, TB_EINVAL,
			            "quote inside unquoted field %zu",
			            r->nfields + 1);
		if (c != r->sep && c != '\n' && c != '\r' && c != EOF) {
			*st = UNQUOTED;
			return add_byte(r, c);
		}
		break;
	}
	/* c ends a field: the separator or the end of the record. */
	if (c == '\r' && (rc = expect_lf(r)) != 0)
		return rc;
	if ((rc = end_field(r)) != 0)
		return rc;
	*st = FIELD_START;
	return c == r->sep ? 0 : 1;
}

/* Reads one record into buf; 1 for a record, 0 at end of input (nothing
 * read), or an error. A blank line comes back as a record of one empty
 * field with r->content == 0. */
static int read_record(struct tb_csv_reader *r)
{
	enum state st = FIELD_START;
	int c, rc;

	r->len = 0;
	r->nfields = 0;
	r->raw = 0;
	r->content = 0;
	r->start[0] = 0;
	for (;;) {
		c = next_byte(r);
		if (c == EOF && ferror(r->f))
			return stop(r, TB_EIO, "read error");
		if (c == EOF && r->raw == 0)
			return 0;
		rc = step(r, &st, c);
		if (rc != 0)
			return rc;
		if (c == EOF)
			return 1;
	}
}

int tb_csv_next(struct tb_csv_reader *r, char ***fields, size_t *nfields,
                char *msg, size_t msglen)
{
	int rc;

	if (!r->started)
		skip_bom(r);
	for (;;) {
		rc = r->failed ? r->failed : read_record(r);
		if (rc < 0)
			return tb_msg(rc, msg, msglen, "%s", r->errmsg);
		if (rc == 0)
			return 0;
		r->record++;
		if (r->content)
			break;
		/* a blank line: counted, not returned */
	}
	for (size_t i = 0; i < r->nfields; i++)
		r->fields[i] = r->buf + r->start[i];
	*fields = r->fields;
	*nfields = r->nfields;
	return 1;
}

/* ---- writer ------------------------------------------------------------- */

int tb_csv_write_bom(FILE *f)
{
	return fwrite(BOM, 1, 3, f) == 3 ? 0 : TB_EIO;
}

/* Characters that make a spreadsheet read a cell as a formula (OWASP CSV
 * injection: = + - @, and tab or CR at the start). */
static int formula_start(const char *s)
{
	return *s && strchr("=+-@\t\r", *s) != NULL;
}

int tb_csv_write_field(FILE *f, const char *s, int last)
{
	int formula, quote;

	if (!s)
		s = "";
	formula = formula_start(s);
	quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (quote && putc('"', f) == EOF)
		return TB_EIO;
	if (formula && putc('\'', f) == EOF)
		return TB_EIO;
	for (const char *p = s; *p; p++) {
		if (*p == '"' && putc('"', f) == EOF)
			return TB_EIO;
		if (putc(*p, f) == EOF)
			return TB_EIO;
	}
	if (quote && putc('"', f) == EOF)
		return TB_EIO;
	if (last ? fputs("\r\n", f) == EOF : putc(',', f) == EOF)
		return TB_EIO;
	return 0;
}
