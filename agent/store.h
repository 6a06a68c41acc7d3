/* store.h - the agent's durable offline store: one SQLite file, the queue of
 * every revision this device has made, and the little state the sync engine
 * keeps between runs.
 *
 * Callers: the CLI commands (agent/cli_*.c: record, list, show, amend, void,
 * import, export, status) and the sync engine (agent/sync.c). One handle per
 * thread; several processes may hold the same file at once (WAL mode, a
 * busy timeout, every write in a BEGIN IMMEDIATE transaction).
 *
 * The queue. Every revision of every event is one row, numbered by `seq`,
 * the per-device sequence number: assigned when the row is written (record,
 * amend, void), 1, 2, 3, ... strictly increasing, never reused, never
 * rewritten. An amendment or a void is a new row for the same event id with
 * revision + 1 and a new seq; earlier rows stay as they were. Each row keeps
 * id, revision, kind, date, recorded_at, voided, void_reason, the set fields
 * (the codec's fields object), the upload state (pending -> sent, or
 * pending -> rejected with the server's reason) and the length of the
 * revision's batch encoding. No wire bytes are stored: a batch is encoded
 * at upload time by the codec's batch writer (protocol/batch.h) from the
 * rows, so the agent sends exactly what protocol/vectors pin.
 *
 * Guarantees:
 *  - A write function returns 0 only after COMMIT with synchronous=FULL: the
 *    row survives a crash or power cut from then on. On any failure nothing
 *    of that call is left (one transaction per call, or the caller's).
 *  - The rows with state pending are always the rows after the highest
 *    acknowledged seq, so pending seqs are consecutive (what a batch needs),
 *    as long as the sync engine marks rows as the acknowledgement says.
 *  - Schema: PRAGMA user_version holds TB_STORE_SCHEMA_VERSION. Opening an
 *    older file upgrades it in one transaction; a newer file is refused
 *    (TB_ECONFLICT, message naming both versions) and left untouched.
 *
 * Errors: every function returns 0 or a negative code of common/err.h;
 * tb_store_errmsg() then describes the failure in plain words (a validation
 * message naming the field and the rule for TB_EINVAL, "disk full", "the
 * data directory is read-only", ... for TB_EIO). SQLITE_BUSY after the busy
 * timeout is TB_EAGAIN.
 */
#ifndef TB_AGENT_STORE_H
#define TB_AGENT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/event.h"
#include "protocol/codec.h"

#define TB_STORE_SCHEMA_VERSION 4
#define TB_STORE_FILE "agent.db" /* the file's name inside the data dir */

struct tb_store;

enum tb_store_state {
	TB_STATE_PENDING = 0,  /* not yet acknowledged by the server */
	TB_STATE_SENT = 1,     /* acknowledged: committed by the server */
	TB_STATE_REJECTED = 2  /* acknowledged as rejected, with a reason */
};

/* "pending", "sent", "rejected" (static storage; "?" if out of range). */
const char *tb_store_state_name(enum tb_store_state st);

/* ---- opening ------------------------------------------------------------ */

#define TB_STORE_CREATE 1 /* create the file and its schema if missing */

/* Opens (with TB_STORE_CREATE: creates) the store file at `path` (copied),
 * sets WAL, synchronous=FULL, foreign_keys=ON, a busy timeout, and brings
 * the schema up to TB_STORE_SCHEMA_VERSION. *out is the handle (caller
 * destroys with tb_store_close) or NULL on failure, with msg saying why:
 * TB_ENOTFOUND (no file and no TB_STORE_CREATE), TB_ECONFLICT (a newer
 * schema: "... schema version 4, this agent knows up to 3 ..."), TB_EIO
 * (unreadable, not a database, read-only when a migration is needed,
 * disk full), TB_ENOMEM. */
int tb_store_open(const char *path, int flags, struct tb_store **out,
		  char *msg, size_t msglen);
/* Finalises statements and closes the file. Accepts NULL. An open
 * transaction (tb_store_begin without commit) is rolled back. */
