/* helper_link.h - a bad link between an agent and a server: tb-faultproxy
 * (tests/tools/faultproxy.c) started in the background in front of a
 * server on 127.0.0.1, with the faults asked for, and its counts read back
 * while it runs. Used by the fault and link tests, the soak and
 * bench_link. Every wait is bounded, and a timeout says what it waited
 * for.
 */
#ifndef TB_TESTS_HELPER_LINK_H
#define TB_TESTS_HELPER_LINK_H

#include "tests/helper_proc.h"

struct helper_link {
	struct helper_proc_bg bg;
	char url[64];          /* https://127.0.0.1:PORT of the relay */
	char stats[400];       /* its --stats-file */
};

/* What crossed the link so far (see faultproxy.c): TCP payload bytes. */
struct helper_link_stats {
	long long conns, cuts, bytes, up, down, hs_bytes, handshakes, open,
		dropped;
};

/* Starts the relay in front of 127.0.0.1:port, its files in dir; args are
 * its fault options (NULL-terminated, may be NULL), --max-seconds S is
 * added (0: 600). 0, or -1 after printing why. */
int helper_link_start(struct helper_link *l, unsigned port, const char *dir,
		      const char *const *args, long max_seconds);
/* Its counts now, after waiting up to timeout_ms for no connection to be
 * in flight (so what a finished process sent is all counted). 0, or -1
 * after printing what it waited for. */
int helper_link_stats(const struct helper_link *l,
		      struct helper_link_stats *st, long timeout_ms);
/* Stops it; its final counts into st (may be NULL). 0 or -1. */
int helper_link_stop(struct helper_link *l, struct helper_link_stats *st);

#endif
