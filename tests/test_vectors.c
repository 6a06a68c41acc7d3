/* test_vectors.c - protocol/vectors/ against the codec and gzip, and
 * PROTOCOL.md against protocol/vectors/.
 *
 * For every NAME.expect.json (layout in protocol/vectors/README.md):
 *  - codec_rc: tb_batch_decode of the body gives that code; on failure the
 *    message is exactly "message"; on success every event listed in
 *    event_errors carries exactly that reason and every other event none.
 *  - valid/: tb_batch_encode of the decoded batch is byte for byte
 *    NAME.canonical.json, and decoding the canonical text gives it again.
 *  - gz_rc: the body built as "request.body" says, inflated with the cap
 *    TB_INFLATE_MAX, gives that code.
 *  - the expectation is coherent: status and error code agree with the
 *    table of PROTOCOL.md, an ack follows from the batch (for vectors
 *    without setup), device ids are never shared between chains, and every
 *    status of the table has a vector.
 * And PROTOCOL.md: every ```json block is marked with the vector file it
 * quotes and is that file, byte for byte; every example file is quoted
 * and is a message the codec reads and writes back unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"

#define VEC TB_SOURCE_DIR "/protocol/vectors"
#define MAX_VECTORS 256

/* ---- files -------------------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t len;
};

/* Reads a whole file into an allocation of exactly its size (no NUL), so
 * ASan catches any read past the end. */
static struct buf read_file(const char *path)
{
	struct buf b = {NULL, 0};
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	b.len = (size_t)n;
	b.p = malloc(b.len ? b.len : 1);
	assert_non_null(b.p);
	assert_int_equal(fread(b.p, 1, b.len, f), b.len);
	fclose(f);
	return b;
}

static struct buf read_vec(const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", VEC, rel);
	return read_file(path);
}

static cJSON *read_json(const char *rel)
{
	struct buf b = read_vec(rel);
	cJSON *j = cJSON_ParseWithLength((const char *)b.p, b.len);

	if (!j)
		fail_msg("%s is not JSON", rel);
	free(b.p);
	return j;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in VEC/dir ending in suffix (the suffix cut off), sorted. */
static size_t list_dir(const char *dir, const char *suffix, char **names)
{
	char path[512];
	struct dirent *d;
	size_t n = 0, sl = strlen(suffix);
	DIR *dp;

	snprintf(path, sizeof(path), "%s/%s", VEC, dir);
	dp = opendir(path);
	assert_non_null(dp);
	while ((d = readdir(dp)) != NULL) {
		size_t l = strlen(d->d_name);

		if (l <= sl || strcmp(d->d_name + l - sl, suffix) != 0)
			continue;
		assert_true(n < MAX_VECTORS);
		names[n] = strndup(d->d_name, l - sl);
		assert_non_null(names[n]);
		n++;
	}
	closedir(dp);
	qsort(names, n, sizeof(names[0]), cmp_str);
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long jint(const cJSON *o, const char *key, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

static int rc_of(const char *name)
{
	static const struct {
		const char *n;
		int rc;
	} map[] = {
	    {"TB_OK", 0},
	    {"TB_EINVAL", TB_EINVAL},
	    {"TB_ETOOBIG", TB_ETOOBIG},
	    {"TB_ENOMEM", TB_ENOMEM},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].n, name) == 0)
			return map[i].rc;
	fail_msg("unknown rc name %s", name);
	return 1;
}

/* The "error" code of each status, as PROTOCOL.md's table has it. */
static const struct {
	int status;
	const char *code;
} statuses[] = {
    {400, "bad_request"},        {401, "unauthorized"},
    {403, "forbidden"},          {404, "not_found"},
    {405, "method_not_allowed"}, {409, "sequence_gap"},
    {413, "too_large"},          {415, "unsupported_media_type"},
    {429, "too_many_requests"},  {503, "unavailable"},
};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

static const char *code_of(int status)
{
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i].status == status)
			return statuses[i].code;
	return NULL;
}

/* ---- request bodies ----------------------------------------------------- */

static void hex_append(struct buf *b, const char *hex)
{
	size_t n = strlen(hex) / 2;

	b->p = realloc(b->p, b->len + n + 1);
	assert_non_null(b->p);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b->p[b->len++] = (unsigned char)v;
	}
}

/* The uncompressed data of a body spec (see README.md). */
static struct buf body_data(const cJSON *spec, const char *deflt)
{
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(spec, "text");
	struct buf b = {NULL, 0};
	long long zeros = jint(spec, "zeros", -1);

