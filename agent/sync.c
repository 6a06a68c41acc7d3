/* sync.c - the sync engine (see sync.h for the algorithm and guarantees).
 *
 * Memory: two batches at a time. Rows stream out of SQLite into a growing
 * buffer bounded by batch_bytes, which is gzip'd and posted; the queue is
 * never loaded whole, so syncing a million events costs the same memory as
 * syncing two batches.
 *
 * Overlap. While batch k travels and the server merges it (its POST runs on
 * a thread of the HTTP client, tb_http_post_start), this thread reads and
 * compresses batch k+1. When k's acknowledgement arrives, k+1 is posted at
 * once and k's acknowledgement is committed to the store while k+1
 * travels. The server still sees one batch at a time per device, in seq
 * order (it answers a batch that arrives before its predecessor committed
 * with 409); only the agent's own work is hidden behind the server's.
 * Anything unusual (a retry, 409, 413, a stop) drops the prepared batch and
 * goes on one request at a time from the server's word.
 *
 * "sent_through" in the store's key-value table bounds what this agent may
 * have put on the wire: it is written before a POST whose last seq is above
 * it (as the store's last seq then, so one write covers a whole pass). The
 * server's cursor can only be above it if the server holds sequence
 * numbers this store never sent - the store was restored from an old copy,
 * or copied to a second machine - and then nothing is uploaded: marking
 * rows as sent on the cursor's word would lose them. align() checks this
 * before anything of the pass is written.
 */
#include "agent/sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "agent/http.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"

#define GAP_RECOVERIES_MAX 3 /* 409s tolerated in one pass */

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
};

struct ctx {
	struct tb_store *s;
	const struct tb_sync_opts *o;
	struct tb_sync_stats *st;
	struct tb_http *http;
	char *msg;
	size_t msglen;
	size_t batch_events, batch_bytes;
	int max_tries;
	long base_ms, max_ms;
	int stopped;
	int64_t sent_through; /* as stored */
};

static int stopping(const struct ctx *c)
{
	return c->o->stop && *c->o->stop;
}

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

/* "HTTP 403 forbidden: school HB-002 is not this token's" from an error
 * body, or the raw status when the body is not ours. */
static void describe_status(struct ctx *c, const struct tb_http_reply *r)
{
	struct tb_error_body e;

	if (tb_error_decode(r->body, r->body_len, &e) == 0)
		snprintf(c->msg, c->msglen, "the server refused (HTTP %ld %s): %s",
			 r->status, e.code, e.message);
	else
		snprintf(c->msg, c->msglen, "the server answered HTTP %ld",
			 r->status);
}

/* One request, tried again on temporary failures. 0 with *r set when a
 * non-temporary HTTP status arrived. started: the first try is the POST
 * already running (tb_http_post_start); only its outcome is collected. */
static int request(struct ctx *c, const char *path, const void *body,
		   size_t len, int started, const struct tb_http_reply **r)
{
	int attempt, rc = TB_ENET;

	for (attempt = 1;; attempt++) {
		long retry_after = -1;

		if (attempt == 1 && started)
			rc = tb_http_post_finish(c->http, r);
		else
			rc = body ? tb_http_post_gzip_json(c->http, path, body,
							   len, r)
				  : tb_http_get(c->http, path, r);
		if (rc == 0 && !tb_http_status_retry((unsigned)(*r)->status))
			return 0;
		if (rc == 0) {
			describe_status(c, *r);
			retry_after = (*r)->retry_after;
			rc = ((*r)->status == 429 || (*r)->status == 503)
				     ? TB_EAGAIN
				     : TB_ENET;
		} else if (tb_err_retry(rc)) {
			snprintf(c->msg, c->msglen, "%s",
				 tb_http_errmsg(c->http));
		} else {
			snprintf(c->msg, c->msglen, "%s",
				 tb_http_errmsg(c->http));
			return rc; /* permanent: certificate, URL, memory */
		}
		if (attempt >= c->max_tries)
			return rc;
		c->st->retries++;
		if (tb_sync_sleep(tb_sync_backoff_ms(attempt, c->base_ms,
						     c->max_ms, retry_after),
				  c->o->stop)) {
			c->stopped = 1;
			return rc;
		}
	}
}

static int refused(struct ctx *c, const struct tb_http_reply *r)
{
	describe_status(c, r);
	if (r->status == 401 || r->status == 403)
		return TB_EAUTH;
	return TB_EINVAL;
}

