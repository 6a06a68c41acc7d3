/* err.h - the one error convention of tienbo.
 *
 * Every function that can fail returns int: 0 (TB_OK) on success or one of
 * the negative codes below. TB_EAGAIN is the only "try again later" code:
 * callers that retry (the sync engine, the server under load) retry on it
 * and on nothing else. tb_strerror() never returns NULL.
 */
#ifndef TB_ERR_H
#define TB_ERR_H

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

/* A short English phrase for a code; static storage, never NULL. */
const char *tb_strerror(int rc);

#endif
