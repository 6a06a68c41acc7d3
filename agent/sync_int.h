/* sync_int.h - what agent/sync.c and agent/sync_link.c share: one batch
 * in flight and the state of a pass. Internal to the sync engine.
 */
#ifndef TB_AGENT_SYNC_INT_H
#define TB_AGENT_SYNC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/http.h"
#include "agent/store.h"
#include "agent/sync.h"
#include "protocol/batch.h"

#define GAP_RECOVERIES_MAX 3 /* 409s tolerated in one pass */
#define RESIZED 1            /* request(): the batch must be rebuilt */

/* One batch: seq first..last (n rows; n == 0: none), its JSON (written
 * by the codec's batch writer, borrowed from w) and its gzip. */
struct batch {
	struct tb_batch_writer w;
	const char *json;
	size_t len;
	unsigned char *gz;
	size_t gzlen;
	int64_t first, last;
	size_t n;
	int64_t after; /* the cursor the server must hold before it */
};

struct ctx {
	struct tb_store *s;
	const struct tb_sync_opts *o;
	struct tb_sync_stats *st;
	struct tb_http *http;
	char *msg;
	size_t msglen;
	size_t batch_events, batch_bytes;
	size_t max_events, max_bytes; /* as configured */
	int max_tries;
	long base_ms, max_ms;
	int stopped;
	int attempt;          /* tries failed in a row */
	int failed;           /* a try failed in this pass */
	int progressed;       /* an acknowledgement moved the cursor */
	int64_t sent_through; /* as stored */
	int64_t sent_floor;   /* sent_through when the pass began */
	int64_t posted_max;   /* highest seq of this pass's POSTs that may
			       * have been stored (any outcome but 409) */
	struct tb_link_state L;
	uint64_t link_mark;   /* link bytes counted into L so far */
};

static inline int stopping(const struct ctx *c)
{
	return c->o->stop && *c->o->stop;
}

/* sync_link.c: the link's side of a pass (sync.c's top comment, "Weak
 * links"). */
void tb_sync_link_checkpoint(struct ctx *c);
/* The link state (and, error set, c->msg as the last error) to the
 * store, for `status`. */
void tb_sync_note(struct ctx *c, int error);
/* A try failed for a reason worth another; see sync_link.c. 0: try again;
 * RESIZED: with a smaller batch; else give up with rc. */
int tb_sync_try_failed(struct ctx *c, int rc, long retry_after,
		       const struct batch *b);
/* The batch size after an acknowledgement. */
void tb_sync_grow(struct ctx *c);

#endif
