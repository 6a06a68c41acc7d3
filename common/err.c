/* err.c - the table behind err.h: one row per code, read by both sides. */
#include "common/err.h"

#include <stddef.h>

struct row {
	int code;
	const char *phrase;
	int exit_status;
	unsigned http;
	int retry;
};

/* Codes are 0, -1, ..., -11: the row of code c is rows[-c]. */
static const struct row rows[] = {
	{ TB_OK, "ok", TB_EXIT_OK, 200, 0 },
	{ TB_EINVAL, "invalid data", TB_EXIT_DATAERR, 400, 0 },
	{ TB_ENOMEM, "out of memory", TB_EXIT_IOERR, 503, 0 },
	{ TB_EIO, "input/output error", TB_EXIT_IOERR, 500, 0 },
	{ TB_EAGAIN, "temporarily unavailable, try again later",
	  TB_EXIT_UNAVAILABLE, 503, 1 },
	{ TB_ENOTFOUND, "not found", TB_EXIT_DATAERR, 404, 0 },
	{ TB_ETOOBIG, "too large", TB_EXIT_DATAERR, 413, 0 },
	{ TB_ECONFIG, "configuration error", TB_EXIT_CONFIG, 500, 0 },
	{ TB_ENET, "network error", TB_EXIT_UNAVAILABLE, 502, 1 },
	{ TB_EAUTH, "not authorised", TB_EXIT_CONFIG, 401, 0 },
	{ TB_ECONFLICT, "conflict", TB_EXIT_DATAERR, 409, 0 },
	{ TB_EUSAGE, "usage error", TB_EXIT_USAGE, 400, 0 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const struct row *row_of(int rc)
{
	if (rc > 0 || (size_t)-(long)rc >= NROWS)
		return NULL;
	return &rows[-rc];
}

const char *tb_strerror(int rc)
{
	const struct row *r = row_of(rc);

	return r ? r->phrase : "unknown error";
}

int tb_err_exit(int rc)
{
	const struct row *r = row_of(rc);

	return r ? r->exit_status : TB_EXIT_IOERR;
}

unsigned tb_err_http(int rc)
{
	const struct row *r = row_of(rc);

	return r && rc != TB_OK ? r->http : 500;
}

int tb_err_retry(int rc)
{
	const struct row *r = row_of(rc);

	return r ? r->retry : 0;
}

int tb_http_status_retry(unsigned status)
{
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}
