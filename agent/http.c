/* http.c - libcurl wrapper for the sync engine (see http.h).
 *
 * One easy handle per client keeps the connection (and its TLS session)
 * alive between batches. Reply bodies are collected into a buffer that
 * refuses to grow past TB_HTTP_REPLY_MAX, so a hostile or broken server
 * cannot make the agent allocate without bound.
 *
 * libcurl is loaded with dlopen() the first time a client is created, not
 * linked into tienbo-agent: libcurl and the ~35 libraries it pulls in (an
 * OpenSSL, LDAP, Kerberos, ...) cost about 6 MB of resident memory and a
 * few milliseconds at every start, and `record`, `list` or `import` - most
 * runs of the agent, on old office PCs - never touch the network. Only the
 * nine functions below are used; they are called through the table `cu`.
 *
 * Bytes on the link: libcurl hands every socket it opens to on_socket and
 * every close to on_close; TCP_INFO's byte counters of the open socket are
 * read after each request and just before each close (link_account), so a
 * connection that was cut is counted up to its last byte.
 *
 * Lean requests, for 2G links: no Accept, no Expect: 100-continue (a
 * round trip spent waiting), and with OpenSSL no ClientHello padding
 * extension (about 200 bytes that only help middleboxes on the open web;
 * libcurl sets SSL_OP_ALL, which asks for it).
 *
 * tb_http_post_start runs the same POST on a thread of its own, with every
 * signal blocked there, so SIGTERM still reaches the caller's thread (and
 * cuts its sleeps short). The caller does not touch the client until
 * tb_http_post_finish has joined that thread.
 */
#include "agent/http.h"

#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"
#include "protocol/wire.h"

#define TB_LIBCURL_SONAME "libcurl.so.4"
#define TB_LIBSSL_SONAME "libssl.so.3"
#define TB_SSL_OP_TLSEXT_PADDING 0x10u /* OpenSSL's SSL_OP_TLSEXT_PADDING */

static struct {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLcode (*global_init)(long);
	curl_version_info_data *(*version_info)(CURLversion);
	/* OpenSSL's SSL_CTX_clear_options, when libcurl runs on it */
	uint64_t (*ssl_clear_options)(void *, uint64_t);
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static char cu_error[256];

/* SSL_CTX_clear_options from the libssl libcurl already loaded, only when
 * libcurl says its TLS library is OpenSSL (the sslctx it hands to
 * CURLOPT_SSL_CTX_FUNCTION is then an SSL_CTX). */
static void load_openssl(void)
{
	const curl_version_info_data *v = cu.version_info(CURLVERSION_NOW);
	void *ssl, *f;

	if (!v || !v->ssl_version || strncmp(v->ssl_version, "OpenSSL/3", 9) != 0)
		return;
	ssl = dlopen(TB_LIBSSL_SONAME, RTLD_NOW | RTLD_NOLOAD);
	if (!ssl)
		return;
	f = dlsym(ssl, "SSL_CTX_clear_options");
	if (f)
		memcpy(&cu.ssl_clear_options, &f, sizeof(f));
	/* libcurl keeps libssl loaded: f stays valid without our reference */
	dlclose(ssl);
}

static void load_curl(void)
{
	void *lib = dlopen(TB_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	struct {
		const char *name;
		void **slot;
	} syms[] = {
		{ "curl_easy_init", (void **)&cu.easy_init },
		{ "curl_easy_setopt", (void **)&cu.easy_setopt },
		{ "curl_easy_perform", (void **)&cu.easy_perform },
		{ "curl_easy_getinfo", (void **)&cu.easy_getinfo },
		{ "curl_easy_cleanup", (void **)&cu.easy_cleanup },
		{ "curl_easy_strerror", (void **)&cu.easy_strerror },
		{ "curl_slist_append", (void **)&cu.slist_append },
		{ "curl_slist_free_all", (void **)&cu.slist_free_all },
		{ "curl_global_init", (void **)&cu.global_init },
		{ "curl_version_info", (void **)&cu.version_info },
	};
	size_t i;

	if (!lib) {
		snprintf(cu_error, sizeof(cu_error),
			 _("cannot load libcurl (%s): install Debian's "
			   "libcurl4 package"),
			 dlerror());
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		/* POSIX: a void * from dlsym may be converted to a function
		 * pointer; the copy through memcpy keeps -Wpedantic quiet */
		void *f = dlsym(lib, syms[i].name);

		if (!f) {
			snprintf(cu_error, sizeof(cu_error),
				 _("libcurl lacks %s"), syms[i].name);
			memset(&cu, 0, sizeof(cu));
			return; /* the library stays loaded: harmless */
		}
		memcpy(syms[i].slot, &f, sizeof(f));
	}
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(cu_error, sizeof(cu_error),
			 "%s", _("libcurl could not initialise"));
		memset(&cu, 0, sizeof(cu));
		return;
	}
	load_openssl();
}

struct tb_http {
	CURL *curl;
	char *base_url;
	char *ca_file;
	/* every request's headers: "Authorization: Bearer ...", "Accept:" */
	struct curl_slist *auth_header;
	struct tb_http_reply reply;   /* reply.body is body.p */
	struct tb_buf body;
	int overflow;
	char errbuf[CURL_ERROR_SIZE];
	char msg[512];
	struct tb_http_fail failed;
	size_t body_len;              /* of the request in flight */
	long timeout_ms, connect_timeout_ms, low_speed_secs;
	/* the socket in use and what TCP_INFO said of it last */
	int fd;
	uint64_t fd_sent, fd_recv;
	uint64_t link_sent, link_recv;
	/* the request of tb_http_post_start */
	pthread_t bg;
	int bg_running, bg_rc;
	char *bg_path;
	const void *bg_body;
	size_t bg_len;
	int64_t bg_after;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct tb_http *h = arg;
	size_t len = size * n;

