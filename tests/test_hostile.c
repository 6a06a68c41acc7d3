/* test_hostile.c - hostile input against a live tienbo-server over real
 * HTTPS on 127.0.0.1: a table of cases at the transport and resource level
 * (broken HTTP framing, huge headers, slow and silent clients, plain HTTP
 * and old TLS on the HTTPS port, a gigabyte gzip bomb, deep JSON, invalid
 * UTF-8, huge strings and numbers, sequence numbers at INT64_MAX, tokens
 * used where they do not belong), each with its documented answer.
 *
 * protocol/vectors (tests/test_server_vectors.c) already posts one case
 * per protocol rule and tests/test_server_limits.c the basic limits; the
 * cases here are the ones those do not send: requests libcurl will not
 * make (tests/helper_tls.c sends raw bytes over TLS or TCP), resource
 * attacks at their largest, and the list in forms the vectors do
 * not use.
 *
 * For every case: the status and the JSON error code (or, for a request
 * so broken that libmicrohttpd answers it itself, MHD's status; or the
 * connection closed with no answer), and nothing of it stored: the rows
 * of every table a request could write are counted before and after
 * (an event rejected on its own leaves one row in `rejections` and moves
 * the cursor, and nothing in `events` or `event_history`). Meanwhile a
 * well-behaved uploader runs in a thread (helper_server_feed) and every
 * one of its batches must be acknowledged in full; at the end the
 * server's peak memory (VmHWM) must stay under a bound worked out below.
 * Then, one test each: an id sent twice in a batch with different content,
 * a token revoked while its upload is in flight, SQL and HTML in a title
 * kept as data, another school's event id, and clients that trickle their
 * headers (they hold their own connections only; SECURITY.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "server/evrow.h"
#include "tests/helper_server.h"
#include "tests/helper_tls.h"

/* The server is started with short clocks so that slow clients are cut
 * within the test's time: 2 s of silence, 3 s for a whole upload. */
#define TIMEOUT_S 2
#define UPLOAD_TIMEOUT_S 3

#define SCHOOL_A "HB-901"   /* the hostile sender's own school */
#define SCHOOL_B "HB-902"   /* another school */
#define SCHOOL_F "HB-903"   /* the well-behaved uploader beside */
#define SCHOOL_R "HB-904"   /* its token revoked before the test */
#define SCHOOL_M "HB-905"   /* its token revoked mid-upload */
#define SCHOOL_T "HB-906"   /* an unbound token that tries a takeover */
#define DEV_A "5e1f0c2a-7b3d-4e6f-8a90-00000000000a"
#define DEV_B "5e1f0c2a-7b3d-4e6f-8a90-00000000000b"
#define DEV_F "5e1f0c2a-7b3d-4e6f-8a90-00000000000f"
#define DEV_M "5e1f0c2a-7b3d-4e6f-8a90-0000000000d5"
#define TAG_A 0x901u
#define FEED_EVENTS 20

/* Peak memory bound, KiB. The server streams a body into a gzip stream
 * (never the body itself) whose output stops at TB_INFLATE_MAX = 8 MiB;
 * decoding that is bounded by the pre-scan's 320,064 JSON values: about
 * 64 bytes of cJSON node each (20 MiB) plus their strings (at most the
 * 8 MiB of input), and the decoded batch and the event bodies prepared
 * for the merge are each at most about the input again (16 MiB). So one
 * upload costs at most ~50 MiB, whatever was sent. Here at most two run
 * at once (the table is sent one case at a time, beside the feeder's
 * small batches), plus MHD's 64 KiB per connection, SQLite's page caches
 * (2 MiB per connection) and the binary with its libraries (~15 MiB):
 * 2 x 50 + 15 + a few = ~120 MiB worst case, bounded at 200 MB. A server
 * that inflated the 1000 MiB bomb, or kept a 10 MB string whole, would
 * pass it. Under AddressSanitizer every allocation carries redzones and
 * freed memory waits in a quarantine (see group_setup), so the bound
 * there is twice as large. */
#if defined(__SANITIZE_ADDRESS__)
#define PEAK_KB (400L * 1024)
#else
#define PEAK_KB (200L * 1024)
#endif

static struct helper_server srv;
static char tok_a[65], tok_b[65], tok_f[65], tok_r[65], tok_m[65],
	tok_t[65];
static int64_t next_seq; /* DEV_A's next sequence number */
static struct helper_server_feed *feed; /* stopped by teardown if a test
					 * failed with it running */

/* ---- building requests ---------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_fmt(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(buf));
	sb_add(b, buf, (size_t)n);
}

static void sb_rep(struct sbuf *b, const char *s, size_t times)
{
	size_t i, n = strlen(s);

	for (i = 0; i < times; i++)
		sb_add(b, s, n);
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* The head of a raw HTTP/1.1 request, ending before the blank line. */
static void sb_head(struct sbuf *b, const char *method, const char *target,
		    const char *token)
{
	sb_fmt(b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
	       method, target);
	if (token)
		sb_fmt(b, "Authorization: Bearer %s\r\n", token);
}

/* The head of an upload with A's token, every header right. */
static void sb_upload_head(struct sbuf *b)
{
	sb_head(b, "POST", "/v1/batches", tok_a);
	sb_str(b, "Content-Type: application/json\r\nContent-Encoding: gzip\r\n");
}

/* The envelope keys of an event that breaks no rule. */
#define EV_HEAD(kind, date, rev, at)                                        \
	"\"kind\":\"" kind "\",\"date\":\"" date "\",\"revision\":" rev     \
	",\"recorded_at\":\"" at "\""
#define EV_OK EV_HEAD("outreach", "2025-11-20", "1", "2025-11-20T08:00:00Z")

/* A batch of A's device at next_seq with one event: pre, rep repeated
 * count times, post make up the event's keys after "id" and "seq". */
static void sb_batch1(struct sbuf *b, const char *pre, const char *rep,
		      size_t count, const char *post)
{
	char id[37];

	helper_server_id(TAG_A, next_seq, id);
	sb_fmt(b, "{\"version\":1,\"device\":\"" DEV_A "\",\"school\":\""
	       SCHOOL_A "\",\"first_seq\":%lld,\"last_seq\":%lld,\"events\":"
	       "[{\"id\":\"%s\",\"seq\":%lld,", (long long)next_seq,
	       (long long)next_seq, id, (long long)next_seq);
	sb_str(b, pre);
	sb_rep(b, rep, count);
	sb_str(b, post);
	sb_str(b, "}]}");
}

/* ---- what came back ------------------------------------------------------- */

struct out {
	long status;   /* 0: no HTTP answer */
	char *body;    /* malloc'd, NUL-terminated */
	size_t len;
	int closed;    /* the server ended the connection without answering */
	long ms;
};

static void out_from_resp(struct out *o, struct helper_server_resp *r)
{
	o->status = r->status;
	o->body = r->body;
	o->len = r->len;
	o->closed = r->status == 0;
	r->body = NULL;
}

