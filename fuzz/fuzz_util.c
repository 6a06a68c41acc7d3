/* fuzz_util.c - scratch directory, files, hash and checks for the fuzz
 * targets (fuzz_util.h). */
#define _XOPEN_SOURCE 700
#include "fuzz/fuzz_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_util_scratch[256];

static int fuzz_util_rm(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void fuzz_util_cleanup(void)
{
	if (fuzz_util_scratch[0])
		nftw(fuzz_util_scratch, fuzz_util_rm, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_util_dir(void)
{
	struct stat st;
	const char *base = getenv("TMPDIR");

	if (fuzz_util_scratch[0])
		return fuzz_util_scratch;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	if (!base || !base[0])
		base = "/tmp";
	snprintf(fuzz_util_scratch, sizeof(fuzz_util_scratch),
		 "%s/tienbo-fuzz-XXXXXX", base);
	if (!mkdtemp(fuzz_util_scratch)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_util_cleanup);
	return fuzz_util_scratch;
}

void fuzz_util_path(char *buf, size_t buflen, const char *name)
{
	int n = snprintf(buf, buflen, "%s/%s", fuzz_util_dir(), name);

	fuzz_util_check(n > 0 && (size_t)n < buflen, "scratch path fits");
}

void fuzz_util_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

uint64_t fuzz_util_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

void fuzz_util_fail(const char *what)
{
	fprintf(stderr, "fuzz property broken: %s\n", what);
	abort();
}
