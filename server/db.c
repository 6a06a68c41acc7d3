/* db.c - opening the server's SQLite database, creating its schema and
 * migrating an older one (see db.h for the tables). Creation and
 * migration are one table of steps (steps[] below, one per schema
 * version) run inside BEGIN IMMEDIATE, so two processes opening a new or
 * old file at once set it up exactly once, and a step that fails leaves
 * the file at the version it had.
 *
 * Statement journals: an INSERT into events fires the report roll-up
 * triggers (server/rollup.c), so SQLite journals every page the statement
 * changes, to undo the statement alone if it fails. That journal lives in
 * memory up to SQLITE_CONFIG_STMTJRNL_SPILL bytes (64 KiB by default);
 * once one statement passes it, the journal becomes a temporary file for
 * the rest of the transaction, and every later event of the batch writes
 * its pages (~26 KB) to that file with pwrite. One statement per batch of
 * 1000 did, so statement journals are kept in memory however large they
 * grow (DB_STMTJRNL_SPILL = -1), set once per process before the first
 * connection (sqlite3_config can only be called before SQLite
 * initialises; if it already has, the default stays).
 *
 * Why not a larger limit (it was 1 MiB): a memory journal that spills is
 * copied to its file one chunk at a time, and a chunk is as large as the
 * spill limit; SQLite's unix VFS writes at most 128 KiB - 1 bytes per call
 * (os_unix.c seekAndWriteFd masks the length with 0x1ffff, assuming no
 * write is larger than a page), so a 1 MiB chunk became a write of 0
 * bytes, which SQLite reports as SQLITE_FULL, "database or disk is full",
 * with the disk empty, and rolls the whole transaction back. That is how
 * bench_report's first tb_report_init over 2,000,000 events failed after
 * ~58 s (a fill statement's journal passed 1 MiB), and how any statement
 * of the server whose journal passed the limit would fail.
 * tests/test_rollup.c meets it at small scale (a rebuild that reuses the
 * pages the old roll-ups freed). A limit under 128 KiB works but costs
 * the merge again (40 us of CPU per event in 1000-event batches into the
 * 2,000,000-event database, against 27-28 in memory and 26 at 1 MiB);
 * in memory, refilling the roll-ups of those 2,000,000 events (the worst
 * statement the server runs) peaked at 75 MB of resident memory.
 */
#include "server/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/sqlerr.h"
#include "server/sql.h"

#define DB_STMTJRNL_SPILL (-1) /* never spill: see above */

static pthread_once_t db_config_once = PTHREAD_ONCE_INIT;

static void db_config(void)
{
	/* SQLITE_MISUSE when SQLite is already initialised: keep the default */
	(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, DB_STMTJRNL_SPILL);
}

