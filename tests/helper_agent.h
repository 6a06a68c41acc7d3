/* helper_agent.h - what the agent's end-to-end tests share: a sandbox
 * with an initialised agent, running the real binary in it, and checks
 * on what it printed and stored.
 *
 * Header only (static functions), included after <cmocka.h> by
 * tests/test_agent_cli.c and tests/test_agent_import.c, because the checks
 * fail through cmocka's fail_msg, which the helper library does not link.
 */
#ifndef TB_TESTS_HELPER_AGENT_H
#define TB_TESTS_HELPER_AGENT_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "tests/helper_proc.h"

struct fx {
	struct helper_proc_sandbox sb;
	struct helper_proc_opts o;
	char db[400];
	char device[TB_ID_LEN];
};

/* Runs the agent with the sandbox's environment. */
#define AGENT(f, r, ...) \
	helper_proc_runl((r), &(f)->o, TB_AGENT_BIN, __VA_ARGS__, NULL)

static inline void expect_exit(const struct helper_proc_result *r, int code)
{
	if (!r->exited || r->exit_code != code)
		fail_msg("exit %d (signal %d), wanted %d\nstdout: %s\nstderr: %s",
			 r->exit_code, r->signal, code, r->out, r->err);
}

static inline void expect_err(const struct helper_proc_result *r,
			      const char *part)
{
	if (!strstr(r->err, part))
		fail_msg("stderr lacks \"%s\":\n%s", part, r->err);
}

/* A sandbox, no agent in it yet. */
static inline int setup_bare(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || helper_proc_sandbox_make(&f->sb) != 0)
		return -1;
	f->o.env = f->sb.env;
	f->o.timeout_ms = 20000;
	snprintf(f->db, sizeof(f->db), "%s/agent.db", f->sb.data);
	*state = f;
	return 0;
}

/* A sandbox with an agent set up by `init` (token token). */
static inline int setup_agent(void **state, const char *token)
{
	struct fx *f;

	if (setup_bare(state) != 0)
		return -1;
	f = *state;
	return helper_proc_sandbox_agent(&f->sb, token, f->device);
}

static inline int teardown(void **state)
{
	struct fx *f = *state;

	helper_proc_sandbox_remove(&f->sb);
	free(f);
	return 0;
}

/* One integer from the store file, -1 if the query gives none. */
static inline long long sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static inline long long rows(struct fx *f)
{
	return sql_int(f->db, "SELECT count(*) FROM queue");
}

#endif
