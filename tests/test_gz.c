/* test_gz.c - protocol/gz.c: round trips, the inflate cap (gzip bombs),
 * every way a body can be malformed, the stream API fed in pieces, and
 * allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "common/err.h"
#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"

#define MIB (1024u * 1024u)

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
static void fill_random(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static void fill_text(unsigned char *p, size_t n)
{
	static const char words[] =
	    "Họp phụ huynh về bình đẳng giới, tháng hành động 2025. ";
	size_t w = sizeof(words) - 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)words[i % w];
}

static void round_trip(const unsigned char *in, size_t len, int level)
{
	unsigned char *gz = NULL, *back = NULL;
	size_t gzlen = 0, backlen = 0;

	assert_int_equal(tb_gz_compress(in, len, level, &gz, &gzlen), 0);
	assert_true(gzlen >= 18); /* 10 header + >= 2 deflate + 8 trailer */
	assert_int_equal(gz[0], 0x1f);
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(tb_gz_decompress(gz, gzlen, len, &back, &backlen), 0);
	assert_int_equal(backlen, len);
	assert_int_equal(back[len], '\0');
	if (len)
		assert_memory_equal(back, in, len);
	tb_free(back);
	/* one byte less room than needed is refused */
	if (len) {
		assert_int_equal(
		    tb_gz_decompress(gz, gzlen, len - 1, &back, &backlen),
		    TB_ETOOBIG);
		assert_null(back);
		assert_int_equal(backlen, 0);
	}
	tb_free(gz);
}

static void test_round_trip_small(void **state)
{
	const unsigned char one = 'x';

	(void)state;
	round_trip((const unsigned char *)"", 0, -1);
	round_trip(&one, 1, -1);
	round_trip((const unsigned char *)"{\"version\":1}", 13, 9);
	round_trip((const unsigned char *)"Bình đẳng giới", 18, 1);
	round_trip(&one, 1, 0);  /* stored blocks */
	round_trip(&one, 1, 42); /* out of range: default level */
}

static void test_round_trip_1mb(void **state)
{
	unsigned char *buf = malloc(MIB);

	(void)state;
	assert_non_null(buf);
	fill_random(buf, MIB, 7);
	round_trip(buf, MIB, -1);
	fill_text(buf, MIB);
	round_trip(buf, MIB, 9);
	free(buf);
}

/* Output of exactly cap bytes passes; cap+1 does not; cap 0 allows only
 * an empty body. */
static void test_cap_boundary(void **state)
{
	unsigned char in[100000], *gz, *out;
	size_t gzlen, outlen;

	(void)state;
	fill_text(in, sizeof(in));
	assert_int_equal(tb_gz_compress(in, sizeof(in), -1, &gz, &gzlen), 0);
	assert_int_equal(tb_gz_decompress(gz, gzlen, sizeof(in), &out, &outlen),
	                 0);
	assert_int_equal(outlen, sizeof(in));
	tb_free(out);
	assert_int_equal(
	    tb_gz_decompress(gz, gzlen, sizeof(in) - 1, &out, &outlen),
	    TB_ETOOBIG);
	assert_int_equal(tb_gz_decompress(gz, gzlen, 0, &out, &outlen),
	                 TB_ETOOBIG);
	tb_free(gz);

	assert_int_equal(tb_gz_compress("", 0, -1, &gz, &gzlen), 0);
	assert_int_equal(tb_gz_decompress(gz, gzlen, 0, &out, &outlen), 0);
	assert_int_equal(outlen, 0);
	assert_int_equal(out[0], '\0');
	tb_free(out);
	tb_free(gz);
}

/* A gzip body of n_mib MiB of zeros, built without compressing them all:
 * one MiB of zeros is deflated (raw) with Z_FULL_FLUSH, which leaves the
 * compressor in its initial state, so the same bytes encode every further
 * MiB; they are repeated, closed with an empty final block, and wrapped in
 * a gzip header and trailer (CRC-32 of the zeros via crc32_combine). */
