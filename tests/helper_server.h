/* helper_server.h - a real tienbo-server for the tests: made in a temp
 * directory with its own test CA and certificate (scripts/mkcerts.sh) and
 * SQLite file, started on 127.0.0.1 on a port the kernel picks, reached
 * over HTTPS with libcurl and certificate verification on. Under
 * TB_TEST_DB=pg (helper_pg_wanted) its database is a fresh one in the
 * PostgreSQL test cluster instead of the file: s->db is then its URL,
 * which --db takes as it takes a path, and teardown drops it.
 *
 * Linked into every test executable; every symbol starts helper_server_.
 * Every wait is bounded in count and time. Functions return 0 / a status
 * and never abort, so the calling test asserts on the result.
 */
#ifndef TB_TESTS_HELPER_SERVER_H
#define TB_TESTS_HELPER_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/helper_proc.h"

#define HELPER_SERVER_PATH 512

struct helper_server {
	char dir[64];                  /* temp dir, removed by teardown */
	char ca[HELPER_SERVER_PATH];   /* dir/certs/ca.pem */
	char cert[HELPER_SERVER_PATH]; /* dir/certs/server.pem */
	char key[HELPER_SERVER_PATH];  /* dir/certs/server.key */
	char db[HELPER_SERVER_PATH];   /* dir/server.db, or under
					* TB_TEST_DB=pg the URL of its own
					* database in the test cluster */
	char log[HELPER_SERVER_PATH];  /* dir/server.log: the server's stderr */
	pid_t pid;                     /* 0 when not running */
	unsigned port;
	char url[64];                  /* "https://127.0.0.1:PORT" */
	const char *extra_header;      /* helper_server_request adds this
					* header line when set, e.g.
					* "Tienbo-After: 2" */
	const char *const *wrapper;    /* start: words run before the binary,
					* NULL-terminated, e.g. { "/usr/bin/env",
					* "LD_PRELOAD=...libfaketimeMT.so.1",
					* "FAKETIME=-45d", NULL } for an impostor
					* whose certificate is valid only then
					* (serve refuses an expired one) */
	int no_health_check;           /* start: ready once the port is
					* logged, without the verified
					* /healthz (an impostor whose
					* certificate is made to fail) */
	int own_db;                    /* setup made s->db in the PostgreSQL
					* test cluster: teardown drops it */
};

struct helper_server_resp {
	long status;             /* HTTP status, 0 if the request failed */
	char *body;              /* NUL-terminated, malloc'd */
	size_t len;
	char retry_after[32];    /* value of Retry-After, "" if absent */
	char content_type[128];  /* the same for Content-Type */
	char content_disposition[256]; /* and Content-Disposition */
	char error[256];         /* libcurl's message when status is 0 */
};

/* Temp dir, certificates, and an empty database made by `tienbo-server
 * init-db` at s->db (a new file, or a new PostgreSQL database). 0 or -1. */
int helper_server_setup(struct helper_server *s);
/* The same with the database db instead (a postgresql:// URL of an
 * existing empty database, or a path); init-db gives it the schema. It
 * stays the caller's: teardown does not drop it. */
int helper_server_setup_db(struct helper_server *s, const char *db);
/* A second instance of s, set up already: the same certificates and
 * database, its own log dir/log_name; not running. Its teardown only
 * stops it (s's removes the dir). */
void helper_server_twin(const struct helper_server *s,
			struct helper_server *twin, const char *log_name);
/* setup, then start with the defaults: a running server. 0 or -1. */
int helper_server_up(struct helper_server *s);
/* Starts `serve` with the defaults plus extra options (NULL-terminated
 * list, may be NULL); waits for the port in the log and for /healthz.
 * 0, or -1 (the log is printed). */
int helper_server_start(struct helper_server *s, const char *const *extra);
/* The same on a given port (0: any): a restart "on the same port" after
 * a stop or a kill, so clients configured with s->url find it again. */
int helper_server_start_on(struct helper_server *s, unsigned port,
			   const char *const *extra);
/* SIGTERM and wait up to 30 s. Returns the exit status (0..255), 128+sig
 * if killed by a signal, or -1 if it did not stop (then it is killed). */
