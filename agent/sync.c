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
 *
 * Weak links. A try that fails because the link broke under an upload
 * (cut, reset, silent, too slow) halves the next batch, down to one event;
 * each acknowledgement grows it again (doubling until a try failed in the
 * pass, then by a quarter), and the size that last worked is kept in the
 * store (struct tb_link_state), so the next pass starts there. Failed tries
 * in a row back off exponentially and end the pass at max_tries; each is
 * written to the store as it happens, with what the agent does next, so
 * `status` read during a pass tells the truth. The cursor GET is skipped
 * when the store holds the last acknowledged cursor: the batch then
 * carries it as a precondition (TB_HDR_AFTER) and a server that holds
 * anything else answers 409, after which the pass asks the cursor and
 * lines up as before.
 */
#include "agent/sync.h"
#include "agent/sync_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/http.h"
#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"

/* "HTTP 403 forbidden: school HB-002 is not this token's" from an error
 * body, or the raw status when the body is not ours. */
static void describe_status(struct ctx *c, const struct tb_http_reply *r)
{
	struct tb_error_body e;

	if (tb_error_decode(r->body, r->body_len, &e) == 0)
		snprintf(c->msg, c->msglen,
			 _("the server refused (HTTP %ld %s): %s"), r->status,
			 e.code, e.message);
	else
		snprintf(c->msg, c->msglen, _("the server answered HTTP %ld"),
			 r->status);
}

/* One request, tried again on temporary failures: the batch b (its POST
 * already running when started: only its outcome is collected) or, b
 * NULL, a GET of path. 0 with *r set when an answer came that is not
 * worth another try; RESIZED when the batch must be rebuilt smaller
 * first; else the error, with c->msg. */
static int request(struct ctx *c, const char *path, const struct batch *b,
		   int started, const struct tb_http_reply **r)
{
	int rc;

	for (;;) {
		long retry_after = -1;

		if (started)
			rc = tb_http_post_finish(c->http, r);
		else
			rc = b ? tb_http_post_gzip_json(c->http, path, b->gz,
							b->gzlen, b->after, r)
			       : tb_http_get(c->http, path, r);
		started = 0;
		/* every try of a POST but a 409 may have put b on the server,
		 * even one whose answer was lost before a retry got 409 */
		if (b && (rc != 0 || (*r)->status != 409) &&
		    b->last > c->posted_max)
			c->posted_max = b->last;
		if (rc == 0 && !tb_http_status_retry((unsigned)(*r)->status))
			return 0;
		if (rc == 0) {
			describe_status(c, *r);
			retry_after = (*r)->retry_after;
			rc = ((*r)->status == 429 || (*r)->status == 503)
				     ? TB_EAGAIN
				     : TB_ENET;
		} else {
			snprintf(c->msg, c->msglen, "%s",
				 tb_http_errmsg(c->http));
			if (!tb_err_retry(rc))
				return rc; /* certificate, URL, memory */
		}
		rc = tb_sync_try_failed(c, rc, retry_after, b);
		if (rc)
			return rc;
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
	rc = request(c, path, NULL, 0, &r);
	if (rc)
		return rc;
	if (r->status != 200)
		return refused(c, r);
	if (tb_cursor_decode(r->body, r->body_len, device, cursor) != 0 ||
	    strcmp(device, tb_store_device(c->s)) != 0 || *cursor < 0) {
		snprintf(c->msg, c->msglen,
			 "%s",
			 _("the server's cursor reply could not be read"));
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
			 _("the sync state in the data file is damaged (%s = "
			   "'%.40s'); nothing was uploaded"),
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
			 _("the server holds events up to sequence %lld from "
			   "this device, but this agent only ever sent up to "
			   "%lld: its data file was restored from an older "
			   "copy or copied to another machine. Nothing was "
			   "uploaded; enroll this machine as a new device"),
			 (long long)cursor, (long long)sent_through);
		return TB_ECONFLICT;
	}
	if ((rc = tb_store_requeue(c->s, cursor + 1, NULL)) ||
	    (rc = tb_store_mark_sent(c->s, cursor, NULL)))
		goto store_fail;
	c->L.acked = cursor;
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
			 rc == TB_ENOMEM ? _("out of memory")
					 : tb_store_errmsg(c->s));
		return rc;
	}
	if (b->n) {
		b->first = b->w.first_seq;
		b->last = b->w.last_seq;
		b->after = after;
	}
	return 0;
}