static const char *const schema_v1 =
	"CREATE TABLE units("
	" code TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" type TEXT NOT NULL CHECK(type IN ('school','district','province')),"
	" level TEXT,"
	" district TEXT REFERENCES units(code),"
	" province TEXT REFERENCES units(code),"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX units_district ON units(district);"
	"CREATE INDEX units_province ON units(province);"
	"CREATE TABLE devices("
	" id INTEGER PRIMARY KEY,"
	" school TEXT NOT NULL REFERENCES units(code),"
	" token_prefix TEXT NOT NULL,"
	" token_hash BLOB NOT NULL,"
	" device TEXT,"
	" enrolled_at INTEGER NOT NULL,"
	" last_seen INTEGER,"
	" revoked_at INTEGER);"
	"CREATE INDEX devices_prefix ON devices(token_prefix);"
	"CREATE INDEX devices_school ON devices(school);"
	"CREATE UNIQUE INDEX devices_active_device ON devices(device)"
	" WHERE device IS NOT NULL AND revoked_at IS NULL;"
	"CREATE TABLE cursors("
	" device TEXT PRIMARY KEY,"
	" school TEXT NOT NULL,"
	" committed_through INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE admin_tokens("
	" id INTEGER PRIMARY KEY,"
	" token_prefix TEXT NOT NULL,"
	" token_hash BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" revoked_at INTEGER);"
	"CREATE INDEX admin_tokens_prefix ON admin_tokens(token_prefix);"
	"CREATE TABLE events("
	" id TEXT PRIMARY KEY,"
	" school TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" date TEXT NOT NULL,"
	" revision INTEGER NOT NULL,"
	" voided INTEGER NOT NULL,"
	" device TEXT,"
	" seq INTEGER,"
	" recorded_at INTEGER,"
	" received_at INTEGER NOT NULL,"
	" content_hash BLOB NOT NULL,"
	" body TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX events_school_kind_date ON events(school, kind, date);"
	"CREATE INDEX events_kind_voided_date ON events(kind, voided, date);"
	"CREATE TABLE event_history("
	" id TEXT NOT NULL,"
	" revision INTEGER NOT NULL,"
	" school TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" date TEXT NOT NULL,"
	" voided INTEGER NOT NULL,"
	" device TEXT,"
	" seq INTEGER,"
	" recorded_at INTEGER,"
	" received_at INTEGER NOT NULL,"
	" content_hash BLOB NOT NULL,"
	" body TEXT NOT NULL,"
	" PRIMARY KEY(id, revision)) WITHOUT ROWID;"
	"CREATE TABLE rejections("
	" id INTEGER PRIMARY KEY,"
	" device TEXT NOT NULL,"
	" school TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" event_id TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" received_at INTEGER NOT NULL);"
	"CREATE INDEX rejections_school ON rejections(school);";

/* Schema 2: when a school was closed (merged, suspended) and opened again,
 * so a report does not expect data from it. A unit is closed for a period
 * [from, to] iff a row has closed_from <= from AND (reopened_from IS NULL
 * OR reopened_from > to). Dates are YYYY-MM-DD, local. Also the level
 * 'college' (the pedagogical college), which needs no SQL: level has no
 * CHECK constraint (server/org.c checks it). */
static const char *const schema_v2 =
	"CREATE TABLE unit_closures("
	" unit TEXT NOT NULL REFERENCES units(code),"
	" closed_from TEXT NOT NULL /* YYYY-MM-DD, first day closed */,"
	" reopened_from TEXT /* first day open again; NULL = still closed */,"
	" PRIMARY KEY(unit, closed_from)) WITHOUT ROWID;";

/* Schema 3, the leaner store: each revision is stored once. event_history
 * keeps every revision, its envelope in columns and only its fields as
 * JSON (server/evrow.h puts the event together again; the school is the
 * event's); events becomes the narrow index of current revisions (no
 * body), found through (id, revision). The roll-up triggers read the
 * fields from the history row, so they are dropped here and made again
 * by server/rollup.c (its layout version changed with this). One index
 * beside the key: (kind, voided, date), the Action Month's range; reports
 * read the roll-ups, and an export by school or district, an office's
 * occasional command, scans the narrow events table (an index on school
 * cost 65 B per event, an eighth of the store). Words between @ differ
 * by backend (db_words below). */
static const char *const schema_v3 =
	"@drop_rollup_triggers@"
	"CREATE TABLE revisions("
	" id TEXT NOT NULL,"
	" revision INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" date TEXT NOT NULL,"
	" voided INTEGER NOT NULL,"
	" void_reason TEXT,"
	" device TEXT,"
	" seq INTEGER,"
	" recorded_at INTEGER,"
	" received_at INTEGER NOT NULL,"
	" content_hash BLOB NOT NULL,"
	" fields TEXT NOT NULL,"
	" PRIMARY KEY(id, revision)) WITHOUT ROWID;"
	"INSERT INTO revisions SELECT id, revision, kind, date, voided,"
	" @void_reason(body)@, device, seq, recorded_at, received_at,"
	" content_hash, @fields(body)@ FROM event_history;"
	"INSERT INTO revisions SELECT id, revision, kind, date, voided,"
	" @void_reason(body)@, device, seq, recorded_at, received_at,"
	" content_hash, @fields(body)@ FROM events e WHERE NOT EXISTS"
	" (SELECT 1 FROM event_history h WHERE h.id = e.id AND"
	" h.revision = e.revision);"
	"CREATE TABLE events_v3("
	" id TEXT PRIMARY KEY,"
	" revision INTEGER NOT NULL,"
	" school TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" date TEXT NOT NULL,"
	" voided INTEGER NOT NULL,"
	" received_at INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO events_v3 SELECT id, revision, school, kind, date, voided,"
	" received_at FROM events;"
	"DROP TABLE events;"
	"DROP TABLE event_history;"
	"ALTER TABLE events_v3 RENAME TO events;"
	"ALTER TABLE revisions RENAME TO event_history;"
	"CREATE INDEX events_kind_voided_date ON events(kind, voided, date);";

