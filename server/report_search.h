/* report_search.h - finding a unit by name or code for the dashboard, the
 * way an officer types it: "da bac", "Đà Bắc", "HB-DABAC", "dabac" all
 * find Huyện Đà Bắc (common/fold.h: diacritics and case ignored).
 *
 * Called by server/report_http.c when the unit field of the dashboard is
 * not a unit's code, and for GET /search. Reads the units table only.
 */
#ifndef TB_SERVER_REPORT_SEARCH_H
#define TB_SERVER_REPORT_SEARCH_H

#include <stddef.h>

#include "common/event.h"

struct tb_sql;

#define TB_SEARCH_MAX 100 /* hits listed at most */

struct tb_unit_hit {
	char code[TB_CODE_MAX + 1];
	char type[16];                    /* school, district, province */
	char *name;                       /* owned by the hits */
	char district[TB_CODE_MAX + 1];   /* a school's; "" for others */
	char *district_name;              /* owned; NULL for others */
};

struct tb_unit_hits {
	size_t n;
	size_t more;  /* matches past TB_SEARCH_MAX, not listed */
	struct tb_unit_hit hit[TB_SEARCH_MAX];
};

/* The units whose folded name or code contains the folded query:
 * provinces, then districts, then schools, each by name. An exact code
 * (any case) comes first. 0 and *out (tb_unit_hits_destroy); TB_ENOMEM;
 * TB_EAGAIN / TB_EIO from the database. An empty query finds nothing. */
int tb_unit_search(struct tb_sql *db, const char *query,
		   struct tb_unit_hits **out);
void tb_unit_hits_destroy(struct tb_unit_hits *h);

#endif