static void out_from_tls(struct out *o, struct helper_tls_reply *r)
{
	o->status = r->status;
	o->len = r->body ? r->body_len : 0;
	o->body = malloc(o->len + 1);
	assert_non_null(o->body);
	if (o->len)
		memcpy(o->body, r->body, o->len);
	o->body[o->len] = '\0';
	o->closed = r->closed && r->status == 0;
	o->ms = r->ms;
	helper_tls_reply_free(r);
}

/* Sends raw bytes over TLS and reads the answer (10 s at most). */
static void raw_tls(struct out *o, const struct sbuf *req)
{
	struct helper_tls_reply r;

	assert_int_equal(helper_tls_exchange(srv.port, srv.ca, req->p, req->len,
					     10000, &r), 0);
	out_from_tls(o, &r);
}

static void raw_head(struct out *o, const char *method, const char *target,
		     const char *token, const char *headers)
{
	struct sbuf b = { 0 };

	sb_head(&b, method, target, token);
	sb_str(&b, headers);
	sb_str(&b, "\r\n");
	raw_tls(o, &b);
	sb_free(&b);
}

/* An upload of A with every header right, then rest (more headers, the
 * blank line, a body), raw over TLS. */
static void raw_upload(struct out *o, const char *rest)
{
	struct sbuf b = { 0 };

	sb_upload_head(&b);
	sb_str(&b, rest);
	raw_tls(o, &b);
	sb_free(&b);
}

/* pre, rep repeated count times, post: raw over TLS. */
static void raw_rep(struct out *o, const char *pre, const char *rep,
		    size_t count, const char *post)
{
	struct sbuf b = { 0 };

	sb_str(&b, pre);
	sb_rep(&b, rep, count);
	sb_str(&b, post);
	raw_tls(o, &b);
	sb_free(&b);
}

/* POSTs data gzip-compressed to /v1/batches with token. */
static void post_gz(struct out *o, const char *token, const void *data,
		    size_t len)
{
	struct helper_server_resp r;
	unsigned char *gz = NULL;
	size_t gzlen = 0;

	assert_int_equal(tb_gz_compress(data, len, 6, &gz, &gzlen), 0);
	helper_server_request(&srv, "POST", "/v1/batches", token,
			      "application/json", "gzip", gz, gzlen, 0, &r);
	tb_free(gz);
	out_from_resp(o, &r);
}

static void post_sb(struct out *o, struct sbuf *b)
{
	post_gz(o, tok_a, b->p, b->len);
	sb_free(b);
}

/* One event of A at next_seq (see sb_batch1), posted. */
static void post_event(struct out *o, const char *pre, const char *rep,
		       size_t count, const char *post)
{
	struct sbuf b = { 0 };

	sb_batch1(&b, pre, rep, count, post);
	post_sb(o, &b);
}

/* Posts b (freed) as A's, expects 200 and decodes the ack into *ack
 * (clear it with tb_ack_clear). */
static void post_ack(struct sbuf *b, struct tb_ack *ack)
{
	struct out o;
	char msg[256];

	memset(&o, 0, sizeof(o));
	post_sb(&o, b);
	if (o.status != 200)
		fail_msg("expected 200, got %ld: %s", o.status, o.body);
	tb_ack_init(ack);
	assert_int_equal(tb_ack_decode(o.body, o.len, ack, msg, sizeof(msg)),
			 0);
	free(o.body);
}

static void request(struct out *o, const char *method, const char *path,
		    const char *token, const char *ctype, const char *cenc,
		    const void *body, size_t len)
{
	struct helper_server_resp r;

	helper_server_request(&srv, method, path, token, ctype, cenc, body,
			      len, 0, &r);
	out_from_resp(o, &r);
}

/* ---- transport and HTTP framing (raw bytes over TLS) ------------------- */

static void c_header_100k(struct out *o)
{
	raw_rep(o, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ", "a",
		100 * 1024, "\r\n\r\n");
}

static void c_headers_10000(struct out *o)
{
	raw_rep(o, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-H: v\r\n",
		10000, "\r\n");
}