static unsigned char *make_bomb(size_t n_mib, size_t *len)
{
	static unsigned char zero[MIB];
	unsigned char b1[4096], b2[4096], *body, *p;
	static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0,
	                                      0,    0,    0, 0, 0xff};
	z_stream z;
	size_t n1, n2, l;
	uLong crc;

	memset(&z, 0, sizeof(z));
	assert_int_equal(
	    deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = zero;
	z.avail_in = sizeof(zero);
	z.next_out = b1;
	z.avail_out = sizeof(b1);
	assert_int_equal(deflate(&z, Z_FULL_FLUSH), Z_OK);
	assert_int_equal(z.avail_in, 0);
	n1 = sizeof(b1) - z.avail_out;
	z.next_in = zero;
	z.avail_in = sizeof(zero);
	z.next_out = b2;
	z.avail_out = sizeof(b2);
	assert_int_equal(deflate(&z, Z_FULL_FLUSH), Z_OK);
	n2 = sizeof(b2) - z.avail_out;
	deflateEnd(&z);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1); /* the premise of the construction */

	*len = sizeof(hdr) + n1 * n_mib + 2 + 8;
	body = malloc(*len);
	assert_non_null(body);
	p = body;
	memcpy(p, hdr, sizeof(hdr));
	p += sizeof(hdr);
	for (size_t i = 0; i < n_mib; i++, p += n1)
		memcpy(p, b1, n1);
	*p++ = 0x03; /* BFINAL=1, fixed Huffman, end of block */
	*p++ = 0x00;
	/* n_mib is a power of two: CRC of 2l zeros = combine(CRC of l, l) */
	assert_int_equal(n_mib & (n_mib - 1), 0);
	crc = crc32(0, zero, sizeof(zero));
	for (l = MIB; l < n_mib * MIB; l *= 2)
		crc = crc32_combine(crc, crc, (z_off_t)l);
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(crc >> (8 * i));
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(((uint64_t)n_mib * MIB) >> (8 * i));
	return body;
}

static void test_bomb_construction(void **state)
{
	unsigned char *body, *out;
	size_t len, outlen;

	(void)state;
	/* the same construction at 8 MiB inflates to exactly 8 MiB of 0 */
	body = make_bomb(8, &len);
	assert_int_equal(tb_gz_decompress(body, len, 8 * MIB, &out, &outlen),
	                 0);
	assert_int_equal(outlen, 8 * MIB);
	for (size_t i = 0; i < outlen; i += 4093)
		assert_int_equal(out[i], 0);
	tb_free(out);
	free(body);
}

/* A ~1 MB body (TB_BODY_MAX) that inflates to 1 GiB is refused at the cap,
 * quickly: at most cap+1 bytes are ever produced. */
static void test_bomb_1gib(void **state)
{
	unsigned char *body, *out = (unsigned char *)"x";
	size_t len, outlen = 7;
	double t0;

	(void)state;
	body = make_bomb(1024, &len);
	assert_true(len <= TB_BODY_MAX + 64 * 1024);
	t0 = now_s();
	assert_int_equal(
	    tb_gz_decompress(body, len, TB_INFLATE_MAX, &out, &outlen),
	    TB_ETOOBIG);
	assert_null(out);
	assert_int_equal(outlen, 0);
	assert_int_equal(tb_gz_decompress(body, len, 1000, &out, &outlen),
	                 TB_ETOOBIG);
	/* inflating 8 MiB takes milliseconds; 1 GiB would take seconds */
	assert_true(now_s() - t0 < 1.0);
	free(body);
}

/* The classic bomb: 64 MiB of zeros at level 9 (about 64 KB). */
static void test_bomb_level9(void **state)
{
	size_t n = 64 * MIB, gzlen, outlen;
	unsigned char *zeros = calloc(1, n), *gz, *out;
	double t0;

	(void)state;
	assert_non_null(zeros);
	assert_int_equal(tb_gz_compress(zeros, n, 9, &gz, &gzlen), 0);
	free(zeros);
	assert_true(gzlen < 128 * 1024);
	t0 = now_s();
	assert_int_equal(
	    tb_gz_decompress(gz, gzlen, TB_INFLATE_MAX, &out, &outlen),
	    TB_ETOOBIG);
	assert_int_equal(tb_gz_decompress(gz, gzlen, 4096, &out, &outlen),
	                 TB_ETOOBIG);
	assert_true(now_s() - t0 < 1.0);
	tb_free(gz);
}