	if (h->body.len + len > TB_HTTP_REPLY_MAX) {
		h->overflow = 1;
		return 0; /* aborts the transfer */
	}
	if (tb_buf_add(&h->body, data, len) != TB_OK)
		return 0;
	h->reply.body = h->body.p;
	h->reply.body_len = h->body.len;
	return len;
}

/* Retry-After as delay-seconds (the form tienbo-server sends). An HTTP-date
 * is read as "soon": 1 s, which the caller's backoff then stretches. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct tb_http *h = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	size_t i;

	if (len <= sizeof(name) - 1)
		return len;
	for (i = 0; i < sizeof(name) - 1; i++)
		if (tolower((unsigned char)data[i]) != name[i])
			return len;
	{
		char buf[32];
		size_t vlen = len - i;
		char *end;
		long v;

		if (vlen >= sizeof(buf))
			vlen = sizeof(buf) - 1;
		memcpy(buf, data + i, vlen);
		buf[vlen] = '\0';
		v = strtol(buf, &end, 10);
		if (end == buf || v < 0)
			v = 1;
		if (v > 86400)
			v = 86400;
		h->reply.retry_after = v;
	}
	return len;
}

/* Adds what crossed h->fd since the last look to the link counters. */
static void link_account(struct tb_http *h)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (h->fd < 0)
		return;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(h->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return;
	if (ti.tcpi_bytes_sent >= h->fd_sent)
		h->link_sent += ti.tcpi_bytes_sent - h->fd_sent;
	if (ti.tcpi_bytes_received >= h->fd_recv)
		h->link_recv += ti.tcpi_bytes_received - h->fd_recv;
	h->fd_sent = ti.tcpi_bytes_sent;
	h->fd_recv = ti.tcpi_bytes_received;
}

static int on_socket(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct tb_http *h = arg;

	(void)purpose;
	link_account(h); /* an older connection may still be open */
	h->fd = fd;
	h->fd_sent = 0;
	h->fd_recv = 0;
	return CURL_SOCKOPT_OK;
}

static int on_close(void *arg, curl_socket_t fd)
{
	struct tb_http *h = arg;

	if (fd == h->fd) {
		link_account(h);
		h->fd = -1;
	}
	return close(fd);
}

static CURLcode on_ssl_ctx(CURL *curl, void *sslctx, void *arg)
{
	(void)curl;
	(void)arg;
	if (cu.ssl_clear_options)
		cu.ssl_clear_options(sslctx, TB_SSL_OP_TLSEXT_PADDING);
	return CURLE_OK;
}

static int starts_with_https(const char *url)
{
	return url && strncmp(url, "https://", 8) == 0 && url[8] != '\0';
}

/* The handle's fixed options: https only, no redirects, the peer always
 * verified (against the CA file alone when there is one), the timeouts. */
static void set_options(struct tb_http *h, const struct tb_http_opts *o)
{
	cu.easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
	cu.easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	cu.easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	cu.easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	cu.easy_setopt(h->curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	if (h->ca_file) {
		/* This CA and no other: libcurl would also trust the system's
		 * CA directory (Debian builds it with --with-ca-path), and so
		 * anyone with a public certificate for the server's name. */
		cu.easy_setopt(h->curl, CURLOPT_CAINFO, h->ca_file);
		cu.easy_setopt(h->curl, CURLOPT_CAPATH, (char *)NULL);
	}
	cu.easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 o->connect_timeout_ms > 0 ? o->connect_timeout_ms
						   : 10000L);
	cu.easy_setopt(h->curl, CURLOPT_TIMEOUT_MS,
			 o->timeout_ms > 0 ? o->timeout_ms : 120000L);
	cu.easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	cu.easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME,
			 o->low_speed_secs > 0 ? o->low_speed_secs : 30L);
	cu.easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	cu.easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	cu.easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	cu.easy_setopt(h->curl, CURLOPT_USERAGENT, "tienbo-agent/" TB_VERSION);
	cu.easy_setopt(h->curl, CURLOPT_SOCKOPTFUNCTION, on_socket);
	cu.easy_setopt(h->curl, CURLOPT_SOCKOPTDATA, h);
	cu.easy_setopt(h->curl, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	cu.easy_setopt(h->curl, CURLOPT_CLOSESOCKETDATA, h);
	if (cu.ssl_clear_options)
		cu.easy_setopt(h->curl, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 120000L;
	h->connect_timeout_ms =
		o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L;
	h->low_speed_secs = o->low_speed_secs > 0 ? o->low_speed_secs : 30L;
}

/* Checks the URL and the CA file before anything is allocated. */
static int check_opts(const struct tb_http_opts *o, char *msg, size_t msglen)
{
	if (!starts_with_https(o->base_url)) {
		snprintf(msg, msglen,
			 _("server: must be an https:// URL (got '%s'); tienbo "
			   "never sends data unencrypted"),
			 o->base_url ? o->base_url : "");
		return TB_ECONFIG;
	}
	if (o->ca_file && o->ca_file[0]) {
		FILE *f = fopen(o->ca_file, "r");

		if (!f) {
			snprintf(msg, msglen, _("ca_file: cannot read '%s'"),
				 o->ca_file);
			return TB_ECONFIG;
		}
		fclose(f);
	}
	return TB_OK;
}

/* Every request's headers: the token's, and an empty Accept (libcurl's
 * "Accept: * / *" says nothing the protocol needs). 0 or TB_ENOMEM. */
static int base_headers(struct tb_http *h, const char *token)
{
	struct curl_slist *list;

	if (token) {
		size_t alen = strlen(token) + 32;
		char *auth = tb_malloc(alen);

		if (!auth)
			return TB_ENOMEM;
		snprintf(auth, alen,
			 TB_HDR_AUTHORIZATION ": " TB_AUTH_SCHEME " %s", token);
		h->auth_header = cu.slist_append(NULL, auth);
		/* the token is not left lying in freed heap memory */
		memset(auth, 0, alen);
		tb_free(auth);
		if (!h->auth_header)
			return TB_ENOMEM;
	}
	list = cu.slist_append(h->auth_header, "Accept:");
	if (!list)
		return TB_ENOMEM;
	h->auth_header = list;
	return 0;
}

struct tb_http *tb_http_create(const struct tb_http_opts *o, int *rc,
			       char *msg, size_t msglen)
{
	struct tb_http *h = NULL;
	size_t alen;

	pthread_once(&cu_once, load_curl);
	if (!cu.easy_init) {
		*rc = TB_ECONFIG;
		snprintf(msg, msglen, "%s", cu_error);
		return NULL;
	}
	*rc = check_opts(o, msg, msglen);
	if (*rc != TB_OK)
		return NULL;
	*rc = TB_ENOMEM;
	h = tb_calloc(1, sizeof(*h));
	if (!h)
		goto fail;
	h->fd = -1;
	h->base_url = tb_strdup(o->base_url);
	if (!h->base_url)
		goto fail;
	/* "https://h:p/" and "https://h:p" mean the same */
	alen = strlen(h->base_url);
	while (alen > 8 && h->base_url[alen - 1] == '/')
		h->base_url[--alen] = '\0';
	if (o->ca_file && o->ca_file[0] && !(h->ca_file = tb_strdup(o->ca_file)))
		goto fail;
	if (base_headers(h, o->token) || !(h->curl = cu.easy_init()))
		goto fail;
	set_options(h, o);
	*rc = 0;
	return h;
fail:
	snprintf(msg, msglen, "%s", _("out of memory"));
	tb_http_destroy(h);
	return NULL;
}

void tb_http_destroy(struct tb_http *h)
{
	const struct tb_http_reply *r;

	if (!h)
		return;
	if (h->bg_running)
		tb_http_post_finish(h, &r);
	tb_free(h->bg_path);
	if (h->curl)
		cu.easy_cleanup(h->curl);
	cu.slist_free_all(h->auth_header);
	tb_buf_free(&h->body);
	tb_free(h->base_url);
	tb_free(h->ca_file);
	tb_free(h);
}

const char *tb_http_errmsg(const struct tb_http *h)
{
	return h->msg;
}

const struct tb_http_fail *tb_http_fail(const struct tb_http *h)
{
	return &h->failed;
}

void tb_http_link_bytes(const struct tb_http *h, uint64_t *sent,
			uint64_t *received)
{
	*sent = h->link_sent;
	*received = h->link_recv;
}

/* The link broke while a request or its answer travelled. */
static void dropped(struct tb_http *h)
{
	struct tb_http_fail *f = &h->failed;
	char a[32], b[32];

	f->kind = TB_LINK_DROPPED;
	tb_size_text(f->body_sent, a, sizeof(a));
	tb_size_text(f->body_len, b, sizeof(b));
	if (f->body_len && f->body_sent < f->body_len)
		snprintf(h->msg, sizeof(h->msg),
			 _("the link dropped about %s into a %s upload"), a, b);
	else if (f->body_len)
		snprintf(h->msg, sizeof(h->msg),
			 _("the link dropped after a %s upload had left, "
			   "before the server's answer came"),
			 b);
	else
		snprintf(h->msg, sizeof(h->msg),
			 "%s", _("the link dropped during a request"));
}

/* What the link did to a request that failed with cc (a transport
 * failure: see fail), in words that say what happened on the link and
 * never blame the server for it. Always TB_ENET. */
static int link_fail(struct tb_http *h, CURLcode cc)
{
	curl_off_t up = 0, app = 0, total = 0;
	long nconn = 0;
	char b[32];
	struct tb_http_fail *f = &h->failed;

	cu.easy_getinfo(h->curl, CURLINFO_SIZE_UPLOAD_T, &up);
	cu.easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &nconn);
	cu.easy_getinfo(h->curl, CURLINFO_APPCONNECT_TIME_T, &app);
	cu.easy_getinfo(h->curl, CURLINFO_TOTAL_TIME_T, &total);
	f->body_sent = up > 0 ? (uint64_t)up : 0;
	if (nconn > 0 && app == 0 && cc != CURLE_OPERATION_TIMEDOUT &&
	    cc != CURLE_COULDNT_RESOLVE_HOST && cc != CURLE_COULDNT_CONNECT) {
		f->kind = TB_LINK_HANDSHAKE;
		snprintf(h->msg, sizeof(h->msg),
			 "%s", _("the link dropped during the secure handshake, "
				 "before any data was sent"));
		return TB_ENET;
	}
	tb_size_text(f->body_len, b, sizeof(b));
	if (cc == CURLE_COULDNT_RESOLVE_HOST) {
		f->kind = TB_LINK_NO_CONNECT;
		snprintf(h->msg, sizeof(h->msg),
			 _("cannot reach the server (the name in %s was not "
			   "found): this computer may be offline, or the "
			   "server's address in the config is wrong"),
			 h->base_url);
	} else if (cc == CURLE_COULDNT_CONNECT) {
		f->kind = TB_LINK_NO_CONNECT;
		snprintf(h->msg, sizeof(h->msg),
			 _("cannot reach the server (nothing answers at %s): "
			   "this computer may be offline, or the server "
			   "stopped"),
			 h->base_url);
	} else if (cc == CURLE_OPERATION_TIMEDOUT &&
		   total / 1000 < h->timeout_ms - 1000) {
		f->kind = TB_LINK_SILENT;
		if (nconn > 0 && app == 0)
			snprintf(h->msg, sizeof(h->msg),
				 _("the secure handshake did not finish in %ld "
				   "s: the link seems down"),
				 h->connect_timeout_ms / 1000);
		else
			snprintf(h->msg, sizeof(h->msg),
				 _("no data arrived for %ld s: the link seems "
				   "down"),
				 h->low_speed_secs);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		f->kind = TB_LINK_SLOW;
		snprintf(h->msg, sizeof(h->msg),
			 _("the link is too slow: a %s upload did not finish "
			   "in %ld s"),
			 b, h->timeout_ms / 1000);
	} else {
		dropped(h);
	}
	return TB_ENET;
}

/* Why the server's certificate was refused, from libcurl's words. */
static void cert_fail(struct tb_http *h, const char *detail)
{
	if (strstr(detail, "not yet valid") || strstr(detail, "expired"))
		snprintf(h->msg, sizeof(h->msg), "%s",
			 _("the server's certificate could not be verified: "
			   "it has expired or is not valid yet; check this "
			   "computer's date and time, then ca_file in the "
			   "agent's config"));
	else if (strstr(detail, "self-signed") || strstr(detail, "self signed"))
		snprintf(h->msg, sizeof(h->msg), "%s",
			 _("the server's certificate could not be verified: "
			   "it is self-signed, not issued by the CA this "
			   "agent trusts; check ca_file in the agent's "
			   "config"));
	else if (strstr(detail, "host name") || strstr(detail, "subject name"))
		snprintf(h->msg, sizeof(h->msg),
			 _("the server's certificate could not be verified: "
			   "it is not for %s; check server and ca_file in the "
			   "agent's config"),
			 h->base_url);
	else
		snprintf(h->msg, sizeof(h->msg), "%s",
			 _("the server's certificate could not be verified; "
			   "check ca_file in the agent's config"));
}

/* Maps a libcurl failure to the project's codes, with words a clerk can
 * act on, in the clerk's language: libcurl's own text (English, for
 * programmers) only decides which words. */
static int fail(struct tb_http *h, CURLcode cc)
{
	const char *detail = h->errbuf[0] ? h->errbuf : cu.easy_strerror(cc);

	h->failed.kind = TB_LINK_OTHER;
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		cert_fail(h, detail);
		return TB_EAUTH;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(h->msg, sizeof(h->msg), _("server: bad URL (%s)"),
			 h->base_url);
		return TB_ECONFIG;
	case CURLE_OUT_OF_MEMORY:
		snprintf(h->msg, sizeof(h->msg), "%s", _("out of memory"));
		return TB_ENOMEM;
	case CURLE_WRITE_ERROR:
		if (h->overflow) {
			snprintf(h->msg, sizeof(h->msg),
				 _("the server's reply was larger than %d "
				   "bytes"),
				 TB_HTTP_REPLY_MAX);
			return TB_ENET;
		}
		snprintf(h->msg, sizeof(h->msg), "%s", _("out of memory"));
		return TB_ENOMEM;
	default:
		return link_fail(h, cc);
	}
}

