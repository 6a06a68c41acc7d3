/* gz.c - gzip (RFC 1952) for batch bodies, with the inflate cap of gz.h.
 *
 * Callers: the agent compresses each batch before upload; the server's
 * upload handler inflates request bodies through the stream API as they
 * arrive (tb_gz_decompress is the same stream fed once).
 *
 * Guarantees:
 *  - Only one gzip member is accepted. The magic 1f 8b is checked here
 *    before zlib sees the data (zlib is opened with 16+MAX_WBITS, gzip only,
 *    so a zlib or raw deflate stream is refused twice over); bytes after the
 *    end of the member are refused; a bad CRC-32 or length trailer, a
 *    corrupt or truncated stream are refused. All of these are TB_EINVAL.
 *  - The cap is enforced while inflating. The output buffer starts small
 *    and doubles, but is never allocated larger than cap+1 bytes (the +1
 *    both detects "one byte too many" and holds the final NUL). As soon as
 *    inflation produces byte cap+1 the stream fails with TB_ETOOBIG, so a
 *    body that would inflate to 1 GB costs at most cap+1 bytes and the time
 *    to inflate cap bytes.
 *  - zlib's own state is allocated through tb_malloc, so tests that make
 *    the Nth allocation fail reach it too.
 *  - Errors are sticky: once a stream failed, every later call returns the
 *    same code. After a successful finish the output has been handed over
 *    and further feed/finish calls return TB_EINVAL.
 */
#include "protocol/gz.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "common/err.h"
#include "common/mem.h"

#define GZ_FIRST_ALLOC 16384 /* first output buffer, grown by doubling */

enum gz_state { GZ_RUNNING, GZ_ENDED, GZ_FINISHED };

struct tb_gz_stream {
	z_stream z;
	int zopen; /* inflateInit2 succeeded */
	int rc;    /* sticky error, 0 while healthy */
	enum gz_state state;
	size_t seen;        /* input bytes seen, to check the magic */
	size_t cap;         /* at most cap bytes of output */
	unsigned char *buf; /* output, alloc bytes, len used */
	size_t len, alloc;
};

static voidpf gz_zalloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	if (size && items > SIZE_MAX / size)
		return Z_NULL;
	return tb_malloc((size_t)items * size);
}

static void gz_zfree(voidpf opaque, voidpf p)
{
	(void)opaque;
	tb_free(p);
}

int tb_gz_compress(const void *in, size_t len, int level, unsigned char **out,
                   size_t *outlen)
{
	z_stream z;
	const unsigned char *p = in;
	unsigned char *buf = NULL;
	size_t left = len, bound;
	int zopen = 0, ret, rc = TB_ENOMEM;

	*out = NULL;
	*outlen = 0;
	if (level < -1 || level > 9)
		level = Z_DEFAULT_COMPRESSION;
	memset(&z, 0, sizeof(z));
	z.zalloc = gz_zalloc;
	z.zfree = gz_zfree;
	if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
	                 Z_DEFAULT_STRATEGY) != Z_OK)
		goto out;
	zopen = 1;
	bound = deflateBound(&z, (uLong)len);
	buf = tb_malloc(bound);
	if (!buf)
		goto out;
	z.next_out = buf;
	z.avail_out = bound > UINT_MAX ? UINT_MAX : (uInt)bound;
	do {
		uInt chunk = left > UINT_MAX ? UINT_MAX : (uInt)left;
		size_t done_out = (size_t)(z.next_out - buf);

		z.next_in = (z_const Bytef *)p;
		z.avail_in = chunk;
		if (z.avail_out == 0) {
			size_t room = bound - done_out;
			z.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
		}
		ret = deflate(&z, chunk == left ? Z_FINISH : Z_NO_FLUSH);
		if (ret == Z_STREAM_ERROR || ret == Z_BUF_ERROR)
			goto out; /* cannot happen with a deflateBound buffer */
		p += chunk - z.avail_in;
		left -= chunk - z.avail_in;
	} while (ret != Z_STREAM_END);
	*out = buf;
	*outlen = (size_t)(z.next_out - buf);
	buf = NULL;
	rc = 0;
out:
	if (zopen)
		deflateEnd(&z);
	tb_free(buf);
	return rc;
}

struct tb_gz_stream *tb_gz_stream_create(size_t cap)
{
	struct tb_gz_stream *s = tb_calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cap = cap < SIZE_MAX - 1 ? cap : SIZE_MAX - 2;
	s->z.zalloc = gz_zalloc;
	s->z.zfree = gz_zfree;
	if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
		tb_free(s);
		return NULL;
	}
	s->zopen = 1;
	return s;
}

/* Makes room for more output: doubles the buffer, never past cap+1.
 * TB_ETOOBIG when cap+1 bytes are already there. */
