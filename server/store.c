/* store.c - per-thread SQLite connections and the write mutex (store.h).
 *
 * Connections are found through a pthread key and also listed in an array
 * under a mutex, so tb_store_destroy can close them all once the worker
 * threads are gone, whichever threads opened them.
 */
#include "server/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/log.h"

#define STORE_MAX_CONNS 1024

struct tb_store {
	char *path;
	struct tb_db_opts opts;
	pthread_key_t key;
	int key_made;
	pthread_mutex_t list_lock;
	pthread_mutex_t write_lock;
	int locks_made;
	size_t nconns;
	sqlite3 *conns[STORE_MAX_CONNS];
};

int tb_store_create(const char *path, const struct tb_db_opts *o,
		    struct tb_store **out, char *msg, size_t msglen)
{
	struct tb_store *s;
	sqlite3 *db = NULL;
	int rc;

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
	s->locks_made = 1;
	rc = tb_db_open(path, &s->opts, &db, msg, msglen);
	if (rc < 0)
		goto out;
	s->conns[s->nconns++] = db;
	pthread_setspecific(s->key, db);
	*out = s;
	s = NULL;
out:
	tb_store_destroy(s);
	return rc;
}

sqlite3 *tb_store_conn(struct tb_store *s)
{
	char msg[256];
	sqlite3 *db = pthread_getspecific(s->key);

	if (db)
		return db;
	if (tb_db_open(s->path, &s->opts, &db, msg, sizeof(msg)) < 0) {
		tb_slog(TB_SLOG_ERROR, "cannot open a database connection: %s",
			msg);
		return NULL;
	}
	pthread_mutex_lock(&s->list_lock);
	if (s->nconns < STORE_MAX_CONNS) {
		s->conns[s->nconns++] = db;
	} else {
		tb_db_close(db);
		db = NULL;
	}
	pthread_mutex_unlock(&s->list_lock);
	if (db)
		pthread_setspecific(s->key, db);
	else
		tb_slog(TB_SLOG_ERROR, "too many database connections");
	return db;
}

int tb_store_write_begin(struct tb_store *s, long timeout_ms)
{
	struct timespec ts;
	int e;

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

void tb_store_write_end(struct tb_store *s)
{
	pthread_mutex_unlock(&s->write_lock);
}

void tb_store_destroy(struct tb_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nconns; i++)
		tb_db_close(s->conns[i]);
	if (s->key_made)
		pthread_key_delete(s->key);
	if (s->locks_made) {
		pthread_mutex_destroy(&s->list_lock);
		pthread_mutex_destroy(&s->write_lock);
	}
	tb_free(s->path);
	tb_free(s);
}