void tb_store_close(struct tb_store *s);
/* The last failure of a call on s, in plain words; "" if none. Borrowed. */
const char *tb_store_errmsg(const struct tb_store *s);
/* Joins data_dir and TB_STORE_FILE into buf. 0 or TB_ETOOBIG. */
int tb_store_path(const char *data_dir, char *buf, size_t buflen);

/* ---- identity ----------------------------------------------------------- */

/* Sets the device id and school code the rows are written for (both
 * copied, validated). Done once at `init`; setting the same values again is
 * a no-op. A different device id, or a different school once rows exist,
 * is TB_ECONFLICT (the file belongs to another device / school). */
int tb_store_set_identity(struct tb_store *s, const char *device,
			  const char *school);
/* Borrowed, valid until close; "" if not set yet. */
const char *tb_store_device(const struct tb_store *s);
const char *tb_store_school(const struct tb_store *s);

/* ---- writing events ----------------------------------------------------- */

/* Explicit transaction around several writes (an import: all or nothing).
 * Between begin and commit, record/amend/void join the transaction instead
 * of committing on their own. begin: 0, TB_EAGAIN (busy), TB_EIO; commit:
 * 0 or TB_EIO/TB_EAGAIN (then the transaction is rolled back: nothing of it
 * is kept). rollback accepts a store with no open transaction. */
int tb_store_begin(struct tb_store *s);
int tb_store_commit(struct tb_store *s);
void tb_store_rollback(struct tb_store *s);

/* Records a new event. The store sets e->id (tb_uuid_for_device of the
 * device and the row's seq), revision 1, device, school, recorded_at (now)
 * and seq, validates every rule
 * (TB_EINVAL, errmsg from tb_event_validate) and writes the row. e is updated in place on success only. TB_ECONFIG if the
 * identity is not set. */
int tb_store_record(struct tb_store *s, struct tb_event *e);

/* Writes a new revision of an existing event. e is the changed event, as
 * read with tb_store_get and then edited, with e->revision already raised
 * by one: it must be exactly the latest revision + 1 (else TB_ECONFLICT:
 * the event changed meanwhile), the event must exist (TB_ENOTFOUND) and
 * must not be voided (TB_ECONFLICT). kind may not change. The store sets
 * device, school, recorded_at and seq; validates; writes. */
int tb_store_amend(struct tb_store *s, struct tb_event *e);

/* Voids event `id` with `reason` (non-empty text): a new revision of the
 * latest one, same fields, voided. If out is not NULL it receives that new
 * revision (caller clears it). TB_ENOTFOUND, TB_ECONFLICT (already voided),
 * TB_EINVAL (bad reason). */
int tb_store_void(struct tb_store *s, const char *id, const char *reason,
		  struct tb_event *out);

/* ---- imports (agent/store_import.c) ------------------------------------- */

/* What the store remembers of one import. */
struct tb_store_import {
	int64_t id;
	int64_t at;        /* UTC seconds */
	const char *file;  /* as given on the command line */
	int64_t rows;      /* events it recorded */
	int64_t skipped;   /* rows it skipped as imported before */
	int64_t undone_at; /* 0 unless undone */
};

/* An earlier import of the same row. */
struct tb_store_import_match {
	int64_t import_id;
	int64_t at;
	char file[256];
	int64_t row;
	char event_id[TB_ID_LEN];
	int exact;           /* 1: the same content; 0: the same key only */
};

/* Starts the record of an import (inside tb_store_begin). */
int tb_store_import_new(struct tb_store *s, const char *file, int64_t at,
			int64_t *id);
/* Remembers row `row` of import `id`, recorded as event_id. content is the
 * row's fingerprint, key its kind, date and folded title. */
int tb_store_import_row(struct tb_store *s, int64_t id, int64_t row,
			const char *content, const char *key,
			const char *event_id);
/* The earliest row of an import not undone (this one included) with the
 * same content, else the same key: 1 and *m, or 0 if none. */
int tb_store_import_find(struct tb_store *s, const char *content,
			 const char *key, struct tb_store_import_match *m);
int tb_store_import_done(struct tb_store *s, int64_t id, int64_t rows,
			 int64_t skipped);