static int gz_grow(struct tb_gz_stream *s)
{
	size_t limit = s->cap + 1, want;
	unsigned char *nbuf;

	if (s->alloc >= limit)
		return TB_ETOOBIG;
	want = s->alloc ? s->alloc * 2 : GZ_FIRST_ALLOC;
	if (want < s->alloc || want > limit)
		want = limit;
	nbuf = tb_realloc(s->buf, want);
	if (!nbuf)
		return TB_ENOMEM;
	s->buf = nbuf;
	s->alloc = want;
	return 0;
}

/* Checks the two magic bytes among the first bytes of input. */
static int gz_check_magic(struct tb_gz_stream *s, const unsigned char *p,
                          size_t len)
{
	static const unsigned char magic[2] = {0x1f, 0x8b};

	while (s->seen < 2 && len > 0) {
		if (*p != magic[s->seen])
			return TB_EINVAL;
		s->seen++;
		p++;
		len--;
	}
	return 0;
}

/* One inflate() call on what is in s->z; updates len and state. */
static int gz_step(struct tb_gz_stream *s)
{
	size_t room;
	int ret;

	if (s->len == s->alloc) {
		int rc = gz_grow(s);
		if (rc)
			return rc;
	}
	room = s->alloc - s->len;
	s->z.next_out = s->buf + s->len;
	s->z.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
	ret = inflate(&s->z, Z_NO_FLUSH);
	s->len += (size_t)(s->z.next_out - (s->buf + s->len));
	if (s->len > s->cap)
		return TB_ETOOBIG;
	switch (ret) {
	case Z_OK:
		return 0;
	case Z_BUF_ERROR:
		/* No progress. Fine when zlib wants more input or more room
		 * (the caller provides either); with both there, it is stuck.
		 */
		if (s->z.avail_in > 0 && s->z.avail_out > 0)
			return TB_EINVAL;
		return 0;
	case Z_STREAM_END:
		s->state = GZ_ENDED;
		return 0;
	case Z_MEM_ERROR:
		return TB_ENOMEM;
	default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
		return TB_EINVAL;
	}
}

int tb_gz_stream_feed(struct tb_gz_stream *s, const void *in, size_t len)
{
	const unsigned char *p = in;
	int rc = 0;

	if (s->rc)
		return s->rc;
	if (s->state == GZ_FINISHED)
		return TB_EINVAL;
	if (len == 0)
		return 0;
	if (s->state == GZ_ENDED) {
		rc = TB_EINVAL; /* trailing bytes after the member */
		goto out;
	}
	rc = gz_check_magic(s, p, len);
	if (rc)
		goto out;
	while (len > 0 && s->state == GZ_RUNNING) {
		uInt chunk = len > UINT_MAX ? UINT_MAX : (uInt)len;

		s->z.next_in = (z_const Bytef *)p;
		s->z.avail_in = chunk;
		/* Run until zlib has taken the whole chunk and has no output
		 * left to give (a full output buffer may hide more). */
		do {
			rc = gz_step(s);
			if (rc)
				goto out;
		} while (s->state == GZ_RUNNING &&
		         (s->z.avail_in > 0 || s->z.avail_out == 0));
		p += chunk - s->z.avail_in;
		len -= chunk - s->z.avail_in;
	}
	if (len > 0)
		rc = TB_EINVAL; /* the member ended inside this piece */
out:
	s->rc = rc;
	return rc;
}

int tb_gz_stream_finish(struct tb_gz_stream *s, unsigned char **out,
                        size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (s->rc)
		return s->rc;
	if (s->state == GZ_FINISHED)
		return TB_EINVAL;
	if (s->state != GZ_ENDED) {
		s->rc = TB_EINVAL; /* truncated: the member never ended */
		return s->rc;
	}
	if (s->len == s->alloc) {
		unsigned char *nbuf = tb_realloc(s->buf, s->len + 1);
		if (!nbuf)
			return TB_ENOMEM; /* not sticky: the caller may retry */
		s->buf = nbuf;
		s->alloc = s->len + 1;
	}
	s->buf[s->len] = '\0';
	*out = s->buf;
	*outlen = s->len;
	s->buf = NULL;
	s->len = s->alloc = 0;
	s->state = GZ_FINISHED;
	return 0;
}

void tb_gz_stream_destroy(struct tb_gz_stream *s)
{
	if (!s)
		return;
	if (s->zopen)
		inflateEnd(&s->z);
	tb_free(s->buf);
	tb_free(s);
}

int tb_gz_decompress(const void *in, size_t len, size_t cap,
                     unsigned char **out, size_t *outlen)
{
	struct tb_gz_stream *s;
	int rc;

	*out = NULL;
	*outlen = 0;
	s = tb_gz_stream_create(cap);
	if (!s)
		return TB_ENOMEM;
	rc = tb_gz_stream_feed(s, in, len);
	if (rc == 0)
		rc = tb_gz_stream_finish(s, out, outlen);
	tb_gz_stream_destroy(s);
	return rc;
}
