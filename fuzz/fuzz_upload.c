/* fuzz_upload.c - libFuzzer target: the server's handling of POST
 * /v1/batches in-process, from the request's headers and body to the
 * answer and the database (server/upload.c: tb_upload_begin, _feed,
 * _finish, with server/auth.c, server/merge.c, the roll-up triggers of
 * server/rollup.c and a real SQLite store in the scratch directory).
 *
 * The server's access handler (server/https.c) is static and tied to a
 * running MHD daemon, so the narrowest in-process entry that takes headers
 * and a body is the upload handler itself; fake_mhd.c stands in for MHD's
 * connection (headers in, queued response out).
 *
 * Input: up to MAX_REQUESTS requests separated by SEP ("\n@@\n"); each is
 * one flag byte then the body:
 *   bits 0-1  token: 0 and 1 = the two device tokens of school HB-001,
 *             2 = the device token of HB-002, 3 = none (bit 6: a bearer
 *             token the server never issued)
 *   bit 2     Content-Type text/plain instead of application/json
 *   bit 3     no Content-Encoding
 *   bit 4     gzip the body here (so the fuzzer works on the JSON)
 *   bit 5     send Content-Length (the true length; with bit 6 and a
 *             token, a length over TB_BODY_MAX)
 *   bit 7     header values with odd case, blanks and parameters
 * The body is fed in pieces whose sizes derive from the input. The
 * database is emptied before each input (tokens kept, their device
 * binding cleared), so an input is reproducible on its own.
 *
 * Properties beyond "no crash, no leak, no UB", for every request:
 *  - exactly one response is queued; its status is one PROTOCOL.md allows
 *    here (401, 413, 415 from the headers; 200, 400, 401, 403, 409, 413
 *    at the end: 429, 503 or 500 would mean a leaked place in flight or a
 *    failure of the store); a 4xx carries the JSON error body with the same
 *    status and its code, a 401 a WWW-Authenticate header;
 *  - a refused request changes nothing in the database;
 *  - a 200 carries an ack for the batch's device whose accepted +
 *    duplicates + rejected equals the batch's events, whose
 *    committed_through is the device's cursor, and the history grows by
 *    exactly `accepted` rows and the rejections by `rejected`;
 *  - the same request sent again gets 200 with every event a duplicate
 *    and changes nothing (exactly once);
 * and after the input: every current event is a revision of the history,
 * and the roll-ups count exactly the current non-voided events.
 * Seeds: the vectors' batches, alone and after their setup batches
 * (scripts/fuzz.sh). FUZZ_VERBOSE=1 in the environment prints each
 * request's flags, size and outcome (to read what an input does).
 */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "fuzz/fake_mhd.h"
#include "fuzz/fuzz_util.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/resp.h"
#include "server/rollup.h"
#include "server/sql.h"
#include "server/dbpool.h"
#include "server/upload.h"

#define SEP "\n@@\n"
#define MAX_REQUESTS 8

enum {
	F_TOKEN = 3,
	F_CTYPE = 1 << 2,
	F_NO_ENCODING = 1 << 3,
	F_GZIP_HERE = 1 << 4,
	F_LENGTH = 1 << 5,
	F_BAD = 1 << 6,
	F_ODD = 1 << 7
};

static struct tb_dbpool *pool;
static struct tb_upload_env env;
static char tokens[3][TB_TOKEN_LEN + 1];
static char auth[3][TB_TOKEN_LEN + 16];

struct counts {
	int64_t events, history, rejections, cursors, bound, cursor_sum;
};

static struct tb_sql *db(void)
{
	struct tb_sql *d = tb_dbpool_conn(pool);

	fuzz_util_check(d != NULL, "pool connection");
	return d;
}

/* Prepared statements of the checks, kept (keyed by the SQL's address:
 * every caller passes a literal), since preparing is most of the cost. */
static struct tb_stmt *stmt(const char *sql)
{
	static struct {
		const char *sql;
		struct tb_stmt *st;
	} cache[32];
	size_t i;

