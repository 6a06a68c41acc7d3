/* metrics.c - the counters and the exposition text of GET /metrics (see
 * metrics.h).
 *
 * Storage: every counter is a static atomic. Requests are counted in a
 * table [endpoint][status 0..599] (status 0: no answer sent), so counting
 * is one relaxed atomic add with no lookup beyond the route's index; the
 * table is 16 x 600 x 8 bytes. A histogram keeps one non-cumulative
 * counter per bucket (an observation lands in exactly one) and the sum in
 * nanoseconds; the scrape makes them cumulative and takes _count from the
 * buckets it read, so +Inf and _count always agree within one scrape.
 *
 * Buckets, in seconds, for a school server on a 2G link: a cursor or
 * healthz answers in milliseconds, a batch of hundreds of events over a
 * slow link in seconds, and 30 s is where the agent gives up:
 *   0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 30 +Inf
 */
#include "server/metrics.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/wire.h"
#include "server/auth.h"
#include "server/dbpool.h"
#include "server/health.h"
#include "server/resp.h"
#include "server/sql.h"
#include "server/tlscert.h"

/* ---- the routes, the label values of `endpoint` ------------------------- */

static const char *const endpoints[] = {
	"other", /* index 0: anything not below */
	TB_ROUTE_HEALTHZ, TB_ROUTE_BATCHES, TB_ROUTE_CURSOR, TB_METRICS_ROUTE,
	TB_ROUTE_REPORT, "/", "/signin", "/signout",
	"/v1/admin/devices", "/v1/admin/export", "/v1/admin/enroll",
	"/v1/admin/revoke", "/v1/admin/units", "/v1/admin/unit",
	"/v1/admin/rejections",
};
#define NENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))
#define NSTATUS 600

/* The index of a path ("/v1/cursor"); 0 ("other") when unknown. */
static size_t endpoint_of(const char *path)
{
	size_t i;

	for (i = 1; i < NENDPOINTS; i++)
		if (strcmp(path, endpoints[i]) == 0)
			return i;
	return 0;
}

/* ---- histograms --------------------------------------------------------- */

static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
				 1, 2.5, 5, 10, 30 };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct histo {
	atomic_ullong bucket[NBOUNDS + 1]; /* the last one: over 30 s */
	atomic_ullong sum_ns;
};

static void histo_observe(struct histo *h, const struct timespec *t0)
{
	struct timespec now;
	long long ns;
	size_t i = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(now.tv_sec - t0->tv_sec) * 1000000000LL +
	     (now.tv_nsec - t0->tv_nsec);
	if (ns < 0)
		ns = 0;
	while (i < NBOUNDS && (double)ns / 1e9 > bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)ns,
				  memory_order_relaxed);
}

/* ---- the counters ------------------------------------------------------- */

static atomic_ullong requests[NENDPOINTS][NSTATUS];
static struct histo request_seconds[NENDPOINTS];
static struct histo merge_seconds;
static atomic_ullong batches_accepted;
static atomic_ullong events_accepted, events_duplicate, events_rejected;
static atomic_llong cert_not_after;           /* without a holder */
static struct tb_tlscert *_Atomic cert_holder; /* read at each scrape */

void tb_metrics_request(const char *what, unsigned status,
			const struct timespec *t0)
{
	const char *path = strchr(what, ' ');
	size_t e = endpoint_of(path ? path + 1 : what);

	atomic_fetch_add_explicit(&requests[e][status < NSTATUS ? status : 0],
				  1, memory_order_relaxed);
	histo_observe(&request_seconds[e], t0);
}

void tb_metrics_merge(const struct tb_ack *ack, const struct timespec *t0)
{
	atomic_fetch_add_explicit(&batches_accepted, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&events_accepted,
				  (unsigned long long)ack->accepted,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&events_duplicate,
				  (unsigned long long)ack->duplicates,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&events_rejected,
				  (unsigned long long)ack->nrejected,
				  memory_order_relaxed);
	histo_observe(&merge_seconds, t0);
}

