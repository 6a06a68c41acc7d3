/* import.c - a sheet's rows as events (rules in import.h).
 *
 * Called by agent/cmd_import.c inside its store transaction. Every cell
 * goes through agent/input.c (dates as clerks write them, counts with the
 * sheet's thousands mark, Vietnamese names), then the event's own rules
 * (common/event.c); a refusal names the row, the column by its letter and
 * header, and the value. The fingerprint of a row is its kind, date and
 * fields JSON as the codec writes them (protocol/event_json.h).
 */
#include "agent/import.h"

#include "agent/i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

#include "agent/labels.h"
#include "agent/sheet.h"
#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "protocol/event_json.h"

/* "A", "B", ... "Z", "AA": the column as the spreadsheet names it. */
static const char *col_letter(size_t i, char *buf, size_t len)
{
	char tmp[8];
	size_t n = 0, k;

	i++;
	while (i > 0 && n < sizeof(tmp)) {
		tmp[n++] = (char)('A' + (i - 1) % 26);
		i = (i - 1) / 26;
	}
	for (k = 0; k < n && k + 1 < len; k++)
		buf[k] = tmp[n - 1 - k];
	buf[k] = '\0';
	return buf;
}

static int fail(struct tb_import *im, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "row R, column C (header): <message>" (col SIZE_MAX: no column) into
 * im->msg; returns TB_EINVAL. */
static int fail(struct tb_import *im, size_t col, const char *fmt, ...)
{
	char letter[8];
	va_list ap;
	int n;

	if (col == (size_t)-1)
		n = snprintf(im->msg, sizeof(im->msg), _("row %lld: "),
			     (long long)im->row);
	else
		n = snprintf(im->msg, sizeof(im->msg),
			     _("row %lld, column %s (%s): "),
			     (long long)im->row,
			     col_letter(col, letter, sizeof(letter)),
			     im->cols[col].header);
	if (n > 0 && (size_t)n < sizeof(im->msg)) {
		va_start(ap, fmt);
		vsnprintf(im->msg + n, sizeof(im->msg) - (size_t)n, fmt, ap);
		va_end(ap);
		tb_label_msg(im->msg + n, sizeof(im->msg) - (size_t)n);
	}
	return TB_EINVAL;
}

#ifdef __clang_analyzer__ /* it does not follow variadic calls: msg.h */
#define fail(im, col, ...) (fail((im), (col), __VA_ARGS__), TB_EINVAL)
#endif

#define NO_COL ((size_t)-1)

/* ---- the header ---------------------------------------------------------- */

static const struct {
	const char *name;
	enum tb_import_role role;
} envelope[] = {
	{ "kind", TB_COL_KIND },       { TB_LABEL_KIND, TB_COL_KIND },
	{ "date", TB_COL_DATE },       { TB_LABEL_DATE, TB_COL_DATE },
	{ "id", TB_COL_ID },           { "voided", TB_COL_VOIDED },
	{ "revision", TB_COL_INFO },   { "recorded_at", TB_COL_INFO },
	{ "state", TB_COL_INFO },      { "void_reason", TB_COL_INFO },
	{ "school", TB_COL_INFO },     { "device", TB_COL_INFO },
};

/* The role (and field name) of header text h. 0, or -1 if unknown. */
static int column_role(const char *h, struct tb_import_col *c)
{
	const struct tb_field *tab;
	const char *vi;
	size_t i, n;
	int k;

	for (i = 0; i < sizeof(envelope) / sizeof(envelope[0]); i++) {
		if (tb_input_same(h, envelope[i].name)) {
			c->role = envelope[i].role;
			return 0;
		}
	}
	for (k = 0; k < TB_KIND_COUNT; k++) {
		tab = tb_kind_fields((enum tb_kind)k, &n);
		for (i = 0; i < n; i++) {
			vi = tb_label_field_vi(tab[i].name);
			if (tb_input_same(h, tab[i].name) ||
			    tb_input_same(h, tab[i].option) ||
			    (vi && tb_input_same(h, vi))) {
				c->role = TB_COL_FIELD;
				snprintf(c->name, sizeof(c->name), "%s",
					 tab[i].name);
				return 0;
			}
		}
	}
	return -1;
}

/* Trims blanks (spaces, tabs, no-break spaces) around a cell in place. */
static char *trim(char *s)
{
	size_t start = 0, len;

	for (;;) {
		if (s[start] == ' ' || s[start] == '\t')
			start++;
		else if ((unsigned char)s[start] == 0xC2 &&
			 (unsigned char)s[start + 1] == 0xA0)
			start += 2;
		else
			break;
	}
	len = strlen(s + start);
	memmove(s, s + start, len + 1);
	for (;;) {
		if (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			s[--len] = '\0';
		else if (len > 1 && (unsigned char)s[len - 2] == 0xC2 &&
			 (unsigned char)s[len - 1] == 0xA0)
			s[len -= 2] = '\0';
		else
			break;
	}
	return s;
}

/* A cell whose letters were lost on saving ("T?p hu?n"). */
static int lossy(struct tb_import *im, size_t col, const char *cell)
{
	return fail(im, col,
		    _("'%s' has '?' where letters should be: the file was "
		      "saved without Vietnamese letters. Save it again as "
		      "CSV UTF-8 (in LibreOffice: Text CSV, character set "
		      "Unicode (UTF-8)) or as .xlsx, and import that"),
		    cell);
}

int tb_import_header(struct tb_import *im, char **cells, size_t n)
{
	int have_kind = 0, have_date = 0;
	size_t i, j;

	im->row = 1;
	for (i = 0; i < n; i++) {
		struct tb_import_col *c = &im->cols[i];
		char *h = trim(cells[i]);

		snprintf(c->header, sizeof(c->header), "%s", h);
		if (!h[0]) {
			c->role = TB_COL_BLANK;
			continue;
		}
		if (tb_sheet_lossy(h))
			return lossy(im, i, h);
		if (column_role(h, c) != 0)
			return fail(im, i,
				    _("unknown column '%s': the columns are "
				      "%s, %s and the fields by their names "
				      "(as in 'tienbo-agent template'), such "
				      "as Tên hoạt động or title"),
				    h, TB_LABEL_KIND, TB_LABEL_DATE);
		for (j = 0; j < i; j++)
			if (im->cols[j].role == c->role &&
			    c->role != TB_COL_INFO &&
			    (c->role != TB_COL_FIELD ||
			     strcmp(im->cols[j].name, c->name) == 0)) {
				char letter[8];

				return fail(im, i,
					    _("the same column as column %s "
					      "(%s)"),
					    col_letter(j, letter,
						       sizeof(letter)),
					    im->cols[j].header);
			}
		have_kind |= c->role == TB_COL_KIND;
		have_date |= c->role == TB_COL_DATE;
	}
	im->ncols = n;
	if (!have_kind || !have_date)
		return fail(im, NO_COL,
			    _("there is no %s column (%s or %s): each row "
			      "needs its kind of activity and its date"),
			    have_kind ? _("date") : _("kind"),
			    have_kind ? TB_LABEL_DATE : TB_LABEL_KIND,
			    have_kind ? "date" : "kind");
	return TB_OK;
}

/* ---- a row ------------------------------------------------------------- */

/* A spreadsheet's guard against formulas that export put before = + - @
 * (common/csv.c) comes off again. */
static const char *unguard(const char *s)
{
	return s[0] == '\'' && s[1] && strchr("=+-@", s[1]) ? s + 1 : s;
}

/* The rule message of common/event.c without its "name: " prefix. */
static const char *rule_text(const char *msg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(msg, name, n) == 0 && msg[n] == ':' && msg[n + 1] == ' '
		       ? msg + n + 2
		       : msg;
}

/* A rule message "name: rule" of common/event.c, at the column of the
 * field it names when the sheet has one. */
static int rule_fail(struct tb_import *im, const char *msg, size_t date_col)
{
	size_t i, n = strcspn(msg, ":");

	if (n == 4 && strncmp(msg, "date", 4) == 0 && date_col != NO_COL)
		return fail(im, date_col, "%s", rule_text(msg, "date"));
	for (i = 0; i < im->ncols; i++) {
		const struct tb_import_col *c = &im->cols[i];

		if (c->role == TB_COL_FIELD && strlen(c->name) == n &&
		    strncmp(msg, c->name, n) == 0)
			return fail(im, i, "%s", rule_text(msg, c->name));
	}
	return fail(im, NO_COL, "%s", msg);
}

static int set_cell(struct tb_import *im, size_t col, const char *cell,
		    struct tb_event *e)
{
	const struct tb_import_col *c = &im->cols[col];
	const struct tb_field *f;
	char why[TB_WHY_LEN], msg[TB_MSG_LEN], *canon;
	size_t n;
	int idx = tb_field_index(e->kind, c->name), rc;

	if (idx < 0)
		return fail(im, col,
			    _("an activity of kind %s has no such column; "
			      "leave this cell empty (got '%s')"),
			    tb_kind_label(e->kind), cell);
	f = tb_kind_fields(e->kind, &n) + idx;
	if ((f->type == TB_FT_TEXT || f->type == TB_FT_CHOICE) &&
	    tb_sheet_lossy(cell))
		return lossy(im, col, cell);
	canon = tb_malloc(TB_TEXT_MAX * 4 + 8);
	if (!canon)
		return TB_ENOMEM;
	rc = tb_input_value(f, cell, im->conv, canon, TB_TEXT_MAX * 4 + 8,
			    why, sizeof(why));
	if (rc == TB_EINVAL)
		fail(im, col, "%s", why);
	if (rc == TB_OK) {
		rc = tb_event_set(e, f->name, canon, msg, sizeof(msg));
		if (rc == TB_EINVAL)
			fail(im, col, "%s", rule_text(msg, f->name));
	}
	tb_free(canon);
	return rc;
}

/* The row's kind. */
static int row_kind(struct tb_import *im, char **cells, size_t n,
		    enum tb_kind *kind)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (im->cols[i].role != TB_COL_KIND)
			continue;
		if (!cells[i][0])
			break;
		if (tb_input_kind(cells[i], kind) == TB_OK)
			return TB_OK;
		if (tb_sheet_lossy(cells[i]))
			return lossy(im, i, cells[i]);
		return fail(im, i,
			    _("'%s' is not a kind of activity: write one of "
			      "%s, %s, %s, %s, %s"),
			    cells[i], tb_label_kind_vi(TB_KIND_OUTREACH),
			    tb_label_kind_vi(TB_KIND_TRAINING),
			    tb_label_kind_vi(TB_KIND_ACTION_MONTH),
			    tb_label_kind_vi(TB_KIND_WEB_POST),
			    tb_label_kind_vi(TB_KIND_SNAPSHOT));
	}
	return fail(im, i < n ? i : NO_COL, _("the kind of activity is "
					      "missing"));
}