static void small_body(unsigned char **gz, size_t *gzlen)
{
	static const char text[] = "{\"version\":1,\"device\":\"0b0e2a4c-6a51-"
	                           "4c1e-9d43-2f7c1d2e3a4b\"}";

	assert_int_equal(tb_gz_compress(text, sizeof(text) - 1, -1, gz, gzlen),
	                 0);
}

static void expect_einval(const unsigned char *p, size_t len)
{
	unsigned char *out = (unsigned char *)"x";
	size_t outlen = 3;

	assert_int_equal(tb_gz_decompress(p, len, MIB, &out, &outlen),
	                 TB_EINVAL);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

static void test_truncated_everywhere(void **state)
{
	unsigned char *gz;
	size_t gzlen;

	(void)state;
	small_body(&gz, &gzlen);
	for (size_t k = 0; k < gzlen; k++)
		expect_einval(gz, k);
	tb_free(gz);
}

static void test_wrong_magic(void **state)
{
	unsigned char *gz;
	size_t gzlen;

	(void)state;
	small_body(&gz, &gzlen);
	gz[0] = 0x1e;
	expect_einval(gz, gzlen);
	gz[0] = 0x1f;
	gz[1] = 0x8c;
	expect_einval(gz, gzlen);
	gz[1] = 0x8b;
	gz[2] = 7; /* compression method other than deflate */
	expect_einval(gz, gzlen);
	tb_free(gz);
	expect_einval((const unsigned char *)"{\"version\":1}", 13);
	expect_einval((const unsigned char *)"\x1f", 1);
}

/* Deflates text in one go with zlib directly: wbits -15 = raw deflate,
 * 31 = gzip with header h (may be NULL). Returns the length in buf. */
static size_t zlib_deflate(int wbits, gz_header *h, const char *text,
                           unsigned char *buf, size_t bufsize)
{
	z_stream z;
	size_t n;

	memset(&z, 0, sizeof(z));
	assert_int_equal(
	    deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY),
	    Z_OK);
	if (h)
		assert_int_equal(deflateSetHeader(&z, h), Z_OK);
	z.next_in = (Bytef *)text;
	z.avail_in = (uInt)strlen(text);
	z.next_out = buf;
	z.avail_out = (uInt)bufsize;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	return n;
}

/* The same data as a zlib stream and as raw deflate: both refused. */
static void test_zlib_and_raw_refused(void **state)
{
	static const char text[] = "hello hello hello hello";
	unsigned char zbuf[256], *out;
	uLongf zlen = sizeof(zbuf);
	size_t outlen;

	(void)state;
	assert_int_equal(
	    compress2(zbuf, &zlen, (const Bytef *)text, sizeof(text) - 1, 9),
	    Z_OK);
	assert_int_equal(zbuf[0], 0x78);
	expect_einval(zbuf, zlen);
	zlen = zlib_deflate(-15, NULL, text, zbuf, sizeof(zbuf));
	expect_einval(zbuf, zlen);
	/* and the genuine gzip of it passes, so the refusals are real */
	zlen = zlib_deflate(31, NULL, text, zbuf, sizeof(zbuf));
	assert_int_equal(tb_gz_decompress(zbuf, zlen, 100, &out, &outlen), 0);
	assert_int_equal(outlen, sizeof(text) - 1);
	tb_free(out);
}

static void test_trailing_bytes(void **state)
{
	unsigned char *gz, *two;
	size_t gzlen;

	(void)state;
	small_body(&gz, &gzlen);
	two = malloc(2 * gzlen);
	assert_non_null(two);
	memcpy(two, gz, gzlen);
	two[gzlen] = 0;
	expect_einval(two, gzlen + 1); /* one NUL after the member */
	two[gzlen] = 'x';
	expect_einval(two, gzlen + 1);
	memcpy(two + gzlen, gz, gzlen);
	expect_einval(two, 2 * gzlen); /* a second member */
	free(two);
	tb_free(gz);
}

