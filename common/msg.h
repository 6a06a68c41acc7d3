/* msg.h - filling the caller's message buffer that goes with an error code.
 *
 * Many functions take (char *msg, size_t msglen) and, on failure, write a
 * one-line reason there; the buffer may be NULL or msglen 0 (the caller
 * does not want the text). The text is truncated to fit, always
 * terminated.
 */
#ifndef TB_COMMON_MSG_H
#define TB_COMMON_MSG_H

#include <stddef.h>

/* Formats the reason into msg (if there is one) and returns rc, so a
 * refusal is one line: return tb_msg(TB_EINVAL, msg, msglen, "...", ...). */
int tb_msg(int rc, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef __clang_analyzer__
/* The static analyzer (clang-tidy's clang-analyzer-*) does not follow
 * calls to variadic functions, so it would take any value as tb_msg's
 * result and then report impossible paths ("uninitialized value" after a
 * refusal). Tell it what tb_msg returns. Never defined in a real build. */
#define tb_msg(rc, ...) (tb_msg((rc), __VA_ARGS__), (rc))
#endif

#endif