static int get_cursor(struct ctx *c, int64_t *cursor)
{
	const struct tb_http_reply *r = NULL;
	char path[128], device[TB_ID_LEN];
	int rc;

	snprintf(path, sizeof(path),
		 TB_ROUTE_CURSOR "?" TB_ROUTE_CURSOR_QUERY "=%s",
		 tb_store_device(c->s));
	rc = request(c, path, NULL, 0, 0, &r);
	if (rc)
		return rc;
	if (r->status != 200)
		return refused(c, r);
	if (tb_cursor_decode(r->body, r->body_len, device, cursor) != 0 ||
	    strcmp(device, tb_store_device(c->s)) != 0 || *cursor < 0) {
		snprintf(c->msg, c->msglen,
			 "the server's cursor reply could not be read");
		return TB_EINVAL;
	}
	return 0;
}

/* A whole number >= 0 kept under key; 0 when there is none. A value that
 * does not read back whole is damage, not 0: taken as 0, sent_through
 * would make align() tell the clerk to enroll the machine anew. */
static int kv_get_i64(struct ctx *c, const char *key, int64_t *v)
{
	char *text = NULL, *end = NULL;
	int rc = tb_store_kv_get(c->s, key, &text);
	long long n;

	*v = 0;
	if (rc == TB_ENOTFOUND)
		return 0;
	if (rc) {
		snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
		return rc;
	}
	errno = 0;
	n = strtoll(text, &end, 10);
	if (end == text || *end || errno || n < 0) {
		snprintf(c->msg, c->msglen,
			 "the sync state in the data file is damaged (%s = "
			 "'%.40s'); nothing was uploaded",
			 key, text);
		rc = TB_EIO;
	}
	*v = rc ? 0 : (int64_t)n;
	tb_free(text);
	return rc;
}

static int kv_set_i64(struct tb_store *s, const char *key, int64_t v)
{
	char text[32];

	snprintf(text, sizeof(text), "%" PRId64, v);
	return tb_store_kv_set(s, key, text);
}

/* Lines the store up with the server's cursor (see sync.h, step 1). */
static int align(struct ctx *c, int64_t cursor)
{
	int64_t sent_through, last;
	int rc;

	if ((rc = kv_get_i64(c, "sent_through", &sent_through)))
		return rc;
	if ((rc = tb_store_last_seq(c->s, &last)))
		goto store_fail;
	c->sent_through = sent_through;
	if (cursor > sent_through || cursor > last) {
		snprintf(c->msg, c->msglen,
			 "the server holds events up to sequence %" PRId64
			 " from this device, but this agent only ever sent up "
			 "to %" PRId64 ": its data file was restored from an "
			 "older copy or copied to another machine. Nothing was "
			 "uploaded; enroll this machine as a new device",
			 cursor, sent_through);
		return TB_ECONFLICT;
	}
	if ((rc = tb_store_requeue(c->s, cursor + 1, NULL)) ||
	    (rc = tb_store_mark_sent(c->s, cursor, NULL)))
		goto store_fail;
	return 0;
store_fail:
	snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
	return rc;
}

struct collect {
	struct tb_batch_writer *w;
	int64_t first, last;
	size_t n;
};

static int collect_row(void *arg, const struct tb_event *e, size_t len)
{
	struct collect *k = arg;

	if (k->n && e->seq != k->last + 1)
		return 1; /* a hole: send what is consecutive */
	if (tb_batch_writer_add(k->w, e))
		return TB_ENOMEM;
	if (!k->n)
		k->first = e->seq;
	k->last = e->seq;
	k->n++;
	return 0;
}

static void batch_clear(struct batch *b)
{
	tb_batch_writer_cleanup(&b->w);
	tb_free(b->gz);
	memset(b, 0, sizeof(*b));
}

/* Builds the next batch after `after` into b (its memory reused, its old
 * gzip freed): the rows streamed from the store into the codec's batch
 * writer, the whole gzip'd. 0 with b->n == 0 when nothing is pending. */
