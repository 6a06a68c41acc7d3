/* http.h - the agent's HTTPS client: a thin wrapper over one libcurl easy
 * handle, reused across requests so a sync pays for one TLS handshake.
 *
 * Called by the sync engine only. Certificate verification is always on:
 * there is no option to turn it off, and a CA file (ca_file) replaces the
 * system's trust store when given. Only https:// URLs are accepted; a
 * redirect is never followed.
 *
 * A request returns 0 when an HTTP response arrived (any status: the caller
 * reads it), or, when none did:
 *   TB_ENET     the peer could not be reached or the transfer broke
 *               (connect refused, timeout, reset, cut mid-body) - retryable
 *   TB_EAUTH    the TLS peer could not be verified (unknown CA, wrong host
 *               name, expired) - permanent: never retried, never bypassed
 *   TB_ECONFIG  bad URL or unreadable CA file
 *   TB_ENOMEM
 * with a plain-words reason in tb_http_errmsg().
 */
#ifndef TB_AGENT_HTTP_H
#define TB_AGENT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define TB_HTTP_REPLY_MAX (1024 * 1024) /* longest reply body we keep */

struct tb_http_opts {
	const char *base_url;     /* "https://host:port", copied */
	const char *token;        /* device token, copied; NULL: no auth */
	const char *ca_file;      /* NULL: the system trust store */
	long connect_timeout_ms;  /* 0: 10 s */
	long timeout_ms;          /* whole request; 0: 120 s */
	long low_speed_secs;      /* abort below 1 byte/s for this long; 0: 30 */
};

struct tb_http_reply {
	long status;              /* HTTP status */
	char *body;               /* NUL-terminated, owned by the client */
	size_t body_len;
	long retry_after;         /* seconds from Retry-After, or -1 */
	uint64_t bytes_up;        /* request body bytes sent */
	uint64_t bytes_down;      /* response body bytes received */
};

struct tb_http;

/* NULL on TB_ENOMEM or TB_ECONFIG; *rc and msg say which. */
struct tb_http *tb_http_create(const struct tb_http_opts *o, int *rc,
			       char *msg, size_t msglen);
void tb_http_destroy(struct tb_http *h);

/* GET base_url + path. The reply is owned by h and valid until the next
 * request or destroy. */
int tb_http_get(struct tb_http *h, const char *path,
		const struct tb_http_reply **reply);
/* POST a gzip-compressed JSON body (borrowed) to base_url + path. */
int tb_http_post_gzip_json(struct tb_http *h, const char *path,
			   const void *body, size_t len,
			   const struct tb_http_reply **reply);
/* The same POST, in the background: starts it on a thread of its own and
 * returns at once, so the caller can work (read the next batch, commit the
 * last acknowledgement) while the request travels and the server works.
 * path is copied; body is borrowed and must stay as it is until
 * tb_http_post_finish. One request at a time per client: no other call on
 * h until finish (destroy waits for it). The thread takes no signals.
 * 0, or TB_ENOMEM when it could not start (nothing was sent). */
int tb_http_post_start(struct tb_http *h, const char *path, const void *body,
		       size_t len);
/* Waits for the request started above and returns what
 * tb_http_post_gzip_json would have; TB_EINVAL if none was started. */
int tb_http_post_finish(struct tb_http *h, const struct tb_http_reply **reply);
/* Why the last request failed; "" after a success. */
const char *tb_http_errmsg(const struct tb_http *h);

#endif
