/* export_xlsx.c - the events export as an Excel workbook (the sheet is
 * described in export.h; cells as server/xlsxw.h says). Called by
 * tb_export (export.c) once the school or district filter is checked.
 *
 * Rows are streamed: one query joins each event to its school's and
 * district's names, each row is parsed into a tb_event and written, and
 * libxlsxwriter's constant-memory mode flushes it, so memory stays flat
 * however many events there are. Rows therefore go strictly top to
 * bottom, and the autofilter, set last, covers the rows written.
 */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/labels.h"
#include "common/mem.h"
#include "server/sql.h"
#include "server/db.h"
#include "server/evrow.h"
#include "server/export_int.h"
#include "server/xlsxw.h"

#define SHEET "Hoạt động"
#define FIRST_ROW 2 /* under the two header rows */
#define NFIXED 14

/* clang-format off */
static const struct tb_xlsxw_col fixed[NFIXED] = {
	{NULL, "kind", 16},
	{NULL, "id", 37},
	{NULL, "school", 14},
	{"Tên trường", "school_name", 32},
	{"Mã huyện", "district", 12},
	{"Tên huyện", "district_name", 22},
	{NULL, "date", 11},
	{NULL, "revision", 8},
	{NULL, "voided", 8},
	{NULL, "void_reason", 24},
	{NULL, "recorded_at", 17},
	{"Máy chủ nhận lúc", "received_at", 17},
	{NULL, "device", 37},
	{NULL, "seq", 8},
};
/* clang-format on */

struct sheet {
	struct tb_xlsxw x;
	lxw_worksheet *ws;
	int number;          /* 1, 2, ... past Excel's last row */
	lxw_row_t row;       /* next row to write */
	struct tb_export_cols cols;
	struct tb_xlsxw_col head[NFIXED + TB_EXPORT_MAX_COLUMNS];
	size_t nhead;
};

static void head_build(struct sheet *s)
{
	size_t i;

	tb_export_cols_build(&s->cols);
	memcpy(s->head, fixed, sizeof(fixed));
	for (i = 0; i < NFIXED; i++)
		if (!s->head[i].vi)
			s->head[i].vi = tb_label_envelope_vi(s->head[i].en);
	for (i = 0; i < s->cols.n; i++) {
		struct tb_xlsxw_col *c = &s->head[NFIXED + i];
		const char *vi = tb_label_field_vi(s->cols.name[i]);

		c->vi = vi ? vi : s->cols.name[i];
		c->en = s->cols.name[i];
		c->width = s->cols.type[i] == TB_FT_COUNT ? 10 : 24;
	}
	s->nhead = NFIXED + s->cols.n;
}

/* The autofilter of the sheet in hand, over the rows written. */
static int sheet_close(struct sheet *s)
{
	if (!s->ws || s->row == FIRST_ROW)
		return TB_OK;
	return tb_xlsxw_err(worksheet_autofilter(s->ws, 1, 0, s->row - 1,
						 (lxw_col_t)s->nhead - 1));
}

/* Closes the sheet in hand and opens the next one. */
static int sheet_next(struct sheet *s)
{
	char name[64];
	int rc = sheet_close(s);

	if (rc < 0)
		return rc;
	if (++s->number > 1)
		snprintf(name, sizeof(name), SHEET " (%d)", s->number);
	else
		snprintf(name, sizeof(name), SHEET);
	s->ws = tb_xlsxw_sheet(&s->x, name);
	if (!s->ws)
		return TB_ENOMEM;
	s->row = FIRST_ROW;
	return tb_xlsxw_table(&s->x, s->ws, 0, s->head, s->nhead, 0);
}

static void field_cell(struct tb_xlsxw_row *w, const struct tb_event *e,
		       const struct tb_export_cols *cols, size_t i)
{
	char buf[TB_TEXT_MAX * 2 + 64];
	const char *vi;
	int idx = cols->idx[e->kind][i];

	if (idx < 0 || !e->v[idx].set) {
		tb_xlsxw_skip(w);
		return;
	}
	switch (cols->type[i]) {
	case TB_FT_COUNT:
		tb_xlsxw_num(w, 1, (double)e->v[idx].n, TB_XF_INT);
		return;
	case TB_FT_BOOL:
		tb_xlsxw_str(w, e->v[idx].n ? "có" : "không", TB_XF_TEXT);
		return;
	case TB_FT_CHOICE:
		vi = tb_label_choice_vi(e->v[idx].s);
		tb_xlsxw_str(w, vi ? vi : e->v[idx].s, TB_XF_TEXT);
		return;
	case TB_FT_TEXT:
	case TB_FT_URL:
		break;
	}
	tb_xlsxw_str(w, tb_event_get(e, idx, buf, sizeof(buf)), TB_XF_TEXT);
}

