/* metrics_http.c - the plain-HTTP listener of the `metrics_listen`
 * setting (see metrics.h): GET /metrics without a token, for a Prometheus
 * on the same machine; every other path is 404.
 *
 * Plain HTTP and no token are acceptable only because nothing but this
 * machine can connect: the address must be loopback, and anything else is
 * refused at start (an office that scrapes from another machine uses the
 * HTTPS port with an admin token). One MHD thread and a few connections
 * are plenty for one scraper every 15 s or so.
 */
#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/https.h"
#include "server/log.h"
#include "server/resp.h"

struct tb_metrics_http {
	struct MHD_Daemon *d;
	struct tb_dbpool *pool;
	struct tb_resp_env env;
	unsigned port;
};

/* One request: when it began and its line, for tb_metrics_request. */
struct mreq {
	struct timespec t0;
	unsigned status;
	char what[96];
};

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *data,
				 size_t *size, void **con_cls)
{
	struct tb_metrics_http *m = cls;
	struct mreq *r = *con_cls;
	enum MHD_Result ret;

	(void)version;
	(void)data;
	if (!r) {
		r = tb_calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		snprintf(r->what, sizeof(r->what), "%s %s", method, url);
		return MHD_YES;
	}
	if (*size) { /* a scrape has no body: drop it */
		*size = 0;
		return MHD_YES;
	}
	tb_resp_take_status();
	if (strcmp(url, TB_METRICS_ROUTE) == 0)
		ret = tb_metrics_handle(c, m->pool, &m->env, method, 0);
	else
		ret = tb_resp_error(c, &m->env, 404, NULL, "only /metrics is "
				    "served here", -1, 0);
	r->status = tb_resp_take_status();
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct mreq *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!r)
		return;
	tb_metrics_request(r->what, r->status, &r->t0);
	tb_free(r);
	*con_cls = NULL;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return 0;
}

int tb_metrics_http_start(const char *addr, struct tb_dbpool *pool,
			  struct tb_metrics_http **out, char *msg,
			  size_t msglen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const union MHD_DaemonInfo *info;
	struct tb_metrics_http *m = NULL;
	int v6 = 0, rc;

	*out = NULL;
	rc = tb_https_parse_listen(addr, &ss, &sslen, &v6, msg, msglen);
	if (rc < 0) {
		snprintf(msg, msglen, "metrics_listen: expected a loopback "
			 "ADDR:PORT (127.0.0.1:9464 or [::1]:9464), not '%s'",
			 addr);
		return TB_ECONFIG;
	}
	if (!is_loopback(&ss)) {
		snprintf(msg, msglen, "metrics_listen: %s is not a loopback "
			 "address; /metrics is served there in plain HTTP "
			 "without a token, so only 127.0.0.1 or [::1] is "
			 "allowed (scrape the HTTPS port with an admin token "
			 "from another machine)", addr);
		return TB_ECONFIG;
	}
	m = tb_calloc(1, sizeof(*m));
	if (!m)
		return TB_ENOMEM;
	m->pool = pool;
	m->env.retry_after = 5;
	m->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			(v6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, on_access, m,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, 8u,
		MHD_OPTION_CONNECTION_TIMEOUT, 10u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
		MHD_OPTION_END);
	if (!m->d) {
		snprintf(msg, msglen, "metrics_listen: cannot listen on %s "
			 "(address in use?)", addr);
		tb_free(m);
		return TB_ENET;
	}
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	/* not "(port N)": tests take the HTTPS port from the first one */
	tb_slog(TB_SLOG_INFO, "serving /metrics on http://%s, metrics port "
		"%u, loopback, no token", addr, m->port);
	*out = m;
	return TB_OK;
}

unsigned tb_metrics_http_port(const struct tb_metrics_http *m)
{
	return m ? m->port : 0;
}

void tb_metrics_http_stop(struct tb_metrics_http *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	tb_free(m);
}
