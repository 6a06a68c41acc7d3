/* rollup_layout.h - what the report roll-ups are made of, shared by the
 * writing side (server/rollup.c: tables, triggers, the fill) and the
 * reading side (server/rollup_scan.c); nothing else includes it.
 *
 * The layout is worked out once per process from the event model's field
 * tables (common/event.h): a c_<field> column per count field of the
 * activity kinds, an s_<field> column per count or boolean field of the
 * snapshot. It is immutable once built and may be read by any thread;
 * its strings are the event model's (static).
 *
 * rollup_sb is a growable SQL text (a common/buf.h buffer): rollup_sb_add
 * appends with printf formatting; after a failed append it sets oom and
 * ignores further additions, so a caller checks once at the end. The
 * caller frees buf (tb_buf_free). pg says which dialect the text is
 * for, where the two differ (rollup.c).
 */
#ifndef TB_SERVER_ROLLUP_LAYOUT_H
#define TB_SERVER_ROLLUP_LAYOUT_H

#include <stddef.h>

#include "common/buf.h"
#include "common/event.h"
#include "server/rollup.h"

struct rollup_layout {
	size_t ncols;
	const char *cols[TB_ROLLUP_MAXCOLS];
	unsigned col_kinds[TB_ROLLUP_MAXCOLS]; /* bit 1 << kind: has the field */
	size_t nsnap;
	int snap[TB_FIELDS_MAX]; /* snapshot field indexes (count, bool) */
	const char *snap_names[TB_FIELDS_MAX];
};

/* The layout, built on first use. Never NULL. */
const struct rollup_layout *rollup_layout(void);

struct rollup_sb {
	struct tb_buf buf;
	int oom; /* set by the first failed append; later ones do nothing */
	int pg;  /* the text is for PostgreSQL (rollup.c's dialect pieces) */
};

void rollup_sb_add(struct rollup_sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The three tables of sums and their key columns, by period: day (0),
 * month (1), year (2). */
extern const char *const rollup_tables[3];
extern const char *const rollup_keys[3];

#endif