static int perform(struct tb_http *h, const char *path, struct curl_slist *hdr,
		   const struct tb_http_reply **reply)
{
	char url[2048];
	CURLcode cc;
	curl_off_t up = 0, down = 0;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", h->base_url, path) >=
	    sizeof(url)) {
		snprintf(h->msg, sizeof(h->msg), "%s",
			 _("server: URL too long"));
		return TB_ECONFIG;
	}
	h->reply.status = 0;
	tb_buf_reset(&h->body);
	h->reply.body_len = 0;
	h->reply.retry_after = -1;
	h->overflow = 0;
	h->errbuf[0] = '\0';
	h->msg[0] = '\0';
	cu.easy_setopt(h->curl, CURLOPT_URL, url);
	cu.easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
	memset(&h->failed, 0, sizeof(h->failed));
	h->failed.body_len = h->body_len;
	cc = cu.easy_perform(h->curl);
	link_account(h);
	if (cc != CURLE_OK)
		return fail(h, cc);
	cu.easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->reply.status);
	cu.easy_getinfo(h->curl, CURLINFO_SIZE_UPLOAD_T, &up);
	cu.easy_getinfo(h->curl, CURLINFO_SIZE_DOWNLOAD_T, &down);
	h->reply.bytes_up = (uint64_t)up;
	h->reply.bytes_down = (uint64_t)down;
	/* an empty reply still hands out a valid string */
	if (tb_buf_reserve(&h->body, 0) != TB_OK)
		return TB_ENOMEM;
	h->reply.body = h->body.p;
	h->reply.body_len = h->body.len;
	*reply = &h->reply;
	return 0;
}