	if (zeros >= 0) {
		b.len = (size_t)zeros;
		b.p = calloc(1, b.len + 1);
		assert_non_null(b.p);
	} else if (text) {
		const char *pre = jstr(text, "prefix"),
		           *rep = jstr(text, "repeat");
		const char *suf = jstr(text, "suffix");
		size_t count = (size_t)jint(text, "count", 0), o = 0;
		size_t lp = strlen(pre), lr = strlen(rep), ls = strlen(suf);

		b.len = lp + lr * count + ls;
		b.p = malloc(b.len + 1);
		assert_non_null(b.p);
		memcpy(b.p, pre, lp);
		o = lp;
		for (size_t i = 0; i < count; i++, o += lr)
			memcpy(b.p + o, rep, lr);
		memcpy(b.p + o, suf, ls);
	} else if (cJSON_GetObjectItemCaseSensitive(spec, "none")) {
		b.p = malloc(1);
	} else {
		const char *file = jstr(spec, "file");
		b = read_vec(file ? file : deflt);
	}
	return b;
}

static struct buf zlib_pack(const struct buf *in, int wbits)
{
	struct buf out;
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(
	    deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY),
	    Z_OK);
	out.len = deflateBound(&z, in->len);
	out.p = malloc(out.len);
	assert_non_null(out.p);
	z.next_in = in->p;
	z.avail_in = (uInt)in->len;
	z.next_out = out.p;
	z.avail_out = (uInt)out.len;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out.len = z.total_out;
	deflateEnd(&z);
	return out;
}

/* The bytes on the wire for a body spec. */
static struct buf body_wire(const cJSON *spec, const char *deflt)
{
	struct buf data = body_data(spec, deflt), out;
	const char *how = jstr(spec, "compress");
	long long cut = jint(spec, "truncate_by", 0);
	long long flip = jint(spec, "flip_from_end", 0);
	const char *hex = jstr(spec, "append_hex");

	if (!how || strcmp(how, "gzip") == 0) {
		unsigned char *gz;
		assert_int_equal(
		    tb_gz_compress(data.p, data.len, 9, &gz, &out.len), 0);
		out.p = malloc(out.len + 1);
		memcpy(out.p, gz, out.len);
		tb_free(gz);
		free(data.p);
	} else if (strcmp(how, "zlib") == 0 || strcmp(how, "deflate") == 0) {
		out = zlib_pack(&data, how[0] == 'z' ? 15 : -15);
		free(data.p);
	} else {
		assert_string_equal(how, "none");
		out = data;
	}
	assert_true(cut >= 0 && (size_t)cut < out.len);
	out.len -= (size_t)cut;
	if (flip > 0) {
		assert_true((size_t)flip <= out.len);
		out.p[out.len - (size_t)flip] ^= 0x01;
	}
	if (hex)
		hex_append(&out, hex);
	return out;
}

/* ---- one vector --------------------------------------------------------- */

struct seen_device {
	char device[TB_ID_LEN];
	char chain[128];
};
static struct seen_device devices[MAX_VECTORS * 2];
static size_t ndevices;

/* A device id may appear in one chain only (the server binds it to the
 * first token that uses it). */
static void note_device(const char *device, const char *chain)
{
	for (size_t i = 0; i < ndevices; i++) {
		if (strcmp(devices[i].device, device) != 0)
			continue;
		if (strcmp(devices[i].chain, chain) != 0)
			fail_msg("device %s used by %s and %s", device,
			         devices[i].chain, chain);
		return;
	}
	assert_true(ndevices < sizeof(devices) / sizeof(devices[0]));
	snprintf(devices[ndevices].device, TB_ID_LEN, "%s", device);
	snprintf(devices[ndevices].chain, sizeof(devices[0].chain), "%s",
	         chain);
	ndevices++;
}

/* Decodes a setup file (must be clean) and notes its device. */
static void check_setup(const char *rel, const char *chain)
{
	struct buf data = read_vec(rel);
	struct tb_batch b;
	char msg[TB_MSG_LEN];

	tb_batch_init(&b);
	if (tb_batch_decode((const char *)data.p, data.len, &b, msg,
	                    sizeof(msg)) != 0)
		fail_msg("%s: %s", rel, msg);
	for (size_t i = 0; i < b.count; i++)
		if (b.items[i].error)
			fail_msg("%s: seq %lld: %s", rel,
			         (long long)b.items[i].ev.seq,
			         b.items[i].error);
	note_device(b.device, chain);
	tb_batch_clear(&b);
	free(data.p);
}

