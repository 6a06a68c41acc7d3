/* sync.c - the sync engine (see sync.h for the algorithm and guarantees).
 *
 * Memory: one batch at a time. Rows stream out of SQLite into one growing
 * buffer bounded by batch_bytes, which is gzip'd and posted; the queue is
 * never loaded whole, so syncing a million events costs the same memory as
 * syncing one batch.
 *
 * "sent_through" in the store's key-value table is the highest seq this
 * agent has ever put on the wire, written before the POST. The server's
 * cursor can only be above it if the server holds sequence numbers this
 * store never sent - the store was restored from an old copy, or copied to
 * a second machine - and then nothing is uploaded: marking rows as sent on
 * the cursor's word would lose them.
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

struct buf {
	char *p;
	size_t len, cap;
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
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = tb_realloc(b->p, cap);
		if (!p)
			return TB_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

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

static int transient_status(long status)
{
	return status == 429 || status == 503 || status == 502 ||
	       status == 504 || status == 500;
}

/* One request, tried again on temporary failures. 0 with *r set when a
 * non-temporary HTTP status arrived. */
static int request(struct ctx *c, const char *path, const void *body,
		   size_t len, const struct tb_http_reply **r)
{
	int attempt, rc = TB_ENET;

	for (attempt = 1;; attempt++) {
		long retry_after = -1;

		rc = body ? tb_http_post_gzip_json(c->http, path, body, len, r)
			  : tb_http_get(c->http, path, r);
		if (rc == 0 && !transient_status((*r)->status))
			return 0;
		if (rc == 0) {
			describe_status(c, *r);
			retry_after = (*r)->retry_after;
			rc = ((*r)->status == 429 || (*r)->status == 503)
				     ? TB_EAGAIN
				     : TB_ENET;
		} else if (rc == TB_ENET) {
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

	snprintf(path, sizeof(path), "/v1/cursor?device=%s",
		 tb_store_device(c->s));
	rc = request(c, path, NULL, 0, &r);
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

static int kv_get_i64(struct tb_store *s, const char *key, int64_t *v)
{
	char *text = NULL;
	int rc = tb_store_kv_get(s, key, &text);

	*v = 0;
	if (rc == TB_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	*v = strtoll(text, NULL, 10);
	tb_free(text);
	return 0;
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

	if ((rc = kv_get_i64(c->s, "sent_through", &sent_through)) ||
	    (rc = tb_store_last_seq(c->s, &last)))
		goto store_fail;
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
	struct buf *events;
	int64_t first, last;
	size_t n;
};

static int collect_row(void *arg, int64_t seq, const char *json, size_t len)
{
	struct collect *k = arg;

	if (k->n && seq != k->last + 1)
		return 1; /* a hole: send what is consecutive */
	if (k->n && buf_add(k->events, ",", 1))
		return TB_ENOMEM;
	if (buf_add(k->events, json, len))
		return TB_ENOMEM;
	if (!k->n)
		k->first = seq;
	k->last = seq;
	k->n++;
	return 0;
}

/* Builds the next batch after `cursor` into *out (gzip). 0 with *n == 0
 * when nothing is pending. */
static int build_batch(struct ctx *c, int64_t cursor, struct buf *events,
		       unsigned char **gz, size_t *gzlen, int64_t *first,
		       int64_t *last, size_t *n)
{
	struct collect k = { events, 0, 0, 0 };
	struct buf whole = { 0 };
	char head[256];
	int hl, rc;

	events->len = 0;
	rc = tb_store_pending_each(c->s, cursor, c->batch_events,
				   c->batch_bytes, collect_row, &k, NULL, NULL);
	if (rc < 0) {
		snprintf(c->msg, c->msglen, "%s",
			 rc == TB_ENOMEM ? "out of memory"
					 : tb_store_errmsg(c->s));
		return rc;
	}
	*n = k.n;
	if (!k.n)
		return 0;
	hl = snprintf(head, sizeof(head),
		      "{\"version\":%d,\"device\":\"%s\",\"school\":\"%s\","
		      "\"first_seq\":%" PRId64 ",\"last_seq\":%" PRId64
		      ",\"events\":[",
		      TB_PROTOCOL_VERSION, tb_store_device(c->s),
		      tb_store_school(c->s), k.first, k.last);
	rc = TB_ENOMEM;
	if (buf_add(&whole, head, (size_t)hl) ||
	    buf_add(&whole, events->p, events->len) || buf_add(&whole, "]}", 2))
		goto out;
	rc = tb_gz_compress(whole.p, whole.len, 6, gz, gzlen);
	if (rc)
		goto out;
	c->st->bytes_raw += whole.len;
	*first = k.first;
	*last = k.last;
out:
	if (rc)
		snprintf(c->msg, c->msglen, "out of memory");
	tb_free(whole.p);
	return rc;
}

/* Applies a 200 reply to the batch first..last. */
static int take_ack(struct ctx *c, const struct tb_http_reply *r,
		    int64_t first, int64_t last, int64_t *cursor)
{
	struct tb_ack ack;
	char why[TB_MSG_LEN];
	int rc;

	tb_ack_init(&ack);
	rc = tb_ack_decode(r->body, r->body_len, &ack, why, sizeof(why));
	if (rc || strcmp(ack.device, tb_store_device(c->s)) != 0 ||
	    ack.committed_through < first - 1 || ack.committed_through > last) {
		snprintf(c->msg, c->msglen,
			 "the server's acknowledgement could not be used (%s)",
			 rc ? why : "it does not match the batch sent");
		rc = TB_EINVAL;
		goto out;
	}
	rc = tb_store_apply_ack(c->s, &ack);
	if (rc) {
		snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
		goto out;
	}
	c->st->sent += ack.committed_through - *cursor;
	c->st->duplicates += ack.duplicates;
	c->st->rejected += (int64_t)ack.nrejected;
	c->st->batches++;
	*cursor = ack.committed_through;
out:
	tb_ack_clear(&ack);
	return rc;
}

/* Sends batches until nothing is pending. */
static int upload(struct ctx *c, int64_t cursor)
{
	struct buf events = { 0 };
	unsigned char *gz = NULL;
	int gaps = 0, rc = 0;

	while (!stopping(c)) {
		const struct tb_http_reply *r = NULL;
		int64_t first = 0, last = 0;
		size_t gzlen = 0, n = 0;

		tb_free(gz);
		gz = NULL;
		rc = build_batch(c, cursor, &events, &gz, &gzlen, &first, &last,
				 &n);
		if (rc || n == 0)
			break;
		rc = kv_set_i64(c->s, "sent_through", last);
		if (rc) {
			snprintf(c->msg, c->msglen, "%s", tb_store_errmsg(c->s));
			break;
		}
		rc = request(c, "/v1/batches", gz, gzlen, &r);
		if (rc)
			break;
		c->st->bytes_up += gzlen;
		if (r->status == 200) {
			rc = take_ack(c, r, first, last, &cursor);
			if (rc)
				break;
			if (c->o->progress)
				c->o->progress(c->o->progress_arg, c->st);
		} else if (r->status == 413 && c->batch_events > 1) {
			c->batch_events = c->batch_events / 2;
			c->batch_bytes = c->batch_bytes / 2;
		} else if (r->status == 409 && gaps++ < GAP_RECOVERIES_MAX) {
			struct tb_error_body e;

			/* the server lost what we thought it held: resend */
			if (tb_error_decode(r->body, r->body_len, &e) != 0 ||
			    e.expected_seq < 1 || e.expected_seq > first) {
				rc = refused(c, r);
				break;
			}
			cursor = e.expected_seq - 1;
			rc = tb_store_requeue(c->s, e.expected_seq, NULL);
			if (rc) {
				snprintf(c->msg, c->msglen, "%s",
					 tb_store_errmsg(c->s));
				break;
			}
		} else {
			rc = refused(c, r);
			break;
		}
	}
	tb_free(gz);
	tb_free(events.p);
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