/* Fills e from the cells; *id and *voided from export's columns. */
static int fill(struct tb_import *im, char **cells, size_t n,
		struct tb_event *e, const char **id, int *voided)
{
	char why[TB_WHY_LEN], msg[TB_MSG_LEN];
	int rc = TB_OK, have_date = 0;
	size_t i, date_col = NO_COL;

	for (i = 0; rc == TB_OK && i < n; i++) {
		const char *cell = unguard(cells[i]);

		if (!cell[0])
			continue;
		switch (im->cols[i].role) {
		case TB_COL_KIND:
		case TB_COL_INFO:
			break;
		case TB_COL_BLANK:
			return fail(im, i, _("the cell has a value but its "
					     "column has no header (got "
					     "'%s')"),
				    cell);
		case TB_COL_ID:
			*id = cell;
			break;
		case TB_COL_VOIDED:
			*voided = tb_input_same(cell, "yes") ||
				  tb_input_same(cell, "1") ||
				  tb_input_same(cell, "có");
			break;
		case TB_COL_DATE:
			have_date = 1;
			date_col = i;
			if (tb_input_date(cell, &e->date, why, sizeof(why)))
				return fail(im, i, "%s", why);
			break;
		case TB_COL_FIELD:
			rc = set_cell(im, i, cell, e);
			break;
		}
	}
	if (rc != TB_OK)
		return rc;
	if (!have_date) {
		for (i = 0; i < im->ncols && im->cols[i].role != TB_COL_DATE;
		     i++)
			;
		return fail(im, i < im->ncols ? i : NO_COL,
			    _("the date is missing"));
	}
	if (tb_event_validate(e, 0, msg, sizeof(msg)) != TB_OK)
		return rule_fail(im, msg, date_col);
	return TB_OK;
}