int tb_metrics_cert_expiry(const char *pem, int64_t *out)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	time_t t;
	int rc = TB_EINVAL;

	if (!pem || gnutls_x509_crt_init(&crt) < 0)
		return TB_EINVAL;
	memcpy(&d.data, &pem, sizeof(d.data)); /* GnuTLS only reads it */
	d.size = (unsigned)strlen(pem);
	/* gnutls_x509_crt_import takes the first certificate of a chain */
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0) {
		t = gnutls_x509_crt_get_expiration_time(crt);
		if (t != (time_t)-1) {
			*out = (int64_t)t;
			rc = TB_OK;
		}
	}
	gnutls_x509_crt_deinit(crt);
	return rc;
}

void tb_metrics_cert(const char *pem, struct tb_tlscert *certs)
{
	int64_t t = 0;

	atomic_store(&cert_holder, certs);
	if (!certs && tb_metrics_cert_expiry(pem, &t) < 0)
		t = 0;
	atomic_store(&cert_not_after, (long long)t);
}

/* ---- the exposition text ------------------------------------------------ */

static int head(struct tb_buf *b, const char *name, const char *type,
		const char *help)
{
	return tb_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
			     name, type);
}

static unsigned long long load(atomic_ullong *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/* The series of one histogram; labels is "" or `endpoint="/x",`. */
static int histo_text(struct tb_buf *b, const char *name, const char *labels,
		      struct histo *h)
{
	unsigned long long cum = 0;
	size_t i;
	int rc = TB_OK;

	for (i = 0; rc == TB_OK && i <= NBOUNDS; i++) {
		cum += load(&h->bucket[i]);
		if (i < NBOUNDS)
			rc = tb_buf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n",
					   name, labels, bounds[i], cum);
		else
			rc = tb_buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n",
					   name, labels, cum);
	}
	if (rc == TB_OK) {
		size_t n = strlen(labels);

		/* labels without its trailing comma, in braces, or nothing */
		rc = tb_buf_printf(b, "%s_sum%s%.*s%s %.9f\n%s_count%s%.*s%s "
				   "%llu\n", name, n ? "{" : "", (int)(n ? n - 1 : 0),
				   labels, n ? "}" : "",
				   (double)load(&h->sum_ns) / 1e9, name,
				   n ? "{" : "", (int)(n ? n - 1 : 0), labels,
				   n ? "}" : "", cum);
	}
	return rc;
}

static int requests_text(struct tb_buf *b)
{
	char labels[64];
	size_t e, s;
	int rc;

	rc = head(b, "tienbo_http_requests_total", "counter",
		  "HTTP requests answered, by route and status code (none: "
		  "no answer was sent).");
	for (e = 0; rc == TB_OK && e < NENDPOINTS; e++)
		for (s = 0; rc == TB_OK && s < NSTATUS; s++) {
			unsigned long long n = load(&requests[e][s]);
			char code[8];

			if (!n)
				continue;
			snprintf(code, sizeof(code), "%zu", s);
			rc = tb_buf_printf(b, "tienbo_http_requests_total{"
					   "endpoint=\"%s\",code=\"%s\"} %llu\n",
					   endpoints[e], s ? code : "none", n);
		}
	if (rc == TB_OK)
		rc = head(b, "tienbo_http_request_duration_seconds", "histogram",
			  "Time from a request's first byte to its answer "
			  "sent, by route.");
	for (e = 0; rc == TB_OK && e < NENDPOINTS; e++) {
		unsigned long long any = 0;

		for (s = 0; s <= NBOUNDS; s++)
			any += load(&request_seconds[e].bucket[s]);
		if (!any)
			continue;
		snprintf(labels, sizeof(labels), "endpoint=\"%s\",",
			 endpoints[e]);
		rc = histo_text(b, "tienbo_http_request_duration_seconds",
				labels, &request_seconds[e]);
	}
	return rc;
}

static int merge_text(struct tb_buf *b)
{
	int rc;

	rc = head(b, "tienbo_batches_accepted_total", "counter",
		  "Batches merged and committed (answered 200).");
	if (rc == TB_OK)
		rc = tb_buf_printf(b, "tienbo_batches_accepted_total %llu\n",
				   load(&batches_accepted));
	if (rc == TB_OK)
		rc = head(b, "tienbo_events_total", "counter",
			  "Events of committed batches, by what the merge did "
			  "with them.");
	if (rc == TB_OK)
		rc = tb_buf_printf(b, "tienbo_events_total{result=\"accepted\"} "
				   "%llu\ntienbo_events_total{result="
				   "\"duplicate\"} %llu\ntienbo_events_total{"
				   "result=\"rejected\"} %llu\n",
				   load(&events_accepted),
				   load(&events_duplicate),
				   load(&events_rejected));
	if (rc == TB_OK)
		rc = head(b, "tienbo_merge_duration_seconds", "histogram",
			  "Time to merge and commit one batch, under the "
			  "write lock.");
	if (rc == TB_OK)
		rc = histo_text(b, "tienbo_merge_duration_seconds", "",
				&merge_seconds);
	return rc;
}