int tb_http_get(struct tb_http *h, const char *path,
		const struct tb_http_reply **reply)
{
	cu.easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	h->body_len = 0;
	return perform(h, path, h->auth_header, reply);
}

/* Appends s to *list; on failure *list is left as it was (still owned). */
static int add_header(struct curl_slist **list, const char *s)
{
	struct curl_slist *l = cu.slist_append(*list, s);

	if (!l)
		return TB_ENOMEM;
	*list = l;
	return 0;
}

int tb_http_post_gzip_json(struct tb_http *h, const char *path,
			   const void *body, size_t len, int64_t after,
			   const struct tb_http_reply **reply)
{
	struct curl_slist *hdr = NULL, *p;
	char pre[64];
	int rc = TB_ENOMEM;

	for (p = h->auth_header; p; p = p->next)
		if (add_header(&hdr, p->data))
			goto out;
	snprintf(pre, sizeof(pre), TB_HDR_AFTER ": %" PRId64, after);
	if (add_header(&hdr, TB_HDR_CONTENT_TYPE ": " TB_MEDIA_JSON) ||
	    add_header(&hdr, TB_HDR_CONTENT_ENCODING ": " TB_ENCODING_GZIP) ||
	    add_header(&hdr, "Expect:") ||
	    (after >= 0 && add_header(&hdr, pre)))
		goto out;
	h->body_len = len;
	cu.easy_setopt(h->curl, CURLOPT_POST, 1L);
	cu.easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	cu.easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = perform(h, path, hdr, reply);
	cu.easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	cu.easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
out:
	cu.slist_free_all(hdr);
	return rc;
}

