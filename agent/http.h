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
 * with a plain-words reason in tb_http_errmsg() that says what the link
 * did (never connected, dropped in the handshake, dropped N KB into an
 * upload, went silent, too slow), not libcurl's wording alone, and the
 * same as a class in tb_http_fail() for the sync engine to act on.
 *
 * Bytes on the link are counted at the TCP level (TCP_INFO of each socket
 * the client opens, read after every request and before every close), so
 * the TLS handshakes, the headers and every resent byte are in them - what
 * a school's mobile data plan pays for.
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

/* What the link did when a request failed (tb_http_fail). */
enum tb_link_fail {
	TB_LINK_OK = 0,
	TB_LINK_NO_CONNECT, /* the server's address could not be reached */
	TB_LINK_HANDSHAKE,  /* connected, dropped before TLS was up */
	TB_LINK_DROPPED,    /* dropped while the request or reply travelled */
	TB_LINK_SILENT,     /* no byte arrived for low_speed_secs */
	TB_LINK_SLOW,       /* the whole request took longer than timeout_ms */
	TB_LINK_OTHER,      /* certificate, URL, memory: not the link */
};

struct tb_http_fail {
	enum tb_link_fail kind;
	uint64_t body_sent;   /* request body bytes that left before it */
	uint64_t body_len;    /* the request body's length (0: a GET) */
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
/* POST a gzip-compressed JSON body (borrowed) to base_url + path; with
 * after >= 0 the request carries the cursor precondition header
 * (TB_HDR_AFTER, PROTOCOL.md). */
int tb_http_post_gzip_json(struct tb_http *h, const char *path,
			   const void *body, size_t len, int64_t after,
			   const struct tb_http_reply **reply);
/* The same POST, in the background: starts it on a thread of its own and
 * returns at once, so the caller can work (read the next batch, commit the
 * last acknowledgement) while the request travels and the server works.
 * path is copied; body is borrowed and must stay as it is until
 * tb_http_post_finish. One request at a time per client: no other call on
 * h until finish (destroy waits for it). The thread takes no signals.
 * 0, or TB_ENOMEM when it could not start (nothing was sent). */
int tb_http_post_start(struct tb_http *h, const char *path, const void *body,
		       size_t len, int64_t after);
/* Waits for the request started above and returns what
 * tb_http_post_gzip_json would have; TB_EINVAL if none was started. */
int tb_http_post_finish(struct tb_http *h, const struct tb_http_reply **reply);
/* Why the last request failed; "" after a success. */
const char *tb_http_errmsg(const struct tb_http *h);
/* How the last request failed (kind TB_LINK_OK after a success). */
const struct tb_http_fail *tb_http_fail(const struct tb_http *h);
/* TCP payload bytes sent and received on every connection of h since it
 * was created (retransmissions included). */
void tb_http_link_bytes(const struct tb_http *h, uint64_t *sent,
			uint64_t *received);

#endif
