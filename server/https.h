/* https.h - the HTTPS front of tienbo-server: a libmicrohttpd daemon over
 * GnuTLS with a pool of worker threads, and the routes of PROTOCOL.md.
 *
 * Called by server/main.c (`serve`). Routes:
 *   GET  /healthz                 no auth, {"status":"ok",...} or 503
 *                                 (server/health.h)
 *   POST /v1/batches              device token, server/upload.c
 *   GET  /v1/cursor?device=UUID   device token
 *   /v1/admin/...                 admin token, server/admin.c
 *   GET  /metrics                 admin token, server/metrics.c (also
 *                                 without one on metrics_listen)
 * Guarantees: TLS 1.2 or newer only; at most max_connections connections
 * (per_ip_connections per address); a connection silent for `timeout`
 * seconds is cut, so a trickling client cannot hold a worker; every error
 * has the JSON body of PROTOCOL.md. Shutdown is two-step: tb_https_quiesce
 * stops accepting (new requests on open connections get 503 and are
 * closed), tb_https_drain waits for requests already started to finish and
 * their responses to be sent, then tb_https_stop ends the threads.
 */
#ifndef TB_SERVER_HTTPS_H
#define TB_SERVER_HTTPS_H

#include <stddef.h>
#include <sys/socket.h>

struct tb_dbpool;
struct tb_https;
struct tb_tlscert;

struct tb_https_opts {
	const char *listen;     /* "ADDR:PORT" or "[V6]:PORT"; port 0 = any */
	const char *cert_pem;   /* certificate chain, PEM text (copied) */
	const char *key_pem;    /* private key, PEM text (copied) */
	unsigned workers;       /* threads in the pool, >= 1 */
	unsigned max_connections;
	unsigned per_ip_connections; /* 0 = no limit */
	unsigned timeout;       /* seconds */
	long max_uploads;       /* uploads in flight in all, else 503 */
	long device_uploads;    /* uploads in flight per token, else 429 */
	long busy_timeout_ms;
	long upload_timeout;    /* seconds */
	long retry_after;
	const struct tb_plan_set *plans; /* reports (server/report_http.h);
					    NULL: /v1/report answers 503 */
	long ontime_days;       /* reports: days after a period for on time */
	struct tb_tlscert *certs; /* borrowed: handshakes take its current
				     pair, so SIGHUP can swap it
				     (server/tlscert.h); NULL: cert_pem and
				     key_pem, fixed */
	const char *db_path;    /* /healthz checks the disk under it (copied) */
	long min_free_mb;       /* /healthz: 503 below this */
	const char *metrics_listen; /* loopback ADDR:PORT for /metrics in
				       plain HTTP (server/metrics.h), or
				       NULL / "" for none */
};

/* Starts serving. pool is borrowed and must outlive the daemon. 0;
 * TB_ECONFIG with msg (bad address, key or certificate); TB_ENET with msg
 * (cannot listen); TB_ENOMEM. *out NULL on failure. */
int tb_https_start(const struct tb_https_opts *o, struct tb_dbpool *pool,
		  struct tb_https **out, char *msg, size_t msglen);
/* Parses "A.B.C.D:PORT", "[V6]:PORT" or "localhost:PORT" into *ss and
 * *len (*v6 set for a V6 address). 0, or TB_ECONFIG with msg. */
int tb_https_parse_listen(const char *s, struct sockaddr_storage *ss,
			  socklen_t *len, int *v6, char *msg, size_t msglen);
/* Settings a reload (SIGHUP) changes while serving: Retry-After seconds
 * and /healthz's min_free_mb. Thread-safe. */
void tb_https_set_live(struct tb_https *h, long retry_after,
		       long min_free_mb);
/* The port actually listened on. */
unsigned tb_https_port(const struct tb_https *h);
/* Stops accepting connections; requests already started go on. */
void tb_https_quiesce(struct tb_https *h);
/* Waits up to timeout_ms for requests in flight to finish. Returns how
 * many are still running (0 = all done). */
long tb_https_drain(struct tb_https *h, long timeout_ms);
/* Stops the daemon (joins the workers) and frees h. Accepts NULL. */
void tb_https_stop(struct tb_https *h);

#endif
