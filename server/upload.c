/* upload.c - POST /v1/batches from headers to acknowledgement (upload.h).
 *
 * State per request: the device the token speaks for, a gzip stream fed
 * with each piece of body, the bytes seen, and a deferred refusal (status
 * and message) when something went wrong mid-body: MHD does not let a
 * response be queued while body data is being handed over, so the rest of
 * the body is read and dropped, and the refusal is sent at the end.
 */
#include "server/upload.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "server/auth.h"
#include "server/merge.h"
#include "server/metrics.h"
#include "protocol/wire.h"
#include "server/dbpool.h"
#include "server/sql.h"

#define DRAIN_MAX (2 * (size_t)TB_BODY_MAX)

struct tally_slot {
	int64_t token_id;
	long n;
};

struct tb_upload_tally {
	pthread_mutex_t lock;
	long max, per_token, total;
	struct tally_slot *slots; /* max of them; n == 0 is free */
};

struct tb_upload {
	const struct tb_upload_env *env;
	struct tb_gz_stream *gz;
	size_t received;
	int counted;
	unsigned fail_status;
	char fail_msg[TB_MSG_LEN];
	struct timespec t0;
	struct tb_principal who;
	int64_t after;   /* Tienbo-After, -1 when absent */
	char summary[TB_MSG_LEN + 64];
};

struct tb_upload_tally *tb_upload_tally_create(long max, long per_token)
{
	struct tb_upload_tally *t = tb_calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->slots = tb_calloc((size_t)(max > 0 ? max : 1), sizeof(*t->slots));
	if (!t->slots) {
		tb_free(t);
		return NULL;
	}
	t->max = max > 0 ? max : 1;
	t->per_token = per_token > 0 ? per_token : 1;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void tb_upload_tally_destroy(struct tb_upload_tally *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	tb_free(t->slots);
	tb_free(t);
}

/* Takes a place for token_id: 0, or the refusal status 429 / 503. */
static unsigned tally_take(struct tb_upload_tally *t, int64_t token_id)
{
	struct tally_slot *mine = NULL, *free_slot = NULL;
	unsigned status = 0;
	long i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->max && !mine; i++) {
		if (t->slots[i].n > 0 && t->slots[i].token_id == token_id)
			mine = &t->slots[i];
		else if (t->slots[i].n == 0 && !free_slot)
			free_slot = &t->slots[i];
	}
	if (mine && mine->n >= t->per_token) {
		status = 429;
	} else if (t->total >= t->max) {
		status = 503;
	} else {
		if (!mine) {
			mine = free_slot; /* total < max: one is free */
			/* slots in use <= total < max, so the scan found one.
			 * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
			mine->token_id = token_id;
		}
		mine->n++;
		t->total++;
	}
	pthread_mutex_unlock(&t->lock);
	return status;
}

static void tally_give(struct tb_upload_tally *t, int64_t token_id)
{
	long i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->max; i++) {
		if (t->slots[i].n > 0 && t->slots[i].token_id == token_id) {
			t->slots[i].n--;
			t->total--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
}

struct tb_upload *tb_upload_create(const struct tb_upload_env *env)
{
	struct tb_upload *u = tb_calloc(1, sizeof(*u));

	if (u) {
		u->env = env;
		clock_gettime(CLOCK_MONOTONIC, &u->t0);
	}
	return u;
}

/* Gives the upload's place in flight back. Done as soon as the answer is
 * queued, not when MHD reports the request complete: a client that got its
 * ack may send the next batch before that report comes. */
static void release(struct tb_upload *u)
{
	if (u->counted)
		tally_give(u->env->tally, u->who.token_id);
	u->counted = 0;
}

void tb_upload_destroy(struct tb_upload *u)
{
	if (!u)
		return;
	release(u);
	tb_gz_stream_destroy(u->gz);
	tb_free(u);
}

const char *tb_upload_summary(const struct tb_upload *u)
{
	return u ? u->summary : "";
}

static void fail(struct tb_upload *u, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct tb_upload *u, unsigned status, const char *fmt, ...)
{
	va_list ap;

	if (u->fail_status)
		return;
	u->fail_status = status;
	va_start(ap, fmt);
	vsnprintf(u->fail_msg, sizeof(u->fail_msg), fmt, ap);
	va_end(ap);
	tb_gz_stream_destroy(u->gz); /* give back up to TB_INFLATE_MAX now */
	u->gz = NULL;
}

/* Compares a header's media type (before any ';', blanks trimmed). */
static int header_is(struct MHD_Connection *c, const char *name,
		     const char *want)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	size_t len, wlen = strlen(want);

	if (!v)
		return 0;
	while (*v == ' ' || *v == '\t')
		v++;
	len = strcspn(v, ";");
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return len == wlen && strncasecmp(v, want, len) == 0;
}

/* The cursor precondition (TB_HDR_AFTER, PROTOCOL.md): *after = its
 * value, or -1 when absent. 0 if malformed (not a whole number
 * 0..TB_SEQ_MAX). */
static int read_after(struct MHD_Connection *c, int64_t *after)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    TB_HDR_AFTER);
	char *end = NULL;
	long long n;