/* Every import (id 0) or import id, oldest first. TB_ENOTFOUND if id
 * names none. */
int tb_store_imports(struct tb_store *s, int64_t id,
		     int (*cb)(void *arg, const struct tb_store_import *im),
		     void *arg);
/* Voids every event import id recorded that is not voided yet (reason
 * given), and marks the import undone at `at`, in one transaction.
 * *voided counts them. TB_ENOTFOUND, TB_ECONFLICT if undone already. */
int tb_store_import_undo(struct tb_store *s, int64_t id, int64_t at,
			 const char *reason, int64_t *voided);

/* ---- reading events ----------------------------------------------------- */

/* One queue row as handed to a callback; everything is borrowed and valid
 * only during the callback. */
struct tb_store_row {
	int64_t seq;
	enum tb_store_state state;
	const char *reject_reason;   /* NULL unless state is rejected */
	size_t wire_len;             /* bytes of its batch encoding */
	const struct tb_event *ev;   /* decoded, with school and device set */
};

/* Return 0 to go on; any other value stops the walk and is returned by the
 * walking function. */
typedef int (*tb_store_row_cb)(void *arg, const struct tb_store_row *row);

/* Resolves a full id, or an unambiguous part of one (at least 6 of its
 * characters, anywhere: ids of one device share their first half, so the
 * end tells them apart), into out (TB_ID_LEN). TB_ENOTFOUND, TB_ECONFLICT
 * (ambiguous), TB_EINVAL (not hex/hyphens, or too short). */
int tb_store_resolve_id(struct tb_store *s, const char *prefix, char *out);

/* Latest revision of event `id` into e (initialised by the callee; caller
 * clears). If st is not NULL it gets that row's state. TB_ENOTFOUND. */
int tb_store_get(struct tb_store *s, const char *id, struct tb_event *e,
		 enum tb_store_state *st);

struct tb_store_filter {
	int kind;            /* an enum tb_kind, or -1 for every kind */
	int has_from, has_to;
	int32_t from, to;    /* inclusive day bounds on the event's date */
	int pending_only;    /* only events whose latest revision is pending */
	int include_voided;  /* 0: leave out events whose latest is voided */
};
/* A filter that lets everything through (voided included). */
void tb_store_filter_init(struct tb_store_filter *f);

/* Calls cb with the latest revision of each event passing f, ordered by
 * date then seq. Reads inside one read transaction (a consistent view),
 * one row in memory at a time. */
int tb_store_list(struct tb_store *s, const struct tb_store_filter *f,
		  tb_store_row_cb cb, void *arg);
/* Calls cb with every revision of event `id`, oldest first. TB_ENOTFOUND
 * if there is none. */
int tb_store_history(struct tb_store *s, const char *id, tb_store_row_cb cb,
		     void *arg);

/* ---- for the sync engine ------------------------------------------------ */

/* Counts and sizes of the queue. bytes = sum of the rows' batch encoding
 * lengths. */
int tb_store_pending_count(struct tb_store *s, int64_t *count);
int tb_store_pending_bytes(struct tb_store *s, int64_t *bytes);
/* recorded_at and seq of the oldest pending row; both 0 if none. */
int tb_store_pending_oldest(struct tb_store *s, int64_t *recorded_at,
			    int64_t *seq);
/* Highest seq ever assigned (0 for an empty queue). */
int tb_store_last_seq(struct tb_store *s, int64_t *seq);

/* Streams pending rows with seq > after, in seq order, to cb(arg, e,
 * wire_bytes): e is the row's revision as a batch carries it (seq, school
 * and device set; borrowed for the call), wire_bytes the length of its
 * batch encoding (tb_event_write). Stops after max_rows rows, or before
 * the row that would bring the sum of lengths past max_bytes (the first
 * row is always handed over, so a walk always makes progress), or when cb
 * returns non-zero (that value is returned). *nrows and *nbytes (either
 * may be NULL) get what was handed over. One read transaction; cb must not
 * write through the same handle. A row that cannot be read is TB_EIO. */
typedef int (*tb_store_event_cb)(void *arg, const struct tb_event *e,
				 size_t wire_bytes);