/* The fingerprint and key of e into content and key. */
static int fingerprint(const struct tb_event *e, struct tb_buf *content,
		       struct tb_buf *key)
{
	char date[TB_DATE_LEN], title[TB_TEXT_MAX * 4 + 8];
	int idx = tb_field_index(e->kind, "title");
	uint8_t *folded;
	size_t n = 0;
	int rc;

	tb_date_format(e->date, date);
	rc = tb_buf_printf(content, "%s\x1f%s\x1f", tb_kind_name(e->kind),
			   date);
	if (rc == TB_OK)
		rc = tb_event_fields_write(content, e);
	if (rc == TB_OK)
		rc = tb_buf_printf(key, "%s\x1f%s\x1f", tb_kind_name(e->kind),
				   date);
	if (rc != TB_OK || idx < 0)
		return rc;
	tb_event_get(e, idx, title, sizeof(title));
	/* the title is NFC already (tb_input_value): fold without
	 * normalising again */
	folded = u8_casefold((const uint8_t *)title, strlen(title), NULL,
			     NULL, NULL, &n);
	if (!folded)
		return TB_ENOMEM;
	rc = tb_buf_add(key, folded, n);
	free(folded); /* libunistring's, from malloc */
	return rc;
}

/* Counts row as skipped in the runs of the summary. */
static void note_skip(struct tb_import *im, int64_t import_id, int64_t at,
		      const char *file, int voided)
{
	struct tb_import_skip *last =
		im->nskips ? &im->skips[im->nskips - 1] : NULL;

	im->skipped++;
	if (last && last->last == im->row - 1 &&
	    last->import_id == import_id && last->voided == voided) {
		last->last = im->row;
		return;
	}
	if (im->nskips == TB_IMPORT_SKIP_RUNS)
		return;
	last = &im->skips[im->nskips++];
	last->first = last->last = im->row;
	last->import_id = import_id;
	last->at = at;
	last->voided = voided;
	snprintf(last->file, sizeof(last->file), "%s", file ? file : "");
}

