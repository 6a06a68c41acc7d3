/* store.c - the agent's durable offline store on SQLite (see store.h).
 *
 * Called by the CLI commands and the sync engine. Every write runs in one
 * BEGIN IMMEDIATE transaction (or joins the caller's tb_store_begin), so a
 * call either commits whole or leaves nothing; COMMIT with WAL and
 * synchronous=FULL is durable when it returns. Statements are prepared once
 * per handle (SQLITE_PREPARE_PERSISTENT) and reset after each use. The
 * schema and its migrations live in agent/schema.c.
 */
#include "agent/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent/schema.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"

_Static_assert(TB_SCHEMA_VERSION == TB_STORE_SCHEMA_VERSION,
	       "store.h and schema.h disagree on the schema version");

#define BUSY_TIMEOUT_MS 10000
#define ERRMSG_LEN 768

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
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_NEXT_SEQ] = "SELECT COALESCE((SELECT seq FROM sqlite_sequence "
			"WHERE name = 'queue'), 0) + 1",
	[ST_LATEST] = "SELECT revision, voided, kind, seq, state, "
		      "reject_reason, wire, wire_bytes FROM queue "
		      "WHERE id = ?1 ORDER BY revision DESC LIMIT 1",
	[ST_INSERT] = "INSERT INTO queue (seq, id, revision, kind, date, "
		      "recorded_at, voided, void_reason, fields, state, wire, "
		      "wire_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
		      "0, ?10, ?11)",
	[ST_HISTORY] = "SELECT seq, state, reject_reason, wire, wire_bytes "
		       "FROM queue WHERE id = ?1 ORDER BY seq",
	[ST_LIST] = "SELECT seq, state, reject_reason, wire, wire_bytes "
		    "FROM queue q WHERE revision = (SELECT max(revision) FROM "
		    "queue WHERE id = q.id) "
		    "AND (?1 IS NULL OR kind = ?1) "
		    "AND (?2 IS NULL OR date >= ?2) "
		    "AND (?3 IS NULL OR date <= ?3) "
		    "AND (?4 = 0 OR state = 0) "
		    "AND (?5 = 1 OR voided = 0) ORDER BY date, seq",
	[ST_RESOLVE] = "SELECT DISTINCT id FROM queue WHERE "
		       "CASE WHEN length(?1) = 36 THEN id = ?1 "
		       "ELSE instr(id, ?1) > 0 END ORDER BY id LIMIT 2",
	[ST_PENDING_STATS] = "SELECT count(*), COALESCE(sum(wire_bytes), 0) "
			     "FROM queue WHERE state = 0",
	[ST_OLDEST] = "SELECT recorded_at, seq FROM queue WHERE state = 0 "
		      "ORDER BY seq LIMIT 1",
	[ST_LAST_SEQ] = "SELECT COALESCE(max(seq), 0) FROM queue",
	[ST_PENDING_EACH] = "SELECT seq, wire, wire_bytes FROM queue "
			    "WHERE state = 0 AND seq > ?1 ORDER BY seq",
	[ST_MARK_SENT] = "UPDATE queue SET state = 1 WHERE state = 0 "
			 "AND seq <= ?1",
	[ST_MARK_REJECTED] = "UPDATE queue SET state = 2, reject_reason = ?2 "
			     "WHERE seq = ?1 AND state <> 2",
	[ST_SEQ_EXISTS] = "SELECT 1 FROM queue WHERE seq = ?1",
	[ST_REQUEUE] = "UPDATE queue SET state = 0, reject_reason = NULL "
		       "WHERE seq >= ?1 AND state <> 0",
	[ST_KV_GET] = "SELECT value FROM sync_state WHERE key = ?1",
	[ST_KV_SET] = "INSERT INTO sync_state (key, value) VALUES (?1, ?2) "
		      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_KV_DEL] = "DELETE FROM sync_state WHERE key = ?1",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_ROWS] = "SELECT count(*) FROM queue",
	[ST_STATE_COUNTS] = "SELECT state, count(*), "
			    "COALESCE(sum(wire_bytes), 0) FROM queue "
			    "GROUP BY state",
	[ST_EVENTS] = "SELECT count(DISTINCT id) FROM queue",
};

/* A growable text buffer, kept by the handle across rows. */
struct sbuf {
	char *p;
	size_t len, cap;
};

struct tb_store {
	sqlite3 *db;
	char *path;
	int explicit_tx;  /* inside tb_store_begin .. commit/rollback */
	int64_t next_seq; /* in an explicit transaction: the next seq, or 0 */
	char device[TB_ID_LEN];
	char school[TB_CODE_MAX + 1];
	sqlite3_stmt *st[ST_COUNT];
	struct sbuf fields;   /* the fields JSON of the row being written */
	char errmsg[ERRMSG_LEN];
};

const char *tb_store_state_name(enum tb_store_state st)
{
	switch (st) {
	case TB_STATE_PENDING: return "pending";
	case TB_STATE_SENT: return "sent";
	case TB_STATE_REJECTED: return "rejected";
	}
	return "?";
}

const char *tb_store_errmsg(const struct tb_store *s)
{
	return s ? s->errmsg : "";
}

int tb_store_path(const char *data_dir, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "%s/%s", data_dir, TB_STORE_FILE);

	return (n < 0 || (size_t)n >= buflen) ? TB_ETOOBIG : TB_OK;
}

/* ---- errors --------------------------------------------------------------- */

