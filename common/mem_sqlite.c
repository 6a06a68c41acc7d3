/* mem_sqlite.c - SQLite's allocator on top of common/mem.h (see
 * mem_sqlite.h).
 *
 * SQLite asks its allocator for the size of a block (xSize), which
 * malloc does not tell portably, so each block carries its size in a
 * header of 16 bytes (8 would do for the size; 16 keeps the payload as
 * aligned as malloc's).
 */
#include "common/mem_sqlite.h"

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"

#define HDR 16

static void *sq_malloc(int n)
{
	unsigned char *p;

	if (n < 0)
		return NULL;
	p = tb_malloc((size_t)n + HDR);
	if (!p)
		return NULL;
	memcpy(p, &(uint64_t){(uint64_t)n}, sizeof(uint64_t));
	return p + HDR;
}

static void sq_free(void *p)
{
	if (p)
		tb_free((unsigned char *)p - HDR);
}

static int sq_size(void *p)
{
	uint64_t n = 0;

	if (p)
		memcpy(&n, (unsigned char *)p - HDR, sizeof(n));
	return (int)n;
}

static void *sq_realloc(void *p, int n)
{
	unsigned char *q;

	if (!p)
		return sq_malloc(n);
	if (n < 0)
		return NULL;
	q = tb_realloc((unsigned char *)p - HDR, (size_t)n + HDR);
	if (!q)
		return NULL;
	memcpy(q, &(uint64_t){(uint64_t)n}, sizeof(uint64_t));
	return q + HDR;
}

static int sq_roundup(int n)
{
	return (n + 7) & ~7;
}

static int sq_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void sq_shutdown(void *arg)
{
	(void)arg;
}

int tb_mem_sqlite_route(void)
{
	static const sqlite3_mem_methods m = {
		sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup,
		sq_init, sq_shutdown, NULL
	};
	int src = sqlite3_config(SQLITE_CONFIG_MALLOC, &m);

	if (src == SQLITE_MISUSE)
		return TB_ECONFLICT;
	return src == SQLITE_OK ? TB_OK : TB_EIO;
}
