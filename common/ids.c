/* ids.c - unit codes and UUIDs (see ids.h): the checks, a random
 * version-4 UUID from the OS and the compressible version-8 event ids.
 */
#include "common/ids.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/err.h"

int tb_code_valid(const char *code)
{
	size_t n = code ? strlen(code) : 0;

	if (n < TB_CODE_MIN || n > TB_CODE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = code[i];
		int alnum = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '-' && c != '_')))
			return 0;
	}
	return 1;
}

int tb_uuid_valid(const char *id)
{
	if (!id || strlen(id) != TB_ID_LEN - 1)
		return 0;
	for (size_t i = 0; i < TB_ID_LEN - 1; i++) {
		char c = id[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') ||
		             (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

static void uuid_format(unsigned char b[16], char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0F];
	}
	out[o] = '\0';
}

int tb_uuid_new(char *out)
{
	unsigned char b[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return TB_EIO;
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	uuid_format(b, out);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int tb_uuid_for_device(const char *device, int64_t n, char *out)
{
	unsigned char b[16];
	size_t i, k = 0;

	if (!tb_uuid_valid(device) || n < 1)
		return TB_EINVAL;
	/* the first 8 bytes of the device id: 16 hex digits, 1 hyphen */
	for (i = 0; k < 8; i += 2) {
		if (device[i] == '-')
			i++;
		/* tb_uuid_valid above: hexval never returns -1 here.
		 * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
		b[k++] = (unsigned char)(hexval(device[i]) << 4 |
					 hexval(device[i + 1]));
	}
	for (i = 0; i < 8; i++)
		b[8 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x80); /* version 8 */
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	uuid_format(b, out);
	return 0;
}