/* ---- gauges read at scrape time ----------------------------------------- */

static const char *const ages[] = { "under_1d", "1d_to_7d", "7d_to_14d",
				    "14d_to_30d", "over_30d", "never" };
#define NAGES (sizeof(ages) / sizeof(ages[0]))

/* Open schools (not closed today) by the age of their latest upload. */
static int schools_text(struct tb_buf *b, struct tb_sql *db)
{
	static const char sql[] =
		"SELECT CASE WHEN s IS NULL THEN 5"
		" WHEN ?1 - s < 86400 THEN 0 WHEN ?1 - s < 7 * 86400 THEN 1"
		" WHEN ?1 - s < 14 * 86400 THEN 2"
		" WHEN ?1 - s < 30 * 86400 THEN 3 ELSE 4 END, count(*)"
		" FROM (SELECT (SELECT max(d.last_seen) FROM devices d"
		"  WHERE d.school = u.code) AS s FROM units u"
		"  WHERE u.type = 'school' AND NOT EXISTS (SELECT 1 FROM"
		"  unit_closures c WHERE c.unit = u.code AND c.closed_from <= ?2"
		"  AND (c.reopened_from IS NULL OR c.reopened_from > ?2))) AS a"
		" GROUP BY 1";
	long long n[NAGES] = { 0 };
	char today[TB_DATE_LEN];
	struct tb_stmt *st = NULL;
	size_t i;
	int rc;

	if (tb_sql_prepare(db, sql, 0, &st) != TB_OK)
		return TB_EIO;
	tb_sql_bind_int64(st, 1, (int64_t)time(NULL));
	tb_sql_bind_text(st, 2, tb_date_format(tb_date_today(), today), -1);
	while ((rc = tb_sql_step(st)) == TB_SQL_ROW) {
		int k = tb_sql_column_int64(st, 0);

		if (k >= 0 && (size_t)k < NAGES)
			n[k] = tb_sql_column_int64(st, 1);
	}
	tb_sql_finalize(st);
	if (rc != TB_SQL_DONE)
		return TB_EIO;
	rc = head(b, "tienbo_schools", "gauge",
		  "Open schools by the age of their latest upload (never: no "
		  "upload yet); closed schools are not counted.");
	for (i = 0; rc == TB_OK && i < NAGES; i++)
		rc = tb_buf_printf(b, "tienbo_schools{last_seen=\"%s\"} %lld\n",
				   ages[i], n[i]);
	return rc;
}

static int rejected_text(struct tb_buf *b, struct tb_sql *db)
{
	struct tb_stmt *st = NULL;
	long long n = -1;
	int rc;

	if (tb_sql_prepare(db, "SELECT count(*) FROM rejections", 0, &st) != TB_OK)
		return TB_EIO;
	if (tb_sql_step(st) == TB_SQL_ROW)
		n = tb_sql_column_int64(st, 0);
	tb_sql_finalize(st);
	if (n < 0)
		return TB_EIO;
	rc = head(b, "tienbo_rejected_events", "gauge",
		  "Events refused one by one and kept in the database with "
		  "their reason (tienbo-server rejections).");
	if (rc == TB_OK)
		rc = tb_buf_printf(b, "tienbo_rejected_events %lld\n", n);
	return rc;
}

/* PostgreSQL: the database's size (its disk is the database server's). */
static int pg_size_text(struct tb_buf *b, struct tb_sql *db)
{
	int64_t size = 0;
	int rc = tb_health_pg_size(db, &size);

	if (rc < 0)
		return rc;
	rc = head(b, "tienbo_database_size_bytes", "gauge",
		  "Size of the PostgreSQL database (pg_database_size).");
	if (rc == TB_OK)
		rc = tb_buf_printf(b, "tienbo_database_size_bytes %lld\n",
				   (long long)size);
	return rc;
}