/* Each listed event error matches, and no other event has one. */
static void check_event_errors(const char *name, const struct tb_batch *b,
                               const cJSON *errors)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, errors)
	{
		long long seq = jint(e, "seq", -1);
		const char *reason = jstr(e, "reason");
		size_t i = (size_t)(seq - b->first_seq);

		assert_non_null(reason);
		if (seq < b->first_seq || i >= b->count)
			fail_msg("%s: event_errors seq %lld not in batch", name,
			         seq);
		if (!b->items[i].error || strcmp(b->items[i].error, reason))
			fail_msg("%s seq %lld:\n  want %s\n  got  %s", name,
			         seq, reason,
			         b->items[i].error ? b->items[i].error
			                           : "(accepted)");
	}
	for (size_t i = 0; i < b->count; i++) {
		int want = 0;

		cJSON_ArrayForEach(e, errors) want |=
		    jint(e, "seq", -1) == b->items[i].ev.seq;
		if (!want && b->items[i].error)
			fail_msg("%s seq %lld: unexpected error: %s", name,
			         (long long)b->items[i].ev.seq,
			         b->items[i].error);
	}
}

/* The expected ack is an ack the codec reads and writes back unchanged;
 * for a vector without setup it follows from the batch alone. */
static void check_ack(const char *name, const struct tb_batch *b,
                      const cJSON *ack, const cJSON *errors, int fresh)
{
	char *want = cJSON_PrintUnformatted(ack), *got, msg[TB_MSG_LEN];
	struct tb_ack a;
	size_t glen, nerr = (size_t)cJSON_GetArraySize(errors);

	tb_ack_init(&a);
	if (tb_ack_decode(want, strlen(want), &a, msg, sizeof(msg)))
		fail_msg("%s: ack: %s", name, msg);
	assert_int_equal(tb_ack_encode(&a, &got, &glen), 0);
	assert_string_equal(got, want);
	assert_string_equal(a.device, b->device);
	assert_int_equal(a.committed_through, b->last_seq);
	if (fresh) {
		assert_int_equal(a.accepted, (int64_t)(b->count - nerr));
		assert_int_equal(a.duplicates, 0);
		assert_int_equal(a.nrejected, nerr);
		for (size_t i = 0; i < a.nrejected; i++) {
			size_t k = (size_t)(a.rejected[i].seq - b->first_seq);

			assert_true(k < b->count);
			assert_string_equal(a.rejected[i].id,
			                    b->items[k].ev.id);
			assert_non_null(b->items[k].error);
			assert_string_equal(a.rejected[i].reason,
			                    b->items[k].error);
		}
	}
	tb_ack_clear(&a);
	tb_free(got);
	tb_free(want);
}

/* valid/: the canonical encoding, and it is a fixed point. */
static void check_canonical(const char *name, const struct tb_batch *b)
{
	char rel[256], *out, *out2, msg[TB_MSG_LEN];
	size_t outlen, out2len;
	struct tb_batch again;
	struct buf canon;

	snprintf(rel, sizeof(rel), "valid/%s.canonical.json", name);
	canon = read_vec(rel);
	assert_true(canon.len > 1 && canon.p[canon.len - 1] == '\n');
	canon.len--;
	assert_int_equal(tb_batch_encode(b, &out, &outlen), 0);
	if (outlen != canon.len || memcmp(out, canon.p, outlen) != 0)
		fail_msg("%s: canonical differs:\n  want %.*s\n  got  %s", name,
		         (int)canon.len, canon.p, out);
	tb_batch_init(&again);
	if (tb_batch_decode((const char *)canon.p, canon.len, &again, msg,
	                    sizeof(msg)))
		fail_msg("%s: canonical does not decode: %s", name, msg);
	assert_int_equal(tb_batch_encode(&again, &out2, &out2len), 0);
	assert_int_equal(out2len, outlen);
	assert_memory_equal(out2, out, outlen);
	tb_batch_clear(&again);
	tb_free(out);
	tb_free(out2);
	free(canon.p);
}

