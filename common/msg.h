/* msg.h - filling the caller's message buffer that goes with an error code.
 *
 * Many functions take (char *msg, size_t msglen) and, on failure, write a
 * one-line reason there; the buffer may be NULL or msglen 0 (the caller
 * does not want the text). The text is truncated to fit, always
 * terminated.
 */
#ifndef TB_MSG_H
#define TB_MSG_H

#include <stddef.h>

/* Formats the reason into msg (if there is one) and returns rc, so a
 * refusal is one line: return tb_msg(TB_EINVAL, msg, msglen, "...", ...). */
int tb_msg(int rc, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
