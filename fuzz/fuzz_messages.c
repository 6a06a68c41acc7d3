/* fuzz_messages.c - libFuzzer target: the agent's decoders of the server's
 * replies, the acknowledgement, the error body and the cursor reply
 * (protocol/codec.h: tb_ack_decode, tb_error_decode, tb_cursor_decode).
 *
 * Every input goes to all three decoders (a reply's body is whatever the
 * server, or a proxy in between, sent). Properties beyond "no crash, no
 * leak, no UB": what decodes re-encodes and decodes again to the same
 * values (the error message after its cut at TB_MSG_LEN - 1 bytes on a
 * UTF-8 boundary); a refused message leaves its output empty; and with
 * the Nth allocation made to fail the ack decoder returns TB_ENOMEM and
 * leaves the ack empty.
 * Seeds: protocol/vectors/examples/ (scripts/fuzz.sh).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "fuzz/fuzz_util.h"
#include "protocol/codec.h"

static void check_ack_equal(const struct tb_ack *a, const struct tb_ack *b)
{
	fuzz_util_check(strcmp(a->device, b->device) == 0 &&
				a->committed_through == b->committed_through &&
				a->accepted == b->accepted &&
				a->duplicates == b->duplicates &&
				a->nrejected == b->nrejected,
			"ack round trip keeps the counters");
	for (size_t i = 0; i < a->nrejected; i++)
		fuzz_util_check(strcmp(a->rejected[i].id, b->rejected[i].id) ==
						0 &&
					a->rejected[i].seq ==
						b->rejected[i].seq &&
					strcmp(a->rejected[i].reason,
					       b->rejected[i].reason) == 0,
				"ack round trip keeps the rejections");
}

static void fuzz_ack(const char *json, size_t len, uint64_t h)
{
	struct tb_ack a, b;
	char msg[TB_MSG_LEN], *out = NULL;
	size_t out_len = 0;
	long nalloc;
	int rc;

	tb_ack_init(&a);
	tb_ack_init(&b);
	tb_mem_fail_at(LONG_MAX);
	rc = tb_ack_decode(json, len, &a, msg, sizeof(msg));
	nalloc = tb_mem_count();
	tb_mem_fail_at(0);
	fuzz_util_check(rc == 0 || rc == TB_EINVAL || rc == TB_ETOOBIG,
			"ack decode returns 0, TB_EINVAL or TB_ETOOBIG");
	if (rc == 0) {
		fuzz_util_check(tb_ack_encode(&a, &out, &out_len) == 0,
				"a decoded ack encodes");
		fuzz_util_check(tb_ack_decode(out, out_len, &b, msg,
					      sizeof(msg)) == 0,
				"an encoded ack decodes");
		check_ack_equal(&a, &b);
		tb_free(out);
	} else {
		fuzz_util_check(a.nrejected == 0 && a.rejected == NULL,
				"a refused ack is left empty");
	}
	tb_ack_clear(&b);
	tb_ack_clear(&a);
	if (nalloc <= 0)
		return;
	tb_mem_fail_at(1 + (long)(h % (uint64_t)nalloc));
	rc = tb_ack_decode(json, len, &a, msg, sizeof(msg));
	tb_mem_fail_at(0);
	fuzz_util_check(rc == TB_ENOMEM,
			"a failed allocation in ack decode is TB_ENOMEM");
	fuzz_util_check(a.nrejected == 0 && a.rejected == NULL,
			"ack decode leaves the ack empty on TB_ENOMEM");
	tb_ack_clear(&a);
}

static void fuzz_error(const char *json, size_t len)
{
	struct tb_error_body e, again;
	char *out = NULL;
	size_t out_len = 0;

	if (tb_error_decode(json, len, &e) != 0) {
		fuzz_util_check(e.status == 0 && e.expected_seq == -1 &&
					!e.code[0] && !e.message[0],
				"a refused error body is left empty");
		return;
	}
	fuzz_util_check(e.status >= 100 && e.status <= 599,
			"a decoded status is an HTTP status");
	fuzz_util_check(memchr(e.message, '\0', sizeof(e.message)) != NULL,
			"the message is terminated within its buffer");
	fuzz_util_check(tb_error_encode(e.status, e.code, e.message,
					e.expected_seq, &out, &out_len) == 0,
			"a decoded error body encodes");
	fuzz_util_check(tb_error_decode(out, out_len, &again) == 0 &&
				again.status == e.status &&
				strcmp(again.code, e.code) == 0 &&
				strcmp(again.message, e.message) == 0 &&
				again.expected_seq == e.expected_seq,
			"error body round trip");
	tb_free(out);
}

static void fuzz_cursor(const char *json, size_t len)
{
	char device[TB_ID_LEN], again[TB_ID_LEN], *out = NULL;
	int64_t through = -1, through2 = -1;
	size_t out_len = 0;

	if (tb_cursor_decode(json, len, device, &through) != 0)
		return;
	fuzz_util_check(tb_uuid_valid(device) && through >= 0 &&
				through <= TB_SEQ_MAX,
			"a decoded cursor holds a uuid and a sequence number");
	fuzz_util_check(tb_cursor_encode(device, through, &out, &out_len) == 0,
			"a decoded cursor encodes");
	fuzz_util_check(tb_cursor_decode(out, out_len, again, &through2) ==
					0 &&
				strcmp(device, again) == 0 &&
				through == through2,
			"cursor round trip");
	tb_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;

	fuzz_ack(json, size, fuzz_util_hash(data, size));
	fuzz_error(json, size);
	fuzz_cursor(json, size);
	return 0;
}
