/* evrow.c - a stored revision put together again (see evrow.h). */
#include "server/evrow.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "protocol/event_json.h"
#include "server/sql.h"

int tb_evrow_fields(const struct tb_event *e, struct tb_buf *out)
{
	return tb_event_fields_write(out, e);
}

static void copy_col(struct tb_stmt *st, int col, char *dst, size_t len)
{
	const char *v = tb_sql_column_text(st, col);

	snprintf(dst, len, "%s", v ? v : "");
}

int tb_evrow_read(struct tb_stmt *st, int col, struct tb_event *e,
		  char *msg, size_t msglen)
{
	const char *kind = tb_sql_column_text(st, col + 2);
	const char *date = tb_sql_column_text(st, col + 3);
	const char *why = tb_sql_column_text(st, col + 6);
	const char *fields = tb_sql_column_text(st, col + 10);
	enum tb_kind k;
	char id[TB_ID_LEN];
	int rc;

	copy_col(st, col, id, sizeof(id));
	if (!kind || tb_kind_parse(kind, &k) < 0) {
		snprintf(msg, msglen, "stored event %s: unknown kind '%s'", id,
			 kind ? kind : "");
		return TB_EIO;
	}
	tb_event_init(e, k);
	memcpy(e->id, id, sizeof(id));
	copy_col(st, col + 1, e->school, sizeof(e->school));
	copy_col(st, col + 7, e->device, sizeof(e->device));
	e->revision = tb_sql_column_int64(st, col + 4);
	e->voided = tb_sql_column_int64(st, col + 5) != 0;
	e->seq = tb_sql_column_int64(st, col + 8);
	e->recorded_at = tb_sql_column_int64(st, col + 9);
	if (!date || tb_date_parse(date, &e->date) < 0) {
		snprintf(msg, msglen, "stored event %s: bad date '%s'", id,
			 date ? date : "");
		tb_event_clear(e);
		return TB_EIO;
	}
	if (why) { /* as it was stored: NULL stays NULL */
		e->void_reason = tb_strdup(why);
		if (!e->void_reason) {
			tb_event_clear(e);
			return TB_ENOMEM;
		}
	}
	rc = tb_event_fields_read(fields ? fields : "{}",
				  fields ? strlen(fields) : 2, e, msg, msglen);
	if (rc < 0) {
		tb_event_clear(e);
		if (rc != TB_ENOMEM) {
			char why2[200];

			snprintf(why2, sizeof(why2), "%s", msg);
			snprintf(msg, msglen, "stored event %s: %s", id, why2);
		}
		return rc == TB_ENOMEM ? rc : TB_EIO;
	}
	return TB_OK;
}

int tb_evrow_body(const struct tb_event *e, char **out)
{
	cJSON *o = tb_event_to_json(e);
	char *s, *copy;
	size_t n;

	*out = NULL;
	if (!o)
		return TB_ENOMEM;
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return TB_ENOMEM;
	n = strlen(s);
	copy = tb_malloc(n + 1);
	if (copy)
		memcpy(copy, s, n + 1);
	cJSON_free(s);
	*out = copy;
	return copy ? TB_OK : TB_ENOMEM;
}