int tb_store_pending_each(struct tb_store *s, int64_t after, size_t max_rows,
			  size_t max_bytes, tb_store_event_cb cb, void *arg,
			  size_t *nrows, size_t *nbytes);

/* Marks every pending row with seq <= through as sent. *changed (may be
 * NULL) gets the number of rows changed. One transaction. */
int tb_store_mark_sent(struct tb_store *s, int64_t through, int64_t *changed);
/* Marks row `seq` rejected with the server's reason (copied). A row already
 * rejected keeps its first reason. TB_ENOTFOUND if there is no such seq. */
int tb_store_mark_rejected(struct tb_store *s, int64_t seq,
			   const char *reason);
/* Applies an acknowledgement in one transaction: each rejection (by seq),
 * then mark_sent(committed_through). */
int tb_store_apply_ack(struct tb_store *s, const struct tb_ack *ack);
/* Puts every row with seq >= from_seq back to pending (reason cleared), for
 * a server whose cursor went backwards (restored from a backup). */
int tb_store_requeue(struct tb_store *s, int64_t from_seq, int64_t *changed);

/* Sync bookkeeping (times are UTC seconds). note_success clears the last
 * error; note_error keeps `text` (copied, trimmed to TB_MSG_LEN - 1). */
int tb_store_note_attempt(struct tb_store *s, int64_t when);
int tb_store_note_success(struct tb_store *s, int64_t when);
int tb_store_note_error(struct tb_store *s, int64_t when, const char *text);

/* A small key-value table for the sync engine's own state (cursor hints,
 * backoff). get: *value tb_malloc'd (caller frees) or TB_ENOTFOUND; set:
 * value NULL deletes the key. Keys are free text up to 64 bytes. */
int tb_store_kv_get(struct tb_store *s, const char *key, char **value);
int tb_store_kv_set(struct tb_store *s, const char *key, const char *value);

/* What the sync engine knows of the link, kept in sync_state (keys
 * link_*) so the next pass, the next `run` and `status` see it. Written
 * as each try fails or an acknowledgement lands. Times in UTC seconds;
 * "since progress" = since an acknowledgement last moved the cursor. */
struct tb_link_state {
	int64_t batch;        /* events per batch that last worked; 0: max */
	int64_t acked;        /* server's cursor as last acknowledged; -1:
			       * unknown (ask GET /v1/cursor first) */
	int64_t tries;        /* tries failed since progress */
	int64_t passes;       /* passes failed since progress */
	int64_t progress_at;  /* last progress; 0: never */
	int64_t waste;        /* bytes on the link since progress */
	int64_t waste_since;  /* when that count began */
	int64_t fail_events;  /* the batch that last failed: events */
	int64_t fail_bytes;   /* ... and its gzip bytes */
	int64_t pass_link;    /* this (or the last) pass: bytes on the link */
	int64_t pass_acked;   /* ... and gzip bytes acknowledged */
	int64_t paused_until; /* `run` waits until then (its byte cap); 0 */
};
/* Reads it (absent keys: 0, acked -1). One read transaction. */
int tb_store_link_load(struct tb_store *s, struct tb_link_state *l);
/* Writes every field in one transaction. */
int tb_store_link_save(struct tb_store *s, const struct tb_link_state *l);

/* Everything `status` shows, in one read transaction. */
struct tb_store_status {
	int64_t events;          /* distinct event ids */
	int64_t pending, sent, rejected; /* rows by state */
	int64_t pending_bytes;
	int64_t oldest_pending;  /* recorded_at of the oldest pending row, 0 */
	int64_t last_seq;
	int64_t last_attempt;    /* 0 = never */
	int64_t last_success;    /* 0 = never */
	int64_t last_error_at;   /* 0 = none */
	char last_error[TB_MSG_LEN]; /* "" = none */
	struct tb_link_state link;
};
int tb_store_status(struct tb_store *s, struct tb_store_status *st);

/* Runs PRAGMA integrity_check: 0 if "ok", TB_EIO with the first problem in
 * errmsg otherwise. */
int tb_store_check(struct tb_store *s);

#endif