/* The migration steps: steps[v - 1] takes a database from schema v - 1 to
 * v, so a new file runs them all (the latest schema is exactly what an
 * old file migrates to). Schema 4 is one more line here and
 * TB_DB_SCHEMA 4 in db.h. */
static const char *const steps[] = { schema_v1, schema_v2, schema_v3 };

_Static_assert(sizeof(steps) / sizeof(steps[0]) == TB_DB_SCHEMA,
	       "one migration step per schema version (db.h TB_DB_SCHEMA)");

/* The store's own tables (the report roll-ups are derived from events and
 * rebuilt, never copied), in an order their foreign keys allow: keep it
 * with the steps above (tests/test_migrate.c checks it against a new
 * file's tables). */
static const char *const db_tables[] = {
	"units", "devices", "cursors", "admin_tokens", "events",
	"event_history", "rejections", "unit_closures", NULL,
};

const char *const *tb_db_tables(void)
{
	return db_tables;
}

/* The envelope keys a stored body carried (schema 2) that schema 3 keeps
 * in columns: what is left is the fields object. */
#define DB_ENVELOPE_SQLITE                                               \
	"'$.id', '$.school', '$.device', '$.seq', '$.kind', '$.date',"     \
	" '$.revision', '$.recorded_at', '$.voided', '$.void_reason'"
#define DB_ENVELOPE_PG                                                   \
	" - 'id' - 'school' - 'device' - 'seq' - 'kind' - 'date'"          \
	" - 'revision' - 'recorded_at' - 'voided' - 'void_reason'"

struct db_word {
	const char *from, *to;
};

/* One schema text, two dialects: each step is written for SQLite with a
 * few words between @ that each backend fills; PostgreSQL also gets its
 * types (INTEGER is BIGINT: times and counts pass 2^31; an INTEGER
 * PRIMARY KEY is an identity column; BLOB is BYTEA; no WITHOUT ROWID). */
static const struct db_word words_sqlite[] = {
	{"@drop_rollup_triggers@", "DROP TRIGGER IF EXISTS report_ev_insert;"
				   "DROP TRIGGER IF EXISTS report_ev_delete;"
				   "DROP TRIGGER IF EXISTS report_ev_update;"},
	{"@void_reason(body)@", "json_extract(body, '$.void_reason')"},
	{"@fields(body)@", "json_remove(body, " DB_ENVELOPE_SQLITE ")"},
	{NULL, NULL},
};

static const struct db_word words_pg[] = {
	/* DROP TABLE events takes its triggers with it */
	{"@drop_rollup_triggers@", ""},
	{"@void_reason(body)@", "(body::jsonb ->> 'void_reason')"},
	{"@fields(body)@", "((body::jsonb)" DB_ENVELOPE_PG ")::text"},
	{"INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY "
				"PRIMARY KEY"},
	{"INTEGER", "BIGINT"},
	{"BLOB", "BYTEA"},
	{" WITHOUT ROWID", ""},
	{NULL, NULL},
};

