/* helper_tls.c - a raw TCP / TLS client for hostile-input tests (see
 * helper_tls.h). GnuTLS, because the server side of the project already
 * links it; sends go through send(MSG_NOSIGNAL) so a server that hangs up
 * mid-request cannot kill the test with SIGPIPE.
 */
#include "tests/helper_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct helper_tls {
	int fd;
	int gone;                       /* a send failed: the server left */
	gnutls_session_t s;             /* NULL: plain TCP */
	gnutls_certificate_credentials_t cred;
};

static long ht_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static ssize_t ht_push(gnutls_transport_ptr_t p, const void *data, size_t n)
{
	return send((int)(intptr_t)p, data, n, MSG_NOSIGNAL);
}

static int ht_tcp(unsigned port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int ht_handshake(struct helper_tls *t, const char *ca,
			const char *priority, char *msg, size_t msglen)
{
	int rc;

	if (gnutls_certificate_allocate_credentials(&t->cred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(t->cred, ca,
						   GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_init(&t->s, GNUTLS_CLIENT) < 0) {
		snprintf(msg, msglen, "cannot set up a TLS client with %s", ca);
		return -1;
	}
	rc = gnutls_priority_set_direct(t->s, priority ? priority : "NORMAL",
					NULL);
	if (rc < 0) {
		snprintf(msg, msglen, "priority %s: %s", priority,
			 gnutls_strerror(rc));
		return -1;
	}
	gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->cred);
	gnutls_session_set_verify_cert(t->s, "127.0.0.1", 0);
	gnutls_transport_set_int(t->s, t->fd);
	gnutls_transport_set_push_function(t->s, ht_push);
	gnutls_handshake_set_timeout(t->s, 10000);
	do {
		rc = gnutls_handshake(t->s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		snprintf(msg, msglen, "%s", gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

struct helper_tls *helper_tls_open(unsigned port, const char *ca,
				   const char *priority, int *why, char *msg,
				   size_t msglen)
{
	struct helper_tls *t = calloc(1, sizeof(*t));

	if (msg && msglen)
		msg[0] = '\0';
	*why = -1;
	if (!t)
		return NULL;
	t->fd = ht_tcp(port);
	if (t->fd < 0) {
		free(t);
		return NULL;
	}
	if (ca && ht_handshake(t, ca, priority, msg, msglen) != 0) {
		*why = -2;
		helper_tls_close(t);
		return NULL;
	}
	*why = 0;
	return t;
}

int helper_tls_send(struct helper_tls *t, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0 && !t->gone) {
		ssize_t k = t->s ? gnutls_record_send(t->s, c, n)
				 : send(t->fd, c, n, MSG_NOSIGNAL);

		if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED ||
		    (k < 0 && !t->s && errno == EINTR))
			continue;
		if (k <= 0) {
			t->gone = 1;
			break;
		}
		c += k;
		n -= (size_t)k;
	}
	return t->gone ? -1 : 0;
}

/* One read of at most n bytes, waiting at most ms: > 0 bytes, 0 the
 * server ended the connection, -1 nothing yet. */
static ssize_t ht_recv(struct helper_tls *t, char *buf, size_t n, long ms)
{
	ssize_t k;

	if (t->s) {
		gnutls_record_set_timeout(t->s, (unsigned)(ms > 0 ? ms : 1));
		k = gnutls_record_recv(t->s, buf, n);
		if (k == GNUTLS_E_TIMEDOUT || k == GNUTLS_E_AGAIN ||
		    k == GNUTLS_E_INTERRUPTED)
			return -1;
		return k > 0 ? k : 0; /* EOF, alert, reset, bad record */
	} else {
		struct pollfd p = { t->fd, POLLIN, 0 };

		if (poll(&p, 1, (int)(ms > 0 ? ms : 1)) <= 0)
			return -1;
		k = recv(t->fd, buf, n, 0);
		if (k < 0 && errno == EINTR)
			return -1;
		return k > 0 ? k : 0;
	}
}

static void ht_parse(struct helper_tls_reply *r)
{
	const char *end;

	if (r->len >= 12 && strncmp(r->data, "HTTP/1.", 7) == 0 &&
	    r->data[8] == ' ')
		r->status = strtol(r->data + 9, NULL, 10);
	end = strstr(r->data, "\r\n\r\n");
	if (end) {
		r->body = end + 4;
		r->body_len = r->len - (size_t)(r->body - r->data);
	}
}

int helper_tls_read(struct helper_tls *t, int timeout_ms,
		    struct helper_tls_reply *r)
{
	long t0 = ht_now_ms(), left;
	size_t cap = 4096;

	memset(r, 0, sizeof(*r));
	r->data = malloc(cap);
	if (!r->data)
		return -1;
	r->data[0] = '\0';
	while ((left = timeout_ms - (ht_now_ms() - t0)) > 0) {
		char buf[16384];
		ssize_t k = ht_recv(t, buf, sizeof(buf), left);

		if (k == 0) {
			r->closed = 1;
			break;
		}
		if (k < 0)
			continue;
		if (r->len + (size_t)k + 1 > cap) {
			char *p;

			while (r->len + (size_t)k + 1 > cap)
				cap *= 2;
			p = realloc(r->data, cap);
			if (!p)
				return -1;
			r->data = p;
		}
		memcpy(r->data + r->len, buf, (size_t)k);
		r->len += (size_t)k;
		r->data[r->len] = '\0';
	}
	r->timed_out = !r->closed;
	r->ms = ht_now_ms() - t0;
	ht_parse(r);
	return 0;
}

void helper_tls_close(struct helper_tls *t)
{
	if (!t)
		return;
	if (t->s)
		gnutls_deinit(t->s);
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

void helper_tls_reply_free(struct helper_tls_reply *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

int helper_tls_exchange(unsigned port, const char *ca, const void *req,
			size_t n, int timeout_ms, struct helper_tls_reply *r)
{
	char msg[256];
	int why;
	struct helper_tls *t = helper_tls_open(port, ca, NULL, &why, msg,
					       sizeof(msg));

	if (!t) {
		memset(r, 0, sizeof(*r));
		r->data = calloc(1, 1);
		r->closed = 1;
		return why;
	}
	helper_tls_send(t, req, n); /* a refusal may come before the end */
	helper_tls_read(t, timeout_ms, r);
	helper_tls_close(t);
	return 0;
}