static void check_codec(const char *dir, const char *name, const cJSON *x,
                        const cJSON *spec, const char *deflt, int fresh)
{
	const char *want_rc = jstr(x, "codec_rc");
	struct buf data = body_data(spec, deflt);
	char msg[TB_MSG_LEN];
	struct tb_batch b;
	int rc;

	tb_batch_init(&b);
	rc = tb_batch_decode((const char *)data.p, data.len, &b, msg,
	                     sizeof(msg));
	if (rc != rc_of(want_rc))
		fail_msg("%s/%s: rc %d (%s), want %s", dir, name, rc,
		         rc ? msg : "", want_rc);
	if (rc) {
		const char *want = jstr(x, "message");

		assert_non_null(want);
		if (strcmp(msg, want) != 0)
			fail_msg("%s/%s:\n  want %s\n  got  %s", dir, name,
			         want, msg);
		assert_int_equal(b.count, 0);
		assert_null(b.items);
	} else {
		const cJSON *errors =
		    cJSON_GetObjectItemCaseSensitive(x, "event_errors");
		const cJSON *ack = cJSON_GetObjectItemCaseSensitive(x, "ack");

		if (errors)
			check_event_errors(name, &b, errors);
		if (ack)
			check_ack(name, &b, ack, errors, fresh);
		if (strcmp(dir, "valid") == 0)
			check_canonical(name, &b);
		{
			char chain[128];

			snprintf(chain, sizeof(chain), "%s/%s", dir, name);
			note_device(b.device, chain);
		}
	}
	tb_batch_clear(&b);
	free(data.p);
}

static void check_vector(const char *dir, const char *name, int *status_seen)
{
	char rel[256], deflt[256];
	cJSON *x;
	const cJSON *req, *spec, *requires, *r;
	int status;
	const char *code;

	snprintf(rel, sizeof(rel), "%s/%s.expect.json", dir, name);
	snprintf(deflt, sizeof(deflt), "%s/%s.json", dir, name);
	x = read_json(rel);
	assert_non_null(jstr(x, "description"));
	status = (int)jint(x, "http_status", -1);
	code = jstr(x, "error");
	if (status == 200) {
		assert_null(code);
	} else {
		if (!code || !code_of(status) || strcmp(code, code_of(status)))
			fail_msg("%s: status %d with error %s", rel, status,
			         code ? code : "(none)");
		for (size_t i = 0; i < NSTATUS; i++)
			if (statuses[i].status == status)
				status_seen[i] = 1;
	}
	if (status == 409)
		assert_true(jint(x, "expected_seq", -1) >= 1);
	if (status == 429 || status == 503)
		assert_true(cJSON_IsTrue(
		    cJSON_GetObjectItemCaseSensitive(x, "retry_after")));
	requires = cJSON_GetObjectItemCaseSensitive(x, "requires");
	cJSON_ArrayForEach(r, requires)
	{
		char chain[128];

		snprintf(chain, sizeof(chain), "%s/%s", dir, name);
		check_setup(r->valuestring, chain);
	}
	req = cJSON_GetObjectItemCaseSensitive(x, "request");
	spec = cJSON_GetObjectItemCaseSensitive(req, "body");
	if (jstr(x, "codec_rc")) {
		const char *want = jstr(x, "codec_rc");

		if (strcmp(want, "TB_EINVAL") == 0)
			assert_int_equal(status, 400);
		if (strcmp(want, "TB_ETOOBIG") == 0)
			assert_int_equal(status, 413);
		check_codec(dir, name, x, spec, deflt, requires == NULL);
	}
	if (jstr(x, "gz_rc")) {
		struct buf wire = body_wire(spec, deflt);
		unsigned char *out;
		size_t outlen;
		int rc = tb_gz_decompress(wire.p, wire.len, TB_INFLATE_MAX,
		                          &out, &outlen);

		if (rc != rc_of(jstr(x, "gz_rc")))
			fail_msg("%s: gz rc %d, want %s", rel, rc,
			         jstr(x, "gz_rc"));
		tb_free(out);
		free(wire.p);
	}
	cJSON_Delete(x);
}

/* Every body file of a directory has its expectation. */
static void check_no_orphans(const char *dir)
{
	char *names[MAX_VECTORS];
	size_t n = list_dir(dir, ".json", names);

	for (size_t i = 0; i < n; i++) {
		char rel[300];
		struct buf b;
		const char *base = names[i];
		size_t l = strlen(base);

		if ((l > 7 && strcmp(base + l - 7, ".expect") == 0) ||
		    (l > 10 && strcmp(base + l - 10, ".canonical") == 0))
			continue;
		snprintf(rel, sizeof(rel), "%s/%s.expect.json", dir, base);
		b = read_vec(rel); /* fails the test if missing */
		free(b.p);
	}
	free_names(names, n);
}

