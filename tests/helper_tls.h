/* helper_tls.h - a raw client for the server under test: a TCP connection
 * to 127.0.0.1, TLS on top of it (GnuTLS, the test CA verified, a chosen
 * priority string) or not, and bytes sent exactly as given, malformed
 * ones included. For the hostile-input tests, which need requests that
 * libcurl will not send: broken request lines, 10,000 headers, a body
 * trickled one byte at a time, plain HTTP to the HTTPS port, an old TLS
 * version.
 *
 * Linked into every test executable; every symbol starts helper_tls_.
 * Loopback only. Every call is bounded in time; nothing aborts, the
 * caller asserts on the results.
 */
#ifndef TB_TESTS_HELPER_TLS_H
#define TB_TESTS_HELPER_TLS_H

#include <stddef.h>

struct helper_tls;

/* What came back on a connection. */
struct helper_tls_reply {
	long status;       /* of a leading "HTTP/1.x NNN" line; 0 if none */
	char *data;        /* every byte read, NUL-terminated, malloc'd */
	size_t len;
	const char *body;  /* into data, after the first blank line; or NULL */
	size_t body_len;
	int closed;        /* the server ended the connection (EOF, reset,
			    * TLS alert or close) */
	int timed_out;     /* still open at the deadline */
	long ms;           /* how long the read waited */
};

/* Connects to 127.0.0.1:port. ca NULL: plain TCP, no TLS. Otherwise a TLS
 * handshake verifying the server against ca (for 127.0.0.1) with the
 * GnuTLS priority string priority (NULL: "NORMAL"). Returns the
 * connection, or NULL with *why set: -1 no TCP connection, -2 the
 * handshake failed (its GnuTLS message goes to msg). */
struct helper_tls *helper_tls_open(unsigned port, const char *ca,
				   const char *priority, int *why, char *msg,
				   size_t msglen);
/* Sends n bytes. 0, or -1 once the server has gone (later sends are
 * no-ops returning -1). */
int helper_tls_send(struct helper_tls *t, const void *p, size_t n);
/* Reads until the server ends the connection or timeout_ms pass; fills r
 * (free it with helper_tls_reply_free). 0, or -1 when out of memory. */
int helper_tls_read(struct helper_tls *t, int timeout_ms,
		    struct helper_tls_reply *r);
/* Closes (no TLS bye: the tests want abrupt ends too). NULL is fine. */
void helper_tls_close(struct helper_tls *t);
void helper_tls_reply_free(struct helper_tls_reply *r);

/* open, send all, read, close. 0, or the open's *why (r->closed is then
 * set and r->data is "": nothing came back). */
int helper_tls_exchange(unsigned port, const char *ca, const void *req,
			size_t n, int timeout_ms, struct helper_tls_reply *r);

#endif