int helper_server_stop(struct helper_server *s);
/* Sends sig without waiting. */
void helper_server_signal(struct helper_server *s, int sig);
/* Waits up to ms for the process to end; status as for stop, -1 timeout. */
int helper_server_wait(struct helper_server *s, long ms);
/* The last max bytes of the server's log (from a line start) on stderr,
 * between marker lines: for a test to show when a wait runs out. */
void helper_server_log_tail(const struct helper_server *s, long max);
/* Stops the server if running and removes the temp dir (and drops its
 * PostgreSQL database). */
void helper_server_teardown(struct helper_server *s);

/* Runs `tienbo-server ARGS... --db s->db` and captures stdout into out
 * (outlen bytes, NUL-terminated; may be NULL). Returns the exit status. */
int helper_server_run(struct helper_server *s, char *out, size_t outlen,
		      const char *const *args);
/* Runs a command that prints a new token on its last line (enroll,
 * admin-token) and puts it in token (65 bytes). 0 or -1. */
int helper_server_run_token(struct helper_server *s, const char *const *args,
			    char *token);
/* Enrolls school in district and puts the printed token (last line) in
 * token (65 bytes). 0 or -1. */
int helper_server_enroll(struct helper_server *s, const char *school,
			 const char *district, char *token);

/* An agent of the server under test: a sandbox (its config and data
 * dir), options to run TB_AGENT_BIN in it, and what init gave it. */
struct helper_server_agent {
	struct helper_proc_sandbox sb;
	struct helper_proc_opts o;     /* env = sb.env, 30 s timeout */
	char school[40];
	char token[80];
	char device[37];               /* printed by init */
	char db[400];                  /* the store: sb.data/agent.db */
};
/* Makes the sandbox and runs `tienbo-agent init` in it for school with
 * token, trusting s->ca, talking to url (NULL: s->url; a proxy's or an
 * impostor's address otherwise). 0, or -1 (init's output is printed).
 * Clean up with helper_server_agent_cleanup either way. */
int helper_server_agent_init(const struct helper_server *s,
			     struct helper_server_agent *a, const char *url,
			     const char *school, const char *token);
/* The same in a sandbox the caller has made already (a->sb, e.g. with its
 * data dir on a small file system); the rest of a is filled in here. */
int helper_server_agent_init_in(const struct helper_server *s,
				struct helper_server_agent *a, const char *url,
				const char *school, const char *token);
/* Removes the sandbox. */
void helper_server_agent_cleanup(struct helper_server_agent *a);

/* One HTTPS request. token, ctype, cenc may be NULL (header left out).
 * chunked: send without Content-Length. 0 when a response came back. */
int helper_server_request(struct helper_server *s, const char *method,
			  const char *path, const char *token,
			  const char *ctype, const char *cenc,
			  const void *body, size_t len, int chunked,
			  struct helper_server_resp *r);
/* POSTs json gzip-compressed (tb_gz_compress) to /v1/batches. */
int helper_server_post(struct helper_server *s, const char *token,
		       const char *json, struct helper_server_resp *r);
void helper_server_resp_free(struct helper_server_resp *r);

/* An upload whose body stalls: helper_server_slow_start sends the headers
 * of a chunked POST /v1/batches (gzip body given, copied) from a thread,
 * with "Expect: 100-continue", and once the server has answered "100
 * Continue" (it authenticated the upload and gave it its place) sends one
 * byte of the body and holds the rest back until helper_server_slow_finish,
 * which lets it go, waits and returns the HTTP status (0 if the request
 * failed). */
struct helper_server_slow;
struct helper_server_slow *helper_server_slow_start(struct helper_server *s,
						     const char *token,
						     const void *gz,
						     size_t len);
/* 1 once the server holds the upload (100 Continue came back) and its
 * first body byte has been sent. */
int helper_server_slow_started(const struct helper_server_slow *sl);
/* Waits up to timeout_ms for that: 1 when the server holds the upload; 0
 * when the request ended first (refused: its status comes from _finish);
 * -1 at the timeout, after printing what it waited for and the end of the
 * server's log. Not a race on which request the server saw first: the
 * server itself says it took the upload. */
int helper_server_slow_wait(const struct helper_server_slow *sl,
			    long timeout_ms);
long helper_server_slow_finish(struct helper_server_slow *sl);

/* A batch of n outreach events, seq first..first+n-1, event i's id made
 * from (tag, seq) by helper_server_id; each with the given revision and
 * voided flag; title "event <seq> r<revision>", parents = seq. malloc'd. */
