/* gz.h - gzip for batch bodies, with a hard cap on inflated size.
 *
 * The cap is enforced while inflating: output grows in steps and inflation
 * stops with TB_ETOOBIG as soon as the next byte would pass the cap, so a
 * 1 KB body that would inflate to 1 GB costs at most `cap` bytes of memory.
 * Only the gzip format (RFC 1952, one member) is accepted: raw deflate, zlib
 * streams, a wrong magic, a bad CRC, a truncated stream or trailing garbage
 * are TB_EINVAL.
 */
#ifndef TB_PROTOCOL_GZ_H
#define TB_PROTOCOL_GZ_H

#include <stddef.h>

/* Compresses in[0..len) as one gzip member at `level` (1..9, or -1 for the
 * default). *out is allocated with tb_malloc and owned by the caller.
 * 0 or TB_ENOMEM; *out is NULL on failure. */
int tb_gz_compress(const void *in, size_t len, int level, unsigned char **out,
		   size_t *outlen);

/* Inflates a whole gzip body. *out (owned by the caller, NUL-terminated for
 * convenience; the NUL is not counted in *outlen) on 0; NULL otherwise.
 * TB_EINVAL: not gzip / corrupt / truncated / trailing bytes.
 * TB_ETOOBIG: would inflate past cap bytes. TB_ENOMEM. */
int tb_gz_decompress(const void *in, size_t len, size_t cap,
		     unsigned char **out, size_t *outlen);

/* Incremental inflation for bodies that arrive in pieces (the server's
 * upload handler). feed() may be called any number of times; finish()
 * checks the stream ended cleanly and hands over the output. Errors as for
 * tb_gz_decompress; after an error every further call returns it again.
 * destroy() accepts NULL and a stream in any state. */
struct tb_gz_stream;
struct tb_gz_stream *tb_gz_stream_create(size_t cap);
int tb_gz_stream_feed(struct tb_gz_stream *s, const void *in, size_t len);
int tb_gz_stream_finish(struct tb_gz_stream *s, unsigned char **out,
			size_t *outlen);
void tb_gz_stream_destroy(struct tb_gz_stream *s);

#endif
