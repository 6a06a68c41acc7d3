/* token.c - random bearer tokens, their SHA-256 and a constant-time
 * comparison (see token.h). Randomness from getrandom(2), hashing from
 * GnuTLS, which the server links for TLS anyway.
 */
#include "server/token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "common/err.h"

static int token_random(unsigned char *buf, size_t len)
{
	size_t got = 0;
	int tries = 0;

	while (got < len && tries < 100) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		tries++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return TB_EIO;
		}
		got += (size_t)n;
	}
	return got == len ? TB_OK : TB_EIO;
}

int tb_token_new(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TB_TOKEN_BYTES];
	int rc;
	size_t i;

	rc = token_random(raw, sizeof(raw));
	if (rc < 0)
		goto out;
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TB_TOKEN_LEN] = '\0';
out:
	memset(raw, 0, sizeof(raw));
	return rc;
}

int tb_token_well_formed(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < TB_TOKEN_LEN; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[TB_TOKEN_LEN] == '\0';
}

int tb_token_hash(const char *token, unsigned char hash[TB_TOKEN_HASH_LEN])
{
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), hash) < 0)
		return TB_EIO;
	return TB_OK;
}

int tb_token_hash_equal(const unsigned char *a, const unsigned char *b)
{
	volatile unsigned char diff = 0;
	size_t i;

	for (i = 0; i < TB_TOKEN_HASH_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}