char *helper_server_batch(const char *device, const char *school,
			  int64_t first, int n, unsigned tag, int revision,
			  int voided);
/* "TTTTTTTT-0000-4000-8000-SSSSSSSSSSSS" from tag and seq, into id (37). */
void helper_server_id(unsigned tag, int64_t seq, char *id);

/* The object whose "id" is id in a JSON array (an export), or NULL. */
struct cJSON;
struct cJSON *helper_server_find_id(struct cJSON *arr, const char *id);

/* PRAGMA integrity_check of the SQLite file at path (an agent's store;
 * the server's: helper_server_check): 0 if "ok", else -1 after printing
 * what it found. Raw SQLite: the agent is always SQLite. */
int helper_server_integrity(const char *path);
/* The server's database intact, on either backend: on SQLite PRAGMA
 * integrity_check says "ok"; on PostgreSQL every table of its schema
 * reads through (count(*)) and amcheck's bt_index_check(heapallindexed)
 * passes on every B-tree index (the extension is created in the test's
 * own database). 0, or -1 after printing what failed. */
int helper_server_check(const struct helper_server *s);

/* The server's database (s->db: a file or a postgresql:// URL) is read
 * through the server's own store interface (server/sql.h, tb_db_open,
 * read-only: neither created nor migrated), so the same query works on
 * both backends when its SQL does. */
struct tb_sql;
/* 1 when the server under test stores in PostgreSQL (s->db is a URL). */
int helper_server_is_pg(const struct helper_server *s);
/* A connection to it, or NULL after saying why; tb_sql_close it. */
struct tb_sql *helper_server_open_db(const struct helper_server *s);
/* The one integer a SQL query on the server's database returns, or -1
 * (also when the query fails or gives no row: said on stderr). */
int64_t helper_server_count(struct helper_server *s, const char *sql);
/* The same with failure apart from the value: 0 or -1. */
int helper_server_query_int64(const struct helper_server *s, const char *sql,
			      int64_t *out);
/* The first column of the one row as text (malloc'd), or NULL (a NULL,
 * no row, a failure). */
char *helper_server_query_text(const struct helper_server *s, const char *sql);
/* The same with the query made by printf from fmt (up to 1 KiB). */
int64_t helper_server_countf(struct helper_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* SQL for the member key of the JSON text in column col, in buf (len
 * bytes), returned: json_extract(col, '$.key') on SQLite; on PostgreSQL
 * the member as text, or as a number when num (a JSON number; SQLite's
 * json_extract gives numbers as numbers either way). */
const char *helper_server_json(const struct helper_server *s, const char *col,
			       const char *key, int num, char *buf, size_t len);
/* Runs sql (no results; several statements allowed) on the server's
 * database, read-write: a test setting a row up. 0, or -1 after saying
 * why. */
int helper_server_exec(const struct helper_server *s, const char *sql);
/* A connection holding the server's database's write lock (an open
 * write transaction; on PostgreSQL also EXCLUSIVE locks on the tables an
 * upload writes): the server's writers wait and then give up, its
 * readers go on. Release with tb_sql_close (it rolls back). NULL after
 * saying why. */
struct tb_sql *helper_server_lock_writes(const struct helper_server *s);
/* One integer from the SQLite file at path (an agent's store), opened
 * read-only with raw SQLite, or -1. */
int64_t helper_server_db_int(const char *path, const char *sql);

/* Peak resident memory (VmHWM) of the running server in KiB, from
 * /proc/PID/status; -1 if it is not running or cannot be read. */
long helper_server_vmhwm_kb(const struct helper_server *s);

/* A well-behaved uploader in a background thread: batches of n events
 * (helper_server_batch with tag, revision 1) for device and school, seq
 * 1, n+1, ... one after another until helper_server_feed_stop, max
 * batches, or 120 s. Strings are copied. NULL if the thread could not
 * start. */
struct helper_server_feed;
struct helper_server_feed *helper_server_feed_start(struct helper_server *s,
						     const char *token,
						     const char *device,
						     const char *school,
						     unsigned tag, int n,
						     int max);
/* Stops after the batch in flight and frees the feed. Returns how many
 * batches were sent; *ok (may be NULL) gets how many were acknowledged in
 * full (200, accepted == n, committed_through == the batch's last seq). */
int helper_server_feed_stop(struct helper_server_feed *f, int *ok);

#endif