	for (i = 0; i < 32 && cache[i].sql; i++)
		if (cache[i].sql == sql)
			return cache[i].st;
	if (i == 32)
		abort(); /* more statements than the cache holds */
	fuzz_util_check(tb_sql_prepare(db(), sql, 0, &cache[i].st) == 0,
			"query prepares");
	cache[i].sql = sql;
	return cache[i].st;
}

static int64_t sql_int(const char *sql)
{
	struct tb_stmt *st = stmt(sql);
	int64_t v = -1;

	if (tb_sql_step(st) == TB_SQL_ROW)
		v = tb_sql_column_int64(st, 0);
	tb_sql_reset(st);
	return v;
}

static void exec(const char *sql)
{
	char msg[256];

	if (tb_sql_exec(db(), sql, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "%s: %s\n", sql, msg);
		abort();
	}
}

static void counts_get(struct counts *c)
{
	c->events = sql_int("SELECT count(*) FROM events");
	c->history = sql_int("SELECT count(*) FROM event_history");
	c->rejections = sql_int("SELECT count(*) FROM rejections");
	c->cursors = sql_int("SELECT count(*) FROM cursors");
	c->cursor_sum = sql_int("SELECT coalesce(sum(committed_through), 0)"
				" FROM cursors");
	c->bound = sql_int("SELECT count(*) FROM devices WHERE device IS NOT"
			   " NULL");
}

