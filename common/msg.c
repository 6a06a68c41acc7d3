/* msg.c - writing an error's reason into the caller's buffer (msg.h).
 * Used by every module that reports refusals as text. */
#include "common/msg.h"

#include <stdarg.h>
#include <stdio.h>

#undef tb_msg /* msg.h's model for the static analyzer, if defined */

int tb_msg(int rc, char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg && msglen) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
