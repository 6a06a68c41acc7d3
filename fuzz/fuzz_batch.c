/* fuzz_batch.c - libFuzzer target: the server's batch decoder, gzip and
 * JSON (protocol/gz.h, protocol/codec.h).
 *
 * Each input is used twice: as a request body (tb_gz_decompress with the
 * real cap TB_INFLATE_MAX, then tb_batch_decode of what it inflates to) and
 * as the inflated JSON itself (tb_batch_decode of the raw bytes), so the
 * JSON layer is fuzzed without the fuzzer having to forge CRCs. Properties
 * checked beyond "no crash, no leak, no UB":
 *  - the stream API fed in pieces (sizes derived from the input) gives the
 *    same result and bytes as tb_gz_decompress in one call;
 *  - a batch that decodes with every event valid re-encodes to canonical
 *    JSON that decodes again to a batch encoding to the very same bytes,
 *    and that canonical JSON survives a gzip round trip;
 *  - with the Nth allocation made to fail (N derived from the input) the
 *    decoder returns TB_ENOMEM (never a misleading TB_EINVAL that would
 *    become a 400) and leaks nothing.
 * Seeds: the .json bodies of protocol/vectors/ (valid, invalid, rejected,
 * setup, transport), raw and gzip-compressed (scripts/fuzz.sh).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "fuzz/fuzz_util.h"
#include "protocol/codec.h"
#include "protocol/gz.h"

static int all_valid(const struct tb_batch *b)
{
	for (size_t i = 0; i < b->count; i++)
		if (b->items[i].error)
			return 0;
	return 1;
}

/* The stream API fed in pieces must agree with the one-shot call. */
static void check_stream(const uint8_t *data, size_t size, int rc_once,
			 const unsigned char *once, size_t once_len)
{
	struct tb_gz_stream *s = tb_gz_stream_create(TB_INFLATE_MAX);
	uint64_t h = fuzz_util_hash(data, size);
	unsigned char *out = NULL;
	size_t off = 0, out_len = 0;
	int rc = 0;

	fuzz_util_check(s != NULL, "gz stream created");
	while (rc == 0 && off < size) {
		size_t piece = 1 + (size_t)(h % 4099);

		h = h * 6364136223846793005u + 1442695040888963407u;
		if (piece > size - off)
			piece = size - off;
		rc = tb_gz_stream_feed(s, data + off, piece);
		off += piece;
	}
	if (rc == 0)
		rc = tb_gz_stream_finish(s, &out, &out_len);
	fuzz_util_check(rc == rc_once, "stream and one-shot inflate agree");
	if (rc == 0)
		fuzz_util_check(out_len == once_len &&
					memcmp(out, once, once_len) == 0,
				"stream and one-shot inflate give the same bytes");
	tb_free(out);
	tb_gz_stream_destroy(s);
}

/* Canonical encoding is a fixed point, and survives gzip. */
static void check_roundtrip(const struct tb_batch *b)
{
	struct tb_batch again;
	unsigned char *gz = NULL, *back = NULL;
	char *one = NULL, *two = NULL, msg[TB_MSG_LEN];
	size_t one_len = 0, two_len = 0, gz_len = 0, back_len = 0;

	fuzz_util_check(tb_batch_encode(b, &one, &one_len) == 0,
			"a decoded batch encodes");
	tb_batch_init(&again);
	fuzz_util_check(tb_batch_decode(one, one_len, &again, msg,
					sizeof(msg)) == 0,
			"the canonical encoding decodes");
	fuzz_util_check(again.count == b->count &&
				again.first_seq == b->first_seq &&
				again.last_seq == b->last_seq &&
				all_valid(&again),
			"the canonical encoding decodes to the same batch");
	fuzz_util_check(tb_batch_encode(&again, &two, &two_len) == 0,
			"the re-decoded batch encodes");
	fuzz_util_check(one_len == two_len && memcmp(one, two, one_len) == 0,
			"encode(decode(encode(b))) == encode(b)");
	fuzz_util_check(tb_gz_compress(one, one_len, 6, &gz, &gz_len) == 0,
			"canonical JSON compresses");
	fuzz_util_check(tb_gz_decompress(gz, gz_len, TB_INFLATE_MAX, &back,
					 &back_len) == 0 &&
				back_len == one_len &&
				memcmp(back, one, one_len) == 0,
			"gzip round trip of canonical JSON");
	tb_free(back);
	tb_free(gz);
	tb_free(two);
	tb_free(one);
	tb_batch_clear(&again);
}

/* Decodes json; with every event valid, checks the round trip. Then makes
 * one allocation of the same decode fail. */
static void decode(const char *json, size_t len, uint64_t h)
{
	struct tb_batch b;
	char msg[TB_MSG_LEN];
	long nalloc;
	int rc, rc_oom;

	tb_batch_init(&b);
	tb_mem_fail_at(LONG_MAX); /* count without failing */
	rc = tb_batch_decode(json, len, &b, msg, sizeof(msg));
	nalloc = tb_mem_count();
	tb_mem_fail_at(0);
	fuzz_util_check(rc == 0 || rc == TB_EINVAL || rc == TB_ETOOBIG,
			"decode returns 0, TB_EINVAL or TB_ETOOBIG");
	fuzz_util_check(rc != 0 || b.count == (size_t)(b.last_seq -
							 b.first_seq + 1),
			"a decoded batch has one event per sequence number");
	fuzz_util_check(rc == 0 || b.count == 0, "a refused batch is cleared");
	if (rc == 0 && all_valid(&b))
		check_roundtrip(&b);
	tb_batch_clear(&b);
	if (nalloc <= 0)
		return;
	tb_mem_fail_at(1 + (long)(h % (uint64_t)nalloc));
	rc_oom = tb_batch_decode(json, len, &b, msg, sizeof(msg));
	tb_mem_fail_at(0);
	fuzz_util_check(rc_oom == TB_ENOMEM,
			"a failed allocation in decode is TB_ENOMEM");
	fuzz_util_check(b.count == 0 && b.items == NULL,
			"decode leaves b cleared on TB_ENOMEM");
	tb_batch_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h = fuzz_util_hash(data, size);
	unsigned char *json = NULL;
	size_t len = 0;
	int rc;

	rc = tb_gz_decompress(data, size, TB_INFLATE_MAX, &json, &len);
	fuzz_util_check(rc == 0 || rc == TB_EINVAL || rc == TB_ETOOBIG,
			"inflate returns 0, TB_EINVAL or TB_ETOOBIG");
	fuzz_util_check((rc == 0) == (json != NULL),
			"inflate output set exactly on success");
	check_stream(data, size, rc, json, len);
	if (rc == 0)
		decode((const char *)json, len, h);
	tb_free(json);
	decode((const char *)data, size, h);
	return 0;
}
