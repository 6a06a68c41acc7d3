/* serve.c - `tienbo-server serve`: the settings read, the certificate and
 * key checked and loaded (server/tlscert.h, server/reload.h), the
 * database pool and the plans opened, the HTTPS daemon started
 * (server/https.h), then SIGHUP reloads and SIGTERM or SIGINT drains and
 * stops (README: Shutdown). Called by server/main.c's command table.
 */
#include "server/serve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "server/db.h"
#include "server/dbpool.h"
#include "server/https.h"
#include "server/log.h"
#include "server/plan.h"
#include "server/reload.h"
#include "server/report_cli.h"
#include "server/settings.h"
#include "server/tlscert.h"

#define PEM_MAX (1024 * 1024)

static int read_pem(const char *what, const char *path, char **out,
		    char *msg, size_t msglen)
{
	FILE *f;
	char *buf;
	size_t n;

	*out = NULL;
	if (!path) {
		snprintf(msg, msglen, "%s: no file given (--%s FILE)", what, what);
		return TB_ECONFIG;
	}
	f = fopen(path, "rb");
	if (!f) {
		snprintf(msg, msglen, "%s: cannot open %s", what, path);
		return TB_ECONFIG;
	}
	buf = tb_malloc(PEM_MAX + 1);
	if (!buf) {
		fclose(f);
		return TB_ENOMEM;
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > PEM_MAX) {
		snprintf(msg, msglen, "%s: %s is empty or too large", what, path);
		tb_free(buf);
		return TB_ECONFIG;
	}
	buf[n] = '\0';
	*out = buf;
	return TB_OK;
}

static int serve_opts(const struct tb_config *cfg, struct tb_https_opts *o,
		      long *drain, char *msg, size_t msglen)
{
	long workers = 0, conns = 0, per_ip = 0, timeout = 0;
	int rc;

	memset(o, 0, sizeof(*o));
	o->listen = tb_settings_get(cfg, "listen");
	o->metrics_listen = tb_settings_get(cfg, "metrics_listen");
	rc = tb_settings_long(cfg, "workers", &workers, msg, msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "max_connections", &conns, msg, msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "per_ip_connections", &per_ip, msg,
				      msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "timeout", &timeout, msg, msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "max_uploads", &o->max_uploads, msg,
				      msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "device_uploads", &o->device_uploads,
				      msg, msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "upload_timeout", &o->upload_timeout,
				      msg, msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "busy_timeout_ms", &o->busy_timeout_ms,
				      msg, msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "retry_after", &o->retry_after, msg,
				      msglen);
	if (rc == TB_OK)
		rc = tb_settings_long(cfg, "drain_timeout", drain, msg, msglen);
	if (rc == TB_OK) /* /healthz (server/health.h) */
		rc = tb_settings_long(cfg, "min_free_mb", &o->min_free_mb, msg,
				      msglen);
	if (rc == TB_OK) /* reports and the dashboard (server/report_http.c) */
		rc = tb_settings_long(cfg, "ontime_days", &o->ontime_days, msg,
				      msglen);
	if (rc < 0)
		return rc;
	if (workers == 0)
		workers = sysconf(_SC_NPROCESSORS_ONLN);
	o->workers = workers > 0 ? (unsigned)workers : 1;
	o->max_connections = (unsigned)conns;
	o->per_ip_connections = (unsigned)per_ip;
	o->timeout = (unsigned)timeout;
	return TB_OK;
}

/* Serves until SIGTERM or SIGINT, reloading on SIGHUP (server/reload.h),
 * then stops accepting and waits up to drain seconds for the requests in
 * flight (see README: Shutdown). */
static void serve_until_signal(struct tb_https *http,
			       const struct tb_https_opts *o,
			       const sigset_t *set, long drain,
			       const struct tb_config *cfg)
{
	long left;
	int sig;

	tb_slog(TB_SLOG_INFO, "listening on https://%s (port %u), %u workers, "
		"database %s", o->listen, tb_https_port(http), o->workers,
		o->db_path);
	sig = tb_reload_wait(set, http, o->certs, cfg, &drain);
	tb_slog(TB_SLOG_INFO, "signal %d: no new connections, finishing "
		"requests in flight", sig);
	tb_https_quiesce(http);
	left = tb_https_drain(http, drain * 1000);
	if (left > 0)
		tb_slog(TB_SLOG_WARN, "%ld requests still running after %lds; "
			"stopping anyway (none of them is acknowledged)", left,
			drain);
}

int tb_serve_cmd(const struct tb_config *cfg, char *msg, size_t msglen)
{
	struct tb_https_opts o;
	struct tb_db_opts dbo;
	struct tb_dbpool *pool = NULL;
	struct tb_https *http = NULL;
	struct tb_plan_set *plans = NULL;
	struct tb_tlscert *certs = NULL;
	char *cert = NULL, *key = NULL;
	long drain = 30;
	sigset_t set;
	int rc;

	rc = serve_opts(cfg, &o, &drain, msg, msglen);
	if (rc == TB_OK) /* expiry and key mode checked (server/tlscert.h) */
		rc = tb_reload_certs(cfg, &certs, msg, msglen);
	if (rc == TB_OK)
		rc = read_pem("cert", tb_settings_get(cfg, "cert"), &cert, msg,
			      msglen);
	if (rc == TB_OK)
		rc = read_pem("key", tb_settings_get(cfg, "key"), &key, msg,
			      msglen);
	if (rc < 0)
		goto out;
	o.cert_pem = cert;
	o.key_pem = key;
	o.certs = certs;
	o.db_path = tb_settings_get(cfg, "db");
	rc = tb_settings_db_opts(cfg, 0, &dbo, msg, msglen);
	if (rc == TB_OK)
		rc = tb_dbpool_create(tb_settings_get(cfg, "db"), &dbo, &pool, msg,
			     msglen);
	if (rc == TB_OK) /* plans and report roll-ups (server/report_cli.h) */
		rc = tb_report_cli_serve(cfg, pool, &plans, msg, msglen);
	if (rc < 0)
		goto out;
	if (!plans)
		tb_slog(TB_SLOG_WARN, "%s", msg);
	o.plans = plans;
	tb_reload_block(&set);
	rc = tb_https_start(&o, pool, &http, msg, msglen);
	if (rc < 0)
		goto out;
	serve_until_signal(http, &o, &set, drain, cfg);
out:
	tb_https_stop(http);
	tb_tlscert_destroy(certs);
	tb_dbpool_destroy(pool);
	tb_plan_set_destroy(plans);
	if (key)
		memset(key, 0, strlen(key));
	tb_free(key);
	tb_free(cert);
	if (rc == TB_OK)
		tb_slog(TB_SLOG_INFO, "stopped");
	return rc;
}