char *tb_db_step_text(int version, int pg)
{
	const struct db_word *w0 = pg ? words_pg : words_sqlite, *w;
	const char *p;
	size_t cap, n = 0;
	char *out;

	if (version < 1 || version > TB_DB_SCHEMA)
		return NULL;
	p = steps[version - 1];
	cap = strlen(p) * 3 + 1024;
	out = malloc(cap);
	if (!out)
		return NULL;
	while (*p) {
		for (w = w0; w->from; w++) {
			size_t fl = strlen(w->from), tl = strlen(w->to);

			if (strncmp(p, w->from, fl) == 0 && n + tl < cap) {
				memcpy(out + n, w->to, tl);
				n += tl;
				p += fl;
				break;
			}
		}
		if (!w->from && n + 1 < cap)
			out[n++] = *p++;
		else if (!w->from)
			break;
	}
	out[n] = '\0';
	return out;
}

int tb_db_sqlite_exec(sqlite3 *db, const char *sql, char *msg, size_t msglen)
{
	char *err = NULL;
	const char *why;
	int src = sqlite3_exec(db, sql, NULL, NULL, &err), rc;

	if (src == SQLITE_OK)
		return TB_OK;
	rc = tb_sqlite_err(db, src, &why);
	if (msg && msglen)
		snprintf(msg, msglen, "database: %s (%s)", why,
			 err ? err : sqlite3_errstr(src));
	sqlite3_free(err);
	return rc;
}

static int db_user_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *st = NULL;
	int src, rc = TB_OK;

	src = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = tb_sqlite_err(NULL, src, NULL);
		goto out;
	}
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = tb_sqlite_err(NULL, src, NULL);
		goto out;
	}
	*out = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

/* The first table of the file by name into name (64 bytes), "" when it
 * has none: a new file, or one with tables but no schema version. */
static int db_first_table(sqlite3 *db, char *name)
{
	sqlite3_stmt *st = NULL;
	int src;

	name[0] = '\0';
	src = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE"
				 " type = 'table' ORDER BY name LIMIT 1", -1,
				 &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		snprintf(name, 64, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return src == SQLITE_ROW || src == SQLITE_DONE ? TB_OK : tb_sqlite_err(NULL, src, NULL);
}

/* Checks, inside the transaction, that this server can bring the file at
 * schema `version` up to TB_DB_SCHEMA. */
static int db_check_version(sqlite3 *db, const char *path, int version,
			    char *msg, size_t msglen)
{
	char table[64];
	int rc;

	if (version > TB_DB_SCHEMA) {
		snprintf(msg, msglen, "%s: database has schema %d, newer than "
			 "this server (%d); use a newer tienbo-server (the "
			 "file was left unchanged)", path, version,
			 TB_DB_SCHEMA);
		return TB_ECONFLICT;
	}
	if (version < 0) {
		snprintf(msg, msglen, "%s: bad schema version %d (the file was "
			 "left unchanged)", path, version);
		return TB_ECONFLICT;
	}
	if (version > 0)
		return TB_OK;
	rc = db_first_table(db, table);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: cannot read the database", path);
		return rc;
	}
	if (table[0]) {
		snprintf(msg, msglen, "%s: not a tienbo-server database: it "
			 "already holds tables (%s, ...) but no schema version "
			 "(user_version 0), and the server does not create its "
			 "own over them; give a new file or a server database "
			 "(the file was left unchanged)", path, table);
		return TB_ECONFLICT;
	}
	return TB_OK;
}

/* Runs the steps from `version` + 1 to TB_DB_SCHEMA and sets user_version,
 * inside the caller's transaction. */
static int db_migrate(sqlite3 *db, const char *path, int version,
		      char *msg, size_t msglen)
{
	char sql[64], why[300] = "";
	size_t step = (size_t)version; /* steps[step] makes step + 1 */
	int rc = TB_OK;

	for (; rc == TB_OK && step < TB_DB_SCHEMA; step++) {
		char *text = tb_db_step_text((int)step + 1, 0);

		rc = text ? tb_db_sqlite_exec(db, text, why, sizeof(why))
			  : TB_ENOMEM;
		free(text);
	}
	if (rc == TB_OK) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 TB_DB_SCHEMA);
		rc = tb_db_sqlite_exec(db, sql, why, sizeof(why));
	}
	if (rc < 0 && version == 0)
		snprintf(msg, msglen, "%s: cannot create the schema: %s", path,
			 why);
	else if (rc < 0)
		snprintf(msg, msglen, "%s: cannot migrate from schema %d to %d "
			 "(step %zu): %s; the file was left at schema %d", path,
			 version, TB_DB_SCHEMA, step, why, version);
	return rc;
}