/* Asks the server's cursor and lines the store up with it (sync.h). */
static int resync(struct ctx *c, int64_t *cursor)
{
	int rc = get_cursor(c, cursor);

	if (rc == 0)
		rc = align(c, *cursor);
	if (rc == 0)
		c->attempt = 0;
	return rc;
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
			 _("the server's acknowledgement could not be used (%s)"),
			 rc ? why : _("it does not match the batch sent"));
		return TB_EINVAL;
	}
	return 0;
}

/* Commits an acknowledgement of b to the store and counts it. */
static int apply_ack(struct ctx *c, const struct tb_ack *ack,
		     const struct batch *b, int64_t *cursor)
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
	c->st->bytes_up += b->gzlen;
	c->st->bytes_raw += b->len;
	c->attempt = 0;
	c->L.acked = ack->committed_through;
	c->L.pass_acked += (int64_t)b->gzlen;
	if (ack->committed_through > *cursor) {
		tb_sync_link_checkpoint(c);
		c->progressed = 1;
		c->L.tries = c->L.passes = c->L.waste = 0;
		c->L.progress_at = c->L.waste_since = tb_time_now();
		c->L.fail_events = c->L.fail_bytes = 0;
	}
	*cursor = ack->committed_through;
	c->L.batch = (int64_t)c->batch_events;
	tb_sync_grow(c);
	tb_sync_note(c, 0);
	if (c->o->progress)
		c->o->progress(c->o->progress_arg, c->st);
	return 0;
}

/* Starts the POST of b in the background (sent_through first). */
static int start_post(struct ctx *c, const struct batch *b)
{
	int rc = cover_sent(c, b->last);

	if (rc == 0 &&
	    (rc = tb_http_post_start(c->http, TB_ROUTE_BATCHES, b->gz,
				     b->gzlen, b->after)) != 0)
		snprintf(c->msg, c->msglen, "%s", tb_http_errmsg(c->http));
	return rc;
}

/* A 409 to a batch: the server stored nothing of it, so its POST did not
 * put those seqs on the server, and sent_through goes back to what the
 * pass had really sent before it (see the top of this file). Without this
 * a store restored from an older copy, which skipped the cursor GET, would
 * pass align()'s check on the strength of its own bump and mark as sent
 * the new events the server never got. */
static int unsend(struct ctx *c)
{
	int64_t back = c->sent_floor > c->posted_max ? c->sent_floor
						     : c->posted_max;
	int rc;

	if (back >= c->sent_through)
		return 0;
	rc = kv_set_i64(c->s, "sent_through", back);
	if (rc) {
		snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
		return rc;
	}
	c->sent_through = back;
	return 0;
}

/* A reply other than 200 to a batch: 0 to go on from *cursor (413 halved
 * the batch; 409: the server holds something else than the precondition
 * or the batch assumed, so its cursor is asked and the store lined up
 * with it), else the error. */
static int other_reply(struct ctx *c, const struct tb_http_reply *r,
		       int64_t *cursor, int *gaps)
{
	if (r->status == 413 && c->batch_events > 1) {
		c->batch_events = c->batch_events / 2;
		c->batch_bytes = c->batch_bytes / 2;
		c->L.batch = (int64_t)c->batch_events;
		return 0;
	}
	if (r->status != 409 || (*gaps)++ >= GAP_RECOVERIES_MAX)
		return refused(c, r);
	return unsend(c) ? TB_EIO : resync(c, cursor);
}

/* A 200 to cur: its acknowledgement read and committed; next (prepared
 * when next_ok) goes out before that commit when it follows on. */
static int take_ack(struct ctx *c, const struct tb_http_reply *r,
		    const struct batch *cur, const struct batch *next,
		    int next_ok, int64_t *cursor, int *started)
{
	struct tb_ack ack;
	int rc;

	tb_ack_init(&ack);
	rc = read_ack(c, r, cur, &ack);
	if (rc == 0 && next_ok && next->n &&
	    ack.committed_through == cur->last && !stopping(c) &&
	    start_post(c, next) == 0)
		*started = 1;
	if (rc == 0)
		rc = apply_ack(c, &ack, cur, cursor);
	tb_ack_clear(&ack);
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
		int build_rc = 0;

		if (!started && (rc = start_post(c, &cur)) != 0)
			break;
		/* while cur travels: the next batch */
		if (!stopping(c))
			build_rc = build_batch(c, cur.last, &next);
		rc = request(c, TB_ROUTE_BATCHES, &cur, 1, &r);
		started = 0;
		if (rc == 0 && r->status != 200)
			rc = other_reply(c, r, &cursor, &gaps);
		else if (rc == 0)
			rc = take_ack(c, r, &cur, &next, build_rc == 0,
				      &cursor, &started);
		else if (rc == RESIZED)
			rc = 0;
		if (rc)
			break;
		if (started) {
			t = cur;
			cur = next;
			next = t;
		} else if (build_rc) {
			rc = build_rc;
		} else if (!stopping(c)) {
			rc = build_batch(c, cursor, &cur);
		}
	}
	if (started) {
		/* an error while the next batch travelled: let it land; the
		 * next pass learns from the cursor what it did */
		const struct tb_http_reply *r;

		tb_http_post_finish(c->http, &r);
		c->L.acked = -1;
	}
	batch_clear(&cur);
	batch_clear(&next);
	return rc;
}