static void c_target_100k(struct out *o)
{
	raw_rep(o, "GET /v1/cursor?device=", "a", 100 * 1024,
		" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

static void c_not_http(struct out *o)
{
	raw_rep(o, "\x01\x02\x7f NOT HTTP \xff\xfe\r\n\r\n", "", 0, "");
}

static void c_http_9(struct out *o)
{
	raw_rep(o, "GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", "", 0, "");
}

static void c_no_colon(struct out *o)
{
	raw_head(o, "GET", "/healthz", NULL, "NoColonHere\r\n");
}

static void c_length_abc(struct out *o)
{
	raw_head(o, "POST", "/v1/batches", tok_a, "Content-Length: abc\r\n");
}

static void c_length_negative(struct out *o)
{
	raw_head(o, "POST", "/v1/batches", tok_a, "Content-Length: -5\r\n");
}

static void c_length_huge(struct out *o)
{
	raw_head(o, "POST", "/v1/batches", tok_a,
		 "Content-Length: 99999999999999999999999\r\n");
}

static void c_chunk_garbage(struct out *o)
{
	raw_upload(o, "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
}

/* A chunk that says it is 2^64 - 1 bytes long, then silence: the body
 * never ends, so no answer can come; the connection must be cut after
 * TIMEOUT_S of silence (and would be at 2 MiB of body if it went on). */
static void c_chunk_huge(struct out *o)
{
	raw_upload(o, "Transfer-Encoding: chunked\r\n\r\n"
		      "FFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n");
	assert_true(o->ms < (TIMEOUT_S + 4) * 1000L);
}

/* Both framings at once, the shape of request smuggling: the server
 * reads the chunked body ("abc"), which is not gzip. */
static void c_length_and_chunked(struct out *o)
{
	raw_upload(o, "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
		      "3\r\nabc\r\n0\r\n\r\n");
}

static void c_two_lengths(struct out *o)
{
	raw_upload(o, "Content-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg");
}

/* 2 MB announced, nothing sent: refused from the headers alone. */
static void c_expect_continue(struct out *o)
{
	raw_upload(o, "Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n");
}

static void c_bearer_10k(struct out *o)
{
	struct sbuf b = { 0 };

	sb_head(&b, "POST", "/v1/batches", NULL);
	sb_str(&b, "Authorization: Bearer ");
	sb_rep(&b, "a", 10 * 1024);
	sb_str(&b, "\r\nContent-Type: application/json\r\n"
		   "Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n");
	raw_tls(o, &b);
	sb_free(&b);
}

static void c_basic_auth(struct out *o)
{
	raw_head(o, "POST", "/v1/batches", NULL,
		 "Authorization: Basic dXNlcjpwYXNz\r\n"
		 "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
		 "Content-Length: 0\r\n");
}

/* A valid gzip batch of A, as the body of the slow cases: had the server
 * let them finish, it would be stored. */
static unsigned char *good_gz(size_t *len)
{
	char *json = helper_server_batch(DEV_A, SCHOOL_A, next_seq, 1, TAG_A,
					 1, 0);
	unsigned char *gz = NULL;

	assert_non_null(json);
	assert_int_equal(tb_gz_compress(json, strlen(json), 6, &gz, len), 0);
	free(json);
	return gz;
}

/* The body trickles in one byte every 250 ms: never silent long enough
 * for TIMEOUT_S, cut once the upload has taken UPLOAD_TIMEOUT_S (checked
 * when a piece arrives: cut between 3 and 5 s after the headers). */
static void c_trickle_body(struct out *o)
{
	struct helper_tls_reply r;
	struct helper_tls *t;
	struct sbuf b = { 0 };
	struct timespec nap = { 0, 250 * 1000000L };
	size_t len = 0, i;
	unsigned char *gz = good_gz(&len);
	char msg[128];
	int why;

	t = helper_tls_open(srv.port, srv.ca, NULL, &why, msg, sizeof(msg));
	assert_non_null(t);
	sb_upload_head(&b);
	sb_fmt(&b, "Content-Length: %zu\r\n\r\n", len);
	assert_int_equal(helper_tls_send(t, b.p, b.len), 0);
	/* at most 40 bytes (10 s); the server must cut it long before */
	for (i = 0; i < len && i < 40; i++) {
		if (helper_tls_send(t, gz + i, 1) != 0)
			break;
		nanosleep(&nap, NULL);
	}
	helper_tls_read(t, 3000, &r);
	helper_tls_close(t);
	tb_free(gz);
	sb_free(&b);
	out_from_tls(o, &r);
	o->ms = (long)i * 250 + o->ms;
	assert_true(i < 40 && i < len);
	assert_true(o->ms >= (UPLOAD_TIMEOUT_S - 1) * 1000L);
	assert_true(o->ms <= (UPLOAD_TIMEOUT_S + 4) * 1000L);
}

/* Headers, then silence: cut after TIMEOUT_S. */
static void c_silent(struct out *o)
{
	raw_upload(o, "Content-Length: 100\r\n\r\n");
	assert_true(o->ms >= (TIMEOUT_S - 1) * 1000L);
	assert_true(o->ms <= (TIMEOUT_S + 4) * 1000L);
}

/* ---- the TLS layer --------------------------------------------------- */

/* Plain HTTP (a valid token and batch) to the HTTPS port: the TLS layer
 * takes it for a broken handshake; no HTTP answer, nothing stored. */
static void c_plain_http(struct out *o)
{
	struct helper_tls_reply r;
	struct helper_tls *t;
	struct sbuf b = { 0 };
	size_t len = 0;
	unsigned char *gz = good_gz(&len);
	char msg[128];
	int why;

	t = helper_tls_open(srv.port, NULL, NULL, &why, msg, sizeof(msg));
	assert_non_null(t);
	sb_upload_head(&b);
	sb_fmt(&b, "Content-Length: %zu\r\n\r\n", len);
	sb_add(&b, gz, len);
	helper_tls_send(t, b.p, b.len);
	helper_tls_read(t, 5000, &r);
	helper_tls_close(t);
	tb_free(gz);
	sb_free(&b);
	assert_null(strstr(r.data, "HTTP/"));
	out_from_tls(o, &r);
}

/* A client that offers only TLS 1.1: the server speaks 1.2 and 1.3. */
static void c_tls_1_1(struct out *o)
{
	char msg[256];
	int why = 0;
	struct helper_tls *t = helper_tls_open(
		srv.port, srv.ca, "NORMAL:-VERS-ALL:+VERS-TLS1.1", &why, msg,
		sizeof(msg));

	if (t)
		helper_tls_close(t);
	assert_null(t);
	assert_int_equal(why, -2); /* the handshake, not the setup */
	o->body = calloc(1, 1);
	o->closed = 1;
}

/* 4 KB of noise where the ClientHello should be. */
static void c_tls_noise(struct out *o)
{
	struct helper_tls_reply r;
	struct helper_tls *t;
	unsigned char noise[4096];
	uint32_t x = 2463534242u;
	char msg[128];
	size_t i;
	int why;

	for (i = 0; i < sizeof(noise); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		noise[i] = (unsigned char)x;
	}
	t = helper_tls_open(srv.port, NULL, NULL, &why, msg, sizeof(msg));
	assert_non_null(t);
	helper_tls_send(t, noise, sizeof(noise));
	helper_tls_read(t, 5000, &r);
	helper_tls_close(t);
	assert_null(strstr(r.data, "HTTP/"));
	out_from_tls(o, &r);
}

/* ---- methods, paths, where a token may go ----------------------------- */

static void c_put(struct out *o)
{
	request(o, "PUT", "/v1/batches", tok_a, "application/json", "gzip",
		"x", 1);
}

static void c_trace(struct out *o)
{
	raw_head(o, "TRACE", "/v1/batches", tok_a, "");
}

static void c_delete_cursor(struct out *o)
{
	request(o, "DELETE", "/v1/cursor?device=" DEV_A, tok_a, NULL, NULL,
		NULL, 0);
}

static void c_trailing_slash(struct out *o)
{
	request(o, "POST", "/v1/batches/", tok_a, "application/json", "gzip",
		"x", 1);
}

static void c_dot_segments(struct out *o)
{
	raw_head(o, "POST", "/v1/../v1/batches", tok_a,
		 "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
		 "Content-Length: 0\r\n");
}

static void c_upper_case_path(struct out *o)
{
	request(o, "POST", "/V1/BATCHES", tok_a, "application/json", "gzip",
		"x", 1);
}

static void c_device_admin_export(struct out *o)
{
	request(o, "GET", "/v1/admin/export?format=json", tok_a, NULL, NULL,
		NULL, 0);
}

static void c_device_admin_enroll(struct out *o)
{
	request(o, "POST", "/v1/admin/enroll?school=HB-999&name=x&district="
		"HB-D9", tok_a, NULL, NULL, "", 0);
}

static void c_device_report(struct out *o)
{
	request(o, "GET", "/v1/report", tok_a, NULL, NULL, NULL, 0);
}

static void c_other_cursor(struct out *o)
{
	request(o, "GET", "/v1/cursor?device=" DEV_B, tok_a, NULL, NULL, NULL,
		0);
}

static void c_cursor_sql(struct out *o)
{
	request(o, "GET", "/v1/cursor?device=%27%20OR%201%3D1%20--", tok_a,
		NULL, NULL, NULL, 0);
}

static void c_gzip_gzip(struct out *o)
{
	request(o, "POST", "/v1/batches", tok_a, "application/json",
		"gzip, gzip", "x", 1);
}

static void c_x_gzip(struct out *o)
{
	request(o, "POST", "/v1/batches", tok_a, "application/json", "x-gzip",
		"x", 1);
}

/* ---- bodies: size, depth, encoding, numbers -------------------------- */

/* A gzip member of 1000 MiB of zeros in about 1 MB (under TB_BODY_MAX):
 * 1 MiB of zeros deflated with a full flush (so the block refers to
 * nothing before it and can be repeated as is), repeated 1000 times, then
 * the final empty block and the trailer (the CRC-32 of 1000 MiB of zeros,
 * and the length mod 2^32). Deflating the whole gigabyte would take
 * seconds; this takes milliseconds. */
#define BOMB_MIB 1000

static unsigned char *bomb(size_t *len)
{
	unsigned char *zeros = calloc(1, 1u << 20), *seg, *out, *p;
	unsigned char fin[16];
	uLong crc1, crc;
	size_t seglen, finlen, i;
	z_stream z;

	assert_non_null(zeros);
	seg = malloc(1u << 16);
	assert_non_null(seg);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9,
				      Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = zeros;
	z.avail_in = 1u << 20;
	z.next_out = seg;
	z.avail_out = 1u << 16;
	assert_int_equal(deflate(&z, Z_FULL_FLUSH), Z_OK);
	assert_int_equal(z.avail_in, 0);
	seglen = (1u << 16) - z.avail_out;
	z.next_out = fin;
	z.avail_out = sizeof(fin);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	finlen = sizeof(fin) - z.avail_out;
	deflateEnd(&z);
	crc1 = crc32(0L, zeros, 1u << 20);
	crc = crc1;
	for (i = 1; i < BOMB_MIB; i++)
		crc = crc32_combine(crc, crc1, 1L << 20);
	*len = 10 + seglen * BOMB_MIB + finlen + 8;
	out = malloc(*len);
	assert_non_null(out);
	memcpy(out, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
	p = out + 10;
	for (i = 0; i < BOMB_MIB; i++, p += seglen)
		memcpy(p, seg, seglen);
	memcpy(p, fin, finlen);
	p += finlen;
	for (i = 0; i < 4; i++)
		*p++ = (unsigned char)(crc >> (8 * i));
	for (i = 0; i < 4; i++)
		*p++ = (unsigned char)(((uLong)BOMB_MIB << 20) >> (8 * i));
	free(zeros);
	free(seg);
	return out;
}

static void c_gzip_bomb(struct out *o)
{
	size_t len = 0;
	unsigned char *gz = bomb(&len);
	unsigned char *head = NULL;
	size_t hlen = 0;

	/* valid gzip: its first 8 MiB inflate (and then the cap stops it) */
	assert_true(len < (size_t)TB_BODY_MAX);
	assert_int_equal(tb_gz_decompress(gz, len, 1u << 20, &head, &hlen),
			 TB_ETOOBIG);
	request(o, "POST", "/v1/batches", tok_a, "application/json", "gzip",
		gz, len);
	free(gz);
	tb_free(head);
}

static void c_nest_objects(struct out *o)
{
	struct sbuf b = { 0 };

	sb_rep(&b, "{\"a\":", 100000);
	sb_str(&b, "1");
	sb_rep(&b, "}", 100000);
	post_sb(o, &b);
}

static void c_nest_in_event(struct out *o)
{
	struct sbuf b = { 0 };

	sb_batch1(&b, EV_OK ",\"parents\":1,\"title\":", "[", 100000, "");
	/* close the arrays: sb_batch1 ended the batch with "}]}" */
	b.len -= 3;
	sb_rep(&b, "]", 100000);
	sb_str(&b, "}]}");
	post_sb(o, &b);
}

static void c_school_bad_utf8(struct out *o)
{
	struct sbuf b = { 0 };
	char *s;

	sb_batch1(&b, EV_OK ",\"title\":\"t\",\"parents\":1", "", 0, "");
	s = strstr(b.p, SCHOOL_A);
	assert_non_null(s);
	s[3] = (char)0xff; /* "HB-\xff01" */
	post_sb(o, &b);
}

/* An envelope with the given sequence numbers (text, as sent) and one
 * good event whose seq is first. */
static void post_envelope(struct out *o, const char *school, const char *first,
			  const char *last)
{
	struct sbuf b = { 0 };

	sb_fmt(&b, "{\"version\":1,\"device\":\"" DEV_A "\",\"school\":\"%s\","
	       "\"first_seq\":%s,\"last_seq\":%s,\"events\":[{\"id\":"
	       "\"00000901-0000-4000-8000-0000000000ff\",\"seq\":%s,", school,
	       first, last, first);
	sb_str(&b, EV_OK ",\"title\":\"t\",\"parents\":1}]}");
	post_sb(o, &b);
}

static void c_first_seq_max(struct out *o)
{
	post_envelope(o, SCHOOL_A, "9223372036854775807", "9223372036854775807");
}

static void c_last_seq_max(struct out *o)
{
	char first[32];

	snprintf(first, sizeof(first), "%lld", (long long)next_seq);
	post_envelope(o, SCHOOL_A, first, "9223372036854775807");
}

static void c_first_seq_negative(struct out *o)
{
	post_envelope(o, SCHOOL_A, "-1", "-1");
}

static void c_school_sql(struct out *o)
{
	post_envelope(o, "HB-901'; DROP TABLE events; --", "1", "1");
}

static void c_other_school_batch(struct out *o)
{
	char first[32];

	snprintf(first, sizeof(first), "%lld", (long long)next_seq);
	post_envelope(o, SCHOOL_B, first, first);
}

/* School T's own, unbound token sends its school's batch with B's device
 * id: a device belongs to the token that first used it. */
static void c_device_takeover(struct out *o)
{
	char *json = helper_server_batch(DEV_B, SCHOOL_T, 2, 1, 0x906, 1, 0);

	assert_non_null(json);
	post_gz(o, tok_t, json, strlen(json));
	free(json);
}

static void c_revoked(struct out *o)
{
	char *json = helper_server_batch(DEV_A, SCHOOL_R, 1, 1, 0x904, 1, 0);

	assert_non_null(json);
	post_gz(o, tok_r, json, strlen(json));
	free(json);
}

/* ---- the table ----------------------------------------------------------- */

enum expect {
	REFUSED,   /* status, JSON error code (NULL: MHD's own answer) */
	CLOSED,    /* no HTTP answer: the connection ends */
	REJECTED,  /* 200; the ack rejects the one event, reason prefix */
};

struct hcase {
	const char *name;
	void (*run)(struct out *o);
	enum expect kind;
	long status;
	const char *code;  /* REFUSED: error code; REJECTED: reason prefix */
	const char *msg;   /* REFUSED: a part of the message, or NULL */
	/* With run NULL: one event of A at next_seq is posted, its keys
	 * after "id" and "seq" made of pre, rep repeated count times, post
	 * (post_event). */
	struct {
		const char *pre, *rep;
		size_t count;
		const char *post;
	} ev;
};

#define NOEV { NULL, NULL, 0, NULL }
#define COUNT_RULE "students: must be a whole number from 0 to 1000000"

static const struct hcase cases[] = {
	/* HTTP framing: libmicrohttpd answers these itself (64 KiB of
	 * memory per connection), with its own HTML body. */
	{ "header line of 100 KB", c_header_100k, REFUSED, 431, NULL, NULL,
	  NOEV },
	{ "10,000 headers", c_headers_10000, REFUSED, 431, NULL, NULL, NOEV },
	{ "request target of 100 KB", c_target_100k, REFUSED, 414, NULL, NULL,
	  NOEV },
	{ "binary noise as the request line", c_not_http, REFUSED, 400, NULL,
	  NULL, NOEV },
	{ "HTTP/9.9", c_http_9, REFUSED, 505, NULL, NULL, NOEV },
	{ "header line without a colon", c_no_colon, REFUSED, 400, NULL, NULL,
	  NOEV },
	{ "Content-Length: abc", c_length_abc, REFUSED, 400, NULL, NULL, NOEV },
	{ "Content-Length: -5", c_length_negative, REFUSED, 400, NULL, NULL,
	  NOEV },
	{ "Content-Length of 10^23", c_length_huge, REFUSED, 413, NULL, NULL,
	  NOEV },
	{ "chunk size not hex", c_chunk_garbage, REFUSED, 400, NULL, NULL,
	  NOEV },
	{ "chunk of 2^64-1 bytes, then silence", c_chunk_huge, CLOSED, 0, NULL,
	  NULL, NOEV },
	/* Framing the server reads, and answers with its JSON errors. */
	{ "Content-Length and chunked both", c_length_and_chunked, REFUSED, 400,
	  "bad_request", "gzip", NOEV },
	{ "two Content-Length headers", c_two_lengths, REFUSED, 400,
	  "bad_request", "gzip", NOEV },
	{ "Expect: 100-continue, 2 MB announced", c_expect_continue, REFUSED,
	  413, "too_large", "2000000", NOEV },
	{ "bearer token of 10 KB", c_bearer_10k, REFUSED, 401, "unauthorized",
	  NULL, NOEV },
	{ "Basic authentication", c_basic_auth, REFUSED, 401, "unauthorized",
	  NULL, NOEV },
	{ "body trickled, 1 byte per 250 ms", c_trickle_body, CLOSED, 0, NULL,
	  NULL, NOEV },
	{ "headers, then silence", c_silent, CLOSED, 0, NULL, NULL, NOEV },
	/* TLS */
	{ "plain HTTP to the HTTPS port", c_plain_http, CLOSED, 0, NULL, NULL,
	  NOEV },
	{ "client offering only TLS 1.1", c_tls_1_1, CLOSED, 0, NULL, NULL,
	  NOEV },
	{ "4 KB of noise for a ClientHello", c_tls_noise, CLOSED, 0, NULL,
	  NULL, NOEV },
	/* methods and paths */
	{ "PUT /v1/batches", c_put, REFUSED, 405, "method_not_allowed", NULL,
	  NOEV },
	{ "TRACE /v1/batches", c_trace, REFUSED, 405, "method_not_allowed",
	  NULL, NOEV },
	{ "DELETE /v1/cursor", c_delete_cursor, REFUSED, 405,
	  "method_not_allowed", NULL, NOEV },
	{ "POST /v1/batches/ (trailing slash)", c_trailing_slash, REFUSED, 404,
	  "not_found", NULL, NOEV },
	{ "POST /v1/../v1/batches", c_dot_segments, REFUSED, 404, "not_found",
	  NULL, NOEV },
	{ "POST /V1/BATCHES", c_upper_case_path, REFUSED, 404, "not_found",
	  NULL, NOEV },
	{ "Content-Encoding: gzip, gzip", c_gzip_gzip, REFUSED, 415,
	  "unsupported_media_type", NULL, NOEV },
	{ "Content-Encoding: x-gzip", c_x_gzip, REFUSED, 415,
	  "unsupported_media_type", NULL, NOEV },
	/* a device token where it does not belong */
	{ "device token reads /v1/admin/export", c_device_admin_export,
	  REFUSED, 401, "unauthorized", NULL, NOEV },
	{ "device token enrolls via /v1/admin/enroll", c_device_admin_enroll,
	  REFUSED, 401, "unauthorized", NULL, NOEV },
	{ "device token reads /v1/report", c_device_report, REFUSED, 401,
	  "unauthorized", NULL, NOEV },
	{ "cursor of another school's device", c_other_cursor, REFUSED, 403,
	  "forbidden", NULL, NOEV },
	{ "cursor ?device=' OR 1=1 --", c_cursor_sql, REFUSED, 400,
	  "bad_request", "device", NOEV },
	{ "a batch for another school", c_other_school_batch, REFUSED, 403,
	  "forbidden", NULL, NOEV },
	{ "another school's device id", c_device_takeover, REFUSED, 403,
	  "forbidden", NULL, NOEV },
	{ "a revoked token", c_revoked, REFUSED, 401, "unauthorized", NULL,
	  NOEV },
	{ "an event naming another school", NULL, REJECTED, 200,
	  "school: must be the batch's school", NULL,
	  { EV_OK ",\"school\":\"" SCHOOL_B "\",\"title\":\"t\",\"parents\":1",
	    "", 0, "" } },
	/* bodies */
	{ "gzip bomb: 1000 MiB of zeros in 1 MB", c_gzip_bomb, REFUSED, 413,
	  "too_large", "inflates past", NOEV },
	{ "JSON nested 100,000 objects deep", c_nest_objects, REFUSED, 400,
	  "bad_request", "nested", NOEV },
	{ "100,000 arrays deep inside an event", c_nest_in_event, REFUSED, 400,
	  "bad_request", "nested", NOEV },
	{ "invalid UTF-8 in the school code", c_school_bad_utf8, REFUSED, 400,
	  "bad_request", "school:", NOEV },
	{ "overlong UTF-8 (C0 AF) in a title", NULL, REJECTED, 200,
	  "title: must be valid UTF-8", NULL,
	  { EV_OK ",\"title\":\"a\xc0\xaf" "b\",\"parents\":1", "", 0, "" } },
	{ "a UTF-16 surrogate in UTF-8 (ED A0 80)", NULL, REJECTED, 200,
	  "title: must be valid UTF-8", NULL,
	  { EV_OK ",\"title\":\"a\xed\xa0\x80" "b\",\"parents\":1", "", 0,
	    "" } },
	{ "a lone surrogate escape \\ud800", NULL, REFUSED, 400, "bad_request",
	  NULL, { EV_OK ",\"title\":\"a\\ud800b\",\"parents\":1", "", 0, "" } },
	/* 10 MiB in one string: past TB_INFLATE_MAX, refused while
	 * inflating; 7 MiB: decoded, and the event alone rejected */
	{ "a 10 MB string field", NULL, REFUSED, 413, "too_large",
	  "inflates past",
	  { EV_OK ",\"parents\":1,\"title\":\"", "x", 10u << 20, "\"" } },
	{ "a 7 MiB title", NULL, REJECTED, 200,
	  "title: must be at most 1000 bytes (7340032)", NULL,
	  { EV_OK ",\"parents\":1,\"title\":\"", "x", 7u << 20, "\"" } },
	/* just under the pre-scan's 320,064 values: the largest parse tree
	 * a body can make */
	{ "320,000 JSON values in one field", NULL, REJECTED, 200,
	  "title: must be a string", NULL,
	  { EV_OK ",\"parents\":1,\"title\":[0", ",0", 319999, "]" } },
	{ "count -2^63", NULL, REJECTED, 200, COUNT_RULE, NULL,
	  { EV_OK ",\"title\":\"t\",\"parents\":1,\"students\":"
		  "-9223372036854775808", "", 0, "" } },
	{ "count 2^64", NULL, REJECTED, 200, COUNT_RULE, NULL,
	  { EV_OK ",\"title\":\"t\",\"parents\":1,\"students\":"
		  "18446744073709551616", "", 0, "" } },
	{ "count 1e400", NULL, REJECTED, 200, COUNT_RULE, NULL,
	  { EV_OK ",\"title\":\"t\",\"parents\":1,\"students\":1e400", "",
	    0, "" } },
	{ "count of 100,000 digits", NULL, REJECTED, 200, COUNT_RULE, NULL,
	  { EV_OK ",\"title\":\"t\",\"parents\":1,\"students\":1", "0",
	    100000, "" } },
	{ "date 2025-13-40", NULL, REJECTED, 200,
	  "date: must be a real date written YYYY-MM-DD", NULL,
	  { EV_HEAD("outreach", "2025-13-40", "1", "2025-11-20T08:00:00Z")
		  ",\"title\":\"t\",\"parents\":1", "", 0, "" } },
	{ "recorded_at 2025-11-20T25:61:61Z", NULL, REJECTED, 200,
	  "recorded_at: must be a UTC time", NULL,
	  { EV_HEAD("outreach", "2025-11-20", "1", "2025-11-20T25:61:61Z")
		  ",\"title\":\"t\",\"parents\":1", "", 0, "" } },
	{ "revision INT64_MAX", NULL, REJECTED, 200,
	  "revision: must be between 1 and 1000000", NULL,
	  { EV_HEAD("outreach", "2025-11-20", "9223372036854775807",
		    "2025-11-20T08:00:00Z") ",\"title\":\"t\",\"parents\":1",
	    "", 0, "" } },
	{ "unknown kind", NULL, REJECTED, 200, "kind: must be one of", NULL,
	  { EV_HEAD("meeting", "2025-11-20", "1", "2025-11-20T08:00:00Z")
		  ",\"title\":\"t\",\"parents\":1", "", 0, "" } },
	{ "first_seq INT64_MAX", c_first_seq_max, REFUSED, 400, "bad_request",
	  "first_seq: must be a whole number from 1 to 9007199254740991",
	  NOEV },
	{ "last_seq INT64_MAX", c_last_seq_max, REFUSED, 400, "bad_request",
	  "last_seq:", NOEV },
	{ "first_seq -1", c_first_seq_negative, REFUSED, 400, "bad_request",
	  "first_seq:", NOEV },
	{ "SQL in the school code", c_school_sql, REFUSED, 400, "bad_request",
	  "school:", NOEV },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Rows a request could write, outside the feeder's school. */
struct rows {
	int64_t held;      /* events + event_history */
	int64_t rejected;  /* rejections */
	int64_t cursors;   /* sum of committed_through + rows */
	int64_t admin;     /* units + devices + admin tokens + revocations */
};

static void rows_now(struct rows *r)
{
	r->held = helper_server_count(&srv,
		"SELECT (SELECT count(*) FROM events WHERE school <> '" SCHOOL_F
		"') + (SELECT count(*) FROM event_history h JOIN events e ON"
		" e.id = h.id WHERE e.school <> '" SCHOOL_F "')");
	r->rejected = helper_server_count(&srv,
		"SELECT count(*) FROM rejections");
	r->cursors = helper_server_count(&srv,
		"SELECT coalesce(sum(committed_through), 0) + count(*) FROM "
		"cursors WHERE school <> '" SCHOOL_F "'");
	r->admin = helper_server_count(&srv,
		"SELECT (SELECT count(*) FROM units) + (SELECT count(*) FROM "
		"devices) + (SELECT count(*) FROM admin_tokens) + (SELECT "
		"count(*) FROM devices WHERE revoked_at IS NOT NULL)");
	assert_true(r->held >= 0 && r->rejected >= 0 && r->cursors >= 0 &&
		    r->admin >= 0);
}

static void check_refused(const struct hcase *c, const struct out *o)
{
	struct tb_error_body e;

	if (o->status != c->status)
		fail_msg("%s: expected %ld, got %ld: %s", c->name, c->status,
			 o->status, o->body);
	if (!c->code) {
		/* MHD's own answer: not our JSON */
		assert_int_not_equal(tb_error_decode(o->body, o->len, &e), 0);
		return;
	}
	assert_int_equal(tb_error_decode(o->body, o->len, &e), 0);
	assert_int_equal(e.status, c->status);
	assert_string_equal(e.code, c->code);
	assert_true(strlen(e.message) > 0);
	if (c->msg && !strstr(e.message, c->msg))
		fail_msg("%s: message \"%s\" does not name \"%s\"", c->name,
			 e.message, c->msg);
}

static void check_rejected(const struct hcase *c, const struct out *o)
{
	struct tb_ack ack;
	char msg[256];
	char id[37];

	if (o->status != 200)
		fail_msg("%s: expected 200, got %ld: %s", c->name, o->status,
			 o->body);
	tb_ack_init(&ack);
	assert_int_equal(tb_ack_decode(o->body, o->len, &ack, msg, sizeof(msg)),
			 0);
	assert_int_equal(ack.committed_through, next_seq);
	assert_int_equal(ack.accepted, 0);
	assert_int_equal(ack.duplicates, 0);
	assert_int_equal(ack.nrejected, 1);
	helper_server_id(TAG_A, next_seq, id);
	assert_string_equal(ack.rejected[0].id, id);
	assert_int_equal(ack.rejected[0].seq, next_seq);
	if (strncmp(ack.rejected[0].reason, c->code, strlen(c->code)) != 0)
		fail_msg("%s: reason \"%s\", expected \"%s...\"", c->name,
			 ack.rejected[0].reason, c->code);
	tb_ack_clear(&ack);
}

static void run_case(const struct hcase *c)
{
	struct rows before, after;
	struct out o;

	memset(&o, 0, sizeof(o));
	rows_now(&before);
	if (c->run)
		c->run(&o);
	else
		post_event(&o, c->ev.pre, c->ev.rep, c->ev.count, c->ev.post);
	assert_non_null(o.body);
	if (c->kind == REFUSED)
		check_refused(c, &o);
	else if (c->kind == CLOSED && (o.status != 0 || !o.closed))
		fail_msg("%s: expected the connection closed without an "
			 "answer, got %ld: %s", c->name, o.status, o.body);
	else if (c->kind == REJECTED)
		check_rejected(c, &o);
	rows_now(&after);
	/* nothing of it stored; a rejected event leaves its rejection and
	 * moves the cursor by one, nothing else */
	assert_int_equal(after.held, before.held);
	assert_int_equal(after.admin, before.admin);
	assert_int_equal(after.rejected,
			 before.rejected + (c->kind == REJECTED));
	assert_int_equal(after.cursors, before.cursors + (c->kind == REJECTED));
	if (c->kind == REJECTED)
		next_seq++;
	fprintf(stderr, "  %-3ld %-22s %s%s\n", o.status,
		c->kind == CLOSED ? "(closed)"
		: c->kind == REJECTED ? "(event rejected)"
		: c->code ? c->code : "(libmicrohttpd)",
		c->name, o.ms > 1000 ? " (slow: timed)" : "");
	free(o.body);
}

/* ---- setup --------------------------------------------------------------- */

static void post_ok(const char *token, const char *device, const char *school,
		    int64_t first, unsigned tag)
{
	char *json = helper_server_batch(device, school, first, 1, tag, 1, 0);
	struct helper_server_resp r;

	assert_non_null(json);
	assert_int_equal(helper_server_post(&srv, token, json, &r), 0);
	if (r.status != 200)
		fail_msg("setup batch for %s: %ld %s", school, r.status, r.body);
	helper_server_resp_free(&r);
	free(json);
}

static int group_setup(void **state)
{
	const char *extra[] = { "--timeout", "2", "--upload-timeout", "3",
				"--plans-dir", TB_SOURCE_DIR "/plans", NULL };
	const char *revoke[] = { "revoke", "--school", SCHOOL_R, NULL };

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	/* The server inherits this: a smaller quarantine of freed memory
	 * (the default 256 MB would be all of the peak). */
	setenv("ASAN_OPTIONS", "quarantine_size_mb=32", 0);
#endif
	if (helper_server_setup(&srv) != 0 ||
	    helper_server_start(&srv, extra) != 0)
		return -1;
	if (helper_server_enroll(&srv, SCHOOL_A, "HB-D90", tok_a) ||
	    helper_server_enroll(&srv, SCHOOL_B, "HB-D90", tok_b) ||
	    helper_server_enroll(&srv, SCHOOL_F, "HB-D90", tok_f) ||
	    helper_server_enroll(&srv, SCHOOL_R, "HB-D90", tok_r) ||
	    helper_server_enroll(&srv, SCHOOL_M, "HB-D90", tok_m) ||
	    helper_server_enroll(&srv, SCHOOL_T, "HB-D90", tok_t) ||
	    helper_server_run(&srv, NULL, 0, revoke) != 0)
		return -1;
	/* A and B hold one event each, so their devices are bound. */
	post_ok(tok_a, DEV_A, SCHOOL_A, 1, TAG_A);
	post_ok(tok_b, DEV_B, SCHOOL_B, 1, 0x902);
	next_seq = 2;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	helper_server_feed_stop(feed, NULL);
	feed = NULL;
	if (srv.pid)
		assert_int_equal(helper_server_stop(&srv), 0);
	helper_server_teardown(&srv);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_table(void **state)
{
	struct helper_server_resp r;
	size_t i;
	int sent, ok = 0;
	long peak;

	(void)state;
	assert_true(NCASES >= 30);
	feed = helper_server_feed_start(&srv, tok_f, DEV_F, SCHOOL_F, 0x903,
					FEED_EVENTS, 100000);
	assert_non_null(feed);
	fprintf(stderr, "test_hostile: %zu cases\n", NCASES);
	for (i = 0; i < NCASES; i++)
		run_case(&cases[i]);
	sent = helper_server_feed_stop(feed, &ok);
	feed = NULL;
	fprintf(stderr, "test_hostile: the uploader beside sent %d batches, "
		"%d acknowledged in full\n", sent, ok);
	assert_true(sent >= 3);
	assert_int_equal(ok, sent);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM events "
					     "WHERE school = '" SCHOOL_F "'"),
			 (int64_t)sent * FEED_EVENTS);
	/* still serving */
	assert_int_equal(helper_server_request(&srv, "GET", "/healthz", NULL,
					       NULL, NULL, NULL, 0, 0, &r), 0);
	assert_int_equal(r.status, 200);
	helper_server_resp_free(&r);
	peak = helper_server_vmhwm_kb(&srv);
	fprintf(stderr, "test_hostile: server peak memory %ld KiB (bound %ld)\n",
		peak, PEAK_KB);
	assert_true(peak > 0);
	assert_true(peak < PEAK_KB);
}

/* One id twice in one batch, same revision, different content: the first
 * is stored, the second rejected; the same content again is a duplicate. */
static void test_same_id_twice(void **state)
{
	struct tb_ack ack;
	struct sbuf b = { 0 };
	char id[37], want[160], j[128];
	int64_t s = next_seq;

	(void)state;
	helper_server_id(TAG_A, 777777, id);
	sb_fmt(&b, "{\"version\":1,\"device\":\"" DEV_A "\",\"school\":\""
	       SCHOOL_A "\",\"first_seq\":%lld,\"last_seq\":%lld,\"events\":["
	       "{\"id\":\"%s\",\"seq\":%lld," EV_OK ",\"title\":\"t\","
	       "\"parents\":5},{\"id\":\"%s\",\"seq\":%lld," EV_OK
	       ",\"title\":\"t\",\"parents\":6},{\"id\":\"%s\",\"seq\":%lld,"
	       EV_OK ",\"title\":\"t\",\"parents\":5}]}", (long long)s,
	       (long long)s + 2, id, (long long)s, id, (long long)s + 1, id,
	       (long long)s + 2);
	post_ack(&b, &ack);
	assert_int_equal(ack.committed_through, s + 2);
	assert_int_equal(ack.accepted, 1);
	assert_int_equal(ack.duplicates, 1);
	assert_int_equal(ack.nrejected, 1);
	assert_int_equal(ack.rejected[0].seq, s + 1);
	snprintf(want, sizeof(want), "id %s revision 1 already held with "
		 "different content", id);
	assert_string_equal(ack.rejected[0].reason, want);
	tb_ack_clear(&ack);
	next_seq += 3;
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM "
		"event_history WHERE id = '%s'", id), 1);
	assert_int_equal(helper_server_countf(&srv, "SELECT %s FROM"
		TB_EVROW_FROM " WHERE e.id = '%s'", helper_server_json(&srv,
		"h.fields", "parents", 1, j, sizeof(j)), id), 5);
}

/* A token revoked while its upload is in flight: the upload was let in
 * at its headers, the revocation is seen under the write lock, before
 * anything is written: 401, nothing stored. */
static void test_revoked_mid_upload(void **state)
{
	const char *revoke[] = { "revoke", "--school", SCHOOL_M, NULL };
	char *json = helper_server_batch(DEV_M, SCHOOL_M, 1, 3, 0x905, 1, 0);
	struct helper_server_slow *sl;
	unsigned char *gz = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(json);
	assert_int_equal(tb_gz_compress(json, strlen(json), 6, &gz, &len), 0);
	sl = helper_server_slow_start(&srv, tok_m, gz, len);
	assert_non_null(sl);
	assert_int_equal(helper_server_slow_wait(sl, 20000), 1);
	assert_int_equal(helper_server_run(&srv, NULL, 0, revoke), 0);
	assert_int_equal(helper_server_slow_finish(sl), 401);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM events "
					     "WHERE school = '" SCHOOL_M "'"),
			 0);
	assert_int_equal(helper_server_count(&srv, "SELECT count(*) FROM cursors "
					     "WHERE device = '" DEV_M "'"),
			 0);
	tb_free(gz);
	free(json);
}

