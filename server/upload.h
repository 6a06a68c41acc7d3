/* upload.h - POST /v1/batches: one upload from its headers to its ack.
 *
 * Called by server/https.c's access handler: tb_upload_begin with the
 * headers, tb_upload_feed for every piece of body MHD hands over,
 * tb_upload_finish when the body is complete. The body never sits in
 * memory compressed: each piece goes straight into a tb_gz_stream capped at
 * TB_INFLATE_MAX. Checks, in order: 401 (token), 415 (Content-Type
 * application/json and Content-Encoding gzip), 413 (Content-Length over
 * TB_BODY_MAX), 429 (this token has device_uploads in flight already),
 * 503 (max_uploads in flight in all); then while reading
 * 413 (streamed bytes over TB_BODY_MAX, inflated bytes over the cap) and
 * 400 (not gzip); at the end 400/413 from tb_batch_decode, 503 when the
 * write lock or the database stays busy, and the outcome of tb_merge_batch
 * (200 ack, 401, 403, 409). A refusal found mid-body is answered once the
 * body has been read (and discarded) up to twice TB_BODY_MAX; past that the
 * connection is cut, as it is when the body is still arriving
 * upload_timeout_s after the headers (MHD's own timeout only catches a
 * connection that goes silent, not one that trickles). Nothing of a refused batch is stored.
 */
#ifndef TB_SERVER_UPLOAD_H
#define TB_SERVER_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "server/resp.h"

struct tb_dbpool;
struct tb_upload;
struct tb_upload_tally;

struct tb_upload_env {
	struct tb_resp_env resp;
	struct tb_dbpool *pool;
	long busy_timeout_ms;  /* wait this long for the write lock */
	long upload_timeout_s; /* an upload still sending after this is cut */
	struct tb_upload_tally *tally; /* uploads in flight, shared */
};

/* The count of uploads in flight, in all and per token: at most max in
 * all (else 503) and per_token for one token (else 429). Thread-safe.
 * NULL on TB_ENOMEM. */
struct tb_upload_tally *tb_upload_tally_create(long max, long per_token);
void tb_upload_tally_destroy(struct tb_upload_tally *t);

struct tb_principal;

/* Checks the request's device token the way an upload does (used for the
 * cursor too). 1 with *who filled, or 0 with a 401/503 queued (*ret). */
int tb_upload_auth(const struct tb_upload_env *env, struct MHD_Connection *c,
		   struct tb_principal *who, enum MHD_Result *ret);
/* A new upload state; NULL on TB_ENOMEM. */
struct tb_upload *tb_upload_create(const struct tb_upload_env *env);
/* Checks the headers. Returns 1 when the body should be read, 0 when a
 * response has been queued (*ret is what the handler returns). */
int tb_upload_begin(struct tb_upload *u, struct MHD_Connection *c,
		    enum MHD_Result *ret);
/* One piece of body. MHD_YES to go on, MHD_NO to cut the connection. */
enum MHD_Result tb_upload_feed(struct tb_upload *u, const char *data,
			       size_t len);
/* The body is complete: decode, merge, queue the answer. */
enum MHD_Result tb_upload_finish(struct tb_upload *u,
				 struct MHD_Connection *c);
/* A short description for the access log ("school=HB-001 seq=1..20
 * accepted=20 duplicates=0 rejected=0"). */
const char *tb_upload_summary(const struct tb_upload *u);
/* Releases the in-flight slot and everything held. Accepts NULL. */
void tb_upload_destroy(struct tb_upload *u);

#endif