/* Database file + WAL, and the free space of its file system. */
static int files_text(struct tb_buf *b, struct tb_sql *db)
{
	struct sqlite3 *h = tb_sql_sqlite(db);
	const char *path = h ? sqlite3_db_filename(h, "main") : NULL;
	char wal[4096];
	struct statvfs vfs;
	struct stat st;
	long long size = 0;
	int rc = TB_OK;

	if (tb_sql_backend(db) == TB_SQL_PG)
		return pg_size_text(b, db);
	if (!path || !path[0] || stat(path, &st) != 0)
		return TB_EIO;
	size = (long long)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0)
		size += (long long)st.st_size;
	rc = head(b, "tienbo_database_size_bytes", "gauge",
		  "Size of the database file and its write-ahead log.");
	if (rc == TB_OK)
		rc = tb_buf_printf(b, "tienbo_database_size_bytes %lld\n", size);
	if (rc == TB_OK && statvfs(path, &vfs) == 0) {
		rc = head(b, "tienbo_disk_free_bytes", "gauge",
			  "Bytes free for the server on the database's file "
			  "system.");
		if (rc == TB_OK)
			rc = tb_buf_printf(b, "tienbo_disk_free_bytes %llu\n",
					   (unsigned long long)vfs.f_bavail *
						   vfs.f_frsize);
	}
	return rc;
}

static int cert_text(struct tb_buf *b)
{
	struct tb_tlscert *certs = atomic_load(&cert_holder);
	long long t = certs ? (long long)tb_tlscert_not_after(certs)
			    : atomic_load(&cert_not_after);
	int rc;

	if (!t)
		return TB_OK;
	rc = head(b, "tienbo_certificate_expiry_timestamp_seconds", "gauge",
		  "The serving certificate's notAfter, Unix time.");
	if (rc == TB_OK)
		rc = tb_buf_printf(b, "tienbo_certificate_expiry_timestamp_"
				   "seconds %lld\n", t);
	return rc;
}

int tb_metrics_text(struct tb_sql *db, char **out, size_t *len)
{
	struct tb_buf b = TB_BUF_INIT;
	int rc;

	*out = NULL;
	rc = requests_text(&b);
	if (rc == TB_OK)
		rc = merge_text(&b);
	/* a database gauge that cannot be read is left out, not the scrape */
	if (rc == TB_OK && db && schools_text(&b, db) == TB_ENOMEM)
		rc = TB_ENOMEM;
	if (rc == TB_OK && db && rejected_text(&b, db) == TB_ENOMEM)
		rc = TB_ENOMEM;
	if (rc == TB_OK && db && files_text(&b, db) == TB_ENOMEM)
		rc = TB_ENOMEM;
	if (rc == TB_OK)
		rc = cert_text(&b);
	if (rc == TB_OK)
		*out = tb_buf_detach(&b, len);
	tb_buf_free(&b);
	return *out ? TB_OK : TB_ENOMEM;
}

enum MHD_Result tb_metrics_handle(struct MHD_Connection *c,
				  struct tb_dbpool *pool,
				  const struct tb_resp_env *env,
				  const char *method, int need_token)
{
	struct tb_sql *db = tb_dbpool_conn(pool);
	char buf[128], *text = NULL;
	const char *token;
	size_t len = 0;
	int rc;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return tb_resp_not_allowed(c, "GET, HEAD", TB_METRICS_ROUTE);
	if (need_token) {
		token = tb_resp_bearer(c, buf, sizeof(buf));
		rc = !db ? TB_EAGAIN
		     : token ? tb_auth_admin(db, token) : TB_EAUTH;
		if (rc == TB_EAUTH)
			return tb_resp_error(c, env, 401, NULL, "missing, "
					     "unknown or revoked admin token",
					     -1, 0);
		if (rc < 0)
			return tb_resp_error(c, env, 503, NULL,
					     "database unavailable", -1, 0);
	}
	if (tb_metrics_text(db, &text, &len) < 0)
		return tb_resp_error(c, env, 503, NULL, "out of memory", -1, 0);
	return tb_resp_body(c, 200, text, len, TB_METRICS_CTYPE);
}
