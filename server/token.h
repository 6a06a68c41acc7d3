/* token.h - bearer tokens of tienbo-server: made, hashed and compared here.
 *
 * A token is 32 random bytes from getrandom(2) written as 64 lower-case hex
 * characters. It is shown once (by `enroll` or `admin-token`) and never
 * stored: the database keeps its first TB_TOKEN_PREFIX_LEN characters (a
 * selector, so a lookup needs no scan and `revoke --token-prefix` has
 * something to match) and the SHA-256 of the whole text (GnuTLS). A
 * presented token is checked by looking up its selector and comparing
 * hashes in constant time, so response timing does not reveal how much of
 * a guess was right. Used by server/auth.c and the tests.
 */
#ifndef TB_SERVER_TOKEN_H
#define TB_SERVER_TOKEN_H

#include <stddef.h>

#define TB_TOKEN_BYTES 32
#define TB_TOKEN_LEN (2 * TB_TOKEN_BYTES) /* hex characters, no NUL */
#define TB_TOKEN_PREFIX_LEN 12
#define TB_TOKEN_HASH_LEN 32              /* SHA-256 */

/* A new token into out (TB_TOKEN_LEN + 1 bytes, NUL-terminated).
 * 0 or TB_EIO if the OS random source fails. */
int tb_token_new(char *out);
/* 1 if s is exactly TB_TOKEN_LEN lower-case hex characters. */
int tb_token_well_formed(const char *s);
/* SHA-256 of the token text into hash. 0 or TB_EIO. */
int tb_token_hash(const char *token, unsigned char hash[TB_TOKEN_HASH_LEN]);
/* 1 if equal; takes the same time whatever the contents. */
int tb_token_hash_equal(const unsigned char *a, const unsigned char *b);

#endif
