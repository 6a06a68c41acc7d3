/* metrics.h - the server's counters and GET /metrics in the Prometheus
 * text exposition format 0.0.4.
 *
 * Who calls what:
 *   - server/https.c, when a request is complete: tb_metrics_request
 *     (requests by endpoint and status, request latency);
 *   - server/upload.c, when a batch is committed: tb_metrics_merge
 *     (batches and events accepted / duplicate / rejected, merge latency);
 *   - server/https.c at start: tb_metrics_cert;
 *   - the routes: tb_metrics_handle answers a scrape.
 * Counters are process-wide atomics, incremented without a lock from the
 * worker threads; a histogram is an array of atomic bucket counters. A
 * scrape reads them one by one (not a snapshot: a request completing
 * during the scrape may show in one series and not yet in another) and
 * reads the database at scrape time for the gauges.
 *
 * Who may scrape: on the main HTTPS port, an admin token (Authorization:
 * Bearer, as /v1/admin/); on the `metrics_listen` address, if set, anyone
 * who can connect, in plain HTTP - so that address must be loopback
 * (127.0.0.0/8 or [::1]), for a Prometheus on the same machine, and
 * tb_metrics_http_start refuses any other.
 *
 * Series (every name starts tienbo_; units in the names):
 *   tienbo_http_requests_total{endpoint,code}          counter
 *   tienbo_http_request_duration_seconds{endpoint}     histogram
 *   tienbo_batches_accepted_total                      counter
 *   tienbo_events_total{result="accepted|duplicate|rejected"} counter
 *   tienbo_merge_duration_seconds                      histogram
 *   tienbo_schools{last_seen="under_1d|1d_to_7d|7d_to_14d|14d_to_30d|
 *                  over_30d|never"}                    gauge
 *   tienbo_rejected_events                             gauge (database)
 *   tienbo_database_size_bytes                         gauge (file + WAL)
 *   tienbo_disk_free_bytes                             gauge (statvfs)
 *   tienbo_certificate_expiry_timestamp_seconds        gauge
 * endpoint is the route ("/v1/batches", "/v1/admin/units", ...; "other"
 * for anything unknown), never the raw URL, so the label set is bounded;
 * code is the HTTP status, "none" when no answer was sent (a cut
 * connection).
 */
#ifndef TB_SERVER_METRICS_H
#define TB_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

struct tb_sql;
struct tb_ack;
struct tb_dbpool;
struct tb_resp_env;

#define TB_METRICS_ROUTE "/metrics"
#define TB_METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* A request is complete. what is "METHOD /path" (the access log's text;
 * only the path is used), status 0 when no answer was sent, t0 the
 * CLOCK_MONOTONIC time of its first byte. Lock-free. */
void tb_metrics_request(const char *what, unsigned status,
			const struct timespec *t0);
/* A batch was committed with ack, its merge having started at t0
 * (CLOCK_MONOTONIC). Lock-free. */
void tb_metrics_merge(const struct tb_ack *ack, const struct timespec *t0);

/* The notAfter of the first certificate of a PEM chain, Unix seconds
 * (GnuTLS). 0 and *out; TB_EINVAL if it cannot be parsed. */
int tb_metrics_cert_expiry(const char *pem, int64_t *out);
/* The serving certificate for the scrape: with certs (server/tlscert.h,
 * borrowed until the daemons stop) its current notAfter is read at each
 * scrape, so a SIGHUP renewal shows; else pem's, parsed now (neither: the
 * series is left out). */
struct tb_tlscert;
void tb_metrics_cert(const char *pem, struct tb_tlscert *certs);

/* Answers a scrape on c. need_token: an admin token is required (the
 * HTTPS port). GET and HEAD only. Returns what the access handler
 * returns. */
enum MHD_Result tb_metrics_handle(struct MHD_Connection *c,
				  struct tb_dbpool *pool,
				  const struct tb_resp_env *env,
				  const char *method, int need_token);

/* The exposition text into *out (tb_free), reading the database on db
 * (may be NULL: the database gauges are left out). 0 or TB_ENOMEM. */
int tb_metrics_text(struct tb_sql *db, char **out, size_t *len);

/* The plain-HTTP listener of metrics_listen: GET /metrics without a token,
 * everything else 404. addr is "127.0.0.1:9464" or "[::1]:9464" (parsed by
 * tb_https_parse_listen); any address that is not loopback is refused.
 * pool is borrowed and must outlive it. 0; TB_ECONFIG with msg (bad or
 * not loopback); TB_ENET with msg (cannot listen). *out NULL on failure. */
struct tb_metrics_http;
int tb_metrics_http_start(const char *addr, struct tb_dbpool *pool,
			  struct tb_metrics_http **out, char *msg,
			  size_t msglen);
/* The port listened on (0 for NULL). */
unsigned tb_metrics_http_port(const struct tb_metrics_http *m);
/* Stops the listener and frees m. Accepts NULL. */
void tb_metrics_http_stop(struct tb_metrics_http *m);

#endif