/* One event: st's row holds the event (TB_EVROW_COLS), then received_at,
 * school name, district code, district name. */
static int event_row(struct sheet *s, struct tb_stmt *st,
		     const struct tb_event *e)
{
	struct tb_xlsxw_row w;
	const char *kind = tb_label_kind_vi(e->kind);

	tb_xlsxw_row_start(&w, &s->x, s->ws, s->row);
	tb_xlsxw_str(&w, kind ? kind : tb_kind_name(e->kind), TB_XF_TEXT);
	tb_xlsxw_str(&w, e->id, TB_XF_TEXT);
	tb_xlsxw_str(&w, e->school, TB_XF_TEXT);
	for (int c = TB_EVROW_NCOLS + 1; c <= TB_EVROW_NCOLS + 3; c++)
		tb_xlsxw_str(&w, tb_sql_column_text(st, c), TB_XF_TEXT);
	tb_xlsxw_date(&w, e->date);
	tb_xlsxw_num(&w, 1, (double)e->revision, TB_XF_INT);
	tb_xlsxw_str(&w, e->voided ? "có" : "không", TB_XF_TEXT);
	tb_xlsxw_str(&w, e->void_reason, TB_XF_TEXT);
	tb_xlsxw_time(&w, e->recorded_at);
	tb_xlsxw_time(&w, tb_sql_column_int64(st, TB_EVROW_NCOLS));
	tb_xlsxw_str(&w, e->device, TB_XF_TEXT);
	tb_xlsxw_num(&w, e->seq != 0, (double)e->seq, TB_XF_INT);
	for (size_t i = 0; i < s->cols.n; i++)
		field_cell(&w, e, &s->cols, i);
	s->row++;
	return w.rc;
}

static int rows(struct sheet *s, struct tb_sql *db, struct tb_stmt *st,
		int64_t *count, char *msg, size_t msglen)
{
	struct tb_event e;
	int src, rc = TB_OK;

	while (rc == TB_OK && (src = tb_sql_step(st)) == TB_SQL_ROW) {
		if (s->row >= LXW_ROW_MAX)
			rc = sheet_next(s);
		if (rc == TB_OK)
			rc = tb_evrow_read(st, 0, &e, msg, msglen);
		if (rc < 0)
			break;
		rc = event_row(s, st, &e);
		tb_event_clear(&e);
		(*count)++;
	}
	if (rc == TB_OK && src != TB_SQL_DONE) {
		snprintf(msg, msglen, "export: %s", tb_sql_errmsg(db));
		rc = tb_sql_err(src);
	}
	return rc;
}

int tb_export_xlsx(struct tb_sql *db, const struct tb_export_opts *o, FILE *out,
		   int64_t *count, char *msg, size_t msglen)
{
	struct sheet *s = tb_calloc(1, sizeof(*s)); /* 11 KB of tables */
	struct tb_stmt *st = NULL;
	int64_t n = 0;
	int rc;

	msg[0] = '\0';
	if (!s)
		return TB_ENOMEM;
	head_build(s);
	rc = tb_export_prepare(db,
		"SELECT " TB_EVROW_COLS ", e.received_at, u.name, u.district,"
		" d.name FROM" TB_EVROW_FROM " LEFT JOIN units u ON"
		" u.code = e.school LEFT JOIN units d ON d.code = u.district"
		TB_EXPORT_FILTER,
		o, &st, msg, msglen);
	if (rc == TB_OK)
		rc = tb_xlsxw_open(&s->x, 1);
	if (rc == TB_OK)
		rc = sheet_next(s);
	if (rc == TB_OK)
		rc = rows(s, db, st, &n, msg, msglen);
	if (rc == TB_OK)
		rc = sheet_close(s);
	if (rc == TB_OK)
		rc = tb_xlsxw_finish(&s->x, out);
	else
		tb_xlsxw_abort(&s->x);
	if (rc == TB_OK && fflush(out) != 0)
		rc = TB_EIO;
	if (rc < 0 && !msg[0])
		snprintf(msg, msglen, "export: cannot write the workbook: %s",
			 tb_strerror(rc));
	tb_sql_finalize(st);
	tb_free(s);
	*count = n;
	return rc;
}
