/* dbpool.c - per-thread SQLite connections, the write mutex and the WAL
 * checkpointer (dbpool.h).
 *
 * Connections are found through a pthread key and also listed in an array
 * under a mutex, so tb_dbpool_destroy can close them all once the worker
 * threads are gone, whichever threads opened them.
 *
 * Checkpoints: SQLite normally copies the WAL back into the database in
 * the thread whose COMMIT crossed the auto-checkpoint size, which puts a
 * few milliseconds of I/O in front of that batch's acknowledgement. Here
 * the workers' connections report each commit's WAL size through a WAL
 * hook instead, and a checkpointer thread with its own connection does a
 * PASSIVE checkpoint when the WAL has passed DBPOOL_CKPT_PAGES, or every
 * DBPOOL_CKPT_IDLE_S seconds; the WAL file is cut back to
 * DBPOOL_WAL_LIMIT when it restarts.
 */
#include "server/dbpool.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/log.h"
#include "server/sql.h"

#define DBPOOL_MAX_CONNS 1024
#define DBPOOL_CKPT_PAGES 1000
#define DBPOOL_CKPT_IDLE_S 5
#define DBPOOL_WAL_LIMIT (64 * 1024 * 1024)

struct tb_dbpool {
	char *path;
	int pg; /* PostgreSQL: no checkpointer, no write mutex (see .h) */
	struct tb_db_opts opts;
	pthread_key_t key;
	int key_made;
	pthread_mutex_t list_lock;
	pthread_mutex_t write_lock;
	int locks_made;
	size_t nconns;
	struct tb_sql *conns[DBPOOL_MAX_CONNS];
	/* checkpointer */
	pthread_t ckpt_thread;
	int ckpt_running;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	int ckpt_wanted, ckpt_stop;
	struct tb_sql *ckpt_db;
};

static int pool_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct tb_dbpool *s = arg;

	(void)db;
	(void)name;
	if (pages >= DBPOOL_CKPT_PAGES) {
		pthread_mutex_lock(&s->ckpt_lock);
		s->ckpt_wanted = 1;
		pthread_cond_signal(&s->ckpt_cond);
		pthread_mutex_unlock(&s->ckpt_lock);
	}
	return TB_OK;
}

static void *pool_checkpointer(void *arg)
{
	struct tb_dbpool *s = arg;
	struct timespec until;
	int stop = 0;

	while (!stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += DBPOOL_CKPT_IDLE_S;
		pthread_mutex_lock(&s->ckpt_lock);
		while (!s->ckpt_wanted && !s->ckpt_stop &&
		       pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock,
					      &until) == 0)
			;
		s->ckpt_wanted = 0;
		stop = s->ckpt_stop;
		pthread_mutex_unlock(&s->ckpt_lock);
		if (sqlite3_wal_checkpoint_v2(tb_sql_sqlite(s->ckpt_db), NULL,
					      SQLITE_CHECKPOINT_PASSIVE, NULL,
					      NULL) != TB_OK)
			tb_slog(TB_SLOG_DEBUG, "checkpoint: %s",
				tb_sql_errmsg(s->ckpt_db));
	}
	return NULL;
}

/* Per-connection settings of the server: the WAL hook above in place of
 * SQLite's own auto-checkpoint, a bigger page cache. */
static void pool_tune(struct tb_dbpool *s, struct tb_sql *db)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-16384; "
		 "PRAGMA journal_size_limit=%d;", DBPOOL_WAL_LIMIT);
	if (s->pg)
		return; /* PostgreSQL checkpoints by itself */
	tb_sql_exec(db, sql, NULL, 0);
	sqlite3_wal_hook(tb_sql_sqlite(db), pool_wal_hook, s);
}

int tb_dbpool_create(const char *path, const struct tb_db_opts *o,
		    struct tb_dbpool **out, char *msg, size_t msglen)
{
	struct tb_dbpool *s;
	struct tb_sql *db = NULL;
	int rc = TB_OK;