int tb_sync_build_batch(struct tb_store *s, int64_t after, size_t max_events,
			size_t max_bytes, struct tb_batch_writer *w,
			const char **json, size_t *len, size_t *n)
{
	struct collect k = { w, 0, 0, 0 };
	int rc;

	*json = NULL;
	*len = 0;
	*n = 0;
	rc = tb_batch_writer_begin(w, tb_store_device(s), tb_store_school(s));
	if (rc == 0)
		rc = tb_store_pending_each(s, after, max_events, max_bytes,
					   collect_row, &k, NULL, NULL);
	if (rc < 0)
		return rc;
	if (!k.n)
		return 0;
	rc = tb_batch_writer_finish(w, json, len);
	if (rc == 0)
		*n = k.n;
	return rc;
}

static int build_batch(struct ctx *c, int64_t after, struct batch *b)
{
	int rc;

	tb_free(b->gz);
	b->gz = NULL;
	b->gzlen = 0;
	b->n = 0;
	rc = tb_sync_build_batch(c->s, after, c->batch_events, c->batch_bytes,
				 &b->w, &b->json, &b->len, &b->n);
	if (rc == 0 && b->n)
		rc = tb_gz_compress(b->json, b->len, 6, &b->gz, &b->gzlen);
	if (rc < 0) {
		b->n = 0;
		snprintf(c->msg, c->msglen, "%s",
			 rc == TB_ENOMEM ? "out of memory"
					 : tb_store_errmsg(c->s));
		return rc;
	}
	if (b->n) {
		b->first = b->w.first_seq;
		b->last = b->w.last_seq;
	}
	return 0;
}

/* Before a POST ending at `last`: makes sure sent_through covers it (see
 * the top of this file). */
static int cover_sent(struct ctx *c, int64_t last)
{
	int64_t top = 0;
	int rc;

	if (last <= c->sent_through)
		return 0;
	rc = tb_store_last_seq(c->s, &top);
	if (rc == 0)
		rc = kv_set_i64(c->s, "sent_through", top > last ? top : last);
	if (rc) {
		snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
		return rc;
	}
	c->sent_through = top > last ? top : last;
	return 0;
}

/* Reads a 200 reply to the batch b into ack (the caller clears it). */
static int read_ack(struct ctx *c, const struct tb_http_reply *r,
		    const struct batch *b, struct tb_ack *ack)
{
	char why[TB_MSG_LEN];
	int rc = tb_ack_decode(r->body, r->body_len, ack, why, sizeof(why));

	if (rc || strcmp(ack->device, tb_store_device(c->s)) != 0 ||
	    ack->committed_through < b->first - 1 ||
	    ack->committed_through > b->last) {
		snprintf(c->msg, c->msglen,
			 "the server's acknowledgement could not be used (%s)",
			 rc ? why : "it does not match the batch sent");
		return TB_EINVAL;
	}
	return 0;
}

/* Commits an acknowledgement to the store and counts it. */
static int apply_ack(struct ctx *c, const struct tb_ack *ack, int64_t *cursor)
{
	int rc = tb_store_apply_ack(c->s, ack);

	if (rc) {
		snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
		return rc;
	}
	c->st->sent += ack->committed_through - *cursor;
	c->st->duplicates += ack->duplicates;
	c->st->rejected += (int64_t)ack->nrejected;
	c->st->batches++;
	*cursor = ack->committed_through;
	if (c->o->progress)
		c->o->progress(c->o->progress_arg, c->st);
	return 0;
}

/* Starts the POST of b in the background (sent_through first). */
static int start_post(struct ctx *c, const struct batch *b)
{
	int rc = cover_sent(c, b->last);

	if (rc == 0 && (rc = tb_http_post_start(c->http, TB_ROUTE_BATCHES, b->gz,
						b->gzlen)) != 0)
		snprintf(c->msg, c->msglen, "%s", tb_http_errmsg(c->http));
	return rc;
}

/* A reply other than 200 to the batch b: 0 to go on from *cursor (413
 * halved the batch, 409 moved the cursor back), else the error. */
static int other_reply(struct ctx *c, const struct tb_http_reply *r,
		       const struct batch *b, int64_t *cursor, int *gaps)
{
	struct tb_error_body e;
	int rc;

	if (r->status == 413 && c->batch_events > 1) {
		c->batch_events = c->batch_events / 2;
		c->batch_bytes = c->batch_bytes / 2;
		return 0;
	}
	if (r->status != 409 || (*gaps)++ >= GAP_RECOVERIES_MAX)
		return refused(c, r);
	/* the server lost what we thought it held: resend */
	if (tb_error_decode(r->body, r->body_len, &e) != 0 ||
	    e.expected_seq < 1 || e.expected_seq > b->first)
		return refused(c, r);
	*cursor = e.expected_seq - 1;
	rc = tb_store_requeue(c->s, e.expected_seq, NULL);
	if (rc)
		snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
	return rc;
}