static void test_all_vectors(void **state)
{
	static const char *const dirs[] = {"valid", "rejected", "invalid",
	                                   "transport"};
	int status_seen[NSTATUS] = {0};
	size_t total = 0;

	(void)state;
	ndevices = 0;
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char *names[MAX_VECTORS];
		size_t n = list_dir(dirs[d], ".expect.json", names);

		assert_true(n > 0);
		for (size_t i = 0; i < n; i++)
			check_vector(dirs[d], names[i], status_seen);
		free_names(names, n);
		check_no_orphans(dirs[d]);
		total += n;
	}
	for (size_t i = 0; i < NSTATUS; i++)
		if (!status_seen[i])
			fail_msg("no vector for status %d", statuses[i].status);
	assert_true(total >= 80);
}

/* ---- PROTOCOL.md -------------------------------------------------------- */

#define MARK "<!-- vector: "

/* Checks one quoted block against its file; returns the file name. */
static void check_quote(const char *rel, const char *block, size_t blen)
{
	struct buf f = read_vec(rel);

	if (f.len != blen || memcmp(f.p, block, blen) != 0)
		fail_msg("PROTOCOL.md quotes %s differently", rel);
	free(f.p);
}

static void test_protocol_md_quotes_vectors(void **state)
{
	struct buf md = read_file(TB_SOURCE_DIR "/protocol/PROTOCOL.md");
	char *text = malloc(md.len + 1), *p, *quoted[MAX_VECTORS];
	char *names[MAX_VECTORS];
	size_t nquoted = 0, n;

	(void)state;
	assert_non_null(text);
	memcpy(text, md.p, md.len);
	text[md.len] = '\0';
	for (p = text; (p = strstr(p, "```json\n")) != NULL;) {
		char *line = p, *mark, *end, *block = p + 8;

		/* the marker sits on the line before the fence */
		assert_true(line > text + 1);
		mark = line - 2;
		while (mark > text && mark[-1] != '\n')
			mark--;
		if (strncmp(mark, MARK, strlen(MARK)) != 0)
			fail_msg("a ```json block of PROTOCOL.md has no "
			         "vector marker: %.60s",
			         block);
		mark += strlen(MARK);
		end = strstr(block, "\n```\n");
		assert_non_null(end);
		{
			char rel[256];
			size_t rl = strcspn(mark, " ");

			snprintf(rel, sizeof(rel), "%.*s", (int)rl, mark);
			check_quote(rel, block, (size_t)(end + 1 - block));
			assert_true(nquoted < MAX_VECTORS);
			quoted[nquoted++] = strdup(rel);
		}
		p = end + 5;
	}
	assert_true(nquoted >= 15);
	/* every example file is shown */
	n = list_dir("examples", ".json", names);
	for (size_t i = 0; i < n; i++) {
		char rel[256];
		int found = 0;

		snprintf(rel, sizeof(rel), "examples/%s.json", names[i]);
		for (size_t k = 0; k < nquoted; k++)
			found |= strcmp(quoted[k], rel) == 0;
		if (!found)
			fail_msg("PROTOCOL.md does not show %s", rel);
	}
	free_names(names, n);
	free_names(quoted, nquoted);
	free(text);
	free(md.p);
}

/* The field tables of PROTOCOL.md list exactly the fields of each kind's
 * table in common/event.c, with their types. */
static void test_protocol_md_field_tables(void **state)
{
	static const char *const types[] = {
	    [TB_FT_COUNT] = "count",  [TB_FT_TEXT] = "text",
	    [TB_FT_BOOL] = "boolean", [TB_FT_CHOICE] = "choice",
	    [TB_FT_URL] = "url",
	};
	struct buf md = read_file(TB_SOURCE_DIR "/protocol/PROTOCOL.md");
	char *text = malloc(md.len + 1);

	(void)state;
	assert_non_null(text);
	memcpy(text, md.p, md.len);
	text[md.len] = '\0';
	for (int k = 0; k < TB_KIND_COUNT; k++) {
		char head[64], row[128];
		const char *sec = text, *end;
		const struct tb_field *f;
		size_t n, rows = 0;

		snprintf(head, sizeof(head), "`%s`", tb_kind_name(k));
		/* the "#### " heading that names this kind */
		while ((sec = strstr(sec, "\n#### ")) != NULL) {
			const char *eol = strchr(sec + 1, '\n');
			char line[128];

			snprintf(line, sizeof(line), "%.*s",
			         (int)(eol - sec - 1), sec + 1);
			sec = eol;
			if (strstr(line, head))
				break;
		}
		if (!sec)
			fail_msg("PROTOCOL.md has no field table for %s",
			         tb_kind_name(k));
		end = strstr(sec, "\n#");
		if (!end)
			end = sec + strlen(sec);
		f = tb_kind_fields(k, &n);
		for (size_t i = 0; i < n; i++) {
			const char *hit;

			snprintf(row, sizeof(row), "\n| `%s` | %s |", f[i].name,
			         types[f[i].type]);
			hit = strstr(sec, row);
			if (!hit || hit > end)
				fail_msg("PROTOCOL.md, %s: no row %s",
				         tb_kind_name(k), row + 1);
		}
		for (const char *p = sec; (p = strstr(p, "\n| `")) && p < end;
		     p++)
			rows++;
		assert_int_equal(rows, n);
	}
	free(text);
	free(md.p);
}

