/* mem.h - allocation wrappers with failure injection.
 *
 * All project code allocates through these, so a test can make the Nth
 * allocation fail (tb_mem_fail_at) and walk the point of failure forward,
 * the way SQLite's OOM tests do. tb_free(NULL) is a no-op. Not thread-safe
 * in its failure counter; tests that inject failures run single-threaded.
 */
#ifndef TB_COMMON_MEM_H
#define TB_COMMON_MEM_H

#include <stddef.h>

void *tb_malloc(size_t n);
void *tb_calloc(size_t count, size_t size);
void *tb_realloc(void *p, size_t n);
/* Copies s (NULL in, NULL out without counting as a failure). */
char *tb_strdup(const char *s);
/* Copies at most n bytes of s and terminates the copy. */
char *tb_strndup(const char *s, size_t n);
void tb_free(void *p);

/* Make the nth allocation from now fail (1 = the next one); 0 disables. */
void tb_mem_fail_at(long nth);
/* How many allocations were made since the last tb_mem_fail_at(nth > 0);
 * tb_mem_fail_at(LONG_MAX) counts an operation's allocations without
 * failing any. Nothing is counted while disarmed. */
long tb_mem_count(void);

#endif