static void test_bad_trailer_and_data(void **state)
{
	unsigned char *gz;
	size_t gzlen;

	(void)state;
	small_body(&gz, &gzlen);
	gz[gzlen - 8] ^= 0x01; /* CRC-32 */
	expect_einval(gz, gzlen);
	gz[gzlen - 8] ^= 0x01;
	gz[gzlen - 1] ^= 0x01; /* ISIZE */
	expect_einval(gz, gzlen);
	gz[gzlen - 1] ^= 0x01;
	gz[gzlen / 2] ^= 0x40; /* inside the deflate data */
	expect_einval(gz, gzlen);
	tb_free(gz);
}

/* A header with FNAME and FEXTRA, as gzip(1) writes, is accepted. */
static void test_header_fields(void **state)
{
	static const char text[] = "batch body";
	unsigned char buf[512], *out;
	size_t outlen, n;
	gz_header h;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.name = (Bytef *)"batch.json";
	h.extra = (Bytef *)"AB\x02\x00hi";
	h.extra_len = 6;
	h.hcrc = 1;
	n = zlib_deflate(31, &h, text, buf, sizeof(buf));
	assert_int_equal(buf[3], 0x0e); /* FHCRC | FEXTRA | FNAME */
	assert_int_equal(tb_gz_decompress(buf, n, 100, &out, &outlen), 0);
	assert_int_equal(outlen, sizeof(text) - 1);
	assert_memory_equal(out, text, outlen);
	tb_free(out);
}

/* Feeding byte by byte, and in uneven pieces, gives the one-shot result. */
static void test_stream_pieces(void **state)
{
	size_t n = 200000, gzlen, onelen, outlen;
	unsigned char *in = malloc(n), *gz, *one, *out;
	static const size_t steps[] = {1, 2, 3, 7, 64, 4096, 100000};

	(void)state;
	assert_non_null(in);
	fill_text(in, n / 2);
	fill_random(in + n / 2, n / 2, 99);
	assert_int_equal(tb_gz_compress(in, n, -1, &gz, &gzlen), 0);
	assert_int_equal(tb_gz_decompress(gz, gzlen, n, &one, &onelen), 0);
	for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
		struct tb_gz_stream *s = tb_gz_stream_create(n);

		assert_non_null(s);
		for (size_t off = 0; off < gzlen; off += steps[si]) {
			size_t k =
			    gzlen - off < steps[si] ? gzlen - off : steps[si];
			assert_int_equal(tb_gz_stream_feed(s, gz + off, k), 0);
			assert_int_equal(tb_gz_stream_feed(s, gz + off, 0), 0);
		}
		assert_int_equal(tb_gz_stream_finish(s, &out, &outlen), 0);
		assert_int_equal(outlen, onelen);
		assert_memory_equal(out, one, onelen);
		assert_memory_equal(out, in, n);
		tb_free(out);
		/* after the hand-over the stream is spent */
		assert_int_equal(tb_gz_stream_finish(s, &out, &outlen),
		                 TB_EINVAL);
		assert_int_equal(tb_gz_stream_feed(s, gz, 1), TB_EINVAL);
		tb_gz_stream_destroy(s);
	}
	tb_free(one);
	tb_free(gz);
	free(in);
}

/* Errors are sticky; the cap and trailing bytes are caught when fed in
 * pieces too; a stream destroyed in any state does not leak. */
