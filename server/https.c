/* https.c - the libmicrohttpd daemon, routing, /healthz and /v1/cursor
 * (see https.h).
 *
 * Threads: MHD runs a pool of `workers` threads, each polling its share of
 * the connections (epoll) and calling the access handler for them; a
 * handler runs to completion on its thread, including the SQLite work of a
 * batch (server/dbpool.h explains the connections and the write lock).
 * Request state lives in struct req from the first call of the access
 * handler to MHD's completion notice; `active` counts requests between the
 * two, which is what tb_https_drain waits on.
 */
#include "server/https.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "server/admin.h"
#include "server/auth.h"
#include "server/dbpool.h"
#include "server/health.h"
#include "server/log.h"
#include "server/merge.h"
#include "server/metrics.h"
#include "server/report_http.h"
#include "server/reqlog.h"
#include "server/resp.h"
#include "server/sql.h"
#include "server/tlscert.h"
#include "server/upload.h"
#include "protocol/wire.h"

/* Bytes of body dropped from a request that takes none before cutting. */
#define OTHER_BODY_MAX (64 * 1024)
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct tb_https {
	struct MHD_Daemon *d;
	struct tb_dbpool *pool;
	const struct tb_plan_set *plans; /* borrowed, for the report routes */
	int ontime_days;                 /* for the report routes */
	struct tb_upload_env up;
	struct tb_metrics_http *metrics; /* metrics_listen, or NULL */
	char *cert, *key;
	struct tb_tlscert *certs;        /* borrowed; NULL: cert and key */
	char db_dir[512];                /* for the disk check of /healthz */
	atomic_long min_free_mb;         /* changed by SIGHUP */
	atomic_long active;      /* requests between first call and completion */
	atomic_int draining;
	unsigned port;
};

struct req {
	struct tb_upload *up;
	size_t dropped;        /* body bytes of a request that takes none */
	char form[TB_REPORT_FORM_MAX]; /* a small body (the sign-in form) */
	size_t form_len;       /* > sizeof(form): it did not fit */
	unsigned status;
	struct timespec t0;
	char what[96]; /* "POST /v1/batches" for the log */
	char peer[48]; /* the client's address */
	char who[96];  /* 401/403: " token=1515c28d school=HB-101" */
	char reason[200]; /* 401/403/5xx: the error's message */
};

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static enum MHD_Result healthz(struct tb_https *h, struct MHD_Connection *c,
			       const char *method)
{
	struct tb_health hc;
	char *body;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return tb_resp_not_allowed(c, "GET, HEAD", TB_ROUTE_HEALTHZ);
	tb_health_check(h->pool, h->db_dir, atomic_load(&h->min_free_mb),
			tb_tlscert_not_after(h->certs), &hc);
	if (hc.status != 200)
		return tb_resp_error(c, &h->up.resp, hc.status, NULL, hc.reason,
				     -1, 0);
	body = tb_strdup(hc.body);
	if (!body)
		return MHD_NO;
	return tb_resp_body(c, 200, body, strlen(body), NULL);
}

static enum MHD_Result cursor(struct tb_https *h, struct MHD_Connection *c,
			      const char *method)
{
	struct tb_principal who;
	struct tb_merge_result res;
	enum MHD_Result ret;
	const char *device;
	char *body = NULL;
	size_t len = 0;
	int64_t through = 0;
	struct tb_sql *db;
	int rc;

	if (strcmp(method, "GET") != 0)
		return tb_resp_not_allowed(c, "GET", TB_ROUTE_CURSOR);
	if (!tb_upload_auth(&h->up, c, &who, &ret))
		return ret;
	device = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "device");
	if (!device || !tb_uuid_valid(device))
		return tb_resp_error(c, &h->up.resp, 400, NULL,
				     "device: give ?device=<uuid>", -1, 0);
	db = tb_dbpool_conn(h->pool);
	if (!db)
		return tb_resp_error(c, &h->up.resp, 503, NULL,
				     "database unavailable", -1, 1);
	rc = tb_merge_cursor(db, &who, device, &through, &res);
	/* busy is worth a retry; anything else is said, not passed off as
	 * load (an agent would retry a broken query for ever) */
	if (rc == TB_EAGAIN)
		return tb_resp_error(c, &h->up.resp, 503, NULL,
				     "the database is busy", -1, 0);
	if (rc < 0) {
		char why[300];

		return tb_resp_errorf(c, &h->up.resp, 500,
				      "could not read the cursor: %s",
				      tb_sql_reason(db, why, sizeof(why)));
	}
	if (res.status != 200)
		return tb_resp_error(c, &h->up.resp, (unsigned)res.status,
				     res.error, res.message, -1, 0);
	if (tb_cursor_encode(device, through, &body, &len) < 0)
		return tb_resp_error(c, &h->up.resp, 503, NULL, "out of memory",
				     -1, 0);
	return tb_resp_body(c, 200, body, len, NULL);
}