/* Plain words for a SQLite failure; the code of err.h it maps to. */
static int explain(sqlite3 *db, int src, const char **why)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (src & 0xff) {
	case SQLITE_FULL:
		*why = "the disk is full";
		return TB_EIO;
	case SQLITE_READONLY:
		*why = "the data directory or the database file is read-only";
		return TB_EIO;
	case SQLITE_CANTOPEN:
		*why = "the database cannot be opened (is the data directory "
		       "missing or not writable?)";
		return TB_EIO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		*why = "the database is busy (another tienbo-agent is using "
		       "it); try again";
		return TB_EAGAIN;
	case SQLITE_NOMEM:
		*why = "out of memory";
		return TB_ENOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		*why = "the database file is damaged or not a database";
		return TB_EIO;
	case SQLITE_CONSTRAINT:
		*why = "a database constraint failed";
		return TB_ECONFLICT;
	case SQLITE_IOERR:
	case SQLITE_PERM:
		if (sys == ENOSPC || sys == EFBIG || sys == EDQUOT)
			*why = "the disk is full (or a file size limit was "
			       "reached)";
		else if (sys == EROFS || sys == EACCES || sys == EPERM)
			*why = "the data directory or the database file is "
			       "read-only";
		else
			*why = "an input/output error occurred";
		return TB_EIO;
	default:
		*why = "a database error occurred";
		return TB_EIO;
	}
}

static int db_fail(struct tb_store *s, int src, const char *doing)
{
	const char *why = "";
	int rc = explain(s->db, src, &why);

	snprintf(s->errmsg, sizeof(s->errmsg), "%s %s: %s (%s)", doing,
		 s->path, why, sqlite3_errmsg(s->db));
	return rc;
}