void tb_sync_client_free(struct tb_http *h)
{
	tb_http_destroy(h);
}

static void setup(struct ctx *c, const struct tb_sync_opts *o)
{
	c->o = o;
	c->max_events = o->batch_events ? o->batch_events : 1000;
	if (c->max_events > TB_BATCH_MAX_EVENTS)
		c->max_events = TB_BATCH_MAX_EVENTS;
	c->max_bytes = o->batch_bytes ? o->batch_bytes : 512 * 1024;
	c->max_tries = o->max_tries > 0 ? o->max_tries : 8;
	c->base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 500;
	c->max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : 60000;
	/* start at the size that last worked on this link */
	c->batch_events = c->max_events;
	c->batch_bytes = c->max_bytes;
	if (c->L.batch > 0 && (size_t)c->L.batch < c->max_events) {
		c->batch_events = (size_t)c->L.batch;
		c->batch_bytes = c->max_bytes / c->max_events *
					 c->batch_events + 4096;
	}
	c->L.pass_link = c->L.pass_acked = 0;
	if (c->L.waste_since <= 0)
		c->L.waste_since = tb_time_now();
}

/* The client of the pass: the kept one (o->keep), else a new one. */
static int connect_client(struct ctx *c)
{
	const struct tb_sync_opts *o = c->o;
	struct tb_http_opts ho = { 0 };
	uint64_t up = 0, down = 0;
	int rc = 0;

	c->http = o->keep ? *o->keep : NULL;
	if (!c->http) {
		ho.base_url = o->server;
		ho.token = o->token;
		ho.ca_file = o->ca_file;
		ho.connect_timeout_ms = o->connect_timeout_ms;
		ho.low_speed_secs = o->stall_secs;
		ho.timeout_ms = o->timeout_ms;
		c->http = tb_http_create(&ho, &rc, c->msg, c->msglen);
		if (o->keep)
			*o->keep = c->http;
	}
	if (c->http)
		tb_http_link_bytes(c->http, &up, &down);
	c->link_mark = up + down;
	return c->http ? 0 : rc;
}

/* Where the upload starts: the acknowledged cursor the store holds, sent
 * as a precondition, or (none, or nothing pending: a check that the
 * server still holds what it acknowledged) the server's word. */
static int start_cursor(struct ctx *c, int64_t *cursor)
{
	int rc;

	if (c->st->total > 0 && c->L.acked >= 0) {
		*cursor = c->L.acked;
		rc = kv_get_i64(c, "sent_through", &c->sent_through);
		c->sent_floor = c->sent_through;
		return rc;
	}
	rc = resync(c, cursor);
	c->sent_floor = c->sent_through;
	return rc;
}

int tb_sync_pass(struct tb_store *s, const struct tb_sync_opts *o,
		 struct tb_sync_stats *st, char *msg, size_t msglen)
{
	struct ctx c = { 0 };
	int64_t cursor = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	msg[0] = '\0';
	c.s = s;
	c.st = st;
	c.msg = msg;
	c.msglen = msglen;
	if ((rc = tb_store_note_attempt(s, tb_time_now())) ||
	    (rc = tb_store_pending_count(s, &st->total)) ||
	    (rc = tb_store_link_load(s, &c.L))) {
		snprintf(msg, msglen, "%s", tb_store_errmsg(s));
		return rc;
	}
	setup(&c, o);
	rc = connect_client(&c);
	if (rc == 0)
		rc = start_cursor(&c, &cursor);
	if (rc == 0)
		rc = upload(&c, cursor);
	if (rc && !c.progressed)
		c.L.passes++;
	tb_sync_note(&c, 0);
	if (!o->keep)
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
