/* err.c - the table behind err.h: one row per code, read by both sides.
 * The phrases are marked for the agent's catalog (po/); the server never
 * binds it, so it gets them in English. */
#include "common/err.h"

#include <stddef.h>

#include "common/i18n.h"

struct row {
	const char *phrase;
	int code;
	int exit_status;
	unsigned http;
	int retry;
};

/* Codes are 0, -1, ..., -11: the row of code c is rows[-c]. */
static const struct row rows[] = {
	{ N_("ok"), TB_OK, TB_EXIT_OK, 200, 0 },
	{ N_("invalid data"), TB_EINVAL, TB_EXIT_DATAERR, 400, 0 },
	{ N_("out of memory"), TB_ENOMEM, TB_EXIT_IOERR, 503, 0 },
	{ N_("input/output error"), TB_EIO, TB_EXIT_IOERR, 500, 0 },
	{ N_("temporarily unavailable, try again later"), TB_EAGAIN,
	  TB_EXIT_UNAVAILABLE, 503, 1 },
	{ N_("not found"), TB_ENOTFOUND, TB_EXIT_DATAERR, 404, 0 },
	{ N_("too large"), TB_ETOOBIG, TB_EXIT_DATAERR, 413, 0 },
	{ N_("configuration error"), TB_ECONFIG, TB_EXIT_CONFIG, 500, 0 },
	{ N_("network error"), TB_ENET, TB_EXIT_UNAVAILABLE, 502, 1 },
	{ N_("not authorised"), TB_EAUTH, TB_EXIT_CONFIG, 401, 0 },
	{ N_("conflict"), TB_ECONFLICT, TB_EXIT_DATAERR, 409, 0 },
	{ N_("usage error"), TB_EUSAGE, TB_EXIT_USAGE, 400, 0 },
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

	return r ? _(r->phrase) : _("unknown error");
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
