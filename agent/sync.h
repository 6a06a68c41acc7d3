/* sync.h - the agent's sync engine: moves pending revisions from the store
 * to tienbo-server in gzip batches, exactly once.
 *
 * Called by `tienbo-agent sync` (one pass) and `tienbo-agent run` (a loop
 * of passes). One pass:
 *  1. The cursor C: the one the store last saw acknowledged, sent with the
 *     first batch as a precondition (PROTOCOL.md, Tienbo-After); without
 *     one (after init), with nothing pending, or after a 409, it asks
 *     GET /v1/cursor: the server's committed_through C for this device is
 *     the truth. Rows after C that the store thinks were sent go back to
 *     pending (a server restored from backup); pending rows at or before C
 *     are marked sent (an ack that was lost when the link died after the
 *     server's commit). So a cut upload resumes at C + 1, never from zero,
 *     and never sends what the server already holds.
 *  2. While rows are pending: stream up to batch_events rows / batch_bytes
 *     after C (oldest first) into one batch (encoded by the codec from the
 *     stored rows: protocol/batch.h), gzip it,
 *     POST it, and apply the acknowledgement in one store transaction
 *     (rejections with their reasons, then sent through committed_through).
 *     C = committed_through. The server gets one batch at a time, in seq
 *     order; the agent prepares the next one while a batch travels, and
 *     posts it before committing the last acknowledgement (sync.c).
 * Every request that fails for a temporary reason (no route, timeout, cut
 * connection, 429, 503, 5xx) is tried again up to max_tries times in a
 * row, waiting an exponentially growing delay with jitter, or the server's
 * Retry-After when it gives one (whichever is longer). A link that breaks
 * under an upload (cut, silent, too slow) or a 413 halves the batch, down
 * to one event; acknowledgements grow it back, and the size that worked is
 * kept in the store for the next pass (struct tb_link_state, which also
 * counts the failed tries, passes and bytes since the last progress for
 * `status`; every failed try is written there as it happens). A 401 or
 * 403, an untrusted certificate, or a 400 are not retried: they need a
 * person. The stop flag is looked at between batches and while waiting; a
 * batch already sent is finished first, so stopping loses nothing.
 */
#ifndef TB_AGENT_SYNC_H
#define TB_AGENT_SYNC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/store.h"

struct tb_sync_stats {
	int64_t total;       /* rows pending when the pass started */
	int64_t sent;        /* rows acknowledged in this pass */
	int64_t duplicates;  /* of those, rows the server already held */
	int64_t rejected;    /* of those, rows the server refused */
	int64_t remaining;   /* rows still pending at the end */
	int64_t batches;     /* batches acknowledged */
	int64_t retries;     /* requests tried again */
	int64_t failed_tries; /* tries that failed */
	uint64_t bytes_up;   /* gzip bytes of the batches acknowledged */
	uint64_t bytes_raw;  /* JSON bytes before compression */
	uint64_t link_bytes; /* TCP bytes both ways: handshakes, headers,
			      * failed tries and all */
};

struct tb_http;

struct tb_sync_opts {
	const char *server;        /* https://host:port */
	const char *token;
	const char *ca_file;       /* NULL or "": system trust store */
	size_t batch_events;       /* 0: 1000 */
	size_t batch_bytes;        /* raw JSON per batch; 0: 512 KiB */
	int max_tries;             /* failed tries in a row; 0: 8 */
	long backoff_base_ms;      /* 0: 500 */
	long backoff_max_ms;       /* 0: 60000 */
	long connect_timeout_ms;   /* 0: 10 s */
	long stall_secs;           /* no byte moving this long: the link is
				    * taken as down; 0: 30 */
	long timeout_ms;           /* per request; 0: 120 s */
	volatile sig_atomic_t *stop; /* may be NULL */
	/* Called after each acknowledged batch (may be NULL). */
	void (*progress)(void *arg, const struct tb_sync_stats *st);
	void *progress_arg;
	/* NULL: a client (connection, TLS session) per pass. Else the pass
	 * uses *keep, made on first use and left for the next pass, so `run`
	 * keeps its connection while the link holds; the caller destroys it
	 * (tb_sync_client_free). */
	struct tb_http **keep;
};

void tb_sync_client_free(struct tb_http *h);

/* One pass (see above). Returns 0 when nothing is left pending (or the
 * stop flag was raised between batches: then st->remaining > 0), else
 *   TB_ENET     the server could not be reached in max_tries
 *   TB_EAGAIN   the server stayed overloaded (429/503) in max_tries
 *   TB_EAUTH    401/403 or an untrusted certificate
 *   TB_EINVAL   the server refused a batch as malformed (400)
 *   TB_ECONFIG  bad server URL or CA file
 *   TB_EIO / TB_ENOMEM  local trouble
 * with msg in plain words. The outcome is also noted in the store
 * (last attempt, last success or last error) for `status`. */
int tb_sync_pass(struct tb_store *s, const struct tb_sync_opts *o,
		 struct tb_sync_stats *st, char *msg, size_t msglen);

/* Builds the body of the next batch after seq `after`: the pending rows
 * (at most max_events, and max_bytes of encoding, at least one) streamed
 * out of the store into the codec's batch writer w (protocol/batch.h,
 * begun here; its memory is reused across calls, the caller cleans it up
 * with tb_batch_writer_cleanup). *json / *len are borrowed from w until
 * the next call; *n is the number of events, 0 when nothing is pending.
 * Stops at a hole in the seqs (sends what is consecutive). 0, TB_ENOMEM,
 * TB_EIO (store errmsg). This is exactly the body tb_sync_pass posts
 * (gzip'd). */
int tb_sync_build_batch(struct tb_store *s, int64_t after, size_t max_events,
			size_t max_bytes, struct tb_batch_writer *w,
			const char **json, size_t *len, size_t *n);

/* The wait before try number `attempt` (1 = first retry): uniformly
 * random in [d/2, d] with d = min(max_ms, base_ms * 2^(attempt-1)), and
 * never below retry_after_s seconds when that is >= 0. */
long tb_sync_backoff_ms(int attempt, long base_ms, long max_ms,
			long retry_after_s);

/* Sleeps ms milliseconds, waking early when *stop becomes non-zero.
 * Returns 1 if stopped. */
int tb_sync_sleep(long ms, volatile sig_atomic_t *stop);

#endif
