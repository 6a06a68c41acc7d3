/* err.h - the one error convention of tienbo, and its one table.
 *
 * Every function that can fail returns int: 0 (TB_OK) on success or one of
 * the negative codes below. Each code has one row in common/err.c saying,
 * for both binaries alike, what it means: a short English phrase, the
 * process exit status (sysexits.h values, documented in README), the HTTP
 * status a server answer carries for it, and whether the operation is worth
 * retrying later. Nothing else maps codes: the agent's and the server's
 * main functions, the admin and report routes and the sync engine all ask
 * this table.
 *
 * Worth retrying: TB_EAGAIN (temporary: busy, overloaded, told to wait) and
 * TB_ENET (the peer could not be reached or the transfer broke). Every
 * other code is permanent until something changes (the data, the config,
 * the disk): retrying it as it is would fail the same way.
 */
#ifndef TB_COMMON_ERR_H
#define TB_COMMON_ERR_H

enum tb_err {
	TB_OK = 0,
	TB_EINVAL = -1,    /* bad data: a field broke a rule */
	TB_ENOMEM = -2,    /* an allocation failed */
	TB_EIO = -3,       /* file system or database I/O failed */
	TB_EAGAIN = -4,    /* temporary: try again later */
	TB_ENOTFOUND = -5, /* no such event, unit, key, ... */
	TB_ETOOBIG = -6,   /* a size limit was hit */
	TB_ECONFIG = -7,   /* configuration missing or malformed */
	TB_ENET = -8,      /* network: cannot reach the peer */
	TB_EAUTH = -9,     /* refused: bad or revoked token, wrong school */
	TB_ECONFLICT = -10,/* state conflict: sequence gap, newer schema, ... */
	TB_EUSAGE = -11    /* command line misuse */
};

/* Exit statuses of both binaries (README's table). */
#define TB_EXIT_OK 0
#define TB_EXIT_USAGE 64       /* bad command line */
#define TB_EXIT_DATAERR 65     /* bad data, or no such event/unit/token */
#define TB_EXIT_UNAVAILABLE 69 /* peer unreachable or busy: try later */
#define TB_EXIT_IOERR 74       /* disk full, read-only, damaged file */
#define TB_EXIT_CONFIG 78      /* config, certificate or token refused */

/* A short English phrase for a code; static storage, never NULL. */
const char *tb_strerror(int rc);
/* The process exit status for rc (TB_EXIT_*); an unknown code is
 * TB_EXIT_IOERR. */
int tb_err_exit(int rc);
/* The HTTP status a server answer carries for rc (400..599); an unknown
 * code is 500. */
unsigned tb_err_http(int rc);
/* 1 if an operation that failed with rc is worth trying again later
 * (TB_EAGAIN, TB_ENET), else 0. */
int tb_err_retry(int rc);
/* 1 if an HTTP answer with this status is worth trying again later (429,
 * 500, 502, 503, 504: the server or a proxy in front of it is busy or
 * passing a fault), else 0. */
int tb_http_status_retry(unsigned status);

#endif
