/* err.c - names for the error codes of err.h. */
#include "common/err.h"

const char *tb_strerror(int rc)
{
	switch (rc) {
	case TB_OK: return "ok";
	case TB_EINVAL: return "invalid data";
	case TB_ENOMEM: return "out of memory";
	case TB_EIO: return "input/output error";
	case TB_EAGAIN: return "temporarily unavailable, try again later";
	case TB_ENOTFOUND: return "not found";
	case TB_ETOOBIG: return "too large";
	case TB_ECONFIG: return "configuration error";
	case TB_ENET: return "network error";
	case TB_EAUTH: return "not authorised";
	case TB_ECONFLICT: return "conflict";
	case TB_EUSAGE: return "usage error";
	}
	return "unknown error";
}