/* The compact form of a vector file, as cJSON writes it. */
static char *compact(const char *rel)
{
	cJSON *j = read_json(rel);
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	assert_non_null(s);
	return s;
}

static void test_examples_are_messages(void **state)
{
	char *names[MAX_VECTORS], *want, *got;
	size_t n = list_dir("examples", ".json", names), glen;
	struct tb_ack a;
	cJSON *j, *k;
	char dev[TB_ID_LEN], msg[TB_MSG_LEN];
	int64_t through;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		struct tb_error_body e;
		char rel[256];
		int status;

		if (strncmp(names[i], "error-", 6) != 0)
			continue;
		{
			char *end;
			long v = strtol(names[i] + 6, &end, 10);

			assert_true(*end == '\0' && v >= 400 && v <= 599);
			status = (int)v;
		}
		snprintf(rel, sizeof(rel), "examples/%s.json", names[i]);
		want = compact(rel);
		assert_int_equal(tb_error_decode(want, strlen(want), &e), 0);
		assert_int_equal(e.status, status);
		assert_string_equal(e.code, code_of(status));
		assert_true((e.expected_seq >= 0) == (status == 409));
		assert_int_equal(tb_error_encode(e.status, e.code, e.message,
		                                 e.expected_seq, &got, &glen),
		                 0);
		assert_string_equal(got, want);
		tb_free(got);
		tb_free(want);
	}
	free_names(names, n);

	want = compact("examples/ack.json");
	tb_ack_init(&a);
	assert_int_equal(
	    tb_ack_decode(want, strlen(want), &a, msg, sizeof(msg)), 0);
	assert_int_equal(tb_ack_encode(&a, &got, &glen), 0);
	assert_string_equal(got, want);
	tb_ack_clear(&a);
	tb_free(got);
	tb_free(want);
	j = read_json("examples/ack.json");
	k = read_json("rejected/example.expect.json");
	assert_true(cJSON_Compare(j, cJSON_GetObjectItem(k, "ack"), 1));
	cJSON_Delete(j);
	cJSON_Delete(k);

	want = compact("examples/cursor.json");
	assert_int_equal(tb_cursor_decode(want, strlen(want), dev, &through),
	                 0);
	assert_int_equal(tb_cursor_encode(dev, through, &got, &glen), 0);
	assert_string_equal(got, want);
	tb_free(got);
	tb_free(want);
	j = read_json("examples/cursor.json");
	k = read_json("transport/cursor.expect.json");
	assert_true(cJSON_Compare(j, cJSON_GetObjectItem(k, "response"), 1));
	cJSON_Delete(j);
	cJSON_Delete(k);
}

/* The empty gzip member that transport/second-member appends is itself a
 * valid gzip body, so that vector fails for the right reason. */
static void test_second_member_is_gzip(void **state)
{
	cJSON *x = read_json("transport/second-member.expect.json");
	const cJSON *spec =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(x, "request"), "body");
	struct buf m = {NULL, 0};
	unsigned char *out;
	size_t outlen;

	(void)state;
	hex_append(&m, jstr(spec, "append_hex"));
	assert_int_equal(tb_gz_decompress(m.p, m.len, 10, &out, &outlen), 0);
	assert_int_equal(outlen, 0);
	tb_free(out);
	free(m.p);
	cJSON_Delete(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_vectors),
	    cmocka_unit_test(test_protocol_md_quotes_vectors),
	    cmocka_unit_test(test_protocol_md_field_tables),
	    cmocka_unit_test(test_examples_are_messages),
	    cmocka_unit_test(test_second_member_is_gzip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