/* Text that looks like SQL or HTML is data: stored byte for byte, and
 * every table still there. */
static void test_injection_is_data(void **state)
{
	static const char title[] =
		"x'); DROP TABLE events; -- <script>alert(1)</script>";
	struct sbuf b = { 0 };
	struct tb_ack ack;
	char id[37], j[128];

	(void)state;
	sb_batch1(&b, EV_OK ",\"parents\":1,\"title\":\"x'); DROP TABLE "
		  "events; -- <script>alert(1)</script>\"", "", 0, "");
	post_ack(&b, &ack);
	assert_int_equal(ack.accepted, 1);
	tb_ack_clear(&ack);
	helper_server_id(TAG_A, next_seq, id);
	next_seq++;
	helper_server_json(&srv, "h.fields", "title", 0, j, sizeof(j));
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM"
		TB_EVROW_FROM " WHERE e.id = '%s' AND %s = '%s'", id, j,
		"x''); DROP TABLE events; -- <script>alert(1)</script>"), 1);
	/* its length in bytes: octet_length on PostgreSQL, which SQLite
	 * before 3.43 lacks */
	assert_int_equal((size_t)helper_server_countf(&srv,
		helper_server_is_pg(&srv) ? "SELECT octet_length(%s) FROM"
		TB_EVROW_FROM " WHERE e.id = '%s'" : "SELECT length(CAST(%s AS"
		" BLOB)) FROM" TB_EVROW_FROM " WHERE e.id = '%s'", j, id),
		strlen(title));
	assert_int_equal(helper_server_check(&srv), 0);
}

