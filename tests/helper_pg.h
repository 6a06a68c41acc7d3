/* helper_pg.h - the PostgreSQL side of a test: a fresh empty database
 * per test in the run's throwaway cluster, and numbers read back from it.
 *
 * The cluster is the ctest fixture "pg" (cmake/tests.cmake), started by
 * scripts/pg-cluster.sh before the first test that requires it and
 * stopped after the last. A test registered with tb_add_pg_variant()
 * runs a second time as NAME_pg with
 *   TB_TEST_DB=pg                   the test should use PostgreSQL
 *   TB_TEST_PG_URL_FILE=<build>/pg/url
 *                                   holds the cluster's base URI,
 *                                   postgresql://tienbo@127.0.0.1:PORT/postgres
 * A PostgreSQL test never skips: without the cluster these calls fail,
 * saying why, and the test asserts on that.
 *
 * Linked into every test executable (libpq); every symbol starts
 * helper_pg_. Every connection gives up after 10 s and every statement
 * after 30 s. Functions return -1 on failure after saying exactly what
 * failed on stderr; nothing aborts.
 */
#ifndef TB_TESTS_HELPER_PG_H
#define TB_TESTS_HELPER_PG_H

#include <stddef.h>
#include <stdint.h>

/* 1 when the test runs against PostgreSQL (TB_TEST_DB=pg), else 0. */
int helper_pg_wanted(void);

/* Creates a new empty database (from template0) with a name no other
 * call makes (tb_test_PID_COUNTER_TIME) and writes its URI, the base
 * URI with that database, to url. Returns 0, or -1 (url too small, the
 * URL file unset or missing, no connection, CREATE DATABASE refused). */
int helper_pg_newdb(char *url, size_t len);

/* Drops the database url names, ending its connections first (WITH
 * (FORCE)). Best effort, for teardown: returns 0 or -1. */
int helper_pg_dropdb(const char *url);

/* Makes the database to names a copy of the one from names (CREATE
 * DATABASE ... TEMPLATE), dropping to first if it exists: a backup taken
 * or put back, as a file copy is for SQLite. Nothing may be connected to
 * from (a server using it is stopped first). Returns 0 or -1. */
int helper_pg_copydb(const char *from, const char *to);

/* Where an in-process test keeps the server database it calls name:
 * dir/name (a SQLite file), or under TB_TEST_DB=pg the URL of a fresh
 * database made at the first call for that name (the same one after),
 * dropped when the process exits. Returns 0, or -1 (out too small, or
 * no database made: said on stderr). */
int helper_pg_db_path(char *out, size_t len, const char *dir,
		      const char *name);

/* Runs sql on url's database; its one row's first column, an integer
 * (a count, a bool cast to int, ...), goes to *out. Returns 0, or -1 when
 * the statement fails or gives no row, more than one, NULL or a
 * non-integer. */
int helper_pg_query_int64(const char *url, const char *sql, int64_t *out);

/* A cluster of its own for a program outside ctest (bench/): runs
 * `bash SCRIPT start DIR` (scripts/pg-cluster.sh; durable 1: with
 * TB_PG_DURABLE=1, fsync and synchronous_commit on), its output in
 * DIR.out, and sets TB_TEST_PG_URL_FILE to DIR/url so helper_pg_newdb
 * makes databases in it. Before starting it forks a watchdog that runs
 * `SCRIPT stop DIR` when this process ends, however it ends (its pipe
 * closes; SIGINT and SIGTERM do not reach it), so the cluster never
 * outlives the program. 0, or -1 (said on stderr; the watchdog still
 * stops whatever half started). One cluster per process. */
int helper_pg_cluster_start(const char *script, const char *dir, int durable);

/* Stops the cluster of helper_pg_cluster_start now and waits for it;
 * nothing when none was started. Safe to call more than once. */
void helper_pg_cluster_stop(void);

#endif