/* Brings the schema to TB_DB_SCHEMA in one BEGIN IMMEDIATE transaction:
 * every step or none, and two processes opening an old file at once
 * migrate it exactly once. */
static int db_schema(sqlite3 *db, const char *path, char *msg, size_t msglen)
{
	int rc, version = 0;

	rc = db_user_version(db, &version);
	if (rc == TB_OK && version == TB_DB_SCHEMA)
		return TB_OK;
	rc = tb_db_sqlite_exec(db, "BEGIN IMMEDIATE", msg, msglen);
	if (rc < 0)
		return rc;
	rc = db_user_version(db, &version);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: cannot read the schema version", path);
		goto out;
	}
	if (version == TB_DB_SCHEMA) /* another process migrated it */
		goto out;
	rc = db_check_version(db, path, version, msg, msglen);
	if (rc == TB_OK)
		rc = db_migrate(db, path, version, msg, msglen);
out:
	if (rc == TB_OK)
		rc = tb_db_sqlite_exec(db, "COMMIT", msg, msglen);
	if (rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Makes path as an empty file of mode 0600 (SQLite then writes its
 * header, and gives the WAL and SHM files the same mode). */
static int db_file_create(const char *path, char *msg, size_t msglen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return TB_OK; /* made meanwhile: checked as an existing file */
	if (fd < 0) {
		snprintf(msg, msglen, "%s: cannot create the database: %s", path,
			 strerror(errno));
		return TB_EIO;
	}
	/* a umask such as 0277 took bits off */
	if (fchmod(fd, 0600) != 0 || close(fd) != 0) {
		snprintf(msg, msglen, "%s: cannot create the database: %s", path,
			 strerror(errno));
		return TB_EIO;
	}
	return TB_OK;
}

/* Before SQLite sees it: path is missing (made when create, else
 * refused), or a regular file, empty only when create. Refusals name the
 * file and change nothing. Only stat(2) here: opening and closing the
 * file would drop the POSIX locks this process's other connections hold
 * on it (fcntl locks belong to the process and go with any close), so
 * the header is checked through SQLite (db_is_sqlite). */
static int db_file_check(const char *path, int create, char *msg,
			 size_t msglen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT && create)
			return db_file_create(path, msg, msglen);
		if (errno == ENOENT) {
			snprintf(msg, msglen, "%s: no such database; create one "
				 "with tienbo-server init-db --db %s", path,
				 path);
			return TB_ENOTFOUND;
		}
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return TB_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "%s: not a tienbo-server database (not a "
			 "regular file)", path);
		return TB_ECONFLICT;
	}
	if (st.st_size == 0 && !create) {
		snprintf(msg, msglen, "%s: not a tienbo-server database (an empty "
			 "file); create one with tienbo-server init-db --db %s",
			 path, path);
		return TB_ECONFLICT;
	}
	return TB_OK;
}

/* SQLite reads the header on the first query: a file that is not SQLite
 * says SQLITE_NOTADB, and is refused as such (left unchanged). */
static int db_is_sqlite(sqlite3 *db, const char *path, char *msg,
			size_t msglen)
{
	int src = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
			       NULL, NULL);

	if (src == SQLITE_OK)
		return TB_OK;
	if ((src & 0xff) == SQLITE_NOTADB) {
		snprintf(msg, msglen, "%s: not a tienbo-server database (not an "
			 "SQLite file; the file was left unchanged)", path);
		return TB_ECONFLICT;
	}
	snprintf(msg, msglen, "%s: %s", path, sqlite3_errmsg(db));
	return tb_sqlite_err(NULL, src, NULL);
}

/* 1 if the file has the tienbo tables (devices and events). */
static int db_has_tables(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE"
			       " type = 'table' AND name IN ('devices',"
			       " 'events', 'units')", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n == 3;
}

