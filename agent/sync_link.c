/* sync_link.c - the link's side of a sync pass: the backoff, the link
 * bytes and state kept in the store, what a failed try does to the batch
 * size and what the clerk reads about it (sync.c, "Weak links").
 *
 * Every failed try is counted and written to the store (struct
 * tb_link_state, last_error) before the wait that follows it, so `status`
 * in another window tells the truth during a long pass. The messages say
 * what the link did (http.c), how often in a row, that nothing is lost,
 * and what comes next.
 */
#include "agent/sync_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"

long tb_sync_backoff_ms(int attempt, long base_ms, long max_ms,
			long retry_after_s)
{
	long d = base_ms > 0 ? base_ms : 1;
	uint32_t r = 0;
	long wait;
	int i;

	for (i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)time(NULL) * 2654435761u;
	wait = d / 2 + (long)(r % (uint32_t)(d / 2 + 1));
	if (retry_after_s >= 0 && wait < retry_after_s * 1000)
		wait = retry_after_s * 1000;
	return wait;
}

int tb_sync_sleep(long ms, volatile sig_atomic_t *stop)
{
	while (ms > 0) {
		long step = ms < 100 ? ms : 100;
		struct timespec ts = { step / 1000, (step % 1000) * 1000000L };

		if (stop && *stop)
			return 1;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			if (stop && *stop)
				return 1;
		ms -= step;
	}
	return stop && *stop;
}

/* Adds the link bytes since the last look to the pass and the waste. */
void tb_sync_link_checkpoint(struct ctx *c)
{
	uint64_t up = 0, down = 0, total;

	if (!c->http)
		return;
	tb_http_link_bytes(c->http, &up, &down);
	total = up + down;
	if (total > c->link_mark) {
		c->L.pass_link += (int64_t)(total - c->link_mark);
		c->L.waste += (int64_t)(total - c->link_mark);
		c->st->link_bytes += total - c->link_mark;
	}
	c->link_mark = total;
}

/* The link state and the message to the store, for `status`; a failure
 * to write them is not the sync's failure (the data are not touched). */
void tb_sync_note(struct ctx *c, int error)
{
	tb_sync_link_checkpoint(c);
	tb_store_link_save(c->s, &c->L);
	if (error)
		tb_store_note_error(c->s, tb_time_now(), c->msg);
}

static int link_broke(enum tb_link_fail k)
{
	return k == TB_LINK_DROPPED || k == TB_LINK_SILENT ||
	       k == TB_LINK_SLOW;
}

/* c->msg = what happened (already there), how often, that nothing is
 * lost, and what comes next. */
static void say_next(struct ctx *c, const struct batch *b, int smaller,
		     long wait_ms)
{
	char what[TB_MSG_LEN], size[32];
	size_t n = strlen(c->msg);

	snprintf(what, sizeof(what), "%s", c->msg);
	if (c->attempt > 1 && n + 48 < sizeof(what))
		snprintf(what + n, sizeof(what) - n,
			 P_(" (%d time in a row)", " (%d times in a row)",
			    c->attempt),
			 c->attempt);
	if (b && b->n == 1 && smaller < 0)
		snprintf(c->msg, c->msglen,
			 _("%s; nothing is lost; even one event (seq %lld, %s) "
			   "does not get through this link now; giving up for "
			   "now, the next sync tries again"),
			 what, (long long)b->first,
			 tb_size_text(b->gzlen, size, sizeof(size)));
	else if (wait_ms < 0)
		snprintf(c->msg, c->msglen,
			 _("%s; nothing is lost; giving up for now, the next "
			   "sync tries again"), what);
	else if (smaller)
		snprintf(c->msg, c->msglen,
			 P_("%s; nothing is lost; sending smaller parts (%zu "
			    "event) in %ld s",
			    "%s; nothing is lost; sending smaller parts (%zu "
			    "events) in %ld s", c->batch_events),
			 what, c->batch_events, (wait_ms + 999) / 1000);
	else
		snprintf(c->msg, c->msglen,
			 _("%s; nothing is lost; trying again in %ld s"), what,
			 (wait_ms + 999) / 1000);
}

/* A try failed for a reason worth another (rc TB_ENET or TB_EAGAIN, the
 * reason in c->msg); b is the batch it carried, NULL for the cursor GET.
 * Counts it, halves the batch when the link broke under it, writes it all
 * to the store and waits. 0: try again; RESIZED: the same, with a smaller
 * batch; else rc: give up (max_tries in a row, or stopped). */
int tb_sync_try_failed(struct ctx *c, int rc, long retry_after,
		       const struct batch *b)
{
	const struct tb_http_fail *f = tb_http_fail(c->http);
	int smaller = 0;
	long wait;

	c->attempt++;
	c->failed = 1;
	c->st->failed_tries++;
	c->L.tries++;
	if (b) {
		c->L.fail_events = (int64_t)b->n;
		c->L.fail_bytes = (int64_t)b->gzlen;
	}
	if (rc == TB_ENET && b && link_broke(f->kind)) {
		smaller = b->n > 1 ? 1 : -1;
		if (b->n > 1) {
			c->batch_events = b->n / 2;
			c->batch_bytes = c->max_bytes / c->max_events *
						 c->batch_events + 4096;
			c->L.batch = (int64_t)c->batch_events;
		}
	}
	if (c->attempt >= c->max_tries || stopping(c)) {
		say_next(c, b, smaller, -1);
		tb_sync_note(c, 1);
		return rc;
	}
	wait = tb_sync_backoff_ms(c->attempt, c->base_ms, c->max_ms,
				  retry_after);
	say_next(c, b, smaller > 0, wait);
	tb_sync_note(c, 1);
	if (tb_sync_sleep(wait, c->o->stop)) {
		c->stopped = 1;
		return rc;
	}
	c->st->retries++;
	return smaller > 0 ? RESIZED : 0;
}

/* The batch after an acknowledgement: doubled while no try failed in
 * this pass, else a quarter more, never above the configured size. */
void tb_sync_grow(struct ctx *c)
{
	size_t n = c->failed ? c->batch_events + c->batch_events / 4 + 1
			     : c->batch_events * 2;

	c->batch_events = n < c->max_events ? n : c->max_events;
	c->batch_bytes = c->batch_events == c->max_events
				 ? c->max_bytes
				 : c->max_bytes / c->max_events *
						   c->batch_events + 4096;
}

