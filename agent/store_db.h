/* store_db.h - the inside of the agent store, shared by its files: the
 * handle, the prepared statements, errors in plain words, transactions.
 *
 * Included only by agent/store*.c (the public interface is store.h). The
 * handle owns its statements (prepared once, SQLITE_PREPARE_PERSISTENT,
 * finalised by tb_store_close) and a scratch buffer for the row being
 * written. Every function returns 0 or a code of common/err.h and, on
 * failure, leaves the reason in s->errmsg.
 */
#ifndef TB_AGENT_STORE_DB_H
#define TB_AGENT_STORE_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "agent/store.h"
#include "common/buf.h"

#define TB_SDB_BUSY_TIMEOUT_MS 10000
#define TB_SDB_ERRMSG_LEN 768

/* The columns of a queue row as every reading statement selects them, in
 * this order (agent/store_row.c reads them). */
#define TB_SDB_ROW_COLS                                                        \
	"seq, id, revision, kind, date, recorded_at, voided, void_reason, "    \
	"fields, state, reject_reason, wire_bytes"
enum tb_sdb_col {
	COL_SEQ, COL_ID, COL_REVISION, COL_KIND, COL_DATE, COL_RECORDED_AT,
	COL_VOIDED, COL_VOID_REASON, COL_FIELDS, COL_STATE, COL_REJECT_REASON,
	COL_WIRE_BYTES
};

enum stmt_id {
	ST_NEXT_SEQ,
	ST_LATEST,
	ST_INSERT,
	ST_HISTORY,
	ST_LIST,
	ST_RESOLVE,
	ST_PENDING_STATS,
	ST_OLDEST,
	ST_LAST_SEQ,
	ST_PENDING_EACH,
	ST_MARK_SENT,
	ST_MARK_REJECTED,
	ST_SEQ_EXISTS,
	ST_REQUEUE,
	ST_KV_GET,
	ST_KV_SET,
	ST_KV_DEL,
	ST_META_GET,
	ST_META_SET,
	ST_ROWS,
	ST_STATE_COUNTS,
	ST_EVENTS,
	ST_IMP_NEW,
	ST_IMP_ROW,
	ST_IMP_FIND,
	ST_IMP_DONE,
	ST_IMP_LIST,
	ST_IMP_EVENTS,
	ST_IMP_UNDONE,
	ST_COUNT
};

struct tb_store {
	sqlite3 *db;
	char *path;
	int explicit_tx;  /* inside tb_store_begin .. commit/rollback */
	int64_t next_seq; /* in an explicit transaction: the next seq, or 0 */
	char device[TB_ID_LEN];
	char school[TB_CODE_MAX + 1];
	sqlite3_stmt *st[ST_COUNT];
	struct tb_buf fields; /* the fields JSON of the row being written */
	struct tb_buf wire;   /* its batch encoding, to measure it */
	char errmsg[TB_SDB_ERRMSG_LEN];
};

/* Plain words for a SQLite failure into s->errmsg ("<doing> <path>: <why>
 * (<sqlite's message>)"); returns the code it maps to (TB_EAGAIN for busy,
 * TB_ENOMEM, TB_ECONFLICT for a constraint, TB_EIO otherwise). */
int tb_sdb_dbfail(struct tb_store *s, int src, const char *doing);
/* Formats errmsg and returns rc. */
int tb_sdb_fail(struct tb_store *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The prepared statement `which`, reset and unbound (owned by s); NULL
 * with errmsg set. */
sqlite3_stmt *tb_sdb_stmt(struct tb_store *s, enum stmt_id which);
/* sqlite3_exec of sql; on failure errmsg says "<doing> <path>: ...". */
int tb_sdb_exec(struct tb_store *s, const char *sql, const char *doing);
/* The write transaction of one call (BEGIN IMMEDIATE), unless the caller
 * holds one (tb_store_begin); wend commits it if rc is 0, else rolls back,
 * and returns the outcome. */
int tb_sdb_wbegin(struct tb_store *s);
int tb_sdb_wend(struct tb_store *s, int rc);
/* A read transaction (one consistent view) unless one is open; returns 1
 * if it began one, which rend then ends. */
int tb_sdb_rbegin(struct tb_store *s);
void tb_sdb_rend(struct tb_store *s, int began);
/* Steps a statement that returns no row or one row; *row = 1 for a row. */
int tb_sdb_step(struct tb_store *s, sqlite3_stmt *st, const char *doing,
		int *row);
/* The first one or two integer columns of a one-row query (0 if no row). */
int tb_sdb_i64(struct tb_store *s, enum stmt_id which, int64_t *a,
	       int64_t *b);

#endif