	*after = -1;
	if (!v)
		return 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v < '0' || *v > '9')
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || !end)
		return 0;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end || n < 0 || n > TB_SEQ_MAX)
		return 0;
	*after = (int64_t)n;
	return 1;
}

/* 1 if a Content-Length header is present and over TB_BODY_MAX. */
static int too_long(struct MHD_Connection *c, unsigned long long *n)
{
	const char *v = MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end = NULL;

	if (!v)
		return 0;
	errno = 0;
	*n = strtoull(v, &end, 10);
	if (errno || end == v)
		return 0; /* MHD itself refuses a malformed length */
	return *n > (unsigned long long)TB_BODY_MAX;
}

int tb_upload_auth(const struct tb_upload_env *env, struct MHD_Connection *c,
		   struct tb_principal *who, enum MHD_Result *ret)
{
	const struct tb_resp_env *re = &env->resp;
	char buf[128];
	const char *token = tb_resp_bearer(c, buf, sizeof(buf));
	struct tb_sql *db;
	int rc;

	if (!token) {
		*ret = tb_resp_error(c, re, 401, NULL, "missing bearer token",
				     -1, 1);
		return 0;
	}
	db = tb_dbpool_conn(env->pool);
	if (!db) {
		*ret = tb_resp_error(c, re, 503, NULL, "database unavailable",
				     -1, 1);
		return 0;
	}
	rc = tb_auth_device(db, token, who);
	if (rc == TB_EAUTH)
		*ret = tb_resp_error(c, re, 401, NULL,
				     "unknown or revoked token", -1, 1);
	else if (rc < 0)
		*ret = tb_resp_error(c, re, 503, NULL, "database busy", -1, 1);
	return rc == TB_OK;
}

int tb_upload_begin(struct tb_upload *u, struct MHD_Connection *c,
		    enum MHD_Result *ret)
{
	const struct tb_resp_env *re = &u->env->resp;
	unsigned long long len = 0;
	unsigned refused;

	if (!tb_upload_auth(u->env, c, &u->who, ret))
		return 0;
	if (!header_is(c, MHD_HTTP_HEADER_CONTENT_TYPE, TB_MEDIA_JSON)) {
		*ret = tb_resp_error(c, re, 415, NULL,
				     "Content-Type must be application/json",
				     -1, 1);
		return 0;
	}
	if (!header_is(c, MHD_HTTP_HEADER_CONTENT_ENCODING, TB_ENCODING_GZIP)) {
		*ret = tb_resp_error(c, re, 415, NULL,
				     "Content-Encoding must be gzip", -1, 1);
		return 0;
	}
	if (!read_after(c, &u->after)) {
		*ret = tb_resp_error(c, re, 400, NULL,
				     TB_HDR_AFTER " must be a whole number "
				     "0..9007199254740991 (the cursor the "
				     "client expects)", -1, 1);
		return 0;
	}
	if (too_long(c, &len)) {
		char msg[TB_MSG_LEN];

		snprintf(msg, sizeof(msg), "body of %llu bytes is over the "
			 "limit of %d", len, TB_BODY_MAX);
		*ret = tb_resp_error(c, re, 413, NULL, msg, -1, 1);
		return 0;
	}
	refused = tally_take(u->env->tally, u->who.token_id);
	if (refused) {
		*ret = tb_resp_error(c, re, refused, NULL, refused == 429
				     ? "too many uploads in flight from this device"
				     : "server busy: too many uploads in flight",
				     -1, 1);
		return 0;
	}
	u->counted = 1;
	u->gz = tb_gz_stream_create(TB_INFLATE_MAX);
	if (!u->gz) {
		*ret = tb_resp_error(c, re, 503, NULL, "out of memory", -1, 1);
		return 0;
	}
	return 1;
}

enum MHD_Result tb_upload_feed(struct tb_upload *u, const char *data,
			       size_t len)
{
	struct timespec now;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (u->env->upload_timeout_s > 0 &&
	    now.tv_sec - u->t0.tv_sec > u->env->upload_timeout_s) {
		snprintf(u->summary, sizeof(u->summary), "school=%s cut: still "
			 "sending after %lds", u->who.school,
			 u->env->upload_timeout_s);
		return MHD_NO;
	}
	u->received += len;
	if (!u->fail_status && u->received > (size_t)TB_BODY_MAX)
		fail(u, 413, "body is over the limit of %d bytes", TB_BODY_MAX);
	if (u->fail_status)
		return u->received > DRAIN_MAX ? MHD_NO : MHD_YES;
	rc = tb_gz_stream_feed(u->gz, data, len);
	if (rc == TB_ETOOBIG)
		fail(u, 413, "body inflates past the limit of %d bytes",
		     TB_INFLATE_MAX);
	else if (rc == TB_EINVAL)
		fail(u, 400, "body is not valid gzip");
	else if (rc < 0)
		fail(u, 503, "out of memory");
	return MHD_YES;
}

