/* mem.c - allocation wrappers with a failure-injection counter (see mem.h). */
#include "common/mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Atomic because the server's worker threads allocate too (failures are
 * only injected in single-threaded tests). Unarmed, an allocation costs one
 * relaxed load: nothing is counted. */
static atomic_long fail_at;
static atomic_long count;

static int should_fail(void)
{
	long at = atomic_load_explicit(&fail_at, memory_order_relaxed);

	if (at <= 0)
		return 0;
	return atomic_fetch_add_explicit(&count, 1, memory_order_relaxed) + 1 ==
	       at;
}

void *tb_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *tb_calloc(size_t nmemb, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *tb_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

char *tb_strndup(const char *s, size_t n)
{
	size_t len = 0;
	char *copy;

	if (!s)
		return NULL;
	while (len < n && s[len])
		len++;
	copy = tb_malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *tb_strdup(const char *s)
{
	return s ? tb_strndup(s, strlen(s)) : NULL;
}

void tb_free(void *p)
{
	free(p);
}

void tb_mem_fail_at(long nth)
{
	atomic_store(&count, 0);
	atomic_store(&fail_at, nth);
}

long tb_mem_count(void)
{
	return atomic_load(&count);
}