/* Looks e up among earlier imports: 1 to skip it, 0 to record it, or an
 * error that stops the import. */
static int check_before(struct tb_import *im, const char *content,
			const char *key)
{
	struct tb_store_import_match m;
	char when[64];
	int rc = tb_store_import_find(im->store, content, key, &m);

	if (rc <= 0)
		return rc < 0 ? rc : 0;
	if (m.import_id == im->import_id)
		return fail(im, NO_COL,
			    m.exact ? _("the same as row %lld of this file; "
					"delete one of them, or import with "
					"--again if both really happened")
				    : _("the same activity (kind, date and "
					"title) as row %lld of this file, with "
					"other figures; keep the right one, or "
					"import with --again if both really "
					"happened"),
			    (long long)m.row);
	if (m.exact) {
		note_skip(im, m.import_id, m.at, m.file, 0);
		return 1;
	}
	tb_i18n_time(m.at, when, sizeof(when));
	return fail(im, NO_COL,
		    _("the same activity (kind, date and title) as row %lld "
		      "of %s, imported %s (import %lld), but with other "
		      "figures. To correct that event use 'tienbo-agent "
		      "amend %s'; to record this as another event, import "
		      "with --again"),
		    (long long)m.row, m.file, when, (long long)m.import_id,
		    m.event_id);
}

/* The template's example row: its kind begins "Ví dụ:" (or English
 * "Example:"). */
static int example_row(const struct tb_import *im, char **cells, size_t n)
{
	static const char *const marks[] = { "Ví dụ:", "Example:" };
	size_t i, j, len;

	for (i = 0; i < n; i++) {
		if (im->cols[i].role != TB_COL_KIND)
			continue;
		for (j = 0; j < sizeof(marks) / sizeof(marks[0]); j++) {
			len = strlen(marks[j]);
			int cmp = 1;

			if (strlen(cells[i]) >= len &&
			    u8_casecmp((const uint8_t *)cells[i], len,
				       (const uint8_t *)marks[j], len, NULL,
				       UNINORM_NFC, &cmp) == 0 &&
			    cmp == 0)
				return 1;
		}
	}
	return 0;
}

