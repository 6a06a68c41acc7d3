/* rollup_layout.c - the roll-up columns from the event model, and the SQL
 * text builder (see rollup_layout.h). Called by rollup.c and
 * rollup_scan.c.
 */
#include "server/rollup_layout.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"

/* ---- layout ------------------------------------------------------------ */

static struct rollup_layout L;
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static void layout_build(void)
{
	const struct tb_field *f;
	size_t n, i, j;

	for (int k = 0; k < TB_KIND_COUNT; k++) {
		if (k == TB_KIND_SNAPSHOT)
			continue;
		f = tb_kind_fields((enum tb_kind)k, &n);
		for (i = 0; i < n; i++) {
			if (f[i].type != TB_FT_COUNT)
				continue;
			for (j = 0; j < L.ncols; j++)
				if (strcmp(L.cols[j], f[i].name) == 0)
					break;
			if (j == L.ncols && L.ncols < TB_ROLLUP_MAXCOLS)
				L.cols[L.ncols++] = f[i].name;
			if (j < L.ncols)
				L.col_kinds[j] |= 1u << k;
		}
	}
	f = tb_kind_fields(TB_KIND_SNAPSHOT, &n);
	for (i = 0; i < n && L.nsnap < TB_FIELDS_MAX; i++) {
		if (f[i].type != TB_FT_COUNT && f[i].type != TB_FT_BOOL)
			continue;
		L.snap[L.nsnap] = (int)i;
		L.snap_names[L.nsnap++] = f[i].name;
	}
}

const struct rollup_layout *rollup_layout(void)
{
	pthread_once(&layout_once, layout_build);
	return &L;
}

size_t tb_rollup_ncols(void)
{
	return rollup_layout()->ncols;
}

int tb_rollup_col(const char *field)
{
	const struct rollup_layout *l = rollup_layout();

	for (size_t i = 0; field && i < l->ncols; i++)
		if (strcmp(l->cols[i], field) == 0)
			return (int)i;
	return -1;
}

/* ---- SQL text ---------------------------------------------------------- */

void rollup_sb_add(struct rollup_sb *b, const char *fmt, ...)
{
	va_list ap;

	if (b->oom)
		return;
	va_start(ap, fmt);
	if (tb_buf_vprintf(&b->buf, fmt, ap) != TB_OK)
		b->oom = 1;
	va_end(ap);
}

const char *const rollup_tables[3] = {"report_day", "report_month",
				      "report_year"};
const char *const rollup_keys[3] = {"day", "month", "year"};