/* An existing file that must already be a tienbo-server database (every
 * command but init-db): a schema version and the tienbo tables. */
static int db_check_existing(sqlite3 *db, const char *path, char *msg,
			     size_t msglen)
{
	char table[64] = "";
	int rc, version = 0;

	rc = db_user_version(db, &version);
	if (rc == TB_OK)
		rc = db_first_table(db, table);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: not a tienbo-server database (%s)",
			 path, sqlite3_errmsg(db));
		return rc == TB_EAGAIN ? rc : TB_ECONFLICT;
	}
	if (version > 0 && db_has_tables(db))
		return TB_OK;
	if (version == 0 && table[0])
		snprintf(msg, msglen, "%s: not a tienbo-server database (no "
			 "schema version, and its tables are not tienbo's: "
			 "%s, ...; the file was left unchanged)", path, table);
	else if (version == 0)
		snprintf(msg, msglen, "%s: not a tienbo-server database (an "
			 "SQLite file without tables); create one with "
			 "tienbo-server init-db --db %s", path, path);
	else
		snprintf(msg, msglen, "%s: not a tienbo-server database "
			 "(user_version %d but no tienbo tables; the file was "
			 "left unchanged)", path, version);
	return TB_ECONFLICT;
}

static void db_close_raw(sqlite3 *db);

static int db_open_sqlite(const char *path, const struct tb_db_opts *o,
			  sqlite3 **out, char *msg, size_t msglen)
{
	sqlite3 *db = NULL;
	char pragmas[160];
	int src, rc, flags, busy = 5000, version = 0;

	*out = NULL;
	pthread_once(&db_config_once, db_config);
	if (o && o->busy_timeout_ms > 0)
		busy = o->busy_timeout_ms;
	rc = db_file_check(path, o && o->create && !o->readonly, msg, msglen);
	if (rc < 0)
		goto out;
	/* the file exists now: SQLite never creates it (nor with 0644) */
	flags = (o && o->readonly) ? SQLITE_OPEN_READONLY
				   : SQLITE_OPEN_READWRITE;
	src = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		snprintf(msg, msglen, "%s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
		rc = TB_EIO;
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, busy);
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA foreign_keys=ON; PRAGMA synchronous=%s;",
		 (o && !o->sync_full) ? "NORMAL" : "FULL");
	rc = db_is_sqlite(db, path, msg, msglen);
	if (rc == TB_OK)
		rc = tb_db_sqlite_exec(db, pragmas, msg, msglen);
	if (rc == TB_OK && !(o && o->create))
		rc = db_check_existing(db, path, msg, msglen);
	if (rc < 0)
		goto out;
	if (o && o->readonly) {
		rc = db_user_version(db, &version);
		if (rc == TB_OK && version != TB_DB_SCHEMA) {
			snprintf(msg, msglen, "%s: not a tienbo-server database "
				 "of schema %d (it has %d; a read-write open "
				 "migrates an older one)", path, TB_DB_SCHEMA,
				 version);
			rc = TB_ECONFLICT;
		}
		goto out;
	}
	rc = tb_db_sqlite_exec(db, "PRAGMA journal_mode=WAL", msg, msglen);
	if (rc < 0)
		goto out;
	rc = db_schema(db, path, msg, msglen);
out:
	if (rc < 0) {
		db_close_raw(db);
		db = NULL;
	}
	*out = db;
	return rc;
}

int tb_db_open(const char *path, const struct tb_db_opts *o,
	       struct tb_sql **out, char *msg, size_t msglen)
{
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	if (tb_sql_is_url(path))
		return tb_db_open_pg(path, o, out, msg, msglen);
	rc = db_open_sqlite(path, o, &db, msg, msglen);
	if (rc < 0)
		return rc;
	*out = tb_sql_wrap_sqlite(db, path);
	if (!*out) {
		snprintf(msg, msglen, "%s: out of memory", path);
		return TB_ENOMEM;
	}
	return TB_OK;
}

static void db_close_raw(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (!db)
		return;
	while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
	sqlite3_close(db);
}