int tb_import_row(struct tb_import *im, char **cells, size_t n)
{
	struct tb_buf content = TB_BUF_INIT, key = TB_BUF_INIT;
	struct tb_event e, have;
	const char *id = NULL;
	enum tb_kind kind;
	int rc, voided = 0;
	size_t i;

	for (i = 0; i < n; i++)
		trim(cells[i]);
	if (n > im->ncols) {
		for (i = im->ncols; i < n && !cells[i][0]; i++)
			;
		if (i < n)
			return fail(im, NO_COL,
				    _("the row has %zu cells but the header "
				      "names only %zu columns"),
				    n, im->ncols);
		n = im->ncols;
	}
	if (example_row(im, cells, n)) {
		note_skip(im, 0, 0, NULL, 2);
		return TB_OK;
	}
	rc = row_kind(im, cells, n, &kind);
	if (rc != TB_OK)
		return rc;
	tb_event_init(&e, kind);
	rc = fill(im, cells, n, &e, &id, &voided);
	if (rc == TB_OK && voided) {
		note_skip(im, 0, 0, NULL, 1);
		goto out;
	}
	if (rc == TB_OK && id && !im->again) {
		rc = tb_store_get(im->store, id, &have, NULL);
		if (rc == TB_OK) {
			tb_event_clear(&have);
			note_skip(im, 0, 0, NULL, 0);
			goto out;
		}
		rc = rc == TB_ENOTFOUND || rc == TB_EINVAL ? TB_OK : rc;
	}
	if (rc == TB_OK)
		rc = fingerprint(&e, &content, &key);
	if (rc == TB_OK && !im->again) {
		rc = check_before(im, content.p, key.p);
		if (rc == 1) {
			rc = TB_OK;
			goto out;
		}
	}
	if (rc == TB_OK) {
		rc = tb_store_record(im->store, &e);
		if (rc != TB_OK)
			fail(im, NO_COL, "%s", tb_store_errmsg(im->store));
	}
	if (rc == TB_OK) {
		rc = tb_store_import_row(im->store, im->import_id, im->row,
					 content.p, key.p, e.id);
		if (rc != TB_OK)
			fail(im, NO_COL, "%s", tb_store_errmsg(im->store));
	}
	if (rc == TB_OK)
		im->imported++;
out:
	tb_event_clear(&e);
	tb_buf_free(&content);
	tb_buf_free(&key);
	return rc;
}

/* ---- the thousands mark the sheet shows --------------------------------- */

/* What one cell says about the mark: 'd' dot groups, 'c' comma groups,
 * 0 nothing. "1.500.000", "2,5", "1.500,25" say dot; mirrors comma. */
static char cell_hint(const char *s)
{
	size_t digits = 0, groups = 0, lead = 0;
	char mark = 0, other = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++)
		lead++;
	if (lead == 0 || lead > 3 || !*p)
		return 0;
	mark = *p;
	if (mark != '.' && mark != ',')
		return 0;
	while (*p == mark) {
		for (p++, digits = 0; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (digits != 3)
			break;
		groups++;
	}
	other = mark == '.' ? ',' : '.';
	if (!*p && digits == 3 && groups >= 2)
		return mark == '.' ? 'd' : 'c';
	if (!*p && groups == 0 && digits > 0 && digits != 3)
		return mark == '.' ? 'c' : 'd'; /* 2.5: a decimal point */
	if (*p == other && digits == 3) {
		for (p++, digits = 0; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (!*p && digits > 0)
			return mark == '.' ? 'd' : 'c';
	}
	return 0;
}

enum tb_numconv tb_import_numconv(const char *text, char sep)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct tb_csv_reader *r = f ? tb_csv_reader_create(f) : NULL;
	char **cells, msg[160];
	size_t n, i;
	int dot = 0, comma = 0, first = 1;
	char h;

	if (!r) {
		if (f)
			fclose(f);
		return TB_NUM_UNKNOWN;
	}
	tb_csv_reader_set_sep(r, sep);
	while (tb_csv_next(r, &cells, &n, msg, sizeof(msg)) > 0) {
		for (i = 0; !first && i < n; i++) {
			h = cell_hint(trim(cells[i]));
			dot |= h == 'd';
			comma |= h == 'c';
		}
		first = 0;
	}
	tb_csv_reader_destroy(r);
	fclose(f);
	if (dot == comma)
		return TB_NUM_UNKNOWN;
	return dot ? TB_NUM_DOT : TB_NUM_COMMA;
}