/* Inflated body into *json; 0, or a refusal recorded with fail(). */
static int finish_inflate(struct tb_upload *u, unsigned char **json,
			  size_t *len)
{
	int rc = tb_gz_stream_finish(u->gz, json, len);

	if (rc == TB_EINVAL)
		fail(u, 400, "body is truncated or not valid gzip");
	else if (rc == TB_ETOOBIG)
		fail(u, 413, "body inflates past the limit of %d bytes",
		     TB_INFLATE_MAX);
	else if (rc < 0)
		fail(u, 503, "out of memory");
	return rc;
}

static int finish_decode(struct tb_upload *u, struct tb_batch *b)
{
	unsigned char *json = NULL;
	char msg[TB_MSG_LEN] = "";
	size_t len = 0;
	int rc;

	rc = finish_inflate(u, &json, &len);
	if (rc < 0)
		return rc;
	rc = tb_batch_decode((const char *)json, len, b, msg, sizeof(msg));
	tb_free(json);
	if (rc == TB_EINVAL)
		fail(u, 400, "%s", msg[0] ? msg : "malformed batch");
	else if (rc == TB_ETOOBIG)
		fail(u, 413, "%s", msg[0] ? msg : "batch too large");
	else if (rc < 0)
		fail(u, 503, "out of memory");
	else if (!tb_uuid_valid(b->device))
		fail(u, 400, "device: not a valid uuid");
	return u->fail_status ? TB_EINVAL : TB_OK;
}

static enum MHD_Result finish_merge(struct tb_upload *u,
				    struct MHD_Connection *c,
				    struct tb_batch *b)
{
	const struct tb_resp_env *re = &u->env->resp;
	struct tb_merge_result res;
	struct tb_merge_prep prep;
	struct tb_ack ack;
	struct timespec t0;
	char *body = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	int rc;

	tb_ack_init(&ack);
	/* Bodies and hashes first, outside the lock. */
	if (tb_merge_prepare(b, &prep) < 0) {
		ret = tb_resp_error(c, re, 503, NULL, "out of memory", -1, 0);
		goto out;
	}
	if (tb_dbpool_write_begin(u->env->pool, u->env->busy_timeout_ms) < 0) {
		ret = tb_resp_error(c, re, 503, NULL, "the database is busy",
				    -1, 0);
		goto out;
	}
	prep.after = u->after;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = tb_merge_batch_prepared(tb_dbpool_conn(u->env->pool), &u->who, b,
				     &prep, &ack, &res);
	tb_dbpool_write_end(u->env->pool);
	if (rc == TB_OK && res.status == 200)
		tb_metrics_merge(&ack, &t0); /* committed */
	if (rc == TB_EAGAIN) {
		ret = tb_resp_error(c, re, 503, NULL, "the database is busy",
				    -1, 0);
	} else if (rc < 0) {
		ret = tb_resp_errorf(c, re, 500, "could not store the batch: %s",
				     res.message);
	} else if (res.status != 200) {
		ret = tb_resp_error(c, re, (unsigned)res.status, res.error,
				    res.message, res.expected_seq, 0);
	} else if (tb_ack_encode(&ack, &body, &len) < 0) {
		/* Committed but not acknowledged: a retry gets duplicates. */
		ret = tb_resp_error(c, re, 503, NULL, "out of memory", -1, 0);
	} else {
		ret = tb_resp_body(c, 200, body, len, NULL);
		snprintf(u->summary, sizeof(u->summary),
			 "school=%s seq=%lld..%lld accepted=%lld duplicates=%lld "
			 "rejected=%zu", b->school, (long long)b->first_seq,
			 (long long)b->last_seq, (long long)ack.accepted,
			 (long long)ack.duplicates, ack.nrejected);
	}
out:
	tb_merge_prep_clear(&prep);
	tb_ack_clear(&ack);
	return ret;
}

enum MHD_Result tb_upload_finish(struct tb_upload *u, struct MHD_Connection *c)
{
	struct tb_batch b;
	enum MHD_Result ret;

	tb_batch_init(&b);
	if (!u->fail_status && u->received == 0)
		fail(u, 400, "empty body");
	if (!u->fail_status && finish_decode(u, &b) == TB_OK)
		ret = finish_merge(u, c, &b);
	else
		ret = tb_resp_error(c, &u->env->resp, u->fail_status, NULL,
				    u->fail_msg, -1, 0);
	if (u->fail_status)
		snprintf(u->summary, sizeof(u->summary), "school=%s refused: %s",
			 u->who.school, u->fail_msg);
	tb_batch_clear(&b);
	release(u);
	return ret;
}