/* Routes a request whose whole body (if any) has been received. */
static enum MHD_Result route(struct tb_https *h, struct MHD_Connection *c,
			     const char *url, const char *method,
			     const struct req *r)
{
	if (strcmp(url, TB_ROUTE_HEALTHZ) == 0)
		return healthz(h, c, method);
	if (strcmp(url, TB_ROUTE_BATCHES) == 0)
		return tb_resp_not_allowed(c, "POST", url);
	if (strcmp(url, TB_ROUTE_CURSOR) == 0)
		return cursor(h, c, method);
	if (strcmp(url, TB_METRICS_ROUTE) == 0) /* server/metrics.h */
		return tb_metrics_handle(c, h->pool, &h->up.resp, method, 1);
	if (strncmp(url, TB_ROUTE_ADMIN_PREFIX, 10) == 0)
		return tb_admin_handle(c, h->pool, &h->up.resp,
				       h->up.busy_timeout_ms, url + 10, method);
	if (tb_report_http_route(url))
		return tb_report_http_handle(c, h->pool, h->plans,
					     h->ontime_days, &h->up.resp, url,
					     method, r->form,
					     r->form_len <= sizeof(r->form)
						     ? r->form_len : 0);
	return tb_resp_error(c, &h->up.resp, 404, NULL, "no such endpoint", -1,
			     0);
}

/* The first call, with the headers only. Uploads are checked now and may
 * be refused before their body is read (MHD then closes the connection);
 * everything else is answered once the request is complete, which keeps
 * the connection open for the next request. */
static enum MHD_Result first_call(struct tb_https *h, struct req *r,
				  struct MHD_Connection *c, const char *url,
				  const char *method)
{
	enum MHD_Result ret = MHD_YES;

	if (atomic_load(&h->draining))
		return tb_resp_error(c, &h->up.resp, 503, NULL,
				     "the server is shutting down", -1, 1);
	if (strcmp(url, TB_ROUTE_BATCHES) != 0 || strcmp(method, "POST") != 0)
		return MHD_YES;
	r->up = tb_upload_create(&h->up);
	if (!r->up)
		return tb_resp_error(c, &h->up.resp, 503, NULL, "out of memory",
				     -1, 1);
	if (!tb_upload_begin(r->up, c, &ret))
		return ret;
	return MHD_YES; /* read the body */
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *data,
				 size_t *size, void **con_cls)
{
	struct tb_https *h = cls;
	struct req *r = *con_cls;
	enum MHD_Result ret;
	size_t n = *size;

	(void)version;
	tb_resp_take_status();
	tb_resp_take_reason(NULL, 0);
	if (!r) {
		r = tb_calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&h->active, 1);
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		snprintf(r->what, sizeof(r->what), "%s %s", method, url);
		tb_reqlog_peer(c, r->peer, sizeof(r->peer));
		ret = first_call(h, r, c, url, method);
	} else if (n) {
		*size = 0;
		if (!r->up && r->form_len + n <= sizeof(r->form))
			memcpy(r->form + r->form_len, data, n);
		if (!r->up)
			r->form_len += n;
		r->dropped += r->up ? 0 : n;
		ret = r->up ? tb_upload_feed(r->up, data, n)
			    : r->dropped > OTHER_BODY_MAX ? MHD_NO : MHD_YES;
	} else if (r->up) {
		ret = tb_upload_finish(r->up, c);
	} else {
		ret = route(h, c, url, method, r);
	}
	if (!r->status) {
		r->status = tb_resp_take_status();
		tb_resp_take_reason(r->reason, sizeof(r->reason));
		if (r->status == 401 || r->status == 403)
			tb_reqlog_who(c, tb_dbpool_conn(h->pool), r->who,
				      sizeof(r->who));
	}
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	static const char *const why[] = { "", " (connection error)",
					   " (timed out)", " (shutdown)",
					   " (read error)", " (client gone)" };
	struct tb_https *h = cls;
	struct req *r = *con_cls;
	const char *summary;

	(void)c;
	if (!r)
		return;
	summary = tb_upload_summary(r->up);
	tb_slog(toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? TB_SLOG_INFO
							   : TB_SLOG_WARN,
		"%s %u %ldms client=%s%s%s%s%s%s%s", r->what, r->status,
		ms_since(&r->t0), r->peer, r->who, summary[0] ? " " : "",
		summary,
		(unsigned)toe < sizeof(why) / sizeof(why[0]) ? why[toe] : "",
		r->reason[0] ? " reason: " : "", r->reason);
	tb_metrics_request(r->what, r->status, &r->t0);
	tb_upload_destroy(r->up);
	tb_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&h->active, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	tb_slog_v(TB_SLOG_WARN, fmt, ap);
}