/* Sends batches until nothing is pending (see "Overlap" at the top).
 * cur is the batch whose POST is running (started) or to be sent; next is
 * prepared behind it while it travels. */
static int upload(struct ctx *c, int64_t cursor)
{
	struct batch cur = { 0 }, next = { 0 }, t;
	int gaps = 0, started = 0, rc;

	rc = build_batch(c, cursor, &cur);
	while (rc == 0 && cur.n && (started || !stopping(c))) {
		const struct tb_http_reply *r = NULL;
		struct tb_ack ack;
		int build_rc = 0;

		if (!started && (rc = start_post(c, &cur)) != 0)
			break;
		/* while cur travels: the next batch */
		if (!stopping(c))
			build_rc = build_batch(c, cur.last, &next);
		rc = request(c, TB_ROUTE_BATCHES, cur.gz, cur.gzlen, 1, &r);
		started = 0;
		if (rc)
			break;
		c->st->bytes_up += cur.gzlen;
		c->st->bytes_raw += cur.len;
		if (r->status != 200) {
			rc = other_reply(c, r, &cur, &cursor, &gaps);
			if (rc == 0)
				rc = build_batch(c, cursor, &cur);
			continue;
		}
		tb_ack_init(&ack);
		rc = read_ack(c, r, &cur, &ack);
		/* next goes out before cur's ack is committed */
		if (rc == 0 && build_rc == 0 && next.n &&
		    ack.committed_through == cur.last && !stopping(c) &&
		    start_post(c, &next) == 0)
			started = 1;
		if (rc == 0)
			rc = apply_ack(c, &ack, &cursor);
		tb_ack_clear(&ack);
		if (rc)
			break;
		if (started) {
			t = cur;
			cur = next;
			next = t;
		} else if (build_rc) {
			rc = build_rc;
		} else if (stopping(c)) {
			break;
		} else {
			rc = build_batch(c, cursor, &cur);
		}
	}
	if (started) {
		/* an error while the next batch travelled: let it land; the
		 * next pass learns from the cursor what it did */
		const struct tb_http_reply *r;

		tb_http_post_finish(c->http, &r);
	}
	batch_clear(&cur);
	batch_clear(&next);
	return rc;
}

int tb_sync_pass(struct tb_store *s, const struct tb_sync_opts *o,
		 struct tb_sync_stats *st, char *msg, size_t msglen)
{
	struct tb_http_opts ho = { 0 };
	struct ctx c = { 0 };
	int64_t cursor = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	msg[0] = '\0';
	c.s = s;
	c.o = o;
	c.st = st;
	c.msg = msg;
	c.msglen = msglen;
	c.batch_events = o->batch_events ? o->batch_events : 1000;
	if (c.batch_events > TB_BATCH_MAX_EVENTS)
		c.batch_events = TB_BATCH_MAX_EVENTS;
	c.batch_bytes = o->batch_bytes ? o->batch_bytes : 512 * 1024;
	c.max_tries = o->max_tries > 0 ? o->max_tries : 5;
	c.base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 500;
	c.max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : 60000;

	if ((rc = tb_store_note_attempt(s, tb_time_now())) ||
	    (rc = tb_store_pending_count(s, &st->total))) {
		snprintf(msg, msglen, "%s", tb_store_errmsg(s));
		return rc;
	}
	ho.base_url = o->server;
	ho.token = o->token;
	ho.ca_file = o->ca_file;
	ho.connect_timeout_ms = o->connect_timeout_ms;
	ho.timeout_ms = o->timeout_ms;
	c.http = tb_http_create(&ho, &rc, msg, msglen);
	if (!c.http)
		goto done;
	rc = get_cursor(&c, &cursor);
	if (rc == 0)
		rc = align(&c, cursor);
	if (rc == 0)
		rc = upload(&c, cursor);
done:
	tb_http_destroy(c.http);
	if (tb_store_pending_count(s, &st->remaining) != 0)
		st->remaining = -1;
	if (rc == 0 && !c.stopped)
		tb_store_note_success(s, tb_time_now());
	else if (rc != 0)
		tb_store_note_error(s, tb_time_now(), msg);
	if (c.stopped && rc != 0)
		rc = 0; /* stopped while waiting to retry: not a failure */
	return rc;
}