static void test_stream_errors(void **state)
{
	unsigned char *gz, *out, *big, *bgz;
	size_t gzlen, outlen, blen = 300000, bgzlen, off;
	struct tb_gz_stream *s;
	int rc = 0;

	(void)state;
	small_body(&gz, &gzlen);

	s = tb_gz_stream_create(MIB);
	assert_int_equal(tb_gz_stream_feed(s, "\x1f", 1), 0);
	assert_int_equal(tb_gz_stream_feed(s, "\x8c", 1), TB_EINVAL);
	assert_int_equal(tb_gz_stream_feed(s, gz + 2, gzlen - 2), TB_EINVAL);
	assert_int_equal(tb_gz_stream_finish(s, &out, &outlen), TB_EINVAL);
	assert_null(out);
	tb_gz_stream_destroy(s);

	s = tb_gz_stream_create(MIB);
	assert_int_equal(tb_gz_stream_feed(s, gz, gzlen), 0);
	assert_int_equal(tb_gz_stream_feed(s, "\0", 1), TB_EINVAL);
	assert_int_equal(tb_gz_stream_finish(s, &out, &outlen), TB_EINVAL);
	tb_gz_stream_destroy(s);

	s = tb_gz_stream_create(MIB);
	assert_int_equal(tb_gz_stream_feed(s, gz, gzlen - 1), 0);
	assert_int_equal(tb_gz_stream_finish(s, &out, &outlen), TB_EINVAL);
	tb_gz_stream_destroy(s);

	s = tb_gz_stream_create(MIB); /* nothing fed at all */
	assert_int_equal(tb_gz_stream_finish(s, &out, &outlen), TB_EINVAL);
	tb_gz_stream_destroy(s);

	s = tb_gz_stream_create(MIB); /* destroyed mid-stream */
	assert_int_equal(tb_gz_stream_feed(s, gz, gzlen / 2), 0);
	tb_gz_stream_destroy(s);
	tb_gz_stream_destroy(NULL);

	big = malloc(blen);
	assert_non_null(big);
	fill_text(big, blen);
	assert_int_equal(tb_gz_compress(big, blen, 9, &bgz, &bgzlen), 0);
	s = tb_gz_stream_create(blen - 1);
	for (off = 0; off < bgzlen && rc == 0; off += 100)
		rc = tb_gz_stream_feed(s, bgz + off,
		                       bgzlen - off < 100 ? bgzlen - off : 100);
	assert_int_equal(rc, TB_ETOOBIG);
	assert_int_equal(tb_gz_stream_feed(s, bgz, 1), TB_ETOOBIG);
	assert_int_equal(tb_gz_stream_finish(s, &out, &outlen), TB_ETOOBIG);
	tb_gz_stream_destroy(s);
	tb_free(bgz);
	free(big);
	tb_free(gz);
}

/* Random bytes after a valid magic never crash or pass silently. */
static void test_garbage(void **state)
{
	unsigned char buf[300], *out;
	size_t outlen;

	(void)state;
	for (uint32_t seed = 1; seed <= 2000; seed++) {
		size_t len = 3 + seed % (sizeof(buf) - 3);
		int rc;

		fill_random(buf, len, seed);
		buf[0] = 0x1f;
		buf[1] = 0x8b;
		buf[2] = 8;
		rc = tb_gz_decompress(buf, len, 4096, &out, &outlen);
		assert_true(rc == TB_EINVAL || rc == TB_ETOOBIG);
		assert_null(out);
	}
}

/* Make each allocation fail in turn: TB_ENOMEM, nothing leaks (ASan),
 * until the call completes. */
static void test_alloc_failures(void **state)
{
	unsigned char in[70000], *gz = NULL, *out;
	size_t gzlen, outlen;
	long n;
	int rc;

	(void)state;
	fill_text(in, sizeof(in));
	for (n = 1; n < 100; n++) {
		tb_mem_fail_at(n);
		rc = tb_gz_compress(in, sizeof(in), -1, &gz, &gzlen);
		if (rc == 0)
			break;
		assert_int_equal(rc, TB_ENOMEM);
		assert_null(gz);
	}
	assert_true(n > 1 && n < 100);
	for (n = 1; n < 100; n++) {
		tb_mem_fail_at(n);
		rc = tb_gz_decompress(gz, gzlen, sizeof(in), &out, &outlen);
		if (rc == 0)
			break;
		assert_int_equal(rc, TB_ENOMEM);
		assert_null(out);
	}
	tb_mem_fail_at(0);
	assert_true(n > 1 && n < 100);
	assert_int_equal(outlen, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
	tb_free(out);
	tb_free(gz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_small),
	    cmocka_unit_test(test_round_trip_1mb),
	    cmocka_unit_test(test_cap_boundary),
	    cmocka_unit_test(test_bomb_construction),
	    cmocka_unit_test(test_bomb_1gib),
	    cmocka_unit_test(test_bomb_level9),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_wrong_magic),
	    cmocka_unit_test(test_zlib_and_raw_refused),
	    cmocka_unit_test(test_trailing_bytes),
	    cmocka_unit_test(test_bad_trailer_and_data),
	    cmocka_unit_test(test_header_fields),
	    cmocka_unit_test(test_stream_pieces),
	    cmocka_unit_test(test_stream_errors),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