int tb_https_parse_listen(const char *s, struct sockaddr_storage *ss,
			  socklen_t *len, int *v6, char *msg, size_t msglen)
{
	char host[64];
	const char *colon, *hs = s;
	size_t hlen;
	char *end = NULL;
	long port;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(s, ':');
	if (!colon)
		goto bad;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 2 || s[hlen - 1] != ']')
			goto bad;
		hs = s + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		goto bad;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	*v6 = s[0] == '[';
	if (*v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		*len = sizeof(*a);
	}
	return TB_OK;
bad:
	snprintf(msg, msglen, "listen: expected ADDR:PORT or [V6]:PORT, not '%s'",
		 s);
	return TB_ECONFIG;
}

int tb_https_start(const struct tb_https_opts *o, struct tb_dbpool *pool,
		  struct tb_https **out, char *msg, size_t msglen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const union MHD_DaemonInfo *info;
	struct tb_https *h;
	unsigned flags;
	int v6 = 0, rc;

	*out = NULL;
	h = tb_calloc(1, sizeof(*h));
	if (!h)
		return TB_ENOMEM;
	rc = tb_https_parse_listen(o->listen, &ss, &sslen, &v6, msg, msglen);
	if (rc < 0)
		goto out;
	h->pool = pool;
	h->plans = o->plans;
	h->up.pool = pool;
	h->up.resp.retry_after = o->retry_after;
	h->ontime_days = (int)o->ontime_days;
	h->up.busy_timeout_ms = o->busy_timeout_ms;
	h->up.upload_timeout_s = o->upload_timeout;
	h->up.tally = tb_upload_tally_create(o->max_uploads, o->device_uploads);
	h->certs = o->certs;
	atomic_store(&h->min_free_mb, o->min_free_mb);
	tb_health_dir(o->db_path ? o->db_path : "", h->db_dir,
		      sizeof(h->db_dir));
	h->cert = tb_strdup(o->cert_pem);
	h->key = tb_strdup(o->key_pem);
	if (!h->cert || !h->key || !h->up.tally) {
		rc = TB_ENOMEM;
		goto out;
	}
	flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
		MHD_USE_AUTO | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	/* With certs, every handshake asks tb_tlscert for the current pair,
	 * so SIGHUP can swap it (server/tlscert.h); MHD ignores the
	 * MEM_KEY/MEM_CERT pair then (they are given as the options' slot
	 * must hold something). */
	tb_tlscert_install(h->certs);
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_access, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		h->certs ? MHD_OPTION_HTTPS_CERT_CALLBACK
			 : MHD_OPTION_HTTPS_MEM_KEY,
		h->certs ? (void *)tb_tlscert_retrieve : (void *)h->key,
		MHD_OPTION_HTTPS_MEM_CERT, h->cert,
		MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
		MHD_OPTION_THREAD_POOL_SIZE, o->workers,
		MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_END);
	if (!h->d) {
		snprintf(msg, msglen, "cannot serve on %s (address in use, or a "
			 "bad certificate or key; see the log above)", o->listen);
		rc = TB_ENET;
		goto out;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	tb_metrics_cert(h->cert, h->certs);
	if (o->metrics_listen && o->metrics_listen[0]) {
		rc = tb_metrics_http_start(o->metrics_listen, pool, &h->metrics,
					   msg, msglen);
		if (rc < 0)
			goto out;
	}
	*out = h;
	h = NULL;
out:
	tb_https_stop(h);
	return rc;
}

void tb_https_set_live(struct tb_https *h, long retry_after,
		       long min_free_mb)
{
	/* read by the workers unlocked: an aligned long is written whole */
	__atomic_store_n(&h->up.resp.retry_after, retry_after,
			 __ATOMIC_RELAXED);
	atomic_store(&h->min_free_mb, min_free_mb);
}

unsigned tb_https_port(const struct tb_https *h)
{
	return h->port;
}

void tb_https_quiesce(struct tb_https *h)
{
	MHD_socket fd;

	if (!h || !h->d || atomic_exchange(&h->draining, 1))
		return;
	fd = MHD_quiesce_daemon(h->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

long tb_https_drain(struct tb_https *h, long timeout_ms)
{
	struct timespec t0, pause = { 0, 10 * 1000000L };
	long left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = atomic_load(&h->active)) > 0 &&
	       ms_since(&t0) < timeout_ms)
		nanosleep(&pause, NULL);
	return left;
}

void tb_https_stop(struct tb_https *h)
{
	if (!h)
		return;
	tb_metrics_http_stop(h->metrics);
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->key)
		memset(h->key, 0, strlen(h->key));
	tb_free(h->key);
	tb_free(h->cert);
	tb_upload_tally_destroy(h->up.tally);
	tb_free(h);
}