static void *post_thread(void *arg)
{
	struct tb_http *h = arg;
	const struct tb_http_reply *r = NULL;

	h->bg_rc = tb_http_post_gzip_json(h, h->bg_path, h->bg_body,
					  h->bg_len, h->bg_after, &r);
	return NULL;
}

int tb_http_post_start(struct tb_http *h, const char *path, const void *body,
		       size_t len, int64_t after)
{
	sigset_t all, old;
	int err;

	if (h->bg_running)
		return TB_EINVAL;
	tb_free(h->bg_path);
	h->bg_path = tb_strdup(path);
	if (!h->bg_path) {
		snprintf(h->msg, sizeof(h->msg), "%s", _("out of memory"));
		return TB_ENOMEM;
	}
	h->bg_body = body;
	h->bg_len = len;
	h->bg_after = after;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&h->bg, NULL, post_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		snprintf(h->msg, sizeof(h->msg), "%s",
			 _("cannot start a thread"));
		return TB_ENOMEM;
	}
	h->bg_running = 1;
	return 0;
}

int tb_http_post_finish(struct tb_http *h, const struct tb_http_reply **reply)
{
	if (!h->bg_running)
		return TB_EINVAL;
	pthread_join(h->bg, NULL);
	h->bg_running = 0;
	if (h->bg_rc == 0)
		*reply = &h->reply;
	return h->bg_rc;
}