/* Another school's event: A sends revision 2 of the event B holds. The
 * id is held for B, so A's revision is rejected; B's event is as it was. */
static void test_other_schools_event(void **state)
{
	struct sbuf b = { 0 };
	struct tb_ack ack;
	char id[37], want[128];

	(void)state;
	helper_server_id(0x902, 1, id); /* B's setup event */
	sb_fmt(&b, "{\"version\":1,\"device\":\"" DEV_A "\",\"school\":\""
	       SCHOOL_A "\",\"first_seq\":%lld,\"last_seq\":%lld,\"events\":["
	       "{\"id\":\"%s\",\"seq\":%lld," EV_HEAD("outreach", "2025-11-20",
	       "2", "2025-11-21T08:00:00Z") ",\"voided\":true,\"void_reason\":"
	       "\"x\",\"title\":\"t\",\"parents\":1}]}", (long long)next_seq,
	       (long long)next_seq, id, (long long)next_seq);
	post_ack(&b, &ack);
	assert_int_equal(ack.accepted, 0);
	assert_int_equal(ack.nrejected, 1);
	snprintf(want, sizeof(want), "id %s is held for another school", id);
	assert_string_equal(ack.rejected[0].reason, want);
	tb_ack_clear(&ack);
	next_seq++;
	assert_int_equal(helper_server_countf(&srv, "SELECT revision * 10 + "
		"voided FROM events WHERE id = '%s' AND school = '" SCHOOL_B
		"'", id), 10);
	assert_int_equal(helper_server_countf(&srv, "SELECT count(*) FROM "
		"event_history WHERE id = '%s'", id), 1);
}

