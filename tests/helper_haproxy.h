/* helper_haproxy.h - Debian's HAProxy in front of several tienbo-server
 * instances, run with packaging/haproxy-tienbo.cfg itself (the config
 * the README points to, not a copy): its placeholders filled in as its
 * comment says, `haproxy -c` asked first, then `haproxy -db` (foreground)
 * started in the background with its log in dir/haproxy.err. Used by the
 * PostgreSQL soak (tests/test_soak.c, TB_TEST_DB=pg).
 *
 * Every wait is bounded and a failure says what it waited for. Functions
 * return 0 or -1 (after printing why) and never abort.
 */
#ifndef TB_TESTS_HELPER_HAPROXY_H
#define TB_TESTS_HELPER_HAPROXY_H

#include "tests/helper_proc.h"

#define HELPER_HAPROXY_BIN "/usr/sbin/haproxy"

struct helper_haproxy {
	struct helper_proc_bg bg; /* bg.pid 0 when not running */
	char cfg[400];            /* dir/haproxy.cfg, the filled-in copy */
	unsigned port;            /* its frontend on 127.0.0.1 */
	char url[64];             /* https://127.0.0.1:PORT */
};

/* Fills the config for the two instances on 127.0.0.1:port1 and :port2
 * and a frontend on a free port below the ephemeral range, checks it
 * with `haproxy -c`, starts HAProxy and waits up to 10 s for its
 * frontend to accept a TCP connection (another port, up to 5 tries, when
 * the bind fails). 0 or -1. */
int helper_haproxy_start(struct helper_haproxy *h, const char *dir,
			 unsigned port1, unsigned port2);
/* How many times needle (e.g. " is DOWN") occurs in its log (stdout;
 * the same lines' [WARNING] copies on stderr are not counted). */
int helper_haproxy_count(const struct helper_haproxy *h, const char *needle);
/* SIGTERM, then SIGKILL after 10 s. 0 when it had been running. */
int helper_haproxy_stop(struct helper_haproxy *h);

#endif
