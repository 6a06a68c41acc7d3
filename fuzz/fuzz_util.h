/* fuzz_util.h - what the libFuzzer targets of fuzz/ share: a private
 * scratch directory, whole-file writes, a stable hash of the input, and
 * fuzz_util_check, which turns a broken property into a crash libFuzzer
 * records (an abort with the property's name on stderr).
 *
 * Linked into every fuzz_*.c executable by cmake/fuzz.cmake.
 */
#ifndef TB_FUZZ_FUZZ_UTIL_H
#define TB_FUZZ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The process's scratch directory (created on first call under /dev/shm
 * when it exists, else $TMPDIR or /tmp; removed at exit). Never NULL: a
 * directory that cannot be made aborts. */
const char *fuzz_util_dir(void);
/* dir/name into buf (aborts if it does not fit). */
void fuzz_util_path(char *buf, size_t buflen, const char *name);
/* Writes data to path, replacing it. Aborts on failure. */
void fuzz_util_write(const char *path, const void *data, size_t len);
/* FNV-1a of the input: a deterministic choice derived from it. */
uint64_t fuzz_util_hash(const void *data, size_t len);
/* Aborts with "fuzz property broken: what" when !ok. A macro so that
 * static analysers see the abort. */
#define fuzz_util_check(ok, what) ((ok) ? (void)0 : fuzz_util_fail(what))
_Noreturn void fuzz_util_fail(const char *what);

#endif
