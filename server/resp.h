/* resp.h - queuing the server's HTTP responses on a libmicrohttpd
 * connection: JSON bodies, and the JSON error body of PROTOCOL.md for every
 * 4xx/5xx ({"status":..,"error":..,"message":..[,"expected_seq":..]}),
 * with Retry-After on 429 and 503, WWW-Authenticate on 401 and Allow on
 * 405. Called by server/https.c, server/upload.c and server/admin.c from the
 * access handler. Every function returns what the access handler should
 * return (MHD_NO only if the response could not be queued).
 */
#ifndef TB_SERVER_RESP_H
#define TB_SERVER_RESP_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* What the error responses need to know about the server. */
struct tb_resp_env {
	long retry_after; /* seconds, for 429 and 503 */
};

/* The wire code of a status: 400 "bad_request", 401 "unauthorized", ...
 * "internal" for anything unlisted. Static storage. */
const char *tb_resp_code(unsigned status);

/* Queues body (tb_malloc'd; ownership passes here, freed with tb_free even
 * on failure) with Content-Type ctype ("application/json" if NULL). */
enum MHD_Result tb_resp_body(struct MHD_Connection *c, unsigned status,
			     char *body, size_t len, const char *ctype);
/* The same for a body from plain malloc (open_memstream), freed with free. */
enum MHD_Result tb_resp_body_libc(struct MHD_Connection *c, unsigned status,
				  char *body, size_t len, const char *ctype);
/* The same as a file to save: Content-Disposition: attachment;
 * filename="filename" (which must hold no '"', '\\' or control byte). */
enum MHD_Result tb_resp_download_libc(struct MHD_Connection *c,
				      unsigned status, char *body, size_t len,
				      const char *ctype, const char *filename);
/* Adds that Content-Disposition header to a response being built. */
void tb_resp_attachment(struct MHD_Response *r, const char *filename);
/* Queues the error body. code NULL = tb_resp_code(status); expected_seq < 0
 * leaves it out. close: ask the client to close the connection. */
enum MHD_Result tb_resp_error(struct MHD_Connection *c,
			      const struct tb_resp_env *env, unsigned status,
			      const char *code, const char *message,
			      int64_t expected_seq, int close);
/* 405 with an Allow header listing `allow` ("GET, HEAD") for path. */
enum MHD_Result tb_resp_not_allowed(struct MHD_Connection *c,
				    const char *allow, const char *path);
/* The same with a printf-style message. */
enum MHD_Result tb_resp_errorf(struct MHD_Connection *c,
			       const struct tb_resp_env *env, unsigned status,
			       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Queues a response built by the caller (extra headers) with status and
 * destroys it, noting the status for the access log. */
enum MHD_Result tb_resp_queue(struct MHD_Connection *c, unsigned status,
			      struct MHD_Response *r);

/* The status of the last response queued by this thread (0 if none since
 * the last call), so the access log can show it. Resets it to 0. */
unsigned tb_resp_take_status(void);
/* The message of the last error answer with a status of 401, 403 or 5xx
 * queued by this thread by tb_resp_error, copied into buf ("" if none
 * since the last call), so the access log can say why. Resets it. */
void tb_resp_take_reason(char *buf, size_t len);
/* Sets that message for an answer queued another way (a dashboard page
 * that says why it failed). */
void tb_resp_set_reason(const char *why);

/* The token of an "Authorization: Bearer <token>" header (borrowed from
 * MHD, valid for the request), or NULL when absent or another scheme.
 * Leading and trailing blanks around the token are skipped by copying into
 * buf (buflen bytes); an over-long value yields "" (never valid). */
const char *tb_resp_bearer(struct MHD_Connection *c, char *buf, size_t buflen);

#endif
