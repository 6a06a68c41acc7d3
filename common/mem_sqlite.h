/* mem_sqlite.h - SQLite's own allocations through tb_malloc, so the
 * failure-injection counter of common/mem.h reaches inside SQLite.
 *
 * Called once by a program or a test before its first SQLite call (the
 * agent's store tests and the allocation-failure walk over the store:
 * tests/test_store_oom.c). SQLite requires the change before
 * sqlite3_initialize; a later call is refused (TB_ECONFLICT) and changes
 * nothing. Thread-safe as SQLite's configuration is: call it from one
 * thread before others use SQLite.
 */
#ifndef TB_COMMON_MEM_SQLITE_H
#define TB_COMMON_MEM_SQLITE_H

/* Routes sqlite3's memory through tb_malloc/tb_realloc/tb_free. 0, or
 * TB_ECONFLICT when SQLite is already initialised, TB_EIO otherwise. */
int tb_mem_sqlite_route(void);

#endif
