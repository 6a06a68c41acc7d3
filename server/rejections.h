/* rejections.h - the events the server refused one by one, with the
 * reason, per school: what an office looks at when a school says "I sent
 * it" and the report does not show it.
 *
 * The merge (server/merge.c) keeps every refused event in the table
 * `rejections` (server/db.h): the school, device, sequence number, event
 * id, the reason as sent back in the ack, and when it was received. This
 * module reads them, newest first, and writes them for people (text,
 * times in local time, Asia/Ho_Chi_Minh) or programs (JSON and CSV, times
 * UTC "YYYY-MM-DDTHH:MM:SSZ"), in the three formats of the units list
 * (enum tb_units_format, server/units.h).
 *
 * Called by server/main.c (the `rejections` command: tb_rejections_cmd)
 * and server/admin.c (GET /v1/admin/rejections: tb_rejections_handle), so
 * the command line and HTTP share one query and one writer.
 */
#ifndef TB_SERVER_REJECTIONS_H
#define TB_SERVER_REJECTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "server/settings.h"
#include "server/units.h"

struct tb_sql;
struct tb_config;
struct tb_resp_env;

/* One refused event; the strings are owned by the list. */
struct tb_rejection_row {
	int64_t id;
	char *school;
	char *school_name;  /* NULL when the school is not a unit */
	char *device;
	int64_t seq;
	char *event_id;
	char *reason;
	int64_t received_at; /* Unix seconds */
};

struct tb_rejection_list {
	size_t count;
	int64_t total;      /* rejections matching, beyond the limit too */
	struct tb_rejection_row *rows; /* newest first */
};

#define TB_REJECTIONS_LIMIT 100 /* the default of --limit and ?limit= */

/* The newest `limit` rejections (0: all) of school, or of every school
 * when school is NULL. 0 and *out (tb_rejection_list_destroy);
 * TB_ENOTFOUND with msg when school names no unit; TB_EINVAL with msg
 * when it names a district or province; TB_EIO / TB_EAGAIN / TB_ENOMEM. */
int tb_rejections_list(struct tb_sql *db, const char *school, long limit,
		       struct tb_rejection_list **out, char *msg,
		       size_t msglen);
/* Accepts NULL. */
void tb_rejection_list_destroy(struct tb_rejection_list *l);

/* Writes l: text (a block per event, local time, and how many there are),
 * JSON (an array of {"id","school","school_name","device","seq",
 * "event_id","reason","received_at"}) or CSV (UTF-8 with a BOM, the same
 * columns). 0, TB_EIO, TB_ENOMEM. */
int tb_rejections_write(const struct tb_rejection_list *l,
			enum tb_units_format fmt, FILE *f);

/* The command: `rejections [--school CODE] [--format text|json|csv]
 * [--limit N]`, output on stdout. 0; TB_EUSAGE / TB_ENOTFOUND / TB_EINVAL
 * and database errors with msg. */
#define TB_REJECTIONS_NOPTS 3
extern const struct tb_opt tb_rejections_opts[TB_REJECTIONS_NOPTS];
#define TB_REJECTIONS_HELP "events refused one by one, with the reason, " \
	"newest first"
int tb_rejections_cmd(const struct tb_config *cfg, char *msg, size_t msglen);

/* GET /v1/admin/rejections[?school=CODE][&limit=N][&format=json|csv|text]
 * on db (the caller checked the admin token). JSON by default. */
enum MHD_Result tb_rejections_handle(struct MHD_Connection *c,
				     struct tb_sql *db,
				     const struct tb_resp_env *env);

#endif
