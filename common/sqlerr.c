/* sqlerr.c - SQLite result codes in tienbo's terms (see sqlerr.h). */
#include "common/sqlerr.h"

#include <errno.h>

#include "common/err.h"
#include "common/i18n.h"

int tb_sqlite_err(sqlite3 *db, int src, const char **why)
{
	const char *dummy;
	int sys = db ? sqlite3_system_errno(db) : 0;

	if (!why)
		why = &dummy;
	if (src == SQLITE_IOERR_NOMEM) {
		*why = _("out of memory");
		return TB_ENOMEM;
	}
	switch (src & 0xff) {
	case SQLITE_FULL:
		*why = _("the disk is full");
		return TB_EIO;
	case SQLITE_READONLY:
		*why = _("the data directory or the database file is read-only");
		return TB_EIO;
	case SQLITE_CANTOPEN:
		*why = _("the database cannot be opened (is the data directory "
		       "missing or not writable?)");
		return TB_EIO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		*why = _("the database is busy (another process is using it); "
		       "try again");
		return TB_EAGAIN;
	case SQLITE_NOMEM:
		*why = _("out of memory");
		return TB_ENOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		*why = _("the database file is damaged or not a database");
		return TB_EIO;
	case SQLITE_CONSTRAINT:
		*why = _("a database constraint failed");
		return TB_ECONFLICT;
	case SQLITE_IOERR:
	case SQLITE_PERM:
		if (sys == ENOSPC || sys == EFBIG || sys == EDQUOT)
			*why = _("the disk is full (or a file size limit was "
			       "reached)");
		else if (sys == EROFS || sys == EACCES || sys == EPERM)
			*why = _("the data directory or the database file is "
			       "read-only");
		else
			*why = _("an input/output error occurred");
		return TB_EIO;
	default:
		*why = _("a database error occurred");
		return TB_EIO;
	}
}