/* Clients that send their headers a byte at a time hold a connection
 * each for as long as the bytes keep coming (MHD's timeout counts only
 * silence, upload_timeout starts once the headers are in): that costs
 * them a connection slot each (max_connections, per_ip_connections; see
 * SECURITY.md), and must cost nobody else anything: uploads beside them
 * are served as usual. */
#define SLOW_CONNS 16

static void test_slow_headers(void **state)
{
	static const char head[] = "GET /healthz HTTP/1.1\r\nX-Slow: ";
	struct helper_tls *slow[SLOW_CONNS];
	struct timespec nap = { 0, 200 * 1000000L };
	struct helper_server_feed *f;
	char msg[128], tok[65], dev[37];
	int i, k, why, sent, ok = 0, held = 0;

	(void)state;
	assert_int_equal(helper_server_enroll(&srv, "HB-907", "HB-D90", tok), 0);
	helper_server_id(0x907, 0, dev);
	for (i = 0; i < SLOW_CONNS; i++) {
		slow[i] = helper_tls_open(srv.port, srv.ca, NULL, &why, msg,
					  sizeof(msg));
		assert_non_null(slow[i]);
		assert_int_equal(helper_tls_send(slow[i], head, strlen(head)),
				 0);
	}
	f = helper_server_feed_start(&srv, tok, dev, "HB-907", 0x907, 10, 20);
	assert_non_null(f);
	/* 4 s of trickle: twice TIMEOUT_S, past UPLOAD_TIMEOUT_S */
	for (k = 0; k < 20; k++) {
		for (i = 0; i < SLOW_CONNS; i++)
			helper_tls_send(slow[i], "a", 1);
		nanosleep(&nap, NULL);
	}
	sent = helper_server_feed_stop(f, &ok);
	for (i = 0; i < SLOW_CONNS; i++) {
		held += helper_tls_send(slow[i], "a", 1) == 0;
		helper_tls_close(slow[i]);
	}
	fprintf(stderr, "test_hostile: %d of %d header tricklers still held "
		"after 4 s; beside them %d of %d batches acknowledged\n", held,
		SLOW_CONNS, ok, sent);
	assert_true(sent >= 5);
	assert_int_equal(ok, sent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_same_id_twice),
		cmocka_unit_test(test_revoked_mid_upload),
		cmocka_unit_test(test_injection_is_data),
		cmocka_unit_test(test_other_schools_event),
		cmocka_unit_test(test_slow_headers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