static int counts_equal(const struct counts *a, const struct counts *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void setup(void)
{
	static const struct tb_org_school schools[3] = {
		{"HB-001", "Truong HB-001", "THCS", "HB-D1", "HB"},
		{"HB-001", "Truong HB-001", "THCS", "HB-D1", "HB"},
		{"HB-002", "Truong HB-002", "TH", "HB-D1", "HB"}};
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	char path[512], msg[512];
	int64_t id;

	fuzz_util_path(path, sizeof(path), "server.db");
	if (tb_dbpool_create(path, &o, &pool, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "dbpool: %s\n", msg);
		abort();
	}
	fuzz_util_check(tb_rollup_init(db(), msg, sizeof(msg)) == 0,
			"roll-ups set up");
	for (int i = 0; i < 3; i++) {
		fuzz_util_check(tb_auth_enroll(db(), &schools[i], tokens[i],
					       &id, msg, sizeof(msg)) == 0,
				"enroll");
		tokens[i][TB_TOKEN_LEN] = '\0';
		snprintf(auth[i], sizeof(auth[i]), "Bearer %s", tokens[i]);
	}
	env.resp.retry_after = 5;
	env.pool = pool;
	env.busy_timeout_ms = 1000;
	env.upload_timeout_s = 0;
	env.tally = tb_upload_tally_create(4, 1);
	fuzz_util_check(env.tally != NULL, "tally");
}

static void reset_db(void)
{
	exec("DELETE FROM events; DELETE FROM event_history;"
	     " DELETE FROM rejections; DELETE FROM cursors;"
	     " UPDATE devices SET device = NULL, last_seen = NULL,"
	     " revoked_at = NULL;");
}

/* The request's headers into c. */
static void headers(struct MHD_Connection *c, unsigned flags, size_t len,
		    char *lenbuf, size_t lenbuflen)
{
	unsigned tok = flags & F_TOKEN;
	int odd = (flags & F_ODD) != 0;

	if (tok < 3)
		fake_mhd_header(c, "Authorization", auth[tok]);
	else if (flags & F_BAD)
		fake_mhd_header(c, "Authorization",
				"Bearer 0123456789abcdef0123456789abcdef"
				"0123456789abcdef0123456789abcdef");
	if (flags & F_CTYPE)
		fake_mhd_header(c, "Content-Type", "text/plain");
	else
		fake_mhd_header(c, "content-type",
				odd ? " Application/JSON ; charset=utf-8"
				    : "application/json");
	if (!(flags & F_NO_ENCODING))
		fake_mhd_header(c, "Content-Encoding",
				odd ? "GZIP\t" : "gzip");
	if (flags & F_LENGTH) {
		snprintf(lenbuf, lenbuflen, "%zu",
			 (flags & F_BAD) && tok < 3
				 ? (size_t)TB_BODY_MAX + 1
				 : len);
		fake_mhd_header(c, "Content-Length", lenbuf);
	}
}

struct sent {
	unsigned status;
	struct tb_ack ack;
	int ack_ok;
};

/* One request through the handler; the response is checked for its
 * form, and left in *out. */
static void upload_once(unsigned flags, const unsigned char *body, size_t len,
		 uint64_t h, struct sent *out)
{
	struct MHD_Connection c;
	struct tb_upload *u;
	char lenbuf[32];
	enum MHD_Result ret = MHD_YES;
	size_t off = 0;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	tb_ack_init(&out->ack);
	headers(&c, flags, len, lenbuf, sizeof(lenbuf));
	u = tb_upload_create(&env);
	fuzz_util_check(u != NULL, "upload created");
	if (tb_upload_begin(u, &c, &ret)) {
		fuzz_util_check(c.queued == 0, "no answer before the body");
		while (off < len) {
			size_t piece = 1 + (size_t)(h % 3001);

			h = h * 6364136223846793005u + 1442695040888963407u;
			if (piece > len - off)
				piece = len - off;
			fuzz_util_check(tb_upload_feed(u, (const char *)body +
								  off,
						       piece) == MHD_YES,
					"a body under twice the limit is read");
			off += piece;
		}
		fuzz_util_check(c.queued == 0, "no answer while reading");
		ret = tb_upload_finish(u, &c);
		fuzz_util_check(c.status == 200 || c.status == 400 ||
					c.status == 401 || c.status == 403 ||
					c.status == 409 || c.status == 413,
				"the end of an upload answers 200, 400, 401, "
				"403, 409 or 413");
	} else {
		fuzz_util_check(c.status == 401 || c.status == 413 ||
					c.status == 415,
				"the headers are refused with 401, 413 or 415");
	}
	fuzz_util_check(c.queued == 1 && ret == MHD_YES,
			"exactly one answer queued");
	tb_upload_destroy(u);
	out->status = c.status;
	if (c.status == 200) {
		char msg[TB_MSG_LEN];

		out->ack_ok = tb_ack_decode(c.body, c.body_len, &out->ack, msg,
					    sizeof(msg)) == 0;
		fuzz_util_check(out->ack_ok, "a 200 carries an ack");
	} else {
		struct tb_error_body e;

		fuzz_util_check(tb_error_decode(c.body, c.body_len, &e) == 0,
				"a refusal carries the JSON error body");
		fuzz_util_check(e.status == (int)c.status &&
					strcmp(e.code, tb_resp_code(c.status)) ==
						0,
				"the error body repeats the status and its code");
		fuzz_util_check(c.status != 401 || c.www_authenticate,
				"a 401 says WWW-Authenticate");
	}
	fake_mhd_reset(&c);
}

/* The batch a body carries as the server would read it; 0 if it has
 * one. */
static int batch_of(const unsigned char *body, size_t len,
		    struct tb_batch *b)
{
	unsigned char *json = NULL;
	size_t jlen = 0;
	char msg[TB_MSG_LEN];
	int rc;

	tb_batch_init(b);
	rc = tb_gz_decompress(body, len, TB_INFLATE_MAX, &json, &jlen);
	if (rc == 0)
		rc = tb_batch_decode((const char *)json, jlen, b, msg,
				     sizeof(msg));
	tb_free(json);
	return rc;
}

static int64_t cursor_of(const char *device)
{
	struct tb_stmt *st = stmt("SELECT committed_through FROM cursors"
				  " WHERE device = ?1");
	int64_t v = -1;

	tb_sql_bind_text(st, 1, device, -1);
	if (tb_sql_step(st) == TB_SQL_ROW)
		v = tb_sql_column_int64(st, 0);
	tb_sql_reset(st);
	tb_sql_clear_bindings(st);
	return v;
}

static void check_accepted(const struct sent *s, const struct tb_batch *b,
			   const struct counts *before,
			   const struct counts *after)
{
	const struct tb_ack *a = &s->ack;

	fuzz_util_check(strcmp(a->device, b->device) == 0,
			"the ack is for the batch's device");
	fuzz_util_check(a->accepted >= 0 && a->duplicates >= 0 &&
				(size_t)(a->accepted + a->duplicates) +
						a->nrejected ==
					b->count,
			"accepted + duplicates + rejected = events");
	fuzz_util_check(a->committed_through >= b->last_seq &&
				cursor_of(b->device) == a->committed_through,
			"committed_through is the device's cursor");
	fuzz_util_check(after->history == before->history + a->accepted,
			"the history grows by what was accepted");
	fuzz_util_check(after->rejections ==
				before->rejections + (int64_t)a->nrejected,
			"every rejection is kept once");
}

/* One request of the input: sent, checked, and sent again after a 200. */
static void request(const unsigned char *req, size_t len, uint64_t h)
{
	unsigned flags = len ? req[0] : 0;
	const unsigned char *data = len ? req + 1 : req;
	unsigned char *gz = NULL;
	size_t dlen = len ? len - 1 : 0;
	struct counts before, after, again;
	struct sent s, replay;
	struct tb_batch b;

	if (flags & F_GZIP_HERE) {
		fuzz_util_check(tb_gz_compress(data, dlen, 1, &gz, &dlen) == 0,
				"compress");
		data = gz;
	}
	counts_get(&before);
	upload_once(flags, data, dlen, h, &s);
	counts_get(&after);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "flags 0x%02x, %zu bytes: %u, accepted %lld, "
			"duplicates %lld, rejected %zu\n", flags, dlen, s.status,
			(long long)s.ack.accepted, (long long)s.ack.duplicates,
			s.ack.nrejected);
	if (s.status != 200) {
		fuzz_util_check(counts_equal(&before, &after),
				"a refused request changes nothing");
		goto out;
	}
	fuzz_util_check(batch_of(data, dlen, &b) == 0,
			"an accepted body holds a batch");
	check_accepted(&s, &b, &before, &after);
	upload_once(flags, data, dlen, h, &replay);
	counts_get(&again);
	fuzz_util_check(replay.status == 200 && replay.ack.accepted == 0 &&
				replay.ack.duplicates == (int64_t)b.count &&
				replay.ack.nrejected == 0 &&
				replay.ack.committed_through ==
					s.ack.committed_through,
			"a replayed batch is all duplicates");
	fuzz_util_check(counts_equal(&after, &again),
			"a replay changes nothing");
	tb_ack_clear(&replay.ack);
	tb_batch_clear(&b);
out:
	tb_ack_clear(&s.ack);
	tb_free(gz);
}

static void check_database(void)
{
	fuzz_util_check(sql_int("SELECT count(*) FROM events e WHERE NOT"
				" EXISTS (SELECT 1 FROM event_history h WHERE"
				" h.id = e.id AND h.revision = e.revision)") ==
				0,
			"every current event is a revision in the history");
	fuzz_util_check(sql_int("SELECT count(*) FROM events WHERE revision <"
				" (SELECT max(revision) FROM event_history h"
				" WHERE h.id = events.id)") == 0,
			"the current revision is the highest held");
	fuzz_util_check(sql_int("SELECT (SELECT count(*) FROM events WHERE"
				" voided = 0) = (SELECT coalesce(sum(n), 0)"
				" FROM report_year)") == 1,
			"the roll-ups count the current non-voided events");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *next;
	uint64_t h = fuzz_util_hash(data, size);
	int n = 0;

	if (!pool)
		setup();
	reset_db();
	while (p <= end && n++ < MAX_REQUESTS) {
		next = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
		if (!next)
			next = end;
		request(p, (size_t)(next - p), h);
		h = h * 6364136223846793005u + 1442695040888963407u;
		p = next + strlen(SEP);
	}
	check_database();
	return 0;
}