static int fail(struct tb_store *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct tb_store *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- statements and transactions ---------------------------------------- */

/* The prepared statement `which`, reset and unbound; NULL with errmsg set. */
static sqlite3_stmt *stmt(struct tb_store *s, enum stmt_id which)
{
	sqlite3_stmt **st = &s->st[which];
	int src;

	if (!*st) {
		src = sqlite3_prepare_v3(s->db, stmt_sql[which], -1,
					 SQLITE_PREPARE_PERSISTENT, st, NULL);
		if (src != SQLITE_OK) {
			db_fail(s, src, "cannot read");
			*st = NULL;
			return NULL;
		}
	}
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

static int exec(struct tb_store *s, const char *sql, const char *doing)
{
	int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return src == SQLITE_OK ? TB_OK : db_fail(s, src, doing);
}

/* Write transaction of one call, unless the caller holds one. */
static int wbegin(struct tb_store *s)
{
	s->errmsg[0] = '\0';
	if (s->explicit_tx)
		return TB_OK;
	return exec(s, "BEGIN IMMEDIATE", "cannot write to");
}

static int wend(struct tb_store *s, int rc)
{
	if (s->explicit_tx)
		return rc;
	if (rc == TB_OK)
		rc = exec(s, "COMMIT", "cannot write to");
	if (rc != TB_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Read transaction (one consistent view) unless one is open already.
 * Returns 1 if it began one, which rend then ends. */
static int rbegin(struct tb_store *s)
{
	s->errmsg[0] = '\0';
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

static void rend(struct tb_store *s, int began)
{
	if (began)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

/* Steps a statement that returns no row or one row. */
static int step_one(struct tb_store *s, sqlite3_stmt *st, const char *doing,
		    int *row)
{
	int src = sqlite3_step(st);

	*row = src == SQLITE_ROW;
	if (src == SQLITE_ROW || src == SQLITE_DONE)
		return TB_OK;
	return db_fail(s, src, doing);
}

static int query_i64(struct tb_store *s, enum stmt_id which, int64_t *a,
		     int64_t *b)
{
	sqlite3_stmt *st = stmt(s, which);
	int rc, row;

	if (!st)
		return TB_EIO;
	rc = step_one(s, st, "cannot read", &row);
	if (rc == TB_OK) {
		*a = row ? sqlite3_column_int64(st, 0) : 0;
		if (b)
			*b = row ? sqlite3_column_int64(st, 1) : 0;
	}
	sqlite3_reset(st);
	return rc;
}

/* ---- opening ------------------------------------------------------------ */

static int set_pragmas(struct tb_store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = TB_OK, src;

	/* journal_mode answers with the mode in force: insist on WAL. */
	src = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
				 NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src != SQLITE_ROW)
		rc = db_fail(s, src, "cannot open");
	else if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		rc = fail(s, TB_EIO, "cannot open %s: WAL mode refused (is the "
			  "data directory writable?)", s->path);
	sqlite3_finalize(st);
	if (rc == TB_OK)
		rc = exec(s, "PRAGMA synchronous = FULL; "
			  "PRAGMA foreign_keys = ON", "cannot open");
	return rc;
}

static int load_meta(struct tb_store *s, const char *key, char *out,
		     size_t outlen)
{
	sqlite3_stmt *st = stmt(s, ST_META_GET);
	int rc, row;

	out[0] = '\0';
	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = step_one(s, st, "cannot read", &row);
	if (rc == TB_OK && row)
		snprintf(out, outlen, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc;
}

/* Adds a hint when the data directory itself is the problem: not
 * writable, or on a full disk (which SQLite reports while opening as a
 * bare "disk I/O error" when the -shm file cannot be made). */
static void explain_open(struct tb_store *s)
{
	char dir[4096];
	char *slash;
	size_t len = strlen(s->errmsg);
	int sys = sqlite3_system_errno(s->db);
	struct statvfs vfs;

	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (sys == ENOSPC || sys == EDQUOT || sys == EFBIG ||
	    (statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0)) {
		snprintf(s->errmsg + len, sizeof(s->errmsg) - len,
			 "; the disk holding the data directory %s is full%s",
			 dir, sys == EFBIG ? " (or a file size limit was "
					     "reached)" : "");
		return;
	}
	if (access(dir, W_OK) == 0)
		return;
	snprintf(s->errmsg + len, sizeof(s->errmsg) - len,
		 "; the data directory %s is not writable (%s)", dir,
		 strerror(errno));
}

int tb_store_open(const char *path, int flags, struct tb_store **out,
		  char *msg, size_t msglen)
{
	struct tb_store *s = NULL;
	struct stat sb;
	int rc = TB_OK, src, oflags;

	*out = NULL;
	if (!(flags & TB_STORE_CREATE) && stat(path, &sb) != 0) {
		snprintf(msg, msglen, "%s: no store here (%s); run "
			 "'tienbo-agent init' first", path, strerror(errno));
		return errno == ENOENT ? TB_ENOTFOUND : TB_EIO;
	}
	s = tb_calloc(1, sizeof(*s));
	if (!s || !(s->path = tb_strdup(path))) {
		rc = TB_ENOMEM;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (flags & TB_STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	src = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (src != SQLITE_OK || !s->db) {
		rc = s->db ? db_fail(s, src, "cannot open") : TB_ENOMEM;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* Refuse a newer or foreign file before changing anything in it. */
	rc = tb_schema_migrate(s->db, path, s->errmsg, sizeof(s->errmsg));
	if (rc == TB_OK)
		rc = set_pragmas(s);
	if (rc == TB_OK)
		rc = load_meta(s, "device", s->device, sizeof(s->device));
	if (rc == TB_OK)
		rc = load_meta(s, "school", s->school, sizeof(s->school));
out:
	if (rc != TB_OK) {
		if (s && s->db && rc == TB_EIO)
			explain_open(s);
		if (s && s->errmsg[0])
			snprintf(msg, msglen, "%s", s->errmsg);
		tb_store_close(s);
		return rc;
	}
	s->errmsg[0] = '\0';
	*out = s;
	return TB_OK;
}

void tb_store_close(struct tb_store *s)
{
	int i;

	if (!s)
		return;
	if (s->db && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close_v2(s->db);
	tb_free(s->fields.p);
	tb_free(s->path);
	tb_free(s);
}

/* ---- identity ----------------------------------------------------------- */

static int meta_set(struct tb_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = stmt(s, ST_META_SET);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = step_one(s, st, "cannot write to", &row);
	sqlite3_reset(st);
	return rc;
}

int tb_store_set_identity(struct tb_store *s, const char *device,
			  const char *school)
{
	char cur_dev[TB_ID_LEN], cur_school[TB_CODE_MAX + 1];
	int64_t rows = 0;
	int rc;

	if (!tb_uuid_valid(device))
		return fail(s, TB_EINVAL, "device: '%s' is not a UUID",
			    device);
	if (!tb_code_valid(school))
		return fail(s, TB_EINVAL, "school: '%s' must be 2-32 of A-Z "
			    "0-9 - _", school);
	rc = wbegin(s);
	if (rc == TB_OK)
		rc = load_meta(s, "device", cur_dev, sizeof(cur_dev));
	if (rc == TB_OK)
		rc = load_meta(s, "school", cur_school, sizeof(cur_school));
	if (rc == TB_OK)
		rc = query_i64(s, ST_ROWS, &rows, NULL);
	if (rc == TB_OK && cur_dev[0] && strcmp(cur_dev, device) != 0)
		rc = fail(s, TB_ECONFLICT, "this store belongs to device %s; "
			  "it cannot change", cur_dev);
	if (rc == TB_OK && cur_school[0] && strcmp(cur_school, school) != 0 &&
	    rows > 0)
		rc = fail(s, TB_ECONFLICT, "this store holds %s's events (%lld "
			  "rows); it cannot change school", cur_school,
			  (long long)rows);
	if (rc == TB_OK)
		rc = meta_set(s, "device", device);
	if (rc == TB_OK)
		rc = meta_set(s, "school", school);
	rc = wend(s, rc);
	if (rc == TB_OK) {
		snprintf(s->device, sizeof(s->device), "%s", device);
		snprintf(s->school, sizeof(s->school), "%s", school);
	}
	return rc;
}

const char *tb_store_device(const struct tb_store *s)
{
	return s->device;
}

const char *tb_store_school(const struct tb_store *s)
{
	return s->school;
}

/* ---- explicit transactions ---------------------------------------------- */

int tb_store_begin(struct tb_store *s)
{
	int rc;

	s->errmsg[0] = '\0';
	if (s->explicit_tx || !sqlite3_get_autocommit(s->db))
		return fail(s, TB_EINVAL, "a transaction is already open");
	rc = exec(s, "BEGIN IMMEDIATE", "cannot write to");
	if (rc == TB_OK)
		s->explicit_tx = 1;
	s->next_seq = 0;
	return rc;
}

int tb_store_commit(struct tb_store *s)
{
	int rc;

	if (!s->explicit_tx)
		return fail(s, TB_EINVAL, "no transaction is open");
	s->explicit_tx = 0;
	s->next_seq = 0;
	rc = exec(s, "COMMIT", "cannot write to");
	if (rc != TB_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

void tb_store_rollback(struct tb_store *s)
{
	s->explicit_tx = 0;
	s->next_seq = 0;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- writing ------------------------------------------------------------ */

static int sbuf_put(struct sbuf *b, const char *data, size_t n)
{
	char *np;
	size_t cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 512;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = tb_realloc(b->p, cap);
		if (!np)
			return TB_ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return TB_OK;
}

/* A JSON string: quotes, and escapes for '"', '\\' and control bytes
 * (validated text has none, but the column must stay JSON). */
static int sbuf_json_string(struct sbuf *b, const char *s)
{
	char esc[8];
	size_t run;
	int rc = sbuf_put(b, "\"", 1);

	while (rc == TB_OK && *s) {
		run = strcspn(s, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\t\n"
			      "\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
			      "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
		rc = sbuf_put(b, s, run);
		s += run;
		if (rc == TB_OK && *s) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
			rc = sbuf_put(b, esc, strlen(esc));
			s++;
		}
	}
	return rc == TB_OK ? sbuf_put(b, "\"", 1) : rc;
}

/* The set fields of e as one JSON object ({"title":"...","parents":40})
 * into s->fields: what the `fields` column holds. */
static int encode_fields(struct tb_store *s, const struct tb_event *e)
{
	const struct tb_field *tab;
	char num[24];
	size_t n, i;
	int rc, first = 1;

	s->fields.len = 0;
	rc = sbuf_put(&s->fields, "{", 1);
	tab = tb_kind_fields(e->kind, &n);
	for (i = 0; rc == TB_OK && i < n; i++) {
		const struct tb_value *v = &e->v[i];

		if (!v->set)
			continue;
		if (!first)
			rc = sbuf_put(&s->fields, ",", 1);
		first = 0;
		if (rc == TB_OK)
			rc = sbuf_json_string(&s->fields, tab[i].name);
		if (rc == TB_OK)
			rc = sbuf_put(&s->fields, ":", 1);
		if (rc != TB_OK)
			break;
		if (tab[i].type == TB_FT_COUNT) {
			snprintf(num, sizeof(num), "%lld", (long long)v->n);
			rc = sbuf_put(&s->fields, num, strlen(num));
		} else if (tab[i].type == TB_FT_BOOL) {
			rc = v->n ? sbuf_put(&s->fields, "true", 4)
				  : sbuf_put(&s->fields, "false", 5);
		} else {
			rc = sbuf_json_string(&s->fields, v->s ? v->s : "");
		}
	}
	return rc == TB_OK ? sbuf_put(&s->fields, "}", 1) : rc;
}

/* Decimal digits of v into buf (at least 24 bytes); returns the length. */
static size_t i64_text(int64_t v, char *buf)
{
	uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[n++] = '-';
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

/* cJSON prints a number with "%1.15g", reads it back and may print it
 * again with "%1.17g": a third of an import's time. Every number of an
 * event is an integer of magnitude below 2^53, whose decimal digits are
 * exactly what that prints, so they are turned into raw text once. The
 * output stays byte for byte the codec's (test_store checks it). */
static int ints_to_raw(cJSON *obj)
{
	char digits[24], *copy;
	cJSON *it;
	double d;
	size_t n;

	for (it = obj->child; it; it = it->next) {
		if (!cJSON_IsNumber(it))
			continue;
		d = it->valuedouble;
		if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) ||
		    (double)(int64_t)d != d || (d == 0 && signbit(d)))
			continue;
		n = i64_text((int64_t)d, digits);
		copy = cJSON_malloc(n + 1);
		if (!copy)
			return TB_ENOMEM;
		memcpy(copy, digits, n + 1);
		it->type = cJSON_Raw | (it->type & cJSON_StringIsConst);
		it->valuestring = copy;
	}
	return TB_OK;
}

/* The wire JSON of e: the codec's event object, compact, with seq and
 * without school and device. *wire is a cJSON allocation. */
static int encode_wire(const struct tb_event *e, char **wire)
{
	cJSON *obj = tb_event_to_json(e);

	*wire = NULL;
	if (!obj)
		return TB_ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "school");
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "device");
	if ((cJSON_GetObjectItemCaseSensitive(obj, "seq") ||
	     cJSON_AddNumberToObject(obj, "seq", (double)e->seq)) &&
	    ints_to_raw(obj) == TB_OK)
		*wire = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return *wire ? TB_OK : TB_ENOMEM;
}

static int encode(struct tb_store *s, const struct tb_event *e, char **wire)
{
	int rc = encode_wire(e, wire);

	if (rc == TB_OK)
		rc = encode_fields(s, e);
	if (rc != TB_OK) {
		cJSON_free(*wire);
		*wire = NULL;
		snprintf(s->errmsg, sizeof(s->errmsg), "out of memory");
	}
	return rc;
}

static int insert_row(struct tb_store *s, const struct tb_event *e,
		      const char *wire)
{
	sqlite3_stmt *st = stmt(s, ST_INSERT);
	char date[TB_DATE_LEN];
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, e->seq);
	sqlite3_bind_text(st, 2, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, e->revision);
	sqlite3_bind_text(st, 4, tb_kind_name(e->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, tb_date_format(e->date, date), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, e->recorded_at);
	sqlite3_bind_int(st, 7, e->voided ? 1 : 0);
	if (e->voided)
		sqlite3_bind_text(st, 8, e->void_reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, s->fields.p, (int)s->fields.len,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 10, wire, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)strlen(wire));
	rc = step_one(s, st, "cannot write to", &row);
	sqlite3_reset(st);
	if (rc == TB_ECONFLICT)
		rc = fail(s, TB_ECONFLICT, "event %s revision %lld is already "
			  "stored", e->id, (long long)e->revision);
	return rc;
}

/* Checks e against the latest stored revision of its id (inside the write
 * transaction): a first record must be new, a change must follow the
 * latest revision of an event that is not voided, of the same kind. */
static int check_latest(struct tb_store *s, const struct tb_event *e)
{
	sqlite3_stmt *st;
	int64_t rev = 0;
	int rc, row, voided = 0, same_kind = 1;

	if (e->revision == 1)
		return TB_OK; /* a new id: UNIQUE (id, revision) guards it */
	st = stmt(s, ST_LATEST);
	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	rc = step_one(s, st, "cannot read", &row);
	if (rc == TB_OK && row) {
		rev = sqlite3_column_int64(st, 0);
		voided = sqlite3_column_int(st, 1);
		same_kind = strcmp((const char *)sqlite3_column_text(st, 2),
				   tb_kind_name(e->kind)) == 0;
	}
	sqlite3_reset(st);
	if (rc != TB_OK)
		return rc;
	if (e->revision > 1 && rev == 0)
		return fail(s, TB_ENOTFOUND, "no event %s", e->id);
	if (e->revision > 1 && voided)
		return fail(s, TB_ECONFLICT, "event %s is voided; it cannot be "
			    "changed (revision %lld)", e->id, (long long)rev);
	if (e->revision > 1 && rev != e->revision - 1)
		return fail(s, TB_ECONFLICT, "event %s changed meanwhile (now "
			    "at revision %lld); show it again and redo the "
			    "change", e->id, (long long)rev);
	if (!same_kind)
		return fail(s, TB_EINVAL, "kind: a change cannot turn the event "
			    "into a %s", tb_kind_name(e->kind));
	return TB_OK;
}

/* Assigns the envelope, validates, encodes and inserts one revision, inside
 * the current write transaction. e is updated only on success. */
static int append(struct tb_store *s, struct tb_event *e, int voiding)
{
	struct tb_event saved = *e;
	char *wire = NULL;
	char msg[TB_MSG_LEN];
	int64_t seq = 0;
	int rc;

	if (!s->device[0] || !s->school[0])
		return fail(s, TB_ECONFIG, "this store has no device id or "
			    "school yet; run 'tienbo-agent init'");
	rc = check_latest(s, e);
	if (rc == TB_OK && e->voided && !voiding)
		rc = fail(s, TB_EINVAL, "voided: use void to void an event");
	if (rc == TB_OK && s->explicit_tx && s->next_seq > 0)
		seq = s->next_seq; /* we hold the write lock: nobody moved it */
	else if (rc == TB_OK)
		rc = query_i64(s, ST_NEXT_SEQ, &seq, NULL);
	if (rc != TB_OK)
		return rc;
	/* A new event's id: the device's prefix and its first seq, unique
	 * because a seq is never reused (and compact on the wire). */
	if (!e->id[0] && tb_uuid_for_device(s->device, seq, e->id) != TB_OK)
		return fail(s, TB_EIO, "cannot make an event id from device %s",
			    s->device);
	e->seq = seq;
	e->recorded_at = tb_time_now();
	memcpy(e->device, s->device, sizeof(e->device));
	memcpy(e->school, s->school, sizeof(e->school));
	rc = tb_event_validate(e, 1, msg, sizeof(msg));
	if (rc != TB_OK) {
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
		rc = TB_EINVAL;
	}
	if (rc == TB_OK)
		rc = encode(s, e, &wire);
	if (rc == TB_OK)
		rc = insert_row(s, e, wire);
	cJSON_free(wire);
	if (rc == TB_OK && s->explicit_tx)
		s->next_seq = seq + 1;
	if (rc != TB_OK) {
		/* Only envelope members were touched; owned pointers were not. */
		if (e->revision == 1)
			e->id[0] = '\0';
		e->seq = saved.seq;
		e->recorded_at = saved.recorded_at;
		memcpy(e->device, saved.device, sizeof(e->device));
		memcpy(e->school, saved.school, sizeof(e->school));
	}
	return rc;
}

int tb_store_record(struct tb_store *s, struct tb_event *e)
{
	int rc;

	s->errmsg[0] = '\0';
	if (e->voided)
		return fail(s, TB_EINVAL, "voided: a new record cannot be "
			    "voided");
	e->id[0] = '\0'; /* append derives it from the device and the seq */
	e->revision = 1;
	rc = wbegin(s);
	if (rc == TB_OK)
		rc = append(s, e, 0);
	return wend(s, rc);
}

int tb_store_amend(struct tb_store *s, struct tb_event *e)
{
	int rc;

	s->errmsg[0] = '\0';
	if (!tb_uuid_valid(e->id))
		return fail(s, TB_EINVAL, "id: '%s' is not an event id",
			    e->id);
	if (e->revision < 2)
		return fail(s, TB_EINVAL, "revision: an amendment is revision "
			    "2 or later (got %lld)", (long long)e->revision);
	rc = wbegin(s);
	if (rc == TB_OK)
		rc = append(s, e, 0);
	return wend(s, rc);
}

/* Decodes a stored wire JSON into e (initialised here; cleared on
 * failure), with the store's school and device. */
static int decode(struct tb_store *s, const char *wire, size_t len,
		  int64_t seq, struct tb_event *e)
{
	char msg[TB_MSG_LEN];
	cJSON *obj;
	int rc;

	tb_event_init(e, TB_KIND_OUTREACH);
	obj = cJSON_ParseWithLength(wire, len);
	if (!obj)
		return fail(s, TB_EIO, "stored event at seq %lld is not valid "
			    "JSON", (long long)seq);
	/* shape only: a row the server rejected on its rules is still shown */
	rc = tb_event_read_json(obj, e, msg, sizeof(msg));
	cJSON_Delete(obj);
	if (rc == TB_EINVAL) {
		snprintf(s->errmsg, sizeof(s->errmsg),
			 "stored event at seq %lld cannot be read: %s",
			 (long long)seq, msg);
		rc = TB_EIO;
	}
	if (rc == TB_OK) {
		memcpy(e->device, s->device, sizeof(e->device));
		memcpy(e->school, s->school, sizeof(e->school));
	} else {
		tb_event_clear(e);
	}
	return rc;
}

/* Latest revision of id into e, inside whatever transaction is open. */
static int latest(struct tb_store *s, const char *id, struct tb_event *e,
		  enum tb_store_state *state)
{
	sqlite3_stmt *st = stmt(s, ST_LATEST);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = step_one(s, st, "cannot read", &row);
	if (rc == TB_OK && !row)
		rc = fail(s, TB_ENOTFOUND, "no event %s", id);
	if (rc == TB_OK) {
		if (state)
			*state = sqlite3_column_int(st, 4);
		rc = decode(s, (const char *)sqlite3_column_text(st, 6),
			    (size_t)sqlite3_column_bytes(st, 6),
			    sqlite3_column_int64(st, 3), e);
	}
	sqlite3_reset(st);
	return rc;
}

int tb_store_void(struct tb_store *s, const char *id, const char *reason,
		  struct tb_event *out)
{
	struct tb_event e;
	int rc, have = 0;

	s->errmsg[0] = '\0';
	if (!reason || !reason[0] || !tb_text_valid(reason, TB_TEXT_MAX))
		return fail(s, TB_EINVAL, "reason: give a reason of 1-%d "
			    "bytes of text (UTF-8, no control characters)",
			    TB_TEXT_MAX);
	rc = wbegin(s);
	if (rc == TB_OK)
		rc = latest(s, id, &e, NULL);
	if (rc == TB_OK) {
		have = 1;
		if (e.voided)
			rc = fail(s, TB_ECONFLICT, "event %s is already voided", id);
	}
	if (rc == TB_OK && !(e.void_reason = tb_strdup(reason)))
		rc = fail(s, TB_ENOMEM, "out of memory");
	if (rc == TB_OK) {
		e.voided = 1;
		e.revision++;
		rc = append(s, &e, 1);
	}
	rc = wend(s, rc);
	if (have && rc == TB_OK && out)
		*out = e;
	else if (have)
		tb_event_clear(&e);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

int tb_store_resolve_id(struct tb_store *s, const char *prefix, char *out)
{
	sqlite3_stmt *st;
	size_t len = strlen(prefix), i;
	int rc = TB_OK, src, n = 0, began;

	s->errmsg[0] = '\0';
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdef-", prefix[i]))
			break;
	if (len < 6 || len >= TB_ID_LEN || i < len)
		return fail(s, TB_EINVAL, "'%s' is not an event id (give the id, "
			    "or at least %d of its characters)", prefix, 6);
	began = rbegin(s);
	st = stmt(s, ST_RESOLVE);
	if (!st)
		rc = TB_EIO;
	if (st)
		sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	while (rc == TB_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == 0)
			snprintf(out, TB_ID_LEN, "%s",
				 (const char *)sqlite3_column_text(st, 0));
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = db_fail(s, src, "cannot read");
	if (st)
		sqlite3_reset(st);
	rend(s, began);
	if (rc == TB_OK && n == 0)
		rc = fail(s, TB_ENOTFOUND, "no event %s", prefix);
	if (rc == TB_OK && n > 1)
		rc = fail(s, TB_ECONFLICT, "'%s' matches more than one event; "
			  "give more of the id", prefix);
	return rc;
}

int tb_store_get(struct tb_store *s, const char *id, struct tb_event *e,
		 enum tb_store_state *st)
{
	int began = rbegin(s);
	int rc = latest(s, id, e, st);

	rend(s, began);
	return rc;
}

void tb_store_filter_init(struct tb_store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->kind = -1;
	f->include_voided = 1;
}

/* Steps st (columns seq, state, reject_reason, wire, wire_bytes) and hands
 * each decoded row to cb. */
static int walk_rows(struct tb_store *s, sqlite3_stmt *st, tb_store_row_cb cb,
		     void *arg, int64_t *count)
{
	struct tb_store_row row;
	struct tb_event e;
	int rc = TB_OK, src;

	*count = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		row.seq = sqlite3_column_int64(st, 0);
		row.state = sqlite3_column_int(st, 1);
		row.reject_reason = (const char *)sqlite3_column_text(st, 2);
		row.wire = (const char *)sqlite3_column_text(st, 3);
		row.wire_len = (size_t)sqlite3_column_bytes(st, 3);
		rc = decode(s, row.wire, row.wire_len, row.seq, &e);
		if (rc != TB_OK)
			break;
		row.ev = &e;
		(*count)++;
		rc = cb(arg, &row);
		tb_event_clear(&e);
		if (rc != 0)
			break;
	}
	if (rc == TB_OK && src != SQLITE_DONE)
		rc = db_fail(s, src, "cannot read");
	sqlite3_reset(st);
	return rc;
}

int tb_store_list(struct tb_store *s, const struct tb_store_filter *f,
		  tb_store_row_cb cb, void *arg)
{
	char from[TB_DATE_LEN], to[TB_DATE_LEN];
	sqlite3_stmt *st;
	int64_t n;
	int rc, began = rbegin(s);

	st = stmt(s, ST_LIST);
	if (!st) {
		rend(s, began);
		return TB_EIO;
	}
	if (f->kind >= 0)
		sqlite3_bind_text(st, 1, tb_kind_name(f->kind), -1,
				  SQLITE_STATIC);
	if (f->has_from)
		sqlite3_bind_text(st, 2, tb_date_format(f->from, from), -1,
				  SQLITE_STATIC);
	if (f->has_to)
		sqlite3_bind_text(st, 3, tb_date_format(f->to, to), -1,
				  SQLITE_STATIC);
	sqlite3_bind_int(st, 4, f->pending_only ? 1 : 0);
	sqlite3_bind_int(st, 5, f->include_voided ? 1 : 0);
	rc = walk_rows(s, st, cb, arg, &n);
	rend(s, began);
	return rc;
}

int tb_store_history(struct tb_store *s, const char *id, tb_store_row_cb cb,
		     void *arg)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc, began = rbegin(s);

	st = stmt(s, ST_HISTORY);
	if (!st) {
		rend(s, began);
		return TB_EIO;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = walk_rows(s, st, cb, arg, &n);
	rend(s, began);
	if (rc == TB_OK && n == 0)
		rc = fail(s, TB_ENOTFOUND, "no event %s", id);
	return rc;
}

/* ---- for the sync engine ------------------------------------------------ */

int tb_store_pending_count(struct tb_store *s, int64_t *count)
{
	int64_t bytes;

	s->errmsg[0] = '\0';
	return query_i64(s, ST_PENDING_STATS, count, &bytes);
}

int tb_store_pending_bytes(struct tb_store *s, int64_t *bytes)
{
	int64_t count;

	s->errmsg[0] = '\0';
	return query_i64(s, ST_PENDING_STATS, &count, bytes);
}

int tb_store_pending_oldest(struct tb_store *s, int64_t *recorded_at,
			    int64_t *seq)
{
	s->errmsg[0] = '\0';
	return query_i64(s, ST_OLDEST, recorded_at, seq);
}

int tb_store_last_seq(struct tb_store *s, int64_t *seq)
{
	s->errmsg[0] = '\0';
	return query_i64(s, ST_LAST_SEQ, seq, NULL);
}

int tb_store_pending_each(struct tb_store *s, int64_t after, size_t max_rows,
			  size_t max_bytes, tb_store_wire_cb cb, void *arg,
			  size_t *nrows, size_t *nbytes)
{
	sqlite3_stmt *st;
	size_t rows = 0, bytes = 0, len;
	int rc = TB_OK, src = SQLITE_DONE, began = rbegin(s);

	st = stmt(s, ST_PENDING_EACH);
	if (!st)
		rc = TB_EIO;
	else
		sqlite3_bind_int64(st, 1, after);
	while (rc == TB_OK && rows < max_rows &&
	       (src = sqlite3_step(st)) == SQLITE_ROW) {
		len = (size_t)sqlite3_column_bytes(st, 1);
		if (rows > 0 && bytes + len > max_bytes)
			break;
		rc = cb(arg, sqlite3_column_int64(st, 0),
			(const char *)sqlite3_column_text(st, 1), len);
		rows++;
		bytes += len;
	}
	if (rc == TB_OK && src != SQLITE_DONE && src != SQLITE_ROW)
		rc = db_fail(s, src, "cannot read");
	if (st)
		sqlite3_reset(st);
	rend(s, began);
	if (nrows)
		*nrows = rows;
	if (nbytes)
		*nbytes = bytes;
	return rc;
}

static int mark_sent(struct tb_store *s, int64_t through, int64_t *changed)
{
	sqlite3_stmt *st = stmt(s, ST_MARK_SENT);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, through);
	rc = step_one(s, st, "cannot write to", &row);
	if (rc == TB_OK && changed)
		*changed = sqlite3_changes(s->db);
	sqlite3_reset(st);
	return rc;
}

static int mark_rejected(struct tb_store *s, int64_t seq, const char *reason)
{
	sqlite3_stmt *st = stmt(s, ST_SEQ_EXISTS);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_int64(st, 1, seq);
	rc = step_one(s, st, "cannot read", &row);
	sqlite3_reset(st);
	if (rc == TB_OK && !row)
		return fail(s, TB_ENOTFOUND, "no queue row with seq %lld",
			    (long long)seq);
	if (rc == TB_OK && !(st = stmt(s, ST_MARK_REJECTED)))
		rc = TB_EIO;
	if (rc == TB_OK) {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_text(st, 2, reason ? reason : "", -1,
				  SQLITE_STATIC);
		rc = step_one(s, st, "cannot write to", &row);
		sqlite3_reset(st);
	}
	return rc;
}

int tb_store_mark_sent(struct tb_store *s, int64_t through, int64_t *changed)
{
	int rc = wbegin(s);

	if (changed)
		*changed = 0;
	if (rc == TB_OK)
		rc = mark_sent(s, through, changed);
	return wend(s, rc);
}

int tb_store_mark_rejected(struct tb_store *s, int64_t seq,
			   const char *reason)
{
	int rc = wbegin(s);

	if (rc == TB_OK)
		rc = mark_rejected(s, seq, reason);
	return wend(s, rc);
}

int tb_store_apply_ack(struct tb_store *s, const struct tb_ack *ack)
{
	size_t i;
	int rc = wbegin(s);

	for (i = 0; rc == TB_OK && i < ack->nrejected; i++)
		rc = mark_rejected(s, ack->rejected[i].seq,
				   ack->rejected[i].reason);
	if (rc == TB_OK)
		rc = mark_sent(s, ack->committed_through, NULL);
	return wend(s, rc);
}

int tb_store_requeue(struct tb_store *s, int64_t from_seq, int64_t *changed)
{
	sqlite3_stmt *st;
	int rc = wbegin(s), row;

	if (changed)
		*changed = 0;
	if (rc == TB_OK && !(st = stmt(s, ST_REQUEUE)))
		rc = TB_EIO;
	if (rc == TB_OK) {
		sqlite3_bind_int64(st, 1, from_seq);
		rc = step_one(s, st, "cannot write to", &row);
		if (rc == TB_OK && changed)
			*changed = sqlite3_changes(s->db);
		sqlite3_reset(st);
	}
	return wend(s, rc);
}

/* Sets (value non-NULL) or deletes one sync_state key, in the open write
 * transaction. */
static int kv_put(struct tb_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = stmt(s, value ? ST_KV_SET : ST_KV_DEL);
	int rc, row;

	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = step_one(s, st, "cannot write to", &row);
	sqlite3_reset(st);
	return rc;
}

static int kv_put_time(struct tb_store *s, const char *key, int64_t when)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)when);
	return kv_put(s, key, buf);
}

int tb_store_kv_set(struct tb_store *s, const char *key, const char *value)
{
	int rc;

	if (!key || !key[0] || strlen(key) > 64)
		return fail(s, TB_EINVAL, "key: 1-%d bytes", 64);
	rc = wbegin(s);
	if (rc == TB_OK)
		rc = kv_put(s, key, value);
	return wend(s, rc);
}

int tb_store_kv_get(struct tb_store *s, const char *key, char **value)
{
	sqlite3_stmt *st;
	int rc, row;

	*value = NULL;
	s->errmsg[0] = '\0';
	st = stmt(s, ST_KV_GET);
	if (!st)
		return TB_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = step_one(s, st, "cannot read", &row);
	if (rc == TB_OK && !row)
		rc = TB_ENOTFOUND;
	if (rc == TB_OK &&
	    !(*value = tb_strdup((const char *)sqlite3_column_text(st, 0))))
		rc = TB_ENOMEM;
	sqlite3_reset(st);
	return rc;
}

int tb_store_note_attempt(struct tb_store *s, int64_t when)
{
	int rc = wbegin(s);

	if (rc == TB_OK)
		rc = kv_put_time(s, "last_attempt", when);
	return wend(s, rc);
}

int tb_store_note_success(struct tb_store *s, int64_t when)
{
	int rc = wbegin(s);

	if (rc == TB_OK)
		rc = kv_put_time(s, "last_success", when);
	if (rc == TB_OK)
		rc = kv_put(s, "last_error", NULL);
	if (rc == TB_OK)
		rc = kv_put(s, "last_error_at", NULL);
	return wend(s, rc);
}

int tb_store_note_error(struct tb_store *s, int64_t when, const char *text)
{
	char buf[TB_MSG_LEN];
	int rc = wbegin(s);

	snprintf(buf, sizeof(buf), "%s", text ? text : "");
	if (rc == TB_OK)
		rc = kv_put_time(s, "last_error_at", when);
	if (rc == TB_OK)
		rc = kv_put(s, "last_error", buf);
	return wend(s, rc);
}

/* A sync_state time, 0 if absent or unreadable. */
static int64_t kv_time(struct tb_store *s, const char *key)
{
	char *v = NULL, *end = NULL;
	long long t = 0;

	if (tb_store_kv_get(s, key, &v) == TB_OK) {
		errno = 0;
		t = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			t = 0;
	}
	tb_free(v);
	return t;
}

static int state_counts(struct tb_store *s, struct tb_store_status *st)
{
	sqlite3_stmt *q = stmt(s, ST_STATE_COUNTS);
	int src;

	if (!q)
		return TB_EIO;
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(q, 1);

		switch (sqlite3_column_int(q, 0)) {
		case TB_STATE_PENDING:
			st->pending = n;
			st->pending_bytes = sqlite3_column_int64(q, 2);
			break;
		case TB_STATE_SENT: st->sent = n; break;
		case TB_STATE_REJECTED: st->rejected = n; break;
		default: break;
		}
	}
	sqlite3_reset(q);
	return src == SQLITE_DONE ? TB_OK : db_fail(s, src, "cannot read");
}

int tb_store_status(struct tb_store *s, struct tb_store_status *st)
{
	char *err = NULL;
	int64_t seq;
	int rc, began = rbegin(s);

	memset(st, 0, sizeof(*st));
	rc = state_counts(s, st);
	if (rc == TB_OK)
		rc = query_i64(s, ST_EVENTS, &st->events, NULL);
	if (rc == TB_OK)
		rc = query_i64(s, ST_OLDEST, &st->oldest_pending, &seq);
	if (rc == TB_OK)
		rc = query_i64(s, ST_LAST_SEQ, &st->last_seq, NULL);
	if (rc == TB_OK) {
		st->last_attempt = kv_time(s, "last_attempt");
		st->last_success = kv_time(s, "last_success");
		st->last_error_at = kv_time(s, "last_error_at");
		if (tb_store_kv_get(s, "last_error", &err) == TB_OK)
			snprintf(st->last_error, sizeof(st->last_error), "%s",
				 err);
		tb_free(err);
	}
	rend(s, began);
	return rc;
}

int tb_store_check(struct tb_store *s)
{
	sqlite3_stmt *st = NULL;
	const char *res;
	int rc = TB_OK, src;

	s->errmsg[0] = '\0';
	src = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st,
				 NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = db_fail(s, src, "cannot check");
	} else {
		res = (const char *)sqlite3_column_text(st, 0);
		if (!res || strcmp(res, "ok") != 0)
			rc = fail(s, TB_EIO, "integrity check failed: %s",
				  res ? res : "?");
	}
	sqlite3_finalize(st);
	return rc;
}