	*out = NULL;
	s = tb_calloc(1, sizeof(*s));
	if (!s)
		return TB_ENOMEM;
	s->path = tb_strdup(path);
	if (!s->path) {
		rc = TB_ENOMEM;
		goto out;
	}
	if (o)
		s->opts = *o;
	s->opts.readonly = 0;
	if (pthread_key_create(&s->key, NULL) != 0) {
		rc = TB_ENOMEM;
		goto out;
	}
	s->key_made = 1;
	pthread_mutex_init(&s->list_lock, NULL);
	pthread_mutex_init(&s->write_lock, NULL);
	pthread_mutex_init(&s->ckpt_lock, NULL);
	pthread_cond_init(&s->ckpt_cond, NULL);
	s->locks_made = 1;
	s->pg = tb_sql_is_url(path);
	if (!s->pg)
		rc = tb_db_open(path, &s->opts, &s->ckpt_db, msg, msglen);
	if (rc < 0)
		goto out;
	if (!s->pg && pthread_create(&s->ckpt_thread, NULL, pool_checkpointer, s) != 0) {
		rc = TB_ENOMEM;
		goto out;
	}
	s->ckpt_running = !s->pg;
	rc = tb_db_open(path, &s->opts, &db, msg, msglen);
	if (rc < 0)
		goto out;
	pool_tune(s, db);
	s->conns[s->nconns++] = db;
	pthread_setspecific(s->key, db);
	*out = s;
	s = NULL;
out:
	tb_dbpool_destroy(s);
	return rc;
}

struct tb_sql *tb_dbpool_conn(struct tb_dbpool *s)
{
	char msg[256];
	struct tb_sql *db = pthread_getspecific(s->key);

	if (db)
		return db;
	if (tb_db_open(s->path, &s->opts, &db, msg, sizeof(msg)) < 0) {
		tb_slog(TB_SLOG_ERROR, "cannot open a database connection: %s",
			msg);
		return NULL;
	}
	pool_tune(s, db);
	pthread_mutex_lock(&s->list_lock);
	if (s->nconns < DBPOOL_MAX_CONNS) {
		s->conns[s->nconns++] = db;
	} else {
		tb_sql_close(db);
		db = NULL;
	}
	pthread_mutex_unlock(&s->list_lock);
	if (db)
		pthread_setspecific(s->key, db);
	else
		tb_slog(TB_SLOG_ERROR, "too many database connections");
	return db;
}

int tb_dbpool_write_begin(struct tb_dbpool *s, long timeout_ms)
{
	struct timespec ts;
	int e;

	if (s->pg)
		return TB_OK; /* rows are locked by PostgreSQL as written */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	do
		e = pthread_mutex_timedlock(&s->write_lock, &ts);
	while (e == EINTR);
	return e == 0 ? TB_OK : TB_EAGAIN;
}

int tb_dbpool_is_pg(const struct tb_dbpool *s)
{
	return s->pg;
}

void tb_dbpool_write_end(struct tb_dbpool *s)
{
	if (!s->pg)
		pthread_mutex_unlock(&s->write_lock);
}

void tb_dbpool_destroy(struct tb_dbpool *s)
{
	size_t i;

	if (!s)
		return;
	if (s->ckpt_running) {
		pthread_mutex_lock(&s->ckpt_lock);
		s->ckpt_stop = 1;
		pthread_cond_signal(&s->ckpt_cond);
		pthread_mutex_unlock(&s->ckpt_lock);
		pthread_join(s->ckpt_thread, NULL);
	}
	for (i = 0; i < s->nconns; i++)
		tb_sql_close(s->conns[i]);
	tb_sql_close(s->ckpt_db);
	if (s->key_made)
		pthread_key_delete(s->key);
	if (s->locks_made) {
		pthread_mutex_destroy(&s->list_lock);
		pthread_mutex_destroy(&s->write_lock);
		pthread_mutex_destroy(&s->ckpt_lock);
		pthread_cond_destroy(&s->ckpt_cond);
	}
	tb_free(s->path);
	tb_free(s);
}
